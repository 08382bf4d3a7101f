//! The HTTP side of one delivery attempt, and the verification ping.
//!
//! [`Sender`] owns the single delivery [`reqwest::Client`] (its pool is
//! keyed by host, so every webhook shares it) and enforces, on every request,
//! the egress rules a sender of tenant-chosen URLs needs:
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
//!   (CodeSignal documents 10 s for the ping and no delivery timeout, so
//!   deliveries get the ping's budget); the ping
//!   [`PING_TIMEOUT`] = 10 s.
//! * **Capped body:** at most [`RESPONSE_READ_CAP`] (64 KiB) is read, then the
//!   attempt fails with [`ErrorClass::BodyTooLarge`]; the log keeps an
//!   [`excerpt`] of at most [`RESPONSE_EXCERPT_CAP`] (2 KiB).
//! * TLS is always verified (rustls, aws-lc-rs, platform roots) and a TLS
//!   failure is never retried over plain HTTP.
//!
//! The request itself (body, headers, both signatures) is built by the
//! pure [`request`](crate::request) module; this one only sends it.
//!
//! # Trusted prefixes
//!
//! [`SenderConfig::trusted_prefixes`] lists URL prefixes the server itself
//! answers — the `App` sets exactly the inspector's bins, `{public_url}/inspect/`
//! (and the same under the listen address when that differs) — so a webhook
//! may point at a bin without opening the SSRF guard to loopback as a whole. A trusted URL skips [`check_url`] and goes through a
//! second client without [`GuardedResolver`] (a `localhost` public URL must
//! resolve); it is still never redirected or proxied. The match is made on
//! the *parsed* URL (scheme, host, port, then a path prefix ending in `/`),
//! so `..` segments, user-info or look-alike hosts cannot ride on a prefix.
//!
//! # The verification ping
//!
//! [`Sender::ping`] POSTs an **empty body** and succeeds only on exactly
//! 200 within [`PING_TIMEOUT`], never following redirects (CodeSignal's rule
//! for saving a webhook), with the headers of [`ping_headers`].

use std::error::Error as StdError;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, LOCATION, RETRY_AFTER};
use reqwest::redirect::Policy;
use url::Url;

use crate::classify::{
    AttemptOutcome, ErrorClass, Exchange, RESPONSE_EXCERPT_CAP, RESPONSE_READ_CAP, classify, excerpt,
};
use crate::request::ping_headers;
use crate::retry::RetryAfter;
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
/// bytes and headers already built by [`delivery_headers`](crate::delivery_headers).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_names_screenhook_and_its_version() {
        assert!(USER_AGENT.starts_with(&format!("screenhook/{} ", env!("CARGO_PKG_VERSION"))));
    }
}
