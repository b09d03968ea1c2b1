#!/usr/bin/env bash
# report_cli.sh REVNET DIR: `revnet report` on a run that trained and two written by hand prints
# each run's last-epoch figures and best test accuracy as its metrics.csv has them and writes one
# chart; a directory without metrics.csv, or no directory, is an error naming the problem.
set -u
revnet=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir/a" "$dir/b"
fail() { echo "$*"; exit 1; }
"$revnet" train --data synthetic:1x8x8:4:200 --batch 20 --epochs 2 --run-dir "$dir/trained" >"$dir/train.log" 2>&1 ||
  { cat "$dir/train.log"; fail "the training run failed"; }
header="step,epoch,lr,train_loss,train_accuracy,test_loss,test_accuracy,images_per_second,peak_device_mib"
printf '%s\n10,1,0.1,2.5,0.25,2.25,0.5,40,12\n20,2,0.1,1.5,0.5,1.75,0.625,60,13\n30,3,0.01,1.25,0.75,1.5,0.5,50,11\n' \
  "$header" >"$dir/a/metrics.csv"
printf '%s\n' "$header" >"$dir/b/metrics.csv"  # no epoch finished yet
"$revnet" report "$dir/trained" "$dir/a/" "$dir/b" --output "$dir/chart.svg" >"$dir/report.log" 2>&1 ||
  { cat "$dir/report.log"; fail "report failed"; }
cat "$dir/report.log"
# Run a: last epoch 3, losses 1.25 / 1.5, accuracies 75% / 50%; best test 62.50% at epoch 2;
# images/s the mean 50.0, peak 13.0 MiB.
grep -Eq '^a +3 +1\.2500 +75\.00% +1\.5000 +50\.00% +62\.50% \(2\) +50\.0 +13\.0$' "$dir/report.log" || fail "run a's row is wrong"
grep -Eq '^b +0 +\(no epoch finished\)$' "$dir/report.log" || fail "run b's row is wrong"
last=$(tail -n 1 "$dir/trained/metrics.csv")
IFS=, read -r _ epoch _ train_loss _ test_loss _ _ _ <<<"$last"
expected=$(printf 'trained +%s +%.4f .* %.4f ' "$epoch" "$train_loss" "$test_loss")
grep -Eq "^$expected" "$dir/report.log" || fail "the trained run's row does not match its metrics.csv ($last)"
[ "$(grep -c "class='curve'" "$dir/chart.svg")" -eq 8 ] || fail "the chart does not hold 4 curves for each of 2 drawn runs"
grep -q "chart: $dir/chart.svg" "$dir/report.log" || fail "the chart's file is not named"

"$revnet" report "$dir/a" "$dir/missing" --output "$dir/other.svg" >"$dir/missing.log" 2>&1
code=$?
cat "$dir/missing.log"
[ "$code" -eq 1 ] || fail "a run directory without metrics exited with $code, not 1"
grep -q "cannot read $dir/missing/metrics.csv" "$dir/missing.log" || fail "the missing metrics file is not named"
[ ! -e "$dir/other.svg" ] || fail "a failed report wrote a chart"
"$revnet" report >"$dir/none.log" 2>&1
[ $? -eq 2 ] || fail "report without directories is not a usage error"
echo "report checks passed"
