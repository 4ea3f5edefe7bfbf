"""Recalculate template workbooks headlessly and compare them with the engine.

Two spreadsheet engines:

* ``formulas`` (pure Python): each template is compiled once (:class:`FormulasBook`) and
  recalculated for every scenario with the scenario's inputs set on the input cells (compiling
  a workbook costs several seconds; recalculating it under a second to a few seconds);
* LibreOffice: scenario files are written with openpyxl and converted in one ``soffice
  --headless --convert-to`` call (the templates ask for a full recalculation on load) to CSV,
  one file a sheet (:data:`CSV_EVERY_SHEET`), read back by :func:`read_csv_values`: CSV
  converts in two thirds of the time xlsx took, and reads in a fiftieth.

Both give a :class:`Values`: named cells (scalars, or flat lists for ranges), plus every cell's
value for the error scan.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.utils.cell import range_boundaries, get_column_letter


ERRORS = {"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!"}


def is_error(value) -> bool:
    """An error value, as both engines write it (LibreOffice's own, Err:502, too)."""
    return isinstance(value, str) and (value in ERRORS or bool(re.fullmatch(r"Err:\d+", value)))


# --- LibreOffice ---------------------------------------------------------------------------------

def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def require_soffice() -> str:
    """The soffice path; skip locally when missing, fail in CI (CI=true)."""
    import pytest
    path = soffice()
    if path is None:
        message = ("LibreOffice (soffice) is not installed: apt-get install -y "
                   "--no-install-recommends libreoffice-calc-nogui")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


# LibreOffice's CSV filter (its options by position: comma, double quote, UTF-8, line 1, no
# column formats, the default language, text cells quoted, values as stored rather than as
# shown, no formulas, spaces kept, every sheet to a file of its own, "<file>-<sheet>.csv"):
# numbers to 15 significant digits, a percent-formatted one with a % sign, booleans TRUE/FALSE,
# errors as LibreOffice names them (#N/A, Err:502).
CSV_EVERY_SHEET = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,true,true,false,false,false,-1"


def soffice_command(paths, out_dir, profile_dir, fmt=CSV_EVERY_SHEET) -> list[str]:
    """soffice command line converting ``paths`` into ``out_dir`` with a private profile."""
    return [soffice(), f"-env:UserInstallation=file://{Path(profile_dir).resolve()}",
            "--headless", "--norestore", "--convert-to", fmt, "--outdir", str(out_dir)] + [
        str(p) for p in paths]


# --- names and cells -----------------------------------------------------------------------------

def name_cells(wb) -> dict[str, list[tuple[str, str]]]:
    """Defined name -> [(sheet, 'C5'), ...] (row-major for ranges)."""
    out = {}
    for name, dn in wb.defined_names.items():
        cells = []
        for sheet, ref in dn.destinations:
            c1, r1, c2, r2 = range_boundaries(ref.replace("$", ""))
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    cells.append((sheet, f"{get_column_letter(c)}{r}"))
        out[name] = cells
    return out


@dataclass
class Values:
    """Recalculated values: ``named[name]`` (scalar, or list for a range) and ``cells``."""

    named: dict = field(default_factory=dict)
    cells: dict = field(default_factory=dict)   # 'Sheet!A1' -> value

    def __getitem__(self, name):
        return self.named[name]

    def errors(self, allowed=()):
        """Cells holding an error value, except those in the ``allowed`` named ranges."""
        skip = set()
        for name in allowed:
            skip.update(self.named_cells.get(name, ()))
        return {k: v for k, v in self.cells.items() if is_error(v) and k not in skip}

    named_cells: dict = field(default_factory=dict)  # name -> ['Sheet!A1', ...]


def _normal(value):
    """One value as both engines report it: float, bool, str (errors as '#N/A'), or None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value)
    if text == "empty":
        return None
    return text


def read_csv_values(out_dir: Path, stem: str, where: dict, skip=()) -> Values:
    """Values LibreOffice wrote for the workbook ``stem`` as CSV (:data:`CSV_EVERY_SHEET`, one
    file a sheet in ``out_dir``), by cell and by defined name.

    ``where``: name -> ['Sheet!A1', ...] from the template (LibreOffice keeps every cell where
    it was, and a sheet's CSV starts at A1, so the template's names locate the results). Sheets
    in ``skip`` (data without formulas, such as a Catalog) are not read."""
    cells = {}
    for path in sorted(Path(out_dir).glob(f"{stem}-*.csv")):
        sheet = path.stem[len(stem) + 1:]
        if sheet in skip:
            continue
        for r, row in enumerate(_csv_rows(path.read_text(encoding="utf-8")), 1):
            for c, value in enumerate(row, 1):
                if value is not None:
                    cells[f"{sheet}!{get_column_letter(c)}{r}"] = value
    named = {}
    for name, keys in where.items():
        vals = [cells.get(k) for k in keys]
        named[name] = vals[0] if len(vals) == 1 else vals
    return Values(named, cells, where)


# a CSV field: quoted (text, its quotes doubled; errors too, which LibreOffice writes as text)
# or bare (a number, a boolean, empty)
_FIELD = re.compile(r'"((?:[^"]|"")*)"|([^,\r\n]*)')


def _csv_rows(text: str) -> list[list]:
    """LibreOffice's CSV as rows of values (:func:`_bare`), quoted text across lines too."""
    rows, row, pos = [], [], 0
    while pos < len(text):
        m = _FIELD.match(text, pos)
        quoted, pos = m.group(1), m.end()
        row.append(quoted.replace('""', '"') if quoted is not None else _bare(m.group(2)))
        if text.startswith("\r", pos):
            pos += 1
        if pos >= len(text) or text[pos] == "\n":
            rows.append(row)
            row = []
        pos += 1  # past the comma or the line's end
    return rows


def _bare(field: str):
    """An unquoted CSV field's value: None where empty, a bool, or a float (a percent-formatted
    number carries its % sign). A number in a TRUE/FALSE-formatted cell comes as that format
    shows it, as Excel's own cell would: any number but 0 reads TRUE."""
    if not field:
        return None
    if field in ("TRUE", "FALSE"):
        return field == "TRUE"
    if field.endswith("%"):
        return float(field[:-1]) / 100
    return float(field)


def template_names(path) -> dict:
    """name -> ['Sheet!A1', ...] for every defined name of a workbook."""
    wb = openpyxl.load_workbook(path)
    return {n: [f"{s}!{c}" for s, c in locs] for n, locs in name_cells(wb).items()}


# --- formulas ------------------------------------------------------------------------------------

class FormulasBook:
    """A template loaded once by ``formulas``; :meth:`calculate` sets the input cells and
    recalculates every cell. (``ExcelModel.compile`` would be faster per call, but its fixed
    evaluation pipe breaks when inputs switch IF branches.)"""

    def __init__(self, path, input_cells):
        import formulas
        self.path = Path(path)
        self.book = self.path.name
        self.model = formulas.ExcelModel().loads(str(path)).finish()
        wb = openpyxl.load_workbook(path)
        self.where = {n: [f"{s}!{c}" for s, c in locs] for n, locs in name_cells(wb).items()}
        self.sheets = {ws.title.upper(): ws.title for ws in wb.worksheets}
        self.inputs = list(input_cells)

    def key(self, sheet_cell: str) -> str:
        sheet, cell = sheet_cell.split("!")
        return f"'[{self.book}]{sheet.upper()}'!{cell.upper()}"

    def _cell(self, key):
        """'Sheet!A1' for a single-cell key of this book, else None."""
        prefix = f"'[{self.book}]"
        if not key.startswith(prefix) or ":" in key:
            return None
        sheet, cell = key[len(prefix):].split("'!")
        if not sheet:
            return None  # a defined name
        return f"{self.sheets.get(sheet, sheet)}!{cell}"

    def calculate(self, cell_values: dict) -> Values:
        """``cell_values``: {'Sheet!C5': value} for every input cell; None = blank."""
        import schedula as sh
        inputs = {self.key(k): ([[sh.EMPTY]] if v is None else v) for k, v in cell_values.items()}
        sol = self.model.calculate(inputs=inputs)
        cells = {}
        for key, v in sol.items():
            where = self._cell(key)
            if where is None:
                continue
            val = getattr(v, "value", v)
            try:
                val = val.ravel()[0] if hasattr(val, "ravel") else val
            except IndexError:
                val = None
            cells[where] = _normal(val)
        for k, v in cell_values.items():
            cells[k] = _normal(v)
        named = {}
        for n, keys in self.where.items():
            vals = [cells.get(k) for k in keys]
            named[n] = vals[0] if len(vals) == 1 else vals
        return Values(named, cells, self.where)


# --- comparing -----------------------------------------------------------------------------------

def mismatch(actual, expected, rtol=1e-9, atol=0.0):
    """None when ``actual`` matches ``expected`` (numbers within rtol/atol), else a text."""
    if isinstance(expected, float) and math.isnan(expected):  # the engine refuses: a message
        return None if isinstance(actual, str) and actual.strip() else \
            f"{actual!r} (expected a message)"
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            return f"{actual!r} != {expected!r}"
        if math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol):
            return None
        return f"{actual!r} != {expected!r} (rel {abs(actual - expected) / max(abs(expected), 1e-300):.2e})"
    if isinstance(expected, bool):
        return None if actual is expected or actual == expected else f"{actual!r} != {expected!r}"
    if isinstance(expected, str):
        if expected.endswith("*"):
            ok = isinstance(actual, str) and actual.startswith(expected[:-1])
        else:
            ok = actual == expected
        return None if ok else f"{actual!r} != {expected!r}"
    if expected is None:
        return None if actual in (None, "") else f"{actual!r} != blank"
    raise TypeError(f"cannot compare with {expected!r}")


def compare(values: Values, expected: dict, label: str, rtol=1e-9, atol=1e-12) -> list[str]:
    """Every expected name (scalar or list) against the recalculated values. ``atol`` lets a
    share that is zero in exact arithmetic be 1e-16 in either engine's arithmetic."""
    problems = []
    for name, exp in expected.items():
        if name not in values.named:  # a renamed cell compares nothing (a test audit)
            problems.append(f"{label}: {name}: no such name in the workbook")
            continue
        act = values.named[name]
        if isinstance(exp, (list, tuple)):
            if not isinstance(act, list) or len(act) != len(exp):
                problems.append(f"{label}: {name}: {act!r} != {exp!r}")
                continue
            for i, (a, e) in enumerate(zip(act, exp)):
                bad = mismatch(a, e, rtol, atol)
                if bad:
                    problems.append(f"{label}: {name}[{i}]: {bad}")
        else:
            bad = mismatch(act, exp, rtol, atol)
            if bad:
                problems.append(f"{label}: {name}: {bad}")
    return problems
