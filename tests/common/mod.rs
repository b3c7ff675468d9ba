//! Shared by the integration tests: the shipped flows, models and demo directory, loaded for real.
#![allow(dead_code)]

use careline::action::{Actions, Directory};
use careline::engine::Engine;
use careline::runner::Runner;
use std::path::Path;
use std::sync::Arc;

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn engine() -> Engine {
    let flows = careline::flow::load_dir(&root().join("flows")).expect("shipped flows are valid");
    let triage = careline::triage::Triage::load(&root().join("models")).expect("models load");
    Engine::new(flows, triage)
}

pub fn runner() -> Runner {
    let directory = Directory::load(&root().join("fixtures/demo_directory.json")).expect("directory loads");
    Runner {
        engine: Arc::new(engine()),
        actions: Arc::new(Actions::new(directory)),
    }
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}
