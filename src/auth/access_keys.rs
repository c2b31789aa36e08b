//! Access key pairs for the SDKs' AK/SK signatures. The id is public (it travels in every
//! `Authorization` header); the secret is shown once, at creation, and kept only sealed under the
//! master key, bound to the key's id and grant.

use rand::Rng;

use super::{Grant, MasterKey, unix_now};
use crate::{
    domain::{Error, check_project_id},
    store::{AccessKeyRecord, CredentialStore},
};

const ID_PREFIX: &str = "TGS";
/// 20 characters in all, the length of both clouds' access key ids.
const ID_RANDOM_CHARS: usize = 17;
/// 40 characters, like both clouds' secrets: about 238 bits.
const SECRET_CHARS: usize = 40;
const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Creates and stores an access key; answers (id, secret). The secret is shown only here.
pub async fn create_access_key(
    store: &dyn CredentialStore,
    master: &MasterKey,
    grant: &Grant,
) -> Result<(String, String), Error> {
    check_project_id(&grant.project_id)?;
    check_master_key(store, master).await?;
    let id = format!("{ID_PREFIX}{}", random_text(ID_ALPHABET, ID_RANDOM_CHARS));
    let secret = random_text(SECRET_ALPHABET, SECRET_CHARS);
    let record = AccessKeyRecord {
        id: id.clone(),
        secret_sealed: Vec::new(),
        project_id: grant.project_id.clone(),
        read_only: grant.read_only,
        created_at: unix_now(),
        revoked: false,
    };
    let secret_sealed = master.seal(&sealing_context(&record), secret.as_bytes());
    store
        .insert_access_key(&AccessKeyRecord {
            secret_sealed,
            ..record
        })
        .await?;
    Ok((id, secret))
}

/// Revokes an access key; answers whether a live key was revoked.
pub async fn revoke_access_key(store: &dyn CredentialStore, id: &str) -> Result<bool, Error> {
    Ok(store.revoke_access_key(id, unix_now()).await?)
}

/// Refuses a master key other than the one this database's keys were sealed under (the first one
/// ever used with it is recorded).
pub async fn check_master_key(
    store: &dyn CredentialStore,
    master: &MasterKey,
) -> Result<(), Error> {
    let stored = store.master_key_check(&master.check_value()).await?;
    if master.matches_check_value(&stored) {
        Ok(())
    } else {
        Err(Error::invalid(
            "master_key",
            "is not the master key this database's access keys are sealed under (TAGGING_MASTER_KEY or --master-key-file)",
        ))
    }
}

/// Seals every access key's secret under `new` instead of `current`, in one transaction; answers
/// how many were sealed anew. Servers must then run with `new`: one still holding `current`
/// refuses to start, and refuses signed requests until restarted.
pub async fn rotate_master_key(
    store: &dyn CredentialStore,
    current: &MasterKey,
    new: &MasterKey,
) -> Result<usize, Error> {
    check_master_key(store, current).await?;
    let mut resealed = Vec::new();
    for key in store.list_access_keys().await? {
        let context = sealing_context(&key);
        let secret = current.open(&context, &key.secret_sealed).ok_or_else(|| {
            Error::invalid(
                "access_keys",
                format!(
                    "the secret of {} does not open under the current master key: nothing was changed",
                    key.id
                ),
            )
        })?;
        resealed.push((key.id, new.seal(&context, &secret)));
    }
    let count = resealed.len();
    if !store
        .reseal_access_keys(&resealed, &current.check_value(), &new.check_value())
        .await?
    {
        return Err(Error::invalid(
            "master_key",
            "the access keys or the master key changed during the rotation (another rotation, or a key created meanwhile): nothing was changed; run it again",
        ));
    }
    Ok(count)
}

/// What a sealed secret is bound to: the key's id and its grant, so editing a row's project or
/// read-only flag in the database makes its secret unusable rather than widening it.
pub(super) fn sealing_context(key: &AccessKeyRecord) -> Vec<u8> {
    format!(
        "tagging-service access key v1\0{}\0{}\0{}",
        key.id, key.project_id, key.read_only
    )
    .into_bytes()
}

/// Whether `id` has the shape of our ids, so garbage never reaches the database.
pub(super) fn well_formed_id(id: &str) -> bool {
    id.strip_prefix(ID_PREFIX).is_some_and(|rest| {
        rest.len() == ID_RANDOM_CHARS && rest.bytes().all(|b| ID_ALPHABET.contains(&b))
    })
}

fn random_text(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_one_shape() {
        let id = format!("{ID_PREFIX}{}", random_text(ID_ALPHABET, ID_RANDOM_CHARS));
        assert_eq!(id.len(), 20);
        assert!(well_formed_id(&id));
        for bad in ["", "TGS", &id[..19], &id.to_lowercase(), &format!("{id}A")] {
            assert!(!well_formed_id(bad), "{bad}");
        }
    }
}
