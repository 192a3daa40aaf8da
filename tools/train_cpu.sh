#!/usr/bin/env bash
# Keep CPU training going in the background, one task at a time in turn.
# Every task's run lives in runs/TASK and resumes where it stopped, so the
# compute of every session (CPU or GPU) adds up. Stop it, with a checkpoint, with:
#   pkill -f train_cpu.sh; pkill -TERM -f "cli train --task"
#
#   tools/train_cpu.sh [MINUTES_PER_TURN] [TASK...]
set -u
cd "$(dirname "$0")/.."
minutes=${1:-20}
shift || true
tasks=${*:-"dehaze derain sr inpaint deblur denoise"}
root=$PWD
data=$(realpath "${IRSDE_TRAIN_DATA:-../shared/data/train}")
val=$(realpath "${IRSDE_VAL_DATA:-../shared/data/val/cbsd68}")
kernels=$(realpath "${IRSDE_VAL_KERNELS:-../shared/data/kernels/levin09.npz}")
threads=${IRSDE_TRAIN_THREADS:-2}
# On a 2-core machine two 1-thread replicas (data-parallel, gloo) train twice as many patches a
# second as one 2-thread process: IRSDE_TRAIN_PROCS=2 IRSDE_TRAIN_THREADS=1.
procs=${IRSDE_TRAIN_PROCS:-1}
launch="python -m irsde_gui.cli"
[ "$procs" -gt 1 ] && launch="torchrun --standalone --nproc_per_node $procs -m irsde_gui.cli"
while true; do
  for task in $tasks; do
    # Haze, holes and large blur kernels need context: bigger patches, fewer of them.
    case "$task" in
      dehaze|inpaint|deblur) patch=128; batch=8 ;;
      *) patch=64; batch=16 ;;
    esac
    # Deblur is validated as it is judged: whole photos, the benchmark kernels (never trained on).
    extra=""
    [ "$task" = deblur ] && extra="--val-crop 0 --val-steps 1 --val-kernels $kernels --val-every 1000"
    resume=""
    [ -f "runs/$task/checkpoint.pt" ] && resume="--resume"
    # Each turn runs a snapshot of the code: editing the source while it trains must not break
    # a lazy import (validation) halfway through a turn.
    rm -rf runs/.code && mkdir -p runs/.code && cp -r irsde_gui runs/.code/
    (cd runs/.code && $launch train --task "$task" --data "$data"/* --val "$val" \
      --val-limit 8 --val-every 2000 --out "$root/runs/$task" --iters 200000 --batch "$batch" \
      --patch "$patch" --threads "$threads" --minutes "$minutes" $extra $resume) >>"runs/$task.log" 2>&1
  done
done
