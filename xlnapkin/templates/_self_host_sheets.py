"""The self-host breakeven template's analysis sheets: Sensitivity (scenario factors and a
tornado), Years (own vs rent over the holding period, NPV) and Volume (cost as the volume grows,
every catalog API).

They read the Working sheet's named steps (``replica_total_tps``, ``replica_monthly_cost`` ...)
and recompute only the money, so each table cell equals an engine call
(:func:`xlnapkin.economics.self_host_monthly_cost`, ``fleet_breakeven_tokens_per_day``,
``rent_cost_in_year``, ``own_npv`` ...) at that row's inputs.
"""

from __future__ import annotations

from openpyxl.chart import Reference
from openpyxl.utils import get_column_letter as L
from openpyxl.worksheet.pagebreak import Break

from ..economics import HOURS_PER_MONTH, HOURS_PER_YEAR
from . import _style as st
from ._sheets import catalog_cell, per_mtok

__all__ = ["UNDER_LOAD_ERROR", "SCENARIO_ROWS", "SCENARIOS", "HIGH_FAVOURS_SELF_HOST",
           "AS_TYPED_ROWS", "VOLUME_ROWS", "YEAR_ROWS", "YEAR_END_LEAN", "RESALE", "RESALE_YEARS",
           "RESALE_LATER", "RESALE_LATER_YEARS", "RESALE_YEARLY", "add_sensitivity", "add_years",
           "add_volume", "annuity", "breakeven_formula", "hosting", "own_hourly", "resale_share",
           "years_kept"]

# An H100's resale share after 3 years and after 5 (lenders' curve): the default share, and the
# yearly fall between them, by which the resale follows the years kept in a scenario (a review:
# 'Years kept' at 5 years with a 3-year resale share flattered owning)
RESALE, RESALE_YEARS = 0.3, 3
RESALE_LATER, RESALE_LATER_YEARS = 0.1, 5
RESALE_YEARLY = (RESALE_LATER / RESALE) ** (1 / (RESALE_LATER_YEARS - RESALE_YEARS))
# The throughput model's error under load that the utilization row's factors stand for
# (benchmarks/RESULTS.md section 3, the under_load class; tests/test_docs.py holds it to it)
UNDER_LOAD_ERROR = "12 % at the median, 35 % at the 90th percentile"
# (key, label, low factor, high factor, what the factor multiplies)
SCENARIO_ROWS = [
    ("tokens_per_day", "Tokens per day", 0.5, 2.0, "tokens_per_day"),
    ("gpu_price_per_hour", "GPU rental price", 0.7, 1.3, "rental price per GPU-hour"),
    ("api_price", "API prices", 0.5, 1.5, "API input, output and cached prices"),
    ("utilization", "Utilization, throughput", 0.75, 1.25,
     # (a sensitivity audit: 0.9 x 1.25 planned a fleet the service rows called full)
     "utilization, at most 100 % (the service rows say 'full' past what a replica "
     "sustains)"),
    ("staff_cost_per_month", "People and platform", 0.5, 1.5, "staff_cost_per_month"),
    ("min_replicas", "Minimum replicas", 0.5, 1.5, "min_replicas (rounded up, at least 1)"),
    ("purchase_price", "Purchase price (own)", 0.8, 1.2, "purchase price (owning only)"),
    ("price_per_kwh", "Electricity (own)", 0.7, 1.5,
     "price per kWh (owning only); it also stands for the power drawn"),
    ("cost_of_capital", "Cost of capital (own)", 0.5, 1.5,
     "cost of capital (at most 100 %): owning, and the Years sheet's discounting"),
    # the years an owned GPU is kept, the question GPU buyers argue most (3 or 5 and more)
    ("years", "Years kept (own)", 2 / 3, 5 / 3,
     f"years kept (owning, 1-10), rounded (3: 2 and 5); resale x{RESALE_YEARLY:.2f} a year "
     "longer, as typed if shorter"),
    ("residual_share", "Resale value (own)", 0.5, 1.5,
     "resale share of the price (owning only; at most 100 %)"),
]
# The rows whose high factor favours self-hosting (more volume to share the fixed costs, dearer
# API tokens, fuller replicas); the others favour it at their low factor. The 'best' scenario
# takes each row's factor that favours self-hosting, 'worst' the other one, both at your own
# volume and minimum fleet, over the years and at the cost of capital typed (AS_TYPED_ROWS: a
# CFO audit found 'worst' showing a smaller loss than the base case where every replica lost
# money, as half the volume halved the loss; a finance audit found 'best' dropping the standby
# replica, a lower service level, not a cost; an FP&A review found 'worst' answering over 2
# years at 15 % a question asked over 3 at 10 %, a loss $0.4 M smaller: the years kept are the
# comparison's horizon, and a dearer rate discounts a loss away). Low and high still move them.
HIGH_FAVOURS_SELF_HOST = frozenset({"tokens_per_day", "api_price", "utilization", "years",
                                    "residual_share"})
AS_TYPED_ROWS = frozenset({"tokens_per_day", "min_replicas", "years", "cost_of_capital"})
SCENARIOS = ("base", "low", "high", "best", "worst")
VOLUME_ROWS = 20
YEAR_ROWS = 10  # years 0..10 on the Years sheet
# The Years sheet's timing and which way it leans (its paragraph and the cover say it)
YEAR_END_LEAN = ("Cash flows fall at each year's end, as in Excel's NPV: rent and running "
                 "costs, paid monthly, are discounted more than they would be month by month, "
                 "which understates owning's NPV saving (by some 9 % at the defaults).")
_GATE_NA = "IF(all_ok,{},NA())"
# A Years-sheet figure of the side whose price is missing, its inputs otherwise fine: no figure,
# not "check inputs" (a review: a renter's checks all said OK)
_SIDE_MISSING = 'IF({own_used_ok},"-","check inputs")'
CHART_COL = 15  # O: the breakeven chart's own columns, beside the printed page (A:M)
_VOLUME_NA = 'IF(AND(all_ok,check_volume_range="OK"),{},NA())'


def breakeven_formula(blended, cap="replica_capacity_per_day", rep="replica_monthly_cost",
                      minrep="min_replicas_used", staff="staff_cost_per_month_used") -> str:
    """FLEET_BREAKEVEN_TOKENS_PER_DAY in cells, for a blended API price expression."""
    per_token = f"(days_per_month*{blended}/1E+6)"
    margin = f"({cap}*{per_token}-{rep})"
    return (f'IF({margin}>0,(MAX({minrep},ROUNDUP({staff}/{margin}*(1-1E-12),0))*{rep}+'
            f'{staff})/{per_token},"never")')


def _fleet_size(tpd, util, minrep) -> tuple[str, str]:
    """(REPLICA_TOKENS_PER_DAY, REPLICAS_NEEDED) in cells at these drivers."""
    cap = f"(replica_total_tps*{util}*3600*hours_a_day)"
    return cap, f"MAX({minrep},ROUNDUP({tpd}/{cap}*(1-1E-12),0))"


def years_kept(factor="scen_years", years="years") -> str:
    """The years kept at a scenario factor: whole, 1 to 10 (the Years sheet's rows)."""
    return f"MIN({YEAR_ROWS},MAX(1,INT({years}*{factor}+0.5)))"


def resale_share(factor: str, years_factor: str, share="residual_share", years="years") -> str:
    """The resale share at a scenario's factors: the share typed times its factor, times
    RESALE_YEARLY for each year kept beyond the years typed, at most 1. A shorter hold keeps
    the share typed (a review: raised along the curve, 8 years typed at 30 % resold at 100 %
    after 5, and 'worst' came out cheaper than 'best')."""
    return (f"MIN(1,{share}*{factor}*{RESALE_YEARLY!r}^MAX(0,{years_kept(years_factor, years)}-"
            f"{years}))")


def own_hourly(purchase="purchase_price_used", kwh="price_per_kwh_used",
               rate="cost_of_capital_used", years="years_used", resale="residual_share_used",
               power="power_watts_used", pue="pue_used", hosting="hosting_per_month") -> str:
    """OWN_HOURLY_COST in cells, at these expressions (the inputs as used by default): the
    capital ``(purchase - resale / (1 + r)^n)`` repaid as an annuity over the years kept, plus
    energy and hosting. The Working sheet's step and the tornado's rows both write it."""
    g = f"(1+({rate}))^({years})"
    return (f"(({purchase})*(1-({resale})/{g})*{annuity(rate, years)}/"
            f"{HOURS_PER_YEAR:g}+{power}/1000*{pue}*({kwh})+{hosting}*12/{HOURS_PER_YEAR:g})")


def hosting(power: str, colo: str, maintenance: str, purchase: str) -> str:
    """An owned GPU's monthly hosting in cells: colocation per kW of its power
    (economics.colo_cost_per_month) plus maintenance, support and spares as a share of its
    price a year, by the month."""
    return f"({power}/1000*{colo}+{maintenance}*{purchase}/12)"


def annuity(rate: str, years: str) -> str:
    """The capital recovery factor in cells: ``r (1 + r)^n / ((1 + r)^n - 1)``, ``1 / n`` at
    r = 0 (economics.own_hourly_cost)."""
    r, n = f"({rate})", f"({years})"
    g = f"(1+{r})^{n}"
    return f"IF({r}>0,{r}*{g}/({g}-1),1/{n})"


# --- Sensitivity ---------------------------------------------------------------------------------

def add_sensitivity(wb, ws) -> None:
    st.put_text(ws["B1"], "Sensitivity: scenarios and what moves the cost", st.TITLE_FONT)
    st.paragraph(ws, 2, 2, 13, "Each row's low and high factor multiplies that input. The "
                 "Breakeven sheet's scenario switch applies every row's low (or high) factor at "
                 "once; the tornado moves one row at a time around the base case. Low and high "
                 "are factors, not cases (a higher API price favours self-hosting, a higher GPU "
                 "price the API): 'best' takes each row's factor that favours self-hosting, "
                 "'worst' the other, both at your own volume and minimum replicas (a standby "
                 "replica is a service level, not a cost to trim), over the years and at the "
                 "cost of capital typed (the question's horizon and rate). The factors are "
                 "yours to set: the defaults are round ranges of judgment, not measured spreads, except two: "
                 "the utilization row's +/-25 %, about the throughput model's error under load "
                 f"({UNDER_LOAD_ERROR}: benchmarks/RESULTS.md, section 3, in xlnapkin's "
                 "repository), and the years kept (2 and 5 around 3, the holding periods GPU "
                 "buyers weigh).",
                 chars_per_line=150)
    st.header_row(ws, 4, 2, ["input", "low", "high", "in use", "multiplies"], height=18)
    for i, (key, label, low, high, what) in enumerate(SCENARIO_ROWS):
        r = 5 + i
        st.put_text(ws.cell(r, 2), label)
        for j, v in ((3, low), (4, high)):
            c = st.style_cell(ws.cell(r, j, v), "num", st.INPUT_FONT)
            c.fill, c.protection = st.INPUT_FILL, st.UNLOCKED
        # the larger or smaller factor, whichever column a user typed it in
        up, down = f"MAX(C{r},D{r})", f"MIN(C{r},D{r})"
        best, worst = (up, down) if key in HIGH_FAVOURS_SELF_HOST else (down, up)
        if key in AS_TYPED_ROWS:
            best = worst = "1"
        c = ws.cell(r, 5, f'=IF(scenario="low",C{r},IF(scenario="high",D{r},IF(scenario="best",'
                          f'{best},IF(scenario="worst",{worst},1))))')
        st.style_cell(c, "num")
        st.define(wb, f"scen_{key}", ws.title, st.absolute(5, r))
        st.put_text(ws.cell(r, 6), what, st.NOTE_FONT)  # spills over the empty cells right
    last = 4 + len(SCENARIO_ROWS)
    st.define(wb, "sens_low", ws.title, st.column_range(3, 5, last))
    st.define(wb, "sens_high", ws.title, st.column_range(4, 5, last))
    end = _tornado_table(wb, ws, last + 2)
    st.finish_sheet(ws, {"A": 2, "B": 18, "C": 7, "D": 10, "E": 9.5, "F": 9.5, "G": 8.5,
                         "H": 10, "I": 8.5, "J": 8.5, "K": 10, "L": 9.5, "M": 11.5},
                    f"A1:M{end}")


def _tornado_table(wb, ws, row0) -> int:
    ws.row_breaks.append(Break(id=row0 - 1))  # a page of its own: 23 rows
    st.put_text(ws.cell(row0, 2), "Tornado: each input at its low and high factor, the others "
                "at the base case", st.HEAD_FONT)
    heads = ["input", "side", "tokens/day", "$/GPU-h", "API $/Mtok", "planned util.",
             "people $/month", "min replicas", "replicas", "self-host $/month",
             "$/Mtok at volume", "breakeven tokens/day"]
    st.header_row(ws, row0 + 1, 2, heads, height=30)
    cases = [("base case", "base", None, 1.0)]
    for i, (key, label, _lo, _hi, _w) in enumerate(SCENARIO_ROWS):
        cases += [(label, "low", key, f"$C${5 + i}"), (label, "high", key, f"$D${5 + i}")]
    first = row0 + 2
    for k, (label, side, key, factor) in enumerate(cases):
        r = first + k
        st.put_text(ws.cell(r, 2), label)
        st.put_text(ws.cell(r, 3), side)
        for j, (formula, fmt) in enumerate(_tornado_row(r, key, factor), start=4):
            st.style_cell(ws.cell(r, j, "=" + _GATE_NA.format(formula)), fmt)
    last = first + len(cases) - 1
    for j, name in enumerate(["tpd", "price", "api", "util", "staff", "minrep", "replicas",
                              "monthly", "cost_at_volume", "breakeven"], start=4):
        st.define(wb, f"sens_{name}", ws.title, st.column_range(j, first, last))
    return _tornado_charts(wb, ws, last + 2, first)


def _base_case_note(first: int) -> str:
    """The tornado's base case in words, from its first row, and which scenario the cover shows
    (a finance audit: under the worst scenario the tornado's base case "at your volume" sat
    beside a cover in the worst one's figures)."""
    return ('=IF(all_ok,"Base case: "&' + per_mtok(f"$L${first}") + '&" per Mtok at your '
            f'volume; breakeven "&IF(ISNUMBER($M${first}),TEXT($M${first}/1E+6,"#,##0.0")&'
            '" M tokens/day","never")&IF(scenario="base",".","; the cover and Breakeven sheet '
            'show the "&scenario&" scenario."),"check inputs")')


def _tornado_row(r, key, factor):
    """Driver and result formulas of one tornado row (cells D..M of row r)."""
    def f(name):
        return f"*{factor}" if key == name else ""
    rent = ("((1-spot_share_used)*gpu_price_per_hour_effective+spot_share_used*"
            f"gpu_price_per_hour_effective*spot_price_ratio_used){f('gpu_price_per_hour')}")
    # owning's inputs as typed (the base case; only read when owning, when their checks hold)
    price = f"purchase_price_effective*(1+server_share_used){f('purchase_price')}"
    own = own_hourly(price, f"price_per_kwh{f('price_per_kwh')}",
                     f"MIN(1,cost_of_capital{f('cost_of_capital')})",
                     years_kept(factor if key == "years" else "1"),
                     resale_share(factor if key == "residual_share" else "1",
                                  factor if key == "years" else "1"),
                     # maintenance moves with the price the row sets
                     hosting=hosting("power_watts_used", "colo_usd_per_kw_month_used",
                                     "maintenance_share_used", f"({price})"))
    api = ("(input_share_used*((1-prefix_savings)*api_price_in_per_mtok_effective+"
           "prefix_savings*IF(ISNUMBER(api_price_cached_per_mtok),api_price_cached_per_mtok,"
           "api_price_in_per_mtok_effective))+(1-input_share_used)*"
           f"api_price_out_per_mtok_effective){f('api_price')}")
    drivers = [(f"tokens_per_day{f('tokens_per_day')}", "mtok"),
               (f'IF(hardware_used="own",{own},{rent})', "usd4"),
               (api, "usd4"),
               (f"MIN(1,utilization{f('utilization')})", "pct"),
               (f"staff_cost_per_month{f('staff_cost_per_month')}", "usd0"),
               (f"MAX(1,ROUNDUP(min_replicas{f('min_replicas')}*(1-1E-12),0))", "int")]
    d = {n: "$" + L(4 + i) + f"{r}" for i, n in enumerate(["tpd", "price", "api", "util",
                                                              "staff", "minrep"])}
    cap, reps = _fleet_size(d["tpd"], d["util"], d["minrep"])
    rep = f"(num_gpus_used*{d['price']}*hours_run)"
    monthly = f"$J{r}*{rep}+{d['staff']}"
    return drivers + [
        (reps, "int"), (monthly, "usd0"),
        (f'IF({d["tpd"]}>0,$K{r}/({d["tpd"]}*days_per_month)*1E+6,"no volume")', "usd4"),
        (breakeven_formula(d["api"], cap, rep, d["minrep"], d["staff"]), "mtok")]


# The breakeven chart's log axis, in multiples of your volume: from FLOOR to CEILING, a
# breakeven past the ceiling (or never) drawn at it, "off the scale" (a CFO audit: bars drawn
# from the base case's breakeven gave full width to factors that break even only at 5,600 times
# the volume, as if they flipped the answer)
FLOOR, CEILING = 0.01, 1000.0


def _tornado_charts(wb, ws, row0, first) -> int:
    """Chart data (input label, $/Mtok change low/high, breakeven low/high in M tokens/day and
    over the volume each prices; 0, shown as 'never', where there is none), the breakeven
    chart's own columns beside the page, and the two tornado charts."""
    ws.row_breaks.append(Break(id=row0 - 1))  # the chart data and charts: a page of their own
    st.put_text(ws.cell(row0, 2), "Chart data (each chart puts the input that moves it most on "
                "top)", st.HEAD_FONT)
    st.header_row(ws, row0 + 1, 2, ["input", "", "$/Mtok change: low", "high",
                                    "breakeven M/day: low", "high",
                                    "breakeven / volume: low", "high"], height=42)
    base_c = f"$L${first}"
    for i, (_key, label, *_r) in enumerate(SCENARIO_ROWS):
        r, lo, hi = row0 + 2 + i, first + 1 + 2 * i, first + 2 + 2 * i
        st.put_text(ws.cell(r, 2), label)
        cells = [(f"IF(AND(ISNUMBER($L${lo}),ISNUMBER({base_c})),$L${lo}-{base_c},0)",
                  "usd_change"),
                 (f"IF(AND(ISNUMBER($L${hi}),ISNUMBER({base_c})),$L${hi}-{base_c},0)",
                  "usd_change"),
                 (f"IF(ISNUMBER($M${lo}),$M${lo}/1E+6,0)", "int"),
                 (f"IF(ISNUMBER($M${hi}),$M${hi}/1E+6,0)", "int")]
        # The chart's bars: each side's breakeven over the volume it prices (the row's own
        # tokens per day), from 1 on a log axis: left, self-hosting pays at that volume; right,
        # the API stays cheaper; 0 where the side is 'never'
        cells += [(f'IF(ISNUMBER($M${side}),IF($D${side}>0,$M${side}/$D${side},"no volume"),0)',
                   "num") for side in (lo, hi)]
        for j, (formula, fmt) in enumerate(cells, start=4):
            cell = ws.cell(r, j, "=" + _GATE_NA.format(formula))
            st.style_cell(cell, fmt)
            if j >= 6:  # 0 is 'never'
                cell.number_format = ('#,##0;-#,##0;"never"' if j < 8 else
                                      '[>=100]#,##0;[>0]0.00;"never"')

    last = row0 + 1 + len(SCENARIO_ROWS)
    # What the breakeven chart draws, beside the printed page: the ratio within the axis, a
    # 'never' at the ceiling ("off the scale"), no bar (1) with no volume or where the factor
    # leaves the base case as it is (a review: an owner's factor, while renting, drew a bar as
    # long as the real levers). A 0 would draw a bar to the log axis's floor, #N/A an error.
    st.header_row(ws, row0 + 1, CHART_COL, ["chart: low", "high"])  # the row's height: above
    base = f"IF(AND(ISNUMBER($M${first}),$D${first}>0),$M${first}/$D${first},0)"
    for i in range(len(SCENARIO_ROWS)):
        r = row0 + 2 + i
        for j in (0, 1):
            ratio = f"{L(8 + j)}{r}"
            st.style_cell(ws.cell(r, CHART_COL + j,
                                  f"=IF(ISNUMBER({ratio}),IF(ABS({ratio}-{base})<=1E-9*{ratio},"
                                  f"1,IF({ratio}>0,MIN({CEILING:g},MAX({FLOOR:g},{ratio})),"
                                  f"{CEILING:g})),1)"), "num")
    for j, name in enumerate(["tornado_cost_low", "tornado_cost_high", "tornado_breakeven_low",
                              "tornado_breakeven_high", "tornado_ratio_low",
                              "tornado_ratio_high"], start=4):
        st.define(wb, name, ws.title, st.column_range(j, row0 + 2, last))
    for j, name in enumerate(["tornado_chart_low", "tornado_chart_high"], start=CHART_COL):
        st.define(wb, name, ws.title, st.column_range(j, row0 + 2, last))
    sorted_cols = _sorted_bars(wb, ws, row0, last, base)
    ws.cell(last + 1, 2, _base_case_note(first)).font = st.NOTE_FONT
    st.put_text(ws.cell(last + 2, 2), "Breakeven chart: bars from your volume (1): left, "
                "self-hosting pays with that factor; right, the API stays cheaper; none: no "
                f"change; {CEILING:,.0f}: that or more, or never.", st.NOTE_FONT)
    for k, (title, axis, col, fmt) in enumerate((
            ("Change in $/Mtok at your volume", "change from the base case, USD per Mtok",
             sorted_cols[0], "$0.00"),
            ("Breakeven vs your volume", "breakeven / your volume, log scale (left of 1: "
             "self-hosting pays)", sorted_cols[1], "0.0#"))):
        cats = Reference(ws, min_col=col - 1, min_row=row0 + 2, max_row=last)
        ch = st.bar_chart(title, "input", axis, cats,
                          [("low factor", Reference(ws, min_col=col, min_row=row0 + 2,
                                                    max_row=last)),
                           ("high factor", Reference(ws, min_col=col + 1, min_row=row0 + 2,
                                                     max_row=last))], width=12.5, height=11)
        ch.y_axis.number_format = fmt
        if k == 1:
            ch.y_axis.scaling.logBase = 10
            ch.y_axis.scaling.min, ch.y_axis.scaling.max = FLOOR, CEILING
            ch.x_axis.crossesAt = 1  # the bars start at your volume: ratio 1
            # side by side: a row's two bars mostly fall on the same side of 1 here, and one
            # drawn over the other hid it (a review)
            ch.overlap, ch.gapWidth = 0, 60
        ws.add_chart(ch, f"{L(2 + 5 * k)}{last + 3}")
    return last + 26


def _sorted_bars(wb, ws, row0, last, base) -> tuple[int, int]:
    """Each chart's rows sorted by how far their factors move it from the base case, beside the
    page (a tornado puts the input that moves the answer most on top; inputs that change
    nothing, such as an owner's inputs while renting, sink to the bottom, in the Sensitivity
    sheet's order): for the cost chart, the larger change in $/Mtok; for the breakeven chart,
    the larger factor between a side's bar and the base case's on the log axis (a review: bars
    measured from 1 ranked a factor that moved the breakeven 3 times below one that moved it 5
    %). Per chart: the swing, its rank (ties in the sheet's order), and the label, low and high
    bars in rank order. Returns the columns of each chart's low bars (the label is the column
    before)."""
    first, labels = row0 + 2, st.column_range(2, row0 + 2, last)
    # the base case's bar as the sides' are drawn: within the axis, 'never' at its ceiling
    st.put_text(ws.cell(row0, CHART_COL + 2), "base bar")
    st.style_cell(ws.cell(row0, CHART_COL + 3, f"=IF(all_ok,IF({base}>0,MIN({CEILING:g},MAX("
                                               f"{FLOOR:g},{base})),{CEILING:g}),1)"), "num")
    base_bar = f"${L(CHART_COL + 3)}${row0}"
    # -1 where the side prices no volume or leaves the base case's ratio as it is (as the bar's
    # own test: a ratio moved to exactly 1 draws 1 too), so that inputs that change nothing
    # sink below those that move a bar clipped at the axis's end (a CFO audit: with the owner's
    # base case past the ceiling, every swing was 0 and the rental price ranked second)
    side = ("IF(NOT(ISNUMBER(${q}{{r}})),-1,IF(ABS(${q}{{r}}-{base})<=1E-9*${q}{{r}},-1,"
            "ABS(LN(${c}{{r}}/" + base_bar + "))))")
    bars = [side.format(q=L(8 + j), c=L(CHART_COL + j), base=base) for j in (0, 1)]
    swings = (("cost", "MAX(ABS($D{r}),ABS($E{r}))", CHART_COL + 2, (4, 5)),
              ("breakeven", f"MAX({bars[0]},{bars[1]})", CHART_COL + 3,
               (CHART_COL, CHART_COL + 1)))
    out = []
    for k, (name, swing, col, (lo, hi)) in enumerate(swings):
        rank_col = CHART_COL + 4 + k
        s = L(col)
        st.header_row(ws, row0 + 1, col, [f"{name} swing"])
        st.header_row(ws, row0 + 1, rank_col, [f"{name} rank"])
        for r in range(first, last + 1):
            # while a check fails, no swing: the rows stay in the sheet's order
            st.style_cell(ws.cell(r, col, f"=IF(all_ok,{swing.format(r=r)},0)"), "num")
            # one kind of comparison for both terms (COUNTIF's equality may differ from '>')
            st.style_cell(ws.cell(r, rank_col, f"=SUMPRODUCT((${s}${first}:${s}${last}>{s}{r})"
                                                f"*1)+SUMPRODUCT((${s}${first}:{s}{r}={s}{r})*1)"),
                          "int")
        ranks = st.column_range(rank_col, first, last)
        label_col = CHART_COL + 6 + 3 * k
        st.header_row(ws, row0 + 1, label_col, [f"{name} chart: input", "low", "high"])
        for i, r in enumerate(range(first, last + 1), start=1):
            at = f"MATCH({i},{ranks},0)"
            st.style_cell(ws.cell(r, label_col, f"=INDEX({labels},{at})"), "text")
            for j, src in enumerate((lo, hi), start=1):
                st.style_cell(ws.cell(r, label_col + j,
                                      f"=INDEX({st.column_range(src, first, last)},{at})"),
                              "usd_change" if k == 0 else "num")
        for j, part in enumerate(("label", "low", "high")):
            st.define(wb, f"tornado_sorted_{name}_{part}", ws.title,
                      st.column_range(label_col + j, first, last))
        out.append(label_col + 1)
    return out[0], out[1]


# --- Years ---------------------------------------------------------------------------------------

def add_years(wb, ws) -> None:
    st.put_text(ws["B1"], "Own vs rent over the years, per GPU", st.TITLE_FONT)
    st.paragraph(ws, 2, 2, 10, "One GPU over the years it is kept. Renting pays the "
                 "rental price (the spot mix of the Breakeven sheet) for the GPU-hours that "
                 f"GPU serves, always on ({HOURS_PER_MONTH:g} a month; rented GPUs that run "
                 "fewer hours carry "
                 "the day's volume on more GPUs: the Breakeven sheet's fleet NPV counts each "
                 "fleet as sized), falling each year by the price decline. "
                 "Owning pays the purchase now, power and hosting each year, and gets the "
                 "resale value back at the end. " + YEAR_END_LEAN
                 + " Rows after the years kept repeat the totals. The scenarios, set "
                 "against the API, scale the rental, the purchase, electricity and the resale "
                 "here too ('low' and 'high' the cost of capital and the years as well): "
                 "'worst' makes renting dearer as well as buying, which can favour owning; "
                 "'low' keeps GPUs fewer years at a lower rent, which can favour renting.",
                 chars_per_line=150)
    b = st.Block(wb, ws, row=3, col=2)
    b.heading("Net present value per GPU over the years kept")
    b.add("running_cost_per_year", "Running an owned GPU per year (energy + hosting)",
          "IF({own_years_ok},{power_watts_used}/1000*{pue_used}*{price_per_kwh_used}*"
          f"{HOURS_PER_YEAR:g}+"
          '{hosting_per_month}*12,' + _SIDE_MISSING + ')', "USD/year",
          "= OWN_RUNNING_COST_PER_YEAR",
          "usd0")
    b.add("rent_npv_calc", "Renting, NPV", 'IF({rent_years_ok},INDEX(yr_cum_rent,'
          '{years_used}+1),' + _SIDE_MISSING + ')', "USD", "= RENT_NPV", "usd0")
    b.add("own_npv_calc", "Owning, NPV", 'IF({own_years_ok},INDEX(yr_cum_own,'
          '{years_used}+1),' + _SIDE_MISSING + ')', "USD", "= OWN_NPV", "usd0")
    top = b.row + 1
    heads = ["", "year", "rent cost", "own cash out", "discount factor", "PV rent", "PV own",
             "cumulative PV rent", "cumulative PV own", "chart year"]
    st.header_row(ws, top, 2, heads, height=30)
    first = top + 1
    for y in range(YEAR_ROWS + 1):
        r = first + y
        st.put_text(ws.cell(r, 2), "now (year 0)" if y == 0 else f"end of year {y}")
        ws.cell(r, 3, y).font = st.TEXT_FONT
        for j, (formula, fmt) in enumerate(_year_row(y, r), start=4):
            st.style_cell(ws.cell(r, j, "=" + formula), fmt)
    last = first + YEAR_ROWS
    for j, name in enumerate(["year", "rent_cost", "own_cash", "discount", "pv_rent", "pv_own",
                              "cum_rent", "cum_own", "chart_year"], start=3):
        st.define(wb, f"yr_{name}", ws.title, st.column_range(j, first, last))
    # The chart's x is the year up to the years kept, then that last year again: the lines end
    # there and the data span only the years kept (no error cells, nothing hidden; a chart
    # holds no formula for its axis's end, so the automatic one may add a year).
    ch = st.scatter_chart("Cumulative present cost per GPU: own vs rent", "year",
                          "USD (present value)", Reference(ws, min_col=11, min_row=first,
                                                           max_row=last),
                          [("rent", Reference(ws, min_col=9, min_row=first, max_row=last)),
                           ("own", Reference(ws, min_col=10, min_row=first, max_row=last))],
                          width=18, height=5.4)
    ch.legend.position = "r"  # beside the lines: the chart and its legend end on one page
    ch.y_axis.number_format = "$#,##0"
    ch.x_axis.scaling.min = 0
    ch.x_axis.majorUnit = 1
    ws.add_chart(ch, f"B{last + 2}")
    st.finish_sheet(ws, {"A": 2, "B": 40, "C": 8, "D": 10, "E": 11, "F": 9, "G": 10, "H": 10,
                         "I": 11, "J": 11, "K": 7}, f"A1:J{last + 16}")  # K: on screen only


def _year_row(y, r):
    """Formulas of year y (row r): rent cost, own cash, discount factor, PVs, cumulative PVs,
    the chart's year. Years after the holding period are blank, the cumulative totals repeat
    and the chart's year stays at the last year kept (so its lines end there)."""
    # each side where its own inputs are there (the NPV against the API needs one side only)
    n, gate, rent_gate, own_gate = ("years_used", "IF(own_used_ok,{},NA())",
                                    "IF(rent_years_ok,{},NA())", "IF(own_years_ok,{},NA())")
    held = f"{y}<={n}"
    rent = ("0" if y == 0 else
            f'IF({held},rent_price*(1-price_decline_used)^({y}-1)*{HOURS_PER_YEAR:g},"")')
    own = ("purchase_price_used" if y == 0 else
           f'IF({held},running_cost_per_year-IF({y}={n},purchase_price_used*'
           'residual_share_used,0),"")')
    df = f'IF({held},1/(1+cost_of_capital_used)^{y},"")'
    pv_r, pv_o = f'IF({held},$D{r}*$F{r},"")', f'IF({held},$E{r}*$F{r},"")'
    cum_r = f"$G{r}" if y == 0 else f"$I{r - 1}+N($G{r})"
    cum_o = f"$H{r}" if y == 0 else f"$J{r - 1}+N($H{r})"
    return [(rent_gate.format(rent), "usd0"), (own_gate.format(own), "usd0"),
            (gate.format(df), "num3"), (rent_gate.format(pv_r), "usd0"),
            (own_gate.format(pv_o), "usd0"), (rent_gate.format(cum_r), "usd0"),
            (own_gate.format(cum_o), "usd0"), (gate.format(f"MIN({y},{n})"), "int")]


# --- Volume --------------------------------------------------------------------------------------

def add_volume(wb, ws) -> None:
    st.put_text(ws["B1"], "Monthly cost as the volume grows, and every catalog API",
                st.TITLE_FONT)
    st.paragraph(ws, 2, 2, 6, "Cells show #N/A only while a check fails, or the volume range "
                 "on Inputs is not 0 < smallest < largest (the chart then stays empty). Where "
                 "the Breakeven sheet says the breakeven is never, at planned utilization a "
                 "replica costs at least the API price of its tokens, so the API stays cheaper "
                 "at every volume here.", chars_per_line=80)
    st.header_row(ws, 4, 2, ["tokens/day", "replicas", "self-host $/month", "API $/month",
                             "cheaper"], height=30)
    first = 5
    for k in range(VOLUME_ROWS):
        r = first + k
        v = f"$B{r}"
        _cap, reps = _fleet_size(v, "utilization_used", "min_replicas_used")
        cells = [(f"volume_min*(volume_max/volume_min)^({k}/{VOLUME_ROWS - 1})", "int"),
                 (reps, "int"), (f"$C{r}*replica_monthly_cost+staff_cost_per_month_used", "usd0"),
                 (f"{v}*days_per_month*api_blended_calc/1E+6", "usd_small")]
        for j, (formula, fmt) in enumerate(cells, start=2):
            st.style_cell(ws.cell(r, j, "=" + _VOLUME_NA.format(formula)), fmt)
        ws.cell(r, 6, f'=IF(all_ok,IF(check_volume_range="OK",IF($D{r}<$E{r},"self-host",'
                f'"API"),check_volume_range),"check inputs")').font = \
            st.FORMULA_FONT
    last = first + VOLUME_ROWS - 1
    for j, name in enumerate(["volume_tokens_per_day", "volume_replicas",
                              "volume_self_host_cost", "volume_api_cost"], start=2):
        st.define(wb, name, ws.title, st.column_range(j, first, last))
    ch = st.scatter_chart("Monthly cost vs daily volume (log scales)",
                          "tokens per day (input + output)", "USD per month",
                          Reference(ws, min_col=2, min_row=first, max_row=last),
                          [("self-hosted (whole replicas + people)",
                            Reference(ws, min_col=4, min_row=first, max_row=last)),
                           ("API", Reference(ws, min_col=5, min_row=first, max_row=last))],
                          log_x=True, log_y=True, width=11, height=11)
    ch.x_axis.number_format = "#,##0"
    ch.y_axis.number_format = st.FMT["usd_small"]
    ws.add_chart(ch, "G4")
    # The API list starts a page and its header tops the next one (a user audit: the list
    # went on over two pages without it, the second a sliver): printers repeat title rows on
    # the pages after them.
    ws.row_breaks.append(Break(id=last + 2))
    end = _price_list(wb, ws, last + 3)
    st.finish_sheet(ws, {"A": 2, "B": 24, "C": 10, "D": 12, "E": 12, "F": 12, "G": 21,
                         "H": 11, "I": 2, "J": 12, "K": 6}, f"A1:K{end}",
                    title_rows=f"{last + 5}:{last + 5}")


def _price_list(wb, ws, row0) -> int:
    from .. import catalog
    st.put_text(ws.cell(row0, 2), "Every catalog API at the volume priced, input share and "
                "prefix caching", st.HEAD_FONT)
    # the blended price at the scenario's API factor, as the headline's (a sensitivity audit:
    # in 'best' the compared API was $95,052 a month here and $142,578 on the Breakeven sheet)
    st.paragraph(ws, row0 + 1, 2, 8, "In and out: the prices as listed; blended, the month and "
                 "the breakeven at the scenario's API factor, as on the Breakeven sheet, and the "
                 "volume and self-hosting as in the scenario chosen. 'serves': your model, or the "
                 "model an API hosts instead, whose breakeven then compares two different models.",
                 chars_per_line=120)
    row0 += 1
    st.header_row(ws, row0 + 1, 2, ["API (catalog id)", "in $/Mtok", "out $/Mtok",
                                    "blended $/Mtok", "API $/month", "serves",
                                    "breakeven tokens/day"], height=30)
    first = row0 + 2
    n = len(catalog.price_ids())
    for k in range(n):
        r = first + k
        cat = {name: catalog_cell(wb, f"price_{name}", k) for name in (
            "ids", "input_usd_per_mtok", "output_usd_per_mtok", "cached_input_usd_per_mtok",
            "model_id", "model")}
        cached = cat["cached_input_usd_per_mtok"]
        blended = (f"(input_share_used*((1-prefix_savings)*$C{r}+prefix_savings*IF(N({cached})>0,"
                   f"{cached},$C{r}))+(1-input_share_used)*$D{r})*scen_api_price")
        cells = [(cat["ids"], "text"), (f"N({cat['input_usd_per_mtok']})", "usd4"),
                 (f"N({cat['output_usd_per_mtok']})", "usd4"),
                 (f'IF(inputs_ok,{blended},"check inputs")', "usd4"),
                 (f'IF(inputs_ok,tokens_per_day_used*days_per_month*$E{r}/1E+6,"check inputs")',
                  "usd_small"),
                 # a model the catalog lacks, by its name before any bracketed note
                 (f'IF({cat["model_id"]}=model_used,"your model",IF({cat["model_id"]}="",'
                  f'IF({cat["model"]}="","another model",IFERROR(LEFT({cat["model"]},FIND(" (",'
                  f'{cat["model"]})-1),{cat["model"]})),{cat["model_id"]}))', "text"),
                 (f'IF(all_ok,{breakeven_formula(f"$E{r}")},"check inputs")', "mtok")]
        for j, (formula, fmt) in enumerate(cells, start=2):
            st.style_cell(ws.cell(r, j, "=" + formula), fmt)
    last = first + n - 1
    for j, name in enumerate(["api_list_ids", "api_list_in", "api_list_out", "api_list_blended",
                              "api_list_monthly", "api_list_serves", "api_list_breakeven"],
                             start=2):
        st.define(wb, name, ws.title, st.column_range(j, first, last))
    return last
