#!/usr/bin/env bash
# interrupt_resume.sh REVNET DIR: Ctrl-C (SIGINT) during `revnet train` saves a checkpoint and
# exits with 130; `--resume` from that checkpoint continues where it stopped and finishes.
set -u
revnet=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
args=(train --data synthetic:1x16x16:10 --epochs 3 --batch 32 --run-dir "$dir")
"$revnet" "${args[@]}" >"$dir/first.log" 2>&1 &
pid=$!
for _ in $(seq 1200); do  # the first progress line, within 2 minutes
  grep -q "step" "$dir/first.log" && break
  sleep 0.1
done
kill -INT "$pid"
wait "$pid"
code=$?
cat "$dir/first.log"
[ "$code" -eq 130 ] || { echo "expected exit code 130 after SIGINT, got $code"; exit 1; }
grep -q "interrupted: checkpoint saved" "$dir/first.log" || { echo "no checkpoint message"; exit 1; }
[ -s "$dir/checkpoint.safetensors" ] || { echo "no checkpoint file"; exit 1; }
"$revnet" "${args[@]}" --resume "$dir/checkpoint.safetensors" >"$dir/second.log" 2>&1
code=$?
cat "$dir/second.log"
[ "$code" -eq 0 ] || { echo "the resumed run exited with $code"; exit 1; }
grep -q "resumed from .* after step [1-9]" "$dir/second.log" || { echo "did not resume mid-run"; exit 1; }
grep -q "epoch 3/3  train loss" "$dir/second.log" || { echo "the resumed run did not finish"; exit 1; }
