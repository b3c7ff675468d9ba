//! The semantic layer's cost: loading the sentence model (time and resident memory), embedding one
//! message (median, p99), and the whole triage of one English message with the embedder on (median,
//! p99; target under 20 ms at p99 on one core). Needs the model (`scripts/fetch-model.sh`).
//!
//! Run on one core: `taskset -c 0 cargo bench --bench semantic`

use careline::semantic::{DEFAULT_MODEL_DIR, Semantic};
use careline::text::normalize;
use careline::triage::Triage;
mod common;

use common::rss_kb;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

/// English chat messages of the lengths patients type, routine and not; none from an evaluation set.
const MESSAGES: [&str; 24] = [
    "hi",
    "is my prescription ready",
    "what time does the pharmacy on main street close today",
    "I need to reschedule my appointment with Dr Ruiz next week because I have to work",
    "can I pay my bill over the phone or do I have to use the website",
    "I don't see the point in going on anymore",
    "my chest hurts and my arm feels numb",
    "how do I get a new member id card",
    "nobody would miss me if I was gone",
    "the copay on my last visit looks wrong, I was charged twice for the same thing and I want someone to check",
    "thank you so much",
    "what's the use of waking up every day",
    "can I take ibuprofen with lisinopril",
    "I'm so tired of all of this, I've been on hold three times today and nobody can tell me where my refill is",
    "where do I park at the clinic",
    "I feel like everyone would be better off without me",
    "my husband collapsed and he isn't answering me",
    "does my plan cover physical therapy",
    "yes",
    "I would never hurt myself, I just want my refill",
    "this bill is killing me",
    "I'm dying to know if my refill is ready",
    "I've been giving away my things because I won't need them soon",
    "can you tell me the hours for the lab on saturday",
];

fn percentiles(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(times[times.len() / 2]), ms(times[times.len() * 99 / 100]))
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = root.join(DEFAULT_MODEL_DIR);
    if !model.join("config.json").exists() {
        eprintln!("no model in {}: run scripts/fetch-model.sh first", model.display());
        std::process::exit(2);
    }
    let lexicons_only = Triage::load(&root.join("models")).unwrap();
    // Warm the lexicons (lingua loads lazily) so the memory below is the model's alone.
    for m in MESSAGES {
        lexicons_only.assess(m, &normalize(m));
    }
    let before = rss_kb();
    let started = Instant::now();
    let semantic = Semantic::load(&model, &root.join("models")).unwrap();
    let load = started.elapsed();
    println!(
        "model loaded (with the crisis exemplars) in {:.2} s; resident memory +{:.1} MB",
        load.as_secs_f64(),
        rss_kb().saturating_sub(before) as f64 / 1024.0
    );
    let runs = 40;
    let mut embed = Vec::new();
    for _ in 0..runs {
        for m in MESSAGES {
            let t = Instant::now();
            black_box(semantic.embedder().embed(m).unwrap());
            embed.push(t.elapsed());
        }
    }
    let (p50, p99) = percentiles(embed);
    println!(
        "embedding one message ({} messages x {runs}): median {p50:.2} ms, p99 {p99:.2} ms",
        MESSAGES.len()
    );
    let triage = Triage::load(&root.join("models")).unwrap().with_semantic(semantic);
    let mut whole = Vec::new();
    for _ in 0..runs {
        for m in MESSAGES {
            let t = Instant::now();
            black_box(triage.assess(m, &normalize(m)));
            whole.push(t.elapsed());
        }
    }
    let (p50, p99) = percentiles(whole);
    println!("whole triage of one English message with the embedder: median {p50:.2} ms, p99 {p99:.2} ms (target p99 < 20 ms)");
    println!("resident memory at the end: {:.1} MB", rss_kb() as f64 / 1024.0);
}
