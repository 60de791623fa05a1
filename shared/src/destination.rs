//! Where a server-side metadata fetch may connect (SSRF, OWASP "Server-Side Request Forgery
//! Prevention"). The management API's `metadata_url` and the scheduled refresh fetch a URL an org
//! admin typed, from a Lambda that has no VPC but does have neighbours worth protecting: the
//! Lambda runtime API and credentials endpoints on link-local addresses, `169.254.169.254`
//! (instance metadata), loopback services, and whatever private network a later deployment peers
//! with. So a destination is allowed only if it is a *global* unicast address.
//!
//! The address checked is the address connected to: the host is resolved once ([`resolve`]), every
//! answer is checked, and the HTTP client is pinned to exactly those answers (admin/fetch.rs), so
//! a second lookup (DNS rebinding) never happens. The connection's peer address is checked again
//! after connecting.
//!
//! Loopback is refused too, except through an explicit setting ([`FetchPolicy::allow_loopback`],
//! env `METADATA_FETCH_ALLOW_LOOPBACK=true`) that the tests and the local stack use; the template
//! leaves it off.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// At most this many addresses of one name are checked and pinned (a DNS answer is bounded by
/// its message size anyway; Okta's names have a handful).
pub const MAX_ADDRESSES: usize = 16;

/// What a server-side fetch may connect to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Let loopback destinations through (tests and the local stack only).
    pub allow_loopback: bool,
}

impl FetchPolicy {
    /// The deployed default: global unicast destinations only.
    pub const STRICT: FetchPolicy = FetchPolicy {
        allow_loopback: false,
    };

    /// From `METADATA_FETCH_ALLOW_LOOPBACK` (`true`/`1` allows loopback; anything else, or
    /// nothing, does not).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> FetchPolicy {
        FetchPolicy {
            allow_loopback: matches!(
                get("METADATA_FETCH_ALLOW_LOOPBACK")
                    .as_deref()
                    .map(str::trim),
                Some("true" | "1")
            ),
        }
    }

    pub fn from_env() -> FetchPolicy {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Why `ip` may not be connected to under this policy, if it may not.
    pub fn refuses(&self, ip: IpAddr) -> Option<Forbidden> {
        match classify(ip) {
            Some(Forbidden::Loopback) if self.allow_loopback => None,
            other => other,
        }
    }
}

/// The address classes a metadata fetch never connects to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Forbidden {
    #[error("loopback")]
    Loopback,
    /// RFC 1918, and RFC 6598 shared address space (carrier-grade NAT).
    #[error("private")]
    Private,
    /// 169.254.0.0/16 (RFC 3927; 169.254.169.254 is the instance metadata service) and fe80::/10.
    #[error("link-local")]
    LinkLocal,
    /// fc00::/7 (RFC 4193).
    #[error("unique-local")]
    UniqueLocal,
    #[error("multicast")]
    Multicast,
    /// 0.0.0.0/8 ("this network", RFC 791) and `::`.
    #[error("unspecified")]
    Unspecified,
    /// Broadcast, 240.0.0.0/4, documentation and benchmarking ranges, deprecated site-local
    /// IPv6: nothing an IdP is served from.
    #[error("reserved")]
    Reserved,
}

/// The class of `ip` that makes it refused, if any: `None` means a global unicast address.
pub fn classify(ip: IpAddr) -> Option<Forbidden> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Forbidden> {
    let [a, b, _, _] = ip.octets();
    if a == 0 {
        Some(Forbidden::Unspecified)
    } else if ip.is_loopback() {
        Some(Forbidden::Loopback)
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        Some(Forbidden::Private)
    } else if ip.is_link_local() {
        Some(Forbidden::LinkLocal)
    } else if ip.is_multicast() {
        Some(Forbidden::Multicast)
    } else if reserved_v4(ip) {
        Some(Forbidden::Reserved)
    } else {
        None
    }
}

/// IPv4 ranges no IdP is served from, as (network, prefix length).
const RESERVED_V4: [([u8; 4], u32); 6] = [
    ([240, 0, 0, 0], 4),     // reserved, and broadcast (RFC 1112 §4, RFC 919)
    ([192, 0, 0, 0], 24),    // IETF protocol assignments (RFC 6890)
    ([192, 0, 2, 0], 24),    // TEST-NET-1 (RFC 5737)
    ([198, 18, 0, 0], 15),   // benchmarking (RFC 2544)
    ([198, 51, 100, 0], 24), // TEST-NET-2 (RFC 5737)
    ([203, 0, 113, 0], 24),  // TEST-NET-3 (RFC 5737)
];

fn reserved_v4(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    RESERVED_V4
        .iter()
        .any(|(net, len)| bits >> (32 - len) == u32::from_be_bytes(*net) >> (32 - len))
}

fn classify_v6(ip: Ipv6Addr) -> Option<Forbidden> {
    // An IPv4 address inside an IPv6 one reaches the IPv4 address: IPv4-mapped (::ffff:a.b.c.d,
    // RFC 4291 §2.5.5.2), NAT64 (64:ff9b::/96, RFC 6052) and 6to4 (2002::/16, RFC 3056).
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let s = ip.segments();
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return classify_v4(Ipv4Addr::from(ip.to_bits() as u32));
    }
    if s[0] == 0x2002 {
        return classify_v4(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    if ip.is_unspecified() {
        Some(Forbidden::Unspecified)
    } else if ip.is_loopback() {
        Some(Forbidden::Loopback)
    } else if s[0] & 0xffc0 == 0xfe80 {
        Some(Forbidden::LinkLocal)
    } else if s[0] & 0xfe00 == 0xfc00 {
        Some(Forbidden::UniqueLocal)
    } else if ip.is_multicast() {
        Some(Forbidden::Multicast)
    } else if reserved_v6(&s) {
        Some(Forbidden::Reserved)
    } else {
        None
    }
}

fn reserved_v6(s: &[u16; 8]) -> bool {
    // Site-local, deprecated (RFC 3879).
    let site_local = s[0] & 0xffc0 == 0xfec0;
    // Documentation (RFC 3849).
    let documentation = s[0] == 0x2001 && s[1] == 0x0db8;
    // IPv4-compatible, deprecated (RFC 4291 §2.5.5.1); `::` and `::1` are classified before.
    let v4_compatible = s[0..6] == [0, 0, 0, 0, 0, 0];
    site_local || documentation || v4_compatible
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    #[error("{host} resolves to {address}, a {class} address: metadata is only fetched from public addresses")]
    Refused {
        host: String,
        address: IpAddr,
        class: Forbidden,
    },
    #[error("cannot resolve {0}: {1}")]
    Unresolvable(String, String),
    #[error("{0} has no address")]
    NoAddress(String),
}

/// Checks every address of `host` (already resolved, at most [`MAX_ADDRESSES`] of them): all
/// must be allowed — a name answering with one public and one private address is refused rather
/// than trusted to pick.
pub fn check_addresses(
    policy: FetchPolicy,
    host: &str,
    addrs: &[SocketAddr],
) -> Result<Vec<SocketAddr>, DestinationError> {
    if addrs.is_empty() {
        return Err(DestinationError::NoAddress(host.to_string()));
    }
    for a in addrs.iter().take(MAX_ADDRESSES) {
        if let Some(class) = policy.refuses(a.ip()) {
            return Err(DestinationError::Refused {
                host: host.to_string(),
                address: a.ip(),
                class,
            });
        }
    }
    Ok(addrs.iter().take(MAX_ADDRESSES).copied().collect())
}

/// Resolves `url`'s host once (an IP literal is its own answer) and checks every address.
pub async fn resolve(
    policy: FetchPolicy,
    url: &url::Url,
) -> Result<Vec<SocketAddr>, DestinationError> {
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(url::Host::Domain(name)) => tokio::net::lookup_host((name, port))
            .await
            .map_err(|e| DestinationError::Unresolvable(name.to_string(), e.to_string()))?
            .take(MAX_ADDRESSES)
            .collect(),
        None => Vec::new(),
    };
    check_addresses(policy, url.host_str().unwrap_or(""), &addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(ip: &str) -> Option<Forbidden> {
        classify(ip.parse().unwrap())
    }

    #[test]
    fn each_refused_class_of_address_is_named() {
        for (ip, expected) in [
            ("127.0.0.1", Forbidden::Loopback),
            ("127.255.0.9", Forbidden::Loopback),
            ("::1", Forbidden::Loopback),
            ("10.1.2.3", Forbidden::Private),
            ("172.16.0.1", Forbidden::Private),
            ("172.31.255.255", Forbidden::Private),
            ("192.168.1.1", Forbidden::Private),
            ("100.64.0.1", Forbidden::Private),
            ("169.254.169.254", Forbidden::LinkLocal),
            ("169.254.170.2", Forbidden::LinkLocal),
            ("fe80::1", Forbidden::LinkLocal),
            ("fc00::1", Forbidden::UniqueLocal),
            ("fd12:3456::1", Forbidden::UniqueLocal),
            ("224.0.0.1", Forbidden::Multicast),
            ("239.255.255.250", Forbidden::Multicast),
            ("ff02::1", Forbidden::Multicast),
            ("0.0.0.0", Forbidden::Unspecified),
            ("0.1.2.3", Forbidden::Unspecified),
            ("::", Forbidden::Unspecified),
            ("255.255.255.255", Forbidden::Reserved),
            ("240.0.0.1", Forbidden::Reserved),
            ("192.0.2.10", Forbidden::Reserved),
            ("198.19.255.1", Forbidden::Reserved),
            ("203.0.113.7", Forbidden::Reserved),
            ("::10.0.0.1", Forbidden::Reserved),
            ("2001:db8::1", Forbidden::Reserved),
            ("fec0::1", Forbidden::Reserved),
        ] {
            assert_eq!(class(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn an_ipv4_address_wrapped_in_ipv6_is_judged_as_the_ipv4_address() {
        assert_eq!(class("::ffff:169.254.169.254"), Some(Forbidden::LinkLocal));
        assert_eq!(class("::ffff:127.0.0.1"), Some(Forbidden::Loopback));
        assert_eq!(class("64:ff9b::a9fe:a9fe"), Some(Forbidden::LinkLocal));
        assert_eq!(class("2002:0a00:0001::1"), Some(Forbidden::Private));
        assert_eq!(class("::ffff:8.8.8.8"), None);
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "8.8.8.8",
            "52.94.236.248",
            "172.32.0.1",
            "100.128.0.1",
            "2600:1f18::1",
        ] {
            assert_eq!(class(ip), None, "{ip}");
        }
    }

    #[test]
    fn loopback_is_allowed_only_by_the_explicit_setting_and_nothing_else_is() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let imds: IpAddr = "169.254.169.254".parse().unwrap();
        assert_eq!(FetchPolicy::STRICT.refuses(lo), Some(Forbidden::Loopback));
        let local = FetchPolicy::from_lookup(|k| {
            (k == "METADATA_FETCH_ALLOW_LOOPBACK").then(|| "true".to_string())
        });
        assert_eq!(local.refuses(lo), None);
        assert_eq!(local.refuses(imds), Some(Forbidden::LinkLocal));
        assert_eq!(FetchPolicy::from_lookup(|_| None), FetchPolicy::STRICT);
        assert_eq!(
            FetchPolicy::from_lookup(|_| Some("yes please".into())),
            FetchPolicy::STRICT
        );
    }

    #[test]
    fn a_name_with_one_refused_address_among_public_ones_is_refused() {
        let addrs: Vec<SocketAddr> = vec![
            "8.8.8.8:443".parse().unwrap(),
            "10.0.0.5:443".parse().unwrap(),
        ];
        assert_eq!(
            check_addresses(FetchPolicy::STRICT, "idp.example", &addrs),
            Err(DestinationError::Refused {
                host: "idp.example".into(),
                address: "10.0.0.5".parse().unwrap(),
                class: Forbidden::Private
            })
        );
        assert_eq!(
            check_addresses(FetchPolicy::STRICT, "idp.example", &addrs[..1]).unwrap(),
            addrs[..1].to_vec()
        );
        assert_eq!(
            check_addresses(FetchPolicy::STRICT, "idp.example", &[]),
            Err(DestinationError::NoAddress("idp.example".into()))
        );
    }

    #[tokio::test]
    async fn literal_and_named_hosts_are_resolved_and_checked_before_any_connection() {
        for raw in [
            "https://169.254.169.254/latest/meta-data/",
            "https://[::1]/metadata",
            "https://10.0.0.1/metadata",
            "https://localhost/metadata",
        ] {
            let url = url::Url::parse(raw).unwrap();
            assert!(
                matches!(
                    resolve(FetchPolicy::STRICT, &url).await,
                    Err(DestinationError::Refused { .. })
                ),
                "{raw}"
            );
        }
        let url = url::Url::parse("https://127.0.0.1:8443/metadata").unwrap();
        let local = FetchPolicy {
            allow_loopback: true,
        };
        assert_eq!(
            resolve(local, &url).await.unwrap(),
            vec!["127.0.0.1:8443".parse::<SocketAddr>().unwrap()]
        );
    }
}
