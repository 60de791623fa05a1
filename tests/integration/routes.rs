//! template.yaml and the code agree: same routes, same table.

use std::collections::BTreeSet;

use shared::routes::ROUTES;
use ssoctl::template::{self, Template};

fn template() -> Template {
    Template::load(&template::default_path()).expect("template.yaml")
}

#[test]
fn the_local_routes_and_the_template_routes_are_the_same_set() {
    let local: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(p, f)| (p.to_string(), f.binary().to_string()))
        .collect();
    let deployed: BTreeSet<(String, String)> = template().routes().unwrap().into_iter().collect();
    assert_eq!(
        local, deployed,
        "left: shared::routes::ROUTES, right: template.yaml HttpApi events"
    );
}

#[test]
fn every_template_route_accepts_any_method_so_our_code_answers_405() {
    let methods = template().methods();
    assert_eq!(methods.len(), ROUTES.len());
    assert!(methods.iter().all(|m| m == "ANY"), "{methods:?}");
}

#[test]
fn the_template_table_has_the_keys_indexes_and_ttl_the_store_uses() {
    let t = template().table().unwrap();
    let key_names: Vec<_> = t
        .keys
        .iter()
        .map(|k| (k.name.as_str(), k.key_type.as_str()))
        .collect();
    assert_eq!(key_names, [("pk", "HASH"), ("sk", "RANGE")]);
    let gsis: Vec<_> = t
        .gsis
        .iter()
        .map(|g| {
            (
                g.name.as_str(),
                g.keys[0].name.as_str(),
                g.keys[1].name.as_str(),
                g.projection.as_str(),
            )
        })
        .collect();
    assert_eq!(
        gsis,
        [
            ("gsi1", "gsi1pk", "gsi1sk", "ALL"),
            ("gsi2", "gsi2pk", "gsi2sk", "ALL")
        ]
    );
    assert_eq!(t.ttl_attribute.as_deref(), Some("expires_at"));
    assert_eq!(t.billing_mode, "PAY_PER_REQUEST");
}

#[test]
fn every_variable_of_the_sam_local_env_file_is_one_the_template_declares() {
    // `sam local --env-vars` silently ignores variables the template does not declare.
    let path = template::default_path().with_file_name("infra/sam-local-env.json");
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let declared: BTreeSet<String> = template().global_env_vars().into_iter().collect();
    assert!(declared.contains("TABLE_NAME"), "{declared:?}");
    let vars = file["Parameters"].as_object().unwrap();
    assert!(vars.contains_key("DYNAMODB_ENDPOINT"));
    for name in vars.keys() {
        assert!(
            declared.contains(name),
            "{name} is in infra/sam-local-env.json but template.yaml does not declare it"
        );
    }
}
