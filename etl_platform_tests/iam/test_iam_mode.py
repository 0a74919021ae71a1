"""The IAM-enforced emulator refuses what a policy does not grant, on the points where
plain moto 5.2.5 would not check (or would check the wrong thing); see local/iam_mode.py."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from botocore.exceptions import ClientError

from etl_platform.aws import client_for, make_client
from etl_platform.config import AwsCredentials
from etl_platform.local import iam_policy
from etl_platform.local.iam_mode import admin_arn
from etl_platform.local.iam_session import as_role, role_name

ACCOUNT = "123456789012"


def _probe(admin, statements: list[dict], name: str = "iam-probe"):
    """Settings signing as a fresh role with exactly `statements`, trusted by the admin."""
    iam = client_for(admin, "iam")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": admin_arn(ACCOUNT)}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=name, PolicyName="probe",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    credentials = client_for(admin, "sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}",
                                                       RoleSessionName="probe")["Credentials"]
    return admin.with_overrides(credentials=AwsCredentials(
        credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]))


def _refused(call) -> None:
    with pytest.raises(ClientError) as refused:
        call()
    error = refused.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403, error


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:us-east-1:{ACCOUNT}:{resource}"


def test_unknown_keys_are_refused(admin):
    dummy = make_client("sqs", region="us-east-1", endpoint_url=admin.endpoint_url)  # the normal mode's keys
    with pytest.raises(ClientError) as refused:
        dummy.list_queues()
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "InvalidClientTokenId" in str(refused.value)  # moto answers JSON services with an XML body


def test_dynamodb_is_checked_per_table_and_index(admin):
    names = admin.names
    jobs = _arn("dynamodb", f"table/{names.jobs_table}")
    probe = client_for(_probe(admin, [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchWriteItem"], "Resource": jobs},
    ]), "dynamodb")
    probe.get_item(TableName=names.jobs_table, Key={"jobId": {"S": "a"}})
    _refused(lambda: probe.get_item(TableName=names.metrics_table, Key={"date_prefix": {"S": "a"}, "manifest_id": {"S": "b"}}))
    # An index is a resource of its own: the table's grant does not cover it.
    _refused(lambda: probe.query(TableName=names.jobs_table, IndexName=names.jobs_status_index,
                                 KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "status"},
                                 ExpressionAttributeValues={":s": {"S": "PENDING"}}))
    # A batch needs every table it writes to.
    _refused(lambda: probe.batch_write_item(RequestItems={
        names.jobs_table: [{"PutRequest": {"Item": {"jobId": {"S": "x"}}}}],
        names.file_metadata_table: [{"PutRequest": {"Item": {"file_name": {"S": "x"}}}}],
    }))


def test_sns_glue_and_sqs_are_checked_per_resource(admin):
    names = admin.names
    topic = _arn("sns", names.alerts_topic)
    other = client_for(admin, "sns").create_topic(Name="another-topic")["TopicArn"]
    probe = _probe(admin, [
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": topic},
        {"Effect": "Allow", "Action": "glue:GetJobRuns", "Resource": _arn("glue", f"job/{names.parquet_to_json_glue_job}")},
        {"Effect": "Allow", "Action": "sqs:GetQueueUrl", "Resource": _arn("sqs", names.file_events_queue)},
        {"Effect": "Allow", "Action": "sqs:DeleteMessage", "Resource": _arn("sqs", names.file_events_queue)},
    ])
    client_for(probe, "sns").publish(TopicArn=topic, Message="x")
    _refused(lambda: client_for(probe, "sns").publish(TopicArn=other, Message="x"))
    glue = client_for(probe, "glue")
    glue.get_job_runs(JobName=names.parquet_to_json_glue_job)
    _refused(lambda: glue.get_job_runs(JobName=names.ndjson_glue_job))
    sqs = client_for(probe, "sqs")
    url = sqs.get_queue_url(QueueName=names.file_events_queue)["QueueUrl"]
    _refused(lambda: sqs.get_queue_url(QueueName=names.file_events_dlq))
    # DeleteMessageBatch is authorized by sqs:DeleteMessage, as on AWS.
    response = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "1", "ReceiptHandle": "unknown"}])
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_copy_needs_read_access_to_its_source(admin):
    names = admin.names
    client_for(admin, "s3").put_object(Bucket=names.jobs_input_bucket, Key="uploads/a/x.bin", Body=b"x")
    probe = client_for(_probe(admin, [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{names.jobs_output_bucket}/*"},
    ]), "s3")
    _refused(lambda: probe.copy_object(Bucket=names.jobs_output_bucket, Key="output/x.bin",
                                       CopySource={"Bucket": names.jobs_input_bucket, "Key": "uploads/a/x.bin"}))


def test_a_versioned_read_needs_the_version_actions(admin):
    """GetObject is not enough for one version of an object: AWS asks for GetObjectVersion
    (a GET, a HEAD or a copy naming the version) and PutObjectVersionTagging."""
    names = admin.names
    version = client_for(admin, "s3").put_object(Bucket=names.jobs_input_bucket, Key="uploads/a/v.bin", Body=b"v")["VersionId"]
    source = {"Bucket": names.jobs_input_bucket, "Key": "uploads/a/v.bin", "VersionId": version}
    current_only = client_for(_probe(admin, [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging"], "Resource": [
            f"arn:aws:s3:::{names.jobs_input_bucket}/*", f"arn:aws:s3:::{names.jobs_output_bucket}/*"]},
    ]), "s3")
    assert current_only.head_object(Bucket=names.jobs_input_bucket, Key="uploads/a/v.bin")["VersionId"] == version
    _refused(lambda: current_only.get_object(**source))
    _refused(lambda: current_only.head_object(**source))
    _refused(lambda: current_only.copy_object(Bucket=names.jobs_output_bucket, Key="output/v.bin", CopySource=source))
    _refused(lambda: current_only.put_object_tagging(**source, Tagging={"TagSet": [{"Key": "a", "Value": "b"}]}))


def test_presigned_urls_carry_their_signers_permissions(admin):
    names = admin.names
    client_for(admin, "s3").put_object(Bucket=names.jobs_output_bucket, Key="output/j/x.ndjson", Body=b"{}\n")
    reader = client_for(_probe(admin, [{"Effect": "Allow", "Action": "s3:GetObject",
                                        "Resource": f"arn:aws:s3:::{names.jobs_output_bucket}/output/*"}]), "s3")
    params = {"Bucket": names.jobs_output_bucket, "Key": "output/j/x.ndjson"}
    assert httpx.get(reader.generate_presigned_url("get_object", Params=params, ExpiresIn=60)).content == b"{}\n"
    put = reader.generate_presigned_url("put_object", Params=params, ExpiresIn=60)
    assert httpx.put(put, content=b"overwritten").status_code == 403
    expired = reader.generate_presigned_url("get_object", Params=params, ExpiresIn=1)
    time.sleep(2)
    assert httpx.get(expired).status_code == 403


def test_trust_policies_decide_who_may_assume_a_role(admin):
    runtime = client_for(as_role(admin, "DagsterRuntimeRole"), "sts")
    glue_role = f"arn:aws:iam::{ACCOUNT}:role/{role_name(admin, 'NdjsonGlueRole')}"
    _refused(lambda: runtime.assume_role(RoleArn=glue_role, RoleSessionName="escalate"))
    # The admin stands in for glue.amazonaws.com, which the role trusts.
    assert client_for(admin, "sts").assume_role(RoleArn=glue_role, RoleSessionName="glue")["Credentials"]


# --- the pure rules ---------------------------------------------------------------------
def test_trust_rules():
    service = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    assert iam_policy.trust_allows(service, "arn:admin", "arn:admin")
    assert not iam_policy.trust_allows(service, "arn:someone", "arn:admin")
    named = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["arn:x"]}, "Action": "sts:AssumeRole"},
                           {"Effect": "Deny", "Principal": {"AWS": "arn:y"}, "Action": "sts:AssumeRole"}]}
    assert iam_policy.trust_allows(named, "arn:x", None) and not iam_policy.trust_allows(named, "arn:y", None)


def test_resource_rules():
    assert iam_policy.dynamodb_resources({"TableName": "t", "IndexName": "i"}, "r", "1") == ["arn:aws:dynamodb:r:1:table/t/index/i"]
    assert iam_policy.dynamodb_resources({"RequestItems": {"a": [], "b": []}}, "r", "1") == [
        "arn:aws:dynamodb:r:1:table/a", "arn:aws:dynamodb:r:1:table/b"]
    assert iam_policy.dynamodb_resources({}, "r", "1") == ["*"]
    assert iam_policy.sqs_resources("http://h/1/q", None, "r", "1") == ["arn:aws:sqs:r:1:q"]
    assert iam_policy.glue_resources({"JobName": "j"}, "r", "1") == ["arn:aws:glue:r:1:job/j"]
    assert iam_policy.copy_source("/b/k%20x?versionId=3") == ("b", "k x")
    assert iam_policy.iam_action("sqs:DeleteMessageBatch") == "sqs:DeleteMessage"
