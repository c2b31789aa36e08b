-- Tokens carry a name (what or who they are for) and may expire: after `expires_at` (Unix
-- seconds) a token is refused like a revoked one. NULL: it never expires.
ALTER TABLE api_tokens ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
