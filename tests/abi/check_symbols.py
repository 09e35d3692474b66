#!/usr/bin/env python3
"""ABI check: the exported symbols of libchurn.so, the linker version script and
the public header declarations must be the same set, every name must carry the
churn_ prefix, and every export must sit under a CHURN_<major>.<minor> node.

usage: check_symbols.py LIBCHURN_SO VERSION_SCRIPT INCLUDE_DIR
"""
import re
import subprocess
import sys
from pathlib import Path


def exports(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        kind, name = parts[1], parts[2]
        if kind in ("A",):          # version node markers (CHURN_1.0)
            continue
        base, _, ver = name.partition("@")
        # a symbol may exist in several versions (foo@CHURN_1.0 and the
        # default foo@@CHURN_1.1, see docs/abi.md): keep them all
        syms.setdefault(base, set()).add(ver.lstrip("@"))
    return syms


def version_script(path):
    text = Path(path).read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"#[^\n]*", "", text)
    nodes = {}
    for m in re.finditer(r"(CHURN_[0-9]+\.[0-9]+)\s*\{(.*?)\}\s*[A-Z0-9_.]*\s*;", text, re.S):
        node, body = m.group(1), m.group(2)
        g = re.search(r"global:(.*?)(local:|$)", body, re.S)
        names = re.findall(r"([A-Za-z_][A-Za-z0-9_*]*)\s*;", g.group(1) if g else "")
        nodes[node] = names
    return nodes


def header_decls(include_dir):
    decls = set()
    for h in sorted(Path(include_dir).rglob("*.h")):
        text = re.sub(r"/\*.*?\*/", "", h.read_text(), flags=re.S)
        text = re.sub(r"//[^\n]*", "", text)
        for m in re.finditer(r"\bCHURN_API\b([^;{]*?)\b(churn_[A-Za-z0-9_]+)\s*\(", text):
            decls.add(m.group(2))
    return decls


def main():
    lib, script, include_dir = sys.argv[1:4]
    bad = []
    exp = exports(lib)
    nodes = version_script(script)
    listed = {n: node for node, names in nodes.items() for n in names}
    decls = header_decls(include_dir)

    for name, vers in sorted(exp.items()):
        if not name.startswith("churn_"):
            bad.append(f"exported symbol without the churn_ prefix: {name}")
        for ver in sorted(vers):
            if not re.fullmatch(r"CHURN_[0-9]+\.[0-9]+", ver or ""):
                bad.append(f"exported symbol {name} has no CHURN_x.y version (got '{ver}')")
            elif ver not in nodes:
                bad.append(f"{name}@{ver}: no node {ver} in the version script")
    wild = [n for n in listed if "*" in n]
    if wild:
        bad.append(f"version script uses wildcards {wild}: list every symbol explicitly")
    for name in sorted(set(exp) - set(listed)):
        bad.append(f"exported but not in the version script: {name}")
    for name in sorted(set(listed) - set(exp) - set(wild)):
        bad.append(f"in the version script but not exported: {name}")
    for name in sorted(set(exp) - decls):
        bad.append(f"exported but not declared with CHURN_API in include/: {name}")
    for name in sorted(decls - set(exp)):
        bad.append(f"declared CHURN_API in include/ but not exported: {name}")
    def key(v):
        return tuple(int(x) for x in re.findall(r"[0-9]+", v))
    for name, vers in exp.items():
        # the script lists a symbol under the node that first exported it; later
        # versions of the same symbol (.symver in the source) add newer nodes
        first = min(vers, key=key) if all(re.fullmatch(r"CHURN_[0-9]+\.[0-9]+", v)
                                           for v in vers) else None
        if name in listed and first and listed[name] != first:
            bad.append(f"{name} first exported as {first} but listed under {listed[name]}")
    versioned = sorted(n for n, v in exp.items() if len(v) > 1)

    if bad:
        print("\n".join(bad))
        print(f"FAIL: {len(bad)} ABI problem(s)")
        return 1
    print(f"OK: {len(exp)} exported symbols = version script = header declarations, "
          f"all churn_* under {sorted(set().union(*exp.values()))}; in several versions: "
          f"{versioned or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
