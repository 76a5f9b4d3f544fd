#!/usr/bin/env python3
"""Reference output of `loyalty validate --period week` with a calibration end on a Wednesday,
computed once with lifetimes 0.11.3.

Run from the repository root in the pinned environment of tests/data/README.md (Python 3.11.7,
lifetimes 0.11.3, pandas 1.5.3, numpy 1.26.4, scipy 1.11.4):

    /tmp/venv-lifetimes/bin/python cli/tests/data/generate_validate_weekly.py

Writes, in this folder,
  validate_weekly_log.csv   customer_id,date,amount: a simulated BG/NBD log (numpy seed 3, 800
      customers with zero-padded ids, 900 days from 2021-01-01, Gamma-Gamma amounts at cents).
  validate_weekly_params.csv   name,value: BetaGeoFitter().fit on
      calibration_and_holdout_data(log, "customer_id", "date", calibration_period_end="2022-06-15",
      observation_period_end=<last date>, freq="W"): r, alpha, a, b. 2022-06-15 is a Wednesday:
      lifetimes keeps only the purchases up to that day in calibration, not the rest of its week.
  validate_weekly_holdout_by_frequency.csv   frequency_cal,customers,actual,predicted: per
      calibration repeat-purchase count, the customers, their mean holdout repeat purchases and
      the mean of conditional_expected_number_of_purchases_up_to_time(duration_holdout, ...), as
      plot_calibration_purchases_vs_holdout_purchases computes them.
Floats are Python's shortest round-trip repr.
"""

import datetime as dt
import os

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter
from lifetimes.utils import calibration_and_holdout_data

HERE = os.path.dirname(os.path.abspath(__file__))
CALIBRATION_END = "2022-06-15"


def simulate(seed=3, customers=800, days=900, r=0.3, alpha=10.0, a=0.8, b=2.5, p=6.0, q=4.0, v=15.0):
    """BG/NBD purchases with Gamma-Gamma spend, one row per purchase, shuffled."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(2021, 1, 1)
    rows = []
    for c in range(customers):
        lam = rng.gamma(r, 1 / alpha)
        drop = rng.beta(a, b)
        nu = rng.gamma(q, 1 / v)
        t = rng.uniform(0, days * 0.6)
        times = [t]
        while True:
            t += rng.exponential(1 / lam) if lam > 0 else 1e9
            if t > days:
                break
            times.append(t)
            if rng.random() < drop:
                break
        for x in times:
            day = (start + dt.timedelta(days=float(x))).strftime("%Y-%m-%d")
            rows.append((f"{c:05d}", day, f"{rng.gamma(p, 1 / nu):.2f}"))
    log = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    return log.sample(frac=1, random_state=seed).reset_index(drop=True)


def main():
    log = simulate()
    log.to_csv(os.path.join(HERE, "validate_weekly_log.csv"), index=False)
    log = pd.read_csv(os.path.join(HERE, "validate_weekly_log.csv"), dtype={"customer_id": str})
    end = log.date.max()
    cal = calibration_and_holdout_data(log, "customer_id", "date",
                                       calibration_period_end=CALIBRATION_END,
                                       observation_period_end=end, freq="W")
    bgf = BetaGeoFitter().fit(cal.frequency_cal, cal.recency_cal, cal.T_cal)
    pd.DataFrame({"name": list(bgf.params_.index),
                  "value": [repr(float(x)) for x in bgf.params_.values]}).to_csv(
        os.path.join(HERE, "validate_weekly_params.csv"), index=False)
    cal["predicted"] = bgf.conditional_expected_number_of_purchases_up_to_time(
        cal.duration_holdout, cal.frequency_cal, cal.recency_cal, cal.T_cal)
    g = cal.groupby("frequency_cal").agg(customers=("frequency_holdout", "size"),
                                         actual=("frequency_holdout", "mean"),
                                         predicted=("predicted", "mean"))
    out = pd.DataFrame({"frequency_cal": g.index.astype(int), "customers": g.customers.values,
                        "actual": [repr(float(x)) for x in g.actual],
                        "predicted": [repr(float(x)) for x in g.predicted]})
    out.to_csv(os.path.join(HERE, "validate_weekly_holdout_by_frequency.csv"), index=False)
    print(len(log), "rows,", len(cal), "customers, end", end, "duration_holdout",
          cal.duration_holdout.iloc[0], dict(bgf.params_))


if __name__ == "__main__":
    main()
