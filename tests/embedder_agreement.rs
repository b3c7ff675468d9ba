//! The two backends agree: candle (default) and rust-bert (libtorch) embed the same sentences to the
//! same vectors, cosine above 0.9999. Built and run only with `--features rust-bert`, which
//! `scripts/test.sh` does after preparing libtorch (scripts/prepare-rust-bert.sh).
#![cfg(feature = "rust-bert")]

mod common;

use careline::semantic::{Backend, DEFAULT_MODEL_DIR, ModelFiles, cosine};

#[test]
fn candle_and_rust_bert_embed_alike() {
    let files = ModelFiles::open(&common::root().join(DEFAULT_MODEL_DIR)).expect("scripts/fetch-model.sh first");
    let candle = Backend::Candle.load(&files).unwrap();
    let rust_bert = Backend::RustBert.load(&files).unwrap();
    assert_eq!(candle.dim(), rust_bert.dim());
    let sentences = [
        "is my prescription ready",
        "I don't see the point in going on",
        "can I pay my bill over the phone or do I have to use the website",
        "hola, quiero saber si mi receta está lista",
        "my chest hurts and my left arm is numb",
        "what time does the pharmacy on main street close today",
        "yes",
        "我想查一下我的处方",
        "the copay on my last visit looks wrong, I was charged twice for the same thing and I want someone to check it for me please",
        "ABC123456",
    ];
    let mut worst = 1.0f32;
    for s in sentences {
        let (a, b) = (candle.embed(s).unwrap(), rust_bert.embed(s).unwrap());
        let c = cosine(&a, &b);
        println!("{c:.6}  {s}");
        worst = worst.min(c);
    }
    assert!(worst > 0.9999, "the backends disagree: worst cosine {worst}");
}
