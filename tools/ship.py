"""Ship a task's model: export the run's EMA weights, choose the default step count by
measurement, evaluate on each of the task's validation sets, and write it all into the model card.

    python tools/ship.py TASK [--run runs/TASK] [--limit-sweep 16] [--limit N] [--steps 1,2,5,10,20]
                         [--default-steps N] [--data ../shared/data]
    python tools/ship.py TASK --weights FILE ...   (score a weights file made otherwise, such as
                                                    an ensemble: its card is rewritten, not its weights)

The step sweep (PSNR and seconds per photo) runs on the first ``--limit-sweep`` photos of the
task's first validation set; the default step count is the fewest within 0.05 dB of the best
there, unless ``--default-steps`` sets it (e.g. chosen by looking at large holes). Every set is
then scored at that count on ``--limit`` photos (default: all), each against its floor. Every
number comes with the ``irsde eval`` command that gives it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

Mean = dict


def _y(mean: Mean, row: str) -> float:
    return mean[row]["psnr_y"]


def _p(mean: Mean, row: str) -> float:
    return mean[row]["psnr"]


# name -> (arguments after --task, floor rule, PSNR the model needs, the metric's reader)
Validation = tuple[str, list[str], str, Callable[[Mean], float], Callable[[Mean, str], float]]
VALIDATIONS: dict[str, list[Validation]] = {
    "denoise": [
        (
            "polyu real noise",
            ["--pairs", "{data}/val/polyu_real_noise"],
            "PSNR >= input + 2 dB and >= non-local means (best strength) + 0.5 dB",
            lambda m: max(_p(m, "input") + 2.0, _p(m, "classic") + 0.5),
            _p,
        ),
        (
            "cbsd68 sigma 25",
            ["--data", "{data}/val/cbsd68", "--sigma", "25"],
            "PSNR >= 30.4 dB",
            lambda m: 30.4,
            _p,
        ),
        (
            "cbsd68 JPEG 20",
            ["--data", "{data}/val/cbsd68", "--jpeg", "20"],
            "PSNR >= input + 1.2 dB",
            lambda m: _p(m, "input") + 1.2,
            _p,
        ),
    ],
    "deblur": [
        (
            "cbsd68 levin09",
            ["--data", "{data}/val/cbsd68", "--kernels", "{data}/kernels/levin09.npz", "--sigma", "2.55"],
            "PSNR >= input + 4 dB",
            lambda m: _p(m, "input") + 4.0,
            _p,
        )
    ],
    "derain": [
        (
            "cbsd68 heavy rain",
            ["--data", "{data}/val/cbsd68", "--rain", "heavy"],
            "PSNR >= input + 8 dB",
            lambda m: _p(m, "input") + 8.0,
            _p,
        ),
        (
            "cbsd68 light rain",
            ["--data", "{data}/val/cbsd68"],
            "PSNR >= input + 8 dB",
            lambda m: _p(m, "input") + 8.0,
            _p,
        ),
    ],
    "sr": [
        (
            "set14 practical",
            ["--data", "{data}/val/set14_x4", "--degradation", "practical"],
            "Y-PSNR >= bicubic + 1.2 dB",
            lambda m: _y(m, "classic") + 1.2,
            _y,
        ),
        ("set14 clean bicubic", ["--data", "{data}/val/set14_x4"], "Y-PSNR >= 27.9 dB", lambda m: 27.9, _y),
    ],
    "inpaint": [
        (
            "cbsd68 object holes",
            ["--data", "{data}/val/cbsd68", "--masks", "objects"],
            "PSNR >= Telea + 1.5 dB and >= Navier-Stokes + 1.5 dB",
            lambda m: max(_p(m, "classic"), _p(m, "navier_stokes")) + 1.5,
            _p,
        ),
        ("cbsd68 strokes", ["--data", "{data}/val/cbsd68"], "PSNR >= 24.66 dB", lambda m: 24.66, _p),
    ],
    "dehaze": [
        (
            "cbsd68 haze",
            ["--data", "{data}/val/cbsd68"],
            "PSNR >= dark channel prior + 2 dB",
            lambda m: _p(m, "classic") + 2.0,
            _p,
        )
    ],
}


def irsde(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "irsde_gui.cli", *args], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("task")
    ap.add_argument("--run")
    ap.add_argument("--out", default="weights")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--steps", default="1,2,5,10,20")
    ap.add_argument("--limit-sweep", type=int, default=16)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--default-steps", type=int)
    ap.add_argument("--weights", help="score this weights file instead of exporting a run")
    args = ap.parse_args()
    task = args.task
    run = Path(args.run or f"runs/{task}")
    weights = Path(args.weights) if args.weights else Path(args.out) / f"{task}.pt"
    sets = [
        (n, [a.format(data=args.data) for a in al], r, need, get) for n, al, r, need, get in VALIDATIONS[task]
    ]
    if not args.weights:
        irsde("export", str(run), "--out", str(weights))
    work = run / "ship"
    work.mkdir(parents=True, exist_ok=True)

    def evaluate(set_args: list[str], steps: int, out: Path, *more: str) -> dict:
        irsde("eval", "--task", task, *set_args, "--weights", str(weights), "--steps", str(steps),
              "--json", str(out), *more)  # fmt: skip
        return json.loads(out.read_text())

    name0, args0, _, _, get0 = sets[0]
    sweep: dict[int, dict] = {}
    swept = 0
    for s in [int(v) for v in args.steps.split(",")]:
        res = evaluate(args0, s, work / f"sweep_{s}.json", "--limit", str(args.limit_sweep), "-q")
        model = res["mean"]["model"]
        sweep[s] = {"psnr": round(get0(res["mean"], "model"), 3), "seconds": round(model["seconds"], 3)}
        swept = res["images"]
    best = max(v["psnr"] for v in sweep.values())
    steps = args.default_steps or min(s for s, v in sweep.items() if v["psnr"] >= best - 0.05)
    limit = ["--limit", str(args.limit)] if args.limit else []
    finals = []
    for i, (name, set_args, rule, need_of, get) in enumerate(sets):
        out = work / f"eval_{i}.json"
        res = evaluate(set_args, steps, out, *limit, "--name", name, "-q")
        mean = res["mean"]
        need, have = need_of(mean), get(mean, "model")
        res["floor"] = {"rule": rule, "needed": round(need, 3), "met": have >= need}
        if i == 0:
            res["step_sweep"] = {
                "images": swept,
                "set": name0,
                "steps": {str(k): v for k, v in sweep.items()},
            }
        label = "Y-PSNR" if get is _y else "PSNR"
        res["summary"] = (
            f"{name}: {label} {have:.2f} dB at {steps} step{'s' if steps != 1 else ''} (input "
            f"{get(mean, 'input'):.2f}, {res['classic_method']} {get(mean, 'classic'):.2f}) "
            f"on {res['images']} images"
        )
        out.write_text(json.dumps(res, indent=2) + "\n")
        finals.append(out)
        print(
            f"{task}: {res['summary']}; floor {rule} (needs {need:.2f}): "
            + ("met" if have >= need else "NOT met")
        )
    if args.weights:
        from irsde_gui.training.train import rescore_weights

        rescore_weights(weights, [json.loads(f.read_text()) for f in finals], steps)
        return
    irsde(
        "export", str(run), "--out", str(weights), "--eval", *map(str, finals), "--default-steps", str(steps)
    )


if __name__ == "__main__":
    main()
