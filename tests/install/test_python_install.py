"""The Python package installed the two documented ways, imported from outside the tree.

1. ``meson install --destdir STAGE``: the package lands in the site directory of the
   ``python`` option's interpreter inside STAGE, next to the library of the same
   install, and imports with PYTHONPATH = that site directory only (no CHURN_LIBRARY,
   no LD_LIBRARY_PATH, working directory outside the source tree), also after STAGE is
   moved elsewhere.
2. ``pip install --no-build-isolation --no-deps --target DIR .`` from a copy of the
   source tree (meson-python, pyproject.toml): DIR holds the package with its own
   libchurn.so.1 and nothing of the C install (command, headers, man pages).
3. ``pip install ./bindings/python`` stops with a message naming the command that works.
4. An installed package whose library is gone fails to import with a message that lists
   what was tried, in the user's terms (no path of the build tree).

Each installed copy fits BG/NBD on the same simulated log; its numbers must equal the
source tree's (same C code) and P(alive) must match the closed form of Fader, Hardie &
Lee (2005), eq. 12, at the fitted parameters. Run by the meson test 'python-install'.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

BUILD = os.environ.get("CHURN_BUILD_ROOT")
if not BUILD:
    pytest.skip("CHURN_BUILD_ROOT is not set; run through 'meson test'", allow_module_level=True)
SOURCE = os.environ["CHURN_SOURCE_ROOT"]
PY_DIR = os.environ.get("CHURN_PY_DIR")   # absolute site directory the package installs to

# Fit a model with whatever `churn` is importable and print what the test compares.
FIT = r"""
import json, os, sys
import churn
log = churn.simulate("bgnbd", customers=2000, seed=3, unit="week")
table = churn.customer_table(log, cutoff="1998-06-30", unit="week")
bg = churn.BGNBD().fit(table)
rows = table[table["frequency"] > 0].head(5)
print(json.dumps({
    "module": churn.__file__,
    "library": churn.library_path,
    "version": churn.__version__,
    "params": {k: float(v) for k, v in bg.params_.items()},
    "loglik": float(bg.loglik_),
    "rows": rows[["frequency", "recency", "T"]].to_numpy().tolist(),
    "p_alive": [float(p) for p in bg.p_alive(rows)],
}))
"""


def user_env(**extra):
    """A user's environment: none of the build tree's variables."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("CHURN_LIBRARY", "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONHOME")}
    env.update(LC_ALL="C", OPENBLAS_NUM_THREADS="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_NO_INPUT="1", **extra)
    return env


def run(args, cwd, env=None, check=True):
    p = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=900,
                       env=env or user_env())
    if check:
        assert p.returncode == 0, f"{args} exited {p.returncode}:\n{p.stdout}\n{p.stderr}"
    return p


def fit_with(path_dir, cwd, **env):
    """Run FIT with PYTHONPATH = `path_dir` only, from `cwd`; returns its JSON."""
    out = run([sys.executable, "-c", FIT], cwd=cwd,
              env=user_env(PYTHONPATH=path_dir, **env)).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """FIT with the source tree's package and the build tree's library."""
    cwd = tmp_path_factory.mktemp("ref")
    return fit_with(os.path.join(SOURCE, "bindings", "python"), cwd,
                    CHURN_LIBRARY=os.path.join(BUILD, "lib", "libchurn.so.1"))


def check_fit(got, reference, root):
    """`got` came from the package and library under `root`, and agrees with the
    reference and with the closed form."""
    real = os.path.realpath(root) + os.sep
    assert os.path.realpath(got["module"]).startswith(real), got["module"]
    assert os.path.realpath(got["library"]).startswith(real), got["library"]
    assert got["version"] == reference["version"]
    assert got["params"] == reference["params"]
    assert got["loglik"] == reference["loglik"]
    assert got["p_alive"] == reference["p_alive"]
    p = got["params"]
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    assert len(got["rows"]) == 5
    for (x, tx, T), pa in zip(got["rows"], got["p_alive"]):
        # BG/NBD P(alive | x, t_x, T), x > 0 (Fader, Hardie & Lee 2005, eq. 12)
        closed = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x))
        assert abs(pa - closed) <= 1e-10 * closed, (x, tx, T, pa, closed)


def package_files(pkg):
    return sorted(f for f in os.listdir(pkg) if f.endswith(".py"))


SOURCE_MODULES = package_files(os.path.join(SOURCE, "bindings", "python", "churn"))


# ---- 1. meson install --------------------------------------------------------------

@pytest.fixture(scope="module")
def meson_stage(tmp_path_factory):
    if not os.environ.get("MESON"):
        pytest.skip("the meson command was not found")
    if not PY_DIR:
        pytest.skip("this build does not install the Python package "
                    "(python_package option, or no Python found)")
    root = tmp_path_factory.mktemp("meson") / "stage"
    run([os.environ["MESON"], "install", "-C", BUILD, "--destdir", str(root), "--quiet"],
        cwd=BUILD)
    return root


def staged_site(root):
    return os.path.join(str(root), PY_DIR.lstrip("/"))


def test_meson_install_puts_the_package_in_the_site_directory(meson_stage):
    pkg = os.path.join(staged_site(meson_stage), "churn")
    assert os.path.isdir(pkg), f"no package at {pkg}"
    assert package_files(pkg) == sorted(SOURCE_MODULES + ["_build_config.py"])
    assert not os.path.exists(os.path.join(pkg, "__pycache__"))
    assert not os.path.exists(os.path.join(pkg, "libchurn.so.1")), \
        "meson install shares the libdir's library, it does not copy it"


def test_meson_installed_package_imports_and_fits(meson_stage, reference, tmp_path):
    got = fit_with(staged_site(meson_stage), tmp_path)
    check_fit(got, reference, meson_stage)
    libdir = os.path.join(str(meson_stage), os.environ["CHURN_PREFIX"].lstrip("/"),
                          os.environ["CHURN_LIBDIR"])
    assert os.path.samefile(got["library"], os.path.join(libdir, "libchurn.so.1"))


def test_meson_install_survives_a_move(meson_stage, reference, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(str(meson_stage), str(moved), symlinks=True)
    got = fit_with(staged_site(moved), tmp_path)
    check_fit(got, reference, moved)


# ---- 2. pip install . ----------------------------------------------------------------

def copy_source(dest):
    """The source tree without build folders and VCS data (pip builds in place)."""
    everywhere = shutil.ignore_patterns(".git", "__pycache__", "*.pyc")
    at_top = shutil.ignore_patterns("build*", ".mesonpy*")   # build folders, pip's leftovers

    def skip(folder, names):
        out = everywhere(folder, names)
        if os.path.samefile(folder, SOURCE):
            out |= at_top(folder, names)
        return out

    shutil.copytree(SOURCE, dest, ignore=skip)
    return dest


@pytest.fixture(scope="module")
def pip_target(tmp_path_factory):
    try:
        import mesonpy  # noqa: F401
    except ImportError:
        pytest.skip("meson-python is not installed (Debian: python3-mesonpy)")
    if run([sys.executable, "-m", "pip", "--version"], cwd="/", check=False).returncode:
        pytest.skip("pip is not installed (Debian: python3-pip)")
    base = tmp_path_factory.mktemp("pip")
    src = copy_source(str(base / "src"))
    target = base / "site"
    run([sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps",
         "--no-index", "--no-cache-dir", "--target", str(target), "."], cwd=src)
    return target


def test_pip_installs_the_package_with_its_library_only(pip_target):
    pkg = os.path.join(str(pip_target), "churn")
    assert set(package_files(pkg)) == set(SOURCE_MODULES) | {"_build_config.py"}
    assert os.path.isfile(os.path.join(pkg, "libchurn.so.1"))
    top = sorted(n for n in os.listdir(str(pip_target)) if not n.endswith(".dist-info"))
    assert top == ["churn"], f"the wheel holds more than the package: {top}"


def test_pip_installed_package_imports_and_fits(pip_target, reference, tmp_path):
    got = fit_with(str(pip_target), tmp_path)
    check_fit(got, reference, pip_target)
    assert os.path.samefile(got["library"],
                            os.path.join(str(pip_target), "churn", "libchurn.so.1"))


def test_pip_install_of_the_python_folder_names_the_right_command(tmp_path):
    if run([sys.executable, "-m", "pip", "--version"], cwd="/", check=False).returncode:
        pytest.skip("pip is not installed (Debian: python3-pip)")
    src = copy_source(str(tmp_path / "src"))
    p = run([sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps",
             "--no-index", "--no-cache-dir", "--target", str(tmp_path / "site"),
             "./bindings/python"], cwd=src, check=False)
    assert p.returncode != 0
    out = p.stdout + p.stderr
    assert "pip install --no-build-isolation ." in out, out
    assert f"cd {src}" in out, out
    assert not (tmp_path / "site" / "churn").exists()


# ---- 4. the library is missing -------------------------------------------------------

def test_missing_library_error_lists_what_was_tried(pip_target, tmp_path):
    if subprocess.run(["sh", "-c", "ldconfig -p 2>/dev/null | grep -q 'libchurn.so.1 '"],
                      env=user_env()).returncode == 0:
        pytest.skip("libchurn.so.1 is installed system-wide: the loader would find it")
    site = tmp_path / "site"
    shutil.copytree(str(pip_target), str(site))
    os.remove(str(site / "churn" / "libchurn.so.1"))
    p = run([sys.executable, "-c", "import churn"], cwd=str(tmp_path),
            env=user_env(PYTHONPATH=str(site)), check=False)
    assert p.returncode != 0
    msg = p.stderr.strip().splitlines()
    text = p.stderr[p.stderr.index("ImportError"):]
    assert "cannot load libchurn.so.1, the C library of the churn package" in text, msg
    assert "CHURN_LIBRARY: not set" in text
    assert ("the copy installed with this package: "
            f"{site / 'churn' / 'libchurn.so.1'} does not exist") in text
    assert "the system's library search path" in text
    assert "pip install --no-build-isolation ." in text and "meson install" in text
    assert BUILD not in text and "build/lib" not in text

    # an explicit CHURN_LIBRARY that is wrong is reported as such, nothing else is loaded
    p = run([sys.executable, "-c", "import churn"], cwd=str(tmp_path),
            env=user_env(PYTHONPATH=str(site), CHURN_LIBRARY=str(tmp_path / "nope.so")),
            check=False)
    assert p.returncode != 0
    assert f"CHURN_LIBRARY: {tmp_path / 'nope.so'} does not exist" in p.stderr
