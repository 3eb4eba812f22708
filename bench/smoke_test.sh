#!/usr/bin/env bash
# The benchmark's smoke test (ctest "bench: ..."): bench/run.sh --quick must
# finish and write well-formed JSON holding every expected row. It asserts
# that the benchmark works, never how fast anything is.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/bench/run.sh" --quick
python3 - "$ROOT/bench/results/quick.json" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
machine, rows = report["machine"], report["rows"]
for key in ("cores", "memory_bytes", "postgresql"):
    assert key in machine, f"machine lacks {key}"
for key in ("synchronous_commit", "fsync", "shared_buffers", "wal_sync_method"):
    assert key in machine["postgresql"], f"machine.postgresql lacks {key}"
names = {r["name"] for r in rows}
expected = {"create_intent", "idempotent_replay", "webhook_ingest", "full_flow",
            "intent_actor_memory"}
assert expected <= names, f"missing rows: {sorted(expected - names)}"
fields = ("concurrency", "ops_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms",
          "baseline_ops_per_s", "ratio")
for r in rows:
    if r["name"] == "intent_actor_memory":
        for key in ("actors", "rss_bytes", "bytes_per_actor"):
            assert isinstance(r[key], (int, float)), f"memory row: {key} is {r.get(key)!r}"
        continue
    for key in fields:
        assert key in r, f"{r['name']}: no {key}"
    # A scenario is either measured (a number) or says why not.
    assert r["ops_per_s"] is not None or r.get("note", "").startswith("not measured yet"), r
print("bench smoke: ok,", len(rows), "rows")
EOF
