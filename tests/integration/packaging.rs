//! What a fresh machine and a first-time user depend on: pinned tools, a build that needs no
//! terminal, the licence files.

use std::path::PathBuf;

fn repo_file(path: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn sam_build_runs_without_a_terminal_because_beta_features_are_on_in_samconfig() {
    // `rust-cargolambda` is a SAM CLI beta feature: without this `sam build` asks [y/N] and
    // aborts when stdin is not a terminal (CI, scripts).
    let config = repo_file("samconfig.toml");
    let section = config
        .split("[default.build.parameters]")
        .nth(1)
        .expect("samconfig.toml has [default.build.parameters]");
    let section = section.split("\n[").next().unwrap_or_default();
    assert!(
        section
            .lines()
            .any(|l| l.split('#').next().unwrap_or("").replace(' ', "") == "beta_features=true"),
        "[default.build.parameters] must set beta_features = true:\n{section}"
    );
}

#[test]
fn every_python_tool_is_pinned_exactly_in_the_requirements_lock() {
    let lock = repo_file("infra/requirements.txt");
    let pins: Vec<&str> = lock
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for tool in ["moto", "cfn-lint", "aws-sam-cli", "cargo-lambda", "ziglang"] {
        assert!(
            pins.iter()
                .any(|p| p.starts_with(&format!("{tool}==")) || p.starts_with(&format!("{tool}["))),
            "{tool} is not pinned in infra/requirements.txt"
        );
    }
    for pin in &pins {
        let spec = pin.split(';').next().unwrap_or(pin);
        assert!(
            spec.contains("==")
                && !spec.contains('*')
                && !spec.contains(">")
                && !spec.contains('<'),
            "not an exact pin: {pin}"
        );
    }
    // Transitive packages are pinned too: moto alone brings dozens.
    assert!(
        pins.len() > 40,
        "only {} pins: transitive packages missing?",
        pins.len()
    );
    // The scripts install from the lock, never from loose specifiers.
    let lib = repo_file("infra/lib.sh");
    assert!(
        lib.contains("-r \"$requirements\""),
        "infra/lib.sh must install infra/requirements.txt"
    );
    assert!(!repo_file("infra/check-bootstraps").contains("pip\" install"));
}

#[test]
fn the_licence_the_manifests_declare_ships_with_the_security_policy_and_changelog() {
    let manifest = repo_file("Cargo.toml");
    assert!(manifest.contains("license = \"Apache-2.0\""));
    assert!(repo_file("LICENSE").contains("Apache License"));
    assert!(repo_file("LICENSE").contains("Version 2.0, January 2004"));
    assert!(repo_file("SECURITY.md").contains("Reporting a vulnerability"));
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(version, "0.2.0");
    assert!(repo_file("CHANGELOG.md").contains(&format!("## [{version}]")));
}

/// `check-bootstraps` builds every `functions/*` binary in one `cargo lambda build` over the
/// workspace's default members (which keep ssoctl's features out of the bootstraps): a function
/// left out of `default-members` fails that build ("no bin target named …").
#[test]
fn every_function_is_a_default_member_of_the_workspace() {
    let manifest = repo_file("Cargo.toml");
    let start = manifest
        .find("default-members = [")
        .expect("Cargo.toml has default-members");
    let list = &manifest[start..];
    let list = &list[..list.find(']').expect("default-members is closed")];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../functions");
    let mut functions = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        functions += 1;
        assert!(
            list.contains(&format!("\"functions/{name}\"")),
            "functions/{name} is not in default-members"
        );
    }
    assert!(functions >= 9, "found {functions} functions");
}

/// The template's resources, each with the text of its block (top-level keys under `Resources:`,
/// indented two spaces). Text, not YAML: CloudFormation's `!GetAtt`/`!Sub` tags need no parser to
/// find which block names an action.
fn template_resources() -> Vec<(String, String)> {
    let template = repo_file("template.yaml");
    let resources = &template[template
        .find("\nResources:\n")
        .expect("template has Resources")..];
    let resources = &resources[..resources.find("\nOutputs:\n").unwrap_or(resources.len())];
    let mut blocks: Vec<(String, String)> = Vec::new();
    for line in resources.lines().skip(2) {
        let top_level = line.len() > 2
            && line.starts_with("  ")
            && !line[2..].starts_with(' ')
            && !line.trim_start().starts_with('#')
            && line.ends_with(':');
        if top_level {
            blocks.push((line.trim().trim_end_matches(':').to_string(), String::new()));
        } else if let Some((_, text)) = blocks.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    blocks
}

/// The IAM actions a resource's policies name (`- dynamodb:GetItem` lines), for the tests that
/// check a function's calls against its policy (oidc.rs).
pub fn allowed_actions(resource: &str) -> Vec<String> {
    let (_, text) = template_resources()
        .into_iter()
        .find(|(name, _)| name == resource)
        .unwrap_or_else(|| panic!("template.yaml has no {resource}"));
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("- "))
        .filter(|item| {
            item.split_once(':').is_some_and(|(service, action)| {
                !service.is_empty()
                    && service.chars().all(|c| c.is_ascii_lowercase())
                    && action
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '*')
            })
        })
        .map(str::to_string)
        .collect()
}

/// The template resource that builds the function `binary` (`BuildProperties: Binary: NAME`).
pub fn function_resource(binary: &str) -> Option<String> {
    let needle = format!("Binary: {binary}\n");
    template_resources()
        .into_iter()
        .find(|(_, text)| text.contains(&needle))
        .map(|(name, _)| name)
}

fn resources_naming(needle: &str) -> Vec<String> {
    template_resources()
        .into_iter()
        .filter(|(_, text)| text.contains(needle))
        .map(|(name, _)| name)
        .collect()
}

#[test]
fn only_the_functions_that_sign_tokens_may_call_kms_sign() {
    // A function signs only when OIDC_KMS_KEY_ID is in its environment (oidc::jwt::Signer); the
    // two that sign are the token endpoint (ID tokens) and back-channel delivery (logout tokens).
    let signers = resources_naming("OIDC_KMS_KEY_ID:");
    assert_eq!(signers, ["OidcFunction", "OidcBackchannelFunction"]);
    assert_eq!(resources_naming("kms:Sign"), signers);
    // Only the JWKS (served by oidc) needs the public key.
    assert_eq!(resources_naming("kms:GetPublicKey"), ["OidcFunction"]);
    // The key's own policy is the default one (the account administers the key through IAM); no
    // function gets a wildcard.
    for (name, text) in template_resources() {
        if name.ends_with("Function") {
            assert!(!text.contains("kms:*"), "{name} is granted kms:*");
        }
    }
}

#[test]
fn a_local_stack_call_outside_its_functions_policy_is_reported() {
    let record = "saml-metadata\tdynamodb:GetItem\n\
                  saml-metadata\tdynamodb:DeleteTable\n\
                  oidc\tkms:Sign\n\
                  scim-users\tkms:Sign\n\
                  unrouted\tdynamodb:Scan\n";
    assert_eq!(
        crate::support::calls_outside_the_policies(record),
        [
            "saml-metadata: dynamodb:DeleteTable",
            "scim-users: kms:Sign"
        ]
    );
}
