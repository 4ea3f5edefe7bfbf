"""Register xlnapkin.udfs through xlwings' own Office.js decorators (the code path xlwings Lite
runs) and check the function metadata Excel would receive and one call through it.

That path is xlwings PRO code, usable here only with the PolyForm-Noncommercial licence key, so the
test is opt-in: set XLNAPKIN_TEST_LITE=1 to run it (we ran it before each release; see
docs/getting-started-analyst.md). It runs in a subprocess because the decorators are chosen when
xlwings is first imported.
"""

import inspect
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(os.environ.get("XLNAPKIN_TEST_LITE") != "1",
                                reason="opt-in: set XLNAPKIN_TEST_LITE=1 (uses xlwings' "
                                       "noncommercial licence key)")

PROBE = r"""
import asyncio, json
import xlwings as xw, xlwings.server as srv
import xlnapkin.udfs as u
meta = srv.custom_functions_meta(u)["functions"]
async def call(name, args):
    return await srv.custom_functions_call({"func_name": name, "args": args,
        "version": xw.__version__, "client": "Office.js", "runtime": "1.4"}, u)
table = asyncio.run(call("TOKENS_PER_SEC", [[["h100-sxm"]], [["llama-3.1-8b"]], [[1], [8]],
                                            [[1024, 4096]]]))
try:
    asyncio.run(call("TOKENS_PER_SEC", [[["h10"]], [["llama-3.1-8b"]]]))
    error = None
except Exception as exc:
    error = str(exc)
print(json.dumps({"meta": meta, "table": table, "error": error}))
"""


def test_lite_registers_every_function_with_wizard_text():
    env = dict(os.environ, XLWINGS_ON_SERVER="true", XLWINGS_LICENSE_KEY="noncommercial")
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                         check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    from xlnapkin import _excel, udfs
    by_name = {f["name"]: f for f in result["meta"]}
    assert set(by_name) == set(_excel.REGISTRY)
    for name, fn in _excel.REGISTRY.items():
        docs = _excel.parse_docstring(fn.__doc__)
        meta = by_name[name]
        assert meta["description"] == docs.summary
        params = [p["name"] for p in meta.get("parameters", [])]
        assert params == list(inspect.signature(fn).parameters)
        for p in meta.get("parameters", []):
            assert p["description"] == docs.args[p["name"]]
            assert p["dimensionality"] == "matrix"
    assert result["table"] == udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", [[1], [8]],
                                                  [[1024, 4096]])
    assert result["error"] == "unknown gpu 'h10': did you mean h100-sxm, h100-nvl, h100-pcie?"
