//! `careline loadtest`: drives the real server over its real HTTP and WebSocket API on loopback and
//! prints what a health plan needs to size a deployment.
//!
//! It starts `careline serve` as a child process (its own SQLite file in a temporary directory, its
//! memory read from /proc), then:
//! 1. opens N patient chats, each with its WebSocket, and reads the server's memory;
//! 2. connects simulated agents who take every offer, reply once and close with a review;
//! 3. sends patient messages open-loop at a fixed rate through real flows, every M-th a crisis in one
//!    of four languages, timing each message to its stored bot reply and each crisis to the offer on
//!    an agent's screen (latency is measured from when a message was due, so a stalled server cannot
//!    hide its queueing);
//! 4. measures the full path's closed-loop throughput, then a bare axum WebSocket echo server's on the
//!    same machine in the same run, and compares the two.

mod echo;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[derive(clap::Args, Clone)]
pub struct LoadArgs {
    /// Patient chats held open, each with its WebSocket.
    #[arg(long, default_value_t = 2000)]
    pub chats: usize,
    /// Patient messages per second in the fixed-rate phase.
    #[arg(long, default_value_t = 2000)]
    pub rate: u32,
    /// Length of the fixed-rate phase, seconds (the throughput phases take half as long each).
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Simulated agents (all languages, all skills).
    #[arg(long, default_value_t = 16)]
    pub agents: usize,
    /// Every Nth message in the fixed-rate phase is a crisis.
    #[arg(long, default_value_t = 100)]
    pub crisis_every: u64,
    /// Concurrent clients in the closed-loop throughput phases.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// The server's sentence model (`serve --embedder`): a directory, or `none` for the lexicons
    /// alone. Default: the server's own default (on when the model is installed).
    #[arg(long)]
    pub embedder: Option<String>,
    /// Run only the echo server (used by the load tool itself).
    #[arg(long, hide = true)]
    pub echo_server: bool,
}

/// Routine messages the shipped flows answer without a person, in the four flow languages.
const ROUTINE: [&str; 8] = [
    "what are your hours?",
    "where is the clinic?",
    "¿cuál es su horario?",
    "¿dónde queda la clínica?",
    "你们几点开门",
    "诊所在哪里",
    "mấy giờ mở cửa",
    "phòng khám ở đâu",
];
const CRISIS: [&str; 4] = ["I want to kill myself", "quiero suicidarme", "我想自杀", "tôi muốn tự tử"];

pub fn run(args: LoadArgs) -> anyhow::Result<ExitCode> {
    raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if args.echo_server {
        runtime.block_on(echo::serve())?;
        return Ok(ExitCode::SUCCESS);
    }
    let report = runtime.block_on(drive(&args))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}

/// Ten thousand sockets need more than the usual 1024 descriptors: raise the soft limit to the hard one.
fn raise_fd_limit() {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit on a properly initialised struct for this process only.
    unsafe {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// A child process that printed `... listening on http://ADDR`.
struct Spawned {
    child: Child,
    base: String,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Spawned> {
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().context("starting a child process")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("child stdout")?).read_line(&mut line)?;
    let base = line.trim().rsplit(' ').next().unwrap_or_default().to_string();
    anyhow::ensure!(base.starts_with("http://"), "the child did not start: {line}");
    Ok(Spawned { child, base })
}

/// CPU time (user + system) a process has used, in seconds, from /proc (clock ticks of 1/100 s).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may hold spaces; the fields after its closing parenthesis are fixed.
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// (resident, peak) memory of a process in MB, from /proc.
fn memory_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[derive(Debug, Default, serde::Serialize)]
pub struct Percentiles {
    pub count: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    fn of(mut micros: Vec<u64>) -> Percentiles {
        if micros.is_empty() {
            return Percentiles::default();
        }
        micros.sort_unstable();
        let at = |q: f64| micros[((micros.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
        Percentiles {
            count: micros.len(),
            p50_ms: at(0.5),
            p90_ms: at(0.9),
            p99_ms: at(0.99),
            max_ms: micros[micros.len() - 1] as f64 / 1000.0,
        }
    }
}

#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    pub chats_open: usize,
    pub websockets_open: usize,
    pub server_rss_idle_mb: f64,
    pub server_rss_with_chats_mb: f64,
    pub rate_target: u32,
    pub rate_achieved: f64,
    pub messages_sent: u64,
    pub message_errors: u64,
    pub message_to_stored_reply: Percentiles,
    pub crisis_messages: u64,
    pub crisis_to_agent_offer: Percentiles,
    pub handoffs_closed_by_agents: u64,
    /// Patient messages sent over the chat's WebSocket (like the echo), each answered once stored.
    pub throughput_full_path_per_s: f64,
    /// Server CPU (user + system) per message in that closed-loop phase, microseconds.
    pub full_path_server_cpu_us: f64,
    /// The same over REST (`POST .../messages`, one HTTP request per message).
    pub throughput_full_path_rest_per_s: f64,
    pub full_path_rest_server_cpu_us: f64,
    pub throughput_echo_per_s: f64,
    pub echo_server_cpu_us: f64,
    pub full_path_over_echo: f64,
    pub server_rss_end_mb: f64,
    pub server_peak_mb: f64,
}

struct Shared {
    http: reqwest::Client,
    base: String,
    crisis_sent: Mutex<HashMap<String, Instant>>,
    crisis_latency: Mutex<Vec<u64>>,
    closed_by_agents: AtomicU64,
}

async fn post(s: &Shared, path: &str, token: &str, body: Value) -> anyhow::Result<Value> {
    let resp = s
        .http
        .post(format!("{}{path}", s.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "{path}: {status} {v}");
    Ok(v)
}

/// A patient message: only the status matters to the load tool, so the body is read but not parsed
/// (the tool shares the machine's two cores with the server; parsing would slow the server's figures).
async fn send(s: &Shared, chat: &str, token: &str, text: &str) -> anyhow::Result<()> {
    let resp = s
        .http
        .post(format!("{}/api/v1/chats/{chat}/messages", s.base))
        .bearer_auth(token)
        .json(&json!({"text": text}))
        .send()
        .await?;
    let status = resp.status();
    let body = resp.bytes().await?;
    anyhow::ensure!(status.is_success(), "message: {status} {}", String::from_utf8_lossy(&body));
    Ok(())
}

async fn drive(args: &LoadArgs) -> anyhow::Result<Report> {
    let dir = std::env::temp_dir().join(format!("careline-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("serve.yaml");
    std::fs::write(&config, agents_yaml(args.agents))?;
    let db = dir.join("careline.db");
    let embedder = args
        .embedder
        .clone()
        .unwrap_or_else(|| crate::semantic::DEFAULT_MODEL_DIR.to_string());
    let server = spawn(
        &[
            "serve",
            "--embedder",
            &embedder,
            "--listen",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap_or_default(),
            "--database",
            db.to_str().unwrap_or_default(),
            "--per-ip-per-minute",
            "0",
            "--per-chat-per-minute",
            "0",
            "--max-open-chats-per-ip",
            "0",
            "--clock-start",
            "2026-11-24T15:00:00Z",
        ],
        &[("CARELINE_LOG", "careline=warn")],
    )?;
    let pid = server.child.id();
    let mut report = Report {
        rate_target: args.rate,
        server_rss_idle_mb: memory_mb(pid).0,
        ..Report::default()
    };
    let shared = Arc::new(Shared {
        http: reqwest::Client::builder().pool_max_idle_per_host(1024).build()?,
        base: server.base.clone(),
        crisis_sent: Mutex::new(HashMap::new()),
        crisis_latency: Mutex::new(Vec::new()),
        closed_by_agents: AtomicU64::new(0),
    });

    // 1. Open chats, each with its WebSocket.
    eprintln!("loadtest: opening {} chats with WebSockets", args.chats);
    let chats = open_chats(&shared, args.chats).await?;
    let sockets = Arc::new(AtomicUsize::new(0));
    for (id, token) in &chats {
        let url = format!("{}/api/v1/chats/{id}/ws?token={token}", shared.base.replace("http://", "ws://"));
        let (ws, _) = tokio_tungstenite::connect_async(url).await.context("patient WebSocket")?;
        let sockets = sockets.clone();
        sockets.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let (_, mut read) = ws.split();
            while let Some(Ok(_)) = read.next().await {}
            sockets.fetch_sub(1, Ordering::Relaxed);
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    report.chats_open = chats.len();
    report.websockets_open = sockets.load(Ordering::Relaxed);
    report.server_rss_with_chats_mb = memory_mb(pid).0;
    eprintln!(
        "loadtest: {} chats open, server at {:.0} MB",
        chats.len(),
        report.server_rss_with_chats_mb
    );

    // 2. Agents.
    for i in 0..args.agents {
        let token = agent_token(i);
        let url = format!("{}/api/v1/agent/ws?token={token}", shared.base.replace("http://", "ws://"));
        let (ws, _) = tokio_tungstenite::connect_async(url).await.context("agent WebSocket")?;
        tokio::spawn(agent_loop(shared.clone(), ws, token.clone()));
        post(&shared, "/api/v1/agent/status", &token, json!({"status": "available"})).await?;
    }

    // 3. Fixed rate.
    eprintln!("loadtest: {} messages/s for {} s", args.rate, args.seconds);
    let (sent, errors, latency, crisis, elapsed) = fixed_rate(&shared, &chats, args).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    report.messages_sent = sent;
    report.message_errors = errors;
    report.rate_achieved = sent as f64 / elapsed;
    report.message_to_stored_reply = Percentiles::of(latency);
    report.crisis_messages = crisis;
    report.crisis_to_agent_offer = Percentiles::of(std::mem::take(&mut *shared.crisis_latency.lock().expect("lock")));
    report.handoffs_closed_by_agents = shared.closed_by_agents.load(Ordering::Relaxed);

    // 4. Throughput: the full path, then the bare echo server.
    let phase = Duration::from_secs((args.seconds / 2).max(3));
    eprintln!(
        "loadtest: closed-loop throughput, {} clients, {:?} each side",
        args.concurrency, phase
    );
    (report.throughput_full_path_rest_per_s, report.full_path_rest_server_cpu_us) =
        measured(pid, rest_throughput(&shared, &chats, args.concurrency, phase)).await?;
    (report.throughput_full_path_per_s, report.full_path_server_cpu_us) =
        measured(pid, websocket_throughput(&shared.base, &chats, args.concurrency, phase)).await?;
    let (rss, peak) = memory_mb(pid);
    report.server_rss_end_mb = rss;
    report.server_peak_mb = peak;
    drop(server);
    let echo = spawn(&["loadtest", "--echo-server"], &[])?;
    (report.throughput_echo_per_s, report.echo_server_cpu_us) =
        measured(echo.child.id(), echo_throughput(&echo.base, args.concurrency, phase)).await?;
    report.full_path_over_echo = report.throughput_full_path_per_s / report.throughput_echo_per_s.max(1.0);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(report)
}

fn agent_token(i: usize) -> String {
    format!("loadtest-agent-token-{i:06}")
}

fn agents_yaml(n: usize) -> String {
    let mut y = String::from("offer_timeout_seconds: 30\nagents:\n");
    for i in 0..n {
        y.push_str(&format!(
            "  - id: agent{i}\n    token: {}\n    languages: [en, es, zh, vi, ko, tl, ru, ar, fr, ht, pt]\n    skills: [general, scheduling, billing, pharmacy, nurse]\n    capacity: 10\n",
            agent_token(i)
        ));
    }
    y
}

async fn open_chats(s: &Arc<Shared>, n: usize) -> anyhow::Result<Vec<(String, String)>> {
    let opened = futures_util::stream::iter(0..n)
        .map(|i| {
            let s = s.clone();
            async move {
                let lang = ["en", "es", "zh", "vi"][i % 4];
                let resp = s
                    .http
                    .post(format!("{}/api/v1/chats", s.base))
                    .json(&json!({"lang": lang}))
                    .send()
                    .await?;
                let v: Value = resp.json().await?;
                Ok::<_, anyhow::Error>((
                    v["chat_id"].as_str().unwrap_or_default().to_string(),
                    v["token"].as_str().unwrap_or_default().to_string(),
                ))
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
    opened.into_iter().collect()
}

/// A simulated agent: takes every offer, replies once, closes with a review of the hand-off.
async fn agent_loop(
    s: Arc<Shared>,
    ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    token: String,
) {
    let (_, mut read) = ws.split();
    while let Some(Ok(msg)) = read.next().await {
        let Message::Text(t) = msg else { continue };
        let Ok(v) = serde_json::from_str::<Value>(&t) else { continue };
        if v["type"] != "offer" {
            continue;
        }
        let chat = v["chat"].as_str().unwrap_or_default().to_string();
        if let Some(t0) = s.crisis_sent.lock().expect("lock").remove(&chat) {
            s.crisis_latency.lock().expect("lock").push(t0.elapsed().as_micros() as u64);
        }
        let (s, token) = (s.clone(), token.clone());
        tokio::spawn(async move {
            if post(&s, &format!("/api/v1/agent/chats/{chat}/take"), &token, json!({}))
                .await
                .is_err()
            {
                return;
            }
            let _ = post(
                &s,
                &format!("/api/v1/agent/chats/{chat}/messages"),
                &token,
                json!({"text": "Hello, I am here to help."}),
            )
            .await;
            let review = json!({"disposition": "resolved", "handoff_needed": true, "reason_right": true});
            if post(&s, &format!("/api/v1/agent/chats/{chat}/close"), &token, review).await.is_ok() {
                s.closed_by_agents.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
}

async fn fixed_rate(s: &Arc<Shared>, chats: &[(String, String)], args: &LoadArgs) -> (u64, u64, Vec<u64>, u64, f64) {
    let total = u64::from(args.rate) * args.seconds;
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.rate.max(1)));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let errors = Arc::new(AtomicU64::new(0));
    // Crisis messages each use a chat of their own (it leaves the bot); routine ones round-robin the rest.
    let crisis_count = total / args.crisis_every.max(1);
    let (crisis_chats, routine_chats) = chats.split_at((crisis_count as usize).min(chats.len() / 2));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    let mut crisis_sent = 0u64;
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let crisis = args.crisis_every > 0 && i % args.crisis_every == args.crisis_every - 1 && (crisis_sent as usize) < crisis_chats.len();
        let (chat, text) = if crisis {
            crisis_sent += 1;
            (&crisis_chats[crisis_sent as usize - 1], CRISIS[i as usize % CRISIS.len()])
        } else if routine_chats.is_empty() {
            continue;
        } else {
            (
                &routine_chats[i as usize % routine_chats.len()],
                ROUTINE[i as usize % ROUTINE.len()],
            )
        };
        let (id, token) = chat.clone();
        let (s, latencies, errors) = (s.clone(), latencies.clone(), errors.clone());
        if crisis {
            s.crisis_sent.lock().expect("lock").insert(id.clone(), due);
        }
        tasks.push(tokio::spawn(async move {
            match send(&s, &id, &token, text).await {
                Ok(_) => latencies.lock().expect("lock").push(due.elapsed().as_micros() as u64),
                Err(e) => {
                    if errors.fetch_add(1, Ordering::Relaxed) < 3 {
                        eprintln!("loadtest: {e:#}");
                    }
                }
            }
        }));
    }
    let sent = tasks.len() as u64;
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let latencies = std::mem::take(&mut *latencies.lock().expect("lock"));
    (sent, errors.load(Ordering::Relaxed), latencies, crisis_sent, elapsed)
}

/// Runs a closed-loop phase (its messages per second and how many messages it counted) and returns
/// the rate with the process's CPU time per message, in microseconds.
async fn measured(pid: u32, phase: impl std::future::Future<Output = anyhow::Result<(f64, u64)>>) -> anyhow::Result<(f64, f64)> {
    let cpu0 = cpu_seconds(pid);
    let (rate, messages) = phase.await?;
    Ok((rate, (cpu_seconds(pid) - cpu0) * 1e6 / messages.max(1) as f64))
}

/// Waits for a phase's clients; its messages per second (over at least the phase's length) and count.
async fn finish(tasks: Vec<tokio::task::JoinHandle<()>>, done: &AtomicU64, phase: Duration) -> (f64, u64) {
    let start = Instant::now();
    for t in tasks {
        let _ = t.await;
    }
    let n = done.load(Ordering::Relaxed);
    (n as f64 / start.elapsed().as_secs_f64().max(phase.as_secs_f64()), n)
}

/// Closed-loop messages per second over REST, and how many messages that was.
async fn rest_throughput(s: &Arc<Shared>, chats: &[(String, String)], clients: usize, phase: Duration) -> anyhow::Result<(f64, u64)> {
    let done = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + phase;
    let mut tasks = Vec::new();
    for (i, (id, token)) in chats.iter().rev().take(clients).enumerate() {
        let (s, done, id, token) = (s.clone(), done.clone(), id.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut k = i;
            while Instant::now() < end {
                k += 1;
                if post(
                    &s,
                    &format!("/api/v1/chats/{id}/messages"),
                    &token,
                    json!({"text": ROUTINE[k % ROUTINE.len()]}),
                )
                .await
                .is_ok()
                {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    Ok(finish(tasks, &done, phase).await)
}

/// Closed-loop messages per second sent over the chats' own WebSockets, each counted when the server
/// answers that it is stored (its bot replies arrive on the same socket), and how many that was.
async fn websocket_throughput(base: &str, chats: &[(String, String)], clients: usize, phase: Duration) -> anyhow::Result<(f64, u64)> {
    let done = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + phase;
    let mut tasks = Vec::new();
    // Other chats than the REST phase used: those may be awaiting a rating by now.
    for (i, (id, token)) in chats.iter().rev().skip(clients).take(clients).enumerate() {
        let url = format!("{}/api/v1/chats/{id}/ws?token={token}", base.replace("http://", "ws://"));
        // As a browser does: small frames are sent at once (no Nagle delay).
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
            .await
            .context("patient WebSocket")?;
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let mut k = i;
            'sending: while Instant::now() < end {
                k += 1;
                let event = json!({"type": "message", "text": ROUTINE[k % ROUTINE.len()]}).to_string();
                if ws.send(Message::Text(event.into())).await.is_err() {
                    break;
                }
                // Bot replies and status notices may come first; the answer ends the message.
                loop {
                    match ws.next().await {
                        Some(Ok(Message::Text(t))) if t.starts_with(r#"{"type":"sent""#) => {
                            done.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Some(Ok(Message::Text(t))) if t.starts_with(r#"{"type":"error""#) => break 'sending,
                        Some(Ok(_)) => {}
                        _ => break 'sending,
                    }
                }
            }
        }));
    }
    Ok(finish(tasks, &done, phase).await)
}

async fn echo_throughput(base: &str, clients: usize, phase: Duration) -> anyhow::Result<(f64, u64)> {
    let done = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + phase;
    let mut tasks = Vec::new();
    for i in 0..clients {
        let url = format!("{}/echo", base.replace("http://", "ws://"));
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true).await?;
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let mut k = i;
            while Instant::now() < end {
                k += 1;
                if ws.send(Message::Text(ROUTINE[k % ROUTINE.len()].into())).await.is_err() {
                    break;
                }
                match ws.next().await {
                    Some(Ok(_)) => {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => break,
                }
            }
        }));
    }
    Ok(finish(tasks, &done, phase).await)
}

fn print_report(r: &Report) {
    let p = |x: &Percentiles| {
        format!(
            "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms (n={})",
            x.p50_ms, x.p90_ms, x.p99_ms, x.max_ms, x.count
        )
    };
    println!("Careline load test (server and load tool on this machine)");
    println!(
        "  open chats with WebSockets   {} chats, {} sockets",
        r.chats_open, r.websockets_open
    );
    println!(
        "  server memory                {:.0} MB idle, {:.0} MB with the chats open, {:.0} MB peak",
        r.server_rss_idle_mb, r.server_rss_with_chats_mb, r.server_peak_mb
    );
    println!(
        "  fixed rate                   {} msg/s target, {:.0} msg/s achieved, {} sent, {} errors",
        r.rate_target, r.rate_achieved, r.messages_sent, r.message_errors
    );
    println!("  message -> stored bot reply  {}", p(&r.message_to_stored_reply));
    println!(
        "  crisis -> agent offer        {} ({} crisis messages)",
        p(&r.crisis_to_agent_offer),
        r.crisis_messages
    );
    println!("  hand-offs closed by agents   {}", r.handoffs_closed_by_agents);
    println!(
        "  throughput, full path, REST  {:.0} msg/s, server CPU {:.1} µs per message",
        r.throughput_full_path_rest_per_s, r.full_path_rest_server_cpu_us
    );
    println!(
        "  throughput, full path, WS    {:.0} msg/s, server CPU {:.1} µs per message",
        r.throughput_full_path_per_s, r.full_path_server_cpu_us
    );
    println!(
        "  throughput, bare WS echo     {:.0} msg/s, server CPU {:.1} µs per message",
        r.throughput_echo_per_s, r.echo_server_cpu_us
    );
    println!("  full path (WS) / echo        {:.2}", r.full_path_over_echo);
}
