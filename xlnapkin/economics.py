"""Economics: what serving tokens costs, and what sharing, owning, caching and speculation save.

Units: US dollars (USD), hours for prices (``$/GPU-hour``), million tokens (``Mtok``) for token
prices, tokens/s for speeds, watts and kWh for energy, fractions in [0, 1] for shares and rates.
A month is 730 hours (8,760 / 12) unless an argument says otherwise.

The functions fall into four groups:

* **Unit costs** from a price and a speed: :func:`cost_per_mtok`, :func:`cost_per_user_month`,
  :func:`blended_price`, :func:`joules_per_token`, :func:`energy_cost_per_mtok`,
  :func:`effective_cost_per_mtok`, :func:`spot_mix_price`.
* **Fleets and plans**: :func:`replica_tokens_per_day`, :func:`replicas_needed`,
  :func:`self_host_monthly_cost` (with a minimum fleet and staff), :func:`cost_per_mtok_at_volume`,
  :func:`fleet_utilization`, :func:`breakeven_tokens_per_day`,
  :func:`fleet_breakeven_tokens_per_day`, :func:`spot_hybrid_cost`,
  :func:`provisioned_utilization`, :func:`users_per_gpu`, :func:`users_per_gpu_by_throughput`,
  :func:`users_at_percentile`, :func:`replicas_for_users`, :func:`slot_headroom`.
* **Owning hardware**: :func:`gpu_hourly_cost` (straight line), :func:`own_hourly_cost`
  (financed, with hosting and resale), :func:`colo_cost_per_month`, and over the years
  :func:`rent_cost_in_year`, :func:`discount_factor`, :func:`rent_npv`,
  :func:`own_running_cost_per_year`, :func:`own_npv`.
* **Sharing and tricks**: multi-tenant pooling (:func:`dedicated_gpus`, :func:`pooled_gpus`,
  :func:`pooling_savings` split into :func:`pooling_savings_from_peaks` and
  :func:`pooling_savings_from_rounding`, :func:`dedicated_utilization`,
  :func:`pooled_utilization`, :func:`pooling_monte_carlo`), :func:`lora_sharing_savings`,
  :func:`prefix_cache_savings`, :func:`spec_decode_speedup`.

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

from . import _args, _checks
from .errors import InvalidArgumentError, UnknownNameError, format_value

__all__ = [
    "HOURS_PER_YEAR", "HOURS_PER_MONTH", "PLANNED_UTILIZATION",
    "cost_per_mtok", "cost_per_user_month", "gpu_hourly_cost", "own_hourly_cost",
    "blended_price", "breakeven_tokens_per_day", "spot_hybrid_cost", "prefix_cache_savings",
    "spec_decode_speedup", "replicas_needed", "self_host_monthly_cost", "api_monthly_cost",
    "users_per_gpu", "users_per_gpu_by_throughput",
    "provisioned_utilization", "effective_cost_per_mtok",
    "dedicated_capacity", "pooled_capacity", "dedicated_gpus", "pooled_gpus", "POOL_STEP",
    "NORMAL_CV_MAX",
    "pool_step_share", "pool_headroom_share",
    "pooling_savings", "pooled_utilization", "pooling_monte_carlo", "PoolingEstimate",
    "DISTRIBUTIONS", "lora_sharing_savings", "joules_per_token", "energy_cost_per_mtok",
    "replica_tokens_per_day", "cost_per_mtok_at_volume", "fleet_utilization",
    "fleet_breakeven_tokens_per_day", "spot_mix_price", "colo_cost_per_month", "discount_factor",
    "rent_cost_in_year", "rent_npv", "own_running_cost_per_year", "own_npv",
    "dedicated_utilization", "dedicated_coverage", "pooled_coverage",
    "pooling_savings_from_peaks", "pooling_savings_from_rounding",
    "users_at_percentile", "replicas_for_users", "slot_headroom", "team_loads",
    "teams_dedicated_gpus",
    "teams_dedicated_capacity", "teams_pooled_capacity", "teams_pooled_gpus",
    "teams_pooled_coverage", "teams_dedicated_coverage", "teams_pooled_gpus_same_service",
    "teams_served_worse_same_service",
    "pooled_gpus_same_service", "SAME_SERVICE_Z",
    "TENANT_CV",
]

HOURS_PER_YEAR = 8760.0
HOURS_PER_MONTH = HOURS_PER_YEAR / 12  # 730
MAX_HOURS_PER_MONTH = 744.0  # 31 days: more is a typing mistake, not a month
# The average load a replica is planned at: room for peaks, as the templates plan (seed 002)
PLANNED_UTILIZATION = 0.7
_MTOK = 1e6
_ROUND_DOWN = 1 - 1e-12  # ceil(x * this): exact multiples stay put despite float error


_out = _checks.scalar_out


def _whole(x):
    """Round up to a whole number, ignoring float noise just above an integer."""
    return np.ceil(np.asarray(x, dtype=float) * _ROUND_DOWN)


def _own_deployments(load, z, cv):
    """Whole deployments one tenant (or team) of mean ``load`` needs on its own: its load ``z``
    standard deviations (``cv x load``) up, rounded up, at least one."""
    return np.maximum(1.0, _whole(load * (1.0 + z * cv)))


def _price(value, name):
    return _checks.number(value, name, 0)


def _hours(value, name="hours_per_month"):
    return _checks.number(value, name, 0, MAX_HOURS_PER_MONTH, min_open=True)


# --- Unit costs -------------------------------------------------------------------------------

def cost_per_mtok(price_per_gpu_hour, tokens_per_sec, utilization=1.0, num_gpus=1):
    """USD per million of the tokens tokens_per_sec counts: price x num_gpus / (tokens_per_sec x utilization x 3600) x 1e6. Idle hours are paid for.
    [USD/Mtok]

    Args:
        price_per_gpu_hour: *
        tokens_per_sec: *
        utilization: *
        num_gpus: *

    ``price x num_gpus / (tokens_per_sec x utilization x 3600) x 1e6``

    Returns USD per million tokens [USD/Mtok].

    Notes: idle time is charged (a rented or owned GPU costs the same busy or idle); to model
    capacity that is released when idle, set ``utilization=1`` and scale the GPU-hours instead.
    A blank utilization is 1 (always busy), the floor of the cost; the functions that size a
    replica under load (``SELF_HOST_COST_PER_MTOK``, ``REPLICA_TOKENS_PER_DAY``) plan for 0.7:
    type the utilization you plan for.

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
    [USD/user/month]

    Args:
        price_per_gpu_hour: *
        users_per_gpu: users one GPU serves, e.g. from USERS_PER_GPU [users]
        hours_per_month: *

    A user's share of one GPU, with no margin for peaks: USERS_PER_GPU counts the average
    number active. A fleet for many users is sized at a percentile of those online at once
    (REPLICAS_FOR_USERS, or USERS_AT_PERCENTILE for the users one GPU's slots hold at it), which
    takes more GPUs than users / USERS_PER_GPU (a function review: 10,000 users at 60 slots and
    20 % active cost $73,000 a month at this rate and $3 an hour, the 35 replicas they need
    $76,650).

    >>> cost_per_user_month(3, 500, 720)
    4.32

    >>> round(cost_per_user_month(3, 500, 720), 2)
    4.32
    """
    price = _price(price_per_gpu_hour, "price_per_gpu_hour")
    users = _checks.number(users_per_gpu, "users_per_gpu", 0, min_open=True)
    hours = _hours(hours_per_month)
    return _out(price * hours / users)


def blended_price(price_in_per_mtok, price_out_per_mtok, input_share=0.5, cached_share=0.0,
                  price_cached_in_per_mtok=None):
    """USD per million tokens for a mix: input_share x input price (cached_share of it at the cached price) + (1 - input_share) x output price.
    [USD/Mtok]

    Args:
        price_in_per_mtok: price of input (prompt) tokens [USD/Mtok]
        price_out_per_mtok: price of output (generated) tokens [USD/Mtok]
        input_share: share of all tokens that are input, in [0, 1] [0-1]
        cached_share: share of input tokens billed as prefix-cache hits, in [0, 1], e.g. PREFIX_CACHE_SAVINGS [0-1]
        price_cached_in_per_mtok: price of cached input tokens; blank = the input price (no discount) [USD/Mtok]

    ``input_share x ((1 - cached_share) x price_in + cached_share x price_cached)
    + (1 - input_share) x price_out``

    >>> blended_price(2.5, 10, 0.5)
    6.25
    """
    p_in = _price(price_in_per_mtok, "price_in_per_mtok")
    p_out = _price(price_out_per_mtok, "price_out_per_mtok")
    share = _checks.fraction(input_share, "input_share", zero_ok=True)
    hit = _checks.fraction(cached_share, "cached_share", zero_ok=True)
    p_hit = p_in
    if price_cached_in_per_mtok is not None:  # blank (None, or NaN from a blank cell): no discount
        cached = np.asarray(price_cached_in_per_mtok, dtype=float)
        blank = np.isnan(cached)
        p_hit = np.where(blank, p_in, _price(np.where(blank, 0.0, cached),
                                             "price_cached_in_per_mtok"))
    return _out(share * ((1.0 - hit) * p_in + hit * p_hit) + (1.0 - share) * p_out)


def api_monthly_cost(tokens_per_day, price_per_mtok, days_per_month=HOURS_PER_MONTH / 24):
    """Monthly USD bill of a token API: tokens per day x days x price per million tokens / 1e6.
    [USD/month]

    Args:
        tokens_per_day: tokens sent to and received from the API per day [tokens/day]
        price_per_mtok: price per million tokens, e.g. BLENDED_PRICE(...) [USD/Mtok]
        days_per_month: *

    ``tokens_per_day x days_per_month x price_per_mtok / 1e6`` [USD/month]

    >>> api_monthly_cost(33e6, 6.25, 30)   # seed 002-sized volume at GPT-4o's blended price
    6187.5
    """
    tpd = _checks.number(tokens_per_day, "tokens_per_day", 0)
    price = _price(price_per_mtok, "price_per_mtok")
    days = _checks.number(days_per_month, "days_per_month", 0, 31, min_open=True)
    return _out(tpd * days * price / _MTOK)


def joules_per_token(power_watts, tokens_per_sec, num_gpus=1, pue=1.0):
    """Energy per token: power_watts x num_gpus x pue / tokens_per_sec. GPU_SPEC(gpu, "tdp_w") bounds the card alone; a server draws more per GPU.
    [J/token]

    Args:
        power_watts: power one GPU draws while serving, its share of the server included [W]
        tokens_per_sec: *
        num_gpus: *
        pue: *

    The card's TDP bounds what the GPU itself draws; the host CPUs, memory, network and fans
    add to it (NVIDIA's DGX H100: 10.2 kW at most for 8 GPUs of 700 W, about 1,275 W a GPU).
    ``pue`` then adds the building's cooling and power losses.

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
    [USD/Mtok]

    Args:
        power_watts: power one GPU draws while serving, its share of the server included [W]
        tokens_per_sec: *
        price_per_kwh: *
        num_gpus: *
        pue: *

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
    [USD/Mtok]

    Args:
        price_per_gpu_hour: *
        tokens_per_sec: *
        utilization: share of capacity interactive traffic uses, in (0, 1] [0-1]
        offpeak_fill: share of the idle capacity filled by batch or resold work, in [0, 1] [0-1]
        batch_discount: discount batch tokens get off the interactive price, in [0, 1] [0-1]
        num_gpus: *

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
    [USD/GPU-hour]

    Args:
        purchase_price: *
        years: years written off over [years]
        power_watts: *
        price_per_kwh: *
        pue: *
        annual_overhead: yearly hosting and maintenance as a fraction of the price, in [0, 1] [1/year]

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
    # at most the price again each year: 15 typed for 15 % is refused with a hint (a review)
    over = _checks.number(annual_overhead, "annual_overhead", 0, 1)
    return _out(price / (yrs * HOURS_PER_YEAR) + energy + over * price / HOURS_PER_YEAR)


def _energy_per_hour(power_watts, price_per_kwh, pue):
    watts = _checks.number(power_watts, "power_watts", 0)
    kwh = _price(price_per_kwh, "price_per_kwh")
    p = _checks.number(pue, "pue", 1)
    return watts / 1000.0 * p * kwh


def _check_residual(rv, price):
    """A resale value at most the purchase price, cell by cell."""
    bad = np.asarray(rv > price)
    if bad.any():
        price_b = np.broadcast_to(price, bad.shape)
        _checks.fail("residual_value", bad, rv,
                     lambda i: f"at most purchase_price ({format_value(price_b[i])})")


def own_hourly_cost(purchase_price, years=3.0, power_watts=0.0, price_per_kwh=0.0, pue=1.0,
                    hosting_per_month=0.0, cost_of_capital=0.0, residual_value=0.0):
    """Own-hardware USD per GPU-hour with financing (annuity at cost_of_capital), resale value, energy and monthly hosting. Equals GPU_HOURLY_COST at zero rate, resale and hosting.
    [USD/GPU-hour]

    Args:
        purchase_price: *
        years: years the GPU is used and financed over; a fraction of a year too, where OWN_NPV takes whole years [years]
        power_watts: *
        price_per_kwh: *
        pue: *
        hosting_per_month: *
        cost_of_capital: *
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
    _check_residual(rv, price)
    # the annuity factor r (1+r)^n / ((1+r)^n - 1) as r / (1 - (1+r)^-n): no overflow for long
    # lives, no cancellation for tiny rates
    log_growth = n * np.log1p(r)
    paid_off = -np.expm1(-log_growth)
    with np.errstate(divide="ignore", invalid="ignore"):
        crf = np.where(r > 0, r / np.where(r > 0, paid_off, 1.0), 1.0 / n)
    capital = (price - rv * np.exp(-log_growth)) * crf / HOURS_PER_YEAR
    return _out(capital + energy + hosting * 12.0 / HOURS_PER_YEAR)


def colo_cost_per_month(power_watts, usd_per_kw_month):
    """Monthly colocation USD for one GPU: its power in kW x the colocation price per kW-month (space, cooling, power capacity; energy billed apart).
    [USD/month]

    Args:
        power_watts: power the GPU draws, as contracted [W]
        usd_per_kw_month: colocation price per kW of IT capacity per month [USD/kW-month]

    ``power_watts / 1000 x usd_per_kw_month`` [USD/month]

    Notes: a server draws more than its GPUs (a DGX H100 is rated 10.2 kW for 8 x 700 W GPUs);
    pass the GPU's share of the server's power to count the rest.

    >>> colo_cost_per_month(700, 195)
    136.5
    """
    watts = _checks.number(power_watts, "power_watts", 0)
    rate = _price(usd_per_kw_month, "usd_per_kw_month")
    return _out(watts / 1000.0 * rate)


def discount_factor(cost_of_capital, year):
    """What a dollar paid at the end of year is worth today: 1 / (1 + cost_of_capital)^year.
    [USD today per USD]

    Args:
        cost_of_capital: *
        year: years from now, >= 0 [years]

    ``1 / (1 + cost_of_capital)^year`` [USD today per USD]

    >>> discount_factor(0.1, 2)
    0.8264
    """
    r = _checks.fraction(cost_of_capital, "cost_of_capital", zero_ok=True)
    y = _checks.number(year, "year", 0)
    with np.errstate(over="ignore"):  # a million years: the factor is 0, not an overflow
        return _out(1.0 / (1.0 + r) ** y)


def rent_cost_in_year(price_per_gpu_hour, year, price_decline=0.0,
                      hours_per_month=HOURS_PER_MONTH):
    """USD of renting one GPU for the whole of one year (1 = the first), when its rental price falls by price_decline a year: price x (1 - decline)^(year - 1) x MIN(hours, 730) x 12.
    [USD/year]

    Args:
        price_per_gpu_hour: rental price in the first year [USD/GPU-hour]
        year: which year, 1 for the first [years]
        price_decline: yearly fall of the GPU's rental price, in [0, 1) [1/year]
        hours_per_month: *

    ``price_per_gpu_hour x (1 - price_decline)^(year - 1) x min(hours_per_month, 730) x 12``:
    a year has 8,760 hours, so a month of 744 hours (a 31-day month always on) bills 730 a
    month over the year (a finance audit: 8,928 hours a year). [USD/year]

    >>> rent_cost_in_year(2.49, 2, 0.25)
    16359.3
    """
    price = _price(price_per_gpu_hour, "price_per_gpu_hour")
    y = _checks.number(year, "year", 1, integer=True)
    d = _checks.number(price_decline, "price_decline", 0, 1, max_open=True)
    hours = np.minimum(_hours(hours_per_month), HOURS_PER_MONTH)
    return _out(price * (1.0 - d) ** (y - 1.0) * hours * 12.0)


def rent_npv(price_per_gpu_hour, years, price_decline=0.0, cost_of_capital=0.0,
             hours_per_month=HOURS_PER_MONTH):
    """Present value of renting one GPU for years whole years, each year paid at its end: sum of RENT_COST_IN_YEAR x DISCOUNT_FACTOR.
    [USD]

    Args:
        price_per_gpu_hour: rental price in the first year [USD/GPU-hour]
        years: whole years rented [years]
        price_decline: yearly fall of the GPU's rental price, in [0, 1) [1/year]
        cost_of_capital: *
        hours_per_month: *

    ``sum over y = 1..years of rent_cost_in_year(price, y, decline, hours) / (1 + r)^y`` [USD]

    >>> rent_npv(2.49, 3, 0.25, 0.1)
    42567.8
    """
    n = _checks.number(years, "years", 1, 50, integer=True)
    total = 0.0 * n  # the shape of years (an empty range gives an empty result)
    for y in range(1, int(np.max(n, initial=0)) + 1):
        cost = rent_cost_in_year(price_per_gpu_hour, y, price_decline, hours_per_month)
        total = total + np.where(y <= n, cost * discount_factor(cost_of_capital, y), 0.0)
    return _out(total)


def own_running_cost_per_year(power_watts=0.0, price_per_kwh=0.0, pue=1.0,
                              hosting_per_month=0.0):
    """Yearly USD of running one owned GPU: energy (power x PUE x electricity price x 8760 h) plus hosting x 12.
    [USD/year]

    Args:
        power_watts: *
        price_per_kwh: *
        pue: *
        hosting_per_month: *

    ``power_watts / 1000 x pue x price_per_kwh x 8760 + hosting_per_month x 12`` [USD/year]

    >>> own_running_cost_per_year(700, 0.09, 1.4, 136.5)
    2410.6
    """
    hosting = _price(hosting_per_month, "hosting_per_month")
    return _out(_energy_per_hour(power_watts, price_per_kwh, pue) * HOURS_PER_YEAR
                + hosting * 12.0)


def own_npv(purchase_price, years=3, power_watts=0.0, price_per_kwh=0.0, pue=1.0,
            hosting_per_month=0.0, cost_of_capital=0.0, residual_value=0.0):
    """Present value of owning one GPU for years whole years: the purchase now, running costs at each year's end, less the resale value at the end. Equals OWN_HOURLY_COST x 8760 paid yearly, discounted.
    [USD]

    Args:
        purchase_price: *
        years: whole years the GPU is kept [years]
        power_watts: *
        price_per_kwh: *
        pue: *
        hosting_per_month: *
        cost_of_capital: *
        residual_value: resale value at the end, at most the purchase price [USD]

    ``purchase_price + sum over y = 1..years of running_cost / (1 + r)^y
    - residual_value / (1 + r)^years`` [USD]

    >>> own_npv(30000, 3, 700, 0.09, 1.4, 136.5, 0.1, 9000)
    29233.05
    """
    price = _price(purchase_price, "purchase_price")
    n = _checks.number(years, "years", 1, 50, integer=True)
    rv = _price(residual_value, "residual_value")
    _check_residual(rv, price)
    running = own_running_cost_per_year(power_watts, price_per_kwh, pue, hosting_per_month)
    r = _checks.fraction(cost_of_capital, "cost_of_capital", zero_ok=True)
    annuity = 0.0
    for y in range(1, int(np.max(n, initial=0)) + 1):
        annuity = annuity + np.where(y <= n, 1.0 / (1.0 + r) ** y, 0.0)
    return _out(price + running * annuity - rv / (1.0 + r) ** n)


# --- Fleets and plans -------------------------------------------------------------------------

def breakeven_tokens_per_day(self_host_monthly_cost, api_price_per_mtok,
                             self_host_price_per_mtok=0.0, days_per_month=HOURS_PER_MONTH / 24):
    """Tokens per day above which a fixed self-hosted fleet costs less than the API: monthly cost / days / ((API price - self-host marginal price) / 1e6).
    [tokens/day]

    Args:
        self_host_monthly_cost: fixed monthly cost of the self-hosted fleet [USD/month]
        api_price_per_mtok: API price, blended over input and output [USD/Mtok]
        self_host_price_per_mtok: self-hosting cost that grows with volume (energy, egress) [USD/Mtok]
        days_per_month: *

    ``monthly cost / days_per_month / ((api - self-host marginal) / 1e6)`` [tokens/day]; "never"
    where the API price is at most the self-hosting cost per token (infinite in Python).

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
    margin = np.asarray(api - own, dtype=float)
    with np.errstate(divide="ignore", over="ignore"):
        volume = fixed / days / (np.where(margin > 0, margin, 1.0) / _MTOK)
    return _out(np.where(margin > 0, volume, np.inf))


def spot_hybrid_cost(base_gpus, burst_gpus, on_demand_rate, spot_rate, burst_fraction,
                     hours_per_month=HOURS_PER_MONTH):
    """Monthly USD of an on-demand base fleet plus spot burst GPUs used burst_fraction of the time: base x on-demand x hours + burst x spot x hours x fraction.
    [USD/month]

    Args:
        base_gpus: on-demand or reserved GPUs running all month [GPUs]
        burst_gpus: spot GPUs added for peaks [GPUs]
        on_demand_rate: price of an on-demand GPU [USD/GPU-hour]
        spot_rate: price of a spot GPU [USD/GPU-hour]
        burst_fraction: share of the month the spot GPUs run, in [0, 1] [0-1]
        hours_per_month: hours in the month (the spot GPUs run burst_fraction of them), at most 744 [hours]

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


def _hours_per_day(hours_per_month):
    """Hours a day the replicas serve when they run ``hours_per_month`` hours a month: an
    average month's share of the day, all 24 from 730 hours (the average month) up to 744 (a
    31-day month)."""
    return np.minimum(24.0, _hours(hours_per_month) * 12.0 / 365.0)


def api_days_per_month(hours_per_month=HOURS_PER_MONTH) -> float:
    """Days of the month the API bills beside GPUs paid ``hours_per_month`` hours: the average
    month (730 / 24) for GPUs that run that long or less, else the longer month the GPUs are paid
    for (744 hours: 31 days), so that both sides price one month (a finance audit: at 744 hours
    the GPUs paid for 31 days and the API for 30.4). [days]

    >>> api_days_per_month(), api_days_per_month(744), api_days_per_month(365)
    (30.416666666666668, 31.0, 30.416666666666668)
    """
    return max(float(_hours(hours_per_month)), HOURS_PER_MONTH) / 24.0


def replica_tokens_per_day(replica_tokens_per_sec, utilization=PLANNED_UTILIZATION,
                           hours_per_month=HOURS_PER_MONTH):
    """Tokens per day one replica carries at the planned utilization while it runs hours_per_month hours a month: tokens/s x utilization x 3600 x MIN(24, hours x 12 / 365).
    [tokens/day]

    Args:
        replica_tokens_per_sec: *
        utilization: *
        hours_per_month: *

    ``replica_tokens_per_sec x utilization x 3600 x min(24, hours_per_month x 12 / 365)``: at 730
    hours a month, and up to 744 (a 31-day month), 24 hours a day. [tokens/day]

    >>> replica_tokens_per_day(10000, 0.5)
    432000000.0
    """
    tps = _checks.number(replica_tokens_per_sec, "replica_tokens_per_sec", 0, min_open=True)
    util = _checks.fraction(utilization, "utilization")
    return _out(tps * util * 3600.0 * _hours_per_day(hours_per_month))


def replicas_needed(tokens_per_day, replica_tokens_per_sec, utilization=PLANNED_UTILIZATION,
                    min_replicas=1, hours_per_month=HOURS_PER_MONTH):
    """Replicas needed for a daily token volume, at least min_replicas: max(min_replicas, ceil(tokens_per_day / REPLICA_TOKENS_PER_DAY)).
    [replicas]

    Args:
        tokens_per_day: tokens to serve per day, counted as replica_tokens_per_sec counts them [tokens/day]
        replica_tokens_per_sec: *
        utilization: *
        min_replicas: *
        hours_per_month: *

    ``max(min_replicas, ceil(tokens_per_day / replica_tokens_per_day(...)))`` [replicas]

    Notes: the volume is spread evenly over the hours the replicas run; for a daily peak, lower
    ``utilization`` (see :func:`provisioned_utilization`).

    >>> replicas_needed(2e9, 10000)
    4.0
    """
    tokens = _checks.number(tokens_per_day, "tokens_per_day", 0)
    floor = _checks.number(min_replicas, "min_replicas", 1, integer=True)
    per_replica = replica_tokens_per_day(replica_tokens_per_sec, utilization, hours_per_month)
    return _out(np.maximum(_whole(tokens / per_replica), floor))


def self_host_monthly_cost(tokens_per_day, replica_tokens_per_sec, price_per_gpu_hour,
                           num_gpus=1, utilization=PLANNED_UTILIZATION,
                           hours_per_month=HOURS_PER_MONTH,
                           min_replicas=1, staff_cost_per_month=0.0):
    """Monthly USD of self-hosting a daily volume: REPLICAS_NEEDED x num_gpus x price x hours (a step function of volume), plus the fixed staff and platform cost.
    [USD/month]

    Args:
        tokens_per_day: tokens to serve per day [tokens/day]
        replica_tokens_per_sec: *
        price_per_gpu_hour: *
        num_gpus: *
        utilization: *
        hours_per_month: *
        min_replicas: *
        staff_cost_per_month: *

    ``replicas_needed(...) x num_gpus x price x hours_per_month + staff_cost_per_month``
    [USD/month]

    >>> self_host_monthly_cost(2e9, 10000, 2.21, 4)
    25812.8
    """
    reps = replicas_needed(tokens_per_day, replica_tokens_per_sec, utilization, min_replicas,
                           hours_per_month)
    price = _price(price_per_gpu_hour, "price_per_gpu_hour")
    n = _checks.number(num_gpus, "num_gpus", 1, _checks.MAX_GPUS, integer=True)
    hours = _hours(hours_per_month)
    staff = _price(staff_cost_per_month, "staff_cost_per_month")
    return _out(reps * n * price * hours + staff)


def cost_per_mtok_at_volume(monthly_cost, tokens_per_day, days_per_month=HOURS_PER_MONTH / 24):
    """USD per million tokens actually served: a month's cost over the month's tokens, monthly_cost / (tokens_per_day x days) x 1e6. Idle capacity and fixed costs included.
    [USD/Mtok]

    Args:
        monthly_cost: everything the month costs, e.g. SELF_HOST_MONTHLY_COST [USD/month]
        tokens_per_day: tokens served per day [tokens/day]
        days_per_month: *

    ``monthly_cost / (tokens_per_day x days_per_month) x 1e6`` [USD/Mtok]

    >>> cost_per_mtok_at_volume(1817.7, 1e7)
    5.9760
    """
    cost = _price(monthly_cost, "monthly_cost")
    tpd = _checks.number(tokens_per_day, "tokens_per_day", 0, min_open=True)
    days = _checks.number(days_per_month, "days_per_month", 0, 31, min_open=True)
    return _out(cost / (tpd * days) * _MTOK)


def fleet_utilization(tokens_per_day, replica_tokens_per_sec, replicas,
                      hours_per_month=HOURS_PER_MONTH):
    """Share of the fleet's capacity a daily volume uses: tokens_per_day / (replicas x tokens/s x 3600 x hours a day the replicas run); above 1, more than those replicas carry.
    [0-1]

    Args:
        tokens_per_day: tokens served per day [tokens/day]
        replica_tokens_per_sec: *
        replicas: replicas running [replicas]
        hours_per_month: *

    ``tokens_per_day / (replicas x replica_tokens_per_day(replica_tokens_per_sec, 1,
    hours_per_month))``: the utilization the volume really reaches, as opposed to the planned
    one. [0-1]

    >>> fleet_utilization(1e7, 20000, 1)
    0.0058
    """
    tpd = _checks.number(tokens_per_day, "tokens_per_day", 0)
    reps = _checks.number(replicas, "replicas", 1, integer=True)
    return _out(tpd / (reps * replica_tokens_per_day(replica_tokens_per_sec, 1.0,
                                                     hours_per_month)))


def fleet_breakeven_tokens_per_day(replica_monthly_cost, replica_tokens_per_day,
                                   api_price_per_mtok, min_replicas=1, fixed_monthly_cost=0.0,
                                   days_per_month=HOURS_PER_MONTH / 24):
    """Smallest daily volume at which self-hosting (whole replicas, at least min_replicas, plus a fixed monthly cost) costs no more than the API; none where a replica at its planned load costs what the API charges for its tokens or more.
    [tokens/day]

    Args:
        replica_monthly_cost: monthly cost of one replica [USD/month]
        replica_tokens_per_day: tokens per day one replica carries at the planned utilization [tokens/day]
        api_price_per_mtok: API price, blended over input and output [USD/Mtok]
        min_replicas: *
        fixed_monthly_cost: staff and platform cost, the same at any volume [USD/month]
        days_per_month: *

    Self-hosting V tokens a day costs ``R(V) x replica_monthly_cost + fixed`` with
    ``R(V) = max(min_replicas, ceil(V / replica_tokens_per_day))``; the API costs
    ``V x days x price / 1e6``. The first fleet that pays is ``R* = max(min_replicas,
    ceil(fixed / (replica_tokens_per_day x days x price / 1e6 - replica_monthly_cost)))`` and
    the breakeven is ``(R* x replica_monthly_cost + fixed) / (days x price / 1e6)``. [tokens/day]

    >>> fleet_breakeven_tokens_per_day(1817.7, 1.2e9, 6.25, 1, 0)
    9561600.0
    """
    rep = _price(replica_monthly_cost, "replica_monthly_cost")
    cap = _checks.number(replica_tokens_per_day, "replica_tokens_per_day", 0, min_open=True)
    api = _price(api_price_per_mtok, "api_price_per_mtok")
    floor = _checks.number(min_replicas, "min_replicas", 1, integer=True)
    fixed = _price(fixed_monthly_cost, "fixed_monthly_cost")
    days = _checks.number(days_per_month, "days_per_month", 0, 31, min_open=True)
    per_token = days * api / _MTOK          # API USD per (token per day), over the month
    margin = _replica_margin(rep, cap, api, days)
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.maximum(floor, _whole(np.where(margin > 0, fixed / np.where(margin > 0, margin,
                                                                               1.0), 0.0)))
        volume = (first * rep + fixed) / per_token
    return _out(np.where(margin > 0, volume, np.inf))


def breakeven_for_good(replica_monthly_cost, replica_tokens_per_day, api_price_per_mtok,
                       min_replicas=1, fixed_monthly_cost=0.0, days_per_month=HOURS_PER_MONTH / 24):
    """The daily volume from which self-hosting stays cheaper than the API at every larger volume
    (arguments as :func:`fleet_breakeven_tokens_per_day`; infinite where it never is).

    Past the first breakeven, each replica added (at ``(R - 1) x replica_tokens_per_day``) costs
    a whole replica at once, and the API can be cheaper again until the volume pays for it, at
    ``(R x replica_monthly_cost + fixed) / (days x price / 1e6)``. That gap is gone for every
    ``R >= (fixed + replica_tokens_per_day x days x price / 1e6) / margin``, the margin being what
    a replica at the planned load saves; the last gap ends at this volume. [tokens/day]

    >>> breakeven_for_good(1817.7, 1.2e9, 6.25, 1, 0)
    9561600.0
    >>> round(breakeven_for_good(25000, 1e9, 1, 1, 20000) / 1e9, 3)  # first breakeven 3.945
    8.055
    """
    first = fleet_breakeven_tokens_per_day(replica_monthly_cost, replica_tokens_per_day,
                                           api_price_per_mtok, min_replicas, fixed_monthly_cost,
                                           days_per_month)
    per_token = days_per_month * api_price_per_mtok / _MTOK
    cap, rep = replica_tokens_per_day, replica_monthly_cost
    margin = cap * per_token - rep
    with np.errstate(divide="ignore", invalid="ignore"):
        last = np.ceil((fixed_monthly_cost + cap * per_token) / np.where(margin > 0, margin, 1.0)
                       * (1 - 1e-12)) - 1.0
        gap_end = np.where(last > min_replicas, (last * rep + fixed_monthly_cost) / per_token, 0.0)
    return _out(np.where(margin > 0, np.maximum(first, gap_end), np.inf))


NEVER = "never: at planned utilization a replica costs at least the API price of its tokens"


def _replica_margin(replica_monthly_cost, replica_tokens_per_day, api_price_per_mtok,
                    days_per_month):
    """What a replica at the planned load saves a month against the API's price for its
    tokens. [USD/month]"""
    return replica_tokens_per_day * days_per_month * api_price_per_mtok / _MTOK \
        - replica_monthly_cost


def _never_explain(replica_monthly_cost, replica_tokens_per_day, api_price_per_mtok,
                   days_per_month=HOURS_PER_MONTH / 24, **_kwargs):
    """"never" where a replica at the planned load saves nothing against the API's price for
    its tokens; elsewhere the result overflowed (volumes near 1e300) and has no reason to
    give."""
    with np.errstate(invalid="ignore", over="ignore"):
        never = np.asarray(_replica_margin(*(np.asarray(v, dtype=float) for v in (
            replica_monthly_cost, replica_tokens_per_day, api_price_per_mtok,
            days_per_month))) <= 0)
    out = np.where(never, NEVER, None).astype(object)
    return out.item() if out.ndim == 0 else out


NEVER_PER_TOKEN = ("never: the API price is at most what self-hosting spends per token, so "
                   "no volume pays back the fixed cost")


def _never_per_token_explain(api_price_per_mtok, self_host_price_per_mtok=0.0, **_kwargs):
    """"never" where the API price is at most the self-hosting cost per token; elsewhere the
    result overflowed (a fixed cost near 1e300) and has no reason to give."""
    with np.errstate(invalid="ignore"):
        never = np.asarray(np.asarray(api_price_per_mtok, dtype=float)
                           <= np.asarray(self_host_price_per_mtok, dtype=float))
    out = np.where(never, NEVER_PER_TOKEN, None).astype(object)
    return out.item() if out.ndim == 0 else out


fleet_breakeven_tokens_per_day.explain = _never_explain
breakeven_tokens_per_day.explain = _never_per_token_explain
# Text these number functions give as an answer, not as a reason they have none (headless
# recalc).
fleet_breakeven_tokens_per_day.answer_texts = frozenset({NEVER})
breakeven_tokens_per_day.answer_texts = frozenset({NEVER_PER_TOKEN})


def spot_mix_price(on_demand_rate, spot_rate, spot_share=0.0):
    """USD per GPU-hour of a fleet that buys spot_share of its GPU-hours as spot: (1 - spot_share) x on-demand + spot_share x spot.
    [USD/GPU-hour]

    Args:
        on_demand_rate: price of an on-demand GPU [USD/GPU-hour]
        spot_rate: price of a spot (interruptible) GPU [USD/GPU-hour]
        spot_share: share of the GPU-hours bought as spot, in [0, 1] [0-1]

    ``(1 - spot_share) x on_demand_rate + spot_share x spot_rate`` [USD/GPU-hour]

    Notes: spot capacity can be reclaimed at short notice; keep the availability minimum on
    demand. Seed 003's hybrid (4 on-demand + 4 spot GPUs used 60 % of the time) buys
    2.4 / 6.4 = 37.5 % of its GPU-hours as spot.

    >>> spot_mix_price(2.21, 0.73, 0.375)
    1.655
    """
    od = _price(on_demand_rate, "on_demand_rate")
    spot = _price(spot_rate, "spot_rate")
    s = _checks.fraction(spot_share, "spot_share", zero_ok=True)
    return _out((1.0 - s) * od + s * spot)


def users_per_gpu(concurrent_sequences, duty_cycle):
    """Users one GPU serves when each is active duty_cycle of the time: concurrent_sequences / duty_cycle.
    [users/GPU]

    Args:
        concurrent_sequences: sequences one GPU holds and decodes at once, e.g. MAX_BATCH at num_gpus = 1 (a replica's MAX_BATCH divided by its GPUs) [sequences]
        duty_cycle: *

    ``concurrent_sequences / duty_cycle`` [users/GPU]

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
    [users/GPU]

    Args:
        tokens_per_sec: output tokens/s the whole replica serves while busy (MAX_THROUGHPUT: the tokens users read) [tokens/s]
        user_tokens_per_sec: tokens/s one user receives while active [tokens/s]
        duty_cycle: *
        num_gpus: *

    ``tokens_per_sec / (user_tokens_per_sec x duty_cycle) / num_gpus`` [users/GPU]

    Plain arithmetic on a throughput you give, so a bound: the replica's throughput at that
    many users is not the throughput given (a saturated replica's step is longer than 1 /
    user_tokens_per_sec). The capacity planner counts the users each of whom still gets the
    rate (``serving.concurrency_at_speed``): fewer where speed binds.

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
    [0-1]

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
    """Share of prefill tokens prefix caching saves: hit_rate x prefix / (prefix + unique). [0-1]

    Args:
        prefix_tokens: tokens of the shared prefix (system prompt, template) [tokens]
        unique_tokens: tokens of each request after the prefix, > 0 [tokens]
        hit_rate: share of requests that find the prefix cached, in [0, 1] [0-1]

    ``hit_rate x prefix_tokens / (prefix_tokens + unique_tokens)`` [0-1]

    Notes: saves prefill compute and TTFT, not decode; a cached prefix still occupies KV memory.

    >>> prefix_cache_savings(2048, 256, 0.85)
    0.7556
    """
    prefix = _checks.number(prefix_tokens, "prefix_tokens", 0)
    unique = _checks.number(unique_tokens, "unique_tokens", 0, min_open=True)
    hit = _checks.fraction(hit_rate, "hit_rate", zero_ok=True)
    return _out(hit * prefix / (prefix + unique))


def spec_decode_speedup(acceptance_rate, draft_tokens, draft_cost_ratio=0.0):
    """Decode speed-up from speculative decoding: (1 - a^(k+1)) / (1 - a) / (1 + k x draft_cost_ratio). Holds while decode is memory-bound.
    [x]

    Args:
        acceptance_rate: chance a drafted token is accepted, in [0, 1] (at 1: k + 1 tokens) [0-1]
        draft_tokens: tokens drafted per step (k) [tokens]
        draft_cost_ratio: time of a draft-model step over a target-model step [ratio]

    ``(1 - a^(k+1)) / (1 - a) / (1 + k x draft_cost_ratio)`` [x]

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
    a = _checks.number(acceptance_rate, "acceptance_rate", 0, 1)
    k = _checks.number(draft_tokens, "draft_tokens", 0, integer=True)
    c = _checks.number(draft_cost_ratio, "draft_cost_ratio", 0)
    d = 1.0 - a  # exact near a = 1, where 1 - a^(k+1) would cancel; a = 1: the limit, k + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        tokens = np.where(d > 0, -np.expm1((k + 1.0) * np.log1p(-d)) / d, k + 1.0)
    # no drafting: exactly 1 token a step, where the form above can round to 0.9999999999999999
    # (an audit: a property test failed on such draws)
    tokens = np.where(k == 0, 1.0, tokens)
    return _out(tokens / (1.0 + k * c))


# --- Multi-tenant pooling ---------------------------------------------------------------------

_STD_NORMAL = NormalDist()


def _z(percentile):
    # capacity sized below the median load would run above 100 % half the time
    q = _checks.number(percentile, "percentile", 0.5, 1, max_open=True)
    if np.ndim(q) == 0:
        return _STD_NORMAL.inv_cdf(q)
    values, where = np.unique(q, return_inverse=True)  # a grid repeats its percentiles
    return np.array([_STD_NORMAL.inv_cdf(v) for v in values])[where].reshape(q.shape)


# The load variability the pooling functions take where none is given (std dev / mean of one
# tenant's load): steady, round-the-clock traffic; business hours run 0.6-1 (the templates say).
TENANT_CV = 0.25


def _pool_args(tenants, mean_utilization, percentile, cv, gpus_per_tenant, correlation,
               tenant_name="tenants"):
    n = _checks.number(tenants, tenant_name, 1, integer=True)
    mu = _checks.fraction(mean_utilization, "mean_utilization")
    z = _z(percentile)
    c = _checks.number(cv, "cv", 0)
    g = _checks.number(gpus_per_tenant, "gpus_per_tenant", 1, integer=True)
    rho = _checks.fraction(correlation, "correlation", zero_ok=True)
    return n, mu, z, c, g, rho


def _pooled_sd(n, load, c, rho):
    """Standard deviation of the summed load of ``n`` normal tenants. [GPUs]"""
    return c * load * np.sqrt(n * (1.0 + (n - 1.0) * rho))


def _pooled_load(n, load, z, c, rho):
    """Percentile of the summed load of ``n`` normal tenants. [GPUs]"""
    return n * load + z * _pooled_sd(n, load, c, rho)


def dedicated_capacity(tenants, mean_utilization, percentile, cv=TENANT_CV, gpus_per_tenant=1,
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


def pooled_capacity(tenants, mean_utilization, percentile, cv=TENANT_CV, gpus_per_tenant=1,
                    correlation=0.0):
    """GPUs of load (fractional) one shared pool must cover: the percentile of the summed load,
    ``N m + z x cv x m x sqrt(N (1 + (N - 1) rho))`` with ``m = mean_utilization x
    gpus_per_tenant``. Not rounded. [GPUs]"""
    n, mu, z, c, g, rho = _pool_args(tenants, mean_utilization, percentile, cv,
                                     gpus_per_tenant, correlation)
    return _out(_pooled_load(n, mu * g, z, c, rho))


def dedicated_gpus(tenants, mean_utilization, percentile, cv=TENANT_CV, gpus_per_tenant=1,
                   correlation=0.0):
    """Whole GPUs when every tenant has its own deployments (of gpus_per_tenant GPUs) sized for its own load percentile: tenants x gpus_per_tenant x MAX(1, CEILING(mean_utilization x (1 + NORM.S.INV(percentile) x cv))).
    [GPUs]

    Args:
        tenants: *
        mean_utilization: *
        percentile: *
        cv: *
        gpus_per_tenant: *
        correlation: *

    Per tenant ``g x max(1, ceil(m (1 + z cv) / g))`` with ``g = gpus_per_tenant``,
    ``m = mean_utilization x g`` GPUs of mean load and ``z = NORM.S.INV(percentile)``: whole
    deployments of ``g`` GPUs; times ``tenants``. [GPUs]

    Model: each tenant's load is normal with mean ``m`` and standard deviation ``cv x m``,
    independent of the others (``correlation`` only matters to the pool). A deployment never
    shrinks below ``gpus_per_tenant``: tenants often idle at low utilization because a model
    needs a minimum number of GPUs, not because of their peaks.

    Notes: the normal model is fair while cv <= ~0.3 (a negative load then has under 0.05 %
    probability); burstier tenants are better served by :func:`pooling_monte_carlo` (Python
    only: ``xlnapkin.economics``).

    >>> dedicated_gpus(10, 0.4, 0.95)
    10.0
    """
    n, mu, z, c, g, _rho = _pool_args(tenants, mean_utilization, percentile, cv,
                                      gpus_per_tenant, correlation)
    return _out(n * g * _own_deployments(mu, z, c))


def pooled_gpus(tenants, mean_utilization, percentile, cv=TENANT_CV, gpus_per_tenant=1,
                correlation=0.0):
    """Whole GPUs for one shared pool of gpus_per_tenant-GPU deployments sized for the percentile of the summed load: g x MAX(1, CEILING((N m + NORM.S.INV(percentile) x cv x m x SQRT(N (1 + (N-1) correlation))) / g)).
    [GPUs]

    Args:
        tenants: *
        mean_utilization: *
        percentile: *
        cv: *
        gpus_per_tenant: *
        correlation: *

    ``g x max(1, ceil((N m + z x cv x m x sqrt(N (1 + (N - 1) rho))) / g))`` with
    ``g = gpus_per_tenant``, ``m = mean_utilization x g`` and ``z = NORM.S.INV(percentile)``:
    whole deployments of ``g`` GPUs, at least one, so one tenant alone saves nothing. [GPUs]

    Notes: the pool is counted in whole deployments because a model replica spread over ``g``
    GPUs cannot run on part of them.

    >>> pooled_gpus(10, 0.4, 0.95)
    5.0
    """
    n, mu, z, c, g, rho = _pool_args(tenants, mean_utilization, percentile, cv,
                                     gpus_per_tenant, correlation)
    return _out(g * np.maximum(1.0, _whole(_pooled_load(n, mu * g, z, c, rho) / g)))


def team_loads(tokens_per_day, deployment_tokens_per_sec, utilization=1.0,
               hours_per_month=HOURS_PER_MONTH):
    """Each team's average load in deployments: its tokens a day over what one deployment
    serves in a day at the planned ``utilization`` of its saturating throughput
    (``deployment_tokens_per_sec``, e.g. :func:`~xlnapkin.capacity.replica_tokens_per_sec`)
    in the hours a day it runs (``hours_per_month x 12 / 365``, at most 24, as
    :func:`replica_tokens_per_day` counts them): a fleet paid for fewer hours serves the day's
    tokens in those hours. [deployments]

    >>> [round(float(x), 3) for x in team_loads([800e6, 150e6], 5922, 0.7)]  # 70B fp8, 2 H100s
    [2.234, 0.419]
    >>> round(float(team_loads(800e6, 5922, 0.7, 365)), 3)  # half the hours: twice the load
    4.467
    """
    tpd = np.asarray(tokens_per_day, dtype=float)
    blank = np.isnan(tpd)  # a blank row stays blank (no team there)
    _checks.number(np.where(blank, 0.0, tpd), "tokens_per_day", 0)
    tps = _checks.number(deployment_tokens_per_sec, "deployment_tokens_per_sec", 0,
                         min_open=True)
    u = _checks.fraction(utilization, "utilization")
    return _out(tpd / (3600.0 * _hours_per_day(hours_per_month) * tps * u))


def _team_args(loads, percentile, cv, gpus_per_deployment, correlation):
    """The teams' loads and cvs (blank and zero loads dropped: no team there), z, g and rho."""
    load = np.atleast_1d(np.asarray(loads, dtype=float))
    for value, name in ((percentile, "percentile"), (gpus_per_deployment, "gpus_per_deployment"),
                        (correlation, "correlation")):
        if np.ndim(value):  # one pool: one percentile, deployment size and correlation
            raise InvalidArgumentError(name, "one number for the whole pool", value)
    try:
        c = np.broadcast_to(np.asarray(cv, dtype=float), load.shape)
    except ValueError:
        raise InvalidArgumentError("cv", f"one number or one per team ({load.size})",
                                   cv) from None
    keep = ~np.isnan(load) & (load != 0)
    load, c = load[keep], c[keep]
    if not load.size:
        raise InvalidArgumentError("loads", "at least one team's load > 0", loads)
    _checks.number(load, "loads", 0)
    c = _checks.number(np.where(np.isnan(c), TENANT_CV, c), "cv", 0)  # a blank cv: the default
    g = _checks.number(gpus_per_deployment, "gpus_per_deployment", 1, integer=True)
    rho = _checks.fraction(correlation, "correlation", zero_ok=True)
    return load, c, _z(percentile), float(g), float(rho)


def teams_dedicated_gpus(loads, percentile, cv=TENANT_CV, gpus_per_deployment=1, correlation=0.0,
                         spares=0):
    """Whole GPUs when each team of a different size has its own deployments, sized for its own
    percentile: ``sum g x (max(1, ceil(L_i (1 + z cv_i))) + spares)`` over teams whose average
    load is ``L_i`` deployments (a number above 1 is a team bigger than one deployment; blank or
    0: no team) and whose load varies by ``cv_i`` (one cv for all, or one per team; blank:
    0.25); ``spares`` deployments each team keeps for availability (1: N+1).
    :func:`dedicated_gpus` for teams of one size and no spares; ``correlation`` is accepted so
    that the teams' functions share one signature (a team's own percentile does not need it).
    [GPUs]

    >>> teams_dedicated_gpus([2.23, 0.42, 0.08], 0.95, 0.25, 2)   # 4 + 1 + 1 deployments of 2
    12.0
    """
    load, c, z, g, _rho = _team_args(loads, percentile, cv, gpus_per_deployment, correlation)
    k = _checks.number(spares, "spares", 0, integer=True)
    return float(g * (_own_deployments(load, z, c) + k).sum())


def teams_dedicated_capacity(loads, percentile, cv=TENANT_CV, gpus_per_deployment=1,
                             correlation=0.0):
    """GPUs of load the teams' own deployments must cover, before whole deployments and spares:
    ``g sum L_i (1 + z cv_i)``. With :func:`teams_pooled_capacity` it splits the saving into
    peaks that do not coincide and rounding, as :func:`pooling_savings_from_peaks` does for
    tenants of one size. [GPUs]

    >>> round(teams_dedicated_capacity([0.4] * 10, 0.95, 0.25, 1), 4)   # = dedicated_capacity
    5.6449
    """
    load, c, z, g, _rho = _team_args(loads, percentile, cv, gpus_per_deployment, correlation)
    return float(g * (load * (1.0 + z * c)).sum())


def teams_pooled_capacity(loads, percentile, cv=TENANT_CV, gpus_per_deployment=1, correlation=0.0):
    """GPUs of load one shared pool must cover for teams of different sizes: the percentile of
    their summed normal loads, ``g (sum L_i + z sqrt((1 - rho) sum s_i^2 + rho (sum s_i)^2))``
    with ``s_i = cv_i L_i`` (pairwise correlation ``rho``). :func:`pooled_capacity` for teams
    of one size. Not rounded. [GPUs]

    >>> round(teams_pooled_capacity([0.4] * 10, 0.95, 0.25, 1, 0.3), 4)   # = pooled_capacity
    5.0005
    """
    load, c, z, g, rho = _team_args(loads, percentile, cv, gpus_per_deployment, correlation)
    return float(g * (load.sum() + z * _teams_spread(load, c, rho)))


def _teams_spread(load, c, rho):
    """Standard deviation of the teams' summed load, ``sqrt((1 - rho) sum s_i^2 + rho (sum
    s_i)^2)`` with ``s_i = cv_i L_i``, scaled by the largest ``s_i`` so that squares of 1e160
    do not overflow; 0 where no load varies. [deployments]"""
    s = c * load
    top = float(s.max()) or 1.0
    return float(top * np.sqrt((1.0 - rho) * np.sum((s / top) ** 2)
                               + rho * np.sum(s / top) ** 2))


def teams_pooled_gpus(loads, percentile, cv=TENANT_CV, gpus_per_deployment=1, correlation=0.0,
                      spares=0):
    """Whole GPUs for one pool shared by teams of different sizes: :func:`teams_pooled_capacity`
    in whole deployments of ``gpus_per_deployment`` GPUs, at least one, plus ``spares``
    deployments the pool keeps for availability (1: N+1). [GPUs]

    >>> teams_pooled_gpus([2.23, 0.42, 0.08], 0.95, 0.25, 2)
    8.0
    """
    cap = teams_pooled_capacity(loads, percentile, cv, gpus_per_deployment, correlation)
    g = float(_checks.number(gpus_per_deployment, "gpus_per_deployment", 1, integer=True))
    k = float(_checks.number(spares, "spares", 0, integer=True))
    return float(g * (max(1.0, float(_whole(cap / g))) + k))


def teams_pooled_coverage(loads, percentile, cv=TENANT_CV, gpus_per_deployment=1, correlation=0.0):
    """Share of the time the teams' shared pool covers their summed load: its whole deployments
    (:func:`teams_pooled_gpus` without spares, which stand in for failures) against the
    normal summed load, ``Phi((k - sum L_i) / sqrt((1 - rho) sum s_i^2 + rho (sum s_i)^2))``
    with ``s_i = cv_i L_i``; 1 where no team's load varies. Every team is short when the pool
    is. :func:`pooled_coverage` for teams of one size. [0-1]

    >>> round(teams_pooled_coverage([0.4] * 10, 0.95, 0.25, 1, 0.3), 6)   # = pooled_coverage
    0.999495
    """
    load, c, _z, g, rho = _team_args(loads, percentile, cv, gpus_per_deployment, correlation)
    k = teams_pooled_gpus(loads, percentile, cv, gpus_per_deployment, correlation) / g
    return float(_covered(k, load.sum(), _teams_spread(load, c, rho)))


def teams_dedicated_coverage(loads, percentile, cv=TENANT_CV, gpus_per_deployment=1,
                             correlation=0.0):
    """Share of the time the worst-served team's own deployments cover its load: the least of
    ``Phi((k_i - L_i) / (cv_i L_i))`` over the teams, ``k_i = max(1, ceil(L_i (1 + z cv_i)))``
    (spares aside, as in :func:`teams_pooled_coverage`); 1 for a team whose load does not
    vary. :func:`dedicated_coverage` for teams of one size. [0-1]

    >>> round(1 - teams_dedicated_coverage([2.234, 0.419, 0.084], 0.95, 0.25, 2, 0.3), 5)
    0.00078
    """
    load, c, z, _g, _rho = _team_args(loads, percentile, cv, gpus_per_deployment, correlation)
    return float(np.min(_teams_own_cover(load, c, z)))


def _teams_own_cover(load, c, z):
    """Each team's share of the time its own deployments (spares aside) cover its load."""
    return _covered(_own_deployments(load, z, c), load, c * load)


def teams_served_worse(loads, percentile, cv=TENANT_CV, gpus_per_deployment=1, correlation=0.0):
    """The teams whose own deployments (spares aside) cover their load more of the time than
    the pool sized for the percentile covers the summed load (:func:`teams_pooled_coverage`):
    every team is short when the pool is, so these get a worse service pooled than alone (a
    CFO's read: the pool was short 1.2 % of the time, better than the worst-served team's
    2.0 %, and the cover said nothing of two teams short 1.0 % and never on their own). [teams]

    >>> teams_served_worse([2.234, 0.419, 0.084], 0.95, 0.25, 2, 0.3)   # all three
    3.0
    >>> teams_served_worse([0.4], 0.95)                                 # one team: its own pool
    0.0
    """
    load, c, z, _g, _rho = _team_args(loads, percentile, cv, gpus_per_deployment, correlation)
    pool = teams_pooled_coverage(loads, percentile, cv, gpus_per_deployment, correlation)
    return _short_more_often(load, c, z, pool)


def _short_more_often(load, c, z, pool) -> float:
    """The teams whose own deployments cover their load more of the time than a pool covering
    the summed load ``pool`` of the time. [teams]"""
    return float(np.sum(_teams_own_cover(load, c, z) > pool + 1e-12))


def teams_served_worse_same_service(loads, percentile, cv=TENANT_CV, gpus_per_deployment=1,
                                    correlation=0.0):
    """:func:`teams_served_worse` at the pool that is short no more often than the worst-served
    team alone (:func:`teams_pooled_gpus_same_service`, spares aside): the teams that team's
    service still leaves short more often pooled than on their own deployments (a review: the
    cover said every other team was, where a team of 2.2 deployments was short 0.075 % of the
    time alone and 0.032 % in that pool). [teams]

    >>> teams_served_worse_same_service([2.234, 0.419, 0.084], 0.95, 0.25, 2, 0.3)
    2.0
    >>> teams_served_worse_same_service([0.64, 2.23], 0.95, 0.25, 2, 0.3)
    0.0
    """
    load, c, z, g, rho = _team_args(loads, percentile, cv, gpus_per_deployment, correlation)
    k = teams_pooled_gpus_same_service(loads, percentile, cv, gpus_per_deployment,
                                       correlation) / g
    return _short_more_often(load, c, z, float(_covered(k, load.sum(),
                                                        _teams_spread(load, c, rho))))


def teams_pooled_gpus_same_service(loads, percentile, cv=TENANT_CV, gpus_per_deployment=1,
                                   correlation=0.0, spares=0):
    """Whole GPUs for one pool that is short of capacity no more often than the worst-served
    team on its own deployments: :func:`teams_pooled_gpus` at the percentile
    :func:`teams_dedicated_coverage` gives (at most 1 - 1e-12). Whole deployments leave each
    team's own fleet far above the percentile asked, so a pool sized for the percentile saves
    partly by a lower service level; at this size the saving is like for like. [GPUs]

    The z is the worst team's own, ``min (k_i - L_i) / (cv_i L_i)`` (at most
    :data:`SAME_SERVICE_Z`), taken directly, as in :func:`pooled_gpus_same_service`.

    >>> teams_pooled_gpus_same_service([2.234, 0.419, 0.084], 0.95, 0.25, 2, 0.3)  # not 8
    10.0
    """
    load, c, z, g, rho = _team_args(loads, percentile, cv, gpus_per_deployment, correlation)
    k = _own_deployments(load, z, c)
    varies = c > 0
    own = float(np.min((k - load)[varies] / (c * load)[varies])) if varies.any() else (
        SAME_SERVICE_Z)
    cap = load.sum() + max(min(own, SAME_SERVICE_Z), z) * _teams_spread(load, c, rho)
    pool_spares = _checks.number(spares, "spares", 0, integer=True)
    return float(g * (max(1.0, float(_whole(cap))) + pool_spares))

# The cv up to which the pooling functions' normal load is fair: a tenant's load is then below 0
# under 0.05 % of the time; burstier tenants need pooling_monte_carlo (the templates say so).
NORMAL_CV_MAX = 0.3

# A correlation between tenants' loads that real API traffic shows: the upper end of the hourly
# correlations between the busiest API tenants in Alibaba's ServeGen traces (0.0-0.33). The
# multi-tenant template starts from it; the functions' own default stays 0, independent tenants,
# as seed 003's claims assume, and the command line notes the difference where it is left blank.
TENANT_CORRELATION = 0.3

# A pooled count is "on a step" where less than this share of its load would save a whole
# deployment, or more than it would need one more, and that deployment is at least this share of
# the pool's cost: its saving rests on a sliver of the inputs (the multi-tenant template says
# so). In a pool of more than 1 / this many deployments one deployment is no longer worth the
# warning (a review: 490,092 GPUs were flagged "on a step").
POOL_STEP = 0.02


def pool_step_share(tenants, mean_utilization, percentile, cv=TENANT_CV, gpus_per_tenant=1,
                    correlation=0.0):
    """Share by which the pool's load (:func:`pooled_capacity`) would have to fall for
    :func:`pooled_gpus` to need one deployment fewer: ``(capacity - (pooled - g)) / capacity``.
    The load scales with the mean load, so a mean load that much lower saves a deployment. NaN
    where the pool is one deployment (it cannot shrink). [0-1]

    >>> round(pool_step_share(10, 0.4, 0.95, 0.25, 1, 0.3), 6)   # 5.0005 GPUs of load: 6 GPUs
    0.000105
    """
    cap = pooled_capacity(tenants, mean_utilization, percentile, cv, gpus_per_tenant,
                          correlation)
    pool = pooled_gpus(tenants, mean_utilization, percentile, cv, gpus_per_tenant, correlation)
    g = _checks.number(gpus_per_tenant, "gpus_per_tenant", 1, integer=True)
    return _out(np.where(pool > g, (cap - (pool - g)) / cap, np.nan))


def pool_headroom_share(tenants, mean_utilization, percentile, cv=TENANT_CV, gpus_per_tenant=1,
                        correlation=0.0):
    """Share by which the pool's load (:func:`pooled_capacity`) could rise before
    :func:`pooled_gpus` needs one deployment more: ``(pooled - capacity) / capacity``, the other
    side of :func:`pool_step_share` (a finance review: 20 tenants at 40 % load were "not on a
    step" at 9.90 GPUs of load in 10, where 1 % more load costs an eleventh). [0-1]

    >>> round(pool_headroom_share(20, 0.4, 0.95, 0.25, 1, 0.3), 6)   # 9.904 GPUs of load: 10
    0.009687
    """
    cap = pooled_capacity(tenants, mean_utilization, percentile, cv, gpus_per_tenant,
                          correlation)
    pool = pooled_gpus(tenants, mean_utilization, percentile, cv, gpus_per_tenant, correlation)
    return _out((pool - cap) / cap)


def pooling_savings(tenants, mean_utilization, percentile, cv=TENANT_CV, gpus_per_tenant=1,
                    correlation=0.0):
    """Share of GPU cost saved by one shared pool instead of dedicated deployments: 1 - POOLED_GPUS / DEDICATED_GPUS (at most 1 - the dedicated fleet's utilization).
    [0-1]

    Args:
        tenants: *
        mean_utilization: *
        percentile: *
        cv: *
        gpus_per_tenant: *
        correlation: *

    ``1 - pooled_gpus / dedicated_gpus`` (whole GPUs, as paid for) [0-1]

    Notes: never above one minus the dedicated fleet's utilization
    (:func:`dedicated_utilization`; ``1 - mean_utilization`` only while each tenant needs one
    deployment): the pool carries the same mean load and cannot run above 100 %. Whole
    deployments make it a step function of the number of tenants.

    >>> pooling_savings(10, 0.4, 0.95)
    0.5
    """
    ded = dedicated_gpus(tenants, mean_utilization, percentile, cv, gpus_per_tenant, correlation)
    pool = pooled_gpus(tenants, mean_utilization, percentile, cv, gpus_per_tenant, correlation)
    return _out(1.0 - pool / ded)


def pooled_utilization(tenants, mean_utilization, percentile, cv=TENANT_CV, gpus_per_tenant=1,
                       correlation=0.0):
    """Average utilization of the shared pool: tenants x mean_utilization x gpus_per_tenant / POOLED_GPUS.
    [0-1]

    Args:
        tenants: *
        mean_utilization: *
        percentile: *
        cv: *
        gpus_per_tenant: *
        correlation: *

    ``tenants x mean_utilization x gpus_per_tenant / pooled_gpus`` [0-1]

    >>> pooled_utilization(10, 0.4, 0.95)
    0.8
    """
    n, mu, _z_, _c, g, _rho = _pool_args(tenants, mean_utilization, percentile, cv,
                                         gpus_per_tenant, correlation)
    return _out(n * mu * g / pooled_gpus(tenants, mean_utilization, percentile, cv,
                                         gpus_per_tenant, correlation))


def dedicated_utilization(tenants, mean_utilization, percentile, cv=TENANT_CV, gpus_per_tenant=1,
                          correlation=0.0):
    """Average utilization of the dedicated fleet: tenants x mean_utilization x gpus_per_tenant / DEDICATED_GPUS. One minus it bounds the pooling saving.
    [0-1]

    Args:
        tenants: *
        mean_utilization: *
        percentile: *
        cv: *
        gpus_per_tenant: *
        correlation: *

    ``tenants x mean_utilization x gpus_per_tenant / dedicated_gpus``: a pool serving the same
    mean load cannot run above 100 %, so the saving
    :func:`pooling_savings` never exceeds ``1 - dedicated_utilization``. [0-1]

    >>> dedicated_utilization(10, 0.4, 0.95, 1.0)
    0.2
    """
    n, mu, _z_, _c, g, _rho = _pool_args(tenants, mean_utilization, percentile, cv,
                                         gpus_per_tenant, correlation)
    return _out(n * mu * g / dedicated_gpus(tenants, mean_utilization, percentile, cv,
                                            gpus_per_tenant, correlation))


def _covered(capacity, mean, sd):
    """P(normal load <= capacity); a load with no spread is covered whenever the mean is."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # a tiny sd: +inf
        x = np.where(sd > 0, (capacity - mean) / np.where(sd > 0, sd, 1.0), np.inf)
    return np.vectorize(_STD_NORMAL.cdf, otypes=[float])(x)


def dedicated_coverage(tenants, mean_utilization, percentile, cv=TENANT_CV, gpus_per_tenant=1,
                       correlation=0.0):
    """Share of the time one tenant's own deployments (DEDICATED_GPUS / (tenants x gpus_per_tenant)) cover its load: NORMSDIST((deployments - mean_utilization) / (cv x mean_utilization)), above the percentile asked.
    [0-1]

    Args:
        tenants: *
        mean_utilization: *
        percentile: *
        cv: *
        gpus_per_tenant: *
        correlation: *

    ``Phi((k - u) / (cv u))`` with ``k = max(1, ceil(u (1 + z cv)))`` deployments of a tenant,
    ``u = mean_utilization``; 1 where cv is 0. Compare it with :func:`pooled_coverage` before
    reading :func:`pooling_savings`: the two fleets are sized for the same percentile, but
    rounding each tenant up to whole deployments leaves the dedicated fleet short less often.
    [0-1]

    >>> f"{1 - dedicated_coverage(10, 0.4, 0.95):.1e}"   # 1 GPU for a load of 0.4 +- 0.1
    '9.9e-10'
    >>> round(dedicated_coverage(10, 0.5, 0.5, 1.0), 4)  # 1 GPU for 0.5 +- 0.5
    0.8413
    """
    n, mu, z, c, g, _rho = _pool_args(tenants, mean_utilization, percentile, cv,
                                      gpus_per_tenant, correlation)
    k = _own_deployments(mu, z, c)
    return _out(_covered(k, mu, c * mu) + 0.0 * n * g)  # + 0 n g: every argument's shape


def pooled_coverage(tenants, mean_utilization, percentile, cv=TENANT_CV, gpus_per_tenant=1,
                    correlation=0.0):
    """Share of the time the shared pool (POOLED_GPUS) covers the tenants' summed load: NORMSDIST((pooled deployments - N u) / (cv u SQRT(N (1 + (N-1) correlation)))). At least the percentile; all tenants are short when it is.
    [0-1]

    Args:
        tenants: *
        mean_utilization: *
        percentile: *
        cv: *
        gpus_per_tenant: *
        correlation: *

    ``Phi((pooled_gpus / g - N u) / (cv u sqrt(N (1 + (N - 1) rho))))`` with
    ``u = mean_utilization``, ``g = gpus_per_tenant``; 1 where cv is 0. Set against
    :func:`dedicated_coverage`, it says what service level the saving is bought at. [0-1]

    >>> round(pooled_coverage(10, 0.4, 0.95), 4)   # 5 GPUs for 4 +- 0.32
    0.9992
    >>> round(pooled_coverage(10, 0.4, 0.5), 4)    # 4 GPUs: short half the time
    0.5
    """
    n, mu, z, c, g, rho = _pool_args(tenants, mean_utilization, percentile, cv,
                                     gpus_per_tenant, correlation)
    pool = pooled_gpus(tenants, mean_utilization, percentile, cv, gpus_per_tenant, correlation)
    return _out(_covered(pool / g, n * mu, _pooled_sd(n, mu, c, rho)))


def pooled_gpus_same_service(tenants, mean_utilization, percentile, cv=TENANT_CV,
                             gpus_per_tenant=1, correlation=0.0):
    """Whole GPUs for a shared pool that is short of capacity no more often than each tenant
    on its own deployments: :func:`pooled_gpus` at the percentile :func:`dedicated_coverage`
    gives (at most 1 - 1e-12). Whole deployments put each tenant's own fleet far above the
    percentile asked, so the pool sized for the percentile saves partly by a lower service
    level; at this size the saving is like for like. :func:`teams_pooled_gpus_same_service`
    for teams of different sizes. [GPUs]

    The pool's z is the tenant's own, ``(k - u) / (cv u)`` (at most :data:`SAME_SERVICE_Z`),
    taken directly: through the coverage and back it lost the last digits that keep one
    tenant's pool, or perfectly correlated tenants', at the dedicated count (a review).

    >>> pooled_gpus_same_service(10, 0.4, 0.95, 0.25, 1, 0.3)   # 6 at the percentile
    8.0
    """
    n, mu, z, c, g, rho = _pool_args(tenants, mean_utilization, percentile, cv,
                                     gpus_per_tenant, correlation)
    k = _own_deployments(mu, z, c)
    with np.errstate(divide="ignore", invalid="ignore"):
        own = np.where(c > 0, (k - mu) / np.where(c > 0, c * mu, 1.0), SAME_SERVICE_Z)
    # never below the percentile's own pool, also past the cap (a review: at a percentile of
    # 1 - 1e-14 the like-for-like pool was smaller than the percentile's)
    own = np.maximum(np.minimum(own, SAME_SERVICE_Z), z)
    return _out(g * np.maximum(1.0, _whole(_pooled_load(n, mu * g, own, c, rho) / g)))


# The most standard deviations a like-for-like pool is sized for: 1 - 1e-12 of the time, where
# a tenant's own deployments cover it all but never (its load does not vary, or hardly)
SAME_SERVICE_Z = _STD_NORMAL.inv_cdf(1.0 - 1e-12)


def pooling_savings_from_peaks(tenants, mean_utilization, percentile, cv=TENANT_CV,
                               gpus_per_tenant=1, correlation=0.0):
    """Part of POOLING_SAVINGS that comes from tenants' peaks not coinciding: each tenant's percentile load summed, less the percentile of their summed load, over DEDICATED_GPUS (before any rounding).
    [0-1]

    Args:
        tenants: *
        mean_utilization: *
        percentile: *
        cv: *
        gpus_per_tenant: *
        correlation: *

    ``(dedicated_capacity - pooled_capacity) / dedicated_gpus``: the fractional capacity the
    pool saves by covering the percentile of the sum instead of each tenant's own percentile.
    The rest of the saving is :func:`pooling_savings_from_rounding`. [0-1]

    >>> pooling_savings_from_peaks(10, 0.4, 0.95)
    0.1125
    """
    args = (tenants, mean_utilization, percentile, cv, gpus_per_tenant, correlation)
    return _out((dedicated_capacity(*args) - pooled_capacity(*args)) / dedicated_gpus(*args))


def pooling_savings_from_rounding(tenants, mean_utilization, percentile, cv=TENANT_CV,
                                  gpus_per_tenant=1, correlation=0.0):
    """Part of POOLING_SAVINGS that comes from whole deployments: dedicated rounding waste minus the pool's, over DEDICATED_GPUS (negative where the pool wastes more). Peaks plus rounding equal the saving.
    [share of dedicated GPUs]

    Args:
        tenants: *
        mean_utilization: *
        percentile: *
        cv: *
        gpus_per_tenant: *
        correlation: *

    ``((dedicated_gpus - dedicated_capacity) - (pooled_gpus - pooled_capacity)) /
    dedicated_gpus``: every tenant rounds its own load up to whole deployments, the pool rounds
    once. A net figure: negative where the pool's one rounding wastes more than the tenants'
    (two tenants whose peaks nearly fill their deployments), the peaks then saving that much
    more. [share of dedicated GPUs]

    >>> pooling_savings_from_rounding(10, 0.4, 0.95)
    0.3875
    """
    args = (tenants, mean_utilization, percentile, cv, gpus_per_tenant, correlation)
    ded = dedicated_gpus(*args)
    waste = (ded - dedicated_capacity(*args)) - (pooled_gpus(*args) - pooled_capacity(*args))
    return _out(waste / ded)


def users_at_percentile(concurrent_slots, duty_cycle, percentile=0.95):
    """Most users whose concurrent requests stay within the whole concurrent_slots at that percentile, each active duty_cycle of the time (normal approximation, as the pooling functions).
    [users]

    Args:
        concurrent_slots: requests a replica serves at once (KV slots, or the throughput a user rate allows), counted whole [requests]
        duty_cycle: *
        percentile: share of the time the slots must cover the active users, in [0.5, 1) [0-1]

    A replica runs whole requests, so the slots are ``S = floor(concurrent_slots)`` (168.97 from
    a user rate: 168 requests get it). N users have ``N d`` active on average with standard
    deviation ``sqrt(N d (1 - d))``; the largest whole N with ``N d + z sqrt(N d (1 - d)) <=
    S``, ``z = NORM.S.INV(percentile)``: ``floor(x^2)`` with ``x = (-z s + sqrt(z^2 s^2 + 4 d
    S)) / (2 d)``, ``s = sqrt(d (1 - d))``; never fewer than ``S``, as N users never hold more
    than N slots (a user audit: 8 slots at a 90 % duty cycle gave 6 users, where the normal
    curve's tail past N is no request at all). The slots left free on average are the headroom
    for peaks. [users]

    >>> users_at_percentile(60, 0.2, 0.95)
    248.0
    >>> users_at_percentile(8, 0.9, 0.99), users_at_percentile(4, 0.7, 0.95)
    (8.0, 4.0)
    """
    slots = np.floor(_checks.number(concurrent_slots, "concurrent_slots", 0))
    d = _checks.fraction(duty_cycle, "duty_cycle")
    q = _checks.number(percentile, "percentile", 0.5, 1, max_open=True)
    z = _z(q)
    s = np.sqrt(d * (1.0 - d))
    x = (-z * s + np.sqrt((z * s) ** 2 + 4.0 * d * slots)) / (2.0 * d)
    return _out(np.maximum(slots, np.floor(x * x * (1.0 + 1e-12))))


def replicas_for_users(users, concurrent_slots, duty_cycle, percentile=0.95):
    """Whole replicas whose concurrent slots hold the requests of users online at once, each active duty_cycle of the time, at that percentile, a load balancer spreading them over the replicas; at least 1.
    [replicas]

    Args:
        users: users online at once (at the busiest hour), a whole number [users]
        concurrent_slots: requests one replica serves at once (KV slots, or the throughput a user rate allows), at least 1 [requests]
        duty_cycle: *
        percentile: share of the time the slots must cover the active users, in [0.5, 1) [0-1]

    The users' requests in flight at that percentile, ``min(N, N d + z sqrt(N d (1 - d)))``
    (:func:`users_at_percentile`'s normal approximation, and never more than one request a
    user), over the whole slots of one replica (a replica runs whole requests: 168.97 slots
    from a user rate hold 168), rounded up: ``active / INT(concurrent_slots)`` to a whole
    number. The replicas are one pool, as :func:`pooled_gpus` has it: a request goes to any
    replica with a free slot, so 1,000 users need fewer slots than ten groups of 100 sized
    apart. Many users therefore cost less than users x :func:`cost_per_user_month` (10,000 at
    60 slots and 20 %: 35 replicas, 40.3 at the per-user rate), and a few more (whole
    replicas: 10 users take one). The inverse of :func:`users_at_percentile`:
    ``users_at_percentile(k x INT(slots), d, p)`` users take ``k`` replicas, one more user
    ``k + 1``. [replicas]

    >>> replicas_for_users(248, 60, 0.2, 0.95), replicas_for_users(249, 60, 0.2, 0.95)
    (1.0, 2.0)
    >>> replicas_for_users(10000, 60, 0.2, 0.95)
    35.0
    """
    n = _checks.number(users, "users", 0, integer=True)
    slots = np.floor(_checks.number(concurrent_slots, "concurrent_slots", 1))
    d = _checks.fraction(duty_cycle, "duty_cycle")
    z = _z(percentile)
    active = np.minimum(n, n * d + z * np.sqrt(n * d * (1.0 - d)))
    return _out(np.maximum(1.0, _whole(active / slots)))


def slot_headroom(users, duty_cycle, concurrent_slots):
    """Share of the concurrent slots left free on average, kept for peaks: 1 - users x duty_cycle / concurrent_slots; below 0 where the average load alone is more than the slots.
    [share of slots]

    Args:
        users: users served [users]
        duty_cycle: *
        concurrent_slots: requests a replica serves at once [requests]

    ``1 - users x duty_cycle / concurrent_slots``: at most 1, and below 0 where the users'
    average load alone exceeds the slots (-0.33: a third more requests in flight on average than
    the replica serves at once), so there is no headroom even on average. [share of slots]

    >>> slot_headroom(248, 0.2, 60)
    0.1733
    >>> slot_headroom(400, 0.2, 60)
    -0.3333
    """
    u = _checks.number(users, "users", 0)
    d = _checks.fraction(duty_cycle, "duty_cycle")
    slots = _checks.number(concurrent_slots, "concurrent_slots", 0, min_open=True)
    return _out(1.0 - u * d / slots)


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


def pooling_monte_carlo(tenants, mean_utilization, percentile, cv=TENANT_CV, gpus_per_tenant=1,
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
    ded = float(n * g * max(1.0, float(_whole(per_tenant / g))))
    pool = float(g * max(1.0, float(_whole(pooled / g))))
    return PoolingEstimate(float(n * per_tenant), pooled, se, ded, pool, 1.0 - pool / ded,
                           n * mean / pool, s)


def lora_sharing_savings(models, throughput_overhead=0.02, mean_utilization=0.4,
                         percentile=0.95, cv=TENANT_CV, correlation=0.0):
    """Share of cost saved by serving fine-tuned variants as LoRA adapters on one pool of base-model replicas (slowed by throughput_overhead) instead of a deployment each.
    [share of cost]

    Args:
        models: fine-tuned variants (adapters) of one base model [models]
        throughput_overhead: throughput lost to adapter switching and LoRA compute, in [0, 1) [0-1]
        mean_utilization: each variant's average load as a share of one replica, in (0, 1] [0-1]
        percentile: share of the time capacity must cover the load, in [0.5, 1) [0-1]
        cv: coefficient of variation of one variant's load, normal [ratio]
        correlation: correlation between the variants' loads, in [0, 1]; 0 = independent [0-1]

    Dedicated: each of ``models`` variants gets its own replicas, ``max(1, ceil(m (1 + z cv)))``
    each, ``m = mean_utilization``. Shared: one pool of base-model replicas slowed by
    ``throughput_overhead``, ``max(1, ceil((N m + z cv m sqrt(N (1 + (N - 1) rho))) / (1 -
    overhead)))``, as ``POOLED_GPUS`` sums correlated tenants. Savings = ``1 - shared /
    dedicated``. Counts are in replicas. [share of cost]

    Notes: adapter memory is not counted (about 0.1 GB each for rank 16 on a 70B model); it
    limits how many adapters stay resident, not the throughput. Replicas are whole, so the
    saving is a sawtooth in ``models``: it rises while the shared pool absorbs more variants and
    drops each time the pool needs one more replica (from 13 to 14 variants at 40 % load, for
    example). That is what a real deployment pays; read the trend across a range of ``models``.
    It is negative where the overhead alone tips the pool past a whole replica: one variant at
    a 70 % load needs 0.99 of a replica at its peak, 1.01 with the adapter's 2 %, so sharing
    costs twice as much (-100 %).

    >>> lora_sharing_savings(50, 0.02, 0.01)
    0.98
    """
    n, mu, z, c, _g, rho = _pool_args(models, mean_utilization, percentile, cv, 1, correlation,
                                      tenant_name="models")
    o = _checks.number(throughput_overhead, "throughput_overhead", 0, 1, max_open=True)
    dedicated = n * _own_deployments(mu, z, c)
    return _out(1.0 - _lora_shared(n, mu, z, c, rho, o) / dedicated)


def _lora_shared(n, mu, z, c, rho, o):
    """Whole base-model replicas one pool of ``n`` variants needs, slowed by overhead ``o``."""
    return np.maximum(1.0, _whole(_pooled_load(n, mu, z, c, rho) / (1.0 - o)))


def lora_shared_coverage(models, throughput_overhead=0.02, mean_utilization=0.4,
                         percentile=0.95, cv=TENANT_CV, correlation=0.0):
    """Share of the time the shared replicas of :func:`lora_sharing_savings` cover the variants'
    summed load: ``Phi((shared (1 - overhead) - N m) / (cv m sqrt(N (1 + (N - 1) rho))))``; 1
    where the load does not vary. Every variant is short when they are; each variant alone is
    covered as a tenant alone (:func:`dedicated_coverage`), so the saving is bought partly with
    service, as the pool's is (a CFO's read: 48 % saved at the defaults with the shared replicas
    short 2.5 % of the time). [0-1]

    >>> round(lora_shared_coverage(50, 0.02, 0.4, 0.95, 0.25, 0.3), 4)   # 26 replicas
    0.9748
    """
    n, mu, z, c, _g, rho = _pool_args(models, mean_utilization, percentile, cv, 1, correlation,
                                      tenant_name="models")
    o = _checks.number(throughput_overhead, "throughput_overhead", 0, 1, max_open=True)
    shared = _lora_shared(n, mu, z, c, rho, o)
    return _out(_covered(shared * (1.0 - o), n * mu, _pooled_sd(n, mu, c, rho)))


_args.fill(globals())  # the shared argument descriptions (xlnapkin._args)
