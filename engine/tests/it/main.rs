//! The engine's one integration-test binary.

mod support;

mod access;
mod auto_number;
mod codes;
mod definitions;
mod evolution;
mod fast;
mod fields;
mod logic;
mod pack;
mod props;
mod qms;
mod rollup;
mod rules;
mod schema;
mod workflow;
