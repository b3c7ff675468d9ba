//! `careline users add|disable|reset|list`: accounts for agents, nurses, supervisors, analysts and
//! admins, in the same database `careline serve` uses. The first admin is created this way at setup.
//! Every change is audited; passwords are never printed except a generated one, once.

use crate::cli::serve::{ServeArgs, open_store};
use crate::store::{AuditRecord, Commit, Store};
use crate::users::{Role, User, check_password_strength, hash_password};
use anyhow::Context;
use std::io::Read;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum UsersCommand {
    /// Add a user (or replace one's role and profile). Prints a generated password unless
    /// --password-stdin is given.
    Add {
        username: String,
        /// agent, nurse, supervisor, analyst or admin.
        #[arg(long)]
        role: String,
        /// Display name (shown to patients for agents).
        #[arg(long)]
        name: Option<String>,
        /// Languages the person serves in chats, e.g. en,es.
        #[arg(long, value_delimiter = ',', default_value = "en")]
        languages: Vec<String>,
        /// Skills (queues), e.g. general,pharmacy,nurse.
        #[arg(long, value_delimiter = ',', default_value = "general")]
        skills: Vec<String>,
        /// Concurrent chats.
        #[arg(long, default_value_t = 3)]
        capacity: usize,
        /// Works with a phone interpreter (may take chats in any language from the interpreter queue).
        #[arg(long)]
        interpreter: bool,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Disable a user: their sessions end at once and they cannot log in.
    Disable {
        username: String,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Give a user a new generated password and end their sessions.
    Reset {
        username: String,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// List users (never their password hashes).
    List {
        #[command(flatten)]
        serve: ServeArgs,
    },
}

fn generated_password() -> String {
    // 24 characters from a 62-letter alphabet: about 143 bits.
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

async fn audit(store: &dyn Store, actor: &str, kind: &str, detail: String) -> anyhow::Result<()> {
    let record = AuditRecord {
        at: chrono::Utc::now(),
        chat: None,
        actor: actor.to_string(),
        kind: kind.to_string(),
        detail,
        ip: None,
    };
    store.commit(Commit::audits_only(vec![record])).await
}

/// Who ran the command, for the audit record.
fn operator() -> String {
    format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()))
}

pub fn run(command: UsersCommand) -> anyhow::Result<ExitCode> {
    let rt = super::runtime()?;
    rt.block_on(async {
        match command {
            UsersCommand::Add {
                username,
                role,
                name,
                languages,
                skills,
                capacity,
                interpreter,
                password_stdin,
                serve,
            } => {
                let role =
                    Role::parse(&role).with_context(|| format!("unknown role `{role}`; use agent, nurse, supervisor, analyst or admin"))?;
                anyhow::ensure!(
                    !username.is_empty() && username.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
                    "a username is letters, digits, `.`, `_` or `-`"
                );
                let languages = languages
                    .iter()
                    .map(|c| crate::lang::Lang::from_code(c).with_context(|| format!("`{c}` is not a language Careline knows")))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let (password, shown) = if password_stdin {
                    let mut p = String::new();
                    std::io::stdin().read_to_string(&mut p)?;
                    let p = p.trim_end_matches(['\n', '\r']).to_string();
                    check_password_strength(&p).map_err(|e| anyhow::anyhow!(e))?;
                    (p, false)
                } else {
                    (generated_password(), true)
                };
                let store = open_store(&serve.resolve()?).await?;
                let before = store.user(&username).await?;
                let user = User {
                    username: username.clone(),
                    name: name.unwrap_or_else(|| username.clone()),
                    role,
                    password_hash: hash_password(&password)?,
                    languages,
                    skills,
                    capacity: capacity.clamp(1, 50),
                    interpreter,
                    disabled: false,
                };
                store.put_user(user).await?;
                if before.is_some() {
                    // A replaced password or role must not live on in old sessions.
                    store.end_sessions(Some(&username), None).await?;
                }
                let detail = match before {
                    Some(b) if b.role != role => format!("role {} -> {} for {username}", b.role.as_str(), role.as_str()),
                    Some(_) => format!("profile replaced for {username}"),
                    None => format!("{username} added as {}", role.as_str()),
                };
                audit(&store, &operator(), "role_change", detail.clone()).await?;
                println!("{detail}");
                if shown {
                    println!("password (shown once): {password}");
                }
                Ok(ExitCode::SUCCESS)
            }
            UsersCommand::Disable { username, serve } => {
                let store = open_store(&serve.resolve()?).await?;
                let mut user = store.user(&username).await?.with_context(|| format!("no user `{username}`"))?;
                user.disabled = true;
                store.put_user(user).await?;
                audit(&store, &operator(), "user_disabled", username.clone()).await?;
                println!("{username} disabled; their sessions are ended");
                Ok(ExitCode::SUCCESS)
            }
            UsersCommand::Reset { username, serve } => {
                let store = open_store(&serve.resolve()?).await?;
                let mut user = store.user(&username).await?.with_context(|| format!("no user `{username}`"))?;
                let password = generated_password();
                user.password_hash = hash_password(&password)?;
                store.put_user(user).await?;
                store.end_sessions(Some(&username), None).await?;
                audit(&store, &operator(), "password_reset", username.clone()).await?;
                println!("new password for {username} (shown once): {password}");
                Ok(ExitCode::SUCCESS)
            }
            UsersCommand::List { serve } => {
                let store = open_store(&serve.resolve()?).await?;
                for u in store.users().await? {
                    println!(
                        "{:<16} {:<10} {:<24} {}{}",
                        u.username,
                        u.role.as_str(),
                        u.name,
                        u.languages.iter().map(|l| l.code()).collect::<Vec<_>>().join(","),
                        if u.disabled { "  (disabled)" } else { "" }
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
