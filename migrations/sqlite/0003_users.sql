-- People who log in: agents, nurses, supervisors, analysts, admins. Passwords as argon2id PHC strings;
-- sessions by the SHA-256 of their bearer token, with an expiry.
CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    languages     TEXT NOT NULL,
    skills        TEXT NOT NULL,
    capacity      INTEGER NOT NULL,
    interpreter   INTEGER NOT NULL DEFAULT 0,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    username   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (username);
