//! The OpenID Connect provider through its handlers: API Gateway HTTP API events, the real store
//! on the local DynamoDB-API server, the real KMS API of the local server, an injected clock.
//! (The end-to-end run with a third-party client library over HTTP is in `oidc_e2e.rs`.)

use std::io::Read;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use shared::oidc::jwt::Signer;
use shared::org::{IdpConfig, Org, Provisioning};
use shared::saml::test_idp::{encode, idp_certificate, Spec, IDP_ENTITY_ID};
use shared::store::{DynamoStore, GroupStore, NewUser, OidcStore, OrgStore, UserStore};
use shared::tokens::{Secret, TokenHash};
use shared::{App, Config};

use crate::support::{body_json, body_text, event, require_local_dynamodb, table_name, unique_org};

/// Failed transactions roll back the whole region in moto (see saml.rs): a region of our own,
/// one test at a time.
pub const REGION: &str = "ap-northeast-1";
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// The issuer the events' `requestContext.domainName` gives.
const ISSUER: &str = "https://abc123.execute-api.us-east-1.amazonaws.com";
const CALLBACK: &str = "https://app.example.com/callback";
const AFTER_LOGOUT: &str = "https://app.example.com/bye";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Counts every HTTP request an AWS SDK client sends.
#[derive(Debug, Clone, Default)]
pub struct Calls(pub Arc<AtomicUsize>, Arc<std::sync::Mutex<Vec<String>>>);

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "Calls"
    }
    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        // The JSON protocols name the operation in X-Amz-Target (`DynamoDB_20120810.UpdateItem`,
        // `TrentService.Sign`): the IAM action is its service prefix and that name.
        if let Some(target) = ctx.request().headers().get("x-amz-target") {
            let op = target.rsplit('.').next().unwrap_or(target).to_string();
            self.1.lock().unwrap().push(op);
        }
        Ok(())
    }
}

impl Calls {
    fn take(&self) -> usize {
        self.0.swap(0, Ordering::SeqCst)
    }

    /// The operations sent since the last call, each once, in order of first use.
    fn take_operations(&self) -> Vec<String> {
        let mut ops: Vec<String> = Vec::new();
        for op in std::mem::take(&mut *self.1.lock().unwrap()) {
            if !ops.contains(&op) {
                ops.push(op);
            }
        }
        ops
    }
}

/// The local KMS's signing key, created once per test process (as `ssoctl local serve` does).
pub async fn signing_key() -> String {
    static KEY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    KEY.get_or_init(|| async {
        ssoctl::local::create_signing_key(&shared::oidc::jwt::kms_client().await)
            .await
            .expect("CreateKey on the local KMS")
    })
    .await
    .clone()
}

pub struct Env {
    _serial: tokio::sync::MutexGuard<'static, ()>,
    pub app: App<DynamoStore>,
    pub clock: Arc<AtomicI64>,
    pub org: Org,
    pub user_id: String,
    pub scim_token: Secret,
    pub client_id: String,
    pub secret: String,
    pub public_client_id: String,
    pub db: Calls,
    pub kms: Calls,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub async fn env() -> Env {
    require_local_dynamodb();
    let serial = SERIAL.lock().await;
    let shared_cfg = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let db = Calls::default();
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&shared_cfg)
            .region(aws_sdk_dynamodb::config::Region::new(REGION))
            .interceptor(db.clone())
            .build(),
    );
    let def = ssoctl::template::Template::load(&ssoctl::template::default_path())
        .unwrap()
        .table()
        .unwrap();
    ssoctl::local::create_table(&client, &table_name(), &def)
        .await
        .unwrap();
    let kms = Calls::default();
    let kms_client = aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::config::Builder::from(&shared_cfg)
            .interceptor(kms.clone())
            .build(),
    );
    let key = signing_key().await;
    let config = Config::from_lookup(|k| match k {
        "TABLE_NAME" => Some(table_name()),
        "OIDC_KMS_KEY_ID" => Some(key.clone()),
        _ => None,
    })
    .unwrap();
    // The real clock: SCIM deactivation tells live grants from ended ones by wall time.
    let clock = Arc::new(AtomicI64::new(now()));
    let c = clock.clone();
    let mut app = App::new(config, DynamoStore::new(client, table_name()))
        .with_clock(move || c.load(Ordering::SeqCst));
    app.signer = Signer::new(Some(key), None).with_client(kms_client);

    let scim_token = Secret::generate("scim");
    let mut org = Org::new(&unique_org("oidc"), "https://sso.example.com", 1);
    org.provisioning = Provisioning::Scim;
    org.scim_token_hash = Some(scim_token.hash().into_string());
    org.idp = Some(IdpConfig {
        entity_id: IDP_ENTITY_ID.into(),
        sso_url: Some("https://acme.okta.com/app/acme_app/exk1/sso/saml".into()),
        certificates: vec![idp_certificate()],
    });
    app.store.create_org(&org).await.unwrap();
    let user = app
        .store
        .create_user(
            &org.org,
            NewUser {
                user_name: "ada@example.com".into(),
                external_id: None,
                active: true,
                attributes: serde_json::json!({}),
            },
            1,
        )
        .await
        .unwrap();
    let group = app
        .store
        .create_group(&org.org, "Engineers", None, 1)
        .await
        .unwrap();
    app.store
        .add_members(&org.org, &group.id, std::slice::from_ref(&user.id), 1)
        .await
        .unwrap();

    let confidential = ssoctl::apps::create_app(
        &app.store,
        ssoctl::apps::CreateApp {
            name: "SaaS app",
            redirect_uris: &[CALLBACK.to_string()],
            post_logout_redirect_uris: &[AFTER_LOGOUT.to_string()],
            backchannel_logout_uri: Some("https://app.example.com/backchannel"),
            public: false,
        },
        1,
    )
    .await
    .unwrap();
    let public = ssoctl::apps::create_app(
        &app.store,
        ssoctl::apps::CreateApp {
            name: "SPA",
            redirect_uris: &[CALLBACK.to_string()],
            post_logout_redirect_uris: &[],
            backchannel_logout_uri: None,
            public: true,
        },
        1,
    )
    .await
    .unwrap();
    assert!(public.get("client_secret").is_none());
    Env {
        _serial: serial,
        app,
        clock,
        org,
        user_id: user.id,
        scim_token,
        client_id: confidential["client_id"].as_str().unwrap().into(),
        secret: confidential["client_secret"].as_str().unwrap().into(),
        public_client_id: public["client_id"].as_str().unwrap().into(),
        db,
        kms,
    }
}

pub type Resp = lambda_http::Response<lambda_http::Body>;

pub fn header(resp: &Resp, name: &str) -> String {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

pub fn query_of(location: &str, key: &str) -> Option<String> {
    url::Url::parse(location)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn request_id_of(location: &str) -> String {
    let saml_request = query_of(location, "SAMLRequest").expect("a SAMLRequest");
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&STANDARD.decode(saml_request).unwrap()[..])
        .read_to_string(&mut xml)
        .unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    doc.root_element().attribute("ID").unwrap().to_string()
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut f = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        f.append_pair(k, v);
    }
    f.finish()
}

impl Env {
    pub async fn call(&self, req: lambda_http::Request) -> Resp {
        let Ok(resp) = self.app.handle(None, req).await;
        resp
    }

    /// The usual request of the confidential client, with `changes` replacing or adding params.
    pub fn authorize_query(&self, changes: &[(&str, &str)]) -> String {
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", CALLBACK),
            ("scope", "openid email profile groups"),
            ("state", "st-1"),
            ("nonce", "n-1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("organization", self.org.org.as_str()),
        ];
        for (k, v) in changes {
            params.retain(|(p, _)| p != k);
            if !v.is_empty() {
                params.push((k, v));
            }
        }
        form(&params)
    }

    pub async fn authorize(&self, query: &str) -> Resp {
        self.call(event(
            "GET",
            &format!("/oauth2/authorize?{query}"),
            &[],
            None,
        ))
        .await
    }

    /// Okta's answer to the AuthnRequest the authorize response redirects to, posted to the ACS.
    pub async fn okta_answers(&self, authorize: &Resp) -> Resp {
        assert_eq!(authorize.status(), 302, "{}", body_text(authorize));
        let id = request_id_of(&header(authorize, "location"));
        let mut spec = Spec::okta("ada@example.com");
        spec.destination = Some(self.org.acs_url());
        spec.recipient = self.org.acs_url();
        spec.audience = self.org.entity_id();
        spec.assertion_id = format!("idasrt-{}", shared::tokens::random_hex(8));
        spec.in_response_to = Some(id);
        spec.issued_at = self.clock.load(Ordering::SeqCst);
        spec.not_before = spec.issued_at - 300;
        spec.not_on_or_after = spec.issued_at + 300;
        spec.subject_not_on_or_after = spec.issued_at + 300;
        // The browser brings back whatever cookies /authorize set (a login binding, if any).
        let cookies: Vec<String> = authorize
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_string))
            .collect();
        let cookie = cookies.join("; ");
        let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
        if !cookie.is_empty() {
            headers.push(("cookie", cookie.as_str()));
        }
        let body = form(&[("SAMLResponse", &encode(&spec.build()))]);
        self.call(event(
            "POST",
            &format!("/orgs/{}/saml/acs", self.org.org),
            &headers,
            Some(&body),
        ))
        .await
    }

    /// authorize → Okta → ACS: the code on the redirect back to the app.
    pub async fn code(&self) -> String {
        let auth = self.authorize(&self.authorize_query(&[])).await;
        let back = self.okta_answers(&auth).await;
        assert_eq!(back.status(), 303, "{}", body_text(&back));
        let location = header(&back, "location");
        assert!(
            location.starts_with(&format!("{CALLBACK}?code=")),
            "{location}"
        );
        assert_eq!(query_of(&location, "state").as_deref(), Some("st-1"));
        query_of(&location, "code").unwrap()
    }

    pub async fn token(&self, pairs: &[(&str, &str)], basic: Option<(&str, &str)>) -> Resp {
        let auth = basic.map(|(id, s)| format!("Basic {}", STANDARD.encode(format!("{id}:{s}"))));
        let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        self.call(event("POST", "/oauth2/token", &headers, Some(&form(pairs))))
            .await
    }

    pub async fn redeem(&self, code: &str) -> Resp {
        self.token(
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", VERIFIER),
            ],
            Some((&self.client_id, &self.secret)),
        )
        .await
    }

    pub async fn userinfo(&self, access_token: &str) -> Resp {
        let bearer = format!("Bearer {access_token}");
        self.call(event(
            "GET",
            "/oauth2/userinfo",
            &[("authorization", &bearer)],
            None,
        ))
        .await
    }
}

/// The payload of a JWT verified against the provider's JWKS with the `jsonwebtoken` crate.
pub fn verified_claims(
    jwt: &str,
    jwks: &serde_json::Value,
    aud: &str,
    iss: &str,
) -> serde_json::Value {
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("kid in the JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_audience(&[aud]);
    v.set_issuer(&[iss]);
    v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<serde_json::Value>(jwt, &key, &v)
        .unwrap()
        .claims
}

#[tokio::test]
async fn discovery_names_every_endpoint_under_the_issuer_the_request_came_in_on() {
    let env = env().await;
    let resp = env
        .call(event("GET", "/.well-known/openid-configuration", &[], None))
        .await;
    assert_eq!(resp.status(), 200);
    let d = body_json(&resp);
    assert_eq!(d["issuer"], ISSUER);
    for (k, path) in [
        ("authorization_endpoint", "/oauth2/authorize"),
        ("token_endpoint", "/oauth2/token"),
        ("userinfo_endpoint", "/oauth2/userinfo"),
        ("jwks_uri", "/oauth2/jwks"),
        ("end_session_endpoint", "/oauth2/logout"),
    ] {
        assert_eq!(d[k], format!("{ISSUER}{path}"), "{k}");
    }
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        d["grant_types_supported"],
        serde_json::json!(["authorization_code"])
    );
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post"])
    );
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256"])
    );
    assert_eq!(d["backchannel_logout_supported"], true);
    assert_eq!(d["backchannel_logout_session_supported"], true);
    for claim in ["sub", "org", "groups", "email", "sid", "department"] {
        assert!(
            d["claims_supported"]
                .as_array()
                .unwrap()
                .contains(&claim.into()),
            "{claim}"
        );
    }

    let jwks = body_json(&env.call(event("GET", "/oauth2/jwks", &[], None)).await);
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(key["x"].as_str().unwrap())
            .unwrap()
            .len(),
        32
    );
    assert_eq!(key["kid"], signing_key().await);
    let wrong = env.call(event("POST", "/oauth2/jwks", &[], None)).await;
    assert_eq!(wrong.status(), 405);
    assert_eq!(header(&wrong, "allow"), "GET");
}

#[tokio::test]
async fn the_code_flow_issues_a_kms_signed_id_token_and_userinfo_reads_claims_live() {
    let env = env().await;
    let code = env.code().await;
    let resp = env.redeem(&code).await;
    assert_eq!(resp.status(), 200, "{}", body_text(&resp));
    assert_eq!(header(&resp, "cache-control"), "no-store");
    let tokens = body_json(&resp);
    assert_eq!(tokens["token_type"], "Bearer");
    let now = env.clock.load(Ordering::SeqCst);
    assert_eq!(tokens["expires_in"], 86_400);
    let jwks = body_json(&env.call(event("GET", "/oauth2/jwks", &[], None)).await);
    let c = verified_claims(
        tokens["id_token"].as_str().unwrap(),
        &jwks,
        &env.client_id,
        ISSUER,
    );
    assert_eq!(c["sub"], env.user_id.as_str());
    assert_eq!(c["nonce"], "n-1");
    assert_eq!(c["exp"], now + 86_400, "the session's end");
    assert_eq!(c["auth_time"], now);
    assert_eq!(c["org"], env.org.org.as_str());
    assert_eq!(c["groups"], serde_json::json!(["Engineers"]));
    assert_eq!(c["email"], "ada@example.com");
    assert_eq!(c["email_verified"], false);
    assert_eq!(
        c["given_name"], "Ada",
        "synced from the assertion at sign-in"
    );
    assert_eq!(c["title"], "Analyst");
    assert_eq!(c["department"], "Analytical Engines");
    assert!(c["sid"].as_str().is_some_and(|s| s.len() == 32));

    let access = tokens["access_token"].as_str().unwrap();
    assert!(!access.contains(&TokenHash::of(access).into_string()));
    let info = env.userinfo(access).await;
    assert_eq!(info.status(), 200, "{}", body_text(&info));
    let info = body_json(&info);
    assert_eq!(info["sub"], env.user_id.as_str());
    assert_eq!(info["groups"], serde_json::json!(["Engineers"]));

    // Okta deactivates the user over SCIM: userinfo answers 401 at once, and a back-channel
    // logout for this session is queued.
    let patch = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "value": { "active": false } }]
    });
    let bearer = format!("Bearer {}", env.scim_token.expose());
    let scim = env
        .call(event(
            "PATCH",
            &format!("/orgs/{}/scim/v2/Users/{}", env.org.org, env.user_id),
            &[
                ("authorization", &bearer),
                ("content-type", "application/scim+json"),
            ],
            Some(&patch.to_string()),
        ))
        .await;
    assert_eq!(scim.status(), 200, "{}", body_text(&scim));
    let denied = env.userinfo(access).await;
    assert_eq!(denied.status(), 401);
    assert_eq!(
        header(&denied, "www-authenticate"),
        r#"Bearer error="invalid_token""#
    );
    let key = format!(
        "ORG#{}#BCL#{}",
        env.org.org,
        TokenHash::of(access).into_string()
    );
    let notice = env
        .app
        .store
        .claim_logout(&key, now)
        .await
        .unwrap()
        .expect("a queued notice");
    assert_eq!(notice.sid, c["sid"].as_str().unwrap());
    assert_eq!(notice.client_id, env.client_id);
    assert_eq!(notice.issuer, ISSUER);
    assert!(
        env.app
            .store
            .claim_logout(&key, now)
            .await
            .unwrap()
            .is_none(),
        "claimed once"
    );
}

#[tokio::test]
async fn authorization_errors_go_to_a_page_or_back_to_the_registered_uri_per_rfc_6749() {
    let env = env().await;
    // Unknown client, unregistered redirect_uri: a page, never a redirect there.
    for change in [
        ("client_id", "app_00000000000000000000000000000000"),
        ("client_id", "nonsense"),
        ("redirect_uri", "https://evil.example.com/callback"),
        ("redirect_uri", "https://app.example.com/callback/"),
        ("redirect_uri", ""),
    ] {
        let resp = env.authorize(&env.authorize_query(&[change])).await;
        assert_eq!(resp.status(), 400, "{change:?}");
        assert_eq!(header(&resp, "location"), "", "{change:?}");
        assert!(
            body_text(&resp).contains("error: invalid_request"),
            "{change:?}"
        );
    }
    // Everything else: a 303 to the registered URI with `error` and `state`.
    let public = env.public_client_id.clone();
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("scope", "email profile")], "invalid_scope"),
        (&[("response_type", "token")], "unsupported_response_type"),
        (&[("organization", "no-such-org")], "invalid_request"),
        (&[("organization", "")], "invalid_request"),
        (&[("code_challenge_method", "plain")], "invalid_request"),
        (
            &[
                ("client_id", public.as_str()),
                ("code_challenge", ""),
                ("code_challenge_method", ""),
            ],
            "invalid_request",
        ),
    ];
    for (changes, want) in cases {
        let resp = env.authorize(&env.authorize_query(changes)).await;
        assert_eq!(resp.status(), 303, "{changes:?}: {}", body_text(&resp));
        let location = header(&resp, "location");
        assert!(location.starts_with(CALLBACK), "{location}");
        assert_eq!(
            query_of(&location, "error").as_deref(),
            Some(want),
            "{changes:?}"
        );
        assert_eq!(query_of(&location, "state").as_deref(), Some("st-1"));
    }
    // A repeated parameter is refused before anything is trusted (RFC 6749 §3.1).
    let q = format!("{}&state=again", env.authorize_query(&[]));
    assert_eq!(env.authorize(&q).await.status(), 400);
    // The public client with PKCE starts its SAML login like anyone.
    let q = env.authorize_query(&[("client_id", public.as_str())]);
    assert_eq!(env.authorize(&q).await.status(), 302);
}

#[tokio::test]
async fn token_errors_wrong_secret_is_401_and_a_wrong_verifier_is_invalid_grant() {
    let env = env().await;
    let code = env.code().await;
    let (id, secret) = (env.client_id.as_str(), env.secret.as_str());
    let pairs = |verifier: &'static str,
                 redirect: &'static str,
                 code: &str|
     -> Vec<(&'static str, String)> {
        vec![
            ("grant_type", "authorization_code".into()),
            ("redirect_uri", redirect.into()),
            ("code_verifier", verifier.into()),
            ("code", code.into()),
        ]
    };
    let borrowed = |v: &[(&'static str, String)]| -> Vec<(&'static str, String)> { v.to_vec() };
    async fn send(env: &Env, v: &[(&'static str, String)], basic: Option<(&str, &str)>) -> Resp {
        let refs: Vec<(&str, &str)> = v.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.token(&refs, basic).await
    }
    let good = pairs(VERIFIER, CALLBACK, &code);
    let resp = send(&env, &good, Some((id, "secret_wrong"))).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(body_json(&resp)["error"], "invalid_client");
    assert!(header(&resp, "www-authenticate").starts_with("Basic"));
    let resp = send(&env, &good, None).await;
    assert_eq!(resp.status(), 401, "no client authentication");
    assert_eq!(body_json(&resp)["error"], "invalid_client");

    let other = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX";
    for (p, want) in [
        (pairs(other, CALLBACK, &code), "invalid_grant"),
        (
            pairs(VERIFIER, "https://app.example.com/other", &code),
            "invalid_grant",
        ),
        (pairs(VERIFIER, CALLBACK, "acme.idoidc0.x"), "invalid_grant"),
        (
            vec![("grant_type", "client_credentials".to_string())],
            "unsupported_grant_type",
        ),
    ] {
        let resp = send(&env, &p, Some((id, secret))).await;
        assert_eq!(resp.status(), 400, "{p:?}");
        assert_eq!(body_json(&resp)["error"], want, "{p:?}");
    }
    // client_secret_post works as well as basic; and codes die after 60 seconds.
    let mut post = borrowed(&good);
    post.extend([
        ("client_id", id.to_string()),
        ("client_secret", secret.to_string()),
    ]);
    env.clock.fetch_add(60, Ordering::SeqCst);
    let resp = send(&env, &post, None).await;
    assert_eq!(body_json(&resp)["error"], "invalid_grant", "expired");
    env.clock.fetch_sub(60, Ordering::SeqCst);
    let resp = send(&env, &post, None).await;
    assert_eq!(resp.status(), 200, "{}", body_text(&resp));
}

#[tokio::test]
async fn a_code_used_twice_is_refused_and_revokes_the_tokens_it_gave() {
    let env = env().await;
    let code = env.code().await;
    let first = body_json(&env.redeem(&code).await);
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(env.userinfo(access).await.status(), 200);
    let again = env.redeem(&code).await;
    assert_eq!(again.status(), 400);
    assert_eq!(body_json(&again)["error"], "invalid_grant");
    assert_eq!(
        env.userinfo(access).await.status(),
        401,
        "revoked (RFC 6749 §4.1.2)"
    );
}

#[tokio::test]
async fn rp_initiated_logout_ends_the_session_and_returns_to_a_registered_uri_with_state() {
    let env = env().await;
    let tokens = body_json(&env.redeem(&env.code().await).await);
    let (id_token, access) = (
        tokens["id_token"].as_str().unwrap(),
        tokens["access_token"].as_str().unwrap(),
    );
    // Forged or foreign hints, unregistered targets: a page, no redirect.
    // A changed payload (someone else's sub) under the original signature.
    let parts: Vec<&str> = id_token.split('.').collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = "someone-else".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    for q in [
        form(&[
            ("id_token_hint", &forged),
            ("post_logout_redirect_uri", AFTER_LOGOUT),
        ]),
        form(&[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", "https://evil.example.com/"),
        ]),
    ] {
        let resp = env
            .call(event("GET", &format!("/oauth2/logout?{q}"), &[], None))
            .await;
        assert_eq!(resp.status(), 400, "{q}");
        assert_eq!(header(&resp, "location"), "");
    }
    assert_eq!(
        env.userinfo(access).await.status(),
        200,
        "nothing ended yet"
    );
    let q = form(&[
        ("id_token_hint", id_token),
        ("post_logout_redirect_uri", AFTER_LOGOUT),
        ("state", "bye-1"),
    ]);
    let resp = env
        .call(event("GET", &format!("/oauth2/logout?{q}"), &[], None))
        .await;
    assert_eq!(resp.status(), 303, "{}", body_text(&resp));
    assert_eq!(
        header(&resp, "location"),
        format!("{AFTER_LOGOUT}?state=bye-1")
    );
    assert_eq!(env.userinfo(access).await.status(), 401);
    let key = format!(
        "ORG#{}#BCL#{}",
        env.org.org,
        TokenHash::of(access).into_string()
    );
    assert!(env
        .app
        .store
        .claim_logout(&key, env.app.now())
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn a_sign_in_and_a_token_request_cost_counted_round_trips_and_one_kms_call() {
    let env = env().await;
    // Warm: the JWKS (GetPublicKey, once per warm Lambda) and one full flow.
    env.call(event("GET", "/oauth2/jwks", &[], None)).await;
    env.redeem(&env.code().await).await;
    env.db.take();
    env.kms.take();

    let auth = env.authorize(&env.authorize_query(&[])).await;
    let authorize_trips = env.db.take();
    let back = env.okta_answers(&auth).await;
    let acs_trips = env.db.take();
    let code = query_of(&header(&back, "location"), "code").unwrap();
    let kms_before_token = env.kms.take();
    let tokens = body_json(&env.redeem(&code).await);
    let token_trips = env.db.take();
    let token_kms = env.kms.take();
    env.userinfo(tokens["access_token"].as_str().unwrap()).await;
    let userinfo_trips = env.db.take();
    println!(
        "round trips: authorize {authorize_trips}, ACS {acs_trips}, token {token_trips}, userinfo {userinfo_trips}; KMS calls: sign-in {kms_before_token}, token {token_kms}"
    );
    // authorize: client, org, authorization request, AuthnRequest ID.
    assert_eq!(authorize_trips, 4);
    // ACS: org (never cached on the ACS), user, sign-in transaction, code.
    assert_eq!(acs_trips, 4);
    // token: client, authorization request, user, memberships, groups, redeem transaction.
    assert_eq!(token_trips, 6);
    // userinfo: grant, user, memberships, groups.
    assert_eq!(userinfo_trips, 4);
    assert_eq!((kms_before_token, token_kms), (0, 1));
    let _ = &env.user_id;
}

#[tokio::test]
async fn app_registration_refuses_unsafe_uris_and_shows_the_secret_only_once() {
    use ssoctl::apps::{create_app, delete_app, list_apps, rotate_secret, show_app, CreateApp};
    let env = env().await;
    let store = &env.app.store;
    for bad in [
        "http://app.example.com/cb",
        "https://app.example.com/cb#frag",
        "https://user:pw@app.example.com/cb",
        "app.example.com/cb",
    ] {
        let r = create_app(
            store,
            CreateApp {
                name: "x",
                redirect_uris: &[bad.to_string()],
                post_logout_redirect_uris: &[],
                backchannel_logout_uri: None,
                public: false,
            },
            1,
        )
        .await;
        assert!(r.is_err(), "{bad}");
    }
    let shown = show_app(store, &env.client_id).await.unwrap();
    assert!(shown.get("client_secret").is_none());
    assert_eq!(shown["redirect_uris"], serde_json::json!([CALLBACK]));
    let listed = list_apps(store).await.unwrap();
    assert!(listed["apps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["client_id"] == env.client_id.as_str() && a.get("client_secret").is_none()));
    // A rotated secret replaces the old one at once.
    let rotated = rotate_secret(store, &env.client_id, 2).await.unwrap();
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, env.secret);
    let code = env.code().await;
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let old = env.token(&pairs, Some((&env.client_id, &env.secret))).await;
    assert_eq!(old.status(), 401);
    let new = env.token(&pairs, Some((&env.client_id, new_secret))).await;
    assert_eq!(new.status(), 200, "{}", body_text(&new));
    assert!(
        rotate_secret(store, &env.public_client_id, 2)
            .await
            .is_err(),
        "public: no secret"
    );
    delete_app(store, &env.client_id).await.unwrap();
    assert!(show_app(store, &env.client_id).await.is_err());
    let resp = env.authorize(&env.authorize_query(&[])).await;
    assert_eq!(resp.status(), 400, "a deleted app is an unknown client");
}

#[tokio::test]
async fn admin_sign_out_and_scim_deletion_end_grants_and_queue_their_back_channel_logouts() {
    let env = env().await;
    let notice_key = |access: &str| {
        format!(
            "ORG#{}#BCL#{}",
            env.org.org,
            TokenHash::of(access).into_string()
        )
    };
    let token = |resp: Resp| async move {
        body_json(&resp)["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first = token(env.redeem(&env.code().await).await).await;
    let second = token(env.redeem(&env.code().await).await).await;
    let out = ssoctl::apps::sign_out_user(&env.app.store, &env.org.org, &env.user_id)
        .await
        .unwrap();
    assert_eq!(out["sessions_ended"], 4, "two browser sessions, two grants");
    for access in [&first, &second] {
        assert_eq!(env.userinfo(access).await.status(), 401);
        let notice = env
            .app
            .store
            .claim_logout(&notice_key(access), env.app.now())
            .await
            .unwrap();
        assert_eq!(notice.expect("queued").user_id, env.user_id);
    }

    let third = token(env.redeem(&env.code().await).await).await;
    let bearer = format!("Bearer {}", env.scim_token.expose());
    let deleted = env
        .call(event(
            "DELETE",
            &format!("/orgs/{}/scim/v2/Users/{}", env.org.org, env.user_id),
            &[("authorization", &bearer)],
            None,
        ))
        .await;
    assert_eq!(deleted.status(), 204, "{}", body_text(&deleted));
    assert_eq!(env.userinfo(&third).await.status(), 401);
    assert!(env
        .app
        .store
        .claim_logout(&notice_key(&third), env.app.now())
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn the_back_channel_functions_policy_allows_every_call_a_delivery_makes() {
    let mut env = env().await;
    let redeemed = env.redeem(&env.code().await).await;
    let access = body_json(&redeemed)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    ssoctl::apps::sign_out_user(&env.app.store, &env.org.org, &env.user_id)
        .await
        .unwrap();
    let key = format!(
        "ORG#{}#BCL#{}",
        env.org.org,
        TokenHash::of(&access).into_string()
    );
    env.db.take_operations();
    env.kms.take_operations();

    // First with a signing key KMS does not have: the claim is given back (release path) ...
    let signer = std::mem::replace(
        &mut env.app.signer,
        Signer::new(Some("alias/no-such-key".into()), None)
            .with_client(shared::oidc::jwt::kms_client().await),
    );
    let failed = shared::oidc::backchannel::deliver(&env.app, &key).await;
    assert!(failed.is_err(), "a KMS failure fails the delivery");
    // ... then with the real key: claimed again, signed, POSTed (the app's host does not resolve
    // here: the outcome is a give-up after the bounded retries), and completed.
    env.app.signer = signer;
    let delivered = shared::oidc::backchannel::deliver(&env.app, &key)
        .await
        .unwrap();
    assert!(
        delivered.is_some(),
        "the given-back notice is claimed again"
    );

    let used: Vec<String> = env
        .db
        .take_operations()
        .into_iter()
        .map(|op| format!("dynamodb:{op}"))
        .chain(
            env.kms
                .take_operations()
                .into_iter()
                .map(|op| format!("kms:{op}")),
        )
        .collect();
    assert!(
        used.contains(&"kms:Sign".to_string()) && used.len() >= 4,
        "claim, app lookup, release, sign, complete: {used:?}"
    );
    let allowed = crate::packaging::allowed_actions("OidcBackchannelFunction");
    for action in &used {
        assert!(
            allowed.contains(action),
            "{action} is not in OidcBackchannelFunction's policy {allowed:?}"
        );
    }
}
