//! Careline: a hybrid chatbot and triage router for healthcare live chat.
//!
//! A tour, in reading order:
//! - [`lang`], [`text`]: the languages Careline knows and the text normalisation every matcher shares.
//! - [`yaml`], [`diagnostic`]: a line-aware YAML tree and problems reported with file, line and fix.
//! - [`flow`]: analyst-written flows, validated into a checked `FlowSet`.
//! - [`triage`]: language and risk verdicts, with evidence, on every message; [`semantic`] adds
//!   crisis by meaning (a sentence-embedding model) beside the lexicons.
//! - [`engine`]: the pure core; `Engine::handle(state, event) -> (state, effects)`. No I/O.
//! - [`action`], [`runner`]: the thin shell that runs lookups and feeds results back.
//! - [`convtest`]: conversation tests, run by both `careline flows test` and `cargo test`.
//! - [`cli`]: the `careline` commands.
//!
//! Dependencies point one way: `cli` -> `runner`, `action` -> `engine` -> `flow`, `triage`. The pure
//! modules never import tokio or reqwest (`tests/tidy.rs` checks).

pub mod action;
pub mod audit;
pub mod cli;
pub mod config;
pub mod convtest;
pub mod diagnostic;
pub mod engine;
pub mod eval;
pub mod flow;
pub mod http;
pub mod hub;
pub mod lang;
pub mod loadtest;
pub mod metrics;
pub mod queue;
pub mod runner;
pub mod semantic;
pub mod store;
pub mod text;
pub mod triage;
pub mod users;
pub mod yaml;
