//! `/api/v1/workspaces` and members.

pub mod create;
pub mod list;
pub mod members;
pub mod policies;

use serde_json::{Value, json};

use crate::db::entities::workspace;

pub fn view(workspace: &workspace::Model) -> Value {
    json!({"slug": workspace.slug, "name": workspace.name, "created_at": workspace.created_at})
}
