"""Recalculate a workbook without Excel, including cells that call xlnapkin's Excel functions.

The `formulas <https://formulas.readthedocs.io>`_ package (the optional extra ``recalc``) reads
the workbook and calculates its formulas. :func:`register` adds every function in
:data:`xlnapkin._excel.REGISTRY` to its function table, so ``=TOKENS_PER_SEC(A2,"llama-3.1-70b",64)``
calculates to what the function gives in Excel: the same coercion and broadcasting, and an error
message as the cell's text (what classic xlwings shows). An omitted argument (``,,``) and an empty
cell arrive as blanks, so they take the function's default as they do in Excel.

:class:`Workbook` loads a file, sets inputs by defined name or cell reference, recalculates, reads
values back and saves a copy: the original file byte for byte except the changed inputs and the
cached value of every formula cell, so it opens with the new numbers in any spreadsheet program.
Nothing here overwrites a file unless told to.

``formulas`` (and through it openpyxl) is imported only when a workbook is loaded.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import time
import types
import zipfile
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from .errors import NapkinError

__all__ = ["RecalcError", "Workbook", "register", "recalculate", "parse_value",
           "write_cell_values"]

_INSTALL_HINT = 'recalculating needs the formulas package: pip install "xlnapkin[recalc]"'
_SUFFIXES = (".xlsx", ".xlsm")
_CELL_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
_RANGE_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+):\$?([A-Za-z]{1,3})\$?(\d+)$")


class RecalcError(NapkinError):
    """A workbook that cannot be read, recalculated or written as asked."""


class _NotCells(RecalcError):
    """A defined name that stands for a value or formula rather than cells."""


# --- registering the functions with formulas ----------------------------------------------------

class _Blank(int):
    """What ``formulas`` passes for an omitted argument (``,,``): 0 to Excel's own functions,
    a blank to xlnapkin's (so the argument takes its default, as in Excel)."""

    def __repr__(self):
        return "blank"


_BLANK = _Blank(0)


def _import_formulas():
    try:
        import formulas
    except ImportError:
        raise RecalcError(_INSTALL_HINT) from None
    return formulas


def _to_excel(value):
    """One argument as formulas gives it -> what xlwings would pass (scalar or rows)."""
    import numpy as np
    import schedula
    from formulas.ranges import Ranges
    if isinstance(value, Ranges):
        value = value.value
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return _to_excel(value.item())
        rows = value.reshape(value.shape[0], -1) if value.ndim != 2 else value
        if rows.shape == (1, 1):
            return _to_excel(rows[0, 0])
        return [[_to_excel(v) for v in row] for row in rows]
    if value is schedula.EMPTY or type(value) is _Blank:
        return None
    if isinstance(value, np.generic):
        return value.item()
    formulas = _import_formulas()
    if isinstance(value, formulas.XlError):
        return str(value)  # as xlwings' err_to_str: "#DIV/0!" (the boundary then says so)
    return value


@functools.lru_cache(maxsize=1)
def _spill_class():
    from formulas.functions import Array
    na = _import_formulas().NA

    class Spill(Array):
        """A function's table, cropped or padded with #N/A to the cells it is shown in, as
        Excel does for an array formula (a single cell shows the top-left value)."""

        def reshape(self, shape, *more, order="C"):
            import numpy as np
            if more or isinstance(shape, int) or len(shape) != 2 or self.ndim != 2:
                return super().reshape(shape, *more, order=order)
            rows, cols = shape
            src = np.asarray(self)
            if src.shape[0] == 1 and rows > 1:
                src = np.repeat(src, rows, axis=0)
            if src.shape[1] == 1 and cols > 1:
                src = np.repeat(src, cols, axis=1)
            out = np.full((rows, cols), na, dtype=object)
            r, c = min(rows, src.shape[0]), min(cols, src.shape[1])
            out[:r, :c] = src[:r, :c]
            return out.view(Array)

    return Spill


class _Counter:
    """Counts calls of xlnapkin's functions and reports now and then (progress on stderr)."""

    def __init__(self):
        self.calls, self.report, self._next = 0, None, 0.0

    def start(self, report):
        self.calls, self.report, self._next = 0, report, time.monotonic() + 1.0

    def tick(self):
        self.calls += 1
        if self.report is not None and time.monotonic() >= self._next:
            self._next = time.monotonic() + 1.0
            self.report(f"  {self.calls} xlnapkin function calls so far")


_COUNTER = _Counter()


def _adapter(func):
    from formulas.functions import wrap_ranges_func

    @functools.wraps(func)
    def call(*args):
        _COUNTER.tick()
        result = func(*(_to_excel(a) for a in args))
        if isinstance(result, list):
            import numpy as np
            return np.array(result, dtype=object).view(_spill_class())
        return result
    call.xlnapkin_function = func
    # formulas' own wrapper reads the ranges' values and waits while one has none yet
    return wrap_ranges_func(call)


def register(functions=None) -> list[str]:
    """Add xlnapkin's Excel functions to formulas' function table; return their names.

    ``functions`` defaults to every function in the registry. Calling it again refreshes the
    table (a function added since is picked up).
    """
    formulas = _import_formulas()
    if functions is None:
        from . import udfs  # noqa: F401  (fills the registry)
        from ._excel import REGISTRY
        functions = REGISTRY
    table = formulas.get_functions()
    for name, func in functions.items():
        table[name.upper()] = _adapter(func)
    return list(functions)


@contextlib.contextmanager
def _formulas_session(progress):
    """Blanks for omitted arguments, and formulas' own progress bar off, while a model is used."""
    formulas = _import_formulas()
    from formulas.tokens.operand import Empty
    excel_module = __import__(formulas.ExcelModel.__module__, fromlist=["tqdm"])
    saved_compile = Empty.__dict__["compile"]
    saved_tqdm = excel_module.tqdm
    quiet = types.SimpleNamespace(tqdm=functools.partial(saved_tqdm.tqdm, disable=True))
    Empty.compile = staticmethod(lambda: _BLANK)
    excel_module.tqdm = quiet
    _COUNTER.start(progress)
    try:
        yield formulas
    finally:
        Empty.compile = saved_compile
        excel_module.tqdm = saved_tqdm
        _COUNTER.report = None


# --- values -------------------------------------------------------------------------------------

def parse_value(text: str):
    """A value typed on the command line: a number, ``TRUE``/``FALSE``, text (quotes force
    text: ``"12"``), or a blank (``""``).

    >>> parse_value("64"), parse_value("h100-sxm"), parse_value('"12"'), parse_value("")
    (64, 'h100-sxm', '12', None)
    """
    text = text.strip()
    if text == "":
        return None
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if text.upper() in ("TRUE", "FALSE"):
        return text.upper() == "TRUE"
    try:
        number = float(text)
    except ValueError:
        return text
    if number != number or number in (float("inf"), float("-inf")):
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() \
        else number


def _python(value):
    """A cell value from formulas as plain Python: number, text, bool, None or '#ERROR!'."""
    import numpy as np
    import schedula
    formulas = _import_formulas()
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return _python(value.item())
        if value.shape == (1, 1):
            return _python(value[0, 0])
        return [[_python(v) for v in row] for row in value]
    if value is schedula.EMPTY or value is None:
        return None
    if type(value) is _Blank:
        return 0
    if isinstance(value, formulas.XlError):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _column_letters(index: int) -> str:
    out = ""
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _split_ref(ref: str) -> tuple[str | None, str]:
    """``"'My sheet'!$B$3"`` -> ``("My sheet", "B3")`` (sheet None when not given)."""
    sheet, _, cells = ref.rpartition("!")
    sheet = sheet.strip()
    if sheet.startswith("'") and sheet.endswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    return (sheet or None), cells.replace("$", "").upper()


def _cells_of(ref: str) -> list[list[str]]:
    m = _RANGE_RE.match(ref)
    if not m:
        return [[ref]]
    c0, r0, c1, r1 = _column_index(m.group(1)), int(m.group(2)), _column_index(m.group(3)), \
        int(m.group(4))
    return [[f"{_column_letters(c)}{r}" for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]


# --- the workbook -------------------------------------------------------------------------------

class Workbook:
    """A workbook loaded for headless recalculation.

    >>> wb = Workbook("workbooks/functions_showcase.xlsx")            # doctest: +SKIP
    >>> wb.calculate({"model": "llama-3.1-8b"})                        # doctest: +SKIP
    >>> wb.values(["replica_tokens_per_sec"])                          # doctest: +SKIP
    {'replica_tokens_per_sec': 5123.4}
    """

    def __init__(self, path, *, progress=None):
        self.path = Path(path)
        self._progress = progress
        if not self.path.is_file():
            raise RecalcError(f"no such file: {self.path}")
        if self.path.suffix.lower() not in _SUFFIXES:
            raise RecalcError(f"{self.path} is not an .xlsx or .xlsm workbook")
        self._raw = self.path.read_bytes()
        self._say(f"loading {self.path}...")
        started = time.monotonic()
        register()
        with _formulas_session(progress) as formulas:
            try:
                self._model = formulas.ExcelModel().loads(str(self.path)).finish()
            except (zipfile.BadZipFile, KeyError, ValueError) as exc:
                raise RecalcError(f"cannot read {self.path}: {exc or type(exc).__name__}") \
                    from None
        self._book = next(iter(self._model.books.values()))[formulas.BOOK]
        self._nodes = {n.upper(): n for n in self._model.dsp.data_nodes if isinstance(n, str)}
        self._prefix = f"'[{self.path.name}]"
        self.names = self._defined_names()
        self.formula_cells = self._formula_cells()
        self._inputs: dict[tuple[str, str], object] = {}
        self._solution = None
        self._say(f"loaded {len(self.formula_cells)} formula cells in "
                  f"{time.monotonic() - started:.1f} s")

    # where things are

    def _say(self, text):
        if self._progress is not None:
            self._progress(text)

    def _defined_names(self) -> dict[str, str]:
        names = {}
        for name, dn in self._book.defined_names.items():
            if name.startswith("_xlnm.") or dn.hidden:
                continue
            names[name] = dn.attr_text
        return names

    def _formula_cells(self) -> list[tuple[str, str, str | None]]:
        from openpyxl.worksheet.formula import ArrayFormula
        cells = []
        for ws in self._book.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    v = c.value
                    if isinstance(v, ArrayFormula):
                        cells.append((ws.title, c.coordinate, v.ref.replace("$", "")))
                    elif c.data_type == "f":
                        cells.append((ws.title, c.coordinate, None))
        return cells

    def _sheet(self, name: str | None):
        if name is None:
            return self._book.worksheets[0]
        for ws in self._book.worksheets:
            if ws.title.lower() == name.lower():
                return ws
        raise RecalcError(f"no sheet {name!r} in {self.path.name}: sheets are "
                          + ", ".join(ws.title for ws in self._book.worksheets))

    def _node(self, sheet: str, ref: str) -> str | None:
        key = f"{self._prefix}{sheet.replace(chr(39), chr(39) * 2)}'!{ref}".upper()
        return self._nodes.get(key)

    def resolve(self, ref: str) -> tuple[str, str]:
        """A defined name or cell reference (``Sheet1!B3``, ``B3`` on the first sheet) ->
        ``(sheet title, "B3")`` or ``(sheet title, "B3:D9")``."""
        ref = ref.strip()
        target = None
        for name, text in self.names.items():
            if name.lower() == ref.lower():
                target = text
                break
        if target is None and (_CELL_RE.match(_split_ref(ref)[1]) or
                               _RANGE_RE.match(_split_ref(ref)[1])):
            target = ref
        if target is None:
            names = list(self.names)
            shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "") or "none"
            raise RecalcError(f"unknown name {ref!r}: not a defined name ({shown}) or a cell "
                              "reference like Sheet1!B3")
        sheet, cells = _split_ref(target)
        if not (_CELL_RE.match(cells) or _RANGE_RE.match(cells)):
            raise _NotCells(f"{ref} is {target}, not a cell or range")
        return self._sheet(sheet).title, cells

    # calculating

    def set(self, ref: str, value) -> None:
        """Set an input cell (by defined name or reference) for the next :meth:`calculate`."""
        sheet, cell = self.resolve(ref)
        if ":" in cell:
            raise RecalcError(f"--set {ref}: {sheet}!{cell} is a range; set one cell at a time")
        ws = self._sheet(sheet)
        if ws[cell].data_type == "f" or any(s == sheet and c == cell
                                             for s, c, _ in self.formula_cells):
            raise RecalcError(f"--set {ref}: {sheet}!{cell} holds a formula; only input cells "
                              "can be set")
        self._inputs[(sheet, cell)] = value

    def calculate(self, inputs: dict | None = None) -> None:
        """Recalculate every formula with the inputs set so far plus ``inputs``."""
        for ref, value in (inputs or {}).items():
            self.set(ref, value)
        import schedula
        feed = {}
        for (sheet, cell), value in self._inputs.items():
            node = self._node(sheet, cell)
            if node is None:
                continue  # no formula reads this cell: nothing to recalculate
            feed[node] = schedula.EMPTY if value is None else value
        self._say(f"recalculating {len(self.formula_cells)} formula cells...")
        started = time.monotonic()
        with _formulas_session(self._progress):
            self._solution = self._model.calculate(inputs=feed)
            calls = _COUNTER.calls
        self._say(f"recalculated in {time.monotonic() - started:.1f} s "
                  f"({calls} xlnapkin function calls)")

    def _ensure(self):
        if self._solution is None:
            self.calculate()

    def value(self, ref: str):
        """The recalculated value of a defined name or reference: a scalar for one cell, rows
        (lists) for a range. Text is a function's message; ``'#DIV/0!'`` and the like are
        Excel errors."""
        self._ensure()
        try:
            sheet, cells = self.resolve(ref)
        except _NotCells:  # a name for a constant or a formula (=0.05, =rate*12)
            name = next(n for n in self.names if n.lower() == ref.strip().lower())
            node = self._nodes.get(f"{self._prefix}'!{name}".upper())
            if node is None or node not in self._solution:
                return None
            return self._solved(node)
        grid = [[self._cell_value(sheet, c) for c in row] for row in _cells_of(cells)]
        return grid[0][0] if ":" not in cells else grid

    def _solved(self, node: str):
        value = self._solution[node]
        return _python(getattr(value, "value", value))  # Ranges, or a plain value for a name

    def _cell_value(self, sheet: str, cell: str):
        if (sheet, cell) in self._inputs:
            return self._inputs[(sheet, cell)]
        node = self._node(sheet, cell)
        if node is not None and node in self._solution:
            return self._solved(node)
        for s, anchor, ref in self.formula_cells:  # a cell inside an array formula's range
            if s == sheet and ref and any(cell in row for row in _cells_of(ref)):
                node = self._node(sheet, ref)
                if node is not None and node in self._solution:
                    grid = self._solved(node)
                    rows = _cells_of(ref)
                    for i, row in enumerate(rows):
                        if cell in row:
                            return grid[i][row.index(cell)] if isinstance(grid, list) else grid
        held = self._sheet(sheet)[cell]
        if held.data_type == "f":
            return None  # a formula formulas could not calculate: no value to report
        return None if held.value == "" else held.value

    def values(self, refs=None) -> dict:
        """``{name: value}`` for the given names/references, or for every defined name."""
        self._ensure()
        return {ref: self.value(ref) for ref in (refs if refs else self.names)}

    # saving

    def cell_values(self) -> dict[str, dict[str, object]]:
        """``{sheet: {cell: value}}`` for every formula cell and every input that was set."""
        self._ensure()
        out: dict[str, dict[str, object]] = {}
        for sheet, anchor, ref in self.formula_cells:
            cells = _cells_of(ref) if ref else [[anchor]]
            for row in cells:
                for cell in row:
                    out.setdefault(sheet, {})[cell] = self._cell_value(sheet, cell)
        for (sheet, cell), value in self._inputs.items():
            out.setdefault(sheet, {})[cell] = value
        return out

    def save(self, out, *, overwrite: bool = False) -> Path:
        """Write the workbook with the new inputs and recalculated cached values to ``out``.

        Refuses to write over an existing file unless ``overwrite``.
        """
        out = Path(out)
        if out.exists() and not overwrite:
            raise RecalcError(f"{out} already exists; use --force to overwrite it")
        data, missing = write_cell_values(self._raw, self.cell_values())
        lost = [f"{s}!{c}" for s, c in missing if (s, c) in self._inputs]
        if lost:
            raise RecalcError(f"cannot save: {', '.join(lost)} is empty in the file; only cells "
                              "that hold a value can be changed")
        tmp = out.with_name(out.name + ".xlnapkin-tmp")
        tmp.write_bytes(data)
        tmp.replace(out)
        return out


def recalculate(path, inputs: dict | None = None, names=None, *, out=None,
                overwrite: bool = False, progress=None) -> dict:
    """Load ``path``, set ``inputs`` (``{name or ref: value}``), recalculate, optionally save
    to ``out``, and return ``{name: value}`` for ``names`` (default: every defined name)."""
    wb = Workbook(path, progress=progress)
    wb.calculate(inputs)
    if out is not None:
        wb.save(out, overwrite=overwrite)
    return wb.values(names)


# --- writing cached values into the file --------------------------------------------------------

_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_C_RE = re.compile(r"<(?P<p>\w+:)?c\b(?P<attrs>[^>]*?)(?:/>|>(?P<body>.*?)</(?P=p)?c>)", re.S)
_F_RE = re.compile(r"<(?P<p>\w+:)?f\b[^>]*?(?:/>|>.*?</(?P=p)?f>)", re.S)
_T_ATTR_RE = re.compile(r"""\st=(?:"[^"]*"|'[^']*')""")
_R_ATTR_RE = re.compile(r"""\sr=(?:"([^"]*)"|'([^']*)')""")


def _sheet_parts(files: dict[str, bytes]) -> dict[str, str]:
    """``{sheet title: zip part name}`` from the workbook part and its relationships."""
    book = ElementTree.fromstring(files["xl/workbook.xml"])
    rels = ElementTree.fromstring(files["xl/_rels/workbook.xml.rels"])
    targets = {r.get("Id"): r.get("Target") for r in rels}
    parts = {}
    for sheet in book.iter(f"{_NS_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_NS_REL}id"), "")
        part = target.lstrip("/") if target.startswith("/") else \
            str(PurePosixPath("xl") / target)
        parts[sheet.get("name")] = str(PurePosixPath(part))
    return parts


def _number_text(value) -> str:
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _new_cell(prefix: str, attrs: str, body: str | None, value) -> str:
    p = prefix or ""
    attrs = _T_ATTR_RE.sub("", attrs)
    formula = _F_RE.search(body or "")
    f = formula.group(0) if formula else ""
    if value is None:
        kind, inner = None, ""
    elif isinstance(value, bool):
        kind, inner = "b", f"<{p}v>{int(value)}</{p}v>"
    elif isinstance(value, (int, float)):
        kind, inner = None, f"<{p}v>{_number_text(value)}</{p}v>"
    elif f and re.fullmatch(r"#(NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A|GETTING_DATA)", value):
        kind, inner = "e", f"<{p}v>{value}</{p}v>"
    elif f:
        kind, inner = "str", f"<{p}v>{escape(value)}</{p}v>"
    else:
        space = ' xml:space="preserve"' if value != value.strip() else ""
        kind, inner = "inlineStr", f"<{p}is><{p}t{space}>{escape(value)}</{p}t></{p}is>"
    if kind:
        attrs += f' t="{kind}"'
    content = f + inner
    return f"<{p}c{attrs}>{content}</{p}c>" if content else f"<{p}c{attrs}/>"


def _patch_sheet(xml: str, values: dict[str, object], found: set) -> str:
    def replace(m):
        r = _R_ATTR_RE.search(m.group("attrs"))
        cell = (r.group(1) or r.group(2)).upper() if r else None
        if cell not in values:
            return m.group(0)
        found.add(cell)
        return _new_cell(m.group("p"), m.group("attrs").rstrip(), m.group("body"), values[cell])
    return _C_RE.sub(replace, xml)


def write_cell_values(data: bytes, values: dict[str, dict[str, object]], *,
                      replace_parts: dict[str, bytes] | None = None,
                      date_time: tuple | None = None) -> tuple[bytes, list]:
    """Set cell values in an .xlsx file's bytes, leaving everything else as it is.

    ``values`` is ``{sheet title: {"B3": value}}``. A formula cell keeps its formula and gets
    ``value`` as its cached result; any other cell gets ``value`` as its content. Cells absent
    from the file are left out and returned as ``[(sheet, cell), ...]``. ``replace_parts``
    swaps whole zip parts; ``date_time`` gives every zip entry that timestamp (reproducible
    files).
    """
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        infos = zin.infolist()
        files = {i.filename: zin.read(i.filename) for i in infos}
    parts = _sheet_parts(files)
    missing = []
    for sheet, cells in values.items():
        if sheet not in parts:
            raise RecalcError(f"no sheet {sheet!r} in the workbook")
        wanted = {c.upper(): v for c, v in cells.items()}
        found: set = set()
        xml = files[parts[sheet]].decode("utf-8")
        files[parts[sheet]] = _patch_sheet(xml, wanted, found).encode("utf-8")
        missing += [(sheet, c) for c in wanted if c not in found]
    files.update(replace_parts or {})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zout:
        for info in infos:
            if date_time is not None:
                new = zipfile.ZipInfo(info.filename, date_time)
                new.compress_type = zipfile.ZIP_DEFLATED
                new.external_attr = info.external_attr
                info = new
            zout.writestr(info, files[info.filename], compress_type=info.compress_type)
    return buf.getvalue(), missing
