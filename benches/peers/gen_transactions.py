#!/usr/bin/env python3
"""Deterministic transaction log for the RFM peer comparison (standard library only).

Writes `customer_id,date,amount` rows: CUSTOMERS customers, TRANSACTIONS purchases spread
evenly over two years (2023-01-01 .. 2024-12-30), customer and amount drawn from the same
64-bit LCG as `benches/rfm.rs` (Knuth's MMIX constants, high bits). Customer ids are
zero-padded to 7 digits, as CDNOW's are, so text order is numeric order.

Layouts:
  by_customer   grouped by customer (ascending), time order within a customer (CDNOW's layout)
  time          time order, customers interleaved (an append-only log)
  shuffled      the time-ordered rows in a random order (Python's Random(7), Fisher-Yates)

usage: gen_transactions.py OUT.csv [--transactions N] [--customers N] [--layout L]
"""

import argparse
import datetime as dt
import random

MULT = 6364136223846793005
INC = 1442695040888963407
MASK = (1 << 64) - 1


def rows(n, customers):
    state = 42
    start = dt.date(2023, 1, 1)
    span_secs = 730 * 86400
    for i in range(n):
        day = (span_secs * i // n) // 86400
        state = (state * MULT + INC) & MASK
        customer = (state >> 33) % customers
        state = (state * MULT + INC) & MASK
        cents = 100 + (state >> 33) % 20000
        yield customer, start + dt.timedelta(days=day), cents


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--transactions", type=int, default=5_000_000)
    ap.add_argument("--customers", type=int, default=400_000)
    ap.add_argument("--layout", choices=["by_customer", "time", "shuffled"], default="by_customer")
    a = ap.parse_args()
    data = list(rows(a.transactions, a.customers))
    if a.layout == "by_customer":
        data.sort(key=lambda r: r[0])  # stable: time order kept within a customer
    elif a.layout == "shuffled":
        random.Random(7).shuffle(data)
    with open(a.out, "w") as f:
        f.write("customer_id,date,amount\n")
        f.writelines(
            f"{c:07d},{d.isoformat()},{cents // 100}.{cents % 100:02d}\n" for c, d, cents in data
        )


if __name__ == "__main__":
    main()
