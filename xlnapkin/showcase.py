"""Build ``workbooks/functions_showcase.xlsx``: one sheet that uses xlnapkin's Excel functions.

The sheet has named inputs (blue) and four worked blocks: a GPU x batch table of
``TOKENS_PER_SEC``, a context sweep, a self-host vs API breakeven, and a model x context table of
``KV_BYTES`` written as one array formula. The formulas calculate in Excel with xlnapkin loaded
(classic xlwings or xlwings Lite). Every formula cell also carries its value, worked out here by
calling the same functions, so the file reads correctly in any spreadsheet program without the
add-in, and ``xlnapkin recalc`` can check it.

The file is reproducible: fixed document timestamps and zip entry times, so building twice gives
the same bytes. Rebuild with ``python -m xlnapkin.showcase``.

openpyxl is imported only when building.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from datetime import datetime
from pathlib import Path

from .errors import NapkinError

__all__ = ["DEFAULT_OUT", "REBUILD", "build", "build_bytes", "main"]

DEFAULT_OUT = Path("workbooks") / "functions_showcase.xlsx"
REBUILD = "python -m xlnapkin.showcase"
SHEET = "Showcase"
_FIXED_TIME = datetime(2025, 1, 1)
_ZIP_TIME = (2025, 1, 1, 0, 0, 0)

_BLUE = "0000FF"
_FMT = {"tps": "#,##0", "ms": "0.0", "gb": '#,##0.0,,," GB"', "usd": '"$"#,##0.00',
        "usd0": '"$"#,##0', "count": "#,##0", "share": "0%", "int": "0"}

_GPUS = ["h100-sxm", "h200-sxm", "b200", "mi300x", "a100-sxm-80gb", "l40s"]
_BATCHES = [1, 8, 32, 64, 128]
_CONTEXTS = [1024, 4096, 16384, 32768, 65536, 131072]
_KV_MODELS = ["llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "qwen2.5-32b", "mixtral-8x7b",
              "gemma-3-27b", "gpt-oss-120b", "deepseek-v3"]
_KV_CONTEXTS = [1024, 8192, 32768, 131072]


class _Sheet:
    """Writes cells and keeps the value of each, working formulas out with the registry."""

    def __init__(self, wb, ws, functions):
        self.wb, self.ws, self.functions = wb, ws, functions
        self.values: dict[str, object] = {}
        self.names: dict[str, str] = {}

    def text(self, cell, value, *, bold=False, italic=False, size=None):
        from openpyxl.styles import Font
        self.ws[cell] = value
        self.ws[cell].font = Font(bold=bold, italic=italic, size=size)
        self.ws[cell].data_type = "s"  # text is never read as a formula
        self.values[cell] = value

    def input(self, cell, value, fmt=None, name=None):
        from openpyxl.styles import Font
        self.ws[cell] = value
        self.ws[cell].font = Font(color=_BLUE)
        if fmt:
            self.ws[cell].number_format = _FMT[fmt]
        self.values[cell] = value
        if name:
            self._name(name, cell)

    def formula(self, cell, text, fmt=None, name=None, value=None):
        """A formula cell. Its value is worked out from ``text`` when it is one call of an
        xlnapkin function; other formulas pass ``value``."""
        self.ws[cell] = text
        if fmt:
            self.ws[cell].number_format = _FMT[fmt]
        self.values[cell] = self._call(text) if value is None else value
        if name:
            self._name(name, cell)
        return self.values[cell]

    def array(self, ref, text, fmt=None):
        """An array formula over ``ref`` (works in every Excel version, and spills nothing)."""
        from openpyxl.worksheet.formula import ArrayFormula
        first, last = ref.split(":")
        cells = _cells(first, last)
        rows = self._call(text)
        for r, row in enumerate(cells):
            for c, cell in enumerate(row):
                # Excel stores the formula on the first cell and each cell's value; openpyxl
                # writes a cell only when it has content, so the others get a placeholder
                # that the cached values replace.
                self.ws[cell] = ArrayFormula(ref, text) if (r, c) == (0, 0) else 0
                if fmt:
                    self.ws[cell].number_format = _FMT[fmt]
                self.values[cell] = rows[r][c]

    def _name(self, name, cell):
        from openpyxl.workbook.defined_name import DefinedName
        col, row = re.match(r"([A-Z]+)(\d+)", cell).groups()
        self.wb.defined_names[name] = DefinedName(name, attr_text=f"{SHEET}!${col}${row}")
        self.names[name] = cell

    def _arg(self, arg):
        from ._formula import Reference
        if not isinstance(arg, Reference):
            return arg
        ref = arg.replace("$", "")
        if ref in self.names:
            return self.values[self.names[ref]]
        if ":" in ref:
            return [[self.values.get(c) for c in row] for row in _cells(*ref.split(":"))]
        return self.values.get(ref)

    def _call(self, text):
        from ._formula import parse_formula
        name, args = parse_formula(text)
        if name not in self.functions:
            raise NapkinError(f"the showcase uses {name}, which is not registered in "
                              "xlnapkin.udfs")
        return self.functions[name](*(self._arg(a) for a in args))


def _cells(first: str, last: str) -> list[list[str]]:
    from openpyxl.utils import get_column_letter, column_index_from_string
    c0, r0 = re.match(r"([A-Z]+)(\d+)", first).groups()
    c1, r1 = re.match(r"([A-Z]+)(\d+)", last).groups()
    cols = range(column_index_from_string(c0), column_index_from_string(c1) + 1)
    return [[f"{get_column_letter(c)}{r}" for c in cols] for r in range(int(r0), int(r1) + 1)]


def _col(i: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(i)


def _fill(s: _Sheet, version: str) -> None:
    s.text("A1", "xlnapkin: the Excel functions at work", bold=True, size=14)
    s.text("A2", "Blue cells are inputs (named cells: change them and everything follows); black "
                 "cells are formulas calling xlnapkin's functions. They calculate in Excel with "
                 "xlnapkin loaded (classic xlwings on Windows, or xlwings Lite): see "
                 "docs/getting-started-analyst.md.")
    s.text("A3", f"The values saved in this file were calculated by xlnapkin {version}, so it "
                 "reads correctly anywhere. Without Excel: xlnapkin recalc "
                 "workbooks/functions_showcase.xlsx --set batch=64", italic=True)

    s.text("A5", "Inputs", bold=True)
    inputs = [("model", "llama-3.1-70b", None, "model catalog id or spec string"),
              ("gpu", "h100-sxm", None, "GPU for the context sweep and the breakeven"),
              ("num_gpus", 2, "int", "GPUs per replica (tensor parallel)"),
              ("weight_dtype", "fp8", None, "weight element type"),
              ("kv_dtype", "fp8", None, "KV-cache element type"),
              ("context", 4096, "count", "tokens held by each sequence"),
              ("batch", 32, "count", "sequences decoded together")]
    row = 6
    for name, value, fmt, note in inputs:
        s.text(f"A{row}", name)
        s.input(f"B{row}", value, fmt, name=name)
        s.text(f"C{row}", note, italic=True)
        row += 1

    row += 1
    s.text(f"A{row}", "At a glance", bold=True)
    glance = [("weights", "=WEIGHT_BYTES(model,weight_dtype)", "gb", "weight_bytes"),
              ("KV cache of the batch", "=KV_BYTES(model,context,batch,kv_dtype)", "gb",
               "kv_bytes"),
              ("GPUs needed for weights + KV",
               "=GPUS_NEEDED(gpu,model,weight_dtype,context,batch,kv_dtype)", "int",
               "gpus_needed"),
              ("most sequences that fit", "=MAX_BATCH(gpu,model,context,weight_dtype,kv_dtype,"
               "num_gpus)", "count", "max_batch"),
              ("GPU memory, GB", '=GPU_SPEC(gpu,"memory_gb")', "count", None),
              ("model parameters, billions", '=MODEL_SPEC(model,"params_b")', "count", None),
              ("xlnapkin version", "=NAPKIN_VERSION()", None, None)]
    for label, text, fmt, name in glance:
        row += 1
        s.text(f"A{row}", label)
        s.formula(f"B{row}", text, fmt, name=name)

    # 1. GPU x batch
    row += 2
    s.text(f"A{row}", "1. Decode tokens/s of one replica, GPU x batch", bold=True)
    head = row + 1
    s.text(f"C{row}", f"B{head + 1} is =TOKENS_PER_SEC($A{head + 1},model,B${head},context,"
                      "weight_dtype,kv_dtype,num_gpus), copied across and down; a "
                      "configuration that does not fit says what would", italic=True)
    s.text(f"A{head}", "gpu \\ batch", bold=True)
    for j, batch in enumerate(_BATCHES):
        s.input(f"{_col(2 + j)}{head}", batch, "count")
    for i, gpu in enumerate(_GPUS):
        r = head + 1 + i
        s.input(f"A{r}", gpu)
        for j in range(len(_BATCHES)):
            col = _col(2 + j)
            s.formula(f"{col}{r}", f"=TOKENS_PER_SEC($A{r},model,{col}${head},context,"
                                   "weight_dtype,kv_dtype,num_gpus)", "tps")
    row = head + len(_GPUS)

    # 2. Context sweep
    row += 2
    s.text(f"A{row}", "2. Context sweep on gpu at batch", bold=True)
    head = row + 1
    for j, label in enumerate(["context", "tokens/s", "ITL, ms", "TTFT, ms (batch 1)",
                               "KV per sequence", "max batch"]):
        s.text(f"{_col(1 + j)}{head}", label, bold=True)
    for i, ctx in enumerate(_CONTEXTS):
        r = head + 1 + i
        s.input(f"A{r}", ctx, "count")
        s.formula(f"B{r}", f"=TOKENS_PER_SEC(gpu,model,batch,$A{r},weight_dtype,kv_dtype,"
                           "num_gpus)", "tps")
        s.formula(f"C{r}", f"=ITL_MS(gpu,model,batch,$A{r},weight_dtype,kv_dtype,num_gpus)",
                  "ms")
        s.formula(f"D{r}", f"=TTFT_MS(gpu,model,1,$A{r},weight_dtype,kv_dtype,num_gpus)", "ms")
        s.formula(f"E{r}", f"=KV_BYTES(model,$A{r},1,kv_dtype)", "gb")
        s.formula(f"F{r}", f"=MAX_BATCH(gpu,model,$A{r},weight_dtype,kv_dtype,num_gpus)",
                  "count")
    row = head + len(_CONTEXTS)

    # 3. Breakeven
    row += 2
    s.text(f"A{row}", "3. Self-hosting one replica vs an API, per million output tokens",
           bold=True)
    row += 1
    s.text(f"A{row}", "GPU price per hour")
    price = s.formula(f"B{row}", '=GPU_SPEC(gpu,"cloud_usd_per_hour")', "usd",
                      name="gpu_price_per_hour")
    s.text(f"C{row}", "the catalog's cloud price; type a number over it to use your own",
           italic=True)
    row += 1
    s.text(f"A{row}", "utilization")
    s.input(f"B{row}", 0.7, "share", name="utilization")
    s.text(f"C{row}", "share of paid hours the replica is busy", italic=True)
    row += 1
    s.text(f"A{row}", "API price per million output tokens")
    s.input(f"B{row}", 0.79, "usd", name="api_price_per_mtok")
    s.text(f"C{row}", "e.g. a hosted Llama 3.3 70B (groq-llama-3.3-70b in prices.csv)",
           italic=True)
    row += 1
    s.text(f"A{row}", "replica tokens/s at batch and context")
    tps = s.formula(f"B{row}", "=TOKENS_PER_SEC(gpu,model,batch,context,weight_dtype,kv_dtype,"
                               "num_gpus)", "tps", name="replica_tokens_per_sec")
    row += 1
    s.text(f"A{row}", "self-hosted USD per million tokens")
    s.formula(f"B{row}", "=COST_PER_MTOK(gpu_price_per_hour,replica_tokens_per_sec,utilization,"
                         "num_gpus)", "usd", name="self_host_cost_per_mtok")
    row += 1
    s.text(f"A{row}", "self-hosted USD per month (730 h)")
    s.formula(f"B{row}", "=gpu_price_per_hour*num_gpus*730", "usd0",
                        name="self_host_monthly_cost",
                        value=_product(price, s.values[s.names["num_gpus"]], 730))
    row += 1
    s.text(f"A{row}", "breakeven output tokens per day")
    breakeven = s.formula(f"B{row}", "=BREAKEVEN_TOKENS_PER_DAY(self_host_monthly_cost,"
                                     "api_price_per_mtok)", "count",
                          name="breakeven_tokens_per_day")
    row += 1
    s.text(f"A{row}", "one replica's output tokens per day")
    capacity = s.formula(f"B{row}", "=replica_tokens_per_sec*86400*utilization", "count",
                         name="replica_tokens_per_day",
                         value=_product(tps, 86400, s.values[s.names["utilization"]]))
    row += 1
    s.text(f"A{row}", "verdict")
    cheaper = "self-hosting wins above the breakeven volume"
    dearer = "the API is cheaper at any volume one replica can serve"
    verdict = (cheaper if _numbers(breakeven, capacity) and breakeven <= capacity else dearer)
    s.formula(f"B{row}", f'=IF(breakeven_tokens_per_day<=replica_tokens_per_day,"{cheaper}",'
                         f'"{dearer}")', name="verdict", value=verdict)

    # 4. KV bytes, model x context, one array formula
    row += 2
    s.text(f"A{row}", "4. KV cache per sequence, model x context (kv_dtype)", bold=True)
    head = row + 1
    first, last = f"A{head + 1}", f"A{head + len(_KV_MODELS)}"
    hfirst, hlast = f"B{head}", f"{_col(1 + len(_KV_CONTEXTS))}{head}"
    s.text(f"C{row}", f"one array formula: {{=KV_BYTES({first}:{last},{hfirst}:{hlast},1,"
                      "kv_dtype)}", italic=True)
    s.text(f"A{head}", "model \\ context", bold=True)
    for j, ctx in enumerate(_KV_CONTEXTS):
        s.input(f"{_col(2 + j)}{head}", ctx, "count")
    for i, model in enumerate(_KV_MODELS):
        s.input(f"A{head + 1 + i}", model)
    ref = f"B{head + 1}:{_col(1 + len(_KV_CONTEXTS))}{head + len(_KV_MODELS)}"
    s.array(ref, f"=KV_BYTES({first}:{last},{hfirst}:{hlast},1,kv_dtype)", "gb")

    s.ws.column_dimensions["A"].width = 38
    for j in range(2, 8):
        s.ws.column_dimensions[_col(j)].width = 16


def _numbers(*values) -> bool:
    return all(isinstance(v, (int, float)) for v in values)


def _product(*values):
    """Excel's ``a*b*c``: a number, or #VALUE! when one of them is a message."""
    if not _numbers(*values):
        return "#VALUE!"
    out = 1.0
    for v in values:
        out *= v
    return out


def build_bytes() -> bytes:
    """The showcase workbook as bytes (the same bytes every time for the same code and data)."""
    try:
        from openpyxl import Workbook
    except ImportError:
        raise NapkinError("building the showcase needs openpyxl: pip install openpyxl") from None
    from . import __version__
    from .catalog import USER_CATALOG_ENV
    from .docgen import functions
    from .recalc import write_cell_values
    import os

    saved = os.environ.pop(USER_CATALOG_ENV, None)  # built from the package's own catalog
    try:
        wb = Workbook()
        ws = wb.active
        ws.title = SHEET
        sheet = _Sheet(wb, ws, functions())
        _fill(sheet, __version__)
    finally:
        if saved is not None:
            os.environ[USER_CATALOG_ENV] = saved
    wb.properties.creator = "xlnapkin"
    wb.properties.title = "xlnapkin functions showcase"
    wb.properties.created = _FIXED_TIME
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    arrays = _array_cells(ws)
    formulas = {c: v for c, v in sheet.values.items() if ws[c].data_type == "f" or c in arrays}
    core = _fixed_core(data)
    out, missing = write_cell_values(data, {SHEET: formulas},
                                     replace_parts={"docProps/core.xml": core},
                                     date_time=_ZIP_TIME)
    if missing:
        raise NapkinError(f"showcase cells missing from the file: {missing}")
    return out


def _array_cells(ws) -> set:
    from openpyxl.worksheet.formula import ArrayFormula
    found = set()
    for row in ws.iter_rows():
        for c in row:
            if isinstance(c.value, ArrayFormula):
                found.update(x for r in _cells(*c.value.ref.replace("$", "").split(":"))
                             for x in r)
    return found


def _fixed_core(data: bytes) -> bytes:
    import zipfile
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        core = z.read("docProps/core.xml").decode("utf-8")
    stamp = _FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    core = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                  lambda m: m.group(1) + stamp + m.group(3), core)
    return core.encode("utf-8")


def build(out=DEFAULT_OUT) -> Path:
    """Write the showcase workbook to ``out`` (replacing it: it is a build output)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(build_bytes())
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xlnapkin.showcase",
                                     description="Build the functions showcase workbook.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="FILE",
                        help="where to write it (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        path = build(args.out)
    except NapkinError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
