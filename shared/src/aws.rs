//! The one AWS SDK configuration every client is built from (DynamoDB, KMS, Secrets Manager, SQS).
//!
//! In a Lambda bootstrap it is read from the function's environment alone, the way Lambda hands it
//! over: `AWS_REGION`, the execution role's credentials in `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` (valid for the execution environment's life;
//! Lambda developer guide, "Defined runtime environment variables"), and `AWS_ENDPOINT_URL` when a
//! local AWS API server stands in (`sam local`, infra/cold-start). `aws_config::load_defaults`
//! would walk the whole provider chain instead — profile files, SSO, web identity through STS,
//! the ECS and EC2 metadata services — none of which a Lambda uses, and all of which it would carry
//! (the STS client among them) and try at each cold start (docs/decisions.md, "Release profile").
//!
//! Its HTTPS client trusts the Amazon Trust Services roots, embedded (`amazon-trust-services-roots.pem`:
//! Amazon Root CA 1–4, until 2038–2040, and Starfield Services Root CA G2, which cross-signs them,
//! until 2037; from the Mozilla root store), which every AWS service endpoint of the `aws`
//! partition chains to. The SDK's default client loads the OS store at each cold start instead —
//! a bundle and every file of /etc/ssl/certs — which was most of a bootstrap's init (measured:
//! docs/decisions.md, "Cold start"). Regions of the other partitions (China, GovCloud, the ISO
//! regions) keep the OS store: their endpoints are not ours to vouch for.
//!
//! `ssoctl` and the tests enable the `aws-credential-chain` feature and get that whole chain: an
//! admin signs in with a profile, SSO or a credential process. Features unify only among the
//! packages one cargo invocation builds, and the bootstraps are built on their own (`sam build`,
//! infra/check-bootstraps), so the chain never reaches one.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider, SharedHttpClient};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};

/// The roots the SDK's HTTPS client trusts in the `aws` partition (see the module doc).
pub const AMAZON_TRUST_SERVICES_ROOTS: &str = include_str!("amazon-trust-services-roots.pem");

/// Region prefixes of the partitions other than `aws` (AWS General Reference, "Partitions").
const OTHER_PARTITIONS: [&str; 4] = ["cn-", "us-gov-", "us-iso", "eu-iso"];

/// The configuration for this process: the Lambda environment's, or with `aws-credential-chain`
/// the SDK's default provider chain.
pub async fn sdk_config() -> SdkConfig {
    #[cfg(feature = "aws-credential-chain")]
    {
        aws_config::load_defaults(BehaviorVersion::latest()).await
    }
    #[cfg(not(feature = "aws-credential-chain"))]
    {
        lambda_environment(|name| std::env::var(name).ok())
    }
}

/// The configuration from a Lambda function's environment variables (`get` reads one). Missing
/// credentials leave the config without a provider: each call then fails with the SDK's
/// "no credentials" error, which the handlers answer 503.
pub fn lambda_environment(get: impl Fn(&str) -> Option<String>) -> SdkConfig {
    let set = |name: &str| {
        get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut config = SdkConfig::builder().behavior_version(BehaviorVersion::latest());
    let region = set("AWS_REGION").or_else(|| set("AWS_DEFAULT_REGION"));
    if let Some(client) = https_client(region.as_deref()) {
        config = config.http_client(client);
    }
    if let Some(region) = region {
        config = config.region(Region::new(region));
    }
    if let (Some(key), Some(secret)) = (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY")) {
        let credentials = Credentials::new(
            key,
            secret,
            set("AWS_SESSION_TOKEN"),
            None,
            "lambda-environment",
        );
        config = config.credentials_provider(SharedCredentialsProvider::new(credentials));
    }
    if let Some(endpoint) = set("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(endpoint);
    }
    config.build()
}

/// The HTTPS client trusting only [`AMAZON_TRUST_SERVICES_ROOTS`] (rustls on AWS-LC, as the
/// SDK's default), or `None` (the SDK's default client, the OS store) outside the `aws` partition.
pub fn https_client(region: Option<&str>) -> Option<SharedHttpClient> {
    if region.is_some_and(|r| OTHER_PARTITIONS.iter().any(|p| r.starts_with(p))) {
        return None;
    }
    let trust = TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS.as_bytes());
    let context = TlsContext::builder().with_trust_store(trust).build().ok()?;
    Some(
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(context)
            .build_https(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::ProvideCredentials;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[tokio::test]
    async fn a_lambda_environment_gives_the_region_the_role_credentials_and_the_endpoint() {
        let config = lambda_environment(env(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:5000"));
        let credentials = config
            .credentials_provider()
            .unwrap()
            .provide_credentials()
            .await
            .unwrap();
        assert_eq!(credentials.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(credentials.secret_access_key(), "secret");
        assert_eq!(credentials.session_token(), Some("token"));
        assert!(config.behavior_version().is_some());
    }

    #[test]
    fn without_credentials_or_endpoint_the_config_has_none_and_the_default_region_serves() {
        let config = lambda_environment(env(&[
            ("AWS_DEFAULT_REGION", "us-east-2"),
            ("AWS_ACCESS_KEY_ID", "only-half"),
            ("AWS_ENDPOINT_URL", "  "),
        ]));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-east-2"));
        assert!(config.credentials_provider().is_none());
        assert_eq!(config.endpoint_url(), None);
    }

    /// The embedded roots: the five Amazon Trust Services publishes, each a CA certificate valid
    /// for years yet (a test that fails well before one expires: the bundle must then be renewed).
    #[test]
    fn the_embedded_roots_are_amazon_trust_services_five_and_valid_past_2036() {
        use base64::Engine;
        use x509_cert::der::Decode;
        let mut subjects = Vec::new();
        for block in AMAZON_TRUST_SERVICES_ROOTS.split("-----END CERTIFICATE-----") {
            let Some((_, body)) = block.split_once("-----BEGIN CERTIFICATE-----") else {
                assert!(
                    block.trim().is_empty(),
                    "text outside a PEM block: {block:?}"
                );
                continue;
            };
            let b64: String = body.split_whitespace().collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap();
            let cert = x509_cert::Certificate::from_der(&der).unwrap();
            let tbs = cert.tbs_certificate();
            assert_eq!(tbs.subject(), tbs.issuer(), "a root signs itself");
            let until = tbs.validity().not_after.to_unix_duration().as_secs();
            assert!(
                until > 2_114_380_800,
                "{} expires before 2037",
                tbs.subject()
            ); // 2037-01-01
            subjects.push(tbs.subject().to_string());
        }
        let names = subjects.join("\n");
        for cn in [
            "CN=Amazon Root CA 1",
            "CN=Amazon Root CA 2",
            "CN=Amazon Root CA 3",
            "CN=Amazon Root CA 4",
            "CN=Starfield Services Root Certificate Authority - G2",
        ] {
            assert!(names.contains(cn), "{cn} missing from\n{names}");
        }
        assert_eq!(subjects.len(), 5);
    }

    #[test]
    fn the_aws_partition_gets_the_amazon_roots_and_the_other_partitions_the_os_store() {
        for region in [Some("us-east-1"), Some("eu-central-2"), None] {
            assert!(https_client(region).is_some(), "{region:?}");
        }
        for region in [
            "cn-north-1",
            "us-gov-west-1",
            "us-iso-east-1",
            "eu-isoe-west-1",
        ] {
            assert!(https_client(Some(region)).is_none(), "{region}");
            let config = lambda_environment(env(&[("AWS_REGION", region)]));
            assert!(config.http_client().is_none(), "{region}");
        }
        let config = lambda_environment(env(&[("AWS_REGION", "us-east-1")]));
        assert!(config.http_client().is_some());
    }

    /// The client is built and its trust store parsed (the SDK panics on a PEM it cannot read)
    /// when a connection is first made: one to a closed local port fails as a dispatch error.
    #[tokio::test]
    async fn a_connection_through_the_amazon_roots_client_fails_cleanly_when_nothing_listens() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let endpoint = format!("https://127.0.0.1:{port}");
        let config = lambda_environment(env(&[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "k"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_ENDPOINT_URL", &endpoint),
        ]));
        let client = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&config)
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .build(),
        );
        let err = client.list_tables().send().await.unwrap_err();
        assert!(
            matches!(err, aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)),
            "{err:?}"
        );
    }
}
