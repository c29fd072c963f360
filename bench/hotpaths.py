#!/usr/bin/env python3
"""Hot paths, API vs pgbench (issue 6). Run through `bench/run.sh`; see bench/README.md.

For each hot path, in rounds: pgbench running the endpoint's own SQL (bench/sql/*.sql, captured
from the PostgreSQL log) at the API's pool size, then the release server under wrk at the same
concurrency, then pgbench again. Medians over the rounds; throughput as API / pgbench; latency
p50/p99/p99.9 of both; the server's peak resident memory and CPU time per request.

    bench/run.sh --scale city                 # 60,000 persons, 3 rounds of 15 s
    bench/run.sh --scale city --reuse         # keep the loaded database zhucan_bench_city
    bench/run.sh --scale tiny                 # the CI smoke: 2,000 persons, 1 round of 1 s
    bench/run.sh --db zhucan_province --reuse --scale province
    bench/run.sh --scale city --reuse --soak  # 10 minutes at 64 clients, RSS every 10 s
    bench/run.sh --scale city --reuse --capture  # re-capture the SQL, check bench/sql/*.sql

Needs PostgreSQL (DATABASE_URL's server, default postgres://postgres@127.0.0.1:5432), pgbench,
psql and wrk (installed with apt-get when missing and running as root). Exits non-zero when a
request or a pgbench transaction failed.
"""
import argparse
import datetime as dt
import glob
import http.client
import urllib.parse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SQL_DIR = os.path.join(ROOT, "bench", "sql")
LUA = os.path.join(ROOT, "bench", "wrk", "replay.lua")
PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-password")
CLK_TCK = os.sysconf("SC_CLK_TCK")

SCALES = {
    # persons, cities, rounds, seconds per phase, warm-up seconds; the province is Shandong's
    # 136 county-level cities (docs/performance.md, "Bulk loading"), the bench works in the first
    "tiny": dict(persons=2_000, cities=1, rounds=1, seconds=1, warmup=0),
    "city": dict(persons=60_000, cities=1, rounds=3, seconds=15, warmup=3),
    "province": dict(persons=5_000_000, cities=136, rounds=3, seconds=15, warmup=3),
}

# hot path -> (what, pgbench script, consumes prepared rows)
# The inbox runs first: it reads a whole desk (every open need that may wait for the caller),
# and the write paths' batches (filings, prepared needs at the town centres) land on the same
# desks, so after them it would measure the harness's leftovers rather than the city's desks.
ENDPOINTS = {
    "inbox": ("GET /inbox (first page and counts)", "inbox.sql", False),
    # the console's pages (server-rendered HTML behind a session cookie), for the inbox's callers,
    # right after the JSON inbox and before the writes grow the same desks: compared with it
    # (console ÷ JSON in the table) and, the 待办 page, with the inbox's own SQL; a need page has
    # no pgbench script of its own
    "console_inbox": ("GET / (待办 page, console)", "inbox.sql", False),
    "console_need": ("GET /needs/{id} (a need's page, console)", None, False),
    "file": ("POST /needs", "file.sql", False),
    "accept": ("POST /needs/{id}/actions/accept", "accept.sql", True),
    "escalate": ("POST /needs/{id}/actions/escalate", "escalate.sql", True),
    "queue_first": ("GET /needs?handler_organization_id= (first page)", "queue_first.sql", False),
    "queue_deep": ("GET /needs?handler_organization_id=&cursor= (deep page)", "queue_deep.sql", False),
    "person": ("GET /persons/{id}", "person.sql", False),
    "coverage": ("GET /reports/coverage (city)", "coverage.sql", False),
    "sla": ("GET /reports/sla (city)", "sla.sql", False),
    # no caller, no database: what one HTTP request through the server costs on this machine
    # (wrk, the kernel's loopback TCP, actix, the access log and the metrics); with pgbench's
    # corrected rate of a path it bounds that path's ratio (`floor_bounds`, docs/performance.md)
    "floor": ("GET /healthz (no caller, no database: the HTTP floor)", None, False),
}

EVENT_HASH = "\\x" + "ab" * 32


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------
# PostgreSQL


class Pg:
    def __init__(self, base, db):
        self.base, self.db = base, db
        self.url = f"{base}/{db}"

    def run(self, sql, db=None, check=True):
        """Runs SQL through psql; answers rows as lists of strings."""
        r = subprocess.run(["psql", f"{self.base}/{db or self.db}", "-X", "-q", "-A", "-t", "-F", "\t",
                            "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr.strip()}\n{sql[:500]}")
        return [line.split("\t") for line in r.stdout.splitlines() if line != ""]

    def one(self, sql):
        rows = self.run(sql)
        return rows[0][0] if rows else None

    def exists(self):
        return bool(self.run(f"SELECT 1 FROM pg_database WHERE datname = '{self.db}'", db="postgres"))


def conninfo(url):
    """Splits postgres://user@host:port/db into pgbench/psql flags."""
    m = re.match(r"postgres(?:ql)?://(?:([^:@/]+)(?::[^@/]*)?@)?([^:/]+)?(?::(\d+))?/?(.*)$", url)
    if not m:
        raise SystemExit(f"cannot read DATABASE_URL {url!r}")
    user, host, port, _ = m.groups()
    return ["-h", host or "127.0.0.1", "-p", port or "5432", "-U", user or "postgres"]


# ------------------------------------------------------------------------------------------
# the server


class Server:
    def __init__(self, binary, db_url, port, pool, extra_env=None):
        env = dict(os.environ, DATABASE_URL=db_url, BIND_ADDR=f"127.0.0.1:{port}", DB_POOL_SIZE=str(pool),
                   SWEEP_INTERVAL_SECS="0", ACCESS_TOKEN_TTL_SECS="900")
        env.pop("RUST_LOG", None)  # the server's own default (info), as deployed
        env.update(extra_env or {})
        self.log = tempfile.NamedTemporaryFile(prefix="zhucan-bench-server-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([binary, "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.port = port
        wait_ready(self.proc, port, self.log.name, 60)
        self.samples = []  # (t, rss_kb)
        self._stop = False
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        while not self._stop:
            rss = self.status("VmRSS")
            if rss is not None:
                self.samples.append((time.time(), rss))
            time.sleep(0.25)

    def status(self, key):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def cpu_ms(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000.0 / CLK_TCK  # utime + stime

    def peak_rss_kb(self, since, until):
        xs = [r for t, r in self.samples if since <= t <= until]
        return max(xs) if xs else None

    def stop(self):
        self._stop = True
        if self.proc.poll() is not None:
            # died before its time: a negative code is the signal that ended it
            log(f"the server had exited with {self.proc.returncode} before the harness stopped it")
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_ready(proc, port, log_name, seconds):
    """Waits until the server started as `proc` answers `GET /readyz` with 200."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: see {log_name}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not become ready")


def login(port, username):
    """Signs in (only failed sign-ins count against the limits, so all of them may come from one
    address)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/api/v1/auth/login", body=json.dumps({"username": username, "password": PASSWORD}),
              headers={"content-type": "application/json"})
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit(f"login {username}: {r.status} {body[:300]!r}")
    return json.loads(body)["access_token"]


def console_login(port, username):
    """Signs in through the console's form: its own CSRF cookie and field, then the session
    cookie (`zhucan_session=…`)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/login", headers={"accept": "text/html"})
    r = c.getresponse()
    page = r.read().decode()
    login_cookie = next((v.split(";")[0] for k, v in r.getheaders() if k.lower() == "set-cookie"
                         and v.startswith("zhucan_login=")), "")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrf": csrf, "username": username, "password": PASSWORD})
    c.request("POST", "/login", body=form, headers={"content-type": "application/x-www-form-urlencoded",
                                                    "cookie": login_cookie, "accept": "text/html"})
    r = c.getresponse()
    r.read()
    session = next((v.split(";")[0] for k, v in r.getheaders() if k.lower() == "set-cookie"
                    and v.startswith("zhucan_session=")), None)
    if r.status != 303 or not session:
        raise SystemExit(f"console sign-in {username}: {r.status}")
    return session


def http_call(port, method, path, token, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    h = {"authorization": f"Bearer {token}", **(headers or {})}
    if body is not None:
        h["content-type"] = "application/json"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    return r.status, r.read()


# ------------------------------------------------------------------------------------------
# load generators


def run_wrk(port, lines, mode, clients, seconds, threads=2):
    """Replays request lines with wrk; answers the WRKJSON summary."""
    with tempfile.NamedTemporaryFile("w", prefix="zhucan-bench-req-", suffix=".tsv", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    threads = max(1, min(threads, clients))
    cmd = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--timeout", "60s", "-s", LUA,
           f"http://127.0.0.1:{port}", "--", path, mode, str(threads)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    os.unlink(path)
    m = re.search(r"^WRKJSON (.*)$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed ({r.returncode}): {r.stdout[-2000:]} {r.stderr[-2000:]}")
    out = json.loads(m.group(1))
    out["rps"] = out["requests"] / (out["duration_us"] / 1e6) if out["duration_us"] else 0.0
    out["failed"] = sum(out["errors"].values())
    return out


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))]


def run_pgbench(pgflags, db, script, clients, seconds, defines, threads=2):
    """Runs one pgbench phase with per-transaction logging; answers tps and latency percentiles."""
    tmp = tempfile.mkdtemp(prefix="zhucan-bench-pgb-")
    prefix = os.path.join(tmp, "tx")
    cmd = ["pgbench", *pgflags, "-n", "-M", "prepared", "-c", str(clients), "-j", str(max(1, min(threads, clients))),
           "-T", str(seconds), "-f", script, "-l", f"--log-prefix={prefix}"]
    for k, v in defines.items():
        cmd += ["-D", f"{k}={v}"]
    cmd.append(db)
    r = subprocess.run(cmd, capture_output=True, text=True)
    lat = []
    for path in glob.glob(prefix + "*"):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[2].isdigit():
                    lat.append(int(parts[2]))
    shutil.rmtree(tmp, ignore_errors=True)
    out = r.stdout + r.stderr
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    processed = re.search(r"number of transactions actually processed: (\d+)", out)
    aborted = r.returncode != 0 or "aborted" in out.lower()
    res = {
        "tps": float(tps.group(1)) if tps else 0.0,
        "processed": int(processed.group(1)) if processed else 0,
        "failed": int(failed.group(1)) if failed else 0,
        "aborted": aborted,
        "p50_us": pct(lat, 50), "p95_us": pct(lat, 95), "p99_us": pct(lat, 99), "p999_us": pct(lat, 99.9),
    }
    if aborted:
        res["output"] = out[-3000:]
    elif not res["processed"]:
        log(f"   (pgbench finished no transaction in {seconds} s: a very short phase on a busy machine)")
    return res


# ------------------------------------------------------------------------------------------
# the bench schema: lookup tables, prepared needs


BENCH_SCHEMA = r"""
CREATE SCHEMA IF NOT EXISTS bench;
CREATE OR REPLACE FUNCTION bench.uuid7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')
          || '7' || substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 1, 15))::uuid
$$;
CREATE TABLE IF NOT EXISTS bench.act_t (batch int, k int, need_id uuid, user_id uuid, username text,
  unit_id uuid, PRIMARY KEY (batch, k));
"""


class Deployment:
    """The city under test and the users who act in it."""

    def __init__(self, pg, towns_max=16, villages_max=24, inbox_villages_max=24):
        self.pg = pg
        self.city = pg.one("SELECT id FROM org_units WHERE kind = 'city' ORDER BY code LIMIT 1")
        if not self.city:
            raise SystemExit("no city in the database: load it first (without --reuse)")
        self.admin = pg.run(f"""SELECT u.id, u.username FROM users u JOIN organizations o ON o.id = u.organization_id
            WHERE u.role = 'admin' AND u.active AND o.org_unit_id = '{self.city}' ORDER BY u.username LIMIT 1""")[0]
        self.towns = pg.run(f"""SELECT t.id, c.id, u.id, u.username FROM org_units t
            JOIN organizations c ON c.org_unit_id = t.id AND c.kind = 'town_centre'
            JOIN LATERAL (SELECT id, username FROM users WHERE organization_id = c.id AND role = 'town_staff'
                          AND active ORDER BY username LIMIT 1) u ON true
            WHERE t.parent_id = '{self.city}' AND t.kind = 'town' ORDER BY md5(t.id::text) LIMIT {towns_max}""")
        self.villages = pg.run(f"""SELECT v.id, v.town_id, s.id, u.id, u.username FROM org_units v
            JOIN organizations s ON s.org_unit_id = v.id AND s.kind = 'village_station'
            JOIN LATERAL (SELECT id, username FROM users WHERE organization_id = s.id AND role = 'village_staff'
                          AND active ORDER BY username LIMIT 1) u ON true
            WHERE v.city_id = '{self.city}' AND v.kind = 'village' ORDER BY md5(v.id::text) LIMIT {villages_max}""")
        # the inbox's village staff: villages other than those the write paths file and
        # escalate in, so that their desks hold the city's needs, not the harness's batches
        self.inbox_villages = pg.run(f"""SELECT v.id, v.town_id, s.id, u.id, u.username FROM org_units v
            JOIN organizations s ON s.org_unit_id = v.id AND s.kind = 'village_station'
            JOIN LATERAL (SELECT id, username FROM users WHERE organization_id = s.id AND role = 'village_staff'
                          AND active ORDER BY username LIMIT 1) u ON true
            WHERE v.city_id = '{self.city}' AND v.kind = 'village' ORDER BY md5(v.id::text)
            OFFSET {villages_max} LIMIT {inbox_villages_max}""") or self.villages
        if not self.towns or not self.villages:
            raise SystemExit("the city has no town staff or village staff users (zhucan seed --synthetic makes them)")
        self.persons = int(pg.one(f"SELECT count(*) FROM persons WHERE city_id = '{self.city}'"))

    def values(self, rows, cols):
        return ", ".join("(" + ", ".join(f"'{v}'" for v in r[:cols]) + ")" for r in rows)


def setup_lookups(pg, d, person_rows):
    """Creates the bench schema's lookup tables for the read and filing hot paths."""
    pg.run(BENCH_SCHEMA)
    towns = d.values([(t[0], t[2]) for t in d.towns], 2)
    villages = d.values([(v[0], v[3], v[4]) for v in d.villages], 3)
    pg.run(f"""
DROP TABLE IF EXISTS bench.person_t, bench.queue_t, bench.file_t, bench.act_src;
CREATE TABLE bench.person_t AS
  SELECT (row_number() OVER ())::int AS k, t.user_id::uuid, p.town_id, p.id AS person_id
  FROM (SELECT id, town_id FROM persons WHERE town_id IN (SELECT x.t::uuid FROM (VALUES {towns}) x(t, u))
        ORDER BY random() LIMIT {person_rows}) p
  JOIN (VALUES {towns}) t(town_id, user_id) ON t.town_id::uuid = p.town_id;
""")
    pg.run("ALTER TABLE bench.person_t ADD PRIMARY KEY (k)")
    # a town centre's queue: the first page, and a deep page from a cursor 90% of the way in
    pg.run(f"""
CREATE TABLE bench.queue_t AS
  SELECT (row_number() OVER ())::int AS k, t.user_id::uuid, t.town_id::uuid, c.id AS handler_id,
         (SELECT id FROM needs WHERE handler_organization_id = c.id AND town_id = t.town_id::uuid ORDER BY id
          OFFSET greatest(0, least((0.9 * q.n)::int, q.n - 51)) LIMIT 1) AS cursor_id, q.n AS queue_len
  FROM (VALUES {towns}) t(town_id, user_id)
  JOIN organizations c ON c.org_unit_id = t.town_id::uuid AND c.kind = 'town_centre'
  CROSS JOIN LATERAL (SELECT count(*)::int AS n FROM needs WHERE handler_organization_id = c.id AND town_id = t.town_id::uuid) q;
ALTER TABLE bench.queue_t ADD PRIMARY KEY (k);
CREATE TABLE bench.file_t AS
  SELECT (row_number() OVER (ORDER BY random()))::int AS k, v.user_id::uuid, v.username, p.village_id, p.id AS person_id,
         '{{' || o.id || '}}' AS dpf_ids
  FROM (VALUES {villages}) v(village_id, user_id, username)
  JOIN persons p ON p.village_id = v.village_id::uuid AND p.status = 'active'
  JOIN organizations o ON o.org_unit_id = p.village_id AND o.kind = 'village_dpf';
ALTER TABLE bench.file_t ADD PRIMARY KEY (k);
""")
    return {
        "person": int(pg.one("SELECT count(*) FROM bench.person_t")),
        "queue": int(pg.one("SELECT count(*) FROM bench.queue_t")),
        "file": int(pg.one("SELECT count(*) FROM bench.file_t")),
        "queue_len": pg.run("SELECT min(queue_len), max(queue_len), round(avg(queue_len)) FROM bench.queue_t")[0],
    }


def setup_inbox(pg, d, port):
    """bench.inbox_t: the inbox's callers (town staff of the sampled towns, village staff of
    villages the write paths leave alone), each with what its request binds besides its own
    ids: the handlers of its desk's candidates (their kinds are read by id) and the ids of its
    first page — asked of the server itself, which alone knows which candidates wait."""
    rows = []
    users = [("town", t[3], t[2], t[0], t[1]) for t in d.towns] + \
            [("village", v[4], v[3], v[0], v[2]) for v in d.inbox_villages]
    for kind, username, user_id, unit_id, org_id in users:
        st, body = http_call(port, "GET", "/api/v1/inbox", login(port, username))
        if st != 200:
            raise SystemExit(f"GET /inbox as {username}: {st} {body[:300]!r}")
        out = json.loads(body)
        page = [i["id"] for i in out["items"]]
        rows.append((kind, user_id, unit_id, org_id, page, out["counts"]["total"]))
    vals = ", ".join(
        f"({1 if kind == 'town' else 0}, '{u}'::uuid, '{unit}'::uuid, '{org}'::uuid, "
        f"'{{{','.join(page)}}}'::uuid[], {total})" for kind, u, unit, org, page, total in rows)
    # the candidates: open needs of the caller's scope that reach its desk one of its ways
    # (src/db/queries/needs.rs::desk), and the distinct handlers among them
    pg.run(f"""
DROP TABLE IF EXISTS bench.inbox_t;
CREATE TABLE bench.inbox_t AS
  SELECT (row_number() OVER (ORDER BY random()))::int AS k, x.town::int AS town, x.user_id, x.unit_id, x.org_id,
         '{{' || x.org_id || '}}' AS org_ids, x.page, x.total, c.n AS candidates, c.handlers
  FROM (VALUES {vals}) x(town, user_id, unit_id, org_id, page, total)
  CROSS JOIN LATERAL (
    SELECT count(*)::int AS n, coalesce(array_agg(DISTINCT u.h), '{{}}') AS handlers FROM (
      SELECT n.handler_organization_id AS h FROM needs n
      WHERE x.town = 1 AND n.town_id = x.unit_id AND n.state NOT IN ('closed', 'withdrawn')
        AND (n.handler_organization_id = x.org_id OR (n.state = 'registered' AND n.loop = 'policy'))
      UNION ALL
      SELECT n.handler_organization_id FROM needs n
      WHERE x.town = 0 AND n.village_id = x.unit_id AND n.state NOT IN ('closed', 'withdrawn')) u) c;
ALTER TABLE bench.inbox_t ADD PRIMARY KEY (k);
""")
    return {
        "inbox": int(pg.one("SELECT count(*) FROM bench.inbox_t")),
        "inbox_candidates": pg.run("SELECT town, min(candidates), max(candidates), round(avg(candidates)), "
                                   "min(total), max(total), round(avg(total)) FROM bench.inbox_t GROUP BY town ORDER BY town DESC"),
    }


def setup_act_source(pg, d, kind):
    """Who acts on which persons' needs: accept (town staff, needs escalated to their town
    centre) or escalate (village staff, registered social needs of their village)."""
    pg.run("DROP TABLE IF EXISTS bench.act_src")
    if kind == "accept":
        towns = d.values([(t[0], t[1], t[2], t[3]) for t in d.towns], 4)
        pg.run(f"""
CREATE TABLE bench.act_src AS
  SELECT (row_number() OVER (ORDER BY random()))::int AS k, p.id AS person_id, p.city_id, p.town_id, p.village_id,
         t.handler_id::uuid, t.user_id::uuid, t.username, p.town_id AS unit_id
  FROM (VALUES {towns}) t(town_id, handler_id, user_id, username)
  JOIN LATERAL (SELECT * FROM persons WHERE town_id = t.town_id::uuid AND status = 'active' ORDER BY id LIMIT 5000) p ON true""")
    else:
        villages = d.values([(v[0], v[2], v[3], v[4]) for v in d.villages], 4)
        pg.run(f"""
CREATE TABLE bench.act_src AS
  SELECT (row_number() OVER (ORDER BY random()))::int AS k, p.id AS person_id, p.city_id, p.town_id, p.village_id,
         v.handler_id::uuid, v.user_id::uuid, v.username, p.village_id AS unit_id
  FROM (VALUES {villages}) v(village_id, handler_id, user_id, username)
  JOIN persons p ON p.village_id = v.village_id::uuid AND p.status = 'active'""")
    pg.run("ALTER TABLE bench.act_src ADD PRIMARY KEY (k)")
    return int(pg.one("SELECT count(*) FROM bench.act_src"))


def prepare_needs(pg, kind, batch, m, src_rows):
    """M needs ready for the action, each with a short synthetic history: escalated to a town
    centre (version 3) for accept, registered in the social loop at the village station
    (version 2) for escalate. Their event hashes are not a valid chain (`zhucan verify` would
    say so); nothing on these paths reads them but as the previous hash."""
    if kind == "accept":
        state, version, level = "escalated", 3, "town"
        steps = "(1, 'file', NULL, 'reported'), (2, 'register', 'reported', 'registered'), (3, 'escalate', 'registered', 'escalated')"
    else:
        state, version, level = "registered", 2, "village"
        steps = "(1, 'file', NULL, 'reported'), (2, 'register', 'reported', 'registered')"
    pg.run(f"""
BEGIN;
DELETE FROM bench.act_t WHERE batch = {batch};
CREATE TEMP TABLE nb ON COMMIT DROP AS
  SELECT g.k, bench.uuid7() AS need_id, s.person_id, s.city_id, s.town_id, s.village_id, s.handler_id, s.user_id, s.username, s.unit_id FROM
    (SELECT g AS k, 1 + floor(random() * {src_rows})::int AS sk FROM generate_series(1, {m}) g) g
    JOIN bench.act_src s ON s.k = g.sk;
INSERT INTO needs (id, city_id, town_id, village_id, person_id, category, description, urgency, state, loop, level,
                   handler_organization_id, due_at, version, created_at, updated_at, case_number)
  SELECT need_id, city_id, town_id, village_id, person_id, 'rehabilitation', 'bench prepared', 'normal', '{state}', 'social',
         '{level}', handler_id, now() + interval '15 days', {version}, now() - interval '2 days', now() - interval '1 day',
         take_case_number(city_id, now()) FROM nb;
INSERT INTO need_events (need_id, seq, city_id, action, from_state, to_state, level, handler_organization_id,
                         actor_user_id, actor, at, payload, prev_hash, hash)
  SELECT nb.need_id, s.seq, nb.city_id, s.action, s.from_state, s.to_state, CASE WHEN s.seq = 3 THEN 'town' ELSE 'village' END,
         nb.handler_id, NULL, 'bench', now() - interval '2 days' + s.seq * interval '1 hour', '{{}}'::jsonb,
         CASE WHEN s.seq > 1 THEN sha256((nb.need_id::text || (s.seq - 1))::bytea) END, sha256((nb.need_id::text || s.seq)::bytea)
  FROM nb CROSS JOIN (VALUES {steps}) s(seq, action, from_state, to_state);
INSERT INTO bench.act_t SELECT {batch}, k, need_id, user_id, username, unit_id FROM nb;
COMMIT;
""")


def acted(pg, kind, batch):
    """How many needs of a batch the action moved."""
    to = "in_progress" if kind == "accept" else "escalated"
    return int(pg.one(f"""SELECT count(*) FROM bench.act_t a JOIN needs n ON n.id = a.need_id
                          WHERE a.batch = {batch} AND n.state = '{to}'"""))


# ------------------------------------------------------------------------------------------
# request lines for wrk (METHOD \t PATH \t HEADERS \t BODY)


def req(method, path, token, body="", extra=""):
    h = f"Authorization: Bearer {token}"
    if body:
        h += " | Content-Type: application/json"
    if extra:
        h += " | " + extra
    return f"{method}\t{path}\t{h}\t{body}"


def read_lines(pg, d, ep, tokens, batch=None):
    if ep == "floor":
        return ["GET\t/healthz\t\t"] * 200
    if ep == "person":
        rows = pg.run("SELECT user_id, person_id FROM bench.person_t ORDER BY k")
        return [req("GET", f"/api/v1/persons/{p}", tokens[u]) for u, p in rows]
    if ep == "inbox":
        rows = pg.run("SELECT user_id FROM bench.inbox_t ORDER BY k")
        out = [req("GET", "/api/v1/inbox", tokens[u]) for (u,) in rows] * max(1, 200 // max(1, len(rows)))
        random.shuffle(out)
        return out
    if ep in ("queue_first", "queue_deep"):
        rows = pg.run("SELECT user_id, handler_id, cursor_id FROM bench.queue_t ORDER BY k")
        out = []
        for _ in range(max(1, 200 // max(1, len(rows)))):
            for u, h, c in rows:
                path = f"/api/v1/needs?handler_organization_id={h}"
                if ep == "queue_deep":
                    path += "&cursor=" + uuid_cursor(c)
                out.append(req("GET", path, tokens[u]))
        random.shuffle(out)
        return out
    if ep == "file":
        rows = pg.run("SELECT user_id, person_id FROM bench.file_t ORDER BY k")
        return [req("POST", "/api/v1/needs", tokens[u],
                    json.dumps({"person_id": p, "category": "rehabilitation", "description": "bench", "confirm_duplicate": True})) for u, p in rows]
    if ep in ("coverage", "sla"):
        return [req("GET", f"/api/v1/reports/{ep}?org_unit_id={d.city}", tokens[d.admin[0]])] * 4
    if ep in ("console_inbox", "console_need"):
        rows = pg.run("SELECT user_id, page[1] FROM bench.inbox_t ORDER BY k")
        out = []
        for u, first in rows:
            if ep == "console_need" and not first:
                continue
            path = "/" if ep == "console_inbox" else f"/needs/{first}"
            out.append(f"GET\t{path}\tCookie: {tokens[u]} | Accept: text/html\t")
        out = out * max(1, 200 // max(1, len(out)))
        random.shuffle(out)
        return out
    if ep in ("accept", "escalate"):
        rows = pg.run(f"SELECT user_id, need_id FROM bench.act_t WHERE batch = {batch} ORDER BY k")
        body = "{}" if ep == "accept" else json.dumps({"reason": "bench"})
        v = 3 if ep == "accept" else 2
        return [req("POST", f"/api/v1/needs/{n}/actions/{ep}", tokens[u], body, f'If-Match: "{v}"') for u, n in rows]
    raise KeyError(ep)


def uuid_cursor(u):
    import base64
    import uuid
    return base64.urlsafe_b64encode(uuid.UUID(u).bytes).decode().rstrip("=")


def users_for(d, ep):
    if ep == "floor":
        return [], {}  # nobody signs in for /healthz
    if ep in ("coverage", "sla"):
        return [d.admin[1]], {d.admin[1]: d.admin[0]}
    if ep in ("file", "escalate"):
        return [v[4] for v in d.villages], {v[4]: v[3] for v in d.villages}
    if ep in ("inbox", "console_inbox", "console_need"):
        us = [(t[3], t[2]) for t in d.towns] + [(v[4], v[3]) for v in d.inbox_villages]
        return [n for n, _ in us], dict(us)
    return [t[3] for t in d.towns], {t[3]: t[2] for t in d.towns}


# ------------------------------------------------------------------------------------------
# one hot path


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def bench_endpoint(ctx, ep):
    pg, d, a, srv = ctx["pg"], ctx["d"], ctx["args"], ctx["server"]
    what, script, consuming = ENDPOINTS[ep]
    log(f"== {ep}: {what}")
    names, ids = users_for(d, ep)
    sign_in = console_login if ep.startswith("console_") else login
    tokens = {ids[n]: sign_in(srv.port, n) for n in names}
    defines = {"user_id": d.admin[0], "city_id": d.city, "hash": EVENT_HASH, "n": 0, "nclients": a.clients}
    now = dt.datetime.now(dt.timezone.utc)
    defines["since"] = (now - dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    defines["now_ts"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    # the report period the server uses: 1 January to the end of today, Asia/Shanghai (UTC+8)
    local = now + dt.timedelta(hours=8)
    defines["from_ts"] = f"{local.year - 1}-12-31T16:00:00Z"
    defines["to_ts"] = (dt.datetime(local.year, local.month, local.day) + dt.timedelta(hours=16)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # the SLA summary's local days (sla_event_daily.day): 1 January to today, inclusive
    defines["from_day"] = f"{local.year}-01-01"
    defines["to_day"] = local.strftime("%Y-%m-%d")
    lookup_rows = {"inbox": ctx["lookups"]["inbox"], "console_inbox": ctx["lookups"]["inbox"],
                   "person": ctx["lookups"]["person"], "queue_first": ctx["lookups"]["queue"],
                   "queue_deep": ctx["lookups"]["queue"], "file": ctx["lookups"]["file"]}
    if ep in lookup_rows:
        defines["rows"] = lookup_rows[ep]
    script_path = os.path.join(SQL_DIR, script) if script else None
    src_rows = setup_act_source(pg, d, ep) if consuming else 0
    ctx.setdefault("batch", 0)
    rate = ctx["rate_guess"]

    def new_batch(seconds):
        ctx["batch"] += 1
        # every client takes its own rows (k = client + clients × its count), so a batch must
        # cover the fastest client, not the mean: twice the best rate seen, plus 50 per client
        m = int(max(1000, rate[0] * seconds * 2.0 + 50 * a.clients))
        prepare_needs(pg, ep, ctx["batch"], m, src_rows)
        return ctx["batch"], m

    def pg_phase(seconds):
        if script_path is None:
            return {"tps": None, "failed": 0, "aborted": False, "p50_us": None, "p95_us": None,
                    "p99_us": None, "p999_us": None}
        defs = dict(defines)
        b = None
        if consuming:
            b, _ = new_batch(seconds)
            defs["batch"] = b
        r = run_pgbench(ctx["pgflags"], pg.db, script_path, a.clients, seconds, defs)
        if consuming:
            r["acted"] = acted(pg, ep, b)
            rate[0] = max(rate[0], r["tps"])
        return r

    def api_phase(seconds):
        b = None
        if consuming:
            b, _ = new_batch(seconds)
        lines = read_lines(pg, d, ep, tokens, b)
        cpu0, t0 = srv.cpu_ms(), time.time()
        r = run_wrk(srv.port, lines, "once" if consuming else "cycle", a.clients, seconds)
        cpu1, t1 = srv.cpu_ms(), time.time()
        r["cpu_ms_per_req"] = (cpu1 - cpu0) / r["requests"] if r["requests"] else None
        r["peak_rss_kb"] = srv.peak_rss_kb(t0, t1)
        if consuming:
            r["acted"] = acted(pg, ep, b)
            rate[0] = max(rate[0], r["rps"])
        return r

    if ctx["warmup"]:
        pg_phase(ctx["warmup"])
        api_phase(ctx["warmup"])
    rounds = []
    for i in range(ctx["rounds"]):
        before = pg_phase(ctx["seconds"])
        api = api_phase(ctx["seconds"])
        after = pg_phase(ctx["seconds"])
        pgb = (before["tps"] + after["tps"]) / 2 if before["tps"] is not None else None
        rnd = {"pg_before": before, "api": api, "pg_after": after, "pg_tps": pgb,
               "ratio": api["rps"] / pgb if pgb else None}
        log(f"   round {i + 1}: pgbench {before['tps'] or 0:.0f} / API {api['rps']:.0f} / pgbench {after['tps'] or 0:.0f} tps"
            f"  (API p99 {api['p99_us'] / 1000:.1f} ms, {api['cpu_ms_per_req'] or 0:.3f} ms CPU/req,"
            f" errors {api['failed']}, overrun {api['overrun']})")
        rounds.append(rnd)
    # the lookup's own cost: the bench-only statement alone, at the same concurrency
    lookup = None
    if script_path and (ep in lookup_rows or consuming):
        lk = tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False)
        with open(script_path) as f:
            head = []
            for line in f:
                head.append(line)
                if "\\gset" in line and "bench." in line:
                    break
        lk.write("".join(l for l in head if not l.startswith("--")))
        lk.close()
        defs = dict(defines)
        if consuming:
            defs["batch"] = ctx["batch"]
            defs["nclients"] = a.clients
        lookup = run_pgbench(ctx["pgflags"], pg.db, lk.name, a.clients, max(1, ctx["seconds"] // 3), defs)
        os.unlink(lk.name)
    failed = sum(r["api"]["failed"] + r["api"]["overrun"] for r in rounds)
    failed_pg = sum(r[k]["failed"] + (1 if r[k]["aborted"] else 0) for r in rounds for k in ("pg_before", "pg_after"))
    pg_tps = median([r["pg_tps"] for r in rounds])
    corrected = None
    if lookup and lookup["tps"] and pg_tps and lookup["tps"] > pg_tps:
        corrected = 1.0 / (1.0 / pg_tps - 1.0 / lookup["tps"])
    summary = {
        "endpoint": ep, "what": what,
        "api_rps": median([r["api"]["rps"] for r in rounds]),
        "pg_tps": pg_tps,
        "pg_tps_corrected": corrected,
        "lookup_tps": lookup["tps"] if lookup else None,
        "ratio": median([r["ratio"] for r in rounds]) if pg_tps else None,
        "ratio_corrected": (median([r["api"]["rps"] for r in rounds]) / corrected) if corrected else None,
        "api_p50_ms": median([r["api"]["p50_us"] for r in rounds]) / 1000,
        "api_p95_ms": median([r["api"]["p95_us"] for r in rounds]) / 1000,
        "api_p99_ms": median([r["api"]["p99_us"] for r in rounds]) / 1000,
        "api_p999_ms": median([r["api"]["p999_us"] for r in rounds]) / 1000,
        "pg_p50_ms": (median([r[k]["p50_us"] for r in rounds for k in ("pg_before", "pg_after")]) or 0) / 1000,
        "pg_p95_ms": (median([r[k]["p95_us"] for r in rounds for k in ("pg_before", "pg_after")]) or 0) / 1000,
        "pg_p99_ms": (median([r[k]["p99_us"] for r in rounds for k in ("pg_before", "pg_after")]) or 0) / 1000,
        "pg_p999_ms": (median([r[k]["p999_us"] for r in rounds for k in ("pg_before", "pg_after")]) or 0) / 1000,
        "peak_rss_mb": max((r["api"]["peak_rss_kb"] or 0) for r in rounds) / 1024,
        "cpu_ms_per_req": median([r["api"]["cpu_ms_per_req"] for r in rounds]),
        "api_failed": failed, "pg_failed": failed_pg,
        "rounds": rounds,
    }
    for r in rounds:
        for k in ("pg_before", "pg_after"):
            if r[k]["aborted"]:
                log(f"   pgbench aborted:\n{r[k].get('output', '')}")
    if failed:
        # what one failing request answers (for consuming paths, one already used: 409/412)
        lines = read_lines(pg, d, ep, tokens, ctx["batch"] if consuming else None)
        st, out = send_line(srv.port, lines[-1])
        log(f"   {failed} failed requests; a sample request answers {st}: {out[:300]!r}")
    return summary


# ------------------------------------------------------------------------------------------
# EXPLAIN of the read paths


EXPLAINED = ("inbox", "queue_first", "queue_deep", "person")


def explain(ctx, eps):
    """The plans of the read paths' statements as the server runs them: auto_explain (ANALYZE,
    BUFFERS) on the bench database, the same request sent ten times on fresh pool connections
    (past the five custom plans a prepared statement starts with), the last one's plans taken
    from the PostgreSQL log. The inbox: for the town staff and the village staff with the
    largest desks."""
    pg, srv = ctx["pg"], ctx["server"]
    path = pg_log_path(pg)
    if not path:
        return {"plans": {"sql": "", "plan": "(no PostgreSQL log found: no plans)"}}
    todo = []
    for ep in (e for e in EXPLAINED if e in eps):
        names, ids = users_for(ctx["d"], ep)
        tokens = {ids[n]: login(srv.port, n) for n in names}
        if ep == "inbox":
            for tag, flag in (("town", 1), ("village", 0)):
                u = pg.run(f"SELECT user_id FROM bench.inbox_t WHERE town = {flag} ORDER BY candidates DESC LIMIT 1")
                if u:
                    todo.append((f"inbox ({tag} staff, the largest desk)", req("GET", "/api/v1/inbox", tokens[u[0][0]])))
        elif ep in ("queue_first", "queue_deep"):
            u, h, c = pg.run("SELECT user_id, handler_id, cursor_id FROM bench.queue_t ORDER BY queue_len DESC LIMIT 1")[0]
            path_ = f"/api/v1/needs?handler_organization_id={h}" + ("&cursor=" + uuid_cursor(c) if ep == "queue_deep" else "")
            todo.append((ep, req("GET", path_, tokens[u])))
        else:
            todo.append((ep, read_lines(pg, ctx["d"], ep, tokens)[0]))
    settings = {"session_preload_libraries": "'auto_explain'", "auto_explain.log_min_duration": "0",
                "auto_explain.log_analyze": "on", "auto_explain.log_buffers": "on"}
    out = {}
    try:
        for k, v in settings.items():
            pg.run(f"ALTER DATABASE {pg.db} SET {k} = {v}")
        for name, line in todo:
            reset_server_connections(pg)
            for _ in range(9):
                send_line(srv.port, line)
            with open(path) as f:
                f.seek(0, 2)
                start = f.tell()
            st, _ = send_line(srv.port, line)
            time.sleep(0.5)
            with open(path, errors="replace") as f:
                f.seek(start)
                text = f.read()
            entries, cur = [], None
            for l in text.splitlines():
                if re.match(r"^\d{4}-\d\d-\d\d ", l):
                    cur = None
                    if f"@{pg.db} " in l and "LOG:  duration:" in l and "plan:" in l:
                        cur = [re.sub(r"^.*? LOG:  ", "", l)]
                        entries.append(cur)
                elif cur is not None:
                    cur.append(l.replace("\t", "  ", 1) if l.startswith("\t") else l)
            # every statement but the pool's check, the caller's load (the same on every path) and
            # the webhook worker's poll
            skip = ("Query Text: SELECT $1", 'Query Text: SELECT "users"."id"') + tuple("Query Text: " + w for w in WORKER_SQL)
            plans = ["\n".join(e) for e in entries
                     if not any(x.strip() == skip[0] or x.strip().startswith(skip[1:]) for x in e)]
            out[name] = {"sql": f"{line.split(chr(9))[0]} {line.split(chr(9))[1]} -> {st}",
                         "plan": "\n\n".join(plans)}
    finally:
        for k in settings:
            pg.run(f"ALTER DATABASE {pg.db} RESET {k}", check=False)
        reset_server_connections(pg)
    return out


# ------------------------------------------------------------------------------------------
# capture: the SQL each endpoint sends, from the PostgreSQL log


def pg_log_path(pg):
    if pg.one("SHOW logging_collector") == "on":
        d = pg.one("SHOW log_directory")
        if not d.startswith("/"):
            d = os.path.join(pg.one("SHOW data_directory"), d)
        files = sorted(glob.glob(os.path.join(d, "*")), key=os.path.getmtime)
        return files[-1] if files else None
    ver = pg.one("SHOW server_version_num")[:2]
    p = f"/var/log/postgresql/postgresql-{ver}-main.log"
    return p if os.path.exists(p) else None


WORKER_SQL = ("WITH candidates AS (", 'SELECT min("webhook_outbox"."created_at")')


def capture_variants(pg, ep, lines, tokens):
    """The requests whose SQL a path's script must follow: one, or for the inbox one per kind of
    caller (town staff and village staff send different desk queries: `-- captured(town):`
    and `-- captured(village):` lines in the script, beside the common `-- captured:` ones)."""
    if ep != "inbox":
        return [("", lines[0], lines[1 % len(lines)])]
    out = []
    for tag, flag in (("town", 1), ("village", 0)):
        us = [r[0] for r in pg.run(f"SELECT user_id FROM bench.inbox_t WHERE town = {flag} ORDER BY k LIMIT 2")]
        if us:
            out.append((tag, req("GET", "/api/v1/inbox", tokens[us[0]]), req("GET", "/api/v1/inbox", tokens[us[-1]])))
    return out


def capture(ctx):
    """Sends each hot path's request with log_statement = 'all' on the bench database and writes
    what the server's connections sent to bench/sql/captured/<path>.log; then checks each
    script's `-- captured:` lines (in order; ` ... ` elides) against it."""
    pg, d, srv = ctx["pg"], ctx["d"], ctx["server"]
    path = pg_log_path(pg)
    if not path:
        raise SystemExit("cannot find the PostgreSQL log (set logging_collector or use the Debian default)")
    out_dir = os.path.join(SQL_DIR, "captured")
    os.makedirs(out_dir, exist_ok=True)
    ok = True
    eps = ctx["args"].only.split(",") if ctx["args"].only else list(ENDPOINTS)
    pg.run(f"ALTER DATABASE {pg.db} SET log_statement = 'all'")
    try:
        for ep in eps:
            what, script, consuming = ENDPOINTS[ep]
            names, ids = users_for(d, ep)
            tokens = {ids[n]: login(srv.port, n) for n in names}
            batch = None
            if consuming:
                src = setup_act_source(pg, d, ep)
                ctx["batch"] = ctx.get("batch", 0) + 1
                batch = ctx["batch"]
                prepare_needs(pg, ep, batch, 4, src)
            lines = read_lines(pg, d, ep, tokens, batch)
            logged = []
            for tag, warm, line in capture_variants(pg, ep, lines, tokens):
                reset_server_connections(pg)  # the pool opens new ones, which log
                send_line(srv.port, warm)  # opens them and fills their statement caches
                with open(path) as f:
                    f.seek(0, 2)
                    start = f.tell()
                st, _ = send_line(srv.port, line)
                time.sleep(0.5)
                # the server's connections (psql and pgbench name themselves; the pool does not),
                # taken after the request: the pool may have opened one for it
                pids = {r[0] for r in pg.run(f"SELECT pid FROM pg_stat_activity WHERE datname = '{pg.db}' AND application_name = ''")}
                with open(path, errors="replace") as f:
                    f.seek(start)
                    mine = [l for l in f.read().splitlines() if (re.search(r"\[(\d+)\]", l) or [None, None])[1] in pids]
                logged.append((tag, st, mine))
                got = [re.sub(r"^.*? LOG:  (?:execute [^:]+|statement): ", "", l) for l in mine if " LOG:  " in l]
                # not the request's: the pool's check on every checkout, and the webhook worker's
                # poll (claim, then the outbox lag for /metrics; once a second in every `serve`)
                got = [g for g in got if g != "SELECT $1" and not g.startswith(WORKER_SQL)]
                with open(os.path.join(SQL_DIR, script)) as f:
                    want = [re.sub(r"^-- captured(\([a-z_]+\))?: ", "", l).strip() for l in f
                            if l.startswith("-- captured: ") or (tag and l.startswith(f"-- captured({tag}): "))]

                def same(g, w):
                    parts = w.split(" ... ")
                    return g.startswith(parts[0]) and all(x in g for x in parts[1:])

                match = len(got) == len(want) and all(same(g, w) for g, w in zip(got, want))
                ok = ok and match and st < 300
                name = f"{ep}({tag})" if tag else ep
                log(f"   {name:16} {st}  {len(got)} statements (+{len(mine) and sum(1 for l in mine if l.endswith('SELECT $1'))} pool checks)"
                    f"  {'match' if match else 'DIFFER from'} bench/sql/{script}")
                if not match:
                    for g in got:
                        log(f"      sent: {g[:150]}")
                    for w in want:
                        log(f"      want: {w[:150]}")
            with open(os.path.join(out_dir, f"{ep}.log"), "w") as f:
                for tag, st, mine in logged:
                    f.write(f"# {what}{f' ({tag} staff)' if tag else ''} -> {st}; captured "
                            f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC from {path}\n")
                    f.write("\n".join(mine) + "\n")
    finally:
        pg.run(f"ALTER DATABASE {pg.db} RESET log_statement")
        reset_server_connections(pg)
    return ok


def send_line(port, line):
    m, path, headers, body = line.split("\t")
    hdrs = dict(h.split(": ", 1) for h in headers.split(" | "))
    token = hdrs.pop("Authorization").split(" ", 1)[1]
    hdrs.pop("Content-Type", None)
    return http_call(port, m, path, token, body or None, hdrs)


def reset_server_connections(pg):
    """Ends the server's pooled connections (psql and pgbench name themselves; the pool does
    not); the pool opens new ones on demand."""
    pg.run(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{pg.db}' "
           "AND pid <> pg_backend_pid() AND application_name = ''", check=False)
    time.sleep(0.2)


# ------------------------------------------------------------------------------------------
# soak


def soak(ctx, minutes, clients):
    pg, d, srv = ctx["pg"], ctx["d"], ctx["server"]
    toks = {}
    for n, u in list(users_for(d, "person")[1].items()) + list(users_for(d, "file")[1].items()) \
            + list(users_for(d, "inbox")[1].items()):
        if u not in toks:
            toks[u] = login(srv.port, n)
    lines = []
    lines += read_lines(pg, d, "person", toks) * 1
    q1 = read_lines(pg, d, "queue_first", toks)
    q2 = read_lines(pg, d, "queue_deep", toks)
    fl = read_lines(pg, d, "file", toks)
    ib = read_lines(pg, d, "inbox", toks)
    # the console's pages, behind session cookies of the inbox's callers
    names, ids = users_for(d, "console_inbox")
    cookies = {ids[n]: console_login(srv.port, n) for n in names}
    cs = read_lines(pg, d, "console_inbox", cookies) + read_lines(pg, d, "console_need", cookies)
    # comments on needs of the sampled towns: writes that append events without consuming state
    rows = pg.run("SELECT q.user_id, n.id FROM bench.queue_t q JOIN LATERAL (SELECT id FROM needs WHERE town_id = q.town_id "
                  "ORDER BY random() LIMIT 500) n ON true")
    cm = [req("POST", f"/api/v1/needs/{n}/actions/comment", toks[u], json.dumps({"text": "soak"})) for u, n in rows]
    n = len(lines)
    mix = lines[: int(n)] + (q1 * (1 + n // 2 // max(1, len(q1))))[: n // 2] + (q2 * (1 + n // 4 // max(1, len(q2))))[: n // 4] \
        + (fl * (1 + n // 4 // max(1, len(fl))))[: n // 4] + (cm * (1 + n // 4 // max(1, len(cm))))[: n // 4] \
        + (ib * (1 + n // 4 // max(1, len(ib))))[: n // 4] + (cs * (1 + n // 4 // max(1, len(cs))))[: n // 4]
    random.shuffle(mix)
    log(f"== soak: {minutes} min at {clients} clients, {len(mix)} distinct requests "
        "(person 36%, queue first 18%, deep 9%, file 9%, comment 9%, inbox 9%, console pages 9%)")
    samples = []
    stop = [False]

    def sampler():
        t0 = time.time()
        while not stop[0]:
            samples.append((round(time.time() - t0), srv.status("VmRSS"), srv.status("VmHWM")))
            for _ in range(100):
                if stop[0]:
                    break
                time.sleep(0.1)

    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    cpu0 = srv.cpu_ms()
    r = run_wrk(srv.port, mix, "cycle", clients, int(minutes * 60))
    cpu1 = srv.cpu_ms()
    stop[0] = True
    th.join()
    samples.append((round(minutes * 60), srv.status("VmRSS"), srv.status("VmHWM")))
    rss = [s[1] for s in samples if s[1]]
    return {"minutes": minutes, "clients": clients, "requests": r["requests"], "rps": r["rps"], "failed": r["failed"],
            "p50_ms": r["p50_us"] / 1000, "p99_ms": r["p99_us"] / 1000, "p999_ms": r["p999_us"] / 1000,
            "cpu_ms_per_req": (cpu1 - cpu0) / r["requests"] if r["requests"] else None,
            "rss_first_mb": rss[0] / 1024, "rss_last_mb": rss[-1] / 1024, "rss_peak_mb": max(rss) / 1024,
            "hwm_mb": (samples[-1][2] or 0) / 1024, "samples": samples}


# ------------------------------------------------------------------------------------------
# reports


def fmt(x, nd=0):
    return "–" if x is None else f"{x:,.{nd}f}"


def table(results):
    out = ["| hot path | API req/s | pgbench tx/s | API / pgbench | (lookup-corrected) | API p50 / p95 / p99 / p99.9 ms | pgbench p50 / p95 / p99 / p99.9 ms | peak RSS MB | server CPU ms/req | failed |",
           "|---|---:|---:|---:|---:|---|---|---:|---:|---:|"]
    for r in results:
        out.append(
            f"| {r['endpoint']} | {fmt(r['api_rps'])} | {fmt(r['pg_tps'])} | {fmt(100 * r['ratio'] if r['ratio'] else None)}% | "
            f"{fmt(100 * r['ratio_corrected'] if r['ratio_corrected'] else None)}% | "
            f"{r['api_p50_ms']:.1f} / {r['api_p95_ms']:.1f} / {r['api_p99_ms']:.1f} / {r['api_p999_ms']:.1f} | "
            f"{r['pg_p50_ms']:.1f} / {r['pg_p95_ms']:.1f} / {r['pg_p99_ms']:.1f} / {r['pg_p999_ms']:.1f} | {r['peak_rss_mb']:.1f} | "
            f"{fmt(r['cpu_ms_per_req'], 3)} | {r['api_failed']} / {r['pg_failed']} |")
    by = {r["endpoint"]: r for r in results}
    if "inbox" in by and any(k in by for k in ("console_inbox", "console_need")):
        out.append("")
        out.append("Console pages ÷ the JSON inbox (requests/s, same run): " + "; ".join(
            f"{k} {by[k]['api_rps'] / by['inbox']['api_rps']:.2f}×" for k in ("console_inbox", "console_need") if k in by))
    if "floor" in by:
        bounds = floor_bounds(results)
        if bounds:
            out.append("")
            out.append("The HTTP floor's bound on each path's lookup-corrected ratio, floor ÷ (floor + pgbench corrected), "
                       "for a server whose every request costs one `GET /healthz` more than pgbench's transaction: " +
                       "; ".join(f"{k} {v:.2f}" for k, v in bounds.items()))
    return "\n".join(out)


def floor_bounds(results):
    """The most each path's lookup-corrected ratio can be on this machine: the API's request costs at
    least pgbench's (corrected) transaction — the same statements, sent by a client that does at least
    as much as pgbench's — plus one HTTP request that does nothing (`floor`). With both rates taken
    at saturation of the same cores, API / pgbench ≤ floor ÷ (floor + pgbench corrected)."""
    by = {r["endpoint"]: r for r in results}
    f = by.get("floor", {}).get("api_rps")
    if not f:
        return {}
    return {r["endpoint"]: f / (f + (r["pg_tps_corrected"] or r["pg_tps"]))
            for r in results if r["endpoint"] != "floor" and (r["pg_tps_corrected"] or r["pg_tps"])}


def ensure_wrk():
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing wrk (apt-get install wrk)")
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
        if not shutil.which("wrk"):
            subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (apt-get install wrk)")


class Autogroup:
    """The kernel's scheduler autogroups (`kernel.sched_autogroup_enabled`): on a desktop-style
    kernel every session is a scheduling group of its own, so PostgreSQL (started in its own
    session) and the server with wrk (in ours) get half of the CPU each, and at saturation a
    PostgreSQL backend can wait hundreds of milliseconds for a core (docs/performance.md, "The
    scheduler's autogroups"). `off` turns them off for the run — processes started afterwards
    (the server, pgbench, wrk and every new PostgreSQL backend) are scheduled as one group — and
    back on at the end."""

    PATH = "/proc/sys/kernel/sched_autogroup_enabled"
    # written while a run has them off, removed when it puts them back: a run that was killed
    # (kill -9, a power cut) leaves it, and the next run restores from it what the machine had
    MARK = os.path.join(tempfile.gettempdir(), "zhucan-bench-autogroup-was")

    def __init__(self, mode):
        self.was = None
        self.note = "not in this kernel"
        try:
            with open(self.PATH) as f:
                self.was = f.read().strip()
        except OSError:
            return
        try:
            with open(self.MARK) as f:
                left = f.read().strip()
            if left in ("0", "1") and left != self.was:
                with open(self.PATH, "w") as f:
                    f.write(left)
                log(f"an earlier run was stopped with the scheduler autogroups off: put back to {left}")
                self.was = left
            os.unlink(self.MARK)
        except OSError:
            pass
        if self.was != "1":
            self.note = "off (as the machine has them)"
        elif mode == "keep":
            self.note = "on (--autogroup keep)"
        else:
            try:
                with open(self.MARK, "w") as f:
                    f.write(self.was)
                with open(self.PATH, "w") as f:
                    f.write("0")
                self.note = "off for the run (turned off, and on again at the end)"
                log("scheduler autogroups turned off for the run")
            except OSError as e:
                self.note = f"on (could not turn them off: {e.strerror})"
                log(f"warning: scheduler autogroups stay on ({e.strerror}); expect tails from the scheduler")

    def describe(self):
        return self.note

    def restore(self):
        if self.was == "1" and self.note.startswith("off for the run"):
            try:
                with open(self.PATH, "w") as f:
                    f.write("1")
                log("scheduler autogroups on again")
                os.unlink(self.MARK)
            except OSError:
                pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=SCALES, default="city")
    ap.add_argument("--persons", type=int, help="persons to load (default by scale)")
    ap.add_argument("--cities", type=int, help="cities to load them in (default by scale: 1, or 136 for the province)")
    ap.add_argument("--db", help="database name (default zhucan_bench_<scale>)")
    ap.add_argument("--reuse", action="store_true", help="use the loaded database as it is")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--seconds", type=int, help="seconds per phase")
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--pool-size", type=int, default=16, help="the server's DB_POOL_SIZE (pgbench and wrk use it as concurrency)")
    ap.add_argument("--clients", type=int, help="concurrency (default: the pool size)")
    ap.add_argument("--only", help="comma-separated hot paths: " + ",".join(ENDPOINTS))
    ap.add_argument("--build", choices=["release", "debug", "none"], default="release")
    ap.add_argument("--binary", help="use this zhucan binary (no build)")
    ap.add_argument("--port", type=int, default=18090)
    ap.add_argument("--soak", action="store_true", help="only the soak: --soak-minutes at --soak-clients")
    ap.add_argument("--soak-minutes", type=float, default=10)
    ap.add_argument("--soak-clients", type=int, default=64)
    ap.add_argument("--capture", action="store_true", help="only capture the SQL and check bench/sql/*.sql")
    ap.add_argument("--out", help="results file (default bench/results/<scale>-<time>.md)")
    ap.add_argument("--autogroup", choices=["off", "keep"], default="off",
                    help="the kernel's scheduler autogroups for the run: off (turned off and back on at the end, "
                         "when they are on and we may) or keep (docs/performance.md, 'The scheduler's autogroups')")
    a = ap.parse_args()
    sc = SCALES[a.scale]
    a.clients = a.clients or a.pool_size
    ctx = {"args": a, "rounds": a.rounds or sc["rounds"], "seconds": a.seconds or sc["seconds"],
           "warmup": sc["warmup"] if a.warmup is None else a.warmup, "rate_guess": [1500.0]}
    ensure_wrk()
    for tool in ("pgbench", "psql"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is needed (apt-get install postgresql-client)")
    if a.binary:
        a.build = "none"
    if a.build != "none":
        cmd = ["cargo", "build", "--quiet"] + (["--release"] if a.build == "release" else [])
        log("building: " + " ".join(cmd))
        subprocess.run(cmd, cwd=ROOT, check=True)
    binary = a.binary or os.path.join(ROOT, "target", "debug" if a.build == "debug" else "release", "zhucan")
    if not os.path.exists(binary):
        raise SystemExit(f"{binary} is missing (cargo build --release)")
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    base = url.rsplit("/", 1)[0]
    db = a.db or f"zhucan_bench_{a.scale}"
    pg = Pg(base, db)
    ctx["pg"], ctx["pgflags"] = pg, conninfo(url)
    env = dict(os.environ, DATABASE_URL=pg.url)
    persons = a.persons or sc["persons"]
    if not a.reuse or not pg.exists():
        cities = a.cities or sc["cities"]
        log(f"loading {db}: {persons:,} persons in {cities} cities, 1 need each")
        pg.run(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)", db="postgres")
        pg.run(f"CREATE DATABASE {db}", db="postgres")
        subprocess.run([binary, "migrate"], env=env, check=True, capture_output=True)
        t = time.time()
        r = subprocess.run([binary, "seed", "--synthetic", "--cities", str(cities), "--persons", str(persons), "--needs-per-person", "1"],
                           env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"seed failed: {r.stderr[-2000:]}")
        log(r.stderr.strip())
        log(f"loaded in {time.time() - t:.0f} s; VACUUM ANALYZE")
        pg.run("VACUUM ANALYZE")
    else:
        subprocess.run([binary, "migrate"], env=env, check=True, capture_output=True)
    d = Deployment(pg)
    ctx["d"] = d
    log(f"{db}: {d.persons:,} persons in the city under test; {len(d.towns)} towns and {len(d.villages)} villages sampled")
    pg.run(BENCH_SCHEMA)
    ctx["lookups"] = setup_lookups(pg, d, min(100_000, max(1000, d.persons)))
    log(f"lookups: {ctx['lookups']}")
    random.seed(20261128)
    autogroup = Autogroup(a.autogroup)
    ctx["autogroup"] = autogroup
    server = Server(binary, pg.url, a.port, a.pool_size)
    ctx["server"] = server
    code = 0
    started = dt.datetime.now(dt.timezone.utc)
    try:
        ctx["lookups"].update(setup_inbox(pg, d, server.port))
        log(f"inbox lookups: {ctx['lookups']['inbox']} callers; (town, candidates min/max/mean, inbox total min/max/mean): "
            f"{ctx['lookups']['inbox_candidates']}")
        if a.capture:
            code = 0 if capture(ctx) else 1
            return code
        machine = f"{os.cpu_count()} cores, {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB"
        pgver = pg.one("SHOW server_version")
        head = (f"# Hot paths, API vs pgbench: {a.scale} scale\n\n"
                f"{started:%Y-%m-%d %H:%M} UTC; database `{db}` ({d.persons:,} persons, "
                f"{int(pg.one('SELECT count(*) FROM needs')):,} needs at the start); {machine}; PostgreSQL {pgver}; "
                f"`{os.path.relpath(binary, ROOT)}`; pool {a.pool_size}, concurrency {a.clients}; "
                f"{ctx['rounds']} round(s) of {ctx['seconds']} s per phase (pgbench, API, pgbench), medians; "
                f"load average at the start {' / '.join(f'{x:.1f}' for x in os.getloadavg())}; "
                f"scheduler autogroups {autogroup.describe()}.\n\n"
                f"Lookups: queues {ctx['lookups']['queue_len']} needs (min, max, mean); inbox callers {ctx['lookups']['inbox']}, "
                f"per kind (town 1 / village 0: candidates min, max, mean; inbox total min, max, mean) "
                f"{ctx['lookups']['inbox_candidates']}.\n")
        if a.soak:
            s = soak(ctx, a.soak_minutes, a.soak_clients)
            body = (f"## Soak\n\n{s['minutes']} min at {s['clients']} clients: {s['requests']:,} requests "
                    f"({s['rps']:.0f}/s), {s['failed']} failed; p50/p99/p99.9 {s['p50_ms']:.1f}/{s['p99_ms']:.1f}/{s['p999_ms']:.1f} ms; "
                    f"{fmt(s['cpu_ms_per_req'], 3)} ms CPU per request.\n\n"
                    f"Resident memory: first {s['rss_first_mb']:.1f} MB, last {s['rss_last_mb']:.1f} MB, peak {s['rss_peak_mb']:.1f} MB "
                    f"(VmHWM {s['hwm_mb']:.1f} MB).\n\n| s | VmRSS MB |\n|---:|---:|\n"
                    + "\n".join(f"| {t} | {r / 1024:.1f} |" for t, r, _ in s["samples"] if r) + "\n")
            results = {"soak": s}
            code = 1 if s["failed"] else 0
        else:
            eps = a.only.split(",") if a.only else list(ENDPOINTS)
            results = []
            for ep in eps:
                results.append(bench_endpoint(ctx, ep))
            plans = explain(ctx, eps)
            body = "## Results\n\n" + table(results) + "\n\n" + \
                f"Server: VmHWM {(server.status('VmHWM') or 0) / 1024:.1f} MB over the whole run.\n\n## Plans\n\n" + \
                "\n".join(f"### {k}\n\n```\n{v['sql']}\n\n{v['plan']}\n```\n" for k, v in plans.items())
            results = {"endpoints": results, "plans": plans}
            code = 1 if any(r["api_failed"] or r["pg_failed"] for r in results["endpoints"]) else 0
        report = head + "\n" + body + f"\nLoad average at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}.\n"
        print(report)
        out = a.out or os.path.join(ROOT, "bench", "results", f"{a.scale}{'-soak' if a.soak else ''}-{started:%Y%m%d-%H%M}.md")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            f.write(report)
        with open(out[:-3] + ".json", "w") as f:
            json.dump(results, f, indent=1, default=str)
        log(f"written {os.path.relpath(out, ROOT)} (and .json)")
        if code:
            log("FAILED: some requests or pgbench transactions failed")
        return code
    finally:
        server.stop()
        autogroup.restore()
        log(f"server log: {server.log.name}")


if __name__ == "__main__":
    sys.exit(main())
