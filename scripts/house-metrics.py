#!/usr/bin/env python3
"""The layer rules of docs/architecture.md, measured on the source: handler lengths, where
transactions and the HTTP error type live, how often the state machine is asked, and every import
that points up a layer. Exit 1 when a rule is broken, so CI can run it.

    scripts/house-metrics.py            # a summary
    scripts/house-metrics.py --verbose  # every handler with its length
"""
import pathlib
import re
import statistics
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
verbose = "--verbose" in sys.argv


def rust_files(folder):
    return sorted((SRC / folder).rglob("*.rs"))


def handlers(path):
    """(name, lines) of every `pub async fn` at the top level of a handler file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for i, line in enumerate(lines):
        m = re.match(r"pub async fn (\w+)", line)
        if not m:
            continue
        for j in range(i, len(lines)):
            if lines[j] == "}":
                out.append((m.group(1), j - i + 1))
                break
    return out


def count(folder_filter, pattern):
    hits = []
    for f in sorted(SRC.rglob("*.rs")):
        rel = f.relative_to(SRC).as_posix()
        if not folder_filter(rel):
            continue
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(pattern, line) and not line.strip().startswith("//"):
                hits.append(f"src/{rel}:{n}")
    return hits


# the layers and what each may not import (docs/architecture.md, "The nevers")
NEVER = {
    "domain": ["auth", "cli", "config", "db", "error", "http", "import", "jobs", "server", "service", "tools"],
    "db": ["auth", "cli", "config", "error", "http", "import", "jobs", "server", "service", "tools"],
    "service": ["http", "cli", "server", "jobs", "tools"],
    "auth": ["http", "cli", "server", "service", "jobs", "tools"],
    "jobs": ["http", "cli", "tools"],
    "tools": ["http"],
    "import": ["http", "db", "service", "auth", "jobs", "tools", "cli", "server"],
}

failures = []

all_handlers = []
for f in rust_files("http/api") + rust_files("http/console"):
    for name, n in handlers(f):
        all_handlers.append((f"{f.relative_to(ROOT).as_posix()}::{name}", n))
lengths = [n for _, n in all_handlers]
over = [(h, n) for h, n in all_handlers if n > 40]
print(f"handlers: {len(lengths)}, median {statistics.median(lengths) if lengths else 0} lines, "
      f"max {max(lengths) if lengths else 0}, over 40: {len(over)}")
if verbose:
    for h, n in sorted(all_handlers, key=lambda x: -x[1]):
        print(f"  {n:4} {h}")
for h, n in over:
    failures.append(f"handler over 40 lines: {h} ({n})")

tx = count(lambda r: r.startswith("http/"), r"\.transaction\b")
print(f".transaction( under src/http/: {len(tx)}")
failures += [f"transaction in http: {t}" for t in tx]

app_error = count(lambda r: not r.startswith("http/"), r"\bAppError\b|\bAppResult\b")
print(f"AppError outside src/http/: {len(app_error)}")
failures += [f"AppError outside http: {t}" for t in app_error]

decide = count(lambda r: not r.startswith("domain/"), r"\bdecide\(")
print(f"calls of domain::need::decide outside domain/: {len(decide)} ({', '.join(decide)})")

ups = []
for layer, banned in NEVER.items():
    for f in rust_files(layer):
        text = f.read_text(encoding="utf-8")
        for b in banned:
            if re.search(rf"\bcrate::{b}\b", text):
                ups.append(f"{f.relative_to(ROOT).as_posix()} imports crate::{b}")
print(f"imports against the layers: {len(ups)}")
failures += ups

if failures:
    print("\nbroken:")
    for x in failures:
        print("  " + x)
    sys.exit(1)
