"""Shared pieces of the Python benches: locating built programs, running them, and
reading CPU time (ours and our children's) from getrusage."""
import os
import resource
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.path.join(ROOT, "..", "shared", "peers")


def find(given, env, rel, what):
    """The first that exists of: the path given, $env, <root>/build*/rel."""
    cands = [given, os.environ.get(env)]
    for d in sorted(os.listdir(ROOT)):
        if d.startswith("build"):
            cands.append(os.path.join(ROOT, d, rel))
    for c in cands:
        if c and os.path.exists(c):
            return c
    sys.exit(f"{what} not found: build it (ninja -C <builddir>) and pass its path")


def run(cmd):
    """Run a command, exit with its output when it fails, return its stdout."""
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{p.stdout}{p.stderr}")
    return p.stdout


def self_cpu():
    """CPU seconds (user + system) of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child_cpu():
    """CPU seconds (user + system) of this process's finished children so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime
