"""Small stand-in models and data sources for the realistic loops (seeded, no downloads)."""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset


def seeded(seed: int, make: Any) -> Any:
    """``make()`` with torch's global RNG at ``seed``, leaving the global state as it was."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return make()


class MLP(nn.Module):
    """A classifier with a ``features`` trunk and a ``head`` (torchvision's shape)."""

    def __init__(self, d_in: int = 8, hidden: int = 16, n_out: int = 3, dropout: float = 0.0) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.head = nn.Linear(hidden, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class TwoHeads(nn.Module):
    """A model one of whose heads is not used by ``forward``: its gradients stay ``None``."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(6, 8)
        self.used = nn.Linear(8, 2)
        self.unused = nn.Linear(8, 2)
        self.frozen = nn.Linear(8, 8)
        self.frozen.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.used(torch.relu(self.frozen(self.body(x))))


class PixelNet(nn.Module):
    """Per-pixel classifier (a 1x1 convolution): ``(N, 3, H, W) -> (N, C, H, W)``."""

    def __init__(self, classes: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Decoder(nn.Module):
    """A one-step recurrent decoder: ``(token, h) -> (logits, h)``."""

    def __init__(self, vocab: int = 7, hidden: int = 8) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, hidden)
        self.cell = nn.GRUCell(hidden, hidden)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, tok: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.cell(self.emb(tok), h)
        return self.out(h), h


class BatchLoader:
    """A DataLoader-like object: ``__iter__`` yields ``(inputs, targets)`` batches, ``__len__``."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> None:
        self.x, self.y, self.batch_size = x, y, batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for i in range(0, len(self.x), self.batch_size):
            yield self.x[i:i + self.batch_size], self.y[i:i + self.batch_size]

    def __len__(self) -> int:
        return (len(self.x) + self.batch_size - 1) // self.batch_size


class DictLoader(BatchLoader):
    """Yields ``{"image": x, "label": y}`` batches (HuggingFace-style collated dicts)."""

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:  # type: ignore[override]
        for x, y in super().__iter__():
            yield {"image": x, "label": y}


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def classification(n_batches: int, batch_size: int = 4, *, short_last: bool = True, d_in: int = 8,
                   classes: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and labels for ``n_batches`` batches, the last one smaller when ``short_last``."""
    n = n_batches * batch_size - (batch_size // 2 if short_last and n_batches > 1 else 0)
    g = generator(seed)
    return torch.randn(n, d_in, generator=g), torch.randint(0, classes, (n,), generator=g)


def loader(n_batches: int, **kw: Any) -> BatchLoader:
    x, y = classification(n_batches, **kw)
    return BatchLoader(x, y, kw.get("batch_size", 4))


def torch_loader(n_batches: int, **kw: Any) -> DataLoader:
    x, y = classification(n_batches, **kw)
    return DataLoader(TensorDataset(x, y), batch_size=kw.get("batch_size", 4), shuffle=False)


def regression(n_batches: int, batch_size: int = 4, d_in: int = 8, d_out: int = 3, seed: int = 0
               ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = generator(seed)
    return [(torch.randn(batch_size, d_in, generator=g), torch.randn(batch_size, d_out, generator=g))
            for _ in range(n_batches)]


def tensors(n: int, shape: tuple[int, ...], dtype: torch.dtype = torch.float32, seed: int = 0,
            requires_grad: bool = False) -> list[torch.Tensor]:
    g = generator(seed)
    out = []
    for _ in range(n):
        if dtype.is_floating_point:
            t = torch.randn(shape, generator=g, dtype=dtype)
        elif dtype is torch.bool:
            t = torch.rand(shape, generator=g) < 0.3
        else:
            t = torch.randint(0, 10, shape, generator=g, dtype=dtype)
        out.append(t.requires_grad_(requires_grad))
    return out


def with_grads(model: nn.Module, seed: int = 0) -> nn.Module:
    """``model`` after one backward pass (parameters ``forward`` does not reach keep ``None``)."""
    g = generator(seed)
    x = torch.randn(5, 6, generator=g)
    model(x).pow(2).mean().backward()
    return model


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


class DictDataset(torch.utils.data.Dataset):
    """Samples as dicts (``{"pixels": (3, 4, 4) tensor, "label": int}``), collated by DataLoader."""

    def __init__(self, n: int, seed: int = 0) -> None:
        g = generator(seed)
        self.pixels = torch.rand(n, 3, 4, 4, generator=g)
        self.labels = torch.randint(0, 3, (n,), generator=g).tolist()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"pixels": self.pixels[i], "label": self.labels[i]}
