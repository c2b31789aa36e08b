-- Access keys for AK/SK request signatures. The server must know a key's secret to check an HMAC,
-- so the secret is kept sealed (AES-256-GCM) under a master key that never enters the database.
CREATE TABLE access_keys (
    id            TEXT PRIMARY KEY,
    secret_sealed BYTEA NOT NULL,
    project_id    TEXT NOT NULL,
    read_only     BOOLEAN NOT NULL,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);

-- Nonces of signed requests seen within the accepted clock skew: each is accepted once.
CREATE TABLE signature_nonces (
    access_key_id TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (access_key_id, nonce)
);

CREATE INDEX signature_nonces_expiry ON signature_nonces (expires_at);
