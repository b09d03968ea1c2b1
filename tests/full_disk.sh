#!/usr/bin/env bash
# full_disk.sh REVNET DIR: a checkpoint save that fails for want of space (a file size limit,
# which fails writes as a full disk does) exits 1 naming the file, keeps the previous checkpoint
# whole and leaves no temporary file; resuming then finishes with one metrics row per epoch.
set -u
revnet=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
run=$dir/run
args=(train --data synthetic:1x8x8:3:1000 --batch 50 --run-dir "$run")
fail() { echo "$*"; exit 1; }
"$revnet" "${args[@]}" --epochs 1 >"$dir/first.log" 2>&1 || { cat "$dir/first.log"; fail "the first run failed"; }
before=$(md5sum <"$run/checkpoint.safetensors")
# 200 KiB: the metrics file fits, a checkpoint (about 360 KiB) does not. revnet ignores SIGXFSZ
# itself, so the limit fails writes as a full disk does.
( ulimit -f 200; exec "$revnet" "${args[@]}" --epochs 2 --resume "$run/checkpoint.safetensors" ) >"$dir/full.log" 2>&1
code=$?
cat "$dir/full.log"
[ "$code" -eq 1 ] || fail "a failed save exited with $code, not 1"
grep -q "checkpoint.safetensors.tmp-[0-9]*: write failed (disk full?)" "$dir/full.log" || fail "no message naming the file"
[ "$(md5sum <"$run/checkpoint.safetensors")" = "$before" ] || fail "the previous checkpoint changed"
stray=$(ls -A "$run" | grep -v -x -e metrics.csv -e curves.svg -e checkpoint.safetensors -e .revnet.lock)
[ -z "$stray" ] || fail "stray files after the failed save: $stray"
"$revnet" "${args[@]}" --epochs 2 --resume "$run/checkpoint.safetensors" >"$dir/last.log" 2>&1 || { cat "$dir/last.log"; fail "the resumed run failed"; }
rows=$(tail -n +2 "$run/metrics.csv" | cut -d, -f2 | tr '\n' ' ')
[ "$rows" = "1 2 " ] || fail "metrics.csv has epoch rows '$rows', expected '1 2 '"
echo "full disk checks passed"
