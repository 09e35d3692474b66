"""Scoring where the orders live (issue 24): PostgreSQL aggregate + scoring in SQL with
parallel workers, against the export path `\\copy ... TO` CSV + `churn score` +
`\\copy ... FROM`, in the same run on the same server and machine.

Sizes: BENCH_PG_CUSTOMERS (default 1,000,000; about 10 orders each, so 10 million orders),
BENCH_PG_WORKERS (parallel workers per query, default 2; the export path gives
`churn score` as many threads). The server is the throw-away one of the tests
(bindings/postgresql/tests/pgserver.py). Prints the times and their ratio.
"""
import csv
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bindings", "postgresql",
                                "tests"))
import pgserver  # noqa: E402

N = int(os.environ.get("BENCH_PG_CUSTOMERS", "1000000"))
WORKERS = int(os.environ.get("BENCH_PG_WORKERS", "2"))
CHURN = os.environ["CHURN_EXE"]
CUTOFF = "2025-12-28"


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True)


def main():
    tmp = tempfile.mkdtemp(prefix="churn-bench-pg-")
    os.chmod(tmp, 0o755)
    tx = os.path.join(tmp, "tx.csv")
    t0 = time.perf_counter()
    run(CHURN, "simulate", "--model", "pnbd", "--customers", str(N), "--seed", "24",
        "--start", "2024-01-01", "--weeks", "104", "--acquisition-weeks", "26",
        "--r", "1.15", "--alpha", "5", "-o", tx)
    feats = os.path.join(tmp, "features.csv")
    run(CHURN, "features", tx, "--cutoff", CUTOFF, "--unit", "week",
        "--columns", "frequency,recency,T,monetary_value", "-o", feats)
    models = {}
    for fam in ("bgnbd", "gammagamma"):
        models[fam] = os.path.join(tmp, fam + ".json")
        run(CHURN, "fit", fam, feats, "-o", models[fam])
    print(f"setup: simulated and fitted in {time.perf_counter() - t0:.1f} s", flush=True)

    srv = pgserver.from_env({"max_worker_processes": WORKERS + 4,
                             "max_parallel_workers": WORKERS + 2,
                             "max_parallel_workers_per_gather": WORKERS,
                             "shared_buffers": "512MB", "work_mem": "512MB",
                             "maintenance_work_mem": "512MB", "max_wal_size": "4GB"})
    try:
        srv.psql("CREATE EXTENSION churn")
        srv.psql("CREATE TABLE orders (customer_id bigint NOT NULL, ordered_at date NOT NULL, "
                 "amount numeric(12, 2) NOT NULL); "
                 "CREATE TABLE models (name text PRIMARY KEY, model jsonb NOT NULL)")
        for fam, path in models.items():
            with open(path) as f:
                srv.psql(f"INSERT INTO models VALUES ('{fam}', $m${f.read()}$m$)")
        t0 = time.perf_counter()
        srv.psql(f"\\copy orders FROM '{tx}' (FORMAT csv, HEADER)")
        srv.psql("VACUUM ANALYZE orders")
        (n_orders,) = srv.psql("SELECT count(*) FROM orders")[1].split()
        print(f"loaded {int(n_orders):,} orders of {N:,} customers in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)

        sql = f"""
          SET max_parallel_workers_per_gather = {WORKERS};
          CREATE TABLE scores_sql AS
          SELECT q.customer_id, s.p_alive, s.expected_purchases, s.expected_spend, s.clv
          FROM (SELECT customer_id,
                       churn.summary(ordered_at, amount, date '{CUTOFF}', 'week') AS c
                FROM orders GROUP BY customer_id) q
          CROSS JOIN (SELECT (SELECT model FROM models WHERE name = 'bgnbd') AS b,
                             (SELECT model FROM models WHERE name = 'gammagamma') AS g) m
          CROSS JOIN LATERAL churn.score(m.b, m.g, q.c, 12, 4.345) s
          WHERE q.c IS NOT NULL"""
        plan = srv.psql(f"SET max_parallel_workers_per_gather = {WORKERS}; EXPLAIN "
                        + sql.split("CREATE TABLE scores_sql AS", 1)[1])[1]
        t0 = time.perf_counter()
        srv.psql(sql)
        t_sql = time.perf_counter() - t0
        workers = "Workers Planned" in plan
        print(f"SQL: churn.summary + churn.score in PostgreSQL: {t_sql:.1f} s "
              f"({'parallel plan, ' + str(WORKERS) + ' workers' if workers else 'serial plan'})",
              flush=True)
        # the same query without parallel workers, for reference
        serial = sql.replace(f"max_parallel_workers_per_gather = {WORKERS}",
                             "max_parallel_workers_per_gather = 0").replace(
                                 "TABLE scores_sql", "TABLE scores_serial")
        t0 = time.perf_counter()
        head, body = serial.split("CREATE TABLE", 1)
        analyze = srv.psql(head + "EXPLAIN (ANALYZE, TIMING OFF) CREATE TABLE" + body)[1]
        t_serial = time.perf_counter() - t0
        print(f"SQL without parallel workers: {t_serial:.1f} s; its aggregation: "
              + "; ".join(line.strip() for line in analyze.splitlines()
                          if "Batches" in line or "Execution Time" in line), flush=True)

        # PostgreSQL's own GROUP BY over the same rows (built-in aggregates only): the floor
        # under any per-customer aggregate in SQL
        t0 = time.perf_counter()
        srv.psql(f"SET max_parallel_workers_per_gather = {WORKERS}; CREATE TABLE plain AS "
                 "SELECT customer_id, count(*), sum(amount::float8), min(ordered_at), "
                 "max(ordered_at) FROM orders GROUP BY customer_id")
        t_plain = time.perf_counter() - t0
        print(f"for reference, count/sum/min/max GROUP BY customer_id: {t_plain:.1f} s", flush=True)

        out_csv = os.path.join(tmp, "export.csv")
        scores_csv = os.path.join(tmp, "scores.csv")
        t0 = time.perf_counter()
        srv.psql(f"\\copy (SELECT customer_id, ordered_at AS date, amount FROM orders) TO "
                 f"'{out_csv}' (FORMAT csv, HEADER)")
        t1 = time.perf_counter()
        run(CHURN, "score", models["bgnbd"], out_csv, "--cutoff", CUTOFF, "--unit", "week",
            "--spend", models["gammagamma"], "--period", "4.345", "--horizon", "52",
            "--threads", str(WORKERS), "--quiet", "-o", scores_csv)
        t2 = time.perf_counter()
        srv.psql("CREATE TABLE scores_cli (customer_id bigint, frequency float8, recency float8, "
                 "t float8, p_alive float8, p_churn float8, expected_purchases float8, "
                 "expected_spend float8, clv float8)")
        srv.psql(f"\\copy scores_cli FROM '{scores_csv}' (FORMAT csv, HEADER)")
        t_cli = time.perf_counter() - t0
        print(f"export path: \\copy TO {t1 - t0:.1f} s + churn score {t2 - t1:.1f} s + "
              f"\\copy FROM {time.perf_counter() - t2:.1f} s = {t_cli:.1f} s", flush=True)

        # same customers, same CLV (the command prints 10 digits)
        (bad,) = srv.psql("SELECT count(*) FROM scores_sql s FULL JOIN scores_cli c "
                          "USING (customer_id) WHERE s.clv IS NULL OR c.clv IS NULL OR "
                          "abs(s.clv - c.clv) > 1e-9 * greatest(abs(s.clv), 1e-3)")[1].split()
        (rows,) = srv.psql("SELECT count(*) FROM scores_sql")[1].split()
        print(f"{int(rows):,} customers scored; rows differing between the two paths: {bad}")
        print(f"ratio (export path / SQL): {t_cli / t_sql:.2f} "
              f"(serial SQL: {t_cli / t_serial:.2f})  "
              f"[{N:,} customers, {int(n_orders):,} orders, {WORKERS} workers]")
        if not workers:
            print("plan:\n" + plan)
        if int(bad):
            sys.exit(1)
    finally:
        srv.stop()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
