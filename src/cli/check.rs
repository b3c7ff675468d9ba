//! `careline flows check [DIR]`: every problem, with file, line, step and fix.

use crate::flow::{LoadError, load_dir};
use std::path::Path;
use std::process::ExitCode;

pub fn run(dir: &Path) -> ExitCode {
    match load_dir(dir) {
        Ok(set) => {
            let steps: usize = set.flows.iter().map(|f| f.steps.len()).sum();
            let langs: Vec<&str> = set.settings.languages.iter().map(|l| l.code()).collect();
            println!(
                "{}: {} flows, {steps} steps, languages {}: no problems",
                dir.display(),
                set.flows.len(),
                langs.join(" ")
            );
            ExitCode::SUCCESS
        }
        Err(LoadError::Invalid(problems)) => {
            for p in &problems {
                println!("{p}");
            }
            println!("{} problem(s) found", problems.len());
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("careline: {e}");
            ExitCode::from(2)
        }
    }
}
