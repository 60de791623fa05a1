//! The contract of issue 11 end to end, as the SaaS app would live it: the local stack that
//! `infra/run-local` starts, driven over HTTP by the `openidconnect` crate (a client library this
//! project did not write), the test IdP standing in for Okta, an app server of our own receiving
//! the back-channel logout, whose token is checked with the `jsonwebtoken` crate.

use std::process::Command;
use std::time::Duration;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use shared::org::{IdpConfig, Org, Provisioning};
use shared::saml::test_idp::{encode, idp_certificate, Spec, IDP_ENTITY_ID};
use shared::store::{DynamoStore, GroupStore, NewUser, OrgStore, UserStore};
use shared::tokens::Secret;

use crate::oidc::{query_of, verified_claims};
use crate::support::{local_stack, require_local_dynamodb, unique_org};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The app's back-channel logout endpoint: answers 200 and hands each body to the test.
async fn app_server() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use http_body_util::{BodyExt, Full};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let tx = tx.clone();
                        async move {
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let _ = tx.send(String::from_utf8_lossy(&body).into_owned());
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                                bytes::Bytes::new(),
                            )))
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), rx)
}

#[tokio::test]
async fn an_app_using_the_openidconnect_crate_signs_in_and_is_logged_out_by_back_channel_when_okta_deactivates_the_user(
) {
    require_local_dynamodb();
    let table = format!("sso-oidc-e2e-{}", std::process::id());
    let (base, _stack) = local_stack(&table, &unique_org("demo"));
    let (app_url, mut logouts) = app_server().await;

    // The customer org (its Okta is the test IdP), a user Okta pushed, one group.
    let store = DynamoStore::new(shared::app::dynamodb_client().await, table.clone());
    let scim_token = Secret::generate("scim");
    let mut org = Org::new(&unique_org("e2e"), &base, now());
    org.provisioning = Provisioning::Scim;
    org.scim_token_hash = Some(scim_token.hash().into_string());
    org.idp = Some(IdpConfig {
        entity_id: IDP_ENTITY_ID.into(),
        sso_url: Some("https://acme.okta.com/app/acme_app/exk1/sso/saml".into()),
        certificates: vec![idp_certificate()],
    });
    store.create_org(&org).await.unwrap();
    let user = store
        .create_user(
            &org.org,
            NewUser {
                user_name: "ada@example.com".into(),
                external_id: None,
                active: true,
                attributes: serde_json::json!({}),
            },
            now(),
        )
        .await
        .unwrap();
    let group = store
        .create_group(&org.org, "Engineers", None, now())
        .await
        .unwrap();
    store
        .add_members(&org.org, &group.id, std::slice::from_ref(&user.id), now())
        .await
        .unwrap();

    // The app is registered with the CLI, as docs/app-integration.md says.
    let callback = format!("{app_url}/callback");
    let out = Command::new(env!("CARGO_BIN_EXE_ssoctl"))
        .args([
            "app",
            "create",
            "SaaS app",
            "--redirect-uri",
            &callback,
            "--backchannel-logout-uri",
            &format!("{app_url}/backchannel"),
        ])
        .env("TABLE_NAME", &table)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let client_id = created["client_id"].as_str().unwrap().to_string();
    let client_secret = created["client_secret"].as_str().unwrap().to_string();

    // Discovery and the client, by the library.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(base.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.clone()),
        Some(ClientSecret::new(client_secret)),
    )
    .set_redirect_uri(RedirectUrl::new(callback.clone()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("groups".into()))
        .add_extra_param("organization", org.org.clone())
        .set_pkce_challenge(challenge)
        .url();

    // The browser: to Okta (the test IdP answers the AuthnRequest), then to the ACS.
    let to_okta = http.get(authorize_url).send().await.unwrap();
    assert_eq!(to_okta.status(), 302);
    let location = to_okta.headers()["location"].to_str().unwrap().to_string();
    let cookies: Vec<String> = to_okta
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_string))
        .collect();
    let request_id = {
        use base64::Engine;
        use std::io::Read;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(query_of(&location, "SAMLRequest").unwrap())
            .unwrap();
        let mut xml = String::new();
        flate2::read::DeflateDecoder::new(&raw[..])
            .read_to_string(&mut xml)
            .unwrap();
        roxmltree::Document::parse(&xml)
            .unwrap()
            .root_element()
            .attribute("ID")
            .unwrap()
            .to_string()
    };
    let mut spec = Spec::okta("ada@example.com");
    spec.destination = Some(org.acs_url());
    spec.recipient = org.acs_url();
    spec.audience = org.entity_id();
    spec.assertion_id = format!("idasrt-e2e-{}", shared::tokens::random_hex(8));
    spec.in_response_to = Some(request_id);
    spec.issued_at = now();
    spec.not_before = spec.issued_at - 300;
    spec.not_on_or_after = spec.issued_at + 300;
    spec.subject_not_on_or_after = spec.issued_at + 300;
    let mut acs = http
        .post(org.acs_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("SAMLResponse", &encode(&spec.build()))
                .finish(),
        );
    if !cookies.is_empty() {
        acs = acs.header("cookie", cookies.join("; "));
    }
    let back = acs.send().await.unwrap();
    assert_eq!(back.status(), 303);
    let back_to_app = back.headers()["location"].to_str().unwrap().to_string();
    assert!(back_to_app.starts_with(&callback), "{back_to_app}");
    assert_eq!(
        query_of(&back_to_app, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    let code = query_of(&back_to_app, "code").unwrap();

    // The app's backend trades the code and checks the ID token against the JWKS.
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let id_verifier = client
        .id_token_verifier()
        .set_allowed_algs([CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("a valid ID token");
    assert_eq!(claims.subject().as_str(), user.id);
    assert_eq!(claims.email().map(|e| e.as_str()), Some("ada@example.com"));
    let jwks: serde_json::Value = serde_json::from_str(
        &http
            .get(format!("{base}/oauth2/jwks"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let raw = verified_claims(&id_token.to_string(), &jwks, &client_id, &base);
    assert_eq!(raw["org"], org.org.as_str());
    assert_eq!(raw["groups"], serde_json::json!(["Engineers"]));

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.email().map(|e| e.as_str()), Some("ada@example.com"));

    // Okta deactivates the user over SCIM.
    let patch = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "value": { "active": false } }]
    });
    let scim = http
        .patch(format!("{}/Users/{}", org.scim_base_url(), user.id))
        .bearer_auth(scim_token.expose())
        .header("content-type", "application/scim+json")
        .body(patch.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(scim.status(), 200);

    // Within seconds the app receives a logout token for that session, signed by the provider.
    let body = tokio::time::timeout(Duration::from_secs(15), logouts.recv())
        .await
        .expect("a back-channel logout within 15 seconds")
        .unwrap();
    let logout_token = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .expect("logout_token in the body");
    let header = jsonwebtoken::decode_header(&logout_token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let lt = verified_claims(&logout_token, &jwks, &client_id, &base);
    assert_eq!(lt["sub"], user.id.as_str());
    assert_eq!(lt["sid"], raw["sid"]);
    assert!(lt["jti"].is_string());
    assert_eq!(
        lt["events"],
        serde_json::json!({ "http://schemas.openid.net/event/backchannel-logout": {} })
    );
    assert!(
        lt.get("nonce").is_none(),
        "a logout token carries no nonce (§2.4)"
    );

    // And userinfo refuses the access token.
    let denied = http
        .get(format!("{base}/oauth2/userinfo"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
}
