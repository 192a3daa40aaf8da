"""Write the README's model table from the model cards in ``weights/`` (between markers).

python tools/readme_models.py [--readme README.md]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from irsde_gui.core.train import session_hardware

BEGIN, END = "<!-- models:begin -->", "<!-- models:end -->"
ORDER = ["denoise", "deblur", "derain", "sr", "inpaint", "dehaze"]


def table(weights: Path) -> str:
    rows = [
        "| task | parameters | trained | validation (default steps) | floor |",
        "|---|---|---|---|---|",
    ]
    for task in ORDER:
        card_file = weights / f"{task}.json"
        if not card_file.is_file() and task == "deblur":
            rows.append(
                "| deblur | — | no network shipped: still training, below its floor | the app deblurs "
                "blind with the denoise model (see below) | not yet |"
            )
            continue
        if not card_file.is_file():
            rows.append(f"| {task} | — | not shipped: still training, below its floor | — | — |")
            continue
        card = json.loads(card_file.read_text())
        tr = card.get("training", {})
        val = card.get("validation", {})
        floors = [v["floor"] for v in val.values() if isinstance(v, dict) and "floor" in v]
        floor_text = "; ".join(f"{f['rule']}: {'met' if f['met'] else 'not yet'}" for f in floors) or "—"
        rows.append(
            f"| {task} | {card.get('parameters', 0) / 1e6:.2f} M | {tr.get('iterations', '?')} iterations"
            f"{stages_text(tr)}, {compute_text(tr)} | {val.get('summary', '—')} "
            f"| {floor_text} |"
        )
    return "\n".join(rows)


def compute_text(tr: dict) -> str:
    """ "45.0 min on CPU: ... + 8.3 min on NVIDIA H200 (CUDA)": minutes on each kind of hardware,
    from the card's sessions (older cards without them: the total on every device named)."""
    per: dict[str, float] = {}
    for s in tr.get("sessions") or []:
        device = _spelt_right(session_hardware(s))
        per[device] = per.get(device, 0.0) + float(s.get("seconds", 0.0)) / 60
    if per and abs(sum(per.values()) - float(tr.get("minutes", 0))) < 0.2:
        return " + ".join(f"{m:.1f} min on {d}" for d, m in per.items())
    return _spelt_right(f"{tr.get('minutes', '?')} min on {', '.join(tr.get('hardware', [])) or '?'}")


def _spelt_right(text: str) -> str:
    """Cards written before "1 thread" was spelt right still say "1 threads"."""
    return text.replace("(1 threads)", "(1 thread)")


def stages_text(tr: dict) -> str:
    """ " (batch x patch: 16 x 64² to step 2870, 8 x 128² to 20000, ...)" when the run changed them;
    "?" for stages from sessions that did not record them."""
    stages = tr.get("stages") or []
    if len(stages) < 2:
        return ""

    def size(s: dict) -> str:
        return "?" if s["batch"] is None or s["patch"] is None else f"{s['batch']} × {s['patch']}²"

    parts = [f"{size(s)} to step {s['from_step'] + s['iterations']}" for s in stages]
    return f" (batch × patch: {', '.join(parts)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--readme", default="README.md")
    ap.add_argument("--weights", default="weights")
    args = ap.parse_args()
    readme = Path(args.readme)
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{readme} has no {BEGIN} ... {END} section")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{table(Path(args.weights))}\n{END}{tail}")
    print(table(Path(args.weights)))


if __name__ == "__main__":
    main()
