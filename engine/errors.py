"""Exceptions of the engine."""
from __future__ import annotations


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss or parameter.

    The network's parameters are left as they were after the last good optimizer step.

    Attributes:
        step: index of the time step (within the sequence) at which the loss went non-finite.
        loss: the offending loss value.
    """

    def __init__(self, step: int, loss: float, what: str = "loss"):
        self.step = step
        self.loss = loss
        super().__init__(
            f"training diverged: non-finite {what} ({loss}) at step {step}; "
            "parameters restored to the last good step. Lower the learning rate or the weight scale."
        )
