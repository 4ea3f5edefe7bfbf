"""What each template's named cells must show for given inputs, computed with the engine at test
time (``xlnapkin.serving``, ``economics``, ``capacity``): the expectations of
``test_templates_recalc.py``. A template cell is compared with the engine function its Working
row names; nothing here re-derives the economics except by calling the engine.
"""

from __future__ import annotations

import decimal
import math
import statistics

import numpy as np

from xlnapkin import (_checks, calibration, capacity, catalog, economics as e, memory, queueing,
                      roofline, serving, udfs, units)
from xlnapkin.errors import InvalidArgumentError, UnknownNameError
from xlnapkin.templates import _teams, capacity_planner as cp, multi_tenant_savings as mt
from xlnapkin.templates import _self_host_sheets as shs, self_host_breakeven as sh


def _eff(v):
    x = v.get("efficiency")
    return None if x in (None, "", 0) else float(x)


def _num(x):
    return float(np.asarray(x, dtype=float))


def _scan(value):
    """An engine value as the sheet shows it: NaN -> a message, inf -> 'never'."""
    return "never" if value == math.inf else value


def serving_steps(g, m, v, n, frac):
    """Engine values of the shared napkin-math steps (names as in templates/_napkin.py)."""
    wd, kd, eff = memory.weight_dtype_of(m, v["weight_dtype"]), v["kv_dtype"], _eff(v)
    inp, out = float(v["input_tokens"]), float(v["output_tokens"])
    ef = calibration.resolve(eff, g)
    # The sheet shows 0 concurrent requests where the replica cannot run (the engine: NaN or,
    # for a context beyond the model's maximum or GPUs without a link, what memory allows).
    runs = bool(memory.can_run(g, m, wd, kd, inp + out, 1, n, frac))
    conc = _num(serving.concurrency_under_load(g, m, inp, out, wd, kd, n, frac, eff))
    conc = conc if runs else 0.0
    b, ctx = max(conc, 1.0), inp + out / 2
    return {
        "w_bits": units.dtype_bits(wd), "kv_bits": units.dtype_bits(kd or memory.KV_DTYPE),
        "weight_bytes": memory.weight_bytes(m, wd),
        "kv_elements": memory.kv_elements_per_token(m),
        "kv_bytes_per_seq": _num(memory.kv_bytes(m, inp + out, 1, kd)),
        # the read of one decode step (the attended tokens, and every index key where a
        # sparse-attention indexer picks them); kv_bytes itself where there is none
        "kv_bytes_ctx": _num(memory._kv_read_bytes(catalog.model(m), ctx, 1, kd)),
        "attn_flops_pair": roofline.attention_flops_per_pair(m),
        "prefill_attn_flops_pair": catalog.model(m).prefill_attention_flops_per_pair,
        "prefill_flops": _num(roofline.prefill_flops(m, 1.0, inp)),
        "mbu": float(ef.mbu), "mfu_decode": float(ef.mfu_decode),
        "mfu_prefill": float(ef.mfu_prefill),
        "peak_tflops": roofline.peak_flops(g, wd) / 1e12,
        "attn_peak_tflops": roofline.attention_peak(g, wd) / 1e12,
        "max_batch_fit": _num(memory.max_batch(g, m, inp + out, wd, kd, n, frac)),
        "concurrency": conc,
        "decode_flops": _num(roofline.decode_flops(m, b, ctx)),
        "weights_read": _num(memory.moe_weight_bytes_read(m, wd, b)),
        "t_allreduce": _num(roofline.allreduce_time(g, m, b, roofline.parallel_gpus(wd, n), ef)),
        "t_step": _num(roofline.decode_step_time(g, m, b, ctx, wd, kd, n, eff)),
    }


def replica_total_tps(g, m, v, n, frac, saved):
    """capacity.replica_tokens_per_sec at any memory share: decode time, the fixed time of the
    steps that carry prompts and the uncached part of prefill per request, as
    ``capacity._phase_times`` splits ``serving.max_throughput``. The engine's function takes no
    memory share, so this repeats its split; at the engine's own share (0.9) the two must
    agree, which anchors the copy for the other shares."""
    wd, kd, eff = v["weight_dtype"], v["kv_dtype"], _eff(v)
    inp, out = float(v["input_tokens"]), float(v["output_tokens"])
    tput = _num(serving.max_throughput(g, m, inp, out, wd, kd, n, eff, frac))
    conc = _num(serving.concurrency_under_load(g, m, inp, out, wd, kd, n, frac, eff))
    b = max(conc, 1.0)
    decode = out * _num(roofline.decode_step_time(g, m, b, inp + out / 2, wd, kd, n, eff)) / b
    prefill = max(out / tput - decode, 0.0)
    passes = min(out * _num(serving.prompt_pass_time(g, m, b, out, calibration.resolve(eff, g)))
                 / b, prefill)
    hand = (inp + out) / (decode + passes + (prefill - passes) * (1 - saved))
    if frac == 0.9:
        engine = _num(capacity.replica_tokens_per_sec(g, m, inp, out, wd, kd, n, eff, saved))
        assert _same_number(hand, engine), (hand, engine)
        return engine
    return hand


def _same_number(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return math.isclose(a, b, rel_tol=1e-9)


# --- self-host breakeven -----------------------------------------------------------------------

def _own_inputs_msg(v) -> str:
    """The first owning input out of its range, as the sheet words it ('' when all are in)."""
    def number(x):
        return isinstance(x, (int, float)) and not isinstance(x, bool)
    years = v["years"]
    if not (number(years) and years == int(years) and 1 <= years <= 10):
        return "years must be a whole number in [1, 10]"
    for name, low, high, rule in (("server_share", 0, None, ">= 0"),
                                  ("server_power_share", 0, None, ">= 0"),
                                  ("residual_share", 0, 1, "in [0, 1]"),
                                  ("cost_of_capital", 0, 1, "in [0, 1]"),
                                  ("price_per_kwh", 0, None, ">= 0"), ("pue", 1, None, ">= 1"),
                                  ("colo_usd_per_kw_month", 0, None, ">= 0"),
                                  ("maintenance_share", 0, 1, "in [0, 1]"),
                                  ("price_decline", 0, 1, "in [0, 1)")):
        x = v[name]
        if not (number(x) and x >= low and (high is None or x < high or
                                            (x == high and name != "price_decline"))):
            return f"{name} must be a number {rule}"
    return ""


def _bad_self_host(v) -> dict:
    """The check messages of deliberately wrong inputs (empty when every input is fine)."""
    bad = {}
    if v["hardware"] == "own" and _own_inputs_msg(v):  # renting, only own vs rent needs them
        bad["check_own"] = _own_inputs_msg(v)
    if isinstance(v["num_gpus"], str):
        bad["check_num_gpus"] = "num_gpus must be a whole number >= 1"
    if isinstance(v["weight_dtype"], str) and v["weight_dtype"].lower() not in (
            set(units.DTYPE_BITS) | set(units.dtype_aliases())):
        bad["check_weight_dtype"] = "unknown weight dtype: pick one from the list"
    share = v["input_share"]
    if share is not None and not 0 <= share <= 1:
        bad["check_input_share"] = "input_share must be a number in [0, 1]"
    elif share is not None and abs(share - _own_share(v)) > sh.SHARE_TOLERANCE:
        bad["check_input_share"] = (f"input_share {_pct(share)} is not the requests' "
                                    f"{_pct(_own_share(v))}: leave it blank, or set input and "
                                    "output tokens to your mix")
    if isinstance(v["api_price_in_per_mtok"], str):
        bad["check_api_price_in_per_mtok"] = "API input price must be a number >= 0"
    typed = v["gpu_price_per_hour"]
    if isinstance(typed, (int, float)) and typed <= 0 and v["hardware"] != "own":
        bad["check_gpu_price_per_hour"] = "GPU rental price must be a number > 0"  # renting
    try:
        g = catalog.gpu(v["gpu"])
    except Exception:
        bad["check_gpu"] = "unknown GPU: pick one from the list"
        return bad
    if v["gpu_price_per_hour"] is None and not g.cloud_usd_per_hour \
            and v["hardware"] != "own":
        bad["check_gpu_price_per_hour"] = "GPU rental price: no catalog price: enter yours"
    for name, label, missing, value in (("purchase_price", "Purchase price",
                                         "no catalog list price", g.list_price_usd),
                                        ("power_watts", "Power", "no catalog TDP", g.tdp_w)):
        if v[name] is None and not value and v["hardware"] == "own":
            bad[f"check_{name}"] = f"{label}: {missing}: enter yours"
    return bad


def _factors(v) -> dict:
    """{scenario row: (low, high)} as the Sensitivity sheet holds them."""
    return {key: (v["sens_low"][i], v["sens_high"][i])
            for i, (key, *_r) in enumerate(shs.SCENARIO_ROWS)}


def _scenario_factors(v):
    """{scenario row: factor in use} for the chosen scenario (Sensitivity sheet)."""
    scenario = v["scenario"]

    def factor(key, pair):  # best: each row at its factor that favours self-hosting
        if scenario in ("best", "worst"):
            if key in shs.AS_TYPED_ROWS:  # at your own volume and minimum fleet
                return 1.0
            up = (key in shs.HIGH_FAVOURS_SELF_HOST) == (scenario == "best")
            return max(pair) if up else min(pair)
        side = {"base": None, "low": 0, "high": 1}[scenario]
        return 1.0 if side is None else pair[side]
    return {key: factor(key, pair) for key, pair in _factors(v).items()}


def _own_share(v):
    return float(v["input_tokens"]) / (float(v["input_tokens"]) + float(v["output_tokens"]))


def _pct(share) -> str:
    """A share as _sheets.percent shows it: whole percent, else one decimal."""
    return f"{share:.0%}" if abs(share * 100 - round(share * 100)) < 1e-9 else f"{share:.1%}"


def input_share(v):
    """The share typed (within SHARE_TOLERANCE of the requests' own), else the requests' own."""
    if v["input_share"] is not None:
        return v["input_share"]
    return _own_share(v)


def self_host_inputs(v, f):
    """The money inputs as the Working sheet uses them, at scenario factors ``f``."""
    g, m = catalog.gpu(v["gpu"]), catalog.model(v["model"])
    api = v["api"] if v["api"] not in ("same model", None) else catalog.comparable_price(m.id).id
    p = catalog.price(api)
    over = v.get

    def pick(name, catalog_value):
        """The value typed, else the catalog value; 0 where neither exists (N() of a message)."""
        value = over(name)
        return value if value is not None else (catalog_value or 0.0)
    price_in = pick("api_price_in_per_mtok", p.input_usd_per_mtok)
    # whole years, 1 to 10 (the sheet's INT(x + 0.5))
    years = min(float(shs.YEAR_ROWS), max(1.0, math.floor(v["years"] * f["years"] + 0.5)))
    return dict(
        g=g, m=m, api=p,
        tpd=v["tokens_per_day"] * f["tokens_per_day"],
        util=min(1.0, v["utilization"] * f["utilization"]),
        minrep=max(1.0, math.ceil(v["min_replicas"] * f["min_replicas"] * (1 - 1e-12))),
        staff=v["staff_cost_per_month"] * f["staff_cost_per_month"],
        od=pick("gpu_price_per_hour", g.cloud_usd_per_hour) * f["gpu_price_per_hour"],
        p_in=price_in * f["api_price"],
        p_out=pick("api_price_out_per_mtok", p.output_usd_per_mtok) * f["api_price"],
        p_cached=(p.cached_input_usd_per_mtok or price_in) * f["api_price"],
        api_factor=f["api_price"],
        purchase=pick("purchase_price", g.list_price_usd) * (1 + v["server_share"])
        * f["purchase_price"],
        power=pick("power_watts", g.tdp_w) * (1 + v["server_power_share"]),
        kwh=v["price_per_kwh"] * f["price_per_kwh"],
        rate=min(1.0, v["cost_of_capital"] * f["cost_of_capital"]),
        years=years,
        # the resale share falls with each year kept beyond the years typed
        resale=min(1.0, v["residual_share"] * f["residual_share"]
                   * shs.RESALE_YEARLY ** max(0.0, years - v["years"])))


def _money(v, x, total):
    """Every economics row of the self-host Working sheet, from the engine."""
    n, own = float(v["num_gpus"]), v["hardware"] == "own"
    hours = 730.0 if own else float(v["hours_per_month"])
    rent = e.spot_mix_price(x["od"], x["od"] * v["spot_price_ratio"], v["spot_share"])
    hosting = (e.colo_cost_per_month(x["power"], v["colo_usd_per_kw_month"])
               + v["maintenance_share"] * x["purchase"] / 12)
    residual = x["purchase"] * x["resale"]
    own_h = e.own_hourly_cost(x["purchase"], x["years"], x["power"], x["kwh"], v["pue"],
                              hosting, x["rate"], residual)
    price = own_h if own else rent
    saved = x["saved"]
    out = {"hours_run": hours, "rent_price": rent, "hosting_per_month": hosting,
           "own_hourly_calc": own_h, "price_used": price, "prefix_savings": saved,
           "residual_value": residual,
           "api_blended_calc": e.blended_price(x["p_in"], x["p_out"], input_share(v), saved,
                                               x["p_cached"])}
    days = e.api_days_per_month(hours)  # the month the GPUs are paid for
    out["days_per_month"] = days
    out["api_monthly_calc"] = e.api_monthly_cost(x["tpd"], out["api_blended_calc"], days)
    # renting the GPU-hours an owned GPU serves: always on, 730 a month (fewer rented hours
    # need more GPUs, which the fleet's NPV counts)
    out["rent_npv_calc"] = e.rent_npv(rent, x["years"], v["price_decline"], x["rate"])
    out["own_npv_calc"] = e.own_npv(x["purchase"], x["years"], x["power"], x["kwh"],
                                    v["pue"], hosting, x["rate"], residual)
    out["npv_saving_calc"] = out["rent_npv_calc"] - out["own_npv_calc"]
    out["running_cost_per_year"] = e.own_running_cost_per_year(x["power"], x["kwh"], v["pue"],
                                                               hosting)
    # levelled with the owned hour's own annuity: OWN_HOURLY_COST of $1 and nothing else is
    # that annuity / 8,760, so the per-hour verdict has the NPV's sign
    out["rent_levelled"] = out["rent_npv_calc"] * e.own_hourly_cost(
        1.0, x["years"], cost_of_capital=x["rate"])
    # a scenario's resale and years, then the warning on the inputs typed
    warning = (f"30% is the 3-year figure (H100: about 10% after 5): set it for "
               f"{v['years']:.0f} year{'' if v['years'] == 1 else 's'}"
               if v["years"] != 3 and v["residual_share"] == 0.3 else "")
    if x["years"] != v["years"] or x["resale"] != v["residual_share"]:
        used = (f"{x['resale']:.0%} after {x['years']:.0f} year{'' if x['years'] == 1 else 's'} "
                f"in the {v['scenario']} scenario")
        out["resale_note"] = used + (f"; {warning}" if warning else "")
    else:
        out["resale_note"] = warning or "OK"
    gap = out["rent_levelled"] - own_h
    card = "the card alone (no server) " if v["server_share"] == 0 else ""
    yrs, fall = x["years"], v["price_decline"]
    out["own_vs_rent_short"] = ((f"owning {card}saves ${gap:.2f}" if gap > 0 else
                                 f"renting is cheaper by ${-gap:.2f}") + " per GPU-hour")
    out["own_vs_rent_msg"] = (out["own_vs_rent_short"]
                              + f" over {yrs:.0f} year{'' if yrs == 1 else 's'}"
                              + (f" (rent falling {fall:.0%} a year: today's ${rent:.2f} levels "
                                 f"to ${out['rent_levelled']:.2f})" if fall > 0 and yrs > 1
                                 else " (at today's rent)" if fall > 0 else " (rent flat)")
                              + ("" if v["scenario"] == "base" else
                                 f" in the {v['scenario']} scenario (set for self-hosting vs "
                                 "the API)"))
    # what maintenance a year would undo owning's saving per GPU-hour (own_undone), said
    # where the fleet's verdict agrees, which the fleet's block below checks
    share = gap * 8760 / x["purchase"] if gap > 0 and x["purchase"] > 0 else "-"
    out["own_undone_share"] = share
    out["own_vs_rent_line"] = out["own_vs_rent_short"] + (
        f"; maintenance of {share:.1%} of the price a year more would undo it"
        if share != "-" and share >= 0.0005 else "")
    if total is None:
        return out
    monthly = e.self_host_monthly_cost(x["tpd"], total, price, n, x["util"], hours, x["minrep"],
                                       x["staff"])
    reps = e.replicas_needed(x["tpd"], total, x["util"], x["minrep"], hours)
    owned = e.replicas_needed(x["tpd"], total, x["util"], x["minrep"], 730.0) * n
    rented = e.replicas_needed(x["tpd"], total, x["util"], x["minrep"], v["hours_per_month"]) * n
    replica = e.self_host_monthly_cost(0, total, price, n, x["util"], hours)
    rent_fleet_pv = rented * e.rent_npv(rent, x["years"], v["price_decline"], x["rate"],
                                        min(v["hours_per_month"], 730.0))
    own_fleet_pv = owned * out["own_npv_calc"]
    pv_years = sum(e.discount_factor(x["rate"], y) for y in range(1, int(x["years"]) + 1))
    cap = e.replica_tokens_per_day(total, x["util"], hours)
    out.update({
        "replica_total_tps": total, "replica_monthly_cost": replica,
        "replica_capacity_per_day": cap, "replicas_calc": reps,
        "gpu_monthly_calc": monthly - x["staff"],
        "staff_cost_per_month_used": x["staff"], "self_host_monthly_calc": monthly,
        "actual_util_calc": e.fleet_utilization(x["tpd"], total, reps, hours),
        "planned_cost_per_mtok_calc": e.cost_per_mtok(price, total, x["util"], n),
        "saving_calc": out["api_monthly_calc"] - monthly,
        "fleet_gpus_calc": reps * n, "fleet_purchase_calc": owned * x["purchase"],
        "own_fleet_gpus": owned, "rent_fleet_gpus": rented,
        # each fleet as sized: the renter's GPUs for the hours they run, the owner's always on
        # (a year has 8,760 hours: a 744-hour month rents no more of them)
        "rent_fleet_pv": rent_fleet_pv, "own_fleet_pv": own_fleet_pv,
        "fleet_npv_saving_calc": rent_fleet_pv - own_fleet_pv,
        # self-hosting against the API over the years kept, each year's cost at its end
        "years_pv_calc": pv_years,
        "self_host_npv_calc": (own_fleet_pv if own else rent_fleet_pv)
        + x["staff"] * 12 * pv_years,
        # a year of the API: twelve of its 730-hour months, whatever the GPUs' month
        "api_npv_calc": e.api_monthly_cost(x["tpd"], out["api_blended_calc"],
                                           e.HOURS_PER_MONTH / 24) * 12 * pv_years,
        "breakeven_calc": _scan(e.fleet_breakeven_tokens_per_day(
            replica, cap, out["api_blended_calc"], x["minrep"], x["staff"], days)),
    })
    # the fleet's verdict where its sign is not the GPU-hour's (fleet_vs_gpu; a cell of ""
    # reads back empty)
    fleet, hour_owning = out["fleet_npv_saving_calc"], own_h < out["rent_levelled"]
    if (fleet > 0 and not hour_owning) or (fleet < 0 and hour_owning):
        out["own_vs_rent_line"] = out["own_vs_rent_short"] + (
            f"; for your fleet as sized, {'renting' if fleet < 0 else 'owning'} saves")
    out["npv_vs_api_calc"] = out["api_npv_calc"] - out["self_host_npv_calc"]
    out["breakeven_for_good_calc"] = _scan(e.breakeven_for_good(
        replica, cap, out["api_blended_calc"], x["minrep"], x["staff"], days))
    # the fleet the breakeven volume needs: the replicas whose savings pay the people
    be = out["breakeven_calc"]
    out["breakeven_gpus_calc"] = ("-" if be == "never" else
                                  e.replicas_needed(be, total, x["util"], x["minrep"], hours) * n)
    if x["tpd"] > 0:
        out["cost_at_volume_calc"] = e.cost_per_mtok_at_volume(monthly, x["tpd"], days)
    return out


OUTPUT_OF = {"replicas_needed": "replicas_calc", "actual_utilization": "actual_util_calc",
             "self_host_monthly_cost": "self_host_monthly_calc",
             "gpu_monthly_cost": "gpu_monthly_calc", "api_monthly_cost": "api_monthly_calc",
             "staff_monthly_cost": "staff_cost_per_month_used",
             "monthly_saving": "saving_calc",
             "self_host_cost_per_mtok_at_volume": "cost_at_volume_calc",
             "api_blended_price": "api_blended_calc",
             "breakeven_tokens_per_day": "breakeven_calc", "breakeven_gpus": "breakeven_gpus_calc",
             "breakeven_for_good_tokens_per_day": "breakeven_for_good_calc",
             "self_host_cost_per_mtok": "cost_at_volume_calc",
             "gpu_cost_per_mtok_planned": "planned_cost_per_mtok_calc",
             "gpus_per_replica": "split_msg",
             "replica_total_tokens_per_sec": "replica_total_tps",
             "own_gpu_hourly_cost": "own_hourly_calc", "rent_gpu_hourly_cost": "rent_price",
             "rent_levelled_hourly_cost": "rent_levelled",
             "own_npv_saving_per_gpu": "npv_saving_calc", "fleet_gpus": "fleet_gpus_calc",
             "own_vs_rent": "own_vs_rent_line", "resale_check": "resale_note",
             "own_fleet_purchase": "fleet_purchase_calc", "owned_fleet_gpus": "own_fleet_gpus",
             "own_npv_saving_fleet": "fleet_npv_saving_calc",
             "npv_vs_api": "npv_vs_api_calc",
             "volume_requests_per_sec": "vol_rate", "volume_concurrency": "vol_concurrency_calc",
             "volume_request_tokens_per_sec": "vol_request_tps_calc",
             "volume_ttft_ms": "vol_ttft_calc", "volume_ttft_tail_ms": "vol_ttft_tail_calc",
             "volume_answers": "vol_answers_msg"}
API_OUTPUTS = {"api_monthly_cost", "api_blended_price", "own_gpu_hourly_cost",
               "rent_gpu_hourly_cost", "rent_levelled_hourly_cost", "own_npv_saving_per_gpu",
               "own_vs_rent", "resale_check"}
COMPARE_OUTPUTS = ["own_gpu_hourly_cost", "rent_gpu_hourly_cost", "rent_levelled_hourly_cost",
                   "own_vs_rent", "resale_check",
                   "own_npv_saving_per_gpu"]


def _catalog_or_yours(v, name, catalog_value):
    """A catalog value with your input beside it, as the sheet shows the value used."""
    value = v.get(name)
    return value if value is not None else (catalog_value or "enter a value")


def _compare_ok(v, g):
    """Own vs rent needs both sides of the Years sheet (:func:`_years_ok`): an owner may leave
    the rental price at 0, and no verdict is drawn against free rent."""
    return all(_years_ok(v, g))


def split_gpus(m, least, wd=None) -> int:
    """The fewest GPUs from ``least`` up that the model splits over (0: none)."""
    return next((d for d in memory.tp_degrees(m, weight_dtype=wd) if d >= least), 0)


def fit_advice(g, m, wd, least, frac) -> str:
    """The functions' advice for a request that needs ``least`` GPUs' memory (fit_message's)."""
    weights, linked = memory.weight_bytes(m, wd), bool(g.interconnect_gbps)
    degrees = memory._linked_degrees(m, memory.by_layers(m, wd), linked)
    kv = memory._weights_split(m, weights, g.memory_bytes * frac, degrees)
    if least >= 1e6:  # as fit_message: no count worth suggesting
        return memory._no_count_advice(kv)
    return memory._advice(m, int(least), kv, degrees, memory.by_layers(m, wd), linked)


def expect_self_host(v):
    bad = _bad_self_host(v)
    if bad:
        return {**bad, "inputs_ok": False, **{o: "check inputs" for o in OUTPUT_OF},
                "own_boards": "check inputs"}
    own = _own_inputs_msg(v)
    if own:  # renting: the sheet works with the owning inputs' defaults (own vs rent says why)
        defaults = {row[0]: row[2] for row in sh.OWN + sh.RUN if row[0] in sh.OWN_INPUTS}
        v = {**v, **defaults}
        exp = expect_self_host(v)
        exp["own_inputs_ok"] = own
        for o in COMPARE_OUTPUTS:
            exp[o] = own
        exp.update(rent_npv_calc="check inputs", own_npv_calc="check inputs",
                   running_cost_per_year="check inputs", npv_saving_calc="-", rent_levelled="-",
                   own_vs_rent_msg="-", own_vs_rent_short="-", own_vs_rent_line="-",
                   own_undone_share="-")
        if exp.get("fits") == "OK":
            exp.update(own_fleet_purchase=own, own_boards=own, own_npv_saving_fleet=own,
                       fleet_npv_saving_calc="-", npv_vs_api=own, self_host_npv_calc="-",
                       npv_vs_api_calc="-", rent_fleet_pv="-", own_fleet_pv="-")
        exp.update(rent_years_ok=False, own_years_ok=False)
        return exp
    f = _scenario_factors(v)
    x = self_host_inputs(v, f)
    g, m, n = x["g"], x["m"], int(v["num_gpus"])
    frac, wd, kd = float(v["mem_fraction"]), v["weight_dtype"], v["kv_dtype"]
    inp, out = float(v["input_tokens"]), float(v["output_tokens"])
    x["saved"] = (e.prefix_cache_savings(v["prefix_tokens"], inp - v["prefix_tokens"],
                                         v["prefix_hit_rate"]) if v["prefix_tokens"] else 0.0)
    exp = serving_steps(g, m, v, n, frac)
    exp.update({"inputs_ok": True, "gpu_id": g.id, "model_id": m.id, "api_id": x["api"].id,
                "gpu_price_per_hour_effective": _catalog_or_yours(v, "gpu_price_per_hour",
                                                        g.cloud_usd_per_hour),
                "min_gpus": _num(memory.gpus_needed(g, m, wd, inp + out, 1, kd, frac))})
    tput = _num(serving.max_throughput(g, m, inp, out, wd, kd, n, _eff(v), frac))
    fits = math.isfinite(tput)
    total = replica_total_tps(g, m, v, n, frac, x["saved"]) if fits else None
    money = _money(v, x, total)
    exp.update(money)
    exp.update(_split(v, x, money, n, frac))
    exp.update({o: money[c] for o, c in OUTPUT_OF.items() if o in API_OUTPUTS})
    if not fits:
        exp["fits"] = cannot_run(g, m, wd, kd, inp + out, n, frac,
                                 f"does not fit: {fit_advice(g, m, wd, exp['min_gpus'], frac)}")
        exp.update({o: "check inputs" for o in OUTPUT_OF if o not in API_OUTPUTS})
        exp["breakeven_note"] = exp["fits"]  # the verdict says why nothing fits
        exp.update(vol_ok=False, vol_answers_msg="does not fit",
                   **{f"vol_{k}_calc": "does not fit"
                      for k in ("concurrency", "request_tps", "ttft")})
    else:
        exp.update({"fits": "OK", "all_ok": True, "replica_output_tokens_per_sec": tput,
                    "replica_output_tokens_per_sec_calc": tput})
        exp.update({o: money[c] for o, c in OUTPUT_OF.items() if c in money})
        service = _service(v, x, money, n, frac)
        exp.update(service)
        exp.update({o: service[c] for o, c in OUTPUT_OF.items() if c in service})
        exp["breakeven_note"] = _verdict(x["tpd"], money["saving_calc"], money["breakeven_calc"],
                                         money["breakeven_for_good_calc"])
        best = exp["split_best_n"]
        cheaper = exp["split_best_month"] < capacity.CHEAPER_SPLIT * money["self_host_monthly_calc"]
        if exp["breakeven_note"] == e.NEVER and best != n and cheaper:
            # "never" said of the count typed where the cheaper count breaks even (an FP&A
            # review), as the engine's replica margin at that count says
            tps = replica_total_tps(g, m, v, best, frac, x["saved"])
            carried = e.replica_tokens_per_day(tps, x["util"], money["hours_run"])
            margin = (e.api_monthly_cost(carried, money["api_blended_calc"],
                                         money["days_per_month"])
                      - e.self_host_monthly_cost(0, tps, money["price_used"], best, x["util"],
                                                 money["hours_run"]))
            if margin > 0:
                exp["breakeven_note"] = (f"never with replicas of {n:.0f} GPUs (replicas of "
                                         f"{best:.0f} break even: below)"
                                         + e.NEVER.removeprefix("never"))
        if exp["breakeven_note"] == e.NEVER:  # of the count typed (a review)
            exp["breakeven_note"] = (f"never with replicas of {n:.0f} GPU{'' if n == 1 else 's'}"
                                     + e.NEVER.removeprefix("never"))
        if _volume_range_msg(v) == "OK":  # else the Volume sheet alone shows #N/A
            exp.update(_volume_rows(v, x, money, total))
        exp.update(_tornado(v, x, total))
    exp["own_boards"] = _boards(g, exp, x["purchase"])
    exp["check_fits"] = exp["fits"]  # the same cell under a check name, for `xlnapkin recalc`
    exp["own_inputs_ok"] = "OK"
    exp["check_volume_range"] = _volume_range_msg(v)
    rent_ok, own_ok = _years_ok(v, g)
    exp.update(rent_years_ok=rent_ok, own_years_ok=own_ok)
    if not _compare_ok(v, g):  # own vs rent needs both prices; the Years sheet says so
        said = sh.NEED_PRICES
        exp.update({o: said for o in COMPARE_OUTPUTS})
        exp.update(npv_saving_calc="-", rent_levelled="-", own_vs_rent_msg="-",
                   own_vs_rent_short="-", own_vs_rent_line="-", own_undone_share="-")
        # each side of the Years sheet where its own prices are there: the NPV against the API
        # needs the side you run (a review: a renter's waited for a purchase price)
        for ok, side in ((rent_ok, "rent"), (own_ok, "own")):
            if ok:  # and its own GPU-hour (a review: a renter's rent read "needs a purchase")
                exp[f"{side}_gpu_hourly_cost"] = money[OUTPUT_OF[f"{side}_gpu_hourly_cost"]]
            else:
                exp.update({f"{side}_npv_calc": "-", f"{side}_fleet_pv": "-"})
        if not own_ok:
            exp["running_cost_per_year"] = "-"
        if fits:  # the fleet's figures need the replica to run first
            exp.update(own_npv_saving_fleet=said, fleet_npv_saving_calc="-")
            if not own_ok:
                exp["own_fleet_purchase"] = exp["own_boards"] = said
            if not (own_ok if v["hardware"] == "own" else rent_ok):
                exp.update(npv_vs_api=said, self_host_npv_calc="-", npv_vs_api_calc="-")
    return exp


def _boards(g, exp, price) -> str:
    """The Breakeven sheet's line on whole servers or racks for the owned fleet (own_boards)."""
    bought = exp.get("own_fleet_purchase")
    if isinstance(bought, str):
        return bought
    n, board = exp["own_fleet_gpus"], g.nvlink_gpus or 0
    if not 8 <= board <= 72 or n % board == 0:
        return "OK"
    whole = math.ceil(n / board) * board
    unit, sold = ("rack", "is sold") if board > 8 else ("server", "is usually sold")
    return (f"the figures price the {n:,.0f} GPU{'' if n == 1 else 's'} an owned fleet needs, "
            f"not whole {unit}s; {g.id} {sold} {board:.0f} to a {unit}: whole {unit}s hold "
            f"{whole:,.0f}, ${whole * price:,.0f} up front")


def _years_ok(v, g):
    """(renting, owning) over the Years sheet's years: a rent above 0; a purchase price and
    power (catalog or yours)."""
    typed = v.get("gpu_price_per_hour")
    rent = typed if typed is not None else g.cloud_usd_per_hour
    return bool(rent and rent > 0), all(
        v.get(n) is not None or value
        for n, value in (("purchase_price", g.list_price_usd), ("power_watts", g.tdp_w)))


def _split(v, x, money, n, frac) -> dict:
    """The cheapest GPU count per replica for the volume (the split table beside the Working
    sheet): capacity._cheapest_split's counts and month, at the sheet's prices, hours, prefix
    savings and memory share (the engine's own function where the share is its 0.9)."""
    g, m, wd = x["g"], x["m"], v["weight_dtype"]
    gguf = memory.by_layers(m, wd)
    most = min(8, m.layers) if gguf else int(g.nvlink_gpus or 8)
    counts = sorted(set(memory.tp_degrees(m, most, wd)[:sh.SPLIT_ROWS]) | {n})
    price, hours = money["price_used"], money["hours_run"]
    month = {}
    for k in counts:
        runs = math.isfinite(_num(serving.max_throughput(
            g, m, float(v["input_tokens"]), float(v["output_tokens"]), wd, v["kv_dtype"], k,
            _eff(v), frac)))
        month[k] = (e.self_host_monthly_cost(x["tpd"], replica_total_tps(g, m, v, k, frac,
                                                                         x["saved"]),
                                             price, k, x["util"], hours, x["minrep"],
                                             x["staff"]) if runs else 1e300)
    best = min(counts, key=lambda k: (month[k], k))
    if frac == 0.9 and math.isfinite(month[best]) and month[best] < 1e300:
        engine = capacity._cheapest_split(g, m, x["tpd"], float(v["input_tokens"]),
                                          float(v["output_tokens"]), wd, v["kv_dtype"], n,
                                          price, x["util"], x["minrep"], x["staff"], hours,
                                          _eff(v), x["saved"])
        assert engine[0] == best and _same_number(engine[1], month[best]), (engine, best)
    out = {"split_best_month": month[best], "split_best_n": float(best)}
    mine = money.get("self_host_monthly_calc")  # None: a replica of n does not run
    tps = {k: replica_total_tps(g, m, v, k, frac, x["saved"])
           for k in ((n, best) if mine is not None else ())}
    faster = mine is not None and capacity.faster_per_gpu(
        tps[n], n, tps[best], best, money["replicas_calc"], x["minrep"])
    if mine is None:
        out["split_msg"] = "does not fit"
    elif best != n and month[best] < capacity.CHEAPER_SPLIT * mine:
        why = (f"a replica of {n} holds few requests at once" if best > n else
               f"a GPU makes {tps[best] / best:,.0f} input + output tokens/s in replicas of "
               f"{best}, against {tps[n] / n:,.0f} in replicas of {n}" if faster else
               f"replicas of {n} GPUs are more than this volume needs (check the first "
               f"token there: fewer GPUs hold fewer requests)")
        out["split_msg"] = (f"num_gpus {best} self-hosts this volume for "
                            f"${month[best]:,.0f}/month: {why}")
    else:
        out["split_msg"] = (f"OK: no other count saves over "
                            f"{100 * (1 - capacity.CHEAPER_SPLIT):.0f} %")
    return out


def _service(v, x, money, n, frac) -> dict:
    """The Working sheet's service at your volume: the requests/s each replica gets (the
    volume over the replicas, in the hours they run) and queueing.service_at_rate there: the
    means, as estimate gives them, with the sheet's memory share."""
    inp, out = float(v["input_tokens"]), float(v["output_tokens"])
    rate = capacity.volume_rate(x["tpd"], inp, out, money["replicas_calc"], money["hours_run"])
    shape = (x["g"], x["m"], rate, inp, out, v["weight_dtype"], v["kv_dtype"], n)
    conc, ttft, tpot = queueing.service_at_rate(*shape, None, _eff(v), mem_fraction=frac)
    tail = queueing.service_at_rate(*shape, capacity.SLOW_PERCENTILE, _eff(v),
                                    mem_fraction=frac)[1]
    ok = math.isfinite(conc)
    return {"vol_rate": rate, "vol_ok": ok,
            "vol_concurrency_calc": conc if ok else sh.FULL,
            "vol_request_tps_calc": 1e3 / tpot if ok else sh.FULL,
            "vol_ttft_calc": ttft if ok else sh.FULL,
            "vol_ttft_tail_calc": tail if ok else sh.FULL,
            "vol_answers_msg": _answers(1e3 / tpot, tail) if ok else sh.FULL_ANSWER}


def _answers(tps, tail) -> str:
    """The service line: capacity.slow_answers decides, and the line says which part is slow."""
    if not capacity.slow_answers(tps, tail):
        return sh.ANSWERS_OK
    slow = []
    if tail > capacity.SLOW_FIRST_TOKEN_MS:
        slow.append(f"first token after {tail / 1e3:,.1f} s for 1 request in 20")
    if tps < capacity.SLOW_STREAM_TOKENS_PER_SEC:
        slow.append(f"{tps:.1f} tokens/s each")
    return "slow: " + ", ".join(slow) + sh.SIZE_IT


def _shown(share: float) -> float:
    """A step line's share as the sheet gives it: MAX(ROUNDUP(share, 5), 1E-5)."""
    return max(math.ceil(share * 1e5) / 1e5, 1e-5)


def _dedicated_at(args, change) -> float:
    """Dedicated GPUs at the mean load changed by ``change`` (a share; its size as shown)."""
    tenants, u, percentile, cv, g = args[:5]
    # the engine's own count of one tenant's deployments (economics.dedicated_gpus refuses a
    # mean utilization past 1, which more load can reach)
    load = u * (1 + math.copysign(_shown(abs(change)), change))
    return tenants * g * float(e._own_deployments(load, e._z(percentile), cv))


def _pool_step(args, ded, pool) -> str:
    """The Pooling sheet's step line, from economics.pool_step_share and POOL_STEP."""
    g = args[4]
    if g < e.POOL_STEP * pool:
        return "no"
    for share, sign, word in ((e.pool_step_share(*args), -1, "less"),
                              (e.pool_headroom_share(*args), 1, "more")):
        if not share < e.POOL_STEP:  # NaN (one deployment) is not
            continue
        shown, then = _shown(share), _dedicated_at(args, sign * share)
        now, there = 1 - pool / ded, 1 - (pool + sign * g) / then
        if f"{there:.0%}" == f"{now:.0%}":
            continue  # the saving does not move: no step to speak of
        # what a deployment fewer gives at this load (a CFO's read)
        tenants, u, _p, cv, g, rho = args
        sd, gap = e._pooled_sd(tenants, u, cv, rho), pool / g - 1 - tenants * u  # deployments
        fewer = 1 - statistics.NormalDist().cdf(gap / sd) if sd > 0 else float(gap < 0)
        short = (f" (a deployment fewer is short {fewer:.1%} of the time at this load, against "
                 f"{1 - e.pooled_coverage(*args):.3%} now)" if sign < 0 else "")
        return (f"yes: {shown:.3%} {word} load needs {pool + sign * g:g} GPUs: the saving "
                f"{'jumps' if there > now else 'falls'} from {now:.0%} to {there:.0%}"
                + (f" (dedicated then {then:g} GPUs)" if then != ded else "") + short)
    return "no"


def _volume_range_msg(v) -> str:
    lo, hi = v["volume_min"], v["volume_max"]
    if not all(isinstance(a, (int, float)) for a in (lo, hi)):
        return "volume range must be numbers"
    return "OK" if 0 < lo < hi else "need 0 < smallest < largest volume"


def _millions(tokens_per_day) -> str:
    """TEXT(x/1E+6,"#,##0.0"): half away from zero, as spreadsheets round."""
    d = decimal.Decimal(repr(tokens_per_day / 1e6)).quantize(decimal.Decimal("0.1"),
                                                            decimal.ROUND_HALF_UP)
    return f"{d:,.1f}"


def _verdict(tokens_per_day, saving, breakeven, for_good) -> str:
    """The Breakeven sheet's verdict line (once it ran two phrases together); where self-hosting
    is cheaper for good only from a larger volume, that volume too (a review: a volume past the
    breakeven read "the API is cheaper" with no reason given)."""
    if not isinstance(breakeven, float) or not math.isfinite(breakeven):
        return e.NEVER
    who = "self-hosting" if saving > 0 else "the API"
    good = (f", for good from {_millions(for_good)} M (in between, each replica added costs "
            "more than it saves at first)" if for_good > breakeven * (1 + 1e-9) else "")
    return (f"{who} is cheaper at {_millions(tokens_per_day)} M tokens/day; breakeven "
            f"{_millions(breakeven)} M tokens/day{good}")


def _volume_rows(v, x, money, total):
    k = np.arange(shs.VOLUME_ROWS)
    vols = v["volume_min"] * (v["volume_max"] / v["volume_min"]) ** (k / (shs.VOLUME_ROWS - 1))
    n, hours = float(v["num_gpus"]), money["hours_run"]
    rows = {"volume_tokens_per_day": [float(a) for a in vols],
            "volume_replicas": [e.replicas_needed(a, total, x["util"], x["minrep"], hours)
                                for a in vols],
            "volume_self_host_cost": [e.self_host_monthly_cost(a, total, money["price_used"], n,
                                                               x["util"], hours, x["minrep"],
                                                               x["staff"]) for a in vols],
            "volume_api_cost": [e.api_monthly_cost(float(a), money["api_blended_calc"],
                                                   money["days_per_month"]) for a in vols]}
    blended, breakeven = [], []
    for p in catalog.prices():
        b = e.blended_price(p.input_usd_per_mtok, p.output_usd_per_mtok, input_share(v),
                            x["saved"], p.cached_input_usd_per_mtok or p.input_usd_per_mtok)
        b *= x["api_factor"]  # the scenario's, as the headline's
        blended.append(b)
        breakeven.append(_scan(e.fleet_breakeven_tokens_per_day(
            money["replica_monthly_cost"], money["replica_capacity_per_day"], b, x["minrep"],
            x["staff"], money["days_per_month"])))
    rows["api_list_blended"], rows["api_list_breakeven"] = blended, breakeven
    return rows


def _tornado(v, x, total):
    """The Sensitivity sheet's base row and each input at its low and high factor."""
    base = {key: 1.0 for key, *_r in shs.SCENARIO_ROWS}
    cases = [base]
    for key, (lo, hi) in _factors(v).items():
        cases += [dict(base, **{key: lo}), dict(base, **{key: hi})]
    cost, breakeven, ratios = [], [], []
    for f in cases:
        xf = dict(self_host_inputs(v, f), saved=x["saved"])
        money = _money(v, xf, total)
        cost.append(money.get("cost_at_volume_calc", "no volume"))
        breakeven.append(money["breakeven_calc"])
        # the breakeven chart's bar: over the volume the row prices; 0 where it is never
        b = breakeven[-1]
        ratios.append((b / xf["tpd"] if xf["tpd"] > 0 else "no volume")
                      if isinstance(b, float) else 0.0)
    low, high = ratios[1::2], ratios[2::2]

    base = ratios[0] if isinstance(ratios[0], float) else 0.0

    def bar(x):  # within the axis; never at its ceiling; no bar (1) with no volume or where
        # the factor leaves the base case's ratio as it is
        if not isinstance(x, float) or abs(x - base) <= 1e-9 * x:
            return 1.0
        return min(shs.CEILING, max(shs.FLOOR, x)) if x > 0 else shs.CEILING
    def change(x):  # the cost chart's bar: 0 where either side prices no volume
        return x - cost[0] if isinstance(x, float) and isinstance(cost[0], float) else 0.0
    out = {"sens_cost_at_volume": cost, "sens_breakeven": breakeven,
           "tornado_cost_low": [change(x) for x in cost[1::2]],
           "tornado_cost_high": [change(x) for x in cost[2::2]],
           "tornado_ratio_low": low, "tornado_ratio_high": high,
           "tornado_chart_low": [bar(x) for x in low],
           "tornado_chart_high": [bar(x) for x in high]}
    # each chart's rows by their longer bar, ties in the sheet's order
    labels = [label for _key, label, *_r in shs.SCENARIO_ROWS]
    # the breakeven chart's swing: a side's bar against the base case's, as drawn (no bar: 0)
    base_bar = min(shs.CEILING, max(shs.FLOOR, base)) if base > 0 else shs.CEILING
    def moved(ratio, b):  # -1 where the side prices no volume or leaves the base's ratio
        if not isinstance(ratio, float) or abs(ratio - base) <= 1e-9 * ratio:
            return -1.0
        return abs(math.log(b / base_bar))
    cost_swing = [max(abs(a), abs(b)) for a, b in zip(out["tornado_cost_low"],
                                                     out["tornado_cost_high"])]
    bar_swing = [max(moved(low[i], out["tornado_chart_low"][i]),
                     moved(high[i], out["tornado_chart_high"][i])) for i in range(len(low))]
    for name, prefix, swings in (("cost", "tornado_cost", cost_swing),
                                 ("breakeven", "tornado_chart", bar_swing)):
        pairs = list(zip(out[f"{prefix}_low"], out[f"{prefix}_high"]))
        order = sorted(range(len(pairs)), key=lambda i: -swings[i])
        out[f"tornado_sorted_{name}_label"] = [labels[i] for i in order]
        out[f"tornado_sorted_{name}_low"] = [pairs[i][0] for i in order]
        out[f"tornado_sorted_{name}_high"] = [pairs[i][1] for i in order]
    return out


# --- multi-tenant savings ----------------------------------------------------------------------

TEAMS_OUTPUTS = [name for name, *_rest in _teams.TOTALS] + ["teams_normal_fair",
                                                            "teams_priced_at",
                                                            "teams_spares_alike",
                                                            "teams_tokens_check"]


def _spares_alike(team, pool) -> str:
    """The Teams sheet's verdict on spares kept by one side only."""
    if pool > 0:
        return (f"both: each team {team:g}, the pool {pool:g}; failures past the pool's stop "
                "every team, past a team's only that team" if team > 0 else
                "no: only the pool keeps spares, which understates the saving")
    return ("no: only the teams keep spares; one pool stops every team when it fails" if team > 0
            else "alike (none: neither side is costed for failures)")


def _expect_teams(v, price):
    """The Teams sheet: each team's tokens a day and cv (blank: the Pooling sheet's), its
    deployment inputs and the Pooling sheet's percentile, correlation, price and hours."""
    tpd, cvs = v["teams_tokens_per_day"], v["teams_cv"]
    tps, g, u = v["teams_tokens_per_sec"], v["teams_gpus_per_deployment"], v["teams_utilization"]
    hours = v["hours_per_month"]
    spares = (v["teams_team_spares"], v["teams_pool_spares"])
    numbers = [x for x in tpd if x is not None]
    ok = (all(isinstance(x, (int, float)) for x in numbers) and min(numbers, default=0) >= 0
          and max(numbers, default=0) > 0
          and all(isinstance(c, (int, float)) and c >= 0 for c in cvs if c is not None)
          and isinstance(tps, (int, float)) and tps > 0 and isinstance(g, (int, float))
          and g >= 1 and g == int(g) and isinstance(u, (int, float)) and 0 < u <= 1
          and all(isinstance(k, (int, float)) and k >= 0 and k == int(k) for k in spares)
          and isinstance(hours, (int, float)) and 0 < hours <= 744)  # they set a day's hours
    if not ok:
        return {"teams_ok": False, **{o: "check inputs" for o in TEAMS_OUTPUTS}}
    loads = e.team_loads([x or 0 for x in tpd], tps, u, hours)
    cv = [v["cv"] if c is None else c for c in cvs]
    args = (v["percentile"], cv, g, v["correlation"])
    ded = e.teams_dedicated_gpus(loads, *args, spares[0])
    pool = e.teams_pooled_gpus(loads, *args, spares[1])
    cap = e.teams_pooled_capacity(loads, *args)
    used = [c for x, c in zip(tpd, cv) if x]  # each team with tokens: its cv or the sheet's
    most = max(used, default=0)
    exp = {"teams_ok": True, "teams_costs_ok": price is not None,
           "teams_normal_fair": ("yes" if most <= e.NORMAL_CV_MAX else
                                 f"no: cv {most:.2f} is bursty: the normal model's peaks can "
                                 f"be off either way ({_teams.TEAMS_CHECK})"),
           "teams_spares_alike": _spares_alike(*spares),
           "teams_tokens_check": _tokens_check(v),
           "teams_pooled_coverage": e.teams_pooled_coverage(loads, *args),
           "teams_dedicated_coverage": e.teams_dedicated_coverage(loads, *args),
           "teams_served_worse": e.teams_served_worse(loads, *args),
           "teams_served_worse_same_service": e.teams_served_worse_same_service(loads, *args),
           "teams_pooled_gpus_same_service": e.teams_pooled_gpus_same_service(loads, *args,
                                                                              spares[1]),
           "teams_savings_same_service": 1 - e.teams_pooled_gpus_same_service(
               loads, *args, spares[1]) / ded,
           "teams_dedicated_gpus": ded, "teams_pooled_gpus": pool, "teams_pooled_capacity": cap,
           "teams_savings_fraction": 1 - pool / ded,
           "teams_savings_from_peaks": (e.teams_dedicated_capacity(loads, *args) - cap) / ded,
           "teams_savings_from_rounding": (1 - pool / ded
                                           - (e.teams_dedicated_capacity(loads, *args) - cap) / ded),
           "teams_priced_at": (f"{_gpu_named(v['gpu'])}: ${price:,.2f}/GPU-h x "
                               f"{v['hours_per_month']:.0f} h a month"
                               if price is not None else "check inputs")}
    money = {"teams_dedicated_monthly_cost": ded, "teams_pooled_monthly_cost": pool,
             "teams_monthly_saving": ded - pool,
             "teams_like_for_like_monthly_saving": ded - e.teams_pooled_gpus_same_service(
                 loads, *args, spares[1])}
    for name, gpus in money.items():
        exp[name] = gpus * price * v["hours_per_month"] if price is not None else "check inputs"
    for name in ("teams_monthly_saving", "teams_like_for_like_monthly_saving"):
        exp[name.replace("teams_", "teams_net_", 1)] = (
            exp[name] - v["pool_own_cost"] if price is not None else "check inputs")
    exp["teams_pooled_cost_per_mtok"] = (
        e.cost_per_mtok_at_volume(pool * price * v["hours_per_month"], sum(numbers),
                                  e.api_days_per_month(v["hours_per_month"]))
        if price is not None else "check inputs")
    return exp


def _tokens_check(v) -> str:
    """The Teams sheet's line on the example's tokens/s priced at another GPU."""
    gpu, model, dtype, n = _teams.EXAMPLE
    if v["teams_tokens_per_sec"] != _teams.example_tokens_per_sec():
        return "yours, as typed"
    named = _gpu_named(v["gpu"] or "")
    if named == gpu:
        return f"the example's: {model} {dtype} on {n} x {gpu}"
    return f"no: the example's for {n} x {gpu}: retype it for {named}"


def _gpu_named(gpu) -> str:
    """The GPU the Teams sheet prices at: its catalog id, or as typed (a price typed for it),
    or "your GPU" where none is typed."""
    try:
        return catalog.gpu(gpu).id
    except (UnknownNameError, InvalidArgumentError):  # unknown, or blank
        return str(gpu).strip() or "your GPU"


def expect_multi_tenant(v):
    bad = {}
    if not 0.5 <= v["percentile"] < 1:
        bad["check_percentile"] = "percentile must be a number in [0.5, 1)"
    if v["tenants"] != int(v["tenants"]):
        bad["check_tenants"] = "tenants must be a whole number >= 1"
    grid_ok = min(v.get("grid_cvs", mt.GRID_CVS)) >= 0  # the grids alone wait for it
    try:
        gpu = catalog.gpu(v["gpu"])
    except UnknownNameError:  # the GPU enters the costs alone
        gpu = None
    typed = v.get("gpu_price_per_hour")
    price = (typed if typed is not None and typed > 0 else None if typed is not None
             else gpu.cloud_usd_per_hour if gpu else None)  # a typed price must be above 0
    # the GPU sets only the price: a price typed is enough, a GPU the catalog lacks or not
    gpu_ok = gpu is not None or v.get("gpu_price_per_hour") is not None
    hours_ok = 0 < v["hours_per_month"] <= 744
    # the pool's own cost enters the net savings alone (a CFO's read: no saving was net of it)
    own = v["pool_own_cost"]
    own_ok = isinstance(own, (int, float)) and own >= 0
    # the Teams sheet reads the percentile, correlation, cv and hours (a deployment's day), and
    # for its costs the GPU and its price: the other inputs' checks leave it alone
    teams = ({"teams_ok": False, **{o: "check inputs" for o in TEAMS_OUTPUTS},
              "check_teams_pooling": "fix the percentile, correlation, cv or hours on the "
                                     "Pooling sheet"}
             if "check_percentile" in bad or not hours_ok else
             _expect_teams(v, price if gpu_ok and own_ok else None))
    if bad:
        return {**bad, "inputs_ok": False, "counts_ok": False,
                **{o: "check inputs" for o in mt.OUTPUTS}, **teams}
    args = (v["tenants"], v["mean_utilization"], v["percentile"], v["cv"], v["gpus_per_tenant"],
            v["correlation"])
    lora = v["lora_models"]
    lora_ok = isinstance(lora, (int, float)) and lora >= 1 and lora == int(lora)
    ded, pool = e.dedicated_gpus(*args), e.pooled_gpus(*args)
    load = v["tenants"] * v["mean_utilization"] * v["gpus_per_tenant"]
    exp = {"inputs_ok": price is not None and gpu_ok and lora_ok, "counts_ok": True,
           "costs_ok": price is not None and gpu_ok, "lora_ok": lora_ok,
           "dedicated_capacity": e.dedicated_capacity(*args),
           "pooled_capacity": e.pooled_capacity(*args), "dedicated_gpus": ded,
           "pooled_gpus": pool, "dedicated_monthly_cost": ded * (price or 0) * v["hours_per_month"],
           "pooled_monthly_cost": pool * (price or 0) * v["hours_per_month"],
           "monthly_saving": (ded - pool) * (price or 0) * v["hours_per_month"],
           "savings_fraction": e.pooling_savings(*args),
           "savings_from_peaks": e.pooling_savings_from_peaks(*args),
           "savings_from_rounding": e.pooling_savings_from_rounding(*args),
           "dedicated_utilization": e.dedicated_utilization(*args),
           "savings_bound": 1 - e.dedicated_utilization(*args),
           "pooled_utilization": e.pooled_utilization(*args),
           "dedicated_coverage": e.dedicated_coverage(*args),
           "pooled_coverage": e.pooled_coverage(*args),
           "pooled_gpus_same_service": e.pooled_gpus_same_service(*args),
           "savings_same_service": 1 - e.pooled_gpus_same_service(*args) / ded,
           "like_for_like_monthly_saving": ((ded - e.pooled_gpus_same_service(*args))
                                            * (price or 0) * v["hours_per_month"]),
           "net_monthly_saving": (ded - pool) * (price or 0) * v["hours_per_month"] - own,
           "net_like_for_like_monthly_saving": ((ded - e.pooled_gpus_same_service(*args))
                                                * (price or 0) * v["hours_per_month"] - own),
           "pooled_capacity_utilization": load / e.pooled_capacity(*args),
           "tenant_deployments": ded / (v["tenants"] * v["gpus_per_tenant"]),
           "pooled_load": e.pooled_capacity(*args), "pool_step": _pool_step(args, ded, pool),
           "pool_step_share": (e.pool_step_share(*args) if pool > v["gpus_per_tenant"]
                               else "-"),
           "pool_headroom_share": e.pool_headroom_share(*args),
           "pool_step_dedicated": (_dedicated_at(args, -e.pool_step_share(*args))
                                   if pool > v["gpus_per_tenant"] else "-"),
           "pool_headroom_dedicated": _dedicated_at(args, e.pool_headroom_share(*args)),
           "cost_reduction_factor": ded / pool, "bound_holds": "OK: *",
           "normal_model_fair": ("yes" if v["cv"] <= e.NORMAL_CV_MAX else
                                 f"no: cv {v['cv']:.2f} is bursty: the normal model's peaks "
                                 "can be off either way (pooling_monte_carlo)"),
           "lora_savings_fraction": e.lora_sharing_savings(
               v["lora_models"], v["lora_overhead"], v["mean_utilization"], v["percentile"],
               v["cv"], v["correlation"]) if lora_ok else "check inputs",
           "lora_shared_coverage": e.lora_shared_coverage(
               v["lora_models"], v["lora_overhead"], v["mean_utilization"], v["percentile"],
               v["cv"], v["correlation"]) if lora_ok else "check inputs"}
    if not lora_ok:  # the LoRA line alone waits for the LoRA inputs
        exp["check_lora_models"] = "lora_models must be a whole number >= 1"
    if price is None or not hours_ok or not own_ok:  # only the costs wait for these
        exp.update(dedicated_monthly_cost="check inputs", pooled_monthly_cost="check inputs",
                   monthly_saving="check inputs", like_for_like_monthly_saving="check inputs",
                   net_monthly_saving="check inputs",
                   net_like_for_like_monthly_saving="check inputs", inputs_ok=False,
                   costs_ok=False)
    if not own_ok:
        exp["check_pool_own_cost"] = "the pool's own cost must be a number >= 0"
    if typed is not None and typed <= 0:
        exp["check_gpu_price_per_hour"] = "GPU price must be a number > 0"
    elif price is None and gpu is not None:
        exp["check_gpu_price_per_hour"] = "GPU price: no catalog price: enter yours"
    if not hours_ok:
        exp["check_hours"] = "hours_per_month must be a number in (0, 744]"
    exp.update(teams)
    rest = args[1:]
    ks = range(1, mt.TENANT_ROWS + 1)
    exp["table_dedicated_gpus"] = [e.dedicated_gpus(k, *rest) for k in ks]
    exp["table_pooled_gpus"] = [e.pooled_gpus(k, *rest) for k in ks]
    exp["table_savings"] = [e.pooling_savings(k, *rest) for k in ks]
    exp["table_bounds"] = [1 - e.dedicated_utilization(k, *rest) for k in ks]
    exp["table_pooled_utilization"] = [e.pooled_utilization(k, *rest) for k in ks]
    exp["table_pool_short"] = [1 - e.pooled_coverage(k, *rest) for k in ks]
    exp["table_pooled_gpus_same_service"] = [e.pooled_gpus_same_service(k, *rest) for k in ks]
    exp["table_savings_same_service"] = [1 - e.pooled_gpus_same_service(k, *rest)
                                         / e.dedicated_gpus(k, *rest) for k in ks]
    grid = [(p, c) for p in v.get("grid_percentiles", mt.GRID_PERCENTILES)
            for c in v.get("grid_cvs", mt.GRID_CVS)]
    if grid_ok:
        exp["grid_savings"] = [e.pooling_savings(v["tenants"], v["mean_utilization"], p, c,
                                                 v["gpus_per_tenant"], v["correlation"])
                               for p, c in grid]
        exp["grid_bounds"] = [1 - e.dedicated_utilization(v["tenants"], v["mean_utilization"],
                                                          p, c, v["gpus_per_tenant"],
                                                          v["correlation"]) for p, c in grid]
    else:
        exp["check_grid"] = "grid headers: percentiles in [0.5, 1), cv >= 0"
        exp["inputs_ok"] = False
        exp["grid_savings"] = exp["grid_bounds"] = ["check inputs"] * len(grid)
    return exp


# --- capacity planner --------------------------------------------------------------------------

def _user_gpu(v):
    def given(f):  # blank (and an engine cap that is no whole number >= 1): the default
        x = v.get("user_" + f)
        return x is not None and (not catalog.field_bounds("gpu", f)[2]  # a count: whole >= 1
                                  or (x >= 1 and x == int(x)))
    spec = "; ".join(f"{f}={v['user_' + f]:.17g}" for f in cp.USER_FIELDS if given(f))
    return catalog.gpu(spec + f"; vendor={v['user_vendor']}")


def expect_planner(v):
    try:
        m = catalog.model(v["model"])
    except Exception:
        return {"check_model": "unknown model: pick one from the list", "all_ok": False,
                "work_ok": False, **{o: "check inputs" for o in cp.OUTPUTS}, **_NO_GROWTH}
    held = v["input_tokens"] + v["output_tokens"]
    if m.max_context and held > m.max_context:  # memory.why_not: runs on no GPU count
        return {"check_request_context": f"input + output ({held:,.0f} tokens) exceed the "
                f"model's {m.max_context:,.0f}-token context", "all_ok": False,
                "work_ok": False, **{o: "check inputs" for o in cp.OUTPUTS}, **_NO_GROWTH}
    bad, steps = _planner_table_check(v), _steps_check(v)
    yours = str(v["sla_gpu"]).strip().lower() == "yours"
    if steps:  # the latency targets alone read them: on your GPU they wait, the table stands
        exp = expect_planner({**v, "user_scheduler_steps": None})
        exp.update(steps, all_ok=False)
        if yours:
            exp.update({"check_sla_gpu": "your GPU: see its checks", "sla_ok": False,
                        **{o: "check inputs" for o in cp.OUTPUTS if o.startswith("sla_")}})
            exp = {k: x for k, x in exp.items() if not k.startswith("sla_") or k == "sla_ok"
                   or k in cp.OUTPUTS}
        return exp
    if bad and yours and set(bad) - {"check_duty"}:
        # your GPU's own figures are wrong, and the latency targets size it: all answers wait
        return {**bad, "check_sla_gpu": "your GPU: see its checks", "all_ok": False,
                "work_ok": True, "table_ok": False, "sla_ok": False, "user_gpu_ok": False,
                **{o: "check inputs" for o in cp.OUTPUTS}, **_NO_GROWTH, **_cheapest(v)}
    if bad:  # the table's answers wait; the latency targets' read none of its inputs
        return {**bad, "all_ok": False, "work_ok": True, "table_ok": False, "sla_ok": True,
                **{o: "check inputs" for o in cp.OUTPUTS if not o.startswith("sla_")},
                **_NO_GROWTH,
                **_cheapest(v), **_latency_targets(v, m, int(v["num_gpus"]))}
    gpus = [_user_gpu(v)] + catalog.gpus()
    n, frac = int(v["num_gpus"]), float(v["mem_fraction"])
    cols = {k: [] for k in ("w_max_batch_fit", "w_concurrency", "w_t_step",
                            "w_replica_output_tokens_per_sec", "w_slots_memory", "w_slots",
                            "w_users_replica", "w_users_per_gpu", "w_headroom", "w_price_used",
                            "w_cost_per_mtok", "w_cost_per_user_month", "w_peak_tflops",
                            "w_mbu", "w_t_allreduce", "w_weights_read", "tbl_fits",
                            "w_replicas_users", "w_gpus_users", "w_cost_users")}
    keys = []
    for i, g in enumerate(gpus):
        row = _planner_row(v, m, g, n, frac, (v.get("your_price") or {}).get(i), i)
        for k in cols:
            cols[k].append(row[k])
        keys.append(row["key"])
    order = sorted(range(len(keys)), key=lambda i: (keys[i], i))
    labels = [v["user_gpu_label"]] + catalog.gpu_ids()
    exp = dict(cols, all_ok=True)
    exp["rank_gpu"] = [labels[i] if math.isfinite(keys[i]) else None
                       for i in order[:cp.RANK_ROWS]]
    exp["rank_cost_per_mtok"] = [keys[i] if math.isfinite(keys[i]) else None
                                 for i in order[:cp.RANK_ROWS]]
    # the headline ranks the catalog's GPUs; your GPU (row 0) has its own line
    best = min(range(1, len(keys)), key=lambda i: (keys[i], i))
    if math.isfinite(keys[best]):
        exp["cheapest_gpu"], exp["cheapest_cost_per_mtok"] = labels[best], keys[best]
    else:
        exp["cheapest_gpu"] = _no_gpu(v, m, n)
    exp["user_gpu_shown"] = v["user_gpu_label"]
    p0 = cols["w_price_used"][0]
    exp["user_price_shown"] = "none: type it there" if p0 == "no catalog price" else p0
    # your GPU's cost stands where no request gets the user tokens/s (its users say so)
    c0 = cols["w_cost_per_mtok"][0]
    exp["user_gpu_cost_per_mtok"] = c0 if isinstance(c0, float) or c0 == cp.BAD_PRICE else "-"
    exp["user_gpu_users_at_context"] = cols["w_slots_memory"][0]
    exp["user_gpu_users_per_gpu"] = cols["w_users_per_gpu"][0]
    exp["user_gpu_cost_per_user_month"] = cols["w_cost_per_user_month"][0]
    # per user the catalog's cheapest (the first of equals, as MATCH finds it)
    per_user = [(c, i) for i, c in enumerate(cols["w_cost_per_user_month"])
                if i and isinstance(c, float)]
    exp["cheapest_gpu_per_user"], exp["cheapest_cost_per_user_month"] = (
        (labels[min(per_user)[1]], min(per_user)[0]) if per_user
        else (_no_gpu(v, m, n), "-"))
    exp.update(_users_bill(v, m, n, cols, labels))
    exp.update(_latency_targets(v, m, n))
    exp.update(_prices_check(v))
    return {k: x for k, x in exp.items() if x is not None}


def cannot_run(g, m, wd, kd, tokens, n, frac, otherwise: str) -> str:
    """The workbooks' words for memory.why_not's reason (``_napkin.cannot_run``), else
    ``otherwise``."""
    why = memory.why_not(g, m, wd, kd, tokens, 1, n, frac)
    return (_gpu_heads_text(g, m, wd, kd, tokens, n, frac) if "cannot be split" in why else
            sh.LINK if "so it serves a model on one GPU only" in why else
            sh.CONTEXT if "holds at most" in why else otherwise)


def _heads_text(m, wd, n) -> str:
    more = [k for k in memory.tp_degrees(m, None, wd) if k >= n]
    return sh.HEADS + (f"; at most {m.layers}" if memory.by_layers(m, wd) else
                       f"; use num_gpus {more[0]}" if more else "")


def _gpu_heads_text(g, m, wd, kd, tokens, n, frac) -> str:
    """_napkin.GPU_NEXT_SPLIT's advice: one GPU where this one has no link, else the next count
    the heads split over from the fewest GPUs that hold the request."""
    if n > 1 and not g.interconnect_gbps:
        return sh.HEADS + "; use num_gpus 1"
    if memory.by_layers(m, wd):
        return sh.HEADS + f"; at most {m.layers}"
    start = max(n, _num(memory.gpus_needed(g, m, wd, tokens, 1, kd, frac)))
    more = [k for k in memory.tp_degrees(m, None, wd) if k >= start]
    return sh.HEADS + (f"; use num_gpus {more[0]}" if more else "")


def _no_gpu(v, m, n) -> str:
    """The planner's headline where no catalog GPU answers (capacity_planner.NO_GPU): the
    heads or the context of the Latency sheet's request, which no GPU changes."""
    wd = v["weight_dtype"]
    if n not in memory.tp_degrees(m, None, wd):
        return _heads_text(m, wd, n)
    if m.max_context and float(v["input_tokens"]) + float(v["output_tokens"]) > m.max_context:
        return sh.CONTEXT
    return "no priced GPU serves a user"


def _bad_price(your) -> bool:
    """A price typed in 'your $/GPU-h' that the sheet does not take: not a number >= 0."""
    return your is not None and (isinstance(your, str) or your < 0)


def _prices_check(v) -> dict:
    """What a price typed wrong blanks besides its own row (which says "check price"): the
    ranking, which compares every row's price, and where it is a catalog row's, the cheapest
    catalog GPU; the rest of the table stands."""
    typed = v.get("your_price") or {}
    bad = {own: [x for row, x in typed.items() if (row == 0) == own and _bad_price(x)]
           for own in (True, False)}
    words = {own: "not a number" if any(isinstance(x, str) for x in xs) else "negative"
             for own, xs in bad.items()}
    out = {}
    if bad[False]:
        out.update(check_prices=f"a price in 'your $/GPU-h' is {words[False]}", catalog_ok=False,
                   cheapest_gpu="check inputs", cheapest_cost_per_mtok="check inputs")
    if bad[True]:
        out["check_your_price"] = f"row 1's price in 'your $/GPU-h' is {words[True]}"
    if out:
        out.update(all_ok=False, rank_ok=False, rank_gpu=["check inputs"] * cp.RANK_ROWS,
                   cheapest_gpu_per_user="check inputs",
                   cheapest_cost_per_user_month="check inputs",
                   **{k: "check inputs" for k in ("cheapest_gpu_for_users",
                                                  "cheapest_gpus_for_users",
                                                  "cheapest_cost_for_users")}, **_NO_GROWTH,
                   rank_cost_per_mtok=[None] * cp.RANK_ROWS)
    return out


def _cheapest(v) -> dict:
    """The cheapest catalog GPU, which reads neither your GPU nor the users' inputs but their
    context and tokens/s (a GPU on which no user fits is no answer): the answer with the others
    at valid values, "check inputs" where those two are not as the checks ask."""
    speed, ctx = v["user_tokens_per_sec"], v["context_tokens"]
    if (isinstance(speed, str) or not speed > 0 or isinstance(ctx, str) or not ctx >= 1
            or ctx != int(ctx)):
        return {"catalog_ok": False, "cheapest_gpu": "check inputs",
                "cheapest_cost_per_mtok": "check inputs"}
    clean = dict(v, duty_cycle=0.5, **{"user_" + f: cp.USER_GPU[f] for f in cp.USER_FIELDS})
    full = expect_planner(clean)
    return {"catalog_ok": True, **{k: full[k] for k in ("cheapest_gpu", "cheapest_cost_per_mtok")
                                   if k in full}}


def _steps_check(v) -> dict:
    """Your GPU's decode steps per decision: blank, or what a catalog row may hold."""
    x, (least, most, _) = v.get("user_scheduler_steps"), catalog.field_bounds("gpu",
                                                                               "scheduler_steps")
    if x is None or (not isinstance(x, str) and least <= x <= most and x == int(x)):
        return {}
    rule = _checks.requirement(least, most, integer=True)
    return {"check_user_steps": f"scheduler_steps must be blank or {rule}"}


_PLANNER_DEFAULT = {name: default for name, _l, default, *_r in cp.INPUT_ROWS}


def _users_ok(v) -> bool:
    x = v["users"]  # blank (None) and text are refused, as negatives and fractions are
    return isinstance(x, (int, float)) and x >= 0 and x == int(x)


def _users_bill(v, m, n, cols, labels) -> dict:
    """The month's bill for the users typed: your GPU's (row 0) and the catalog's cheapest (the
    first of equals, as MATCH finds it); "check inputs" where the users are not a whole number
    >= 0, the other answers standing."""
    names = ("cheapest_gpu_for_users", "cheapest_gpus_for_users", "cheapest_cost_for_users",
             "user_gpu_gpus_for_users", "user_gpu_cost_for_users")
    if not _users_ok(v):
        return {"check_users": "users must be a whole number >= 0", "users_ok": False,
                "all_ok": False, **{k: "check inputs" for k in names}, **_NO_GROWTH}
    bills = [(c, i) for i, c in enumerate(cols["w_cost_users"]) if i and isinstance(c, float)]
    best = min(bills) if bills else None
    return {"users_ok": True, "users_request_rate": capacity.users_request_rate(
                v["users"], v["duty_cycle"], v["user_tokens_per_sec"], v["output_tokens"]),
            "user_gpu_gpus_for_users": cols["w_gpus_users"][0],
            "user_gpu_cost_for_users": cols["w_cost_users"][0],
            "cheapest_gpu_for_users": labels[best[1]] if best else _no_gpu(v, m, n),
            "cheapest_gpus_for_users": cols["w_gpus_users"][best[1]] if best else "-",
            "cheapest_cost_for_users": best[0] if best else "-",
            **(_growth(v, n, math.floor(cols["w_slots"][best[1]]),
                       cols["w_price_used"][best[1]]) if best else _NO_GROWTH)}


_NO_GROWTH = {"growth_users": [None] * len(cp.GROWTH), "growth_gpus": [None] * len(cp.GROWTH),
              "growth_cost": [None] * len(cp.GROWTH),
              "growth_cost_per_user": [None] * len(cp.GROWTH), "growth_slots": 0,
              "growth_price": 0}


def _growth(v, n, slots, price) -> dict:
    """The users' bill at multiples of the users typed, on the GPU cheapest for them (its whole
    slots and price): REPLICAS_FOR_USERS x GPUs per replica x price x hours."""
    users = [math.floor(v["users"] * f + 0.5) for f in cp.GROWTH]  # INT(x + 0.5): halves up
    gpus = [e.replicas_for_users(u, slots, v["duty_cycle"], v["concurrency_percentile"]) * n
            for u in users]
    cost = [g * price * v["hours_per_month"] for g in gpus]
    return {"growth_users": users, "growth_gpus": gpus, "growth_cost": cost,
            "growth_cost_per_user": [c / u if u else None for c, u in zip(cost, users)],
            "growth_slots": slots, "growth_price": price}


def _planner_table_check(v) -> dict:
    """The table's own checks that fail in these scenarios, with their messages."""
    bad = {}
    if not 0 < v["duty_cycle"] <= 1:
        bad["check_duty"] = "duty_cycle must be a number in (0, 1]"
    speed = v["user_tokens_per_sec"]
    if isinstance(speed, str) or not speed > 0:
        bad["check_user_rate"] = "user_tokens_per_sec must be a number > 0"
    cap = v.get("user_max_concurrency")
    if cap is not None and not (cap >= 1 and cap == int(cap)):
        bad["check_user_cap"] = "max_concurrency must be blank or a whole number >= 1"
    # what a catalog row of the GPU may hold (its engine cap: above; its decode steps per
    # decision: _steps_check, as only the latency targets read them)
    for f in [f for f in cp.USER_FIELDS if f not in ("max_concurrency", "scheduler_steps")]:
        x, (least, most, whole) = v.get("user_" + f), catalog.field_bounds("gpu", f)
        if x is not None and not (least <= x <= most and (not whole or x == int(x))):
            rule = _checks.requirement(least, most, integer=whole)
            bad["check_user_fields"] = f"your GPU's {f} must be blank or {rule}"
            break
    return bad


def _latency_targets(v, m, n) -> dict:
    """The Latency sheet's answers: queueing's functions on the GPU to size, in the planner's
    memory share."""
    yours = str(v["sla_gpu"]).strip().lower() == "yours"  # your GPU, the table's row 0
    g = _user_gpu(v) if yours else catalog.gpu(v["sla_gpu"])
    shown = v["user_gpu_label"] if yours else g.id
    wd, kd, eff, p = v["weight_dtype"], v["kv_dtype"], _eff(v), v["sla_percentile"]
    inp, out, rate = float(v["input_tokens"]), float(v["output_tokens"]), v["requests_per_sec"]
    budget = v.get("token_budget")
    frac = float(v["mem_fraction"])
    shape = (inp, out, wd, kd, n, p, eff,
             queueing.PREFILL_CHUNK if budget in (None, "") else float(budget), frac)
    best = _num(queueing.max_rate_for_sla(g, m, v["ttft_ms"], v["tpot_ms"], *shape))
    row = 0 if yours else catalog.gpu_ids().index(g.id) + 1  # row 0: your GPU
    your = (v.get("your_price") or {}).get(row)
    price = your if your is not None else (None if yours else g.cloud_usd_per_hour)
    shown_price = cp.BAD_PRICE if _bad_price(your) else price or "no catalog price"
    if not math.isfinite(best):
        said = udfs.MAX_RATE_FOR_SLA(g.id, m.id, v["ttft_ms"], v["tpot_ms"], *shape)
        # an idle replica's TTFT and TPOT, as queueing's own message takes them (the sheet
        # words them to a tenth and a hundredth of a ms)
        r = queueing._Replica(g, m, inp, out, wd, kd, n, eff, *shape[-2:])
        first = float(r.ttft(1e-9, r.rate(1e-9), p)) * 1e3
        token = float(r.step(1e-9)) * 1e3
        both = (f", and its tokens {queueing._ms_text(token, 2)} ms" if "; nor tpot_ms" in said
                else "")
        hint_t, hint_p = (queueing._hint(h, memory.by_layers(m, wd), roofline._past_domain(g, n),
                                         f"{g.nvlink_gpus or 0:g}", sheet=True)
                          for h in (queueing.SHORTER_TTFT, queueing.SHORTER_TPOT))
        why = ((f"no rate: even an idle replica's first token takes "
                f"{queueing._ms_text(first, 1)} ms{both}{hint_t}"
                if said.startswith("no rate meets ttft_ms")
                else f"no rate: even an idle replica's tokens take "
                     f"{queueing._ms_text(token, 2)} ms{hint_p}")
               if said.startswith("no rate meets")
               else "does not fit: " + fit_advice(g, m, wd, _num(memory.gpus_needed(
                   g, m, wd, inp + out, 1, kd, frac)), frac)
               if " GB" in said else cannot_run(g, m, wd, kd, inp + out, n, frac, "cannot run"))
        return {"sla_gpu_shown": shown, "sla_max_rate": "none", "sla_why_none": why,
                "sla_gpu_price": shown_price,
                **{k: "-" for k in ("sla_replicas", "sla_gpus", "sla_stop",
                                                          "sla_cost_per_month", "sla_ttft",
                                                          "sla_tpot", "sla_cost_per_mtok")}}
    reps = _num(queueing.replicas_for_sla(g, m, rate, v["ttft_ms"], v["tpot_ms"], *shape))
    # what stops the rate: the engine's own answer (a review: a copy of its rule here would
    # fail for the wrong reason where the rule changes, and share a bug with the sheet)
    stop = queueing.what_stops(g, m, v["ttft_ms"], v["tpot_ms"], *shape)
    gpus = (reps + v["sla_spare_replicas"]) * n  # the spares are paid for too
    month = (cp.BAD_PRICE if _bad_price(your) else gpus * price * v["hours_per_month"] if price
             else "no price*")
    # a month of tokens at the peak rate over that month's bill (the hours cancel)
    per_mtok = (month if isinstance(month, str) else "no traffic" if rate <= 0 else
                e.cost_per_mtok(price, rate * (inp + out), 1.0, gpus))
    return {"sla_gpu_shown": shown, "sla_max_rate": best, "sla_stop": stop, "sla_replicas": reps,
            "sla_gpus": gpus, "sla_gpu_price": shown_price, "sla_cost_per_month": month,
            "sla_cost_per_mtok": per_mtok,
            "sla_ttft": _num(queueing.ttft_at_rate(g, m, rate / reps, *shape)),
            "sla_tpot": _num(queueing.tpot_at_rate(g, m, rate / reps, *shape))}


def _planner_row(v, m, g, n, frac, your, i):
    wd, kd, eff = v["weight_dtype"], v["kv_dtype"], _eff(v)
    inp, out = float(v["input_tokens"]), float(v["output_tokens"])
    s = serving_steps(g, m, v, n, frac)
    row = {f"w_{k}": s[k] for k in ("max_batch_fit", "concurrency", "t_step", "peak_tflops",
                                    "mbu", "t_allreduce", "weights_read")}
    need = _num(memory.gpus_needed(g, m, wd, inp + out, 1, kd, frac))
    why = memory.why_not(g, m, wd, kd, inp + out, 1, n, frac)
    row["tbl_fits"] = ("yes" if s["concurrency"] >= 1 else
                       "no: layers do not split" if "layers cannot be split" in why else
                       "no: heads do not split" if "cannot be split" in why else
                       "no: no GPU link" if "so it serves a model on one GPU only" in why else
                       "no: context too long" if "holds at most" in why else
                       "no: no GPU link" if memory.NO_LINK_ADVICE in why else
                       f"no: {split_gpus(m, need, wd):.0f} GPUs" if split_gpus(m, need, wd) else
                       "no: too big")
    tput = _num(serving.max_throughput(g, m, inp, out, wd, kd, n, eff, frac))
    ok = math.isfinite(tput)
    row["w_replica_output_tokens_per_sec"] = tput if ok else "does not fit"
    cap = serving.engine_cap(g, m, wd, n, eff)
    # a user holds at least the request in flight
    fit = _num(memory.max_batch(g, m, max(v["context_tokens"], inp + out), wd, kd, n, frac))
    # the sheet: 0 where the heads do not split (max_batch NaN) or several GPUs have no link
    linked = n <= 1 or bool(g.interconnect_gbps)
    mem_slots = min(fit, cap) if math.isfinite(fit) and linked else 0.0
    # at a user's mean context while its request decodes: what it holds less half an output
    held = max(v["context_tokens"], inp + out) - out / 2
    speed = serving.concurrency_at_speed(g, m, v["user_tokens_per_sec"], inp, out, wd, kd, n,
                                         eff, frac, held) if ok else 0.0
    slots = min(mem_slots, speed)
    users = e.users_at_percentile(slots, v["duty_cycle"], v["concurrency_percentile"])
    row.update({"w_slots_memory": mem_slots, "w_slots": slots, "w_users_replica": users,
                "w_users_per_gpu": users / n,
                # of the whole slots the users were sized on (a review: 11.3 % where 10.8 %)
                "w_headroom": e.slot_headroom(users, v["duty_cycle"], math.floor(slots))
                if slots >= 1 and users > 0 else "-"})
    price = your if your is not None else (g.cloud_usd_per_hour if i > 0 else None)
    row["w_price_used"] = price if price else "no catalog price"
    if _bad_price(your):  # this row's costs say so; the other rows stand
        row["w_price_used"] = price = cp.BAD_PRICE
    if not ok:
        cost = "does not fit"
    elif price == cp.BAD_PRICE:
        cost = price
    elif not price:
        cost = "no price"
    else:
        cost = e.cost_per_mtok(price, tput * (inp + out) / out, v["utilization"], n)
        if frac == 0.9:  # the engine's own memory share: its function must agree
            engine = capacity.self_host_cost_per_mtok(g, m, price, inp, out, wd, kd, n,
                                                      v["utilization"], eff)
            assert _same_number(cost, float(engine)), (cost, engine)
    row["w_cost_per_mtok"] = cost
    per_gpu = users / n
    row["w_cost_per_user_month"] = ("no users fit" if per_gpu <= 0 else "no price" if not price
                                    else price if price == cp.BAD_PRICE
                                    else e.cost_per_user_month(price, per_gpu,
                                                               v["hours_per_month"]))
    # the users' bill: every replica's slots one pool (REPLICAS_FOR_USERS); users typed wrong
    # are the default's on the Working sheet, while the answers that read them wait
    users = v["users"] if _users_ok(v) else _PLANNER_DEFAULT["users"]
    reps = (e.replicas_for_users(users, slots, v["duty_cycle"], v["concurrency_percentile"])
            if slots >= 1 else "no users fit")
    gpus = reps * n if isinstance(reps, float) else reps
    row.update({"w_replicas_users": reps, "w_gpus_users": gpus,
                "w_cost_users": gpus if isinstance(gpus, str) else "no price" if not price
                else price if price == cp.BAD_PRICE
                else gpus * price * v["hours_per_month"]})
    # ranked where at least one user fits: their context, and the user tokens/s for one request
    row["key"] = cost if isinstance(cost, float) and slots > 0 else math.inf
    return row
