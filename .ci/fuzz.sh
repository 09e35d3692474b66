#!/usr/bin/env bash
# Fuzz campaign for libchurn's input parsers (libFuzzer, clang, ASan + UBSan).
# Not run by CI by default: it takes SECONDS x RUNS per target.
#
#   .ci/fuzz.sh [SECONDS] [RUNS] [targets...]     (defaults: 120 3 csv model table)
#
# Builds build-rel-fuzz/fuzz_<target> from lib/*/*.c (+ bindings/cli/cli.c for `table`) and the
# target in tests/fuzz/, then runs each target RUNS times for SECONDS seconds on one
# core, growing build-rel-fuzz/corpus/<target> (seeded from tests/fuzz/corpus/<target>).
# Crashes land in build-rel-fuzz/crashes/<target>/; the last lines of each run's log
# (execs, cov, ft) are printed. FUZZ_CC overrides the compiler (default clang).
#
# Knobs for a long campaign (tests/fuzz/README.md, "The 10-million campaign"):
#   FUZZ_SANITIZE  -fsanitize= list (default fuzzer,address,undefined; the long
#                  campaign uses fuzzer,undefined,leak for throughput)
#   FUZZ_OPT       optimisation flag (default -O1)
#   FUZZ_ARGS      extra libFuzzer flags, e.g. "-runs=10000000" (with SECONDS=0:
#                  no time limit, the run ends after that many executions)
#   FUZZ_BUILD_DIR output directory (default build-rel-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-120}
runs=${2:-3}
shift $(( $# > 2 ? 2 : $# )) || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(csv model table)
out=${FUZZ_BUILD_DIR:-build-rel-fuzz}
cc=${FUZZ_CC:-clang}
mkdir -p "$out"
san=${FUZZ_SANITIZE:-fuzzer,address,undefined}
opt=${FUZZ_OPT:--O1}
read -r -a fargs <<<"${FUZZ_ARGS:-}"
cflags=(-g "$opt" -fsanitize="$san" -fno-sanitize-recover=undefined
        -Iinclude -Ilib -Ibindings/cli -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -w)
libs=(-lgsl -lopenblas -ljansson -lz -lm -lpthread)
export OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for t in "${targets[@]}"; do
  extra=()
  quiet=()
  # the command's reader prints its errors to stderr: close it for the target
  [ "$t" = table ] && extra=(bindings/cli/cli.c) && quiet=(-close_fd_mask=2)
  echo "== building $out/fuzz_$t ($opt -fsanitize=$san)"
  [ -n "${FUZZ_NO_BUILD:-}" ] && [ -x "$out/fuzz_$t" ] || "$cc" "${cflags[@]}" lib/*/*.c "${extra[@]}" "tests/fuzz/fuzz_$t.c" -o "$out/fuzz_$t" "${libs[@]}"
  mkdir -p "$out/corpus/$t" "$out/crashes/$t"
  for r in $(seq 1 "$runs"); do
    log="$out/fuzz_${t}_run$r.log"
    echo "== fuzz_$t run $r/$runs: ${secs}s ${FUZZ_ARGS:-} ($(date -u +%H:%M:%S))"
    set +e
    "$out/fuzz_$t" -max_total_time="$secs" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "${quiet[@]}" "${fargs[@]}" -artifact_prefix="$out/crashes/$t/" \
        "$out/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
    st=$?
    set -e
    grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -1 || true
    grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb' "$log" || true
    if [ $st -eq 72 ]; then
      echo "== fuzz_$t interrupted (SIGINT, libFuzzer exit 72): figures above are final"
    elif [ $st -ne 0 ]; then
      echo "!! fuzz_$t exited $st: see $log and $out/crashes/$t/"
    fi
  done
done
ls -l "$out"/crashes/*/ 2>/dev/null | grep -E 'crash-|leak-|timeout-|oom-' || echo "no crash artifacts"
