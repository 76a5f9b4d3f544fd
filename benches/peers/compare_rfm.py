#!/usr/bin/env python3
"""Peer comparison for the RFM summary: lifetimes, polars and `examples/score`.

    python3 benches/peers/compare_rfm.py [--transactions N] [--customers N] [--layouts L,...]
    python3 benches/peers/compare_rfm.py --short

`--short` (run by .ci/run) checks agreement only, on a 20,000-row log in every layout, and
exits non-zero when the outputs differ; its times mean nothing.

Makes a venv in benches/peers/.venv (gitignored) with lifetimes 0.11.3 (and the pandas/numpy it
still works with) and polars, generates the same deterministic log for every tool with
gen_transactions.py (benches/peers/out/, gitignored), and times, on that file:

  lifetimes  summary_data_from_transaction_data(..., monetary_value_col="amount") on the
             DataFrame already in memory (dates parsed), one run
  polars     the same summary as a lazy group-by (floor to day, sum per (customer, day), then
             per customer count/min/max/sum/first), POLARS_MAX_THREADS=2, best of 3
  loyalty    `target/release/examples/score --summary-only --timings`, the `summary` phase
             (in memory, one thread; parsing is reported separately), best of 3

It also checks that the three agree on frequency, recency and T for every customer (and on
monetary value within 1e-6), then prints the times and the ratios.
"""

import argparse
import io
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
VENV = os.path.join(HERE, ".venv")
OUT = os.path.join(HERE, "out")
PY = os.path.join(VENV, "bin", "python")
PINS = ["numpy==1.26.4", "pandas==1.5.3", "scipy==1.11.4", "lifetimes==0.11.3", "polars"]


def ensure_venv():
    if os.path.abspath(sys.prefix) == os.path.abspath(VENV):
        return
    if not os.path.exists(PY):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([PY, "-m", "pip", "install", "-q", *PINS])
    os.execv(PY, [PY, *sys.argv])


def main():
    ensure_venv()
    os.environ["POLARS_MAX_THREADS"] = "2"
    import numpy as np
    import pandas as pd
    import polars as pl
    from lifetimes.utils import summary_data_from_transaction_data

    ap = argparse.ArgumentParser()
    ap.add_argument("--transactions", type=int, default=5_000_000)
    ap.add_argument("--customers", type=int, default=400_000)
    ap.add_argument("--layouts", default="by_customer,time,shuffled")
    ap.add_argument("--short", action="store_true")
    a = ap.parse_args()
    if a.short:
        a.transactions, a.customers, a.layouts = 20_000, 2_000, "by_customer,time,shuffled"

    subprocess.check_call(
        ["cargo", "build", "--release", "--quiet", "--example", "score"], cwd=ROOT
    )
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    score = os.path.join(target, "release", "examples", "score")
    os.makedirs(OUT, exist_ok=True)

    print(f"load average before: {os.getloadavg()}")
    results = []
    for layout in a.layouts.split(","):
        path = os.path.join(OUT, f"tx_{a.transactions}_{a.customers}_{layout}.csv")
        if not os.path.exists(path):
            subprocess.check_call([
                sys.executable, os.path.join(HERE, "gen_transactions.py"), path,
                "--transactions", str(a.transactions), "--customers", str(a.customers),
                "--layout", layout,
            ])

        # loyalty
        best, parse = None, None
        for _ in range(3):
            with open(os.devnull, "w") as devnull:
                r = subprocess.run([score, "--summary-only", "--timings", path],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   check=True)
            t = dict(line.split() for line in r.stderr.splitlines() if len(line.split()) == 2)
            if best is None or float(t["summary"]) < best:
                best, parse = float(t["summary"]), float(t["parse"])
                ours = r.stdout
        ours_df = pd.read_csv(io.StringIO(ours), dtype={"customer_id": str})

        # lifetimes
        df = pd.read_csv(path, dtype={"customer_id": str})
        df["date"] = pd.to_datetime(df["date"], format="%Y-%m-%d")
        end = df["date"].max()
        t0 = time.perf_counter()
        lt = summary_data_from_transaction_data(
            df, "customer_id", "date", monetary_value_col="amount", observation_period_end=end)
        t_lifetimes = time.perf_counter() - t0

        # polars
        pdf = pl.read_csv(path, schema_overrides={"customer_id": pl.Utf8}).with_columns(
            pl.col("date").str.to_date("%Y-%m-%d"))
        end_pl = pdf["date"].max()
        t_polars = None
        for _ in range(3):
            t0 = time.perf_counter()
            pol = (
                pdf.lazy()
                .group_by(["customer_id", "date"]).agg(pl.col("amount").sum())
                .group_by("customer_id").agg(
                    pl.len().alias("n"),
                    pl.col("date").min().alias("first"),
                    pl.col("date").max().alias("last"),
                    pl.col("amount").sum().alias("total"),
                    pl.col("amount").sort_by("date").first().alias("first_amount"),
                )
                .with_columns(
                    (pl.col("n") - 1).alias("frequency"),
                    (pl.col("last") - pl.col("first")).dt.total_days().alias("recency"),
                    (pl.lit(end_pl) - pl.col("first")).dt.total_days().alias("T"),
                    pl.when(pl.col("n") > 1)
                    .then((pl.col("total") - pl.col("first_amount")) / (pl.col("n") - 1))
                    .otherwise(0.0).alias("monetary_value"),
                )
                .select(["customer_id", "frequency", "recency", "T", "monetary_value"])
                .sort("customer_id")
                .collect()
            )
            dt = time.perf_counter() - t0
            t_polars = dt if t_polars is None else min(t_polars, dt)

        # agreement
        # Rows in lifetimes' order (text order of the ids; the score example writes numeric
        # ids in numeric order).
        lt = lt.sort_index()
        ok = len(lt) == len(ours_df) == pol.height
        ok = ok and set(ours_df["customer_id"]) == set(lt.index)
        ok = ok and (pol["customer_id"].to_numpy() == lt.index.to_numpy()).all()
        if ok:
            ours_df = ours_df.set_index("customer_id").loc[lt.index]
        for col in ["frequency", "recency", "T"]:
            ok = ok and np.array_equal(ours_df[col].to_numpy(), lt[col].to_numpy())
            ok = ok and np.array_equal(pol[col].to_numpy(), lt[col].to_numpy())
        ok = ok and np.allclose(ours_df["monetary_value"], lt["monetary_value"], rtol=1e-6)
        ok = ok and np.allclose(pol["monetary_value"].to_numpy(), lt["monetary_value"], rtol=1e-6)
        results.append((layout, t_lifetimes, t_polars, best, parse, ok, len(lt)))

    print(f"load average after: {os.getloadavg()}")
    print()
    print(f"{a.transactions:,} transactions, ~{a.customers:,} customers, daily periods")
    print("| layout | lifetimes 0.11.3 | polars (2 threads) | loyalty (1 thread) | "
          "vs polars | vs lifetimes | loyalty parse | outputs agree |")
    print("|---|---|---|---|---|---|---|---|")
    for layout, tl, tp, to, parse, ok, n in results:
        print(f"| {layout} | {tl:.2f} s | {tp:.3f} s | {to:.3f} s | {tp / to:.1f}x | "
              f"{tl / to:.0f}x | {parse:.2f} s | {ok} ({n:,} customers) |")
    if not all(r[5] for r in results):
        sys.exit("compare_rfm: the outputs disagree")


if __name__ == "__main__":
    main()
