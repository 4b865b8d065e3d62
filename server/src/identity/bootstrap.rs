//! The first start: with no administrator yet, create one and say how to log in.

use sea_orm::ConnectionTrait;

/// The administrator created on an empty database, with the password to print (`None` when
/// it was given by the operator and must not be echoed).
pub struct FirstAdmin {
    pub username: String,
    pub generated_password: Option<String>,
}

pub async fn ensure_admin(
    db: &impl ConnectionTrait,
    given_password: Option<&str>,
) -> Result<Option<FirstAdmin>, String> {
    if super::users::count_admins(db).await.map_err(|e| e.to_string())? > 0 {
        return Ok(None);
    }
    let generated = given_password.is_none().then(|| super::new_secret()[..20].to_owned());
    let password = given_password.or(generated.as_deref()).unwrap_or_default();
    super::users::create(db, "admin", "Administrator", password, true).await.map_err(|e| e.to_string())?;
    Ok(Some(FirstAdmin { username: "admin".to_owned(), generated_password: generated }))
}
