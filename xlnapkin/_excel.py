"""The Excel boundary: how an engine function becomes an Excel function.

:func:`excel_function` takes an engine function (its docstring is the single source of the
Excel-facing text) and returns the worksheet function that :mod:`xlnapkin.udfs` registers. It
does, in order:

1. **Introspection.** :func:`describe` reads the docstring: the first paragraph is the summary
   (the function wizard's description, at most 255 characters), the ``Args:`` section gives one
   line per argument ending in its unit in ``[brackets]``, further paragraphs are notes, and the
   ``>>>`` examples become the reference docs' formulas. An argument whose unit is one of
   :data:`TEXT_UNITS` (``[id]``, ``[dtype]``, ``[name]``) takes text; every other one a number.
2. **Registration.** Applies ``xlwings.func``/``xlwings.arg`` (every argument as a 2-D range with
   error cells as text) when xlwings is importable, with the Excel name, signature and wizard
   text set explicitly. On Linux those decorators do nothing.
3. **Coercion.** Blank cells (``None``, ``""``) take the argument's default; text that reads as a
   number is a number; booleans, dates and Excel error values are rejected by name. xlwings
   Lite passes an empty cell as 0: a 0 in a text argument is read as blank there, and an error
   about a 0 says how to leave a number argument blank.
4. **Broadcasting.** Scalars, rows, columns and 2-D blocks broadcast NumPy-style; the result has
   the broadcast shape (a single cell gives a scalar). Text arguments are grouped so the engine
   runs once per distinct combination on whole numeric arrays.
5. **Errors.** A :class:`~xlnapkin.errors.NapkinError` becomes its one-line message: returned as
   text for classic xlwings and Python callers, raised as a plain ``Exception`` (``#VALUE!`` with
   the message on hover) under xlwings Lite. Cells where the engine returns NaN (a configuration
   that cannot run) get the engine's own reason (the function's ``explain`` attribute); cells of
   a group that failed (an unknown id in one cell of a range) get that group's message. No NaN or
   infinity reaches a cell. Any other exception is a bug and propagates.
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import datetime as dt
import dataclasses
import inspect
import math
import os
import re
from dataclasses import dataclass

import numpy as np

from ._formula import command_name, literal
from .errors import (CannotRunError, ErrorCellError, InvalidArgumentError, MissingArgumentError,
                     NapkinError, ShapeError)

__all__ = ["excel_function", "describe", "parse_docstring", "REGISTRY", "WIZARD_LIMIT",
           "CATEGORY", "TEXT_UNITS", "FunctionDoc", "Argument", "Example", "command_name"]

WIZARD_LIMIT = 255
CATEGORY = "xlnapkin"
# Units of arguments whose values are names (catalog ids, dtypes, field names), not numbers.
TEXT_UNITS = frozenset({"id", "dtype", "name"})
# Text that reads as a number: plain, or with thousands separators ("1,000,000"), or a
# percentage ("70%" is 0.7, as Excel's VALUE reads it); "2,5" is not.
_NUMBER_TEXT = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d*)(\.\d*)?([eE][+-]?\d+)?(\s*%)?")
# "1.024" as text in a count of tokens (a day's too): thousands written with dots, as in much
# of Europe (a rate is left alone: "150.500" tokens/s may well mean what it says)
_DOTTED_THOUSANDS = re.compile(r"[1-9]\d{0,2}(\.\d{3})+")
_COUNTS_TOKENS = re.compile(r"(^|_)(tokens|context)(_per_day)?$|^token_budget$")
# Excel's error values, as xlwings passes a cell holding one (``err_to_str``): a formula above
# failed, and the message says so
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                          "#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!",
                          "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#PYTHON!", "#EXTERNAL!"})
_UNIT_RE = re.compile(r"\s*\[([^\[\]]+)\]\s*$")
_EMPTY = inspect.Parameter.empty
REGISTRY: dict[str, object] = {}  # Excel name -> worksheet function, in registration order

try:  # real decorators on Windows (classic) and in xlwings Lite, no-ops elsewhere
    from xlwings import arg as _xw_arg, func as _xw_func
except Exception:  # noqa: BLE001 - not installed, or it fails on import (an unreadable
    # ~/.xlwings/xlwings.conf raises UnicodeDecodeError): the functions still work from Python
    # and the command line, unregistered
    _xw_arg = _xw_func = None


# --- reading a function's docstring ------------------------------------------------------------

@dataclass(frozen=True)
class Docs:
    summary: str
    args: dict


def parse_docstring(doc: str) -> Docs:
    """Summary paragraph and ``Args:`` lines of a docstring, whitespace collapsed.

    >>> parse_docstring('''Adds.
    ...
    ...     Args:
    ...         x: first [units]
    ...            continued
    ...         y: second
    ...     ''').args
    {'x': 'first [units] continued', 'y': 'second'}
    """
    text = inspect.cleandoc(doc or "")
    summary = " ".join(text.split("\n\n", 1)[0].split())
    args, current, inside = {}, None, False
    for line in text.splitlines():
        stripped = line.strip()
        if re.fullmatch(r"(Args|Arguments|Parameters):", stripped):
            inside = True
            continue
        if inside:
            if not stripped or (not line.startswith(" ") and stripped.endswith(":")):
                if current is not None and not stripped:
                    inside = False
                continue
            m = re.match(r"\s{2,}(\w+):\s*(.*)", line)
            if m and (len(line) - len(line.lstrip())) <= 4:
                current = m.group(1)
                args[current] = m.group(2).strip()
            elif current:
                args[current] = (args[current] + " " + stripped).strip()
    return Docs(summary, args)


@dataclass(frozen=True)
class Argument:
    """One argument: its doc line split into description and ``[unit]``."""

    name: str
    description: str
    unit: str | None
    required: bool
    default: object = None

    @property
    def is_text(self) -> bool:
        return self.unit in TEXT_UNITS

    @property
    def default_text(self) -> str:
        if self.required:
            return "required"
        if self.default is None:
            return "blank"
        if isinstance(self.default, str):
            return f'"{self.default}"'
        return _number_text(self.default)

    @property
    def wizard(self) -> str:
        """The function wizard's line for it: the description, the default, and the unit last,
        as the reference has them (an audit: the wizard showed neither the default nor what a
        blank dtype means); shortened to the description and unit past 255 characters."""
        unit = f" [{self.unit}]" if self.unit else ""
        default = "" if self.required or self.default is None else f"; default {self.default_text}"
        said = f"{self.description}{default}{unit}"
        return said if len(said) <= WIZARD_LIMIT else f"{self.description}{unit}"


@dataclass(frozen=True)
class Example:
    """One docstring example. ``args`` holds Python values and ``sources`` the text of each
    argument (so ``1/1.2`` stays an expression in the formula); ``plain`` says the example is just
    the call, so its expected output ``want`` is the call's result."""

    source: str
    want: str
    args: tuple
    sources: tuple
    plain: bool


@dataclass(frozen=True)
class FunctionDoc:
    """What Excel, the reference docs and the command line show of one function."""

    name: str
    summary: str
    arguments: tuple
    notes: tuple
    examples: tuple
    unit: str | None = None  # of the result: a ``[unit]`` ending the summary, as arguments have

    @property
    def signature(self) -> str:
        shown = [a.name if a.required else f"[{a.name}]" for a in self.arguments]
        return f"{self.name}({', '.join(shown)})"

    @property
    def wizard(self) -> str:
        """The function wizard's description: the summary, and the result's unit where both fit
        in its 255 characters (a review: Excel users never saw the unit)."""
        said = f"{self.summary} {self.result}".rstrip()
        return said if len(said) <= WIZARD_LIMIT else self.summary[:WIZARD_LIMIT]

    @property
    def result(self) -> str:
        """The result's unit as the wizard, the reference and ``--help`` say it ("Result in
        tokens/s."); blank for a function without one."""
        if not self.unit:
            return ""
        # words, where the unit alone reads badly (a wizard audit: "Result in x.")
        if self.unit == "0-1":
            return "Result as a share (0.25 = 25 %)."
        if self.unit == "x" or self.unit.startswith("share of "):
            return f"Result as {'a multiple (x)' if self.unit == 'x' else 'a ' + self.unit}."
        return f"Result in {self.unit}."

    def argument(self, name: str) -> Argument:
        return next(a for a in self.arguments if a.name == name)


def _number_text(value) -> str:
    v = float(value)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:.7g}"


def describe(fn, name: str | None = None) -> FunctionDoc:
    """Read one function's docstring and signature (an engine function or its Excel wrapper).

    Examples are the docstring's calls of the Excel name or of the engine function's name.
    """
    engine = getattr(fn, "engine", fn)
    name = name or getattr(fn, "excel_name", None) or engine.__name__.upper()
    doc = inspect.getdoc(engine) or ""
    parsed = parse_docstring(doc)
    arguments = []
    for p in inspect.signature(engine).parameters.values():
        line = parsed.args.get(p.name, "")
        m = _UNIT_RE.search(line)
        unit = m.group(1).strip() if m else None
        text = line[:m.start()].strip() if m else line.strip()
        required = p.default is _EMPTY
        if p.default is None:
            from .memory import BLANK_MEANS  # the engine's own words for a blank dtype
            if p.name in BLANK_MEANS:
                text = f"{text}; blank: {BLANK_MEANS[p.name]}"
        arguments.append(Argument(p.name, text, unit, required, None if required else p.default))
    callees = {name, engine.__name__}
    m = _UNIT_RE.search(parsed.summary)
    summary = parsed.summary[:m.start()] if m else parsed.summary
    return FunctionDoc(name, _shown_text(summary),
                       tuple(dataclasses.replace(a, description=_shown_text(a.description))
                             for a in arguments),
                       tuple(_shown_text(n) for n in _notes(doc)),
                       tuple(_examples(callees, doc)), m.group(1).strip() if m else None)


_ROLE_RE = re.compile(r":(?:func|data|class|mod|meth|attr):`~?(?:[\w.]*\.)?([^`]+)`")


def _shown_text(text: str) -> str:
    """Docstring text as the wizard, the command line and the reference show it: Sphinx roles
    and double-backtick literals become single-backtick code.

    >>> _shown_text("see :func:`~xlnapkin.memory.max_batch` and ``num_gpus``")
    'see `max_batch` and `num_gpus`'
    """
    return _ROLE_RE.sub(r"`\1`", text).replace("``", "`")


def _notes(doc: str) -> list[str]:
    """Docstring paragraphs other than the summary, the ``Args:`` section and the examples."""
    paragraphs = [p for p in re.split(r"\n\s*\n", inspect.cleandoc(doc)) if p.strip()]
    out = []
    for para in paragraphs[1:]:
        first = para.strip().splitlines()[0].strip()
        if re.fullmatch(r"(Args|Arguments|Parameters):", first) or first.startswith(">>>"):
            continue
        out.append(" ".join(para.split()))
    return out


def _examples(callees: set, doc: str) -> list[Example]:
    lines = inspect.cleandoc(doc).splitlines()
    found, i = [], 0
    while i < len(lines):
        line = lines[i].strip()
        if not line.startswith(">>>"):
            i += 1
            continue
        source = [line[4:]]
        i += 1
        while i < len(lines) and lines[i].strip().startswith("..."):
            source.append(lines[i].strip()[4:])
            i += 1
        want = []
        while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith(">>>"):
            want.append(lines[i].strip())
            i += 1
        example = _read_example(callees, "\n".join(source), "\n".join(want))
        if example is not None:
            found.append(example)
    # A call checked twice (plainly and rounded, say) is one example, shown in its plain form.
    first: dict = {}
    for ex in found:
        kept = first.setdefault(ex.sources, ex)
        if ex.plain and not kept.plain:
            first[ex.sources] = ex
    return list(first.values())


_WRAPPERS = {"round", "float", "int", "abs", "len", "str", "list", "sorted", "sum", "max", "min"}


def _read_example(callees: set, source: str, want: str) -> Example | None:
    """The call in a doctest line: ``F(...)``, ``F(...)[0]``, ``F(...) == x``, ``round(F(...))``."""
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError:
        return None
    plain = True
    while not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name)
               and tree.func.id in callees):
        plain = False
        if isinstance(tree, ast.Subscript):
            tree = tree.value
        elif isinstance(tree, ast.Compare):
            tree = tree.left
        elif isinstance(tree, ast.Attribute):
            tree = tree.value
        elif (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name)
              and tree.func.id in _WRAPPERS and tree.args):
            tree = tree.args[0]  # round(F(...)), len(F(...)), ...
        else:
            return None
    if tree.keywords:
        return None
    try:
        args = tuple(literal(a) for a in tree.args)
    except ValueError:
        return None
    sources = tuple(ast.get_source_segment(source, a) or ast.unparse(a) for a in tree.args)
    return Example(source, want, args, sources, plain)


# --- registration ------------------------------------------------------------------------------

# xlwings Lite (and Server) set this before anything imports xlwings, whose decorators read it
# at import as well; read once, as they do.
LITE = os.environ.get("XLWINGS_ON_SERVER", "").lower() == "true"


def _lite() -> bool:
    return LITE


def _lite_blanks(spec, args):
    """Under xlwings Lite an empty cell arrives as 0 (classic: None; xlwings-server's
    docs/custom_functions.md). No id, dtype or field name is 0, so a 0 in a text argument is
    read as the blank it was; a number argument keeps its 0 (see :func:`_lite_message`)."""
    def blank(v):
        if type(v) is list:
            return [blank(x) for x in v]
        return None if type(v) in (int, float) and v == 0 else v
    return tuple(blank(a) if i < len(spec) and spec[i][2] else a for i, a in enumerate(args))


_GOT_ZERO = re.compile(r"got -?0(\.0*)?(e[+-]?\d+)?$")


def _lite_message(message: str) -> str:
    """A Lite error about a 0 says where the 0 may have come from."""
    if _GOT_ZERO.search(message):
        return (message + ' (xlwings Lite reads an empty cell as 0: leave the argument out, '
                'or write ="" in the cell, for its default)')
    return message


def excel_function(fn, name: str | None = None, *, table: bool = False, text: bool = False):
    """The worksheet function for engine function ``fn``, registered as ``name`` (default: the
    engine name in upper case) in :data:`REGISTRY` and with xlwings.

    ``table=True`` marks a function that returns a whole table (lists of rows) as is;
    ``text=True`` one whose results may be text (a catalog field, the version): for the others
    a text cell is a message (``wrapper.text_result`` tells the command line which is which).
    The engine function may carry ``explain(**args)``: the reason, for cells where it returns
    NaN, that the configuration cannot run (see :mod:`xlnapkin.serving`).
    """
    name = name or fn.__name__.upper()
    doc = describe(fn, name)
    signature = inspect.signature(fn)
    explain = getattr(fn, "explain", None)
    spec = [(a.name, a.default if not a.required else _EMPTY, a.is_text) for a in doc.arguments]

    def wrapper(*args):
        lite = _lite()
        if lite:
            args = _lite_blanks(spec, args)
        try:
            result = _evaluate(fn, spec, args, explain, table)
            if lite and type(result) is list:  # a table's cell messages say it too
                result = [[_lite_message(v) if type(v) is str else v for v in row]
                          if type(row) is list else row for row in result]
            return result
        except NapkinError as err:
            if lite:
                raise Exception(_lite_message(str(err))) from None
            return str(err)

    def evaluate(*args):
        """The same call, but a :class:`NapkinError` raises (for the command line)."""
        return _evaluate(fn, spec, args, explain, table)

    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__module__ = fn.__module__  # doctests run where the example was written
    wrapper.__signature__ = signature
    if _xw_func is not None:
        wrapper.__doc__ = doc.wizard  # what the wizard shows
        for a in reversed(doc.arguments):
            wrapper = _xw_arg(a.name, ndim=2, err_to_str=True, doc=a.wizard)(wrapper)
        wrapper = _xw_func(category=CATEGORY)(wrapper)
    wrapper.__doc__ = fn.__doc__
    wrapper.engine, wrapper.excel_name, wrapper.evaluate = fn, name, evaluate
    wrapper.text_result = table or text
    REGISTRY[name] = wrapper
    return wrapper


# --- coercion ----------------------------------------------------------------------------------
# A single cell that is bad raises (the whole result is that message). A range is coerced cell by
# cell: a bad cell becomes NaN (numbers) or None (text) and its message is kept in a ``Cells``
# record, so only that cell of the result shows it; a blank cell of a range is a message too,
# unless its whole row or column of the range is blank and so is every other range along it (a
# gap in the table, or an oversized selection: :func:`_blank_across`), which gives a blank
# result cell. Where the argument's blank means something (a dtype: the released one), a
# blank cell means it, as a single cell does, except past the range's data
# (:func:`_past_the_data`).

MAX_CELLS = 4_000_000  # cells one call may return (a 2,000 x 2,000 table)
BLANK = ""  # a result cell left blank (a blank row or column of an oversized range)


# Set while the command line evaluates a function (refusals()): the cells that refuse one of
# their values are counted, so that it exits 1 for them, as for the value alone, and 3 for a
# configuration that cannot run. The cells themselves stay plain text, as Excel gets them.
_REFUSALS: contextvars.ContextVar[list | None] = contextvars.ContextVar("xlnapkin_refusals",
                                                                        default=None)


@contextlib.contextmanager
def refusals():
    """Count the result cells that refuse one of their values (not a number, out of range, an
    unknown id) while the block evaluates: yields a list that gains an entry for each batch of
    them (empty: none)."""
    seen: list = []
    token = _REFUSALS.set(seen)
    try:
        yield seen
    finally:
        _REFUSALS.reset(token)


def _refused(message) -> str:
    """A cell's message that refuses one of its values, noted for :func:`refusals`."""
    seen = _REFUSALS.get()
    if seen is not None:
        seen.append(message)
    return str(message)


def _failed(err: NapkinError) -> str:
    """The message of a cell whose call failed: a refusal unless it cannot run."""
    return str(err) if isinstance(err, CannotRunError) else _refused(err)


@dataclass
class Cells:
    """Per-cell problems of one range argument: messages (None where fine), the cells in a
    wholly blank row or column, and its blank cells. ``soft``: the argument's blank means
    something, and :func:`_past_the_data` decides which of its blanks give blank results (its
    ``blank_lines`` are unused)."""

    messages: np.ndarray
    blank_lines: np.ndarray
    blank: np.ndarray
    soft: bool = False


def _one_cell(value):
    """The value of a 1x1 range (``[[v]]``, how classic xlwings passes one cell), else the value
    unchanged: the same as :func:`_as_array` gives, without building arrays."""
    if (type(value) is list and len(value) == 1 and type(value[0]) is list
            and len(value[0]) == 1 and not isinstance(value[0][0], (list, tuple, np.ndarray))):
        return value[0][0]
    return value


def _as_array(value):
    """Excel input -> NumPy object/float array (0-d for a single value)."""
    if isinstance(value, (list, tuple)):
        try:
            arr = np.array(value, dtype=object)
        except ValueError:
            raise InvalidArgumentError("range", "rectangular", "a ragged list") from None
    else:
        arr = value if isinstance(value, np.ndarray) else np.array(value, dtype=object)
    if arr.ndim > 2 or (arr.dtype == object and _NESTED & set(map(type, arr.ravel().tolist()))):
        raise InvalidArgumentError("range", "a row, a column or a 2-D block", "nested ranges")
    if arr.ndim == 2 and arr.shape == (1, 1):
        return np.array(arr[0, 0], dtype=object)
    return arr


_NESTED = {list, tuple, np.ndarray}


def _is_blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


# A number within this (relative) of a whole number other than 0 is that number: the rounding
# noise of a formula (=0.1*3/0.3*8 is 8.000000000000002, which Excel shows as 8) is forgiven, so
# that a count or a limit of 1 computed in a cell is what the cell shows. (Near 0 a small
# number may be meant: a duty cycle of 1e-12 stays one.)
WHOLE_TOLERANCE = 1e-12


def _snap_whole(x):
    """``x`` (a float or a float array, as the cells arrive), a whole number other than 0
    where within :data:`WHOLE_TOLERANCE` of one (relative)."""
    if type(x) is float:  # one cell, in plain Python: NumPy's scalars cost microseconds
        if x.is_integer() or not -1e15 < x < 1e15:  # whole already, NaN, infinite or huge
            return x
        r = float(round(x))
        return r if r != 0.0 and abs(x - r) <= WHOLE_TOLERANCE * abs(r) else x
    with np.errstate(invalid="ignore"):
        r = np.round(x)
        near = (r != 0) & (np.abs(x - r) <= WHOLE_TOLERANCE * np.abs(r))
    return np.where(near, r, x)


def _number_cell(name, default, v):
    if _is_blank(v):
        if default is _EMPTY:
            raise MissingArgumentError(name)
        return np.nan if default is None else float(default)
    if isinstance(v, (dt.date, dt.time)):  # a cell formatted as a date (a review)
        shown = (v.date() if isinstance(v, dt.datetime) and v.time() == dt.time() else v)
        raise InvalidArgumentError(name, "a number", str(shown),
                                   "its cell is formatted as a date: format it as a number")
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating, str)):
        raise InvalidArgumentError(name, "a number", v if isinstance(v, bool) else str(v))
    if isinstance(v, str) and v.strip() in EXCEL_ERRORS:
        raise ErrorCellError(name, v.strip())
    text = v.strip() if isinstance(v, str) else ""
    if _DOTTED_THOUSANDS.fullmatch(text) and _COUNTS_TOKENS.search(name):
        whole = text.replace(".", "")  # 1.024 tokens, as typed (a review)
        raise InvalidArgumentError(name, "typed without a thousands dot", v,
                                   f"for {whole} tokens type {whole}: a dot is a decimal point")
    try:
        if isinstance(v, str):
            if not _NUMBER_TEXT.fullmatch(text):
                raise ValueError(text)
            if text.endswith("%"):
                return _snap_whole(float(text[:-1].rstrip().replace(",", "")) / 100)
            return _snap_whole(float(text.replace(",", "")))
        return _snap_whole(float(v))
    except (ValueError, OverflowError):
        raise InvalidArgumentError(name, "a number", v) from None


def _text_cell(name, default, v):
    if _is_blank(v):
        if default is _EMPTY:
            raise MissingArgumentError(name)
        return default
    if isinstance(v, str):
        if v.strip() in EXCEL_ERRORS:
            raise ErrorCellError(name, v.strip())
        return v.strip()
    if isinstance(v, bool):
        raise InvalidArgumentError(name, "text", v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        try:
            return float(v)  # dtypes may be a number of bits
        except OverflowError:  # an int past float's range: no number of bits, nor an id
            raise InvalidArgumentError(name, "text", v) from None
    raise InvalidArgumentError(name, "text", str(v))


def _blank_lines(blank: np.ndarray) -> np.ndarray:
    """Cells whose whole row or column of the range is blank."""
    if blank.ndim == 1:
        return blank.copy()
    return blank.all(axis=1, keepdims=True) | blank.all(axis=0, keepdims=True)


def _coerce(name, default, value, is_text):
    """One argument -> (a scalar or array, :class:`Cells` or None)."""
    cell = _text_cell if is_text else _number_cell
    value = _one_cell(value)
    if not is_text and type(value) in (int, float):
        return _number_cell(name, default, value), None
    if value is None or type(value) is str:  # one cell: no arrays needed
        return cell(name, default, value), None
    arr = _as_array(value)
    if arr.ndim == 0:
        return cell(name, default, arr.item()), None
    if not is_text and arr.dtype.kind in "fiu":
        return _snap_whole(arr.astype(float)), None
    if not is_text and set(map(type, arr.ravel().tolist())) <= {float, int}:
        with contextlib.suppress(OverflowError):  # an int past float's range: cell by cell
            return _snap_whole(arr.astype(float)), None  # a block of numbers (a review: 1.7 s
            # for a million cells one by one)
    out = np.empty(arr.shape, dtype=object if is_text else float)
    messages = np.full(arr.shape, None, dtype=object)
    blank = np.zeros(arr.shape, dtype=bool)
    for idx, v in np.ndenumerate(arr):
        if _is_blank(v):
            blank[idx] = True
            if default is None:  # a blank that means something (a dtype: the released one),
                out[idx] = cell(name, default, v)  # as in a single cell (an audit)
            else:  # a gap in a table of numbers or ids
                out[idx] = None if is_text else np.nan
                messages[idx] = f"{name} is blank"
            continue
        try:
            out[idx] = cell(name, default, v)
        except NapkinError as err:
            out[idx] = None if is_text else np.nan
            messages[idx] = str(err)
    # a blank that means something means it, but past the argument's last value a range may be
    # selected past its data (a review: trailing blanks beside other ranges' values, and 2-D
    # blocks, came back blank; then a dtype range alone spilled rows of defaults past its data)
    soft = default is None
    lines = np.zeros(blank.shape, dtype=bool) if soft else _blank_lines(blank)
    if not messages.any() and not lines.any() and not (soft and blank.any()):
        return out, None
    return out, Cells(messages, lines, blank, soft)


def _shape2(shape):
    if len(shape) == 0:
        return (1, 1)
    if len(shape) == 1:
        return (1, shape[0])
    return shape


def _cell(v):
    """A value Excel can show: Python float or str, never NaN/inf."""
    if isinstance(v, str):
        return v
    f = float(v)
    if f != f or f in (float("inf"), float("-inf")):
        raise AssertionError("non-finite value reached the Excel boundary")  # a bug, not input
    return f


# --- evaluation --------------------------------------------------------------------------------

_PLAIN = (float, int, str, type(None))


def _scalar_values(spec, args):
    """The arguments of an all-single-cell call (plain numbers, text and blanks, as a Python
    caller or a one-cell range gives them), coerced, and whether every number is moderate
    (:data:`_MODERATE`; NaN, a blank, counts as moderate, 0 does not); ``(None, False)`` when
    any argument is a range."""
    values = {}
    moderate = True
    low, high = _MODERATE
    n = len(args)
    for i, (name, default, is_text) in enumerate(spec):
        raw = args[i] if i < n else default
        kind = type(raw)
        if kind is list:
            raw = _one_cell(raw)
            kind = type(raw)
        if (is_text and kind is str and raw and raw[0] != "#" and not raw[0].isspace()
                and not raw[-1].isspace()):
            values[name] = raw  # text without surrounding blanks, as _text_cell gives it
            continue
        if not is_text and (kind is float or (kind is int and -_EXACT <= raw <= _EXACT)):
            x = _snap_whole(float(raw))  # the commonest cell, as _number_cell takes it
        else:
            if kind not in _PLAIN:
                return None, False
            if raw is _EMPTY:
                raise MissingArgumentError(name)
            x = (_text_cell if is_text else _number_cell)(name, default, raw)
        values[name] = x
        if type(x) is float and not (low <= abs(x) <= high) and x == x:
            moderate = False
    return values, moderate


_EXACT = 2.0 ** 53     # integers up to this convert to float exactly
_MODERATE = (1e-9, 1e12)  # one-cell numbers of a size in here cannot overflow, underflow or
                          # divide by zero in the engine's float math


def _evaluate(fn, spec, args, explain, table):
    """One worksheet call. A one-cell call with moderate numbers runs as is (the common case,
    kept fast); everything else runs with NumPy's floating-point warnings off, since extreme
    inputs overflow to inf or NaN and those cells get a message instead."""
    if len(args) > len(spec):
        raise InvalidArgumentError("arguments", f"at most {len(spec)}", len(args))
    if not table:  # the common single-cell call, without building arrays
        values, moderate = _scalar_values(spec, args)
        if moderate:
            result = fn(*values.values())  # in signature order
            if isinstance(result, float) and math.isfinite(result):
                return float(result)
            with np.errstate(all="ignore"):
                return _to_excel(_fill(np.broadcast_to(result, (1,)), values,
                                       explain).reshape(()))
    with np.errstate(all="ignore"):
        return _evaluate_any(fn, spec, args, explain, table)


def _evaluate_any(fn, spec, args, explain, table):
    if not table:
        values, _moderate = _scalar_values(spec, args)
        if values is not None:
            result = fn(**values)
            if isinstance(result, float) and math.isfinite(result):
                return float(result)
            return _to_excel(_fill(np.broadcast_to(result, (1,)), values,
                                   explain).reshape(()))
    values, problems, text_names = {}, {}, []
    for i, (name, default, is_text) in enumerate(spec):
        raw = args[i] if i < len(args) else default
        if raw is _EMPTY:
            raise MissingArgumentError(name)
        values[name], cells = _coerce(name, default, raw, is_text)
        if cells is not None:
            problems[name] = cells
        if is_text:
            text_names.append(name)
    if table:
        return fn(**values)
    if not any(isinstance(v, np.ndarray) for v in values.values()):
        # Every argument is one cell: a finite number goes straight back (the general path
        # below would give the same float); anything else takes the general path.
        result = fn(**values)
        if isinstance(result, float) and math.isfinite(result):
            return float(result)
        return _to_excel(_fill(np.broadcast_to(result, (1,)), values, explain).reshape(()))
    shapes = {k: np.shape(v) for k, v in values.items()}
    try:
        shape = np.broadcast_shapes(*shapes.values())
    except ValueError:
        raise ShapeError({k: _shape2(s) for k, s in shapes.items() if s}) from None
    size = math.prod(shape)
    if size > MAX_CELLS:
        raise InvalidArgumentError("ranges", f"at most {MAX_CELLS:,} result cells", size)
    texts = [k for k in text_names if isinstance(values[k], np.ndarray)]
    if not problems and not texts:  # the common table: one engine call on whole arrays
        try:
            result = np.broadcast_to(fn(**values), shape)
        except InvalidArgumentError as err:
            if err.cells is None:
                raise
            result = None  # some cells fail a check: the cell-by-cell path below marks them
        if result is not None:
            if result.dtype.kind in "fiu" and np.isfinite(result).all():
                return _to_excel(result)
            flat = {k: (np.broadcast_to(v, shape).ravel() if isinstance(v, np.ndarray) else v)
                    for k, v in values.items()}
            return _to_excel(_fill(result.ravel(), flat, explain).reshape(shape))
    out = np.full(size, None, dtype=object)
    todo = np.ones(size, dtype=bool)
    for name, cells in problems.items():  # argument order: the first argument's message wins
        blank = (_past_the_data if cells.soft else _blank_across)(name, values, problems, shape)
        out[blank & todo] = BLANK
        todo &= ~blank
        messages = np.broadcast_to(cells.messages, shape).ravel()
        bad = todo & (messages != None)  # noqa: E711 - element-wise test for a message
        out[bad] = messages[bad]
        if bad.any():
            _refused(messages[bad][0])
        todo &= ~bad
    idx = np.flatnonzero(todo)
    if idx.size:
        call = {k: (np.broadcast_to(v, shape).ravel()[idx] if isinstance(v, np.ndarray) else v)
                for k, v in values.items()}
        out[idx] = _compute(fn, call, texts, idx.size, explain, whole=idx.size == size)
    return _to_excel(out.reshape(shape))


def _blank_across(name, values, problems, shape) -> np.ndarray:
    """Flat mask of the result cells on a line (a row or a column) that ``name``'s range leaves
    wholly blank and every other range along that line's axis leaves blank too: a gap in a
    table, not a value forgotten (a review: a gap in a column of batches beside a column of
    contexts came back blank, where a 2-D block said "batch is blank"). A range constant
    along the axis (a row beside a column) says nothing of its lines."""
    def axes(s):
        return (1,) * (len(shape) - len(s)) + tuple(s)
    def lines(blank, axis):  # whether each line across ``axis`` is wholly blank, broadcast
        blank = blank.reshape(axes(blank.shape))
        others = tuple(i for i in range(blank.ndim) if i != axis)
        return np.broadcast_to(blank.all(axis=others, keepdims=True), shape)

    out = np.zeros(shape, dtype=bool)
    for axis in range(len(shape)):
        here = lines(problems[name].blank, axis).copy()
        for other, v in values.items():
            if other == name or not isinstance(v, np.ndarray) or axes(v.shape)[axis] <= 1:
                continue
            cells = problems.get(other)
            here &= False if cells is None else lines(cells.blank, axis)
        out |= here
    return out.ravel()


def _past_the_data(name, values, problems, shape) -> np.ndarray:
    """Flat mask of the result cells past the data of ``name``'s range, whose blank means
    something: along each axis it spans, its lines after its last value, where no other range
    spanning that axis has a value (reviews: a column beside a row of batches says nothing of
    the rows past the column's data, and a column beside a block does; a second such range
    counts up to its own last value; a partly blank line of another is a gap, not an end)."""
    def axes(s):
        return (1,) * (len(shape) - len(s)) + tuple(s)
    def after(blank, axis):  # its lines along ``axis`` after its last value, broadcast
        blank = blank.reshape(axes(blank.shape))
        lines = blank.all(axis=tuple(i for i in range(blank.ndim) if i != axis))
        filled = np.flatnonzero(~lines)
        past = np.arange(lines.size) > (filled[-1] if filled.size else -1)
        return np.broadcast_to(past.reshape([-1 if i == axis else 1 for i in range(len(shape))]),
                               shape)

    own = problems[name].blank
    out = np.zeros(shape, dtype=bool)
    for axis, n in enumerate(axes(own.shape)):
        if n <= 1:
            continue
        past = after(own, axis).copy()
        for other, v in values.items():
            if other == name or not isinstance(v, np.ndarray) or axes(v.shape)[axis] <= 1:
                continue  # a range constant along this axis says nothing of its lines
            cells = problems.get(other)
            if cells is None:
                past[:] = False  # a range of values throughout
            elif cells.soft:  # up to its own last value along this axis (a review)
                past &= after(cells.blank, axis)
            else:
                past &= np.broadcast_to(cells.blank_lines.reshape(axes(v.shape)), shape)
        out |= past
    return out.ravel()


def _compute(fn, call, texts, n, explain, whole):
    """Results of ``n`` cells (flat arrays in ``call``): one engine call per combination of text
    values. A group whose call fails gets that message; if the only group fails for every cell,
    the error is raised (one message for the whole result)."""
    if not texts:
        return _compute_group(fn, call, n, explain, raise_all=whole)
    out = np.empty(n, dtype=object)
    groups = _groups({k: call[k] for k in texts}, (n,))
    for combo, flat in groups:
        sub = {k: (v[flat] if isinstance(v, np.ndarray) and v.ndim else v) for k, v in call.items()}
        sub.update(zip(texts, combo))
        try:
            out[flat] = _compute_group(fn, sub, len(flat), explain,
                                       raise_all=whole and len(groups) == 1)
        except NapkinError as err:
            if whole and len(groups) == 1:
                raise
            out[flat] = _failed(err)
    return out


def _compute_group(fn, call, n, explain, raise_all):
    """Results of ``n`` cells that share their text values. A check failing for some cells of an
    argument (the error's ``cells``) gives those cells their messages and the rest are computed
    again, a few times at most. A failure that names no cells (a check across arguments) is
    asked cell by cell, up to :data:`_CELL_BY_CELL` cells, and each keeps its own message;
    where every cell fails with the same message, or there are more cells, it fails them all
    with one."""
    out = np.empty(n, dtype=object)
    todo = np.arange(n)
    for _ in range(8):
        sub = {k: (v[todo] if isinstance(v, np.ndarray) and v.ndim else v) for k, v in call.items()}
        try:
            res = np.broadcast_to(fn(**sub), (todo.size,))
        except InvalidArgumentError as err:
            arr = sub.get(err.name)
            cells = err.cells
            if cells is None or not isinstance(arr, np.ndarray) or arr.shape != cells.shape:
                # A check across arguments (a price against another range's price) names no
                # cells: ask each cell alone which of them it concerns.
                one, kinds = _cell_by_cell(fn, sub, todo.size, explain) \
                    if 1 < todo.size <= _CELL_BY_CELL else (None, set())
                # Every cell failing with the same message is one message for the range;
                # cells that fail differently each keep their own.
                if one is None or (len(kinds) == 1 and min(kinds).startswith("check:")):
                    if raise_all or todo.size == n:
                        raise
                    out[todo] = _failed(err)
                else:
                    out[todo] = one
                return out
            bad = cells != None  # noqa: E711 - element-wise: the cells with a message
            out[todo[bad]] = cells[bad]
            if bad.any():
                _refused(cells[bad][0])
            todo = todo[~bad]
            raise_all = False
            if not todo.size:
                return out
            continue
        out[todo] = _fill(res, sub, explain)
        return out
    out[todo] = "too many different errors in these ranges"
    return out


_CELL_BY_CELL = 10_000  # most cells asked one at a time when a failure names none of them


def _cell_by_cell(fn, call, n, explain) -> tuple[list, set]:
    """Each of ``n`` cells computed alone: its value, or the message of its own failure; and
    the kinds of result met (a check's message, "fit" for a configuration that cannot run,
    "value"), so that cells failing with one message can share it."""
    out, kinds = [], set()
    for i in range(n):
        one = {k: (v[i:i + 1] if isinstance(v, np.ndarray) and v.ndim else v)
               for k, v in call.items()}
        try:
            value = _fill(np.broadcast_to(fn(**one), (1,)), one, explain).tolist()[0]
            kinds.add("fit" if isinstance(value, str) else "value")
            out.append(value)
        except NapkinError as err:
            kinds.add("check:" + str(err))
            out.append(_failed(err))
    return out, kinds


def _groups(text_arrays: dict, shape) -> list:
    """The cells of each distinct combination of text values: ``[(values, flat indices)]``.

    Each text range's distinct values get codes (its cells grouped by the objects they hold
    first, a few where a range was broadcast, then by value), and one mixed-radix number per
    cell names its combination."""
    keys = list(text_arrays)
    combined = np.zeros(shape, dtype=np.int64)
    distinct = {}
    for k in keys:
        arr = text_arrays[k]
        seen: dict = {}
        cells = arr.ravel().tolist()
        # a broadcast range repeats a few objects: their identities are grouped in C first
        # (a review: a column of three GPUs against a row of a thousand batches took 0.4 s
        # in this loop cell by cell)
        _ids, first, back = np.unique(np.fromiter(map(id, cells), np.int64, len(cells)),
                                       return_index=True, return_inverse=True)
        codes = np.array([seen.setdefault(cells[i], len(seen)) for i in first.tolist()],
                         dtype=np.int64)[back].reshape(arr.shape)
        distinct[k] = list(seen)
        combined = combined * len(seen) + np.broadcast_to(codes, shape)
    labels, inverse = np.unique(combined.ravel(), return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(labels) + 1))
    groups = []
    for g, label in enumerate(labels.tolist()):
        combo = []
        for k in reversed(keys):
            label, code = divmod(label, len(distinct[k]))
            combo.append(distinct[k][code])
        groups.append((tuple(reversed(combo)), order[bounds[g]:bounds[g + 1]]))
    return groups


# A cell with no finite result whose function says nothing of why (a number past what floats
# hold on the way: a cv of 1e308 in the pooling functions); one whose result itself is past it
_GENERIC = "no finite result for these inputs: check their sizes and units"
_OVERFLOW = "the result overflows (beyond 1.8e308): check the inputs' sizes and units"


def _messages(bad, call, explain) -> np.ndarray:
    """The message of each cell in ``bad`` (flat indices into the arrays of ``call``): the
    engine's reason (one vectorised call), or a plain note where it gives none."""
    if explain is None:
        return np.full(len(bad), _GENERIC, dtype=object)
    picked = {k: (v[bad] if isinstance(v, np.ndarray) and v.ndim else
                  (v.item() if isinstance(v, np.ndarray) else v)) for k, v in call.items()}
    texts = np.array(np.broadcast_to(np.asarray(explain(**picked), dtype=object), (len(bad),)),
                     dtype=object)
    texts[(texts == None) | (texts == "")] = _GENERIC  # noqa: E711 - element-wise
    return texts


def _fill(res, call, explain):
    """Cells Excel can show (flat arrays): NaN results replaced by their message, numbers as
    Python floats, anything else through :func:`_cell`."""
    res = np.asarray(res)
    if res.dtype.kind == "U":
        return res
    if res.dtype.kind not in "fiu":
        return np.array([_cell(v) for v in res.ravel().tolist()] + [None],
                        dtype=object)[:-1].reshape(res.shape)
    bad = ~np.isfinite(res)
    if not bad.any():
        return res
    # every cell a message (a model too big for the GPUs): no numbers to convert first
    obj = np.empty(res.shape, dtype=object) if bad.all() else res.astype(object)
    idx = np.flatnonzero(bad)
    obj[idx] = texts = _messages(idx, call, explain)
    # it ran, but a number went past what floats hold, and the function gives no reason (an
    # infinite result may be an answer it explains: a breakeven that is never)
    generic = texts == _GENERIC
    over = idx[np.isinf(res.ravel()[idx]) & generic]
    if over.size:
        obj[over] = _refused(_OVERFLOW)
    if (generic & ~np.isinf(res.ravel()[idx])).any():  # an input too large: refused, not
        _refused(_GENERIC)                               # a configuration that cannot run
    return obj


def _to_excel(arr):
    """Rows of cells for Excel from a finite float array or one :func:`_fill` made."""
    arr = np.asarray(arr)
    if arr.ndim == 0:
        return _cell(arr.item())
    if arr.dtype.kind in "iu":
        arr = arr.astype(float)
    return arr.reshape(_shape2(arr.shape)).tolist()  # floats, or cells _fill made Excel-ready
