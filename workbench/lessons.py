"""Lessons: the list of the jupytext "percent" files in ``lessons/``, their headers and their size.
No Panel, and nothing here runs a lesson: :mod:`workbench.lesson_build` executes them in a
Jupyter kernel (nbclient) and stores the executed notebook, which the Lessons page shows.

A lesson is one ``.py`` file (see ``lessons/README.md``): cells start with ``# %%``;
``# %% [markdown]`` cells hold the text. Run it with ``python lessons/NN_name.py``, open it as a
notebook with ``jupytext --to notebook``, or read it in the workbench's Lessons page.

The first markdown cell is the header; the Lessons page lists ``title`` (its ``# `` heading),
``**Promise.**`` (the whole paragraph) and ``**Time.**``.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

LESSON_DIR = Path(__file__).resolve().parents[1] / "lessons"
DIR_ENV = "SPIKINGGAMMA_LESSON_DIR"  # another folder of lessons (the tests use one)
SIZE_ENV = "SPIKINGGAMMA_LESSON_SIZE"


@dataclass(frozen=True)
class LessonInfo:
    slug: str  # file name without .py, e.g. "01_time_spikes_dt"
    path: Path
    title: str
    promise: str
    time: str


def lesson_size() -> str:
    """``"small"`` (the tests' quick run) or ``"full"`` (class), from $SPIKINGGAMMA_LESSON_SIZE."""
    size = os.environ.get(SIZE_ENV, "full")
    if size not in ("small", "full"):
        raise ValueError(f"{SIZE_ENV} must be 'small' or 'full' (got {size!r})")
    return size


def sized(small, full):
    """``small`` in the tests' quick run, ``full`` in class."""
    return small if lesson_size() == "small" else full


def lesson_dir() -> Path:
    return Path(os.environ.get(DIR_ENV) or LESSON_DIR)


def _header(path: Path) -> str:
    """The first markdown cell's text, without the ``# `` prefixes."""
    lines, inside = [], False
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("# %%"):
            if inside:
                break
            inside = "[markdown]" in line
            continue
        if inside:
            lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
    return "\n".join(lines)


def _paragraph(text: str, label: str) -> str:
    """The whole paragraph after ``**label.**`` (to the next blank line), on one line."""
    m = re.search(rf"\*\*{label}\.\*\*\s*(.+?)(?:\n\s*\n|\Z)", text, re.S)
    return " ".join(m.group(1).split()) if m else ""


def lesson_info(path: Path) -> LessonInfo:
    header = _header(path)
    title = re.search(r"^# (.+)$", header, re.M)
    return LessonInfo(path.stem, path, title.group(1).strip() if title else path.stem,
                      _paragraph(header, "Promise"), _paragraph(header, "Time"))


def list_lessons(directory: Path | None = None) -> list[LessonInfo]:
    """Every lesson (``NN_*.py``) in order."""
    return [lesson_info(p) for p in sorted(Path(directory or lesson_dir()).glob("[0-9][0-9]_*.py"))]
