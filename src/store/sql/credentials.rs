//! The statements of credentials and server keys: fixed text, arguments bound in order.

pub const INSERT_PAGE_KEY: &str = "INSERT INTO server_keys (name, secret) VALUES ('page_tokens', $1) ON CONFLICT (name) DO NOTHING";

pub const SELECT_PAGE_KEY: &str = "SELECT secret FROM server_keys WHERE name = 'page_tokens'";

pub const INSERT_TOKEN: &str = "INSERT INTO api_tokens (id, secret_sha256, project_id, read_only, system, created_at, name, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
pub const SELECT_TOKEN: &str = "SELECT id, secret_sha256, project_id, read_only, system, created_at, revoked_at IS NOT NULL AS revoked, name, expires_at FROM api_tokens WHERE id = $1";
pub const SELECT_TOKENS: &str = "SELECT id, secret_sha256, project_id, read_only, system, created_at, revoked_at IS NOT NULL AS revoked, name, expires_at FROM api_tokens ORDER BY created_at, id";
pub const TOKEN_LIVE: &str = "SELECT 1 FROM api_tokens WHERE id = $1 AND revoked_at IS NULL";
pub const REVOKE_TOKEN: &str =
    "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";

pub const INSERT_ACCESS_KEY: &str = "INSERT INTO access_keys (id, secret_sealed, project_id, read_only, created_at) VALUES ($1, $2, $3, $4, $5)";
pub const SELECT_ACCESS_KEY: &str = "SELECT id, secret_sealed, project_id, read_only, created_at, revoked_at IS NOT NULL AS revoked FROM access_keys WHERE id = $1";
pub const SELECT_ACCESS_KEYS: &str = "SELECT id, secret_sealed, project_id, read_only, created_at, revoked_at IS NOT NULL AS revoked FROM access_keys ORDER BY created_at, id";
pub const REVOKE_ACCESS_KEY: &str =
    "UPDATE access_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
pub const INSERT_MASTER_KEY_CHECK: &str = "INSERT INTO server_keys (name, secret) VALUES ('master_key_check', $1) ON CONFLICT (name) DO NOTHING";
/// Replaces the master key's check value, if it is still `$1`.
pub const REPLACE_MASTER_KEY_CHECK: &str =
    "UPDATE server_keys SET secret = $2 WHERE name = 'master_key_check' AND secret = $1";
pub const RESEAL_ACCESS_KEY: &str = "UPDATE access_keys SET secret_sealed = $2 WHERE id = $1";
pub const COUNT_ACCESS_KEYS: &str = "SELECT count(*) FROM access_keys";
pub const SELECT_MASTER_KEY_CHECK: &str =
    "SELECT secret FROM server_keys WHERE name = 'master_key_check'";
/// A nonce is new if unseen, or seen on a request whose accepted window has passed.
pub const CLAIM_NONCE: &str = "INSERT INTO signature_nonces (access_key_id, nonce, expires_at) VALUES ($1, $2, $3) ON CONFLICT (access_key_id, nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE signature_nonces.expires_at < $4";
pub const PURGE_NONCES: &str = "DELETE FROM signature_nonces WHERE expires_at < $1";
/// A signed write is done once: its signature, taken in the write's own transaction.
pub const CLAIM_ONCE: &str = "INSERT INTO signature_nonces (access_key_id, nonce, expires_at) VALUES ($1, $2, $3) ON CONFLICT (access_key_id, nonce) DO NOTHING";
