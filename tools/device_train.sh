#!/usr/bin/env bash
# Train several tasks side by side on one GPU of a device session, continuing packed runs.
#
# Each task continues from .carry/runs/TASK.pt if present, else from the shipped
# weights/TASK.pt (its model card holds the run's config, step and compute log).
# Here, before the call:
#   python tools/pack_data.py --max-side 480 --quality 85      # .carry/data (~25 MiB)
#   irsde pack runs/TASK --out .carry/runs/TASK.pt --ema-only  # only if runs/TASK is newer than weights/
#   pkill -f train_cpu.sh                                      # the GPU run supersedes CPU runs
# The device call (carry [".carry"]), e.g. 9 minutes of training for four tasks:
#   bash tools/device_train.sh 9 denoise deblur sr inpaint
# Back here, for each task:
#   irsde unpack /work/.device/.../TASK.pt --out runs/TASK     # then CPU training resumes it
#
# $OUT receives TASK.pt (packed, EMA only, ~6.3 MB each) and one train.log; at most
# 8 files and 64 MiB come back, so at most 7 tasks per call.
set -u
minutes=$1
shift
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 IRSDE_DATA_DIR=/tmp/irsde OMP_NUM_THREADS=2
py=${PYTHON:-python3}
out=${OUT:-/tmp/out}
mkdir -p "$out" /tmp/runs
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
data=$(ls -d .carry/data/*/ | grep -v val_)
pids=()
for task in "$@"; do
  if [ -f ".carry/runs/$task.pt" ]; then
    $py -m irsde_gui.cli unpack ".carry/runs/$task.pt" --out "/tmp/runs/$task"
  elif [ -f "weights/$task.pt" ]; then
    $py -m irsde_gui.cli unpack "weights/$task.pt" --out "/tmp/runs/$task"
  fi
  # Deblur is validated as it is judged: whole photos, the benchmark kernels (never trained on).
  extra=""
  [ "$task" = deblur ] && [ -f .carry/kernels/levin09.npz ] &&
    extra="--val-crop 0 --val-steps 1 --val-kernels .carry/kernels/levin09.npz"
  resume=""
  [ -f "/tmp/runs/$task/checkpoint.pt" ] && resume="--resume"
  $py -m irsde_gui.cli train --task "$task" --data $data --val .carry/data/val_cbsd68 \
    --out "/tmp/runs/$task" --iters 200000 --batch "${BATCH:-48}" --patch "${PATCH:-128}" \
    --minutes "$minutes" --device "${DEVICE:-cuda}" --log-every 100 --val-every 1000 --ckpt-minutes 2 \
    $extra $resume ${COMPILE:+--compile} -q > "/tmp/runs/$task.log" 2>&1 &
  pids+=($!)
done
wait "${pids[@]}"
for task in "$@"; do
  echo "== $task"; tail -n 3 "/tmp/runs/$task/log.csv" 2>/dev/null; tail -n 2 "/tmp/runs/$task/validation.csv" 2>/dev/null
  tail -n 5 "/tmp/runs/$task.log"
  $py -m irsde_gui.cli pack "/tmp/runs/$task" --out "$out/$task.pt" --ema-only
done 2>&1 | tee "$out/train.log"
