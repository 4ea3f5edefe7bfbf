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

The functions that put a price on the performance model (a GPU and a model from the catalog)
are in :mod:`xlnapkin.capacity`; this module is the money math alone and imports nothing of the
engine but its argument checks and errors.

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
from .errors import InvalidArgumentError, UnknownNameError, format_value

__all__ = [
    "HOURS_PER_YEAR", "HOURS_PER_MONTH", "SECONDS_PER_DAY",
    "cost_per_mtok", "cost_per_user_month", "gpu_hourly_cost", "own_hourly_cost",
    "blended_price", "breakeven_tokens_per_day", "spot_hybrid_cost", "prefix_cache_savings",
    "spec_decode_speedup", "replicas_needed", "self_host_monthly_cost", "api_monthly_cost",
    "users_per_gpu", "users_per_gpu_by_throughput",
    "provisioned_utilization", "effective_cost_per_mtok",
    "dedicated_capacity", "pooled_capacity", "dedicated_gpus", "pooled_gpus",
    "pooling_savings", "pooled_utilization", "pooling_monte_carlo", "PoolingEstimate",
    "DISTRIBUTIONS", "lora_sharing_savings", "joules_per_token", "energy_cost_per_mtok",
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


def _price(value, name):
    return _checks.number(value, name, 0)


def _hours(value, name="hours_per_month"):
    return _checks.number(value, name, 0, MAX_HOURS_PER_MONTH, min_open=True)


# --- Unit costs -------------------------------------------------------------------------------

def cost_per_mtok(price_per_gpu_hour, tokens_per_sec, utilization=1.0, num_gpus=1):
    """USD per million tokens: price x num_gpus / (tokens_per_sec x utilization x 3600) x 1e6. Idle hours are paid for.

    Args:
        price_per_gpu_hour: cost of one GPU for one hour [USD/GPU-hour]
        tokens_per_sec: tokens/s the whole replica produces while busy [tokens/s]
        utilization: share of paid hours the replica is busy, in (0, 1] [0-1]
        num_gpus: GPUs in the replica [GPUs]

    ``price x num_gpus / (tokens_per_sec x utilization x 3600) x 1e6``

    Returns USD per million tokens [USD/Mtok].

    Notes: idle time is charged (a rented or owned GPU costs the same busy or idle); to model
    capacity that is released when idle, set ``utilization=1`` and scale the GPU-hours instead.

    >>> cost_per_mtok(2.21, 2400, 0.7, 4)
    1.4616

    >>> round(cost_per_mtok(4.5, 4800), 4)
    0.2604
    """
    price = _price(price_per_gpu_hour, "price_per_gpu_hour")
    tps = _checks.number(tokens_per_sec, "tokens_per_sec", 0, min_open=True)
    util = _checks.fraction(utilization, "utilization")
    n = _checks.number(num_gpus, "num_gpus", 1, _checks.MAX_GPUS, integer=True)
    return _out(price * n / (tps * util * 3600.0) * _MTOK)


def cost_per_user_month(price_per_gpu_hour, users_per_gpu, hours_per_month=HOURS_PER_MONTH):
    """USD per user per month: one GPU's monthly cost (price x hours) shared by the users it serves.

    Args:
        price_per_gpu_hour: cost of one GPU for one hour [USD/GPU-hour]
        users_per_gpu: users one GPU serves, e.g. from USERS_PER_GPU [users]
        hours_per_month: hours the GPU is paid for in a month, at most 744 [hours]

    >>> cost_per_user_month(3, 500, 720)
    4.32

    >>> round(cost_per_user_month(3, 500, 720), 2)
    4.32
    """
    price = _price(price_per_gpu_hour, "price_per_gpu_hour")
    users = _checks.number(users_per_gpu, "users_per_gpu", 0, min_open=True)
    hours = _hours(hours_per_month)
    return _out(price * hours / users)


def blended_price(price_in_per_mtok, price_out_per_mtok, input_share=0.5):
    """USD per million tokens for a mix: input_share x input price + (1 - input_share) x output price.

    Args:
        price_in_per_mtok: price of input (prompt) tokens [USD/Mtok]
        price_out_per_mtok: price of output (generated) tokens [USD/Mtok]
        input_share: share of all tokens that are input, in [0, 1] [0-1]

    ``input_share x price_in + (1 - input_share) x price_out``

    >>> blended_price(2.5, 10, 0.5)
    6.25
    """
    p_in = _price(price_in_per_mtok, "price_in_per_mtok")
    p_out = _price(price_out_per_mtok, "price_out_per_mtok")
    share = _checks.fraction(input_share, "input_share", zero_ok=True)
    return _out(share * p_in + (1.0 - share) * p_out)


def api_monthly_cost(tokens_per_day, price_per_mtok, days_per_month=HOURS_PER_MONTH / 24):
    """Monthly USD bill of a token API: tokens per day x days x price per million tokens / 1e6.

    Args:
        tokens_per_day: tokens sent to and received from the API per day [tokens/day]
        price_per_mtok: price per million tokens, e.g. BLENDED_PRICE(...) [USD/Mtok]
        days_per_month: days billed per month [days]

    ``tokens_per_day x days_per_month x price_per_mtok / 1e6`` [USD/month]

    >>> api_monthly_cost(33e6, 6.25, 30)
    6187.5

    >>> api_monthly_cost(33e6, 6.25, 30)   # seed 002-sized volume at GPT-4o's blended price
    6187.5
    """
    tpd = _checks.number(tokens_per_day, "tokens_per_day", 0)
    price = _price(price_per_mtok, "price_per_mtok")
    days = _checks.number(days_per_month, "days_per_month", 0, 31, min_open=True)
    return _out(tpd * days * price / 1e6)


def joules_per_token(power_watts, tokens_per_sec, num_gpus=1, pue=1.0):
    """Energy per token: power_watts x num_gpus x pue / tokens_per_sec. Use GPU_SPEC(gpu, "tdp_w") as an upper bound on power.

    Args:
        power_watts: power one GPU draws while serving [W]
        tokens_per_sec: tokens/s of the whole replica [tokens/s]
        num_gpus: GPUs in the replica [GPUs]
        pue: data-centre power usage effectiveness, >= 1 [ratio]

    >>> joules_per_token(700, 2000)
    0.35
    """
    watts = _checks.number(power_watts, "power_watts", 0)
    tps = _checks.number(tokens_per_sec, "tokens_per_sec", 0, min_open=True)
    n = _checks.number(num_gpus, "num_gpus", 1, _checks.MAX_GPUS, integer=True)
    p = _checks.number(pue, "pue", 1)
    return _out(watts * n * p / tps)


def energy_cost_per_mtok(power_watts, tokens_per_sec, price_per_kwh, num_gpus=1, pue=1.0):
    """Electricity USD per million tokens: JOULES_PER_TOKEN x 1e6 / 3.6e6 x price_per_kwh.

    Args:
        power_watts: power one GPU draws while serving [W]
        tokens_per_sec: tokens/s of the whole replica [tokens/s]
        price_per_kwh: electricity price [USD/kWh]
        num_gpus: GPUs in the replica [GPUs]
        pue: data-centre power usage effectiveness, >= 1 [ratio]

    >>> energy_cost_per_mtok(700, 2000, 0.10)
    0.009722

    >>> round(energy_cost_per_mtok(700, 2000, 0.10), 5)
    0.00972
    """
    kwh_price = _price(price_per_kwh, "price_per_kwh")
    return _out(joules_per_token(power_watts, tokens_per_sec, num_gpus, pue) * _MTOK / 3.6e6
                * kwh_price)


def effective_cost_per_mtok(price_per_gpu_hour, tokens_per_sec, utilization, offpeak_fill=0.0,
                            batch_discount=0.5, num_gpus=1):
    """Break-even USD per million interactive tokens when offpeak_fill of the idle capacity is sold as batch work at batch_discount off.

    Args:
        price_per_gpu_hour: cost of one GPU for one hour [USD/GPU-hour]
        tokens_per_sec: tokens/s of the whole replica while busy [tokens/s]
        utilization: share of capacity interactive traffic uses, in (0, 1] [0-1]
        offpeak_fill: share of the idle capacity filled by batch or resold work, in [0, 1] [0-1]
        batch_discount: discount batch tokens get off the interactive price, in [0, 1] [0-1]
        num_gpus: GPUs in the replica [GPUs]

    The fleet costs ``C = price x num_gpus / (tokens_per_sec x 3600) x 1e6`` per million tokens
    of capacity. Interactive traffic uses ``utilization`` of it; batch jobs fill ``offpeak_fill``
    of the rest and pay ``1 - batch_discount`` of the interactive price ``P``. Revenue covers
    cost when ``P x (u + (1 - d) x f x (1 - u)) = C``. [USD/Mtok]

    With ``offpeak_fill = 0`` this is :func:`cost_per_mtok`; with ``batch_discount = 0`` it is
    :func:`cost_per_mtok` at the filled utilization ``u + f (1 - u)``.

    >>> effective_cost_per_mtok(16, 22000, 1/6, 0.5, 0.5)
    0.5387

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
    """Own-hardware USD per GPU-hour: straight-line depreciation over years x 8760 h, plus energy, plus yearly overhead as a share of the price.

    Args:
        purchase_price: price paid for the GPU [USD]
        years: years written off over [years]
        power_watts: average power the GPU draws [W]
        price_per_kwh: electricity price [USD/kWh]
        pue: data-centre power usage effectiveness, >= 1 [ratio]
        annual_overhead: yearly hosting and maintenance as a fraction of the price [1/year]

    ``purchase_price / (years x 8760) + power_watts / 1000 x pue x price_per_kwh
    + annual_overhead x purchase_price / 8760``

    Notes: no financing cost and no resale value; see :func:`own_hourly_cost` for both. Every
    hour of the year is counted, so divide by utilization (or use :func:`cost_per_mtok`) for
    the cost of a busy hour.

    >>> gpu_hourly_cost(32000, 3)
    1.2177

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
    """Own-hardware USD per GPU-hour with financing (annuity at cost_of_capital), resale value, energy and monthly hosting. Equals GPU_HOURLY_COST at zero rate, resale and hosting.

    Args:
        purchase_price: price paid for the GPU [USD]
        years: years the GPU is used and financed over [years]
        power_watts: average power the GPU draws [W]
        price_per_kwh: electricity price [USD/kWh]
        pue: data-centre power usage effectiveness, >= 1 [ratio]
        hosting_per_month: colocation, network, support and staff per GPU per month [USD/month]
        cost_of_capital: yearly interest rate or required return, in [0, 1] [1/year]
        residual_value: resale value at the end, at most the purchase price [USD]

    The capital is repaid in equal yearly instalments at interest ``r`` over ``n = years``:
    ``(purchase_price - residual_value / (1 + r)^n) x CRF / 8760`` per hour, with the capital
    recovery factor ``CRF = r (1 + r)^n / ((1 + r)^n - 1)`` (``1 / n`` when r = 0); plus energy
    and ``hosting_per_month x 12 / 8760``. At r = 0, no resale and no hosting it equals
    :func:`gpu_hourly_cost`. [USD/GPU-hour]

    >>> own_hourly_cost(32000, 3, 700, 0.10, 1.3, 150, 0.08, 5000)
    1.5381

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
        price_b = np.broadcast_to(price, bad.shape)
        _checks.fail("residual_value", bad, rv,
                     lambda i: f"at most purchase_price ({format_value(price_b[i])})")
    growth = (1.0 + r) ** n
    with np.errstate(divide="ignore", invalid="ignore"):
        crf = np.where(r > 0, r * growth / np.where(r > 0, growth - 1.0, 1.0), 1.0 / n)
    capital = (price - rv / growth) * crf / HOURS_PER_YEAR
    return _out(capital + energy + hosting * 12.0 / HOURS_PER_YEAR)


# --- Fleets and plans -------------------------------------------------------------------------

def breakeven_tokens_per_day(self_host_monthly_cost, api_price_per_mtok,
                             self_host_price_per_mtok=0.0, days_per_month=730 / 24):
    """Tokens per day above which a fixed self-hosted fleet costs less than the API: monthly cost / days / ((API price - self-host marginal price) / 1e6).

    Args:
        self_host_monthly_cost: fixed monthly cost of the self-hosted fleet [USD/month]
        api_price_per_mtok: API price, blended over input and output [USD/Mtok]
        self_host_price_per_mtok: self-hosting cost that grows with volume (energy, egress) [USD/Mtok]
        days_per_month: days the monthly cost covers [days]

    ``monthly cost / days_per_month / ((api - self-host marginal) / 1e6)`` [tokens/day]

    Notes: the fleet must be able to carry the breakeven volume; check with
    :func:`replicas_needed` (more volume needs more replicas, a step up in fixed cost).

    >>> breakeven_tokens_per_day(6453.2, 6.25)
    33945600.0

    >>> round(breakeven_tokens_per_day(6453.2, 6.25))
    33945600
    """
    fixed = _price(self_host_monthly_cost, "self_host_monthly_cost")
    api = _price(api_price_per_mtok, "api_price_per_mtok")
    own = _price(self_host_price_per_mtok, "self_host_price_per_mtok")
    days = _checks.number(days_per_month, "days_per_month", 0, 31, min_open=True)
    bad = np.asarray(api <= own)
    if bad.any():
        own_b = np.broadcast_to(own, bad.shape)
        _checks.fail("api_price_per_mtok", bad, api,
                     lambda i: f"above self_host_price_per_mtok ({format_value(own_b[i])}) "
                               "for a breakeven to exist")
    return _out(fixed / days / ((api - own) / _MTOK))


def spot_hybrid_cost(base_gpus, burst_gpus, on_demand_rate, spot_rate, burst_fraction,
                     hours_per_month=HOURS_PER_MONTH):
    """Monthly USD of an on-demand base fleet plus spot burst GPUs used burst_fraction of the time: base x on-demand x hours + burst x spot x hours x fraction.

    Args:
        base_gpus: on-demand or reserved GPUs running all month [GPUs]
        burst_gpus: spot GPUs added for peaks [GPUs]
        on_demand_rate: price of an on-demand GPU [USD/GPU-hour]
        spot_rate: price of a spot GPU [USD/GPU-hour]
        burst_fraction: share of the month the spot GPUs run, in [0, 1] [0-1]
        hours_per_month: hours in the month, at most 744 [hours]

    ``base x on_demand x hours + burst x spot x hours x burst_fraction`` [USD/month]

    Notes: spot capacity can be reclaimed; this prices it, it does not guarantee it.

    >>> spot_hybrid_cost(4, 4, 2.21, 0.73, 0.6)
    7732.16

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
    """Replicas needed for a daily token volume, at least 1: ceil(tokens_per_day / (replica tokens/s x 86400 x utilization)).

    Args:
        tokens_per_day: tokens to serve per day, counted as replica_tokens_per_sec counts them [tokens/day]
        replica_tokens_per_sec: tokens/s one replica sustains under load [tokens/s]
        utilization: average load a replica is planned to run at, in (0, 1] [0-1]

    ``max(1, ceil(tokens_per_day / (replica_tokens_per_sec x 86400 x utilization)))`` [replicas]

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
    """Monthly USD of the self-hosted replicas a daily volume needs: REPLICAS_NEEDED x num_gpus x price x hours (a step function of volume).

    Args:
        tokens_per_day: tokens to serve per day [tokens/day]
        replica_tokens_per_sec: tokens/s one replica sustains under load [tokens/s]
        price_per_gpu_hour: cost of one GPU for one hour [USD/GPU-hour]
        num_gpus: GPUs in one replica [GPUs]
        utilization: average load a replica is planned to run at, in (0, 1] [0-1]
        hours_per_month: hours paid per month, at most 744 [hours]

    ``replicas_needed(...) x num_gpus x price x hours_per_month`` [USD/month]

    >>> self_host_monthly_cost(2e9, 10000, 2.21, 4)
    25812.8
    """
    reps = replicas_needed(tokens_per_day, replica_tokens_per_sec, utilization)
    price = _price(price_per_gpu_hour, "price_per_gpu_hour")
    n = _checks.number(num_gpus, "num_gpus", 1, _checks.MAX_GPUS, integer=True)
    hours = _hours(hours_per_month)
    return _out(reps * n * price * hours)


def users_per_gpu(concurrent_sequences, duty_cycle):
    """Users one GPU serves when each is active duty_cycle of the time: concurrent_sequences / duty_cycle.

    Args:
        concurrent_sequences: sequences the GPU holds and decodes at once, e.g. from MAX_BATCH [sequences]
        duty_cycle: share of the time a user has a request in flight, in (0, 1] [0-1]

    ``concurrent_sequences / duty_cycle`` [users]

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
    """Users per GPU bounded by throughput: tokens_per_sec / (user_tokens_per_sec x duty_cycle) / num_gpus.

    Args:
        tokens_per_sec: tokens/s the whole replica produces under load [tokens/s]
        user_tokens_per_sec: tokens/s one user receives while active [tokens/s]
        duty_cycle: share of the time a user is active, in (0, 1] [0-1]
        num_gpus: GPUs in the replica [GPUs]

    ``tokens_per_sec / (user_tokens_per_sec x duty_cycle) / num_gpus`` [users]

    >>> users_per_gpu_by_throughput(2400, 40, 0.2)
    300.0
    """
    tps = _checks.number(tokens_per_sec, "tokens_per_sec", 0)
    user = _checks.number(user_tokens_per_sec, "user_tokens_per_sec", 0, min_open=True)
    duty = _checks.fraction(duty_cycle, "duty_cycle")
    n = _checks.number(num_gpus, "num_gpus", 1, _checks.MAX_GPUS, integer=True)
    return _out(tps / (user * duty) / n)


def provisioned_utilization(peak_to_average, regions=1, offpeak_fill=0.0):
    """Average utilization when capacity is bought for the peak in regions that cannot share GPUs and are busy at different hours: 1 / (peak_to_average x regions), raised by off-peak fill.

    Args:
        peak_to_average: peak load over average load of the combined traffic, >= 1 [ratio]
        regions: regions that cannot share GPUs, with busy hours that do not overlap [regions]
        offpeak_fill: share of the idle capacity filled by batch jobs or resold, in [0, 1] [0-1]

    Base ``u = 1 / (peak_to_average x regions)``, raised by filling ``offpeak_fill`` of the idle
    capacity with batch or resold work: ``u + offpeak_fill x (1 - u)``. [0-1]

    Model: the load that could be served from one shared pool has peak ``p`` times its average.
    Each of ``regions`` regions must serve its own users (data residency, latency) and holds
    capacity for the peak during its own busy hours. When those busy hours do not overlap
    (follow-the-sun), each region needs about the whole peak while averaging ``1 / regions`` of
    the load, so utilization is ``1 / (p x regions)``; ``regions = 1`` is the shared-pool case
    ``1 / p``. Regions whose peaks overlap land between the two.

    >>> provisioned_utilization(2, 3)
    0.1667

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
    """Share of prefill tokens prefix caching saves: hit_rate x prefix / (prefix + unique).

    Args:
        prefix_tokens: tokens of the shared prefix (system prompt, template) [tokens]
        unique_tokens: tokens of each request after the prefix, > 0 [tokens]
        hit_rate: share of requests that find the prefix cached, in [0, 1] [0-1]

    ``hit_rate x prefix_tokens / (prefix_tokens + unique_tokens)`` [0-1]

    Notes: saves prefill compute and TTFT, not decode; a cached prefix still occupies KV memory.

    >>> prefix_cache_savings(2048, 256, 0.85)
    0.7556

    >>> round(prefix_cache_savings(2048, 256, 0.85), 4)
    0.7556
    """
    prefix = _checks.number(prefix_tokens, "prefix_tokens", 0)
    unique = _checks.number(unique_tokens, "unique_tokens", 0, min_open=True)
    hit = _checks.fraction(hit_rate, "hit_rate", zero_ok=True)
    return _out(hit * prefix / (prefix + unique))


def spec_decode_speedup(acceptance_rate, draft_tokens, draft_cost_ratio=0.0):
    """Decode speed-up from speculative decoding: (1 - a^(k+1)) / (1 - a) / (1 + k x draft_cost_ratio). Holds while decode is memory-bound.

    Args:
        acceptance_rate: chance a drafted token is accepted, in [0, 1) [0-1]
        draft_tokens: tokens drafted per step (k) [tokens]
        draft_cost_ratio: time of a draft-model step over a target-model step [ratio]

    ``(1 - a^(k+1)) / (1 - a) / (1 + k x draft_cost_ratio)`` [ratio]

    The numerator is the expected tokens one verification step yields when each drafted token
    is accepted independently with probability ``a`` (Leviathan et al., 2023).

    Notes: assumes verifying ``k + 1`` tokens costs one decode step, true while decode is
    memory-bound (batch well below :func:`~xlnapkin.roofline.critical_batch`); at large batch
    verification costs compute and the gain shrinks.

    >>> spec_decode_speedup(0.8, 4, 0.05)
    2.8013

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
    """Whole GPUs when every tenant has its own deployment sized for its own load percentile: tenants x MAX(gpus_per_tenant, CEILING(m x (1 + NORM.S.INV(percentile) x cv))).

    Args:
        tenants: number of tenants (customers, teams or models) [tenants]
        mean_utilization: each tenant's average load as a share of its gpus_per_tenant, in (0, 1] [0-1]
        percentile: share of the time capacity must cover the load, in (0, 1), e.g. 0.95 [0-1]
        cv: coefficient of variation of one tenant's load (standard deviation / mean), normal [ratio]
        gpus_per_tenant: GPUs of one tenant's smallest deployment; m = mean_utilization x this [GPUs]
        correlation: correlation between tenants' loads, in [0, 1]; 0 = independent [0-1]

    Per tenant ``max(gpus_per_tenant, ceil(m (1 + z cv)))`` with ``m = mean_utilization x
    gpus_per_tenant`` GPUs of mean load and ``z = NORM.S.INV(percentile)``; times ``tenants``.
    [GPUs]

    Model: each tenant's load is normal with mean ``m`` and standard deviation ``cv x m``,
    independent of the others (``correlation`` only matters to the pool). A deployment never
    shrinks below ``gpus_per_tenant``: tenants often idle at low utilization because a model
    needs a minimum number of GPUs, not because of their peaks.

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
    """Whole GPUs for one shared pool sized for the percentile of the summed load: MAX(gpus_per_tenant, CEILING(N m + NORM.S.INV(percentile) x cv x m x SQRT(N (1 + (N-1) correlation)))).

    Args:
        tenants: number of tenants sharing the pool [tenants]
        mean_utilization: each tenant's average load as a share of its gpus_per_tenant, in (0, 1] [0-1]
        percentile: share of the time the pool must cover the load, in (0, 1) [0-1]
        cv: coefficient of variation of one tenant's load, normal [ratio]
        gpus_per_tenant: GPUs of one tenant's dedicated deployment; m = mean_utilization x this [GPUs]
        correlation: correlation between tenants' loads, in [0, 1]; 1 = peaks align [0-1]

    ``max(g, ceil(N m + z x cv x m x sqrt(N (1 + (N - 1) rho))))`` with ``g = gpus_per_tenant``,
    ``m = mean_utilization x g`` and ``z = NORM.S.INV(percentile)``: never smaller than one
    deployment, so one tenant alone saves nothing. [GPUs]

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
    """Share of GPU cost saved by one shared pool instead of dedicated deployments: 1 - POOLED_GPUS / DEDICATED_GPUS (at most 1 - the dedicated fleet's utilization).

    Args:
        tenants: number of tenants [tenants]
        mean_utilization: each tenant's average load as a share of its gpus_per_tenant, in (0, 1] [0-1]
        percentile: share of the time capacity must cover the load, in (0, 1) [0-1]
        cv: coefficient of variation of one tenant's load, normal [ratio]
        gpus_per_tenant: GPUs of one tenant's smallest deployment [GPUs]
        correlation: correlation between tenants' loads, in [0, 1] [0-1]

    ``1 - pooled_gpus / dedicated_gpus`` (whole GPUs, as paid for) [0-1]

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
    """Average utilization of the shared pool: tenants x mean_utilization x gpus_per_tenant / POOLED_GPUS.

    Args:
        tenants: number of tenants [tenants]
        mean_utilization: each tenant's average load as a share of its gpus_per_tenant, in (0, 1] [0-1]
        percentile: share of the time the pool must cover the load, in (0, 1) [0-1]
        cv: coefficient of variation of one tenant's load, normal [ratio]
        gpus_per_tenant: GPUs of one tenant's dedicated deployment [GPUs]
        correlation: correlation between tenants' loads, in [0, 1] [0-1]

    ``tenants x mean_utilization x gpus_per_tenant / pooled_gpus`` [0-1]

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
    """Share of cost saved by serving fine-tuned variants as LoRA adapters on one pool of base-model replicas (slowed by throughput_overhead) instead of a deployment each.

    Args:
        models: fine-tuned variants (adapters) of one base model [models]
        throughput_overhead: throughput lost to adapter switching and LoRA compute, in [0, 1) [0-1]
        mean_utilization: each variant's average load as a share of one replica, in (0, 1] [0-1]
        percentile: share of the time capacity must cover the load, in (0, 1) [0-1]
        cv: coefficient of variation of one variant's load, normal [ratio]

    Dedicated: each of ``models`` variants gets its own replicas, ``max(1, ceil(m (1 + z cv)))``
    each, ``m = mean_utilization``. Shared: one pool of base-model replicas slowed by
    ``throughput_overhead``, ``max(1, ceil((N m + z cv m sqrt(N)) / (1 - overhead)))``.
    Savings = ``1 - shared / dedicated``. Counts are in replicas. [0-1]

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
