"""Conditional networks for the IR-SDE, built from a config dict through a registry.

A config is ``{"name": "cnafnet", ...keyword arguments...}`` (or an ensemble of two such,
``{"name": "ensemble", "members": [config, config], "mix": 0.5}``); it is stored in
every model card, so a weight file always says how to rebuild its network.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from .cnafnet import ConditionalNAFNet
from .ensemble import EnsembleNet


def build_ensemble(members: list[dict], mix: float = 0.5) -> EnsembleNet:
    """An :class:`EnsembleNet` of the networks given by their configs (it checks how many, and
    that none is an ensemble)."""
    if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
        raise ValueError("an ensemble's members are network configs")
    return EnsembleNet([build_model(m) for m in members], mix)


NETWORKS: dict[str, Callable[..., nn.Module]] = {"cnafnet": ConditionalNAFNet, "ensemble": build_ensemble}


def register_network(name: str, factory: Callable[..., nn.Module]) -> None:
    """Make ``factory`` buildable as ``{"name": name, ...}``."""
    NETWORKS[name] = factory


def build_model(config: dict) -> nn.Module:
    """Build a network from ``{"name": ..., **kwargs}``; unknown names or arguments raise ValueError."""
    cfg = dict(config)
    name = cfg.pop("name", None)
    if name not in NETWORKS:
        raise ValueError(f"unknown network {name!r}; known: {', '.join(sorted(NETWORKS))}")
    try:
        return NETWORKS[name](**cfg)
    except TypeError as exc:
        raise ValueError(f"bad configuration for network {name!r}: {exc}") from exc


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


__all__ = [
    "NETWORKS",
    "ConditionalNAFNet",
    "EnsembleNet",
    "build_ensemble",
    "build_model",
    "count_parameters",
    "register_network",
]
