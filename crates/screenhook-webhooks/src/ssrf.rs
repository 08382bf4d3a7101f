//! The SSRF guard: which URLs and addresses a webhook may target.
//!
//! Webhook URLs are typed by tenants, and the worker POSTs to them from
//! inside our network, so a URL is an attacker-chosen request target. The
//! guard follows OWASP's SSRF advice for webhooks (a deny list of
//! non-public addresses, every resolved address checked):
//!
//! 1. [`check_url`] parses with the WHATWG `url` parser, which normalises
//!    decimal, octal, hex, percent-encoded and IDNA forms of IP literals, and
//!    takes the host from [`url::Url::host`] — never by re-parsing the host
//!    string with `std`, which would mistake `127.1` for a name. The scheme
//!    is checked *first*: for non-special schemes such as `gopher:` the
//!    parser reports IP literals as names. Userinfo, fragments, over-long
//!    URLs, localhost names and forbidden ports are refused.
//! 2. For a name, the worker resolves A and AAAA at *every* attempt and
//!    calls [`check_resolved`], which refuses the whole target if **any**
//!    address is forbidden (a name answering both public and internal
//!    addresses is an attack, not a fallback). The worker then dials only
//!    the vetted addresses, so a second lookup cannot rebind the name.
//! 3. The worker follows no redirects (see [`crate::classify`](mod@crate::classify)), so a 3xx
//!    cannot lead it to an address this guard never saw.
//!
//! # Decisions
//!
//! * **Plain `http` is allowed by default.** CodeSignal accepts any URL and
//!   self-hosted receivers often sit behind a TLS-terminating proxy or on a
//!   lab network; the address checks, not the scheme, are what stop SSRF.
//!   Operators who want HTTPS only set [`EgressPolicy::allow_http`] to false.
//! * **NAT64 (`64:ff9b::/96`) is judged by the IPv4 address it embeds**, as
//!   Hook0 does: on an IPv6-only host behind DNS64, every IPv4-only receiver
//!   resolves to such an address, so refusing the prefix outright would
//!   break delivery there; `64:ff9b::a9fe:a9fe` is still refused because
//!   169.254.169.254 is. The local-use prefix `64:ff9b:1::/48` and 6to4
//!   `2002::/16` are refused outright.
//! * **IPv4-mapped addresses (`::ffff:a.b.c.d`) are judged as IPv4**, so
//!   `::ffff:8.8.8.8` passes and `::ffff:127.0.0.1` does not. Every other
//!   address in `::/8` (IPv4-compatible, IPv4-translated, `::`, `::1`) is
//!   refused.
//! * **Ports:** the Fetch standard's "bad ports" (the ports browsers refuse
//!   because a POST there can drive SMTP, IRC, FTP and other line-based
//!   protocols) plus port 0 and the datastore ports 6379 (Redis) and 11211
//!   (memcached), whose text protocols would execute a POST body's lines.
//!   Everything else, including the usual 8080/3000/8443, is allowed.
//! * **Operator escape hatches**, off by default: `allow_loopback` (for CI
//!   and local receivers) and `allowed_cidrs`. Neither lifts the port rule.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use url::{Host, Url};

/// Longest URL accepted, in bytes (before and after normalisation).
pub const MAX_URL_LEN: usize = 2048;

/// Where webhooks may be delivered. `Default` refuses every non-global
/// address and allows both `http` and `https`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressPolicy {
    /// Allow 127.0.0.0/8, `::1` (and mapped forms) and `localhost` names.
    pub allow_loopback: bool,
    /// Address ranges allowed even though the block list covers them.
    pub allowed_cidrs: Vec<IpNet>,
    /// Allow plain `http` URLs; `https` is always allowed.
    pub allow_http: bool,
}

impl Default for EgressPolicy {
    fn default() -> Self {
        Self { allow_loopback: false, allowed_cidrs: Vec::new(), allow_http: true }
    }
}

impl EgressPolicy {
    /// Refuses `address` unless it is global or the operator allowed it.
    pub fn check_ip(&self, address: IpAddr) -> Result<(), BlockedAddress> {
        let canonical = address.to_canonical();
        let operator_allowed = self.allowed_cidrs.iter().any(|net| net.contains(&address) || net.contains(&canonical));
        if operator_allowed || (self.allow_loopback && canonical.is_loopback()) {
            return Ok(());
        }
        match forbidden_range(address) {
            Some(range) => Err(BlockedAddress { address, range }),
            None => Ok(()),
        }
    }
}

/// Why an address is not a valid webhook target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForbiddenRange {
    /// 0.0.0.0/8 and `::` — reaches local listeners on Linux.
    Unspecified,
    Loopback,
    /// RFC 1918 and IPv6 unique-local (fc00::/7).
    Private,
    /// 169.254/16 and fe80::/10; home of cloud metadata services.
    LinkLocal,
    /// 100.64/10, carrier-grade NAT.
    SharedAddressSpace,
    /// 192.0.0/24 and 2001::/23 (Teredo, ORCHID, …).
    ProtocolAssignments,
    Documentation,
    Benchmarking,
    /// 192.88.99/24, 2002::/16 and 64:ff9b:1::/48.
    TransitionRelay,
    Multicast,
    /// 240/4 and fec0::/10 (deprecated site-local).
    Reserved,
    Broadcast,
    /// The rest of `::/8`: IPv4-compatible and IPv4-translated forms.
    EmbeddedIpv4,
    /// 100::/64, the discard prefix.
    Discard,
    /// 5f00::/16, SRv6 segment identifiers.
    SegmentRouting,
}

impl ForbiddenRange {
    fn description(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified (\"this host\")",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::LinkLocal => "link-local (cloud metadata lives here)",
            Self::SharedAddressSpace => "shared carrier-grade NAT space",
            Self::ProtocolAssignments => "reserved for IETF protocol assignments",
            Self::Documentation => "reserved for documentation",
            Self::Benchmarking => "reserved for benchmarking",
            Self::TransitionRelay => "an IPv6 transition relay prefix",
            Self::Multicast => "multicast",
            Self::Reserved => "reserved",
            Self::Broadcast => "broadcast",
            Self::EmbeddedIpv4 => "an IPv4-compatible or IPv4-translated IPv6 form",
            Self::Discard => "the IPv6 discard prefix",
            Self::SegmentRouting => "reserved for SRv6 segment identifiers",
        }
    }
}

/// An address refused by the block list, with the range that refused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockedAddress {
    pub address: IpAddr,
    pub range: ForbiddenRange,
}

impl fmt::Display for BlockedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "address {}", self.address)?;
        if let Some(embedded) = nat64_embedded(self.address) {
            write!(f, " (NAT64 for {embedded})")?;
        }
        write!(
            f,
            " is {}; webhooks may not target private, loopback, link-local or metadata addresses \
             unless an operator allows it (delivery.allow_loopback / delivery.allowed_cidrs)",
            self.range.description()
        )
    }
}

impl std::error::Error for BlockedAddress {}

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix)
}

const fn v6(segments: [u16; 8], prefix: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), prefix)
}

/// IPv4 block list, most specific reason first (`255.255.255.255` before 240/4).
const BLOCKED_V4: [(Ipv4Net, ForbiddenRange); 16] = [
    (v4(255, 255, 255, 255, 32), ForbiddenRange::Broadcast),
    (v4(0, 0, 0, 0, 8), ForbiddenRange::Unspecified),
    (v4(10, 0, 0, 0, 8), ForbiddenRange::Private),
    (v4(100, 64, 0, 0, 10), ForbiddenRange::SharedAddressSpace),
    (v4(127, 0, 0, 0, 8), ForbiddenRange::Loopback),
    (v4(169, 254, 0, 0, 16), ForbiddenRange::LinkLocal),
    (v4(172, 16, 0, 0, 12), ForbiddenRange::Private),
    (v4(192, 0, 0, 0, 24), ForbiddenRange::ProtocolAssignments),
    (v4(192, 0, 2, 0, 24), ForbiddenRange::Documentation),
    (v4(192, 88, 99, 0, 24), ForbiddenRange::TransitionRelay),
    (v4(192, 168, 0, 0, 16), ForbiddenRange::Private),
    (v4(198, 18, 0, 0, 15), ForbiddenRange::Benchmarking),
    (v4(198, 51, 100, 0, 24), ForbiddenRange::Documentation),
    (v4(203, 0, 113, 0, 24), ForbiddenRange::Documentation),
    (v4(224, 0, 0, 0, 4), ForbiddenRange::Multicast),
    (v4(240, 0, 0, 0, 4), ForbiddenRange::Reserved),
];

const NAT64: Ipv6Net = v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96);

/// IPv6 block list (after NAT64 and mapped addresses are handled), most
/// specific reason first: `::1`, `::` and `64:ff9b:1::/48` all lie inside
/// `::/8`, so they come before it.
#[rustfmt::skip]
const BLOCKED_V6: [(Ipv6Net, ForbiddenRange); 14] = [
    (v6([0, 0, 0, 0, 0, 0, 0, 1], 128),         ForbiddenRange::Loopback),
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 128),         ForbiddenRange::Unspecified),
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),  ForbiddenRange::TransitionRelay),
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 8),           ForbiddenRange::EmbeddedIpv4),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64),      ForbiddenRange::Discard),
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), ForbiddenRange::Documentation),
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),     ForbiddenRange::ProtocolAssignments),
    (v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16),     ForbiddenRange::TransitionRelay),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),     ForbiddenRange::Documentation),
    (v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16),     ForbiddenRange::SegmentRouting),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),      ForbiddenRange::Private),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),     ForbiddenRange::LinkLocal),
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),     ForbiddenRange::Reserved),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8),      ForbiddenRange::Multicast),
];

fn nat64_embedded(address: IpAddr) -> Option<Ipv4Addr> {
    match address {
        IpAddr::V6(v6) if NAT64.contains(&v6) => {
            let [.., a, b, c, d] = v6.octets();
            Some(Ipv4Addr::new(a, b, c, d))
        }
        _ => None,
    }
}

/// The block-list range covering `address`, if any, ignoring operator
/// policy. IPv4-mapped IPv6 is judged as IPv4 and NAT64 by its payload.
pub fn forbidden_range(address: IpAddr) -> Option<ForbiddenRange> {
    if let Some(embedded) = nat64_embedded(address) {
        return forbidden_range(IpAddr::V4(embedded));
    }
    match address.to_canonical() {
        IpAddr::V4(v4) => BLOCKED_V4.iter().find(|(net, _)| net.contains(&v4)).map(|(_, range)| *range),
        IpAddr::V6(v6) => BLOCKED_V6.iter().find(|(net, _)| net.contains(&v6)).map(|(_, range)| *range),
    }
}

/// Whether the block list covers `address` (operator policy not applied).
pub fn is_forbidden(address: IpAddr) -> bool {
    forbidden_range(address).is_some()
}

/// Fetch's bad ports (fetch.spec.whatwg.org, "port blocking"), plus 0,
/// 6379 (Redis) and 11211 (memcached).
const FORBIDDEN_PORTS: [u16; 85] = [
    0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109,
    110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531,
    532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060,
    5061, 6000, 6379, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080, 11211,
];

/// Whether webhooks may never target `port`, whatever the host.
pub fn is_forbidden_port(port: u16) -> bool {
    FORBIDDEN_PORTS.contains(&port)
}

fn is_localhost_name(domain: &str) -> bool {
    let name = domain.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Why a webhook URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("URL is {len} bytes long; the limit is 2048")]
    TooLong { len: usize },
    #[error("not a valid URL: {0}")]
    Invalid(#[from] url::ParseError),
    #[error("scheme \"{0}\" is not allowed; webhook URLs must use https or http")]
    UnsupportedScheme(String),
    #[error("plain http is disabled by the operator (delivery.allow_http); use https")]
    HttpNotAllowed,
    #[error("URL must not contain a user name or password")]
    UserInfo,
    #[error("URL must not contain a fragment (#…); it is never sent to the receiver")]
    Fragment,
    #[error("URL has no host")]
    MissingHost,
    #[error(
        "host {0} is a localhost name; webhooks may not target loopback unless an operator allows it \
         (delivery.allow_loopback)"
    )]
    LocalhostName(String),
    #[error("port {0} is refused: it belongs to a non-HTTP service that a POST could abuse")]
    ForbiddenPort(u16),
    #[error(transparent)]
    Blocked(#[from] BlockedAddress),
}

/// Validates a webhook URL before it is saved and again before each send.
///
/// For an IP-literal host the address is checked here; for a name, the
/// caller must resolve it and call [`check_resolved`].
pub fn check_url(policy: &EgressPolicy, input: &str) -> Result<Url, UrlError> {
    if input.len() > MAX_URL_LEN {
        return Err(UrlError::TooLong { len: input.len() });
    }
    let url = Url::parse(input)?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        "http" => return Err(UrlError::HttpNotAllowed),
        other => return Err(UrlError::UnsupportedScheme(other.to_owned())),
    }
    if url.as_str().len() > MAX_URL_LEN {
        return Err(UrlError::TooLong { len: url.as_str().len() });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::UserInfo);
    }
    if url.fragment().is_some() {
        return Err(UrlError::Fragment);
    }
    if let Some(port) = url.port_or_known_default().filter(|port| is_forbidden_port(*port)) {
        return Err(UrlError::ForbiddenPort(port));
    }
    match url.host().ok_or(UrlError::MissingHost)? {
        Host::Domain(name) if is_localhost_name(name) && !policy.allow_loopback => {
            return Err(UrlError::LocalhostName(name.to_owned()));
        }
        Host::Domain(_) => {}
        Host::Ipv4(v4) => policy.check_ip(IpAddr::V4(v4))?,
        Host::Ipv6(v6) => policy.check_ip(IpAddr::V6(v6))?,
    }
    Ok(url)
}

/// Why the resolved addresses of a webhook host were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("host {host} resolved to no addresses")]
    NoAddresses { host: String },
    #[error(
        "host {0} is a localhost name; webhooks may not target loopback unless an operator allows it \
         (delivery.allow_loopback)"
    )]
    LocalhostName(String),
    #[error("host {host} resolves to {blocked}")]
    Blocked { host: String, blocked: BlockedAddress },
}

/// Vets every address `host` resolved to; the worker must dial only the
/// returned addresses. One forbidden address refuses the whole host.
pub fn check_resolved(policy: &EgressPolicy, host: &str, addresses: &[IpAddr]) -> Result<Vec<IpAddr>, ResolveError> {
    if is_localhost_name(host) && !policy.allow_loopback {
        return Err(ResolveError::LocalhostName(host.to_owned()));
    }
    if addresses.is_empty() {
        return Err(ResolveError::NoAddresses { host: host.to_owned() });
    }
    for &address in addresses {
        policy.check_ip(address).map_err(|blocked| ResolveError::Blocked { host: host.to_owned(), blocked })?;
    }
    Ok(addresses.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn refused(policy: &EgressPolicy, url: &str) -> UrlError {
        match check_url(policy, url) {
            Ok(parsed) => panic!("{url} was accepted as {parsed}"),
            Err(error) => error,
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// Corpus forms 1–33 and 41–43: every one is refused by `check_url`
    /// under the default policy.
    #[test]
    fn ssrf_corpus_literals_and_tricks_are_refused() {
        let corpus = [
            // 1–13: IPv4 literals and their encodings.
            "http://127.0.0.1/",
            "http://127.1.2.3/",
            "http://127.1/",
            "http://0.0.0.0/",
            "http://0/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0x7f.0.0.1/",
            "http://0177.0.0.1/",
            "http://017700000001/",
            "http://%31%32%37.0.0.1/",
            "http://127。0。0。1/",
            "http://①②⑦.0.0.1/",
            // 14–22: metadata and private ranges.
            "http://169.254.169.254/latest/meta-data/",
            "http://169.254.170.2/",
            "http://10.0.0.1/",
            "http://172.16.0.1/",
            "http://172.31.255.254/",
            "http://192.168.0.1/",
            "http://100.64.0.1/",
            "http://198.18.0.1/",
            "http://192.0.0.8/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://240.0.0.1/",
            // 23–33: IPv6.
            "http://[::1]/",
            "http://[::]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[fe80::1]/",
            "http://[fe80::1%25eth0]/",
            "http://[fd00:ec2::254]/",
            "http://[fc00::1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[2002:a9fe:a9fe::1]/",
            "http://[::7f00:1]/",
            "http://[ff02::1]/",
            // 34: localhost names, refused before resolution.
            "http://localhost/",
            "http://LOCALHOST./",
            "http://a.localhost/",
            // 41–43: URL tricks.
            "http://example.com@127.0.0.1/",
            "http://127.0.0.1#@example.com/",
            "file:///etc/passwd",
            "gopher://127.0.0.1:25/",
            "ftp://example.com/",
            "dict://127.0.0.1:11211/",
            "ws://127.0.0.1/",
            // Beyond the corpus: other spellings the parser must normalise.
            "http://127.0.0.1./",
            "http://[::ffff:0:7f00:1]/",
            "http://[0:0:0:0:0:ffff:7f00:1]/",
            "https://0x7f.1:8443/",
        ];
        let policy = EgressPolicy::default();
        for url in corpus {
            refused(&policy, url);
        }
    }

    #[test]
    fn refusals_name_the_reason() {
        let policy = EgressPolicy::default();
        assert_eq!(
            refused(&policy, "http://2130706433/").to_string(),
            "address 127.0.0.1 is loopback; webhooks may not target private, loopback, link-local or \
             metadata addresses unless an operator allows it (delivery.allow_loopback / delivery.allowed_cidrs)"
        );
        let metadata = refused(&policy, "http://[64:ff9b::a9fe:a9fe]/").to_string();
        assert!(metadata.starts_with("address 64:ff9b::a9fe:a9fe (NAT64 for 169.254.169.254) is link-local"));
        assert!(matches!(refused(&policy, "gopher://127.0.0.1:25/"), UrlError::UnsupportedScheme(s) if s == "gopher"));
        assert!(matches!(refused(&policy, "file:///etc/passwd"), UrlError::UnsupportedScheme(_)));
        assert_eq!(refused(&policy, "http://example.com@127.0.0.1/"), UrlError::UserInfo);
        assert_eq!(refused(&policy, "https://user:pw@example.com/"), UrlError::UserInfo);
        assert_eq!(refused(&policy, "http://127.0.0.1#@example.com/"), UrlError::Fragment);
        assert_eq!(refused(&policy, "https://example.com/#"), UrlError::Fragment);
        assert!(matches!(refused(&policy, "http://[fe80::1%25eth0]/"), UrlError::Invalid(_)));
        assert_eq!(refused(&policy, "http://LOCALHOST./"), UrlError::LocalhostName("localhost.".into()));
        assert!(matches!(
            refused(&policy, "http://[::ffff:127.0.0.1]/"),
            UrlError::Blocked(BlockedAddress { range: ForbiddenRange::Loopback, .. })
        ));
    }

    /// Corpus form 44: the port policy (module docs) refuses non-HTTP
    /// service ports on any host, public ones included.
    #[test]
    fn forbidden_ports_are_refused_on_public_hosts() {
        let policy = EgressPolicy::default();
        for port in [22, 25, 6379, 11211, 0] {
            assert_eq!(refused(&policy, &format!("https://example.com:{port}/")), UrlError::ForbiddenPort(port));
        }
        for port in [80, 443, 3000, 8080, 8443] {
            assert!(check_url(&policy, &format!("https://example.com:{port}/")).is_ok(), "port {port}");
        }
    }

    // Corpus form 45 (a redirect from an allowed receiver to any of 1–40)
    // is not a URL-validation question: the worker never follows
    // redirects, and `classify` records every 3xx as a failure.

    #[test]
    fn scheme_and_length_rules() {
        let https_only = EgressPolicy { allow_http: false, ..EgressPolicy::default() };
        assert_eq!(refused(&https_only, "http://example.com/"), UrlError::HttpNotAllowed);
        assert!(check_url(&https_only, "https://example.com/").is_ok());
        assert!(check_url(&EgressPolicy::default(), "http://example.com/hook").is_ok());

        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(matches!(refused(&EgressPolicy::default(), &long), UrlError::TooLong { .. }));
        let at_limit = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN - 20));
        assert_eq!(at_limit.len(), MAX_URL_LEN);
        assert!(check_url(&EgressPolicy::default(), &at_limit).is_ok());
        assert!(matches!(refused(&EgressPolicy::default(), "not a url"), UrlError::Invalid(_)));
        assert!(matches!(refused(&EgressPolicy::default(), "https://"), UrlError::Invalid(_)));
    }

    /// A stub resolver for corpus forms 35–40 and the control name.
    fn stub_dns() -> HashMap<&'static str, Vec<IpAddr>> {
        HashMap::from([
            ("metadata.google.internal", vec![ip("169.254.169.254")]),
            ("loopback.example", vec![ip("127.0.0.1")]),
            ("aaaa-only.example", vec![ip("::1")]),
            ("mixed.example", vec![ip("93.184.216.34"), ip("10.0.0.1")]),
            // A CNAME chain is followed by the resolver; we only ever see
            // the final addresses of the internal name it ends at.
            ("cname-to-internal.example", vec![ip("192.168.1.10")]),
            ("example.com", vec![ip("93.184.216.34"), ip("2606:2800:220:1:248:1893:25c8:1946")]),
        ])
    }

    #[test]
    fn ssrf_corpus_names_are_refused_after_resolution() {
        let policy = EgressPolicy::default();
        let dns = stub_dns();
        for name in [
            "metadata.google.internal",
            "loopback.example",
            "aaaa-only.example",
            "mixed.example",
            "cname-to-internal.example",
        ] {
            let url = check_url(&policy, &format!("http://{name}/")).expect("names pass until resolved");
            let host = url.host_str().unwrap();
            let error = check_resolved(&policy, host, &dns[name]).unwrap_err();
            assert!(matches!(error, ResolveError::Blocked { .. }), "{name}: {error}");
        }
        let error = check_resolved(&policy, "mixed.example", &dns["mixed.example"]).unwrap_err();
        assert!(error.to_string().starts_with("host mixed.example resolves to address 10.0.0.1 is private"));
    }

    /// Corpus form 39: the worker re-resolves and re-checks at every attempt,
    /// so a rebinding name (TTL 0) is refused the moment it turns internal.
    #[test]
    fn rebinding_name_is_refused_on_the_second_resolution() {
        let policy = EgressPolicy::default();
        assert!(check_resolved(&policy, "rebind.example", &[ip("93.184.216.34")]).is_ok());
        assert!(check_resolved(&policy, "rebind.example", &[ip("127.0.0.1")]).is_err());
    }

    #[test]
    fn resolution_edge_cases() {
        let policy = EgressPolicy::default();
        assert_eq!(
            check_resolved(&policy, "void.example", &[]),
            Err(ResolveError::NoAddresses { host: "void.example".into() })
        );
        assert_eq!(
            check_resolved(&policy, "a.localhost", &[ip("93.184.216.34")]),
            Err(ResolveError::LocalhostName("a.localhost".into()))
        );
    }

    #[test]
    fn control_group_passes() {
        let policy = EgressPolicy::default();
        for url in [
            "https://1.1.1.1/",
            "https://8.8.8.8/",
            "https://[2606:4700:4700::1111]/",
            "https://[::ffff:8.8.8.8]/",
            "http://[64:ff9b::808:808]/",
        ] {
            assert!(check_url(&policy, url).is_ok(), "{url}");
        }
        let dns = stub_dns();
        let url = check_url(&policy, "https://example.com/codesignal/webhook").unwrap();
        let vetted = check_resolved(&policy, url.host_str().unwrap(), &dns["example.com"]).unwrap();
        assert_eq!(vetted, dns["example.com"]);
    }

    #[test]
    fn allow_loopback_opens_loopback_only() {
        let policy = EgressPolicy { allow_loopback: true, ..EgressPolicy::default() };
        for url in
            ["http://127.0.0.1:8080/", "http://[::1]:8080/", "http://[::ffff:127.0.0.1]/", "http://localhost:3000/"]
        {
            assert!(check_url(&policy, url).is_ok(), "{url}");
        }
        assert!(check_resolved(&policy, "localhost", &[ip("127.0.0.1"), ip("::1")]).is_ok());
        for url in ["http://10.0.0.1/", "http://169.254.169.254/", "http://0.0.0.0/", "http://[::]/"] {
            refused(&policy, url);
        }
        // Still one forbidden address refuses the name.
        assert!(check_resolved(&policy, "localhost", &[ip("127.0.0.1"), ip("10.0.0.1")]).is_err());
    }

    #[test]
    fn allowed_cidrs_open_exactly_their_ranges() {
        let policy = EgressPolicy {
            allowed_cidrs: vec!["10.1.0.0/16".parse().unwrap(), "fd00:1::/32".parse().unwrap()],
            ..EgressPolicy::default()
        };
        assert!(check_url(&policy, "http://10.1.2.3/").is_ok());
        assert!(check_url(&policy, "http://[::ffff:10.1.2.3]/").is_ok());
        assert!(check_url(&policy, "http://[fd00:1::5]/").is_ok());
        refused(&policy, "http://10.2.0.1/");
        refused(&policy, "http://127.0.0.1/");
        refused(&policy, "http://[fd00:2::5]/");
        assert!(check_resolved(&policy, "intranet.example", &[ip("10.1.0.9")]).is_ok());
    }

    #[test]
    fn block_list_boundaries() {
        let cases = [
            ("9.255.255.255", None),
            ("10.0.0.0", Some(ForbiddenRange::Private)),
            ("11.0.0.0", None),
            ("100.63.255.255", None),
            ("100.128.0.0", None),
            ("172.15.255.255", None),
            ("172.32.0.0", None),
            ("192.88.99.1", Some(ForbiddenRange::TransitionRelay)),
            ("198.20.0.0", None),
            ("223.255.255.255", None),
            ("255.255.255.255", Some(ForbiddenRange::Broadcast)),
            ("255.255.255.254", Some(ForbiddenRange::Reserved)),
            ("::ffff:0:7f00:1", Some(ForbiddenRange::EmbeddedIpv4)),
            ("100::1", Some(ForbiddenRange::Discard)),
            ("2001::1", Some(ForbiddenRange::ProtocolAssignments)),
            ("2001:db8::1", Some(ForbiddenRange::Documentation)),
            ("2001:4860:4860::8888", None),
            ("3fff::1", Some(ForbiddenRange::Documentation)),
            ("5f00::1", Some(ForbiddenRange::SegmentRouting)),
            ("64:ff9b::808:808", None),
            ("64:ff9b::a00:1", Some(ForbiddenRange::Private)),
            ("64:ff9b:1::808:808", Some(ForbiddenRange::TransitionRelay)),
            ("fec0::1", Some(ForbiddenRange::Reserved)),
            ("febf::1", Some(ForbiddenRange::LinkLocal)),
            ("fbff::1", None),
        ];
        for (address, expected) in cases {
            assert_eq!(forbidden_range(ip(address)), expected, "{address}");
            assert_eq!(is_forbidden(ip(address)), expected.is_some(), "{address}");
        }
    }
}
