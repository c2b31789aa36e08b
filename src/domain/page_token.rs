//! Opaque, keyset-based page tokens. A token carries the position after the last row of a page,
//! encrypted and authenticated (AES-256-GCM, a random nonce per token) together with the query it
//! was issued for. So a token that was altered, comes from another query or project, or has an old
//! format is refused instead of silently misread; and it reveals nothing: the position is an
//! internal row id shared by every project, and two tokens of the same position differ.

use aes_gcm::{
    Aes256Gcm, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::Error;

/// 1 was the signed but readable format.
const VERSION: u8 = 2;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const MAX_TOKEN_CHARS: usize = 2048;

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// After this tag of this resource (resources by internal order, then tags by key).
    TagRow { resource: i64, key: String },
    /// After this resource.
    Resource(i64),
    /// After this tag key.
    Key(String),
    /// After this change of the log.
    Change { revision: i64, seq: i64 },
}

impl Cursor {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        match self {
            Cursor::TagRow { resource, key } => {
                out.push(1);
                out.extend_from_slice(&resource.to_be_bytes());
                out.extend_from_slice(key.as_bytes());
            }
            Cursor::Resource(resource) => {
                out.push(2);
                out.extend_from_slice(&resource.to_be_bytes());
            }
            Cursor::Key(key) => {
                out.push(3);
                out.extend_from_slice(key.as_bytes());
            }
            Cursor::Change { revision, seq } => {
                out.push(4);
                out.extend_from_slice(&revision.to_be_bytes());
                out.extend_from_slice(&seq.to_be_bytes());
            }
        }
        out
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let (&kind, rest) = bytes.split_first()?;
        let int = |b: &[u8]| {
            b.get(..8)
                .map(|b| i64::from_be_bytes(b.try_into().expect("8 bytes")))
        };
        match kind {
            1 => Some(Cursor::TagRow {
                resource: int(rest)?,
                key: String::from_utf8(rest[8..].to_vec()).ok()?,
            }),
            2 if rest.len() == 8 => Some(Cursor::Resource(int(rest)?)),
            3 => Some(Cursor::Key(String::from_utf8(rest.to_vec()).ok()?)),
            4 if rest.len() == 16 => Some(Cursor::Change {
                revision: int(rest)?,
                seq: int(&rest[8..])?,
            }),
            _ => None,
        }
    }
}

/// The call and every parameter that shapes its results; a token only opens for the same binding.
#[derive(Clone)]
pub struct QueryBinding(Sha256);

impl QueryBinding {
    pub fn new(call: &str) -> Self {
        Self(Sha256::new()).text(call)
    }

    /// Adds one parameter; lengths are included, so `("ab", "c")` and `("a", "bc")` differ.
    pub fn text(mut self, s: &str) -> Self {
        self.0.update((s.len() as u64).to_be_bytes());
        self.0.update(s.as_bytes());
        self
    }

    pub fn flag(self, on: bool) -> Self {
        self.text(if on { "1" } else { "0" })
    }
}

/// Issues and opens page tokens under one secret key, shared by every server on a database.
#[derive(Clone)]
pub struct PageTokens {
    cipher: Aes256Gcm,
}

impl PageTokens {
    /// Tokens under the database's page-token secret; the cipher's key is derived from it, so the
    /// secret itself is used for nothing else.
    pub fn new(secret: Vec<u8>) -> Self {
        let mut derive =
            <Hmac<Sha256> as Mac>::new_from_slice(&secret).expect("HMAC takes any key length");
        derive.update(b"tagging page tokens v2");
        let key = derive.finalize().into_bytes();
        Self {
            cipher: Aes256Gcm::new(&key),
        }
    }

    /// The version byte and the query's digest, which every token is authenticated with.
    fn associated(binding: &QueryBinding) -> Vec<u8> {
        let mut aad = vec![VERSION];
        aad.extend_from_slice(&binding.0.clone().finalize());
        aad
    }

    pub fn issue(&self, binding: &QueryBinding, cursor: &Cursor) -> String {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let payload = Payload {
            msg: &cursor.encode(),
            aad: &Self::associated(binding),
        };
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .expect("AES-GCM encrypts any cursor");
        let mut token = vec![VERSION];
        token.extend_from_slice(&nonce);
        token.extend(sealed);
        URL_SAFE_NO_PAD.encode(token)
    }

    /// The cursor of `token`, `None` for the empty token (the first page).
    pub fn open(&self, token: &str, binding: &QueryBinding) -> Result<Option<Cursor>, Error> {
        if token.is_empty() {
            return Ok(None);
        }
        let foreign = || {
            Error::invalid(
                "next_token",
                "is not a token this service issued for this query",
            )
        };
        if token.len() > MAX_TOKEN_CHARS {
            return Err(foreign());
        }
        let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| foreign())?;
        if raw.len() < 1 + NONCE_LEN + TAG_LEN {
            return Err(foreign());
        }
        if raw[0] != VERSION {
            return Err(Error::invalid(
                "next_token",
                "was issued in a format this server no longer reads; start again from the first page",
            ));
        }
        let (nonce, sealed) = raw[1..].split_at(NONCE_LEN);
        let payload = Payload {
            msg: sealed,
            aad: &Self::associated(binding),
        };
        let cursor = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| {
                Error::invalid(
                    "next_token",
                    "does not belong to this query: it was issued for other parameters or another project, or it was altered",
                )
            })?;
        Cursor::decode(&cursor).map(Some).ok_or_else(foreign)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> PageTokens {
        PageTokens::new(b"0123456789abcdef0123456789abcdef".to_vec())
    }

    #[test]
    fn a_token_opens_for_its_own_query_only() {
        let t = tokens();
        let q = QueryBinding::new("List").text("p1").text("CLUSTER");
        for cursor in [
            Cursor::TagRow {
                resource: 42,
                key: "env/ü".into(),
            },
            Cursor::Resource(-7),
            Cursor::Key(String::new()),
        ] {
            let token = t.issue(&q, &cursor);
            assert_eq!(t.open(&token, &q).unwrap(), Some(cursor));
            let other = QueryBinding::new("List").text("p2").text("CLUSTER");
            assert!(matches!(
                t.open(&token, &other),
                Err(Error::InvalidArgument(_))
            ));
        }
    }

    #[test]
    fn altered_garbage_and_old_tokens_are_refused() {
        let t = tokens();
        let q = QueryBinding::new("List");
        let token = t.issue(&q, &Cursor::Resource(1));
        let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        raw[3] ^= 1;
        let altered = URL_SAFE_NO_PAD.encode(&raw);
        raw[0] = 0;
        let old = URL_SAFE_NO_PAD.encode(&raw);
        for bad in [altered.as_str(), old.as_str(), "not base64!", "AAAA"] {
            assert!(
                matches!(t.open(bad, &q), Err(Error::InvalidArgument(_))),
                "{bad}"
            );
        }
        assert_eq!(t.open("", &q).unwrap(), None);
    }

    #[test]
    fn tokens_of_one_position_differ_and_do_not_show_it() {
        let t = tokens();
        let q = QueryBinding::new("List");
        let (a, b) = (
            t.issue(&q, &Cursor::Resource(1)),
            t.issue(&q, &Cursor::Resource(1)),
        );
        assert_ne!(a, b, "a fresh nonce per token");
        let later = t.issue(&q, &Cursor::Resource(2));
        let bytes = |token: &str| URL_SAFE_NO_PAD.decode(token).unwrap();
        let (a, later) = (bytes(&a), bytes(&later));
        assert_eq!(a.len(), later.len());
        let differing = a.iter().zip(&later).filter(|(x, y)| x != y).count();
        assert!(
            differing > a.len() / 2,
            "no shared structure but the version: {differing}"
        );
        for token in [&a, &later] {
            let plain = 1i64.to_be_bytes();
            assert!(
                !token.windows(8).any(|w| w == plain),
                "the position is not in clear"
            );
        }
    }

    #[test]
    fn bindings_are_unambiguous() {
        let t = tokens();
        let token = t.issue(
            &QueryBinding::new("x").text("ab").text("c"),
            &Cursor::Resource(1),
        );
        assert!(
            t.open(&token, &QueryBinding::new("x").text("a").text("bc"))
                .is_err()
        );
    }
}
