"""The ``xlnapkin`` command line (also ``python -m xlnapkin``).

Every Excel function is a command: the name in lower case with hyphens, the same arguments in the
same order (``xlnapkin tokens-per-sec h100-sxm llama-3.1-70b --batch 64``). Besides those:
``catalog``, ``templates build``, ``recalc``, ``docs``, ``excel`` and ``lite``.

The commands translate and print; the work is done by the library. A user's mistake (an unknown
GPU, a negative batch, a missing file) is one line ``Error: ...`` on stderr and exit code 1; a
command line argparse cannot read is ``Error: ...`` and exit code 2. Progress goes to stderr, so
stdout holds only the result (plain text, ``--json`` or ``--csv``).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from . import __version__
from ._excel import command_name, describe
from ._formula import format_number, to_command, to_formula
from .errors import NapkinError

__all__ = ["main", "build_parser", "call", "UsageError"]

_UNSET = object()
_LIST_HELP = """\
Optional arguments may be given by position, in the Excel order, or as --name VALUE; "" is a
blank (the default). A comma-separated value is a sweep: the first one runs down a column, a
second one across a row (--batch 1,8,64 --context 1024,8192 gives a 3 x 2 table)."""


class UsageError(NapkinError):
    """A command line that is well formed but asks for something impossible."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``Error: ...`` and a pointer to ``--help``."""

    def error(self, message):
        self.exit(2, f"Error: {message} (see `{self.prog} --help`)\n")


_FORMATTER = argparse.RawDescriptionHelpFormatter


# --- calling an Excel function ------------------------------------------------------------------

def call(func, *args):
    """Evaluate an Excel function as Excel would, except that a :class:`NapkinError` raises
    instead of becoming the cell's text (the boundary's ``evaluate``; see ``xlnapkin._excel``)."""
    return func.evaluate(*args)


def _split(value):
    """A command-line value -> a blank (None), one value, or a list (a sweep)."""
    if value is None or value == "":
        return None
    if "," in value:
        return [v.strip() for v in value.split(",")]
    return value


def _run_function(doc, func, ns) -> int:
    values = []
    for a in doc.arguments:
        if a.required:
            values.append(getattr(ns, a.name))
            continue
        by_position = getattr(ns, f"pos_{a.name}")
        by_name = getattr(ns, f"opt_{a.name}")
        if by_position is not _UNSET and by_name is not _UNSET:
            raise UsageError(f"{a.name} given twice: {by_position!r} by position and "
                             f"{by_name!r} as --{a.name.replace('_', '-')}")
        values.append(by_name if by_name is not _UNSET else by_position)
    while values and values[-1] is _UNSET:
        values.pop()
    args = [None if v is _UNSET else _split(v) for v in values]
    sweeps = [i for i, v in enumerate(args) if isinstance(v, list)]
    if len(sweeps) > 2:
        names = ", ".join(doc.arguments[i].name for i in sweeps)
        raise UsageError(f"at most two arguments can be lists (a column and a row), got "
                         f"{len(sweeps)}: {names}")
    if sweeps:
        args[sweeps[0]] = [[v] for v in args[sweeps[0]]]
    if len(sweeps) == 2:
        args[sweeps[1]] = [list(args[sweeps[1]])]
    result = call(func, *args)
    axes = [(doc.arguments[i].name, values[i].split(",")) for i in sweeps]
    _print_result(doc, result, axes, ns.json)
    return 0


def _json_value(v):
    return None if v == "" else v


def _print_result(doc, result, axes, as_json: bool) -> None:
    if not isinstance(result, list):
        if as_json:
            print(json.dumps(_json_value(result)))
        else:
            print(_plain(result))
        return
    rows = [r if isinstance(r, list) else [r] for r in result]
    if len(axes) == 1:
        column = [r[0] for r in rows]
        if as_json:
            print(json.dumps([_json_value(v) for v in column]))
        else:
            name, labels = axes[0]
            _footnoted([[name, command_name(doc.name)]]
                       + [[lab.strip(), _plain(v)] for lab, v in zip(labels, column)])
        return
    if as_json:
        print(json.dumps([[_json_value(v) for v in r] for r in rows]))
        return
    if len(axes) == 2:
        (down, down_labels), (across, across_labels) = axes
        table = [[f"{down} \\ {across}"] + [lab.strip() for lab in across_labels]]
        table += [[lab.strip()] + [_plain(v) for v in r] for lab, r in zip(down_labels, rows)]
        _footnoted(table)
    else:
        _print_table([[_plain(v, clip=40) for v in r] for r in rows])


def _plain(value, clip: int | None = None) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return format_number(value)
    text = "" if value is None else str(value)
    if clip and len(text) > clip:
        text = text[:clip - 1] + "…"
    return text


def _footnoted(rows, header_rows: int = 1):
    """Long texts in a result table (a configuration that does not fit) -> ``(1)`` markers,
    with the texts listed below the table."""
    notes: dict[str, int] = {}
    out = [list(r) for r in rows[:header_rows]]
    for r in rows[header_rows:]:
        row = []
        for i, c in enumerate(r):
            if i > 0 and isinstance(c, str) and len(c) > 24:
                c = f"({notes.setdefault(c, len(notes) + 1)})"
            row.append(c)
        out.append(row)
    _print_table(out)
    for text, n in notes.items():
        print(f"({n}) {text}")


def _print_table(rows) -> None:
    widths = [max(len(str(r[i])) for r in rows if i < len(r)) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())


def _function_help(doc) -> str:
    lines = [doc.summary, "", f"In Excel: ={doc.signature}"]
    if doc.notes:
        lines += ["", *doc.notes]
    return "\n".join(lines)


def _function_epilog(doc) -> str:
    params = [a.name for a in doc.arguments]
    lines = []
    for ex in doc.examples[:2]:
        lines.append(f"  $ {to_command(doc.name, ex.args, params)}")
        lines.append(f"    (in Excel: {to_formula(doc.name, ex.args, ex.sources)})")
    head = "example:" if len(lines) == 2 else "examples:"
    out = ([head] + lines + [""]) if lines else []
    return "\n".join(out + [_LIST_HELP]) if doc.arguments else "\n".join(out)


def _esc(text: str) -> str:
    return text.replace("%", "%%")


def _add_function(sub, doc, func):
    p = sub.add_parser(command_name(doc.name), help=_esc(doc.summary),
                       description=_esc(_function_help(doc)), epilog=_esc(_function_epilog(doc)),
                       formatter_class=_FORMATTER)
    named = p.add_argument_group("the same optional arguments by name")
    for a in doc.arguments:
        unit = f" [{a.unit}]" if a.unit else ""
        text = _esc(f"{a.description}{unit}")
        if a.required:
            p.add_argument(a.name, help=text)
            continue
        p.add_argument(f"pos_{a.name}", metavar=a.name, nargs="?", default=_UNSET,
                       help=f"{text} (default: {_esc(a.default_text)})")
        named.add_argument("--" + a.name.replace("_", "-"), dest=f"opt_{a.name}",
                           metavar="VALUE", default=_UNSET, help=f"= {a.name}")
    p.add_argument("--json", action="store_true", help="print JSON (numbers as numbers, "
                                                       "sweeps and tables as lists)")
    p.set_defaults(func=lambda ns, d=doc, f=func: _run_function(d, f, ns))
    return p


# --- catalog ------------------------------------------------------------------------------------

_KINDS = {"gpus": "gpu", "models": "model", "prices": "price"}
_LONG_TEXT = 60


def _run_catalog(ns) -> int:
    from . import catalog
    table = catalog.table(_KINDS[ns.kind])
    header, rows = table[0], table[1:]
    if ns.columns:
        wanted = [c.strip() for c in ns.columns.split(",") if c.strip()]
        unknown = [c for c in wanted if c not in header]
        if unknown:
            raise UsageError(f"unknown column {unknown[0]!r} for {ns.kind}: columns are "
                             + ", ".join(header))
        keep = [header.index(c) for c in wanted]
    elif ns.json or ns.csv:
        keep = list(range(len(header)))
    else:  # long free text (sources, notes) would make the table unreadable
        keep = [i for i in range(len(header))
                if max((len(str(r[i])) for r in rows), default=0) <= _LONG_TEXT]
        hidden = [header[i] for i in range(len(header)) if i not in keep]
        if hidden:
            print(f"({', '.join(hidden)} not shown: use --csv, --json or --columns)",
                  file=sys.stderr)
    header = [header[i] for i in keep]
    rows = [[r[i] for i in keep] for r in rows]
    if ns.json:
        print(json.dumps([{k: _json_value(v) for k, v in zip(header, r)} for r in rows],
                         indent=1))
    elif ns.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    else:
        _print_table([header] + [[_plain(v) for v in r] for r in rows])
    return 0


def _add_catalog(sub):
    p = sub.add_parser(
        "catalog", help="list the GPU, model or API-price catalog",
        description="List a catalog: the package's rows plus any from the user catalog folder "
                    "named by XLNAPKIN_CATALOG. The plain table leaves out long text columns "
                    "(sources, notes); --csv and --json have every column.",
        epilog="examples:\n  $ xlnapkin catalog gpus\n  $ xlnapkin catalog models --csv > "
               "models.csv\n  $ xlnapkin catalog prices --columns id,input_usd_per_mtok,"
               "output_usd_per_mtok",
        formatter_class=_FORMATTER)
    p.add_argument("kind", choices=list(_KINDS), help="which catalog")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print a JSON list of objects")
    fmt.add_argument("--csv", action="store_true", help="print CSV with a header row")
    p.add_argument("--columns", metavar="A,B,...", help="only these columns, in this order")
    p.set_defaults(func=_run_catalog)


# --- templates ----------------------------------------------------------------------------------

def _run_templates_build(ns) -> int:
    try:
        from .templates import build_all
    except ImportError as exc:
        raise UsageError(f"the template builders are not available ({exc})") from None
    import shutil
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        built = build_all(tmp)
        targets = [(path, ns.out / path.name) for path in built]
        edited = [t for p, t in targets if t.exists() and t.read_bytes() != p.read_bytes()]
        if edited and not ns.force:  # SPEC §7: never overwrite a user's workbook unasked
            raise UsageError(f"{edited[0]} differs from the template (edited, or built by another "
                             "version): use --force to replace it")
        ns.out.mkdir(parents=True, exist_ok=True)
        for path, target in targets:
            if target.exists() and target.read_bytes() == path.read_bytes():
                print(f"unchanged {target}")
            else:
                shutil.copyfile(path, target)
                print(f"wrote {target}")
    return 0


def _add_templates(sub):
    p = sub.add_parser("templates", help="build the template workbooks",
                       description="Build the template workbooks (self-host breakeven, "
                                   "multi-tenant savings, capacity planner) and the functions "
                                   "showcase.",
                       epilog="example:\n  $ xlnapkin templates build --out workbooks",
                       formatter_class=_FORMATTER)
    tsub = p.add_subparsers(dest="templates_command", metavar="{build}", required=True)
    b = tsub.add_parser("build", help="write the template workbooks into a folder",
                        description="Write the template workbooks (.xlsx) into a folder. A "
                                    "file there that differs from the fresh build is replaced "
                                    "only with --force.",
                        epilog="example:\n  $ xlnapkin templates build --out workbooks",
                        formatter_class=_FORMATTER)
    b.add_argument("--out", type=Path, default=Path("workbooks"), metavar="DIR",
                   help="folder to write into (default: %(default)s)")
    b.add_argument("--force", action="store_true",
                   help="replace workbooks that differ from the fresh build")
    b.set_defaults(func=_run_templates_build)


# --- recalc -------------------------------------------------------------------------------------

def _parse_set(text: str):
    from .recalc import parse_value
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise UsageError(f"--set needs NAME=VALUE, got {text!r}")
    return name.strip(), parse_value(value)


def _run_recalc(ns) -> int:
    from .recalc import Workbook
    source = Path(ns.workbook)
    inputs = dict(_parse_set(s) for s in ns.set)
    if ns.in_place and ns.out:
        raise UsageError("give either --out or --in-place, not both")
    target = source if ns.in_place else ns.out
    if ns.out is not None and _same_file(ns.out, source):
        raise UsageError(f"--out {ns.out} is the input workbook; use --in-place to overwrite it")
    if ns.out is not None and ns.out.exists() and not ns.force:
        raise UsageError(f"{ns.out} already exists; use --force to overwrite it")

    def progress(line):
        if not ns.quiet:
            print(line, file=sys.stderr, flush=True)

    wb = Workbook(source, progress=progress)
    wb.calculate(inputs)
    values = wb.values(ns.name or None)
    if target is not None:
        wb.save(target, overwrite=True)
        progress(f"wrote {target}")
    if ns.json:
        print(_json_object(values))
    elif values:
        width = max(len(k) for k in values)
        for name, value in values.items():
            if isinstance(value, list):
                print(name)
                _print_table([[_plain(v, clip=60) for v in row] for row in value])
            else:
                print(f"{name.ljust(width)}  {_plain(value)}")
    else:
        progress(f"{source} has no defined names: ask for cells with --name Sheet1!B3")
    return 0


def _json_object(values: dict) -> str:
    """A JSON object with one name per line (tables stay on their line)."""
    if not values:
        return "{}"
    body = ",\n".join(f" {json.dumps(k)}: {json.dumps(v, default=str)}"
                      for k, v in values.items())
    return "{\n" + body + "\n}"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _add_recalc(sub):
    p = sub.add_parser(
        "recalc", help="recalculate a workbook without Excel and print its named values",
        description="Recalculate a workbook headlessly (with the formulas package; "
                    "pip install \"xlnapkin[recalc]\"), including cells that call xlnapkin's "
                    "functions, and print the value of every defined name (or of the --name "
                    "ones). The input file is never changed unless --in-place is given.",
        epilog="examples:\n"
               "  $ xlnapkin recalc workbooks/functions_showcase.xlsx\n"
               "  $ xlnapkin recalc workbooks/functions_showcase.xlsx --set batch=64 "
               "--set gpu=b200 --name replica_tokens_per_sec --json\n"
               "  $ xlnapkin recalc workbooks/functions_showcase.xlsx --set model=llama-3.1-8b "
               "--out showcase-8b.xlsx\n\n"
               "NAME is a defined name or a cell reference (Sheet1!B3, or B3 on the first "
               "sheet).\nVALUE is a number, TRUE/FALSE, text (\"12\" in quotes stays text) or "
               "empty for a blank.",
        formatter_class=_FORMATTER)
    p.add_argument("workbook", metavar="WORKBOOK", help=".xlsx or .xlsm file")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="set an input cell before recalculating (repeatable)")
    p.add_argument("--name", action="append", default=[], metavar="NAME",
                   help="print only these names or cells (repeatable)")
    p.add_argument("--out", type=Path, metavar="FILE",
                   help="save the recalculated workbook here")
    p.add_argument("--in-place", action="store_true",
                   help="save the recalculated workbook over WORKBOOK")
    p.add_argument("--force", action="store_true", help="let --out overwrite an existing file")
    p.add_argument("--json", action="store_true", help="print a JSON object {name: value}")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=_run_recalc)


# --- docs ---------------------------------------------------------------------------------------

def _run_docs(ns) -> int:
    from . import docgen
    if ns.check:
        if not docgen.is_current(ns.out):
            raise UsageError(f"{ns.out} is out of date; run `{docgen.REGENERATE}`")
        print(f"{ns.out} is up to date")
        return 0
    changed = docgen.write(ns.out)
    print(f"{'wrote' if changed else 'unchanged'} {ns.out}")
    return 0


def _add_docs(sub):
    p = sub.add_parser("docs", help="generate docs/reference.md from the functions' docstrings",
                       description="Write the Excel function reference (Markdown) generated "
                                   "from the engine functions' docstrings.",
                       epilog="examples:\n  $ xlnapkin docs\n  $ xlnapkin docs --check",
                       formatter_class=_FORMATTER)
    p.add_argument("--out", type=Path, default=Path("docs") / "reference.md", metavar="FILE",
                   help="file to write (default: %(default)s)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if FILE differs from a fresh generation")
    p.set_defaults(func=_run_docs)


# --- the parser ---------------------------------------------------------------------------------

_DESCRIPTION = """\
Napkin math for LLM serving: every xlnapkin Excel function as a command, plus the catalog,
template workbooks, headless recalculation and Excel set-up.

  $ xlnapkin tokens-per-sec h100-sxm llama-3.1-70b 64 4096 fp8 --num-gpus 2
  $ xlnapkin kv-bytes llama-3.1-70b 1024,8192,131072
  $ xlnapkin recalc workbooks/functions_showcase.xlsx --set batch=64"""

def build_parser():
    """The full parser, and ``{command: parser}`` for the function commands."""
    from . import excel_setup
    from .docgen import functions
    parser = _Parser(prog="xlnapkin", description=_DESCRIPTION, formatter_class=_FORMATTER,
                     epilog="`xlnapkin COMMAND --help` shows a command's arguments, units and "
                            "an example.\nReference: docs/reference.md")
    parser.add_argument("--version", action="version", version=f"xlnapkin {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    _add_catalog(sub)
    _add_templates(sub)
    _add_recalc(sub)
    _add_docs(sub)
    excel_setup.register_cli(sub)
    function_parsers = {}
    for func in functions().values():
        doc = describe(func)
        function_parsers[doc.name.lower().replace("_", "-")] = _add_function(sub, doc, func)
    return parser, function_parsers


def main(argv=None) -> int:
    """Run the command line; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser, function_parsers = build_parser()
        if argv and argv[0] in function_parsers:
            # options and positionals in any order: `tokens-per-sec h100 m --batch 8 4096`
            ns = function_parsers[argv[0]].parse_intermixed_args(argv[1:])
        else:
            ns = parser.parse_args(argv)
        if getattr(ns, "func", None) is None:
            parser.print_help()
            return 0
        return ns.func(ns)
    except NapkinError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `xlnapkin catalog gpus | head`
        sys.stderr.close()
        return 0
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"Error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Error: interrupted", file=sys.stderr)
        return 130
