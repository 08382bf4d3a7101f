//! The HTTP side of one delivery attempt, and the verification ping.
//!
//! [`Sender`] owns the single delivery [`reqwest::Client`] (its pool is
//! keyed by host, so every webhook shares it) and enforces the egress rules
//! of reference `reliability-security.md` §2.2–2.3 on every request:
//!
//! * **SSRF guard at every attempt.** The URL is re-checked with
//!   [`check_url`] before each send, because reqwest never consults the
//!   resolver for IP-literal hosts. Names go through [`GuardedResolver`],
//!   which resolves A and AAAA, refuses the host if *any* address is
//!   forbidden ([`check_resolved`]) and hands the connector only the vetted
//!   addresses — what was checked is what is dialled, so a rebinding name
//!   cannot slip in between check and connect.
//! * **No redirects** ([`Policy::none`]): a 3xx is a failed attempt, since
//!   its target would bypass the guard.
//! * **No proxy** ([`reqwest::ClientBuilder::no_proxy`], and the workspace
//!   builds reqwest without `system-proxy`): a proxied request would skip
//!   our resolver.
//! * **Timeouts:** connect (DNS included) [`CONNECT_TIMEOUT`] = 5 s; the
//!   whole attempt, *including reading the body*, [`TOTAL_TIMEOUT`] = 10 s
//!   (the reference's ping budget, reused for deliveries); the ping
//!   [`PING_TIMEOUT`] = 10 s.
//! * **Capped body:** at most [`RESPONSE_READ_CAP`] (64 KiB) is read, then the
//!   attempt fails with [`ErrorClass::BodyTooLarge`]; the log keeps an
//!   [`excerpt`] of at most [`RESPONSE_EXCERPT_CAP`] (2 KiB).
//! * TLS is always verified (rustls, aws-lc-rs, platform roots) and a TLS
//!   failure is never retried over plain HTTP.
//!
//! Delivery is at-least-once: the caller retries failed attempts with the
//! same `webhook-id`, and [`delivery_headers`] stamps each attempt with a
//! fresh timestamp and signatures.
//!
//! # Trusted prefixes
//!
//! [`SenderConfig::trusted_prefixes`] lists URL prefixes the server itself
//! answers — `serve` sets exactly `{public_url}/inspect/`, the inspector's
//! bins — so a webhook may point at a bin without opening the SSRF guard to
//! loopback as a whole. A trusted URL skips [`check_url`] and goes through a
//! second client without [`GuardedResolver`] (a `localhost` public URL must
//! resolve); it is still never redirected or proxied. The match is made on
//! the *parsed* URL (scheme, host, port, then a path prefix ending in `/`),
//! so `..` segments, user-info or look-alike hosts cannot ride on a prefix.
//!
//! # Headers and secrets
//!
//! [`delivery_headers`] emits, in order: `Content-Type`, `User-Agent`,
//! `X-CodeSignal-Signature` (with a secret), `webhook-id`,
//! `webhook-timestamp`, `webhook-signature` (with a secret), then the
//! tenant's custom headers minus any whose name collides with ours.
//!
//! CodeSignal lets users type any secret, but Standard Webhooks needs a
//! `whsec_<base64>` key. [`standard_webhooks_key`] therefore uses a secret
//! that parses as [`WebhookSecret`] as is, and otherwise **derives** the key
//! as SHA-256 of the secret's UTF-8 bytes (32 bytes, i.e. the receiver's
//! `whsec_` value is `whsec_` + base64(SHA-256(secret))). Every webhook with
//! a secret thus gets both signatures, and the derivation is reproducible by
//! a receiver from the secret it typed.
//!
//! # The verification ping
//!
//! [`Sender::ping`] POSTs an **empty body** and succeeds only on exactly
//! 200 within [`PING_TIMEOUT`], never following redirects (reference
//! `codesignal-api.md` §1.2). Whether CodeSignal signs the ping is not
//! documented; following the documented `getSignature` defaults
//! (`eventType = ''`, `triggeredOn = ''`), a ping to a webhook with a secret
//! carries `X-CodeSignal-Signature` = HMAC over the URL alone. It carries no
//! `webhook-*` headers: there is no message, so no id to sign.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, LOCATION, RETRY_AFTER};
use reqwest::redirect::Policy;
use sha2::{Digest, Sha256};
use url::Url;

use crate::classify::{
    AttemptOutcome, ErrorClass, Exchange, RESPONSE_EXCERPT_CAP, RESPONSE_READ_CAP, classify, excerpt,
};
use crate::retry::RetryAfter;
use crate::signature::{
    CODESIGNAL_SIGNATURE_HEADER, WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER, WebhookSecret,
    codesignal_signature, signature_header,
};
use crate::ssrf::{EgressPolicy, ResolveError, check_resolved, check_url};

/// Budget for resolving and connecting (TCP and TLS handshake).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Budget for a whole delivery attempt, reading the response body included.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Budget for the verification ping: CodeSignal's "200 within 10 seconds".
pub const PING_TIMEOUT: Duration = Duration::from_secs(10);
/// The `User-Agent` of every request, naming screenhook and its version.
pub const USER_AGENT: &str =
    concat!("screenhook/", env!("CARGO_PKG_VERSION"), " (+https://github.com/screenhook/screenhook)");

/// How the delivery client behaves. `Default` gives the documented values
/// and the default (strict) [`EgressPolicy`].
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// Resolve + TCP + TLS budget.
    pub connect_timeout: Duration,
    /// Whole-attempt budget, body included.
    pub total_timeout: Duration,
    /// Budget for [`Sender::ping`].
    pub ping_timeout: Duration,
    pub user_agent: String,
    /// Which targets may be reached; enforced at every attempt.
    pub egress: EgressPolicy,
    /// Idle keep-alive connections kept per host.
    pub pool_max_idle_per_host: usize,
    /// Most response-body bytes read before the attempt fails.
    pub read_cap: usize,
    /// URL prefixes answered by this server itself (the inspector's bins),
    /// sent to without the egress checks; see the module docs.
    pub trusted_prefixes: Vec<String>,
}

impl Default for SenderConfig {
    fn default() -> Self {
        Self {
            connect_timeout: CONNECT_TIMEOUT,
            total_timeout: TOTAL_TIMEOUT,
            ping_timeout: PING_TIMEOUT,
            user_agent: USER_AGENT.to_owned(),
            egress: EgressPolicy::default(),
            // Receivers get one event at a time per webhook (head-of-line
            // order), so a couple of warm connections per host suffice.
            pool_max_idle_per_host: 2,
            read_cap: RESPONSE_READ_CAP,
            trusted_prefixes: Vec::new(),
        }
    }
}

/// The delivery client could not be built (TLS set-up failed).
#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    #[error("could not build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("trusted prefix {0:?} is not a URL: {1}")]
    TrustedPrefix(String, url::ParseError),
}

/// One request to send: the URL exactly as configured, the exact body
/// bytes and headers already built by [`delivery_headers`].
#[derive(Debug, Clone)]
pub struct OutgoingRequest {
    pub url: String,
    pub body: Bytes,
    pub headers: Vec<(String, String)>,
}

/// What one attempt produced, ready for the delivery log and the retry
/// decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptReport {
    pub outcome: AttemptOutcome,
    /// The status line received, when one was — also when the attempt then
    /// failed on the body (too large, timed out).
    pub status: Option<u16>,
    /// From the start of the attempt to the end of the body (or failure).
    pub latency: Duration,
    /// At most [`RESPONSE_EXCERPT_CAP`] bytes of the body, UTF-8.
    pub response_excerpt: String,
    /// The receiver's `Retry-After`, when present and parseable.
    pub retry_after: Option<RetryAfter>,
    /// Why the attempt failed, in words, for transport failures.
    pub error: Option<String>,
}

/// Why the verification ping failed, phrased for the user saving the
/// webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PingError {
    #[error("the endpoint was not contacted: {0}")]
    Blocked(String),
    #[error(
        "the endpoint's host name could not be resolved ({0}); check the spelling and that it has a \
         public DNS record"
    )]
    Dns(String),
    #[error(
        "could not connect to the endpoint ({0}); check that the server is running and reachable \
         from the internet on that port"
    )]
    Connect(String),
    #[error("the TLS handshake failed ({0}); the endpoint needs a valid certificate for its host name")]
    Tls(String),
    #[error("the endpoint did not answer within {} s; it must answer 200 OK within that time", .0.as_secs_f64())]
    Timeout(Duration),
    #[error(
        "the endpoint answered {status} redirecting to {}; redirects are not followed, so configure the \
         final URL", location.as_deref().unwrap_or("an unspecified location")
    )]
    Redirected { status: u16, location: Option<String> },
    #[error("the endpoint answered {status}; it must answer 200 OK. Response: {excerpt:?}")]
    Status { status: u16, excerpt: String },
    #[error("the endpoint answered {status} with a body over {cap} bytes; answer with a short body")]
    BodyTooLarge { status: u16, cap: usize },
    #[error("the request failed: {0}")]
    Other(String),
}

/// Sends delivery attempts and pings through one pooled, guarded client.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    /// For [`SenderConfig::trusted_prefixes`] only: the plain system resolver.
    trusted_client: reqwest::Client,
    trusted: Arc<Vec<Url>>,
    config: Arc<SenderConfig>,
    /// The URL rules' verdict per configured URL string. The rules depend only on the string
    /// and the (fixed) policy, so the verdict is remembered rather than re-parsed per attempt;
    /// resolved addresses are still checked at every connection by the resolver.
    verdicts: Arc<std::sync::Mutex<std::collections::HashMap<String, Verdict>>>,
}

/// Whether a URL may be sent to: through which client, to which parsed URL, or why not.
type Verdict = Result<(bool, Url), (ErrorClass, String)>;

/// Bounds the verdict memo; past this many URLs it starts over.
const MAX_VERDICTS: usize = 10_000;

impl Sender {
    pub fn new(config: SenderConfig) -> Result<Self, SenderError> {
        let builder = || {
            reqwest::Client::builder()
                .redirect(Policy::none())
                .no_proxy()
                .connect_timeout(config.connect_timeout)
                .timeout(config.total_timeout)
                .user_agent(config.user_agent.clone())
                .pool_max_idle_per_host(config.pool_max_idle_per_host)
                .pool_idle_timeout(Duration::from_secs(90))
        };
        let resolver = GuardedResolver::new(config.egress.clone(), config.connect_timeout);
        let client = builder().dns_resolver(resolver).build()?;
        let trusted_client = builder().build()?;
        let trusted = config
            .trusted_prefixes
            .iter()
            .map(|prefix| Url::parse(prefix).map_err(|error| SenderError::TrustedPrefix(prefix.clone(), error)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            client,
            trusted_client,
            trusted: Arc::new(trusted),
            config: Arc::new(config),
            verdicts: Arc::default(),
        })
    }

    pub fn config(&self) -> &SenderConfig {
        &self.config
    }

    /// Whether `url` falls under one of [`SenderConfig::trusted_prefixes`]:
    /// same scheme, host and port, no user-info, and a normalised path
    /// under the prefix's path. Such URLs skip the SSRF checks, at save time
    /// too.
    pub fn is_trusted(&self, url: &str) -> bool {
        self.trusted_url(url).is_some()
    }

    fn verdict(&self, url: &str) -> Verdict {
        if let Some(verdict) = self.verdicts.lock().expect("not poisoned").get(url) {
            return verdict.clone();
        }
        let verdict = match self.trusted_url(url) {
            Some(target) => Ok((true, target)),
            None => check_url(&self.config.egress, url)
                .map(|target| (false, target))
                .map_err(|error| (ErrorClass::BlockedBySsrfGuard, error.to_string())),
        };
        let mut verdicts = self.verdicts.lock().expect("not poisoned");
        if verdicts.len() >= MAX_VERDICTS {
            verdicts.clear();
        }
        verdicts.insert(url.to_owned(), verdict.clone());
        verdict
    }

    fn trusted_url(&self, url: &str) -> Option<Url> {
        let parsed = Url::parse(url).ok()?;
        let trusted = self.trusted.iter().any(|prefix| {
            parsed.scheme() == prefix.scheme()
                && parsed.host() == prefix.host()
                && parsed.port_or_known_default() == prefix.port_or_known_default()
                && parsed.username().is_empty()
                && parsed.password().is_none()
                && prefix.path().ends_with('/')
                && parsed.path().starts_with(prefix.path())
        });
        trusted.then_some(parsed)
    }

    /// One delivery attempt. Never panics and never returns early without a
    /// report: every failure is classified.
    pub async fn send(&self, request: OutgoingRequest) -> AttemptReport {
        let started = Instant::now();
        let result = self.exchange(&request.url, &request.headers, request.body, self.config.total_timeout).await;
        let latency = started.elapsed();
        match result {
            Ok(answer) => {
                let outcome = if answer.truncated {
                    AttemptOutcome::Failed(ErrorClass::BodyTooLarge)
                } else {
                    classify(Exchange::Response { status: answer.status })
                };
                AttemptReport {
                    outcome,
                    status: Some(answer.status),
                    latency,
                    response_excerpt: excerpt(&answer.body, RESPONSE_EXCERPT_CAP),
                    retry_after: answer.retry_after.as_deref().and_then(|value| RetryAfter::parse(value, unix_now())),
                    error: answer
                        .truncated
                        .then(|| format!("response body exceeded {} bytes; reading stopped", self.config.read_cap)),
                }
            }
            Err(failure) => AttemptReport {
                outcome: AttemptOutcome::Failed(failure.class),
                status: failure.status,
                latency,
                response_excerpt: String::new(),
                retry_after: None,
                error: Some(failure.detail),
            },
        }
    }

    /// The verification ping: an empty POST that must get exactly 200
    /// within the ping timeout.
    pub async fn ping(
        &self,
        url: &str,
        secret: Option<&str>,
        custom_headers: &[(String, String)],
    ) -> Result<(), PingError> {
        let headers = ping_headers(&self.config.user_agent, url, secret, custom_headers);
        let answer =
            self.exchange(url, &headers, Bytes::new(), self.config.ping_timeout).await.map_err(
                |failure| match failure.class {
                    ErrorClass::BlockedBySsrfGuard => PingError::Blocked(failure.detail),
                    ErrorClass::Dns => PingError::Dns(failure.detail),
                    ErrorClass::Connect => PingError::Connect(failure.detail),
                    ErrorClass::Tls => PingError::Tls(failure.detail),
                    ErrorClass::Timeout => PingError::Timeout(self.config.ping_timeout),
                    ErrorClass::BodyTooLarge | ErrorClass::Other => PingError::Other(failure.detail),
                },
            )?;
        let status = answer.status;
        if answer.truncated {
            return Err(PingError::BodyTooLarge { status, cap: self.config.read_cap });
        }
        match status {
            200 => Ok(()),
            300..=399 => Err(PingError::Redirected { status, location: answer.location }),
            _ => Err(PingError::Status { status, excerpt: excerpt(&answer.body, RESPONSE_EXCERPT_CAP) }),
        }
    }

    /// POSTs and reads the capped answer within `budget`.
    async fn exchange(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: Bytes,
        budget: Duration,
    ) -> Result<Answer, Failure> {
        // reqwest skips the resolver for IP-literal hosts, so every URL rule
        // (literal addresses included) is re-checked here at each attempt.
        let (trusted, target) = self.verdict(url).map_err(|(class, detail)| Failure::new(class, detail))?;
        let client = if trusted { &self.trusted_client } else { &self.client };
        let header_map = header_map(headers)?;
        let read_cap = self.config.read_cap;
        let work = async {
            let mut response = client
                .post(target)
                .headers(header_map)
                .body(body)
                .timeout(budget)
                .send()
                .await
                .map_err(|error| Failure::from_reqwest(&error, None))?;
            let status = response.status().as_u16();
            let header_text = |name| {
                response.headers().get(name).and_then(|value: &HeaderValue| value.to_str().ok()).map(str::to_owned)
            };
            let retry_after = header_text(RETRY_AFTER);
            let location = header_text(LOCATION);
            let mut collected = Vec::new();
            let mut truncated = false;
            while let Some(chunk) =
                response.chunk().await.map_err(|error| Failure::from_reqwest(&error, Some(status)))?
            {
                let room = read_cap - collected.len();
                if chunk.len() > room {
                    // Dropping the response closes the connection, so an
                    // endless body costs us nothing more.
                    collected.extend_from_slice(&chunk[..room]);
                    truncated = true;
                    break;
                }
                collected.extend_from_slice(&chunk);
            }
            Ok(Answer { status, body: collected, truncated, retry_after, location })
        };
        // reqwest's own timeout covers the body too; this outer one makes the
        // budget hold whatever path the request takes inside reqwest.
        tokio::time::timeout(budget, work).await.unwrap_or_else(|_| Err(Failure::timed_out(budget)))
    }
}

/// A response read up to the cap.
struct Answer {
    status: u16,
    body: Vec<u8>,
    truncated: bool,
    retry_after: Option<String>,
    location: Option<String>,
}

/// A transport failure, classified.
struct Failure {
    class: ErrorClass,
    detail: String,
    status: Option<u16>,
}

impl Failure {
    fn new(class: ErrorClass, detail: String) -> Self {
        Self { class, detail, status: None }
    }

    fn timed_out(budget: Duration) -> Self {
        Self::new(ErrorClass::Timeout, format!("no complete answer within {} s", budget.as_secs_f64()))
    }

    fn from_reqwest(error: &reqwest::Error, status: Option<u16>) -> Self {
        let (class, detail) = classify_reqwest(error);
        Self { class, detail, status }
    }
}

/// Maps a reqwest error to an [`ErrorClass`] and a message. Our resolver's
/// [`ResolverError`] marks guard refusals and DNS failures; a rustls error
/// anywhere in the chain marks TLS.
fn classify_reqwest(error: &reqwest::Error) -> (ErrorClass, String) {
    let causes = causes(error);
    for cause in &causes {
        if let Some(failure) = cause.downcast_ref::<ResolverError>() {
            let class = match failure {
                ResolverError::Dns(_) => ErrorClass::Dns,
                ResolverError::Refused(_) => ErrorClass::BlockedBySsrfGuard,
            };
            return (class, failure.to_string());
        }
    }
    let class = if error.is_timeout() {
        ErrorClass::Timeout
    } else if causes.iter().any(|cause| cause.is::<rustls::Error>()) {
        ErrorClass::Tls
    } else if error.is_connect() {
        ErrorClass::Connect
    } else {
        ErrorClass::Other
    };
    (class, describe(error))
}

/// Every cause below `error`. `io::Error::source` skips the error an
/// `io::Error` wraps (tokio-rustls nests rustls errors two `io::Error`s
/// deep), so wrapped errors are stepped into explicitly.
fn causes(error: &reqwest::Error) -> Vec<&(dyn StdError + 'static)> {
    let mut found = Vec::new();
    let mut next: Option<&(dyn StdError + 'static)> = error.source();
    while let Some(cause) = next {
        found.push(cause);
        next = match cause.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(inner) => Some(inner),
            None => cause.source(),
        };
    }
    found
}

/// The error and its causes, joined, skipping repeats (hyper and reqwest
/// often wrap the same message twice).
fn describe(error: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|seen| seen.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

fn header_map(headers: &[(String, String)]) -> Result<HeaderMap, Failure> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        // Custom headers are validated when saved; this only keeps a bad
        // row from panicking the worker.
        let invalid = || Failure::new(ErrorClass::Other, format!("header {name:?} is not valid"));
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let value = HeaderValue::from_str(value).map_err(|_| invalid())?;
        map.append(name, value);
    }
    Ok(map)
}

fn unix_now() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX)
}

/// The resolver plugged into the delivery client: resolve, vet every
/// address, return only vetted ones.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: Arc<EgressPolicy>,
    timeout: Duration,
}

impl GuardedResolver {
    pub fn new(policy: EgressPolicy, timeout: Duration) -> Self {
        Self { policy: Arc::new(policy), timeout }
    }

    /// Resolves `host` and vets the result; the addresses returned are the
    /// only ones the client may dial.
    pub async fn resolve_vetted(&self, host: &str) -> Result<Vec<IpAddr>, ResolverError> {
        let lookup = tokio::time::timeout(self.timeout, tokio::net::lookup_host((host, 0)))
            .await
            .map_err(|_| ResolverError::Dns(format!("resolving {host} timed out")))?
            .map_err(|error| ResolverError::Dns(format!("resolving {host} failed: {error}")))?;
        let mut addresses: Vec<IpAddr> = Vec::new();
        for address in lookup.map(|socket| socket.ip()) {
            if !addresses.contains(&address) {
                addresses.push(address);
            }
        }
        check_resolved(&self.policy, host, &addresses).map_err(|error| match error {
            ResolveError::NoAddresses { .. } => ResolverError::Dns(error.to_string()),
            refused => ResolverError::Refused(refused),
        })
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = self.clone();
        Box::pin(async move {
            let vetted = resolver.resolve_vetted(name.as_str()).await?;
            // Port 0: the connector substitutes the URL's port.
            let addrs: Addrs = Box::new(vetted.into_iter().map(|address| SocketAddr::new(address, 0)));
            Ok(addrs)
        })
    }
}

/// Why [`GuardedResolver`] produced no addresses.
#[derive(Debug, thiserror::Error)]
pub enum ResolverError {
    /// The name did not resolve, or resolved to nothing.
    #[error("{0}")]
    Dns(String),
    /// The SSRF guard refused what the name resolved to.
    #[error(transparent)]
    Refused(ResolveError),
}

/// What [`delivery_headers`] needs for one attempt.
#[derive(Clone, Copy)]
pub struct DeliveryHeaderParams<'a> {
    pub user_agent: &'a str,
    /// The endpoint URL exactly as configured (signed verbatim).
    pub url: &'a str,
    pub event: &'a str,
    /// The envelope's `triggeredOn`, in milliseconds.
    pub triggered_on_ms: i64,
    /// The event's id, stable across retries.
    pub webhook_id: &'a str,
    /// When this attempt is made, Unix seconds.
    pub attempt_unix_secs: i64,
    /// The webhook's secret as the user set it, if any.
    pub secret: Option<&'a str>,
    /// Replaced secrets still in their overlap window: each adds a `v1,` entry to
    /// `webhook-signature`. `X-CodeSignal-Signature` holds one value by definition, so it is
    /// always computed with the current secret.
    pub retired_secrets: &'a [&'a str],
    /// The exact body bytes to be sent.
    pub body: &'a [u8],
    /// Tenant headers, already validated.
    pub custom_headers: &'a [(String, String)],
}

impl fmt::Debug for DeliveryHeaderParams<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryHeaderParams")
            .field("url", &self.url)
            .field("event", &self.event)
            .field("webhook_id", &self.webhook_id)
            .field("secret", &self.secret.map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// Header names screenhook sets itself; custom headers never override them.
const OWN_HEADERS: [&str; 6] =
    ["content-type", "user-agent", "x-codesignal-signature", "webhook-id", "webhook-timestamp", "webhook-signature"];

fn custom_headers_without_ours(custom: &[(String, String)]) -> impl Iterator<Item = (String, String)> + '_ {
    custom.iter().filter(|(name, _)| !OWN_HEADERS.contains(&name.to_ascii_lowercase().as_str())).cloned()
}

/// The Standard Webhooks key for a webhook secret: the secret itself when
/// it is a valid `whsec_…` value, else SHA-256 of its UTF-8 bytes (see the
/// module docs).
pub fn standard_webhooks_key(secret: &str) -> WebhookSecret {
    WebhookSecret::parse(secret).unwrap_or_else(|_| WebhookSecret::from_bytes(Sha256::digest(secret.as_bytes()).into()))
}

/// All headers of one delivery attempt, in sending order.
pub fn delivery_headers(params: DeliveryHeaderParams<'_>) -> Vec<(String, String)> {
    let mut headers = vec![
        ("Content-Type".to_owned(), "application/json".to_owned()),
        ("User-Agent".to_owned(), params.user_agent.to_owned()),
    ];
    if let Some(secret) = params.secret {
        headers.push((
            CODESIGNAL_SIGNATURE_HEADER.to_owned(),
            codesignal_signature(secret, params.url, params.event, &params.triggered_on_ms.to_string()),
        ));
    }
    headers.push((WEBHOOK_ID_HEADER.to_owned(), params.webhook_id.to_owned()));
    headers.push((WEBHOOK_TIMESTAMP_HEADER.to_owned(), params.attempt_unix_secs.to_string()));
    if let Some(secret) = params.secret {
        headers.push((
            WEBHOOK_SIGNATURE_HEADER.to_owned(),
            signature_header(
                &std::iter::once(secret)
                    .chain(params.retired_secrets.iter().copied())
                    .map(standard_webhooks_key)
                    .collect::<Vec<_>>(),
                params.webhook_id,
                params.attempt_unix_secs,
                params.body,
            ),
        ));
    }
    headers.extend(custom_headers_without_ours(params.custom_headers));
    headers
}

/// Headers of the verification ping: `User-Agent`, the URL-only
/// `X-CodeSignal-Signature` when there is a secret, then custom headers.
pub fn ping_headers(
    user_agent: &str,
    url: &str,
    secret: Option<&str>,
    custom_headers: &[(String, String)],
) -> Vec<(String, String)> {
    let mut headers = vec![("User-Agent".to_owned(), user_agent.to_owned())];
    if let Some(secret) = secret {
        headers.push((CODESIGNAL_SIGNATURE_HEADER.to_owned(), codesignal_signature(secret, url, "", "")));
    }
    headers.extend(custom_headers_without_ours(custom_headers));
    headers
}

/// The delivery body `{"event":…,"triggeredOn":…,"payload":…}`, built by
/// concatenation so the payload's bytes are sent exactly as stored.
/// `payload_json_text` must be valid JSON; the event name is JSON-escaped.
pub fn envelope_body(event_name: &str, triggered_on_ms: i64, payload_json_text: &str) -> Vec<u8> {
    let event = serde_json::Value::from(event_name).to_string();
    format!(r#"{{"event":{event},"triggeredOn":{triggered_on_ms},"payload":{payload_json_text}}}"#).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params<'a>(secret: Option<&'a str>, custom: &'a [(String, String)]) -> DeliveryHeaderParams<'a> {
        DeliveryHeaderParams {
            user_agent: USER_AGENT,
            url: "https://example.com/codesignal/webhook",
            event: "companyTestSessionFinished",
            triggered_on_ms: 1_553_720_789_347,
            webhook_id: "evt_1",
            attempt_unix_secs: 1_700_000_000,
            secret,
            retired_secrets: &[],
            body: b"{}",
            custom_headers: custom,
        }
    }

    #[test]
    fn headers_come_in_order_and_signatures_only_with_a_secret() {
        let names = |headers: Vec<(String, String)>| headers.into_iter().map(|(name, _)| name).collect::<Vec<_>>();
        assert_eq!(
            names(delivery_headers(params(None, &[]))),
            ["Content-Type", "User-Agent", "webhook-id", "webhook-timestamp"]
        );
        let custom = [("X-Tenant".to_owned(), "acme".to_owned())];
        let headers = delivery_headers(params(Some("my-secret"), &custom));
        assert_eq!(
            names(headers.clone()),
            [
                "Content-Type",
                "User-Agent",
                "X-CodeSignal-Signature",
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature",
                "X-Tenant"
            ]
        );
        // The reference's known answer.
        assert_eq!(headers[2].1, "7dd88207964db657e115060cf08a57e5d8e11e290bd1c5463e6a8a2f6a602ff8");
        assert_eq!(headers[4].1, "1700000000");
    }

    #[test]
    fn during_a_rotation_both_secrets_sign_the_body_and_codesignal_uses_the_new_one() {
        use crate::signature::{SignedHeaders, verify};
        let retired = ["old-secret"];
        let rotating = DeliveryHeaderParams { retired_secrets: &retired, ..params(Some("my-secret"), &[]) };
        let headers = delivery_headers(rotating);
        let value = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap();
        assert_eq!(value("X-CodeSignal-Signature"), "7dd88207964db657e115060cf08a57e5d8e11e290bd1c5463e6a8a2f6a602ff8");
        let signature = value("webhook-signature");
        assert_eq!(signature.split(' ').count(), 2, "{signature}");
        let signed = SignedHeaders { id: Some("evt_1"), timestamp: Some("1700000000"), signature: Some(signature) };
        for secret in ["my-secret", "old-secret"] {
            verify(&[standard_webhooks_key(secret)], signed, b"{}", 1_700_000_000, 300)
                .unwrap_or_else(|err| panic!("{secret}: {err}"));
        }
        assert!(verify(&[standard_webhooks_key("other")], signed, b"{}", 1_700_000_000, 300).is_err());
    }

    #[test]
    fn colliding_custom_headers_are_dropped() {
        let custom: Vec<(String, String)> = [
            "content-type",
            "USER-AGENT",
            "X-Codesignal-Signature",
            "Webhook-Id",
            "webhook-timestamp",
            "WEBHOOK-SIGNATURE",
            "X-Kept",
        ]
        .iter()
        .map(|name| ((*name).to_owned(), "forged".to_owned()))
        .collect();
        let headers = delivery_headers(params(None, &custom));
        let forged: Vec<_> = headers.iter().filter(|(_, value)| value == "forged").collect();
        assert_eq!(forged, [&("X-Kept".to_owned(), "forged".to_owned())]);
    }

    #[test]
    fn whsec_secrets_are_used_as_is_and_others_are_hashed() {
        let whsec = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
        assert_eq!(standard_webhooks_key(whsec).to_string(), whsec);
        let derived = standard_webhooks_key("my-secret");
        let expected: [u8; 32] = Sha256::digest(b"my-secret").into();
        assert_eq!(derived, WebhookSecret::from_bytes(expected));
        // A malformed whsec_ value is just another typed secret.
        assert_eq!(
            standard_webhooks_key("whsec_short"),
            WebhookSecret::from_bytes(Sha256::digest(b"whsec_short").into())
        );
    }

    #[test]
    fn envelope_is_concatenated_verbatim() {
        let payload = r#"{ "b":1,  "a":[2.50, "é"] }"#;
        let body = envelope_body("companyTestSessionFinished", 1_553_720_789_347, payload);
        assert_eq!(
            String::from_utf8(body.clone()).unwrap(),
            r#"{"event":"companyTestSessionFinished","triggeredOn":1553720789347,"payload":{ "b":1,  "a":[2.50, "é"] }}"#
        );
        let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed["payload"]["b"], 1);
        assert_eq!(envelope_body("a\"b", 1, "null"), br#"{"event":"a\"b","triggeredOn":1,"payload":null}"#);
    }

    #[test]
    fn ping_headers_sign_the_url_alone() {
        let headers = ping_headers(USER_AGENT, "https://example.com/codesignal/webhook", Some("my-secret"), &[]);
        assert_eq!(
            headers[1],
            (
                "X-CodeSignal-Signature".to_owned(),
                "739464a48345960600242c01a0596975851d1051c5eb39c0a77f98af33f5462b".to_owned()
            )
        );
        assert_eq!(ping_headers(USER_AGENT, "https://x.example/", None, &[]).len(), 1);
    }

    #[test]
    fn user_agent_names_screenhook_and_its_version() {
        assert!(USER_AGENT.starts_with(&format!("screenhook/{} ", env!("CARGO_PKG_VERSION"))));
    }
}
