"""Headless recalculation (``xlnapkin.recalc`` and ``xlnapkin recalc``) and the showcase workbook.

Every formula cell of ``workbooks/functions_showcase.xlsx`` that calls an xlnapkin function is
recalculated with the ``formulas`` package and compared with a direct call of the function on the
same inputs; ``--set`` changes inputs; ``--out`` writes a copy; the input is never overwritten
without ``--in-place``.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("formulas")
openpyxl = pytest.importorskip("openpyxl")

from openpyxl.workbook.defined_name import DefinedName  # noqa: E402
from openpyxl.utils.cell import coordinate_from_string  # noqa: E402
from openpyxl.worksheet.formula import ArrayFormula  # noqa: E402

from xlnapkin import _formula, catalog, cli, docgen  # noqa: E402
from xlnapkin.templates import showcase  # noqa: E402
from xlnapkin.recalc import (Limits, RecalcError, Workbook, parse_value,  # noqa: E402
                             recalculate, write_cell_values)
from conftest import run  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHOWCASE = REPO / "workbooks" / "functions_showcase.xlsx"
FUNCTIONS = docgen.functions()


def close(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    return a == b



def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def book():
    wb = Workbook(SHOWCASE)
    wb.calculate()
    return wb


def _xlnapkin_formulas(path: Path):
    """``[(cell or range, function name, args)]`` for each formula that is one xlnapkin call."""
    ws = openpyxl.load_workbook(path)[showcase.SHEET]
    found = []
    for row in ws.iter_rows():
        for c in row:
            text, where = c.value, c.coordinate
            if isinstance(text, ArrayFormula):
                text, where = text.text, text.ref.replace("$", "")
            if not (isinstance(text, str) and text.startswith("=")):
                continue
            try:
                name, args = _formula.parse_formula(text)
            except ValueError:
                continue  # plain Excel arithmetic, checked separately
            if name in FUNCTIONS:
                found.append((where, name, args))
    return found


def _direct(wb: Workbook, name, args):
    """Call the function directly with the formula's arguments looked up in the workbook."""
    values = []
    for a in args:
        if isinstance(a, _formula.Reference):
            ref = a.replace("$", "")
            values.append(wb.value(ref if ref in wb.names or "!" in ref
                                   else f"{showcase.SHEET}!{ref}"))
        else:
            values.append(a)
    return FUNCTIONS[name](*values)


# --- the showcase -------------------------------------------------------------------------------

def test_showcase_uses_the_functions_in_every_block():
    used = {name for _, name, _ in _xlnapkin_formulas(SHOWCASE)}
    assert {"TOKENS_PER_SEC", "ITL_MS", "TTFT_MS", "KV_BYTES", "COST_PER_MTOK",
            "MAX_THROUGHPUT", "BLENDED_PRICE", "REPLICA_TOKENS_PER_DAY",
            "FLEET_BREAKEVEN_TOKENS_PER_DAY", "MAX_BATCH", "NAPKIN_VERSION"} <= used


def test_every_xlnapkin_formula_recalculates_to_the_engine_value(book):
    cells = _xlnapkin_formulas(SHOWCASE)
    assert len(cells) > 50
    for where, name, args in cells:
        expected = _direct(book, name, args)
        got = book.value(f"{showcase.SHEET}!{where}")
        assert close(got, expected), (where, name, got, expected)


def test_plain_excel_formulas_recalculate_too(book):
    v = book.values()
    assert close(v["monthly_gpu_bill"], v["gpu_price_per_hour"] * v["num_gpus"] * 730)
    assert close(v["replica_tps"], v["replica_output_tps"] * (v["input_tokens"] + v[
        "output_tokens"]) / v["output_tokens"])
    assert close(v["input_share"], v["input_tokens"] / (v["input_tokens"] + v["output_tokens"]))
    assert v["verdict"].startswith("self-hosting" if isinstance(v["breakeven_volume"], float)
                                   else "the API")


def test_the_showcase_breakeven_compares_the_same_tokens_under_load():
    """A review: the block compared a decode-only replica at the batch input with an API's
    output price, and its verdict and breakeven read "the API is cheaper" where the cost
    functions under load say the opposite (70B fp8, two H100s: $0.24 against $0.69 a million
    tokens). Its self-hosted cost is SELF_HOST_COST_PER_MTOK's, its API price the blend of the
    request's mix, its breakeven whole replicas'; a GPU without a price has no verdict."""
    wb = Workbook(SHOWCASE)
    # the API prices the sheet types are the ones its note cites (prices.csv)
    groq = catalog.price("groq-llama-3.3-70b")
    defaults = wb.values(["api_price_in_per_mtok", "api_price_out_per_mtok"])
    assert defaults == {"api_price_in_per_mtok": groq.input_usd_per_mtok,
                        "api_price_out_per_mtok": groq.output_usd_per_mtok}
    for gpu, verdict in (("h100-sxm", "self-hosting"), ("l40s", "the API"),
                         ("b300", "no verdict")):
        wb.calculate({"gpu": gpu})
        v = wb.values()
        price = FUNCTIONS["GPU_SPEC"](gpu, "cloud_usd_per_hour")
        direct = FUNCTIONS["SELF_HOST_COST_PER_MTOK"](gpu, v["model"], price, 1024, 1024, "fp8",
                                                      "fp8", 2, 0.7)
        assert v["verdict"].startswith(verdict), (gpu, v["verdict"])
        if verdict == "no verdict":
            assert not isinstance(v["cost_per_mtok_self_hosted"], float)
            continue
        assert close(v["cost_per_mtok_self_hosted"], direct)
        assert close(v["api_blended_price"], FUNCTIONS["BLENDED_PRICE"](
            v["api_price_in_per_mtok"], v["api_price_out_per_mtok"], 0.5))
        saves = direct < v["api_blended_price"]
        assert isinstance(v["breakeven_volume"], float) == saves, (gpu, v["breakeven_volume"])


def test_cached_values_in_the_file_equal_the_recalculation(book):
    cached = openpyxl.load_workbook(SHOWCASE, data_only=True)[showcase.SHEET]
    for sheet, cells in book.cell_values().items():
        for cell, value in cells.items():
            assert close(cached[cell].value, value), (cell, cached[cell].value, value)


def _parts(data: bytes) -> dict:
    import io
    import zipfile
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: (i.date_time, z.read(i)) for i in z.infolist()}


def test_committed_showcase_is_current(tmp_path):
    # Compared part by part: another zlib may compress the same parts to other bytes.
    fresh = showcase.build(tmp_path)
    assert _parts(SHOWCASE.read_bytes()) == _parts(fresh.read_bytes()), (
        f"{SHOWCASE.relative_to(REPO)} is stale: run `xlnapkin templates build --force`")


def test_showcase_build_is_reproducible(tmp_path):
    a, b = showcase.build(tmp_path / "a"), showcase.build(tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()
    import zipfile
    with zipfile.ZipFile(a) as z:
        assert {i.date_time for i in z.infolist()} == {(2020, 1, 1, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode()
    assert "2020-01-01T00:00:00Z" in core


def test_showcase_text_is_never_a_formula():
    ws = openpyxl.load_workbook(SHOWCASE)[showcase.SHEET]
    for row in ws.iter_rows():
        for c in row:
            if c.data_type == "s":
                assert not str(c.value).startswith("=")


# --- setting inputs -----------------------------------------------------------------------------

def test_set_changes_inputs_by_name_and_by_reference():
    wb = Workbook(SHOWCASE)
    wb.calculate({"batch": 64, "gpu": "b200", "Showcase!B6": "llama-3.1-8b"})
    v = wb.values(["model", "batch", "replica_output_tps", "cost_per_mtok_self_hosted"])
    assert v["model"] == "llama-3.1-8b" and v["batch"] == 64
    tps = FUNCTIONS["MAX_THROUGHPUT"]("b200", "llama-3.1-8b", 1024, 1024, "fp8", "fp8", 2)
    assert close(v["replica_output_tps"], tps)
    price = FUNCTIONS["GPU_SPEC"]("b200", "cloud_usd_per_hour")
    assert close(v["cost_per_mtok_self_hosted"],
                 FUNCTIONS["COST_PER_MTOK"](price, 2 * tps, 0.7, 2))
    for where, name, args in _xlnapkin_formulas(SHOWCASE):
        assert close(wb.value(f"{showcase.SHEET}!{where}"), _direct(wb, name, args)), where


def test_setting_an_input_blank_empties_the_cell_and_everything_still_computes():
    # `--set kv_dtype=` once fed formulas "no value", and every output printed empty (exit 0)
    wb = Workbook(SHOWCASE)
    wb.calculate({"kv_dtype": None})
    v = wb.values(["kv_dtype", "kv_cache", "replica_tps", "verdict"])
    assert v["kv_dtype"] is None
    assert all(v[k] not in (None, "") for k in ("kv_cache", "replica_tps", "verdict")), v
    for where, name, args in _xlnapkin_formulas(SHOWCASE):
        assert close(wb.value(f"{showcase.SHEET}!{where}"), _direct(wb, name, args)), where


def _range_book(path, formula_in_range=False):
    """S!A1:A39 holds 1..39 but for empty A2 and A5 (absent from the file); T reads them only
    through the name ``vals``, so formulas gives A2 no node of its own."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    for r in range(1, 40):
        ws.cell(r, 1, None if r in (2, 5) else r)
    if formula_in_range:
        ws["A7"] = "=A6+1"
    t = wb.create_sheet("T")
    t["A1"], t["A2"] = "=SUM(vals)", "=INDEX(vals,2)*10"
    wb.defined_names["vals"] = DefinedName("vals", attr_text="'S'!$A$1:$A$39")
    wb.save(path)
    return path


def test_set_reaches_an_empty_cell_read_only_through_a_range(tmp_path, capsys):
    # `--set` on an empty Catalog cell (a blank fp16 peak) was once dropped without a word:
    # formulas has no node for a cell absent from the file, only for the range around it
    path = _range_book(tmp_path / "r.xlsx")
    wb = Workbook(path)
    wb.calculate({"S!A2": 5, "S!A1": 2, "S!Z99": 1})
    total = sum(range(1, 40)) - 2 - 5 - 1 + 2 + 5  # A2 5 (was empty), A1 2 (was 1)
    assert wb.value("T!A1") == total and wb.value("T!A2") == 50
    assert wb.unread == ["S!Z99"]  # in no range any formula reads
    code, out, err = run(capsys, "recalc", path, "--set", "S!A2=5", "--set", "S!Z99=1",
                         "--name", "T!A2", "-q")
    assert code == 0 and out.split() == ["T!A2", "50"]
    assert err == "note: no formula reads S!Z99, so setting it changes no other value\n"
    wb = Workbook(_range_book(tmp_path / "f.xlsx", formula_in_range=True))
    with pytest.raises(RecalcError, match="only through the range A1:A39, which also holds"):
        wb.calculate({"S!A2": 5})


def test_set_reaches_a_range_on_a_quoted_sheet_and_a_whole_column(tmp_path):
    # a review: the sheet name came back with its quote doubled, so the set was dropped; a
    # whole column starts at row 0 in formulas' name, so the cell below was overwritten
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Bob's Data"
    for r in range(1, 40):
        ws.cell(r, 1, None if r in (2, 5) else r)
    ws["Y1"] = 3  # filled, and read by nothing
    t = wb.create_sheet("T")
    t["A1"], t["A2"], t["A3"] = "=SUM(vals)", "=INDEX(vals,2)*10", "=SUM(col)"
    wb.defined_names["vals"] = DefinedName("vals", attr_text="'Bob''s Data'!$A$1:$A$39")
    wb.defined_names["col"] = DefinedName("col", attr_text="'Bob''s Data'!$A:$A")
    wb.save(tmp_path / "q.xlsx")
    book = Workbook(tmp_path / "q.xlsx", limits=Limits(max_range_cells=5_000_000))
    book.calculate({"'Bob''s Data'!A2": 1000, "'Bob''s Data'!A45": 7, "'Bob''s Data'!Y1": 9})
    base = sum(range(1, 40)) - 2 - 5
    assert book.value("T!A1") == base + 1000 and book.value("T!A2") == 10000
    assert book.value("T!A3") == base + 1000 + 7  # A45, past the used cells of the column
    assert book.unread == ["'Bob''s Data'!Y1"]  # as --set takes it back


# Sheet S of the text test: A1 "5" typed as text, A2 3, A3 1, A4 "x", A5 =1/0; C1 ">0", C2 0;
# D1:D4 2, "4" (text), 1, 6 beside E1:E4 "a", "b", "a", "b"; F1 " >2" (text), F2 4.
TEXT_SHEET = {"A1": "5", "A2": 3, "A3": 1, "A4": "x", "A5": "=1/0", "C1": ">0", "C2": 0,
              "D1": 2, "D2": "4", "D3": 1, "D4": 6, "E1": "a", "E2": "b", "E3": "a", "E4": "b",
              "F1": " >2", "F2": 4}
# What Excel gives there (Excel's help for SUM, COUNT, AVERAGE and COUNTIF: text in a reference
# is not counted; text typed as an argument, or built by an expression, is converted). LibreOffice
# Calc gives the same for every one but three whose text it would convert ("4", A1&"", A1:A2*1):
# it makes them #VALUE! by default. It skips the error in A5 in the SUMIF, as the criterion
# does not meet it.
# Not here: an array an expression builds, SUM(IF(A2>0,A1:A2,0)), where Excel skips the "5"
# (3) and formulas, and so recalc, converts it (8).
TEXT_IN_RANGES = [('SUM(A1:A4,"4",2)', 10), ('COUNT(A1:A4,"7")', 3), ("COUNT(A1:A4)", 2),
                  ("COUNTA(A1:A4)", 4), ("MAX(A1:A4)", 3), ("MIN(A1:A4)", 1),
                  ("AVERAGE(A1:A4)", 2), ("PRODUCT(A1:A4)", 3), ("SUMPRODUCT(A1:A4)", 4),
                  ("MEDIAN(A1:A3)", 2), ("VAR(A1:A3)", 2), ("SUMSQ(A1:A4)", 10),
                  ("MAX(A1)", 0), ("SUM(A1:A5)", "#DIV/0!"), ("COUNT(A1:A5)", 2),
                  # values and arrays expressions build are converted
                  ("SUM(A1:A2*1)", 8), ('COUNT(A1&"")', 1), ('SUM(A1&"")', 5),
                  ("SUM(--A1)", 5), ("SUMPRODUCT(--A1:A3)", 9),
                  # an order criterion, typed, in a cell or built, meets numbers only
                  ('COUNTIF(A1:A4,">0")', 2), ('SUMIF(A1:A4,">=1")', 4), ("COUNTIF(A1:A4,C1)", 2),
                  ('COUNTIF(A1:A4,">"&C2)', 2), ('SUMIF(A1:A5,">0")', 4),
                  ('COUNTIFS(A1:A4,">0")', 2), ('COUNTIF(A1:A4,"x")', 1),
                  ('COUNTIF(F1:F2," >2")', 1),  # text equal to " >2", not an order
                  # the numbers to add skip text whatever the criterion
                  ('SUMIF(E1:E4,"b",D1:D4)', 6), ('AVERAGEIF(E1:E4,"b",D1:D4)', 6),
                  ('SUMIFS(D1:D4,E1:E4,"b")', 6), ('SUMIF(E1:E4,"<>a",D1:D4)', 6),
                  # a number alone is one: formulas took any text float() reads, so a
                  # template's check passed "nan" on to INT, #VALUE! where Excel names the input
                  ("ISNUMBER(A1)", False), ('ISNUMBER("nan")', False), ("ISNUMBER(A2)", True),
                  ('ISNUMBER("inf")', False), ("SUMPRODUCT(--ISNUMBER(A1:A5))", 2),
                  # minus twice is a number (formulas read "--" as "+": TRUE, and the sum 0)
                  ("SUMPRODUCT(--(A2:A3>1))", 1), ("--(A2>1)", 1), ("1--A2", 4),
                  ("---(A2>1)", -1), ("+(A2>1)", True)]


def test_text_in_a_range_is_not_a_number_as_in_excel(tmp_path):
    # formulas reads "5" typed as text in a range as 5: a teams table with a volume typed as
    # text passed its COUNTA = COUNT check here, where Excel says "must be numbers"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    for cell, value in TEXT_SHEET.items():
        ws[cell] = value
    for row, (formula, _) in enumerate(TEXT_IN_RANGES, 1):
        ws.cell(row, 8, "=" + formula)
    wb.save(tmp_path / "t.xlsx")
    book = Workbook(tmp_path / "t.xlsx")
    book.calculate()
    got = {f: book.value(f"S!H{row}") for row, (f, _) in enumerate(TEXT_IN_RANGES, 1)}
    assert got == dict(TEXT_IN_RANGES)


# Where formulas calculated otherwise than Excel (xlnapkin/_formulas_fixes.py; a fidelity audit
# against LibreOffice, with Excel's documented rules): column A holds -100, blank, "60" (text),
# TRUE, 60, 70; B1 1.005, B2 "a", B3 7; C1 =1/0, C2 -100, C3 60.
EXCEL_RULES = [("IRR(A1:A6)", 0.18881944173155873),  # the numbers -100, 60, 70 alone
               ("NPV(0.1,A1:A6)", -100 / 1.1 + 60 / 1.1 ** 2 + 70 / 1.1 ** 3),
               ("PRODUCT(A4:A5)", 60), ("N(A4)", 1), ("N(B2)", 0), ("N(A4)=1", True),
               ("ROUND(B1,2)", 1.01), ("ROUND(-0.285,2)", -0.29), ("ROUNDUP(0.1+0.2,1)", 0.3),
               ("ROUNDDOWN(-2.5,0)", -2), ("ROUND(1234.5,-2)", 1200), ("ROUND(2.5,0)", 3),
               ("(-8)^(1/3)", -2), ("POWER(-32,1/5)", -2), ("(-8)^(2/3)", "#NUM!"),
               ("A1^0.5", "#NUM!"), ("0^0", "#NUM!"), ("0^-1", "#DIV/0!"),
               ("(-2)^3", -8), ('"x"&(0.1+0.2)', "x0.3"), ('"x"&1/3', "x0.333333333333333"),
               ("LEN(1/3)", 17), ('"x"&B3', "x7"), ('COUNTIF(A1:A6,"<>")', 5),
               ('COUNTIF(B1:B3,"<>a")', 2), ('COUNTIF(A1:A6,"<>60")', 4), ('COUNTIF(A1:A6,"=")', 1),
               ('COUNTIFS(B1:B3,"<>a")', 2), ('SUMIF(B1:B3,"<>a")', 8.005),
               ('TRIM("  a   b  ")', "a b"), ("_xlfn.CEILING.MATH(-2.1)", -2),
               ("_xlfn.FLOOR.MATH(-2.1)", -3), ("_xlfn.CEILING.MATH(-5.5,2,-1)", -6),
               ("_xlfn.FLOOR.MATH(-5.5,2,-1)", -4), ("_xlfn.CEILING.MATH(4.3,2)", 6),
               ("_xlfn.CEILING.MATH(0.1*3,0.1)", 0.3), ("_xlfn.FLOOR.MATH(0.3,0.1)", 0.3),
               ('"x"&1E+16', "x1E+16"), ('"x"&(1/3*1E-5)', "x3.33333333333333E-06"),
               ('"x"&0.00001', "x0.00001"), ("IRR(C1:C3)", "#DIV/0!"),
               ('TEXT(ROUND(-0.4,0),"0")', "0"), ("MROUND(1.3,0.2)", 1.4), ("MROUND(2.5,1)", 3),
               ("FLOOR(0.3,0.1)", 0.3), ("CEILING(-2.5,2)", -2), ("FLOOR(1,0)", "#DIV/0!"),
               ('VALUE("2,000")', 2000), ('VALUE("$5")+VALUE("50%")', 5.5), ('VALUE("(5)")', -5),
               ('VALUE("1_000")', "#VALUE!"), ('COUNTIF(B1:B3,"a?")', 0), ('COUNTIF(B1:B3,"*")', 1),
               ('COUNTIF(A1:A6,"*")', 1), ('SUMIF(A1:A6,"<>-100")', 130),
               ('AVERAGEIF(A1:A6,">0")', 65),
               # a review of the above: "~~" is a tilde before a wildcard, "(-5)" no number,
               # steps past 1e14 keep their units, a time alone a share of a day, "ß" one
               # character, an error no text
               ('COUNTIF({"~a","~b","a"},"~~?")', 2), ('VALUE("(-5)")', "#VALUE!"),
               ("FLOOR(2^50+0.5,1)-2^50", 0), ("MROUND(1E+15+3,1)-1E+15", 3),
               ('VALUE("12:00")', 0.5), ('VALUE("1:30 PM")', 0.5625), ('VALUE("1,23")', "#VALUE!"),
               ('VALUE("2024-01-05")', 45296), ('COUNTIF({"ß","ab"},"?")', 1),
               ('COUNTIF(C1:C3,"#*")', 0), ('"x"&(1/30000)', "x0.0000333333333333333"),
               ('VALUE("5 PM")', 17 / 24),
               # halves away from zero in TEXT, as Excel (a review: 1 - 22/32 read 31.2% on a
               # cover and 31.3% in its cell); a value just under a half stays under
               ('TEXT(1-22/32,"0.0%")', "31.3%"), ('TEXT(2.5,"0")', "3"), ('TEXT(-2.5,"0")', "-3"),
               ('TEXT(0.125,"0.00")', "0.13"), ('TEXT(12345.5,"$#,##0")', "$12,346"),
               ('TEXT(1.005,"0.00")', "1.01"), ('TEXT(0.12499999,"0.00")', "0.12"),
               # in a scientific format's mantissa too, and past 1e15 no fraction to round
               # (a review: decimal's 28 digits made TEXT(1E+30,"0") #VALUE!)
               ('TEXT(1250,"0.0E+00")', "1.3E+03"), ('TEXT(1.05E-05,"0.0E+00")', "1.1E-05"),
               ('LEN(TEXT(1E+30,"0"))', 31),
               # a grouped format's integer part of 0, as Excel shows it (a CFO's read: the
               # cover's "0,.0 M tokens/day" at 1 token a day)
               ('TEXT(0.04,"#,##0.0")', "0.0"), ('TEXT(0.5,"#,##0.00")', "0.50"),
               ('TEXT(0.3,"$#,##0")', "$0"), ('TEXT(-0.4,"#,##0.0")', "-0.4"),
               ('TEXT(0.5,"#,###.0")', ".5"), ('TEXT(999.96,"#,##0.0")', "1,000.0"),
               # only the units digit's placeholder (a review: "0,005" had become "0005")
               ('TEXT(5,"0,000")', "0,005"), ('TEXT(0.5,"0,000.0")', "0,000.5"),
               # text that Python's float reads and Excel does not stays text wherever a
               # formula converts it, as VALUE had it (a hardening review: "1_000"*1 was 1000,
               # "nan"*2 #NUM!, and COUNTIF's "nan" counted no cell holding that text)
               ('"1_000"*1', "#VALUE!"), ('SQRT("1_6")', "#VALUE!"), ('"nan"*2', "#VALUE!"),
               ('"inf"+0', "#VALUE!"), ('ABS("Infinity")', "#VALUE!"),
               ('"\u0661\u0662"*1', "#VALUE!"), ('LARGE({1,2,3},"1_0")', "#VALUE!"),
               ('COUNTIF({"nan","x"},"nan")', 1), ('"12"*1', 12), ('" 1e3 "*1', 1000),
               ('SQRT("16")', 4),
               # text that is no number: #VALUE!, not an exception that stopped the whole
               # recalculation (a review)
               ('ISODD("1_1")', "#VALUE!"), ('ISEVEN("abc")', "#VALUE!"), ('ISEVEN("4")', True),
               ("ISODD(B3)", True)]


def test_formulas_calculates_as_excel_where_it_differed(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    for row, value in enumerate([-100, None, "60", True, 60, 70], 1):
        ws.cell(row, 1, value)
    ws["B1"], ws["B2"], ws["B3"] = 1.005, "a", 7
    ws["C1"], ws["C2"], ws["C3"] = "=1/0", -100, 60
    for row, (formula, _) in enumerate(EXCEL_RULES, 1):
        ws.cell(row, 4, "=" + formula)
    wb.save(tmp_path / "r.xlsx")
    book = Workbook(tmp_path / "r.xlsx")
    book.calculate()
    for row, (formula, want) in enumerate(EXCEL_RULES, 1):
        got = book.value(f"S!D{row}")
        ok = got == pytest.approx(want, rel=1e-12) if isinstance(want, float) else got == want
        assert ok and isinstance(got, bool) == isinstance(want, bool), (formula, got, want)
    # --out saves them (a complex number from (-8)^(1/3) had stopped the save)
    book.save(tmp_path / "out.xlsx")


def test_a_teams_volume_typed_as_text_fails_the_check_as_in_excel():
    # the multi-tenant template's check: COUNTA(volumes) = COUNT(volumes); the teams are sized
    # only once it passes (before, recalc sized them at 8 GPUs where Excel said "check inputs")
    wb = Workbook(REPO / "workbooks" / "multi_tenant_savings.xlsx")
    sheet, cells = wb.resolve("teams_tokens_per_day")
    column, row = coordinate_from_string(cells.split(":")[0])
    wb.calculate({f"{sheet}!{column}{row + 1}": "20000000"})  # the second team's volume
    assert wb.value("check_teams_table") == "tokens a day must be numbers (or blank)"
    assert wb.value("teams_ok") is False and wb.value("teams_pooled_gpus") == "check inputs"
    # a team typed under the table is no team: the check says so (a platform lead's 20 teams
    # ran past the 12 rows there were, and the rest were dropped without a word)
    from xlnapkin.templates._teams import TEAM_ROWS
    wb.calculate({f"{sheet}!{column}{row + 1}": 20000000,
                  f"{sheet}!{column}{row + TEAM_ROWS + 1}": 5000000})
    assert wb.value("check_teams_table") == (f"only {TEAM_ROWS} teams fit: merge the smallest "
                                             "into one row")


def test_set_on_a_formula_names_the_input_beside_it():
    # A user audit: --set on the price a sheet uses was refused as a formula, and nothing said
    # which cell one types the price in
    wb = Workbook(REPO / "workbooks" / "multi_tenant_savings.xlsx")
    with pytest.raises(RecalcError, match=r"holds a formula; only input cells can be set \(an "
                       r"input named like it: gpu_price_per_hour\)$"):
        wb.set("gpu_price_per_hour_effective", 2.0)
    with pytest.raises(RecalcError, match=r"only input cells can be set$"):
        wb.set("dedicated_gpus", 2.0)  # no input named like it
    # the name the price's input had until December 2026 points at the one it has now
    with pytest.raises(RecalcError, match=r"did you mean gpu_price_per_hour "):
        wb.set("gpu_price_per_hour_override", 2.0)


def test_set_refuses_formula_cells_ranges_and_unknown_names():
    wb = Workbook(SHOWCASE)
    with pytest.raises(RecalcError, match="holds a formula"):
        wb.set("weights", 1)
    with pytest.raises(RecalcError, match=r"is a range; set one cell at a time, e\.g\. "
                                          r"--set 'Showcase!A1=\.\.\.'$"):
        wb.set("Showcase!A1:A2", 1)
    with pytest.raises(RecalcError, match="unknown name 'nope'"):
        wb.set("nope", 1)
    with pytest.raises(RecalcError, match=r"not a defined name \(did you mean context\?\)"):
        wb.set("contxt", 1)
    with pytest.raises(RecalcError, match="no sheet 'Other'"):
        wb.set("Other!A1", 1)


def test_parse_value():
    assert parse_value("64") == 64 and isinstance(parse_value("64"), int)
    assert parse_value("0.7") == 0.7 and parse_value("5e8") == 5e8
    assert parse_value("h100-sxm") == "h100-sxm" and parse_value('"12"') == "12"
    assert parse_value("") is None and parse_value("true") is True
    assert parse_value("nan") == "nan"
    # as a typed cell reads them: a dollar sign, thousands grouped (a CLI audit)
    assert parse_value("10,000,000") == 10_000_000 and isinstance(parse_value("1,000"), int)
    assert parse_value("$3") == 3 and parse_value("-$2.5") == -2.5 and parse_value("$-2") == -2
    assert parse_value("1,000%") == 10.0
    for text in ("$", "$abc", "1,0", "12,5", "1,000,0000", "$$3", "2,50", "$true", '$"3"',
                 "$70%"):
        assert parse_value(text) == text  # not numbers, kept as typed


# --- saving -------------------------------------------------------------------------------------

def test_save_writes_inputs_and_cached_values_and_keeps_formulas(tmp_path):
    before = sha(SHOWCASE)
    out = tmp_path / "scenario.xlsx"
    values = recalculate(SHOWCASE, {"batch": 64, "model": "llama-3.1-8b"},
                         ["replica_tps"], out=out)
    assert sha(SHOWCASE) == before
    formulas_view = openpyxl.load_workbook(out)[showcase.SHEET]
    values_view = openpyxl.load_workbook(out, data_only=True)[showcase.SHEET]
    original = openpyxl.load_workbook(SHOWCASE)[showcase.SHEET]
    cell = Workbook(SHOWCASE).resolve("replica_tps")[1]
    assert formulas_view[cell].value == original[cell].value  # the formula is kept
    assert close(values_view[cell].value, values["replica_tps"])
    assert values_view["B6"].value == "llama-3.1-8b"
    again = Workbook(out).values(["replica_tps", "batch"])
    assert close(again["replica_tps"], values["replica_tps"])
    assert again["batch"] == 64
    with pytest.raises(RecalcError, match="already exists"):
        recalculate(SHOWCASE, out=out)


def test_write_cell_values_text_numbers_errors_and_missing_cells(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    ws["A1"], ws["A2"], ws["B1"] = 1, "text", "=A1*2"
    path = tmp_path / "w.xlsx"
    wb.save(path)
    data, missing = write_cell_values(path.read_bytes(), {"S": {
        "A1": 5, "A2": "a < b & c ", "B1": "#DIV/0!", "C9": 1}})
    assert missing == [("S", "C9")]
    out = tmp_path / "w2.xlsx"
    out.write_bytes(data)
    values = openpyxl.load_workbook(out, data_only=True)["S"]
    assert values["A1"].value == 5 and values["A2"].value == "a < b & c "
    assert values["B1"].value == "#DIV/0!"
    assert openpyxl.load_workbook(out)["S"]["B1"].value == "=A1*2"


# --- the functions inside formulas --------------------------------------------------------------

@pytest.fixture(scope="module")
def small_book(tmp_path_factory):
    """A workbook exercising blanks, empty cells, errors, ranges and tables."""
    path = tmp_path_factory.mktemp("small") / "My Book.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "In puts"
    ws["A1"], ws["B1"], ws["C1"] = "h100-sxm", "llama-3.1-8b", 64
    ws["D1"] = '=TOKENS_PER_SEC(A1,B1,C1,,"fp8")'           # ,, is a blank: the default
    ws["D2"] = "=KV_BYTES(B1,A7)"                             # A7 is empty: the default
    ws["D3"] = '=TOKENS_PER_SEC("h10",B1)'                    # a message, as in classic Excel
    ws["D4"] = "=KV_BYTES(B1,K1)"                             # an error value in an argument
    ws["D5"] = "=D1*2"
    ws["A9"], ws["A10"] = 1024, 4096
    ws["F1"] = ArrayFormula("F1:F2", "=KV_BYTES(B1,A9:A10)")  # a column in, a column out
    ws["F2"] = 0
    ws["H1"] = ArrayFormula("H1:J2", "=NAPKIN_GPUS()")         # a table cropped to its range
    ws["K1"] = "=1/0"
    ws["L1"] = "=rate*2"
    wb.defined_names["rate"] = DefinedName("rate", attr_text="0.05")  # a constant, not cells
    wb.defined_names["speed"] = DefinedName("speed", attr_text="'In puts'!$D$1")
    wb.defined_names["column"] = DefinedName("column", attr_text="'In puts'!$F$1:$F$2")
    wb.save(path)
    return Workbook(path)


def test_blank_arguments_and_empty_cells_take_the_defaults(small_book):
    tps = FUNCTIONS["TOKENS_PER_SEC"]
    assert close(small_book.value("speed"), tps("h100-sxm", "llama-3.1-8b", 64, None, "fp8"))
    assert close(small_book.value("'In puts'!D2"), FUNCTIONS["KV_BYTES"]("llama-3.1-8b"))
    assert close(small_book.value("'In puts'!D5"), 2 * small_book.value("speed"))


def test_messages_and_error_values(small_book):
    assert small_book.value("'In puts'!D3").startswith("unknown gpu 'h10'")
    assert small_book.value("'In puts'!K1") == "#DIV/0!"
    assert "#DIV/0!" in small_book.value("'In puts'!D4")


def test_ranges_and_tables(small_book):
    kv = FUNCTIONS["KV_BYTES"]
    assert close(small_book.value("column"), [[kv("llama-3.1-8b", 1024)],
                                              [kv("llama-3.1-8b", 4096)]])
    table = FUNCTIONS["NAPKIN_GPUS"]()
    assert small_book.value("'In puts'!H1:J2") == [table[0][:3], table[1][:3]]


def test_values_of_every_name(small_book):
    values = small_book.values()
    assert list(values) == ["rate", "speed", "column"]
    assert values["rate"] == 0.05 and close(small_book.value("'In puts'!L1"), 0.1)
    with pytest.raises(RecalcError, match="rate is 0.05, not a cell"):
        small_book.set("rate", 1)


# --- bad input ----------------------------------------------------------------------------------

def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(RecalcError, match="no such file"):
        Workbook(tmp_path / "nope.xlsx")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(RecalcError, match="not an .xlsx or .xlsm"):
        Workbook(tmp_path / "notes.txt")
    (tmp_path / "broken.xlsx").write_text("not a zip")
    with pytest.raises(RecalcError, match="cannot read"):
        Workbook(tmp_path / "broken.xlsx")
    (tmp_path / "folder.xlsx").mkdir()
    with pytest.raises(RecalcError, match="folder.xlsx is a folder, not a workbook"):
        Workbook(tmp_path / "folder.xlsx")
    with zipfile.ZipFile(tmp_path / "bare.xlsx", "w") as z:  # no [Content_Types].xml
        z.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(RecalcError, match=r"cannot read bare.xlsx: a part of the workbook is "
                                          r"missing \("):
        Workbook(tmp_path / "bare.xlsx")


def test_without_the_formulas_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "formulas", None)
    with pytest.raises(RecalcError, match=r"uv run --extra recalc"):
        Workbook(SHOWCASE)


# --- the command --------------------------------------------------------------------------------

def test_recalc_command_prints_every_name_with_progress_on_stderr(capsys, book):
    code, out, err = run(capsys, "recalc", SHOWCASE)
    assert code == 0, err
    assert "recalculating" in err and "formula cells" in err
    lines = dict(line.split(None, 1) for line in out.splitlines())
    assert set(lines) == set(book.names)
    assert lines["model"] == "llama-3.1-70b"
    assert lines["replica_tps"] == cli._plain(book.value("replica_tps"))


def test_recalc_command_prints_large_ranges_on_one_line_unless_asked_for(capsys, tmp_path):
    # the capacity planner has 136 named ranges of 12 to 37 cells: printed whole they were
    # 5,000 lines before its headline numbers; now single values come first
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    for i in range(20):
        ws.cell(row=i + 1, column=1, value=f"gpu{i}")
        ws.cell(row=i + 1, column=2, value=None if i == 1 else i * 10)
    ws["D1"], ws["D2"] = "=SUM(B1:B20)", "=A1"
    wb.defined_names["ids"] = DefinedName("ids", attr_text="S!$A$1:$A$20")
    wb.defined_names["costs"] = DefinedName("costs", attr_text="S!$B$1:$B$20")
    wb.defined_names["small"] = DefinedName("small", attr_text="S!$B$1:$B$3")
    wb.defined_names["total"] = DefinedName("total", attr_text="S!$D$1")
    path = tmp_path / "ranges.xlsx"
    wb.save(path)
    code, out, err = run(capsys, "recalc", path)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["total", "1890"]
    assert "ids    [20 x 1: gpu0, gpu1, gpu2, …]" in lines
    assert "costs  [20 x 1: 0, (blank), 20, …]" in lines
    assert lines[-4:] == ["small", "0", "", "20"]  # 3 cells: printed whole
    assert "2 range(s) of more than 12 cells shown by their first cells" in err
    code, out, _ = run(capsys, "recalc", path, "--name", "ids", "-q")
    assert code == 0 and out.splitlines() == ["ids"] + [f"gpu{i}" for i in range(20)]


def test_recalc_command_json_set_and_name(capsys):
    code, out, err = run(capsys, "recalc", SHOWCASE, "--set", "batch=64", "--set", "gpu=b200",
                         "--name", "gpus_for_batch", "--name", "kv_cache", "--name",
                         "Showcase!B6", "--json", "-q")
    assert code == 0 and err == ""
    values = json.loads(out)
    assert values["Showcase!B6"] == "llama-3.1-70b"
    assert close(values["gpus_for_batch"], FUNCTIONS["GPUS_NEEDED"](
        "b200", "llama-3.1-70b", "fp8", 4096, 64, "fp8"))
    assert values["kv_cache"] == FUNCTIONS["KV_BYTES"]("llama-3.1-70b", 4096, 64, "fp8")


def test_recalc_command_out_force_and_in_place(capsys, tmp_path):
    before = sha(SHOWCASE)
    out = tmp_path / "s.xlsx"
    code, _, err = run(capsys, "recalc", SHOWCASE, "--set", "batch=8", "--out", out, "-q",
                       "--name", "batch")
    assert code == 0, err
    assert Workbook(out).value("batch") == 8
    assert sha(SHOWCASE) == before

    stamp = sha(out)
    code, outp, err = run(capsys, "recalc", SHOWCASE, "--out", out)
    assert code == 1 and "already exists; use --force" in err and sha(out) == stamp
    code, _, err = run(capsys, "recalc", SHOWCASE, "--out", out, "--force", "-q")
    assert code == 0 and sha(out) != stamp

    code, _, err = run(capsys, "recalc", SHOWCASE, "--out", SHOWCASE, "--force")
    assert code == 1 and "use --in-place" in err and sha(SHOWCASE) == before

    copy = tmp_path / "copy.xlsx"
    shutil.copy(SHOWCASE, copy)
    code, _, err = run(capsys, "recalc", copy, "--set", "batch=16", "--in-place", "-q")
    assert code == 0, err
    assert Workbook(copy).value("batch") == 16
    code, _, err = run(capsys, "recalc", copy, "--in-place", "--out", out)
    assert code == 1 and "not both" in err


def test_recalc_command_errors_are_one_line(capsys, tmp_path):
    for argv, text in (([tmp_path / "nope.xlsx"], "no such file"),
                       ([SHOWCASE, "--set", "=3"], "--set needs NAME=VALUE"),
                       ([SHOWCASE, "--set", "weights=1", "-q"], "holds a formula"),
                       ([SHOWCASE, "--name", "nope", "-q"], "unknown name 'nope'")):
        code, out, err = run(capsys, "recalc", *argv)
        assert code == 1 and out == "", argv
        assert err.startswith("Error: ") and text in err and "Traceback" not in err
        assert err.count("\n") == 1, err


def test_formulas_own_syntax_warnings_are_not_shown_to_users():
    # Compiled without a bytecode cache, formulas' function modules warn about their own code
    # ('"is" with a literal'); Python issues such warnings with the file name as the module.
    import warnings
    from xlnapkin.recalc import _import_formulas
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default")
        _import_formulas()
        warnings.warn_explicit('"is" with a literal', SyntaxWarning,
                               "/site-packages/formulas/functions/math.py", 278)
        warnings.warn_explicit("ours", SyntaxWarning, "/work/xlnapkin/recalc.py", 1)
    assert [str(w.message) for w in seen] == ["ours"]
