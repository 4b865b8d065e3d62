//! The workflow engine: definitions, approval semantics, SLAs, actions, invariants.

mod definitions;
mod flow;
mod modes;
mod props;
mod sim;
