//! `careline eval triage|langid|sets`: the figures of `docs/evaluation.md`, from labelled TSV files or
//! the public sets read in place.

use crate::eval::metrics::{LabelScores, LangScores, Outcomes, confusion_table};
use crate::eval::public::{self, KeywordBaseline};
use crate::eval::{Label, Row};
use crate::lang::Lang;
use crate::text::normalize;
use crate::triage::RiskLevel;
use crate::triage::language::Detector;
use anyhow::Context;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum EvalCommand {
    /// Crisis / distress / clinical / routine: per-label precision, recall and F1, the confusion
    /// matrix, per-language accuracy and the misclassified lines of a `label<TAB>lang<TAB>text` file.
    Triage(TriageArgs),
    /// Language identification: overall and per-language accuracy and the confusions of a
    /// `lang<TAB>text` file.
    Langid(LangidArgs),
    /// List the public sets `--set` reads and how their labels map to Careline's.
    Sets,
}

#[derive(clap::Args)]
pub struct TriageArgs {
    /// The TSV file, or with `--set` the public set's CSV file.
    file: PathBuf,
    /// Read FILE as this public set (see `careline eval sets`).
    #[arg(long)]
    set: Option<String>,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    json: bool,
    /// Model directory.
    #[arg(long, default_value = "models", env = "CARELINE_MODELS")]
    models: PathBuf,
    /// Instead of Careline's triage, measure the keyword baseline: crisis when any prototypical term
    /// of this suicide-risk lexicon CSV (srl_v1_terms.csv) appears, routine otherwise.
    #[arg(long, value_name = "CSV")]
    baseline_lexicon: Option<PathBuf>,
    /// How many misclassified lines to print (the JSON lists them all).
    #[arg(long, default_value_t = 40)]
    show: usize,
    #[command(flatten)]
    embedder: super::EmbedderArgs,
}

#[derive(clap::Args)]
pub struct LangidArgs {
    /// The TSV file, or with `--set` the public set's CSV file.
    file: PathBuf,
    /// Read FILE as this public set (see `careline eval sets`).
    #[arg(long)]
    set: Option<String>,
    /// With `--set lid_lingua_testdata`: sentences, word-pairs or single-words.
    #[arg(long)]
    tier: Option<String>,
    /// Which detector to measure: Careline's, or a library alone for comparison.
    #[arg(long, value_enum, default_value = "careline")]
    detector: Which,
    #[arg(long)]
    json: bool,
    #[arg(long, default_value = "models", env = "CARELINE_MODELS")]
    models: PathBuf,
    #[arg(long, default_value_t = 40)]
    show: usize,
}

#[derive(clap::ValueEnum, Clone, Copy, PartialEq)]
pub enum Which {
    Careline,
    /// lingua 1.8, high accuracy, from our ten languages it knows.
    Lingua,
    /// whatlang 0.18 restricted to our ten languages it knows.
    Whatlang,
}

pub fn run(command: EvalCommand) -> anyhow::Result<ExitCode> {
    match command {
        EvalCommand::Triage(args) => triage(args),
        EvalCommand::Langid(args) => langid(args),
        EvalCommand::Sets => {
            println!("triage (careline eval triage --set NAME FILE.csv):");
            for s in public::TRIAGE_SETS {
                println!("  {:<28} {}", s.name, s.measures);
            }
            println!("language identification (careline eval langid --set NAME FILE.csv):");
            for s in public::LANGID_SETS {
                println!("  {:<28} {}", s.name, s.measures);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8 text", path.display()))
}

fn bad_line(path: &Path, e: crate::eval::BadLine) -> anyhow::Error {
    anyhow::anyhow!("{}:{}", path.display(), e)
}

#[derive(Serialize)]
struct Miss<'a> {
    line: usize,
    lang: Option<Lang>,
    expected: String,
    got: String,
    text: &'a str,
    /// For triage: the phrases that raised the verdict.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    evidence: Vec<String>,
}

/// `lang:phrase`, and why it counted when a rule says (`en:suicidal (third party: she)`).
fn evidence_note(e: &crate::triage::Evidence) -> String {
    match &e.context {
        Some(context) => format!("{}:{} ({context})", e.lang, e.phrase),
        None => format!("{}:{}", e.lang, e.phrase),
    }
}

#[derive(Serialize)]
struct TriageReport<'a> {
    n: usize,
    accuracy: f64,
    labels: BTreeMap<&'static str, LabelScores>,
    /// Routine messages a human would have been given: the bot-containment cost.
    routine_to_human: f64,
    confusion: BTreeMap<&'static str, BTreeMap<&'static str, usize>>,
    per_lang: BTreeMap<Lang, LangScores>,
    misclassified: Vec<Miss<'a>>,
}

/// A message's label and the evidence behind it.
type Classify = Box<dyn Fn(&str) -> (Label, Vec<String>)>;

fn triage(args: TriageArgs) -> anyhow::Result<ExitCode> {
    let text = read(&args.file)?;
    let rows = match &args.set {
        Some(set) => public::triage_rows(set, &text)?,
        None => crate::eval::read_triage(&text).map_err(|e| bad_line(&args.file, e))?,
    };
    let classify: Classify = match &args.baseline_lexicon {
        Some(path) => {
            let baseline = KeywordBaseline::from_csv(&read(path)?)?;
            Box::new(move |t| (if baseline.is_crisis(t) { Label::Crisis } else { Label::Routine }, vec![]))
        }
        None => {
            let triage = super::load_triage(&args.models, &args.embedder)?;
            Box::new(move |t| {
                let a = triage.assess(t, &normalize(t));
                match a.risk {
                    None => (Label::Routine, vec![]),
                    Some(r) => {
                        let label = match r.level {
                            RiskLevel::Crisis => Label::Crisis,
                            RiskLevel::Distress => Label::Distress,
                            RiskLevel::Clinical => Label::Clinical,
                        };
                        (label, r.evidence.iter().map(evidence_note).collect())
                    }
                }
            })
        }
    };
    let mut outcomes = Outcomes { pairs: vec![] };
    let mut misses = Vec::new();
    for row in &rows {
        let (got, evidence) = classify(&row.text);
        outcomes.pairs.push((row.label, got, row.lang));
        if got != row.label {
            misses.push(miss(row, got.to_string(), evidence));
        }
    }
    let routine = outcomes.pairs.iter().filter(|(t, _, _)| *t == Label::Routine).count();
    let routine_to_human = outcomes
        .pairs
        .iter()
        .filter(|(t, p, _)| *t == Label::Routine && *p != Label::Routine)
        .count() as f64
        / routine.max(1) as f64;
    let report = TriageReport {
        n: outcomes.n(),
        accuracy: outcomes.accuracy(),
        labels: Label::ALL.iter().map(|l| (l.name(), outcomes.scores(*l))).collect(),
        routine_to_human,
        confusion: outcomes
            .confusion()
            .into_iter()
            .map(|(t, row)| (t.name(), row.into_iter().map(|(p, n)| (p.name(), n)).collect()))
            .collect(),
        per_lang: outcomes.per_lang(),
        misclassified: misses,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} messages, accuracy {:.3}", report.n, report.accuracy);
    println!(
        "{:<10}{:>10}{:>10}{:>10}{:>10}{:>10}",
        "label", "precision", "recall", "f1", "support", "predicted"
    );
    for l in Label::ALL {
        let s = &report.labels[l.name()];
        println!(
            "{:<10}{:>10.3}{:>10.3}{:>10.3}{:>10}{:>10}",
            l.name(),
            s.precision,
            s.recall,
            s.f1,
            s.support,
            s.predicted
        );
    }
    println!(
        "routine messages sent to a human: {:.1}% of {routine}",
        100.0 * report.routine_to_human
    );
    println!("\nconfusion (rows: true label, columns: triage's verdict)");
    print!("{}", confusion_table(&Label::ALL, &outcomes.confusion()));
    print_per_lang(&report.per_lang);
    print_misses(&report.misclassified, args.show);
    Ok(ExitCode::SUCCESS)
}

fn miss<'a, L>(row: &'a Row<L>, got: String, evidence: Vec<String>) -> Miss<'a>
where
    L: std::fmt::Display,
{
    Miss {
        line: row.line,
        lang: row.lang,
        expected: row.label.to_string(),
        got,
        text: &row.text,
        evidence,
    }
}

fn print_per_lang(per_lang: &BTreeMap<Lang, LangScores>) {
    println!("\nper language");
    for (lang, s) in per_lang {
        println!("  {:<4}{:>6} messages  accuracy {:.3}", lang.code(), s.n, s.accuracy);
    }
}

fn print_misses(misses: &[Miss], show: usize) {
    if misses.is_empty() {
        return;
    }
    println!("\nmisclassified ({} in all, first {}):", misses.len(), show.min(misses.len()));
    for m in misses.iter().take(show) {
        let text: String = m.text.chars().take(120).collect();
        let why = if m.evidence.is_empty() {
            String::new()
        } else {
            format!("  [{}]", m.evidence.join(", "))
        };
        println!(
            "  line {:>5} {:<3} expected {:<8} got {:<8} {text}{why}",
            m.line,
            m.lang.map_or("", |l| l.code()),
            m.expected,
            m.got
        );
    }
}

#[derive(Serialize)]
struct LangidReport<'a> {
    n: usize,
    accuracy: f64,
    per_lang: BTreeMap<Lang, LangScores>,
    /// Per true language, what it was taken for and how often ("none" = no verdict).
    confusions: BTreeMap<Lang, BTreeMap<String, usize>>,
    misclassified: Vec<Miss<'a>>,
}

fn langid(args: LangidArgs) -> anyhow::Result<ExitCode> {
    let text = read(&args.file)?;
    let rows = match &args.set {
        Some(set) => public::langid_rows(set, &text, args.tier.as_deref())?,
        None => crate::eval::read_langid(&text).map_err(|e| bad_line(&args.file, e))?,
    };
    let detect = detector(args.detector, &args.models)?;
    let mut outcomes = Outcomes { pairs: vec![] };
    let mut confusions: BTreeMap<Lang, BTreeMap<String, usize>> = BTreeMap::new();
    let mut misses = Vec::new();
    for row in &rows {
        let got = detect(&row.text);
        // No verdict (`None`) counts as wrong.
        outcomes.pairs.push((Some(row.label), got, row.lang));
        if got != Some(row.label) {
            let name = got.map_or("none".to_string(), |l| l.code().to_string());
            *confusions.entry(row.label).or_default().entry(name.clone()).or_default() += 1;
            misses.push(miss(row, name, vec![]));
        }
    }
    let report = LangidReport {
        n: outcomes.n(),
        accuracy: outcomes.accuracy(),
        per_lang: outcomes.per_lang(),
        confusions,
        misclassified: misses,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} messages, accuracy {:.3}", report.n, report.accuracy);
    print_per_lang(&report.per_lang);
    println!("\nconfusions (true -> taken for: count)");
    for (lang, row) in &report.confusions {
        let list: Vec<String> = row.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        println!("  {:<4}-> {}", lang.code(), list.join(", "));
    }
    print_misses(&report.misclassified, args.show);
    Ok(ExitCode::SUCCESS)
}

type Detect = Box<dyn Fn(&str) -> Option<Lang>>;

fn detector(which: Which, models: &Path) -> anyhow::Result<Detect> {
    Ok(match which {
        Which::Careline => {
            let d = Detector::load(&models.join("langid"))?;
            Box::new(move |t| d.detect(t, &normalize(t)).map(|x| x.lang))
        }
        Which::Lingua => {
            let d = Detector::lingua_alone();
            Box::new(move |t| d.detect_language_of(t).and_then(Detector::from_lingua))
        }
        Which::Whatlang => {
            use whatlang::Lang as W;
            let d =
                whatlang::Detector::with_allowlist(vec![W::Eng, W::Spa, W::Cmn, W::Vie, W::Kor, W::Tgl, W::Rus, W::Ara, W::Fra, W::Por]);
            Box::new(move |t| {
                d.detect_lang(t).and_then(|l| {
                    Some(match l {
                        W::Eng => Lang::En,
                        W::Spa => Lang::Es,
                        W::Cmn => Lang::Zh,
                        W::Vie => Lang::Vi,
                        W::Kor => Lang::Ko,
                        W::Tgl => Lang::Tl,
                        W::Rus => Lang::Ru,
                        W::Ara => Lang::Ar,
                        W::Fra => Lang::Fr,
                        W::Por => Lang::Pt,
                        _ => return None,
                    })
                })
            })
        }
    })
}
