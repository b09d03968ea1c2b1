#!/usr/bin/env bash
# The test suite as other devices see it, on this machine's CPU drivers (docs/PORTABILITY.md):
#   1. lavapipe with every limit lowered to the Vulkan 1.1 minimum (REVNET_LIMITS=minimum), and
#      the network tests with a 256 KiB storage range, so that training steps run in batch chunks;
#   2. lavapipe as a discrete GPU without ReBAR: tensors copied through staging, GPU-shaped kernels;
#   3. SwiftShader, a second driver with limits near the minimums, and revnet train on it.
# The slowest tests (the CPU convolution sweep, whole training runs, the command-line scripts of
# signals, kills and a full disk, which test the trainer's logic, not the device, and the
# finite-difference test of the gradients' math) run once, in the main pass; the shorter trainer
# tests (plan, data order, evaluation) run in every pass. SwiftShader runs 20-40x slower than
# lavapipe on training steps, so it takes the fast part of the suite, the self-test and one short
# training run; not the package example either (it tests the install and find_package, and took 5
# of the pass's 7 minutes there). Usage: portability-tests.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: portability-tests.sh BUILD_DIR}
cd "$build"
jobs=$(nproc)
slow='CPU variant|training on synthetic data learns|ImageNet stem learns|cli.signal|cli.run_directory|cli.kill_resume|cli.full_disk|cli.train_options|cli.bench|cli.parallel|finite differences of the loss'
swiftshader_slow="$slow|finite differences|training|plan is exact|each epoch|evaluation counts|cli.train|cli.memory|reversible gradients|package.example"
swiftshader=/usr/lib/chromium/vk_swiftshader_icd.json

echo "== lavapipe, REVNET_LIMITS=minimum"
REVNET_LIMITS=minimum ctest --output-on-failure --parallel "$jobs" -E "$slow"
echo "== lavapipe, REVNET_LIMITS=maxStorageBufferRange=262144: network tests in batch chunks"
REVNET_LIMITS=maxStorageBufferRange=262144 ctest --output-on-failure --parallel "$jobs" -R "network|gradients|statistics" -E "$slow"

echo "== lavapipe, REVNET_FORCE_STAGING=1 REVNET_VARIANT=gpu"
REVNET_FORCE_STAGING=1 REVNET_VARIANT=gpu ctest --output-on-failure --parallel "$jobs" -E "$slow"

echo "== SwiftShader"
[ -f "$swiftshader" ] || { echo "SwiftShader is missing: apt-get install chromium-common" >&2; exit 1; }
log="$build/swiftshader-train.log"
VK_ICD_FILENAMES=$swiftshader REVNET_VALIDATION=1 ./revnet train --data synthetic:1x8x8:3:1000 --epochs 1 --batch 64 \
  --run-dir "$build/swiftshader-run" --overwrite > "$log" 2>&1 || { cat "$log"; exit 1; }
rm -rf "$build/swiftshader-run"
if grep -q "vulkan validation" "$log"; then cat "$log"; echo "validation messages in revnet train on SwiftShader" >&2; exit 1; fi
tail -n 1 "$log"
VK_ICD_FILENAMES=$swiftshader ctest --output-on-failure --parallel "$jobs" -E "$swiftshader_slow"
