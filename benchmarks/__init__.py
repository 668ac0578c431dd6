"""looplift's benchmark suite: ``python benchmarks/run.py`` or ``python -m looplift bench``.

``workloads`` holds the loops (original, hand-optimised eager torch, hand-optimised with a
compiled body, input builders); ``run`` measures them side by side; ``gpu_check`` counts
device-to-host copies on a CUDA machine.  See ``docs/performance.md``.
"""
