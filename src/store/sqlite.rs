//! The embedded store: one SQLite file in WAL mode with `synchronous = FULL`, so a committed turn
//! survives `kill -9` and power loss alike.
//!
//! Writes go through one writer task that commits whatever turns are waiting in a single transaction
//! (group commit): SQLite takes one writer at a time anyway, and one fsync for many turns is what lets
//! a 2-core machine store thousands of messages a second. Reads use a small pool beside it.

use crate::audit::Chained;
use crate::engine::ChatState;
use crate::store::cipher::Keyring;
use crate::store::records::{AuditRecord, CallbackRecord, ChatFacts, ChatRecord, Commit, MessageRecord, Review, Sender, WhisperRecord};
use crate::store::{Store, StoreFuture, from_millis, millis};
use crate::users::{Role, User};
use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Connection, QueryBuilder, Row, Sqlite};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Turns committed together at most: bounds one transaction's size and latency.
const GROUP_LIMIT: usize = 512;

type Pending = (Commit, oneshot::Sender<Result<(), String>>);

pub struct SqliteStore {
    pool: SqlitePool,
    /// Why a channel: the writer task owns the one write connection; callers wait on their oneshot.
    writer: mpsc::Sender<Pending>,
    keys: Arc<Keyring>,
}

/// The writer task's own state: its connection, and where the audit chain stands.
struct Writer {
    conn: SqliteConnection,
    keys: Arc<Keyring>,
    next_audit_id: i64,
    last_hash: Vec<u8>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and runs migrations. `keys` seal what patients
    /// wrote and what identifies them.
    pub async fn open(path: &Path, keys: Arc<Keyring>) -> anyhow::Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Hot pages (open chats, recent messages) stay in memory.
            .pragma("cache_size", "-65536")
            // Statement journals (a multi-row upsert keeps one, to undo just that statement) stay in
            // memory: written to a temporary file they took 6% of the server's CPU under load.
            .pragma("temp_store", "memory")
            // SQLite's default checkpoint window, kept on purpose: measured with the load tool, a larger
            // window (8192 pages) made each checkpoint a long stall (p99 29-38 ms at 2,000 msg/s) and
            // a background checkpointer doubled the median; 1000 pages gave the best tail.
            .pragma("wal_autocheckpoint", "1000");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("opening {}", path.display()))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .with_context(|| format!("migrating {}", path.display()))?;
        let conn = SqliteConnection::connect_with(&options).await?;
        let head = sqlx::query("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")
            .fetch_optional(&pool)
            .await?;
        let (last_id, last_hash) = match head {
            Some(row) => (
                row.try_get::<i64, _>("id")?,
                row.try_get::<Option<Vec<u8>>, _>("hash")?.unwrap_or_default(),
            ),
            None => (0, Vec::new()),
        };
        let writer = Writer {
            conn,
            keys: keys.clone(),
            next_audit_id: last_id + 1,
            last_hash,
        };
        let (tx, rx) = mpsc::channel(4 * GROUP_LIMIT);
        tokio::spawn(write_loop(writer, rx));
        Ok(SqliteStore { pool, writer: tx, keys })
    }
}

async fn write_loop(mut w: Writer, mut rx: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(GROUP_LIMIT);
    while rx.recv_many(&mut batch, GROUP_LIMIT).await > 0 {
        let (next_id, last_hash) = (w.next_audit_id, w.last_hash.clone());
        let result = write_group(&mut w, &batch).await.map_err(|e| format!("{e:#}"));
        if result.is_err() {
            // Rolled back: the chain continues from where it stood.
            w.next_audit_id = next_id;
            w.last_hash = last_hash;
        }
        if let Err(e) = &result {
            tracing::error!(error = %e, turns = batch.len(), "storing turns failed");
        }
        for (_, done) in batch.drain(..) {
            let _ = done.send(result.clone());
        }
    }
}

/// Rows per multi-row statement. A few fixed sizes, so that every statement the writer runs is one of
/// a handful of prepared (and cached) statements: preparing a new 28-column upsert for every group
/// size would cost more than the insert itself.
const STATEMENT_ROWS: [usize; 4] = [64, 16, 4, 1];

/// Splits `rows` into chunks whose lengths are all in `STATEMENT_ROWS`, largest first.
fn fixed_chunks<T>(mut rows: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        let size = STATEMENT_ROWS.into_iter().find(|n| *n <= rows.len())?;
        let (chunk, rest) = rows.split_at(size);
        rows = rest;
        Some(chunk)
    })
}

/// Writes a group of turns in one transaction with a handful of multi-row statements: the cost of a
/// statement (a round trip to sqlx's SQLite thread) is paid per table, not per row.
async fn write_group(w: &mut Writer, batch: &[Pending]) -> anyhow::Result<()> {
    let keys = w.keys.clone();
    // IMMEDIATE: take the write lock first, so the audit head read below cannot go stale if another
    // process (a `careline users` command beside the server) writes too.
    let mut tx = w.conn.begin_with("BEGIN IMMEDIATE").await?;
    // The last state of each chat in the group wins (a chat's turns are serialised, so this is the newest).
    let mut chats: Vec<&ChatRecord> = Vec::with_capacity(batch.len());
    for chat in batch.iter().rev().filter_map(|(c, _)| c.chat.as_ref()) {
        if !chats.iter().any(|k| k.id == chat.id) {
            chats.push(chat);
        }
    }
    for rows in fixed_chunks(&chats) {
        write_chats(&mut tx, rows, &keys).await?;
    }
    let messages: Vec<&MessageRecord> = batch.iter().flat_map(|(c, _)| &c.messages).collect();
    for rows in fixed_chunks(&messages) {
        let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO messages (chat_id, seq, at, sender, kind, author, body, client_id) ");
        q.push_values(rows, |mut b, m| {
            b.push_bind(&m.chat)
                .push_bind(m.seq)
                .push_bind(millis(m.at))
                .push_bind(m.sender.as_str())
                .push_bind(&m.kind)
                .push_bind(&m.author)
                .push_bind(keys.seal(m.text.as_bytes(), &message_place(&m.chat, m.seq)))
                .push_bind(&m.client_id);
        });
        q.build().execute(&mut *tx).await?;
    }
    let whispers: Vec<&WhisperRecord> = batch.iter().flat_map(|(c, _)| &c.whispers).collect();
    for rows in fixed_chunks(&whispers) {
        let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO whispers (chat_id, at, body) ");
        q.push_values(rows, |mut b, w| {
            let place = whisper_place(&w.chat, millis(w.at));
            b.push_bind(&w.chat)
                .push_bind(millis(w.at))
                .push_bind(keys.seal(w.body.to_string().as_bytes(), &place));
        });
        q.build().execute(&mut *tx).await?;
    }
    let callbacks: Vec<&CallbackRecord> = batch.iter().flat_map(|(c, _)| &c.callbacks).collect();
    for rows in fixed_chunks(&callbacks) {
        let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO callbacks (chat_id, at, queue, reason, phone, note, by) ");
        q.push_values(rows, |mut b, k| {
            let place = callback_place(&k.chat, millis(k.at));
            b.push_bind(&k.chat)
                .push_bind(millis(k.at))
                .push_bind(&k.queue)
                .push_bind(&k.reason)
                .push_bind(k.phone.as_ref().map(|p| keys.seal(p.as_bytes(), &format!("{place}|phone"))))
                .push_bind(k.note.as_ref().map(|n| keys.seal(n.as_bytes(), &format!("{place}|note"))))
                .push_bind(&k.by);
        });
        q.build().execute(&mut *tx).await?;
    }
    // The audit chain: ids assigned here, in commit order, each record hashed onto the one before,
    // continuing from the head as stored (under the write lock, so never forked).
    let mut chained = Vec::new();
    if batch.iter().any(|(c, _)| !c.audits.is_empty()) {
        let head = sqlx::query("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = head {
            w.next_audit_id = row.try_get::<i64, _>("id")? + 1;
            w.last_hash = row.try_get::<Option<Vec<u8>>, _>("hash")?.unwrap_or_default();
        }
    }
    for a in batch.iter().flat_map(|(c, _)| &c.audits) {
        let id = w.next_audit_id;
        let hash = crate::audit::link(&w.last_hash, id, a);
        chained.push((id, a, std::mem::replace(&mut w.last_hash, hash.clone()), hash));
        w.next_audit_id += 1;
    }
    for rows in fixed_chunks(&chained) {
        let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO audit (id, at, chat_id, actor, kind, detail, ip, prev_hash, hash) ");
        q.push_values(rows, |mut b, (id, a, prev, hash)| {
            b.push_bind(*id)
                .push_bind(millis(a.at))
                .push_bind(&a.chat)
                .push_bind(&a.actor)
                .push_bind(&a.kind)
                .push_bind(&a.detail)
                .push_bind(&a.ip)
                .push_bind(prev)
                .push_bind(hash);
        });
        q.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn write_chats(tx: &mut SqliteConnection, rows: &[&ChatRecord], keys: &Keyring) -> anyhow::Result<()> {
    let states = rows
        .iter()
        .map(|c| Ok(keys.seal(serde_json::to_string(&c.state)?.as_bytes(), &chat_place(&c.id))))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut q = QueryBuilder::<Sqlite>::new(
        "INSERT INTO chats (id, token_hash, created_at, updated_at, last_patient_at, status, language, state, seq, \
         exchanges, queue, priority, handoff_reason, handoff_at, queued_at, interpreter, agent, accepted_at, \
         first_agent_reply_at, contained, phone_escalation, csat, closed_at, closed_by, disposition, review_needed, \
         review_reason_right, review_reason) ",
    );
    q.push_values(rows.iter().zip(&states), |mut b, (c, state)| {
        let st = &c.state;
        let handoff = st.handoff.as_ref();
        b.push_bind(&c.id)
            .push_bind(&c.token_hash)
            .push_bind(millis(c.created_at))
            .push_bind(millis(c.updated_at))
            .push_bind(c.last_patient_at.map(millis))
            .push_bind(label(&st.status))
            .push_bind(st.language.code())
            .push_bind(state)
            .push_bind(c.seq)
            .push_bind(i64::from(st.exchanges))
            .push_bind(handoff.map(|h| h.queue.clone()))
            .push_bind(handoff.map(|h| label(&h.priority)))
            .push_bind(handoff.map(|h| h.reason.as_str()))
            .push_bind(c.handoff_at.map(millis))
            .push_bind(c.queued_at.map(millis))
            .push_bind(c.interpreter)
            .push_bind(&c.agent)
            .push_bind(c.accepted_at.map(millis))
            .push_bind(c.first_agent_reply_at.map(millis))
            .push_bind(c.contained)
            .push_bind(c.phone_escalation)
            .push_bind(c.csat.map(i64::from))
            .push_bind(c.closed_at.map(millis))
            .push_bind(&c.closed_by)
            .push_bind(&c.disposition)
            .push_bind(c.review.map(|r| r.needed))
            .push_bind(c.review.map(|r| r.reason_right))
            .push_bind(c.review.and_then(|r| r.correct_reason).map(|r| r.as_str()));
    });
    q.push(
        " ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, last_patient_at = excluded.last_patient_at, \
         status = excluded.status, language = excluded.language, state = excluded.state, seq = excluded.seq, \
         exchanges = excluded.exchanges, queue = excluded.queue, priority = excluded.priority, \
         handoff_reason = excluded.handoff_reason, handoff_at = excluded.handoff_at, queued_at = excluded.queued_at, \
         interpreter = excluded.interpreter, agent = excluded.agent, accepted_at = excluded.accepted_at, \
         first_agent_reply_at = excluded.first_agent_reply_at, contained = excluded.contained, \
         phone_escalation = excluded.phone_escalation, csat = excluded.csat, closed_at = excluded.closed_at, \
         closed_by = excluded.closed_by, disposition = excluded.disposition, review_needed = excluded.review_needed, \
         review_reason_right = excluded.review_reason_right, review_reason = excluded.review_reason",
    );
    q.build().execute(tx).await?;
    Ok(())
}

/// Where each sealed value lives: its associated data, so a value moved to another row fails to open.
fn chat_place(id: &str) -> String {
    format!("chats|{id}|state")
}

fn message_place(chat: &str, seq: i64) -> String {
    format!("messages|{chat}|{seq}")
}

fn whisper_place(chat: &str, at: i64) -> String {
    format!("whispers|{chat}|{at}")
}

fn callback_place(chat: &str, at: i64) -> String {
    format!("callbacks|{chat}|{at}")
}

/// Reads a sealed column and opens it as text.
fn open_text(keys: &Keyring, row: &SqliteRow, col: &str, place: &str) -> anyhow::Result<String> {
    let raw: Vec<u8> = sealed_bytes(row, col)?;
    Ok(String::from_utf8(keys.open(&raw, place)?)?)
}

/// A column's bytes whether it holds a sealed BLOB or legacy TEXT.
fn sealed_bytes(row: &SqliteRow, col: &str) -> anyhow::Result<Vec<u8>> {
    Ok(row.try_get_unchecked::<Vec<u8>, _>(col)?)
}

/// A unit enum's serde name (`"queued"`, `"crisis"`): the same words the API uses.
fn label<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn opt_time(row: &SqliteRow, col: &str) -> anyhow::Result<Option<DateTime<Utc>>> {
    Ok(row.try_get::<Option<i64>, _>(col)?.map(from_millis))
}

fn review(row: &SqliteRow) -> anyhow::Result<Option<Review>> {
    let needed: Option<bool> = row.try_get("review_needed")?;
    let right: Option<bool> = row.try_get("review_reason_right")?;
    let reason: Option<String> = row.try_get("review_reason")?;
    Ok(needed.map(|needed| Review {
        needed,
        reason_right: right.unwrap_or(true),
        correct_reason: reason.as_deref().and_then(crate::flow::Reason::parse),
    }))
}

fn chat_record(row: &SqliteRow, keys: &Keyring) -> anyhow::Result<ChatRecord> {
    let id: String = row.try_get("id")?;
    let state: ChatState = serde_json::from_str(&open_text(keys, row, "state", &chat_place(&id))?)
        .with_context(|| format!("chat {id}: stored state does not decode"))?;
    Ok(ChatRecord {
        token_hash: row.try_get("token_hash")?,
        created_at: from_millis(row.try_get("created_at")?),
        updated_at: from_millis(row.try_get("updated_at")?),
        last_patient_at: opt_time(row, "last_patient_at")?,
        state,
        seq: row.try_get("seq")?,
        handoff_at: opt_time(row, "handoff_at")?,
        queued_at: opt_time(row, "queued_at")?,
        interpreter: row.try_get("interpreter")?,
        agent: row.try_get("agent")?,
        accepted_at: opt_time(row, "accepted_at")?,
        first_agent_reply_at: opt_time(row, "first_agent_reply_at")?,
        contained: row.try_get("contained")?,
        phone_escalation: row.try_get("phone_escalation")?,
        csat: row.try_get::<Option<i64>, _>("csat")?.map(|v| v.clamp(0, 5) as u8),
        closed_at: opt_time(row, "closed_at")?,
        closed_by: row.try_get("closed_by")?,
        disposition: row.try_get("disposition")?,
        review: review(row)?,
        id,
    })
}

fn user_record(r: &SqliteRow) -> anyhow::Result<User> {
    let list = |col: &str| -> anyhow::Result<Vec<String>> {
        Ok(r.try_get::<String, _>(col)?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect())
    };
    let role: String = r.try_get("role")?;
    Ok(User {
        username: r.try_get("username")?,
        name: r.try_get("name")?,
        role: Role::parse(&role).with_context(|| format!("unknown role `{role}` in the users table"))?,
        password_hash: r.try_get("password_hash")?,
        languages: list("languages")?.iter().filter_map(|c| crate::lang::Lang::from_code(c)).collect(),
        skills: list("skills")?,
        capacity: r.try_get::<i64, _>("capacity")?.clamp(0, 50) as usize,
        interpreter: r.try_get("interpreter")?,
        disabled: r.try_get("disabled")?,
    })
}

fn audit_record(r: &SqliteRow) -> anyhow::Result<AuditRecord> {
    Ok(AuditRecord {
        at: from_millis(r.try_get("at")?),
        chat: r.try_get("chat_id")?,
        actor: r.try_get("actor")?,
        kind: r.try_get("kind")?,
        detail: r.try_get("detail")?,
        ip: r.try_get("ip")?,
    })
}

impl Store for SqliteStore {
    fn commit(&self, commit: Commit) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let (done, wait) = oneshot::channel();
            self.writer
                .send((commit, done))
                .await
                .map_err(|_| anyhow::anyhow!("the database writer has stopped"))?;
            wait.await
                .map_err(|_| anyhow::anyhow!("the database writer has stopped"))?
                .map_err(|e| anyhow::anyhow!(e))
        })
    }

    fn open_chats(&self) -> StoreFuture<'_, Vec<ChatRecord>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT * FROM chats WHERE status <> 'closed' ORDER BY created_at")
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(|r| chat_record(r, &self.keys)).collect()
        })
    }

    fn chat<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<ChatRecord>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT * FROM chats WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(|r| chat_record(r, &self.keys)).transpose()
        })
    }

    fn transcript<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Vec<MessageRecord>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT * FROM messages WHERE chat_id = ? ORDER BY seq")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
            rows.iter()
                .map(|r| {
                    let chat: String = r.try_get("chat_id")?;
                    let seq: i64 = r.try_get("seq")?;
                    Ok(MessageRecord {
                        text: open_text(&self.keys, r, "body", &message_place(&chat, seq))?,
                        chat,
                        seq,
                        at: from_millis(r.try_get("at")?),
                        sender: Sender::parse(r.try_get("sender")?),
                        kind: r.try_get("kind")?,
                        author: r.try_get("author")?,
                        client_id: r.try_get("client_id")?,
                    })
                })
                .collect()
        })
    }

    fn has_client_message<'a>(&'a self, chat: &'a str, client_id: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let found = sqlx::query("SELECT 1 FROM messages WHERE chat_id = ? AND client_id = ?")
                .bind(chat)
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await?;
            Ok(found.is_some())
        })
    }

    fn rate_closed<'a>(&'a self, chat: &'a str, score: u8) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let done = sqlx::query("UPDATE chats SET csat = ? WHERE id = ? AND status = 'closed' AND csat IS NULL")
                .bind(i64::from(score))
                .bind(chat)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn whispers<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Vec<WhisperRecord>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT * FROM whispers WHERE chat_id = ? ORDER BY id")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
            rows.iter()
                .map(|r| {
                    let chat: String = r.try_get("chat_id")?;
                    let at: i64 = r.try_get("at")?;
                    Ok(WhisperRecord {
                        body: serde_json::from_str(&open_text(&self.keys, r, "body", &whisper_place(&chat, at))?)?,
                        chat,
                        at: from_millis(at),
                    })
                })
                .collect()
        })
    }

    fn callbacks(&self, limit: i64) -> StoreFuture<'_, Vec<CallbackRecord>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT * FROM callbacks ORDER BY id DESC LIMIT ?")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
            rows.iter()
                .map(|r| {
                    let chat: String = r.try_get("chat_id")?;
                    let at: i64 = r.try_get("at")?;
                    let place = callback_place(&chat, at);
                    let open = |col: &str| -> anyhow::Result<Option<String>> {
                        match r.try_get_unchecked::<Option<Vec<u8>>, _>(col)? {
                            Some(raw) => Ok(Some(String::from_utf8(self.keys.open(&raw, &format!("{place}|{col}"))?)?)),
                            None => Ok(None),
                        }
                    };
                    Ok(CallbackRecord {
                        phone: open("phone")?,
                        note: open("note")?,
                        chat,
                        at: from_millis(at),
                        queue: r.try_get("queue")?,
                        reason: r.try_get("reason")?,
                        by: r.try_get("by")?,
                    })
                })
                .collect()
        })
    }

    fn facts(&self, since: DateTime<Utc>) -> StoreFuture<'_, Vec<ChatFacts>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT created_at, language, exchanges, status, queue, handoff_reason, handoff_at, queued_at, \
                 accepted_at, first_agent_reply_at, contained, phone_escalation, csat, review_needed, \
                 review_reason_right, review_reason FROM chats WHERE created_at >= ?",
            )
            .bind(millis(since))
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(ChatFacts {
                        created_at: from_millis(r.try_get("created_at")?),
                        language: r.try_get("language")?,
                        exchanges: r.try_get("exchanges")?,
                        status: r.try_get("status")?,
                        queue: r.try_get("queue")?,
                        handoff_reason: r.try_get("handoff_reason")?,
                        handoff_at: opt_time(r, "handoff_at")?,
                        queued_at: opt_time(r, "queued_at")?,
                        accepted_at: opt_time(r, "accepted_at")?,
                        first_agent_reply_at: opt_time(r, "first_agent_reply_at")?,
                        contained: r.try_get("contained")?,
                        phone_escalation: r.try_get("phone_escalation")?,
                        csat: r.try_get::<Option<i64>, _>("csat")?.map(|v| v.clamp(0, 5) as u8),
                        review: review(r)?,
                    })
                })
                .collect()
        })
    }

    fn audit_of<'a>(&'a self, chat: &'a str) -> StoreFuture<'a, Vec<AuditRecord>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT * FROM audit WHERE chat_id = ? ORDER BY id")
                .bind(chat)
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(audit_record).collect()
        })
    }

    fn audit_chain(&self, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> StoreFuture<'_, Vec<Chained>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT * FROM audit WHERE at >= ? AND at < ? ORDER BY id")
                .bind(from.map_or(i64::MIN, millis))
                .bind(to.map_or(i64::MAX, millis))
                .fetch_all(&self.pool)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(Chained {
                        id: r.try_get("id")?,
                        record: audit_record(r)?,
                        prev_hash: r.try_get::<Option<Vec<u8>>, _>("prev_hash")?.unwrap_or_default(),
                        hash: r.try_get::<Option<Vec<u8>>, _>("hash")?.unwrap_or_default(),
                    })
                })
                .collect()
        })
    }

    fn purge(&self, before: DateTime<Utc>) -> StoreFuture<'_, usize> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await?;
            let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
            let rows = sqlx::query("SELECT id, language FROM chats WHERE status = 'closed' AND closed_at < ? AND seq > 0")
                .bind(millis(before))
                .fetch_all(&mut *tx)
                .await?;
            for row in &rows {
                let id: String = row.try_get("id")?;
                let lang = crate::lang::Lang::from_code(row.try_get("language")?).unwrap_or(crate::lang::Lang::En);
                let mut empty = ChatState::new(lang, crate::engine::state::LanguageSource::Default);
                empty.status = crate::engine::Status::Closed;
                for table in ["messages", "whispers", "callbacks"] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE chat_id = ?"))
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("UPDATE chats SET state = ?, seq = 0 WHERE id = ?")
                    .bind(self.keys.seal(serde_json::to_string(&empty)?.as_bytes(), &chat_place(&id)))
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(rows.len())
        })
    }

    fn closed_chats(&self, limit: i64) -> StoreFuture<'_, Vec<ChatRecord>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT * FROM chats WHERE status = 'closed' ORDER BY closed_at DESC LIMIT ?")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(|r| chat_record(r, &self.keys)).collect()
        })
    }

    fn user<'a>(&'a self, username: &'a str) -> StoreFuture<'a, Option<User>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT * FROM users WHERE username = ?")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(user_record).transpose()
        })
    }

    fn users(&self) -> StoreFuture<'_, Vec<User>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT * FROM users ORDER BY username").fetch_all(&self.pool).await?;
            rows.iter().map(user_record).collect()
        })
    }

    fn put_user(&self, u: User) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let now = millis(Utc::now());
            sqlx::query(
                "INSERT INTO users (username, name, role, password_hash, languages, skills, capacity, interpreter, disabled, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET name = excluded.name, role = excluded.role, \
                 password_hash = excluded.password_hash, languages = excluded.languages, skills = excluded.skills, capacity = excluded.capacity, \
                 interpreter = excluded.interpreter, disabled = excluded.disabled, updated_at = excluded.updated_at",
            )
            .bind(&u.username)
            .bind(&u.name)
            .bind(u.role.as_str())
            .bind(&u.password_hash)
            .bind(u.languages.iter().map(|l| l.code()).collect::<Vec<_>>().join(","))
            .bind(u.skills.join(","))
            .bind(u.capacity as i64)
            .bind(u.interpreter)
            .bind(u.disabled)
            .bind(now)
            .bind(now)
            .execute(&self.pool)
            .await?;
            if u.disabled {
                sqlx::query("DELETE FROM sessions WHERE username = ?")
                    .bind(&u.username)
                    .execute(&self.pool)
                    .await?;
            }
            Ok(())
        })
    }

    fn put_session(&self, token_hash: Vec<u8>, username: String, expires: DateTime<Utc>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            sqlx::query("INSERT INTO sessions (token_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?)")
                .bind(token_hash)
                .bind(username)
                .bind(millis(Utc::now()))
                .bind(millis(expires))
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }

    fn session<'a>(&'a self, token_hash: &'a [u8]) -> StoreFuture<'a, Option<(String, DateTime<Utc>)>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT username, expires_at FROM sessions WHERE token_hash = ?")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
            row.map(|r| Ok((r.try_get("username")?, from_millis(r.try_get("expires_at")?))))
                .transpose()
        })
    }

    fn end_sessions<'a>(&'a self, username: Option<&'a str>, token_hash: Option<&'a [u8]>) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if let Some(u) = username {
                sqlx::query("DELETE FROM sessions WHERE username = ?")
                    .bind(u)
                    .execute(&self.pool)
                    .await?;
            }
            if let Some(h) = token_hash {
                sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
                    .bind(h)
                    .execute(&self.pool)
                    .await?;
            }
            sqlx::query("DELETE FROM sessions WHERE expires_at < ?")
                .bind(millis(Utc::now()))
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }

    fn reseal(&self, new: Arc<Keyring>) -> StoreFuture<'_, usize> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await?;
            let mut tx = conn.begin().await?;
            let mut count = 0;
            // (table, the columns that name a row, the sealed column)
            for (table, key_cols, col) in [
                ("chats", "id", "state"),
                ("messages", "chat_id, seq", "body"),
                ("whispers", "id, chat_id, at", "body"),
                ("callbacks", "id, chat_id, at", "phone"),
                ("callbacks", "id, chat_id, at", "note"),
            ] {
                let rows = sqlx::query(&format!("SELECT {key_cols}, {col} AS v FROM {table} WHERE {col} IS NOT NULL"))
                    .fetch_all(&mut *tx)
                    .await?;
                for row in rows {
                    let (place, filter) = match table {
                        "chats" => (chat_place(&row.try_get::<String, _>("id")?), "id = ?"),
                        "messages" => (
                            message_place(&row.try_get::<String, _>("chat_id")?, row.try_get("seq")?),
                            "chat_id = ? AND seq = ?",
                        ),
                        "whispers" => (whisper_place(&row.try_get::<String, _>("chat_id")?, row.try_get("at")?), "id = ?"),
                        _ => (
                            format!(
                                "{}|{col}",
                                callback_place(&row.try_get::<String, _>("chat_id")?, row.try_get("at")?)
                            ),
                            "id = ?",
                        ),
                    };
                    let stored = sealed_bytes(&row, "v")?;
                    if new.is_current(&stored) {
                        continue;
                    }
                    let plain = self.keys.open_legacy(&stored, &place).or_else(|_| new.open(&stored, &place))?;
                    let update = format!("UPDATE {table} SET {col} = ? WHERE {filter}");
                    let q = sqlx::query(&update).bind(new.seal(&plain, &place));
                    let q = match table {
                        "chats" => q.bind(row.try_get::<String, _>("id")?),
                        "messages" => q.bind(row.try_get::<String, _>("chat_id")?).bind(row.try_get::<i64, _>("seq")?),
                        _ => q.bind(row.try_get::<i64, _>("id")?),
                    };
                    q.execute(&mut *tx).await?;
                    count += 1;
                }
            }
            tx.commit().await?;
            Ok(count)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_written_in_a_few_fixed_statement_sizes() {
        let rows: Vec<u32> = (0..90).collect();
        let sizes: Vec<usize> = fixed_chunks(&rows).map(<[u32]>::len).collect();
        assert_eq!(sizes, [64, 16, 4, 4, 1, 1]);
        assert_eq!(fixed_chunks(&rows).flatten().count(), 90);
    }
    use crate::engine::state::LanguageSource;
    use crate::engine::{ChatState, Status};
    use crate::lang::Lang;

    fn at(s: i64) -> DateTime<Utc> {
        from_millis(1_800_000_000_000 + s * 1000)
    }

    fn keys() -> Arc<Keyring> {
        Arc::new(Keyring::parse(&format!("1:{}", "22".repeat(32))).unwrap())
    }

    #[tokio::test]
    async fn a_committed_turn_survives_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("careline.db");
        {
            let store = SqliteStore::open(&path, keys()).await.unwrap();
            let mut state = ChatState::new(Lang::Es, LanguageSource::Chosen);
            state.status = Status::Queued;
            let mut chat = ChatRecord::new("c1".into(), vec![7; 32], state, at(0));
            chat.seq = 2;
            chat.queued_at = Some(at(1));
            let message = |seq, sender, text: &str| MessageRecord {
                chat: "c1".into(),
                seq,
                at: at(seq),
                sender,
                kind: "text".into(),
                author: None,
                text: text.into(),
                client_id: (sender == Sender::Patient).then(|| format!("browser-{seq}")),
            };
            store
                .commit(Commit {
                    chat: Some(chat),
                    messages: vec![message(1, Sender::Patient, "hola"), message(2, Sender::Bot, "¡Hola!")],
                    whispers: vec![],
                    callbacks: vec![],
                    audits: vec![],
                })
                .await
                .unwrap();
        }
        let store = SqliteStore::open(&path, keys()).await.unwrap();
        let open = store.open_chats().await.unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].state.language, Lang::Es);
        assert_eq!(open[0].queued_at, Some(at(1)));
        let transcript = store.transcript("c1").await.unwrap();
        assert_eq!(transcript.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["hola", "¡Hola!"]);
        assert_eq!(transcript[0].sender, Sender::Patient);
        assert!(
            store.has_client_message("c1", "browser-1").await.unwrap(),
            "the browser's id is stored with the message"
        );
        assert!(!store.has_client_message("c1", "browser-2").await.unwrap());
    }
}
