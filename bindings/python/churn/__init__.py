"""libchurn for Python: churn scores and customer lifetime value from purchase histories.

Thin bindings over the C library (ctypes + numpy): the numerics run in C,
Python converts and presents. Quick tour::

    import churn
    log = churn.TransactionLog.read_csv("tx.csv")          # or .from_dataframe(df, ...)
    table = churn.customer_table(log, cutoff="1997-09-30", unit="week")
    bg = churn.BGNBD().fit(table)                          # fit(...) returns self
    table["p_alive"] = bg.p_alive(table)
    bg.summary                                              # estimates, SEs, 95% CIs
    bg.save("model.json"); churn.load_model("model.json")  # same files as C, Lua, CLI

Threads and processes: a fitted model is immutable and may be shared by threads;
the C calls release no Python locks of their own (ctypes releases the GIL during
each call). Models pickle through their model file, so they can be sent to
multiprocessing or Dask workers. After ``fork()`` a child may keep using models
it inherited; do not fork while another thread is inside a libchurn call.
"""
from ._lib import library_path
from ._errors import (ChurnError, ChurnKeyError, ChurnOSError, ChurnTypeError,
                      ChurnValueError, ConvergenceError, NumericalError)
from ._model import Model, load_model
from ._txlog import TransactionLog
from . import _lib as _l

__version__ = _l.churn_version_string().decode()

__all__ = [
    "ChurnError", "ChurnKeyError", "ChurnOSError", "ChurnTypeError", "ChurnValueError",
    "ConvergenceError", "NumericalError", "Model", "load_model", "TransactionLog",
    "library_path", "__version__",
]
