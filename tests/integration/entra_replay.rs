//! Microsoft Entra ID's SCIM requests, as Microsoft documents them ("Develop and plan provisioning
//! for a SCIM endpoint" — its request/response examples — and "Known issues and resolutions with
//! SCIM 2.0 protocol compliance"), replayed over real HTTP against the local stack. Entra sends
//! the Tenant URL's query string on every request; with `?aadOptscim062020` (its spec-compliant
//! mode) it sends lowercase ops and booleans, without it the older shapes (`Replace`,
//! `"active": "False"`, member removal by a value list). Both must pass.

use std::process::Command;

use serde_json::{json, Value};

use crate::scim::{ENTERPRISE, ERROR, GROUP, PATCH_OP, USER};
use crate::support::{local_stack, require_local_dynamodb, unique_org};

struct Entra {
    http: reqwest::Client,
    base: String,
    /// The Tenant URL's query (`aadOptscim062020` or nothing), kept on every request.
    flag: &'static str,
    token: String,
}

impl Entra {
    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = if self.flag.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}{sep}{}", self.base, self.flag)
        };
        let mut req = self
            .http
            .request(method.parse().unwrap(), url)
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Accept", "application/scim+json");
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/scim+json")
                .body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let text = resp.text().await.unwrap();
        if text.is_empty() {
            return (status, Value::Null);
        }
        assert_eq!(
            ct.as_deref(),
            Some("application/scim+json"),
            "{method} {path}"
        );
        (status, serde_json::from_str(&text).unwrap())
    }

    /// The op name as this mode spells it.
    fn op(&self, op: &str) -> String {
        if self.flag.is_empty() {
            let mut c = op.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        } else {
            op.to_string()
        }
    }

    /// A boolean as this mode sends it (the old mode: the strings "True"/"False").
    fn boolean(&self, b: bool) -> Value {
        match (self.flag.is_empty(), b) {
            (true, true) => json!("True"),
            (true, false) => json!("False"),
            (false, b) => json!(b),
        }
    }
}

fn q(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Microsoft's documented create-user request (its "Create User" example).
fn entra_user(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": []
    })
}

async fn replay(flag: &'static str) {
    require_local_dynamodb();
    let table = format!("sso-entra-{}", std::process::id());
    let (base, _guard) = local_stack(&table, &unique_org("entrademo"));
    let org = unique_org("entra");
    let out = Command::new(env!("CARGO_BIN_EXE_ssoctl"))
        .args(["org", "create", &org, "--base-url", &base])
        .env("TABLE_NAME", &table)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let entra = Entra {
        http: reqwest::Client::new(),
        base: created["scim_base_url"].as_str().unwrap().to_string(),
        flag,
        token: created["scim_token"].as_str().unwrap().to_string(),
    };

    // Test Connection: a filter on a random GUID must answer 200 with an empty list.
    let guid = "7b5b4a1e-6f3f-4a8e-9a55-0d7c4c3e1f2a";
    let (st, v) = entra
        .send(
            "GET",
            &format!("/Users?filter={}", q(&format!("userName eq \"{guid}\""))),
            None,
        )
        .await;
    assert_eq!((st, v["totalResults"].as_u64()), (200, Some(0)), "{v}");
    assert_eq!(v["Resources"], json!([]));

    // Matching by externalId (Entra's default matching attribute is userName; admins pick
    // externalId too), then the create.
    let ext = format!("ext-{}", &guid[..8]);
    let (st, v) = entra
        .send(
            "GET",
            &format!("/Users?filter={}", q(&format!("externalId eq \"{ext}\""))),
            None,
        )
        .await;
    assert_eq!((st, v["totalResults"].as_u64()), (200, Some(0)));
    let (st, u) = entra
        .send(
            "POST",
            "/Users",
            Some(entra_user("Test_User_dfeef4c5@contoso.com", &ext)),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    let uid = u["id"].as_str().unwrap().to_string();
    let (st, v) = entra
        .send(
            "GET",
            &format!("/Users?filter={}", q(&format!("externalId eq \"{ext}\""))),
            None,
        )
        .await;
    assert_eq!((st, v["totalResults"].as_u64()), (200, Some(1)));
    assert_eq!(v["Resources"][0]["id"], uid.as_str());
    // A second user: the group must keep them when the first is removed.
    let (_, other) = entra
        .send(
            "POST",
            "/Users",
            Some(entra_user("Test_User_other@contoso.com", "ext-other")),
        )
        .await;
    let other_id = other["id"].as_str().unwrap().to_string();

    // Update: emails[type eq "work"].value, the manager as a plain id, and the display name.
    let (st, u) = entra
        .send(
            "PATCH",
            &format!("/Users/{uid}"),
            Some(json!({"schemas": [PATCH_OP], "Operations": [
                {"op": entra.op("replace"), "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
                {"op": entra.op("add"), "path": format!("{ENTERPRISE}:manager"), "value": other_id},
                {"op": entra.op("replace"), "path": "name.familyName", "value": "updatedFamilyName"}
            ]})),
        )
        .await;
    assert_eq!(st, 200, "{u}");
    assert_eq!(u["emails"][0]["value"], "updatedEmail@microsoft.com");
    assert_eq!(u["emails"][0]["type"], "work");
    assert_eq!(u[ENTERPRISE]["manager"]["value"], other_id.as_str());
    assert_eq!(u["name"]["familyName"], "updatedFamilyName");
    // The email filter Entra may send for matching.
    let (st, v) = entra
        .send(
            "GET",
            &format!("/Users?filter={}", q(&format!("userName eq \"Test_User_dfeef4c5@contoso.com\" and emails[type eq \"work\"].value eq \"updatedEmail@microsoft.com\""))),
            None,
        )
        .await;
    assert_eq!((st, v["totalResults"].as_u64()), (200, Some(1)), "{v}");
    // The manager as {"value": …} works the same.
    let (st, u) = entra
        .send(
            "PATCH",
            &format!("/Users/{uid}"),
            Some(json!({"schemas": [PATCH_OP], "Operations": [
                {"op": entra.op("replace"), "path": format!("{ENTERPRISE}:manager"), "value": {"value": uid}}
            ]})),
        )
        .await;
    assert_eq!(
        (st, u[ENTERPRISE]["manager"]["value"].as_str()),
        (200, Some(uid.as_str()))
    );

    // Groups: create, add both members, then remove one by a value list without a filter.
    let (st, g) = entra
        .send("POST", "/Groups", Some(json!({"schemas": [GROUP], "externalId": "8aa1a0c0", "displayName": "Group1DisplayName", "members": []})))
        .await;
    assert_eq!(st, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_string();
    let (st, _) = entra
        .send(
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(json!({"schemas": [PATCH_OP], "Operations": [
                {"op": entra.op("add"), "path": "members", "value": [{"value": uid}, {"value": other_id}]}
            ]})),
        )
        .await;
    assert!(st == 204 || st == 200, "{st}");
    let remove = if flag.is_empty() {
        json!({"op": "Remove", "path": "members", "value": [{"value": uid}]})
    } else {
        json!({"op": "remove", "path": format!("members[value eq \"{uid}\"]")})
    };
    let (st, _) = entra
        .send(
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(json!({"schemas": [PATCH_OP], "Operations": [remove]})),
        )
        .await;
    assert!(st == 204 || st == 200, "{st}");
    let (_, g) = entra.send("GET", &format!("/Groups/{gid}"), None).await;
    let members: Vec<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        members,
        vec![other_id.as_str()],
        "exactly the listed member goes"
    );
    let (st, v) = entra
        .send(
            "GET",
            &format!(
                "/Groups?excludedAttributes=members&filter={}",
                q("displayName eq \"Group1DisplayName\"")
            ),
            None,
        )
        .await;
    assert_eq!((st, v["totalResults"].as_u64()), (200, Some(1)));
    assert!(v["Resources"][0].get("members").is_none());

    // Soft delete: active false (a string in the old mode); the user stays readable.
    let (st, u) = entra
        .send(
            "PATCH",
            &format!("/Users/{uid}"),
            Some(json!({"schemas": [PATCH_OP], "Operations": [
                {"op": entra.op("replace"), "path": "active", "value": entra.boolean(false)}
            ]})),
        )
        .await;
    assert_eq!((st, u["active"].as_bool()), (200, Some(false)), "{u}");
    let (st, u) = entra.send("GET", &format!("/Users/{uid}"), None).await;
    assert_eq!((st, u["active"].as_bool()), (200, Some(false)));
    // Restored.
    let (st, u) = entra
        .send(
            "PATCH",
            &format!("/Users/{uid}"),
            Some(json!({"schemas": [PATCH_OP], "Operations": [
                {"op": entra.op("replace"), "value": {"active": entra.boolean(true)}}
            ]})),
        )
        .await;
    assert_eq!((st, u["active"].as_bool()), (200, Some(true)), "{u}");

    // An error is a SCIM error body.
    let (st, e) = entra.send("GET", "/Users/no-such-user", None).await;
    assert_eq!((st, e["schemas"][0].as_str()), (404, Some(ERROR)));

    // Hard delete, then the user is gone.
    let (st, _) = entra.send("DELETE", &format!("/Users/{uid}"), None).await;
    assert_eq!(st, 204);
    let (st, _) = entra.send("GET", &format!("/Users/{uid}"), None).await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn entra_provisioning_sequence_passes_without_the_aad_opt_scim_062020_flag() {
    replay("").await;
}

#[tokio::test]
async fn entra_provisioning_sequence_passes_with_the_aad_opt_scim_062020_flag() {
    replay("aadOptscim062020").await;
}
