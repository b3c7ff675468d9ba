//! Meaning as a second signal beside the lexicons: a sentence-embedding model compares each patient
//! message with crisis exemplars written by people (`models/semantic/crisis.yaml`). It can raise a
//! crisis the keyword lists missed ("I don't see the point in going on"); it never lowers one.
//!
//! Optional at run time: without a model directory Careline runs on the lexicons alone. Loaded once;
//! the exemplars are embedded at load and cached on disk, keyed by the model and the file's hash; each
//! message is embedded once. Pure after loading: `crisis` does no I/O.
//!
//! Backends: candle (default, pure Rust) and rust-bert (cargo feature `rust-bert`, libtorch). Both read
//! the sentence-transformers layout, so a deployment can point Careline at any BERT-family sentence
//! model, multilingual ones included (`docs/models.md`).

pub mod candle;
mod exemplars;
#[cfg(feature = "rust-bert")]
pub mod rustbert;

use crate::lang::Lang;
use crate::triage::CrisisKind;
use anyhow::Context;
use std::path::{Path, PathBuf};

pub use exemplars::{CrisisSettings, Exemplar};

/// Where `careline serve` and `careline eval` look for the model unless told otherwise; put there by
/// `scripts/fetch-model.sh`.
pub const DEFAULT_MODEL_DIR: &str = "models/embedder/all-minilm-l6-v2";

/// Turns a sentence into a vector; vectors of similar meaning point the same way.
pub trait Embedder: Send + Sync {
    fn embed(&self, text: &str) -> anyhow::Result<Vec<f32>>;
    /// Identifies the model (a hash of its files): cached vectors from another model are never used.
    fn id(&self) -> &str;
    fn dim(&self) -> usize;
}

/// Which library runs the model: candle always; rust-bert (libtorch) when built with that feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Candle,
    #[cfg(feature = "rust-bert")]
    RustBert,
}

impl Backend {
    /// `candle`, or `rust-bert` in a build with that feature.
    pub fn parse(name: &str) -> anyhow::Result<Backend> {
        match name {
            "candle" => Ok(Backend::Candle),
            #[cfg(feature = "rust-bert")]
            "rust-bert" => Ok(Backend::RustBert),
            #[cfg(not(feature = "rust-bert"))]
            "rust-bert" => anyhow::bail!("this build has no rust-bert backend: build with `--features rust-bert` (docs/models.md)"),
            other => anyhow::bail!("`{other}` is not an embedder backend: use candle or rust-bert"),
        }
    }

    pub fn load(self, files: &ModelFiles) -> anyhow::Result<Box<dyn Embedder>> {
        Ok(match self {
            Backend::Candle => Box::new(candle::CandleEmbedder::load(files)?),
            #[cfg(feature = "rust-bert")]
            Backend::RustBert => Box::new(rustbert::RustBertEmbedder::load(files)?),
        })
    }
}

/// How a sentence-transformers model turns token vectors into one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    Mean,
    Cls,
    Max,
}

/// A model directory in the sentence-transformers layout, checked.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub tokenizer: PathBuf,
    pub weights: PathBuf,
    pub pooling: Pooling,
    pub normalize: bool,
    pub max_tokens: usize,
    /// SHA-256 over the configuration, tokenizer and weights.
    pub id: String,
}

impl ModelFiles {
    pub fn open(dir: &Path) -> anyhow::Result<ModelFiles> {
        let need = |name: &str| {
            let p = dir.join(name);
            if p.is_file() {
                Ok(p)
            } else {
                Err(anyhow::anyhow!(
                    "{}: no {name}; a sentence model directory holds config.json, tokenizer.json and model.safetensors (scripts/fetch-model.sh puts one there)",
                    dir.display()
                ))
            }
        };
        let (config, tokenizer, weights) = (need("config.json")?, need("tokenizer.json")?, need("model.safetensors")?);
        let pooling = match std::fs::read_to_string(dir.join("1_Pooling/config.json")) {
            Err(_) => Pooling::Mean,
            Ok(text) => {
                let v: serde_json::Value = serde_json::from_str(&text).context("1_Pooling/config.json")?;
                if v["pooling_mode_cls_token"] == true {
                    Pooling::Cls
                } else if v["pooling_mode_max_tokens"] == true {
                    Pooling::Max
                } else {
                    Pooling::Mean
                }
            }
        };
        let normalize = std::fs::read_to_string(dir.join("modules.json")).is_ok_and(|m| m.contains("Normalize"));
        let max_tokens = std::fs::read_to_string(dir.join("sentence_bert_config.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["max_seq_length"].as_u64())
            .unwrap_or(256) as usize;
        let id = {
            use sha2::{Digest, Sha256};
            let mut h = Sha256::new();
            for f in [&config, &tokenizer, &weights] {
                h.update(std::fs::read(f).with_context(|| f.display().to_string())?);
            }
            crate::audit::to_hex(&h.finalize())
        };
        Ok(ModelFiles {
            dir: dir.to_path_buf(),
            config,
            tokenizer,
            weights,
            pooling,
            normalize,
            max_tokens,
            id,
        })
    }
}

pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Cosine similarity; both vectors are unit length after `normalize`, so a dot product.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na * nb) }
}

/// A crisis found by meaning: the exemplar it resembles, how closely, and the closest harmless one.
#[derive(Debug, Clone, PartialEq)]
pub struct MeaningMatch {
    pub kind: CrisisKind,
    pub exemplar: String,
    pub lang: Lang,
    pub similarity: f32,
    pub contrast: f32,
}

/// A flow the message means, by meaning: the closest trigger example and how close.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentByMeaning {
    pub flow: usize,
    pub lang: Lang,
    pub example: String,
    pub similarity: f32,
}

/// The loaded model with the crisis exemplars (and, once a flow set is indexed, its trigger examples)
/// embedded.
pub struct Semantic {
    embedder: Box<dyn Embedder>,
    settings: CrisisSettings,
    crisis: Vec<(Exemplar, Vec<f32>)>,
    contrast: Vec<Vec<f32>>,
    model_dir: PathBuf,
    /// Default (threshold, unsure) for intents by meaning.
    pub intent_bands: (f32, f32),
    /// Per trigger example: flow index, language, text, vector.
    intents: Vec<(usize, Lang, String, Vec<f32>)>,
}

impl Semantic {
    /// Loads the model in `model_dir` with the default backend and embeds the exemplars under
    /// `models/semantic/` (from the disk cache when the model and the file are unchanged).
    pub fn load(model_dir: &Path, models: &Path) -> anyhow::Result<Semantic> {
        Semantic::load_with(model_dir, models, Backend::Candle)
    }

    pub fn load_with(model_dir: &Path, models: &Path, backend: Backend) -> anyhow::Result<Semantic> {
        let files = ModelFiles::open(model_dir)?;
        Semantic::with_embedder(backend.load(&files)?, &files.dir, models)
    }

    pub fn with_embedder(embedder: Box<dyn Embedder>, model_dir: &Path, models: &Path) -> anyhow::Result<Semantic> {
        let (settings, crisis, contrast) = exemplars::load(&models.join("semantic/crisis.yaml"))?;
        let texts: Vec<&str> = crisis
            .iter()
            .map(|e| e.text.as_str())
            .chain(contrast.iter().map(|e| e.text.as_str()))
            .collect();
        let vectors = exemplars::embed_cached(embedder.as_ref(), &texts, &model_dir.join("careline-cache"), &settings.file_hash)?;
        let (crisis_vecs, contrast_vecs) = vectors.split_at(crisis.len());
        Ok(Semantic {
            crisis: crisis.into_iter().zip(crisis_vecs.iter().cloned()).collect(),
            contrast: contrast_vecs.to_vec(),
            embedder,
            settings,
            model_dir: model_dir.to_path_buf(),
            intent_bands: exemplars::load_intent_settings(&models.join("semantic/intents.yaml"))?,
            intents: Vec::new(),
        })
    }

    /// Embeds the trigger examples of `flows` in the languages the model covers (cached like the
    /// exemplars), so `intent` can compare messages with them.
    pub fn index_intents(&mut self, flows: &crate::flow::FlowSet) -> anyhow::Result<()> {
        let mut examples = Vec::new();
        for (fi, flow) in flows.flows.iter().enumerate() {
            for (lang, t) in &flow.triggers {
                if self.covers(*lang) {
                    examples.extend(t.examples.iter().map(|e| (fi, *lang, e.clone())));
                }
            }
        }
        let key = {
            use sha2::{Digest, Sha256};
            let mut h = Sha256::new();
            for (fi, lang, e) in &examples {
                h.update(format!("{}|{}|{e}\n", flows.flows[*fi].id, lang.code()).as_bytes());
            }
            crate::audit::to_hex(&h.finalize())
        };
        let texts: Vec<&str> = examples.iter().map(|(_, _, e)| e.as_str()).collect();
        let vectors = exemplars::embed_cached(self.embedder.as_ref(), &texts, &self.model_dir.join("careline-cache"), &key)?;
        self.intents = examples
            .into_iter()
            .zip(vectors)
            .map(|((fi, lang, e), v)| (fi, lang, e, v))
            .collect();
        Ok(())
    }

    /// The flow whose trigger example `v` is closest to, among flows `allowed`.
    pub fn intent(&self, v: &[f32], allowed: impl Fn(usize) -> bool) -> Option<IntentByMeaning> {
        self.intents
            .iter()
            .filter(|(fi, ..)| allowed(*fi))
            .map(|(fi, lang, e, ev)| (fi, lang, e, cosine(v, ev)))
            .max_by(|a, b| a.3.total_cmp(&b.3))
            .map(|(fi, lang, e, similarity)| IntentByMeaning {
                flow: *fi,
                lang: *lang,
                example: e.clone(),
                similarity,
            })
    }

    pub fn embedder(&self) -> &dyn Embedder {
        self.embedder.as_ref()
    }

    /// Languages the model decides by meaning (the others rely on the lexicons alone).
    pub fn covers(&self, lang: Lang) -> bool {
        self.settings.languages.contains(&lang)
    }

    /// A crisis by meaning, or `None`. Raised when the message is at least `threshold` similar to a
    /// crisis exemplar and closer to it, by `margin`, than to every harmless look-alike.
    pub fn crisis(&self, text: &str) -> anyhow::Result<Option<MeaningMatch>> {
        Ok(self.crisis_of(&self.embedder.embed(text)?))
    }

    /// `crisis` for a message already embedded.
    pub fn crisis_of(&self, v: &[f32]) -> Option<MeaningMatch> {
        let best = self
            .crisis
            .iter()
            .map(|(e, ev)| (e, cosine(v, ev)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let contrast = self.contrast.iter().map(|c| cosine(v, c)).fold(f32::MIN, f32::max);
        best.and_then(|(e, similarity)| {
            (similarity >= self.settings.threshold && similarity >= contrast + self.settings.margin).then(|| MeaningMatch {
                kind: e.kind,
                exemplar: e.text.clone(),
                lang: e.lang,
                similarity,
                contrast,
            })
        })
    }
}
