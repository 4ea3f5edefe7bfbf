"""The wheel: pure Python, catalog data inside, and the Excel functions working with nothing but
NumPy and the package (SPEC §4, §6; issue 5). Built once per session by ``xlnapkin release``
(the ``release`` fixture in conftest.py)."""

import subprocess
import sys
import zipfile

import pytest


def test_wheel_is_pure_python_with_the_catalog_inside(release):
    wheel = release.wheel
    assert wheel.name.endswith("-py3-none-any.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for data in ("gpus.csv", "models.csv", "prices.csv", "README.md"):
        assert f"xlnapkin/data/{data}" in names
    assert "xlnapkin/udfs.py" in names
    assert not [n for n in names if n.endswith((".so", ".pyd", ".dll", ".dylib"))]
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "workbooks/"))]


# Run in a fresh interpreter where the wheel is the only xlnapkin and every optional library
# (xlwings, openpyxl, formulas, pandas) fails to import, as in a bare Pyodide with NumPy.
ONLY_NUMPY = r"""
import importlib.abc, sys
BLOCKED = ("xlwings", "openpyxl", "formulas", "pandas")
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not available here")
sys.meta_path.insert(0, Block())
sys.path.insert(0, sys.argv[1])
from xlnapkin.udfs import *
import xlnapkin
assert xlnapkin.__file__.startswith(sys.argv[1]), xlnapkin.__file__
print(KV_BYTES("llama-3.1-405b"), TOKENS_PER_SEC("h10", "llama-3.1-8b"))
print(COST_PER_MTOK(2.21, 2400, 0.7, 4))
"""


def test_functions_work_with_only_numpy_and_the_wheel(release, tmp_path):
    target = tmp_path / "site"
    zipfile.ZipFile(release.wheel).extractall(target)  # a pure wheel unpacked is installed
    out = subprocess.run([sys.executable, "-I", "-c", ONLY_NUMPY, str(target)],
                         capture_output=True, text=True, check=True,
                         cwd=tmp_path).stdout.splitlines()
    assert out[0] == "516096.0 unknown gpu 'h10': did you mean h100-sxm, h100-nvl, h100-pcie?"
    assert float(out[1]) == pytest.approx(1.4616, rel=5e-4)  # seed_cases.md, seed 003
