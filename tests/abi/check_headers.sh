#!/usr/bin/env bash
# Header hygiene: every public header compiles on its own as C99 -pedantic
# -Werror and as C++11, and the umbrella header too.
set -u
inc=$1
cc=${CC:-cc}
cxx=${CXX:-c++}
fail=0
for h in "$inc"/churn.h "$inc"/churn/*.h; do
  rel=${h#"$inc"/}
  printf '#include "%s"\nint churn_header_check_dummy;\n' "$rel" > /tmp/churn_hdr_$$.c
  if ! $cc -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only -I"$inc" /tmp/churn_hdr_$$.c; then
    echo "FAIL (C99): $rel"; fail=1
  fi
  cp /tmp/churn_hdr_$$.c /tmp/churn_hdr_$$.cpp
  if ! $cxx -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only -I"$inc" /tmp/churn_hdr_$$.cpp; then
    echo "FAIL (C++11): $rel"; fail=1
  fi
done
rm -f /tmp/churn_hdr_$$.c /tmp/churn_hdr_$$.cpp
[ $fail = 0 ] && echo "OK: all public headers compile as C99 -pedantic -Werror and C++11"
exit $fail
