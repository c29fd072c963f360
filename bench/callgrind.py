#!/usr/bin/env python3
"""Instructions per request: the server under valgrind's callgrind, one path, one client.

    bench/callgrind.py [--binary target/release/zhucan] [--db zhucan_bench_city] [--requests 2000]
                       [--path person|floor|inbox] [--top 25]

Starts `zhucan serve` under `valgrind --tool=callgrind` on a loaded bench database (bench/run.sh
--scale city made it), signs in as a town's staff (from the bench's own lookup table), sends 300
requests to warm the pool and the statement caches, zeroes the counters, sends `--requests` more
on one keep-alive connection and dumps. Prints the instructions per request (every thread of the
server: the HTTP workers, the log thread, the runtime) and the functions with the most
instructions of their own.

Unlike a wall-clock benchmark this counts work, not time: the same binary, database and requests
give the same count within a fraction of a percent whatever else the machine is doing, so it can
tell a 5% change that the 2-core machine's ±15% round-to-round noise hides. What it does not see:
the kernel (system calls, TCP, the scheduler, about a third of the server's CPU on the person
read), and the cost of an instruction (cache misses, what inlining saves). Under valgrind the CPU
has no SHA extensions and `rep stos` counts per byte, so SHA-256 (the token's HMAC) and memset weigh
more here than they do natively (docs/performance.md, "Whole-program optimization").
"""
import argparse
import collections
import glob
import http.client
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse

import hotpaths  # the harness beside it: its readiness wait and its sign-in


def psql(db_url, sql):
    r = subprocess.run(["psql", db_url, "-At", "-F", "\t", "-c", sql], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"psql: {r.stderr.strip()}")
    return [line.split("\t") for line in r.stdout.splitlines() if line]


def self_costs(path):
    """Each function's own instructions (not its callees') from a callgrind dump."""
    names, own = {}, collections.Counter()
    cur, after_calls = None, False

    def name(tok):
        m = re.match(r"\((\d+)\)(?: (.*))?", tok)
        if not m:
            return tok
        if m.group(2) is not None:
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), tok)

    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("fn="):
                cur = name(line[3:])
            elif line.startswith("cfn="):
                name(line[4:])
            elif line.startswith("calls="):
                after_calls = True
            elif line and (line[0].isdigit() or line[0] in "+-*"):
                parts = line.split()
                if len(parts) >= 2 and not after_calls:
                    own[cur] += int(parts[1])
                after_calls = False
    return own


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="target/release/zhucan")
    ap.add_argument("--db", default="zhucan_bench_city")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--path", choices=["person", "floor", "inbox"], default="person")
    ap.add_argument("--port", type=int, default=18095)
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()
    # DATABASE_URL's server (with or without a database in it), the bench's database
    server = urllib.parse.urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432"))
    db_url = urllib.parse.urlunsplit((server.scheme, server.netloc, "/" + a.db, server.query, ""))
    for tool in ("valgrind", "callgrind_control"):
        if not any(os.access(os.path.join(d, tool), os.X_OK) for d in os.environ["PATH"].split(":")):
            raise SystemExit(f"{tool} is missing (apt-get install valgrind)")
    user, person = psql(db_url, "SELECT u.username, b.person_id FROM bench.person_t b "
                                "JOIN users u ON u.id = b.user_id ORDER BY b.k LIMIT 1")[0]
    out = tempfile.mkdtemp(prefix="zhucan-callgrind-")
    env = dict(os.environ, DATABASE_URL=db_url, BIND_ADDR=f"127.0.0.1:{a.port}", DB_POOL_SIZE="4",
               SWEEP_INTERVAL_SECS="0")
    env.pop("RUST_LOG", None)
    log = open(os.path.join(out, "server.log"), "w")
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg.%p",
                             a.binary, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        # under valgrind the server starts some 50 times slower
        hotpaths.wait_ready(proc, a.port, os.path.join(out, "server.log"), 300)
        headers = {"authorization": "Bearer " + hotpaths.login(a.port, user)}
        c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=120)
        target = {"person": f"/api/v1/persons/{person}", "floor": "/healthz", "inbox": "/api/v1/inbox"}[a.path]

        def send(n):
            for _ in range(n):
                c.request("GET", target, headers=headers)
                resp = c.getresponse()
                resp.read()
                if resp.status != 200:
                    raise SystemExit(f"GET {target}: {resp.status}")

        send(300)
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True)
        send(a.requests)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
        time.sleep(1)
    finally:
        proc.terminate()
        proc.wait()
    dumps = glob.glob(os.path.join(out, "cg.*.1"))
    if not dumps:
        raise SystemExit(f"no dump in {out}")
    own = self_costs(dumps[0])
    total = sum(own.values())
    print(f"{a.binary}: GET {target.split('/api/v1')[-1]} — {total / a.requests:,.0f} instructions per request "
          f"({total:,} over {a.requests:,}; dump {dumps[0]})")
    for fn, n in own.most_common(a.top):
        print(f"{100 * n / total:6.2f}%  {n / a.requests:>9,.0f}  {fn[:150]}")


if __name__ == "__main__":
    sys.exit(main())
