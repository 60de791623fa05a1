//! Configuration read once per cold start from the environment (set by template.yaml in AWS, by
//! `infra/run-local` locally). Nothing secret lives here.

use std::time::Duration;

/// What every function needs to know about its deployment.
#[derive(Clone, Debug)]
pub struct Config {
    /// The DynamoDB table (single-table design, see docs/architecture.md).
    pub table_name: String,
    /// Public base URL of the API (custom domain). Empty means: use each organization's stored
    /// base URL, which `ssoctl org create` records.
    pub public_base_url: Option<String>,
    /// How long a warm Lambda may serve an organization's config from memory.
    pub org_cache_ttl: Duration,
    /// The most a request may spend, its DynamoDB retries included (`REQUEST_DEADLINE_MS`,
    /// default 8 s: under the functions' 10 s timeout).
    pub request_deadline: Duration,
    /// Write CloudWatch EMF metric lines to stdout: on by default inside Lambda
    /// (`AWS_LAMBDA_FUNCTION_NAME` is set), off elsewhere; `EMIT_METRICS=true|false` overrides.
    pub emit_metrics: bool,
    /// SCIM requests each organization may make per second (`SCIM_REQUESTS_PER_SECOND`, default
    /// [`crate::scim::rate_limit::DEFAULT_PER_SECOND`]; 0 turns the limit off). docs/scim.md.
    pub scim_requests_per_second: u32,
    /// The AWS KMS key (ECC_NIST_P256, SIGN_VERIFY) that signs OIDC tokens (`OIDC_KMS_KEY_ID`),
    /// and the one it replaced, still published in the JWKS during a rotation
    /// (`OIDC_PREVIOUS_KMS_KEY_ID`). Key ids or ARNs; not secret.
    pub oidc_kms_key_id: Option<String>,
    pub oidc_previous_kms_key_id: Option<String>,
    /// The Secrets Manager secrets of the SP encryption keys (`SP_ENCRYPTION_KEYS_SECRET`, read
    /// by the ACS only) and of their certificates (`SP_ENCRYPTION_CERTIFICATES_SECRET`, read by
    /// the metadata function): ids or ARNs, not secret themselves (`saml::sp_keys`).
    pub sp_encryption_keys_secret: Option<String>,
    pub sp_encryption_certificates_secret: Option<String>,
    /// Where a browser lands after a good sign-in when neither an allowed RelayState nor the
    /// org's default app URL says (template parameter `DefaultAppUrl`, env `DEFAULT_APP_URL`).
    /// Absolute https; empty means our own signed-in page.
    pub default_app_url: Option<url::Url>,
    /// Where server-side IdP metadata fetches may connect (`METADATA_FETCH_ALLOW_LOOPBACK`, off
    /// unless set: only the tests and the local stack set it). destination.rs.
    pub metadata_fetch: crate::destination::FetchPolicy,
    /// The most form body the ACS reads, in bytes (template parameter `AcsBodyLimitKiB`, env
    /// `ACS_BODY_LIMIT_KIB`, default [`crate::saml::limits::DEFAULT_ACS_BODY_LIMIT`]): it bounds
    /// what an unauthenticated post costs (docs/operations.md, "Limits and scale").
    pub acs_body_limit: usize,
}

/// `ACS_BODY_LIMIT_KIB` bounds (template.yaml's `AcsBodyLimitKiB` says the same): below 16 KiB a
/// plain Okta response with a few groups no longer fits; above 128 KiB a single unauthenticated
/// post costs tens of normal sign-ins (docs/decisions.md, "Measured: the ACS cost").
pub const ACS_BODY_LIMIT_KIB_RANGE: std::ops::RangeInclusive<usize> = 16..=128;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} must be set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Same as [`Config::from_env`] with an injected lookup, so tests need not touch the process env.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let table_name = get("TABLE_NAME")
            .filter(|v| !v.trim().is_empty())
            .ok_or(ConfigError::Missing("TABLE_NAME"))?;
        let public_base_url = match get("PUBLIC_BASE_URL").map(|v| v.trim().to_string()) {
            Some(v) if !v.is_empty() => {
                Some(
                    normalize_base_url(&v).map_err(|reason| ConfigError::Invalid {
                        name: "PUBLIC_BASE_URL",
                        reason,
                    })?,
                )
            }
            _ => None,
        };
        let org_cache_ttl = match get("ORG_CACHE_SECONDS") {
            Some(v) => Duration::from_secs(v.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "ORG_CACHE_SECONDS",
                reason: format!("{v:?} is not a number of seconds"),
            })?),
            None => Duration::from_secs(30),
        };
        let scim_requests_per_second = match get("SCIM_REQUESTS_PER_SECOND") {
            Some(v) if !v.trim().is_empty() => {
                v.trim().parse().map_err(|_| ConfigError::Invalid {
                    name: "SCIM_REQUESTS_PER_SECOND",
                    reason: format!("{v:?} is not a whole number of requests"),
                })?
            }
            _ => crate::scim::rate_limit::DEFAULT_PER_SECOND,
        };
        let emit_metrics = match get("EMIT_METRICS").as_deref() {
            Some("true" | "1") => true,
            Some("false" | "0") => false,
            _ => get("AWS_LAMBDA_FUNCTION_NAME").is_some(),
        };
        let default_app_url = match get("DEFAULT_APP_URL").map(|v| v.trim().to_string()) {
            Some(v) if !v.is_empty() => {
                Some(app_url(&v).map_err(|reason| ConfigError::Invalid {
                    name: "DEFAULT_APP_URL",
                    reason,
                })?)
            }
            _ => None,
        };
        let acs_body_limit = match get("ACS_BODY_LIMIT_KIB").map(|v| v.trim().to_string()) {
            Some(v) if !v.is_empty() => v
                .parse::<usize>()
                .ok()
                .filter(|kib| ACS_BODY_LIMIT_KIB_RANGE.contains(kib))
                .map(|kib| kib * 1024)
                .ok_or_else(|| ConfigError::Invalid {
                    name: "ACS_BODY_LIMIT_KIB",
                    reason: format!(
                        "{v:?} is not a whole number of KiB from {} to {}",
                        ACS_BODY_LIMIT_KIB_RANGE.start(),
                        ACS_BODY_LIMIT_KIB_RANGE.end()
                    ),
                })?,
            _ => crate::saml::limits::DEFAULT_ACS_BODY_LIMIT,
        };
        let non_empty = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Ok(Self {
            table_name,
            public_base_url,
            org_cache_ttl,
            request_deadline: get("REQUEST_DEADLINE_MS")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|ms| *ms > 0)
                .map(Duration::from_millis)
                .unwrap_or(Duration::from_secs(8)),
            emit_metrics,
            scim_requests_per_second,
            oidc_kms_key_id: non_empty("OIDC_KMS_KEY_ID"),
            oidc_previous_kms_key_id: non_empty("OIDC_PREVIOUS_KMS_KEY_ID"),
            sp_encryption_keys_secret: non_empty("SP_ENCRYPTION_KEYS_SECRET"),
            sp_encryption_certificates_secret: non_empty("SP_ENCRYPTION_CERTIFICATES_SECRET"),
            default_app_url,
            metadata_fetch: crate::destination::FetchPolicy::from_lookup(&get),
            acs_body_limit,
        })
    }
}

/// An app URL browsers are sent to: absolute https with a host and no credentials (a URL with a
/// user name is a classic phishing disguise, and http would leak the one-time code on the way).
pub fn app_url(raw: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
    if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{raw:?} must be an absolute https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{raw:?} must not carry credentials"));
    }
    Ok(url)
}

/// Accepts `https://host[:port][/prefix]` (and `http://` for loopback only), without a trailing
/// slash, query or fragment: every URL an Okta admin pastes is built from it.
pub fn normalize_base_url(raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
    let host = url
        .host_str()
        .ok_or_else(|| format!("{raw:?} has no host"))?;
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        other => {
            return Err(format!(
                "{raw:?} must use https (got {other}; http is allowed for loopback only)"
            ))
        }
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!(
            "{raw:?} must not carry a query, fragment or credentials"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn config_requires_a_table_name() {
        assert!(matches!(
            Config::from_lookup(env(&[])),
            Err(ConfigError::Missing("TABLE_NAME"))
        ));
    }

    #[test]
    fn empty_public_base_url_means_per_org_base_urls() {
        let c = Config::from_lookup(env(&[("TABLE_NAME", "t"), ("PUBLIC_BASE_URL", "")])).unwrap();
        assert_eq!(c.public_base_url, None);
    }

    #[test]
    fn the_deployment_default_app_url_must_be_absolute_https() {
        let c = Config::from_lookup(env(&[
            ("TABLE_NAME", "t"),
            ("DEFAULT_APP_URL", "https://app.example.com/home"),
        ]))
        .unwrap();
        assert_eq!(
            c.default_app_url.map(|u| u.to_string()).as_deref(),
            Some("https://app.example.com/home")
        );
        for bad in [
            "http://app.example.com/",
            "/home",
            "https://user:pw@app.example.com/",
            "javascript:alert(1)",
        ] {
            assert!(app_url(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            Config::from_lookup(env(&[("TABLE_NAME", "t"), ("DEFAULT_APP_URL", "http://x")])),
            Err(ConfigError::Invalid {
                name: "DEFAULT_APP_URL",
                ..
            })
        ));
        let c = Config::from_lookup(env(&[("TABLE_NAME", "t"), ("DEFAULT_APP_URL", "")])).unwrap();
        assert_eq!(c.default_app_url, None);
    }

    #[test]
    fn the_acs_body_limit_is_a_number_of_kib_within_its_range_and_defaults_to_the_measured_one() {
        let limit = |v: &str| {
            Config::from_lookup(|k| match k {
                "TABLE_NAME" => Some("t".to_string()),
                "ACS_BODY_LIMIT_KIB" => Some(v.to_string()),
                _ => None,
            })
            .map(|c| c.acs_body_limit)
        };
        assert_eq!(
            limit("").unwrap(),
            crate::saml::limits::DEFAULT_ACS_BODY_LIMIT
        );
        assert_eq!(limit("64").unwrap(), 64 * 1024);
        assert_eq!(limit(" 16 ").unwrap(), 16 * 1024);
        for bad in ["15", "129", "48k", "-1", "4.5"] {
            assert!(
                matches!(
                    limit(bad),
                    Err(ConfigError::Invalid {
                        name: "ACS_BODY_LIMIT_KIB",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn base_urls_lose_their_trailing_slash_and_must_be_https_off_loopback() {
        assert_eq!(
            normalize_base_url("https://sso.example.com/").unwrap(),
            "https://sso.example.com"
        );
        assert_eq!(
            normalize_base_url("http://127.0.0.1:3000").unwrap(),
            "http://127.0.0.1:3000"
        );
        assert!(normalize_base_url("http://sso.example.com").is_err());
        assert!(normalize_base_url("https://sso.example.com/?x=1").is_err());
        assert!(normalize_base_url("not a url").is_err());
    }
}
