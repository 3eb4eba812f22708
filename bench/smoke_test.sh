#!/usr/bin/env bash
# The benchmark's smoke test (ctest "bench: ..."): bench/run.sh --quick must
# finish and write well-formed JSON holding every expected row (the engine's
# scenarios, the sandbox-alone and seed-service baselines, L, PostgreSQL's
# counts per operation, the targets). It asserts that the benchmark works,
# never how fast anything is.
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
            "intent_actor_memory", "sandbox_create", "seed_create_intent"}
assert expected <= names, f"missing rows: {sorted(expected - names)}"
# The baselines of issue 17 at every concurrency, and the machine's limit L.
assert report["baselines"], "no baselines"
for b in report["baselines"]:
    for key in ("pgbench_commits_per_s", "sandbox_creates_per_s", "machine_limit_L"):
        assert isinstance(b[key], (int, float)) and b[key] > 0, f"baseline {b}: {key}"
    assert b["pgbench_postgresql_per_op"]["xact_commit_per_op"] is not None, b
creates = [r for r in rows if r["name"] == "create_intent"]
for r in creates:
    for key in ("answers_503", "ratio_to_L", "ratio_to_seed", "postgresql_per_op"):
        assert key in r, f"create_intent: no {key}"
    # Counted from PostgreSQL: a create writes, so it takes a transaction id.
    assert r["postgresql_per_op"]["write_xacts_per_op"] > 0, r
# CPU per create by process, from /proc and the load generator's getrusage:
# the service, PostgreSQL and the load generator all work for a create.
for r in creates + [r for r in rows if r["name"] == "seed_create_intent"]:
    cpu = r.get("cpu_per_op_ms")
    assert cpu, f"{r['name']}: no cpu_per_op_ms"
    for key in ("service", "postgresql", "sandbox", "loadgen"):
        assert isinstance(cpu[key], (int, float)) and cpu[key] >= 0, f"{r['name']} cpu {key}: {cpu}"
    assert cpu["service"] > 0 and cpu["loadgen"] > 0, cpu
seed = [r for r in rows if r["name"] == "seed_create_intent" and r.get("ops_per_s") is not None]
assert seed, "the seed-style service was not measured"
assert any(r["ops_per_s"] > 0 for r in seed), seed
# The seed service is one SELECT and one INSERT per create: when the cluster
# counts statements, that is what PostgreSQL must have seen.
for r in seed:
    n = r["postgresql_per_op"]["statements_per_op"]
    assert n is None or 1.9 <= n <= 2.1, f"seed service: {n} statements per create"
assert "create_intent" in report["p99_at_half_peak"], report["p99_at_half_peak"]
verdicts = {t["verdict"] for t in report["targets"]}
assert len(report["targets"]) >= 9 and verdicts <= {"met", "not met", "not measured"}, \
    report["targets"]
engine = {"create_intent", "idempotent_replay", "webhook_ingest", "full_flow"}
fields = ("concurrency", "ops_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms",
          "baseline_ops_per_s", "ratio")
for r in rows:
    if r["name"] == "intent_actor_memory":
        for key in ("actors", "rss_bytes", "bytes_per_actor"):
            assert isinstance(r[key], (int, float)), f"memory row: {key} is {r.get(key)!r}"
        continue
    # The baselines' rows have no pgbench ratio; every row has the rest.
    for key in fields if r["name"] in engine else fields[:6]:
        assert key in r, f"{r['name']}: no {key}"
    # A scenario is either measured (a number) or says why not.
    assert r["ops_per_s"] is not None or r.get("note", "").startswith("not measured"), r
print("bench smoke: ok,", len(rows), "rows")
EOF
