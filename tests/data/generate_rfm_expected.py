#!/usr/bin/env python3
"""Expected RFM summaries of the bundled CDNOW logs, computed once with lifetimes 0.11.3.

Run from the repository root in a venv with the pinned versions (see tests/data/README.md):

    python3 -m venv /tmp/venv-lifetimes
    /tmp/venv-lifetimes/bin/pip install numpy==1.26.4 pandas==1.5.3 scipy==1.11.4 lifetimes==0.11.3
    /tmp/venv-lifetimes/bin/python tests/data/generate_rfm_expected.py

Writes
  tests/data/rfm_cdnow_master_lifetimes.csv   summary_data_from_transaction_data on the master
      log, observation end 1998-06-30, monetary column dollar_value, daily (_d) and weekly (_w)
  tests/data/rfm_cdnow_sample_holdout_lifetimes.csv   calibration_and_holdout_data on the 1/10
      sample, calibration end 1997-09-30, observation end 1998-06-30, weekly, monetary column
Counts and durations are written as integers (they are whole numbers for daily and weekly
periods; the script checks), money as Python's shortest round-trip float repr.
"""

import os
import sys

import lifetimes
import numpy as np
import pandas as pd
from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "examples", "data")


def as_int(series):
    values = series.to_numpy()
    assert np.all(values == np.round(values)), series.name
    return values.astype(np.int64)


def master():
    log = pd.read_csv(
        os.path.join(DATA, "CDNOW_master.txt"),
        sep=r"\s+",
        header=0,
        names=["customer_id", "date", "cds", "dollar_value"],
        dtype={"customer_id": str, "date": str},
    )
    log["date"] = pd.to_datetime(log["date"], format="%Y%m%d")
    out = None
    for freq, suffix in [("D", "_d"), ("W", "_w")]:
        s = summary_data_from_transaction_data(
            log, "customer_id", "date", monetary_value_col="dollar_value",
            observation_period_end="1998-06-30", freq=freq,
        )
        part = pd.DataFrame(index=s.index)
        for col in ["frequency", "recency", "T"]:
            part[col + suffix] = as_int(s[col])
        part["monetary_value" + suffix] = s["monetary_value"].map(repr)
        out = part if out is None else out.join(part, how="outer")
    assert not out.isna().any().any()
    out.index.name = "customer_id"
    out.sort_index().to_csv(os.path.join(HERE, "rfm_cdnow_master_lifetimes.csv"))
    print("master:", len(out), "customers")


def sample_holdout():
    log = pd.read_csv(
        os.path.join(DATA, "CDNOW_sample.txt"),
        sep=r"\s+",
        header=None,
        names=["id_total", "id_sample", "date", "cds", "value"],
        dtype={"date": str},
    )
    log["date"] = pd.to_datetime(log["date"], format="%Y%m%d")
    s = calibration_and_holdout_data(
        log, "id_sample", "date", calibration_period_end="1997-09-30",
        observation_period_end="1998-06-30", freq="W", monetary_value_col="value",
    )
    out = pd.DataFrame(index=s.index)
    for col in ["frequency_cal", "recency_cal", "T_cal", "frequency_holdout", "duration_holdout"]:
        out[col] = as_int(s[col])
    for col in ["monetary_value_cal", "monetary_value_holdout"]:
        out[col] = s[col].map(repr)
    out.index.name = "id_sample"
    out.sort_index().to_csv(os.path.join(HERE, "rfm_cdnow_sample_holdout_lifetimes.csv"))
    print("sample holdout:", len(out), "customers")


if __name__ == "__main__":
    print("python", sys.version.split()[0], "lifetimes", lifetimes.__version__,
          "pandas", pd.__version__, "numpy", np.__version__)
    master()
    sample_holdout()
