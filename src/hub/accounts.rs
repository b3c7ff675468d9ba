//! Who is calling: config agents (token from the server configuration) and users who log in with a
//! password (argon2id) for a session that expires. Logins, failures and logouts are audited with the
//! address they came from; repeated failures raise an alert.

use crate::config::AgentAccount;
use crate::hub::{AgentLine, Hub, HubError, random_hex, token_hash};
use crate::queue::AgentProfile;
use crate::store::AuditRecord;
use crate::users::{Role, User, password_matches};
use chrono::{DateTime, Utc};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long a login lasts: one shift.
pub const SESSION_HOURS: i64 = 10;
/// A cached session is re-read from the store after this long, so a disabled user is out within it.
const SESSION_RECHECK: Duration = Duration::from_secs(30);

/// Longer names and passwords are refused before any work (and never logged).
const MAX_USERNAME: usize = 64;
const MAX_PASSWORD: usize = 1024;

/// A valid argon2id hash of nothing anyone knows, computed once.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| crate::users::hash_password(&random_hex(16)).unwrap_or_default())
}

/// The person behind a request.
#[derive(Clone)]
pub struct Caller {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// Their console line, for roles that handle chats.
    pub line: Option<Arc<AgentLine>>,
}

/// A session held in memory, checked against the store every `SESSION_RECHECK`.
#[derive(Clone)]
pub(crate) struct CachedSession {
    caller: Caller,
    expires: DateTime<Utc>,
    checked: std::time::Instant,
}

#[derive(serde::Serialize)]
pub struct Login {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub role: Role,
    pub name: String,
}

impl Hub {
    /// Resolves a bearer token to its caller: a config agent, or a live session.
    pub async fn caller(&self, token: &str) -> Option<Caller> {
        if let Some(line) = self.agent_by_token(token) {
            return Some(Caller {
                id: line.account.profile.id.clone(),
                name: line.account.name.clone(),
                role: line.account.role,
                line: Some(line),
            });
        }
        let hash = token_hash(token);
        let now = self.clock.now();
        let cached = self.sessions.read().expect("sessions lock").get(&hash).cloned();
        if let Some(c) = cached
            && c.checked.elapsed() < SESSION_RECHECK
        {
            return (c.expires > now).then_some(c.caller);
        }
        let (username, expires) = self.store.session(&hash).await.ok().flatten()?;
        let user = self.store.user(&username).await.ok().flatten()?;
        if user.disabled || expires <= now {
            self.sessions.write().expect("sessions lock").remove(&hash);
            return None;
        }
        let caller = self.caller_of(&user);
        self.sessions.write().expect("sessions lock").insert(
            hash,
            CachedSession {
                caller: caller.clone(),
                expires,
                checked: std::time::Instant::now(),
            },
        );
        Some(caller)
    }

    fn caller_of(&self, user: &User) -> Caller {
        // A user named like a config agent never takes over that agent's console.
        let line = (user.role.handles_chats() && !self.is_config_agent(&user.username)).then(|| {
            self.agent_for_user(AgentAccount {
                name: user.name.clone(),
                token: String::new(),
                role: user.role,
                profile: AgentProfile {
                    id: user.username.clone(),
                    languages: user.languages.clone(),
                    skills: user.skills.clone(),
                    capacity: user.capacity,
                    interpreter: user.interpreter,
                },
            })
        });
        Caller {
            id: user.username.clone(),
            name: user.name.clone(),
            role: user.role,
            line,
        }
    }

    /// Checks a password and opens a session. Every attempt is audited; the answer never says whether
    /// the username exists.
    pub async fn login(&self, username: &str, password: &str, ip: Option<IpAddr>) -> Result<Login, HubError> {
        if username.len() > MAX_USERNAME || password.len() > MAX_PASSWORD {
            return Err(HubError::Unauthorized);
        }
        let user = self.store.user(username).await.map_err(HubError::Store)?;
        // An unknown user is checked against a dummy hash: the answer takes as long either way.
        let hash = user.as_ref().map_or_else(|| dummy_hash().to_string(), |u| u.password_hash.clone());
        let password = password.to_string();
        // Argon2 is deliberately slow: keep it off the async workers.
        let matches = tokio::task::spawn_blocking(move || password_matches(&password, &hash))
            .await
            .unwrap_or(false);
        // An unknown name may be a password typed in the wrong field: the audit log keeps only a hash.
        let named = match &user {
            Some(u) => u.username.clone(),
            None => format!("unknown:{}", &crate::audit::to_hex(&token_hash(username))[..12]),
        };
        let username = named.as_str();
        let now = self.clock.now();
        let ok = matches && user.as_ref().is_some_and(|u| !u.disabled);
        if !ok {
            let why = match &user {
                None => "unknown username",
                Some(u) if u.disabled => "account disabled",
                Some(_) => "wrong password",
            };
            self.audit_now(username, "login_failed", why.to_string(), ip).await?;
            self.watch_failed_login(username, ip).await;
            return Err(HubError::Unauthorized);
        }
        let user = user.expect("checked above");
        let token = random_hex(32);
        let expires = now + chrono::Duration::hours(SESSION_HOURS);
        self.store
            .put_session(token_hash(&token), user.username.clone(), expires)
            .await
            .map_err(HubError::Store)?;
        self.audit_now(&user.username, "login", format!("role {}", user.role.as_str()), ip)
            .await?;
        Ok(Login {
            token,
            expires_at: expires,
            role: user.role,
            name: user.name,
        })
    }

    pub async fn logout(&self, token: &str, ip: Option<IpAddr>) -> Result<(), HubError> {
        let hash = token_hash(token);
        // Only a live session is logged out (and audited): unknown tokens write nothing.
        let Some(who) = self.caller(token).await.map(|c| c.id) else {
            return Err(HubError::Unauthorized);
        };
        self.sessions.write().expect("sessions lock").remove(&hash);
        self.store.end_sessions(None, Some(&hash)).await.map_err(HubError::Store)?;
        self.audit_now(&who, "logout", String::new(), ip).await
    }

    /// Writes audit records that belong to no chat (logins, alerts), through the same chain.
    pub async fn audit_now(&self, actor: &str, kind: &str, detail: String, ip: Option<IpAddr>) -> Result<(), HubError> {
        let record = AuditRecord {
            at: self.clock.now(),
            chat: None,
            actor: actor.to_string(),
            kind: kind.to_string(),
            detail,
            ip: ip.map(|i| i.to_string()),
        };
        self.store
            .commit(crate::store::Commit::audits_only(vec![record]))
            .await
            .map_err(HubError::Store)
    }
}
