"""The model, one module per stage of MODEL.md's data path, each with its step and its
time-parallel (chunk) form side by side: buckets (the gamma cascade), synapse (input events into
bucket 0), neuron (the signal x, y), encoder (sigma-delta spikes), layer (the learnable tensors and
the one pass through the layers), network (state, step, chunk, taps' hook points)."""
