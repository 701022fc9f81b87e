"""Running models: checkpoints (the one loader), training, evaluation, chained rollouts, physical
checks and benchmarks.

Layer 3 of egno: may import egno.nn and egno.data.
"""
