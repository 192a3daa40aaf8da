"""Join two weight files of one task into one ensemble network (:class:`irsde_gui.core.nets.EnsembleNet`).

    python tools/ensemble_weights.py TASK FIRST.pt SECOND.pt --out weights/TASK.pt [--mix 0.5]

Both files are verified and must share the task and the SDE. The card records each member
(its file's name, sha256, network and training) and takes the second member's training record
as its own when that run continued the first (its steps then count the first's too), else the
sum of both. ``--mix`` is the default share of the second; a task may set it per photo (derain
leans on its downpour member as the veil thickens). Score it
after with ``python tools/ship.py TASK --weights weights/TASK.pt``.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

from irsde_gui.core.nets import build_model
from irsde_gui.core.weights import ModelCard, load_weights, save_weights


def member_entry(loaded) -> dict:
    tr = loaded.card.training
    return {
        "file": loaded.path.name,
        "sha256": loaded.card.sha256,
        "network": loaded.card.network,
        "iterations": tr.get("iterations"),
        "data": tr.get("data"),
        "stages": tr.get("stages"),
    }


def continued(first: dict, second: dict) -> bool:
    """Whether the second run continued the first: its sessions begin with the first's."""
    a, b = first.get("sessions") or [], second.get("sessions") or []
    return (
        bool(a)
        and len(b) >= len(a)
        and [s.get("started") for s in b[: len(a)]] == [s.get("started") for s in a]
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("task")
    ap.add_argument("first")
    ap.add_argument("second")
    ap.add_argument("--out", required=True)
    ap.add_argument("--mix", type=float, default=0.5, help="the second member's share by default")
    args = ap.parse_args()
    a, b = load_weights(args.task, args.first), load_weights(args.task, args.second)
    if a.card.sde != b.card.sde:
        print(f"ensemble_weights: {a.path.name} and {b.path.name} use different SDEs", file=sys.stderr)
        return 2
    network = {"name": "ensemble", "members": [a.card.network, b.card.network], "mix": args.mix}
    net = build_model(network)
    net.members[0].load_state_dict(a.net.state_dict())
    net.members[1].load_state_dict(b.net.state_dict())
    if continued(a.card.training, b.card.training):
        training = copy.deepcopy(b.card.training)
        training.pop("config", None)  # an ensemble is not trained whole: its members are
    else:  # two separate runs: both counted
        ta, tb = a.card.training, b.card.training
        training = {
            "data": sorted(set(ta.get("data", [])) | set(tb.get("data", []))),
            "iterations": int(ta.get("iterations", 0)) + int(tb.get("iterations", 0)),
            "minutes": round(float(ta.get("minutes", 0)) + float(tb.get("minutes", 0)), 1),
            "hardware": sorted(set(ta.get("hardware", [])) | set(tb.get("hardware", []))),
        }
        # The pace over the members whose patches are counted (a member split from an older
        # ensemble may not know its own).
        counted = [t for t in (ta, tb) if t.get("patches_seen") and t.get("minutes")]
        if counted:
            seen = sum(int(t["patches_seen"]) for t in counted)
            training["patches_per_second"] = round(seen / (60 * sum(float(t["minutes"]) for t in counted)), 1)
            if len(counted) == 2:
                training["patches_seen"] = seen
    training["ensemble"] = {"members": [member_entry(a), member_entry(b)], "mix": args.mix}
    card = ModelCard(
        task=args.task,
        network=network,
        sde=a.card.sde,
        default_steps=a.card.default_steps,
        training=training,
        notes=a.card.notes,
    )
    out = save_weights(net, card, Path(args.out))
    print(f"ensemble_weights: wrote {out} ({card.parameters / 1e6:.2f} M parameters)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
