#!/usr/bin/env bash
# expect_failure.sh CODE TEXT COMMAND...: passes when COMMAND exits with CODE and its error
# output contains TEXT.
set -u
code=$1 text=$2
shift 2
err=$("$@" 2>&1 >/dev/null)
actual=$?
echo "$err"
[ "$actual" -eq "$code" ] || { echo "expected exit code $code, got $actual"; exit 1; }
grep -qF -- "$text" <<<"$err" || { echo "expected the error to contain: $text"; exit 1; }
