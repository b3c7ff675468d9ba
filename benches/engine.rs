//! One patient message through the pure core (`Engine::handle`: triage + intent + state machine), no
//! transformer model. Prints the median and p99 per message for each kind of message, then runs the
//! criterion benchmarks. Target (issue 2): median under 20 microseconds.
//!
//! Run: `cargo bench --bench engine`

use careline::engine::{ChatState, Engine, Event, Input};
use chrono::{DateTime, Utc};
use criterion::Criterion;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

fn engine() -> Engine {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let flows = careline::flow::load_dir(&root.join("flows")).unwrap();
    let triage = careline::triage::Triage::load(&root.join("models")).unwrap();
    Engine::new(flows, triage)
}

fn at() -> DateTime<Utc> {
    careline::convtest::DEFAULT_AT.parse().unwrap()
}

/// (label, state before, message)
fn cases(e: &Engine) -> Vec<(&'static str, ChatState, String)> {
    let fresh = e.new_chat();
    let mid = e
        .handle(
            &fresh,
            Event {
                at: at(),
                input: Input::Patient {
                    text: "is my prescription ready".into(),
                },
            },
        )
        .0;
    vec![
        ("first message, FAQ (en)", fresh.clone(), "what are your hours on saturday?".into()),
        (
            "first message, refill (es)",
            fresh.clone(),
            "hola, quiero saber si mi receta está lista".into(),
        ),
        (
            "first message, no match",
            fresh.clone(),
            "blue elephants dancing in the rain".into(),
        ),
        ("crisis (en)", fresh.clone(), "I want to kill myself".into()),
        ("slot answer mid-flow", mid, "John Miller".into()),
        ("first message, refill (zh)", fresh, "你好，我想查一下续药".into()),
    ]
}

fn percentiles(e: &Engine) {
    println!("per-message time through Engine::handle (10,000 runs each):");
    let mut all = Vec::new();
    for (label, st, msg) in cases(e) {
        let mut times = Vec::with_capacity(10_000);
        for _ in 0..10_000 {
            let ev = Event {
                at: at(),
                input: Input::Patient { text: msg.clone() },
            };
            let t = Instant::now();
            black_box(e.handle(black_box(&st), ev));
            times.push(t.elapsed().as_nanos() as u64);
        }
        times.sort_unstable();
        println!(
            "  {label:<28} median {:>6.1} us   p99 {:>6.1} us",
            times[times.len() / 2] as f64 / 1e3,
            times[times.len() * 99 / 100] as f64 / 1e3
        );
        all.extend(times);
    }
    all.sort_unstable();
    println!(
        "  {:<28} median {:>6.1} us   p99 {:>6.1} us",
        "ALL MESSAGES",
        all[all.len() / 2] as f64 / 1e3,
        all[all.len() * 99 / 100] as f64 / 1e3
    );
}

fn main() {
    let e = engine();
    percentiles(&e);
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("engine_handle");
    for (label, st, msg) in cases(&e) {
        group.bench_function(label, |b| {
            b.iter(|| {
                e.handle(
                    black_box(&st),
                    Event {
                        at: at(),
                        input: Input::Patient { text: msg.clone() },
                    },
                )
            })
        });
    }
    group.finish();
    c.final_summary();
}
