"""Each pass on its own: the walker, the types pass, placement, the regions plan, the dependence
pass, outline, lift and instrument, driven the way ``pipeline`` drives them."""
from __future__ import annotations

import ast

import numpy as np
import torch

from looplift import anno, pipeline, pragmas, source
from looplift.analysis import dependence, placement, regions, types as types_pass
from looplift.anno import Key
from looplift.lattice import TOP, ArrayV, ListV, PyScalarV, TensorV
from looplift.transforms import instrument, lift, outline


def seed(batches):
    out = []
    for t in batches:
        a = t.detach().cpu().numpy()
        out.append(np.sum(np.exp(a) * 2 + 1))
    return out


def reads(model, xs):
    total = 0.0
    for x in xs:
        y = model(x)
        total += y.sum().item()
    return total


def widening(n):
    x = 0
    for _ in range(n):
        x = (x, x)
    return x


def two_statements(batches):
    out = []
    for t in batches:
        a = t.numpy()
        b = np.exp(a) * 2
        c = np.tanh(b) + 1
        out.append(c)
    return out


def impure_operand(batches, f):
    out = []
    for t in batches:
        a = t.numpy()
        out.append(np.exp(a) + f(a.shape))
    return out


def tree_of(fn):
    loaded = source.load(fn)
    return loaded, pipeline.fresh_tree(loaded)


def typed(fn, args, observed=None):
    loaded, tree = tree_of(fn)
    params = pipeline.parameter_values(fn, args, {})
    types_pass.TypesPass(tree, fn.__globals__, observed=observed).run(params)
    return loaded, tree, params


def nodes(tree, kind):
    return [n for n in ast.walk(tree) if isinstance(n, kind)]


def placed(fn, args, lift_values=True):
    loaded, tree, params = typed(fn, args)
    marks = pragmas.loop_marks(tree, loaded.text, loaded.first_line, fn.__globals__)
    plan = placement.place(tree, fn.__globals__, params, marks, lift=lift_values, opt_in=False)
    return tree, plan


# ------------------------------------------------------------------------- the walker and types
def test_types_of_the_original_program():
    _, tree, _ = typed(seed, ([torch.ones(3, dtype=torch.float64)],))
    conv = next(n for n in nodes(tree, ast.Call) if isinstance(n.func, ast.Attribute) and n.func.attr == "numpy")
    assert anno.getanno(conv, Key.TYPE) == ArrayV(np.dtype("float64"), 1)
    total = next(n for n in nodes(tree, ast.Call) if ast.unparse(n).startswith("np.sum"))
    assert anno.getanno(total, Key.TYPE) == ArrayV(np.dtype("float64"), 0, scalar=True)
    out = next(n for n in nodes(tree, ast.Name) if n.id == "out" and isinstance(n.ctx, ast.Store))
    assert isinstance(anno.getanno(out, Key.TYPE), ListV) and anno.getanno(out, Key.TYPE).local


def test_torch_code_keeps_its_types():
    def torch_code(x):
        for _ in range(2):
            p = torch.softmax(x, -1).max(-1).values.argmax()
        return p

    _, tree, _ = typed(torch_code, (torch.ones(2, 3),))
    p = next(n for n in nodes(tree, ast.Name) if n.id == "p" and isinstance(n.ctx, ast.Store))
    assert anno.getanno(p, Key.TYPE) == TensorV(torch.int64, 0, "cpu", False)


def test_observed_facts_fill_what_the_code_does_not_say():
    _, tree, _ = typed(reads, (object(), [torch.ones(2)]))
    call = next(n for n in nodes(tree, ast.Call) if ast.unparse(n) == "model(x)")
    assert anno.getanno(call, Key.TYPE) == TOP
    site = anno.getanno(call, Key.SITE)
    _, tree, _ = typed(reads, (object(), [torch.ones(2)]), {site: TensorV(torch.float32, 1, "cpu", False)})
    item = next(n for n in nodes(tree, ast.Call) if ast.unparse(n) == "y.sum().item()")
    assert anno.getanno(item, Key.TYPE) == PyScalarV(float)


def test_loops_reach_a_fixpoint_by_widening():
    _, tree, _ = typed(widening, (3,))
    ret = nodes(tree, ast.Return)[0]
    assert anno.getanno(ret.value, Key.TYPE) is not None  # terminated (widened to an unknown)


def test_is_none_narrows_the_name_in_both_passes():
    def ema(xs, beta=0.9):
        e = None
        for x in xs:
            v = x.item()
            e = v if e is None else beta * e + (1 - beta) * v
        return e

    tree, _ = placed(ema, ([torch.ones(())],))
    (use,) = [n for n in nodes(tree, ast.BinOp) if ast.unparse(n) == "beta * e"]
    assert anno.getanno(use.right, Key.TYPE) == PyScalarV(float)  # the types pass: not None there
    assert anno.getanno(use, Key.FOLD) == "mul"  # placement: a deferred number, multiplied later


# ------------------------------------------------------------------------- placement
def test_placement_lifts_lowers_and_materializes_once():
    tree, plan = placed(seed, ([torch.ones(3)],))
    assert len([n for n in ast.walk(tree) if anno.hasanno(n, Key.LIFT)]) == 1
    lowered = {anno.getanno(n, Key.LOWER).entry.key for n in ast.walk(tree) if anno.hasanno(n, Key.LOWER)}
    assert {"numpy.exp", "operator.mul", "operator.add", "numpy.sum"} <= lowered
    materialized = [n for n in ast.walk(tree) if anno.hasanno(n, Key.MATERIALIZE)]
    assert [ast.unparse(n) for n in materialized] == ["out"]  # only where the list leaves
    assert not plan.skipped


def test_placement_defers_reads_into_accumulators():
    site_tree = tree_of(reads)[1]
    call = next(n for n in nodes(site_tree, ast.Call) if ast.unparse(n) == "model(x)")
    observed = {anno.getanno(call, Key.SITE): TensorV(torch.float32, 1, "cpu", False)}
    loaded, tree, params = typed(reads, (object(), [torch.ones(2)]), observed)
    placement.place(tree, reads.__globals__, params, {}, lift=True, opt_in=False)
    aug = nodes(tree, ast.AugAssign)[0]
    assert anno.getanno(aug, Key.FOLD) == "add" and anno.hasanno(aug.value, Key.DEFER)


def test_placement_pins_names_in_conflict():
    def conflict(xs, t):
        a = t
        for x in xs:
            a = x.numpy()
        return a

    tree, plan = placed(conflict, ([torch.ones(2)], torch.ones(2)))
    assert "a" in plan.pinned  # a real tensor on one path, a lifted one on the other: never lifted


def test_placement_keeps_conversions_that_would_round_trip():
    def round_trip(xs):
        out = []
        for x in xs:
            a = x.numpy()
            a[0] = 1
            out.append(a)
        return out

    tree, plan = placed(round_trip, ([torch.ones(2)],))
    assert not any(anno.hasanno(n, Key.LIFT) for n in ast.walk(tree))
    assert any("made NumPy again" in d.reason for d in plan.skipped.values())


def test_no_placement_without_lifting():
    tree, _ = placed(seed, ([torch.ones(3)],), lift_values=False)
    assert not any(anno.hasanno(n, k) for n in ast.walk(tree) for k in (Key.LIFT, Key.LOWER, Key.DEFER))


# ------------------------------------------------------------------------- regions and outline
def test_regions_group_lowered_trees_and_statement_runs():
    tree, _ = placed(two_statements, ([torch.ones(3)],))
    plans = regions.plan(tree)
    assert len(plans) == 1 and len(plans[0].statements) == 2 and plans[0].outputs == ["b", "c"]
    code = outline.apply(plans, "two_statements")[0]
    assert code.params == ["a"] and "a.dim() == 1" in code.guard
    text = ast.unparse(code.lowered)
    assert "torch.exp(a)" in text and "torch.tanh" in text and "np." not in text
    assert "np.exp(a)" in ast.unparse(code.twin)


def test_an_impure_operand_splits_the_region():
    tree, _ = placed(impure_operand, ([torch.ones(3)], lambda shape: 1.0))
    plans = regions.plan(tree)
    roots = [ast.unparse(p.roots[0]) for p in plans]
    assert "np.exp(a)" in roots  # computed before f(...) is called, as in the original


def test_lift_rewrites_from_the_annotations():
    tree, _ = placed(seed, ([torch.ones(3)],))
    plans = regions.plan(tree)
    outline.apply(plans, "seed")
    bodies = lift.apply(tree)
    text = ast.unparse(tree)
    assert "__ll.lift_method(t, 'float32', 1, ('detach', 'cpu'))" in text
    assert "out.append(__ll_r0(a))" in text and "np." not in text and bodies == []


# ------------------------------------------------------------------------- dependence
def test_dependence_plans_independent_loops_and_explains_the_others():
    tree, _ = placed(seed, ([torch.ones(3)],))
    regions.plan(tree)
    batches, refused = dependence.plan(tree)
    assert len(batches) == 1 and batches[0].item == "t" and batches[0].outputs[0].target == "out"

    def carried(xs):
        acc = 0.0
        out = []
        for x in xs:
            a = x.numpy()
            out.append(a * acc)
            acc = acc + 1
        return out

    tree, _ = placed(carried, ([torch.ones(3)],))
    regions.plan(tree)
    batches, refused = dependence.plan(tree)
    assert not batches and refused and "acc" in refused[0].reason


# ------------------------------------------------------------------------- instrument
def test_instrument_observes_sites_and_adds_resume_points():
    def loop(model, loader):
        total = 0.0
        with torch.no_grad():
            for x, y in loader:
                total += model(x).sum().item()
        return total

    loaded, tree = tree_of(loop)
    instrumented, loops = instrument.apply(tree, loop.__globals__)
    text = ast.unparse(instrumented)
    assert len(loops) == 1 and "__ll_resume.ready" in text and "__ll_obs.names" in text
    assert "__ll_obs(" in text and "model(x)" in text
