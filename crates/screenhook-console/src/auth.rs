//! Signing in with an API key, the session cookie, and CSRF tokens.
//!
//! Why API keys and not accounts: a company's people already hold keys (CodeSignal hands
//! them out per integration, with permissions), so a key is the one credential that exists,
//! and its permissions decide what the console offers. Accounts would add passwords, resets and
//! invitations for no gain in a sandbox, and can come later on top of the same session.
//!
//! The session is a cookie, `HttpOnly; SameSite=Strict`, holding
//! `<key public id>.<expires ms>.<nonce>.<mac>`, where the MAC is an HMAC-SHA256 keyed by the
//! key's stored secret hash. Nothing is stored server-side: every process verifies a cookie
//! with what the database already holds, and revoking the key ends its sessions at once. The
//! key itself never reaches the browser after sign-in.
//!
//! Every state-changing form carries `_csrf`, an HMAC of the session's nonce under the same
//! key: a page of another origin can neither read it nor compute it. The sign-in form, which
//! has no session yet, uses a double-submit cookie (`sh_signin`).

use axum::{
    extract::{FromRequestParts, OptionalFromRequestParts},
    http::{HeaderMap, HeaderValue, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use hmac::{Hmac, Mac};
use screenhook_domain::{ApiKey, Company, Permission, Timestamp};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::{Console, Failure};

pub const SESSION_COOKIE: &str = "sh_session";
pub const SIGNIN_COOKIE: &str = "sh_signin";
/// How long a session lasts after sign-in.
pub const SESSION_MS: i64 = 12 * 60 * 60 * 1000;

/// The signed-in person: their key and company.
#[derive(Debug, Clone)]
pub struct Signed {
    pub key: ApiKey,
    pub company: Company,
    nonce: String,
}

impl Signed {
    pub fn allows(&self, permission: Permission) -> bool {
        self.key.allows(permission)
    }

    /// Refuses with a 403 page when the key lacks `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), Failure> {
        if self.allows(permission) {
            Ok(())
        } else {
            Err(Failure::Forbidden(format!(
                "The API key you signed in with does not have the '{}' permission.",
                permission.as_str()
            )))
        }
    }

    /// The CSRF token every form of this session carries.
    pub fn csrf(&self) -> String {
        csrf_token(&self.key, &self.nonce)
    }

    /// Whether `token` is this session's CSRF token.
    pub fn check_csrf(&self, token: &str) -> bool {
        self.csrf().as_bytes().ct_eq(token.as_bytes()).into()
    }
}

fn mac(key: &ApiKey, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.secret_sha256.as_bytes()).expect("HMAC takes any key length");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn csrf_token(key: &ApiKey, nonce: &str) -> String {
    mac(key, &format!("csrf|{nonce}"))
}

/// The cookie value of a new session for `key`.
pub fn session_value(key: &ApiKey, now: Timestamp) -> String {
    let expires = now.as_millis() + SESSION_MS;
    let nonce = screenhook_store::random_id("", 22);
    let signed = format!("{}.{expires}.{nonce}", key.public_id);
    format!("{signed}.{}", mac(key, &format!("session|{signed}")))
}

/// `Set-Cookie` for a cookie of this console (`Secure` when it is served over HTTPS).
pub fn set_cookie(console: &Console, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if console.secure_cookies() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"))
        .expect("cookie values are base62, hex and dots")
}

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// The session a cookie stands for, if it is genuine, unexpired and its key is live.
async fn verify(console: &Console, value: &str) -> Result<Option<Signed>, Failure> {
    let mut parts = value.split('.');
    let (Some(public_id), Some(expires), Some(nonce), Some(given), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(None);
    };
    let Ok(expires_ms) = expires.parse::<i64>() else { return Ok(None) };
    if expires_ms <= console.engine.clock.now().as_millis() {
        return Ok(None);
    }
    let Some(key) = console.engine.store.api_key(public_id).await? else { return Ok(None) };
    let expected = mac(&key, &format!("session|{public_id}.{expires}.{nonce}"));
    let genuine: bool = expected.as_bytes().ct_eq(given.as_bytes()).into();
    if !genuine || key.revoked_at.is_some() {
        return Ok(None);
    }
    let Some(company) = console.engine.store.company(&key.company_id).await? else { return Ok(None) };
    // A disabled company's sessions end with it.
    if company.disabled_at.is_some() {
        return Ok(None);
    }
    Ok(Some(Signed { key, company, nonce: nonce.to_owned() }))
}

/// Pages that need a session send a signed-out browser to sign in, and back afterwards.
impl FromRequestParts<Console> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, Self::Rejection> {
        match <Signed as OptionalFromRequestParts<Console>>::from_request_parts(parts, console).await {
            Ok(Some(signed)) => Ok(signed),
            Ok(None) => {
                let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
                Err(Redirect::to(&format!("/?next={next}")).into_response())
            }
            Err(failure) => Err(failure.into_response()),
        }
    }
}

impl OptionalFromRequestParts<Console> for Signed {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Option<Self>, Self::Rejection> {
        match cookie(&parts.headers, SESSION_COOKIE) {
            Some(value) => verify(console, value).await,
            None => Ok(None),
        }
    }
}

/// Where to go after sign-in: a path of this site only, never another origin.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/prescreens".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use screenhook_domain::CompanyId;

    fn key(secret_hash: &str) -> ApiKey {
        ApiKey {
            public_id: "abc".into(),
            company_id: CompanyId::parse("co_1".to_owned()).unwrap(),
            secret_sha256: secret_hash.into(),
            description: String::new(),
            permissions: vec![],
            created_at: Timestamp::from_millis(0),
            revoked_at: None,
        }
    }

    #[test]
    fn csrf_tokens_depend_on_the_key_and_the_session() {
        assert_ne!(csrf_token(&key("a"), "n1"), csrf_token(&key("b"), "n1"));
        assert_ne!(csrf_token(&key("a"), "n1"), csrf_token(&key("a"), "n2"));
        assert_eq!(csrf_token(&key("a"), "n1"), csrf_token(&key("a"), "n1"));
    }

    #[test]
    fn a_session_value_is_bound_to_its_key() {
        let value = session_value(&key("a"), Timestamp::from_millis(1_000));
        let parts: Vec<&str> = value.split('.').collect();
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[0], "abc");
        assert_eq!(parts[1], (1_000 + SESSION_MS).to_string());
        let signed = format!("{}.{}.{}", parts[0], parts[1], parts[2]);
        assert_eq!(parts[3], mac(&key("a"), &format!("session|{signed}")));
        assert_ne!(parts[3], mac(&key("b"), &format!("session|{signed}")));
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/results?x=1")), "/results?x=1");
        assert_eq!(safe_next(Some("//evil.example/")), "/prescreens");
        assert_eq!(safe_next(Some("https://evil.example/")), "/prescreens");
        assert_eq!(safe_next(Some("/\\evil.example")), "/prescreens");
        assert_eq!(safe_next(None), "/prescreens");
    }
}
