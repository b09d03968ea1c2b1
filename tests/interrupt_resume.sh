#!/usr/bin/env bash
# interrupt_resume.sh REVNET DIR SIGNAL CODE: SIGNAL (INT, TERM or HUP) during `revnet train`
# saves a checkpoint and exits with CODE (128 + the signal's number); `--resume` from that
# checkpoint continues where it stopped and finishes, with one metrics row per epoch and no
# temporary files left.
set -u
revnet=$1 dir=$2 signal=$3 expected=$4
rm -rf "$dir" && mkdir -p "$dir"
log=$dir/../$(basename "$dir")-first.log
args=(train --data synthetic:1x8x8:4:1000 --epochs 2 --batch 50 --run-dir "$dir")
"$revnet" "${args[@]}" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1200); do  # the first progress line, within 2 minutes
  grep -q "step" "$log" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -"$signal" "$pid"
wait "$pid"
code=$?
cat "$log"
[ "$code" -eq "$expected" ] || { echo "expected exit code $expected after SIG$signal, got $code"; exit 1; }
grep -q "checkpoint saved to $dir/checkpoint.safetensors" "$log" || { echo "no checkpoint message"; exit 1; }
[ -s "$dir/checkpoint.safetensors" ] || { echo "no checkpoint file"; exit 1; }
"$revnet" "${args[@]}" --resume "$dir/checkpoint.safetensors" 2>&1
code=$?
[ "$code" -eq 0 ] || { echo "the resumed run exited with $code"; exit 1; }
rows=$(tail -n +2 "$dir/metrics.csv" | cut -d, -f2 | tr '\n' ' ')
[ "$rows" = "1 2 " ] || { echo "metrics.csv has epoch rows '$rows', expected '1 2 '"; exit 1; }
stray=$(ls -A "$dir" | grep -v -x -e metrics.csv -e curves.svg -e checkpoint.safetensors -e .revnet.lock)
[ -z "$stray" ] || { echo "stray files in the run directory: $stray"; exit 1; }
echo "interrupt and resume passed"
