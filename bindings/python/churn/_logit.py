"""Logistic-regression churn model (include/churn/logit.h), scikit-learn style."""
import ctypes
from ctypes import POINTER, c_char_p, c_double, c_int, c_size_t, c_uint64, c_void_p

import numpy as np

from . import _lib
from ._arrays import as_f64, ptr
from ._errors import ENOCONV, check, error_for
from ._model import Model, register

_d = _lib.c_double_p
ROW_MAJOR, COL_MAJOR = 0, 1
_PENALTIES = {None: 0, "none": 0, "l2": 1, "l1": 2, "elasticnet": 3}
_PENALTY_NAMES = {0: "none", 1: "l2", 2: "l1", 3: "elasticnet"}


class LogitOptions(ctypes.Structure):
    """Mirror of churn_logit_options."""

    _fields_ = [("struct_size", c_size_t), ("penalty", c_int), ("lambda_", c_double),
                ("alpha", c_double), ("intercept", c_int), ("standardize", c_int),
                ("class_weight", c_int), ("max_iter", c_int), ("tol", c_double),
                ("separation", c_int)]


class LogitSummary(ctypes.Structure):
    """Mirror of churn_logit_summary."""

    _fields_ = [("struct_size", c_size_t), ("deviance", c_double), ("null_deviance", c_double),
                ("aic", c_double), ("loglik", c_double), ("nobs", c_double),
                ("sum_weights", c_double), ("df_residual", c_double), ("lambda_", c_double),
                ("alpha", c_double), ("penalty", c_int), ("intercept", c_int),
                ("standardize", c_int), ("converged", c_int), ("iterations", c_int),
                ("separated", c_int), ("rank", c_size_t), ("nonzero", c_size_t),
                ("dropped", c_size_t)]


class LogitTerm(ctypes.Structure):
    """Mirror of churn_logit_term."""

    _fields_ = [("struct_size", c_size_t), ("estimate", c_double), ("std_error", c_double),
                ("z", c_double), ("p_value", c_double), ("odds_ratio", c_double),
                ("odds_ratio_low", c_double), ("odds_ratio_high", c_double)]


class LogitCvOptions(ctypes.Structure):
    """Mirror of churn_logit_cv_options."""

    _fields_ = [("struct_size", c_size_t), ("nfolds", c_size_t), ("seed", c_uint64),
                ("nlambda", c_size_t), ("lambda_min_ratio", c_double), ("metric", c_int)]


_fn = _lib.fn
_opts_init = _fn("churn_logit_options_init", c_int, POINTER(LogitOptions))
_fit = _fn("churn_logit_fit", c_int, POINTER(c_void_p), _d, c_size_t, c_size_t, c_int, c_size_t,
           _d, _d, POINTER(c_char_p), POINTER(LogitOptions))
_summary_get = _fn("churn_logit_summary_get", c_int, c_void_p, POINTER(LogitSummary))
_term_get = _fn("churn_logit_term_get", c_int, c_void_p, c_size_t, POINTER(LogitTerm))
_predict = _fn("churn_logit_predict", c_int, c_void_p, _d, c_size_t, c_size_t, c_int, c_size_t,
               _d, _d)
_contrib = _fn("churn_logit_contributions", c_int, c_void_p, _d, c_size_t, c_size_t, c_int,
               c_size_t, _d, _d)
_cv_opts_init = _fn("churn_logit_cv_options_init", c_int, POINTER(LogitCvOptions))
_cv = _fn("churn_logit_cross_validate", c_int, POINTER(c_void_p), _d, c_size_t, c_size_t, c_int,
          c_size_t, _d, _d, POINTER(c_char_p), POINTER(LogitOptions), POINTER(LogitCvOptions))
_cv_free = _fn("churn_logit_cv_free", None, c_void_p)
_cv_num = _fn("churn_logit_cv_num_lambda", c_size_t, c_void_p)
_cv_path = _fn("churn_logit_cv_path", c_int, c_void_p, _d, _d, _d, c_size_t)
_cv_min = _fn("churn_logit_cv_lambda_min", c_double, c_void_p)
_cv_1se = _fn("churn_logit_cv_lambda_1se", c_double, c_void_p)
_cv_metric = _fn("churn_logit_cv_metric_used", c_int, c_void_p)


def design_matrix(X, p=None, name="X"):
    """(array, n, p, layout, ld, feature names or None) for a 2-D numeric X.

    C- or Fortran-contiguous float64 arrays pass without a copy (row- or column-major);
    anything else is converted once. A 1-D X is one feature column."""
    names = None
    if hasattr(X, "columns") and hasattr(X, "dtypes"):
        names = [str(c) for c in X.columns]
        bad = [c for c, dt in zip(X.columns, X.dtypes) if dt.kind not in "biuf"]
        if bad:
            raise TypeError(f"{name}: column '{bad[0]}' is not numeric (dtype "
                            f"{X[bad[0]].dtype})")
        a = X.to_numpy(dtype=np.float64)
    else:
        a = np.asarray(X)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"{name}: expected numbers, got dtype {a.dtype}")
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array, got shape {a.shape}")
    n, k = a.shape
    if p is not None and k != p:
        raise ValueError(f"{name}: {k} columns, the model has {p} features")
    if a.dtype == np.float64 and a.flags.c_contiguous:
        return a, n, k, ROW_MAJOR, 0, names
    if a.dtype == np.float64 and a.flags.f_contiguous:
        return a, n, k, COL_MAJOR, 0, names
    return np.ascontiguousarray(a, dtype=np.float64), n, k, ROW_MAJOR, 0, names


def _names_arg(names, p):
    if names is None:
        return None, None
    if len(names) != p:
        raise ValueError(f"feature_names: {len(names)} names for {p} columns")
    enc = [str(s).encode() for s in names]
    return (c_char_p * p)(*enc), enc


_BINARY = np.array([0, 1], dtype=np.int64)


def _labels(y, n):
    """(0/1 float64 labels for C, classes_) from y.

    Numeric 0/1 labels (the churn flag, 1 = churned) go to C as they are, so C's
    messages name a bad row (NaN, 2, ...); classes_ is then [0, 1]. Any other
    two-valued labels -- strings ('no'/'yes'), booleans, {1, 2}, categories -- are
    mapped as scikit-learn maps them: classes_ = the two distinct values sorted, the
    positive class (label 1, the probability predict_proba()[:, 1] and p_churn
    report) is classes_[1]."""
    a = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.dtype.kind in "iuf":
        finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
        if finite.shape[0] < a.shape[0] or np.all((finite == 0) | (finite == 1)):
            # 0/1 (or a NaN C will name by row): the churn flag as it is
            return as_f64(a, "y", n), _BINARY
        vals = np.unique(finite)
        if vals.shape[0] != 2:
            # C names the first row that is not 0/1
            return as_f64(a, "y", n), _BINARY
    if a.ndim != 1:
        raise ValueError(f"y: expected a 1-D array of labels, got shape {a.shape}")
    if a.shape[0] != n:
        raise ValueError(f"y: length {a.shape[0]} does not match the {n} rows of X")
    if a.dtype.kind == "O" or a.dtype.kind == "f":
        import pandas as pd
        miss = pd.isna(a)
        if np.any(miss):
            row = int(np.flatnonzero(miss)[0])
            raise ValueError(f"y: row {row}: the label is missing")
    try:
        vals = np.unique(a)
    except TypeError as e:
        raise TypeError(f"y: labels of mixed types cannot be ordered ({e})") from None
    if vals.shape[0] != 2:
        shown = ", ".join(repr(v) for v in vals[:5].tolist())
        raise ValueError(f"y: LogisticRegression needs exactly two classes, got "
                         f"{vals.shape[0]} ({shown}{', ...' if vals.shape[0] > 5 else ''})")
    return np.ascontiguousarray(a == vals[1], dtype=np.float64), vals


class CrossValidation:
    """Result of :meth:`LogisticRegression.cross_validate`.

    The lambda path with the CV metric's mean and SD (``path``), ``lambda_min``,
    ``lambda_1se`` and ``metric``.

    Parameters
    ----------
    h : ctypes handle
        The C result (freed here after copying).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = (rng.random(200) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    >>> cv = churn.LogisticRegression(penalty="l2").cross_validate(X, y, nfolds=5, nlambda=20)
    >>> list(cv.path.columns), cv.lambda_1se >= cv.lambda_min
    (['lambda', 'mean', 'sd'], True)
    """

    def __init__(self, h):
        import pandas as pd
        try:
            k = _cv_num(h)
            lam, mean, sd = np.empty(k), np.empty(k), np.empty(k)
            check(_cv_path(h, ptr(lam), ptr(mean), ptr(sd), k))
            self.metric = {0: "deviance", 1: "auc"}.get(_cv_metric(h), "?")
            self.lambda_min = _cv_min(h)
            self.lambda_1se = _cv_1se(h)
        finally:
            _cv_free(h)
        self.path = pd.DataFrame({"lambda": lam, "mean": mean, "sd": sd})

    def __repr__(self):
        return (f"<CrossValidation: {len(self.path)} lambdas, metric {self.metric}, "
                f"lambda_min={self.lambda_min:.6g}, lambda_1se={self.lambda_1se:.6g}>")


@register("logit")
class LogisticRegression(Model):
    """Logistic regression of a churn label on customer features, scikit-learn style.

    A scikit-learn estimator (``get_params``/``set_params``, ``classes_``,
    ``predict``, ``predict_proba``, ``decision_function``, ``score``) that works
    with ``clone``, ``cross_val_score``, ``GridSearchCV`` and ``Pipeline``, without
    importing scikit-learn. Labels: 0/1 (1 = churned), or any two values ("no"/"yes",
    booleans) mapped as scikit-learn maps them (``classes_`` sorted, the positive
    class, whose probability is P(churn), is ``classes_[1]``).

    After ``fit``: ``coef_``, ``intercept_``, ``classes_``, ``params_``, ``summary``
    (estimate, SE, z, p, odds ratios with 95% CI), ``fit_summary_`` (deviance, AIC, ...).

    Parameters
    ----------
    penalty : {'none', 'l2', 'l1', 'elasticnet'}, default 'none'
        'none' is maximum likelihood, as R's glm (None is accepted too).
    lambda_ : float, optional
        Penalty strength on glmnet's scale (mean log-loss + lambda * penalty).
    C : float, optional
        Penalty strength on scikit-learn's scale: lambda = 1 / (C * sum of weights),
        the same objective as scikit-learn's LogisticRegression(C=...). Give lambda_
        or C, not both.
    l1_ratio : float, default 0.5
        Elastic-net mixing (glmnet's alpha).
    fit_intercept : bool, default True
        Fit an (unpenalised) intercept.
    standardize : bool, default False
        Penalise the coefficients of standardised features (glmnet's default is True).
    class_weight : {None, 'balanced'}
        Reweight the classes to equal total weight.
    max_iter : int, default 100
        Iterations of the solver.
    tol : float, default 1e-9
        Convergence tolerance.
    separation : {'error', 'note'}, default 'error'
        Complete separation is an error, or a note in ``note_``.

    Examples
    --------
    >>> X = pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5], "z": [1.0, 0, 1, 1, 0, 0]})
    >>> y = [0, 0, 1, 0, 1, 1]
    >>> m = churn.LogisticRegression().fit(X, y)
    >>> m.classes_.tolist(), round(m.score(X, y), 4)
    ([0, 1], 0.6667)
    """

    penalty = "none"
    lambda_ = None
    C = None
    l1_ratio = 0.5
    fit_intercept = True
    standardize = False
    class_weight = None
    max_iter = 100
    tol = 1e-9
    separation = "error"

    _estimator_type = "classifier"  # scikit-learn's is_classifier(): stratified CV folds

    def __init__(self, penalty="none", lambda_=None, C=None, l1_ratio=0.5, fit_intercept=True,
                 standardize=False, class_weight=None, max_iter=100, tol=1e-9,
                 separation="error"):
        super().__init__()
        self.penalty = penalty
        self.lambda_ = lambda_
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.separation = separation
        self._validate_params()

    @classmethod
    def from_params(cls, params=None, *, coef=None, intercept=None, feature_names=None,
                    classes=None, unit=None):
        """A logistic regression with known coefficients (a published model, a simulation).

        Either `params` as ``params_`` returns them ('(Intercept)' then one entry per
        feature), or scikit-learn's `coef` and `intercept`. The model predicts
        (``predict_proba``, ``predict_churn``, ``decision_function``, ``predict``) but
        has no training data: ``contributions``/``explain`` need the training means
        and say so.

        Parameters
        ----------
        params : dict or pandas.Series, optional
            Name -> value, '(Intercept)' included when the model has one.
        coef : array_like or dict, optional
            The feature coefficients (keyword only; a dict names the features).
        intercept : float, optional
            The intercept (keyword only; None: no intercept).
        feature_names : list of str, optional
            Names of the `coef` entries (default x1, x2, ...).
        classes : sequence of two labels, optional
            ``classes_`` (default [0, 1]); the second is the positive class.
        unit : str or float, optional
            The time unit the features refer to (recorded as ``time_unit_``).

        Returns
        -------
        LogisticRegression
            A model with those coefficients (standard errors NaN).

        Examples
        --------
        >>> m = churn.LogisticRegression.from_params(coef={"recency": 0.05}, intercept=-1.0)
        >>> X = pd.DataFrame({"recency": [0.0, 20.0]})
        >>> m.predict_churn(X).round(4).tolist()           # 1 / (1 + exp(1)), 1 / 2
        [0.2689, 0.5]
        """
        from ._model import _from_values, _named_values
        if params is not None:
            if coef is not None or intercept is not None:
                raise TypeError("pass params, or coef and intercept, not both")
            names, vals = _named_values(params, "LogisticRegression.from_params")
        else:
            if coef is None:
                raise TypeError("LogisticRegression.from_params needs params, or coef "
                                "(and intercept)")
            if hasattr(coef, "items"):
                feature_names, coef = [str(k) for k in coef.keys()], list(coef.values())
            c = np.asarray(coef, dtype=float).reshape(-1)
            if feature_names is None:
                feature_names = [f"x{j + 1}" for j in range(c.shape[0])]
            if len(feature_names) != c.shape[0]:
                raise ValueError(f"feature_names: {len(feature_names)} names for "
                                 f"{c.shape[0]} coefficients")
            names = ([] if intercept is None else ["(Intercept)"]) + list(feature_names)
            vals = ([] if intercept is None else [intercept]) + list(c)
        feats = [n for n in names if n != "(Intercept)"]
        obj = _from_values(cls, names, vals, feats, unit)
        if classes is not None:
            if len(classes) != 2:
                raise ValueError(f"classes: {len(classes)} labels, a LogisticRegression "
                                 f"has two")
            obj.classes_ = np.asarray(sorted(classes))
        return obj

    def _validate_params(self):
        if self.penalty not in _PENALTIES:
            raise ValueError(f"penalty: '{self.penalty}' is not none, l2, l1 or elasticnet")
        if self.lambda_ is not None and self.C is not None:
            raise ValueError("pass lambda_ or C, not both")
        if self.class_weight not in (None, "none", "balanced"):
            raise ValueError(f"class_weight: '{self.class_weight}' is not None or 'balanced'")
        if self.separation not in ("error", "note"):
            raise ValueError(f"separation: '{self.separation}' is not 'error' or 'note'")

    def _options(self, sum_weights, lam=None):
        o = LogitOptions()
        check(_opts_init(ctypes.byref(o)))
        o.penalty = _PENALTIES[self.penalty]
        if lam is None:
            lam = self.lambda_
            if lam is None and self.C is not None:
                lam = 1.0 / (float(self.C) * sum_weights)
        o.lambda_ = float(lam or 0.0)
        o.alpha = float(self.l1_ratio)
        o.intercept = 1 if self.fit_intercept else 0
        o.standardize = 1 if self.standardize else 0
        o.class_weight = 1 if self.class_weight == "balanced" else 0
        o.max_iter = int(self.max_iter)
        o.tol = float(self.tol)
        o.separation = 1 if self.separation == "note" else 0
        return o

    def _inputs(self, X, y, sample_weight, feature_names):
        x, n, p, layout, ld, names = design_matrix(X)
        if feature_names is not None:
            names = list(feature_names)
        yy, classes = _labels(y, n)
        self._classes_seen = classes
        w = None if sample_weight is None else as_f64(sample_weight, "sample_weight", n)
        sw = float(n if w is None else np.sum(w))
        cnames, keep = _names_arg(names, p)
        return x, n, p, layout, ld, yy, w, sw, cnames, keep

    def fit(self, X, y, sample_weight=None, feature_names=None, cv=None, cv_rule="min",
            *, progress=None, **cv_options):
        """Fit on features `X` and labels `y`; returns self.

        With ``cv=K`` the penalty strength is chosen by K-fold cross-validation
        (:meth:`cross_validate`, rule 'min' or '1se') and the model refitted on all rows;
        the CV result is kept in ``cv_``.

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            Features (a DataFrame's column names become the feature names), shape (n, p).
        y : array_like
            Labels: 0/1 or any two values (see the class).
        sample_weight : array_like, optional
            Weights of the rows.
        feature_names : list of str, optional
            Names of the columns of an array `X`.
        cv : int, optional
            Folds of a cross-validated choice of lambda.
        cv_rule : {'min', '1se'}, default 'min'
            Which lambda of the CV path.
        progress : bool, optional
            Keyword only: elapsed-time feedback while fitting over more than 200,000
            rows (None: after 1.5 s; False: never; True: at once).
        **cv_options
            Passed to :meth:`cross_validate` (seed, nlambda, lambda_min_ratio, metric).

        Returns
        -------
        LogisticRegression
            self, fitted.

        Raises
        ------
        ValueError
            Bad input (the C message names the row and column), or labels of more than
            two values.
        churn.NumericalError
            Collinear columns or separation.
        churn.ConvergenceError
            No convergence (the partial fit is in ``.model``).

        Examples
        --------
        >>> X = pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5], "z": [1.0, 0, 1, 1, 0, 0]})
        >>> y = [0, 0, 1, 0, 1, 1]
        >>> m = churn.LogisticRegression().fit(X, y)
        >>> m.feature_names_
        ['x', 'z']
        """
        self._validate_params()
        lam = None
        if cv is not None:
            res = self.cross_validate(X, y, sample_weight=sample_weight,
                                      feature_names=feature_names, nfolds=cv, **cv_options)
            if cv_rule not in ("min", "1se"):
                raise ValueError(f"cv_rule: '{cv_rule}' is not 'min' or '1se'")
            lam = res.lambda_min if cv_rule == "min" else res.lambda_1se
        x, n, p, layout, ld, yy, w, sw, cnames, keep = self._inputs(X, y, sample_weight,
                                                                    feature_names)
        o = self._options(sw, lam)
        h = c_void_p()
        from ._estimator import fit_feedback
        with fit_feedback(self, n, progress):
            rc = _fit(ctypes.byref(h), ptr(x), n, p, layout, ld, ptr(yy), ptr(w), cnames,
                      ctypes.byref(o))
        if rc == ENOCONV and h.value:
            err = error_for(rc)
            err.model = LogisticRegression()._set_handle(h.value)
            raise err
        check(rc)
        self._set_handle(h.value)
        self.classes_ = self._classes_seen
        self.n_features_in_ = p
        self._record_unit(X)  # a customer table's time unit (attrs), if it has one
        if cv is not None:
            self.cv_ = res
        return self

    def cross_validate(self, X, y, sample_weight=None, feature_names=None, nfolds=5, seed=1,
                       nlambda=100, lambda_min_ratio=0.0, metric="deviance"):
        """K-fold cross-validation of this (penalised) model over a lambda path.

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            Features.
        y : array_like
            Labels (0/1 or two values).
        sample_weight : array_like, optional
            Weights of the rows.
        feature_names : list of str, optional
            Names of the columns of an array `X`.
        nfolds : int, default 5
            Number of folds.
        seed : int, default 1
            Seed of the fold assignment.
        nlambda : int, default 100
            Number of lambdas on the path.
        lambda_min_ratio : float, default 0
            Smallest lambda as a fraction of the largest (0: glmnet's default).
        metric : {'deviance', 'auc'}, default 'deviance'
            The CV metric.

        Returns
        -------
        CrossValidation
            The path and the chosen lambdas.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(200, 3))
        >>> y = (rng.random(200) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
        >>> cv = churn.LogisticRegression(penalty="l1").cross_validate(X, y, metric="auc")
        >>> cv.metric
        'auc'
        """
        if metric not in ("deviance", "auc"):
            raise ValueError(f"metric: '{metric}' is not 'deviance' or 'auc'")
        x, n, p, layout, ld, yy, w, sw, cnames, keep = self._inputs(X, y, sample_weight,
                                                                    feature_names)
        o = self._options(sw, 0.0)
        c = LogitCvOptions()
        check(_cv_opts_init(ctypes.byref(c)))
        c.nfolds = int(nfolds)
        c.seed = int(seed)
        c.nlambda = int(nlambda)
        c.lambda_min_ratio = float(lambda_min_ratio)
        c.metric = 1 if metric == "auc" else 0
        h = c_void_p()
        check(_cv(ctypes.byref(h), ptr(x), n, p, layout, ld, ptr(yy), ptr(w), cnames,
                  ctypes.byref(o), ctypes.byref(c)))
        return CrossValidation(h.value)

    # ---- predictions ----
    def _x(self, X):
        h = self._require()
        self.check_time_unit(X)  # a table of another known unit is refused
        names = self.feature_names_
        if hasattr(X, "columns"):
            missing = [c for c in names if c not in X.columns]
            if missing:
                raise KeyError(f"column '{missing[0]}' (a feature of the model) is not in X")
            X = X[names]
        return h, design_matrix(X, len(names))

    def _predict(self, X):
        h, (x, n, p, layout, ld, _) = self._x(X)
        pr, eta = np.empty(n), np.empty(n)
        check(_predict(h, ptr(x), n, p, layout, ld, ptr(pr), ptr(eta)))
        return pr, eta

    def _wrap_rows(self, values, X, name):
        import pandas as pd
        if hasattr(X, "index") and hasattr(X, "columns"):
            return pd.Series(values, index=X.index, name=name)
        return values

    def predict_churn(self, X):
        """P(positive class) -- the churn probability -- per row.

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            Features; a DataFrame's columns are matched to the model's by name.

        Returns
        -------
        pandas.Series or numpy.ndarray
            Probabilities, a Series named 'p_churn' for a DataFrame.

        Examples
        --------
        >>> X = pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5], "z": [1.0, 0, 1, 1, 0, 0]})
        >>> y = [0, 0, 1, 0, 1, 1]
        >>> m = churn.LogisticRegression().fit(X, y)
        >>> m.predict_churn(X).round(3).tolist()
        [0.044, 0.165, 0.333, 0.623, 0.876, 0.959]
        """
        return self._wrap_rows(self._predict(X)[0], X, "p_churn")

    p_churn = predict_churn

    def predict_proba(self, X):
        """scikit-learn's layout: an (n, 2) array of [P(classes_[0]), P(classes_[1])].

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            Features; a DataFrame's columns are matched to the model's by name.

        Returns
        -------
        numpy.ndarray
            Shape (n, 2); rows sum to 1.

        Examples
        --------
        >>> X = pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5], "z": [1.0, 0, 1, 1, 0, 0]})
        >>> y = [0, 0, 1, 0, 1, 1]
        >>> m = churn.LogisticRegression().fit(X, y)
        >>> m.predict_proba(X).shape
        (6, 2)
        """
        pr = self._predict(X)[0]
        return np.column_stack([1.0 - pr, pr])

    def predict(self, X, threshold=0.5):
        """Predicted labels: classes_[1] when P(classes_[1]) >= threshold, else classes_[0].

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            Features (a DataFrame's columns are matched to the model's by name).
        threshold : float, default 0.5
            Probability from which the positive class is predicted.

        Returns
        -------
        pandas.Series or numpy.ndarray
            Labels taken from ``classes_`` (0/1 for 0/1 training labels, 'yes'/'no' for
            string labels), a Series named 'churned' for a DataFrame.

        Examples
        --------
        >>> X = pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5]})
        >>> y = ["no", "no", "yes", "no", "yes", "yes"]
        >>> m = churn.LogisticRegression().fit(X, y)
        >>> list(m.predict(X))
        ['no', 'no', 'no', 'yes', 'yes', 'yes']
        """
        pr = self._predict(X)[0]
        classes = self.classes_
        return self._wrap_rows(classes[(pr >= threshold).astype(np.int64)], X, "churned")

    @property
    def classes_(self):
        """The two class labels, sorted; the positive class (P(churn)) is ``classes_[1]``.

        [0, 1] for 0/1 labels and for a model loaded from a file (model files keep no
        labels)."""
        return self.__dict__.get("classes_", _BINARY)

    @classes_.setter
    def classes_(self, value):
        self.__dict__["classes_"] = np.asarray(value)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of :meth:`predict` on (X, y), as scikit-learn's classifiers.

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            Features.
        y : array_like
            True labels, of the same kind as the training labels.
        sample_weight : array_like, optional
            Weights of the rows.

        Returns
        -------
        float
            The (weighted) share of rows whose predicted label equals `y`.

        Examples
        --------
        >>> X = pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5]})
        >>> y = [0, 0, 1, 0, 1, 1]
        >>> round(churn.LogisticRegression().fit(X, y).score(X, y), 4)
        0.6667
        """
        pred = np.asarray(self.predict(X))
        truth = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
        if truth.shape[0] != pred.shape[0]:
            raise ValueError(f"y: length {truth.shape[0]} does not match the "
                             f"{pred.shape[0]} rows of X")
        hit = (pred == truth).astype(np.float64)
        if sample_weight is None:
            return float(np.mean(hit))
        w = as_f64(sample_weight, "sample_weight", hit.shape[0])
        return float(np.sum(w * hit) / np.sum(w))

    def decision_function(self, X):
        """The linear predictor (log-odds of the positive class) per row.

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            Features; a DataFrame's columns are matched to the model's by name.

        Returns
        -------
        pandas.Series or numpy.ndarray
            Log-odds, a Series named 'linear_predictor' for a DataFrame.

        Examples
        --------
        >>> X = pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5], "z": [1.0, 0, 1, 1, 0, 0]})
        >>> y = [0, 0, 1, 0, 1, 1]
        >>> m = churn.LogisticRegression().fit(X, y)
        >>> bool((m.decision_function(X) > 0).equals(m.predict_churn(X) > 0.5))
        True
        """
        return self._wrap_rows(self._predict(X)[1], X, "linear_predictor")

    linear_predictor = decision_function

    def contributions(self, X):
        """Per-customer explanations: b_j * (x_ij - training mean_j), one column per feature.

        ``df.attrs['baseline']`` is the log-odds of the average training customer;
        baseline + row sum = linear predictor.

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            Features; a DataFrame's columns are matched to the model's by name.

        Returns
        -------
        pandas.DataFrame
            One column per feature.

        Examples
        --------
        >>> X = pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5], "z": [1.0, 0, 1, 1, 0, 0]})
        >>> y = [0, 0, 1, 0, 1, 1]
        >>> m = churn.LogisticRegression().fit(X, y)
        >>> c = m.contributions(X)
        >>> np.allclose(c.sum(axis=1) + c.attrs["baseline"], m.decision_function(X))
        True
        """
        import pandas as pd
        h, (x, n, p, layout, ld, _) = self._x(X)
        out = np.empty((n, p))
        base = c_double()
        check(_contrib(h, ptr(x), n, p, layout, ld, out.ctypes.data_as(_d),
                       ctypes.byref(base)))
        df = pd.DataFrame(out, columns=self.feature_names_,
                          index=X.index if hasattr(X, "index") else None)
        df.attrs["baseline"] = base.value
        return df

    def explain(self, X, top=3):
        """The `top` features raising each customer's churn log-odds the most.

        Positive contributions only, as `churn predict --explain` lists them.

        Parameters
        ----------
        X : pandas.DataFrame or array_like
            Features; a DataFrame's columns are matched to the model's by name.
        top : int, default 3
            Number of reasons per customer.

        Returns
        -------
        pandas.DataFrame
            Columns reason_1, contribution_1, ... (None/NaN where fewer reasons).

        Examples
        --------
        >>> X = pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5], "z": [1.0, 0, 1, 1, 0, 0]})
        >>> y = [0, 0, 1, 0, 1, 1]
        >>> m = churn.LogisticRegression().fit(X, y)
        >>> m.explain(X, top=1)["reason_1"].tolist()
        [None, 'z', None, 'x', 'x', 'x']
        """
        import pandas as pd
        c = self.contributions(X)
        vals = c.to_numpy()
        names = np.array(c.columns, dtype=object)
        order = np.argsort(-vals, axis=1, kind="stable")[:, :top]
        out = {}
        for k in range(min(top, vals.shape[1])):
            v = vals[np.arange(vals.shape[0]), order[:, k]]
            ok = v > 0
            out[f"reason_{k + 1}"] = np.where(ok, names[order[:, k]], None)
            out[f"contribution_{k + 1}"] = np.where(ok, v, np.nan)
        return pd.DataFrame(out, index=c.index)

    def predict_frame(self, data):
        """Scores as `churn predict` writes them: p_churn, linear_predictor.

        Parameters
        ----------
        data : pandas.DataFrame
            Customers with the model's feature columns.

        Returns
        -------
        pandas.DataFrame
            p_churn and linear_predictor, indexed like `data`.

        Examples
        --------
        >>> X = pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5], "z": [1.0, 0, 1, 1, 0, 0]})
        >>> y = [0, 0, 1, 0, 1, 1]
        >>> m = churn.LogisticRegression().fit(X, y)
        >>> list(m.predict_frame(X).columns)
        ['p_churn', 'linear_predictor']
        """
        import pandas as pd
        pr, eta = self._predict(data)
        return pd.DataFrame({"p_churn": pr, "linear_predictor": eta}, index=data.index)

    # ---- reports ----
    @property
    def coef_(self):
        """Feature coefficients (original scale), shape (p,), as scikit-learn's ``coef_[0]``."""
        return self.params_.to_numpy()[1:]

    @property
    def intercept_(self):
        """The intercept (0 when fitted without one)."""
        return float(self.params_.to_numpy()[0])

    @property
    def fit_summary_(self):
        """The fit-level report (churn_logit_summary) as a dict: deviance, null_deviance, aic, ...
        """
        s = LogitSummary()
        s.struct_size = ctypes.sizeof(LogitSummary)
        check(_summary_get(self._require(), ctypes.byref(s)))
        out = {}
        for f, _t in LogitSummary._fields_[1:]:
            out[f.rstrip("_") if f == "lambda_" else f] = getattr(s, f)
        out["penalty"] = _PENALTY_NAMES.get(out["penalty"], out["penalty"])
        for k in ("intercept", "standardize", "converged", "separated"):
            out[k] = bool(out[k])
        return out

    @property
    def summary(self):
        """Coefficient table: estimate, se, z, p, 95% interval, odds ratio with its interval (NaN
        statistics for penalised fits).
        """
        import pandas as pd
        h = self._require()
        rows = []
        for i in range(_lib.churn_model_num_params(h)):
            t = LogitTerm()
            t.struct_size = ctypes.sizeof(LogitTerm)
            check(_term_get(h, i, ctypes.byref(t)))
            z = 1.959963984540054
            rows.append({"estimate": t.estimate, "se": t.std_error, "z": t.z, "p": t.p_value,
                         "lower 95%": t.estimate - z * t.std_error,
                         "upper 95%": t.estimate + z * t.std_error,
                         "odds_ratio": t.odds_ratio, "odds_ratio lower 95%": t.odds_ratio_low,
                         "odds_ratio upper 95%": t.odds_ratio_high})
        return pd.DataFrame(rows, index=pd.Index(self.param_names, name="parameter"))

    def plot(self, columns=None, odds_ratios=False, ax=None, **errorbar_kwargs):
        """Coefficients with 95% confidence intervals (x axis "log(OR) (95% CI)").

        See :func:`churn.plot_coefficients`; the intercept is left out.

        Parameters
        ----------
        columns : list of str, optional
            Features to show (default all).
        odds_ratios : bool, default False
            Odds ratios on a log axis ("OR (95% CI)").
        ax : matplotlib.axes.Axes, optional
            Axes to draw on.
        **errorbar_kwargs
            Passed to ``Axes.errorbar``.

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> X = pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5], "z": [1.0, 0, 1, 1, 0, 0]})
        >>> m = churn.LogisticRegression().fit(X, [0, 0, 1, 0, 1, 1])
        >>> m.plot(odds_ratios=True).get_xlabel()
        'OR (95% CI)'
        """
        from ._coefplot import plot_coefficients
        return plot_coefficients(self, ax=ax, columns=columns, hazard_ratios=odds_ratios,
                                 **errorbar_kwargs)

    def _repr_html_(self):
        if not getattr(self, "_h", None):
            return "<p>LogisticRegression: not fitted</p>"
        s = self.fit_summary_
        head = (f"<p><b>LogisticRegression</b> (penalty {s['penalty']}"
                f"{'' if s['penalty'] == 'none' else ', lambda %.4g' % s['lambda']}) &mdash; "
                f"n = {s['nobs']:g}, deviance = {s['deviance']:.3f} (null "
                f"{s['null_deviance']:.3f}), AIC = {s['aic']:.3f}, "
                f"{'converged' if s['converged'] else '<b>not converged</b>'}</p>")
        note = self.note_
        if note:
            head += f"<p><i>{note}</i></p>"
        return head + self.summary.to_html(float_format=lambda v: f"{v:.6g}")


__all__ = ["LogisticRegression", "CrossValidation", "design_matrix"]
