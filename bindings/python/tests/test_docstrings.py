"""Every public name of the package has a numpydoc docstring whose Examples run.

Walks ``churn.__all__`` (and ``churn.plotting.__all__``, ``churn.dask.__all__`` where
those import): each function, class, public method and property must have a docstring
that numpydoc parses, with a summary line; callables with parameters list every one of
them under ``Parameters``; functions and methods have ``Returns`` (or ``Yields``), and
functions, classes and methods have an ``Examples`` section whose doctest runs and
passes (examples use ``churn``, ``np`` and ``pd`` and build their own data).

``PENDING`` lists modules whose docstrings are still being written in a round; it is
empty now (every public module is checked) and must be empty again when a round lands
(checked at merge time).
"""
import doctest
import importlib
import inspect

import numpy as np
import pandas as pd
import pytest

import churn

try:
    from numpydoc.docscrape import NumpyDocString
except ImportError:  # pragma: no cover
    NumpyDocString = None

PENDING = set()  # no module is exempt: every public name is checked


def _public_objects():
    seen = set()
    spaces = [("churn", churn)]
    for extra in ("churn.plotting", "churn.dask"):
        try:
            spaces.append((extra, importlib.import_module(extra)))
        except ImportError:
            pass
    for space_name, space in spaces:
        for name in getattr(space, "__all__", []):
            if name.startswith("__"):
                continue
            obj = getattr(space, name)
            yield from _walk(f"{space_name}.{name}", obj, seen)


def _walk(qual, obj, seen):
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if inspect.isclass(obj):
        yield qual, obj, "class"
        for attr, member in inspect.getmembers(obj):
            if attr.startswith("_"):
                continue
            raw = inspect.getattr_static(obj, attr)
            owner = next((k for k in obj.__mro__ if attr in vars(k)), None)
            if owner is None or not owner.__module__.startswith("churn"):
                continue  # inherited from object, ctypes, Exception ...
            if isinstance(raw, property):
                if id(raw) not in seen:
                    seen.add(id(raw))
                    yield f"{qual}.{attr}", raw, "property"
            elif inspect.isfunction(member) or inspect.ismethod(member) or \
                    isinstance(raw, (staticmethod, classmethod)):
                fn = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
                if id(fn) not in seen:
                    seen.add(id(fn))
                    yield f"{qual}.{attr}", fn, "method"
    elif callable(obj):
        yield qual, obj, "function"


def _module_of(obj):
    if isinstance(obj, property):
        obj = obj.fget
    return getattr(obj, "__module__", "") or ""


OBJECTS = [o for o in _public_objects() if _module_of(o[1]) not in PENDING]


def _params(obj, kind):
    fn = obj.__init__ if kind == "class" else obj
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    out = []
    for p in sig.parameters.values():
        if p.name in ("self", "cls"):
            continue
        if p.kind is p.VAR_POSITIONAL:
            out.append("*" + p.name)
        elif p.kind is p.VAR_KEYWORD:
            out.append("**" + p.name)
        else:
            out.append(p.name)
    return out


@pytest.mark.skipif(NumpyDocString is None, reason="numpydoc is not installed "
                    "(Debian: python3-numpydoc)")
@pytest.mark.parametrize("qual,obj,kind", OBJECTS, ids=[o[0] for o in OBJECTS])
def test_numpydoc(qual, obj, kind):
    doc = inspect.getdoc(obj.fget if kind == "property" else obj)
    assert doc, f"{qual}: no docstring"
    parsed = NumpyDocString(doc)
    assert parsed["Summary"], f"{qual}: no summary line"
    if kind in ("function", "method", "class"):
        documented = set()
        for p in parsed["Parameters"] + parsed["Other Parameters"]:
            for n in p.name.split(","):
                documented.add(n.strip().lstrip("*"))
        missing = [p for p in _params(obj, kind) if p.lstrip("*") not in documented]
        assert not missing, f"{qual}: parameters not under 'Parameters': {missing}"
    if kind in ("function", "method"):
        assert parsed["Returns"] or parsed["Yields"], f"{qual}: no 'Returns' section"
    if kind in ("function", "method", "class"):
        assert parsed["Examples"], f"{qual}: no 'Examples' section"


@pytest.mark.parametrize("qual,obj,kind", [o for o in OBJECTS if o[2] != "property"],
                         ids=[o[0] for o in OBJECTS if o[2] != "property"])
def test_examples_run(qual, obj, kind, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    finder = doctest.DocTestFinder(recurse=False)
    tests = finder.find(obj, qual, globs={"churn": churn, "np": np, "pd": pd})
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS
                                   | doctest.NORMALIZE_WHITESPACE)
    ran = 0
    for t in tests:
        ran += len(t.examples)
        runner.run(t)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{qual}: {result.failed} example(s) failed"
    if NumpyDocString is not None:
        assert ran > 0, f"{qual}: the Examples section has no '>>>' lines"


# Modules whose helpers (not in churn.__all__) carry numpydoc docstrings with examples
# too: their doctests run here so the examples cannot rot.
DOCTESTED_MODULES = ["churn._errors", "churn._units", "churn._dates", "churn._lib",
                     "churn._arrays", "churn._progress"]


@pytest.mark.parametrize("name", DOCTESTED_MODULES)
def test_module_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    result = doctest.testmod(module, extraglobs={"churn": churn, "np": np, "pd": pd},
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             report=True)
    assert result.failed == 0, f"{name}: {result.failed} example(s) failed"
    assert result.attempted > 0, f"{name}: no examples"
