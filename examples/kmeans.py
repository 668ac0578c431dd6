"""k-means clustering of embedding vectors: the assignment step and the centroid update.

The embeddings are a torch tensor (the output of an encoder); Lloyd's iterations are NumPy.
``points.numpy()`` in the loop is loop-invariant and is converted once.

    python examples/kmeans.py
"""
import numpy as np
import torch

from looplift import explain, looplift
from looplift.testing import compare_calls


@looplift(compile=False)
def kmeans(points: torch.Tensor, centroids: np.ndarray, iters: int = 15):
    for _ in range(iters):
        x = points.numpy()
        # squared distances |x|^2 - 2 x.c + |c|^2, shape (n_points, k)
        distances = (x * x).sum(axis=1)[:, None] - 2.0 * (x @ centroids.T) + (centroids * centroids).sum(axis=1)
        assignment = distances.argmin(axis=1)
        for j in range(centroids.shape[0]):
            members = x[assignment == j]
            if len(members):
                centroids[j] = members.mean(axis=0)
    inertia = float(np.take_along_axis(distances, assignment[:, None], axis=1).sum())
    return assignment, inertia


def embeddings(n=3000, dim=32, k=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(k, dim, generator=g) * 4
    labels = torch.randint(0, k, (n,), generator=g)
    return centers[labels] + torch.randn(n, dim, generator=g), k


def main():
    points, k = embeddings()
    rng = np.random.default_rng(0)
    start = points.numpy()[rng.choice(len(points), k, replace=False)].copy()
    centroids = start.copy()
    assignment, inertia = kmeans(points, centroids)
    sizes = np.bincount(assignment, minlength=k)
    print(f"{k} clusters of sizes {sizes.tolist()}, inertia {inertia:.1f}")
    print("the centroids were updated in place:", not np.array_equal(start, centroids))

    compare_calls(kmeans.__wrapped__, kmeans, (points, start.copy()))  # also compares the mutated centroids
    print("verified: identical to the undecorated function (return value and the updated centroids)")
    report = explain(kmeans, points, start.copy())
    print(f"looplift: {len(report.hoisted)} hoisted, {len(report.rewritten)} rewritten, "
          f"{len(report.skipped)} left as NumPy (python -m looplift show {__file__}:kmeans)")


if __name__ == "__main__":
    main()
