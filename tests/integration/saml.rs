//! SAML sign-on end to end: responses signed by the test IdP, posted as API Gateway HTTP API
//! events to the real handlers, with an injected clock; on the in-memory store, except where the
//! test is about DynamoDB (round trips), which runs on the local DynamoDB-API server.

use std::io::Read;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use shared::org::{IdpConfig, Org, Provisioning};
use shared::saml::test_idp::{encode, idp_certificate, Spec, IDP_ENTITY_ID, ISSUED_AT};
use shared::store::{DynamoStore, MemoryStore, NewUser, Store, UserStore};
use shared::{App, Config};

use crate::support::{
    body_json, body_text, config, event, require_local_dynamodb, table_name, unique_org,
};

/// moto rolls a failed TransactWriteItems back by restoring a snapshot of every table of the
/// region, which undoes writes that concurrent requests made meanwhile (real DynamoDB has no such
/// problem). These tests fail transactions on purpose (replays, used request IDs), so they use a
/// region of their own and run one at a time, and so leave the other tests' data alone.
pub(crate) const REGION: &str = "eu-west-3";
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A store on the test table in [`REGION`], counting round trips if asked to.
pub(crate) async fn store_with(counter: Option<RoundTrips>) -> DynamoStore {
    require_local_dynamodb();
    let shared_cfg = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mut conf = aws_sdk_dynamodb::config::Builder::from(&shared_cfg)
        .region(aws_sdk_dynamodb::config::Region::new(REGION));
    if let Some(c) = counter {
        conf = conf.interceptor(c);
    }
    let client = aws_sdk_dynamodb::Client::from_conf(conf.build());
    let def = ssoctl::template::Template::load(&ssoctl::template::default_path())
        .unwrap()
        .table()
        .unwrap();
    ssoctl::local::create_table(&client, &table_name(), &def)
        .await
        .unwrap();
    DynamoStore::new(client, table_name())
}

pub(crate) async fn store() -> DynamoStore {
    store_with(None).await
}

pub(crate) const BASE: &str = "https://sso.example.com";
const APP_URL: &str = "https://app.example.com/dashboard";

pub(crate) struct Env<S = DynamoStore> {
    _serial: tokio::sync::MutexGuard<'static, ()>,
    pub(crate) app: App<S>,
    pub(crate) clock: Arc<AtomicI64>,
    pub(crate) org: Org,
}

/// A fresh in-memory store, for tests of no DynamoDB behaviour.
pub(crate) fn memory() -> MemoryStore {
    MemoryStore::new()
}

pub(crate) async fn env<S: Store>(provisioning: Provisioning, store: S) -> Env<S> {
    env_with(provisioning, store, config()).await
}

/// [`env`] with a deployment config of the test's choosing.
pub(crate) async fn env_with<S: Store>(
    provisioning: Provisioning,
    store: S,
    cfg: Config,
) -> Env<S> {
    let serial = SERIAL.lock().await;
    let clock = Arc::new(AtomicI64::new(ISSUED_AT));
    let c = clock.clone();
    let app = App::new(cfg, store).with_clock(move || c.load(Ordering::SeqCst));
    let mut org = Org::new(&unique_org("saml"), BASE, 1);
    org.provisioning = provisioning;
    org.idp = Some(IdpConfig {
        entity_id: IDP_ENTITY_ID.into(),
        sso_url: Some("https://acme.okta.com/app/acme_app/exk1/sso/saml".into()),
        certificates: vec![idp_certificate()],
    });
    org.allowed_redirect_urls = vec!["https://app.example.com/".into()];
    org.default_app_url = Some("https://app.example.com/home".into());
    app.store.create_org(&org).await.unwrap();
    Env {
        _serial: serial,
        app,
        clock,
        org,
    }
}

impl<S: Store> Env<S> {
    /// An Okta-shaped response for this org's URLs, signed by the test IdP.
    pub(crate) fn spec(&self, user: &str, assertion_id: &str) -> Spec {
        let mut s = Spec::okta(user);
        s.destination = Some(self.org.acs_url());
        s.recipient = self.org.acs_url();
        s.audience = self.org.entity_id();
        s.assertion_id = assertion_id.into();
        s.issued_at = self.clock.load(Ordering::SeqCst);
        s.not_before = s.issued_at - 300;
        s.not_on_or_after = s.issued_at + 300;
        s.subject_not_on_or_after = s.issued_at + 300;
        s
    }

    pub(crate) async fn call(
        &self,
        req: lambda_http::Request,
    ) -> lambda_http::Response<lambda_http::Body> {
        let Ok(resp) = self.app.handle(None, req).await;
        resp
    }

    pub(crate) async fn post_acs(
        &self,
        xml: &str,
        relay_state: Option<&str>,
    ) -> lambda_http::Response<lambda_http::Body> {
        self.post_acs_from(xml, relay_state, None).await
    }

    /// [`Env::post_acs`] from a browser holding `cookie` (e.g. the login binding).
    pub(crate) async fn post_acs_from(
        &self,
        xml: &str,
        relay_state: Option<&str>,
        cookie: Option<&str>,
    ) -> lambda_http::Response<lambda_http::Body> {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("SAMLResponse", &encode(xml));
        if let Some(r) = relay_state {
            form.append_pair("RelayState", r);
        }
        let path = format!("/orgs/{}/saml/acs", self.org.org);
        let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
        if let Some(c) = cookie {
            headers.push(("cookie", c));
        }
        self.call(event("POST", &path, &headers, Some(&form.finish())))
            .await
    }

    /// `GET /saml/login` from a browser holding `cookie`: (the request ID, the binding cookie).
    pub(crate) async fn login(&self, cookie: Option<&str>) -> (String, String) {
        let path = format!("/orgs/{}/saml/login", self.org.org);
        let headers: Vec<(&str, &str)> = cookie.map(|c| ("cookie", c)).into_iter().collect();
        let resp = self.call(event("GET", &path, &headers, None)).await;
        assert_eq!(resp.status(), 302, "{}", body_text(&resp));
        (
            request_id_of(&header(&resp, "location")),
            cookie_pair(&header(&resp, "set-cookie")),
        )
    }

    pub(crate) async fn session(&self, cookie: &str) -> lambda_http::Response<lambda_http::Body> {
        let path = format!("/orgs/{}/session", self.org.org);
        self.call(event("GET", &path, &[("cookie", cookie)], None))
            .await
    }
}

pub(crate) fn header(resp: &lambda_http::Response<lambda_http::Body>, name: &str) -> String {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// `name=value` of a Set-Cookie header value.
pub(crate) fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

/// `__Host-sso_session_{org}=<token>` from the Set-Cookie header.
pub(crate) fn session_cookie(resp: &lambda_http::Response<lambda_http::Body>) -> String {
    let pair = cookie_pair(&header(resp, "set-cookie"));
    assert!(pair.starts_with("__Host-sso_session_"), "{pair}");
    pair
}

pub(crate) async fn provision<S: Store>(env: &Env<S>, user: &str, active: bool) {
    env.app
        .store
        .create_user(
            &env.org.org,
            NewUser {
                user_name: user.into(),
                external_id: None,
                active,
                attributes: serde_json::json!({}),
            },
            1,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_signed_response_signs_the_user_in_until_logout_and_never_past_24_hours() {
    let env = env(Provisioning::Scim, memory()).await;
    provision(&env, "ada@example.com", true).await;
    let xml = env.spec("Ada@Example.com", "idasrt-e2e-1").build();

    let resp = env
        .post_acs(&xml, Some("https://app.example.com/reports?x=1"))
        .await;
    assert_eq!(resp.status(), 303, "{}", body_text(&resp));
    let location = header(&resp, "location");
    assert_eq!(
        location, "https://app.example.com/reports?x=1",
        "no code of ours"
    );
    let set_cookie = header(&resp, "set-cookie");
    let name = format!("__Host-sso_session_{}=", env.org.org);
    assert!(set_cookie.starts_with(&name), "{set_cookie}");
    for part in [
        "Path=/;",
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Max-Age=86400",
    ] {
        assert!(set_cookie.contains(part), "{set_cookie} lacks {part}");
    }
    let cookie = session_cookie(&resp);

    let me = env.session(&cookie).await;
    assert_eq!(me.status(), 200);
    let me = body_json(&me);
    assert_eq!(me["user"]["userName"], "ada@example.com");
    assert_eq!(
        me["user"]["attributes"]["name"]["givenName"], "Ada",
        "profile synced from the assertion"
    );
    assert_eq!(me["session"]["expires_at"], ISSUED_AT + 86_400);

    // The same assertion again is a replay, whoever posts it.
    let again = env.post_acs(&xml, None).await;
    assert_eq!(again.status(), 400);
    assert!(body_text(&again).contains("error: assertion_replayed"));

    let out = env
        .call(event(
            "POST",
            &format!("/orgs/{}/logout", env.org.org),
            &[("cookie", &cookie)],
            None,
        ))
        .await;
    assert_eq!(out.status(), 204);
    assert_eq!(env.session(&cookie).await.status(), 401);

    // A new sign-in, then 24 hours pass: the session is refused though its record may linger.
    let resp = env
        .post_acs(&env.spec("ada@example.com", "idasrt-e2e-2").build(), None)
        .await;
    assert_eq!(resp.status(), 303);
    let cookie = session_cookie(&resp);
    env.clock.store(ISSUED_AT + 86_399, Ordering::SeqCst);
    assert_eq!(env.session(&cookie).await.status(), 200);
    env.clock.store(ISSUED_AT + 86_400, Ordering::SeqCst);
    assert_eq!(env.session(&cookie).await.status(), 401);
}

#[tokio::test]
async fn relay_state_off_the_allow_list_goes_to_the_default_app_instead() {
    let env = env(Provisioning::FirstLogin, memory()).await;
    for (i, evil) in [
        "https://evil.example.com/",
        "https://app.example.com.evil.example/",
        "//evil.example.com",
        "https://user@app.example.com.evil/",
        "javascript:alert(1)",
    ]
    .iter()
    .enumerate()
    {
        let resp = env
            .post_acs(
                &env.spec("grace@example.com", &format!("idasrt-redirect-{i}"))
                    .build(),
                Some(evil),
            )
            .await;
        assert_eq!(resp.status(), 303, "{evil}");
        assert_eq!(
            header(&resp, "location"),
            "https://app.example.com/home",
            "{evil}"
        );
    }
}

#[tokio::test]
async fn scim_mode_refuses_unknown_and_deactivated_users_with_403() {
    let env = env(Provisioning::Scim, memory()).await;
    let resp = env
        .post_acs(
            &env.spec("nobody@example.com", "idasrt-403-1").build(),
            None,
        )
        .await;
    assert_eq!(resp.status(), 403);
    assert!(body_text(&resp).contains("error: user_not_provisioned"));
    provision(&env, "gone@example.com", false).await;
    let resp = env
        .post_acs(&env.spec("gone@example.com", "idasrt-403-2").build(), None)
        .await;
    assert_eq!(resp.status(), 403);
    assert!(body_text(&resp).contains("error: user_inactive"));
}

#[tokio::test]
async fn first_login_creates_the_user_from_the_assertion_and_later_sign_ins_find_them() {
    let env = env(Provisioning::FirstLogin, memory()).await;
    let resp = env
        .post_acs(&env.spec("new@example.com", "idasrt-fl-1").build(), None)
        .await;
    assert_eq!(resp.status(), 303, "{}", body_text(&resp));
    let user = env
        .app
        .store
        .find_user_by_user_name(
            &env.org.org,
            &shared::scim::user_name::UserName::parse("NEW@example.com").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(user.active);
    assert_eq!(user.attributes["emails"][0]["value"], "new@example.com");
    // A user created at first sign-in counts in SCIM's totalResults like a pushed one.
    let listed = env
        .app
        .store
        .list_users_at(&env.org.org, 1, 10, env.app.now())
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
    assert_eq!(
        user.attributes["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Analytical Engines"
    );
    let mut spec = env.spec("new@example.com", "idasrt-fl-2");
    spec.attributes[3].1 = "Director".into();
    assert_eq!(env.post_acs(&spec.build(), None).await.status(), 303);
    let again = env
        .app
        .store
        .get_user(&env.org.org, &user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.attributes["title"], "Director");
    assert_eq!(again.version, user.version + 1);
}

pub(crate) fn request_id_of(location: &str) -> String {
    let url = url::Url::parse(location).unwrap();
    let saml_request = url
        .query_pairs()
        .find(|(k, _)| k == "SAMLRequest")
        .unwrap()
        .1
        .into_owned();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&STANDARD.decode(saml_request).unwrap()[..])
        .read_to_string(&mut xml)
        .unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    doc.root_element().attribute("ID").unwrap().to_string()
}

#[tokio::test]
async fn sp_initiated_login_redirects_to_okta_and_its_request_id_answers_once() {
    let env = env(Provisioning::FirstLogin, memory()).await;
    let path = format!(
        "/orgs/{}/saml/login?RelayState=https%3A%2F%2Fapp.example.com%2Fx",
        env.org.org
    );
    let resp = env.call(event("GET", &path, &[], None)).await;
    assert_eq!(resp.status(), 302, "{}", body_text(&resp));
    let location = header(&resp, "location");
    assert!(location.starts_with("https://acme.okta.com/app/acme_app/exk1/sso/saml?SAMLRequest="));
    assert!(location.ends_with("&RelayState=https%3A%2F%2Fapp.example.com%2Fx"));
    let id = request_id_of(&location);
    let browser = cookie_pair(&header(&resp, "set-cookie"));
    let from_browser = Some(browser.as_str());

    let mut spec = env.spec("sp@example.com", "idasrt-sp-1");
    spec.in_response_to = Some(id.clone());
    assert_eq!(
        env.post_acs_from(&spec.build(), None, from_browser)
            .await
            .status(),
        303
    );

    // A second assertion answering the same request: the request ID was used up.
    let mut spec = env.spec("sp@example.com", "idasrt-sp-2");
    spec.in_response_to = Some(id);
    let resp = env.post_acs_from(&spec.build(), None, from_browser).await;
    assert_eq!(resp.status(), 400);
    assert!(body_text(&resp).contains("error: unknown_in_response_to"));

    // An ID this SP never issued.
    let mut spec = env.spec("sp@example.com", "idasrt-sp-3");
    spec.in_response_to = Some("id00000000000000000000000000000000".into());
    assert!(
        body_text(&env.post_acs_from(&spec.build(), None, from_browser).await)
            .contains("error: unknown_in_response_to")
    );

    // A request older than 10 minutes has expired.
    let (id, browser) = env.login(from_browser).await;
    env.clock.store(ISSUED_AT + 601, Ordering::SeqCst);
    let mut spec = env.spec("sp@example.com", "idasrt-sp-4");
    spec.in_response_to = Some(id);
    assert!(
        body_text(&env.post_acs_from(&spec.build(), None, Some(&browser)).await)
            .contains("error: unknown_in_response_to")
    );
}

#[tokio::test]
async fn the_former_one_time_code_exchange_is_gone_and_post_session_is_405() {
    // Issue 11: apps sign in with OpenID Connect; the ACS redirect carries no code, and the
    // unauthenticated code exchange at POST /orgs/{org}/session no longer exists.
    let env = env(Provisioning::FirstLogin, memory()).await;
    let resp = env
        .post_acs(
            &env.spec("code@example.com", "idasrt-code-1").build(),
            Some(APP_URL),
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(header(&resp, "location"), APP_URL);
    let path = format!("/orgs/{}/session", env.org.org);
    let body = serde_json::json!({ "code": "code_anything" }).to_string();
    let resp = env
        .call(event(
            "POST",
            &path,
            &[("content-type", "application/json")],
            Some(&body),
        ))
        .await;
    assert_eq!(resp.status(), 405);
    assert_eq!(header(&resp, "allow"), "GET");
}

/// Counts every HTTP request the DynamoDB client sends.
#[derive(Debug, Clone, Default)]
pub(crate) struct RoundTrips(Arc<AtomicUsize>);

impl Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }
    fn read_before_transmit(
        &self,
        _ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// The ACS reads the org on every request (trust changes take effect at once, issue 9 finding 8),
/// then finds the user and writes everything in one transaction: three round trips, whatever the
/// org cache holds.
#[tokio::test]
async fn the_acs_costs_three_dynamodb_round_trips_on_the_happy_path_even_with_a_warm_org() {
    let counter = RoundTrips::default();
    let counted = store_with(Some(counter.clone())).await;
    let env = env(Provisioning::Both, counted).await;
    provision(&env, "count@example.com", true).await;
    // Warm the org cache as an earlier request would have.
    env.call(event(
        "GET",
        &format!("/orgs/{}/saml/metadata", env.org.org),
        &[],
        None,
    ))
    .await;

    for (i, user) in [
        "count@example.com",
        "count@example.com",
        "first@example.com",
    ]
    .iter()
    .enumerate()
    {
        counter.0.store(0, Ordering::SeqCst);
        let resp = env
            .post_acs(
                &env.spec(user, &format!("idasrt-count-{i}")).build(),
                Some(APP_URL),
            )
            .await;
        assert_eq!(resp.status(), 303, "{}", body_text(&resp));
        // Sign-in 0 syncs the profile (update), 1 changes nothing, 2 creates the user: all
        // three (org, user, transaction).
        assert_eq!(counter.0.load(Ordering::SeqCst), 3, "sign-in {i} ({user})");
    }
}

#[tokio::test]
async fn an_org_with_a_shorter_session_length_gets_sessions_and_cookies_that_end_then() {
    use shared::store::OrgStore;
    let env = env(Provisioning::Scim, memory()).await;
    let mut org = env.app.store.get_org(&env.org.org).await.unwrap().unwrap();
    org.session_hours = Some(8);
    env.app.store.update_org(&org).await.unwrap();
    provision(&env, "grace@example.com", true).await;

    let resp = env
        .post_acs(
            &env.spec("grace@example.com", "idasrt-short-1").build(),
            None,
        )
        .await;
    assert_eq!(resp.status(), 303, "{}", body_text(&resp));
    let set_cookie = header(&resp, "set-cookie");
    assert!(set_cookie.contains("Max-Age=28800"), "{set_cookie}");
    let cookie = session_cookie(&resp);
    let me = body_json(&env.session(&cookie).await);
    assert_eq!(me["session"]["expires_at"], ISSUED_AT + 8 * 3600);
    env.clock.store(ISSUED_AT + 8 * 3600, Ordering::SeqCst);
    assert_eq!(env.session(&cookie).await.status(), 401);
}
