"""``xlnapkin recalc`` on a workbook someone sent you (issue 12): it opens no other file, stays
within its limits, fails with one ``Error:`` line, never writes through a planted link, writes
files that open, is safe in threads, and exits 3 when a result is a message.

The workbooks are written part by part in each test (``_crafted.xlsx``), so they hold exactly
the trick under test. Each test would fail on the code before this change (noted per test).
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
import time
import warnings
import zipfile
from pathlib import Path

import openpyxl
import pytest

pytest.importorskip("formulas")

import _crafted as c  # noqa: E402
from xlnapkin.recalc import LimitError, Limits, RecalcError, Workbook  # noqa: E402
from conftest import in_threads, run  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
posix_only = pytest.mark.skipif(os.name != "posix", reason="symbolic links: POSIX")



def assert_one_error(code, out, err, *texts):
    assert code == 1, (code, err)
    assert out == ""
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for text in texts:
        assert text in err, (text, err)


# The steps of a recalculation that took minutes or gigabytes on hostile files. A limit test
# makes the steps after its check fail if they are reached, so it shows the refusal comes
# first without timing anything.
def _steps():
    from xlnapkin import recalc
    formulas = recalc._import_formulas()
    return {"read": [(recalc, "_read_book")],                       # openpyxl parses the sheets
            "parse": [(formulas.Parser, "ast")],                    # formulas parses a formula
            "expand": [(formulas.ExcelModel, "complete"),           # formulas expands ranges
                       (formulas.ExcelModel, "assemble")]}


def refused_before(capsys, monkeypatch, path, steps, *options):
    """Run recalc with ``steps`` (read, parse, expand) made to fail if reached; return (exit
    code, stdout, stderr)."""
    def reached(what):
        def fail(*args, **kwargs):
            raise AssertionError(f"reached {what}")
        return fail

    with monkeypatch.context() as mp:
        for step in steps.split():
            for owner, attr in _steps()[step]:
                mp.setattr(owner, attr, reached(f"{step} ({attr})"))
        return run(capsys, "recalc", path, "-q", *options)


@pytest.mark.parametrize("step", ["read", "parse", "expand"])
def test_a_forbidden_step_is_seen(capsys, monkeypatch, tmp_path, step):
    # The control for the limit tests: an ordinary workbook reaches every step.
    path = c.xlsx(tmp_path / "plain.xlsx", {"S": {"A1": 1, "A2": 2, "B1": "=SUM(A1:A2)"}},
                  {"x": "S!$B$1"})
    code, out, err = refused_before(capsys, monkeypatch, path, step)
    assert code == 1 and f"reached {step}" in err


# --- files opened -------------------------------------------------------------------------------

_OPENED: list | None = None


def _audit(event, args):
    if _OPENED is not None and event == "open" and args and isinstance(args[0], (str, bytes,
                                                                              os.PathLike)):
        _OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)  # audit hooks cannot be removed: this one records only while asked


class opened:
    """Every file Python opens (``open``, ``io.open``, ``os.open``, zipfile) inside the block."""

    def __enter__(self):
        global _OPENED
        _OPENED = self.paths = []
        return self

    def __exit__(self, *exc):
        global _OPENED
        _OPENED = None

    def under(self, folder: Path) -> set[Path]:
        folder = folder.resolve()
        return {Path(os.path.abspath(p)).resolve() for p in self.paths
                if Path(os.path.abspath(p)).resolve().is_relative_to(folder)}


# the spy sees the files this process opens, so these runs stay in it (no time or memory limit)
IN_PROCESS = ("--max-seconds", "0", "--max-memory-mb", "0")


@pytest.fixture
def secrets(tmp_path):
    """A workbook that refers to three secret workbooks, above, beside and at an absolute path
    (an external-link part), directly and through INDIRECT, literal and computed."""
    c.xlsx(tmp_path / "private" / "secret.xlsx", {"S": {"A1": 4242}})
    c.xlsx(tmp_path / "in" / "beside.xlsx", {"S": {"A1": 4343}})
    absolute = c.xlsx(tmp_path / "elsewhere" / "linked.xlsx", {"S": {"A1": 4444}})
    book = c.xlsx(tmp_path / "in" / "book.xlsx", {"S": {
        "A1": 1,
        "B1": "='../private/[secret.xlsx]S'!A1",
        "B2": "='[beside.xlsx]S'!A1",
        "B3": "=[1]S!A1",
        "B4": "=INDIRECT(\"'[beside.xlsx]S'!A1\")",
        "B5": "=INDIRECT(\"'[\"&\"beside.xlsx]S'!A1\")",
        "B6": "=A1*2"}},
        {"above": "S!$B$1", "beside": "S!$B$2", "link": "S!$B$3", "indirect": "S!$B$4",
         "computed": "S!$B$5", "plain": "S!$B$6"},
        links=[str(absolute)])
    return book


def test_references_to_other_workbooks_are_ref_and_nothing_else_is_opened(capsys, tmp_path,
                                                                          secrets):
    # Before: the secrets' values were printed and saved (4242, 4343, 4444), exit code 0.
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with opened() as spy:
        code, out, err = run(capsys, "recalc", secrets, "--json", "-q", "--out",
                             out_dir / "o.xlsx", *IN_PROCESS)
    assert code == 3, err
    values = __import__("json").loads(out)
    assert values == {"above": "#REF!", "beside": "#REF!", "link": "#REF!",
                      "indirect": "#REF!", "computed": "#REF!", "plain": 2}
    saved = zipfile.ZipFile(out_dir / "o.xlsx").read("xl/worksheets/sheet1.xml").decode()
    assert not any(s in saved for s in ("4242", "4343", "4444"))
    assert "<v>#REF!</v>" in saved
    assert spy.under(tmp_path) - spy.under(out_dir) == {secrets.resolve()}
    assert "../private/secret.xlsx" in err and "beside.xlsx" in err and "--allow-external" in err


def test_allow_external_opens_them(capsys, tmp_path, secrets):
    # The control for the test above: the same workbook does read the secrets when allowed.
    with opened() as spy:
        code, out, err = run(capsys, "recalc", secrets, "--json", "-q", "--allow-external",
                             *IN_PROCESS)
    values = __import__("json").loads(out)
    assert (values["above"], values["beside"], values["link"], values["indirect"]) == (
        4242, 4343, 4444, 4343)
    assert (tmp_path / "private" / "secret.xlsx").resolve() in spy.under(tmp_path)


def test_the_library_refuses_other_workbooks_too(tmp_path, secrets):
    with opened() as spy:
        wb = Workbook(secrets)
        assert wb.value("above") == "#REF!" and wb.value("link") == "#REF!"
    assert spy.under(tmp_path) == {secrets.resolve()}
    assert "../private/secret.xlsx" in wb.refused_files


# --- limits -------------------------------------------------------------------------------------

def _formula_rows(n: int) -> str:
    return "".join(f'<row r="{i}"><c r="A{i}"><f>A{i - 1}+1</f></c></row>'
                   for i in range(2, n + 2))


def test_a_hundred_thousand_formulas_are_refused_before_the_model_is_built(capsys, monkeypatch, tmp_path):
    # Before: formulas compiled them (more than a minute and gigabytes).
    path = c.xlsx(tmp_path / "many.xlsx", {"S": c.sheet_xml(
        '<row r="1"><c r="A1"><v>1</v></c></row>' + _formula_rows(100_000))}, {"x": "S!$A$2"})
    code, out, err = refused_before(capsys, monkeypatch, path, "read parse expand")
    assert_one_error(code, out, err, "100,001 formulas and defined names",
                     "limit of 10,000", "--max-formulas")


def test_the_formula_limit_can_be_raised(capsys, tmp_path):
    path = c.xlsx(tmp_path / "some.xlsx", {"S": c.sheet_xml(
        '<row r="1"><c r="A1"><v>1</v></c></row>' + _formula_rows(30))}, {"last": "S!$A$31"})
    code, out, err = run(capsys, "recalc", path, "-q", "--max-formulas", "20")
    assert_one_error(code, out, err, "31 formulas", "limit of 20")
    code, out, err = run(capsys, "recalc", path, "-q", "--max-formulas", "31", "--json")
    assert code == 0 and '"last": 31' in out


@pytest.mark.parametrize("names, formula, what", [
    ({"everything": "S!$A$1:$XFC$1000000"}, "=A1*2", ("S!A1:XFC1000000", "16,383,000,000")),
    ({"everything": "S!$A$1:$XFC$1000000"}, "=SUM(everything)",
     ("S!A1:XFC1000000", "16,383,000,000")),
    ({"everything": "S!$A$1:$XFD$1048576"}, "=A1*2", ("everything (a name) refers to",
                                                      "$XFD$1048576", "last row or column")),
    ({"column": "S!$A:$A"}, "=A1*2", ("S!A1:A1048576", "1,048,576")),
])
def test_names_over_huge_ranges_are_refused(capsys, monkeypatch, tmp_path, names, formula, what):
    # Before: printing the whole-sheet name built 17 billion cell names (3.5 GB and more).
    path = c.xlsx(tmp_path / "names.xlsx", {"S": {"A1": 1, "B1": formula}}, names)
    code, out, err = refused_before(capsys, monkeypatch, path, "expand")
    if "last row or column" not in what:
        what = (*what, "limit of 100,000", "--max-range-cells")
    assert_one_error(code, out, err, *what)


def test_ranges_in_formulas_count_against_the_range_limit(capsys, monkeypatch, tmp_path):
    # Before: no limit (=SUM(A1:Z100000) took 17 s and 1.7 GB in formulas' range index).
    path = c.xlsx(tmp_path / "sum.xlsx", {"S": {"A1": 2, "A2": 3, "L1": "=SUM(A1:J20000)",
                                                "M1": "=SUM(A1:A2)"}},
                  {"total": "S!$L$1"})
    code, out, err = refused_before(capsys, monkeypatch, path, "expand")
    assert_one_error(code, out, err, "ranges cover 200,002 cells",
                     "the largest, S!A1:J20000, 200,000", "limit of 100,000")
    code, out, err = run(capsys, "recalc", path, "-q", "--json", "--max-range-cells",
                         "250,000", "--name", "total")
    assert code == 0 and '"total": 5' in out, err


@pytest.mark.parametrize("sheet, what", [
    (c.sheet_xml('<row r="1"><c r="A1"><v>1</v></c></row>'
                 '<row r="1048576"><c r="XFD1048576"><v>2</v></c></row>'), "17,179,869,184 cells"),
    (c.sheet_xml('<row><c><v>1</v></c></row>' * 3 + '<row r="60000"><c><v>2</v></c></row>'),
     "60,000 cells"),
    (c.sheet_xml('<row r="1"><c r="A1"><v>1</v></c></row>',
                 '<mergeCells count="1"><mergeCell ref="A1:XFD1048576"/></mergeCells>'),
     "17,179,869,184 cells"),
    (c.sheet_xml('<row r="1"><c r="A1"><v>1</v></c></row>',
                 '<hyperlinks><hyperlink ref="A1:Z100000" display="x"/></hyperlinks>'),
     "2,600,000 cells"),
])
def test_sheets_that_span_too_many_cells_are_refused(capsys, monkeypatch, tmp_path, sheet, what):
    # Before: formulas and openpyxl visited every cell from A1 to the last one (hours).
    path = c.xlsx(tmp_path / "wide.xlsx", {"S": sheet}, {"x": "S!$A$1"})
    code, out, err = refused_before(capsys, monkeypatch, path, "read")
    assert_one_error(code, out, err, what, "limit of 50,000", "--max-cells")


def _noted(path: Path, cells: dict, note: str, threaded: bool = False) -> Path:
    """A one-sheet workbook whose sheet has a comment (a note) on cell ``note``, linked from the
    sheet's relationships as Excel writes it (and a threaded comment beside it)."""
    def part(tag):
        authors = "<authors><author>a</author></authors>" if tag == "comment" else ""
        return (f'<?xml version="1.0"?><{tag}s xmlns="{c.MAIN}">{authors}<commentList><{tag} '
                f'ref="{note}" authorId="0"><text><t>x</t></text></{tag}></commentList></{tag}s>')
    rels = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            f'package/2006/relationships"><Relationship Id="rId1" Type="{c.REL}/comments" '
            'Target="../comments1.xml"/><Relationship Id="rId2" Type="http://schemas.microsoft.'
            'com/office/2017/10/relationships/threadedComment" Target="../threadedComments/'
            'threadedComment1.xml"/></Relationships>')
    parts = {"xl/comments1.xml": part("comment"), "xl/worksheets/_rels/sheet1.xml.rels": rels}
    if threaded:
        parts["xl/threadedComments/threadedComment1.xml"] = part("threadedComment")
    return c.xlsx(path, {"S": cells}, {"x": "S!$A$1"}, parts=parts)


def test_a_comment_far_away_counts_its_cells(capsys, monkeypatch, tmp_path):
    # A hardening audit: openpyxl made a cell for a comment's reference, past the cell count
    # (1 KB took 54 s and 5.3 GB); a comment's cell now counts in its sheet's span.
    path = _noted(tmp_path / "note.xlsx", {"A1": 1}, "XFC1048575")
    code, out, err = refused_before(capsys, monkeypatch, path, "read")
    # XFC1048575: 16,383 x 1,048,575 cells
    assert_one_error(code, out, err, "17,178,804,225 cells", "limit of 50,000")


def test_a_note_inside_its_sheet_adds_no_cells(capsys, tmp_path):
    # a review: the sheet and its notes (and Excel's threaded copy) were counted as three spans,
    # and a real workbook of 17,000 cells with a note on its last row was refused at 51,000
    cells = {f"J{r}": r for r in range(1, 1701)}
    cells.update({f"A{r}": 1 for r in range(1, 1701)})
    path = _noted(tmp_path / "note.xlsx", cells, "J1700", threaded=True)
    code, out, err = run(capsys, "recalc", path, "-q", "--json", *IN_PROCESS)
    assert (code, json.loads(out)) == (0, {"x": 1}), err


def _one_part_twice(path: Path) -> Path:
    """The workbook at ``path`` with its second sheet entry on the first one's part."""
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    files["xl/workbook.xml"] = files["xl/workbook.xml"].replace(b'r:id="rId2"', b'r:id="rId1"')
    path.write_bytes(_zip(files))
    return path


def _zip(files: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize("make, said", [
    # openpyxl parsed one part once per entry naming it (20 entries: 40,000 formulas)
    (lambda p: _one_part_twice(c.xlsx(p, {"S": {"B1": "=1"}, "T": {"B1": "=2"}},
                                      {"x": "S!$B$1"})),
     "sheets 'S' and 'T' are the same part xl/worksheets/sheet1.xml"),
    # openpyxl renamed the second 'S1', and a name on 'S' read 's': a wrong answer, exit 0
    (lambda p: c.xlsx(p, {"s": {"A1": 1, "B1": "=A1*2"}, "S": {"A1": 100, "B1": "=A1*3"}},
                      {"up": "S!$B$1"}),
     "sheets 's' and 'S' are named alike (sheet names ignore case)"),
    # 3.9 million formats in 30 KB took 36 s and 2 GB
    (lambda p: c.xlsx(p, {"S": {"A1": 1}}, {"x": "S!$A$1"}, parts={
        "xl/styles.xml": f'<?xml version="1.0"?><styleSheet xmlns="{c.MAIN}"><cellXfs>'
                         + '<xf numFmtId="0"/>' * 200_001 + "</cellXfs></styleSheet>"}),
     "200,001 style records (formats, fonts, fills, borders)"),
])
def test_sheet_entries_and_styles_openpyxl_would_misread_are_refused(capsys, monkeypatch,
                                                                    tmp_path, make, said):
    path = make(tmp_path / "book.xlsx")
    code, out, err = refused_before(capsys, monkeypatch, path, "read")
    assert_one_error(code, out, err, said)


def test_oversized_parts_are_refused_from_the_zip_directory(capsys, tmp_path, monkeypatch):
    # A 21 MB inline string (before: read, parsed and written back in full).
    text = "x" * 21_000_000
    path = c.xlsx(tmp_path / "big.xlsx", {"S": c.sheet_xml(
        f'<row r="1"><c r="A1" t="inlineStr"><is><t>{text}</t></is></c></row>')},
        {"x": "S!$A$1"})
    assert path.stat().st_size < 100_000
    inflated = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, name, *a, **k: (
        inflated.append(getattr(name, "filename", name)) or real_open(self, name, *a, **k)))
    code, out, err = refused_before(capsys, monkeypatch, path, "read")
    assert_one_error(code, out, err, "part xl/worksheets/sheet1.xml is 21.0 MB uncompressed",
                     "limit of 20 MB", "--max-part-mb")
    assert inflated == []
    code, out, err = run(capsys, "recalc", path, "-q", "--json", "--max-part-mb", "22")
    assert code == 0 and len(out) > 21_000_000, err[:300]


def test_the_total_size_is_limited(capsys, monkeypatch, tmp_path):
    # Before: six 17 MB parts (102 MB, in a 100 kB file) were all inflated, and again to save.
    pad = b"\0" * 17_000_000
    path = c.xlsx(tmp_path / "padded.xlsx", {"S": {"A1": 1}}, {"x": "S!$A$1"},
                  parts={f"xl/media/pad{i}.bin": pad for i in range(6)})
    code, out, err = refused_before(capsys, monkeypatch, path, "read")
    assert_one_error(code, out, err, "parts add up to 102.0 MB", "limit of 100 MB",
                     "--max-total-mb")
    code, out, err = run(capsys, "recalc", path, "-q", "--max-total-mb", "0.01")
    assert_one_error(code, out, err, "padded.xlsx is 0.1 MB, over the limit of 0.01 MB")


def test_too_many_zip_entries_are_refused_before_they_are_listed(capsys, monkeypatch, tmp_path):
    # Before: every entry was listed and inflated (a small file can hold millions).
    parts = {f"xl/media/e{i}.bin": b"" for i in range(10_001)}
    path = c.xlsx(tmp_path / "entries.xlsx", {"S": {"A1": 1}}, {"x": "S!$A$1"}, parts=parts)
    code, out, err = refused_before(capsys, monkeypatch, path, "read")
    assert_one_error(code, out, err, "it has 10,006 zip entries")


def test_a_zip_whose_directory_understates_a_part_is_corrupt(capsys, monkeypatch, tmp_path):
    # The directory says 100 bytes; the data inflates to 30 MB: zipfile stops at 100 bytes
    # and the CRC check fails, so nothing big is ever held.
    path = tmp_path / "liar.xlsx"
    c.xlsx(path, {"S": {"A1": 1}}, {"x": "S!$A$1"},
           parts={"xl/media/bomb.xml": "<a>" + "x" * 30_000_000 + "</a>"})
    data = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo("xl/media/bomb.xml")
    central = _central(data, info.filename)
    for offset in (info.header_offset + 22, central + 24):  # uncompressed size fields
        data[offset:offset + 4] = (100).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    code, out, err = refused_before(capsys, monkeypatch, path, "read")
    assert_one_error(code, out, err, "part xl/media/bomb.xml is corrupt")


# --- malformed workbooks: one Error: line -------------------------------------------------------

_LAUGHS = ('<!DOCTYPE lolz [<!ENTITY a "aaaaaaaaaa">'
           + "".join(f'<!ENTITY {b} "{("&" + a + ";") * 10}">'
                     for a, b in zip("abcdefgh", "bcdefghi")) + "]>")


def _central(data: bytes, name: str) -> int:
    """Where the zip's central directory entry for ``name`` starts."""
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        length = int.from_bytes(data[at + 28:at + 30], "little")
        if data[at + 46:at + 46 + length] == name.encode():
            return at
        at = data.find(b"PK\x01\x02", at + 4)
    raise AssertionError(name)


def _corrupt_deflate(path: Path, part: str) -> Path:
    data = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo(part)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start:start + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    return path


def _bad_crc(path: Path, part: str) -> Path:
    data = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo(part)
    central = _central(data, part)
    for offset in (info.header_offset + 14, central + 16):  # CRC-32 fields
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def _malformed(tmp_path, case):
    p = tmp_path / f"{case}.xlsx"
    one = c.sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')
    if case == "billion laughs":
        return c.xlsx(p, {"S": one}, shared_strings=(
            f'{c.DECL}{_LAUGHS}<sst xmlns="{c.MAIN}"><si><t>&i;</t></si></sst>'))
    if case == "external entity":
        return c.xlsx(p, {"S": one}, shared_strings=(
            f'{c.DECL}<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            f'<sst xmlns="{c.MAIN}"><si><t>&e;</t></si></sst>'))
    if case == "entity in the workbook part":
        c.xlsx(p, {"S": {"A1": 1}})
        book = zipfile.ZipFile(p).read("xl/workbook.xml").decode()
        return c.xlsx(p, {"S": {"A1": 1}}, parts={"xl/workbook.xml": book.replace(
            "<workbook ", '<!DOCTYPE w [<!ENTITY n "S">]><workbook ', 1).replace(
            'name="S"', 'name="&n;"')})
    if case == "UTF-16 part":
        return c.xlsx(p, {"S": {"A1": 1}}, parts={"xl/worksheets/sheet1.xml": c.sheet_xml(
            '<row r="1"><c r="A1"><v>1</v></c></row>').replace("UTF-8", "UTF-16")
            .encode("utf-16")})
    if case == "declared EBCDIC":
        return c.xlsx(p, {"S": {"A1": 1}}, parts={"xl/worksheets/sheet1.xml": c.sheet_xml(
            '<row r="1"><c r="A1"><v>1</v></c></row>').replace("UTF-8", "cp500")})
    if case == "control character":
        return c.xlsx(p, {"S": c.sheet_xml(
            '<row r="1"><c r="A1" t="inlineStr"><is><t>a\x01b</t></is></c></row>')})
    if case == "DDE formula":
        return c.xlsx(p, {"S": {"A1": "=cmd|'/c calc'!A1"}})
    if case == "corrupt deflate":
        return _corrupt_deflate(c.xlsx(p, {"S": {"A1": 1, "B1": "=A1*2"}}),
                                "xl/worksheets/sheet1.xml")
    if case == "bad CRC":
        return _bad_crc(c.xlsx(p, {"S": {"A1": 1, "B1": "=A1*2"}}), "xl/worksheets/sheet1.xml")
    if case == "whole rows in a name":
        return c.xlsx(p, {"S": {"A1": 1}}, {"rows": "S!$1:$1048576"})
    if case == "bad cell reference":
        return c.xlsx(p, {"S": c.sheet_xml('<row r="1"><c r="ZZZZ1"><v>1</v></c></row>')})
    if case == "shared string out of range":
        return c.xlsx(p, {"S": c.sheet_xml('<row r="1"><c r="A1" t="s"><v>5</v></c></row>')},
                      shared_strings=f'{c.DECL}<sst xmlns="{c.MAIN}"><si><t>x</t></si></sst>')
    if case == "not a zip":
        p.write_bytes(b"PK\x03\x04 not really")
        return p
    if case == "password to open":  # [MS-OFFCRYPTO]: an OLE compound file, not a zip
        p.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504))
        return p
    if case == "a part twice":  # the second copy's name in another case: names ignore case
        c.xlsx(p, {"S": {"A1": 1}})
        with warnings.catch_warnings(), zipfile.ZipFile(p, "a") as zf:
            warnings.simplefilter("ignore")  # zipfile's "Duplicate name"
            zf.writestr("xl/Worksheets/sheet1.xml", c.sheet_xml(
                '<row r="1"><c r="A1"><v>2</v></c></row>'))
        return p
    raise AssertionError(case)


_BEFORE_READING = {"billion laughs", "external entity", "entity in the workbook part",
                   "UTF-16 part", "declared EBCDIC", "corrupt deflate",
                   "bad CRC", "not a zip", "password to open", "a part twice"}


@pytest.mark.parametrize("case, text", [
    ("billion laughs", "part xl/sharedStrings.xml declares a DTD or entities"),
    ("external entity", "part xl/sharedStrings.xml declares a DTD or entities"),
    ("entity in the workbook part", "part xl/workbook.xml declares a DTD"),
    ("UTF-16 part", "part xl/worksheets/sheet1.xml is not UTF-8 XML"),
    ("declared EBCDIC", "declares encoding 'cp500'"),
    ("control character", "malformed XML (not well-formed (invalid token)"),
    ("DDE formula", "Not a valid formula: =cmd|'/c calc'!A1"),
    ("corrupt deflate", "part xl/worksheets/sheet1.xml is corrupt (Error -3"),
    ("bad CRC", "part xl/worksheets/sheet1.xml is corrupt (Bad CRC-32"),
    ("whole rows in a name", "cannot read whole rows in a name.xlsx"),
    ("bad cell reference", "'ZZZZ1' is not a cell reference"),
    ("shared string out of range", "IndexError"),
    ("not a zip", "not a valid .xlsx file"),
    ("password to open", "a workbook saved with a password to open"),
    # Before (a hardening review): the last copy was read, and --out wrote both copies again
    ("a part twice", "part xl/Worksheets/sheet1.xml appears twice in the zip"),
])
def test_malformed_workbooks_fail_with_one_error_line(capsys, monkeypatch, tmp_path, case,
                                                      text):
    # Before: tracebacks (ParseError, zlib.error, FormulaError, IndexError, AttributeError),
    # or an entity expanded / an encoding the checks cannot see. What the XML checks can see
    # is refused before openpyxl parses anything (an entity is never expanded).
    code, out, err = refused_before(capsys, monkeypatch, _malformed(tmp_path, case),
                                    "read" if case in _BEFORE_READING else "")
    assert_one_error(code, out, err, text)


# --- writing ------------------------------------------------------------------------------------

@pytest.fixture
def small(tmp_path):
    return c.xlsx(tmp_path / "small.xlsx", {"S": {"A1": "text", "B1": "=A1&\"!\"", "C1": 2}},
                  {"word": "S!$A$1", "shout": "S!$B$1"})


@posix_only
def test_a_planted_link_at_the_temporary_name_is_not_followed(capsys, tmp_path, small):
    # Before: the temporary file <out>.xlnapkin-tmp was written through the link (overwriting
    # the victim), and the output became that link.
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "o.xlsx"
    os.symlink(victim, tmp_path / "o.xlsx.xlnapkin-tmp")
    code, _, err = run(capsys, "recalc", small, "-q", "--out", out)
    assert code == 0, err
    assert victim.read_text() == "precious"
    assert not out.is_symlink() and openpyxl.load_workbook(out)["S"]["B1"].value == '=A1&"!"'
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".xlnapkin-tmp")] == [
        "o.xlsx.xlnapkin-tmp"]  # the planted link, untouched


@posix_only
def test_out_on_a_link_is_refused_before_the_work(capsys, tmp_path, small):
    victim = tmp_path / "victim.xlsx"
    victim.write_text("precious")
    link = tmp_path / "o.xlsx"
    os.symlink(victim, link)
    code, out, err = run(capsys, "recalc", small, "--out", link, "--force")
    assert_one_error(code, out, err, f"{link} is a symbolic link; not writing through it")
    assert victim.read_text() == "precious" and link.is_symlink()


def test_an_unknown_sheet_lists_the_first_sheets_only(capsys, tmp_path):
    # Before (a hardening review): every title, a line of 20,000 characters for 3,000 sheets
    path = c.xlsx(tmp_path / "many.xlsx", {f"S{i}": {"A1": i} for i in range(12)})
    code, out, err = run(capsys, "recalc", path, "-q", "--name", "Z!A1")
    assert_one_error(code, out, err, "no sheet 'Z' in many.xlsx: sheets are S0, S1, S2, S3, "
                     "S4, S5, S6, S7 and 4 more")


def test_in_place_refuses_a_read_only_workbook_without_force(capsys, tmp_path, small):
    # Before (a hardening review): the file made read-only to protect it was replaced, since
    # the write renames a new file over it (and took the writer as its owner)
    before = small.read_bytes()
    small.chmod(0o444)
    code, out, err = run(capsys, "recalc", small, "--in-place", "--set", "C1=7")
    assert_one_error(code, out, err, f"{small} is read-only; use --force with --in-place")
    assert small.read_bytes() == before
    code, out, err = run(capsys, "recalc", small, "-q", "--in-place", "--force", "--set", "C1=7")
    assert code == 0, err
    assert openpyxl.load_workbook(small)["S"]["C1"].value == 7
    # a file that is not there is said to be missing, not read-only (a review)
    gone = small.with_name("gone.xlsx")
    assert_one_error(*run(capsys, "recalc", gone, "--in-place"), f"no such file: {gone}")


@posix_only
def test_in_place_on_a_link_writes_the_file_it_points_to(capsys, tmp_path, small):
    # Before: the link was replaced by a regular file and the workbook it named kept its value.
    real = tmp_path / "real" / "book.xlsx"
    real.parent.mkdir()
    real.write_bytes(small.read_bytes())
    link = tmp_path / "link.xlsx"
    os.symlink(real, link)
    code, _, err = run(capsys, "recalc", link, "-q", "--in-place", "--set", "word=changed")
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert openpyxl.load_workbook(real, data_only=True)["S"]["B1"].value == "changed!"


def test_a_failed_write_leaves_no_temporary_file_and_the_target_as_it_was(capsys, tmp_path,
                                                                          small, monkeypatch):
    out = tmp_path / "o.xlsx"
    out.write_bytes(b"old")

    def fail(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", fail)
    code, _, err = run(capsys, "recalc", small, "-q", "--out", out, "--force")
    assert code == 1 and "No space left on device" in err and err.count("\n") == 1
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.xlsx", "small.xlsx"]


def test_a_missing_output_folder_fails_before_the_work(capsys, tmp_path, small):
    # Before: the workbook was loaded and recalculated, then the write failed naming the
    # temporary file.
    missing = tmp_path / "nope"
    code, out, err = run(capsys, "recalc", small, "--out", missing / "o.xlsx")
    assert_one_error(code, out, err, f"folder {missing} does not exist")
    assert "loading" not in err


def test_text_with_control_characters_is_written_readable(capsys, tmp_path, small):
    # Before: the saved workbook held \x01 and \x07 raw, and no XML reader could open it.
    formula = c.xlsx(tmp_path / "bell.xlsx", {"S": {"A1": "a", "B1": "=A1&CHAR(7)&\"b\""}})
    out = tmp_path / "o1.xlsx"
    code, _, err = run(capsys, "recalc", small, "-q", "--set", "word=bad\x01text", "--out", out)
    assert code == 0, err
    values = openpyxl.load_workbook(out, data_only=True)["S"]
    assert values["A1"].value == "badtext" and values["B1"].value == "badtext!"
    out = tmp_path / "o2.xlsx"
    code, _, err = run(capsys, "recalc", formula, "-q", "--out", out)
    assert code == 0, err
    assert openpyxl.load_workbook(out, data_only=True)["S"]["B1"].value == "ab"


def test_characters_a_terminal_would_obey_are_printed_as_escapes(capsys, tmp_path):
    # Before (a hardening review): a workbook someone sent set the terminal's title and colours,
    # forged an output line and turned text round (U+202E) through recalc's plain output, and
    # a message cell did it on stderr too. --json already escaped them.
    path = c.xlsx(tmp_path / "esc.xlsx", {"S": {
        "A1": "=CHAR(27)&\"]0;PWNED\"&CHAR(7)&\"x\"&CHAR(13)&\"over\"",
        "A2": "=\"line1\"&CHAR(10)&\"Error: fake\"",
        "A3": "=UNICHAR(8238)&\"txt.exe\"",
        "A4": "=\"does not fit: \"&CHAR(27)&\"[2J\""}},
        {"title": "S!$A$1", "lines": "S!$A$2", "turned": "S!$A$3", "fits": "S!$A$4"})
    code, out, err = run(capsys, "recalc", path, "-q")
    assert code == 3, err  # "does not fit" is a message
    for bad in ("\x1b", "\x07", "\r", "\u202e"):
        assert bad not in out + err, repr(bad)
    assert "title   \\x1b]0;PWNED\\x07x\\rover" in out
    assert "lines   line1\\nError: fake" in out and "turned  \\u202etxt.exe" in out
    assert "  fits: does not fit: \\x1b[2J" in err
    assert out.count("\n") == 4  # one line a name
    # --json escapes them as JSON does, once, in values and in an error alike (a review)
    code, out, err = run(capsys, "recalc", path, "-q", "--json")
    assert json.loads(out)["title"] == "\x1b]0;PWNED\x07x\rover"
    gone = path.with_name("gone\x1b[2J.xlsx")
    code, out, err = run(capsys, "recalc", gone, "-q", "--json")
    assert code == 1 and "\x1b" not in out + err and "gone\\x1b[2J" in err
    assert json.loads(out)["error"] == f"no such file: {gone}"


# --- threads ------------------------------------------------------------------------------------

def test_concurrent_workbooks_take_turns_and_keep_omitted_arguments_blank(tmp_path,
                                                                         monkeypatch):
    # Before: each thread swapped formulas' globals on its own, so loads overlapped and an
    # omitted argument could compile to 0 in another thread's model (2 of 27 runs).
    import formulas
    from formulas.tokens.operand import Empty
    from xlnapkin import docgen
    path = c.xlsx(tmp_path / "blank.xlsx", {"S": {
        "A1": "h100-sxm", "B1": "llama-3.1-8b", "C1": 64,
        "D1": '=TOKENS_PER_SEC(A1,B1,C1,,"fp8")'}}, {"speed": "S!$D$1"})
    expected = docgen.functions()["TOKENS_PER_SEC"]("h100-sxm", "llama-3.1-8b", 64, None, "fp8")
    original_compile = Empty.__dict__["compile"]
    inside, most, lock = [0], [0], threading.Lock()
    real_loads = formulas.ExcelModel.loads

    def slow_loads(self, *names):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.2)  # long enough for every thread to arrive
        try:
            return real_loads(self, *names)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(formulas.ExcelModel, "loads", slow_loads)
    results, errors = [], []

    def work():
        try:
            results.append(Workbook(path).value("speed"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
    in_threads(work)
    assert errors == [] and most[0] == 1
    assert results == [pytest.approx(expected)] * 4
    assert Empty.__dict__["compile"] is original_compile


# --- exit code 3 --------------------------------------------------------------------------------

def _checked(tmp_path, batch):
    """A workbook with a Checks block like the templates': check_... cells say OK or why not,
    and the results say "check inputs" unless all are OK."""
    return c.xlsx(tmp_path / "checked.xlsx", {"S": {
        "A1": batch, "A2": 0.5,
        "C1": '=IF(A1>=1,"OK","batch must be >= 1")',
        "C2": '=IF(AND(A2>0,A2<=1),"OK","utilization must be in (0, 1]")',
        "C3": '=IF(ISNUMBER(A1),"OK","batch must be a number")',
        "D1": '=COUNTIF(C1:C3,"OK")=ROWS(C1:C3)',
        "E1": '=IF(D1,A1*A2,"check inputs")',
        "E2": "=1/A2"}},
        {"check_batch": "S!$C$1", "check_utilization": "S!$C$2", "checks": "S!$C$1:$C$3",
         "all_ok": "S!$D$1", "result": "S!$E$1", "ratio": "S!$E$2"})


def test_results_that_are_messages_exit_3_and_say_which_checks_fail(capsys, tmp_path):
    # Before: "check inputs" was printed with exit code 0 and no word on which check failed.
    code, out, err = run(capsys, "recalc", _checked(tmp_path, 8), "-q")
    assert code == 0 and err == ""  # the control: all checks OK, no messages
    assert "result             4" in out

    path = _checked(tmp_path, -2)
    code, out, err = run(capsys, "recalc", path, "-q", "--name", "result")
    assert code == 3
    assert out.split() == ["result", "check", "inputs"]
    assert "  result: check inputs" in err
    assert "Checks that are not OK:\n  check_batch: batch must be >= 1\n" in err
    assert "check_utilization" not in err and "S!C3" not in err

    code, out, err = run(capsys, "recalc", path, "-q")
    assert code == 3 and "  check_batch: batch must be >= 1" in err
    assert "  checks: batch must be >= 1" in err  # the range, shown by its first message

    code, out, err = run(capsys, "recalc", path, "-q", "--name", "ratio", "--set", "A2=0",
                         "--json")
    assert code == 3 and "  ratio: #DIV/0!" in err
    assert "  check_utilization: utilization must be in (0, 1]" in err


def test_a_function_that_answers_with_a_message_exits_3(capsys, tmp_path):
    # Before: a cell where TOKENS_PER_SEC said why it cannot run printed with exit code 0, so a
    # CI recipe would have stored the sentence as a result. Text in a plain cell stays a value.
    path = c.xlsx(tmp_path / "f.xlsx", {"S": {
        "A1": 2, "A2": "a label",
        "B1": '=TOKENS_PER_SEC("h100-sxm","llama-3.1-70b",8,1024,"fp8",,A1)',
        "B2": '=GPU_SPEC("h100-sxm","name")'}},
        {"gpus": "S!$A$1", "speed": "S!$B$1", "label": "S!$A$2", "gpu_name": "S!$B$2"})
    code, out, err = run(capsys, "recalc", path, "-q")
    assert code == 0 and err == "", err  # the control: 70B in fp8 runs on 2 x H100
    code, out, err = run(capsys, "recalc", path, "-q", "--set", "gpus=3", "--json")
    assert code == 3
    assert "Warning: 1 of the printed values is a message (exit code 3):" in err
    assert "  speed: llama-3.1-70b's 64 attention heads cannot be split over 3 GPUs" in err
    assert json.loads(out)["gpu_name"] == "H100 SXM"


def test_messages_of_constant_cells_and_text_functions_exit_3_and_answers_do_not(capsys,
                                                                                 tmp_path):
    # formulas computes a cell whose arguments are all constants while it loads the file, not
    # when it recalculates; a text function's error is a message, FLEET_BREAKEVEN's "never" an
    # answer.
    def book(formula, name="result"):
        return c.xlsx(tmp_path / f"{name}.xlsx", {"S": {"B1": formula}}, {name: "S!$B$1"})
    for formula, name in (('=GPUS_NEEDED("h100-sxm","llama-3.1-8b","fp8",1000,-100)', "gpus"),
                          ('=GPU_SPEC("nosuchgpu","memory_gb")', "spec")):
        code, out, err = run(capsys, "recalc", book(formula, name), "-q")
        assert code == 3 and f"  {name}: " in err, (formula, out, err)
    code, out, err = run(capsys, "recalc", book("=FLEET_BREAKEVEN_TOKENS_PER_DAY(5000,1000000000,0.01)"),
                         "-q")
    assert code == 0 and err == "" and out.startswith("result  never: ")


def test_a_check_without_its_own_name_is_shown_by_its_cell(capsys, tmp_path):
    path = _checked(tmp_path, "many")
    code, out, err = run(capsys, "recalc", path, "-q", "--name", "result")
    assert code == 3
    assert "  S!C3 (checks): batch must be a number" in err


def test_a_template_with_a_bad_input_exits_3_naming_the_check(capsys):
    path = REPO / "workbooks" / "multi_tenant_savings.xlsx"
    code, out, err = run(capsys, "recalc", path, "-q", "--set", "tenants=0",
                         "--name", "pooled_gpus")
    assert code == 3
    assert "  pooled_gpus: check inputs" in err
    failing = err.split("Checks that are not OK:\n", 1)[1].splitlines()
    assert [line.split(":")[0].strip() for line in failing] == ["check_tenants"]


def test_a_template_that_says_does_not_fit_exits_3(capsys):
    # Before: "does not fit: ..." and all_ok FALSE printed with exit code 0.
    path = REPO / "workbooks" / "self_host_breakeven.xlsx"
    code, out, err = run(capsys, "recalc", path, "-q", "--set", "model=llama-3.1-405b",
                         "--name", "fits", "--name", "all_ok", "--json")
    assert code == 3
    # the functions' advice: 405B in bf16 needs 12 H100s' memory and runs on 16
    said = "does not fit: use num_gpus 16 (12 would hold it, but its heads do not split over 12)"
    assert json.loads(out)["fits"] == said
    assert f"  fits: {said}" in err and "  all_ok: FALSE" in err
    # the control, without a second recalculation: the default model fits in the committed
    # file's stored results (test_templates_recalc.py holds those to a recalculation)
    stored = openpyxl.load_workbook(path, data_only=True)
    (sheet, ref), = stored.defined_names["fits"].destinations
    (sheet_ok, ref_ok), = stored.defined_names["all_ok"].destinations
    assert stored[sheet][ref.replace("$", "")].value == "OK"
    assert stored[sheet_ok][ref_ok.replace("$", "")].value is True


def test_the_templates_are_within_the_default_limits():
    # The defaults (50,000 cells, 10,000 formulas) are sized for these with room to spare:
    # every template stays within half the cells and 80 % of the formulas (the planner, the
    # largest, has ~24,900 cells, a hundred under half since its latency tables' column for
    # the TPOT floor, and ~7,650 formulas and names with its Latency sheet and the
    # Working sheet's speed columns, whose two Newton solves take 8 steps each since the steps
    # that carry a prompt made the compute-bound branch a curve; the Catalog sheet's lookup
    # lists sit side by side, as each row there spans the models table's 37 columns). The showcase and the savings template are also
    # recalculated in full above and in test_recalc.py.
    from xlnapkin.recalc import Limits, _inspect
    for path in sorted((REPO / "workbooks").glob("*.xlsx")):
        _inspect(path.read_bytes(), path.name, Limits(max_cells=25_000, max_formulas=8_000,
                                                      max_part_mb=1, max_total_mb=2))


def test_limits_are_checked_as_numbers(capsys, small):
    from xlnapkin.recalc import Limits
    with pytest.raises(RecalcError, match="max_cells must be a number > 0, got 0"):
        Limits(max_cells=0)
    # a number too large to hold is said to be that, not one below 0 (a hardening review)
    for option, text in (("--max-memory-mb", "must be a finite number (0: no limit)"),
                         ("--max-regex-seconds", "must be a finite number, got '1e400'"),
                         ("--max-seconds", "must be a number >= 0, got '-1'")):
        value = "-1" if "'-1'" in text else "1e400"
        code, out, err = run(capsys, "recalc", small, option, value)
        assert code == 1 and out == "" and text in err, (option, err)


# --- formulas that the recalculation library reads wrong or slowly ------------------------------

@pytest.mark.parametrize("formula, shown", [
    ("=SUM(S!A1:B1048576)", "B1048576"),   # formulas gave 0
    ("=SUM(S!A1:XFD2)", "XFD2"),           # formulas gave 1
    ("=SUM(S!B:XFD)", "XFD"),              # formulas gave #REF!
    ("=S!$A$1048576+1", "$A$1048576"),
    ("=SUM(S!XFD1:XFD3)", "XFD1"),         # formulas gave 3 for an empty column
])
def test_references_to_the_last_row_or_column_are_refused(capsys, monkeypatch, tmp_path, formula, shown):
    # Before: exit 0 with the wrong sum (the formulas library mishandles the sheet's edge).
    path = c.xlsx(tmp_path / "edge.xlsx", {"S": {"A1": 1, "B2": 2}, "T": {"A1": formula}},
                  {"total": "T!$A$1"})
    code, out, err = refused_before(capsys, monkeypatch, path, "parse expand")
    assert_one_error(code, out, err, f"T!A1 refers to {shown}", "last row or column")


def test_ranges_that_stop_short_of_the_edge_and_text_that_names_it_are_calculated(capsys,
                                                                                    tmp_path):
    path = c.xlsx(tmp_path / "near.xlsx", {"S": {"A1": 1, "B2": 2}, "T": {
        "A1": "=SUM(S!A1:XFC2)", "A2": '="XFD1 and A1048576"', "A3": "=SUM('S'!B1:B3)"}},
        {"near": "T!$A$1", "text": "T!$A$2", "quoted": "T!$A$3"})
    code, out, err = run(capsys, "recalc", path, "-q", "--json")
    assert code == 0, err
    assert json.loads(out) == {"near": 3, "text": "XFD1 and A1048576", "quoted": 2}


def test_formulas_longer_than_excel_allows_are_refused_before_parsing(capsys, monkeypatch, tmp_path):
    # Before: a 32,767-character formula took 60 s and 1.5 GB, then failed with "%s".
    long = "=" + "+".join(["1"] * 4100)  # 8,199 characters after the '='
    path = c.xlsx(tmp_path / "long.xlsx", {"S": {"A1": long}}, {"x": "S!$A$1"})
    code, out, err = refused_before(capsys, monkeypatch, path, "parse")
    assert_one_error(code, out, err, "S!A1 has a formula of 8,199 characters",
                     "longer than Excel allows (8,192)")
    # Excel's own longest formula (8,192 characters after the '=') is read; one more is not
    for extra, code_wanted in ((0, 0), (1, 1)):
        text = '="' + "x" * (8190 + extra) + '"'
        path = c.xlsx(tmp_path / f"edge{extra}.xlsx", {"S": {"A1": text}}, {"x": "S!$A$1"})
        code, out, err = run(capsys, "recalc", path, "-q")
        assert code == code_wanted, err


def test_the_parsing_weight_of_long_formulas_is_limited(capsys, monkeypatch, tmp_path):
    # Before: 100 formulas of 8,000 characters took 293 s (parsing grows with length squared).
    long = "=" + "+".join(["1"] * 4000)  # 7,999 characters: weight 64 each
    path = c.xlsx(tmp_path / "heavy.xlsx", {"S": {f"A{i}": long for i in range(1, 9)}},
                  {"x": "S!$A$1"})
    code, out, err = refused_before(capsys, monkeypatch, path, "parse")
    assert_one_error(code, out, err, "its formulas weigh 512", "limit of 500",
                     "--max-formula-weight")
    short = c.xlsx(tmp_path / "light.xlsx", {"S": {"A1": "=" + "+".join(["1"] * 600)}},
                   {"x": "S!$A$1"})
    code, out, err = run(capsys, "recalc", short, "-q", "--max-formula-weight", "1")
    assert_one_error(code, out, err, "weigh 1", "limit of 1")
    code, out, err = run(capsys, "recalc", short, "-q", "--max-formula-weight", "2", "--json")
    assert code == 0 and json.loads(out) == {"x": 600}, err


def test_the_tokens_of_many_formulas_are_limited(capsys, monkeypatch, tmp_path):
    # A hardening audit: 4,900 sums of 100 cells (35 kB, under every other limit) took 204 s
    # and 2 GB before the child process was stopped; the work goes with the tokens.
    sums = "=" + "+".join(["B1"] * 100)  # 200 tokens
    path = c.xlsx(tmp_path / "many.xlsx", {"S": {f"A{i}": sums for i in range(1, 1800)}},
                  {"x": "S!$A$1"})
    code, out, err = refused_before(capsys, monkeypatch, path, "parse")
    assert_one_error(code, out, err, "its formulas and names hold 359,803 tokens",
                     "over the limit of 350,000", "--max-formula-tokens")
    short = c.xlsx(tmp_path / "few.xlsx", {"S": {"A1": "=1+2", "B1": 5}}, {"x": "S!$A$1"})
    code, out, err = run(capsys, "recalc", short, "-q", "--max-formula-tokens", "4")
    assert_one_error(code, out, err, "hold 7 tokens", "limit of 4")  # =, 1, +, 2; S, !, $A$1
    code, out, err = run(capsys, "recalc", short, "-q", "--max-formula-tokens", "7", "--json")
    assert code == 0 and json.loads(out) == {"x": 3}, err


def test_circular_references_read_calc_and_exit_3(capsys, tmp_path):
    # Before: every cell of the loop, and any that reads it, came back blank with exit code 0.
    path = c.xlsx(tmp_path / "circ.xlsx", {"S": {"A1": "=B1", "B1": "=A1", "C1": "=A1+5",
                                                 "D1": 7, "E1": "=D1*2"}},
                  {"loop": "S!$C$1", "fine": "S!$E$1"})
    code, out, err = run(capsys, "recalc", path, "-q", "--json")
    assert code == 3
    assert json.loads(out) == {"loop": "#CALC!", "fine": 14}
    assert "3 formula cell(s) could not be calculated" in err
    assert "S!A1, S!B1, S!C1" in err and "circular reference" in err
    # a value not printed is reported all the same (an --out file would hold #CALC!)
    code, out, err = run(capsys, "recalc", path, "-q", "--name", "fine")
    assert code == 3 and out.split() == ["fine", "14"] and "S!C1" in err


def test_named_formulas_in_a_loop_read_calc(capsys, tmp_path):
    # a fuzz found them printed as null with exit code 0 (the cell reading them was #CALC!)
    path = c.xlsx(tmp_path / "loop.xlsx", {"S": {"A1": "=foo", "B1": 2}},
                  {"foo": "bar", "bar": "foo+1", "cell": "S!$A$1", "fine": "S!$B$1"})
    code, out, err = run(capsys, "recalc", path, "-q", "--json")
    assert code == 3
    assert json.loads(out) == {"foo": "#CALC!", "bar": "#CALC!", "cell": "#CALC!", "fine": 2}


def test_a_name_that_is_a_cell_reference_is_refused(capsys, tmp_path):
    # a hardening audit: a name n1 (=n1+1), which Excel does not allow, made =n1*2 read the
    # blank cell N1, so 0 with exit code 0; names like "b" or "rate2x" stay names
    path = c.xlsx(tmp_path / "cellname.xlsx", {"S": {"A1": "=n1*2", "B1": "=b*rate_2x"}},
                  {"n1": "n1+1", "out": "S!$A$1", "b": "2", "rate_2x": "3"})
    code, out, err = run(capsys, "recalc", path, "-q", "--name", "out")
    assert_one_error(code, out, err, "cellname.xlsx: the defined name n1 is also a cell "
                     "reference, which Excel does not allow as a name (a formula using it "
                     "reads that cell); rename it")
    r1c1 = c.xlsx(tmp_path / "r1c1.xlsx", {"S": {"A1": 7, "B2": 5, "C1": "=R10C2+1"}},
                  {"R10C2": "S!$B$2", "out": "S!$C$1"})  # formulas read cell B10: 1
    code, out, err = run(capsys, "recalc", r1c1, "-q", "--name", "out")
    assert_one_error(code, out, err, "the defined name R10C2 is also a cell reference")
    fine = c.xlsx(tmp_path / "fine.xlsx", {"S": {"B1": "=b*rate_2x"}},
                  {"b": "2", "rate_2x": "3", "xfe1": "4", "R1C": "5", "rc": "6",
                   "out": "S!$B$1"})  # XFE: past XFD; R1C and rc are names in Excel too
    code, out, err = run(capsys, "recalc", fine, "-q", "--name", "out", "--json")
    assert code == 0 and json.loads(out) == {"out": 6}, err



def test_references_to_a_deleted_sheet_are_ref_and_the_rest_is_calculated(capsys, tmp_path):
    # Before (a hardening audit): Excel's own #REF!A1, left where a sheet was deleted, made the
    # whole workbook unreadable ("a formula formulas cannot read"), and a name pointing at a
    # missing sheet stopped the listing with an error that did not name it.
    path = c.xlsx(tmp_path / "stale.xlsx",
                  {"S": {"A1": 2, "B1": "=A1*3", "C1": "=SUM(#REF!$A$1:$B$2,1)",
                         "D1": '="#REF!A1"', "E1": "=#REF!A:A",
                         "F1": "=SUM(#REF!A2:INDEX(#REF!A:A,COUNTA(#REF!A:A)))"}},
                  {"stale": "#REF!$A$1", "gone": "Nowhere!$A$1", "y": "S!$B$1",
                   "c": "S!$C$1", "d": "S!$D$1", "f": "S!$F$1", "check_gone": "Nowhere!$A$1"})
    code, out, err = run(capsys, "recalc", path, "-q", "--json")
    assert code == 3, err
    assert json.loads(out) == {"stale": "#REF!", "gone": "#REF!", "y": 6, "c": "#REF!",
                               "d": "#REF!A1",  # text that looks like one stays text
                               "f": "#REF!", "check_gone": "#REF!"}
    # a check name among them is a failing check, not an error after the values (a review)
    assert "check_gone" in err and "Error" not in err
    code, out, err = run(capsys, "recalc", path, "-q", "--set", "gone=3")
    assert_one_error(code, out, err, "gone refers to Nowhere!$A$1: no sheet 'Nowhere'")

def _apostrophe_book(tmp_path):
    return c.xlsx(tmp_path / "quote.xlsx",
                  {"Bob's": {"A1": 3, "B1": "=A1*2", "C1": "='Bob''s'!A1*2",
                             "D1": "=SUM('Bob''s'!A1:B1)", "E1": "=SUM(A1:C1)",
                             "F1": "=INDIRECT(\"'Bob''s'!A1\")*5"},
                   "Q2 plan": {"A1": "='Bob''s'!B1+1", "B1": "=SUM('Bob''s'!A1:B1)"}},
                  {"b": "'Bob''s'!$B$1", "c": "'Bob''s'!$C$1", "d": "'Bob''s'!$D$1",
                   "e": "'Bob''s'!$E$1", "f": "'Bob''s'!$F$1", "q": "'Q2 plan'!$A$1",
                   "r": "'Q2 plan'!$B$1", "inp": "'Bob''s'!$A$1"})


def test_a_sheet_named_with_an_apostrophe_is_calculated(capsys, tmp_path):
    # Before: formulas built the name of such a sheet's cells with the apostrophe single inside
    # the quotes ('[quote.xlsx]BOB'S'!A1), read no sheet there, and every cell on it, or
    # referring to it, was #REF! (and blank before that). recalc doubles it, as Excel does.
    path = _apostrophe_book(tmp_path)
    code, out, err = run(capsys, "recalc", path, "-q", "--json")
    assert json.loads(out) == {"b": 6, "c": 6, "d": 9, "e": 15, "f": 15, "q": 7, "r": 9,
                               "inp": 3} and code == 0, err
    # inputs on it are set by name or by address, and --out writes its values
    code, out, err = run(capsys, "recalc", path, "-q", "--json", "--set", "Bob's!A1=10",
                         "--name", "d", "--name", "'Q2 plan'!B1")
    assert json.loads(out) == {"d": 30, "'Q2 plan'!B1": 30} and code == 0, err
    code, out, err = run(capsys, "recalc", path, "-q", "--set", "inp=5", "--out",
                         tmp_path / "out.xlsx")
    assert code == 0, err
    book = openpyxl.load_workbook(tmp_path / "out.xlsx", data_only=True)
    assert [c.value for c in book["Bob's"][1]] == [5, 10, 10, 15, 25, 25]
    assert [c.value for c in book["Q2 plan"][1]] == [11, 15]


def test_names_defined_for_one_sheet_say_so(capsys, tmp_path):
    path = c.xlsx(tmp_path / "local.xlsx", {"S": {"A1": 7, "B1": "=A1*2"}}, {"b": "S!$B$1"})
    book = openpyxl.load_workbook(path)
    from openpyxl.workbook.defined_name import DefinedName
    book["S"].defined_names["rate"] = DefinedName("rate", attr_text="S!$A$1")
    book.save(path)
    code, out, err = run(capsys, "recalc", path, "--name", "rate")
    assert_one_error(code, out, err.splitlines()[-1] + "\n",
                     "'rate' is defined for sheet S only", "workbook-wide names only")
    assert "names defined for one sheet only are not read" in err


@pytest.mark.parametrize("name", ["copy.xlsm", "copy.csv", "copy"])
def test_out_keeps_the_input_s_extension(capsys, tmp_path, name):
    # Before: an .xlsx workbook was written under any name (Excel refuses an .xlsm that is not).
    path = c.xlsx(tmp_path / "in.xlsx", {"S": {"A1": 1, "B1": "=A1*2"}}, {"b": "S!$B$1"})
    code, out, err = run(capsys, "recalc", path, "-q", "--out", tmp_path / name)
    assert_one_error(code, out, err, "must end in .xlsx")
    assert not (tmp_path / name).exists()


def test_an_array_formula_is_converted_once_not_once_per_cell(tmp_path, monkeypatch):
    # Before: every recalc listed the cells without a value by converting the whole array
    # result again for each of its cells (5,000 cells: 4 s became 123 s).
    from openpyxl.worksheet.formula import ArrayFormula
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "S"
    for i in range(1, 501):
        ws[f"A{i}"] = i
    ws["B1"] = ArrayFormula("B1:B500", "=A1:A500*2")
    path = tmp_path / "array.xlsx"
    book.save(path)
    wb = Workbook(path)
    wb.calculate()
    calls = []
    solved = Workbook._solved
    monkeypatch.setattr(Workbook, "_solved", lambda self, node: calls.append(node) or
                        solved(self, node))
    assert wb.uncalculated() == []
    values = wb.cell_values()["S"]
    assert values["B500"] == 1000 and values["B1"] == 2
    assert len(calls) <= 2, len(calls)


def test_text_is_limited_to_what_a_cell_holds_before_it_is_built(capsys, tmp_path):
    # formulas has no limit on text: REPT("abcdefghij",1E+7) built 100 MB and eight of it joined
    # 800 MB, a four-cell file took 14 GB (review of 2026-12-03). Excel gives #VALUE! past
    # 32,767 characters; so does recalc now, and REPT and SUBSTITUTE never build the long text
    # (the run allocates well under the 100 MB that one such text would take).
    import tracemalloc
    formulas = {"A1": 'REPT("abcdefghij",1E+7)', "A2": "A1&A1&A1&A1&A1&A1&A1&A1",
                "A3": 'REPT("ab",16383)', "A4": "LEN(A3)", "A5": "A3&A3",
                "A6": 'SUBSTITUTE(A3,"a",REPT("x",1000))', "A7": "CONCATENATE(A3,A3)",
                "A8": 'LEN(A3&"x")', "A9": 'SUBSTITUTE("banana","a","o")', "A10": 'REPT("a",-1)',
                "A11": 'REPT("",1E+300)', "A12": "REPLACE(A3,1,1,A3)"}
    path = c.xlsx(tmp_path / "text.xlsx", {"S": {k: "=" + f for k, f in formulas.items()}},
                  {f"n_{k[1:]}": f"S!${k[0]}${k[1:]}" for k in formulas})
    plain = c.xlsx(tmp_path / "plain.xlsx", {"S": {"A1": '=REPT("ab",3)'}}, {"n_1": "S!$A$1"})

    def peak(book):
        tracemalloc.start()
        try:
            return run(capsys, "recalc", book, "--json", "-q"), tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    _, baseline = peak(plain)  # the recalculation itself, and what it imports
    (code, out, err), used = peak(path)
    values = json.loads(out)
    assert used < baseline + 30e6, (used, baseline)
    assert code == 3
    for name in ("n_1", "n_2", "n_5", "n_6", "n_7", "n_10", "n_12"):
        assert values[name] == "#VALUE!", (name, values[name])
    assert values["n_4"] == 32766 and values["n_8"] == 32767 and values["n_9"] == "bonono"
    assert values["n_11"] in ("", None)


@pytest.mark.parametrize("name", ["Budget [v2].xlsx", "a]b.xlsx", "[1].xlsx"])
def test_brackets_in_the_file_name_do_not_break_references(capsys, tmp_path, name):
    # formulas writes references as '[book.xlsx]S'!A1: a bracket in the name made every formula
    # #REF! (review of 2026-12-03).
    path = c.xlsx(tmp_path / name, {"S": {"A1": 21, "B1": "=A1*2"}}, {"n": "S!$B$1"})
    code, out, err = run(capsys, "recalc", path, "--set", "S!A1=5", "-q")
    assert (code, out, err) == (0, "n  10\n", "")


def test_json_holds_no_infinity(capsys, tmp_path):
    # A cell holding 1E+999 reads as inf; --json printed Infinity, which strict parsers refuse
    # (review of 2026-12-03). Such values are null, in ranges too.
    from decimal import Decimal
    path = c.xlsx(tmp_path / "inf.xlsx", {"S": {"A1": Decimal("1E+999"), "B1": Decimal("-1E+999"),
                                                 "C1": "=2+3"}},
                  {"big": "S!$A$1", "row": "S!$A$1:$C$1"})
    code, out, err = run(capsys, "recalc", path, "--json", "-q")
    assert json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in the JSON")) == {
        "big": None, "row": [[None, None, 5]]}


def test_a_range_asked_for_backwards_is_read_as_excel_reads_it(capsys, tmp_path):
    # --name A5:A1 ended in an IndexError, B1:A1 printed an empty row (review of 2026-12-03).
    path = c.xlsx(tmp_path / "r.xlsx", {"S": {"A1": 21, "B1": "=A1*2", "A2": 3}}, {"n": "S!$B$1"})
    code, out, err = run(capsys, "recalc", path, "--name", "A2:A1", "--name", "S!B1:A1",
                         "--json", "-q")
    assert (code, err) == (0, "") and json.loads(out) == {"A2:A1": [[21], [3]],
                                                          "S!B1:A1": [[21, 42]]}


def test_a_workbook_s_own_overflow_is_its_cell_s_error_not_a_warning(capsys, tmp_path):
    # =EXP(1000) printed NumPy's overflow warnings on stderr beside the #NUM! (review of
    # 2026-12-03).
    import warnings
    path = c.xlsx(tmp_path / "exp.xlsx", {"S": {"A1": 1000, "B1": "=EXP(A1)",
                                                 "C1": "=POWER(10,A1/2.5)"}},
                  {"n": "S!$B$1", "m": "S!$C$1"})
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        code, out, err = run(capsys, "recalc", path, "-q")
    assert code == 3 and out == "n  #NUM!\nm  #NUM!\n"
    assert not [w for w in seen if issubclass(w.category, RuntimeWarning)], seen


def test_every_text_function_keeps_to_the_limit_as_excel_counts_it(capsys, tmp_path):
    # A review of the first version: SUBSTITUTE with an empty old text put the new text between
    # every character (1.2 GB, and "bababab" where Excel leaves "aaa"), REGEXREPLACE and
    # ARRAYTOTEXT were not limited, UPPER can lengthen text, and Excel counts UTF-16 units (an
    # emoji is 2).
    formulas = {"A1": 'LEN(SUBSTITUTE(REPT("a",32767),"",REPT("b",32767)))',
                "A2": 'SUBSTITUTE("aaa","","b")',
                "A3": '_xlfn.REGEXREPLACE(_xlfn.REGEXREPLACE(REPT("a",32767),"a","aaaaaaaaaa"),'
                      '"a","aaaaaaaaaa")',
                "A4": 'UPPER(REPT("ﬃ",32767))', "A5": "REPT(,3)", "A6": 'REPT("😀",16384)',
                "A7": 'LEN(REPT("😀",16383))', "A8": 'UPPER("abc")&LOWER("DEF")',
                "A9": '_xlfn.ARRAYTOTEXT(IF({1,1,1},REPT("a",20000)))',
                # a long delimiter over a range: refused before the join (it took 9.8 GB)
                "A10": 'TEXTJOIN(REPT("x",100),FALSE,B1:B400)',
                "A11": 'LEN(TEXTJOIN("",TRUE,B1:B400))'}
    cells = {k: "=" + f for k, f in formulas.items()}
    cells.update({f"B{i}": "x" for i in range(1, 401)})
    path = c.xlsx(tmp_path / "text.xlsx", {"S": cells},
                  {f"n_{k[1:]}": f"S!${k[0]}${k[1:]}" for k in formulas})
    code, out, err = run(capsys, "recalc", path, "--json", "-q")
    values = json.loads(out)
    assert code == 3
    assert (values["n_1"], values["n_2"], values["n_5"], values["n_7"], values["n_8"],
            values["n_11"]) == (32767, "aaa", "", 16383, "ABCdef", 400)
    for name in ("n_3", "n_4", "n_6", "n_9", "n_10"):
        assert values[name] == "#VALUE!", (name, values[name][:20])


def test_regular_expressions_run_on_a_clock_and_replace_checks_the_length_first(capsys, tmp_path):
    # Python's re cannot be stopped: REGEXTEST of 5,000 a's and a "!" against (a+)+$ ran
    # without end, and REGEXREPLACE of 30,000 a's with an empty pattern built 900 million
    # characters (2.7 GB) before the 32,767-character check (review of 2026-12-03, seventh
    # session). Now the regular expressions of one calculation share --max-regex-seconds, and
    # the replacement's length is added up before it is built.
    import tracemalloc
    slow = c.xlsx(tmp_path / "slow.xlsx", {"S": {"A1": "a" * 5000 + "!",
                                                  "B1": '=_xlfn.REGEXTEST(A1,"(a+)+$")'}},
                  {"n": "S!$B$1"})
    started = time.monotonic()
    code, out, err = run(capsys, "recalc", slow, "-q", "--max-regex-seconds", "0.5")
    assert time.monotonic() - started < 20
    assert_one_error(code, out, err, "slow.xlsx's regular expressions", "0.5 s",
                     "--max-regex-seconds raises it")
    with pytest.raises(LimitError, match="max-regex-seconds") as raised:
        Workbook(slow, limits=Limits(max_regex_seconds=0.5)).calculate()
    assert raised.value.limit == "max_regex_seconds"

    big = c.xlsx(tmp_path / "big.xlsx", {"S": {
        "A1": '=_xlfn.REGEXREPLACE(REPT("a",30000),"",REPT("b",30000))',
        "A2": '=LEN(_xlfn.REGEXREPLACE(REPT("a",100),"a","bb"))',      # 200: within the limit
        "A3": '=LEN(_xlfn.REGEXREPLACE(REPT("ab",16000),"b","",0))',   # 16,000
        "A4": '=_xlfn.REGEXREPLACE("a1b22c333","[0-9]+","#",2)',      # the first two (formulas)
        "A5": '=_xlfn.REGEXTEST("xyz-42","[0-9]+")',                   # anywhere, as in Excel
        "A6": '=_xlfn.REGEXTEST("ABC","b",1)',
        "A7": '=_xlfn.TEXTJOIN(",",TRUE,_xlfn.REGEXEXTRACT("a1b22c333","[0-9]+",1))',
        "A8": '=_xlfn.TEXTJOIN(",",TRUE,_xlfn.REGEXEXTRACT("key=value","(\\w+)=(\\w+)",2))',
        "A9": '=_xlfn.REGEXEXTRACT("abc","[0-9]")'}},
        {f"n_{i}": f"S!$A${i}" for i in range(1, 10)})
    tracemalloc.start()
    try:
        code, out, err = run(capsys, "recalc", big, "--json", "-q")
        used = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    values = json.loads(out)
    assert used < 300e6, used   # the 900-million-character text alone would be 900 MB
    assert (values["n_1"], values["n_2"], values["n_3"], values["n_4"]) == (
        "#VALUE!", 200, 16000, "a#b#c333")
    assert (values["n_5"], values["n_6"]) == (True, True)
    assert (values["n_7"], values["n_8"]) == ("1,22,333", "key,value")
    assert values["n_9"] == "#N/A"


def _recalc_in_a_process(path, *options):
    """``python -m xlnapkin recalc`` as a user runs it; a test that would otherwise hang for
    hours fails after two minutes instead."""
    import subprocess
    return subprocess.run([sys.executable, "-m", "xlnapkin", "recalc", str(path), "-q",
                           *map(str, options)], capture_output=True, text=True, timeout=120)


def test_a_formula_that_runs_for_hours_is_stopped_at_max_seconds(tmp_path):
    # A wildcard MATCH over long texts: formulas' backtracking regular expression takes hours
    # (measured: still running after 60 s before the limit; COUNTIF's criteria no longer use
    # one). Nothing in the process can interrupt it.
    texts = {f"B{i}": "a" * 3000 for i in range(1, 21)}
    path = c.xlsx(tmp_path / "slow.xlsx", {"S": {
        "A1": '=MATCH("' + "*a" * 20 + '*b",B1:B20,0)', **texts}}, {"answer": "S!$A$1"})
    start = time.monotonic()
    proc = _recalc_in_a_process(path, "--max-seconds", 3)
    assert proc.returncode == 1, proc.stderr
    assert "took longer than 3 s and was stopped (--max-seconds raises it)" in proc.stderr
    assert time.monotonic() - start < 60
    assert proc.stdout == ""


def test_a_wildcard_criterion_over_long_texts_takes_no_backtracking(tmp_path):
    # COUNTIF's wildcards are matched whole, in at most the product of the lengths: the
    # criterion that formulas' regular expression took hours over is answered at once.
    texts = {f"B{i}": "a" * 3000 for i in range(1, 21)}
    path = c.xlsx(tmp_path / "wild.xlsx", {"S": {
        "A1": '=COUNTIF(B1:B20,"' + "*a" * 20 + '*b")',
        "A2": '=COUNTIF(B1:B20,"' + "*a" * 20 + '*")', **texts}},
        {"none": "S!$A$1", "all": "S!$A$2"})
    proc = _recalc_in_a_process(path, "--max-seconds", 60, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"none": 0, "all": 20}


def test_a_spawned_child_stopped_at_max_seconds_leaves_nothing_behind(tmp_path):
    # macOS and Windows spawn the child. tqdm's lock (formulas' progress bar) was a
    # multiprocessing semaphore that the killed child left: a resource-tracker warning
    # followed the error line.
    import subprocess
    texts = {f"B{i}": "a" * 3000 for i in range(1, 21)}
    path = c.xlsx(tmp_path / "slow.xlsx", {"S": {
        "A1": '=MATCH("' + "*a" * 20 + '*b",B1:B20,0)', **texts}}, {"answer": "S!$A$1"})
    code = ("import sys; import xlnapkin._limited as L; L._LINUX = False; "
            "from xlnapkin.cli import main; "
            "sys.exit(main(['recalc', sys.argv[1], '-q', '--max-seconds', '4']))")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"Error: recalculating {path} took longer than 4 s and was stopped (--max-seconds "
        "raises it)"]
    # On a loaded machine the child may be stopped before formulas makes its bar; this part
    # does not depend on timing: a whole recalculation leaves tqdm without its lock
    quick = c.xlsx(tmp_path / "quick.xlsx", {"S": {"A1": "=1+1"}}, {"answer": "S!$A$1"})
    code = ("import sys, tqdm; from xlnapkin.cli import main; "
            "main(['recalc', sys.argv[1], '-q', '--max-seconds', '0', '--max-memory-mb', '0']); "
            "print('_lock' in vars(tqdm.tqdm))")
    proc = subprocess.run([sys.executable, "-c", code, str(quick)], capture_output=True,
                          text=True, timeout=120)
    assert proc.stdout.split() == ["answer", "2", "False"], proc.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS holds on Linux")
@pytest.mark.parametrize("formula", [
    # 2.5e9 cells: 22 GB and 54 s measured without the limit
    "=SUM(MUNIT(50000))",
    # nested counted repeats: the pattern compiles until the machine kills it (24 GB measured)
    '=REGEXTEST("a","(((a{100}){100}){100}){100}")'])
def test_a_formula_that_asks_for_gigabytes_is_stopped_at_max_memory_mb(tmp_path, formula):
    # Within 400 MB the run stops with the limit's message, and writes nothing. formulas makes
    # any error in a function #VALUE!, a MemoryError too, and that value was saved with --out
    # (a hardening audit): recalc carries the MemoryError past it.
    path = c.xlsx(tmp_path / "big.xlsx", {"S": {"A1": formula, "A2": "=1+1"}},
                  {"big": "S!$A$1", "small": "S!$A$2"})
    import resource
    out = tmp_path / "out.xlsx"
    proc = _recalc_in_a_process(path, "--max-memory-mb", 400, "--json", "--out", out)
    assert proc.returncode == 1 and "--max-memory-mb raises it" in proc.stderr, proc.stderr
    # with --json, stdout holds the same error as JSON (the command line's rule), no values
    assert json.loads(proc.stdout) == {"error": proc.stderr.strip()[len("Error: "):]}
    assert not out.exists()
    # the largest process this one has waited for (ours included) held under 5 GB, not 22
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 5e6  # kB on Linux


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS holds on Linux")
def test_an_xlnapkin_function_that_runs_out_of_memory_stops_the_run(tmp_path):
    # a review: xlnapkin's functions are wrapped apart from formulas' own, and the scheduler
    # left the cell without a value (#CALC!, blamed on a circular reference), the file written
    cells = {f"A{i}": i for i in range(1, 2001)}
    cells["C1"] = ('=SUM(TOKENS_PER_SEC("h100-sxm","llama-3.1-8b",A1:A2000,'
                   'TRANSPOSE(A1:A2000*10)))')  # 4 million cells: 2.1e9 tokens/s without a limit
    path = c.xlsx(tmp_path / "sweep.xlsx", {"S": cells}, {"total": "S!$C$1"})
    out = tmp_path / "out.xlsx"
    proc = _recalc_in_a_process(path, "--max-memory-mb", 400, "--out", out)
    assert proc.returncode == 1 and "--max-memory-mb raises it" in proc.stderr, proc.stderr
    assert not out.exists()


def test_a_memory_error_in_a_formulas_function_is_not_a_cell_error():
    """formulas' wrap_func makes any exception #VALUE!; the one recalc installs lets a
    MemoryError through (as _OutOfMemory, which its `except Exception` does not catch)."""
    import numpy as np
    from xlnapkin import recalc
    functions = recalc._import_formulas().functions
    assert functions.wrap_func.keeps_memory_errors

    def needs_too_much(x):
        raise MemoryError

    with pytest.raises(recalc._OutOfMemory):
        functions.wrap_func(needs_too_much)(np.asarray([[1.0]]))
    functions.get_functions()  # every module of functions, each wrapping with the guard
    for name in functions.SUBMODULES:
        module = sys.modules[f"formulas.functions{name}"]
        assert getattr(module, "wrap_func", functions.wrap_func).keeps_memory_errors, name
    assert str(functions.wrap_func(lambda x: 1 / 0)(np.asarray([[1.0]])).item()) == "#VALUE!"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a spawned child imports "
                    "_child afresh, so patching it here does not reach the child")
def test_where_no_child_can_start_it_runs_here_and_says_so(capsys, tmp_path, monkeypatch):
    from xlnapkin import _limited
    monkeypatch.setattr(_limited, "_child", lambda conn, *args: conn.close())
    path = c.xlsx(tmp_path / "small.xlsx", {"S": {"A1": 20, "A2": "=A1*2"}}, {"twice": "S!$A$2"})
    code, out, err = run(capsys, "recalc", path, "-q", "--json")
    assert (code, json.loads(out)) == (0, {"twice": 40}), err
    assert "ended before it started" in err and "without --max-seconds" in err


def test_a_stopped_save_leaves_no_temporary_file(tmp_path):
    # the child is killed at the limit, perhaps while write_atomic's temporary file exists
    import argparse
    import os as _os
    from xlnapkin import cli
    out = tmp_path / "o.xlsx"
    ours = tmp_path / ".o.xlsx.0123456789abcdef.xlnapkin-tmp"
    older = tmp_path / ".o.xlsx.fedcba9876543210.xlnapkin-tmp"
    other = tmp_path / ".o.xlsx.notours.xlnapkin-tmp"
    for f in (ours, older, other):
        f.write_bytes(b"partial")
    started = time.time()
    _os.utime(older, (started - 3600, started - 3600))  # from a run before this one
    ns = argparse.Namespace(workbook=str(tmp_path / "in.xlsx"), out=out, in_place=False)
    cli._remove_own_temporary(ns, started)
    assert not ours.exists() and older.exists() and other.exists()


def test_no_limits_runs_in_this_process(capsys, tmp_path, monkeypatch):
    from xlnapkin import _limited

    def no_child(*args, **kwargs):
        raise AssertionError("a child process was started")
    monkeypatch.setattr(_limited, "run_limited", no_child)
    path = c.xlsx(tmp_path / "small.xlsx", {"S": {"A1": 20, "A2": "=A1*2"}}, {"twice": "S!$A$2"})
    code, out, err = run(capsys, "recalc", path, "-q", "--json", *IN_PROCESS)
    assert (code, json.loads(out)) == (0, {"twice": 40}), err
    code, _, err = run(capsys, "recalc", path, "-q", "--max-seconds", "-1")
    assert code == 1 and "must be a number >= 0" in err


# --- from a fuzz of the command line (2026-12-04) ------------------------------------------------

def test_numbers_written_as_other_programs_write_them_are_read(capsys, tmp_path):
    # Excel writes 1E+9 and 7; another program may write 1E9 or 007, which formulas' parser
    # refused (its pattern, and Python's eval), so the whole workbook failed to load
    path = c.xlsx(tmp_path / "e.xlsx", {"S": {"A1": 3, "A2": "=A1*1E6", "A3": "=1e3+.5E2",
                                              "A4": "=1.", "A5": '="1E9"&"x"', "A6": "=007+1",
                                              "A7": "=TRUE"}},
                  {"big": "S!$A$2", "sum": "S!$A$3", "one": "S!$A$4", "text": "S!$A$5",
                   "zeros": "S!$A$6", "true": "S!$A$7"})
    code, out, err = run(capsys, "recalc", path, "-q", "--json", *IN_PROCESS)
    assert (code, json.loads(out)) == (0, {"big": 3e6, "sum": 1050, "one": 1, "text": "1E9x",
                                           "zeros": 8, "true": True})


def test_setting_a_cell_beyond_the_sheet_names_the_sheet_s_edge(capsys, tmp_path):
    # a hardening audit: "cannot recalculate ...: ValueError (Row numbers must be between...)"
    # blamed the workbook and showed an exception's name
    path = c.xlsx(tmp_path / "r.xlsx", {"S": {"A1": 1, "A2": "=A1*2"}}, {"r": "S!$A$2"})
    code, out, err = run(capsys, "recalc", path, "-q", *IN_PROCESS, "--set", "S!ZZZ99999999=1")
    assert_one_error(code, out, err, "S!ZZZ99999999: ZZZ99999999 is not a cell of a sheet (A1 "
                                     "to XFD1048576)")
    code, out, err = run(capsys, "recalc", path, "-q", *IN_PROCESS, "--set", "S!A1=4", "--json")
    assert (code, json.loads(out)) == (0, {"r": 8}), err
    # asked for, likewise (a second audit: "ValueError (Row numbers must be ...)")
    for ref in ("S!A0", "S!A1:XFE2"):
        code, out, err = run(capsys, "recalc", path, "-q", *IN_PROCESS, "--name", ref)
        assert_one_error(code, out, err, "is not a cell of a sheet (A1 to XFD1048576)")


def test_text_longer_than_a_cell_holds_is_not_set(capsys, tmp_path):
    path = c.xlsx(tmp_path / "t.xlsx", {"S": {"A1": "x", "B1": "=LEN(A1)"}}, {"n": "S!$B$1"})
    code, out, err = run(capsys, "recalc", path, "-q", *IN_PROCESS,
                         "--set", "S!A1=" + "x" * 40000)
    assert_one_error(code, out, err,
                     "40,000 characters (UTF-16 units); a cell holds at most 32,767")


def test_an_infinite_size_limit_is_a_message():
    from xlnapkin.recalc import Limits, RecalcError
    with pytest.raises(RecalcError, match="max_part_mb must be finite"):
        Limits(max_part_mb=float("inf"))
    assert Limits(max_regex_seconds=float("inf")).max_regex_seconds == float("inf")


def test_an_empty_defined_name_is_its_own_error_not_the_listing_s(capsys, tmp_path):
    # a hardening audit: one empty name stopped the default listing with "unknown name 'empty':
    # not a defined name (did you mean empty?)"
    path = c.xlsx(tmp_path / "e.xlsx", {"S": {"A1": 1, "C1": "=A1*3"}},
                  {"empty": "", "total": "S!$C$1"})
    code, out, err = run(capsys, "recalc", path, "-q", *IN_PROCESS, "--json")
    assert (code, json.loads(out)) == (3, {"empty": "#REF!", "total": 3}), err


def test_far_time_limits_are_no_limit_and_a_tiny_memory_limit_is_refused(capsys, tmp_path):
    path = c.xlsx(tmp_path / "r.xlsx", {"S": {"A1": '=REGEXTEST("abc","b")'}}, {"r": "S!$A$1"})
    # a limit of 1e308 s overflowed poll() (a traceback), and 1e15 s cut every regex at once
    code, out, err = run(capsys, "recalc", path, "-q", "--json", "--max-seconds", "1e308",
                         "--max-regex-seconds", "1e15")
    assert (code, json.loads(out)) == (0, {"r": True}), err
    # under 200 MB the child could not load its libraries: it hung until the time limit
    code, _, err = run(capsys, "recalc", path, "-q", "--max-memory-mb", "100")
    assert code == 1 and "must be 0 (no limit) or at least 200" in err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_named_as_the_workbook_is_not_a_file(capsys, tmp_path):
    fifo = tmp_path / "book.xlsx"
    os.mkfifo(fifo)
    code, out, err = run(capsys, "recalc", fifo, "-q")
    assert_one_error(code, out, err, "is not a file (a pipe or a device)")


def test_a_named_formula_that_ends_in_a_reference_is_a_formula(capsys, tmp_path):
    # "-S!$A$1" had read as cell A1 of a sheet "-S" (a review): no such sheet, exit 1
    path = c.xlsx(tmp_path / "neg.xlsx", {"S": {"A1": 5}, "My S": {"A1": 7}},
                  {"neg": "-S!$A$1", "twice": "2*S!$A$1", "cell": "S!$A$1",
                   "quoted": "'My S'!$A$1"})
    code, out, err = run(capsys, "recalc", path, "-q", "--json", *IN_PROCESS)
    assert (code, json.loads(out)) == (0, {"neg": -5, "twice": 10, "cell": 5, "quoted": 7}), err
