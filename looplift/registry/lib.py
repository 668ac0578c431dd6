"""Plain torch helpers that lowered code calls (as ``lib.<name>``) where one expression cannot
say what NumPy does.  Each is a pure function of tensors and Python values that reads no tensor
data on the host (see ``lowering.py``)."""
from __future__ import annotations
