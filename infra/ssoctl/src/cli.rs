//! Command-line interface of `ssoctl`. Output is JSON on stdout (one object per command, easy to
//! pipe into jq); errors are one clear line on stderr and a non-zero exit.

use std::net::SocketAddr;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use serde_json::Value;
use shared::org::{Provisioning, Reactivation};
use shared::store::DynamoStore;
use shared::{App, Config};

use crate::admin::{self, AdminError, CreateOrg};
use crate::local;
use crate::template::{self, Template};

#[derive(Parser, Debug)]
#[command(
    name = "ssoctl",
    version,
    about = "Administer the Okta SSO service: organizations, IdP metadata, SCIM tokens, and the local stack."
)]
#[command(
    after_help = "Environment: TABLE_NAME (the DynamoDB table), PUBLIC_BASE_URL (default base URL of new orgs), and the standard AWS variables (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL for a local DynamoDB-API server)."
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
    /// Run the service locally.
    #[command(subcommand)]
    Local(LocalCommand),
}

#[derive(Subcommand, Debug)]
pub enum OrgCommand {
    /// Create an organization; prints every URL the Okta admin needs and the SCIM token (shown once).
    Create {
        org: String,
        /// Okta's IdP metadata: a file or an https URL ("Identity Provider metadata" link in Okta).
        #[arg(long)]
        idp_metadata: Option<String>,
        /// Public base URL of the API (default: $PUBLIC_BASE_URL, else http://127.0.0.1:3000).
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
    /// Set or replace the organization's IdP from its metadata.
    SetIdp {
        org: String,
        #[arg(long)]
        metadata: String,
    },
    /// Change sign-in and provisioning settings; prints the organization as `show` does.
    Set {
        org: String,
        #[command(flatten)]
        settings: admin::Settings,
    },
    /// Mint a new SCIM bearer token; the previous one stops working at once.
    RotateScimToken { org: String },
    /// List organizations.
    List,
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

/// Runs one command and returns what to print.
pub async fn run(cli: Cli) -> Result<Option<Value>, String> {
    match cli.command {
        Command::Org(cmd) => {
            let store = store(false).await?;
            let out = match cmd {
                OrgCommand::Create {
                    org,
                    idp_metadata,
                    base_url,
                    provisioning,
                    reactivation,
                } => {
                    let base = base_url
                        .or_else(|| {
                            std::env::var("PUBLIC_BASE_URL")
                                .ok()
                                .filter(|v| !v.is_empty())
                        })
                        .unwrap_or_else(|| "http://127.0.0.1:3000".into());
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
                OrgCommand::Show { org } => admin::show_org(&store, &org).await,
                OrgCommand::SetIdp { org, metadata } => {
                    admin::set_idp(&store, &org, &metadata, now()).await
                }
                OrgCommand::RotateScimToken { org } => {
                    admin::rotate_scim_token(&store, &org, now()).await
                }
                OrgCommand::Set { org, settings } => {
                    admin::update_settings(&store, &org, settings, now()).await
                }
                OrgCommand::List => admin::list_orgs(&store).await,
            };
            out.map(Some).map_err(admin_err)
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
            let store = store(true).await?;
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
            let config = Config::from_lookup(|k| match k {
                "TABLE_NAME" => Some(store.table().to_string()),
                other => std::env::var(other).ok(),
            })
            .map_err(|e| e.to_string())?;
            let app = Arc::new(App::new(config, store));
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
