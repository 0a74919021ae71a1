"""The emulator counts the requests it answers, per service and operation (always on).

What a change costs on AWS is counted in requests, and for DynamoDB in items read and
written, so tests and benchmarks assert costs by counting, never by timing. One WSGI
middleware in front of moto (as control.py's) sees every request once: it names the
operation, lets moto answer, and adds it up under a lock. It reads the request body only
for DynamoDB (to count a batch's keys) and keeps the response body only for DynamoDB (to
read ScannedCount and what was left unprocessed); S3 bodies stream through untouched.

    GET  /_etl/requests                 -> {"dynamodb": {"Query": {"requests": 3, "errors": 0,
                                             "items_read": 40, "items_written": 0}, ...}, "s3": {...}, ...}
    POST /_etl/requests {"reset": true} -> the counts it zeroed (read and zeroed at once)

DynamoDB items as AWS bills them: a Query or Scan reads `ScannedCount` items (those a
FilterExpression then drops are billed too); GetItem one; BatchGetItem and TransactGetItems
one per key served (unprocessed keys are not); PutItem, UpdateItem and DeleteItem one
written, whether or not their condition held (AWS consumes write capacity for a failed
conditional write); BatchWriteItem one per request served; TransactWriteItems one per
entry (a ConditionCheck included). Items are counted, not capacity units (which depend on
item size): the figure that must stay flat as a table grows. A request moto refuses
(4xx/5xx) counts as a request and an error, with no items.

Where DynamoDB's reads go: every read is also counted under the pseudo-service
`dynamodb-by-target`, per operation and table (and index): `"Query tracking/status-index"`,
`"BatchGetItem tracking"`. `dynamodb_totals` reads only `dynamodb`, so nothing counts twice.

Control routes (`/_etl/`) and moto's own API (`/moto-api/`) are not counted. Journal and
IAM mode see the same requests as before: this layer only observes them.
"""

from __future__ import annotations

import io
import json
import threading
from collections import defaultdict
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from etl_platform.local.control import PREFIX as CONTROL_PREFIX, route

NOT_COUNTED = (CONTROL_PREFIX, "/moto-api")
QUERY_PROTOCOLS = ("dynamodb", "sqs", "sns", "sts", "iam")  # services whose request body is read (small)
FIELDS = ("requests", "errors", "items_read", "items_written")
_READS_ONE = {"GetItem"}
BY_TARGET = "dynamodb-by-target"
_WRITES_ONE = {"PutItem", "UpdateItem", "DeleteItem"}

_lock = threading.Lock()
_counts: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: dict.fromkeys(FIELDS, 0)))


# --- naming a request (pure) --------------------------------------------------------------
def service_of(environ: dict[str, Any]) -> str:
    """The AWS service a request is for, from its SigV4 credential scope (header or presigned
    query), else its X-Amz-Target; "unknown" when neither says."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith("DynamoDB"):
        return "dynamodb"
    if target.startswith("AmazonSQS"):
        return "sqs"
    scope = environ.get("HTTP_AUTHORIZATION", "").partition("Credential=")[2]
    if not scope:
        scope = (parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential") or [""])[0]
    parts = scope.split(",")[0].split("/")
    if len(parts) >= 5:
        return parts[3]
    # a presigned POST carries its credential inside the multipart form S3 receives
    return "s3" if environ.get("CONTENT_TYPE", "").startswith("multipart/form-data") else "unknown"


def operation_of(service: str, environ: dict[str, Any], form: dict[str, list[str]] | None = None) -> str:
    """The operation's AWS name: X-Amz-Target's action (DynamoDB, SQS JSON), the `Action`
    parameter (query protocols: SQS, SNS, IAM, STS...), or for S3 the REST route."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.rpartition(".")[2]
    if service == "s3":
        return s3_operation(environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/"),
                            environ.get("QUERY_STRING", ""), "HTTP_X_AMZ_COPY_SOURCE" in environ)
    query = parse_qs(environ.get("QUERY_STRING", ""))
    action = (query.get("Action") or (form or {}).get("Action") or [""])[0]
    return action or f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('PATH_INFO', '/')}"


# sub-resources of a bucket or an object, as S3's REST API names them per method
_S3_OBJECT_SUBRESOURCES = {
    ("GET", "tagging"): "GetObjectTagging", ("PUT", "tagging"): "PutObjectTagging",
    ("DELETE", "tagging"): "DeleteObjectTagging", ("GET", "acl"): "GetObjectAcl", ("PUT", "acl"): "PutObjectAcl",
    ("GET", "attributes"): "GetObjectAttributes", ("GET", "retention"): "GetObjectRetention",
    ("POST", "uploads"): "CreateMultipartUpload", ("POST", "restore"): "RestoreObject",
}
_S3_BUCKET_SUBRESOURCES = {
    "versions": "ListObjectVersions", "uploads": "ListMultipartUploads", "versioning": "BucketVersioning",
    "notification": "BucketNotificationConfiguration", "lifecycle": "BucketLifecycleConfiguration",
    "policy": "BucketPolicy", "encryption": "BucketEncryption", "tagging": "BucketTagging", "acl": "BucketAcl",
    "cors": "BucketCors", "location": "BucketLocation", "publicAccessBlock": "PublicAccessBlock",
    "ownershipControls": "BucketOwnershipControls", "policyStatus": "BucketPolicyStatus",
}
_S3_VERBS = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}


def s3_operation(method: str, path: str, query_string: str, copy_source: bool = False) -> str:
    """S3's operation for a path-style request (`/bucket[/key]?sub-resources`)."""
    query = parse_qs(query_string, keep_blank_values=True)
    bucket, _, key = path.lstrip("/").partition("/")
    method = method.upper()
    if not bucket:
        return "ListBuckets" if method == "GET" else f"{method} /"
    if key:
        if "uploadId" in query:
            if "partNumber" in query:
                return "UploadPartCopy" if copy_source else "UploadPart"
            return {"POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload"}.get(method, "ListParts")
        for (verb, name), operation in _S3_OBJECT_SUBRESOURCES.items():
            if verb == method and name in query:
                return operation
        if method == "PUT":
            return "CopyObject" if copy_source else "PutObject"
        return {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject", "POST": "PostObject"}.get(
            method, f"{method} object")
    if method == "POST":
        return "DeleteObjects" if "delete" in query else "PostObject"  # a presigned POST upload
    if method == "GET" and "list-type" in query:
        return "ListObjectsV2"
    for name, resource in _S3_BUCKET_SUBRESOURCES.items():
        if name in query:
            if name in ("versions", "uploads", "location", "policyStatus"):
                return resource if name in ("versions", "uploads") else f"Get{resource}"
            return f"{_S3_VERBS.get(method, method)}{resource}"
    return {"GET": "ListObjects", "HEAD": "HeadBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(
        method, f"{method} bucket")


def dynamodb_items(operation: str, request: dict[str, Any], response: dict[str, Any]) -> tuple[int, int]:
    """(items read, items written) by one answered DynamoDB request, as AWS bills them."""
    if operation in ("Query", "Scan"):
        return int(response.get("ScannedCount", response.get("Count", 0))), 0
    if operation in _READS_ONE:
        return 1, 0
    if operation in _WRITES_ONE:
        return 0, 1
    if operation == "BatchGetItem":
        asked = sum(len(t.get("Keys", [])) for t in (request.get("RequestItems") or {}).values())
        left = sum(len(t.get("Keys", [])) for t in (response.get("UnprocessedKeys") or {}).values())
        return asked - left, 0
    if operation == "BatchWriteItem":
        asked = sum(len(r) for r in (request.get("RequestItems") or {}).values())
        left = sum(len(r) for r in (response.get("UnprocessedItems") or {}).values())
        return 0, asked - left
    if operation == "TransactGetItems":
        return len(request.get("TransactItems") or []), 0
    if operation == "TransactWriteItems":
        return 0, len(request.get("TransactItems") or [])
    return 0, 0


def read_target(operation: str, request: dict[str, Any]) -> str:
    """`operation table[/index]` of a DynamoDB read: where its items were read."""
    tables = request.get("TableName") or ",".join(sorted(request.get("RequestItems") or {}))
    if not tables and request.get("TransactItems"):
        tables = ",".join(sorted({next(iter(t.values())).get("TableName", "?") for t in request["TransactItems"]}))
    index = request.get("IndexName")
    return f"{operation} {tables}/{index}" if index else f"{operation} {tables}"


# --- counting -----------------------------------------------------------------------------
def record(service: str, operation: str, *, error: bool = False, read: int = 0, written: int = 0) -> None:
    with _lock:
        entry = _counts[service][operation]
        entry["requests"] += 1
        entry["errors"] += int(error)
        entry["items_read"] += read
        entry["items_written"] += written


def snapshot(*, reset: bool = False) -> dict[str, dict[str, dict[str, int]]]:
    """The counts so far; with `reset`, zeroed in the same step (no request falls between)."""
    with _lock:
        counts = {service: {op: dict(entry) for op, entry in sorted(ops.items())} for service, ops in sorted(_counts.items())}
        if reset:
            _counts.clear()
        return counts


def _control(body: dict[str, Any] | None) -> dict[str, Any]:
    if body is not None and set(body) - {"reset"}:
        raise ValueError(f"unknown fields {sorted(set(body) - {'reset'})}; send {{\"reset\": true}}")
    return snapshot(reset=bool(body and body.get("reset")))


def install() -> None:
    """Count every request moto answers, and serve `/_etl/requests`. Idempotent."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    route("requests", _control)
    call = DomainDispatcherApplication.__call__
    if getattr(call, "etl_request_counts", False):
        return

    def counted(self, environ, start_response):  # type: ignore[no-untyped-def]
        if environ.get("PATH_INFO", "").startswith(NOT_COUNTED):
            return call(self, environ, start_response)
        return _counted_call(call, self, environ, start_response)

    counted.etl_request_counts = True  # type: ignore[attr-defined]
    DomainDispatcherApplication.__call__ = counted  # type: ignore[method-assign]


def _counted_call(call: Callable, app: Any, environ: dict, start_response: Callable) -> Iterable[bytes]:
    service = service_of(environ)
    request_body = b""
    form: dict[str, list[str]] | None = None
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if service in QUERY_PROTOCOLS and environ.get("REQUEST_METHOD") == "POST" and length:
        request_body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(request_body)  # moto reads it again
        if not environ.get("HTTP_X_AMZ_TARGET"):
            form = parse_qs(request_body.decode(errors="replace"))
    operation = operation_of(service, environ, form)
    status: list[str] = []

    def observe(code, headers, exc_info=None):  # type: ignore[no-untyped-def]
        status.append(code)
        return start_response(code, headers, exc_info) if exc_info else start_response(code, headers)

    result = call(app, environ, observe)
    if service != "dynamodb":
        record(service, operation, error=_failed(status))
        return result
    chunks = list(result)  # a DynamoDB answer is small JSON: read it for its counts
    if hasattr(result, "close"):
        result.close()
    read = written = 0
    try:
        answer = json.loads(b"".join(chunks) or b"{}")
        if not _failed(status):
            read, written = dynamodb_items(operation, json.loads(request_body or b"{}"), answer)
        elif operation in _WRITES_ONE and str(answer.get("__type", "")).endswith("ConditionalCheckFailedException"):
            written = 1  # AWS consumes write capacity for a write whose condition failed
    except ValueError:  # not JSON: count the request alone
        pass
    record(service, operation, error=_failed(status), read=read, written=written)
    if read:
        record(BY_TARGET, read_target(operation, json.loads(request_body or b"{}")), read=read)
    return chunks


def _failed(status: list[str]) -> bool:
    return not status or not status[0].startswith(("2", "3"))


def dynamodb_totals(counts: dict[str, dict[str, dict[str, int]]]) -> dict[str, int]:
    """{"requests", "items_read", "items_written"} of DynamoDB over every operation in `counts`."""
    operations = counts.get("dynamodb", {}).values()
    return {field: sum(entry[field] for entry in operations) for field in ("requests", "items_read", "items_written")}
