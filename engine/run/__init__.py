"""Running a network over time: simulate (the two time loops, step by step and chunk by chunk)
and taps (recording any signal, state or gradient per step)."""
