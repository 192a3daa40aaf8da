"""``irsde bench``: the figures a timing test used to assert are measured and reported here.
These tests check that each figure is produced and is a real measurement, never its value:
that depends on the machine and on what else runs on it."""

from __future__ import annotations

import json
import math

import pytest

from irsde_gui.cli import main


def test_a_network_row_at_256_px_carries_its_step_target(installed_tiny_weights, capsys):
    assert main(["bench", "--sizes", "256,32", "--tasks", "denoise", "--repeats", "1"]) == 0
    header, at_256, at_32 = capsys.readouterr().out.splitlines()[1:]
    assert header.split()[3:5] == ["ms/step", "target"]
    assert at_256.split()[2] == "256" and at_256.split()[4] == "≤150", at_256
    assert at_32.split()[2] == "32" and at_32.split()[4] == "-", at_32
    ms = float(at_256.split()[3])
    assert math.isfinite(ms) and ms > 0


def test_bench_gui_reports_the_event_loops_largest_gaps(qtbot, installed_tiny_weights, capsys):
    """While a run restores and while a photo opens from a slow drive (the figures that left
    tests/test_gui_worker.py and tests/test_gui_nothing_lost.py)."""
    pytest.importorskip("pytestqt")
    args = ["bench", "--json", "--sizes", "32", "--tasks", "denoise", "--repeats", "1", "--gui"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(r["task"], r["target_ms"]) for r in data["results"]] == [("denoise", None)]
    run, read = data["event_loop"]
    assert run["what"].startswith("restoring a 32 px photo (denoise, ")
    assert read["what"].startswith("opening a 12 MP photo from a slow drive")
    for figure in (run, read):
        assert math.isfinite(figure["largest_gap_ms"]) and figure["largest_gap_ms"] >= 0, figure
        assert figure["seconds"] > 0 and figure["ticks"] >= 0 and figure["target_ms"] > 0, figure
    assert read["seconds"] >= 1.0, "the slow drive's second is in the measured stretch"
