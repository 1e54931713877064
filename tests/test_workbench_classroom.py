"""One server, many sessions: training slots and their queue, idle pause, per-session limits,
origins, and no file outside the server's own reachable through any URL."""
import http.client
import os
import secrets
import signal
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.app import websocket_origins
from workbench.serving.classroom import LabJobs, Limits, Slots
from workbench.serving.session import TrainerSession


def _until(cond, timeout_s=120.0):
    """Wait for a condition; the deadline only stops a hang, it is not what is tested."""
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_slots_first_come_first_served_and_turns():
    slots = Slots(1)
    a, b, c = object(), object(), object()
    assert slots.try_acquire(a) and not slots.try_acquire(b) and not slots.try_acquire(c)
    assert slots.position(b) == (1, 2) and slots.position(c) == (2, 2)
    assert not slots.turn_over(a, turn_s=3600)  # its turn is not over yet
    assert not slots.try_acquire(c)  # c is second in line: b goes first
    assert slots.turn_over(a, turn_s=0)  # others wait: a gives the slot up, queues last
    assert slots.try_acquire(b) and slots.position(a) == (2, 2)
    slots.release(b)
    assert slots.try_acquire(c) and slots.busy == 1
    slots.release(c)
    slots.release(a)
    assert slots.busy == 0 and slots.position(a) is None


def test_limits_name_the_field():
    for field, bad in [("max_training", 0), ("turn_s", float("nan")), ("idle_minutes", -1),
                       ("max_hidden", 2.5), ("max_lab_jobs", 0)]:
        with pytest.raises(ValueError, match=field):
            Limits(**{field: bad})


def test_lab_jobs_run_off_the_event_loop_at_most_n_at_once():
    import asyncio
    import threading
    jobs, lock = LabJobs(2), threading.Lock()
    running, seen = [0], []

    def job(i):
        with lock:
            running[0] += 1
            seen.append((threading.current_thread().name, running[0]))
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return i * i

    async def main():
        loop_thread = threading.current_thread().name
        out = await asyncio.gather(*(jobs.run(job, i) for i in range(6)))
        return loop_thread, out
    loop_thread, out = asyncio.run(main())
    assert out == [i * i for i in range(6)]
    assert all(name != loop_thread and name.startswith("lab") for name, _ in seen)
    assert max(n for _, n in seen) == 2


def test_second_run_queues_then_takes_turns():
    slots, limits = Slots(1), Limits(max_training=1, turn_s=0.5)
    a, b = TrainerSession(slots=slots, limits=limits), TrainerSession(slots=slots, limits=limits)
    try:
        a.play()
        _until(lambda: (a.pull(), a.epoch)[1] >= 1)
        b.play()
        _until(lambda: (b.pull(), "queued · your run starts when a slot frees" in b.status)[1]
               or b.epoch > 0)
        _until(lambda: (b.pull(), b.epoch)[1] >= 1)  # a's turn ends, b trains
        assert slots.busy == 1
        a.pause()
        _until(lambda: slots.holds(b) or not b.running)
        at = (a.pull(), a.epoch)[1]
        time.sleep(1.0)
        assert (a.pull(), a.epoch)[1] == at  # paused: no slot, no epoch
    finally:
        a.stop()
        b.stop()
    assert slots.busy == 0


def test_idle_session_is_paused_and_says_why():
    slots = Slots(1)
    m = TrainerSession(slots=slots, limits=Limits(idle_minutes=0.01))  # 0.6 s
    try:
        m.play()
        _until(lambda: (m.pull(), not m.running)[1])
        assert "without input" in m.error
        _until(lambda: slots.busy == 0)  # the run came back from the worker, the slot is free
        m.play()  # a user action: trains again
        assert m.running and m.error == ""
    finally:
        m.stop()


def test_runs_train_in_the_slots_worker_processes():
    slots = Slots(2)
    a, b = TrainerSession(slots=slots), TrainerSession(slots=slots)
    try:
        a.play()
        b.play()
        _until(lambda: (a.pull(), b.pull(), min(a.epoch, b.epoch))[2] >= 1)
        pids = {a.worker.pid, b.worker.pid}
        assert len(pids) == 2 and os.getpid() not in pids  # one process per slot, not ours
    finally:
        a.stop()
        b.stop()
        slots.close()


def test_a_worker_that_dies_pauses_the_session_with_a_message():
    slots = Slots(1)
    m = TrainerSession(slots=slots)
    try:
        m.play()
        _until(lambda: (m.pull(), m.epoch)[1] >= 1)
        os.kill(m.worker.pid, signal.SIGKILL)
        _until(lambda: (m.pull(), not m.running)[1])
        assert m.error.startswith("Paused")
        _until(lambda: slots.busy == 0)
        m.play()  # a fresh worker, a fresh run
        _until(lambda: (m.pull(), m.worker is not None and m.worker.alive and m.epoch >= 1)[1])
    finally:
        m.stop()
        slots.close()


def test_session_limits_and_close_frees():
    m = TrainerSession(slots=Slots(1), limits=Limits(max_hidden=20))
    m.n_hidden = 30
    assert "n_hidden" in m.error and m.n_hidden == 50  # rolled back to the default
    m.n_hidden = 10
    assert m.error == ""
    m.train_epochs(1)
    assert m.ex is not None
    m.close()
    assert m.ex is None and m.latest() is None


def test_origins_and_warning(monkeypatch, capsys):
    import panel as pn

    from workbench import app
    assert websocket_origins("127.0.0.1", 5006) == ["127.0.0.1:5006", "localhost:5006"]
    assert websocket_origins("0.0.0.0", 5006) == ["*"]
    assert websocket_origins("0.0.0.0", 5006, ["room.example:5006"]) == ["room.example:5006"]
    calls = []
    monkeypatch.setattr(pn, "serve", lambda *a, **kw: calls.append(kw))
    app.serve(address="0.0.0.0", allow_origin=["room.example:5006"], start=False)
    assert calls[-1]["websocket_origin"] == ["room.example:5006"] and calls[-1]["address"] == "0.0.0.0"
    assert "warning" in capsys.readouterr().err
    app.serve(start=False)
    assert calls[-1]["address"] == "127.0.0.1" and "warning" not in capsys.readouterr().err


# ------------------------------------------------------------------ paths from the browser
@pytest.fixture(scope="module")
def server_and_secret(tmp_path_factory):
    from workbench.app import free_port, serve
    secret_dir = tmp_path_factory.mktemp("outside")
    token = secrets.token_hex(16)
    (secret_dir / "secret.txt").write_text(token)
    port = free_port()
    server = serve(port=port, threaded=True)
    time.sleep(1.5)
    yield port, secret_dir, token
    server.stop()


segment = st.sampled_from(["..", "%2e%2e", "%2E%2E", "..%2f", "%2f", "static", "extensions",
                           "panel", "trainer", "secret.txt", "", ".", "%00", "\\..", "..;",
                           "assets", "index.html", "~", "%252e%252e"])


@given(parts=st.lists(segment, max_size=10), absolute=st.booleans(),
       method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
def test_no_url_reads_or_writes_outside(server_and_secret, parts, absolute, method):
    port, secret_dir, token = server_and_secret
    path = "/" + "/".join(parts)
    if absolute:  # the file's own absolute path, behind prefixes the server does serve
        path = path.rstrip("/") + str(secret_dir / "secret.txt")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=token if method in ("POST", "PUT") else None)
        body = conn.getresponse().read()
    finally:
        conn.close()
    assert token.encode() not in body
    assert sorted(p.name for p in secret_dir.iterdir()) == ["secret.txt"]
