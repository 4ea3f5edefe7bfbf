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

__all__ = ["save", "text", "new_workbook", "undefined_names"]

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
