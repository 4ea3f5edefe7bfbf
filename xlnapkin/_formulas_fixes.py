"""Excel's rule where the ``formulas`` package calculates otherwise, for ``xlnapkin recalc``.

A recalculation that differs from Excel's misleads without a word, so each rule here was found
by calculating the same formulas with both (two fidelity audits: some 900 formulas against
LibreOffice, with Excel's documented behaviour where the two differ):

* ``ISNUMBER`` is TRUE for a number alone (formulas: any text Python's ``float`` reads, so a
  template's check passed a cell typed ``nan`` on to arithmetic that gave ``#VALUE!``);
* ``N`` of TRUE is 1 (formulas: TRUE, which is more than any number);
* a unary ``--`` converts to a number (formulas reads a run of signs by its parity, ``--`` as
  ``+``, so ``SUMPRODUCT(--(A1:A9>5))`` was 0);
* ``^`` gives ``#NUM!`` for a negative number to a fractional power and for ``0^0``, and
  ``#DIV/0!`` for ``0`` to a negative one (formulas: a complex number, which stopped ``--out``);
* ``IRR`` takes a reference's numbers alone (formulas: a blank as a cash flow of 0, text such
  as "60" as its number);
* ``ROUND``, ``ROUNDUP`` and ``ROUNDDOWN`` round the number as Excel stores it, to 15
  significant digits (formulas: ``ROUND(1.005, 2)`` was 1, Excel's 1.01);
* a number joined to text with ``&`` (or read by a text function) has at most 15 significant
  digits, in Excel's notation from 1E+15 and below 0.00001 (formulas: ``"x"&(0.1+0.2)`` was
  ``x0.30000000000000004``, ``"x"&1E+16`` seventeen digits);
* ``TRIM`` makes a run of spaces inside one (formulas: ends only, so a model typed with two
  spaces was looked up otherwise than in Excel); ``CEILING.MATH`` and ``FLOOR.MATH`` keep a
  negative number's sign (formulas: ``CEILING.MATH(-2.1)`` was 3);
* the criteria ``"<>..."`` count every cell not equal to what follows, numbers and blanks
  included, and ``"<>"`` every cell not blank (formulas counted only cells of the criterion's
  own type, and ``COUNTIF(A1:A9,"<>")`` counted none); a wildcard criterion (``"a?"``,
  ``"*"``) matches a whole text cell, not its start, and no blank;
* ``CEILING``, ``FLOOR`` and ``MROUND`` count steps of the 15 digits Excel stores, ``MROUND``'s
  halves away from zero (formulas: ``FLOOR(0.3,0.1)`` was 0.2, ``MROUND(2.5,1)`` 2);
* ``VALUE`` reads "1,234", "$5", "50%" and "(5)" as Excel does (formulas: "2,000" was a date
  this year, the others errors);
* text that Python's ``float`` reads and Excel does not ("1_000", "nan", "inf", digits of
  other scripts) stays text where the operators, the numeric functions and the criteria
  convert it: ``="1_000"*1`` is ``#VALUE!``, and ``COUNTIF`` with the criterion "nan" counts
  the cells that hold that text (formulas: 1000, and no cell; a hardening review). DATE, TIME,
  REPT, LEFT, MID and INDEX read whole numbers with Python's ``int`` and still take "1_0" as 10,
  and TEXT formats "1_234" as a number;
* ``ISEVEN`` and ``ISODD`` of text that is no number are ``#VALUE!`` (formulas: an exception
  that stopped the whole recalculation);
* ``TEXT`` rounds a half away from zero, of the 15 digits Excel stores, in fixed decimals and
  in a scientific format's mantissa (formulas: to even, so ``TEXT(0.3125,"0.0%")`` was 31.2%,
  where the cell's own format showed 31.3%, and ``TEXT(1250,"0.0E+00")`` 1.2E+03: reviews).

Where formulas lacks a function (``OFFSET``, ``QUOTIENT``) the cell is ``#NAME?``, as a reader
can see. :func:`module_rules` changes formulas' own modules (operators, text, criteria) and is
called once they are imported; :func:`table_rules` its function table.
"""

from __future__ import annotations

import decimal
import functools
import math
import re

__all__ = ["module_rules", "table_rules"]

_DONE = "xlnapkin_rules"


def _excel_digits(value) -> float:
    """A number as Excel stores it: 15 significant digits."""
    return float(f"{value:.15g}")


def _snapped(value) -> float:
    """A step count or a result to 15 digits where that keeps its units (below 1e14): 0.3 /
    0.1 is 2.9999999999999996, 3 steps as Excel counts them; 2^50 + 0.5 steps stay as they
    are. NaN where it is not finite (an overflow: ``#NUM!``)."""
    if not math.isfinite(value):
        return float("nan")
    return _excel_digits(value) if abs(value) < 1e14 else value


def _python_only_number(text: str) -> bool:
    """Whether ``text`` is a number to Python's ``float`` alone: digit groups joined by "_",
    "nan", "inf" or "infinity", digits of another script."""
    return ("_" in text or text.strip().lower().lstrip("+-") in ("nan", "inf", "infinity")
            or any(c.isdigit() and c not in "0123456789" for c in text))


class _Text(str):
    """Text that must stay text: ``float`` or ``int`` of it fails, as Excel's conversion
    does."""

    def __float__(self):
        raise ValueError(str(self))

    __int__ = __float__


def _excel_text2num(original):
    """formulas' conversion of text to a number, less what Python alone reads as one."""
    def text2num(value):
        if isinstance(value, str) and not isinstance(value, _Text) \
                and _python_only_number(value):
            return _Text(value)
        return original(value)
    setattr(text2num, _DONE, True)
    return text2num


def _excel_float(value=0.0) -> float:
    """``float`` as formulas' core module calls it (its operators and numeric functions take
    their arguments through it), refusing what Python alone reads as a number."""
    if isinstance(value, str) and _python_only_number(value):
        raise ValueError(value)
    return float(value)


def _numbers_in_text() -> None:
    """:func:`_excel_text2num` wherever formulas converts text (its modules import the
    function by name; the vectorised form caches it), and :func:`_excel_float` for the
    ``float`` its core module calls on arguments (never as a type there)."""
    from formulas import functions
    from formulas.functions import financial, info, look, stat, text
    original = functions._text2num
    if getattr(original, _DONE, False):
        return
    excel = _excel_text2num(original)
    for module in (functions, financial, info, look, stat, text):
        if getattr(module, "_text2num", None) is original:
            module._text2num = excel
    functions._text2num_vectorize.cache_clear()
    functions.float = _excel_float


def module_rules() -> None:
    """Excel's rules for the operators, numbers in text and the ``<>`` criteria."""
    from formulas import functions
    from formulas.functions import Error, operators, text
    from formulas.tokens import operator as op
    _numbers_in_text()
    ops = operators.OPERATORS
    minus = ops["U-"]
    ops["U--"] = lambda x: minus(minus(x))  # again where the module was reloaded
    ops["^"] = functions.wrap_ufunc(functools.partial(_power, Error.errors))
    functions.get_functions()["POWER"] = ops["^"]
    if not getattr(text._str, _DONE, False):
        text._str = operators._str = _text_of(text._str)
    if not getattr(text._format_number, _DONE, False):
        text._format_number = _half_away(text._format_number)
    criteria = functions.__dict__["__xfilter"]
    if not getattr(criteria, _DONE, False):
        functions.__dict__["__xfilter"] = _criteria(criteria)
    if getattr(op.OperatorToken.process, _DONE, False):
        return
    process, update_name = op.OperatorToken.process, op.Operator.update_name

    def signs(self, match, context=None, parser=None):
        attr = process(self, match, context=context, parser=parser)
        if attr.get("name") == "+" and "-" in attr.get("sum_minus", ""):
            attr["name"] = "--"  # an even run with a minus: minus twice where it is a sign
        return attr

    def unary(self, tokens, stack):
        if self.name != "--":
            return update_name(self, tokens, stack)
        self.attr["name"] = "-"  # formulas' own rule tells a sign from a subtraction
        update_name(self, tokens, stack)
        self.attr["name"] = "u--" if self.name == "u-" else "+"  # a binary + converts anyway

    op.Operator._precedences["u--"], op.Operator._n_args["u--"] = 7, 1
    setattr(signs, _DONE, True)
    op.OperatorToken.process, op.Operator.update_name = signs, unary


def _power(errors, x, y):
    """Excel's ``x^y``: an odd root of a negative number is real (``(-8)^(1/3)`` is -2, as
    Excel and LibreOffice give it); another fractional power of one is ``#NUM!``."""
    if x == 0 and y <= 0:
        return errors["#NUM!"] if y == 0 else errors["#DIV/0!"]
    try:
        if x < 0 and not float(y).is_integer():
            root = 1.0 / y
            if abs(root - round(root)) > 1e-9 * abs(root) or round(root) % 2 == 0:
                return errors["#NUM!"]
            return -((-x) ** y)
        return x ** y
    except (OverflowError, ZeroDivisionError):
        return errors["#NUM!"]


def _text_of(original):
    def text_of(value):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 1e15:
            value = float(value)
        if isinstance(value, float) and value == value and abs(value) != float("inf"):
            size = abs(value)
            if size >= 1e15 or 0 < size < 1e-5:  # 1.23456789012346E+17, 3.33333333333333E-06
                mantissa, exponent = f"{value:.14E}".split("E")
                return mantissa.rstrip("0").rstrip(".") + "E" + exponent
            if not value.is_integer():  # plain, to 15 significant digits
                places = 14 - math.floor(math.log10(size))
                return f"{value:.{places}f}".rstrip("0") if size < 1e-4 else f"{value:.15g}"
        return original(value)
    setattr(text_of, _DONE, True)
    return text_of


def _half_away(original):
    """formulas' number formatting (``TEXT``'s), its fixed decimals rounded as Excel rounds them:
    a half away from zero, of the number's 15 significant digits: fixed decimals, or a
    scientific format's mantissa (``0.0E+00``). Past 1e15 a fixed format has no fraction to
    round (a review: 1E+30 in the 28 digits of decimal's default context gave #VALUE!), and
    a grouped format's integer part of 0 shown as Excel shows it."""
    def format_number(value, codes, types, fstr, mul):
        fixed = re.fullmatch(r",?\.(\d+)f", fstr)
        science = re.fullmatch(r"\.(\d+)E", fstr)
        scaled = value * mul
        if (fixed or science) and math.isfinite(scaled) and scaled != 0 and (
                science or abs(scaled) < 1e15):
            exact = decimal.Decimal(f"{scaled:.15g}")
            step = (-int(fixed.group(1)) if fixed else
                    exact.adjusted() - int(science.group(1)))  # the mantissa's last digit
            with decimal.localcontext() as context:
                context.prec = 40
                shown = exact.quantize(decimal.Decimal(1).scaleb(step), decimal.ROUND_HALF_UP)
            value = float(shown) / mul
        out = original(value, codes, types, fstr, mul)
        units = types.get("number", ())[-1:]  # the units digit's code (after the sign)
        if fstr.startswith(",") and units and out[units[0] + 1] == "0,":
            # an integer part of 0 left its grouping placeholder: "0,.5" for
            # TEXT(0.5,"#,##0.0") (a CFO's read: the cover's "0,.0 M tokens/day")
            out[units[0] + 1] = "0"
        return out
    setattr(format_number, _DONE, True)
    return format_number


def _criteria(original):
    """formulas' test of one criterion over a range, with Excel's wildcards, ``"<>..."`` and
    ``"="``; every other criterion as formulas tests it."""
    import numpy as np

    from formulas.tokens.operand import XlError

    def criterion(test_range, condition):
        wild = _wildcards(condition)
        if wild is not None:  # a whole text cell, as Excel matches it; a blank is not text,
            return np.vectorize(lambda v: isinstance(v, str) and v != ""  # nor an error
                                and not isinstance(v, XlError) and wild(v),
                                otypes=[bool])(np.asarray(test_range["raw"], object))
        if isinstance(condition, str) and condition.startswith("<>"):
            rest = condition[2:]
            # not blank: formulas' ranges hold a blank as "", so a formula's "" counts as blank
            # here, where Excel counts it for "<>" (not for "=")
            if not rest:
                raw = np.asarray(test_range["raw"], object)
                return np.vectorize(lambda v: not (isinstance(v, str) and v == ""),
                                    otypes=[bool])(raw)
            return ~criterion(test_range, "=" + rest)
        if isinstance(condition, str) and condition == "=":  # blank
            return ~criterion(test_range, "<>")
        return original(test_range, condition)
    setattr(criterion, _DONE, True)
    return criterion


_ONE, _ANY = object(), object()  # a wildcard's ? and *


def _wildcards(condition):
    """Whether a whole cell matches an equality criterion with ``?`` or ``*`` (``~`` escapes
    them), without regard to case; None for any other criterion. formulas' matched the start
    of a cell alone ("a?" took "abc"), took a blank for text, and through a regular expression
    could take hours on a long text ("*a*a*a*a*b"); this takes at most the product of the two
    lengths."""
    if not isinstance(condition, str) or condition.startswith(("<", ">")):
        return None
    body = condition[1:] if condition.startswith("=") else condition
    tokens = []
    for part in re.split(r"(~[?*~]|[?*])", body):
        if part in ("?", "*"):
            tokens.append(_ONE if part == "?" else _ANY)
        else:
            tokens.extend(_fold(part[1:] if part in ("~?", "~*", "~~") else part))
    if _ONE not in tokens and _ANY not in tokens:
        return None
    return functools.partial(_glob, tuple(tokens))


def _fold(text: str) -> str:
    """Lower case a character at a time, each staying one character ("ß" is one, as a ``?``
    counts it; "İ" keeps its case)."""
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _glob(tokens, text: str) -> bool:
    """Whether ``text`` matches ``tokens`` whole: greedy, back to the last ``*`` on a miss."""
    text, t, p, star, mark = _fold(text), 0, 0, -1, 0
    while t < len(text):
        if p < len(tokens) and tokens[p] is not _ANY and (tokens[p] is _ONE
                                                          or tokens[p] == text[t]):
            p, t = p + 1, t + 1
        elif p < len(tokens) and tokens[p] is _ANY:
            star, mark, p = p, t, p + 1
        elif star >= 0:
            p, mark = star + 1, mark + 1
            t = mark
        else:
            return False
    while p < len(tokens) and tokens[p] is _ANY:
        p += 1
    return p == len(tokens)


def table_rules(table) -> None:
    """Excel's ``ISNUMBER``, ``N``, rounding, ``IRR`` and ``TRIM`` in formulas' function table."""
    import numpy as np
    from formulas.functions import Array, Error, info, raise_errors, text, wrap_func
    from formulas.functions import wrap_ranges_func, wrap_ufunc

    def number(value) -> bool:
        return isinstance(value, (int, float, np.number)) and \
            not isinstance(value, (bool, np.bool_))
    table["ISNUMBER"] = wrap_ranges_func(functools.partial(info.iserror, check=number,
                                                           array=info.FalseArray))

    def n(value):
        value = np.asarray(value, object).ravel()[0]
        raise_errors(value)
        out = int(value) if isinstance(value, (bool, np.bool_)) else \
            value if number(value) else 0
        return np.asarray([[out]], object).view(Array)
    table["N"] = wrap_func(n)
    for name, mode in (("ROUND", decimal.ROUND_HALF_UP), ("ROUNDUP", decimal.ROUND_UP),
                       ("ROUNDDOWN", decimal.ROUND_DOWN)):
        table[name] = wrap_ufunc(functools.partial(_round, mode))
    irr = table["IRR"]
    if not getattr(irr, _DONE, False):
        table["IRR"] = _cash_flows(irr, number)
    table["TRIM"] = wrap_ufunc(_trim, **text._kw1)
    for name, rounding in (("CEILING", math.ceil), ("FLOOR", math.floor)):
        to_step = wrap_ufunc(functools.partial(_to_step, rounding))
        for suffix in (".MATH", ".PRECISE"):
            table[name + suffix] = table["_XLFN." + name + suffix] = to_step
        table[name] = wrap_ufunc(functools.partial(_to_multiple, Error.errors, rounding, name))
    table["MROUND"] = wrap_ufunc(_mround)
    table["VALUE"] = wrap_ufunc(_value_of(text.xvalue), input_parser=lambda *a: a)
    for name, odd in (("ISEVEN", False), ("ISODD", True)):
        table[name] = wrap_ranges_func(functools.partial(_even_odd, info.xiseven_odd,
                                                         Error.errors, odd))


def _even_odd(original, errors, odd, number):
    """``ISEVEN``/``ISODD``: ``#VALUE!`` where the argument is text that is no number."""
    try:
        return original(number, odd=odd)
    except (ValueError, TypeError):
        return errors["#VALUE!"]


def _to_multiple(errors, rounding, name, number, significance):
    """Excel's ``CEILING``/``FLOOR``: to a multiple of the significance, which must share a
    positive number's sign; of the 15 digits a step count has (formulas': ``FLOOR(0.3,0.1)``
    was 0.2)."""
    if significance == 0:
        return errors["#DIV/0!"] if name == "FLOOR" else 0.0
    if significance < 0 < number:
        return float("nan")
    return _snapped(rounding(_snapped(number / significance)) * significance) + 0.0


def _mround(number, multiple):
    """Excel's ``MROUND``: to the nearest multiple, halves away from zero, of the 15 digits a
    step count has (formulas' rounded halves to even and did not snap: ``MROUND(1.3,0.2)`` was
    1.2000000000000002, Excel's own example gives 1.4)."""
    if multiple == 0:
        return 0.0
    if number * multiple < 0:
        return float("nan")
    steps = _snapped(number / multiple)
    if steps != steps:
        return steps
    whole = float(decimal.Decimal(repr(steps)).quantize(decimal.Decimal(1),
                                                         rounding=decimal.ROUND_HALF_UP))
    return _snapped(whole * multiple) + 0.0


_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?([eE][+-]?[0-9]+)?"
                      r"|[+-]?[0-9]*\.?[0-9]+([eE][+-]?[0-9]+)?")
# digits, signs and separators with a comma, a space or two signs running: no date (those
# have "/", "-" or a month's name), so no value at all
_NUMBERISH = re.compile(r"(?=.*(?:,| |[+-]{2}))[0-9+\-., ]+")
_TIME = re.compile(r"([0-9]{1,2})(?::([0-9]{2})(?::([0-9]{2}(?:\.[0-9]+)?))?)?"
                   r"\s*([AaPp][Mm])?")


def _value_of(original):
    """``VALUE`` of text as Excel reads it: thousands grouped with commas, a leading $, a
    trailing %, a negative in parentheses, a time of day alone (formulas took "2,000" for 1
    February of this year and "12:00" for noon on 1 January, and refused "$5" and "50%"); a
    date as formulas reads it."""
    from formulas.tokens.operand import XlError

    def value(text):
        if isinstance(text, str) and not isinstance(text, XlError):
            body, sign, scale = text.strip(), 1.0, 1.0
            if body.startswith("(") and body.endswith(")"):
                body, sign = body[1:-1].strip(), -1.0
                if body[:1] in ("+", "-"):
                    raise ValueError(text)  # "(-5)" is no number in Excel
            if body.endswith("%"):
                body, scale = body[:-1].strip(), 0.01
            if body.startswith("$"):
                body = body[1:].strip()
                if sign > 0 and body.startswith("(") and body.endswith(")"):  # "$(5)"
                    body, sign = body[1:-1].strip(), -1.0
            elif body[:2] in ("-$", "+$"):
                body = body[0] + body[2:].strip()
            if _GROUPED.fullmatch(body):
                return sign * float(body.replace(",", "")) * scale
            if body and (scale != 1.0 or sign < 0 or text.strip() != body):
                raise ValueError(text)  # a %, $ or () around what is not a number
            if _python_only_number(text):
                raise ValueError(text)  # what Python's float reads and Excel does not
            if _NUMBERISH.fullmatch(body):  # "1,23", "--5", "1 234": formulas made them dates
                raise ValueError(text)
            clock = _TIME.fullmatch(body)
            if clock and (clock[2] or clock[4]):  # a time of day alone ("12:00", "5 PM") is a
                hours, minutes = int(clock[1]), int(clock[2] or 0)  # share of a day, no date
                seconds = float(clock[3] or 0)
                if minutes > 59 or seconds >= 60:
                    raise ValueError(text)
                if clock[4]:
                    if not 1 <= hours <= 12:
                        raise ValueError(text)
                    hours = hours % 12 + (12 if clock[4].lower() == "pm" else 0)
                return (hours * 3600 + minutes * 60 + seconds) / 86400
        return original(text)
    setattr(value, _DONE, True)
    return value


def _trim(value: str) -> str:
    """Excel's TRIM: spaces off both ends and runs of them inside made one (tabs and line
    breaks stay); formulas' took every kind of white space off the ends alone."""
    return re.sub(" +", " ", value.strip(" "))


def _to_step(rounding, number, significance=None, mode=0):
    """``CEILING.MATH``/``FLOOR.MATH`` (and ``.PRECISE``): to a multiple of the significance's
    size (1 when omitted), up (down); a mode other than 0 rounds a negative number away from
    (towards) zero. formulas' dropped the sign where the significance was omitted (-2.1 gave
    3 and 2)."""
    if significance == 0:
        return 0
    step = 1 if significance is None else abs(significance)
    steps = _snapped(number / step)
    if steps != steps:
        return steps
    if mode and number < 0:
        return _snapped(-rounding(abs(steps)) * step) + 0.0
    return _snapped(rounding(steps) * step) + 0.0


def _cash_flows(irr, number):
    """``IRR`` of a reference's numbers alone, as Excel's: formulas took a blank for a cash flow
    of 0 (a year left blank moved the rate) and text such as "60" for its number."""
    import numpy as np
    from formulas.ranges import Ranges
    from formulas.tokens.operand import XlError

    def of_numbers(values, *rest):
        if isinstance(values, Ranges):
            flows = [v for v in np.asarray(values.value, object).ravel()
                     if number(v) or isinstance(v, XlError)]
            error = next((v for v in flows if isinstance(v, XlError)), None)
            if error is not None:  # an error among the cash flows is the answer, as in Excel
                return error
            values = np.asarray([flows], object) if flows else values
        return irr(values, *rest)
    setattr(of_numbers, _DONE, True)
    return of_numbers


def _round(mode, x, digits):
    """Excel's rounding: of the number's 15 significant digits, halves away from zero."""
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError(x)
    with decimal.localcontext() as context:
        context.prec = 400
        step = decimal.Decimal(1).scaleb(-int(digits))
        try:
            rounded = decimal.Decimal(repr(_excel_digits(x))).quantize(step, rounding=mode)
        except decimal.InvalidOperation:  # more digits than a double holds: as it is
            return x
    return float(rounded) + 0.0  # -0.4 rounds to 0, not -0
