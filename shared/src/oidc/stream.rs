//! The DynamoDB Streams event that triggers `oidc-backchannel` (Lambda developer guide, "Using
//! AWS Lambda with Amazon DynamoDB": the event is `{"Records": [{"eventName", "dynamodb":
//! {"Keys", ...}}, ...]}`; the table's stream is KEYS_ONLY, template.yaml filters it to INSERTs of
//! `sk = BCL`). Only the keys of inserted notices are read: the notice itself is claimed from the
//! table, never trusted from the event.

use serde::Deserialize;

/// The part of a DynamoDB Streams event this function reads.
#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    records: Vec<StreamRecord>,
}

#[derive(Debug, Deserialize)]
struct StreamRecord {
    #[serde(rename = "eventName", default)]
    event_name: String,
    #[serde(default)]
    dynamodb: Option<StreamChange>,
}

#[derive(Debug, Deserialize)]
struct StreamChange {
    #[serde(rename = "Keys", default)]
    keys: Option<Keys>,
}

#[derive(Debug, Deserialize)]
struct Keys {
    pk: Option<StringValue>,
    sk: Option<StringValue>,
}

#[derive(Debug, Deserialize)]
struct StringValue {
    #[serde(rename = "S")]
    s: String,
}

impl StreamEvent {
    /// The `pk` of every inserted back-channel notice (`sk = BCL`), in stream order. The filter
    /// in template.yaml already drops everything else; checking again keeps a mis-set filter
    /// from feeding other items to `claim_logout`.
    pub fn notice_keys(self) -> Vec<String> {
        self.records
            .into_iter()
            .filter(|r| r.event_name == "INSERT")
            .filter_map(|r| r.dynamodb?.keys)
            .filter(|k| k.sk.as_ref().is_some_and(|sk| sk.s == "BCL"))
            .filter_map(|k| k.pk.map(|v| v.s))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch as Lambda delivers it from a KEYS_ONLY stream (the shape of the developer guide's
    /// example event), with one notice insert, one notice modify (its lease), one other insert.
    const EVENT: &str = r#"{
      "Records": [
        {
          "eventID": "c4ca4238a0b923820dcc509a6f75849b",
          "eventName": "INSERT",
          "eventVersion": "1.1",
          "eventSource": "aws:dynamodb",
          "awsRegion": "eu-west-1",
          "dynamodb": {
            "ApproximateCreationDateTime": 1764633600,
            "Keys": {"pk": {"S": "ORG#acme#BCL#0a1b"}, "sk": {"S": "BCL"}},
            "SequenceNumber": "4421584500000000017450439091",
            "SizeBytes": 48,
            "StreamViewType": "KEYS_ONLY"
          },
          "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/sso/stream/2026-12-01T00:00:00.000"
        },
        {
          "eventID": "c81e728d9d4c2f636f067f89cc14862c",
          "eventName": "MODIFY",
          "eventVersion": "1.1",
          "eventSource": "aws:dynamodb",
          "awsRegion": "eu-west-1",
          "dynamodb": {
            "Keys": {"pk": {"S": "ORG#acme#BCL#0a1b"}, "sk": {"S": "BCL"}},
            "SequenceNumber": "4421584500000000017450439092",
            "SizeBytes": 48,
            "StreamViewType": "KEYS_ONLY"
          },
          "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/sso/stream/2026-12-01T00:00:00.000"
        },
        {
          "eventID": "eccbc87e4b5ce2fe28308fd9f2a7baf3",
          "eventName": "INSERT",
          "eventVersion": "1.1",
          "eventSource": "aws:dynamodb",
          "awsRegion": "eu-west-1",
          "dynamodb": {
            "Keys": {"pk": {"S": "ORG#acme"}, "sk": {"S": "USER#u1"}},
            "SequenceNumber": "4421584500000000017450439093",
            "SizeBytes": 30,
            "StreamViewType": "KEYS_ONLY"
          },
          "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/sso/stream/2026-12-01T00:00:00.000"
        }
      ]
    }"#;

    #[test]
    fn only_inserted_notices_are_claimed_from_a_stream_batch() {
        let event: StreamEvent = serde_json::from_str(EVENT).unwrap();
        assert_eq!(event.notice_keys(), ["ORG#acme#BCL#0a1b"]);
    }

    #[test]
    fn an_empty_or_foreign_event_claims_nothing() {
        for raw in [
            r#"{}"#,
            r#"{"Records": []}"#,
            r#"{"Records": [{"eventName": "INSERT"}]}"#,
        ] {
            let event: StreamEvent = serde_json::from_str(raw).unwrap();
            assert!(event.notice_keys().is_empty(), "{raw}");
        }
    }
}
