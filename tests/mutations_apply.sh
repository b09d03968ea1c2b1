#!/usr/bin/env bash
# mutations_apply.sh: every planted bug of tools/mutations/ still applies to the source, so that
# tools/mutation-test.sh measures the suite instead of stopping at a patch the code moved past.
# A change that breaks one regenerates it (tools/mutation-test.sh says how).
set -u
cd "$(dirname "$0")/.."
command -v git >/dev/null || { echo "git is not installed: skipped"; exit 77; }
stale=0
for patch in tools/mutations/*.patch; do
  git apply --check "$patch" 2>/dev/null || { echo "does not apply: $patch"; stale=1; }
done
[ $stale -eq 0 ] && echo "all $(ls tools/mutations/*.patch | wc -l) mutations apply"
