"""PageRank of a random web graph by power iteration, stopping when the ranks settle.

The link matrix is a torch tensor (it came out of a graph pipeline); the iteration is NumPy.
``links.numpy()`` sits inside the loop although the matrix never changes: ``@looplift`` converts
it once.  The convergence test and the ``break`` stay ordinary Python.

    python examples/pagerank.py
"""
import numpy as np
import torch

from looplift import explain, looplift
from looplift.testing import compare_calls


@looplift(compile=False)
def pagerank(links: torch.Tensor, damping: float = 0.85, tol: float = 1e-6, max_iter: int = 100):
    n = links.shape[0]
    rank = np.full(n, 1.0 / n)
    for iteration in range(max_iter):
        m = links.numpy()
        new_rank = damping * (m @ rank) + (1.0 - damping) / n
        delta = np.abs(new_rank - rank).sum()
        rank = new_rank
        if delta < tol:
            break
    return rank, iteration + 1


def random_graph(n=600, avg_out_degree=8, seed=0):
    """Column-stochastic link matrix (float64): column j spreads page j's rank over its links."""
    g = torch.Generator().manual_seed(seed)
    adjacency = (torch.rand(n, n, generator=g, dtype=torch.float64) < avg_out_degree / n).double()
    adjacency.fill_diagonal_(0.0)
    out_degree = adjacency.sum(dim=0)
    adjacency[:, out_degree == 0] = 1.0 / n  # dangling pages link everywhere
    return adjacency / adjacency.sum(dim=0, keepdim=True)


def main():
    links = random_graph()
    rank, iterations = pagerank(links)
    top = np.argsort(rank)[::-1][:5]
    print(f"converged in {iterations} iterations; ranks sum to {rank.sum():.6f}")
    print("top pages:", ", ".join(f"{p} ({rank[p]:.4f})" for p in top))

    compare_calls(pagerank.__wrapped__, pagerank, (links,))
    print("verified: identical to the undecorated function")
    report = explain(pagerank, links)
    print(f"looplift: {len(report.hoisted)} hoisted, {len(report.rewritten)} rewritten, "
          f"{len(report.skipped)} left as NumPy (python -m looplift show {__file__}:pagerank)")


if __name__ == "__main__":
    main()
