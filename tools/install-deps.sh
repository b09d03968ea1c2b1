#!/usr/bin/env bash
# Installs the Debian 12 packages revnet-vk builds, tests and trains with, if any are missing.
# With --tests, also what only the tests need (SwiftShader, the second Vulkan driver they run on,
# and strace, which holds a checkpoint save open for a kill);
# with --fuzz, clang and libFuzzer (tools/fuzz.sh).
# When not root, prints the exact command to run instead.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libvulkan-dev mesa-vulkan-drivers vulkan-tools vulkan-validationlayers
  glslc libshaderc-dev spirv-tools libglm-dev catch2 zlib1g-dev nlohmann-json3-dev libturbojpeg0-dev libpng-dev
  libopenmpi-dev openmpi-bin
  dataset-fashion-mnist
)
[ "${1:-}" = "--tests" ] && packages+=(chromium-common strace)  # SwiftShader's Vulkan driver; kill_resume.sh
[ "${1:-}" = "--fuzz" ] && packages+=(clang libfuzzer-14-dev libclang-rt-14-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "revnet-vk needs these Debian packages: ${missing[*]}" >&2
  echo "Run as root:  $cmd" >&2
  exit 1
fi
echo "Installing: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
