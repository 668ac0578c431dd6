"""A particle simulation step loop: springs to the origin, drag, and walls that reflect.

Initial positions and velocities come from torch (say, a sampler on the GPU, here the CPU); the
integrator is NumPy.  The energy of every step is recorded for a plot.

    python examples/particles.py
"""
import numpy as np
import torch

from looplift import explain, looplift
from looplift.testing import compare_calls


@looplift(compile=False)
def simulate(positions: torch.Tensor, velocities: torch.Tensor, steps: int = 100, dt: float = 0.02,
             stiffness: float = 4.0, drag: float = 0.1, box: float = 3.0):
    pos = positions.numpy().copy()
    vel = velocities.numpy().copy()
    energy = []
    for _ in range(steps):
        force = -stiffness * pos - drag * vel
        vel = vel + dt * force
        pos = pos + dt * vel
        outside = np.abs(pos) > box
        vel = np.where(outside, -vel, vel)
        pos = np.clip(pos, -box, box)
        energy.append(0.5 * float((vel * vel).sum()) + 0.5 * stiffness * float((pos * pos).sum()))
    return pos, vel, energy


def main():
    g = torch.Generator().manual_seed(0)
    positions = torch.randn(20_000, 2, generator=g, dtype=torch.float64)
    velocities = torch.randn(20_000, 2, generator=g, dtype=torch.float64) * 2
    pos, vel, energy = simulate(positions, velocities)
    print(f"{len(positions)} particles, {len(energy)} steps")
    print(f"energy: start {energy[0]:.1f}, end {energy[-1]:.1f} (drag dissipates {1 - energy[-1] / energy[0]:.1%})")
    print(f"mean distance from the origin: {np.linalg.norm(pos, axis=1).mean():.4f}")

    compare_calls(simulate.__wrapped__, simulate, (positions, velocities))
    print("verified: identical to the undecorated function")
    report = explain(simulate, positions, velocities)
    print(f"looplift: {len(report.hoisted)} hoisted, {len(report.rewritten)} rewritten, "
          f"{len(report.skipped)} left as NumPy (python -m looplift show {__file__}:simulate)")


if __name__ == "__main__":
    main()
