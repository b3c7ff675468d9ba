//! `careline audit verify|export` and `careline keys rotate`: read the same configuration, with the
//! same working-directory defaults, as `careline serve`.

use crate::cli::serve::{ServeArgs, open_store};
use crate::store::Store;
use crate::store::cipher::{Keyring, write_private};
use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Check the audit chain: every edited, deleted or reordered record is reported. Exit 1 if broken.
    Verify {
        #[command(flatten)]
        serve: ServeArgs,
        /// The head hash noted at an earlier verification: also catches a rewritten tail.
        #[arg(long)]
        expect_head: Option<String>,
    },
    /// Write audit records as JSON lines (with their chain hashes) for an investigation.
    Export {
        #[command(flatten)]
        serve: ServeArgs,
        /// First day included (YYYY-MM-DD or RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// First day excluded (YYYY-MM-DD or RFC 3339).
        #[arg(long)]
        to: Option<String>,
        /// Output file [default: standard output].
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(clap::Subcommand)]
pub enum KeysCommand {
    /// Add a new key, re-encrypt every stored record with it. Stop the server first: a running server
    /// keeps sealing with the key it started with.
    Rotate {
        #[command(flatten)]
        serve: ServeArgs,
        /// Also remove the old keys from the keyring once every record is re-encrypted.
        #[arg(long)]
        prune: bool,
    },
}

fn when(s: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.to_utc());
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").with_context(|| format!("`{s}` is not YYYY-MM-DD or RFC 3339"))?;
    Ok(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
}

pub fn audit(command: AuditCommand) -> anyhow::Result<ExitCode> {
    let rt = super::runtime()?;
    match command {
        AuditCommand::Verify { serve, expect_head } => rt.block_on(async {
            let store = open_store(&serve.resolve()?).await?;
            let chain = store.audit_chain(None, None).await?;
            let v = crate::audit::verify(&chain);
            println!(
                "{} audit records ({} from before the chain), head #{} {}",
                v.records, v.unchained, v.head_id, v.head_hash
            );
            for p in &v.problems {
                println!("BROKEN: {p}");
            }
            let head_ok = expect_head
                .as_ref()
                .is_none_or(|h| chain.iter().any(|c| crate::audit::to_hex(&c.hash) == *h));
            if !head_ok {
                println!("BROKEN: the expected head hash is not in the log (the tail was rewritten or deleted)");
            }
            Ok(if v.intact() && head_ok {
                println!("intact");
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }),
        AuditCommand::Export { serve, from, to, out } => rt.block_on(async {
            let store = open_store(&serve.resolve()?).await?;
            let chain = store
                .audit_chain(from.as_deref().map(when).transpose()?, to.as_deref().map(when).transpose()?)
                .await?;
            let mut w: Box<dyn Write> = match &out {
                Some(p) => Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?),
                None => Box::new(std::io::stdout().lock()),
            };
            for c in &chain {
                writeln!(w, "{}", serde_json::to_string(c)?)?;
            }
            w.flush()?;
            eprintln!("careline: exported {} audit records", chain.len());
            Ok(ExitCode::SUCCESS)
        }),
    }
}

pub fn keys(command: KeysCommand) -> anyhow::Result<ExitCode> {
    let KeysCommand::Rotate { serve, prune } = command;
    let config = serve.resolve()?;
    anyhow::ensure!(
        std::env::var("CARELINE_KEYS").is_err(),
        "keys come from CARELINE_KEYS: rotate them where that variable is managed"
    );
    let path = config.key_path();
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading the keyring {}", path.display()))?;
    let rotated = Keyring::with_new_key(&text)?;
    // The new key is written before any record uses it, so an interruption leaves everything readable.
    write_private(&path, &rotated)?;
    let new = Arc::new(Keyring::parse(&rotated)?);
    let rt = super::runtime()?;
    let count = rt.block_on(async {
        let store = open_store(&config).await?;
        store.reseal(new.clone()).await
    })?;
    println!("re-encrypted {count} values with key {}", new.active());
    if prune {
        let active = rotated.lines().rfind(|l| !l.trim().is_empty()).unwrap_or_default();
        write_private(&path, &format!("{active}\n"))?;
        println!("removed the old keys from {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
