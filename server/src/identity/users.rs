//! Users: creation and lookup. Functions take any connection; the caller owns the transaction.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, Set};

use crate::db::entities::user;

#[derive(Debug, PartialEq, Eq)]
pub enum CreateUserError {
    InvalidUsername,
    WeakPassword,
    Taken,
    Db(String),
}

impl std::fmt::Display for CreateUserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CreateUserError::InvalidUsername => {
                f.write_str("a username is 1 to 64 characters: letters, digits, '.', '_', '-' or '@'")
            }
            CreateUserError::WeakPassword => f.write_str("a password needs at least 10 characters"),
            CreateUserError::Taken => f.write_str("that username is taken"),
            CreateUserError::Db(e) => write!(f, "database: {e}"),
        }
    }
}

pub fn valid_username(username: &str) -> bool {
    !username.is_empty()
        && username.len() <= 64
        && username.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

pub async fn create(
    db: &impl ConnectionTrait,
    username: &str,
    display_name: &str,
    password: &str,
    is_admin: bool,
) -> Result<user::Model, CreateUserError> {
    if !valid_username(username) {
        return Err(CreateUserError::InvalidUsername);
    }
    if password.chars().count() < 10 {
        return Err(CreateUserError::WeakPassword);
    }
    if find_by_username(db, username).await.map_err(|e| CreateUserError::Db(e.to_string()))?.is_some() {
        return Err(CreateUserError::Taken);
    }
    let password_hash = super::hash_password(password).map_err(CreateUserError::Db)?;
    let model = user::ActiveModel {
        id: Set(super::new_id()),
        username: Set(username.to_owned()),
        display_name: Set(if display_name.is_empty() { username.to_owned() } else { display_name.to_owned() }),
        password_hash: Set(password_hash),
        is_admin: Set(is_admin),
        disabled: Set(false),
        created_at: Set(super::now_ms()),
        email: Set(None),
    };
    model.insert(db).await.map_err(|e| CreateUserError::Db(e.to_string()))
}

pub async fn find_by_username(db: &impl ConnectionTrait, username: &str) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find().filter(user::Column::Username.eq(username)).one(db).await
}

pub async fn count_admins(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    user::Entity::find().filter(user::Column::IsAdmin.eq(true)).count(db).await
}
