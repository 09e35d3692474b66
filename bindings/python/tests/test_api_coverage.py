"""Every public C function is declared for ctypes with the header's arity and return
kind (catches a header change the binding has not followed)."""
import ctypes
import glob
import os
import re

import pytest

import churn
import churn.plotting
from churn import _lib

assert churn.plotting  # importing every module declares every function

# Functions deliberately not wrapped, with the reason.
NOT_WRAPPED = {
    "churn_set_allocator": "must run before any object exists; Python has no use for it",
}

_PROTO = re.compile(r"CHURN_API\s+([^;{]*?)\b(churn_[a-z0-9_]+)\s*\(([^;{]*?)\)\s*;", re.S)


def _prototypes(source_root):
    out = {}
    for path in sorted(glob.glob(os.path.join(source_root, "include", "churn", "*.h"))):
        text = open(path, encoding="utf-8").read()
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        for m in _PROTO.finditer(text):
            ret, name, args = m.group(1).strip(), m.group(2), m.group(3).strip()
            n = 0 if args in ("", "void") else len(args.split(","))
            out[name] = (ret, n)
    return out


def _declared():
    """Functions declared through _lib.fn (cached on the CDLL object by name)."""
    return {name: getattr(_lib.lib, name) for name in dir(_lib.lib)
            if name.startswith("churn_")}


def test_every_public_function_is_declared(source_root):
    protos = _prototypes(source_root)
    assert len(protos) > 150
    declared = _declared()
    missing = sorted(set(protos) - set(declared) - set(NOT_WRAPPED))
    assert not missing, f"C functions without a ctypes declaration: {missing}"


def test_declarations_match_the_headers(source_root):
    protos = _prototypes(source_root)
    declared = _declared()
    bad = []
    for name, f in declared.items():
        if name not in protos:
            bad.append(f"{name}: not in the headers")
            continue
        ret, n = protos[name]
        if f.argtypes is None or len(f.argtypes) != n:
            bad.append(f"{name}: {n} parameters in C, "
                       f"{None if f.argtypes is None else len(f.argtypes)} declared")
        void = ret.split()[-1] == "void" and "*" not in ret
        if void != (f.restype is None):
            bad.append(f"{name}: returns '{ret}' in C, restype {f.restype}")
        if not void and "*" not in ret and ret.split()[-1] in ("int",) and \
                f.restype is not ctypes.c_int:
            bad.append(f"{name}: int in C, restype {f.restype}")
    assert not bad, "\n".join(bad)


def test_no_function_uses_the_default_int_return():
    for name, f in _declared().items():
        assert f.argtypes is not None, name
    with pytest.raises(AttributeError):
        getattr(_lib.lib, "churn_no_such_function")


def test_option_mirrors_match_the_c_structs():
    """Every ctypes mirror of a size-versioned option struct is exactly as large as the C
    struct its _init() fills: ctypes binds to the default (newest) symbol version, which
    writes the whole current struct, so a shorter mirror would be overwritten past its end."""
    import ctypes
    from churn import _lib, _btyd, _customers, _logit, _metrics, _simulate, _spend
    from churn import _covariates, _intervals, _survival, _txlog
    mirrors = [
        (_txlog.CsvOptions, "churn_csv_options_init"),
        (_btyd.BtydOptions, "churn_btyd_options_init"),
        (_customers.CustomerOptions, "churn_customer_options_init"),
        (_customers.CohortOptions, "churn_cohort_options_init"),
        (_logit.LogitOptions, "churn_logit_options_init"),
        (_logit.LogitCvOptions, "churn_logit_cv_options_init"),
        (_metrics.TrackingOptions, "churn_tracking_options_init"),
        (_metrics.ComparisonOptions, "churn_comparison_options_init"),
        (_simulate.SimulateOptions, "churn_simulate_options_init"),
        (_spend.GammaGammaOptions, "churn_gammagamma_options_init"),
        (_spend.ClvOptions, "churn_clv_options_init"),
        (_survival.KmOptions, "churn_km_options_init"),
        (_survival.CoxOptions, "churn_cox_options_init"),
        (_survival.AftOptions, "churn_aft_options_init"),
        (_covariates.Covariates, "churn_btyd_covariates_init"),
        (_covariates.CovOptions, "churn_btyd_cov_options_init"),
        (_intervals.BootstrapOptions, "churn_bootstrap_options_init"),
    ]
    lib = ctypes.CDLL(_lib.library_path)  # a fresh handle: no argtypes declared on it
    for mirror, init in mirrors:
        buf = (ctypes.c_ubyte * 4096)()
        getattr(lib, init)(buf)
        c_size = ctypes.c_size_t.from_buffer(buf).value
        assert c_size == ctypes.sizeof(mirror), (mirror.__name__, c_size, ctypes.sizeof(mirror))
