//! The pages, served by the real `careline serve` binary, in a real headless Chromium: the Node script
//! `tests/browser/e2e.mjs` drives Debian's `chromium` through playwright-core, with axe-core for
//! accessibility. `scripts/test.sh` (the README's test command) installs both first; without them
//! this test fails and says how to get them, rather than skip.

use common::root;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
mod common;

const CONFIG: &str = r#"
widget_origins: ["http://127.0.0.1:PLAN_PORT"]
agents:
  - id: sam
    name: Sam (supervisor)
    token: pages-token-sam-00000000
    role: supervisor
    languages: [en, es]
    skills: [general, nurse, pharmacy]
    capacity: 2
"#;

const NURSE_PASSWORD: &str = "correct horse battery staple 7";
const ANALYST_PASSWORD: &str = "analysts read figures 2026!";

fn careline(db: &Path, args: &[&str], stdin: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_careline"))
        .current_dir(root())
        .args(args)
        .arg("--database")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "careline {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn prerequisites() -> Result<(), String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Err(format!("{chromium} is missing"));
    }
    if !root().join("tests/browser/node_modules/playwright-core").exists() {
        return Err("tests/browser/node_modules is missing".into());
    }
    Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| format!("node: {e}"))
        .map(|_| ())
}

#[test]
fn patients_agents_and_analysts_use_the_pages_in_chromium() {
    if let Err(missing) = prerequisites() {
        panic!("{missing}: the browser tests need Chromium and the npm packages; run `scripts/test.sh`, which installs them");
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = dir.join("careline.db");
    let config = dir.join("serve.yaml");
    // A health plan's site on another origin: the browser script serves it on this port.
    let plan_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(&config, CONFIG.replace("PLAN_PORT", &plan_port.to_string())).unwrap();
    careline(
        &db,
        &[
            "users",
            "add",
            "nina",
            "--role",
            "nurse",
            "--name",
            "Nina (RN)",
            "--languages",
            "en,es",
            "--skills",
            "general,nurse,pharmacy",
            "--capacity",
            "3",
            "--password-stdin",
        ],
        NURSE_PASSWORD,
    );
    careline(
        &db,
        &["users", "add", "riley", "--role", "analyst", "--password-stdin"],
        ANALYST_PASSWORD,
    );

    let server = common::serve_with(&config, &db);
    let base = server.base.clone();

    let shots = root().join("target/screenshots");
    let out = Command::new("node")
        .arg(root().join("tests/browser/e2e.mjs"))
        .current_dir(root().join("tests/browser"))
        .env("CARELINE_BASE", &base)
        .env("NURSE_USER", "nina")
        .env("NURSE_PASSWORD", NURSE_PASSWORD)
        .env("ANALYST_USER", "riley")
        .env("ANALYST_PASSWORD", ANALYST_PASSWORD)
        .env("SCREENSHOTS", &shots)
        .env("PLAN_PORT", plan_port.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the browser run failed (screenshots in {}):\n{stdout}\n{stderr}",
        shots.display()
    );
    assert!(stdout.contains("all page checks passed"), "{stdout}");
    for page in ["widget-spanish-refill", "widget-crisis", "console-alert", "dashboard"] {
        assert!(shots.join(format!("{page}.png")).exists(), "no screenshot of {page}");
    }
}
