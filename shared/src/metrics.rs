//! CloudWatch metrics in embedded metric format (EMF): one JSON line on stdout per request, which
//! CloudWatch Logs turns into metrics without an agent or an API call (CloudWatch EMF
//! specification). Custom runtimes' stdout reaches CloudWatch as written, so the line must be
//! exactly one JSON object.
//!
//! Metrics (namespace `OktaSso`): `Requests` (count) and `Latency` (ms), by
//! {Function, Outcome} — sign-ins ok/failed by outcome code, SCIM results, `throttled` — and by
//! {Function, Route, Method, Status}. The org is a property (searchable in Logs Insights), not a
//! dimension: per-org dimensions would multiply the metric count and its cost.

use serde_json::json;

pub const NAMESPACE: &str = "OktaSso";

/// One request's metric document.
pub struct RequestMetrics<'a> {
    pub function: &'a str,
    pub route: &'a str,
    pub method: &'a str,
    pub status: u16,
    pub outcome: &'a str,
    pub org: &'a str,
    pub latency_ms: u64,
    pub timestamp_ms: u128,
}

impl RequestMetrics<'_> {
    pub fn to_emf(&self) -> String {
        json!({
            "_aws": {
                "Timestamp": self.timestamp_ms as u64,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Function", "Outcome"], ["Function", "Route", "Method", "Status"]],
                    "Metrics": [
                        { "Name": "Requests", "Unit": "Count" },
                        { "Name": "Latency", "Unit": "Milliseconds" }
                    ]
                }]
            },
            "Function": self.function,
            "Outcome": self.outcome,
            "Route": self.route,
            "Method": self.method,
            "Status": self.status.to_string(),
            "org": self.org,
            "Requests": 1,
            "Latency": self.latency_ms,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_declares_every_dimension_and_metric_it_carries() {
        let m = RequestMetrics {
            function: "saml-acs",
            route: "/orgs/{org}/saml/acs",
            method: "POST",
            status: 400,
            outcome: "audience_mismatch",
            org: "acme",
            latency_ms: 7,
            timestamp_ms: 1_795_870_800_000,
        };
        let line = m.to_emf();
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let decl = &v["_aws"]["CloudWatchMetrics"][0];
        for set in decl["Dimensions"].as_array().unwrap() {
            for dim in set.as_array().unwrap() {
                assert!(
                    v[dim.as_str().unwrap()].is_string(),
                    "dimension {dim} must be a string member"
                );
            }
        }
        for metric in decl["Metrics"].as_array().unwrap() {
            assert!(v[metric["Name"].as_str().unwrap()].is_number());
        }
        assert_eq!(v["Outcome"], "audience_mismatch");
    }
}
