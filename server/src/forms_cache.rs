//! Compiled form versions, cached: a published version never changes, so it is compiled once
//! per process (rules, JSON Schema validator) and shared by every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use engine::Lang;
use engine::form::CompiledForm;
use sea_orm::{ConnectionTrait, EntityTrait};

use crate::db::entities::form_version;
use crate::error::ApiError;

/// How many compiled versions stay in memory; past that the cache starts over (simple and
/// bounded; a factory has tens of forms, not thousands).
const CAPACITY: usize = 512;

#[derive(Default)]
pub struct FormsCache {
    compiled: Mutex<HashMap<(String, i32), Arc<CompiledForm>>>,
}

impl FormsCache {
    /// Forgets everything. A transaction that rolls back may have compiled a version number
    /// that a later publish reuses (pack installs compile inside their transaction), so a
    /// failed or dry-run install clears the cache.
    pub fn clear(&self) {
        self.compiled.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    pub async fn get(
        &self,
        db: &impl ConnectionTrait,
        form_id: &str,
        version: i32,
    ) -> Result<Arc<CompiledForm>, ApiError> {
        let key = (form_id.to_owned(), version);
        if let Some(found) = self.compiled.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(found.clone());
        }
        let stored = form_version::Entity::find_by_id(key.clone())
            .one(db)
            .await?
            .ok_or_else(|| ApiError::internal(format!("form {form_id} has no version {version}")))?;
        let compiled = CompiledForm::compile(&stored.definition, Lang::En)
            .map_err(|_| ApiError::internal(format!("published version {version} of {form_id} does not compile")))?;
        let compiled = Arc::new(compiled);
        let mut cache = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CAPACITY {
            cache.clear();
        }
        cache.insert(key, compiled.clone());
        Ok(compiled)
    }
}
