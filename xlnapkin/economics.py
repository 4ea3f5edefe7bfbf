"""Economics: what serving tokens costs, and what sharing, owning, caching and speculation save.

Units: US dollars (USD), hours for prices (``$/GPU-hour``), million tokens (``Mtok``) for token
prices, tokens/s for speeds, watts and kWh for energy, fractions in [0, 1] for shares and rates.
A month is 730 hours (8,760 / 12) unless an argument says otherwise.

The functions fall into four groups:

* **Unit costs** from a price and a speed: :func:`cost_per_mtok`, :func:`cost_per_user_month`,
  :func:`blended_price`, :func:`joules_per_token`, :func:`energy_cost_per_mtok`,
  :func:`effective_cost_per_mtok`.
* **Fleets and plans**: :func:`replicas_needed`, :func:`self_host_monthly_cost`,
  :func:`breakeven_tokens_per_day`, :func:`spot_hybrid_cost`, :func:`provisioned_utilization`,
  :func:`users_per_gpu`, :func:`users_per_gpu_by_throughput`.
* **Owning hardware**: :func:`gpu_hourly_cost` (straight line) and :func:`own_hourly_cost`
  (financed, with hosting and resale).
* **Sharing and tricks**: multi-tenant pooling (:func:`dedicated_gpus`, :func:`pooled_gpus`,
  :func:`pooling_savings`, :func:`pooled_utilization`, :func:`pooling_monte_carlo`),
  :func:`lora_sharing_savings`, :func:`prefix_cache_savings`, :func:`spec_decode_speedup`.
* **Composed with the performance model** (:mod:`xlnapkin.serving`):
  :func:`replica_tokens_per_sec`, :func:`self_host_cost_per_mtok`,
  :func:`self_host_monthly_cost_for`, :func:`cost_per_mtok_input`, :func:`cost_per_mtok_output`,
  :func:`prefill_decode_ratio`, :func:`users_per_gpu_for`, :func:`calibrate_efficiency`.

Every function takes scalars or NumPy arrays (which broadcast) and returns a float for scalar
input. Bad input raises :class:`~xlnapkin.errors.InvalidArgumentError` naming the argument.

>>> round(cost_per_mtok(2.21, 2400, 0.7, 4), 4)
1.4616
>>> round(gpu_hourly_cost(32000, 3), 3)
1.218
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from . import _checks
from .calibration import resolve
from .catalog import gpu as _gpu, model as _model
from .errors import InvalidArgumentError, UnknownNameError, format_value
from .memory import max_batch
from .roofline import decode_step_time
from .serving import concurrency_under_load, max_throughput, tokens_per_sec

__all__ = [
    "HOURS_PER_YEAR", "HOURS_PER_MONTH", "SECONDS_PER_DAY",
    "cost_per_mtok", "cost_per_user_month", "gpu_hourly_cost", "own_hourly_cost",
    "blended_price", "breakeven_tokens_per_day", "spot_hybrid_cost", "prefix_cache_savings",
    "spec_decode_speedup", "replicas_needed", "self_host_monthly_cost",
    "replica_tokens_per_sec", "self_host_cost_per_mtok", "self_host_monthly_cost_for",
    "cost_per_mtok_input", "cost_per_mtok_output", "prefill_decode_ratio",
    "users_per_gpu", "users_per_gpu_by_throughput", "users_per_gpu_for",
    "provisioned_utilization", "effective_cost_per_mtok",
    "dedicated_capacity", "pooled_capacity", "dedicated_gpus", "pooled_gpus",
    "pooling_savings", "pooled_utilization", "pooling_monte_carlo", "PoolingEstimate",
    "DISTRIBUTIONS", "lora_sharing_savings", "calibrate_efficiency", "joules_per_token",
    "energy_cost_per_mtok",
]

HOURS_PER_YEAR = 8760.0
HOURS_PER_MONTH = HOURS_PER_YEAR / 12  # 730
SECONDS_PER_DAY = 86400.0
MAX_HOURS_PER_MONTH = 744.0  # 31 days: more is a typing mistake, not a month
_MTOK = 1e6
_ROUND_DOWN = 1 - 1e-12  # ceil(x * this): exact multiples stay put despite float error


_out = _checks.scalar_out


def _whole(x):
    """Round up to a whole number, ignoring float noise just above an integer."""
    return np.ceil(np.asarray(x, dtype=float) * _ROUND_DOWN)


def _first_bad(bad, *arrays):
    """The first element of each array where ``bad`` holds (arrays broadcast with ``bad``)."""
    idx = np.unravel_index(int(np.flatnonzero(bad)[0]), np.shape(bad))
    return [np.broadcast_to(a, np.shape(bad))[idx] for a in arrays]


def _price(value, name):
    return _checks.number(value, name, 0)


def _hours(value, name="hours_per_month"):
    return _checks.number(value, name, 0, MAX_HOURS_PER_MONTH, min_open=True)


# --- Unit costs -------------------------------------------------------------------------------

def cost_per_mtok(price_per_gpu_hour, tokens_per_sec, utilization=1.0, num_gpus=1):
    """USD per million tokens of a replica that is paid for every hour but busy only part of it.

    ``price x num_gpus / (tokens_per_sec x utilization x 3600) x 1e6``

    Args:
        price_per_gpu_hour: rental or own cost of one GPU for one hour [USD/GPU-hour]
        tokens_per_sec: tokens/s the whole replica produces while busy [tokens/s]
        utilization: share of paid hours the replica runs at that speed, in (0, 1] [0-1]
        num_gpus: GPUs in the replica [GPUs]

    Returns USD per million tokens [USD/Mtok].

    Notes: idle time is charged (a rented or owned GPU costs the same busy or idle); to model
    capacity that is released when idle, set ``utilization=1`` and scale the GPU-hours instead.

    >>> round(cost_per_mtok(4.5, 4800), 4)
    0.2604
    """
    price = _price(price_per_gpu_hour, "price_per_gpu_hour")
    tps = _checks.number(tokens_per_sec, "tokens_per_sec", 0, min_open=True)
    util = _checks.fraction(utilization, "utilization")
    n = _checks.number(num_gpus, "num_gpus", 1, integer=True)
    return _out(price * n / (tps * util * 3600.0) * _MTOK)


def cost_per_user_month(price_per_gpu_hour, users_per_gpu, hours_per_month=HOURS_PER_MONTH):
    """USD per user per month: one GPU's monthly cost shared by the users it serves.

    Args:
        price_per_gpu_hour: cost of one GPU for one hour [USD/GPU-hour]
        users_per_gpu: users one GPU serves (see :func:`users_per_gpu`) [users]
        hours_per_month: hours the GPU is paid for in a month, at most 744 [hours]

    >>> round(cost_per_user_month(3, 500, 720), 2)
    4.32
    """
    price = _price(price_per_gpu_hour, "price_per_gpu_hour")
    users = _checks.number(users_per_gpu, "users_per_gpu", 0, min_open=True)
    hours = _hours(hours_per_month)
    return _out(price * hours / users)


def blended_price(price_in_per_mtok, price_out_per_mtok, input_share=0.5):
    """USD per million tokens for a mix of input and output tokens.

    ``input_share x price_in + (1 - input_share) x price_out``

    Args:
        price_in_per_mtok: price of input (prompt) tokens [USD/Mtok]
        price_out_per_mtok: price of output (generated) tokens [USD/Mtok]
        input_share: share of all tokens that are input tokens, in [0, 1] [0-1]

    >>> blended_price(2.5, 10, 0.5)
    6.25
    """
    p_in = _price(price_in_per_mtok, "price_in_per_mtok")
    p_out = _price(price_out_per_mtok, "price_out_per_mtok")
    share = _checks.fraction(input_share, "input_share", zero_ok=True)
    return _out(share * p_in + (1.0 - share) * p_out)


def api_monthly_cost(tokens_per_day, price_per_mtok, days_per_month=HOURS_PER_MONTH / 24):
    """Monthly bill of a token API for a daily volume at one (blended) price.

    ``tokens_per_day x days_per_month x price_per_mtok / 1e6`` [USD/month]

    Args:
        tokens_per_day: tokens sent to and received from the API per day [tokens/day]
        price_per_mtok: price per million tokens, e.g. BLENDED_PRICE(...) [USD/Mtok]
        days_per_month: days billed per month [days]

    >>> api_monthly_cost(33e6, 6.25, 30)   # seed 002-sized volume at GPT-4o's blended price
    6187.5
    """
    tpd = _checks.number(tokens_per_day, "tokens_per_day", 0)
    price = _price(price_per_mtok, "price_per_mtok")
    days = _checks.number(days_per_month, "days_per_month", 0, 31, min_open=True)
    return _out(tpd * days * price / 1e6)


def joules_per_token(power_watts, tokens_per_sec, num_gpus=1, pue=1.0):
    """Energy per token: ``power x num_gpus x pue / tokens_per_sec``. [J/token]

    Args:
        power_watts: power drawn by one GPU while serving (its TDP is an upper bound) [W]
        tokens_per_sec: tokens/s of the whole replica [tokens/s]
        num_gpus: GPUs in the replica [GPUs]
        pue: data-centre power usage effectiveness, >= 1 (facility power / IT power) [ratio]

    >>> joules_per_token(700, 2000)
    0.35
    """
    watts = _checks.number(power_watts, "power_watts", 0)
    tps = _checks.number(tokens_per_sec, "tokens_per_sec", 0, min_open=True)
    n = _checks.number(num_gpus, "num_gpus", 1, integer=True)
    p = _checks.number(pue, "pue", 1)
    return _out(watts * n * p / tps)


def energy_cost_per_mtok(power_watts, tokens_per_sec, price_per_kwh, num_gpus=1, pue=1.0):
    """Electricity cost of a million tokens: joules per token x 1e6 / 3.6e6 x price. [USD/Mtok]

    Args:
        power_watts: power drawn by one GPU while serving [W]
        tokens_per_sec: tokens/s of the whole replica [tokens/s]
        price_per_kwh: electricity price [USD/kWh]
        num_gpus: GPUs in the replica [GPUs]
        pue: data-centre power usage effectiveness, >= 1 [ratio]

    >>> round(energy_cost_per_mtok(700, 2000, 0.10), 5)
    0.00972
    """
    kwh_price = _price(price_per_kwh, "price_per_kwh")
    return _out(joules_per_token(power_watts, tokens_per_sec, num_gpus, pue) * _MTOK / 3.6e6
                * kwh_price)


def effective_cost_per_mtok(price_per_gpu_hour, tokens_per_sec, utilization, offpeak_fill=0.0,
                            batch_discount=0.5, num_gpus=1):
    """Break-even price per million interactive tokens when idle capacity is sold as batch work.

    The fleet costs ``C = price x num_gpus / (tokens_per_sec x 3600) x 1e6`` per million tokens
    of capacity. Interactive traffic uses ``utilization`` of it; batch jobs fill ``offpeak_fill``
    of the rest and pay ``1 - batch_discount`` of the interactive price ``P``. Revenue covers
    cost when ``P x (u + (1 - d) x f x (1 - u)) = C``. [USD/Mtok]

    With ``offpeak_fill = 0`` this is :func:`cost_per_mtok`; with ``batch_discount = 0`` it is
    :func:`cost_per_mtok` at the filled utilization ``u + f (1 - u)``.

    Args:
        price_per_gpu_hour: cost of one GPU for one hour [USD/GPU-hour]
        tokens_per_sec: tokens/s of the whole replica while busy [tokens/s]
        utilization: share of capacity interactive traffic uses, in (0, 1] [0-1]
        offpeak_fill: share of the idle capacity filled by batch or resold work, in [0, 1] [0-1]
        batch_discount: discount batch tokens get off the interactive price, in [0, 1] [0-1]
        num_gpus: GPUs in the replica [GPUs]

    >>> round(effective_cost_per_mtok(16, 22000, 1/6, 0.5, 0.5), 3)
    0.539
    """
    full = cost_per_mtok(price_per_gpu_hour, tokens_per_sec, 1.0, num_gpus)
    u = _checks.fraction(utilization, "utilization")
    f = _checks.fraction(offpeak_fill, "offpeak_fill", zero_ok=True)
    d = _checks.fraction(batch_discount, "batch_discount", zero_ok=True)
    return _out(full / (u + (1.0 - d) * f * (1.0 - u)))


# --- Owning hardware --------------------------------------------------------------------------

def gpu_hourly_cost(purchase_price, years=3.0, power_watts=0.0, price_per_kwh=0.0, pue=1.0,
                    annual_overhead=0.0):
    """Own-hardware cost of one GPU-hour: straight-line depreciation plus energy plus overhead.

    ``purchase_price / (years x 8760) + power_watts / 1000 x pue x price_per_kwh
    + annual_overhead x purchase_price / 8760``

    Args:
        purchase_price: price paid for the GPU (with its share of the server if you like) [USD]
        years: years the GPU is written off over [years]
        power_watts: average power drawn by the GPU [W]
        price_per_kwh: electricity price [USD/kWh]
        pue: data-centre power usage effectiveness, >= 1 [ratio]
        annual_overhead: yearly hosting, maintenance and staff as a fraction of the price [1/year]

    Notes: no financing cost and no resale value; see :func:`own_hourly_cost` for both. Every
    hour of the year is counted, so divide by utilization (or use :func:`cost_per_mtok`) for
    the cost of a busy hour.

    >>> round(gpu_hourly_cost(32000, 2), 4)
    1.8265
    """
    price = _price(purchase_price, "purchase_price")
    yrs = _checks.number(years, "years", 0, min_open=True)
    energy = _energy_per_hour(power_watts, price_per_kwh, pue)
    over = _checks.number(annual_overhead, "annual_overhead", 0)
    return _out(price / (yrs * HOURS_PER_YEAR) + energy + over * price / HOURS_PER_YEAR)


def _energy_per_hour(power_watts, price_per_kwh, pue):
    watts = _checks.number(power_watts, "power_watts", 0)
    kwh = _price(price_per_kwh, "price_per_kwh")
    p = _checks.number(pue, "pue", 1)
    return watts / 1000.0 * p * kwh


def own_hourly_cost(purchase_price, years=3.0, power_watts=0.0, price_per_kwh=0.0, pue=1.0,
                    hosting_per_month=0.0, cost_of_capital=0.0, residual_value=0.0):
    """Own-hardware cost of one GPU-hour with financing (an annuity) and resale value.

    The capital is repaid in equal yearly instalments at interest ``r`` over ``n = years``:
    ``(purchase_price - residual_value / (1 + r)^n) x CRF / 8760`` per hour, with the capital
    recovery factor ``CRF = r (1 + r)^n / ((1 + r)^n - 1)`` (``1 / n`` when r = 0); plus energy
    and ``hosting_per_month x 12 / 8760``. At r = 0, no resale and no hosting it equals
    :func:`gpu_hourly_cost`. [USD/GPU-hour]

    Args:
        purchase_price: price paid for the GPU [USD]
        years: years the GPU is used and financed over [years]
        power_watts: average power drawn by the GPU [W]
        price_per_kwh: electricity price [USD/kWh]
        pue: data-centre power usage effectiveness, >= 1 [ratio]
        hosting_per_month: colocation, network, support and staff per GPU per month [USD/month]
        cost_of_capital: yearly interest rate or required return, in [0, 1] [1/year]
        residual_value: resale value at the end of the period, at most the purchase price [USD]

    >>> round(own_hourly_cost(32000, 3), 4) == round(gpu_hourly_cost(32000, 3), 4)
    True
    >>> round(own_hourly_cost(32000, 3, 700, 0.10, 1.3, 150, 0.08, 5000), 3)
    1.538
    """
    price = _price(purchase_price, "purchase_price")
    n = _checks.number(years, "years", 0, min_open=True)
    energy = _energy_per_hour(power_watts, price_per_kwh, pue)
    hosting = _price(hosting_per_month, "hosting_per_month")
    r = _checks.fraction(cost_of_capital, "cost_of_capital", zero_ok=True)
    rv = _price(residual_value, "residual_value")
    bad = np.asarray(rv > price)
    if bad.any():
        p0, rv0 = _first_bad(bad, price, rv)
        raise InvalidArgumentError("residual_value",
                                   f"at most purchase_price ({format_value(p0)})", rv0)
    growth = (1.0 + r) ** n
    with np.errstate(divide="ignore", invalid="ignore"):
        crf = np.where(r > 0, r * growth / np.where(r > 0, growth - 1.0, 1.0), 1.0 / n)
    capital = (price - rv / growth) * crf / HOURS_PER_YEAR
    return _out(capital + energy + hosting * 12.0 / HOURS_PER_YEAR)


# --- Fleets and plans -------------------------------------------------------------------------

def breakeven_tokens_per_day(self_host_monthly_cost, api_price_per_mtok,
                             self_host_price_per_mtok=0.0, days_per_month=730 / 24):
    """Tokens per day above which a fixed self-hosted fleet is cheaper than paying an API.

    ``monthly cost / days_per_month / ((api - self-host marginal) / 1e6)`` [tokens/day]

    Args:
        self_host_monthly_cost: fixed monthly cost of the self-hosted fleet [USD/month]
        api_price_per_mtok: API price (blended over input and output) [USD/Mtok]
        self_host_price_per_mtok: self-hosting cost that grows with volume (energy, egress) [USD/Mtok]
        days_per_month: days in the month the fixed cost covers [days]

    Notes: the fleet must be able to carry the breakeven volume; check with
    :func:`replicas_needed` (more volume needs more replicas, a step up in fixed cost).

    >>> round(breakeven_tokens_per_day(6453.2, 6.25))
    33945600
    """
    fixed = _price(self_host_monthly_cost, "self_host_monthly_cost")
    api = _price(api_price_per_mtok, "api_price_per_mtok")
    own = _price(self_host_price_per_mtok, "self_host_price_per_mtok")
    days = _checks.number(days_per_month, "days_per_month", 0, 31, min_open=True)
    bad = np.asarray(api <= own)
    if bad.any():
        api0, own0 = _first_bad(bad, api, own)
        raise InvalidArgumentError(
            "api_price_per_mtok",
            f"above self_host_price_per_mtok ({format_value(own0)}) for a breakeven to exist", api0)
    return _out(fixed / days / ((api - own) / _MTOK))


def spot_hybrid_cost(base_gpus, burst_gpus, on_demand_rate, spot_rate, burst_fraction,
                     hours_per_month=HOURS_PER_MONTH):
    """Monthly cost of an always-on on-demand base fleet plus spot GPUs used part of the time.

    ``base x on_demand x hours + burst x spot x hours x burst_fraction`` [USD/month]

    Args:
        base_gpus: on-demand (or reserved) GPUs running all month [GPUs]
        burst_gpus: spot GPUs added for peaks [GPUs]
        on_demand_rate: price of an on-demand GPU [USD/GPU-hour]
        spot_rate: price of a spot GPU [USD/GPU-hour]
        burst_fraction: share of the month the spot GPUs run, in [0, 1] [0-1]
        hours_per_month: hours in the month, at most 744 [hours]

    Notes: spot capacity can be reclaimed; this prices it, it does not guarantee it.

    >>> round(spot_hybrid_cost(4, 4, 2.21, 0.73, 0.6), 2)
    7732.16
    """
    base = _checks.number(base_gpus, "base_gpus", 0, integer=True)
    burst = _checks.number(burst_gpus, "burst_gpus", 0, integer=True)
    od = _price(on_demand_rate, "on_demand_rate")
    spot = _price(spot_rate, "spot_rate")
    frac = _checks.fraction(burst_fraction, "burst_fraction", zero_ok=True)
    hours = _hours(hours_per_month)
    return _out(base * od * hours + burst * spot * hours * frac)


def replicas_needed(tokens_per_day, replica_tokens_per_sec, utilization=0.7):
    """Replicas needed to carry a daily token volume, at least one (a deployment is always on).

    ``max(1, ceil(tokens_per_day / (replica_tokens_per_sec x 86400 x utilization)))`` [replicas]

    Args:
        tokens_per_day: tokens to serve per day (count them the way replica_tokens_per_sec does) [tokens/day]
        replica_tokens_per_sec: tokens/s one replica sustains under load [tokens/s]
        utilization: average load a replica is planned to run at, headroom for peaks, in (0, 1] [0-1]

    Notes: the volume is spread evenly over the day; for a daily peak, lower ``utilization``
    (see :func:`provisioned_utilization`).

    >>> replicas_needed(2e9, 10000)
    4.0
    """
    tokens = _checks.number(tokens_per_day, "tokens_per_day", 0)
    tps = _checks.number(replica_tokens_per_sec, "replica_tokens_per_sec", 0, min_open=True)
    util = _checks.fraction(utilization, "utilization")
    return _out(np.maximum(_whole(tokens / (tps * SECONDS_PER_DAY * util)), 1.0))


def self_host_monthly_cost(tokens_per_day, replica_tokens_per_sec, price_per_gpu_hour,
                           num_gpus=1, utilization=0.7, hours_per_month=HOURS_PER_MONTH):
    """Monthly cost of the self-hosted replicas a daily volume needs (a step function of volume).

    ``replicas_needed(...) x num_gpus x price x hours_per_month`` [USD/month]

    Args:
        tokens_per_day: tokens to serve per day [tokens/day]
        replica_tokens_per_sec: tokens/s one replica sustains under load [tokens/s]
        price_per_gpu_hour: cost of one GPU for one hour [USD/GPU-hour]
        num_gpus: GPUs in one replica [GPUs]
        utilization: average load a replica is planned to run at, in (0, 1] [0-1]
        hours_per_month: hours paid per month, at most 744 [hours]

    >>> self_host_monthly_cost(2e9, 10000, 2.21, 4)
    25812.8
    """
    reps = replicas_needed(tokens_per_day, replica_tokens_per_sec, utilization)
    price = _price(price_per_gpu_hour, "price_per_gpu_hour")
    n = _checks.number(num_gpus, "num_gpus", 1, integer=True)
    hours = _hours(hours_per_month)
    return _out(reps * n * price * hours)


def users_per_gpu(concurrent_sequences, duty_cycle):
    """Users one GPU serves when each user is active only ``duty_cycle`` of the time.

    ``concurrent_sequences / duty_cycle`` [users]

    Args:
        concurrent_sequences: sequences the GPU holds and decodes at once [sequences]
        duty_cycle: share of the time a user has a request in flight, in (0, 1] [0-1]

    Notes: assumes an idle user's KV cache is evicted (or cheap to rebuild) and that users'
    activity is independent, so the concurrent count is an average, not a guaranteed peak.

    >>> users_per_gpu(60, 0.2)
    300.0
    """
    conc = _checks.number(concurrent_sequences, "concurrent_sequences", 0)
    duty = _checks.fraction(duty_cycle, "duty_cycle")
    return _out(conc / duty)


def users_per_gpu_by_throughput(tokens_per_sec, user_tokens_per_sec, duty_cycle=1.0,
                                num_gpus=1):
    """Users per GPU bounded by throughput: the replica's tokens/s over what its users consume.

    ``tokens_per_sec / (user_tokens_per_sec x duty_cycle) / num_gpus`` [users]

    Args:
        tokens_per_sec: tokens/s the whole replica produces under load [tokens/s]
        user_tokens_per_sec: tokens/s one user receives while active [tokens/s]
        duty_cycle: share of the time a user is active, in (0, 1] [0-1]
        num_gpus: GPUs in the replica [GPUs]

    >>> users_per_gpu_by_throughput(2400, 40, 0.2)
    300.0
    """
    tps = _checks.number(tokens_per_sec, "tokens_per_sec", 0)
    user = _checks.number(user_tokens_per_sec, "user_tokens_per_sec", 0, min_open=True)
    duty = _checks.fraction(duty_cycle, "duty_cycle")
    n = _checks.number(num_gpus, "num_gpus", 1, integer=True)
    return _out(tps / (user * duty) / n)


def provisioned_utilization(peak_to_average, regions=1, offpeak_fill=0.0):
    """Average GPU utilization when capacity is bought for the peak in regions that cannot share.

    Base ``u = 1 / (peak_to_average x regions)``, raised by filling ``offpeak_fill`` of the idle
    capacity with batch or resold work: ``u + offpeak_fill x (1 - u)``. [0-1]

    Model: the load that could be served from one shared pool has peak ``p`` times its average.
    Each of ``regions`` regions must serve its own users (data residency, latency) and holds
    capacity for the peak during its own busy hours. When those busy hours do not overlap
    (follow-the-sun), each region needs about the whole peak while averaging ``1 / regions`` of
    the load, so utilization is ``1 / (p x regions)``; ``regions = 1`` is the shared-pool case
    ``1 / p``. Regions whose peaks overlap land between the two.

    Args:
        peak_to_average: peak load over average load of the combined traffic, >= 1 [ratio]
        regions: regions that cannot share GPUs, busy at different hours [regions]
        offpeak_fill: share of the idle capacity filled by batch jobs or resold, in [0, 1] [0-1]

    >>> round(provisioned_utilization(3, 3), 3), round(provisioned_utilization(2, 3), 3)
    (0.111, 0.167)
    """
    p = _checks.number(peak_to_average, "peak_to_average", 1)
    r = _checks.number(regions, "regions", 1, integer=True)
    f = _checks.fraction(offpeak_fill, "offpeak_fill", zero_ok=True)
    base = 1.0 / (p * r)
    return _out(base + f * (1.0 - base))


# --- Caching and speculative decoding ---------------------------------------------------------

def prefix_cache_savings(prefix_tokens, unique_tokens, hit_rate):
    """Share of prefill tokens that prefix caching saves.

    ``hit_rate x prefix_tokens / (prefix_tokens + unique_tokens)`` [0-1]

    Args:
        prefix_tokens: tokens of the shared prefix (system prompt, template) [tokens]
        unique_tokens: tokens of each request after the prefix, > 0 [tokens]
        hit_rate: share of requests that find the prefix cached, in [0, 1] [0-1]

    Notes: saves prefill compute and TTFT, not decode; a cached prefix still occupies KV memory.

    >>> round(prefix_cache_savings(2048, 256, 0.85), 4)
    0.7556
    """
    prefix = _checks.number(prefix_tokens, "prefix_tokens", 0)
    unique = _checks.number(unique_tokens, "unique_tokens", 0, min_open=True)
    hit = _checks.fraction(hit_rate, "hit_rate", zero_ok=True)
    return _out(hit * prefix / (prefix + unique))


def spec_decode_speedup(acceptance_rate, draft_tokens, draft_cost_ratio=0.0):
    """Decode speed-up from speculative decoding with ``draft_tokens`` drafted per step.

    ``(1 - a^(k+1)) / (1 - a) / (1 + k x draft_cost_ratio)`` [ratio]

    The numerator is the expected tokens one verification step yields when each drafted token
    is accepted independently with probability ``a`` (Leviathan et al., 2023).

    Args:
        acceptance_rate: chance each drafted token is accepted, in [0, 1) [0-1]
        draft_tokens: tokens the draft model proposes per step [tokens]
        draft_cost_ratio: time of one draft-model step over one target-model step [ratio]

    Notes: assumes verifying ``k + 1`` tokens costs one decode step, true while decode is
    memory-bound (batch well below :func:`~xlnapkin.roofline.critical_batch`); at large batch
    verification costs compute and the gain shrinks.

    >>> round(spec_decode_speedup(0.8, 4, 0.05), 3)
    2.801
    """
    a = _checks.number(acceptance_rate, "acceptance_rate", 0, 1, max_open=True)
    k = _checks.number(draft_tokens, "draft_tokens", 0, integer=True)
    c = _checks.number(draft_cost_ratio, "draft_cost_ratio", 0)
    return _out((1.0 - a ** (k + 1.0)) / (1.0 - a) / (1.0 + k * c))


# --- Multi-tenant pooling ---------------------------------------------------------------------

_STD_NORMAL = NormalDist()


def _z(percentile):
    q = _checks.number(percentile, "percentile", 0, 1, min_open=True, max_open=True)
    if np.ndim(q) == 0:
        return _STD_NORMAL.inv_cdf(q)
    values, where = np.unique(q, return_inverse=True)  # a grid repeats its percentiles
    return np.array([_STD_NORMAL.inv_cdf(v) for v in values])[where].reshape(q.shape)


def _pool_args(tenants, mean_utilization, percentile, cv, gpus_per_tenant, correlation,
               tenant_name="tenants"):
    n = _checks.number(tenants, tenant_name, 1, integer=True)
    mu = _checks.fraction(mean_utilization, "mean_utilization")
    z = _z(percentile)
    c = _checks.number(cv, "cv", 0)
    g = _checks.number(gpus_per_tenant, "gpus_per_tenant", 1, integer=True)
    rho = _checks.fraction(correlation, "correlation", zero_ok=True)
    return n, mu, z, c, g, rho


def _pooled_load(n, load, z, c, rho):
    """Percentile of the summed load of ``n`` normal tenants. [GPUs]"""
    return n * load + z * c * load * np.sqrt(n * (1.0 + (n - 1.0) * rho))


def dedicated_capacity(tenants, mean_utilization, percentile, cv=0.25, gpus_per_tenant=1,
                       correlation=0.0):
    """GPUs of load (fractional) that dedicated deployments must cover: every tenant's own
    percentile, ``tenants x mean_utilization x gpus_per_tenant x (1 + z x cv)``, with
    ``z = NORM.S.INV(percentile)``. Not rounded, not floored at the deployment size. [GPUs]

    ``correlation`` is accepted so that all pooling functions share one signature; it does not
    change a single tenant's percentile.
    """
    n, mu, z, c, g, _rho = _pool_args(tenants, mean_utilization, percentile, cv,
                                      gpus_per_tenant, correlation)
    return _out(n * mu * g * (1.0 + z * c))


def pooled_capacity(tenants, mean_utilization, percentile, cv=0.25, gpus_per_tenant=1,
                    correlation=0.0):
    """GPUs of load (fractional) one shared pool must cover: the percentile of the summed load,
    ``N m + z x cv x m x sqrt(N (1 + (N - 1) rho))`` with ``m = mean_utilization x
    gpus_per_tenant``. Not rounded. [GPUs]"""
    n, mu, z, c, g, rho = _pool_args(tenants, mean_utilization, percentile, cv,
                                     gpus_per_tenant, correlation)
    return _out(_pooled_load(n, mu * g, z, c, rho))


def dedicated_gpus(tenants, mean_utilization, percentile, cv=0.25, gpus_per_tenant=1,
                   correlation=0.0):
    """Whole GPUs for tenants each on their own deployment, each sized for its own percentile.

    Per tenant ``max(gpus_per_tenant, ceil(m (1 + z cv)))`` with ``m = mean_utilization x
    gpus_per_tenant`` GPUs of mean load and ``z = NORM.S.INV(percentile)``; times ``tenants``.
    [GPUs]

    Model: each tenant's load is normal with mean ``m`` and standard deviation ``cv x m``,
    independent of the others (``correlation`` only matters to the pool). A deployment never
    shrinks below ``gpus_per_tenant``: tenants often idle at low utilization because a model
    needs a minimum number of GPUs, not because of their peaks.

    Args:
        tenants: number of tenants (customers, teams or models) [tenants]
        mean_utilization: each tenant's average load as a share of its gpus_per_tenant, in (0, 1] [0-1]
        percentile: share of the time capacity must cover the load, in (0, 1), e.g. 0.95 [0-1]
        cv: coefficient of variation of one tenant's load (standard deviation / mean) [ratio]
        gpus_per_tenant: GPUs of one tenant's smallest deployment [GPUs]
        correlation: correlation between tenants' loads, in [0, 1] (0 = independent) [0-1]

    Notes: the normal model is fair while cv <= ~0.3 (a negative load then has under 0.05 %
    probability); burstier tenants are better served by :func:`pooling_monte_carlo`.

    >>> dedicated_gpus(10, 0.4, 0.95)
    10.0
    """
    n, mu, z, c, g, _rho = _pool_args(tenants, mean_utilization, percentile, cv,
                                      gpus_per_tenant, correlation)
    return _out(n * np.maximum(g, _whole(mu * g * (1.0 + z * c))))


def pooled_gpus(tenants, mean_utilization, percentile, cv=0.25, gpus_per_tenant=1,
                correlation=0.0):
    """Whole GPUs for one shared pool sized for the percentile of all tenants' summed load.

    ``max(g, ceil(N m + z x cv x m x sqrt(N (1 + (N - 1) rho))))`` with ``g = gpus_per_tenant``,
    ``m = mean_utilization x g`` and ``z = NORM.S.INV(percentile)``: never smaller than one
    deployment, so one tenant alone saves nothing. [GPUs]

    Args:
        tenants: number of tenants sharing the pool [tenants]
        mean_utilization: each tenant's average load as a share of its gpus_per_tenant, in (0, 1] [0-1]
        percentile: share of the time the pool must cover the load, in (0, 1) [0-1]
        cv: coefficient of variation of one tenant's load [ratio]
        gpus_per_tenant: GPUs of one tenant's dedicated deployment (scales the load) [GPUs]
        correlation: correlation between tenants' loads, in [0, 1] (1 = peaks align, no gain) [0-1]

    Notes: the pool is counted in single GPUs; if one model replica spans several GPUs, set
    gpus_per_tenant to 1, read the results as replicas and multiply by GPUs per replica.

    >>> pooled_gpus(10, 0.4, 0.95)
    5.0
    """
    n, mu, z, c, g, rho = _pool_args(tenants, mean_utilization, percentile, cv,
                                     gpus_per_tenant, correlation)
    return _out(np.maximum(g, _whole(_pooled_load(n, mu * g, z, c, rho))))


def pooling_savings(tenants, mean_utilization, percentile, cv=0.25, gpus_per_tenant=1,
                    correlation=0.0):
    """Share of GPU cost saved by one shared pool instead of dedicated deployments.

    ``1 - pooled_gpus / dedicated_gpus`` (whole GPUs, as paid for) [0-1]

    Args:
        tenants: number of tenants [tenants]
        mean_utilization: each tenant's average load as a share of its gpus_per_tenant, in (0, 1] [0-1]
        percentile: share of the time capacity must cover the load, in (0, 1) [0-1]
        cv: coefficient of variation of one tenant's load [ratio]
        gpus_per_tenant: GPUs of one tenant's smallest deployment [GPUs]
        correlation: correlation between tenants' loads, in [0, 1] [0-1]

    Notes: for percentiles >= 0.5 never above one minus the dedicated fleet's utilization
    (``1 - mean_utilization`` while deployments are at their minimum size): the pool cannot run
    above 100 %. Whole GPUs make it a step function of the number of tenants.

    >>> pooling_savings(10, 0.4, 0.95)
    0.5
    """
    ded = dedicated_gpus(tenants, mean_utilization, percentile, cv, gpus_per_tenant, correlation)
    pool = pooled_gpus(tenants, mean_utilization, percentile, cv, gpus_per_tenant, correlation)
    return _out(1.0 - pool / ded)


def pooled_utilization(tenants, mean_utilization, percentile, cv=0.25, gpus_per_tenant=1,
                       correlation=0.0):
    """Average utilization of the shared pool: mean summed load over pooled GPUs.

    ``tenants x mean_utilization x gpus_per_tenant / pooled_gpus`` [0-1]

    Args:
        tenants: number of tenants [tenants]
        mean_utilization: each tenant's average load as a share of its gpus_per_tenant, in (0, 1] [0-1]
        percentile: share of the time the pool must cover the load, in (0, 1) [0-1]
        cv: coefficient of variation of one tenant's load [ratio]
        gpus_per_tenant: GPUs of one tenant's dedicated deployment [GPUs]
        correlation: correlation between tenants' loads, in [0, 1] [0-1]

    >>> pooled_utilization(10, 0.4, 0.95)
    0.8
    """
    n, mu, _z_, _c, g, _rho = _pool_args(tenants, mean_utilization, percentile, cv,
                                         gpus_per_tenant, correlation)
    return _out(n * mu * g / pooled_gpus(tenants, mean_utilization, percentile, cv,
                                         gpus_per_tenant, correlation))


DISTRIBUTIONS = ("normal", "lognormal", "gamma", "beta", "onoff")


@dataclass(frozen=True)
class PoolingEstimate:
    """Result of :func:`pooling_monte_carlo`. Capacities are fractional GPUs of load."""

    dedicated_capacity: float   # tenants x the per-tenant percentile
    pooled_capacity: float      # percentile of the summed load
    pooled_capacity_se: float   # standard error of pooled_capacity (batch means)
    dedicated_gpus: float       # whole GPUs, each tenant at least gpus_per_tenant
    pooled_gpus: float          # whole GPUs, at least gpus_per_tenant
    savings_fraction: float     # 1 - pooled_gpus / dedicated_gpus
    pooled_utilization: float   # mean summed load / pooled_gpus
    samples: int


def _draw(rng, dist, mean, cv, size, normals=None, mu=None):
    """One tenant's load: ``size`` draws with the given mean and coefficient of variation.

    ``normals`` (standard normal, possibly correlated across tenants) drive the Gaussian-copula
    families (normal, lognormal, onoff); gamma and beta are drawn independently.
    """
    if cv == 0:
        return np.full(size, mean)
    if dist == "normal":
        return mean * (1.0 + cv * normals)
    if dist == "lognormal":
        s2 = math.log1p(cv * cv)
        return np.exp(math.log(mean) - s2 / 2.0 + math.sqrt(s2) * normals)
    if dist == "onoff":
        p_on = 1.0 / (1.0 + cv * cv)  # on at load mean / p_on: mean and cv as asked
        return np.where(normals < _STD_NORMAL.inv_cdf(p_on), mean / p_on, 0.0)
    if dist == "gamma":
        return rng.gamma(1.0 / (cv * cv), mean * cv * cv, size)
    # beta on [0, gpus_per_tenant]: mean share mu, standard deviation cv x mu
    var = (cv * mu) ** 2
    k = mu * (1.0 - mu) / var - 1.0
    return mean / mu * rng.beta(mu * k, (1.0 - mu) * k, size)


def pooling_monte_carlo(tenants, mean_utilization, percentile, cv=0.25, gpus_per_tenant=1,
                        correlation=0.0, distribution="lognormal", samples=200_000, seed=0):
    """Dedicated vs pooled capacity by simulation, for load distributions without a closed form.
    Returns a :class:`PoolingEstimate` (capacities in [GPUs]).

    Draws ``samples`` independent moments of every tenant's load (mean ``mean_utilization x
    gpus_per_tenant`` GPUs, coefficient of variation ``cv``) from ``distribution``:

    * ``normal``: as the analytic functions (a check on them);
    * ``lognormal``: skewed, never negative;
    * ``gamma``: skewed, never negative (independent tenants only);
    * ``beta``: bounded by the tenant's deployment (needs ``cv^2 < (1 - m) / m``; independent);
    * ``onoff``: bursty: off, or on at ``mean x (1 + cv^2)`` with probability ``1 / (1 + cv^2)``.

    ``correlation`` is that of the underlying normals (a Gaussian copula with one common
    factor) for normal, lognormal and onoff. Dedicated capacity is each tenant's own sample
    percentile; pooled is the percentile of the summed load; whole GPUs are rounded as in
    :func:`dedicated_gpus` and :func:`pooled_gpus`. Scalars only. Reproducible: the same
    ``seed`` gives the same result. The standard error comes from 20 batch means.

    >>> est = pooling_monte_carlo(10, 0.4, 0.95, 0.25, distribution="normal", seed=1)
    >>> est.dedicated_gpus, est.pooled_gpus, round(est.pooled_capacity, 2)
    (10.0, 5.0, 4.52)
    """
    n, mu, z, c, g, rho = _pool_args(tenants, mean_utilization, percentile, cv,
                                     gpus_per_tenant, correlation)
    for name, v in (("tenants", n), ("mean_utilization", mu), ("percentile", percentile),
                    ("cv", c), ("gpus_per_tenant", g), ("correlation", rho)):
        if np.ndim(v):
            raise InvalidArgumentError(name, "a single number for the Monte Carlo", "a range")
    q = float(percentile)
    dist = str(distribution).strip().lower()
    if dist not in DISTRIBUTIONS:
        raise UnknownNameError("distribution", distribution, DISTRIBUTIONS)
    s = int(_checks.number(samples, "samples", 1000, 10_000_000, integer=True))
    if n * s > 50_000_000:
        raise InvalidArgumentError("samples", f"at most {int(50_000_000 // n)} for {int(n)} "
                                   "tenants", s)
    if rho > 0 and dist in ("gamma", "beta"):
        raise InvalidArgumentError("correlation", f"0 for distribution {dist!r}", rho)
    if dist == "beta" and c > 0 and c * c >= (1.0 - mu) / mu:
        limit = math.sqrt((1.0 - mu) / mu)
        raise InvalidArgumentError("cv", f"below {limit:.4g} for a beta load with this mean", c)
    rng = np.random.default_rng(seed)
    mean = mu * g
    common = rng.standard_normal(s) if rho > 0 else 0.0
    total = np.zeros(s)
    own = []
    for _ in range(int(n)):
        normals = None
        if dist in ("normal", "lognormal", "onoff"):
            normals = math.sqrt(rho) * common + math.sqrt(1.0 - rho) * rng.standard_normal(s)
        load = _draw(rng, dist, mean, c, s, normals, mu)
        own.append(np.quantile(load, q))
        total += load
    per_tenant = float(np.mean(own))
    pooled = float(np.quantile(total, q))
    batches = np.array([np.quantile(b, q) for b in np.array_split(total, 20)])
    se = float(batches.std(ddof=1) / math.sqrt(len(batches)))
    ded = float(n * max(g, float(_whole(per_tenant))))
    pool = max(g, float(_whole(pooled)))
    return PoolingEstimate(float(n * per_tenant), pooled, se, ded, pool, 1.0 - pool / ded,
                           n * mean / pool, s)


def lora_sharing_savings(models, throughput_overhead=0.02, mean_utilization=0.4,
                         percentile=0.95, cv=0.25):
    """Share of GPU cost saved by serving fine-tuned variants as LoRA adapters on one base model.

    Dedicated: each of ``models`` variants gets its own replicas, ``max(1, ceil(m (1 + z cv)))``
    each, ``m = mean_utilization``. Shared: one pool of base-model replicas slowed by
    ``throughput_overhead``, ``max(1, ceil((N m + z cv m sqrt(N)) / (1 - overhead)))``.
    Savings = ``1 - shared / dedicated``. Counts are in replicas. [0-1]

    Args:
        models: fine-tuned variants (adapters) of the same base model [models]
        throughput_overhead: throughput lost to adapter switching and LoRA compute, in [0, 1) [0-1]
        mean_utilization: each variant's average load as a share of one replica, in (0, 1] [0-1]
        percentile: share of the time capacity must cover the load, in (0, 1) [0-1]
        cv: coefficient of variation of one variant's load [ratio]

    Notes: adapter memory is not counted (about 0.1 GB each for rank 16 on a 70B model); it
    limits how many adapters stay resident, not the throughput.

    >>> lora_sharing_savings(50, 0.02, 0.01)
    0.98
    """
    n, mu, z, c, _g, _rho = _pool_args(models, mean_utilization, percentile, cv, 1, 0.0,
                                       tenant_name="models")
    o = _checks.number(throughput_overhead, "throughput_overhead", 0, 1, max_open=True)
    dedicated = n * np.maximum(1.0, _whole(mu * (1.0 + z * c)))
    shared = np.maximum(1.0, _whole(_pooled_load(n, mu, z, c, 0.0) / (1.0 - o)))
    return _out(1.0 - shared / dedicated)


# --- Composed with the performance model ------------------------------------------------------

def _phase_times(gpu, model, input_tokens, output_tokens, weight_dtype, kv_dtype, num_gpus,
                 efficiency):
    """Replica-seconds per request spent in decode and in prefill under saturating load.

    Splits :func:`xlnapkin.serving.max_throughput`'s request time ``output_tokens /
    max_throughput`` into the decode part ``output_tokens x step / batch`` (one decode step of
    the batch it runs, at mean context ``input + output / 2``) and the rest, which is prefill.
    NaN where not even one request fits.
    """
    g, m = _gpu(gpu), _model(model)
    tput = max_throughput(g, m, input_tokens, output_tokens, weight_dtype, kv_dtype, num_gpus,
                          efficiency)
    inp = np.asarray(input_tokens, dtype=float)
    out = np.asarray(output_tokens, dtype=float)
    conc = concurrency_under_load(g, m, inp, out, weight_dtype, kv_dtype, num_gpus,
                                  0.9, efficiency)
    batch = np.maximum(conc, 1.0)
    step = decode_step_time(g, m, batch, inp + out / 2.0, weight_dtype, kv_dtype, num_gpus,
                            efficiency)
    with np.errstate(over="ignore", invalid="ignore"):  # absurd token counts give NaN, not noise
        total = out / tput
        decode = out * step / batch
        return decode, np.maximum(total - decode, 0.0), tput


def replica_tokens_per_sec(gpu, model, input_tokens=1024, output_tokens=1024, weight_dtype="bf16",
                           kv_dtype="bf16", num_gpus=1, efficiency=None):
    """Input plus output tokens/s one replica processes under saturating load.

    ``max_throughput x (input_tokens + output_tokens) / output_tokens``: the rate to compare
    with a token volume that counts both, as API bills do. NaN where it does not fit. [tokens/s]
    """
    tput = max_throughput(gpu, model, input_tokens, output_tokens, weight_dtype, kv_dtype,
                          num_gpus, efficiency)
    inp = np.asarray(input_tokens, dtype=float)
    out = np.asarray(output_tokens, dtype=float)
    return _out(tput * (inp + out) / out)


def self_host_cost_per_mtok(gpu, model, price_per_gpu_hour, input_tokens=1024,
                            output_tokens=1024, weight_dtype="bf16", kv_dtype="bf16", num_gpus=1,
                            utilization=0.7, efficiency=None):
    """USD per million tokens (input plus output) of a self-hosted replica under load.

    :func:`cost_per_mtok` of :func:`replica_tokens_per_sec`. Equals :func:`blended_price` of
    :func:`cost_per_mtok_input` and :func:`cost_per_mtok_output` with input share
    ``input / (input + output)``, so it compares directly with an API's blended price.
    NaN where it does not fit. [USD/Mtok]
    """
    tps = replica_tokens_per_sec(gpu, model, input_tokens, output_tokens, weight_dtype, kv_dtype,
                                 num_gpus, efficiency)
    price = _price(price_per_gpu_hour, "price_per_gpu_hour")
    util = _checks.fraction(utilization, "utilization")
    n = _checks.number(num_gpus, "num_gpus", 1, integer=True)
    return _out(price * n / (np.asarray(tps) * util * 3600.0) * _MTOK)


def self_host_monthly_cost_for(gpu, model, tokens_per_day, price_per_gpu_hour,
                               input_tokens=1024, output_tokens=1024, weight_dtype="bf16",
                               kv_dtype="bf16", num_gpus=1, utilization=0.7, efficiency=None,
                               hours_per_month=HOURS_PER_MONTH):
    """Monthly cost of serving ``tokens_per_day`` (input plus output) on replicas of ``gpu``.

    :func:`self_host_monthly_cost` with the replica's rate from :func:`replica_tokens_per_sec`.
    NaN where one request does not fit. [USD/month]
    """
    tps = np.asarray(replica_tokens_per_sec(gpu, model, input_tokens, output_tokens,
                                            weight_dtype, kv_dtype, num_gpus, efficiency))
    ok = np.isfinite(tps)
    cost = self_host_monthly_cost(tokens_per_day, np.where(ok, tps, 1.0), price_per_gpu_hour,
                                  num_gpus, utilization, hours_per_month)
    return _out(np.where(ok, cost, np.nan))


def cost_per_mtok_input(gpu, model, price_per_gpu_hour, input_tokens=1024, output_tokens=1024,
                        weight_dtype="bf16", kv_dtype="bf16", num_gpus=1, utilization=1.0,
                        efficiency=None):
    """USD per million input tokens when the replica's GPU time is charged to the phase using it.

    Prefill replica-seconds per request (under saturating load, :func:`_phase_times`) x price
    x num_gpus / 3600 / utilization / input_tokens x 1e6. NaN where it does not fit. [USD/Mtok]
    """
    _decode, prefill, _t = _phase_times(gpu, model, input_tokens, output_tokens, weight_dtype,
                                        kv_dtype, num_gpus, efficiency)
    return _out(_per_mtok(prefill, input_tokens, price_per_gpu_hour, num_gpus, utilization))


def cost_per_mtok_output(gpu, model, price_per_gpu_hour, input_tokens=1024, output_tokens=1024,
                         weight_dtype="bf16", kv_dtype="bf16", num_gpus=1, utilization=1.0,
                         efficiency=None):
    """USD per million output tokens when GPU time is charged by phase (decode part only).

    NaN where it does not fit. [USD/Mtok]
    """
    decode, _prefill, _t = _phase_times(gpu, model, input_tokens, output_tokens, weight_dtype,
                                        kv_dtype, num_gpus, efficiency)
    return _out(_per_mtok(decode, output_tokens, price_per_gpu_hour, num_gpus, utilization))


def _per_mtok(seconds, tokens, price_per_gpu_hour, num_gpus, utilization):
    price = _price(price_per_gpu_hour, "price_per_gpu_hour")
    util = _checks.fraction(utilization, "utilization")
    n = _checks.number(num_gpus, "num_gpus", 1, integer=True)
    return price * n / 3600.0 * seconds / util / np.asarray(tokens, dtype=float) * _MTOK


def prefill_decode_ratio(gpu, model, input_tokens=1024, output_tokens=1024, weight_dtype="bf16",
                         kv_dtype="bf16", num_gpus=1, efficiency=None):
    """Prefill GPUs per decode GPU when the two phases run on separate GPUs (disaggregated).

    Prefill GPU-time per request over decode GPU-time per request, both as in
    :func:`xlnapkin.serving.max_throughput`: prefill at compute speed (prompts batched until
    compute-bound), decode at the largest batch that fits. NaN where it does not fit. [ratio]

    Notes: assumes each phase reaches the same efficiency it has co-located; dedicated prefill
    GPUs skip the decode batch's weight reads and may do a little better.
    """
    decode, prefill, _t = _phase_times(gpu, model, input_tokens, output_tokens, weight_dtype,
                                       kv_dtype, num_gpus, efficiency)
    return _out(prefill / decode)


def users_per_gpu_for(gpu, model, context, duty_cycle, min_user_tokens_per_sec=0.0,
                      weight_dtype="bf16", kv_dtype="bf16", num_gpus=1, efficiency=None,
                      mem_fraction=0.9):
    """Users per GPU from memory, speed and duty cycle, for a catalog GPU and model.

    Concurrent sequences = the most that hold ``context`` tokens each in ``mem_fraction`` of
    memory (:func:`xlnapkin.memory.max_batch`), capped by the engine's concurrency limit, and
    lowered until each still decodes at least ``min_user_tokens_per_sec`` (one token per step:
    step time <= 1 / rate). Users = concurrent / duty_cycle / num_gpus. [users]
    """
    g, m = _gpu(gpu), _model(model)
    duty = _checks.fraction(duty_cycle, "duty_cycle")
    rate = _checks.number(min_user_tokens_per_sec, "min_user_tokens_per_sec", 0)
    n = _checks.number(num_gpus, "num_gpus", 1, integer=True)
    cap = resolve(efficiency, g.vendor).max_concurrency * n  # per GPU, as serving caps it
    hi = np.minimum(max_batch(g, m, context, weight_dtype, kv_dtype, n, mem_fraction), cap)
    ctx = np.asarray(context, dtype=float)
    shape = np.broadcast_shapes(np.shape(hi), np.shape(rate), np.shape(duty), np.shape(n),
                                np.shape(efficiency) if efficiency is not None else ())
    # Beyond 2**40 sequences the float steps below stop being whole numbers; no GPU gets there.
    hi = np.minimum(np.broadcast_to(hi, shape).astype(float), 2.0 ** 40)
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
    return _out(lo / duty / n)


def calibrate_efficiency(measured_tokens_per_sec, gpu, model, batch=1, context=1024,
                         weight_dtype="bf16", kv_dtype="bf16", num_gpus=1):
    """The efficiency e in (0, 1] at which :func:`xlnapkin.serving.tokens_per_sec` gives the
    measured decode speed.

    With a numeric efficiency every term of the decode step is divided by e (no fixed
    overheads or communication), so tokens/s is exactly e x the pure roofline and
    ``e = measured / roofline``. A measurement above the roofline (e > 1) is an error.
    NaN where the configuration does not fit. [0-1]
    """
    measured = _checks.number(measured_tokens_per_sec, "measured_tokens_per_sec", 0,
                              min_open=True)
    roof = np.asarray(tokens_per_sec(gpu, model, batch, context, weight_dtype, kv_dtype,
                                     num_gpus, 1.0), dtype=float)
    too_fast = np.asarray(measured > roof * (1 + 1e-12))
    if too_fast.any():
        m0, r0 = _first_bad(too_fast, measured, roof)
        raise InvalidArgumentError(
            "measured_tokens_per_sec",
            f"at most the pure roofline {format_value(r0)} tokens/s (efficiency > 1)", m0)
    return _out(np.minimum(measured / roof, 1.0))
