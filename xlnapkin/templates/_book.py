"""The one .xlsx writer of the templates and the showcase, and the text rule for cells.

:func:`save` is the only place a template workbook becomes a file: it refuses formulas that name
an undefined name, optionally writes cached values into formula cells (the showcase), and makes
the file reproducible (fixed document and zip entry times, stable entry order and compression),
so the same code and data give the same bytes. :func:`text` is how every piece of text reaches
a cell: control characters that XML cannot hold are dropped, and the cell is typed as a string
so nothing that starts with ``=`` ever becomes a formula.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from openpyxl import Workbook

from .._files import sanitize_text, write_atomic, zip_bytes

__all__ = ["save", "store_values", "same_but_results", "text", "new_workbook", "undefined_names"]

FIXED_DOC_TIME = "2020-01-01T00:00:00Z"

_STRING = re.compile(r'"[^"]*"')
_IDENT = re.compile(r"(?<![A-Za-z0-9_.$!])([a-z_][a-z0-9_]*)(?![A-Za-z0-9_(!])")


def text(value) -> str:
    """``value`` as cell text: ``None`` is empty, characters XML cannot hold dropped
    (:func:`xlnapkin._files.sanitize_text`)."""
    return "" if value is None else sanitize_text(str(value))


def new_workbook() -> Workbook:
    """An empty workbook that recalculates everything when opened (no cached values)."""
    wb = Workbook()
    wb.calculation.fullCalcOnLoad = True
    wb.properties.creator = "xlnapkin"
    wb.properties.lastModifiedBy = "xlnapkin"
    return wb


def undefined_names(wb: Workbook) -> set[str]:
    """Lower-case identifiers in formulas (our defined names) that are not defined."""
    names = set(wb.defined_names)
    bad = set(n for n in getattr(wb, "_xlnapkin_refs", ()) if n not in names)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f" and isinstance(cell.value, str):
                    bad.update(i for i in _IDENT.findall(_STRING.sub("", cell.value))
                               if i not in names)
    return bad


def save(wb: Workbook, path, cached_values: dict | None = None) -> Path:
    """Write ``wb`` to ``path`` reproducibly; return the path.

    ``cached_values`` (``{sheet: {"B3": value}}``) are stored as the results of those formula
    cells, so a program that does not recalculate shows them.
    """
    missing = sorted(undefined_names(wb))
    if missing:
        raise KeyError(f"formulas refer to undefined names: {', '.join(missing)}")
    for ws in wb.worksheets:  # a note written as text, then made a formula: no text prefix
        for row in ws.iter_rows():  # (a review: a reader that obeys it shows the formula)
            for cell in row:
                if cell.data_type == "f" and cell.quotePrefix:
                    cell.quotePrefix = False
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    if cached_values:
        from ..recalc import write_cell_values
        data, absent = write_cell_values(data, cached_values)
        if absent:
            raise KeyError(f"cached values for cells that are not in the file: {absent[:5]}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, _reproducible(data))


def store_values(path) -> Path:
    """Recalculate the workbook at ``path`` with its own inputs (the ``formulas`` package: the
    recalc extra) and store every formula's result in the file beside the formula; return the
    path.

    Excel still recalculates everything on opening (``fullCalcOnLoad``); the stored results are
    what a program that does not calculate shows: Excel's Protected View (a file from an
    e-mail or a download opens there), mail and file previews, phone viewers.
    """
    import dataclasses
    from ..recalc import Limits, Workbook as Recalculated, write_cell_values
    path = Path(path)
    # our own file: the limits for a workbook someone sent, a hundred times over (a large user
    # catalog adds some 80 formulas a GPU to the planner)
    limits = Limits(**{f.name: getattr(Limits(), f.name) * 100
                       for f in dataclasses.fields(Limits)})
    book = Recalculated(path, limits=limits)
    book.calculate()
    data, absent = write_cell_values(path.read_bytes(), book.cell_values())
    if absent:
        raise KeyError(f"recalculated cells that are not in the file: {absent[:5]}")
    return write_atomic(path, _reproducible(data))


_FORMULA_CELL = re.compile(r'<c\b([^>]*)>(<f\b[^>]*>[^<]*</f>|<f\b[^>]*/>)'
                           r'(?:<v\s*/>|<v>[^<]*</v>)?</c>')


def _without_results(data: bytes) -> dict[str, bytes]:
    """A workbook's zip parts with each formula cell's stored result (value and type) left out."""
    def strip(m):
        attrs = re.sub(r' t="[a-z]+"', "", m.group(1))
        return f"<c{attrs}>{m.group(2)}</c>"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    return {n: (_FORMULA_CELL.sub(strip, b.decode("utf-8")).encode("utf-8")
                if n.startswith("xl/worksheets/") else b) for n, b in parts.items()}


def same_but_results(a: bytes, b: bytes) -> bool:
    """True where two workbooks differ at most in the results stored beside their formulas (a
    template built with and without :func:`store_values`)."""
    if a == b:
        return True
    try:
        return _without_results(a) == _without_results(b)
    except (zipfile.BadZipFile, UnicodeDecodeError):  # not a workbook: a user's own file
        return False


def _reproducible(data: bytes) -> bytes:
    """The same workbook with fixed document times, as :func:`xlnapkin._files.zip_bytes`
    writes every archive (fixed entry times, sorted entries, one compression level)."""
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        parts = {name: src.read(name) for name in src.namelist()}
    core = parts.get("docProps/core.xml")
    if core is not None:
        parts["docProps/core.xml"] = re.sub(
            rb"(<dcterms:(created|modified)[^>]*>)[^<]*(<)",
            rb"\g<1>" + FIXED_DOC_TIME.encode() + rb"\g<3>", core)
    return zip_bytes(parts)
