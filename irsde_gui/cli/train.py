"""``irsde train``: train a task's network, or continue a run."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..core.runs import format_duration, plural
from ..core.tasks import TASKS
from ..core.weights import WeightsError
from .common import EXIT_OK, EXIT_USAGE, error

# As training.train.LOSSES, without loading PyTorch for --help.
LOSS_NAMES = ("x0", "x0_l2", "ml", "ml_x0")


def train_config(args: argparse.Namespace):
    """The run's config from the options given, and those of them a resumed run may change."""
    from ..training.train import RESUME_OVERRIDABLE, TrainConfig  # deferred: PyTorch

    given = {
        "iters": args.iters,
        "batch": args.batch,
        "patch": args.patch,
        "lr": args.lr,
        "loss": args.loss,
        "seed": args.seed,
        "data": args.data,
        "val_data": args.val,
        "val_every": args.val_every,
        "val_limit": args.val_limit,
        "val_crop": args.val_crop,
        "val_steps": args.val_steps,
        "val_kernels": str(Path(args.val_kernels).resolve()) if args.val_kernels else None,
        "ckpt_every": args.ckpt_every,
        "ckpt_minutes": args.ckpt_minutes,
        "log_every": args.log_every,
        "t_focus": args.t_focus,
        "degradation": args.degradation,
        "val_pairs": str(Path(args.val_pairs).resolve()) if args.val_pairs else None,
        "val_preset": args.val_degradation,
        "rescale": args.rescale,
    }
    given = {k: v for k, v in given.items() if v is not None}
    cfg = TrainConfig(task=args.task, **{"data": [], **given})
    if args.network:
        cfg.network = json.loads(args.network)
    overrides = {k: v for k, v in given.items() if k in RESUME_OVERRIDABLE}
    return cfg, overrides


def train_logger(args: argparse.Namespace):
    """What ``irsde train`` shows as it trains: a progress line, validations and notes (rank 0 only)."""

    def log(d: dict) -> None:
        if int(os.environ.get("RANK", "0")) != 0:
            return
        if d["kind"] == "note":  # shown even with --quiet: it changes how the run trains
            sys.stderr.write(f"\nirsde: {d['text']}\n")
            return
        if args.quiet:
            return
        if d["kind"] == "train":
            left = (d["iters"] - d["step"]) / max(d["it_per_s"], 1e-9)
            msg = (
                f"\r{args.task} step {d['step']}/{d['iters']}  loss {d['loss']:.4f}  "
                f"{d['it_per_s']:.2f} it/s  {d['patches_per_s']:.0f} patches/s  "
                f"lr {d['lr']:.2e}  {format_duration(left)} left"
            )
            sys.stderr.write(msg.ljust(110))
            sys.stderr.flush()
        else:
            sys.stderr.write(
                f"\n{args.task} validation at step {d['step']}: input {d['psnr_input']:.2f} dB"
                f" -> {d['psnr']:.2f} dB, SSIM {d['ssim']:.3f}"
                f" ({plural(d['steps'], 'step')}, {d['protocol']})"
                + "".join(
                    f"; {k[: -len('_psnr')].replace('_', ' ')} {d[k + '_input']:.2f} dB -> {d[k]:.2f} dB"
                    for k in d
                    if k.endswith("_psnr") and k + "_input" in d
                )
                + "\n"
            )

    return log


def cmd_train(args: argparse.Namespace) -> int:
    import torch  # deferred: PyTorch and OpenCV, only for irsde train

    from ..training.train import Trainer

    if args.anneal and not args.minutes:
        print("error: --anneal needs --minutes (the time over which the rate decays)", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg, overrides = train_config(args)
    log = train_logger(args)
    try:
        trainer = Trainer(
            cfg,
            args.out,
            device=args.device,
            resume=args.resume,
            compile=args.compile,
            log=log,
            overrides=overrides,
            init_from=args.init,
        )
    except (FileExistsError, FileNotFoundError, ValueError, WeightsError) as exc:
        error(str(exc))
        return EXIT_USAGE
    if trainer.dist.main and not args.quiet:
        from ..core.nets import count_parameters  # deferred: PyTorch

        print(
            f"irsde: training {args.task} ({count_parameters(trainer.net) / 1e6:.2f} M parameters) "
            f"on {trainer.device.describe()} x{trainer.dist.world}, {len(trainer.data)} photos, "
            f"from step {trainer.state.step}",
            file=sys.stderr,
        )
    final = trainer.run(max_seconds=args.minutes * 60 if args.minutes else None, anneal=args.anneal)
    if trainer.dist.main and not args.quiet:
        print(
            f"\nirsde: stopped at step {final.step}; {final.seconds / 60:.1f} min of compute in all; "
            f"checkpoint in {args.out}",
            file=sys.stderr,
        )
    if trainer.dist.enabled:
        import torch.distributed as dist  # deferred: PyTorch

        # No rank tears its connections down while another is still finishing the last
        # checkpoint's collectives.
        dist.barrier()
        dist.destroy_process_group()
    return EXIT_OK


def add_train_command(sub) -> None:
    t = sub.add_parser("train", help="train a task's network (resumable; runs under torchrun too)")
    t.add_argument("--task", required=True, choices=list(TASKS))
    t.add_argument("--data", nargs="+", help="folders of clean training photos")
    t.add_argument("--out", required=True, help="run folder (checkpoint, logs)")
    t.add_argument("--iters", type=int, help="total iterations of the run (default 100000)")
    t.add_argument("--batch", type=int, help="patches per iteration, per process (default 16)")
    t.add_argument("--patch", type=int, help="patch size in px (default 128)")
    t.add_argument("--lr", type=float)
    t.add_argument("--loss", choices=LOSS_NAMES, help="training loss (default x0; x0_l2 fine-tunes for PSNR)")
    t.add_argument("--network", help="network config as JSON (default: the task's)")
    t.add_argument("--seed", type=int)
    t.add_argument("--val", nargs="+", help="folders of clean validation photos")
    t.add_argument(
        "--val-pairs",
        metavar="DIR",
        help="also validate on real pairs: DIR/noisy (or DIR/degraded) and DIR/clean, matched by name",
    )
    t.add_argument(
        "--val-degradation",
        metavar="NAME",
        help="also validate under this evaluation degradation (as irsde eval --degradation), e.g. sr "
        "'practical'",
    )
    t.add_argument("--val-every", type=int)
    t.add_argument("--val-limit", type=int)
    t.add_argument("--val-crop", type=int, help="validate on center crops of this size; 0: whole photos")
    t.add_argument("--val-steps", type=int, help="sampler steps in validation (default: the task's)")
    t.add_argument(
        "--val-kernels", help="deblur: validate with these blur kernels (.npz), as irsde eval --kernels does"
    )
    t.add_argument("--ckpt-every", type=int)
    t.add_argument("--ckpt-minutes", type=float)
    t.add_argument("--log-every", type=int)
    t.add_argument(
        "--t-focus",
        type=float,
        metavar="SHARE",
        help="share of samples drawn late in the process (t >= 0.75 T), where 1-2 step restorations "
        "call the network (default 0: uniform over 1..T)",
    )
    t.add_argument(
        "--degradation",
        metavar="MIX",
        help="what the network learns to undo, the first named being the default: denoise "
        "'camera' (camera noise, JPEG and Gaussian noise), 'sharpened' (the same, with the grain of "
        "half the camera photos sharpened), 'faded_colour' (their colour noise weakened, as "
        "cameras' colour noise reduction leaves it), 'tone_shaped' (and the noise weakened in "
        "shadows and highlights, as camera tone curves leave it), 'colour_nr' or 'gaussian'; sr "
        "'practical' (blur, resize, noise, JPEG, often twice), 'photos' (a third of them saved once: "
        "slight blur, one shrink, a little noise, one JPEG) or 'bicubic'; derain 'rain' or 'light'; inpaint "
        "'removal', 'strokes' or 'objects' (object blobs 80 %%, not 45 %%); deblur and dehaze 'standard'",
    )
    t.add_argument(
        "--rescale",
        type=float,
        metavar="SCALE",
        help="draw half the patches from photos shrunk by a random factor down to SCALE "
        "(e.g. 0.25), so the network also sees whole scenes at smaller sizes (default 1: own size)",
    )
    t.add_argument("--minutes", type=float, help="stop (with a checkpoint) after this many minutes")
    t.add_argument("--resume", action="store_true", help="continue the run in --out")
    t.add_argument(
        "--init",
        metavar="WEIGHTS",
        help="start a new run from these weights (the same network, e.g. weights/denoise.pt for deblur)",
    )
    t.add_argument("--compile", action="store_true", help="torch.compile the network (GPUs)")
    t.add_argument(
        "--anneal",
        action="store_true",
        help="with --minutes: decay the learning rate to its floor by the end of this start",
    )
    t.add_argument("--device", default="auto")
    t.add_argument("--threads", type=int, help="CPU threads")
    t.add_argument("-q", "--quiet", action="store_true")
    t.set_defaults(func=cmd_train)
