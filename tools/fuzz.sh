#!/usr/bin/env bash
# Fuzzes the file readers and text parsers with libFuzzer under ASan and UBSan:
#   tools/fuzz.sh [SECONDS] [TARGET...]
# builds the targets with clang into build-fuzz/ (REVNET_FUZZ_BUILD_DIR) and runs each for
# SECONDS (default 60; CI runs 20) from the seed corpus fuzz/corpus/TARGET. New inputs that reach
# new code go to build-fuzz/corpus/TARGET (copy good ones into fuzz/corpus); a crash leaves its
# input as build-fuzz/crash-* and fails the script. Targets: fuzz_idx fuzz_cifar fuzz_checkpoint
# fuzz_parsers fuzz_image (all by default).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${REVNET_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_idx fuzz_cifar fuzz_checkpoint fuzz_parsers fuzz_image)

bash "$root/tools/install-deps.sh" --fuzz
CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DREVNET_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" --target "${targets[@]}"
cd "$build"
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  echo "== $target: ${seconds}s"
  # -rss_limit_mb: a reader that inflates a small input into gigabytes fails here.
  status=0
  "./fuzz/$target" -max_total_time="$seconds" -rss_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$build/" "corpus/$target" "$root/fuzz/corpus/$target" >"$target.log" 2>&1 || status=$?
  grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)" "$target.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$target.log"
    echo "$target found a failure (exit $status): the input is $build/crash-* (or leak-*, oom-*, timeout-*)"
    exit 1
  fi
done
echo "fuzzing passed: ${targets[*]} for ${seconds}s each"
