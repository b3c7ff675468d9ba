//! The `careline` command line. Thin: each subcommand loads what it needs and calls the same core the
//! server uses. Exit codes: 0 ok, 1 a check or test failed, 2 could not run.

mod admin;
mod chat;
mod check;
mod eval;
pub mod serve;
mod test;
mod users;

use crate::action::{Actions, Directory};
use crate::engine::Engine;
use crate::runner::Runner;
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "careline", version, about = "Hybrid chatbot and triage router for healthcare live chat")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives; defaults are relative to the working directory.
#[derive(clap::Args, Clone)]
pub struct DataArgs {
    /// Flow directory (careline.yaml plus one flow per file).
    #[arg(long, default_value = "flows", env = "CARELINE_FLOWS")]
    pub flows: PathBuf,
    /// Model directory (triage lexicons, language word lists).
    #[arg(long, default_value = "models", env = "CARELINE_MODELS")]
    pub models: PathBuf,
    /// The demo member directory the built-in lookups read.
    #[arg(long, default_value = "fixtures/demo_directory.json", env = "CARELINE_DIRECTORY")]
    pub directory: PathBuf,
    #[command(flatten)]
    pub embedder: EmbedderArgs,
}

/// The sentence-embedding model for crisis by meaning (`crate::semantic`).
#[derive(clap::Args, Clone)]
pub struct EmbedderArgs {
    /// Sentence model directory (sentence-transformers layout); put there by scripts/fetch-model.sh.
    /// Without it, triage runs on the lexicons alone.
    #[arg(long, default_value = crate::semantic::DEFAULT_MODEL_DIR, env = "CARELINE_EMBEDDER")]
    pub embedder: PathBuf,
    /// Run on the lexicons alone, even if a model is there.
    #[arg(long)]
    pub no_embedder: bool,
    /// Which library runs the model: candle, or rust-bert in a build with that feature.
    #[arg(long, default_value = "candle", env = "CARELINE_EMBEDDER_BACKEND")]
    pub embedder_backend: String,
}

/// The triage models, with the semantic layer when a model is there. Says on stderr which it is: a
/// deployment must know whether crisis by meaning is on.
pub fn load_triage(models: &std::path::Path, embedder: &EmbedderArgs) -> anyhow::Result<crate::triage::Triage> {
    let triage = crate::triage::Triage::load(models).context("loading triage models")?;
    if embedder.no_embedder {
        eprintln!("careline: semantic layer off (--no-embedder): triage runs on the lexicons alone");
        return Ok(triage);
    }
    if !embedder.embedder.join("config.json").exists() {
        eprintln!(
            "careline: no sentence model in {}: triage runs on the lexicons alone (scripts/fetch-model.sh installs one)",
            embedder.embedder.display()
        );
        return Ok(triage);
    }
    let backend = crate::semantic::Backend::parse(&embedder.embedder_backend)?;
    let semantic = crate::semantic::Semantic::load_with(&embedder.embedder, models, backend)
        .with_context(|| format!("loading the sentence model in {}", embedder.embedder.display()))?;
    let langs: Vec<&str> = crate::lang::Lang::ALL
        .iter()
        .filter(|l| semantic.covers(**l))
        .map(|l| l.code())
        .collect();
    eprintln!(
        "careline: semantic layer on: {} with {} (crisis by meaning in {})",
        embedder.embedder.display(),
        embedder.embedder_backend,
        langs.join(", ")
    );
    Ok(triage.with_semantic(semantic))
}

#[derive(Subcommand)]
enum Command {
    /// Chat with the bot in the terminal, seeing its state, language and hand-offs beside each reply.
    Chat(chat::ChatArgs),
    /// Measure triage and language identification on labelled files or the public sets.
    Eval {
        #[command(subcommand)]
        command: eval::EvalCommand,
    },
    /// Verify or export the tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: admin::AuditCommand,
    },
    /// Manage the people who log in: agents, nurses, supervisors, analysts, admins.
    Users {
        #[command(subcommand)]
        command: users::UsersCommand,
    },
    /// Manage the encryption keys of the store.
    Keys {
        #[command(subcommand)]
        command: admin::KeysCommand,
    },
    /// Run the chat server: patient and agent APIs, queues, WebSockets, SQLite persistence.
    Serve(serve::ServeArgs),
    /// Drive a real server with simulated patients and agents; print throughput, latency and memory.
    Loadtest(crate::loadtest::LoadArgs),
    /// Check or test the flows.
    Flows {
        #[command(subcommand)]
        command: FlowsCommand,
    },
}

#[derive(Subcommand)]
enum FlowsCommand {
    /// Validate a flow directory and list every problem with file, line and fix.
    Check {
        /// Flow directory.
        #[arg(default_value = "flows")]
        dir: PathBuf,
    },
    /// Run conversation tests (YAML files or directories of them).
    Test(test::TestArgs),
}

pub fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Chat(args) => chat::run(args),
        Command::Eval { command } => eval::run(command),
        Command::Serve(args) => serve::run(args),
        Command::Audit { command } => admin::audit(command),
        Command::Keys { command } => admin::keys(command),
        Command::Users { command } => users::run(command),
        Command::Loadtest(args) => crate::loadtest::run(args),
        Command::Flows {
            command: FlowsCommand::Check { dir },
        } => Ok(check::run(&dir)),
        Command::Flows {
            command: FlowsCommand::Test(args),
        } => test::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("careline: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `careline eval ... | head` should stop quietly when `head` has read enough, as other command-line
/// tools do; Rust ignores SIGPIPE by default and would panic on the closed pipe instead.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Loads flows, models and the demo directory into a runner. Invalid flows are an error: the engine
/// never starts on them.
pub fn load_runner(data: &DataArgs) -> anyhow::Result<Runner> {
    let flows = match crate::flow::load_dir(&data.flows) {
        Ok(f) => f,
        Err(crate::flow::LoadError::Invalid(problems)) => {
            for p in &problems {
                eprintln!("{p}");
            }
            anyhow::bail!(
                "{} problem(s) in {}; run `careline flows check {}`",
                problems.len(),
                data.flows.display(),
                data.flows.display()
            );
        }
        Err(e) => return Err(e.into()),
    };
    let triage = load_triage(&data.models, &data.embedder)?;
    let directory = Directory::load(&data.directory)?;
    Ok(Runner {
        engine: Arc::new(Engine::new(flows, triage)),
        actions: Arc::new(Actions::new(directory)),
    })
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
