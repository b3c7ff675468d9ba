//! `GET /api/v1/analyst/flows`: what the analyst dashboard shows about the flows. The flows this
//! process serves, whether the files on disk still validate (an analyst may be editing them), and, on
//! request (`?tests=true`), the conversation tests run against the served flows. Tests run only when
//! asked: a flow's lookups may call the plan's systems. Reads no chat and no PHI.

use crate::convtest::{TestResult, collect, parse_file, run_test};
use crate::diagnostic::Diagnostic;
use crate::flow::LoadError;
use crate::http::AppState;
use crate::http::auth::caller_in;
use crate::http::body::Bearer;
use crate::http::error::ApiError;
use crate::users::Role;
use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub struct FlowsReport {
    flows: Vec<FlowLine>,
    /// The flow files as they are on disk now.
    disk: DiskCheck,
    /// Only when asked for with `?tests=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    tests: Option<TestRun>,
}

#[derive(Deserialize)]
pub struct ReportQuery {
    #[serde(default)]
    tests: bool,
}

#[derive(Serialize)]
struct FlowLine {
    id: String,
    description: String,
    file: String,
    languages: Vec<String>,
    steps: usize,
    requires_verification: bool,
    skill: String,
}

#[derive(Serialize)]
struct DiskCheck {
    valid: bool,
    /// Every problem `careline flows check` would print: file, line, step, problem, fix.
    problems: Vec<Diagnostic>,
    /// The files differ from the ones this server loaded: a restart would serve the edits.
    changed_since_start: bool,
}

#[derive(Serialize)]
struct TestRun {
    directory: String,
    passed: usize,
    failed: usize,
    /// Test files that could not be read, with where and why.
    problems: Vec<Diagnostic>,
    results: Vec<TestResult>,
}

fn io_problem(file: String, problem: String) -> Diagnostic {
    Diagnostic {
        file,
        line: 1,
        step: None,
        problem,
        fix: "check that the path exists and the server may read it".into(),
    }
}

pub async fn report(State(s): State<AppState>, Bearer(t): Bearer, Query(q): Query<ReportQuery>) -> Result<Json<FlowsReport>, ApiError> {
    caller_in(&s, &t, &[Role::Analyst, Role::Supervisor]).await?;
    let hub = &s.hub;
    let flows = hub
        .runner
        .engine
        .flows
        .flows
        .iter()
        .map(|f| FlowLine {
            id: f.id.clone(),
            description: f.description.clone(),
            file: f.file.clone(),
            languages: f.languages.iter().map(|l| l.code().to_string()).collect(),
            steps: f.steps.len(),
            requires_verification: f.requires_verification,
            skill: f.skill.clone(),
        })
        .collect();
    let dir = hub.config.flows.clone();
    let served = hub.served_flows.get().cloned();
    // Reading and validating the files is blocking work: off the async workers.
    let disk = tokio::task::spawn_blocking(move || check_disk(&dir, served.as_deref()))
        .await
        .map_err(|e| ApiError::store_failed(&anyhow::anyhow!("flow check: {e}")))?;
    let tests = if q.tests { Some(run_tests(&s).await) } else { None };
    Ok(Json(FlowsReport { flows, disk, tests }))
}

fn check_disk(dir: &std::path::Path, served: Option<&str>) -> DiskCheck {
    let problems = match crate::flow::load_dir(dir) {
        Ok(_) => Vec::new(),
        Err(LoadError::Invalid(problems)) => problems,
        Err(LoadError::Io(e)) => vec![io_problem(dir.display().to_string(), e)],
    };
    let changed_since_start = match (crate::flow::load::digest(dir), served) {
        (Ok((now, _)), Some(served)) => now != served,
        _ => false,
    };
    DiskCheck {
        valid: problems.is_empty(),
        problems,
        changed_since_start,
    }
}

async fn run_tests(s: &AppState) -> TestRun {
    let dir = &s.hub.config.conversation_tests;
    let mut run = TestRun {
        directory: dir.display().to_string(),
        passed: 0,
        failed: 0,
        problems: Vec::new(),
        results: Vec::new(),
    };
    let files = match collect(dir) {
        Ok(files) => files,
        Err(e) => {
            run.problems.push(io_problem(run.directory.clone(), e.to_string()));
            return run;
        }
    };
    for file in files {
        let name = file.display().to_string();
        let tests = match std::fs::read_to_string(&file) {
            Err(e) => {
                run.problems.push(io_problem(name, e.to_string()));
                continue;
            }
            Ok(source) => match parse_file(&name, &source) {
                Ok(tests) => tests,
                Err(d) => {
                    run.problems.extend(d.list);
                    continue;
                }
            },
        };
        for test in &tests {
            let result = run_test(&s.hub.runner, test).await;
            if result.passed {
                run.passed += 1
            } else {
                run.failed += 1
            }
            run.results.push(result);
        }
    }
    run
}
