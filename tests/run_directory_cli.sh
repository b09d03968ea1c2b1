#!/usr/bin/env bash
# run_directory_cli.sh REVNET DIR: a run directory in use refuses a second run; a finished run's
# directory refuses a new run without --overwrite; `revnet eval` of the checkpoint a run wrote
# gives the test loss and accuracy the run printed for its last epoch.
set -u
revnet=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
# 40 classes: hard enough that the last evaluation is far from 0 loss and 100% accuracy.
args=(train --data synthetic:1x8x8:40:1000 --batch 20 --run-dir "$dir/run")
fail() { echo "$*"; exit 1; }

"$revnet" "${args[@]}" --epochs 3 >"$dir/first.log" 2>&1 &
pid=$!
for _ in $(seq 1200); do grep -q "step" "$dir/first.log" && break; kill -0 "$pid" || break; sleep 0.1; done
grep -q "step" "$dir/first.log" || { cat "$dir/first.log"; fail "the first run did not start"; }
"$revnet" "${args[@]}" --epochs 1 --overwrite >"$dir/second.log" 2>&1
code=$?
kill -TERM "$pid"; wait "$pid"
cat "$dir/second.log"
[ "$code" -eq 1 ] || fail "a second run into a directory in use exited with $code, not 1"
grep -q "another run is using the run directory $dir/run" "$dir/second.log" || fail "no message naming the lock"

"$revnet" "${args[@]}" --epochs 1 >"$dir/third.log" 2>&1
code=$?
cat "$dir/third.log"
[ "$code" -eq 1 ] || fail "a new run into a used directory exited with $code, not 1"
grep -q "is not empty" "$dir/third.log" || fail "no refusal of a used directory"
[ -s "$dir/run/checkpoint.safetensors" ] || fail "the refused run touched the checkpoint"

"$revnet" "${args[@]}" --epochs 1 --overwrite >"$dir/fourth.log" 2>&1 || fail "--overwrite failed"
trained=$(grep -o "test loss [0-9.]* acc [0-9.]*%" "$dir/fourth.log" | tail -1 | sed 's/ acc / /; s/%//')
evaluated=$("$revnet" eval "$dir/run/checkpoint.safetensors" | grep -o "test loss [0-9.]*, accuracy [0-9.]*%" | sed 's/, accuracy / /; s/%//')
echo "training printed '$trained'; eval printed '$evaluated'"
[ -n "$trained" ] && [ "$trained" = "$evaluated" ] || fail "eval of the checkpoint differs from the run's last evaluation"
echo "run directory checks passed"
