"""Progress feedback for long steps (tables, fits over many customers, model comparisons).

A bar appears only when a step runs longer than ``delay`` seconds (1.5 by default), so
short calls stay quiet; in a notebook it is tqdm's widget bar when ipywidgets is there,
otherwise text on stderr. ``progress=False`` silences it, ``progress=True`` shows it at
once. Without tqdm (Debian's python3-tqdm) nothing is shown. The library itself never
prints: this is the Python binding's own feedback, on stderr, never stdout.
"""
import threading
import time

DELAY = 1.5


def _tqdm():
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is optional
        return None
    return tqdm


class _Quiet:
    def update(self, n=1):
        pass

    def set_postfix_str(self, s):
        pass

    def close(self):
        pass


class Steps:
    """A bar over ``total`` known steps (models compared, chunks read, partitions).

    Use as a context manager; the object it gives has tqdm's ``update(n=1)``,
    ``set_postfix_str(s)`` and ``close()`` (they do nothing when no bar is shown).

    Parameters
    ----------
    total : int or None
        The number of steps (None: unknown, a counter without a bar).
    desc : str
        What the steps are, shown before the bar ("fitting models").
    progress : bool or None, default None
        The ``progress=`` argument of the public call: None shows the bar only when
        the step outlasts ``DELAY`` seconds (1.5), True shows it at once, False
        never; without tqdm nothing is shown.
    unit : str, default "step"
        The name of one step in the rate ("model", "chunk").

    Examples
    --------
    >>> from churn._progress import Steps
    >>> with Steps(3, "fitting models", progress=False, unit="model") as bar:
    ...     for family in ("bgnbd", "pnbd", "logit"):
    ...         bar.update()
    """

    def __init__(self, total, desc, progress=None, unit="step"):
        tq = _tqdm() if progress is not False else None
        if tq is None:
            self._bar = _Quiet()
        else:
            self._bar = tq(total=total, desc=desc, unit=unit, leave=False,
                           delay=0 if progress else DELAY)

    def __enter__(self):
        return self._bar

    def __exit__(self, *exc):
        self._bar.close()
        return False


class Busy:
    """Elapsed-time feedback around one long call into C that reports no steps.

    A tqdm line counting seconds, refreshed from a daemon thread (the C call runs
    with the GIL released), shown only if the call outlasts ``DELAY`` seconds and
    removed when it returns.

    Parameters
    ----------
    desc : str
        What is running ("fitting BG/NBD on 1,000,000 customers").
    progress : bool or None, default None
        As for :class:`Steps`: None after ``DELAY`` seconds, True at once, False never.

    Examples
    --------
    >>> from churn._progress import Busy
    >>> with Busy("building the customer table", progress=False):
    ...     total = sum(range(1000))
    >>> total
    499500
    """

    def __init__(self, desc, progress=None):
        self._desc = desc
        self._tq = _tqdm() if progress is not False else None
        self._delay = 0 if progress else DELAY
        self._stop = threading.Event()
        self._thread = None

    def _run(self):
        if self._stop.wait(self._delay):
            return
        bar = self._tq(desc=self._desc, total=None, unit="s", leave=False,
                       bar_format="{desc}: {elapsed}")
        t0 = time.monotonic()
        while not self._stop.wait(0.5):
            bar.n = int(time.monotonic() - t0)
            bar.refresh()
        bar.close()

    def __enter__(self):
        if self._tq is not None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return False
