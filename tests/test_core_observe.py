"""Types observed at the first call (``runtime/observe.py``): values from model calls, loaders,
dicts and attributes get types, the first call continues a long loop in specialized code, and an
observed type that does not hold later only costs speed."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from looplift import explain, looplift
from looplift.lattice import TOP
from looplift.runtime import observe
from looplift.testing import compare_calls


@pytest.fixture
def lifting(monkeypatch):
    monkeypatch.setenv("LOOPLIFT_LIFT", "always")




class Loader:
    """A DataLoader-like object: iterable, sized, no list in sight."""

    def __init__(self, n=6, batch=4, dtype=torch.float32, last=None, seed=0):
        g = torch.Generator().manual_seed(seed)
        sizes = [batch] * (n - 1) + [last or batch]
        self.items = [(torch.randn(b, 8, generator=g).to(dtype), torch.randint(0, 3, (b,), generator=g))
                      for b in sizes]

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


NET = torch.nn.Linear(8, 3)


def evaluate(model, loader):
    test_loss, correct, preds = 0.0, 0, []
    with torch.no_grad():
        for data, target in loader:
            output = model(data)
            test_loss += F.cross_entropy(output, target).item()
            pred = output.argmax(1)
            correct += pred.eq(target).sum().item()
            preds.append(pred.cpu().numpy())
    return test_loss / len(loader), correct, np.concatenate(preds)


def dict_items(samples):
    out = []
    for sample in samples:
        pixels = sample["pixels"].numpy()
        out.append(pixels.mean())
    return out


def grad_norms(model):
    norms = {}
    for name, w in model.named_parameters():
        if w.grad is not None:
            norms[name] = np.linalg.norm(w.grad.cpu().numpy())
    return norms


def test_a_loader_loop_is_lifted_after_its_first_call(lifting):
    decorated = looplift(evaluate, compile=False)
    loader = Loader()
    compare_calls(evaluate, decorated, (NET, loader))
    report = explain(decorated, NET, loader)
    assert not report.unknown
    text = str(report)
    assert ".item() deferred" in text and ".cpu().numpy() kept as a tensor" in text
    compare_calls(evaluate, decorated, (NET, loader))


def test_explain_before_the_first_call_says_what_is_unknown(lifting):
    report = explain(looplift(evaluate, compile=False), NET, Loader())
    assert report.unknown  # the loop's values come from the loader and the model


def test_the_first_call_continues_a_long_loop_specialized(lifting, counts):
    decorated = looplift(evaluate, compile=False)
    loader = Loader(n=30)
    compare_calls(evaluate, decorated, (NET, loader))
    # the first iterations ran the original, observed; the rest ran specialized
    assert counts["read.deferred"] >= 2 * (30 - observe.OBSERVED_ITERATIONS)


@pytest.mark.parametrize("loader", [Loader(last=1), Loader(dtype=torch.float64), Loader(n=1), Loader(n=0)],
                         ids=["short-last-batch", "other-dtype", "one-batch", "empty"])
def test_guards_that_fail_later_give_the_originals_results(lifting, loader):
    decorated = looplift(evaluate, compile=False)
    decorated(NET, Loader())  # observed on float32 batches of 4
    if len(loader.items) == 0:
        with pytest.raises(ValueError):  # np.concatenate of nothing: the original's error
            decorated(NET, loader)
        return
    compare_calls(evaluate, decorated, (NET, loader))


def test_dict_items_and_attributes(lifting):
    samples = [{"pixels": torch.rand(3, 4)} for _ in range(5)]
    compare_calls(dict_items, looplift(dict_items, compile=False), (samples,))
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    model(torch.randn(2, 4)).sum().backward()
    model[1].bias.grad = None  # a None gradient among the others
    decorated = looplift(grad_norms, compile=False)
    for _ in range(2):
        compare_calls(grad_norms, decorated, (model,))


def test_observer_joins_what_it_sees():
    seen = observe.Observer()
    seen(1, torch.zeros(2))
    seen(1, torch.zeros(3))
    seen(2, torch.zeros(2))
    seen(2, np.zeros(2))
    assert seen.sites[1].dtype is torch.float32 and seen.sites[1].ndim == 1
    assert seen.sites[2] is TOP  # an array seen there says nothing of later calls (nothing checks it)


def test_a_loop_in_a_try_is_not_resumed(lifting, counts):
    def guarded(loader):
        total = 0.0
        try:
            for x, _ in loader:
                total += x.sum().item()
        except ValueError:
            pass
        return total

    decorated = looplift(guarded, compile=False)
    compare_calls(guarded, decorated, (Loader(n=10),))
    assert counts["read.deferred"] == 0  # the first call ran the original throughout
    compare_calls(guarded, decorated, (Loader(n=10),))


def mixes_real_and_converted(xs, w):
    out = []
    for t in xs:
        a = t.numpy()
        for _ in range(2):
            out.append(w)  # the user's tensor, kept a tensor
        for _ in range(2):
            out.append(a)  # an array: must leave as one, also from a loop resumed at the first call
            v = w
        v.numpy()
    return out


def test_a_resumed_loop_keeps_arrays_apart_from_the_tensors_of_its_list(lifting):
    """The fuzzer's find: at the first call the loop resumed with ``out`` already holding tensors;
    a lifted ``a`` appended beside them could not be told apart and left as a tensor."""
    xs = [torch.tensor([3, 1, 0], dtype=torch.int32) for _ in range(5)]
    w = torch.tensor([-4, -4, -3], dtype=torch.int32)
    fast = looplift(mixes_real_and_converted, compile=False)
    for _ in range(2):  # the first call observes and resumes, the second runs the specialization
        compare_calls(mixes_real_and_converted, fast, (xs, w))


def _plus_one(v):
    return np.asarray(v) + 1


def appends_arrays_of_two_kinds(xs, w, k):
    """The fuzzer's program (seed 3244742637), as it was found."""
    acc = 0.0
    out = []
    v1 = w.numpy()
    for i, t in enumerate(xs):
        v2 = t.numpy()
        if np.sum(np.dot(w, acc)).item() > 0:
            out.append(np.equal((w == w), v2))
            acc = np.array(t)
        out.append(w.detach().numpy())
        v3 = _plus_one(np.arcsin(1))
        v1 = np.floor(np.sign((v1 * 2)))
        v1 = v3
    else:
        acc += v3
    acc += v3
    return acc, out, v2


def test_a_resumed_loop_leaves_arrays_appended_to_a_list_it_did_not_make(lifting):
    """The list arrived at the loop resumed at the first call holding arrays, and left holding a
    tensor."""
    xs = [torch.randn(131072) for _ in range(3)]
    fast = looplift(appends_arrays_of_two_kinds, compile=False)
    for _ in range(2):
        compare_calls(appends_arrays_of_two_kinds, fast, (xs, torch.randn(131072), 0))


# Lists made before a loop resumed at the first call are still the function's own: appends into
# them are deferred or lifted as in the full specialization, and the list leaves as NumPy values.

def losses_and_predictions(model, loader):
    losses, preds = [], []
    for data, target in loader:
        output = model(data)
        losses.append(F.cross_entropy(output, target).item())
        preds.append(output.argmax(1).cpu().numpy())
    return losses, preds


def test_a_resumed_loop_defers_appends_to_lists_made_before_it(lifting):
    fast = looplift(losses_and_predictions, compile=False)
    loader = Loader(n=12)
    first = compare_calls(losses_and_predictions, fast, (NET, loader), host_reads="count")
    assert (first.reads.program, first.decorated.reads.program) == (24, 4)  # the 2 observed iterations' only
    second = compare_calls(losses_and_predictions, fast, (NET, loader), host_reads="count")
    assert second.decorated.reads.program == 0


def appends_beside(loader, kind):
    out = [_made(kind, torch.ones(2))]
    for i, (data, _) in enumerate(loader):
        if i < 2:
            out.append(_made(kind, data[0]))  # the observed iterations: the item the list already holds
        out.append(data.sum().item())
        out.append(data.mean(1).cpu().numpy())
    return out


def _made(kind, t):
    return {"array": t.numpy(), "float": float(t[0]), "tensor": t, "nested tensor": [t.numpy(), (t,)],
            "dict of tensors": {"t": t}}[kind]


@pytest.mark.parametrize("kind", ["array", "float", "tensor", "nested tensor", "dict of tensors"])
def test_a_resumed_loop_appends_beside_what_its_list_holds(lifting, kind):
    """Real tensors (at any depth) stay tensors; arrays and floats stay themselves."""
    fast = looplift(appends_beside, compile=False)
    for _ in range(2):
        compare_calls(appends_beside, fast, (Loader(n=8), kind))


def appends_to_an_alias(loader):
    out = []
    seen = out
    for data, _ in loader:
        out.append(data.sum().item())
    return out, seen


def test_a_resumed_loop_leaves_an_aliased_list_plain(lifting):
    fast = looplift(appends_to_an_alias, compile=False)
    for _ in range(2):
        first = compare_calls(appends_to_an_alias, fast, (Loader(n=8),), host_reads="count")
        assert first.decorated.reads.program == first.reads.program
        out, seen = first.decorated.result
        assert out is seen


def reads_its_list(loader):
    out, sizes, lasts = [], [], []
    for data, _ in loader:
        out.append(data.sum().item())
        sizes.append(len(out))
        lasts.append(out[-1] * 2)
    return out, sizes, lasts


def test_a_resumed_loop_reads_its_list(lifting):
    fast = looplift(reads_its_list, compile=False)
    for _ in range(2):
        compare_calls(reads_its_list, fast, (Loader(n=8),))


def _array_or_tensor(t, as_tensor):
    return t if as_tensor[0] else t.numpy()


def keeps_what_a_call_returns(loader, as_tensor):
    out = []
    for x, _ in loader:
        out.append(_array_or_tensor(x, as_tensor))
        out.append(x.cpu().numpy() * 2)
    return out


def test_a_call_that_returns_a_tensor_at_a_later_call_keeps_it_a_tensor(lifting):
    """An array observed at the first call says nothing of the second: a tensor returned then
    is the original's, and the list it joins beside lifted values must not make it NumPy."""
    fast, as_tensor = looplift(keeps_what_a_call_returns, compile=False), [False]
    loader = Loader(n=6)
    for flip in (False, False, True, True):
        as_tensor[0] = flip
        outcome = compare_calls(keeps_what_a_call_returns, fast, (loader, as_tensor))
        assert outcome.error is None and type(outcome.result[0]) is (torch.Tensor if flip else np.ndarray)


def pairs_items_with_lifted(items, ts):
    out = []
    for a, t in zip(items, ts):
        out.append(a)
        out.append(t.cpu().numpy() * 2)
    return out


def test_a_list_whose_first_item_is_an_array_may_hold_tensors_after_it(lifting):
    """An argument's key looks at its first item only: the items after it are unknown."""
    fast, ts = looplift(pairs_items_with_lifted, compile=False), [torch.randn(3) for _ in range(3)]
    arrays = [np.ones(3, np.float32)] * 3
    mixed = [np.ones(3, np.float32), torch.ones(3), 2.0]
    for items in (arrays, arrays, mixed, mixed):
        compare_calls(pairs_items_with_lifted, fast, (items, ts))
