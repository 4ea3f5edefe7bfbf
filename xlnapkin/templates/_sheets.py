"""Whole sheets every template shares: the Cover and the Catalog.

The Catalog sheet is generated from the package catalog (its dataclasses say which columns are
numbers), with a lookup table of every id and alias in the engine's normal form, so a template
accepts the names the Excel functions accept (``h100``, ``H100 SXM``, ``llama3-70b``).
"""

from __future__ import annotations

import dataclasses
import re

from openpyxl.styles import Alignment
from openpyxl.worksheet.pagebreak import Break
from openpyxl.utils import get_column_letter

from .. import __version__, calibration, catalog
from ..units import DTYPE_BITS, dtype_aliases
from . import _style as st

__all__ = ["cover_sheet", "catalog_sheet", "catalog_cell", "numeric_fields", "SEED_SOURCES",
           "SAME_MODEL"]

SAME_MODEL = "same model"  # the API choice that picks the comparable API of the model

# The seed articles, by title only: each cover says which of their claims it lets you test.
SEED_SOURCES = [
    "The seed articles: five published pieces on LLM serving costs whose figures xlnapkin "
    "reproduces, and corrects where they are wrong (docs/seed_audit.md lists each claim).",
    "Seed 000: Hacker News thread on the SGLang 96 x H100 DeepSeek serving post (undated)",
    "Seed 001: napkin math per user on a B200 with a 32 B model (undated)",
    "Seed 002: Hyperstack, enterprise economics of self-hosting LLMs (undated)",
    "Seed 003: 'LLM Inference Cost: Tokens/Dollar' (undated)",
    "Seed 004: Xu's AI Newsletter, 'Economics of LLM Serving' (2024-11-09)",
]

_KINDS = {"gpu": (catalog.GPU, "GPUs"), "model": (catalog.Model, "Models"),
          "price": (catalog.Price, "API prices")}
# long text, at the right of every table and left out of its printout (an API's own name for its
# model runs to 60 characters: fireworks_ai/accounts/fireworks/models/...)
_LAST = ("aliases", "model", "verified", "source", "notes")
_LOOKED_UP = ("model",)  # of those, the ones a formula reads (a defined name each)


def numeric_fields(cls) -> list[str]:
    """The catalog dataclass fields that hold numbers, in field order."""
    return [f.name for f in dataclasses.fields(cls)
            if "float" in str(f.type) or "int" in str(f.type)]


def _columns(kind: str) -> list[str]:
    cls = _KINDS[kind][0]
    names = [f.name for f in dataclasses.fields(cls)]
    numeric = numeric_fields(cls)
    labels = [n for n in names if n not in numeric and n not in _LAST and n != "id"]
    extra = ["comparable_api"] if kind == "model" else []
    return ["id"] + labels + numeric + extra + [n for n in _LAST if n in names]


def _places(kind: str) -> dict[str, int]:
    """Each column of a table and the sheet column it goes in (1 = A): the short columns from A,
    the long text ones (:data:`_LAST`) in the same columns for every table, right of the
    widest table's short ones, so that no table's numbers sit in a column as wide as another
    table's sources."""
    short = [c for c in _columns(kind) if c not in _LAST]
    text = 1 + max(sum(c not in _LAST for c in _columns(k)) for k in _KINDS)
    return {**{c: j for j, c in enumerate(short, start=1)},
            **{c: text + _LAST.index(c) for c in _columns(kind) if c in _LAST}}


def _value(kind: str, row, column: str):
    if column == "comparable_api":
        price = catalog.comparable_price(row.id)
        return price.id if price else ""
    return getattr(row, column)


def cover_sheet(wb, title: str, sections: list[tuple[str, list[str]]],
                answer: list[str] = (), page_before: tuple[str, ...] = ()) -> None:
    """The first sheet: title, the answer at the inputs now (``answer``: formulas of one line
    each, named ``cover_answer``, two printed lines tall, or (formula, lines); a user audit: a
    forwarded printout's first page said what the workbook answers but not the answer, and its
    inputs were four pages on), then headed sections of short paragraphs (plain text), those
    headed in ``page_before`` on a new page (a heading left alone at a page's foot)."""
    ws = wb.active
    ws.title = "Cover"
    st.put_text(ws["B2"], title, st.TITLE_FONT).alignment = st.WRAP
    ws.row_dimensions[2].height = 22 * max(1, -(-len(title) // 60))
    st.paragraph(ws, 3, 2, 2, f"xlnapkin {__version__} template workbook. Plain formulas only: "
                 "no add-in, no macros, no external links. Yellow cells are inputs; black cells "
                 "are formulas (sheets are protected without a password).", chars_per_line=110)
    row = 5
    if answer:
        st.put_text(ws.cell(row, 2), "The answer at the inputs now", st.HEAD_FONT)
        first = row + 1
        for i, formula in enumerate(answer):
            formula, lines = formula if isinstance(formula, tuple) else (formula, 2)
            cell = ws.cell(first + i, 2, "=" + formula)
            cell.font, cell.alignment = st.FORMULA_FONT, st.WRAP
            ws.row_dimensions[first + i].height = 14 * lines  # the longest answers wrap
        st.define(wb, "cover_answer", ws.title, st.column_range(2, first, first + len(answer) - 1))
        row = first + len(answer) + 1
    for head, lines in sections:
        if head in page_before:
            ws.row_breaks.append(Break(id=row - 1))
        st.put_text(ws.cell(row, 2), head, st.HEAD_FONT)
        row += 1
        for line in lines:
            st.put_text(ws.cell(row, 2), line).alignment = st.WRAP
            # about 105 characters a printed line in LibreOffice (Calibri in Excel: more);
            # 95 left blank bands on the covers (a render audit)
            ws.row_dimensions[row].height = 14 * max(1, -(-len(line) // 100))
            row += 1
        row += 1
    st.finish_sheet(ws, {"A": 2, "B": 82}, f"A1:B{row}", landscape=False)


def plain(name: str) -> str:
    """A formula that shows the named cell's number as a reader writes it: whole numbers bare
    (thousands separated from 1,000), others to two decimals at most (7.5, 0.33). The
    separator format is kept off numbers under 1,000, where the recalculation library's TEXT
    writes 0.1 as "0,.1" (a review). Below 0.1, up to four decimals (0.001 requests/s read as
    "0.0" on a cover: a user audit), and below 0.001 a power of ten."""
    x = name
    return (f'IF(ABS({x})>=1000,TEXT({x},"#,##0"),IF({x}=INT({x}),TEXT({x},"0"),'
            f'IF(ABS({x})>=0.1,TEXT({x},"0.0#"),IF(ABS({x})>=0.001,TEXT({x},"0.00##"),'
            f'TEXT({x},"0.0E+00")))))')


def dollars(name: str) -> str:
    """A formula that shows the named cell's USD: whole dollars from $1, cents below, and
    "under $0.01" for a positive amount that rounds to no cents (a stress audit: the API's
    $0.002 a month at 1,000 tokens a day read "the API $0.00 a month")."""
    return (f'IF(ABS({name})>=1,TEXT({name},"$#,##0"),IF(AND({name}>0,{name}<0.005),'
            f'"under $0.01",TEXT({name},"$0.00")))')


def a_month(share: str) -> str:
    """A formula that shows a share of the time as time a month at ``hours_per_month``: hours
    with one decimal from an hour, whole minutes below, "under a minute" below that (a CFO's
    read: a pool short "0.050% of the time" is 22 minutes a month, 1.866 % is 13.6 hours)."""
    h = f"({share})*hours_per_month"
    # "1 minute", not "1 minutes" (a CFO's read of the multi-tenant cover)
    return (f'IF({h}>=1,TEXT({h},"#,##0.0")&" hours",IF({h}*60>=1,TEXT({h}*60,"0")&IF('
            f'{h}*60<1.5," minute"," minutes"),"under a minute"))&" a month"')


def per_mtok(name: str) -> str:
    """A formula that shows the named USD per million tokens: cents to four places below $1
    (API prices are quoted so: $0.0523), two places to $1,000, whole dollars from there (a
    finance audit: a cover read "$804451.5068" at a small volume)."""
    # thresholds where the shorter format's rounding would reach the next ($999.996: $1,000)
    return (f'IF(ABS({name})>=999.995,TEXT({name},"$#,##0"),IF(ABS({name})>=0.99995,TEXT('
            f'{name},"$0.00"),TEXT({name},"$0.0000")))')


def percent(name: str) -> str:
    """A formula that shows the named share as a percentage, one decimal where it has one."""
    pct = f"{name}*100"
    return f'TEXT({name},IF(ABS({pct}-INT({pct}+0.5))<1E-9,"0%","0.0%"))'


def plural(name: str, one: str, many: str) -> str:
    """A formula: ``one`` where the named count is 1, else ``many`` (with a leading space)."""
    return f'IF({name}=1," {one}"," {many}")'


def catalog_sheet(wb, kinds=("gpu", "model", "price")) -> None:
    """The Catalog sheet: the package tables (one defined name per id column and per useful
    column, e.g. ``gpu_ids``, ``gpu_memory_gb``), the dtype table and the vendor factors, then
    the id/alias keys and the API choices the formulas look names up in. It prints the tables
    without their long text columns (aliases, sources, notes), and the dtypes and factors: 14
    pages in LibreOffice where the whole sheet took 40."""
    ws = wb.create_sheet("Catalog")
    st.put_text(ws.cell(1, 1), "Catalog (generated from the xlnapkin package data)", st.HEAD_FONT)
    st.paragraph(ws, 2, 1, 8, "Blank = not known or no native support (read as 0 by the "
                 "formulas, which then fall back as the engine does). Units are in the column "
                 "names; GB = 1e9 bytes. To try your own numbers, edit a row (Review > Unprotect "
                 "sheet); every row's source is in its last columns. A printout shows the "
                 "tables without their aliases, the APIs' own model names, sources and notes, "
                 "and leaves out the lookup lists at the end.", chars_per_line=140)
    row, widths, printed = 4, {1: 24}, []
    for kind in kinds:
        first = row
        row = _table(wb, ws, kind, row, widths)
        shown = get_column_letter(sum(c not in _LAST for c in _columns(kind)))
        printed.append(f"A{first}:{shown}{row}")
        row += 3
    first = row
    # titles short enough for the two printed columns
    # beside it (columns D:E), the dtype names' other spellings: a sheet's cell count is its
    # rows x columns, and the recalculation's limits count cells
    beside = _pairs(wb, ws, row, "Other names for them", ("name", "dtype"),
                    ("dtype_alias_names", "dtype_alias_targets"),
                    sorted(dtype_aliases().items()), col=4)
    row = _pairs(wb, ws, row, "Element types: bits each",
                 ("dtype", "bits"), ("dtype_names", "dtype_bits"),
                 [(n, float(b)) for n, b in DTYPE_BITS.items()]) + 3
    row = _pairs(wb, ws, row, "Vendor factors on MBU, MFU", ("vendor", "factor"),
                 ("vendor_names", "vendor_factor_values"), vendor_factors())
    row = max(row, beside)
    printed.append(f"A{first}:E{row}")
    row += 3
    # the lookup lists side by side (each row spans the sheet's width, which its tables set)
    st.put_text(ws.cell(row, 1), "Lookup lists: the ids and aliases the inputs accept (lower "
                "case, '-' for spaces and '_')" + (", and the API choices" if "price" in kinds
                                                   else ""), st.HEAD_FONT)
    col = 1
    for kind in kinds:
        if kind in ("gpu", "model"):
            _keys(wb, ws, kind, row + 1, col)
            col += 3
    if "price" in kinds:
        _list(wb, ws, row + 1, "APIs ('same model': its comparable one)", "api_choices",
              [SAME_MODEL] + catalog.price_ids(), col)
    for j, w in widths.items():
        ws.column_dimensions[get_column_letter(j)].width = w
    ws.freeze_panes = "B4"
    ws.sheet_properties.tabColor = "808080"
    st.protect(ws)
    st.print_setup(ws, printed, title_cols="A:A")
    # the GPU table on one page's height, the footer below it in the bottom margin
    ws.page_margins.top = ws.page_margins.bottom = 0.25
    ws.page_margins.header = ws.page_margins.footer = 0.08


def _table(wb, ws, kind, row, widths) -> int:
    cls, title = _KINDS[kind]
    cols = _columns(kind)
    numeric = set(numeric_fields(cls))
    place = _places(kind)
    st.put_text(ws.cell(row, 1), title, st.HEAD_FONT)
    for c in cols:
        st.header_row(ws, row + 1, place[c], [c])
        if c not in _LAST:  # a field's name on one line, smaller where the column is narrower
            ws.cell(row + 1, place[c]).alignment = Alignment(horizontal="center",
                                                             vertical="top", shrink_to_fit=True)
    ws.row_dimensions[row + 1].height = 16
    first = row + 2
    items = {"gpu": catalog.gpus, "model": catalog.models, "price": catalog.prices}[kind]()
    for i, item in enumerate(items):
        for c in cols:
            value = _value(kind, item, c)
            cell = ws.cell(first + i, place[c])
            if c in numeric:
                cell.value = None if value is None else float(value)
                cell.font = st.TEXT_FONT
            else:
                st.put_text(cell, value)
            if c in ("source", "notes"):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    last = first + len(items) - 1
    st.define(wb, f"{kind}_ids", "Catalog", st.column_range(1, first, last))
    for c in cols:
        j = place[c]
        if c != "id" and (c not in _LAST or c in _LOOKED_UP):
            st.define(wb, f"{kind}_{c}", "Catalog", st.column_range(j, first, last))
        wide = {"source": 70, "notes": 90, "aliases": 28, "name": 28, "model": 30,
                "hf_repo": 30, "provider": 14, "model_id": 18}.get(c)
        # a field's name fits, or shrinks to fit: by up to a third for names of 17 to 19
        # characters; the longest, 20 to 25, get a wider column
        widths[j] = max(widths.get(j, 0),
                        wide or max(11, min(len(c) * 0.9 + 2, 14 if len(c) < 20 else 18)))
    return last


def _keys(wb, ws, kind, row, col=1) -> int:
    """Every id and alias in the engine's normal form, and the id it names (columns ``col`` and
    ``col + 1``)."""
    pairs = []
    items = {"gpu": catalog.gpus, "model": catalog.models}[kind]()
    for item in items:
        for alias in [item.id] + str(item.aliases or "").split(";"):
            key = catalog.normalise_id(alias)
            if key and key not in dict(pairs):
                pairs.append((key, item.id))
    for item in items:  # a model's repository name after its owner, where no key has it
        key = catalog.normalise_id(str(getattr(item, "hf_repo", "") or "")).rpartition("/")[2]
        if key and key not in dict(pairs):
            pairs.append((key, item.id))
    return _pairs(wb, ws, row, _KINDS[kind][1], ("key", "id"),
                  (f"{kind}_keys", f"{kind}_key_ids"), pairs, col)


def _pairs(wb, ws, row, title, heads, names, rows, col=1) -> int:
    st.put_text(ws.cell(row, col), title, st.HEAD_FONT)
    st.header_row(ws, row + 1, col, heads)
    first = row + 2
    for i, (a, b) in enumerate(rows):
        st.put_text(ws.cell(first + i, col), a)
        if isinstance(b, str):
            st.put_text(ws.cell(first + i, col + 1), b)
        else:
            ws.cell(first + i, col + 1, b).font = st.TEXT_FONT
    last = first + len(rows) - 1
    st.define(wb, names[0], "Catalog", st.column_range(col, first, last))
    st.define(wb, names[1], "Catalog", st.column_range(col + 1, first, last))
    return last


def _list(wb, ws, row, title, name, values, col=1) -> int:
    st.put_text(ws.cell(row, col), title, st.HEAD_FONT)
    first = row + 1
    for i, v in enumerate(values):
        st.put_text(ws.cell(first + i, col), v)
    last = first + len(values) - 1
    st.define(wb, name, "Catalog", st.column_range(col, first, last))
    return last


def catalog_cell(wb, name: str, k: int) -> str:
    """The address of the k-th cell (0-based) of a Catalog column name such as ``price_ids``:
    a plain reference is cheaper to recalculate than INDEX(name, k)."""
    ref = wb.defined_names[name].attr_text.split("!")[1]
    col, first = re.match(r"\$([A-Z]+)\$(\d+)", ref).groups()
    return f"Catalog!${col}${int(first) + k}"


def vendor_factors() -> list[tuple[str, float]]:
    """(vendor, multiplier on MBU and MFU) for every vendor in the GPU catalog."""
    vendors = []
    for g in catalog.gpus():
        if g.vendor and g.vendor not in vendors:
            vendors.append(g.vendor)
    return [(v, float(calibration.VENDOR_FACTOR.get(v.lower(), 1.0))) for v in vendors]
