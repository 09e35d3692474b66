#!/usr/bin/env python3
"""Check that lib/ keeps the layout docs/architecture.md describes.

    check_layout.py SOURCE_ROOT OBJECTS_ARCHIVE [NM]
    check_layout.py --self-test

lib/ is grouped by stage of the data flow, and calls go down the stages only.
Two graphs are checked:

* the include graph of lib/'s private headers (from the ``#include "..."`` lines
  of every .c and .h file below lib/): a file may include headers of its own
  stage and of the stages below it, and the headers form no cycle;
* the bindings (bindings/) include no private header of lib/: they are
  programs over the public API like any other;
* the call graph between lib/'s source files, read from the compiled objects
  (``nm``: a symbol one object leaves undefined and another defines is a call
  from the first file to the second): a file may call its own stage and the
  stages below it, and no two files call each other, directly or through
  others (the graph is acyclic).

Every source file of lib/ must be in the archive, so a new file cannot escape
the check. Exit status 0 when every rule holds; 1 with one line per violation.
"""
import os
import re
import subprocess
import sys

# Which stages each stage may use (besides itself). Keep in step with
# docs/architecture.md ("Folder map").
ALLOWED = {
    "core": set(),
    "data": {"core"},
    "btyd": {"core"},
    "regression": {"core"},
    "survival": {"core"},
    "spend": {"core", "data", "btyd"},
    "evaluate": {"core", "data", "btyd", "regression", "survival", "spend"},
}

INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
DEFINED = set("TDBRVWG")  # nm classes of symbols an object defines (text, data, bss, ...)


def lib_files(lib):
    """Paths (relative to lib/) of every .c and .h file in a stage folder."""
    out = []
    for stage in sorted(os.listdir(lib)):
        d = os.path.join(lib, stage)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.endswith((".c", ".h")):
                out.append(stage + "/" + name)
    return out


def stage_of(rel):
    return rel.split("/", 1)[0]


def may_use(src_stage, dst_stage):
    return dst_stage == src_stage or dst_stage in ALLOWED.get(src_stage, set())


def cycles(graph):
    """One cycle (a list of nodes, first == last) inside each strongly connected
    component of `graph` (dict node -> set of nodes) that has more than one node."""
    index, low, on_stack, stack, comps = {}, {}, set(), [], []

    def strongconnect(v):  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(set(comp))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    out = []
    for comp in comps:
        # walk inside the component from its first node back to it (breadth first)
        start = min(comp)
        prev, frontier = {start: None}, [start]
        found = None
        while frontier and found is None:
            nxt = []
            for u in frontier:
                for w in sorted(graph.get(u, ())):
                    if w == start:
                        found = u
                        break
                    if w in comp and w not in prev:
                        prev[w] = u
                        nxt.append(w)
                if found is not None:
                    break
            frontier = nxt
        path = [start]
        u = found
        while u is not None and u != start:
            path.append(u)
            u = prev[u]
        out.append([start] + path[1:][::-1] + [start])
    return out


def check_stages(files, errors):
    known = set(ALLOWED)
    for rel in files:
        if stage_of(rel) not in known:
            errors.append(f"lib/{rel}: folder '{stage_of(rel)}' is not a stage "
                          f"(known: {', '.join(sorted(known))}); add it to ALLOWED and "
                          "docs/architecture.md")


def include_graph(lib, files, errors):
    graph = {}
    for rel in files:
        with open(os.path.join(lib, rel), encoding="utf-8") as f:
            text = f.read()
        deps = set()
        for inc in INCLUDE_RE.findall(text):
            here = os.path.normpath(os.path.join(os.path.dirname(rel), inc))
            if os.path.exists(os.path.join(lib, here)):
                target = here
            elif os.path.exists(os.path.join(lib, inc)):
                target = os.path.normpath(inc)
            else:
                continue  # a public header (include/) or a system header
            if not may_use(stage_of(rel), stage_of(target)):
                errors.append(f"lib/{rel} includes lib/{target}: stage '{stage_of(rel)}' "
                              f"may not use stage '{stage_of(target)}'")
            if target != rel:
                deps.add(target)
        graph[rel] = deps
    for cycle in cycles(graph):
        errors.append("include cycle: " + " -> ".join("lib/" + c for c in cycle))
    return graph


def check_bindings(root, lib, errors):
    """The bindings (bindings/**.c, .h) use the public API only: no private header of lib/."""
    headers = [f for f in lib_files(lib) if f.endswith(".h")]
    private = set(headers) | {os.path.basename(f) for f in headers}
    top = os.path.join(root, "bindings")
    for dirpath, _, names in os.walk(top):
        for name in sorted(names):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, name)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            for inc in INCLUDE_RE.findall(text):
                if os.path.exists(os.path.join(dirpath, inc)):
                    continue  # the binding's own header
                if os.path.normpath(inc) in private:
                    rel = os.path.relpath(path, root)
                    errors.append(f"{rel} includes \"{inc}\", a private header of lib/: "
                                  "bindings use the public API (include/) only")


def object_symbols(archive, nm):
    """{member: (defined set, undefined set)} for the churn symbols of each object."""
    out = subprocess.run([nm, "-A", archive], check=True, capture_output=True, text=True).stdout
    syms = {}
    for line in out.splitlines():
        # archive:member:ADDR CLASS NAME  or  archive:member:         U NAME
        head, _, rest = line.rpartition(":")
        member = head.split(":", 1)[1] if ":" in head else head
        parts = rest.split()
        if len(parts) < 2:
            continue
        cls, name = parts[-2], parts[-1]
        if not name.startswith("churn_"):
            continue
        d, u = syms.setdefault(os.path.basename(member), (set(), set()))
        if cls == "U":
            u.add(name)
        elif cls.upper() in DEFINED:
            d.add(name)
    return syms


def call_graph(files, archive, nm, errors):
    sources = [r for r in files if r.endswith(".c")]
    # meson names the object of lib/<stage>/<file>.c "<stage>_<file>.c.o"
    member_of = {r: r.replace("/", "_") + ".o" for r in sources}
    syms = object_symbols(archive, nm)
    for r in sources:
        if member_of[r] not in syms:
            errors.append(f"lib/{r}: no object {member_of[r]} in {archive} "
                          "(is it in its stage's meson.build?)")
    owner = {}
    for r in sources:
        for s in syms.get(member_of[r], (set(), set()))[0]:
            owner[s] = r
    graph = {r: set() for r in sources}
    why = {}
    for r in sources:
        for s in sorted(syms.get(member_of[r], (set(), set()))[1]):
            t = owner.get(s)
            if t is None or t == r:
                continue
            graph[r].add(t)
            why.setdefault((r, t), s)
    for (r, t), s in sorted(why.items()):
        if not may_use(stage_of(r), stage_of(t)):
            errors.append(f"lib/{r} calls {s} in lib/{t}: stage '{stage_of(r)}' may not use "
                          f"stage '{stage_of(t)}'")
    for cycle in cycles(graph):
        steps = [f"lib/{a} -({why[(a, b)]})-> " for a, b in zip(cycle, cycle[1:])]
        errors.append("call cycle: " + "".join(steps) + "lib/" + cycle[-1])
    return graph


def self_test():
    """The checker itself: it must see a cycle, an upward call and a clean graph."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}) == [["a", "b", "c", "a"]]
    assert cycles({"x": {"y"}, "y": {"x"}}) == [["x", "y", "x"]]
    assert cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []
    assert not may_use("core", "data") and not may_use("btyd", "spend")
    assert may_use("spend", "btyd") and may_use("evaluate", "survival")
    assert not may_use("survival", "regression")
    print("layout: self-test passed")
    return 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    root, archive = argv[1], argv[2]
    nm = argv[3] if len(argv) > 3 else "nm"
    lib = os.path.join(root, "lib")
    files = lib_files(lib)
    errors = []
    check_stages(files, errors)
    inc = include_graph(lib, files, errors)
    check_bindings(root, lib, errors)
    calls = call_graph(files, archive, nm, errors)
    for e in errors:
        print("layout: " + e)
    nsrc = sum(1 for f in files if f.endswith(".c"))
    nedges = sum(len(v) for v in calls.values())
    ninc = sum(len(v) for v in inc.values())
    print(f"layout: {len(files)} files in {len(set(map(stage_of, files)))} stages, "
          f"{nsrc} sources, {nedges} call edges, {ninc} private include edges: "
          f"{len(errors)} violation(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
