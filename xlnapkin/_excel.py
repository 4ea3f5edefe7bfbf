"""The Excel boundary: one decorator that every Excel function in :mod:`xlnapkin.udfs` uses.

It does, in order:

1. **Wizard text.** Parses the function's docstring: the first paragraph is the summary, the
   ``Args:`` section gives one line per argument. Both go to xlwings (classic ``MacroOptions`` and
   Lite's formula builder), each at most 255 characters; the full docstring stays on the function
   for ``help()``, the reference docs and its doctest.
2. **Registration.** Applies ``xlwings.func``/``xlwings.arg`` (every argument as a 2-D range with
   error cells as text) when xlwings is importable. On Linux those decorators do nothing.
3. **Coercion.** Blank cells (``None``, ``""``) take the argument's default; text that reads as a
   number is a number; booleans, dates and Excel error values are rejected by name.
4. **Broadcasting.** Scalars, rows, columns and 2-D blocks broadcast NumPy-style; the result has
   the broadcast shape (a single cell gives a scalar). Text arguments (``gpu``, ``model``, dtypes)
   are grouped so the engine runs once per distinct combination on whole numeric arrays.
5. **Errors.** A :class:`~xlnapkin.errors.NapkinError` becomes its one-line message: returned as
   text for classic xlwings and Python callers, raised as a plain ``Exception`` (``#VALUE!`` with
   the message on hover) under xlwings Lite. Cells where the engine returns NaN (a configuration
   that does not fit) get the function's own message; cells of a group that failed (an unknown id
   in one cell of a range) get that group's message. No NaN or infinity reaches a cell. Any other
   exception is a bug and propagates.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
import re
from dataclasses import dataclass

import numpy as np

from .errors import InvalidArgumentError, MissingArgumentError, NapkinError, ShapeError

__all__ = ["excel_function", "parse_docstring", "WIZARD_LIMIT", "CATEGORY", "TEXT_PARAMS",
           "REGISTRY"]

WIZARD_LIMIT = 255
CATEGORY = "xlnapkin"
# Arguments whose values are names (catalog ids, dtypes, field names), not numbers.
TEXT_PARAMS = frozenset({"gpu", "model", "weight_dtype", "kv_dtype", "dtype", "field"})
# Text that reads as a number: plain, or with thousands separators ("1,000,000"); "2,5" is not.
_NUMBER_TEXT = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d*)(\.\d*)?([eE][+-]?\d+)?")
REGISTRY: dict[str, object] = {}  # Excel name -> function, in definition order

try:  # real decorators on Windows (classic) and in xlwings Lite, no-ops elsewhere
    from xlwings import arg as _xw_arg, func as _xw_func
except ImportError:  # engine-only install
    _xw_arg = _xw_func = None


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


def _lite() -> bool:
    return os.environ.get("XLWINGS_ON_SERVER", "").lower() == "true"


_EMPTY = inspect.Parameter.empty


def _one_cell(value):
    """The value of a 1x1 range (``[[v]]``, how classic xlwings passes one cell), else the value
    unchanged: the same as :func:`_as_array` gives, without building arrays."""
    if (type(value) is list and len(value) == 1 and type(value[0]) is list
            and len(value[0]) == 1 and not isinstance(value[0][0], (list, tuple, np.ndarray))):
        return value[0][0]
    return value


def _as_array(value):
    """Excel input -> NumPy object/float array (0-d for a single value)."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)):
        try:
            arr = np.array(value, dtype=object)
        except ValueError:
            raise InvalidArgumentError("range", "rectangular", "a ragged list") from None
        if arr.ndim > 2:
            raise InvalidArgumentError("range", "a row, a column or a 2-D block", "3-D input")
        if arr.ndim == 2 and arr.shape == (1, 1):
            return np.array(arr[0, 0], dtype=object)
        return arr
    return np.array(value, dtype=object)


def _number_cell(name, default, v):
    if v is None or (isinstance(v, str) and not v.strip()):
        if default is _EMPTY:
            raise MissingArgumentError(name)
        return np.nan if default is None else float(default)
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating, str)):
        raise InvalidArgumentError(name, "a number", v if isinstance(v, bool) else str(v))
    if isinstance(v, str):
        text = v.strip()
        try:
            if not _NUMBER_TEXT.fullmatch(text):
                raise ValueError(text)
            return float(text.replace(",", ""))
        except ValueError:
            raise InvalidArgumentError(name, "a number", v) from None
    return float(v)


def _numbers(name, default, value):
    """Coerce one numeric argument to a float array (NaN stands for a blank with no default)."""
    value = _one_cell(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if value is None:
        return _number_cell(name, default, value)
    arr = _as_array(value)
    if arr.dtype.kind in "fiu":
        return arr.astype(float)
    if arr.ndim == 0:
        return _number_cell(name, default, arr.item())
    flat = [_number_cell(name, default, v) for v in arr.ravel()]
    return np.array(flat, dtype=float).reshape(arr.shape)


def _text_cell(name, default, v):
    if v is None or (isinstance(v, str) and not v.strip()):
        if default is _EMPTY or default is None:
            raise MissingArgumentError(name)
        return default
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, bool):
        raise InvalidArgumentError(name, "text", v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)  # dtypes may be a number of bits
    raise InvalidArgumentError(name, "text", str(v))


def _texts(name, default, value):
    value = _one_cell(value)
    if value is None or type(value) is str:  # one cell: no arrays needed
        return _text_cell(name, default, value)
    arr = _as_array(value)
    if arr.ndim == 0:
        return _text_cell(name, default, arr.item())
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        out[idx] = _text_cell(name, default, v)
    return out


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


def excel_function(fn=None, *, nan_message=None, table=False):
    """Make ``fn`` an Excel function (see the module docstring).

    ``nan_message(**scalar_args)`` words the message for a cell where the engine returned NaN.
    ``table=True`` marks a function that returns a whole table (lists of rows) as is.
    """
    if fn is None:
        return functools.partial(excel_function, nan_message=nan_message, table=table)

    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    docs = parse_docstring(fn.__doc__)

    @functools.wraps(fn)
    def wrapper(*args):
        try:
            with np.errstate(all="ignore"):  # extreme inputs: inf/NaN cells get a message
                return _evaluate(fn, params, args, nan_message, table)
        except NapkinError as err:
            if _lite():
                raise Exception(str(err)) from None
            return str(err)

    full_doc = fn.__doc__
    if _xw_func is not None:
        wrapper.__doc__ = docs.summary[:WIZARD_LIMIT]
        for p in reversed(params):
            wrapper = _xw_arg(p.name, ndim=2, err_to_str=True,
                              doc=docs.args.get(p.name, p.name)[:WIZARD_LIMIT])(wrapper)
        wrapper = _xw_func(category=CATEGORY)(wrapper)
        wrapper.__doc__ = full_doc
    wrapper.wizard = docs
    # For callers that want the NapkinError raised rather than worded (the command line).
    def evaluate(*args):
        with np.errstate(all="ignore"):
            return _evaluate(fn, params, args, nan_message, table)

    wrapper.evaluate = evaluate
    REGISTRY[fn.__name__] = wrapper
    return wrapper


def _evaluate(fn, params, args, nan_message, table):
    if len(args) > len(params):
        raise InvalidArgumentError("arguments", f"at most {len(params)}", len(args))
    values = {}
    for i, p in enumerate(params):
        raw = args[i] if i < len(args) else p.default
        if raw is _EMPTY:
            raise MissingArgumentError(p.name)
        if p.name in TEXT_PARAMS:
            values[p.name] = _texts(p.name, p.default, raw)
        else:
            values[p.name] = _numbers(p.name, p.default, raw)
    if table:
        return fn(**values)
    if not any(isinstance(v, np.ndarray) for v in values.values()):
        # Every argument is one cell: a finite number goes straight back (the general path
        # below would give the same float); anything else takes the general path.
        result = fn(**values)
        if isinstance(result, float) and math.isfinite(result):
            return float(result)
        return _finish(np.broadcast_to(result, ()), (), values, nan_message)
    shapes = {k: np.shape(v) for k, v in values.items()}
    try:
        shape = np.broadcast_shapes(*shapes.values())
    except ValueError:
        raise ShapeError({k: _shape2(s) for k, s in shapes.items() if s}) from None
    text_arrays = {k: v for k, v in values.items()
                   if k in TEXT_PARAMS and isinstance(v, np.ndarray)}
    if not text_arrays:
        result = np.broadcast_to(fn(**values), shape)
        return _finish(result, shape, values, nan_message)
    # Group the cells by their combination of text values; one engine call per group.
    # Each text range's distinct values get codes on the range itself (a few cells), the codes
    # broadcast as integers, and one mixed-radix number per cell names its combination.
    keys = list(text_arrays)
    combined = np.zeros(shape, dtype=np.int64)
    distinct = {}
    for k in keys:
        arr = text_arrays[k]
        seen: dict = {}
        codes = np.array([seen.setdefault(v, len(seen)) for v in arr.ravel().tolist()],
                         dtype=np.int64).reshape(arr.shape)
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
    out = np.empty(shape, dtype=object)
    for combo, flat in groups:
        call = dict(values)
        call.update(zip(keys, combo))
        index = np.unravel_index(flat, shape)
        cells = flat
        for k, v in values.items():
            if k not in keys and isinstance(v, np.ndarray) and v.ndim:
                call[k] = np.broadcast_to(v, shape)[index]
        try:
            res = np.broadcast_to(fn(**call), (len(cells),))
            out[index] = _fill(res, call, nan_message, len(cells))
        except NapkinError as err:
            if len(groups) == 1:
                raise
            out[index] = str(err)
    return _to_excel(out)


def _messages(bad, call, nan_message):
    """The message of each cell in ``bad`` (flat indices into the arrays of ``call``).

    One call of ``nan_message`` with the bad cells' arguments as arrays where it accepts
    arrays and returns one text per cell (:func:`xlnapkin.memory.fit_message` does); otherwise,
    or if that call fails, one call per cell with scalars, exactly as before."""
    if not nan_message:
        return ["no finite result for these inputs"] * len(bad)
    picked = {k: (v[bad] if isinstance(v, np.ndarray) and v.ndim else
                  (v.item() if isinstance(v, np.ndarray) else v)) for k, v in call.items()}
    if len(bad) > 1:
        try:
            out = nan_message(**picked)
        except Exception:  # noqa: BLE001 - the per-cell calls below raise it again if real
            out = None
        if isinstance(out, np.ndarray) and out.shape == (len(bad),):
            texts = out.tolist()
            if set(map(type, texts)) == {str}:
                return texts
    return [nan_message(**{k: (v[j] if isinstance(v, np.ndarray) and v.ndim else v)
                           for k, v in picked.items()}) for j in range(len(bad))]


def _fill(res, call, nan_message, n):
    """Replace NaN results by their message."""
    res = np.asarray(res)
    if res.dtype.kind not in "fiu":
        return res
    bad = ~np.isfinite(res)
    if not bad.any():
        return res
    obj = res.astype(object)
    idx = np.flatnonzero(bad)
    for i, msg in zip(idx.tolist(), _messages(idx, call, nan_message)):
        obj[i] = msg
    return obj


def _finish(result, shape, values, nan_message):
    if result.dtype.kind in "fiu" and np.isfinite(result).all():
        return float(result) if result.ndim == 0 else _to_excel(result)
    flat = {k: (np.broadcast_to(v, shape).ravel() if isinstance(v, np.ndarray) else v)
            for k, v in values.items()}
    if result.dtype.kind in "fiu" and result.ndim:
        # Numbers with some cells that have no finite result: rows of Python floats straight
        # from NumPy, then the messages written into their cells (no per-cell conversion).
        values_flat = result.ravel().astype(float)
        bad = np.flatnonzero(~np.isfinite(values_flat))
        msgs = _messages(bad, flat, nan_message)
        if set(map(type, msgs)) != {str}:
            msgs = [_cell(m) for m in msgs]  # not text: _cell says whether Excel can show it
        height, width = _shape2(result.shape)
        if len(bad) == values_flat.size:  # no cell has a number
            return [msgs[r * width:(r + 1) * width] for r in range(height)]
        rows = values_flat.reshape(height, width).tolist()
        for i, msg in zip(bad.tolist(), msgs):
            rows[i // width][i % width] = msg
        return rows
    filled = _fill(result.ravel(), flat, nan_message, result.size).reshape(shape)
    return _to_excel(filled)


def _to_excel(arr):
    arr = np.asarray(arr)
    if arr.ndim == 0:
        return _cell(arr.item())
    if arr.dtype.kind == "f":
        rows = arr.reshape(_shape2(arr.shape)).tolist()
        return rows
    rows = arr.reshape(_shape2(arr.shape))
    return [[_cell(v) for v in row] for row in rows]
