"""Template: self-hosted GPUs vs a token API as the daily volume grows.

Sheets: Cover, Breakeven (inputs, checks, outputs, API price list, volume table and chart),
Working (the napkin-math model step by step: catalog fields, memory, one decode step, throughput
under load, then the economics), Catalog.

Every working cell mirrors one engine function (``xlnapkin.serving.max_throughput``,
``xlnapkin.economics.self_host_monthly_cost`` ...); the tests recalculate the workbook and
compare each named cell with the engine.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl.chart import Reference

from .. import calibration, catalog
from . import _napkin, _style as st

FILENAME = "self_host_breakeven.xlsx"
VOLUME_ROWS = 30

# Named cells the engine comparison reads (tests import these).
INPUTS = ["gpu", "model", "num_gpus", "weight_dtype", "kv_dtype", "input_tokens",
          "output_tokens", "hardware", "gpu_price_per_hour", "utilization", "hours_per_month",
          "api_price_in_per_mtok", "api_price_out_per_mtok", "api", "input_share",
          "tokens_per_day",
          "efficiency", "mem_fraction", "purchase_price", "years", "power_watts",
          "price_per_kwh", "pue", "annual_overhead", "volume_min", "volume_max"]
OUTPUTS = ["replica_tokens_per_sec", "replica_total_tokens_per_sec", "replicas_needed",
           "self_host_monthly_cost", "api_monthly_cost", "breakeven_tokens_per_day",
           "self_host_cost_per_mtok", "api_blended_price", "own_gpu_hourly_cost",
           "monthly_saving"]

DEFAULT_GPU = "h100-sxm"
DEFAULT_MODEL = "llama-3.1-8b"
DEFAULT_API = "openai-gpt-4o"


def calibrated_inputs(block) -> None:
    """The calibrated efficiency constants as editable assumption inputs."""
    d = calibration.DEFAULTS
    block.heading("Efficiency assumptions", "xlnapkin.calibration defaults, fitted on "
                  "measurements")
    block.add("efficiency", "Efficiency override (blank = calibrated; 1 = pure roofline)", None,
              "0-1", "e sets MBU = MFU = e, no overheads",
              "num", "input", validation=(0, 1, True))
    block.add("cal_mbu", "Calibrated memory-bandwidth utilisation (MBU)", float(d.mbu), "0-1",
              "", "num3", "input", validation=(0, 1))
    block.add("cal_mfu_decode", "Calibrated compute utilisation in decode (MFU)",
              float(d.mfu_decode), "0-1", "", "num3", "input", validation=(0, 1))
    block.add("cal_mfu_prefill", "Calibrated compute utilisation in prefill",
              float(d.mfu_prefill), "0-1", "", "num3", "input", validation=(0, 1))
    block.add("cal_step_overhead_s", "Fixed overhead per forward pass", float(d.step_overhead_s),
              "s", "kernel launches, sampling, scheduling", "sci", "input", validation=(0,))
    block.add("cal_layer_overhead_s", "Fixed overhead per layer per forward pass",
              float(d.layer_overhead_s), "s", "", "sci", "input", validation=(0,))
    block.add("cal_moe_layer_overhead_s", "Extra fixed overhead per layer of an MoE model",
              float(getattr(d, "moe_layer_overhead_s", 0.0)), "s",
              "routing, token permutation, grouped GEMMs", "sci", "input", validation=(0,))
    block.add("cal_allreduce_latency_s", "Latency of one tensor-parallel all-reduce",
              float(d.allreduce_latency_s), "s", "", "sci", "input", validation=(0,))
    block.add("cal_max_concurrency", "Engine cap on concurrent requests per GPU",
              float(d.max_concurrency), "requests",
              "1 = no continuous batching", "int", "input",
              validation=(1,))
    block.add("mem_fraction", "Share of GPU memory the engine may use", 0.9, "0-1",
              "weights + KV must fit in it", "pct", "input", validation=(0, 1))


def workload_checks(block, extra=()) -> None:
    """The Checks block shared by the serving templates: one message per input, 'OK' when fine."""
    def whole(name, label, minimum=1):
        return (f"IF(NOT(ISNUMBER({{{name}}})),\"{label} must be a number\","
                f"IF(OR({{{name}}}<{minimum},{{{name}}}<>INT({{{name}}})),"
                f"\"{label} must be a whole number >= {minimum}\",\"OK\"))")

    def dtype(name, label):
        return (f"IF(ISNUMBER({{{name}}}),IF(AND({{{name}}}>0,{{{name}}}<=64),\"OK\","
                f"\"{label}: bits must be in (0, 64]\"),IF(ISNA(MATCH({{{name}}},dtype_names,0)),"
                f"\"unknown {label}: pick one from the list\",\"OK\"))")

    rows = [
        ("check_model", "Model",
         "IF(ISNA(MATCH({model},model_ids,0)),\"unknown model: pick one from the list\",\"OK\")"),
        ("check_weight_dtype", "Weight dtype", dtype("weight_dtype", "weight dtype")),
        ("check_kv_dtype", "KV dtype", dtype("kv_dtype", "KV dtype")),
        ("check_num_gpus", "GPUs per replica", whole("num_gpus", "num_gpus")),
        ("check_input_tokens", "Input tokens", whole("input_tokens", "input_tokens")),
        ("check_output_tokens", "Output tokens", whole("output_tokens", "output_tokens")),
        ("check_efficiency", "Efficiency",
         "IF(ISBLANK({efficiency}),\"OK\",IF(NOT(ISNUMBER({efficiency})),"
         "\"efficiency must be blank or a number in (0, 1]\",IF(OR({efficiency}<0,"
         "{efficiency}>1),\"efficiency must be blank or a number in (0, 1]\",\"OK\")))"),
        ("check_calibration", "Calibrated constants",
         "IF(AND(ISNUMBER({cal_mbu}),ISNUMBER({cal_mfu_decode}),ISNUMBER({cal_mfu_prefill}),"
         "ISNUMBER({cal_step_overhead_s}),ISNUMBER({cal_layer_overhead_s}),"
         "ISNUMBER({cal_moe_layer_overhead_s}),"
         "ISNUMBER({cal_allreduce_latency_s}),ISNUMBER({cal_max_concurrency}),"
         "ISNUMBER({mem_fraction})),IF(AND({cal_mbu}>0,{cal_mbu}<=1,{cal_mfu_decode}>0,"
         "{cal_mfu_decode}<=1,{cal_mfu_prefill}>0,{cal_mfu_prefill}<=1,{mem_fraction}>0,"
         "{mem_fraction}<=1,{cal_step_overhead_s}>=0,{cal_layer_overhead_s}>=0,"
         "{cal_moe_layer_overhead_s}>=0,"
         "{cal_allreduce_latency_s}>=0,{cal_max_concurrency}>=1),\"OK\","
         "\"utilisations and memory share must be in (0, 1], overheads >= 0\"),"
         "\"efficiency assumptions must be numbers\")"),
    ]
    rows[0:0] = list(extra[:1])
    rows += list(extra[1:])
    for name, label, formula in rows:
        cell = block.add(name, label, formula, "", "", "text")
        cell.font = st.CHECK_FONT


def number_check(name, label, minimum, maximum=None, min_open=False, max_open=False) -> str:
    lo = ">" if min_open else ">="
    bad_lo = "<=" if min_open else "<"
    if maximum is None:
        rule = f"{lo} {minimum}"
        cond = f"{{{name}}}{bad_lo}{minimum}"
    else:
        rule = f"in {'(' if min_open else '['}{minimum}, {maximum}{')' if max_open else ']'}"
        cond = (f"OR({{{name}}}{bad_lo}{minimum},{{{name}}}{'>=' if max_open else '>'}"
                f"{maximum})")
    return (f"IF(NOT(ISNUMBER({{{name}}})),\"{label} must be a number {rule}\","
            f"IF({cond},\"{label} must be a number {rule}\",\"OK\"))")


def build(out_dir) -> Path:
    wb = st.new_workbook()
    g0, m0, p0 = catalog.gpu(DEFAULT_GPU), catalog.model(DEFAULT_MODEL), catalog.price(DEFAULT_API)
    _cover(wb, g0, p0)
    ws = wb.create_sheet("Breakeven")
    wk = wb.create_sheet("Working")
    st.catalog_sheet(wb)

    # --- inputs --------------------------------------------------------------------------------
    b = st.Block(wb, ws, row=1)
    st.put_text(ws["B1"], "Self-host vs API breakeven", st.TITLE_FONT)
    st.put_text(ws["B2"], "Blue cells are inputs (dropdowns list the Catalog sheet). Black cells "
                "are formulas; the Working sheet shows every step.", st.NOTE_FONT)
    b.row = 3
    b.heading("Inputs: what you serve")
    b.add("gpu", "GPU", g0.id, "id", "from the Catalog sheet", "text", "input", options="gpu_ids")
    b.add("model", "Model", m0.id, "id", "", "text", "input", options="model_ids")
    b.add("weight_dtype", "Weight dtype", "bf16", "dtype", "fp8 halves, int4 quarters the "
          "weight memory", "text", "input", options="dtype_names")
    b.add("kv_dtype", "KV-cache dtype", "bf16", "dtype", "", "text", "input",
          options="dtype_names")
    b.add("num_gpus", "GPUs per replica (tensor parallel)", 1, "GPUs", "", "int", "input",
          validation=(1,))
    b.add("input_tokens", "Input tokens per request", 1024, "tokens", "", "int", "input",
          validation=(1,))
    b.add("output_tokens", "Output tokens per request", 1024, "tokens", "", "int", "input",
          validation=(1,))
    b.add("tokens_per_day", "Tokens per day (input + output)", 10_000_000, "tokens/day",
          "the volume to price", "int", "input", validation=(0,))
    b.heading("Inputs: prices")
    b.add("hardware", "Rent or own the GPUs?", "rent", "", "'own': the own-hardware cost", "text", "input", options='"rent,own"')
    b.add("gpu_price_per_hour", "Rental price per GPU-hour", float(g0.cloud_usd_per_hour or 2.0),
          "USD/GPU-h", "", "usd", "input", validation=(0,))
    b.add("catalog_gpu_price", "Catalog rental price for this GPU (reference)",
          "IFERROR(IF(N(INDEX(gpu_cloud_usd_per_hour,MATCH({gpu},gpu_ids,0)))>0,"
          "N(INDEX(gpu_cloud_usd_per_hour,MATCH({gpu},gpu_ids,0))),\"not in catalog\"),"
          "\"not in catalog\")", "USD/GPU-h", "copy it into the cell above if you like", "usd")
    b.add("utilization", "Planned utilization of each replica", 0.7, "0-1",
          "continuous batching lets 0.8-0.95 work", "pct", "input",
          validation=(0, 1))
    b.add("hours_per_month", "Hours paid per month", 730.0, "hours", "730 = 8,760 / 12",
          "int", "input", validation=(0, 744))
    b.add("api_price_in_per_mtok", "API price, input tokens", float(p0.input_usd_per_mtok),
          "USD/Mtok", f"default: {p0.id} (see the price list)", "usd", "input",
          validation=(0,))
    b.add("api_price_out_per_mtok", "API price, output tokens", float(p0.output_usd_per_mtok),
          "USD/Mtok", "", "usd", "input", validation=(0,))
    b.add("api", "Look up an API in the Catalog (reference)", p0.id, "id",
          "its prices below; copy them into the two cells above", "text", "input",
          options="price_ids")
    b.add("catalog_api_prices", "Catalog prices of that API (input / output)",
          "IFERROR(TEXT(INDEX(price_input_usd_per_mtok,MATCH({api},price_ids,0)),\"$0.00\")&"
          "\" / \"&TEXT(INDEX(price_output_usd_per_mtok,MATCH({api},price_ids,0)),\"$0.00\"),"
          "\"not in catalog\")", "USD/Mtok", "", "text")
    b.add("input_share", "Share of tokens that are input", 0.5, "0-1",
          "keep close to input / (input + output)", "pct", "input", validation=(0, 1))

    # --- working sheet --------------------------------------------------------------------------
    w = st.Block(wb, wk, row=1)
    st.put_text(wk["B1"], "Working: the napkin-math model step by step", st.TITLE_FONT)
    st.put_text(wk["B2"], "Each row is one step; the note names the xlnapkin engine function it "
                "equals. Catalog blanks read as 0 and fall back as the engine does.",
                st.NOTE_FONT)
    w.row = 3
    w.heading("GPU from the Catalog")
    _napkin.add_gpu_lookup(w)
    w.heading("Model from the Catalog")
    _napkin.add_model_lookup(w)
    w.heading("Memory and attention (model and request shape)")
    _napkin.add_steps(w, _napkin.model_steps())
    w.heading("Efficiency used")
    _napkin.add_steps(w, _napkin.efficiency_steps())
    w.heading("One replica under load (continuous batching)")
    steps = _napkin.gpu_steps()
    steps[-1] = _napkin.Step("replica_tokens_per_sec_calc", steps[-1].label, steps[-1].formula,
                             steps[-1].unit, steps[-1].fmt, steps[-1].engine)
    _napkin.add_steps(w, steps)
    w.heading("Economics")
    w.add("price_used", "Price per GPU-hour used",
          "IF({hardware}=\"own\",{own_hourly_calc},{gpu_price_per_hour})", "USD/GPU-h", "",
          "usd")
    w.add("own_hourly_calc", "Own cost per GPU-hour: depreciation + energy + overhead",
          "{purchase_price}/({years}*8760)+{power_watts}/1000*{pue}*{price_per_kwh}"
          "+{annual_overhead}*{purchase_price}/8760", "USD/GPU-h",
          "= xlnapkin.economics.gpu_hourly_cost", "usd4")
    w.add("replica_total_tps", "Input + output tokens/s of one replica",
          "IF(ISNUMBER({replica_tokens_per_sec_calc}),{replica_tokens_per_sec_calc}*"
          "({input_tokens}+{output_tokens})/{output_tokens},\"does not fit\")",
          "tokens/s", "= xlnapkin.capacity.replica_tokens_per_sec", "num")
    w.add("replica_capacity_per_day", "Tokens/day one replica carries at planned utilization",
          "IF(ISNUMBER({replica_total_tps}),{replica_total_tps}*86400*{utilization},\"does not fit\")", "tokens/day", "", "int")
    w.add("replicas_calc", "Replicas needed (at least 1, rounded up)",
          "IF(ISNUMBER({replica_total_tps}),MAX(1,ROUNDUP({tokens_per_day}/"
          "{replica_capacity_per_day}*(1-1E-12),0)),\"does not fit\")",
          "replicas", "= xlnapkin.economics.replicas_needed", "int")
    w.add("replica_monthly_cost", "Monthly cost of one replica",
          "{num_gpus}*{price_used}*{hours_per_month}", "USD/month", "", "usd0")
    w.add("self_host_monthly_calc", "Self-hosted monthly cost = replicas x replica cost",
          "IF(ISNUMBER({replica_total_tps}),{replicas_calc}*{replica_monthly_cost},\"does not fit\")", "USD/month",
          "= xlnapkin.economics.self_host_monthly_cost", "usd0")
    w.add("days_per_month", "Days per month", "{hours_per_month}/24", "days", "", "num")
    w.add("api_blended_calc", "API blended price",
          "{input_share}*{api_price_in_per_mtok}+(1-{input_share})*{api_price_out_per_mtok}",
          "USD/Mtok", "= xlnapkin.economics.blended_price", "usd4")
    w.add("api_monthly_calc", "API monthly cost",
          "{tokens_per_day}*{days_per_month}*{api_blended_calc}/1E+6", "USD/month", "", "usd0")
    w.add("saving_calc", "Self-hosting saves", "IF(ISNUMBER({replica_total_tps}),{api_monthly_calc}-{self_host_monthly_calc},"
          "\"does not fit\")",
          "USD/month", "", "usd0")
    w.add("self_host_cost_per_mtok_calc", "Self-hosted cost per million tokens",
          "IF(ISNUMBER({replica_total_tps}),{price_used}*{num_gpus}/({replica_total_tps}*"
          "{utilization}*3600)*1E+6,\"does not fit\")", "USD/Mtok",
          "= xlnapkin.capacity.self_host_cost_per_mtok", "usd4")
    w.add("breakeven_calc", "Breakeven: replica cost / days / (API price per token)",
          "IF({api_blended_calc}>0,{replica_monthly_cost}/{days_per_month}/({api_blended_calc}/1E+6),"
          "\"API is free\")", "tokens/day",
          "= xlnapkin.economics.breakeven_tokens_per_day (days = hours / 24)", "int")
    w.add("breakeven_msg", "Is the breakeven reachable?",
          "IF(NOT(ISNUMBER({replica_total_tps})),\"does not fit\",IF(NOT(ISNUMBER({breakeven_calc})),"
          "\"the API costs nothing: never\","
          "IF({breakeven_calc}<={replica_capacity_per_day},\"self-hosting is cheaper above \"&"
          "TEXT({breakeven_calc}/1E+6,\"#,##0.0\")&\" M tokens/day\",\"never: one replica at "
          "the planned utilization costs more than the API for the same tokens\")))", "", "",
          "text")

    # --- outputs --------------------------------------------------------------------------------
    b.heading("Outputs")

    def out(name, label, calc, unit, fmt, note=""):
        b.add(name, label, f"IF({{all_ok}},{{{calc}}},\"check inputs\")", unit, note, fmt, "output")

    out("replica_tokens_per_sec", "Output tokens/s of one replica under load",
        "replica_tokens_per_sec_calc", "tokens/s", "num",
        "= xlnapkin.serving.max_throughput")
    out("replica_total_tokens_per_sec", "Input + output tokens/s of one replica",
        "replica_total_tps", "tokens/s", "num", "= xlnapkin.capacity.replica_tokens_per_sec")
    out("replicas_needed", "Replicas needed for tokens per day", "replicas_calc", "replicas",
        "int", "= xlnapkin.economics.replicas_needed (a step function)")
    out("self_host_monthly_cost", "Self-hosted monthly cost", "self_host_monthly_calc",
        "USD/month", "usd0", "= xlnapkin.economics.self_host_monthly_cost")
    out("api_monthly_cost", "API monthly cost", "api_monthly_calc", "USD/month", "usd0",
        "tokens/day x blended price x days")
    out("monthly_saving", "Saving from self-hosting (negative = API cheaper)",
        "saving_calc", "USD/month", "usd0")
    out("self_host_cost_per_mtok", "Self-hosted cost per million tokens (at utilization)",
        "self_host_cost_per_mtok_calc", "USD/Mtok", "usd4",
        "= xlnapkin.capacity.self_host_cost_per_mtok")
    out("api_blended_price", "API blended price per million tokens", "api_blended_calc",
        "USD/Mtok", "usd4", "= xlnapkin.economics.blended_price")
    out("breakeven_tokens_per_day", "Breakeven tokens per day (one replica)",
        "breakeven_calc", "tokens/day", "int",
        "= xlnapkin.economics.breakeven_tokens_per_day")
    b.add("breakeven_note", "Breakeven verdict",
          "IF({all_ok},{breakeven_msg},\"check inputs\")", "", "", "text", "output")
    out("own_gpu_hourly_cost", "Own-hardware cost per GPU-hour", "own_hourly_calc",
        "USD/GPU-h", "usd", "= xlnapkin.economics.gpu_hourly_cost")
    b.add("own_vs_rent", "Own vs rent",
          "IF({all_ok},IF({own_hourly_calc}<{gpu_price_per_hour},\"owning is cheaper by \"&"
          "TEXT({gpu_price_per_hour}-{own_hourly_calc},\"$0.00\")&\" per GPU-hour\","
          "\"renting is cheaper by \"&TEXT({own_hourly_calc}-{gpu_price_per_hour},\"$0.00\")&"
          "\" per GPU-hour\"),\"check inputs\")", "", "", "text", "output")
    # --- checks ---------------------------------------------------------------------------------
    b.heading("Checks", "every line must say OK; outputs show 'check inputs' otherwise")
    first_check = b.row
    workload_checks(b, extra=[
        ("check_gpu", "GPU",
         "IF(ISNA(MATCH({gpu},gpu_ids,0)),\"unknown GPU: pick one from the list\",\"OK\")"),
        ("check_price", "GPU price", number_check("gpu_price_per_hour", "GPU price", 0)),
        ("check_hardware", "Rent or own",
         "IF(OR({hardware}=\"rent\",{hardware}=\"own\"),\"OK\",\"hardware must be rent or own\")"),
        ("check_utilization", "Utilization",
         number_check("utilization", "utilization", 0, 1, min_open=True)),
        ("check_hours", "Hours per month",
         number_check("hours_per_month", "hours_per_month", 0, 744, min_open=True)),
        ("check_api_prices", "API prices",
         "IF(AND(ISNUMBER({api_price_in_per_mtok}),ISNUMBER({api_price_out_per_mtok})),"
         "IF(OR({api_price_in_per_mtok}<0,{api_price_out_per_mtok}<0),"
         "\"API prices must be >= 0\",\"OK\"),\"API prices must be numbers\")"),
        ("check_input_share", "Input share", number_check("input_share", "input_share", 0, 1)),
        ("check_volume", "Tokens per day", number_check("tokens_per_day", "tokens_per_day", 0)),
        ("check_own", "Own-hardware inputs",
         "IF(AND(ISNUMBER({purchase_price}),ISNUMBER({years}),ISNUMBER({power_watts}),"
         "ISNUMBER({price_per_kwh}),ISNUMBER({pue}),ISNUMBER({annual_overhead})),"
         "IF(OR({purchase_price}<0,{years}<=0,{power_watts}<0,{price_per_kwh}<0,{pue}<1,"
         "{annual_overhead}<0),\"own-hardware inputs out of range (years > 0, PUE >= 1)\","
         "\"OK\"),\"own-hardware inputs must be numbers\")"),
        ("check_volume_range", "Volume table range",
         "IF(AND(ISNUMBER({volume_min}),ISNUMBER({volume_max})),IF(AND({volume_min}>0,"
         "{volume_max}>{volume_min}),\"OK\",\"need 0 < smallest < largest volume\"),"
         "\"volume range must be numbers\")"),
    ])
    last_check = b.row - 1
    st.define(wb, "checks", ws.title, f"$C${first_check}:$C${last_check}")
    st.mark_checks(ws, f"C{first_check}:C{last_check + 2}")
    b.add("inputs_ok", "All inputs OK?",
          "COUNTIF(checks,\"OK\")=ROWS(checks)", "", "", "gen")
    b.add("fits", "Does one request fit on one replica?",
          "IF({inputs_ok},IF(ISNUMBER({replica_tokens_per_sec_calc}),\"OK\",\"does not fit: "
          "needs \"&TEXT({min_gpus},\"0\")&\" GPUs per replica (num_gpus)\"),\"check inputs\")",
          "", "", "text").font = st.CHECK_FONT
    b.add("all_ok", "Everything OK?", "AND({inputs_ok},{fits}=\"OK\")", "", "", "gen")
    b.add("shape_note", "Input share vs request shape",
          "IF({inputs_ok},IF(ABS({input_share}-{input_tokens}/({input_tokens}+{output_tokens}))"
          ">0.05,\"note: input share differs from input/(input+output) = \"&TEXT({input_tokens}/"
          "({input_tokens}+{output_tokens}),\"0%\"),\"OK\"),\"check inputs\")", "", "",
          "text").font = st.NOTE_FONT

    b.heading("Inputs: owning the GPUs (own vs rent)")
    b.add("purchase_price", "Purchase price per GPU", float(g0.list_price_usd or 30000), "USD",
          "with its share of the server if you like", "usd0", "input", validation=(0,))
    b.add("catalog_gpu_list_price", "Catalog list price and TDP of this GPU (reference)",
          "IFERROR(IF(N(INDEX(gpu_list_price_usd,MATCH({gpu},gpu_ids,0)))>0,TEXT(INDEX("
          "gpu_list_price_usd,MATCH({gpu},gpu_ids,0)),\"$#,##0\"),\"no price\")&\", \"&"
          "IF(N(INDEX(gpu_tdp_w,MATCH({gpu},gpu_ids,0)))>0,TEXT(INDEX(gpu_tdp_w,"
          "MATCH({gpu},gpu_ids,0)),\"0\")&\" W\",\"no TDP\"),\"not in catalog\")", "", "",
          "text")
    b.add("years", "Years written off over", 3.0, "years", "", "num", "input",
          validation=(0,))
    b.add("power_watts", "Average power per GPU", float(g0.tdp_w or 700), "W",
          "TDP is an upper bound", "int", "input", validation=(0,))
    b.add("price_per_kwh", "Electricity price", 0.10, "USD/kWh", "", "usd", "input",
          validation=(0,))
    b.add("pue", "Data-centre PUE", 1.3, "ratio", "facility power / IT power", "num",
          "input", validation=(1,))
    b.add("annual_overhead", "Yearly hosting/maintenance as share of price", 0.0, "1/year", "",
          "pct", "input", validation=(0,))
    b.heading("Inputs: volume table for the chart")
    b.add("volume_min", "Smallest volume", 100_000, "tokens/day", "", "int", "input",
          validation=(1,))
    b.add("volume_max", "Largest volume", 1_000_000_000, "tokens/day", "log-spaced in between",
          "int", "input", validation=(1,))
    calibrated_inputs(b)
    left_end = b.row

    # --- volume table and chart -----------------------------------------------------------------
    col0 = 7  # column G
    _volume_table(wb, ws, col0, 4)

    # --- API price list -------------------------------------------------------------------------
    _price_list(wb, ws, col0, 4 + VOLUME_ROWS + 3 + 26)

    for sheet, widths in ((ws, {"A": 2, "B": 46, "C": 16, "D": 12, "E": 46, "F": 2, "G": 24,
                                "H": 12, "I": 16, "J": 16, "K": 16, "L": 14}),
                          (wk, {"A": 2, "B": 58, "C": 16, "D": 12, "E": 60})):
        st.col_widths(sheet, widths)
        sheet.sheet_view.showGridLines = False
        st.protect(sheet)
    ws.freeze_panes = "A3"
    st.print_setup(ws, f"A1:L{max(left_end, ws.max_row)}")
    st.print_setup(wk, f"A1:E{w.row}", landscape=False)
    return st.save_reproducible(wb, Path(out_dir) / FILENAME)


def _volume_table(wb, ws, col0, row0) -> None:
    from openpyxl.utils import get_column_letter as L
    c = [L(col0 + i) for i in range(5)]
    st.put_text(ws.cell(row0 - 1, col0), "Monthly cost as the volume grows", st.HEAD_FONT)
    heads = ["tokens/day", "replicas", "self-host $/month", "API $/month", "cheaper"]
    for i, h in enumerate(heads):
        cell = st.put_text(ws.cell(row0, col0 + i), h, st.COLHEAD_FONT)
        cell.fill = st.COLHEAD_FILL
    first = row0 + 1
    for k in range(VOLUME_ROWS):
        r = first + k
        v = f"{c[0]}{r}"
        ws[v] = f"=IF(all_ok,volume_min*(volume_max/volume_min)^({k}/{VOLUME_ROWS - 1}),NA())"
        ws[f"{c[1]}{r}"] = (f"=IF(all_ok,MAX(1,ROUNDUP({v}/replica_capacity_per_day*(1-1E-12),0)),"
                            "NA())")
        ws[f"{c[2]}{r}"] = f"=IF(all_ok,{c[1]}{r}*replica_monthly_cost,NA())"
        ws[f"{c[3]}{r}"] = f"=IF(all_ok,{v}*days_per_month*api_blended_calc/1E+6,NA())"
        ws[f"{c[4]}{r}"] = (f"=IF(all_ok,IF({c[2]}{r}<{c[3]}{r},\"self-host\",\"API\"),"
                            "\"check inputs\")")
        for i, fmt in enumerate(["int", "int", "usd0", "usd0", "text"]):
            cell = ws[f"{c[i]}{r}"]
            cell.number_format = st.FMT[fmt]
            cell.font = st.FORMULA_FONT
            cell.border = st.BOX
    last = first + VOLUME_ROWS - 1
    for i, name in enumerate(["volume_tokens_per_day", "volume_replicas",
                              "volume_self_host_cost", "volume_api_cost"]):
        st.define(wb, name, ws.title, f"${c[i]}${first}:${c[i]}${last}")
    note = ws.cell(last + 1, col0)
    st.put_text(note, "Cells show #N/A only while a check fails (so the chart stays empty).",
                st.NOTE_FONT)
    x = Reference(ws, min_col=col0, min_row=first, max_row=last)
    ch = st.scatter_chart(
        "Monthly cost vs daily volume (log scales)", "tokens per day (input + output)",
        "USD per month", x,
        [("self-hosted (whole replicas)", Reference(ws, min_col=col0 + 2, min_row=first,
                                                    max_row=last)),
         ("API", Reference(ws, min_col=col0 + 3, min_row=first, max_row=last))],
        log_x=True, log_y=True, width=20, height=11)
    ch.x_axis.number_format = "#,##0"
    ch.y_axis.number_format = "$#,##0"
    ws.add_chart(ch, f"{L(col0)}{last + 3}")


def _price_list(wb, ws, col0, row0) -> None:
    from openpyxl.utils import get_column_letter as L
    st.put_text(ws.cell(row0 - 1, col0), "Every catalog API at your tokens/day and input share",
                st.HEAD_FONT)
    heads = ["API (catalog id)", "in $/Mtok", "out $/Mtok", "blended $/Mtok", "API $/month",
             "breakeven tokens/day"]
    for i, h in enumerate(heads):
        cell = st.put_text(ws.cell(row0, col0 + i), h, st.COLHEAD_FONT)
        cell.fill = st.COLHEAD_FILL
    n = len(catalog.price_ids())
    first = row0 + 1
    for k in range(n):
        r = first + k
        c = [f"{L(col0 + i)}{r}" for i in range(6)]
        ws[c[0]] = f"=INDEX(price_ids,{k + 1})"
        ws[c[1]] = f"=N(INDEX(price_input_usd_per_mtok,{k + 1}))"
        ws[c[2]] = f"=N(INDEX(price_output_usd_per_mtok,{k + 1}))"
        ws[c[3]] = f"=IF(all_ok,input_share*{c[1]}+(1-input_share)*{c[2]},\"check inputs\")"
        ws[c[4]] = f"=IF(all_ok,tokens_per_day*days_per_month*{c[3]}/1E+6,\"check inputs\")"
        ws[c[5]] = (f"=IF(all_ok,IF({c[3]}>0,IF(replica_monthly_cost/days_per_month/({c[3]}/1E+6)<="
                    f"replica_capacity_per_day,replica_monthly_cost/days_per_month/({c[3]}/1E+6),"
                    f"\"never\"),\"never\"),\"check inputs\")")
        for i, fmt in enumerate(["text", "usd", "usd", "usd4", "usd0", "int"]):
            cell = ws[c[i]]
            cell.number_format = st.FMT[fmt]
            cell.font = st.FORMULA_FONT
            cell.border = st.BOX
    last = first + n - 1
    for i, name in enumerate(["api_list_ids", "api_list_in", "api_list_out", "api_list_blended",
                              "api_list_monthly", "api_list_breakeven"]):
        st.define(wb, name, ws.title, f"${L(col0 + i)}${first}:${L(col0 + i)}${last}")
    st.put_text(ws.cell(last + 1, col0), "'never': one replica at the planned utilization costs "
                "more than this API for the same tokens.", st.NOTE_FONT)


def _cover(wb, g0, p0) -> None:
    from .. import capacity, economics as e
    be_a100 = e.breakeven_tokens_per_day(1.49 * 730, e.blended_price(5, 30, 0.5))
    be_l4 = e.breakeven_tokens_per_day(0.54 * 730, e.blended_price(2.5, 10, 0.5))
    be_mini = e.breakeven_tokens_per_day(float(g0.cloud_usd_per_hour or 2.0) * 730,
                                         e.blended_price(0.15, 0.6, 0.5))
    api47 = 4.1e9 * e.blended_price(0.15, 0.6, 0.5) * 730 / 24 / 1e6
    tps = capacity.replica_tokens_per_sec("h100-sxm", "llama-3.1-8b", 1024, 1024, "bf16", "bf16")
    reps = e.replicas_needed(4.1e9, tps, 0.7)
    reserved = round(8000 / (reps * 730), 2)  # the hourly price that makes ~$8K/month
    reps8 = e.replicas_needed(4.1e9, capacity.replica_tokens_per_sec("h100-sxm", "llama-3.1-8b", 1024,
                                                              1024, "fp8", "fp8"), 0.7)
    st.cover_sheet(wb, "Self-hosted GPUs vs a token API: breakeven", [
        ("What it answers", [
            "At what daily token volume does running your own GPUs (rented or bought) become "
            "cheaper than paying an API per token? What does each cost per month and per million "
            "tokens, how many replicas does a volume need, and is owning cheaper than renting?",
        ]),
        ("How to use it", [
            "1. On the Breakeven sheet, change the blue cells: GPU and model (dropdowns from the "
            "Catalog sheet), dtypes, GPUs per replica, request shape, tokens per day, prices.",
            "2. Read the Checks block: every line must say OK. A GPU or model typed over the "
            "dropdown that is not in the Catalog, a negative price or a share above 100 % shows "
            "a message there, and the outputs say 'check inputs' instead of an error.",
            "3. Read the Outputs, the volume table and the chart: the self-hosted line is a "
            "staircase (whole replicas), the API line is straight; where they cross is the "
            "breakeven. The price list compares every catalog API at your volume.",
            "4. The Working sheet shows each step of the model; the note column names the "
            "xlnapkin function it equals, so the numbers match =MAX_THROUGHPUT(...) and the "
            "Python engine exactly.",
        ]),
        ("Assumptions", [
            "Throughput of one replica = xlnapkin's MAX_THROUGHPUT: an endless queue of requests "
            "(input tokens in, output tokens out) served with continuous batching at the largest "
            "concurrency whose KV cache fits beside the weights in mem_fraction of memory, capped "
            "by the engine limit; each decode step reads the weights (MoE: the experts the batch "
            "touches) and the KV cache, or is compute-bound, plus the prefill work of the "
            "requests that replace finished ones.",
            "Efficiency: calibrated MBU/MFU/overheads fitted on published measurements "
            "(xlnapkin.calibration), shown as editable inputs. Efficiency = 1 gives the pure "
            "roofline the seed articles use.",
            "Tokens per day count input plus output tokens, as API bills do; a replica carries "
            "(input + output) / output times its output tokens/s. Volume is spread evenly over "
            "the day: lower 'utilization' to leave headroom for peaks.",
            "Replicas are whole: the self-hosted cost is a step function of volume, at least one "
            "replica (a deployment is always on). A month is 730 hours, 30.42 days.",
            "Breakeven tokens/day = monthly cost of one replica / days / API price per token. It "
            "is reachable only if one replica can carry it at the planned utilization; otherwise "
            "self-hosting never wins at this setup (more replicas raise cost in step).",
            "Own vs rent: straight-line depreciation over 'years' + power x PUE x electricity "
            "price + yearly overhead; no financing, no resale (xlnapkin GPU_HOURLY_COST).",
        ]),
        ("Seed claims you can test (seed 002, seed 003, seed 004)", [
            f"Breakeven around 2 M tokens/day at > 70 % utilization against a mid-to-premium API: "
            f"GPU a100-sxm-80gb at $1.49/h with llama-3.1-8b and the GPT-5.5 prices "
            f"(5 / 30 $/Mtok) gives {be_a100 / 1e6:.1f} M tokens/day; l4 at $0.54/h vs GPT-4o "
            f"(2.5 / 10) {be_l4 / 1e6:.1f} M. Against a cheap API (GPT-4o mini 0.15 / 0.6) the "
            f"breakeven of the default H100 moves to {be_mini / 1e6:.0f} M tokens/day: see the "
            "price list.",
            "Continuous batching lifts utilization from 30-50 % to 80-95 %: compare utilization "
            "0.4 with 0.9 (cost per million tokens falls in proportion); set 'Engine cap on "
            "concurrent requests per GPU' to 1 to see serving one request at a time.",
            "8-bit weights halve and 4-bit weights quarter the weight memory: switch weight "
            "dtype bf16 -> fp8 -> int4 and read 'Weights' on the Working sheet.",
            f"A $47K/month API bill replaced by about $8K/month self-hosted: GPT-4o mini prices "
            f"(0.15 / 0.6) and 4.1 B tokens/day cost ${api47 / 1e3:.1f}K/month through the API; "
            f"h100-sxm with llama-3.1-8b in bf16 needs {reps:.0f} replicas at 70 % utilization, "
            f"which at a reserved ${reserved:.2f}/GPU-hour is ${reps * reserved * 730 / 1e3:.1f}K"
            f"/month (with fp8 weights: {reps8:.0f} replicas).",
            "Seed 003's cost per token: COST_PER_MTOK(2.21, 2400, 0.7, 4) = 1.46 $/Mtok is the "
            "same formula as 'Self-hosted cost per million tokens' with your replica's speed.",
            "Seed 004's own-vs-rent: purchase 32,000 over 2 years with no power gives "
            "1.83 $/GPU-hour (the article's $30K + $2K power); over 3 and 5 years 1.22 and 0.73 "
            "(seed 000).",
        ]),
        ("Sources", SEED_LIST + [
            f"Catalog: xlnapkin package data (gpus.csv, models.csv, prices.csv); every row's "
            f"source is on the Catalog sheet. Defaults: {g0.id} at the catalog rental price "
            f"${g0.cloud_usd_per_hour}/h; API {p0.id} ({p0.as_of}).",
        ]),
    ])


SEED_LIST = st.SEED_SOURCES
