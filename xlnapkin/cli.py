"""The ``xlnapkin`` command line (also ``python -m xlnapkin``).

Every Excel function is a command: the name in lower case with hyphens, the same arguments in the
same order (``xlnapkin tokens-per-sec h100-sxm llama-3.1-70b --batch 64``). Besides those:
``catalog``, ``templates build``, ``recalc``, ``docs``, ``excel``, ``lite`` and ``release``.

The commands translate and print; the work is done by the library. Progress goes to stderr, so
stdout holds only the result (plain text, ``--json`` or ``--csv``). Exit codes:

* 0: done, every result is a value;
* 1: a user's mistake (an unknown GPU, a negative batch, a missing file): one line
  ``Error: ...`` on stderr; in a sweep, where some of its values are refused, the table (or
  ``--json``) is printed with those cells' messages, and no error line goes to stderr;
* 2: a command line argparse cannot read: ``Error: ...`` on stderr;
* 3: done, but some results are messages instead of numbers (a configuration that cannot run,
  an overloaded replica, a workbook check that fails). A single such result is ``Error: ...``
  on stderr; in a table the cells carry footnote marks explained below it; with ``--json``
  each is ``{"error": "..."}`` where the number would be.

With ``--json``, an error of code 1 or 3 that is not a sweep's cell is also ``{"error": "..."}``
on stdout, beside its ``Error:`` line on stderr: stdout always holds JSON.

A comma in a value always separates the values of a sweep (``--batch 1,8,64``), so numbers are
written without thousands separators: ``1,000`` is refused, write ``1000``. A sweep that would
also read as one such number (``128,256,512``) is written with a space after each comma
(``"128, 256, 512"``).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import difflib
import io
import json
import math
import os
import re
import sys
import time
import warnings
from glob import escape as glob_escape
from pathlib import Path

from . import __version__
from ._formula import command_name, format_number, to_command, to_formula
from .errors import CannotRunError, NapkinError

__all__ = ["main", "build_parser", "call", "UsageError"]

_UNSET = object()
EXIT_MESSAGES = 3  # the command ran, but some results are messages (cells that cannot run)
_EXIT_HELP = ("Exit codes: 0 done; 1 bad input (in a sweep too, table printed); 2 a bad command "
              "line; 3 a result is a message (it cannot run).")
_LIST_HELP = """\
Optional arguments may be given by position, in the Excel order, or as --name VALUE; "" is a
blank (the default). A comma-separated value is a sweep: the first one runs down a column, a
second one across a row{example}.
""" + _EXIT_HELP


class UsageError(NapkinError):
    """A command line that is well formed but asks for something impossible."""


class BadOptionValue(NapkinError):
    """An option's value that its parser refuses: not a number, or outside the option's
    range."""


class _Once(argparse._StoreAction):
    """An option's value, given once: a second one is refused, not taken over the first (a CLI
    review: `--batch 1 --batch 2` ran at batch 2 and exited 0, where a script building its
    arguments from defaults plus overrides meant one of them)."""

    def __call__(self, parser, namespace, values, option_string=None):
        given = namespace.__dict__.setdefault("_options_given", {})
        if option_string is not None and self.dest in given:
            raise UsageError(f"{option_string} given twice: {_as_typed(given[self.dest])} and "
                             f"{_as_typed(values)}")
        given[self.dest] = values
        super().__call__(parser, namespace, values, option_string)


def _as_typed(value) -> str:
    """An option's value as a person typed it, after argparse's conversion: a path or a text
    quoted, a number plain (a review: "PosixPath('/tmp/x')", "1000000.0")."""
    if isinstance(value, float):
        return f"{value:.15g}"
    return repr(str(value)) if not isinstance(value, (int, bool)) else str(value)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``Error: ...`` and a pointer to ``--help``; an option's
    value is given once (:class:`_Once`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register("action", None, _Once)
        self.register("action", "store", _Once)
        # a negative number in any form a value takes (-2.4e3, -5%, -inf) is a value, not an
        # option; argparse's own pattern knows only -2400 and -2.5
        self._negative_number_matcher = _NEGATIVE

    def error(self, message):
        self.exit(2, f"Error: {message} (see `{self.prog} --help`)\n")

    def _get_value(self, action, arg_string):
        # An option's number that is not one, or out of its range, is bad input (exit 1, and
        # {"error": ...} with --json), as the same value is in a function's arguments (a CLI
        # audit: `estimate --num-gpus 1.5` exited 2 and `--num-gpus 0` 1); argparse's own
        # errors stay a bad command line (2)
        kind = self._registry_get("type", action.type, action.type)
        if not getattr(kind, "checks_a_value", False):
            return super()._get_value(action, arg_string)
        try:
            return kind(arg_string)
        except argparse.ArgumentTypeError as exc:
            raise BadOptionValue(f"{'/'.join(action.option_strings) or action.dest}: {exc}") \
                from None

    def _print_message(self, message, file=None):
        # argparse drops a failed write and exits 0 after --help or --version; an answer on
        # stdout that is lost is the error it is (a full disk: exit 1), while a usage error
        # whose stderr is gone still exits 2, as argparse has it (a review)
        if not message:
            return
        if file is sys.stdout and file is not None:
            file.write(message)
            file.flush()
            return
        with contextlib.suppress(AttributeError, OSError):
            (file or sys.stderr).write(message)
            (file or sys.stderr).flush()


_NUMBER = r"(\d[\d_]*\.?\d*|\.\d+)(e[+-]?\d+)?\s*%?"
# a negative number, or a sweep that starts with one (-1,2 and -5%,-10%)
_NEGATIVE = re.compile(rf"^-({_NUMBER}|inf(inity)?)(\s*,\s*[+-]?({_NUMBER}|inf(inity)?))*$",
                       re.I)


_FORMATTER = argparse.RawDescriptionHelpFormatter


# --- calling an Excel function ------------------------------------------------------------------

def call(func, *args):
    """Evaluate an Excel function as Excel would, except that a :class:`NapkinError` raises
    instead of becoming the cell's text (the boundary's ``evaluate``; see ``xlnapkin._excel``)."""
    return func.evaluate(*args)


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+")


def _split(value, name=""):
    """A command-line value -> a blank (None), one value, or a list (a sweep).

    The rule: a comma always separates the values of a sweep, so write thousands without
    separators (1000). A value that also reads as one number with thousands separators
    ("1,000", "8,192", "128,256,512") is refused rather than guessed; the message shows both
    ways to write what was meant (a space after each comma makes it a sweep)."""
    if value is None or value == "":
        return None
    if "," in value:
        if _THOUSANDS.fullmatch(value.strip()):
            raise UsageError(f"{name or 'a value'} {value!r} reads as one number with "
                             f"thousands separators and as a sweep: write "
                             f"{value.replace(',', '')} for one number, or "
                             f"'{value.replace(',', ', ')}' (a space after each comma) for the "
                             f"sweep")
        values = [v.strip() for v in value.split(",")]
        if "" in values:
            raise UsageError(f"{name or 'a value'} {value!r} has an empty value between "
                             "commas; a sweep lists values, as in 1,8,64")
        return values
    return value


def _run_function(doc, func, ns) -> int:
    values = []
    for i, a in enumerate(doc.arguments, start=1):
        if a.required:
            values.append(getattr(ns, a.name))
            continue
        by_position = getattr(ns, f"pos_{a.name}")
        by_name = getattr(ns, f"opt_{a.name}")
        if by_position is not _UNSET and by_name is not _UNSET:
            raise UsageError(f"{a.name} given twice: {by_position!r} by position and "
                             f"{by_name!r} as --{a.name.replace('_', '-')}")
        values.append(by_name if by_name is not _UNSET else by_position)
        if a.name.endswith("dtype"):
            # a count typed one place too early ("32 4096 2" for 2 GPUs) would run silently
            _bits_notes(a.name, by_position, i)
            _bits_notes(a.name, by_name)
    while values and values[-1] is _UNSET:
        values.pop()
    args = [None if v is _UNSET else _split(v, a.name) for v, a in zip(values, doc.arguments)]
    sweeps = [i for i, v in enumerate(args) if isinstance(v, list)]
    if len(sweeps) > 2:
        names = ", ".join(doc.arguments[i].name for i in sweeps)
        raise UsageError(f"at most two arguments can be lists (a column and a row), got "
                         f"{len(sweeps)}: {names}")
    lists = [args[i] for i in sweeps]
    for i in sweeps:
        _decimal_comma_note(doc.arguments[i], values[i])
    if sweeps:
        args[sweeps[0]] = [[v] for v in args[sweeps[0]]]
    if len(sweeps) == 2:
        args[sweeps[1]] = [list(args[sweeps[1]])]
    from ._excel import MAX_CELLS, refusals  # here: set-up commands must not load xlwings
    cells = math.prod(len(args[i]) * len(args[i][0]) for i in sweeps)
    if cells > MAX_CELLS:  # in a sweep's words, not a range's (a review)
        raise NapkinError(f"the sweep has {cells:,} cells, more than the {MAX_CELLS:,} one "
                          "command computes: sweep fewer values")
    with refusals() as refused:  # cells that refuse one of their values exit 1, as alone
        result = call(func, *args)
    if not func.text_result:
        result = _map_cells(result, lambda c: _option_words(c) if isinstance(c, str) else c)
    elif sweeps:  # text answers: which cells are messages, each cell asked alone
        result = _text_messages(func, args, sweeps, lists, result)
    axes = [(doc.arguments[i].name, values[i].split(",")) for i in sweeps]
    messages = [c for c in _cells(result) if isinstance(c, str) and c
                and (not func.text_result or isinstance(c, _Message))]
    names = [a.name for a in doc.arguments]
    given = dict(zip(names, args))
    at_a_rate = "requests_per_sec" in names or "ttft_ms" in names  # the latency functions
    if messages and not isinstance(result, list):
        if refused:  # a value it refuses, or one so large that the result overflows: exit 1
            raise NapkinError(messages[0])
        if at_a_rate and messages[0].startswith("overloaded"):  # the memory may be why (a
            _slots_note(doc, given)                              # review)
        if doc.name == "REPLICAS_FOR_SLA":  # no rate: another count of GPUs a replica?
            _fleet_note(doc, given, no_count=True)
        # a replica across domains or with copies of its cache says so here too (a review: 405B
        # on 16 H100s missed its TTFT limit by 31 s of cross-node all-reduces, unremarked), where
        # it runs: not beside a "does not fit"
        if messages[0].startswith(("no rate meets", "overloaded")):
            _kv_layout_notes(doc, args)
            _vendor_notes(doc, args)  # AMD's factor may be why (an SLA review)
        raise NoResult(messages[0])  # one configuration that cannot run: stderr, exit 3
    _print_result(doc, result, axes, ns.json, func.text_result, _percentile_said(doc, given))
    if doc.name == "MAX_BATCH" and not isinstance(result, list) and result == 0:
        _why_none_fits(doc, given)  # why, not how the cache would be laid out (a review)
    else:
        _kv_layout_notes(doc, args)  # stderr, so a --json answer on stdout keeps it too
    _vendor_notes(doc, args)
    if "correlation" in names and not doc.name.startswith("DEDICATED"):  # theirs ignore it
        _correlation_note(given.get("correlation"))
    if "percentile" in names and given.get("percentile") in (None, ""):
        _median_note(doc.argument("percentile").default)
    for a in doc.arguments:  # a price per GPU-hour, whatever its name
        if a.unit == "USD/GPU-hour":
            _price_note(a.name, f"argument {names.index(a.name) + 1}", given.get(a.name))
    if at_a_rate:
        _slots_note(doc, given)
    if doc.name == "REPLICAS_FOR_SLA":  # stderr: a --json answer keeps it too (a review)
        _fleet_note(doc, given)
    if func.text_result and result == "" and not ns.json:  # a catalog field left blank
        print("note: the catalog leaves this field blank (not known, or not applicable)",
              file=sys.stderr)
    if refused:
        return 1  # the table is printed: its footnotes say which values are refused
    return EXIT_MESSAGES if messages else 0


_DECIMAL_COMMA = re.compile(r"\d+,\d{1,2}")


def _decimal_comma_note(argument, value) -> None:
    """A note on stderr where a dollar amount reads as a decimal comma ("2,49"): it is the
    sweep of 2 and 49, as every comma is (a CLI review: a European price became a two-row
    table and exit 0)."""
    if argument.unit.startswith("USD") and _DECIMAL_COMMA.fullmatch(value.strip()):
        first, second = value.strip().split(",")
        print(f"note: {argument.name} {value!r} is the sweep of {first} and {second} (a comma "
              f"separates a sweep's values); for one amount write {first}.{second}, for the "
              f"sweep '{first}, {second}'", file=sys.stderr)


# A price per GPU-hour this many times the catalog's dearest rental is likely another argument
# in its place (a platform engineer's review: 8,000 input tokens read as $8,000 an hour)
_PRICE_FAR = 10.0


def _price_note(name, where, value) -> None:
    """A note on stderr where a price per GPU-hour (``name``, ``where`` it was typed) is far
    above every catalog rental price."""
    from ._excel import _number_cell
    from .catalog import gpu, gpu_ids
    numbers = []
    for v in _flat(value):  # a sweep: its largest
        try:
            numbers.append(float(_number_cell(name, None, v)))
        except (NapkinError, TypeError, ValueError):
            continue  # blank, or a value the answer above refuses
    if not numbers:
        return
    value = max(numbers)
    dearest = max(gpu(i).cloud_usd_per_hour or 0.0 for i in gpu_ids())
    if value > _PRICE_FAR * dearest:
        print(f"note: {name} {value:g} is USD per GPU-hour, over {_PRICE_FAR:g} times the "
              f"catalog's dearest rental (${dearest:.2f}): "
              + (f"is another value in its place? (it is {where})" if where else "check it"),
              file=sys.stderr)


def _flat(v) -> list:
    """A nested list's items, in order."""
    return [x for item in v for x in _flat(item)] if isinstance(v, list) else [v]


def _percentile_said(doc, given) -> str:
    """" at percentile P" for a table's heading where the function takes a percentile and it
    is not one of the table's axes (a CLI review: the heading of a p95 sweep did not say so)."""
    names = [a.name for a in doc.arguments]
    p = given.get("percentile")
    if "percentile" not in names or isinstance(p, list):
        return ""
    return f" at percentile {doc.argument('percentile').default:g}" if p in (None, "") else \
        f" at percentile {p}"


def _median_note(default) -> None:
    """A note on stderr where a latency at a rate is taken at its default percentile, the
    median, while the sizing functions default to :data:`~xlnapkin.queueing.SLA_PERCENTILE`
    (a user audit checked a p95 sizing with ttft-at-rate and read the median)."""
    from .queueing import SLA_PERCENTILE as sizing
    if default == 0.5:
        print(f"note: the median (percentile 0.5): half the requests see a longer one; "
              f"max-rate-for-sla and replicas-for-sla size at {sizing:g} unless told; add "
              f"--percentile {sizing:g} to check a sizing", file=sys.stderr)


def _slots_note(doc, given) -> None:
    """A note on stderr where one replica holds few requests at once (queueing.slots_note), for
    one configuration: its rates and replica counts are then set by memory."""
    from .queueing import slots_note
    keys = ("gpu", "model", "input_tokens", "output_tokens", "weight_dtype", "kv_dtype",
            "num_gpus", "mem_fraction")
    note = _configuration_note(doc, slots_note, {k: given.get(k) for k in keys})
    if note:
        print(f"note: {_option_words(note)}", file=sys.stderr)


def _why_none_fits(doc, given) -> None:
    """Why no sequence fits, where MAX_BATCH is 0 for one configuration (its documented answer,
    which printed alone where the speed functions name the GPUs that hold it: a review), on
    stderr."""
    from .memory import fit_message
    keys = ("gpu", "model", "weight_dtype", "kv_dtype", "tokens", "num_gpus", "mem_fraction")
    note = _configuration_note(doc, fit_message, {k: given.get(k) for k in keys})
    if note:
        print(f"note: {_option_words(note)}", file=sys.stderr)


def _fleet_note(doc, given, no_count=False) -> None:
    """What a bare count of replicas comes to, on stderr, for one configuration
    (:func:`xlnapkin.queueing.fleet_note`), or where there is ``no_count``, the GPUs a replica
    that give one (:func:`xlnapkin.queueing.split_note`)."""
    from .queueing import fleet_note, split_note
    note = _configuration_note(doc, split_note if no_count else fleet_note, given)
    if note:
        print(f"note: {_option_words(note)}", file=sys.stderr)


def _configuration_note(doc, note, given) -> str:
    """``note(**given)`` for one configuration of ``doc``'s function, its values read as the
    function reads them ("90%" is 0.9); '' for a sweep (no single configuration to speak of)
    or where a value is bad (the answer above says what is wrong)."""
    from ._excel import _number_cell
    texts = {a.name for a in doc.arguments if a.is_text}
    args = {}
    try:
        for k, v in given.items():
            while isinstance(v, list) and len(v) == 1:  # one cell, as [[v]]
                v = v[0]
            if isinstance(v, list):
                return ""
            if v not in (None, ""):
                args[k] = v if k in texts else _number_cell(k, None, v)
        return note(**args)
    except NapkinError:
        return ""


def _correlation_note(value) -> None:
    """A note on stderr where a pooling function's correlation is left blank (a user audit:
    POOLING_SAVINGS said 50 % where the multi-tenant workbook, with the same inputs, said 40 %
    at its default correlation)."""
    if value in (None, ""):
        from .economics import TENANT_CORRELATION
        print(f"note: tenants' loads taken as independent (correlation 0); busy API tenants "
              f"correlate up to about {TENANT_CORRELATION:g}, the multi-tenant workbook's "
              f"default: add --correlation {TENANT_CORRELATION:g}", file=sys.stderr)


def _kv_layout_notes(doc, args) -> None:
    """A note on stderr for each model and GPU count of a function that takes both, where the
    count is attention data parallelism's (:func:`xlnapkin.memory.kv_layout_note`; a user
    audit: only ``estimate`` said so, while ``tokens-per-sec`` and ``max-batch`` printed 32
    GPUs' worth of 405B's sequences without a word), and for each GPU and count whose replica
    spans peer-link domains (:func:`xlnapkin.roofline.domain_note`)."""
    from . import memory, roofline
    names = [a.name for a in doc.arguments]
    if "model" not in names or "num_gpus" not in names:
        return

    def each(name, default):
        i = names.index(name)
        v = args[i] if i < len(args) and args[i] is not None else default
        while isinstance(v, list) and v and isinstance(v[0], list):  # a swept argument
            v = [x for row in v for x in row]
        return v if isinstance(v, list) else [v]

    said, models = set(), set()  # notes printed, and the models they were for
    for model in each("model", None):
        for n in each("num_gpus", 1):
            for wd in each("weight_dtype", None) if "weight_dtype" in names else [None]:
                try:  # a count the heads do not split over has its own message instead
                    k = float(n)
                    note = (memory.kv_layout_note(model, k, wd) if k == int(k) and k in
                            memory.tp_degrees(model, int(k), wd) else "")
                except (NapkinError, TypeError, ValueError, OverflowError):
                    continue  # the result already says what is wrong with it
                if not note or note in said:
                    continue
                if model in models:  # a sweep: said once in full
                    print(f"note: likewise at {k:g} GPUs ({memory.kv_copies(model, k, wd):g} "
                          "copies)", file=sys.stderr)
                else:
                    print(f"note: {note}", file=sys.stderr)
                said.add(note)
                models.add(model)
    if "gpu" not in names or doc.name == "MAX_BATCH":  # memory alone: no all-reduce in it
        return
    for gpu in each("gpu", None):  # a replica across peer-link domains (roofline.domain_note)
        for n in each("num_gpus", 1):
            for model in each("model", None):
                for wd in each("weight_dtype", None) if "weight_dtype" in names else [None]:
                    try:
                        note = roofline.domain_note(gpu, n, model, wd)
                    except (NapkinError, TypeError, ValueError, OverflowError):
                        continue  # the result already says what is wrong with it
                    if note and note not in said:
                        print(f"note: {note}", file=sys.stderr)
                        said.add(note)


def _vendor_notes(doc, args) -> None:
    """A note on stderr for each GPU whose speeds take its vendor's factor
    (:func:`xlnapkin.calibration.vendor_note`), where the function takes a GPU and its
    efficiency is left blank (a typed one replaces the calibrated utilisations)."""
    from .calibration import is_calibrated, vendor_note
    from .catalog import gpu as catalog_gpu
    from ._excel import _number_cell
    names = [a.name for a in doc.arguments]
    if "gpu" not in names or "efficiency" not in names:
        return
    i = names.index("efficiency")
    calibrated = []
    for v in _flat(args[i] if i < len(args) else None):
        try:
            calibrated.append(is_calibrated(_number_cell("efficiency", None, v)))
        except (NapkinError, TypeError, ValueError):
            calibrated.append(False)  # refused: the answer says so
    if not any(calibrated):
        return
    said = []
    for value in _flat(args[names.index("gpu")]):  # one GPU, or a sweep's
        try:
            note = vendor_note(catalog_gpu(value))
        except (NapkinError, TypeError, ValueError):
            continue  # the result already says what is wrong with it
        if note and note not in said:
            print(f"note: {note}", file=sys.stderr)
            said.append(note)


def _option_words(message: str) -> str:
    """A message's advice in the command line's spelling: ``use --num-gpus 16`` (every command
    that takes a GPU count takes it as that option), not the Excel argument ``num_gpus``."""
    return (message.replace("use num_gpus ", "use --num-gpus ").replace("(num_gpus", "(--num-gpus")
            .replace("REPLICAS_FOR_SLA sizes a fleet", "replicas-for-sla sizes a fleet")
            .replace(": weight_dtype ", ": --weight-dtype "))


def _bits_notes(name, value, position=None) -> None:
    """A note on stderr for each value of a dtype argument that the engine reads as a number of
    bits: a weight of that size computed at the 16-bit rate, as int4 is; given
    by position, how to say so by name."""
    if not isinstance(value, str) or (name != "weight_dtype" and not position):
        return  # a KV cache's bits by name are as meant: nothing to add
    for v in dict.fromkeys(x.strip() for x in value.split(",")):  # each value once
        if not _reads_as_bits(v):
            continue
        where = f" (argument {position})" if position else ""
        how = (" computed at the 16-bit rate (weight-only, as int4 is); fp8, int8 and the "
               "fp4 formats use the GPU's low-precision tensor cores where it has them"
               if name == "weight_dtype" else "")
        tail = (f"; give it as --{name.replace('_', '-')} {v} to say so" if position else "")
        print(f"note: {name}{where} {v} is read as {v} bits per element"
              f"{',' + how if how else ''}{tail}", file=sys.stderr)


def _reads_as_bits(value: str) -> bool:
    """Whether the engine reads this dtype text as a number of bits (``"2"``, ``"4.5"``)."""
    from .units import dtype_name
    try:
        return dtype_name(value).endswith("-bit")
    except NapkinError:
        return False  # not a dtype at all: the call itself says so


class NoResult(NapkinError):
    """The call ran, but some or all of its cells are messages, not numbers (exit 3)."""


def _map_cells(result, f):
    if isinstance(result, list):
        return [[f(c) for c in row] if isinstance(row, list) else f(row) for row in result]
    return f(result)


def _cells(result):
    if isinstance(result, list):
        return [c for row in result for c in (row if isinstance(row, list) else [row])]
    return [result]


class _Message(str):
    """A cell of a text function's sweep that is a message (an unknown id), not an answer."""


def _text_messages(func, args, sweeps, lists, result):
    """``result`` of a text function's sweep with its message cells marked :class:`_Message`:
    its answers are text too, so only asking each cell alone tells a message from an answer."""
    rows = [r if isinstance(r, list) else [r] for r in result]
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            one = list(args)
            one[sweeps[0]] = lists[0][i] if len(rows) > 1 or len(sweeps) == 2 else lists[0][j]
            if len(sweeps) == 2:
                one[sweeps[1]] = lists[1][j]
            try:
                call(func, *one)
            except NapkinError:
                row[j] = _Message(cell)
    return rows if isinstance(result[0], list) else [r[0] for r in rows]


def _json_value(v, text_result=True):
    if v == "":
        return None
    if isinstance(v, _Message) or isinstance(v, str) and not text_result:
        return {"error": v}  # a message where a number belongs: a structured error
    return _json_number(v)


def _json_number(v):
    """A number as strict JSON takes it: a whole float as an integer (``2`` not ``2.0``), and
    null where there is no finite value (JSON has no NaN or Infinity: a breakeven that is
    never reached)."""
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return None
        if v.is_integer() and abs(v) < 2 ** 53:
            return int(v)
    return v


def _print_result(doc, result, axes, as_json: bool, text_result=True, qualifier="") -> None:
    """``qualifier``: what the table's heading adds after the command's name (the percentile
    a latency is taken at)."""
    if not isinstance(result, list):
        if as_json:
            print(json.dumps(_json_value(result, text_result)))
        elif sys.stdout.isatty():  # a person reads it: the unit too (a script gets the number)
            print(_with_unit(result, doc.unit))
        else:
            print(_plain(result))
        return
    heading = command_name(doc.name) + qualifier + (f" ({doc.unit})" if doc.unit else "")
    rows = [r if isinstance(r, list) else [r] for r in result]
    if len(axes) == 1:
        column = [r[0] for r in rows]
        if as_json:
            print(json.dumps([_json_value(v, text_result) for v in column]))
        else:
            name, labels = axes[0]
            _footnoted([[name, heading]]
                       + [[lab.strip(), _plain(v)] for lab, v in zip(labels, column)])
        return
    if as_json:
        print(json.dumps([[_json_value(v, text_result) for v in r] for r in rows]))
        return
    if len(axes) == 2:
        (down, down_labels), (across, across_labels) = axes
        print(heading + ":")
        table = [[f"{down} \\ {across}"] + [lab.strip() for lab in across_labels]]
        table += [[lab.strip()] + [_plain(v) for v in r] for lab, r in zip(down_labels, rows)]
        _footnoted(table)
    else:
        _print_table([[_plain(v, clip=40) for v in r] for r in rows])


def _with_unit(value, unit) -> str:
    """A number and its unit, for a person: thousands grouped from 10,000 (a CLI audit:
    "30416666667 USD/month"), a share also as a percentage.

    >>> _with_unit(1198.8, "tokens/s"), _with_unit(0.25, "0-1"), _with_unit("12", "ms")
    ('1198.8 tokens/s', '0.25 (25 %)', '12')
    >>> _with_unit(30416666666.67, "USD/month"), _with_unit(60833.33, "USD/month")
    ('30,416,666,667 USD/month', '60,833.33 USD/month')
    """
    text = _plain(value)
    if not unit or isinstance(value, (str, bool)) or value is None or value != value:
        return text
    whole, dot, part = text.partition(".")
    if abs(value) >= 1e4 and whole.lstrip("-").isdigit():  # not 1e+15
        text = f"{int(whole):,}" + dot + part
    if unit == "0-1":
        return f"{text} ({value * 100:.3g} %)"
    return f"{text} {unit[:-1] if value == 1 and unit in _PLURALS else unit}"


_PLURALS = {"GPUs", "replicas", "sequences", "users", "bytes"}  # 1 GPU, 1 replica


# Characters a terminal acts on rather than shows: C0 and C1 controls, DEL, and the
# bidirectional overrides and isolates (a hardening review: a workbook someone sent set the
# window title and forged lines through `recalc`, and U+202E turned "exe.txt" round)
_TERMINAL_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                                "\u2066-\u2069]")
_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _shown(text: str) -> str:
    """``text`` with the characters a terminal would act on written as escapes (``\\n``,
    ``\\x1b``, ``\\u202e``), so what a workbook holds is printed, never obeyed."""
    return _TERMINAL_CONTROLS.sub(
        lambda m: _ESCAPES.get(m.group(), f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                               else f"\\u{ord(m.group()):04x}"), text)


def _plain(value, clip: int | None = None) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return format_number(value)
    text = _shown("" if value is None else str(value))
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
    lines = [f"{doc.summary} {doc.result}".rstrip(), "",
             f"In Excel: ={doc.signature}"]
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
    if not doc.arguments:
        return "\n".join(out)
    from ._excel import TEXT_UNITS
    numbers = [a.name.replace("_", "-") for a in doc.arguments
               if not a.required and (a.unit or "") not in TEXT_UNITS]
    example = (f" (--{numbers[0]} A,B,C --{numbers[1]} D,E gives a 3 x 2 table)"
               if len(numbers) > 1 else "")
    return "\n".join(out + [_LIST_HELP.format(example=example)])


def _esc(text: str) -> str:
    """``help=`` strings are %-formatted by argparse; descriptions and epilogs are not."""
    return text.replace("%", "%%")


def _add_function(sub, doc, func):
    p = sub.add_parser(command_name(doc.name), help=_esc(doc.summary),
                       description=_function_help(doc), epilog=_function_epilog(doc),
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
# The plain table's columns: what a reader compares across rows, in a terminal's width; the
# rest with --columns all, --csv or --json.
_SUMMARY = {
    "gpus": ("id", "memory_gb", "mem_bw_tbps", "bf16_tflops", "fp8_tflops", "fp4_tflops",
             "cloud_usd_per_hour"),
    "models": ("id", "params_b", "active_params_b", "kv_heads", "num_experts", "max_context",
               "native_dtype"),
    "prices": ("id", "comparable", "input_usd_per_mtok", "output_usd_per_mtok", "as_of"),
}


def _safe_csv(value):
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ (or a tab or
    carriage return) gets a leading apostrophe, as spreadsheets themselves write it."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _run_catalog(ns) -> int:
    from . import catalog
    for path in catalog.user_files():
        print(f"(with rows from {path})", file=sys.stderr)
    folder = os.environ.get(catalog.USER_CATALOG_ENV)
    if folder and not catalog.user_files():
        print(f"warning: {catalog.USER_CATALOG_ENV} names {folder}, which holds no gpus.csv, "
              "models.csv or prices.csv", file=sys.stderr)
    table = catalog.table(_KINDS[ns.kind])
    header, rows = table[0], table[1:]
    if ns.columns and ns.columns.strip().lower() == "all":
        keep = list(range(len(header)))
    elif ns.columns:
        wanted = [c.strip() for c in ns.columns.split(",")]
        unknown = [c for c in wanted if c not in header]
        if not any(wanted):
            raise UsageError("--columns names no column: columns are " + ", ".join(header))
        # as the catalog files refuse a column given twice (a review: id,,id printed id twice)
        if "" in wanted:
            raise UsageError(f"--columns has an empty name: {ns.columns!r}")
        twice = [c for i, c in enumerate(wanted) if c in wanted[:i]]
        if twice:
            raise UsageError(f"--columns gives {twice[0]!r} twice")
        if unknown:
            raise UsageError(f"unknown column {unknown[0]!r} for {ns.kind}: columns are "
                             + ", ".join(header))
        keep = [header.index(c) for c in wanted]
    elif ns.json or ns.csv:
        keep = list(range(len(header)))
    else:  # every column, and long free text (sources, notes), would not fit a terminal
        keep = [header.index(c) for c in _SUMMARY[ns.kind] if c in header]
        print(f"({len(header) - len(keep)} more columns, sources and notes among them: "
              f"--columns all, --csv or --json)", file=sys.stderr)
    header = [header[i] for i in keep]
    rows = [[r[i] for i in keep] for r in rows]
    if ns.json:
        print(json.dumps([{k: _json_value(v) for k, v in zip(header, r)} for r in rows],
                         indent=1))
    elif ns.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([[_safe_csv(v) for v in r] for r in rows])
    else:
        _print_table([header] + [[_plain(v) for v in r] for r in rows])
    return 0


def _add_catalog(sub):
    p = sub.add_parser(
        "catalog", help="list the GPU, model or API-price catalog",
        description="List a catalog: the package's rows plus any from the user catalog folder "
                    "named by XLNAPKIN_CATALOG. The plain table shows the columns most compared "
                    "(memory, bandwidth, peaks and price; sizes; API prices) in 100 characters; "
                    "--columns all, --csv and --json have every column, sources and notes too.",
        epilog="examples:\n  $ xlnapkin catalog gpus\n  $ xlnapkin catalog models --csv > "
               "models.csv\n  $ xlnapkin catalog prices --columns id,input_usd_per_mtok,"
               "output_usd_per_mtok",
        formatter_class=_FORMATTER)
    p.add_argument("kind", choices=list(_KINDS), help="which catalog")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print a JSON list of objects")
    fmt.add_argument("--csv", action="store_true", help="print CSV with a header row")
    p.add_argument("--columns", metavar="A,B,...",
                   help="only these columns, in this order; all: every column")
    p.set_defaults(func=_run_catalog)


# --- estimate: the main job on built-in defaults ---------------------------------------------------

def _dtypes(weights: str, kv: str) -> str:
    """The precision an estimate priced: it sets the GPU count and the cost (a procurement
    review: bf16 and fp8 on an H200 differ by 40 % a million tokens, and no line said which)."""
    return (f"{weights} weights and KV cache" if weights == kv
            else f"{weights} weights, {kv} KV cache")


def _usd(x, digits=0) -> str:
    x = round(x, digits) + 0.0  # not "$-0" (a finance audit: "the API is cheaper by $-0")
    return f"-${-x:,.{digits}f}" if x < 0 else f"${x:,.{digits}f}"


def _usd_per_mtok(x, more=0) -> str:
    """A price per million tokens, to the cent from $10 up and to a tenth of a cent below
    (API prices run from a few cents to tens of dollars); ``more`` decimals besides."""
    return _usd(x, (2 if abs(x) >= 10 else 3) + more)


def _usd_per_mtok_pair(x, y) -> tuple[str, str]:
    """Two prices per million tokens, with as many more decimals (up to six) as they need to
    read differently where they differ (a CLI review: the GPUs alone and the API both read
    $0.065 on either side of the breakeven's answer)."""
    for more in range(4):
        a, b = _usd_per_mtok(x, more), _usd_per_mtok(y, more)
        if a != b or x == y:
            break
    return a, b


# estimate()'s arguments whose option is not the argument's own name in hyphens.
_ESTIMATE_OPTIONS = {"price_per_gpu_hour": "--price", "staff_cost_per_month": "--staff-per-month"}


def _as_of(date: str | None, stale: bool, before: str = " (", after: str = ")") -> str:
    """A catalog price's date: "as of 2026-07-24", or "undated" where the catalog gives none;
    nothing for a price you gave (``None``); an old one (``stale``, the estimate's
    ``api_price_stale`` or ``gpu_price_stale``) says so.

    >>> _as_of("2024-11-09", True, "; ", ")")
    "; as of 2024-11-09, over a year before the catalog's newest prices: check it)"
    """
    if date is None:
        return ""
    return (before + (f"as of {date}" if date else "undated")
            + (", over a year before the catalog's newest prices: check it" if stale else "")
            + after)


def _two_counts(a: float, b: float) -> tuple[str, str]:
    """:func:`_rounded_count` of two different counts, with more decimals where one would print
    them the same ("1.151 billion" and "1.188 billion", not "1.2" twice)."""
    for digits in range(1, 7):
        x, y = _rounded_count(a, digits), _rounded_count(b, digits)
        if x != y:
            return x, y
    return x, y


def _rounded_count(x: float, digits: int = 1) -> str:
    """A derived count to the precision an estimate has, three figures at least: 128.7 million,
    not 128,712,241; 1.05 billion, not 1.0 (a user audit: the workbook said 1,050.0 M).

    >>> _rounded_count(128_712_241), _rounded_count(1.0504e9), _rounded_count(4321)
    ('128.7 million', '1.05 billion', '4,321')
    """
    for size, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if x >= size:
            shown = max(digits, 2 - math.floor(math.log10(x / size)))
            return f"{x / size:,.{shown}f} {word}"
    return f"{x:,.0f}"


def _speed(tokens_per_sec: float) -> str:
    """Output tokens/s a request gets, with two figures below 10 (a user audit read "each
    getting 1 output tokens/s" for 0.57, a 300-token answer in 9 minutes).

    >>> _speed(0.5712), _speed(7.25), _speed(124.4)
    ('0.57', '7.2', '124')
    """
    return f"{tokens_per_sec:.2g}" if tokens_per_sec < 10 else f"{tokens_per_sec:,.0f}"


def _percent(share: float) -> str:
    """A share as a percentage with the digits it needs: 70%, 12.5%, 0.7%, 0.043%.

    >>> _percent(0.7), _percent(0.125), _percent(0.007), _percent(0.00043), _percent(2e-7)
    ('70%', '12.5%', '0.7%', '0.043%', 'under 0.01%')
    """
    if 0 < share < 0.0001:
        return "under 0.01%"
    pct = share * 100
    return (f"{pct:.1f}".removesuffix(".0") if pct >= 1 or pct == 0 else f"{pct:.2g}") + "%"


def _run_estimate(ns) -> int:
    import inspect
    from .calibration import DEFAULTS
    from .capacity import NOT_COUNTED, estimate, faster_per_gpu
    from .economics import HOURS_PER_MONTH
    from .errors import CannotRunError, InvalidArgumentError
    _bits_notes("weight_dtype", ns.weight_dtype)
    _bits_notes("kv_dtype", ns.kv_dtype)
    for option, value in (("--gpu", ns.gpu), ("--model", ns.model)):
        if "," in value and ";" not in value:  # a sweep, as the function commands take
            raise UsageError(f"{option} takes one, got {value!r}: run estimate once for each; "
                             "the function commands (xlnapkin --help) take comma lists")
    try:
        # extreme inputs overflow to inf or NaN on the way, which estimate checks and words:
        # no NumPy warning with a source line on top
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            e = estimate(ns.gpu, ns.model, ns.tokens_per_day, ns.input_tokens,
                         ns.output_tokens, ns.weight_dtype, ns.kv_dtype, ns.num_gpus, ns.price,
                         ns.api, ns.utilization, ns.min_replicas, ns.staff_per_month,
                         ns.hours_per_month)
    except InvalidArgumentError as exc:  # name the option the user typed, not the argument
        if exc.name not in inspect.signature(estimate).parameters:
            raise
        option = _ESTIMATE_OPTIONS.get(exc.name, "--" + exc.name.replace("_", "-"))
        raise UsageError(option + str(exc)[len(exc.name):]) from None
    except CannotRunError as exc:  # "use num_gpus 2" names the option here
        raise CannotRunError(_option_words(str(exc))) from None
    if ns.price is not None:  # a price it takes (one refused says why instead)
        _price_note("--price", "", ns.price)
    if ns.json:  # every key is a field of capacity.Estimate, described in docs/reference.md
        import dataclasses
        out = {k: _json_number(v) for k, v in dataclasses.asdict(e).items()}
        print(json.dumps(out, indent=1, allow_nan=False))
        return 0
    never = e.breakeven_tokens_per_day == float("inf")
    planned, api = _usd_per_mtok_pair(e.planned_cost_per_mtok, e.api_price_per_mtok)
    busy = f"{_percent(ns.utilization)} busy"
    gpu_as_of = _as_of(None if e.gpu_price_given else e.gpu_price_as_of, e.gpu_price_stale)
    api_as_of = _as_of(None if e.api_prices_given and not e.api_price_as_of
                       else e.api_price_as_of, e.api_price_stale, "; ", "")
    if never:
        breakeven = (f"never: at {busy} the GPUs alone cost {planned} per million tokens, at "
                     f"least the API's {api}")
    else:
        breakeven = f"{_rounded_count(e.breakeven_tokens_per_day)} tokens/day"
        if e.breakeven_for_good_tokens_per_day > e.breakeven_tokens_per_day * (1 + 1e-9):
            first, good = _two_counts(e.breakeven_tokens_per_day,
                                      e.breakeven_for_good_tokens_per_day)
            breakeven = (f"{first} tokens/day first; for good from {good} (in between, each "
                         "replica added costs more than it saves at first)")
        # replicas planned busier than random arrivals allow (a finance audit: the line read as
        # a volume a real fleet breaks even at)
        if ns.utilization > e.sustained_share:
            breakeven += (f", with replicas {busy}, more than one sustains here (at most "
                          f"{_percent(e.sustained_share)})")
    rows = [
        ("volume", f"{e.tokens_per_day:,.0f} token{'' if e.tokens_per_day == 1 else 's'}/day "
                   f"({ns.input_tokens:,} in, "
                   f"{ns.output_tokens:,} out per request)"),
        ("one replica serves", f"{e.replica_tokens_per_sec:,.0f} input + output tokens/s "
                               f"at full load ({e.num_gpus:g} x {e.gpu}, "
                               + _dtypes(e.weight_dtype, e.kv_dtype) +
                               f", {e.concurrency:,.0f} "
                               f"request{'' if round(e.concurrency) == 1 else 's'} at once, each "
                               "getting "
                               f"{_speed(e.request_tokens_per_sec)} output tokens/s)"),
        ("each at your volume", _at_volume(e)),
        ("replicas running", f"{e.replicas:,.0f} (at least {ns.min_replicas} kept running; sized "
                             "for your volume spread evenly over the "
                             + ("day" if e.hours_per_month >= HOURS_PER_MONTH else
                                f"{e.hours_per_month:g} hours a month they run")
                             + ": a lower --utilization leaves room for peaks)"),
        ("GPU rental", f"{_usd(e.gpu_monthly_cost)}/month: {e.fleet_gpus:,.0f} "
                       f"GPU{'' if e.fleet_gpus == 1 else 's'} "
                       f"x {_usd(e.price_per_gpu_hour, 4 if 0 < e.price_per_gpu_hour < 0.1 else 2)}"
                       " per GPU-hour"
                       f"{gpu_as_of} x "
                       f"{e.hours_per_month:g} hours" + (
                           "; GPUs you own still cost their financing, power and hosting: "
                           "xlnapkin own-hourly-cost prices an hour of one"
                           if e.price_per_gpu_hour == 0 else "")),
        ("people and platform", f"{_usd(e.staff_cost_per_month)}/month "
                                f"({_usd(e.staff_cost_per_month * 12)} a year)"),
        ("self-hosting", f"{_usd(e.self_host_monthly_cost)}/month: GPUs + people"),
        (f"the API ({e.api})", f"{_usd(e.api_monthly_cost)}/month at "
                               f"{api} per million tokens "
                               f"({_percent(e.input_share)} input at "
                               f"{_usd_per_mtok(e.api_input_price_per_mtok)}, output at "
                               f"{_usd_per_mtok(e.api_output_price_per_mtok)}"
                               f"{api_as_of})"),
        ("self-hosted $/Mtok", (f"{_usd_per_mtok(e.self_host_cost_per_mtok_at_volume)} all in "
                                f"at your volume (GPUs {_percent(e.fleet_utilization)} busy); "
                                if e.tokens_per_day > 0 else "none at your volume (no tokens); ")
         + f"{planned} for the GPUs alone if {busy}"),
        ("breakeven", breakeven),
        ("at your volume", (f"self-hosting saves {_usd(e.monthly_saving)} a month"
         if round(e.monthly_saving) > 0 else f"the API is cheaper by {_usd(-e.monthly_saving)} "
         "a month" if round(e.monthly_saving) < 0 else "the two cost the same a month (to the "
         "dollar)") + (" with these replicas, which cannot carry the volume (each at your "
                       "volume): more replicas cost more" if e.overloaded else "")),
    ]
    if e.split_advice:
        why = (f"a replica of {e.num_gpus:g} holds few requests at once"
               if e.best_num_gpus > e.num_gpus else
               f"a GPU makes {e.best_replica_tokens_per_sec / e.best_num_gpus:,.0f} input + "
               f"output tokens/s in replicas of {e.best_num_gpus:g}, against "
               f"{e.replica_tokens_per_sec / e.num_gpus:,.0f} in replicas of {e.num_gpus:g}"
               if faster_per_gpu(e.replica_tokens_per_sec, e.num_gpus,
                                 e.best_replica_tokens_per_sec, e.best_num_gpus, e.replicas,
                                 ns.min_replicas) else
               f"replicas of {e.num_gpus:g} GPUs are more than this volume needs")
        rows.append(("fewer GPUs in all", _cheaper_split(e, why)))
    if e.llama_cpp_slots:
        rows.append(("engine cap", f"{e.concurrency:,.0f} requests at once: GGUF weights run on "
                                   "llama.cpp, whose server takes "
                                   f"{DEFAULTS.gguf_max_concurrency:.0f} unless started with -np N; "
                                   f"for that, give the GPU a cap of its own: --gpu \"{e.gpu}; "
                                   "max_concurrency=N\" (N is -np, for the whole replica)"))
    if e.slow_answers:
        rows.append(("slow answers", _slow_answers(e, ns)))
    if e.caveat:
        rows.append(("caveat", _option_words(e.caveat)))
    if e.kv_layout:
        rows.append(("KV layout", e.kv_layout))
    if e.across_boards:  # the case a user audit met: 405B on replicas of 16 H100s
        rows.append(("across boards", e.across_boards))
    if e.vendor_factor:
        rows.append(("vendor factor", e.vendor_factor))
    rows.append(("not counted", NOT_COUNTED))
    print(f"Self-hosting {e.model} on {e.gpu} against the {e.api} API\n")
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k.ljust(width)}  {v}")
    # (a review: from an installed wheel that folder is not there; the command that writes
    # the workbook is named too)
    print("\nChange any input: xlnapkin estimate --help. The workings, scenarios and charts are "
          "in the self-host breakeven workbook (workbooks/self_host_breakeven.xlsx in a "
          "checkout or a release; xlnapkin templates build writes one).")
    return 0


def _cheaper_split(e, why) -> str:
    """The line naming a GPU count per replica that costs less a month, with what a request
    would see there (a review: one GPU a 70B replica instead of two halved the bill and made
    the first token wait 8 s): where its answers would be slow and yours are not, it says so
    instead of advising it; where its first token comes much later, how late
    (:attr:`~xlnapkin.capacity.Estimate.split_advice` decides)."""
    ttft = e.best_volume_ttft_ms
    head = f"--num-gpus {e.best_num_gpus:g}"
    month = f"{_usd(e.best_monthly_cost)}/month"
    if e.split_advice == "slow there":
        seen = (_first_token(ttft, e.best_volume_ttft_tail_ms) if ttft == ttft else
                "requests would queue for a slot without end")
        return (f"{head} would cost {month} ({why}), but its answers would be slow: {seen}, "
                f"against {_ms(e.volume_ttft_ms)} on average now; not advised")
    line = f"{head} self-hosts this volume for {month}: {why}"
    if e.split_advice == "advised, first token later":
        line += (f"; its first token comes after {_ms(ttft)} on average, against "
                 f"{_ms(e.volume_ttft_ms)} now")
    return line


def _at_volume(e) -> str:
    """What a request sees on each replica at the load the volume puts on it."""
    if e.tokens_per_day == 0:
        return (f"no traffic: the replicas stand by; a request alone would get "
                f"{_speed(e.volume_request_tokens_per_sec)} output tokens/s, its first token "
                f"after {_ms(e.volume_ttft_ms)}")
    held = e.volume_concurrency
    # a share of one request in plain decimals (an audit: "about 2.3e-08 requests at once")
    held = (f"about {held:,.0f}" if held >= 10 else f"about {held:.2g}" if held >= 0.01 else
            "under 0.01")
    from .queueing import _rate_text  # rounded down, as the overload message gives it
    load = f"{_percent(e.fleet_utilization)} of full load"
    if e.overloaded:
        return (f"{load}, more than a replica sustains under random arrivals (at most "
                f"{_rate_text(e.sustained_requests_per_sec)} requests/s, "
                f"{_percent(e.sustained_share)} of full load): requests queue without end; plan "
                "a lower --utilization")
    return (f"{load}: {held} request{'' if held == 'about 1' else 's'} at once, each getting "
            f"{_speed(e.volume_request_tokens_per_sec)} output tokens/s; "
            f"{_first_token(e.volume_ttft_ms, e.volume_ttft_tail_ms)}")


# A tail this share of the mean or less is said to sit below it (a margin: 321 ms against 319
# is no story, a review)
_TAIL_BELOW = 0.9


def _first_token(mean_ms, tail_ms, said="first token after") -> str:
    """The first token's mean wait and the wait 1 request in 20 exceeds
    (:data:`~xlnapkin.capacity.SLOW_PERCENTILE`).

    >>> _first_token(9749, 51214)
    'first token after 9.7 s on average, 51.2 s or more for 1 request in 20'

    A mean above that wait is pulled up by fewer, longer waits (a slot queue's), and says so
    (a finance audit: it read as a tail better than the average):

    >>> _first_token(118, 55)
    'first token after 118 ms on average, which fewer than 1 request in 20 pull up with long waits for a slot (55 ms or more for 1 request in 20)'
    """
    from .capacity import TAIL
    if tail_ms < _TAIL_BELOW * mean_ms:
        return (f"{said} {_ms(mean_ms)} on average, which fewer than {TAIL} pull up with long "
                f"waits for a slot ({_ms(tail_ms)} or more for {TAIL})")
    return f"{said} {_ms(mean_ms)} on average, {_ms(tail_ms)} or more for {TAIL}"


def _slow_answers(e, ns) -> str:
    """What the replicas' speed per request means for one answer, and the command that sizes
    the fleet to a latency target instead (or why none meets the example target)."""
    import shlex
    from .capacity import (EXAMPLE_TPOT_MS, EXAMPLE_TTFT_MS, SLOW_FIRST_TOKEN_MS,
                           SLOW_STREAM_TOKENS_PER_SEC)
    from .queueing import max_rate_for_sla
    from .memory import weight_dtype_of
    from .units import is_gguf
    seconds = e.volume_answer_seconds
    took = f"{seconds / 60:.1f} minutes" if seconds >= 120 else f"{seconds:.0f} s"
    slow = []
    if not e.volume_ttft_tail_ms <= SLOW_FIRST_TOKEN_MS:  # NaN: a queue without end
        slow.append(_first_token(e.volume_ttft_ms, e.volume_ttft_tail_ms,
                                 "the first token comes after")
                    if e.volume_ttft_ms == e.volume_ttft_ms else
                    "requests queue for a slot without end")
    if not e.volume_request_tokens_per_sec >= SLOW_STREAM_TOKENS_PER_SEC:
        slow.append(f"a {ns.output_tokens:,}-token answer streams for {took}")
    said = "at your volume " + " and ".join(slow)
    shape = (ns.input_tokens, ns.output_tokens, ns.weight_dtype, ns.kv_dtype, ns.num_gpus)
    ttft, tpot = EXAMPLE_TTFT_MS, EXAMPLE_TPOT_MS
    best = max_rate_for_sla(ns.gpu, ns.model, ttft, tpot, *shape)
    target = f"{ttft / 1000:g} s to the first token, {tpot:g} ms per token"
    if not best == best:  # NaN: even an idle replica misses the target
        more = ("a tensor-parallel format (GGUF splits layers: more GPUs add memory only)"
                if is_gguf(weight_dtype_of(e.model, ns.weight_dtype))
                else "more GPUs per replica")
        return (f"{said}, and no number of these replicas streams "
                f"{SLOW_STREAM_TOKENS_PER_SEC:g} tokens/s ({tpot:g} ms each) within "
                f"{ttft / 1000:g} s to the first token: try {more} or a faster GPU")
    rate = e.fleet_requests_per_sec
    extra = "".join(f" --{k.replace('_', '-')} {shlex.quote(str(v))}" for k, v in
                    (("weight_dtype", ns.weight_dtype), ("kv_dtype", ns.kv_dtype),
                     ("num_gpus", f"{ns.num_gpus:g}" if ns.num_gpus != 1 else None)) if v)
    return (f"{said}; to meet a latency target (here {target}) at your peak rate (the "
            f"average is {rate:.3g} requests/s) size with: xlnapkin replicas-for-sla "
            f"{shlex.quote(ns.gpu)} {shlex.quote(ns.model)} {rate:.3g} {ttft:g} {tpot:g} "
            f"{ns.input_tokens} {ns.output_tokens}{extra}")


def _ms(ms: float) -> str:
    """A mean latency as a reader takes it in: 62 ms, 1.4 s."""
    return f"{ms:,.0f} ms" if ms < 1000 else f"{ms / 1000:,.1f} s"


def _add_estimate(sub):
    import inspect
    from .capacity import estimate
    from .memory import BLANK_MEANS
    d = {k: v.default for k, v in inspect.signature(estimate).parameters.items()}  # the engine's
    p = sub.add_parser(
        "estimate", help="self-hosting vs the API for a daily volume, in dollars a month",
        description="What self-hosting a daily token volume costs a month against the API "
                    "that serves the same model, with the self-host breakeven template's "
                    "defaults: the GPU's catalog rental price, the model's comparable catalog "
                    "API, two replicas for availability and one engineer's loaded cost.",
        epilog="examples:\n  $ xlnapkin estimate\n  $ xlnapkin estimate --model llama-3.3-70b "
               "--gpu h200 --weight-dtype fp8 --tokens-per-day 2e9\n"
               "  $ xlnapkin estimate --api openai-gpt-4o "
               "--staff-per-month 0 --json",
        formatter_class=_FORMATTER)
    p.add_argument("--gpu", default=d["gpu"], help="GPU id or spec string (%(default)s)")
    p.add_argument("--model", default=d["model"], help="model id or spec string (%(default)s)")
    p.add_argument("--tokens-per-day", type=_amount(float), default=d["tokens_per_day"],
                   metavar="N", help="input plus output tokens a day; 0 prices the fleet kept "
                   f"running with no traffic ({d['tokens_per_day']:,})")
    p.add_argument("--input-tokens", type=_amount(int), default=d["input_tokens"], metavar="N",
                   help="prompt tokens per request (%(default)s)")
    p.add_argument("--output-tokens", type=_amount(int), default=d["output_tokens"],
                   metavar="N", help="generated tokens per request (%(default)s)")
    p.add_argument("--weight-dtype", type=_blank_or(str), default=None,
                   help=f"weights (blank: {BLANK_MEANS['weight_dtype']})")
    p.add_argument("--kv-dtype", type=_blank_or(str), default=None,
                   help=f"KV cache (blank: {BLANK_MEANS['kv_dtype']})")
    p.add_argument("--num-gpus", type=_amount(int), default=d["num_gpus"], metavar="N",
                   help="GPUs per replica: tensor parallel, GGUF split by layers (%(default)s)")
    p.add_argument("--price", type=_blank_or(_amount(float, money=True)), default=None,
                   metavar="USD",
                   help="per GPU-hour (blank: the catalog's rental price; for GPUs you own, "
                        "what an hour of one costs: xlnapkin own-hourly-cost)")
    p.add_argument("--api", type=_blank_or(str), default=None,
                   help="API price id (blank: the model's comparable API in the catalog); "
                   "with your prices, a spec string: 'azure-llama-3.3-70b; "
                   "input_usd_per_mtok=0.6; output_usd_per_mtok=0.8'")
    p.add_argument("--utilization", type=_amount(float, share=True), default=d["utilization"],
                   metavar="SHARE", help="planned load of each replica, 0.7 or 70%% (%(default)s)")
    p.add_argument("--min-replicas", type=_amount(int), default=d["min_replicas"], metavar="N",
                   help="replicas kept running for availability (%(default)s)")
    p.add_argument("--staff-per-month", type=_amount(float, money=True),
                   default=d["staff_cost_per_month"], metavar="USD",
                   help="people and platform a month (one engineer: %(default).0f)")
    # (a platform engineer's review: a batch job run part of the day was priced always on)
    p.add_argument("--hours-per-month", type=_amount(float), default=d["hours_per_month"],
                   metavar="HOURS",
                   help="hours a month the GPUs run and are paid for, the volume served in them "
                        "(%(default)g: always on; fewer for a job run part of the day)")
    p.add_argument("--json", action="store_true",
                   help="print the figures as JSON (null where there is no finite value: a "
                        "breakeven that is never reached, the mean first-token time where the "
                        "volume fills the replicas; monthly_saving is negative where the API "
                        "is cheaper); docs/reference.md lists every key with its unit")
    p.set_defaults(func=_run_estimate)


# --- templates ----------------------------------------------------------------------------------

def _path(text: str) -> Path:
    """An argparse type: a path, never empty (``--out "$DIR"`` with DIR unset would otherwise
    write into the current folder; a user audit)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path: give a file or folder name")
    return Path(text)


def _can_recalc() -> bool:
    """Whether the recalc extra (the formulas package) imports."""
    from .recalc import RecalcError, _import_formulas
    try:
        _import_formulas()
    except RecalcError:
        return False
    return True


def _run_templates_build(ns) -> int:
    try:
        from .templates import build_all
        from .templates._book import same_but_results
    except ImportError as exc:
        raise UsageError(f"the template builders are not available ({exc})") from None
    import tempfile
    from ._files import check_target, write_atomic
    from .recalc import RecalcError
    if ns.out.exists() and not ns.out.is_dir():  # said before a minute of building
        raise UsageError(f"{ns.out} is not a folder")
    # a minute with nothing on screen reads as a hang (a user walk-through); without the
    # recalc extra the build stops at once with its own message instead
    if not ns.no_values and _can_recalc():
        print("building the workbooks and storing their results at the default inputs (about "
              "a minute; --no-values skips the results)...", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            built = build_all(tmp, values=not ns.no_values)
        except RecalcError as exc:
            raise UsageError(f"cannot store the templates' results: {exc} (or use "
                             "--no-values)") from None
        targets = [(path, ns.out / path.name) for path in built]
        if ns.out.exists():  # a link is refused before anything is read through it
            for _built, target in targets:
                check_target(target)
        # a copy that differs only in the results stored beside the formulas is the template
        # (built with or without them), not a user's edit
        edited = [t for p, t in targets
                  if t.exists() and not same_but_results(t.read_bytes(), p.read_bytes())]
        if edited and not ns.force:  # SPEC §7: never overwrite a user's workbook unasked
            raise UsageError(f"{edited[0]} differs from the template (edited, or built by another "
                             "version): use --force to replace it")
        ns.out.mkdir(parents=True, exist_ok=True)
        for path, target in targets:
            old, new = (target.read_bytes() if target.exists() else None), path.read_bytes()
            # --no-values keeps a copy that holds the same template with its results
            if old == new or (ns.no_values and old is not None and same_but_results(old, new)):
                print(f"unchanged {target}")
            else:
                write_atomic(target, new)  # a full disk leaves the old file, not half a new one
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
                        description="Write the template workbooks (.xlsx) into a folder, each "
                                    "with its results at the default inputs stored beside its "
                                    "formulas (so that Excel's Protected View and file previews "
                                    "show them; needs the recalc extra, about a minute). A "
                                    "file there that differs from the fresh build is replaced "
                                    "only with --force.",
                        epilog="example:\n  $ xlnapkin templates build --out workbooks",
                        formatter_class=_FORMATTER)
    b.add_argument("--out", type=_path, default=Path("workbooks"), metavar="DIR",
                   help="folder to write into (default: %(default)s)")
    b.add_argument("--force", action="store_true",
                   help="replace workbooks that differ from the fresh build")
    b.add_argument("--no-values", action="store_true",
                   help="store formulas only, no results (fast; the spreadsheet program "
                        "calculates them on opening, a preview shows empty cells)")
    b.set_defaults(func=_run_templates_build)


# --- recalc -------------------------------------------------------------------------------------

def _parse_set(text: str):
    from .recalc import parse_value
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise UsageError(f"--set needs NAME=VALUE, got {text!r}")
    return name.strip(), parse_value(value)


def _run_recalc(ns) -> int:
    """The recalculation in a child process under ``--max-seconds`` and ``--max-memory-mb``
    (:mod:`xlnapkin._limited`: a formula can spend them where no check runs); in this process
    when both are 0."""
    seconds, memory_mb = ns.max_seconds or None, ns.max_memory_mb or None
    if seconds is None and memory_mb is None:
        try:
            return _recalc_checked(ns)
        except MemoryError:
            from .recalc import RecalcError
            raise RecalcError(f"recalculating {ns.workbook} ran out of memory") from None
    from ._limited import MemoryLimit, NotStarted, TimeLimit, run_limited
    from .recalc import LimitError, preload
    if sys.platform.startswith("linux"):  # a forked child inherits them: its memory limit
        preload()  # counts the work (a spawned one, elsewhere, has no memory limit)
    started = time.time()
    try:
        return run_limited(_recalc_checked, ns, seconds=seconds, memory_mb=memory_mb,
                           what=f"recalculating {ns.workbook}")
    except NotStarted as exc:  # the work is still worth doing, without the limits
        print(f"Warning: {exc}; recalculating in this process, without --max-seconds and "
              "--max-memory-mb", file=sys.stderr)
        ns.max_seconds = ns.max_memory_mb = 0
        return _run_recalc(ns)
    except TimeLimit as exc:
        _remove_own_temporary(ns, started)
        raise LimitError(str(exc), "max_seconds") from None
    except MemoryLimit as exc:
        _remove_own_temporary(ns, started)
        if not exc.limited:
            from .recalc import RecalcError
            raise RecalcError(str(exc)) from None
        raise LimitError(str(exc), "max_memory_mb") from None


def _remove_own_temporary(ns, since: float) -> None:
    """A child stopped while saving leaves the temporary file of :func:`_files.write_atomic`
    beside the target (``.<name>.<random hex>.xlnapkin-tmp``): remove the ones written since
    ``since`` (when the child started; :func:`time.time`)."""
    from . import _files
    target = ns.workbook if ns.in_place else ns.out
    if target is None:
        return
    target = Path(target)
    with contextlib.suppress(OSError):
        target = target.resolve() if ns.in_place else target  # --in-place follows a link
        for tmp in target.parent.glob(f".{glob_escape(target.name)}.*{_files._TMP_SUFFIX}"):
            if re.fullmatch(r"[0-9a-f]{16}", tmp.name[len(target.name) + 2:
                                                      -len(_files._TMP_SUFFIX)]) \
                    and tmp.stat().st_mtime >= since - 1:
                tmp.unlink()


def _recalc_checked(ns) -> int:
    try:
        return _recalc(ns)
    except (NapkinError, OSError, MemoryError):
        raise
    except Exception as exc:  # anything formulas or openpyxl raise on a crafted file
        from .recalc import RecalcError, _reason
        raise RecalcError(f"cannot recalculate {ns.workbook}: {_reason(exc)}") from exc


def _recalc(ns) -> int:
    from ._files import check_target
    from .recalc import Limits, Workbook
    source = Path(ns.workbook)
    inputs = {}
    for text in ns.set:
        name, value = _parse_set(text)
        # names are not case-sensitive, as in Excel; a second value is refused, not taken
        same = next((n for n in inputs if n.lower() == name.lower()), None)
        if same is not None:
            raise UsageError(f"--set {name} given twice: {inputs[same]!r} and {value!r}")
        inputs[name] = value
    if ns.in_place and ns.out:
        raise UsageError("give either --out or --in-place, not both")
    limits = Limits(**{f.name: getattr(ns, f.name) for f in dataclasses.fields(Limits)})
    target = source if ns.in_place else ns.out
    if (ns.out is not None and ns.out.suffix.lower() != source.suffix.lower()
            and source.suffix.lower() in (".xlsx", ".xlsm")):
        raise UsageError(f"--out {ns.out}: the copy is a workbook like {source.name}, so its "
                         f"name must end in {source.suffix.lower()} (Excel refuses a file "
                         "whose extension does not match its format)")
    if ns.out is not None and _same_file(ns.out, source):
        raise UsageError(f"--out {ns.out} is the input workbook; use --in-place to overwrite it")
    if target is not None:  # before the work: a missing folder, a planted link, a folder
        check_target(target, follow_symlink=ns.in_place)
    if ns.out is not None and ns.out.exists() and not ns.force:
        raise UsageError(f"{ns.out} already exists; use --force to overwrite it")
    # the write replaces the file, which a read-only mode does not stop (a hardening review:
    # a file made read-only to protect it was replaced, and took the writer as its owner)
    if ns.in_place and not ns.force and source.is_file() and (
            not os.access(source, os.W_OK) or not os.stat(source).st_mode & 0o222):
        raise UsageError(f"{source} is read-only; use --force with --in-place to replace it")

    def progress(line):
        if not ns.quiet:
            print(_shown(line), file=sys.stderr, flush=True)

    wb = Workbook(source, progress=progress, limits=limits, allow_external=ns.allow_external)
    wb.calculate(inputs)
    for cell in wb.unread:  # a note even with --quiet: the user expected this to matter
        print(f"note: no formula reads {cell}, so setting it changes no other value",
              file=sys.stderr)
    values = wb.values(ns.name or None)
    if target is not None:
        written = wb.save(target, overwrite=True, follow_symlink=ns.in_place)
        progress(f"wrote {written}")
    if ns.json:
        print(_json_object(values))
    elif values:
        # names from the file, shown as text
        items = [(_shown(k), v) for k, v in values.items()]
        width = max(len(k) for k, _v in items)
        if not ns.name:  # every name: single values first, then the ranges
            items.sort(key=lambda item: isinstance(item[1], list))
        shortened = 0
        for name, value in items:
            if not isinstance(value, list):
                print(f"{name.ljust(width)}  {_plain(value)}")
            elif ns.name or sum(len(row) for row in value) <= _RANGE_SHOWN:
                print(name)
                _print_table([[_plain(v, clip=60) for v in row] for row in value])
            else:  # every name of a large workbook: a range is one line, asked for by name
                shortened += 1
                print(f"{name.ljust(width)}  {_range_line(value)}")
        if shortened:
            progress(f"{shortened} range(s) of more than {_RANGE_SHOWN} cells shown by their "
                     "first cells; --name NAME prints one whole, --json prints all")
    else:
        progress(f"{source} has no defined names: ask for cells with --name Sheet1!B3")
    return _report_messages(wb, values)


RECALC_MAX_SECONDS = 300     # the capacity planner, the largest template, takes about 25 s
RECALC_MAX_MEMORY_MB = 2000  # ... and about 500 MB beyond the program
# Below this the child could not load formulas and its libraries: it failed to import, or
# hung until the time limit (a fuzz, 2026-12-04: 80-130 MB)
RECALC_LEAST_MEMORY_MB = 200
_RANGE_SHOWN = 12  # cells of a range printed whole when every name is printed


def _range_line(rows) -> str:
    """A large range on one line: its size and its first non-blank values."""
    cells = [v for row in rows for v in row]
    if all(v in (None, "") for v in cells):
        return f"[{len(rows)} x {len(rows[0])}, all blank]"
    shown = ["(blank)" if v in (None, "") else _plain(v, clip=24) for v in cells[:3]]
    return f"[{len(rows)} x {len(rows[0])}: " + ", ".join(shown) + ", …]"


def _report_messages(wb, values: dict) -> int:
    """Exit code 3, with the reasons on stderr, when a printed value is a message (an Excel
    error, an xlnapkin function's text in place of a number, "check inputs", a named check
    that is not OK); else 0. The workbook's failing checks
    are listed too, as they say why."""
    from .recalc import NOT_CALCULATED, is_check_name, is_message
    said = wb.function_messages
    messages = [(k, v) for k, v in values.items()
                if is_message(v, said) or (is_check_name(k) and k in wb.names
                                           and wb.failing_checks([k]))
                or (k.lower() in ("all_ok", "inputs_ok") and v is False)]  # templates' gates
    missing = wb.uncalculated()
    if not messages and not missing:
        return 0
    err = sys.stderr
    if messages:
        print(f"Warning: {len(messages)} of the printed values "
              f"{'is a message' if len(messages) == 1 else 'are messages'} (exit code 3):",
              file=err)
    for name, value in messages:
        print(f"  {_shown(name)}: {_message_text(value, said)}", file=err)
    if missing:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8
                                          else "")
        print(f"Warning: {len(missing)} formula cell(s) could not be calculated and read "
              f"{NOT_CALCULATED} (a circular reference, or another formula the recalculation "
              f"library left without a value; exit code 3): {_shown(shown)}", file=err)
    checks = wb.failing_checks()
    if checks:
        print("Checks that are not OK:", file=err)
        for name, value in checks:
            print(f"  {_shown(name)}: {_plain(value)}", file=err)
    if wb.refused_files:
        print("References to other workbooks are #REF! (--allow-external opens them): "
              + _shown(", ".join(wb.refused_files)), file=err)
    return 3


def _message_text(value, said=frozenset()) -> str:
    """A printed value that is a message, shortened: a range shows its first message, else
    (a range of checks) its first cell that is not OK (an FP&A read: "checks: OK (and 12
    more)" counted the passing checks too)."""
    from .recalc import _not_ok, is_message
    if isinstance(value, list):
        cells = [v for row in value for v in (row if isinstance(row, list) else [row])]
        found = ([v for v in cells if is_message(v, said)] or [v for v in cells if _not_ok(v)]
                 or cells)
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        return f"{_plain(found[0], clip=100)}{more}"
    return _plain(value, clip=100)


def _json_object(values: dict) -> str:
    """A JSON object with one name per line (tables stay on their line)."""
    if not values:
        return "{}"
    body = ",\n".join(f" {json.dumps(k)}: {json.dumps(_finite(v), default=str, allow_nan=False)}"
                      for k, v in values.items())
    return "{\n" + body + "\n}"


def _finite(v):
    """A recalculated value as strict JSON takes it (:func:`_json_number`: null for NaN or
    Infinity, a cell holding 1E+999 reads as inf), in ranges too."""
    return [_finite(x) for x in v] if isinstance(v, list) else _json_number(v)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


_RECALC_EPILOG = """\
Needs the formulas package: in a clone, uv run --extra recalc xlnapkin recalc ...;
with pip, the release's wheel with its recalc extra (xlnapkin-<version>-py3-none-any.whl[recalc]).

examples:
  $ xlnapkin recalc workbooks/functions_showcase.xlsx
  $ xlnapkin recalc workbooks/functions_showcase.xlsx --set batch=64 --set gpu=b200 \\
      --name replica_tps --json
  $ xlnapkin recalc workbooks/functions_showcase.xlsx --set model=llama-3.1-8b \\
      --out showcase-8b.xlsx

Without --name every defined name is printed, single values first; a range of
more than 12 cells is one line (its size and first cells) unless asked for by
name or with --json.

NAME is a defined name or a cell reference (Sheet1!B3, or B3 on the first sheet).
VALUE is a number, TRUE/FALSE, text ("12" in quotes stays text) or empty for a blank.

A workbook is read as untrusted: only WORKBOOK is opened (a reference to another
workbook is #REF! unless --allow-external), the limits above are checked before
the slow work, which runs in a child process stopped at --max-seconds and (on
Linux) --max-memory-mb, and any failure is one "Error: ..." line. Files are written through
a temporary file in the same folder; --out refuses a symbolic link, --in-place on
a link replaces the file the link points to.

exit codes: 0 done; 1 error (one "Error:" line on stderr); 2 bad command line;
  3 done, but a printed value is a message: an Excel error (#REF!, #DIV/0!, ...),
  "check inputs", or a named check (check_...) that is not OK. The values and
  the checks that are not OK are listed on stderr."""


def _add_recalc(sub):
    from .recalc import Limits
    defaults = Limits()
    p = sub.add_parser(
        "recalc", help="recalculate a workbook without Excel and print its named values",
        description="Recalculate a workbook headlessly (with the formulas package; "
                    "the recalc extra), including cells that call xlnapkin's "
                    "functions, and print the value of every defined name (or of the --name "
                    "ones). The input file is never changed unless --in-place is given.",
        epilog=_esc(_RECALC_EPILOG), formatter_class=_FORMATTER)
    p.add_argument("workbook", metavar="WORKBOOK", help=".xlsx or .xlsm file")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="set an input cell before recalculating (repeatable)")
    p.add_argument("--name", action="append", default=[], metavar="NAME",
                   help="print only these names or cells (repeatable)")
    p.add_argument("--out", type=_path, metavar="FILE",
                   help="save the recalculated workbook here")
    p.add_argument("--in-place", action="store_true",
                   help="save the recalculated workbook over WORKBOOK")
    p.add_argument("--force", action="store_true",
                   help="let --out overwrite an existing file, --in-place a read-only one")
    p.add_argument("--json", action="store_true", help="print a JSON object {name: value}")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--allow-external", action="store_true",
                   help="let formulas open the other workbooks that WORKBOOK refers to "
                        "(default: those references are #REF! and nothing else is opened)")
    lim = p.add_argument_group("limits (a workbook over one is refused; raise them for a "
                               "workbook you trust)")
    for name, kind, text in (
            ("max_part_mb", float, "largest zip part, uncompressed [MB]"),
            ("max_total_mb", float, "the file, and all parts uncompressed together [MB]"),
            ("max_cells", int, "cells from A1 to each sheet's last used row and column, "
                               "all sheets together"),
            ("max_formulas", int, "formula cells plus defined names"),
            ("max_range_cells", int, "cells covered by all distinct ranges together "
                                     "(A:A is 1,048,576)"),
            ("max_formula_weight", float, "the sum of (characters / 1,000) squared over "
                                          "formulas and names (parsing grows with the square "
                                          "of a formula's length)"),
            ("max_formula_tokens", int, "references, names, numbers, texts and operators of "
                                        "all formulas and names (each about 0.2 ms of work)"),
            ("max_regex_seconds", float, "seconds all REGEXTEST, REGEXEXTRACT and REGEXREPLACE "
                                         "calls may take together in one load or "
                                         "recalculation")):
        default = getattr(defaults, name)
        lim.add_argument("--" + name.replace("_", "-"), type=_positive(kind), default=default,
                         metavar="N", help=_esc(f"{text} (default: {default:,})"))
    for name, default, text in (
            ("max_seconds", RECALC_MAX_SECONDS, "seconds the load and recalculation may take, "
                                                "in a child process stopped at the limit"),
            ("max_memory_mb", RECALC_MAX_MEMORY_MB, "memory the child process may take beyond "
                                                    "what it starts with (Linux only; at "
                                                    f"least {RECALC_LEAST_MEMORY_MB}) [MB]")):
        least = RECALC_LEAST_MEMORY_MB if name == "max_memory_mb" else 0
        lim.add_argument("--" + name.replace("_", "-"),
                         type=_positive(float, zero_ok=True, least=least),
                         default=default, metavar="N",
                         help=_esc(f"{text} (default: {default:,}; 0: no limit, and with both "
                                   "0 no child process)"))
    p.set_defaults(func=_run_recalc)


def _amount(kind, share=False, money=False):
    """An option's number as people write it: ``1,000,000`` and ``1e6`` alike, ``$2.50`` for
    ``money`` (a CLI audit: a price's dollar sign was refused with a hint about thousands),
    ``70%`` for a share; whether it is in range is the engine's check, which names the
    option."""
    def parse(text):
        t = text.strip().replace("_", "")
        sign, t = ("-", t[1:].lstrip()) if t.startswith("-") else ("", t)
        t = sign + (t[1:].lstrip() if t.startswith("$") and money else t)
        percent = share and t.endswith("%")
        t = t[:-1].strip() if percent else t
        try:
            value = float(t.replace(",", "")) if "," not in t or _thousands(t) else None
        except ValueError:
            value = None
        if value is None:
            hint = (" (a share is a number like 0.7 or 70%)" if share else
                    " (thousands may be grouped: 1,000,000)")
            raise argparse.ArgumentTypeError(f"not a number: {text!r}{hint}")
        value = value / 100 if percent else value
        if kind is int:
            if not value.is_integer():
                raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
            return int(value)
        return value
    parse.__name__, parse.checks_a_value = kind.__name__, True
    return parse


def _thousands(text: str) -> bool:
    """``1,000,000`` (thousands grouped with commas), not ``2,5`` or ``1,0000``."""
    from ._excel import _NUMBER_TEXT
    return _NUMBER_TEXT.fullmatch(text) is not None


def _blank_or(kind):
    """An option where blank (``--api ""``) means its default, as the help says: None, else
    ``kind(text)``."""
    def parse(text):
        return None if not text.strip() else kind(text)
    parse.__name__ = getattr(kind, "__name__", "value")
    parse.checks_a_value = getattr(kind, "checks_a_value", False)
    return parse


def _positive(kind, *, zero_ok=False, least=0):
    """:func:`_amount`, finite and above zero (a limit); ``zero_ok``: 0 too (no limit);
    ``least``: a limit other than 0 is at least this."""
    number = _amount(kind)

    def parse(text):
        value = number(text)
        if value == float("inf"):  # 1e400 reads as infinity (a review: "must be >= 0" said)
            raise argparse.ArgumentTypeError(
                f"must be a finite number{' (0: no limit)' if zero_ok else ''}, got {text!r}")
        if not (0 <= value if zero_ok else 0 < value):
            raise argparse.ArgumentTypeError(f"must be a number {'>=' if zero_ok else '>'} 0, "
                                             f"got {text!r}")
        if 0 < value < least:
            raise argparse.ArgumentTypeError(
                f"must be 0 (no limit) or at least {least:g}: the recalculation's libraries "
                f"alone take about 150 MB, got {text!r}")
        return value
    parse.__name__, parse.checks_a_value = kind.__name__, True
    return parse


# --- docs ---------------------------------------------------------------------------------------

def _in_checkout() -> bool:
    """True where the current folder is the root of an xlnapkin checkout."""
    try:
        return 'name = "xlnapkin"' in Path("pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False


def _run_docs(ns) -> int:
    from . import docgen
    # the default path is a checkout's: elsewhere it would make ./docs/ in whatever folder the
    # command runs in (a delivery review found /tmp/docs/reference.md)
    if ns.out is None:
        ns.out = docgen.DEFAULT_OUT
        if not ns.out.exists() and not _in_checkout():
            raise UsageError(f"{docgen.DEFAULT_OUT} is an xlnapkin checkout's file and this "
                             "folder is not a checkout's root (where its pyproject.toml is): run "
                             "this there, or give --out FILE")
    if ns.check:
        if not docgen.is_current(ns.out):
            again = "" if ns.out == docgen.DEFAULT_OUT else f" --out {ns.out}"
            if ns.out.is_file() and not docgen.is_reference(ns.out.read_bytes()):
                again += " --force"
            state = "is out of date" if ns.out.exists() else "does not exist"
            raise UsageError(f"{ns.out} {state}; run `{docgen.REGENERATE}{again}`")
        print(f"{ns.out} is up to date")
        return 0
    changed = docgen.write(ns.out, force=ns.force)
    print(f"{'wrote' if changed else 'unchanged'} {ns.out}")
    return 0


def _add_docs(sub):
    p = sub.add_parser("docs", help="generate docs/reference.md from the functions' docstrings",
                       description="Write the Excel function reference (Markdown) generated "
                                   "from the engine functions' docstrings.",
                       epilog="examples:\n  $ xlnapkin docs\n  $ xlnapkin docs --check",
                       formatter_class=_FORMATTER)
    p.add_argument("--out", type=_path, default=None, metavar="FILE",
                   help="file to write (default: docs/reference.md, in a checkout's root)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if FILE differs from a fresh generation")
    p.add_argument("--force", action="store_true",
                   help="replace FILE even if it is not a function reference generated before")
    p.set_defaults(func=_run_docs)


# --- set-up: excel, lite, release ---------------------------------------------------------------

# These must run when `import xlwings` fails (a non-UTF-8 ~/.xlwings/xlwings.conf breaks it, and
# these commands are the tools to repair it), so main() parses them without loading the Excel
# functions, and nothing here imports xlnapkin.udfs.
_SETUP_COMMANDS = ("excel", "lite", "release")

_EXCEL_EPILOG = """\
examples:
  $ xlnapkin excel install --workbook C:\\models\\serving.xlsm --dry-run
  $ xlnapkin excel install --workbook C:\\models\\serving.xlsm
  $ xlnapkin excel status --workbook C:\\models\\serving.xlsm
  $ xlnapkin excel uninstall --workbook C:\\models\\serving.xlsm

--workbook changes only the xlwings.conf in the workbook's folder; --user changes the user-wide
file, keeping the modules and the Python already there. installer/install.ps1 runs these on
Windows. On macOS and Excel on the web, use `xlnapkin lite` instead."""

_EXCEL_NEXT = """\
next: install the xlwings add-in (`xlnapkin excel addin install`, or run this with --addin) and
restart Excel. Once per PC: File > Options > Trust Center > Trust Center Settings > Macro
Settings > "Trust access to the VBA project object model". In the macro-enabled workbook: Alt+F11
> Tools > References > tick xlwings > OK (the functions call the add-in's code), then
xlwings > Import Functions."""

_LITE_NEXT = """\
next: in Excel, Home > Add-ins > get "xlwings Lite" and open its editor. Paste main.py into the
main.py tab (over the template, or below code of your own); in the requirements.txt tab keep
Lite's lines and add the ones requirements.txt has that are missing (numpy): Lite installs
them as the tab changes (restart it only if it asks). A value refused shows as #VALUE! with the
message on hover."""


def _para(text: str) -> str:
    """A description paragraph wrapped like the rest of the help (the formatter keeps lines)."""
    import textwrap
    return textwrap.fill(text, 88)


def _excel_config(ns):
    from . import excel_setup
    if ns.workbook is not None:
        return excel_setup.workbook_config(ns.workbook, ns.home, ns.platform)
    return excel_setup.user_config(ns.home, ns.platform)


def _run_excel_install(ns) -> int:
    from . import excel_setup
    config = _excel_config(ns)
    python = ns.python or excel_setup.default_interpreter(ns.platform)
    if ns.addin and not ns.dry_run:  # an add-in step that would stop changes nothing at all
        check = excel_setup.xlwings_addin("install", home=ns.home, platform=ns.platform,
                                          python_executable=python, dry_run=True)
        if not check.ok:
            print(check.describe())
            return 1
    result = excel_setup.install(config, python, platform=ns.platform, dry_run=ns.dry_run,
                                 replace_interpreter=ns.replace_interpreter)
    if ns.workbook is not None and not ns.dry_run and config.state_path.exists():
        excel_setup.remember_workbook(ns.home, ns.workbook)  # for `uninstall --recorded`
    print(result.describe())
    code = 0
    if ns.addin:
        addin = excel_setup.xlwings_addin("install", home=ns.home, platform=ns.platform,
                                          python_executable=python, dry_run=ns.dry_run)
        print(addin.describe())
        code = 0 if addin.ok else 1
    if not ns.dry_run and ns.platform == "win32" and code == 0:
        print(_EXCEL_NEXT)
    return code


def _run_excel_status(ns) -> int:
    from . import excel_setup
    print(excel_setup.status(_excel_config(ns), home=ns.home, platform=ns.platform).describe())
    return 0


def _run_excel_uninstall(ns) -> int:
    from . import excel_setup
    if ns.recorded:
        books = excel_setup.recorded_workbooks(ns.home)
        if not books:
            print(f"no workbook folders recorded in {excel_setup.workbook_record(ns.home)}")
        failed = []
        for book in books:  # one folder that cannot be undone does not stop the others
            try:
                if not book.parent.is_dir():
                    print(f"{book.parent} is gone: nothing to undo there")
                else:
                    config = excel_setup.workbook_config(book, ns.home, ns.platform)
                    print(excel_setup.uninstall(config, platform=ns.platform,
                                                dry_run=ns.dry_run).describe())
            except excel_setup.ExcelSetupError as err:
                failed.append(f"{book}: {err}")
                continue
            if not ns.dry_run:
                excel_setup.remember_workbook(ns.home, book, keep=False)
        if failed:
            raise excel_setup.ExcelSetupError(
                f"{len(failed)} recorded folder(s) not undone (still recorded; run again once "
                "fixed): " + "; ".join(failed))
    else:
        result = excel_setup.uninstall(_excel_config(ns), platform=ns.platform,
                                       dry_run=ns.dry_run)
        if ns.workbook is not None and not ns.dry_run:
            excel_setup.remember_workbook(ns.home, ns.workbook, keep=False)
        print(result.describe())
    if ns.addin:
        addin = excel_setup.xlwings_addin("remove", home=ns.home, platform=ns.platform,
                                          dry_run=ns.dry_run)
        print(addin.describe())
        return 0 if addin.ok else 1
    return 0


def _run_excel_addin(ns) -> int:
    from . import excel_setup
    addin = excel_setup.xlwings_addin(ns.action, home=ns.home, platform=ns.platform,
                                      python_executable=ns.python, replace=ns.replace,
                                      dry_run=ns.dry_run)
    print(addin.describe())
    return 0 if addin.ok else 1


def _home_platform(p) -> None:
    p.add_argument("--home", metavar="DIR", type=_path, default=Path.home(),
                   help="home folder of the user-wide xlwings.conf (default: %(default)s)")
    p.add_argument("--platform", metavar="NAME", default=sys.platform,
                   help="config layout: win32, darwin, ... (default: this machine, %(default)s)")


def _scope_options(p, *, required: bool, recorded: bool = False) -> None:
    scope = p.add_mutually_exclusive_group(required=required)
    scope.add_argument("--workbook", metavar="BOOK", type=_path,
                       help="use the xlwings.conf in this workbook's folder, which xlwings reads "
                            "for the workbooks there before the user's file (the workbook "
                            "itself is not changed)")
    scope.add_argument("--user", action="store_true",
                       help="use the user-wide xlwings.conf, read by every workbook without "
                            "its own settings" + ("" if required else " (the default)"))
    if recorded:
        scope.add_argument("--recorded", action="store_true",
                           help="every workbook folder `excel install --workbook` set up (listed "
                                "in ~/.xlnapkin/workbooks.txt)")
    _home_platform(p)


def _add_excel(sub):
    excel = sub.add_parser(
        "excel", help="set classic Excel (xlwings on Windows) up to use xlnapkin's functions",
        description=_para("Set classic Excel (xlwings on Windows) up to use xlnapkin's "
                          "functions, for one workbook's folder or, when asked, for the user."),
        epilog=_EXCEL_EPILOG, formatter_class=_FORMATTER)
    excel_sub = excel.add_subparsers(dest="excel_command",
                                     metavar="{install,status,uninstall,addin}",
                                     required=True)
    p = excel_sub.add_parser(
        "install", formatter_class=_FORMATTER,
        help="add xlnapkin.udfs to xlwings' UDF MODULES, with the Python that runs it",
        description=_para("Append xlnapkin.udfs to \"UDF MODULES\" and set INTERPRETER_WIN "
                          "(INTERPRETER_MAC on macOS) where no interpreter is set. Every other "
                          "line is kept, an existing file is backed up once, and running it "
                          "again changes nothing. Another Python already set is replaced only "
                          "with --replace-interpreter, and so is the Python on PATH where none "
                          "is set but other workbooks' modules are listed; a line an earlier "
                          "install wrote is replaced."),
        epilog="examples:\n  $ xlnapkin excel install --workbook Book.xlsm --dry-run\n"
               "  $ xlnapkin excel install --workbook Book.xlsm --python "
               "C:\\envs\\napkin\\Scripts\\pythonw.exe --addin\n"
               "  $ xlnapkin excel install --user --python C:\\envs\\napkin\\Scripts\\pythonw.exe")
    _scope_options(p, required=True)
    p.add_argument("--python", metavar="PATH", default=None,
                   help="interpreter Excel should start (default: this Python; pythonw.exe "
                        "beside it on Windows)")
    p.add_argument("--replace-interpreter", action="store_true",
                   help="replace another interpreter already set there (uninstall puts it back)")
    p.add_argument("--addin", action="store_true",
                   help="also install the xlwings add-in, as `excel addin install` (Windows)")
    p.add_argument("--dry-run", action="store_true",
                   help="print what would change and write nothing")
    p.set_defaults(func=_run_excel_install)

    p = excel_sub.add_parser(
        "status", formatter_class=_FORMATTER,
        help="show what xlwings would use, and what xlnapkin installed",
        description=_para("Show the UDF MODULES and interpreter xlwings would use and where each "
                          "comes from (for --workbook: the workbook's xlwings.conf sheet, the "
                          "folder's file, then the user's file), whether xlnapkin installed "
                          "them, and whether the xlwings add-in is in Excel's XLSTART folder. "
                          "Changes nothing."),
        epilog="examples:\n  $ xlnapkin excel status\n  $ xlnapkin excel status --workbook "
               "Book.xlsm")
    _scope_options(p, required=False)
    p.set_defaults(func=_run_excel_status)

    p = excel_sub.add_parser(
        "uninstall", formatter_class=_FORMATTER,
        help="undo `xlnapkin excel install`",
        description=_para("Put the xlwings.conf from before `xlnapkin excel install` back, byte "
                          "for byte (or delete it if there was none). If it was edited since, "
                          "only xlnapkin's own changes are reversed. Running it again does "
                          "nothing."),
        epilog="examples:\n  $ xlnapkin excel uninstall --workbook Book.xlsm --dry-run\n"
               "  $ xlnapkin excel uninstall --recorded\n"
               "  $ xlnapkin excel uninstall --user")
    _scope_options(p, required=True, recorded=True)
    p.add_argument("--addin", action="store_true",
                   help="also remove the xlwings add-in, as `excel addin remove` (Windows)")
    p.add_argument("--dry-run", action="store_true",
                   help="print what would change and write nothing")
    p.set_defaults(func=_run_excel_uninstall)

    p = excel_sub.add_parser(
        "addin", formatter_class=_FORMATTER,
        help="put xlwings' own add-in into Excel's XLSTART folder, or take it away",
        description=_para("install: copy the add-in of the xlwings beside --python (default: "
                          "this Python) into Excel's XLSTART folder. Unlike `xlwings addin "
                          "install` it writes no user-wide xlwings.conf, so other workbooks "
                          "keep their Python. xlnapkin's own earlier copy is upgraded. Another "
                          "add-in already there is kept when it is for the same xlwings "
                          "version; otherwise nothing changes and the command fails, saying how "
                          "to match the versions or replace it (--replace). remove: "
                          "only the copy xlnapkin put there and nobody replaced, while your "
                          "user-wide settings list no other UDF modules; --replace removes it "
                          "anyway. Close Excel first. Windows only; elsewhere it reports "
                          "skipped."),
        epilog="examples:\n  $ xlnapkin excel addin install --dry-run\n"
               "  $ xlnapkin excel addin remove")
    p.add_argument("action", choices=("install", "remove"), help="what to do")
    p.add_argument("--python", metavar="PATH", default=None,
                   help="the Python whose xlwings the functions run with (default: this one)")
    p.add_argument("--replace", action="store_true",
                   help="install: replace another add-in already there; remove: remove it even "
                        "if it is not xlnapkin's copy")
    p.add_argument("--dry-run", action="store_true",
                   help="print what would change and write nothing")
    _home_platform(p)
    p.set_defaults(func=_run_excel_addin)


def _run_lite(ns) -> int:
    from .lite import lite_files, write_lite
    written = write_lite(ns.out, force=ns.force)
    for name in lite_files():
        path = ns.out / name
        print(f"{'wrote' if path in written else 'unchanged'} {path} "
              f"({path.stat().st_size:,} bytes)")
    print(_LITE_NEXT)
    return 0


def _add_lite(sub):
    p = sub.add_parser(
        "lite", formatter_class=_FORMATTER,
        help="write main.py and requirements.txt for xlwings Lite",
        description=_para("Write the two files to paste into the xlwings Lite add-in (Excel on "
                          "Windows, macOS and the web). main.py carries the whole package, so no "
                          "package index is asked for xlnapkin; requirements.txt names only "
                          "packages on PyPI and Pyodide. A file that differs is overwritten only "
                          "with --force."),
        epilog="examples:\n  $ xlnapkin lite\n  $ xlnapkin lite --out installer/lite --force")
    p.add_argument("--out", metavar="DIR", type=_path, default=Path("xlnapkin-lite"),
                   help="folder to write into (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="overwrite files that differ")
    p.set_defaults(func=_run_lite)


def _run_release(ns) -> int:
    from .release import build_release
    print(build_release(ns.out, force=ns.force).describe())
    return 0


def _add_release(sub):
    p = sub.add_parser(
        "release", formatter_class=_FORMATTER,
        help="build the release folder and zip (wheel, installer, Lite files, workbooks)",
        description=_para("Build DIR/xlnapkin-VERSION/ and DIR/xlnapkin-VERSION.zip: the wheel, "
                          "install.ps1/install.bat/uninstall.ps1/uninstall.bat, lite/main.py and "
                          "lite/requirements.txt, the template workbooks, the guides and the "
                          "pages they link to, and a README.txt. Needs the `build` package, "
                          "which the test extra has (uv run --extra test xlnapkin release); "
                          "run it from a checkout. See "
                          "docs/release.md."),
        epilog="examples:\n  $ xlnapkin release\n  $ xlnapkin release --out dist --force")
    p.add_argument("--out", metavar="DIR", type=_path, default=Path("dist"),
                   help="folder to write into (default: %(default)s)")
    p.add_argument("--force", action="store_true",
                   help="replace a release folder and zip of this version")
    p.set_defaults(func=_run_release)


def _add_setup_commands(sub) -> None:
    _add_excel(sub)
    _add_lite(sub)
    _add_release(sub)


def _setup_parser():
    """A parser with only the set-up commands (see ``_SETUP_COMMANDS``)."""
    parser = _Parser(prog="xlnapkin", description=_DESCRIPTION, formatter_class=_FORMATTER)
    _add_setup_commands(parser.add_subparsers(dest="command", metavar="COMMAND",
                                              title="commands"))
    return parser


# --- the parser ---------------------------------------------------------------------------------

_DESCRIPTION = """\
Napkin math for LLM serving: every xlnapkin Excel function as a command, plus the catalog,
template workbooks, headless recalculation and Excel set-up.

  $ xlnapkin tokens-per-sec h100-sxm llama-3.1-70b 32 4096 fp8 --num-gpus 2
  $ xlnapkin kv-bytes llama-3.1-70b 1024,8192,131072
  $ xlnapkin recalc workbooks/functions_showcase.xlsx --set batch=64

recalc needs the formulas package: pip install "xlnapkin-<version>-py3-none-any.whl[recalc]"
from a release, or uv run --extra recalc xlnapkin recalc ... in a clone."""

def build_parser():
    """The full parser, and ``{command: parser}`` for the function commands."""
    from ._excel import describe
    from .docgen import functions
    parser = _Parser(prog="xlnapkin", description=_DESCRIPTION, formatter_class=_FORMATTER,
                     epilog="`xlnapkin COMMAND --help` shows a command's arguments, units and "
                            "an example.\nReference: docs/reference.md\n" + _EXIT_HELP)
    parser.add_argument("--version", action="version", version=f"xlnapkin {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    _add_estimate(sub)
    _add_catalog(sub)
    _add_templates(sub)
    _add_recalc(sub)
    _add_docs(sub)
    _add_setup_commands(sub)
    function_parsers = {}
    for func in functions().values():
        doc = describe(func)
        function_parsers[doc.name.lower().replace("_", "-")] = _add_function(sub, doc, func)
    return parser, function_parsers


def _commands(parser) -> list[str]:
    """The command names ``parser`` takes."""
    return [name for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for name in action.choices]


def _innermost(parser, argv):
    """The (sub)command parser that ``argv``'s leading command words name."""
    for word in argv:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or word not in subs[0].choices:
            break
        parser = subs[0].choices[word]
    return parser


def main(argv=None) -> int:
    """Run the command line; return the exit code."""
    # NumPy's overflow and invalid-value warnings in the engine: its results already say what
    # they mean (NaN: a message), and a warning's source line is not for a user's screen (a
    # hardening audit found one before the Error: line)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"xlnapkin(\.|$)")
        return _main(argv)


def _main(argv) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):  # text a console's code page lacks is escaped
        with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
            stream.reconfigure(errors="backslashreplace")
    if sys.stdout is None:  # started with standard output closed (`>&-`): nowhere to answer
        if sys.stderr is not None:
            print("Error: standard output is closed, so there is nowhere to print to",
                  file=sys.stderr)
        return 1
    if sys.stderr is None:  # closed (`2>&-`): print() would write the Error: and note: lines
        sys.stderr = open(os.devnull, "w")  # to stdout instead, into the --json answer
    for arg in argv:  # argparse reads `--batch=--` as an empty list (a traceback)
        if re.fullmatch(r"--[^=\s]+=--", arg):
            where = f"xlnapkin {argv[0]}" if argv[0] != arg else "xlnapkin"
            print(f"Error: {arg.split('=')[0]} needs a value, got '--' (see `{where} "
                  f"--help`)", file=sys.stderr)
            return 2
    ns = None
    try:
        if argv and argv[0] in _SETUP_COMMANDS:
            parser, function_parsers = _setup_parser(), {}
        else:
            parser, function_parsers = build_parser()
        if argv and argv[0] not in function_parsers and not argv[0].startswith("-"):
            # the Excel name works too: TOKENS_PER_SEC or tokens_per_sec is tokens-per-sec
            dashed = argv[0].strip().lower().replace("_", "-")
            if dashed in function_parsers or (dashed in _commands(parser)
                                              and argv[0] not in _commands(parser)):
                argv[0] = dashed  # ESTIMATE is estimate
            elif argv[0] not in _commands(parser):
                near = difflib.get_close_matches(dashed, _commands(parser), n=3)
                print(f"Error: unknown command {argv[0]!r}"
                      + (f": did you mean {', '.join(near)}?" if near else "")
                      + " (xlnapkin --help lists them)", file=sys.stderr)
                return 2
        if argv and argv[0] in function_parsers:
            # options and positionals in any order: `tokens-per-sec h100 m --batch 8 4096`
            ns = function_parsers[argv[0]].parse_intermixed_args(argv[1:])
        else:
            ns, extra = parser.parse_known_args(argv)
            if extra:  # the help of the command given (a CLI audit: `xlnapkin --help`'s)
                _innermost(parser, argv).error(f"unrecognized arguments: {' '.join(extra)}")
        if getattr(ns, "func", None) is None:
            # no command: the help, on stderr, and a bad command line's exit (a CLI review: a
            # CI step whose command variable was empty passed), as `xlnapkin catalog` alone
            parser.print_help(sys.stderr)
            return 2
        return ns.func(ns)
    except (NoResult, CannotRunError) as exc:
        _json_error(ns, exc)
        print(f"Error: {_shown(str(exc))}", file=sys.stderr)
        return EXIT_MESSAGES
    except NapkinError as exc:
        # an option's value refused while the command line is read: no namespace yet
        # (--json as argparse reads it: any unambiguous start, --js too)
        asked = any(len(a) > 3 and "--json".startswith(a) for a in argv)
        _json_error(ns if ns is not None else argparse.Namespace(json=asked), exc)
        print(f"Error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `xlnapkin catalog gpus | head`
        sys.stderr.close()
        return 0
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        _json_error(ns, f"{exc.strerror or exc}{where}")
        print(f"Error: {_one_line(exc.strerror or exc)}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Error: interrupted", file=sys.stderr)
        return 130


def _json_error(ns, exc) -> None:
    """With --json, an error once the command line is read is ``{"error": "..."}`` on stdout
    too (the Error: line stays on stderr): a script reads stdout whatever went wrong (a user
    audit found it on one stream or the other depending on which check refused)."""
    if getattr(ns, "json", False):
        with contextlib.suppress(OSError):  # JSON escapes what a terminal would obey itself
            print(json.dumps({"error": _one_line(exc, shown=False)}))


def _one_line(message, shown=True) -> str:
    """An error message on one line, whatever a library or a crafted file put in it; ``shown``:
    with the characters a terminal would obey written as escapes (:func:`_shown`)."""
    line = " ".join(str(message).split())
    return _shown(line) if shown else line
