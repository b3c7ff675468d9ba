//! `careline serve`: the chat server. Configuration: defaults, then `--config FILE`, then `CARELINE_*`
//! environment variables, then flags. Prints the address it listens on once ready.

use crate::config::ServeConfig;
use crate::hub::{Clock, Hub};
use crate::runner::Runner;
use crate::store::SqliteStore;
use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args, Clone)]
pub struct ServeArgs {
    /// YAML configuration file (agents, limits, timeouts; see docs/serving.md).
    #[arg(long, env = "CARELINE_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "CARELINE_LISTEN")]
    listen: Option<SocketAddr>,
    /// SQLite database file, created with its directory if missing [default: data/careline.db].
    #[arg(long, env = "CARELINE_DATABASE")]
    database: Option<PathBuf>,
    /// Encryption keyring file, created on first start [default: beside the database, `careline.key`].
    /// `CARELINE_KEYS` (`id:hex;id:hex`) takes precedence over any file.
    #[arg(long, env = "CARELINE_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Flow directory [default: flows].
    #[arg(long, env = "CARELINE_FLOWS")]
    flows: Option<PathBuf>,
    /// Model directory [default: models].
    #[arg(long, env = "CARELINE_MODELS")]
    models: Option<PathBuf>,
    /// Member directory the built-in lookups read [default: fixtures/demo_directory.json].
    #[arg(long, env = "CARELINE_DIRECTORY")]
    directory: Option<PathBuf>,
    /// Conversation tests the analyst dashboard runs against the flows [default: fixtures/conversations].
    #[arg(long, env = "CARELINE_CONVERSATION_TESTS")]
    conversation_tests: Option<PathBuf>,
    /// Origins whose pages may embed the patient widget, comma-separated
    /// (e.g. https://www.plan.example); replaces the file's `widget_origins`.
    #[arg(long, env = "CARELINE_WIDGET_ORIGINS", value_delimiter = ',')]
    widget_origins: Option<Vec<String>>,
    /// Reverse proxies (addresses or networks, comma-separated, e.g. 10.0.0.0/8) whose
    /// `X-Forwarded-For` names the client for the per-address limits and the audit log; replaces the
    /// file's `trusted_proxies`. Default: none, every peer is the client.
    #[arg(long, env = "CARELINE_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Option<Vec<String>>,
    /// Sentence model for crisis by meaning [default: models/embedder/all-minilm-l6-v2]; `none`, or
    /// a missing directory, runs triage on the lexicons alone (the server says which at start).
    #[arg(long, env = "CARELINE_EMBEDDER")]
    embedder: Option<PathBuf>,
    /// When nobody speaks a chat's language: `interpreter` or `callback` [default: interpreter].
    #[arg(long, env = "CARELINE_NO_AGENT_FALLBACK", value_enum)]
    no_agent_fallback: Option<crate::config::NoAgentFallback>,
    /// Requests per minute from one address; 0 for no limit [default: 600].
    #[arg(long, env = "CARELINE_PER_IP_PER_MINUTE")]
    per_ip_per_minute: Option<u32>,
    /// Patient messages per minute in one chat; 0 for no limit [default: 30].
    #[arg(long, env = "CARELINE_PER_CHAT_PER_MINUTE")]
    per_chat_per_minute: Option<u32>,
    /// PEM certificate chain: serve HTTPS (TLS 1.2 and 1.3 only, with HSTS).
    #[arg(long, env = "CARELINE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "CARELINE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Allow plain HTTP on a non-loopback address (only behind a TLS-terminating proxy on the same host
    /// or private network). Without TLS the server otherwise refuses to listen beyond loopback.
    #[arg(long, env = "CARELINE_ALLOW_PLAIN_HTTP")]
    allow_plain_http: bool,
    /// Chats one address may have open at once; 0 for no limit [default: 20].
    #[arg(long, env = "CARELINE_MAX_OPEN_CHATS_PER_IP")]
    max_open_chats_per_ip: Option<u32>,
    /// Start the service clock at this time (RFC 3339) instead of now: for demos and tests of
    /// contact-centre hours. It then runs at normal speed.
    #[arg(long, env = "CARELINE_CLOCK_START", hide = true)]
    clock_start: Option<chrono::DateTime<chrono::FixedOffset>>,
}

impl ServeArgs {
    /// Defaults, then the file, then environment and flags.
    pub fn resolve(&self) -> anyhow::Result<ServeConfig> {
        let mut c = match &self.config {
            Some(path) => ServeConfig::from_file(path).map_err(|problems| {
                for p in &problems {
                    eprintln!("{p}");
                }
                anyhow::anyhow!("{} problem(s) in {}", problems.len(), path.display())
            })?,
            None => ServeConfig::default(),
        };
        if let Some(v) = self.listen {
            c.listen = v;
        }
        for (flag, slot) in [
            (&self.database, &mut c.database),
            (&self.flows, &mut c.flows),
            (&self.models, &mut c.models),
            (&self.directory, &mut c.directory),
            (&self.conversation_tests, &mut c.conversation_tests),
        ] {
            if let Some(v) = flag {
                *slot = v.clone();
            }
        }
        if let Some(e) = &self.embedder {
            c.embedder = (e.as_os_str() != "none").then(|| e.clone());
        }
        if let Some(origins) = &self.widget_origins {
            c.widget_origins = origins
                .iter()
                .map(|o| {
                    crate::config::normalize_origin(o).with_context(|| format!("`{o}` is not an origin such as https://www.plan.example"))
                })
                .collect::<anyhow::Result<_>>()?;
        }
        if let Some(list) = &self.trusted_proxies {
            c.trusted_proxies = list
                .iter()
                .map(|n| n.parse::<crate::config::Network>().map_err(anyhow::Error::msg))
                .collect::<anyhow::Result<_>>()?;
        }
        if let Some(v) = &self.key_file {
            c.key_file = Some(v.clone());
        }
        if let Some(v) = self.no_agent_fallback {
            c.no_agent = v;
        }
        if let Some(v) = self.per_ip_per_minute {
            c.limits.per_ip_per_minute = v;
        }
        if let Some(v) = self.max_open_chats_per_ip {
            c.limits.max_open_chats_per_ip = v;
        }
        if let Some(v) = self.per_chat_per_minute {
            c.limits.per_chat_per_minute = v;
        }
        Ok(c)
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("CARELINE_LOG").unwrap_or_else(|_| "careline=info".into()))
        .with_writer(std::io::stderr)
        .try_init();
    let config = args.resolve()?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(crate::http::tls::server_config(cert, key)?),
        _ => None,
    };
    if tls.is_none() && !config.listen.ip().is_loopback() && !args.allow_plain_http {
        anyhow::bail!(
            "refusing to serve plain HTTP on {}: patients' messages would cross the network unencrypted. \
             Give --tls-cert and --tls-key, or listen on 127.0.0.1 behind a TLS proxy, or pass --allow-plain-http",
            config.listen
        );
    }
    let clock = args.clock_start.map_or_else(Clock::system, |t| Clock::starting_at(t.to_utc()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config, clock, tls))?;
    Ok(ExitCode::SUCCESS)
}

/// Runs the server until Ctrl-C or SIGTERM, then stops accepting, finishes requests in flight (each
/// one's commit included) and exits: nothing acknowledged is lost.
pub async fn serve(config: ServeConfig, clock: Clock, tls: Option<rustls::ServerConfig>) -> anyhow::Result<()> {
    let runner = super::load_runner(&super::DataArgs {
        flows: config.flows.clone(),
        models: config.models.clone(),
        directory: config.directory.clone(),
        embedder: super::EmbedderArgs {
            no_embedder: config.embedder.is_none(),
            embedder: config.embedder.clone().unwrap_or_default(),
            embedder_backend: std::env::var("CARELINE_EMBEDDER_BACKEND").unwrap_or_else(|_| "candle".into()),
        },
    })?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let flows_dir = config.flows.clone();
    let hub = start_hub(runner, config, clock).await?;
    let addr = listener.local_addr()?;
    let users = hub.store.users().await?;
    if !users.iter().any(|u| u.role == crate::users::Role::Admin && !u.disabled) {
        eprintln!("careline: no admin account yet: create one with `careline users add admin --role admin`");
    }
    if hub.config.agents.is_empty() && !users.iter().any(|u| u.role.handles_chats() && !u.disabled) {
        eprintln!("careline: no agents yet: hand-offs wait in their queues (careline users add NAME --role agent, see docs/serving.md)");
    }
    audit_flows(&hub, &flows_dir).await?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    if tls.is_none() {
        eprintln!(
            "careline: plain HTTP{}: use --tls-cert and --tls-key to serve HTTPS",
            if addr.ip().is_loopback() {
                " on loopback only"
            } else {
                " (allowed by --allow-plain-http)"
            }
        );
    }
    println!("careline: listening on {scheme}://{addr}");
    let ticker = {
        let hub = hub.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(crate::hub::TICK);
            loop {
                every.tick().await;
                hub.tick().await;
            }
        })
    };
    let stopping = hub.clone();
    let stop = async move {
        shutdown_signal().await;
        stopping.stop();
    };
    match tls {
        Some(tls) => crate::http::tls::serve(listener, tls, crate::http::with_hsts(crate::http::router(hub.clone())), stop).await,
        None => {
            let app = crate::http::router(hub.clone()).into_make_service_with_connect_info::<SocketAddr>();
            use axum::serve::ListenerExt;
            let listener = listener.tap_io(crate::http::no_delay);
            axum::serve(listener, app).with_graceful_shutdown(stop).await?;
        }
    }
    hub.sockets_closed(std::time::Duration::from_secs(3)).await;
    ticker.abort();
    eprintln!("careline: stopped; {} open chat(s) stay stored", hub.open_chat_count());
    Ok(())
}

/// The hub on the configured SQLite file, with every open chat restored.
pub async fn start_hub(runner: Runner, config: ServeConfig, clock: Clock) -> anyhow::Result<Arc<Hub>> {
    let store = open_store(&config).await?;
    Hub::start(runner, Arc::new(store), config, clock).await
}

/// Records which flows this start serves (a hash of every flow file): a changed hash between two
/// starts is a flow change in the audit log.
async fn audit_flows(hub: &Hub, dir: &std::path::Path) -> anyhow::Result<()> {
    let (digest, files) = crate::flow::load::digest(dir)?;
    let _ = hub.served_flows.set(digest.clone());
    let previous = hub
        .store
        .audit_chain(None, None)
        .await?
        .into_iter()
        .rev()
        .find(|c| c.record.kind == "flows_loaded");
    let changed = previous.as_ref().is_none_or(|p| !p.record.detail.starts_with(&digest));
    if changed {
        let detail = format!(
            "{digest} ({files} files in {}){}",
            dir.display(),
            if previous.is_some() { ": changed since the last start" } else { "" }
        );
        hub.audit_now("careline", "flows_loaded", detail, None).await?;
    }
    Ok(())
}

/// The configured store with its keyring (created, and announced, on first start).
pub async fn open_store(config: &ServeConfig) -> anyhow::Result<SqliteStore> {
    let path = config.key_path();
    let (keys, created) = crate::store::cipher::Keyring::load_or_create(&path)?;
    if created {
        eprintln!(
            "careline: created encryption key {}: back it up and keep it apart from the database; without it the transcripts cannot be read",
            path.display()
        );
    }
    SqliteStore::open(&config.database, Arc::new(keys)).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
