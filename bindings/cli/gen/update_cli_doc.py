#!/usr/bin/env python3
"""Refresh the --help blocks of docs/cli.md from the built command.

usage: update_cli_doc.py CHURN_EXE DOCS_CLI_MD [--check]

Each "## churn X" section's first fenced block is the output of `churn X --help` (the
first block of the page, before any section, is `churn --help`); prose around the blocks
is kept. With --check, nothing is written and the exit status is 1 when the page is out
of date (the `cli-doc` test), so the page cannot drift from the command.
"""
import re
import subprocess
import sys


def help_text(exe, args):
    p = subprocess.run([exe, *args, "--help"], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(['churn', *args])} --help exited {p.returncode}")
    return p.stdout.rstrip("\n") + "\n"


def refresh(exe, text):
    out, pos = [], 0
    # the page's first block: the top-level help
    sections = [(None, m.start(), m.group(1)) for m in re.finditer(r"^## churn (.+)$", text,
                                                                   re.M)]
    starts = [(0, [])] + [(s, name.split()) for _, s, name in sections]
    for k, (start, args) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(text)
        chunk = text[start:end]
        m = re.search(r"^```\n(.*?)^```\n", chunk, re.M | re.S)
        if m:
            chunk = chunk[:m.start(1)] + help_text(exe, args) + chunk[m.end(1):]
        out.append(chunk)
    return "".join(out)


def main():
    exe, path = sys.argv[1], sys.argv[2]
    check = "--check" in sys.argv[3:]
    text = open(path).read()
    new = refresh(exe, text)
    if check:
        if new != text:
            sys.stderr.write(f"{path} is out of date with the command's --help: run\n"
                             f"  {sys.argv[0]} {exe} {path}\n")
            return 1
        return 0
    if new != text:
        open(path, "w").write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
