//! One configuration for `careline serve`: built-in defaults, then a YAML file, then `CARELINE_*`
//! environment variables, then command-line flags (clap merges the last two, flags winning).
//! A bad file is reported like a bad flow: every problem with file, line and fix.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::lang::Lang;
use crate::queue::AgentProfile;
pub use crate::users::Role;
use crate::yaml::{self, MapReader, Node};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the server does when nobody who speaks a chat's language is on shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NoAgentFallback {
    /// Queue for agents who work with a phone interpreter (`interpreter: true`).
    Interpreter,
    /// Capture a call-back request through the after-hours flow (crisis still queues: it never waits).
    Callback,
}

/// An address or a network in CIDR form (`10.0.0.0/8`, `fd00::/8`, `192.0.2.7`): a reverse proxy the
/// deployment trusts to say whom it forwards for (`trusted_proxies`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Network {
    type Err = String;

    fn from_str(s: &str) -> Result<Network, String> {
        let fix = || format!("`{s}` is not an address or network; write e.g. 10.0.0.0/8, 192.0.2.7 or fd00::/8");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().map_err(|_| fix())?, Some(p.parse::<u8>().map_err(|_| fix())?)),
            None => (s.trim().parse::<IpAddr>().map_err(|_| fix())?, None),
        };
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        if prefix > bits {
            return Err(fix());
        }
        Ok(Network { addr, prefix })
    }
}

impl Network {
    /// Whether `ip` is in this network; an IPv4 client seen as IPv6 (`::ffff:10.0.0.1`) is matched
    /// as IPv4, and against an IPv6 network in its mapped form.
    pub fn contains(&self, ip: IpAddr) -> bool {
        // Shifting out every bit (prefix 0) gives None on both sides: everything matches.
        let bits = |n: u32| n - u32::from(self.prefix);
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(i)) => u32::from(n).checked_shr(bits(32)) == u32::from(i).checked_shr(bits(32)),
            (IpAddr::V6(n), i) => {
                let i = match i {
                    IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                    IpAddr::V6(v6) => v6,
                };
                u128::from(n).checked_shr(bits(128)) == u128::from(i).checked_shr(bits(128))
            }
            (IpAddr::V4(_), IpAddr::V6(_)) => false,
        }
    }
}

/// An agent who may log in to the console. Until real accounts exist, the token is the login.
#[derive(Debug, Clone)]
pub struct AgentAccount {
    pub name: String,
    pub token: String,
    pub role: Role,
    pub profile: AgentProfile,
}

/// Abuse limits; 0 switches a limit off (the load tool does, all its patients share one address).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Requests per minute from one address.
    pub per_ip_per_minute: u32,
    /// Patient messages per minute in one chat.
    pub per_chat_per_minute: u32,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Chats one address may have open at once.
    pub max_open_chats_per_ip: u32,
}

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub database: PathBuf,
    /// The encryption keyring; `None` means beside the database (`careline.key`). Keep it elsewhere in
    /// production, or pass the keys in `CARELINE_KEYS`.
    pub key_file: Option<PathBuf>,
    pub flows: PathBuf,
    pub models: PathBuf,
    pub directory: PathBuf,
    /// Conversation tests the analyst dashboard runs against the flows on disk.
    pub conversation_tests: PathBuf,
    /// The sentence model for crisis by meaning; `None` runs on the lexicons alone.
    pub embedder: Option<PathBuf>,
    /// Sites (origins such as `https://www.plan.example`) whose pages may embed the patient widget:
    /// the patient API answers their browsers' cross-origin requests. Staff APIs never do.
    pub widget_origins: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`src/http/client.rs`); none by default.
    pub trusted_proxies: Vec<Network>,
    pub agents: Vec<AgentAccount>,
    pub no_agent: NoAgentFallback,
    /// An offer not taken in this time goes to someone else.
    pub offer_timeout: Duration,
    /// A chat with the bot and no patient message for this long is closed.
    pub idle_timeout: Duration,
    /// Transcripts of chats closed longer ago than this are purged; `None` keeps them.
    pub retention_days: Option<u32>,
    pub limits: Limits,
    /// Where the file came from, for messages.
    pub file: Option<PathBuf>,
}

impl Default for ServeConfig {
    fn default() -> ServeConfig {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: PathBuf::from("data/careline.db"),
            key_file: None,
            flows: PathBuf::from("flows"),
            models: PathBuf::from("models"),
            directory: PathBuf::from("fixtures/demo_directory.json"),
            conversation_tests: PathBuf::from("fixtures/conversations"),
            embedder: Some(PathBuf::from(crate::semantic::DEFAULT_MODEL_DIR)),
            widget_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            agents: Vec::new(),
            no_agent: NoAgentFallback::Interpreter,
            offer_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(15 * 60),
            retention_days: None,
            limits: Limits {
                per_ip_per_minute: 600,
                per_chat_per_minute: 30,
                max_body_bytes: 16 * 1024,
                max_open_chats_per_ip: 20,
            },
            file: None,
        }
    }
}

const KEYS: &[&str] = &[
    "listen",
    "database",
    "key_file",
    "flows",
    "models",
    "directory",
    "conversation_tests",
    "widget_origins",
    "trusted_proxies",
    "embedder",
    "agents",
    "no_agent_fallback",
    "offer_timeout_seconds",
    "idle_timeout_minutes",
    "retention_days",
    "limits",
];
const AGENT_KEYS: &[&str] = &["id", "name", "token", "role", "languages", "skills", "capacity", "interpreter"];
const LIMIT_KEYS: &[&str] = &[
    "per_ip_per_minute",
    "per_chat_per_minute",
    "max_body_bytes",
    "max_open_chats_per_ip",
];

impl ServeConfig {
    /// Where the keyring is read from (and created on first start).
    pub fn key_path(&self) -> PathBuf {
        self.key_file.clone().unwrap_or_else(|| self.database.with_extension("key"))
    }

    /// Defaults overlaid with the file at `path`.
    pub fn from_file(path: &Path) -> Result<ServeConfig, Vec<Diagnostic>> {
        let name = path.display().to_string();
        let source = std::fs::read_to_string(path).map_err(|e| {
            vec![Diagnostic {
                file: name.clone(),
                line: 0,
                step: None,
                problem: format!("cannot read the configuration: {e}"),
                fix: "check the path given to --config / CARELINE_CONFIG".into(),
            }]
        })?;
        let mut config = ServeConfig::parse(&name, &source)?;
        config.file = Some(path.to_path_buf());
        Ok(config)
    }

    pub fn parse(name: &str, source: &str) -> Result<ServeConfig, Vec<Diagnostic>> {
        let mut diags = Diagnostics::new(name);
        let root = yaml::parse(source).map_err(|e| {
            vec![Diagnostic {
                file: name.to_string(),
                line: e.line,
                step: None,
                problem: format!("not valid YAML: {}", e.message),
                fix: "check the indentation and quoting on this line".into(),
            }]
        })?;
        let mut c = ServeConfig::default();
        if root.is_null() {
            return Ok(c);
        }
        let mut m = MapReader::new(&root, "the server configuration", &mut diags);
        if let Some((s, line)) = m.get("listen").and_then(|n| n.string("`listen`", &mut diags).map(|s| (s, n.line))) {
            match s.parse() {
                Ok(a) => c.listen = a,
                Err(_) => diags.push(line, format!("`{s}` is not an address"), "write host:port, e.g. 127.0.0.1:8080"),
            }
        }
        for (key, slot) in [
            ("database", &mut c.database),
            ("flows", &mut c.flows),
            ("models", &mut c.models),
            ("directory", &mut c.directory),
            ("conversation_tests", &mut c.conversation_tests),
        ] {
            if let Some(s) = m.string(key, &mut diags) {
                *slot = PathBuf::from(s);
            }
        }
        if let Some(n) = m.get("widget_origins") {
            for origin in n.strings("`widget_origins`", &mut diags) {
                match normalize_origin(&origin) {
                    Some(o) => c.widget_origins.push(o),
                    None => diags.push(
                        n.line,
                        format!("`{origin}` is not an origin"),
                        "write scheme and host (and port if not the default), e.g. https://www.plan.example, with no path",
                    ),
                }
            }
        }
        if let Some(n) = m.get("trusted_proxies") {
            for written in n.strings("`trusted_proxies`", &mut diags) {
                match written.parse::<Network>() {
                    Ok(net) => c.trusted_proxies.push(net),
                    Err(fix) => diags.push(
                        n.line,
                        format!("`{written}` in `trusted_proxies` is not an address or network"),
                        fix,
                    ),
                }
            }
        }
        if let Some(e) = m.string("embedder", &mut diags) {
            c.embedder = (e != "none").then(|| PathBuf::from(e));
        }
        if let Some(k) = m.string("key_file", &mut diags) {
            c.key_file = Some(PathBuf::from(k));
        }
        if let Some(n) = m.get("no_agent_fallback") {
            match n.as_str() {
                Some("interpreter") => c.no_agent = NoAgentFallback::Interpreter,
                Some("callback") => c.no_agent = NoAgentFallback::Callback,
                _ => diags.push(
                    n.line,
                    "`no_agent_fallback` is neither `interpreter` nor `callback`",
                    "write one of them",
                ),
            }
        }
        if let Some(v) = m
            .get("offer_timeout_seconds")
            .and_then(|n| n.number("`offer_timeout_seconds`", &mut diags))
        {
            c.offer_timeout = Duration::from_secs(v.max(1));
        }
        if let Some(v) = m
            .get("idle_timeout_minutes")
            .and_then(|n| n.number("`idle_timeout_minutes`", &mut diags))
        {
            c.idle_timeout = Duration::from_secs(v.max(1) * 60);
        }
        if let Some(v) = m.get("retention_days").and_then(|n| n.number("`retention_days`", &mut diags)) {
            c.retention_days = Some(v.clamp(1, 36_500) as u32);
        }
        if let Some(n) = m.get("limits") {
            let mut l = MapReader::new(&n, "`limits`", &mut diags);
            let mut number = |key: &str, diags: &mut Diagnostics| l.get(key).and_then(|n| n.number(&format!("`{key}`"), diags));
            if let Some(v) = number("per_ip_per_minute", &mut diags) {
                c.limits.per_ip_per_minute = v.min(u64::from(u32::MAX)) as u32;
            }
            if let Some(v) = number("per_chat_per_minute", &mut diags) {
                c.limits.per_chat_per_minute = v.min(u64::from(u32::MAX)) as u32;
            }
            if let Some(v) = number("max_open_chats_per_ip", &mut diags) {
                c.limits.max_open_chats_per_ip = v.min(u64::from(u32::MAX)) as u32;
            }
            if let Some(v) = number("max_body_bytes", &mut diags) {
                c.limits.max_body_bytes = (v as usize).max(crate::triage::input::MAX_MESSAGE_BYTES + 256);
            }
            l.finish(LIMIT_KEYS, &mut diags);
        }
        if let Some(n) = m.get("agents") {
            for item in n.list("`agents`", &mut diags) {
                if let Some(a) = agent(&item, &mut diags) {
                    if c.agents.iter().any(|b| b.profile.id == a.profile.id || b.token == a.token) {
                        diags.push(
                            item.line,
                            format!("agent `{}` repeats an id or token", a.profile.id),
                            "give each agent its own id and token",
                        );
                    } else {
                        c.agents.push(a);
                    }
                }
            }
        }
        m.finish(KEYS, &mut diags);
        if diags.is_empty() { Ok(c) } else { Err(diags.list) }
    }
}

fn agent(node: &Node, diags: &mut Diagnostics) -> Option<AgentAccount> {
    let mut m = MapReader::new(node, "an agent", diags);
    let id = m.require_string("id", diags)?;
    let name = m.string("name", diags).unwrap_or_else(|| id.clone());
    let token = m.require_string("token", diags)?;
    if token.len() < 16 {
        diags.push(
            node.line,
            format!("agent `{id}` has a token shorter than 16 characters"),
            "use a long random token, e.g. from `openssl rand -hex 24`",
        );
    }
    let role = match m.string("role", diags).as_deref() {
        None | Some("agent") => Role::Agent,
        Some("supervisor") => Role::Supervisor,
        Some(other) => {
            diags.push(
                node.line,
                format!("unknown role `{other}` for agent `{id}`"),
                "use `agent` or `supervisor`",
            );
            Role::Agent
        }
    };
    let mut languages = Vec::new();
    if let Some(n) = m.require("languages", diags) {
        for item in n.list("`languages`", diags) {
            match item.as_str().and_then(Lang::from_code) {
                Some(l) => languages.push(l),
                None => diags.push(
                    item.line,
                    format!("`{}` is not a language code Careline knows", item.as_str().unwrap_or("?")),
                    "use one of en es zh vi ko tl ru ar fr ht pt",
                ),
            }
        }
    }
    let skills = m.require("skills", diags).map(|n| n.strings("`skills`", diags)).unwrap_or_default();
    let capacity = m
        .get("capacity")
        .and_then(|n| n.number("`capacity`", diags))
        .unwrap_or(3)
        .clamp(1, 50) as usize;
    let interpreter = m.boolean("interpreter", diags).unwrap_or(false);
    m.finish(AGENT_KEYS, diags);
    Some(AgentAccount {
        name,
        token,
        role,
        profile: AgentProfile {
            id,
            languages,
            skills,
            capacity,
            interpreter,
        },
    })
}

/// `https://www.Plan.example/` -> `https://www.plan.example`: browsers send origins in this form.
/// `None` for anything that is not scheme://host[:port].
pub fn normalize_origin(origin: &str) -> Option<String> {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, host) = origin.split_once("://")?;
    let plausible =
        matches!(scheme, "http" | "https") && !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    plausible.then_some(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_proxies_are_networks_and_a_bad_one_is_refused_with_its_line() {
        let c = ServeConfig::parse("c.yaml", "trusted_proxies: [10.0.0.0/8, 192.0.2.7, \"fd00::/8\", 0.0.0.0/0]\n").unwrap();
        let [private, one, ula, any] = c.trusted_proxies[..] else {
            panic!("four networks: {:?}", c.trusted_proxies)
        };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(private.contains(ip("10.200.3.4")) && !private.contains(ip("11.0.0.1")));
        assert!(private.contains(ip("::ffff:10.0.0.1")), "an IPv4 peer seen as IPv6");
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        assert!(ula.contains(ip("fd12::1")) && !ula.contains(ip("2001:db8::1")));
        assert!(any.contains(ip("203.0.113.1")) && !any.contains(ip("2001:db8::1")));
        let problems = ServeConfig::parse("c.yaml", "listen: 127.0.0.1:8080\ntrusted_proxies: [10.0.0.0/33]\n").unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 2);
        assert!(problems[0].problem.contains("10.0.0.0/33"), "{}", problems[0].problem);
    }

    #[test]
    fn widget_origins_are_normalized_and_a_path_is_refused_with_its_line() {
        let c = ServeConfig::parse(
            "c.yaml",
            "widget_origins: [\"https://WWW.Plan.example/\", \"http://127.0.0.1:9000\"]\n",
        )
        .unwrap();
        assert_eq!(c.widget_origins, ["https://www.plan.example", "http://127.0.0.1:9000"]);
        let problems =
            ServeConfig::parse("c.yaml", "listen: 127.0.0.1:8080\nwidget_origins:\n  - https://plan.example/chat\n").unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 2);
        assert!(problems[0].problem.contains("https://plan.example/chat"), "{}", problems[0].problem);
        assert_eq!(normalize_origin("ftp://plan.example"), None);
    }

    #[test]
    fn a_file_overrides_defaults() {
        let c = ServeConfig::parse(
            "serve.yaml",
            "listen: 0.0.0.0:9000\nagents:\n  - id: ana\n    token: 0123456789abcdef0\n    languages: [en, es]\n    skills: [general, nurse]\n    capacity: 2\nlimits:\n  per_ip_per_minute: 0\n",
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.agents[0].profile.languages, vec![Lang::En, Lang::Es]);
        assert_eq!(c.agents[0].profile.capacity, 2);
        assert_eq!(c.limits.per_ip_per_minute, 0);
        assert_eq!(c.limits.per_chat_per_minute, 30, "untouched limits keep their defaults");
    }

    #[test]
    fn every_problem_is_reported_with_its_line_and_fix() {
        let errs = ServeConfig::parse(
            "serve.yaml",
            "listne: 1\nagents:\n  - id: bo\n    token: short\n    languages: [xx]\n    skills: [general]\n",
        )
        .unwrap_err();
        let text: Vec<String> = errs.iter().map(|d| d.to_string()).collect();
        assert!(
            text.iter()
                .any(|t| t.starts_with("serve.yaml:1:") && t.contains("did you mean `listen`")),
            "{text:?}"
        );
        assert!(text.iter().any(|t| t.contains("shorter than 16")), "{text:?}");
        assert!(
            text.iter().any(|t| t.starts_with("serve.yaml:5:") && t.contains("`xx`")),
            "{text:?}"
        );
    }
}
