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

/// The real `careline serve` binary as a child process, stopped when dropped.
pub struct Served {
    pub child: std::process::Child,
    /// Where it listens, as it printed it: `http://127.0.0.1:PORT` (or `https://...`).
    pub base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `careline serve --listen 127.0.0.1:0 ARGS` from the crate's root (where `flows/` and
/// `models/` are) and waits for the line that says where it listens.
pub fn serve<I, S>(args: I) -> Served
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_careline"))
        .current_dir(root())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("careline serve starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().expect("piped stdout"))
        .read_line(&mut line)
        .expect("careline serve prints where it listens");
    let base = line.trim().rsplit(' ').next().unwrap_or_default().to_string();
    let served = Served { child, base };
    assert!(served.base.contains("://127.0.0.1:"), "careline serve did not start: {line}");
    served
}

/// Serves `hub` in this process on a free loopback port, as `careline serve` does (with each
/// request's peer address); returns the base URL.
pub async fn serve_in_process(hub: Arc<careline::hub::Hub>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let addr = listener.local_addr().expect("bound");
    let app = careline::http::router(hub).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serves") });
    format!("http://{addr}")
}

/// `careline serve` with a configuration file and a database, its clock at Tuesday 2026-11-24 15:00 UTC
/// (within the shipped flows' opening hours, so tests do not depend on when they run).
pub fn serve_with(config: &Path, database: &Path) -> Served {
    serve([
        "--clock-start".as_ref(),
        "2026-11-24T15:00:00Z".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "--database".as_ref(),
        database.as_os_str(),
    ])
}
