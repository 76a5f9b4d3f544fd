#!/usr/bin/env python3
"""In-memory peer comparison of the RFM summary: the library's `summarize` and `summarize_par`
against polars' lazy group-by, each timed on a log already in memory, in one run.

    python3 benches/peers/compare_rfm_in_memory.py [--transactions N] [--customers N]
                                                   [--layouts L,...] [--rounds N] [--short]

Uses the venv and the generated logs of compare_rfm.py (gen_transactions.py: zero-padded
numeric ids, dates, two-decimal amounts; benches/peers/out/, gitignored). Per layout:

  polars   reads the CSV into a DataFrame (not timed; ids as text, as compare_rfm.py reads
           them, and again as Int64), then times, in process, best of `--rounds`, the summary
           of compare_rfm.py's query over `df.lazy()` ending in `.collect()` (the end date, the
           two group-bys, the sort by customer); POLARS_MAX_THREADS=2.
  loyalty  examples/summary_timing.rs (release, feature `rayon`, RAYON_NUM_THREADS=2) loads
           the same CSV into `Vec<Transaction<u64>>`, `Vec<Transaction<String>>` and
           `Vec<Transaction<Vec<u8>>>` (not timed), then times `summarize` (one thread) and
           `summarize_par` (2 threads), best of `--rounds` each, and prints the seconds as JSON.
           Its global allocator is mimalloc (polars ships jemalloc): with glibc's malloc each
           call faults its scratch in afresh, which made `String` ids about a third slower.

Loyalty's summary must agree with polars' for every customer (frequency, recency and T exactly,
monetary value within 1e-6); the example itself checks that its three key types give the same
rows and `summarize_par` the same summary as `summarize`. The tables give the seconds, each key
type's speed-up over polars with text ids (the query of compare_rfm.py) and with Int64 ids, and
each text key type's time over the `u64` one's; a key type's time is the faster of `summarize`
and `summarize_par`. `--short` runs 20,000 transactions once and only checks the agreement
(for CI; its times mean nothing).
"""

import json
import os
import subprocess
import time

# Before polars is imported (in the venv this script re-runs in).
os.environ["POLARS_MAX_THREADS"] = "2"

import compare_rfm
import peer_venv

HERE, ROOT, OUT = compare_rfm.HERE, compare_rfm.ROOT, compare_rfm.OUT


def polars_summary(df):
    """compare_rfm.py's POLARS query over a DataFrame already in memory, collected."""
    import polars as pl
    lf = df.lazy()
    end = lf.select(pl.col("date").max()).collect().item()
    return (lf.group_by(["customer_id", "date"]).agg(pl.col("amount").sum())
            .group_by("customer_id").agg(
                pl.len().alias("n"), pl.col("date").min().alias("first"),
                pl.col("date").max().alias("last"), pl.col("amount").sum().alias("total"),
                pl.col("amount").sort_by("date").first().alias("first_amount"))
            .with_columns(
                (pl.col("n") - 1).alias("frequency"),
                (pl.col("last") - pl.col("first")).dt.total_days().cast(pl.Float64).alias("recency"),
                (pl.lit(end) - pl.col("first")).dt.total_days().cast(pl.Float64).alias("T"),
                pl.when(pl.col("n") > 1)
                  .then((pl.col("total") - pl.col("first_amount")) / (pl.col("n") - 1))
                  .otherwise(0.0).alias("monetary_value"))
            .select(["customer_id", "frequency", "recency", "T", "monetary_value"])
            .sort("customer_id")
            .collect())


def best_of(rounds, f):
    fastest, out = float("inf"), None
    for _ in range(rounds):
        out = None
        t0 = time.perf_counter()
        out = f()
        fastest = min(fastest, time.perf_counter() - t0)
    return fastest, out


def build(short):
    # The short run takes the release examples CI has built already (without `rayon`: under
    # 65,536 transactions `summarize_par` is `summarize` anyway).
    features = [] if short else ["--features", "rayon"]
    subprocess.check_call(["cargo", "build", "--release", "--quiet", "-p", "loyalty",
                           "--example", "summary_timing", *features], cwd=ROOT)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "examples", "summary_timing")


def main():
    peer_venv.ensure_venv()
    import polars as pl

    a = compare_rfm.log_arguments(rounds=5)

    example = build(a.short)
    env = dict(os.environ, RAYON_NUM_THREADS="2")
    print(f"load average before: {os.getloadavg()}", flush=True)
    results, failed = [], False
    for layout in a.layouts.split(","):
        csv = compare_rfm.generated_log(a, layout)
        df = (pl.read_csv(csv, schema_overrides={"customer_id": pl.Utf8})
                .with_columns(pl.col("date").str.to_date("%Y-%m-%d")))
        p_text, theirs = best_of(a.rounds, lambda: polars_summary(df))
        df = df.with_columns(pl.col("customer_id").cast(pl.Int64))
        p_int, _ = best_of(a.rounds, lambda: polars_summary(df))
        del df
        out = os.path.join(OUT, f"out_loyalty_in_memory_{layout}.csv")
        p = subprocess.run([example, csv, "--rounds", str(a.rounds), "--out", out], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            raise SystemExit(f"summary_timing failed: {p.stdout}{p.stderr}")
        ours = json.loads(p.stdout)
        mine = compare_rfm.load(out)
        ok = compare_rfm.agree(mine, theirs.sort("customer_id")) and ours["same_keys"]
        failed |= not ok
        results.append((layout, p_text, p_int, ours, ok, mine.height))
        print(f"{layout}: done ({os.getloadavg()[0]:.2f} load)", flush=True)
    print(f"load average after: {os.getloadavg()}")
    if a.short:
        for layout, _, _, _, ok, n in results:
            print(f"{layout}: loyalty and polars agree: {ok} ({n:,} customers)")
    else:
        report(a, results)
    if failed:
        raise SystemExit("outputs disagree")


def report(a, results):
    print()
    print(f"{a.transactions:,} transactions, ~{a.customers:,} customers, daily periods, "
          f"in memory (loading not timed), best of {a.rounds}; polars POLARS_MAX_THREADS=2, "
          f"summarize_par on 2 rayon threads")
    print()
    print("Seconds (`seq` = `summarize`, one thread; `par` = `summarize_par`):")
    print()
    print("| layout | polars, text ids | polars, Int64 ids | u64 seq | u64 par | String seq | "
          "String par | bytes seq | bytes par |")
    print("|---|---|---|---|---|---|---|---|---|")
    for layout, p_text, p_int, o, _, _ in results:
        cells = [f"{o[k][f]:.4f}" if o[k][f] is not None else "-"
                 for k in ["u64", "String", "bytes"] for f in ["summarize", "summarize_par"]]
        print(f"| {layout} | {p_text:.4f} | {p_int:.4f} | " + " | ".join(cells) + " |")
    print()
    print("Processor seconds of a call (user + system, all threads, mean of the rounds, from "
          "/proc; 10 ms ticks): what a call costs when the machine is busy. On an idle machine "
          "`par` takes about its processor time divided by the threads it keeps busy.")
    print()
    print("| layout | u64 seq | u64 par | String seq | String par | bytes seq | bytes par |")
    print("|---|---|---|---|---|---|---|")
    for layout, _, _, o, _, _ in results:
        cells = [f"{o[k]['cpu'][f]:.3f}" if o[k]['cpu'][f] is not None else "-"
                 for k in ["u64", "String", "bytes"] for f in ["summarize", "summarize_par"]]
        print(f"| {layout} | " + " | ".join(cells) + " |")
    print()
    print("Ratios (a key type's time is the faster of seq and par):")
    print()
    print("| layout | u64 vs polars text | u64 vs polars Int64 | String vs polars text | "
          "bytes vs polars text | String / u64 | bytes / u64 | agree |")
    print("|---|---|---|---|---|---|---|---|")
    for layout, p_text, p_int, o, ok, n in results:
        t = {k: min(o[k][f] for f in ["summarize", "summarize_par"] if o[k][f] is not None)
             for k in ["u64", "String", "bytes"]}
        print(f"| {layout} | {p_text / t['u64']:.1f}x | {p_int / t['u64']:.1f}x | "
              f"{p_text / t['String']:.1f}x | {p_text / t['bytes']:.1f}x | "
              f"{t['String'] / t['u64']:.2f} | {t['bytes'] / t['u64']:.2f} | "
              f"{ok} ({n:,} customers) |")


if __name__ == "__main__":
    main()
