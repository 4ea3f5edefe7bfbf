"""Template: dedicated deployments per tenant vs one shared pool (statistical multiplexing).

Sheets: Cover; Pooling (the answer, checks, inputs); Teams (teams of different sizes,
:mod:`._teams`); Tables (1 to 50 tenants with a chart, and
percentile x cv grids of the saving and its bound); Working; Catalog (GPUs, for the price).

The formulas mirror the pooling functions of :mod:`xlnapkin.economics` (``dedicated_gpus``,
``pooled_gpus``, ``pooling_savings`` and its split into ``pooling_savings_from_peaks`` and
``pooling_savings_from_rounding``, ``dedicated_utilization``, ``pooled_utilization``,
``lora_sharing_savings``): each tenant's load is normal with mean ``mean_utilization x
gpus_per_tenant`` GPUs and standard deviation ``cv`` times that; capacity comes in whole
deployments of ``gpus_per_tenant`` GPUs; ``z = NORMSINV(percentile)``.
"""

from __future__ import annotations

import functools
from pathlib import Path

from openpyxl.chart import Reference
from openpyxl.utils import get_column_letter as L
from openpyxl.worksheet.pagebreak import Break

from .. import catalog, economics
from ..economics import (HOURS_PER_MONTH, HOURS_PER_YEAR, MAX_HOURS_PER_MONTH, NORMAL_CV_MAX,
                         PLANNED_UTILIZATION, POOL_STEP, SAME_SERVICE_Z, TENANT_CORRELATION,
                         TENANT_CV)
from . import _blocks as bk, _book, _napkin, _sheets, _style as st, _teams
from ._napkin import Step

FILENAME = "multi_tenant_savings.xlsx"
TENANT_ROWS = 50
GRID_PERCENTILES = (0.9, 0.95, 0.99, 0.999)
# The normal model's fair range (cv up to about 0.3) and one step past it (at 0.4 a tenant's load
# is below 0 for 0.6 % of the time); burstier tenants need economics.pooling_monte_carlo.
GRID_CVS = (0.1, 0.2, 0.3, 0.4)
DEFAULT_GPU = "h100-sxm"
_PLANNED = f"{PLANNED_UTILIZATION * 100:.0f} %"  # the breakeven workbook's planned load, as said

# (name, label, default, unit, note, fmt, validation)
INPUT_ROWS = [
    ("tenants", "Tenants (customers or teams) of one model", 10, "tenants",
     "any replica serves any tenant: same weights (or LoRA)", "int", dict(minimum=1, whole=True)),
    ("mean_utilization", "Each tenant's average load (share of one deployment)", 0.4, "0-1",
     f"of the throughput a deployment is planned at: 40 % busy at {_PLANNED} = "
     f"{0.4 / PLANNED_UTILIZATION:.2f}", "pct", dict(minimum=0, maximum=1, min_open=True)),
    ("percentile", "Share of the time capacity must cover the load", 0.95, "[0.5, 1)",
     "0.95 = the 95th percentile; at least 0.5", "num3", dict(minimum=0.5, maximum=1,
                                                             max_open=True)),
    ("cv", "Load variability: std dev / mean of one tenant (cv)", TENANT_CV, "ratio",
     f"the normal model is fair up to ~{NORMAL_CV_MAX}", "num", dict(minimum=0)),
    ("gpus_per_tenant", "GPUs of one deployment (a model replica)", 1, "GPUs",
     "capacity comes in whole deployments", "int", dict(minimum=1, whole=True)),
    ("correlation", "Correlation between tenants' loads", TENANT_CORRELATION, "0-1",
     "ServeGen API tenants: 0.0-0.33 hourly; seed 003 assumes 0", "num",
     dict(minimum=0, maximum=1)),
    ("hours_per_month", "Hours paid per month", HOURS_PER_MONTH, "hours",
     f"{HOURS_PER_MONTH:g} = always on; also the Teams sheet's hours a day", "int",
     dict(minimum=0, maximum=MAX_HOURS_PER_MONTH, min_open=True)),
    # what one shared pool adds (a CFO's read: platform, gateway and chargeback had nowhere to
    # go, so no saving was net of them)
    ("pool_own_cost", "The pool's own cost per month", 0, "USD/month",
     "platform, gateway, chargeback, their people; 0 = not costed", "usd0", dict(minimum=0)),
    ("lora_models", "LoRA: fine-tuned variants of one base model", 50, "models",
     "each would otherwise get its own deployment", "int", dict(minimum=1, whole=True)),
    ("lora_overhead", "LoRA: throughput lost to adapters", 0.02, "[0, 1)",
     "seed 003: 1-3 %", "pct", dict(minimum=0, maximum=1, max_open=True)),
]
OUTPUTS = ["dedicated_gpus", "pooled_gpus", "dedicated_monthly_cost", "pooled_monthly_cost",
           "monthly_saving", "net_monthly_saving", "savings_fraction", "savings_from_peaks",
           "savings_from_rounding",
           "savings_bound",
           "dedicated_utilization", "pooled_utilization", "dedicated_coverage",
           "pooled_coverage", "pooled_gpus_same_service", "savings_same_service",
           "tenant_deployments", "pooled_load",
           "pooled_capacity_utilization", "normal_model_fair", "pool_step",
           "cost_reduction_factor", "lora_savings_fraction", "like_for_like_monthly_saving",
           "net_like_for_like_monthly_saving", "lora_shared_coverage"]


def build(out_dir) -> Path:
    wb = _book.new_workbook()
    _cover(wb)
    ws = wb.create_sheet("Pooling")
    teams = wb.create_sheet("Teams")
    tables = wb.create_sheet("Tables")
    wk = wb.create_sheet("Working")
    _sheets.catalog_sheet(wb, kinds=("gpu",))
    st.put_text(ws["B1"], "Multi-tenant pooling: dedicated deployments vs one shared pool",
                st.TITLE_FONT)
    st.put_text(ws["B2"], "Yellow cells are inputs; the Working sheet shows every step.",
                st.NOTE_FONT)
    b = st.Block(wb, ws, row=3)
    _outputs(b)
    _checks(b)
    _inputs(b)
    st.finish_sheet(ws, {"A": 2, "B": 46, "C": 14, "D": 9, "E": 50}, f"A1:E{b.row}",
                    freeze="A3")
    _working(st.Block(wb, wk, row=3))
    _teams.add_teams(wb, teams)
    _tables(wb, tables)
    return _book.save(wb, Path(out_dir) / FILENAME)


def _inputs(b) -> None:
    b.ws.row_breaks.append(Break(id=b.row))  # the inputs print on a page of their own
    b.heading("Inputs")
    for name, label, default, unit, note, fmt, rule in INPUT_ROWS[:6]:
        b.add(name, label, default, unit, note, fmt, "input", validation=rule)
    b.add("gpu", "GPU (for its price)", DEFAULT_GPU, "id",
          "price only: for another GPU, retype the loads above (its shares)",
          "text", "input", options="gpu_ids")
    b.add("gpu_id", "GPU catalog id", bk.resolve_id("gpu", "gpu"), "id", "", "text")
    bk.catalog_value(b, "gpu_price_per_hour", "Price per GPU-hour",
                     "INDEX(gpu_cloud_usd_per_hour,MATCH({gpu_id},gpu_ids,0))", "USD/GPU-h",
                     "usd", "on demand, gpus.csv", positive=True)
    for name, label, default, unit, note, fmt, rule in INPUT_ROWS[6:]:
        b.add(name, label, default, unit, note, fmt, "input", validation=rule)


def _outputs(b) -> None:
    # (a finance review: =POOLING_SAVINGS(10,0.4,0.95) gave 50 %, the sheet 40 % at 0.3)
    b.heading("The answer", "= FUNCTION(...): with the correlation above, their default 0")
    rows = [
        ("dedicated_gpus", "Dedicated GPUs (each tenant its own deployments)", "GPUs", "int",
         "= DEDICATED_GPUS"),
        # beside the counts (a user audit: at a 70 % load and cv 0.3 the dedicated side was 2
        # deployments a tenant, where a lead running 1 each read the 50 % saving as his)
        ("tenant_deployments", "Deployments each tenant needs for its own peak", "", "int",
         ""),
        ("pooled_gpus", "Pooled GPUs (one shared pool)", "GPUs", "int", "= POOLED_GPUS"),
        ("dedicated_monthly_cost", "Dedicated monthly cost", "USD/month", "usd0", ""),
        ("pooled_monthly_cost", "Pooled monthly cost", "USD/month", "usd0", ""),
        ("monthly_saving", "Pooling saves per month", "USD/month", "usd0",
         "dedicated - pooled; a year: 12 months, 8,760 hours at most"),
        ("net_monthly_saving", "  net of the pool's own cost", "USD/month", "usd0",
         "less the pool's own cost (inputs)"),
        ("savings_fraction", "Saving from pooling", "share", "pct",
         "= POOLING_SAVINGS, against each tenant's peak in whole deployments"),
        ("savings_from_peaks", "  from peaks that do not coincide", "share", "pct",
         "= POOLING_SAVINGS_FROM_PEAKS"),
        ("savings_from_rounding", "  from whole-deployment rounding (net)", "share", "pct",
         "= POOLING_SAVINGS_FROM_ROUNDING (net: can be < 0)"),
        ("savings_bound", "Most a pool of many such tenants can save", "share", "pct",
         "1 - dedicated utilization: the pool runs at most 100 %"),
        ("dedicated_utilization", "Average utilization, dedicated", "share", "pct",
         "= DEDICATED_UTILIZATION"),
        ("pooled_utilization", "Average utilization, pooled (whole GPUs)", "share", "pct",
         "= POOLED_UTILIZATION"),
        ("dedicated_coverage", "Time each tenant's own deployments cover its load", "share",
         "pct3", "= DEDICATED_COVERAGE: whole deployments, above the percentile"),
        ("pooled_coverage", "Time the pool covers the load (else every tenant is short)",
         "share", "pct3", "= POOLED_COVERAGE: the service level the saving is bought at"),
        ("pooled_gpus_same_service", "Pooled GPUs as often covered as each tenant alone",
         "GPUs", "int", "= economics.pooled_gpus_same_service"),
        ("savings_same_service", "Saving like for like (that pool)", "share", "pct",
         "1 - those / dedicated GPUs"),
        # its dollars, for a budget (a finance review: only the cover gave them, so a cell
        # reference picked up the saving bought at a lower service level)
        ("like_for_like_monthly_saving", "Pooling saves per month, like for like", "USD/month",
         "usd0", "dedicated cost x that saving"),
        ("net_like_for_like_monthly_saving", "  net of the pool's own cost", "USD/month", "usd0",
         "less the pool's own cost (inputs)"),
        ("pooled_load", "Pooled percentile load, before whole deployments", "GPUs", "num3",
         "mean + z x sigma of the pool (Working sheet)"),
        ("pooled_capacity_utilization", "Average load / that pooled load", "share",
         "pct", "average load as a share of the percentile capacity"),
        ("pool_step", "Pooled GPUs on a step?", "", "text", ""),
        ("cost_reduction_factor", "Cost reduction factor (dedicated / pooled)", "x", "num", ""),
        ("lora_savings_fraction", "LoRA (the inputs' LoRA rows): saving vs a deployment each",
         "share", "pct", "= LORA_SHARING_SAVINGS: variants typed, same load and correlation"),
        ("lora_shared_coverage", "LoRA: time the shared replicas cover the load", "share",
         "pct3", "= economics.lora_shared_coverage; a variant alone: as a tenant alone"),
    ]
    calc = {"tenant_deployments": "deployments_per_tenant", "pooled_load": "pooled_capacity",
            "pool_step": "pool_step_msg"}
    for name, label, unit, fmt, note in rows:
        # GPU counts and shares do not need a price: only the dollar lines wait for one
        gate = ("costs_ok" if name.endswith(("_monthly_cost", "_saving")) else
                "lora_ok" if name.startswith("lora_") else "counts_ok")
        cell = bk.output(b, name, label, calc.get(name, name + "_calc"), unit, fmt, note,
                         gate=gate)
        if name == "pool_step":  # with what a deployment fewer gives, longer than the page
            bk.two_lines(cell)
        if name == "tenant_deployments":
            note_cell = b.ws.cell(cell.row, cell.column + 2)
            ref = cell.coordinate  # "check inputs" > 1 is TRUE in Excel: test the number
            note_cell.value = (f'=IF(ISNUMBER({ref}),IF({ref}>1,"the saving compares with "&'
                               f'TEXT({ref},"0")&" each; 1 each misses this peak",'
                               '"1 each covers each tenant\'s peak"),"")')
            note_cell.font = st.NOTE_FONT
    bk.output(b, "bound_holds", "Saving within its bound?", "bound_msg", "", "text",
              gate="counts_ok")
    bk.output(b, "normal_model_fair", "Normal model fair at this cv?", "normal_fair_msg", "",
              "text", gate="counts_ok")


def _checks(b) -> None:
    b.ws.row_breaks.append(Break(id=b.row))  # the checks and their gates print on their own page
    b.heading("Checks", bk.CHECKS_NOTE)
    # each input's bounds, as its cell's Excel warning takes them (an FP&A read: a percentile
    # of 1 passed the warning and failed the check)
    rule = functools.partial(bk.row_check, INPUT_ROWS)
    grid_p = ('IF(AND(COUNT(grid_percentiles)=ROWS(grid_percentiles),COUNT(grid_cvs)='
              'COLUMNS(grid_cvs)),IF(AND(MIN(grid_percentiles)>=0.5,MAX(grid_percentiles)<1,'
              'MIN(grid_cvs)>=0),"OK","grid headers: percentiles in [0.5, 1), cv >= 0"),'
              '"grid headers must be numbers")')
    bk.checks(b, [
        ("check_tenants", "Tenants", rule("tenants")),
        ("check_mean_utilization", "Average load", rule("mean_utilization")),
        ("check_percentile", "Percentile", rule("percentile")),
        ("check_cv", "cv", rule("cv")),
        ("check_gpus_per_tenant", "GPUs per deployment", rule("gpus_per_tenant")),
        ("check_correlation", "Correlation", rule("correlation")),
        # the GPU sets only the price here: a price you type is enough (a user audit: an MI250
        # at a typed $1.50 left every dollar line at "check inputs")
        ("check_gpu", "GPU", 'IF(ISNUMBER({gpu_price_per_hour}),"OK",'
         + bk.id_check("gpu", "gpu", "GPU") + ")"),
        bk.catalog_check("gpu_price_per_hour", "GPU price", min_open=True),
        ("check_hours", "Hours per month", rule("hours_per_month")),
        ("check_pool_own_cost", "The pool's own cost", rule("pool_own_cost",
                                                            "the pool's own cost")),
        ("check_lora_models", "LoRA models", rule("lora_models")),
        ("check_lora_overhead", "LoRA overhead", rule("lora_overhead")),
        ("check_grid", "Grid headers (Tables sheet)", grid_p),
    ])
    # The GPU, its price and the hours paid enter the two costs only, the LoRA inputs the
    # LoRA line only: a bad one of them leaves the GPU counts and savings as typed.
    # The grid headers, the Tables sheet's grids only (a user audit: a typo there blanked the
    # answer).
    aside = ("check_gpu", "check_gpu_price_per_hour", "check_hours", "check_pool_own_cost",
             "check_lora_models", "check_lora_overhead", "check_grid")
    b.add("counts_ok", "Inputs of the GPU counts and savings OK?",
          'COUNTIF(checks,"OK")+' + "+".join(f'({{{c}}}<>"OK")' for c in aside)
          + '=ROWS(checks)', fmt="bool")
    b.add("costs_ok", "... and the GPU, price, hours and pool's cost (the costs)?",
          'AND({counts_ok},{check_gpu}="OK",{check_gpu_price_per_hour}="OK",{check_hours}="OK",'
          '{check_pool_own_cost}="OK")',
          fmt="bool")
    b.add("lora_ok", "... and the LoRA inputs (the LoRA line)?",
          'AND({counts_ok},{check_lora_models}="OK",{check_lora_overhead}="OK")', fmt="bool")


def _working(w) -> None:
    ws = w.ws
    st.put_text(ws["B1"], "Working: the normal pooling model step by step", st.TITLE_FONT)
    st.put_text(ws["B2"], "One tenant's load ~ normal(m, cv x m) GPUs; z = NORMSINV(percentile);"
                " capacity in whole deployments of g GPUs.", st.NOTE_FONT)
    w.heading("Inputs as used")
    defaults = {name: ("{" + name + "}", default, fmt)
                for name, _l, default, _u, _n, fmt, _r in INPUT_ROWS}
    defaults["gpu_price_per_hour"] = ("{gpu_price_per_hour_effective}",
                                     catalog.gpu(DEFAULT_GPU).cloud_usd_per_hour, "usd")
    # The counts need every input but the price and the hours, which wait for all checks.
    w.alias = bk.used_inputs(w, defaults, "counts_ok", {"gpu_price_per_hour": "costs_ok",
                                                        "hours_per_month": "costs_ok",
                                                        "pool_own_cost": "costs_ok",
                                                        "lora_models": "lora_ok",
                                                        "lora_overhead": "lora_ok"},
                             "While a check fails, the rows below use the default inputs; a "
                             "bad GPU, price or hours alone leave the other inputs as typed, "
                             "and so do bad LoRA inputs.")
    w.heading("Dedicated and pooled capacity")
    _napkin.add_steps(w, _pool_steps())
    w.heading("LoRA / multi-model sharing", "variants of one base model share its replicas")
    _napkin.add_steps(w, _lora_steps())
    st.finish_sheet(ws, {"A": 2, "B": 50, "C": 14, "D": 10, "E": 46}, f"A1:E{w.row}")


def _pool_steps() -> list[Step]:
    n, g = "{tenants}", "{gpus_per_tenant}"
    return [
        Step("z", "z = NORMSINV(percentile)", "NORMSINV({percentile})", "", "num3"),
        Step("tenant_mean_load", "m = average load of one tenant", "{mean_utilization}*" + g,
             "GPUs", "num3"),
        Step("tenant_peak_load", "One tenant's percentile load m (1 + z cv)",
             "{tenant_mean_load}*(1+{z}*{cv})", "GPUs", "num3"),
        Step("dedicated_capacity", "Dedicated capacity = tenants x that", n + "*"
             "{tenant_peak_load}", "GPUs", "num3", "economics.dedicated_capacity"),
        Step("deployments_per_tenant", "Deployments per tenant (whole, at least one)",
             _deployments("{mean_utilization}"), "deployments", "int"),
        Step("dedicated_gpus_calc", "Dedicated GPUs", f"{n}*{g}*{{deployments_per_tenant}}",
             "GPUs", "int", "economics.dedicated_gpus"),
        Step("pooled_sd", "Spread of the summed load: cv m sqrt(N (1 + (N-1) rho))",
             f"{{cv}}*{{tenant_mean_load}}*SQRT({n}*(1+({n}-1)*{{correlation}}))", "GPUs",
             "num3"),
        Step("pooled_capacity", "Pooled capacity: N m + z x that spread",
             f"{n}*{{tenant_mean_load}}+{{z}}*{{pooled_sd}}", "GPUs", "num3",
             "economics.pooled_capacity"),
        Step("pooled_gpus_calc", "Pooled GPUs (whole deployments, at least one)",
             f"{g}*MAX(1,ROUNDUP({{pooled_capacity}}/{g}*(1-1E-12),0))", "GPUs", "int",
             "economics.pooled_gpus"),
        Step("savings_fraction_calc", "Saving = 1 - pooled / dedicated",
             "1-{pooled_gpus_calc}/{dedicated_gpus_calc}", "share", "pct",
             "economics.pooling_savings"),
        Step("savings_from_peaks_calc", "From peaks: (dedicated - pooled capacity) / dedicated",
             "({dedicated_capacity}-{pooled_capacity})/{dedicated_gpus_calc}", "share", "pct",
             "economics.pooling_savings_from_peaks"),
        Step("savings_from_rounding_calc", "From rounding: (dedicated - pooled rounding) / "
             "dedicated", "(({dedicated_gpus_calc}-{dedicated_capacity})-({pooled_gpus_calc}-"
             "{pooled_capacity}))/{dedicated_gpus_calc}", "share", "pct",
             "economics.pooling_savings_from_rounding"),
        Step("dedicated_utilization_calc", "Dedicated utilization = N m / dedicated GPUs",
             n + "*{tenant_mean_load}/{dedicated_gpus_calc}", "share", "pct",
             "economics.dedicated_utilization"),
        Step("savings_bound_calc", "Bound = 1 - dedicated utilization",
             "1-{dedicated_utilization_calc}", "share", "pct"),
        Step("bound_msg", "Saving within the bound?", 'IF({savings_fraction_calc}<='
             '{savings_bound_calc}+1E-12,"OK: "&TEXT({savings_fraction_calc},"0%")&" <= "&'
             'TEXT({savings_bound_calc},"0%"),"above the bound: report this")', "", "text"),
        Step("normal_fair_msg", f"Normal model fair? (cv <= {NORMAL_CV_MAX})",
             _teams.normal_fair("{cv}"), "", "text"),
        Step("pooled_utilization_calc", "Pooled utilization = N m / pooled GPUs",
             n + "*{tenant_mean_load}/{pooled_gpus_calc}", "share", "pct",
             "economics.pooled_utilization"),
        Step("pooled_capacity_utilization_calc", "N m / pooled capacity",
             n + "*{tenant_mean_load}/{pooled_capacity}", "share", "pct"),
    ] + _step_steps(n, g) + _service_steps(n, g) + [
        Step("cost_reduction_factor_calc", "Dedicated / pooled",
             "{dedicated_gpus_calc}/{pooled_gpus_calc}", "x", "num"),
        Step("dedicated_monthly_cost_calc", "Dedicated cost = GPUs x price x hours",
             "{dedicated_gpus_calc}*{gpu_price_per_hour}*{hours_per_month}", "USD/month",
             "usd0"),
        Step("pooled_monthly_cost_calc", "Pooled cost = GPUs x price x hours",
             "{pooled_gpus_calc}*{gpu_price_per_hour}*{hours_per_month}", "USD/month", "usd0"),
        Step("monthly_saving_calc", "Pooling saves = dedicated cost - pooled cost",
             "{dedicated_monthly_cost_calc}-{pooled_monthly_cost_calc}", "USD/month", "usd0"),
        Step("like_for_like_monthly_saving_calc", "Like for like = dedicated cost x that saving",
             "{dedicated_monthly_cost_calc}*{savings_same_service_calc}", "USD/month", "usd0"),
        Step("net_monthly_saving_calc", "Net = pooling saves - the pool's own cost",
             "{monthly_saving_calc}-{pool_own_cost}", "USD/month", "usd0"),
        Step("net_like_for_like_monthly_saving_calc", "Net like for like = that - the pool's own "
             "cost", "{like_for_like_monthly_saving_calc}-{pool_own_cost}", "USD/month", "usd0"),
    ]


def _deployments(load: str) -> str:
    """Whole deployments one tenant of mean utilization ``load`` needs on its own, at least one
    (``economics._own_deployments``)."""
    return f"MAX(1,ROUNDUP({load}*(1+{{z}}*{{cv}})*(1-1E-12),0))"


def _step_steps(n: str, g: str) -> list[Step]:
    """Whether the pooled count is on a step: the load a whole deployment less, or one more, is
    a sliver away (economics.pool_step_share, economics.pool_headroom_share), and the saving
    there, the dedicated GPUs counted at that load too (a review: with each tenant's own load
    near a whole GPU they step as well, and "the saving falls to -10 %" was read where it rose
    to 45 %). Said only where the saving moves."""
    def shown(share):
        # rounded up (an audit: "0.01% less" for 0.0105 %), at least 0.001 % (a load exactly
        # at a whole count needs one more at any more load)
        return f"MAX(ROUNDUP({share},5),1E-5)"

    def dedicated(share, sign):  # the dedicated GPUs at the load the line names
        load = f"{{mean_utilization}}*(1{sign}{shown(share)})"
        return f'IF(ISNUMBER({share}),{n}*{g}*{_deployments(load)},"-")'

    def after(sign, ded):  # the saving there, as text
        return f'TEXT(1-({{pooled_gpus_calc}}{sign}{g})/{ded},"0%")'

    def said(share, sign, ded):
        more = "less" if sign == "-" else "more"
        # what a deployment fewer gives at this load (a CFO's read: "jumps from 40 % to 50 %"
        # sold a pool short 5 % of the time, against 0.05 % now; short of the percentile: it
        # covers it only at the lower load)
        short = ('&" (a deployment fewer is short "&TEXT({pool_one_less_short},"0.0%")&" of the '
                 'time at this load, against "&TEXT(1-{pooled_coverage_calc},"0.000%")&" now)"'
                 if sign == "-" else "")
        # both savings ("50% saved" read)
        return (f'"yes: "&TEXT({shown(share)},"0.000%")&" {more} load needs "&('
                f'{{pooled_gpus_calc}}{sign}{g})&" GPUs: the saving "&IF(1-({{pooled_gpus_calc}}'
                f'{sign}{g})/{ded}>{{savings_fraction_calc}},"jumps","falls")&" from "&TEXT('
                f'{{savings_fraction_calc}},"0%")&" to "&{after(sign, ded)}&IF({ded}<>'
                f'{{dedicated_gpus_calc}}," (dedicated then "&{ded}&" GPUs)","")' + short)

    def moves(share, sign, ded):  # IF, not AND: AND evaluates the "-" of a one-deployment pool
        return (f'IF(ISNUMBER({share}),AND({share}<{POOL_STEP},{after(sign, ded)}<>TEXT('
                '{savings_fraction_calc},"0%")),FALSE)')

    less, more = ("{pool_step_share}", "-", "{pool_step_dedicated}"), (
        "{pool_headroom_share}", "+", "{pool_headroom_dedicated}")
    return [
        # a pooled count just past a whole deployment rests on a sliver of load: say so
        Step("pool_step_share", "Less load that saves a deployment (share; one: none)",
             f'IF({{pooled_gpus_calc}}>{g},({{pooled_capacity}}-({{pooled_gpus_calc}}-{g}))/'
             '{pooled_capacity},"-")', "share", "0.00%", "economics.pool_step_share"),
        Step("pool_step_dedicated", "Dedicated GPUs at that much less load",
             dedicated("{pool_step_share}", "-"), "GPUs", "int"),
        Step("pool_one_less_short", "Time a deployment fewer is short at this load",
             f'IF({{pooled_gpus_calc}}>{g},IF({{pooled_sd}}>0,1-NORMSDIST(({{pooled_gpus_calc}}-'
             f'{g}-{n}*{{tenant_mean_load}})/{{pooled_sd}}),IF({{pooled_gpus_calc}}-{g}<{n}*'
             '{tenant_mean_load},1,0)),"-")', "share", "pct3",
             "economics.pooled_coverage, a deployment fewer"),
        # and one just under a whole deployment rests on it too (a finance review)
        Step("pool_headroom_share", "More load that needs a deployment more (share)",
             "({pooled_gpus_calc}-{pooled_capacity})/{pooled_capacity}", "share", "0.00%",
             "economics.pool_headroom_share"),
        Step("pool_headroom_dedicated", "Dedicated GPUs at that much more load",
             dedicated("{pool_headroom_share}", "+"), "GPUs", "int"),
        Step("pool_step_msg", f"On a step? (share < {POOL_STEP:.0%}, deployment >= {POOL_STEP:.0%}"
             " of pool)", f'IF({g}<{POOL_STEP}*{{pooled_gpus_calc}},"no",IF({moves(*less)},'
             f'{said(*less)},IF({moves(*more)},{said(*more)},"no")))', "", "text"),
    ]


def _service_steps(n, g) -> list[Step]:
    """The service each fleet gives (a user audit: at percentile 0.5 the pool was short half
    the time, each tenant's own GPU almost never, and the saving read as like for like), and
    the pool as often covered as each tenant alone: the saving like for like."""
    return [
        Step("dedicated_coverage_calc", "Time a tenant's k deployments cover its load",
             "IF({cv}>0,NORMSDIST(({deployments_per_tenant}-{mean_utilization})/({cv}*"
             "{mean_utilization})),1)", "share", "pct3",
             "economics.dedicated_coverage"),
        Step("pooled_coverage_calc", "Time the pool covers the summed load",
             f"IF({{pooled_sd}}>0,NORMSDIST(({{pooled_gpus_calc}}-{n}*{{tenant_mean_load}})/"
             "{pooled_sd}),1)", "share", "pct3", "economics.pooled_coverage"),
        # the tenant's own z, (k - u) / (cv u), taken directly (through the coverage and back
        # it lost the digits that keep one tenant's pool at its own count: a review)
        Step("same_service_z", "z of a tenant's own deployments: (k - u) / (cv u)",
             f"MAX(MIN(IF({{cv}}>0,({{deployments_per_tenant}}-{{mean_utilization}})/({{cv}}*"
             f"{{mean_utilization}}+({{cv}}=0)),{SAME_SERVICE_Z!r}),{SAME_SERVICE_Z!r}),{{z}})",
             "", "num3"),
        Step("pooled_gpus_same_service_calc", "Pooled GPUs as often covered as a tenant alone",
             f"{g}*MAX(1,ROUNDUP(({n}*{{tenant_mean_load}}+{{same_service_z}}*{{pooled_sd}})/"
             f"{g}*(1-1E-12),0))", "GPUs", "int", "economics.pooled_gpus_same_service"),
        Step("savings_same_service_calc", "Saving like for like = 1 - those / dedicated",
             "1-{pooled_gpus_same_service_calc}/{dedicated_gpus_calc}", "share", "pct"),
    ]


def _lora_steps() -> list[Step]:
    return [
        Step("lora_dedicated", "Dedicated: variants x max(1, ceil(u (1 + z cv)))",
             "{lora_models}*MAX(1,ROUNDUP({mean_utilization}*(1+{z}*{cv})*(1-1E-12),0))",
             "replicas", "int"),
        Step("lora_pooled_load", "Shared load: N u + z cv u sqrt(N (1 + (N - 1) rho))",
             "{lora_models}*{mean_utilization}+{z}*{cv}*{mean_utilization}*SQRT({lora_models}"
             "*(1+({lora_models}-1)*{correlation}))",
             "replicas", "num3"),
        Step("lora_shared", "Shared: max(1, ceil(load / (1 - overhead)))",
             "MAX(1,ROUNDUP({lora_pooled_load}/(1-{lora_overhead})*(1-1E-12),0))", "replicas",
             "int"),
        Step("lora_savings_fraction_calc", "Saving = 1 - shared / dedicated",
             "1-{lora_shared}/{lora_dedicated}", "share", "pct",
             "economics.lora_sharing_savings"),
        # the service the saving is bought at, as the pool's (a CFO's read: 48 % saved with
        # the shared replicas short 2.5 % of the time, each variant alone almost never)
        Step("lora_shared_coverage_calc", "Time the shared replicas cover the load",
             "IF({cv}>0,NORMSDIST(({lora_shared}*(1-{lora_overhead})-{lora_models}*"
             "{mean_utilization})/({cv}*{mean_utilization}*SQRT({lora_models}*(1+("
             "{lora_models}-1)*{correlation})))),1)", "share", "pct3",
             "economics.lora_shared_coverage"),
    ]


def _pool_formulas(n, p, c, z=None) -> tuple[str, str, str]:
    """(dedicated GPUs, pooled GPUs, dedicated capacity) in cells for tenants n, percentile p,
    cv c; the other inputs as used. ``z``: the pool's own z where it is not the percentile's
    (the like-for-like pool's, ``same_service_z``)."""
    m, g = "tenant_mean_load", "gpus_per_tenant_used"
    zp = f"NORMSINV({p})"
    ded = f"{n}*{g}*MAX(1,ROUNDUP(mean_utilization_used*(1+{zp}*{c})*(1-1E-12),0))"
    pooled = (f"{g}*MAX(1,ROUNDUP(({n}*{m}+{z or zp}*{c}*{m}*SQRT({n}*(1+({n}-1)*"
              f"correlation_used)))/{g}*(1-1E-12),0))")
    return ded, pooled, f"{n}*{m}"


def _tables(wb, ws) -> None:
    st.put_text(ws["B1"], "Saving by number of tenants, percentile and variability",
                st.TITLE_FONT)
    st.put_text(ws["B2"], "At the other inputs of the Pooling sheet. Cells show #N/A only while "
                "a check other than the price or hours fails (the chart then stays empty).",
                st.NOTE_FONT)
    # the pool as often covered as each tenant alone beside it (a CFO's read: the chart's
    # 50 % at scale was the saving at a lower service, the cover's fair figure nowhere here),
    # and the time the pool is short beside the saving it buys (a second read: 50 % at 12
    # tenants is a pool short 4.7 % of the time, 35 hours a month)
    heads = ["tenants", "dedicated GPUs", "pooled GPUs", "saving", "pool short (time)",
             "bound: 1 - ded. util.", "pooled util.", "pooled GPUs like for like",
             "saving like for like"]
    st.header_row(ws, 4, 2, heads, height=42)
    first = 5
    for k in range(1, TENANT_ROWS + 1):
        r = first + k - 1
        ws.cell(r, 2, k).font = st.TEXT_FONT
        ded, pooled, load = _pool_formulas(f"$B{r}", "percentile_used", "cv_used")
        alike = _pool_formulas(f"$B{r}", "percentile_used", "cv_used", "same_service_z")[1]
        sd = f"cv_used*mean_utilization_used*SQRT($B{r}*(1+($B{r}-1)*correlation_used))"
        short = (f"IF({sd}>0,1-NORMSDIST(($D{r}/gpus_per_tenant_used-$B{r}*"
                 f"mean_utilization_used)/({sd})),0)")
        cells = [(ded, "int"), (pooled, "int"), (f"1-$D{r}/$C{r}", "pct"), (short, "pct3"),
                 (f"1-{load}/$C{r}", "pct"), (f"{load}/$D{r}", "pct"), (alike, "int"),
                 (f"1-$I{r}/$C{r}", "pct")]
        for j, (formula, fmt) in enumerate(cells, start=3):
            st.style_cell(ws.cell(r, j, f"=IF(counts_ok,{formula},NA())"), fmt)
    last = first + TENANT_ROWS - 1
    for j, name in enumerate(["table_tenants", "table_dedicated_gpus", "table_pooled_gpus",
                              "table_savings", "table_pool_short", "table_bounds",
                              "table_pooled_utilization", "table_pooled_gpus_same_service",
                              "table_savings_same_service"], start=2):
        st.define(wb, name, ws.title, st.column_range(j, first, last))
    ch = st.scatter_chart("Saving, its bound and pooled utilization vs number of tenants",
                          "tenants sharing the pool", "share of cost / of capacity",
                          Reference(ws, min_col=2, min_row=first, max_row=last),
                          [(title, Reference(ws, min_col=col, min_row=first, max_row=last))
                           for title, col in (("saving at the percentile", 5),
                                              ("bound: 1 - dedicated utilization", 7),
                                              ("pooled utilization", 8),
                                              ("saving like for like", 10))], width=12,
                          height=10)
    ch.y_axis.number_format = "0%"
    ch.y_axis.scaling.min, ch.y_axis.scaling.max = 0, 1
    ch.x_axis.scaling.min, ch.x_axis.scaling.max = 0, TENANT_ROWS
    ws.add_chart(ch, "L5")  # below row 4, which repeats atop the second page
    # the tenants it is for (an audit: the grid did not say)
    row = _grid(wb, ws, 26, 12, '="Saving for "&tenants_used&IF(tenants_used=1," tenant"," '
                'tenants")&": percentile x cv"', "grid_savings",
                lambda ded, pooled, load: f"1-({pooled})/({ded})", headers=True)
    # the second grid starts the second page whole; the tenants' header row repeats there
    ws.row_breaks.append(Break(id=row + 1))
    row = _grid(wb, ws, row + 2, 12, "Its bound, 1 - dedicated utilization", "grid_bounds",
                lambda ded, pooled, load: f"1-({load})/({ded})")
    notes = ["Yellow headers: percentiles in [0.5, 1), cv >= 0",
             "(the Pooling sheet checks them). The saving jumps",
             "from cell to cell because both sides are whole GPUs;",
             "the bound moves only where a tenant's dedicated GPUs",
             "step up (one each at the defaults, so 1 - mean",
             "utilization in every cell). Like for like: a pool as",
             "often short as each tenant alone. Normal model: fair",
             f"to cv ~{NORMAL_CV_MAX}; burstier tenants: pooling_monte_carlo",
             "(Python)."]
    for i, text in enumerate(notes, start=1):
        st.put_text(ws.cell(row + i, 12), text, st.NOTE_FONT)
    st.finish_sheet(ws, {"A": 2, "B": 7, "C": 9, "D": 8, "E": 7, "F": 8, "G": 9, "H": 7,
                         "I": 8, "J": 8, "K": 1, "L": 12, "M": 9, "N": 9, "O": 9, "P": 9},
                    f"A1:P{max(last, row + len(notes))}", title_rows="4:4")


def _grid(wb, ws, row0, c0, title, name, cell_formula, headers=False) -> int:
    """A percentile x cv grid; the blue headers of the first grid feed both. ``title``: text,
    or a formula (starting '=')."""
    if title.startswith("="):
        ws.cell(row0, c0, title).font = st.HEAD_FONT
    else:
        st.put_text(ws.cell(row0, c0), title, st.HEAD_FONT)
    hr = row0 + 1
    st.put_text(ws.cell(hr, c0), "percentile \\ cv", st.COLHEAD_FONT).fill = st.COLHEAD_FILL
    for j, cv in enumerate(GRID_CVS):
        cell = ws.cell(hr, c0 + 1 + j)
        _header(cell, cv if headers else f"=INDEX(grid_cvs,{j + 1})", headers, "num")
    for i, p in enumerate(GRID_PERCENTILES):
        r = hr + 1 + i
        _header(ws.cell(r, c0), p if headers else f"=INDEX(grid_percentiles,{i + 1})", headers,
                "0.0%")
        for j in range(len(GRID_CVS)):
            ded, pooled, load = _pool_formulas("tenants_used", f"${L(c0)}{r}",
                                               f"{L(c0 + 1 + j)}${hr}")
            formula = (f'=IF(AND(counts_ok,check_grid="OK"),{cell_formula(ded, pooled, load)},'
                       '"check inputs")')
            st.style_cell(ws.cell(r, c0 + 1 + j, formula), "pct")
    last = hr + len(GRID_PERCENTILES)
    st.define(wb, name, ws.title, f"${L(c0 + 1)}${hr + 1}:${L(c0 + len(GRID_CVS))}${last}")
    if headers:
        st.define(wb, "grid_cvs", ws.title, f"${L(c0 + 1)}${hr}:${L(c0 + len(GRID_CVS))}${hr}")
        st.define(wb, "grid_percentiles", ws.title, st.column_range(c0, hr + 1, last))
    return last


def _header(cell, value, editable, fmt):
    cell.value = value
    if editable:
        st.style_cell(cell, fmt, st.INPUT_FONT)
        cell.fill, cell.protection = st.INPUT_FILL, st.UNLOCKED
    else:
        st.style_cell(cell, fmt, st.OUTPUT_FONT)


# The cover's "What it leaves out" (a review: a CFO needs these before a pooling decision).
LEFT_OUT = [
    f"Skewed or bursty load: the normal model is fair while cv <= ~{NORMAL_CV_MAX}; for "
    "lognormal, "
    "gamma, beta or on/off tenants use xlnapkin.economics.pooling_monte_carlo in Python "
    "(a spreadsheet cannot simulate it live). Also left out: noisy-neighbour latency, "
    "isolation and compliance, adapter memory (about 0.1 GB per rank-16 adapter on 70 B).",
    # (a platform head's review: nothing on the cover said the teams must share a model)
    "One model: a pool shares one set of weights, so every tenant and team here serves the "
    "same model (or LoRA adapters of one base model); teams on different models pool only "
    "within a model (a copy of the workbook for each). Tenants of different sizes on the "
    "Pooling sheet: every tenant there has the same average load and cv, at most one "
    "deployment's worth; averaging unlike teams can move the answer either way, so give them "
    "the Teams sheet. Spare deployments for availability "
    "(one pool is one point of failure for every tenant) are costed on the Teams sheet only. "
    "What running one pool adds (platform, gateway, chargeback and the people who run them) is "
    "an input, 0 until typed; what the separate deployments cost to run beside their GPUs "
    "(each one's on-call, gateway and upgrades), which pooling saves, is not counted, nor are "
    "migration and how the pooled cost is split between tenants.",
    "Latency headroom: a deployment counts as full at its saturating throughput, so "
    "give the loads as shares of the throughput you plan to run at (the breakeven "
    f"workbook plans {_PLANNED}); the pool runs hotter than dedicated deployments, so leaving "
    "headroom out flatters the pool.",
    "Rounding: much of the saving at low loads is each tenant renting a whole "
    "deployment; a smaller GPU per tenant would also recover part of it."]


def _saves(word, dedicated, pooled, saving) -> str:
    """'<word> N GPUs, pooled M: pooling saves X%' as a piece of a formula, from the names of
    the two counts and the saving."""
    return (f'"{word} "&' + _sheets.plain(dedicated) + '&'
            + _sheets.plural(dedicated, "GPU", "GPUs") + '&", pooled "&' + _sheets.plain(pooled)
            + f'&": pooling saves "&TEXT({saving},"0.0%")')


# The cover's answer at the inputs now (_sheets.cover_sheet), from the Pooling sheet's names.
# A difference in the time short that the cover does not call a price (an audit: "0.000% ...
# the saving is bought at that difference"), and a dedicated side covered past 4 standard
# deviations of a normal load, where the like-for-like pool is sized from a tail no data shows.
SHORT_GAP = "1E-05"
# A year's months at the hours typed: twelve, or fewer where a month runs past 730 hours (a
# review: a 744-hour month made the year 372 days), as the breakeven workbook's year has 365.
_YEAR = f"MIN(12,{HOURS_PER_YEAR:g}/hours_per_month)"
_EXAMPLES = len(_teams.EXAMPLE_TEAMS)  # the Teams sheet's example rows
FAR_TAIL = "0.99997"
FAR_TAIL_NOTE = (" (matched far out in a normal tail, past 4 standard deviations: the model's "
                 "figure, not a measured one)")

# the month's saving net of the pool's own cost, where one is typed
def _net(name: str, base: str, what: str = "", gross: str = "") -> str:
    """The month's saving ``name`` net of the pool's own cost, where one is typed, as a piece
    of a formula: with its share of the dedicated cost ``base`` (an FP&A read: "33.3 %" stayed
    the gross share beside a net saving of 15 %), turned round where the cost is larger (a
    review: "-$1,729 a month net" read as a saving), and ``what`` saving it is ("like for like,
    "); where none is typed, ``gross`` says so."""
    cost = _sheets.dollars("pool_own_cost")
    share = (f'IF({base}>0," ("&TEXT({name}/{base},"0.0%")&" of the dedicated cost)","")')
    return (f'IF(pool_own_cost>0,IF({name}>=0,"; {what}"&' + _sheets.dollars(name)
            + '&" a month net of the pool\'s own "&' + cost + '&' + share + f',"; {what}net of '
            'the pool\'s own "&' + cost + '&", pooling costs "&' + _sheets.dollars(f"-{name}")
            + f'&" a month more"),"{gross}")')


# where no pool cost is typed, the saving is the GPUs' alone (an FP&A read: nothing beside the
# headline said that the pool's platform and people were left out)
_GROSS = "; GPU rent alone: no platform or people cost for the pool is typed"
# the GPU priced, beside its price (an FP&A read: B200 prices on loads typed for an H100)
_GPU_NAMED = _teams._GPU_NAMED.replace("{", "").replace("}", "")  # the Teams sheet's, by name


COVER_ANSWER = [
    # labelled (an audit: the example tenants led the cover, read as the user's own teams)
    'IF(counts_ok,"Identical tenants (the Pooling sheet): "&' + _sheets.plain("tenants") + '&'
    + _sheets.plural("tenants", "tenant", "tenants") + '&IF(tenants=1,", at ",", each at ")&'
    'TEXT(mean_utilization,"0%")&" of a deployment of "&gpus_per_tenant&'
    + _sheets.plural("gpus_per_tenant", "GPU", "GPUs") + '&" on average (cv "&TEXT(cv,"0.00")'
    # (a CFO's read: "capacity for 95 % of the time" read as both fleets short 5 % of it)
    '&", correlation "&TEXT(correlation,"0.00")&"), sized to cover the load "&'
    + _sheets.percent("percentile") + '&" of the time (whole GPUs cover more: see below)",'
    '"check inputs: the Pooling sheet\'s '
    'Checks")',
    ('IF(counts_ok,' + _saves("Dedicated", "dedicated_gpus", "pooled_gpus", "savings_fraction")
    # and a year's (a CFO's read: budgets are annual)
    + '&IF(costs_ok,", "&' + _sheets.dollars("monthly_saving") + '&" a month ("&'
    + _sheets.dollars(f"monthly_saving*{_YEAR}") + '&" a year) at "&TEXT('
    'gpu_price_per_hour_effective,"$#,##0.00")&" per GPU-hour ("&' + _GPU_NAMED + '&")"&'
    + _net("net_monthly_saving", "dedicated_monthly_cost", gross=_GROSS)
    + '," (the dollars wait for the GPU, its '
    'price and the hours: see the Checks)")&IF(tenant_deployments>1,"; the saving compares with "&'
    'tenant_deployments&" deployments a tenant, each sized for its own peak","")&IF('
    # said where the saving is read (a finance review: the lines below qualify it)
    'pooled_coverage<dedicated_coverage-' + SHORT_GAP + ',". The pool is short of capacity more '
    'often than the dedicated deployments: see the like-for-like saving below",""),"")', 3),
    # where the saving comes from, beside it (an audit: 33.6 of 40 points were each tenant
    # renting a whole GPU for a 0.56-GPU peak, which a smaller GPU also recovers)
    ('IF(counts_ok,"Of the "&TEXT(savings_fraction,"0.0%")&" saved, "&TEXT(savings_from_peaks*'
     '100,"0.0")&" points come from peaks that do not coincide and "&TEXT(savings_from_rounding'
     '*100,"0.0")&" from whole deployments"&IF(savings_from_rounding>savings_from_peaks,": '
     'mostly rounding, which a smaller GPU per tenant also recovers",""),"")', 2),
    ('IF(counts_ok,"Short of capacity: the pool "&TEXT(1-pooled_coverage,"0.000%")&" of the '
     'time ("&' + _sheets.a_month("1-pooled_coverage") + '&")"&IF(tenants>1,", when every '
     'tenant is","")&"; each tenant on its own deployments "&TEXT(1-dedicated_coverage,'
     '"0.000%")&" ("&' + _sheets.a_month("1-dedicated_coverage") + '&")"&IF('
     'pooled_coverage<dedicated_coverage-' + SHORT_GAP + ',": the saving is bought at that '
     'difference; a pool short no more often needs "&'
     + _sheets.plain("pooled_gpus_same_service") + '&" GPUs: "&TEXT(savings_same_service,'
     '"0.0%")&" saved like for like"&IF(costs_ok,", "&'
     + _sheets.dollars("like_for_like_monthly_saving") + '&" a month ("&'
     + _sheets.dollars(f"like_for_like_monthly_saving*{_YEAR}") + '&" a year)","")&IF('
     'dedicated_coverage>' + FAR_TAIL + ',"' + FAR_TAIL_NOTE + '","")&IF(costs_ok,'
     + _net("net_like_for_like_monthly_saving", "dedicated_monthly_cost",
                  "like for like, ") + ',""),"")&IF(LEFT('
     'normal_model_fair,2)="no",". Normal model: "&normal_model_fair,""),"")', 5),
    ('IF(counts_ok,"Pooled GPUs on a step? "&pool_step,"")', 2),
    # the teams typed on the Teams sheet (uneven, each its own volume and cv), where a user's
    # own numbers go (a review found the cover quoting identical tenants only), with the
    # service each side gives and the sheet's warnings (a platform lead's audit: the line hid a
    # pool short 1.9 % of the time, bursty teams, spares on one side and B200 prices on the
    # example's H100 counts)
    ('IF(teams_ok,"Your teams (the Teams sheet\'s "&COUNTIF(teams_tokens_per_day,">0")&IF('
     + _teams.IS_EXAMPLE + f',IF(COUNTIF(teams_tokens_per_day,">0")={_EXAMPLES},", the '
     f'template\'s example: type yours there",", rows 1-{_EXAMPLES} still the template\'s '
     'example"),"")&"): "&'
     + _saves("dedicated", "teams_dedicated_gpus", "teams_pooled_gpus",
              "teams_savings_fraction") + '&IF(teams_costs_ok,", "&'
     + _sheets.dollars("teams_monthly_saving") + '&" a month ("&'
     + _sheets.dollars(f"teams_monthly_saving*{_YEAR}") + '&" a year) at "&teams_priced_at&'
     + _net("teams_net_monthly_saving", "teams_dedicated_monthly_cost") + ',"")&'
     # where it comes from, as for the identical tenants (a finance review: 24.8 of 25 points
     # were four near-idle teams' own deployments, which an API for them also recovers)
     # (a review: with spares, a third of the "rounding" was the teams' spares; where they
     # take some back, "-7.3 from whole deployments and spares" read as a saving)
     'IF(teams_savings_fraction>=0.0005,". Of the "&TEXT(teams_savings_fraction,"0.0%")&" saved, '
     '"&TEXT(teams_savings_from_peaks*100,"0.0")&" points come from peaks that do not coincide"&'
     # (under 0.05 points below 0 it reads 0.0, not "less 0.0" or "-0.0": a review)
     'IF(teams_savings_from_rounding<=-0.0005,", less "&TEXT(-teams_savings_from_rounding*100,'
     '"0.0")&" for whole deployments"," and "&TEXT(MAX(0,teams_savings_from_rounding)*100,'
     '"0.0")&" from whole deployments")&IF(teams_team_spares+teams_pool_spares>0," and spares",IF('
     'teams_savings_from_rounding>teams_savings_from_peaks,": mostly rounding, which smaller '
     'deployments (or an API) for the small teams also recover","")),"")&". Short '
     'of capacity: the pool "&TEXT(1-teams_pooled_coverage,"0.000%")&" of the time ("&'
     + _sheets.a_month("1-teams_pooled_coverage") + '&"), the worst-served team on its own "&'
     'TEXT(1-teams_dedicated_coverage,"0.000%")&" ("&'
     + _sheets.a_month("1-teams_dedicated_coverage") + '&")"&IF('
     # every team is short when the pool is (a CFO's read: two teams better served alone went
     # unsaid where the pool beat the worst-served one)
     'teams_served_worse>0,"; "&teams_served_worse&" of the "&COUNTIF(teams_tokens_per_day,'
     '">0")&" teams "&IF(teams_served_worse=1,"is","are")&" short more often pooled than on '
     'their own","")&IF('
     'teams_pooled_coverage<teams_dedicated_coverage-' + SHORT_GAP + ',"; a pool short no more '
     'often than the worst-served team needs "&' + _sheets.plain("teams_pooled_gpus_same_service")
     # not "like for like" (a finance review: at that pool four of five teams were still
     # short more often than alone)
     + '&" GPUs: "&TEXT(teams_savings_same_service,"0.0%")&" saved at that team\'s service"&IF('
     'teams_costs_ok,", "&' + _sheets.dollars(
         "teams_like_for_like_monthly_saving") + '&" a month ("&' + _sheets.dollars(
         f"teams_like_for_like_monthly_saving*{_YEAR}") + '&" a year)","")&IF('
     'teams_dedicated_coverage>' + FAR_TAIL + ',"' + FAR_TAIL_NOTE + '","")&IF('
     'teams_costs_ok,' + _net("teams_net_like_for_like_monthly_saving",
                                 "teams_dedicated_monthly_cost", "at that service, ")
     + ',"")&IF(teams_served_worse_same_service>0,"; "&teams_served_worse_same_service&" of '
     'the "&COUNTIF(teams_tokens_per_day,">0")&" teams "&IF(teams_served_worse_same_service=1,'
     '"is","are")&" still short more often there than alone",""),"")&IF(LEFT('
     'teams_tokens_check,2)="no",". Tokens/s: "&teams_tokens_check,"")&IF(LEFT('
     'teams_normal_fair,2)="no",". Normal model: "&teams_normal_fair,"")&IF(LEFT('
     'teams_spares_alike,2)="no",". Spares: "&teams_spares_alike,""),'
     # said, as the Pooling line says it (a finance review: a team's volume typed as text
     # left the example's saving alone on the cover)
     # ten lines: with a net saving and the sheet's warnings it ran past eight (rendered)
     '"Your teams: check inputs: the Teams sheet\'s Checks")', 10),
]


def _cover(wb) -> None:
    d = {name: default for name, _l, default, *_r in INPUT_ROWS}
    args0 = (d["tenants"], d["mean_utilization"], d["percentile"], d["cv"], 1, 0.0)
    ded, pool = economics.dedicated_gpus(*args0), economics.pooled_gpus(*args0)
    cap = economics.pooled_capacity(*args0)
    peaks = economics.pooling_savings_from_peaks(*args0)
    rounding = economics.pooling_savings_from_rounding(*args0)
    pool_rho = economics.pooled_gpus(*args0[:5], d["correlation"])
    load = d["tenants"] * d["mean_utilization"]
    price0 = catalog.gpu(DEFAULT_GPU).cloud_usd_per_hour
    _sheets.cover_sheet(wb, "Multi-tenant savings: dedicated deployments vs one shared pool", [
        ("What it answers", [
            "How many GPUs do N tenants need when each gets its own deployments, and how many "
            "when they share one pool sized for a percentile of their summed load? How much of "
            "the saving comes from peaks that do not coincide and how much from rounding each "
            "tenant up to whole deployments? What does serving fine-tuned variants as LoRA "
            "adapters on one base model save?",
            "It compares two self-hosted set-ups by GPU rent, less what running one pool adds "
            "where you type it. Whether self-hosting beats "
            "an API at your volume, with people and platform costed, is the self-host "
            "breakeven workbook's question (or `xlnapkin estimate`)."]),
        ("How to use it", [
            "1. Pooling sheet: tenants, their average load (as a share of one deployment), the "
            "percentile the capacity must cover, the load variability cv, the deployment size "
            "in GPUs, the correlation between tenants, the GPU (its catalog price, or yours) and "
            "what running one pool adds a month (platform, gateway, chargeback, their people).",
            "2. Every check must say OK; until then outputs say 'check inputs' (without "
            "a GPU price, or with a bad pool's own cost, only the costs in dollars do, and a bad "
            "LoRA input only the LoRA line).",
            "3. Teams of different sizes: the Teams sheet takes each team's tokens a day (and "
            "its own cv), what one deployment serves and how busy you plan to run it.",
            "4. Read the saving, its two parts and its bound; the Tables sheet shows 1 to 50 "
            "tenants (the saving at the percentile and like for like) and grids of the saving "
            "and its bound by percentile and cv (edit the yellow "
            "headers); the Working sheet shows every step."]),
        ("Assumptions (the normal model of xlnapkin.economics)", [
            "Each tenant's load, in GPUs, is normal with mean m = average load x deployment size "
            "and standard deviation cv x m; the summed load of N tenants with pairwise "
            "correlation rho has standard deviation cv m sqrt(N (1 + (N - 1) rho)).",
            "Dedicated: each tenant covers its own percentile m (1 + z cv) with whole "
            "deployments, at least one. Pooled: the percentile of the summed load, in whole "
            "deployments, at least one (one tenant alone saves nothing). z = NORMSINV(percentile).",
            "The pool carries the same mean load and cannot run above 100 %, so for percentiles "
            "of 50 % and more the saving never exceeds 1 - dedicated utilization; the sheet "
            "checks it. Whole deployments make the saving a staircase in the number of tenants.",
            "Default correlation 0.3: the upper end of hourly correlations between the busiest "
            "API tenants in Alibaba's ServeGen traces (0.0-0.33, 2025), raised for tenants that "
            "share business hours; seed 003's claims assume independent tenants (0).",
            "LoRA: dedicated = one deployment per variant, each max(1, ceil(u (1 + z cv))); "
            "shared = max(1, ceil((N u + z cv u sqrt(N (1 + (N - 1) rho))) / (1 - overhead))) "
            "base-model replicas: the variants' loads correlate as the tenants' do."]),
        ("What it leaves out", LEFT_OUT),
        ("Seed 003's claims, and when they hold", [
            f"'10 independent tenants averaging 40 % combine to ~85-90 %: a 2x cost reduction'. "
            f"Set correlation 0: dedicated {ded:.0f} GPUs at 40 %; the pooled percentile load is "
            f"{cap:.2f} GPUs, so the pool runs at {load / cap:.0%} of its percentile capacity "
            f"(the 85-90 %) and needs {pool:.0f} whole GPUs: a {ded / pool:.0f}x cost reduction. "
            f"Of the {1 - pool / ded:.0%} saved, {peaks * 100:.1f} points come from peaks that "
            f"do not coincide and {rounding * 100:.1f} from renting each 0.56-GPU tenant a whole "
            f"GPU. At the "
            f"default correlation 0.3 the pool needs {pool_rho:.0f} GPUs.",
            "'~$15K shared vs $40K+ dedicated (62 % less)': 62 % is above the bound 1 - 40 % = "
            "60 % for tenants whose dedicated GPUs are 40 % busy; it needs dedicated utilization "
            "of 38 % or less (tenants whose peaks just pass one deployment: raise the average "
            "load or cv).",
            "'50 LoRA adapters on one 70 B base replace 50 deployments at 1-3 % overhead': set "
            "LoRA variants 50, overhead 0.01-0.03 and a small average load (0.01): 98 % saved."]),
        ("Sources", _sheets.SEED_SOURCES + [
            f"Default price: {DEFAULT_GPU} catalog rental price ${price0:.2f}/h (gpus.csv; its "
            "source is in the Catalog sheet's source column, on screen). Correlation: hourly "
            "correlations between clients in Alibaba's "
            "released ServeGen per-client traces (github.com/alibaba/ServeGen, 2025-06).",
            "Formulas: xlnapkin.economics (dedicated_gpus, pooled_gpus, pooling_savings, "
            "pooling_savings_from_peaks, pooling_savings_from_rounding, dedicated_utilization, "
            "pooled_utilization, lora_sharing_savings; for the Teams sheet team_loads, "
            "teams_dedicated_gpus, teams_pooled_capacity, teams_pooled_gpus)."]),
    ], answer=COVER_ANSWER)
