"""Per-channel mean and standard deviation of an image dataset, for input normalization.

Batches of uint8 images (N, C, H, W) come out of a torch data pipeline; the statistics are
accumulated in float64 NumPy, as torchvision's normalization constants are usually computed.

    python examples/image_norm_stats.py
"""
import numpy as np
import torch

from looplift import explain, looplift
from looplift.testing import compare_calls


@looplift(compile=False)
def channel_stats(batches: list[torch.Tensor]):
    total = None
    total_sq = None
    pixels = 0
    for images in batches:
        x = images.numpy().astype(np.float64) / 255.0
        per_channel = x.sum(axis=(0, 2, 3))
        per_channel_sq = (x * x).sum(axis=(0, 2, 3))
        total = per_channel if total is None else total + per_channel
        total_sq = per_channel_sq if total_sq is None else total_sq + per_channel_sq
        pixels += x.shape[0] * x.shape[2] * x.shape[3]
    mean = total / pixels
    std = np.sqrt(total_sq / pixels - mean ** 2)
    return mean, std


def image_batches(batches=10, batch_size=32, size=64, seed=0):
    """Synthetic 'photos': a per-channel tint plus noise and a gradient, clipped to uint8."""
    g = torch.Generator().manual_seed(seed)
    tint = torch.tensor([120.0, 110.0, 90.0]).view(1, 3, 1, 1)
    ramp = torch.linspace(-40, 40, size).view(1, 1, 1, size)
    out = []
    for _ in range(batches):
        noise = torch.randn(batch_size, 3, size, size, generator=g) * 35
        out.append((tint + ramp + noise).clamp(0, 255).to(torch.uint8))
    return out


def main():
    batches = image_batches()
    mean, std = channel_stats(batches)
    print("mean (R, G, B):", np.round(mean, 4))
    print("std  (R, G, B):", np.round(std, 4))
    print("torchvision.transforms.Normalize(mean=%s, std=%s)" % (np.round(mean, 3).tolist(), np.round(std, 3).tolist()))

    compare_calls(channel_stats.__wrapped__, channel_stats, (batches,))
    print("verified: identical to the undecorated function")
    report = explain(channel_stats, batches)
    print(f"looplift: {len(report.hoisted)} hoisted, {len(report.rewritten)} rewritten, "
          f"{len(report.skipped)} left as NumPy (python -m looplift show {__file__}:channel_stats)")


if __name__ == "__main__":
    main()
