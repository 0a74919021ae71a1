"""Browser-form (presigned POST) uploads checked as S3 checks them; moto checks nothing.

Pipeline A hands out presigned POSTs whose policy caps the size (`content-length-range`,
see resources/job_files.py). S3 enforces that policy itself; moto 5.2.5 stores whatever
is posted, even with a tampered or expired policy. `install()` makes the embedded server
refuse, before anything is stored, what S3 refuses:

- no policy on a form upload: 403 AccessDenied (every bucket here is private);
- a signature that is not the policy's, HMAC-SHA256 with the SigV4 key of the
  `x-amz-credential` (or SigV2's HMAC-SHA1): 403 SignatureDoesNotMatch; an unknown access
  key: 403 InvalidAccessKeyId. Keys are the emulator's own and moto IAM users';
- a policy past its `expiration`: 403 AccessDenied "Policy expired.";
- a condition that fails (`{"field": v}`, `eq`, `starts-with`; names case-insensitive,
  `bucket` is the bucket posted to): 403 AccessDenied "Policy Condition failed";
- a form field no condition covers (other than policy, signature, file, `x-ignore-*`):
  403 AccessDenied "Extra input fields";
- a file outside `content-length-range`: 400 EntityTooSmall / EntityTooLarge, with the
  proposed and allowed sizes, as S3 answers.

Form names, codes and messages follow S3's POST Object documentation ("Creating a POST
policy", "Authenticating Requests in Browser-Based Uploads Using POST").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone
from typing import Any, Callable, Mapping
from xml.sax.saxutils import escape

UNCHECKED_FIELDS = {"policy", "x-amz-signature", "signature", "file", "awsaccesskeyid"}


class PolicyViolation(Exception):
    def __init__(self, status: int, code: str, message: str, **details: Any):
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details

    def xml(self) -> str:
        extra = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in self.details.items())
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{self.code}</Code>'
                f"<Message>{escape(self.message)}</Message>{extra}<RequestId>etl-platform-emulator</RequestId></Error>")


def _denied(message: str) -> PolicyViolation:
    return PolicyViolation(403, "AccessDenied", message)


def check_post_upload(form: Mapping[str, str], *, bucket: str, size: int,
                      secret_for: Callable[[str], str | None], now: datetime | None = None) -> None:
    """Raise PolicyViolation unless S3 would store this form upload. `form` holds the
    non-file fields (key already with `${filename}` substituted), `size` the file's bytes."""
    fields = {name.lower(): value for name, value in form.items()}
    policy = fields.get("policy")
    if not policy:
        raise _denied("Access Denied")
    _check_signature(policy, fields, secret_for)
    try:
        document = json.loads(base64.b64decode(policy, validate=True))
        expiration = datetime.fromisoformat(document["expiration"])
        conditions = list(document["conditions"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PolicyViolation(400, "InvalidPolicyDocument", f"Invalid Policy: {exc}") from exc
    if expiration.tzinfo is None:   # the policy grammar is UTC
        expiration = expiration.replace(tzinfo=timezone.utc)
    if (now or datetime.now(timezone.utc)) >= expiration:
        raise _denied("Invalid according to Policy: Policy expired.")
    covered = set()
    for condition in conditions:
        try:
            covered |= _check_condition(condition, fields, bucket, size)
        except (ValueError, TypeError) as exc:   # e.g. a range bound that is not a number
            raise PolicyViolation(400, "InvalidPolicyDocument",
                                  f"Invalid Policy: Invalid Condition: {json.dumps(condition)}") from exc
    extra = sorted(name for name in fields if name not in covered and name not in UNCHECKED_FIELDS
                   and not name.startswith("x-ignore-"))
    if extra:
        raise _denied(f"Invalid according to Policy: Extra input fields: {', '.join(extra)}")


def _check_signature(policy: str, fields: dict[str, str], secret_for: Callable[[str], str | None]) -> None:
    if "x-amz-signature" in fields:
        access_key, _, scope = fields.get("x-amz-credential", "").partition("/")
        parts = scope.split("/")
        if len(parts) != 4:
            raise PolicyViolation(400, "InvalidArgument", "Invalid credential in x-amz-credential")
        secret = _secret(access_key, secret_for)
        key = ("AWS4" + secret).encode()
        for part in parts:   # date, region, service, aws4_request
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, policy.encode(), hashlib.sha256).hexdigest()
        given = fields["x-amz-signature"]
    elif "signature" in fields:
        secret = _secret(fields.get("awsaccesskeyid", ""), secret_for)
        expected = base64.b64encode(hmac.new(secret.encode(), policy.encode(), hashlib.sha1).digest()).decode()
        given = fields["signature"]
    else:
        raise _denied("Access Denied")
    if not hmac.compare_digest(expected, given):
        raise PolicyViolation(403, "SignatureDoesNotMatch", "The request signature we calculated does not match "
                                                             "the signature you provided. Check your key and signing method.")


def _secret(access_key: str, secret_for: Callable[[str], str | None]) -> str:
    secret = secret_for(access_key)
    if secret is None:
        raise PolicyViolation(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.",
                              AWSAccessKeyId=access_key)
    return secret


def _check_condition(condition: Any, fields: dict[str, str], bucket: str, size: int) -> set[str]:
    """The form fields this condition covers; PolicyViolation if it fails."""
    def value_of(name: str) -> str | None:
        return bucket if name == "bucket" else fields.get(name)

    if isinstance(condition, dict) and len(condition) == 1:
        [(name, expected)] = condition.items()
        condition = ["eq", f"${name}", expected]
    if isinstance(condition, list) and len(condition) == 3:
        operator, name, expected = condition
        if operator == "content-length-range":
            low, high = int(name), int(expected)
            if size < low:
                raise PolicyViolation(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size",
                                      ProposedSize=size, MinSizeAllowed=low)
            if size > high:
                raise PolicyViolation(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size",
                                      ProposedSize=size, MaxSizeAllowed=high)
            return set()
        if operator in ("eq", "starts-with") and isinstance(name, str) and name.startswith("$"):
            field = name[1:].lower()
            actual = value_of(field)
            matched = actual == expected if operator == "eq" else actual is not None and actual.startswith(expected)
            if not matched:
                raise _denied(f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}")
            return {field}
    raise PolicyViolation(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {json.dumps(condition)}")


def _known_secret(access_key: str) -> str | None:
    from etl_platform.aws import EMULATOR_CREDENTIALS

    if access_key == EMULATOR_CREDENTIALS["aws_access_key_id"]:
        return EMULATOR_CREDENTIALS["aws_secret_access_key"]
    from moto.iam.models import iam_backends

    for account in list(iam_backends.values()):
        for backend in list(account.values()):
            for user in list(backend.users.values()):
                for key in user.access_keys:
                    if key.access_key_id == access_key:
                        return key.secret_access_key
    from moto.sts.models import sts_backends

    for account in list(sts_backends.values()):  # sessions of assumed roles (the IAM mode's roles)
        for backend in list(account.values()):
            assumed = backend.get_assumed_role_from_access_key(access_key)
            if assumed is not None:
                return assumed.secret_access_key
    return None


def install() -> None:
    """Check every form upload to a bucket before moto stores it. Idempotent."""
    from moto.s3.responses import S3Response

    original = S3Response._bucket_response_post
    if getattr(original, "checks_post_policy", False):
        return

    def checked(self, request, bucket_name):  # type: ignore[no-untyped-def]
        is_form = request.headers.get("Content-Type", "").lower().startswith("multipart/form-data")
        if is_form and not self.is_delete_keys():
            form = dict(request.form.items())
            form.pop("file", None)
            if "key" in self.querystring:   # with ${filename} substituted, as S3 matches it
                form = {k: (self.querystring["key"][0] if k.lower() == "key" else v) for k, v in form.items()}
            body = self.raw_body
            size = len(body.encode() if isinstance(body, str) else body or b"")
            try:
                check_post_upload(form, bucket=bucket_name, size=size, secret_for=_known_secret)
            except PolicyViolation as refused:
                return refused.status, {"Content-Type": "application/xml"}, refused.xml()
            self.post_form = {k.lower(): v for k, v in form.items()}  # verified: the IAM mode reads its signer
        return original(self, request, bucket_name)

    checked.checks_post_policy = True  # type: ignore[attr-defined]
    S3Response._bucket_response_post = checked  # type: ignore[method-assign]
