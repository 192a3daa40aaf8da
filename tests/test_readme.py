"""The README is for users and the narrative lives in docs/: its order, its length, its model table
(written from the model cards), and every local link and picture on both."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from irsde_gui.core import TASKS

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
SECTIONS = ["## Install", "## The app", "## The command line", "## The library", "## Models", "## Training"]
SECTIONS += ["## Development"]
TEST_COMMAND = (
    'pip install torch==2.13.0 && pip install -e ".[test,build]" && ruff check . && '
    "QT_QPA_PLATFORM=offscreen python -m pytest -q"
)


def tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def between(text: str, begin: str, end: str) -> str:
    return text.split(begin, 1)[1].split(end, 1)[0]


def test_readme_is_short_and_in_the_order_users_read_it():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 210
    where = [text.index(s + "\n") for s in SECTIONS]
    assert where == sorted(where), "install, app, command line, library, models, training, development"
    assert text.index("![") < where[0], "one picture before the install"
    assert "../shared" not in text


def test_readme_keeps_the_fresh_machine_commands_ci_runs():
    text = README.read_text(encoding="utf-8")
    assert "pip install . && irsde restore resources/examples/" in text
    assert TEST_COMMAND in text
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for part in ("torch==2.13.0", '-e ".[test,build]"', "ruff check .", "python -m pytest -q"):
        assert part in ci


def test_model_tables_match_the_cards():
    out = subprocess.run(
        [sys.executable, "tools/readme_models.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_readme_model_table_has_one_plain_line_a_task_linking_its_section():
    rm = tool("readme_models")
    table = between(README.read_text(encoding="utf-8"), rm.BEGIN, rm.END).strip().splitlines()[2:]
    assert len(table) == len(TASKS)
    assert all("?" not in row for row in table)
    docs = (ROOT / "docs" / "models.md").read_text(encoding="utf-8")
    for task, row in zip(TASKS, table, strict=True):
        assert f"(docs/models.md#{task})" in row
        assert f"\n### {task}\n" in docs


def test_short_table_counts_floors_and_names_what_runs_without_a_network(tmp_path):
    rm = tool("readme_models")
    cards = {task: None for task in TASKS}
    card = {"parameters": 2_070_000, "default_steps": 2, "validation": {}}
    for i, met in enumerate((True, False, True)):
        card["validation"][f"set {i}"] = {
            "name": f"set {i}",
            "task": "denoise",
            "classic_method": "bicubic",
            "mean": {k: {"psnr": 20.0 + i} for k in ("input", "classic", "model")},
            "floor": {"rule": "PSNR >= x", "met": met},
        }
    cards["denoise"] = card
    rows = rm.short_table(cards).splitlines()
    assert "2 of 3 met" in rows[2] and "and 2 more" in rows[2] and "2 steps" in rows[2]
    assert "PSNR 20.00 dB on set 0 (input 20.00, bicubic 20.00)" in rows[2]
    deblur = next(r for r in rows if "#deblur" in r)
    assert "denoise model as the prior" in deblur
    # The full section names every set with its floor, and the sweep as tools/ship.py writes it.
    card["validation"]["set 0"]["step_sweep"] = {"images": 16, "steps": {"1": {"psnr": 30.5, "seconds": 0.4}}}
    section = rm.model_section("denoise", card)
    assert section.count("Floor PSNR >= x") == 3 and "1 step 30.50 dB in 0.40 s (16 images)" in section


LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


@pytest.mark.parametrize(
    "page", ["README.md", *(f"docs/{p.name}" for p in sorted((ROOT / "docs").glob("*.md")))]
)
def test_every_local_link_and_picture_exists(page):
    path = ROOT / page
    for target, anchor in LINK.findall(path.read_text(encoding="utf-8")):
        if "://" in target:
            continue
        assert (path.parent / target).exists(), f"{page} links to {target}, which is missing"
        if anchor and target.endswith(".md"):
            assert anchor[1:] in anchors(path.parent / target), f"{page}: no {target}{anchor}"


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as -."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_examples_are_listed_relative_to_each_page(tmp_path):
    rx = tool("readme_examples")
    folder = tmp_path / "docs" / "examples"
    folder.mkdir(parents=True)
    (folder / "denoise-camera.jpg").write_bytes(b"jpeg")
    page = tmp_path / "README.md"
    page.write_text(f"intro\n{rx.BEGIN}\nold\n{rx.END}\nend\n", encoding="utf-8")
    rx.update_listing(page, folder, ["denoise-camera", "sr-practical"])
    text = page.read_text(encoding="utf-8")
    assert "(docs/examples/denoise-camera.jpg)" in text
    assert "sr-practical" not in text and "old" not in text  # only crops that exist
    assert text.startswith("intro\n") and text.endswith(f"{rx.END}\nend\n")
    docs = tmp_path / "docs" / "models.md"
    docs.write_text(f"{rx.BEGIN}{rx.END}", encoding="utf-8")
    rx.update_listing(docs, folder, ["denoise-camera"])
    assert "(examples/denoise-camera.jpg)" in docs.read_text(encoding="utf-8")
