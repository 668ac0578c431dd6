"""The functions ``looplift demo`` runs, written the way people write them (undecorated).

They live in a real file so that ``inspect.getsource`` (and so ``@looplift``) can read them.
The first four are the common patterns of converting in loops: a conversion that belongs outside
the loop (both directions: tensor to NumPy and NumPy to tensor), ``.numpy()`` in every iteration,
and torch ops with one final conversion.  The others are loops from real programs: an evaluation loop, a power
iteration and a running statistic.  Functions that call ``.numpy()`` directly are CPU code (with
``--device cuda`` the demo keeps their inputs on the CPU); the others go through ``.cpu()`` and run
on any device.
"""
from __future__ import annotations

import numpy as np
import torch


def per_iteration_numpy(batches):
    """A tensor is converted to NumPy in every iteration, then NumPy works on it."""
    energies = []
    for t in batches:
        a = t.numpy()
        energies.append(np.tanh(a) * 0.5 + np.exp(-a * a))
    return energies


def invariant_conversion(weights, batches):
    """``weights`` never changes, yet it is converted to NumPy in every iteration."""
    scores = []
    for x in batches:
        w = weights.numpy()
        scores.append(np.maximum(x.numpy() @ w, 0.0))
    return scores


def invariant_copy(basis, batches):
    """The same NumPy array is copied into a new tensor in every iteration."""
    out = []
    for x in batches:
        b = torch.tensor(basis)
        out.append(torch.relu(x @ b))
    return out


def torch_ops_then_convert(batches):
    """The loop stays in torch and converts once, at the end."""
    results = []
    for t in batches:
        results.append(torch.tanh(t) * 0.5 + torch.exp(-t * t))
    return [r.cpu().numpy() for r in results]


def evaluate(weight, bias, batches):
    """Evaluation loop of a linear classifier: mean cross-entropy and accuracy over the batches."""
    correct = 0
    seen = 0
    loss = 0.0
    for x, y in batches:
        logits = (x @ weight + bias).detach().cpu().numpy()
        labels = y.cpu().numpy()
        top = logits.max(axis=1, keepdims=True)
        log_z = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
        loss += float((log_z - logits[np.arange(len(labels)), labels]).sum())
        correct += int((logits.argmax(axis=1) == labels).sum())
        seen += len(labels)
    return correct / seen, loss / seen


def power_iteration(matrix, iters):
    """Dominant eigenvalue and eigenvector of a symmetric matrix by power iteration."""
    v = np.ones(matrix.shape[0], dtype=np.float32)
    eigenvalue = 0.0
    for _ in range(iters):
        a = matrix.numpy()
        w = a @ v
        eigenvalue = float(np.sqrt(w @ w))
        v = w / eigenvalue
    return eigenvalue, v


def running_mean_var(batches):
    """Per-feature mean and variance of a stream of batches (Chan/Welford merge, float64)."""
    count = 0
    mean = None
    m2 = None
    for b in batches:
        x = b.detach().cpu().numpy().astype(np.float64)
        n = x.shape[0]
        batch_mean = x.mean(axis=0)
        batch_m2 = ((x - batch_mean) ** 2).sum(axis=0)
        if mean is None:
            count, mean, m2 = n, batch_mean, batch_m2
            continue
        delta = batch_mean - mean
        total = count + n
        mean = mean + delta * (n / total)
        m2 = m2 + batch_m2 + delta * delta * (count * n / total)
        count = total
    return mean, m2 / (count - 1)


# ----------------------------------------------------------------------------------------------
# Inputs: seeded, built on the CPU and moved to the device, so every run sees the same numbers.

def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def per_iteration_numpy_inputs(device: str = "cpu") -> tuple:
    g = _generator(1)  # items of 131072 elements: the CPU cost model lifts these
    return ([torch.randn(512, 256, generator=g).to(device) for _ in range(16)],)


def invariant_conversion_inputs(device: str = "cpu") -> tuple:
    g = _generator(2)
    weights = torch.randn(256, 256, generator=g).to(device)
    return weights, [torch.randn(64, 256, generator=g).to(device) for _ in range(32)]


def invariant_copy_inputs(device: str = "cpu") -> tuple:
    g = _generator(7)
    basis = torch.randn(1024, 1024, generator=g).numpy()
    return basis, [torch.randn(16, 1024, generator=g).to(device) for _ in range(32)]


def torch_ops_then_convert_inputs(device: str = "cpu") -> tuple:
    g = _generator(3)
    return ([torch.randn(256, 256, generator=g).to(device) for _ in range(16)],)


def evaluate_inputs(device: str = "cpu") -> tuple:
    g = _generator(4)
    features, classes = 256, 1000
    weight = (torch.randn(features, classes, generator=g) * 0.05).to(device)
    bias = torch.zeros(classes).to(device)
    batches = [(torch.randn(64, features, generator=g).to(device),
                torch.randint(0, classes, (64,), generator=g).to(device)) for _ in range(6)]
    return weight, bias, batches


def power_iteration_inputs(device: str = "cpu") -> tuple:
    g = _generator(5)
    a = torch.randn(384, 384, generator=g)
    return ((a + a.T) / 2).to(device), 40


def running_mean_var_inputs(device: str = "cpu") -> tuple:
    g = _generator(6)
    return ([(torch.randn(512, 64, generator=g) * 3 + 1).to(device) for _ in range(24)],)
