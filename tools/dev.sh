#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine: installs what is missing, builds, then runs.
#   tools/dev.sh build          install dependencies and build into build/
#   tools/dev.sh test           ... then run the whole test suite (validation on)
#   tools/dev.sh test-portability  ... then the suite as other devices see it (see the script)
#   tools/dev.sh sanitize       the whole suite under ASan and UBSan, built into build-asan/
#   tools/dev.sh train [ARGS]   ... then train (default: a small RevNet on Fashion-MNIST)
#   tools/dev.sh revnet ARGS    ... then run any revnet command
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${REVNET_BUILD_DIR:-$root/build}"

build() {
  bash "$root/tools/install-deps.sh" "$@"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --parallel "$(nproc)"
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  build) build ;;
  test)
    build --tests
    cd "$build"
    ctest --output-on-failure --parallel "$(nproc)" "$@"
    ;;
  test-portability)
    build --tests
    bash "$root/tools/portability-tests.sh" "$build"
    ;;
  sanitize)
    # lavapipe allocates and frees large buffers all the time: ASan's default 256 MiB quarantine
    # per process, times two test processes, plus shadow memory, crowds a small machine; 64 MiB
    # keeps the suite within memory and still catches use-after-free of recent blocks. Leak
    # checking is off: Mesa and the validation layer keep caches until exit.
    build="${REVNET_BUILD_DIR:-$root/build-asan}"
    bash "$root/tools/install-deps.sh" --tests
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" >/dev/null
    cmake --build "$build" --parallel "$(nproc)"
    cd "$build"
    ASAN_OPTIONS=quarantine_size_mb=64:detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --output-on-failure --parallel "$(nproc)" "$@"
    ;;
  train)
    build
    exec "$build/revnet" train "$@"
    ;;
  revnet)
    build
    exec "$build/revnet" "$@"
    ;;
  *)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
