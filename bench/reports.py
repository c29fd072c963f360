#!/usr/bin/env python3
"""Report latency on a synthetic city (issue 5): seeds `zhucan seed --synthetic`, starts the
release server on it, and times every report for the city and for one town.

    python3 bench/reports.py [--persons 100000] [--needs-per-person 5] [--requests 30] [--keep]

Needs a PostgreSQL server (DATABASE_URL's server, else 127.0.0.1:5432) and `cargo build --release`.
Prints a markdown table (p50/p95/max in ms, sequential; throughput with 8 clients).
"""
import argparse, concurrent.futures as cf, json, os, statistics, subprocess, sys, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "zhucan")


def psql(base, sql):
    subprocess.run(["psql", f"{base}/postgres", "-qc", sql], check=True, capture_output=True)


def call(url, token=None, body=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as r:
        data = r.read()
    return (time.perf_counter() - t) * 1000, data


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--needs-per-person", type=float, default=5.0)
    ap.add_argument("--cities", type=int, default=1)
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--db", default="zhucan_bench")
    ap.add_argument("--port", type=int, default=18080)
    ap.add_argument("--reuse", action="store_true", help="do not re-seed an existing bench database")
    a = ap.parse_args()
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    base = url.rsplit("/", 1)[0]
    db_url = f"{base}/{a.db}"
    env = dict(os.environ, DATABASE_URL=db_url, BIND_ADDR=f"127.0.0.1:{a.port}", SWEEP_INTERVAL_SECS="0", RUST_LOG="warn")
    if not a.reuse:
        psql(base, f"DROP DATABASE IF EXISTS {a.db} WITH (FORCE)")
        psql(base, f"CREATE DATABASE {a.db}")
        t = time.time()
        subprocess.run([BIN, "migrate"], env=env, check=True, capture_output=True)
        seed = subprocess.run([BIN, "seed", "--synthetic", "--cities", str(a.cities), "--persons", str(a.persons),
                               "--needs-per-person", str(a.needs_per_person)], env=env, check=True, capture_output=True, text=True)
        print(seed.stderr, file=sys.stderr)
        print(f"seeded in {time.time() - t:.1f}s", file=sys.stderr)
    server = subprocess.Popen([BIN, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        api = f"http://127.0.0.1:{a.port}/api/v1"
        for _ in range(100):
            try:
                call(f"http://127.0.0.1:{a.port}/readyz")
                break
            except Exception:
                time.sleep(0.2)
        _, body = call(f"{api}/auth/login", body={"username": "s300001000000_admin", "password": os.environ.get("DEMO_PASSWORD", "demo-password")})
        token = json.loads(body)["access_token"]
        _, body = call(f"{api}/me", token)
        city = json.loads(body)["org_unit_id"]
        _, body = call(f"{api}/org-units?parent_id={city}&limit=1", token)
        town = json.loads(body)["items"][0]["id"]
        rows = []
        for report in ["coverage", "needs", "sla", "funds", "volunteers"]:
            for label, unit in [("city", city), ("town", town)]:
                u = f"{api}/reports/{report}?org_unit_id={unit}"
                for _ in range(3):
                    call(u, token)
                times = [call(u, token)[0] for _ in range(a.requests)]
                n = a.requests * 2
                errors = 0

                def one(_):
                    try:
                        call(u, token)
                        return 0
                    except Exception:
                        return 1

                t = time.perf_counter()
                with cf.ThreadPoolExecutor(a.clients) as ex:
                    errors = sum(ex.map(one, range(n)))
                rps = n / (time.perf_counter() - t)
                rows.append((report, label, statistics.median(times), pct(times, 95), max(times), rps, errors))
        print(f"| report | unit | p50 ms | p95 ms | max ms | req/s ({a.clients} clients) | errors |")
        print(f"|---|---|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r[0]} | {r[1]} | {r[2]:.1f} | {r[3]:.1f} | {r[4]:.1f} | {r[5]:.1f} | {r[6]} |")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
