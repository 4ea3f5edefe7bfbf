"""Fit the global efficiency constants of ``xlnapkin.calibration`` on the measured set.

    python benchmarks/fit.py             # fit, print the constants, the accuracy, leave-one-out
    python benchmarks/fit.py --no-loo    # skip the leave-one-source/-GPU-out refits

What is fitted: the handful of global constants in ``calibration.DEFAULTS`` (MBU, MFU for decode
and prefill, per-step and per-layer overheads, the all-reduce latency, the engine's concurrency
cap) and a multiplier per GPU vendor in ``VENDOR_FACTOR`` where the set has rows for that
vendor. Never a constant per row, model or GPU.

How: minimise the mean absolute log error ``|ln(predicted / measured)|`` over every row that
``accuracy.py`` scores (an L1 loss in log space: a median-like fit that one wild row cannot drag)
by coordinate search: each constant in turn is multiplied by a ladder of factors inside its
physical bounds and the best value is kept; the ladder shrinks when a sweep finds nothing
better. NumPy only, no randomness: the same data gives the same constants.

Guard against over-fitting: the constants are refitted with each source (publication) left out
and, separately, each GPU left out, and the held-out rows are scored with the constants fitted
without them. Their median absolute % error is the honest estimate for GPUs, models and sources
the fit has not seen.

The printed constants are copied by hand into ``xlnapkin/calibration.py`` (with a comment
pointing here and to ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

import accuracy  # noqa: E402
from xlnapkin import calibration  # noqa: E402

# name -> (lower bound, upper bound): from each constant's metadata in xlnapkin/calibration.py.
BOUNDS = {c.name: c.bounds for c in calibration.constants() if c.bounds}
VENDOR_BOUNDS = (0.3, 1.0)  # a vendor factor may only lower efficiency
# Constants the data cannot identify are pinned to a measured or documented value instead; the
# values and why each is pinned are written once, beside DEFAULTS in xlnapkin/calibration.py.
PINNED = {name: getattr(calibration.DEFAULTS, name)
          for name in ("step_overhead_s", "allreduce_latency_s", "pcie_allreduce_latency_s",
                       "max_concurrency", "gguf_max_concurrency", "gguf_mfu_factor")}
MIN_VENDOR_ROWS = 4          # a vendor needs this many scored rows to get its own factor
LADDER = (0.5, 0.7, 0.85, 0.93, 0.98)
PENALTY = 3.0                # |log error| charged for a row with no finite prediction


def loss(cases, rows=None) -> float:
    """Mean |ln(pred/measured)| over ``cases`` (all of them, or the indices in ``rows``), each
    metric class weighted by the square root of its size: a class of 20 rows counts half as
    much as one of 80 (not a quarter), so the fit serves every regime rather than the most
    published one, while a class of two rows cannot pull the global constants alone."""
    accuracy.evaluate(cases, {"calibrated": None})
    by_class = {}
    for i, c in enumerate(cases):
        if rows is not None and i not in rows:
            continue
        p = c.pred["calibrated"]
        err = accuracy.log_error(p, c.measured) if np.isfinite(p) and p > 0 else PENALTY
        by_class.setdefault(c.cls, []).append(err)
    if not by_class:
        return 0.0
    weights = {k: math.sqrt(len(v)) for k, v in by_class.items()}
    return float(sum(weights[k] * np.mean(v) for k, v in by_class.items())
                 / sum(weights.values()))


def _get(name):
    if name.startswith("vendor:"):
        return calibration.VENDOR_FACTOR.get(name[7:], 1.0)
    return float(getattr(calibration.DEFAULTS, name))


def _set(name, value):
    if name.startswith("vendor:"):
        calibration.VENDOR_FACTOR[name[7:]] = value
    else:
        calibration.DEFAULTS = dataclasses.replace(calibration.DEFAULTS, **{name: value})


def _bounds(name):
    return VENDOR_BOUNDS if name.startswith("vendor:") else BOUNDS[name]


def vendors(cases):
    """Vendors (lower case) with enough scored rows to carry their own factor, NVIDIA excluded:
    its GPUs set the global constants."""
    from xlnapkin import catalog
    count = {}
    for c in cases:
        v = catalog.gpu(c.gpu).vendor.lower()
        count[v] = count.get(v, 0) + 1
    return sorted(v for v, n in count.items() if n >= MIN_VENDOR_ROWS and v != "nvidia")


def fit(cases, rows=None, names=None, sweeps=20, verbose=False, polish=True):
    """Coordinate search; leaves the fitted values in ``calibration`` and returns them."""
    names = names or ([n for n in BOUNDS if n not in PINNED]
                      + [f"vendor:{v}" for v in vendors(cases)])
    for n in names:
        if n.startswith("vendor:"):
            _set(n, _get(n))
    best = loss(cases, rows)
    ladder = list(LADDER)
    for sweep in range(sweeps):
        improved = False
        start = best
        for name in names:
            lo, hi = _bounds(name)
            x0 = _get(name)
            tries = sorted({min(max(x0 * f, lo), hi) for k in ladder for f in (k, 1 / k)})
            for x in tries:
                if x == x0:
                    continue
                _set(name, x)
                val = loss(cases, rows)
                if val < best - 1e-9:
                    best, x0 = val, x
                else:
                    _set(name, x0)
            _set(name, x0)
        improved = best < start - 1e-4  # a sweep that gains less than this has converged
        if verbose:
            print(f"  sweep {sweep + 1}: mean |log error| {best:.4f}", file=sys.stderr)
        if not improved:
            if ladder[-1] > 0.999:
                break
            ladder = [math.sqrt(k) for k in ladder]  # finer steps
    if polish:
        best = _polish(cases, rows, names, best)
    return {n: _get(n) for n in names}, best


def _polish(cases, rows, names, best, rounds=3, points=41, span=1.6):
    """Dense 1-D scans (``points`` values from x/span to x*span) around the coordinate-search
    optimum: the loss is flat along some constants and the ladder's path decides where in a
    flat valley it stops; the scan finds the lowest point there."""
    for _ in range(rounds):
        moved = False
        for name in names:
            lo, hi = _bounds(name)
            x0 = _get(name)
            for x in np.geomspace(max(x0 / span, lo), min(x0 * span, hi), points):
                _set(name, float(x))
                val = loss(cases, rows)
                if val < best - 1e-9:
                    best, x0, moved = val, float(x), True
            _set(name, x0)
        if not moved:
            break
    return best


def _restore(state):
    calibration.DEFAULTS, factors = state
    calibration.VENDOR_FACTOR.clear()
    calibration.VENDOR_FACTOR.update(factors)


_LOO = {}  # the cases and the start of the held-out refits, for the worker processes (fork)


def _held_out_group(idx):
    """Predictions for the rows ``idx`` by constants fitted without them: from the neutral
    start with the full search, as the published constants were (``start`` "neutral"), or, as
    before 2026-12-06, four sweeps from the constants fitted on every row (``start`` "fitted":
    the held-out rows then shape their own start; a benchmark audit found it 0.5-1.9 points
    kinder per source)."""
    cases = _LOO["cases"]
    train = set(range(len(cases))) - set(idx)
    if _LOO["start"] == "neutral":
        neutral_start()
        fit(cases, rows=train)
    else:
        _restore(_LOO["fitted"])
        fit(cases, rows=train, sweeps=4, polish=False)
    accuracy.evaluate(cases, {"calibrated": None})
    return [cases[i].pred["calibrated"] for i in idx]


def held_out(cases, key, fitted, how="neutral", jobs=1):
    """Refit without each group of ``key(case)`` and predict that group with those constants
    (``how``: where each refit starts, see :func:`_held_out_group`; ``jobs`` processes).

    Each case gets ``pred["held_out"]``: its prediction by constants fitted without its group.
    Returns (median abs % error of all held-out rows, per-group (rows, median))."""
    import multiprocessing
    groups = {}
    for i, c in enumerate(cases):
        groups.setdefault(key(c), []).append(i)
    order = sorted(groups.items())
    _LOO.update(cases=cases, start=how, fitted=fitted)
    if jobs > 1 and "fork" in multiprocessing.get_all_start_methods():  # workers read _LOO
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            preds = pool.map(_held_out_group, [idx for _g, idx in order])
    else:
        preds = [_held_out_group(idx) for _g, idx in order]
    errs, per = [], {}
    for (g, idx), got in zip(order, preds):
        for i, p in zip(idx, got):
            cases[i].pred["held_out"] = p
        e = [accuracy.abs_pct_error(p, cases[i].measured) for i, p in zip(idx, got)]
        e = [x if np.isfinite(x) else float("inf") for x in e]
        errs += e
        per[g] = (len(idx), float(np.median(e)))
    _restore(fitted)
    return float(np.median(errs)), per


def held_out_table(cases) -> str:
    """Per-class median and p90 abs % error of the held-out predictions, next to the pure
    roofline's."""
    held, roof = accuracy.summarise(cases, "held_out"), accuracy.summarise(cases, "roofline")
    lines = ["| class | n | held-out median | held-out p90 | roofline median |",
             "|---|---:|---:|---:|---:|"]
    for k in list(accuracy.CLASSES) + ["overall"]:
        if k in held:
            n, med, p90 = held[k]
            name = f"{k}: {accuracy.CLASSES[k]}" if k in accuracy.CLASSES else "**overall**"
            lines.append(f"| {name} | {n} | {med:.1f} % | {p90:.1f} % | {roof[k][1]:.1f} % |")
    return "\n".join(lines)


# A neutral, literature-style start (anchors-calculators §8) for the fitted constants.
NEUTRAL = dict(mbu=0.75, mfu_decode=0.5, mfu_prefill=0.5, layer_overhead_s=3e-5,
               moe_layer_overhead_s=3e-5, prefill_overhead_s=5e-3, prefill_serial=0.5,
               moe_mfu_factor=0.7, fp4_mfu_factor=1.0)


def neutral_start(**changes):
    """Set the calibration to the neutral start (``changes`` on top), the pinned constants at
    their values, and no vendor factors."""
    calibration.DEFAULTS = dataclasses.replace(calibration.DEFAULTS,
                                               **{**NEUTRAL, **changes, **PINNED})
    calibration.VENDOR_FACTOR.clear()


def report(cases, values, best, label="") -> None:
    """Print a refit's loss and constants, the in-sample table and the open-loop figures with
    the fitted constants (for the scripts that try an alternative model or default)."""
    import contextlib
    import io
    import openloop
    print(f"{label}loss {best:.4f}", {k: round(v, 6) for k, v in values.items()})
    accuracy.evaluate(cases)
    print(accuracy.table(cases))
    with contextlib.redirect_stdout(io.StringIO()):
        summary = openloop.main([], quiet=True)
    for k, (n, median) in summary.items():
        print(f"open loop, {k}: {median:.1f} % over {n} rows")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", action="append", metavar="CSV", help="measured CSV, repeatable [the development set]")
    ap.add_argument("--no-loo", action="store_true", help="skip the leave-one-out refits")
    ap.add_argument("--from-defaults", action="store_true",
                    help="start from calibration.py's current values (default: a neutral start)")
    ap.add_argument("--loo-start", choices=("neutral", "fitted"), default="neutral",
                    help="where each held-out refit starts: the neutral start with the full "
                         "search (default), or the constants fitted on every row, 4 sweeps")
    ap.add_argument("--jobs", type=int, default=2, help="processes for the held-out refits")
    args = ap.parse_args(argv)
    args.data = args.data or accuracy.DEFAULT_DATA
    rows = accuracy.load_rows(args.data)
    cases, _ = accuracy.build_cases(rows)
    if not args.from_defaults:
        neutral_start()
    print(f"fitting on {len(cases)} rows of {args.data}", file=sys.stderr)
    values, best = fit(cases, verbose=True)
    fitted = (calibration.DEFAULTS, dict(calibration.VENDOR_FACTOR))
    print("\nfitted constants (mean |ln(pred/measured)| = %.4f):\n" % best)
    for n, v in values.items():
        print(f"  {n:22s} {v:.4g}")
    for n, v in PINNED.items():
        print(f"  {n:22s} {v:.4g}  (pinned)")
    accuracy.evaluate(cases)
    print()
    print(accuracy.table(cases))
    if not args.no_loo:
        print("\nleave-one-out (refit without the group, score the group):\n")
        for label, key in (("source", lambda c: c.source), ("GPU", lambda c: c.gpu)):
            med, per = held_out(cases, key, fitted, args.loo_start, args.jobs)
            print(f"leave-one-{label}-out: median abs error of held-out rows {med:.1f} %\n")
            print(held_out_table(cases) + "\n")
            for g, (n, m) in per.items():
                print(f"    {g:60s} n={n:3d}  median {m:6.1f} %")
            print()
        _restore(fitted)
    return values


if __name__ == "__main__":
    main()
