//! IdP certificate expiry (issue 13, item 5): what admins see about each configured certificate,
//! and the daily check that warns 30, 7 and 1 days before one expires.
//!
//! An expired certificate still verifies ([`super::certificate`]: Okta keeps signing with it until
//! the admin rotates), so expiry is an admin's problem to be told about, never a sign-in outage.
//!
//! The check is stateless: run every [`CHECK_PERIOD`] seconds (a daily schedule), it reports a
//! threshold in the run that follows the instant the threshold was crossed, i.e. when
//! `now - period < notAfter - threshold <= now`. One notice per certificate and threshold, as long
//! as runs are a period apart; a missed run misses that threshold's notice (the next one still
//! comes), a doubled run can repeat it — both harmless for a warning.

use serde_json::{json, Value};

use super::certificate::{inspect, rfc3339, usable_for_verification, CertificateInfo};
use super::verify::decode_b64;
use crate::org::Org;

pub const DAY: i64 = 86_400;
/// Days before notAfter at which `connection.certificate_expiring` is emitted.
pub const WARN_DAYS: [i64; 3] = [30, 7, 1];
/// How often the check runs (the schedule in template.yaml, `ssoctl org check-certificates`).
pub const CHECK_PERIOD: i64 = DAY;
/// The metric's name (namespace [`crate::metrics::NAMESPACE`]).
pub const METRIC: &str = "connection.certificate_expiring";

/// Whole days from `now` until `not_after` (negative once expired), rounded down.
pub fn days_left(not_after: i64, now: i64) -> i64 {
    (not_after - now).div_euclid(DAY)
}

/// One stored certificate (base64 DER) as an admin reads it: fingerprint, key, validity, whether
/// it has expired and in how many days it will, and why it is unusable if it is. The same shape
/// for `ssoctl org show`, `set-idp` and the API.
pub fn certificate_json(b64: &str, now: i64) -> Value {
    let der = decode_b64(b64).unwrap_or_default();
    match (inspect(&der), usable_for_verification(&der)) {
        (Ok(info), Ok(_)) => info_json(&info, now),
        (Ok(info), Err(why)) => {
            let mut v = info_json(&info, now);
            v["unusable"] = json!(why.to_string());
            v
        }
        (Err(why), _) => json!({ "unusable": why.to_string() }),
    }
}

/// [`certificate_json`] for an already parsed certificate.
pub fn info_json(info: &CertificateInfo, now: i64) -> Value {
    let mut v = json!({
        "sha256_fingerprint": info.sha256_fingerprint,
        "key": info.key.to_string(),
        "not_before": info.not_before_rfc3339(),
        "not_after": info.not_after_rfc3339(),
        "expired": info.expired_at(now),
        "days_left": days_left(info.not_after, now),
    });
    if info.expired_at(now) {
        // Flagged where an admin looks; sign-in keeps working (module docs).
        v["warning"] = json!(format!(
            "expired on {}: still trusted, rotate it in Okta and run `ssoctl org set-idp`",
            info.not_after_rfc3339()
        ));
    }
    v
}

/// A certificate crossing one of [`WARN_DAYS`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiryNotice {
    pub org: String,
    /// Position among the org's signing certificates, from 1.
    pub position: usize,
    pub sha256_fingerprint: String,
    pub not_after: i64,
    /// The threshold crossed: 30, 7 or 1.
    pub days_before: i64,
}

impl ExpiryNotice {
    /// One CloudWatch EMF line (see [`crate::metrics`]): `connection.certificate_expiring` = 1 by
    /// `DaysBefore`; the org and fingerprint are properties, not dimensions (cost).
    pub fn to_emf(&self, timestamp_ms: u64) -> String {
        json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": crate::metrics::NAMESPACE,
                    "Dimensions": [["DaysBefore"]],
                    "Metrics": [{ "Name": METRIC, "Unit": "Count" }]
                }]
            },
            "DaysBefore": self.days_before.to_string(),
            METRIC: 1,
            "org": self.org,
            "certificate_position": self.position,
            "sha256_fingerprint": self.sha256_fingerprint,
            "not_after": rfc3339(self.not_after),
        })
        .to_string()
    }

    pub fn to_json(&self) -> Value {
        json!({
            "event": METRIC,
            "org": self.org,
            "certificate_position": self.position,
            "sha256_fingerprint": self.sha256_fingerprint,
            "not_after": self.not_after,
            "days_before": self.days_before,
        })
    }
}

/// The notices for one org in the run at `now` of a check that runs every `period` seconds.
pub fn notices_for(org: &Org, now: i64, period: i64) -> Vec<ExpiryNotice> {
    let Some(idp) = org.idp.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, b64) in idp.certificates.iter().enumerate() {
        let Some(info) = decode_b64(b64).and_then(|der| inspect(&der).ok()) else {
            continue;
        };
        for days_before in WARN_DAYS {
            let crossed_at = info.not_after - days_before * DAY;
            if now - period < crossed_at && crossed_at <= now {
                out.push(ExpiryNotice {
                    org: org.org.clone(),
                    position: i + 1,
                    sha256_fingerprint: info.sha256_fingerprint.clone(),
                    not_after: info.not_after,
                    days_before,
                });
            }
        }
    }
    out
}

/// The daily check over every organization: the notices of this run, each one handed to `emit`
/// as it is found ([`on_certificate_expiring`] in a Lambda). Bounded by the org count (one
/// `list_orgs`).
pub async fn check_all<S: crate::store::OrgStore>(
    store: &S,
    now: i64,
    period: i64,
    mut emit: impl FnMut(&ExpiryNotice),
) -> crate::store::StoreResult<Vec<ExpiryNotice>> {
    let mut notices = Vec::new();
    for org in store.list_orgs().await? {
        for notice in notices_for(&org, now, period) {
            emit(&notice);
            notices.push(notice);
        }
    }
    Ok(notices)
}

/// Where a notice goes: the metric (an EMF line on stdout) and, once the events outbox exists
/// (the "api" work), an event. [`on_certificate_expiring`] is the one place to add it.
pub fn on_certificate_expiring(notice: &ExpiryNotice, now: i64) {
    let timestamp_ms = u64::try_from(now).unwrap_or(0).saturating_mul(1000);
    println!("{}", notice.to_emf(timestamp_ms));
    tracing::warn!(
        org = %notice.org,
        certificate = notice.position,
        fingerprint = %notice.sha256_fingerprint,
        days_before = notice.days_before,
        "IdP signing certificate expires soon"
    );
    // EVENTS HOOK (connection.certificate_expiring): publish `notice.to_json()` to the org's
    // events outbox here once it exists.
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::IdpConfig;
    use crate::saml::test_idp::{idp_certificate, read_fixture, BASE_URL, IDP_ENTITY_ID, ORG};

    /// The test IdP certificate's notAfter: 2126-11-04T13:39:07Z.
    const NOT_AFTER: i64 = 4_949_473_147;

    fn org(certificates: Vec<String>) -> Org {
        let mut org = Org::new(ORG, BASE_URL, 0);
        org.idp = Some(IdpConfig {
            entity_id: IDP_ENTITY_ID.into(),
            sso_url: None,
            certificates,
        });
        org
    }

    fn expired_certificate() -> String {
        String::from_utf8(read_fixture("idp-test-cert-expired.b64"))
            .unwrap()
            .trim()
            .to_string()
    }

    #[test]
    fn the_fixture_not_after_is_what_the_tests_assume() {
        let v = certificate_json(&idp_certificate(), 0);
        assert_eq!(v["not_after"], "2126-11-04T13:39:07Z");
        assert_eq!(days_left(NOT_AFTER, NOT_AFTER - 1), 0);
        assert_eq!(days_left(NOT_AFTER, NOT_AFTER + 1), -1);
        assert_eq!(days_left(NOT_AFTER, NOT_AFTER - 30 * DAY), 30);
    }

    #[test]
    fn a_daily_check_warns_once_at_30_7_and_1_days_before_expiry() {
        let org = org(vec![idp_certificate()]);
        // Every daily run from 40 days before to 5 days after, at an arbitrary time of day.
        let start = NOT_AFTER - 40 * DAY + 12_345;
        let mut seen = Vec::new();
        for run in 0..45 {
            let now = start + run * CHECK_PERIOD;
            for n in notices_for(&org, now, CHECK_PERIOD) {
                assert_eq!(n.position, 1);
                assert_eq!(n.not_after, NOT_AFTER);
                assert!(n.not_after - n.days_before * DAY <= now);
                seen.push(n.days_before);
            }
        }
        assert_eq!(seen, vec![30, 7, 1]);
    }

    #[test]
    fn nothing_is_reported_far_from_expiry_or_after_it() {
        let org = org(vec![idp_certificate(), expired_certificate()]);
        assert!(notices_for(&org, NOT_AFTER - 100 * DAY, CHECK_PERIOD).is_empty());
        // The expired one (2025) crossed its thresholds long ago.
        assert!(notices_for(&org, 1_768_478_400, CHECK_PERIOD).is_empty());
    }

    #[test]
    fn the_second_certificate_of_a_rotation_is_reported_by_its_position() {
        let org = org(vec![expired_certificate(), idp_certificate()]);
        let n = notices_for(&org, NOT_AFTER - 7 * DAY, CHECK_PERIOD);
        assert_eq!(n.len(), 1);
        assert_eq!((n[0].position, n[0].days_before), (2, 7));
        assert!(n[0].sha256_fingerprint.starts_with("2B:F7:B1:9A"));
    }

    #[test]
    fn the_metric_line_declares_its_dimension_and_carries_the_org() {
        let n = ExpiryNotice {
            org: "acme".into(),
            position: 1,
            sha256_fingerprint: "AB:CD".into(),
            not_after: NOT_AFTER,
            days_before: 7,
        };
        let v: Value = serde_json::from_str(&n.to_emf(1_000)).unwrap();
        let decl = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(decl["Metrics"][0]["Name"], METRIC);
        assert_eq!(decl["Dimensions"][0][0], "DaysBefore");
        assert_eq!(v["DaysBefore"], "7");
        assert_eq!(v[METRIC], 1);
        assert_eq!(v["org"], "acme");
        assert_eq!(v["not_after"], "2126-11-04T13:39:07Z");
    }

    #[test]
    fn an_expired_certificate_is_flagged_but_still_usable() {
        let v = certificate_json(&expired_certificate(), 1_768_478_400);
        assert_eq!(v["expired"], true);
        assert!(v["days_left"].as_i64().unwrap() < 0);
        assert!(v["warning"].as_str().unwrap().contains("still trusted"));
        assert!(v.get("unusable").is_none(), "{v}");
        let v = certificate_json(&idp_certificate(), 1_768_478_400);
        assert_eq!(v["expired"], false);
        assert!(v.get("warning").is_none());
    }
}
