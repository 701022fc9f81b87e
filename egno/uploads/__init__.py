"""A user's upload, read and predicted in a capped worker process: the worker (worker.py), the file
as frames and one window (frames.py), the molecule routing (route.py), equivariance and rollout on
an upload (checks.py) and the files written back (export.py).

Layer 5 of egno: may import every layer below it.
"""
