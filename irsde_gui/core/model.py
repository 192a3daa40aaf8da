"""A network, its SDE and its device, as one ``x0_hat = restorer(x_t, mu, t)`` callable."""

from __future__ import annotations

import contextlib
import logging
import os

import torch

from .device import DeviceInfo, pick_device
from .sde import MeanRevertingSDE
from .weights import (
    HELPERS,
    LoadedWeights,
    Refused,
    WeightsError,
    find_weights,
    load_weights,
    resolve_weights,
)


class Restorer:
    """Adapts a conditional network to the sampler's contract.

    The network predicts ``x0 - mu`` or the noise; either way this returns the
    clean estimate ``x0_hat`` (clamped to the image range), computed under
    ``torch.inference_mode``, in ``channels_last`` layout and, on GPUs, in
    reduced precision.
    """

    def __init__(
        self,
        net: torch.nn.Module,
        sde: MeanRevertingSDE,
        device: DeviceInfo | None = None,
        clamp: bool = True,
        weights: LoadedWeights | None = None,
    ):
        self.device = device or pick_device("cpu")
        self.sde = sde
        self.clamp = clamp
        self.weights = weights
        self.predicts = getattr(net, "predict", "x0")
        self.net = net.to(self.device.device).eval()
        self.channels_last = self.device.kind in ("cpu", "cuda")
        if self.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self.multiple = int(getattr(net, "multiple", 1))
        width = int(getattr(net, "width", 16))
        # Peak activation bytes per pixel of one forward pass (measured for
        # cnafnet at width 16 on the CPU: ~0.9 KB/px; scaled with width).
        self.bytes_per_pixel = 64.0 * width * (2 if self.device.kind != "cpu" else 1)

    def _autocast(self):
        if self.device.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.kind, dtype=self.device.autocast_dtype)

    @torch.inference_mode()
    def __call__(self, x_t: torch.Tensor, mu: torch.Tensor, t: int) -> torch.Tensor:
        tt = torch.full((x_t.shape[0],), int(t), device=x_t.device, dtype=torch.long)
        xi, mi = x_t, mu
        if self.channels_last:
            xi = xi.contiguous(memory_format=torch.channels_last)
            mi = mi.contiguous(memory_format=torch.channels_last)
        with self._autocast():
            out = self.net(xi, mi, tt)
        out = out.to(x_t.dtype).contiguous()
        if self.predicts == "noise":
            x0 = self.sde.x0_from_noise(x_t, mu, out, t)
        else:
            x0 = mu + out
        return x0.clamp_(0.0, 1.0) if self.clamp else x0

    @property
    def description(self) -> str:
        return self.device.describe()


def load_restorer(
    task: str,
    weights: str | os.PathLike | None = None,
    device: str | DeviceInfo = "auto",
) -> Restorer:
    """Load the verified weights for ``task`` onto ``device``."""
    info = device if isinstance(device, DeviceInfo) else pick_device(device)
    loaded = load_weights(task, weights)
    return Restorer(loaded.net, MeanRevertingSDE(loaded.card.sde), info, weights=loaded)


def load_task_restorer(
    task: str,
    weights: str | os.PathLike | None = None,
    device: str | DeviceInfo = "auto",
    refused: list[Refused] | None = None,
) -> Restorer:
    """The restorer that runs ``task``: :func:`load_restorer` of its weights, or, for deblur
    with none installed, of the denoise model, which deblurs blind
    (:func:`irsde_gui.core.pipeline.create_job` picks the job from the restorer). Weight files
    passed over because they would be refused go into ``refused``."""
    model_task, path = resolve_weights(task, weights, refused)
    return load_restorer(model_task, path, device)


_helpers: dict[tuple, Restorer | None] = {}


def load_helper(name: str, device: DeviceInfo) -> Restorer | None:
    """The helper network ``name`` (a stem of :data:`.weights.HELPERS`) on ``device``, loaded once
    while its file stays the same; None where none is installed, or where its file would be
    refused (logged once): the route it helps then runs without it."""
    try:
        path = find_weights(name)
        st = path.stat()
    except (WeightsError, OSError):
        return None
    key = (str(path), st.st_size, st.st_mtime_ns, device.describe())
    if key not in _helpers:
        try:
            loaded = load_weights(HELPERS[name], path)
            _helpers[key] = Restorer(loaded.net, MeanRevertingSDE(loaded.card.sde), device, weights=loaded)
        except WeightsError as exc:
            logging.getLogger(__name__).warning("%s: not used (%s)", name, exc)
            _helpers[key] = None
    return _helpers[key]
