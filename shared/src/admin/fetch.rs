//! Fetching IdP metadata from a URL. The metadata carries the keys every sign-in of an org is
//! verified with, so whoever can change the bytes in transit could sign anyone in:
//! - https only, redirects included: a plain-http hop (or a redirect to one) would let anyone on
//!   the path swap the key;
//! - redirects are followed by hand, at most [`MAX_REDIRECTS`], and only within the origin
//!   (RFC 6454 §4: scheme, host, port) of the URL the admin typed — the admin vouches for that
//!   host, not for wherever it points;
//! - the body is streamed with a cap ([`MAX_METADATA_BYTES`]) and a deadline, so a wrong URL
//!   cannot fill memory or hang the CLI;
//! - the destination is resolved once and must be a public address, on every hop
//!   ([`super::destination`]: no loopback, private, link-local — instance metadata —, unique-local,
//!   multicast or unspecified address; DNS rebinding is prevented by pinning the client to the
//!   checked answers and checking the peer address of each response); no proxy from the
//!   environment is used, since a proxy would connect to the destination on our behalf unchecked.
//!
//! The policy ([`metadata_url`], [`next_hop`]) and the capped reader ([`read_capped`]) are plain
//! functions, tested without TLS or network.

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::BodyExt;
use url::Url;

use super::destination::{self, DestinationError, FetchPolicy};

/// Metadata documents are a few KiB (Okta's: ~2 KiB); 1 MiB leaves room for many certificates.
pub const MAX_METADATA_BYTES: usize = 1024 * 1024;
/// Okta serves metadata without redirects; a few hops allow a vanity path in front of it.
pub const MAX_REDIRECTS: usize = 5;
/// For the whole fetch of one hop, body included.
const TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("{0:?} is not a URL: {1}")]
    BadUrl(String, String),
    #[error("metadata URLs must be https (got {0:?}): over plain http anyone on the path could replace the IdP's keys")]
    NotHttps(String),
    #[error("refused redirect to {0}: it is not https")]
    RedirectNotHttps(String),
    #[error("refused redirect to {0}: it leaves {1}")]
    RedirectOtherOrigin(String, String),
    #[error("redirect ({0}) without a usable Location")]
    RedirectWithoutLocation(u16),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("HTTP {0}")]
    Status(u16),
    #[error("larger than {MAX_METADATA_BYTES} bytes")]
    TooLarge,
    #[error("no answer within {} s", TIMEOUT.as_secs())]
    Timeout,
    #[error("{0}")]
    Transport(String),
    #[error("not UTF-8")]
    NotUtf8,
    #[error("{0}")]
    Destination(#[from] DestinationError),
    #[error("connected to {0}, which is not an address the name resolved to")]
    UnexpectedPeer(std::net::SocketAddr),
}

/// Is `source` meant as a URL (rather than a file path)? Any `scheme://` is, so that `http://...`
/// is refused as a URL instead of being looked up as a file.
pub fn looks_like_url(source: &str) -> bool {
    source.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    })
}

/// The URL to fetch first: absolute https, nothing else.
pub fn metadata_url(raw: &str) -> Result<Url, FetchError> {
    let url = Url::parse(raw).map_err(|e| FetchError::BadUrl(raw.to_string(), e.to_string()))?;
    if url.scheme() != "https" || url.host_str().is_none() {
        return Err(FetchError::NotHttps(raw.to_string()));
    }
    Ok(url)
}

/// What to do after a response with `status`: `None` = this is the answer; `Some(url)` = follow
/// the redirect (RFC 9110 §15.4; `Location` may be relative, §10.2.2), if it stays https and
/// within the origin of `first`.
pub fn next_hop(
    first: &Url,
    current: &Url,
    status: StatusCode,
    location: Option<&str>,
) -> Result<Option<Url>, FetchError> {
    if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        return Ok(None);
    }
    let target = location
        .and_then(|l| current.join(l.trim()).ok())
        .ok_or(FetchError::RedirectWithoutLocation(status.as_u16()))?;
    if target.scheme() != "https" {
        return Err(FetchError::RedirectNotHttps(target.to_string()));
    }
    if target.origin() != first.origin() {
        return Err(FetchError::RedirectOtherOrigin(
            target.to_string(),
            first.origin().ascii_serialization(),
        ));
    }
    Ok(Some(target))
}

/// Reads a body, refusing it as soon as it exceeds `cap` bytes: memory stays within the cap
/// whatever the server sends (or claims to send in Content-Length).
pub async fn read_capped<B>(body: B, cap: usize) -> Result<Vec<u8>, FetchError>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    if body.size_hint().lower() > cap as u64 {
        return Err(FetchError::TooLarge);
    }
    let mut body = body;
    let mut out = Vec::new();
    // Bounded: every data frame adds to `out`, which may not pass `cap`; a body of only empty or
    // trailer frames ends at the deadline of the caller.
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| FetchError::Transport(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > cap {
                return Err(FetchError::TooLarge);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

/// Fetches the metadata at `raw` under the rules of this module, connecting only where `policy`
/// allows ([`FetchPolicy::STRICT`] deployed).
pub async fn fetch_metadata(raw: &str, policy: FetchPolicy) -> Result<String, FetchError> {
    let first = metadata_url(raw)?;
    // Resolved once, here, and checked: the client below connects to these addresses and no
    // others (`resolve_to_addrs` replaces its own lookup), so the name cannot be re-pointed at a
    // private address between the check and the connection. Redirects stay within the origin
    // (`next_hop`), i.e. the same host and port, so the same answers serve every hop.
    let pinned = destination::resolve(policy, &first).await?;
    // reqwest is built without a crypto provider of its own (Cargo.toml: one TLS stack in the
    // Lambdas): rustls then uses the process default, aws-lc-rs as in the AWS SDK. An `Err` only
    // means a default is already installed.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .https_only(true)
        .no_proxy()
        .timeout(TIMEOUT);
    if let Some(url::Host::Domain(name)) = first.host() {
        builder = builder.resolve_to_addrs(name, &pinned);
    }
    let client = builder
        .build()
        .map_err(|e| FetchError::Transport(e.to_string()))?;
    let mut current = first.clone();
    for _ in 0..=MAX_REDIRECTS {
        let resp = client
            .get(current.clone())
            .send()
            .await
            .map_err(|e| FetchError::Transport(e.without_url().to_string()))?;
        check_peer(policy, &current, &pinned, resp.remote_addr())?;
        let location = resp
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok());
        if let Some(next) = next_hop(&first, &current, resp.status(), location)? {
            current = next;
            continue;
        }
        if !resp.status().is_success() {
            return Err(FetchError::Status(resp.status().as_u16()));
        }
        let body = http::Response::<reqwest::Body>::from(resp).into_body();
        let bytes = tokio::time::timeout(TIMEOUT, read_capped(body, MAX_METADATA_BYTES))
            .await
            .map_err(|_| FetchError::Timeout)??;
        return String::from_utf8(bytes).map_err(|_| FetchError::NotUtf8);
    }
    Err(FetchError::TooManyRedirects)
}

/// The address a response came from must be one of the checked answers, and allowed (checked
/// again on every hop: a redirect is a new request, perhaps on a new connection).
pub fn check_peer(
    policy: FetchPolicy,
    url: &Url,
    pinned: &[std::net::SocketAddr],
    peer: Option<std::net::SocketAddr>,
) -> Result<(), FetchError> {
    // hyper records the peer of every connection it makes; without it we cannot vouch for the
    // destination, so refuse.
    let peer = peer.ok_or_else(|| FetchError::Transport("no peer address".into()))?;
    if let Some(class) = policy.refuses(peer.ip()) {
        return Err(DestinationError::Refused {
            host: url.host_str().unwrap_or("").to_string(),
            address: peer.ip(),
            class,
        }
        .into());
    }
    if !pinned.iter().any(|p| p.ip() == peer.ip()) {
        return Err(FetchError::UnexpectedPeer(peer));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A TCP listener on loopback that counts the connections it gets and closes each at once
    /// (no TLS: the tests only need to know whether the fetch connected).
    async fn listener() -> (u16, Arc<AtomicUsize>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = l.accept().await {
                h.fetch_add(1, Ordering::SeqCst);
                drop(conn);
            }
        });
        (port, hits)
    }

    #[tokio::test]
    async fn a_loopback_destination_is_refused_without_connecting_unless_explicitly_allowed() {
        let (port, hits) = listener().await;
        for host in ["127.0.0.1", "localhost"] {
            let url = format!("https://{host}:{port}/metadata");
            let err = fetch_metadata(&url, FetchPolicy::STRICT).await.unwrap_err();
            assert!(
                matches!(
                    err,
                    FetchError::Destination(DestinationError::Refused {
                        class: destination::Forbidden::Loopback,
                        ..
                    })
                ),
                "{host}: {err}"
            );
        }
        assert_eq!(hits.load(Ordering::SeqCst), 0, "connected to loopback");
        // The local stack's setting: the fetch connects (and fails the TLS handshake here).
        let local = FetchPolicy {
            allow_loopback: true,
        };
        let err = fetch_metadata(&format!("https://127.0.0.1:{port}/metadata"), local)
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Transport(_)), "{err}");
        assert!(hits.load(Ordering::SeqCst) >= 1);
    }

    #[tokio::test]
    async fn instance_metadata_and_private_destinations_are_refused_before_connecting() {
        for url in [
            "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
            "https://[fd00:ec2::254]/latest/meta-data/",
            "https://10.0.0.8/metadata",
            "https://[ff02::1]/metadata",
            "https://0.0.0.0/metadata",
            "https://[::ffff:169.254.169.254]/metadata",
        ] {
            let local = FetchPolicy {
                allow_loopback: true,
            };
            let err = fetch_metadata(url, local).await.unwrap_err();
            assert!(
                matches!(
                    err,
                    FetchError::Destination(DestinationError::Refused { .. })
                ),
                "{url}: {err}"
            );
            assert!(err
                .to_string()
                .contains("only fetched from public addresses"));
        }
    }

    #[test]
    fn a_response_from_an_address_the_name_did_not_resolve_to_is_refused() {
        let url = Url::parse("https://idp.example/metadata").unwrap();
        let pinned = ["8.8.8.8:443".parse().unwrap()];
        assert_eq!(
            check_peer(FetchPolicy::STRICT, &url, &pinned, Some(pinned[0])),
            Ok(())
        );
        assert_eq!(
            check_peer(
                FetchPolicy::STRICT,
                &url,
                &pinned,
                Some("1.1.1.1:443".parse().unwrap())
            ),
            Err(FetchError::UnexpectedPeer("1.1.1.1:443".parse().unwrap()))
        );
        assert!(matches!(
            check_peer(
                FetchPolicy::STRICT,
                &url,
                &pinned,
                Some("169.254.169.254:443".parse().unwrap())
            ),
            Err(FetchError::Destination(DestinationError::Refused { .. }))
        ));
        assert!(check_peer(FetchPolicy::STRICT, &url, &pinned, None).is_err());
    }
}
