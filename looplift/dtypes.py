"""The dtypes looplift moves between NumPy and torch, written down once.

Every layer reads these tables: the abstract values, the registry's dtype rules, the runtime's
guards and the generated code (which names torch dtypes by their attribute, ``torch.float32``).
"""
from __future__ import annotations

import numpy as np
import torch

#: NumPy dtypes that a lifted value may have: torch has an exact counterpart for each, and the
#: registry's dtype rules are checked against NumPy for them.
LIFTABLE_NP_DTYPES: frozenset[np.dtype] = frozenset(
    np.dtype(n) for n in ("bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64")
)

NP_TO_TORCH: dict[np.dtype, torch.dtype] = {
    np.dtype("bool"): torch.bool,
    np.dtype("uint8"): torch.uint8,
    np.dtype("int8"): torch.int8,
    np.dtype("int16"): torch.int16,
    np.dtype("int32"): torch.int32,
    np.dtype("int64"): torch.int64,
    np.dtype("float16"): torch.float16,
    np.dtype("float32"): torch.float32,
    np.dtype("float64"): torch.float64,
    np.dtype("complex64"): torch.complex64,
    np.dtype("complex128"): torch.complex128,
}
TORCH_TO_NP: dict[torch.dtype, np.dtype] = {v: k for k, v in NP_TO_TORCH.items()}

#: torch dtypes by their attribute name (``"float32"`` -> ``torch.float32``), for guards and
#: generated code.
TORCH_BY_NAME: dict[str, torch.dtype] = {str(d).removeprefix("torch."): d for d in NP_TO_TORCH.values()}


def torch_name(dtype: torch.dtype) -> str:
    """``torch.float32`` -> ``"float32"`` (the inverse of ``TORCH_BY_NAME``)."""
    return str(dtype).removeprefix("torch.")


#: Tensor methods that cast to a fixed dtype (``t.float()``).
TENSOR_CAST_METHODS: dict[str, torch.dtype] = {
    "float": torch.float32, "double": torch.float64, "half": torch.float16, "int": torch.int32,
    "long": torch.int64, "bool": torch.bool, "short": torch.int16, "byte": torch.uint8, "char": torch.int8,
}
