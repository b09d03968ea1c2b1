#!/usr/bin/env bash
# parallel_cli.sh REVNET DIR MPIRUN: `revnet train` under mpirun with 2 processes: it trains, the
# first process alone prints and writes the run directory; a batch that does not split is a usage
# error said once; SIGINT to the second process stops both at one step with a checkpoint and exit
# 130, which one process resumes; a killed process ends the launch with an error within a minute.
set -u
revnet=$1 dir=$2 mpirun=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
launch=("$mpirun" --oversubscribe -np 2 "$revnet")
rm -rf "$dir" && mkdir -p "$dir"
fail() { echo "FAILED: $*"; exit 1; }

args=(train --data synthetic:1x8x8:3:600 --epochs 1)
"${launch[@]}" "${args[@]}" --batch 50 --run-dir "$dir/run" >"$dir/run.log" 2>&1 || { cat "$dir/run.log"; fail "two processes did not train"; }
cat "$dir/run.log"
grep -q "2 processes: the device waited [0-9.]*% of the epoch" "$dir/run.log" || fail "no exchange report"
[ "$(grep -c "^loading" "$dir/run.log")" -eq 1 ] || fail "more than one process printed"
[ "$(tail -n +2 "$dir/run/metrics.csv" | wc -l)" -eq 1 ] || fail "metrics.csv should hold one epoch"
[ -s "$dir/run/checkpoint.safetensors" ] || fail "no checkpoint"

"${launch[@]}" "${args[@]}" --batch 49 --run-dir "$dir/odd" >"$dir/odd.log" 2>&1
code=$?
cat "$dir/odd.log"
[ "$code" -eq 2 ] || fail "an uneven batch exited with $code, not 2"
[ "$(grep -c "give a multiple of 2, not 49" "$dir/odd.log")" -eq 1 ] || fail "the usage error should be said once"

long=(train --data synthetic:1x8x8:3:40000 --batch 50 --epochs 1 --run-dir "$dir/stop")
"${launch[@]}" "${long[@]}" >"$dir/stop.log" 2>&1 &
launcher=$!
second=""
for _ in $(seq 1200); do  # the first progress line, within 2 minutes
  grep -q "step" "$dir/stop.log" 2>/dev/null && second=$(pgrep -f -n -- "--run-dir $dir/stop") && break
  sleep 0.1
done
[ -n "$second" ] || fail "no training process to signal"
kill -INT "$second"
wait "$launcher"
code=$?
tr '\r' '\n' <"$dir/stop.log" | tail -n 3
[ "$code" -eq 130 ] || fail "SIGINT to one process: exit $code, not 130"
[ -s "$dir/stop/checkpoint.safetensors" ] || fail "no checkpoint after the stop"
"$revnet" "${long[@]}" --resume "$dir/stop/checkpoint.safetensors" >"$dir/resume.log" 2>&1 &
single=$!
for _ in $(seq 600); do grep -q "resumed from" "$dir/resume.log" && break; sleep 0.1; done
grep -q "resumed from .* after step [1-9]" "$dir/resume.log" || { cat "$dir/resume.log"; fail "one process did not resume"; }
kill -TERM "$single"; wait "$single"

"${launch[@]}" "${long[@]}" --overwrite >"$dir/kill.log" 2>&1 &
launcher=$!
second=""
for _ in $(seq 1200); do
  grep -q "step" "$dir/kill.log" 2>/dev/null && second=$(pgrep -f -n -- "--run-dir $dir/stop") && break
  sleep 0.1
done
[ -n "$second" ] || fail "no training process to kill"
kill -KILL "$second"
start=$SECONDS
while kill -0 "$launcher" 2>/dev/null; do
  [ $((SECONDS - start)) -lt 60 ] || { kill -KILL "$launcher"; fail "the launch outlived a killed process by a minute"; }
  sleep 0.2
done
wait "$launcher"
code=$?
[ "$code" -ne 0 ] || fail "a killed process left the launch exiting 0"
echo "parallel command-line checks passed"
