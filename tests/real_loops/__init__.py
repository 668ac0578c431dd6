"""Realistic PyTorch + NumPy loops (``loops.py``) and the harness that judges them (``harness.py``)."""
