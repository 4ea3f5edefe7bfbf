"""How a call is written down: as an Excel formula, as an ``xlnapkin`` command line, and back.

Used by the reference docs, the command line and the showcase workbook. Numbers are printed the
way people read them (:func:`format_number`).

>>> to_formula("KV_BYTES", ["qwen2.5-32b", 200000, None, "fp8"])
'=KV_BYTES("qwen2.5-32b",200000,,"fp8")'
>>> parse_formula('=KV_BYTES("qwen2.5-32b",200000,,"fp8")')
('KV_BYTES', ['qwen2.5-32b', 200000, None, 'fp8'])
>>> to_command("KV_BYTES", ["qwen2.5-32b", 200000, None, "fp8"], ["model", "tokens", "batch", "kv_dtype"])
'xlnapkin kv-bytes qwen2.5-32b 200000 --kv-dtype fp8'
>>> format_number(6329.790445069466), format_number(26214400000.0), format_number(0.25)
('6329.79', '26214400000', '0.25')
"""

from __future__ import annotations

import ast
import math
import re
import shlex


__all__ = ["to_formula", "to_command", "parse_formula", "Reference", "format_number",
           "format_result", "command_name", "literal"]


def _formula_arg(value, source: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    if isinstance(value, list):
        rows = value if value and isinstance(value[0], list) else [value]
        return "{" + ";".join(",".join(_formula_arg(v) for v in row) for row in rows) + "}"
    # Excel reads 1/1.2 as Python does, but not powers (-2^2 is 4 there, 2^3^2 is 64): those
    # are written as their value (a code audit)
    if source is not None and re.fullmatch(r"[\d.eE+\-*/ ]+", source) and "**" not in source:
        return source.replace(" ", "")
    return format(value, "") if isinstance(value, int) else repr(float(value))


def to_formula(name: str, args, sources=None) -> str:
    """An Excel formula calling ``name``; ``None`` is a blank argument (trailing ones dropped)."""
    args = list(args)
    sources = list(sources) if sources is not None else [None] * len(args)
    while args and args[-1] is None:
        args.pop()
        sources.pop()
    return f"={name}(" + ",".join(_formula_arg(a, s) for a, s in zip(args, sources)) + ")"


def _cli_value(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(_cli_value(v) for v in value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def to_command(name: str, args, params) -> str:
    """The ``xlnapkin`` command line for a call: arguments by position until the first blank,
    then by ``--name``; trailing blanks dropped."""
    words = ["xlnapkin", command_name(name)]
    by_name = False
    for value, param in zip(args, params):
        if value is None:
            by_name = True
            continue
        text = shlex.quote(_cli_value(value))
        if by_name:
            words += ["--" + param.replace("_", "-"), text]
        else:
            words.append(text)
    return " ".join(words)


_TOKEN_RE = re.compile(r'\s*(?:"(?P<str>(?:[^"]|"")*)"|(?P<sep>[,;(){}])|(?P<atom>[^,;(){}"]+))')


class Reference(str):
    """A cell reference, range or defined name in a parsed formula (``A1``, ``$B$2:C9``)."""


def parse_formula(text: str):
    """``'=NAME(a,b,,"c")'`` -> ``('NAME', [a, b, None, 'c'])``.

    Arguments are text, numbers (arithmetic such as ``1/1.2`` is worked out), blanks (``None``),
    ``TRUE``/``FALSE``, array constants (``{1,2;3,4}`` -> lists of rows) or references (returned
    as :class:`Reference`). Raises ValueError for anything else.
    """
    m = re.fullmatch(r"\s*=\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\((.*)\)\s*", text, re.S)
    if not m:
        raise ValueError(f"not a single function call: {text!r}")
    name, body = m.group(1).upper(), m.group(2)
    tokens = []
    pos = 0
    while pos < len(body):
        t = _TOKEN_RE.match(body, pos)
        if not t or t.end() == pos:
            raise ValueError(f"cannot read {body[pos:]!r}")
        tokens.append(t)
        pos = t.end()
    args, current, depth, array = [], None, 0, None
    for t in tokens:
        sep = t.group("sep")
        if sep == "," and depth == 0:
            args.append(current)
            current = None
        elif sep == "{":
            depth, array, row = 1, [], []
        elif sep in (",", ";") and depth == 1:
            row.append(current)
            current = None
            if sep == ";":
                array.append(row)
                row = []
        elif sep == "}":
            row.append(current)
            array.append(row)
            depth, current = 0, array if len(array) > 1 else array[0]
        elif sep in ("(", ")"):
            raise ValueError(f"nested calls are not supported: {text!r}")
        elif t.group("str") is not None:
            current = t.group("str").replace('""', '"')
        else:
            current = _atom(t.group("atom").strip())
    if tokens or body.strip():
        args.append(current)
    return name, args


def _atom(text: str):
    if text.upper() in ("TRUE", "FALSE"):
        return text.upper() == "TRUE"
    if re.fullmatch(r"[\d.eE+\-*/ ]+", text) and "**" not in text:  # no powers: see above
        try:
            value = literal(ast.parse(text, mode="eval").body)
            if isinstance(value, (int, float)):
                return value
        except (SyntaxError, ValueError):
            pass
    if re.fullmatch(r"(?:'[^']+'!|[A-Za-z_][\w.]*!)?[A-Za-z_$][\w$:.]*", text):
        return Reference(text)
    raise ValueError(f"cannot read {text!r}")


def format_number(value) -> str:
    """A number as people read it: whole numbers exactly, others to 7 significant digits."""
    v = float(value)
    if not math.isfinite(v):
        return str(v)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if 1e6 <= abs(v) < 1e15:
        return f"{v:.0f}"
    return f"{v:.7g}"


def format_result(value) -> str:
    """One line for a result in the docs: a number, a text, or a table's shape and header."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return format_number(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        rows = [r if isinstance(r, list) else [r] for r in value]
        if rows and all(isinstance(c, str) and c for c in rows[0]) and len(rows) > 2:
            return "a table with a header row: " + ", ".join(rows[0])
        return "{" + ";".join(",".join(format_result(c) for c in r) for r in rows) + "}"
    return str(value)


def command_name(name: str) -> str:
    """``TOKENS_PER_SEC`` -> ``tokens-per-sec``."""
    return name.lower().replace("_", "-")


_OPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
        ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
        ast.Pow: lambda a, b: a ** b}


def literal(node):
    """A constant, a list, or arithmetic on numbers; anything else raises ValueError."""
    if isinstance(node, ast.Constant) and (node.value is None or
                                           isinstance(node.value, (str, int, float, bool))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = literal(node.operand)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = literal(node.left), literal(node.right)
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right)):
            return _OPS[type(node.op)](left, right)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [literal(e) for e in node.elts]
    raise ValueError(ast.unparse(node))
