//! Command-line interface of `ssoctl`. Output is JSON on stdout (one object per command, easy to
//! pipe into jq); errors are one clear line on stderr and a non-zero exit.

use std::io::BufRead;
use std::net::SocketAddr;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use serde_json::Value;
use shared::org::{Provisioning, Reactivation};
use shared::store::DynamoStore;
use shared::{App, Config};

use crate::admin::{self, AdminError, CreateOrg, KeyReplacement};
use crate::apps;
use crate::local;
use crate::template::{self, Template};

#[derive(Parser, Debug)]
#[command(
    name = "ssoctl",
    version,
    about = "Administer the Okta SSO service: organizations, IdP metadata, SCIM tokens, and the local stack."
)]
#[command(
    after_help = "Environment: TABLE_NAME (the DynamoDB table), PUBLIC_BASE_URL (default base URL of new orgs; required against a deployed table unless --base-url is given), and the standard AWS variables (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL for a local DynamoDB-API server)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Manage customer organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage the apps that sign users in with OpenID Connect (docs/app-integration.md).
    #[command(subcommand)]
    App(AppCommand),
    /// Act on one user's sessions.
    #[command(subcommand)]
    User(UserCommand),
    /// Run the service locally.
    #[command(subcommand)]
    Local(LocalCommand),
    /// Manage the management API's keys (docs/api.md).
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Print events (one JSON object per line), oldest first; all orgs unless --org.
    Events {
        #[arg(long)]
        org: Option<String>,
        /// Keep printing new events as they happen.
        #[arg(long)]
        follow: bool,
    },
    /// Manage webhook endpoints and see their deliveries (docs/api.md, "Webhooks").
    #[command(subcommand)]
    Webhook(WebhookCommand),
}

#[derive(Subcommand, Debug)]
pub enum WebhookCommand {
    /// Add an endpoint (https; http only to loopback); prints its id and signing secret (shown once).
    Create {
        url: String,
        /// Only these event types, comma separated (default: every type).
        #[arg(long)]
        types: Option<String>,
    },
    /// List endpoints (never their secrets).
    List,
    /// Remove an endpoint: nothing more is delivered to it.
    Delete { id: String },
    /// Each delivery's status (pending, delivered, dead), attempts, last HTTP status, next attempt.
    Deliveries {
        #[arg(long)]
        endpoint: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ApiKeyCommand {
    /// Mint a key; prints its id, name and api_key (shown once, stored only as a hash).
    Create { name: String },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key by name or id: it is refused from the next request on.
    Revoke { name_or_id: String },
}

#[derive(Subcommand, Debug)]
pub enum AppCommand {
    /// Register an app; prints its client_id and client_secret (the secret is shown once).
    Create {
        name: String,
        /// Where the app receives the code (exact match; https, or http on loopback). Repeatable.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Where the app receives back-channel logout tokens (OIDC Back-Channel Logout 1.0).
        #[arg(long)]
        backchannel_logout_uri: Option<String>,
        /// Where RP-initiated logout may return the browser (exact match). Repeatable.
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// No client secret (a browser or native app): PKCE is then required.
        #[arg(long)]
        public: bool,
    },
    /// List registered apps (never their secrets).
    List,
    /// Show one app.
    Show { client_id: String },
    /// Mint a new client secret; the previous one stops working at once.
    RotateSecret { client_id: String },
    /// Delete an app; its tokens stop working at the next token request.
    Delete { client_id: String },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// End every session of a user (browser and apps); apps get a back-channel logout.
    SignOut { org: String, user_id: String },
}

#[derive(Subcommand, Debug)]
pub enum OrgCommand {
    /// Create an organization; prints every URL the Okta admin needs and the SCIM token (shown once).
    Create {
        org: String,
        /// Okta's IdP metadata: a file or an https URL ("Identity Provider metadata" link in Okta).
        #[arg(long)]
        idp_metadata: Option<String>,
        /// Public base URL of the API (default: $PUBLIC_BASE_URL; http://127.0.0.1:3000 only
        /// against a local table, AWS_ENDPOINT_URL on 127.0.0.1 or localhost).
        #[arg(long)]
        base_url: Option<String>,
        /// scim, first-login or both (default: both, so a SAML-only org signs its users in).
        #[arg(long, default_value = "both")]
        provisioning: Provisioning,
        /// What SCIM reactivation does: restore (same id and groups) or fresh (new user, new id).
        #[arg(long, default_value = "restore")]
        reactivation: Reactivation,
    },
    /// Show an organization's settings and URLs (never its SCIM token).
    Show { org: String },
    /// Set or replace the organization's IdP from its metadata (a file or an https URL); asks
    /// before replacing signing certificates the organization already has.
    SetIdp {
        org: String,
        #[arg(long)]
        metadata: String,
        /// Replace existing signing certificates without asking (for scripts).
        #[arg(long)]
        yes: bool,
    },
    /// Change sign-in and provisioning settings; prints the organization as `show` does.
    Set {
        org: String,
        #[command(flatten)]
        settings: admin::Settings,
    },
    /// Mint a new SCIM bearer token; the previous one stops working at once.
    RotateScimToken { org: String },
    /// Re-key userNames and group names stored under the 0.1 case rule (Unicode lowercasing)
    /// to the ASCII-only rule of 0.2 (docs/scim.md, "Migration of stored keys"). Idempotent.
    RekeyNames { org: String },
    /// List organizations.
    List,
    /// Finish removing the data of deleted organizations (DELETE /api/v1/orgs/{org} starts it).
    Purge,
    /// The daily IdP certificate check: reports every signing certificate that crossed 30, 7 or
    /// 1 days before its notAfter in the day before `--now` (docs/okta-setup.md, "Certificate
    /// rotation"). Deployed, a schedule runs the same check and emits the metric.
    CheckCertificates {
        /// The instant to check at, epoch seconds (default: now).
        #[arg(long)]
        now: Option<i64>,
    },
}

#[derive(Subcommand, Debug)]
pub enum LocalCommand {
    /// Create the table from template.yaml's definition (no-op if it exists).
    CreateTable,
    /// Create the table and a demo organization, then serve every route.
    Serve {
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
        #[arg(long, default_value = "demo")]
        demo_org: String,
    },
}

pub const LOCAL_TABLE: &str = "sso-local";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn table_name(local_default: bool) -> Result<String, String> {
    match std::env::var("TABLE_NAME") {
        Ok(t) if !t.trim().is_empty() => Ok(t),
        _ if local_default => Ok(LOCAL_TABLE.to_string()),
        _ => Err("TABLE_NAME is not set: export the table's name (the stack's TableName output, or sso-local for the local stack)".into()),
    }
}

async fn store(local_default: bool) -> Result<DynamoStore, String> {
    Ok(DynamoStore::new(
        shared::app::dynamodb_client().await,
        table_name(local_default)?,
    ))
}

fn admin_err(e: AdminError) -> String {
    e.to_string()
}

/// Base URL of the service when the admin named none.
const LOCAL_BASE_URL: &str = "http://127.0.0.1:3000";

/// Is the DynamoDB endpoint the SDK will use a local server? (`AWS_ENDPOINT_URL_DYNAMODB` wins
/// over `AWS_ENDPOINT_URL`, as in the AWS SDKs' service-specific endpoint configuration.)
fn local_table(env: &impl Fn(&str) -> Option<String>) -> bool {
    let endpoint = env("AWS_ENDPOINT_URL_DYNAMODB")
        .filter(|v| !v.trim().is_empty())
        .or_else(|| env("AWS_ENDPOINT_URL").filter(|v| !v.trim().is_empty()));
    let Some(url) = endpoint.and_then(|e| url::Url::parse(e.trim()).ok()) else {
        return false;
    };
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The base URL a new org gets: `--base-url`, else `$PUBLIC_BASE_URL`, else — only against a
/// local table — the local stack's. Against a deployed table a loopback base URL would hand Okta
/// URLs that lead nowhere, so that is refused before anything is read or written.
pub fn base_url_for_create(
    flag: Option<String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    if let Some(url) = flag.or_else(|| env("PUBLIC_BASE_URL").filter(|v| !v.trim().is_empty())) {
        return Ok(url);
    }
    if local_table(&env) {
        return Ok(LOCAL_BASE_URL.into());
    }
    Err("org create: no base URL. Pass --base-url https://... (the stack's ApiBaseUrl output) or set PUBLIC_BASE_URL; the default http://127.0.0.1:3000 is used only against a local table (AWS_ENDPOINT_URL on 127.0.0.1 or localhost)".into())
}

fn describe(cert: &Value) -> String {
    let field = |k: &str| cert[k].as_str().unwrap_or("?").to_string();
    let mut line = match cert.get("sha256_fingerprint") {
        Some(_) => format!(
            "{}  SHA-256 {}  not after {}",
            field("key"),
            field("sha256_fingerprint"),
            field("not_after")
        ),
        None => "(not a certificate)".to_string(),
    };
    if cert["expired"] == true {
        line.push_str("  EXPIRED (still trusted)");
    }
    if let Some(why) = cert.get("unusable").and_then(Value::as_str) {
        line.push_str(&format!("  UNUSABLE: {why}"));
    }
    line
}

/// Asks before `set-idp` replaces an org's signing certificates: on a terminal, `Replace ...?
/// [y/N]` (anything but y/yes keeps them); without a terminal, only `--yes` replaces them, so a
/// script never swaps keys by accident. Always shows both sets (fingerprint, key, notAfter).
pub fn confirm_replacement(
    change: &KeyReplacement,
    yes: bool,
    terminal: bool,
    input: &mut dyn std::io::BufRead,
    out: &mut dyn std::io::Write,
) -> Result<(), AdminError> {
    let mut summary = format!("Organization {:?} verifies sign-ins with:\n", change.org);
    for c in &change.current {
        summary.push_str(&format!("  {}\n", describe(c)));
    }
    summary.push_str("The new metadata has:\n");
    for c in &change.new.certificates {
        summary.push_str(&format!(
            "  {}\n",
            describe(&admin::certificate_json(c, now()))
        ));
    }
    let _ = out.write_all(summary.as_bytes());
    if yes {
        return Ok(());
    }
    if !terminal {
        return Err(AdminError::NotConfirmed(format!(
            "organization {:?} already has IdP signing certificates and this metadata replaces them; stdin is not a terminal, so pass --yes to replace them",
            change.org
        )));
    }
    let _ = write!(
        out,
        "Replace the IdP signing certificates of {:?}? [y/N] ",
        change.org
    );
    let _ = out.flush();
    let mut answer = String::new();
    // One short line is all an answer needs.
    let _ = std::io::Read::take(input, 64).read_line(&mut answer);
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(AdminError::NotConfirmed(format!(
            "not replaced: the IdP of {:?} is unchanged",
            change.org
        ))),
    }
}

fn warn_skipped(out: &Value) {
    for s in out["skipped_certificates"].as_array().into_iter().flatten() {
        eprintln!(
            "ssoctl: warning: skipped signing certificate {}: {}",
            s["position"],
            describe(s)
        );
    }
}

/// Runs one command and returns what to print.
pub async fn run(cli: Cli) -> Result<Option<Value>, String> {
    match cli.command {
        Command::Org(cmd) => {
            // Fail fast, before any AWS call, on a create that would get a loopback base URL.
            let create_base = match &cmd {
                OrgCommand::Create { base_url, .. } => {
                    Some(base_url_for_create(base_url.clone(), |k| {
                        std::env::var(k).ok()
                    })?)
                }
                _ => None,
            };
            let store = store(false).await?;
            let out = match cmd {
                OrgCommand::Create {
                    org,
                    idp_metadata,
                    base_url: _,
                    provisioning,
                    reactivation,
                } => {
                    let base = create_base.unwrap_or_default();
                    admin::create_org(
                        &store,
                        CreateOrg {
                            name: &org,
                            base_url: &base,
                            idp_metadata: idp_metadata.as_deref(),
                            provisioning,
                            reactivation,
                        },
                        now(),
                    )
                    .await
                }
                OrgCommand::Show { org } => admin::show_org(&store, &org, now()).await,
                OrgCommand::SetIdp { org, metadata, yes } => {
                    use std::io::IsTerminal;
                    let confirm = |change: &KeyReplacement| {
                        confirm_replacement(
                            change,
                            yes,
                            std::io::stdin().is_terminal(),
                            &mut std::io::stdin().lock(),
                            &mut std::io::stderr(),
                        )
                    };
                    admin::set_idp(&store, &org, &metadata, confirm, now()).await
                }
                OrgCommand::RotateScimToken { org } => {
                    admin::rotate_scim_token(&store, &org, now()).await
                }
                OrgCommand::Set { org, settings } => {
                    admin::update_settings(&store, &org, settings, now()).await
                }
                OrgCommand::List => admin::list_orgs(&store).await,
                OrgCommand::Purge => Ok(serde_json::json!({
                    "purged": shared::api::purge_pending(&store, usize::MAX).await
                })),
                OrgCommand::CheckCertificates { now: at } => {
                    admin::check_certificates(&store, at.unwrap_or_else(now)).await
                }
                OrgCommand::RekeyNames { org } => match store.rekey_folded_names(&org).await {
                    Ok(changed) => Ok(serde_json::json!({ "org": org, "rekeyed": changed })),
                    Err(e) => Err(e.into()),
                },
            };
            if let Ok(v) = &out {
                warn_skipped(v);
            }
            out.map(Some).map_err(admin_err)
        }
        Command::App(cmd) => {
            let store = store(false).await?;
            let out = match cmd {
                AppCommand::Create {
                    name,
                    redirect_uris,
                    backchannel_logout_uri,
                    post_logout_redirect_uris,
                    public,
                } => {
                    apps::create_app(
                        &store,
                        apps::CreateApp {
                            name: &name,
                            redirect_uris: &redirect_uris,
                            post_logout_redirect_uris: &post_logout_redirect_uris,
                            backchannel_logout_uri: backchannel_logout_uri.as_deref(),
                            public,
                        },
                        now(),
                    )
                    .await
                }
                AppCommand::List => apps::list_apps(&store).await,
                AppCommand::Show { client_id } => apps::show_app(&store, &client_id).await,
                AppCommand::RotateSecret { client_id } => {
                    apps::rotate_secret(&store, &client_id, now()).await
                }
                AppCommand::Delete { client_id } => apps::delete_app(&store, &client_id).await,
            };
            out.map(Some).map_err(admin_err)
        }
        Command::Events { org, follow } => {
            let store = store(false).await?;
            crate::events::run(&store, org.as_deref(), follow, now).await?;
            Ok(None)
        }
        Command::Webhook(cmd) => {
            let store = store(false).await?;
            match cmd {
                WebhookCommand::Create { url, types } => {
                    crate::webhooks::create(&store, store.table(), &url, types.as_deref(), now())
                        .await
                }
                WebhookCommand::List => crate::webhooks::list(&store).await,
                WebhookCommand::Delete { id } => crate::webhooks::delete(&store, &id).await,
                WebhookCommand::Deliveries { endpoint } => {
                    crate::webhooks::deliveries(&store, endpoint.as_deref()).await
                }
            }
            .map(Some)
        }
        Command::ApiKey(cmd) => {
            let store = store(false).await?;
            let out = match cmd {
                ApiKeyCommand::Create { name } => {
                    crate::api_keys::create(&store, &name, now()).await
                }
                ApiKeyCommand::List => crate::api_keys::list(&store).await,
                ApiKeyCommand::Revoke { name_or_id } => {
                    crate::api_keys::revoke(&store, &name_or_id).await
                }
            };
            out.map(Some).map_err(admin_err)
        }
        Command::User(UserCommand::SignOut { org, user_id }) => {
            let store = store(false).await?;
            apps::sign_out_user(&store, &org, &user_id)
                .await
                .map(Some)
                .map_err(admin_err)
        }
        Command::Local(LocalCommand::CreateTable) => {
            let store = store(true).await?;
            let def = Template::load(&template::default_path())
                .map_err(|e| e.to_string())?
                .table()
                .map_err(|e| e.to_string())?;
            let created = local::create_table(store.client(), store.table(), &def)
                .await
                .map_err(|e| format!("create table: {e}"))?;
            Ok(Some(
                serde_json::json!({ "table": store.table(), "created": created }),
            ))
        }
        Command::Local(LocalCommand::Serve { addr, demo_org }) => {
            let recorder = crate::iam_record::Recorder::from_env()?;
            let mut store = store(true).await?;
            if let Some(rec) = &recorder {
                let config = store
                    .client()
                    .config()
                    .to_builder()
                    .interceptor(rec.clone());
                store = DynamoStore::new(
                    aws_sdk_dynamodb::Client::from_conf(config.build()),
                    store.table().to_string(),
                );
            }
            let def = Template::load(&template::default_path())
                .map_err(|e| e.to_string())?
                .table()
                .map_err(|e| e.to_string())?;
            local::create_table(store.client(), store.table(), &def)
                .await
                .map_err(|e| format!("create table: {e}"))?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("listen on {addr}: {e}"))?;
            let bound = listener.local_addr().map_err(|e| e.to_string())?;
            let base = format!("http://{bound}");
            let demo = match admin::create_org(
                &store,
                CreateOrg {
                    name: &demo_org,
                    base_url: &base,
                    idp_metadata: None,
                    provisioning: Provisioning::Both,
                    reactivation: Reactivation::Restore,
                },
                now(),
            )
            .await
            {
                Err(AdminError::Exists(_)) => {
                    admin::rotate_scim_token(&store, &demo_org, now()).await
                }
                other => other,
            }
            .map_err(admin_err)?;
            // The OIDC signing key: OIDC_KMS_KEY_ID if set, else a new one in the local KMS.
            let key_id = match std::env::var("OIDC_KMS_KEY_ID")
                .ok()
                .filter(|k| !k.trim().is_empty())
            {
                Some(k) => k,
                None => local::create_signing_key(&shared::oidc::jwt::kms_client().await)
                    .await
                    .map_err(|e| format!("create the OIDC signing key in KMS: {e}"))?,
            };
            let config = Config::from_lookup(|k| match k {
                "TABLE_NAME" => Some(store.table().to_string()),
                "OIDC_KMS_KEY_ID" => Some(key_id.clone()),
                other => std::env::var(other).ok(),
            })
            .map_err(|e| e.to_string())?;
            let mut app = App::new(config, store);
            if let Some(rec) = &recorder {
                let kms = shared::oidc::jwt::kms_client().await;
                let kms = kms.config().to_builder().interceptor(rec.clone()).build();
                app.signer = shared::oidc::jwt::Signer::new(
                    app.config.oidc_kms_key_id.clone(),
                    app.config.oidc_previous_kms_key_id.clone(),
                )
                .with_client(aws_sdk_kms::Client::from_conf(kms));
            }
            let app = Arc::new(app);
            tokio::spawn(local::deliver_backchannel_logouts(app.clone()));
            tokio::spawn(local::purge_deleted_orgs(app.clone()));
            let webhooks = local::webhook_worker(&app.store, recorder.as_ref())
                .await
                .map_err(|e| format!("set up local webhook delivery: {e}"))?;
            tokio::spawn(local::deliver_webhooks(webhooks));
            println!(
                "{}",
                serde_json::to_string_pretty(&demo).unwrap_or_default()
            );
            eprintln!("\nLocal stack serving every route on {base} (Ctrl-C to stop).");
            eprintln!("Demo organization {demo_org:?}: SP metadata at {base}/orgs/{demo_org}/saml/metadata");
            eprintln!("Give Okta the URLs above; give this org Okta's metadata with `ssoctl org set-idp {demo_org} --metadata FILE_OR_URL`.");
            local::serve(app, listener)
                .await
                .map_err(|e| format!("serve: {e}"))?;
            Ok(None)
        }
    }
}
