#!/usr/bin/env bash
# package_example.sh BUILD DIR: the package as a user meets it. Installs the build into DIR/prefix,
# builds examples/train_from_memory against it with find_package(revnet-vk) (a project of its
# own, no path into this tree), and runs it: it must train to its accuracy bar.
set -eu
build=$1 dir=$2
source=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$dir" && mkdir -p "$dir"
cmake --install "$build" --prefix "$dir/prefix" >"$dir/install.log"
for file in bin/revnet include/revnet/training/trainer.hpp lib/cmake/revnet-vk/revnet-vkConfig.cmake \
            lib/cmake/revnet-vk/revnet-vkConfigVersion.cmake lib/librevnet-engine.a; do
  [ -e "$dir/prefix/$file" ] || { echo "not installed: $file"; exit 1; }
done
# Only public headers are installed: none of those kept beside their sources.
if find "$dir/prefix/include" -name vulkan_error.hpp -o -name dispatch.hpp | grep -q .; then
  echo "a private header was installed"; exit 1
fi
cmake -S "$source/examples/train_from_memory" -B "$dir/example" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$dir/prefix" >"$dir/configure.log" 2>&1 || { cat "$dir/configure.log"; exit 1; }
cmake --build "$dir/example" >"$dir/build.log" 2>&1 || { cat "$dir/build.log"; exit 1; }
"$dir/example/train_from_memory" "$dir/run"
[ -s "$dir/run/checkpoint.safetensors" ] || { echo "the example's run wrote no checkpoint"; exit 1; }
echo "package example passed"
