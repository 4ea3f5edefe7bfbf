"""Default efficiencies: how far real engines get from the roofline, fitted on measurements.

Every speed function takes ``efficiency``:

* blank (``None``, NaN or 0): the calibrated defaults below: memory-bandwidth utilisation
  (MBU), model-FLOPs utilisation (MFU) for decode and prefill, fixed per-step and per-layer
  overheads (more per layer for mixture-of-experts models), tensor-parallel all-reduce time and
  the engine's concurrency cap;
* a number ``e`` in (0, 1]: MBU = MFU = ``e``, no fixed overheads, no communication time.
  ``efficiency=1`` is the pure roofline the seed articles use.

The constants are fitted by ``python benchmarks/fit.py`` on ``shared/data/measured_dev.csv``
(171 published measurements the model can represent: vendor tables, MLPerf, engine blogs and a
community llama.cpp table) by minimising the mean ``|ln(predicted / measured)|``;
``benchmarks/RESULTS.md`` records the fit, the accuracy per metric class, the leave-one-source-
and leave-one-GPU-out checks and the worst rows. They are global constants, never per row, model
or GPU. ``VENDOR_FACTOR`` could lower MBU and MFU for one vendor's software stack; the fit found
no vendor that needs it, so it is empty.

>>> DEFAULTS.mbu, DEFAULTS.max_concurrency
(0.84, 256.0)
>>> resolve(1).layer_overhead_s, resolve(None).layer_overhead_s
(0.0, 4.5e-05)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from . import _checks
from .errors import InvalidArgumentError

__all__ = ["Efficiency", "DEFAULTS", "VENDOR_FACTOR", "resolve"]


@dataclass(frozen=True)
class Efficiency:
    """Efficiency constants; arrays when ``efficiency`` was a range."""

    mbu: object = 1.0                 # share of peak bandwidth achieved reading weights and KV
    mfu_decode: object = 1.0          # share of dense peak FLOP/s achieved in decode
    mfu_prefill: object = 1.0         # share of dense peak FLOP/s achieved in prefill
    step_overhead_s: object = 0.0     # fixed time per forward pass (launches, sampling) [s]
    layer_overhead_s: object = 0.0    # fixed time per layer per forward pass [s]
    moe_layer_overhead_s: object = 0.0  # extra fixed time per layer of an MoE model [s]
    allreduce_latency_s: object = 0.0 # latency of one tensor-parallel all-reduce [s]
    comm: object = 0.0                # 1 to count tensor-parallel communication, 0 to drop it
    max_concurrency: float = 256.0    # engine's cap on concurrent sequences per GPU under load


# Fitted by `python benchmarks/fit.py` (see benchmarks/RESULTS.md for the run, the accuracy and
# the leave-one-out checks); values rounded from its output. step_overhead_s is pinned, not
# fitted: the data cannot tell it from the per-layer term, so it takes BLIS's ~0.1 ms.
DEFAULTS = Efficiency(
    mbu=0.84,                      # fit 0.8355; KV-read slopes alone give 0.85-0.9
    mfu_decode=0.44,               # fit 0.4419
    mfu_prefill=0.47,              # fit 0.4674
    step_overhead_s=1e-4,          # pinned (anchors-calculators.md section 8)
    layer_overhead_s=4.5e-5,       # fit 45.5 us per layer
    moe_layer_overhead_s=1.1e-4,   # fit 111 us more per layer of an MoE model
    allreduce_latency_s=5.6e-5,    # fit 56 us per all-reduce
    comm=1.0,
    max_concurrency=256.0,         # fit 256 per GPU (flat between ~256 and ~384)
)

# Multiplier on MBU and MFU by vendor (catalog ``vendor`` column, lower case); 1 if absent.
# Bounded to <= 1 in the fit (a stack that reaches less of the datasheet); none is needed.
VENDOR_FACTOR: dict[str, float] = {}


def resolve(efficiency, vendor: str = "") -> Efficiency:
    """The :class:`Efficiency` for an ``efficiency`` argument (see module docstring)."""
    d = DEFAULTS
    f = VENDOR_FACTOR.get((vendor or "").lower(), 1.0)
    if efficiency is None:
        if f == 1.0:
            return d
        return dataclasses.replace(d, mbu=min(d.mbu * f, 1.0),
                                   mfu_decode=min(d.mfu_decode * f, 1.0),
                                   mfu_prefill=min(d.mfu_prefill * f, 1.0))
    try:
        e = np.asarray(efficiency, dtype=float)
    except (TypeError, ValueError):
        raise InvalidArgumentError("efficiency", "a number in (0, 1]", efficiency) from None
    calibrated = np.isnan(e) | (e == 0)
    if e.ndim == 0 and bool(calibrated):
        return resolve(None, vendor)
    e = np.where(calibrated, 1.0, e)
    _checks.fraction(e, "efficiency")
    if e.ndim == 0:
        e = float(e)
        return Efficiency(mbu=e, mfu_decode=e, mfu_prefill=e, max_concurrency=d.max_concurrency)
    cal = resolve(None, vendor)

    def pick(a, b):
        return np.where(calibrated, a, b)

    return Efficiency(mbu=pick(cal.mbu, e), mfu_decode=pick(cal.mfu_decode, e),
                      mfu_prefill=pick(cal.mfu_prefill, e),
                      step_overhead_s=pick(cal.step_overhead_s, 0.0),
                      layer_overhead_s=pick(cal.layer_overhead_s, 0.0),
                      moe_layer_overhead_s=pick(cal.moe_layer_overhead_s, 0.0),
                      allreduce_latency_s=pick(cal.allreduce_latency_s, 0.0),
                      comm=pick(1.0, 0.0), max_concurrency=d.max_concurrency)
