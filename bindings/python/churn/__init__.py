"""libchurn for Python: churn scores and customer lifetime value from purchase histories.

Thin bindings over the C library (ctypes + numpy): the numerics run in C, Python
converts and presents. Quick tour::

    import churn
    log = churn.TransactionLog.read_csv("tx.csv")          # or .from_dataframe(df, ...)
    table = churn.customer_table(log, cutoff="1997-09-30", unit="week")
    bg = churn.BGNBD().fit(table)                          # fit(...) returns self
    table["p_alive"] = bg.p_alive(table)
    bg.summary                                              # estimates, SEs, 95% CIs
    gg = churn.GammaGamma().fit(table)
    value = churn.clv(bg, gg, table)                        # CLV, value at risk
    report = churn.retention_report(log, cutoff="1997-09-30")   # the ranked list
    bg.save("model.json"); churn.load_model("model.json")  # same files as C, Lua, CLI

Modules: customer tables and cohorts (customer_table, cohort_table, CustomerState,
CustomerStream for logs read in chunks),
simulation (simulate), BTYD models (BGNBD, MBGNBD, ParetoNBD, BGBB, SBG), spend and
value (GammaGamma, clv, dert, assign_tiers, Alerts, retention_report), logistic
regression (LogisticRegression), survival (KaplanMeierFitter, CoxPHFitter and the AFT
fitters, concordance_index), evaluation (roc_auc, lift_table, calibration_table,
compare_models, ...), plots (churn.plotting, matplotlib imported lazily) and Dask
(churn.dask, imported explicitly).

Errors: a failing C call raises an exception carrying the C message, which names the
row, column or parameter at fault: ValueError (bad input: NaN, negative recency,
mismatched lengths...), TypeError (wrong dtype, a model of another family), OSError
(files), KeyError (unknown column), ConvergenceError, NumericalError, and
UnitMismatchError (a ValueError: a model fitted in one time unit given a customer table
in another; tables carry their unit in ``df.attrs["time_unit"]``).

Boundaries: dates of every Python input follow the CSV reader's rules (8-digit numbers
are YYYYMMDD, other numbers epoch seconds, implausible dates are errors; see
``date_format=`` and ``dayfirst=``); a missing customer id is an error; a table's index
is int64 when every id is an integer literal, otherwise str, whatever the input path.

Threads. Every C call runs with the GIL released (ctypes.CDLL), so numpy-sized scoring
calls from several threads run in parallel. A fitted model (and a TransactionLog, a
KaplanMeierFitter, an Alerts set once built) is immutable in C and may be used by any
number of threads at once; do not fit/refit or free the same object from two threads
(``fit`` replaces the handle). The C library keeps its error message per thread, so an
exception always carries the message of its own call. libchurn never changes
OpenBLAS's thread count; in a process pool set OPENBLAS_NUM_THREADS=1 to avoid
oversubscription.

Processes. Models pickle through their model file (JSON text, see
docs/model-format.md), so they can be sent to multiprocessing, concurrent.futures or
Dask workers; a worker re-creates the C handle from the text. Prefer the "spawn" or
"forkserver" start methods (Dask's worker processes use spawn). With "fork", a child
may keep using models and logs it inherited, but do not fork while another thread is
inside a libchurn call (a lock held by GSL/OpenBLAS/the allocator in that thread would
stay locked in the child), and call ``churn_set_allocator`` (not wrapped here) only
before any object exists.
"""
from ._lib import library_path
from ._errors import (ChurnColumnError, ChurnError, ChurnKeyError, ChurnOSError,
                      ChurnTypeError, ChurnValueError, ConvergenceError, NumericalError,
                      UnitMismatchError)
from ._units import describe_time_unit
from ._model import Model, load_model
from ._txlog import TransactionLog
from ._customers import (CustomerState, CustomerStream, cohort_table, customer_table,
                         population_metrics, rfm_segment_name, table_to_float,
                         time_unit_days)
from ._simulate import simulate, simulate_summary
from ._btyd import BGBB, BGNBD, MBGNBD, SBG, ParetoNBD, loglik as btyd_loglik
from ._intervals import bootstrap_interval, predict_interval
from . import _covariates  # noqa: F401  (declares the covariate C functions)
from . import _dyncov  # noqa: F401  (declares the time-varying covariate C functions)
from ._dyncov_table import fit_pnbd_dyncov, score_pnbd_dyncov
from ._ggomnbd import GGompertzNBD, ggomnbd_loglik
from ._mbgcnbd import MBGCNBDk, estimate_regularity, litt, mbgcnbd_loglik
from ._spend import (Alerts, GammaGamma, assign_tiers, clv, clv_bootstrap_interval,
                     clv_contractual, dert,
                     discounted_purchases, retention_report, tier_name)
from ._logit import CrossValidation, LogisticRegression
from ._survival import (CoxPHFitter, ExponentialAFTFitter, KaplanMeierFitter,
                        LogLogisticAFTFitter, LogNormalAFTFitter, WeibullAFTFitter,
                        concordance_index, logrank_test)
from ._metrics import (Comparison, brier_score, calibration_table, compare_models,
                       holdout_by_frequency, lift_table, log_loss, precision_recall_at_k,
                       repeat_tracking, roc_auc, time_auc)
from ._coefplot import plot_coefficients
from . import _lib as _l

__version__ = _l.churn_version_string().decode()

__all__ = [
    "ChurnError", "ChurnColumnError", "ChurnKeyError", "ChurnOSError", "ChurnTypeError",
    "ChurnValueError", "ConvergenceError", "NumericalError", "UnitMismatchError",
    "describe_time_unit", "Model", "load_model",
    "TransactionLog", "library_path", "__version__",
    # customers.h
    "customer_table", "cohort_table", "population_metrics", "rfm_segment_name",
    "table_to_float",
    "CustomerState", "CustomerStream", "time_unit_days",
    # simulate.h
    "simulate", "simulate_summary",
    # btyd.h
    "BGNBD", "MBGNBD", "ParetoNBD", "BGBB", "SBG", "btyd_loglik", "predict_interval", "bootstrap_interval",
    "GGompertzNBD", "ggomnbd_loglik", "MBGCNBDk", "mbgcnbd_loglik", "litt",
    "fit_pnbd_dyncov", "score_pnbd_dyncov",
    "estimate_regularity",
    # spend.h
    "GammaGamma", "clv", "clv_bootstrap_interval", "discounted_purchases", "dert", "clv_contractual", "assign_tiers",
    "tier_name", "Alerts", "retention_report",
    # logit.h
    "LogisticRegression", "CrossValidation",
    # survival.h
    "KaplanMeierFitter", "logrank_test", "concordance_index", "CoxPHFitter",
    "WeibullAFTFitter", "ExponentialAFTFitter", "LogLogisticAFTFitter", "LogNormalAFTFitter",
    # metrics.h
    "roc_auc", "log_loss", "brier_score", "precision_recall_at_k", "lift_table",
    "calibration_table", "time_auc", "holdout_by_frequency", "repeat_tracking",
    "compare_models", "Comparison",
    # coefficient plot of Cox/AFT/logit (matplotlib imported when drawn)
    "plot_coefficients",
]
