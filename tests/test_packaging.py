"""The wheel: pure Python, catalog data inside, and the Excel functions working with nothing but
NumPy and the package (SPEC §4, §6; issue 5). Built once per session by ``xlnapkin release``
(the ``release`` fixture in conftest.py)."""

import re
import subprocess
import sys
import tomllib
import zipfile

import pytest
from packaging.markers import Marker

from conftest import REPO


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


def test_the_installer_guide_names_the_xlwings_the_tests_ran_with():
    """A review: a fleet rollout should pin xlwings; the guide names the locked version."""
    lock = {p["name"]: p for p in tomllib.loads((REPO / "uv.lock").read_text("utf-8"))["package"]}
    guide = (REPO / "installer" / "README.md").read_text("utf-8")
    assert f"`-XlwingsVersion {lock['xlwings']['version']}`, the version" in guide


def _windows_dependencies() -> set[str]:
    """What pip installs beside xlnapkin[excel] on Windows: the lock file's graph from xlnapkin
    and its excel extra, each marker evaluated for Windows (any Python the lock covers)."""
    lock = {p["name"]: p for p in tomllib.loads((REPO / "uv.lock").read_text("utf-8"))["package"]}
    windows = {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"}

    def applies(dep):
        if "marker" not in dep:
            return True
        marker = Marker(dep["marker"])
        return any(marker.evaluate(dict(windows, python_version=v, python_full_version=v + ".0"))
                   for v in ("3.11", "3.12", "3.13"))

    root = lock["xlnapkin"]
    todo = [d for d in root["dependencies"] + root["optional-dependencies"]["excel"] if applies(d)]
    found = set()
    while todo:
        name = todo.pop()["name"]
        if name not in found:
            found.add(name)
            todo += [d for d in lock[name].get("dependencies", []) if applies(d)]
    return found


def test_every_list_of_the_windows_dependencies_is_the_lock_files():
    # The installer guide, the analyst guide, the release notes and the release README each
    # tell a Windows user what comes from PyPI (or must be in a -FindLinks folder).
    expected = _windows_dependencies()
    assert {"numpy", "openpyxl", "xlwings", "olefile", "pywin32"} <= expected   # the graph walked
    lists = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
                 REPO / "installer" / "README.md", REPO / "xlnapkin" / "release.py"]:
        text = " ".join(path.read_text("utf-8").split())
        for match in re.finditer(r"\bnumpy(?:(?:,\s+|,?\s+and\s+)[a-z][a-z0-9-]*)+", text):
            names = re.split(r",\s+and\s+|,\s+|\s+and\s+", match.group(0))
            if len(names) >= 4:   # shorter runs are other lists ("only numpy and xlwings")
                lists.append((path.relative_to(REPO).as_posix(), set(names)))
    assert len(lists) >= 5
    assert [(where, names) for where, names in lists if names != expected] == []
