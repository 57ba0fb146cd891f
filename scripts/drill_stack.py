#!/usr/bin/env python3
"""The failure drill's step 7, its CloudFormation half: stack.yaml created as a stack in moto's
CloudFormation, and what moto lacks for it. Run with the Python of moto's virtual environment
(scripts/moto.sh), which has boto3, PyYAML and moto itself (for the list of resource types its
CloudFormation implements).

  drill_stack.py create --endpoint http://127.0.0.1:PORT --template stack.yaml --work DIR
      Creates the stack; prints one JSON object: its status, outputs, the template used (the
      original, or one derived from it at run time when moto refuses the original), what was
      left out and why, and which of the bucket's properties moto's CloudFormation ignored
      (those the app relies on, the bucket's events to the queue and its versioning, are then
      applied through the S3 API, from the template's own values).
  drill_stack.py inbox --endpoint URL --topic ARN
      Subscribes a new SQS queue to the topic (to read the alerts); prints its URL.
  drill_stack.py read --endpoint URL --queue URL
      Prints the subjects of the SNS notifications in that queue, as a JSON list.

A derived template holds the resources of the types moto implements. References to what was
left out, and attributes moto cannot resolve, become the string `left-out:<what>`.
"""

import argparse
import copy
import json
import os
import re
import sys
import time

import boto3
import yaml
from botocore.exceptions import ClientError

REGION = "us-east-1"
LEFT_OUT = "left-out:"

# Values for the parameters without a default: none of them reaches the cluster.
PARAMETERS = {
    "DomainName": "backspin.example.com",
    "AlarmEmail": "ops@example.com",
    "ArtifactBucket": "backspin-artifacts",
    "ArtifactKey": "releases/backspin",
}


def client(kind, endpoint):
    return boto3.client(kind, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="drill", aws_secret_access_key="drill")


# ------------------------------------------------------------------------------------------
# The template, with CloudFormation's short forms (!Ref, !Sub, ...) as their long forms


class CfnLoader(yaml.SafeLoader):
    pass


def _short_form(name):
    def construct(loader, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _tag in ["Base64", "Cidr", "FindInMap", "GetAtt", "GetAZs", "If", "ImportValue", "Join",
             "Select", "Split", "Sub", "Equals", "Not", "And", "Or"]:
    CfnLoader.add_constructor(f"!{_tag}", _short_form(f"Fn::{_tag}"))
CfnLoader.add_constructor("!Ref", _short_form("Ref"))
CfnLoader.add_constructor("!Condition", _short_form("Condition"))


def sub_pattern(names, attribute=None):
    """`${Name}` or `${Name.Attr...}` in a Fn::Sub string, for the given names (and attribute)."""
    alt = "|".join(re.escape(n) for n in names)
    if attribute is None:
        return re.compile(r"\$\{(" + alt + r")((?:\.[A-Za-z0-9]+)*)\}")
    return re.compile(r"\$\{(" + alt + r")(\." + re.escape(attribute) + r"(?:\.[A-Za-z0-9]+)*)\}")


def replace_refs(node, gone, attribute=None):
    """`node` with every reference to a resource in `gone` (only to `attribute` of it, when
    given) turned into the string `left-out:<what>`."""
    if isinstance(node, list):
        return [replace_refs(v, gone, attribute) for v in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        (key, value), = node.items()
        if key == "Ref" and attribute is None and value in gone:
            return LEFT_OUT + value
        if key == "Fn::GetAtt" and value[0] in gone and (
            attribute is None or value[1] == attribute or value[1].startswith(attribute + ".")
        ):
            return f"{LEFT_OUT}{value[0]}.{value[1]}"
        if key == "Fn::Sub":
            pattern = sub_pattern(gone, attribute)
            fix = lambda s: pattern.sub(lambda m: LEFT_OUT + m.group(1) + m.group(2), s)  # noqa: E731
            if isinstance(value, str):
                return {key: fix(value)}
            return {key: [fix(value[0]), replace_refs(value[1], gone, attribute)]}
    out = {}
    for k, v in node.items():
        if k == "DependsOn" and attribute is None:
            deps = [d for d in ([v] if isinstance(v, str) else v) if d not in gone]
            if deps:
                out[k] = deps
            continue
        out[k] = replace_refs(v, gone, attribute)
    return out


def mentions_left_out(node):
    return LEFT_OUT in json.dumps(node)


# Properties of types moto implements on which moto 5.2.6 itself fails (an internal error, not
# a refusal): left out of the derived template, with the reason.
MOTO_DEFECTS = {
    ("AWS::RDS::DBInstance", "DBParameterGroupName"):
        "moto's RDS takes the parameter group's Ref for an object and fails "
        "(AttributeError: 'DBParameterGroup' object has no attribute 'startswith')",
}


def derive(template, implemented):
    """The template with only the resources of types moto implements; returns it, the
    resources left out ({name: type}) and the properties left out ({Name.Property: why})."""
    t = copy.deepcopy(template)
    left_out = {n: r["Type"] for n, r in t["Resources"].items() if r["Type"] not in implemented}
    for name in left_out:
        del t["Resources"][name]
    properties = {}
    for name, r in t["Resources"].items():
        for (kind, prop), why in MOTO_DEFECTS.items():
            if r["Type"] == kind and prop in r.get("Properties", {}):
                del r["Properties"][prop]
                properties[f"{name}.{prop}"] = why
    return replace_refs(t, set(left_out)), left_out, properties


# ------------------------------------------------------------------------------------------
# Creating the stack


def create_stack(cf, body):
    """Creates the stack `backspin` and waits until it settles."""
    cf.create_stack(
        StackName="backspin", TemplateBody=body,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in PARAMETERS.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    deadline = time.monotonic() + 120
    while True:
        stack = cf.describe_stacks(StackName="backspin")["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            return stack
        time.sleep(0.5)


UNSUPPORTED_ATTRIBUTE = re.compile(r"resource (\S+) does not support attribute type (\S+) in Fn::GetAtt")


def create(args):
    from moto.cloudformation.parsing import get_model_map

    implemented = set(get_model_map())
    text = open(args.template).read()
    template = yaml.load(text, Loader=CfnLoader)
    types = sorted({r["Type"] for r in template["Resources"].values()})
    report = {
        "resource_types": len(types),
        "types_moto_lacks": [t for t in types if t not in implemented],
        "template": "stack.yaml",
        "refused": None,
    }
    cf = client("cloudformation", args.endpoint)
    # The load balancer's listener checks that its certificate exists: one for the domain,
    # requested from moto's ACM, is the parameter's value.
    PARAMETERS["CertificateArn"] = client("acm", args.endpoint).request_certificate(
        DomainName=PARAMETERS["DomainName"]
    )["CertificateArn"]
    started = time.monotonic()
    try:
        stack = create_stack(cf, text)
    except ClientError as e:
        # Refused whole: a template derived from it with what moto implements.
        report["refused"] = e.response["Error"]["Message"]
        derived, left_out, properties = derive(template, implemented)
        attributes = []
        for _ in range(20):
            path = os.path.join(args.work, "stack.derived.json")
            with open(path, "w") as f:
                json.dump(derived, f, indent=1)
            try:
                cf.delete_stack(StackName="backspin")
            except ClientError:
                pass
            try:
                stack = create_stack(cf, json.dumps(derived))
                break
            except ClientError as e2:
                m = UNSUPPORTED_ATTRIBUTE.search(e2.response["Error"]["Message"])
                if not m:
                    raise
                # Named by its type's last part (DBInstance), or by its logical name.
                named = {
                    n for n, r in derived["Resources"].items()
                    if n == m.group(1) or r["Type"].rsplit(":", 1)[1] == m.group(1)
                }
                if not named:
                    raise
                attributes += [f"{n}.{m.group(2)}" for n in sorted(named)]
                derived = replace_refs(derived, named, attribute=m.group(2))
        else:
            raise SystemExit("drill_stack: moto kept refusing the derived template")
        dropped_outputs = sorted(k for k, v in derived.get("Outputs", {}).items() if mentions_left_out(v))
        report.update({
            "template": "derived from stack.yaml at run time: " + path,
            "left_out": {n: left_out[n] for n in sorted(left_out)},
            "properties_left_out": properties,
            "attributes_moto_cannot_resolve": attributes,
            "outputs_that_name_what_was_left_out": dropped_outputs,
        })
    report["create_s"] = round(time.monotonic() - started, 2)
    report["status"] = stack["StackStatus"]
    report["status_reason"] = stack.get("StackStatusReason")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    report["outputs"] = outputs
    report["resources_created"] = len(cf.list_stack_resources(StackName="backspin")["StackResourceSummaries"])
    if stack["StackStatus"] == "CREATE_COMPLETE":
        report["bucket"] = bucket_as_declared(args.endpoint, template, outputs)
        report["queue"] = queue_as_declared(args.endpoint, outputs)
    print(json.dumps(report))


def resolve_queue_arn(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def bucket_as_declared(endpoint, template, outputs):
    """Which of the bucket's declared properties moto's CloudFormation applied; the two the app
    relies on (events to the ingest queue, versioning) are applied through the S3 API when it
    did not, from the template's values."""
    s3, sqs = client("s3", endpoint), client("sqs", endpoint)
    bucket = outputs["UploadsBucketName"]
    props = next(r for r in template["Resources"].values() if r["Type"] == "AWS::S3::Bucket")["Properties"]

    def has(getter, key):
        try:
            return bool(getter(Bucket=bucket).get(key))
        except ClientError:
            return False

    checks = {
        "BucketEncryption": (s3.get_bucket_encryption, "ServerSideEncryptionConfiguration"),
        "VersioningConfiguration": (s3.get_bucket_versioning, "Status"),
        "NotificationConfiguration": (s3.get_bucket_notification_configuration, "QueueConfigurations"),
        "LifecycleConfiguration": (s3.get_bucket_lifecycle_configuration, "Rules"),
        "CorsConfiguration": (s3.get_bucket_cors, "CORSRules"),
        "PublicAccessBlockConfiguration": (s3.get_public_access_block, "PublicAccessBlockConfiguration"),
        "OwnershipControls": (s3.get_bucket_ownership_controls, "OwnershipControls"),
    }
    ignored = sorted(p for p, (get, key) in checks.items() if p in props and not has(get, key))
    applied = []
    if "NotificationConfiguration" in ignored:
        queue_arn = resolve_queue_arn(sqs, outputs["IngestQueueUrl"])
        configs = []
        for q in props["NotificationConfiguration"]["QueueConfigurations"]:
            rules = q.get("Filter", {}).get("S3Key", {}).get("Rules", [])
            configs.append({
                "QueueArn": queue_arn, "Events": [q["Event"]],
                "Filter": {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}},
            })
        s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"QueueConfigurations": configs}
        )
        applied.append("NotificationConfiguration")
    if "VersioningConfiguration" in ignored:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=props["VersioningConfiguration"])
        applied.append("VersioningConfiguration")
    return {"name": bucket, "properties_moto_ignored": ignored, "applied_by_the_drill": applied}


def queue_as_declared(endpoint, outputs):
    sqs = client("sqs", endpoint)
    attrs = sqs.get_queue_attributes(QueueUrl=outputs["IngestQueueUrl"], AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attrs.get("RedrivePolicy", "{}"))
    dead_arn = resolve_queue_arn(sqs, outputs["DeadLetterQueueUrl"])
    return {
        "visibility_timeout": attrs.get("VisibilityTimeout"),
        "dead_letters_to_the_dead_letter_queue": redrive.get("deadLetterTargetArn") == dead_arn,
        "max_receive_count": redrive.get("maxReceiveCount"),
    }


def inbox(args):
    sqs, sns = client("sqs", args.endpoint), client("sns", args.endpoint)
    url = sqs.create_queue(QueueName="drill-alerts-inbox")["QueueUrl"]
    sns.subscribe(TopicArn=args.topic, Protocol="sqs", Endpoint=resolve_queue_arn(sqs, url))
    print(url)


def read(args):
    sqs = client("sqs", args.endpoint)
    subjects = []
    while True:
        got = sqs.receive_message(QueueUrl=args.queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            break
        for m in got:
            subjects.append(json.loads(m["Body"]).get("Subject"))
            sqs.delete_message(QueueUrl=args.queue, ReceiptHandle=m["ReceiptHandle"])
    print(json.dumps(subjects))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("create")
    c.add_argument("--endpoint", required=True)
    c.add_argument("--template", required=True)
    c.add_argument("--work", required=True)
    i = sub.add_parser("inbox")
    i.add_argument("--endpoint", required=True)
    i.add_argument("--topic", required=True)
    r = sub.add_parser("read")
    r.add_argument("--endpoint", required=True)
    r.add_argument("--queue", required=True)
    args = ap.parse_args()
    {"create": create, "inbox": inbox, "read": read}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
