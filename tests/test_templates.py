"""Template workbooks: reproducible builds, committed files up to date, and the file-level rules
of SPEC section 5 (named cells, dropdowns, styles, protection, charts, print setup, plain
formulas only, no macros or external links, text never turned into a formula).

Recalculation against the engine is in ``test_templates_recalc.py``.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from xlnapkin import __version__, catalog
from xlnapkin.catalog import USER_CATALOG_ENV
from xlnapkin.templates import TEMPLATES, build, build_all

REPO = Path(__file__).resolve().parents[1]
WORKBOOKS = REPO / "workbooks"

# SPEC section 5: named cells each workbook must have, at least.
SPEC_NAMES = {
    "self_host_breakeven": ["gpu", "model", "num_gpus", "gpu_price_per_hour", "utilization",
                            "api_price_in_per_mtok", "api_price_out_per_mtok", "input_share",
                            "tokens_per_day", "self_host_monthly_cost", "api_monthly_cost",
                            "breakeven_tokens_per_day", "self_host_cost_per_mtok"],
    "multi_tenant_savings": ["tenants", "mean_utilization", "percentile", "gpu_price_per_hour",
                             "dedicated_gpus", "pooled_gpus", "dedicated_monthly_cost",
                             "pooled_monthly_cost", "savings_fraction"],
    "capacity_planner": ["model", "weight_dtype", "kv_dtype", "num_gpus", "duty_cycle",
                         "context_tokens", "cheapest_gpu", "cheapest_cost_per_mtok",
                         "tbl_cost_per_mtok", "tbl_users_per_gpu", "tbl_user_month"],
}

# Functions every target spreadsheet calculates (all in Excel 2007; no _xlfn. prefix needed).
ALLOWED_FUNCTIONS = {"ABS", "AND", "COUNTIF", "IF", "IFERROR", "INDEX", "INT", "ISBLANK",
                     "ISNA", "ISNUMBER", "MATCH", "MAX", "MIN", "N", "NA", "NORMSINV", "NOT",
                     "OR", "ROUNDUP", "ROWS", "SQRT", "SUMPRODUCT", "TEXT"}
_STRINGS = re.compile(r'"[^"]*"')
_FUNC = re.compile(r"([A-Z][A-Z0-9_.]*)\(")


@pytest.fixture(scope="module")
def built(tmp_path_factory, monkeypatch_module):
    monkeypatch_module.delenv(USER_CATALOG_ENV, raising=False)
    out = tmp_path_factory.mktemp("built")
    return {p.stem: p for p in build_all(out)}


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture(scope="module")
def books(built):
    return {name: openpyxl.load_workbook(path) for name, path in built.items()}


def test_build_all_writes_every_template(built):
    assert list(built) == list(TEMPLATES)
    for path in built.values():
        assert path.suffix == ".xlsx" and path.stat().st_size > 0


def test_builds_are_byte_for_byte_reproducible(built, tmp_path):
    for name, path in built.items():
        again = build(name, tmp_path)
        assert again.read_bytes() == path.read_bytes(), name


@pytest.mark.parametrize("name", TEMPLATES)
def test_committed_workbook_is_up_to_date(built, name):
    committed = WORKBOOKS / f"{name}.xlsx"
    assert committed.exists(), f"{committed} missing: run xlnapkin templates build"
    assert committed.read_bytes() == built[name].read_bytes(), (
        f"{committed.name} differs from a fresh build: rebuild with "
        "python -c \"from xlnapkin.templates import build_all; build_all('workbooks')\"")


def test_zip_entries_have_fixed_times_and_no_macros_or_links(built):
    for name, path in built.items():
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            assert all(i.date_time == (2020, 1, 1, 0, 0, 0) for i in z.infolist()), name
            assert not any("vbaProject" in n or n.startswith("xl/externalLinks") for n in names)
            assert not any(n.endswith(".bin") for n in names), name
            core = z.read("docProps/core.xml").decode()
            assert "2020-01-01T00:00:00Z" in core
            workbook = z.read("xl/workbook.xml").decode()
            assert 'fullCalcOnLoad="1"' in workbook, name
            rels = z.read("xl/_rels/workbook.xml.rels").decode()
            assert "TargetMode=\"External\"" not in rels


@pytest.mark.parametrize("name", TEMPLATES)
def test_spec_names_are_defined(books, name):
    wb = books[name]
    missing = [n for n in SPEC_NAMES[name] if n not in wb.defined_names]
    assert not missing


@pytest.mark.parametrize("name", TEMPLATES)
def test_only_portable_functions_and_defined_names(books, name):
    wb = books[name]
    used = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    text = _STRINGS.sub("", c.value)
                    used.update(_FUNC.findall(text))
                    assert "_xlfn" not in text.lower() and "[" not in text, (ws.title, c.coordinate)
    assert used <= ALLOWED_FUNCTIONS, used - ALLOWED_FUNCTIONS


@pytest.mark.parametrize("name", TEMPLATES)
def test_inputs_blue_unlocked_formulas_locked_and_protected_without_password(books, name):
    wb = books[name]
    for ws in wb.worksheets:
        assert ws.protection.sheet, ws.title
        assert not ws.protection.password, ws.title
    inputs = 0
    for dn_name, dn in wb.defined_names.items():
        for sheet, ref in dn.destinations:
            if ":" in ref:
                continue
            cell = wb[sheet][ref.replace("$", "")]
            if cell.data_type == "f":
                assert cell.protection.locked, dn_name
                assert cell.font.color is None or cell.font.color.rgb != "000000FF", dn_name
            elif sheet != "Catalog":
                inputs += 1
                assert not cell.protection.locked, dn_name
                assert cell.font.color.rgb == "000000FF", dn_name
    assert inputs >= 4


@pytest.mark.parametrize("name", TEMPLATES)
def test_dropdowns_come_from_the_catalog_sheet(books, name):
    wb = books[name]
    sources = {dv.formula1 for ws in wb.worksheets for dv in ws.data_validations.dataValidation
               if dv.type == "list"}
    assert "model_ids" in sources or "gpu_ids" in sources or name == "multi_tenant_savings"
    assert "Catalog" in wb.sheetnames
    ids = [c.value for c in wb["Catalog"]["A"] if c.value]
    for gid in catalog.gpu_ids():
        assert gid in ids


@pytest.mark.parametrize("name", TEMPLATES)
def test_text_is_never_a_formula(books, name):
    """Catalog notes and cover text are strings; only our own formulas are formulas."""
    wb = books[name]
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    assert ws.title not in ("Cover", "Catalog"), (ws.title, c.coordinate)


@pytest.mark.parametrize("name", TEMPLATES)
def test_cover_sheet(books, name):
    wb = books[name]
    assert wb.sheetnames[0] == "Cover"
    text = "\n".join(str(c.value) for row in wb["Cover"].iter_rows() for c in row if c.value)
    for head in ("What it answers", "How to use it", "Assumptions", "Sources"):
        assert head in text
    assert f"xlnapkin {__version__}" in text
    assert "Seed" in text or "seed" in text


@pytest.mark.parametrize("name", TEMPLATES)
def test_charts_have_titles_and_axis_titles(built, name):
    with zipfile.ZipFile(built[name]) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert charts, name
    for xml in charts:
        # one chart title plus one per axis
        assert len(re.findall(r"<(?:c:)?title>", xml)) >= 3, name
        assert re.search(r'<(?:c:)?delete val="0"\s*/>', xml), name


@pytest.mark.parametrize("name", TEMPLATES)
def test_print_setup(books, name):
    wb = books[name]
    for ws in wb.worksheets:
        assert ws.print_area, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        # one page wide, except the planner's 70-column Working table (one page high)
        assert ws.page_setup.fitToWidth == 1 or ws.page_setup.fitToHeight == 1, ws.title
    main = wb.worksheets[1]
    assert main.page_setup.orientation == "landscape"
    assert main.page_setup.fitToWidth == 1


def test_put_text_keeps_formula_like_text_as_text(tmp_path):
    from xlnapkin.templates import _style as st
    wb = st.new_workbook()
    st.put_text(wb.active["A1"], "=SUM(1,2) is not a formula")
    st.put_text(wb.active["A2"], "+1; -2; @x")
    path = st.save_reproducible(wb, tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path).active
    assert ws["A1"].data_type == "s" and ws["A1"].value == "=SUM(1,2) is not a formula"
    assert ws["A2"].data_type == "s"


def test_a_formula_naming_an_undefined_name_fails_the_build(tmp_path):
    from xlnapkin.templates import _style as st
    wb = st.new_workbook()
    wb.active["A1"] = "=no_such_name*2"
    with pytest.raises(KeyError, match="no_such_name"):
        st.save_reproducible(wb, tmp_path / "t.xlsx")
