#!/usr/bin/env python3
"""End-to-end peer comparison of the RFM summary: `loyalty summary` against polars and DuckDB,
whole processes on the same file in one run.

    python3 benches/peers/compare_rfm.py [--transactions N] [--customers N] [--layouts L,...]
                                         [--rounds N] [--short]

Makes a venv in benches/peers/.venv (gitignored) with polars and duckdb, generates the log with
gen_transactions.py (benches/peers/out/, gitignored) and a Parquet copy of it (written by
polars: ids as text, dates as Date, amounts as float64), builds `loyalty` in release, and times,
alternating tools, `--rounds` rounds (best kept), each a fresh process reading the file and
writing the per-customer summary (frequency, recency, T, monetary_value) as CSV:

  loyalty  `loyalty summary FILE -o OUT.csv`
  polars   `pl.scan_csv(FILE, try_parse_dates=True)` (or `scan_parquet`), the summary as a lazy
           group-by, `sink_csv`; POLARS_MAX_THREADS=2
  duckdb   `read_csv_auto(FILE)` (or `read_parquet`), the summary in SQL (`arg_min` for the
           first purchase's amount), `COPY ... TO` CSV; 2 threads

Peak memory is each process's own maximum resident set (`/usr/bin/time -f %M`). The three outputs
must agree on every customer's frequency, recency and T, and on monetary value within 1e-6.
`--short` runs 20,000 transactions once and only checks the agreement (for CI).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import peer_venv

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(HERE, "out")
PY = peer_venv.PY

POLARS = r"""
import sys, polars as pl
src, out = sys.argv[1], sys.argv[2]
lf = pl.scan_parquet(src) if src.endswith(".parquet") else pl.scan_csv(
    src, try_parse_dates=True, schema_overrides={"customer_id": pl.Utf8})
lf = lf.with_columns(pl.col("date").cast(pl.Date))
end = lf.select(pl.col("date").max()).collect().item()
(lf.group_by(["customer_id", "date"]).agg(pl.col("amount").sum())
   .group_by("customer_id").agg(
       pl.len().alias("n"), pl.col("date").min().alias("first"), pl.col("date").max().alias("last"),
       pl.col("amount").sum().alias("total"),
       pl.col("amount").sort_by("date").first().alias("first_amount"))
   .with_columns(
       (pl.col("n") - 1).alias("frequency"),
       (pl.col("last") - pl.col("first")).dt.total_days().cast(pl.Float64).alias("recency"),
       (pl.lit(end) - pl.col("first")).dt.total_days().cast(pl.Float64).alias("T"),
       pl.when(pl.col("n") > 1).then((pl.col("total") - pl.col("first_amount")) / (pl.col("n") - 1))
         .otherwise(0.0).alias("monetary_value"))
   .select(["customer_id", "frequency", "recency", "T", "monetary_value"])
   .sort("customer_id")
   .sink_csv(out))
"""

DUCKDB = r"""
import sys, duckdb
src, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET threads = 2")
read = f"read_parquet('{src}')" if src.endswith(".parquet") else \
    f"read_csv_auto('{src}', types={{'customer_id': 'VARCHAR'}})"
con.execute(f'''
COPY (
  WITH tx AS (SELECT customer_id, CAST(date AS DATE) AS d, amount FROM {read}),
  days AS (SELECT customer_id, d, sum(amount) AS amount FROM tx GROUP BY customer_id, d),
  ends AS (SELECT max(d) AS e FROM days)
  SELECT customer_id, count(*) - 1 AS frequency,
         CAST(max(d) - min(d) AS DOUBLE) AS recency,
         CAST((SELECT e FROM ends) - min(d) AS DOUBLE) AS "T",
         CASE WHEN count(*) > 1 THEN (sum(amount) - arg_min(amount, d)) / (count(*) - 1)
              ELSE 0 END AS monetary_value
  FROM days GROUP BY customer_id ORDER BY customer_id
) TO '{out}' (HEADER, DELIMITER ',')''')
"""

RSS_METER = r"""
import os, sys
out, cmd = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
_, status, usage = os.wait4(pid, 0)
open(out, "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def ensure_venv():
    peer_venv.ensure_venv()


def timed(cmd, env=None):
    """Wall seconds and peak RSS (bytes) of one process, the RSS measured by `/usr/bin/time`.

    Not `wait4`'s rusage of a child forked from this script: Linux starts a child's maximum
    resident set at its parent's size when it forks (the high-water mark survives `exec`),
    so after this script has loaded outputs with polars every child reported at least the
    script's own size. `/usr/bin/time` is a small process, and `%M` is the command's own
    peak."""
    fd, rss_file = tempfile.mkstemp(prefix="rss_", dir=OUT)
    os.close(fd)
    # Without GNU time (a bare CI image): a fresh interpreter forks the command, so the floor
    # is that interpreter's size (about 10 MB), not this script's.
    meter = ["/usr/bin/time", "-f", "%M", "-o", rss_file] if os.path.exists("/usr/bin/time") \
        else [sys.executable, "-c", RSS_METER, rss_file]
    try:
        t0 = time.perf_counter()
        p = subprocess.run([*meter, *cmd], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        dt = time.perf_counter() - t0
        if p.returncode != 0:
            raise SystemExit(f"{cmd[0]} failed: {p.stderr.decode()}")
        with open(rss_file) as f:
            kib = int(f.read().split()[-1])
    finally:
        os.unlink(rss_file)
    return dt, kib * 1024


def load(path):
    import polars as pl
    df = pl.read_csv(path, schema_overrides={"customer_id": pl.Utf8}).sort("customer_id")
    return df


def agree(a, b):
    import numpy as np
    if a.height != b.height or (a["customer_id"] != b["customer_id"]).any():
        return False
    for col in ["frequency", "recency", "T"]:
        if not np.array_equal(a[col].to_numpy().astype(float), b[col].to_numpy().astype(float)):
            return False
    return bool(np.allclose(a["monetary_value"].to_numpy(), b["monetary_value"].to_numpy(), rtol=1e-6))



def log_arguments(rounds):
    """The options both RFM peer scripts take: the generated log's size and layouts, the
    rounds (best kept), and `--short` (20,000 rows, one round, agreement only)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--transactions", type=int, default=5_000_000)
    ap.add_argument("--customers", type=int, default=400_000)
    ap.add_argument("--layouts", default="by_customer,time,shuffled")
    ap.add_argument("--rounds", type=int, default=rounds)
    ap.add_argument("--short", action="store_true")
    a = ap.parse_args()
    if a.short:
        a.transactions, a.customers, a.rounds = 20_000, 2_000, 1
    return a


def generated_log(a, layout):
    """The CSV log of `a`'s size in `layout` (benches/peers/out/), generated on first use."""
    os.makedirs(OUT, exist_ok=True)
    csv = os.path.join(OUT, f"tx_{a.transactions}_{a.customers}_{layout}.csv")
    if not os.path.exists(csv):
        subprocess.check_call([
            sys.executable, os.path.join(HERE, "gen_transactions.py"), csv,
            "--transactions", str(a.transactions), "--customers", str(a.customers),
            "--layout", layout,
        ])
    return csv


def main():
    ensure_venv()
    import polars as pl

    a = log_arguments(rounds=3)

    subprocess.check_call(["cargo", "build", "--release", "--quiet", "-p", "loyalty-cli"], cwd=ROOT)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    loyalty = os.path.join(target, "release", "loyalty")
    env = dict(os.environ, POLARS_MAX_THREADS="2")

    print(f"load average before: {os.getloadavg()}")
    results = []
    failed = False
    for layout in a.layouts.split(","):
        csv = generated_log(a, layout)
        pq = csv[:-4] + ".parquet"
        if not os.path.exists(pq):
            (pl.read_csv(csv, schema_overrides={"customer_id": pl.Utf8})
               .with_columns(pl.col("date").str.to_date("%Y-%m-%d"))
               .write_parquet(pq))
        for src in [csv, pq]:
            kind = "csv" if src == csv else "parquet"
            outs = {t: os.path.join(OUT, f"out_{t}_{layout}_{kind}.csv") for t in ["loyalty", "polars", "duckdb"]}
            cmds = {
                "loyalty": [loyalty, "summary", "--quiet", src, "-o", outs["loyalty"]],
                "polars": [PY, "-c", POLARS, src, outs["polars"]],
                "duckdb": [PY, "-c", DUCKDB, src, outs["duckdb"]],
            }
            best = {t: (float("inf"), 0) for t in cmds}
            for _ in range(a.rounds):
                for t, cmd in cmds.items():
                    # Every tool writes a new file: replacing an existing one costs some
                    # filesystems a flush (ext4 forces the data of a file renamed over
                    # another to disk, as `loyalty` replaces its output), others nothing.
                    if os.path.exists(outs[t]):
                        os.unlink(outs[t])
                    dt, rss = timed(cmd, env)
                    if dt < best[t][0]:
                        best[t] = (dt, rss)
            ours = load(outs["loyalty"])
            ok = agree(ours, load(outs["polars"])) and agree(ours, load(outs["duckdb"]))
            failed |= not ok
            results.append((layout, kind, os.path.getsize(src), best, ok, ours.height))

    print(f"load average after: {os.getloadavg()}")
    print()
    print(f"{a.transactions:,} transactions, ~{a.customers:,} customers, daily periods, "
          f"whole processes, best of {a.rounds}")
    print("| layout | input | file | loyalty | polars (2 threads) | DuckDB (2 threads) | "
          "vs polars | vs DuckDB | loyalty peak RSS | polars RSS | DuckDB RSS | agree |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    mb = lambda b: f"{b / 1e6:.0f} MB"
    for layout, kind, size, best, ok, n in results:
        lo, po, du = best["loyalty"], best["polars"], best["duckdb"]
        print(f"| {layout} | {kind} | {mb(size)} | {lo[0]:.3f} s | {po[0]:.3f} s | {du[0]:.3f} s | "
              f"{po[0] / lo[0]:.1f}x | {du[0] / lo[0]:.1f}x | {mb(lo[1])} ({lo[1] / size:.2f}x file) | "
              f"{mb(po[1])} | {mb(du[1])} | {ok} ({n:,} customers) |")
    if failed:
        raise SystemExit("outputs disagree")


if __name__ == "__main__":
    main()
