//! The routes of the management API, `/api/v1/...` (docs/api.md). Deployment-level: the org, when
//! there is one, is a path parameter, and the caller is the SaaS app's backend (an API key), never
//! an org's IdP.

/// A matched `/api/v1` path. Org and id segments are percent-decoded but not yet validated: the
/// handlers answer a malformed org with the same 404 as an unknown one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiRoute {
    OpenApi,
    Orgs,
    Org(String),
    OrgIdp(String),
    OrgScimToken(String),
    Users(String),
    User(String, String),
    Groups(String),
    Group(String, String),
    GroupMembers(String, String),
    Events,
    /// Anything else under `/api/v1/`: a JSON 404 rather than API Gateway's bare one.
    Unknown,
}

/// The templates as API Gateway spells them (also in `routes::ROUTES` and docs/openapi.json).
pub const API_TEMPLATES: &[&str] = &[
    "/api/v1/openapi.json",
    "/api/v1/orgs",
    "/api/v1/orgs/{org}",
    "/api/v1/orgs/{org}/idp",
    "/api/v1/orgs/{org}/scim-token",
    "/api/v1/orgs/{org}/users",
    "/api/v1/orgs/{org}/users/{id}",
    "/api/v1/orgs/{org}/groups",
    "/api/v1/orgs/{org}/groups/{id}",
    "/api/v1/orgs/{org}/groups/{id}/members",
    "/api/v1/events",
    "/api/v1/{proxy+}",
];

/// As `routes::percent_decode` (kept here so `routes` and this module do not use each other).
fn percent_decode(s: &str) -> Option<String> {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

impl ApiRoute {
    pub fn parse(path: &str) -> Option<ApiRoute> {
        let rest = path.strip_prefix("/api/v1/")?;
        let segs: Vec<&str> = rest.split('/').collect();
        let dec = |s: &str| percent_decode(s).filter(|v| !v.is_empty());
        Some(match segs.as_slice() {
            ["openapi.json"] => ApiRoute::OpenApi,
            ["orgs"] => ApiRoute::Orgs,
            ["events"] => ApiRoute::Events,
            ["orgs", o, tail @ ..] => {
                let Some(org) = dec(o) else {
                    return Some(ApiRoute::Unknown);
                };
                match tail {
                    [] => ApiRoute::Org(org),
                    ["idp"] => ApiRoute::OrgIdp(org),
                    ["scim-token"] => ApiRoute::OrgScimToken(org),
                    ["users"] => ApiRoute::Users(org),
                    ["groups"] => ApiRoute::Groups(org),
                    ["users", id] => match dec(id) {
                        Some(id) => ApiRoute::User(org, id),
                        None => ApiRoute::Unknown,
                    },
                    ["groups", id] => match dec(id) {
                        Some(id) => ApiRoute::Group(org, id),
                        None => ApiRoute::Unknown,
                    },
                    ["groups", id, "members"] => match dec(id) {
                        Some(id) => ApiRoute::GroupMembers(org, id),
                        None => ApiRoute::Unknown,
                    },
                    _ => ApiRoute::Unknown,
                }
            }
            _ => ApiRoute::Unknown,
        })
    }

    pub fn template(&self) -> &'static str {
        match self {
            ApiRoute::OpenApi => API_TEMPLATES[0],
            ApiRoute::Orgs => API_TEMPLATES[1],
            ApiRoute::Org(_) => API_TEMPLATES[2],
            ApiRoute::OrgIdp(_) => API_TEMPLATES[3],
            ApiRoute::OrgScimToken(_) => API_TEMPLATES[4],
            ApiRoute::Users(_) => API_TEMPLATES[5],
            ApiRoute::User(..) => API_TEMPLATES[6],
            ApiRoute::Groups(_) => API_TEMPLATES[7],
            ApiRoute::Group(..) => API_TEMPLATES[8],
            ApiRoute::GroupMembers(..) => API_TEMPLATES[9],
            ApiRoute::Events => API_TEMPLATES[10],
            ApiRoute::Unknown => API_TEMPLATES[11],
        }
    }

    /// The org the request is about, for the log line.
    pub fn org(&self) -> Option<&str> {
        match self {
            ApiRoute::Org(o)
            | ApiRoute::OrgIdp(o)
            | ApiRoute::OrgScimToken(o)
            | ApiRoute::Users(o)
            | ApiRoute::User(o, _)
            | ApiRoute::Groups(o)
            | ApiRoute::Group(o, _)
            | ApiRoute::GroupMembers(o, _) => Some(o),
            _ => None,
        }
    }

    /// For the `Allow` header of a 405 (RFC 9110 §15.5.6).
    pub fn allowed_methods(&self) -> &'static str {
        match self {
            ApiRoute::Orgs => "GET, POST",
            ApiRoute::Org(_) => "GET, PATCH, DELETE",
            ApiRoute::OrgIdp(_) => "PUT",
            ApiRoute::OrgScimToken(_) => "POST",
            _ => "GET",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_template_matches_a_sample_path_back_to_itself() {
        for t in API_TEMPLATES {
            let sample = t
                .replace("{org}", "acme")
                .replace("{id}", "abc")
                .replace("{proxy+}", "nothing/here");
            let route = ApiRoute::parse(&sample).expect(t);
            assert_eq!(route.template(), *t);
        }
    }

    #[test]
    fn api_paths_carry_their_org_and_decoded_ids() {
        assert_eq!(
            ApiRoute::parse("/api/v1/orgs/acme/groups/a%2Fb/members"),
            Some(ApiRoute::GroupMembers("acme".into(), "a/b".into()))
        );
        assert_eq!(
            ApiRoute::parse("/api/v1/orgs//users"),
            Some(ApiRoute::Unknown)
        );
        assert_eq!(ApiRoute::parse("/api/v2/orgs"), None);
    }
}
