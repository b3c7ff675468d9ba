//! The pure core stays pure: flow, triage, engine, queue routing and metrics modules import no async runtime, network,
//! database or web framework (the shell's job).

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn pure_modules_do_no_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for m in ["flow", "engine", "triage", "queue"] {
        sources(&root.join(m), &mut files);
    }
    files.extend(
        ["text.rs", "lang.rs", "yaml.rs", "diagnostic.rs", "metrics.rs"]
            .iter()
            .map(|f| root.join(f)),
    );
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for banned in ["tokio", "reqwest", "sqlx", "axum", "std::net", "Utc::now", "SystemTime::now"] {
            assert!(!text.contains(banned), "{} uses {banned}: the pure core must not", f.display());
        }
    }
}
