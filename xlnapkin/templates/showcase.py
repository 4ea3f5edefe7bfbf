"""The functions showcase (``workbooks/functions_showcase.xlsx``): one sheet that uses xlnapkin's
Excel functions, built with the templates by ``xlnapkin templates build``.

The sheet has named inputs (yellow) and four worked blocks: a GPU x batch table of
``TOKENS_PER_SEC``, a context sweep, a self-host vs API breakeven, and a model x context table of
``KV_BYTES``, one formula per cell. The formulas calculate in Excel with xlnapkin loaded
(classic xlwings or xlwings Lite). Every formula cell also carries the value xlnapkin computed
when the file was built, so a program that opens it without recalculating shows those values;
one that recalculates without the add-in shows ``#NAME?``, and the sheet says so. No defined name
is also a function name (LibreOffice would read ``=WEIGHT_BYTES(...)`` as the name).
"""

from __future__ import annotations

import re
from pathlib import Path

from openpyxl.styles import Alignment

from .. import catalog
from ..economics import HOURS_PER_MONTH, PLANNED_UTILIZATION
from ..errors import NapkinError
from . import _book, _style as st

__all__ = ["FILENAME", "SHEET", "build"]

FILENAME = "functions_showcase.xlsx"
SHEET = "Showcase"
_NO_PRICE = "no GPU price: type one above"
SHOWCASE_API = "groq-llama-3.3-70b"  # the API section's prices: a hosted Llama 3.3 70B

_FMT = {"tps": "#,##0", "ms": "#,##0.0", "gb": '#,##0.00,,," GB"', "usd": '"$"#,##0.00',
        "usd4": st.FMT["usd4"],  # $ per million tokens: four places under $1
        "usd0": '"$"#,##0', "count": "#,##0", "share": "0%", "int": "0", "num1": "#,##0.0"}

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
        st.put_text(self.ws[cell], value, Font(name="Calibri", bold=bold, italic=italic,
                                               size=size or 10))
        self.values[cell] = value

    def input(self, cell, value, fmt=None, name=None):
        if isinstance(value, str):
            st.put_text(self.ws[cell], value, st.INPUT_FONT)
        else:
            self.ws[cell] = value
            self.ws[cell].font = st.INPUT_FONT
        self.ws[cell].fill = st.INPUT_FILL
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

    def _name(self, name, cell):
        from openpyxl.workbook.defined_name import DefinedName
        col, row = re.match(r"([A-Z]+)(\d+)", cell).groups()
        self.wb.defined_names[name] = DefinedName(name, attr_text=f"{SHEET}!${col}${row}")
        self.names[name] = cell

    def _arg(self, arg):
        from .._formula import Reference
        if not isinstance(arg, Reference):
            return arg
        ref = arg.replace("$", "")
        if ref in self.names:
            return self.values[self.names[ref]]
        if ":" in ref:
            return [[self.values.get(c) for c in row] for row in _cells(*ref.split(":"))]
        return self.values.get(ref)

    def _call(self, text):
        from .._formula import parse_formula
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
    s.text("A2", "Yellow cells are inputs (the named inputs and each table's headers: change "
                 "them and everything follows); black "
                 "cells are formulas calling xlnapkin's functions. They need xlnapkin loaded in "
                 "Excel (classic xlwings on Windows, or xlwings Lite): see "
                 "docs/getting-started-analyst.md.")
    s.text("A3", f"The black cells hold the values xlnapkin {version} calculated when this file "
                 "was built; a program without xlnapkin shows them until it recalculates, then "
                 "shows #NAME?. Without Excel, in a clone: uv run --extra recalc xlnapkin recalc "
                 "workbooks/functions_showcase.xlsx --set batch=64", italic=True)
    for cell in ("A2", "A3"):
        s.ws.merge_cells(f"{cell}:G{cell[1]}")
        s.ws[cell].alignment = st.WRAP
        s.ws.row_dimensions[int(cell[1])].height = 27
    row = _inputs(s, 5)
    row = _glance(s, row + 1)
    row = _gpu_by_batch(s, row + 2)
    row = _context_sweep(s, row + 2)
    row = _breakeven(s, row + 2)
    row = _kv_table(s, row + 2)
    s.ws.column_dimensions["A"].width = 36
    for j in range(2, 8):
        s.ws.column_dimensions[_col(j)].width = 14
    _fit_messages(s)
    st.print_setup(s.ws, f"A1:G{row}")


def _fit_messages(s) -> None:
    """Rows where a function's saved value is a long message (a configuration that does not
    fit) are made tall enough for it to wrap inside its cell (about 13 characters a line,
    words kept whole; at 11 lines the longest, 177 characters, was cut). Only those cells wrap:
    a message that other inputs bring is cut at its cell's edge, where a wrapping cell in a
    row of no set height printed over the rows below (an analyst's audit)."""
    for cell, value in s.values.items():
        formula = s.ws[cell].value
        if isinstance(value, str) and len(value) > 20 and isinstance(formula, str) \
                and re.match(r"=[A-Z_]+\(", formula) and not formula.startswith("=IF("):
            row = int(re.match(r"[A-Z]+(\d+)", cell).group(1))
            lines = min(16, 1 + -(-len(value) // 13))
            current = s.ws.row_dimensions[row].height or 0
            s.ws.row_dimensions[row].height = max(current, 12.5 * lines)
            s.ws[cell].alignment = st.WRAP
            for other in s.ws[row]:  # labels and numbers at the top, beside the message
                a = other.alignment
                other.alignment = Alignment(horizontal=a.horizontal, vertical="top",
                                            wrap_text=a.wrap_text, indent=a.indent)


def _inputs(s, row) -> int:
    s.text(f"A{row}", "Inputs", bold=True)
    inputs = [("model", "llama-3.1-70b", None, "model catalog id or spec string"),
              ("gpu", "h100-sxm", None, "GPU for the context sweep and the breakeven"),
              ("num_gpus", 2, "int", "GPUs per replica (tensor parallel)"),
              ("weight_dtype", "fp8", None, "weight element type"),
              ("kv_dtype", "fp8", None, "KV-cache element type"),
              ("context", 4096, "count", "tokens held by each sequence"),
              ("batch", 32, "count", "sequences decoded together")]
    for name, value, fmt, note in inputs:
        row += 1
        s.text(f"A{row}", name)
        s.input(f"B{row}", value, fmt, name=name)
        s.text(f"C{row}", note, italic=True)
    return row


def _glance(s, row) -> int:
    s.text(f"A{row}", "At a glance", bold=True)
    glance = [("weights", "=WEIGHT_BYTES(model,weight_dtype)", "gb", "weights"),
              ("KV cache of the batch", "=KV_BYTES(model,context,batch,kv_dtype)", "gb",
               "kv_cache"),
              ("GPUs needed for weights + KV",
               "=GPUS_NEEDED(gpu,model,weight_dtype,context,batch,kv_dtype)", "int",
               "gpus_for_batch"),
              ("most sequences that fit", "=MAX_BATCH(gpu,model,context,weight_dtype,kv_dtype,"
               "num_gpus)", "count", "sequences_that_fit"),
              ("GPU memory, GB", '=GPU_SPEC(gpu,"memory_gb")', "count", None),
              ("model parameters, billions", '=MODEL_SPEC(model,"params_b")', "num1", None),
              ("xlnapkin version", "=NAPKIN_VERSION()", None, None)]
    for label, text, fmt, name in glance:
        row += 1
        s.text(f"A{row}", label)
        s.formula(f"B{row}", text, fmt, name=name)
    return row


def _title(s, cell, formula, value) -> None:
    """A block's title that names its inputs' values (a formula, its value kept)."""
    from openpyxl.styles import Font
    s.formula(cell, formula, value=value)
    s.ws[cell].font = Font(name="Calibri", bold=True, size=10)


def _gpu_by_batch(s, row) -> int:
    n = s.values[s.names["num_gpus"]]
    _title(s, f"A{row}", '="1. Decode tokens/s of one replica of "&num_gpus&" GPUs, GPU x batch"',
           f"1. Decode tokens/s of one replica of {n} GPUs, GPU x batch")
    head = row + 1
    s.text(f"C{row}", f"B{head + 1}: =TOKENS_PER_SEC($A{head + 1},model,B${head},context,"
                      "weight_dtype,kv_dtype,num_gpus)", italic=True)
    return _grid(s, head, "gpu \\ batch", _BATCHES, _GPUS,
                 "=TOKENS_PER_SEC($A{r},model,{col}${head},context,weight_dtype,kv_dtype,"
                 "num_gpus)", "tps")


def _context_sweep(s, row) -> int:
    v = s.values
    _title(s, f"A{row}", '="2. Context sweep on "&gpu&" at batch "&batch',
           f"2. Context sweep on {v[s.names['gpu']]} at batch {v[s.names['batch']]}")
    head = row + 1
    for j, label in enumerate(["context", "tokens/s", "ITL, ms", "TTFT, ms (batch 1)",
                               "KV per sequence", "max batch"]):
        s.text(f"{_col(1 + j)}{head}", label, bold=True)
        s.ws[f"{_col(1 + j)}{head}"].alignment = st.WRAP
    s.ws.row_dimensions[head].height = 25  # two lines: "TTFT, ms (batch 1)" wraps
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
    return head + len(_CONTEXTS)


def _breakeven(s, row) -> int:
    """Self-hosting one replica against an API on the same tokens: the replica at full load
    (prompts included) and the planned utilization, the API's input and output prices blended
    in the request's proportions, and the volume from which whole replicas cost less."""
    s.text(f"A{row}", "3. Self-hosting one replica vs an API, per million tokens (input + output)",
           bold=True)
    s.text(f"A{row + 1}", "The replica at full load (MAX_THROUGHPUT, prompts included) and the "
                          "planned utilization, not at the batch above.", italic=True)
    row += 1
    v = lambda name: s.values[s.names[name]]  # noqa: E731 - a value by its defined name
    api = catalog.price(SHOWCASE_API)
    rows = [("GPU price per hour", '=GPU_SPEC(gpu,"cloud_usd_per_hour")', "usd",
             "gpu_price_per_hour", "the catalog's cloud price (blank: none); yellow: type "
             "yours over the formula"),
            ("utilization", PLANNED_UTILIZATION, "share", "utilization",
             "share of paid hours the replica is busy"),
            ("prompt tokens per request", 1024, "count", "input_tokens", ""),
            ("output tokens per request", 1024, "count", "output_tokens", ""),
            ("API price per million input tokens", api.input_usd_per_mtok, "usd4",
             "api_price_in_per_mtok", f"a hosted Llama 3.3 70B ({api.id} in prices.csv)"),
            ("API price per million output tokens", api.output_usd_per_mtok, "usd4",
             "api_price_out_per_mtok", ""),
            ("replica output tokens/s under load", "=MAX_THROUGHPUT(gpu,model,input_tokens,"
             "output_tokens,weight_dtype,kv_dtype,num_gpus)", "tps", "replica_output_tps",
             "prompts included"),
            ("replica tokens/s, input + output",
             "=replica_output_tps*(input_tokens+output_tokens)/output_tokens", "tps",
             "replica_tps", "plain arithmetic"),
            ("self-hosted USD per million tokens", "=COST_PER_MTOK(gpu_price_per_hour,"
             "replica_tps,utilization,num_gpus)", "usd4", "cost_per_mtok_self_hosted",
             "input + output; = SELF_HOST_COST_PER_MTOK in one call"),
            ("input share of the tokens", "=input_tokens/(input_tokens+output_tokens)", "share",
             "input_share", "plain arithmetic"),
            ("API USD per million tokens, blended", "=BLENDED_PRICE(api_price_in_per_mtok,"
             "api_price_out_per_mtok,input_share)", "usd4", "api_blended_price", "the same mix"),
            (f"one replica's GPUs per month ({HOURS_PER_MONTH:g} h)",
             # a GPU the catalog has no price for says so (an analyst's audit: b300 gave
             # "replica_monthly_cost must be a number, got '#VALUE!'" two rows down)
             f'=IF(ISNUMBER(gpu_price_per_hour),gpu_price_per_hour*num_gpus*{HOURS_PER_MONTH:g},'
             f'"{_NO_PRICE}")', "usd0",
             "monthly_gpu_bill", "plain arithmetic"),
            ("one replica's tokens per day", "=REPLICA_TOKENS_PER_DAY(replica_tps,utilization)",
             "count", "replica_daily_tokens", "at the utilization"),
            ("breakeven tokens per day", "=FLEET_BREAKEVEN_TOKENS_PER_DAY(monthly_gpu_bill,"
             "replica_daily_tokens,api_blended_price)", "count", "breakeven_volume",
             "whole replicas: the least volume at which they cost no more than the API")]
    # the values of the plain-arithmetic formulas (xlnapkin calls are worked out from their text)
    plain = {"replica_tps": lambda: _product(v("replica_output_tps"), (
                 v("input_tokens") + v("output_tokens")) / v("output_tokens")),
             "input_share": lambda: v("input_tokens") / (v("input_tokens") + v("output_tokens")),
             "monthly_gpu_bill": lambda: (_product(v("gpu_price_per_hour"), v("num_gpus"),
                                                    HOURS_PER_MONTH)
                                          if _numbers(v("gpu_price_per_hour")) else _NO_PRICE)}
    for label, value, fmt, name, note in rows:
        row += 1
        s.text(f"A{row}", label)
        if isinstance(value, str) and value.startswith("="):
            s.formula(f"B{row}", value, fmt, name=name,
                      value=plain[name]() if name in plain else None)
            if name == "gpu_price_per_hour":  # a default you may type over: an input's colours
                s.ws[f"B{row}"].font, s.ws[f"B{row}"].fill = st.INPUT_FONT, st.INPUT_FILL
        else:
            s.input(f"B{row}", value, fmt, name=name)
        if note:
            s.text(f"C{row}", note, italic=True)
    row += 1
    be, own, api = v("breakeven_volume"), v("cost_per_mtok_self_hosted"), v("api_blended_price")
    cheaper = "self-hosting costs less per token: it pays from the breakeven volume"
    dearer = "the API costs less per token at any volume"
    missing = "no verdict: a figure above is missing (a price?)"
    s.text(f"A{row}", "verdict")
    s.formula(f"B{row}", f'=IF(ISNUMBER(breakeven_volume),"{cheaper}",IF(AND(ISNUMBER('
                         f'cost_per_mtok_self_hosted),ISNUMBER(api_blended_price)),"{dearer}",'
                         f'"{missing}"))', name="verdict",
              value=cheaper if _numbers(be) else dearer if _numbers(own, api) else missing)
    return row


def _kv_table(s, row) -> int:
    kv = s.values[s.names["kv_dtype"]]
    _title(s, f"A{row}", '="4. KV cache per sequence, model x context, KV in "&IF(kv_dtype="",'
           '"bf16 (blank)",kv_dtype)', "4. KV cache per sequence, model x context, KV in "
           + (kv or "bf16 (blank)"))
    head = row + 1
    first, last = f"A{head + 1}", f"A{head + len(_KV_MODELS)}"
    hfirst, hlast = f"B{head}", f"{_col(1 + len(_KV_CONTEXTS))}{head}"
    end = _grid(s, head, "model \\ context", _KV_CONTEXTS, _KV_MODELS,
                "=KV_BYTES($A{r},{col}${head},1,kv_dtype)", "gb")
    note = f"A{end + 1}"
    s.text(note, f"B{head + 1} is =KV_BYTES($A{head + 1},B${head},1,kv_dtype). In an empty "
                 f"cell, =KV_BYTES({first}:{last},{hfirst}:{hlast},1,kv_dtype) fills a table "
                 "like it at once (it spills in Excel 365).", italic=True)
    s.ws.merge_cells(f"{note}:G{end + 1}")
    s.ws[note].alignment = st.WRAP
    s.ws.row_dimensions[end + 1].height = 27
    return end + 1


def _grid(s, head, corner, across, down, formula, fmt) -> int:
    """A table with ``across`` as input headers in row ``head``, ``down`` as input labels in
    column A below it, and ``formula`` (``{r}``, ``{col}``, ``{head}`` filled in) in every other
    cell. Returns its last row."""
    s.text(f"A{head}", corner, bold=True)
    for j, value in enumerate(across):
        s.input(f"{_col(2 + j)}{head}", value, "count")
    for i, label in enumerate(down):
        r = head + 1 + i
        s.input(f"A{r}", label)
        for j in range(len(across)):
            col = _col(2 + j)
            s.formula(f"{col}{r}", formula.format(r=r, col=col, head=head), fmt)
    return head + len(down)


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


def build(out_dir) -> Path:
    """Write ``functions_showcase.xlsx`` into ``out_dir``, built from the package's own catalog
    (a user catalog is ignored) with every formula's value cached; return its path."""
    import os
    from openpyxl import Workbook
    from .. import __version__
    from ..catalog import USER_CATALOG_ENV
    from ..docgen import functions
    saved = os.environ.pop(USER_CATALOG_ENV, None)
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
    wb.calculation.fullCalcOnLoad = False  # show the cached values until asked to recalculate
    cached = {c: v for c, v in sheet.values.items() if ws[c].data_type == "f"}
    return _book.save(wb, Path(out_dir) / FILENAME, cached_values={SHEET: cached})
