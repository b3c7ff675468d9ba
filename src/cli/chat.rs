//! `careline chat`: talk to the flows in a terminal. Beside each reply it shows the chat's state,
//! language and any hand-off with its whisper, so an analyst can try a flow by hand.

use crate::cli::{DataArgs, load_runner, runtime};
use crate::engine::{AgentEvent, ChatState, Effect, Input, ReplyKind};
use crate::lang::Lang;
use chrono::{DateTime, Utc};
use std::io::{BufRead, Write};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ChatArgs {
    /// The page's language hint (en, es, zh, vi, ...).
    #[arg(long)]
    lang: Option<String>,
    /// Pretend it is this time (RFC 3339), to try after-hours behaviour.
    #[arg(long)]
    at: Option<String>,
    #[command(flatten)]
    data: DataArgs,
}

const HELP: &str = "commands: /lang CODE  /agent  /accept  /rate N  /state  /quit   (anything else is a patient message)";

pub fn run(args: ChatArgs) -> anyhow::Result<ExitCode> {
    let runner = load_runner(&args.data)?;
    let rt = runtime()?;
    let fixed_at: Option<DateTime<Utc>> = match &args.at {
        Some(s) => Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|e| anyhow::anyhow!("--at {s}: {e}"))?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    let now = || fixed_at.unwrap_or_else(Utc::now);
    let hint = match &args.lang {
        Some(code) => Some(Lang::from_code(code).ok_or_else(|| anyhow::anyhow!("--lang {code}: not a language Careline knows"))?),
        None => None,
    };
    println!("Careline chat: {} flows loaded. {HELP}", runner.engine.flows.flows.len());
    let (mut state, effects) = rt.block_on(runner.turn(&runner.engine.new_chat(), Input::Start { hint }, now()));
    show(&state, &effects);
    let stdin = std::io::stdin();
    loop {
        print!("you> ");
        std::io::stdout().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim();
        let input = match line.split_once(' ').map(|(a, b)| (a, b.trim())).unwrap_or((line, "")) {
            ("", _) => continue,
            ("/quit", _) => break,
            ("/state", _) => {
                println!("{}", serde_json::to_string_pretty(&state)?);
                continue;
            }
            ("/lang", code) => match Lang::from_code(code) {
                Some(l) => Input::ChooseLanguage(l),
                None => {
                    println!("  (unknown language `{code}`)");
                    continue;
                }
            },
            ("/agent", _) => Input::RequestAgent,
            ("/accept", _) => Input::Agent(AgentEvent::Accepted {
                agent: "demo-agent".into(),
            }),
            ("/rate", n) => Input::Rate(n.parse().unwrap_or(0)),
            (cmd, _) if cmd.starts_with('/') => {
                println!("  {HELP}");
                continue;
            }
            _ => Input::Patient { text: line.to_string() },
        };
        let (s, effects) = rt.block_on(runner.turn(&state, input, now()));
        state = s;
        show(&state, &effects);
    }
    Ok(ExitCode::SUCCESS)
}

fn show(state: &ChatState, effects: &[Effect]) {
    for e in effects {
        match e {
            Effect::Reply {
                text,
                kind: ReplyKind::Crisis,
            } => println!("bot!> {text}"),
            Effect::Reply { text, .. } => println!("bot > {text}"),
            Effect::RunAction { name, .. } => println!("      [lookup {name}]"),
            Effect::Handoff(h) => println!(
                "      [HAND-OFF reason={} priority={:?} queue={} phone={}]",
                h.reason, h.priority, h.queue, h.phone_escalation
            ),
            Effect::Whisper(w) => {
                println!("      [whisper to agent] {}", w.summary);
                if let Some(a) = &w.alert {
                    println!("      [ALERT] {a}");
                }
                for (id, title, _) in &w.suggestions {
                    println!("      [suggest] {id}: {title}");
                }
            }
            Effect::Callback { queue, .. } => println!("      [call-back request for {queue}]"),
            Effect::Resolved { flow } => println!("      [resolved by bot: {flow}]"),
            Effect::LanguageChanged { language } => println!("      [language -> {language}]"),
            Effect::Audit(a) => println!("      [audit {:?}] {}", a.kind, a.detail),
            Effect::Rating { score } => println!("      [rating {score}]"),
            Effect::Closed { by } => println!("      [chat closed by {by}]"),
        }
    }
    let at = state
        .active
        .as_ref()
        .map(|a| format!("{} {:?}", a.flow, a.phase))
        .unwrap_or_else(|| "-".into());
    println!(
        "      state: {:?} | lang {} ({:?}) | at {at} | no-progress {}",
        state.status, state.language, state.language_source, state.no_progress
    );
}
