#!/usr/bin/env bash
# Compare the built libchurn.so against the committed ABI baseline
# (tests/abi/libchurn.abi). abidiff's exit status is a bit field: 1 error,
# 2 usage error, 4 ABI change (additions included), 8 incompatible change.
# Any non-zero status fails. After a reviewed, deliberate ABI addition (new
# symbols under a new version node), run tests/abi/update-baseline.sh BUILD_DIR.
set -u
lib=$1
baseline=$2
headers=$3
cur=$(mktemp --suffix=.abi)
trap 'rm -f "$cur"' EXIT
abidw --no-corpus-path --no-comp-dir-path --short-locs --type-id-style hash \
      --drop-private-types --headers-dir "$headers" "$lib" > "$cur" || { echo "abidw failed"; exit 1; }
abidiff "$baseline" "$cur"
rc=$?
if [ $rc -ne 0 ]; then
  echo "FAIL: abidiff exit status $rc (bit 4 = ABI change, bit 8 = incompatible change)"
  exit 1
fi
echo "OK: ABI identical to the committed baseline"
