//! `careline flows test [PATH...] [--json]`: run conversation tests against the flows.

use crate::cli::{DataArgs, load_runner, runtime};
use crate::convtest::{collect, parse_file, run_test};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct TestArgs {
    /// Test files or directories.
    #[arg(default_value = "fixtures/conversations")]
    paths: Vec<PathBuf>,
    /// Print one JSON object per test: name, passed, failures.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data: DataArgs,
}

pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    let runner = load_runner(&args.data)?;
    let rt = runtime()?;
    let mut tests = Vec::new();
    let mut broken = false;
    for path in &args.paths {
        for file in collect(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))? {
            let source = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            match parse_file(&file.display().to_string(), &source) {
                Ok(t) => tests.extend(t),
                Err(diags) => {
                    broken = true;
                    diags.list.iter().for_each(|d| eprintln!("{d}"));
                }
            }
        }
    }
    if broken {
        anyhow::bail!("some test files could not be read");
    }
    let (mut passed, mut failed) = (0, 0);
    for test in &tests {
        let result = rt.block_on(run_test(&runner, test));
        if args.json {
            println!("{}", serde_json::to_string(&result)?);
        } else if result.passed {
            println!("ok    {} ({}:{})", result.name, result.file, result.line);
        } else {
            println!("FAIL  {} ({}:{})", result.name, result.file, result.line);
            for f in &result.failures {
                println!("      {f}");
            }
        }
        if result.passed { passed += 1 } else { failed += 1 }
    }
    if !args.json {
        println!("{passed} passed, {failed} failed");
    }
    Ok(if failed == 0 && !tests.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
