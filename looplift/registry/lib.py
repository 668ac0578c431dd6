"""Plain torch helpers that lowered code calls (as ``lib.<name>``) where one expression cannot
say what NumPy does.  Each is a pure function of tensors and Python values that reads no tensor
data on the host (see ``lowering.py``)."""
from __future__ import annotations


# ---------------------------------------------------------------------------------------------
# Shapes, indexing, linear algebra, sorting, creation (the lowerings of shape.py, indexing.py,
# linalg.py, sorting.py and creation.py).  Checks here read shapes, which the host knows, never
# tensor data.

import torch  # noqa: E402  (kept with the helpers that use it)


def squeeze(x: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    """``np.squeeze(x, axis=dims)``: NumPy raises where an axis to squeeze is not of size one,
    where ``torch.squeeze`` would silently keep it."""
    if any(x.shape[d] != 1 for d in dims):
        raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    return x.squeeze(dims) if dims else x.view(x.shape)
