"""Template: self-hosted GPUs vs a token API at the user's volume, with the cost lines a CFO
expects (and the ones left out named on the cover).

Sheets: Cover; Breakeven (the answer at your volume, checks, inputs); Sensitivity (the scenario
factors, a tornado of what moves the cost); Years (own vs rent over the holding period, NPV);
Volume (cost as the volume grows, every catalog API); Working (the model step by step); Splits
(the month at each GPU count per replica); Catalog.

Every computed cell mirrors one engine function (``xlnapkin.serving.max_throughput``,
``xlnapkin.economics.self_host_monthly_cost``, ``fleet_breakeven_tokens_per_day`` ...); the
tests recalculate the workbook and compare each named cell with the engine.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
from pathlib import Path

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break

from .. import calibration, capacity, catalog, memory, queueing
from ..economics import HOURS_PER_MONTH, HOURS_PER_YEAR, MAX_HOURS_PER_MONTH, NEVER
from . import _blocks as bk, _book, _latency, _napkin, _sheets, _style as st
from ._napkin import Step
from . import _self_host_sheets as shs
from ._self_host_sheets import (RESALE, RESALE_LATER, RESALE_LATER_YEARS, RESALE_YEARS,
                                SCENARIOS, add_sensitivity, add_volume, add_years, annuity,
                                own_hourly, resale_share, years_kept)

FILENAME = "self_host_breakeven.xlsx"
# the defaults of `xlnapkin estimate`, which prices this workbook's question at them
_EST = {k: p.default for k, p in inspect.signature(capacity.estimate).parameters.items()}
DEFAULT_GPU, DEFAULT_MODEL = _EST["gpu"], _EST["model"]
NEED_PRICES = "needs a rental price above 0, a purchase price and power"


# (name, label, default, unit, note, fmt, options or validation)
# An input's rule (the last field of a row of numbers) gives both its check and its cell's Excel
# warning (_blocks.rule_check; an FP&A read: the warning allowed what the check refused)
_SHARE = dict(minimum=0, maximum=1)
INPUT_SHARE = dict(_SHARE, blank=True)  # blank: the requests' own
SERVE = [
    ("gpu", "GPU", DEFAULT_GPU, "id", "a catalog id or alias (h100, H100 SXM ...)", "text",
     "gpu_ids"),
    ("model", "Model", DEFAULT_MODEL, "id", "a catalog id or alias (llama-3.1-8b ...)", "text",
     "model_ids"),
    ("weight_dtype", "Weight dtype", None, "dtype",
     "blank: as released (DeepSeek fp8, gpt-oss mxfp4); bits: 16-bit math", "gen",
     "dtype_names"),
    ("kv_dtype", "KV-cache dtype", "bf16", "dtype", "blank: bf16; or bits", "gen", "dtype_names"),
    ("num_gpus", "GPUs per replica (num_gpus, tensor parallel)", 1, "GPUs",
     _napkin.GGUF_NOTE, "int", bk.WORKLOAD_RULES["num_gpus"]),
    ("input_tokens", "Input tokens per request", _EST["input_tokens"], "tokens",
     "the mean prompt: it sets the prefill's share", "int", bk.WORKLOAD_RULES["input_tokens"]),
    ("output_tokens", "Output tokens per request", _EST["output_tokens"], "tokens",
     "the mean answer", "int", bk.WORKLOAD_RULES["output_tokens"]),
    ("tokens_per_day", "Tokens per day (input + output)", _EST["tokens_per_day"], "tokens/day",
     "the volume to price", "int", dict(minimum=0)),
    ("scenario", "Scenario", "base", "",
     "low/high: all Sensitivity factors; best/worst: for self-hosting", "text",
     '"' + ",".join(SCENARIOS) + '"'),
]
RUN = [
    ("hardware", "Rent or own the GPUs?", "rent", "", "own: financed purchase (see below)",
     "text", '"rent,own"'),
    ("utilization", "Planned utilization of each replica", _EST["utilization"], "0-1",
     "sizes replicas; continuous batching lets 0.8-0.95 work (seed 002)", "pct",
     dict(minimum=0, maximum=1, min_open=True)),
    ("min_replicas", "Fewest replicas kept running", _EST["min_replicas"], "replicas",
     "a floor: 2 lets one fail; above it, the spare is 1 - utilization", "int", bk.WHOLE),
    ("staff_cost_per_month", "People and platform per month", _EST["staff_cost_per_month"],
     "USD/month",
     "1 ML engineer, $250K/yr loaded (BLS; seed 003: $150-250K)",
     "usd0", dict(minimum=0)),
    ("hours_per_month", "Hours a rented GPU runs per month", _EST["hours_per_month"], "hours",
     f"{HOURS_PER_MONTH:g} = always on; fewer hours serve the day's volume in fewer hours", "int",
     dict(minimum=0, maximum=MAX_HOURS_PER_MONTH, min_open=True)),
    ("spot_share", "Share of rented GPU-hours on spot", 0.0, "0-1",
     "seed 003's hybrid: 37.5 %; of every GPU-hour, minimum fleet's too", "pct", _SHARE),
    ("spot_price_ratio", "Spot price / on-demand price", 0.5, "ratio",
     "0.28-0.90 measured (RunPod, Crusoe, GCP TPU, 2026); ~0.5 typical", "num", _SHARE),
    ("prefix_tokens", "Shared prefix tokens of each request", 0, "tokens",
     "system prompt or template; seed 003: 2,048 of 2,304", "int", dict(minimum=0, whole=True)),
    ("prefix_hit_rate", "Share of requests that find the prefix cached", 0.4, "0-1",
     "37-62 % in traces (Mooncake, Alibaba 2025); seed 003: 85 %", "pct", _SHARE),
]
OWN = [
    ("server_share", "Server and network, share of card price", 0.25,
     "0-1", "8-GPU H100 servers: $270-317k for $240k of cards (+13-32 %)", "pct",
     dict(minimum=0)),
    ("server_power_share", "Server power beyond the card's TDP, share", 0.8, "0-1",
     "DGX H100: 10.2 kW max for 8 x 700 W cards (+82 %)", "pct", dict(minimum=0)),
    ("years", "Years the GPUs are kept and financed", 3, "years",
     "Amazon, Lambda: 5-year server lives; 3 = a conservative life", "int",
     dict(minimum=1, maximum=10, whole=True)),
    ("residual_share", "Resale value at the end, share of the price", RESALE, "0-1",
     f"H100: ~{RESALE:.0%} after {RESALE_YEARS} years (lenders' curve), ~{RESALE_LATER:.0%} after "
     f"{RESALE_LATER_YEARS}", "pct", _SHARE),
    ("cost_of_capital", "Cost of capital", 0.10, "1/year",
     "hardware WACC 9.7-10.6 % (Damodaran, Jan 2026); 15 % for a startup", "pct", _SHARE),
    ("price_per_kwh", "Electricity price", 0.09, "USD/kWh",
     "US industrial ~8.6-8.7 c/kWh (EIA, 2025)", "usd", dict(minimum=0)),
    ("pue", "Data-centre PUE", 1.4, "ratio", "fleet average 1.56 (Uptime 2024), new builds 1.3",
     "num", dict(minimum=1)),
    ("colo_usd_per_kw_month", "Colocation per kW of GPU power per month", 195.0, "USD/kW-month",
     "CBRE N. America wholesale, 2025 ($184 in H2 2024)", "usd0", dict(minimum=0)),
    # an owner's running cost beside power and space (an owning CFO's review: "owning saves
    # $0.13 per GPU-hour" was undone by a support contract of 2.9 % of the price a year)
    ("maintenance_share", "Maintenance, support and spares a year, share of the price", 0.0,
     "1/year", "price with server share: support, spares, insurance; 0 = none", "pct", _SHARE),
    ("price_decline", "Yearly fall of the GPU's rental price", 0.25, "1/year",
     "H100 2023-25 and Epoch's 2.1-year doubling: -25 to -30 %/yr", "pct",
     dict(minimum=0, maximum=1, max_open=True)),
]

_rule = functools.partial(bk.row_check, SERVE + RUN + OWN)  # an input row's check


def build(out_dir) -> Path:
    wb = _book.new_workbook()
    _cover(wb)
    _sheets.catalog_sheet(wb)  # first, so tables can refer to its cells; moved last below
    ws = wb.create_sheet("Breakeven")
    add_sensitivity(wb, wb.create_sheet("Sensitivity"))
    add_years(wb, wb.create_sheet("Years"))
    add_volume(wb, wb.create_sheet("Volume"))
    wk = wb.create_sheet("Working")
    wb.move_sheet("Catalog", offset=len(wb.sheetnames) - 1 - wb.sheetnames.index("Catalog"))
    b = st.Block(wb, ws, row=1)
    st.put_text(ws["B1"], "Self-hosted GPUs vs a token API", st.TITLE_FONT)
    st.put_text(ws["B2"], "Yellow cells are inputs; the Working sheet shows every step. Outputs "
                "say 'check inputs' until every check says OK.", st.NOTE_FONT)
    b.row = 3
    _outputs(b)
    _checks(b)
    _inputs(b)
    _working(st.Block(wb, wk, row=1))
    st.finish_sheet(ws, {"A": 2, "B": 44, "C": 15, "D": 13, "E": 48}, f"A1:E{b.row}",
                    freeze="A3")
    return _book.save(wb, Path(out_dir) / FILENAME)


def _add_rows(b, rows) -> None:
    for name, label, default, unit, note, fmt, rule in rows:
        options = rule if isinstance(rule, str) else None
        b.add(name, label, default, unit, note, fmt, "input", options=options,
              validation=None if options else rule)


def _inputs(b) -> None:
    b.heading("Inputs: what you serve")
    _add_rows(b, SERVE[:1])
    b.add("gpu_id", "GPU catalog id", bk.resolve_id("gpu", "gpu"), "id", "what the GPU names",
          "text")
    _add_rows(b, SERVE[1:2])
    b.add("model_id", "Model catalog id", bk.resolve_id("model", "model"), "id", "", "text")
    _add_rows(b, SERVE[2:])
    b.heading("Inputs: running it")
    _add_rows(b, RUN)
    b.heading("Inputs: prices (catalog values; type yours in the yellow cells)")
    gpu_row = "MATCH({gpu_id},gpu_ids,0)"
    bk.catalog_value(b, "gpu_price_per_hour", "Rental price per GPU-hour",
                     f"INDEX(gpu_cloud_usd_per_hour,{gpu_row})", "USD/GPU-h", "usd",
                     "on demand, gpus.csv")
    b.add("gpu_price_date", "Date of the catalog rental price",
          f'IFERROR(IF(INDEX(gpu_cloud_price_as_of,{gpu_row})="","undated",INDEX('
          f'gpu_cloud_price_as_of,{gpu_row})),"-")', "",
          "rental prices change: check a current quote", "text")
    b.add("api", "API to compare with", _sheets.SAME_MODEL, "id",
          "'same model': a host of the same open weights", "text", "input",
          options="api_choices")
    b.add("api_id", "API compared", f'IF(OR({{api}}="{_sheets.SAME_MODEL}",ISBLANK({{api}})),'
          'IFERROR(INDEX(model_comparable_api,MATCH({model_id},model_ids,0)),""),{api})', "id",
          "", "text")
    api_row = "MATCH({api_id},price_ids,0)"
    for side, col in (("in", "input"), ("out", "output")):
        bk.catalog_value(b, f"api_price_{side}_per_mtok", f"API price, {col} tokens",
                         f"INDEX(price_{col}_usd_per_mtok,{api_row})", "USD/Mtok", "usd4",
                         "prices.csv, dated")
    b.add("api_price_date", "Date of the catalog API prices",
          f'IFERROR(IF(INDEX(price_as_of,{api_row})="","undated",INDEX(price_as_of,{api_row})),'
          '"-")', "", "list prices change: check the provider's page", "text")
    cached = f"N(INDEX(price_cached_input_usd_per_mtok,{api_row}))"
    b.add("api_price_cached_per_mtok", "API price, cached input (catalog)",
          f'IFERROR(IF({cached}>0,{cached},"none: input price"),"none: input price")',
          "USD/Mtok", "billed for prefix-cache hits", "usd4")
    b.add("input_share", "Share of tokens that are input", None, "0-1",
          "blank: input / (input + output); typed, within 0.5 points of it",
          "pct", "input", validation=INPUT_SHARE)
    b.heading("Inputs: owning the GPUs")
    bk.catalog_value(b, "purchase_price", "Purchase price per GPU",
                     f"INDEX(gpu_list_price_usd,{gpu_row})", "USD", "usd0",
                     "the card's list price; its server's share is below",
                     missing="no catalog list price")
    bk.catalog_value(b, "power_watts", "Power per GPU", f"INDEX(gpu_tdp_w,{gpu_row})", "W",
                     "int", "the card's TDP; the server's extra draw is below",
                     missing="no catalog TDP")
    _add_rows(b, OWN)
    bk.calibration_inputs(b)
    b.heading("Inputs: volume table (Volume sheet)")
    b.add("volume_min", "Smallest volume", 100_000, "tokens/day", "the Volume sheet's first row",
          "int", "input",
          validation=(1,))
    b.add("volume_max", "Largest volume", 1e10, "tokens/day", "log-spaced in between", "int",
          "input", validation=(1,))


def _service_outputs(b) -> None:
    """What a request gets at your volume: the latency-under-load model at the requests/s each
    replica gets (the Working sheet's service steps)."""
    out = bk.output
    b.heading(f"What a request gets at your volume (averages, and {capacity.TAIL})")
    out(b, "volume_requests_per_sec", "Requests/s each replica gets", "vol_rate", "req/s",
        "num3", "your volume spread evenly over the hours run: no peaks")
    out(b, "volume_concurrency", "Requests each replica holds at once, on average",
        "vol_concurrency_calc", "requests", "num1", "Little's law at that rate")
    out(b, "volume_request_tokens_per_sec", "Output tokens/s each request streams",
        "vol_request_tps_calc", "tokens/s", "int", "= 1000 / TPOT_AT_RATE")
    out(b, "volume_ttft_ms", "Time to first token, on average", "vol_ttft_calc", "ms",
        "int", "TTFT_AT_RATE's model, mean: the least sure figure")
    out(b, "volume_ttft_tail_ms", f"Time to first token, {capacity.TAIL} waits longer",
        "vol_ttft_tail_calc", "ms", "int",
        f"= TTFT_AT_RATE at percentile {capacity.SLOW_PERCENTILE:g}")
    bk.two_lines(out(b, "volume_answers", "Answers at your volume", "vol_answers_msg", "",
                   "text"))  # a user audit: the "full" advice ran off the page


def _outputs(b) -> None:
    # the scenario chosen, not all four (a CFO's read: "scaled by the low, high, best and worst
    # scenarios" read as every scenario shown)
    b.heading("The answer at your volume, in the scenario chosen (Scenario, below)")
    out = bk.output
    bk.across(out(b, "volume_priced", "Volume and scenario priced (Sensitivity sheet)",
                "volume_priced_msg", "", "text"))  # a finance review: it ran over the border
    out(b, "replicas_needed", "Replicas running for your volume", "replicas_calc", "replicas",
        "int", "= REPLICAS_NEEDED (at least the minimum)")
    out(b, "actual_utilization", "Utilization your volume reaches", "actual_util_calc",
        "busy", "pct", "= FLEET_UTILIZATION: idle capacity is paid for")
    out(b, "self_host_monthly_cost", "Self-hosted cost per month", "self_host_monthly_calc",
        "USD/month", "usd0", "= SELF_HOST_MONTHLY_COST: GPUs + people")
    # the two bases, where switching rent to own reads them (a finance review: the owned hour
    # is levelled over the years kept, the rent is today's)
    out(b, "gpu_monthly_cost", "  of which GPUs", "gpu_monthly_calc", "USD/month", "usd0",
        "rent at today's price; own levelled over the years")
    # a finance review: the GPUs' line had no partner, so the rest of the month was unexplained
    out(b, "staff_monthly_cost", "  of which people and platform", "staff_cost_per_month_used",
        "USD/month", "usd0", "as typed, times the scenario's factor")
    out(b, "api_monthly_cost", "API cost per month", "api_monthly_calc", "USD/month", "usd_small",
        "= API_MONTHLY_COST over the GPUs' month (days_per_month)", gate="inputs_ok")
    out(b, "monthly_saving", "Self-hosting saves (negative: the API is cheaper)", "saving_calc",
        "USD/month", "usd0")
    # the CFO's question over the years, not per month (a CFO audit: the only NPV was own vs
    # rent, positive, where self-hosting against the API lost $0.7 M over 3 years)
    b.add("npv_vs_api", "Self-hosting saves over the years kept, present value",
          'IF({all_ok},IF(ISNUMBER({npv_vs_api_calc}),{npv_vs_api_calc},{compare_msg}),'
          '"check inputs")', "USD", "each year at its end; the API at today's prices",
          "usd0", "output")
    at_volume = out(b, "self_host_cost_per_mtok_at_volume", "Self-hosted cost per million tokens",
                    "cost_at_volume_calc", "USD/Mtok", "usd4",
                    "= COST_PER_MTOK_AT_VOLUME: month / tokens")
    # SPEC's self_host_cost_per_mtok is this headline, all in at your volume (a CFO audit: the
    # name held the GPUs alone at the planned utilization, $0.075 against $80.45)
    st.define(b.wb, "self_host_cost_per_mtok", b.ws.title,
              st.absolute(at_volume.column, at_volume.row))
    out(b, "api_blended_price", "API price per million tokens", "api_blended_calc", "USD/Mtok",
        "usd4", "= BLENDED_PRICE (cached input included)", gate="inputs_ok")
    out(b, "breakeven_tokens_per_day", "Breakeven tokens per day", "breakeven_calc",
        "tokens/day", "int", "= FLEET_BREAKEVEN_TOKENS_PER_DAY")
    out(b, "breakeven_gpus", "GPUs at the breakeven volume", "breakeven_gpus_calc", "GPUs",
        "int", "replicas then x GPUs per replica; people cost not scaled by volume")
    out(b, "breakeven_for_good_tokens_per_day", "Cheaper for good from (tokens per day)",
        "breakeven_for_good_calc", "tokens/day", "int",
        "self-hosting stays cheaper above it; never: at no volume")
    # where nothing fits, the verdict says why (the check is a page down; a finance review)
    verdict = b.add("breakeven_note", "Verdict", 'IF({all_ok},{breakeven_msg},IF({inputs_ok},'
                    '{fits},"check inputs"))', "", "", "text", "output")
    bk.two_lines(verdict)  # with "for good from" it is longer than a page
    # two lines: a caveat on the API's stated precision runs past the page (an FP&A review)
    bk.two_lines(out(b, "like_for_like", "Same model on both sides?", "like_for_like_msg", "",
                     "text", gate="inputs_ok"))
    bk.two_lines(out(b, "gpus_per_replica", "Cheaper GPU count per replica?", "split_msg", "",
                   "text"))  # a user audit: its reason ran off the page
    b.text(f"Not counted: {capacity.NOT_COUNTED} (the cover lists the rest).")
    _service_outputs(b)
    _owning_outputs(b)


def _owning_outputs(b) -> None:
    """Per replica, and owning against renting: on a page of its own with the checks (its
    last rows ran onto theirs)."""
    out = bk.output
    b.ws.row_breaks.append(Break(id=b.row))
    b.heading("Per replica, and owning")
    out(b, "gpu_cost_per_mtok_planned", "GPU cost per Mtok (in + out) at the planned utilization",
        "planned_cost_per_mtok_calc", "USD/Mtok", "usd4",
        "not your volume: no idle minimum, no people")
    out(b, "replica_output_tokens_per_sec", "Output tokens/s of one replica under load",
        "replica_output_tokens_per_sec_calc", "tokens/s", "amount",
        "= MAX_THROUGHPUT (no prefix cache)")
    out(b, "replica_total_tokens_per_sec", "Input + output tokens/s of one replica",
        "replica_total_tps", "tokens/s", "amount", "= REPLICA_TOKENS_PER_SEC (prefix cache in)")
    for name, label, calc, unit, fmt, note in (
            ("own_gpu_hourly_cost", "Owned GPU-hour: financed, resold, powered, hosted",
             "own_hourly_calc", "USD/GPU-h", "usd", "= OWN_HOURLY_COST"),
            ("rent_gpu_hourly_cost", "Rented GPU-hour (on-demand and spot mix)", "rent_price",
             "USD/GPU-h", "usd", "= SPOT_MIX_PRICE"),
            # the rent the verdict below is set against (a render audit: the two rows above
            # differ by more than the saving it states)
            ("rent_levelled_hourly_cost", "Rented GPU-hour levelled over the years kept",
             "rent_levelled", "USD/GPU-h", "usd", "its rent falling: what owning is set against"),
            # the verdict without the cover's rents (a CFO audit: the whole sentence ran past
            # the printed page; the rows above give its two rents), and the fleet's where it
            # differs
            ("own_vs_rent", "Owning vs renting the GPUs (not vs the API)",
             "own_vs_rent_line", "", "text", ""),
            ("own_npv_saving_per_gpu", "NPV owning saves per GPU (negative: renting saves)",
             "npv_saving_calc", "USD", "usd0", "Years sheet: against renting the hours it serves"),
            # its note in its label: the answer's two lines run over the note's column (a
            # drift audit)
            ("resale_check", "Resale share set for the years? (it moves the NPV)", "resale_note",
             "", "text", "")):
        # a side's own figure where its prices are there (a review: a renter's rent read
        # "needs a purchase price"); the comparisons where both are
        gate = {"own_gpu_hourly_cost": "own_years_ok",
                "rent_gpu_hourly_cost": "rent_years_ok"}.get(name, "compare_ok")
        cell = b.add(name, label, f'IF({{inputs_ok}},IF({{{gate}}},{{{calc}}},'
                     '{compare_msg}),"check inputs")', unit, note, fmt, "output")
        if name in ("own_vs_rent", "resale_check"):  # with the fleet's verdict (or the years
            bk.two_lines(cell)  # the resale share is for) it runs past the note's column
    out(b, "fleet_gpus", "GPUs in the fleet at your volume", "fleet_gpus_calc", "GPUs", "int",
        "replicas running x GPUs per replica")
    # the owner's count beside it: fewer where rented GPUs would run fewer hours (a review)
    out(b, "owned_fleet_gpus", "GPUs an owned fleet would need (always on)", "own_fleet_gpus",
        "GPUs", "int", "the fleet owning buys and the fleet NPV below counts")
    for name, label, calc, note in (
            ("own_fleet_purchase", "Buying an owned fleet's GPUs: cash up front",
             "fleet_purchase_calc", "its GPUs always on, at the purchase price + server share"),
            ("own_npv_saving_fleet", "NPV owning saves for the fleet (negative: renting)",
             "fleet_npv_saving_calc",
             "each fleet as sized: rented for its hours, owned always on")):
        gate = "own_years_ok" if name == "own_fleet_purchase" else "compare_ok"
        b.add(name, label, f'IF({{all_ok}},IF({{{gate}}},{{{calc}}},{{compare_msg}}),'
              '"check inputs")', "USD", note, "usd0", "output")
    # whether the owned fleet fills whole servers (8) or NVL72 racks (72): the catalog's
    # nvlink_gpus (an owning CFO's review: "$75,000 up front for 2 GPUs" of H100s)
    bk.two_lines(b.add("own_boards", "Owned GPUs in whole servers or racks?", 'IF({all_ok},IF('
                       '{own_years_ok},IF(ISNUMBER({fleet_purchase_calc}),'
                       + _boards("{own_fleet_gpus}", "{g_nvlink_gpus}", "{gpu_id}",
                                 "{purchase_price_used}")
                       + ',"-"),{compare_msg}),"check inputs")', "", "", "text", "output"))


def _checks(b) -> None:
    b.heading("Checks", bk.CHECKS_NOTE)
    rows = [("check_gpu", "GPU", bk.id_check("gpu", "gpu", "GPU"))] + bk.workload_checks()
    rows += [
        ("check_volume", "Tokens per day", _rule("tokens_per_day")),
        ("check_scenario", "Scenario",
         "IF(OR(" + ",".join(f'{{scenario}}="{x}"' for x in SCENARIOS) + '),"OK","scenario must '
         'be ' + ", ".join(SCENARIOS[:-1]) + f' or {SCENARIOS[-1]}")'),
        ("check_hardware", "Rent or own",
         'IF(OR({hardware}="rent",{hardware}="own"),"OK","hardware must be rent or own")'),
        ("check_utilization", "Utilization", _rule("utilization")),
        ("check_min_replicas", "Minimum replicas", _rule("min_replicas")),
        ("check_staff", "People and platform", _rule("staff_cost_per_month")),
        ("check_hours", "Hours per month", _rule("hours_per_month")),
        ("check_spot", "Spot share and price", _and(_rule("spot_share"),
                                                    _rule("spot_price_ratio"))),
        ("check_prefix", "Prefix caching", _and(
            _rule("prefix_tokens"),
            'IF({prefix_tokens}<{input_tokens},"OK","prefix_tokens must be below input_tokens")',
            _rule("prefix_hit_rate"))),
        bk.catalog_check("gpu_price_per_hour", "GPU rental price",
                         needed='{hardware}<>"own"', min_open=True),
        ("check_api", "API", 'IF({api_id}="","no catalog API serves this model: pick an API",'
         'IF(ISNA(MATCH({api_id},price_ids,0)),"unknown API: pick one from the list","OK"))'),
        bk.catalog_check("api_price_in_per_mtok", "API input price"),
        bk.catalog_check("api_price_out_per_mtok", "API output price"),
        ("check_input_share", "Input share",
         'IF(ISBLANK({input_share}),"OK",' + _and(bk.rule_check("input_share", "input_share",
                                                                INPUT_SHARE),
                                                  _share_check()) + ")"),
        bk.catalog_check("purchase_price", "Purchase price", "no catalog list price",
                         needed='{hardware}="own"'),
        bk.catalog_check("power_watts", "Power", "no catalog TDP", needed='{hardware}="own"'),
        # owning inputs decide the answer only when you own; renting, only own vs rent needs
        # them (own_inputs_ok below gates it)
        ("check_own", "Owning inputs (when you own)",
         'IF({hardware}="own",{own_inputs_ok},"OK")'),
        ("check_sensitivity", "Sensitivity factors",
         'IF(AND(COUNT(sens_low)=ROWS(sens_low),COUNT(sens_high)=ROWS(sens_high)),IF(AND('
         'MIN(sens_low)>0,MIN(sens_high)>0),"OK","factors must be > 0"),'
         '"factors on the Sensitivity sheet must be numbers")'),
    ]
    bk.checks(b, rows)
    fits = b.add("fits", "Does one request fit on one replica?",
                 # memory.why_not's order: the heads, unless the link or the context is why
                 # no GPU count runs it
                 'IF({inputs_ok},IF({fits_calc},"OK",'
                 + _napkin.cannot_run('"does not fit: "&{fit_advice}') + '),"check inputs")',
                 fmt="text",
                 kind="check")
    st.mark_checks(b.ws, fits.coordinate)
    # The same cell as a check name, so that `xlnapkin recalc` lists it among the checks that
    # are not OK when the headline outputs say "check inputs" because nothing fits.
    st.define(b.wb, "check_fits", b.ws.title, st.absolute(fits.column, fits.row))
    b.add("all_ok", "Everything OK?", 'AND({inputs_ok},{fits}="OK")', fmt="bool")
    own = b.add("own_inputs_ok", "Owning inputs (years, resale, finance, power, hosting)",
                _own_inputs_check(), fmt="text", kind="check")
    st.mark_checks(b.ws, own.coordinate)
    b.add("compare_ok", "Own vs rent computable? (owning inputs, prices)",
          'AND({inputs_ok},{own_inputs_ok}="OK",ISNUMBER({gpu_price_per_hour_effective}),'
          "ISNUMBER({purchase_price_effective}),ISNUMBER({power_watts_effective}),"
          "N({gpu_price_per_hour_effective})>0)",
          fmt="bool")
    b.add("own_used_ok", "Owning inputs used as typed? (else their defaults)",
          'AND({inputs_ok},{own_inputs_ok}="OK")', fmt="bool")
    _years_gates(b)
    # Only the Volume sheet reads its range, so a bad range blanks that sheet alone.
    span = b.add("check_volume_range", "Volume table range (Volume sheet only)",
                 'IF(AND(ISNUMBER({volume_min}),ISNUMBER({volume_max})),IF(AND({volume_min}>0,'
                 '{volume_max}>{volume_min}),"OK","need 0 < smallest < largest volume"),'
                 '"volume range must be numbers")', fmt="text", kind="check")
    st.mark_checks(b.ws, span.coordinate)
    b.add("compare_msg", "Own vs rent: shown, or why not",
          f'IF({{compare_ok}},"shown",IF({{own_inputs_ok}}<>"OK",{{own_inputs_ok}},'
          f'"{NEED_PRICES}"))', fmt="text")


def _years_gates(b) -> None:
    """Each side of the Years sheet on its own (a review: a renter's NPV against the API had
    waited for a purchase price, which most rented GPUs have none of)."""
    b.add("rent_years_ok", "Renting over the years computable?",
          "AND({own_used_ok},N({gpu_price_per_hour_effective})>0)", fmt="bool")
    b.add("own_years_ok", "Owning over the years computable?",
          "AND({own_used_ok},ISNUMBER({purchase_price_effective}),"
          "ISNUMBER({power_watts_effective}))", fmt="bool")


HEADS, CONTEXT, LINK = _napkin.HEADS, _napkin.CONTEXT, _napkin.LINK


# The inputs that own_inputs_ok checks (only owning, or own vs rent, reads them).
OWN_INPUTS = ("server_share", "server_power_share", "years", "residual_share",
              "cost_of_capital", "price_per_kwh", "pue", "colo_usd_per_kw_month",
              "maintenance_share", "price_decline")


def _own_inputs_check() -> str:
    return _and(*(_rule(name) for name in ("years", "server_share", "server_power_share",
                                           "residual_share", "cost_of_capital", "price_per_kwh",
                                           "pue", "colo_usd_per_kw_month", "maintenance_share",
                                           "price_decline")))



# How far a typed input share may be from the requests' own (a share typed to two places:
# 0.89 for 4,000 in / 500 out); past it the check refuses the share. A finance audit: the share
# priced the API alone, while the GPUs served the requests' own mix, so 90 % typed against
# 1,024 / 1,024 doubled the GPUs against the same mix typed as tokens.
SHARE_TOLERANCE = 0.005 + 1e-9  # half a point, and the float error of |0.88 - 0.875|


def _share_check() -> str:
    """'OK' where a typed input share is the requests' own (input / (input + output)), else
    what to do; 'OK' too where the token counts are not numbers (their own checks say so)."""
    own = "({input_tokens}/({input_tokens}+{output_tokens}))"
    # nested, not AND(): spreadsheets evaluate every argument of AND, and 0 / 0 is #DIV/0!
    return ('IF(AND(ISNUMBER({input_tokens}),ISNUMBER({output_tokens})),IF({input_tokens}+'
            f'{{output_tokens}}>0,IF(ABS({{input_share}}-{own})>{SHARE_TOLERANCE!r},'
            '"input_share "&' + _sheets.percent("{input_share}") + '&" is not the requests\' "&'
            + _sheets.percent(own) + '&": leave it blank, or set input and output tokens to your '
            'mix","OK"),"OK"),"OK")')


def _and(*checks) -> str:
    """The first failing check's message, or OK."""
    out = '"OK"'
    for c in reversed(checks):
        out = f'IF({c}="OK",{out},{c})'
    return out


def _used_defaults() -> dict:
    """Working-sheet copies of the inputs: (source formula, default while a check fails, fmt).
    The scenario rows are scaled by their factor in the chosen scenario (Sensitivity sheet)."""
    d = {"gpu": ("{gpu_id}", DEFAULT_GPU, "text"), "model": ("{model_id}", DEFAULT_MODEL, "text")}
    for name, _label, default, _u, _n, fmt, _r in SERVE[2:-1] + RUN + OWN:
        d[name] = ("{" + name + "}", default, fmt)
    d["efficiency"] = ("N({efficiency})", 0, "blank0")
    d["weight_dtype"] = (bk.weight_dtype_used(), "bf16", "gen")
    d["kv_dtype"] = (bk.kv_dtype_used(), "bf16", "gen")
    bk.calibration_used(d)
    d["mem_fraction"] = ("{mem_fraction}", memory.MEM_FRACTION, "pct")
    # while a check fails, the defaults: the input rows' and the default GPU's and API's prices
    g, api = catalog.gpu(DEFAULT_GPU), catalog.comparable_price(DEFAULT_MODEL)
    owned_price, owned_watts = _owned_at_defaults(g)
    for name, formula in (("tokens_per_day", "{tokens_per_day}*{scen_tokens_per_day}"),
                          ("utilization", "MIN(1,{utilization}*{scen_utilization})"),
                          ("min_replicas", "MAX(1,ROUNDUP({min_replicas}*{scen_min_replicas}*"
                                           "(1-1E-12),0))"),
                          ("staff_cost_per_month",
                           "{staff_cost_per_month}*{scen_staff_cost_per_month}")):
        d[name] = (formula,) + d[name][1:]
    for name, scen, default in (("gpu_price_per_hour", "gpu_price_per_hour",
                                 g.cloud_usd_per_hour),
                                ("api_price_in_per_mtok", "api_price", api.input_usd_per_mtok),
                                ("api_price_out_per_mtok", "api_price", api.output_usd_per_mtok)):
        # N(): a price the other way of running needs may be missing (compare_ok says so)
        d[name] = ("N({" + name + "_effective})*{scen_" + scen + "}", default, "usd")
    # an owned GPU's price and power include its share of the server around it
    d["purchase_price"] = ("N({purchase_price_effective})*(1+{server_share_used})*"
                           "{scen_purchase_price}", owned_price, "usd")
    d["api_price_cached"] = ("IF(ISNUMBER({api_price_cached_per_mtok}),"
                             "{api_price_cached_per_mtok},{api_price_in_per_mtok_effective})*"
                             "{scen_api_price}", api.input_usd_per_mtok, "usd")
    d["power_watts"] = ("N({power_watts_effective})*(1+{server_power_share_used})", owned_watts,
                        "int")
    d["price_per_kwh"] = ("{price_per_kwh}*{scen_price_per_kwh}",) + d["price_per_kwh"][1:]
    d["cost_of_capital"] = ("MIN(1,{cost_of_capital}*{scen_cost_of_capital})",) \
        + d["cost_of_capital"][1:]
    d["years"] = (years_kept("{scen_years}", "{years}"),) + d["years"][1:]
    d["residual_share"] = (resale_share("{scen_residual_share}", "{scen_years}",
                                        "{residual_share}", "{years}"),) + d["residual_share"][1:]
    d["input_share"] = ("IF(ISBLANK({input_share}),{input_tokens}/({input_tokens}+"
                        "{output_tokens}),{input_share})", 0.5, "pct")
    d["api_id"] = ("{api_id}", catalog.comparable_price(DEFAULT_MODEL).id, "text")
    return d


def _working(w) -> None:
    ws = w.ws
    st.put_text(ws["B1"], "Working: the model step by step", st.TITLE_FONT)
    st.put_text(ws["B2"], "Each row is one step; the note names the xlnapkin function it "
                "equals. Catalog blanks read as 0 and fall back as the engine does.",
                st.NOTE_FONT)
    w.row = 3
    w.heading("Inputs as used (scenario factors applied)")
    # a renter's owning inputs out of range take their defaults too (own vs rent says why)
    w.alias = bk.used_inputs(w, _used_defaults(),
                             gates={name: "own_used_ok" for name in OWN_INPUTS})
    for title, add in (("GPU from the Catalog", _napkin.add_gpu_lookup),
                       ("Model from the Catalog", _napkin.add_model_lookup)):
        w.heading(title)
        add(w)
    w.heading("Memory and attention (model and request shape)")
    _napkin.add_steps(w, _napkin.model_steps())
    w.heading("Efficiency used")
    _napkin.add_steps(w, _napkin.efficiency_steps())
    w.heading("One replica under load (continuous batching)")
    steps = _napkin.gpu_steps()
    steps[-1] = dataclasses.replace(steps[-1], name="replica_output_tokens_per_sec_calc")
    _napkin.add_steps(w, steps)
    w.heading("Cost of a replica and of the fleet at your volume")
    _napkin.add_steps(w, _fleet_steps())
    w.heading("The API, the breakeven and owning")
    _napkin.add_steps(w, _api_steps() + _own_steps() + _npv_vs_api_steps())
    w.heading("GPUs per replica: the cheapest count for your volume")
    _napkin.add_steps(w, _split_steps())
    _service(w)
    _napkin.add_split_table(w)  # beside the steps (G:I), outside the printed page
    _split_table(w, w.wb.create_sheet("Splits", index=w.wb.index(ws) + 1))
    st.finish_sheet(ws, {"A": 2, "B": 56, "C": 14, "D": 9, "E": 43, "F": 3, "G": 8, "H": 9,
                         "I": 14}, f"A1:E{w.row}")


# The Working sheet's column where the bisection table of the service at your volume starts
# (right of the heads table in G:I, outside the printed page).
SERVICE_TABLE_COL = 11


def _service(w) -> None:
    """What a request gets at your volume: the latency-under-load model (xlnapkin.queueing) at
    the requests/s each replica gets, its concurrency found by bisection in a table below the
    steps, outside the printed page (the capacity planner's table, lean), the latencies' means
    and the first token's wait that 1 request in 20 exceeds, as ``xlnapkin estimate`` gives
    them."""
    w.ws.row_breaks.append(Break(id=w.row))  # a page of its own (its tail ran onto a sliver)
    w.heading("What a request gets at your volume (latency under load, xlnapkin.queueing)")
    _napkin.add_steps(w, [
        Step("token_budget", "Prompt tokens an engine step takes besides decoding (default)",
             repr(float(queueing.PREFILL_CHUNK)), "tokens", "int",
             "queueing.PREFILL_CHUNK")] + _napkin.queue_steps(percentile=False) + [
        Step("vol_rate", "Requests/s each replica gets (your volume, in the hours it runs)",
             "IF(AND({fits_calc},ISNUMBER({replicas_calc})),{tokens_per_day}/({input_tokens}+"
             "{output_tokens})/3600/{hours_a_day}/{replicas_calc},1E-9)", "req/s", "num3",
             "capacity.volume_rate")])
    # the latencies at the concurrency the bisection table below finds, once
    _napkin.add_steps(w, _napkin.queue_row("{vol_op_n}", "{vol_rate}", mean=True) + [
        Step("vol_ok", "Below what one replica sustains? (TRUE = yes)",
             "AND({fits_calc},{vol_rate}<{q_capacity},{vol_rate}*{q_slot}<1,"
             + _napkin.within_budget("{vol_op_n}") + ")", "", "bool"),
        Step("vol_concurrency_calc", "Requests each replica holds at once, on average",
             _fit(f'IF({{vol_ok}},{{vol_op_n}},"{FULL}")'), "requests", "num",
             "queueing.service_at_rate"),
        Step("vol_request_tps_calc", "Output tokens/s each request streams",
             _fit(f'IF({{vol_ok}},1/{{q_tpot}},"{FULL}")'), "tokens/s", "amount",
             "queueing.service_at_rate"),
        Step("vol_ttft_calc", "Time to first token, on average",
             _fit(f'IF({{vol_ok}},{{q_ttft}}*1000,"{FULL}")'), "ms", "amount",
             "queueing.service_at_rate")] + _tail_steps() + [
        Step("vol_answers_msg", "Answers at your volume", _fit(_answers()), "", "text",
             "capacity.slow_answers")])
    # the bisection for that concurrency: below the steps and beside the page, where its tall
    # header row stretches no step's row
    top = w.row + 3  # after the row that says where it is, and a blank row
    w.add("vol_table", "The bisection table for the mean concurrency (vol_op_n) is at",
          f'"{get_column_letter(SERVICE_TABLE_COL)}{top}"', "cell", "", "text")
    _latency.bisection_table(w.wb, w.ws, w.alias, "operating", top, queueing._BISECTIONS,
                             col0=SERVICE_TABLE_COL, target="{vol_rate}",
                             named={"q_n": "vol_op_n"}, lean=True)


def _split_rows() -> int:
    """GPU counts per replica the split table tries before yours: as many as any catalog model
    splits over within one catalog GPU's peer-link domain (8 for GGUF's layers), so that the
    sheet tries every count ``xlnapkin estimate`` does (at least 8; a user catalog may need
    more)."""
    return max([8] + [len(memory.tp_degrees(m, int(catalog.gpu(g).nvlink_gpus or 8)))
                      for g in catalog.gpu_ids() for m in catalog.model_ids()])


SPLIT_ROWS = _split_rows()


SPLIT_MONTH_FMT = '[>=1E+299]"cannot run";$#,##0'  # 1E+300: the count cannot run


# The fleet steps a count's month reads (the Working sheet's own formulas, at that count)
_SPLIT_FLEET = ("fits_calc", "t_prefill_cached", "replica_total_tps", "replica_monthly_cost",
                "replica_capacity_per_day", "replicas_calc", "gpu_monthly_calc",
                "self_host_monthly_calc")


def _split_columns() -> list[tuple]:
    """The split table's columns: (name, header, formula, fmt). A row's ``{num_gpus}`` is its
    own count; the rest is the Working sheet's chain with that count: gpu_steps (one replica
    under load), the steps of it the month reads, and the fleet for your volume at your prices
    (:data:`_SPLIT_FLEET`)."""
    fleet = {s.name: s for s in _fleet_steps() if s.name in _SPLIT_FLEET}
    cols = [("num_gpus", "GPUs per replica", None, "int"),
            ("split_month", "self-hosted USD per month at your volume",
             "IF(ISNUMBER({self_host_monthly_calc}),{self_host_monthly_calc},1E+300)",
             SPLIT_MONTH_FMT)] + [(s.name, _head(s), s.formula, s.fmt) for s in fleet.values()]
    steps = {s.name: s for s in _napkin.gpu_steps()}
    need, todo = set(), [c[2] for c in cols[1:]]
    while todo:  # the steps the fleet reads, and theirs
        for name in re.findall(r"\{(\w+)\}", todo.pop()):
            name = SPLIT_ALIAS.get(name, name)
            if name in steps and name not in need:
                need.add(name)
                todo.append(steps[name].formula)
    return cols + [(s.name, _head(s), s.formula, s.fmt) for s in steps.values() if s.name in need]


def _head(step) -> str:
    """A step's label as a column header, its unit after it (a user audit: '5.539E-03' under
    'Prefill per step' said nothing of seconds)."""
    return f"{step.label} ({step.unit})" if step.unit else step.label


# the Working sheet renames gpu_steps' last step; a row of the table keeps its name
SPLIT_ALIAS = {"replica_output_tokens_per_sec_calc": "replica_output_tokens_per_sec"}


def _split_table(w, ws) -> None:
    """The Splits sheet: one row per GPU count per replica (capacity._cheapest_split's counts:
    those the model splits over up to one peer-link domain, 8 where the catalog gives none or
    for GGUF's layers, then yours), a column per step; the first five print."""
    cols, c0, top = _split_columns(), 2, 4
    col = {name: get_column_letter(c0 + j) for j, (name, *_r) in enumerate(cols)}
    st.put_text(ws["B1"], "GPUs per replica", st.TITLE_FONT)
    st.put_text(ws["B2"], "A row per count tried (grey: a repeat, no more counts); the last: "
                "yours.", st.NOTE_FONT)
    # while a check fails the rows are the defaults' (a CFO's read: $24,469 "at your volume"
    # beside a GPU price of 0 the Breakeven sheet refused)
    ws["B3"] = ("=" + 'IF({inputs_ok},"From column D: the Working sheet\'s steps at that count.",'
                '"Inputs fail a check (Breakeven sheet): every row uses the default inputs.")'
                .format_map(_latency._RowMap(w.wb, w.alias, {})))
    ws["B3"].font = st.NOTE_FONT
    st.header_row(ws, top, c0, [head for _n, head, *_r in cols], height=80)
    first = top + 1
    most = "IF({gguf_path},MIN(8,{m_layers}),IF({g_nvlink_gpus}>0,{g_nvlink_gpus},8))"
    for k in range(SPLIT_ROWS + 1):
        r, n = first + k, f"{col['num_gpus']}{first + k - 1}"
        after = (f"IF({{gguf_path}},{n}+1,IF({n}+1<=ROWS({_napkin.SPLIT_TABLE}),INDEX("
                 f"{_napkin.SPLIT_TABLE},{n}+1),0))")
        count = ("1" if k == 0 else "{num_gpus}" if k == SPLIT_ROWS else
                 f"IF(AND({after}>0,{after}<={most}),{after},{n})")
        refs = {name: f"{c}{r}" for name, c in col.items()}
        refs.update({alias: refs[name] for alias, name in SPLIT_ALIAS.items()})
        for j, (name, _head, formula, fmt) in enumerate(cols):
            text = "=" + (count if formula is None else formula).format_map(
                _latency._RowMap(w.wb, w.alias, {} if formula is None else refs))
            st.style_cell(ws.cell(r, c0 + j, text), fmt)
    last = first + SPLIT_ROWS
    n_col, right = col["num_gpus"], get_column_letter(c0 + len(cols) - 1)
    st.grey_repeats(ws, f"{get_column_letter(c0)}{first + 1}:{right}{last}",
                    f"${n_col}{first + 1}=${n_col}{first}")
    for name in ("num_gpus", "split_month", "replica_total_tps"):
        st.define(w.wb, f"w_{name}", ws.title, f"${col[name]}${first}:${col[name]}${last}")
    st.finish_sheet(ws, {"A": 2, "B": 12, "C": 16, **{get_column_letter(c0 + j): 14
                                                      for j in range(2, len(cols))}},
                    f"A1:F{last}", landscape=False)


def _split_steps() -> list[Step]:
    """The cheapest GPU count per replica for your volume (the table beside the page), and the
    line that names it where it saves a tenth or more (``xlnapkin estimate``'s)."""
    cheaper = f"{{split_best_month}}<{capacity.CHEAPER_SPLIT!r}*{{self_host_monthly_calc}}"
    return [
        Step("split_best_month", "Cheapest self-hosted month over the GPU counts tried",
             "MIN(w_split_month)", "USD/month", SPLIT_MONTH_FMT, "capacity._cheapest_split"),
        Step("split_best_n", "... at this many GPUs per replica (the fewer at a tie)",
             "INDEX(w_num_gpus,MATCH({split_best_month},w_split_month,0))", "GPUs", "int",
             "capacity._cheapest_split"),
        Step("split_best_tps", "... whose replica makes (input + output tokens/s)",
             "INDEX(w_replica_total_tps,MATCH({split_best_month},w_split_month,0))",
             "tokens/s", "amount", "capacity.estimate: best_replica_tokens_per_sec"),
        Step("split_faster", "Cheaper for its GPUs' speed, not the volume's size?",
             "IF(AND(ISNUMBER({replicas_calc}),ISNUMBER({replica_total_tps}),ISNUMBER("
             "{split_best_tps})),AND({replicas_calc}>{min_replicas_used},{split_best_tps}/"
             f"{{split_best_n}}>{{replica_total_tps}}/{{num_gpus}}/{capacity.CHEAPER_SPLIT!r}),"
             "FALSE)", "",
             "bool", "capacity.faster_per_gpu"),
        Step("split_msg", "Another GPU count per replica?",
             _fit(f'IF(AND({{split_best_n}}<>{{num_gpus}},{cheaper}),"num_gpus "&TEXT('
                  '{split_best_n},"0")&" self-hosts this volume for $"&TEXT({split_best_month},'
                  '"#,##0")&"/month: "&IF({split_best_n}>{num_gpus},"a replica of "&TEXT('
                  '{num_gpus},"0")&" holds few requests at once",IF({split_faster},"a GPU makes "'
                  '&TEXT({split_best_tps}/{split_best_n},"#,##0")&" input + output tokens/s in '
                  'replicas of "&TEXT({split_best_n},"0")&", against "&TEXT('
                  '{replica_total_tps}/{num_gpus},"#,##0")&" in replicas of "&TEXT('
                  '{num_gpus},"0"),"replicas of "&TEXT({num_gpus},"0")&" GPUs are more than '
                  'this volume needs (check the first token there: fewer GPUs hold fewer '
                  'requests)")),"OK: no other count saves over '
                  f'{100 * (1 - capacity.CHEAPER_SPLIT):.0f} %")'), "", "text",
             "capacity.estimate: best_num_gpus"),
    ]


def _tail_steps() -> list[Step]:
    """The first token's wait that 1 request in 20 exceeds (capacity.SLOW_PERCENTILE): the
    mean's own-prefill part (the mean less its terms that have a tail) plus those terms at the
    percentile (``_napkin.ttft_tail``), as ``queueing.ttft_at_rate`` takes them."""
    p, rate = "{vol_tail_p}", "{vol_rate}"
    tail = _napkin.ttft_tail(rate, p, f"NORMSINV({p})", "{vol_left_tail}")
    return [
        Step("vol_tail_p", f"Share of requests within the tail line ({capacity.TAIL} waits "
             "longer)",
             repr(capacity.SLOW_PERCENTILE), "0-1", "num3", "capacity.SLOW_PERCENTILE"),
        Step("vol_own_prefill", "the prompt's own prefill in a mean first token (no waits)",
             "{q_ttft}-{q_queued}-{q_wait}-{q_step_left}-{q_joining}", "s", "sci"),
        Step("vol_queued_tail", "wait for a free slot at that share", tail["queued"], "s",
             "sci"),
        Step("vol_wait_tail", "wait for the budget at that share", tail["wait"], "s", "sci"),
        Step("vol_left_tail", "rest of the step (or steps) in progress at that share",
             tail["left"], "s", "sci"),
        Step("vol_joining_tail", "compute of the prompts that join its step meanwhile",
             tail["joining"], "s", "sci", "queueing._Replica.joining"),
        Step("vol_ttft_tail_calc", f"Time to first token that {capacity.TAIL} exceeds",
             _fit(f'IF({{vol_ok}},({{vol_own_prefill}}+{{vol_queued_tail}}+{{vol_wait_tail}}+'
                  f'{{vol_left_tail}}+{{vol_joining_tail}})*1000,"{FULL}")'), "ms", "amount",
             "queueing.service_at_rate at SLOW_PERCENTILE")]


def _answers() -> str:
    """The service line: OK, or slow (capacity.slow_answers) and what is slow, and where to size
    the fleet for a latency target instead."""
    first = f"{{vol_ttft_tail_calc}}>{capacity.SLOW_FIRST_TOKEN_MS!r}"
    stream = f"{{vol_request_tps_calc}}<{capacity.SLOW_STREAM_TOKENS_PER_SEC!r}"
    return (f'IF({{vol_ok}},IF(OR({first},{stream}),"slow: "&IF({first},"first token after "&'
            f'TEXT({{vol_ttft_tail_calc}}/1000,"#,##0.0")&" s for {capacity.TAIL}","")&'
            f'IF(AND({first},{stream}),", ","")&'
            f'IF({stream},TEXT({{vol_request_tps_calc}},"0.0")&" tokens/s each","")&"{SIZE_IT}",'
            f'"{ANSWERS_OK}"),"{FULL_ANSWER}")')


SIZE_IT = ": size on the planner's Latency sheet"
ANSWERS_OK = (f"OK: first token within {capacity.SLOW_FIRST_TOKEN_MS / 1e3:g} s (all but "
              f"{capacity.TAIL}), {capacity.SLOW_STREAM_TOKENS_PER_SEC:g}+ tokens/s each")


# The service at your volume where the latency model finds no steady state: a fleet sized by
# its prefix-cached token rate (the model has no prefix cache), or at a planned utilization
# past what a replica sustains when answers vary in length. A word the value cells show whole
# (the sentence before it was cut on the page), and the answers line that explains it (a user
# audit found "89.7 %" of full load beside it, unexplained).
FULL = "full"
FULL_ANSWER = ("full: more requests than the replicas sustain (no steady state): plan a lower "
               "utilization, or" + SIZE_IT.removeprefix(":"))


def _fit(expr: str) -> str:
    return f'IF({{fits_calc}},{expr},"does not fit")'


def _fleet_steps() -> list[Step]:
    return [
        Step("fits_calc", "Does one request fit? (TRUE = yes)",
             "ISNUMBER({replica_output_tokens_per_sec_calc})", "", "bool"),
        Step("prefix_savings", "Share of prefill work prefix caching saves",
             "IF({prefix_tokens}>0,{prefix_hit_rate}*{prefix_tokens}/{input_tokens},0)", "0-1",
             "pct", "economics.prefix_cache_savings(prefix, input-prefix, hit)"),
        Step("t_prefill_cached", "Prefill per step after prefix-cache hits",
             "{t_prefill_share}*(1-{prefix_savings})", "s", "sci"),
        Step("replica_total_tps", "Input + output tokens/s of one replica",
             _fit("{batch_load}/({t_step}+{t_prompt_pass}+{t_prefill_cached})*({input_tokens}+"
                  "{output_tokens})/{output_tokens}"), "tokens/s", "amount",
             "capacity.replica_tokens_per_sec(..., prefix_cache_savings)"),
        Step("hours_run", "Hours a month the GPUs run and are paid (owned: always on)",
             f'IF({{hardware}}="own",{HOURS_PER_MONTH:g},{{hours_per_month}})', "hours", "int"),
        Step("hours_a_day", f"Hours a day the GPUs serve ({HOURS_PER_MONTH:g} hours a month or "
             "more: all 24)",
             bk.hours_a_day("{hours_run}"), "hours", "num",
             "economics.replica_tokens_per_day"),
        Step("rent_price", "Rented GPU-hour: on-demand and spot mix",
             "(1-{spot_share})*{gpu_price_per_hour}+{spot_share}*{gpu_price_per_hour}"
             "*{spot_price_ratio}", "USD/GPU-h", "usd4",
             "economics.spot_mix_price(price, price x ratio, share)"),
        Step("price_used", "Price per GPU-hour used", 'IF({hardware}="own",{own_hourly_calc},'
             "{rent_price})", "USD/GPU-h", "usd4"),
        Step("replica_monthly_cost", "Monthly cost of one replica", "{num_gpus}*{price_used}*"
             "{hours_run}", "USD/month", "usd0",
             "economics.self_host_monthly_cost(0, tps, price, ...)"),
        Step("replica_capacity_per_day", "Tokens a day one replica carries at planned utilization",
             _fit(_per_day("{hours_a_day}")), "tokens/day",
             "int", "economics.replica_tokens_per_day"),
        Step("replicas_calc", "Replicas: at least the minimum, whole",
             _fit(_replicas("{replica_capacity_per_day}")), "replicas", "int",
             "economics.replicas_needed"),
        Step("gpu_monthly_calc", "GPUs per month = replicas x replica cost",
             _fit("{replicas_calc}*{replica_monthly_cost}"), "USD/month", "usd0"),
        Step("self_host_monthly_calc", "Self-hosted per month = GPUs + people and platform",
             _fit("{gpu_monthly_calc}+{staff_cost_per_month}"), "USD/month", "usd0",
             "economics.self_host_monthly_cost"),
        Step("actual_util_calc", "Utilization the volume reaches",
             _fit("{tokens_per_day}/({replicas_calc}*{replica_total_tps}*3600*{hours_a_day})"),
             "0-1", "pct", "economics.fleet_utilization"),
        Step("planned_cost_per_mtok_calc",
             "GPU cost per Mtok (in + out) at the planned utilization",
             _fit("{price_used}*{num_gpus}/({replica_total_tps}*{utilization}*3600)*1E+6"),
             "USD/Mtok", "usd4", "economics.cost_per_mtok"),
    ]


def _api_steps() -> list[Step]:
    return [
        Step("days_per_month",
             f"Days the API bills a month (the GPUs' hours / 24, {HOURS_PER_MONTH:g}+)",
             f"MAX({{hours_run}},{HOURS_PER_MONTH:g})/24", "days", "num",
             "economics.api_days_per_month(hours_run)"),
        Step("api_blended_calc", "API blended price (prefix-cache hits at the cached price)",
             "{input_share}*((1-{prefix_savings})*{api_price_in_per_mtok}+{prefix_savings}*"
             "{api_price_cached})+(1-{input_share})*{api_price_out_per_mtok}", "USD/Mtok",
             "usd4", "economics.blended_price"),
        Step("api_monthly_calc", "API per month", "{tokens_per_day}*{days_per_month}*"
             "{api_blended_calc}/1E+6", "USD/month", "usd_small", "economics.api_monthly_cost"),
        Step("saving_calc", "Self-hosting saves", _fit("{api_monthly_calc}-"
             "{self_host_monthly_calc}"), "USD/month", "usd0"),
        Step("cost_at_volume_calc", "Self-hosted cost per million tokens at the volume",
             _fit('IF({tokens_per_day}>0,{self_host_monthly_calc}/({tokens_per_day}*'
                  '{days_per_month})*1E+6,"no volume")'), "USD/Mtok", "usd4",
             "economics.cost_per_mtok_at_volume"),
        Step("api_per_token_day", "API per month for one token a day", "{days_per_month}*"
             "{api_blended_calc}/1E+6", "USD", "sci"),
        Step("replica_margin", "What one replica at the planned utilization saves a month",
             _fit("{replica_capacity_per_day}*{api_per_token_day}-{replica_monthly_cost}"),
             "USD/month", "usd0"),
        Step("paying_replicas", "Fewest replicas whose savings pay the people and minimum",
             _fit('IF({replica_margin}>0,MAX({min_replicas},ROUNDUP({staff_cost_per_month}/'
                  '{replica_margin}*(1-1E-12),0)),"never")'), "replicas", "int"),
        Step("breakeven_calc", "Breakeven = (replicas x replica cost + people) / API per token-"
             "day", _fit('IF({replica_margin}>0,({paying_replicas}*{replica_monthly_cost}+'
                         '{staff_cost_per_month})/{api_per_token_day},"never")'), "tokens/day",
             "int", "economics.fleet_breakeven_tokens_per_day"),
        Step("breakeven_gpus_calc", "GPUs at the breakeven volume (those replicas x GPUs each)",
             _fit('IF(ISNUMBER({breakeven_calc}),{paying_replicas}*{num_gpus},"-")'), "GPUs",
             "int", "economics.replicas_needed(breakeven, ...) x num_gpus"),
        Step("last_gap_replicas", "Last fleet the API still beats just past it", _fit("IF({replica_margin}>0,ROUNDUP(({staff_cost_per_month}"
                                         "+{replica_capacity_per_day}*{api_per_token_day})/"
                                         "{replica_margin}*(1-1E-12),0)-1,0)"), "replicas",
             "int"),
        Step("breakeven_for_good_calc", "Cheaper for good from (no larger volume where the API "
             "is)", _fit('IF(ISNUMBER({breakeven_calc}),MAX({breakeven_calc},IF('
                         '{last_gap_replicas}>{min_replicas},({last_gap_replicas}*'
                         '{replica_monthly_cost}+{staff_cost_per_month})/{api_per_token_day},0)),'
                         '"never")'), "tokens/day", "int", "economics.breakeven_for_good"),
        Step("breakeven_msg", "Verdict", _fit(
            'IF(ISNUMBER({breakeven_calc}),IF({saving_calc}>0,"self-hosting","the API")&'
            '" is cheaper at "&TEXT({tokens_per_day}/1E+6,"#,##0.0")&" M tokens/day; breakeven "'
            '&TEXT({breakeven_calc}/1E+6,"#,##0.0")&" M tokens/day"&IF({breakeven_for_good_calc}>'
            '{breakeven_calc}*(1+1E-9),", for good from "&TEXT({breakeven_for_good_calc}/1E+6,'
            '"#,##0.0")&" M (in between, each replica added costs more than it saves at first)",'
            '""),' + _NEVER_AT_THIS_COUNT + ')'), "", "text"),
        Step("volume_priced_msg", "Volume and scenario priced",
             'IF({tokens_per_day}=0,"0",TEXT({tokens_per_day},"#,##0"))&" tokens/day, GPUs "&'
             'IF({hardware}="own","owned","rented")&", "&{scenario}&" scenario"', "",
             "text"),
        # the same model at other weights, where the API states its precision (an FP&A
        # review: bf16 on four H100s against Together's FP8 "Turbo")
        Step("like_for_like_msg", "Same model on both sides?",
             # (a nested IF: AND takes every argument, and a blank precision's MATCH errs)
             'IFERROR(IF(INDEX(price_model_id,MATCH({api_id},price_ids,0))={model},IF(IF('
             f'{_SERVED}="",FALSE,INDEX(dtype_bits,MATCH({_SERVED},dtype_names,0))<>{{w_bits}}),'
             f'"caveat: "&{{api_id}}&" serves "&{_SERVED}&" weights, these are "&IF(ISNUMBER('
             '{weight_dtype}),{weight_dtype}&"-bit",LOWER({weight_dtype}))&": weight_dtype "&'
             f'{_SERVED}&" compares like for like","OK: "&{{api_id}}&" serves "&{{model}}),'
             '"caveat: "&{api_id}&" serves "&IF(INDEX(price_model_id,'
             'MATCH({api_id},price_ids,0))="",IF(INDEX(price_model,MATCH({api_id},price_ids,0))'
             '="","another model",INDEX(price_model,MATCH({api_id},price_ids,0))),'
             'INDEX(price_model_id,MATCH({api_id},price_ids,0)))&", not "&{model}&'
             '": quality and size differ"),"-")', "",
             "text", "capacity.precision_caveat"),
    ]


# "never" said of the GPU count typed where the count the Splits sheet names (it self-hosts the
# volume for less) breaks even: its replica's tokens at the planned utilization, at the API's
# price, pay for its GPUs (an FP&A review: the fit check's hint, 2 GPUs, gave "never" at the
# top of the cover, where 4 a replica break even; a review: not where that count never does)
_NEVER_AT_THIS_COUNT = (
    f'IF(AND({{split_best_n}}<>{{num_gpus}},{{split_best_month}}<{capacity.CHEAPER_SPLIT!r}*'
    '{self_host_monthly_calc},{split_best_tps}/{split_best_n}*{num_gpus}*'
    '{replica_capacity_per_day}/{replica_total_tps}*{api_per_token_day}>'
    '{replica_monthly_cost}),"never with replicas of "&TEXT({num_gpus},"0")&" GPUs (replicas of "'
    f'&TEXT({{split_best_n}},"0")&" break even: below){NEVER.removeprefix("never")}",'
    # else of the count typed alone (a review: 70B in fp8 on 1 GPU read "never" where 2 a
    # replica break even, a count the Splits sheet does not name at a small volume)
    '"never with replicas of "&TEXT({num_gpus},"0")&IF({num_gpus}=1," GPU"," GPUs")&"'
    f'{NEVER.removeprefix("never")}")')
_SERVED = "INDEX(price_served_dtype,MATCH({api_id},price_ids,0))"  # the API's stated precision


def _per_day(hours_a_day: str) -> str:
    """Tokens a day one replica carries at the planned utilization, serving ``hours_a_day``."""
    return "{replica_total_tps}*{utilization}*3600*" + hours_a_day


def _replicas(per_day: str) -> str:
    """Replicas for the volume at ``per_day`` tokens a day each: whole, at least the minimum
    (economics.replicas_needed)."""
    return f"MAX({{min_replicas}},ROUNDUP({{tokens_per_day}}/({per_day})*(1-1E-12),0))"


def _resale_note() -> str:
    """The Working sheet's resale check, once the owning inputs pass their checks: under a
    scenario, the resale share and years it uses, which the inputs do not show (a CFO audit);
    and where the share typed is the default 3-year figure for other years typed, a warning
    (a finance audit: kept for 5 years it turned renting's NPV into owning's). ``{years}`` and
    ``{residual_share}`` are the values used; ``years`` and ``residual_share`` as typed."""
    scenario = 'OR({years}<>years,{residual_share}<>residual_share)'
    used = ('TEXT({residual_share},"0%")&" after "&{years}&IF({years}=1," year"," years")&'
            '" in the "&scenario&" scenario"')
    typed = f"AND(years<>{RESALE_YEARS},residual_share={RESALE:g})"
    warning = (f'"{RESALE:.0%} is the {RESALE_YEARS}-year figure (H100: about {RESALE_LATER:.0%} '
               f'after {RESALE_LATER_YEARS}): set it for "&years&IF(years=1," year"," years")')
    return (f'IF({{own_inputs_ok}}<>"OK","OK",IF({scenario},{used}&IF({typed},"; "&{warning},""),'
            f'IF({typed},{warning},"OK")))')


def _rent_basis() -> str:
    """The own-vs-rent verdict's rent: today's levelled as it falls, since the basis of the
    monthly figures differs (a finance audit: owning's monthly saving at today's rent read 5
    times the verdict's); over one year it has not fallen yet, so today's (a stress audit read
    "$2.49 levels to $2.49")."""
    return ('IF(AND({price_decline}>0,{years}>1)," (rent falling "&TEXT({price_decline},"0%")&'
            '" a year: today\'s "&TEXT({rent_price},"$0.00")&" levels to "&TEXT({rent_levelled},'
            '"$0.00")&")",IF({price_decline}>0," (at today\'s rent)"," (rent flat)"))')


def _unit(board: str) -> str:
    """What a peer-link domain of ``board`` GPUs is sold as, as a formula piece: a server of 8
    (HGX and OAM boards; H100, H200 and A100 also come on boards of 4), else an NVL72 rack."""
    return f'IF({board}>8,"rack","server")'


def _sold(board: str) -> str:
    """'usually sold 8 to a server' (H100, H200 and A100 also come on boards of 4) or 'sold 72
    to a rack', as a formula piece."""
    return f'IF({board}>8,"sold ","usually sold ")&{board}&" to a "&{_unit(board)}'


def _boards(gpus: str, board: str, gpu: str, price: str) -> str:
    """Whether an owned fleet of ``gpus`` fills whole servers or racks of the GPU's peer-link
    domain (``board``: 8 to 72 GPUs), as a formula piece: "OK", or that the figures price the
    GPUs the fleet needs, not whole servers, and what whole ones hold and cost at ``price`` a
    GPU (with its server share). It gives no advice on the replicas: raising min_replicas fills
    whole servers only where the replica size divides them, and grows the rented fleet it is
    compared with as well."""
    whole = f"ROUNDUP({gpus}/{board},0)*{board}"
    return (f'IF(AND(N({board})>=8,N({board})<=72),IF(MOD({gpus},{board})=0,"OK","the figures '
            f'price the "&TEXT({gpus},"#,##0")&IF({gpus}=1," GPU"," GPUs")&" an owned fleet '
            f'needs, not whole "&{_unit(board)}&"s; "&{gpu}&" is "&{_sold(board)}&": whole "&'
            f'{_unit(board)}&"s hold "&TEXT({whole},"#,##0")&", "&TEXT({whole}*{price},'
            f'"$#,##0")&" up front"),"OK")')


def _undone(share: str, fleet: str) -> str:
    """What maintenance a year would undo owning's saving per GPU-hour, as the verdict says it
    (a formula piece, from the cells ``share`` and ``fleet_vs_gpu``): where the fleet's verdict
    agrees and the share shows (an owning CFO's review: every cost left out falls on the
    owner's side); else ''."""
    return (f'IF(AND(ISNUMBER({share}),{fleet}=""),IF({share}>=0.0005,"; maintenance of "&'
            f'TEXT({share},"0.0%")&" of the price a year more would undo it",""),"")')


def _own_steps() -> list[Step]:
    own = own_hourly(*(f"{{{x}}}" for x in ("purchase_price", "price_per_kwh", "cost_of_capital",
                                           "years", "residual_share", "power_watts", "pue",
                                           "hosting_per_month")))
    return [
        Step("hosting_per_month", "Colocation + maintenance per GPU per month",
             shs.hosting("{power_watts}", "{colo_usd_per_kw_month}", "{maintenance_share}",
                         "{purchase_price}"), "USD/month", "usd",
             "economics.colo_cost_per_month + share x price / 12"),
        Step("residual_value", "Resale value at the end", "{purchase_price}*{residual_share}",
             "USD", "usd0"),
        Step("own_hourly_calc", "Owned GPU-hour: capital (annuity) + energy + hosting", own,
             "USD/GPU-h", "usd4", "economics.own_hourly_cost"),
        # Renting the GPU-hours an owned GPU serves (the day's volume in fewer hours on more
        # rented GPUs, as the replicas are counted), levelled over the years kept with the
        # owned hour's own annuity: the per-hour verdict and the NPV then agree (a finance
        # audit: today's rent against the owned hour's lifetime average said owning saved
        # $0.66 an hour where its NPV was negative)
        Step("rent_levelled", "Rented GPU-hour levelled over the years: rent NPV x annuity / "
             "8,760", "IF(AND({compare_ok},ISNUMBER({rent_npv_calc})),{rent_npv_calc}*"
             + annuity("{cost_of_capital}", "{years}") + f'/{HOURS_PER_YEAR:g},"-")',
             "USD/GPU-h", "usd4"),
        # the verdict's test, once: the per-hour verdict and the fleet's clause read it
        Step("own_cheaper_hour", "Owning cheaper per GPU-hour? (TRUE = yes)",
             "AND(ISNUMBER({rent_levelled}),N({own_hourly_calc})<N({rent_levelled}))", "", "bool"),
        Step("own_vs_rent_short", "Own vs rent per GPU-hour over the years kept: the verdict",
             'IF(NOT(ISNUMBER({rent_levelled})),"-",IF({own_cheaper_hour},'
             '"owning "&IF({server_share}=0,'
             '"the card alone (no server) ","")&"saves "&TEXT({rent_levelled}-{own_hourly_calc},'
             '"$0.00"),"renting is cheaper by "&TEXT({own_hourly_calc}-{rent_levelled},'
             '"$0.00"))&" per GPU-hour")', "", "text"),
        Step("own_vs_rent_msg", "Own vs rent per GPU-hour over the years kept",
             'IF(NOT(ISNUMBER({rent_levelled})),"-",{own_vs_rent_short}&" over "&{years}&IF('
             '{years}=1," year"," years")&' + _rent_basis() + '&IF(scenario="base",""'
             # the scenarios are set against the API: 'worst' makes renting dearer as well as
             # buying, which can favour owning (a CFO audit), and the sheet says so
             '," in the "&scenario&" scenario (set for self-hosting vs the API)"))', "", "text"),
        # the default resale share is a 3-year figure (a finance audit: kept for 5 years it
        # turned renting's NPV into owning's)
        Step("resale_note", "Resale share set for the years kept?", _resale_note(), "", "text"),
        Step("npv_saving_calc", "Owning saves, NPV per GPU (Years sheet)",
             'IF({compare_ok},{rent_npv_calc}-{own_npv_calc},"-")', "USD", "usd0",
             "economics.rent_npv - economics.own_npv"),
        Step("fleet_gpus_calc", "GPUs in the fleet: replicas x GPUs per replica",
             'IF(ISNUMBER({replicas_calc}),{replicas_calc}*{num_gpus},"-")', "GPUs", "int"),
        # Each fleet as it would be (a review: per-GPU NPVs times one count charged a rented
        # fleet held at its minimum for hours it never rents): the owner's GPUs always on, the
        # renter's for the hours they run, more of them where those are fewer.
        Step("own_fleet_gpus", "GPUs an owned fleet needs (always on)",
             _fit(_replicas(_per_day("24")) + "*{num_gpus}"), "GPUs", "int",
             f"economics.replicas_needed(..., {HOURS_PER_MONTH:g}) x GPUs"),
        Step("rent_fleet_gpus", "GPUs a rented fleet needs (for the hours a rented GPU runs)",
             _fit(_replicas(_per_day(bk.hours_a_day("{hours_per_month}"))) + "*{num_gpus}"),
             "GPUs", "int", "economics.replicas_needed(..., hours) x GPUs"),
        Step("fleet_purchase_calc", "Buying an owned fleet's GPUs (cards and server shares)",
             'IF(ISNUMBER({own_fleet_gpus}),{own_fleet_gpus}*{purchase_price},"-")', "USD",
             "usd0"),
        # renting is linear in the hours: a rented GPU's NPV is the Years sheet's (730 hours
        # a month) x hours / 730
        Step("fleet_npv_saving_calc", "Fleet NPV: rented GPUs x rent NPV - owned x own NPV",
             'IF(AND(ISNUMBER({rent_fleet_pv}),ISNUMBER({own_fleet_pv}),ISNUMBER('
             '{npv_saving_calc})),{rent_fleet_pv}-{own_fleet_pv},"-")', "USD", "usd0",
             "economics.rent_npv(..., hours) and economics.own_npv"),
        # the fleet's verdict where it is not the GPU-hour's (a finance review: "owning saves
        # $0.13 per GPU-hour" beside a fleet NPV saying renting saves $22,345, where rented
        # GPUs run 300 hours a month and owned ones always)
        Step("fleet_vs_gpu", "The fleet's verdict, where it differs from the GPU-hour's",
             'IF(AND(ISNUMBER({fleet_npv_saving_calc}),ISNUMBER({rent_levelled})),IF(OR(AND('
             '{fleet_npv_saving_calc}>0,NOT({own_cheaper_hour})),AND({fleet_npv_saving_calc}<0,'
             '{own_cheaper_hour})),"; for your fleet as sized, "&IF({fleet_npv_saving_calc}<0,'
             '"renting","owning")&" saves",""),"")', "", "text"),
        Step("own_undone_share", "Maintenance a year that would undo owning's saving, share of "
             "the price", 'IF(AND({own_cheaper_hour},N({purchase_price})>0),({rent_levelled}-'
             f'{{own_hourly_calc}})*{HOURS_PER_YEAR:g}/{{purchase_price}},"-")', "1/year", "pct"),
        Step("own_vs_rent_line", "Own vs rent per GPU-hour, and the fleet's verdict",
             "{own_vs_rent_short}&{fleet_vs_gpu}&"
             + _undone("{own_undone_share}", "{fleet_vs_gpu}"), "", "text"),
    ]


def _npv_vs_api_steps() -> list[Step]:
    """Self-hosting against the API over the years kept, as the Years sheet discounts: the
    fleet as run (rented for its hours, or owned: bought, run and resold) and the people,
    against the API's month at today's prices, each year paid at its end."""
    return [
        Step("rent_fleet_pv", "A rented fleet over the years kept: GPUs x rent NPV x hours / 730",
             'IF(AND(ISNUMBER({rent_fleet_gpus}),ISNUMBER({rent_npv_calc})),{rent_fleet_gpus}*'
             f'{{rent_npv_calc}}*MIN({{hours_per_month}},{HOURS_PER_MONTH:g})/{HOURS_PER_MONTH:g},'
             '"-")', "USD", "usd0", "economics.rent_npv(..., hours) x GPUs"),
        Step("own_fleet_pv", "An owned fleet over the years kept: GPUs x own NPV",
             'IF(AND(ISNUMBER({own_fleet_gpus}),ISNUMBER({own_npv_calc})),{own_fleet_gpus}*'
             '{own_npv_calc},"-")', "USD", "usd0", "economics.own_npv x GPUs"),
        Step("years_pv_calc", "Factor: present value of 1 USD a year over the years kept",
             "1/" + annuity("{cost_of_capital}", "{years}"), "years", "num3",
             "economics.discount_factor, years 1 to the years kept"),
        Step("self_host_npv_calc", "Self-hosting over the years kept: the fleet as run + people",
             'IF(ISNUMBER(IF({hardware}="own",{own_fleet_pv},{rent_fleet_pv})),IF({hardware}='
             '"own",{own_fleet_pv},{rent_fleet_pv})+{staff_cost_per_month}*12*{years_pv_calc},'
             '"-")', "USD", "usd0", "the fleet as run + people x 12 x factor"),
        # a year of 365 days (a review: the month of a 744-hour fleet has 31, x 12 was 372)
        Step("api_npv_calc", "The API over the years kept, at today's prices",
             f"{{tokens_per_day}}*{HOURS_PER_YEAR / 24:g}*{{api_blended_calc}}/1E+6*"
             "{years_pv_calc}", "USD", "usd0", "tokens a day x 365 x API price x factor"),
        Step("npv_vs_api_calc", "Self-hosting saves over the years kept (negative: the API)",
             'IF(ISNUMBER({self_host_npv_calc}),{api_npv_calc}-{self_host_npv_calc},"-")', "USD",
             "usd0"),
    ]


# The cover's "What it leaves out" (finance audits: every cost line a CFO looks for is either
# costed or named here).
LEFT_OUT = [
    "Peaks and latency targets (size them with a lower planned utilization, or with the "
    "capacity planner's Latency sheet: requests/s and TTFT/TPOT limits in, replicas out); "
    f"{capacity.NOT_COUNTED} (type the price you would pay where a discount applies); quality "
    "differences between models ('Same model on both sides?' says where the API serves "
    "another).",
    "Owning: maintenance, support, spares and insurance beyond the share typed (0 by "
    "default); sales and "
    "property taxes, and the income-tax difference between depreciating owned GPUs and "
    "expensing rent; shipping and installation; network gear beyond the server share; the "
    "extra operations work owned hardware takes (the people cost is the same either way); "
    "and API prices falling over the years held (only the rental price declines). On the "
    "Years sheet: " + shs.YEAR_END_LEAN,
    "An owned GPU's price and power include its share of the server around it (25 % of the "
    "card's price, 80 % more power than its TDP by default): type 0 for the card alone, or "
    "your own shares."]


# The cover's answer at the inputs now (_sheets.cover_sheet), from the Breakeven sheet's names.
COVER_ANSWER = [
    # the prices priced where they are yours (a CFO audit: "against azure-llama-3.3-70b" read
    # as Azure's $0.71, where the figures were at the $0.60 / $0.80 typed)
    'IF(inputs_ok,model_id&" on "&num_gpus&" x "&gpu_id&" per replica, against "&api_id&IF(OR('
    'ISNUMBER(api_price_in_per_mtok),ISNUMBER(api_price_out_per_mtok))," at your prices ("&'
    + _sheets.per_mtok("api_price_in_per_mtok_effective") + '&" in, "&'
    + _sheets.per_mtok("api_price_out_per_mtok_effective") + '&" out)","")&IF('
    'ISNUMBER(self_host_monthly_cost),": "&volume_priced,""),"check inputs: the Breakeven '
    'sheet\'s Checks")',
    # its GPUs and its people apart (a render audit: at the defaults 85 % of the month is
    # people, which the verdict turns on)
    'IF(AND(inputs_ok,ISNUMBER(self_host_monthly_cost)),"Self-hosting "&'
    + _sheets.dollars("self_host_monthly_cost") + '&" a month (GPUs "&'
    # with the replicas they are (a CFO audit: $3,635 was 2 x $2.49 x 730 h, the minimum
    # fleet, which the cover did not say)
    + _sheets.dollars("gpu_monthly_cost") + '&" for "&replicas_needed&'
    + _sheets.plural("replicas_needed", "replica", "replicas")
    + '&IF(self_host_monthly_cost>gpu_monthly_cost,'
    '" + people and platform "&' + _sheets.dollars("(self_host_monthly_cost-gpu_monthly_cost)")
    + ',"")&IF(ISNUMBER(self_host_cost_per_mtok_at_volume),"; "&' + _sheets.per_mtok(
        "self_host_cost_per_mtok_at_volume") + '&" per million tokens","")&"), the API "&'
    + _sheets.dollars("api_monthly_cost") + '&" a month","")',
    # against another model, said beside the verdict (a CFO's audit: Llama-3.3-70B was
    # "cheaper" than GPT-4o on the cover, the caveat on the Breakeven sheet alone)
    # three lines: "for good from" or a GPU count's "never" with a caveat (an FP&A review)
    ('IF(inputs_ok,"Verdict: "&breakeven_note&IF(LEFT(like_for_like,7)="caveat:"," ("&'
     'like_for_like&")",""),"")', 3),
    # over the years, in present value (a CFO audit: the question was the NPV against the API,
    # and the only NPV was owning against renting); one printed line (the cover is two pages)
    ('IF(AND(inputs_ok,ISNUMBER(npv_vs_api)),"Over "&years_used&IF(years_used=1," year",'
     '" years")&" at "&TEXT(cost_of_capital_used,"0.0%")&", "&IF(npv_vs_api>=0,"self-hosting",'
     '"the API")&" saves "&' + _sheets.dollars("ABS(npv_vs_api)") + '&" in present value ("&IF('
     'AND(hardware="rent",price_decline_used>0,years_used>1),"rent falling "&TEXT('
     'price_decline_used,"0%")&" a year, ","")&"API prices held)","")', 1),
    # a finance audit: a fleet past what its replicas sustain was "cheaper" on the cover, its
    # "full" on the Breakeven sheet alone
    'IF(AND(inputs_ok,ISNUMBER(self_host_monthly_cost)),"Service at your volume: "&'
    'volume_answers,"")',
    # the lines that only some inputs fill come last, so that blank ones leave no gap between
    # the lines that always say something
    # a cheaper GPU count, on the cover too (a CFO audit: a 2-GPU replica read "never" on the
    # cover, where 4 GPUs a replica came within 7 % of the API)
    'IF(AND(inputs_ok,ISNUMBER(self_host_monthly_cost),LEFT(gpus_per_replica,2)<>"OK"),'
    '"Another GPU count per replica: "&gpus_per_replica,"")',
    # owning's cash (a finance audit: the cover gave only the levelled monthly figure), and
    # owning against renting the same GPUs at a falling rent, which the monthly cost, at
    # today's rent, leaves out (a CFO audit: switching to own cut the month by 43 %, against a
    # 12 % saving over the years)
    # (one row of three lines: blank rows take their height too, and the cover is two pages)
    ('IF(AND(inputs_ok,hardware="own",ISNUMBER(own_fleet_purchase)),"Owning: "&'
     + _sheets.dollars("own_fleet_purchase") + '&" up front for "&'
     + _sheets.plain("owned_fleet_gpus") + '&'
     + _sheets.plural("owned_fleet_gpus", "GPU", "GPUs") + '&IF(LEFT(own_boards,2)="OK","",'
     '" ("&' + _sold("g_nvlink_gpus") + '&")")&"; the '
     'monthly cost above levels it over "&'
     'years_used&IF(years_used=1," year"," years")&" at the cost of capital, less the resale. '
     'Against renting: "&IF(compare_ok,own_vs_rent_msg&fleet_vs_gpu&'
     + _undone("own_undone_share", "fleet_vs_gpu") + ',own_vs_rent)&IF(AND('
     'compare_ok,'
     'resale_note<>"OK"),". '
     # the scenario is named once (own vs rent names it)
     'Resale: "&SUBSTITUTE(resale_note," in the "&scenario&" scenario",""),""),"")', 3),
]


def _cover(wb) -> None:
    g0, p_cmp = catalog.gpu(DEFAULT_GPU), catalog.comparable_price(DEFAULT_MODEL)
    h100 = catalog.gpu("h100-sxm")  # the server share's evidence is for H100 servers
    _sheets.cover_sheet(wb, "Self-hosted GPUs vs a token API: the cost at your volume", [
        ("What it answers", [
            "At your daily token volume, what does self-hosting cost per month, per million "
            "tokens and in present value over the years, with the cost lines that decide it "
            "(whole replicas, a minimum fleet for availability, people and platform, financing "
            "and resale when you own; the rest named below), against an API serving the same "
            "model? From what volume on does self-hosting win, and what moves that answer?"]),
        ("How to use it", [
            "1. Breakeven sheet: pick the GPU and model (ids or aliases such as h100), "
            "the request shape and your tokens per day. Prices follow the GPU and the model from "
            "the Catalog; type your own price in the yellow 'yours' cells, and a warning says when "
            "it differs from the catalog or the catalog has none.",
            "2. Every check must say OK; until then outputs say 'check inputs'.",
            "3. Read 'The answer at your volume': the cost per million tokens at your volume, the "
            "utilization your volume really reaches, and the breakeven. The GPU cost at the "
            "planned utilization is shown apart and labelled: it is not your volume's cost. "
            "'What a request gets at your volume' is the service your users see (tokens/s, first "
            "token, slow or not); the Splits sheet prices other GPU counts a replica.",
            "4. Sensitivity: set low and high factors; the scenario switch (Breakeven, 'Scenario') "
            "applies them all at once (low, high, or best and worst for self-hosting), the "
            "tornado one at a time. Years: own vs rent as NPV. "
            "Volume: the cost curve and every catalog API at your volume."]),
        ("What each sheet assumes", [
            "Throughput of one replica = xlnapkin MAX_THROUGHPUT: an endless queue of requests "
            "served with continuous batching at the largest concurrency whose KV cache fits "
            "beside the weights, at most the engine's cap per GPU "
            f"({calibration.DEFAULTS.max_concurrency:.0f}, vLLM's below 70 GiB; for GGUF "
            f"weights {calibration.DEFAULTS.gguf_max_concurrency:.0f} a replica, llama.cpp's "
            "server slots; a GPU's Catalog row can give its own), with "
            "calibrated efficiencies (editable; 1 = pure roofline). "
            "Prefix-cache hits take their share of the prefill work off each request. It is an "
            "estimate: benchmarks/RESULTS.md in xlnapkin's repository gives its error against "
            "published measurements; the Sensitivity sheet's utilization row moves capacity as "
            "a throughput error would.",
            "Replicas = max(minimum, ceil(volume / what one replica carries at the planned "
            "utilization in the hours it runs)). The month costs replicas x GPUs x price x hours "
            "+ people and platform. The volume is spread evenly over those hours: lower the "
            "planned utilization to leave room for peaks.",
            "The service at your volume: requests arrive at random (Poisson) at your volume's "
            "rate, shared evenly by the replicas; each batches them continuously (the model of "
            "xlnapkin TTFT_AT_RATE and TPOT_AT_RATE, without prefix caching). Averages hide "
            "peaks: size for a peak rate and latency limits with the capacity planner.",
            "Renting: the price per GPU-hour for the hours you rent, mixed with spot for the "
            "share you choose. Owning: OWN_HOURLY_COST: the purchase less its resale, repaid as "
            "an annuity at the cost of capital over the years kept, plus power x PUE x "
            "electricity, colocation per kW and maintenance as a share of the price a year; "
            "owned GPUs are paid every hour of the month.",
            f"The API bills the month the GPUs are paid for ({HOURS_PER_MONTH:g} / 24 days, or the "
            "hours rented / 24 past that), input at its price (cache hits at "
            "the catalog's cached price, if any) and output at its price.",
            "Breakeven = the smallest volume at which whole replicas plus people cost no more than "
            "the API: (R x replica cost + people) / API price per token-day, where R is the "
            "first fleet whose replicas' savings pay the people; 'never' when a replica at the "
            "planned utilization costs at least what the API charges for the tokens it "
            "carries."]),
        ("What it leaves out", LEFT_OUT),
        ("Published claims you can test (the seed articles under Sources)", _seed_claims()),
        ("Sources", _sheets.SEED_SOURCES + [
            f"Catalog: xlnapkin gpus.csv, models.csv, prices.csv (every row's source and date on "
            f"the Catalog sheet, on screen: the printout leaves the sources out). Defaults: "
            f"{DEFAULT_GPU} at ${g0.cloud_usd_per_hour:.2f}/h; "
            f"{DEFAULT_MODEL} compared with {p_cmp.id} ({p_cmp.as_of}).",
            "Cost defaults (each input's note names its source): BLS Employer Costs for "
            "Employee Compensation (benefit loads, 2025-26), CBRE North America Data Center "
            "Trends (H2 2024, 2025), Uptime Institute PUE survey (2024), EIA Electric Power "
            "Monthly (2025), Damodaran's cost of capital by industry (January 2026), published "
            "GPU residual and rental-price paths (2023-26), Mooncake and Alibaba prefix-cache "
            "traces (2025). Server share: an 8 x H100 DGX sold at about $270,000 (SemiAnalysis, "
            "2023, in Epoch AI's training-cost notebook) and an 8 x H100 HGX server quoted at "
            f"$317,000 (Thinkmate, August 2024), against 8 cards at the catalog's "
            f"${h100.list_price_usd:,.0f}; server power: NVIDIA's DGX H100, 10.2 kW at most for "
            f"8 x {h100.tdp_w:.0f} W GPUs."]),
    ], answer=COVER_ANSWER)


def _seed_claims() -> list[str]:
    """The seed articles' claims with this workbook's numbers (engine values at build time)."""
    from .. import capacity, economics as e
    g0 = catalog.gpu(DEFAULT_GPU)
    own = {name: default for name, _l, default, *_ in OWN}
    seed004, at_defaults = float(e.own_hourly_cost(32000, 2)), _own_hourly_at_defaults(g0, own)
    gpt4o = e.blended_price(2.5, 10, 0.5)
    tps = capacity.replica_tokens_per_sec(DEFAULT_GPU, DEFAULT_MODEL, 1024, 1024, "bf16", "bf16")
    month = float(e.self_host_monthly_cost(0, tps, g0.cloud_usd_per_hour))  # one replica's
    cap = e.replica_tokens_per_day(tps, _EST["utilization"])
    be1 = e.fleet_breakeven_tokens_per_day(month, cap, gpt4o, 1, 0)
    be2 = e.fleet_breakeven_tokens_per_day(month, cap, gpt4o, 2, 0)
    be_staff = e.fleet_breakeven_tokens_per_day(month, cap, gpt4o, 1,
                                                _EST["staff_cost_per_month"])
    busy = e.fleet_utilization(2e6, tps, 1)
    reps47 = e.replicas_needed(4.1e9, tps, _EST["utilization"])
    api47 = e.api_monthly_cost(4.1e9, e.blended_price(0.15, 0.6, 0.5))
    saved = e.prefix_cache_savings(2048, 256, 0.85)
    api_for_2m = e.cost_per_mtok_at_volume(month, 2e6)  # one replica's month over 2 M a day
    api_for_2m_at_2 = e.cost_per_mtok_at_volume(e.self_host_monthly_cost(0, tps, 2.0), 2e6)
    price = g0.cloud_usd_per_hour
    gpus47 = e.self_host_monthly_cost(4.1e9, tps, price)
    staffed47 = e.self_host_monthly_cost(4.1e9, tps, price,
                                         staff_cost_per_month=_EST["staff_cost_per_month"])
    return [
        f"Seed 002, 'breakeven around 2 M tokens/day at > 70 % utilization': at 2 M tokens/day "
        f"one {DEFAULT_GPU} serving {DEFAULT_MODEL} is {busy:.2%} busy, never 70 %; against "
        f"GPT-4o (2.50 / 10, API openai-gpt-4o) one replica at ${g0.cloud_usd_per_hour:.2f}/h "
        f"breaks even at {be1 / 1e6:.1f} M tokens/day, two (min_replicas 2) at "
        f"{be2 / 1e6:.1f} M, one plus one engineer at {be_staff / 1e6:.0f} M. Reaching 2 M "
        f"with one replica needs a ${api_for_2m:.0f}/Mtok API (${api_for_2m_at_2:.0f} at the "
        "article's $2/h).",
        f"Seed 002, a $47K/month API bill replaced by ~$8K self-hosted: GPT-4o mini at 4.1 B "
        f"tokens/day costs ${api47 / 1e3:.1f}K a month; {reps47:.0f} replicas of "
        f"{DEFAULT_MODEL} on {DEFAULT_GPU} carry it for ${gpus47 / 1e3:.1f}K a month in "
        f"GPUs, ${staffed47 / 1e3:.1f}K with one engineer.",
        "Seed 003, 4 on-demand + 4 spot A100s used 60 %: spot share 37.5 %, spot price ratio "
        "0.33 (0.73 / 2.21). Its staff line, $150-250K per ML engineer a year: People and "
        f"platform. Its prefix caching (2,048-token prompt, 256-token queries, 85 % hits): "
        f"input tokens 2,304, prefix 2,048, hit rate 85 %: {saved:.1%} of prefill saved.",
        "Seed 004, owning an H100 at $30K + $2K power over 2 years: hardware own, purchase "
        "price 32,000 (yours), server shares 0, power 0 (yours), years 2, resale 0, cost of "
        f"capital 0, colocation 0 gives ${seed004:.2f} per GPU-hour. The defaults add the "
        f"server's share, financing, power and hosting, and keep it {own['years']} years with "
        f"{own['residual_share'] * 100:.0f} % back at resale: the Breakeven sheet's owned "
        f"GPU-hour at the defaults (an H100), ${at_defaults:.2f}"
        + (" as well (the longer life and the resale offset the extras)."
           if f"{seed004:.2f}" == f"{at_defaults:.2f}" else ".")]


def _owned_at_defaults(g) -> tuple[float, float]:
    """An owned ``g``'s price and power at the OWN rows' default server shares: the card's
    list price and TDP with its share of the server around it."""
    own = {name: default for name, _l, default, *_ in OWN}
    return (g.list_price_usd * (1 + own["server_share"]),
            g.tdp_w * (1 + own["server_power_share"]))


def _own_hourly_at_defaults(g, own) -> float:
    """The owned GPU-hour of ``g`` at the OWN rows' defaults (the Working sheet's steps)."""
    from .. import economics as e
    price, watts = _owned_at_defaults(g)
    return float(e.own_hourly_cost(price, own["years"], watts, own["price_per_kwh"], own["pue"],
                                   e.colo_cost_per_month(watts, own["colo_usd_per_kw_month"])
                                   + own["maintenance_share"] * price / 12,
                                   own["cost_of_capital"], own["residual_share"] * price))
