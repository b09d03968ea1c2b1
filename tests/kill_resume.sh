#!/usr/bin/env bash
# kill_resume.sh REVNET DIR: SIGKILL at random moments, and right as a checkpoint is being written
# (its temporary file appears), never costs the last good checkpoint: after every kill the
# checkpoint in the run directory loads (revnet eval), the next run resumes from it and clears
# the killed save's temporary file, and the finished run has one metrics row per epoch.
set -u
revnet=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
run=$dir/run
epochs=6
args=(train --data synthetic:1x8x8:3 --batch 250 --epochs $epochs --run-dir "$run")  # 20 steps an epoch
fail() { echo "$*"; exit 1; }
start() {
  if [ -e "$run/checkpoint.safetensors" ]; then
    "$revnet" "${args[@]}" --resume "$run/checkpoint.safetensors" >>"$dir/log" 2>&1 &
  else
    "$revnet" "${args[@]}" --overwrite >>"$dir/log" 2>&1 &
  fi
  pid=$!
}
RANDOM=7
midsave=0
for round in $(seq 4); do
  start
  if [ $((round % 2)) -eq 0 ]; then
    # Wait for a save to begin, then kill it part-way.
    for _ in $(seq 200000); do
      compgen -G "$run/checkpoint.safetensors.tmp-*" >/dev/null && break
      kill -0 "$pid" 2>/dev/null || break
    done
    compgen -G "$run/checkpoint.safetensors.tmp-*" >/dev/null && midsave=$((midsave + 1))
  else
    sleep "$((RANDOM % 30 / 10)).$((RANDOM % 10))"
  fi
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if [ -e "$run/checkpoint.safetensors" ]; then
    "$revnet" eval "$run/checkpoint.safetensors" >"$dir/eval.log" 2>&1 || { cat "$dir/eval.log"; fail "round $round: the checkpoint does not load"; }
  fi
  echo "round $round: killed; checkpoint $( [ -e "$run/checkpoint.safetensors" ] && grep -o 'test loss.*' "$dir/eval.log" || echo none)"
done
start
wait "$pid" || { tail -20 "$dir/log"; fail "the last run failed"; }
rows=$(tail -n +2 "$run/metrics.csv" | cut -d, -f2 | tr '\n' ' ')
[ "$rows" = "$(seq -s ' ' $epochs) " ] || fail "metrics.csv has epoch rows '$rows'"
stray=$(ls -A "$run" | grep -v -x -e metrics.csv -e checkpoint.safetensors -e .revnet.lock)
[ -z "$stray" ] || fail "stray files in the run directory: $stray"
echo "killed $midsave saves part-way; kill -9 checks passed"
