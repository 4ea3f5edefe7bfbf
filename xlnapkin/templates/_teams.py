"""The multi-tenant workbook's Teams sheet: teams of different sizes, each with its own
deployments or all in one pool.

The Pooling sheet takes N copies of one tenant. Real teams differ: one may need several
deployments while others use a sliver of one, and averaging them moves the answer either way.
Here each team has its own tokens a day (and cv); the formulas mirror
:func:`xlnapkin.economics.team_loads`, :func:`~xlnapkin.economics.teams_dedicated_gpus`,
:func:`~xlnapkin.economics.teams_pooled_capacity` and
:func:`~xlnapkin.economics.teams_pooled_gpus`. The percentile, the correlation, the default cv,
the GPU price and the hours are the Pooling sheet's.
"""

from __future__ import annotations

from openpyxl.utils import get_column_letter as L
from openpyxl.worksheet.pagebreak import Break

from .. import capacity
from ..economics import HOURS_PER_MONTH, NORMAL_CV_MAX, PLANNED_UTILIZATION, TENANT_CV
from . import _blocks as bk, _style as st

_DAYS = f"{HOURS_PER_MONTH / 24:.1f}"  # a month's calendar days, as the tokens a day count them
TEAM_ROWS = 20  # 12 until 2026-12-06: a platform lead's 20 teams did not fit; 20 print on a page
# The worked example: Llama-3.3-70B in fp8 on two H100s, three teams of different sizes.
EXAMPLE = ("h100-sxm", "llama-3.3-70b", "fp8", 2)
# Steady, round-the-clock traffic, so the Pooling sheet's cv of 0.25 fits each (a review: a
# nightly batch team inherited it, where the sheet itself puts batch jobs above 1).
EXAMPLE_TEAMS = [("Support chat", 800e6), ("Search answers", 150e6), ("Email triage", 30e6)]
# Whether the Teams sheet's first rows still hold the example's volumes, whatever follows (a
# formula): the cover says so (a finance review: the example's saving read as the user's own;
# a review: a team added below it hid that)
IS_EXAMPLE = ("AND(" + ",".join(f"INDEX(teams_tokens_per_day,{i + 1})={tokens:.0f}"
                                for i, (_name, tokens) in enumerate(EXAMPLE_TEAMS)) + ")")
# (name, label, unit, note, fmt) of the totals; each is the engine function in its note
TOTALS = [
    ("teams_dedicated_gpus", "Dedicated GPUs (each team its own, spares too)", "GPUs",
     "= economics.teams_dedicated_gpus", "int"),
    ("teams_pooled_capacity", "Pooled percentile load, before whole deployments", "GPUs",
     "= economics.teams_pooled_capacity", "num3"),
    ("teams_pooled_gpus", "Pooled GPUs (one shared pool, spares too)", "GPUs",
     "= economics.teams_pooled_gpus", "int"),
    ("teams_savings_fraction", "Saving from pooling", "share",
     "1 - pooled / dedicated GPUs", "pct"),
    ("teams_savings_from_peaks", "  from peaks that do not coincide", "share",
     "(dedicated - pooled load) / dedicated GPUs", "pct"),
    ("teams_savings_from_rounding", "  from whole deployments and spares (net)", "share",
     "the rest: whole deployments (small teams renting one each) and spares", "pct"),
    # the service each side gives, spares aside (a platform lead's audit: the pool was short
    # 1.9 % of the time at the defaults, the teams on their own 0.08 % at worst, and only the
    # identical tenants said so)
    ("teams_pooled_coverage", "Time the pool covers the load", "share",
     "= economics.teams_pooled_coverage: else every team is short", "pct3"),
    ("teams_dedicated_coverage", "Time the worst-served team's own cover it", "share",
     "= economics.teams_dedicated_coverage", "pct3"),
    # every team is short when the pool is (a CFO's read: the pool beat the worst-served team,
    # and nothing said two others were short more often pooled than alone)
    ("teams_served_worse", "Teams short more often in the pool than alone", "teams",
     "= economics.teams_served_worse", "int"),
    # the saving like for like: a pool short no more often than that team (a statistician's
    # check: 10 GPUs, not 8, so 16.7 % saved where the percentile's pool says 33.3 %)
    ("teams_pooled_gpus_same_service", "Pooled GPUs at the worst team's own service", "GPUs",
     "= economics.teams_pooled_gpus_same_service", "int"),
    ("teams_savings_same_service", "Saving at that service level", "share",
     "1 - those / dedicated GPUs", "pct"),
    # (a review: the cover said every other team still was, and 3 times in 10 none was)
    ("teams_served_worse_same_service", "  teams still short more often there than alone",
     "teams", "= economics.teams_served_worse_same_service", "int"),
    ("teams_dedicated_monthly_cost", "Dedicated monthly cost (GPUs)", "USD/month",
     "GPUs x price x hours (Pooling sheet)", "usd0"),
    ("teams_pooled_monthly_cost", "Pooled monthly cost (GPUs)", "USD/month", "", "usd0"),
    ("teams_monthly_saving", "Pooling saves per month", "USD/month", "", "usd0"),
    ("teams_net_monthly_saving", "  net of the pool's own cost", "USD/month",
     "less the pool's own cost (Pooling sheet)", "usd0"),
    ("teams_like_for_like_monthly_saving", "Pooling saves per month at the worst team's service",
     "USD/month", "dedicated cost x the saving at that service level", "usd0"),
    ("teams_net_like_for_like_monthly_saving", "  net of the pool's own cost", "USD/month",
     "less the pool's own cost (Pooling sheet)", "usd0"),
    ("teams_pooled_cost_per_mtok", "Pooled USD per million tokens (GPUs only)", "USD/Mtok",
     "= COST_PER_MTOK_AT_VOLUME: no people", "usd4"),
]


# The GPU the sheet prices at, as named: its catalog id, or as typed, or "your GPU"
# the deployment inputs' rules, for their checks and their cells' warnings (a review: the
# warnings allowed 0 tokens/s and half a spare)
RULES = {"teams_tokens_per_sec": dict(minimum=0, min_open=True),
         "teams_gpus_per_deployment": dict(minimum=1, whole=True),
         "teams_utilization": dict(minimum=0, maximum=1, min_open=True),
         "teams_team_spares": dict(minimum=0, whole=True),
         "teams_pool_spares": dict(minimum=0, whole=True)}
_GPU_NAMED = 'IF({gpu_id}="",IF(TRIM({gpu})="","your GPU",TRIM({gpu})),{gpu_id})'


# What checks bursty uneven teams: no simulation here takes teams of different sizes (a review:
# the Teams sheet pointed to pooling_monte_carlo, which takes identical tenants only)
TEAMS_CHECK = "check your traffic"  # short enough for the page (a review: cut at its edge)


def normal_fair(cv: str, check: str = "pooling_monte_carlo") -> str:
    """Whether the normal model is fair at the cv ``cv`` (a formula): "yes", or why not and
    what to check it with: ``check`` (economics.pooling_monte_carlo, in Python, for identical
    tenants). The Pooling sheet's line and the Teams sheet's, short enough for their page.
    Bursty peaks can be higher or lower than the normal model's (a review: a lognormal load of
    cv 2 peaks at 3.6 times its mean at the 95th percentile, the normal model 4.3, and at 8.6
    at the 99th, the normal model 5.7)."""
    return (f'IF({cv}<={NORMAL_CV_MAX},"yes","no: cv "&TEXT({cv},"0.00")&" is bursty: the '
            f'normal model\'s peaks can be off either way ({check})")')


def example_tokens_per_sec() -> float:
    """The default tokens/s of one deployment: REPLICA_TOKENS_PER_SEC of :data:`EXAMPLE`."""
    gpu, model, dtype, n = EXAMPLE
    return round(capacity.replica_tokens_per_sec(gpu, model, 1024, 1024, dtype, None, n), 1)


def add_teams(wb, ws) -> None:
    st.put_text(ws["B1"], "Teams of different sizes: their own deployments or one pool",
                st.TITLE_FONT)
    st.paragraph(ws, 2, 2, 10, "Each team's tokens a day (input + output, averaged over a "
                 f"month's calendar days: a month's tokens / {_DAYS}, also where the deployments "
                 f"run fewer hours, or / the hours paid / 24 past {HOURS_PER_MONTH:g}) become its "
                 "average "
                 "load in deployments: tokens a day / (3,600 x the hours a day the deployments "
                 f"run, from the Pooling sheet's hours a month ({HOURS_PER_MONTH:g} or more: 24) x "
                 "the tokens/s "
                 "one deployment serves x the share of it you plan to use). A team may need "
                 "several "
                 "deployments. Dedicated: each team covers its own percentile in whole "
                 "deployments; pooled: the percentile of the summed load, the teams' loads "
                 "correlated as on the Pooling sheet, whose percentile, correlation, cv (where a "
                 "team's is blank), GPU price and hours this sheet uses. The tokens/s is for one "
                 "request shape: a team whose prompts or answers run much longer loads a "
                 "deployment more than its tokens say. cv is the standard deviation of a team's "
                 "load over the hours the capacity must cover, divided by its mean: about "
                 f"{TENANT_CV} "
                 "for steady round-the-clock traffic, 0.6-1 for business-hours traffic, more for "
                 f"batch jobs (the normal model is fair up to about {NORMAL_CV_MAX}). Every team "
                 "shares one "
                 "model. GPU rent only, less the pool's own cost where the Pooling sheet has one "
                 "typed.", chars_per_line=240)
    t = st.Block(wb, ws, row=3)  # (a row up: the answers fill the page to its foot)
    t.heading("The answer", "while a check fails: 'check inputs'")
    for name, label, unit, note, fmt in TOTALS:
        gate = "teams_costs_ok" if fmt.startswith("usd") else "teams_ok"  # dollars: a price
        t.add(name, label, f'IF({{{gate}}},{_formula(name)},"check inputs")', unit, note, fmt,
              "output")
    t.add("teams_priced_at", "Priced at (Pooling sheet: GPU, price, hours)",
          'IF({teams_costs_ok},' + _GPU_NAMED + '&": $"&TEXT('
          '{gpu_price_per_hour_effective},"#,##0.00")&"/GPU-h x "&'
          'TEXT({hours_per_month},"0")&" h a month","check inputs")', "", "", "text", "output")
    # the example's tokens/s at another GPU's price (an audit: B200 prices on H100 counts)
    gpu0, model0, dtype0, n0 = EXAMPLE
    t.add("teams_tokens_check", "Tokens/s for the GPU priced?",
          f'IF({{teams_ok}},IF({{teams_tokens_per_sec}}={example_tokens_per_sec()!r},IF('
          f'{{gpu_id}}="{gpu0}","the example\'s: {model0} {dtype0} on {n0} x {gpu0}",'
          f'"no: the example\'s for {n0} x {gpu0}: retype it for "&{_GPU_NAMED}),'
          '"yours, as typed"),"check inputs")', "", "", "text",
          "output")
    # the largest cv a team uses, against the model's range (an audit: cv 0.8 warned nowhere)
    t.add("teams_normal_fair", "Normal model fair at the teams' cv?",
          f'IF({{teams_ok}},{normal_fair("MAX(teams_cv_used)", TEAMS_CHECK)},"check inputs")',
          "", "", "text", "output")
    # spares on one side only (an audit: a pool spare alone read as -25 % "from rounding")
    # where both keep them, not "yes" (a CFO's read: one pool spare against five teams')
    t.add("teams_spares_alike", "Spares on each side",
          'IF({teams_ok},IF({teams_pool_spares}>0,IF({teams_team_spares}>0,"both: each team "&'
          '{teams_team_spares}&", the pool "&{teams_pool_spares}&"; failures past the pool\'s '
          'stop every team, past a team\'s only that team","no: only the pool keeps spares, which '
          'understates the saving"),IF({teams_team_spares}>0,"no: only the teams keep spares; '
          'one pool stops every team when it fails","alike (none: neither side is costed for '
          'failures)")),"check inputs")', "", "", "text", "output")
    b = st.Block(wb, ws, row=t.row)
    b.heading("Your deployment", "example: " + " ".join(map(str, EXAMPLE[:3]))
              + f" on {EXAMPLE[3]} GPUs")
    b.add("teams_tokens_per_sec", "Tokens/s one deployment serves at full load",
          example_tokens_per_sec(), "tokens/s", "typed: REPLICA_TOKENS_PER_SEC for the Pooling "
          "GPU; retype for another", "amount", "input", validation=RULES["teams_tokens_per_sec"])
    b.add("teams_gpus_per_deployment", "GPUs of one deployment", EXAMPLE[3], "GPUs",
          "capacity comes in whole deployments", "int", "input",
          validation=RULES["teams_gpus_per_deployment"])
    b.add("teams_utilization", "Planned utilization of a deployment", PLANNED_UTILIZATION, "0-1",
          f"headroom for latency: the breakeven workbook plans {PLANNED_UTILIZATION * 100:.0f} "
          "%", "pct", "input", validation=RULES["teams_utilization"])
    b.add("teams_team_spares", "Spare deployments each team keeps", 0, "deployments",
          "1 = N+1 for every team", "int", "input", validation=RULES["teams_team_spares"])
    b.add("teams_pool_spares", "Spare deployments the pool keeps", 0, "deployments",
          "1 = N+1: a failed pool stops every team", "int", "input",
          validation=RULES["teams_pool_spares"])
    top = b.row + 14  # below the checks and a blank row
    _checks(b, top)
    _table(wb, ws, top)
    # one page wide at the print scale (about 122 wide; a column more in 2026-12: each team's
    # time covered), and C wide enough for ten billion tokens a day
    st.finish_sheet(ws, {"A": 2, "B": 41, "C": 15, "D": 11, "E": 7, "F": 10, "G": 10, "H": 9,
                         "I": 8, "J": 9}, f"A1:J{top + TEAM_ROWS}")


def _checks(b, top) -> None:
    """The sheet's own checks and its gates: ``teams_ok`` (with the Pooling sheet's checks of
    the inputs it reads: percentile, correlation, cv, and the hours, which set a deployment's
    day) and ``teams_costs_ok`` (and the GPU and its price). A bad input it does not read (the
    tenants, say) leaves it alone."""
    tpd, cv = "teams_tokens_per_day", "teams_cv"
    # anything typed in the rows under the table is no team: said, not dropped (a platform
    # lead's 20 teams ran past the 12 rows there were, and the saving read $29K a month low)
    below = f"Teams!$B${top + TEAM_ROWS + 1}:$D${top + TEAM_ROWS + 30}"
    table = (f'IF(COUNTA({tpd})<>COUNT({tpd}),"tokens a day must be numbers (or blank)",'
             f'IF(COUNTIF({tpd},"<0")>0,"tokens a day must be >= 0",IF(COUNTIF({tpd},">0")=0,'
             f'"give at least one team tokens a day > 0",IF(COUNTA({cv})<>COUNT({cv}),'
             f'"cv must be numbers (or blank)",IF(COUNTIF({cv},"<0")>0,"cv must be >= 0",'
             f'IF(COUNTA({below})>0,"only {TEAM_ROWS} teams fit: merge the smallest into one '
             f'row",{bk.CHECK_OK}))))))')
    rows = [("check_teams_tokens_per_sec", "Tokens/s",
             bk.rule_check("teams_tokens_per_sec", "tokens/s", RULES["teams_tokens_per_sec"])),
            ("check_teams_gpus", "GPUs of one deployment",
             bk.rule_check("teams_gpus_per_deployment", "GPUs of one deployment",
                           RULES["teams_gpus_per_deployment"])),
            ("check_teams_utilization", "Planned utilization",
             bk.rule_check("teams_utilization", "utilization", RULES["teams_utilization"])),
            ("check_teams_team_spares", "Spare deployments each team keeps",
             bk.rule_check("teams_team_spares", "spare deployments each team keeps",
                           RULES["teams_team_spares"])),
            ("check_teams_pool_spares", "Spare deployments the pool keeps",
             bk.rule_check("teams_pool_spares", "spare deployments the pool keeps",
                           RULES["teams_pool_spares"])),
            ("check_teams_pooling", "Pooling sheet's percentile, correlation, cv, hours",
             'IF(AND({check_percentile}="OK",{check_correlation}="OK",{check_cv}="OK",'
             '{check_hours}="OK"),'
             f'{bk.CHECK_OK},"fix the percentile, correlation, cv or hours on the Pooling '
             'sheet")'),
            ("check_teams_table", f"Teams table (rows {top + 1}-{top + TEAM_ROWS})", table)]
    b.ws.row_breaks.append(Break(id=b.row))  # the checks and the table print on a second page
    b.heading("Checks", bk.CHECKS_NOTE)
    first = b.row
    for name, label, formula in rows:
        b.add(name, label, formula, fmt="text", kind="check")
    st.mark_checks(b.ws, f"C{first}:C{b.row - 1}")
    b.add("teams_ok", "All these checks OK?",
          "AND(" + ",".join(f'{{{n}}}="OK"' for n in [r[0] for r in rows]) + ")", fmt="bool")
    b.add("teams_costs_ok", "... and its GPU and price (the costs)?",
          'AND({teams_ok},{check_gpu}="OK",{check_gpu_price_per_hour}="OK",'
          '{check_pool_own_cost}="OK")',
          fmt="bool")


def _table(wb, ws, top) -> None:
    heads = ["team", f"tokens/day, in + out (a month's / {_DAYS})", "cv (blank: Pooling's)",
             "cv used", "load (deploy-ments)", "own deploy-ments (+ spares)", "own GPUs",
             "cv x load", "own cover the load"]
    st.header_row(ws, top, 2, heads, height=56)
    first, last = top + 1, top + TEAM_ROWS
    # what a deployment serves in a day: in the hours it runs (Pooling's hours a month)
    per_day = (f"(3600*{bk.hours_a_day('hours_per_month')}*teams_tokens_per_sec"
               "*teams_utilization)")
    for k in range(TEAM_ROWS):
        r = first + k
        name, tpd = EXAMPLE_TEAMS[k] if k < len(EXAMPLE_TEAMS) else (None, None)
        for j, value, fmt in ((2, name, "text"), (3, tpd, "int"), (4, None, "num")):
            cell = ws.cell(r, j, value)
            st.style_cell(cell, fmt, st.INPUT_FONT)
            cell.fill, cell.protection = st.INPUT_FILL, st.UNLOCKED
        rows = [(f'IF(N($C{r})>0,IF(ISNUMBER($D{r}),$D{r},cv),"")', "num"),
                (f'IF(N($C{r})>0,$C{r}/{per_day},"")', "num3"),
                (f'IF(ISNUMBER($F{r}),MAX(1,ROUNDUP($F{r}*(1+NORMSINV(percentile)*$E{r})'
                 '*(1-1E-12),0))+teams_team_spares,"")', "int"),
                (f'IF(ISNUMBER($G{r}),$G{r}*teams_gpus_per_deployment,"")', "int"),
                (f'IF(ISNUMBER($F{r}),$E{r}*$F{r},"")', "num3"),
                # the share of the time its own deployments (spares aside) cover its load
                (f'IF(ISNUMBER($F{r}),IF($I{r}>0,NORMSDIST(($G{r}-teams_team_spares-$F{r})/'
                 f'$I{r}),1),"")', "pct3")]
        for j, (formula, fmt) in enumerate(rows, start=5):
            st.style_cell(ws.cell(r, j, f'=IF(teams_ok,{formula},"")'), fmt)
    for col, name in ((2, "teams_names"), (3, "teams_tokens_per_day"), (4, "teams_cv"),
                      (5, "teams_cv_used"), (6, "teams_load"), (8, "teams_own_gpus"),
                      (9, "teams_sd"), (10, "teams_own_cover")):
        st.define(wb, name, ws.title, st.column_range(col, first, last))
    # above the table, in the blank row under the checks (below it, it printed on a page alone)
    st.put_text(ws.cell(top - 1, 2), f"Rows {first}-{last}: blank rows are no team. "
                f"Columns {L(5)}-{L(10)} are formulas.", st.NOTE_FONT)


def _formula(name: str) -> str:
    """The formula of one total (names of the sheet and the Pooling sheet's used inputs)."""
    g, z, rho = "{teams_gpus_per_deployment}", "NORMSINV({percentile})", "{correlation}"
    sd = f"SQRT((1-{rho})*SUMPRODUCT(teams_sd,teams_sd)+{rho}*SUMPRODUCT(teams_sd)^2)"
    cost = "*{gpu_price_per_hour_effective}*{hours_per_month}"
    return {
        "teams_dedicated_gpus": "SUMPRODUCT(teams_own_gpus)",
        "teams_pooled_capacity": f"{g}*(SUMPRODUCT(teams_load)+{z}*{sd})",
        "teams_pooled_gpus": f"{g}*(MAX(1,ROUNDUP({{teams_pooled_capacity}}/{g}*(1-1E-12),0))"
                             "+{teams_pool_spares})",
        "teams_savings_fraction": "1-{teams_pooled_gpus}/{teams_dedicated_gpus}",
        # the teams' own percentile loads, sum g L (1 + z cv) = g (sum L + z sum cv L)
        "teams_savings_from_peaks": f"({g}*(SUMPRODUCT(teams_load)+{z}*SUMPRODUCT(teams_sd))-"
                                    "{teams_pooled_capacity})/{teams_dedicated_gpus}",
        "teams_savings_from_rounding": "{teams_savings_fraction}-{teams_savings_from_peaks}",
        # the pool's whole deployments, spares aside, against the summed load's spread
        "teams_pooled_coverage": f"IF({sd}>0,NORMSDIST(({{teams_pooled_gpus}}/{g}-"
                                 f"{{teams_pool_spares}}-SUMPRODUCT(teams_load))/{sd}),1)",
        "teams_dedicated_coverage": "MIN(teams_own_cover)",
        "teams_served_worse": 'COUNTIF(teams_own_cover,">"&({teams_pooled_coverage}+1E-12))',
        # through the worst team's coverage and back, at most its own deployments: the engine
        # takes its z directly, which one team's pool (or perfectly correlated teams') meets
        "teams_pooled_gpus_same_service": f"MIN({g}*(MAX(1,ROUNDUP((SUMPRODUCT(teams_load)+"
                                          "MAX(NORMSINV(MIN({teams_dedicated_coverage},"
                                          "1-1E-12)),NORMSINV({percentile}))*"
                                          f"{sd})*(1-1E-12),0))+{{teams_pool_spares}}),"
                                          "SUMPRODUCT(teams_own_gpus)-(COUNT(teams_load)*"
                                          "{teams_team_spares}-{teams_pool_spares})*"
                                          f"{g})",
        "teams_savings_same_service": "1-{teams_pooled_gpus_same_service}/"
                                      "{teams_dedicated_gpus}",
        "teams_served_worse_same_service": 'COUNTIF(teams_own_cover,">"&(IF(' + sd
                                           + f'>0,NORMSDIST(({{teams_pooled_gpus_same_service}}/'
                                           f'{g}-{{teams_pool_spares}}-SUMPRODUCT(teams_load))/'
                                           + sd + '),1)+1E-12))',
        "teams_dedicated_monthly_cost": "{teams_dedicated_gpus}" + cost,
        "teams_pooled_monthly_cost": "{teams_pooled_gpus}" + cost,
        "teams_monthly_saving": "{teams_dedicated_monthly_cost}-{teams_pooled_monthly_cost}",
        "teams_net_monthly_saving": "{teams_monthly_saving}-{pool_own_cost}",
        "teams_net_like_for_like_monthly_saving": "{teams_like_for_like_monthly_saving}-"
                                                  "{pool_own_cost}",
        "teams_like_for_like_monthly_saving": "{teams_dedicated_monthly_cost}*"
                                              "{teams_savings_same_service}",
        "teams_pooled_cost_per_mtok": "{teams_pooled_monthly_cost}/"
                                      "(SUMPRODUCT(teams_tokens_per_day)*MAX("
                                      f"{{hours_per_month}},{HOURS_PER_MONTH:g})/24)*1E+6",
    }[name]
