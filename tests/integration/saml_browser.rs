//! Browser sign-in hardening (issue 9 findings 2, 6, 8, 10, 11; issue 8 items 3, 4): each test
//! drives the real handlers with API Gateway HTTP API events on the local DynamoDB-API server, as
//! the browser (or the attacker) would.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use shared::org::{IdpConfig, Provisioning};
use shared::saml::test_idp::{idp_certificate, other_certificate, ISSUED_AT};
use shared::store::{NewUser, OrgStore, SessionStore, Store, UserStore};
use shared::Config;

use crate::saml::{
    cookie_pair, env, env_with, header, memory, provision, request_id_of, session_cookie, store,
    Env,
};
use crate::support::{body_json, body_text, event, table_name};

async fn update_org<S: Store>(env: &Env<S>, change: impl FnOnce(&mut shared::org::Org)) {
    let mut org = env.app.store.get_org(&env.org.org).await.unwrap().unwrap();
    change(&mut org);
    env.app.store.update_org(&org).await.unwrap();
}

#[tokio::test]
async fn a_response_to_a_login_started_in_another_browser_signs_nobody_in() {
    let env = env(Provisioning::Both, memory()).await;
    // The attacker starts a login from their own client and gets a response for their account.
    let (id, attacker_browser) = env.login(None).await;
    let mut spec = env.spec("mallory@example.com", "idasrt-csrf-1");
    spec.in_response_to = Some(id.clone());
    let xml = spec.build();

    // The victim's browser posts it: without the binding cookie, or with its own from a login of
    // its own, nobody is signed in and no session cookie is set.
    let resp = env.post_acs_from(&xml, None, None).await;
    assert_eq!(resp.status(), 403, "{}", body_text(&resp));
    assert!(body_text(&resp).contains("error: request_not_from_this_browser"));
    assert!(resp.headers().get("set-cookie").is_none());
    let (_, victim_browser) = env.login(None).await;
    assert_ne!(victim_browser, attacker_browser);
    let resp = env.post_acs_from(&xml, None, Some(&victim_browser)).await;
    assert_eq!(resp.status(), 400, "{}", body_text(&resp));
    assert!(body_text(&resp).contains("error: unknown_in_response_to"));
    assert!(resp.headers().get("set-cookie").is_none());

    // The browser that started the login completes it (the refusals consumed nothing).
    let resp = env.post_acs_from(&xml, None, Some(&attacker_browser)).await;
    assert_eq!(resp.status(), 303, "{}", body_text(&resp));
}

#[tokio::test]
async fn the_login_binding_cookie_is_host_only_cross_site_and_shared_by_two_tabs() {
    let env = env(Provisioning::Both, memory()).await;
    let path = format!("/orgs/{}/saml/login", env.org.org);
    let resp = env.call(event("GET", &path, &[], None)).await;
    let set_cookie = header(&resp, "set-cookie");
    let name = format!("__Host-sso_login_{}=login_", env.org.org);
    assert!(set_cookie.starts_with(&name), "{set_cookie}");
    for part in [
        "Path=/;",
        "HttpOnly",
        "Secure",
        "SameSite=None",
        "Max-Age=600",
    ] {
        assert!(set_cookie.contains(part), "{set_cookie} lacks {part}");
    }
    // A second tab of the same browser keeps the secret, so both logins complete.
    let first_id = request_id_of(&header(&resp, "location"));
    let browser = cookie_pair(&set_cookie);
    let (second_id, again) = env.login(Some(&browser)).await;
    assert_eq!(again, browser);
    for (i, id) in [second_id, first_id].into_iter().enumerate() {
        let mut spec = env.spec("tabs@example.com", &format!("idasrt-tabs-{i}"));
        spec.in_response_to = Some(id);
        let resp = env.post_acs_from(&spec.build(), None, Some(&browser)).await;
        assert_eq!(resp.status(), 303, "tab {i}: {}", body_text(&resp));
    }
}

#[tokio::test]
async fn an_allowed_relay_state_is_followed_as_given_and_cannot_smuggle_an_encoded_separator() {
    let env = env(Provisioning::Both, memory()).await;
    update_org(&env, |o| {
        o.allowed_redirect_urls = vec!["https://app.example.com/portal".into()];
    })
    .await;
    let resp = env
        .post_acs(
            &env.spec("relay@example.com", "idasrt-relay-1").build(),
            Some("https://app.example.com/portal/x?code=ATTACKER&y=1"),
        )
        .await;
    assert_eq!(resp.status(), 303, "{}", body_text(&resp));
    // The ACS adds no code of its own any more (apps use OpenID Connect, issue 11), so the
    // landing URL is the RelayState as given.
    let location = header(&resp, "location");
    assert_eq!(
        location, "https://app.example.com/portal/x?code=ATTACKER&y=1",
        "{location}"
    );

    for (i, evil) in [
        "https://app.example.com/portal/..%2fadmin",
        "https://app.example.com/portal/%2e%2e/admin",
        "https://app.example.com/portal\\..\\admin",
    ]
    .iter()
    .enumerate()
    {
        let resp = env
            .post_acs(
                &env.spec("relay@example.com", &format!("idasrt-relay-e{i}"))
                    .build(),
                Some(evil),
            )
            .await;
        let location = header(&resp, "location");
        assert_eq!(
            location, "https://app.example.com/home",
            "{evil} -> {location}"
        );
    }
}

#[tokio::test]
async fn trust_changes_take_effect_on_the_very_next_sign_in() {
    let env = env(Provisioning::Both, memory()).await;
    // A first sign-in warms whatever the ACS caches.
    let resp = env
        .post_acs(
            &env.spec("trust@example.com", "idasrt-trust-0").build(),
            None,
        )
        .await;
    assert_eq!(resp.status(), 303);

    // `set-idp` replaced the key: a response signed with the old one is refused at once.
    update_org(&env, |o| {
        o.idp.as_mut().unwrap().certificates = vec![other_certificate()];
    })
    .await;
    let resp = env
        .post_acs(
            &env.spec("trust@example.com", "idasrt-trust-1").build(),
            None,
        )
        .await;
    assert_eq!(resp.status(), 400);
    assert!(body_text(&resp).contains("error: signature_invalid"));

    // IdP-initiated turned off, and the allow-list emptied: both at once.
    update_org(&env, |o| {
        o.idp.as_mut().unwrap().certificates = vec![idp_certificate()];
        o.allowed_redirect_urls.clear();
    })
    .await;
    let resp = env
        .post_acs(
            &env.spec("trust@example.com", "idasrt-trust-2").build(),
            Some("https://app.example.com/reports"),
        )
        .await;
    assert_eq!(header(&resp, "location"), "https://app.example.com/home");
    update_org(&env, |o| o.allow_idp_initiated = false).await;
    let resp = env
        .post_acs(
            &env.spec("trust@example.com", "idasrt-trust-3").build(),
            None,
        )
        .await;
    assert_eq!(resp.status(), 403);
    assert!(body_text(&resp).contains("error: idp_initiated_not_allowed"));

    // Login follows a new IdP SSO URL at once too.
    update_org(&env, |o| {
        o.idp = Some(IdpConfig {
            sso_url: Some("https://new.okta.example/sso".into()),
            ..o.idp.clone().unwrap()
        })
    })
    .await;
    let path = format!("/orgs/{}/saml/login", env.org.org);
    let resp = env.call(event("GET", &path, &[], None)).await;
    assert!(header(&resp, "location").starts_with("https://new.okta.example/sso?"));
}

#[tokio::test]
async fn a_tossed_or_foreign_session_cookie_never_hides_or_replaces_the_orgs_own() {
    let env = env(Provisioning::Both, memory()).await;
    let resp = env
        .post_acs(&env.spec("toss@example.com", "idasrt-toss-1").build(), None)
        .await;
    let own = session_cookie(&resp);
    let token = own.split_once('=').unwrap().1;
    let name = format!("__Host-sso_session_{}", env.org.org);
    // A sibling subdomain can only set the old, unprefixed name; sent first, it changes nothing.
    let tossed = format!("sso_session=sso_tossed; {name}=sso_junk; {own}");
    let me = env.session(&tossed).await;
    assert_eq!(me.status(), 200, "{}", body_text(&me));
    assert_eq!(body_json(&me)["user"]["userName"], "toss@example.com");
    // This org's token under the old name, or under another org's name, is not this org's cookie.
    for wrong in [
        format!("sso_session={token}"),
        format!("__Host-sso_session_other={token}"),
    ] {
        assert_eq!(env.session(&wrong).await.status(), 401, "{wrong}");
    }
}

#[tokio::test]
async fn the_session_ends_no_later_than_the_idps_session_not_on_or_after() {
    let env = env(Provisioning::Both, memory()).await;
    let mut spec = env.spec("short@example.com", "idasrt-snoa-1");
    spec.session_not_on_or_after = Some(ISSUED_AT + 3600);
    let resp = env.post_acs(&spec.build(), None).await;
    assert_eq!(resp.status(), 303, "{}", body_text(&resp));
    assert!(header(&resp, "set-cookie").contains("Max-Age=3600"));
    let cookie = session_cookie(&resp);
    let me = env.session(&cookie).await;
    assert_eq!(body_json(&me)["session"]["expires_at"], ISSUED_AT + 3600);
    env.clock.store(ISSUED_AT + 3600, Ordering::SeqCst);
    assert_eq!(env.session(&cookie).await.status(), 401);

    // A session the IdP has already ended opens none here.
    let mut spec = env.spec("short@example.com", "idasrt-snoa-2");
    spec.session_not_on_or_after = Some(ISSUED_AT + 3600);
    let resp = env.post_acs(&spec.build(), None).await;
    assert_eq!(resp.status(), 400);
    assert!(body_text(&resp).contains("error: session_already_ended"));
}

/// Runs `action` (on a client and runtime of its own: the other party of a race) just before the
/// first TransactWriteItems the ACS sends, i.e. between the ACS's read of the user and its write.
#[derive(Clone)]
struct BeforeFirstTransaction {
    armed: Arc<AtomicBool>,
    action: Arc<dyn Fn(String) + Send + Sync>,
    org: Arc<std::sync::Mutex<String>>,
}

impl std::fmt::Debug for BeforeFirstTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BeforeFirstTransaction")
    }
}

impl Intercept for BeforeFirstTransaction {
    fn name(&self) -> &'static str {
        "BeforeFirstTransaction"
    }
    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let is_tx = ctx
            .request()
            .headers()
            .get("x-amz-target")
            .is_some_and(|t| t.ends_with("TransactWriteItems"));
        if is_tx && self.armed.swap(false, Ordering::SeqCst) {
            let org = self.org.lock().unwrap().clone();
            let action = self.action.clone();
            std::thread::spawn(move || action(org))
                .join()
                .map_err(|_| "the racing action failed")?;
        }
        Ok(())
    }
}

/// Blocks on `f` on a fresh runtime (we are on a thread of our own).
fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// An env whose store runs `action` before the ACS's first transaction, once [`arm`]ed.
async fn racing_env(
    action: impl Fn(String) + Send + Sync + 'static,
) -> (Env, BeforeFirstTransaction) {
    let racer = BeforeFirstTransaction {
        armed: Arc::new(AtomicBool::new(false)),
        action: Arc::new(action),
        org: Arc::default(),
    };
    let _ = store().await; // the table exists
    let shared_cfg = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let conf = aws_sdk_dynamodb::config::Builder::from(&shared_cfg)
        .region(aws_sdk_dynamodb::config::Region::new(crate::saml::REGION))
        .interceptor(racer.clone())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(conf);
    let env = env(
        Provisioning::Both,
        shared::store::DynamoStore::new(client, table_name()),
    )
    .await;
    *racer.org.lock().unwrap() = env.org.org.clone();
    (env, racer)
}

fn arm(racer: &BeforeFirstTransaction) {
    racer.armed.store(true, Ordering::SeqCst);
}

#[tokio::test]
async fn the_loser_of_two_simultaneous_first_sign_ins_is_signed_in_too() {
    // The winner (another first sign-in, or a SCIM push) creates the user in between.
    let (env, racer) = racing_env(|org| {
        run(async {
            store()
                .await
                .create_user(
                    &org,
                    NewUser {
                        user_name: "race@example.com".into(),
                        external_id: None,
                        active: true,
                        attributes: serde_json::json!({}),
                    },
                    1,
                )
                .await
                .unwrap();
        })
    })
    .await;
    arm(&racer);
    let resp = env
        .post_acs(&env.spec("race@example.com", "idasrt-race-1").build(), None)
        .await;
    assert!(!racer.armed.load(Ordering::SeqCst), "the race was run");
    assert_eq!(resp.status(), 303, "{}", body_text(&resp));
    let me = env.session(&session_cookie(&resp)).await;
    assert_eq!(body_json(&me)["user"]["userName"], "race@example.com");
    let listed = env
        .app
        .store
        .list_users_at(&env.org.org, 1, 10, env.app.now())
        .await
        .unwrap();
    assert_eq!(listed.total, 1, "one user, not two");
}

#[tokio::test]
async fn a_sign_in_racing_the_users_deactivation_opens_no_session() {
    // SCIM deactivates the user after the ACS read them (active, profile unchanged).
    let (env, racer) = racing_env(|org| {
        run(async {
            let s = store().await;
            let mut u = s
                .find_user_by_user_name(
                    &org,
                    &shared::scim::user_name::UserName::parse("late@example.com").unwrap(),
                )
                .await
                .unwrap()
                .unwrap();
            u.active = false;
            s.update_user(&org, &u, 2).await.unwrap();
            s.delete_user_sessions(&org, &u.id).await.unwrap();
        })
    })
    .await;
    provision(&env, "late@example.com", true).await;
    // A first sign-in syncs the profile; the second changes nothing, and races.
    let spec = env.spec("late@example.com", "idasrt-late-1");
    assert_eq!(env.post_acs(&spec.build(), None).await.status(), 303);
    arm(&racer);
    let resp = env
        .post_acs(&env.spec("late@example.com", "idasrt-late-2").build(), None)
        .await;
    assert!(!racer.armed.load(Ordering::SeqCst), "the race was run");
    assert_eq!(resp.status(), 403, "{}", body_text(&resp));
    assert!(body_text(&resp).contains("error: user_inactive"));
    assert!(resp.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn without_any_app_url_a_sign_in_lands_on_our_signed_in_page_by_redirect() {
    let env = env(Provisioning::Both, memory()).await;
    update_org(&env, |o| o.default_app_url = None).await;
    // NameID `a<b@example.com`: the page must escape it.
    let spec = env.spec("a&lt;b@example.com", "idasrt-page-1");
    let resp = env.post_acs(&spec.build(), None).await;
    assert_eq!(resp.status(), 303, "{}", body_text(&resp));
    let location = header(&resp, "location");
    assert_eq!(
        location,
        format!("{}/orgs/{}/signed-in", crate::saml::BASE, env.org.org)
    );
    let cookie = session_cookie(&resp);

    let path = format!("/orgs/{}/signed-in", env.org.org);
    let page = env
        .call(event("GET", &path, &[("cookie", &cookie)], None))
        .await;
    assert_eq!(page.status(), 200);
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    assert!(header(&page, "content-security-policy").starts_with("default-src 'none'"));
    let html = body_text(&page);
    assert!(html.contains("a&lt;b@example.com"), "{html}");
    assert!(!html.contains("a<b@"), "{html}");
    assert!(html.contains("--default-app-url"), "{html}");

    let anonymous = env.call(event("GET", &path, &[], None)).await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(header(&anonymous, "x-content-type-options"), "nosniff");
}

#[tokio::test]
async fn without_an_org_app_url_a_sign_in_goes_to_the_deployments_default() {
    let cfg = Config::from_lookup(|k| match k {
        "TABLE_NAME" => Some(table_name()),
        "DEFAULT_APP_URL" => Some("https://portal.example.com/welcome".into()),
        _ => None,
    })
    .unwrap();
    let env = env_with(Provisioning::Both, memory(), cfg).await;
    update_org(&env, |o| o.default_app_url = None).await;
    let resp = env
        .post_acs(&env.spec("dflt@example.com", "idasrt-dflt-1").build(), None)
        .await;
    assert_eq!(resp.status(), 303, "{}", body_text(&resp));
    let location = header(&resp, "location");
    assert_eq!(location, "https://portal.example.com/welcome");
}

#[tokio::test]
async fn error_pages_that_echo_the_org_are_never_sniffed_and_load_nothing() {
    let env = env(Provisioning::Both, memory()).await;
    let resp = env
        .call(event("GET", "/orgs/no-such-org-x/saml/login", &[], None))
        .await;
    assert_eq!(resp.status(), 404);
    assert_eq!(header(&resp, "x-content-type-options"), "nosniff");
    assert!(header(&resp, "content-security-policy").starts_with("default-src 'none'"));
}

#[test]
fn the_unauthenticated_sign_in_routes_are_throttled_in_the_template() {
    let text = std::fs::read_to_string(ssoctl::template::default_path()).unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
    let resources = &docs[0]["Resources"];
    for (function, event_name) in [("SamlLoginFunction", "Login"), ("SamlAcsFunction", "Acs")] {
        let settings =
            &resources[function]["Properties"]["Events"][event_name]["Properties"]["RouteSettings"];
        for key in ["ThrottlingRateLimit", "ThrottlingBurstLimit"] {
            assert!(
                !settings[key].is_badvalue(),
                "{function} {event_name} lacks {key}"
            );
        }
    }
    assert_eq!(
        docs[0]["Parameters"]["DefaultAppUrl"]["Default"].as_str(),
        Some("")
    );
}

#[tokio::test]
async fn an_org_created_with_only_idp_metadata_signs_in_a_user_no_one_pushed() {
    // The test IdP's metadata, as Okta publishes it.
    let dir = std::env::temp_dir().join(format!("saml-only-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let metadata = dir.join("okta-metadata.xml");
    std::fs::write(
        &metadata,
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}"><md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://acme.okta.com/app/x/sso/saml"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
            entity = shared::saml::test_idp::IDP_ENTITY_ID,
            cert = idp_certificate(),
        ),
    )
    .unwrap();
    let store = crate::support::store().await; // creates the table ssoctl writes to
    let org_name = crate::support::unique_org("samlonly");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ssoctl"))
        .args(["org", "create", &org_name, "--idp-metadata"])
        .arg(&metadata)
        .args(["--base-url", crate::saml::BASE])
        .env("TABLE_NAME", table_name())
        .env_remove("PUBLIC_BASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The default region's table (where ssoctl wrote), an app at the fixtures' instant.
    let app = shared::App::new(crate::support::config(), store).with_clock(|| ISSUED_AT);
    let org = app.store.get_org(&org_name).await.unwrap().unwrap();
    assert_eq!(org.provisioning, Provisioning::Both);
    let mut spec = shared::saml::test_idp::Spec::okta("walkin@example.com");
    spec.destination = Some(org.acs_url());
    spec.recipient = org.acs_url();
    spec.audience = org.entity_id();
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair(
        "SAMLResponse",
        &shared::saml::test_idp::encode(&spec.build()),
    );
    let Ok(resp) = app
        .handle(
            None,
            event(
                "POST",
                &format!("/orgs/{org_name}/saml/acs"),
                &[("content-type", "application/x-www-form-urlencoded")],
                Some(&form.finish()),
            ),
        )
        .await;
    assert_eq!(resp.status(), 303, "{}", body_text(&resp));
    let cookie = session_cookie(&resp);
    let Ok(me) = app
        .handle(
            None,
            event(
                "GET",
                &format!("/orgs/{org_name}/session"),
                &[("cookie", &cookie)],
                None,
            ),
        )
        .await;
    assert_eq!(me.status(), 200, "{}", body_text(&me));
    assert_eq!(body_json(&me)["user"]["userName"], "walkin@example.com");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_provisioned_user_still_signs_in_under_scim_only_provisioning() {
    // `scim` stays a choice: the pushed user signs in, as before.
    let env = env(Provisioning::Scim, memory()).await;
    provision(&env, "pushed@example.com", true).await;
    let resp = env
        .post_acs(
            &env.spec("pushed@example.com", "idasrt-scim-1").build(),
            None,
        )
        .await;
    assert_eq!(resp.status(), 303, "{}", body_text(&resp));
}
