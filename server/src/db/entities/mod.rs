//! sea-orm entities, one per table (written to match `migrations`; no behaviour here).

pub mod api_token;
pub mod attachment;
pub mod audit_entry;
pub mod audit_head;
pub mod connector;
pub mod dashboard;
pub mod form;
pub mod form_version;
pub mod membership;
pub mod notification;
pub mod outbox;
pub mod outbox_attempt;
pub mod pack_install;
pub mod record;
pub mod session;
pub mod user;
pub mod workflow;
pub mod workflow_instance;
pub mod workflow_schedule;
pub mod workflow_task;
pub mod workflow_timer;
pub mod workflow_version;
pub mod workspace;
pub mod workspace_policy;
