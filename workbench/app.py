"""The workbench app: ``create_app(page)`` builds one page per session; ``serve`` runs a server.

    python -m workbench.app            # or: spikinggamma serve --port 5006
"""
from __future__ import annotations

import functools
import os

ASSETS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets")


@functools.cache
def _holoviews() -> None:
    """HoloViews' Bokeh backend, loaded once per process (its state is global; loading it for
    every session cost each new page about 50 ms of the server's event loop)."""
    import holoviews as hv
    hv.extension("bokeh", logo=False)


def create_app(page: str = "trainer"):
    """A fresh page ("trainer", "neuron", "resolution", "lessons") with its own model and plots."""
    import panel as pn

    pn.extension(notifications=True)
    _holoviews()
    if page == "trainer":
        from .pages.trainer import create_page
    elif page == "neuron":
        from .pages.neuron import create_page
    elif page == "resolution":
        from .pages.resolution import create_page
    elif page == "lessons":
        from .pages.lessons import create_page
    else:
        raise ValueError(f"page must be 'trainer', 'neuron', 'resolution' or 'lessons' (got {page!r})")
    return create_page()


def apps() -> dict:
    """{url slug: per-session factory} for ``pn.serve``."""
    return {name: (lambda name=name: create_app(name)) for name in ("trainer", "neuron", "resolution",
                                                                     "lessons")}


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def websocket_origins(address: str, port: int, allow_origin: list[str] | None = None) -> list[str]:
    """Origins whose pages may open a session: this server's own name on loopback; on another
    interface the ``allow_origin`` list ("host:port", "*" for any), by default any."""
    if allow_origin:
        return list(allow_origin)
    if address in LOOPBACK:
        return [f"{address}:{port}", f"localhost:{port}"]
    # a classroom server is reached by names and addresses the server cannot know in advance
    return ["*"]


def serve(address: str = "127.0.0.1", port: int = 5006, num_procs: int = 1, show: bool = False,
          threaded: bool = False, start: bool = True, allow_origin: list[str] | None = None,
          limits=None):
    """Serve all pages; "/" redirects to the Trainer. With ``threaded=True`` returns a
    StoppableThread (call ``.stop()``), which is how the browser tests start it in-process.
    ``limits`` (a :class:`workbench.serving.classroom.Limits`) caps what each session may use."""
    import sys

    import panel as pn

    from .serving import classroom

    if limits is not None:
        classroom.configure(limits)
    if start and num_procs == 1:  # (forked server processes start their own when first used)
        classroom.SLOTS.start_workers()
    origins = websocket_origins(address, port, allow_origin)
    if address not in LOOPBACK:
        print(f"warning: serving on {address}, reachable from other machines; pages from "
              f"{'any origin' if origins == ['*'] else ', '.join(origins)} may open sessions "
              "(restrict with --allow-origin HOST:PORT ...). Anyone who can reach the port can "
              "train on this machine.", file=sys.stderr, flush=True)
    return pn.serve(apps(), address=address, port=port, num_procs=num_procs, show=show,
                    threaded=threaded, start=start, title="SpikingGamma Workbench",
                    index=os.path.join(ASSETS, "index.html"), websocket_origin=origins,
                    print_url=False)


def free_port(address: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``address`` now (in-process servers of tests and benchmarks)."""
    import socket
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def url(address: str = "127.0.0.1", port: int = 5006) -> str:
    return f"http://{address}:{port}/trainer"


if __name__ == "__main__":
    print(f"SpikingGamma Workbench: {url()}")
    serve()
