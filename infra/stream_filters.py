"""What the deployed stream consumers would receive: reads every record of a table's DynamoDB
Stream from the local AWS API server (moto), as Lambda and EventBridge Pipes get them, and tells
which ones each FilterCriteria pattern in template.yaml lets through, matched by moto's own
EventBridge pattern matcher (an implementation we did not write). Used by the integration test
`stream_filters`; prints one JSON object.

Usage: python infra/stream_filters.py TEMPLATE TABLE_NAME   (AWS_ENDPOINT_URL set)
"""

import json
import sys

import boto3
from cfnlint.decode import cfn_yaml
from moto.events.models import EventPattern


def patterns(template):
    """Every FilterCriteria pattern: 'Resource.Event' for function triggers, 'Resource' for pipes."""
    found = {}
    for name, res in template["Resources"].items():
        props = res.get("Properties", {})
        for event_name, event in (props.get("Events") or {}).items():
            filters = (event.get("Properties") or {}).get("FilterCriteria", {}).get("Filters", [])
            if filters:
                found[f"{name}.{event_name}"] = [f["Pattern"] for f in filters]
        source = props.get("SourceParameters", {})
        filters = source.get("FilterCriteria", {}).get("Filters", [])
        if filters:
            found[name] = [f["Pattern"] for f in filters]
    return found


def records(table_name):
    ddb = boto3.client("dynamodb")
    streams = boto3.client("dynamodbstreams")
    arn = ddb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
    out = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for _ in range(100):  # bounded: a test table holds a few hundred records at most
            page = streams.get_records(ShardIterator=it, Limit=1000)
            out.extend(page["Records"])
            it = page.get("NextShardIterator")
            if not it or not page["Records"]:
                break
    for r in out:
        r["eventSourceARN"] = arn
        r["dynamodb"].pop("ApproximateCreationDateTime", None)  # a datetime from boto3
    return out


def main():
    template = cfn_yaml.load(sys.argv[1])
    recs = records(sys.argv[2])
    matches = {
        name: [
            i
            for i, r in enumerate(recs)
            if any(EventPattern.load(p).matches_event(r) for p in pats)
        ]
        for name, pats in patterns(template).items()
    }
    print(json.dumps({"records": recs, "matches": matches}, default=str))


if __name__ == "__main__":
    main()
