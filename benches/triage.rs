//! Triage of one message (normalisation, language identification, every risk lexicon and pattern):
//! prints the median and p99 over chat messages in all eleven languages and the memory the loaded
//! models take, then runs the criterion benchmarks. Target (issue 3): median under 50 microseconds.
//!
//! Run: `cargo bench --bench triage`

use careline::text::normalize;
use careline::triage::Triage;
use criterion::Criterion;
mod common;

use common::rss_kb;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

/// Messages as patients type them: routine, clinical, crisis, short, in each language.
const MESSAGES: [&str; 44] = [
    "is my prescription ready for pickup",
    "what time does the pharmacy close today",
    "can i take ibuprofen with my blood pressure meds",
    "i want to kill myself",
    "hola quiero saber si mi receta esta lista",
    "necesito una cita con el doctor",
    "cuantas pastillas debo tomar",
    "ya no quiero vivir",
    "我想查一下我的处方",
    "药房几点关门",
    "这个药有什么副作用",
    "我不想活了",
    "toi muon dat lich hen voi bac si",
    "thuốc của tôi đã sẵn sàng chưa",
    "tac dung phu cua thuoc nay la gi",
    "toi muon chet",
    "처방전 리필 상태를 알고 싶어요",
    "예약을 변경하고 싶습니다",
    "이 약 부작용이 뭐예요",
    "죽고 싶어요",
    "gusto ko po malaman kung handa na ang gamot ko",
    "magkano po ang bayad",
    "pwede po ba inumin ito kasama ng alak",
    "gusto ko nang mamatay",
    "когда будет готов мой рецепт",
    "хочу записаться к врачу",
    "какая дозировка этого лекарства",
    "я хочу покончить с собой",
    "أريد أن أعرف إذا كان دوائي جاهزا",
    "متى تفتح الصيدلية",
    "ما هي الآثار الجانبية لهذا الدواء",
    "أريد أن أقتل نفسي",
    "je voudrais savoir si mon ordonnance est prête",
    "quels sont vos horaires",
    "est ce que je peux prendre ce medicament avec de l alcool",
    "je veux mourir",
    "mwen bezwen konnen si medikaman mwen pare",
    "ki le famasi a ouvri",
    "konbyen grenn pou m pran",
    "mwen vle touye tet mwen",
    "quero saber se minha receita esta pronta",
    "preciso marcar uma consulta",
    "quantos comprimidos posso tomar",
    "eu quero me matar",
];

fn main() {
    let before = rss_kb();
    let started = Instant::now();
    let triage = Triage::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models")).unwrap();
    let load = started.elapsed();
    let after = rss_kb();
    println!(
        "models loaded in {:.2} s; resident memory {:.1} MB before, {:.1} MB after (+{:.1} MB)",
        load.as_secs_f64(),
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after.saturating_sub(before)) as f64 / 1024.0
    );
    let mut times = Vec::new();
    for _ in 0..500 {
        for msg in MESSAGES {
            let t = Instant::now();
            black_box(triage.assess(msg, &normalize(msg)));
            times.push(t.elapsed().as_nanos() as u64);
        }
    }
    times.sort_unstable();
    // lingua loads its n-gram models on first use: the resident size after the runs is the real one.
    println!(
        "resident memory after the runs: {:.1} MB (+{:.1} MB over the process before loading)",
        rss_kb() as f64 / 1024.0,
        rss_kb().saturating_sub(before) as f64 / 1024.0
    );
    println!(
        "triage of one message ({} messages x 500 runs): median {:.1} us, p99 {:.1} us",
        MESSAGES.len(),
        times[times.len() / 2] as f64 / 1e3,
        times[times.len() * 99 / 100] as f64 / 1e3
    );
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("triage_assess");
    for (label, msg) in [
        ("routine en", MESSAGES[0]),
        ("crisis es", MESSAGES[7]),
        ("routine ht", MESSAGES[36]),
        ("crisis ko", MESSAGES[19]),
    ] {
        group.bench_function(label, |b| b.iter(|| triage.assess(black_box(msg), &normalize(black_box(msg)))));
    }
    group.finish();
    c.final_summary();
}
