"""Schemathesis hooks for scripts/schemathesis.sh: sign in as one demo user over HTTP.

The role under test is named by the environment (ZHUCAN_ST_BASE, ZHUCAN_ST_USER,
ZHUCAN_ST_PASSWORD). Access tokens live 15 minutes, so the token is fetched again every
10 minutes: a long run (SCHEMATHESIS_EXAMPLES=2000) keeps testing as the same user instead of
collecting 401s. A 401 does not trigger a new sign-in (`retry_on=[]`): the fuzzer sends bad
tokens on purpose and every one of them would otherwise cost a login.

Sign-in is rate limited per address (30 a minute) and the fuzzer also posts to /auth/login, so a
429 is waited out (Retry-After) rather than failing the run.
"""

import json
import os
import time
import urllib.error
import urllib.request

import schemathesis


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
