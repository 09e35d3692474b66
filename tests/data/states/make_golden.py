#!/usr/bin/env python3
"""Write the golden customer-state encodings (format version 1) of tests/test_state.c.

Written once from the layout documented at churn_customer_state_encode() in
include/churn/customers.h, independently of the C encoder: the C test checks
that the library encodes the same states to these exact bytes and decodes
them to the documented values. These files must decode in every later release
of libchurn.so.1: never regenerate or edit them; add new files for new
format versions.
"""
import math
import struct
import zlib

DAY = 86400.0


def encode(unit, same_day_once, first_counts, last_time, ntx, k, first_day, last_day,
           first_amount, repeat_amount, gap_sumsq, n_returns, returns_amount):
    flags = (1 if same_day_once else 0) | (2 if first_counts else 0)
    body = b"CHST" + struct.pack("<HHII", 1, 1, 108, flags)
    body += struct.pack("<11d", unit, last_time, ntx, k, first_day, last_day, first_amount,
                        repeat_amount, gap_sumsq, n_returns, returns_amount)
    assert len(body) == 104
    return body + struct.pack("<I", zlib.crc32(body) & 0xffffffff)


def write(name, data):
    with open(name, "w") as f:
        f.write(data.hex() + "\n")


d0 = 19723  # 2024-01-01
# v1_day_basic: days, defaults; 2024-01-01 10.00 and 5.00 (one purchase), 2024-01-11 20.00
# 12:00, 2024-01-31 30.00, refund of 7.00 on 2024-02-01 06:00
write("v1_day_basic.hex",
      encode(1.0, 1, 0, (d0 + 31) * DAY + 6 * 3600, 5, 3, d0, d0 + 30, 15.0, 50.0,
             10.0 ** 2 + 20.0 ** 2, 1, 7.0))
# v1_week_unknown: weeks, every order a purchase, first purchase counts; 2024-01-01 12.5,
# 2024-01-01 (again, kept apart: gap 0), 2024-01-15 amount unknown (NaN)
write("v1_week_unknown.hex",
      encode(7.0, 0, 1, (d0 + 14) * DAY, 3, 3, d0, d0 + 14, 12.5, math.nan, 0.0 + 14.0 ** 2,
             0, 0.0))
# v1_empty: a state just initialised in months (no transaction)
write("v1_empty_month.hex",
      encode(30.4375, 1, 0, -math.inf, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0.0))
