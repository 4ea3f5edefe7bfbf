"""Shared pieces of the template workbooks: styles, the step-by-step layout, the Cover and
Catalog sheets, checks, and a byte-for-byte reproducible save.

Conventions every template follows:

* inputs are blue on a pale yellow fill and unlocked; formulas are black and locked; every sheet
  is protected without a password, so a user can unprotect it to change the model;
* every input, output and working step has a defined name (``weight_bytes``), so formulas read
  like the engine and tests find cells by name;
* text is always written as text (:func:`put_text`), never parsed as a formula;
* only functions that Excel 2007, LibreOffice and Google Sheets all calculate.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import Reference, ScatterChart, Series
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from .. import __version__, calibration, catalog
from ..units import DTYPE_BITS

# --- styles ------------------------------------------------------------------------------------

BLUE = "0000FF"
INPUT_FONT = Font(name="Calibri", size=10, color=BLUE, bold=True)
INPUT_FILL = PatternFill("solid", fgColor="FFF9DB")
FORMULA_FONT = Font(name="Calibri", size=10, color="000000")
OUTPUT_FONT = Font(name="Calibri", size=10, color="000000", bold=True)
OUTPUT_FILL = PatternFill("solid", fgColor="E2EFDA")
CHECK_FONT = Font(name="Calibri", size=10, color="C00000", bold=True)
TEXT_FONT = Font(name="Calibri", size=10)
NOTE_FONT = Font(name="Calibri", size=9, italic=True, color="595959")
TITLE_FONT = Font(name="Calibri", size=16, bold=True, color="1F3864")
HEAD_FONT = Font(name="Calibri", size=12, bold=True, color="1F3864")
COLHEAD_FONT = Font(name="Calibri", size=10, bold=True, color="FFFFFF")
COLHEAD_FILL = PatternFill("solid", fgColor="1F3864")
THIN = Side(style="thin", color="BFBFBF")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
UNLOCKED = Protection(locked=False)

# Number formats by kind of quantity.
FMT = {
    "int": "#,##0",
    "num": "#,##0.00",
    "num3": "#,##0.000",
    "sci": "0.000E+00",
    "usd": "$#,##0.00",
    "usd0": "$#,##0",
    "usd4": "$#,##0.0000",
    "pct": "0.0%",
    "gb": "#,##0.00",
    "ms": "#,##0.000",
    "s": "0.000E+00",
    "text": "@",
    "gen": "General",
}

FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
FIXED_DOC_TIME = "2020-01-01T00:00:00Z"

_CELL_REF = re.compile(r"^[A-Za-z]{1,3}[0-9]+$")
_NAME_OK = re.compile(r"^[a-z_][a-z0-9_]*$")


def check_name(name: str) -> str:
    """A defined name that every spreadsheet accepts: lower_snake, not a cell reference."""
    if not _NAME_OK.match(name) or _CELL_REF.match(name) or name in ("r", "c"):
        raise ValueError(f"bad defined name {name!r}")
    return name


def put_text(cell, text, font=TEXT_FONT):
    """Write ``text`` as a string even when it starts with '=' (never a formula)."""
    cell.value = "" if text is None else str(text)
    cell.data_type = "s"
    cell.font = font
    return cell


def define(wb: Workbook, name: str, sheet: str, ref: str) -> None:
    """Workbook-level defined name for an absolute reference such as ``$C$5`` or ``$A$2:$A$9``."""
    wb.defined_names[check_name(name)] = DefinedName(
        name, attr_text=f"{quote_sheetname(sheet)}!{ref}")


def absolute(col: int, row: int) -> str:
    return f"${get_column_letter(col)}${row}"


# --- step-by-step vertical blocks ----------------------------------------------------------------

@dataclass
class Block:
    """A vertical list of (label, value or formula, unit, note) rows on one sheet.

    Formulas are templates: ``{name}`` is replaced by the defined name ``name`` (every step is
    named), so a step can refer to any input or earlier step by name. Columns: label in
    ``col``, value in ``col + 1``, unit in ``col + 2``, note in ``col + 3``.
    """

    wb: Workbook
    ws: object
    row: int
    col: int = 2
    names: dict = field(default_factory=dict)

    @property
    def value_col(self) -> int:
        return self.col + 1

    def heading(self, text: str, note: str = "") -> None:
        self.row += 1
        put_text(self.ws.cell(self.row, self.col), text, HEAD_FONT)
        if note:
            put_text(self.ws.cell(self.row, self.col + 3), note, NOTE_FONT)
        self.row += 1

    def add(self, name, label, value, unit="", note="", fmt="num", kind="calc", options=None,
            validation=None):
        """One row. ``kind``: ``input`` (blue, unlocked), ``calc`` (black) or ``output``
        (bold, green fill). ``value``: a number/text for inputs, a formula template for the rest.
        """
        ws, r = self.ws, self.row
        put_text(ws.cell(r, self.col), label)
        cell = ws.cell(r, self.value_col)
        if kind == "input":
            if isinstance(value, str):
                put_text(cell, value, INPUT_FONT)
            else:
                cell.value = value
                cell.font = INPUT_FONT
            cell.fill = INPUT_FILL
            cell.protection = UNLOCKED
            if options:
                add_list_validation(ws, cell.coordinate, options, name)
            elif validation:
                add_number_validation(ws, cell.coordinate, name, *validation)
        else:
            cell.value = "=" + value.format_map(NameMap(self))
            cell.font = OUTPUT_FONT if kind == "output" else FORMULA_FONT
            if kind == "output":
                cell.fill = OUTPUT_FILL
        cell.number_format = FMT.get(fmt, fmt)
        cell.border = BOX
        # text results spill to the right over the (empty) unit and note cells
        cell.alignment = Alignment(horizontal="left" if fmt in ("text", "gen") and
                                   kind != "input" else "right")
        if unit:
            put_text(ws.cell(r, self.col + 2), unit)
        if note:
            put_text(ws.cell(r, self.col + 3), note, NOTE_FONT)
        if name:
            define(self.wb, name, ws.title, absolute(self.value_col, r))
            self.names[name] = cell.coordinate
        self.row += 1
        return cell

    def text(self, text: str, font=NOTE_FONT) -> None:
        put_text(self.ws.cell(self.row, self.col), text, font)
        self.row += 1


class NameMap(dict):
    """``str.format_map`` helper: ``{name}`` stays the defined name, checked to exist."""

    def __init__(self, block):
        super().__init__()
        self.block = block

    def __missing__(self, key):
        # Checked when the workbook is saved, so steps may refer to later steps.
        refs = getattr(self.block.wb, "_xlnapkin_refs", set())
        refs.add(check_name(key))
        self.block.wb._xlnapkin_refs = refs
        return key


def mark_checks(ws, ref: str) -> None:
    """Check cells: green when they say OK, red (their own font) otherwise."""
    from openpyxl.formatting.rule import CellIsRule
    ws.conditional_formatting.add(ref, CellIsRule(operator="equal", formula=['"OK"'],
                                                  font=Font(color="008000", bold=True)))


def add_list_validation(ws, ref: str, source_name: str, what: str) -> None:
    dv = DataValidation(type="list", formula1=source_name, allow_blank=True,
                        showErrorMessage=True, errorStyle="warning",
                        errorTitle=f"{what}: not in the list",
                        error="Pick one from the list (or add a row to the Catalog sheet).")
    dv.add(ref)
    ws.add_data_validation(dv)


def add_number_validation(ws, ref: str, what: str, minimum, maximum=None, blank=False) -> None:
    if maximum is None:
        dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1=str(minimum))
        rule = f">= {minimum}"
    else:
        dv = DataValidation(type="decimal", operator="between", formula1=str(minimum),
                            formula2=str(maximum))
        rule = f"between {minimum} and {maximum}"
    dv.allow_blank = blank
    dv.showErrorMessage = True
    dv.errorStyle = "warning"
    dv.errorTitle = f"{what}: out of range"
    dv.error = f"{what} should be a number {rule}."
    dv.add(ref)
    ws.add_data_validation(dv)


# --- catalog sheet -------------------------------------------------------------------------------

GPU_NUMERIC = ["memory_gb", "mem_bw_tbps", "bf16_tflops", "fp8_tflops", "fp4_tflops",
               "int8_tops", "interconnect_gbps", "tdp_w", "cloud_usd_per_hour", "list_price_usd"]
MODEL_NUMERIC = ["params_b", "active_params_b", "layers", "hidden_size", "heads", "kv_heads",
                 "head_dim", "v_head_dim", "num_experts", "experts_per_token", "kv_lora_rank",
                 "qk_rope_head_dim", "attention_layers", "sliding_window",
                 "sliding_window_layers", "max_context"]
PRICE_NUMERIC = ["input_usd_per_mtok", "output_usd_per_mtok"]


def dtype_names() -> list[str]:
    return list(DTYPE_BITS)


def vendor_factors() -> list[tuple[str, float]]:
    """(vendor, multiplier on MBU and MFU) for every vendor in the GPU catalog."""
    vendors = []
    for g in catalog.gpus():
        if g.vendor and g.vendor not in vendors:
            vendors.append(g.vendor)
    return [(v, float(calibration.VENDOR_FACTOR.get(v.lower(), 1.0))) for v in vendors]


def catalog_sheet(wb: Workbook, parts=("gpu", "model", "price")) -> None:
    """The Catalog sheet: the package CSVs as tables (one name per id column and numeric
    column, e.g. ``gpu_ids``, ``gpu_memory_gb``), the dtype table and the vendor factors."""
    ws = wb.create_sheet("Catalog")
    put_text(ws.cell(1, 1), "Catalog (generated from the xlnapkin package data; edit a copy of "
             "a row to try your own numbers)", HEAD_FONT)
    put_text(ws.cell(2, 1), "Blank = not known / no native support (read as 0 by the formulas, "
             "which then fall back as the engine does). Units are in the column names; GB = 1e9 "
             "bytes. Sources: last columns, one per row.", NOTE_FONT)
    row = 4
    specs = {"gpu": ("GPUs", catalog.table("gpu"), GPU_NUMERIC, ["name", "vendor"]),
             "model": ("Models", catalog.table("model"), MODEL_NUMERIC, ["name"]),
             "price": ("API prices", catalog.table("price"), PRICE_NUMERIC,
                       ["provider", "model", "as_of"])}
    widths = {1: 22}
    for kind in parts:
        title, table, numeric, labels = specs[kind]
        header = table[0]
        cols = ["id"] + labels + numeric + ["source", "notes"]
        put_text(ws.cell(row, 1), title, HEAD_FONT)
        row += 1
        for j, c in enumerate(cols, start=1):
            cell = put_text(ws.cell(row, j), c, COLHEAD_FONT)
            cell.fill = COLHEAD_FILL
        first = row + 1
        for rec in table[1:]:
            row += 1
            values = dict(zip(header, rec))
            for j, c in enumerate(cols, start=1):
                v = values.get(c, "")
                cell = ws.cell(row, j)
                if c in numeric:
                    cell.value = None if v == "" else float(v)
                    cell.font = TEXT_FONT
                else:
                    put_text(cell, v)
                if c == "notes" or c == "source":
                    cell.alignment = Alignment(wrap_text=False)
        last = row
        define(wb, f"{kind}_ids", "Catalog", f"$A${first}:$A${last}")
        for j, c in enumerate(cols, start=1):
            if c in numeric or c == "vendor":
                define(wb, f"{kind}_{c}", "Catalog", f"${get_column_letter(j)}${first}:"
                       f"${get_column_letter(j)}${last}")
        for j in range(2, len(cols) + 1):
            widths[j] = max(widths.get(j, 0), 12)
        row += 3
    # dtype table
    put_text(ws.cell(row, 1), "Element types (bits per element; a number of bits also works)",
             HEAD_FONT)
    row += 1
    for j, c in enumerate(["dtype", "bits"], start=1):
        cell = put_text(ws.cell(row, j), c, COLHEAD_FONT)
        cell.fill = COLHEAD_FILL
    first = row + 1
    for name, bits in DTYPE_BITS.items():
        row += 1
        put_text(ws.cell(row, 1), name)
        ws.cell(row, 2, float(bits)).font = TEXT_FONT
    define(wb, "dtype_names", "Catalog", f"$A${first}:$A${row}")
    define(wb, "dtype_bits", "Catalog", f"$B${first}:$B${row}")
    row += 3
    put_text(ws.cell(row, 1), "Vendor efficiency factors (xlnapkin.calibration.VENDOR_FACTOR: "
             "multiplies calibrated MBU and MFU)", HEAD_FONT)
    row += 1
    for j, c in enumerate(["vendor", "factor"], start=1):
        cell = put_text(ws.cell(row, j), c, COLHEAD_FONT)
        cell.fill = COLHEAD_FILL
    first = row + 1
    for vendor, factor in vendor_factors():
        row += 1
        put_text(ws.cell(row, 1), vendor)
        ws.cell(row, 2, factor).font = TEXT_FONT
    define(wb, "vendor_names", "Catalog", f"$A${first}:$A${row}")
    define(wb, "vendor_factor_values", "Catalog", f"$B${first}:$B${row}")
    for j, w in widths.items():
        ws.column_dimensions[get_column_letter(j)].width = w
    ws.freeze_panes = "B4"
    ws.sheet_properties.tabColor = "808080"
    ws.protection.sheet = True  # read-only by default; unprotect (no password) to add rows
    print_setup(ws, f"A1:{get_column_letter(ws.max_column)}{ws.max_row}", fit_height=False)


# --- cover sheet ---------------------------------------------------------------------------------

SEED_SOURCES = [
    "Seed 000: Hacker News thread on the SGLang 96 x H100 DeepSeek serving post (fleet "
    "economics, utilization when provisioning for peaks)",
    "Seed 001: napkin math per user on a B200 with a 32 B model (ridge point, KV per user, "
    "users per GPU)",
    "Seed 002: enterprise economics of self-hosting (breakeven ~2 M tokens/day, continuous "
    "batching, quantization, $47K/month API bill)",
    "Seed 003: 'LLM Inference Cost: Tokens/Dollar' (cost per token, spot mixes, prefix caching, "
    "multi-tenancy)",
    "Seed 004: Xu's AI Newsletter 'Economics of LLM Serving', 2024-11-09 (H100 decode roofline, "
    "own vs rent)",
]


def cover_sheet(wb: Workbook, title: str, sections: list[tuple[str, list[str]]]) -> None:
    """The first sheet: title, then headed sections of short paragraphs (all plain text)."""
    ws = wb.active
    ws.title = "Cover"
    ws.column_dimensions["A"].width = 2
    ws.column_dimensions["B"].width = 120
    put_text(ws["B2"], title, TITLE_FONT)
    put_text(ws["B3"], f"xlnapkin {__version__} template workbook. Plain formulas only: no "
             "add-in, no macros, no external links. Blue cells are inputs; black cells are "
             "formulas (sheets are protected without a password).", NOTE_FONT)
    row = 5
    for head, lines in sections:
        put_text(ws.cell(row, 2), head, HEAD_FONT)
        row += 1
        for line in lines:
            c = put_text(ws.cell(row, 2), line)
            c.alignment = WRAP
            # ~120 characters per line at width 120
            ws.row_dimensions[row].height = 14 * max(1, -(-len(line) // 115))
            row += 1
        row += 1
    ws.sheet_view.showGridLines = False
    ws.protection.sheet = True
    print_setup(ws, f"A1:B{row}", landscape=False)


# --- charts, print setup, finishing --------------------------------------------------------------

def scatter_chart(title, x_title, y_title, x_ref, series, log_x=False, log_y=False,
                  width=22, height=12):
    """A scatter chart with straight lines; ``series`` is [(title_ref_or_text, y_ref)]."""
    ch = ScatterChart()
    ch.title = title
    ch.style = 2
    ch.x_axis.title = x_title
    ch.y_axis.title = y_title
    ch.x_axis.delete = False
    ch.y_axis.delete = False
    ch.width, ch.height = width, height
    ch.legend.position = "b"
    if log_x:
        ch.x_axis.scaling.logBase = 10
    if log_y:
        ch.y_axis.scaling.logBase = 10
    ch.x_axis.majorTickMark = "out"
    ch.y_axis.majorTickMark = "out"
    for name, y_ref in series:
        s = Series(y_ref, x_ref, title=name)
        s.marker.symbol = "none"
        s.smooth = False
        ch.series.append(s)
    return ch


def print_setup(ws, area: str, landscape=True, fit_height=False) -> None:
    ws.print_area = area
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0 if not fit_height else 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    ws.oddFooter.center.text = "&A - page &P of &N"


def protect(ws) -> None:
    """Protect formulas; inputs were unlocked as they were written. No password."""
    ws.protection.sheet = True
    ws.protection.formatColumns = False  # allow widening columns
    ws.protection.formatRows = False


_STRING = re.compile(r'"[^"]*"')
_IDENT = re.compile(r"(?<![A-Za-z0-9_.$!])([a-z_][a-z0-9_]*)(?![A-Za-z0-9_(!])")


def undefined_names(wb: Workbook) -> set[str]:
    """Lower-case identifiers in formulas (our defined names) that are not defined."""
    names = set(wb.defined_names)
    bad = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f" and isinstance(cell.value, str):
                    for ident in _IDENT.findall(_STRING.sub("", cell.value)):
                        if ident not in names:
                            bad.add(ident)
    return bad


def new_workbook() -> Workbook:
    wb = Workbook()
    wb.calculation.fullCalcOnLoad = True  # no cached values: recalculate on open everywhere
    wb.properties.creator = "xlnapkin"
    wb.properties.lastModifiedBy = "xlnapkin"
    return wb


def save_reproducible(wb: Workbook, path: Path) -> Path:
    """Save so that the same inputs give the same bytes: fixed document timestamps, fixed zip
    entry times, stable entry order and compression."""
    missing = set(n for n in getattr(wb, "_xlnapkin_refs", ()) if n not in wb.defined_names)
    missing |= undefined_names(wb)
    missing = sorted(missing)
    if missing:
        raise KeyError(f"formulas refer to undefined names: {', '.join(missing)}")
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "docProps/core.xml":
                text = data.decode("utf-8")
                text = re.sub(r"(<dcterms:created[^>]*>)[^<]*(<)", rf"\g<1>{FIXED_DOC_TIME}\g<2>",
                              text)
                text = re.sub(r"(<dcterms:modified[^>]*>)[^<]*(<)", rf"\g<1>{FIXED_DOC_TIME}\g<2>",
                              text)
                data = text.encode("utf-8")
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            info.create_system = 0
            dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())
    return path


def col_widths(ws, widths: dict) -> None:
    for col, w in widths.items():
        ws.column_dimensions[col if isinstance(col, str) else get_column_letter(col)].width = w


__all__ = ["Block", "put_text", "define", "catalog_sheet", "cover_sheet", "scatter_chart",
           "print_setup", "protect", "new_workbook", "save_reproducible", "FMT", "Reference",
           "SEED_SOURCES", "col_widths", "absolute", "check_name", "dtype_names",
           "vendor_factors", "add_list_validation", "add_number_validation", "INPUT_FONT",
           "INPUT_FILL", "FORMULA_FONT", "OUTPUT_FONT", "OUTPUT_FILL", "CHECK_FONT",
           "TEXT_FONT", "NOTE_FONT", "HEAD_FONT", "COLHEAD_FONT", "COLHEAD_FILL", "BOX",
           "UNLOCKED", "WRAP"]
