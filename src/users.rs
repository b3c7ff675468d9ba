//! People who log in, their roles, and what each role may reach (minimum necessary). Passwords are
//! argon2id PHC strings; this module hashes and checks them and decides access, with no I/O.

use crate::lang::Lang;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Chats assigned to them; PHI only once the patient is verified; no clinical notes.
    Agent,
    /// An agent who may also read clinical notes (the nurse line).
    Nurse,
    /// Monitors every queue and live chat; may take any waiting chat.
    Supervisor,
    /// Metrics, flow test results and de-identified transcripts only.
    Analyst,
    /// Users, alerts and the audit log; no chats.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Agent, Role::Nurse, Role::Supervisor, Role::Analyst, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Nurse => "nurse",
            Role::Supervisor => "supervisor",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Works chats in the agent console.
    pub fn handles_chats(self) -> bool {
        matches!(self, Role::Agent | Role::Nurse | Role::Supervisor)
    }

    pub fn reads_clinical_notes(self) -> bool {
        matches!(self, Role::Nurse | Role::Supervisor)
    }

    pub fn reads_metrics(self) -> bool {
        matches!(self, Role::Supervisor | Role::Analyst | Role::Admin)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub username: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub languages: Vec<Lang>,
    pub skills: Vec<String>,
    pub capacity: usize,
    pub interpreter: bool,
    pub disabled: bool,
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Checks a password against its stored hash; any malformed hash is a mismatch.
pub fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Passwords people choose must be long; generated ones are 24 random characters.
pub fn check_password_strength(password: &str) -> Result<(), String> {
    if password.chars().count() < 12 {
        return Err("a password has at least 12 characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_argon2id_and_check_only_with_the_right_password() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(password_matches("correct horse battery", &h));
        assert!(!password_matches("correct horse batterY", &h));
        assert!(!password_matches("x", "not a hash"));
    }
}
