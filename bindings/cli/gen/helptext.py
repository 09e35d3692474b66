"""Read the `churn` command's --help texts and take them apart.

Shared by gen_man.py (the man pages) and gen_completion.py (the bash completion),
which run at build time on the freshly built command, so that neither can drift
from what `churn ... --help` prints. Also imported by tests/install/test_install.py.

The help texts follow one layout (bindings/cli/*.c):

    usage: churn SUB ARGS                  first line; continuation lines indented
           ...
                                           blank line
    Paragraph text, unindented.
      preformatted lines (tables), indented

    Heading:                               unindented, ends with ':', followed by options
      --name ARG        description        option entries: indented at most 4, start with -
                        continuation       deeper-indented continuation lines
"""
import collections
import os
import re
import subprocess

Option = collections.namedtuple("Option", "spec desc")   # spec "-o, --output F", desc text
Block = collections.namedtuple("Block", "kind content")  # kind: para|pre|heading|options|break


def run(churn, *args):
    """Standard output of `churn ARGS`; raises when it fails."""
    env = dict(os.environ, LC_ALL="C")
    p = subprocess.run([churn, *args], capture_output=True, text=True, env=env, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"'churn {' '.join(args)}' exited {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def split_usage(text):
    """(usage lines without the 'usage: ' prefix, the remaining lines)."""
    lines = text.rstrip("\n").split("\n")
    if not lines or not lines[0].startswith("usage: "):
        raise ValueError(f"help text does not start with 'usage: ': {lines[:1]}")
    usage = [lines[0][len("usage: "):]]
    i = 1
    while i < len(lines) and lines[i].strip() and lines[i][0] == " ":
        # continuation lines are aligned under the text after 'usage: '
        pad = len("usage: ")
        usage.append(lines[i][pad:] if lines[i][:pad].isspace() else lines[i].strip())
        i += 1
    return usage, lines[i:]


def _is_option_line(line):
    indent = len(line) - len(line.lstrip())
    return 0 < indent <= 4 and line.lstrip().startswith("-")


def _split_option(line, col):
    """(spec, first description text) of an option entry, the description starting at
    column col of the block when the line reaches it, else after the first run of two or
    more spaces, else none (the description is on the next lines)."""
    if (len(line) > col and line[col - 1] == " " and line[col] != " "
            and not line[col].startswith("-") and line[:col].strip()):
        return line[:col].strip(), line[col:].strip()
    m = re.match(r"^(\s*\S.*?\S)\s{2,}(\S.*)$", line)
    if m:
        return m.group(1).strip(), m.group(2).strip()
    return line.strip(), ""


def _option_column(lines):
    """The description column of a run of option entries: the most common start column
    of the text after a gap of two or more spaces."""
    cols = collections.Counter()
    for line in lines:
        m = re.match(r"^(\s*\S.*?\S)\s{2,}\S", line)
        if m:
            cols[m.end() - 1] += 1
    return cols.most_common(1)[0][0] if cols else 0


def parse_body(lines):
    """The blocks of a help text after its usage lines."""
    raw = []   # [kind, [lines]]; options hold [first line, continuation lines...]
    for j, line in enumerate(lines):
        if not line.strip():
            raw.append(["break", []])
            continue
        indent = len(line) - len(line.lstrip())
        last = raw[-1] if raw else None
        if indent == 0:
            nxt = lines[j + 1] if j + 1 < len(lines) else ""
            if line.endswith(":") and _is_option_line(nxt):
                raw.append(["heading", [line[:-1]]])
            elif last and last[0] == "para":
                last[1].append(line)
            else:
                raw.append(["para", [line]])
        elif _is_option_line(line) and not (last and last[0] == "pre"):
            raw.append(["option", [line]])
        elif last and last[0] == "option" and indent > len(last[1][0]) - len(last[1][0].lstrip()):
            last[1].append(line)
        elif last and last[0] == "pre":
            last[1].append(line)
        else:
            raw.append(["pre", [line]])

    blocks = []
    i = 0
    while i < len(raw):
        kind, content = raw[i]
        if kind != "option":
            if kind == "para":
                blocks.append(Block("para", " ".join(s.strip() for s in content)))
            elif kind == "pre":
                pad = min(len(s) - len(s.lstrip()) for s in content)
                blocks.append(Block("pre", [s[pad:].rstrip() for s in content]))
            elif kind == "heading":
                blocks.append(Block("heading", content[0]))
            elif blocks and blocks[-1].kind != "break":
                blocks.append(Block("break", None))
            i += 1
            continue
        run_ = []
        while i < len(raw) and raw[i][0] == "option":
            run_.append(raw[i][1])
            i += 1
        col = _option_column([entry[0] for entry in run_])
        opts = []
        for entry in run_:
            spec, first = _split_option(entry[0], col)
            desc = " ".join([first] + [s.strip() for s in entry[1:]]).strip()
            opts.append(Option(spec, desc))
        blocks.append(Block("options", opts))
    while blocks and blocks[-1].kind == "break":
        blocks.pop()
    return blocks


def option_names(spec):
    """[(name, takes_value)] of an option spec such as '-o, --output F' or '--r --alpha'."""
    tokens = [t for t in re.split(r"[\s,]+", spec) if t]
    out = []
    for k, t in enumerate(tokens):
        if re.match(r"^--?[A-Za-z]", t):
            value = k + 1 < len(tokens) and not tokens[k + 1].startswith("-")
            out.append([t.split("=")[0], value])
    # a short alias written first ('-o, --output F') takes the value of its long name
    for k in range(len(out) - 1):
        if re.match(r"^-[A-Za-z]$", out[k][0]) and out[k + 1][0].startswith("--"):
            out[k][1] = out[k + 1][1]
    return [tuple(o) for o in out]


def options_of(text):
    """Every option name of a help text, in order, and the set of those taking a value."""
    names, valued = [], set()
    for block in parse_body(split_usage(text)[1]):
        if block.kind == "options":
            for opt in block.content:
                for name, value in option_names(opt.spec):
                    if name not in names:
                        names.append(name)
                    if value:
                        valued.add(name)
    return names, valued


def commands(top_help):
    """[(name, summary)] of the 'commands:' list of `churn --help`."""
    out, inside = [], False
    for line in top_help.split("\n"):
        if line.strip() == "commands:":
            inside = True
        elif inside:
            m = re.match(r"^  (\S+)\s{2,}(\S.*)$", line)
            if not m:
                break
            out.append((m.group(1), m.group(2)))
    if not out:
        raise ValueError("no 'commands:' list in 'churn --help'")
    return out


def families(fit_help):
    """The model families listed by `churn fit --help` ('FAMILY: a b c')."""
    m = re.search(r"^FAMILY:\s*(.+)$", fit_help, re.M)
    if not m:
        raise ValueError("no 'FAMILY:' line in 'churn fit --help'")
    return re.sub(r"\([^)]*\)", " ", m.group(1)).split()   # '(or alias)' notes dropped


def grouped(pairs):
    """[(keys, text)] from [(key, text)]: keys sharing one text together, in first order."""
    groups = collections.OrderedDict()
    for key, text in pairs:
        groups.setdefault(text, []).append(key)
    return [(keys, text) for text, keys in groups.items()]


class Help:
    """Every help text of the command: the top level, each subcommand, `churn fit FAMILY`
    per family and `churn predict MODEL` per family (with the model files
    golden_v1_FAMILY.json of models_dir; a family without one is left out)."""

    def __init__(self, churn, models_dir=None):
        self.top = run(churn, "--help")
        self.version = run(churn, "--version").strip().split()[-1]
        self.commands = commands(self.top)
        self.sub = {name: run(churn, name, "--help") for name, _ in self.commands}
        self.families = families(self.sub["fit"])
        self.fit = grouped([(f, run(churn, "fit", f, "--help")) for f in self.families])
        pred = []
        for f in self.families:
            model = os.path.join(models_dir or "", f"golden_v1_{f}.json")
            if models_dir and os.path.exists(model):
                pred.append((f, run(churn, "predict", model, "--help")))
        self.predict = grouped(pred)
