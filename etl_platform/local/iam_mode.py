"""IAM authorization for the embedded AWS (opt-in: `python -m etl_platform.local.server --iam`).

moto checks identity policies once `INITIAL_NO_AUTH_ACTION_COUNT` is reached; by default
it never is, so any request passes and a permission the template lacks goes unnoticed.
`install()` switches enforcement on for every request and closes the gaps that would
make the check meaningless for this platform (see `iam_policy` for the pure rules):

- an admin IAM user (inline `*` policy) is created in moto's backend before the first
  request, with fresh keys the server records in its state file; the server provisions
  and snapshots with it, tests wipe with it and assume the template's roles with it.
  A wipe (`/moto-api/reset`) empties IAM, so the admin is put back after each one;
- DynamoDB, SNS, Glue and SQS requests are checked against the table/index, topic, job
  or queue ARN they name (moto checks the first three, and GetQueueUrl, against `"*"`),
  each table of a batch request;
- SQS batch operations need the IAM action AWS checks for them (sqs:DeleteMessage for
  DeleteMessageBatch...), not their own name, which no valid policy can grant;
- AssumeRole evaluates the role's trust policy (moto's crashes on service principals):
  the admin stands in for the service a trust policy names;
- CopyObject and UploadPartCopy also need s3:GetObject on the source, as on AWS (moto
  checks s3:PutObject on the destination only);
- a presigned S3 URL is checked against its signer's policies and its expiry (moto fails
  it with a server error, as it looks for an Authorization header). Its signature is not
  verified.

Each decision is logged at DEBUG (`emulator.log`): what a role really uses, for pruning
a policy to least privilege.

What moto still does not evaluate is listed in the README ("How the local stack proves IAM").
"""

from __future__ import annotations

import json
import logging
import secrets
import string
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import parse_qs, urlparse

from moto import settings as moto_settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.dynamodb.responses import DynamoHandler
from moto.glue.responses import GlueResponse
from moto.iam.access_control import CreateAccessKeyFailure, IAMRequestBase, S3IAMRequest, create_access_key
from moto.iam.models import iam_backends
from moto.moto_api._internal.models import MotoAPIBackend
from moto.s3.responses import S3Response
from moto.sns.responses import SNSResponse
from moto.sqs.responses import SQSResponse
from moto.utilities.utils import get_partition

from etl_platform.config import AwsCredentials
from etl_platform.local import iam_policy

log = logging.getLogger(__name__)
ADMIN_USER = "etl-platform-emulator-admin"
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}

_installed: dict[str, Any] = {}


def install(account_id: str) -> AwsCredentials:
    """Switch IAM enforcement on in this process's moto; returns the admin's keys.
    Call once, before the server answers its first request."""
    if _installed:
        return _installed["admin"]
    admin = AwsCredentials(
        access_key_id="AKIA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16)),
        secret_access_key=secrets.token_urlsafe(30),
    )
    _installed.update(admin=admin, account_id=account_id)
    _add_admin()
    _keep_admin_across_resets()
    _resolve_resources(DynamoHandler, lambda r: iam_policy.dynamodb_resources(_json_params(r), r.region, r.current_account))
    _resolve_resources(SNSResponse, lambda r: iam_policy.sns_resources(_query_params(r), r.region, r.current_account))
    _resolve_resources(SQSResponse, lambda r: iam_policy.sqs_resources(
        r._get_param("QueueUrl"), r._get_param("QueueName"), r.region, r.current_account))
    _resolve_resources(GlueResponse, lambda r: iam_policy.glue_resources(_json_params(r), r.region, r.current_account))
    _evaluate_trust_policies()
    _log_decisions()
    _authorize_batch_operations_as_their_actions()
    _check_copy_sources()
    _authorize_presigned_requests()
    _authorize_object_versions_as_aws_does()
    moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    return admin


def admin_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:user/{ADMIN_USER}"


def _add_admin() -> None:
    admin: AwsCredentials = _installed["admin"]
    backend = iam_backends[_installed["account_id"]]["aws"]
    if ADMIN_USER in backend.users:
        return
    backend.create_user(region_name="us-east-1", user_name=ADMIN_USER)
    backend.put_user_policy(ADMIN_USER, "administrator", json.dumps(ADMIN_POLICY))
    key = backend.create_access_key(ADMIN_USER)
    key.access_key_id, key.secret_access_key = admin.access_key_id, admin.secret_access_key


def _keep_admin_across_resets() -> None:
    original = MotoAPIBackend.reset

    def reset(self: MotoAPIBackend) -> None:
        original(self)
        _add_admin()

    MotoAPIBackend.reset = reset  # type: ignore[method-assign]


def _resolve_resources(handler: type, resources: Callable[[Any], list[str]]) -> None:
    """Check a service's requests against the ARNs they name, every one of them."""
    check = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action

    def authorize(self: Any, resource: str = "*") -> None:
        if ActionAuthenticatorMixin.request_count < moto_settings.INITIAL_NO_AUTH_ACTION_COUNT:
            check(self, resource)  # enforcement off: only counts the request
            return
        for arn in resources(self):
            check(self, arn)

    handler._authenticate_and_authorize_normal_action = authorize  # type: ignore[attr-defined]


# What AWS checks for a request on one version of an object, where moto checks the
# action of the current version (moto maps GET and DELETE with versionId already).
VERSION_ACTIONS = {
    "GetObject": "GetObjectVersion",  # HEAD ?versionId=
    "GetObjectTagging": "GetObjectVersionTagging",
    "PutObjectTagging": "PutObjectVersionTagging",
    "GetObjectAcl": "GetObjectVersionAcl",
}


def _authorize_object_versions_as_aws_does() -> None:
    set_action = S3Response._set_action

    def versioned(self: S3Response, action_resource_type: str, method: str, querystring: dict[str, Any]) -> None:
        set_action(self, action_resource_type, method, querystring)
        if action_resource_type == "KEY" and "versionId" in querystring:
            self.data["Action"] = VERSION_ACTIONS.get(self.data["Action"], self.data["Action"])

    S3Response._set_action = versioned  # type: ignore[method-assign]


def _json_params(response: Any) -> dict:
    body = response.body
    if isinstance(body, dict):  # DynamoHandler replaces the body with its parsed parameters
        return body
    try:
        return json.loads(body or "{}")
    except ValueError:
        return {}


def _query_params(response: Any) -> dict:
    return {key: values[0] for key, values in response.querystring.items() if values}


def _evaluate_trust_policies() -> None:
    def check_trust(self: IAMRequestBase, role_arn: str) -> bool:
        role = self.backend.get_role_by_arn(role_arn)
        document = role.assume_role_policy_document
        policy = json.loads(document) if isinstance(document, str) else document
        return iam_policy.trust_allows(policy, self._access_key.arn, admin_arn(_installed["account_id"]))

    IAMRequestBase._check_role_trust_relationship = check_trust  # type: ignore[method-assign]


def _log_decisions() -> None:
    """Each authorization decision, at DEBUG: what a role really uses (least privilege)."""
    original = IAMRequestBase.check_action_permitted

    def check(self: IAMRequestBase, resource: str) -> None:
        try:
            original(self, resource)
        except Exception:
            log.debug("DENY %s %s %s", self._access_key.arn, self._action, resource)
            raise
        log.debug("ALLOW %s %s %s", self._access_key.arn, self._action, resource)

    IAMRequestBase.check_action_permitted = check  # type: ignore[method-assign]


def _authorize_batch_operations_as_their_actions() -> None:
    original = IAMRequestBase.__init__

    def init(self: IAMRequestBase, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._action = iam_policy.iam_action(self._action)

    IAMRequestBase.__init__ = init  # type: ignore[method-assign]


def _check_copy_sources() -> None:
    original = S3Response._key_response_put

    def key_response_put(self: S3Response, query: dict, key_name: str) -> Any:
        source = self.headers.get("x-amz-copy-source")
        parsed = iam_policy.copy_source(source) if source else None
        if parsed:  # AWS asks for GetObjectVersion when the source names a version
            self.data["Action"] = "GetObjectVersion" if "versionId=" in source else "GetObject"
            self._authenticate_and_authorize_s3_action(bucket_name=parsed[0], key_name=parsed[1])
        return original(self, query, key_name)

    S3Response._key_response_put = key_response_put  # type: ignore[method-assign]


class _PresignedS3Request(S3IAMRequest):
    """An S3 request authenticated by query parameters (a presigned URL): the identity
    comes from X-Amz-Credential (and X-Amz-Security-Token for a role session)."""

    def __init__(self, account_id: str, query: dict[str, list[str]], action: str, data: dict) -> None:
        self.account_id, self._data = account_id, data
        key_id, _, region, service, _ = query["X-Amz-Credential"][0].split("/")
        self._region, self._service, self._action = region, service, f"{service}:{action}"
        token = query.get("X-Amz-Security-Token", [None])[0]
        try:
            self._access_key = create_access_key(
                account_id=account_id, partition=get_partition(region), access_key_id=key_id,
                headers={"X-Amz-Security-Token": token} if token else {},
            )
        except CreateAccessKeyFailure as failure:
            self._raise_invalid_access_key(failure.reason)
        if "X-Amz-Date" not in query:  # a POST form: its policy's expiration was checked already
            return
        signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        if datetime.now(timezone.utc) > signed_at + timedelta(seconds=int(query.get("X-Amz-Expires", ["0"])[0])):
            self._raise_access_denied()  # AWS: "Request has expired"


def _authorize_presigned_requests() -> None:
    original = S3Response._authenticate_and_authorize_s3_action

    def authorize(self: S3Response, bucket_name: str | None = None, key_name: str | None = None) -> None:
        query = parse_qs(urlparse(self.uri).query)
        enforced = ActionAuthenticatorMixin.request_count >= moto_settings.INITIAL_NO_AUTH_ACTION_COUNT
        form = getattr(self, "post_form", None)  # a form upload post_policy verified (signature, expiry)
        if enforced and "Authorization" not in self.headers and form and "x-amz-credential" in form:
            signer = {"X-Amz-Credential": [form["x-amz-credential"]]}
            if form.get("x-amz-security-token"):
                signer["X-Amz-Security-Token"] = [form["x-amz-security-token"]]
            request = _PresignedS3Request(self.current_account, signer, "PutObject", self.data)
            request.check_action_permitted(f"arn:{get_partition(self.region)}:s3:::{bucket_name}/{form.get('key', '')}")
            return
        if not enforced or "Authorization" in self.headers or "X-Amz-Credential" not in query:
            original(self, bucket_name, key_name)
            return
        arn = f"{bucket_name or '*'}/{key_name}" if key_name else (bucket_name or "*")
        request = _PresignedS3Request(self.current_account, query, self._get_action(), self.data)
        request.check_action_permitted(f"arn:{get_partition(self.region)}:s3:::{arn}")

    S3Response._authenticate_and_authorize_s3_action = authorize  # type: ignore[method-assign]
