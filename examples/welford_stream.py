"""Running mean and variance of sensor readings that arrive in batches (Welford/Chan merge).

Each batch is a tensor from a data loader; the statistics are kept in float64 NumPy arrays so
they stay exact over millions of readings, without ever holding the whole stream.

    python examples/welford_stream.py
"""
import numpy as np
import torch

from looplift import explain, looplift
from looplift.testing import compare_calls


@looplift(compile=False)
def stream_stats(batches: list[torch.Tensor]):
    count = 0
    mean = None
    m2 = None
    for batch in batches:
        x = batch.numpy().astype(np.float64)
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
    return mean, m2 / (count - 1), count


def sensor_stream(batches=40, batch_size=1024, channels=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    offsets = torch.linspace(-5, 5, channels)
    scales = torch.linspace(0.5, 3, channels)
    return [torch.randn(batch_size, channels, generator=g) * scales + offsets for _ in range(batches)]


def main():
    stream = sensor_stream()
    mean, var, count = stream_stats(stream)
    everything = torch.cat(stream).double().numpy()
    print(f"{count} readings of {mean.shape[0]} channels")
    print("channel 0: mean %.4f var %.4f; channel 31: mean %.4f var %.4f" % (mean[0], var[0], mean[-1], var[-1]))
    print("max difference from the two-pass formulas: mean %.2e, var %.2e" % (
        np.abs(mean - everything.mean(axis=0)).max(), np.abs(var - everything.var(axis=0, ddof=1)).max()))

    compare_calls(stream_stats.__wrapped__, stream_stats, (stream,))
    print("verified: identical to the undecorated function")
    report = explain(stream_stats, stream)
    print(f"looplift: {len(report.hoisted)} hoisted, {len(report.rewritten)} rewritten, "
          f"{len(report.skipped)} left as NumPy (python -m looplift show {__file__}:stream_stats)")


if __name__ == "__main__":
    main()
