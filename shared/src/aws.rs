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
//! `ssoctl` and the tests enable the `aws-credential-chain` feature and get that whole chain: an
//! admin signs in with a profile, SSO or a credential process. Features unify only among the
//! packages one cargo invocation builds, and the bootstraps are built on their own (`sam build`,
//! infra/check-bootstraps), so the chain never reaches one.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};

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
    let set = |name: &str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let mut config = SdkConfig::builder().behavior_version(BehaviorVersion::latest());
    if let Some(region) = set("AWS_REGION").or_else(|| set("AWS_DEFAULT_REGION")) {
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
}
