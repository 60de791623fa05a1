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

/// How a matched template becomes a [`Route`]: the `{id}` path parameter, percent-decoded.
type Make = fn(Option<String>) -> Route;

/// The one route table: each template as API Gateway and template.yaml spell it, the function
/// serving it, and the route it matches. [`ROUTES`] and the matcher are both built from it;
/// [`Route::template`] is its inverse (a test holds the two together).
const TABLE: &[(&str, Function, Make)] = &[
    ("/orgs/{org}/saml/metadata", Function::SamlMetadata, |_| {
        Route::SamlMetadata
    }),
    ("/orgs/{org}/saml/login", Function::SamlLogin, |_| {
        Route::SamlLogin
    }),
    ("/orgs/{org}/saml/acs", Function::SamlAcs, |_| {
        Route::SamlAcs
    }),
    ("/orgs/{org}/session", Function::Session, |_| Route::Session),
    ("/orgs/{org}/logout", Function::Session, |_| Route::Logout),
    ("/orgs/{org}/signed-in", Function::Session, |_| {
        Route::SignedIn
    }),
    (
        "/orgs/{org}/scim/v2/ServiceProviderConfig",
        Function::ScimUsers,
        |_| Route::ScimServiceProviderConfig,
    ),
    (
        "/orgs/{org}/scim/v2/ResourceTypes",
        Function::ScimUsers,
        |_| Route::ScimResourceTypes(None),
    ),
    (
        "/orgs/{org}/scim/v2/ResourceTypes/{id}",
        Function::ScimUsers,
        Route::ScimResourceTypes,
    ),
    ("/orgs/{org}/scim/v2/Schemas", Function::ScimUsers, |_| {
        Route::ScimSchemas(None)
    }),
    (
        "/orgs/{org}/scim/v2/Schemas/{id}",
        Function::ScimUsers,
        Route::ScimSchemas,
    ),
    ("/orgs/{org}/scim/v2/Users", Function::ScimUsers, |_| {
        Route::ScimUsers(None)
    }),
    (
        "/orgs/{org}/scim/v2/Users/{id}",
        Function::ScimUsers,
        Route::ScimUsers,
    ),
    ("/orgs/{org}/scim/v2/{proxy+}", Function::ScimUsers, |_| {
        Route::ScimUnknown
    }),
    ("/orgs/{org}/scim/v2/Groups", Function::ScimGroups, |_| {
        Route::ScimGroups(None)
    }),
    (
        "/orgs/{org}/scim/v2/Groups/{id}",
        Function::ScimGroups,
        Route::ScimGroups,
    ),
    ("/.well-known/openid-configuration", Function::Oidc, |_| {
        Route::OidcDiscovery
    }),
    ("/oauth2/jwks", Function::Oidc, |_| Route::OidcJwks),
    ("/oauth2/authorize", Function::Oidc, |_| {
        Route::OidcAuthorize
    }),
    ("/oauth2/token", Function::Oidc, |_| Route::OidcToken),
    ("/oauth2/userinfo", Function::Oidc, |_| Route::OidcUserinfo),
    ("/oauth2/logout", Function::Oidc, |_| Route::OidcLogout),
];

/// The route templates with the function serving each (template.yaml declares the same set).
/// The management API's templates follow the table's (they carry an org and ids of their own, so
/// `api_routes` matches them).
pub const ROUTES: &[(&str, Function)] = &{
    use crate::api_routes::API_TEMPLATES;
    let mut out = [("", Function::Oidc); TABLE.len() + API_TEMPLATES.len()];
    let mut i = 0;
    while i < TABLE.len() {
        out[i] = (TABLE[i].0, TABLE[i].1);
        i += 1;
    }
    let mut j = 0;
    while j < API_TEMPLATES.len() {
        out[i + j] = (API_TEMPLATES[j], Function::Api);
        j += 1;
    }
    out
};

/// The matcher, built once per cold start from [`TABLE`]. matchit's `{name}` parameters are API
/// Gateway's; its catch-all is spelt `{*name}` where API Gateway says `{name+}`.
fn router() -> &'static matchit::Router<usize> {
    static ROUTER: std::sync::OnceLock<matchit::Router<usize>> = std::sync::OnceLock::new();
    ROUTER.get_or_init(|| {
        let mut r = matchit::Router::new();
        for (i, (template, _, _)) in TABLE.iter().enumerate() {
            let path = template.replace("{proxy+}", "{*proxy}");
            // The table is a constant that a test inserts in full: a conflict cannot reach here.
            let _ = r.insert(path, i);
        }
        r
    })
}

/// SCIM collections whose `/{id}` an empty id does not name (so `Users/` is no route).
const SCIM_COLLECTIONS: [&str; 4] = ["Users", "Groups", "Schemas", "ResourceTypes"];

/// Matches `path` against the table: the raw org segment (percent-decoded, may be empty for
/// deployment-level routes) and the route. `None` when no route matches: the caller answers 404.
fn lookup(path: &str) -> Option<(String, Route)> {
    let m = router().at(path).ok()?;
    let (_, _, make) = TABLE.get(*m.value)?;
    let org = match m.params.get("org") {
        Some(raw) => percent_decode(raw)?,
        None => String::new(),
    };
    if let Some(proxy) = m.params.get("proxy") {
        if proxy
            .strip_suffix('/')
            .is_some_and(|head| SCIM_COLLECTIONS.contains(&head))
        {
            return None;
        }
    }
    let id = match m.params.get("id") {
        Some(raw) => Some(percent_decode(raw).filter(|v| !v.is_empty())?),
        None => None,
    };
    Some((org, make(id)))
}

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

/// Splits `/orgs/{org}/rest` into the org (percent-decoded) and the route. `None` when no route
/// matches: the caller answers 404.
pub fn match_path(path: &str) -> Option<(String, Route)> {
    lookup(path).filter(|(_, r)| !r.is_deployment_level())
}

/// The deployment-level routes (no org in the path).
pub fn match_deployment_path(path: &str) -> Option<Route> {
    if path.starts_with("/api/v1/") {
        return Some(Route::Api(crate::api_routes::ApiRoute::parse(path)?));
    }
    lookup(path)
        .map(|(_, r)| r)
        .filter(Route::is_deployment_level)
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
    fn the_matcher_holds_every_template_of_the_table() {
        for (template, _, make) in TABLE {
            let route = make(Some("x".into()));
            assert_eq!(
                route.template(),
                *template,
                "the table and Route::template agree"
            );
        }
        let mut r = matchit::Router::new();
        for (template, _, _) in TABLE {
            assert!(
                r.insert(template.replace("{proxy+}", "{*proxy}"), ())
                    .is_ok(),
                "{template}"
            );
        }
    }

    #[test]
    fn an_empty_resource_id_or_a_trailing_slash_is_no_route() {
        for p in [
            "/orgs/acme/scim/v2/Users/",
            "/orgs/acme/scim/v2/Groups/",
            "/orgs/acme/scim/v2/",
            "/orgs/acme/session/",
            "/oauth2/token/",
        ] {
            assert_eq!(match_path(p), None, "{p}");
            assert_eq!(match_deployment_path(p), None, "{p}");
        }
        assert_eq!(
            match_path("/orgs/acme/scim/v2/Users/x/y").map(|(_, r)| r),
            Some(Route::ScimUnknown)
        );
        assert_eq!(
            match_path("/orgs/ac%2Dme/scim/v2/Bulk"),
            Some(("ac-me".into(), Route::ScimUnknown))
        );
    }

    #[test]
    fn every_function_serves_at_least_one_route() {
        for f in Function::ALL {
            assert!(ROUTES.iter().any(|(_, g)| *g == f), "{f}");
        }
    }
}
