"""The shared model handle: parameters, summary, model files, pickling."""
import ctypes
import math

import numpy as np

from . import _lib
from ._errors import check
from ._estimator import EstimatorMixin

_FAMILY_CLASSES = {}


def register(family_name):
    """Class decorator: the Python class that wraps models of `family_name`."""

    def deco(cls):
        _FAMILY_CLASSES[family_name] = cls
        cls._family_name = family_name
        return cls

    return deco


class Model(EstimatorMixin):
    """A fitted libchurn model (any family): the shared handle and its reports.

    Subclasses add ``fit`` and the family's predictions. Every model has
    ``params_`` (pandas Series), ``summary`` (DataFrame with estimate, standard
    error and 95% confidence interval), ``loglik_``, ``converged_``, and
    ``save``/``load`` of the same JSON model files as C, Lua and the command.
    A model pickles through its model file, so it can be shipped to
    multiprocessing or Dask workers. ``get_params``/``set_params`` follow
    scikit-learn's estimator protocol (the constructor arguments of the subclass).

    Examples
    --------
    >>> bg = churn.BGNBD.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
    >>> isinstance(bg, churn.Model), bg.family
    (True, 'bgnbd')
    """

    _family_name = None

    def __init__(self):
        self._h = None

    # ---- handle management ----
    def _set_handle(self, h):
        self._free()
        self._h = h
        return self

    def _free(self):
        h, self._h = getattr(self, "_h", None), None
        if h:
            _lib.churn_model_free(h)

    def __del__(self):
        self._free()

    def _require(self):
        if not self._h:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit() or load()")
        return self._h

    @classmethod
    def _wrap(cls, h):
        """Wrap a C handle in the class registered for its family."""
        fam = _lib.churn_family_name(_lib.churn_model_family(h)).decode()
        klass = _FAMILY_CLASSES.get(fam, Model)
        if cls is not Model and not issubclass(klass, cls):
            _lib.churn_model_free(h)
            raise TypeError(f"the model file holds a '{fam}' model, not a {cls.__name__}")
        obj = klass.__new__(klass)
        obj._h = None
        obj._init_from_handle()
        return obj._set_handle(h)

    def _init_from_handle(self):
        """Hook for subclasses that keep Python-side state."""

    # ---- properties ----
    @property
    def family(self):
        """The model family's name ('bgnbd', 'pnbd', 'gammagamma', 'logit', 'cox', ...)."""
        return _lib.churn_family_name(_lib.churn_model_family(self._require())).decode()

    @property
    def param_names(self):
        """Names of the parameters, in the order of ``params_``."""
        h = self._require()
        return [_lib.churn_model_param_name(h, i).decode()
                for i in range(_lib.churn_model_num_params(h))]

    def _vector(self, getter):
        h = self._require()
        k = _lib.churn_model_num_params(h)
        out = np.empty(k)
        check(getter(h, out.ctypes.data_as(_lib.c_double_p), k))
        return out

    @property
    def params_(self):
        """Parameter estimates (natural scale) as a pandas Series indexed by name."""
        import pandas as pd
        return pd.Series(self._vector(_lib.churn_model_params), index=self.param_names,
                         name="estimate")

    @property
    def standard_errors_(self):
        """Standard errors of the estimates as a Series (NaN when not computed)."""
        import pandas as pd
        return pd.Series(self._vector(_lib.churn_model_std_errors), index=self.param_names,
                         name="se")

    @property
    def covariance_(self):
        """Covariance matrix of the estimates as a DataFrame (names on both axes)."""
        import pandas as pd
        h = self._require()
        k = _lib.churn_model_num_params(h)
        out = np.empty(k * k)
        check(_lib.churn_model_covariance(h, out.ctypes.data_as(_lib.c_double_p), k * k))
        names = self.param_names
        return pd.DataFrame(out.reshape(k, k), index=names, columns=names)

    def param(self, name):
        """(estimate, standard error) of one parameter by name.

        Parameters
        ----------
        name : str
            A name of ``param_names``.

        Returns
        -------
        tuple of float
            The estimate and its standard error (NaN when not computed).

        Raises
        ------
        churn.ChurnKeyError
            The model has no parameter of that name.

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
        >>> bg.param("r")[0]
        0.2426
        """
        v, se = ctypes.c_double(), ctypes.c_double()
        check(_lib.churn_model_param(self._require(), str(name).encode(), ctypes.byref(v),
                                     ctypes.byref(se)))
        return v.value, se.value

    @property
    def loglik_(self):
        """Log-likelihood at the estimates (NaN for a model built from parameters)."""
        return _lib.churn_model_loglik(self._require())

    @property
    def converged_(self):
        """True when the optimiser converged (False for a model built from parameters)."""
        return bool(_lib.churn_model_converged(self._require()))

    @property
    def iterations_(self):
        """Number of optimiser iterations of the fit."""
        return _lib.churn_model_iterations(self._require())

    @property
    def nobs_(self):
        """Number of observations (customers, or the sum of weights) of the fit."""
        return _lib.churn_model_nobs(self._require())

    @property
    def time_unit_(self):
        """The time unit of the data the model was fitted on, in days (0 = unknown).

        Recorded by ``fit`` from a customer table's ``attrs["time_unit"]`` or a declared
        ``unit=``, by :meth:`set_time_unit`, and kept in the model file. Data of another
        known unit are refused (:class:`churn.UnitMismatchError`)."""
        return _lib.churn_model_time_unit(self._require())

    def set_time_unit(self, unit):
        """Record the time unit of the data the model was fitted on.

        Parameters
        ----------
        unit : str or float
            'day', 'week', 'month', 'year' or a positive number of days. This declares
            what the parameters already mean; it does not rescale them (that is
            ``convert_time_unit`` of the BTYD models).

        Returns
        -------
        Model
            self (saved in the model file with the unit).

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
        >>> bg.set_time_unit("week").time_unit_
        7.0
        """
        from ._customers import time_unit_days
        check(_lib.churn_model_set_time_unit(self._require(), time_unit_days(unit)))
        return self

    def check_time_unit(self, data=None, unit=None):
        """Check that `data` may meet this model: same time unit, or one side unknown.

        Parameters
        ----------
        data : pandas.DataFrame, optional
            A customer table; its unit is ``data.attrs["time_unit"]`` when present.
        unit : str or float, optional
            The data's unit declared by the caller (for data without ``attrs``).

        Returns
        -------
        Model
            self, when the units agree or either is unknown (the caller owns it).

        Raises
        ------
        churn.UnitMismatchError
            The units differ; the message names both.

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4, unit="week")
        >>> bg.check_time_unit(unit="week") is bg
        True
        >>> bg.check_time_unit(unit="day")
        Traceback (most recent call last):
        ...
        churn._errors.UnitMismatchError: ...
        """
        from ._units import check_model_unit
        check_model_unit(self, data, unit)
        return self

    def _record_unit(self, data, unit=None):
        """After a fit: record the unit of a customer table (attrs) or the declared one."""
        from ._units import record_unit
        return record_unit(self, data, unit)

    def _copy(self):
        """An independent copy of this model (a new C handle, through its model file)."""
        return type(self).from_json(self.to_json())

    @property
    def feature_names_(self):
        """Names of the features of a regression model (empty for BTYD and spend models)."""
        h = self._require()
        return [_lib.churn_model_feature_name(h, i).decode()
                for i in range(_lib.churn_model_num_features(h))]

    @property
    def note_(self):
        """The fit's note: warnings the C fit recorded (separation, dropped columns, ...), or ''."""
        return _lib.churn_model_note(self._require()).decode()

    @property
    def summary(self):
        """Estimates, standard errors and Wald 95% confidence intervals as a DataFrame.

        Columns estimate, se, lower 95%, upper 95%, indexed by parameter name (the
        regression families have richer tables of their own).
        """
        import pandas as pd
        est = self._vector(_lib.churn_model_params)
        se = self._vector(_lib.churn_model_std_errors)
        z = 1.959963984540054
        return pd.DataFrame({"estimate": est, "se": se, "lower 95%": est - z * se,
                             "upper 95%": est + z * se}, index=pd.Index(self.param_names,
                                                                        name="parameter"))

    # ---- files ----
    def save(self, path):
        """Write the model file (JSON, docs/model-format.md).

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (replaced).

        Returns
        -------
        Model
            self.

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
        >>> bg.save("bg.json") is bg
        True
        >>> churn.load_model("bg.json").params_.equals(bg.params_)
        True
        """
        check(_lib.churn_model_save(self._require(), str(path).encode()))
        return self

    def to_json(self):
        """The model file's text (JSON, the same as :meth:`save` writes).

        Returns
        -------
        str
            The model file.

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
        >>> '"family": "bgnbd"' in bg.to_json()
        True
        """
        h = self._require()
        need = ctypes.c_size_t(0)
        _lib.churn_model_save_buffer(h, None, 0, ctypes.byref(need))
        buf = ctypes.create_string_buffer(need.value)
        check(_lib.churn_model_save_buffer(h, buf, need.value, None))
        return buf.value.decode()

    @classmethod
    def load(cls, path):
        """Load a model file written by C, Python, Lua or the command.

        Called on a family class (``BGNBD.load``) the file must hold that family;
        on ``Model`` (or :func:`churn.load_model`) any family is accepted and the
        matching class returned.

        Parameters
        ----------
        path : str or os.PathLike
            The model file.

        Returns
        -------
        Model
            A fitted model of the file's family.

        Raises
        ------
        TypeError
            The file holds a model of another family than the class called.

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
        >>> _ = bg.save("bg.json")
        >>> churn.BGNBD.load("bg.json").params_.equals(bg.params_)
        True
        """
        h = ctypes.c_void_p()
        check(_lib.churn_model_load(ctypes.byref(h), str(path).encode()))
        return cls._wrap(h.value)

    @classmethod
    def from_json(cls, text):
        """A model from the text of a model file (see :meth:`load`).

        Parameters
        ----------
        text : str or bytes
            The model file's text.

        Returns
        -------
        Model
            A fitted model of the text's family.

        Examples
        --------
        >>> bg = churn.BGNBD.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
        >>> type(churn.Model.from_json(bg.to_json())).__name__
        'BGNBD'
        """
        raw = text.encode() if isinstance(text, str) else bytes(text)
        h = ctypes.c_void_p()
        check(_lib.churn_model_load_buffer(ctypes.byref(h), raw, len(raw)))
        return cls._wrap(h.value)

    # ---- pickling: through the model file ----
    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items() if k != "_h"}
        state["_model_json"] = self.to_json() if self._h else None
        return state

    def __setstate__(self, state):
        text = state.pop("_model_json", None)
        self.__dict__.update(state)
        self._h = None
        if text is not None:
            raw = text.encode()
            h = ctypes.c_void_p()
            check(_lib.churn_model_load_buffer(ctypes.byref(h), raw, len(raw)))
            self._h = h.value

    # ---- display ----
    def __repr__(self):
        name = type(self).__name__
        if not getattr(self, "_h", None):
            return f"<{name}: not fitted>"
        ps = ", ".join(f"{n}={v:.4g}" for n, v in zip(self.param_names,
                                                       self._vector(_lib.churn_model_params)))
        ll = self.loglik_
        extra = f", loglik={ll:.2f}" if math.isfinite(ll) else ""
        conv = "" if self.converged_ else ", NOT CONVERGED"
        return f"<{name}: {ps}{extra}, n={self.nobs_:g}{conv}>"

    def _repr_html_(self):
        if not getattr(self, "_h", None):
            return f"<p>{type(self).__name__}: not fitted</p>"
        ll = self.loglik_
        head = (f"<p><b>{type(self).__name__}</b> ({self.family}) &mdash; "
                f"n = {self.nobs_:g}, log-likelihood = {ll:.3f}, "
                f"{'converged' if self.converged_ else '<b>not converged</b>'} in "
                f"{self.iterations_} iterations</p>")
        return head + self.summary.to_html(float_format=lambda v: f"{v:.6g}")


def _from_values(cls, names, values, features=(), unit=None, arrays=None):
    """A model of `cls`'s family with known parameter values, through a model file.

    The C library has constructors only for the BTYD families; for the others the
    model file is the way in, and its reader checks the values with its own messages
    (names the parameter). Standard errors are NaN, loglik NaN, converged False."""
    import json
    vals = [float(v) for v in values]
    bad = [n for n, v in zip(names, vals) if not math.isfinite(v)]
    if bad:
        raise ValueError(f"from_params: parameter '{bad[0]}' is not a finite number")
    text = json.dumps({"format": "libchurn-model", "format_version": 1,
                       "family": cls._family_name, "time_unit_days": 0.0,
                       "param_names": [str(n) for n in names], "params": vals,
                       "std_errors": [None] * len(vals), "covariance": None,
                       "fit": {"loglik": None, "nobs": 0.0, "converged": False,
                               "iterations": 0},
                       "features": [str(f) for f in features],
                       "arrays": {k: [float(x) for x in v] for k, v in (arrays or {}).items()},
                       "note": ""})
    obj = cls.from_json(text)
    if unit is not None:
        obj.set_time_unit(unit)
    return obj


def _named_values(params, what):
    """(names, values) from a dict or Series of parameter -> value."""
    if hasattr(params, "items"):
        items = list(params.items())
        return [str(k) for k, _ in items], [v for _, v in items]
    raise TypeError(f"{what}: pass the parameters as a dict or Series of name -> value "
                    f"(as params_ returns them)")


def load_model(path):
    """Load any model file; returns the class matching its family.

    Parameters
    ----------
    path : str or os.PathLike
        A model file written by C, Python, Lua or the command.

    Returns
    -------
    Model
        A BGNBD, ParetoNBD, GammaGamma, LogisticRegression, CoxPHFitter, ...

    Examples
    --------
    >>> bg = churn.BGNBD.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
    >>> _ = bg.save("bg.json")
    >>> churn.load_model("bg.json")
    <BGNBD: r=0.2426, alpha=4.414, a=0.7929, b=2.426, n=0, NOT CONVERGED>
    """
    return Model.load(path)
