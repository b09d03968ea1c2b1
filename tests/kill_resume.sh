#!/usr/bin/env bash
# kill_resume.sh REVNET DIR: SIGKILL never costs the last good checkpoint, whether it lands at a
# random moment or in the middle of a save. For the latter, strace holds the save's fsync for two
# seconds (its temporary file written, not yet renamed) and the kill lands then. After every kill
# the checkpoint in the run directory is whole (the next run resumes from it, or it is byte for
# byte the one before), the next run clears the killed save's temporary file, and the finished
# run has one metrics row per epoch.
set -u
revnet=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
command -v strace >/dev/null || { echo "strace is missing: tools/install-deps.sh --tests installs it"; exit 1; }
run=$dir/run
epochs=4
args=(train --data synthetic:1x8x8:3:1000 --batch 50 --epochs $epochs --run-dir "$run")  # 20 steps an epoch
fail() { echo "$*"; exit 1; }
digest() { [ -e "$run/checkpoint.safetensors" ] && md5sum <"$run/checkpoint.safetensors" || echo none; }
# Starts a run, resuming when there is a checkpoint, with any command put before revnet's.
start() {
  local resume=(--overwrite)
  [ -e "$run/checkpoint.safetensors" ] && resume=(--resume "$run/checkpoint.safetensors")
  "$@" "$revnet" "${args[@]}" "${resume[@]}" >>"$dir/log" 2>&1 &
  pid=$!
}
RANDOM=7
for round in $(seq 4); do
  before=$(digest)
  if [ $((round % 2)) -eq 0 ]; then
    start strace -f --seccomp-bpf -qq -o /dev/null -e trace=fsync -e inject=fsync:delay_enter=2000000:when=1
    temporary=
    for _ in $(seq 600); do  # this run's save's temporary file (named for its pid), within a minute
      child=$(pgrep -P "$pid" -x revnet) && [ -e "$run/checkpoint.safetensors.tmp-$child" ] &&
        temporary=$run/checkpoint.safetensors.tmp-$child && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    [ -n "$temporary" ] || { tail -20 "$dir/log"; fail "round $round: no save began"; }
    kill -9 "$child"  # revnet, held in its save's fsync; strace exits when the delay is over
    wait "$pid" 2>/dev/null
    [ -e "$temporary" ] || fail "round $round: the killed save's temporary file is gone; the kill came too late"
    [ "$(digest)" = "$before" ] || fail "round $round: a save killed part-way changed the checkpoint"
  else
    start
    # The first round waits for a checkpoint, so that the later kills have one to lose.
    while [ "$round" -eq 1 ] && [ ! -e "$run/checkpoint.safetensors" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    sleep "$((RANDOM % 20 / 10)).$((RANDOM % 10))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  # After a save killed part-way the checkpoint is byte for byte the one before; after a random
  # kill the next run resumes from it, which reads and checks every byte (a failure would be an
  # error in the log).
  echo "round $round: killed; checkpoint $(digest)"
done
start
wait "$pid" || { tail -20 "$dir/log"; fail "the last run failed"; }
! grep "revnet train: error" "$dir/log" || fail "a run could not resume from the checkpoint a kill left"
rows=$(tail -n +2 "$run/metrics.csv" | cut -d, -f2 | tr '\n' ' ')
[ "$rows" = "$(seq -s ' ' $epochs) " ] || fail "metrics.csv has epoch rows '$rows'"
stray=$(ls -A "$run" | grep -v -x -e metrics.csv -e curves.svg -e checkpoint.safetensors -e .revnet.lock)
[ -z "$stray" ] || fail "stray files in the run directory: $stray"
echo "kill -9 checks passed"
