"""Workbooks written part by part, so a test can put anything in them (what someone might send).

:func:`xlsx` writes a minimal, valid .xlsx: one or more sheets given as ``<sheetData>`` rows
(or whole sheet XML), defined names, optional shared strings, external-link parts and any extra
or replaced zip parts, as raw bytes that no library has tidied.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def cell(ref: str, value=None, formula: str | None = None) -> str:
    """One ``<c>``: a number, an inline string, or a formula (with no cached value)."""
    if formula is not None:
        return f'<c r="{ref}"><f>{escape(formula)}</f></c>'
    if isinstance(value, str):
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
    return f'<c r="{ref}"><v>{value}</v></c>'


def rows(cells: dict) -> str:
    """``{"A1": 1, "B1": "=A1*2", "C1": "text"}`` -> ``<sheetData>`` body (``=`` starts a
    formula)."""
    by_row: dict[int, list[str]] = {}
    for ref, value in cells.items():
        r = int("".join(ch for ch in ref if ch.isdigit()))
        if isinstance(value, str) and value.startswith("="):
            by_row.setdefault(r, []).append(cell(ref, formula=value[1:]))
        else:
            by_row.setdefault(r, []).append(cell(ref, value))
    return "".join(f'<row r="{r}">{"".join(cs)}</row>' for r, cs in sorted(by_row.items()))


def sheet_xml(data: str, after: str = "") -> str:
    return (f'{DECL}<worksheet xmlns="{MAIN}" xmlns:r="{REL}"><sheetData>{data}</sheetData>'
            f'{after}</worksheet>')


def xlsx(path: Path, sheets: dict, names: dict | None = None, *, links: list[str] = (),
         parts: dict | None = None, shared_strings: str | None = None) -> Path:
    """Write a workbook: ``sheets`` is ``{title: {cell: value}}`` or ``{title: sheet XML}``;
    ``names`` ``{name: text}``; ``links`` external-link targets (``[1]``, ``[2]``, ...);
    ``parts`` replaces or adds zip parts (bytes or text)."""
    names = names or {}
    ct = ['<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
          'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>',
          '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
          'officedocument.spreadsheetml.sheet.main+xml"/>']
    book_rels, sheet_tags, files = [], [], {}
    for i, (title, content) in enumerate(sheets.items(), 1):
        xml = content if isinstance(content, str) else sheet_xml(rows(content))
        files[f"xl/worksheets/sheet{i}.xml"] = xml
        ct.append(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                  'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
        book_rels.append(f'<Relationship Id="rId{i}" Type="{REL}/worksheet" '
                         f'Target="worksheets/sheet{i}.xml"/>')
        sheet_tags.append(f'<sheet name={quoteattr(title)} sheetId="{i}" r:id="rId{i}"/>')
    ext_tags = []
    for j, target in enumerate(links, 1):
        rid = f"rId{100 + j}"
        files[f"xl/externalLinks/externalLink{j}.xml"] = (
            f'{DECL}<externalLink xmlns="{MAIN}" xmlns:r="{REL}"><externalBook r:id="rId1">'
            '<sheetNames><sheetName val="S"/></sheetNames><sheetDataSet><sheetData sheetId="0">'
            '<row r="1"><cell r="A1"><v>0</v></cell></row></sheetData></sheetDataSet>'
            '</externalBook></externalLink>')
        files[f"xl/externalLinks/_rels/externalLink{j}.xml.rels"] = (
            f'{DECL}<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/'
            f'externalLinkPath" Target={quoteattr(target)} TargetMode="External"/>'
            '</Relationships>')
        ct.append(f'<Override PartName="/xl/externalLinks/externalLink{j}.xml" ContentType="'
                  'application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"'
                  '/>')
        book_rels.append(f'<Relationship Id="{rid}" Type="{REL}/externalLink" '
                         f'Target="externalLinks/externalLink{j}.xml"/>')
        ext_tags.append(f'<externalReference r:id="{rid}"/>')
    if shared_strings is not None:
        files["xl/sharedStrings.xml"] = shared_strings
        ct.append('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
                  'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
        book_rels.append(f'<Relationship Id="rId99" Type="{REL}/sharedStrings" '
                         'Target="sharedStrings.xml"/>')
    defined = "".join(f"<definedName name={quoteattr(n)}>{escape(t)}</definedName>"
                      for n, t in names.items())
    files["xl/workbook.xml"] = (
        f'{DECL}<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>{"".join(sheet_tags)}</sheets>'
        + (f'<externalReferences>{"".join(ext_tags)}</externalReferences>' if ext_tags else "")
        + (f"<definedNames>{defined}</definedNames>" if defined else "") + "</workbook>")
    files["xl/_rels/workbook.xml.rels"] = (
        f'{DECL}<Relationships xmlns="{PKG}">{"".join(book_rels)}</Relationships>')
    files["_rels/.rels"] = (
        f'{DECL}<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/officeDocument"'
        ' Target="xl/workbook.xml"/></Relationships>')
    files["[Content_Types].xml"] = f'{DECL}<Types xmlns="{CT}">{"".join(ct)}</Types>'
    files.update(parts or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name in ["[Content_Types].xml"] + sorted(set(files) - {"[Content_Types].xml"}):
            data = files[name]
            z.writestr(name, data.encode("utf-8") if isinstance(data, str) else data)
    return path
