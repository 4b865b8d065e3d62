//! sea-orm entities, one per table (written to match `migrations`; no behaviour here).

pub mod membership;
pub mod session;
pub mod user;
pub mod workspace;
