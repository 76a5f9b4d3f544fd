#!/usr/bin/env python3
"""Expected CLV pipeline outputs on the bundled CDNOW logs, computed once with lifetimes 0.11.3.

Run from the repository root in a venv with the pinned versions (see tests/data/README.md):

    python3 -m venv /tmp/venv-lifetimes
    /tmp/venv-lifetimes/bin/pip install numpy==1.26.4 pandas==1.5.3 scipy==1.11.4 lifetimes==0.11.3
    /tmp/venv-lifetimes/bin/python tests/data/generate_clv_expected.py

Writes
  tests/data/clv_cdnow_master_daily_lifetimes.csv   lifetimes' defaults-only workflow on the
      master log summarised daily as of 1998-06-30 (the `_d` columns of
      rfm_cdnow_master_lifetimes.csv, themselves summary_data_from_transaction_data(freq="D")):
      BetaGeoFitter().fit, GammaGammaFitter().fit on the repeat buyers with a positive mean
      spend, then per customer conditional_probability_alive,
      conditional_expected_number_of_purchases_up_to_time(360) (12 months of 30 days),
      conditional_expected_average_profit and
      customer_lifetime_value(time=12, discount_rate=0.01, freq="D").
  tests/data/clv_cdnow_master_daily_params.csv   the fitted parameters (BG/NBD r, alpha, a, b;
      Gamma-Gamma p, q, v) and lifetimes' mean negative log-likelihoods.
  tests/data/clv_cdnow_sample_validation_params.csv   BetaGeoFitter().fit on the daily
      calibration summary of the 1/10 sample (calibration_and_holdout_data(freq="D"),
      calibration end 1997-09-30, observation end 1998-06-30, keyed by the sample id).
  tests/data/clv_cdnow_sample_holdout_lifetimes.csv   per customer: the calibration summary,
      frequency_holdout and the model's prediction for the holdout,
      conditional_expected_number_of_purchases_up_to_time(duration_holdout, ...), as
      plot_calibration_purchases_vs_holdout_purchases computes it.
  tests/data/clv_cdnow_sample_holdout_by_frequency_lifetimes.csv   the same grouped by
      frequency_cal (the means plot_calibration_purchases_vs_holdout_purchases draws, all groups).
  tests/data/clv_cdnow_sample_tracking_lifetimes.csv   expected_cumulative_transactions(bgf,
      log, "date", "id_sample", t=546, freq="D"): actual and predicted cumulative repeat
      transactions per day from 1997-01-01 to 1998-06-30.
  tests/data/clv_cdnow_sample_period_transactions_lifetimes.csv   customers with 0..5 and 6 or
      more repeat purchases in calibration: actual, and expected as the sum over customers of
      probability_of_n_purchases_up_to_time(T_cal, n) (the exact expectation behind
      plot_period_transactions, which simulates it instead).
  tests/data/clv_cdnow_sample_matrix_lifetimes.csv   frequency,recency,expected,p_alive:
      plot_frequency_recency_matrix's Z (T=1) and conditional_probability_alive_matrix() for the
      calibration fit (recency 0..max T, frequency 0..max frequency, T = max T).
Floats are Python's shortest round-trip repr.
"""

import os
import sys

import lifetimes
import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import calibration_and_holdout_data, expected_cumulative_transactions

HERE = os.path.dirname(os.path.abspath(__file__))


def master_daily():
    s = pd.read_csv(os.path.join(HERE, "rfm_cdnow_master_lifetimes.csv"),
                    dtype={"customer_id": str}).set_index("customer_id")
    f, r, t, m = s.frequency_d, s.recency_d, s.T_d, s.monetary_value_d
    bgf = BetaGeoFitter().fit(f, r, t)
    spenders = (f > 0) & (m > 0)
    ggf = GammaGammaFitter().fit(f[spenders], m[spenders])
    out = pd.DataFrame(index=s.index)
    out["p_alive"] = bgf.conditional_probability_alive(f, r, t)
    out["expected_purchases"] = bgf.conditional_expected_number_of_purchases_up_to_time(360, f, r, t)
    out["expected_spend"] = ggf.conditional_expected_average_profit(f, m)
    out["clv"] = ggf.customer_lifetime_value(bgf, f, r, t, m, time=12, discount_rate=0.01, freq="D")
    assert not out.isna().any().any()
    for col in out.columns:
        out[col] = out[col].map(repr)
    out.to_csv(os.path.join(HERE, "clv_cdnow_master_daily_lifetimes.csv"))
    params = pd.DataFrame({
        "model": ["bgnbd"] * 4 + ["gamma_gamma"] * 3,
        "name": ["r", "alpha", "a", "b", "p", "q", "v"],
        "value": [repr(float(v)) for v in list(bgf.params_.values) + list(ggf.params_.values)],
    })
    params.to_csv(os.path.join(HERE, "clv_cdnow_master_daily_params.csv"), index=False)
    print("master daily:", len(out), "customers; bgnbd", dict(bgf.params_),
          "ll", bgf._negative_log_likelihood_, "gg", dict(ggf.params_), "spenders", int(spenders.sum()))


def sample_validation():
    log = pd.read_csv(
        os.path.join(HERE, "..", "..", "examples", "data", "CDNOW_sample.txt"),
        sep=r"\s+", header=None, names=["id_total", "id_sample", "date", "cds", "value"],
        dtype={"date": str},
    )
    log["date"] = pd.to_datetime(log["date"], format="%Y%m%d")
    cal = calibration_and_holdout_data(
        log, "id_sample", "date", calibration_period_end="1997-09-30",
        observation_period_end="1998-06-30", freq="D", monetary_value_col="value",
    )
    f, r, t = cal.frequency_cal, cal.recency_cal, cal.T_cal
    bgf = BetaGeoFitter().fit(f, r, t)
    pd.DataFrame({"name": ["r", "alpha", "a", "b"],
                  "value": [repr(float(v)) for v in bgf.params_.values]}).to_csv(
        os.path.join(HERE, "clv_cdnow_sample_validation_params.csv"), index=False)

    # plot_calibration_purchases_vs_holdout_purchases
    summary = cal.copy()
    duration_holdout = summary.iloc[0]["duration_holdout"]
    summary["model_predictions"] = bgf.conditional_expected_number_of_purchases_up_to_time(
        duration_holdout, f, r, t)
    out = pd.DataFrame(index=cal.index)
    for col in ["frequency_cal", "recency_cal", "T_cal", "frequency_holdout"]:
        out[col] = cal[col].astype(np.int64)
    out["predicted"] = summary["model_predictions"].map(repr)
    out.sort_index().to_csv(os.path.join(HERE, "clv_cdnow_sample_holdout_lifetimes.csv"))
    grouped = summary.groupby("frequency_cal")[["frequency_holdout", "model_predictions"]].mean()
    counts = summary.groupby("frequency_cal").size()
    g = pd.DataFrame({"customers": counts,
                      "actual": grouped["frequency_holdout"].map(repr),
                      "predicted": grouped["model_predictions"].map(repr)})
    g.index = g.index.astype(np.int64)
    g.to_csv(os.path.join(HERE, "clv_cdnow_sample_holdout_by_frequency_lifetimes.csv"))

    # Tracking (Hardie's note 008): 1997-01-01 .. 1998-06-30 is 546 days.
    tr = expected_cumulative_transactions(bgf, log, "date", "id_sample", t=546, freq="D")
    tr["actual"] = tr["actual"].astype(np.int64)
    tr["predicted"] = tr["predicted"].map(repr)
    tr.index.name = "day"
    tr.to_csv(os.path.join(HERE, "clv_cdnow_sample_tracking_lifetimes.csv"))

    # Period transactions: 0..5 and 6+ repeat purchases in calibration.
    tv = t.to_numpy(dtype=float)
    rows = []
    below = 0.0
    for n in range(6):
        e = float(sum(bgf.probability_of_n_purchases_up_to_time(ti, n) for ti in tv))
        below += e
        rows.append((n, int((f == n).sum()), repr(e)))
    rows.append((6, int((f >= 6).sum()), repr(float(len(tv) - below))))
    pd.DataFrame(rows, columns=["frequency", "actual", "expected"]).to_csv(
        os.path.join(HERE, "clv_cdnow_sample_period_transactions_lifetimes.csv"), index=False)

    # Matrices.
    max_f, max_r = int(f.max()), int(t.max())
    alive = bgf.conditional_probability_alive_matrix()
    rows = []
    for i in range(max_r + 1):
        for j in range(max_f + 1):
            e = bgf.conditional_expected_number_of_purchases_up_to_time(1, j, i, max_r)
            rows.append((j, i, repr(float(e)), repr(float(alive[i, j]))))
    pd.DataFrame(rows, columns=["frequency", "recency", "expected", "p_alive"]).to_csv(
        os.path.join(HERE, "clv_cdnow_sample_matrix_lifetimes.csv"), index=False)
    print("sample validation:", len(cal), "customers; bgnbd", dict(bgf.params_),
          "duration_holdout", duration_holdout, "matrix", max_f, max_r)


if __name__ == "__main__":
    print("python", sys.version.split()[0], "lifetimes", lifetimes.__version__,
          "pandas", pd.__version__, "numpy", np.__version__)
    master_daily()
    sample_validation()
