//! API tokens. A token is `tgs_<id>_<secret>`: the id finds the stored record, and only a SHA-256 of
//! the whole token is stored, compared in constant time. Tokens are 256-bit random, so a plain hash
//! is enough (no password stretching needed).

use std::{
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{
    domain::{Error, Principal, ProjectScope, check_project_id},
    store::{TagStore, TokenRecord},
};

const PREFIX: &str = "tgs_";
const ID_HEX: usize = 16;
const SECRET_HEX: usize = 64;

/// What a new token grants.
#[derive(Debug, Clone)]
pub struct Grant {
    pub project_id: String,
    pub read_only: bool,
    pub system: bool,
}

/// Creates and stores a token; answers (id, token). The token is shown only here.
pub async fn create_token(store: &dyn TagStore, grant: &Grant) -> Result<(String, String), Error> {
    check_project_id(&grant.project_id)?;
    let mut rng = rand::rng();
    let id = hex(&random::<{ ID_HEX / 2 }>(&mut rng));
    let token = format!(
        "{PREFIX}{id}_{}",
        hex(&random::<{ SECRET_HEX / 2 }>(&mut rng))
    );
    store
        .insert_token(&TokenRecord {
            id: id.clone(),
            secret_sha256: Sha256::digest(token.as_bytes()).to_vec(),
            project_id: grant.project_id.clone(),
            read_only: grant.read_only,
            system: grant.system,
            created_at: unix_now(),
            revoked: false,
        })
        .await?;
    Ok((id, token))
}

/// Revokes a token given its id or the token itself; answers whether a live token was revoked.
pub async fn revoke_token(store: &dyn TagStore, id_or_token: &str) -> Result<bool, Error> {
    let id = parse(id_or_token).map_or(id_or_token, |(id, _)| id);
    Ok(store.revoke_token(id, unix_now()).await?)
}

fn random<const N: usize>(rng: &mut impl RngCore) -> [u8; N] {
    let mut out = [0u8; N];
    rng.fill_bytes(&mut out);
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Splits a well-formed token into its id and the whole token.
fn parse(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let well_formed = id.len() == ID_HEX
        && secret.len() == SECRET_HEX
        && id
            .bytes()
            .chain(secret.bytes())
            .all(|b| b.is_ascii_hexdigit());
    well_formed.then_some((id, token))
}

/// Turns the credentials a request presents into a [`Principal`].
pub struct Authenticator {
    store: Arc<dyn TagStore>,
    enabled: bool,
}

impl Authenticator {
    pub fn new(store: Arc<dyn TagStore>, enabled: bool) -> Self {
        Self { store, enabled }
    }

    pub async fn authenticate(&self, presented: Option<&str>) -> Result<Principal, Error> {
        if !self.enabled {
            return Ok(Principal::unauthenticated_local());
        }
        let presented = presented.ok_or_else(|| {
            Error::Unauthenticated(
                "credentials are required: send `authorization: Bearer <token>` or `x-auth-token: <token>`".into(),
            )
        })?;
        // One message for every kind of bad token, so a caller learns nothing about which ids exist.
        let invalid = || Error::Unauthenticated("the token is not valid".into());
        let (id, token) = parse(presented).ok_or_else(invalid)?;
        let record = self.store.find_token(id).await?.ok_or_else(invalid)?;
        let digest = Sha256::digest(token.as_bytes());
        if record.revoked || !bool::from(digest.as_slice().ct_eq(&record.secret_sha256)) {
            return Err(invalid());
        }
        // Every call's log line names the caller's project; this is where it becomes known.
        tracing::Span::current().record("project", record.project_id.as_str());
        Ok(Principal {
            scope: ProjectScope::One(record.project_id),
            read_only: record.read_only,
            system: record.system,
        })
    }
}

/// The token of a request: `Bearer <token>` in `authorization`, else `x-auth-token`.
pub fn presented_token<'a>(
    authorization: Option<&'a str>,
    x_auth_token: Option<&'a str>,
) -> Option<&'a str> {
    authorization
        .and_then(|a| {
            a.strip_prefix("Bearer ")
                .or_else(|| a.strip_prefix("bearer "))
        })
        .or(x_auth_token)
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_only_the_exact_shape() {
        let token = format!("tgs_{}_{}", "a".repeat(16), "b".repeat(64));
        assert_eq!(parse(&token).map(|(id, _)| id), Some("aaaaaaaaaaaaaaaa"));
        for bad in [
            "",
            "tgs_",
            "tgs_abc_def",
            &token[..token.len() - 1],
            &token.replace("tgs_", "xyz_"),
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn presented_token_prefers_bearer() {
        assert_eq!(presented_token(Some("Bearer t1"), Some("t2")), Some("t1"));
        assert_eq!(presented_token(None, Some("t2")), Some("t2"));
        assert_eq!(presented_token(Some("Basic x"), None), None);
    }
}
