//! The libtorch backend (cargo feature `rust-bert`), for deployments standardised on libtorch. Reads the
//! same sentence-transformers directory as the candle backend; rust-bert needs the weights as
//! `rust_model.ot`, which this backend writes from `model.safetensors` the first time (tch converts
//! them), and the tokenizer as `vocab.txt` with `tokenizer_config.json` (scripts/fetch-model.sh unpacks
//! both). Built with `LIBTORCH` pointing at the directory scripts/prepare-rust-bert.sh assembles.

use super::{Embedder, ModelFiles};
use anyhow::Context;
use rust_bert::pipelines::sentence_embeddings::{SentenceEmbeddingsBuilder, SentenceEmbeddingsModel};
use std::sync::Mutex;

pub struct RustBertEmbedder {
    /// Why a Mutex: the model holds libtorch tensors, which are not `Sync`; one message is embedded at
    /// a time per model, as with the candle backend.
    model: Mutex<SentenceEmbeddingsModel>,
    id: String,
    dim: usize,
}

impl RustBertEmbedder {
    pub fn load(files: &ModelFiles) -> anyhow::Result<RustBertEmbedder> {
        let ot = files.dir.join("rust_model.ot");
        if !ot.exists() {
            let tensors = tch::Tensor::read_safetensors(&files.weights).with_context(|| files.weights.display().to_string())?;
            let named: Vec<(&str, &tch::Tensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
            tch::Tensor::save_multi(&named, &ot).with_context(|| format!("writing {}", ot.display()))?;
        }
        let model = SentenceEmbeddingsBuilder::local(&files.dir)
            .with_device(tch::Device::Cpu)
            .create_model()
            .with_context(|| format!("rust-bert could not load {}", files.dir.display()))?;
        let dim = model.get_embedding_dim().context("the model's embedding size")? as usize;
        Ok(RustBertEmbedder {
            model: Mutex::new(model),
            id: files.id.clone(),
            dim,
        })
    }
}

impl Embedder for RustBertEmbedder {
    fn embed(&self, text: &str) -> anyhow::Result<Vec<f32>> {
        let model = self.model.lock().expect("the embedder panicked earlier");
        let mut out = model.encode(&[text]).context("rust-bert encoding")?;
        // rust-bert applies the model's own Normalize module, as the candle backend does.
        out.pop().context("one sentence in, one vector out")
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.dim
    }
}
