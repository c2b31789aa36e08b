//! The master key: it seals access-key secrets at rest (AES-256-GCM). The server needs a secret in
//! clear to check an HMAC signature, so unlike tokens it cannot keep only a hash; the key that
//! unseals them comes from configuration, never from the database, so a copy of the database alone
//! yields no usable secret.

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;

/// 32 secret bytes. `Debug` shows nothing of them, so the key cannot reach a log by accident.
#[derive(Clone)]
pub struct MasterKey([u8; KEY_LEN]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

impl MasterKey {
    /// A new random key, as printed by `master-key generate`.
    pub fn generate() -> Self {
        let mut key = [0u8; KEY_LEN];
        rand::rng().fill_bytes(&mut key);
        Self(key)
    }

    /// Reads the base64 text of a key; surrounding whitespace (a file's newline) is ignored.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| "must be base64 (standard alphabet, padded)".to_owned())?;
        let key: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("must decode to {KEY_LEN} bytes, not {}", b.len()))?;
        Ok(Self(key))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Encrypts `secret`, bound to `context` (what the secret belongs to): a sealed secret copied
    /// to another row, or a row whose grant was edited, no longer opens.
    pub fn seal(&self, context: &[u8], secret: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(
                (&nonce).into(),
                Payload {
                    msg: secret,
                    aad: context,
                },
            )
            .expect("AES-GCM encrypts any message shorter than 64 GiB");
        [nonce.as_slice(), &sealed].concat()
    }

    /// The secret sealed under `context`, or `None` when it was sealed under another key or
    /// context, or altered.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        self.cipher()
            .decrypt(
                nonce.into(),
                Payload {
                    msg: body,
                    aad: context,
                },
            )
            .ok()
    }

    /// A value that identifies this key without revealing it: stored once in the database so a
    /// server started with another key refuses to run instead of failing every signed call.
    pub fn check_value(&self) -> Vec<u8> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"tagging-service master key check v1");
        mac.finalize().into_bytes().to_vec()
    }

    pub fn matches_check_value(&self, stored: &[u8]) -> bool {
        self.check_value().ct_eq(stored).into()
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new((&self.0).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_context() {
        let key = MasterKey::generate();
        let sealed = key.seal(b"AK1", b"secret");
        assert_eq!(key.open(b"AK1", &sealed).as_deref(), Some(&b"secret"[..]));
        assert_eq!(key.open(b"AK2", &sealed), None);
        assert_eq!(MasterKey::generate().open(b"AK1", &sealed), None);
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(key.open(b"AK1", &altered), None);
        assert_eq!(key.open(b"AK1", &sealed[..5]), None);
    }

    #[test]
    fn base64_round_trips_and_bad_text_is_explained() {
        let key = MasterKey::generate();
        let again = MasterKey::from_base64(&format!("{}\n", key.to_base64())).unwrap();
        assert!(again.matches_check_value(&key.check_value()));
        assert!(!MasterKey::generate().matches_check_value(&key.check_value()));
        assert!(
            MasterKey::from_base64("not base64!")
                .unwrap_err()
                .contains("base64")
        );
        assert!(
            MasterKey::from_base64("AAAA")
                .unwrap_err()
                .contains("32 bytes")
        );
        assert_eq!(format!("{key:?}"), "MasterKey(…)");
    }
}
