"""The capacity planner's Latency sheet: one GPU sized for a request rate and latency limits.

The spreadsheet twin of :mod:`xlnapkin.queueing`: ``MAX_RATE_FOR_SLA`` (the most requests/s one
replica serves with TTFT and TPOT at the percentile within the limits), ``REPLICAS_FOR_SLA``,
and ``TTFT_AT_RATE``/``TPOT_AT_RATE`` at the rate each replica then gets. The engine finds the
concurrency by bisection; here each bisection step is a row of a table, so the working is on
the page. The steps themselves come from :mod:`._napkin` (``gpu_steps``, ``queue_steps``,
``queue_row``).
"""

from __future__ import annotations

from openpyxl.utils import get_column_letter as L
from openpyxl.worksheet.pagebreak import Break

from .. import queueing
from ..queueing import FEW_SLOTS
from . import _napkin, _style as st

TABLE_COL = 8          # first column of the tables (H)
TABLE_WIDTH = 10       # width of each of their columns: the labels and 11 fit a page
# A full table is three pages wide: its row labels are written again after every this many of
# its columns, where the next page starts, so that every page's rows are labelled (a user
# audit found the third page without them).
AGAIN_AFTER = 11


def again_at(n_names: int) -> list[int]:
    """Where a full table of ``n_names`` columns (beside its row labels) writes its labels
    again: their positions among its columns once they are in, each starting a page."""
    at, pos, n = [], AGAIN_AFTER, n_names
    while pos < n:
        at.append(pos)
        pos, n = pos + AGAIN_AFTER + 1, n + 1
    return at
# ... and a table longer than a printed page is cut into pages of this many rows, each below a
# copy of its header, so that every page's columns are labelled too.
PAGE_ROWS = 22
YOURS = "yours"  # the GPU to size: your own GPU, row 1 of the planner's table
# A price typed in the planner's table that is not a number >= 0: its row's price and costs say
# this (the table shows "check"), and the rest of the table stands
BAD_PRICE = "check price"
# A TTFT limit that stops the rate is "mostly the wait for a free slot" past this share of it.
SLOT_WAIT_MOSTLY = 0.5
# What stops a rate: queueing.what_stops's rule and words
_CAPACITY_NEAR, _LIMIT_REACHED = queueing.CAPACITY_NEAR, queueing.LIMIT_REACHED
CAPACITY, PROMPT_CAPACITY = queueing.CAPACITY, queueing.PROMPT_CAPACITY
# a larger budget lifts this cap but lengthens the steps, which the TPOT limit may not allow
# (an audit: raising it from 512 cut the rate by two thirds)
PROMPTS_FULL = "prompts fill each step's token budget: a larger one, if TPOT allows"
SLOT_WAIT_MEMORY = "mostly the slot wait: more memory or GPUs per replica"
SLOT_WAIT_CAP = "mostly the slot wait: raise the engine cap (max_concurrency)"
# below this share of what a replica sustains, the limits sit near an idle replica's latency
TIGHT = 0.1
# How far the sizing held against published runs (benchmarks/RESULTS.md section 7, openloop.py's
# MAX_RATE_FOR_SLA table): said on the Latency sheet and on the planner's cover.
TRUST = ("at the limits of 21 MLPerf runs, the rate this sizes for was within a fifth of what "
         "the tuned system sustained in 13 and 0.3 to 2.1 times it in the rest, and measured "
         "latencies at a given rate are mostly longer than these (docs/latency.md). Keep the "
         "spare replicas, and check a promised latency with a load test of your own stack.")


class _RowMap(st.NameMap):
    """``{name}``: a cell of the same table row for the table's columns, else a defined name."""

    def __init__(self, wb, alias, refs):
        super().__init__(wb, alias)
        self.refs = refs

    def __missing__(self, key):
        return self.refs[key] if key in self.refs else super().__missing__(key)


def _header_height(heads) -> float:
    """A table's header row: as tall as its longest header needs in a column of
    :data:`TABLE_WIDTH`, at least 80 pt. [pt]"""
    return max(80.0, st.header_height(max(st.wrapped_lines(h, TABLE_WIDTH) for h in heads)))


# an idle replica's TPOT as the engine's message words it: rounded up, so the time shown is
# never the limit itself
_IDLE_TPOT = 'TEXT(ROUNDUP({sla_idle_tpot}*1000*(1-1E-12),2),"#,##0.00")'


def _shorter(hint: str) -> str:
    """What shortens an idle replica's latency, as the rate functions say it
    (:func:`xlnapkin.queueing._hint`): for GGUF weights, not more GPUs; past one peer-link
    domain, another GPU count; else :data:`xlnapkin.queueing.SHEET_GPUS` (the functions name
    the count; the sheet computes one)."""
    within = queueing._within(hint, '"&{g_nvlink_gpus}&"')
    return (f'IF({{gguf_path}},"{queueing._no_split(hint)}",IF({{past_domain}},"{within}",'
            f'"{queueing._hint(hint, False, False, "", sheet=True)}"))')


def sheet(wb, ws, alias, steps: int, yours: dict) -> None:
    """The sheet; ``yours``: {step name: formula} of your own GPU (the planner's row 1), which
    the sheet sizes where the GPU to size is "yours"."""
    st.put_text(ws["B1"], "Latency targets: replicas of one GPU for a request rate",
                st.TITLE_FONT)
    st.paragraph(ws, 2, 2, 6, "Requests arrive at random (Poisson) and are shared evenly by the "
                 "replicas. Each replica batches them continuously; TTFT is the wait for a free "
                 "sequence slot (near capacity) and for the prefill budget plus the prompt's own "
                 "prefill, TPOT one step at the concurrency Little's law gives, with its spread, "
                 "plus the echo of the request's own prompt in its first steps "
                 "(xlnapkin.queueing). Each request holds its own input + output tokens in "
                 "the KV cache, not the Planner's context a user holds. The bisection tables "
                 "are the engine's, one "
                 "row per step. How far to trust it: " + TRUST, chars_per_line=170)
    b = st.Block(wb, ws, row=4, alias=alias)
    _results(b)
    b.heading("GPU from the Catalog (or yours: the Planner's row 1)")
    _napkin.add_gpu_lookup(b, "sla_gpu", yours=(f'{{sla_gpu}}="{YOURS}"', yours))
    b.heading("One replica under load")
    b.add("sla_mem_fraction", "Memory share for weights and KV cache", "{mem_fraction}", "0-1",
          "the Planner's input, as for the table", "pct")
    _napkin.add_steps(b, _napkin.efficiency_steps(per_gpu=True) + _napkin.gpu_steps())
    b.heading("Latency model: the step per sequence and a prompt alone")
    _napkin.add_steps(b, _napkin.queue_steps())
    # the latencies at the rate each replica gets, once, at the concurrency the second table
    # finds (a table of the lean kind: only its step and rate in each row)
    b.heading("At the rate each replica gets (N from the second table)")
    _napkin.add_steps(b, _napkin.queue_row("{sla_op_n}", "{sla_rate_per_replica}"))
    end = bisection_table(wb, ws, b.alias, "goodput", 3, steps, page_rows=PAGE_ROWS)
    ws.row_breaks.append(Break(id=end + 2))  # the second table starts a page
    last = bisection_table(wb, ws, b.alias, "operating", end + 3, steps, page_rows=PAGE_ROWS,
                           named={"q_n": "sla_op_n"}, lean=True)
    n_names = 4 + len(_napkin.queue_row("", ""))  # N low, N high, N, the steps, the test
    again = [TABLE_COL + 1 + pos for pos in again_at(n_names)]
    n_cols = n_names + len(again)
    widths = {"A": 2, "B": 58, "C": 14, "D": 9, "E": 36, "F": 2, "G": 2, L(TABLE_COL): 8}
    widths.update({L(TABLE_COL + j): TABLE_WIDTH for j in range(1, n_cols + 1)})
    widths.update({L(c): 8 for c in again})
    st.finish_sheet(ws, widths, f"A1:{L(TABLE_COL + n_cols)}{max(b.row, last)}")
    # The tables start a page of their own (A:G fits one): notes that run past column E then
    # print whole on the first page instead of in pieces beside the tables' row labels. Their
    # second page starts at the labels written again.
    ws.col_breaks.append(Break(id=TABLE_COL - 1))
    for c in again:
        ws.col_breaks.append(Break(id=c - 1))


def _results(b) -> None:
    b.heading("Results")
    b.add("sla_targets", "Targets",
          'IF({sla_ok},"TTFT at most "&{ttft_ms}&" ms and TPOT at most "&{tpot_ms}&" ms, each '
          'at percentile "&{sla_percentile},"check inputs")', fmt="text")
    # every answer below reads this one: where an input fails its check, none is shown
    rate = b.add("sla_max_rate_calc", "Requests/s one replica serves within both limits",
                 'IF(NOT({sla_ok}),"check inputs",IF(AND({runs},{max_batch_fit}>=1,'
                 '{sla_idle_ok}),{sla_goodput_rate},"none"))', "req/s", "", "rate")
    # Where there is no rate, the note says why: a long message would not fit the value cell.
    why_note(b, rate, "= MAX_RATE_FOR_SLA", "sla_why_none",
             'IF(NOT({sla_ok}),"see the Planner\'s Checks",'
             # the engine's reason (an audit: "see the fits column" where the heads did not
             # split, and the cover then gave no reason)
             'IF(NOT({runs}),' + _napkin.cannot_run('"cannot run"') + ','
             'IF({max_batch_fit}<1,"does not fit: "&{fit_advice},'
             # rounded up, as the engine's message: the time shown is never the limit itself
             'IF({sla_idle_ttft}*1000>{ttft_ms},"no rate: even an idle replica\'s first token '
             'takes "&TEXT(ROUNDUP({sla_idle_ttft}*1000*(1-1E-12),1),"#,##0.0")&" ms"&'
             # the TPOT limit too, where both miss, and what shortens them (a review: the
             # sheet named one limit, and said nothing of what to change)
             'IF(AND({output_tokens}>1,{sla_idle_tpot}*1000>{tpot_ms}),", and its tokens "&'
             + _IDLE_TPOT + '&" ms","")&' + _shorter(queueing.SHORTER_TTFT) + ','
             '"no rate: even an idle replica\'s tokens take "&' + _IDLE_TPOT + '&" ms"&'
             + _shorter(queueing.SHORTER_TPOT) + '))))')
    # What the rate stops at (_CAPACITY_NEAR, _LIMIT_REACHED; a user audit: a budget of 512
    # tokens stopped 2,000-token prompts far inside a 100 s TTFT limit, and the sheet named the
    # TTFT limit), or the steps' budget within 2 % of what the prompts need; where both limits
    # are reached, the nearer; one output token has no TPOT.
    near, reached = f"{_CAPACITY_NEAR:g}", f"{_LIMIT_REACHED:g}"
    ttft_near = f"{{sla_goodput_ttft}}*1000>={reached}*{{ttft_ms}}"
    tpot_near = f"AND({{output_tokens}}>1,{{sla_goodput_tpot}}*1000>={reached}*{{tpot_ms}})"
    # the prompts near their share of the steps' budget: the TTFT grows without end there, so
    # it reaches its limit too, but the budget is what to raise (unless the TPOT limit binds: a
    # larger budget lengthens the steps, a review)
    budget_near = (f"AND({{sla_goodput_n}}*{{input_tokens}}>={near}*{{output_tokens}}*"
                   f"{{token_budget}},NOT({tpot_near}))")
    binding = b.add("sla_binding", "What stops the rate there",
                    'IF(NOT(ISNUMBER({sla_max_rate_calc})),"-",IF({sla_max_rate_calc}>='
                    f'{near}*{{q_capacity}},"{CAPACITY}",IF(OR({budget_near},NOT(OR('
                    f'{ttft_near},{tpot_near}))),"{PROMPT_CAPACITY}",IF(OR({{output_tokens}}<=1,'
                    '{sla_goodput_ttft}/{ttft_ms}>={sla_goodput_tpot}/{tpot_ms}),'
                    '"the TTFT limit","the TPOT limit"))))', fmt="text")
    capacity_note(b, binding)
    b.add("sla_replicas_calc", "Replicas for the peak rate",
          'IF(ISNUMBER({sla_max_rate_calc}),MAX(ROUNDUP({requests_per_sec}/{sla_max_rate_calc}'
          '*(1-1E-12),0),1),"-")', "replicas", "= REPLICAS_FOR_SLA", "int")
    b.add("sla_gpus_calc", "GPUs: (replicas + spares) x GPUs per replica",
          'IF(ISNUMBER({sla_replicas_calc}),IF({sla_gpus_ok},({sla_replicas_calc}+'
          '{sla_spare_replicas})*{num_gpus},"check inputs"),"-")', "GPUs",
          "spares: the Planner's inputs", "int")
    # 1E-9 (shown as -) keeps the operating-point table computable where there is no rate
    b.add("sla_rate_per_replica", "Requests/s each replica then gets",
          "IF(ISNUMBER({sla_replicas_calc}),{requests_per_sec}/{sla_replicas_calc},1E-9)",
          # as many digits as the rate above (an audit: 0.03 against 0.027 read as overloaded)
          "req/s", "", '[=0]0;[<0.0000001]"-";#,##0.000')
    b.add("sla_ttft_calc", "TTFT at the percentile with those replicas",
          'IF(ISNUMBER({sla_replicas_calc}),{q_ttft}*1000,"-")', "ms", "= TTFT_AT_RATE",
          "num")
    b.add("sla_tpot_calc", "TPOT at the percentile with those replicas",
          'IF(ISNUMBER({sla_replicas_calc}),{q_tpot}*1000,"-")', "ms", "= TPOT_AT_RATE",
          "num")
    b.add("sla_price", "Price per GPU-hour (the Planner's table: yours, else the catalog's)",
          f'IF({{sla_gpu}}="{YOURS}",INDEX(w_price_used,1),'
          'IFERROR(INDEX(w_price_used,MATCH({sla_gpu},gpu_ids,0)+1),"no price"))', "USD/GPU-h",
          "", "usd")
    b.add("sla_cost_calc", "USD per month (GPUs x price x hours paid)",
          'IF(NOT(ISNUMBER({sla_replicas_calc})),"-",IF(NOT({sla_cost_ok}),"check inputs",IF('
          'ISNUMBER({sla_price}),{sla_gpus_calc}*{sla_price}*{hours_per_month},'
          f'IF({{sla_price}}="{BAD_PRICE}",{{sla_price}},"no price"))))',
          "USD/month", "", "usd0")
    # the fleet's own cost per token (a review: the headline $/Mtok is the cheapest GPU at
    # the planned utilization, not the fleet sized here); the hours paid cancel
    b.add("sla_cost_per_mtok_calc", "USD per million tokens at the peak rate all the time",
          'IF(NOT(ISNUMBER({sla_cost_calc})),{sla_cost_calc},IF({requests_per_sec}>0,'
          '{sla_gpus_calc}*{sla_price}/({requests_per_sec}*({input_tokens}+{output_tokens})'
          '*3600)*1E+6,"no traffic"))', "USD/Mtok", "", "usd4")


def capacity_note(b, cell, otherwise: str = "", name: str | None = None) -> None:
    """The note beside a "what stops the rate" cell (named ``name``): what the replica's
    capacity means where that is the answer, or that a TTFT limit is mostly the wait for a free
    slot where it is, else ``otherwise``."""
    note = b.ws.cell(cell.row, cell.column + 2)
    ref = cell.coordinate
    note.value = (f'=IF({ref}="{CAPACITY}","requests wait for a free slot there",'
                  f'IF({ref}="{PROMPT_CAPACITY}","{PROMPTS_FULL}",'
                  # memory beside the weights for few requests: more GPUs a replica (an audit:
                  # 2 requests a replica, 555 replicas, and no word; queueing.slots_note)
                  f'IF(AND(ISNUMBER(sla_max_rate_calc),ISNUMBER(max_batch_fit),max_batch_fit>=1,'
                  f'max_batch_fit<{FEW_SLOTS},max_batch_fit<=engine_cap),"memory holds "&'
                  'max_batch_fit&IF(max_batch_fit=1," request"," requests")&" a replica: more '
                  'GPUs a replica",'
                  f'IF(AND({ref}="the TTFT limit",IFERROR('
                  f'sla_goodput_queued>{SLOT_WAIT_MOSTLY:g}*sla_goodput_ttft,FALSE)),'
                  # the slots: the engine's cap where it is below what memory holds (a user
                  # audit: more GPUs did nothing for llama.cpp's 4 slots), else memory
                  f'IF(engine_cap<max_batch_fit,"{SLOT_WAIT_CAP}","{SLOT_WAIT_MEMORY}"),'
                  # limits just past an idle replica's latency (a user audit: 0.01 ms above
                  # the idle TPOT gave 886,493 replicas and no word of why)
                  f'IF(ISNUMBER(sla_max_rate_calc),IF(sla_max_rate_calc<{TIGHT:g}*q_capacity,'
                  '"limits near idle latency: "&IF(sla_max_rate_calc>=0.001*q_capacity,TEXT('
                  'sla_max_rate_calc/q_capacity,"0.0%"),"under 0.1%")&'
                  f'" of its most; counts jump","{otherwise}"),'
                  f'"{otherwise}")))))')
    note.font = st.NOTE_FONT
    if name:
        st.define(b.wb, name, b.ws.title, st.absolute(note.column, note.row))


def why_note(b, cell, note: str, name: str | None = None, why: str | None = None) -> None:
    """The note beside ``cell`` as a formula: ``note`` where the cell holds a number, else why
    not: the formula ``why`` (named ``name``), or the named reason ``{sla_why_none}``."""
    ref = cell.coordinate
    reason = why if why is not None else "{sla_why_none}"
    note_cell = b.ws.cell(cell.row, cell.column + 2)
    note_cell.value = b.formula(f'IF(ISNUMBER({ref}),"{note}",{reason})')
    note_cell.font = st.NOTE_FONT
    if name:
        st.define(b.wb, name, b.ws.title, st.absolute(cell.column + 2, cell.row))


# The goodput's test: both limits (one output token has no TPOT to check), the prompt queue
# stable, and room in the steps for the prompts (queueing._Replica.within_budget).
_MEETS = ("AND({q_ttft}<={ttft_ms}/1000,OR({q_tpot}<={tpot_ms}/1000,{output_tokens}<=1),"
          "{q_rate}*{q_slot}<1," + _napkin.within_budget("{q_n}") + ")")


def bisection_table(wb, ws, alias, kind: str, top: int, steps: int, col0: int = TABLE_COL,
                    target: str = "{sla_rate_per_replica}", named: dict | None = None,
                    lean: bool = False, page_rows: int | None = None) -> int:
    """The goodput table (the most concurrency, hence rate, within both limits) or the
    operating-point table (the concurrency at the rate ``target`` each replica gets; its last
    row's columns named as ``named`` says, ``{column: defined name}``; ``lean``: only the
    columns the bisection needs, the step and the rate, for a sheet that takes the latencies
    at the result once), from column ``col0``; ``page_rows``: rows per printed page, each
    page's below a copy of the header. Returns its last row."""
    goodput = kind == "goodput"
    rate = "{q_rate}" if goodput else target
    row_steps = _napkin.queue_row("{q_n}", rate)
    if lean:
        row_steps = [s for s in row_steps if s.name in ("q_decode", "q_step", "q_rate")]
    test = (("meets", "within both limits (and prompts stable)?", _MEETS) if goodput else
            ("below", "rate below the target?", "{q_rate}<" + target))
    names = ["lo", "hi", "q_n"] + [s.name for s in row_steps] + [test[0]]
    heads = (["row", "N low", "N high", "N"]
             + [f"{s.label} [{s.unit}]" if s.unit else s.label for s in row_steps] + [test[1]])
    if not lean:
        for k, pos in enumerate(again_at(len(names))):
            names.insert(pos, f"row_again{k}")
            heads.insert(pos + 1, "row")
    col = {n: L(col0 + 1 + j) for j, n in enumerate(names)}
    title = ("Goodput: the largest mean concurrency N within both limits (bisection)" if goodput
             else "At the rate each replica gets: its mean concurrency N (bisection)")
    st.put_text(ws.cell(top, col0), title, st.HEAD_FONT)
    st.header_row(ws, top + 1, col0, heads, height=(height := _header_height(heads)))
    first = top + 2
    # just below the most the replica holds; from the idle probe where it meets them (_most)
    most, idle = ("{q_n_max}*(1-1E-6)" if goodput else "{q_n_max}"), f"{queueing.IDLE:G}"
    rows = [("idle", None, None, idle), ("most", None, None, most)] if goodput else []
    start = f"IF({col[test[0]]}{first},{idle},0)" if goodput else "0"
    rows += [(f"step {k}", start if k == 1 else None, most if k == 1 else None,
              "({lo}+{hi})/2") for k in range(1, steps + 1)]
    rows.append(("result", None, None, None))
    at, r = [], first  # each row's sheet row: a page break and the header again every page_rows
    for i in range(len(rows)):
        if page_rows and i and i % page_rows == 0:
            ws.row_breaks.append(Break(id=r - 1))
            st.header_row(ws, r, col0, heads, height=height)
            r += 1
        at.append(r)
        r += 1
    for i, (label, lo, hi, n) in enumerate(rows):
        r = at[i]
        refs = {name: f"{c}{r}" for name, c in col.items()}
        prev = {name: f"{c}{at[i - 1]}" for name, c in col.items()} if i else {}
        ok = prev.get(test[0])
        if i > (2 if goodput else 0) and label.startswith("step"):
            lo, hi = f"IF({ok},{prev['q_n']},{prev['lo']})", f"IF({ok},{prev['hi']},{prev['q_n']})"
        if label == "result":
            lo_after = f"IF({ok},{prev['q_n']},{prev['lo']})"
            hi_after = f"IF({ok},{prev['hi']},{prev['q_n']})"
            n = (f"IF({col[test[0]]}{at[1]},{most},{lo_after})" if goodput
                 else f"({lo_after}+{hi_after})/2")
        st.put_text(ws.cell(r, col0), label, st.NOTE_FONT)
        for name in (n for n in col if n.startswith("row_again")):
            st.put_text(ws[f"{col[name]}{r}"], label, st.NOTE_FONT)
        cells = [("lo", lo, "num"), ("hi", hi, "num"), ("q_n", n, "num")]
        cells += [(s.name, s.formula, s.fmt) for s in row_steps] + [(test[0], test[2], "bool")]
        for name, formula, fmt in cells:
            if formula is not None:
                text = "=" + formula.format_map(_RowMap(wb, alias, refs))
                st.style_cell(ws[f"{col[name]}{r}"], fmt).value = text
    last = at[-1]
    if goodput:
        st.define(wb, "sla_idle_ok", ws.title, f"${col['meets']}${first}")
        st.define(wb, "sla_idle_ttft", ws.title, f"${col['q_ttft']}${first}")
        st.define(wb, "sla_idle_tpot", ws.title, f"${col['q_tpot']}${first}")
        st.define(wb, "sla_top_ok", ws.title, f"${col['meets']}${at[1]}")
        st.define(wb, "sla_goodput_rate", ws.title, f"${col['q_rate']}${last}")
        st.define(wb, "sla_goodput_n", ws.title, f"${col['q_n']}${last}")
        st.define(wb, "sla_goodput_ttft", ws.title, f"${col['q_ttft']}${last}")
        st.define(wb, "sla_goodput_queued", ws.title, f"${col['q_queued']}${last}")
        st.define(wb, "sla_goodput_tpot", ws.title, f"${col['q_tpot']}${last}")
    else:
        for column, name in (named or {}).items():
            st.define(wb, name, ws.title, f"${col[column]}${last}")
    return last
