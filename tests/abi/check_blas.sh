#!/usr/bin/env bash
# OpenBLAS, not GSL's reference cblas, must serve the cblas symbols: libopenblas
# must come before libgsl (which pulls in libgslcblas) in libchurn's DT_NEEDED
# list, and the dynamic linker must bind every cblas_* reference (ours and
# libgsl's) to OpenBLAS. PROBE is any program linked against libchurn.so.
set -u
lib=$1
probe=$2
needed=$(readelf -d "$lib" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
echo "DT_NEEDED: $(echo $needed)"
ob=$(echo "$needed" | grep -n openblas | head -1 | cut -d: -f1)
gs=$(echo "$needed" | grep -n 'libgsl\.' | head -1 | cut -d: -f1)
if [ -z "$ob" ] || [ -z "$gs" ] || [ "$ob" -gt "$gs" ]; then
  echo "FAIL: libopenblas must be needed before libgsl"; exit 1
fi
tmp=$(mktemp -d)
LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT="$tmp/ld" "$probe" --version >/dev/null
bindings=$(cat "$tmp"/ld.* | grep -E "normal symbol .cblas_" || true)
rm -rf "$tmp"
n=$(printf '%s\n' "$bindings" | grep -c cblas_ || true)
wrong=$(printf '%s\n' "$bindings" | grep cblas_ | grep -v 'to .*openblas' || true)
if [ "$n" = 0 ]; then echo "FAIL: no cblas binding observed"; exit 1; fi
if [ -n "$wrong" ]; then
  echo "FAIL: cblas symbols bound elsewhere than OpenBLAS:"; echo "$wrong" | head; exit 1
fi
echo "OK: all $n cblas_* bindings go to OpenBLAS"
