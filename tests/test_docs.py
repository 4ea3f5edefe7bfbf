"""The docs cannot drift from the code.

* ``docs/reference.md`` equals a fresh ``python -m xlnapkin.docgen``;
* every Excel function's docstring has a summary and argument lines (with a ``[unit]``) that fit
  Excel's 255-character limit and cover the whole signature;
* each documented formula, read back and calculated, gives the documented result, and that result
  is what the docstring's example promises;
* the getting-started pages' commands, formulas and Python snippets run.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import math
import re
import shlex
import shutil
from pathlib import Path

import pytest

from conftest import run as run_cli

import xlnapkin
from xlnapkin import _args, _excel, _formula, cli, docgen
from xlnapkin._excel import WIZARD_LIMIT, parse_docstring
from xlnapkin.errors import NapkinError

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
REFERENCE = DOCS / "reference.md"
PAGES = {a: DOCS / f"getting-started-{a}.md" for a in ("analyst", "finance", "engineer")}
FUNCTIONS = docgen.functions()


def run(capsys, argv, cwd=None):
    return run_cli(capsys, *argv, cwd=cwd or REPO)


# --- reference.md -------------------------------------------------------------------------------

def test_reference_is_generated_from_the_current_code():
    assert REFERENCE.read_text(encoding="utf-8") == docgen.generate(), (
        f"docs/reference.md is out of date: run `{docgen.REGENERATE}`")


def _sections() -> dict[str, str]:
    text = REFERENCE.read_text(encoding="utf-8")
    parts = re.split(r"^## (\w+)\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_every_function_has_a_section_and_nothing_else_does():
    assert list(_sections()) == list(FUNCTIONS)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_docstring_fits_the_function_wizard_and_covers_the_signature(name):
    func = FUNCTIONS[name]
    doc = inspect.getdoc(inspect.unwrap(func))
    parsed = parse_docstring(doc)
    assert parsed.summary, f"{name} has no summary"
    assert len(parsed.summary) <= WIZARD_LIMIT, f"{name}: summary longer than {WIZARD_LIMIT}"
    # the unit fits beside it (an audit: two wizards dropped it)
    described = _excel.describe(func)
    assert described.result in described.wizard, f"{name}: the wizard drops the result's unit"
    params = list(inspect.signature(inspect.unwrap(func)).parameters)
    assert list(parsed.args) == params, f"{name}: Args: lines do not match the signature"
    for param, line in parsed.args.items():
        assert len(line) <= WIZARD_LIMIT, f"{name}({param}): doc line longer than {WIZARD_LIMIT}"
        assert re.search(r"\[[^\[\]]+\]$", line), f"{name}({param}) has no [unit]"
    assert _excel.describe(func).examples, f"{name} has no example"


def test_shared_arguments_are_described_once_and_used_by_several_functions():
    """Issue 2: an argument that means the same in many functions has one description
    (``xlnapkin._args.ARGS``, a docstring's ``name: *`` line); each entry is shared, and no
    function's Args keeps a ``*`` (each module fills them when it is imported)."""
    uses = {name: [] for name in _args.ARGS}
    for fname, func in FUNCTIONS.items():
        args = parse_docstring(inspect.getdoc(inspect.unwrap(func))).args
        assert "*" not in args.values(), fname
        for name, line in args.items():
            if line == _args.ARGS.get(name):
                uses[name].append(fname)
    assert {n: u for n, u in uses.items() if len(u) < 2} == {}
    # The words reach the wizard as written there (the unit apart).
    kv = _excel.describe(FUNCTIONS["KV_BYTES"]).argument("model")
    assert f"{kv.description} [{kv.unit}]" == _args.ARGS["model"]

    # _args cannot import the engine (the engine fills its docstrings from it), so the month's
    # hours are typed there: they must be the engine's (a review of duplicated facts)
    from xlnapkin.economics import HOURS_PER_MONTH, MAX_HOURS_PER_MONTH
    assert (f"({HOURS_PER_MONTH:g} = always on), at most {MAX_HOURS_PER_MONTH:g} "
            in _args.ARGS["hours_per_month"])
    assert f"({HOURS_PER_MONTH:g} / 24 = a calendar" in _args.ARGS["days_per_month"]


def test_a_star_with_no_shared_description_is_refused():
    def f(gpu, speed):
        """x.

        Args:
            gpu: *
            speed: *
        """
    with pytest.raises(RuntimeError, match="'speed' says '\\*'"):
        _args.fill({"__name__": f.__module__, "f": f})


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_a_function_that_returns_numbers_names_their_unit(name):
    """The summary ends in the result's ``[unit]`` where the examples return numbers (the
    reference and ``--help`` say it, the command line prints it); catalog lookups and text
    leave it out (a catalog field's unit is in its name)."""
    doc = _excel.describe(FUNCTIONS[name])
    results = [FUNCTIONS[name](*ex.args) for ex in doc.examples]
    numbers = all(isinstance(r, (int, float)) and not isinstance(r, bool) for r in results)
    if numbers and not name.endswith("_SPEC"):
        assert doc.unit and "[" not in doc.summary, f"{name}'s summary names no [unit]"
        assert f"\n\n{doc.result}" in _sections()[name]
        assert ("a share (0.25 = 25 %)" if doc.unit == "0-1" else doc.unit) in doc.result
    else:
        assert doc.unit is None, f"{name} returns {results[0]!r}, with a unit {doc.unit!r}"


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_a_note_that_ends_in_a_unit_names_the_results(name):
    """A paragraph of the docstring's body that closes on a ``[unit]`` (the formula, a note)
    names the summary's: the unit of one result is written twice, and they had drifted
    (``[users]`` for users/GPU, ``[ratio]`` for a share, ``[USD/year]`` for ``[USD]``)."""
    doc = _excel.describe(FUNCTIONS[name])
    body = inspect.cleandoc(inspect.getdoc(getattr(FUNCTIONS[name], "engine", FUNCTIONS[name])))
    for paragraph in body.split("\n\n")[1:]:
        m = re.search(r"\[([^\[\]]+)\]\s*$", paragraph)
        if m and not paragraph.lstrip().startswith(("Args:", ">>>")):
            assert m.group(1) == doc.unit, f"{name}: [{m.group(1)}] after [{doc.unit}]"


def _documented_rows():
    rows = []
    for name, body in _sections().items():
        for m in re.finditer(r"^\| `(=.+?)` \| `(.*)` \|$", body, flags=re.M):
            rows.append((name, m.group(1).replace("\\|", "|"), m.group(2).replace("\\|", "|")))
    return rows


ROWS = _documented_rows()


def test_every_function_shows_an_example_formula():
    assert {name for name, _, _ in ROWS} == set(FUNCTIONS)


@pytest.mark.parametrize("name,formula,result", ROWS, ids=[r[1][:60] for r in ROWS])
def test_documented_formula_round_trips(name, formula, result):
    parsed, args = _formula.parse_formula(formula)
    assert parsed == name
    assert _formula.format_result(FUNCTIONS[name](*args)) == result
    assert _formula.parse_formula(_formula.to_formula(name, args)) == (name, args)


def _want(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_documented_results_are_what_the_docstring_promises(name):
    """For an example that is just the call, the doc's result matches the doctest's output to
    the digits the doctest gives (doctest's NUMBER option)."""
    section = _sections()[name]
    for ex in _excel.describe(FUNCTIONS[name]).examples:
        formula = _formula.to_formula(name, ex.args, ex.sources)
        m = re.search(r"^\| `" + re.escape(formula) + r"` \| `(.*)` \|$", section, flags=re.M)
        assert m, f"{formula} is not in the {name} section"
        want = _want(ex.want) if ex.plain else None
        if isinstance(want, (int, float)) and not isinstance(want, bool):
            shown = float(m.group(1))
            digits = len(ex.want.split(".")[1]) if "." in ex.want else 0
            assert math.isclose(shown, want, rel_tol=1e-6, abs_tol=0.5 * 10 ** -digits), (
                name, shown, want)
        elif isinstance(want, str):
            assert m.group(1) == want


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_documented_command_lines_run(capsys, name):
    section = _sections()[name]
    commands = re.findall(r"^\$ (xlnapkin .+)$", section, flags=re.M)
    assert commands, f"no command line for {name}"
    params = [a.name for a in _excel.describe(FUNCTIONS[name]).arguments]
    for _, formula, _ in [r for r in ROWS if r[0] == name]:
        _, args = _formula.parse_formula(formula)
        command = _formula.to_command(name, args, params)
        assert command in commands
        code, out, err = run(capsys, shlex.split(command)[1:])
        assert code == 0, (command, err)
        value = FUNCTIONS[name](*args)
        if not isinstance(value, list):
            assert out.strip() == cli._plain(value), command


def test_docgen_check_passes_on_the_committed_file(capsys):
    assert run(capsys, ["docs", "--check", "--out", str(REFERENCE)])[0] == 0


# --- getting-started pages ----------------------------------------------------------------------

def _blocks(page: Path, kind: str) -> list[str]:
    text = page.read_text(encoding="utf-8")
    return [m.group(1) for m in re.finditer(r"^ *```" + kind + r"\n(.*?)^ *```", text,
                                            flags=re.M | re.S)]


@pytest.fixture
def workdir(tmp_path):
    """A scratch folder with a copy of workbooks/, where the pages' commands can write."""
    shutil.copytree(REPO / "workbooks", tmp_path / "workbooks")
    return tmp_path


def test_pages_exist_and_cover_their_audience():
    for page in PAGES.values():
        assert page.is_file() and "(reference.md)" in page.read_text(encoding="utf-8")
    analyst = PAGES["analyst"].read_text(encoding="utf-8")
    assert "Import Functions" in analyst and "xlwings Lite" in analyst
    finance = PAGES["finance"].read_text(encoding="utf-8")
    for workbook in ("self_host_breakeven", "multi_tenant_savings", "capacity_planner"):
        assert f"workbooks/{workbook}.xlsx" in finance
    engineer = PAGES["engineer"].read_text(encoding="utf-8")
    assert "--json" in engineer and "```python" in engineer and "xlnapkin recalc" in engineer


@pytest.mark.parametrize("audience", list(PAGES))
def test_page_commands_run(capsys, workdir, audience):
    commands = [line.strip()[2:] for block in _blocks(PAGES[audience], "console")
                for line in block.splitlines() if line.strip().startswith("$ ")]
    assert commands, f"getting-started-{audience}.md shows no command"
    needs_recalc = any(" recalc " in f" {c} " for c in commands)
    if needs_recalc:
        pytest.importorskip("formulas")
    if any(c.startswith("xlnapkin templates") for c in commands):
        pytest.importorskip("xlnapkin.templates")
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "xlnapkin", command
        if argv[1:3] == ["templates", "build"]:
            # formulas only: storing the results would recalculate every template (half a
            # minute; test_cli.py checks that the build stores them)
            argv.append("--no-values")
        code, out, err = run(capsys, argv[1:], cwd=workdir)
        assert code == 0, (command, err)
        assert out.strip(), command


def test_shown_errors_are_what_the_command_prints(capsys):
    for block in _blocks(PAGES["engineer"], "text"):
        lines = block.strip().splitlines()
        for i, line in enumerate(lines):
            if line.startswith("$ xlnapkin "):
                expected = lines[i + 1]
                code, out, err = run(capsys, shlex.split(line[2:])[1:])
                assert err.strip() == expected, (line, err)
                # a mistake exits 1; a configuration that cannot run is a result: 3
                assert code == (3 if "cannot be split" in expected else 1), (line, code)


@pytest.mark.parametrize("audience", ["analyst"])
def test_page_formulas_calculate(audience):
    formulas = [line.strip() for block in _blocks(PAGES[audience], "excel")
                for line in block.splitlines() if line.strip().startswith("=")]
    assert len(formulas) >= 5
    for formula in formulas:
        name, args = _formula.parse_formula(formula)
        try:
            value = cli.call(FUNCTIONS[name], *args)
        except NapkinError as exc:
            pytest.fail(f"{formula}: {exc}")
        assert isinstance(value, (int, float)) or value == xlnapkin.__version__, (formula, value)


def _shown_results(lines):
    """Check ``=FORMULA   result`` lines: the number shown (to its digits) or the message."""
    for line in lines:
        formula, shown = re.split(r"\s{2,}", line, maxsplit=1)
        name, args = _formula.parse_formula(formula)
        value = cli.call(FUNCTIONS[name], *args)
        number = re.match(r"[\d,]+(\.\d+)?", shown)
        if number:
            digits = len(number.group(1) or ".") - 1
            assert round(value, digits) == float(number.group(0).replace(",", "")), line
        else:
            assert value == shown, line


def test_latency_page_results_are_what_the_functions_return():
    # docs/latency.md shows formulas with their results (a number with a unit, or a message).
    lines = [line.strip() for block in _blocks(DOCS / "latency.md", "text")
             for line in block.splitlines() if line.strip().startswith("=")]
    assert len(lines) >= 5
    _shown_results(lines)


def test_economics_headings_show_each_function_signature():
    # "### NAME(a, b, [c=0.7])": every argument in order, brackets on the optional ones, and
    # any default shown is the function's own (a heading written by hand drifts otherwise).
    page = "economics.md"
    text = (DOCS / page).read_text(encoding="utf-8")
    headings = re.findall(r"^#+ (.*[A-Z_]+\(.*\).*)$", text, flags=re.M)
    shown = [m for h in headings for m in re.finditer(r"([A-Z_]{3,})\(([^)]*)\)", h)
             if m.group(1) in FUNCTIONS]
    assert shown, page
    for m in shown:
        args = _excel.describe(FUNCTIONS[m.group(1)]).arguments
        tokens = [t.strip() for t in m.group(2).split(",")]
        assert len(tokens) == len(args), m.group(0)
        for token, a in zip(tokens, args):
            parts = re.fullmatch(r"(\[)?(\w+)(?:=([^\]]+))?(\])?", token)
            assert parts and parts.group(2) == a.name, (m.group(0), token)
            assert bool(parts.group(1)) == (not a.required), (m.group(0), token)
            if parts.group(3) is not None:
                value = eval(parts.group(3), {})  # a number or plain arithmetic (730/24)
                assert value == pytest.approx(float(a.default), rel=1e-6), (m.group(0), token)


def test_economics_page_results_are_what_the_functions_return():
    # docs/economics.md's worked examples: "| `=FORMULA` (note) | result |", the result a
    # number to the digits shown (a share as a percentage) and maybe a unit or a remark after.
    text = (DOCS / "economics.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(=[A-Z_]+\(.*?\))`[^|]* \| ([^|]+) \|$", text, flags=re.M)
    assert len(rows) >= 45
    for formula, shown in rows:
        # An argument written as arithmetic of numbers (1e9/(730/24)) is worked out first.
        formula = re.sub(r"(?<=[(,])([\d.e]+/\([\d.]+/[\d.]+\))(?=[,)])",
                         lambda m: repr(eval(m.group(1))), formula)
        name, args = _formula.parse_formula(formula)
        value = cli.call(FUNCTIONS[name], *args)
        number = re.match(r"(-?[\d,]+(\.\d+)?)( %)?", shown)
        assert number and isinstance(value, float), (formula, shown, value)
        digits = len(number.group(2) or ".") - 1
        if number.group(3):
            value *= 100.0
        assert round(value, digits) == float(number.group(1).replace(",", "")), (formula, shown)


_SCALES = {"GB": 1e9, "M": 1e6, "K": 1e3, "B": 1.0, "%": 0.01}


def test_seed_audit_reproductions_are_what_the_functions_return():
    # docs/seed_audit.md's "`FORMULA` = result" reproductions, to the digits shown and in the
    # unit written after (a seed review: the page's own figures were checked nowhere, so one
    # the tests do not pin would drift with the engine). Shorthand (an argument elided with
    # "…", a formula of two calls) is prose, not a formula, and is left out.
    text = (DOCS / "seed_audit.md").read_text(encoding="utf-8")
    found = re.findall(r"`=?([A-Z_]+\((?:[^`…]*)\))` = \$?(-?[\d,]*\.?\d+) ?(GB|M|K|B|%)?",
                       text)
    checked = 0
    for formula, shown, unit in found:
        if re.search(r"\)[^,)]", formula[:-1]) or formula.split("(")[0] not in FUNCTIONS:
            continue  # WEIGHT_BYTES(m,"int8")/WEIGHT_BYTES(m): prose, not a formula
        name, _, inside = formula[:-1].partition("(")
        # an argument written as arithmetic of numbers (188e6/3600, 10e9/(730/24)) first
        args = [repr(eval(a)) if re.fullmatch(r"[\d.e()]+(/[\d.e()]+)+", a.strip()) else a
                for a in re.split(r',(?=(?:[^"]*"[^"]*")*[^"]*$)', inside)]
        name, args = _formula.parse_formula(f"={name}({','.join(args)})")
        value = cli.call(FUNCTIONS[name], *args) / _SCALES.get(unit, 1.0)
        digits = len(shown.partition(".")[2])
        assert round(value, digits) == float(shown.replace(",", "")), (formula, shown, unit)
        checked += 1
    assert checked >= 50


def test_prose_that_quotes_a_calibrated_constant_quotes_its_value():
    # Hand-written pages repeat a few calibrated values for the reader; they must not drift.
    from xlnapkin.calibration import DEFAULTS, VENDOR_FACTOR
    cap = f"{DEFAULTS.max_concurrency:.0f}"
    fixed = f"{DEFAULTS.prefill_overhead_s * 1e3:g}"
    rules = [(r"calibrated (\d+)\b(?!\.\d| ms)", cap), (r"\b(\d+) sequences per GPU", cap),
             (r"calibrated (\d+(?:\.\d+)?) ms", fixed),
             (r"\b(\d+(?:\.\d+)?) ms calibrated", fixed),
             (r"AMD (0\.\d+)", f"{VENDOR_FACTOR['amd']:g}")]
    pages = [REPO / "README.md", REPO / "xlnapkin" / "data" / "README.md"] + [
        p for p in DOCS.glob("*.md") if p.name != "reference.md"]
    seen = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for pattern, value in rules:
            for m in re.finditer(pattern, text):
                seen += 1
                assert m.group(1) == value, (page.name, m.group(0))
    assert seen >= 3


def test_the_under_load_error_quoted_is_the_benchmark_s():
    # the Sensitivity sheet and docs/templates.md quote it for the utilization row's factors (a
    # review: two copies of a figure each refit moves)
    from xlnapkin.templates._self_host_sheets import UNDER_LOAD_ERROR
    results = (REPO / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    median, p90 = re.search(r"^\| under_load: [^|]*\| \d+ \| ([\d.]+) % \| ([\d.]+) % \|",
                            results, flags=re.M).groups()
    said = f"{float(median):.0f} % at the median, {float(p90):.0f} % at the 90th percentile"
    assert UNDER_LOAD_ERROR == said
    assert said in " ".join((DOCS / "templates.md").read_text(encoding="utf-8").split())


def test_readme_taste_results_are_what_the_functions_return():
    # README's "A taste" block: formulas on literal arguments, each with its result.
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("## A taste", 1)[1].split("```", 2)[1]
    lines = [line.strip() for line in block.splitlines()
             if line.strip().startswith("=") and not re.search(r"[A-Z]\d+:[A-Z]\d+", line)]
    assert len(lines) == 3
    _shown_results(lines)


def test_engineer_python_snippets_run(workdir):
    pytest.importorskip("formulas")
    blocks = _blocks(PAGES["engineer"], "python")
    assert len(blocks) >= 3
    with contextlib.chdir(workdir), contextlib.redirect_stdout(io.StringIO()) as out:
        for code in blocks:
            exec(compile(code, "getting-started-engineer.md", "exec"), {})
    printed = out.getvalue()
    assert "unknown gpu 'h10'" in printed and "bad input: batch must be" in printed
    assert (workdir / "showcase-b200.xlsx").is_file()


def test_readme_counts_the_excel_functions():
    # "=TOKENS_PER_SEC(...), =KV_BYTES(...), =COST_PER_MTOK(...) and N more": three named + N.
    from xlnapkin import _excel, udfs  # noqa: F401 - registers the functions
    text = (REPO / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"`=COST_PER_MTOK\(\.\.\.\)` and (\d+) more", text)
    assert shown and int(shown.group(1)) + 3 == len(_excel.REGISTRY)


def test_quoted_fit_messages_are_what_the_engine_says():
    # Pages quote the message a configuration that does not fit shows; a quote that no longer
    # matches the engine (the KV cache added to the advice, a changed memory rule) fails here.
    from xlnapkin import udfs
    said = {udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-405b", 256, 4096),
            udfs.SELF_HOST_COST_PER_MTOK("h100-sxm", "llama-3.1-405b", 2)}
    pages = [REPO / "README.md"] + [p for p in DOCS.glob("*.md") if p.name != "reference.md"]
    quoted = [(page.name, m.group(1)) for page in pages
              for m in re.finditer(r"`([\w.-]+ needs [\d.]+ GB in [^`]*)`",
                                   page.read_text(encoding="utf-8"))]
    assert len(quoted) >= 3
    for name, text in quoted:
        assert text in said, (name, text)


def test_no_function_shows_the_same_example_twice():
    # Found by a review: a call doctested plainly and rounded was shown twice in the reference
    # and in the command's --help.
    from xlnapkin import _excel
    from xlnapkin.docgen import functions
    seen = 0
    for name, fn in functions().items():
        doc = _excel.describe(fn, name)
        calls = [ex.sources for ex in doc.examples]
        seen += len(calls)
        assert len(calls) == len(set(calls)), name
    assert seen >= 60


def _stored(workbook: str, *names: str) -> list:
    """The results stored in a committed workbook under these defined names (each held to a
    recalculation at the defaults by test_templates_recalc.py)."""
    import openpyxl
    from _recalc import name_cells
    wb = openpyxl.load_workbook(REPO / "workbooks" / f"{workbook}.xlsx", data_only=True)
    cells = name_cells(wb)
    return [wb[cells[n][0][0]][cells[n][0][1]].value for n in names]


def test_dollar_figures_in_the_prose_are_what_the_engine_gives():
    # A code review: prose quoting dollars and catalog facts that no test read, so the next
    # recalibration or price update would leave them behind while every test passed.
    from xlnapkin import capacity, catalog, economics as e
    templates = (DOCS / "templates.md").read_text(encoding="utf-8")
    finance = PAGES["finance"].read_text(encoding="utf-8")
    flat = {page: re.sub(r"\s+", " ", text) for page, text in
            (("templates", templates), ("finance", finance))}
    fp8 = capacity.estimate(model="llama-3.3-70b", gpu="h100-sxm", weight_dtype="fp8",
                            tokens_per_day=2e9)
    bf16 = capacity.estimate(model="llama-3.1-70b", gpu="h100-sxm", tokens_per_day=2e8,
                             num_gpus=2)
    assert fp8.best_num_gpus == 2 and bf16.best_num_gpus == 4
    rent, levelled, own = _stored("self_host_breakeven", "rent_price", "rent_levelled",
                                  "own_hourly_calc")
    pool_same, saving_same, month_same, saving, month = _stored(
        "multi_tenant_savings", "pooled_gpus_same_service", "savings_same_service",
        "like_for_like_monthly_saving", "savings_fraction", "monthly_saving")
    h100 = catalog.gpu("h100-sxm")
    from xlnapkin.templates.self_host_breakeven import OWN
    purchase = h100.list_price_usd * (1 + next(row[2] for row in OWN if row[0] == "server_share"))
    # the finance page's pooling run: 20 tenants at 20 % of a B200, the workbook's cv 0.25,
    # correlation 0.3 and one GPU a tenant
    tenants = (20, 0.2, 0.95, 0.25, 1, 0.3)
    b200 = catalog.gpu("b200").cloud_usd_per_hour * e.HOURS_PER_MONTH
    dedicated = e.dedicated_gpus(*tenants)
    short, hours = 1 - e.pooled_coverage(*tenants), e.HOURS_PER_MONTH
    quoted = {
        "templates": [
            f'"num_gpus 2 self-hosts this volume for ${fp8.best_monthly_cost:,.0f}/month" '
            f"against ${fp8.self_host_monthly_cost:,.0f} for replicas of one",
            f"at the defaults ${rent:.2f} levels to ${levelled:.2f}",
            f"the ${levelled - own:.2f} an hour owning saves",
            f"costs ${bf16.self_host_monthly_cost:,.0f} a month with the people, on four "
            f"${bf16.best_monthly_cost:,.0f}",
            f"{pool_same:.0f} GPUs at the defaults, {saving_same * 100:.0f} % saved, "
            f"${month_same:,.0f} a month, against the {saving * 100:.0f} % and ${month:,.0f} of "
            "the pool",
            f"against 8 cards at ${h100.list_price_usd:,.0f}",
            f"what share a year would undo it, {(levelled - own) * 8760 / purchase * 100:.1f} % "
            "for an H100 at the defaults",
            f"for 8 x {h100.tdp_w:.0f} W GPUs"],
        "finance": [
            f"(0.75 is 75 %, ${(dedicated - e.pooled_gpus(*tenants)) * b200:,.0f} a month)",
            f"a pool short no more often needs {e.pooled_gpus_same_service(*tenants):.0f} GPUs",
            f"(${(dedicated - e.pooled_gpus_same_service(*tenants)) * b200:,.0f} a month) like "
            "for like",
            f"short of capacity {short * 100:.1f} % of the time ({short * hours:.1f} hours a "
            "month) where each tenant on its own deployments is short under a minute a month",
            # its two single numbers: cost-per-mtok 2.49 1500 0.7 2, breakeven at $2.50 and $0.79
            f"busy 70 % of the time (${e.cost_per_mtok(2.49, 1500, 0.7, 2):.2f})",
            f"about {e.breakeven_tokens_per_day(3635, 2.5) / 1e6:.0f} million tokens a day, "
            f"within the {e.replica_tokens_per_day(1500, 0.7) / 1e6:.0f} million",
            f"at $0.79 it gives {e.breakeven_tokens_per_day(3635, 0.79) / 1e6:.0f} million"]}
    assert (1 - e.dedicated_coverage(*tenants)) * hours * 60 < 1  # "under a minute"
    # its $3,635: "the same two [GPUs at $2.49], all month"
    assert f"${2 * 2.49 * e.HOURS_PER_MONTH:,.0f} a month of GPUs (the same two, all month)" \
        in flat["finance"]
    for page, phrases in quoted.items():
        for phrase in phrases:
            assert phrase in flat[page], (page, phrase)
    # the README on the brief's first example, which does not fit (a SPEC audit)
    from xlnapkin import udfs
    said = udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-70b", 64, 4096, "fp8", None, 2)
    need = float(re.match(r"llama-3.1-70b needs ([\d.]+) GB", said).group(1))
    readme = re.sub(r"\s+", " ", (REPO / "README.md").read_text(encoding="utf-8"))
    from xlnapkin import catalog
    from xlnapkin.memory import MEM_FRACTION
    two = 2 * catalog.gpu("h100-sxm").memory_gb
    assert (f"sequences of 4,096 tokens then need {need:.0f} GB, over the "
            f"{MEM_FRACTION * 100:.0f} % of two H100s' {two:.0f} GB") in readme
    assert isinstance(udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-70b", 64, 4096, "fp8", "fp8", 2),
                      float)


def test_file_names_in_the_docs_carry_the_package_s_version():
    # A stranger's read: the hand install names xlnapkin-0.1.0-py3-none-any.whl, a version
    # written by hand in five pages, which the next release would leave behind.
    pages = [REPO / "README.md", REPO / "installer" / "README.md", *DOCS.glob("*.md")]
    named = {(page.name, v) for page in pages for v in re.findall(
        r"(?:xlnapkin[- ]|\bv)(\d+\.\d+\.\d+)", page.read_text(encoding="utf-8"))}
    assert len({page for page, _v in named}) >= 4
    assert {v for _page, v in named} == {xlnapkin.__version__}, named


def test_the_lite_steps_say_the_same_in_every_place():
    # A review: the Lite set-up is written for four readers (the analyst guide, the installer
    # README, the release's README and main.py's header); each says the order Lite works in
    from xlnapkin import lite, release
    texts = {"analyst": PAGES["analyst"].read_text(encoding="utf-8"),
             "installer": (REPO / "installer" / "README.md").read_text(encoding="utf-8"),
             "release": release._README, "main.py": lite._MAIN}
    for name, text in texts.items():
        flat = " ".join(text.split())
        add, paste = flat.find("numpy"), flat.find("main.py", flat.find("numpy"))
        assert 0 <= add < paste, name  # numpy in the requirements tab first, then main.py
        assert "#NAME?" in flat and "save the workbook" in flat, name
    for name in ("analyst", "installer", "release"):
        flat = " ".join(texts[name].split())
        assert "macOS 13" in flat and "trust" in flat, name


def test_texts_that_quote_a_default_constant_quote_its_value():
    # A code review: "730 = always on" and "default 0.7 here" written by hand beside the
    # constants they quote (economics.HOURS_PER_MONTH, PLANNED_UTILIZATION).
    from xlnapkin import capacity
    from xlnapkin.economics import HOURS_PER_MONTH, MAX_HOURS_PER_MONTH, PLANNED_UTILIZATION
    assert (f"({HOURS_PER_MONTH:g} = always on), at most {MAX_HOURS_PER_MONTH:g}"
            in _args.ARGS["hours_per_month"])
    assert f"({HOURS_PER_MONTH:g} / 24 = a calendar month)" in _args.ARGS["days_per_month"]
    quoted = re.findall(r"(?:default|default to) (0\.\d+)(?: here|\))",
                        " ".join(f.__doc__ or "" for f in vars(capacity).values()
                                 if callable(f) and getattr(f, "__module__", "") ==
                                 capacity.__name__))
    assert quoted and set(quoted) == {f"{PLANNED_UTILIZATION:g}"}, quoted
    from xlnapkin import queueing
    latency = " ".join((DOCS / "latency.md").read_text(encoding="utf-8").split())
    assert f"weights holds fewer than {queueing.FEW_SLOTS} requests" in latency
    for f in (queueing.ttft_at_rate, queueing.tpot_at_rate):  # the sizing functions' default
        said = _excel.parse_docstring(f.__doc__).args["percentile"]
        assert f"({queueing.SLA_PERCENTILE:g} by default)" in said
