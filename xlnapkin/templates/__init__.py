"""Template workbooks: builders for the ``workbooks/*.xlsx`` files (SPEC section 5).

Each plain-formula template (:data:`TEMPLATES`) writes one workbook with openpyxl from the
shared blocks of this package: a Cover sheet (``_sheets``), inputs, checks, the calibrated
assumptions and outputs that say "check inputs" (``_blocks``), the working step by step in
plain formulas that mirror the engine (``_napkin``), a Catalog sheet generated from the package
CSVs, charts and print setup (``_style``). The functions showcase (``showcase``) uses the
xlnapkin Excel functions instead. Every workbook is written by ``_book.save``, byte-for-byte
reproducibly; the templates then get the results of their formulas at their default inputs
stored beside the formulas (``_book.store_values``), so that a viewer that does not calculate
shows them. ``xlnapkin templates build --out DIR`` calls :func:`build_all`.

>>> TEMPLATES
('self_host_breakeven', 'multi_tenant_savings', 'capacity_planner')
>>> WORKBOOKS[-1]
'showcase'
"""

from __future__ import annotations

import importlib
from pathlib import Path

__all__ = ["TEMPLATES", "WORKBOOKS", "build", "build_all"]

TEMPLATES = ("self_host_breakeven", "multi_tenant_savings", "capacity_planner")
WORKBOOKS = TEMPLATES + ("showcase",)


def build(name: str, out_dir, values: bool = True) -> Path:
    """Build one workbook (a name from :data:`WORKBOOKS`) into ``out_dir``; return its path.

    ``values``: store the templates' results at their defaults (needs the recalc extra; a
    recalculation of seconds to a minute per template). The showcase always holds its own."""
    if name not in WORKBOOKS:
        raise ValueError(f"unknown template {name!r}; choose from {', '.join(WORKBOOKS)}")
    module = importlib.import_module(f"{__name__}.{name}")
    path = module.build(out_dir)
    if values and name in TEMPLATES:
        from ._book import store_values
        store_values(path)
    return path


def build_all(out_dir, values: bool = True) -> list[Path]:
    """Build every workbook into ``out_dir`` (created if needed); return the written paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [build(name, out, values) for name in WORKBOOKS]
