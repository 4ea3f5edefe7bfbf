"""Template: GPU right-sizing and cost per user, every catalog GPU side by side.

Sheets: Cover; Planner (the answer, checks, inputs, your own GPU, the results table with one row
per GPU, the ranking and its chart); Working (one row per GPU, one column per step of the
napkin-math model); Model (inputs as used and the model-level steps); Catalog.

Row 1 of the tables is "your GPU", whose fields are inputs (default: a B200 with 192 GB, the
seed-001 example); the other rows follow the Catalog sheet. Each Working column mirrors one
engine step (``xlnapkin.serving.max_throughput``, ``memory.max_batch``,
``economics.users_at_percentile``, ``capacity.self_host_cost_per_mtok``,
``economics.cost_per_user_month``, ``economics.replicas_for_users``).
"""

from __future__ import annotations

import functools
from pathlib import Path

from openpyxl.chart import Reference
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter as L

from .. import calibration, catalog, queueing
from ..capacity import EXAMPLE_TPOT_MS, EXAMPLE_TTFT_MS
from ..memory import MEM_FRACTION
from ..economics import HOURS_PER_MONTH, MAX_HOURS_PER_MONTH, PLANNED_UTILIZATION
from .._checks import requirement
from . import _blocks as bk, _book, _latency, _napkin, _sheets, _style as st

FILENAME = "capacity_planner.xlsx"
RANK_ROWS = 12
FIRST_ROW = 5          # first data row of both tables (same rows on both sheets)
BAD_PRICE = _latency.BAD_PRICE
_NO_PRICE = f'IF({{price_used}}="{BAD_PRICE}",{{price_used}},"no price")'
USER_GPU = dict(label="B200 192 GB example", memory_gb=192.0, mem_bw_tbps=8.0,
                bf16_tflops=2250.0, fp8_tflops=4500.0, fp4_tflops=9000.0, int8_tops=4500.0,
                interconnect_gbps=1800.0, nvlink_gpus=8, pcie_gbps=None, scaleout_gbps=100.0,
                max_concurrency=None, scheduler_steps=None, vendor="NVIDIA", price=3.0)
USER_FIELDS = ["memory_gb", "mem_bw_tbps", "bf16_tflops", "fp8_tflops", "fp4_tflops",
               "int8_tops", "interconnect_gbps", "nvlink_gpus", "pcie_gbps", "scaleout_gbps",
               "scheduler_steps", "max_concurrency"]
_CAP_MESSAGE = '"max_concurrency must be blank or a whole number >= 1"'
# your GPU's engine figures that only the latency targets read: checked apart from the table's
_STEPS_LEAST, _STEPS_MOST, _ = catalog.field_bounds("gpu", "scheduler_steps")
_STEPS_MESSAGE = ('"scheduler_steps must be blank or '
                  f'{requirement(_STEPS_LEAST, _STEPS_MOST, integer=True)}"')
_UNKNOWN_SLA_GPU = '"unknown gpu: pick one from the list, or yours"'
_USER_NOTES = {"memory_gb": "the datasheet's GPU memory",
               "mem_bw_tbps": "the datasheet's memory bandwidth",
               "bf16_tflops": "dense 16-bit peak: half a sparse figure",
               "interconnect_gbps": "GPU-to-GPU link per GPU (NVLink); PCIe Gen4: 64",
               "fp8_tflops": "blank = none (falls back to bf16)",
               "fp4_tflops": "blank = none (falls back to bf16)",
               "int8_tops": "blank = none (falls back to bf16)",
               "nvlink_gpus": "GPUs one bridge, board or rack joins; blank = all",
               "pcie_gbps": "bridged cards' PCIe: Gen4 64, Gen5 128",
               "scaleout_gbps": "network per GPU: a 400 Gb/s NIC = 100",
               "max_concurrency": "batch limit per GPU (GGUF: per replica, -np); "
                                  "blank = calibrated",
               "scheduler_steps": "vLLM V0 --num-scheduler-steps: decode steps per decision; "
                                  "blank = 1"}

# The context input's note where it holds no warning
CONTEXT_NOTE = "seed 001: 200,000"
# (name, label, default, unit, note, fmt, options or validation)
# An input's rule (the last field of a row of numbers) gives both its check and its cell's Excel
# warning (_blocks.rule_check; an FP&A read: the warning allowed what the check refused)
_PAST_0 = dict(minimum=0, min_open=True)
_SHARE_PAST_0 = dict(minimum=0, maximum=1, min_open=True)
INPUT_ROWS = [
    ("model", "Model", "qwen2.5-32b", "id", "a catalog id or alias", "text", "model_ids"),
    ("weight_dtype", "Weight dtype", "fp8", "dtype",
     "blank: as released; bits per weight, computed at 16 bits", "gen", "dtype_names"),
    ("kv_dtype", "KV-cache dtype", "fp8", "dtype", "blank: bf16; or bits per element", "gen",
     "dtype_names"),
    ("num_gpus", "GPUs per replica (num_gpus, tensor parallel)", 1, "GPUs",
     _napkin.GGUF_NOTE, "int", bk.WORKLOAD_RULES["num_gpus"]),
    ("input_tokens", "Input tokens per request", 1024, "tokens",
     "the table and the latency targets", "int", bk.WORKLOAD_RULES["input_tokens"]),
    ("output_tokens", "Output tokens per request", 1024, "tokens",
     "the table and the latency targets", "int", bk.WORKLOAD_RULES["output_tokens"]),
    ("context_tokens", "Context a user holds in the KV cache", 8192, "tokens",
     CONTEXT_NOTE, "int", bk.WHOLE),
    ("duty_cycle", "Share of the time a user has a request in flight", 0.2, "0-1",
     "the rest of the time a user reads or types", "pct", _SHARE_PAST_0),
    ("concurrency_percentile", "Share of the time the slots must cover active users", 0.95,
     "[0.5, 1)", "headroom for peaks, as in pooling", "num3",
     dict(minimum=0.5, maximum=1, max_open=True)),
    ("user_tokens_per_sec", "Tokens/s a user receives while active", 20, "tokens/s",
     "reading speed", "num", _PAST_0),
    ("users", "Users online at once, at the busiest hour", 10000, "users",
     "not monthly actives: their fleet runs all the hours paid", "int",
     dict(minimum=0, whole=True)),
    ("utilization", "Planned utilization (for $ per million tokens)", PLANNED_UTILIZATION, "0-1",
     "share of the full-load tokens/s paid for and used", "pct", _SHARE_PAST_0),
    ("hours_per_month", "Hours paid per month", HOURS_PER_MONTH, "hours", "seed 001: 720",
     "int", dict(minimum=0, maximum=MAX_HOURS_PER_MONTH, min_open=True)),
]
# Latency targets (the Latency sheet): requests/s and limits in, replicas and $/month out.
SLA_INPUTS = [
    ("sla_gpu", "GPU to size for the targets", "h100-sxm", "id",
     "a catalog id or alias, or yours (row 1)", "text", "sla_gpu_choices"),
    ("requests_per_sec", "Peak requests per second (all replicas)", 20, "req/s",
     "arriving at random (Poisson)", "num", dict(minimum=0)),
    ("ttft_ms", "Time to first token, at most", EXAMPLE_TTFT_MS, "ms", "at the percentile below",
     "amount", _PAST_0),
    ("tpot_ms", "Time per output token, at most", EXAMPLE_TPOT_MS, "ms", "at the percentile below",
     "amount", _PAST_0),
    ("sla_percentile", "Percentile each limit is met at", queueing.SLA_PERCENTILE,
     "(0, 1)", "0.95 = p95", "num3",
     dict(minimum=0, maximum=1, min_open=True, max_open=True)),
    ("token_budget", "Prompt tokens one engine step takes", queueing.PREFILL_CHUNK, "tokens",
     f"blank = {queueing.PREFILL_CHUNK:,.0f}; vLLM max_num_batched_tokens", "int",
     dict(minimum=1, blank=True)),
    ("sla_spare_replicas", "Spare replicas kept for a failure", 1, "replicas",
     "1 = N+1; paid for, not counted in the latencies", "int", dict(minimum=0, whole=True)),
]
_rule = functools.partial(bk.row_check, INPUT_ROWS + SLA_INPUTS)  # an input row's check

OUTPUTS = ["cheapest_gpu", "cheapest_cost_per_mtok", "cheapest_gpu_per_user",
           "cheapest_cost_per_user_month", "cheapest_gpu_for_users", "cheapest_gpus_for_users",
           "cheapest_cost_for_users", "user_gpu_shown", "user_gpu_cost_per_mtok",
           "user_gpu_users_at_context",
           "user_gpu_users_per_gpu", "user_gpu_headroom", "user_gpu_cost_per_user_month",
           "user_gpu_gpus_for_users", "user_gpu_cost_for_users",
           "sla_gpu_shown", "sla_max_rate", "sla_stop", "sla_replicas", "sla_gpus",
           "sla_gpu_price", "sla_cost_per_month", "sla_cost_per_mtok", "sla_ttft", "sla_tpot"]
SLA_STEPS = queueing._BISECTIONS  # bisection rows of each latency table, as the engine runs


# the catalog row whose bill for the users typed is least (the first of equals)
_CHEAPEST_FOR_USERS = "MATCH(MIN(w_catalog_cost_users),w_catalog_cost_users,0)"


def _replicas_for(users: str, slots: str, duty: str, percentile: str) -> str:
    """``economics.replicas_for_users`` as a formula (``slots`` whole and at least 1): the
    users' requests in flight at the percentile over a replica's slots, rounded up, at least 1."""
    return (f"MAX(1,ROUNDUP(MIN({users},{users}*{duty}+NORMSINV({percentile})*SQRT({users}*"
            f"{duty}*(1-{duty})))/{slots}*(1-1E-12),0))")


def _row_steps():
    """Per-GPU columns of the Working sheet: (name, header, formula template, unit, fmt)."""
    cols = [("gpu_label", "GPU", None, "id", "text")]
    cols += [(f"g_{f}", _napkin.gpu_field_label(f, short=True), None, _napkin._unit(f),
              _napkin.gpu_field_fmt(f)) for f in _napkin.GPU_FIELDS]
    cols += [("g_vendor_factor", "vendor factor", None, "", "num"),
             ("g_prefill_overhead_s", "fixed time per request: own, else calibrated", None,
              "s", "sci"),
             ("g_cloud_price", "catalog price", None, "USD/GPU-h", "usd_none")]
    for s in _napkin.efficiency_steps(per_gpu=True) + _napkin.gpu_steps():
        cols.append((s.name, s.label, s.formula, s.unit, s.fmt))
    return cols + [
        ("users_fit", "user contexts that fit (KV at user_context; 0 where the heads do "
         "not split or the GPUs have no link)",
         "IF(AND({heads_split},{link_ok}),MAX(INT({free_memory}/{kv_bytes_user}*(1+1E-12)),0),0)",
         "users", "int"),
        ("slots_memory", "concurrent users by memory (capped by the engine)",
         "MIN({users_fit},{engine_cap})", "requests", "int"),
        *[(st_.name, st_.label, st_.formula, st_.unit, st_.fmt)
          for st_ in _napkin.speed_steps()],
        # each active user still gets the user tokens/s (a review: throughput / rate counted
        # 77 where 59 do, as THROUGHPUT_AT_CONCURRENCY / concurrency shows)
        ("slots_speed", "concurrent users by speed: each still gets the user tokens/s",
         "IF(ISNUMBER({replica_output_tokens_per_sec}),IF({sp_step_one}>{sp_limit},0,"
         + _napkin.speed_answer() + "),0)",
         "requests", "num"),
        ("slots", "concurrent slots (the smaller)", "MIN({slots_memory},{slots_speed})",
         "requests", "num"),
        ("users_replica", "users of a replica at the percentile, in its whole slots (never "
         "fewer than those)",
         "MAX(INT({slots}),INT(((-NORMSINV({concurrency_percentile})*SQRT({duty_cycle}*(1-"
         "{duty_cycle}))+SQRT(NORMSINV({concurrency_percentile})^2*{duty_cycle}*(1-{duty_cycle})"
         "+4*{duty_cycle}*INT({slots})))/(2*{duty_cycle}))^2*(1+1E-12)))", "users", "int"),
        ("users_per_gpu", "users per GPU", "{users_replica}/{num_gpus}", "users", "num"),
        ("headroom", "slots free on average (for peaks)",
         'IF(AND(INT({slots})>0,{users_replica}>0),1-{users_replica}*{duty_cycle}/INT({slots}),'
         '"-")',
         "0-1", "pct"),
        # a price typed wrong blanks its own row's costs ("check price"), not the table's
        ("price_used", "price per GPU-hour used: yours, else the catalog's",
         'IF(ISBLANK({your_price}),IF({g_cloud_price}>0,{g_cloud_price},"no catalog price"),'
         f'IF(ISNUMBER({{your_price}}),IF({{your_price}}>=0,{{your_price}},"{BAD_PRICE}"),'
         f'"{BAD_PRICE}"))', "USD/GPU-h", "usd"),
        ("total_tps", "input + output tokens/s of one replica",
         'IF(ISNUMBER({replica_output_tokens_per_sec}),{replica_output_tokens_per_sec}*('
         '{input_tokens}+{output_tokens})/{output_tokens},"does not fit")', "tokens/s", "amount"),
        ("cost_per_mtok", "USD per million tokens (input + output) at utilization",
         'IF(NOT(ISNUMBER({total_tps})),"does not fit",IF(NOT(ISNUMBER({price_used})),'
         f'{_NO_PRICE},{{price_used}}*{{num_gpus}}/({{total_tps}}*{{utilization}}*3600)*1E+6))',
         "USD/Mtok", "usd4"),
        ("cost_per_user_month", "USD per user-month",
         'IF({users_per_gpu}<=0,"no users fit",IF(NOT(ISNUMBER({price_used})),'
         f'{_NO_PRICE},{{price_used}}*{{hours_per_month}}/{{users_per_gpu}}))', "USD/user-month",
         "usd"),
        # the users' bill: their requests at the percentile over every replica's slots (one
        # pool, REPLICAS_FOR_USERS), not users / users per replica rounded up
        ("replicas_users", "replicas for your users: their requests in flight at the "
         "percentile over a replica's whole slots (one pool), at least 1",
         'IF(INT({slots})>=1,' + _replicas_for("{users}", "INT({slots})", "{duty_cycle}",
                                               "{concurrency_percentile}") + ',"no users fit")',
         "replicas", "int"),
        ("gpus_users", "GPUs for your users",
         "IF(ISNUMBER({replicas_users}),{replicas_users}*{num_gpus},{replicas_users})", "GPUs",
         "int"),
        ("cost_users", "USD per month for your users (GPUs x price x hours paid)",
         'IF(NOT(ISNUMBER({gpus_users})),{gpus_users},IF(NOT(ISNUMBER({price_used})),'
         f'{_NO_PRICE},{{gpus_users}}*{{price_used}}*{{hours_per_month}}))', "USD/month", "usd0"),
        # a GPU that serves no user (their context does not fit, or one request alone misses
        # the user tokens/s) is no answer for them
        ("rank_key", "sort key ($/Mtok where a user fits, context and speed, else huge)",
         "IF(AND(ISNUMBER({cost_per_mtok}),{slots}>0),{cost_per_mtok},1E+300)", "", "sci"),
    ]


# Results table on the Planner sheet: (key, header, Working column or None, fmt)
RESULTS = [("gpu", "GPU", "gpu_label", "text"), ("memory", "memory GB", "g_memory_gb", "int"),
           ("catalog_price", "catalog $/GPU-h", None, "usd"),
           ("your_price", "your $/GPU-h", None, "usd"),
           ("price", "$/GPU-h used", "price_used", "usd"),
           ("fits", "fits?", None, "text"),
           ("users_ctx", "users at context (replica)", "slots_memory", "int"),
           ("tput", "max tok/s out (replica)", "replica_output_tokens_per_sec", "int"),
           ("cost_per_mtok", "$/M tokens (in + out)", "cost_per_mtok", "usd4"),
           ("users_per_gpu", "users per GPU", "users_per_gpu", "users"),
           ("headroom", "kept for peaks", "headroom", "pct"),
           ("user_month", "$/user-month", "cost_per_user_month", "usd")]


def build(out_dir) -> Path:
    wb = _book.new_workbook()
    _cover(wb)
    ws = wb.create_sheet("Planner")
    wk = wb.create_sheet("Working")
    ms = wb.create_sheet("Model")
    _sheets.catalog_sheet(wb)
    cols = _row_steps()
    col_of = {name: L(1 + j) for j, (name, *_r) in enumerate(cols)}
    b = st.Block(wb, ws, row=1)
    st.put_text(ws["B1"], "Capacity planner: every GPU side by side", st.TITLE_FONT)
    st.put_text(ws["B2"], "Yellow cells are inputs; the Results table has one row per GPU.",
                st.NOTE_FONT)
    b.row = FIRST_ROW  # rows 3-4 are the table's note and header, printed on each page
    _outputs(b, col_of)
    _checks(b)
    _inputs(b)
    alias = _model_sheet(st.Block(wb, ms, row=2))
    _working(wb, wk, cols, col_of, alias)
    yours = {f"g_{f}": _field_formula(f"g_{f}", 0)[1:] for f in _napkin.GPU_FIELDS}
    yours.update({k: _field_formula(k, 0)[1:] for k in ("g_vendor_factor",
                                                         "g_prefill_overhead_s")})
    _latency.sheet(wb, wb.create_sheet("Latency", index=wb.index(ms)), alias, SLA_STEPS, yours)
    res_col = _results(wb, ws, col_of)
    rank_end = _ranking(wb, ws, wk, cols, col_of)
    _finish(ws, wk, ms, b.row, rank_end, len(cols), res_col)
    return _book.save(wb, Path(out_dir) / FILENAME)


def _inputs(b) -> None:
    b.heading("Inputs: model, workload and users")
    cells = _input_rows(b, INPUT_ROWS, {"model": ("model_id", "Model catalog id",
                                                  bk.resolve_id("model", "model"))})
    # memory alone counts the context a user holds (seed 001's 200,000 tokens reproduce), but a
    # context past the model's maximum is said beside it (the speed functions refuse one), and
    # so is one shorter than a request, which a user holds at least
    # From the inputs as typed once they pass their checks (a review: the Working sheet's
    # user_context falls back to the defaults while any table check fails, and the note spoke
    # of them)
    ctx, held = cells["context_tokens"], "MAX(context_tokens,input_tokens+output_tokens)"
    b.ws.cell(ctx.row, b.col + 3).value = (
        '=IF(AND(work_ok,check_context="OK",check_input_tokens="OK",check_output_tokens="OK"),'
        f'IF(AND(m_max_context>0,{held}>m_max_context),'
        '"past the model\'s "&TEXT(m_max_context,"#,##0")&" tokens: counts memory only",'
        f'IF({held}>context_tokens,"under a request (in + out): sized at "&TEXT({held},"#,##0"),'
        f'"{CONTEXT_NOTE}")),"{CONTEXT_NOTE}")')
    st.define(b.wb, "context_note", b.ws.title, st.absolute(b.col + 3, ctx.row))
    b.heading("Latency targets (the Latency sheet)", "sizes one GPU for a request rate")
    sla = _input_rows(b, SLA_INPUTS, {"sla_gpu": (
        "sla_gpu_id", "GPU catalog id (or yours)",
        f'IFERROR(IF(LOWER(TRIM({{sla_gpu}}))="{_latency.YOURS}","{_latency.YOURS}",'
        + bk.resolve_id("gpu", "sla_gpu") + '),"")')})
    # the list's warning names yours too (typing it is not a mistake)
    for dv in b.ws.data_validations.dataValidation:
        if sla["sla_gpu"].coordinate in str(dv.sqref):
            dv.error = (f"Pick a GPU from the list, or type {_latency.YOURS} to size your own "
                        "GPU (row 1 of the table).")
    bk.calibration_inputs(b, mem_note="weights + KV must fit in it (table and latency)")
    b.heading("Your own GPU (row 1 of the tables)", "any GPU, or a catalog GPU with changes")
    u = USER_GPU
    b.add("user_gpu_label", "Label", u["label"], "",
          "an example (seed 001) until you type yours; ranked with the rest", "text", "input")
    for f in USER_FIELDS:
        least, most, _ = catalog.field_bounds("gpu", f)
        b.add(f"user_{f}", f, u[f], _napkin._unit(f), _USER_NOTES.get(f, ""),
              _napkin.gpu_field_fmt(f), "input",
              validation=(least, most) if f == "scheduler_steps" else (0,))
    b.add("user_vendor", "Vendor (for the vendor efficiency factor)", u["vendor"], "",
          "NVIDIA, AMD, Intel, Google, Apple; others: 1", "text", "input")
    # its price is the table's row 1 (yellow, 'your $/GPU-h'): shown here, beside its figures
    b.add("user_price_shown", "Price per GPU-hour (the table's row 1)",
          'IF(ISNUMBER(INDEX(w_price_used,1)),INDEX(w_price_used,1),IF(INDEX(w_price_used,1)='
          f'"{BAD_PRICE}","{BAD_PRICE}","none: type it there"))',
          "USD/GPU-h", f"'your $/GPU-h' there; the seed's ${u['price']:.2f} by default", "usd")


def _input_rows(b, rows, ids) -> dict:
    """Input rows; an id input (``ids``: name -> (resolved name, label, formula)) is followed
    by the catalog id it resolves to. Returns the input cells by name."""
    cells = {}
    for name, label, default, unit, note, fmt, rule in rows:
        options = rule if isinstance(rule, str) else None
        cells[name] = b.add(name, label, default, unit, note, fmt, "input", options=options,
                            validation=None if options else rule)
        if name in ids:
            resolved, shown, formula = ids[name]
            b.add(resolved, shown, formula, "id", "", "text")
    return cells


# No catalog GPU answers: the model's reason where no GPU runs it (the Latency sheet's heads and
# context, which no GPU changes; an audit: "no priced GPU serves a user" where the heads did not
# split over num_gpus), else the prices or memory.
NO_GPU = _napkin.model_cannot_run('"no priced GPU serves a user"')


def _outputs(b, col_of) -> None:
    b.heading("The answer")
    first = FIRST_ROW
    # the catalog's GPUs only: your GPU (row 1, an example until you type yours) has its own
    # line below, so an example never stands in for the market's answer
    b.add("cheapest_gpu", "Cheapest catalog GPU per million tokens",
          'IF({catalog_ok},IF(MIN(w_catalog_rank_key)<1E+300,INDEX(w_catalog_gpu_label,MATCH('
          'MIN(w_catalog_rank_key),w_catalog_rank_key,0)),' + NO_GPU + '),"check inputs")', "",
          "at full batches, among GPUs a user fits on",
          "text", "output")
    b.add("cheapest_cost_per_mtok", "Its cost per million tokens",
          'IF({catalog_ok},IF(MIN(w_catalog_rank_key)<1E+300,MIN(w_catalog_rank_key),"-"),'
          '"check inputs")', "USD/Mtok",
          "GPUs only, at the planned utilization: no idle minimum, no people", "usd4", "output")
    # per user the ranking can differ (a render audit: the cheapest per Mtok cost 3x the
    # cheapest per user-month); MIN and COUNT pass over the rows' text ("no users fit")
    per_user = "w_catalog_cost_per_user_month"
    b.add("cheapest_gpu_per_user", "Cheapest catalog GPU per user-month",
          f'IF({{rank_ok}},IF(COUNT({per_user})>0,INDEX(w_catalog_gpu_label,MATCH(MIN({per_user}),'
          f'{per_user},0)),' + NO_GPU + '),"check inputs")', "",
          "users at the percentile, their context and speed", "text", "output")
    b.add("cheapest_cost_per_user_month", "Its cost per user-month",
          f'IF({{rank_ok}},IF(COUNT({per_user})>0,MIN({per_user}),"-"),"check inputs")',
          "USD", "GPUs only, at the hours paid", "usd", "output")
    # the month's bill for the users typed, whose cheapest GPU can differ again (whole replicas)
    bill, at = "w_catalog_cost_users", _CHEAPEST_FOR_USERS
    for name, label, found, unit, note, fmt in (
            ("cheapest_gpu_for_users", "Cheapest catalog GPU for your users",
             f"INDEX(w_catalog_gpu_label,{at})", "", "the month's bill for all of them",
             "text"),
            ("cheapest_gpus_for_users", "Its GPUs for your users",
             f"INDEX(w_catalog_gpus_users,{at})", "GPUs",
             "= REPLICAS_FOR_USERS (one pool) x GPUs per replica", "int"),
            ("cheapest_cost_for_users", "Its USD per month for your users", f"MIN({bill})",
             "USD/month", "GPUs x price x hours paid; no spare, GPUs only", "usd0")):
        none = NO_GPU if fmt == "text" else '"-"'
        b.add(name, label, f'IF(AND({{users_ok}},{{rank_ok}}),IF(COUNT({bill})>0,{found},'
              f'{none}),"check inputs")', unit, note, fmt, "output")
    b.add("user_gpu_shown", "Your GPU (row 1 of the table)",
          'IF({table_ok},{user_gpu_label},"check inputs")', "",
          "defined under 'Your own GPU'; the lines below are for it", "text", "output")
    b.add("user_gpu_cost_per_mtok", "Your GPU: its cost per million tokens",
          f'IF({{table_ok}},IF(ISNUMBER(Working!{col_of["cost_per_mtok"]}{first}),'
          f'Working!{col_of["cost_per_mtok"]}{first},IF(Working!{col_of["cost_per_mtok"]}{first}='
          f'"{BAD_PRICE}","{BAD_PRICE}","-")),"check inputs")', "USD/Mtok",
          "row 1 of the table: '-' = no price or does not fit", "usd4", "output")
    for name, label, col, unit, note, fmt in (
            ("user_gpu_users_at_context", "Your GPU: users whose context fits at once",
             "slots_memory", "users", "seed 001: 6", "int"),
            ("user_gpu_users_per_gpu", "Your GPU: users per GPU at the percentile",
             "users_per_gpu", "users/GPU", "= USERS_AT_PERCENTILE / GPUs", "users"),
            ("user_gpu_headroom", "Your GPU: slots kept free on average for peaks", "headroom",
             "of slots", "= SLOT_HEADROOM", "pct"),
            ("user_gpu_cost_per_user_month", "Your GPU: cost per user-month",
             "cost_per_user_month", "USD", "= COST_PER_USER_MONTH; GPUs only",
             "usd"),
            ("user_gpu_gpus_for_users", "Your GPU: GPUs for your users", "gpus_users", "GPUs",
             "pooled, whole replicas: not users / users per GPU", "int"),
            ("user_gpu_cost_for_users", "Your GPU: USD per month for your users", "cost_users",
             "USD/month", "GPUs x price x hours paid; no spare, GPUs only", "usd0")):
        gate = "users_ok" if col in ("gpus_users", "cost_users") else "table_ok"
        b.add(name, label, f'IF({{{gate}}},Working!{col_of[col]}{first},"check inputs")', unit,
              note, fmt, "output")
    _sla_outputs(b)


def _sla_outputs(b) -> None:
    """The latency targets' answers (the Latency sheet's)."""
    b.add("sla_gpu_shown", "Latency targets: GPU sized",
          f'IF({{sla_ok}},IF({{sla_gpu_id}}="{_latency.YOURS}",{{user_gpu_label}},{{sla_gpu_id}}),'
          '"check inputs")',
          "", "its own input (Latency targets), not necessarily your GPU", "text", "output")
    for name, label, unit, note, fmt in (
            ("sla_max_rate", "Latency targets: requests/s one replica serves", "req/s",
             "= MAX_RATE_FOR_SLA on the GPU to size", "rate"),
            ("sla_replicas", "Latency targets: replicas for the peak rate", "replicas",
             "= REPLICAS_FOR_SLA", "int"),
            ("sla_gpus", "Latency targets: GPUs", "GPUs",
             "(replicas + spares) x GPUs per replica", "int"),
            ("sla_gpu_price", "Latency targets: price per GPU-hour", "USD/GPU-h",
             "yours in the table, else the catalog's; none: type one there", "usd"),
            ("sla_cost_per_month", "Latency targets: USD per month", "USD/month",
             "GPUs x price x hours paid", "usd0"),
            ("sla_cost_per_mtok", "Latency targets: USD per million tokens (in + out)",
             "USD/Mtok",
             "the fleet at the peak rate all the time: less traffic costs more", "usd4"),
            ("sla_ttft", "Latency targets: TTFT at the percentile with them", "ms",
             "= TTFT_AT_RATE at the rate per replica and percentile", "amount"),
            ("sla_tpot", "Latency targets: TPOT at the percentile with them", "ms",
             "= TPOT_AT_RATE, the same arguments", "amount")):
        calc = {"sla_cost_per_month": "sla_cost_calc", "sla_gpu_price": "sla_price"}.get(
            name, name + "_calc")
        gate = {"sla_cost_per_month": "sla_cost_ok", "sla_cost_per_mtok": "sla_cost_ok",
                "sla_gpus": "sla_gpus_ok"}.get(name, "sla_ok")
        cell = b.add(name, label, f'IF({{{gate}}},{{{calc}}},"check inputs")', unit, note, fmt,
                     "output")
        if name == "sla_max_rate":  # no rate: the note says why (the Latency sheet's reason)
            _latency.why_note(b, cell, note, why='IF({sla_ok},{sla_why_none},"see the Checks")')
            stop = b.add("sla_stop", "Latency targets: what stops the rate there",
                         'IF({sla_ok},{sla_binding},"check inputs")', "", "", "text", "output")
            _latency.capacity_note(b, stop, "the Latency sheet", name="sla_stop_note")


# The checks each answer waits for: the table's (and your GPU's) and the latency targets' apart,
# so that an input one of them does not read leaves the other's answers standing.
USER_GPU_CHECKS = ["check_user_gpu", "check_user_fields", "check_user_cap"]
TABLE_CHECKS = ["check_context", "check_duty", "check_percentile", "check_user_rate",
                "check_utilization", "check_hours"] + USER_GPU_CHECKS
SLA_CHECKS = ["check_sla_gpu", "check_sla_rate", "check_ttft", "check_tpot",
              "check_sla_percentile", "check_token_budget"]
# (gate, label, the checks it needs besides the model and workload's)
GATES = [("catalog_ok", "Cheapest computable? (utilization, prices, speed)",
          ["check_utilization", "check_prices", "check_context", "check_user_rate"]),
         ("table_ok", "Table and your GPU computable? (their inputs)", TABLE_CHECKS),
         ("rank_ok", "Ranking computable? (the table's inputs, prices)",
          TABLE_CHECKS + ["check_prices", "check_your_price"]),
         ("users_ok", "Users' bill computable? (the table's inputs, users)",
          TABLE_CHECKS + ["check_users"]),
         ("sla_ok", "Latency answers computable? (the targets)", SLA_CHECKS),
         ("sla_gpus_ok", "Latency GPUs computable? (targets, spares)",
          SLA_CHECKS + ["check_sla_spares"]),
         ("sla_cost_ok", "Latency cost computable? (spares, hours)",
          SLA_CHECKS + ["check_sla_spares", "check_hours"]),
         ("hours_ok", "Hours per month as typed?", ["check_hours"]),
         ("utilization_ok", "Utilization as typed?", ["check_utilization"]),
         ("user_gpu_ok", "Your GPU's figures as typed?", USER_GPU_CHECKS)]


def _checks(b) -> None:
    b.heading("Checks", bk.CHECKS_NOTE)
    # a request past the model's context runs on no GPU: said once here, not as "no priced
    # GPU fits" (a review); a user's context past it still counts memory (its own note)
    # (the typed model's maximum, looked up here: the working copy waits for this check)
    most = "N(INDEX(model_max_context,MATCH({model_id},model_ids,0)))"
    work = bk.workload_checks() + [
        ("check_request_context", "Request within the model's context",
         f'IF(AND({{check_model}}={bk.CHECK_OK},{{check_input_tokens}}={bk.CHECK_OK},'
         f'{{check_output_tokens}}={bk.CHECK_OK}),IF(AND({most}>0,{{input_tokens}}+'
         f'{{output_tokens}}>{most}),"input + output ("&TEXT({{input_tokens}}+'
         f'{{output_tokens}},"#,##0")&" tokens) exceed the model\'s "&TEXT({most},'
         f'"#,##0")&"-token context",{bk.CHECK_OK}),{bk.CHECK_OK})')]
    bk.checks(b, work + [
        ("check_context", "Context tokens", _rule("context_tokens")),
        ("check_duty", "Duty cycle", _rule("duty_cycle")),
        ("check_percentile", "Percentile", _rule("concurrency_percentile")),
        ("check_user_rate", "User tokens/s", _rule("user_tokens_per_sec")),
        ("check_users", "Users online", _rule("users")),
        ("check_utilization", "Utilization", _rule("utilization")),
        ("check_hours", "Hours per month", _rule("hours_per_month")),
        ("check_user_gpu", "Your GPU",
         'IF(AND(ISNUMBER({user_memory_gb}),ISNUMBER({user_mem_bw_tbps}),'
         'ISNUMBER({user_bf16_tflops})),IF(AND({user_memory_gb}>0,{user_mem_bw_tbps}>0,'
         '{user_bf16_tflops}>0),"OK","your GPU needs memory, bandwidth and bf16 > 0"),'
         '"your GPU needs numbers for memory, bandwidth and bf16")'),
        ("check_user_fields", "Your GPU's figures", _user_fields_check()),
        ("check_user_cap", "Your GPU's engine cap",
         'IF(ISBLANK({user_max_concurrency}),"OK",IF(ISNUMBER({user_max_concurrency}),IF(AND('
         '{user_max_concurrency}>=1,{user_max_concurrency}=INT({user_max_concurrency})),"OK",'
         f'{_CAP_MESSAGE}),{_CAP_MESSAGE}))'),
        # read by the latency targets alone (the table's rows do not depend on it)
        ("check_user_steps", "Your GPU's decode steps per decision",
         'IF(ISBLANK({user_scheduler_steps}),"OK",IF(ISNUMBER({user_scheduler_steps}),IF(AND('
         f'{{user_scheduler_steps}}>={_STEPS_LEAST:g},{{user_scheduler_steps}}<={_STEPS_MOST:g},'
         '{user_scheduler_steps}=INT({user_scheduler_steps})),"OK",'
         f'{_STEPS_MESSAGE}),{_STEPS_MESSAGE}))'),
        ("check_sla_gpu", "GPU for the latency targets",
         f'IF({{sla_gpu_id}}="{_latency.YOURS}",IF(AND({{check_user_gpu}}="OK",'
         '{check_user_fields}="OK",{check_user_cap}="OK",{check_user_steps}="OK"),"OK",'
         '"your GPU: see its checks"),'
         f'IF({{sla_gpu_id}}="",{_UNKNOWN_SLA_GPU},"OK"))'),
        ("check_sla_rate", "Requests per second", _rule("requests_per_sec")),
        ("check_ttft", "TTFT limit", _rule("ttft_ms")),
        ("check_tpot", "TPOT limit", _rule("tpot_ms")),
        ("check_sla_percentile", "Latency percentile", _rule("sla_percentile")),
        ("check_sla_spares", "Spare replicas", _rule("sla_spare_replicas", "Spare replicas")),
        ("check_token_budget", "Token budget per step",
         f"IF(ISBLANK({{token_budget}}),{bk.CHECK_OK}," + _rule("token_budget") + ")"),
        ("check_prices", "Your prices for catalog GPUs", _prices_check(
            "tbl_catalog_your_price", "a price in 'your $/GPU-h'")),
        ("check_your_price", "Your GPU's price (row 1)", _prices_check(
            "tbl_row1_your_price", "row 1's price in 'your $/GPU-h'")),
    ], gate="all_ok")
    shared = ",".join("{" + name + '}="OK"' for name, _l, _f in work)
    b.add("work_ok", "Model and workload OK? (every answer needs them)", f"AND({shared})",
          fmt="bool")
    for gate, label, names in GATES:
        own = ",".join("{" + name + '}="OK"' for name in names)
        alone = gate in ("hours_ok", "utilization_ok", "user_gpu_ok")  # its copy's own checks
        b.add(gate, label, ("AND(" if alone else "AND({work_ok},") + own + ")", fmt="bool")


def _prices_check(prices: str, what: str) -> str:
    """OK, or what is wrong with the prices typed in ``prices`` (blank: the catalog's)."""
    return (f'IF(COUNTA({prices})>COUNT({prices}),"{what} is not a number",IF(COUNTIF('
            f'{prices},"<0")>0,"{what} is negative","OK"))')


def _user_fields_check() -> str:
    """Your GPU's figures within what a catalog row allows (``catalog.field_bounds``: at least
    0, or 1 for a count, at most a physical bound, whole for a count), each blank or a number;
    the first that is not names itself. Its engine cap and its decode steps per decision have
    checks of their own."""
    formula = "\"OK\""
    for f in reversed([f for f in USER_FIELDS if f not in ("max_concurrency", "scheduler_steps")]):
        least, most, whole = catalog.field_bounds("gpu", f)
        x = "{user_" + f + "}"
        bad = f"OR({x}<{least:g},{x}>{most:g}" + (f",{x}<>INT({x}))" if whole else ")")
        rule = requirement(least, most, integer=whole)
        formula = (f'IF(IF(ISBLANK({x}),FALSE,IF(ISNUMBER({x}),{bad},TRUE)),'
                   f'"your GPU\'s {f} must be blank or {rule}",{formula})')
    return formula


def _model_sheet(m) -> dict:
    """Inputs as used (checked) and the steps that are the same for every GPU."""
    st.put_text(m.ws["B1"], "Model steps (the same for every GPU)", st.TITLE_FONT)
    m.heading("Inputs as used")
    defaults = {"model": ("{model_id}", "qwen2.5-32b", "text")}
    for name, _l, default, _u, _n, fmt, _r in INPUT_ROWS[1:]:
        defaults[name] = ("{" + name + "}", default, fmt)
    for name, _l, default, _u, _n, fmt, _r in SLA_INPUTS:
        defaults[name] = ("{sla_gpu_id}" if name == "sla_gpu" else "{" + name + "}", default,
                          fmt)
    defaults["efficiency"] = ("N({efficiency})", 0, "blank0")
    defaults["weight_dtype"] = (bk.weight_dtype_used(), "fp8", "gen")
    defaults["kv_dtype"] = (bk.kv_dtype_used(), "fp8", "gen")
    defaults["token_budget"] = (f"IF(ISBLANK({{token_budget}}),{queueing.PREFILL_CHUNK:g},"
                                "{token_budget})", queueing.PREFILL_CHUNK, "int")
    bk.calibration_used(defaults)
    defaults["mem_fraction"] = ("{mem_fraction}", MEM_FRACTION, "pct")
    for f in USER_FIELDS:
        defaults[f"user_{f}"] = ("N({user_" + f + "})", USER_GPU[f] or 0, "blank0")
    # each input falls back to its default only where every answer that reads it waits too
    gates = {name: "table_ok" for name, *_r in INPUT_ROWS
             if name not in ("model", "weight_dtype", "kv_dtype", "num_gpus", "input_tokens",
                             "output_tokens")}
    gates.update({name: "sla_ok" for name, *_r in SLA_INPUTS}, sla_spare_replicas="sla_gpus_ok",
                 users="users_ok",
                 utilization="utilization_ok",
                 hours_per_month="hours_ok", **{f"user_{f}": "user_gpu_ok" for f in USER_FIELDS})
    m.alias = bk.used_inputs(m, defaults, gate="work_ok", gates=gates,
                             note="While a check fails, the rows below that depend on it use "
                                  "the default inputs (see Checks).")
    m.heading("Model from the Catalog")
    _napkin.add_model_lookup(m)
    m.heading("Memory and attention (model and request shape)")
    _napkin.add_steps(m, _napkin.model_steps() + _napkin.speed_model_steps())
    # a user holds at least the request in flight (an audit: 32,000-token prompts sized at the
    # default 8,192 gave 36 users where 9 fit, and a user-month a fifth of its cost)
    m.add("user_context", "Context a user holds (at least a request's in + out)",
          "MAX({context_tokens},{input_tokens}+{output_tokens})", "tokens", fmt="int")
    m.add("kv_bytes_user", "KV cache of one user at that context (and recurrent state)",
          _napkin.kv_cache("{user_context}"), "bytes",
          "= xlnapkin.memory.kv_bytes(model, user_context, 1, kv_dtype)", "sci")
    # the rate those users send, which the latency targets may size (a platform review: the
    # cover's users' fleet and its latency fleet at 5 requests/s, where 3,000 users sent 37)
    m.add("users_request_rate", "Requests/s your users send at the busiest hour",
          "{users}*{duty_cycle}*{user_tokens_per_sec}/{output_tokens}", "requests/s",
          "= capacity.users_request_rate (Little's law)", "num1")
    m.heading("Efficiency used (the same for every GPU)")
    _napkin.add_steps(m, _napkin.efficiency_steps(per_gpu=False))
    _napkin.add_split_table(m)  # beside the steps (G:I), outside the printed page
    _sla_gpu_choices(m)
    st.finish_sheet(m.ws, {"A": 2, "B": 48, "C": 15, "D": 10, "E": 48, "F": 3, "G": 8, "H": 9,
                           "I": 14}, f"A1:E{m.row}")
    return m.alias


def _sla_gpu_choices(m, col: int = 11) -> None:
    """The list the GPU to size is picked from (K, outside the printed page): yours, then the
    Catalog's GPUs as the Catalog sheet lists them."""
    st.put_text(m.ws.cell(1, col), "GPUs to size", st.HEAD_FONT)
    st.style_cell(m.ws.cell(2, col, _latency.YOURS), "text", st.TEXT_FONT)
    n = len(catalog.gpu_ids())
    for i in range(1, n + 1):
        st.style_cell(m.ws.cell(2 + i, col, f"=INDEX(gpu_ids,{i})"), "text")
    m.ws.column_dimensions[L(col)].width = 16
    st.define(m.wb, "sla_gpu_choices", m.ws.title, st.column_range(col, 2, 2 + n))


class _Refs(dict):
    """Row references for per-GPU steps, checked inputs and defined names for the rest."""

    def __init__(self, refs, alias):
        super().__init__(refs)
        self.alias = alias

    def __missing__(self, key):
        return st.check_name(self.alias.get(key, key))


def _working(wb, wk, cols, col_of, alias) -> None:
    # in B1, not A1: column A prints on every page (the GPU names), where the title was cut
    # short enough to end on the first page (the model's own steps: the Model sheet)
    st.put_text(wk["B1"], "Working: a row per GPU (first: yours), a column per step",
                st.HEAD_FONT)
    lines = 5
    for j, (name, head, _f, unit, _fmt) in enumerate(cols, start=1):
        st.header_row(wk, FIRST_ROW - 3, j, [head])
        st.put_text(wk.cell(FIRST_ROW - 2, j), unit, st.NOTE_FONT)
        st.put_text(wk.cell(FIRST_ROW - 1, j), name, st.NOTE_FONT)
        # wide enough for the step's name in 9 pt (about 0.8 width units a character), and for
        # its header in about six lines
        width = 22 if j == 1 else max(12, round(0.8 * len(name) + 2), round(len(head) / 6.3) + 2)
        wk.column_dimensions[L(j)].width = width
        lines = max(lines, st.wrapped_lines(head, width))
    wk.row_dimensions[FIRST_ROW - 3].height = st.header_height(lines)
    your = L(7 + [k for k, *_r in RESULTS].index("your_price"))
    for i in range(1 + len(catalog.gpu_ids())):
        r = FIRST_ROW + i
        refs = {name: f"{col}{r}" for name, col in col_of.items()}
        refs["your_price"] = f"Planner!${your}${r}"
        for j, (name, _head, formula, _unit, fmt) in enumerate(cols, start=1):
            text = _field_formula(name, i) if formula is None else \
                "=" + formula.format_map(_Refs(refs, alias))
            st.style_cell(wk.cell(r, j, text), fmt)
    last = FIRST_ROW + len(catalog.gpu_ids())
    for name, col in col_of.items():
        st.define(wb, f"w_{name}", "Working", f"${col}${FIRST_ROW}:${col}${last}")
    for name in ("rank_key", "gpu_label", "cost_per_user_month", "gpus_users", "cost_users",
                 "slots", "price_used"):  # the catalog's rows alone
        col = col_of[name]
        st.define(wb, f"w_catalog_{name}", "Working", f"${col}${FIRST_ROW + 1}:${col}${last}")
    wk.freeze_panes = f"B{FIRST_ROW}"


def _field_formula(name: str, i: int) -> str:
    """GPU field columns: row 0 reads your GPU (checked inputs), row i the i-th catalog GPU."""
    field = name[2:]
    if i == 0:
        return {"gpu_label": "=user_gpu_label", "g_cloud_price": "=0", "g_fp16_tflops": "=0",
                "g_vendor_factor": "=IFERROR(INDEX(vendor_factor_values,MATCH(user_vendor,"
                                   "vendor_names,0)),1)",
                "g_prefill_overhead_s": "=cal_prefill_overhead_s_used"}.get(
                    name, f"=user_{field}_used")
    if name == "gpu_label":
        return f"=INDEX(gpu_ids,{i})"
    if name == "g_vendor_factor":
        return "=" + _napkin.vendor_factor(str(i))
    if name == "g_cloud_price":
        return f"=N(INDEX(gpu_cloud_usd_per_hour,{i}))"
    if name == "g_prefill_overhead_s":
        return "=" + _napkin.gpu_prefill_overhead(str(i)).replace(
            "{cal_prefill_overhead_s}", "cal_prefill_overhead_s_used")
    return f"=N(INDEX(gpu_{field},{i}))"


def _results(wb, ws, col_of) -> dict:
    """The results table (one row per GPU) from column G of the Planner sheet."""
    pc, hr = 7, FIRST_ROW - 1
    st.put_text(ws.cell(hr - 2, pc), "Results: every GPU for this model and workload",
                st.HEAD_FONT)
    st.put_text(ws.cell(hr - 1, pc), "Type prices in 'your $/GPU-h' ('check': not >= 0). "
                "'no: N GPUs': needs N ('too big': none). 0 users: no context fits, or no "
                "speed. '-': no price/fit/user.",
                st.NOTE_FONT)
    st.header_row(ws, hr, pc, [h for _k, h, *_r in RESULTS], height=40)
    res_col = {key: L(pc + j) for j, (key, *_r) in enumerate(RESULTS)}
    for i in range(1 + len(catalog.gpu_ids())):
        r = FIRST_ROW + i
        for j, (key, _head, src, fmt) in enumerate(RESULTS):
            cell = ws.cell(r, pc + j)
            if key == "your_price":
                cell.value = USER_GPU["price"] if i == 0 else None
                st.style_cell(cell, fmt, st.INPUT_FONT)
                cell.fill, cell.protection = st.INPUT_FILL, st.UNLOCKED
                continue
            if key == "fits":
                w = {k: f"Working!{col_of[k]}{r}" for k in (
                    "concurrency", "split_gpus", "heads_split", "context_ok", "link_ok",
                    "gguf_path", "min_gpus", "g_interconnect_gbps")}
                # memory.why_not's order (_napkin.cannot_run): the heads, unless the link or
                # the context is why no GPU count runs it (a new scenario: a Mac said "heads"
                # where the engine says it has no link for the 2 or 4 GPUs 70B needs)
                value = (f'=IF(table_ok,IF({w["concurrency"]}>=1,"yes",IF(AND(NOT('
                         f'{w["heads_split"]}),{w["context_ok"]},OR({w["link_ok"]},'
                         f'{w["min_gpus"]}<=1)),'
                         f'IF({w["gguf_path"]},"no: layers do not split","no: heads do not '
                         f'split"),IF(NOT({w["link_ok"]}),"no: no GPU link",'
                         f'IF(NOT({w["context_ok"]}),"no: context too long",IF(AND('
                         f'{w["min_gpus"]}>1,NOT({w["g_interconnect_gbps"]}>0)),'
                         f'"no: no GPU link",IF({w["split_gpus"]}>0,"no: "&TEXT('
                         f'{w["split_gpus"]},"0")&" GPUs","no: too big")))))),"check inputs")')
            elif key == "catalog_price":
                c = f"Working!{col_of['g_cloud_price']}{r}"
                value = f'=IF({c}>0,{c},"none")' if i else '="(yours)"'
            else:
                w = f"Working!{col_of[src]}{r}"
                shown = w if fmt == "text" else \
                    f'IF(ISNUMBER({w}),{w},IF({w}="{BAD_PRICE}","check","-"))'
                value = f'=IF(table_ok,{shown},"check inputs")'
            st.style_cell(ws.cell(r, pc + j, value), fmt)
            if key != "gpu":
                cell.alignment = Alignment(horizontal="right")
    last = FIRST_ROW + len(catalog.gpu_ids())
    for key, col in res_col.items():
        st.define(wb, f"tbl_{key}", "Planner", f"${col}${FIRST_ROW}:${col}${last}")
    col = res_col["your_price"]  # your GPU's price and the catalog rows', checked apart
    st.define(wb, "tbl_row1_your_price", "Planner", f"${col}${FIRST_ROW}")
    st.define(wb, "tbl_catalog_your_price", "Planner", f"${col}${FIRST_ROW + 1}:${col}${last}")
    return res_col


def _ranking(wb, ws, wk, cols, col_of) -> int:
    first, last = FIRST_ROW, FIRST_ROW + len(catalog.gpu_ids())
    rk, rank_col = col_of["rank_key"], len(cols) + 1
    st.header_row(wk, FIRST_ROW - 3, rank_col, ["rank by $/Mtok"])
    for r in range(first, last + 1):
        st.style_cell(wk.cell(r, rank_col, f"=SUMPRODUCT((${rk}${first}:${rk}${last}<{rk}{r})*1)"
                                           f"+COUNTIF(${rk}${first}:{rk}{r},{rk}{r})"), "int")
    st.define(wb, "w_rank", "Working", st.column_range(rank_col, first, last))
    pc, rr0 = 7, last + 3
    st.put_text(ws.cell(rr0, pc), f"The {RANK_ROWS} cheapest GPUs per million tokens",
                st.HEAD_FONT)
    # short: the chart beside it hides what runs on (a user audit)
    st.put_text(ws.cell(rr0 + RANK_ROWS + 2, pc), "At full batches, among GPUs a user fits on.",
                st.NOTE_FONT)  # (a review: a longer note ran under the chart)
    # one line, so the row it shares with the Checks on the left stays a plain row
    st.header_row(ws, rr0 + 1, pc, ["GPU", "$/Mtok", "rank"], height=16)
    for k in range(1, RANK_ROWS + 1):
        r, key = rr0 + 1 + k, f"INDEX(w_rank_key,MATCH({k},w_rank,0))"
        st.style_cell(ws.cell(r, pc, f'=IF(rank_ok,IF({key}<1E+300,INDEX(w_gpu_label,MATCH('
                                     f'{k},w_rank,0)),""),"check inputs")'), "text")
        st.style_cell(ws.cell(r, pc + 1, f'=IF(rank_ok,IF({key}<1E+300,{key},""),"")'), "usd4")
        # no rank number beside an empty place
        st.style_cell(ws.cell(r, pc + 2, f'=IFERROR(IF(AND(rank_ok,{key}<1E+300),{k},""),"")'),
                      "int", st.TEXT_FONT)
    rfirst, rlast = rr0 + 2, rr0 + 1 + RANK_ROWS
    st.define(wb, "rank_gpu", "Planner", st.column_range(pc, rfirst, rlast))
    st.define(wb, "rank_cost_per_mtok", "Planner", st.column_range(pc + 1, rfirst, rlast))
    ch = st.bar_chart("Cost per million tokens, cheapest first", "GPU",
                      "USD per million tokens (input + output)",
                      Reference(ws, min_col=pc, min_row=rfirst, max_row=rlast),
                      [("$/Mtok", Reference(ws, min_col=pc + 1, min_row=rfirst, max_row=rlast))],
                      width=15, height=12)
    ch.y_axis.number_format = "$0.00"
    ws.add_chart(ch, f"{L(pc + 4)}{rr0}")
    _growth(wb, ws, pc, rlast + 3)
    return rlast + 20


# The users' bill as they grow: these multiples of the users typed, on the GPU cheapest for them
GROWTH = (0.5, 1, 2, 5, 10)


def _growth(wb, ws, pc, row) -> None:
    """The users' bill at multiples of the users typed (a sensitivity), on the catalog GPU
    cheapest for the users typed, beside the ranking chart: users, GPUs, USD a month (in
    thousands: the columns are narrow) and per user-month. Its slots and price below it."""
    ok = "AND(users_ok,rank_ok,ISNUMBER(cheapest_cost_for_users))"
    title = "Bill as users grow"  # short: the chart beside it hides what runs on
    st.style_cell(ws.cell(row, pc, f'=IF({ok},"{title}, on "&cheapest_gpu_for_users,"{title}")'),
                  "text", st.HEAD_FONT, border=False)
    st.header_row(ws, row + 1, pc, ["users online", "GPUs", "$k/month", "$/user-month"],
                  height=28)
    first, last = row + 2, row + 1 + len(GROWTH)
    for k, f in enumerate(GROWTH):
        r = first + k
        u, n, c = (f"{L(pc + j)}{r}" for j in range(3))
        st.style_cell(ws.cell(r, pc, f'=IF({ok},INT(users*{f:g}+0.5),"")'), "int")
        replicas = _replicas_for(u, "growth_slots", "duty_cycle", "concurrency_percentile")
        st.style_cell(ws.cell(r, pc + 1, f'=IF(ISNUMBER({u}),{replicas}*num_gpus,"")'), "int")
        st.style_cell(ws.cell(r, pc + 2, f'=IF(ISNUMBER({n}),{n}*growth_price*'
                                         'hours_per_month,"")'), '$#,##0.0,"k"')
        st.style_cell(ws.cell(r, pc + 3, f'=IF(AND(ISNUMBER({c}),N({u})>0),{c}/{u},"")'), "usd")
    for j, name in enumerate(("users", "gpus", "cost", "cost_per_user")):
        st.define(wb, f"growth_{name}", "Planner", st.column_range(pc + j, first, last))
    # the GPU's figures the rows read, shown (the working), from its row of the Working sheet
    at = _CHEAPEST_FOR_USERS
    st.put_text(ws.cell(last + 1, pc), "Its slots, $/GPU-h:", st.NOTE_FONT)
    for j, (name, value, fmt) in enumerate((
            ("growth_slots", f"INT(INDEX(w_catalog_slots,{at}))", "int"),  # whole requests
            ("growth_price", f"INDEX(w_catalog_price_used,{at})", "usd"))):
        cell = ws.cell(last + 1, pc + 1 + j, f"=IF({ok},{value},0)")
        st.style_cell(cell, fmt, st.TEXT_FONT)
        st.define(wb, name, "Planner", st.absolute(pc + 1 + j, last + 1))
    st.put_text(ws.cell(last + 2, pc), "Pooled, whole replicas (REPLICAS_FOR_USERS); GPUs "
                "only, no spare, all the hours paid.", st.NOTE_FONT)
    # (a review: at 100 users typed, the 10x row priced gh200-96gb at 1.9 times mi325x's)
    st.put_text(ws.cell(last + 3, pc), "On the GPU cheapest at the users typed: at other counts "
                "another may cost less (type them in 'users').", st.NOTE_FONT)


def _finish(ws, wk, ms, left_end, rank_end, n_cols, res_col) -> None:
    # The table prints on one landscape page: GPU names and all eleven figures together.
    widths = {"A": 2, "B": 40, "C": 14, "D": 9, "E": 46, "F": 2, "G": 18}
    widths.update({col: 8.2 for key, col in res_col.items() if key != "gpu"})
    widths[res_col["fits"]] = 15  # "no: context too long" stays in its cell
    last_res = max(res_col.values(), key=lambda c: (len(c), c))
    # the inputs print on their own pages, then the table, each area no longer than it runs:
    # one area over both printed the table's columns down to the inputs' last row, a page
    # with the header alone and the tails of the inputs' long notes
    st.finish_sheet(ws, widths, [f"A1:F{left_end}", f"G1:{last_res}{rank_end}"], freeze="A3",
                    title_rows=f"{FIRST_ROW - 2}:{FIRST_ROW - 1}")
    # portrait: every GPU's row on one page tall, the steps across pages beside their names
    st.finish_sheet(wk, {}, f"A1:{L(n_cols + 1)}{FIRST_ROW + len(catalog.gpu_ids())}",
                    landscape=False, title_cols="A:A",
                    title_rows=f"{FIRST_ROW - 3}:{FIRST_ROW - 1}")


# What a ranking of the catalog's GPUs rests on (a procurement review: the H100 was priced on a
# cheaper basis than the rest, and the MI300X ranked without a word on its vendor factor)
CATALOG_CAVEAT = ("Its rental prices come from several providers' on-demand rates of different "
                  "dates, some undated (a few from the seed articles), so a ranking is only as "
                  "even as they are: type your own quotes in 'your $/GPU-h'. "
                  + "; ".join(f"{v.upper()} GPUs are modelled at {f:g} of the efficiency "
                              "NVIDIA's reach, already in the table's figures "
                              f"({calibration.VENDOR_BASIS[v]}), so theirs may be low"
                              for v, f in sorted(calibration.VENDOR_FACTOR.items())) + ".")


# The cover's answer at the inputs now (_sheets.cover_sheet), from the Planner sheet's names.
COVER_ANSWER = [
    # the precision and the count it ranks at, and that GPUs needing more are not ranked (a
    # procurement review: "gb200 at $0.4169" for 70B where four H100s cost less, and the
    # planner's fp8 default against the command line's bf16)
    ('IF(catalog_ok,"Cheapest catalog GPU per million tokens for "&model_id&" ("&IF(ISNUMBER('
    'weight_dtype_used),weight_dtype_used&"-bit",weight_dtype_used)&" weights, "&num_gpus&'
    + _sheets.plural("num_gpus", "GPU", "GPUs") + '&" a replica; GPUs with no price, that '
    'need more a replica, or whose memory or speed serves no user are left out: see the '
    'Planner\'s table): "&cheapest_gpu&'
    'IF(ISNUMBER('
    'cheapest_cost_per_mtok)," at "&' + _sheets.per_mtok("cheapest_cost_per_mtok") + '&" at '
    # per user-month over one replica's users, not pooled across replicas (a stress audit: with
    # 3 slots a GPU, the pooled bill below came to half of it), for a user online at the
    # busiest hour, not a monthly active (a finance review)
    'full batches","")&IF(ISNUMBER(cheapest_cost_per_user_month),"; per user-month over one '
    'replica\'s users (a user online at the peak): "&'
    'cheapest_gpu_per_user&" at "&' + _sheets.per_mtok("cheapest_cost_per_user_month") + ',"")&IF('
    'context_note<>"' + CONTEXT_NOTE + '","; the context a user holds is "&context_note,""),'
    '"check inputs: the Planner\'s Checks")', 4),
    # the month's bill at the user's own volume (a CFO audit: the answers were per user-month
    # and per GPU, and no line said what the users typed cost)
    ('IF(AND(users_ok,rank_ok),"For "&' + _sheets.plain("users") + '&'
    + _sheets.plural("users", "user", "users") + '&" online at the busiest hour (each with a '
    'request in flight "&' + _sheets.percent("duty_cycle") + '&" of the time, covered "&'
    + _sheets.percent("concurrency_percentile") + '&" of the time): "&IF(ISNUMBER('
    'cheapest_cost_for_users),cheapest_gpu_for_users&", "&'
    + _sheets.plain("cheapest_gpus_for_users") + '&'
    + _sheets.plural("cheapest_gpus_for_users", "GPU", "GPUs") + '&", "&'
    + _sheets.dollars("cheapest_cost_for_users") + '&" a month (the cheapest catalog GPU for '
    'them: GPUs only, no spare, all "&' + _sheets.plain("hours_per_month") + '&'
    + _sheets.plural("hours_per_month", "hour", "hours") + '&"). They '
    # about so many: whole requests from 10 (a review: "about 39.06")
    'send about "&IF(users_request_rate>=10,TEXT(users_request_rate,"#,##0"),'
    + _sheets.plain("users_request_rate") + ')&" requests/s; the latency '
    'targets below size the "&IF(ISNUMBER(requests_per_sec),' + _sheets.plain(
        "requests_per_sec") + '&" requests/s","rate")&" typed there, of "&'
    # the memory each answer holds (a platform engineer's read: the latency fleet, sized for
    # requests of 2,048 tokens, was 2.4 to 4.8 times smaller than the users' at 8,192)
    + _sheets.plain("input_tokens") + '&" + "&' + _sheets.plain("output_tokens") + '&" tokens '
    'each"&IF(input_tokens+output_tokens<context_tokens,", not the "&'
    + _sheets.plain("context_tokens") + '&" a user holds",""),"no catalog GPU serves them: see '
    'the line above"),"check inputs: the Planner\'s Checks")', 4),
    ('IF(sla_ok,"Latency targets ("&' + _sheets.plain("requests_per_sec") + '&" requests/s, '
    'first token within "&' + _sheets.plain("ttft_ms") + '&" ms and "&'
    # each limit on its own (a planner's audit: "... for 95% of requests" read as both at once)
    + _sheets.plain("tpot_ms") + '&" ms per token, each for "&'
    + _sheets.percent("sla_percentile") + '&" of requests): "&IF(ISNUMBER(sla_replicas),'
    + _sheets.plain("sla_replicas") + '&'
    + _sheets.plural("sla_replicas", "replica", "replicas") + '&" of "&IF(num_gpus>1,num_gpus&'
    '" x ","")&sla_gpu_shown&IF(ISNUMBER(sla_gpus),", "&' + _sheets.plain("sla_gpus") + '&'
    + _sheets.plural("sla_gpus", "GPU", "GPUs") + '&IF(sla_spare_replicas>0," with "&'
    'sla_spare_replicas&IF(sla_spare_replicas=1," spare replica"," spare replicas"),""),"")'
    # the fleet's own cost per token, and why there is no cost (an audit: the sentence ended
    # without a word where the GPU had no price, and the cover's only $/Mtok was the cheapest
    # GPU's at full batches, 1000 times under this fleet's at a small volume)
    '&IF(ISNUMBER(sla_cost_per_month),", "&' + _sheets.dollars("sla_cost_per_month")
    + '&" a month"&IF(ISNUMBER(sla_cost_per_mtok)," ("&' + _sheets.per_mtok("sla_cost_per_mtok")
    + '&" per million tokens at a steady peak rate)",""),IF(ISNUMBER(sla_replicas),"; the '
    'month\'s cost: "&IF(sla_cost_per_month="check inputs","check inputs (spare replicas, '
    'hours)",IF(sla_cost_per_month="' + BAD_PRICE + '","the $/GPU-h typed for "&sla_gpu_shown&'
    '" in the results table is not a number >= 0",sla_cost_per_month&" for "&sla_gpu_shown&'
    '": type its $/GPU-h in the results table")),"")),"")&IF(ISNUMBER(sla_replicas),'
    # why so many, beside them (a planner review: 555 replicas at $1,010,641 a month where the
    # Planner sheet alone said memory held 2 requests a replica; 2 GPUs a replica: $36,354)
    'IF(OR(LEFT(sla_stop_note,12)="memory holds",LEFT(sla_stop_note,19)="limits near idle la"),'
    '". Note: "&sla_stop_note,""),IF(LEFT(sla_why_none,8)="no rate:",'
    'sla_why_none&" (the Latency sheet)",IF(OR(LEFT(sla_why_none,12)="does not fit",'
    'LEFT(sla_why_none,'
    # what the sheet advises where the model does not fit (an audit: the cover said "no rate")
    '10)="cannot run"),sla_why_none,"no rate: see the Latency sheet"))),'
    '"check inputs: the Planner\'s Checks")', 4),  # 4: with spares, $/Mtok and a note
]


def _cover(wb) -> None:
    u = USER_GPU
    _sheets.cover_sheet(wb, "Capacity planner: GPU right-sizing and cost per user", [
        ("What it answers", [
            "For one model and workload, how does every GPU in the catalog compare: does the "
            "model fit, how many users' contexts fit at once, what is the throughput under load, "
            "what does a million tokens cost, how many users does one GPU serve with headroom "
            "for peaks, what is the cost per user per month, and what do the users you serve "
            "cost a month?",
            "And for latency targets: how many replicas of a GPU serve a peak request rate with "
            "time to first token and time per output token at a percentile within limits, and "
            "what that costs a month (the Latency sheet)."]),
        ("How to use it", [
            "1. Planner sheet: pick the model (an id or alias) and dtypes, the request shape, "
            "the context a user keeps, the duty cycle, the percentile the slots must cover and "
            "the tokens/s a user reads at, and how many users are online at the busiest hour.",
            "2. The results table has one row per GPU, priced from the catalog; where the catalog "
            "has no price its column says 'none' and the costs '-': type yours in 'your $/GPU-h' "
            "(yellow). "
            "Row 1 is your own GPU, defined under 'Your own GPU' and priced in its own "
            f"'your $/GPU-h' cell (the seed's B200 at ${u['price']:.2f} until you change it).",
            "3. Every check must say OK; then read the answer, the table, the ranking, its "
            "chart and the bill as users grow. The Working sheet shows each GPU's steps.",
            "4. Latency targets: the GPU to size (a catalog GPU, or yours for row 1), the peak "
            "requests/s and the TTFT and TPOT "
            "limits at a percentile (under 'Latency targets'); the answer block shows the "
            "replicas, GPUs, the price per GPU-hour and USD per month, and the Latency sheet "
            "the working."]),
        ("What each column assumes", [
            "Users at context: user contexts of context_tokens (at least a request's input + "
            "output, which a user holds while it runs) whose KV cache fits beside the "
            "weights in mem_fraction of the replica's memory (MAX_BATCH), capped by the engine's "
            "concurrency limit (per GPU; for GGUF weights llama.cpp's slots). Max throughput: MAX_THROUGHPUT under saturating load with "
            "continuous batching, prefill included.",
            "Concurrent slots = the smaller of the users whose context fits and the most "
            "requests at once at which each still gets the user tokens/s (a loaded step, prompts "
            "included, its caches read at the context a user holds less half an output, within "
            "1 / that rate; the Working sheet's 'Speed' columns solve it). Users per replica = "
            "the most users whose "
            "active count, N x duty cycle on average with standard deviation sqrt(N d (1 - d)), "
            "stays within the slots at the percentile (USERS_AT_PERCENTILE, the normal "
            "approximation of the pooling template, and never fewer users than slots); the "
            "slots left free on average are the "
            "headroom for peaks. Users per GPU = users per replica / GPUs per replica.",
            "$ per million tokens counts input + output tokens at the planned utilization "
            "(SELF_HOST_COST_PER_MTOK); $ per user-month = price x hours / users per GPU "
            "(COST_PER_USER_MONTH); slots count whole. Your users' bill: the requests of those "
            "online at the busiest hour, in flight at the percentile, over a replica's slots, "
            "rounded up (REPLICAS_FOR_USERS: all replicas' slots one pool) x GPUs x price x "
            "hours: not users x $ per user-month. Efficiency: the Planner's (blank: calibrated)."]),
        ("What it leaves out", [
            # an audit: the caveat was on the Latency sheet only, 13 pages into the printout
            "How far to trust the replicas under latency targets: " + _latency.TRUST,
            "Latency targets for more than one GPU at a time (the Latency sheet sizes one), "
            "bursts beyond random (Poisson) arrivals, users' KV caches kept while idle (assumed evicted or cheap to rebuild), staff and minimum "
            "fleets (see the self-host breakeven workbook), prices for GPUs the catalog has no "
            "public price for.",
            "Plain tensor parallelism's copies of the KV cache: each replica's cache is counted "
            "once, spread over its GPUs, as attention data parallelism keeps it (SGLang's DP "
            "attention, vLLM's and TensorRT-LLM's attention DP). A replica that splits the "
            "heads of an MLA model (DeepSeek), or has more GPUs than KV heads, keeps copies "
            "and holds fewer users; the command line says so for such a replica."]),
        ("Seed 001 (B200 and a 32 B model): how to reproduce it", [
            f"Row 1 is a B200 with {u['memory_gb']:.0f} GB (the article's figure; the catalog's "
            "b200 row has 180 GB). Keep qwen2.5-32b with fp8 weights and KV, set the "
            "context a user holds to 200,000, the memory share to 100 % and the duty cycle to "
            "100 %: 'users at context' for row 1 shows 6 (26.2 GB of KV each beside 32.8 GB of "
            "weights).",
            "The article's $4.32 per user-month is COST_PER_USER_MONTH(3, 500, 720): $3/h, 500 "
            "users per GPU, 720 hours. Here users per GPU come from memory, speed and a "
            "percentile instead of being assumed; its 300-800 users active 20 % of the time (80 % "
            "idle) assume every slot full, which the percentile leaves room for.",
            "Decode turning compute-bound near batch 281 (the article says 331): "
            "=CRITICAL_BATCH(\"b200\",\"qwen2.5-32b\",\"fp8\",1) with the add-in, or "
            "xlnapkin critical-batch b200 qwen2.5-32b fp8 1 in a shell."]),
        ("Sources", _sheets.SEED_SOURCES + [
            "Catalog: xlnapkin gpus.csv and models.csv; every row's source and price date "
            "(cloud_price_as_of) are on the Catalog sheet, on screen (the printout leaves the "
            "sources out). " + CATALOG_CAVEAT]),
    ], answer=COVER_ANSWER, page_before=("What it leaves out",))
