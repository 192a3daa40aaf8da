#!/usr/bin/env bash
# Train several tasks side by side on one GPU of a device session, continuing packed runs.
#
# Each run continues from .carry/runs/RUN.pt if present, else from training/RUN.pt (a run in
# progress kept in the repository), else from the shipped weights/TASK.pt (its model card
# holds the run's config, step and compute log); INIT_RUN=weights/X.pt starts a new run from
# those weights instead (the same network). A run named TASK_LABEL trains TASK.
# Here, before the call:
#   python tools/pack_data.py --max-side 480 --quality 85      # .carry/data (~25 MiB)
#   irsde pack runs/TASK --out .carry/runs/TASK.pt --ema-only  # only if runs/TASK is newer than weights/
#   pkill -f train_cpu.sh                                      # the GPU run supersedes CPU runs
# The device call (carry [".carry"], timeout_s 600), e.g. 8.3 minutes of training for six tasks,
# each TASK=ITERS setting where its cosine schedule ends (the step schedule gives the peak rate;
# ANNEAL=1 warms up again and decays to the floor rate by the end of the call):
#   ANNEAL=1 bash tools/device_train.sh 8.3 deblur=150000 denoise=200000 sr=200000 ...
# Back here, for each task:
#   irsde unpack /work/.device/.../TASK.pt --out runs/TASK     # then CPU training resumes it
#   cp /work/.device/.../TASK.pt training/TASK.pt              # a run that does not ship yet: commit it
#
# Measured (2026-11-27, one H200, eager bf16, channels-last):
# - six tasks side by side at batch 48 x 128²: 1,250 patches/s in all, the GPU 100 % busy
#   (dehaze half the rate of the others; its depth maps were then drawn on the CPU);
# - deblur alone at batch 192: 990 patches/s, the GPU 30-80 % busy. A step took 178 ms, of
#   which the CPU spent about 55 ms making the batch (22 ms cropping, 33 ms drawing kernels,
#   measured here) and the rest launching eager ops;
# - two deblur runs side by side at batch 192: ~850 patches/s each (1,700 in all), and one at
#   batch 384: ~1,450; the GPU 100 % busy in both, so larger batches or two processes hide the
#   batch-making;
# - two CPU replicas here: about 31 patches/s.
# 1,450 patches/s is only ~9 TFLOP/s (6.0 GFLOP per 128² patch, forward and backward, by
# torch.utils.flop_counter) of an H200's bf16: the step is bound by many small eager kernels.
# COMPILE=1 (passes --compile, which fuses them; it trains on the CPU here after about 3 minutes
# of compiling) is the next thing to measure. If compiling fails, the trainer goes on uncompiled
# (the log says why, the session records compile_error), so the call is not lost.
# For deblur alone: ANNEAL=1 BATCH=384 bash tools/device_train.sh 8.6 deblur=60000
#
# $OUT receives TASK.pt (packed, EMA only, ~4.4 MB each) and one train.log (every trainer's
# output, GPU utilisation every 20 s); at most 8 files and 64 MiB come back, so at most 7 tasks.
# Every trainer is stopped (SIGTERM: it saves a checkpoint) 45 s after its time is up, so the
# packs are written inside the call's limit even if a validation runs late.
set -u
minutes=$1
shift
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 IRSDE_DATA_DIR=/tmp/irsde OMP_NUM_THREADS=2
py=${PYTHON:-python3}
out=${OUT:-/tmp/out}
log="$out/train.log"
mkdir -p "$out" /tmp/runs
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  $py -c "import sys, torch, numpy, cv2; print(sys.version.split()[0], 'torch', torch.__version__, 'numpy', numpy.__version__, 'cv2', cv2.__version__)"
} >>"$log" 2>&1
data=$(ls -d .carry/data/*/ | grep -v val_)
(while sleep 20; do
  echo "$(date -u +%T) gpu $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader)"
done >>/tmp/runs/gpu.log 2>&1) &
watcher=$!
limit=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 + 45 }')

train_one() { # RUN or RUN=ITERS; a run named TASK_LABEL (deblur_scratch) trains TASK
  local run=${1%%=*} iters=${1#*=}
  local task=${run%%_*}
  [ "$iters" = "$1" ] && iters=""
  local init_var="INIT_$run" init=""
  if [ -f "/tmp/runs/$run/checkpoint.pt" ]; then
    : # a second call on the same warm machine continues where the first stopped
  elif [ -f ".carry/runs/$run.pt" ]; then
    $py -m irsde_gui.cli unpack ".carry/runs/$run.pt" --out "/tmp/runs/$run"
  elif [ -f "training/$run.pt" ]; then # a run in progress, kept in the repository
    $py -m irsde_gui.cli unpack "training/$run.pt" --out "/tmp/runs/$run"
  elif [ -n "${!init_var:-}" ]; then # INIT_deblur=weights/denoise.pt: a new run from those weights
    init="--init ${!init_var}"
  elif [ "$run" = "$task" ] && [ -f "weights/$task.pt" ]; then
    $py -m irsde_gui.cli unpack "weights/$task.pt" --out "/tmp/runs/$task"
  fi
  # Deblur is validated as it is judged: whole photos, the benchmark kernels (never trained on).
  local extra=""
  [ "$task" = deblur ] && [ -f .carry/kernels/levin09.npz ] &&
    extra="--val-crop 0 --val-steps 1 --val-kernels .carry/kernels/levin09.npz"
  local resume=""
  [ -f "/tmp/runs/$run/checkpoint.pt" ] && resume="--resume"
  timeout -s TERM -k 30 "$limit" \
    $py -m irsde_gui.cli train --task "$task" --data $data --val .carry/data/val_cbsd68 \
    --out "/tmp/runs/$run" ${iters:+--iters "$iters"} --batch "${BATCH:-48}" --patch "${PATCH:-128}" \
    --minutes "$minutes" ${ANNEAL:+--anneal} --device "${DEVICE:-cuda}" --log-every 100 \
    --val-every "${VAL_EVERY:-1000}" --ckpt-minutes 2 $extra $resume $init ${COMPILE:+--compile} -q
  echo "exit status $?"
}

pids=()
for spec in "$@"; do
  train_one "$spec" >"/tmp/runs/${spec%%=*}.log" 2>&1 &
  pids+=($!)
done
wait "${pids[@]}"
kill "$watcher" 2>/dev/null
for spec in "$@"; do
  run=${spec%%=*}
  (
    echo "== $run"
    tail -n 3 "/tmp/runs/$run/log.csv" 2>/dev/null
    tail -n 6 "/tmp/runs/$run/validation.csv" 2>/dev/null
    tail -n 8 "/tmp/runs/$run.log"
    $py -m irsde_gui.cli pack "/tmp/runs/$run" --out "$out/$run.pt" --ema-only
  ) >"/tmp/runs/$run.summary" 2>&1 &
done
wait
for spec in "$@"; do cat "/tmp/runs/${spec%%=*}.summary"; done >>"$log"
cat /tmp/runs/gpu.log >>"$log"
cat "$log"
