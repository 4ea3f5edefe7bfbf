"""Reference docs for the Excel functions, generated from their docstrings.

Every function registered in :data:`xlnapkin._excel.REGISTRY` gets a section in
``docs/reference.md``: its summary, a table of its arguments (unit, default, description), any
notes, and each docstring example written as an Excel formula with its result and the matching
``xlnapkin`` command line. Nothing is kept by hand: a function added to ``udfs.py`` appears on the
next run, and ``tests/test_docs.py`` fails while the committed file differs from a fresh one.

Regenerate with ``python -m xlnapkin.docgen`` (or ``xlnapkin docs``) from the repository root.

The helpers that turn a doctest call into a formula (``None`` becomes a blank argument) or a
command line, read a formula back, and print numbers are shared with :mod:`xlnapkin.cli`.

>>> to_formula("KV_BYTES", ["qwen2.5-32b", 200000, None, "fp8"])
'=KV_BYTES("qwen2.5-32b",200000,,"fp8")'
>>> parse_formula('=KV_BYTES("qwen2.5-32b",200000,,"fp8")')
('KV_BYTES', ['qwen2.5-32b', 200000, None, 'fp8'])
>>> format_number(6329.790445069466), format_number(26214400000.0), format_number(0.25)
('6329.79', '26214400000', '0.25')
"""

from __future__ import annotations

import argparse
import ast
import inspect
import math
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["REGENERATE", "DEFAULT_OUT", "Argument", "Example", "FunctionDoc", "functions",
           "describe", "generate", "write", "command_name", "to_formula", "to_command",
           "parse_formula", "format_number", "format_result", "main"]

REGENERATE = "python -m xlnapkin.docgen"
DEFAULT_OUT = Path("docs") / "reference.md"

_UNIT_RE = re.compile(r"\s*\[([^\[\]]+)\]\s*$")
_MISSING = inspect.Parameter.empty


# --- reading a function ------------------------------------------------------------------------

@dataclass(frozen=True)
class Argument:
    """One argument: its doc line split into description and ``[unit]``."""

    name: str
    description: str
    unit: str | None
    required: bool
    default: object = None

    @property
    def default_text(self) -> str:
        if self.required:
            return "required"
        if self.default is None:
            return "blank"
        if isinstance(self.default, str):
            return f'"{self.default}"'
        return format_number(self.default)


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
    name: str
    summary: str
    arguments: tuple
    notes: tuple
    examples: tuple

    @property
    def signature(self) -> str:
        shown = [a.name if a.required else f"[{a.name}]" for a in self.arguments]
        return f"{self.name}({', '.join(shown)})"


def functions() -> dict:
    """The Excel functions, ``{NAME: function}``, in definition order."""
    from . import udfs  # noqa: F401  (registers them)
    from ._excel import REGISTRY
    return dict(REGISTRY)


def command_name(name: str) -> str:
    """``TOKENS_PER_SEC`` -> ``tokens-per-sec``."""
    return name.lower().replace("_", "-")


def _signature(func) -> inspect.Signature:
    return inspect.signature(inspect.unwrap(func))


def describe(name: str, func) -> FunctionDoc:
    """Read one Excel function's docstring and signature."""
    from ._excel import parse_docstring
    doc = inspect.getdoc(inspect.unwrap(func)) or inspect.getdoc(func) or ""
    parsed = parse_docstring(doc)
    arguments = []
    for p in _signature(func).parameters.values():
        line = parsed.args.get(p.name, "")
        m = _UNIT_RE.search(line)
        unit = m.group(1).strip() if m else None
        text = line[:m.start()].strip() if m else line.strip()
        required = p.default is _MISSING
        arguments.append(Argument(p.name, text, unit, required, None if required else p.default))
    return FunctionDoc(name, parsed.summary, tuple(arguments), tuple(_notes(doc)),
                       tuple(_examples(name, doc)))


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


def _examples(name: str, doc: str) -> list[Example]:
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
        example = _read_example(name, "\n".join(source), "\n".join(want))
        if example is not None:
            found.append(example)
    return found


def _read_example(name: str, source: str, want: str) -> Example | None:
    """The call of ``name`` in a doctest line: ``F(...)``, ``F(...)[0]``, ``F(...) == x``,
    ``round(F(...))``."""
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError:
        return None
    plain = True
    while not _is_call_of(tree, name):
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
        args = tuple(_literal(a) for a in tree.args)
    except ValueError:
        return None
    sources = tuple(ast.get_source_segment(source, a) or ast.unparse(a) for a in tree.args)
    return Example(source, want, args, sources, plain)


_WRAPPERS = {"round", "float", "int", "abs", "len", "str", "list", "sorted", "sum", "max", "min"}


def _is_call_of(node, name: str) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == name)


_OPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
        ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
        ast.Pow: lambda a, b: a ** b}


def _literal(node):
    """A constant, a list, or arithmetic on numbers; anything else raises ValueError."""
    if isinstance(node, ast.Constant) and (node.value is None or
                                           isinstance(node.value, (str, int, float, bool))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _literal(node.left), _literal(node.right)
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right)):
            return _OPS[type(node.op)](left, right)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e) for e in node.elts]
    raise ValueError(ast.unparse(node))


# --- formulas and command lines ----------------------------------------------------------------

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
    if source is not None and re.fullmatch(r"[\d.eE+\-*/ ]+", source):
        return source.replace(" ", "").replace("**", "^")  # Excel reads 1/1.2 as Python does
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
    if re.fullmatch(r"[\d.eE+\-*/^ ]+", text):
        try:
            value = _literal(ast.parse(text.replace("^", "**"), mode="eval").body)
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


# --- the document ------------------------------------------------------------------------------

_HEADER = """\
# Excel function reference

<!-- Generated by `{regen}` from the docstrings in xlnapkin/udfs.py. Do not edit by hand:
     tests/test_docs.py fails while this file differs from a fresh generation. -->

Every function below works in Excel (classic xlwings on Windows, or xlwings Lite on Windows,
macOS and the web; see [getting started for analysts](getting-started-analyst.md)), from the shell
as `xlnapkin <command>` and from Python as `xlnapkin.udfs.NAME(...)`.

* **Optional arguments** are in brackets. Leave them out or blank (`,,`) to get the default.
* **Any argument can be a range.** Ranges broadcast like NumPy and the result spills:
  `=TOKENS_PER_SEC(A2:A9,"llama-3.1-70b",B1:K1)` is a GPU x batch table. On the command line, a
  comma-separated value (`--batch 1,8,64`) is a column; a second one is a row.
* **Units** are in brackets after each argument: `[id]` a catalog id or spec string, `[dtype]` an
  element type (`bf16`, `fp8`, `int4`, `nvfp4`, `q4_k_m`, ... or bits per element), `[0-1]` a
  fraction. Bytes are bytes (1 GB = 1e9 bytes).
* **Errors** are short messages naming the argument, e.g. `batch must be a whole number >= 1,
  got -3`; a configuration whose weights and KV cache do not fit says what would.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _section(doc: FunctionDoc, func) -> list[str]:
    out = [f"## {doc.name}", "", f"`{doc.signature}`", "", doc.summary, ""]
    if doc.arguments:
        out += ["| argument | unit | default | description |", "|---|---|---|---|"]
        for a in doc.arguments:
            out.append(f"| `{a.name}` | {_cell(a.unit or '')} | {_cell(a.default_text)} | "
                       f"{_cell(a.description)} |")
        out.append("")
    else:
        out += ["No arguments.", ""]
    for note in doc.notes:
        out += [note, ""]
    if doc.examples:
        params = [a.name for a in doc.arguments]
        out += ["| Excel formula | result |", "|---|---|"]
        commands = []
        for ex in doc.examples:
            formula = to_formula(doc.name, ex.args, ex.sources)
            result = format_result(func(*ex.args))
            out.append(f"| `{_cell(formula)}` | `{_cell(result)}` |")
            command = to_command(doc.name, ex.args, params)
            if command not in commands:
                commands.append(command)
        out += ["", "```console"] + [f"$ {c}" for c in commands] + ["```", ""]
    return out


def generate() -> str:
    """The text of ``docs/reference.md`` for the functions registered now.

    Examples are computed from the package's own catalog: a user catalog named by
    ``XLNAPKIN_CATALOG`` is ignored while generating.
    """
    from .catalog import USER_CATALOG_ENV
    saved = os.environ.pop(USER_CATALOG_ENV, None)
    try:
        funcs = functions()
        docs = [describe(name, f) for name, f in funcs.items()]
        lines = _HEADER.format(regen=REGENERATE).splitlines() + [""]
        lines += ["| function | returns |", "|---|---|"]
        for d in docs:
            lines.append(f"| [`{d.name}`](#{d.name.lower()}) | {_cell(d.summary)} |")
        lines.append("")
        for d in docs:
            lines += _section(d, funcs[d.name])
    finally:
        if saved is not None:
            os.environ[USER_CATALOG_ENV] = saved
    return "\n".join(lines).rstrip("\n") + "\n"


def write(out: Path = DEFAULT_OUT) -> bool:
    """Write the reference to ``out``; return whether the file changed."""
    out = Path(out)
    text = generate()
    try:
        if out.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(text.encode("utf-8"))
    return True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="FILE",
                        help="file to write (default: %(default)s)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if FILE differs from a fresh generation")


def run(args) -> int:
    """Write (or with ``--check`` compare) the reference; the exit code."""
    if args.check:
        try:
            current = Path(args.out).read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        if current != generate():
            print(f"Error: {args.out} is out of date; run `{REGENERATE}`", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    changed = write(args.out)
    print(f"{'wrote' if changed else 'unchanged'} {args.out}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m xlnapkin.docgen",
        description="Generate the Excel function reference (docs/reference.md) from the "
                    "docstrings in xlnapkin/udfs.py.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
