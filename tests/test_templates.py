"""Template workbooks: reproducible builds, committed files up to date, the file-level rules of
SPEC section 5 (named cells, dropdowns, styles, protection, charts, print setup, plain formulas
only, no macros or external links, text never a formula) and the template framework's own rules
(shared blocks, no sibling imports, short builders, no engine module importing templates).

Recalculation against the engine is in ``test_templates_recalc.py``.
"""

from __future__ import annotations

import ast
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from xlnapkin import __version__, calibration, catalog
from xlnapkin.catalog import USER_CATALOG_ENV
from xlnapkin.templates import TEMPLATES, WORKBOOKS, _book, _latency, build, build_all
from xlnapkin.templates import _self_host_sheets as shs

REPO = Path(__file__).resolve().parents[1]
WORKBOOKS_DIR = REPO / "workbooks"
PACKAGE = REPO / "xlnapkin"
FILES = {"self_host_breakeven": "self_host_breakeven.xlsx",
         "multi_tenant_savings": "multi_tenant_savings.xlsx",
         "capacity_planner": "capacity_planner.xlsx", "showcase": "functions_showcase.xlsx"}

# SPEC section 5 and issue 11: named cells each workbook must have, at least.
SPEC_NAMES = {
    "self_host_breakeven": ["gpu", "model", "num_gpus", "gpu_price_per_hour", "utilization",
                            "api_price_in_per_mtok", "api_price_out_per_mtok", "input_share",
                            "tokens_per_day", "self_host_monthly_cost", "api_monthly_cost",
                            "breakeven_tokens_per_day", "self_host_cost_per_mtok",
                            "self_host_cost_per_mtok_at_volume", "actual_utilization",
                            "staff_cost_per_month", "min_replicas", "cost_of_capital",
                            "scenario"],
    "multi_tenant_savings": ["tenants", "mean_utilization", "percentile", "gpu_price_per_hour",
                             "dedicated_gpus", "pooled_gpus", "dedicated_monthly_cost",
                             "pooled_monthly_cost", "savings_fraction", "savings_bound",
                             "savings_from_peaks", "savings_from_rounding"],
    "capacity_planner": ["model", "weight_dtype", "kv_dtype", "num_gpus", "duty_cycle",
                         "context_tokens", "concurrency_percentile", "cheapest_gpu",
                         "cheapest_cost_per_mtok", "tbl_cost_per_mtok", "tbl_users_per_gpu",
                         "tbl_headroom", "tbl_user_month"],
}

# Functions every target spreadsheet calculates (all in Excel 2007; no _xlfn. prefix needed).
ALLOWED_FUNCTIONS = {"ABS", "AND", "BETADIST", "COLUMNS", "COUNT", "COUNTA", "COUNTIF", "EXP", "FIND",
                     "GAMMALN", "IF", "IFERROR", "INDEX", "INT", "ISBLANK", "ISNA", "ISNUMBER", "LEFT", "LN", "LOWER",
                     "MATCH", "MAX", "MID", "MIN", "MOD", "N", "NA", "NORMSDIST", "NORMSINV", "NOT", "OR", "ROUNDUP",
                     "ROWS", "SQRT", "SUBSTITUTE", "SUMPRODUCT", "TEXT", "TRIM"}
_STRINGS = re.compile(r'"[^"]*"')
_FUNC = re.compile(r"([A-Z][A-Z0-9_.]*)\(")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.delenv(USER_CATALOG_ENV, raising=False)
    out = tmp_path_factory.mktemp("built")
    # Without the stored results (a recalculation of a minute): the committed files hold them,
    # compared below without them and checked in test_templates_recalc.py.
    paths = {name: path for name, path in zip(WORKBOOKS, build_all(out, values=False))}
    yield paths
    mp.undo()


@pytest.fixture(scope="module")
def books(built):
    return {name: openpyxl.load_workbook(path) for name, path in built.items()}


def test_build_all_writes_every_workbook(built):
    assert list(built) == list(WORKBOOKS)
    for name, path in built.items():
        assert path.name == FILES[name] and path.stat().st_size > 0


@pytest.mark.parametrize("name", TEMPLATES)
def test_true_false_cells_print_as_true_and_false(name):
    # LibreOffice printed the gates of a saved workbook ("All inputs OK?") as 1 and 0: a cell
    # whose stored result is TRUE or FALSE carries a number format that names them, and no
    # other cell does (on a number it would print 0.5 as TRUE)
    from xlnapkin.templates._style import FMT
    wb = openpyxl.load_workbook(WORKBOOKS_DIR / FILES[name], data_only=True)
    booleans, formatted = set(), set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                where = f"{ws.title}!{c.coordinate}"
                if isinstance(c.value, bool):
                    booleans.add(where)
                if c.number_format == FMT["bool"] and c.value is not None:
                    formatted.add(where)
    assert booleans and booleans == formatted, (sorted(booleans ^ formatted)[:5])


def test_builds_are_byte_for_byte_reproducible(built, tmp_path):
    for name, path in built.items():
        assert build(name, tmp_path, values=False).read_bytes() == path.read_bytes(), name


@pytest.mark.parametrize("name", WORKBOOKS)
def test_committed_workbook_is_up_to_date(built, name):
    committed = WORKBOOKS_DIR / FILES[name]
    assert committed.exists(), f"{committed} missing: run xlnapkin templates build --force"
    stale = f"{committed.name} differs from a fresh build: run xlnapkin templates build --force"
    if name not in TEMPLATES:  # the showcase holds its own results: the very same bytes
        assert committed.read_bytes() == built[name].read_bytes(), stale
        return
    ours, fresh = (_book._without_results(p.read_bytes()) for p in (committed, built[name]))
    assert ours.keys() == fresh.keys(), stale
    for part in ours:
        assert ours[part] == fresh[part], f"{stale} ({part})"


def test_results_stripped_for_the_comparison_are_formula_results_only():
    # The comparison above must not hide a changed formula or a changed constant cell.
    cell = b'<c r="C5" s="8" t="str"><f>IF(all_ok,msg,"x")</f><v>10 tokens</v></c>'
    bare = b'<c r="C5" s="8"><f>IF(all_ok,msg,"x")</f><v /></c>'
    parts = [_book._without_results(_zip({"xl/worksheets/sheet1.xml": x}))[
        "xl/worksheets/sheet1.xml"]
             for x in (cell, bare, cell.replace(b"all_ok", b"any_ok"),
                       b'<c r="C5" s="8" t="str"><v>10 tokens</v></c>')]
    assert parts[0] == parts[1] == b'<c r="C5" s="8"><f>IF(all_ok,msg,"x")</f></c>'
    assert parts[2] != parts[0] and parts[3] == b'<c r="C5" s="8" t="str"><v>10 tokens</v></c>'


def test_storing_results_reads_our_own_file_past_the_limits_for_untrusted_ones(tmp_path,
                                                                             monkeypatch):
    # A user catalog of 70 more GPUs gave the planner 11,071 formulas, over recalc's 10,000
    # for a file someone sent, and the build failed (review of 2026-12-03).
    from xlnapkin import recalc
    seen = []

    class Stop(Exception):
        pass

    def workbook(path, limits=None, **kwargs):
        seen.append(limits)
        raise Stop
    monkeypatch.setattr(recalc, "Workbook", workbook)
    with pytest.raises(Stop):
        _book.store_values(tmp_path / "any.xlsx")
    default = recalc.Limits()
    assert seen[0].max_formulas >= 100 * default.max_formulas
    assert seen[0].max_cells >= 100 * default.max_cells


def test_stored_results_are_what_the_formulas_give(tmp_path):
    pytest.importorskip("formulas")
    wb = _book.new_workbook()
    wb.active["A1"], wb.active["A2"], wb.active["A3"] = 2, "=A1*3", '=IF(A2>5,"big","small")'
    path = _book.store_values(_book.save(wb, tmp_path / "small.xlsx"))
    values = openpyxl.load_workbook(path, data_only=True).active
    formulas = openpyxl.load_workbook(path).active
    assert (values["A2"].value, values["A3"].value) == (6, "big")
    assert (formulas["A2"].value, formulas["A3"].value) == ("=A1*3", '=IF(A2>5,"big","small")')
    assert _book.same_but_results(path.read_bytes(),
                                  _book.save(wb, tmp_path / "bare.xlsx").read_bytes())


def _zip(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_entries_have_fixed_times_and_no_macros_or_links(built):
    for name, path in built.items():
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            assert all(i.date_time == (2020, 1, 1, 0, 0, 0) for i in z.infolist()), name
            assert not any("vbaProject" in n or n.startswith("xl/externalLinks") for n in names)
            assert not any(n.endswith(".bin") for n in names), name
            assert "2020-01-01T00:00:00Z" in z.read("docProps/core.xml").decode()
            workbook = z.read("xl/workbook.xml").decode()
            # templates recalculate on load; the showcase keeps its cached values
            assert ('fullCalcOnLoad="1"' in workbook) == (name != "showcase"), name
            assert 'TargetMode="External"' not in z.read("xl/_rels/workbook.xml.rels").decode()


@pytest.mark.parametrize("name", TEMPLATES)
def test_spec_names_are_defined(books, name):
    assert not [n for n in SPEC_NAMES[name] if n not in books[name].defined_names]


# SPEC section 5's inputs: cells one types in (a contract audit: three prices were the formula
# that picks the catalog's value or yours, and `recalc --set gpu_price_per_hour=2` was refused)
SPEC_INPUTS = {
    "self_host_breakeven": ["gpu", "model", "num_gpus", "gpu_price_per_hour", "utilization",
                            "api_price_in_per_mtok", "api_price_out_per_mtok", "input_share",
                            "tokens_per_day"],
    "multi_tenant_savings": ["tenants", "mean_utilization", "percentile", "gpu_price_per_hour"],
}


@pytest.mark.parametrize("name", sorted(SPEC_INPUTS))
def test_spec_inputs_are_input_cells(books, name):
    wb = books[name]
    for input_name in SPEC_INPUTS[name]:
        (sheet, ref), = wb.defined_names[input_name].destinations
        cell = wb[sheet][ref.replace("$", "")]
        assert cell.data_type != "f", (input_name, cell.value)
        assert cell.protection.locked is False, input_name


@pytest.mark.parametrize("name", TEMPLATES)
def test_only_portable_functions(books, name):
    used = set()
    for ws in books[name].worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    text = _STRINGS.sub("", c.value)
                    used.update(_FUNC.findall(text))
                    assert "_xlfn" not in text.lower() and "[" not in text, (ws.title, c.coordinate)
    assert used <= ALLOWED_FUNCTIONS, used - ALLOWED_FUNCTIONS


def test_templates_page_lists_the_allowed_functions():
    # docs/templates.md tells users which functions the workbooks may use: the same list.
    text = (Path(__file__).parent.parent / "docs" / "templates.md").read_text(encoding="utf-8")
    listed = re.search(r"\*\*Portable formulas only\*\*: (.*?)\. All exist", text, re.S)
    assert listed and set(re.findall(r"[A-Z]+", listed.group(1))) == ALLOWED_FUNCTIONS


@pytest.mark.parametrize("name", TEMPLATES)
def test_inputs_blue_unlocked_formulas_locked_and_protected_without_password(books, name):
    wb = books[name]
    for ws in wb.worksheets:
        assert ws.protection.sheet and not ws.protection.password, ws.title
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
    assert inputs >= 8


DROPDOWNS = {  # named input -> the list its dropdown offers
    "self_host_breakeven": {"gpu": "gpu_ids", "model": "model_ids", "weight_dtype": "dtype_names",
                            "kv_dtype": "dtype_names", "api": "api_choices",
                            "scenario": '"base,low,high,best,worst"', "hardware": '"rent,own"'},
    "capacity_planner": {"model": "model_ids", "weight_dtype": "dtype_names",
                         "kv_dtype": "dtype_names", "sla_gpu": "sla_gpu_choices"},
    "multi_tenant_savings": {"gpu": "gpu_ids"},
}


@pytest.mark.parametrize("name", TEMPLATES)
def test_dropdowns_come_from_the_catalog_sheet(books, name):
    """Each input with a fixed set of answers has its dropdown, on its own cell, with the list
    from the Catalog sheet (every catalog id in it)."""
    wb = books[name]
    named = {}
    for dn, obj in wb.defined_names.items():
        for title, ref in obj.destinations:
            named[(title, ref.replace("$", ""))] = dn
    lists = {}
    for ws in wb.worksheets:
        for dv in ws.data_validations.dataValidation:
            if dv.type == "list":
                for ref in str(dv.sqref).split():
                    lists[named.get((ws.title, ref), f"{ws.title}!{ref}")] = dv.formula1
    assert lists == DROPDOWNS[name]
    ids = [c.value for c in wb["Catalog"]["A"] if c.value]
    assert all(gid in ids for gid in catalog.gpu_ids())
    if "model_ids" in wb.defined_names:  # the multi-tenant book lists GPUs only
        assert all(mid in ids for mid in catalog.model_ids())
    if "sla_gpu_choices" in wb.defined_names:  # the GPU to size: yours, then the Catalog's
        (title, ref), = wb.defined_names["sla_gpu_choices"].destinations
        cells = [row[0].value for row in wb[title][ref]]
        assert cells == ["yours"] + [f"=INDEX(gpu_ids,{i})" for i in
                                     range(1, len(catalog.gpu_ids()) + 1)]


@pytest.mark.parametrize("name", TEMPLATES)
def test_each_number_input_s_warning_allows_what_its_check_allows(books, name):
    """An input cell's Excel warning and its check say the same rule (an FP&A read: a
    percentile of 1 passed the warning "between 0.5 and 1" and failed its check, "in [0.5,
    1)"; counts were allowed fractions): each warning's words are the check's, and warnings
    that take one end open or whole numbers say so in the rule Excel applies."""
    wb = books[name]
    said = {}  # input name -> the words of its check ("a number in [0.5, 1)")
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    said.update(re.findall(r'"(\w+) must be (a (?:whole )?number [^"]+)"',
                                           c.value))
    compared = 0
    for ws in wb.worksheets:
        for dv in ws.data_validations.dataValidation:
            m = re.fullmatch(r"(\w+) should be (.+)\.", dv.error or "")
            if dv.type == "list" or not m or m.group(1) not in said:
                continue
            compared += 1
            words = m.group(2)
            assert words == said[m.group(1)], (m.group(1), words, said[m.group(1)])
            assert (dv.type == "whole") == ("whole" in words), words
            assert (dv.type == "custom") == bool(re.search(r"\(\d|\d\)", words)), words
    assert compared >= {"self_host_breakeven": 20, "capacity_planner": 15,
                        "multi_tenant_savings": 9}[name]


@pytest.mark.parametrize("name", TEMPLATES)
def test_catalog_columns_follow_the_catalog_dataclasses(books, name):
    """Every numeric field of catalog.GPU is a named column (cloud_price_as_of included), and
    the id/alias keys hold every alias the engine accepts."""
    wb = books[name]
    numeric = [f for f, t in catalog.GPU.__annotations__.items() if "float" in str(t)]
    for field in numeric + ["cloud_price_as_of", "vendor"]:
        assert f"gpu_{field}" in wb.defined_names, field
    keys = [c.value for c in wb["Catalog"]["A"] if c.value]
    for alias in ("h100", "h100-sxm5", "geforce-rtx-4090"):
        assert alias in keys


@pytest.mark.parametrize("name", ["self_host_breakeven", "capacity_planner"])
def test_calibrated_assumptions_are_generated_from_the_constants(books, name):
    wb = books[name]
    for c in calibration.constants():
        dn = wb.defined_names[f"cal_{c.name}"]
        (sheet, ref), = dn.destinations
        cell = wb[sheet][ref.replace("$", "")]
        assert cell.value == pytest.approx(c.value)
        label = wb[sheet].cell(cell.row, cell.column - 1).value
        assert label == c.label


@pytest.mark.parametrize("name", TEMPLATES)
def test_text_is_never_a_formula(books, name):
    # the cover's text is plain; its answer at the inputs now (cover_answer) alone is formulas
    wb = books[name]
    answer = set()
    if "cover_answer" in wb.defined_names:
        (sheet, ref), = wb.defined_names["cover_answer"].destinations
        answer = {c.coordinate for row in wb[sheet][ref.replace("$", "")] for c in row}
    for ws in wb.worksheets:
        if ws.title in ("Cover", "Catalog"):
            assert not any(c.data_type == "f" and (ws.title, c.coordinate) not in
                           {("Cover", a) for a in answer}
                           for row in ws.iter_rows() for c in row), ws.title
    assert len(answer) >= 2  # every template has one


def test_text_is_sanitized_and_never_a_formula(tmp_path):
    from xlnapkin.templates import _book, _style as st
    wb = _book.new_workbook()
    st.put_text(wb.active["A1"], "=SUM(1,2) is not a formula")
    st.put_text(wb.active["A2"], "bell\x07 and null\x00 dropped\ttab kept")
    ws = openpyxl.load_workbook(_book.save(wb, tmp_path / "t.xlsx")).active
    assert ws["A1"].data_type == "s" and ws["A1"].value == "=SUM(1,2) is not a formula"
    assert ws["A2"].value == "bell and null dropped\ttab kept"
    # with the quote prefix, so that editing the cell in Excel keeps it text (a SPEC audit)
    assert ws["A1"].quotePrefix and not ws["A2"].quotePrefix


@pytest.mark.parametrize("name", TEMPLATES)
def test_text_that_reads_as_a_formula_keeps_its_quote_prefix(books, name):
    # A SPEC audit: notes such as "= DEDICATED_GPUS" turned into #NAME? on F2 and Enter.
    cells = [(f"{ws.title}!{c.coordinate}", c) for ws in books[name].worksheets
             for row in ws.iter_rows() for c in row]
    bare = [key for key, c in cells if c.data_type == "s" and isinstance(c.value, str)
            and c.value.startswith(("=", "+", "-", "@")) and not c.quotePrefix]
    assert not bare, bare[:5]
    # and no formula carries it (a review: a note made a formula after it was text kept it)
    assert not [key for key, c in cells if c.data_type == "f" and c.quotePrefix]


def test_a_formula_naming_an_undefined_name_fails_the_build(tmp_path):
    from xlnapkin.templates import _book
    wb = _book.new_workbook()
    wb.active["A1"] = "=no_such_name*2"
    with pytest.raises(KeyError, match="no_such_name"):
        _book.save(wb, tmp_path / "t.xlsx")


@pytest.mark.parametrize("name", TEMPLATES)
def test_cover_says_what_it_answers_assumes_and_leaves_out(books, name):
    wb = books[name]
    assert wb.sheetnames[0] == "Cover"
    text = "\n".join(str(c.value) for row in wb["Cover"].iter_rows() for c in row if c.value)
    for head in ("What it answers", "How to use it", "assume", "What it leaves out", "Sources",
                 f"xlnapkin {__version__}"):
        assert head in text, head
    if "cloud_price_as_of" in text:  # a cover that cites the column has it on the Catalog
        assert "gpu_cloud_price_as_of" in wb.defined_names


def test_the_planners_leaves_out_starts_a_page(books):
    # A capacity planner's review: its heading stood alone at the foot of the cover's first
    # page (LibreOffice's PDF, 2026-12-07), its text on the next.
    ws = books["capacity_planner"]["Cover"]
    head, = (c.row for c in ws["B"] if c.value == "What it leaves out")
    assert head - 1 in {b.id for b in ws.row_breaks.brk}
    assert len(ws.row_breaks.brk) == 1


def test_the_planners_cover_says_what_its_ranking_rests_on(books):
    # A procurement review: the cover ranked the catalog's GPUs on prices of different bases
    # and the MI300X at AMD's factor, and said neither.
    text = " ".join(str(c.value) for row in books["capacity_planner"]["Cover"].iter_rows()
                    for c in row if c.value)
    assert (f"AMD GPUs are modelled at {calibration.VENDOR_FACTOR['amd']:g} of the efficiency "
            "NVIDIA's reach, already in the table's figures" in text
            and "type your own quotes in 'your $/GPU-h'" in text)


@pytest.mark.parametrize("name", WORKBOOKS)
def test_charts_have_titles_and_axis_titles(built, name):
    with zipfile.ZipFile(built[name]) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert charts or name == "showcase"
    for xml in charts:
        assert len(re.findall(r"<(?:c:)?title>", xml)) >= 3, name  # chart + both axes
        assert re.search(r'<(?:c:)?delete val="0"\s*/>', xml), name


def test_sensitivity_and_years_sheets_hold_charts(books):
    wb = books["self_host_breakeven"]
    assert len(wb["Sensitivity"]._charts) == 2  # the tornado of $/Mtok and of the breakeven
    assert len(wb["Years"]._charts) == 1


@pytest.mark.parametrize("name", WORKBOOKS)
def test_print_setup_keeps_text_readable(books, name):
    """Print areas everywhere; a fixed scale of at least 90 % (9 pt notes print >= 8 pt)."""
    for ws in books[name].worksheets:
        assert ws.print_area, ws.title
        assert not ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.page_setup.scale >= 90, ws.title
        smallest = min((c.font.sz for row in ws.iter_rows() for c in row
                        if c.value is not None and c.font and c.font.sz), default=10)
        assert smallest * ws.page_setup.scale / 100 >= 8, ws.title


def test_every_printed_page_of_the_latency_tables_starts_with_their_header(books):
    """A review: the bisection tables' continuation pages printed numbers without column
    headers. Each table starts a page, and each manual page break in it is followed by the
    header again (the row label's column reads "row" there, as on the first page)."""
    ws = books["capacity_planner"]["Latency"]
    col = _latency.TABLE_COL
    titles = [r for r in range(1, ws.max_row + 1)
              if str(ws.cell(r, col).value or "").endswith("(bisection)")]
    breaks = sorted(b.id for b in ws.row_breaks.brk)
    assert len(titles) == 2 and titles[1] - 1 in breaks
    rows_below = [r for r in range(titles[0], ws.max_row + 1) if ws.cell(r, col).value]
    pages, start = [], titles[0]
    for end in [b for b in breaks if b >= titles[0]] + [ws.max_row]:
        page = [r for r in rows_below if start <= r <= end]
        if page:
            pages.append(page)
        start = end + 1
    assert len(pages) >= 4  # both tables are longer than a page
    for page in pages:
        first = page[1] if page[0] in titles else page[0]
        assert ws.cell(first, col).value == "row", (page[0], ws.cell(first, col).value)
        steps = [r for r in page if str(ws.cell(r, col).value).startswith("step")]
        assert len(steps) <= _latency.PAGE_ROWS


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_catalog_prints_its_tables_without_long_text_or_lookup_lists(books, name):
    """Before: the whole Catalog printed, about forty pages of which most were sources, notes
    and the alias lookups, and one table's numbers sat in columns as wide as another's
    sources. Now each table prints its short columns (one page range each), and the long text
    columns are the same sheet columns for every table, right of all printed ones."""
    from openpyxl.utils import range_boundaries
    ws = books[name]["Catalog"]
    areas = [range_boundaries(a.split("!")[1].replace("$", ""))
             for a in ws.print_area.split(",")]
    tables = sum(c.value == "id" for c in ws["A"])  # GPUs (models, prices), then the dtypes
    assert len(areas) == tables + 1 and tables >= 1  # with the vendor factors
    printed_cols = set()
    for i, (col0, row0, col1, row1) in enumerate(areas):
        printed_cols.update(range(col0, col1 + 1))
        heads = [ws.cell(row0 + 1, c).value for c in range(col0, col1 + 1)]
        assert col0 == 1 and heads[0] == ("id" if i < tables else "dtype"), heads
        assert not {"aliases", "verified", "source", "notes"} & set(heads), heads
    for head in ("source", "notes"):
        cols = {c.column for row in ws.iter_rows() for c in row if c.value == head}
        assert len(cols) == 1 and not cols & printed_cols, (head, cols)
    wide = [c for c in printed_cols
            if ws.column_dimensions[ws.cell(1, c).column_letter].width > 30]
    assert not wide, wide
    lookups = books[name].defined_names["gpu_keys"].attr_text.split("!")[1].replace("$", "")
    first_key_row = range_boundaries(lookups)[1]
    assert all(row1 < first_key_row for _, _, _, row1 in areas)


@pytest.mark.parametrize("name", WORKBOOKS)
def test_labels_fit_beside_their_value(books, name):
    """A label that is neither wrapped nor merged, with a filled cell to its right, fits its
    column: a wider one is cut off on screen and in print. Width units are characters of the
    11 pt default font. Counting characters is a proxy (letters differ in width): in
    LibreOffice's PDF (2026-12-02) 10 pt labels of 1.22 and 1.27 x their column were cut and
    one of 1.21 printed whole, so the bound is 1.2. The Catalog sheet is a data table, left
    out."""
    from openpyxl.utils import get_column_letter
    too_wide = []
    for ws in books[name].worksheets:
        if ws.title == "Catalog":
            continue
        merged = {(r, c) for rng in ws.merged_cells.ranges
                  for r in range(rng.min_row, rng.max_row + 1)
                  for c in range(rng.min_col, rng.max_col + 1)}
        for row in ws.iter_rows():
            for c in row:
                text = c.value
                if (not isinstance(text, str) or text.startswith("=")
                        or (c.row, c.column) in merged or c.alignment.wrap_text
                        or ws.cell(c.row, c.column + 1).value in (None, "")):
                    continue
                letter = get_column_letter(c.column)
                width = (ws.column_dimensions[letter].width if letter in ws.column_dimensions
                         else 8.43)
                size = c.font.sz or 11
                if len(text) * size / 11 > 1.2 * width:
                    too_wide.append(f"{ws.title}!{c.coordinate} {text!r}")
    assert not too_wide, too_wide


@pytest.mark.parametrize("name", WORKBOOKS)
def test_notes_fit_their_print_area(books, name):
    """A note that runs on over empty cells prints only as far as its print area's last
    column: a longer one is cut at the page's edge (LibreOffice's PDF, 2026-12-05: 9 pt notes
    of 75-84 characters cut on 48-50 units; 73 printed whole on 48 and cut on 50). Bound: 1.15
    width units a character at 11 pt (the labels' 1.2 less a margin), on the width from the
    note's column to the area's end. The Catalog sheet is a data table, left out; a formula's
    text is not checked."""
    from openpyxl.utils import get_column_letter, range_boundaries
    cut = []
    for ws in books[name].worksheets:
        if ws.title == "Catalog":
            continue
        for area in ws.print_area.split(","):
            col0, row0, col1, row1 = range_boundaries(area.split("!")[1].replace("$", ""))
            for row in ws.iter_rows(min_row=row0, max_row=row1, min_col=col0, max_col=col1):
                for c in row:
                    text = c.value
                    if not isinstance(text, str) or c.data_type == "f" or c.alignment.wrap_text:
                        continue  # a note may start with "=" (the function it equals)
                    rest = range(c.column + 1, col1 + 1)
                    if any(ws.cell(c.row, col).value not in (None, "") for col in rest):
                        continue  # it stops at a filled cell: the labels' test
                    dims = [ws.column_dimensions.get(get_column_letter(col))
                            for col in range(c.column, col1 + 1)]
                    room = sum(d.width if d is not None and d.width else 8.43 for d in dims)
                    if len(text) * (c.font.sz or 11) / 11 > 1.15 * room:
                        cut.append(f"{ws.title}!{c.coordinate} {text!r}")
    assert not cut, cut


def test_showcase_names_do_not_clash_with_functions(books):
    from xlnapkin._excel import REGISTRY
    import xlnapkin.udfs  # noqa: F401  (registers the functions)
    names = {n.upper() for n in books["showcase"].defined_names}
    assert REGISTRY and not names & set(REGISTRY)
    text = " ".join(str(c.value) for row in books["showcase"].active.iter_rows() for c in row
                    if isinstance(c.value, str))
    assert "#NAME?" in text and "xlnapkin loaded" in text  # says what it needs


# --- the template framework ------------------------------------------------------------------

def _functions(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.end_lineno - node.lineno + 1


@pytest.mark.parametrize("path", sorted((PACKAGE / "templates").glob("*.py")),
                         ids=lambda p: p.name)
def test_no_builder_function_over_80_lines(path):
    long = [(n, lines) for n, lines in _functions(path) if lines > 80]
    assert not long, long


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            found.update(f"{mod}.{a.name}".strip(".") for a in node.names)
            found.add(mod)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_no_template_imports_a_sibling_template():
    for name in WORKBOOKS:
        imports = _imports(PACKAGE / "templates" / f"{name}.py")
        siblings = {s for s in WORKBOOKS if s != name}
        assert not {i for i in imports if i.split(".")[-1] in siblings}, name


def test_no_engine_module_imports_template_code():
    adapters = {"cli.py", "__main__.py"}  # the command line builds the templates on request
    for path in PACKAGE.glob("*.py"):
        if path.name not in adapters:
            assert not any("templates" in i for i in _imports(path)), path.name


def test_template_modules_import_without_cycles():
    """Private modules of the framework import only lower layers, never a template."""
    layers = ["_book", "_style", "_sheets", "_blocks", "_napkin", "_self_host_sheets"]
    for i, mod in enumerate(layers):
        imports = {x.split(".")[-1] for x in _imports(PACKAGE / "templates" / f"{mod}.py")}
        assert not imports & set(layers[i + 1:]) - {mod}, mod
        assert not imports & set(WORKBOOKS), mod


def test_the_year_end_lean_is_as_large_as_the_cover_says():
    # The cover and the Years sheet say year-end discounting understates owning's NPV saving by
    # "some 9 % at the defaults" (a finance audit: "a little" was $2,729 against about
    # $4,160 month by month at $2.49 an hour; a third until the H100's rent was Crusoe's $3.90,
    # 2026-12-07). The same flows, from the committed workbook's stored results,
    # discounted monthly at the same yearly rate:
    wb = openpyxl.load_workbook(REPO / "workbooks" / "self_host_breakeven.xlsx", data_only=True)

    def values(name):
        (sheet, ref), = wb.defined_names[name].destinations
        cells = wb[sheet][ref.replace("$", "")]
        return [c.value for row in cells for c in row] if isinstance(cells, tuple) else \
            cells.value
    rate, saving = values("cost_of_capital_used"), values("own_npv_saving_per_gpu")
    years, rent, own = values("years_used"), values("yr_rent_cost"), values("yr_own_cash")
    running, resale = own[1], own[1] - own[years]
    month = (1 + rate) ** (1 / 12) - 1
    flows = [(12 * (y - 1) + m, rent[y] / 12 - running / 12)
             for y in range(1, years + 1) for m in range(1, 13)]
    monthly = sum(f / (1 + month) ** t for t, f in flows) - own[0] + resale / (1 + rate) ** years
    assert saving > 0 and 0.085 <= 1 - saving / monthly < 0.095, (saving, monthly)
    assert "(by some 9 % at the defaults)" in shs.YEAR_END_LEAN
    page = " ".join((REPO / "docs" / "templates.md").read_text(encoding="utf-8").split())
    assert (f"At the defaults by some 9 %: ${saving:,.0f} a GPU, where monthly discounting "
            f"gives about ${monthly:,.0f}") in page


def _calculated(tmp_path, cells: dict) -> dict:
    """Each of ``cells`` (a value or a formula) in column A of one sheet under its name as a
    defined name, calculated as a workbook is (recalc's formulas engine): name -> value."""
    from openpyxl.workbook.defined_name import DefinedName
    from xlnapkin.recalc import Workbook
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    for row, (name, value) in enumerate(cells.items(), 1):
        ws.cell(row, 1, value)
        wb.defined_names[name] = DefinedName(name, attr_text=f"S!$A${row}")
    wb.save(tmp_path / "t.xlsx")
    book = Workbook(tmp_path / "t.xlsx")
    book.calculate()
    return {name: book.value(f"S!A{row}") for row, name in enumerate(cells, 1)}


def test_the_text_helpers_show_amounts_as_a_reader_expects(tmp_path):
    # The covers' dollar amounts in words: whole dollars from $1, cents below, and a positive
    # amount under half a cent as "under $0.01" (a stress audit: 1,000 tokens a day read "the
    # API $0.00 a month").
    from xlnapkin.templates import _sheets
    cases = [(1234.4, "$1,234"), (0.5, "$0.50"), (0.002, "under $0.01"),
             (0.0049, "under $0.01"), (0.005, "$0.01"), (0, "$0.00"), (-5, "-$5")]
    cells = {f"amount_{i}": value for i, (value, _) in enumerate(cases)}
    cells.update({f"shown_{i}": "=" + _sheets.dollars(f"amount_{i}") for i in range(len(cases))})
    got = _calculated(tmp_path, cells)
    assert [got[f"shown_{i}"] for i in range(len(cases))] == [shown for _, shown in cases]


def test_a_share_of_the_time_reads_as_time_a_month(tmp_path):
    # A CFO's read of the multi-tenant cover: "short of capacity 0.050% of the time" says
    # little; 22 minutes a month says it (730 hours).
    from xlnapkin.templates import _sheets
    cases = [(0.0005, "22 minutes a month"), (0.01866, "13.6 hours a month"),
             (1e-6, "under a minute a month"), (0.5, "365.0 hours a month"),
             (1.2 / 60 / 730, "1 minute a month")]  # not "1 minutes" (a CFO's read)
    cells = {"hours_per_month": 730}
    cells.update({f"share_{i}": share for i, (share, _) in enumerate(cases)})
    cells.update({f"shown_{i}": "=" + _sheets.a_month(f"share_{i}") for i in range(len(cases))})
    got = _calculated(tmp_path, cells)
    assert [got[f"shown_{i}"] for i in range(len(cases))] == [shown for _, shown in cases]


@pytest.mark.parametrize("model, kv_bits", [
    ("deepseek-v3.2", 8), ("deepseek-v3.2", 16), ("deepseek-v3", 8), ("llama-3.1-8b", 8),
    ("deepseek-v3.2; kv_lora_rank=200", 8), ("gemma-2-27b", 4)])
def test_the_kv_bytes_step_is_the_engine_s(tmp_path, model, kv_bits):
    # The Working sheets' "KV bytes per token per attention layer", calculated as a workbook
    # does, for a model's catalog fields and a KV width: the engine's bytes, FlashMLA's sparse
    # layout for an 8-bit cache under sparse attention included (a mutation audit: only a
    # LibreOffice recalculation of one planner case could see that branch).
    from xlnapkin import memory
    from xlnapkin.templates import _napkin
    m = catalog.model(model)
    steps = {s.name: s for s in _napkin.model_steps()}
    cells = {f"m_{f}": getattr(m, f) or 0 for f in ("kv_lora_rank", "qk_rope_head_dim",
                                                     "index_topk", "kv_heads", "head_dim",
                                                     "v_head_dim")}
    cells["kv_bits"] = kv_bits
    for name in ("kv_elements", "kv_bytes_per_layer_token"):  # {name}: the defined name
        cells[name] = "=" + re.sub(r"\{(\w+)\}", r"\1", steps[name].formula)
    got = _calculated(tmp_path, cells)
    assert got["kv_bytes_per_layer_token"] == pytest.approx(
        m.kv_bytes_per_layer_token(kv_bits / 8), rel=1e-12)
    assert got["kv_elements"] == memory.kv_elements_per_token(m)
