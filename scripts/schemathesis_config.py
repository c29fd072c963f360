"""Writes the schemathesis configuration for one role (used by scripts/schemathesis.sh).

Signs in as ZHUCAN_ST_USER, reads ids that lie in that user's scope (persons, needs, helpers,
campaigns, ledger rows, teams, units, organisations, users, roster turns) and writes
scripts/schemathesis.toml plus dictionaries of those ids, bound to the path, query and body
parameters that take them with probability one half: half the generated requests name real
rows (and reach the handlers' logic: versions, transitions, balances), the other half random
ones (and test the 404/422 paths). The caller's own user id is left out of `users`, so that
PATCH /users/{id} cannot reset the password the run signs in with.

Usage: schemathesis_config.py BASE_TOML OUT_TOML; prints who signed in.
"""

import json
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from schemathesis_hooks import sign_in  # noqa: E402

ACTIONS = [
    "register", "refer", "accept", "return", "assign", "escalate",
    "reroute", "resolve", "verify", "withdraw", "comment",
]


def main() -> None:
    base_toml, out_toml = sys.argv[1], sys.argv[2]
    base = os.environ["ZHUCAN_ST_BASE"]
    token = sign_in(base, os.environ["ZHUCAN_ST_USER"], os.environ["ZHUCAN_ST_PASSWORD"])

    def get(path: str):
        req = urllib.request.Request(f"{base}/api/v1{path}", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)

    def ids(path: str, key: str = "id") -> list[str]:
        try:
            return [str(i[key]) for i in get(path)["items"] if i.get(key)]
        except urllib.error.HTTPError:  # e.g. 403: this role may not list it
            return []

    me = get("/me")
    campaigns = ids("/campaigns?limit=10")
    ledger: list[str] = []
    for c in campaigns[:3]:
        ledger += ids(f"/campaigns/{c}/ledger?limit=10")
    dicts = {
        "persons": ids("/persons?limit=20"),
        "needs": ids("/needs?limit=20"),
        "helpers": ids("/helpers?limit=20"),
        "campaigns": campaigns,
        "ledger": ledger,
        "teams": ids("/volunteer-teams?limit=10"),
        "units": ids("/org-units?limit=20"),
        "villages": ids("/org-units?kind=village&limit=20"),
        "orgs": ids("/organizations?limit=20"),
        "users": [u for u in ids("/users?limit=20") if u != me["id"]],
        "roster": ids("/duty-roster?limit=10"),
        "cities": [me["city_id"]] if me.get("city_id") else [],
        "actions": ACTIONS,
        "versions": ['"1"', '"2"', '"3"', '"4"'],
    }
    dicts = {k: v for k, v in dicts.items() if v}

    def bind(dictionary: str) -> str:
        return f'{{ dictionary = "{dictionary}", probability = 0.5 }}'

    globals_ = {
        "query.person_id": "persons", "body.person_id": "persons",
        "query.need_id": "needs", "body.need_id": "needs",
        "query.helper_id": "helpers", "body.helper_id": "helpers",
        "body.reporting_helper_id": "helpers", "body.helper_ids[*]": "helpers",
        "query.campaign_id": "campaigns", "body.campaign_id": "campaigns",
        "query.volunteer_team_id": "teams", "body.volunteer_team_id": "teams",
        "query.org_unit_id": "units", "body.org_unit_id": "units",
        "query.parent_id": "units", "body.parent_id": "units",
        "query.village_id": "villages", "body.village_id": "villages",
        "query.organization_id": "orgs", "body.organization_id": "orgs",
        "query.handler_organization_id": "orgs", "body.parent_organization_id": "orgs",
        "query.city_id": "cities", "body.city_id": "cities",
    }
    per_path = [
        (r"^/api/v1/persons/\{id\}", {"path.id": "persons", "header.If-Match": "versions"}),
        (r"^/api/v1/needs/\{id\}", {"path.id": "needs", "path.action": "actions", "header.If-Match": "versions"}),
        (r"^/api/v1/helpers/\{id\}", {"path.id": "helpers"}),
        (r"^/api/v1/campaigns/\{id\}", {"path.id": "campaigns"}),
        (r"^/api/v1/ledger-entries/\{id\}", {"path.id": "ledger"}),
        (r"^/api/v1/volunteer-teams/\{id\}", {"path.id": "teams"}),
        (r"^/api/v1/org-units/\{id\}", {"path.id": "units"}),
        (r"^/api/v1/organizations/\{id\}", {"path.id": "orgs"}),
        (r"^/api/v1/users/\{id\}", {"path.id": "users"}),
        (r"^/api/v1/duty-roster/\{id\}", {"path.id": "roster"}),
    ]

    lines = [open(base_toml, encoding="utf-8").read().rstrip(), "", "# --- generated for this role by scripts/schemathesis_config.py ---", ""]
    lines.append("[dictionaries]")
    for name, values in dicts.items():
        lines.append(f"{name} = {{ values = {json.dumps(values)} }}")
    lines += ["", "[parameters]"]
    for key, name in globals_.items():
        if name in dicts:
            lines.append(f'"{key}" = {bind(name)}')
    for regex, params in per_path:
        bound = {k: v for k, v in params.items() if v in dicts}
        if not bound:
            continue
        lines += ["", "[[operations]]", f"include-path-regex = '{regex}'"]
        lines.append("parameters = { " + ", ".join(f'"{k}" = {bind(v)}' for k, v in bound.items()) + " }")
    with open(out_toml, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    counts = ", ".join(f"{k} {len(v)}" for k, v in dicts.items() if k not in ("actions", "versions"))
    print(f"{me['username']} (role {me['role']}, {me['organization_kind']}); ids in scope: {counts}")


if __name__ == "__main__":
    main()
