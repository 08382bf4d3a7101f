//! Secrets at rest. HMAC signing needs a webhook's raw secret, so it cannot be hashed like an
//! API key; it is sealed instead, with AES-256-GCM under the operator's key, before it reaches
//! the database. A session's candidate-link token and report token cannot be hashed either:
//! the API hands out `invitationUrl` on every read of a session, and the report link goes into
//! its result events. They are sealed the same way. A copied database file, a backup or a
//! `pg_dump` holds only ciphertext of all three.
//!
//! A sealed value reads `sealed:v1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>`. The nonce
//! is random (96 bits: safe for far more secrets than a deployment will ever seal under one
//! key). The associated data is the webhook's id (a session's id and the token's field), so a
//! sealed value copied onto another row, or into the other field, does not open. The key id (8 hex digits of a SHA-256 of the key) names the
//! key that sealed it, which is what makes **key rotation** work: the stores open values under
//! the current key or any previous one, and [`Store::reseal_secrets`](crate::Store) rewrites
//! everything under the current key, after which the previous key can be dropped.
//!
//! Values without the `sealed:` prefix are secrets written before sealing existed; they are
//! read as they are and sealed by the next reseal (every server start runs one).

use std::{fmt, io::Write as _, path::Path};

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use screenhook_domain::{Change, CompanyTestSession, Webhook, WebhookId};
use sha2::{Digest, Sha256};

use crate::StoreError;

const PREFIX: &str = "sealed:v1:";
/// Bytes in a key.
pub const KEY_LEN: usize = 32;

/// Why a key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "{what}: not base64 ({err}); allowed: 32 random bytes in base64, as `screenhook secrets generate-key` prints"
    )]
    NotBase64 { what: String, err: base64::DecodeError },
    #[error("{what}: {len} bytes; allowed: exactly 32 bytes in base64, as `screenhook secrets generate-key` prints")]
    WrongLength { what: String, len: usize },
    #[error("key file {path}: {err}")]
    File { path: String, err: std::io::Error },
}

struct Key {
    id: String,
    aead: RandomizedNonceKey,
}

impl Key {
    fn new(bytes: &[u8; KEY_LEN]) -> Key {
        let digest = Sha256::new().chain_update(b"screenhook secrets key id\0").chain_update(bytes).finalize();
        let aead = RandomizedNonceKey::new(&AES_256_GCM, bytes).expect("a 32-byte key is valid for AES-256-GCM");
        Key { id: hex::encode(&digest[..4]), aead }
    }
}

/// The keys secrets are sealed with: one current key that seals, and previous keys that still
/// open what they sealed until a reseal moves it to the current one.
pub struct SecretKeys {
    current: Result<Key, String>,
    previous: Vec<Key>,
}

impl fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let previous: Vec<&str> = self.previous.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("SecretKeys").field("current", &self.current_id()).field("previous", &previous).finish()
    }
}

impl SecretKeys {
    pub fn new(current: &[u8; KEY_LEN], previous: &[[u8; KEY_LEN]]) -> SecretKeys {
        SecretKeys { current: Ok(Key::new(current)), previous: previous.iter().map(Key::new).collect() }
    }

    /// No key configured: everything but webhook secrets works, and sealing or opening one
    /// fails with `why` (which should say how to configure a key).
    pub fn unset(why: impl Into<String>) -> SecretKeys {
        SecretKeys { current: Err(why.into()), previous: Vec::new() }
    }

    /// Why there is no current key, if there is none.
    pub fn missing(&self) -> Option<&str> {
        self.current.as_ref().err().map(String::as_str)
    }

    fn key(&self) -> Result<&Key, StoreError> {
        self.current.as_ref().map_err(|why| StoreError::Unavailable(why.clone()))
    }

    fn all(&self) -> impl Iterator<Item = &Key> {
        self.current.as_ref().ok().into_iter().chain(&self.previous)
    }

    /// Keys as configuration gives them: base64 text. `what` names the setting in errors.
    pub fn parse(current: (&str, &str), previous: &[(&str, &str)]) -> Result<SecretKeys, KeyError> {
        let current = decode_key(current.0, current.1)?;
        let previous = previous.iter().map(|(what, text)| decode_key(what, text)).collect::<Result<Vec<_>, _>>()?;
        Ok(SecretKeys::new(&current, &previous))
    }

    /// A fresh random key, base64.
    pub fn generate() -> String {
        let mut bytes = [0u8; KEY_LEN];
        rand::Rng::fill(&mut rand::rng(), &mut bytes);
        BASE64.encode(bytes)
    }

    /// The key in the file at `path` (its only line), with `previous` keys as in [`parse`](Self::parse).
    pub fn from_file(path: &Path, previous: &[(&str, &str)]) -> Result<SecretKeys, KeyError> {
        let text =
            std::fs::read_to_string(path).map_err(|err| KeyError::File { path: path.display().to_string(), err })?;
        SecretKeys::parse((&format!("key file {}", path.display()), text.trim()), previous)
    }

    /// [`from_file`](Self::from_file), first creating the file (readable by its owner only)
    /// with a fresh key if there is none: what an SQLite deployment uses when no key is
    /// configured.
    pub fn from_file_or_create(path: &Path, previous: &[(&str, &str)]) -> Result<SecretKeys, KeyError> {
        let file_err = |err| KeyError::File { path: path.display().to_string(), err };
        if !path.exists() {
            // Written whole under a name of its own, then linked into place: a second process
            // starting at the same moment either wins the link or reads the complete winner,
            // never a file still being written.
            static DRAFTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = DRAFTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let draft = path.with_extension(format!("key.{}-{n}.tmp", std::process::id()));
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let written = options.open(&draft).and_then(|mut file| {
                file.write_all(format!("{}\n", SecretKeys::generate()).as_bytes())?;
                file.sync_all()
            });
            let linked = written.and_then(|()| std::fs::hard_link(&draft, path));
            let _ = std::fs::remove_file(&draft);
            match linked {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(err) => return Err(file_err(err)),
            }
        }
        SecretKeys::from_file(path, previous)
    }

    /// The id of the key that seals (`unset` when there is none).
    pub fn current_id(&self) -> &str {
        self.current.as_ref().map_or("unset", |key| key.id.as_str())
    }

    /// Seals `plain` for the webhook `owner`.
    pub fn seal(&self, owner: &WebhookId, plain: &str) -> Result<String, StoreError> {
        self.seal_for(owner.as_str(), plain)
    }

    /// Opens what [`seal`](Self::seal) wrote for `owner`, under whichever configured key sealed
    /// it; a value from before sealing existed is returned as it is.
    pub fn open(&self, owner: &WebhookId, stored: &str) -> Result<String, StoreError> {
        self.open_for(&Sealed { owner: &format!("webhook {owner}"), field: "secret", aad: owner.as_str() }, stored)
    }

    /// Seals `plain` bound to `aad`: it opens only with the same associated data.
    fn seal_for(&self, aad: &str, plain: &str) -> Result<String, StoreError> {
        let key = self.key()?;
        let mut data = plain.as_bytes().to_vec();
        let nonce = key
            .aead
            .seal_in_place_append_tag(Aad::from(aad.as_bytes()), &mut data)
            .expect("sealing into a growable buffer cannot fail");
        let mut out = nonce.as_ref().to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{PREFIX}{}:{}", key.id, BASE64.encode(out)))
    }

    fn open_for(&self, what: &Sealed<'_>, stored: &str) -> Result<String, StoreError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else { return Ok(stored.to_owned()) };
        let Sealed { owner, field, aad } = what;
        let corrupt = |why: &str| StoreError::Corrupt(format!("{owner}: its sealed {field} {why}"));
        let (id, body) = rest.split_once(':').ok_or_else(|| corrupt("has no key id"))?;
        self.key()?;
        let key = self.all().find(|k| k.id == id).ok_or_else(|| {
            StoreError::Unavailable(format!(
                "{owner}: its {field} is sealed with key {id}, which is not configured \
                 (configured: {}); add that key as a previous secrets key",
                self.all().map(|k| k.id.as_str()).collect::<Vec<_>>().join(", ")
            ))
        })?;
        let bytes = BASE64.decode(body).map_err(|_| corrupt("is not base64"))?;
        if bytes.len() < NONCE_LEN {
            return Err(corrupt("is truncated"));
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| corrupt("has a bad nonce"))?;
        let mut data = sealed.to_vec();
        let plain = key
            .aead
            .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut data)
            .map_err(|_| corrupt(&format!("does not open with key {id} (altered, or moved from another row)")))?;
        String::from_utf8(plain.to_vec()).map_err(|_| corrupt("is not UTF-8"))
    }

    /// Whether a stored value is sealed under the current key (else a reseal rewrites it).
    pub fn is_current(&self, stored: &str) -> bool {
        stored.strip_prefix(PREFIX).and_then(|rest| rest.split_once(':')).is_some_and(|(id, _)| id == self.current_id())
    }

    /// The webhook as it is stored: every secret sealed.
    pub fn seal_webhook(&self, webhook: &Webhook) -> Result<Webhook, StoreError> {
        let mut stored = webhook.clone();
        if let Some(secret) = &mut stored.secret {
            *secret = self.seal(&webhook.id, secret)?;
        }
        for retired in &mut stored.retired_secrets {
            retired.secret = self.seal(&webhook.id, &retired.secret)?;
        }
        Ok(stored)
    }

    /// The webhook as it was before [`seal_webhook`](Self::seal_webhook).
    pub fn open_webhook(&self, mut stored: Webhook) -> Result<Webhook, StoreError> {
        if let Some(secret) = &mut stored.secret {
            *secret = self.open(&stored.id, secret)?;
        }
        for retired in &mut stored.retired_secrets {
            retired.secret = self.open(&stored.id, &retired.secret)?;
        }
        Ok(stored)
    }

    /// Whether any secret of a stored webhook is not sealed under the current key.
    pub fn needs_reseal(&self, stored: &Webhook) -> bool {
        stored.secret.iter().chain(stored.retired_secrets.iter().map(|r| &r.secret)).any(|s| !self.is_current(s))
    }

    /// The session as it is stored: its candidate-link token and its report token sealed,
    /// each bound to the session and the field, so neither opens on another row or as the
    /// other token.
    pub fn seal_session(&self, session: &mut CompanyTestSession) -> Result<(), StoreError> {
        let id = session.id.as_str();
        session.candidate_token = self.seal_for(&session_aad(id, CANDIDATE), &session.candidate_token)?;
        if let Some(result) = &mut session.result {
            result.report_access_token = self.seal_for(&session_aad(id, REPORT), &result.report_access_token)?;
        }
        Ok(())
    }

    /// The session as it was before [`seal_session`](Self::seal_session).
    pub fn open_session(&self, mut stored: CompanyTestSession) -> Result<CompanyTestSession, StoreError> {
        let owner = format!("test session {}", stored.id);
        let id = stored.id.as_str();
        let (candidate, report) = (session_aad(id, CANDIDATE), session_aad(id, REPORT));
        let token = Sealed { owner: &owner, field: "candidate token", aad: &candidate };
        let candidate_token = self.open_for(&token, &stored.candidate_token)?;
        if let Some(result) = &mut stored.result {
            let token = Sealed { owner: &owner, field: "report token", aad: &report };
            result.report_access_token = self.open_for(&token, &result.report_access_token)?;
        }
        stored.candidate_token = candidate_token;
        Ok(stored)
    }

    /// Whether a token of a stored session is not sealed under the current key.
    pub fn session_needs_reseal(&self, stored: &CompanyTestSession) -> bool {
        !self.is_current(&stored.candidate_token)
            || stored.result.as_ref().is_some_and(|r| !self.is_current(&r.report_access_token))
    }

    /// The stored session sealed anew under the current key, or `None` when it already is.
    pub fn reseal_session(&self, stored: CompanyTestSession) -> Result<Option<CompanyTestSession>, StoreError> {
        if !self.session_needs_reseal(&stored) {
            return Ok(None);
        }
        let mut session = self.open_session(stored)?;
        self.seal_session(&mut session)?;
        Ok(Some(session))
    }

    /// Seals the tokens of every session a change writes (see [`seal_session`](Self::seal_session)).
    pub fn seal_change(&self, change: &mut Change) -> Result<(), StoreError> {
        change.sessions.iter_mut().try_for_each(|(session, _)| self.seal_session(session))
    }

    /// Seals the tokens of every session imported Certify records write.
    pub fn seal_records(&self, records: &mut [crate::CertifyRecord]) -> Result<(), StoreError> {
        for record in records {
            if let crate::CertifyRecord::Request { sessions, .. } = record {
                sessions.iter_mut().try_for_each(|session| self.seal_session(session))?;
            }
        }
        Ok(())
    }

    /// The marker a session's document holds when its candidate token is sealed under the
    /// current key: what a reseal's scan looks for, so it reads only the rows it must rewrite.
    pub fn current_session_marker(&self) -> String {
        format!("\"candidate_token\":\"{PREFIX}{}:", self.current_id())
    }
}

/// A sealed value's owner and field, named in errors, and its associated data.
struct Sealed<'a> {
    owner: &'a str,
    field: &'a str,
    aad: &'a str,
}

const CANDIDATE: &str = "candidate_token";
const REPORT: &str = "report_access_token";

/// Distinct from any webhook id (those hold no space), so a webhook secret never opens as a
/// session's token or the other way round.
fn session_aad(session: &str, field: &str) -> String {
    format!("test session {session} {field}")
}

fn decode_key(what: &str, text: &str) -> Result<[u8; KEY_LEN], KeyError> {
    let bytes = BASE64.decode(text.trim()).map_err(|err| KeyError::NotBase64 { what: what.to_owned(), err })?;
    let len = bytes.len();
    bytes.try_into().map_err(|_| KeyError::WrongLength { what: what.to_owned(), len })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> WebhookId {
        WebhookId::parse(s).unwrap()
    }

    #[test]
    fn sealed_secrets_open_only_for_their_webhook_and_key() {
        let keys = SecretKeys::new(&[1; 32], &[]);
        let sealed = keys.seal(&id("wh_a"), "whsec_top").unwrap();
        assert!(sealed.starts_with(&format!("sealed:v1:{}:", keys.current_id())), "{sealed}");
        assert!(!sealed.contains("whsec_top"));
        assert_ne!(sealed, keys.seal(&id("wh_a"), "whsec_top").unwrap(), "a fresh nonce every time");
        assert_eq!(keys.open(&id("wh_a"), &sealed).unwrap(), "whsec_top");
        let moved = keys.open(&id("wh_b"), &sealed).unwrap_err().to_string();
        assert!(moved.contains("does not open"), "{moved}");
        let other = SecretKeys::new(&[2; 32], &[]);
        let missing = other.open(&id("wh_a"), &sealed).unwrap_err().to_string();
        assert!(missing.contains(&format!("sealed with key {}", keys.current_id())), "{missing}");
    }

    #[test]
    fn a_previous_key_opens_until_resealed_and_plain_legacy_values_read_as_they_are() {
        let old = SecretKeys::new(&[1; 32], &[]);
        let sealed = old.seal(&id("wh_a"), "s3cret").unwrap();
        let rotated = SecretKeys::new(&[2; 32], &[[1; 32]]);
        assert_eq!(rotated.open(&id("wh_a"), &sealed).unwrap(), "s3cret");
        assert!(!rotated.is_current(&sealed));
        assert!(rotated.is_current(&rotated.seal(&id("wh_a"), "s3cret").unwrap()));
        assert_eq!(rotated.open(&id("wh_a"), "legacy-plain").unwrap(), "legacy-plain");
        assert!(!rotated.is_current("legacy-plain"));
    }

    #[test]
    fn a_sessions_tokens_are_sealed_bound_to_it_and_open_to_what_was_written() {
        use screenhook_domain::SessionId;
        let keys = SecretKeys::new(&[1; 32], &[]);
        let session = crate::conformance::session_with_result("s1", "s1.candidate-secret", "report-secret");
        let mut stored = session.clone();
        keys.seal_session(&mut stored).unwrap();
        let doc = serde_json::to_string(&stored).unwrap();
        assert!(!doc.contains("candidate-secret") && !doc.contains("report-secret"), "{doc}");
        assert!(doc.contains(&keys.current_session_marker()), "the reseal's marker is in the document");
        assert!(!keys.session_needs_reseal(&stored));
        assert_eq!(keys.open_session(stored.clone()).unwrap(), session);

        let mut moved = stored.clone();
        moved.id = SessionId::parse("s2").unwrap();
        let err = keys.open_session(moved).unwrap_err().to_string();
        assert!(err.contains("test session s2: its sealed candidate token does not open"), "{err}");
        let mut swapped = stored.clone();
        let report = swapped.result.as_ref().unwrap().report_access_token.clone();
        swapped.candidate_token = report;
        assert!(keys.open_session(swapped).is_err(), "a report token does not open as the candidate token");

        let rotated = SecretKeys::new(&[2; 32], &[[1; 32]]);
        assert!(rotated.session_needs_reseal(&stored));
        assert_eq!(rotated.open_session(stored).unwrap(), session);
        assert!(rotated.session_needs_reseal(&session), "tokens from before sealing are read as they are");
        assert_eq!(rotated.open_session(session.clone()).unwrap(), session);
    }

    #[test]
    fn without_a_key_sealing_and_opening_fail_with_the_reason() {
        let unset = SecretKeys::unset("secrets.key: not configured");
        assert_eq!(
            unset.seal(&id("wh_a"), "x").unwrap_err().to_string(),
            "storage unavailable: secrets.key: not configured"
        );
        let sealed = SecretKeys::new(&[1; 32], &[]).seal(&id("wh_a"), "x").unwrap();
        assert!(unset.open(&id("wh_a"), &sealed).unwrap_err().to_string().contains("secrets.key: not configured"));
        assert_eq!(unset.missing(), Some("secrets.key: not configured"));
    }

    #[test]
    fn keys_are_32_bytes_of_base64_and_errors_name_the_setting() {
        assert!(SecretKeys::parse(("k", &SecretKeys::generate()), &[]).is_ok());
        let short = SecretKeys::parse(("secrets.key", "AAAA"), &[]).unwrap_err().to_string();
        assert!(short.starts_with("secrets.key: 3 bytes"), "{short}");
        let junk = SecretKeys::parse(("k", &SecretKeys::generate()), &[("secrets.previous_keys", "!!")]).unwrap_err();
        assert!(junk.to_string().starts_with("secrets.previous_keys: not base64"), "{junk}");
        assert!(!format!("{:?}", SecretKeys::new(&[7; 32], &[])).contains("7, 7"), "Debug shows ids only");
    }

    #[test]
    fn a_key_file_is_created_once_owner_only_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("screenhook.key");
        let first = SecretKeys::from_file_or_create(&path, &[]).unwrap();
        let again = SecretKeys::from_file_or_create(&path, &[]).unwrap();
        assert_eq!(first.current_id(), again.current_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn starts_racing_to_create_the_key_file_all_read_the_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("screenhook.key");
        let ids: Vec<String> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| SecretKeys::from_file_or_create(&path, &[]).unwrap().current_id().to_owned()))
                .collect();
            racers.into_iter().map(|racer| racer.join().unwrap()).collect()
        });
        assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["screenhook.key"], "no drafts left behind");
    }
}
