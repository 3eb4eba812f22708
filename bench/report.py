#!/usr/bin/env python3
"""Assembles the benchmark report from bench/run.sh's raw results.

Usage: report.py MACHINE_JSON RESULTS_JSONL OUT_JSON OUT_MD

RESULTS_JSONL holds one object per line, "kind" being baseline (pgbench),
engine (a loadgen result), missing (a scenario that could not be measured,
with the reason), flow_webhooks or memory (an actor_memory result). Nothing
here invents a number: a missing measurement is a row with nulls and a note.
"""

import json
import sys

SCENARIOS = ["create_intent", "idempotent_replay", "webhook_ingest", "full_flow"]

NOTES = {
    "create_intent": "POST /v1/payment_intents, fresh Idempotency-Key each; "
    "answered after its commit; includes the PSP create call",
    "idempotent_replay": "replays of pre-created keys (stored answer, Idempotent-Replayed)",
    "webhook_ingest": "signed charge.succeeded events: verified, stored in the inbox, answered",
    "full_flow": "one op = create, confirm at the sandbox, authorized by the PSP's webhook "
    "(polled on the audit events, which never ask the PSP; a PSP read doing it is an error), "
    "capture, the PSP's succeeded webhook processed, the capture's ledger transaction present",
}


def main():
    machine_path, results_path, out_json, out_md = sys.argv[1:5]
    machine = json.load(open(machine_path))
    records = [json.loads(line) for line in open(results_path) if line.strip()]

    baseline = {r["concurrency"]: r for r in records if r["kind"] == "baseline"}
    engine = [dict(r["result"], loadavg_1m_before=r.get("loadavg_1m_before"))
              for r in records if r["kind"] == "engine"]
    missing = {r["name"]: r["note"] for r in records if r["kind"] == "missing"}
    for r in records:
        if r["kind"] == "loadavg_end":
            machine["loadavg_at_end"] = r["value"].split()
    flow_webhooks = any(r.get("enabled") for r in records if r["kind"] == "flow_webhooks")
    machine["baseline"] = {
        "tool": "pgbench (Debian, PostgreSQL 15), -M prepared, one-row INSERT per transaction, "
        "synchronous_commit=on",
        "points": [baseline[c] for c in sorted(baseline)],
    }

    rows = []
    for name in SCENARIOS:
        results = sorted((e for e in engine if e["scenario"] == name),
                         key=lambda e: e["concurrency"])
        if not results:
            rows.append({
                "name": name, "concurrency": None, "ops_per_s": None, "p50_ms": None,
                "p90_ms": None, "p99_ms": None, "max_ms": None, "baseline_ops_per_s": None,
                "ratio": None,
                "note": missing.get(name, "not measured yet (no result)"),
            })
            continue
        for e in results:
            b = baseline.get(e["concurrency"])
            base = round(b["ops_per_s"], 1) if b else None
            ops = round(e["ops_per_s"], 1)
            note = NOTES[name]
            if name == "full_flow":
                note += ("; the sandbox's webhooks flow into the engine"
                         if flow_webhooks else "; no webhooks (the engine cannot receive them yet)")
            if b and b["clients"] != e["concurrency"]:
                note += f"; baseline ran {b['clients']} pgbench clients (max_connections)"
            rows.append({
                "name": name,
                "concurrency": e["concurrency"],
                "ops_per_s": ops,
                "p50_ms": e["p50_ms"],
                "p90_ms": e["p90_ms"],
                "p99_ms": e["p99_ms"],
                "max_ms": e["max_ms"],
                "baseline_ops_per_s": base,
                "ratio": round(ops / base, 3) if base else None,
                "ops": e["ops"],
                "failed": e["failed"],
                "errors": e["errors"],
                "loadavg_1m_before": e["loadavg_1m_before"],
                "note": note,
            })
    for r in records:
        if r["kind"] != "memory":
            continue
        m = r["result"]
        rows.append({
            "name": "intent_actor_memory",
            "actors": m["actors"],
            "rss_bytes": m["rss_bytes"],
            "bytes_per_actor": m["bytes_per_actor"],
            "rss_before_bytes": m["rss_before_bytes"],
            "psp_calls": m["psp_calls"],
        })

    json.dump({"machine": machine, "rows": rows}, open(out_json, "w"), indent=2)
    open(out_json, "a").write("\n")
    open(out_md, "w").write(markdown(machine, rows))


def fmt(v, digits=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}"


def markdown(machine, rows):
    pg = machine["postgresql"]
    mib = machine["memory_bytes"] / 2**30
    lines = [
        f"Benchmark of {machine['date_utc']} (commit {machine['commit']}"
        f"{', uncommitted changes' if machine['tree_dirty'] else ''}): "
        f"{machine['cores']} cores ({machine['cpu']}), {mib:.1f} GiB, "
        f"PostgreSQL {pg['version']} (synchronous_commit={pg['synchronous_commit']}, "
        f"fsync={pg['fsync']}, wal_sync_method={pg['wal_sync_method']}, "
        f"shared_buffers={pg['shared_buffers']}); {machine['duration_s_per_point']:g} s per point; "
        f"load average {' '.join(machine['loadavg_at_start'])} at the start, "
        f"{' '.join(machine.get('loadavg_at_end', ['?']))} at the end"
        f"{' (QUICK smoke run: not a measurement)' if machine['quick'] else ''}.",
        "",
        "| name | concurrency | ops/s | p50 ms | p90 ms | p99 ms | max ms | baseline ops/s | ratio "
        "| errors | note |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        if r["name"] == "intent_actor_memory":
            note = (f"{r['actors']:,} live actors: RSS {r['rss_bytes'] / 2**20:,.1f} MiB "
                    f"(before {r['rss_before_bytes'] / 2**20:,.1f} MiB), "
                    f"{r['bytes_per_actor']:,.0f} bytes per actor")
            lines.append(f"| intent_actor_memory | - | - | - | - | - | - | - | - | - | {note} |")
            continue
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(r.get("errors", {}).items())) or "-"
        if r["ops_per_s"] is None:
            errors = "-"
        lines.append(
            f"| {r['name']} | {fmt(r['concurrency'])} | {fmt(r['ops_per_s'])} "
            f"| {fmt(r['p50_ms'], 2)} | {fmt(r['p90_ms'], 2)} | {fmt(r['p99_ms'], 2)} "
            f"| {fmt(r['max_ms'], 2)} | {fmt(r['baseline_ops_per_s'])} | {fmt(r['ratio'], 3)} "
            f"| {errors} | {r['note']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
