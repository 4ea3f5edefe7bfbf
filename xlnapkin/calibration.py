"""Default efficiencies: how far real engines get from the roofline, fitted on measurements.

Every speed function takes ``efficiency``:

* blank (``None``, NaN or 0): the calibrated defaults below: memory-bandwidth utilisation
  (MBU), model-FLOPs utilisation (MFU) for decode and prefill, fixed per-step and per-layer
  overheads, tensor-parallel all-reduce time and the engine's concurrency cap;
* a number ``e`` in (0, 1]: MBU = MFU = ``e``, no fixed overheads, no communication time.
  ``efficiency=1`` is the pure roofline the seed articles use.

The constants are fitted by ``python benchmarks/fit.py`` on ``shared/data/measured_dev.csv``;
``benchmarks/RESULTS.md`` records the fit and the resulting accuracy. They are global, with a
multiplier for vendors whose software stacks reach less of the datasheet, never per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _checks

__all__ = ["Efficiency", "DEFAULTS", "VENDOR_FACTOR", "resolve"]


@dataclass(frozen=True)
class Efficiency:
    """Efficiency constants; arrays when ``efficiency`` was a range."""

    mbu: object = 1.0                 # share of peak bandwidth achieved reading weights and KV
    mfu_decode: object = 1.0          # share of dense peak FLOP/s achieved in decode
    mfu_prefill: object = 1.0         # share of dense peak FLOP/s achieved in prefill
    step_overhead_s: object = 0.0     # fixed time per forward pass (launches, sampling) [s]
    layer_overhead_s: object = 0.0    # fixed time per layer per forward pass [s]
    allreduce_latency_s: object = 0.0 # latency of one tensor-parallel all-reduce [s]
    comm: object = 0.0                # 1 to count tensor-parallel communication, 0 to drop it
    max_concurrency: float = 512.0    # engine's cap on concurrent sequences under load


DEFAULTS = Efficiency(
    mbu=0.75,
    mfu_decode=0.5,
    mfu_prefill=0.6,
    step_overhead_s=3e-4,
    layer_overhead_s=0.0,
    allreduce_latency_s=8e-6,
    comm=1.0,
    max_concurrency=512.0,
)

# Multiplier on MBU and MFU by vendor (catalog ``vendor`` column, lower case); 1 if absent.
VENDOR_FACTOR: dict[str, float] = {}


def resolve(efficiency, vendor: str = "") -> Efficiency:
    """The :class:`Efficiency` for an ``efficiency`` argument (see module docstring)."""
    d = DEFAULTS
    f = VENDOR_FACTOR.get((vendor or "").lower(), 1.0)
    if efficiency is None:
        return Efficiency(min(d.mbu * f, 1.0), min(d.mfu_decode * f, 1.0),
                          min(d.mfu_prefill * f, 1.0), d.step_overhead_s, d.layer_overhead_s,
                          d.allreduce_latency_s, d.comm, d.max_concurrency)
    e = np.asarray(efficiency, dtype=float)
    calibrated = np.isnan(e) | (e == 0)
    e = np.where(calibrated, 1.0, e)
    _checks.fraction(e, "efficiency")
    if e.ndim == 0 and not calibrated:
        e = float(e)
        return Efficiency(e, e, e, 0.0, 0.0, 0.0, 0.0, d.max_concurrency)
    cal = resolve(None, vendor)

    def pick(a, b):
        return np.where(calibrated, a, b)

    return Efficiency(pick(cal.mbu, e), pick(cal.mfu_decode, e), pick(cal.mfu_prefill, e),
                      pick(cal.step_overhead_s, 0.0), pick(cal.layer_overhead_s, 0.0),
                      pick(cal.allreduce_latency_s, 0.0), pick(1.0, 0.0), d.max_concurrency)
