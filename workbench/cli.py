"""``spikinggamma serve``: the workbench sub-command (a ``spikinggamma.commands`` entry point,
see pyproject.toml; engine.cli finds it without importing the workbench by name)."""
from __future__ import annotations

import argparse


def _serve(args: argparse.Namespace) -> int:
    from .app import serve, url
    from .serving.classroom import Limits

    if args.num_procs < 1:
        raise ValueError(f"--num-procs must be >= 1 (got {args.num_procs})")
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be between 0 and 65535 (got {args.port})")
    flags = {"max_training": "--max-training", "turn_s": "--turn-seconds",
             "idle_minutes": "--idle-minutes", "max_hidden": "--max-hidden",
             "max_redraws_per_s": "--max-redraws", "max_lab_jobs": "--max-lab-jobs"}
    try:
        limits = Limits(max_training=args.max_training, turn_s=args.turn_seconds,
                        idle_minutes=args.idle_minutes, max_hidden=args.max_hidden,
                        max_redraws_per_s=args.max_redraws, max_lab_jobs=args.max_lab_jobs)
    except ValueError as err:  # Limits names its field; the user typed the flag
        field = str(err).split()[0]
        raise ValueError(f"{flags.get(field, field)}: {err}") from None
    if args.data_dir:  # the Trainer offers a preset for each real data set found there
        import os

        from engine.data import DATA_ENV
        os.environ[DATA_ENV] = str(args.data_dir)
    print(f"SpikingGamma Workbench: {url(args.address, args.port)}", flush=True)
    if not args.no_lesson_build:  # the Lessons page shows stored lessons: build what is missing
        from .lesson_build import start_background
        builder = start_background()
        if builder is not None:
            print(f"building the lessons not stored yet in the background (pid {builder.pid}); "
                  "`spikinggamma lessons build` does it ahead of class", flush=True)
    serve(address=args.address, port=args.port, num_procs=args.num_procs, show=args.show,
          allow_origin=args.allow_origin, limits=limits)
    return 0


def register(subparsers) -> None:
    """Add the ``serve`` sub-command to ``spikinggamma``'s sub-parsers."""
    from .serving.classroom import Limits

    d = Limits()
    sv = subparsers.add_parser("serve", help="open the live workbench in the browser")
    sv.add_argument("--address", default="127.0.0.1",
                    help="interface to listen on (default loopback only; 0.0.0.0 for a classroom)")
    sv.add_argument("--port", type=int, default=5006, help="TCP port")
    sv.add_argument("--num-procs", type=int, default=1, help="server processes")
    sv.add_argument("--allow-origin", nargs="+", default=None, metavar="HOST:PORT",
                    help="origins whose pages may connect (default: this server's own name on "
                         "loopback, any origin on another address)")
    sv.add_argument("--max-training", type=int, default=d.max_training,
                    help="training runs at once per server process; the others queue for a slot")
    sv.add_argument("--turn-seconds", type=float, default=d.turn_s,
                    help="a run gives its slot to a waiting one after this long (s)")
    sv.add_argument("--idle-minutes", type=float, default=d.idle_minutes,
                    help="a running session without user input this long is paused (min)")
    sv.add_argument("--max-hidden", type=int, default=d.max_hidden,
                    help="largest hidden layer a session may ask for (neurons)")
    sv.add_argument("--max-redraws", type=float, default=d.max_redraws_per_s,
                    help="plot redraws per second of one session, at most")
    sv.add_argument("--max-lab-jobs", type=int, default=d.max_lab_jobs,
                    help="lab computations at once (slider moves in the labs); the others wait")
    sv.add_argument("--show", action="store_true", help="open a browser tab")
    sv.add_argument("--no-lesson-build", action="store_true",
                    help="do not build missing lessons in the background at start")
    sv.add_argument("--data-dir", default=None,
                    help="real data sets (default $SPIKINGGAMMA_DATA_DIR): adds their presets")
    sv.set_defaults(func=_serve)
