"""Recalculate the template workbooks headlessly and compare every named cell with the engine.

For each template: the default inputs, 20 seeded random scenarios and a few invalid ones, each
recalculated by ``formulas`` (pure Python) and by LibreOffice. Expected values come from the
engine *at test time* (``xlnapkin.memory``, ``roofline``, ``serving``, ``economics``), so the
tests follow changes to the engine and its calibrated constants.

Tolerance: relative 1e-9 everywhere. The spreadsheet does the engine's arithmetic in a different
order, which moves results by a few ulps (~1e-16), and LibreOffice writes values with 15
significant digits (~1e-15); 1e-9 leaves room for both and still catches any real formula
difference (the smallest of which changes results by > 1e-6). Whole-number results (replicas,
GPUs, batches) must match exactly.
"""

from __future__ import annotations

import concurrent.futures
import math
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from xlnapkin import calibration, capacity as cap_engine, catalog, economics, memory, roofline, serving, units
from xlnapkin.templates import build_all
from xlnapkin.templates import capacity_planner as cp
from xlnapkin.templates import multi_tenant_savings as mt
from xlnapkin.templates import self_host_breakeven as sh

import _recalc as rc

SEED = 20240611
N_RANDOM = 20
HERE = Path(__file__).parent


# --- scenarios -----------------------------------------------------------------------------------

WEIGHT_DTYPES = ["bf16", "fp16", "fp8", "int8", "int4", "fp4", "nvfp4", "mxfp4", "q4_k_m",
                 "q8_0", 4.5]
KV_DTYPES = ["bf16", "fp8", "int8", "fp4"]


def _fitting_gpus(rnd, g, m, wd, kd, tokens):
    need = int(memory.gpus_needed(g, m, wd, tokens, 1, kd, 0.9))
    if rnd.random() < 0.8 and need <= 64:
        return max(1, need + rnd.choice([0, 0, 1]))
    return rnd.choice([1, 2, 4, 8])


def self_host_scenarios(defaults):
    rnd = random.Random(SEED)
    out = [("defaults", dict(defaults))]
    for i in range(N_RANDOM):
        v = dict(defaults)
        v["gpu"] = rnd.choice(catalog.gpu_ids())
        v["model"] = rnd.choice(catalog.model_ids())
        v["weight_dtype"] = rnd.choice(WEIGHT_DTYPES)
        v["kv_dtype"] = rnd.choice(KV_DTYPES)
        v["input_tokens"] = rnd.choice([16, 128, 512, 1024, 2048, 8192, 32000])
        v["output_tokens"] = rnd.choice([1, 16, 256, 1024, 4096])
        v["num_gpus"] = _fitting_gpus(rnd, v["gpu"], v["model"], v["weight_dtype"],
                                      v["kv_dtype"], v["input_tokens"] + v["output_tokens"])
        v["tokens_per_day"] = round(10 ** rnd.uniform(4, 10.5))
        v["hardware"] = rnd.choice(["rent", "rent", "own"])
        v["gpu_price_per_hour"] = round(rnd.uniform(0.2, 8), 2)
        v["utilization"] = round(rnd.uniform(0.2, 1.0), 3)
        v["hours_per_month"] = rnd.choice([730.0, 720.0, 500.0, 744.0])
        v["api_price_in_per_mtok"] = round(rnd.uniform(0, 10), 3)
        v["api_price_out_per_mtok"] = round(rnd.uniform(0.1, 40), 3)
        v["input_share"] = round(rnd.uniform(0, 1), 3)
        v["api"] = rnd.choice(catalog.price_ids() + ["not-an-api"])
        v["efficiency"] = rnd.choice([None, None, None, 1.0, round(rnd.uniform(0.2, 1), 3)])
        v["mem_fraction"] = rnd.choice([0.9, 0.9, 0.9, 1.0, 0.8])
        v["purchase_price"] = rnd.choice([1500.0, 25000.0, 32000.0])
        v["years"] = rnd.choice([2.0, 3.0, 5.0])
        v["power_watts"] = rnd.choice([0.0, 350.0, 700.0, 1000.0])
        v["price_per_kwh"] = rnd.choice([0.0, 0.08, 0.15])
        v["pue"] = rnd.choice([1.0, 1.3])
        v["annual_overhead"] = rnd.choice([0.0, 0.1])
        v["volume_min"] = rnd.choice([1e4, 1e5, 1e6])
        v["volume_max"] = rnd.choice([1e9, 1e10])
        out.append((f"random{i}", v))
    out.append(("unknown gpu", dict(defaults, gpu="h10")))
    out.append(("negative price", dict(defaults, gpu_price_per_hour=-1.0)))
    out.append(("too big", dict(defaults, model="llama-3.1-405b")))
    out.append(("text gpus", dict(defaults, num_gpus="two")))
    out.append(("unknown dtype", dict(defaults, weight_dtype="fp7")))
    out.append(("share above 1", dict(defaults, input_share=1.5)))
    return out


def multi_tenant_scenarios(defaults):
    rnd = random.Random(SEED + 1)
    out = [("defaults", dict(defaults))]
    for i in range(N_RANDOM):
        v = dict(defaults)
        v["tenants"] = rnd.choice([1, 2, 3, 5, 10, 17, 50, 200])
        v["mean_utilization"] = round(rnd.uniform(0.02, 1.0), 3)
        v["percentile"] = rnd.choice([0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.3])
        v["cv"] = rnd.choice([0.0, 0.1, 0.25, 0.5, 1.0, 2.0])
        v["gpus_per_tenant"] = rnd.choice([1, 1, 2, 8])
        v["correlation"] = rnd.choice([0.0, 0.0, 0.2, 1.0])
        v["gpu_price_per_hour"] = round(rnd.uniform(0, 8), 2)
        v["hours_per_month"] = rnd.choice([730.0, 720.0, 100.0])
        v["lora_models"] = rnd.choice([1, 5, 50, 100])
        v["lora_overhead"] = rnd.choice([0.0, 0.02, 0.1, 0.5])
        out.append((f"random{i}", v))
    out.append(("bad percentile", dict(defaults, percentile=1.5)))
    out.append(("fractional tenants", dict(defaults, tenants=2.5)))
    return out


def planner_scenarios(defaults):
    rnd = random.Random(SEED + 2)
    n_rows = 1 + len(catalog.gpu_ids())
    out = [("defaults", dict(defaults))]
    for i in range(N_RANDOM):
        v = dict(defaults)
        v["model"] = rnd.choice(catalog.model_ids())
        v["weight_dtype"] = rnd.choice(WEIGHT_DTYPES)
        v["kv_dtype"] = rnd.choice(KV_DTYPES)
        v["num_gpus"] = rnd.choice([1, 1, 2, 4, 8])
        v["input_tokens"] = rnd.choice([16, 512, 1024, 4096])
        v["output_tokens"] = rnd.choice([1, 64, 1024])
        v["decode_batch"] = rnd.choice([1, 8, 64, 281, 512])
        v["decode_context"] = rnd.choice([0, 1024, 16000])
        v["context_tokens"] = rnd.choice([512, 8192, 32768, 200000])
        v["duty_cycle"] = round(rnd.uniform(0.01, 1), 3)
        v["user_tokens_per_sec"] = rnd.choice([5.0, 20.0, 50.0])
        v["utilization"] = round(rnd.uniform(0.2, 1), 3)
        v["hours_per_month"] = rnd.choice([730.0, 720.0])
        v["efficiency"] = rnd.choice([None, None, 1.0, 0.5])
        v["mem_fraction"] = rnd.choice([0.9, 0.9, 1.0, 0.7])
        base = catalog.gpu(rnd.choice(catalog.gpu_ids()))
        for f in ("memory_gb", "mem_bw_tbps", "bf16_tflops", "fp8_tflops", "fp4_tflops",
                  "int8_tops", "interconnect_gbps"):
            v[f"user_{f}"] = float(getattr(base, f) or 0.0)
        v["user_memory_gb"] = rnd.choice([v["user_memory_gb"], 192.0, 24.0])
        v["user_vendor"] = base.vendor
        v["your_price"] = {r: round(rnd.uniform(0.1, 10), 2) for r in range(n_rows)
                           if rnd.random() < 0.5}
        out.append((f"random{i}", v))
    seed001 = dict(defaults, context_tokens=200000, mem_fraction=1.0, duty_cycle=1.0,
                   hours_per_month=720.0)
    out.append(("seed 001", seed001))
    out.append(("unknown model", dict(defaults, model="nope")))
    return out


# --- expected values from the engine -------------------------------------------------------------

def _eff(v):
    e = v.get("efficiency")
    return None if e in (None, "", 0) else float(e)


def _num(x):
    return float(np.asarray(x, dtype=float))


def expect_serving_steps(g, m, v, n, frac):
    """Engine values of the shared napkin-math steps (names as in _napkin)."""
    wd, kd, eff = v["weight_dtype"], v["kv_dtype"], _eff(v)
    inp, out = float(v["input_tokens"]), float(v["output_tokens"])
    e = calibration.resolve(eff, g)
    conc = _num(serving.concurrency_under_load(g, m, inp, out, wd, kd, n, frac, eff))
    b = max(conc, 1.0)
    ctx = inp + out / 2
    return {
        "w_bits": units.dtype_bits(wd), "kv_bits": units.dtype_bits(kd),
        "weight_bytes": memory.weight_bytes(m, wd),
        "kv_elements": memory.kv_elements_per_token(m),
        "kv_bytes_per_seq": _num(memory.kv_bytes(m, inp + out, 1, kd)),
        "kv_bytes_ctx": _num(memory.kv_bytes(m, ctx, 1, kd)),
        "attn_flops_pair": roofline.attention_flops_per_pair(m),
        "prefill_flops": _num(roofline.prefill_flops(m, 1.0, inp)),
        "mbu": float(e.mbu), "mfu_decode": float(e.mfu_decode),
        "mfu_prefill": float(e.mfu_prefill),
        "peak_tflops": roofline.peak_flops(g, wd) / 1e12,
        "attn_peak_tflops": roofline.attention_peak(g) / 1e12,
        "max_batch_fit": _num(memory.max_batch(g, m, inp + out, wd, kd, n, frac)),
        "concurrency": conc,
        "decode_flops": _num(roofline.decode_flops(m, b, ctx)),
        "weights_read": _num(memory.moe_weight_bytes_read(m, wd, b)),
        "t_allreduce": _num(roofline.allreduce_time(g, m, b, n, e)),
        "t_step": _num(roofline.decode_step_time(g, m, b, ctx, wd, kd, n, eff)),
    }


def _invalid_self_host(v):
    """The check that must fire for a deliberately wrong input, or None."""
    if isinstance(v["num_gpus"], str):
        return "check_num_gpus", "num_gpus must be a number"
    wd = v["weight_dtype"]
    if isinstance(wd, str) and wd not in units.DTYPE_BITS:
        return "check_weight_dtype", "unknown weight dtype: pick one from the list"
    if not 0 <= v["input_share"] <= 1:
        return "check_input_share", "input_share must be a number in [0, 1]"
    return None


def expect_self_host(v):
    bad = _invalid_self_host(v)
    if bad:
        return {bad[0]: bad[1], "inputs_ok": False, **{o: "check inputs" for o in sh.OUTPUTS}}
    if v["gpu"] not in catalog.gpu_ids():
        return {"check_gpu": "unknown GPU: pick one from the list", "inputs_ok": False,
                **{o: "check inputs" for o in sh.OUTPUTS}}
    if v["gpu_price_per_hour"] < 0:
        return {"check_price": "GPU price must be a number >= 0", "inputs_ok": False,
                **{o: "check inputs" for o in sh.OUTPUTS}}
    g, m = catalog.gpu(v["gpu"]), catalog.model(v["model"])
    n, frac, eff = int(v["num_gpus"]), float(v["mem_fraction"]), _eff(v)
    wd, kd = v["weight_dtype"], v["kv_dtype"]
    inp, out = float(v["input_tokens"]), float(v["output_tokens"])
    exp = expect_serving_steps(g, m, v, n, frac)
    exp["inputs_ok"] = True
    exp["min_gpus"] = _num(memory.gpus_needed(g, m, wd, inp + out, 1, kd, frac))
    own = economics.gpu_hourly_cost(v["purchase_price"], v["years"], v["power_watts"],
                                    v["price_per_kwh"], v["pue"], v["annual_overhead"])
    exp["own_hourly_calc"] = own
    tput = _num(serving.max_throughput(g, m, inp, out, wd, kd, n, eff, frac))
    if not math.isfinite(tput):
        exp["fits"] = f"does not fit: needs {exp['min_gpus']:.0f} GPUs per replica (num_gpus)"
        exp.update({o: "check inputs" for o in sh.OUTPUTS})
        return exp
    exp["fits"] = "OK"
    price = own if v["hardware"] == "own" else v["gpu_price_per_hour"]
    util, hours, tpd = v["utilization"], v["hours_per_month"], v["tokens_per_day"]
    total = tput * (inp + out) / out
    blended = economics.blended_price(v["api_price_in_per_mtok"], v["api_price_out_per_mtok"],
                                      v["input_share"])
    days = hours / 24
    monthly = economics.self_host_monthly_cost(tpd, total, price, n, util, hours)
    api = economics.api_monthly_cost(tpd, blended, days)
    per_mtok = economics.cost_per_mtok(price, total, util, n)
    capacity = total * 86400 * util
    replica_cost = economics.self_host_monthly_cost(0, total, price, n, util, hours)
    exp.update({
        "replica_tokens_per_sec": tput, "replica_tokens_per_sec_calc": tput,
        "replica_total_tokens_per_sec": total, "replica_total_tps": total,
        "replicas_needed": economics.replicas_needed(tpd, total, util),
        "self_host_monthly_cost": monthly, "api_monthly_cost": api,
        "monthly_saving": api - monthly, "self_host_cost_per_mtok": per_mtok,
        "api_blended_price": blended, "own_gpu_hourly_cost": own, "price_used": price,
    })
    if frac == 0.9:  # the composed economics functions use the default memory share
        exp["replica_total_tokens_per_sec"] = cap_engine.replica_tokens_per_sec(
            g, m, inp, out, wd, kd, n, eff)
        exp["self_host_monthly_cost"] = cap_engine.self_host_monthly_cost_for(
            g, m, tpd, price, inp, out, wd, kd, n, util, eff, hours)
        exp["self_host_cost_per_mtok"] = cap_engine.self_host_cost_per_mtok(
            g, m, price, inp, out, wd, kd, n, util, eff)
    if blended > 0:
        be = economics.breakeven_tokens_per_day(replica_cost, blended, 0.0, days)
        exp["breakeven_tokens_per_day"] = be
        exp["breakeven_note"] = ("self-hosting is cheaper above*" if be <= capacity
                                 else "never: one replica*")
    k = np.arange(sh.VOLUME_ROWS)
    vols = v["volume_min"] * (v["volume_max"] / v["volume_min"]) ** (k / (sh.VOLUME_ROWS - 1))
    exp["volume_tokens_per_day"] = [float(x) for x in vols]
    exp["volume_replicas"] = [economics.replicas_needed(x, total, util) for x in vols]
    exp["volume_self_host_cost"] = [economics.self_host_monthly_cost(x, total, price, n, util,
                                                                     hours) for x in vols]
    exp["volume_api_cost"] = [economics.api_monthly_cost(float(x), blended, days) for x in vols]
    bl, be_list = [], []
    for p in catalog.prices():
        bp = economics.blended_price(p.input_usd_per_mtok, p.output_usd_per_mtok,
                                     v["input_share"])
        bl.append(bp)
        if bp > 0:
            be = economics.breakeven_tokens_per_day(replica_cost, bp, 0.0, days)
            be_list.append(be if be <= capacity else "never")
        else:
            be_list.append("never")
    exp["api_list_blended"] = bl
    exp["api_list_breakeven"] = be_list
    return exp


def expect_multi_tenant(v):
    if not (0 < v["percentile"] < 1) or v["tenants"] != int(v["tenants"]):
        exp = {o: "check inputs" for o in mt.OUTPUTS}
        exp["all_ok"] = False
        if not (0 < v["percentile"] < 1):
            exp["check_percentile"] = "percentile must be a number in (0, 1)"
        else:
            exp["check_tenants"] = "tenants must be a whole number >= 1"
        return exp
    args = (v["tenants"], v["mean_utilization"], v["percentile"], v["cv"], v["gpus_per_tenant"],
            v["correlation"])
    ded, pool = economics.dedicated_gpus(*args), economics.pooled_gpus(*args)
    price, hours = v["gpu_price_per_hour"], v["hours_per_month"]
    load = v["tenants"] * v["mean_utilization"] * v["gpus_per_tenant"]
    cap = economics.pooled_capacity(*args)
    exp = {
        "all_ok": True,
        "dedicated_capacity": economics.dedicated_capacity(*args), "pooled_capacity": cap,
        "dedicated_gpus": ded, "pooled_gpus": pool,
        "dedicated_monthly_cost": ded * price * hours, "pooled_monthly_cost": pool * price * hours,
        "savings_fraction": economics.pooling_savings(*args),
        "cost_reduction_factor": ded / pool,
        "dedicated_utilization": load / ded,
        "pooled_utilization": economics.pooled_utilization(*args),
        "lora_savings_fraction": economics.lora_sharing_savings(
            v["lora_models"], v["lora_overhead"], v["mean_utilization"], v["percentile"],
            v["cv"]),
    }
    if cap > 0:
        exp["pooled_capacity_utilization"] = load / cap
    rest = args[1:]
    ks = range(1, mt.TENANT_ROWS + 1)
    exp["table_dedicated_gpus"] = [economics.dedicated_gpus(k, *rest) for k in ks]
    exp["table_pooled_gpus"] = [economics.pooled_gpus(k, *rest) for k in ks]
    exp["table_savings"] = [economics.pooling_savings(k, *rest) for k in ks]
    exp["table_pooled_utilization"] = [economics.pooled_utilization(k, *rest) for k in ks]
    exp["grid_savings"] = [economics.pooling_savings(v["tenants"], v["mean_utilization"], p, c,
                                                     v["gpus_per_tenant"], v["correlation"])
                           for p in mt.GRID_PERCENTILES for c in mt.GRID_CVS]
    return exp


def _user_gpu(v):
    fields = ("memory_gb", "mem_bw_tbps", "bf16_tflops", "fp8_tflops", "fp4_tflops",
              "int8_tops", "interconnect_gbps")
    spec = "; ".join(f"{f}={v['user_' + f]:.17g}" for f in fields)
    return catalog.gpu(spec + f"; vendor={v['user_vendor']}")


def expect_planner(v):
    if v["model"] not in catalog.model_ids():
        return {"check_model": "unknown model: pick one from the list", "all_ok": False,
                **{o: "check inputs" for o in cp.OUTPUTS}}
    m = catalog.model(v["model"])
    gpus = [_user_gpu(v)] + catalog.gpus()
    wd, kd, eff = v["weight_dtype"], v["kv_dtype"], _eff(v)
    n, frac = int(v["num_gpus"]), float(v["mem_fraction"])
    inp, out = float(v["input_tokens"]), float(v["output_tokens"])
    duty, rate, util = v["duty_cycle"], v["user_tokens_per_sec"], v["utilization"]
    hours = v["hours_per_month"]
    your = v.get("your_price") or {}
    cols = {k: [] for k in ("w_max_batch_fit", "w_concurrency", "w_t_step",
                            "w_replica_tokens_per_sec", "w_decode_tps", "w_users_concurrent",
                            "w_users_by_memory", "w_users_by_speed", "w_users_per_gpu",
                            "w_price_used", "w_cost_per_mtok", "w_cost_per_user_month",
                            "w_peak_tflops", "w_attn_peak_tflops", "w_mbu", "w_t_allreduce",
                            "w_weights_read", "w_min_gpus", "tbl_fits")}
    keys = []
    for i, g in enumerate(gpus):
        s = expect_serving_steps(g, m, v, n, frac)
        for name in ("max_batch_fit", "concurrency", "t_step", "peak_tflops",
                     "attn_peak_tflops", "mbu", "t_allreduce", "weights_read"):
            cols[f"w_{name}"].append(s[name])
        cols["w_min_gpus"].append(_num(memory.gpus_needed(g, m, wd, inp + out, 1, kd, frac)))
        cols["tbl_fits"].append("yes" if s["concurrency"] >= 1 else
                                f"no: {cols['w_min_gpus'][-1]:.0f} GPUs")
        tput = _num(serving.max_throughput(g, m, inp, out, wd, kd, n, eff, frac))
        ok = math.isfinite(tput)
        cols["w_replica_tokens_per_sec"].append(tput if ok else "does not fit")
        dec = _num(serving.tokens_per_sec(g, m, v["decode_batch"], v["decode_context"], wd, kd,
                                          n, eff))
        cols["w_decode_tps"].append(dec if math.isfinite(dec) else "does not fit")
        cap = calibration.resolve(eff, g).max_concurrency * n  # per GPU, as the engine
        conc_u = min(_num(memory.max_batch(g, m, v["context_tokens"], wd, kd, n, frac)), cap)
        cols["w_users_concurrent"].append(conc_u)
        by_mem = cap_engine.users_per_gpu_for(g, m, v["context_tokens"], duty, 0.0, wd, kd, n,
                                             eff, frac)
        cols["w_users_by_memory"].append(by_mem)
        by_speed = economics.users_per_gpu_by_throughput(tput, rate, duty, n) if ok else 0.0
        cols["w_users_by_speed"].append(by_speed)
        users = min(by_mem, by_speed)
        cols["w_users_per_gpu"].append(users)
        price = your.get(i) or (g.cloud_usd_per_hour if i > 0 else None) or None
        cols["w_price_used"].append(price if price else "enter price")
        if not ok:
            cost = "does not fit"
        elif not price:
            cost = "enter price"
        else:
            cost = economics.cost_per_mtok(price, tput * (inp + out) / out, util, n)
            if frac == 0.9 and i > 0:
                cost = cap_engine.self_host_cost_per_mtok(g, m, price, inp, out, wd, kd, n,
                                                         util, eff)
        cols["w_cost_per_mtok"].append(cost)
        if users <= 0:
            cols["w_cost_per_user_month"].append("no users fit")
        elif not price:
            cols["w_cost_per_user_month"].append("enter price")
        else:
            cols["w_cost_per_user_month"].append(economics.cost_per_user_month(price, users,
                                                                               hours))
        keys.append(cost if isinstance(cost, float) else math.inf)
    order = sorted(range(len(keys)), key=lambda i: (keys[i], i))
    labels = [v["user_gpu_label"]] + catalog.gpu_ids()
    exp = dict(cols)
    exp["all_ok"] = True
    rank_gpu, rank_cost = [], []
    for i in order[:cp.RANK_ROWS]:
        finite = math.isfinite(keys[i])
        rank_gpu.append(labels[i] if finite else "(none)")
        rank_cost.append(keys[i] if finite else 0.0)
    exp["rank_gpu"], exp["rank_cost_per_mtok"] = rank_gpu, rank_cost
    best = order[0]
    if math.isfinite(keys[best]):
        exp["cheapest_gpu"], exp["cheapest_cost_per_mtok"] = labels[best], keys[best]
    else:
        exp["cheapest_gpu"] = "no GPU has a price and fits"
    exp["user_gpu_users_at_context"] = cols["w_users_concurrent"][0]
    exp["user_gpu_cost_per_user_month"] = cols["w_cost_per_user_month"][0]
    return exp


# --- plumbing ------------------------------------------------------------------------------------

EXPECT = {"self_host_breakeven": expect_self_host, "multi_tenant_savings": expect_multi_tenant,
          "capacity_planner": expect_planner}
SCENARIOS = {"self_host_breakeven": self_host_scenarios,
             "multi_tenant_savings": multi_tenant_scenarios,
             "capacity_planner": planner_scenarios}
INPUT_NAMES = {"self_host_breakeven": sh.INPUTS, "multi_tenant_savings": mt.INPUTS,
               "capacity_planner": cp.INPUTS + ["user_gpu_label", "user_memory_gb",
                                                "user_mem_bw_tbps", "user_bf16_tflops",
                                                "user_fp8_tflops", "user_fp4_tflops",
                                                "user_int8_tops", "user_interconnect_gbps",
                                                "user_vendor"]}
# Named ranges whose cells show #N/A on purpose while a check fails (the chart stays empty).
ALLOWED_NA = {"self_host_breakeven": ["volume_tokens_per_day", "volume_replicas",
                                      "volume_self_host_cost", "volume_api_cost"],
              "multi_tenant_savings": ["table_dedicated_gpus", "table_pooled_gpus",
                                       "table_savings", "table_pooled_utilization"],
              "capacity_planner": []}


def _defaults(path, names):
    import openpyxl
    wb = openpyxl.load_workbook(path)
    where = rc.name_cells(wb)
    out = {}
    for n in names:
        sheet, cell = where[n][0]
        out[n] = wb[sheet][cell].value
    return out


def _cells(path, template, v):
    """Scenario inputs -> {'Sheet!C5': value} for the input cells."""
    import openpyxl
    wb = openpyxl.load_workbook(path)
    where = rc.name_cells(wb)
    cells = {}
    for n in INPUT_NAMES[template]:
        sheet, cell = where[n][0]
        cells[f"{sheet}!{cell}"] = v[n]
    if template == "capacity_planner":
        for i, (sheet, cell) in enumerate(where["tbl_your_price"]):
            cells[f"{sheet}!{cell}"] = (v.get("your_price") or {}).get(i)
    return cells


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    """Templates built into a temporary folder, with their scenarios and input cells."""
    out = tmp_path_factory.mktemp("templates")
    paths = {p.stem: p for p in build_all(out)}
    plans = {}
    for name, path in paths.items():
        defaults = _defaults(path, INPUT_NAMES[name])
        scen = SCENARIOS[name](defaults)
        plans[name] = (path, [(label, v, _cells(path, name, v)) for label, v in scen])
    return out, plans


# Seed figures the templates must show (besides matching the engine), by scenario label.
SEED_PINS = {
    ("capacity_planner", "seed 001"): {"user_gpu_users_at_context": 6.0},   # seed 001: 6 users
    ("multi_tenant_savings", "defaults"): {"dedicated_gpus": 10.0, "pooled_gpus": 5.0,
                                           "savings_fraction": 0.5,          # seed 003: 2x
                                           "cost_reduction_factor": 2.0},
}


def _check(template, label, values, v):
    problems = rc.compare(values, EXPECT[template](v), f"{template} [{label}]")
    problems += rc.compare(values, SEED_PINS.get((template, label), {}), f"{template} [{label}]")
    if (template, label) == ("multi_tenant_savings", "defaults"):
        util = values.named.get("pooled_capacity_utilization")
        if not (isinstance(util, float) and 0.85 <= util <= 0.90):  # seed 003: ~85-90 %
            problems.append(f"{template} [{label}]: pooled capacity utilization {util!r}")
    valid = values.named.get("all_ok") is True or values.named.get("inputs_ok") is True
    if valid or label == "defaults":
        bad = values.errors(ALLOWED_NA[template])
        if bad:
            problems.append(f"{template} [{label}]: error cells {dict(list(bad.items())[:5])}")
    else:  # invalid inputs: outputs show messages, never errors
        for o in ("all_ok",):
            pass
        outs = {"self_host_breakeven": sh.OUTPUTS, "multi_tenant_savings": mt.OUTPUTS,
                "capacity_planner": cp.OUTPUTS}[template]
        for o in outs:
            if rc.is_error(values.named.get(o)):
                problems.append(f"{template} [{label}]: output {o} is an error")
    return problems


def _formulas_run(args):
    """Recalculate one chunk of scenarios with ``formulas``; return the problems found."""
    template, path, scenarios = args
    book = rc.FormulasBook(path, list(scenarios[0][2]))
    problems = []
    for label, v, cells in scenarios:
        problems += _check(template, label, book.calculate(cells), v)
    return template, len(scenarios), problems


# The capacity planner has ~3,000 formula cells (37 GPUs x 70 steps): formulas needs ~3 s of CPU
# per recalculation, so it runs in its own worker process while another takes the other two
# templates and LibreOffice converts all scenario files in one background soffice run.
CHUNKS = {"self_host_breakeven": 1, "multi_tenant_savings": 1, "capacity_planner": 1}


@pytest.fixture(scope="module")
def recalculated(plan, tmp_path_factory):
    """{('formulas' | 'libreoffice', template): (scenarios run, problems)}; LibreOffice entries
    are missing when soffice is not installed."""
    import subprocess
    _out, plans = plan
    results = {}
    tasks = []
    for template, (path, scenarios) in plans.items():
        k = CHUNKS[template]
        tasks += [(template, path, scenarios[i::k]) for i in range(k)]
    tasks.sort(key=lambda t: t[0] != "capacity_planner")  # the longest first
    workers = max(1, min(len(tasks), os.cpu_count() or 1, 2))
    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        futures = [pool.submit(_formulas_run, t) for t in tasks]
        # meanwhile: scenario files for LibreOffice, converted in one background soffice run
        lo_proc, lo_index = None, []
        if rc.soffice():
            src = tmp_path_factory.mktemp("scenarios")
            lo_dir = tmp_path_factory.mktemp("lo")
            files = []
            for template, (path, scenarios) in plans.items():
                jobs = [(src / f"{template}__{j:02d}.xlsx", cells)
                        for j, (_label, _v, cells) in enumerate(scenarios)]
                files += rc.write_scenarios(path, jobs)
                lo_index += [(template, label, v, dest)
                             for (label, v, _c), (dest, _) in zip(scenarios, jobs)]
            lo_proc = subprocess.Popen(
                rc.soffice_command(files, lo_dir, tmp_path_factory.mktemp("lo_profile")),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for f in futures:
            template, count, problems = f.result()
            done, found = results.get(("formulas", template), (0, []))
            results[("formulas", template)] = (done + count, found + problems)
    if lo_proc is not None:
        log, _ = lo_proc.communicate(timeout=900)
        where = {t: rc.template_names(path) for t, (path, _s) in plans.items()}
        for template in plans:
            results[("libreoffice", template)] = (0, [])
        for template, label, v, dest in lo_index:
            conv = lo_dir / dest.name
            done, found = results[("libreoffice", template)]
            if not conv.exists():
                found = found + [f"{template} [{label}]: soffice wrote no file: {log[-500:]}"]
            else:
                found = found + _check(template, label, rc.read_values(conv, where[template]), v)
            results[("libreoffice", template)] = (done + 1, found)
    return results


@pytest.mark.parametrize("template", list(EXPECT))
def test_formulas_recalc_matches_engine(recalculated, template):
    done, problems = recalculated[("formulas", template)]
    assert done >= N_RANDOM + 1
    assert not problems, "\n".join(problems[:40])


@pytest.mark.parametrize("template", list(EXPECT))
def test_libreoffice_recalc_matches_engine(recalculated, template):
    rc.require_soffice()
    done, problems = recalculated[("libreoffice", template)]
    assert done >= N_RANDOM + 1
    assert not problems, "\n".join(problems[:40])


def test_vendor_factor_reaches_the_formulas(tmp_path, monkeypatch):
    """A vendor multiplier in the calibration lands in the Catalog sheet and in MBU/MFU."""
    monkeypatch.setitem(calibration.VENDOR_FACTOR, "amd", 0.8)
    path = sh.build(tmp_path)
    defaults = _defaults(path, sh.INPUTS)
    v = dict(defaults, gpu="mi300x", model="llama-3.1-70b", num_gpus=1)
    book = rc.FormulasBook(path, list(_cells(path, "self_host_breakeven", v)))
    values = book.calculate(_cells(path, "self_host_breakeven", v))
    problems = _check("self_host_breakeven", "amd factor", values, v)
    assert not problems, "\n".join(problems[:20])
    assert values["mbu"] == pytest.approx(calibration.DEFAULTS.mbu * 0.8, rel=1e-12)
