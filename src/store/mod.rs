//! Persistence: the only module that writes SQL. One `Store` interface, so the embedded SQLite file and
//! (later) a PostgreSQL shared by several nodes are interchangeable behind `Arc<dyn Store>`.
//!
//! Architecture invariant: **nothing a patient sent is lost.** `Store::commit` returns only once the
//! turn (the chat row, its new messages, whispers, call-backs, audit records) is durable; the server
//! acknowledges a message only after that. A turn is one transaction: a crash leaves all of it or none.

pub mod cipher;
mod records;
mod sqlite;

pub use records::{AuditRecord, CallbackRecord, ChatFacts, ChatRecord, Commit, MessageRecord, Review, Sender, WhisperRecord};
pub use sqlite::SqliteStore;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

/// Futures are boxed so the trait stays object-safe: the server holds `Arc<dyn Store>` and a backend
/// is picked by configuration. One allocation per call is nothing beside a database round trip.
pub type StoreFuture<'a, T> = BoxFuture<'a, anyhow::Result<T>>;

pub trait Store: Send + Sync {
    /// Writes one turn atomically and durably.
    fn commit(&self, commit: Commit) -> StoreFuture<'_, ()>;
    /// Every chat not closed: restored into memory at start.
    fn open_chats(&self) -> StoreFuture<'_, Vec<ChatRecord>>;
    /// One chat, open or closed.
    fn chat<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<ChatRecord>>;
    /// A chat's messages in order.
    fn transcript<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Vec<MessageRecord>>;
    /// Whether the chat holds a message the patient's browser sent under `client_id`.
    fn has_client_message<'a>(&'a self, chat: &'a str, client_id: &'a str) -> StoreFuture<'a, bool>;
    /// Records the rating of a closed chat not yet rated; false if it is open or already rated. One
    /// conditional write, so two ratings sent at once cannot both count.
    fn rate_closed<'a>(&'a self, chat: &'a str, score: u8) -> StoreFuture<'a, bool>;
    /// A chat's whispers in order.
    fn whispers<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Vec<WhisperRecord>>;
    /// Call-back requests, newest first.
    fn callbacks(&self, limit: i64) -> StoreFuture<'_, Vec<CallbackRecord>>;
    /// The figures metrics are computed from, for chats started since `since`.
    fn facts(&self, since: DateTime<Utc>) -> StoreFuture<'_, Vec<ChatFacts>>;
    /// Audit records for one chat, oldest first.
    fn audit_of<'a>(&'a self, chat: &'a str) -> StoreFuture<'a, Vec<AuditRecord>>;
    /// The audit log with its chain, oldest first, optionally limited to `[from, to)`.
    fn audit_chain(&self, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> StoreFuture<'_, Vec<crate::audit::Chained>>;
    /// Retention: deletes the transcripts, whispers and call-back details of chats closed before
    /// `before`, and empties their stored state. The chat rows (metrics) and the audit log stay.
    /// Returns how many chats were purged.
    fn purge(&self, before: DateTime<Utc>) -> StoreFuture<'_, usize>;
    /// The most recently closed chats, newest first.
    fn closed_chats(&self, limit: i64) -> StoreFuture<'_, Vec<ChatRecord>>;
    fn user<'a>(&'a self, username: &'a str) -> StoreFuture<'a, Option<crate::users::User>>;
    fn users(&self) -> StoreFuture<'_, Vec<crate::users::User>>;
    /// Adds or replaces a user; disabling one ends their sessions.
    fn put_user(&self, user: crate::users::User) -> StoreFuture<'_, ()>;
    fn put_session(&self, token_hash: Vec<u8>, username: String, expires: DateTime<Utc>) -> StoreFuture<'_, ()>;
    /// The session's user and expiry.
    fn session<'a>(&'a self, token_hash: &'a [u8]) -> StoreFuture<'a, Option<(String, DateTime<Utc>)>>;
    /// Ends all of a user's sessions and/or one session (and forgets expired ones).
    fn end_sessions<'a>(&'a self, username: Option<&'a str>, token_hash: Option<&'a [u8]>) -> StoreFuture<'a, ()>;
    /// Re-encrypts every sealed value with `new`'s active key (key rotation); returns how many.
    fn reseal(&self, new: std::sync::Arc<cipher::Keyring>) -> StoreFuture<'_, usize>;
}

/// Milliseconds since the epoch: how every time is stored (portable across SQLite and PostgreSQL).
pub fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
