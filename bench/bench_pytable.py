#!/usr/bin/python3
"""Bench of the Python customer table (issue 21): DataFrame in, typed DataFrame out, vs
the same table built by the C library from the same arrays, in one run.

Data: churn.simulate (BG/NBD, CDNOW parameters, 78 weeks) of N customers (about 2.9
transactions each), as a DataFrame with customer ids of three dtypes: int64, str
('c1', 'c2', ...) and categorical (of those texts).

Pairs (the C side gets the arrays ready-made, outside the clock: int64 ids or the
`char **` of the id texts, epoch seconds, amounts):

- customer_table(df) [34 columns] vs churn_txlog_new + churn_txlog_append_arrays(_str)
  + churn_customers_build + free, all columns;
- customer_table(df, columns=[frequency, recency, T, monetary_value]) vs the same with
  the option `columns`;
- TransactionLog.from_dataframe(df) vs txlog_new + append_arrays(_str);
- simulate(as_frame=True) vs churn_simulate_txlog alone.

CPU time (time.process_time: the machine is shared), min of R repeats, the C and
Python calls of every pair interleaved (C, Python, C, Python, ...). Ratios are
Python / C; the target for customer_table is at most 2 (issue 21).

usage: bench_pytable.py [--n N] [--repeat R]
env:   CHURN_BENCH_N (default 1000000), CHURN_BENCH_REPEAT (3), CHURN_LIBRARY, PYTHONPATH
"""
import argparse
import ctypes
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))

import churn  # noqa: E402
from churn import _customers, _lib, _simulate  # noqa: E402
from churn._txlog import _pointers  # noqa: E402

CORE = ["frequency", "recency", "T", "monetary_value"]


def cpu(f):
    c0 = time.process_time()
    out = f()
    return time.process_time() - c0, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=int(os.environ.get("CHURN_BENCH_N", 1000000)))
    ap.add_argument("--repeat", type=int,
                    default=int(os.environ.get("CHURN_BENCH_REPEAT", 3)))
    a = ap.parse_args()
    df = churn.simulate("bgnbd", a.n, seed=1, as_frame=True)
    t = df["date"].to_numpy().astype("datetime64[ns]").astype(np.int64) / 1e9
    amt = np.ascontiguousarray(df["amount"].to_numpy(dtype=np.float64))
    ids64 = np.ascontiguousarray(df["customer_id"].to_numpy(dtype=np.int64))
    texts = "c" + df["customer_id"].astype(str)
    frames = {"int64": df,
              "str": df.assign(customer_id=texts),
              "categorical": df.assign(customer_id=texts.astype("category"))}
    # the C side's char **: one NUL-terminated text per row, as a C program reading the
    # rows would hold them (built outside the clock)
    cstr, keep = _pointers(texts.tolist(), None)
    cutoff = float(t.max())

    def c_log(kind):
        h = ctypes.c_void_p()
        assert _lib.churn_txlog_new(ctypes.byref(h)) == 0
        d = _lib.c_double_p
        if kind == "int64":
            rc = _lib.churn_txlog_append_arrays(h.value, len(t),
                                                ids64.ctypes.data_as(_lib.c_int64_p),
                                                t.ctypes.data_as(d), amt.ctypes.data_as(d),
                                                None, None)
        else:
            rc = _lib.churn_txlog_append_arrays_str(h.value, len(t), cstr,
                                                    t.ctypes.data_as(d),
                                                    amt.ctypes.data_as(d), None, None)
        assert rc == 0
        return h

    def c_table(kind, columns):
        h = c_log(kind)
        o = _customers._customer_options(cutoff, None, "week", True, False, None, None,
                                         None, None, columns)
        tb = ctypes.c_void_p()
        assert _customers._build(ctypes.byref(tb), h.value, ctypes.byref(o)) == 0
        rows = _customers._num_rows(tb.value)
        _customers._free(tb.value)
        _lib.churn_txlog_free(h.value)
        return rows

    def c_log_only(kind):
        _lib.churn_txlog_free(c_log(kind).value)

    so = _simulate._options("bgnbd", a.n, 1, None, 546.0, 0.0, 0.0, "week",
                            {}, "")

    def c_sim():
        h = ctypes.c_void_p()
        assert _lib.churn_txlog_new(ctypes.byref(h)) == 0
        assert _simulate._txlog(h.value, ctypes.byref(so)) == 0
        _lib.churn_txlog_free(h.value)

    pairs = []
    for kind, frame in frames.items():
        pairs.append((f"customer_table(df) 34 columns, {kind} ids",
                      lambda k=kind: c_table(k, None),
                      lambda f=frame: churn.customer_table(f, cutoff=cutoff, unit="week",
                                                           progress=False)))
        pairs.append((f"customer_table(df, 4 BTYD columns), {kind} ids",
                      lambda k=kind: c_table(k, ",".join(CORE).encode()),
                      lambda f=frame: churn.customer_table(f, cutoff=cutoff, unit="week",
                                                           columns=CORE, progress=False)))
    for kind, frame in frames.items():
        pairs.append((f"TransactionLog.from_dataframe, {kind} ids",
                      lambda k=kind: c_log_only(k),
                      lambda f=frame: churn.TransactionLog.from_dataframe(f)))
    pairs.append(("simulate(as_frame=True)", c_sim,
                  lambda: churn.simulate("bgnbd", a.n, seed=1, as_frame=True)))

    # same table both ways (rows, and the values of one id dtype), and the same table for
    # the three id dtypes: the str and categorical tables' index is 'c' + the int64 ids,
    # in the same row order, every column equal (outside the clock)
    full = pairs[0][2]()
    assert len(full) == pairs[0][1]()
    want = ("c" + full.index.astype(str)).tolist()
    for i in (2, 4):
        other = pairs[i][2]()
        assert other.index.dtype == object and other.index.tolist() == want, pairs[i][0]
        assert other.reset_index(drop=True).equals(full.reset_index(drop=True)), pairs[i][0]
        assert len(other) == pairs[i][1](), pairs[i][0]
        del other
    print(f"libchurn {churn.__version__}: {a.n} customers, {len(df)} transactions; "
          f"CPU seconds, min of {a.repeat} interleaved repeats")
    print(f"  {'Python call (vs the C library on the same arrays)':52s} {'C':>7s} "
          f"{'Python':>7s} {'ratio':>6s}")
    worst = 0.0
    for name, cf, pf in pairs:
        cs, ps = [], []
        for _ in range(a.repeat):
            cs.append(cpu(cf)[0])
            ps.append(cpu(pf)[0])
        r = min(ps) / min(cs)
        if name.startswith("customer_table"):
            worst = max(worst, r)
        print(f"  {name:52s} {min(cs):7.3f} {min(ps):7.3f} {r:6.2f}", flush=True)
    print(f"worst customer_table Python/C ratio {worst:.2f} (target <= 2): "
          f"{'OK' if worst <= 2.0 else 'OVER'}")
    del keep
    return 0


if __name__ == "__main__":
    sys.exit(main())
