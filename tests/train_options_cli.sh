#!/usr/bin/env bash
# train_options_cli.sh REVNET DIR: every `revnet train` option reaches the run's configuration,
# as the checkpoint's header records it (a JSON string inside the safetensors JSON header).
set -u
revnet=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
fail() { echo "$*"; exit 1; }
# A small CIFAR-10 directory: 20 random colour images a file, labels 0-9.
mkdir -p "$dir/cifar"
for name in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
  for i in $(seq 0 19); do printf "\\x0$((i % 10))"; head -c 3072 /dev/urandom; done >"$dir/cifar/$name.bin"
done
"$revnet" train --data "$dir/cifar" --epochs 1 --batch 20 --no-flip --pad 2 --lr 0.05 --lr-decay 4 \
  --milestones 0.3,0.6 --momentum 0.8 --weight-decay 0.001 --nesterov --seed 9 --backprop stored \
  --model resnet-32 --run-dir "$dir/run" >"$dir/log" 2>&1 || { cat "$dir/log"; fail "training failed"; }
header=$(head -c 4096 "$dir/run/checkpoint.safetensors" | tr -d '\0')
for expected in '\"backprop\":\"stored\"' '\"batch\":20,' '\"epochs\":1' '\"flip\":0' '\"lr\":0.0500000' \
    '\"lr_decay\":0.25' '\"milestones\":[0.30000001192092896,0.6000000238418579]' '\"model\":\"resnet-32\"' \
    '\"momentum\":0.800000' '\"nesterov\":true' '\"pad\":2' '\"seed\":9' '\"weight_decay\":0.0010000000'; do
  grep -qF -- "$expected" <<<"$header" || fail "the checkpoint's configuration lacks $expected"
done
# Colour 32x32 data defaults to 4-pixel crops and flips.
"$revnet" train --data "$dir/cifar" --epochs 1 --batch 20 --run-dir "$dir/defaults" >"$dir/log" 2>&1 ||
  { cat "$dir/log"; fail "training failed"; }
header=$(head -c 4096 "$dir/defaults/checkpoint.safetensors" | tr -d '\0')
for expected in '\"flip\":1' '\"pad\":4' '\"nesterov\":false' '\"backprop\":\"reversible\"'; do
  grep -qF -- "$expected" <<<"$header" || fail "the default configuration lacks $expected"
done
echo "train options checks passed"
