#!/usr/bin/env bash
# Mutation check: does the test suite catch small, realistic bugs?
#   tools/mutation-test.sh [NAME-PATTERN...]
# Copies the checkout (with uncommitted changes) to $REVNET_MUTATION_DIR (default
# /tmp/revnet-mutation), builds it, checks that the suite passes there, then for each
# tools/mutations/*.patch whose name contains one of the patterns (all without one): applies it, rebuilds, runs the suite until its
# first failure, and reverts it. Prints each bug as caught (with the first test that failed) or
# SURVIVED, then the score. A bug that does not build counts as not caught and is reported.
# To add a bug: make the change in the source, `git diff -- FILE > tools/mutations/NN-name.patch`,
# put one line saying what the bug is above the diff, and revert the source. docs/MUTATIONS.md
# keeps the latest score and the accepted survivors.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${REVNET_MUTATION_DIR:-/tmp/revnet-mutation}
patterns=("$@")
jobs=$(nproc)

bash "$root/tools/install-deps.sh" --tests
rm -rf "$work/src" && mkdir -p "$work/src"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work/src")
cmake -S "$work/src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
build() { cmake --build "$work/build" --parallel "$jobs" >"$work/build.log" 2>&1; }
# The suite as `tools/dev.sh test` runs it, stopping at the first failure; prints that test.
# mutations.apply is left out: with a bug planted, its own patch no longer applies.
suite() {
  (cd "$work/build" && ctest --parallel "$jobs" --stop-on-failure --timeout 600 -E '^mutations\.apply$' \
    >"$work/ctest.log" 2>&1) && return 0
  grep -m1 -E "\*\*\*(Failed|Timeout|Exception)|Failed  " "$work/ctest.log" | sed -E 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: //; s/ \.{3,}.*//' || echo "(see $work/ctest.log)"
  return 1
}

build || { tail -30 "$work/build.log"; echo "the unmutated tree does not build"; exit 1; }
if ! failed=$(suite); then echo "the unmutated suite fails ($failed): fix that first"; exit 1; fi

caught=0 total=0 survivors=()
for patch in "$root"/tools/mutations/*.patch; do
  name=$(basename "$patch" .patch)
  if [ ${#patterns[@]} -gt 0 ]; then
    chosen=0
    for p in "${patterns[@]}"; do [[ "$name" == *"$p"* ]] && chosen=1; done
    [ $chosen -eq 1 ] || continue
  fi
  total=$((total + 1))
  (cd "$work/src" && git apply "$patch")
  start=$SECONDS
  if ! build; then
    result="DID NOT BUILD"
    survivors+=("$name (does not build)")
  elif failed=$(suite); then
    result="SURVIVED"
    survivors+=("$name: $(head -1 "$patch")")
  else
    result="caught by: $failed"
    caught=$((caught + 1))
  fi
  (cd "$work/src" && git apply -R "$patch")
  printf '%-32s %-60s (%ds)\n' "$name" "$result" $((SECONDS - start))
done
build
echo "score: $caught of $total planted bugs caught"
for s in "${survivors[@]}"; do echo "  not caught: $s"; done
