"""Drift: what the local provisioner creates equals what the template declares.

The provisioner reads the template, so this checks the translation, resource by resource,
against the live emulator: names, keys, indexes, TTL, streams, notifications, queue
settings, encryption, public access, lifecycle, subscriptions and Glue job definitions.
"""

import json

from etl_platform.aws import client_for
from etl_platform.local.provision import (
    encryption_api_shape, lifecycle_api_shape, notification_api_shape, provision, queue_configurations,
    resolved_template,
)


def test_buckets_match_template(aws):
    s3 = client_for(aws, "s3")
    template = resolved_template(aws)
    assert sorted(b["Name"] for b in s3.list_buckets()["Buckets"]) == sorted(aws.names.buckets())
    for bucket in template.of_type("AWS::S3::Bucket"):
        props = bucket.properties
        encryption = s3.get_bucket_encryption(Bucket=bucket.name)["ServerSideEncryptionConfiguration"]
        assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"] == encryption_api_shape(props["BucketEncryption"])["Rules"][0]["ApplyServerSideEncryptionByDefault"]
        assert s3.get_public_access_block(Bucket=bucket.name)["PublicAccessBlockConfiguration"] == props["PublicAccessBlockConfiguration"]
        if "LifecycleConfiguration" in props:
            rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket.name)["Rules"]
            expected = lifecycle_api_shape(props["LifecycleConfiguration"])["Rules"]
            shape = ("ID", "Filter", "Expiration", "NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload")
            assert [tuple(r.get(k) for k in shape) for r in rules] == [tuple(r.get(k) for k in shape) for r in expected]
        versioning = s3.get_bucket_versioning(Bucket=bucket.name).get("Status")
        assert versioning == props.get("VersioningConfiguration", {}).get("Status"), bucket.name
        notifications = s3.get_bucket_notification_configuration(Bucket=bucket.name)
        expected_queues = notification_api_shape(props.get("NotificationConfiguration", {}))["QueueConfigurations"]
        assert queue_configurations(notifications) == expected_queues, bucket.name
    landing = s3.get_bucket_notification_configuration(Bucket=aws.names.ndjson_input_bucket)["QueueConfigurations"][0]
    assert landing["QueueArn"].endswith(":" + aws.names.file_events_queue)
    assert "Filter" not in landing  # every created object, whatever its key (README: "Every landed object")


def test_queues_match_template(aws):
    sqs = client_for(aws, "sqs")
    template = resolved_template(aws)
    for queue in template.of_type("AWS::SQS::Queue"):
        url = sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds"):
            if key in queue.properties:
                assert attributes[key] == str(queue.properties[key]), (queue.name, key)
        if "RedrivePolicy" in queue.properties:
            redrive = json.loads(attributes["RedrivePolicy"])
            assert redrive["deadLetterTargetArn"] == queue.properties["RedrivePolicy"]["deadLetterTargetArn"]
            assert int(redrive["maxReceiveCount"]) == queue.properties["RedrivePolicy"]["maxReceiveCount"]
    events = sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=aws.names.file_events_queue)["QueueUrl"], AttributeNames=["All"])["Attributes"]
    assert (events["VisibilityTimeout"], events["MessageRetentionPeriod"]) == ("360", str(4 * 86400))
    assert json.loads(events["RedrivePolicy"])["maxReceiveCount"] == 3
    dlq = sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=aws.names.file_events_dlq)["QueueUrl"], AttributeNames=["All"])["Attributes"]
    assert dlq["MessageRetentionPeriod"] == str(14 * 86400)
    for policy in template.of_type("AWS::SQS::QueuePolicy"):
        url = sqs.get_queue_url(QueueName=policy.properties["Queues"][0].rsplit("/", 1)[-1])["QueueUrl"]
        live = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
        assert live["Statement"] == policy.properties["PolicyDocument"]["Statement"]


def test_tables_match_template(aws):
    dynamodb = client_for(aws, "dynamodb")
    template = resolved_template(aws)
    assert sorted(dynamodb.list_tables()["TableNames"]) == sorted(aws.names.tables())
    for table in template.of_type("AWS::DynamoDB::Table"):
        props = table.properties
        live = dynamodb.describe_table(TableName=table.name)["Table"]
        assert live["KeySchema"] == props["KeySchema"]
        assert sorted(live["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"])
        expected_indexes = {g["IndexName"]: (g["KeySchema"], g["Projection"]["ProjectionType"]) for g in props.get("GlobalSecondaryIndexes", [])}
        live_indexes = {g["IndexName"]: (g["KeySchema"], g["Projection"]["ProjectionType"]) for g in live.get("GlobalSecondaryIndexes", [])}
        assert live_indexes == expected_indexes, table.name
        ttl = dynamodb.describe_time_to_live(TableName=table.name)["TimeToLiveDescription"]
        if "TimeToLiveSpecification" in props:
            assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED"
        stream = live.get("StreamSpecification", {})
        if "StreamSpecification" in props:
            assert stream.get("StreamEnabled") and stream["StreamViewType"] == props["StreamSpecification"]["StreamViewType"]
        else:
            assert not stream.get("StreamEnabled")


def test_topic_subscription_and_glue_jobs_match_template(aws):
    sns, glue = client_for(aws, "sns"), client_for(aws, "glue")
    template = resolved_template(aws)
    topic_arn = next(iter(template.of_type("AWS::SNS::Subscription"))).properties["TopicArn"]
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"].rsplit(":", 1)[-1]) for s in subscriptions] == [("sqs", aws.names.alerts_inbox_queue)]
    for job in template.of_type("AWS::Glue::Job"):
        live = glue.get_job(JobName=job.name)["Job"]
        assert live["Command"]["ScriptLocation"] == job.properties["Command"]["ScriptLocation"]
        assert live["Command"]["Name"] == job.properties["Command"]["Name"]
        assert live["DefaultArguments"] == job.properties["DefaultArguments"]
        assert live["Role"] == job.properties["Role"]


def test_provisioning_twice_changes_nothing(aws):
    sqs = client_for(aws, "sqs")
    url = sqs.get_queue_url(QueueName=aws.names.file_events_queue)["QueueUrl"]
    sqs.purge_queue(QueueUrl=url)
    provision(aws)
    # An unchanged notification configuration is not put again (each put sends an s3:TestEvent).
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None
    assert sorted(client_for(aws, "dynamodb").list_tables()["TableNames"]) == sorted(aws.names.tables())
