"""Vectorised argument checks shared by the engine modules.

Each check takes a scalar or array-like, raises :class:`~xlnapkin.errors.InvalidArgumentError`
naming the argument when any element is outside what is allowed, and returns the value as a NumPy
float64 scalar (scalar in, scalar out) or a float NumPy array.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import InvalidArgumentError

__all__ = ["number", "sequences", "fraction", "requirement", "scalar_out", "fail", "MAX_GPUS",
           "MAX_BATCH"]

# The most GPUs any count may name: more than the largest clusters built; a bigger count is a
# typing mistake, and counts beyond float precision would give wrong finite numbers.
MAX_GPUS = 100_000
# The most sequences a batch or a concurrency may name: far more than any replica holds; near
# 1e298 a step's FLOPs overflow and a speed would read as a silent 0 tokens/s.
MAX_BATCH = 1_000_000_000


def requirement(minimum=None, maximum=None, *, min_open=False, max_open=False, integer=False) -> str:
    """Describe an allowed range in words: ``a whole number >= 1``, ``a number in (0, 1]``."""
    noun = "a whole number" if integer else "a number"
    if minimum is not None and maximum is not None:
        lo = "(" if min_open else "["
        hi = ")" if max_open else "]"
        return f"{noun} in {lo}{_fmt(minimum)}, {_fmt(maximum)}{hi}"
    if minimum is not None:
        return f"{noun} {'>' if min_open else '>='} {_fmt(minimum)}"
    if maximum is not None:
        return f"{noun} {'<' if max_open else '<='} {_fmt(maximum)}"
    return noun


def _fmt(x) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def number(value, name, minimum=None, maximum=None, *, min_open=False, max_open=False,
           integer=False):
    """Check that ``value`` holds finite numbers within the bounds; return it as float(s)."""
    if type(value) is float and not min_open and not max_open:
        # The commonest call (one cell from Excel, closed bounds), checked in line.
        if (value - value == 0.0 and (minimum is None or value >= minimum)
                and (maximum is None or value <= maximum)
                and (not integer or value.is_integer())):
            return np.float64(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            x = float(value)
        except OverflowError:  # an int past float's range
            x = math.inf
        if not _ok_scalar(x, minimum, maximum, min_open, max_open, integer):
            raise InvalidArgumentError(
                name, requirement(minimum, maximum, min_open=min_open, max_open=max_open,
                                  integer=integer), value,
                _share_hint(x, minimum, maximum, min_open, max_open))
        # A NumPy scalar (a float subclass): extreme inputs overflow to inf or divide to inf/NaN
        # instead of raising, and the Excel boundary words that cell.
        return np.float64(x)
    if value is None:  # NumPy reads it as NaN (an SLA review: "got NaN" for a None passed)
        raise InvalidArgumentError(name, requirement(minimum, maximum, min_open=min_open,
                                                     max_open=max_open, integer=integer), None,
                                   "give a number, or leave an optional argument out for its "
                                   "default")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise InvalidArgumentError(name, requirement(minimum, maximum, min_open=min_open,
                                                     max_open=max_open, integer=integer),
                                   value) from None
    if arr.ndim == 0:
        return number(float(arr), name, minimum, maximum, min_open=min_open,
                      max_open=max_open, integer=integer)
    bad = ~np.isfinite(arr)
    if minimum is not None:
        bad |= (arr <= minimum) if min_open else (arr < minimum)
    if maximum is not None:
        bad |= (arr >= maximum) if max_open else (arr > maximum)
    if integer:
        bad |= arr != np.round(arr)
    if bad.any():
        fail(name, bad, arr, requirement(minimum, maximum, min_open=min_open,
                                         max_open=max_open, integer=integer),
             hint=lambda x: _share_hint(x, minimum, maximum, min_open, max_open))
    return arr


def _share_hint(x, minimum, maximum, min_open, max_open) -> str:
    """For a share (at most 1) typed as a percentage: 70 for 0.7 (an error-message audit); not
    for 1.5 or 2, more likely slips (or 150 %) than 1.5 %, nor where the share it suggests is
    refused too (a percentile of 30: 0.3 is under 0.5)."""
    if (maximum == 1 and 5 <= x <= 100
            and _ok_scalar(x / 100, minimum, maximum, min_open, max_open, False)):
        return f"a share: {_fmt(x)}% is {_fmt(x / 100)}"
    return ""


def sequences(value, name, minimum=1):
    """A count of sequences (a batch, a concurrency): a whole number >= ``minimum`` (0 where
    none means the weights alone) and at most :data:`MAX_BATCH`, the limit with its own message
    so that the usual one stays short."""
    x = number(value, name, minimum, integer=True)
    if np.any(x > MAX_BATCH):
        number(x, name, maximum=MAX_BATCH)
    return x


def fail(name, bad, values, requirement, hint=None):
    """Raise :class:`InvalidArgumentError` for the elements of ``values`` where ``bad`` holds.

    The error's message names the first; its ``cells`` give every element its own message
    (None where it is fine), so the Excel boundary can mark just the failing cells of a range.
    ``requirement`` is one text, or a function of the element index giving each one's text (a
    limit that depends on another argument); ``hint`` gives an element's hint, if any.
    """
    bad = np.asarray(bad)
    values = np.broadcast_to(values, bad.shape)
    cells = np.full(bad.shape, None, dtype=object)
    texts = {}
    first = None
    for i in zip(*np.nonzero(bad)) if bad.ndim else [()]:
        need = requirement if isinstance(requirement, str) else requirement(i)
        key = (need, values[i].item())
        if key not in texts:
            texts[key] = InvalidArgumentError(name, need, values[i].item(),
                                              hint(values[i].item()) if hint else "")
        cells[i] = str(texts[key])
        first = first or texts[key]
    first.cells = cells
    raise first


def _ok_scalar(x, minimum, maximum, min_open, max_open, integer) -> bool:
    if not math.isfinite(x):
        return False
    if minimum is not None and (x <= minimum if min_open else x < minimum):
        return False
    if maximum is not None and (x >= maximum if max_open else x > maximum):
        return False
    return not integer or x.is_integer()


def fraction(value, name, *, zero_ok=False):
    """A share or rate in (0, 1] (or [0, 1] with ``zero_ok``)."""
    return number(value, name, 0, 1, min_open=not zero_ok)


def scalar_out(x):
    """Scalar in, Python float out; arrays stay arrays (every engine function returns this)."""
    return float(x) if np.ndim(x) == 0 else x
