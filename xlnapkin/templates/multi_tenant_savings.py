"""Template: dedicated GPUs per tenant vs one shared pool (statistical multiplexing).

Sheets: Cover, Pooling (inputs, checks, outputs, the working, LoRA sharing, a percentile x cv
sensitivity grid, a build-time Monte Carlo table, the 1..50 tenants table and its chart).

The formulas mirror the analytic pooling functions of ``xlnapkin.economics``
(``dedicated_gpus``, ``pooled_gpus``, ``pooling_savings``, ``pooled_utilization``,
``lora_sharing_savings``): each tenant's load is normal with mean ``mean_utilization x
gpus_per_tenant`` and standard deviation ``cv`` times that; ``z = NORMSINV(percentile)``.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl.chart import Reference
from openpyxl.utils import get_column_letter as L
from openpyxl.worksheet.pagebreak import Break

from .. import catalog, economics
from . import _style as st

FILENAME = "multi_tenant_savings.xlsx"
TENANT_ROWS = 50
GRID_PERCENTILES = (0.9, 0.95, 0.99, 0.999)
GRID_CVS = (0.1, 0.25, 0.5, 1.0)
DEFAULTS = dict(tenants=10, mean_utilization=0.4, percentile=0.95, cv=0.25, gpus_per_tenant=1,
                correlation=0.0)
MC_SAMPLES = 200_000

INPUTS = ["tenants", "mean_utilization", "percentile", "cv", "gpus_per_tenant", "correlation",
          "gpu_price_per_hour", "hours_per_month", "lora_models", "lora_overhead"]
OUTPUTS = ["dedicated_gpus", "pooled_gpus", "dedicated_monthly_cost", "pooled_monthly_cost",
           "savings_fraction", "dedicated_utilization", "pooled_utilization",
           "pooled_capacity_utilization", "cost_reduction_factor", "lora_savings_fraction"]


def build(out_dir) -> Path:
    wb = st.new_workbook()
    price0 = float(catalog.gpu("h100-sxm").cloud_usd_per_hour or 2.0)
    _cover(wb, price0)
    ws = wb.create_sheet("Pooling")
    st.catalog_sheet(wb, parts=("gpu",))
    st.put_text(ws["B1"], "Multi-tenant pooling: dedicated vs shared GPUs", st.TITLE_FONT)
    st.put_text(ws["B2"], "Blue cells are inputs. Black cells are formulas mirroring "
                "xlnapkin.economics' pooling functions.", st.NOTE_FONT)
    b = st.Block(wb, ws, row=3)
    b.heading("Inputs")
    b.add("tenants", "Tenants (customers, teams or models)", DEFAULTS["tenants"], "tenants", "",
          "int", "input", validation=(1,))
    b.add("mean_utilization", "Each tenant's average load (share of its deployment)",
          DEFAULTS["mean_utilization"], "0-1", "seed 003: 40 %", "pct", "input",
          validation=(0, 1))
    b.add("percentile", "Share of the time capacity must cover the load",
          DEFAULTS["percentile"], "0-1", "0.95 = the 95th percentile", "num3", "input",
          validation=(0, 1))
    b.add("cv", "Load variability: std dev / mean of one tenant (cv)", DEFAULTS["cv"], "ratio",
          "normal model fair up to ~0.3", "num", "input", validation=(0,))
    b.add("gpus_per_tenant", "GPUs of one tenant's smallest deployment",
          DEFAULTS["gpus_per_tenant"], "GPUs", "", "int", "input", validation=(1,))
    b.add("correlation", "Correlation between tenants' loads", DEFAULTS["correlation"], "0-1",
          "0 = independent", "num", "input", validation=(0, 1))
    b.add("gpu_price_per_hour", "Price per GPU-hour", price0, "USD/GPU-h",
          "h100-sxm catalog rental price", "usd", "input", validation=(0,))
    b.add("hours_per_month", "Hours paid per month", 730.0, "hours", "", "int", "input",
          validation=(0, 744))
    b.add("lora_models", "LoRA: fine-tuned variants of one base model", 50, "models",
          "each else on its own", "int", "input", validation=(1,))
    b.add("lora_overhead", "LoRA: throughput lost to adapters", 0.02, "0-1",
          "seed 003: 1-3 %", "pct", "input", validation=(0, 1))

    b.heading("Checks", "every line must say OK; outputs show 'check inputs' otherwise")
    first = b.row
    for name, label, formula in [
        ("check_tenants", "Tenants", _whole("tenants", 1)),
        ("check_mean_utilization", "Average load",
         _num("mean_utilization", "mean_utilization", "in (0, 1]", "OR({x}<=0,{x}>1)")),
        ("check_percentile", "Percentile",
         _num("percentile", "percentile", "in (0, 1)", "OR({x}<=0,{x}>=1)")),
        ("check_cv", "cv", _num("cv", "cv", ">= 0", "{x}<0")),
        ("check_gpus_per_tenant", "GPUs per tenant", _whole("gpus_per_tenant", 1)),
        ("check_correlation", "Correlation",
         _num("correlation", "correlation", "in [0, 1]", "OR({x}<0,{x}>1)")),
        ("check_price", "GPU price", _num("gpu_price_per_hour", "GPU price", ">= 0", "{x}<0")),
        ("check_hours", "Hours per month",
         _num("hours_per_month", "hours_per_month", "in (0, 744]", "OR({x}<=0,{x}>744)")),
        ("check_lora_models", "LoRA models", _whole("lora_models", 1)),
        ("check_lora_overhead", "LoRA overhead",
         _num("lora_overhead", "lora_overhead", "in [0, 1)", "OR({x}<0,{x}>=1)")),
    ]:
        b.add(name, label, formula, "", "", "text").font = st.CHECK_FONT
    st.define(wb, "checks", ws.title, f"$C${first}:$C${b.row - 1}")
    st.mark_checks(ws, f"C{first}:C{b.row - 1}")
    b.add("all_ok", "All inputs OK?", "COUNTIF(checks,\"OK\")=ROWS(checks)", "", "", "gen")

    b.heading("Outputs")

    def out(name, label, calc, unit, fmt, note=""):
        b.add(name, label, f"IF({{all_ok}},{{{calc}}},\"check inputs\")", unit, note, fmt,
              "output")

    out("dedicated_gpus", "Dedicated GPUs (each tenant its own)", "dedicated_gpus_calc", "GPUs",
        "int", "= xlnapkin.economics.dedicated_gpus")
    out("pooled_gpus", "Pooled GPUs (one shared pool)", "pooled_gpus_calc", "GPUs", "int",
        "= xlnapkin.economics.pooled_gpus")
    out("dedicated_monthly_cost", "Dedicated monthly cost", "dedicated_cost_calc", "USD/month",
        "usd0")
    out("pooled_monthly_cost", "Pooled monthly cost", "pooled_cost_calc", "USD/month", "usd0")
    out("savings_fraction", "Saving from pooling", "savings_calc", "share", "pct",
        "= xlnapkin.economics.pooling_savings")
    out("cost_reduction_factor", "Cost reduction factor (dedicated / pooled)",
        "reduction_calc", "x", "num")
    out("dedicated_utilization", "Average utilization, dedicated", "dedicated_util_calc",
        "share", "pct")
    out("pooled_utilization", "Average utilization, pooled (whole GPUs)", "pooled_util_calc",
        "share", "pct", "= xlnapkin.economics.pooled_utilization")
    out("pooled_capacity_utilization", "Average load / pooled percentile capacity",
        "pooled_cap_util_calc", "share", "pct", "before rounding up to whole GPUs")
    out("lora_savings_fraction", "LoRA sharing: saving vs one deployment per variant",
        "lora_savings_calc", "share", "pct", "= xlnapkin.economics.lora_sharing_savings")
    b.add("savings_bound", "Upper bound on the saving (1 - average load)",
          "IF({all_ok},1-{mean_utilization},\"check inputs\")", "share",
          "the pool cannot run above 100 %", "pct")

    b.heading("Working", "one tenant's load ~ normal(m, cv x m); z = NORMSINV(percentile)")
    b.add("z", "z = NORMSINV(percentile)", "NORMSINV({percentile})", "", "", "num3")
    b.add("tenant_mean_load", "m = average load of one tenant",
          "{mean_utilization}*{gpus_per_tenant}", "GPUs", "", "num3")
    b.add("tenant_peak_load", "One tenant's percentile load m (1 + z cv)",
          "{tenant_mean_load}*(1+{z}*{cv})", "GPUs", "", "num3")
    b.add("dedicated_capacity", "Dedicated capacity = tenants x that (fractional)",
          "{tenants}*{tenant_peak_load}", "GPUs", "= xlnapkin.economics.dedicated_capacity",
          "num3")
    b.add("gpus_per_tenant_used", "Whole GPUs per tenant (at least its deployment)",
          "MAX({gpus_per_tenant},ROUNDUP({tenant_peak_load}*(1-1E-12),0))", "GPUs", "", "int")
    b.add("dedicated_gpus_calc", "Dedicated GPUs", "{tenants}*{gpus_per_tenant_used}", "GPUs",
          "= xlnapkin.economics.dedicated_gpus", "int")
    b.add("pooled_capacity", "Pooled capacity: N m + z cv m sqrt(N (1 + (N-1) rho))",
          "{tenants}*{tenant_mean_load}+{z}*{cv}*{tenant_mean_load}*SQRT({tenants}*"
          "(1+({tenants}-1)*{correlation}))", "GPUs", "= xlnapkin.economics.pooled_capacity",
          "num3")
    b.add("pooled_gpus_calc", "Pooled GPUs (whole, at least one deployment)",
          "MAX({gpus_per_tenant},ROUNDUP({pooled_capacity}*(1-1E-12),0))", "GPUs",
          "= xlnapkin.economics.pooled_gpus", "int")
    b.add("savings_calc", "Saving = 1 - pooled / dedicated",
          "1-{pooled_gpus_calc}/{dedicated_gpus_calc}", "share",
          "= xlnapkin.economics.pooling_savings", "pct")
    b.add("reduction_calc", "Dedicated / pooled", "{dedicated_gpus_calc}/{pooled_gpus_calc}",
          "x", "", "num")
    b.add("dedicated_util_calc", "Dedicated utilization = N m / dedicated GPUs",
          "{tenants}*{tenant_mean_load}/{dedicated_gpus_calc}", "share", "", "pct")
    b.add("pooled_util_calc", "Pooled utilization = N m / pooled GPUs",
          "{tenants}*{tenant_mean_load}/{pooled_gpus_calc}", "share",
          "= xlnapkin.economics.pooled_utilization", "pct")
    b.add("pooled_cap_util_calc", "N m / pooled capacity",
          "{tenants}*{tenant_mean_load}/{pooled_capacity}", "share", "", "pct")
    b.add("dedicated_cost_calc", "Dedicated cost = GPUs x price x hours",
          "{dedicated_gpus_calc}*{gpu_price_per_hour}*{hours_per_month}", "USD/month", "",
          "usd0")
    b.add("pooled_cost_calc", "Pooled cost = GPUs x price x hours",
          "{pooled_gpus_calc}*{gpu_price_per_hour}*{hours_per_month}", "USD/month", "", "usd0")
    b.heading("LoRA / multi-model sharing", "variants of one base model share its replicas")
    b.add("lora_dedicated", "Dedicated: variants x max(1, ceil(u (1 + z cv)))",
          "{lora_models}*MAX(1,ROUNDUP({mean_utilization}*(1+{z}*{cv})*(1-1E-12),0))",
          "replicas", "", "int")
    b.add("lora_pooled_load", "Shared load: N u + z cv u sqrt(N)",
          "{lora_models}*{mean_utilization}+{z}*{cv}*{mean_utilization}*SQRT({lora_models})",
          "replicas", "", "num3")
    b.add("lora_shared", "Shared: max(1, ceil(load / (1 - overhead)))",
          "MAX(1,ROUNDUP({lora_pooled_load}/(1-{lora_overhead})*(1-1E-12),0))", "replicas", "",
          "int")
    b.add("lora_savings_calc", "Saving = 1 - shared / dedicated",
          "1-{lora_shared}/{lora_dedicated}", "share",
          "= xlnapkin.economics.lora_sharing_savings", "pct")
    left_end = b.row

    chart_end = _tenants_table(wb, ws, 7, 4)
    grid_row = _grid(wb, ws, chart_end + 2, 7)
    mc_end = _monte_carlo(ws, grid_row + 2, 7)
    st.col_widths(ws, {"A": 2, "B": 52, "C": 14, "D": 11, "E": 40, "F": 3, "G": 16, "H": 14,
                       "I": 13, "J": 13, "K": 13})
    ws.sheet_view.showGridLines = False
    ws.freeze_panes = "A3"
    st.protect(ws)
    st.print_setup(ws, f"A1:K{max(mc_end, left_end)}")
    return st.save_reproducible(wb, Path(out_dir) / FILENAME)


def _whole(name, minimum):
    x = "{" + name + "}"
    return (f"IF(NOT(ISNUMBER({x})),\"{name} must be a whole number >= {minimum}\","
            f"IF(OR({x}<{minimum},{x}<>INT({x})),\"{name} must be a whole number >= {minimum}\","
            "\"OK\"))")


def _num(name, label, rule, bad):
    x = "{" + name + "}"
    return (f"IF(NOT(ISNUMBER({x})),\"{label} must be a number {rule}\","
            f"IF({bad.replace('{x}', x)},\"{label} must be a number {rule}\",\"OK\"))")


def _grid(wb, ws, row0, c0) -> int:
    """Saving for a grid of percentiles (rows) and cv (columns) at the other inputs."""
    st.put_text(ws.cell(row0, c0), "Saving by percentile (rows) and load variability cv "
                "(columns)", st.HEAD_FONT)
    st.put_text(ws.cell(row0 + 1, c0), "At your tenants, average load, deployment size and "
                "correlation; the blue headers are editable.", st.NOTE_FONT)
    hr = row0 + 2
    st.put_text(ws.cell(hr, c0), "percentile \\ cv", st.COLHEAD_FONT).fill = st.COLHEAD_FILL
    for j, cv in enumerate(GRID_CVS):
        c = ws.cell(hr, c0 + 1 + j, cv)
        c.font, c.fill, c.protection, c.number_format = (st.INPUT_FONT, st.INPUT_FILL,
                                                         st.UNLOCKED, st.FMT["num"])
    for i, p in enumerate(GRID_PERCENTILES):
        r = hr + 1 + i
        c = ws.cell(r, c0, p)
        c.font, c.fill, c.protection, c.number_format = (st.INPUT_FONT, st.INPUT_FILL,
                                                         st.UNLOCKED, "0.0%")
        for j in range(len(GRID_CVS)):
            col = L(c0 + 1 + j)
            z = f"NORMSINV(${L(c0)}{r})"
            m = "tenant_mean_load"
            ded = (f"tenants*MAX(gpus_per_tenant,ROUNDUP({m}*(1+{z}*{col}${hr})*(1-1E-12),0))")
            pool = (f"MAX(gpus_per_tenant,ROUNDUP((tenants*{m}+{z}*{col}${hr}*{m}*SQRT(tenants*(1+(tenants-1)"
                    f"*correlation)))*(1-1E-12),0))")
            cell = ws.cell(r, c0 + 1 + j, f"=IF(all_ok,1-{pool}/({ded}),\"check inputs\")")
            cell.number_format = st.FMT["pct"]
            cell.font = st.FORMULA_FONT
            cell.border = st.BOX
    last = hr + len(GRID_PERCENTILES)
    a, z_ = L(c0 + 1), L(c0 + len(GRID_CVS))
    st.define(wb, "grid_savings", ws.title, f"${a}${hr + 1}:${z_}${last}")
    st.define(wb, "grid_cvs", ws.title, f"${a}${hr}:${z_}${hr}")
    st.define(wb, "grid_percentiles", ws.title, f"${L(c0)}${hr + 1}:${L(c0)}${last}")
    return last


def monte_carlo_rows():
    """Build-time simulation at the default inputs: one row per load distribution."""
    rows = []
    d = DEFAULTS
    for dist in economics.DISTRIBUTIONS:
        est = economics.pooling_monte_carlo(d["tenants"], d["mean_utilization"], d["percentile"],
                                            d["cv"], d["gpus_per_tenant"], d["correlation"],
                                            distribution=dist, samples=MC_SAMPLES, seed=0)
        rows.append((dist, round(est.pooled_capacity, 3), est.pooled_gpus,
                     round(est.savings_fraction, 4), round(est.pooled_utilization, 4)))
    return rows


def _monte_carlo(ws, row0, c0) -> int:
    d = DEFAULTS
    st.put_text(ws.cell(row0, c0), "Other load distributions (simulated at build time; "
                "not recalculated)", st.HEAD_FONT)
    st.put_text(ws.cell(row0 + 1, c0), f"xlnapkin.economics.pooling_monte_carlo at the default "
                f"inputs: {d['tenants']} tenants, average {d['mean_utilization']:.0%}, "
                f"percentile {d['percentile']}, cv {d['cv']}, {MC_SAMPLES:,} samples, seed 0.",
                st.NOTE_FONT)
    hr = row0 + 2
    for j, h in enumerate(["distribution", "pooled capacity", "pooled GPUs", "saving",
                           "pooled util."]):
        st.put_text(ws.cell(hr, c0 + j), h, st.COLHEAD_FONT).fill = st.COLHEAD_FILL
    r = hr
    for r, row in enumerate(monte_carlo_rows(), start=hr + 1):
        st.put_text(ws.cell(r, c0), row[0])
        for j, (v, fmt) in enumerate(zip(row[1:], ["num3", "int", "pct", "pct"])):
            c = ws.cell(r, c0 + 1 + j, v)
            c.number_format = st.FMT[fmt]
            c.font = st.TEXT_FONT
            c.border = st.BOX
    st.put_text(ws.cell(r + 1, c0), "Skewed and bursty tenants need more headroom than the "
                "normal model: for cv above ~0.3", st.NOTE_FONT)
    st.put_text(ws.cell(r + 2, c0), "read the formulas' answer as a best case.", st.NOTE_FONT)
    return r + 2


def _tenants_table(wb, ws, col0, row0) -> int:
    c = [L(col0 + i) for i in range(5)]
    st.put_text(ws.cell(row0 - 1, col0), "Saving vs number of tenants", st.HEAD_FONT)
    for i, h in enumerate(["tenants", "dedicated GPUs", "pooled GPUs", "saving",
                           "pooled util."]):
        st.put_text(ws.cell(row0, col0 + i), h, st.COLHEAD_FONT).fill = st.COLHEAD_FILL
    first = row0 + 1
    for k in range(1, TENANT_ROWS + 1):
        r = first + k - 1
        ws[f"{c[0]}{r}"] = k
        ws[f"{c[1]}{r}"] = f"=IF(all_ok,{c[0]}{r}*gpus_per_tenant_used,NA())"
        ws[f"{c[2]}{r}"] = (f"=IF(all_ok,MAX(gpus_per_tenant,ROUNDUP(({c[0]}{r}*tenant_mean_load+z*cv*"
                            f"tenant_mean_load*SQRT({c[0]}{r}*(1+({c[0]}{r}-1)*correlation)))"
                            "*(1-1E-12),0)),NA())")
        ws[f"{c[3]}{r}"] = f"=IF(all_ok,1-{c[2]}{r}/{c[1]}{r},NA())"
        ws[f"{c[4]}{r}"] = f"=IF(all_ok,{c[0]}{r}*tenant_mean_load/{c[2]}{r},NA())"
        for i, fmt in enumerate(["int", "int", "int", "pct", "pct"]):
            cell = ws[f"{c[i]}{r}"]
            cell.number_format = st.FMT[fmt]
            cell.font = st.TEXT_FONT if i == 0 else st.FORMULA_FONT
            cell.border = st.BOX
    last = first + TENANT_ROWS - 1
    for i, name in enumerate(["table_tenants", "table_dedicated_gpus", "table_pooled_gpus",
                              "table_savings", "table_pooled_utilization"]):
        st.define(wb, name, ws.title, f"${c[i]}${first}:${c[i]}${last}")
    st.put_text(ws.cell(last + 1, col0), "Cells show #N/A only while a check fails (the chart "
                "then stays empty).", st.NOTE_FONT)
    x = Reference(ws, min_col=col0, min_row=first, max_row=last)
    ch = st.scatter_chart("Saving and pooled utilization vs number of tenants",
                          "tenants sharing the pool", "share of cost / of capacity", x,
                          [("saving from pooling", Reference(ws, min_col=col0 + 3, min_row=first,
                                                             max_row=last)),
                           ("pooled utilization", Reference(ws, min_col=col0 + 4, min_row=first,
                                                            max_row=last))],
                          width=14.5, height=9)
    ch.y_axis.number_format = "0%"
    ch.y_axis.scaling.min = 0
    ch.y_axis.scaling.max = 1
    ch.x_axis.scaling.min = 0
    ch.x_axis.scaling.max = TENANT_ROWS
    ws.add_chart(ch, f"{L(col0)}{last + 3}")
    ws.row_breaks.append(Break(id=last + 1))  # the chart and the grids start page 2
    return last + 3 + 20


def _cover(wb, price0) -> None:
    d = DEFAULTS
    ded = economics.dedicated_gpus(d["tenants"], d["mean_utilization"], d["percentile"], d["cv"])
    pool = economics.pooled_gpus(d["tenants"], d["mean_utilization"], d["percentile"], d["cv"])
    cap = economics.pooled_capacity(d["tenants"], d["mean_utilization"], d["percentile"],
                                    d["cv"])
    load = d["tenants"] * d["mean_utilization"]
    st.cover_sheet(wb, "Multi-tenant savings: dedicated GPUs vs one shared pool", [
        ("What it answers", [
            "How many GPUs do N tenants need when each gets its own deployment, and how many "
            "when they share one pool sized for a percentile of their summed load? What does "
            "pooling save, how busy are the GPUs before and after, and what does serving many "
            "fine-tuned variants as LoRA adapters on one base model save?",
        ]),
        ("How to use it", [
            "1. On the Pooling sheet, change the blue cells: tenants, their average load, the "
            "percentile the capacity must cover, the load variability cv, the deployment size, "
            "the correlation between tenants and the GPU price.",
            "2. The Checks block says OK for each input, or what is wrong; the outputs show "
            "'check inputs' until every check is OK.",
            "3. Read the Outputs and the Working below them; the table on the right and its "
            "chart show the saving for 1 to 50 tenants; the grid shows the saving for other "
            "percentiles and cv; the Monte Carlo table shows skewed and bursty load.",
        ]),
        ("Assumptions (the normal model of xlnapkin.economics)", [
            "Each tenant's load, in GPUs, is normal with mean m = average load x deployment size "
            "and standard deviation cv x m; tenants are independent unless 'correlation' is set "
            "(then the summed load's standard deviation is cv m sqrt(N (1 + (N - 1) rho))).",
            "Dedicated: each tenant is sized for its own percentile, m (1 + z cv), rounded up "
            "to whole GPUs and never below its deployment size. Pooled: the percentile of the "
            "summed load, N m + z cv m sqrt(N (1 + (N - 1) rho)), rounded up, at least one "
            "deployment (so one tenant alone saves nothing). "
            "z = NORMSINV(percentile).",
            "The saving can never exceed 1 - average load (the pool cannot run above 100 %); "
            "whole GPUs make it a staircase in the number of tenants.",
            "LoRA: dedicated = one deployment per variant, each max(1, ceil(u (1 + z cv))); "
            "shared = max(1, ceil((N u + z cv u sqrt(N)) / (1 - overhead))) replicas of the "
            "base model. Adapter memory is not counted (about 0.1 GB each for rank 16 on 70 B).",
            "The normal model is fair while cv <= ~0.3; the Monte Carlo table shows skewed "
            "(lognormal, gamma), bounded (beta) and on/off loads at the default inputs.",
        ]),
        ("Seed 003's claims, and when they hold", [
            f"'10 independent tenants averaging 40 % combine to ~85-90 % utilization: a 2x cost "
            f"reduction'. Defaults (cv 0.25, 95th percentile): dedicated {ded:.0f} GPUs at 40 %; "
            f"the pooled percentile load is {cap:.2f} GPUs, so the pool runs at "
            f"{load / cap:.0%} of its percentile capacity (the 85-90 % claim) and needs "
            f"{pool:.0f} whole GPUs ({load / pool:.0%} busy): a {ded / pool:.0f}x cost "
            f"reduction. It holds for independent tenants with moderate variability; raise cv "
            f"or the correlation, or ask for the 99.9th percentile, and it shrinks (see the grid).",
            "'10 tenants on shared infrastructure cost ~$15K/month vs $40K+ dedicated (62 % "
            "less)': 62 % is above the bound 1 - 40 % = 60 %, so it cannot follow from tenants "
            "averaging 40 %; it needs tenants averaging under 38 % or dedicated deployments "
            "larger than one GPU each (set 'GPUs of one tenant's smallest deployment').",
            "'50 LoRA adapters on one 70 B base replace 50 dedicated deployments at 1-3 % "
            "throughput overhead': set LoRA variants to 50 and the overhead to 0.01-0.03; with "
            "the average load above, the LoRA saving output shows what sharing saves.",
            "Tenants can be models too (multi-model serving on one fleet) when the models fit "
            "the same GPUs.",
        ]),
        ("Sources", st.SEED_SOURCES + [
            f"Default GPU price: h100-sxm catalog rental price ${price0}/h (xlnapkin gpus.csv; "
            "source on the Catalog sheet).",
            "Pooling formulas: xlnapkin.economics (dedicated_gpus, pooled_gpus, pooling_savings, "
            "pooled_utilization, lora_sharing_savings, pooling_monte_carlo).",
        ]),
    ])
