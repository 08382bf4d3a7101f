//! Validation of tenant-supplied custom headers.
//!
//! CodeSignal lets a webhook carry custom headers, and screenhook does too.
//! They are attacker-controlled input written into our requests, so they are
//! checked when saved:
//!
//! * names must be RFC 9110 tokens and values must hold no control
//!   characters other than tab — CR, LF and NUL in particular, so a value can
//!   never smuggle in a second header or a request;
//! * values are at most 4096 bytes and a webhook has at most 20 headers;
//! * names that would change framing, routing or connection handling
//!   (`host`, `content-*`, `transfer-encoding`, `connection`, `proxy-*`, …),
//!   impersonate a client or proxy (`user-agent`, `forwarded`,
//!   `x-forwarded-*`, `cookie`), or forge our own signature headers
//!   (`webhook-*`, `x-codesignal-signature`) are refused. Our headers are
//!   also written last, so they win even if this list ever misses one.
//! * a name given twice (in any case) is refused: it is almost always a
//!   mistake and receivers disagree on how to merge repeats.

/// Most custom headers per webhook.
pub const MAX_CUSTOM_HEADERS: usize = 20;
/// Longest custom header value, in bytes.
pub const MAX_HEADER_VALUE_LEN: usize = 4096;

const FORBIDDEN_NAMES: [&str; 10] = [
    "host",
    "user-agent",
    "connection",
    "keep-alive",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "cookie",
    "forwarded",
];
const FORBIDDEN_PREFIXES: [&str; 4] = ["content-", "proxy-", "x-forwarded-", "webhook-"];
const SIGNATURE_HEADER: &str = "x-codesignal-signature";

/// Why a set of custom headers was refused. Each variant names the header
/// (as the tenant spelled it) and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("{count} custom headers given; at most 20 are allowed")]
    TooMany { count: usize },
    #[error("header name {name:?} is not a valid HTTP token (letters, digits and !#$%&'*+-.^_`|~ only)")]
    InvalidName { name: String },
    #[error("header {name}: value contains a control character (CR, LF, NUL or similar)")]
    InvalidValue { name: String },
    #[error("header {name}: value is {len} bytes; at most 4096 are allowed")]
    ValueTooLong { name: String, len: usize },
    #[error("header {name} is set by screenhook or the HTTP stack and cannot be overridden")]
    Reserved { name: String },
    #[error("header {name} is given more than once")]
    Duplicate { name: String },
}

fn is_token_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

fn is_reserved(lowercase_name: &str) -> bool {
    FORBIDDEN_NAMES.contains(&lowercase_name)
        || lowercase_name == SIGNATURE_HEADER
        || FORBIDDEN_PREFIXES.iter().any(|prefix| lowercase_name.starts_with(prefix))
}

/// Checks a webhook's custom headers, in order, and reports the first
/// problem found.
pub fn validate_custom_headers(headers: &[(String, String)]) -> Result<(), HeaderError> {
    if headers.len() > MAX_CUSTOM_HEADERS {
        return Err(HeaderError::TooMany { count: headers.len() });
    }
    let mut seen = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        if name.is_empty() || !name.bytes().all(is_token_char) {
            return Err(HeaderError::InvalidName { name: name.clone() });
        }
        let lowercase = name.to_ascii_lowercase();
        if is_reserved(&lowercase) {
            return Err(HeaderError::Reserved { name: name.clone() });
        }
        if seen.contains(&lowercase) {
            return Err(HeaderError::Duplicate { name: name.clone() });
        }
        if value.len() > MAX_HEADER_VALUE_LEN {
            return Err(HeaderError::ValueTooLong { name: name.clone(), len: value.len() });
        }
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(HeaderError::InvalidValue { name: name.clone() });
        }
        seen.push(lowercase);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: &str, value: &str) -> Result<(), HeaderError> {
        validate_custom_headers(&[(name.to_owned(), value.to_owned())])
    }

    #[test]
    fn ordinary_headers_pass() {
        let headers = vec![
            ("Authorization".to_owned(), "Bearer abc.def".to_owned()),
            ("X-Tenant".to_owned(), "acme\tcorp é".to_owned()),
            ("x-api-key".to_owned(), String::new()),
        ];
        assert_eq!(validate_custom_headers(&headers), Ok(()));
        assert_eq!(validate_custom_headers(&[]), Ok(()));
    }

    #[test]
    fn injection_characters_are_refused() {
        for value in ["a\r\nX-Evil: 1", "a\nb", "a\rb", "a\0b", "a\u{7f}b"] {
            assert_eq!(one("X-Ok", value), Err(HeaderError::InvalidValue { name: "X-Ok".into() }), "{value:?}");
        }
        for name in ["", "X Bad", "X-Bad:", "X\r\nY", "Ünï", "(x)"] {
            assert_eq!(one(name, "v"), Err(HeaderError::InvalidName { name: name.into() }), "{name:?}");
        }
    }

    #[test]
    fn reserved_names_and_prefixes_are_refused_in_any_case() {
        for name in [
            "Host",
            "CONTENT-TYPE",
            "Content-Length",
            "content-encoding",
            "User-Agent",
            "Connection",
            "Keep-Alive",
            "TE",
            "Trailers",
            "Transfer-Encoding",
            "Upgrade",
            "Proxy-Authorization",
            "Cookie",
            "Forwarded",
            "X-Forwarded-For",
            "Webhook-Signature",
            "webhook-id",
            "X-CodeSignal-Signature",
        ] {
            assert_eq!(one(name, "v"), Err(HeaderError::Reserved { name: name.into() }), "{name}");
        }
        assert_eq!(one("Content", "v"), Ok(()));
        assert_eq!(one("X-Webhook-Source", "v"), Ok(()));
    }

    #[test]
    fn limits_are_enforced() {
        assert_eq!(one("X-Big", &"a".repeat(4096)), Ok(()));
        assert_eq!(one("X-Big", &"a".repeat(4097)), Err(HeaderError::ValueTooLong { name: "X-Big".into(), len: 4097 }));
        let twenty: Vec<_> = (0..20).map(|i| (format!("X-H{i}"), "v".to_owned())).collect();
        assert_eq!(validate_custom_headers(&twenty), Ok(()));
        let mut twenty_one = twenty;
        twenty_one.push(("X-H20".into(), "v".into()));
        assert_eq!(validate_custom_headers(&twenty_one), Err(HeaderError::TooMany { count: 21 }));
    }

    #[test]
    fn duplicates_are_refused_case_insensitively() {
        let headers = vec![("X-Key".to_owned(), "a".to_owned()), ("x-key".to_owned(), "b".to_owned())];
        assert_eq!(validate_custom_headers(&headers), Err(HeaderError::Duplicate { name: "x-key".into() }));
    }

    #[test]
    fn errors_name_the_header_and_rule() {
        let error = one("Host", "evil.example").unwrap_err().to_string();
        assert_eq!(error, "header Host is set by screenhook or the HTTP stack and cannot be overridden");
        let error = one("X-Ok", "a\r\nb").unwrap_err().to_string();
        assert!(error.starts_with("header X-Ok: value contains a control character"));
    }
}
