//! The default embedder: a BERT-family sentence model run by candle, pure Rust, no system library.
//! Reads the sentence-transformers layout: `config.json`, `tokenizer.json`, `model.safetensors`, and
//! `1_Pooling/config.json` / `modules.json` for how tokens become one sentence vector.

use super::{Embedder, ModelFiles, Pooling};
use anyhow::{Context, anyhow};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::Tokenizer;

pub struct CandleEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    pooling: Pooling,
    normalize: bool,
    id: String,
    dim: usize,
}

impl CandleEmbedder {
    pub fn load(files: &ModelFiles) -> anyhow::Result<CandleEmbedder> {
        let config: Config = serde_json::from_str(&std::fs::read_to_string(&files.config)?)
            .with_context(|| format!("{}: not a BERT configuration", files.config.display()))?;
        let mut tokenizer = Tokenizer::from_file(&files.tokenizer).map_err(|e| anyhow!("{}: {e}", files.tokenizer.display()))?;
        // The packaged tokenizer pads every input to 128 tokens: one short chat message would cost
        // as much as a paragraph. Pad nothing; truncate at the model's window.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: files.max_tokens.min(config.max_position_embeddings),
                ..Default::default()
            }))
            .map_err(|e| anyhow!("tokenizer: {e}"))?;
        // SAFETY: the weights file is mapped read-only and must not change while Careline runs, the
        // same contract as any loaded model file.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&files.weights], DType::F32, &Device::Cpu)? };
        let model =
            BertModel::load(vb, &config).with_context(|| format!("{}: weights do not fit the configuration", files.weights.display()))?;
        Ok(CandleEmbedder {
            model,
            tokenizer,
            pooling: files.pooling,
            normalize: files.normalize,
            id: files.id.clone(),
            dim: config.hidden_size,
        })
    }

    fn embed_one(&self, text: &str) -> anyhow::Result<Vec<f32>> {
        let enc = self.tokenizer.encode(text, true).map_err(|e| anyhow!("tokenizing: {e}"))?;
        let ids = Tensor::new(enc.get_ids(), &Device::Cpu)?.unsqueeze(0)?;
        let types = Tensor::new(enc.get_type_ids(), &Device::Cpu)?.unsqueeze(0)?;
        let mask = Tensor::new(enc.get_attention_mask(), &Device::Cpu)?.unsqueeze(0)?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?.squeeze(0)?; // tokens x dim
        let pooled = match self.pooling {
            Pooling::Mean => hidden.mean(0)?,
            Pooling::Cls => hidden.get(0)?,
            Pooling::Max => hidden.max(0)?,
        };
        let mut v = pooled.to_vec1::<f32>()?;
        if self.normalize {
            super::normalize(&mut v);
        }
        Ok(v)
    }
}

impl Embedder for CandleEmbedder {
    fn embed(&self, text: &str) -> anyhow::Result<Vec<f32>> {
        self.embed_one(text)
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.dim
    }
}
