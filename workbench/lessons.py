"""Lessons: read the jupytext "percent" files in ``lessons/``, run them, check exercises. No Panel.

A lesson is one ``.py`` file (jupytext percent format, see ``lessons/README.md``): cells start
with ``# %%``; ``# %% [markdown]`` cells hold the text as ``# ``-prefixed lines. Run it with
``python lessons/NN_name.py``, open it as a notebook with ``jupytext --to notebook``, or read it
in the workbench's Lessons page, which runs it with :func:`execute` and renders every cell.

The first markdown cell is the header; the Lessons page lists ``title`` (its ``# `` heading),
``**Promise.**`` and ``**Time.**``.
"""
from __future__ import annotations

import ast
import contextlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

LESSON_DIR = Path(__file__).resolve().parents[1] / "lessons"
SIZE_ENV = "SPIKINGGAMMA_LESSON_SIZE"
_CELL = re.compile(r"^# %%(?:\s|$)")
_TAGS = re.compile(r"tags=\[([^\]]*)\]")


@dataclass(frozen=True)
class Cell:
    kind: str  # "markdown" or "code"
    source: str
    tags: tuple[str, ...] = ()


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


def read_cells(path: str | os.PathLike) -> list[Cell]:
    """The cells of a percent-format file, in order (text before the first ``# %%`` dropped)."""
    cells, kind, tags, lines = [], None, (), []

    def flush():
        if kind is None:
            return
        text = "\n".join(lines).strip("\n")
        if kind == "markdown":
            text = "\n".join(l[2:] if l.startswith("# ") else l.lstrip("#") for l in text.splitlines())
        if text.strip():
            cells.append(Cell(kind, text, tags))

    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if _CELL.match(line):
            flush()
            kind = "markdown" if re.match(r"^# %%.*\[markdown\]", line) else "code"
            found = _TAGS.search(line)
            tags = tuple(re.findall(r'"([\w-]+)"', found.group(1))) if found else ()
            lines = []
        else:
            lines.append(line)
    flush()
    return cells


def lesson_info(path: Path) -> LessonInfo:
    header = next((c.source for c in read_cells(path) if c.kind == "markdown"), "")
    title = re.search(r"^# (.+)$", header, re.M)
    promise = re.search(r"\*\*Promise\.\*\*\s*(.+)", header)
    time = re.search(r"\*\*Time\.\*\*\s*(.+)", header)
    return LessonInfo(path.stem, path, title.group(1).strip() if title else path.stem,
                      promise.group(1).strip() if promise else "",
                      time.group(1).strip() if time else "")


def list_lessons(directory: Path = LESSON_DIR) -> list[LessonInfo]:
    """Every lesson (``NN_*.py``) in order."""
    return [lesson_info(p) for p in sorted(Path(directory).glob("[0-9][0-9]_*.py"))]


@dataclass
class CellOutput:
    cell: Cell
    stdout: str = ""
    value: Any = None  # the value of a code cell's last expression, as a notebook shows it
    error: str = ""


def execute(cells: list[Cell], namespace: dict | None = None,
            filename: str = "<lesson>") -> Iterator[CellOutput]:
    """Run the code cells in order in one namespace, as a notebook would; yields every cell with
    its printed text and last value. An exception stops the run (its message in ``error``)."""
    ns = {"__name__": "__lesson__"} if namespace is None else namespace
    for cell in cells:
        if cell.kind != "code":
            yield CellOutput(cell)
            continue
        out = CellOutput(cell)
        buf = io.StringIO()
        try:
            tree = ast.parse(cell.source, filename)
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            with contextlib.redirect_stdout(buf):
                exec(compile(tree, filename, "exec"), ns)
                if last is not None:
                    out.value = eval(compile(ast.Expression(last.value), filename, "eval"), ns)
        except Exception as err:  # shown on the page; the lesson stops here
            out.error = f"{type(err).__name__}: {err}"
        out.stdout = buf.getvalue()
        yield out
        if out.error:
            return


@dataclass
class Exercise:
    """An exercise a student answers in code and checks by running it.

    Args:
        name: e.g. ``"1.2"``.
        check: ``check(answer) -> (ok, message)``; computes the truth from the engine.
        solution: ``solution() -> answer``, the reference answer (shown hidden in the lesson).
        wrong: an answer the check must reject (the tests make sure it does).
    """

    name: str
    check: Callable[[Any], tuple[bool, str]]
    solution: Callable[[], Any]
    wrong: Any

    def __call__(self, answer) -> bool:
        """Check ``answer`` and say so; ``None`` means not answered yet."""
        if answer is None:
            print(f"Exercise {self.name}: not answered yet: write your answer and run the cell again.")
            return False
        ok, message = self.check(answer)
        print(f"Exercise {self.name}: {'correct' if ok else 'not yet'}: {message}")
        return ok
