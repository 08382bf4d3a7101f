//! Webhook delivery for screenhook.
//!
//! Two layers. The **pure rules** ([`signature`], [`request`], [`retry`],
//! [`classify`](mod@classify), [`ssrf`], [`headers`]) are free of I/O,
//! clocks and global randomness — callers pass in the time, the random draw
//! and the resolved addresses — so each rule of the CodeSignal Pre-Screen
//! webhook contract is unit-tested exactly. The **I/O edge** ([`sender`],
//! [`mailer`]) performs one HTTP attempt or sends one email, applying those
//! rules; the worker that schedules attempts builds on both.
//!
//! # Delivery contract
//!
//! * Delivery is **at-least-once**: an event is retried until a receiver
//!   answers 200 or the policy gives up, so receivers must de-duplicate.
//! * The **`webhook-id` is stable across retries** of one event; it is the
//!   receiver's idempotency key.
//! * Each attempt gets a **new `webhook-timestamp` and new signatures**, so
//!   replay windows are measured from the attempt.
//! * Only HTTP 200 counts as delivered. **Redirects are never followed** and
//!   **no proxy is used**: either would carry a request past the SSRF guard.
//! * **Timeouts:** connect (DNS included) 5 s; a whole attempt 10 s,
//!   *including reading the response body*; the verification ping 10 s
//!   ([`CONNECT_TIMEOUT`], [`TOTAL_TIMEOUT`], [`PING_TIMEOUT`]).
//! * **Caps:** at most 64 KiB of a response is read ([`RESPONSE_READ_CAP`];
//!   more fails the attempt as `body_too_large`) and at most 2 KiB is kept
//!   ([`RESPONSE_EXCERPT_CAP`]).
//! * The SSRF guard runs at **every attempt**: IP literals before sending,
//!   names in the client's resolver, which refuses a host if any address is
//!   forbidden and dials only the vetted addresses. The one exception is
//!   [`SenderConfig::trusted_prefixes`]: URLs this server answers itself (the
//!   inspector's bins), so that testing an integration needs no open guard.
//!
//! # Layout
//!
//! * [`signature`] — `X-CodeSignal-Signature` and Standard Webhooks `v1`
//!   signing and verification, [`WebhookSecret`].
//! * [`check`](mod@check) — the receiver's side: both signatures of one received delivery
//!   checked against a secret (the inspector, the simulator, `listen`, `verify`).
//! * [`retry`] — CodeSignal's retry formula, owner-email and disable rules,
//!   `Retry-After` handling.
//! * [`classify`](mod@classify) — what counts as success, transport [`ErrorClass`]es,
//!   response excerpts.
//! * [`ssrf`] — the egress guard for URLs and resolved addresses.
//! * [`headers`] — validation of tenant-supplied custom headers.
//! * [`request`] — the signed request, pure: [`envelope_body`],
//!   [`delivery_headers`] (both signatures), [`ping_headers`] and
//!   [`standard_webhooks_key`].
//! * [`sender`] — [`Sender`]: the guarded reqwest client, one attempt
//!   ([`Sender::send`] → [`AttemptReport`]) and the verification ping
//!   ([`Sender::ping`]).
//! * [`mailer`] — owner failure emails: [`failure_email`] text, [`Mailer`]
//!   over SMTP (lettre) or, with no SMTP configured, logged at WARN as
//!   "recorded, not sent".
//! * `smtp_sink` (feature `test-support`) — an in-process SMTP server that
//!   captures messages, for tests in this and other crates.

pub mod check;
pub mod classify;
pub mod headers;
pub mod mailer;
pub mod request;
pub mod retry;
pub mod sender;
pub mod signature;
#[cfg(any(test, feature = "test-support"))]
pub mod smtp_sink;
pub mod ssrf;

pub use classify::{AttemptOutcome, ErrorClass, Exchange, RESPONSE_EXCERPT_CAP, RESPONSE_READ_CAP, classify, excerpt};
pub use headers::{HeaderError, validate_custom_headers};
pub use mailer::{
    LogMailer, MailDisposition, MailError, Mailer, OwnerEmail, SmtpConfig, SmtpMailer, SmtpTls, failure_email,
};
pub use request::{DeliveryHeaderParams, delivery_headers, envelope_body, ping_headers, standard_webhooks_key};
pub use retry::{NextStep, RetryAfter, RetryPolicy, delay_after_failure, next_attempt};
pub use sender::{
    AttemptReport, CONNECT_TIMEOUT, GuardedResolver, OutgoingRequest, PING_TIMEOUT, PingError, ResolverError, Sender,
    SenderConfig, SenderError, TOTAL_TIMEOUT, USER_AGENT,
};
pub use signature::{
    SecretError, SignedHeaders, VerifyError, WebhookSecret, codesignal_signature, sign, signature_header, verify,
    verify_codesignal_signature,
};
pub use ssrf::{
    BlockedAddress, EgressPolicy, ForbiddenRange, ResolveError, UrlError, check_resolved, check_url, is_forbidden,
};
