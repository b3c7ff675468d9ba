//! Lookups a flow calls: the shell side of `Effect::RunAction`. Each action declared in
//! `careline.yaml` runs on one backend: the built-in demo directory, or an HTTP connector to the health
//! plan's own system. Every failure (timeout, error, nonsense answer) becomes `ActionResult::Failed`,
//! which the engine counts as an exchange without progress.

pub mod directory;
pub mod http;

use crate::engine::ActionResult;
use crate::flow::model::{ActionBackend, ActionSpec};
use std::collections::{BTreeMap, BTreeSet};

pub use directory::Directory;

/// Runs actions. Cheap to share behind an `Arc`: the HTTP client pools connections.
pub struct Actions {
    directory: Directory,
    client: reqwest::Client,
    /// Actions that fail on purpose: conversation tests use this to rehearse an outage.
    outage: BTreeSet<String>,
}

impl Actions {
    pub fn new(directory: Directory) -> Actions {
        Actions {
            directory,
            client: reqwest::Client::new(),
            outage: BTreeSet::new(),
        }
    }

    /// The same runner with `names` failing as if their backend were down.
    pub fn with_outage(mut self, names: impl IntoIterator<Item = String>) -> Actions {
        self.outage.extend(names);
        self
    }

    pub async fn run(&self, spec: &ActionSpec, args: &BTreeMap<String, String>) -> ActionResult {
        if self.outage.contains(&spec.name) {
            return ActionResult::Failed {
                reason: "backend unavailable".into(),
            };
        }
        match &spec.backend {
            ActionBackend::Directory { lookup } => self.directory.lookup(lookup, args),
            ActionBackend::Http(h) => http::call(&self.client, spec, h, args).await,
        }
    }
}

impl Actions {
    /// The demo directory, for runners that need the same data with other settings.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }
}
