#!/usr/bin/env python3
"""The RFM summary as SQL on DataFusion (loyalty-datafusion) against DuckDB and polars.

    python3 datafusion/benches/peers/sql_pipeline.py [--rows 5000000,50000000]
        [--customers 400000] [--runs 3] [--profile release] [--skip-ballista] [--short]

--short (what CI runs) checks agreement only, on 20,000 rows of 2,000 customers, with the dev
profile build that CI's tests made already, one run, Ballista included, and prints no times.

Makes a venv in datafusion/benches/peers/.venv (gitignored) with duckdb and polars, builds the
`sql` example and the Ballista binaries of loyalty-datafusion (all features, with loyalty-cli as
CI builds them) in the given cargo profile, generates each data set once with DuckDB (datafusion/benches/peers/out/, eight
Parquet files in `part=K/` directories: `customer_id BIGINT, order_time TIMESTAMP,
amount DECIMAL(10,2)`, customers drawn by a hash of the row number, times evenly spread over
2023-01-01 .. 2024-12-30, so the log is in time order), and times, as whole processes started
from this script, alternating tools within each run, best of --runs:

  loyalty     `sql --threads T` : COPY (SELECT customer_id, s['frequency'], s['recency'],
              s['t'], s['monetary_value'] FROM (SELECT customer_id, rfm_summary(order_time,
              amount, DATE '2024-12-31', 'day') AS s FROM tx GROUP BY customer_id)) TO Parquet
  duckdb      the same summary in SQL (day totals, then per customer count - 1, day span,
              age, (total - first day's total) / (days - 1)), SET threads = T, to Parquet
  polars      the same as a lazy query on scan_parquet, POLARS_MAX_THREADS = T, sink_parquet
  ballista    loyalty's statement through `sql --remote` on a `loyalty-scheduler` and two
              `loyalty-executor`s (one task each) started on loopback ports

for T = 1 and 2, checks that the outputs agree on every customer (frequency, recency, T
exactly, monetary value within 1e-9 relative), and prints the times, the ratios, and a paper
estimate for 10^10 rows on N machines from the measured one-thread rate and the shuffle size
(rfm_summary's partial state is the customer's transactions: 24 bytes each plus the key).

Build cost: DataFusion takes about 18 minutes to build in release on the 2-core machine.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
VENV = os.path.join(HERE, ".venv")
OUT = os.path.join(HERE, "out")
PY = os.path.join(VENV, "bin", "python")
AS_OF = "2024-12-31"


def ensure_venv():
    if os.path.abspath(sys.prefix) == os.path.abspath(VENV):
        return
    if not os.path.exists(PY):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([PY, "-m", "pip", "install", "-q", "duckdb", "polars"])
    os.execv(PY, [PY, *sys.argv])


def generate(rows, customers):
    """Eight Parquet files of `rows` transactions (made once per size)."""
    import duckdb

    path = os.path.join(OUT, f"tx-{rows}")
    if os.path.isdir(path):
        return path
    tmp = path + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    span = 730 * 86400
    duckdb.sql(
        f"""COPY (SELECT (hash(i) % {customers})::BIGINT AS customer_id,
                         TIMESTAMP '2023-01-01' + to_seconds((i * {span} // {rows})::BIGINT)
                           AS order_time,
                         ((hash(i * 7 + 1) % 20000) / 100.0 + 0.01)::DECIMAL(10, 2) AS amount,
                         i % 8 AS part
                  FROM range({rows}) t(i))
            TO '{tmp}' (FORMAT PARQUET, PARTITION_BY (part))"""
    )
    os.rename(tmp, path)
    return path


LOYALTY_SQL = (
    "COPY (SELECT customer_id, s['frequency'] AS frequency, s['recency'] AS recency, "
    "s['t'] AS t, s['monetary_value'] AS monetary_value FROM (SELECT customer_id, "
    f"rfm_summary(order_time, amount, DATE '{AS_OF}', 'day') AS s FROM tx "
    "GROUP BY customer_id)) TO '{out}' STORED AS PARQUET"
)

DUCKDB = """
import duckdb, sys
data, out, threads = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect()
con.sql(f"SET threads = {threads}")
con.sql(f'''
COPY (
  WITH days AS (
    SELECT customer_id, date_trunc('day', order_time) AS day, sum(amount) AS amount
    FROM read_parquet('{data}/**/*.parquet') GROUP BY ALL),
  c AS (
    SELECT customer_id, count(*) - 1 AS frequency,
           date_diff('day', min(day), max(day)) AS recency,
           date_diff('day', min(day), DATE '%s') AS t,
           CASE WHEN count(*) = 1 THEN 0
                ELSE (sum(amount) - arg_min(amount, day))::DOUBLE / (count(*) - 1) END
             AS monetary_value
    FROM days GROUP BY customer_id)
  SELECT * FROM c) TO '{out}' (FORMAT PARQUET)''')
""" % AS_OF

POLARS = """
import os, sys, datetime
data, out = sys.argv[1], sys.argv[2]
import polars as pl
as_of = datetime.datetime.fromisoformat('%s')
days = (pl.scan_parquet(f"{data}/**/*.parquet", hive_partitioning=False)
        .with_columns(pl.col("order_time").dt.truncate("1d").alias("day"))
        .group_by("customer_id", "day").agg(pl.col("amount").sum()))
n = pl.len()
c = (days.group_by("customer_id").agg(
        (n - 1).alias("frequency"),
        (pl.col("day").max() - pl.col("day").min()).dt.total_days().alias("recency"),
        (pl.lit(as_of) - pl.col("day").min()).dt.total_days().alias("t"),
        pl.when(n > 1).then(
            (pl.col("amount").sum() - pl.col("amount").sort_by("day").first()).cast(pl.Float64)
            / (n - 1)).otherwise(0.0).alias("monetary_value")))
c.sink_parquet(out)
""" % AS_OF


def timed(cmd, env=None):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    for _ in range(600):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


class Cluster:
    """A loyalty-scheduler and two loyalty-executors on loopback ports."""

    def __init__(self, bins):
        self.port = free_port()
        self.procs = [subprocess.Popen([os.path.join(bins, "loyalty-scheduler"),
                                        "--bind-port", str(self.port)])]
        wait_port(self.port)
        for i in range(2):
            port, grpc = free_port(), free_port()
            work = os.path.join(OUT, f"executor-{i}")
            os.makedirs(work, exist_ok=True)
            self.procs.append(subprocess.Popen([
                os.path.join(bins, "loyalty-executor"), "--scheduler-port", str(self.port),
                "--port", str(port), "--grpc-port", str(grpc), "--concurrent-tasks", "1",
                "--work-dir", work]))
            wait_port(port)

    def close(self):
        for p in self.procs:
            p.kill()
            p.wait()


def agree(outputs):
    import duckdb

    base_name, base = outputs[0]
    for name, path in outputs[1:]:
        bad = duckdb.sql(f"""
            SELECT count(*) FROM read_parquet('{base}') a FULL JOIN read_parquet('{path}') b
              USING (customer_id)
            WHERE a.frequency IS DISTINCT FROM b.frequency
               OR a.recency IS DISTINCT FROM b.recency OR a.t IS DISTINCT FROM b.t
               OR abs(a.monetary_value - b.monetary_value)
                  > 1e-9 * greatest(abs(a.monetary_value), 1)""").fetchall()[0][0]
        if bad:
            raise SystemExit(f"{name} disagrees with {base_name} on {bad} customers")


def main():
    ensure_venv()
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="5000000,50000000")
    ap.add_argument("--customers", type=int, default=400_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--profile", default="release")
    ap.add_argument("--skip-ballista", action="store_true")
    ap.add_argument("--short", action="store_true",
                    help="agreement only: 20,000 rows, dev profile, one run, no times")
    a = ap.parse_args()
    if a.short:
        a.rows, a.customers, a.runs, a.profile = "20000", 2000, 1, "dev"
    os.makedirs(OUT, exist_ok=True)

    # The packages and features of CI's dev-profile test run, so that --short reuses its
    # DataFusion build (features unify across the packages of one cargo run).
    subprocess.check_call(
        ["cargo", "build", "--quiet", "--profile", a.profile, "-p", "loyalty-datafusion",
         "-p", "loyalty-cli", "--all-features", "--example", "sql", "--bins"], cwd=ROOT)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    bins = os.path.join(target, "debug" if a.profile == "dev" else a.profile)
    sql_bin = os.path.join(bins, "examples", "sql")

    for rows in [int(r) for r in a.rows.split(",")]:
        data = generate(rows, a.customers)
        out = lambda name: os.path.join(OUT, f"{name}-{rows}.parquet")
        tools = {}
        for threads in (1, 2):
            env = dict(os.environ, POLARS_MAX_THREADS=str(threads))
            # One output per tool and thread count: every one is checked below.
            o = lambda tool: out(f"{tool}-{threads}")
            tools[f"loyalty/{threads}"] = [sql_bin, "--threads", str(threads), "--table",
                                           f"tx={data}", LOYALTY_SQL.format(out=o("loyalty"))]
            tools[f"duckdb/{threads}"] = [PY, "-c", DUCKDB, data, o("duckdb"), str(threads)]
            tools[f"polars/{threads}"] = ([PY, "-c", POLARS, data, o("polars")], env)
        best = {}
        for _ in range(a.runs):
            for name, cmd in tools.items():
                cmd, env = cmd if isinstance(cmd, tuple) else (cmd, None)
                best[name] = min(best.get(name, float("inf")), timed(cmd, env))
        if not a.skip_ballista:
            cluster = Cluster(bins)
            try:
                cmd = [sql_bin, "--threads", "2", "--remote", f"df://127.0.0.1:{cluster.port}",
                       "--table", f"tx={data}", LOYALTY_SQL.format(out=out("ballista"))]
                best["ballista/2x1"] = min(timed(cmd) for _ in range(a.runs))
            finally:
                cluster.close()
        outputs = [(f"{n}/{t}", out(f"{n}-{t}"))
                   for n in ("loyalty", "duckdb", "polars") for t in (1, 2)]
        if not a.skip_ballista:
            outputs.append(("ballista", out("ballista")))
        agree(outputs)
        if a.short:
            print(f"{rows:,} rows: loyalty (1 and 2 threads"
                  f"{', Ballista' if not a.skip_ballista else ''}), duckdb and polars agree "
                  "on every customer")
            continue

        print(f"\n{rows:,} rows, {a.customers:,} customers (best of {a.runs}, whole processes)")
        for name, secs in best.items():
            print(f"  {name:14} {secs:8.2f} s  {rows / secs / 1e6:7.2f} M rows/s")
        for t in (1, 2):
            print(f"  duckdb/{t} / loyalty/{t} = {best[f'duckdb/{t}'] / best[f'loyalty/{t}']:.2f}"
                  f"   polars/{t} / loyalty/{t} = {best[f'polars/{t}'] / best[f'loyalty/{t}']:.2f}")
        print(f"  loyalty scaling 1 -> 2 threads: {best['loyalty/1'] / best['loyalty/2']:.2f}x")

        rate = rows / best["loyalty/1"]
        shuffle_bytes = 32  # 24-byte transaction record + 8-byte customer key per row
        print(f"  paper estimate for 1e10 rows at {rate / 1e6:.2f} M rows/s per core, "
              f"{shuffle_bytes} shuffle bytes a row, 16 cores and 10 Gbit/s a machine:")
        for machines in (10, 100, 1000):
            compute = 1e10 / (rate * 16 * machines)
            shuffle = 1e10 * shuffle_bytes * (machines - 1) / machines / (1.25e9 * machines)
            print(f"    N = {machines:4}: compute {compute:8.1f} s + shuffle {shuffle:7.1f} s")


if __name__ == "__main__":
    main()
