-- Console sessions ended by their logout, on every node, until they would
-- have expired anyway (then purged).
CREATE TABLE ended_console_sessions (
    nonce      TEXT   PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
