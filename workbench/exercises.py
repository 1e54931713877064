"""Exercises of the lessons: a check that is plain data, so the notebook and the Lessons page run
the very same check. No Panel, no lesson code.

A lesson computes what the check needs (a measured value, a parameter) when it runs and builds

    exercise_1_1 = Exercise("1.1", Near(spikes_measured, rel=0.1), hint="…", wrong=10)
    exercise_1_1(answer_1_1)              # the check cell: prints "correct" or "not yet" and a hint

and, in a cell tagged ``solution`` (left out of the student's notebook),

    exercise_1_1.solution(value, why="one line of why")

When the lesson runs in a Jupyter kernel (the Lessons page builds it so, see
:mod:`workbench.lesson_build`), the check cell also displays the exercise as JSON under
:data:`EXERCISE_MIME` and the solution cell under :data:`SOLUTION_MIME`; the page reads them from
the stored notebook and checks a student's answer with :func:`check_answer`. A wrong answer gets
"not yet" and a hint, never the reference value (``tests/test_lessons.py`` looks for it in every
message).

Checks: :class:`Near` (a number within a tolerance), :class:`OneOf` (one of the accepted
answers), :class:`Construct` (a construction, e.g. bucket weights, measured by a function of
:data:`CONSTRUCTIONS` from the engine and judged against a target).
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from typing import Any, Callable

EXERCISE_MIME = "application/vnd.spikinggamma.exercise+json"
SOLUTION_MIME = "application/vnd.spikinggamma.solution+json"


def _plain(value):
    """numpy / torch scalars and arrays as JSON-able Python values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _number(answer) -> float:
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) and not hasattr(answer, "item"):
        raise ValueError("give a number")
    value = float(answer)
    if not math.isfinite(value):
        raise ValueError("give a finite number")
    return value


# ----------------------------------------------------------------------------------- checks
@dataclass
class Near:
    """A number within ``abs`` or ``rel`` (of the truth) of ``truth``: a measured value."""

    truth: float
    rel: float = 0.0
    abs: float = 0.0
    unit: str = ""
    kind: str = "near"

    def __post_init__(self):
        self.truth = float(self.truth)

    def __call__(self, answer) -> tuple[bool, str]:
        value = _number(answer)
        if abs(value - self.truth) <= max(self.abs, self.rel * abs(self.truth), 1e-12):
            return True, f"the engine measures {self.truth:.4g}{self.unit}"
        return False, "your answer is too " + ("high" if value > self.truth else "low")


@dataclass
class OneOf:
    """One of ``accepted`` (strings compared without case and spaces; numbers as numbers)."""

    accepted: list
    options: list = field(default_factory=list)
    kind: str = "one_of"

    def __post_init__(self):
        self.accepted = _plain(list(self.accepted))
        self.options = _plain(list(self.options))

    @staticmethod
    def _norm(x):
        if isinstance(x, str):
            return "".join(x.lower().split()).strip("'\"")
        try:
            return float(x)
        except (TypeError, ValueError):
            return repr(x)

    def __call__(self, answer) -> tuple[bool, str]:
        if self.options and self._norm(answer) not in {self._norm(o) for o in self.options}:
            return False, "answer with one of " + ", ".join(map(str, self.options))
        if self._norm(answer) in {self._norm(a) for a in self.accepted}:
            return True, "that is what the engine measures"
        return False, "that is not what the engine measures"


@dataclass
class Construct:
    """A construction (``answer``: e.g. bucket weights) measured by ``CONSTRUCTIONS[what]`` with
    ``params``; the function says whether it meets the target and what it measured."""

    what: str
    params: dict = field(default_factory=dict)
    kind: str = "construct"

    def __post_init__(self):
        self.params = _plain(dict(self.params))

    def __call__(self, answer) -> tuple[bool, str]:
        return CONSTRUCTIONS[self.what](answer, **self.params)


CHECKS = {"near": Near, "one_of": OneOf, "construct": Construct}


def check_from(spec: dict):
    spec = dict(spec)
    return CHECKS[spec.pop("kind")](**spec)


# ------------------------------------------------------------------------- constructions
def _vector(answer, n: int, what: str):
    import torch
    try:
        v = torch.as_tensor([float(x) for x in answer], dtype=torch.float64)
    except (TypeError, ValueError):
        raise ValueError(f"give {n} numbers, {what}") from None
    if v.shape != (n,) or not torch.isfinite(v).all():
        raise ValueError(f"give {n} numbers, {what}")
    return v


def kernel_delay(answer, tau_ms: float, n_buckets: int, low_ms: float, high_ms: float):
    """Bucket weights v (non-negative, summing to 1) whose effective delay lies in [low, high]."""
    import torch

    from engine.model.buckets import bucket_delays_ms
    from engine.model.neuron import kernel_delay_ms
    v = _vector(answer, n_buckets, "non-negative, summing to 1")
    if (v < 0).any() or abs(float(v.sum()) - 1) > 1e-6:
        raise ValueError(f"give {n_buckets} non-negative numbers that sum to 1")
    d = float(kernel_delay_ms(v, bucket_delays_ms(torch.full((n_buckets,), float(tau_ms)))))
    ok = low_ms <= d <= high_ms
    return ok, (f"your v has an effective delay of {d:.2f} ms"
                + ("" if ok else f", outside {low_ms:g}–{high_ms:g} ms"))


def coincidence_wiring(answer, want_ms: float, tolerance_ms: float, dt_ms: float):
    """``(bucket of A, weight of A)`` for lesson 3's neuron: its tuning peak within tolerance of
    ``want_ms`` and an output spike there, none at Δ = 0."""
    from .lesson_tools import coincidence_tuning
    try:
        bucket, weight = answer
        bucket, weight = int(bucket), _number(weight)
    except (TypeError, ValueError):
        raise ValueError("give (bucket of A, weight of A), e.g. (3, 2.0)") from None
    if not 0 <= bucket < 6:
        raise ValueError("the bucket of A is one of 0–5")
    tuning = coincidence_tuning(bucket, weight, dt_ms=dt_ms)
    best = max(tuning, key=lambda d: tuning[d][0])
    spikes_best, spikes_zero = tuning[best][1], tuning[0.0][1]
    ok = abs(best - want_ms) <= tolerance_ms and spikes_best > 0 and spikes_zero == 0
    return ok, (f"your neuron peaks at Δ = {best:g} ms with {spikes_best} output spikes there, "
                f"{spikes_zero} at Δ = 0")


def encoder_budget(answer, dt_ms: float, tau_ms: float, max_rms: float, max_spikes: int):
    """A threshold ϑ whose code of the encoder lab's signal has RMS error below ``max_rms`` with
    at most ``max_spikes`` spikes."""
    from .models.encoder import EncoderLabModel
    theta = _number(answer)
    if not 0.001 <= theta <= 1.0:
        raise ValueError("give a threshold between 0.001 and 1")
    d = EncoderLabModel(threshold=theta, dt_ms=dt_ms, tau_ms=tau_ms).simulate()
    ok = d["rms_error"] < max_rms and d["n_spikes"] <= max_spikes
    return ok, (f"ϑ = {theta:g} gives {d['n_spikes']} spikes and RMS error {d['rms_error']:.4f} "
                f"(wanted: error below {max_rms:g} with at most {max_spikes} spikes)")


def aligned_lag(answer, tau_ms: float, want_ms: float, tolerance_ms: float):
    """Bucket weights of A's synapse (B's synapse on bucket 0) whose kernels line up best when B
    comes ``want_ms`` later (the lag ``CoincidenceTask.hidden_tuning_ms`` reads)."""
    from .lesson_tools import pair_lag_ms
    v = _vector(answer, 6, "non-negative")
    if (v < 0).any() or float(v.sum()) <= 0:
        raise ValueError("give 6 non-negative numbers, not all zero")
    lag = pair_lag_ms(v.tolist(), tau_ms=tau_ms)
    ok = abs(lag - want_ms) <= tolerance_ms
    return ok, f"your unit's kernels line up best at Δ = {lag:.1f} ms"


CONSTRUCTIONS: dict[str, Callable[..., tuple[bool, str]]] = {
    "kernel_delay": kernel_delay, "coincidence_wiring": coincidence_wiring,
    "encoder_budget": encoder_budget, "aligned_lag": aligned_lag}


# ------------------------------------------------------------------------------ exercise
def _display(mime: str, data: dict) -> None:
    """Show ``data`` under ``mime`` in a Jupyter kernel (an empty text elsewhere); no-op in a script."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return
    if get_ipython() is None or type(get_ipython()).__name__ != "ZMQInteractiveShell":
        return
    display({mime: data, "text/plain": ""}, raw=True)


def check_answer(spec: dict, answer) -> tuple[bool, str]:
    """The check of the exercise ``spec`` (as displayed under EXERCISE_MIME) on ``answer``;
    a string answer is read as a Python literal when it is one. Never raises for a bad answer."""
    if isinstance(answer, str):
        text = answer.strip()
        if not text:
            return False, "not answered yet"
        try:
            answer = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            answer = text
    try:
        ok, message = check_from(spec["check"])(answer)
    except (ValueError, TypeError, KeyError, IndexError) as err:
        return False, f"not yet: {err}"
    if ok:
        return True, f"correct: {message}"
    return False, f"not yet: {message}. Hint: {spec['hint']}"


@dataclass
class Exercise:
    """An exercise a student answers in code (or in the Lessons page's answer box).

    Args:
        name: e.g. ``"1.2"``.
        check: a :class:`Near`, :class:`OneOf` or :class:`Construct`.
        hint: what to think about when the answer is not yet right (never the answer).
        wrong: an answer the check must reject (the tests make sure it does, without telling).
        task: ``"predict"`` (reason first, then the engine measures), ``"construct"`` (build
            something the check measures) or ``"compute"`` (measure or read it off).
    """

    name: str
    check: Any
    hint: str
    wrong: Any
    task: str = "compute"
    reference: Any = None
    why: str = ""

    def spec(self) -> dict:
        from dataclasses import asdict
        return {"name": self.name, "check": asdict(self.check), "hint": self.hint,
                "wrong": _plain(self.wrong), "task": self.task}

    def test(self, answer) -> tuple[bool, str]:
        """``(ok, message)`` for ``answer``, exactly as the page's answer box says it."""
        return check_answer(self.spec(), answer)

    def __call__(self, answer) -> None:
        """Check ``answer`` and say so; ``None`` means not answered yet."""
        _display(EXERCISE_MIME, self.spec())
        if answer is None:
            print(f"Exercise {self.name}: not answered yet: write your answer above and run this "
                  "cell again (or use the answer box on the Lessons page).")
            return
        print(f"Exercise {self.name}: {self.test(answer)[1]}")

    def solution(self, value, why: str):
        """The reference answer ``value`` and one line of why; checks it and shows both."""
        self.reference, self.why = _plain(value), why
        ok, message = self.test(self.reference)
        print(f"Reference answer {self.name}: {self.reference!r}. Why: {why}"
              + ("" if ok else f"  (the check rejects it: {message})"))
        _display(SOLUTION_MIME, {"name": self.name, "value": self.reference, "why": why,
                                 "ok": ok})
