"""Capacity and cost of a deployment: the economics composed with the performance model.

These functions take a GPU and a model from the catalog and put a price on what
:mod:`xlnapkin.serving` says one replica does under saturating load: its input plus output
tokens/s, the cost per million tokens (all tokens, or each phase's share), the monthly cost of
the replicas a daily volume needs, the prefill:decode GPU ratio of a disaggregated deployment and
the users a GPU serves. Units as in :mod:`xlnapkin.economics`; NaN where one request does not fit
(the Excel functions say why).

>>> round(replica_tokens_per_sec("h100-sxm", "llama-3.1-8b", 1024, 1024, "bf16", "bf16", 1, 1))
20069
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field
from typing import NamedTuple

import numpy as np

from . import _args, _checks
from .calibration import resolve, vendor_note
from .catalog import gpu as _gpu, model as _model
from . import catalog as _catalog
from .economics import (HOURS_PER_MONTH, PLANNED_UTILIZATION, _MTOK, _hours_per_day,
                        api_days_per_month, api_monthly_cost, blended_price, breakeven_for_good,
                        cost_per_mtok, cost_per_mtok_at_volume, fleet_breakeven_tokens_per_day,
                        fleet_utilization,
                        replica_tokens_per_day, replicas_needed, self_host_monthly_cost)
from .errors import CannotRunError, InvalidArgumentError, MissingArgumentError, NapkinError
from .memory import (KV_DTYPE, MEM_FRACTION, RUNS, domain_degrees, dtype_name,
                     kv_layout_note, max_batch, runs_when_it_fits, summed, weight_dtype_of,
                     why_not)
from .queueing import SLA_PERCENTILE
from .units import dtype_bits
from .roofline import decode_step_time, domain_note
from .serving import (concurrency_under_load, engine_cap, llama_cpp_slots, max_throughput,
                      prompt_pass_time)

__all__ = ["replica_tokens_per_sec", "self_host_cost_per_mtok", "self_host_monthly_cost_for",
           "cost_per_mtok_input", "cost_per_mtok_output", "prefill_decode_ratio",
           "users_per_gpu_for", "volume_rate", "users_request_rate", "estimate", "Estimate",
           "slow_answers", "faster_per_gpu", "precision_caveat"]

_out = _checks.scalar_out
# A request's KV cache (input plus output tokens, one sequence) must fit beside the weights.
_one_request_fits = runs_when_it_fits(("input_tokens", "output_tokens"))


class _Phases(NamedTuple):
    """Replica-seconds per request under saturating load, by phase (:func:`_phase_times`)."""

    decode: object       # decode steps' share [s]
    prefill: object      # the rest: prompt compute and the prompt steps' fixed time [s]
    passes: object       # the prompt steps' fixed time alone, part of ``prefill`` [s]


def _phase_times(gpu, model, input_tokens, output_tokens, weight_dtype, kv_dtype, num_gpus,
                 efficiency) -> _Phases:
    """Replica-seconds per request spent in decode and in prefill under saturating load.

    Splits :func:`xlnapkin.serving.max_throughput`'s request time ``output_tokens /
    max_throughput`` into the decode part ``output_tokens x step / batch`` (one decode step of
    the batch it runs, at mean context ``input + output / 2``) and the rest, which is prefill:
    the prompt's compute and the fixed time of the steps that carry prompts
    (:func:`xlnapkin.serving.loaded_step`), the latter also returned alone, as prefix caching
    saves compute but not those steps (:class:`_Phases`); NaN where not even one request
    fits.
    """
    g, m = _gpu(gpu), _model(model)
    tput = max_throughput(g, m, input_tokens, output_tokens, weight_dtype, kv_dtype, num_gpus,
                          efficiency)
    inp = np.asarray(input_tokens, dtype=float)
    out = np.asarray(output_tokens, dtype=float)
    conc = concurrency_under_load(g, m, inp, out, weight_dtype, kv_dtype, num_gpus,
                                  MEM_FRACTION, efficiency)
    # Where it cannot run (NaN), any batch will do: the throughput is NaN already.
    batch = np.where(np.isfinite(conc), np.maximum(conc, 1.0), 1.0)
    step = decode_step_time(g, m, batch, inp + out / 2.0, weight_dtype, kv_dtype, num_gpus,
                            efficiency)
    passes = prompt_pass_time(g, m, batch, out, resolve(efficiency, g))
    with np.errstate(over="ignore", invalid="ignore"):  # absurd token counts give NaN, not noise
        total = out / tput
        decode = np.where(np.isfinite(tput), out * step / batch, np.nan)
        prefill = np.maximum(total - decode, 0.0)
        return _Phases(decode, prefill, np.minimum(out * passes / batch, prefill))


@_one_request_fits
def replica_tokens_per_sec(gpu, model, input_tokens=1024, output_tokens=1024, weight_dtype=None,
                           kv_dtype=None, num_gpus=1, efficiency=None, prefix_cache_savings=0.0):
    """Input plus output tokens/s one replica processes under saturating load: MAX_THROUGHPUT x (input + output) / output, with prefix-cache hits taken off the prefill work.
    [tokens/s]

    Args:
        gpu: *
        model: *
        input_tokens: *
        output_tokens: *
        weight_dtype: *
        kv_dtype: *
        num_gpus: *
        efficiency: *
        prefix_cache_savings: share of prefill work prefix caching saves, in [0, 1], e.g. PREFIX_CACHE_SAVINGS [0-1]

    ``max_throughput x (input_tokens + output_tokens) / output_tokens``: the rate to compare
    with a token volume that counts both, as API bills do. With prefix caching the request
    time under load is its decode time plus ``1 - prefix_cache_savings`` of its prefill time
    (the cached prefix still holds KV memory). NaN where it does not fit. [tokens/s]

    >>> round(replica_tokens_per_sec("h100-sxm", "llama-3.1-8b", 1024, 1024, "bf16", None, 1, 1))
    20069
    """
    saved = _checks.fraction(prefix_cache_savings, "prefix_cache_savings", zero_ok=True)
    t = _phase_times(gpu, model, input_tokens, output_tokens, weight_dtype, kv_dtype, num_gpus,
                     efficiency)
    inp = np.asarray(input_tokens, dtype=float)
    out = np.asarray(output_tokens, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        return _out((inp + out) / (t.decode + t.passes + (t.prefill - t.passes) * (1.0 - saved)))


@_one_request_fits
def self_host_cost_per_mtok(gpu, model, price_per_gpu_hour, input_tokens=1024,
                            output_tokens=1024, weight_dtype=None, kv_dtype=None, num_gpus=1,
                            utilization=PLANNED_UTILIZATION, efficiency=None):
    """USD per million tokens (input plus output) of a self-hosted replica under load, to compare with an API's blended price.
    [USD/Mtok]

    Args:
        gpu: *
        model: *
        price_per_gpu_hour: *
        input_tokens: *
        output_tokens: *
        weight_dtype: *
        kv_dtype: *
        num_gpus: *
        utilization: *
        efficiency: *

    :func:`cost_per_mtok` of :func:`replica_tokens_per_sec`, at this function's utilization
    (default 0.7 here, 1 in :func:`cost_per_mtok`). Equals :func:`blended_price` of
    :func:`cost_per_mtok_input` and :func:`cost_per_mtok_output` at the same utilization (all
    three default to 0.7) with input share ``input / (input + output)``, so it compares
    directly with an API's blended price.
    NaN where it does not fit. [USD/Mtok]

    >>> round(self_host_cost_per_mtok("h100-sxm", "llama-3.1-8b", 2, 1024, 1024, "bf16", None, 1, 1, 1), 4)
    0.0277
    """
    tps = replica_tokens_per_sec(gpu, model, input_tokens, output_tokens, weight_dtype, kv_dtype,
                                 num_gpus, efficiency)
    tps = np.asarray(tps)
    ok = np.isfinite(tps)
    cost = cost_per_mtok(price_per_gpu_hour, np.where(ok, tps, 1.0), utilization, num_gpus)
    return _out(np.where(ok, cost, np.nan))


@_one_request_fits
def self_host_monthly_cost_for(gpu, model, tokens_per_day, price_per_gpu_hour,
                               input_tokens=1024, output_tokens=1024, weight_dtype=None,
                               kv_dtype=None, num_gpus=1, utilization=PLANNED_UTILIZATION,
                               efficiency=None, hours_per_month=HOURS_PER_MONTH,
                               min_replicas=1, staff_cost_per_month=0.0):
    """Monthly USD to serve tokens_per_day (input plus output) on replicas of gpu: SELF_HOST_MONTHLY_COST with the replica rate from REPLICA_TOKENS_PER_SEC.
    [USD/month]

    Args:
        gpu: *
        model: *
        tokens_per_day: input plus output tokens to serve per day [tokens/day]
        price_per_gpu_hour: *
        input_tokens: *
        output_tokens: *
        weight_dtype: *
        kv_dtype: *
        num_gpus: *
        utilization: *
        efficiency: *
        hours_per_month: *
        min_replicas: *
        staff_cost_per_month: *

    :func:`self_host_monthly_cost` with the replica's rate from :func:`replica_tokens_per_sec`
    (``xlnapkin estimate``'s monthly cost where given its 2 replicas at least and its staff
    cost, which this function's defaults, 1 and 0, leave out).
    NaN where one request does not fit. [USD/month]

    >>> self_host_monthly_cost_for("h100-sxm", "llama-3.1-8b", 2e6, 2)
    1460.0
    """
    tps = np.asarray(replica_tokens_per_sec(gpu, model, input_tokens, output_tokens,
                                            weight_dtype, kv_dtype, num_gpus, efficiency))
    ok = np.isfinite(tps)
    cost = self_host_monthly_cost(tokens_per_day, np.where(ok, tps, 1.0), price_per_gpu_hour,
                                  num_gpus, utilization, hours_per_month, min_replicas,
                                  staff_cost_per_month)
    return _out(np.where(ok, cost, np.nan))


@_one_request_fits
def cost_per_mtok_input(gpu, model, price_per_gpu_hour, input_tokens=1024, output_tokens=1024,
                        weight_dtype=None, kv_dtype=None, num_gpus=1,
                        utilization=PLANNED_UTILIZATION, efficiency=None):
    """USD per million input tokens when the replica's GPU time under load is charged to the phase that uses it (prefill).
    [USD/Mtok]

    Args:
        gpu: *
        model: *
        price_per_gpu_hour: *
        input_tokens: *
        output_tokens: *
        weight_dtype: *
        kv_dtype: *
        num_gpus: *
        utilization: *
        efficiency: *

    Prefill replica-seconds per request under saturating load (the request time of
    :func:`xlnapkin.serving.max_throughput` less its decode steps) x price
    x num_gpus / 3600 / utilization / input_tokens x 1e6. NaN where it does not fit. [USD/Mtok]

    >>> round(cost_per_mtok_input("h100-sxm", "llama-3.1-8b", 2, 1024, 1024, "bf16", None, 1, 1, 1), 4)
    0.0092
    """
    prefill = _phase_times(gpu, model, input_tokens, output_tokens, weight_dtype, kv_dtype,
                           num_gpus, efficiency).prefill
    return _out(_per_mtok(prefill, input_tokens, price_per_gpu_hour, num_gpus, utilization))


@_one_request_fits
def cost_per_mtok_output(gpu, model, price_per_gpu_hour, input_tokens=1024, output_tokens=1024,
                         weight_dtype=None, kv_dtype=None, num_gpus=1,
                         utilization=PLANNED_UTILIZATION, efficiency=None):
    """USD per million output tokens when the replica's GPU time under load is charged to the phase that uses it (decode).
    [USD/Mtok]

    Args:
        gpu: *
        model: *
        price_per_gpu_hour: *
        input_tokens: *
        output_tokens: *
        weight_dtype: *
        kv_dtype: *
        num_gpus: *
        utilization: *
        efficiency: *

    NaN where it does not fit. [USD/Mtok]

    >>> round(cost_per_mtok_output("h100-sxm", "llama-3.1-8b", 2, 1024, 1024, "bf16", None, 1, 1, 1), 4)
    0.0462
    """
    decode = _phase_times(gpu, model, input_tokens, output_tokens, weight_dtype, kv_dtype,
                          num_gpus, efficiency).decode
    return _out(_per_mtok(decode, output_tokens, price_per_gpu_hour, num_gpus, utilization))


def _per_mtok(seconds, tokens, price_per_gpu_hour, num_gpus, utilization):
    price = _checks.number(price_per_gpu_hour, "price_per_gpu_hour", 0)
    util = _checks.fraction(utilization, "utilization")
    n = _checks.number(num_gpus, "num_gpus", 1, _checks.MAX_GPUS, integer=True)
    return price * n / 3600.0 * seconds / util / np.asarray(tokens, dtype=float) * _MTOK


@_one_request_fits
def prefill_decode_ratio(gpu, model, input_tokens=1024, output_tokens=1024, weight_dtype=None,
                         kv_dtype=None, num_gpus=1, efficiency=None):
    """Prefill GPUs per decode GPU when the phases run on separate GPUs: prefill GPU-time over decode GPU-time per request under load.
    [GPUs per GPU]

    Args:
        gpu: *
        model: *
        input_tokens: *
        output_tokens: *
        weight_dtype: *
        kv_dtype: *
        num_gpus: GPUs in one replica of each phase (tensor parallel) [GPUs]
        efficiency: *

    Prefill GPU-time per request over decode GPU-time per request, both as in
    :func:`xlnapkin.serving.max_throughput`: prefill at compute speed (prompts batched until
    compute-bound), decode at the largest batch that fits, at most the engine's cap
    (:func:`~xlnapkin.serving.engine_cap`). NaN where it does not fit. [GPUs per GPU]

    Notes: assumes each phase reaches the same efficiency it has co-located; dedicated prefill
    GPUs skip the decode batch's weight reads and may do a little better.

    >>> round(prefill_decode_ratio("h100-sxm", "llama-3.1-405b", 100, 65, "fp16", "fp16", 16, 1), 2)
    1.5
    """
    t = _phase_times(gpu, model, input_tokens, output_tokens, weight_dtype, kv_dtype, num_gpus,
                     efficiency)
    return _out(t.prefill / t.decode)


@runs_when_it_fits("context", memory_only=True)
def users_per_gpu_for(gpu, model, context, duty_cycle, min_user_tokens_per_sec=0.0,
                      weight_dtype=None, kv_dtype=None, num_gpus=1, efficiency=None,
                      mem_fraction=MEM_FRACTION):
    """Users per GPU: sequences of context tokens that fit (at most the engine's cap), fewer if each would decode slower than min_user_tokens_per_sec, divided by duty_cycle and num_gpus.
    [users/GPU]

    Args:
        gpu: *
        model: *
        context: tokens each active user's sequence holds [tokens]
        duty_cycle: *
        min_user_tokens_per_sec: slowest decode speed an active user accepts; 0 = no limit [tokens/s]
        weight_dtype: *
        kv_dtype: *
        num_gpus: *
        efficiency: *
        mem_fraction: *

    Concurrent sequences = the most that hold ``context`` tokens each in ``mem_fraction`` of
    memory (:func:`xlnapkin.memory.max_batch`), capped by the engine's concurrency limit
    (:func:`xlnapkin.serving.engine_cap`: 256 per GPU; 4 for GGUF, llama.cpp's slots), and
    lowered until each still decodes at least ``min_user_tokens_per_sec`` (one token per step:
    step time <= 1 / rate). The step is the decode step at ``context`` alone: this function
    knows no prompt length, so the prompts that replace finished requests, whose prefill shares
    the steps under continuous batching, are not in it. The capacity planner, which knows the
    request, counts them (``serving.concurrency_at_speed``), its caches read at the context
    less half an output, the mean over a request's decode: more or fewer users where speed
    binds, and far fewer where prompts are long (a review: Llama 3.3 70B in fp8 on two H100s at
    8,192 tokens and 25 tokens/s, 54 sequences here and 36 in the planner, whose requests of
    2,000 tokens in and 400 out put a prompt into part of every step). Users = concurrent /
    duty_cycle / num_gpus. As in ``MAX_BATCH``, memory alone decides: a context beyond the
    model's maximum still gets a number (NaN where the model's heads cannot be split over
    num_gpus GPUs, or several GPUs have no known link). 0 where the weights leave no room for
    one sequence, or where no batch decodes at ``min_user_tokens_per_sec`` (MAX_BATCH and
    TOKENS_PER_SEC say why).
    [users/GPU]

    >>> users_per_gpu_for("b200; memory_gb=192", "qwen2.5-32b", 131072, 1, 0, "fp8", "fp8", 1, 1, 1)
    9.0
    """
    g, m = _gpu(gpu), _model(model)
    duty = _checks.fraction(duty_cycle, "duty_cycle")
    rate = _checks.number(min_user_tokens_per_sec, "min_user_tokens_per_sec", 0)
    n = _checks.number(num_gpus, "num_gpus", 1, _checks.MAX_GPUS, integer=True)
    cap = engine_cap(g, m, weight_dtype, n, efficiency)
    context = _checks.number(context, "context", 1)
    hi = np.minimum(max_batch(g, m, context, weight_dtype, kv_dtype, n, mem_fraction), cap)
    ctx = np.asarray(context, dtype=float)
    shape = np.broadcast_shapes(np.shape(hi), np.shape(rate), np.shape(duty), np.shape(n),
                                np.shape(efficiency) if efficiency is not None else ())
    # Beyond 2**40 sequences the float steps below stop being whole numbers; no GPU gets there.
    hi = np.minimum(np.broadcast_to(hi, shape).astype(float), 2.0 ** 40)
    cannot = ~np.isfinite(hi)  # NaN: this cell's configuration cannot run (its message shows)
    hi = np.where(cannot, 0.0, hi)
    lo = np.zeros(shape)
    limit = np.broadcast_to(np.where(rate > 0, 1.0 / np.where(rate > 0, rate, 1.0), np.inf),
                            shape)
    # Largest batch b in [0, hi] whose decode step is no longer than 1 / rate (step time grows
    # with the batch): integer bisection, all elements at once.
    for _ in range(64):  # a halving per pass: 2**40 needs 41
        if not (hi > lo).any():
            break
        mid = np.maximum(np.ceil((lo + hi) / 2.0), 1.0)
        ok = decode_step_time(g, m, mid, ctx, weight_dtype, kv_dtype, n, efficiency) <= limit
        active = hi > lo
        lo = np.where(active & ok, mid, lo)
        hi = np.where(active & ~ok, mid - 1.0, hi)
    return _out(np.where(cannot, np.nan, lo) / duty / n)


# Another GPU count per replica is worth naming where it makes the month this share of yours or
# less (``xlnapkin estimate`` and the self-host template say so).
CHEAPER_SPLIT = 0.9
# Its first token is called later where it comes more than this many times as late as yours,
# and after this many ms or more (estimate's split_advice)
LATER_FIRST_TOKEN = 2.0
LATER_FIRST_TOKEN_MS = 1000.0


def faster_per_gpu(tokens_per_sec, num_gpus, best_tokens_per_sec, best_num_gpus, replicas,
                   min_replicas) -> bool:
    """Whether a cheaper count per replica is cheaper for its speed: the fleet is sized by its
    throughput (more ``replicas`` than ``min_replicas``) and a GPU in a replica of
    ``best_num_gpus`` makes more tokens a second than one in a replica of ``num_gpus`` by more
    than :data:`CHEAPER_SPLIT`'s margin. Otherwise the volume's size is the reason (a user
    audit: 405B's replicas of 16 H100s, across two NVLink domains, make 22 output tokens/s a
    GPU where replicas of 8 make 116, and the reason given was that 16 were more than the
    volume needed).

    >>> faster_per_gpu(2750, 16, 7000, 8, 7, 2), faster_per_gpu(2750, 16, 7000, 8, 2, 2)
    (True, False)
    """
    return bool(replicas > min_replicas and best_tokens_per_sec / best_num_gpus
                > tokens_per_sec / num_gpus / CHEAPER_SPLIT)


def _cheapest_split(g, m, tokens_per_day, input_tokens, output_tokens, weight_dtype, kv_dtype,
                    num_gpus, price, utilization, min_replicas, staff, hours, efficiency=None,
                    prefix_cache_savings=0.0):
    """The GPUs per replica, among those the model splits over up to one peer-link domain
    (:func:`~xlnapkin.memory.domain_degrees`) and ``num_gpus`` itself, that make self-hosting
    ``tokens_per_day`` cheapest a month, and that month's cost. A replica that holds few
    requests at once is memory-bound: more GPUs per replica can serve the volume with fewer
    GPUs in all; at a small volume, fewer can. Ties go to the fewer GPUs."""
    counts = np.array(sorted(set(domain_degrees(g, m, weight_dtype)) | {int(num_gpus)}),
                      dtype=float)
    tps = replica_tokens_per_sec(g, m, input_tokens, output_tokens, weight_dtype, kv_dtype,
                                 counts, efficiency, prefix_cache_savings)
    with np.errstate(invalid="ignore"):
        month = np.where(np.isfinite(tps), self_host_monthly_cost(
            tokens_per_day, np.where(np.isfinite(tps), tps, 1.0), price, counts, utilization,
            hours, min_replicas, staff), np.inf)
    k = int(np.argmin(month))
    return float(counts[k]), float(month[k])


# Where `xlnapkin estimate` and the self-host template call the answers at a volume slow: each
# request streaming fewer output tokens a second than this (on average), or its first token
# coming later for more than 1 request in 20 (the SLOW_PERCENTILE of the first token's wait).
SLOW_STREAM_TOKENS_PER_SEC = 20.0
SLOW_FIRST_TOKEN_MS = 10_000.0
SLOW_PERCENTILE = SLA_PERCENTILE  # the percentile the advice's example target sizes at
# A latency target to size for where none is given (the command line's advice, the planner's
# default): the first token within 1 s, each next one at the slow-stream speed (50 ms)
EXAMPLE_TTFT_MS, EXAMPLE_TPOT_MS = 1000.0, 1000.0 / SLOW_STREAM_TOKENS_PER_SEC
TAIL = f"1 request in {1 / (1 - SLOW_PERCENTILE):.0f}"  # the share above it, in words
# The costs a self-hosting comparison leaves out, said beside every answer (estimate, and the
# breakeven workbook's answer block).
NOT_COUNTED = ("egress and storage, software licences, the work of migrating, API batch or "
               "volume discounts, taxes")


def _key(doc: str, unit: str = "", default=MISSING):
    """A field of :class:`Estimate` with its meaning and unit: the one description of each key
    of ``xlnapkin estimate --json``, which ``docs/reference.md`` prints (:mod:`xlnapkin.docgen`)."""
    return field(default=default, metadata={"doc": doc, "unit": unit})


NAN = float("nan")


@dataclass(frozen=True)
class Estimate:
    """Self-hosting a daily volume on rented GPUs against the API that serves the same model
    (:func:`estimate`). Money in USD; NaN (null in JSON) where there is no value, as each field
    says."""

    gpu: str = _key("the GPU: a catalog id or a spec string", "id")
    model: str = _key("the model: a catalog id or a spec string", "id")
    api: str = _key("the API compared: a price id of the catalog", "id")
    price_per_gpu_hour: float = _key("the rental price used: yours, or the catalog's",
                                     "USD/GPU-h")
    api_price_per_mtok: float = _key("the API's input and output prices blended at input_share",
                                     "USD/Mtok")
    tokens_per_day: float = _key("the volume: input plus output tokens a day", "tokens/day")
    replica_tokens_per_sec: float = _key(
        "input plus output tokens one replica processes a second at full load "
        "(REPLICA_TOKENS_PER_SEC)", "tokens/s")
    replicas: float = _key("replicas running: enough for the volume at the planned "
                           "utilization, at least min_replicas", "replicas")
    num_gpus: float = _key("GPUs per replica", "GPUs")
    gpu_monthly_cost: float = _key("the fleet's GPUs for a month", "USD/month")
    staff_cost_per_month: float = _key("people and platform for a month", "USD/month")
    self_host_monthly_cost: float = _key("self-hosting for a month: GPUs plus people",
                                         "USD/month")
    api_monthly_cost: float = _key("the API's bill for the volume over the month the GPUs are "
                                   "paid for", "USD/month")
    self_host_cost_per_mtok_at_volume: float = _key(
        "all in: the month's cost over the month's tokens; null with no volume", "USD/Mtok")
    planned_cost_per_mtok: float = _key(
        "the GPUs alone, one replica busy at the planned utilization", "USD/Mtok")
    fleet_utilization: float = _key("the share of the fleet's full-load capacity the volume "
                                    "uses", "0-1")
    breakeven_tokens_per_day: float = _key(
        "the volume from which self-hosting first costs less; null: never", "tokens/day")
    monthly_saving: float = _key("the API's month minus self-hosting's: negative where the API "
                                 "is cheaper", "USD/month")
    api_model: str = _key("the catalog model the API serves; blank: none in the catalog", "id",
                          "")
    api_model_name: str = _key("the model the API serves, as its price list names it", "name",
                               "")
    fleet_gpus: float = _key("GPUs running: replicas x num_gpus", "GPUs", NAN)
    concurrency: float = _key("requests one replica holds at once at full load", "requests",
                              NAN)
    llama_cpp_slots: bool = _key("true where llama.cpp's server slots (GGUF weights) cap the "
                                 "replica", "true/false", False)
    request_tokens_per_sec: float = _key("output tokens a second each of those requests gets",
                                         "tokens/s", NAN)
    best_num_gpus: float = _key("the GPUs per replica that make the month cheapest at this "
                                "volume", "GPUs", NAN)
    best_monthly_cost: float = _key("self-hosting for a month with best_num_gpus", "USD/month",
                                    NAN)
    best_volume_request_tokens_per_sec: float = _key(
        "as volume_request_tokens_per_sec with best_num_gpus; null where that is num_gpus or "
        "the volume overloads those replicas", "tokens/s", NAN)
    best_volume_ttft_ms: float = _key("as volume_ttft_ms with best_num_gpus; null as the key "
                                      "above", "ms", NAN)
    best_volume_ttft_tail_ms: float = _key("as volume_ttft_tail_ms with best_num_gpus; null as "
                                           "the keys above", "ms", NAN)
    best_replica_tokens_per_sec: float = _key("as replica_tokens_per_sec with best_num_gpus",
                                              "tokens/s", NAN)
    split_advice: str = _key(
        "what estimate says of best_num_gpus: blank where it is num_gpus or saves "
        f"{1 - CHEAPER_SPLIT:.0%} a month or less; 'advised'; 'advised, first token later' "
        f"where its first token comes more than {LATER_FIRST_TOKEN:g} times as late, and after "
        f"{LATER_FIRST_TOKEN_MS:g} ms or more; or "
        "'slow there' where its answers would be slow (slow_answers) and yours are not",
        "text", "")
    breakeven_for_good_tokens_per_day: float = _key(
        "the volume from which self-hosting costs less at every larger volume; null: never",
        "tokens/day", NAN)
    input_share: float = _key("input tokens over all tokens, as the API bills them", "0-1", NAN)
    api_input_price_per_mtok: float = _key("the API's price of input tokens", "USD/Mtok", NAN)
    api_output_price_per_mtok: float = _key("the API's price of output tokens", "USD/Mtok", NAN)
    hours_per_month: float = _key("hours a month the GPUs run and are paid", "hours",
                                  HOURS_PER_MONTH)
    gpu_price_as_of: str = _key("the catalog price's date; blank: undated, or a price you gave",
                                "date", "")
    api_price_as_of: str = _key("the API price's date; blank: undated", "date", "")
    gpu_price_stale: bool = _key("true where the catalog's GPU price is dated more than a year "
                                 "before its newest prices: check it", "true/false", False)
    api_price_stale: bool = _key("true where the API price is dated more than a year before the "
                                 "catalog's newest prices: check it", "true/false", False)
    fleet_requests_per_sec: float = _key(
        "the whole volume as requests a second, averaged over the hours the fleet runs "
        "(each replica's share is volume_requests_per_sec)", "requests/s", NAN)
    volume_requests_per_sec: float = _key(
        "requests a second each replica gets at the volume, as TTFT_AT_RATE takes its rate",
        "requests/s", NAN)
    volume_concurrency: float = _key(
        "requests in flight on each replica at the volume; where overloaded, the full load's "
        "(concurrency)", "requests", NAN)
    volume_request_tokens_per_sec: float = _key(
        "output tokens a second each request gets at the volume; where overloaded, the full "
        "load's (request_tokens_per_sec)", "tokens/s", NAN)
    # (a code review: the command line divided it out itself)
    volume_answer_seconds: float = _key(
        "seconds one answer of output_tokens streams at the volume: output_tokens / "
        "volume_request_tokens_per_sec", "s", NAN)
    volume_ttft_ms: float = _key(
        "the mean time to the first token at the volume, from TTFT_AT_RATE's queue model (the "
        "function gives percentiles: its default, the median, is below this mean); null where "
        "the volume overloads the replicas (overloaded)", "ms", NAN)
    # the mean hides a queue for a free slot, which most requests skip and a few wait long in
    # (a user audit: a mean of 9.7 s was called "OK" where 1 request in 20 waited 51 s)
    volume_ttft_tail_ms: float = _key(
        f"the first token's wait that {TAIL} exceeds at the volume; null as volume_ttft_ms",
        "ms", NAN)
    # answers of varying length hold longer contexts than the fixed ones of
    # replica_tokens_per_sec's full load, and prompts share each step's token budget (a user
    # audit: "89.7 % of full load" beside "requests queue without end")
    sustained_requests_per_sec: float = _key(
        "the most requests a second one replica sustains under random arrivals (the queue "
        "model of TTFT_AT_RATE)", "requests/s", NAN)
    sustained_share: float = _key(
        "sustained_requests_per_sec as a share of full load: a planned utilization above it "
        "has no steady state", "0-1", NAN)
    overloaded: bool = _key("true where the replicas get more requests than they sustain: "
                            "requests queue without end", "true/false", False)
    slow_answers: bool = _key(
        f"true where requests at the volume stream under {SLOW_STREAM_TOKENS_PER_SEC:g} output "
        f"tokens a second, or {TAIL} waits over {SLOW_FIRST_TOKEN_MS / 1000:g} s for its first "
        "token, or the replicas are overloaded", "true/false", False)
    input_tokens: float = _key("prompt tokens per request", "tokens", NAN)
    output_tokens: float = _key("generated tokens per request", "tokens", NAN)
    weight_dtype: str = _key("the weights' element type used (for a blank --weight-dtype, the "
                             "model's released format; bits given as a number read '4-bit')",
                             "dtype", "")
    kv_dtype: str = _key("the KV cache's element type used", "dtype", "")
    utilization: float = _key("the planned load of each replica", "0-1", NAN)
    min_replicas: float = _key("replicas kept running for availability", "replicas", NAN)
    gpu_price_given: bool = _key("true where the price is yours (--price, or a GPU spec string "
                                 "that gives cloud_usd_per_hour), not the catalog's",
                                 "true/false", False)
    api_prices_given: bool = _key("true where the API's prices are yours (an --api spec string "
                                  "that changes its row's), not the catalog's", "true/false",
                                  False)
    caveat: str = _key("where the API serves another model, that it does: quality and size "
                       "differ; for a spec string, what it changes in the model the API "
                       "serves; where it serves the same model at a precision it states and "
                       "the weights self-hosted are another, that they are "
                       "(precision_caveat); blank: none of these", "text", "")
    same_model: bool = _key("true where the API serves the model self-hosted (a spec string's "
                            "catalog row)", "true/false", True)
    kv_layout: str = _key("where the figures count the KV cache once, as attention data "
                          "parallelism keeps it, and plain tensor parallelism would keep copies "
                          "(past the KV heads, or an MLA model): how many; blank: none",
                          "text", "")
    across_boards: str = _key("where a replica spans more GPUs than one peer-link domain joins "
                              "(a board, or a rack for NVL72), what its network costs; blank: "
                              "none", "text", "")
    # (a platform engineer's review: AMD's factor decided a GPU ranking and nothing said so)
    vendor_factor: str = _key("where the GPU's speeds take its vendor's calibrated factor, what "
                              "it is fitted on and how to give your stack's; blank: none", "text",
                              "")


def precision_caveat(price, weight_dtype) -> str:
    """Where an API that serves the same model states the precision of its weights
    (``served_dtype``) and ``weight_dtype`` has another number of bits, that it has: a cost
    per token at other weights (an FP&A review: 70B at bf16 on four H100s against Together's
    FP8 "Turbo", where fp8 on two costs 21 % less a month at 300 M tokens a day); blank
    otherwise (int8 against fp8 too: the same bytes to hold and read)."""
    served = price.served_dtype
    if not served or dtype_bits(served) == dtype_bits(weight_dtype):
        return ""
    return (f"{price.id} serves {served} weights, these are {dtype_name(weight_dtype)}: "
            f"weight_dtype {served} compares like for like")


def slow_answers(request_tokens_per_sec, ttft_tail_ms) -> bool:
    """Whether requests at a volume wait too long: each streams fewer than
    ``SLOW_STREAM_TOKENS_PER_SEC`` output tokens a second, or the first token's wait at
    ``SLOW_PERCENTILE`` is over ``SLOW_FIRST_TOKEN_MS`` (or never ends: NaN). The fleet is
    then sized for cost, not for its users; a latency target sizes it instead
    (:mod:`xlnapkin.queueing`)."""
    return not (request_tokens_per_sec >= SLOW_STREAM_TOKENS_PER_SEC
                and ttft_tail_ms <= SLOW_FIRST_TOKEN_MS)


def volume_rate(tokens_per_day, input_tokens, output_tokens, replicas,
                hours_per_month=HOURS_PER_MONTH):
    """Requests/s each of ``replicas`` replicas gets from a daily volume of input plus output
    tokens served in the hours a day that ``hours_per_month`` gives (``hours x 12 / 365``, at
    most 24, as the fleet is sized): ``tokens_per_day / (input + output) / 3,600 / hours a day
    / replicas``. The self-host template's "requests/s each replica gets". [requests/s]"""
    _checks.number(tokens_per_day, "tokens_per_day", 0)
    _checks.number(input_tokens, "input_tokens", 1)
    _checks.number(output_tokens, "output_tokens", 1)
    _checks.number(replicas, "replicas", 1)
    return (float(tokens_per_day) / (float(input_tokens) + float(output_tokens)) / 3600.0
            / float(_hours_per_day(hours_per_month)) / float(replicas))


def users_request_rate(users, duty_cycle, user_tokens_per_sec, output_tokens):
    """Requests/s that ``users`` online send, each with a request in flight ``duty_cycle`` of the
    time and reading its answer at ``user_tokens_per_sec``: Little's law, requests in flight
    over the time an answer of ``output_tokens`` streams, ``users x duty_cycle x
    user_tokens_per_sec / output_tokens``. The wait for the first token is left out, which
    makes the rate a little high (2 % at the planner's defaults, a 1 s wait beside a 51 s
    answer): the safe side for sizing; answers streamed faster than a user reads would send
    more. The capacity planner's link from its users to its latency targets' request rate.
    [requests/s]

    >>> users_request_rate(3000, 0.2, 25, 400)
    37.5
    """
    _checks.number(users, "users", 0)
    _checks.fraction(duty_cycle, "duty_cycle")
    _checks.number(user_tokens_per_sec, "user_tokens_per_sec", 0, min_open=True)
    _checks.number(output_tokens, "output_tokens", 1)
    return (float(users) * float(duty_cycle) * float(user_tokens_per_sec)
            / float(output_tokens))


def _advised_count(g, m, tokens_per_day, input_tokens, output_tokens, weight_dtype, kv_dtype,
                   best_n, best_month, utilization, min_replicas, staff, hours) -> str:
    """Where the model does not fit the count typed, the count that costs least at the volume,
    in words: its month all in (a procurement review read $29,593 as the GPUs' month, $8,760 of
    it) and, as the advice on a configuration that runs says, whether its answers would be
    slow there, and how slow."""
    gpus = best_month - staff
    text = (f"; at this volume, use num_gpus {best_n:g} for the least cost, "
            + (f"${best_month:,.0f} a month all in (${gpus:,.0f} of GPUs, ${staff:,.0f} of "
               "people and platform)" if round(staff) > 0 else f"${gpus:,.0f} a month of GPUs"))
    tps = replica_tokens_per_sec(g, m, input_tokens, output_tokens, weight_dtype, kv_dtype,
                                 best_n)
    reps = replicas_needed(tokens_per_day, tps, utilization, min_replicas, hours)
    seen = _service_at(g, m, input_tokens, output_tokens, weight_dtype, kv_dtype, best_n,
                       volume_rate(tokens_per_day, input_tokens, output_tokens, reps, hours))
    if seen is None:
        return text + ", though its requests would queue there without end"
    if not slow_answers(seen[1], seen[3]):
        return text
    # rounded away from the limit, so that neither reads as the limit itself (a review: 19.96
    # tokens/s printed "20.0 ..., under 20")
    speed, tail = seen[1], seen[3]
    why = []
    if not speed >= SLOW_STREAM_TOKENS_PER_SEC:  # slow_answers' own test, NaN included
        why.append(f"{math.floor(speed * 10) / 10:.1f} output tokens/s each, under "
                   f"{SLOW_STREAM_TOKENS_PER_SEC:g}" if np.isfinite(speed) else
                   "no steady stream of tokens")
    if not np.isfinite(tail):  # the slot queue has no end (slow_answers' NaN)
        why.append(f"{TAIL} waiting without end for its first token")
    elif tail > SLOW_FIRST_TOKEN_MS:
        why.append(f"{TAIL} waiting {math.ceil(tail / 100) / 10:,.1f} s or more for its first "
                   f"token, over {SLOW_FIRST_TOKEN_MS / 1000:g} s")
    return text + f", though its answers would be slow there ({'; '.join(why)})"


def _service_at(g, m, input_tokens, output_tokens, weight_dtype, kv_dtype, num_gpus, rate):
    """What a request sees on a replica offered ``rate`` requests/s (:mod:`xlnapkin.queueing`):
    ``(requests in flight, output tokens/s each, mean TTFT ms, TTFT ms at SLOW_PERCENTILE)``;
    None where the queue model has no steady state at that rate."""
    from .queueing import service_at_rate
    shape = (input_tokens, output_tokens, weight_dtype, kv_dtype, num_gpus)
    conc, ttft, tpot = service_at_rate(g, m, rate, *shape)
    if not np.isfinite(conc):
        return None
    tail = service_at_rate(g, m, rate, *shape, percentile=SLOW_PERCENTILE)[1]
    return float(conc), 1e3 / float(tpot), float(ttft), float(tail)


def _price_in_spec(g) -> bool:
    """Whether a GPU's rental price is the user's (a spec string that gives it, or a GPU of
    their own), not a catalog row's (a review: "h100-sxm; cloud_usd_per_hour=1.5" was called
    the catalog's, as of its date)."""
    rows = [p.strip() for p in g.id.split(";") if p.strip() and "=" not in p]
    if not rows:
        return g.cloud_usd_per_hour is not None
    return _gpu(rows[0]).cloud_usd_per_hour != g.cloud_usd_per_hour


def _base_model(m):
    """The catalog model a spec string starts from ("llama-3.1-8b; max_context=8192"), and the
    overrides it gives; for a catalog row, itself and none. [Model, str]"""
    parts = [p.strip() for p in m.id.split(";") if p.strip()]
    rows = [p for p in parts if "=" not in p]
    if not rows or len(parts) == 1:
        return m, ""
    return _model(rows[0]), "; ".join(p for p in parts if "=" in p)


def estimate(gpu="h100-sxm", model="llama-3.1-8b", tokens_per_day=10_000_000,
             input_tokens=1024, output_tokens=1024, weight_dtype=None, kv_dtype=None,
             num_gpus=1, price_per_gpu_hour=None, api=None, utilization=PLANNED_UTILIZATION,
             min_replicas=2, staff_cost_per_month=250_000 / 12, hours_per_month=HOURS_PER_MONTH):
    """What self-hosting ``tokens_per_day`` (input plus output) costs against the API, with the
    defaults of the self-host breakeven template: the catalog's rental price of the GPU, the
    catalog's comparable API for the model (the same open-weights model, blended at this
    workload's input share), two replicas for availability and one engineer's loaded cost.

    Composes :func:`replica_tokens_per_sec`, :func:`economics.self_host_monthly_cost`,
    :func:`economics.cost_per_mtok_at_volume`, :func:`economics.fleet_utilization` and
    :func:`economics.fleet_breakeven_tokens_per_day`; raises a
    :class:`~xlnapkin.errors.NapkinError` where an input is missing (a GPU with no catalog price
    and none given, a model no catalog API serves and no ``api`` given), and a
    :class:`~xlnapkin.errors.CannotRunError` where the configuration cannot run.

    >>> e = estimate()
    >>> e.api, round(e.self_host_monthly_cost), round(e.api_monthly_cost)
    ('groq-llama-3.1-8b', 26527, 20)
    """
    g, m = _gpu(gpu), _model(model)
    # Beyond 1e18 tokens a day (over ten thousand times what the largest providers serve) the
    # dollar figures stop meaning anything: a typing mistake, refused like any other. 0 is the
    # standby fleet before any traffic (no cost per token at the volume); between 0 and a token
    # a day the cost per token overflows.
    volume = InvalidArgumentError("tokens_per_day", "0 or a number in [1, 1e+18]",
                                  tokens_per_day)
    try:
        tpd = float(_checks.number(tokens_per_day, "tokens_per_day", 0, 1e18)) + 0.0  # not -0
    except InvalidArgumentError:
        raise volume from None
    if 0 < tpd < 1:
        raise volume
    tokens_per_day = tpd
    _checks.number(input_tokens, "input_tokens", 1)  # the input share divides by their sum
    _checks.number(output_tokens, "output_tokens", 1)
    # So too past these, where the figures overflowed or ran to hundreds of digits: a GPU-hour
    # dearer than the catalog's bound on prices, GPUs planned under 0.1 % busy, a million
    # replicas kept running, a trillion dollars a month for people.
    if price_per_gpu_hour is not None:
        _checks.number(price_per_gpu_hour, "price_per_gpu_hour", 0, 1e9)
    _checks.number(utilization, "utilization", 0.001, 1)
    _checks.number(min_replicas, "min_replicas", 1, 1e6, integer=True)
    _checks.number(staff_cost_per_month, "staff_cost_per_month", 0, 1e12)
    price = price_per_gpu_hour if price_per_gpu_hour is not None else g.cloud_usd_per_hour
    if price is None:
        raise MissingArgumentError("price_per_gpu_hour", f"{g.id} has no catalog price")
    # a spec string compares with its catalog row's API (a review: "llama-3.1-8b;
    # max_context=8192" was told no catalog API serves it), saying what it changes
    base, changes = _base_model(m)
    p = _catalog.price(api) if api is not None else _catalog.comparable_price(base.id)
    if p is None:
        raise MissingArgumentError("api", f"no catalog API serves {base.id}")
    share = float(input_tokens) / (float(input_tokens) + float(output_tokens))
    api_price = blended_price(p.input_usd_per_mtok, p.output_usd_per_mtok, share)
    tps = replica_tokens_per_sec(g, m, input_tokens, output_tokens, weight_dtype, kv_dtype,
                                 num_gpus)
    if not np.isfinite(tps):
        why = summed(why_not(g, m, weight_dtype, kv_dtype, input_tokens + output_tokens, 1,
                             num_gpus), ("input_tokens", "output_tokens"))
        if why.startswith(RUNS):  # it runs: an input past what the figures hold
            raise NapkinError("no finite throughput for these inputs: check their sizes and "
                              "units")
        # the count that is cheapest at this volume, not only the least that holds it (a
        # finance audit: 70B at 400 M tokens a day was sent to 2 GPUs a replica, at 2.3 times
        # the cost of 4)
        best_n, best_month = _cheapest_split(g, m, tokens_per_day, input_tokens, output_tokens,
                                             weight_dtype, kv_dtype, num_gpus, price,
                                             utilization, min_replicas, staff_cost_per_month,
                                             hours_per_month)
        if np.isfinite(best_month):
            why += _advised_count(g, m, tokens_per_day, input_tokens, output_tokens,
                                  weight_dtype, kv_dtype, best_n, best_month, utilization,
                                  min_replicas, staff_cost_per_month, hours_per_month)
        raise CannotRunError(why)
    reps = replicas_needed(tokens_per_day, tps, utilization, min_replicas, hours_per_month)
    monthly = self_host_monthly_cost(tokens_per_day, tps, price, num_gpus, utilization,
                                     hours_per_month, min_replicas, staff_cost_per_month)
    replica_month = self_host_monthly_cost(0, tps, price, num_gpus, utilization,
                                           hours_per_month, 1, 0.0)
    days = api_days_per_month(hours_per_month)  # the month the GPUs are paid for
    api_month = api_monthly_cost(tokens_per_day, api_price, days)
    breakeven = (replica_month, replica_tokens_per_day(tps, utilization, hours_per_month),
                 api_price, min_replicas, staff_cost_per_month, days)
    best_n, best_month = _cheapest_split(g, m, tokens_per_day, input_tokens, output_tokens,
                                         weight_dtype, kv_dtype, num_gpus, price, utilization,
                                         min_replicas, staff_cost_per_month, hours_per_month)
    conc = float(concurrency_under_load(g, m, input_tokens, output_tokens, weight_dtype,
                                        kv_dtype, num_gpus))
    each = float(max_throughput(g, m, input_tokens, output_tokens, weight_dtype, kv_dtype,
                                num_gpus)) / conc
    busy = float(fleet_utilization(tokens_per_day, tps, reps, hours_per_month))

    def seen_at(n, replicas):  # what a request sees on each of those replicas at the volume
        return _service_at(g, m, input_tokens, output_tokens, weight_dtype, kv_dtype, n,
                           volume_rate(tokens_per_day, input_tokens, output_tokens, replicas,
                                       hours_per_month))

    seen = seen_at(num_gpus, reps) or (conc, each, float("nan"), float("nan"))
    from .queueing import operating_point
    most = float(operating_point(g, m, 0, input_tokens, output_tokens, weight_dtype, kv_dtype,
                                 num_gpus)[1])
    best_seen, best_tps = (NAN,) * 4, float(tps)
    if best_n != float(num_gpus):
        best_tps = float(replica_tokens_per_sec(g, m, input_tokens, output_tokens, weight_dtype,
                                                kv_dtype, best_n))
        best_reps = replicas_needed(tokens_per_day, best_tps, utilization, min_replicas,
                                    hours_per_month)
        best_seen = seen_at(best_n, best_reps) or best_seen
    given = price_per_gpu_hour is not None or _price_in_spec(g)  # the GPU's price is yours
    yours = _catalog.prices_given(p)  # and the API's
    later = best_seen[2] > max(LATER_FIRST_TOKEN * seen[2], LATER_FIRST_TOKEN_MS)
    advice = ("" if best_n == float(num_gpus) or not best_month < CHEAPER_SPLIT * monthly else
              "slow there" if slow_answers(best_seen[1], best_seen[3])
              and not slow_answers(seen[1], seen[3]) else
              "advised, first token later" if later else "advised")
    return Estimate(
        fleet_gpus=float(reps) * float(num_gpus), concurrency=conc, request_tokens_per_sec=each,
        llama_cpp_slots=bool(llama_cpp_slots(g, m, weight_dtype)
                             and conc >= engine_cap(g, m, weight_dtype, num_gpus)),
        fleet_requests_per_sec=float(volume_rate(tokens_per_day, input_tokens, output_tokens, 1,
                                                 hours_per_month)),
        volume_requests_per_sec=float(volume_rate(tokens_per_day, input_tokens, output_tokens,
                                                  reps, hours_per_month)),
        overloaded=tpd > 0 and not seen[2] == seen[2],
        slow_answers=slow_answers(seen[1], seen[3]),
        input_tokens=float(input_tokens), output_tokens=float(output_tokens),
        weight_dtype=str(dtype_name(weight_dtype_of(m, weight_dtype))),
        kv_dtype=str(dtype_name(KV_DTYPE if kv_dtype is None else kv_dtype)),
        utilization=float(utilization), min_replicas=float(min_replicas),
        gpu_price_given=given,
        caveat=(precision_caveat(p, weight_dtype_of(m, weight_dtype)) if p.model_id == m.id
                else  # the template's "Same model on both sides?"
                f"{p.id} serves {base.id}, which your spec string changes ({changes}): check "
                "that the two still compare" if p.model_id == base.id else
                f"{p.id} serves {p.model_id or p.model or p.id}, not {base.id}: quality and "
                "size differ"),
        same_model=p.model_id == base.id,
        kv_layout=kv_layout_note(m, num_gpus, weight_dtype),
        across_boards=domain_note(g, num_gpus, m, weight_dtype), vendor_factor=vendor_note(g),
        volume_concurrency=seen[0] if tpd > 0 else 0.0,
        volume_request_tokens_per_sec=seen[1],
        volume_answer_seconds=float(output_tokens) / seen[1] if seen[1] > 0 else NAN,
        volume_ttft_ms=seen[2], volume_ttft_tail_ms=seen[3],
        sustained_requests_per_sec=most,
        sustained_share=most * (float(input_tokens) + float(output_tokens)) / float(tps),
        best_num_gpus=best_n, best_monthly_cost=best_month, input_share=share,
        best_volume_request_tokens_per_sec=best_seen[1], best_volume_ttft_ms=best_seen[2],
        best_volume_ttft_tail_ms=best_seen[3], best_replica_tokens_per_sec=best_tps,
        split_advice=advice,
        api_input_price_per_mtok=p.input_usd_per_mtok,
        api_output_price_per_mtok=p.output_usd_per_mtok, hours_per_month=float(hours_per_month),
        gpu_price_as_of="" if price_per_gpu_hour is not None else g.cloud_price_as_of or "",
        api_price_as_of=p.as_of or "", api_prices_given=yours,
        gpu_price_stale=not given and _catalog.is_stale(g.cloud_price_as_of or ""),
        api_price_stale=not yours and _catalog.is_stale(p.as_of or ""),
        gpu=g.id, model=m.id, api=p.id, price_per_gpu_hour=float(price),
        api_price_per_mtok=api_price, tokens_per_day=tpd,
        replica_tokens_per_sec=tps, replicas=reps, num_gpus=float(num_gpus),
        gpu_monthly_cost=self_host_monthly_cost(tokens_per_day, tps, price, num_gpus,
                                                utilization, hours_per_month, min_replicas, 0.0),
        staff_cost_per_month=float(staff_cost_per_month),
        self_host_monthly_cost=monthly,
        api_monthly_cost=api_month, monthly_saving=api_month - monthly, api_model=p.model_id,
        api_model_name=p.model or p.model_id or p.id,
        self_host_cost_per_mtok_at_volume=(cost_per_mtok_at_volume(monthly, tokens_per_day, days)
                                           if tpd > 0 else float("nan")),
        planned_cost_per_mtok=self_host_cost_per_mtok(g, m, price, input_tokens, output_tokens,
                                                      weight_dtype, kv_dtype, num_gpus,
                                                      utilization),
        fleet_utilization=busy,
        breakeven_tokens_per_day=fleet_breakeven_tokens_per_day(*breakeven),
        breakeven_for_good_tokens_per_day=breakeven_for_good(*breakeven))


_args.fill(globals())  # the shared argument descriptions (xlnapkin._args)
