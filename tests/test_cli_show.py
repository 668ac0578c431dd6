"""``looplift show FILE.py:FUNC``: arguments from annotations, decisions, and clean errors."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from looplift.cli.main import main

ROOT = Path(__file__).resolve().parents[1]

MODULE = '''
from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch

from looplift import looplift

RAN_MAIN = []


def energy(batches: list[torch.Tensor], scale: float = 2.0, label: str | None = None):
    out = []
    for t in batches:
        a = t.numpy()
        out.append(np.exp(a) * scale + 1)
    return out


def accumulate(x: npt.NDArray[np.float64], w: torch.Tensor, n: int, *, eps: float | None):
    for _ in range(n):
        x = x + w.numpy()
    return x


def bare(x, y=3):
    return x


def defaulted(x: torch.Tensor, model=None):
    out = []
    for _ in range(3):
        out.append(np.tanh(x.numpy()))
    return out


class Model:
    def step(self, xs: list[torch.Tensor]):
        out = []
        for x in xs:
            out.append(np.tanh(x.numpy()))
        return out

    @staticmethod
    def pair(xs: tuple[torch.Tensor, ...]):
        return [np.tanh(x.numpy()) for x in xs]

    @classmethod
    def build(cls, x: torch.Tensor):
        return x.numpy()

    @looplift(compile=False)
    def decorated(self, xs: list[torch.Tensor]):
        out = []
        for x in xs:
            out.append(np.tanh(x.numpy()))
        return out


if __name__ == "__main__":
    raise SystemExit("the __main__ block must not run")
'''


@pytest.fixture
def module_file(tmp_path: Path) -> Path:
    path = tmp_path / "user_code.py"
    path.write_text(textwrap.dedent(MODULE))
    return path


def show(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["show", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_of_tensors_and_defaults(module_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = show(capsys, f"{module_file}:energy")
    assert code == 0, err
    assert "batches: list[torch.Tensor] -> list of 4 × float32 tensor of shape (512, 256) on cpu" in out
    assert "scale: float -> 2.0 (its default)" in out
    assert "label: str | None -> None (its default)" in out
    assert "looplift: energy specialized for (List[Tensor[torch.float32,2d,cpu,grad=False]]" in out
    assert "rewritten source:" in out and "__ll.lift_method(t, 'float32', 2" in out
    assert "assumed:" not in out  # everything came from annotations and defaults


def test_stand_ins_are_reported_as_assumed(module_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = show(capsys, f"{module_file}:accumulate", "--dtype", "float64", "--length", "2")
    assert code == 0, err
    assert "x: npt.NDArray[np.float64] -> float64 array of shape (512, 256)" in out
    assert "w: torch.Tensor -> float64 tensor of shape (512, 256) on cpu" in out
    assert "n: int -> 10 (a stand-in" in out
    assert "eps: float | None -> 1.0" in out and "assumed not None" in out
    assert "assumed: n, eps" in out
    assert "eps=Py[float]" in out  # keyword-only parameters are passed by keyword
    assert "hoisted:" in out


def test_per_parameter_shape_and_small_shape_note(module_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = show(capsys, f"{module_file}:accumulate", "--shape", "4,4", "--shape", "w=64,512")
    assert code == 0
    assert "x: npt.NDArray[np.float64] -> float64 array of shape (4, 4)" in out
    assert "w: torch.Tensor -> float32 tensor of shape (64, 512)" in out
    assert "note: --shape 4,4 has 16 elements" in out
    code, _, err = show(capsys, f"{module_file}:accumulate", "--shape", "nope=3")
    assert code == 2 and "no parameter 'nope'" in err


def test_unannotated_parameter_without_default_is_refused(module_file: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = show(capsys, f"{module_file}:bare")
    assert code == 2 and out == ""
    assert "parameter 'x'" in err and "no annotation" in err and "Traceback" not in err


def test_unannotated_parameter_with_default_uses_it(module_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = show(capsys, f"{module_file}:defaulted")
    assert code == 0
    assert "model -> None (its default)" in out


def test_methods(module_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = show(capsys, f"{module_file}:Model.step")
    assert code == 0
    assert "self: an uninitialized Model (not constructed)" in out and "assumed: self" in out
    code, out, _ = show(capsys, f"{module_file}:Model.pair")
    assert code == 0 and "tuple of 4 × float32 tensor" in out and "self" not in out
    code, out, _ = show(capsys, f"{module_file}:Model.build")
    assert code == 0 and "cls: the class Model" in out
    monkeypatch.setenv("LOOPLIFT_LIFT", "always")  # lifted whatever the size: what compile=False changes shows
    code, out, _ = show(capsys, f"{module_file}:Model.decorated")  # a @looplift method: its options apply
    assert code == 0 and "numpy.tanh -> torch.tanh" in out and "compiled:" not in out


def test_main_block_does_not_run(module_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = show(capsys, f"{module_file}:energy")
    assert code == 0 and "must not run" not in err
    assert str(module_file.parent) not in sys.path  # the file's folder is not left on sys.path


@pytest.mark.parametrize("target, message", [
    ("{dir}/missing.py:f", "no such file"),
    ("{file}:nope", "no function 'nope'; its functions: accumulate, bare, defaulted, energy"),
    ("{file}:Model.nope", "class Model has no 'nope'"),
    ("{file}:Nope.f", "no 'Nope' in the file"),
    ("{file}", "expected FILE.py:FUNC"),
    ("{file}:RAN_MAIN", "not a Python function"),
])
def test_usage_errors(module_file: Path, capsys: pytest.CaptureFixture[str], target: str, message: str) -> None:
    code, out, err = show(capsys, target.format(dir=module_file.parent, file=module_file))
    assert code == 2, out
    assert message in err
    assert "Traceback" not in err


def test_syntax_error_and_failing_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("def f(x):\n    return (x\n")
    code, _, err = show(capsys, f"{broken}:f")
    assert code == 2 and "broken.py:2: syntax error" in err and "Traceback" not in err
    failing = tmp_path / "failing.py"
    failing.write_text("import no_such_module_for_looplift_show\n")
    code, _, err = show(capsys, f"{failing}:f")
    assert code == 2 and "ModuleNotFoundError" in err and "Traceback" not in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_a_gpu(module_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = show(capsys, f"{module_file}:energy", "--device", "cuda")
    assert code == 2 and "no CUDA GPU is available" in err


def test_bad_dtype(module_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = show(capsys, f"{module_file}:energy", "--dtype", "float99")
    assert code == 2 and "--dtype float99" in err


def test_show_an_example_script_as_a_user_would() -> None:
    proc = subprocess.run([sys.executable, "-m", "looplift", "show", "examples/pagerank.py:pagerank"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "links: torch.Tensor -> float32 tensor of shape (512, 256) on cpu" in proc.stdout
    assert "looplift: pagerank specialized for" in proc.stdout
    assert "converged" not in proc.stdout  # the script's main() did not run


# -- values and types on the command line -------------------------------------------------------


def test_args_are_evaluated_with_torch_numpy_and_the_files_globals(module_file: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = show(capsys, f"{module_file}:bare", "--args", "torch.randn(8, 4)", "--args", "y=np.zeros(3)")
    assert code == 0, err
    assert "x -> float32 tensor of shape (8, 4) on cpu (--args torch.randn(8, 4))" in out
    assert "y -> float64 array of shape (3,) (--args np.zeros(3))" in out
    code, out, err = show(capsys, f"{module_file}:bare", "--args", "RAN_MAIN, 2")  # a name from the file
    assert code == 0, err
    assert "x -> empty list (--args RAN_MAIN)" in out and "y -> 2 (--args 2)" in out


def test_types_build_tensors_lists_and_scalars(module_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = show(capsys, f"{module_file}:bare", "--types", "list[Tensor[float64, (16, 512)], 2], y=int")
    assert code == 0, err
    assert "x -> list of 2 × float64 tensor of shape (16, 512) on cpu (--types list[Tensor[float64, (16, 512)], 2])" in out
    assert "y -> 10 (a stand-in" in out
    code, out, err = show(capsys, f"{module_file}:bare", "--types", "tuple[ndarray[int64, (3,)], ...], None",
                          "--length", "2")
    assert code == 0, err
    assert "x -> tuple of 2 × int64 array of shape (3,)" in out and "y -> None (--types None)" in out


def test_args_and_types_override_annotations(module_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = show(capsys, f"{module_file}:energy", "--types", "batches=list[Tensor[(64, 64)]]",
                          "--args", "scale=3.0")
    assert code == 0, err
    assert "batches: list[torch.Tensor] -> list of 4 × float32 tensor of shape (64, 64) on cpu" in out
    assert "scale: float -> 3.0 (--args 3.0)" in out


def test_self_can_be_given_by_name(module_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = show(capsys, f"{module_file}:Model.step", "--args", "self=Model()")
    assert code == 0, err
    assert "assumed:" not in out and "self: " in out


@pytest.mark.parametrize("argv, message", [
    (["--args", "torch.randn(8,"], "--args 'torch.randn(8,': not a list of arguments"),
    (["--args", "nope(3)"], "--args: nope(3) failed: NameError: name 'nope' is not defined"),
    (["--args", "*xs"], "*values and **values are not supported"),
    (["--args", "1, 2, 3"], "bare: 3 positional values given, but the function takes 2"),
    (["--args", "z=1"], "bare: the function has no parameter 'z'"),
    (["--args", "1", "--types", "2"], "positional values in both --args and --types"),
    (["--args", "x=1", "--types", "x=int"], "'x' is given in both --args and --types"),
    (["--types", "Tensor[flot32]"], "'flot32' is not a dtype (float32), a shape ((16, 512)) or a device"),
    (["--types", "dict[str, int]"], "'dict[str, int]' is not a type show knows"),
    (["--types", "list[Tensor, 2, 3]"], "write list[T] or list[T, LENGTH]"),
])
def test_bad_args_and_types_are_one_line_usage_errors(module_file: Path, capsys: pytest.CaptureFixture[str],
                                                      argv: list[str], message: str) -> None:
    code, out, err = show(capsys, f"{module_file}:bare", *argv)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_missing_value_says_how_to_give_it(module_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = show(capsys, f"{module_file}:bare")
    assert code == 2 and "--args 'x=...'" in err and "--types 'x=...'" in err


def test_diff_view(module_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = show(capsys, f"{module_file}:energy", "--diff")
    assert code == 0, err
    assert "--- energy (original)" in out and "+++ energy (looplift)" in out
    assert "-        a = t.numpy()" in out
    assert "rewritten source:" not in out and "rewritten:" in out
    assert "\033[" not in out  # not a terminal
