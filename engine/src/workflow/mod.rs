//! The workflow engine (DESIGN §5): approval graphs with rhai rules.
//!
//! `parse_workflow` -> [`CompiledWorkflow::compile`] (checks the graph, compiles every rule)
//! -> [`step`]`(workflow, state, event) -> (state, commands)`. The step function is pure: no
//! clock (events carry their time), no I/O (commands say what the runner must do).

mod approval;
mod compile;
mod duration;
mod graph;
mod model;
mod state;
mod step;

pub use compile::{BUILT_IN_ROLES, Catalog, CompiledWorkflow, RULE_VARIABLES};
pub use duration::parse_duration;
pub use model::*;
pub use state::*;
pub use step::{MAX_NODE_ENTRIES, parse_instant, step};
