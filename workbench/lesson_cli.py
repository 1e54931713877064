"""``spikinggamma lessons build``: build the lessons ahead of class (registered through the
``spikinggamma.commands`` entry point; the work is :mod:`workbench.lesson_build`)."""
from __future__ import annotations


def _build(args) -> int:
    from .lesson_build import run_build
    return run_build(args)


def register(subparsers) -> None:
    """Add ``lessons build`` to ``spikinggamma``'s sub-parsers."""
    from .lesson_build import add_arguments

    ls = subparsers.add_parser("lessons", help="build the lessons ahead of class")
    sub = ls.add_subparsers(dest="lessons_command", required=True)
    b = sub.add_parser("build", help="execute each lesson once in a Jupyter kernel and store it "
                                     "(under $SPIKINGGAMMA_CACHE_DIR/lessons) for the Lessons page")
    add_arguments(b)
    b.add_argument("--lessons", nargs="+", default=None, metavar="NAME",
                   help="lesson names or number prefixes, e.g. 05 07 (default: all)")
    b.set_defaults(func=_build)
