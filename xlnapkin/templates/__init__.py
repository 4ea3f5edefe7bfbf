"""Template workbooks: builders for the ``workbooks/*.xlsx`` files (SPEC section 5).

Each builder writes one workbook with openpyxl: a Cover sheet, inputs (blue, named, with
dropdowns from a Catalog sheet generated from the package CSVs), the working step by step in
plain formulas that mirror the engine, outputs, a chart and print setup. Builds are byte-for-byte
reproducible. ``xlnapkin templates build --out DIR`` calls :func:`build_all`.

>>> TEMPLATES
('self_host_breakeven', 'multi_tenant_savings', 'capacity_planner')
"""

from __future__ import annotations

import importlib
from pathlib import Path

__all__ = ["TEMPLATES", "build", "build_all"]

TEMPLATES = ("self_host_breakeven", "multi_tenant_savings", "capacity_planner")


def build(name: str, out_dir) -> Path:
    """Build one template (a name from :data:`TEMPLATES`) into ``out_dir``; return its path."""
    if name not in TEMPLATES:
        raise ValueError(f"unknown template {name!r}; choose from {', '.join(TEMPLATES)}")
    module = importlib.import_module(f"{__name__}.{name}")
    return module.build(out_dir)


def build_all(out_dir) -> list[Path]:
    """Build every template into ``out_dir`` (created if needed); return the written paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [build(name, out) for name in TEMPLATES]
