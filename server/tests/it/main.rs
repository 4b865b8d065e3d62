//! The server's one integration-test binary. Every test runs twice: on a fresh SQLite file
//! and on a fresh PostgreSQL schema (see `support.rs`).

mod support;

mod access_cache;
mod attachments;
mod audit;
mod auth;
mod authz;
mod basics;
mod config;
mod connector_checks;
mod control_charts;
mod dashboards;
mod fields;
mod forms;
mod lists;
mod notify;
mod pack_flow;
mod packs;
mod policies;
mod processes;
mod records;
mod report_datasets;
mod reports;
mod rollups;
mod schedules;
mod search;
mod tokens;
mod trace;
mod tryton;
mod web;
mod workflows;
mod workspaces;
mod writes;
