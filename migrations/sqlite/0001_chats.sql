-- Chats, their transcripts, whispers, call-back requests and audit records.
-- Times are milliseconds since the Unix epoch (UTC). One row per chat holds its engine state (JSON)
-- plus the columns routing and metrics read, so a restart restores everything from this file.

CREATE TABLE chats (
    id                   TEXT PRIMARY KEY,
    token_hash           BLOB NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    last_patient_at      INTEGER,
    status               TEXT NOT NULL,
    language             TEXT NOT NULL,
    state                TEXT NOT NULL,
    seq                  INTEGER NOT NULL,
    exchanges            INTEGER NOT NULL,
    queue                TEXT,
    priority             TEXT,
    handoff_reason       TEXT,
    handoff_at           INTEGER,
    queued_at            INTEGER,
    interpreter          INTEGER NOT NULL DEFAULT 0,
    agent                TEXT,
    accepted_at          INTEGER,
    first_agent_reply_at INTEGER,
    contained            INTEGER NOT NULL DEFAULT 0,
    phone_escalation     INTEGER NOT NULL DEFAULT 0,
    csat                 INTEGER,
    closed_at            INTEGER,
    closed_by            TEXT,
    disposition          TEXT,
    review_needed        INTEGER,
    review_reason_right  INTEGER,
    review_reason        TEXT
);
CREATE INDEX chats_open ON chats (status) WHERE status <> 'closed';
CREATE INDEX chats_created ON chats (created_at);

CREATE TABLE messages (
    chat_id TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    sender  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    author  TEXT,
    body    TEXT NOT NULL,
    PRIMARY KEY (chat_id, seq)
) WITHOUT ROWID;

CREATE TABLE whispers (
    id      INTEGER PRIMARY KEY,
    chat_id TEXT NOT NULL,
    at      INTEGER NOT NULL,
    body    TEXT NOT NULL
);
CREATE INDEX whispers_chat ON whispers (chat_id, id);

CREATE TABLE callbacks (
    id      INTEGER PRIMARY KEY,
    chat_id TEXT NOT NULL,
    at      INTEGER NOT NULL,
    queue   TEXT NOT NULL,
    reason  TEXT NOT NULL,
    phone   TEXT,
    note    TEXT,
    by      TEXT NOT NULL
);

CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    chat_id TEXT,
    actor   TEXT NOT NULL,
    kind    TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE INDEX audit_chat ON audit (chat_id);
