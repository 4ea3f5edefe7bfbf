"""Template: GPU right-sizing and cost per user, every catalog GPU side by side.

Sheets: Cover, Planner (inputs, your own GPU row, checks, outputs, the results table with one
row per GPU, the ranking and its chart), Working (one row per GPU, one column per step of the
napkin-math model), Model (the model-level steps), Catalog.

Row 1 of the tables is a "user GPU" whose fields are inputs (default: a B200 with 192 GB, the
seed-001 example); the other rows follow the Catalog sheet. Each Working column mirrors one
engine step (``xlnapkin.serving.max_throughput``, ``tokens_per_sec``, ``memory.max_batch``,
``capacity.self_host_cost_per_mtok``, ``users_per_gpu_for``, ``cost_per_user_month``).
"""

from __future__ import annotations

from pathlib import Path

from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter as L

from .. import catalog
from . import _napkin, _style as st
from .self_host_breakeven import calibrated_inputs, workload_checks, number_check

FILENAME = "capacity_planner.xlsx"
RANK_ROWS = 12
FIRST_ROW = 5          # first data row of both tables (same rows on both sheets)
USER_GPU = dict(label="b200-192gb (your GPU)", memory_gb=192.0, mem_bw_tbps=8.0,
                bf16_tflops=2250.0, fp8_tflops=4500.0, fp4_tflops=9000.0, int8_tops=4500.0,
                interconnect_gbps=1800.0, vendor="NVIDIA", price=3.0)

INPUTS = ["model", "weight_dtype", "kv_dtype", "num_gpus", "input_tokens", "output_tokens",
          "context_tokens", "decode_batch", "decode_context", "duty_cycle",
          "user_tokens_per_sec", "utilization", "hours_per_month", "efficiency", "mem_fraction"]
OUTPUTS = ["cheapest_gpu", "cheapest_cost_per_mtok", "user_gpu_users_at_context",
           "user_gpu_cost_per_user_month"]


def _row_steps():
    """Per-GPU columns of the Working sheet: (name, header, formula template, unit, fmt)."""
    cols = [
        ("gpu_label", "GPU", None, "id", "text"),
        ("g_memory_gb", "memory", None, "GB", "num"),
        ("g_mem_bw_tbps", "bandwidth", None, "TB/s", "num3"),
        ("g_bf16_tflops", "bf16 peak", None, "TFLOP/s", "num"),
        ("g_fp8_tflops", "fp8 peak", None, "TFLOP/s", "num"),
        ("g_fp4_tflops", "fp4 peak", None, "TFLOP/s", "num"),
        ("g_int8_tops", "int8 peak", None, "TOP/s", "num"),
        ("g_interconnect_gbps", "interconnect", None, "GB/s", "num"),
        ("g_vendor_factor", "vendor factor", None, "", "num"),
        ("g_cloud_price", "catalog price", None, "USD/GPU-h", "usd"),
    ]
    for s in _napkin.efficiency_steps() + _napkin.gpu_steps():
        cols.append((s.name, s.label, s.formula, s.unit, s.fmt))
    for s in _napkin.decode_steps("decode_batch", "decode_context", "kv_bytes_dctx",
                                  "attn_tokens_dctx", "_d"):
        cols.append((s.name, s.label + " (chosen batch)", s.formula, s.unit, s.fmt))
    cols += [
        ("fits_d", "weights + KV of the chosen batch fit in all memory? (1 = yes)",
         "IF({weight_bytes}+{decode_batch}*{kv_bytes_dctx}<={num_gpus}*{g_memory_gb}*1E+9"
         "*(1+1E-12),1,0)", "", "int"),
        ("decode_tps", "decode tokens/s at the chosen batch",
         "IF({fits_d}=1,{decode_batch}/{t_step_d},\"does not fit\")", "tokens/s", "num"),
        ("users_fit", "users whose context fits (KV at context_tokens)",
         "MAX(INT({free_memory}/{kv_bytes_user}*(1+1E-12)),0)", "users", "int"),
        ("users_concurrent", "concurrent users (capped by the engine, per GPU)",
         "MIN({users_fit},{cal_max_concurrency}*{num_gpus})", "users", "int"),
        ("users_by_memory", "users per GPU by memory = concurrent / duty cycle / GPUs",
         "{users_concurrent}/{duty_cycle}/{num_gpus}", "users", "num"),
        ("users_by_speed", "users per GPU by throughput = tokens/s / (user tokens/s x duty) / GPUs",
         "IF(ISNUMBER({replica_tokens_per_sec}),{replica_tokens_per_sec}/({user_tokens_per_sec}"
         "*{duty_cycle})/{num_gpus},0)", "users", "num"),
        ("users_per_gpu", "users per GPU (the smaller)", "MIN({users_by_memory},{users_by_speed})",
         "users", "num"),
        ("price_used", "price per GPU-hour used",
         "IF(AND(ISNUMBER({your_price}),N({your_price})>0),{your_price},IF({g_cloud_price}>0,"
         "{g_cloud_price},\"enter price\"))", "USD/GPU-h", "usd"),
        ("total_tps", "input + output tokens/s of one replica",
         "IF(ISNUMBER({replica_tokens_per_sec}),{replica_tokens_per_sec}*({input_tokens}+"
         "{output_tokens})/{output_tokens},\"does not fit\")", "tokens/s", "num"),
        ("cost_per_mtok", "USD per million tokens (input + output) at utilization",
         "IF(NOT(ISNUMBER({total_tps})),\"does not fit\",IF(NOT(ISNUMBER({price_used})),"
         "\"enter price\",{price_used}*{num_gpus}/({total_tps}*{utilization}*3600)*1E+6))",
         "USD/Mtok", "usd4"),
        ("cost_per_user_month", "USD per user-month",
         "IF({users_per_gpu}<=0,\"no users fit\",IF(NOT(ISNUMBER({price_used})),\"enter price\","
         "{price_used}*{hours_per_month}/{users_per_gpu}))", "USD/user-month", "usd"),
        ("rank_key", "sort key ($/Mtok, or huge)",
         "IF(ISNUMBER({cost_per_mtok}),{cost_per_mtok},1E+300)", "", "sci"),
    ]
    return cols


def build(out_dir) -> Path:
    wb = st.new_workbook()
    _cover(wb)
    ws = wb.create_sheet("Planner")
    wk = wb.create_sheet("Working")
    ms = wb.create_sheet("Model")
    st.catalog_sheet(wb)
    gids = catalog.gpu_ids()
    n_rows = 1 + len(gids)
    first, last = FIRST_ROW, FIRST_ROW + n_rows - 1

    # --- inputs (left, above the table? no: a block on the left of the Planner sheet) ----------
    b = st.Block(wb, ws, row=1)
    st.put_text(ws["B1"], "Capacity planner: every GPU side by side", st.TITLE_FONT)
    st.put_text(ws["B2"], "Blue cells are inputs; the table on the right has one row per GPU.",
                st.NOTE_FONT)
    b.row = 3
    b.heading("Inputs: model and workload")
    b.add("model", "Model", "qwen2.5-32b", "id", "", "text", "input", options="model_ids")
    b.add("weight_dtype", "Weight dtype", "fp8", "dtype", "", "text", "input",
          options="dtype_names")
    b.add("kv_dtype", "KV-cache dtype", "fp8", "dtype", "", "text", "input",
          options="dtype_names")
    b.add("num_gpus", "GPUs per replica (tensor parallel)", 1, "GPUs", "", "int", "input",
          validation=(1,))
    b.add("input_tokens", "Input tokens per request (throughput)", 1024, "tokens", "", "int",
          "input", validation=(1,))
    b.add("output_tokens", "Output tokens per request (throughput)", 1024, "tokens", "", "int",
          "input", validation=(1,))
    b.add("decode_batch", "Decode speed: batch", 32, "sequences", "", "int", "input",
          validation=(1,))
    b.add("decode_context", "Decode speed: context per sequence", 2048, "tokens", "", "int",
          "input", validation=(0,))
    b.heading("Inputs: users and money")
    b.add("context_tokens", "Context a user holds in the KV cache", 8192, "tokens",
          "seed 001: 200,000", "int", "input", validation=(1,))
    b.add("duty_cycle", "Share of the time a user has a request in flight", 0.2, "0-1", "",
          "pct", "input", validation=(0, 1))
    b.add("user_tokens_per_sec", "Tokens/s a user receives while active", 20, "tokens/s",
          "reading speed", "num", "input", validation=(0,))
    b.add("utilization", "Planned utilization (for $ per million tokens)", 0.7, "0-1", "",
          "pct", "input", validation=(0, 1))
    b.add("hours_per_month", "Hours paid per month", 730.0, "hours", "seed 001: 720", "int",
          "input", validation=(0, 744))
    cols = _row_steps()
    col_of = {name: L(1 + j) for j, (name, *_rest) in enumerate(cols)}

    b.heading("Outputs")
    b.add("cheapest_gpu", "Cheapest GPU per million tokens",
          "IF({all_ok},IF(MIN(w_rank_key)<1E+300,INDEX(w_gpu_label,MATCH(MIN(w_rank_key),"
          "w_rank_key,0)),\"no GPU has a price and fits\"),\"check inputs\")", "", "", "text",
          "output")
    b.add("cheapest_cost_per_mtok", "Its cost per million tokens",
          "IF({all_ok},IF(MIN(w_rank_key)<1E+300,MIN(w_rank_key),\"-\"),\"check inputs\")",
          "USD/Mtok", "", "usd4", "output")
    b.add("user_gpu_users_at_context", "Your GPU: users whose context fits at once",
          f"IF({{all_ok}},Working!{col_of['users_concurrent']}{first},\"check inputs\")",
          "users", "seed 001: 6", "int", "output")
    b.add("user_gpu_cost_per_user_month", "Your GPU: USD per user-month",
          f"IF({{all_ok}},Working!{col_of['cost_per_user_month']}{first},\"check inputs\")",
          "USD", "", "usd", "output")
    # --- checks (left block continues) ---------------------------------------------------------
    b.heading("Checks", "every line must say OK; results show 'check inputs' otherwise")
    cfirst = b.row
    workload_checks(b, extra=[
        ("check_context", "Context tokens",
         number_check("context_tokens", "context_tokens", 1)),
        ("check_decode", "Decode batch and context",
         "IF(AND(ISNUMBER({decode_batch}),ISNUMBER({decode_context})),IF(OR({decode_batch}<1,"
         "{decode_batch}<>INT({decode_batch}),{decode_context}<0),\"decode batch must be a "
         "whole number >= 1 and context >= 0\",\"OK\"),\"decode batch and context must be "
         "numbers\")"),
        ("check_duty", "Duty cycle",
         number_check("duty_cycle", "duty_cycle", 0, 1, min_open=True)),
        ("check_user_rate", "User tokens/s",
         number_check("user_tokens_per_sec", "user_tokens_per_sec", 0, min_open=True)),
        ("check_utilization", "Utilization",
         number_check("utilization", "utilization", 0, 1, min_open=True)),
        ("check_hours", "Hours per month",
         number_check("hours_per_month", "hours_per_month", 0, 744, min_open=True)),
        ("check_user_gpu", "Your GPU",
         "IF(AND(ISNUMBER({user_memory_gb}),ISNUMBER({user_mem_bw_tbps}),"
         "ISNUMBER({user_bf16_tflops})),IF(AND({user_memory_gb}>0,{user_mem_bw_tbps}>0,"
         "{user_bf16_tflops}>0),\"OK\",\"your GPU needs memory, bandwidth and bf16 > 0\"),"
         "\"your GPU needs numbers for memory, bandwidth and bf16\")"),
        ("check_prices", "Your prices",
         f"IF(COUNTIF(tbl_your_price,\"<0\")>0,\"a price in 'your $/GPU-h' is negative\","
         "\"OK\")"),
    ])
    st.define(wb, "checks", ws.title, f"$C${cfirst}:$C${b.row - 1}")
    st.mark_checks(ws, f"C{cfirst}:C{b.row - 1}")
    b.add("all_ok", "All inputs OK?", "COUNTIF(checks,\"OK\")=ROWS(checks)", "", "", "gen")
    calibrated_inputs(b)
    b.heading("Your own GPU (row 1 of the tables)", "any GPU, or a catalog GPU with changes")
    u = USER_GPU
    b.add("user_gpu_label", "Label", u["label"], "", "", "text", "input")
    for f, unit in (("memory_gb", "GB"), ("mem_bw_tbps", "TB/s"), ("bf16_tflops", "TFLOP/s"),
                    ("fp8_tflops", "TFLOP/s"), ("fp4_tflops", "TFLOP/s"), ("int8_tops", "TOP/s"),
                    ("interconnect_gbps", "GB/s")):
        b.add(f"user_{f}", f"{f}", u[f], unit, "blank = none (falls back to bf16)" if
              f in ("fp8_tflops", "fp4_tflops", "int8_tops") else "", "num", "input",
              validation=(0,))
    b.add("user_vendor", "Vendor (for the vendor efficiency factor)", u["vendor"], "", "",
          "text", "input")

    # --- model block ----------------------------------------------------------------------------
    m = st.Block(wb, ms, row=1)
    st.put_text(ms["B1"], "Model steps (the same for every GPU)", st.TITLE_FONT)
    m.row = 2
    m.heading("Model from the Catalog (same for every GPU)")
    _napkin.add_model_lookup(m)
    m.heading("Memory and attention (model and request shape)")
    _napkin.add_steps(m, _napkin.model_steps())
    m.add("kv_bytes_dctx", "KV cache per sequence at the decode context",
          "{kv_bytes_per_layer_token}*((({n_attn_layers}-{n_window_layers})*{decode_context}"
          "+{n_window_layers}*MIN({decode_context},{m_sliding_window})))", "bytes",
          "= xlnapkin.memory.kv_bytes(model, decode_context, 1, kv_dtype)", "sci")
    m.add("attn_tokens_dctx", "Attended tokens over layers at the decode context",
          "(({n_attn_layers}-{n_window_layers})*{decode_context}+{n_window_layers}*"
          "MIN({decode_context},{m_sliding_window}))", "token-layers", "", "sci")
    m.add("kv_bytes_user", "KV cache of one user at context_tokens",
          "{kv_bytes_per_layer_token}*((({n_attn_layers}-{n_window_layers})*{context_tokens}"
          "+{n_window_layers}*MIN({context_tokens},{m_sliding_window})))", "bytes",
          "= xlnapkin.memory.kv_bytes(model, context_tokens, 1, kv_dtype)", "sci")

    # --- working table --------------------------------------------------------------------------
    col_of["your_price"] = None  # on the Planner sheet, filled below
    st.put_text(wk["A1"], "Working: one row per GPU, one column per step (first row = your "
                "GPU; model-level steps on the Model sheet)", st.HEAD_FONT)
    for j, (name, head, _f, unit, _fmt) in enumerate(cols, start=1):
        c = st.put_text(wk.cell(FIRST_ROW - 3, j), head, st.COLHEAD_FONT)
        c.fill = st.COLHEAD_FILL
        c.alignment = Alignment(wrap_text=True, vertical="top")
        st.put_text(wk.cell(FIRST_ROW - 2, j), unit, st.NOTE_FONT)
        st.put_text(wk.cell(FIRST_ROW - 1, j), name, st.NOTE_FONT)
        wk.column_dimensions[L(j)].width = 24 if j == 1 else 13
    wk.row_dimensions[FIRST_ROW - 3].height = 64

    # results table on the Planner sheet: columns
    pc = 7  # column G
    res = [("gpu", "GPU", "gpu_label", "text"), ("memory", "memory GB", "g_memory_gb", "num"),
           ("catalog_price", "catalog $/GPU-h", "g_cloud_price_shown", "usd"),
           ("your_price", "your $/GPU-h", None, "usd"),
           ("price", "$/GPU-h used", "price_used", "usd"),
           ("fits", "fits? (GPUs needed)", "fits_shown", "text"),
           ("batch", "max requests", "max_batch_fit", "int"),
           ("users_ctx", "users at context", "users_concurrent", "int"),
           ("decode", "decode tok/s (batch)", "decode_tps", "num"),
           ("tput", "max throughput tok/s", "replica_tokens_per_sec", "num"),
           ("cost_per_mtok", "$/M tokens", "cost_per_mtok", "usd4"),
           ("users_per_gpu", "users per GPU", "users_per_gpu", "num"),
           ("user_month", "$/user-month", "cost_per_user_month", "usd")]
    res_col = {key: L(pc + j) for j, (key, *_r) in enumerate(res)}
    hr = FIRST_ROW - 1
    st.put_text(ws.cell(hr - 2, pc), "Results: every GPU for this model and workload",
                st.HEAD_FONT)
    st.put_text(ws.cell(hr - 1, pc), "Enter a price in 'your $/GPU-h' where the catalog has "
                "none; 'does not fit' = weights + one request exceed the replica's memory.",
                st.NOTE_FONT)
    for j, (key, head, _src, _fmt) in enumerate(res):
        c = st.put_text(ws.cell(hr, pc + j), head, st.COLHEAD_FONT)
        c.fill = st.COLHEAD_FILL
        c.alignment = Alignment(wrap_text=True, vertical="top", horizontal="center")
    ws.row_dimensions[hr].height = 42

    for i in range(n_rows):
        r = first + i
        k = i  # catalog index (1-based) for rows after the user row
        refs = {name: f"{col}{r}" for name, col in col_of.items() if col}
        refs["your_price"] = f"Planner!${res_col['your_price']}${r}"
        for j, (name, _head, formula, _unit, fmt) in enumerate(cols, start=1):
            cell = wk.cell(r, j)
            if formula is None:
                cell.value = _field_formula(name, i, k)
                if name == "gpu_label" and i == 0:
                    cell.value = "=user_gpu_label"
            else:
                cell.value = "=" + formula.format_map(_Refs(refs))
            cell.number_format = st.FMT[fmt]
            cell.font = st.FORMULA_FONT
            cell.border = st.BOX
        # results row
        for j, (key, _head, src, fmt) in enumerate(res):
            cell = ws.cell(r, pc + j)
            if key == "your_price":
                if i == 0:
                    cell.value = u["price"]
                cell.font, cell.fill, cell.protection = st.INPUT_FONT, st.INPUT_FILL, st.UNLOCKED
            elif src == "fits_shown":
                cell.value = (f"=IF(all_ok,IF(Working!{col_of['concurrency']}{r}>=1,\"yes\","
                              f"\"no: \"&TEXT(Working!{col_of['min_gpus']}{r},\"0\")&\" GPUs\"),"
                              "\"check inputs\")")
                cell.font = st.FORMULA_FONT
            elif src == "g_cloud_price_shown":
                cell.value = (f"=IF(Working!{col_of['g_cloud_price']}{r}>0,"
                              f"Working!{col_of['g_cloud_price']}{r},\"-\")")
                cell.font = st.FORMULA_FONT
            else:
                cell.value = f"=IF(all_ok,Working!{col_of[src]}{r},\"check inputs\")"
                cell.font = st.FORMULA_FONT
            cell.number_format = st.FMT[fmt]
            cell.border = st.BOX
            if key != "gpu":
                cell.alignment = Alignment(horizontal="right")
    for name, col in col_of.items():
        if col:
            st.define(wb, f"w_{name}", "Working", f"${col}${first}:${col}${last}")
    for key, col in res_col.items():
        st.define(wb, f"tbl_{key}", "Planner", f"${col}${first}:${col}${last}")
    wk.freeze_panes = f"B{FIRST_ROW}"

    left_end = b.row

    # --- ranking and chart ----------------------------------------------------------------------
    rk_col = col_of["rank_key"]
    rank_col = L(len(cols) + 1)
    st.put_text(wk.cell(FIRST_ROW - 3, len(cols) + 1), "rank by $/Mtok",
                st.COLHEAD_FONT).fill = st.COLHEAD_FILL
    st.put_text(wk.cell(FIRST_ROW - 1, len(cols) + 1), "rank", st.NOTE_FONT)
    for r in range(first, last + 1):
        c = wk.cell(r, len(cols) + 1, f"=SUMPRODUCT((${rk_col}${first}:${rk_col}${last}<"
                                      f"{rk_col}{r})*1)+COUNTIF(${rk_col}${first}:{rk_col}{r},"
                                      f"{rk_col}{r})")
        c.number_format, c.font, c.border = st.FMT["int"], st.FORMULA_FONT, st.BOX
    st.define(wb, "w_rank", "Working", f"${rank_col}${first}:${rank_col}${last}")
    rr0 = last + 3
    st.put_text(ws.cell(rr0, pc), f"Ranking: the {RANK_ROWS} cheapest GPUs per million tokens",
                st.HEAD_FONT)
    for j, h in enumerate(["rank", "GPU", "$/M tokens"]):
        st.put_text(ws.cell(rr0 + 1, pc + j), h, st.COLHEAD_FONT).fill = st.COLHEAD_FILL
    for k in range(1, RANK_ROWS + 1):
        r = rr0 + 1 + k
        ws.cell(r, pc, k).font = st.TEXT_FONT
        idx = f"MATCH({k},w_rank,0)"
        key = f"INDEX(w_rank_key,{idx})"
        ws.cell(r, pc + 1, f"=IF(all_ok,IF({key}<1E+300,INDEX(w_gpu_label,{idx}),\"(none)\"),"
                           "\"check inputs\")").font = st.FORMULA_FONT
        c = ws.cell(r, pc + 2, f"=IF(all_ok,IF({key}<1E+300,{key},0),0)")
        c.font, c.number_format = st.FORMULA_FONT, st.FMT["usd4"]
        for j in range(3):
            ws.cell(r, pc + j).border = st.BOX
    rfirst, rlast = rr0 + 2, rr0 + 1 + RANK_ROWS
    st.define(wb, "rank_gpu", "Planner", f"${L(pc + 1)}${rfirst}:${L(pc + 1)}${rlast}")
    st.define(wb, "rank_cost_per_mtok", "Planner", f"${L(pc + 2)}${rfirst}:${L(pc + 2)}${rlast}")
    st.put_text(ws.cell(rlast + 1, pc), "(none) = fewer GPUs have a price and fit; enter prices "
                "in the table above.", st.NOTE_FONT)
    ch = BarChart()
    ch.type = "bar"
    ch.style = 2
    ch.title = "Cost per million tokens, cheapest first"
    ch.y_axis.title = "USD per million tokens (input + output)"
    ch.x_axis.title = "GPU"
    ch.x_axis.delete = False
    ch.y_axis.delete = False
    ch.x_axis.scaling.orientation = "maxMin"  # cheapest at the top
    ch.legend = None
    ch.add_data(Reference(ws, min_col=pc + 2, min_row=rfirst, max_row=rlast),
                titles_from_data=False)
    ch.set_categories(Reference(ws, min_col=pc + 1, min_row=rfirst, max_row=rlast))
    ch.y_axis.number_format = "$0.00"
    ch.width, ch.height = 18, 10
    ws.add_chart(ch, f"{L(pc + 4)}{rr0}")

    st.col_widths(ws, {"A": 2, "B": 44, "C": 22, "D": 10, "E": 30, "F": 2, "G": 22, "H": 9,
                       "I": 10, "J": 10, "K": 10, "L": 11, "M": 10, "N": 10, "O": 11, "P": 11,
                       "Q": 11, "R": 10, "S": 11})
    ws.sheet_view.showGridLines = False
    wk.sheet_view.showGridLines = False
    ws.freeze_panes = "A3"
    st.protect(ws)
    st.protect(wk)
    st.col_widths(ms, {"A": 2, "B": 58, "C": 16, "D": 12, "E": 60})
    ms.sheet_view.showGridLines = False
    st.protect(ms)
    st.print_setup(ms, f"A1:E{m.row}", landscape=False)
    st.print_setup(ws, f"A1:S{max(left_end, rlast + 22)}")
    # wide: pages across, the GPU column repeated on each, all rows on one page high
    st.print_setup(wk, f"A1:{L(len(cols) + 1)}{last}")
    wk.page_setup.fitToWidth = 0
    wk.page_setup.fitToHeight = 1
    wk.print_title_cols = "A:A"
    return st.save_reproducible(wb, Path(out_dir) / FILENAME)


class _Refs(dict):
    """Row references for per-GPU steps, defined names for everything else."""

    def __missing__(self, key):
        return st.check_name(key)


def _field_formula(name: str, i: int, k: int) -> str:
    """GPU field columns: row 0 reads the user GPU inputs, row k the k-th catalog GPU."""
    field = name[2:]
    if i == 0:
        if name == "g_vendor_factor":
            return ("=IFERROR(INDEX(vendor_factor_values,MATCH(user_vendor,vendor_names,0)),1)")
        if name == "g_cloud_price":
            return "=0"
        return f"=N(user_{field})"
    if name == "gpu_label":
        return f"=INDEX(gpu_ids,{k})"
    if name == "g_vendor_factor":
        return (f"=IFERROR(INDEX(vendor_factor_values,MATCH(INDEX(gpu_vendor,{k}),"
                "vendor_names,0)),1)")
    if name == "g_cloud_price":
        return f"=N(INDEX(gpu_cloud_usd_per_hour,{k}))"
    return f"=N(INDEX(gpu_{field},{k}))"


def _cover(wb) -> None:
    u = USER_GPU
    st.cover_sheet(wb, "Capacity planner: GPU right-sizing and cost per user", [
        ("What it answers", [
            "For one model and workload, how does every GPU in the catalog compare: does the "
            "model fit, how many requests and users fit at once, how fast is decode at a chosen "
            "batch and the throughput under load, what does a million tokens cost, how many "
            "users does one GPU serve given their duty cycle, and what is the cost per user per "
            "month?",
        ]),
        ("How to use it", [
            "1. On the Planner sheet, pick the model and dtypes, the request shape, the context "
            "a user keeps, the duty cycle and the tokens/s a user reads at. Blue cells are inputs.",
            "2. The results table has one row per GPU. Most catalog GPUs have no rental price: "
            "type one into 'your $/GPU-h' (blue) and the $ columns fill in; until then they say "
            "'enter price'. Row 1 is your own GPU, defined by the inputs on the left.",
            "3. Read the Checks block (every line OK), the Outputs, the ranking and its chart "
            "(cheapest first). The Working sheet shows each step for each GPU.",
        ]),
        ("Assumptions", [
            "Max requests: requests of input + output tokens whose KV cache fits beside the "
            "weights in mem_fraction of the replica's memory (xlnapkin MAX_BATCH). Users at "
            "context: the same for one user's context_tokens, capped by the engine's "
            "concurrency limit.",
            "Decode tok/s: one decode step for the chosen batch at the chosen context, bounded "
            "by compute or by the weight read, plus the KV read, all-reduce and fixed overheads "
            "(TOKENS_PER_SEC; 'does not fit' when weights + KV exceed all of memory).",
            "Max throughput: MAX_THROUGHPUT under saturating load with continuous batching, "
            "prefill included. $ per million tokens counts input + output tokens at the planned "
            "utilization (xlnapkin self_host_cost_per_mtok).",
            "Users per GPU = the smaller of (concurrent users by memory / duty cycle) and "
            "(max throughput / (user tokens/s x duty cycle)), per GPU of the replica "
            "(users_per_gpu_for with no speed floor, users_per_gpu_by_throughput). "
            "$ per user-month = price x hours / users per GPU (COST_PER_USER_MONTH).",
            "Efficiency: calibrated MBU/MFU/overheads from xlnapkin.calibration (editable); set "
            "'efficiency' to 1 for the pure roofline.",
        ]),
        ("Seed 001 (B200 and a 32 B model): how to reproduce it", [
            f"Row 1 is a B200 with {u['memory_gb']:.0f} GB (the article's figure; the catalog's "
            "b200 row has 180 GB usable). Keep model qwen2.5-32b with fp8 weights and KV, set "
            "'Context a user holds' to 200,000, 'Share of GPU memory the engine may use' to 100 % "
            "and duty cycle to 100 %: 'users at context' for row 1 shows 6 users "
            "(26.2 GB of KV each beside 32.8 GB of weights).",
            "The article's $4.32 per user-month is COST_PER_USER_MONTH(3, 500, 720): $3/h, 500 "
            "users per GPU, 720 hours. Set hours to 720 and your GPU's price to 3; the planner "
            "then computes users per GPU from memory and speed instead of assuming 500.",
            "Ridge point 4,500 / 8 = 562.5 FLOP/byte; decode turns compute-bound near batch 281 "
            "(the article says 331): compare 'decode tok/s' for batches around 281.",
        ]),
        ("Sources", st.SEED_SOURCES + [
            "Catalog: xlnapkin package data (gpus.csv, models.csv); every row's source is on the "
            "Catalog sheet. Catalog rental prices are dated snapshots (cloud_price_as_of).",
        ]),
    ])
