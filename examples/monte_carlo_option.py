"""Monte Carlo prices of a book of European call options, simulated in chunks.

The option parameters come in as tensors (one entry per option); the simulation draws from a
seeded ``np.random.Generator`` chunk by chunk so memory stays bounded.  The conversions of the
parameters sit inside the chunk loop, where ``@looplift`` hoists them; the random draws and the
payoffs are NumPy as written, so the result is exactly reproducible from the seed.

    python examples/monte_carlo_option.py
"""
import math

import numpy as np
import torch

from looplift import explain, looplift
from looplift.testing import compare_calls


@looplift(compile=False)
def price_calls(spot: torch.Tensor, strike: torch.Tensor, vol: torch.Tensor, rate: float, maturity: float,
                rng: np.random.Generator = None, paths: int = 200_000, chunk: int = 20_000):
    payoff_sum = np.zeros(spot.shape[0])
    for start in range(0, paths, chunk):
        s0 = spot.numpy()
        k = strike.numpy()
        sigma = vol.numpy()
        z = rng.standard_normal((chunk, 1))
        drift = (rate - 0.5 * sigma ** 2) * maturity
        terminal = s0 * np.exp(drift + sigma * math.sqrt(maturity) * z)
        payoff_sum += np.maximum(terminal - k, 0.0).sum(axis=0)
    return math.exp(-rate * maturity) * payoff_sum / paths


def black_scholes_call(s, k, sigma, r, t):
    """The closed form, to check the simulation against."""
    from math import erf, log, sqrt
    d1 = (log(s / k) + (r + 0.5 * sigma ** 2) * t) / (sigma * sqrt(t))
    d2 = d1 - sigma * sqrt(t)
    cdf = lambda x: 0.5 * (1 + erf(x / sqrt(2)))  # noqa: E731
    return s * cdf(d1) - k * math.exp(-r * t) * cdf(d2)


def main():
    spot = torch.full((8,), 100.0, dtype=torch.float64)
    strike = torch.linspace(80, 120, 8, dtype=torch.float64)
    vol = torch.linspace(0.15, 0.35, 8, dtype=torch.float64)
    args = (spot, strike, vol, 0.03, 1.0, np.random.default_rng(7))
    prices = price_calls(*args[:-1], np.random.default_rng(7))
    for k, sigma, p in zip(strike.tolist(), vol.tolist(), prices):
        exact = black_scholes_call(100.0, k, sigma, 0.03, 1.0)
        print(f"strike {k:6.1f} vol {sigma:.3f}: Monte Carlo {p:7.3f}  Black-Scholes {exact:7.3f}")

    compare_calls(price_calls.__wrapped__, price_calls, args)
    print("verified: identical to the undecorated function (same seed, same draws)")
    report = explain(price_calls, *args)
    print(f"looplift: {len(report.hoisted)} hoisted, {len(report.rewritten)} rewritten, "
          f"{len(report.skipped)} left as NumPy (python -m looplift show {__file__}:price_calls)")


if __name__ == "__main__":
    main()
