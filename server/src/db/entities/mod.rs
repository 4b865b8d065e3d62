//! sea-orm entities, one per table (written to match `migrations`; no behaviour here).

pub mod api_token;
pub mod audit_entry;
pub mod audit_head;
pub mod form;
pub mod form_version;
pub mod membership;
pub mod record;
pub mod session;
pub mod user;
pub mod workspace;
pub mod workspace_policy;
