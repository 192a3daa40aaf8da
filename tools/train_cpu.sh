#!/usr/bin/env bash
# Keep CPU training going in the background, one task at a time in turn.
# Every task's run lives in runs/TASK and resumes where it stopped, so the
# compute of every session (CPU or GPU) adds up. Stop it, with a checkpoint, with:
#   pkill -f train_cpu.sh; pkill -TERM -f "cli train --task"
#
#   tools/train_cpu.sh [MINUTES_PER_TURN] [TASK...]
#
# A TASK may name a run of its own, TASK_NAME (sr_lowres: an sr network of another shape),
# kept in runs/TASK_NAME and training/TASK_NAME.pt; it continues only from those, never from
# the shipped model, and its variables below take its whole name (IRSDE_TRAIN_ITERS_SR_LOWRES).
#
# IRSDE_TRAIN_ITERS sets where every task's cosine schedule ends (default 200k; deblur 100k);
# IRSDE_TRAIN_ITERS_SR (and so on) one task's.
set -u
cd "$(dirname "$0")/.."
minutes=${1:-20}
shift || true
tasks=${*:-"dehaze derain sr inpaint deblur denoise"}
root=$PWD
mkdir -p runs  # a fresh checkout has none: the logs and runs live here
data=$(realpath "${IRSDE_TRAIN_DATA:-../shared/data/train}")
val=$(realpath "${IRSDE_VAL_DATA:-../shared/data/val/cbsd68}")
kernels=$(realpath "${IRSDE_VAL_KERNELS:-../shared/data/kernels/levin09.npz}")
pairs=$(realpath -m "${IRSDE_VAL_PAIRS:-../shared/data/val/polyu_real_noise}")
threads=${IRSDE_TRAIN_THREADS:-2}
# Two 1-thread replicas (data-parallel, gloo) on a 2-core machine: IRSDE_TRAIN_PROCS=2
# IRSDE_TRAIN_THREADS=1. For deblur's 128 px patches they train about as fast as one 2-thread
# process (14.3-14.8 patches a second against 15-16, measured with the CPU otherwise idle).
procs=${IRSDE_TRAIN_PROCS:-1}
launch="python -m irsde_gui.cli"
[ "$procs" -gt 1 ] && launch="torchrun --standalone --nproc_per_node $procs -m irsde_gui.cli"
while true; do
  for run in $tasks; do
    task=${run%%_*}
    # Haze, holes and large blur kernels need context: bigger patches, fewer of them.
    case "$task" in
      # x4 from real photos needs the low-res patch to hold JPEG blocks and noise: 32 px at least.
      # Heavy rain's veil is haze: at 64 px (to step 26k) the derain run removed the streaks of a
      # downpour but left its veil (resources/examples/coffee_downpour.png).
      dehaze|inpaint|deblur|sr|derain) patch=128; batch=8 ;;
      *) patch=64; batch=16 ;;
    esac
    # One task's patch and batch alone: IRSDE_TRAIN_PATCH_INPAINT=256 IRSDE_TRAIN_BATCH_INPAINT=4
    # (inpainting ends on large patches, so that it learns to carry structure across wide holes).
    up=$(echo "$run" | tr a-z A-Z)
    per_patch="IRSDE_TRAIN_PATCH_$up" per_batch="IRSDE_TRAIN_BATCH_$up"
    patch=${!per_patch:-$patch} batch=${!per_batch:-$batch}
    # Patches from shrunk photos too: IRSDE_TRAIN_RESCALE_INPAINT=0.25 (the coarse passes run
    # the inpainting network on the photo at half and quarter size).
    per_rescale="IRSDE_TRAIN_RESCALE_$up"
    rescale=${!per_rescale:+--rescale ${!per_rescale}}
    # Fine-tune for PSNR with the squared error: IRSDE_TRAIN_LOSS_SR_LOWRES=x0_l2 (a resumed run
    # keeps its loss unless given one).
    per_loss="IRSDE_TRAIN_LOSS_$up"
    loss=${!per_loss:+--loss ${!per_loss}}
    # Another training mix (irsde train --degradation): IRSDE_TRAIN_MIX_SR_LOWRES=photos.
    per_mix="IRSDE_TRAIN_MIX_$up"
    mix=${!per_mix:+--degradation ${!per_mix}}
    # Deblur is validated as it is judged: whole photos, the benchmark kernels (never trained on).
    extra=""
    [ "$task" = deblur ] && extra="--val-crop 0 --val-steps 1 --val-kernels $kernels --val-every 1000"
    # Denoise is judged on real camera noise: score real noisy/clean pairs beside the Gaussian set.
    [ "$task" = denoise ] && [ -d "$pairs" ] && extra="--val-steps 1 --val-pairs $pairs"
    # x4 is judged on clean bicubic photos and on practical ones (blur, noise, JPEG) alike.
    [ "$task" = sr ] && extra="--val-steps 1 --val-degradation practical"
    # Inpainting is for removing objects, derain for rain as it falls: score those too.
    [ "$task" = inpaint ] && extra="--val-steps 1 --val-degradation objects"
    [ "$task" = derain ] && extra="--val-steps 1 --val-degradation heavy"
    # The cosine schedule's end (--iters). Deblur's ends early so that CPU sessions reach a low
    # learning rate: 110k, continued from step 66.8k for 4.3k steps against 200k, scored
    # +0.10 dB on its 8 validation photos (24 benchmark photos: +0.03 +/- 0.03 dB, at the best
    # shift +0.08 +/- 0.03). After an annealed GPU run (tools/device_train.sh) to 77.4k
    # (validation 23.11 dB), 110k's rate (1.9e-4 at batch 16) lost it again: 23.16, 23.14,
    # 22.99 dB at 78k-80k; 100k (1e-4 there) gave 23.16, 23.16, 23.06 and anneals sooner.
    # (Those rates are unscaled. A run that records lr_batch, as the deblur run in training/ does
    # since it started on a GPU at batch 192, scales them by sqrt(16 / 192) here: 2.9e-4 at most.)
    iters=${IRSDE_TRAIN_ITERS:-200000}
    [ "$task" = deblur ] && iters=${IRSDE_TRAIN_ITERS:-100000}
    # One task's end alone: IRSDE_TRAIN_ITERS_DENOISE=24000 and the like.
    per_task="IRSDE_TRAIN_ITERS_$up"
    iters=${!per_task:-$iters}
    # A run in progress kept in the repository (training/) continues where it stopped; with
    # none, the shipped model does (its card keeps counting), as tools/device_train.sh does.
    # If it cannot be unpacked the task is skipped: starting it over would throw its steps away.
    packed="training/$run.pt"
    [ -f "$packed" ] || [ "$run" != "$task" ] || packed="weights/$task.pt"
    if [ "$run" != "$task" ] && [ ! -f "runs/$run/checkpoint.pt" ] && [ ! -f "$packed" ]; then
      echo "$run: neither runs/$run nor $packed to continue; skipped" >>"runs/$run.log"
      done_tasks="${done_tasks:-} $run"
      continue
    fi
    if [ ! -f "runs/$run/checkpoint.pt" ] && [ -f "$packed" ] &&
      ! python -m irsde_gui.cli unpack "$packed" --out "runs/$run" >>"runs/$run.log" 2>&1; then
      echo "$run: $packed could not be unpacked; skipped" >>"runs/$run.log"
      sleep 60
      continue
    fi
    resume=""
    [ -f "runs/$run/checkpoint.pt" ] && resume="--resume"
    # A run that has reached its end is left alone (a larger IRSDE_TRAIN_ITERS continues it).
    if [ -n "$resume" ] && python -c "import sys, torch
sys.exit(torch.load('runs/$run/checkpoint.pt', map_location='cpu', weights_only=False)['step'] < $iters)"; then
      echo "$run: finished at $iters iterations" >>"runs/$run.log"
      done_tasks="${done_tasks:-} $run"
      continue
    fi
    # Each turn runs a snapshot of the code: editing the source while it trains must not break
    # a lazy import (validation) halfway through a turn.
    # One snapshot per task, so that two loops (one per core) never delete each other's.
    code="runs/.code-$run"
    rm -rf "$code" && mkdir -p "$code" && cp -r irsde_gui "$code/"
    (cd "$code" && $launch train --task "$task" --data "$data"/* --val "$val" \
      --val-limit 8 --val-every 2000 --out "$root/runs/$run" --iters "$iters" --batch "$batch" \
      --patch "$patch" --threads "$threads" --minutes "$minutes" $extra $rescale $loss $mix $resume) >>"runs/$run.log" 2>&1
  done
  # Every task finished: stop rather than spin.
  [ "$(echo ${done_tasks:-} | wc -w)" -ge "$(echo $tasks | wc -w)" ] && exit 0
  done_tasks=""
done
