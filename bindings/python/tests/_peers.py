"""Import lifetimes and lifelines from ../shared/peers for side-by-side tests.

The peer source trees run on Debian's numpy/scipy/pandas; lifelines imports formulaic
(for its formula interface only), whose own dependencies (wrapt, typing_extensions)
Debian's base Python may lack: when the real formulaic does not import, an empty
stand-in module is used, which is enough for every call these tests make (no
formulas). Tests skip with a message when the folder or a peer is absent.
"""
import importlib
import os
import sys
import types

import pytest

_DIRS = ("lifetimes", "autograd", "dill", "lifelines", "agamma", "formulaic", "imeta")


def peers_dir(shared_data):
    return os.environ.get("CHURN_SHARED_PEERS") or os.path.join(
        os.path.dirname(os.path.abspath(shared_data)), "peers")


def import_peer(shared_data, name):
    """The peer package `name` ('lifetimes' or 'lifelines'), or skip."""
    peers = peers_dir(shared_data)
    if not os.path.isdir(os.path.join(peers, name)):
        pytest.skip(f"peer library {name} is absent from {peers} (see its README.md)")
    for d in _DIRS:
        p = os.path.join(peers, d)
        if os.path.isdir(p) and p not in sys.path:
            sys.path.append(p)
    if name == "lifelines" and "formulaic" not in sys.modules:
        try:
            importlib.import_module("formulaic")
        except ImportError:
            for k in [k for k in sys.modules if k.startswith("formulaic")]:
                del sys.modules[k]
            stub = types.ModuleType("formulaic")

            class _NoFormulas:  # isinstance() checks fail; building one says why
                def __init__(self, *a, **k):
                    raise ImportError("formulaic is not importable here: lifelines' "
                                      "formula= interface is unavailable in these tests")

            stub.ModelSpec = stub.Formula = _NoFormulas
            sys.modules["formulaic"] = stub
    try:
        return __import__(name)
    except ImportError as e:
        pytest.skip(f"peer library {name} from {peers} does not import here: {e}")
