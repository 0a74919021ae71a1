"""The embedded S3 enforces presigned-POST policies as S3 does (moto alone stores anything).

Real HTTP form uploads to the emulator, policies signed by boto3 with the emulator's
credentials. Each refusal must leave no object behind.
"""

import base64
import json

import httpx
import pytest
from botocore.exceptions import ClientError

from etl_platform.aws import client_for, make_client

KEY = "uploads/policy-test/data é.parquet"
LIMIT = 1000


@pytest.fixture
def s3(aws):
    return client_for(aws, "s3")


@pytest.fixture
def bucket(aws):
    return aws.names.jobs_input_bucket


def _presign(s3, bucket, *, key=KEY, expires=300, low=1, high=LIMIT):
    return s3.generate_presigned_post(bucket, key, Conditions=[["content-length-range", low, high]], ExpiresIn=expires)


def _post(presigned, body: bytes, **field_changes) -> httpx.Response:
    fields = {**presigned["fields"], **field_changes}
    return httpx.post(presigned["url"], data=fields, files={"file": ("data.parquet", body, "application/octet-stream")},
                      timeout=60)


def _stored(s3, bucket, key=KEY) -> bytes | None:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        assert exc.response["Error"]["Code"] in ("NoSuchKey", "404")
        return None


def _error(response: httpx.Response) -> tuple[int, str]:
    code = response.text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in response.text else ""
    return response.status_code, code


def test_within_the_range_is_stored(s3, bucket):
    body = b"x" * LIMIT
    assert _post(_presign(s3, bucket), body).status_code == 204
    assert _stored(s3, bucket) == body


def test_over_and_under_the_range_are_refused_by_s3(s3, bucket):
    too_large = _post(_presign(s3, bucket), b"x" * (LIMIT + 1))
    assert _error(too_large) == (400, "EntityTooLarge")
    assert f"<ProposedSize>{LIMIT + 1}</ProposedSize><MaxSizeAllowed>{LIMIT}</MaxSizeAllowed>" in too_large.text
    assert _error(_post(_presign(s3, bucket), b"")) == (400, "EntityTooSmall")
    assert _stored(s3, bucket) is None


def test_a_tampered_policy_or_signature_is_refused(s3, bucket):
    presigned = _presign(s3, bucket)
    document = json.loads(base64.b64decode(presigned["fields"]["policy"]))
    document["conditions"][0] = ["content-length-range", 1, 10 * LIMIT]   # raise the limit, keep the signature
    raised = base64.b64encode(json.dumps(document).encode()).decode()
    assert _error(_post(presigned, b"x" * (2 * LIMIT), policy=raised)) == (403, "SignatureDoesNotMatch")
    assert _error(_post(presigned, b"x", **{"x-amz-signature": "0" * 64})) == (403, "SignatureDoesNotMatch")
    stranger = make_client("s3", region="us-east-1", endpoint_url=s3.meta.endpoint_url,
                           credentials={"aws_access_key_id": "testing", "aws_secret_access_key": "not-the-secret"})
    assert _error(_post(_presign(stranger, bucket), b"x")) == (403, "SignatureDoesNotMatch")
    unknown = make_client("s3", region="us-east-1", endpoint_url=s3.meta.endpoint_url,
                          credentials={"aws_access_key_id": "AKIAUNKNOWN", "aws_secret_access_key": "x"})
    assert _error(_post(_presign(unknown, bucket), b"x")) == (403, "InvalidAccessKeyId")
    assert _stored(s3, bucket) is None


def test_policy_conditions_expiry_and_extra_fields(s3, bucket):
    presigned = _presign(s3, bucket)
    assert _error(_post(presigned, b"x", key="uploads/elsewhere.parquet")) == (403, "AccessDenied")
    assert _stored(s3, bucket, "uploads/elsewhere.parquet") is None
    assert _error(_post(presigned, b"x", **{"x-amz-meta-owner": "me"})) == (403, "AccessDenied")
    assert _post(presigned, b"x", **{"x-ignore-note": "ignored"}).status_code == 204   # x-ignore-* needs no condition
    expired = _presign(s3, bucket, key="uploads/late.parquet", expires=-60)
    refused = _post(expired, b"x")
    assert _error(refused) == (403, "AccessDenied") and "Policy expired" in refused.text
    assert _stored(s3, bucket, "uploads/late.parquet") is None


def test_an_unsigned_form_upload_is_refused_and_other_posts_still_work(s3, bucket):
    response = httpx.post(f"{s3.meta.endpoint_url}/{bucket}", data={"key": KEY},
                          files={"file": ("a", b"x", "application/octet-stream")}, timeout=60)
    assert _error(response) == (403, "AccessDenied")
    assert _stored(s3, bucket) is None
    s3.put_object(Bucket=bucket, Key="uploads/a", Body=b"1")
    s3.put_object(Bucket=bucket, Key="uploads/b", Body=b"2")
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "uploads/a"}, {"Key": "uploads/b"}]})  # POST ?delete
    assert sorted(d["Key"] for d in deleted["Deleted"]) == ["uploads/a", "uploads/b"]


def test_malformed_policies_are_refused_not_crashed_on():
    """The check itself, on signed policies S3 would reject as invalid documents."""
    import hashlib
    import hmac

    from etl_platform.local.post_policy import PolicyViolation, check_post_upload

    def signed(document) -> dict:
        policy = base64.b64encode(json.dumps(document).encode()).decode()
        key = b"AWS4secret"
        for part in ("20261202", "us-east-1", "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        return {"key": "k", "policy": policy, "x-amz-credential": "AK/20261202/us-east-1/s3/aws4_request",
                "x-amz-signature": hmac.new(key, policy.encode(), hashlib.sha256).hexdigest()}

    def check(document, size=5):
        check_post_upload(signed(document), bucket="b", size=size, secret_for={"AK": "secret"}.get)

    check({"expiration": "2999-01-01T00:00:00", "conditions": [{"key": "k"}, ["starts-with", "$x-amz-credential", ""],
                                                               ["content-length-range", 1, 9]]})  # naive: UTC
    for document in ({"conditions": []}, {"expiration": "2999-01-01T00:00:00Z", "conditions": [["content-length-range", "a", 9]]},
                     {"expiration": "2999-01-01T00:00:00Z", "conditions": [["between", "$key", "k"]]},
                     {"expiration": "2999-01-01T00:00:00Z", "conditions": [{"key": "k", "bucket": "b"}]}):
        with pytest.raises(PolicyViolation) as refused:
            check(document)
        assert (refused.value.status, refused.value.code) == (400, "InvalidPolicyDocument")
