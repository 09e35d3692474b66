"""The scikit-learn estimator protocol (get_params/set_params) without importing sklearn.

Every model class of the package inherits :class:`EstimatorMixin`: its constructor
arguments are stored as attributes under their own names, ``get_params`` reads them
back and ``set_params`` writes them, which is the contract ``sklearn.base.clone``,
``GridSearchCV`` and ``Pipeline`` rely on. scikit-learn is never imported here.
"""
import inspect

BUSY_ROWS = 200_000  # fits over more rows than this show elapsed-time feedback


def fit_feedback(model, n, progress):
    """The progress context of a fit over `n` rows: churn._progress.Busy when n is
    above BUSY_ROWS (or progress=True), quiet otherwise."""
    from . import _progress
    show = progress if (n > BUSY_ROWS or progress) else False
    return _progress.Busy(f"fitting {type(model).__name__} on {n:,} rows", show)


class EstimatorMixin:
    """get_params/set_params from the constructor's signature (scikit-learn's contract)."""

    @classmethod
    def _get_param_names(cls):
        init = cls.__init__
        if init is object.__init__:
            return []
        try:
            sig = inspect.signature(init)
        except (TypeError, ValueError):  # pragma: no cover
            return []
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind not in (p.VAR_POSITIONAL,
                                                             p.VAR_KEYWORD))

    @classmethod
    def _param_defaults(cls):
        try:
            sig = inspect.signature(cls.__init__)
        except (TypeError, ValueError):  # pragma: no cover
            return {}
        return {p.name: p.default for p in sig.parameters.values()
                if p.default is not p.empty}

    def get_params(self, deep=True):
        """The constructor arguments of this estimator (scikit-learn's protocol).

        Parameters
        ----------
        deep : bool, default True
            Accepted for scikit-learn's signature; no parameter of a libchurn model is
            itself an estimator, so deep and shallow results are the same.

        Returns
        -------
        dict
            Argument name -> current value (a model loaded from a file reports the
            constructor defaults).

        Examples
        --------
        >>> churn.LogisticRegression(penalty="l2", C=0.5).get_params()["C"]
        0.5
        """
        defaults = self._param_defaults()
        return {name: getattr(self, name, defaults.get(name))
                for name in self._get_param_names()}

    def set_params(self, **params):
        """Set constructor arguments by name (scikit-learn's protocol); returns self.

        The new values apply at the next ``fit``; a fitted model keeps its fit until
        then.

        Parameters
        ----------
        **params
            Argument name -> value, names as in :meth:`get_params`.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            A name that is not a constructor argument (the message lists the valid
            ones), or a value the constructor would refuse.

        Examples
        --------
        >>> m = churn.LogisticRegression().set_params(penalty="l2", C=2.0)
        >>> m.penalty, m.C
        ('l2', 2.0)
        """
        valid = self._get_param_names()
        for name in params:
            if name not in valid:
                raise ValueError(f"invalid parameter '{name}' for {type(self).__name__}; "
                                 f"valid parameters are: {', '.join(valid) or 'none'}")
        old = {k: getattr(self, k, None) for k in params}
        for name, value in params.items():
            setattr(self, name, value)
        check = getattr(self, "_validate_params", None)
        if check is not None:
            try:
                check()
            except Exception:
                for name, value in old.items():
                    setattr(self, name, value)
                raise
        return self


__all__ = ["EstimatorMixin"]
