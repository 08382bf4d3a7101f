//! Webhook delivery for screenhook: the pure, deterministic pieces.
//!
//! Everything here is free of I/O, clocks and global randomness — callers
//! pass in the time, the random draw and the resolved addresses — so each
//! rule of the CodeSignal Pre-Screen webhook contract can be unit-tested
//! exactly. The async worker that sends requests builds on these modules.
//!
//! # Delivery contract
//!
//! * Delivery is **at-least-once**: an event is retried until a receiver
//!   answers 200 or the policy gives up, so receivers must de-duplicate.
//! * The **`webhook-id` is stable across retries** of one event; it is the
//!   receiver's idempotency key.
//! * Each attempt gets a **new `webhook-timestamp` and new signatures**, so
//!   replay windows are measured from the attempt.
//! * Redirects are never followed; only HTTP 200 counts as delivered.
//!
//! # Layout
//!
//! * [`signature`] — `X-CodeSignal-Signature` and Standard Webhooks `v1`
//!   signing and verification, [`WebhookSecret`].
//! * [`retry`] — CodeSignal's retry formula, owner-email and disable rules,
//!   `Retry-After` handling.
//! * [`classify`](mod@classify) — what counts as success, transport [`ErrorClass`]es,
//!   response excerpts.
//! * [`ssrf`] — the egress guard for URLs and resolved addresses.
//! * [`headers`] — validation of tenant-supplied custom headers.

pub mod classify;
pub mod headers;
pub mod mailer;
pub mod retry;
pub mod sender;
pub mod signature;
#[cfg(any(test, feature = "test-support"))]
pub mod smtp_sink;
pub mod ssrf;

pub use classify::{AttemptOutcome, ErrorClass, Exchange, classify, excerpt};
pub use headers::{HeaderError, validate_custom_headers};
pub use mailer::{
    LogMailer, MailDisposition, MailError, Mailer, OwnerEmail, SmtpConfig, SmtpMailer, SmtpTls, failure_email,
};
pub use retry::{NextStep, RetryAfter, RetryPolicy, delay_after_failure, next_attempt};
pub use sender::{
    AttemptReport, CONNECT_TIMEOUT, DeliveryHeaderParams, GuardedResolver, OutgoingRequest, PING_TIMEOUT, PingError,
    ResolverError, Sender, SenderConfig, SenderError, TOTAL_TIMEOUT, USER_AGENT, delivery_headers, envelope_body,
    ping_headers, standard_webhooks_key,
};
pub use signature::{
    SecretError, SignedHeaders, VerifyError, WebhookSecret, codesignal_signature, sign, signature_header, verify,
    verify_codesignal_signature,
};
pub use ssrf::{
    BlockedAddress, EgressPolicy, ForbiddenRange, ResolveError, UrlError, check_resolved, check_url, is_forbidden,
};
