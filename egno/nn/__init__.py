"""The models: layers (spectral, EGNN), EGNO and the baselines, their config and the graph batch.

Layer 1 of egno (docs/contributing.md): imports only the standard library, numpy and torch,
never the datasets, the runners or the app.
"""
