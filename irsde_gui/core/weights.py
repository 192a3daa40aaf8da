"""Trained weights: one state-dict file per task with a JSON model card beside it.

``weights/denoise.pt`` holds the network's tensors (half precision to keep the
file small; loaded back as float32) and ``weights/denoise.json`` says what
they are: the network config, the SDE settings, the task, how and on what it
was trained, its validation numbers and the file's sha256.

Loading is safe (``torch.load(weights_only=True)``, so a pickle that would run
code is refused) and verified (the sha256 must match the card). Lookup order:
an explicit path, then the user data dir, then the weights bundled with the app;
a file in the user data dir that would be refused is passed over, and said to be
(:class:`Refused`), rather than hiding the bundled one.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import paths
from .sdeconfig import SDEConfig
from .tasks import TASKS

if TYPE_CHECKING:  # PyTorch is imported only when weights are loaded or saved
    import torch

FORMAT = "irsde-studio-weights/1"


class WeightsError(RuntimeError):
    """A weight file is missing, corrupt, unsafe or does not fit its network."""


@dataclass
class ModelCard:
    task: str
    network: dict
    sde: SDEConfig
    sha256: str = ""
    parameters: int = 0
    default_steps: int | None = None
    training: dict = field(default_factory=dict)
    validation: dict = field(default_factory=dict)
    notes: str = ""

    def steps_advice(self) -> str | None:
        """What more steps do for this model, in words, from the step sweep of its first
        validation that has one (PSNR and seconds a photo at each count); None without one."""
        for v in self.validation.values():
            sweep = v.get("step_sweep") if isinstance(v, dict) else None
            if not sweep:
                continue
            if "steps" in sweep:  # {"1": {"psnr": .., "seconds": ..}, ...}
                points = {int(n): (m.get("psnr"), m.get("seconds")) for n, m in sweep["steps"].items()}
            else:  # older cards: {"psnr_y": {"1": ..}}
                metric = next((k for k in ("psnr", "psnr_y") if k in sweep), None)
                if metric is None:
                    continue
                points = {int(n): (p, None) for n, p in sweep[metric].items()}
            points = {n: pt for n, pt in points.items() if pt[0] is not None}
            if len(points) < 2:
                continue
            best = max(points, key=lambda n: points[n][0])
            parts = [
                f"{n}: {p:.2f} dB" + (f", {sec:.1f} s" if sec is not None else "")
                for n, (p, sec) in sorted(points.items())
            ]
            what = v.get("name") or "its validation photos"
            if best == min(points):
                gist = (
                    "The fewest steps score best for this model; more steps draw the result by "
                    "sampling, with finer random detail, and take longer"
                )
            else:
                gist = f"This model scores best at {best} steps; more take longer"
            return f"{gist}. Steps, PSNR and time a photo on {what}: " + "; ".join(parts) + "."
        return None

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "task": self.task,
            "network": self.network,
            "sde": self.sde.to_dict(),
            "parameters": self.parameters,
            "default_steps": self.default_steps,
            "sha256": self.sha256,
            "training": self.training,
            "validation": self.validation,
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, d: dict) -> ModelCard:
        """A card from its JSON; a missing field, or one out of its range, raises
        :class:`WeightsError` naming the field (before any network is built from it)."""
        try:
            card = cls(
                task=str(d["task"]),
                network=check_network(dict(d["network"])),
                sde=SDEConfig.from_dict(d["sde"]),
                sha256=str(d.get("sha256", "")),
                parameters=int(d.get("parameters", 0)),
                default_steps=d.get("default_steps"),
                training=dict(d.get("training") or {}),
                validation=dict(d.get("validation") or {}),
                notes=str(d.get("notes", "")),
            )
            if card.default_steps is not None:
                whole_number("default_steps", card.default_steps, 1, card.sde.T)
            return card
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(f"model card is incomplete or malformed ({exc})") from exc


def whole_number(name: str, value: object, lo: int, hi: int) -> int:
    """``value`` if it is a whole number from ``lo`` to ``hi``, else ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} is a whole number from {lo} to {hi}, got {value!r}")
    return value


MAX_WIDTH, MAX_BLOCKS, MAX_LEVELS, MAX_UNSHUFFLE = 512, 64, 8, 8


def check_network(network: dict) -> dict:
    """The numbers a card gives its network, checked with their ranges (a negative width, or
    a width of a million, would fail deep in PyTorch or fill the memory). An ensemble's
    members are checked alike."""
    members = network.get("members")
    if members is not None:
        if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
            raise ValueError(f"network.members is a list of networks, got {members!r}")
        for m in members:
            if "members" in m:
                raise ValueError("network.members are networks, not ensembles")
            check_network(m)
    for name, lo, hi in (
        ("width", 1, MAX_WIDTH),
        ("mid_blocks", 0, MAX_BLOCKS),
        ("global_blocks", 0, MAX_BLOCKS),
        ("unshuffle", 1, MAX_UNSHUFFLE),
    ):
        if name in network:
            whole_number(f"network.{name}", network[name], lo, hi)
    levels = []
    for name in ("enc_blocks", "dec_blocks"):
        if name not in network:
            continue
        counts = network[name]
        ok = isinstance(counts, list) and 1 <= len(counts) <= MAX_LEVELS
        if not ok or any(
            isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_BLOCKS for n in counts
        ):
            raise ValueError(
                f"network.{name} is a list of 1 to {MAX_LEVELS} whole numbers from 0 to {MAX_BLOCKS}, "
                f"got {counts!r}"
            )
        levels.append(len(counts))
    if len(set(levels)) > 1:
        raise ValueError("network.enc_blocks and network.dec_blocks have one count per level each")
    return network


@dataclass
class LoadedWeights:
    path: Path
    card: ModelCard
    net: torch.nn.Module


def card_path(weights_path: Path) -> Path:
    return Path(weights_path).with_suffix(".json")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# Networks that help a task's route without being its model, by file stem (``weights/STEM.pt``),
# with the task their card names: ``deblur_start`` is a deblur network whose sharp guess gives the
# blind deblur route a second start for its blur (not ``deblur.pt``, which would replace the route).
HELPERS = {"deblur_start": "deblur"}


def search_dirs() -> list[Path]:
    """Folders searched for ``TASK.pt``, in order: user data dir, then bundled."""
    return [paths.user_weights_dir(), paths.bundled_weights_dir()]


@dataclass(frozen=True)
class Refused:
    """A weight file passed over because it would be refused (a bad hash, a pickle with code,
    a card out of range…), and why."""

    path: Path
    reason: str  # load_weights' message, which names the file

    def __str__(self) -> str:
        return self.reason if str(self.path) in self.reason else f"{self.path}: {self.reason}"


_checked: dict[tuple, str | None] = {}  # (path, size, mtime, task) -> why refused, or None


def check_weights(path: Path, task: str) -> str | None:
    """Why :func:`load_weights` would refuse ``path`` for ``task`` (its message), or None. The
    answer is kept while the file stays as it is (its size and time)."""
    try:
        st = path.stat()
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror or exc})"
    key = (str(path), st.st_size, st.st_mtime_ns, task)
    if key not in _checked:
        try:
            load_weights(task, path)
            _checked[key] = None
        except WeightsError as exc:
            _checked[key] = str(exc)
    return _checked[key]


def find_weights(
    task: str,
    explicit: str | os.PathLike | None = None,
    refused: list[Refused] | None = None,
    vet: bool = True,
) -> Path:
    """The weight file for ``task``: ``explicit`` if given, else the first good one in
    :func:`search_dirs`. A file there that would be refused (:func:`check_weights`) does not
    hide the next location's: it is passed over and noted in ``refused``, so that whoever shows
    the choice says so. The last file found is taken as it is (its load says what is wrong with
    it). ``vet=False`` takes the first found without reading it (a quick look, no PyTorch)."""
    if explicit is not None:
        p = Path(explicit).expanduser()
        if p.is_dir():
            p = p / f"{task}.pt"
        if p.suffix.lower() == ".json":
            pt = p.with_suffix(".pt")
            which = f"the model card of {pt.name}" if pt.is_file() else "a model card, not a weights file"
            raise WeightsError(f"{p}: this is {which}; give --weights the .pt file")
        if not p.is_file():
            raise WeightsError(f"weights file not found: {p}")
        return p
    looked = [d / f"{task}.pt" for d in search_dirs()]
    found = [p for p in looked if p.is_file()]
    for p in found[:-1]:
        # A helper's file holds weights for the task it helps (HELPERS), and is vetted as such.
        why = check_weights(p, HELPERS.get(task, task)) if vet else None
        if why is None:
            return p
        if refused is not None:
            refused.append(Refused(p, why))
    if found:
        return found[-1]
    looked = [str(p) for p in looked]
    raise WeightsError(
        f"no trained weights for task '{task}' are installed (looked in: {', '.join(looked)}). "
        "Train them with `irsde train` and `irsde export`, or pass --weights."
    )


def read_card(weights_path: Path) -> ModelCard:
    cp = card_path(weights_path)
    if not cp.is_file():
        raise WeightsError(f"{weights_path} has no model card ({cp.name} is missing)")
    try:
        data = json.loads(cp.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"model card {cp} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise WeightsError(f"model card {cp} is not a JSON object")
    try:
        return ModelCard.from_dict(data)
    except WeightsError as exc:
        raise WeightsError(f"{cp}: {exc}") from None


def load_weights(
    task: str | None, explicit: str | os.PathLike | None = None, verify: bool = True
) -> LoadedWeights:
    """Find, verify and load the network for ``task`` (float32, eval mode, on the CPU)."""
    from .nets import build_model  # deferred: PyTorch; the task list reads model cards before it loads

    if task is None and explicit is None:
        raise WeightsError("either a task or a weights path is needed")
    path = find_weights(task or "", explicit)
    card = read_card(path)
    if task is not None and card.task != task:
        raise WeightsError(f"{path} holds weights for '{card.task}', not for '{task}'")
    if verify:
        verify_sha256(path, card)
    state = read_state_dict(path)
    try:
        net = build_model(card.network)
    except ValueError as exc:
        raise WeightsError(f"model card of {path.name}: {exc}") from exc
    try:
        net.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise WeightsError(
            f"{path.name} does not match the network described in its model card: {' '.join(first[:3])}"
        ) from exc
    net.eval()
    return LoadedWeights(path, card, net)


def verify_sha256(path: Path, card: ModelCard) -> None:
    """Refuse a weights file whose sha256 is not the one its model card gives."""
    actual = sha256_of(path)
    if not card.sha256:
        raise WeightsError(f"model card of {path.name} has no sha256 to verify against")
    if actual != card.sha256:
        raise WeightsError(
            f"{path} is corrupt or was modified: its sha256 {actual[:12]}... "
            f"does not match the model card ({card.sha256[:12]}...)"
        )


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors in a weights file, loaded safely (no code runs), all of them finite."""
    import torch  # deferred: PyTorch, as in load_weights

    if path.stat().st_size == 0:
        raise WeightsError(f"{path} cannot be read as a weights file: it is empty")
    try:
        with warnings.catch_warnings():  # PyTorch's notes on pickle protocols: not the user's concern
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise WeightsError(
            f"{path} is not a plain weights file; refusing to load it (it may contain code): "
            f"{unpickler_reason(exc)}"
        ) from exc
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{path} cannot be read as a weights file: {reason}") from exc
    except Exception as exc:  # the other ways a damaged file fails to unpickle (KeyError, IndexError…)
        raise WeightsError(
            f"{path} cannot be read as a weights file: it is damaged, or not a PyTorch file"
        ) from exc
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path} does not hold a state dict of tensors")
    broken = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if broken:
        raise WeightsError(
            f"{path}: tensors with values that are not finite (NaN or infinite): {len(broken)}, "
            f"the first {broken[0]}; the weights are broken"
        )
    return state


def unpickler_reason(exc: Exception) -> str:
    """What PyTorch's safe unpickler found (``Unsupported global: GLOBAL os.system …``), without
    its paragraphs on how to load the file unsafely."""
    text = str(exc)
    _, marker, rest = text.partition("WeightsUnpickler error:")
    lines = [line.strip() for line in (rest if marker else text).splitlines() if line.strip()]
    return lines[0].rstrip(".") if lines else type(exc).__name__


def save_weights(net: torch.nn.Module, card: ModelCard, path: str | os.PathLike) -> Path:
    """Write the state dict (float16) and its model card with the file's sha256."""
    import torch  # deferred: PyTorch, as in load_weights

    from .nets import count_parameters

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        k: v.detach().to("cpu", torch.float16 if v.is_floating_point() else v.dtype).clone()
        for k, v in net.state_dict().items()
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    card.sha256 = sha256_of(path)
    card.parameters = count_parameters(net)
    write_card(path, card)
    return path


def write_card(weights_path: Path, card: ModelCard) -> Path:
    """Write the model card beside its weights file (atomically: a reader never sees half a card)."""
    target = card_path(weights_path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(card.to_dict(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def installed_weights(
    refused: dict[str, list[Refused]] | None = None, vet: bool = True
) -> dict[str, Path | None]:
    """For every task, the weight file that would be used (or None); the files passed over on the
    way go into ``refused`` by task (see :func:`find_weights`)."""
    found: dict[str, Path | None] = {}
    for name in TASKS:
        passed: list[Refused] = []
        try:
            found[name] = find_weights(name, refused=passed, vet=vet)
        except WeightsError:
            found[name] = None
        if passed and refused is not None:
            refused[name] = passed
    return found


def blind_prior(task: str, vet: bool = True) -> Path | None:
    """The file of ``task``'s prior model when it has no weights of its own and deconvolves
    with that one instead, blind (see :func:`resolve_weights`), else None."""
    try:
        model_task, path = resolve_weights(task, vet=vet)
    except WeightsError:
        return None
    return path if model_task != task else None


def resolve_weights(
    task: str,
    explicit: str | os.PathLike | None = None,
    refused: list[Refused] | None = None,
    vet: bool = True,
) -> tuple[str, Path]:
    """``(model task, weight file)`` that runs ``task``: its own weights, or, for a task with a
    deconvolution route (deblur) and none installed, the model of its ``prior_task`` (denoise),
    which deconvolution uses as its image prior (:class:`irsde_gui.core.pipeline.BlindDeblurJob`).
    Such a task given its prior's file explicitly deconvolves, too."""
    known = TASKS.get(task)  # an unknown name finds no weights below, as before
    prior = known.prior_task if known is not None else None
    if prior is None:
        return task, find_weights(task, explicit, refused, vet)
    if explicit is not None:
        path = find_weights(task, explicit)
        card = read_card(path)
        return (prior if card.task == prior else task), path
    try:
        return task, find_weights(task, refused=refused, vet=vet)
    except WeightsError as exc:
        try:
            return prior, find_weights(prior, refused=refused, vet=vet)
        except WeightsError:
            raise WeightsError(
                f"{exc} Its fallback, deconvolution with the {prior} model as the prior, "
                f"needs that model, which is missing too."
            ) from None
