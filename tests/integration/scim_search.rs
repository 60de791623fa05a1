//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) and `POST …/.search` (§3.4.3),
//! through API Gateway events.

use serde_json::json;
use shared::org::Reactivation;

use crate::scim::{okta_user, Scim, ENTERPRISE};

const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

#[tokio::test]
async fn excluded_attributes_are_left_out_of_reads_lists_and_write_responses_but_id_stays() {
    let s = Scim::new(Reactivation::Restore).await;
    let mut body = okta_user("proj@example.com");
    body[ENTERPRISE] = json!({"department": "R&D"});
    let r = s
        .call("POST", "/Users?excludedAttributes=name", Some(body))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.get("name").is_none(), "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = s
        .call(
            "GET",
            &format!("/Users/{id}?excludedAttributes=name,id"),
            None,
        )
        .await;
    assert!(r.body.get("name").is_none());
    assert_eq!(r.body["id"], id.as_str(), "id is returned: always");
    assert_eq!(r.body["userName"], "proj@example.com");
    let r = s
        .call("GET", &format!("/Users?filter=userName%20eq%20%22proj%40example.com%22&attributes=userName,{ENTERPRISE}:department"), None)
        .await;
    let u = &r.body["Resources"][0];
    assert_eq!(u["userName"], "proj@example.com");
    assert_eq!(u[ENTERPRISE], json!({"department": "R&D"}));
    assert!(u.get("emails").is_none() && u.get("name").is_none(), "{u}");
    assert_eq!(r.body["totalResults"], 1);
}

#[tokio::test]
async fn a_malformed_projection_on_a_create_is_a_400_and_creates_nothing() {
    let s = Scim::new(Reactivation::Restore).await;
    let r = s
        .call(
            "POST",
            "/Users?attributes=userName&excludedAttributes=name",
            Some(okta_user("half@example.com")),
        )
        .await;
    assert_eq!(
        (r.status, r.body["scimType"].as_str()),
        (400, Some("invalidValue"))
    );
    let r = s
        .call(
            "GET",
            "/Users?filter=userName%20eq%20%22half%40example.com%22",
            None,
        )
        .await;
    assert_eq!(r.body["totalResults"], 0);
}

#[tokio::test]
async fn post_search_answers_as_the_get_list_on_users_groups_and_the_root() {
    let s = Scim::new(Reactivation::Restore).await;
    let u = s.create_user("searched@example.com").await;
    let uid = u["id"].as_str().unwrap();
    let g = s.create_group("Searchers", &[uid]).await;
    let r = s
        .call(
            "POST",
            "/Users/.search",
            Some(json!({"schemas": [SEARCH], "filter": "userName eq \"searched@example.com\"", "attributes": ["userName"], "startIndex": 1, "count": 10})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["id"], uid);
    assert!(r.body["Resources"][0].get("name").is_none());
    let r = s
        .call("POST", "/Groups/.search", Some(json!({"schemas": [SEARCH], "filter": "displayName eq \"Searchers\"", "excludedAttributes": ["members"]})))
        .await;
    assert_eq!(
        (r.status, r.body["totalResults"].as_u64()),
        (200, Some(1)),
        "{}",
        r.body
    );
    assert!(r.body["Resources"][0].get("members").is_none());
    // The root: both types, one list.
    let r = s
        .call(
            "POST",
            "/.search",
            Some(json!({"schemas": [SEARCH], "count": 10})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ids: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(r.body["totalResults"], 2);
    assert!(
        ids.contains(&uid) && ids.contains(&g["id"].as_str().unwrap()),
        "{ids:?}"
    );
    // Paging runs over the concatenation: the second item is the group.
    let r = s
        .call(
            "POST",
            "/.search",
            Some(json!({"schemas": [SEARCH], "startIndex": 2, "count": 1})),
        )
        .await;
    assert_eq!(r.body["Resources"][0]["id"], g["id"]);
    assert_eq!(
        (
            r.body["startIndex"].as_u64(),
            r.body["itemsPerPage"].as_u64()
        ),
        (Some(2), Some(1))
    );
    // A filter only Groups serve is answered from Groups.
    let r = s
        .call(
            "POST",
            "/.search",
            Some(json!({"schemas": [SEARCH], "filter": "displayName eq \"Searchers\""})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["totalResults"].as_u64()),
        (200, Some(1)),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn malformed_search_requests_are_scim_400s() {
    let s = Scim::new(Reactivation::Restore).await;
    for (body, scim_type) in [
        (json!({"filter": "userName eq \"a\""}), "invalidSyntax"),
        (json!({"schemas": [SEARCH], "count": "ten"}), "invalidValue"),
        (
            json!({"schemas": [SEARCH], "filter": "title pr"}),
            "invalidFilter",
        ),
        (
            json!({"schemas": [SEARCH], "attributes": [1]}),
            "invalidValue",
        ),
    ] {
        let r = s.call("POST", "/Users/.search", Some(body.clone())).await;
        assert_eq!(
            (r.status, r.body["scimType"].as_str()),
            (400, Some(scim_type)),
            "{body}"
        );
    }
    let r = s.call("GET", "/Users/.search", None).await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn group_pages_come_in_the_same_order_on_every_walk_with_integer_paging_fields() {
    let s = Scim::new(Reactivation::Restore).await;
    for i in 0..5 {
        s.create_group(&format!("walk {i}"), &[]).await;
    }
    let mut walks = Vec::new();
    for _ in 0..2 {
        let (mut start, mut ids) = (1, Vec::new());
        loop {
            let r = s
                .call("GET", &format!("/Groups?startIndex={start}&count=2"), None)
                .await;
            for k in ["totalResults", "startIndex", "itemsPerPage"] {
                assert!(r.body[k].is_u64(), "{k}: {}", r.body);
            }
            let page = r.body["Resources"].as_array().unwrap().clone();
            if page.is_empty() {
                break;
            }
            ids.extend(page.iter().map(|g| g["id"].as_str().unwrap().to_string()));
            start += page.len();
        }
        walks.push(ids);
    }
    assert_eq!(walks[0].len(), 5);
    assert_eq!(walks[0], walks[1]);
}
