"""xlwings Lite without a package index (issue 8): the generated ``main.py`` carries the package,
``requirements.txt`` names only public packages, and xlwings' own Lite code registers and calls
every function from ``main.py`` in a Python where xlnapkin is not installed.

The proof (``test_generated_main_registers_and_computes_every_function``) runs xlwings' Office.js
code (``xlwings.server``: the path xlwings Lite runs), which is PolyForm-Noncommercial-licensed
source, with the ``noncommercial`` licence key. It runs by default; if you cannot accept those
terms, set ``XLNAPKIN_SKIP_LITE=1`` to skip it (see docs/release.md).
"""

from __future__ import annotations

import ast
import base64
import hashlib
import inspect
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO
from xlnapkin import __version__, lite

INSTALLER_LITE = REPO / "installer" / "lite"


def excel_functions() -> dict:
    """``{NAME: (function, summary, {arg: wizard text}, [example args])}`` from the package's
    registry; the one place to adapt when the registry moves."""
    from xlnapkin import _excel, docgen
    out = {}
    for name, fn in docgen.functions().items():
        doc = _excel.describe(fn)
        examples = [list(ex.args) for ex in doc.examples]
        out[name] = (fn, doc.wizard, {a.name: a.wizard for a in doc.arguments},
                     examples)  # the summary and its unit; each argument's default and unit
    return out


def embedded_zip(main: str) -> bytes:
    chunks = re.search(r"^_ZIP = \(\n(.*?)\n\)", main, re.S | re.M).group(1)
    return base64.b64decode("".join(re.findall(r'"([A-Za-z0-9+/=]+)"', chunks)))


# --- the files ----------------------------------------------------------------------------------


def test_requirements_keep_lites_required_lines_and_name_no_xlnapkin():
    lines = lite.lite_files()["requirements.txt"].splitlines()
    names = [re.split(r"[\s=<>~!#\[]", line, maxsplit=1)[0] for line in lines]
    assert names == ["xlwings", "python-dotenv", "pyodide-http", "black", "numpy"]
    assert [ln for ln in lines if ln.endswith("# required")] == lines[:4]
    assert not any("xlnapkin" in line.lower() for line in lines)


def test_committed_lite_files_equal_a_fresh_build():
    # compared as a flag: pytest's diff of two 220 kB files ran for minutes when one was stale
    for name, text in lite.lite_files().items():
        same = (INSTALLER_LITE / name).read_bytes() == text.encode("utf-8")
        assert same, (f"installer/lite/{name} is stale: run `xlnapkin lite --out installer/lite "
                      "--force`")


def test_the_docs_state_main_py_size_to_within_a_sixth():
    # The analyst guide and the installer README tell Mac and web users how big the file they
    # paste is; a stale figure (it once said 100 kB for a 150 kB file) misleads them.
    size = (REPO / "installer" / "lite" / "main.py").stat().st_size
    for page in ("docs/getting-started-analyst.md", "installer/README.md"):
        stated = re.search(r"`main\.py` is about (\d+) kB", (REPO / page).read_text())
        assert stated, page
        assert abs(int(stated.group(1)) * 1000 - size) <= size / 6, (page, size)


def test_main_py_embeds_the_package_deterministically():
    main = lite.lite_files()["main.py"]
    assert lite.lite_files()["main.py"] == main  # two builds, same bytes
    data = embedded_zip(main)
    assert hashlib.sha256(data).hexdigest() in main  # checked at run time
    size = len(main.encode("utf-8"))
    assert f"this file {size:,} bytes" in main and f"{len(data):,}-byte zip" in main
    assert f"xlnapkin {__version__} for xlwings Lite" in main.splitlines()[0]
    code = re.sub(r"^_ZIP = \(\n.*?\n\)", "", main, flags=re.S | re.M)
    assert len(code) < 3000 and str(REPO) not in code  # no machine paths, short readable code
    zf = zipfile.ZipFile(io.BytesIO(data))
    names = zf.namelist()
    assert names == sorted(names) and all(n.startswith("xlnapkin/") for n in names)
    repo = str(REPO).encode()
    assert not [n for n in names if repo in zf.read(n)]
    assert {"xlnapkin/__init__.py", "xlnapkin/udfs.py", "xlnapkin/data/gpus.csv",
            "xlnapkin/data/models.csv", "xlnapkin/data/prices.csv",
            "xlnapkin/data/README.md"} <= set(names)
    for excluded in ("cli", "excel_setup", "lite", "release", "recalc", "docgen"):
        assert f"xlnapkin/{excluded}.py" not in names
    assert not [n for n in names if n.startswith("xlnapkin/templates/")]
    assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert zf.read("xlnapkin/udfs.py") == (REPO / "xlnapkin" / "udfs.py").read_bytes()


def _module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")


def _imports(path: str, source: bytes):
    """Absolute names a module imports, anywhere in it (inside functions too): modules, and
    ``module.attribute`` for ``from module import attribute``."""
    package = _module_name(path)
    if not path.endswith("__init__.py"):
        package = package.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            yield base
            yield from (f"{base}.{a.name}" for a in node.names)


def test_bundled_modules_import_only_bundled_modules():
    """Lite has only the bundle: no bundled module may import (even lazily, inside a function)
    an xlnapkin module that was left out."""
    package = REPO / "xlnapkin"
    every = {_module_name(p.relative_to(REPO).as_posix()) for p in package.rglob("*.py")}
    files = lite.bundle_files()
    bundled = {_module_name(n) for n in files if n.endswith(".py")}
    assert "xlnapkin.udfs" in bundled and "xlnapkin.cli" in every - bundled
    for path, source in files.items():
        if not path.endswith(".py"):
            continue
        for name in _imports(path, source):
            if name.split(".")[0] != "xlnapkin":
                continue
            module = name if name in every else name.rpartition(".")[0]  # else an attribute
            assert module in bundled, f"{path} imports {name}, which is not bundled"


def test_write_lite_keeps_identical_files_and_refuses_different_ones(tmp_path):
    out = tmp_path / "lite"
    assert sorted(p.name for p in lite.write_lite(out)) == ["main.py", "requirements.txt"]
    assert lite.write_lite(out) == []  # identical: nothing rewritten, no --force needed
    (out / "requirements.txt").write_text("xlnapkin\n")
    with pytest.raises(lite.LiteError, match="requirements.txt already exists and differs; "
                                             "use --force to overwrite"):
        lite.write_lite(out)
    assert (out / "requirements.txt").read_text() == "xlnapkin\n"
    assert [p.name for p in lite.write_lite(out, force=True)] == ["requirements.txt"]
    assert (out / "requirements.txt").read_text() == lite.REQUIREMENTS


def test_write_lite_never_writes_through_a_link(tmp_path):
    # a hardening audit: a link named main.py had the file it named written, even without
    # --force, and a full disk left half a main.py (the files are now replaced atomically)
    from xlnapkin._files import FileWriteError
    out, elsewhere = tmp_path / "lite", tmp_path / "elsewhere.py"
    out.mkdir()
    (out / "main.py").symlink_to(elsewhere)
    for force in (False, True):
        with pytest.raises(FileWriteError, match="main.py is a symbolic link; not writing"):
            lite.write_lite(out, force=force)
    assert not elsewhere.exists() and not (out / "requirements.txt").exists()


# --- the proof: xlwings' own Lite code on the generated main.py ---------------------------------

# Runs as xlwings Lite does (``wasm_runtime.py`` in xlwings-server: a module made from main.py's
# text, ``custom_functions_meta``, then ``custom_functions_call`` per cell call), in ``python -I
# -S`` with only numpy and xlwings on sys.path.
PROBE = r"""
import asyncio, importlib.util, json, os, sys, tempfile
sys.path.insert(0, sys.argv[1])
before = importlib.util.find_spec("xlnapkin")
import xlwings as xw, xlwings.server as srv
source = open(sys.argv[2], encoding="utf-8").read()
calls = json.loads(open(sys.argv[3], encoding="utf-8").read())

def module_from_text():
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("main", loader=None))
    exec(source, module.__dict__)
    sys.modules["main"] = module
    return module

# A stale file where main.py writes its zip must be replaced, not imported.
bundle = os.path.join(tempfile.gettempdir(), "xlnapkin-" + sys.argv[4])
open(bundle, "wb").write(b"not the package")
main = module_from_text()
stamp = os.stat(bundle).st_mtime_ns
main = module_from_text()  # Lite runs main.py again after each edit: the zip is reused

async def call(name, args):
    try:
        return await srv.custom_functions_call({"func_name": name, "args": args,
            "version": xw.__version__, "client": "Office.js", "runtime": "1.4"}, main)
    except Exception as exc:
        return {"error": str(exc)}

async def run_all():
    return [await call(c["name"], c["args"]) for c in calls]

print(json.dumps({
    "found_before": before is not None,
    "meta": srv.custom_functions_meta(main)["functions"],
    "results": asyncio.run(run_all()),
    "files": sorted({m.__file__ for k, m in sys.modules.items()
                     if k == "xlnapkin" or k.startswith("xlnapkin.")}),
    "bundle": bundle,
    "bundle_ok": open(bundle, "rb").read() != b"not the package",
    "reused": os.stat(bundle).st_mtime_ns == stamp,
}))
"""


def excel_args(args: list) -> list:
    """Docstring-example arguments as Excel sends cells: each a 2-D range (a list is a row)."""
    def one(v):
        if isinstance(v, list):
            return v if v and isinstance(v[0], list) else [v]
        return [[v]]
    return [one(v) for v in args]


def as_range(value):
    return value if isinstance(value, list) else [[value]]


@pytest.fixture(scope="module")
def only_numpy_and_xlwings(tmp_path_factory):
    """A folder holding only numpy and xlwings (links to this environment's copies)."""
    if os.environ.get("XLNAPKIN_SKIP_LITE") == "1":
        pytest.skip("XLNAPKIN_SKIP_LITE=1: xlwings' Lite code needs its noncommercial licence")
    site = tmp_path_factory.mktemp("only-numpy-and-xlwings")
    for package in ("numpy", "xlwings"):
        spec = pytest.importorskip(package).__spec__
        folder = Path(spec.submodule_search_locations[0])
        for entry in (folder, folder.with_name(folder.name + ".libs")):
            if entry.exists():
                (site / entry.name).symlink_to(entry, target_is_directory=True)
    return site


def test_generated_main_registers_and_computes_every_function(only_numpy_and_xlwings,
                                                               tmp_path):
    functions = excel_functions()
    calls = [{"name": name, "args": excel_args(args)}
             for name, (_, _, _, examples) in functions.items() for args in examples]
    assert all(examples for (_, _, _, examples) in functions.values())  # each one is called
    # Lite passes an empty cell as 0 (classic: None): the same calls with blanks, as classic
    # gets them, give what Lite must show
    tps, weights = functions["TOKENS_PER_SEC"][0], functions["WEIGHT_BYTES"][0]
    zeros = [({"name": "TOKENS_PER_SEC", "args": [[["h100-sxm"]], [["llama-3.1-8b"]], [[64]],
                                                  [[1024]], [[0]], [[0]]]},
              as_range(tps("h100-sxm", "llama-3.1-8b", 64, 1024, None, None))),
             ({"name": "WEIGHT_BYTES", "args": [[["gpt-oss-120b"]], [[0]]]},
              as_range(weights("gpt-oss-120b"))),
             ({"name": "TOKENS_PER_SEC", "args": [[["h100-sxm"], ["h200-sxm"], [0]],
                                                  [["llama-3.1-8b"]], [[8]]]},
              as_range(tps([["h100-sxm"], ["h200-sxm"], [None]], "llama-3.1-8b", 8)))]
    assert zeros[2][1][2] == [""]  # a blank row of an oversized range: a blank cell
    # a number's 0 inside a range: that cell's message says where a 0 may come from
    table = as_range(tps("h100-sxm", "llama-3.1-8b", 1, 1024, None, None, [[1], [0]]))
    assert table[1][0].endswith("got 0")
    zeros.append(({"name": "TOKENS_PER_SEC", "args": [[["h100-sxm"]], [["llama-3.1-8b"]], [[1]],
                                                      [[1024]], [[None]], [[None]], [[1], [0]]]},
                  [table[0], [table[1][0] + ' (xlwings Lite reads an empty cell as 0: leave the '
                                            'argument out, or write ="" in the cell, for its '
                                            'default)']]))
    calls += [c for c, _ in zeros]
    refused = {"name": "TOKENS_PER_SEC", "args": [[["h100-sxm"]], [["llama-3.1-8b"]], [[1]],
                                                  [[1024]], [[None]], [[None]], [[0]]]}
    calls.append(refused)
    files = lite.lite_files()
    main_py = tmp_path / "main.py"
    main_py.write_bytes(files["main.py"].encode("utf-8"))
    (tmp_path / "calls.json").write_text(json.dumps(calls), encoding="utf-8")
    sha = hashlib.sha256(embedded_zip(files["main.py"])).hexdigest()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "XLWINGS"))}
    env.update(XLWINGS_ON_SERVER="true", XLWINGS_LICENSE_KEY="noncommercial",
               TMPDIR=str(tmp_path), TEMP=str(tmp_path), TMP=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROBE, str(only_numpy_and_xlwings), str(main_py),
         str(tmp_path / "calls.json"), f"{__version__}-{sha[:16]}.zip"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])

    assert out["found_before"] is False  # no xlnapkin in that Python until main.py ran
    assert out["files"] and all(f.startswith(out["bundle"] + os.sep) for f in out["files"])
    assert out["bundle_ok"] and out["reused"]

    meta = {f["name"]: f for f in out["meta"]}
    assert sorted(meta) == sorted(functions)
    for name, (fn, summary, arg_docs, _) in functions.items():
        assert meta[name]["description"] == summary[:255], name
        params = meta[name].get("parameters", [])
        names = list(inspect.signature(fn).parameters)
        assert [p["name"] for p in params] == names, name
        assert [p["description"] for p in params] == [arg_docs.get(n, n)[:255] for n in names]
        assert all(p["dimensionality"] == "matrix" for p in params), name

    results = out["results"]
    assert results[-1] == {"error": "num_gpus must be a whole number in [1, 100000], got 0 "
                                    "(xlwings Lite reads an empty cell as 0: leave the argument "
                                    'out, or write ="" in the cell, for its default)'}
    for (call, want), got in zip(zeros, results[-1 - len(zeros):-1]):
        assert got == want, (call, got, want)
    for call, got in zip(calls[:-1 - len(zeros)], results):
        fn = functions[call["name"]][0]
        expected = as_range(fn(*call["args"]))
        got = [[got["error"]]] if isinstance(got, dict) else got
        assert got == expected, (call, got, expected)
