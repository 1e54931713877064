"""Lessons built once, served many times: each lesson is executed once per (lesson, size, source
version) in a real Jupyter kernel and stored as an executed notebook. No Panel.

    spikinggamma lessons build [--size small|full] [--lessons 05 07 ...]   # ahead of class
    python -m workbench.lesson_build --size full 05_spike_pattern          # the same

jupytext reads the percent file, nbclient runs it cell by cell in a kernel (a separate process:
lesson code never runs in the server), and the notebook is written to
``$SPIKINGGAMMA_CACHE_DIR/lessons/`` (default ``~/.cache/spikinggamma``, as the Resolution
explorer's cache) under ``<slug>-<size>-<hash>.ipynb``, the hash that of the lesson's source.
While it runs, the notebook so far is rewritten after every cell (``….building.ipynb``), so the
Lessons page shows outputs as cells finish; a cell that fails keeps its error and the lesson
goes on (``allow_errors``). A lock file (``….lock``, holding the builder's pid) keeps two
builders off the same lesson. ``spikinggamma serve`` starts :func:`start_background` for what is
missing; the page starts it for a lesson opened before it was built.

The two editions a class downloads come from the same source: :func:`edition` ("student":
without the cells tagged ``solution`` and without the teacher's note; "teacher": everything).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

from .lessons import SIZE_ENV, LessonInfo, lesson_size, list_lessons

CACHE_ENV = "SPIKINGGAMMA_CACHE_DIR"
FORMAT = "2"  # bump when what a build stores changes (2: figures carry their height)
BUILD_ENV = "SPIKINGGAMMA_LESSON_BUILD"  # set in the kernel: lesson_views then shows figures as data
REPO = Path(__file__).resolve().parents[1]


def cache_dir() -> Path:
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "spikinggamma"
    return Path(root) / "lessons"


def source_hash(path: Path) -> str:
    text = Path(path).read_bytes()
    return hashlib.sha256(FORMAT.encode() + b"\0" + text).hexdigest()[:12]


def _stem(path: Path, size: str) -> Path:
    return cache_dir() / f"{Path(path).stem}-{size}-{source_hash(path)}"


def stored_path(path: Path, size: str | None = None) -> Path:
    """Where the executed notebook of ``path`` at ``size`` is (or will be) stored."""
    return _stem(path, size or lesson_size()).with_suffix(".ipynb")


def building_path(path: Path, size: str | None = None) -> Path:
    return Path(str(_stem(path, size or lesson_size())) + ".building.ipynb")


def lock_path(path: Path, size: str | None = None) -> Path:
    return Path(str(_stem(path, size or lesson_size())) + ".lock")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_building(path: Path, size: str | None = None) -> bool:
    """A live builder holds the lesson's lock."""
    lock = lock_path(path, size)
    try:
        pid = int(lock.read_text().strip() or 0)
    except (OSError, ValueError):
        return False
    return pid > 0 and _alive(pid)


def _take_lock(lock: Path) -> bool:
    lock.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and _alive(pid):
                return False
            lock.unlink(missing_ok=True)  # a builder that died
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return True
    return False


def read_source(path: Path):
    """The lesson as a notebook (jupytext), without outputs; empty cells dropped."""
    import jupytext
    nb = jupytext.read(path)
    nb.cells = [c for c in nb.cells if c.source.strip()]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def _write(nb, target: Path) -> None:
    import nbformat
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    nbformat.write(nb, str(tmp))
    os.replace(tmp, target)


def build(path: Path, size: str | None = None, log=print, force: bool = False) -> Path | None:
    """Execute the lesson at ``path`` in a fresh kernel at ``size`` and store it; → the stored
    notebook, or None when another builder holds it. Returns at once when it is stored already."""
    from nbclient import NotebookClient

    size = size or lesson_size()
    path = Path(path)
    target = stored_path(path, size)
    if target.exists() and not force:
        return target
    lock = lock_path(path, size)
    if not _take_lock(lock):
        log(f"{path.stem} ({size}): another builder is at it")
        return None
    partial = building_path(path, size)
    saved = os.environ.get(SIZE_ENV)
    try:
        nb = read_source(path)
        meta = {"slug": path.stem, "size": size, "source_hash": source_hash(path),
                "complete": False, "cells_done": 0}
        nb.metadata["spikinggamma"] = meta
        meta = nb.metadata["spikinggamma"]  # (nbformat stores a copy)
        _write(nb, partial)
        start = time.perf_counter()
        os.environ[SIZE_ENV] = size  # the kernel inherits the builder's environment
        os.environ[BUILD_ENV] = "1"
        os.environ.setdefault("OMP_NUM_THREADS", "1")

        def executed(cell, cell_index, execute_reply):
            meta["cells_done"] = cell_index + 1
            if "kernel_pid" not in meta:
                proc = getattr(getattr(client.km, "provisioner", None), "process", None)
                meta["kernel_pid"] = getattr(proc, "pid", None)
            _write(nb, partial)

        client = NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=None,
                                resources={"metadata": {"path": str(REPO)}},
                                on_cell_executed=executed)
        client.execute()
        meta.update(complete=True, cells_done=len(nb.cells), builder_pid=os.getpid(),
                    seconds=round(time.perf_counter() - start, 1),
                    built=time.strftime("%Y-%m-%d %H:%M"))
        meta["errors"] = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                          and any(o.output_type == "error" for o in c.get("outputs", []))]
        _write(nb, target)
        log(f"{path.stem} ({size}): built in {meta['seconds']:.0f} s"
            + (f", cells {meta['errors']} failed" if meta["errors"] else "") + f" → {target}")
        return target
    finally:
        for key, value in ((SIZE_ENV, saved), (BUILD_ENV, None)):
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        partial.unlink(missing_ok=True)
        lock.unlink(missing_ok=True)


def select(names=None, directory: Path | None = None) -> list[LessonInfo]:
    """The lessons whose slug starts with one of ``names`` ("05", "05_spike_pattern"); all if none."""
    lessons = list_lessons(directory)
    if not names:
        return lessons
    chosen = [i for i in lessons if any(i.slug.startswith(n) for n in names)]
    unknown = [n for n in names if not any(i.slug.startswith(n) for i in lessons)]
    if unknown:
        raise ValueError(f"no lesson named {', '.join(unknown)} (have {[i.slug for i in lessons]})")
    return chosen


def missing(size: str | None = None, directory: Path | None = None) -> list[LessonInfo]:
    size = size or lesson_size()
    return [i for i in list_lessons(directory)
            if not stored_path(i.path, size).exists() and not is_building(i.path, size)]


def start_background(slugs=None, size: str | None = None) -> subprocess.Popen | None:
    """Build ``slugs`` (default: every lesson not stored yet) in a separate process, one after
    the other; → the process, or None when there is nothing to build."""
    size = size or lesson_size()
    todo = [i.slug for i in missing(size)] if slugs is None else [
        s for s in slugs if s in {i.slug for i in missing(size)}]
    if not todo:
        return None
    env = {**os.environ, SIZE_ENV: size, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    return subprocess.Popen([sys.executable, "-m", "workbench.lesson_build", "--size", size,
                             "--quiet", *todo], env=env, cwd=str(REPO), stdin=subprocess.DEVNULL,
                            start_new_session=True)


def edition(path: Path, who: str):
    """The notebook a ``"student"`` (no solution cells, no teacher's note) or a ``"teacher"``
    (everything) downloads; no outputs, opens in JupyterLab or Colab."""
    if who not in ("student", "teacher"):
        raise ValueError(f"edition must be 'student' or 'teacher' (got {who!r})")
    nb = read_source(path)
    nb.metadata.pop("jupytext", None)
    nb.metadata["language_info"] = {"name": "python"}
    if who == "student":
        nb.cells = [c for c in nb.cells if "solution" not in c.metadata.get("tags", [])
                    and not c.source.lstrip().startswith("## Teacher's note")]
    return nb


def edition_bytes(path: Path, who: str) -> bytes:
    import nbformat
    return nbformat.writes(edition(path, who)).encode("utf-8")


# ----------------------------------------------------------------------------- command line
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", choices=("small", "full"), default=None,
                   help=f"lesson size (default ${SIZE_ENV} or full)")
    p.add_argument("--force", action="store_true", help="rebuild lessons already stored")
    p.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)


def run_build(args: argparse.Namespace) -> int:
    size = args.size or lesson_size()
    log = (lambda line: None) if args.quiet else (lambda line: print(line, flush=True))
    failed = 0
    for info in select(args.lessons):
        stored = stored_path(info.path, size)
        if stored.exists() and not args.force:
            log(f"{info.slug} ({size}): stored → {stored}")
            continue
        log(f"{info.slug} ({size}): building…")
        out = build(info.path, size, log=log, force=args.force)
        if out is not None:
            import nbformat
            failed += bool(nbformat.read(str(out), 4).metadata["spikinggamma"]["errors"])
    return 1 if failed else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m workbench.lesson_build", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    p.add_argument("lessons", nargs="*", help="lesson names or number prefixes (default: all)")
    return run_build(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
