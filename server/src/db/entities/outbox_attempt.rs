use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub outbox_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub attempt: i32,
    pub started_at: i64,
    pub finished_at: i64,
    pub worker: String,
    pub outcome: String,
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
