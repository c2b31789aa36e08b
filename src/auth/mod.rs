//! Who is calling. Two kinds of credential:
//! - API tokens, `tgs_<id>_<secret>`: the id finds the stored record, and only a SHA-256 of the
//!   whole token is stored, compared in constant time. Tokens are 256-bit random, so a plain hash is
//!   enough (no password stretching needed).
//! - Access key pairs, for the clouds' SDKs, which sign each REST request (see [`signature`]).

mod access_keys;
mod master_key;
pub mod signature;

use std::{
    collections::HashMap,
    sync::{Arc, PoisonError, RwLock},
    time::{SystemTime, UNIX_EPOCH},
};

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use access_keys::{check_master_key, create_access_key, revoke_access_key, rotate_master_key};
pub use master_key::MasterKey;

use crate::{
    domain::{
        Access, CredentialIds, Error, Principal, ProjectScope, SignatureFault, SignedOnce,
        check_project_id,
    },
    store::{CredentialStore, TokenRecord},
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

/// What a new token is called and how long it lives.
#[derive(Debug, Clone, Default)]
pub struct TokenLife {
    pub name: String,
    /// Seconds from its creation after which the token is refused; `None`: never.
    pub expires_in: Option<u64>,
}

/// Creates and stores a token that never expires; answers (id, token).
pub async fn create_token(
    store: &dyn CredentialStore,
    grant: &Grant,
) -> Result<(String, String), Error> {
    create_named_token(store, grant, &TokenLife::default()).await
}

/// Creates and stores a token; answers (id, token). The token is shown only here.
pub async fn create_named_token(
    store: &dyn CredentialStore,
    grant: &Grant,
    life: &TokenLife,
) -> Result<(String, String), Error> {
    check_project_id(&grant.project_id)?;
    let mut rng = rand::rng();
    let id = hex(&random::<{ ID_HEX / 2 }>(&mut rng));
    let token = format!(
        "{PREFIX}{id}_{}",
        hex(&random::<{ SECRET_HEX / 2 }>(&mut rng))
    );
    let created_at = unix_now();
    let expires_at = life
        .expires_in
        .map(|secs| created_at.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)));
    store
        .insert_token(&TokenRecord {
            id: id.clone(),
            secret_sha256: Sha256::digest(token.as_bytes()).to_vec(),
            project_id: grant.project_id.clone(),
            read_only: grant.read_only,
            system: grant.system,
            created_at,
            revoked: false,
            name: life.name.clone(),
            expires_at,
        })
        .await?;
    Ok((id, token))
}

/// Revokes a token given its id or the token itself; answers whether a live token was revoked.
pub async fn revoke_token(store: &dyn CredentialStore, id_or_token: &str) -> Result<bool, Error> {
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

/// How many live tokens the authenticator remembers. Deployments have a handful; past this many
/// the memory starts over rather than keep bookkeeping for which to drop.
const MAX_REMEMBERED: usize = 10_000;

/// What a live token grants, as last read from the database. Only revocation changes a token,
/// and every call of a remembered token checks that in its own statement; its expiry is known.
struct Remembered {
    secret_sha256: Vec<u8>,
    project_id: String,
    read_only: bool,
    system: bool,
    expires_at: Option<i64>,
}

/// Turns the credentials a request presents into a [`Principal`].
pub struct Authenticator {
    store: Arc<dyn CredentialStore>,
    enabled: bool,
    master_key: Option<MasterKey>,
    remembered: RwLock<HashMap<String, Remembered>>,
}

impl Authenticator {
    pub fn new(
        store: Arc<dyn CredentialStore>,
        enabled: bool,
        master_key: Option<MasterKey>,
    ) -> Self {
        Self {
            store,
            enabled,
            master_key,
            remembered: RwLock::default(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The caller of a signed request that may also carry a token: both must be valid and for
    /// the same project, and the narrower grant applies.
    pub async fn authenticate_signed(
        &self,
        signed: &signature::SignedRequest,
        token: Option<&str>,
        access: Access,
    ) -> Result<Principal, Error> {
        let by_key = self.verify_signature(signed).await?;
        let Some(token) = token else {
            return Ok(by_key);
        };
        let by_token = self.authenticate(Some(token), access).await?;
        if by_token.scope != by_key.scope {
            return Err(Error::PermissionDenied(
                "the token and the access key belong to different projects".into(),
            ));
        }
        Ok(Principal {
            scope: by_key.scope,
            read_only: by_key.read_only || by_token.read_only,
            system: false,
            unconfirmed_token: by_token.unconfirmed_token,
            once: by_key.once,
            credentials: CredentialIds {
                token: by_token.credentials.token,
                access_key: by_key.credentials.access_key,
            },
        })
    }

    /// Forgets the nonces of signed requests whose date is no longer accepted anyway.
    pub async fn forget_expired_nonces(&self) -> Result<u64, Error> {
        Ok(self.store.purge_nonces(unix_now()).await?)
    }

    /// The caller of a signed request: the key's project and grant, once the key is known and live,
    /// the signature is the one its secret gives, and (ACS3) the nonce is new.
    pub async fn verify_signature(
        &self,
        signed: &signature::SignedRequest,
    ) -> Result<Principal, Error> {
        let master = self.master_key.as_ref().ok_or_else(|| {
            Error::BadSignature(
                SignatureFault::NotEnabled,
                "this server checks no signatures: it was started without a master key (TAGGING_MASTER_KEY or --master-key-file)".into(),
            )
        })?;
        let id = signed.access_key_id.as_str();
        let record = match access_keys::well_formed_id(id) {
            true => self.store.find_access_key(id).await?,
            false => None,
        };
        let record = record.filter(|r| !r.revoked).ok_or_else(|| {
            Error::BadSignature(
                SignatureFault::UnknownKey,
                "the access key id is not a live key of this service".into(),
            )
        })?;
        let secret = master
            .open(
                &access_keys::sealing_context(&record),
                &record.secret_sealed,
            )
            .ok_or_else(|| {
                Error::Internal(format!(
                    "the sealed secret of access key {id} does not open under the master key"
                ))
            })?;
        let expected = signature::sign(&secret, &signed.string_to_sign);
        if !bool::from(expected.as_bytes().ct_eq(signed.signature.as_bytes())) {
            // The string to sign holds no secret, and it is what a client needs to find its mistake.
            return Err(Error::BadSignature(
                SignatureFault::Mismatch,
                format!(
                    "the signature does not match; the server's string to sign is {:?}",
                    signed.string_to_sign
                ),
            ));
        }
        let expires_at = signed.date + signature::MAX_SKEW_SECS;
        if let Some(nonce) = &signed.nonce
            && !self
                .store
                .claim_nonce(id, nonce, expires_at, unix_now())
                .await?
        {
            return Err(Error::BadSignature(
                SignatureFault::NonceUsed,
                "`x-acs-signature-nonce` was already used: a replayed request".into(),
            ));
        }
        tracing::Span::current().record("project", record.project_id.as_str());
        Ok(Principal {
            scope: ProjectScope::One(record.project_id),
            read_only: record.read_only,
            system: false,
            unconfirmed_token: None,
            once: signed.nonce.is_none().then(|| SignedOnce {
                access_key_id: id.to_owned(),
                signature: signed.signature.clone(),
                expires_at,
            }),
            credentials: CredentialIds {
                token: None,
                access_key: Some(id.to_owned()),
            },
        })
    }

    /// The caller a token makes. A read may be authorised by a token remembered from an earlier
    /// call, which its statement then confirms live (see [`Principal::unconfirmed_token`]): one
    /// round trip to the database per read instead of two. A write reads the token afresh.
    pub async fn authenticate(
        &self,
        presented: Option<&str>,
        access: Access,
    ) -> Result<Principal, Error> {
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
        let digest = Sha256::digest(token.as_bytes());
        let matches = |stored: &[u8]| bool::from(digest.as_slice().ct_eq(stored));
        if access == Access::Read {
            let remembered = self
                .remembered
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            let live = |known: &&Remembered| known.expires_at.is_none_or(|e| unix_now() < e);
            if let Some(known) = remembered.get(id).filter(live) {
                if !matches(&known.secret_sha256) {
                    return Err(invalid());
                }
                tracing::Span::current().record("project", known.project_id.as_str());
                return Ok(Principal {
                    scope: ProjectScope::One(known.project_id.clone()),
                    read_only: known.read_only,
                    system: known.system,
                    unconfirmed_token: Some(id.to_owned()),
                    once: None,
                    credentials: token_id(id),
                });
            }
        }
        let record = match self.store.find_token(id).await? {
            Some(record) if record.live_at(unix_now()) => record,
            _ => {
                self.forget(id);
                return Err(invalid());
            }
        };
        if !matches(&record.secret_sha256) {
            return Err(invalid());
        }
        // Every call's log line names the caller's project; this is where it becomes known.
        tracing::Span::current().record("project", record.project_id.as_str());
        let caller = Principal {
            scope: ProjectScope::One(record.project_id.clone()),
            read_only: record.read_only,
            system: record.system,
            unconfirmed_token: None,
            once: None,
            credentials: token_id(id),
        };
        self.remember(record);
        Ok(caller)
    }

    fn remember(&self, record: TokenRecord) {
        let mut remembered = self
            .remembered
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if remembered.len() >= MAX_REMEMBERED && !remembered.contains_key(&record.id) {
            remembered.clear();
        }
        remembered.insert(
            record.id,
            Remembered {
                secret_sha256: record.secret_sha256,
                project_id: record.project_id,
                read_only: record.read_only,
                system: record.system,
                expires_at: record.expires_at,
            },
        );
    }

    /// Forgets a remembered token (a caller's `unconfirmed_token`) once a call of it was refused
    /// as unauthenticated: its statement found it revoked.
    pub fn forget_if_refused<T>(&self, unconfirmed_token: Option<&str>, result: &Result<T, Error>) {
        if let (Some(id), Err(Error::Unauthenticated(_))) = (unconfirmed_token, result) {
            self.forget(id);
        }
    }

    /// Whether every credential `ids` names is still live (not revoked nor expired), read from
    /// the database: a stream that outlives its call asks this from time to time.
    pub async fn still_live(&self, ids: &CredentialIds) -> Result<bool, Error> {
        if let Some(id) = &ids.token {
            let live = self.store.find_token(id).await?;
            if !live.is_some_and(|t| t.live_at(unix_now())) {
                self.forget(id);
                return Ok(false);
            }
        }
        if let Some(id) = &ids.access_key {
            let key = self.store.find_access_key(id).await?;
            if key.is_none_or(|k| k.revoked) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn forget(&self, id: &str) {
        self.remembered
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }
}

/// The credential ids of a caller of the token `id`.
fn token_id(id: &str) -> CredentialIds {
    CredentialIds {
        token: Some(id.to_owned()),
        access_key: None,
    }
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
}
