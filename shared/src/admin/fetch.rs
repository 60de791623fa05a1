//! Fetching IdP metadata from a URL. The metadata carries the keys every sign-in of an org is
//! verified with, so whoever can change the bytes in transit could sign anyone in:
//! - https only, redirects included: a plain-http hop (or a redirect to one) would let anyone on
//!   the path swap the key;
//! - redirects are followed by hand, at most [`MAX_REDIRECTS`], and only within the origin
//!   (RFC 6454 §4: scheme, host, port) of the URL the admin typed — the admin vouches for that
//!   host, not for wherever it points;
//! - the body is streamed with a cap ([`MAX_METADATA_BYTES`]) and a deadline, so a wrong URL
//!   cannot fill memory or hang the CLI.
//!
//! The policy ([`metadata_url`], [`next_hop`]) and the capped reader ([`read_capped`]) are plain
//! functions, tested without TLS or network.

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::BodyExt;
use url::Url;

/// Metadata documents are a few KiB (Okta's: ~2 KiB); 1 MiB leaves room for many certificates.
pub const MAX_METADATA_BYTES: usize = 1024 * 1024;
/// Okta serves metadata without redirects; a few hops allow a vanity path in front of it.
pub const MAX_REDIRECTS: usize = 5;
/// For the whole fetch of one hop, body included.
const TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
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

/// Fetches the metadata at `raw` under the rules of this module.
pub async fn fetch_metadata(raw: &str) -> Result<String, FetchError> {
    let first = metadata_url(raw)?;
    // reqwest is built without a crypto provider of its own (Cargo.toml: one TLS stack in the
    // Lambdas): rustls then uses the process default, aws-lc-rs as in the AWS SDK. An `Err` only
    // means a default is already installed.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .https_only(true)
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| FetchError::Transport(e.to_string()))?;
    let mut current = first.clone();
    for _ in 0..=MAX_REDIRECTS {
        let resp = client
            .get(current.clone())
            .send()
            .await
            .map_err(|e| FetchError::Transport(e.without_url().to_string()))?;
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
