//! Turning what happened on the wire into a delivery outcome.
//!
//! CodeSignal's rule is blunt and receivers are written against it: **only
//! HTTP 200 is success**. "Any response other than 200 OK" fails the attempt
//! (CodeSignal's Webhook API docs), so 201 and 204 fail too, and 4xx
//! answers are retried like any other failure. 3xx is a failure as well: the
//! worker never follows redirects, because a redirect target would bypass
//! the SSRF guard. No status disables a webhook on its own (there is no
//! Standard-Webhooks-style 410 rule); only the consecutive-failure count
//! does (see [`crate::retry`]).
//!
//! Transport failures carry an [`ErrorClass`] whose [`ErrorClass::as_str`]
//! names are stable: they are written to the delivery log and shown to
//! users, so renaming one is a breaking change.
//!
//! Response bodies are bounded twice: the worker reads at most
//! [`RESPONSE_READ_CAP`] bytes (a receiver cannot exhaust our memory) and the
//! log keeps an [`excerpt`] of at most [`RESPONSE_EXCERPT_CAP`] bytes.
//!
//! Delivery is at-least-once: a failed attempt is retried with the same
//! `webhook-id` and a fresh timestamp and signature.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Most bytes of a response body the worker reads. A receiver that sends
/// more fails the attempt with [`ErrorClass::BodyTooLarge`], even on 200: an
/// acknowledgement is empty or tiny, and a huge body points at a misdirected
/// URL (a download, a stream) that should not be recorded as delivered.
pub const RESPONSE_READ_CAP: usize = 64 * 1024;
/// Most bytes of a response body kept in the delivery log.
pub const RESPONSE_EXCERPT_CAP: usize = 2 * 1024;

/// Why an attempt failed before a status line arrived (or while reading).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The name did not resolve (or resolution timed out).
    Dns,
    /// TCP connect failed or was refused.
    Connect,
    /// The attempt exceeded its time budget.
    Timeout,
    /// TLS handshake or certificate verification failed. Never downgraded
    /// to plain HTTP.
    Tls,
    /// The SSRF guard refused the URL or a resolved address.
    BlockedBySsrfGuard,
    /// The response body exceeded [`RESPONSE_READ_CAP`].
    BodyTooLarge,
    /// Anything else (protocol errors, connection reset mid-response, …).
    Other,
}

impl ErrorClass {
    /// Stable name for the delivery log.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Tls => "tls",
            Self::BlockedBySsrfGuard => "blocked_by_ssrf_guard",
            Self::BodyTooLarge => "body_too_large",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the transport layer observed for one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exchange {
    /// The receiver answered with this status.
    Response { status: u16 },
    /// No usable answer.
    TransportError(ErrorClass),
}

/// The verdict on one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver answered 200 OK.
    Delivered,
    /// The receiver answered, but not with 200.
    Rejected { status: u16 },
    /// No usable answer.
    Failed(ErrorClass),
}

impl AttemptOutcome {
    pub const fn is_success(self) -> bool {
        matches!(self, Self::Delivered)
    }

    /// The HTTP status, when the receiver answered.
    pub const fn status(self) -> Option<u16> {
        match self {
            Self::Delivered => Some(200),
            Self::Rejected { status } => Some(status),
            Self::Failed(_) => None,
        }
    }
}

impl fmt::Display for AttemptOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Delivered => f.write_str("delivered (200)"),
            Self::Rejected { status } if (300..400).contains(status) => {
                write!(f, "status {status}: redirects are not followed")
            }
            Self::Rejected { status } => write!(f, "status {status}: only 200 counts as delivered"),
            Self::Failed(class) => write!(f, "transport error: {class}"),
        }
    }
}

/// Classifies one attempt: exactly 200 is delivered, every other status is
/// rejected, transport errors keep their class.
pub const fn classify(exchange: Exchange) -> AttemptOutcome {
    match exchange {
        Exchange::Response { status: 200 } => AttemptOutcome::Delivered,
        Exchange::Response { status } => AttemptOutcome::Rejected { status },
        Exchange::TransportError(class) => AttemptOutcome::Failed(class),
    }
}

/// At most `cap` bytes of `body` as text, for the delivery log.
///
/// The cut never splits a UTF-8 character; invalid bytes become U+FFFD, and
/// the result is still no longer than `cap` bytes.
pub fn excerpt(body: &[u8], cap: usize) -> String {
    let mut cut = body.len().min(cap);
    if cut < body.len() {
        // Step back over continuation bytes (0b10xx_xxxx) so a character
        // straddling the cut is dropped whole, not shown as U+FFFD.
        let start = cut.saturating_sub(3);
        while cut > start && body[cut] & 0b1100_0000 == 0b1000_0000 {
            cut -= 1;
        }
    }
    let mut text = String::from_utf8_lossy(&body[..cut]).into_owned();
    // Each replacement character is 3 bytes for 1 invalid byte, so lossy
    // decoding can grow the text past the cap.
    text.truncate(text.floor_char_boundary(cap));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_200_is_delivered() {
        assert_eq!(classify(Exchange::Response { status: 200 }), AttemptOutcome::Delivered);
        for status in [100, 201, 202, 204, 299, 301, 302, 307, 308, 400, 404, 410, 429, 500, 503] {
            assert_eq!(classify(Exchange::Response { status }), AttemptOutcome::Rejected { status });
        }
    }

    #[test]
    fn redirects_are_failures_that_say_so() {
        let outcome = classify(Exchange::Response { status: 308 });
        assert!(!outcome.is_success());
        assert_eq!(outcome.to_string(), "status 308: redirects are not followed");
        assert_eq!(
            classify(Exchange::Response { status: 204 }).to_string(),
            "status 204: only 200 counts as delivered"
        );
    }

    #[test]
    fn transport_errors_keep_their_class() {
        let outcome = classify(Exchange::TransportError(ErrorClass::Tls));
        assert_eq!(outcome, AttemptOutcome::Failed(ErrorClass::Tls));
        assert_eq!(outcome.status(), None);
        assert_eq!(outcome.to_string(), "transport error: tls");
    }

    #[test]
    fn error_class_names_are_stable_and_match_serde() {
        let all = [
            (ErrorClass::Dns, "dns"),
            (ErrorClass::Connect, "connect"),
            (ErrorClass::Timeout, "timeout"),
            (ErrorClass::Tls, "tls"),
            (ErrorClass::BlockedBySsrfGuard, "blocked_by_ssrf_guard"),
            (ErrorClass::BodyTooLarge, "body_too_large"),
            (ErrorClass::Other, "other"),
        ];
        for (class, name) in all {
            assert_eq!(class.as_str(), name);
            assert_eq!(serde_json::to_string(&class).unwrap(), format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<ErrorClass>(&format!("\"{name}\"")).unwrap(), class);
        }
    }

    #[test]
    fn excerpt_cuts_on_character_boundaries() {
        assert_eq!(excerpt(b"hello", 10), "hello");
        assert_eq!(excerpt(b"hello", 3), "hel");
        assert_eq!(excerpt("aé".as_bytes(), 2), "a"); // é is 2 bytes; never half of it
        assert_eq!(excerpt("a€b".as_bytes(), 3), "a");
        assert_eq!(excerpt("a€b".as_bytes(), 4), "a€");
        assert_eq!(excerpt(b"", 10), "");
        assert_eq!(excerpt(b"abc", 0), "");
    }

    #[test]
    fn excerpt_replaces_invalid_bytes_within_the_cap() {
        assert_eq!(excerpt(b"ok\xff", 10), "ok\u{FFFD}");
        let binary = [0xffu8; 10];
        let text = excerpt(&binary, 4);
        assert!(text.len() <= 4);
        assert_eq!(text, "\u{FFFD}");
    }

    proptest! {
        #[test]
        fn excerpt_never_exceeds_cap(body in proptest::collection::vec(any::<u8>(), 0..200), cap in 0usize..64) {
            prop_assert!(excerpt(&body, cap).len() <= cap);
        }

        #[test]
        fn excerpt_of_valid_text_is_a_prefix(text in ".{0,80}", cap in 0usize..200) {
            let cut = excerpt(text.as_bytes(), cap);
            prop_assert!(text.starts_with(&cut));
            prop_assert!(cut.len() + 3 >= cap.min(text.len()));
        }
    }
}
