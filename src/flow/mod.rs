//! Flows: YAML written by analysts -> a checked `FlowSet` the engine runs.
//!
//! Reading order: `schema` (raw YAML shapes) -> `settings` and `validate` (checked, with every problem
//! reported) -> `model` (what the engine sees). `expect` and `hours` are the small value types flows use.

pub mod expect;
pub mod hours;
pub mod load;
pub mod model;
pub mod schema;
pub mod settings;
pub mod validate;

pub use load::{LoadError, load_dir};
pub use model::{Flow, FlowSet, Priority, Reason, Settings, Step, StepKind, Text};
