//! `models/semantic/crisis.yaml`: the crisis exemplars and their harmless look-alikes, the languages
//! the model decides by meaning, and the two numbers that decide. Analysts read and extend it; every
//! problem is reported with its line. Embedded exemplars are cached beside the model, keyed by the
//! model's id and this file's hash.

use super::Embedder;
use crate::diagnostic::Diagnostics;
use crate::lang::Lang;
use crate::triage::CrisisKind;
use crate::yaml::{self, MapReader};
use anyhow::Context;
use std::path::Path;

#[derive(Debug, Clone)]
pub struct Exemplar {
    pub kind: CrisisKind,
    pub lang: Lang,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct CrisisSettings {
    /// Languages the model understands well enough to raise a crisis by meaning.
    pub languages: Vec<Lang>,
    /// The least similarity to a crisis exemplar that raises a crisis.
    pub threshold: f32,
    /// How much closer to the crisis exemplar than to any harmless look-alike.
    pub margin: f32,
    /// SHA-256 of the file: a changed file re-embeds its exemplars.
    pub file_hash: String,
}

pub(super) fn fraction(m: &mut MapReader, key: &str, diags: &mut Diagnostics) -> Option<f32> {
    let node = m.require(key, diags)?;
    match node
        .as_str()
        .and_then(|t| t.trim().parse::<f32>().ok())
        .filter(|v| (0.0..=1.0).contains(v))
    {
        Some(v) => Some(v),
        None => {
            diags.push(
                node.line,
                format!("`{key}` should be a number from 0 to 1"),
                format!("write e.g. `{key}: 0.6`"),
            );
            None
        }
    }
}

const KEYS: &[&str] = &[
    "languages",
    "threshold",
    "margin",
    "self_harm",
    "emergency",
    "violence",
    "not_crisis",
];

/// The file's text, its YAML tree, and an empty problem list named after it.
fn read_yaml(path: &Path) -> anyhow::Result<(String, yaml::Node, Diagnostics)> {
    let source = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let name = path.display().to_string();
    let root = yaml::parse(&source).map_err(|e| anyhow::anyhow!("{name}:{}: not valid YAML: {}", e.line, e.message))?;
    Ok((source, root, Diagnostics::new(name)))
}

/// Every problem at once, each with its file and line, or nothing.
fn refuse_problems(diags: &Diagnostics) -> anyhow::Result<()> {
    if diags.list.is_empty() {
        return Ok(());
    }
    let all: Vec<String> = diags.list.iter().map(|d| d.to_string()).collect();
    anyhow::bail!("{} problem(s) in {}:\n{}", all.len(), diags.file, all.join("\n"))
}

/// One group of sentences, by language: `key: {en: [...], es: [...]}`.
fn read_group(m: &mut MapReader, key: &str, kind: CrisisKind, out: &mut Vec<Exemplar>, diags: &mut Diagnostics) {
    let Some(node) = m.require(key, diags) else { return };
    for (code, list, line) in node.entries(&format!("`{key}`"), diags) {
        let Some(lang) = Lang::from_code(&code) else {
            diags.push(
                line,
                format!("`{code}` is not a language code"),
                "use en es zh vi ko tl ru ar fr ht pt",
            );
            continue;
        };
        for text in list.strings(&format!("`{key}.{code}`"), diags) {
            out.push(Exemplar { kind, lang, text });
        }
    }
}

/// Reads the file: (settings, crisis exemplars, harmless look-alikes).
pub fn load(path: &Path) -> anyhow::Result<(CrisisSettings, Vec<Exemplar>, Vec<Exemplar>)> {
    let (source, root, mut diags) = read_yaml(path)?;
    let mut m = MapReader::new(&root, "the crisis exemplars", &mut diags);
    let languages: Vec<Lang> = m
        .require("languages", &mut diags)
        .map(|n| {
            n.strings("`languages`", &mut diags)
                .iter()
                .filter_map(|c| {
                    let l = Lang::from_code(c);
                    if l.is_none() {
                        diags.push(
                            n.line,
                            format!("`{c}` is not a language code"),
                            "use en es zh vi ko tl ru ar fr ht pt",
                        );
                    }
                    l
                })
                .collect()
        })
        .unwrap_or_default();
    let threshold = fraction(&mut m, "threshold", &mut diags).unwrap_or(1.0);
    let margin = fraction(&mut m, "margin", &mut diags).unwrap_or(0.0);
    let mut crisis = Vec::new();
    let mut contrast = Vec::new();
    read_group(&mut m, "self_harm", CrisisKind::SelfHarm, &mut crisis, &mut diags);
    read_group(&mut m, "emergency", CrisisKind::Emergency, &mut crisis, &mut diags);
    read_group(&mut m, "violence", CrisisKind::Violence, &mut crisis, &mut diags);
    // Harmless look-alikes carry no kind of their own; `SelfHarm` is never read for them.
    read_group(&mut m, "not_crisis", CrisisKind::SelfHarm, &mut contrast, &mut diags);
    m.finish(KEYS, &mut diags);
    refuse_problems(&diags)?;
    let file_hash = {
        use sha2::{Digest, Sha256};
        crate::audit::to_hex(&Sha256::digest(source.as_bytes()))
    };
    Ok((
        CrisisSettings {
            languages,
            threshold,
            margin,
            file_hash,
        },
        crisis,
        contrast,
    ))
}

/// The vectors of `texts`, from `cache_dir` when this model embedded this file before, otherwise
/// embedded now and written there (best effort: a read-only model directory only costs time).
pub fn embed_cached(embedder: &dyn Embedder, texts: &[&str], cache_dir: &Path, file_hash: &str) -> anyhow::Result<Vec<Vec<f32>>> {
    let key = {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(embedder.id().as_bytes());
        h.update(file_hash.as_bytes());
        crate::audit::to_hex(&h.finalize())
    };
    let path = cache_dir.join(format!("{key}.f32"));
    let dim = embedder.dim();
    if let Ok(bytes) = std::fs::read(&path)
        && bytes.len() == texts.len() * dim * 4
    {
        let floats: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        return Ok(floats.chunks(dim).map(<[f32]>::to_vec).collect());
    }
    let vectors: Vec<Vec<f32>> = texts.iter().map(|t| embedder.embed(t)).collect::<anyhow::Result<_>>()?;
    let bytes: Vec<u8> = vectors.iter().flatten().flat_map(|f| f.to_le_bytes()).collect();
    if std::fs::create_dir_all(cache_dir).is_ok() {
        let tmp = path.with_extension("tmp");
        if std::fs::write(&tmp, &bytes).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }
    Ok(vectors)
}

/// `models/semantic/intents.yaml`: (threshold, unsure).
pub fn load_intent_settings(path: &Path) -> anyhow::Result<(f32, f32)> {
    let (_, root, mut diags) = read_yaml(path)?;
    let mut m = MapReader::new(&root, "the intent settings", &mut diags);
    let threshold = fraction(&mut m, "threshold", &mut diags).unwrap_or(1.0);
    let unsure = fraction(&mut m, "unsure", &mut diags).unwrap_or(1.0);
    m.finish(&["threshold", "unsure"], &mut diags);
    if unsure > threshold {
        diags.push(1, "`unsure` is above `threshold`", "make `unsure` the lower of the two");
    }
    refuse_problems(&diags)?;
    Ok((threshold, unsure))
}
