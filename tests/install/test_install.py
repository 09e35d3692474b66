"""The `churn` command installed like a Unix tool (issue 20, item 9).

`meson install --destdir STAGE` of this build, then in STAGE/<prefix>: the man pages
churn(1) and churn-SUB(1) for every subcommand that the installed `churn --help` lists,
the bash completion, and the command and the Lua module running with no
LD_LIBRARY_PATH, also after the staged tree is moved elsewhere ($ORIGIN run paths).
Run by the meson test 'install' (suite cli), which sets the variables read below.
"""
import os
import re
import shutil
import subprocess

import pytest

BUILD = os.environ.get("CHURN_BUILD_ROOT")
if not BUILD:
    pytest.skip("CHURN_BUILD_ROOT is not set; run through 'meson test'", allow_module_level=True)
if not os.environ.get("MESON"):
    pytest.skip("the meson command was not found", allow_module_level=True)

PREFIX = os.environ["CHURN_PREFIX"]
VERSION = os.environ["CHURN_VERSION"]


def in_prefix(root, option):
    """STAGE/<prefix>/<dir of option> (the option may itself be absolute)."""
    d = os.path.join(PREFIX, os.environ[option])
    return os.path.join(root, d.lstrip("/"))


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    env.update(LC_ALL="C", **extra)
    return env


def run(args, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=300,
                       env=kw.pop("env", clean_env()), **kw)
    assert p.returncode == 0, f"{args} exited {p.returncode}:\n{p.stderr}"
    return p.stdout


@pytest.fixture(scope="module")
def stage(tmp_path_factory):
    """The install, staged and then moved: returns the new staging root."""
    first = tmp_path_factory.mktemp("stage") / "root"
    run([os.environ["MESON"], "install", "-C", BUILD, "--destdir", str(first), "--quiet"])
    moved = first.parent / "moved"
    shutil.move(str(first), str(moved))   # nothing may point back at the first place
    return str(moved)


@pytest.fixture(scope="module")
def churn(stage):
    exe = os.path.join(in_prefix(stage, "CHURN_BINDIR"), "churn")
    assert os.access(exe, os.X_OK), f"no installed command at {exe}"
    return exe


@pytest.fixture(scope="module")
def top_help(churn):
    return run([churn, "--help"])


def subcommands(top_help):
    """The subcommands listed by `churn --help` (an independent reading of the list)."""
    block = top_help.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.splitlines() if line.startswith("  ")]


def test_version(churn):
    assert run([churn, "--version"]) == f"churn (libchurn) {VERSION}\n"
    assert run([churn, "version"]) == f"churn (libchurn) {VERSION}\n"
    p = subprocess.run([churn, "version", "extra"], capture_output=True, text=True,
                       env=clean_env())
    assert p.returncode == 2 and "unexpected argument 'extra'" in p.stderr


def test_top_help_documents_version(top_help):
    assert "version" in subcommands(top_help)
    assert "--version" in top_help


def test_command_finds_its_library_in_the_stage(stage, churn):
    if not os.path.exists("/proc/self/maps"):
        pytest.skip("needs Linux (glibc's LD_TRACE_LOADED_OBJECTS)")
    out = run([churn], env=clean_env(LD_TRACE_LOADED_OBJECTS="1"))
    line = next(ln for ln in out.splitlines() if "libchurn.so" in ln)
    path = line.split("=>")[1].split("(")[0].strip()
    assert os.path.realpath(path).startswith(os.path.realpath(stage)), line


def test_run_paths_are_relative(stage, churn):
    readelf = shutil.which("readelf")
    if not readelf:
        pytest.skip("readelf is not installed")
    module = os.path.join(in_prefix(stage, "CHURN_LIBDIR"), "lua", "5.4", "churn.so")
    for f in [churn] + ([module] if os.environ.get("CHURN_LUA_MODULE") else []):
        dyn = run([readelf, "-d", f])
        paths = re.findall(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[(.*)\]", dyn)
        assert paths and paths[0].startswith("$ORIGIN"), (f, paths)
        assert BUILD not in dyn, f"{f} still points into the build tree"


def test_installed_command_gives_the_build_trees_results(churn, tmp_path):
    """simulate -> features -> fit -> predict with the installed command, byte for byte
    what the command of the build tree gives."""
    outs = {}
    for tag, exe in [("installed", churn), ("build", os.environ["CHURN_EXE"])]:
        d = tmp_path / tag
        d.mkdir()
        run([exe, "simulate", "--model", "bgnbd", "--customers", "2000", "--seed", "3",
             "--start", "2024-01-01", "--weeks", "52", "-o", str(d / "tx.csv")])
        run([exe, "features", str(d / "tx.csv"), "--cutoff", "2024-09-30", "--unit", "week",
             "-o", str(d / "customers.csv")])
        run([exe, "fit", "bgnbd", str(d / "customers.csv"), "-o", str(d / "bgnbd.json")])
        run([exe, "predict", str(d / "bgnbd.json"), str(d / "customers.csv"), "--horizon", "13",
             "-o", str(d / "scores.csv")])
        outs[tag] = [(d / f).read_bytes() for f in ["tx.csv", "customers.csv", "scores.csv"]]
    assert outs["installed"] == outs["build"]
    assert len(outs["installed"][2].splitlines()) > 1000


def test_man_pages(stage, churn, top_help):
    man1 = os.path.join(in_prefix(stage, "CHURN_MANDIR"), "man1")
    pages = ["churn"] + [f"churn-{s}" for s in subcommands(top_help)]
    for p in pages:
        assert os.path.isfile(os.path.join(man1, p + ".1")), f"{p}.1 is not installed"
    assert len(pages) >= 12
    groff = shutil.which("groff")
    if not groff:
        pytest.skip("groff is not installed: the pages are present, not rendered")
    for p in pages:
        r = subprocess.run([groff, "-man", "-Tascii", "-ww", os.path.join(man1, p + ".1")],
                           capture_output=True, text=True, env=clean_env())
        assert r.returncode == 0 and r.stderr == "", f"{p}.1: {r.stderr}"
        text = re.sub(r".\x08", "", r.stdout)   # drop overstriking (bold, underline)
        assert "NAME" in text and "SEE ALSO" in text
        if p == "churn":
            for s in subcommands(top_help):
                assert f"churn-{s}(1)" in text
            continue
        # every option of the subcommand's --help is in its page
        sub = p[len("churn-"):]
        helps = [run([churn, sub, "--help"])]
        if sub == "fit":
            fams = re.search(r"^FAMILY:\s*(.*)$", helps[0], re.M).group(1).split()
            helps += [run([churn, "fit", f, "--help"]) for f in fams]
        for h in helps:
            for opt in re.findall(r"^ {2,4}(--?[A-Za-z][\w-]*)", h, re.M):
                assert opt in text, f"{p}.1 lacks {opt}"


def test_man_renders_with_man(stage):
    man = shutil.which("man")
    if not man:
        pytest.skip("man is not installed")
    page = os.path.join(in_prefix(stage, "CHURN_MANDIR"), "man1", "churn-features.1")
    out = run([man, "-l", page], env=clean_env(MANWIDTH="100", MANPAGER="cat", PAGER="cat"))
    assert "churn-features - build the customer table" in out
    assert "--holdout-end DATE" in out


def complete(stage, words, cwd=None):
    """COMPREPLY of the installed completion for the command line `words` (the last
    word is the one being completed)."""
    comp = os.path.join(in_prefix(stage, "CHURN_DATADIR"), "bash-completion", "completions",
                        "churn")
    assert os.path.isfile(comp), "the bash completion is not installed"
    script = (f'source {shlex_quote(comp)}\n'
              f'COMP_WORDS=({" ".join(shlex_quote(w) for w in words)})\n'
              f'COMP_CWORD={len(words) - 1}\n'
              '_churn\nprintf "%s\\n" "${COMPREPLY[@]}"\n')
    out = run(["bash", "--norc", "--noprofile", "-c", script], cwd=cwd)
    return [w for w in out.split("\n") if w]


def shlex_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def test_completion_of_subcommands_and_families(stage, churn, top_help):
    if not shutil.which("bash"):
        pytest.skip("bash is not installed")
    subs = subcommands(top_help)
    assert set(complete(stage, ["churn", ""])) == set(subs) | {"--help", "--version"}
    assert complete(stage, ["churn", "fe"]) == ["features"]
    assert complete(stage, ["churn", "vers"]) == ["version"]
    fams = re.search(r"^FAMILY:\s*(.*)$", run([churn, "fit", "--help"]), re.M).group(1).split()
    assert set(complete(stage, ["churn", "fit", ""])) == set(fams) | {"--help"}
    assert complete(stage, ["churn", "fit", "logn"]) == ["lognormal"]


def test_completion_of_options(stage, churn, top_help):
    if not shutil.which("bash"):
        pytest.skip("bash is not installed")
    cases = [([s], run([churn, s, "--help"])) for s in subcommands(top_help)
             if s not in ("fit", "predict")]
    fams = re.search(r"^FAMILY:\s*(.*)$", run([churn, "fit", "--help"]), re.M).group(1).split()
    cases += [(["fit", f, "customers.csv"], run([churn, "fit", f, "--help"])) for f in fams]
    for words, helptext in cases:
        got = set(complete(stage, ["churn", *words, "-"]))
        listed = set(re.findall(r"^ {2,4}(--?[A-Za-z][\w-]*)", helptext, re.M))
        anywhere = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", helptext))
        assert listed <= got, (words, listed - got)
        assert got <= anywhere | {"--help"}, (words, got - anywhere)
    assert complete(stage, ["churn", "fit", "logit", "c.csv", "--pen"]) == ["--penalty"]
    assert complete(stage, ["churn", "features", "tx.csv", "--holdout"]) == ["--holdout-end"]
    # predict: the options of every family (the family is inside the model file)
    got = set(complete(stage, ["churn", "predict", "m.json", "c.csv", "--"]))
    assert {"--horizon", "--explain", "--output"} <= got


def test_completion_of_file_names(stage, tmp_path):
    if not shutil.which("bash"):
        pytest.skip("bash is not installed")
    (tmp_path / "tx_2024.csv").write_text("customer_id,date,amount\n")
    (tmp_path / "other.txt").write_text("")
    assert complete(stage, ["churn", "describe", "tx_"], cwd=tmp_path) == ["tx_2024.csv"]
    assert complete(stage, ["churn", "features", "tx_2024.csv", "-o", "ot"],
                    cwd=tmp_path) == ["other.txt"]
    assert complete(stage, ["churn", "fit", "bgnbd", "tx"], cwd=tmp_path) == ["tx_2024.csv"]


def test_lua_module_loads_from_the_stage(stage):
    lua = os.environ.get("CHURN_LUA")
    if not lua or not os.environ.get("CHURN_LUA_MODULE"):
        pytest.skip("Lua 5.4 or its module is not built")
    moddir = os.path.join(in_prefix(stage, "CHURN_LIBDIR"), "lua", "5.4")
    r, alpha, a, b, x, tx, T = 0.243, 4.414, 0.793, 2.426, 2, 30.43, 38.86
    code = f"""
local churn = require "churn"
local m = assert(churn.model("bgnbd", {{r = {r}, alpha = {alpha}, a = {a}, b = {b}}}))
local p = m:score({{frequency = {x}, recency = {tx}, T = {T}}}, 39)
print(churn.version)
print(string.format("%.17g", p))
for line in io.lines("/proc/self/maps") do
  if line:find("libchurn.so", 1, true) then print(line:match("(/%S+)$")) break end
end
"""
    out = run([lua, "-e", code], env=clean_env(LUA_CPATH=os.path.join(moddir, "?.so")))
    lines = out.splitlines()
    assert lines[0] == VERSION
    # BG/NBD P(alive) in closed form (Fader, Hardie & Lee 2005), x > 0
    p_alive = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x))
    assert abs(float(lines[1]) - p_alive) <= 1e-12 * p_alive
    if len(lines) > 2:   # Linux: the library mapped is the staged one
        assert os.path.realpath(lines[2]).startswith(os.path.realpath(stage)), lines[2]
