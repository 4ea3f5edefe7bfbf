"""Styles and layout primitives of the template workbooks: fonts and number formats, the named
step-by-step :class:`Block`, validations, charts, print setup and protection.

Conventions every template follows:

* inputs are blue on a pale yellow fill and unlocked; formulas are black and locked; every sheet
  is protected without a password, so a user can unprotect it to change the model;
* every input, output and working step has a defined name (``weight_bytes``), so formulas read
  like the engine and tests find cells by name;
* text reaches a cell only through :func:`put_text` (never parsed as a formula);
* only functions that Excel 2007, LibreOffice and Google Sheets all calculate;
* printed text is at least 8 pt: pages print at a fixed scale of :data:`PRINT_SCALE` % and
  notes are 9 pt.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field

from openpyxl.chart import BarChart, Reference, ScatterChart, Series
from openpyxl.chart.series import SeriesLabel
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RegularTextRun
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from ._book import text as _text

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
PRINT_SCALE = 90  # % : 9 pt notes print at 8.1 pt
# LibreOffice prints a column of width w at about 7 pt x w (at 100 %): an A4 page at 90 % holds
# about 124 width units landscape and 85 portrait. Sheets are laid out to fit those.

# Number formats by kind of quantity.
FMT = {
    "int": "#,##0", "num1": "#,##0.0", "num": "#,##0.00", "num3": "#,##0.000", "sci": "0.000E+00",
    # tokens/s and milliseconds: whole from 100, a tenth below (a render audit: "6,547.92
    # tokens/s", "190.16 ms")
    "amount": "[>=100]#,##0;#,##0.0",
    # a tenth below 10 users, whole from 10; none as 0 (a user audit read '-' as no data where
    # the memory held users and none would get the speed asked for)
    "users": '[=0]0;[<10]0.0;#,##0',
    "blank0": '[=0]"blank";#,##0.00',  # an optional input read with N(): 0 where left blank
    "usd": "$#,##0.00", "usd0": "$#,##0",
    "usd_none": '$#,##0.00;-$#,##0.00;"none"',  # a catalog price, where 0 means none listed
    # cents from $1 up, a hundredth of a cent below (token prices run from $0.01 to $100; a
    # render audit read "$2.5000" beside "$10.00"), as the covers write them (_sheets.per_mtok)
    "usd4": "[>=1]$#,##0.00;$#,##0.0000", "pct": "0.0%", "pct3": "0.000%",
    # a change in a price, either way: the conditional formats above drop a negative's sign
    # (LibreOffice), so no conditions here
    "usd_change": "+$#,##0.0000;-$#,##0.0000;$0",
    # whole dollars from $10 up, cents below (an API bill at a small volume is not "$0")
    "usd_small": "[>=10]$#,##0;$#,##0.00",
    # a rate that can be far below 1 (0.084 requests/s): enough digits to divide by
    "rate": "[<0.01]0.00E+00;[<10]0.000;#,##0.00",
    # millions of tokens a day: a tenth of a million below 10,000 M, whole millions from there
    # (a CFO audit read "56,230.8 M")
    "text": "@", "gen": "General", "mtok": '[>=10000000000]#,##0,," M";#,##0.0,," M"',
    # a TRUE/FALSE cell: Excel shows its booleans whatever the format, LibreOffice prints one
    # whose value comes from the file as 1 or 0 unless the format names them
    "bool": '"TRUE";"TRUE";"FALSE"',
}

_CELL_REF = re.compile(r"^[A-Za-z]{1,3}[0-9]+$")
_NAME_OK = re.compile(r"^[a-z_][a-z0-9_]*$")


def check_name(name: str) -> str:
    """A defined name that every spreadsheet accepts: lower_snake, not a cell reference."""
    if not _NAME_OK.match(name) or _CELL_REF.match(name) or name in ("r", "c"):
        raise ValueError(f"bad defined name {name!r}")
    return name


def put_text(cell, value, font=TEXT_FONT):
    """Write ``value`` as text (never a formula, even when it starts with '='). Text that a
    spreadsheet would read as a formula once edited ('= DEDICATED_GPUS', '-'...) carries the
    quote prefix, as Excel's own typed 'apostrophe does (a SPEC audit: F2 and Enter on such a
    note turned it into #NAME?)."""
    cell.value = _text(value)
    cell.data_type = "s"
    cell.font = font
    if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@")):
        cell.quotePrefix = True
    return cell


def define(wb, name: str, sheet: str, ref: str) -> None:
    """Workbook-level defined name for an absolute reference such as ``$C$5`` or ``$A$2:$A$9``;
    a name is defined once (two sheets naming the same step would silently share one)."""
    if check_name(name) in wb.defined_names:
        raise ValueError(f"defined name {name!r} is defined twice")
    wb.defined_names[name] = DefinedName(
        name, attr_text=f"{quote_sheetname(sheet)}!{ref}")


def absolute(col: int, row: int) -> str:
    return f"${get_column_letter(col)}${row}"


def column_range(col: int, first: int, last: int) -> str:
    letter = get_column_letter(col)
    return f"${letter}${first}:${letter}${last}"


@dataclass
class Block:
    """A vertical list of (label, value or formula, unit, note) rows on one sheet.

    Formulas are templates: ``{name}`` becomes the defined name ``name`` (every row is named),
    or ``alias[name]`` where the block reads an input through another name (the Working
    sheets read ``x_used``, the checked copy of input ``x``). Columns: label in ``col``, value
    in ``col + 1``, unit in ``col + 2``, note in ``col + 3``.
    """

    wb: object
    ws: object
    row: int
    col: int = 2
    alias: dict = field(default_factory=dict)

    @property
    def value_col(self) -> int:
        return self.col + 1

    def heading(self, text: str, note: str = "") -> None:
        self.row += 1
        put_text(self.ws.cell(self.row, self.col), text, HEAD_FONT)
        if note:
            put_text(self.ws.cell(self.row, self.col + 3), note, NOTE_FONT)
        self.row += 1

    def formula(self, template: str) -> str:
        return "=" + template.format_map(NameMap(self.wb, self.alias))

    def add(self, name, label, value, unit="", note="", fmt="num", kind="calc", options=None,
            validation=None):
        """One row. ``kind``: ``input`` (blue, unlocked), ``calc`` (black), ``output`` (bold,
        green) or ``check`` (red unless it says OK). ``value``: a number or text for inputs, a
        formula template for the rest."""
        ws, r = self.ws, self.row
        put_text(ws.cell(r, self.col), label)
        cell = ws.cell(r, self.value_col)
        if kind == "input":
            _input_cell(ws, cell, value, name, options, validation)
        else:
            cell.value = self.formula(value)
            cell.font = {"output": OUTPUT_FONT, "check": CHECK_FONT}.get(kind, FORMULA_FONT)
            if kind == "output":
                cell.fill = OUTPUT_FILL
        cell.number_format = FMT.get(fmt, fmt)
        cell.border = BOX
        cell.alignment = Alignment(horizontal="left" if fmt in ("text", "gen", "bool") else "right")
        if unit:
            put_text(ws.cell(r, self.col + 2), unit)
        if note:
            put_text(ws.cell(r, self.col + 3), note, NOTE_FONT)
        if name:
            define(self.wb, name, ws.title, absolute(self.value_col, r))
        self.row += 1
        return cell

    def text(self, value: str, font=NOTE_FONT) -> None:
        put_text(self.ws.cell(self.row, self.col), value, font)
        self.row += 1


def _input_cell(ws, cell, value, name, options, validation):
    if isinstance(value, str):
        put_text(cell, value, INPUT_FONT)
    else:
        cell.value = value
        cell.font = INPUT_FONT
    cell.fill = INPUT_FILL
    cell.protection = UNLOCKED
    if options:
        add_list_validation(ws, cell.coordinate, options, name)
    elif validation:  # (minimum, maximum, ...), or a rule's keywords (_blocks.rule_check)
        args, kwargs = ((), validation) if isinstance(validation, dict) else (validation, {})
        add_number_validation(ws, cell.coordinate, name, *args, **kwargs)


class NameMap(dict):
    """``str.format_map`` helper: ``{name}`` becomes its alias or itself, recorded so that
    :func:`xlnapkin.templates._book.save` refuses a workbook naming an undefined name."""

    def __init__(self, wb, alias=None):
        super().__init__()
        self.wb, self.alias = wb, alias or {}

    def __missing__(self, key):
        name = check_name(self.alias.get(key, key))
        refs = getattr(self.wb, "_xlnapkin_refs", set())
        refs.add(name)
        self.wb._xlnapkin_refs = refs
        return name


def mark_checks(ws, ref: str) -> None:
    """Check cells: green when they say OK, red (their own font) otherwise."""
    ws.conditional_formatting.add(ref, CellIsRule(operator="equal", formula=['"OK"'],
                                                  font=Font(color="008000", bold=True)))


def grey_repeats(ws, ref: str, same: str) -> None:
    """Rows of ``ref`` in grey where the formula ``same`` (written for its first row) holds: a
    row that repeats the one above, which a table of fixed size fills its tail with."""
    ws.conditional_formatting.add(ref, FormulaRule(formula=[same], font=Font(color="A0A0A0")))


def add_list_validation(ws, ref: str, source: str, what: str) -> None:
    error = ("Pick one from the list. To try your own numbers, edit a row of the Catalog sheet "
             "(Review > Unprotect sheet).")
    if source == "dtype_names":
        error = ("Pick one from the list, or type a number of bits or another name the Catalog "
                 "sheet lists (awq and gptq are int4).")
    dv = DataValidation(type="list", formula1=source, allow_blank=True,
                        showErrorMessage=True, errorStyle="warning",
                        errorTitle=f"{what}: not in the list", error=error)
    dv.add(ref)
    ws.add_data_validation(dv)


def within(x: str, minimum, maximum=None, min_open=False, max_open=False) -> list[str]:
    """The comparisons that hold ``x`` (a cell or a name) within the bounds (formula pieces)."""
    out = [f"{x}{'>' if min_open else '>='}{minimum:g}"]
    if maximum is not None:
        out.append(f"{x}{'<' if max_open else '<='}{maximum:g}")
    return out


def add_number_validation(ws, ref: str, what: str, minimum, maximum=None, blank=False,
                          min_open=False, max_open=False, whole=False) -> None:
    """Excel's warning for a number outside ``[minimum, maximum]`` (an end open where said;
    ``whole``: whole numbers), in the words of the engine's and the checks' rules
    (:func:`xlnapkin._checks.requirement`; an FP&A read: a percentile of 1 passed the warning
    "between 0.5 and 1" and then failed its check, "in [0.5, 1)")."""
    from .._checks import requirement
    if whole:
        dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1=str(minimum))
        if maximum is not None:
            dv = DataValidation(type="whole", operator="between", formula1=str(minimum),
                                formula2=str(maximum))
    elif maximum is None:
        dv = DataValidation(type="decimal", operator="greaterThan" if min_open else
                            "greaterThanOrEqual", formula1=str(minimum))
    elif min_open or max_open:  # Excel's "between" holds both ends; the rule names its cell
        assert ":" not in ref, ref
        dv = DataValidation(type="custom", formula1=f"AND(ISNUMBER({ref}),"
                            + ",".join(within(ref, minimum, maximum, min_open, max_open)) + ")")
    else:
        dv = DataValidation(type="decimal", operator="between", formula1=str(minimum),
                            formula2=str(maximum))
    dv.allow_blank = blank
    dv.showErrorMessage = True
    dv.errorStyle = "warning"
    dv.errorTitle = f"{what}: out of range"
    dv.error = f"{what} should be " + requirement(minimum, maximum, min_open=min_open,
                                                  max_open=max_open, integer=whole) + "."
    dv.add(ref)
    ws.add_data_validation(dv)


def paragraph(ws, row: int, first: int, last: int, value: str, font=NOTE_FONT,
              chars_per_line=100) -> None:
    """Text wrapped across columns ``first``..``last`` of ``row`` (merged), tall enough for it."""
    cell = put_text(ws.cell(row, first), value, font)
    if last > first:
        ws.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)
    cell.alignment = WRAP
    ws.row_dimensions[row].height = 13.5 * max(1, -(-len(value) // chars_per_line))


def style_cell(cell, fmt="num", font=FORMULA_FONT, border=True):
    """Number format, font and box; numeric columns right-aligned, their messages too; TRUE and
    FALSE left-aligned, as in the input blocks (Excel would centre them)."""
    cell.number_format = FMT.get(fmt, fmt)
    cell.font = font
    if fmt == "bool":
        cell.alignment = Alignment(horizontal="left")
    elif fmt not in ("text", "gen"):
        cell.alignment = Alignment(horizontal="right")
    if border:
        cell.border = BOX
    return cell


def wrapped_lines(text: str, width: float) -> int:
    """Lines a column header takes in a column ``width`` units wide: wrapped at spaces, a word
    longer than a line broken where the line ends (as LibreOffice prints it), about 1.05
    characters of bold 10 pt a unit in the font LibreOffice puts in Calibri's place. [lines]"""
    return len(textwrap.wrap(text, max(int(1.05 * width), 4), break_on_hyphens=False))


def header_height(lines: int) -> float:
    """Row height of a header of ``lines`` lines of bold 10 pt. [pt]"""
    return 13.0 * lines + 2.0


def header_row(ws, row: int, col: int, heads, height=None) -> None:
    """White-on-blue column headers that wrap instead of overlapping their neighbours."""
    for j, h in enumerate(heads):
        c = put_text(ws.cell(row, col + j), h, COLHEAD_FONT)
        c.fill = COLHEAD_FILL
        c.alignment = Alignment(wrap_text=True, vertical="top", horizontal="center")
    if height:
        ws.row_dimensions[row].height = height


# --- charts, print setup, finishing --------------------------------------------------------------

CHART_TITLE_PT = 12  # Excel's default (14 pt) and LibreOffice's take a third of a small chart


def _title(text: str) -> Title:
    """A bold chart title at CHART_TITLE_PT, the same size in Excel and LibreOffice."""
    font = CharacterProperties(sz=CHART_TITLE_PT * 100, b=True)
    para = Paragraph(pPr=ParagraphProperties(defRPr=font), r=[RegularTextRun(rPr=font, t=text)])
    return Title(tx=Text(rich=RichText(p=[para])), overlay=False)


def _axes(ch, title, x_title, y_title, width, height):
    ch.title = _title(title)
    ch.style = 2
    ch.x_axis.title = x_title
    ch.y_axis.title = y_title
    ch.x_axis.delete = False
    ch.y_axis.delete = False
    ch.width, ch.height = width, height
    return ch


def scatter_chart(title, x_title, y_title, x_ref, series, log_x=False, log_y=False,
                  width=22, height=12):
    """A scatter chart with straight lines; ``series`` is [(title, y_ref)]."""
    ch = _axes(ScatterChart(), title, x_title, y_title, width, height)
    # the schema requires the element, which openpyxl leaves out by default (a Google Sheets
    # audit: an importer may then draw points, which markers set to none would hide)
    ch.scatterStyle = "line"
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


def bar_chart(title, category_title, value_title, categories, series, width=18, height=10):
    """Horizontal bars; ``series`` is [(title, values_ref)] (several make a tornado). Category
    labels sit at the left edge, clear of bars that go below zero, one per row."""
    ch = _axes(BarChart(), title, category_title, value_title, width, height)
    ch.type = "bar"
    ch.x_axis.scaling.orientation = "maxMin"  # first row at the top
    ch.x_axis.tickLblPos = "low"
    ch.x_axis.tickLblSkip = 1
    for name, ref in series:
        ch.add_data(ref, titles_from_data=False)
        ch.series[-1].tx = SeriesLabel(v=name)
    ch.set_categories(categories)
    if len(series) > 1:
        ch.grouping = "clustered"
        ch.overlap = 100
        ch.legend.position = "b"
    else:
        ch.legend = None
    return ch


def print_setup(ws, area: str | list[str], landscape=True, fit_width=False, title_rows=None,
                title_cols=None) -> None:
    """Print area (a list: several, each starting a new page), A4, a fixed scale (so text
    stays >= 8 pt), footer with sheet and page. ``fit_width`` shrinks to one page wide instead,
    for sheets laid out to fit at >= 90 %."""
    ws.print_area = area
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    if fit_width:
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    else:
        ws.page_setup.scale = PRINT_SCALE
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    ws.oddFooter.center.text = "&A - page &P of &N"
    if title_rows:
        ws.print_title_rows = title_rows
    if title_cols:
        ws.print_title_cols = title_cols


def finish_sheet(ws, widths: dict, area: str, landscape=True, freeze=None, **print_kw) -> None:
    """Column widths, no gridlines, protection without a password, print setup."""
    for col, w in widths.items():
        ws.column_dimensions[col if isinstance(col, str) else get_column_letter(col)].width = w
    ws.sheet_view.showGridLines = False
    if freeze:
        ws.freeze_panes = freeze
    protect(ws)
    print_setup(ws, area, landscape, **print_kw)


def protect(ws) -> None:
    """Protect formulas; inputs were unlocked as they were written. No password."""
    ws.protection.sheet = True
    ws.protection.formatColumns = False  # allow widening columns
    ws.protection.formatRows = False


__all__ = ["Block", "NameMap", "put_text", "paragraph", "define", "absolute", "column_range", "check_name",
           "mark_checks", "grey_repeats", "add_list_validation", "add_number_validation",
           "style_cell",
           "header_row", "wrapped_lines", "header_height", "scatter_chart", "bar_chart",
           "print_setup", "finish_sheet", "protect",
           "Reference", "FMT", "PRINT_SCALE", "INPUT_FONT", "INPUT_FILL", "FORMULA_FONT",
           "OUTPUT_FONT", "OUTPUT_FILL", "CHECK_FONT", "TEXT_FONT", "NOTE_FONT", "TITLE_FONT",
           "HEAD_FONT", "COLHEAD_FONT", "COLHEAD_FILL", "BOX", "WRAP", "UNLOCKED"]
