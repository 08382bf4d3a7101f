//! API key issue and check.
//!
//! A key reads `sk_<public id>_<secret>`: the public id (16 base62 characters) finds the stored
//! key, and the secret (43 base62 characters, ~256 bits) is checked against its SHA-256 hash in
//! constant time. Only the hash is stored; the full key is shown once, when it is created.

use screenhook_domain::{ApiKey, CompanyId, Permission, Timestamp};
use screenhook_store::{Store, StoreError, random_id};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A key as created: the stored record and the only copy of the full key.
pub struct IssuedKey {
    pub key: ApiKey,
    pub token: String,
}

pub fn secret_sha256(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Creates and stores a new key for `company`.
pub async fn issue(
    store: &dyn Store,
    company: &CompanyId,
    description: &str,
    permissions: Vec<Permission>,
    now: Timestamp,
) -> Result<IssuedKey, StoreError> {
    let public_id = random_id("", 16);
    let secret = random_id("", 43);
    let key = ApiKey {
        public_id: public_id.clone(),
        company_id: company.clone(),
        secret_sha256: secret_sha256(&secret),
        description: description.to_owned(),
        permissions,
        created_at: now,
        revoked_at: None,
    };
    store.insert_api_key(&key).await?;
    Ok(IssuedKey { key, token: format!("sk_{public_id}_{secret}") })
}

/// Finds the live key a bearer token stands for. Unknown, malformed, revoked and wrong-secret
/// tokens are all simply `None`, so callers cannot tell them apart.
pub async fn authenticate(store: &dyn Store, token: &str) -> Result<Option<ApiKey>, StoreError> {
    let Some((public_id, secret)) = token.strip_prefix("sk_").and_then(|rest| rest.split_once('_')) else {
        return Ok(None);
    };
    let Some(key) = store.api_key(public_id).await? else {
        return Ok(None);
    };
    let matches: bool = secret_sha256(secret).as_bytes().ct_eq(key.secret_sha256.as_bytes()).into();
    Ok((matches && key.revoked_at.is_none()).then_some(key))
}
