"""Write the model tables from the model cards in ``weights/``, between markers: a short one in
the README (one line a model, each linking its section of docs/models.md), and the full one in
docs/models.md (training, every validation set with the command behind it, floors, step sweep).

    python tools/readme_models.py [--check] [--weights weights] [--readme README.md] [--docs docs/models.md]

``--check`` writes nothing, and exits with status 1 when either table differs from the cards.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from irsde_gui.core import TASKS
from irsde_gui.training.train import session_hardware

BEGIN, END = "<!-- models:begin -->", "<!-- models:end -->"
DOCS_LINK = "docs/models.md"
# Model cards name the data folder of the machine that scored them; the docs name it DATA.
DATA_PREFIXES = ("../shared/data", ".carry/data")
# Pages of docs/ that tell more about a task than its model (paths relative to docs/).
MORE = {"deblur": "deblurring.md"}


def read_cards(weights: Path) -> dict[str, dict | None]:
    """Every task in the registry's order, with its model card (None where none is shipped)."""
    cards: dict[str, dict | None] = {}
    for task in TASKS:
        path = weights / f"{task}.json"
        cards[task] = json.loads(path.read_text()) if path.is_file() else None
    return cards


def evaluations(card: dict) -> list[dict]:
    """The validation sets a card was scored on, the headline (first) set first."""
    return [v for v in card.get("validation", {}).values() if isinstance(v, dict) and "mean" in v]


def headline(ev: dict) -> str:
    """ "PSNR 30.57 dB on cbsd68 (input 20.53, non-local means (OpenCV) 25.94)": one validation set."""
    mean = ev["mean"]
    key, label = ("psnr_y", "Y-PSNR") if "psnr_y" in mean.get("model", {}) else ("psnr", "PSNR")
    name = ev.get("name", ev.get("task", "validation")).removesuffix(f" ({ev.get('task')})")
    classic = f", {ev['classic_method']} {mean['classic'][key]:.2f}" if "classic" in mean else ""
    return f"{label} {mean['model'][key]:.2f} dB on {name} (input {mean['input'][key]:.2f}{classic})"


def floors_met(card: dict) -> str:
    """ "met", "1 of 3 met", "not yet" or "—" (a card without floors)."""
    floors = [ev["floor"] for ev in evaluations(card) if "floor" in ev]
    met = sum(bool(f["met"]) for f in floors)
    if not floors:
        return "—"
    if met == len(floors):
        return "met" if met == 1 else f"all {met} met"
    return f"{met} of {len(floors)} met" if met else "not yet"


def short_table(cards: dict[str, dict | None], link: str = DOCS_LINK) -> str:
    """The README's table: one line a model, linking its section of docs/models.md."""
    rows = ["| task | model | validation, at the default steps | floors |", "|---|---|---|---|"]
    for task, card in cards.items():
        name = f"[{TASKS[task].label}]({link}#{task})"
        if card is None:
            rows.append(f"| {name} | not shipped yet | {_unshipped(task)} | not yet |")
            continue
        evs = evaluations(card)
        score = headline(evs[0]) if evs else card.get("validation", {}).get("summary", "—")
        more = f", and {len(evs) - 1} more" if len(evs) > 1 else ""
        steps = card.get("default_steps", 1)
        rows.append(
            f"| {name} | {card.get('parameters', 0) / 1e6:.2f} M parameters, {steps} step"
            f"{'s' if steps != 1 else ''} | {score}{more} | {floors_met(card)} |"
        )
    return "\n".join(rows)


def _unshipped(task: str) -> str:
    """What runs for a task without a network of its own."""
    prior = getattr(TASKS[task], "prior_task", None)
    return f"deconvolved with the {prior} model as the prior" if prior else "still training"


def full_table(cards: dict[str, dict | None]) -> str:
    """docs/models.md: the table of every model, then a section a model."""
    rows = [
        "| task | parameters | trained | validation (default steps) | floor |",
        "|---|---|---|---|---|",
    ]
    for task, card in cards.items():
        if card is None:
            rows.append(f"| {task} | — | not shipped: still training, below its floor | — | not yet |")
            continue
        tr = card.get("training", {})
        val = card.get("validation", {})
        floors = [ev["floor"] for ev in evaluations(card) if "floor" in ev]
        floor_text = "; ".join(f"{f['rule']}: {'met' if f['met'] else 'not yet'}" for f in floors) or "—"
        rows.append(
            f"| {task} | {card.get('parameters', 0) / 1e6:.2f} M | {trained_text(tr)} | "
            f"{val.get('summary', '—')} | {floor_text} |"
        )
    sections = [model_section(task, card) for task, card in cards.items()]
    return "\n".join(rows) + "\n\n" + "\n\n".join(sections)


def trained_text(tr: dict) -> str:
    """ "11931 iterations (batch × patch: ...), 45.0 min on CPU: ... + 8.3 min on ..." """
    iterations = tr.get("iterations")
    steps = f"{iterations} iterations" if iterations is not None else "iterations not recorded"
    return f"{steps}{stages_text(tr)}, {compute_text(tr)}"


def model_section(task: str, card: dict | None) -> str:
    """One model: what it does, how it was trained, every validation set with its command."""
    what = TASKS[task].description
    head = f"### {task}\n\n{TASKS[task].label}: {what[:1].lower()}{what[1:]}."
    if task in MORE:
        head += f" More in [{MORE[task]}]({MORE[task]})."
    if card is None:
        prior = getattr(TASKS[task], "prior_task", None)
        meanwhile = f" Until then, photos are {_unshipped(task)}." if prior else ""
        return (
            f"{head}\n\nNo network shipped yet: its run in `training/` is still below its floor.{meanwhile}"
        )
    tr = card.get("training", {})
    steps = card.get("default_steps", 1)
    lines = [
        head,
        "",
        f"- Network: {card.get('parameters', 0) / 1e6:.2f} M parameters, "
        f"{steps} step{'s' if steps != 1 else ''} by default.",
        f"- Trained: {trained_text(tr)}; on {', '.join(tr.get('data', [])) or 'data not recorded'}.",
    ]
    for ev in evaluations(card):
        line = f"- {ev.get('summary') or headline(ev)}"
        if "floor" in ev:
            line += f". Floor {ev['floor']['rule']}: {'met' if ev['floor']['met'] else 'not yet'}"
        if ev.get("command"):
            line += f".\n  `{data_named(ev['command'])}`"
        lines.append(line)
        if ev.get("step_sweep"):
            lines.append(f"- Step sweep: {sweep_text(ev['step_sweep'])}.")
    return "\n".join(lines)


def sweep_text(sweep: dict) -> str:
    """ "1 step 30.51, 2 steps 30.11 dB (16 images)", from either form of the card's step sweep."""
    if "steps" in sweep:  # {"steps": {"1": {"psnr": .., "seconds": ..}}}
        parts = [
            f"{s} step{'s' if s != '1' else ''} {v['psnr']:.2f} dB in {v['seconds']:.2f} s"
            for s, v in sweep["steps"].items()
        ]
    else:  # older cards: {"psnr": {"1": ..}} or {"psnr_y": {...}}
        values = sweep.get("psnr") or sweep.get("psnr_y") or {}
        parts = [f"{s} step{'s' if s != '1' else ''} {v:.2f} dB" for s, v in values.items()]
    return ", ".join(parts) + f" ({sweep.get('images', '?')} images)"


def data_named(command: str) -> str:
    for prefix in DATA_PREFIXES:
        command = command.replace(prefix, "DATA")
    return command


def compute_text(tr: dict) -> str:
    """ "45.0 min on CPU: ... + 8.3 min on NVIDIA H200 (CUDA)": minutes on each kind of hardware,
    from the card's sessions (older cards without them: the total on every device named)."""
    per: dict[str, float] = {}
    for s in tr.get("sessions") or []:
        device = _spelt_right(session_hardware(s))
        per[device] = per.get(device, 0.0) + float(s.get("seconds", 0.0)) / 60
    if per and abs(sum(per.values()) - float(tr.get("minutes", 0))) < 0.2:
        return " + ".join(f"{m:.1f} min on {d}" for d, m in per.items())
    devices = (
        ", ".join(dict.fromkeys(_spelt_right(h) for h in tr.get("hardware", []))) or "unrecorded hardware"
    )
    return f"{tr.get('minutes', 0)} min on {devices}"


def _spelt_right(text: str) -> str:
    """Cards written before "1 thread" was spelt right still say "1 threads"."""
    return text.replace("(1 threads)", "(1 thread)")


def stages_text(tr: dict) -> str:
    """ " (batch × patch: 16 × 64² to step 2870, 8 × 128² to step 20000, ...)" when the run changed
    them; "not recorded" for stages from early sessions that did not record them."""
    stages = tr.get("stages") or []
    if len(stages) < 2:
        return ""

    def size(s: dict) -> str:
        return "not recorded" if s["batch"] is None or s["patch"] is None else f"{s['batch']} × {s['patch']}²"

    parts = [f"{size(s)} to step {s['from_step'] + s['iterations']}" for s in stages]
    return f" (batch × patch: {', '.join(parts)})"


def between_markers(text: str, body: str, where: str) -> str:
    """``text`` with what lies between the models markers replaced by ``body``."""
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{where} has no {BEGIN} ... {END} section")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{body}\n{END}{tail}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default="weights")
    ap.add_argument("--readme", default="README.md")
    ap.add_argument("--docs", default=DOCS_LINK)
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a table is out of date")
    args = ap.parse_args()
    cards = read_cards(Path(args.weights))
    readme, docs = Path(args.readme), Path(args.docs)
    link = Path(os.path.relpath(docs, readme.parent)).as_posix()
    stale = []
    for path, body in ((readme, short_table(cards, link)), (docs, full_table(cards))):
        text = path.read_text(encoding="utf-8")
        new = between_markers(text, body, str(path))
        if new == text:
            continue
        stale.append(str(path))
        if not args.check:
            path.write_text(new, encoding="utf-8")
    if args.check and stale:
        print(f"out of date with the model cards: {', '.join(stale)} (run python tools/readme_models.py)")
        sys.exit(1)
    print(
        ("written: " + ", ".join(stale)) if stale and not args.check else "the model tables match the cards"
    )


if __name__ == "__main__":
    main()
