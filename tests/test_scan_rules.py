"""``looplift scan`` rules one at a time, on small sources: what is a conversion, what is in a
loop, what is invariant, and the file-level plumbing (walking, decoding, noqa, codes)."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from looplift.scan import scan_file, scan_paths, scan_source
from looplift.scan.files import iter_python_files, noqa_suppresses
from looplift.scan.findings import HOISTABLE, LIFTABLE, is_selected, parse_codes


def scan(code: str) -> list[tuple[str, int]]:
    return [(f.code, f.line) for f in scan_source(textwrap.dedent(code))]


def reasons(code: str) -> list[str]:
    return [f.reason for f in scan_source(textwrap.dedent(code))]


# -- what is a conversion ----------------------------------------------------------------------


def test_np_asarray_is_reported_only_for_known_tensors() -> None:
    assert scan("""
        import numpy as np
        import torch
        def f(rows, t: torch.Tensor, model):
            for r in rows:
                a = np.asarray(r)             # unknown: not reported
                b = np.asarray(model(r))      # unknown: not reported
                c = np.array(r.detach())      # .detach() only exists on tensors
                d = np.asarray(torch.zeros(3) + r)
                e = np.asarray(t)
    """) == [("LL001", 8), ("LL001", 9), ("LL002", 10)]


@pytest.mark.parametrize("annotation", [
    "torch.Tensor", "Tensor", '"torch.Tensor"', "Optional[torch.Tensor]", "torch.Tensor | None",
    "th.Tensor", "nn.Parameter",
])
def test_tensor_annotations(annotation: str) -> None:
    assert scan(f"""
        from typing import Optional
        import numpy as np
        import torch
        import torch as th
        from torch import Tensor, nn
        def f(xs, w: {annotation}):
            for x in xs:
                print(np.asarray(w), float(w))
    """) == [("LL002", 9), ("LL005", 9)]


@pytest.mark.parametrize("annotation", ["list[torch.Tensor]", "List[Tensor]", "Sequence[torch.Tensor]",
                                        "tuple[torch.Tensor, ...]"])
def test_tensor_sequences(annotation: str) -> None:
    assert scan(f"""
        from typing import List, Sequence
        import numpy as np
        import torch
        from torch import Tensor
        def f(ts: {annotation}, us: list[torch.Tensor]):
            for t in ts:
                np.asarray(t)
            for i, t in enumerate(ts):
                np.asarray(t)
            for t, u in zip(ts, us):
                np.asarray(u)
            return [float(t) for t in ts]
    """) == [("LL001", 8), ("LL001", 10), ("LL001", 12), ("LL005", 13)]


def test_non_tensor_annotations_and_arrays_are_not_tensors() -> None:
    assert scan("""
        import numpy as np
        def f(xs, a: np.ndarray, n: int):
            grid = np.zeros((3, 3))
            for x in xs:
                print(a.tolist(), grid.item(), np.asarray(a), float(n), grid[0].tolist())
    """) == []


def test_host_syncs() -> None:
    assert scan("""
        import torch
        def f(loader, model, t: torch.Tensor):
            for x in loader:
                loss = model(x)
                a = loss.item()            # unknown receiver: reported anyway
                b = float(loss)            # unknown: float() is not known to sync
                c = float(t.sum())         # known tensor
                d = int(t.argmax())
                e = t.numpy().tolist()     # one conversion: .tolist()
                f = t.cpu().item()         # one conversion: .item()
    """) == [("LL005", 6), ("LL005", 8), ("LL005", 9), ("LL005", 10), ("LL005", 11)]


def test_chains_are_one_conversion() -> None:
    found = scan_source(textwrap.dedent("""
        import numpy as np
        def f(xs):
            for x in xs:
                a = x.detach().cpu().numpy()
                b = np.asarray(x.detach().cpu())
                c = x.to("cpu").float().numpy()
                d = x.cuda().cpu()
    """))
    assert [(f.code, f.line) for f in found] == [("LL001", 5), ("LL001", 6), ("LL001", 7), ("LL006", 8)]
    assert "`x.detach().cpu().numpy()`" in found[0].message


def test_device_copies() -> None:
    assert scan("""
        import torch
        def f(xs, device):
            for x in xs:
                a = x.cpu()
                b = x.to("cpu")
                c = x.to(device="cpu")
                d = x.to(torch.device("cpu"))
                e = x.to(device)           # not known to go to the host
                f = x.to(torch.float16)
    """) == [("LL006", 5), ("LL006", 6), ("LL006", 7), ("LL006", 8)]


def test_round_trip_is_liftable_both_ways() -> None:
    found = scan_source(textwrap.dedent("""
        import numpy as np
        import torch
        def f(xs):
            for x in xs:
                y = torch.from_numpy(np.exp(x.numpy()) + 1)
    """))
    assert [(f.code, f.liftable, f.reason) for f in found] == [
        ("LL003", True, LIFTABLE), ("LL001", True, LIFTABLE)]


def test_liftable_needs_numpy_work_on_the_value() -> None:
    assert reasons("""
        import numpy as np
        def f(xs, out):
            for x in xs:
                a = x.numpy()
                out.append(a)              # escapes: not NumPy work
                b = x.numpy()
                np.save("b.npy", b)        # writing is not NumPy work either
                c = x.numpy()
                total = c * 2              # arithmetic is
                d = x.numpy()[0]           # so is indexing
    """) == ["per-iteration: `x` is the loop target (line 4)"] * 2 + [LIFTABLE] * 2


def test_aliases_resolve_per_file() -> None:
    assert scan("""
        import numpy as numpy_mod
        import torch as th
        from numpy import asarray as to_array
        from torch import as_tensor
        def f(xs, w: th.Tensor):
            for x in xs:
                numpy_mod.asarray(w)
                to_array(w)
                as_tensor(x)
                th.from_numpy(x)
    """) == [("LL002", 8), ("LL002", 9), ("LL003", 10), ("LL003", 11)]


def test_conventional_names_without_import_and_late_imports() -> None:
    assert scan("""
        def f(xs):
            for x in xs:
                torch.tensor(x)
        def g(w: "torch.Tensor", xs):
            for x in xs:
                np.asarray(w)
        import numpy as np
    """) == [("LL003", 4), ("LL002", 7)]


def test_jax_numpy_is_not_numpy() -> None:
    assert scan("""
        import jax.numpy as np
        import torch
        def f(xs, t: torch.Tensor):
            for x in xs:
                np.asarray(t)
    """) == []


# -- what is in a loop -------------------------------------------------------------------------


def test_loop_regions() -> None:
    assert scan("""
        import torch
        def f(t: torch.Tensor, ts):
            for x in t.tolist():           # iterable: evaluated once
                pass
            else:
                t.numpy()                  # else: once
            while t.sum().item() > 0:      # test: every iteration
                t = t - 1
            s = sum(u.item() for u in ts)  # generator expression
            d = {k: v.numpy() for k, v in ts}
            e = {v.cpu() for v in ts}
            g = [[y.numpy() for y in row] for row in ts]
    """) == [("LL005", 8), ("LL005", 10), ("LL001", 11), ("LL006", 12), ("LL001", 13)]


def test_module_level_loops_and_nested_scopes() -> None:
    assert scan("""
        import torch
        for x in range(3):
            t = torch.zeros(3)
            t.numpy()
            def inner():
                return t.numpy()           # nested def: not in the loop
            f = lambda: t.item()           # lambda body: not in the loop
            class C:
                v = t.tolist()             # class body: runs here, in the loop
                def m(self, ts):
                    for u in ts:
                        u.numpy()          # a loop of the method itself
    """) == [("LL001", 5), ("LL005", 10), ("LL001", 13)]


def test_async_loops_match_and_walrus() -> None:
    assert scan("""
        async def f(stream, table: "torch.Tensor"):
            async for x in stream:
                match x:
                    case Point(x=px):
                        px.numpy()
                    case [a, b]:
                        print((y := a.item()), b)
            return [r.cpu() async for r in stream]
    """) == [("LL001", 6), ("LL005", 8), ("LL006", 9)]


# -- invariance --------------------------------------------------------------------------------


@pytest.mark.parametrize("statement, why", [
    ("w = w * 2", "`w` is assigned in the loop (line 6)"),
    ("w += 1", "`w` is updated in the loop (line 6)"),
    ("w[0] = 1", "`w` may be modified in the loop (line 6: item assignment)"),
    ("w.zero_()", "`w` may be modified in the loop (line 6: .zero_())"),
    ("w.data.fill_(0)", "`w` may be modified in the loop (line 6: .fill_())"),
    ("v = w.view(-1); v.mul_(2)", "`w` may be modified in the loop (line 6: .mul_())"),
    ("torch.mul(x, 2, out=w)", "`w` may be modified in the loop (line 6: out=)"),
    ("np.copyto(w, x)", "`w` may be modified in the loop (line 6: copyto())"),
    ("update(w)", "`w` may be modified in the loop (line 6: passed to update())"),
    ("update(x=[w.view(-1)])", "`w` may be modified in the loop (line 6: passed to update())"),
    ("opt.step()", "`.step()` may update it in place (line 6)"),
    ("with open(x) as w: pass", "`w` is assigned in the loop (line 6)"),
    ("from m import w", "`w` is imported in the loop (line 6)"),
    ("def w(): pass", "`w` is defined in the loop (line 6)"),
    ("for w in x: pass", "`w` is the target of a nested loop (line 6)"),
])
def test_what_makes_a_source_variant(statement: str, why: str) -> None:
    assert reasons(f"""
        import numpy as np
        import torch
        def f(w: torch.Tensor, xs, opt, update):
            for x in xs:
                {statement}
                w.numpy()
    """) == [f"per-iteration: {why}"]


@pytest.mark.parametrize("statement", [
    "print(w.sum(), len(w))",
    "y = torch.relu(w) + x",
    "acc.add_(w)",
    "other[0] = w",
    "results.append(w)",
    "w2 = w.clone()",
    "self_count = 1",
    "helper(w.sum())",
])
def test_what_leaves_a_source_invariant(statement: str) -> None:
    assert reasons(f"""
        import numpy as np
        import torch
        def f(w: torch.Tensor, xs, acc, other, results, helper):
            for x in xs:
                {statement}
                np.asarray(w)
    """) == [HOISTABLE]


def test_nonlocal_in_a_nested_def_makes_a_name_variant() -> None:
    assert reasons("""
        def f(t, xs):
            for x in xs:
                def bump():
                    nonlocal t
                    t = x
                bump()
                t.numpy()
    """) == ["per-iteration: `t` may be rebound by a nested def (`nonlocal`) (line 5)"]


def test_attribute_chains() -> None:
    assert reasons("""
        def f(model, xs, loss_fn):
            for x in xs:
                model.eval()
                model.fc.weight.numpy()
        def g(model, xs):
            for p in model.parameters():
                p.mul_(0.9)
                model.fc.weight.numpy()
        def h(model, xs):
            for x in xs:
                x.grad.numpy()
                model.fc.weight.grad.numpy()
                x.loss.backward()
    """) == [
        "per-iteration: `model.eval()` may modify `model.fc.weight` (line 4)",
        "per-iteration: `model.fc.weight` may be modified in the loop (line 8: .mul_())",
        "per-iteration: `x` is the loop target (line 11)",
        "per-iteration: `.backward()`/`.zero_grad()` write gradients (line 14)",
    ]


def test_hoisting_out_of_several_loops() -> None:
    found = scan_source(textwrap.dedent("""
        import torch
        def f(t: torch.Tensor, groups):
            while True:
                for g in groups:
                    for x in g:
                        t.numpy()
                        x.numpy()
                t = t + 1
    """))
    assert [f.message.rpartition(": ")[2] for f in found] == [
        "hoist it out of the for loop at line 5",
        "`x` is the loop target (line 6))",
    ]


@pytest.mark.parametrize("statement, kept", [
    ("state[k] = v", "stored at line 7"),
    ("self.v = v", "stored at line 7"),
    ("out.append(v)", "passed to out.append() at line 7"),
    ("out.extend([v])", "passed to out.extend() at line 7"),
    ("helper(v)", "passed to helper() at line 7"),
    ("v.add_(1)", "modified by .add_() at line 7"),
    ("v.to(device).mul_(2)", "modified by .mul_() at line 7"),
    ("v[0] = 1", "modified in place at line 7"),
    ("v += 1", "modified in place at line 7"),
    ("torch.add(v, 1, out=v)", "written by out= at line 7"),
    ("yield v", "yielded at line 7"),
    ("k = [v, 1]; out.append(k)", "passed to out.append() at line 7"),
])
def test_a_result_that_an_iteration_keeps_is_not_hoistable(statement: str, kept: str) -> None:
    found = scan_source(textwrap.dedent(f"""
        import torch
        def f(xs, state, out, helper, device):
            for k in xs:
                v = torch.tensor([0.0, 1.0])
                print(v)
                {statement}
    """))
    assert [(f.code, f.invariant, f.liftable, f.reason) for f in found] == [
        ("LL003", True, False, f"per-iteration: each iteration keeps its own result ({kept})")]


@pytest.mark.parametrize("statement", [
    "y = v * k",
    "y = torch.where(k > 0, v, k)",
    "k.add_(v)",
    "print(v, len(v), v.sum(), f'{v}')",
    "y = v.to(device) + 1",
    "y = v[0] + v.T",
    "torch._foreach_add_(steps, v)",            # an in-place library function keeps no argument
    "y = F.cross_entropy(k, k, weight=v)",      # nn.functional is stateless
])
def test_a_result_that_is_only_read_is_hoistable(statement: str) -> None:
    assert reasons(f"""
        import torch
        import torch.nn.functional as F
        def f(xs, device, steps):
            for k in xs:
                v = torch.tensor([0.0, 1.0])
                {statement}
            return v
    """) == [HOISTABLE]


def test_scalar_results_may_be_shared() -> None:
    assert reasons("""
        def f(t: "torch.Tensor", xs, out):
            for x in xs:
                out.append(t.item())
                out.append(t.tolist())
    """) == [HOISTABLE, "per-iteration: each iteration keeps its own result (passed to out.append() at line 5)"]


def test_collected_by_a_comprehension() -> None:
    assert reasons("""
        import torch
        def f(n):
            zeros = [torch.zeros(1) * torch.tensor(2.0) for _ in range(n)]
            return [torch.tensor(0.0) for _ in range(n)]
    """) == [HOISTABLE, "per-iteration: each iteration keeps its own result "
                        "(collected by the list comprehension at line 5)"]


def test_constants_and_literals_are_invariant() -> None:
    assert reasons("""
        import torch
        def f(xs, scale, device):
            for x in xs:
                torch.tensor(0.5)
                torch.tensor([1.0, -scale], device=device)
                torch.as_tensor({"a": 1})
                torch.tensor([x, 1.0])
                torch.tensor(range(3))
    """) == [HOISTABLE] * 3 + ["per-iteration: `x` is the loop target (line 4)",
                               "per-iteration: source is recomputed every iteration"]


# -- files, decoding, positions ----------------------------------------------------------------


def test_walk_skips_hidden_and_build_directories(tmp_path: Path) -> None:
    for relative in ("a.py", "notes.txt", "pkg/b.py", "pkg/sub/c.py", ".hidden/d.py", ".git/e.py",
                     ".venv/f.py", "venv/g.py", "__pycache__/h.py", "build/i.py", "dist/j.py",
                     "node_modules/k.py", "lib/site-packages/l.py", "pkg/build/m.py"):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")
    script = tmp_path / "script"
    script.write_text("x = 1\n")
    found = [Path(p).relative_to(tmp_path).as_posix()
             for p in iter_python_files([tmp_path, script, tmp_path / "a.py"])]
    assert found == ["a.py", "pkg/b.py", "pkg/sub/c.py", "script"]


def test_missing_path_raises_before_scanning(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file or directory"):
        scan_paths([tmp_path, tmp_path / "missing.py"])


def test_decoding() -> None:
    loop = b"import torch\nfor t in ts:\n    t.numpy()\n"
    assert [f.code for f in scan_source(b"\xef\xbb\xbf" + loop)] == ["LL001"]
    assert [f.code for f in scan_source(b"# -*- coding: latin-1 -*-\nname = '\xe9'\n" + loop)] == ["LL001"]
    bad_cookie = scan_source(b"# -*- coding: nope -*-\n" + loop)
    assert [(f.code, f.message) for f in bad_cookie] == [
        ("LL900", "file could not be parsed: could not decode file: unknown encoding: nope")]
    bad_bytes = scan_source(b"x = 1\ny = '\xff'\n" + loop)
    assert [(f.code, f.line) for f in bad_bytes] == [("LL900", 2)]
    null = scan_source("x = 1\0\n")
    assert [f.code for f in null] == ["LL900"]


def test_unreadable_path_is_ll900(tmp_path: Path) -> None:
    found = scan_file(str(tmp_path))  # a directory cannot be read as a file
    assert [f.code for f in found] == ["LL900"]
    assert "could not read file" in found[0].message


def test_columns_count_characters_and_lines_follow_crlf() -> None:
    found = scan_source("import torch\r\nfor t in ts:\r\n    s = 'héllo→'; t.numpy()\r\n")
    assert [(f.line, f.col) for f in found] == [(3, 19)]


def test_deep_nesting_does_not_crash() -> None:
    chain = " + ".join(["t.item()"] * 900)
    elifs = "".join(f"    elif a == {i}:\n        t.numpy()\n" for i in range(1, 1500))
    source = f"for t in ts:\n    x = {chain}\n    if a == 0:\n        t.numpy()\n{elifs}"
    codes = [f.code for f in scan_source(source)]
    assert codes.count("LL005") == 900 and codes.count("LL001") == 1500
    too_deep = scan_source("x = " + "(" * 500 + ")" * 500 + "\n")
    assert [f.code for f in too_deep] == ["LL900"]


def test_huge_file() -> None:
    block = "def f{i}(xs, t: 'torch.Tensor'):\n    for x in xs:\n        print(x.item(), t.numpy())\n\n"
    found = scan_source("".join(block.format(i=i) for i in range(5000)))
    assert len(found) == 10000
    assert found[-1].line == 4999 * 4 + 3


# -- noqa and codes ----------------------------------------------------------------------------


@pytest.mark.parametrize("line, code, suppressed", [
    ("x.numpy()  # noqa", "LL001", True),
    ("x.numpy()  # NOQA", "LL001", True),
    ("x.numpy()  #noqa:LL001", "LL001", True),
    ("x.numpy()  # noqa: LL003, LL001", "LL001", True),
    ("x.numpy()  # noqa: LL003 LL001", "LL001", True),
    ("x.numpy()  # noqa: LL0", "LL001", True),
    ("x.numpy()  # noqa: LL003", "LL001", False),
    ("x.numpy()  # noqa: E501", "LL001", False),
    ("x.numpy()  # noqa: see the docs", "LL001", True),
    ("x.numpy()  # noqa:  LL003", "LL001", True),  # two spaces: flake8 reads a blanket noqa
    ("x.numpy()  # noqa:E501,W291", "LL001", False),
    ("x.numpy()  # NOQA: e501", "LL001", False),
    ("x.numpy()", "LL001", False),
    ("x.numpy()  # no qa", "LL001", False),
])
def test_noqa(line: str, code: str, suppressed: bool) -> None:
    assert noqa_suppresses(line, code) is suppressed


def test_codes_selection() -> None:
    assert parse_codes("LL001, ll003") == ("LL001", "LL003")
    assert parse_codes(["LL0"]) == ("LL0",)
    for bad in ("E501", "LL7", "LL0011", "L-1"):
        with pytest.raises(ValueError):
            parse_codes(bad)
    assert is_selected("LL001", None, None)
    assert not is_selected("LL001", ("LL002",), None)
    assert not is_selected("LL002", ("LL0",), ("LL002",))
    assert is_selected("LL002", ("LL002",), ("LL0",))
    assert not is_selected("LL900", None, ("LL9",))


def test_noqa_is_a_comment_on_the_reported_line_or_its_token() -> None:
    assert scan("""
        import torch
        for t in ts:
            a = t.numpy()  # noqa: E501
            b = foo(t.numpy(), \"\"\"
              text\"\"\")  # noqa: LL001
            c = foo(t.numpy(),
                    1)  # noqa
            d = t.numpy() + \\
                1  # noqa
            s = "# noqa"; e = t.numpy()
    """) == [("LL001", 4), ("LL001", 7), ("LL001", 11)]


def test_per_item_calls_run_their_function_per_item() -> None:
    assert scan("""
        import functools
        import itertools
        import torch
        def f(ts: list[torch.Tensor], arrays, w: torch.Tensor, outputs):
            a = list(map(lambda t: t.numpy(), ts))
            b = list(map(torch.from_numpy, arrays))
            c = sorted(ts, key=lambda t: t.item())
            d = max(ts, key=lambda t: float(t))
            e = functools.reduce(lambda acc, t: acc + t.numpy(), ts, 0)
            outputs.sort(key=lambda o: o.item())
            g = list(map(float, ts))
            h = list(itertools.takewhile(lambda t: t.sum().item() > 0, ts))
            k = lambda t: t.numpy()               # stored: runs when called
            callbacks = [lambda: t.item() for t in ts]   # stored in a list: not reported
            for t in ts:
                (lambda: t.cpu())()               # called at once: in the loop
    """) == [("LL001", 6), ("LL003", 7), ("LL005", 8), ("LL005", 9), ("LL001", 10), ("LL005", 11),
             ("LL005", 12), ("LL005", 13), ("LL006", 17)]


def test_a_lambda_called_per_item_sees_the_enclosing_names() -> None:
    found = scan_source(textwrap.dedent("""
        import numpy as np
        import torch
        def f(ts, w: torch.Tensor):
            return list(map(lambda t: t @ np.asarray(w), ts))
    """))
    assert [(f.code, f.reason) for f in found] == [("LL002", HOISTABLE)]
    assert found[0].message.endswith("hoist it out of the map() call at line 5")


def test_legacy_constructors_and_data_attributes() -> None:
    assert scan("""
        import numpy as np
        import torch
        def f(states, t: torch.Tensor, n: int):
            for state in states:
                a = torch.FloatTensor(state)          # array data: copied
                b = torch.LongTensor([1, 2])          # a constant: hoistable
                c = torch.Tensor(3, 4)                # sizes: an allocation
                e = torch.Tensor(t.shape)             # a shape
                g = torch.Tensor(t)                   # a tensor: no conversion
                h = state.cpu().data.numpy()          # one conversion, .data included
    """) == [("LL003", 6), ("LL004", 7), ("LL001", 11)]
