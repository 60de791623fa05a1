//! SCIM-side hardening (issue 9, findings 4, 5, 9, 11): one userName rule for SCIM, filters, index
//! keys and SAML sign-in; bounded work per request; If-Match on group deletes; sizes that fit
//! DynamoDB keys. API Gateway HTTP API events through `App::handle`: on the in-memory store, and
//! against moto where DynamoDB's limits or read counts are the point (`Scim::on_dynamo`).

use std::sync::atomic::Ordering;

use serde_json::{json, Value};
use shared::org::{IdpConfig, Org, Provisioning, Reactivation};
use shared::saml::test_idp::{encode, idp_certificate, Spec, IDP_ENTITY_ID, ISSUED_AT};
use shared::scim::user_name::UserName;
use shared::store::{GroupStore, NewUser, OrgStore, StoreError, UserStore};
use shared::App;

use crate::scim::{filter_path, okta_user, Scim, GROUP, PATCH_OP};
use crate::support::{body_text, config, event, store, unique_org};

const KELVIN_KELLY: &str = "\u{212A}elly@example.com";

async fn count_by_user_name(s: &Scim, name: &str) -> u64 {
    let r = s
        .call(
            "GET",
            &filter_path("Users", &format!("userName eq {}", json!(name)), ""),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["totalResults"].as_u64().unwrap()
}

#[tokio::test]
async fn a_kelvin_sign_user_name_is_refused_and_neither_collides_with_nor_finds_kelly() {
    let s = Scim::new(Reactivation::Restore).await;
    let kelly = s.create_user("kelly@example.com").await;

    // Today's main folds U+212A to `k`: 409 against kelly, and the filter finds her.
    let r = s
        .call("POST", "/Users", Some(okta_user(KELVIN_KELLY)))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["scimType"], "invalidValue");
    assert_eq!(count_by_user_name(&s, KELVIN_KELLY).await, 0);
    // ASCII case still folds.
    assert_eq!(count_by_user_name(&s, "KELLY@example.COM").await, 1);

    // Renaming someone to the look-alike is refused too, and changes nothing.
    let path = format!("/Users/{}", kelly["id"].as_str().unwrap());
    let rename = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "userName", "value": KELVIN_KELLY}]});
    let r = s.call("PATCH", &path, Some(rename)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let now = s.call("GET", &path, None).await;
    assert_eq!(now.body["userName"], "kelly@example.com");
    assert_eq!(now.body["meta"]["version"], kelly["meta"]["version"]);
}

#[tokio::test]
async fn user_names_that_nfkc_or_trimming_would_change_are_refused_with_400_and_not_stored() {
    let s = Scim::new(Reactivation::Restore).await;
    for name in [
        "\u{FF2B}ara@example.com",          // FULLWIDTH LATIN CAPITAL K
        "o\u{FB01}ce@example.com",          // LATIN SMALL LIGATURE FI
        "\u{3000}nina@example.com\u{2028}", // today: trimmed to nina@example.com
        " nina@example.com",
        "ni\u{200B}na@example.com", // ZERO WIDTH SPACE
    ] {
        let r = s.call("POST", "/Users", Some(okta_user(name))).await;
        assert_eq!(r.status, 400, "{name:?}: {}", r.body);
        assert_eq!(r.body["scimType"], "invalidValue", "{name:?}");
    }
    assert_eq!(count_by_user_name(&s, "nina@example.com").await, 0);
    let r = s.call("GET", "/Users", None).await;
    assert_eq!(r.body["totalResults"], 0, "nothing was written: {}", r.body);
}

#[tokio::test]
async fn oversized_user_names_external_ids_display_names_and_ids_are_4xx_not_500() {
    // DynamoDB's key-size limits are what a 500 would come from.
    let s = Scim::on_dynamo(Reactivation::Restore).await;
    let big = "a".repeat(2048);
    let r = s
        .call("POST", "/Users", Some(okta_user(&format!("{big}@x"))))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["scimType"], "invalidValue");

    let mut body = okta_user("ext@example.com");
    body["externalId"] = json!(big);
    let r = s.call("POST", "/Users", Some(body)).await;
    assert_eq!(r.status, 400, "{}", r.body);

    let r = s
        .call(
            "POST",
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "g".repeat(2048)})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["scimType"], "invalidValue");

    // Looking such values up finds nothing instead of failing on the key size.
    for f in [
        format!("userName eq \"{big}\""),
        format!("externalId eq \"{big}\""),
        format!("id eq \"{big}\""),
    ] {
        let r = s.call("GET", &filter_path("Users", &f, ""), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["totalResults"], 0);
    }
    let r = s
        .call(
            "GET",
            &filter_path(
                "Groups",
                &format!("displayName eq \"{}\"", "g".repeat(2048)),
                "",
            ),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        s.call("GET", &format!("/Users/{big}"), None).await.status,
        404
    );
    assert_eq!(
        s.call("DELETE", &format!("/Groups/{big}"), None)
            .await
            .status,
        404
    );
}

fn emails(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"value": format!("e{i}@example.com"), "type": "other"}))
        .collect()
}

#[tokio::test]
async fn a_patch_with_1001_values_is_400_too_many_and_writes_nothing() {
    let s = Scim::new(Reactivation::Restore).await;
    let u = s.create_user("many@example.com").await;
    let path = format!("/Users/{}", u["id"].as_str().unwrap());
    let op = |n: usize| json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "emails", "value": emails(n)}]});

    let r = s.call("PATCH", &path, Some(op(1001))).await;
    assert_eq!(r.status, 400, "{}", r.body["detail"]);
    assert_eq!(r.body["scimType"], "tooMany");
    let now = s.call("GET", &path, None).await.body;
    assert_eq!(now["meta"]["version"], u["meta"]["version"]);
    assert_eq!(now["emails"], u["emails"]);

    // 1,000 values, each sent twice in the one operation: accepted, each stored once.
    let mut twice = emails(500);
    twice.extend(emails(500));
    let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "emails", "value": twice}]});
    let r = s.call("PATCH", &path, Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["emails"].as_array().unwrap().len(), 1 + 500);
}

fn members(n: usize, prefix: &str) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"value": format!("{prefix}{i}")}))
        .collect()
}

#[tokio::test]
async fn a_group_with_1001_members_is_400_too_many_and_nothing_is_written() {
    let s = Scim::new(Reactivation::Restore).await;
    let r = s
        .call(
            "POST",
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Huge", "members": members(1001, "u")})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["scimType"], "tooMany");
    let found = s
        .call(
            "GET",
            &filter_path("Groups", r#"displayName eq "Huge""#, ""),
            None,
        )
        .await;
    assert_eq!(found.body["totalResults"], 0);

    let u = s.create_user("member@example.com").await;
    let uid = u["id"].as_str().unwrap();
    let g = s.create_group("Eng", &[uid]).await;
    let path = format!("/Groups/{}", g["id"].as_str().unwrap());
    let add = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": members(1001, "u")}]});
    let r = s.call("PATCH", &path, Some(add)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["scimType"], "tooMany");
    let ms = s.call("GET", &path, None).await.body["members"].clone();
    assert_eq!(ms.as_array().map(Vec::len), Some(1), "{ms}");
    assert_eq!(ms[0]["value"], uid);

    // Unknown members are named, but only a few: the 400 does not echo the request.
    let add = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": members(300, "nobody-")}]});
    let r = s.call("PATCH", &path, Some(add)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.ends_with(" and 290 more"), "{detail}");
    assert!(detail.len() < 400, "{detail}");
}

#[tokio::test]
async fn deleting_a_group_with_a_stale_if_match_is_412_and_with_the_current_one_204() {
    let s = Scim::new(Reactivation::Restore).await;
    let g = s.create_group("Ops", &[]).await;
    let path = format!("/Groups/{}", g["id"].as_str().unwrap());
    let v1 = g["meta"]["version"].as_str().unwrap().to_string();
    let rename = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "Ops 2"}]});
    let r = s.call("PATCH", &path, Some(rename)).await;
    assert_eq!(r.status, 204);
    let v2 = r.headers["etag"].to_str().unwrap().to_string();
    assert_ne!(v1, v2);

    let r = s
        .call_with("DELETE", &path, None, &[("if-match", &v1)])
        .await;
    assert_eq!(r.status, 412, "{}", r.body);
    assert_eq!(s.call("GET", &path, None).await.status, 200, "still there");

    let r = s
        .call_with("DELETE", &path, None, &[("if-match", &v2)])
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(s.call("GET", &path, None).await.status, 404);
}

#[tokio::test]
async fn a_start_index_past_the_end_is_an_empty_page_without_scanning_the_users() {
    // Counts DynamoDB reads.
    let s = Scim::on_dynamo(Reactivation::Restore).await;
    for i in 0..5 {
        s.create_user(&format!("p{i}@example.com")).await;
    }
    let (_, read_before, _) = s.app.store.stats().snapshot();
    let r = s
        .call("GET", "/Users?startIndex=2000000000&count=10", None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 5);
    assert_eq!(r.body["Resources"], json!([]));
    let (_, read_after, _) = s.app.store.stats().snapshot();
    // The org and the user counter: no skip-scan over the 5 users (today: 2 + 5).
    assert!(
        read_after - read_before <= 2,
        "{}",
        read_after - read_before
    );
    let r = s
        .call("GET", "/Users?startIndex=99999999999999999999", None)
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["scimType"], "invalidValue");
}

/// An org whose IdP is the test IdP, provisioning on first sign-in (so a NameID that found
/// nobody would create a user), with the clock at the test IdP's issue instant.
async fn saml_org() -> (App<shared::store::MemoryStore>, Org) {
    let clock = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(ISSUED_AT));
    let c = clock.clone();
    let app = App::new(config(), shared::store::MemoryStore::new())
        .with_clock(move || c.load(Ordering::SeqCst));
    let mut org = Org::new(&unique_org("kelvin"), "https://sso.example.com", 1);
    org.provisioning = Provisioning::FirstLogin;
    org.allow_idp_initiated = true;
    org.idp = Some(IdpConfig {
        entity_id: IDP_ENTITY_ID.into(),
        sso_url: None,
        certificates: vec![idp_certificate()],
    });
    app.store.create_org(&org).await.unwrap();
    (app, org)
}

async fn sign_in(
    app: &App<shared::store::MemoryStore>,
    org: &Org,
    name_id: &str,
    assertion_id: &str,
) -> (u16, String) {
    let mut spec = Spec::okta(name_id);
    spec.destination = Some(org.acs_url());
    spec.recipient = org.acs_url();
    spec.audience = org.entity_id();
    spec.assertion_id = assertion_id.into();
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("SAMLResponse", &encode(&spec.build()));
    let req = event(
        "POST",
        &format!("/orgs/{}/saml/acs", org.org),
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(&form.finish()),
    );
    let Ok(resp) = app.handle(None, req).await;
    (resp.status().as_u16(), body_text(&resp))
}

#[tokio::test]
async fn a_kelvin_sign_name_id_does_not_sign_in_as_kelly_nor_create_a_user() {
    let (app, org) = saml_org().await;
    let (status, page) = sign_in(&app, &org, "kelly@example.com", "idkelvin-1").await;
    assert!(status < 400, "kelly herself signs in: {status} {page}");
    let users = || app.store.list_users_at(&org.org, 1, 10, ISSUED_AT);
    assert_eq!(users().await.unwrap().total, 1);

    for (i, name) in [
        KELVIN_KELLY,
        "\u{3000}kelly@example.com",
        "kelly@example.com\u{2028}",
    ]
    .iter()
    .enumerate()
    {
        let (status, page) = sign_in(&app, &org, name, &format!("idkelvin-x{i}")).await;
        assert_eq!(status, 400, "{name:?}: {page}");
        assert!(page.contains("error: invalid_name_id"), "{name:?}: {page}");
    }
    assert_eq!(
        users().await.unwrap().total,
        1,
        "no look-alike user was created"
    );
}

fn new_user(name: &str) -> NewUser {
    NewUser {
        user_name: name.into(),
        external_id: None,
        active: true,
        attributes: json!({}),
    }
}

#[tokio::test]
async fn rekeying_moves_keys_built_by_unicode_lowercasing_to_the_ascii_rule() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let store = store().await;
    let org = unique_org("rekey");
    let u = store
        .create_user(&org, new_user("\u{C5}sa@example.com"), 1)
        .await
        .unwrap();
    let g = store
        .create_group(&org, "\u{C9}quipe", None, 1)
        .await
        .unwrap();
    // Make the items look as the old rule (`to_lowercase`) wrote them.
    let (c, t, pk) = (store.client(), store.table(), format!("ORG#{org}"));
    let set_gsi1pk = |sk: String, key: String| {
        c.update_item()
            .table_name(t)
            .key("pk", A::S(pk.clone()))
            .key("sk", A::S(sk))
            .update_expression("SET gsi1pk = :k")
            .expression_attribute_values(":k", A::S(key))
            .send()
    };
    set_gsi1pk(
        format!("USER#{}", u.id),
        format!("ORG#{org}#UN#\u{E5}sa@example.com"),
    )
    .await
    .unwrap();
    set_gsi1pk(
        format!("GROUP#{}", g.id),
        format!("ORG#{org}#GN#\u{E9}quipe"),
    )
    .await
    .unwrap();
    c.delete_item()
        .table_name(t)
        .key("pk", A::S(pk.clone()))
        .key("sk", A::S("UN#\u{C5}sa@example.com".into()))
        .send()
        .await
        .unwrap();
    c.put_item()
        .table_name(t)
        .item("pk", A::S(pk.clone()))
        .item("sk", A::S("UN#\u{E5}sa@example.com".into()))
        .item("type", A::S("user_name_claim".into()))
        .item("user_id", A::S(u.id.clone()))
        .send()
        .await
        .unwrap();
    let name = UserName::parse("\u{C5}sa@example.com").unwrap();
    assert!(
        store
            .find_user_by_user_name(&org, &name)
            .await
            .unwrap()
            .is_none(),
        "an old key is invisible to the new rule"
    );
    assert!(store
        .find_groups_by_display_name(&org, "\u{C9}quipe")
        .await
        .unwrap()
        .is_empty());

    assert_eq!(store.rekey_folded_names(&org).await.unwrap(), 2);
    let found = store.find_user_by_user_name(&org, &name).await.unwrap();
    assert_eq!(found.map(|f| f.id), Some(u.id.clone()));
    let groups = store
        .find_groups_by_display_name(&org, "\u{C9}quipe")
        .await
        .unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].id, g.id);
    // The claim moved: the name is taken under its new key, and the old key holds nobody.
    assert!(matches!(
        store
            .create_user(&org, new_user("\u{C5}sa@example.com"), 2)
            .await,
        Err(StoreError::Uniqueness { .. })
    ));
    assert!(store
        .create_user(&org, new_user("\u{E5}sa@example.com"), 2)
        .await
        .is_ok());
    assert_eq!(
        store.rekey_folded_names(&org).await.unwrap(),
        0,
        "idempotent"
    );
}
