"""``spikinggamma serve``: the workbench sub-command (registered by engine.cli when importable)."""
from __future__ import annotations

import argparse


def _serve(args: argparse.Namespace) -> int:
    from .app import serve, url

    if args.num_procs < 1:
        raise ValueError(f"--num-procs must be >= 1 (got {args.num_procs})")
    if args.data_dir:  # the Trainer offers a preset for each real data set found there
        import os

        from engine.data import DATA_ENV
        os.environ[DATA_ENV] = str(args.data_dir)
    print(f"SpikingGamma Workbench: {url(args.address, args.port)}", flush=True)
    serve(address=args.address, port=args.port, num_procs=args.num_procs, show=args.show)
    return 0


def register(subparsers) -> None:
    """Add the ``serve`` sub-command to ``spikinggamma``'s sub-parsers."""
    sv = subparsers.add_parser("serve", help="open the live workbench in the browser")
    sv.add_argument("--address", default="127.0.0.1", help="interface to listen on")
    sv.add_argument("--port", type=int, default=5006, help="TCP port")
    sv.add_argument("--num-procs", type=int, default=1, help="server processes")
    sv.add_argument("--show", action="store_true", help="open a browser tab")
    sv.add_argument("--data-dir", default=None,
                    help="real data sets (default $SPIKINGGAMMA_DATA_DIR): adds their presets")
    sv.set_defaults(func=_serve)
