//! The Formwork server: the `formwork` binary's library, so tests drive the same router.

pub mod access;
pub mod access_cache;
pub mod app;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod changes;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod forms_cache;
pub mod identity;
pub mod json;
pub mod lang;
pub mod metrics;
pub mod packs;
pub mod reports;
mod routes;
pub mod search;
pub mod trace;
pub mod web;
pub mod workflows;
