"""Learning: losses (per step), traces (eligibility traces, step and chunk forms), learner (one
Learner for spatial, traces and bptt; observe | observe_chunk), trainer (the optimizer)."""
