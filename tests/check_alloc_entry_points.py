#!/usr/bin/env python3
"""Allocation-failure coverage check (issue 19 item 8).

tests/alloc_entry_points.txt lists every function exported by lib/libchurn.map
with the workload of tests/test_reliability.c that runs it under the failing
allocator, or `no-alloc: reason`. This script reads the calls of the built
library (objdump -d) and fails when

  - an exported function is missing from the list, or listed but not exported;
  - a function marked no-alloc can reach the allocator hook (churn__malloc,
    churn__calloc, churn__realloc, churn__strdup) through direct calls, tail
    calls or an indirect call (an indirect call is taken to reach every
    function whose address the library takes, except a switch's jump table and a
    thread start routine named *_thread_main, which only pthread_create calls);
  - a function given a workload cannot reach the hook (the list is stale);
  - a named workload is not in test_reliability.c's table, or the code of that
    workload (its wl_ function and the static functions it calls) never names
    the function.

usage: check_alloc_entry_points.py LIBCHURN_SO VERSION_SCRIPT LIST TEST_RELIABILITY_C [OBJDUMP]
"""
import re
import subprocess
import sys
from pathlib import Path

SINKS = {"churn__malloc", "churn__calloc", "churn__realloc", "churn__strdup"}


def exported(map_path):
    text = re.sub(r"/\*.*?\*/", "", Path(map_path).read_text(), flags=re.S)
    names = []
    for body in re.findall(r"global:(.*?)(?:local:|\})", text, re.S):
        names += re.findall(r"(churn_[A-Za-z0-9_]+)\s*;", body)
    return names


def call_graph(lib, objdump):
    out = subprocess.run([objdump, "-d", "--no-show-raw-insn", lib], check=True,
                         capture_output=True, text=True).stdout
    edges, indirect, start, taken = {}, set(), {}, set()
    cur = None
    recent = []  # the last few instructions, to tell a switch's jump table from a call
    for line in out.splitlines():
        recent = (recent + [line])[-4:]
        m = re.match(r"^([0-9a-f]+) <([^>]+)>:$", line)
        if m:
            cur = m.group(2)
            start[int(m.group(1), 16)] = cur
            edges.setdefault(cur, set())
            continue
        if cur is None or cur.endswith("@plt"):
            continue
        m = re.search(r"\s(call|jmp|j[a-z]+)\s+[0-9a-f]+ <([^>+]+)(\+0x[0-9a-f]+)?>", line)
        if m:
            tgt = m.group(2).replace("@plt", "")
            if tgt != cur:
                edges[cur].add(tgt)
            continue
        if re.search(r"\s(call|jmp)\s+\*", line):
            # `jmp *%reg` right after loading a 32-bit table entry (movslq (...,4)) is a
            # switch statement's PIC jump table inside the function, not a call
            if " jmp " in line and any("movslq (" in r for r in recent[:-1]):
                continue
            indirect.add(cur)
            continue
        m = re.search(r"\slea\s.*# [0-9a-f]+ <([^>+]+)>", line)
        if m:
            if m.group(1).endswith("_thread_main"):
                # a thread's start routine (handed to pthread_create, never called through
                # a pointer elsewhere): an edge from the function that starts the thread
                edges[cur].add(m.group(1))
            else:
                taken.add(m.group(1))
    # function pointers stored in data: R_X86_64_RELATIVE relocations to a function start
    rel = subprocess.run(["readelf", "-rW", lib], capture_output=True, text=True).stdout
    for line in rel.splitlines():
        if "R_X86_64_RELATIVE" in line:
            try:
                a = int(line.split()[-1], 16)
            except ValueError:
                continue
            if a in start:
                taken.add(start[a])
    taken = {t for t in taken if t in edges}
    for f in indirect:
        if f not in SINKS:
            edges[f] |= taken
    return edges


def reaching(edges):
    """The set of functions from which a sink is reachable (reverse BFS)."""
    rev = {}
    for f, gs in edges.items():
        for g in gs:
            rev.setdefault(g, set()).add(f)
    seen, todo = set(SINKS), list(SINKS)
    while todo:
        g = todo.pop()
        for f in rev.get(g, ()):
            if f not in seen:
                seen.add(f)
                todo.append(f)
    return seen


def workload_code(src):
    """workload name -> the text of its wl_ function and of the static functions it calls."""
    funcs = {}
    for m in re.finditer(r"^static [^\n;]*?\b(\w+)\(([^)]*)\)\n\{\n(.*?)^\}\n", src, re.S | re.M):
        funcs[m.group(1)] = m.group(3)
    for m in re.finditer(r"^static [^\n;]*?\b(\w+)\(([^)\n]*)\) \{([^\n]*)\}$", src, re.M):
        funcs[m.group(1)] = m.group(3)  # one-line functions
    table = dict(re.findall(r'\{"([^"]+)",\s*(wl_\w+)\}', src))
    code = {}
    for name, fn in table.items():
        seen, todo, text = set(), [fn], ""
        while todo:
            f = todo.pop()
            if f in seen or f not in funcs:
                continue
            seen.add(f)
            text += funcs[f]
            todo += [g for g in re.findall(r"\b(\w+)\(", funcs[f]) if g in funcs]
        code[name] = text
    return code


def main(argv):
    if len(argv) < 5:
        print(__doc__)
        return 2
    lib, map_path, list_path, test_c = argv[1:5]
    objdump = argv[5] if len(argv) > 5 else "objdump"
    syms = exported(map_path)
    listed = {}
    errors = []
    for n, line in enumerate(Path(list_path).read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        sym, _, what = line.partition(" ")
        what = what.strip()
        if sym in listed:
            errors.append(f"{list_path}:{n}: {sym} listed twice")
        if not what:
            errors.append(f"{list_path}:{n}: {sym}: neither a workload nor 'no-alloc: reason'")
        listed[sym] = what
    for s in syms:
        if s not in listed:
            errors.append(f"{s} is exported (libchurn.map) but not in {list_path}: add it with "
                          "its allocation-failure workload or 'no-alloc: reason'")
    for s in listed:
        if s not in syms:
            errors.append(f"{s} is in {list_path} but not exported by libchurn.map")
    reach = reaching(call_graph(lib, objdump))
    if not any(s in reach for s in syms):
        # the disassembly parser knows x86-64 (call/jmp, R_X86_64_RELATIVE) only
        print("SKIP: no call to the allocator hook recognised in this library's disassembly "
              "(an architecture other than x86-64?)")
        return 77
    code = workload_code(Path(test_c).read_text())
    n_alloc = 0
    for s in syms:
        what = listed.get(s)
        if what is None:
            continue
        if what.startswith("no-alloc"):
            if s in reach:
                errors.append(f"{s} is marked '{what}' but can reach the allocator hook: give it "
                              "a workload in tests/test_reliability.c")
            elif not re.match(r"no-alloc:\s*\S", what):
                errors.append(f"{s}: 'no-alloc:' needs a reason")
            continue
        n_alloc += 1
        if s not in reach:
            errors.append(f"{s} has workload(s) '{what}' but cannot reach the allocator hook "
                          "in the built library: mark it 'no-alloc: reason'")
        for w in (x.strip() for x in what.split(",")):
            if w not in code:
                errors.append(f"{s}: workload '{w}' is not in test_reliability.c's table")
            elif not re.search(r"\b" + re.escape(s) + r"\(", code[w]):
                errors.append(f"{s}: workload '{w}' does not call it")
    for e in errors:
        print("FAIL:", e)
    print(f"{len(syms)} exported functions: {n_alloc} can allocate, each run by a workload of "
          f"the allocation-failure test; {len(syms) - n_alloc} cannot (checked in the calls of "
          f"{Path(lib).name})")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
