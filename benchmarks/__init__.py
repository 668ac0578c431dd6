"""looplift's benchmark suite: ``python benchmarks/run.py`` or ``python -m looplift bench``.

``workloads`` holds the loops in three suites (issue 6's core loops, the batching suite of issue 15,
the evaluation loops of issue 13: originals, hand-written versions, input builders); ``run``
measures them side by side (speed, correctness, host reads per call); ``hostreads`` counts host
reads of tensor data; ``gpu_check`` counts reads, syncs and device-to-host copies on a CUDA
machine.  See ``docs/performance.md``.
"""
