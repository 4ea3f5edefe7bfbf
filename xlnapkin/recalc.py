"""Recalculate a workbook without Excel, including cells that call xlnapkin's Excel functions.

The `formulas <https://formulas.readthedocs.io>`_ package (the optional extra ``recalc``) reads
the workbook and calculates its formulas. :func:`register` adds every function in
:data:`xlnapkin._excel.REGISTRY` to its function table, so ``=TOKENS_PER_SEC(A2,"llama-3.1-70b",64)``
calculates to what the function gives in Excel: the same coercion and broadcasting, and an error
message as the cell's text (what classic xlwings shows). An omitted argument (``,,``) and an empty
cell arrive as blanks, so they take the function's default as they do in Excel.

:class:`Workbook` loads a file, sets inputs by defined name or cell reference, recalculates, reads
values back and saves a copy: the original file byte for byte except the changed inputs and the
cached value of every formula cell, so it opens with the new numbers in any spreadsheet program.
Nothing here overwrites a file unless told to, and every write goes through
:func:`xlnapkin._files.write_atomic` (an exclusive temporary file renamed over the target; a
target that is a symbolic link is refused, except that ``follow_symlink=True`` replaces the file
the link names).

A workbook is treated as untrusted input (someone sent it to you):

* **Nothing but the input file is opened.** A reference to another workbook (``='../[b.xlsx]S'!A1``,
  an external-link part, ``INDIRECT("'[b.xlsx]S'!A1")``) calculates to ``#REF!``; the files it
  names are listed in :attr:`Workbook.refused_files` and never opened. ``allow_external=True``
  (``xlnapkin recalc --allow-external``) lets formulas open them, each checked against the same
  limits.
* **Limits** (:class:`Limits`), checked before the expensive work, each raising
  :class:`LimitError` that names the limit and the option that raises it:

  ========================  =========  ==========================================================
  limit                     default    what it counts
  ========================  =========  ==========================================================
  ``max_part_mb``           20         any one part of the zip, uncompressed (from the zip's
                                       directory, then enforced while reading) [MB]
  ``max_total_mb``          100        the file, and all its parts uncompressed together [MB]
  ``max_cells``             50,000     cells that formulas visits: for each sheet, from A1 to the
                                       last used row and column (merged, hyperlinked and
                                       commented cells included)
  ``max_formulas``          10,000     formula cells plus defined names
  ``max_range_cells``       100,000    cells covered by all distinct ranges in formulas and names
                                       together (a whole column, ``A:A``, is 1,048,576)
  ``max_formula_weight``    500        the sum over formulas and names of (characters / 1,000)
                                       squared: parsing grows with the square of a formula's
                                       length (about 2.3 s for 8,000 characters); the capacity
                                       planner weighs 64
  ``max_formula_tokens``    350,000    the references, names, numbers, texts and operators of
                                       all formulas and names together: loading and calculating
                                       take about 0.2 ms each (the capacity planner has
                                       226,000; a hardening audit's 35 kB file of 4,900 sums
                                       of 100 cells took 204 s and 2 GB)
  ``max_regex_seconds``     5          the time all regular expressions (``REGEXTEST``,
                                       ``REGEXEXTRACT``, ``REGEXREPLACE``) take in one load or
                                       recalculation together: a pattern such as ``(a|a)+$``
                                       takes twice as long for each character of its text, so
                                       it is the one limit checked while calculating [s]
  ========================  =========  ==========================================================

  The defaults take the template workbooks with room to spare (the largest, the capacity
  planner, spans about 24,300 cells and has 7,400 formulas and names and 8,600 range cells)
  and bound a run to
  about a minute and 1 GB: ``formulas`` needs roughly 3 ms and 50 kB per formula, 0.3 ms per
  cell and, per range cell, 80 us and 0.7 kB. Besides: a file that is not a zip (one saved
  with a password to open is an encrypted OLE compound file), more than 10,000 zip entries,
  encrypted entries, XML parts that are not UTF-8, any DTD (``<!DOCTYPE``/``<!ENTITY``, the
  entity tricks), more than 200,000 style records, two sheet entries on one part and sheet names
  alike but for case are refused before parsing, and so are a formula longer than Excel's 8,192
  characters and a reference to a sheet's last row or column (``A1048576``, ``XFD1``,
  ``B:XFD``), which ``formulas`` computes wrong (``SUM(A1:B1048576)`` gives 0).
* **Time and memory**: some formulas spend them inside ``formulas``, NumPy or the regex engine,
  where no check here runs (a wildcard ``MATCH`` over long texts backtracks for hours,
  ``MUNIT(50000)`` asks for 22 GB). ``xlnapkin recalc`` therefore runs :class:`Workbook` in a
  child process stopped at ``--max-seconds`` and, on Linux, ``--max-memory-mb``
  (:mod:`xlnapkin._limited`); a program that loads an untrusted workbook through this module
  bounds its own process the same way.
* **A formula that cannot be calculated** (a circular reference) reads back as
  :data:`NOT_CALCULATED` (``#CALC!``), never as a blank; :meth:`Workbook.uncalculated` lists
  such cells (a named formula in a loop reads ``#CALC!`` too, but is not listed).
* **Failures are** :class:`RecalcError` **with a one-line message**: a malformed part, a corrupt
  zip entry, a formula ``formulas`` cannot parse, a bad reference.
* **Threads**: loading and calculating change module-level state in ``formulas`` (how an omitted
  argument compiles, its progress bar, its function table), so they hold one module-level lock;
  workbooks in several threads are safe, and their loads and recalculations take turns.

``formulas`` (and through it openpyxl) is imported only when a workbook is loaded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import io
import logging
import os
import posixpath
import re
import sys
import threading
import time
import types
import warnings
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from . import _files, _formulas_fixes
from ._vba import _CFB_MAGIC
from .errors import NapkinError

__all__ = ["RecalcError", "LimitError", "Limits", "Workbook", "register", "recalculate",
           "parse_value", "write_cell_values", "is_error_value", "is_message", "is_check_name"]

_INSTALL_HINT = ('recalculating needs the formulas package: in a clone, uv run --extra recalc '
                 'xlnapkin ...; with pip, pip install "xlnapkin-<version>-py3-none-any.whl[recalc]"'
                 ' from a release (no package index holds xlnapkin)')
_SUFFIXES = (".xlsx", ".xlsm")
_CELL_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
_RANGE_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+):\$?([A-Za-z]{1,3})\$?(\d+)$")
_MB = 1_000_000
_MAX_ENTRIES = 10_000
# Style records (cell formats, fonts, fills, borders, number formats) read: Excel keeps at most
# some 65,000 cell formats. A hardening audit: a 30 KB file of 3.9 million formats took 36 s
# and 2 GB in openpyxl, under the size limits.
_MAX_STYLES = 200_000
_ERROR_VALUES = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                           "#GETTING_DATA", "#SPILL!", "#CALC!", "#CIRC!"})

# formulas keeps module-level state that a load or a recalculation changes (see the docstring)
_LOCK = threading.RLock()


class RecalcError(NapkinError):
    """A workbook that cannot be read, recalculated or written as asked."""


class _NotCells(RecalcError):
    """A defined name that stands for a value or formula rather than cells."""


class _StaleName(RecalcError):
    """A defined name for cells of a sheet the workbook does not have: ``#REF!``, as in Excel."""


class LimitError(RecalcError):
    """A workbook over one of the :class:`Limits` (``limit`` is the field's name)."""

    def __init__(self, text: str, limit: str):
        self.limit = limit
        super().__init__(f"{text} (--{limit.replace('_', '-')} raises it)")


@dataclasses.dataclass(frozen=True)
class Limits:
    """How much of a workbook :class:`Workbook` is willing to read (see the module docstring).

    >>> Limits().max_formulas, Limits(max_cells=10**6).max_cells
    (10000, 1000000)
    """

    max_part_mb: float = 20          # any one zip part, uncompressed [MB]
    max_total_mb: float = 100        # the file, and all parts uncompressed together [MB]
    max_cells: int = 50_000          # cells from A1 to each sheet's last row and column
    max_formulas: int = 10_000       # formula cells plus defined names
    max_range_cells: int = 100_000   # cells covered by all distinct ranges together
    max_formula_weight: float = 500  # sum of (formula characters / 1,000) squared
    max_formula_tokens: int = 350_000  # references, names, numbers, texts, operators
    max_regex_seconds: float = 5     # REGEXTEST/REGEXEXTRACT/REGEXREPLACE, all calls together [s]

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise RecalcError(f"{f.name} must be a number > 0, got {value!r}")
            if value == float("inf") and f.name != "max_regex_seconds":  # sizes become ints
                raise RecalcError(f"{f.name} must be finite; give a large number instead")


#: What a formula cell reads back as when ``formulas`` gave it no value (a circular
#: reference): Excel's error for a formula its engine cannot calculate.
NOT_CALCULATED = "#CALC!"
EXCEL_FORMULA_MAX = 8192  # characters in one formula, Excel's own limit
# string literals and quoted sheet names, left out before looking for references
_QUOTED = re.compile(r'"(?:[^"]|"")*"|\'(?:[^\']|\'\')*\'')
# one token of a formula, as the recalculation library's work counts them: a text, a cell,
# a name or function, a number, an operator
_TOKEN = re.compile(r'"(?:[^"]|"")*"|\'(?:[^\']|\'\')*\'|[A-Za-z_\\$][A-Za-z0-9_.$]*|[0-9.]+|[^\s]')
# a reference that touches the sheet's last column (XFD) or last row (1048576)
_EDGE = re.compile(r"(?<![A-Za-z0-9_.$])\$?(?:XFD\$?[0-9]+(?![0-9])|XFD(?=\s*:)|"
                   r"[A-Za-z]{1,3}\$?1048576(?![0-9]))|:\s*\$?XFD(?![A-Za-z0-9_($])", re.I)
# what Excel leaves of a reference to a deleted sheet: #REF!A1, #REF!$A$1:$B$2, #REF!A:A
# (a range's end is a cell, column or row, not the start of a function: A2:INDEX(...) keeps
# its ":INDEX(", which the library reads as #REF! too; a review)
_STALE_REF = re.compile(r"#REF!(?:\$?[A-Z]{1,3}\$?[0-9]+|\$?[A-Z]{1,3}(?=\s*:)|\$?[0-9]+(?=\s*:))"
                        r"(?:\s*:\s*\$?(?:[A-Z]{1,3}\$?[0-9]+|[A-Z]{1,3}|[0-9]+)"
                        r"(?![A-Z0-9_.(]))?", re.I)


def _check_formulas(book, limits: "Limits", name: str) -> None:
    """Refuse a workbook before ``formulas`` parses it: a formula longer than Excel allows, a
    total parsing weight over ``max_formula_weight`` or more tokens than
    ``max_formula_tokens``, a reference to a sheet's last row or column (which ``formulas``
    computes wrong)."""
    from openpyxl.worksheet.formula import ArrayFormula
    texts = []
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if isinstance(v, ArrayFormula):
                    texts.append((f"{ws.title}!{c.coordinate}", v.text or ""))
                elif c.data_type == "f" and isinstance(v, str):
                    texts.append((f"{ws.title}!{c.coordinate}", v))
        texts += [(f"{ws.title}!{n} (a name)", dn.attr_text or "")
                  for n, dn in getattr(ws, "defined_names", {}).items()]
    texts += [(f"{n} (a name)", dn.attr_text or "") for n, dn in book.defined_names.items()]
    # a name Excel refuses, as formulas read it as a cell (a hardening audit: a name n1 made a
    # formula using it read the blank cell N1, 0, with exit code 0)
    for where, _text in texts:
        cell = re.fullmatch(r"(?:.*!)?([A-Za-z]{1,3}[0-9]{1,7}) \(a name\)", where)
        column, row = _col_row(cell.group(1)) if cell else (0, 0)
        r1c1 = re.fullmatch(r"(?:.*!)?[Rr][0-9]+[Cc][0-9]+ \(a name\)", where)  # R1C1: A1
        if 1 <= column <= 16_384 and 1 <= row <= 1_048_576 or r1c1:
            raise RecalcError(f"{name}: the defined name {where[:-9]} is also a cell reference, "
                              "which Excel does not allow as a name (a formula using it reads "
                              "that cell); rename it")
    weight, tokens = 0.0, 0
    for where, text in texts:
        body = len(text) - text.startswith("=")  # Excel's limit counts the formula after '='
        if body > EXCEL_FORMULA_MAX:
            raise RecalcError(f"{name}: {where} has a formula of {body:,} characters, longer "
                              f"than Excel allows ({EXCEL_FORMULA_MAX:,})")
        weight += (len(text) / 1000.0) ** 2
        tokens += len(_TOKEN.findall(text))
        edge = _EDGE.search(_QUOTED.sub('""', text))
        if edge:
            raise RecalcError(f"{name}: {where} refers to {edge.group(0).lstrip(':').strip()}, in "
                              "the sheet's last row or column, which the recalculation library "
                              "computes wrong; make the range stop short of it")
    if weight > limits.max_formula_weight:
        raise LimitError(f"{name}: its formulas weigh {weight:,.0f} (the sum of (characters / "
                         f"1,000) squared), over the limit of {limits.max_formula_weight:,.0f}",
                         "max_formula_weight")
    if tokens > limits.max_formula_tokens:
        raise LimitError(f"{name}: its formulas and names hold {tokens:,} tokens (references, "
                         f"names, numbers, texts and operators), over the limit of "
                         f"{limits.max_formula_tokens:,}", "max_formula_tokens")


def _stale_refs(text: str) -> str:
    """A formula with Excel's ``#REF!A1`` (a reference whose sheet was deleted) as ``#REF!``,
    which the recalculation library reads (it cannot parse the former: a hardening audit found
    the whole workbook refused for one such cell). String literals stay as they are.

    >>> _stale_refs('=SUM(#REF!$A$1:$B$2,1)&"#REF!A1"')
    '=SUM(#REF!,1)&"#REF!A1"'

    A range from a deleted cell to a function's result (``A2:INDEX(...)``) is ``#REF!`` in
    Excel, where the library makes it a range of blanks: the whole formula is ``#REF!`` (a
    review; what an IFERROR around it would have made of it is lost):

    >>> _stale_refs('=SUM(#REF!A2:INDEX(#REF!A:A,3))')
    '=#REF!'
    """
    if "#REF!" not in text.upper():
        return text
    out, last = [], 0
    for quoted in _QUOTED.finditer(text):
        out += [_STALE_REF.sub("#REF!", text[last:quoted.start()]), quoted.group(0)]
        last = quoted.end()
    out.append(_STALE_REF.sub("#REF!", text[last:]))
    if any(re.search(r"#REF!\s*:|:\s*#REF!", part) for part in out[::2]):
        return "=#REF!" if text.startswith("=") else "#REF!"
    return "".join(out)


def _drop_stale_refs(book) -> None:
    """:func:`_stale_refs` on every formula and defined name of an openpyxl ``book``."""
    from openpyxl.worksheet.formula import ArrayFormula
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, ArrayFormula) and c.value.text:
                    c.value.text = _stale_refs(c.value.text)
                elif c.data_type == "f" and isinstance(c.value, str):
                    c.value = _stale_refs(c.value)
        for dn in getattr(ws, "defined_names", {}).values():
            if dn.attr_text:
                dn.attr_text = _stale_refs(dn.attr_text)
    for dn in book.defined_names.values():
        if dn.attr_text:
            dn.attr_text = _stale_refs(dn.attr_text)


def is_message(value, function_messages=frozenset()) -> bool:
    """Whether a value read back says something went wrong instead of giving a result: an
    Excel error value, a template's ``check inputs``, a single value that says ``does not
    fit...``, ``cannot run...`` or ``no catalog GPU...`` (in a range, such as the planner's
    table of GPUs, each is one row's answer; a ``-`` is an answer too: no breakeven, so no GPUs
    at it), or one of ``function_messages`` (text
    that xlnapkin's number functions returned, :attr:`Workbook.function_messages`), anywhere in
    a range.

    >>> is_message("#N/A"), is_message("Check inputs"), is_message([[1, "#REF!"]]), is_message(2)
    (True, True, True, False)
    >>> is_message("does not fit: needs 11 or more GPUs per replica"), is_message([["does not fit"]])
    (True, False)
    >>> is_message("cannot run: the model's attention heads do not split"), is_message("-")
    (True, False)
    >>> is_message("batch must be a number >= 0, got -5", {"batch must be a number >= 0, got -5"})
    True
    """
    if isinstance(value, list):
        return any(_says_wrong(v, function_messages) for v in value)
    return _says_wrong(value, function_messages) or (
        isinstance(value, str) and value.startswith(_NO_ANSWER))


# How a template's single answer says it has none (the templates' own wording).
_NO_ANSWER = ("does not fit", "cannot run", "no catalog GPU")


def _says_wrong(value, function_messages) -> bool:
    if isinstance(value, list):
        return any(_says_wrong(v, function_messages) for v in value)
    return is_error_value(value) or (isinstance(value, str) and (
        value.strip().lower() == "check inputs" or value in function_messages))


def is_check_name(name: str) -> bool:
    """A defined name for a workbook check: ``check``, ``checks`` or ``check_...`` (the
    templates' Checks block: each cell says OK or what is wrong).

    >>> is_check_name("check_batch"), is_check_name("checks"), is_check_name("checkout")
    (True, True, False)
    """
    lower = name.lower()
    return lower in ("check", "checks") or lower.startswith("check_")


def _not_ok(value) -> bool:
    """A check cell that does not say OK (empty cells in a range of checks are not checks)."""
    return value is not None and value != "" and not (
        isinstance(value, str) and value.strip().upper() == "OK")


def is_error_value(value) -> bool:
    """Whether a value read back is an Excel error (``#REF!``, ``#DIV/0!``, ...).

    >>> is_error_value("#REF!"), is_error_value("#REF! is an error"), is_error_value(0)
    (True, False, False)
    """
    return isinstance(value, str) and value in _ERROR_VALUES


# --- checking the file before parsing it ---------------------------------------------------------

_XML_START = re.compile(rb"^[ \t\r\n]*(?:\xef\xbb\xbf)?[ \t\r\n]*<")
_WIDE_START = re.compile(rb"^(?:\xff\xfe|\xfe\xff|\x00\x00\xfe\xff|[ \t\r\n]*(?:\x00+<|<\x00))")
_DECLARED = re.compile(rb"^[^<]*<\?xml[^>]*?\bencoding\s*=\s*[\"']([^\"']*)[\"']")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)
# start tags that cost formulas or openpyxl work; attribute values may hold '>' but never '<'
_TAG = re.compile(rb"<(/?)(?:[A-Za-z_][\w.-]*:)?(sheetData|row|c|f|mergeCell|hyperlink|definedName"
                  rb"|comment|threadedComment|xf|font|fill|border|numFmt|dxf)"
                  rb"(?=[\s/>])((?:[^<>\"']|\"[^\"<]*\"|'[^'<]*')*)>")
_STYLE_TAGS = (b"xf", b"font", b"fill", b"border", b"numFmt", b"dxf")
# openpyxl makes a cell for each cell a merge, a link or a comment names
_RANGE_TAGS = (b"mergeCell", b"hyperlink", b"comment", b"threadedComment")
_ATTR = re.compile(rb"""(?:^|\s)(r|ref)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_A1 = re.compile(rb"^\$?([A-Za-z]{1,3})\$?([0-9]{1,9})$")


class _Scan:
    """What one XML part asks of openpyxl and formulas, counted while it streams past."""

    def __init__(self, part: str):
        self.part = part
        self.in_data = False
        self.row = self.col = 0
        self.max_row = self.max_col = 0
        self.formulas = 0
        self.styles = 0
        self.comments = False  # a comments part: its cells are its sheet's (_inspect)

    def feed(self, chunk: bytes) -> None:
        if _DTD.search(chunk):
            raise RecalcError(f"part {self.part} declares a DTD or entities (<!DOCTYPE or "
                              "<!ENTITY), which a workbook never needs; not reading it")
        for m in _TAG.finditer(chunk):
            closing, tag, attrs = m.group(1), m.group(2), m.group(3)
            if tag == b"sheetData":
                self.in_data = not closing and not attrs.endswith(b"/")
            elif closing:
                continue
            elif tag == b"definedName":
                self.formulas += 1
            elif tag in _RANGE_TAGS:
                self.comments |= tag in (b"comment", b"threadedComment")
                for ref in self._attr(attrs, b"ref").split(b":"):
                    self._extend(*self._cell(ref))
            elif tag in _STYLE_TAGS:
                self.styles += 1
            elif not self.in_data:
                continue
            elif tag == b"row":
                r = self._attr(attrs, b"r")
                self.row = self._number(r) if r else self.row + 1
                self.col = 0
            elif tag == b"c":
                r = self._attr(attrs, b"r")
                if r:
                    row, self.col = self._cell(r)
                else:
                    self.col += 1
                    row = self.row
                self._extend(row, self.col)
            elif tag == b"f":
                self.formulas += 1

    @property
    def cells(self) -> int:
        return self.max_row * self.max_col

    def _extend(self, row: int, col: int) -> None:
        self.max_row, self.max_col = max(self.max_row, row), max(self.max_col, col)

    @staticmethod
    def _attr(attrs: bytes, name: bytes) -> bytes:
        for m in _ATTR.finditer(attrs):
            if m.group(1) == name:
                return (m.group(2) if m.group(2) is not None else m.group(3)).strip()
        return b""

    def _number(self, text: bytes) -> int:
        try:
            return int(float(text))
        except (ValueError, OverflowError):  # "x", "inf"
            raise RecalcError(f"part {self.part}: row number {text[:20]!r} is not a number") \
                from None

    def _cell(self, ref: bytes) -> tuple[int, int]:
        if not ref:
            return 0, 0
        m = _A1.match(ref)
        if not m:
            raise RecalcError(f"part {self.part}: {ref[:20].decode('ascii', 'replace')!r} is "
                              "not a cell reference")
        return int(m.group(2)), _column_index(m.group(1).decode("ascii"))


def _read_file(path: Path, limits: Limits) -> bytes:
    """The file's bytes, refused when larger than ``max_total_mb`` (without reading it all)."""
    cap = int(limits.max_total_mb * _MB)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        # read what fstat says is there (read(cap) would set aside cap bytes), then whatever
        # a file still being written added, up to the cap
        data = f.read(size + 1) if size <= cap else b""
        if len(data) > size:
            data += f.read(cap + 1 - len(data))
    if size > cap or len(data) > cap:
        raise LimitError(f"{path.name} is {_mb(max(size, len(data)))} MB, over the limit of "
                         f"{limits.max_total_mb:g} MB", "max_total_mb")
    return data


def _inspect(data: bytes, name: str, limits: Limits) -> None:
    """Check a workbook's bytes before any XML parser sees them (see the module docstring).

    Sizes come from the zip's directory first, so an oversized part is refused without being
    inflated; then every part is inflated in chunks through a counting reader (which also checks
    its CRC) and every XML part is scanned for a DTD and for the cells and formulas it holds.
    """
    if data[:8] == _CFB_MAGIC:  # what Excel saves with a password to open, or an .xls
        raise RecalcError(f"cannot read {name}: it is an OLE compound file, not a zip: a workbook "
                          "saved with a password to open (Excel encrypts the whole file) or an "
                          "old .xls; save it as .xlsx without a password and try again")
    try:
        entries = _entry_count(data)
        if entries <= _MAX_ENTRIES:
            zf = zipfile.ZipFile(io.BytesIO(data))
            entries = len(zf.infolist())  # the end record may understate it
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise RecalcError(f"cannot read {name}: not a valid .xlsx file ({exc})") from None
    if entries > _MAX_ENTRIES:
        raise RecalcError(f"cannot read {name}: it has {entries:,} zip entries; a workbook has "
                          f"far fewer (at most {_MAX_ENTRIES:,} are read)")
    part_cap, total_cap = int(limits.max_part_mb * _MB), int(limits.max_total_mb * _MB)
    infos = zf.infolist()
    # a part name twice (package names ignore case): which copy a reader takes is its own
    # choice, so what is printed could differ from what Excel shows (a hardening review:
    # openpyxl read the last copy, and --out wrote both again)
    seen = set()
    for info in infos:
        key = info.filename.lower()
        if key in seen:
            raise RecalcError(f"cannot read {name}: part {info.filename} appears twice in the "
                              "zip")
        seen.add(key)
    total = 0
    for info in infos:
        if info.file_size > part_cap:
            raise LimitError(f"{name}: part {info.filename} is {_mb(info.file_size)} MB "
                             f"uncompressed, over the limit of {limits.max_part_mb:g} MB",
                             "max_part_mb")
        total += info.file_size
        if info.flag_bits & 0x1:
            raise RecalcError(f"cannot read {name}: part {info.filename} is encrypted")
    if total > total_cap:
        raise LimitError(f"{name}: its parts add up to {_mb(total)} MB uncompressed, over the "
                         f"limit of {limits.max_total_mb:g} MB", "max_total_mb")
    scans = {}
    for info in infos:
        scan = _scan_part(zf, info, part_cap, name)
        if scan is not None:
            scans[info.filename] = scan
    _merge_comments(zf, scans)
    cells = sum(x.cells for x in scans.values() if not x.comments)
    formulas = sum(x.formulas for x in scans.values())
    styles = sum(x.styles for x in scans.values())
    _check_sheets(zf, name)
    if styles > _MAX_STYLES:
        raise RecalcError(f"{name} has {styles:,} style records (formats, fonts, fills, "
                          f"borders); a workbook has far fewer (at most {_MAX_STYLES:,} are "
                          "read)")
    if formulas > limits.max_formulas:
        raise LimitError(f"{name} has {formulas:,} formulas and defined names, over the limit "
                         f"of {limits.max_formulas:,}", "max_formulas")
    if cells > limits.max_cells:
        raise LimitError(f"{name}: its sheets span {cells:,} cells from A1 to their last used "
                         f"row and column, over the limit of {limits.max_cells:,}", "max_cells")


_TARGET = re.compile(rb"""\bTarget\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _merge_comments(zf: zipfile.ZipFile, scans: dict) -> None:
    """Extend each part's span by the cells its comments name: openpyxl makes a cell for each
    comment of the sheet whose relationships list the comments part (a hardening audit: one
    comment on XFC1048575 took 5.3 GB). Counted apart, a sheet and its notes were two spans (a
    review: a real workbook of 17,000 cells with a note on its last row counted 51,000)."""
    for part, scan in scans.items():
        folder, base = posixpath.split(part)
        rels = f"{folder}/_rels/{base}.rels"
        if scan.comments or rels not in scans:
            continue
        for m in _TARGET.finditer(zf.read(rels)):
            target = (m.group(1) if m.group(1) is not None else m.group(2)).decode("utf-8",
                                                                                 "replace")
            other = scans.get(posixpath.normpath(posixpath.join(folder, target)))
            if other is not None and other.comments:
                scan._extend(other.max_row, other.max_col)


def _mb(n: int) -> str:
    return f"{n / _MB:,.1f}"


def _entry_count(data: bytes) -> int:
    """Entries the zip's end record announces, read before ``zipfile`` builds one object per
    entry (0 when the record cannot be read here; ``zipfile`` then says what is wrong)."""
    try:
        end = zipfile._EndRecData(io.BytesIO(data))
        return int(end[zipfile._ECD_ENTRIES_TOTAL]) if end else 0
    except (AttributeError, IndexError, TypeError, ValueError, OSError):
        return 0


def _scan_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, name: str):
    """Inflate one part in chunks, at most ``cap`` bytes; scan it when it is XML."""
    scan, carry, read, first = None, b"", 0, True
    try:
        with zf.open(info) as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                read += len(chunk)
                if read > cap:
                    raise LimitError(f"{name}: part {info.filename} inflates to more than "
                                     f"{_mb(cap)} MB, over the limit", "max_part_mb")
                if first:
                    first = False
                    head = chunk[:512]
                    if _WIDE_START.match(head):
                        raise RecalcError(f"cannot read {name}: part {info.filename} is not "
                                          "UTF-8 XML")
                    if not _XML_START.match(head):
                        return None  # an image or other binary part: no parser reads it
                    declared = _DECLARED.match(head)
                    if declared and declared.group(1).lower() not in (
                            b"utf-8", b"utf8", b"us-ascii", b"ascii"):
                        raise RecalcError(
                            f"cannot read {name}: part {info.filename} declares encoding "
                            f"{declared.group(1)[:20].decode('ascii', 'replace')!r}; only "
                            "UTF-8 is read")
                    scan = _Scan(info.filename)
                text = carry + chunk
                cut = text.rfind(b"<")  # a tag never contains '<': none spans the cut
                if cut <= 0:
                    carry = text
                    continue
                scan.feed(text[:cut])
                carry = text[cut:]
            if scan is not None and carry:
                scan.feed(carry)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise RecalcError(f"cannot read {name}: part {info.filename} is corrupt ({exc})") \
            from None
    except RecalcError as exc:
        if isinstance(exc, LimitError) or str(exc).startswith("cannot read"):
            raise
        raise RecalcError(f"cannot read {name}: {exc}") from None
    return scan


# --- registering the functions with formulas ----------------------------------------------------

class _Blank(int):
    """What ``formulas`` passes for an omitted argument (``,,``): 0 to Excel's own functions,
    a blank to xlnapkin's (so the argument takes its default, as in Excel)."""

    def __repr__(self):
        return "blank"


_BLANK = _Blank(0)


def _import_formulas():
    # formulas' function modules, compiled without a bytecode cache, warn about their own
    # `is` comparisons with literals: noise on a user's screen, not about their workbook.
    warnings.filterwarnings("ignore", category=SyntaxWarning, module=r".*[\\/]formulas[\\/]")
    try:
        import formulas
        import formulas.functions as functions  # its table, before the modules it loads
    except ImportError:
        raise RecalcError(_INSTALL_HINT) from None
    if not getattr(functions.wrap_func, "keeps_memory_errors", False):
        functions.wrap_func = _keeping_memory_errors(functions.wrap_func)
        for name in functions.SUBMODULES:  # loaded before (by another import): wrapped again
            module = sys.modules.get(f"formulas.functions{name}")
            if module is not None:
                importlib.reload(module)
    _formulas_fixes.module_rules()
    return formulas


def preload() -> None:
    """formulas and the function modules it loads when it first reads a formula (scipy.stats
    among them), imported now: a child process forked after this inherits them, and its
    memory limit counts the work alone (a hardening audit: under ``--max-memory-mb 200`` the
    child failed to map scipy's shared libraries and reported "cannot recalculate:
    ImportError"). Nothing where formulas is not installed (the command says so later)."""
    with contextlib.suppress(RecalcError):
        _import_formulas()
        import formulas.functions
        formulas.functions.get_functions()


class _OutOfMemory(BaseException):
    """A MemoryError in one of formulas' functions, carried past the ``except Exception`` with
    which formulas makes any error in a function ``#VALUE!``: a formula whose values passed the
    memory limit read as a wrong value, saved with ``--out`` (a hardening audit:
    ``SUM(MMULT(A1:A8000,TRANSPOSE(A1:A8000)))`` under the default 2,000 MB)."""


def _keeping_memory_errors(wrap_func):
    """formulas' ``wrap_func`` with each function's MemoryError raised as :class:`_OutOfMemory`.
    Its function modules wrap their functions when they load (:func:`_import_formulas` reloads
    any that loaded before it; ARRAY and ARRAYROW, wrapped with the package, make no arrays of
    their own)."""
    def wrap(func, ranges=False):
        @functools.wraps(func)
        def guarded(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except MemoryError:
                raise _OutOfMemory from None
        return wrap_func(guarded, ranges)
    wrap.keeps_memory_errors = True
    return wrap


def _to_excel(value):
    """One argument as formulas gives it -> what xlwings would pass (scalar or rows)."""
    import numpy as np
    import schedula
    from formulas.ranges import Ranges
    if isinstance(value, Ranges):
        value = value.value
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return _to_excel(value.item())
        rows = value.reshape(value.shape[0], -1) if value.ndim != 2 else value
        if rows.shape == (1, 1):
            return _to_excel(rows[0, 0])
        return [[_to_excel(v) for v in row] for row in rows]
    if value is schedula.EMPTY or type(value) is _Blank:
        return None
    if isinstance(value, np.generic):
        return value.item()
    formulas = _import_formulas()
    if isinstance(value, formulas.XlError):
        return str(value)  # as xlwings' err_to_str: "#DIV/0!" (the boundary then says so)
    return value


@functools.lru_cache(maxsize=1)
def _spill_class():
    from formulas.functions import Array
    na = _import_formulas().NA

    class Spill(Array):
        """A function's table, cropped or padded with #N/A to the cells it is shown in, as
        Excel does for an array formula (a single cell shows the top-left value)."""

        def reshape(self, shape, *more, order="C"):
            import numpy as np
            if more or isinstance(shape, int) or len(shape) != 2 or self.ndim != 2:
                return super().reshape(shape, *more, order=order)
            rows, cols = shape
            src = np.asarray(self)
            if src.shape[0] == 1 and rows > 1:
                src = np.repeat(src, rows, axis=0)
            if src.shape[1] == 1 and cols > 1:
                src = np.repeat(src, cols, axis=1)
            out = np.full((rows, cols), na, dtype=object)
            r, c = min(rows, src.shape[0]), min(cols, src.shape[1])
            out[:r, :c] = src[:r, :c]
            return out.view(Array)

    return Spill


class _Counter:
    """Counts calls of xlnapkin's functions and reports now and then (progress on stderr); keeps
    the messages that functions returned in place of a number (``messages``)."""

    def __init__(self):
        self.calls, self.report, self._next, self.messages = 0, None, 0.0, set()

    def start(self, report):
        self.calls, self.report, self._next = 0, report, time.monotonic() + 1.0
        self.messages = set()

    def tick(self):
        self.calls += 1
        if self.report is not None and time.monotonic() >= self._next:
            self._next = time.monotonic() + 1.0
            self.report(f"  {self.calls} xlnapkin function calls so far")


_COUNTER = _Counter()


def _texts(result):
    """The non-empty text cells of a function's result (a value or nested lists)."""
    if isinstance(result, list):
        return [t for item in result for t in _texts(item)]
    return [result] if isinstance(result, str) and result else []


def _adapter(func):
    from formulas.functions import wrap_ranges_func

    @functools.wraps(func)
    def call(*args):
        try:
            return _call(*args)
        except MemoryError:  # the limit's, not the cell's: the scheduler would leave the
            raise _OutOfMemory from None  # cell without a value (#CALC!) and go on

    def _call(*args):
        _COUNTER.tick()
        values = [_to_excel(a) for a in args]
        if getattr(func, "text_result", True) and hasattr(func, "evaluate"):
            # Text is a text function's answer: only an error it raises is a message.
            try:
                result = func.evaluate(*values)
            except NapkinError as err:
                result = str(err)
                _COUNTER.messages.add(result)
        else:
            result = func(*values)
            answers = getattr(getattr(func, "engine", None), "answer_texts", frozenset())
            # text in place of a number says why there is none (unless it is an answer: "never")
            _COUNTER.messages.update(t for t in _texts(result) if t not in answers)
        if isinstance(result, list):
            import numpy as np
            return np.array(result, dtype=object).view(_spill_class())
        return result
    # formulas' own wrapper reads the ranges' values and waits while one has none yet
    return wrap_ranges_func(call)


# Excel's most characters in one cell (UTF-16 units); a formula whose text would be longer is
# #VALUE! there.
TEXT_LIMIT = 32_767
_ORIGINAL: dict = {}  # formulas' own text functions and '&', wrapped once by _text_limits


def _utf16_len(text: str) -> int:
    """Length as Excel counts it: UTF-16 units (a character outside the BMP, an emoji, is 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _over_limit(text) -> bool:
    """Text longer than :data:`TEXT_LIMIT` (half of it in characters is always within)."""
    return isinstance(text, str) and len(text) > TEXT_LIMIT // 2 and \
        _utf16_len(text) > TEXT_LIMIT


def _text_limits(table) -> None:
    """Give formulas Excel's 32,767-character limit on text (it has none, so a ten-character
    ``REPT`` a billion times would build 10 GB). ``REPT``, ``SUBSTITUTE`` and ``TEXTJOIN``
    refuse before building their text, and so does ``REGEXREPLACE`` (:func:`_regex_functions`);
    every other text function and ``&`` checks what it built."""
    from formulas.functions import Error, replace_empty, wrap_func, wrap_ufunc
    from formulas.functions import operators, text
    too_long = Error.errors["#VALUE!"]

    def plain(value):  # an omitted argument is empty text, as in Excel
        return "" if isinstance(value, _Blank) else text._str(value)

    def rept(value, times):
        value, n = plain(value), int(float(replace_empty(times)))
        if n < 0 or _utf16_len(value) * n > TEXT_LIMIT:
            return too_long
        return value * n if value else ""

    def substitute(value, old, new, instance_num=None):
        v, o, w = plain(value), plain(old), plain(new)
        if not o and (instance_num is None or instance_num >= 1):
            return v  # Excel leaves the text as it is (Python puts new between characters)
        if instance_num is None and len(w) > len(o) and \
                _utf16_len(v) + v.count(o) * (_utf16_len(w) - _utf16_len(o)) > TEXT_LIMIT:
            return too_long
        return _capped(text.xsubstitute(v, o, w, instance_num), too_long)

    if not _ORIGINAL:
        _ORIGINAL.update({name: table[name] for name in text.FUNCTIONS if name in table})
        _ORIGINAL["&"] = operators.OPERATORS["&"]
    for name, func in _ORIGINAL.items():
        capped = functools.partial(_capped_call, func, too_long)
        if name == "&":
            operators.OPERATORS["&"] = capped
        else:
            table[name] = capped

    def textjoin(delimiter, ignore_empty, first, *rest):
        # the joined length, counted part by part, before the join (a long delimiter over a
        # range of 100,000 cells would be gigabytes)
        parts = (text.flatten((first,) + rest, text.is_not_empty) if ignore_empty else
                 (replace_empty(v, "") for v in text.flatten((first,) + rest, None)))
        between = _utf16_len(text._str(next(text.flatten(delimiter, None), "")))
        total, count = 0, 0
        for part in parts:
            total += _utf16_len(text._str(part)) + (between if count else 0)
            count += 1
            if total > TEXT_LIMIT:
                return too_long
        return text.xtextjoin(delimiter, ignore_empty, first, *rest)

    table["REPT"] = wrap_ufunc(rept, **text._kw0)
    table["SUBSTITUTE"] = wrap_ufunc(substitute, **text._kw0)
    table["TEXTJOIN"] = table["_XLFN.TEXTJOIN"] = wrap_func(textjoin)


# Functions that, as Excel's do, take only the numbers from a cell reference: text there is
# skipped, even "5", and so are TRUE and FALSE. formulas takes such text as its number, so a
# teams table with a volume typed as text passed its COUNTA = COUNT check here and failed it in
# Excel; MAX, MEDIAN and the rest gave #VALUE!; PRODUCT took FALSE for 0, and NPV counted text
# and TRUE as cash flows. Only references are changed: a value an expression builds
# ("5"&"", --A1) is converted as before, and so is an array an expression builds (Excel skips
# the text there too, formulas still converts it). {name: the first argument that holds numbers}
_NUMBERS_ONLY = {name: 0 for name in (
    "SUM", "SUMSQ", "PRODUCT", "SUMPRODUCT", "COUNT", "AVERAGE", "MAX", "MIN", "MEDIAN", "STDEV",
    "STDEVP", "STDEV.S", "STDEV.P", "VAR", "VARP", "VAR.S", "VAR.P", "GEOMEAN", "HARMEAN",
    "AVEDEV", "DEVSQ")} | {"NPV": 1}  # NPV's rate is one value, as any argument (IRR:
# _formulas_fixes, as formulas' takes a blank for a cash flow of 0)
# The criteria functions: their range of numbers to add (SUMIF's third argument, SUMIFS's first)
# skips text whatever the criterion; a range of criteria skips it where its criterion is an
# order ("<0", ">=5"), which only numbers meet. {name: (where the (range, criterion) pairs
# start, where the range of numbers is or None)}
_CRITERIA = {"COUNTIF": (0, None), "SUMIF": (0, 2), "AVERAGEIF": (0, 2), "COUNTIFS": (0, None),
             "SUMIFS": (1, 0), "AVERAGEIFS": (1, 0), "MAXIFS": (1, 0), "MINIFS": (1, 0)}
_ORDER = re.compile(r"(<=|>=|<|>)\s*[-+.\d]")
_NUMERIC_ORIGINAL: dict = {}  # formulas' own, wrapped once by _numbers_only


def _reference_values(value):
    """A cell reference's values; None for anything else, or a range formulas cannot read yet
    (its own error comes later)."""
    from formulas.ranges import Ranges
    if not isinstance(value, Ranges):
        return None
    try:
        return value.value
    except Exception:  # noqa: BLE001
        return None


def _without_text(value):
    """A cell reference's values with its text and TRUE/FALSE cells blank; anything else as it
    is (an error value, a str to Python, stays and counts)."""
    import numpy as np
    from schedula import EMPTY
    from schedula.utils.gen import Token  # errors and the blank
    values = _reference_values(value)
    if not (isinstance(values, np.ndarray) and values.dtype == object):
        return value
    text = np.frompyfunc(lambda x: isinstance(x, (str, bool, np.bool_)) and
                         not isinstance(x, Token), 1, 1)(values).astype(bool)
    if not text.any():
        return value
    values = values.copy()
    values[text] = EMPTY
    return values


def _is_order(criterion) -> bool:
    """A criterion (typed, in a cell, or built with &) that compares numbers by order."""
    import numpy as np
    from formulas.ranges import Ranges
    if isinstance(criterion, Ranges):
        criterion = _reference_values(criterion)
    if isinstance(criterion, np.ndarray) and criterion.size == 1:
        criterion = criterion.item()
    return isinstance(criterion, str) and bool(_ORDER.match(criterion))


def _numbers_only(table) -> None:
    """Excel's rule for text in references (:data:`_NUMBERS_ONLY`, :data:`_CRITERIA`)."""
    if not _NUMERIC_ORIGINAL:
        names = [p + n for n in (*_NUMBERS_ONLY, *_CRITERIA) for p in ("", "_XLFN.")]
        _NUMERIC_ORIGINAL.update({n: table[n] for n in names if n in table})

    def numbers(func, first, *args):
        return func(*args[:first], *(_without_text(a) for a in args[first:]))

    def criteria(func, layout, *args):
        pairs, numbers_at = layout
        args = list(args)
        if numbers_at is not None and numbers_at < len(args):  # SUMIF's is optional
            args[numbers_at] = _without_text(args[numbers_at])
        elif numbers_at is not None and len(args) == numbers_at:  # its range then adds itself:
            args.append(_without_text(args[0]))  # its numbers alone (an audit: "5" added 5)
        for k in range(pairs, len(args) - 1, 2):
            if _is_order(args[k + 1]):
                args[k] = _without_text(args[k])
        return func(*args)

    for name, func in _NUMERIC_ORIGINAL.items():
        bare = name.replace("_XLFN.", "")
        table[name] = (functools.partial(criteria, func, _CRITERIA[bare]) if bare in _CRITERIA
                       else functools.partial(numbers, func, _NUMBERS_ONLY[bare]))


def _capped(value, too_long):
    return too_long if _over_limit(value) else value


class _RegexClock:
    """The time left to the regular expressions of one load or recalculation
    (:attr:`Limits.max_regex_seconds`); ``ran_out`` once a call was cut short."""

    def __init__(self):
        self.deadline, self.limit, self.ran_out = float("inf"), float("inf"), False

    def start(self, seconds):
        self.deadline, self.limit, self.ran_out = time.monotonic() + seconds, seconds, False

    def left(self) -> float:
        """Seconds left [s]; TimeoutError when none are."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        # regex's own timeout runs out at once past about 1e14 s: a day is beyond any formula
        return min(left, 86400.0)


_REGEX_CLOCK = _RegexClock()


def _regex_functions(table) -> None:
    """``REGEXTEST``, ``REGEXEXTRACT`` and ``REGEXREPLACE`` with a clock and a length check.

    formulas runs them with Python's ``re``, which cannot be stopped: ``REGEXTEST`` of 40 a's
    and a "!" against ``(a+)+$`` would run for hours, and ``REGEXREPLACE`` of 30,000 characters
    with an empty pattern builds 900 million characters before the 32,767-character check. Here
    they run on the ``regex`` package (formulas' own dependency), whose matching takes a
    timeout: the time left on :data:`_REGEX_CLOCK`; a call cut short is ``#VALUE!`` and the load
    or recalculation then stops with a :class:`LimitError`. ``REGEXREPLACE`` adds up its
    result's length match by match and is ``#VALUE!`` past :data:`TEXT_LIMIT` before building
    it. Otherwise as formulas has them, but ``REGEXTEST`` looks for the pattern anywhere in the
    text, as Excel's does (formulas matched at the start only)."""
    import regex
    from formulas.functions import Error, FoundError, replace_empty, text, wrap_ufunc
    value_error = Error.errors["#VALUE!"]

    def compiled(pattern, case_sensitivity):
        case = int(float(replace_empty(case_sensitivity)))
        if case not in (0, 1):
            raise FoundError(err=value_error)
        return regex.compile(text._str(pattern), regex.IGNORECASE if case else 0)

    def timed(func):
        @functools.wraps(func)
        def run(*args):
            try:
                return func(*args)
            except TimeoutError:
                _REGEX_CLOCK.ran_out = True
                return value_error
        return run

    @timed
    def test(value, pattern, case_sensitivity=0):
        rx = compiled(pattern, case_sensitivity)
        return rx.search(text._str(value), timeout=_REGEX_CLOCK.left()) is not None

    @timed
    def extract(value, pattern, return_mode=0, case_sensitivity=0):
        rx, string = compiled(pattern, case_sensitivity), text._str(value)
        mode = int(float(replace_empty(return_mode)))
        if mode == 0:
            found = rx.search(string, timeout=_REGEX_CLOCK.left())
            got = [found.group(0) if found else None]
        elif mode == 1:
            got = [m.group(0) for m in rx.finditer(string, timeout=_REGEX_CLOCK.left())]
            got = got or [None]
        elif mode == 2:
            found = rx.search(string, timeout=_REGEX_CLOCK.left())
            got = list(found.groups() or [value_error]) if found else [None]
        else:
            return value_error
        return [Error.errors["#N/A"] if v is None else v for v in got]

    @timed
    def replace(value, pattern, replacement, occurrence=0, case_sensitivity=0):
        rx, string = compiled(pattern, case_sensitivity), text._str(value)
        new, count = text._str(replacement), int(float(replace_empty(occurrence)))
        if count < 0:
            return value_error
        length = _utf16_len(string)
        for n, found in enumerate(rx.finditer(string, timeout=_REGEX_CLOCK.left()), 1):
            length += _utf16_len(found.expand(new)) - _utf16_len(found.group(0))
            if length > TEXT_LIMIT:
                return value_error
            if n == count:
                break
        return rx.sub(new, string, count=count, timeout=_REGEX_CLOCK.left())

    for name, func, extra in (("REGEXTEST", test, {}),
                              ("REGEXEXTRACT", extract,
                               {"return_func": text._xregexextract_return_func}),
                              ("REGEXREPLACE", replace, {})):
        wrapped = wrap_ufunc(func, check_nan=False, **extra, **text._kw0)
        table[name] = table["_XLFN." + name] = functools.partial(_capped_call, wrapped,
                                                                 value_error)


def _capped_call(func, too_long, *args, **kwargs):
    """``func``'s result with any text over :data:`TEXT_LIMIT` as ``#VALUE!`` (arrays too)."""
    import numpy as np
    out = func(*args, **kwargs)
    if isinstance(out, np.ndarray) and out.dtype == object:
        long = [i for i, v in enumerate(out.flat) if _over_limit(v)]
        if long:
            out = out.copy()
            for i in long:
                out.flat[i] = too_long
        return out
    return _capped(out, too_long)


def register(functions=None) -> list[str]:
    """Add xlnapkin's Excel functions to formulas' function table; return their names.

    ``functions`` defaults to every function in the registry. Calling it again refreshes the
    table (a function added since is picked up).
    """
    formulas = _import_formulas()
    if functions is None:
        from .docgen import functions as registered
        functions = registered()
    table = formulas.get_functions()
    _text_limits(table)
    _regex_functions(table)
    _numbers_only(table)
    _formulas_fixes.table_rules(table)
    for name, func in functions.items():
        table[name.upper()] = _adapter(func)
    return list(functions)


@contextlib.contextmanager
def _formulas_session(progress, opener=None, regex_seconds=Limits.max_regex_seconds):
    """formulas set up for one load or recalculation, under the module lock: blanks for omitted
    arguments, its progress bar and log warnings off, xlnapkin's functions in its table,
    workbooks opened only through ``opener`` (see :class:`_Opener`), and ``regex_seconds`` for
    the regular expressions (:data:`_REGEX_CLOCK`)."""
    formulas = _import_formulas()
    from formulas.builder import AstBuilder
    from formulas.excel import xlreader
    from formulas.tokens import operand
    from formulas.tokens.operand import Empty
    excel_module = __import__(formulas.ExcelModel.__module__, fromlist=["tqdm"])
    with _LOCK:
        register()
        saved_compile = Empty.__dict__["compile"]
        saved_build = AstBuilder.__dict__["compile"]
        saved_sheet_id = operand._build_sheet_id
        saved_get_name = excel_module._get_name
        saved_tqdm = excel_module.tqdm
        saved_loader = xlreader.load_workbook
        saved_number = operand.Number._re, operand.Number.__dict__["compile"]
        quiet = types.SimpleNamespace(tqdm=_NoProgressBar)
        silence = logging.NullHandler()  # its warnings would reach stderr through lastResort
        loggers = [logging.getLogger(n) for n in ("formulas", "schedula")]
        Empty.compile = staticmethod(lambda: _BLANK)
        AstBuilder.compile = _names_it_uses(saved_build)
        excel_module.tqdm = quiet
        xlreader.load_workbook = opener or _refuse_to_open
        operand._build_sheet_id = _quoted_sheet_id
        excel_module._get_name = functools.partial(_unquoted_name, saved_get_name)
        operand.Number._re, operand.Number.compile = _number_pattern(), _number_value
        for logger in loggers:
            logger.addHandler(silence)
        _COUNTER.start(progress)
        _REGEX_CLOCK.start(regex_seconds)
        try:
            # a workbook's own overflow (=EXP(1000)) is its cell's #NUM!, and a file without a
            # default style is still read: neither is a warning on the user's screen
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                warnings.filterwarnings("ignore", category=UserWarning, module=r"openpyxl\.")
                yield formulas
        finally:
            Empty.compile = saved_compile
            AstBuilder.compile = saved_build
            excel_module.tqdm = saved_tqdm
            xlreader.load_workbook = saved_loader
            operand._build_sheet_id = saved_sheet_id
            excel_module._get_name = saved_get_name
            operand.Number._re, operand.Number.compile = saved_number
            for logger in loggers:
                logger.removeHandler(silence)
            _COUNTER.report = None


def _names_it_uses(compile_):
    """formulas' ``AstBuilder.compile`` with only the defined names the formula uses: it looks
    each of the workbook's names up among the formula's nodes, building that list anew for each
    name, which took a sixth of the time to load the capacity planner (some 560 names, 7,700
    formulas). The model it builds is the same."""
    @functools.wraps(compile_)
    def compile(self, references=None, context=None, **inputs):
        if references:
            nodes = self.dsp.data_nodes
            references = {k: v for k, v in references.items() if k in nodes}
        return compile_(self, references, context, **inputs)
    return compile


@functools.lru_cache(maxsize=1)
def _number_pattern():
    """formulas' pattern of a number in a formula, with the exponent's sign optional and a
    trailing point allowed (``1E9``, ``1.``), as Excel reads them: formulas' own needs
    ``1E+9``, so a file written by another program that holds ``=A1*1E6`` failed to load."""
    import regex
    return regex.compile(
        r'^\s*(?P<name>(?>[0-9]+(?>\.[0-9]*)?|\.[0-9]+)(?>E[+-]?[0-9]+)?|'
        r'TRUE(?!\(\))|FALSE(?!\(\)))(?!([a-z]|[0-9]|\.|\s*\:))\s*', regex.IGNORECASE)


def _number_value(token):
    """A number token's value, as formulas' own ``Number.compile`` gives it (an int for digits
    alone, else a float; TRUE and FALSE) but without Python's ``eval``, which refuses ``007``
    (leading zeros), so that such a workbook failed to load."""
    text = token.name.upper()
    if text in ("TRUE", "FALSE"):
        return text == "TRUE"
    return int(text) if text.isdigit() else float(text)


def _quoted_sheet_id(sheet="", directory="", filename="", **_):
    """The sheet part of a cell's name in formulas (``'[book.xlsx]SHEET'``), as
    ``formulas.tokens.operand._build_sheet_id`` builds it but with an apostrophe in the sheet's
    name doubled inside the quotes, as Excel writes it: formulas' own version leaves it single,
    and its parser then reads no sheet there, so every cell of such a sheet was ``#REF!``."""
    from formulas.tokens.operand import _re_build_id
    sheet = sheet.replace("''", "'").upper()
    quoted = sheet.replace("'", "''")
    if filename and _re_build_id.match(filename):  # an external link's number
        return f"'[{filename}]{quoted}'" if "'" in sheet else f"[{filename}]{sheet}"
    if filename:
        if directory and not directory.endswith("/"):
            directory += "/"
        return f"'{directory}[{filename}]{quoted}'"
    return f"'{quoted}'" if " " in sheet or "'" in sheet else sheet


def _unquoted_name(get_name, name, names):
    """formulas' ``_get_name`` (the sheet or book in ``names`` that ``name`` names, whatever
    its case) for a name taken from a quoted reference, whose apostrophes are still doubled."""
    found = get_name(name, names)
    if found not in names and "''" in name:
        return get_name(name.replace("''", "'"), names)
    return found


def _refuse_to_open(filename, *args, **kwargs):
    raise RecalcError(f"not opening {filename} while recalculating")


def _read_book(data: bytes, _raw_data=False, **kwargs):
    """An openpyxl workbook from bytes already checked by :func:`_inspect`, read the way
    ``formulas.excel.xlreader.load_workbook`` reads a file."""
    from formulas.excel.xlreader import XlReader
    reader = XlReader(io.BytesIO(data), _raw_data=_raw_data, **kwargs)
    reader.read()
    return reader.wb


class _Opener:
    """The only way formulas opens a workbook while xlnapkin loads one.

    The first call is the input: it is read from the bytes :func:`_inspect` checked (so the file
    is read once). Any later call is another workbook that a formula, a defined name or an
    external-link part names: refused (formulas then makes the reference ``#REF!``) and
    remembered in ``refused``, unless ``allow_external``; then it is read under the same limits.
    Without ``allow_external`` the input's external-link list is emptied before formulas sees
    it, so it does not even resolve the paths those parts name.
    """

    def __init__(self, data: bytes, path: Path, limits: Limits, allow_external: bool):
        self.data, self.limits, self.name = data, limits, path.name
        self.folder = Path(os.path.abspath(path)).parent
        self.allow_external = allow_external
        self.refused: list[str] = []
        self.links: list[str] = []
        self.failure: RecalcError | None = None

    def __call__(self, filename, _raw_data=False, **kwargs):
        if self.data is not None:
            data, self.data = self.data, None
            book = _read_book(data, _raw_data, **kwargs)
            _check_formulas(book, self.limits, self.name)
            _drop_stale_refs(book)
            if not self.allow_external:
                self.links = [getattr(link.file_link, "Target", None) or "?"
                              for link in book._external_links]
                book._external_links = []
            return book
        path = Path(filename)
        shown = self._shown(path)
        if not self.allow_external:
            if shown not in self.refused:
                self.refused.append(shown)
            raise RecalcError(f"not opening {shown}: references to other workbooks are #REF! "
                              "unless allowed")
        try:
            if not path.is_file():
                raise RecalcError(f"no such file: {shown}")
            data = _read_file(path, self.limits)
            _inspect(data, path.name, self.limits)
            book = _read_book(data, _raw_data, **kwargs)
            _check_formulas(book, self.limits, path.name)
            _drop_stale_refs(book)
        except RecalcError as exc:
            if isinstance(exc, LimitError) and self.failure is None:
                self.failure = exc
            raise
        return book

    def _shown(self, path: Path) -> str:
        """A refused reference as the workbook wrote it: relative to the input's folder, or the
        external-link part's target for a numbered link (``[1]Sheet1!A1``)."""
        try:
            text = os.path.relpath(path, self.folder)
        except ValueError:  # another drive
            text = str(path)
        if text.isdigit() and 0 < int(text) <= len(self.links):
            return self.links[int(text) - 1]
        return text.replace(os.sep, "/")


class _NoProgressBar:
    """formulas' progress bar, silent. tqdm's own, even disabled, makes a multiprocessing
    semaphore for its lock, which a recalculation stopped at its time limit in a spawned child
    (macOS, Windows) leaves behind: a resource-tracker warning after the error line."""

    def __init__(self, iterable=(), *args, total=0, **kwargs):
        self.iterable, self.total, self.n = iterable, total, 0

    def __iter__(self):
        return iter(() if self.iterable is None else self.iterable)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __getattr__(self, name):  # update, refresh and whatever else a version calls
        return lambda *args, **kwargs: None


@functools.lru_cache(maxsize=1)
def _model_class():
    """formulas' ``ExcelModel`` that checks the range limit before it expands any range."""
    formulas = _import_formulas()

    class Model(formulas.ExcelModel):
        limits = Limits()
        book_name = "the workbook"

        def complete(self, stack=None):  # visits the cells of every range
            _check_ranges(self)
            return super().complete(stack)

        def assemble(self, compact=1):   # builds an index of every range's cells
            _check_ranges(self)
            return super().assemble(compact)

    return Model


def _check_ranges(model) -> None:
    """Refuse a model whose distinct ranges cover more cells together than ``max_range_cells``
    (formulas spends about 80 us and 0.7 kB per cell of a range)."""
    from formulas.ranges import Ranges
    total, largest, shown = 0, 0, ""
    for node in model.dsp.data_nodes:
        if not isinstance(node, str) or ":" not in node:
            continue
        try:
            rng = Ranges.get_range(node, raise_anchor=False)
            rows = int(rng["r2"]) - max(int(rng["r1"]), 1) + 1
            cols = int(rng["n2"]) - max(int(rng["n1"]), 1) + 1
        except Exception:  # not a range (a name, an error): nothing to expand
            continue
        area = max(rows, 0) * max(cols, 0)
        total += area
        if area > largest:
            largest = area
            shown = f"{rng.get('sheet', '')}!{rng.get('c1') or 'A'}{max(int(rng['r1']), 1)}:" \
                    f"{rng.get('c2') or 'XFD'}{rng['r2']}"
    cap = model.limits.max_range_cells
    if total > cap:
        raise LimitError(f"{model.book_name}: its ranges cover {total:,} cells (the largest, "
                         f"{shown}, {largest:,}), over the limit of {cap:,}", "max_range_cells")


# --- values -------------------------------------------------------------------------------------

def parse_value(text: str):
    """A value typed on the command line: a number, a percentage (as a cell typed ``70%``
    holds 0.7; a user audit found ``--set utilization=70%`` stored as text, where the
    commands' options take it), ``TRUE``/``FALSE``, text (quotes force text: ``"12"``), or a
    blank (``""``).

    >>> parse_value("64"), parse_value("h100-sxm"), parse_value('"12"'), parse_value("")
    (64, 'h100-sxm', '12', None)
    >>> parse_value("70%"), parse_value("12.5 %"), parse_value("99.9%"), parse_value("70%%")
    (0.7, 0.125, 0.999, '70%%')

    A leading dollar sign and thousands grouped with commas read as a cell typed so takes them
    (a CLI audit: ``--set tokens_per_day=10,000,000`` and ``--set price=$3`` were stored as
    text, which a template's check then refused):

    >>> parse_value("10,000,000"), parse_value("$3"), parse_value("-$1,250.5"), parse_value("1,0")
    (10000000, 3, -1250.5, '1,0')
    """
    text = text.strip()
    plain = _plain_number(text)
    number = parse_value(plain) if plain != text else None
    if type(number) in (int, float):  # a number once its $ or commas go; else text as typed
        return number
    if text.endswith("%"):  # one sign, as Excel takes it; in decimal, so 99.9% is 0.999
        body = text[:-1].strip()
        number = parse_value(body) if "%" not in body and "$" not in body else None
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            from decimal import Decimal
            return float(Decimal(_plain_number(body)) / 100)
        return text
    if text == "":
        return None
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if text.upper() in ("TRUE", "FALSE"):
        return text.upper() == "TRUE"
    try:
        number = float(text)
    except ValueError:
        return text
    if number != number or number in (float("inf"), float("-inf")):
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() \
        else number


_GROUPED = re.compile(r"\d{1,3}(,\d{3})+(\.\d*)?")
_DIGITS = re.compile(r"[0-9.,]+([eE][+-]?[0-9]+)?")


def _plain_number(text: str) -> str:
    """``text`` without a leading dollar sign (after a minus or before it) and without the
    commas of grouped thousands, where it has them; else ``text`` itself."""
    sign, body = ("-", text[1:].lstrip()) if text.startswith("-") else ("", text)
    if body.startswith("$"):
        body = body[1:].lstrip()
        if not sign and body.startswith("-"):
            sign, body = "-", body[1:].lstrip()
        if not _DIGITS.fullmatch(body):  # $70%, $true: not money as a cell reads it
            return text
    elif not sign:
        body = text
    if _GROUPED.fullmatch(body):
        body = body.replace(",", "")
    plain = sign + body
    return plain if body and plain != text and "$" not in plain and "," not in plain else text


def _python(value):
    """A cell value from formulas as plain Python: number, text, bool, None or '#ERROR!'."""
    import numpy as np
    import schedula
    formulas = _import_formulas()
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return _python(value.item())
        if value.shape == (1, 1):
            return _python(value[0, 0])
        return [[_python(v) for v in row] for row in value]
    if value is schedula.EMPTY or value is None:
        return None
    if type(value) is _Blank:
        return 0
    if isinstance(value, formulas.XlError):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _column_letters(index: int) -> str:
    out = ""
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


# A sheet's name as a reference writes it without quotes: letters, digits, "_" and "."
_PLAIN_SHEET = re.compile(r"[^\W][\w.]*")


def _reference(sheet: str, cell: str) -> str:
    """``Sheet1!B3``, or ``'Bob''s Data'!B3`` where Excel quotes the sheet's name."""
    if _PLAIN_SHEET.fullmatch(sheet):
        return f"{sheet}!{cell}"
    return "'" + sheet.replace("'", "''") + f"'!{cell}"


def _col_row(cell: str) -> tuple[int, int]:
    """``"H6"`` -> ``(8, 6)``: column and row numbers of a cell reference."""
    from openpyxl.utils.cell import column_index_from_string
    letters, row = _CELL_RE.match(cell).groups()
    return column_index_from_string(letters.upper()), int(row)


def _split_ref(ref: str) -> tuple[str | None, str]:
    """``"'My sheet'!$B$3"`` -> ``("My sheet", "B3")`` (sheet None when not given)."""
    sheet, _, cells = ref.rpartition("!")
    sheet = sheet.strip()
    if sheet.startswith("'") and sheet.endswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    return (sheet or None), _corners(cells.replace("$", "").upper())


def _corners(ref: str) -> str:
    """A range from its top-left to its bottom-right cell, as Excel reads ``A5:A1`` or
    ``B1:A1`` (``A1:A5``, ``A1:B1``)."""
    m = _RANGE_RE.match(ref)
    if not m:
        return ref
    (a, r0), (b, r1) = (m.group(1), int(m.group(2))), (m.group(3), int(m.group(4)))
    c0, c1 = sorted((a, b), key=_column_index)
    return f"{c0}{min(r0, r1)}:{c1}{max(r0, r1)}"


def _cells_of(ref: str) -> list[list[str]]:
    m = _RANGE_RE.match(ref)
    if not m:
        return [[ref]]
    c0, r0, c1, r1 = _column_index(m.group(1)), int(m.group(2)), _column_index(m.group(3)), \
        int(m.group(4))
    return [[f"{_column_letters(c)}{r}" for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]


# --- the workbook -------------------------------------------------------------------------------

class Workbook:
    """A workbook loaded for headless recalculation.

    >>> wb = Workbook("workbooks/functions_showcase.xlsx")            # doctest: +SKIP
    >>> wb.calculate({"model": "llama-3.1-8b"})                        # doctest: +SKIP
    >>> wb.values(["replica_tokens_per_sec"])                          # doctest: +SKIP
    {'replica_tokens_per_sec': 5123.4}
    """

    def __init__(self, path, *, progress=None, limits: Limits | None = None,
                 allow_external: bool = False):
        self.path = Path(path)
        self._progress = progress
        self.limits = limits or Limits()
        if self.path.is_dir():
            raise RecalcError(f"{self.path} is a folder, not a workbook")
        if not self.path.is_file():
            raise RecalcError(f"{self.path} is not a file (a pipe or a device)"
                              if self.path.exists() else f"no such file: {self.path}")
        if self.path.suffix.lower() not in _SUFFIXES:
            raise RecalcError(f"{self.path} is not an .xlsx or .xlsm workbook")
        self._say(f"loading {self.path}...")
        started = time.monotonic()
        self._raw = _read_file(self.path, self.limits)
        _inspect(self._raw, self.path.name, self.limits)
        opener = _Opener(self._raw, self.path, self.limits, allow_external)
        with _formulas_session(progress, opener, self.limits.max_regex_seconds) as formulas:
            try:
                model = _model_class()()
                model.limits, model.book_name = self.limits, self.path.name
                # formulas names cells '[book.xlsx]SHEET'!A1, which brackets in the file name
                # break (every formula #REF!): it reads the file under a name without them (the
                # opener hands it this file's bytes, whatever the name)
                self._book_name = self.path.name.replace("[", "(").replace("]", ")")
                self._model = model.loads(
                    os.path.join(os.path.dirname(os.path.abspath(self.path)),
                                 self._book_name)).finish()
                # cells whose arguments are all constants are computed here, once
                self._load_messages = frozenset(_COUNTER.messages)
            except RecalcError:
                raise
            except (MemoryError, _OutOfMemory):  # the memory limit's, as in calculate
                raise MemoryError("the workbook did not fit in memory") from None
            except Exception as exc:
                raise RecalcError(f"cannot read {self.path.name}: {_reason(exc)}") from exc
        if opener.failure is not None:
            raise opener.failure
        self._check_regex_clock()
        #: Other workbooks that formulas named and were not opened (their cells are ``#REF!``).
        self.refused_files = opener.refused
        try:
            self._book = next(iter(self._model.books.values()))[formulas.BOOK]
            self._nodes = {n.upper(): n for n in self._model.dsp.data_nodes
                           if isinstance(n, str)}
            self._prefix = f"'[{self._book_name}]"
            self.names = self._defined_names()
            #: Names defined for one sheet only (``[(sheet, name)]``): formulas reads workbook
            #: names only, so formulas that use these are ``#REF!``.
            self.sheet_names = [(ws.title, n) for ws in self._book.worksheets
                                for n in getattr(ws, "defined_names", {})]
            self.formula_cells = self._formula_cells()
            self._array_cells = self._array_index()
        except RecalcError:
            raise
        except Exception as exc:
            raise RecalcError(f"cannot read {self.path.name}: {_reason(exc)}") from exc
        self._inputs: dict[tuple[str, str], object] = {}
        self._solution = None
        self._grids: dict[str, object] = {}
        self.function_messages: frozenset[str] = self._load_messages
        self._say(f"loaded {len(self.formula_cells)} formula cells in "
                  f"{time.monotonic() - started:.1f} s")
        if self.sheet_names:
            self._say("names defined for one sheet only are not read (formulas using them are "
                      "#REF!): " + ", ".join(f"{n} ({w})" for w, n in self.sheet_names[:8]))
        if self.refused_files:
            self._say(f"not opened (references to other workbooks are #REF!; --allow-external "
                      f"opens them): {', '.join(self.refused_files)}")

    # where things are

    def _say(self, text):
        if self._progress is not None:
            self._progress(text)

    def _defined_names(self) -> dict[str, str]:
        names = {}
        for name, dn in self._book.defined_names.items():
            if name.startswith("_xlnm.") or dn.hidden:
                continue
            names[name] = dn.attr_text
        return names

    def _formula_cells(self) -> list[tuple[str, str, str | None]]:
        from openpyxl.worksheet.formula import ArrayFormula
        cells = []
        for ws in self._book.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    v = c.value
                    if isinstance(v, ArrayFormula):
                        cells.append((ws.title, c.coordinate, v.ref.replace("$", "")))
                    elif c.data_type == "f":
                        cells.append((ws.title, c.coordinate, None))
        return cells

    def _array_index(self) -> dict[tuple[str, str], tuple[str, int, int]]:
        """``{(sheet, cell): (array formula range, row, column)}`` for the cells of every array
        formula (their total is within the range limit formulas was held to)."""
        index = {}
        for sheet, anchor, ref in self.formula_cells:
            if ref:
                for i, row in enumerate(self._cells_of(ref, sheet)):
                    for j, cell in enumerate(row):
                        index[(sheet, cell)] = (ref, i, j)
        return index

    def _cells_of(self, ref: str, sheet: str = "") -> list[list[str]]:
        """The cells of ``B3`` or ``B3:D9`` as rows, refused over ``max_range_cells``."""
        m = _RANGE_RE.match(ref)
        if m:
            rows = int(m.group(4)) - int(m.group(2)) + 1
            cols = _column_index(m.group(3)) - _column_index(m.group(1)) + 1
            if rows * cols > self.limits.max_range_cells:
                where = f"{sheet}!{ref}" if sheet else ref
                raise LimitError(f"{self.path.name}: range {where} covers {rows * cols:,} "
                                 f"cells, over the limit of {self.limits.max_range_cells:,}",
                                 "max_range_cells")
        return _cells_of(ref)

    def _sheet(self, name: str | None):
        if name is None:
            return self._book.worksheets[0]
        for ws in self._book.worksheets:
            if ws.title.lower() == name.lower():
                return ws
        titles = [ws.title for ws in self._book.worksheets]
        # the first few (a hardening review: 3,000 sheets made a line of 20,000 characters)
        more = f" and {len(titles) - 8:,} more" if len(titles) > 8 else ""
        raise RecalcError(f"no sheet {name!r} in {self.path.name}: "
                          + (f"sheets are {', '.join(titles[:8])}{more}" if titles
                             else "it has no sheets"))

    def _node(self, sheet: str, ref: str) -> str | None:
        title = sheet.replace("'", "''")  # doubled, as Excel quotes it (_quoted_sheet_id)
        return self._nodes.get(f"{self._prefix}{title}'!{ref}".upper())

    def resolve(self, ref: str) -> tuple[str, str]:
        """A defined name or cell reference (``Sheet1!B3``, ``B3`` on the first sheet) ->
        ``(sheet title, "B3")`` or ``(sheet title, "B3:D9")``."""
        ref = ref.strip()
        target = None
        for name, text in self.names.items():
            if name.lower() == ref.lower():
                if not (text or "").strip():  # a hardening audit: "unknown name 'empty' (did
                    raise _NotCells(f"{ref} is empty, not a cell or range")  # you mean empty?)"
                target = text
                break
        if target is None and (_CELL_RE.match(_split_ref(ref)[1]) or
                               _RANGE_RE.match(_split_ref(ref)[1])):
            target = ref
        if target is None:
            import difflib
            names = list(self.names)
            close = difflib.get_close_matches(ref.lower(), [n.lower() for n in names], 3, 0.7)
            stem = ref.lower().removesuffix("_override")  # the templates' old input names
            if stem != ref.lower() and stem in (n.lower() for n in names):
                close = [stem] + [c for c in close if c != stem]
            close = [n for c in close for n in names if n.lower() == c][:3]
            shown = (f"did you mean {' or '.join(close)}?" if close else
                     "defined names: " + (", ".join(names[:8]) +
                                          (", ..." if len(names) > 8 else "") or "none"))
            local = [w for w, n in self.sheet_names if n.lower() == ref.lower()]
            if local:
                raise RecalcError(f"{ref!r} is defined for sheet {local[0]} only; the "
                                  "recalculation library reads workbook-wide names only (make "
                                  "it a workbook name, or ask for its cell)")
            raise RecalcError(f"unknown name {ref!r}: not a defined name ({shown}) or a cell "
                              "reference like Sheet1!B3")
        sheet, cells = _split_ref(target)
        before = target.rpartition("!")[0].strip()
        formula = (target is not ref and before and not before.startswith("'")
                   and not _PLAIN_SHEET.fullmatch(before))  # =-S!$A$1, =2*S!A1: a formula
        if formula or not (_CELL_RE.match(cells) or _RANGE_RE.match(cells)):
            raise _NotCells(f"{ref} is {target}, not a cell or range")
        from openpyxl.utils.cell import coordinate_to_tuple
        for corner in cells.replace("$", "").split(":"):
            try:
                row, col = coordinate_to_tuple(corner)
            except ValueError:
                row = col = 0
            if not (1 <= row <= 1_048_576 and 1 <= col <= 16_384):  # a hardening audit: "S!A0"
                # gave a ValueError's name; a defined name's reads as a formula's (#REF!), so
                # that the listing of every name goes on
                raise (_NotCells if target is not ref else RecalcError)(
                    f"{ref}: {corner} is not a cell of a sheet (A1 to XFD1048576)")
        try:
            return self._sheet(sheet).title, cells
        except RecalcError as exc:
            if target is ref:
                raise
            # a name left pointing at a sheet that is gone (Excel would have written #REF!):
            # that name is #REF!, and the other names are listed (a hardening audit)
            raise _StaleName(f"{ref} refers to {target}: {exc}") from None

    # calculating

    def set(self, ref: str, value) -> None:
        """Set an input cell (by defined name or reference) for the next :meth:`calculate`."""
        sheet, cell = self.resolve(ref)
        if ":" in cell:
            # the form that works, named (a review: a range input's docs gave no way in)
            first = _reference(sheet, cell.split(":")[0].replace("$", ""))
            quote = '"' if "'" in first else "'"  # a quoted sheet name: 'My sheet'!A1
            raise RecalcError(f"--set {ref}: {sheet}!{cell} is a range; set one cell at a "
                              f"time, e.g. --set {quote}{first}=...{quote}")
        if _over_limit(value):  # a hardening audit: a longer one was written
            raise RecalcError(f"--set {ref}: {_utf16_len(value):,} characters (UTF-16 units); "
                              f"a cell holds at most {TEXT_LIMIT:,}")
        if self._is_formula(sheet, cell):
            key = ref.strip().lower()
            inputs = [n for n in self.names if not self._is_formula(*self._cell_or_none(n))]
            # an input named like it (price_override) or the one it is named after (the
            # longest: gpu_price_per_hour for gpu_price_per_hour_effective, not gpu)
            inputs = ([n for n in inputs if n.lower().startswith(key + "_")]
                      or sorted((n for n in inputs if key.startswith(n.lower() + "_")),
                                key=len)[-1:])
            hint = f" (an input named like it: {', '.join(inputs[:3])})" if inputs else ""
            raise RecalcError(f"--set {ref}: {sheet}!{cell} holds a formula; only input cells "
                              f"can be set{hint}")  # a user audit: the price one types beside a formula
        self._inputs[(sheet, cell)] = value

    def _is_formula(self, sheet, cell) -> bool:
        if sheet is None:
            return True
        return self._sheet(sheet)[cell].data_type == "f" or any(
            s == sheet and c == cell for s, c, _ in self.formula_cells)

    def _cell_or_none(self, name):
        """A defined name's (sheet, cell), or (None, None) where it is no single cell."""
        try:
            sheet, cell = self.resolve(name)
        except RecalcError:
            return None, None
        return (sheet, cell) if ":" not in cell else (None, None)

    def calculate(self, inputs: dict | None = None) -> None:
        """Recalculate every formula with the inputs set so far plus ``inputs``."""
        for ref, value in (inputs or {}).items():
            self.set(ref, value)
        import schedula
        feed, loose = {}, []
        for (sheet, cell), value in self._inputs.items():
            node = self._node(sheet, cell)
            if node is None:  # an empty cell: formulas may read it only through ranges
                loose.append((sheet, cell))
                continue
            feed[node] = [[schedula.EMPTY]] if value is None else value
        #: Cells set that no formula reads, alone or in a range: setting them changes nothing.
        self.unread = [_reference(sheet, cell) for (sheet, cell) in self._inputs
                       if (node := self._node(sheet, cell)) is not None
                       and not self._model.dsp.dmap.succ.get(node)]
        if loose:
            feed.update(self._range_feeds(loose))
        self._say(f"recalculating {len(self.formula_cells)} formula cells...")
        started = time.monotonic()
        with _formulas_session(self._progress, None, self.limits.max_regex_seconds):
            try:
                self._solution = self._model.calculate(inputs=feed)
                self._grids = {}
            except (MemoryError, _OutOfMemory):  # the memory limit's, reported as such
                raise MemoryError("a formula's values did not fit in memory") from None
            except Exception as exc:
                raise RecalcError(f"cannot recalculate {self.path.name}: {_reason(exc)}") \
                    from exc
            self._check_regex_clock()
            calls = _COUNTER.calls
            #: Text that xlnapkin's number functions returned in place of a number (why a
            #: configuration cannot run, a bad argument): :func:`is_message` with these.
            self.function_messages = self._load_messages | frozenset(_COUNTER.messages)
        self._say(f"recalculated in {time.monotonic() - started:.1f} s "
                  f"({calls} xlnapkin function calls)")

    def _range_feeds(self, loose) -> dict:
        """Feeds for the ranges that hold set cells without a node of their own (cells empty in
        the file, which formulas leaves out and reads only as part of a range): each range's
        value with every set cell in it. A range that also holds a formula is refused, since
        its value comes from the recalculation itself. Cells in no range go to
        :attr:`unread`."""
        import numpy as np
        import schedula
        from formulas.ranges import Ranges
        bounds = {}
        for node in self._nodes.values():
            if ":" not in node or not node.upper().startswith(self._prefix.upper()):
                continue
            try:
                rng = Ranges.get_range(node, raise_anchor=False)
                # the name as written in the node (quotes doubled); a whole column or row
                # starts at 0 there, where its first cell is 1
                bounds[node] = (str(rng["sheet"]).replace("''", "'").upper(),
                                max(int(rng["r1"]), 1), int(rng["r2"]),
                                max(int(rng["n1"]), 1), int(rng["n2"]))
            except Exception:  # a name or an error, not a range of cells
                continue
        formulas_at = {(sheet.upper(), cell) for sheet, cell, _ in self.formula_cells}
        formulas_at |= {(sheet.upper(), cell) for sheet, cell in self._array_cells}

        def inside(box, sheet, cell):
            col, row = _col_row(cell)
            return (box[0] == sheet.upper() and box[1] <= row <= box[2]
                    and box[3] <= col <= box[4])

        feeds = {}
        for sheet, cell in loose:
            holders = [n for n, box in bounds.items() if inside(box, sheet, cell)]
            if not holders:
                self.unread.append(_reference(sheet, cell))
            for node in holders:
                if node in feeds:
                    continue
                box = bounds[node]
                if any(s == box[0] and inside(box, s, c) for s, c in formulas_at):
                    raise RecalcError(
                        f"--set {_reference(sheet, cell)}: the cell is empty, and formulas read "
                        f"it only through the range {node.rpartition('!')[2]}, which also "
                        "holds formulas; type a value into the cell in the workbook, then set it")
                grid = np.array(self._model.calculate(outputs=[node])[node].value, dtype=object)
                for (s, c), value in self._inputs.items():
                    if inside(box, s, c):
                        col, row = _col_row(c)
                        i, j = row - box[1], col - box[3]
                        # a whole column's value ends at its last used cell: pad past it
                        grow = (max(i + 1 - grid.shape[0], 0), max(j + 1 - grid.shape[1], 0))
                        if any(grow):
                            grid = np.pad(grid, ((0, grow[0]), (0, grow[1])),
                                          constant_values=schedula.EMPTY)
                        grid[i, j] = schedula.EMPTY if value is None else value
                feeds[node] = Ranges().push(node, grid)
        return feeds

    def _check_regex_clock(self):
        if _REGEX_CLOCK.ran_out:
            self._solution = None
            raise LimitError(f"{self.path.name}'s regular expressions (REGEXTEST, REGEXEXTRACT, "
                             f"REGEXREPLACE) ran past the limit of {_REGEX_CLOCK.limit:g} s",
                             "max_regex_seconds")

    def _ensure(self):
        if self._solution is None:
            self.calculate()

    def value(self, ref: str):
        """The recalculated value of a defined name or reference: a scalar for one cell, rows
        (lists) for a range. Text is a function's message; ``'#DIV/0!'`` and the like are
        Excel errors."""
        self._ensure()
        try:
            sheet, cells = self.resolve(ref)
        except _StaleName:
            return "#REF!"
        except _NotCells:  # a name for a constant or a formula (=0.05, =rate*12)
            name = next(n for n in self.names if n.lower() == ref.strip().lower())
            node = self._nodes.get(f"{self._prefix}'!{name}".upper())
            if node is None:
                return None
            if node not in self._solution:  # a named formula with no value: names in a loop
                return NOT_CALCULATED
            return self._solved(node)
        grid = [[self._cell_value(sheet, c) for c in row]
                for row in self._cells_of(cells, sheet)]
        return grid[0][0] if ":" not in cells else grid

    def _solved(self, node: str):
        value = self._solution[node]
        return _python(getattr(value, "value", value))  # Ranges, or a plain value for a name

    def _cell_value(self, sheet: str, cell: str):
        if (sheet, cell) in self._inputs:
            return self._inputs[(sheet, cell)]
        node = self._node(sheet, cell)
        if node is not None and node in self._solution:
            return self._solved(node)
        inside = self._array_cells.get((sheet, cell))  # a cell inside an array formula
        if inside is not None:
            ref, i, j = inside
            node = self._node(sheet, ref)
            if node is not None and node in self._solution:
                if node not in self._grids:  # converted once per array, not once per cell
                    self._grids[node] = self._solved(node)
                grid = self._grids[node]
                return grid[i][j] if isinstance(grid, list) else grid
        held = self._sheet(sheet)[cell]
        if held.data_type == "f" or (sheet, cell) in self._array_cells:
            return NOT_CALCULATED  # a formula formulas gave no value: never shown as a blank
        return None if held.value == "" else held.value

    def uncalculated(self) -> list[str]:
        """``Sheet!A1`` of every formula cell (an array formula by its range) that has no value
        after recalculating (a circular reference): they
        read back as :data:`NOT_CALCULATED`. Looks only at which results exist."""
        self._ensure()
        out = []
        for sheet, anchor, ref in self.formula_cells:
            node = self._node(sheet, ref or anchor)
            if node is None or node not in self._solution:
                out.append(f"{sheet}!{ref or anchor}")
        return out

    def failing_checks(self, names=None) -> list[tuple[str, object]]:
        """``[(name, value)]`` for the named checks (:func:`is_check_name`; default: all of
        them) whose value is not OK. A name for a range of checks reports each failing cell by
        its own check name, or as ``"Sheet!C12 (checks)"`` when it has none."""
        names = [n for n in (names or self.names) if is_check_name(n)]
        single = {}  # (sheet, cell) -> its check name
        for name in self.names:
            if is_check_name(name):
                with contextlib.suppress(RecalcError):
                    where = self.resolve(name)
                    if ":" not in where[1]:
                        single.setdefault(where, name)
        failing, reported = [], set()
        for name in names:
            try:
                sheet, cells = self.resolve(name)
            except (_NotCells, _StaleName):  # a named formula, or a name of a sheet gone
                sheet = cells = None
            if cells is None or ":" not in cells:
                value = self.value(name)
                if _not_ok(value) and name not in reported:
                    failing.append((name, value))
                    reported.add(name)
                continue
            rows = self._cells_of(cells, sheet)
            for row_cells, row_values in zip(rows, self.value(name)):
                for cell, value in zip(row_cells, row_values):
                    label = single.get((sheet, cell), f"{sheet}!{cell} ({name})")
                    if _not_ok(value) and label not in reported:
                        failing.append((label, value))
                        reported.add(label)
        return failing

    def values(self, refs=None) -> dict:
        """``{name: value}`` for the given names/references, or for every defined name."""
        self._ensure()
        return {ref: self.value(ref) for ref in (refs if refs else self.names)}

    # saving

    def cell_values(self) -> dict[str, dict[str, object]]:
        """``{sheet: {cell: value}}`` for every formula cell and every input that was set."""
        self._ensure()
        out: dict[str, dict[str, object]] = {}
        for sheet, anchor, ref in self.formula_cells:
            cells = self._cells_of(ref, sheet) if ref else [[anchor]]
            for row in cells:
                for cell in row:
                    out.setdefault(sheet, {})[cell] = self._cell_value(sheet, cell)
        for (sheet, cell), value in self._inputs.items():
            out.setdefault(sheet, {})[cell] = value
        return out

    def save(self, out, *, overwrite: bool = False, follow_symlink: bool = False) -> Path:
        """Write the workbook with the new inputs and recalculated cached values to ``out``;
        return the path written.

        Refuses to write over an existing file unless ``overwrite``, and to write to a symbolic
        link unless ``follow_symlink`` (then the file it points to is replaced; see
        :func:`xlnapkin._files.write_atomic`). Text that XML cannot hold (control characters)
        is left out of the file.
        """
        target = _files.check_target(out, follow_symlink=follow_symlink)
        if target.exists() and not overwrite:
            raise RecalcError(f"{out} already exists; use --force to overwrite it")
        data, missing = write_cell_values(self._raw, self.cell_values())
        lost = [f"{s}!{c}" for s, c in missing if (s, c) in self._inputs]
        if lost:
            raise RecalcError(f"cannot save: {', '.join(lost)} is empty in the file; only cells "
                              "that hold a value can be changed")
        return _files.write_atomic(out, data, follow_symlink=follow_symlink)


def recalculate(path, inputs: dict | None = None, names=None, *, out=None,
                overwrite: bool = False, progress=None, limits: Limits | None = None,
                allow_external: bool = False) -> dict:
    """Load ``path``, set ``inputs`` (``{name or ref: value}``), recalculate, optionally save
    to ``out``, and return ``{name: value}`` for ``names`` (default: every defined name).

    ``out`` is checked (its folder exists, it is not a symbolic link, it is new unless
    ``overwrite``) before the workbook is loaded.
    """
    if out is not None:
        target = _files.check_target(out)
        if target.exists() and not overwrite:
            raise RecalcError(f"{out} already exists; use --force to overwrite it")
    wb = Workbook(path, progress=progress, limits=limits, allow_external=allow_external)
    wb.calculate(inputs)
    if out is not None:
        wb.save(out, overwrite=overwrite)
    return wb.values(names)


def _reason(exc: BaseException) -> str:
    """An exception from formulas or openpyxl as one short line."""
    args = getattr(exc, "args", ())
    if len(args) > 1 and isinstance(args[0], str) and args[0].count("%s") == len(args) - 1:
        text = args[0] % args[1:]  # formulas' FormulaError(template, formula)
    elif len(args) == 1 and isinstance(args[0], str) and "%s" in args[0]:
        text = args[0].replace("%s", "").rstrip(": \n")  # the template without its formula
    else:
        text = str(exc)
    text = " ".join(text.split())
    if isinstance(exc, zlib.error) or "CRC" in text:
        kind = "a compressed part is corrupt"
    elif isinstance(exc, ElementTree.ParseError) or type(exc).__name__ == "XMLSyntaxError":
        kind = "malformed XML"
    elif type(exc).__name__ == "FormulaError":
        kind = "a formula formulas cannot read"
    elif isinstance(exc, MemoryError):
        kind = "out of memory"
    elif isinstance(exc, KeyError) and "There is no item named" in text:
        kind = "a part of the workbook is missing"  # zipfile's words for an absent member
    else:
        kind = type(exc).__name__
    if len(text) > 160:
        text = text[:157] + "..."
    return f"{kind} ({text})" if text else kind


# --- writing cached values into the file --------------------------------------------------------

_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_C_RE = re.compile(r"<(?P<p>\w+:)?c\b(?P<attrs>[^>]*?)(?:/>|>(?P<body>.*?)</(?P=p)?c>)", re.S)
_F_RE = re.compile(r"<(?P<p>\w+:)?f\b[^>]*?(?:/>|>.*?</(?P=p)?f>)", re.S)
_T_ATTR_RE = re.compile(r"""\st=(?:"[^"]*"|'[^']*')""")
_R_ATTR_RE = re.compile(r"""\sr=(?:"([^"]*)"|'([^']*)')""")


def _sheet_parts(files: dict[str, bytes]) -> dict[str, str]:
    """``{sheet title: zip part name}`` from the workbook part and its relationships."""
    return dict(_sheet_list(files))


def _sheet_list(files: dict[str, bytes]) -> list[tuple[str, str]]:
    """``(sheet title, zip part name)`` of each sheet entry of the workbook part, in order."""
    for part in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
        if _DTD.search(files[part]):
            raise RecalcError(f"part {part} declares a DTD or entities; not reading it")
    book = ElementTree.fromstring(files["xl/workbook.xml"])
    rels = ElementTree.fromstring(files["xl/_rels/workbook.xml.rels"])
    targets = {r.get("Id"): r.get("Target") or "" for r in rels}
    parts = []
    for sheet in book.iter(f"{_NS_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_NS_REL}id"), "")
        part = target.lstrip("/") if target.startswith("/") else \
            str(PurePosixPath("xl") / target)
        # "worksheets/../worksheets/sheet1.xml" is the part openpyxl reads (a hardening audit)
        parts.append((sheet.get("name") or "", posixpath.normpath(part)))
    return parts


def _check_sheets(zf: zipfile.ZipFile, name: str) -> None:
    """Refuse sheet entries that openpyxl would read wrongly or more than once: two titles that
    differ in case only (Excel's sheet names ignore case; openpyxl renamed the second, and a
    name on it read the first), and two entries on one part (parsed once per entry, past the
    cell and formula limits, which count each part once). Both from a hardening audit."""
    try:
        files = {p: zf.read(p) for p in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")}
        sheets = _sheet_list(files)
    except KeyError:
        return  # no workbook part: openpyxl says what is wrong
    except ElementTree.ParseError as exc:
        raise RecalcError(f"cannot read {name}: not a valid .xlsx file ({exc})") from None
    titles, parts = {}, {}
    for title, part in sheets:
        for seen, key, what in ((titles, title.lower(), "named alike (sheet names ignore "
                                 "case)"), (parts, part, f"the same part {part}")):
            if key in seen:
                raise RecalcError(f"cannot read {name}: sheets {seen[key]!r} and {title!r} are "
                                  f"{what}; a workbook gives each sheet its own")
            seen[key] = title


def _number_text(value) -> str:
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _new_cell(prefix: str, attrs: str, body: str | None, value) -> str:
    p = prefix or ""
    attrs = _T_ATTR_RE.sub("", attrs)
    formula = _F_RE.search(body or "")
    f = formula.group(0) if formula else ""
    if isinstance(value, str):
        value = _files.sanitize_text(value)  # a control character would make the file unreadable
    if value is None:
        kind, inner = None, ""
    elif isinstance(value, bool):
        kind, inner = "b", f"<{p}v>{int(value)}</{p}v>"
    elif isinstance(value, (int, float)):
        kind, inner = None, f"<{p}v>{_number_text(value)}</{p}v>"
    elif f and re.fullmatch(r"#(NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A|GETTING_DATA)", value):
        kind, inner = "e", f"<{p}v>{value}</{p}v>"
    elif f:
        kind, inner = "str", f"<{p}v>{escape(value)}</{p}v>"
    else:
        space = ' xml:space="preserve"' if value != value.strip() else ""
        kind, inner = "inlineStr", f"<{p}is><{p}t{space}>{escape(value)}</{p}t></{p}is>"
    if kind:
        attrs += f' t="{kind}"'
    content = f + inner
    return f"<{p}c{attrs}>{content}</{p}c>" if content else f"<{p}c{attrs}/>"


def _patch_sheet(xml: str, values: dict[str, object], found: set) -> str:
    def replace(m):
        r = _R_ATTR_RE.search(m.group("attrs"))
        cell = (r.group(1) or r.group(2)).upper() if r else None
        if cell not in values:
            return m.group(0)
        found.add(cell)
        return _new_cell(m.group("p"), m.group("attrs").rstrip(), m.group("body"), values[cell])
    return _C_RE.sub(replace, xml)


def write_cell_values(data: bytes, values: dict[str, dict[str, object]], *,
                      replace_parts: dict[str, bytes] | None = None) -> tuple[bytes, list]:
    """Set cell values in an .xlsx file's bytes, leaving everything else as it is.

    ``values`` is ``{sheet title: {"B3": value}}``. A formula cell keeps its formula and gets
    ``value`` as its cached result; any other cell gets ``value`` as its content (text without
    the characters XML cannot hold, see :func:`xlnapkin._files.sanitize_text`). Cells absent
    from the file are left out and returned as ``[(sheet, cell), ...]``. ``replace_parts``
    swaps whole zip parts. The other parts, their order and compression stay as they were (a
    user's file); the templates make theirs reproducible afterwards
    (:func:`xlnapkin._files.zip_bytes`).
    """
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        infos = zin.infolist()
        files = {i.filename: zin.read(i.filename) for i in infos}
    parts = _sheet_parts(files)
    missing = []
    for sheet, cells in values.items():
        if sheet not in parts:
            raise RecalcError(f"no sheet {sheet!r} in the workbook")
        wanted = {c.upper(): v for c, v in cells.items()}
        found: set = set()
        xml = files[parts[sheet]].decode("utf-8")
        files[parts[sheet]] = _patch_sheet(xml, wanted, found).encode("utf-8")
        missing += [(sheet, c) for c in wanted if c not in found]
    files.update(replace_parts or {})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zout:
        for info in infos:
            zout.writestr(info, files[info.filename], compress_type=info.compress_type)
    return buf.getvalue(), missing
