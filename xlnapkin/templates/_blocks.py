"""Blocks every template builds from: check formulas and the Checks block, the calibrated
assumptions (generated from :func:`xlnapkin.calibration.constants`), catalog values with your
input beside them, the gate that feeds the Working sheet checked inputs, and the outputs that
say ``check inputs`` instead of an error.

A block writes rows through :class:`~xlnapkin.templates._style.Block`, so every row is a defined
name and formulas refer to names, never to addresses.
"""

from __future__ import annotations

from openpyxl.styles import Alignment

from .. import calibration
from .._checks import requirement
from ..memory import KV_DTYPE, MEM_FRACTION
from . import _style as st

__all__ = ["number_check", "rule_check", "row_check", "whole_check", "dtype_check", "id_check",
           "resolve_id", "checks", "calibration_inputs", "calibration_check",
           "calibration_format", "calibration_used", "catalog_value", "catalog_check",
           "used_inputs", "output", "workload_checks", "two_lines", "across"]

CHECK_OK = '"OK"'


def hours_a_day(hours_per_month: str) -> str:
    """``economics._hours_per_day`` of the cell or name ``hours_per_month``: the hours a day a
    fleet serves when it runs that many hours a month (all 24 from 730). The sheet checks the
    hours itself."""
    return f"MIN(24,{hours_per_month}*12/365)"


def number_check(name, label, minimum, maximum=None, min_open=False, max_open=False) -> str:
    """'OK', or '<label> must be a number ...' (text, blanks and values out of range), in the
    engine's words (:func:`xlnapkin._checks.requirement`)."""
    x = "{" + name + "}"
    words = requirement(minimum, maximum, min_open=min_open, max_open=max_open)
    msg = f'"{label} must be {words}"'
    minimum, maximum = _g(minimum), _g(maximum)
    if maximum is None:
        bad = f"{x}{'<=' if min_open else '<'}{minimum}"
    else:
        bad = (f"OR({x}{'<=' if min_open else '<'}{minimum},{x}{'>=' if max_open else '>'}"
               f"{maximum})")
    return f"IF(NOT(ISNUMBER({x})),{msg},IF({bad},{msg},{CHECK_OK}))"


def rule_check(name, label, rule: dict) -> str:
    """The check of an input whose rule (``minimum``, ``maximum``, ``min_open``, ``max_open``,
    ``whole``) also gives its cell's Excel warning (:func:`_style.add_number_validation`): the
    bounds written once."""
    if rule.get("whole"):
        assert not (rule.get("min_open") or rule.get("max_open")), rule
        return whole_check(name, label, rule["minimum"], rule.get("maximum"))
    return number_check(name, label, rule["minimum"], rule.get("maximum"),
                        rule.get("min_open", False), rule.get("max_open", False))


def row_check(rows, name: str, label: str | None = None) -> str:
    """The check of the input row ``name`` of ``rows`` (its name first, its rule last), from
    its rule (:func:`rule_check`); ``label``: the message's name, the input's by default."""
    rule, = (r[-1] for r in rows if r[0] == name)
    return rule_check(name, label or name, rule)


def _g(x):
    """A bound as a message and a formula write it: 744, not 744.0."""
    return x if x is None or isinstance(x, str) else f"{x:g}"


def whole_check(name, label, minimum=1, maximum=None) -> str:
    x = "{" + name + "}"
    msg = f'"{label} must be {requirement(minimum, maximum, integer=True)}"'
    minimum, maximum = _g(minimum), _g(maximum)
    high = "" if maximum is None else f",{x}>{maximum}"
    return (f"IF(NOT(ISNUMBER({x})),{msg},IF(OR({x}<{minimum},{x}<>INT({x}){high}),{msg},"
            f"{CHECK_OK}))")


def dtype_check(name, label, blank_ok=False) -> str:
    """A dtype input: a name from the Catalog's list or one of its other names (``awq``), or a
    number of bits (blank: OK where it means the model's released format)."""
    x = "{" + name + "}"
    blank = f"IF(ISBLANK({x}),{CHECK_OK}," if blank_ok else ""
    return (f'{blank}IF(ISNUMBER({x}),IF(AND({x}>0,{x}<=64),{CHECK_OK},"{label}: bits must be in '
            f'(0, 64]"),IF(AND(ISNA(MATCH({x},dtype_names,0)),ISNA(MATCH({x},'
            f'dtype_alias_names,0))),"unknown {label}: pick one from the list",{CHECK_OK}))'
            + (")" if blank_ok else ""))


def _dtype_name(x: str) -> str:
    """A dtype input under its Catalog name: another name (``awq``) as the one it stands for
    (``int4``), as ``units.dtype_name`` reads it; a listed name or a number as it is."""
    return f"IFERROR(INDEX(dtype_alias_targets,MATCH({x},dtype_alias_names,0)),{x})"


def _normal(name) -> str:
    """The engine's id normal form in formulas: lower case, '-' for spaces and '_', no ()."""
    out = "LOWER(TRIM({" + name + "}))"
    for a, b in ((" ", "-"), ("_", "-"), ("(", ""), (")", ""), ("--", "-"), ("--", "-")):
        out = f'SUBSTITUTE({out},"{a}","{b}")'
    return out


def _key(kind: str, name: str) -> str:
    """The lookup key of an input: its normal form; for a model, after its owner
    ("meta-llama/Llama-3.1-8B-Instruct" is "llama-3.1-8b-instruct"), as ``catalog`` reads a
    name with an owner that is not itself a key (the key lists hold each model's repository
    name after its owner, so the two agree: a test checks it)."""
    x = _normal(name)
    return x if kind != "model" else f'MID({x},IFERROR(FIND("/",{x}),0)+1,999)'


def resolve_id(kind: str, name: str) -> str:
    """The catalog id an input names (id or alias, any case and separators), or ''."""
    return f'IFERROR(INDEX({kind}_key_ids,MATCH({_key(kind, name)},{kind}_keys,0)),"")'


def id_check(kind: str, name: str, label: str) -> str:
    return (f'IF(ISNA(MATCH({_key(kind, name)},{kind}_keys,0)),"unknown {label}: pick one from '
            f'the list",{CHECK_OK})')


# The Checks block's heading note: the yes/no rows beside the checks (TRUE/FALSE in Excel, 1/0
# in LibreOffice's print) are the gates the outputs read, not checks.
CHECKS_NOTE = "each check must say OK; TRUE/FALSE rows follow"


def checks(block, rows, gate="inputs_ok") -> None:
    """The Checks block: one row per (name, label, formula); ``gate`` is TRUE when all say OK.
    Defines ``checks`` (the range) and ``gate``."""
    first = block.row
    for name, label, formula in rows:
        block.add(name, label, formula, fmt="text", kind="check")
    last = block.row - 1
    col = block.value_col
    st.define(block.wb, "checks", block.ws.title, st.column_range(col, first, last))
    st.mark_checks(block.ws, f"{st.get_column_letter(col)}{first}:"
                             f"{st.get_column_letter(col)}{last}")
    block.add(gate, "All inputs OK?", 'COUNTIF(checks,"OK")=ROWS(checks)', fmt="bool")


def calibration_inputs(block, mem_note="weights + KV must fit in it") -> list[str]:
    """One input row per calibration constant (label, unit, note and default from the
    :class:`~xlnapkin.calibration.Efficiency` field metadata), named ``cal_<constant>``, and
    the memory share (``mem_note`` beside it)."""
    block.heading("Efficiency assumptions", "xlnapkin.calibration: fitted on measurements")
    block.add("efficiency", "Efficiency (blank = calibrated; 1 = roofline)", None,
              "0-1", "e sets MBU = MFU = e, no overheads", "num", "input",
              validation=(0, 1, True))
    names = []
    for c in calibration.constants():
        block.add(f"cal_{c.name}", c.label, c.value, c.unit, c.note, calibration_format(c),
                  "input", validation=_bounds(c))
        names.append(f"cal_{c.name}")
    block.add("mem_fraction", "Share of GPU memory the engine may use", MEM_FRACTION, "0-1",
              mem_note, "pct", "input", validation=MEM_RULE)
    return names


# the memory share's rule, for its check and its cell's warning (a review: the warning allowed 0)
MEM_RULE = dict(minimum=0, maximum=1, min_open=True)


def _bounds(c) -> dict:
    """A calibrated constant's rule (:func:`rule_check`'s keywords), for its part of
    :func:`calibration_check` and its cell's warning: a utilisation in (0, 1], a factor kept
    >= 1, an overhead >= 0 (a switch in [0, 1])."""
    if c.roofline == calibration.SCALES:
        return dict(minimum=0, maximum=1, min_open=True)
    if c.roofline == calibration.KEPT:
        return dict(minimum=1)
    return dict(minimum=0, maximum=1) if c.unit == "0/1" else dict(minimum=0)


def _within(x: str, rule: dict) -> list[str]:
    """The comparisons that hold ``x`` within ``rule`` (:func:`_style.within`)."""
    return st.within(x, rule["minimum"], rule.get("maximum"), rule.get("min_open", False),
                     rule.get("max_open", False))


def calibration_check() -> tuple[str, str, str]:
    """One Checks row for all calibrated constants and the memory share."""
    nums, ranges = ["ISNUMBER({mem_fraction})"], _within("{mem_fraction}", MEM_RULE)
    for c in calibration.constants():
        x = "{cal_" + c.name + "}"
        nums.append(f"ISNUMBER({x})")
        ranges += _within(x, _bounds(c))
    formula = (f"IF(AND({','.join(nums)}),IF(AND({','.join(ranges)}),{CHECK_OK},"
               '"utilisations and memory share in (0, 1], overheads >= 0, engine limits >= 1"),'
               '"efficiency assumptions must be numbers")')
    return ("check_calibration", "Calibrated constants", formula)


def catalog_value(block, name, label, lookup, unit, fmt, source_note,
                  missing="no catalog price", positive=False) -> None:
    """Rows for a value that follows the catalog: the catalog value (``<name>_catalog``, or
    ``missing``), the blue input (``<name>``, blank = use the catalog), the value used
    (``<name>_effective``) and a warning (``<name>_note``) when the catalog has none or the
    value typed differs from it. :func:`catalog_check` is its Checks row; ``positive``: the
    input's pop-up asks for more than 0, as that check's ``min_open`` does."""
    block.add(f"{name}_catalog", f"{label}: catalog", f'IFERROR(IF(N({lookup})>0,N({lookup}),'
              f'"{missing}"),"{missing}")', unit, source_note, fmt)
    block.add(name, f"{label}: yours (blank = catalog)", None, unit,
              "type a number to override", fmt, "input",
              validation=(0, None, True, bool(positive)))
    o, c = "{" + name + "}", "{" + name + "_catalog}"
    block.add(f"{name}_effective", f"{label}: used", f'IF(ISNUMBER({o}),{o},IF(ISNUMBER({c}),{c},"enter a '
              f'value"))', unit, "", fmt)
    block.add(f"{name}_note", f"{label}: warning",
              f'IF(ISNUMBER({o}),IF(ISNUMBER({c}),IF(ABS({o}-{c})>1E-9*ABS({c}),"yours differs '
              f'from the catalog ("&TEXT({c},"#,##0.00")&")","OK"),"OK: yours (the catalog has '
              f'none)"),IF(ISBLANK({o}),IF(ISNUMBER({c}),"OK","{missing}: enter yours"),'
              f'"yours is not a number: see Checks"))', fmt="text",
              kind="check")
    col = st.get_column_letter(block.value_col)
    st.mark_checks(block.ws, f"{col}{block.row - 1}")


def catalog_check(name, label, missing="no catalog price", minimum=0, needed="TRUE",
                  min_open=False):
    """The Checks row of :func:`catalog_value`: while ``needed`` holds, a number is needed,
    from the catalog or from you; a value you type must be a number either way, at least
    ``minimum``, and above it with ``min_open`` while ``needed`` holds (a rented GPU at $0 is
    a slip, not a price; an owner's unused rental price may be 0)."""
    o, c = "{" + name + "}", "{" + name + "_catalog}"
    bad = f'"{label} must be a number >= {minimum}"'
    above = '"OK"'
    if min_open:  # one rule in every message while it applies (an audit: text read ">= 0")
        more = f'"{label} must be a number > {minimum}"'
        bad = f"IF({needed},{more},{bad})"
        above = f'IF({needed},IF({o}<={minimum},{more},"OK"),"OK")'
    return (f"check_{name}", label,
            f'IF(ISBLANK({o}),IF(OR(ISNUMBER({c}),NOT({needed})),"OK","{label}: {missing}: '
            f'enter yours"),IF(NOT(ISNUMBER({o})),{bad},IF({o}<{minimum},{bad},{above})))')


def calibration_format(c) -> str:
    """How a calibration constant's cells show: seconds in scientific notation (0.000 would hide
    them), the engine cap as a whole number, shares to three decimals."""
    return "sci" if c.unit == "s" else ("int" if c.roofline == calibration.KEPT else "num3")


def calibration_used(defaults: dict) -> None:
    """The Working sheet's ``cal_<name>`` rows for :func:`used_inputs`."""
    for c in calibration.constants():
        defaults[f"cal_{c.name}"] = ("{cal_" + c.name + "}", c.value, calibration_format(c))


def used_inputs(block, defaults: dict, gate="inputs_ok", gates=None,
                note="While a check fails, every row below uses the default inputs (see Checks)."
                ) -> dict:
    """The Working sheet's copies of the inputs: ``<name>_used`` is the input while every check
    says OK (``gate``, or ``gates[name]`` for that input), else the default, so one bad input
    shows its check message instead of a wall of errors. Returns the alias map for
    :class:`~xlnapkin.templates._style.Block`."""
    block.text(note)
    alias = {}
    for name, (source, default, fmt) in defaults.items():
        fallback = f'"{default}"' if isinstance(default, str) else repr(float(default))
        g = (gates or {}).get(name, gate)
        block.add(f"{name}_used", f"{name} as used", f"IF({{{g}}},{source},{fallback})",
                  "", "", fmt)
        alias[name] = f"{name}_used"
    return alias


def weight_dtype_used() -> str:
    """The weight dtype input as the engine reads it: blank is the model's released format
    (the Catalog's native_dtype; bf16 where it has none), as ``memory.weight_dtype_of``."""
    native = "INDEX(model_native_dtype,{model_row})"
    return (f'IF(ISBLANK({{weight_dtype}}),IF({native}="","bf16",{native}),'
            f'{_dtype_name("{weight_dtype}")})')


def kv_dtype_used() -> str:
    """The KV dtype input as the engine reads it: blank is ``memory.KV_DTYPE`` (bf16)."""
    return f'IF(ISBLANK({{kv_dtype}}),"{KV_DTYPE}",{_dtype_name("{kv_dtype}")})'


def output(block, name, label, calc, unit, fmt, note="", gate="all_ok",
           otherwise="check inputs"):
    """An output: the working value while ``gate`` holds, else ``otherwise``."""
    return block.add(name, label, f'IF({{{gate}}},{{{calc}}},"{otherwise}")', unit, note, fmt,
                     "output")


# The bounds of the serving inputs shared by the self-host template and the planner, for their
# checks and their cells' Excel warnings (rule_check)
WHOLE = dict(minimum=1, whole=True)
WORKLOAD_RULES = {"num_gpus": WHOLE, "input_tokens": WHOLE, "output_tokens": WHOLE}


def workload_checks() -> list[tuple[str, str, str]]:
    """Checks of the serving inputs shared by the self-host template and the planner."""
    eff = "{efficiency}"
    msg = '"efficiency must be blank, 0 (both calibrated) or a number in (0, 1]"'
    return [
        ("check_model", "Model", id_check("model", "model", "model")),
        ("check_weight_dtype", "Weight dtype",
         dtype_check("weight_dtype", "weight dtype", blank_ok=True)),
        ("check_kv_dtype", "KV dtype", dtype_check("kv_dtype", "KV dtype", blank_ok=True)),
        ("check_num_gpus", "GPUs per replica",
         rule_check("num_gpus", "num_gpus", WORKLOAD_RULES["num_gpus"])),
        ("check_input_tokens", "Input tokens",
         rule_check("input_tokens", "input_tokens", WORKLOAD_RULES["input_tokens"])),
        ("check_output_tokens", "Output tokens",
         rule_check("output_tokens", "output_tokens", WORKLOAD_RULES["output_tokens"])),
        ("check_efficiency", "Efficiency",
         f"IF(ISBLANK({eff}),{CHECK_OK},IF(NOT(ISNUMBER({eff})),{msg},IF(OR({eff}<0,{eff}>1),"
         f"{msg},{CHECK_OK})))"),
        calibration_check(),
    ]


def two_lines(cell) -> None:
    """An answer whose text runs past the page: two lines across the unit and note columns."""
    across(cell)
    cell.alignment = Alignment(horizontal="left", vertical="top", wrap_text=True)
    cell.offset(column=-1).alignment = Alignment(vertical="top")  # its label beside the text
    cell.parent.row_dimensions[cell.row].height = 26


def across(cell):
    """A text answer across the unit and note columns, whose borders it would run over."""
    cell.parent.merge_cells(start_row=cell.row, start_column=cell.column, end_row=cell.row,
                            end_column=cell.column + 2)
    return cell
