"""Host reads kept on the device: ``x += t.item()``, ``xs.append(float(t))``, ``.cpu().numpy()``
of real tensors, read once where the values leave (``runtime/deferred.py``)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from looplift import explain, looplift
from looplift.runtime import deferred
from looplift.runtime.convert import materialize
from looplift.testing import compare_calls


@pytest.fixture
def lifting(monkeypatch):
    monkeypatch.setenv("LOOPLIFT_LIFT", "always")




def loss_sum(xs, w):
    total = 0.0
    correct = 0
    for x in xs:
        y = x @ w
        total += (y * y).mean().item()
        correct += (y > 0).sum().item()
    return total / len(xs), correct


def read_list(xs):
    values = []
    for x in xs:
        values.append(float(x.sum()))
        values.append(int(x.argmax()))
    return values


def kept_numpy(xs):
    out = []
    for x in xs:
        out.append(x.argmax(1).cpu().numpy())
    return np.concatenate(out)


def read_used_in_condition(xs):
    total = 0.0
    for x in xs:
        v = x.sum().item()
        if v > 0:
            total += v
    return total


def mutated_after_read(xs):
    """The read value is taken before the tensor changes in place: a deferred read snapshots."""
    out = []
    acc = torch.zeros(())
    for x in xs:
        acc += x.sum()
        out.append(acc.item())
    return out


def data(n=5, shape=(4, 3), dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g).to(dtype) for _ in range(n)]


@pytest.mark.parametrize("fn, args", [
    (loss_sum, (data(), torch.randn(3, 2))),
    (read_list, (data(),)),
    (kept_numpy, (data(),)),
    (read_used_in_condition, (data(),)),
    (mutated_after_read, (data(),)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_deferred_reads_give_the_originals_values(lifting, fn, args):
    decorated = looplift(fn, compile=False)
    for _ in range(2):
        compare_calls(fn, decorated, args)


def test_accumulated_reads_are_folded_in_order_exactly(lifting):
    xs = [torch.tensor(v, dtype=torch.float64) for v in (1e16, 1.0, -1e16, 3.0)]

    def fold(xs):
        total = 0.0
        for x in xs:
            total += x.item()
        return total

    assert looplift(fold, compile=False)(xs) == fold(xs) == 3.0  # the same double additions, in order


def test_an_int_start_accumulating_float_reads_is_folded(lifting):
    """``total = 0`` then ``total += loss.item()``: an int or a deferred float at the loop's head;
    ``__ll.later`` adds at once whatever is not deferred."""
    def fold(xs):
        total = 0
        for x in xs:
            total += x.sum().item()
        return total

    fast = looplift(fold, compile=False)
    for xs in (data(), []):
        compare_calls(fold, fast, (xs,))
    assert "__ll.later('add', total" in explain(fast, data()).source


def test_int_accumulation_is_exact_past_int64(lifting):
    xs = [torch.tensor(2 ** 62, dtype=torch.int64) for _ in range(4)]

    def count(xs):
        n = 0
        for x in xs:
            n += x.item()
        return n

    assert looplift(count, compile=False)(xs) == count(xs) == 2 ** 64


def test_reads_leave_in_one_transfer(lifting, counts):
    xs, w = data(8), torch.randn(3, 2)
    decorated = looplift(loss_sum, compile=False)
    decorated(xs, w)
    counts.clear()
    decorated(xs, w)
    assert counts["read.deferred"] == 16 and counts["read.now"] == 0
    assert counts["exit.transfer"] <= 1


def test_a_read_needed_in_the_loop_stays_and_says_why(lifting):
    report = explain(looplift(read_used_in_condition, compile=False), data())
    kept = [d for d in report.skipped if ".item()" in d.what]
    assert kept and "needed on the host at line" in kept[0].reason


def test_explain_lists_deferred_reads_and_folds(lifting):
    text = str(explain(looplift(loss_sum, compile=False), data(), torch.randn(3, 2)))
    assert ".item() deferred" in text and "accumulates deferred reads" in text


def test_defer_reads_at_once_what_it_cannot_keep():
    assert deferred.defer(np.float32(2.5), "item") == 2.5  # a NumPy scalar: read now
    with pytest.raises(RuntimeError):
        deferred.defer(torch.ones(3), "item")  # several elements: the original's error, at once
    kept = deferred.defer(torch.tensor(1.5, requires_grad=True) * 2, "float")
    assert isinstance(kept, deferred.Deferred) and not kept.tensor.requires_grad


def test_materialize_turns_every_kind_back():
    fold = deferred.later("add", 1, deferred.defer(torch.tensor(2), "item"))
    fold = deferred.later("sub", fold, deferred.defer(torch.tensor(0.5), "float"))
    values = [deferred.defer(torch.tensor(True), "bool"), torch.tensor(3.0), torch.ones(2, dtype=torch.int32),
              deferred.defer(torch.tensor([1.0, 2.0]), "tolist"), fold]
    out = materialize(values)
    assert out is values
    assert out[0] is True and type(out[1]) is np.float32 and out[2].dtype == np.int32
    assert out[3] == [1.0, 2.0] and out[4] == 2.5 and type(out[4]) is float
    assert math.isclose(materialize(deferred.defer(torch.tensor(0.1, dtype=torch.float32), "item")),
                        torch.tensor(0.1, dtype=torch.float32).item(), rel_tol=0, abs_tol=0)


def test_the_ledger_lists_every_read_in_a_loop_with_its_fate(lifting):
    report = explain(looplift(read_used_in_condition, compile=False), data())
    assert report.reads.startswith("per iteration: 1 in the original, 1 in the rewrite")
    (read,) = report.host_reads
    assert ".item() of x.sum()" in read.what and "read every iteration" in read.reason and "line" in read.reason
    report = explain(looplift(loss_sum, compile=False), data(), torch.randn(3, 2))
    assert report.reads.startswith("per iteration: 2 in the original, 0 in the rewrite")
    assert all("read once" in d.reason for d in report.host_reads)


def power_iteration(m, v0, steps):
    v = v0
    for _ in range(steps):
        a = m.numpy()
        w = a @ v
        v = w / np.linalg.norm(w)
    return v


def test_a_numpy_value_carried_into_a_lifted_loop_is_adopted(lifting, counts):
    """``v = v0`` (NumPy) then a lifted region rebinds it: the first call of the region makes it a
    tensor instead of running NumPy every iteration."""
    m = torch.randn(6, 6, dtype=torch.float64)
    v0 = np.ones(6)
    fast = looplift(power_iteration)
    compare_calls(power_iteration, fast, (m, v0, 20))
    counts.clear()
    fast(m, v0, 20)
    assert counts.get("op.numpy", 0) == 0 and counts["op.tensor"] == 20
    assert np.array_equal(v0, np.ones(6))  # the user's array is not written


def logged(xs, every):
    running, history = 0.0, []
    for i, x in enumerate(xs):
        running += x.sum().item()
        if i % every == every - 1:
            history.append(running / every)
            history.append(f"{running:.3f}")
            running = 0.0
    return history


def test_a_deferred_number_needed_on_the_host_is_read_once(lifting):
    """Two uses of ``running`` in the logging branch: one read into the name, not one per use."""
    xs = [torch.arange(4.0) * i for i in range(9)]
    fast = looplift(logged)
    compare_calls(logged, fast, (xs, 3))
    source = explain(fast, xs, 3).source
    assert "running = __ll.m(running)" in source and source.count("__ll.m(") == 1


def test_a_list_of_item_reads_leaves_in_one_stack(counts):
    ts = [torch.tensor(float(i)) * 1.5 for i in range(5)]
    values = materialize([deferred.defer(t, "item") for t in ts])
    assert values == [t.item() for t in ts] and all(type(v) is float for v in values)
    assert counts["exit.transfer"] == 1
    ints = materialize([deferred.defer(torch.tensor(3), "item"), deferred.defer(torch.tensor(4.5), "item")])
    assert ints == [3, 4.5] and type(ints[0]) is int  # mixed dtypes: the general path, same values


@pytest.mark.parametrize("how", ["float", "int", "bool", "complex"])
def test_a_list_of_other_reads_leaves_in_one_stack(counts, how):
    ts = [torch.tensor(v, dtype=torch.float32) for v in (-1.5, 0.0, 2.75, 7.0)]
    values = materialize([deferred.defer(t, how) for t in ts])
    assert values == [deferred.READS[how](t) for t in ts]
    assert [type(v) for v in values] == [type(deferred.READS[how](t)) for t in ts]
    assert counts["exit.transfer"] == 1


# --------------------------------------------------------------------- narrowing on ``is None``
def ema_is_none(xs, beta=0.9):
    ema = None
    trace = []
    for x in xs:
        v = x.sum().item()
        ema = v if ema is None else beta * ema + (1 - beta) * v
        trace.append(ema)
    return trace


def ema_is_not_none(xs, beta=0.9):
    ema = None
    trace = []
    for x in xs:
        v = x.sum().item()
        ema = beta * ema + (1 - beta) * v if None is not ema else v
        trace.append(ema)
    return trace


def ema_if_statement(xs, beta=0.9):
    ema = None
    trace = []
    for x in xs:
        v = x.sum().item()
        if ema is not None:
            ema = beta * ema + (1 - beta) * v
        else:
            ema = v
        trace.append(ema)
    return trace, ema


def ema_restarted(xs, every=2):
    """None again every few items: each branch runs more than once, and the list holds Nones."""
    run = None
    trace = []
    for i, x in enumerate(xs):
        v = x.sum().item()
        run = v if run is None else run * 0.5 + v
        trace.append(run)
        if i % every == every - 1:
            run = None
            trace.append(run)
    return trace


@pytest.mark.parametrize("fn", [ema_is_none, ema_is_not_none, ema_if_statement, ema_restarted],
                         ids=lambda f: f.__name__)
def test_a_name_known_not_none_in_a_branch_keeps_its_deferred_value(lifting, fn):
    """``ema = v if ema is None else beta * ema + ...``: where the test says ``ema`` is not None it
    is a deferred number, so the update is computed later (one read per call, not per item)."""
    xs = data(6, dtype=torch.float64)
    fast = looplift(fn, compile=False)
    for _ in range(2):
        outcome = compare_calls(fn, fast, (xs,), host_reads="count")
    assert outcome.decorated.result == outcome.result  # Python floats: the same operations, in order
    assert outcome.reads.total == 6 and outcome.decorated.reads.total == 1


def not_narrowed_by_other_tests(xs, flag):
    ema = None
    trace = []
    for x in xs:
        v = x.sum().item()
        ema = v if ema is None or flag else 0.5 * ema + v  # a test of two parts: no narrowing
        trace.append(ema)
    return trace


def reassigned_in_the_branch(xs):
    ema = None
    trace = []
    for x in xs:
        v = x.sum().item()
        if ema is not None:
            ema = None  # not None at the test, None after it
            trace.append(ema)
        else:
            ema = v
        trace.append(ema)
    return trace, ema


def rebound_by_a_nested_function(xs):
    ema = None

    def reset():
        nonlocal ema
        ema = None

    trace = []
    for x in xs:
        v = x.sum().item()
        ema = v if ema is None else (reset() or 0.5 * ema + v)  # ema is None again at the use
        trace.append(ema)
    return trace


@pytest.mark.parametrize("fn, args", [
    (not_narrowed_by_other_tests, (data(), False)),
    (reassigned_in_the_branch, (data(),)),
    (rebound_by_a_nested_function, (data(),)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_narrowing_applies_only_where_the_test_says_it(lifting, fn, args):
    decorated = looplift(fn, compile=False)
    for _ in range(2):
        compare_calls(fn, decorated, args)


def first_item_none(xs, t):
    total = 0.0
    out = []
    for x in xs:
        v = t.item()
        if x is not None:
            total = v
        out.append(str(total))
    return out


def test_a_none_known_from_a_sample_does_not_rule_a_branch_out(lifting):
    """The first item is None, the others are not: the branch it would rule out runs, and the
    deferred value it binds is read where ``str`` needs it (a fuzz-style find while building
    narrowing: a ruled-out branch printed ``Deferred(...)``)."""
    decorated = looplift(first_item_none, compile=False)
    for _ in range(2):
        compare_calls(first_item_none, decorated, ([None, 1, 2], torch.tensor(2.5)))
# ---------------------------------------------------------------------------------------------
# xs.extend(t.tolist()): one deferred element per element of a 1-d tensor


def extend_all(ts):
    xs = []
    for t in ts:
        xs.extend(t.tolist())
    return xs


def extend_plus_array(ts):
    xs = []
    for t in ts:
        xs += t.tolist()
    return np.array(xs)


def extend_until(ts, k):
    scores = []
    for t in ts:
        scores.extend(t.tolist())
        if len(scores) >= k:  # the length is exact without a read
            break
    return sorted(scores, reverse=True)[:k], len(scores)


def extend_indexed(ts):
    xs, last = [], []
    for t in ts:
        xs.extend(t.tolist())
        last.append(xs[-1])  # a deferred element: kept deferred in another local list
    return xs, last


def extend_printed(ts):
    xs = []
    for t in ts:
        xs.extend(t.tolist())
        print(xs[0], len(xs))
    return xs


def extend_iterated(ts):
    xs, total = [], 0.0
    for t in ts:
        xs.extend(t.tolist())
        for v in xs:
            total += v
    return total, xs


def extend_in_comprehension(ts):
    xs, ys = [], []
    [xs.extend(t.tolist()) for t in ts]
    [ys.append(t.sum().item()) for t in ts]  # (was a wrong result: Deferred items left in ys)
    return xs, ys


def _keep(xs):
    return list(xs)


def extend_aliased(ts):
    xs, seen, views = [], [], []
    alias = xs
    ys = []
    for t in ts:
        xs.extend(t.tolist())
        ys.extend(t.tolist())
        views.append(ys)
        seen.append(_keep(ys))
    return alias, views, seen


def extend_numpy_chain(ts):
    xs = []
    for t in ts:
        xs.extend(t.numpy().tolist())
    return xs


def _vectors(dtype, n=4, size=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(size, generator=g) * 5).to(dtype) for _ in range(n)]


def _exactly(fn, args):
    """Decorated (second call: specialized) against the original: compare_calls, then the same
    Python objects exactly (bit-identical floats, ints stay ints, bools stay bools)."""
    decorated = looplift(fn, compile=False)
    for _ in range(2):
        outcome = compare_calls(fn, decorated, args, host_reads="no-more")
    assert repr(outcome.decorated.result) == repr(outcome.result)
    return outcome


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.int64, torch.int32,
                                   torch.uint8, torch.bool, torch.complex64], ids=str)
def test_extend_tolist_is_deferred_with_the_originals_elements(lifting, counts, dtype):
    ts = _vectors(dtype)
    _exactly(extend_all, (ts,))
    assert counts["read.deferred"] >= 4 and counts["read.now"] == 0
    _exactly(extend_plus_array, (ts,))


def test_extend_tolist_reads_once_per_call(lifting):
    ts = _vectors(torch.float32, n=6)
    outcome = _exactly(extend_all, (ts,))
    assert outcome.reads.total == 6 and outcome.decorated.reads.total == 1
    assert ".tolist() deferred" in str(explain(looplift(extend_all), ts))


def test_extend_tolist_of_empty_tensors(lifting):
    _exactly(extend_all, ([torch.zeros(0), torch.arange(3.0), torch.zeros(0)],))
    _exactly(extend_all, ([torch.zeros(0, dtype=torch.int64)] * 3,))


def test_extend_tolist_of_a_0d_tensor_raises_the_same_type_error(lifting):
    for ts in ([torch.tensor(1.5), torch.tensor(2.5)], [torch.arange(3.0), torch.tensor(2.5)]):
        outcome = _exactly(extend_all, (ts,))
        assert isinstance(outcome.error, TypeError)
    assert deferred.defer(torch.tensor(2.5), "tolist") == 2.5  # a number: read at once, extend raises


def test_extend_tolist_of_a_2d_tensor_is_read_where_it_stands(lifting):
    ts = [torch.arange(6.0).reshape(2, 3) * i for i in range(3)]
    _exactly(extend_all, (ts,))
    kept = [d for d in explain(looplift(extend_all), ts).skipped if ".tolist()" in d.what]
    assert kept and "1-d" in kept[0].reason


def test_extend_tolist_with_the_length_read_in_the_loop(lifting):
    ts = _vectors(torch.float32, n=6)
    outcome = _exactly(extend_until, (ts, 7))
    assert outcome.decorated.reads.total <= 1 < outcome.reads.total


@pytest.mark.parametrize("fn", [extend_indexed, extend_printed, extend_iterated, extend_aliased, extend_numpy_chain,
                                extend_in_comprehension],
                         ids=lambda f: f.__name__)
def test_extend_tolist_observed_in_the_loop(lifting, fn):
    _exactly(fn, (_vectors(torch.float32),))
    _exactly(fn, (_vectors(torch.int64),))


def test_spliced_elements_materialize_in_order_in_one_transfer(counts):
    a, b = torch.tensor([1.5, -2.0]), torch.tensor([3, 4])
    values = materialize([0, *deferred.defer(a, "tolist"), "x", *deferred.defer(b, "tolist")])
    assert repr(values) == repr([0, 1.5, -2.0, "x", 3, 4])
    assert counts["exit.transfer"] == 1
# ---------------------------------------------------------------------------------------------
# Dicts the function made: ``hist["loss"].append(t.item())``, ``d[k] += t.item()``


def dict_of_lists(xs):
    hist = {"loss": [], "max": []}
    for x in xs:
        hist["loss"].append(x.sum().item())
        hist["max"].append(float(x.max()))
    return hist


def dict_accumulators(xs, ks):
    sums = {k: 0.0 for k in ks}
    stats = {"n": 0, "total": 0.0}
    for x in xs:
        for k in ks:
            sums[k] += x[:, :k].sum().item()
        stats["n"] += 1  # plain numbers first: the dict stays local
        stats["total"] += x.mean().item() * 2
    return {k: v / stats["n"] for k, v in sums.items()}, stats


def dict_item_stored(xs):
    last = {}
    for i, x in enumerate(xs):
        last[i % 2] = x.sum().item()
    return last, sorted(last)


def dict_aliased_before(xs):
    hist = {"loss": []}
    alias = hist
    losses = hist["loss"]
    for x in xs:
        hist["loss"].append(x.sum().item())
        alias.setdefault("seen", []).append(len(losses))
    return alias, losses


def dict_shared_in_loop(xs, log):
    hist = {"loss": []}
    for x in xs:
        hist["loss"].append(x.sum().item())
        log.append(hist)  # the caller's list keeps the dict
    return hist


def dict_item_taken(xs):
    hist = {"loss": [], "acc": []}
    for x in xs:
        hist["loss"].append(x.sum().item())
        losses = hist["loss"]
        hist["acc"].append(len(losses) and losses[-1] > 0)
    return hist


def dict_read_in_loop(xs):
    hist = {"loss": []}
    for x in xs:
        hist["loss"].append(x.sum().item())
        print(f"{hist['loss'][-1]:.4f}")
        if hist["loss"][-1] > 2.5:
            break
    return hist


def dict_missing_key(xs, key):
    hist = {"loss": [], "n": 0.0}
    try:
        for i, x in enumerate(xs):
            hist["n"] += x.sum().item()
            hist["loss" if i < 3 else key].append(x.mean().item())
    except KeyError as error:
        print("missing", error)
    return hist


def dict_missing_accumulator(xs, key):
    totals = {"a": 0.0}
    for i, x in enumerate(xs):
        totals["a" if i < 2 else key] += x.sum().item()
    return totals


def dict_returned_in_parts(xs):
    hist = {"loss": [], "max": []}
    for x in xs:
        hist["loss"].append(x.sum().item())
        hist["max"].append(x.max().item())
    return hist["loss"], len(hist["loss"]), [k for k in hist], {k: v for k, v in hist.items()}


def dict_of_lists_and_numbers(xs):
    """Its values join to "a list or a number" (keys are not tracked): its reads are kept."""
    hist = {"loss": [], "best": 0.0}
    for x in xs:
        hist["loss"].append(x.sum().item())
        hist["best"] += x.max().item()
    return hist


def nested_dict(xs):
    logs = {"train": {"loss": []}}
    for x in xs:
        logs["train"]["loss"].append(x.sum().item())
    return logs


DICT_CASES = [
    (dict_of_lists, (data(),)),
    (dict_accumulators, (data(), (1, 3))),
    (dict_item_stored, (data(),)),
    (dict_aliased_before, (data(),)),
    (dict_shared_in_loop, (data(), [])),
    (dict_item_taken, (data(),)),
    (dict_read_in_loop, (data(8, seed=3),)),
    (dict_missing_key, (data(), "lost")),
    (dict_missing_key, (data(), "loss")),
    (dict_missing_accumulator, (data(), "b")),
    (dict_returned_in_parts, (data(),)),
    (dict_of_lists_and_numbers, (data(),)),
    (nested_dict, (data(),)),
]


@pytest.mark.parametrize("mode", ["always", "auto"])
@pytest.mark.parametrize("fn, args", DICT_CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_dicts_give_the_originals_results(monkeypatch, mode, fn, args):
    """Effects, printed output and exceptions included (the log list the caller passes holds the
    dict: compared after the call)."""
    monkeypatch.setenv("LOOPLIFT_LIFT", mode)
    decorated = looplift(fn, compile=False)
    for _ in range(3):
        compare_calls(fn, decorated, args, compare_messages=True)


@pytest.mark.parametrize("fn, args, reads", [
    (dict_of_lists, (data(8),), 1),
    (dict_accumulators, (data(8), (1, 3)), 1),
    (dict_item_stored, (data(8),), 1),
    (dict_returned_in_parts, (data(8),), 1),
], ids=lambda v: getattr(v, "__name__", ""))
def test_reads_into_a_local_dict_leave_in_one_transfer(lifting, counts, fn, args, reads):
    decorated = looplift(fn, compile=False)
    decorated(*args)
    counts.clear()
    compare_calls(fn, decorated, args)
    assert counts["read.now"] == 0 and counts["exit.transfer"] == reads, dict(counts)


@pytest.mark.parametrize("fn, args", [
    (dict_aliased_before, (data(),)),
    (dict_shared_in_loop, (data(), [])),
    (nested_dict, (data(),)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_a_dict_shared_keeps_its_reads_and_says_why(lifting, fn, args):
    report = explain(looplift(fn, compile=False), *args)
    assert "__ll.defer" not in report.source
    line = next(d.line for d in report.host_reads)
    assert any(d.line == line and ".item()" in d.what for d in report.skipped), str(report)


def test_a_dict_read_in_the_loop_is_read_there(lifting):
    report = explain(looplift(dict_read_in_loop, compile=False), data(8))
    assert all("read every iteration" in d.reason or "kept on the device" in d.reason for d in report.host_reads)


def test_materialize_converts_dicts_in_place():
    inner = [deferred.defer(torch.tensor(1.5), "item")]
    values = {"a": inner, "b": deferred.later("add", 1, deferred.defer(torch.tensor(2), "item")), "c": "text"}
    out = materialize(values)
    assert out is values and out == {"a": [1.5], "b": 3, "c": "text"} and out["a"] is inner
    assert list(out) == ["a", "b", "c"]


# ---------------------------------------------------------------------------------------------
# Lifted NumPy scalars stored into a dict the function made, and deferred reads inside tuples
# appended to a local list: kept on the device, materialized where they leave.

def lifted_into_dict(xs):
    peaks = {}
    total = 0.0
    for i, x in enumerate(xs):
        n = np.abs(x.numpy()).max()
        peaks[f"x{i}"] = n
        total += n ** 2
    return peaks, np.sqrt(total)


def lifted_into_dict_read_in_loop(xs):
    peaks = {}
    for i, x in enumerate(xs):
        peaks[i] = np.linalg.norm(x.numpy())
        if peaks[i] > 3.5:
            print("large", i)
    return peaks


def lifted_into_dict_aliased(xs):
    peaks = {}
    alias = peaks
    for i, x in enumerate(xs):
        peaks[i] = x.numpy().mean()
    return alias, peaks is alias


def lifted_into_dict_shared_in_loop(xs, log):
    peaks = {}
    for i, x in enumerate(xs):
        peaks[i] = x.numpy().sum()
        log.append(peaks)
    return peaks


def reads_in_tuples(xs):
    rows = []
    for i, x in enumerate(xs):
        a = x.numpy()
        rows.append((i, a.shape, float(a.mean()), x.max().item()))
    return rows


def reads_in_tuples_read_in_loop(xs):
    rows = []
    for x in xs:
        rows.append((float(x.sum()), float(x.std())))
        if rows[-1][0] > 0:
            print("positive", rows[-1][1])
    return rows


def reads_in_tuples_aliased(xs):
    rows, last = [], None
    for x in xs:
        row = (float(x.sum()), x.numpy().mean())
        rows.append(row)
        last = row
    return rows, last


def positive(n=5):
    """Data whose means do not cancel: a lowered float32 mean is judged against the mean's size."""
    return [x.abs() + 0.25 for x in data(n)]


TUPLE_AND_DICT_CASES = [
    (lifted_into_dict, (data(),)),
    (lifted_into_dict_read_in_loop, (data(),)),
    (lifted_into_dict_aliased, (positive(),)),
    (lifted_into_dict_shared_in_loop, (positive(), [])),
    (reads_in_tuples, (positive(),)),
    (reads_in_tuples_read_in_loop, (data(8, seed=3),)),
    (reads_in_tuples_aliased, (positive(),)),
]


@pytest.mark.parametrize("mode", ["always", "auto"])
@pytest.mark.parametrize("fn, args", TUPLE_AND_DICT_CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_lifted_values_in_dicts_and_tuples_give_the_originals_results(monkeypatch, mode, fn, args):
    monkeypatch.setenv("LOOPLIFT_LIFT", mode)
    decorated = looplift(fn, compile=False)
    for _ in range(3):
        compare_calls(fn, decorated, args, compare_messages=True, host_reads="no-more")


@pytest.mark.parametrize("fn, transfers", [(lifted_into_dict, 1), (reads_in_tuples, 1)],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_lifted_values_in_a_local_dict_or_tuples_leave_in_one_transfer(lifting, counts, fn, transfers):
    decorated = looplift(fn, compile=False)
    decorated(positive(8))
    counts.clear()
    compare_calls(fn, decorated, (positive(8),))
    assert counts["read.now"] == 0 and counts["lift.miss"] == 0 and counts["exit.transfer"] == transfers, dict(counts)
