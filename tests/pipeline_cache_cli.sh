#!/usr/bin/env bash
# pipeline_cache_cli.sh REVNET DIR: a REVNET_PIPELINE_CACHE that names a symlink, a directory or
# a FIFO turns caching off with a warning: the command still runs, and nothing there is replaced
# or read (a FIFO would block a reader forever).
set -u
revnet=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
fail() { echo "$*"; exit 1; }
echo "someone else's file" >"$dir/target"
ln -s "$dir/target" "$dir/link"
mkdir "$dir/directory"
mkfifo "$dir/fifo"
for cache in link directory fifo; do
  out=$(REVNET_PIPELINE_CACHE="$dir/$cache" timeout 120 "$revnet" smoke --elements 1000 --repeat 1 2>&1)
  code=$?
  echo "$out"
  [ "$code" -eq 0 ] || fail "with the cache at a $cache, smoke exited with $code"
  grep -q "warning: the pipeline cache $dir/$cache exists and is not a regular file" <<<"$out" || fail "no warning for a $cache"
done
[ -L "$dir/link" ] || fail "the symlink was replaced"
[ "$(cat "$dir/target")" = "someone else's file" ] || fail "the symlink's target was written"
[ -d "$dir/directory" ] && [ -z "$(ls -A "$dir/directory")" ] || fail "the directory changed"
[ -p "$dir/fifo" ] || fail "the FIFO was replaced"
[ -z "$(ls "$dir" | grep -v -x -e target -e link -e directory -e fifo)" ] || fail "stray files: $(ls "$dir")"
echo "pipeline cache checks passed"
