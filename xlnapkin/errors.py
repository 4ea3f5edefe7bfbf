"""The package's own errors.

Everything a user can fix raises a :class:`NapkinError`. The Excel boundary turns these (and only
these) into a short message in the cell; any other exception is a bug. Messages are built from the
fields so that tests can pin them exactly. Most stay under about 100 characters; a
configuration that does not fit names the sizes and the fix, an unknown dtype lists the dtypes,
and a latency limit no rate meets names both limits where both miss: those run to 150-300.
"""

from __future__ import annotations

import math

__all__ = [
    "NapkinError",
    "UnknownNameError",
    "InvalidArgumentError",
    "MissingArgumentError",
    "ErrorCellError",
    "ShapeError",
    "CatalogError",
    "CannotRunError",
    "format_value",
    "ECHO_LIMIT",
]


ECHO_LIMIT = 40  # characters of a user's text a message repeats (a cell holds 32,767)


def _clip(text: str) -> str:
    return text if len(text) <= ECHO_LIMIT else text[:ECHO_LIMIT - 1] + "…"


def format_value(value) -> str:
    """Show a user's value the way they typed it: ``-3`` not ``-3.0``, text quoted; long text
    is cut to :data:`ECHO_LIMIT` characters.

    >>> format_value(-3.0), format_value("h10"), format_value("x" * 100)[-4:]
    ('-3', "'h10'", "xx…'")
    >>> format_value(2.5), format_value(2.0000001)  # every digit where six would round it
    ('2.5', '2.0000001')
    """
    if isinstance(value, str):
        return repr(_clip(value))
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"  # as Excel shows a logical
    try:
        f = float(value)
    except OverflowError:  # an integer beyond any float
        return "-1e+308 or less" if value < 0 else "1e+308 or more"
    except (TypeError, ValueError):
        try:
            return _clip(repr(value))
        except ValueError:  # holds an int of more digits than Python turns into text
            return "a value with a number too long to show"
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "infinity" if f > 0 else "-infinity"
    if f.is_integer() and abs(f) < 1e15:
        return str(int(f))
    short = f"{f:.6g}"
    return short if float(short) == f else repr(f)  # never a rounded value that is allowed


def format_limit(limit, side=None) -> str:
    """A computed limit to six significant figures, rounded ``"down"`` for an upper bound and
    ``"up"`` for a lower one (None: to the nearest), so that the figure shown is itself allowed
    and a value just past the limit never reads as within it.

    >>> format_limit(248.51632, "down"), format_limit(248.51632, "up"), format_limit(0.1234567)
    ('248.516', '248.517', '0.123457')
    """
    x = float(limit)
    if side and x > 0 and math.isfinite(x):
        step = 10.0 ** (math.floor(math.log10(x)) - 5)
        x = (math.floor if side == "down" else math.ceil)(x / step) * step
    return f"{x:.6g}"


class NapkinError(ValueError):
    """Base class: bad input a user can fix."""


class UnknownNameError(NapkinError):
    """An id or name that is not in the catalog (gpu, model, dtype, field, provider)."""

    def __init__(self, kind: str, value, suggestions=(), hint: str = ""):
        self.kind, self.value, self.suggestions, self.hint = kind, value, tuple(suggestions), hint
        msg = f"unknown {kind} {format_value(value)}"
        if self.suggestions:
            msg += ": did you mean " + ", ".join(self.suggestions) + "?"
        elif hint:
            msg += f": {hint}"
        super().__init__(msg)


class InvalidArgumentError(NapkinError):
    """An argument outside what is allowed: ``batch must be a whole number >= 1, got -3``.

    ``cells``, when set, holds the message of every element of the array that was checked
    (None where it is fine), so the Excel boundary marks just the failing cells of a range."""

    cells = None

    def __init__(self, name: str, requirement: str, value, hint: str = ""):
        self.name, self.requirement, self.value = name, requirement, value
        said = f"{name} must be {requirement}, got {format_value(value)}"
        super().__init__(f"{said} ({hint})" if hint else said)


class MissingArgumentError(InvalidArgumentError):
    """A required argument left blank: ``gpu is required``, and why where a default would do
    but there is none (``... is required (h100-nvl has no catalog price)``)."""

    def __init__(self, name: str, why: str = ""):
        NapkinError.__init__(self, f"{name} is required" + (f" ({why})" if why else ""))
        self.name, self.requirement, self.value = name, "given", None


class ErrorCellError(InvalidArgumentError):
    """An argument whose cell holds one of Excel's error values (``#N/A``, ``#DIV/0!``, ...,
    which xlwings passes as text): ``gpu holds the error #N/A ...``, not "unknown gpu '#N/A'"
    (a review: a failed lookup above read as a misspelt id)."""

    def __init__(self, name: str, value: str):
        NapkinError.__init__(self, f"{name} holds the error {value}: fix the cell it comes from")
        self.name, self.requirement, self.value = name, "not an error value", value


class ShapeError(NapkinError):
    """Ranges whose shapes do not broadcast against each other."""

    def __init__(self, shapes: dict):
        self.shapes = dict(shapes)
        shown = ", ".join(f"{k} {r}x{c}" for k, (r, c) in self.shapes.items())
        super().__init__(f"ranges do not match: {shown}; use one row, one column or equal sizes")


class CatalogError(NapkinError):
    """A catalog file or spec string that cannot be read."""


class CannotRunError(NapkinError):
    """A configuration that cannot run (it does not fit, its heads do not split over the GPUs,
    its context is beyond the model's maximum), where a function must have one that can: the
    message is :func:`xlnapkin.memory.why_not`'s. Speed functions return that message in the
    cell instead; the command line exits 3 for both."""
