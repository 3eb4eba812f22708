#!/usr/bin/env python3
"""Assembles the benchmark report from bench/run.sh's raw results.

Usage: report.py MACHINE_JSON RESULTS_JSONL OUT_JSON OUT_MD

RESULTS_JSONL holds one object per line, "kind" being
  baseline      pgbench's one-row commits at one concurrency;
  sandbox       a loadgen sandbox_create result: the sandbox PSP alone;
  seed          a loadgen create_intent result against bench/seed_service;
  seed_setup    how the seed service ran (processes, pool);
  stats_setup   whether pg_stat_statements was loaded, the stats flush wait;
  engine        a loadgen result against paymentsd;
  engine_half_peak  create_intent paced (loadgen --rate) at half of the
                sweep's peak: p99 at half of peak, measured;
  missing       a scenario that could not be measured, with the reason;
  flow_webhooks, memory (an actor_memory result), loadavg_end.
Points measured against a database carry "pg": PostgreSQL's counters of that
database before and after the point (pg_stat_database, pg_stat_statements).

Nothing here invents a number: a missing measurement is a null with a note.
The targets of issue 17 are reported met / not met, never asserted.
"""

import json
import sys

SCENARIOS = ["create_intent", "idempotent_replay", "webhook_ingest", "full_flow"]
P99_TARGET_MS = 50.0
REFERENCE_CONCURRENCY = 32  # the targets for creates are "at 32 connections"

NOTES = {
    "create_intent": "POST /v1/payment_intents, fresh Idempotency-Key each; "
    "answered after its commit; includes the PSP create call",
    "idempotent_replay": "replays of pre-created keys (stored answer, Idempotent-Replayed)",
    "webhook_ingest": "signed charge.succeeded events: verified, stored in the inbox, answered",
    "full_flow": "one op = create, confirm at the sandbox, authorized by the PSP's webhook "
    "(polled on the audit events, which never ask the PSP; a PSP read doing it is an error), "
    "capture, the PSP's succeeded webhook processed, the capture's ledger transaction present",
}


def count_503(errors):
    return sum(n for k, n in (errors or {}).items() if k.endswith(":503"))


def per_op(pg, ops, flushed):
    """PostgreSQL's work per operation over one point, from its own counters.

    `ops` is every operation the point finished, warm-up included, since the
    counters are read around the whole point. Commit and row counts come from
    pg_stat_database, which a backend publishes late (up to 10 s after its
    last transaction): they are null when the point was read without waiting.
    """
    empty = {"ops_counted": ops, "statements_per_op": None, "dml_statements_per_op": None,
             "xact_commit_per_op": None, "write_xacts_per_op": None,
             "rows_written_per_op": None, "counters_flushed": flushed}
    if not pg or not pg.get("before") or not pg.get("after") or not ops:
        return empty
    b, a = pg["before"], pg["after"]

    def delta(key):
        if b.get(key) is None or a.get(key) is None:
            return None
        return round((float(a[key]) - float(b[key])) / ops, 3)

    out = dict(empty)
    out["statements_per_op"] = delta("statements")
    out["dml_statements_per_op"] = delta("dml_statements")
    # Transaction ids are cluster-wide: the count includes any other writer
    # of the cluster during the point (none on a private cluster).
    out["write_xacts_per_op"] = delta("next_xid")
    if flushed:
        out["xact_commit_per_op"] = delta("xact_commit")
        out["rows_written_per_op"] = delta("rows_written")
    return out


def loadgen_row(name, r, note):
    res = r["result"]
    ops_all = res.get("ops_all", 0) + res.get("failed_all", 0)
    return {
        "name": name,
        "concurrency": res["concurrency"],
        "ops_per_s": round(res["ops_per_s"], 1),
        "p50_ms": res["p50_ms"],
        "p90_ms": res["p90_ms"],
        "p99_ms": res["p99_ms"],
        "max_ms": res["max_ms"],
        "ops": res["ops"],
        "failed": res["failed"],
        "errors": res["errors"],
        "answers_503": count_503(res["errors"]),
        "loadavg_1m_before": r.get("loadavg_1m_before"),
        "postgresql_per_op": per_op(r.get("pg"), ops_all, r.get("stats_flush_s", 0) > 0),
        "cpu_per_op_ms": cpu_per_op(r.get("cpu"), res.get("cpu_ms"), ops_all),
        "note": note,
    }


def cpu_per_op(cpu, loadgen_ms, ops):
    """CPU time per operation by process over one point (warm-up included,
    like `ops`): the service under test (paymentsd or the seed service), the
    sandbox PSP, PostgreSQL's processes and the load generator. None when the
    point was recorded without CPU figures."""
    if not cpu or not ops:
        return None
    out = {k: round(cpu[k + "_ms"] / ops, 3) for k in ("service", "sandbox", "postgresql")}
    out["loadgen"] = round(loadgen_ms / ops, 3) if loadgen_ms is not None else None
    out["total"] = round(sum(v for v in out.values() if v is not None), 3)
    return out


def machine_limit(sandbox_ops, pgbench_ops):
    """L = 1 / (1/sandbox_alone + 1/pgbench): each create needs one PSP call
    and one durable commit, on the same cores."""
    if not sandbox_ops or not pgbench_ops:
        return None
    return round(1.0 / (1.0 / sandbox_ops + 1.0 / pgbench_ops), 1)


def half_peak(points):
    """p99 at half of the peak rate, from a closed-loop sweep: linear between
    the two measured points around half of peak (by ops/s, at or below the
    peak's concurrency); the lowest point's p99 when even it is above half."""
    pts = sorted((p for p in points if p.get("ops_per_s")), key=lambda p: p["concurrency"])
    if not pts:
        return None
    peak = max(pts, key=lambda p: p["ops_per_s"])
    half = peak["ops_per_s"] / 2
    rising = [p for p in pts if p["concurrency"] <= peak["concurrency"]]
    out = {"peak_ops_per_s": peak["ops_per_s"], "peak_concurrency": peak["concurrency"],
           "half_ops_per_s": round(half, 1)}
    if rising[0]["ops_per_s"] >= half:
        p = rising[0]
        out.update(p99_ms=p["p99_ms"], basis=f"c={p['concurrency']} ({fmt(p['ops_per_s'])}/s) "
                   "is already at or above half of peak: its p99")
        return out
    for lo, hi in zip(rising, rising[1:]):
        if lo["ops_per_s"] <= half <= hi["ops_per_s"]:
            span = hi["ops_per_s"] - lo["ops_per_s"]
            t = (half - lo["ops_per_s"]) / span if span else 0.0
            p99 = lo["p99_ms"] + t * (hi["p99_ms"] - lo["p99_ms"])
            out.update(p99_ms=round(p99, 2),
                       basis=f"between c={lo['concurrency']} ({fmt(lo['ops_per_s'])}/s, p99 "
                       f"{fmt(lo['p99_ms'], 2)} ms) and c={hi['concurrency']} "
                       f"({fmt(hi['ops_per_s'])}/s, p99 {fmt(hi['p99_ms'], 2)} ms), linear")
            return out
    out.update(p99_ms=None, basis="no measured points around half of peak")
    return out


def at_reference(points):
    """The point at 32 connections, or the nearest concurrency measured."""
    pts = [p for p in points if p.get("concurrency") is not None]
    if not pts:
        return None
    return min(pts, key=lambda p: (abs(p["concurrency"] - REFERENCE_CONCURRENCY),
                                   -p["concurrency"]))


def main():
    machine_path, results_path, out_json, out_md = sys.argv[1:5]
    machine = json.load(open(machine_path))
    records = [json.loads(line) for line in open(results_path) if line.strip()]

    baseline = {r["concurrency"]: r for r in records if r["kind"] == "baseline"}
    missing = {r["name"]: r["note"] for r in records if r["kind"] == "missing"}
    for r in records:
        if r["kind"] == "loadavg_end":
            machine["loadavg_at_end"] = r["value"].split()
        if r["kind"] == "seed_setup":
            machine["seed_service"] = {k: v for k, v in r.items() if k != "kind"}
        if r["kind"] == "stats_setup":
            machine["postgresql_counters"] = {k: v for k, v in r.items() if k != "kind"}
    flow_webhooks = any(r.get("enabled") for r in records if r["kind"] == "flow_webhooks")
    machine["baseline"] = {
        "tool": "pgbench (Debian, PostgreSQL 15), -M prepared, one-row INSERT per transaction, "
        "synchronous_commit=on",
        "points": [baseline[c] for c in sorted(baseline)],
    }

    # ---- the baselines and the machine's limit L, per concurrency ----
    sandbox = {r["result"]["concurrency"]: loadgen_row(
        "sandbox_create", r, "the sandbox PSP alone: the engine's PSP create "
        "(form body, secret key, fresh Idempotency-Key) sent straight to it")
        for r in records if r["kind"] == "sandbox"}
    seed = {r["result"]["concurrency"]: loadgen_row(
        "seed_create_intent", r, "bench/seed_service (Express + pg + stripe-node): one SELECT "
        "for the key, one PSP call, one INSERT; same sandbox, same cluster")
        for r in records if r["kind"] == "seed"}
    concurrencies = sorted(set(baseline) | set(sandbox) | set(seed))
    baselines = []
    for c in concurrencies:
        b = baseline.get(c)
        pgb = round(b["ops_per_s"], 1) if b else None
        sbx = sandbox[c]["ops_per_s"] if c in sandbox else None
        pg_stats = per_op(b.get("pg"), b.get("ops_all"), True) if b else per_op(None, 0, True)
        baselines.append({
            "concurrency": c,
            "pgbench_commits_per_s": pgb,
            "pgbench_clients": b["clients"] if b else None,
            "pgbench_latency_avg_ms": b.get("latency_avg_ms") if b else None,
            "pgbench_postgresql_per_op": pg_stats,
            "sandbox_creates_per_s": sbx,
            "sandbox_p99_ms": sandbox[c]["p99_ms"] if c in sandbox else None,
            "sandbox_answers_503": sandbox[c]["answers_503"] if c in sandbox else None,
            "machine_limit_L": machine_limit(sbx, pgb),
            "seed_creates_per_s": seed[c]["ops_per_s"] if c in seed else None,
            "seed_p99_ms": seed[c]["p99_ms"] if c in seed else None,
        })
    by_c = {b["concurrency"]: b for b in baselines}

    # ---- the engine's scenarios ----
    engine = [r for r in records if r["kind"] == "engine"]
    rows = []
    for name in SCENARIOS:
        results = sorted((r for r in engine if r["result"]["scenario"] == name),
                         key=lambda r: r["result"]["concurrency"])
        if not results:
            rows.append({
                "name": name, "concurrency": None, "ops_per_s": None, "p50_ms": None,
                "p90_ms": None, "p99_ms": None, "max_ms": None, "baseline_ops_per_s": None,
                "ratio": None, "answers_503": None,
                "note": missing.get(name, "not measured yet (no result)"),
            })
            continue
        for r in results:
            c = r["result"]["concurrency"]
            b = baseline.get(c)
            note = NOTES[name]
            if name == "full_flow":
                note += ("; the sandbox's webhooks flow into the engine"
                         if flow_webhooks else "; no webhooks (the engine cannot receive them yet)")
            if b and b["clients"] != c:
                note += f"; baseline ran {b['clients']} pgbench clients (max_connections)"
            row = loadgen_row(name, r, note)
            base = round(b["ops_per_s"], 1) if b else None
            row["baseline_ops_per_s"] = base
            row["ratio"] = round(row["ops_per_s"] / base, 3) if base else None
            if name == "create_intent":
                limit = by_c.get(c, {}).get("machine_limit_L")
                seed_ops = seed[c]["ops_per_s"] if c in seed else None
                row["machine_limit_L"] = limit
                row["ratio_to_L"] = round(row["ops_per_s"] / limit, 3) if limit else None
                row["seed_ops_per_s"] = seed_ops
                row["ratio_to_seed"] = round(row["ops_per_s"] / seed_ops, 3) if seed_ops else None
            rows.append(row)
    for c in sorted(sandbox):
        rows.append(sandbox[c])
    for c in sorted(seed):
        rows.append(seed[c])
    if not seed and "seed_create_intent" in missing:
        rows.append({"name": "seed_create_intent", "concurrency": None, "ops_per_s": None,
                     "note": missing["seed_create_intent"]})
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

    halves = {}
    for name in SCENARIOS + ["seed_create_intent", "sandbox_create"]:
        pts = [r for r in rows if r["name"] == name and r.get("ops_per_s") is not None]
        h = half_peak(pts)
        if h:
            halves[name] = h
    for r in records:
        if r["kind"] == "engine_half_peak" and "create_intent" in halves:
            row = loadgen_row("create_intent_half_peak", r, "")
            halves["create_intent"]["paced"] = {
                "rate_per_s": r["result"].get("rate_per_s"),
                "concurrency": row["concurrency"], "ops_per_s": row["ops_per_s"],
                "p50_ms": row["p50_ms"], "p99_ms": row["p99_ms"], "max_ms": row["max_ms"],
                "answers_503": row["answers_503"], "errors": row["errors"],
                "postgresql_per_op": row["postgresql_per_op"]}
    targets = assess(rows, by_c, halves, machine)

    report = {"machine": machine, "baselines": baselines, "rows": rows,
              "p99_at_half_peak": halves, "targets": targets}
    with open(out_json, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    with open(out_md, "w") as f:
        f.write(markdown(machine, baselines, rows, halves, targets))


def verdict(ok):
    return "met" if ok else "not met"


def assess(rows, by_c, halves, machine):
    """The targets of issue 17: what was measured and met / not met."""
    out = []

    def points(name):
        return [r for r in rows if r["name"] == name and r.get("ops_per_s") is not None]

    creates = points("create_intent")
    ref = at_reference(creates)
    where = ""
    if ref and ref["concurrency"] != REFERENCE_CONCURRENCY:
        where = f" (the sweep has no c={REFERENCE_CONCURRENCY}: c={ref['concurrency']})"

    def add(target, measured, ok):
        out.append({"target": target, "measured": measured,
                    "verdict": "not measured" if ok is None else verdict(ok)})

    if ref and ref.get("ratio_to_L") is not None:
        add("create_intent at 32 connections >= 0.5 L" + where,
            f"{fmt(ref['ops_per_s'])}/s vs L {fmt(ref['machine_limit_L'])}/s: "
            f"{ref['ratio_to_L']:.3f} L", ref["ratio_to_L"] >= 0.5)
    else:
        add("create_intent at 32 connections >= 0.5 L", "L or create_intent missing", None)
    if ref and ref.get("ratio_to_seed") is not None:
        add("create_intent at 32 connections >= 2.5x the seed-style service" + where,
            f"{fmt(ref['ops_per_s'])}/s vs seed {fmt(ref['seed_ops_per_s'])}/s: "
            f"{ref['ratio_to_seed']:.2f}x", ref["ratio_to_seed"] >= 2.5)
    else:
        add("create_intent at 32 connections >= 2.5x the seed-style service",
            "the seed service or create_intent missing", None)

    h = halves.get("create_intent")
    paced = (h or {}).get("paced")
    if paced:
        add("create_intent p99 < 50 ms at half of peak",
            f"peak {fmt(h['peak_ops_per_s'])}/s at c={h['peak_concurrency']}; paced at "
            f"{fmt(paced['rate_per_s'])}/s on {paced['concurrency']} connections: "
            f"{fmt(paced['ops_per_s'])}/s done, p99 {fmt(paced['p99_ms'], 2)} ms, "
            f"{paced['answers_503']} x 503 (read off the sweep: "
            f"{fmt(h.get('p99_ms'), 2)} ms)",
            paced["p99_ms"] < P99_TARGET_MS and paced["ops_per_s"] > 0)
    elif h and h.get("p99_ms") is not None:
        add("create_intent p99 < 50 ms at half of peak",
            f"peak {fmt(h['peak_ops_per_s'])}/s at c={h['peak_concurrency']}; half "
            f"{fmt(h['half_ops_per_s'])}/s: p99 {fmt(h['p99_ms'], 2)} ms ({h['basis']})",
            h["p99_ms"] < P99_TARGET_MS)
    else:
        add("create_intent p99 < 50 ms at half of peak", "no create_intent points", None)

    # No 503 while the engine creates below what the PSP alone can do.
    below = [(r, by_c.get(r["concurrency"], {}).get("sandbox_creates_per_s")) for r in creates]
    below = [(r, s) for r, s in below if s is not None and r["ops_per_s"] < s]
    if below:
        shed = [(r["concurrency"], r["answers_503"]) for r, _ in below]
        total = sum(n for _, n in shed)
        add("no 503 below the PSP's own capacity (create_intent)",
            ", ".join(f"c={c}: {n} x 503" for c, n in shed), total == 0)
    else:
        add("no 503 below the PSP's own capacity (create_intent)",
            "the sandbox baseline or create_intent missing", None)

    hooks = points("webhook_ingest")
    pairs = [(r, by_c.get(r["concurrency"], {}).get("pgbench_commits_per_s")) for r in hooks]
    pairs = [(r, b) for r, b in pairs if b]
    if pairs:
        add("webhook_ingest >= 1.0x pgbench one-row commits (every concurrency)",
            ", ".join(f"c={r['concurrency']}: {r['ops_per_s'] / b:.3f}x" for r, b in pairs),
            all(r["ops_per_s"] >= b for r, b in pairs))
    else:
        add("webhook_ingest >= 1.0x pgbench one-row commits", "not measured", None)

    replays = {r["concurrency"]: r for r in points("idempotent_replay")}
    pairs = [(replays[r["concurrency"]], r) for r in creates if r["concurrency"] in replays]
    if pairs:
        add("idempotent_replay >= 3x the create rate (every concurrency)",
            ", ".join(f"c={c['concurrency']}: {p['ops_per_s'] / c['ops_per_s']:.2f}x"
                      for p, c in pairs if c["ops_per_s"]),
            all(p["ops_per_s"] >= 3 * c["ops_per_s"] for p, c in pairs))
    else:
        add("idempotent_replay >= 3x the create rate", "not measured", None)

    flows = points("full_flow")
    add("full_flow reported",
        ", ".join(f"c={r['concurrency']}: {fmt(r['ops_per_s'])}/s" for r in flows) or "no points",
        bool(flows))

    stats = ref["postgresql_per_op"] if ref else None
    st = stats.get("statements_per_op") if stats else None
    add("statements per create <= 4 (pg_stat_statements, BEGIN/COMMIT/SAVEPOINT included)"
        + where,
        (f"{st:.2f} per create ({stats['dml_statements_per_op']:.2f} without transaction "
         "control)") if st is not None else
        "not measured (pg_stat_statements is not loaded in this cluster)",
        None if st is None else st <= 4)
    xc = stats.get("xact_commit_per_op") if stats else None
    add("commits per create <= 2 (pg_stat_database xact_commit, read-only ones included)" + where,
        (f"{xc:.2f} per create ({stats['write_xacts_per_op']:.2f} write transactions by "
         "transaction ids)") if xc is not None else
        "not measured (counters read without the stats flush wait, e.g. --quick)",
        None if xc is None else xc <= 2)

    mems = [r for r in rows if r["name"] == "intent_actor_memory" and r["actors"] >= 100_000]
    if mems:
        m = max(mems, key=lambda r: r["actors"])
        add("100k live intent actors stay under 1 GiB",
            f"{m['actors']:,} actors: RSS {m['rss_bytes'] / 2**20:,.1f} MiB",
            m["rss_bytes"] < 2**30)
    else:
        add("100k live intent actors stay under 1 GiB", "not measured at 100k actors", None)
    return out


def fmt(v, digits=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}"


def markdown(machine, baselines, rows, halves, targets):
    pg = machine["postgresql"]
    mib = machine["memory_bytes"] / 2**30
    seed = machine.get("seed_service")
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
        "## Targets (issue 17; reported, not asserted)",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
    ]
    for t in targets:
        lines.append(f"| {t['target']} | {t['measured']} | **{t['verdict']}** |")
    lines += [
        "",
        "## Baselines and the machine's limit for a create",
        "",
        "L = 1 / (1/sandbox_alone + 1/pgbench): a create needs one PSP call and one durable "
        "commit on the same cores. Seed-style service: "
        + (f"node {seed['node']}, {seed['workers']} process(es) (node cluster), pg pool "
           f"{seed['pool_max_per_worker']} each." if seed else "not measured."),
        "",
        "| concurrency | pgbench commits/s | sandbox creates/s | sandbox p99 ms | L creates/s "
        "| seed creates/s | seed p99 ms |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for b in baselines:
        clients = ""
        if b["pgbench_clients"] is not None and b["pgbench_clients"] != b["concurrency"]:
            clients = f" ({b['pgbench_clients']} clients)"
        lines.append(
            f"| {b['concurrency']} | {fmt(b['pgbench_commits_per_s'])}{clients} "
            f"| {fmt(b['sandbox_creates_per_s'])} | {fmt(b['sandbox_p99_ms'], 2)} "
            f"| {fmt(b['machine_limit_L'])} | {fmt(b['seed_creates_per_s'])} "
            f"| {fmt(b['seed_p99_ms'], 2)} |")
    lines += [
        "",
        "## Points",
        "",
        "| name | concurrency | ops/s | p50 ms | p90 ms | p99 ms | max ms | 503s | baseline ops/s "
        "| ratio | x L | x seed | errors | note |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        if r["name"] == "intent_actor_memory":
            note = (f"{r['actors']:,} live actors: RSS {r['rss_bytes'] / 2**20:,.1f} MiB "
                    f"(before {r['rss_before_bytes'] / 2**20:,.1f} MiB), "
                    f"{r['bytes_per_actor']:,.0f} bytes per actor")
            lines.append("| intent_actor_memory | - | - | - | - | - | - | - | - | - | - | - | - "
                         f"| {note} |")
            continue
        errors = ", ".join(f"{k}: {v}" for k, v in sorted((r.get("errors") or {}).items())) or "-"
        if r["ops_per_s"] is None:
            errors = "-"
        lines.append(
            f"| {r['name']} | {fmt(r['concurrency'])} | {fmt(r['ops_per_s'])} "
            f"| {fmt(r.get('p50_ms'), 2)} | {fmt(r.get('p90_ms'), 2)} | {fmt(r.get('p99_ms'), 2)} "
            f"| {fmt(r.get('max_ms'), 2)} | {fmt(r.get('answers_503'))} "
            f"| {fmt(r.get('baseline_ops_per_s'))} | {fmt(r.get('ratio'), 3)} "
            f"| {fmt(r.get('ratio_to_L'), 3)} | {fmt(r.get('ratio_to_seed'), 2)} "
            f"| {errors} | {r['note']} |")
    lines += [
        "",
        "## PostgreSQL's work per operation (its own statistics)",
        "",
        "Deltas of the measured database's counters around each point, divided by every "
        "operation the point finished (warm-up included): statements from pg_stat_statements "
        "(all, and without BEGIN/COMMIT/SAVEPOINT/SET), commits from pg_stat_database "
        "xact_commit (read-only transactions included), write transactions from the cluster's "
        "transaction ids, rows written from pg_stat_database tup_inserted + tup_updated + "
        "tup_deleted. '-': not measured (see docs/performance.md).",
        "",
        "| name | concurrency | ops counted | statements/op | without tx control/op "
        "| commits/op | write xacts/op | rows written/op |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for b in baselines:
        s = b["pgbench_postgresql_per_op"]
        if s.get("ops_counted"):
            lines.append(stats_line("pgbench_commit", b["concurrency"], s))
    for r in rows:
        s = r.get("postgresql_per_op")
        if s and r["name"] != "sandbox_create":
            lines.append(stats_line(r["name"], r["concurrency"], s))
    lines += [
        "",
        "## CPU per operation by process",
        "",
        "CPU time (user + system) each process spent during the point, divided by every "
        "operation it finished (warm-up included): the service under test (paymentsd, or the "
        "seed service's processes), the sandbox PSP, every PostgreSQL process of the cluster "
        "(/proc/<pid>/stat), and the load generator (getrusage). On 2 cores, 2,000 ms of CPU "
        "per second is the whole machine.",
        "",
        "| name | concurrency | ops/s | service ms/op | PostgreSQL ms/op | sandbox ms/op "
        "| loadgen ms/op | total ms/op |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        c = r.get("cpu_per_op_ms")
        if c:
            lines.append(
                f"| {r['name']} | {r['concurrency']} | {fmt(r['ops_per_s'])} "
                f"| {fmt(c['service'], 3)} | {fmt(c['postgresql'], 3)} | {fmt(c['sandbox'], 3)} "
                f"| {fmt(c['loadgen'], 3)} | {fmt(c['total'], 3)} |")
    lines += [
        "",
        "## p99 at half of peak",
        "",
        "| name | peak ops/s | at c | half ops/s | p99 ms at half | how |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, h in halves.items():
        lines.append(f"| {name} | {fmt(h['peak_ops_per_s'])} | {h['peak_concurrency']} "
                     f"| {fmt(h['half_ops_per_s'])} | {fmt(h.get('p99_ms'), 2)} | {h['basis']} |")
        p = h.get("paced")
        if p:
            errors = ", ".join(f"{k}: {v}" for k, v in sorted(p["errors"].items())) or "no errors"
            lines.append(
                f"| {name} (paced) | {fmt(h['peak_ops_per_s'])} | {h['peak_concurrency']} "
                f"| {fmt(p['rate_per_s'])} | {fmt(p['p99_ms'], 2)} | measured: loadgen --rate "
                f"{fmt(p['rate_per_s'])} on {p['concurrency']} connections, "
                f"{fmt(p['ops_per_s'])}/s done, p50 {fmt(p['p50_ms'], 2)} ms, {errors} |")
    return "\n".join(lines) + "\n"


def stats_line(name, c, s):
    return (f"| {name} | {c} | {fmt(s['ops_counted'])} | {fmt(s['statements_per_op'], 2)} "
            f"| {fmt(s['dml_statements_per_op'], 2)} | {fmt(s['xact_commit_per_op'], 2)} "
            f"| {fmt(s['write_xacts_per_op'], 2)} | {fmt(s['rows_written_per_op'], 2)} |")


if __name__ == "__main__":
    main()
