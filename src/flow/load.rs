//! Reading a flow directory: `careline.yaml` plus one flow per `*.yaml` file.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::flow::model::FlowSet;
use crate::flow::schema::decode_flow;
use crate::flow::settings::decode_settings;
use crate::flow::validate::{VERIFY_ACTION, validate_flow};
use crate::yaml;
use std::path::Path;

pub const SETTINGS_FILE: &str = "careline.yaml";

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The directory or a file could not be read: nothing was checked.
    #[error("could not read flows: {0}")]
    Io(String),
    /// The flows were read and have problems; every one is listed.
    #[error("{} problem(s) in the flows", .0.len())]
    Invalid(Vec<Diagnostic>),
}

/// A SHA-256 over every flow file's name and bytes, in name order, and how many files there are: the
/// identity of a flow set, for the audit log (a change between starts) and the dashboard (disk edited
/// since start).
pub fn digest(dir: &Path) -> std::io::Result<(String, usize)> {
    use sha2::{Digest, Sha256};
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    let mut h = Sha256::new();
    for f in &files {
        h.update(
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
                .as_bytes(),
        );
        h.update(std::fs::read(f)?);
    }
    Ok((crate::audit::to_hex(&h.finalize()), files.len()))
}

/// Loads and validates a flow directory. The engine only ever runs a set that passed.
pub fn load_dir(dir: &Path) -> Result<FlowSet, LoadError> {
    let mut files: Vec<(String, String)> = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError::Io(format!("{}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry.map_err(|e| LoadError::Io(e.to_string()))?.path();
        if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            let text = std::fs::read_to_string(&path).map_err(|e| LoadError::Io(format!("{}: {e}", path.display())))?;
            files.push((path.display().to_string(), text));
        }
    }
    files.sort();
    load_sources(dir, &files)
}

/// Validates flow files given as (path, contents); `dir` only names the settings file in messages.
pub fn load_sources(dir: &Path, files: &[(String, String)]) -> Result<FlowSet, LoadError> {
    let mut problems = Vec::new();
    let settings_path = dir.join(SETTINGS_FILE).display().to_string();
    let settings = match files
        .iter()
        .find(|(p, _)| Path::new(p).file_name().is_some_and(|n| n == SETTINGS_FILE))
    {
        None => {
            problems.push(Diagnostic {
                file: settings_path.clone(),
                line: 1,
                step: None,
                problem: format!("{SETTINGS_FILE} is missing"),
                fix: "add it: it declares the languages, queues, crisis resources and messages every flow uses".into(),
            });
            None
        }
        Some((path, text)) => {
            let mut diags = Diagnostics::new(path.clone());
            let settings = match yaml::parse(text) {
                Ok(node) => decode_settings(&node, &mut diags),
                Err(e) => {
                    diags.push(
                        e.line,
                        format!("not valid YAML: {}", e.message),
                        "check the indentation and quotes on this line and the one above",
                    );
                    None
                }
            };
            let ok = diags.is_empty();
            problems.append(&mut diags.list);
            settings.filter(|_| ok)
        }
    };
    let mut flows = Vec::new();
    let mut ids: Vec<(String, String)> = Vec::new();
    let mut canned_ids: Vec<String> = Vec::new();
    for (path, text) in files
        .iter()
        .filter(|(p, _)| Path::new(p).file_name().is_none_or(|n| n != SETTINGS_FILE))
    {
        let mut diags = Diagnostics::new(path.clone());
        match yaml::parse(text) {
            Err(e) => diags.push(
                e.line,
                format!("not valid YAML: {}", e.message),
                "check the indentation and quotes on this line and the one above",
            ),
            Ok(node) => {
                let raw = decode_flow(&node, path, &mut diags);
                if let Some(id) = &raw.id {
                    if let Some((_, other)) = ids.iter().find(|(i, _)| *i == id.name) {
                        diags.push(
                            id.line,
                            format!("flow id `{}` is also used by {other}", id.name),
                            "give each flow its own id",
                        );
                    }
                    ids.push((id.name.clone(), path.clone()));
                }
                for c in &raw.canned {
                    if canned_ids.contains(&c.id.name) {
                        diags.push(
                            c.id.line,
                            format!("canned response id `{}` is used twice", c.id.name),
                            "give each canned response its own id",
                        );
                    }
                    canned_ids.push(c.id.name.clone());
                }
                if let Some(settings) = &settings
                    && let Some(flow) = validate_flow(&raw, settings, &mut diags)
                {
                    flows.push(flow);
                }
            }
        }
        problems.append(&mut diags.list);
    }
    if let Some(settings) = &settings {
        let mut diags = Diagnostics::new(settings_path);
        if !ids.iter().any(|(i, _)| *i == settings.after_hours_flow) {
            diags.push(
                1,
                format!("after_hours_flow `{}` is not a flow in this directory", settings.after_hours_flow),
                "point it at the flow that captures a call-back message",
            );
        }
        if flows.iter().any(|f| f.requires_verification) && !settings.actions.contains_key(VERIFY_ACTION) {
            diags.push(
                1,
                format!("flows require verification but no `{VERIFY_ACTION}` action is declared"),
                format!("declare `{VERIFY_ACTION}` under `actions:` with outcomes [verified, mismatch]"),
            );
        }
        problems.append(&mut diags.list);
    }
    match settings {
        Some(settings) if problems.is_empty() => Ok(FlowSet { settings, flows }),
        _ => Err(LoadError::Invalid(problems)),
    }
}
