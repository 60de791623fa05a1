//! The public route table: the one contract Okta admins paste into Okta. `template.yaml` declares
//! the same set (a test compares them), the local stack serves it, and each Lambda binary answers
//! the routes of its own [`Function`].
//!
//! Every route is registered with method `ANY` in API Gateway so that a wrong method reaches our
//! code and gets a 405 with a clear body (RFC 7644 §3.2 for SCIM discovery) instead of a bare 404.

use std::fmt;

/// One Lambda binary of `functions/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    SamlAcs,
    SamlMetadata,
    SamlLogin,
    ScimUsers,
    ScimGroups,
    Session,
    /// The OpenID Connect provider: discovery, JWKS, authorize, token, userinfo, logout.
    Oidc,
    /// The management API, `/api/v1` (docs/api.md).
    Api,
}

impl Function {
    pub const ALL: [Function; 8] = [
        Function::SamlAcs,
        Function::SamlMetadata,
        Function::SamlLogin,
        Function::ScimUsers,
        Function::ScimGroups,
        Function::Session,
        Function::Oidc,
        Function::Api,
    ];

    /// The binary (and crate) name under `functions/`, as named in template.yaml.
    pub fn binary(self) -> &'static str {
        match self {
            Function::SamlAcs => "saml-acs",
            Function::SamlMetadata => "saml-metadata",
            Function::SamlLogin => "saml-login",
            Function::ScimUsers => "scim-users",
            Function::ScimGroups => "scim-groups",
            Function::Session => "session",
            Function::Oidc => "oidc",
            Function::Api => "api",
        }
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.binary())
    }
}

/// A matched request path, with its organization and resource id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    SamlMetadata,
    SamlLogin,
    SamlAcs,
    Session,
    Logout,
    /// The page a browser lands on after sign-in when no app URL is set.
    SignedIn,
    ScimServiceProviderConfig,
    ScimResourceTypes(Option<String>),
    ScimSchemas(Option<String>),
    ScimUsers(Option<String>),
    ScimGroups(Option<String>),
    /// Anything else under `/scim/v2/`: answered with a SCIM 404 body.
    ScimUnknown,
    // Deployment-level routes (no org in the path): the OpenID Connect provider.
    OidcDiscovery,
    OidcJwks,
    OidcAuthorize,
    OidcToken,
    OidcUserinfo,
    OidcLogout,
    /// The management API (deployment-level; its org, if any, is a path parameter).
    Api(crate::api_routes::ApiRoute),
}

/// The route templates, as API Gateway and template.yaml spell them, with the function serving each.
pub const ROUTES: &[(&str, Function)] = &[
    ("/orgs/{org}/saml/metadata", Function::SamlMetadata),
    ("/orgs/{org}/saml/login", Function::SamlLogin),
    ("/orgs/{org}/saml/acs", Function::SamlAcs),
    ("/orgs/{org}/session", Function::Session),
    ("/orgs/{org}/logout", Function::Session),
    ("/orgs/{org}/signed-in", Function::Session),
    (
        "/orgs/{org}/scim/v2/ServiceProviderConfig",
        Function::ScimUsers,
    ),
    ("/orgs/{org}/scim/v2/ResourceTypes", Function::ScimUsers),
    (
        "/orgs/{org}/scim/v2/ResourceTypes/{id}",
        Function::ScimUsers,
    ),
    ("/orgs/{org}/scim/v2/Schemas", Function::ScimUsers),
    ("/orgs/{org}/scim/v2/Schemas/{id}", Function::ScimUsers),
    ("/orgs/{org}/scim/v2/Users", Function::ScimUsers),
    ("/orgs/{org}/scim/v2/Users/{id}", Function::ScimUsers),
    ("/orgs/{org}/scim/v2/{proxy+}", Function::ScimUsers),
    ("/orgs/{org}/scim/v2/Groups", Function::ScimGroups),
    ("/orgs/{org}/scim/v2/Groups/{id}", Function::ScimGroups),
    ("/.well-known/openid-configuration", Function::Oidc),
    ("/oauth2/jwks", Function::Oidc),
    ("/oauth2/authorize", Function::Oidc),
    ("/oauth2/token", Function::Oidc),
    ("/oauth2/userinfo", Function::Oidc),
    ("/oauth2/logout", Function::Oidc),
    ("/api/v1/openapi.json", Function::Api),
    ("/api/v1/orgs", Function::Api),
    ("/api/v1/orgs/{org}", Function::Api),
    ("/api/v1/orgs/{org}/idp", Function::Api),
    ("/api/v1/orgs/{org}/scim-token", Function::Api),
    ("/api/v1/orgs/{org}/users", Function::Api),
    ("/api/v1/orgs/{org}/users/{id}", Function::Api),
    ("/api/v1/orgs/{org}/groups", Function::Api),
    ("/api/v1/orgs/{org}/groups/{id}", Function::Api),
    ("/api/v1/orgs/{org}/groups/{id}/members", Function::Api),
    ("/api/v1/events", Function::Api),
    ("/api/v1/{proxy+}", Function::Api),
];

impl Route {
    /// The template in [`ROUTES`] this route was matched by.
    pub fn template(&self) -> &'static str {
        match self {
            Route::SamlMetadata => "/orgs/{org}/saml/metadata",
            Route::SamlLogin => "/orgs/{org}/saml/login",
            Route::SamlAcs => "/orgs/{org}/saml/acs",
            Route::Session => "/orgs/{org}/session",
            Route::Logout => "/orgs/{org}/logout",
            Route::SignedIn => "/orgs/{org}/signed-in",
            Route::ScimServiceProviderConfig => "/orgs/{org}/scim/v2/ServiceProviderConfig",
            Route::ScimResourceTypes(None) => "/orgs/{org}/scim/v2/ResourceTypes",
            Route::ScimResourceTypes(Some(_)) => "/orgs/{org}/scim/v2/ResourceTypes/{id}",
            Route::ScimSchemas(None) => "/orgs/{org}/scim/v2/Schemas",
            Route::ScimSchemas(Some(_)) => "/orgs/{org}/scim/v2/Schemas/{id}",
            Route::ScimUsers(None) => "/orgs/{org}/scim/v2/Users",
            Route::ScimUsers(Some(_)) => "/orgs/{org}/scim/v2/Users/{id}",
            Route::ScimGroups(None) => "/orgs/{org}/scim/v2/Groups",
            Route::ScimGroups(Some(_)) => "/orgs/{org}/scim/v2/Groups/{id}",
            Route::ScimUnknown => "/orgs/{org}/scim/v2/{proxy+}",
            Route::OidcDiscovery => "/.well-known/openid-configuration",
            Route::OidcJwks => "/oauth2/jwks",
            Route::OidcAuthorize => "/oauth2/authorize",
            Route::OidcToken => "/oauth2/token",
            Route::OidcUserinfo => "/oauth2/userinfo",
            Route::OidcLogout => "/oauth2/logout",
            Route::Api(r) => r.template(),
        }
    }

    pub fn function(&self) -> Function {
        let template = self.template();
        ROUTES
            .iter()
            .find(|(t, _)| *t == template)
            .map(|(_, f)| *f)
            .unwrap_or(Function::ScimUsers)
    }

    /// The methods this route answers, for the `Allow` header of a 405 (RFC 9110 §15.5.6).
    pub fn allowed_methods(&self) -> &'static str {
        match self {
            Route::SamlMetadata | Route::SamlLogin | Route::Session | Route::SignedIn => "GET",
            Route::SamlAcs | Route::Logout => "POST",
            Route::ScimServiceProviderConfig
            | Route::ScimResourceTypes(_)
            | Route::ScimSchemas(_)
            | Route::ScimUnknown => "GET",
            Route::ScimUsers(None) | Route::ScimGroups(None) => "GET, POST",
            Route::ScimUsers(Some(_)) | Route::ScimGroups(Some(_)) => "GET, PUT, PATCH, DELETE",
            Route::OidcDiscovery | Route::OidcJwks => "GET",
            Route::OidcToken => "POST",
            // OIDC Core §3.1.2.1 and §5.3.1, RP-Initiated Logout §2: GET and POST.
            Route::OidcAuthorize | Route::OidcUserinfo | Route::OidcLogout => "GET, POST",
            Route::Api(r) => r.allowed_methods(),
        }
    }

    /// Routes outside `/orgs/{org}/`: no org is loaded before the handler runs.
    pub fn is_deployment_level(&self) -> bool {
        !self.template().starts_with("/orgs/")
    }

    /// SCIM routes answer errors with RFC 7644 §3.12 bodies; the others with plain text.
    pub fn is_scim(&self) -> bool {
        self.template().contains("/scim/v2/")
    }
}

/// Splits `/orgs/{org}/rest` into the raw org segment and the route. `None` when no route matches:
/// the caller answers 404.
pub fn match_path(path: &str) -> Option<(String, Route)> {
    let rest = path.strip_prefix("/orgs/")?;
    let (org, rest) = rest.split_once('/')?;
    if org.is_empty() {
        return None;
    }
    let org = percent_decode(org)?;
    let segs: Vec<&str> = rest.split('/').collect();
    let id = |s: &str| percent_decode(s).filter(|v| !v.is_empty());
    let route = match segs.as_slice() {
        ["saml", "metadata"] => Route::SamlMetadata,
        ["saml", "login"] => Route::SamlLogin,
        ["saml", "acs"] => Route::SamlAcs,
        ["session"] => Route::Session,
        ["logout"] => Route::Logout,
        ["signed-in"] => Route::SignedIn,
        ["scim", "v2", tail @ ..] => match tail {
            ["ServiceProviderConfig"] => Route::ScimServiceProviderConfig,
            ["ResourceTypes"] => Route::ScimResourceTypes(None),
            ["ResourceTypes", r] => Route::ScimResourceTypes(Some(id(r)?)),
            ["Schemas"] => Route::ScimSchemas(None),
            ["Schemas", s] => Route::ScimSchemas(Some(id(s)?)),
            ["Users"] => Route::ScimUsers(None),
            ["Users", u] => Route::ScimUsers(Some(id(u)?)),
            ["Groups"] => Route::ScimGroups(None),
            ["Groups", g] => Route::ScimGroups(Some(id(g)?)),
            [] | [""] => return None,
            _ => Route::ScimUnknown,
        },
        _ => return None,
    };
    Some((org, route))
}

/// The deployment-level routes (no org in the path).
pub fn match_deployment_path(path: &str) -> Option<Route> {
    Some(match path {
        "/.well-known/openid-configuration" => Route::OidcDiscovery,
        "/oauth2/jwks" => Route::OidcJwks,
        "/oauth2/authorize" => Route::OidcAuthorize,
        "/oauth2/token" => Route::OidcToken,
        "/oauth2/userinfo" => Route::OidcUserinfo,
        "/oauth2/logout" => Route::OidcLogout,
        p if p.starts_with("/api/v1/") => Route::Api(crate::api_routes::ApiRoute::parse(p)?),
        _ => return None,
    })
}

pub(crate) fn percent_decode(s: &str) -> Option<String> {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_path(template: &str) -> String {
        template
            .replace("{org}", "acme")
            .replace("{id}", "abc-123")
            .replace("{proxy+}", "Bulk")
            .replace("/api/v1/Bulk", "/api/v1/not/a/route")
    }

    #[test]
    fn every_route_template_matches_a_sample_path_back_to_itself() {
        for (template, function) in ROUTES {
            if let Some(route) = match_deployment_path(template) {
                assert!(route.is_deployment_level());
                assert_eq!(route.template(), *template);
                assert_eq!(route.function(), *function, "{template}");
                continue;
            }
            let (org, route) = match_path(&sample_path(template)).expect(template);
            assert_eq!(org, "acme");
            assert_eq!(route.template(), *template);
            assert_eq!(route.function(), *function, "{template}");
        }
    }

    #[test]
    fn paths_outside_the_table_do_not_match() {
        for p in [
            "/",
            "/orgs",
            "/orgs/",
            "/orgs//saml/acs",
            "/orgs/acme/saml",
            "/orgs/acme/saml/acs/x",
            "/other/acme/session",
            "/orgs/acme/scim/v2",
        ] {
            assert_eq!(match_path(p), None, "{p}");
        }
    }

    #[test]
    fn resource_ids_are_percent_decoded() {
        let (_, r) = match_path(
            "/orgs/acme/scim/v2/Schemas/urn%3Aietf%3Aparams%3Ascim%3Aschemas%3Acore%3A2.0%3AUser",
        )
        .unwrap();
        assert_eq!(
            r,
            Route::ScimSchemas(Some("urn:ietf:params:scim:schemas:core:2.0:User".into()))
        );
    }

    #[test]
    fn every_function_serves_at_least_one_route() {
        for f in Function::ALL {
            assert!(ROUTES.iter().any(|(_, g)| *g == f), "{f}");
        }
    }
}
