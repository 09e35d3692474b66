#!/usr/bin/env bash
# Regenerate the committed ABI baseline from a build dir. Only after a reviewed,
# deliberate ABI change; say why in the commit message.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
abidw --no-corpus-path --no-comp-dir-path --short-locs --type-id-style hash \
      --drop-private-types --headers-dir "$root/include" "$build/lib/libchurn.so" \
      > "$root/tests/abi/libchurn.abi"
echo "wrote tests/abi/libchurn.abi"
