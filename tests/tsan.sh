#!/usr/bin/env bash
# Thread test under ThreadSanitizer (issue 11).
#   tests/tsan.sh [BUILD_DIR]        (default build-tsan)
# Configures a gcc build with -Db_sanitize=thread (b_lundef=false: the
# sanitizer runtime is linked into the executables only), builds
# tests/test_threads and runs it. OpenBLAS is held to one thread: its own
# worker pool is not instrumented and would be reported as races inside
# libopenblas (libchurn never changes its thread count; the users' setting
# is theirs). Exit status: non-zero on any TSan report or test failure.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-tsan}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Db_sanitize=thread -Db_lundef=false --buildtype=debugoptimized >/dev/null
fi
ninja -C "$build" tests/test_threads >/dev/null
export OPENBLAS_NUM_THREADS=1
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
"$build/tests/test_threads"
