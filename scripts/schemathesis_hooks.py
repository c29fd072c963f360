"""Schemathesis hooks for scripts/schemathesis.sh: sign in as one demo user over HTTP.

The role under test is named by the environment (ZHUCAN_ST_BASE, ZHUCAN_ST_USER,
ZHUCAN_ST_PASSWORD). Access tokens live 15 minutes, so the token is fetched again every
10 minutes: a long run (SCHEMATHESIS_EXAMPLES=2000) keeps testing as the same user instead of
collecting 401s. A 401 does not trigger a new sign-in (`retry_on=[]`): the fuzzer sends bad
tokens on purpose and every one of them would otherwise cost a login.

Sign-in is rate limited per address (30 a minute) and the fuzzer also posts to /auth/login, so a
429 is waited out (Retry-After) rather than failing the run.
"""

import ast
import json
import os
import threading
import time
import urllib.error
import urllib.request

import schemathesis

# CPython 3.11 keeps the AST constructor's recursion depth in state shared by all threads
# (python/cpython gh-106905): two workers calling ast.parse at once — hypothesis parses source
# files to describe its lambdas — can end one run with "SystemError: AST constructor recursion
# depth mismatch", an error in the fuzzer, not a finding about the API (seen once in CI, as
# city_admin on POST /auth/login). One lock around ast.parse keeps the parses one at a time;
# it costs nothing measurable (hypothesis caches each file's parse).
_ast_parse = ast.parse
_ast_lock = threading.Lock()


def _parse_one_at_a_time(*args, **kwargs):
    with _ast_lock:
        return _ast_parse(*args, **kwargs)


ast.parse = _parse_one_at_a_time


def sign_in(base: str, username: str, password: str) -> str:
    body = json.dumps({"username": username, "password": password}).encode()
    deadline = time.monotonic() + 180
    while True:
        req = urllib.request.Request(
            f"{base}/api/v1/auth/login",
            data=body,
            headers={"content-type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.load(resp)["access_token"]
        except urllib.error.HTTPError as e:
            if e.code == 429 and time.monotonic() < deadline:
                time.sleep(int(e.headers.get("Retry-After", "5")) + 1)
                continue
            raise RuntimeError(f"sign-in as {username} answered {e.code}: {e.read()[:300]!r}") from e


@schemathesis.auth(refresh_interval=600, retry_on=[])
class DemoUser:
    def get(self, case, context):
        return sign_in(
            os.environ["ZHUCAN_ST_BASE"],
            os.environ["ZHUCAN_ST_USER"],
            os.environ["ZHUCAN_ST_PASSWORD"],
        )

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


# --- attachments ------------------------------------------------------------------------------
# SPEC §6: an attachment is a JPEG, PNG or PDF recognised by its bytes, else 415. A JSON Schema
# cannot say "these bytes", so a schema-valid upload of random bytes is rightly 415. The hooks
# (1) give half the generated uploads the bytes of a real small file, so the success path is
# fuzzed too, and (2) drop a "schema-valid request rejected" failure only when it is exactly that
# 415 for bytes that are not one of the three kinds. Any other answer still fails the run.

MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"%PDF-")
SMALL_FILES = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00",
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9",
)


def is_upload(operation) -> bool:
    return operation.method.upper() == "POST" and operation.path.endswith("/attachments")


def as_bytes(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return None


@schemathesis.hook
def map_body(context, body):
    if not is_upload(context.operation) or not isinstance(body, dict):
        return body
    raw = as_bytes(body.get("file"))
    if raw is None or set(body) != {"file"}:
        return body
    if len(raw) % 2 == 0:
        body = dict(body)
        body["file"] = SMALL_FILES[len(raw) % len(SMALL_FILES)]
    return body


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if type(failure).__name__ != "RejectedPositiveData" or not is_upload(context.operation):
        return True
    raw = as_bytes(case.body.get("file")) if isinstance(case.body, dict) else None
    not_a_kind = raw is not None and not raw.startswith(MAGIC)
    return not (response.status_code == 415 and not_a_kind)
