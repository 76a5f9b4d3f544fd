"""Peer comparison for loyalty::clv against lifetimes 0.11.3 (Python).

Times, on this machine and in the same run:
  1. the BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma fits on the CDNOW sample summary (2,357
     customers, 946 repeat buyers for Gamma-Gamma) and on a 20,000-customer synthetic summary
     (deterministic: simulated from the CDNOW Pareto/NBD estimates with a 64-bit LCG, days / 7
     as in the CDNOW summary; repeat buyers' mean spend simulated from the CDNOW Gamma-Gamma
     estimates). Each side is timed as a whole fit from the per-customer rows in memory to the
     estimate with its standard errors: lifetimes' `fit` (which computes its Hessian), best of
     3 in this interpreter, and the fit `loyalty fit --repeat 20` reports in `seconds` (the
     histogram, the optimiser and the Hessian; not reading the file), best of 20 in one
     process: both warm, neither counting a process start. For Pareto/NBD, whose lifetimes
     fitter stops Nelder-Mead at tol 1e-4 from a random start, lifetimes' own objective is
     evaluated at both estimates and minimised to tol 1e-12 from lifetimes' estimate
     (untimed), so the output shows which estimate is the optimum and how close ours is to a
     converged lifetimes;
  2. CLV scoring (BG/NBD + Gamma-Gamma, 12 months, 1 % monthly, weekly model) of the CDNOW
     summary replicated to 100,000 customers;
and prints each time, the parameters both found, and the ratio lifetimes / loyalty.

Run from the crate root (the venv, benches/peers/.venv with lifetimes 0.11.3 from PyPI, is
made on first use, as by compare_rfm.py; the `loyalty` command is built in release mode):
    python3 benches/peers/compare_clv.py [--skip-slow] [--fits-only]
    python3 benches/peers/compare_clv.py --short
`--fits-only` stops after the fits. `--skip-slow` skips lifetimes' Pareto/NBD fit on the synthetic summary (about 17 s here). `--short` (run by .ci/run)
checks agreement only: BG/NBD, MBG/NBD and Gamma-Gamma on CDNOW and Pareto/NBD on a
300-customer synthetic summary, each estimate within 1e-4 relative of lifetimes' (Pareto/NBD, whose likelihood is flat on that small sample, 1e-3) (whose
optimiser stops at a looser tolerance than ours; for Pareto/NBD, an estimate further off
passes only where lifetimes' own objective is lower at ours than at lifetimes' estimate),
and exits non-zero otherwise.
"""
import json
import math
import os
import subprocess
import sys
import time

import peer_venv

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "benches", "peers", "out")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
LOYALTY = os.path.join(TARGET, "release", "loyalty")
CDNOW = os.path.join(ROOT, "tests", "data", "cdnow_customers_summary.csv")
CDNOW_SPEND = os.path.join(ROOT, "tests", "data", "cdnow_customers_summary_with_transactions.csv")
# The same CDNOW summary with lifetimes' column names, as `loyalty fit --summary-input` reads it.
CDNOW_NAMED = os.path.join(ROOT, "examples", "data", "cdnow_summary.csv")
HERE = os.path.dirname(os.path.abspath(__file__))
PY = peer_venv.PY


def ensure_venv():
    """Re-runs the script in the shared venv (peer_venv.py), after building the `loyalty`
    command."""
    peer_venv.ensure_venv(lambda: subprocess.check_call(
        ["cargo", "build", "--release", "--quiet", "-p", "loyalty-cli"], cwd=ROOT))


class Lcg:
    """Knuth's MMIX LCG; uniform in (0, 1) from the top 53 bits. Same as benches/clv.rs."""

    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFFFFFFFFFF

    def uniform(self):
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        return ((self.state >> 11) + 0.5) / 9007199254740992.0

    def normal(self):
        u1, u2 = self.uniform(), self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)

    def gamma(self, shape):
        """Marsaglia & Tsang (2000); shape < 1 boosted by U^(1/shape)."""
        if shape < 1.0:
            return self.gamma(shape + 1.0) * self.uniform() ** (1.0 / shape)
        d = shape - 1.0 / 3.0
        c = 1.0 / math.sqrt(9.0 * d)
        while True:
            x = self.normal()
            v = (1.0 + c * x) ** 3
            if v > 0.0 and math.log(self.uniform()) < 0.5 * x * x + d - d * v + d * math.log(v):
                return d * v


def synthetic_pareto(n, seed=20260101, r=0.5533, alpha=10.578, s=0.6062, beta=11.668):
    """(frequency, recency, T) in weeks: first purchases spread over 12 weeks, 39-week window,
    purchases on the same day merged, times as days / 7."""
    rng = Lcg(seed)
    rows = []
    for _ in range(n):
        start = math.floor(rng.uniform() * 84.0)
        t_days = 273 - start
        lam = rng.gamma(r) / alpha
        mu = rng.gamma(s) / beta
        death = -math.log(rng.uniform()) / mu
        end = min(death, t_days / 7.0)
        t, last_day, x = 0.0, 0, 0
        for _ in range(100000):
            t += -math.log(rng.uniform()) / lam
            if t > end:
                break
            day = math.floor(t * 7.0)
            if day > last_day:
                x += 1
                last_day = day
        rows.append((x, last_day / 7.0, t_days / 7.0))
    return rows


def write_csv(path, rows):
    with open(path, "w") as f:
        f.write("frequency,recency,T\n")
        for x, tx, t in rows:
            f.write(f"{x},{tx!r},{t!r}\n")


def synthetic_spend(rows, seed=20260102, p=6.25, q=3.74, v=15.44):
    """Mean repeat spend of each row (0 for x = 0) from Gamma-Gamma at the CDNOW estimates:
    nu ~ Gamma(q, rate v), and the mean of x spends ~ Gamma(p, rate nu) is Gamma(p x, rate nu x),
    rounded to cents."""
    rng = Lcg(seed)
    out = []
    for x, _, _ in rows:
        if x == 0:
            out.append(0.0)
            continue
        nu = rng.gamma(q) / v
        out.append(max(0.01, round(rng.gamma(p * x) / (nu * x), 2)))
    return out


def write_spend_csv(path, rows, spend):
    with open(path, "w") as f:
        f.write("frequency,recency,T,monetary_value\n")
        for (x, tx, t), m in zip(rows, spend):
            f.write(f"{x},{tx!r},{t!r},{m!r}\n")


def ours_fit(model, path, repeat):
    """`loyalty fit` on a summary file: `repeat` fits in one process on the rows in memory, the
    fastest reported (warm, as lifetimes' best of 3 in this interpreter is)."""
    out = subprocess.run(
        [LOYALTY, "fit", "--model", model, "--summary-input", "--repeat", str(repeat), path],
        check=True, capture_output=True, text=True,
    ).stdout
    res = json.loads(out)
    res.update(res.pop("params"))
    return res


def pareto_converged(cols, theirs, ours):
    """lifetimes' own Pareto/NBD objective at its estimate and at ours, and that objective
    minimised to a tight tolerance from lifetimes' estimate (SciPy's BFGS with central
    differences, tol 1e-12, instead of lifetimes' Nelder-Mead at 1e-4, which at 1e-12 takes
    minutes): shows which estimate is the better optimum and how far ours is from a converged
    lifetimes. Returns (objective at lifetimes' estimate, at ours, at the converged one, the
    converged parameters)."""
    import numpy as np
    from scipy.optimize import minimize
    from lifetimes import ParetoNBDFitter
    from lifetimes.utils import _scale_time

    freq, rec, t = (np.asarray(c, dtype=float) for c in cols)
    scale = _scale_time(t)
    w = np.ones(len(freq), dtype=np.int64)

    def scaled(p):
        return np.array([p["r"], p["alpha"] * scale, p["s"], p["beta"] * scale])

    def objective(x):
        return ParetoNBDFitter._negative_log_likelihood(
            x, freq, rec * scale, t * scale, w, 0.0)

    tight = minimize(objective, scaled(theirs), method="BFGS", jac="3-point", tol=1e-12,
                     options={"maxiter": 10000}).x
    params = dict(zip(["r", "alpha", "s", "beta"],
                      [tight[0], tight[1] / scale, tight[2], tight[3] / scale]))
    return objective(scaled(theirs)), objective(scaled(ours)), objective(tight), params


def pareto_objective(cols, params):
    """lifetimes' own Pareto/NBD objective (its negative log-likelihood per customer, no
    penalty) at `params`."""
    import numpy as np
    from lifetimes import ParetoNBDFitter
    from lifetimes.utils import _scale_time

    freq, rec, t = (np.asarray(c, dtype=float) for c in cols)
    scale = _scale_time(t)
    x = np.array([params["r"], params["alpha"] * scale, params["s"], params["beta"] * scale])
    return ParetoNBDFitter._negative_log_likelihood(
        x, freq, rec * scale, t * scale, np.ones(len(freq), dtype=np.int64), 0.0)


def ours_score(n, distinct=False):
    """`loyalty score --summary-input` on the CDNOW summary repeated to n rows (with
    --distinct, every row's T shifted by a multiple of 1e-9 weeks, which defeats the scorer's
    reuse of shared (x, T) pairs). Times the whole process (reading, fitting both models,
    scoring, writing), best of 3, and returns the first three CLVs."""
    with open(CDNOW_SPEND) as f:
        lines = f.read().splitlines()[1:]
    path = os.path.join(OUT, f"cdnow_repeated_{n}{'_distinct' if distinct else ''}.csv")
    with open(path, "w") as f:
        f.write("customer_id,frequency,recency,T,monetary_value\n")
        for i in range(n):
            _id, x, tx, t, m = lines[i % len(lines)].split(",")
            t = float(t) + (i * 1e-9 if distinct else 0.0)
            f.write(f"{i},{x},{tx},{t!r},{m}\n")
    best, out = None, None
    for _ in range(3):
        t0 = time.perf_counter()
        r = subprocess.run([LOYALTY, "score", "--summary-input", "--period", "week", path],
                           check=True, capture_output=True, text=True)
        dt = time.perf_counter() - t0
        if best is None or dt < best:
            best, out = dt, r.stdout
    first = [round(float(l.split(",")[-1]), 6) for l in out.splitlines()[1:4]]
    return {"seconds": best, "first": first}


def short():
    """Agreement of the four fits with lifetimes on small inputs; no timing."""
    import pandas as pd
    from lifetimes import (BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter,
                           ParetoNBDFitter)

    os.makedirs(OUT, exist_ok=True)
    synth = os.path.join(OUT, "synthetic_pareto_300.csv")
    write_csv(synth, synthetic_pareto(300))
    cdnow = pd.read_csv(CDNOW)
    spend = pd.read_csv(CDNOW_SPEND)
    rep = spend[spend["x"] > 0]
    cases = [
        ("bgnbd", CDNOW, lambda: BetaGeoFitter().fit(
            cdnow["frequency"], cdnow["recency"], cdnow["T"])),
        ("mbgnbd", CDNOW, lambda: ModifiedBetaGeoFitter().fit(
            cdnow["frequency"], cdnow["recency"], cdnow["T"])),
        ("gamma-gamma", CDNOW_NAMED, lambda: GammaGammaFitter().fit(rep["x"], rep["zbar"])),
        ("pareto-nbd", synth, lambda: ParetoNBDFitter().fit(
            *(pd.read_csv(synth)[c] for c in ("frequency", "recency", "T")))),
    ]
    bad = []
    for model, path, theirs in cases:
        ours = ours_fit(model, path, 1)
        params = theirs().params_
        off = []
        for name, value in params.items():
            rel = abs(ours[name] - value) / abs(value)
            print(f"{model:12} {name:6} lifetimes {value:.6f} ours {ours[name]:.6f} rel {rel:.1e}")
            # Pareto/NBD on 300 customers: the likelihood is flat along (s, beta), and where
            # lifetimes' optimiser stops there varies (seen: 6e-5 to 1e-4 with one SciPy
            # build, 1e-5 from run to run in one venv).
            if not rel <= (1e-3 if model == "pareto-nbd" else 1e-4):
                off.append(f"{model} {name}")
        if off and model == "pareto-nbd":
            # Once in a CI run lifetimes' Nelder-Mead stopped far from any optimum (r 1.10
            # where repeated runs give 1.419). Our estimate still passes when lifetimes' own
            # objective is lower there than at lifetimes' estimate: ours is then the better
            # fit by lifetimes' measure, and lifetimes stopped short.
            cols = [pd.read_csv(path)[c] for c in ("frequency", "recency", "T")]
            at_theirs, at_ours = pareto_objective(cols, params), pareto_objective(cols, ours)
            print(f"pareto-nbd   lifetimes' objective: {at_theirs:.9f} at its estimate, "
                  f"{at_ours:.9f} at ours")
            if at_ours < at_theirs:
                off = []
        bad += off
    if bad:
        sys.exit("compare_clv: estimates disagree: " + ", ".join(bad))
    print("compare_clv: the four fits agree with lifetimes 0.11.3")


def main():
    ensure_venv()
    if "--short" in sys.argv:
        return short()
    import pandas as pd
    from lifetimes import (BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter,
                           ParetoNBDFitter)

    os.makedirs(OUT, exist_ok=True)
    skip_slow = "--skip-slow" in sys.argv
    rows = []

    # 1. The four fits on CDNOW and on the synthetic summary.
    rows_20k = synthetic_pareto(20000)
    synth = os.path.join(OUT, "synthetic_20000.csv")
    write_spend_csv(synth, rows_20k, synthetic_spend(rows_20k))
    cdnow = pd.read_csv(CDNOW)
    spend = pd.read_csv(CDNOW_SPEND)
    sd = pd.read_csv(synth)
    rep_cdnow = spend[spend["x"] > 0]
    rep_synth = sd[sd["frequency"] > 0]
    purchase = {
        "bgnbd": ("BG/NBD", BetaGeoFitter),
        "mbgnbd": ("MBG/NBD", ModifiedBetaGeoFitter),
        "pareto-nbd": ("Pareto/NBD", ParetoNBDFitter),
    }
    cases = []
    for data_name, path, frame, rep in [
        ("CDNOW (2,357)", CDNOW, cdnow, rep_cdnow),
        ("synthetic (20,000)", synth, sd, rep_synth),
    ]:
        big = frame is sd
        for model, (label, fitter) in purchase.items():
            slow = model == "pareto-nbd" and big
            if slow and skip_slow:
                continue
            cols = [frame[c] for c in ("frequency", "recency", "T")]
            cases.append((f"{label} fit, {data_name}", model, path,
                          lambda f=fitter, c=cols: f().fit(*c), 1 if slow else 3))
        freq, mean = (rep["x"], rep["zbar"]) if not big else (rep["frequency"],
                                                              rep["monetary_value"])
        cases.append((f"Gamma-Gamma fit, {data_name} ({len(rep):,} repeat buyers)",
                      "gamma-gamma", CDNOW_NAMED if not big else synth,
                      lambda f=freq, m=mean: GammaGammaFitter().fit(f, m), 3))
    for name, model, path, theirs, repeat in cases:
        times = []
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            fitted = theirs()
            # The smaller of wall and CPU time: on a busy machine a fit of a second is
            # preempted in every run (wall > CPU), while the best of loyalty's 20 short runs
            # is not; CPU time alone would count BLAS threads twice.
            times.append(min(time.perf_counter() - t0, time.process_time() - c0))
        ours = ours_fit(model, path, 20)
        worst = max(abs(ours[k] - v) / abs(v) for k, v in fitted.params_.items())
        print(f"{name}: lifetimes", {k: round(v, 6) for k, v in fitted.params_.items()}, "ours",
              {k: round(ours[k], 6) for k in fitted.params_.keys()}, f"max rel {worst:.1e}")
        if model == "pareto-nbd":
            # lifetimes' Nelder-Mead stops at tol 1e-4 (from a random start): its estimate is
            # not the optimum to 1e-6. Its own objective, minimised to tol 1e-12, shows where
            # the optimum is (not timed).
            frame = cdnow if path == CDNOW else sd
            cols = [frame[c] for c in ("frequency", "recency", "T")]
            loose, at_ours, at_tight, tight = pareto_converged(cols, fitted.params_, ours)
            rel = max(abs(ours[k] - v) / abs(v) for k, v in tight.items())
            print(f"  lifetimes' own -ln L: {loose:.9f} at its estimate, {at_ours:.9f} at ours, "
                  f"{at_tight:.9f} minimised to tol 1e-12", {k: round(v, 7) for k, v in
                                                            tight.items()},
                  f"ours vs converged max rel {rel:.1e}")
        rows.append((name, min(times), ours["seconds"]))

    # 2. CLV scoring, 12 months, BG/NBD + Gamma-Gamma, weekly.
    if "--fits-only" in sys.argv:
        return print_table(rows)
    n = 100_000
    big = pd.concat([spend] * math.ceil(n / len(spend)), ignore_index=True).iloc[:n]
    # Both sides fit on the same 100,000 rows: n is not a whole number of copies of the
    # sample, so a fit on the sample alone is a different estimate (CLVs apart in the 4th
    # digit), not a disagreement of the tools.
    bgf = BetaGeoFitter().fit(big["x"], big["t_x"], big["T"])
    rep = big[big["x"] > 0]
    ggf = GammaGammaFitter().fit(rep["x"], rep["zbar"])
    t0 = time.perf_counter()
    clv = ggf.customer_lifetime_value(bgf, big["x"], big["t_x"], big["T"], big["zbar"],
                                      time=12, discount_rate=0.01, freq="W")
    lt = time.perf_counter() - t0
    ours = ours_score(n)
    print("CLV first 3: lifetimes", [round(v, 6) for v in clv.iloc[:3]], "ours", ours["first"])
    # loyalty's time is a whole process (read, fit, score, write); lifetimes' is scoring alone.
    rows.append((f"CLV scoring, {n:,} customers (CDNOW rows repeated)", lt, ours["seconds"]))
    worst = ours_score(n, distinct=True)
    rows.append((f"CLV scoring, {n:,} customers, every T distinct", lt, worst["seconds"]))
    print_table(rows)


def print_table(rows):
    print()
    print("| task | lifetimes 0.11.3 | loyalty | ratio |")
    print("|---|---|---|---|")
    for name, theirs, mine in rows:
        print(f"| {name} | {theirs * 1e3:.1f} ms | {mine * 1e3:.3f} ms | {theirs / mine:.0f}x |")


if __name__ == "__main__":
    main()
