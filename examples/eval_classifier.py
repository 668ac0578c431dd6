"""Evaluate a linear probe on frozen embeddings: accuracy, mean confidence, confusion matrix.

The probe's weights are torch tensors; the metrics are NumPy code on the logits of every batch,
the way evaluation loops are usually written.  ``@looplift`` keeps per-batch values as tensors
where the NumPy operations have torch equivalents and converts back once, where values leave.

    python examples/eval_classifier.py
"""
import numpy as np
import torch

from looplift import explain, looplift
from looplift.testing import compare_calls


@looplift(compile=False)  # compile=False: torch.compile would take seconds on a small CPU
def evaluate(weight: torch.Tensor, bias: torch.Tensor, batches: list[tuple[torch.Tensor, torch.Tensor]]):
    num_classes = weight.shape[1]
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    confidence = 0.0
    seen = 0
    for embeddings, labels in batches:
        logits = (embeddings @ weight + bias).numpy()
        shifted = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        probs = probs / probs.sum(axis=1, keepdims=True)
        predicted = probs.argmax(axis=1)
        truth = labels.numpy()
        np.add.at(confusion, (truth, predicted), 1)
        confidence += float(probs.max(axis=1).sum())
        seen += len(truth)
    accuracy = np.trace(confusion) / seen
    return accuracy, confidence / seen, confusion


def make_data(seed=0, num_classes=100, features=256, batches=12, batch_size=256):
    """A linear 'teacher' labels Gaussian embeddings; the probe is a noisy copy of the teacher."""
    g = torch.Generator().manual_seed(seed)
    teacher = torch.randn(features, num_classes, generator=g)
    weight = teacher + 0.5 * torch.randn(features, num_classes, generator=g)
    bias = torch.zeros(num_classes)
    data = []
    for _ in range(batches):
        x = torch.randn(batch_size, features, generator=g)
        data.append((x, (x @ teacher).argmax(dim=1)))
    return weight, bias, data


def main():
    weight, bias, data = make_data()
    accuracy, confidence, confusion = evaluate(weight, bias, data)
    print(f"accuracy {accuracy:.3f}, mean confidence {confidence:.3f} over {confusion.sum()} images")
    print("most confused pair (true, predicted):",
          np.unravel_index(np.argmax(confusion - np.diag(np.diag(confusion))), confusion.shape))

    compare_calls(evaluate.__wrapped__, evaluate, (weight, bias, data))
    print("verified: identical to the undecorated function")
    report = explain(evaluate, weight, bias, data)
    print(f"looplift: {len(report.hoisted)} hoisted, {len(report.rewritten)} rewritten, "
          f"{len(report.skipped)} left as NumPy (python -m looplift show {__file__}:evaluate)")


if __name__ == "__main__":
    main()
