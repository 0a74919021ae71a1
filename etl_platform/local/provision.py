"""Create every resource of `infra/template.yaml` through boto3, idempotently.

Moto's CloudFormation skips bucket notifications, TTL, lifecycle rules, Glue jobs and queue
policies, so locally the template is applied by this module instead: each resource type
the template uses has a handler that translates its CloudFormation properties into the
equivalent API calls. Running it twice changes nothing.

The validator Lambda and its SQS event source mapping are not created: moto runs Lambdas
only in Docker, and locally `ndjson_validation_job` runs the same handler with the same
batch size and concurrency. Resolved with the template's defaults they do not even exist
(no `ValidatorCodeKey`, no function); given one, they are skipped with a log line.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable

from botocore.exceptions import ClientError

from etl_platform.aws import client_for
from etl_platform.config import Settings
from etl_platform.infra_template import ResolvedResource, ResolvedTemplate

log = logging.getLogger(__name__)


def resolved_template(settings: Settings) -> ResolvedTemplate:
    return ResolvedTemplate.from_file(
        settings.infra_template,
        env=settings.env,
        account_id=settings.account_id,
        region=settings.region,
        endpoint=settings.endpoint_url,
    )


def provision(settings: Settings, *, notifications: bool = True) -> ResolvedTemplate:
    """Create or update every resource; bucket notifications last (and optional, so a
    restore can put objects back without emitting S3 events a second time)."""
    template = resolved_template(settings)
    steps: list[tuple[str, Callable[[Any, ResolvedResource], None], str]] = [
        ("AWS::IAM::Role", _role, "iam"),
        ("AWS::S3::Bucket", _bucket, "s3"),
        ("AWS::SQS::Queue", _queue, "sqs"),
        ("AWS::SQS::QueuePolicy", _queue_policy, "sqs"),
        ("AWS::SNS::Topic", _topic, "sns"),
        ("AWS::SNS::Subscription", _subscription, "sns"),
        ("AWS::DynamoDB::Table", _table, "dynamodb"),
        ("AWS::Glue::Job", _glue_job, "glue"),
        ("AWS::Lambda::Function", _not_run_locally, "lambda"),
        ("AWS::Lambda::EventSourceMapping", _not_run_locally, "lambda"),
    ]
    handled = {resource_type for resource_type, _, _ in steps}
    unknown = {r.type for r in template.resources.values()} - handled
    if unknown:
        raise ValueError(f"the local provisioner has no handler for {sorted(unknown)}")
    for resource_type, handler, service in steps:
        client = client_for(settings, service)
        resources = template.of_type(resource_type)
        if resource_type == "AWS::SQS::Queue":
            # A redrive policy names its dead-letter queue, which must exist first.
            resources.sort(key=lambda r: "RedrivePolicy" in r.properties)
        for resource in resources:
            handler(client, resource)
    if notifications:
        apply_notifications(settings, template)
    log.info("provisioned %d resources from %s", len(template.resources), settings.infra_template)
    return template


def apply_notifications(settings: Settings, template: ResolvedTemplate | None = None) -> None:
    template = template or resolved_template(settings)
    s3 = client_for(settings, "s3")
    for bucket in template.of_type("AWS::S3::Bucket"):
        config = bucket.properties.get("NotificationConfiguration")
        if not config:
            continue
        wanted = notification_api_shape(config)
        current = s3.get_bucket_notification_configuration(Bucket=bucket.name)
        if queue_configurations(current) != wanted["QueueConfigurations"]:
            # Skipped when unchanged: each put makes S3 send an s3:TestEvent to the queue.
            s3.put_bucket_notification_configuration(Bucket=bucket.name, NotificationConfiguration=wanted)


# --- translation of CloudFormation properties into API shapes ---------------------------
def notification_api_shape(config: dict) -> dict:
    """CloudFormation's QueueConfigurations as the API's; an entry without key filter rules
    has no `Filter` (every key), as S3 answers it."""
    def entry(q: dict) -> dict:
        filter_rules = q.get("Filter", {}).get("S3Key", {}).get("Rules", [])
        shaped = {"QueueArn": q["Queue"], "Events": [q["Event"]]}
        if filter_rules:
            shaped["Filter"] = {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in filter_rules]}}
        return shaped

    return {"QueueConfigurations": [entry(q) for q in config.get("QueueConfigurations", [])]}


def queue_configurations(current: dict) -> list[dict]:
    """The queue entries of a GetBucketNotificationConfiguration answer, in
    `notification_api_shape`'s form (without the ids S3 adds)."""
    return [{k: q[k] for k in ("QueueArn", "Events", "Filter") if k in q and (k != "Filter" or _has_rules(q[k]))}
            for q in current.get("QueueConfigurations", [])]


def _has_rules(key_filter: dict) -> bool:
    return bool(key_filter.get("Key", {}).get("FilterRules"))


def encryption_api_shape(config: dict) -> dict:
    return {
        "Rules": [
            {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
            for rule in config["ServerSideEncryptionConfiguration"]
        ]
    }


def lifecycle_api_shape(config: dict) -> dict:
    api_rules = []
    for rule in config["Rules"]:
        api_rule: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"], "Filter": _lifecycle_filter(rule)}
        if "ExpirationInDays" in rule:
            api_rule["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
        if rule.get("ExpiredObjectDeleteMarker"):
            api_rule["Expiration"] = {"ExpiredObjectDeleteMarker": True}
        if "NoncurrentVersionExpiration" in rule:
            api_rule["NoncurrentVersionExpiration"] = {
                "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
            }
        if "AbortIncompleteMultipartUpload" in rule:
            api_rule["AbortIncompleteMultipartUpload"] = {
                "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
            }
        api_rules.append(api_rule)
    return {"Rules": api_rules}


def _lifecycle_filter(rule: dict) -> dict:
    """CloudFormation's Prefix and TagFilters as the API's Filter (an And of both when tagged)."""
    tags = [{"Key": t["Key"], "Value": t["Value"]} for t in rule.get("TagFilters", [])]
    if not tags:
        return {"Prefix": rule.get("Prefix", "")}
    return {"And": {"Prefix": rule.get("Prefix", ""), "Tags": tags}}


def queue_attributes(properties: dict) -> dict[str, str]:
    attributes = {
        key: str(properties[key]).lower() if isinstance(properties[key], bool) else str(properties[key])
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
                    "DelaySeconds", "MaximumMessageSize", "SqsManagedSseEnabled")
        if key in properties
    }
    if "RedrivePolicy" in properties:
        redrive = properties["RedrivePolicy"]
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": redrive["deadLetterTargetArn"], "maxReceiveCount": int(redrive["maxReceiveCount"])}
        )
    return attributes


# --- one handler per resource type ------------------------------------------------------
def _role(iam: Any, resource: ResolvedResource) -> None:
    props = resource.properties
    try:
        iam.create_role(RoleName=props["RoleName"], AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]))
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
    for policy in props.get("Policies", []):
        iam.put_role_policy(
            RoleName=props["RoleName"], PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(policy["PolicyDocument"])
        )


def _bucket(s3: Any, resource: ResolvedResource) -> None:
    props = resource.properties
    name = props["BucketName"]
    create: dict[str, Any] = {"Bucket": name}
    region = s3.meta.region_name
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**create)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    if "BucketEncryption" in props:
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=encryption_api_shape(props["BucketEncryption"]))
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
    if "OwnershipControls" in props:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]})
    if "LifecycleConfiguration" in props:
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration=lifecycle_api_shape(props["LifecycleConfiguration"]))


def _queue(sqs: Any, resource: ResolvedResource) -> None:
    name = resource.properties["QueueName"]
    attributes = queue_attributes(resource.properties)
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            raise
        sqs.create_queue(QueueName=name, Attributes=attributes)
        return
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)


def _queue_policy(sqs: Any, resource: ResolvedResource) -> None:
    for url in resource.properties["Queues"]:
        name = url.rsplit("/", 1)[-1]
        real_url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=real_url, Attributes={"Policy": json.dumps(resource.properties["PolicyDocument"])})


def _topic(sns: Any, resource: ResolvedResource) -> None:
    attributes = {}
    if "KmsMasterKeyId" in resource.properties:
        attributes["KmsMasterKeyId"] = resource.properties["KmsMasterKeyId"]
    sns.create_topic(Name=resource.properties["TopicName"], Attributes=attributes)


def _subscription(sns: Any, resource: ResolvedResource) -> None:
    props = resource.properties
    existing = sns.list_subscriptions_by_topic(TopicArn=props["TopicArn"])["Subscriptions"]
    if any(s["Protocol"] == props["Protocol"] and s["Endpoint"] == props["Endpoint"] for s in existing):
        return
    attributes = {"RawMessageDelivery": str(props.get("RawMessageDelivery", False)).lower()}
    sns.subscribe(TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props["Endpoint"], Attributes=attributes, ReturnSubscriptionArn=True)


def _table(dynamodb: Any, resource: ResolvedResource) -> None:
    props = resource.properties
    name = props["TableName"]
    try:
        dynamodb.describe_table(TableName=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        create: dict[str, Any] = {
            "TableName": name,
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
        }
        if props.get("GlobalSecondaryIndexes"):
            create["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if "StreamSpecification" in props:
            create["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        if "SSESpecification" in props:
            create["SSESpecification"] = {"Enabled": bool(props["SSESpecification"]["SSEEnabled"])}
        dynamodb.create_table(**create)
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        current = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": bool(ttl["Enabled"])}
            )


def _not_run_locally(_client: Any, resource: ResolvedResource) -> None:
    log.info("%s (%s) skipped: the emulator runs no Lambda; locally ndjson_validation_job runs the validator",
             resource.logical_id, resource.type)


def _glue_job(glue: Any, resource: ResolvedResource) -> None:
    props = dict(resource.properties)
    name = props.pop("Name")
    definition: dict[str, Any] = {
        "Role": props["Role"],
        "Command": props["Command"],
        "DefaultArguments": props.get("DefaultArguments", {}),
        "MaxRetries": int(props.get("MaxRetries", 0)),
        "Timeout": int(props.get("Timeout", 2880)),
    }
    if "ExecutionProperty" in props:
        definition["ExecutionProperty"] = {"MaxConcurrentRuns": int(props["ExecutionProperty"]["MaxConcurrentRuns"])}
    if "GlueVersion" in props:
        definition["GlueVersion"] = props["GlueVersion"]
    if "WorkerType" in props:
        definition["WorkerType"] = props["WorkerType"]
        definition["NumberOfWorkers"] = int(props["NumberOfWorkers"])
    elif "MaxCapacity" in props:
        definition["MaxCapacity"] = float(props["MaxCapacity"])
    try:
        current = glue.get_job(JobName=name)["Job"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "EntityNotFoundException":
            raise
        glue.create_job(Name=name, **definition)
        return
    if any(current.get(key) != value for key, value in definition.items()):
        # moto implements no UpdateJob: replace the definition (local run history is lost).
        glue.delete_job(JobName=name)
        glue.create_job(Name=name, **definition)
