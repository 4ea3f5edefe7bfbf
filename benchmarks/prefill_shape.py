"""What the kernel probe's prefill shape does to the calibration (RESULTS.md section 10): a
prefill's compute time ``c`` and weight-read time ``w`` combined as a smooth maximum
``(c^p + w^p)^(1/p)``, which follows the H200 probe's kernels within about 8 % from 128 to
4,096 tokens at p = 1.5, in place of the committed ``max + prefill_serial x min`` (the sum).

Refits the constants from fit.py's neutral start with the shape in place (``prefill_serial``
pinned: the shape replaces it), prints the loss, the fitted constants, the in-sample table and
the open-loop figures. Nothing is written, and the module state it changes is put back; the
committed model is untouched. About 15-25 s on 2 cores::

    python benchmarks/prefill_shape.py          # p = 1.5
    python benchmarks/prefill_shape.py --p 2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import accuracy  # noqa: E402
import fit  # noqa: E402
from xlnapkin import calibration, roofline  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--p", type=float, default=1.5, help="the smooth maximum's exponent (1.5)")
    p = ap.parse_args(argv).p
    plain = roofline._smaller

    def shaped(c, w):
        """``prefill_serial x min(c, w)`` such that ``max + it`` is the smooth maximum (the
        prefill is the only caller that adds the smaller of two times)."""
        return (c ** p + w ** p) ** (1.0 / p) - roofline._larger(c, w)

    saved = (calibration.DEFAULTS, dict(calibration.VENDOR_FACTOR), dict(fit.PINNED))
    roofline._smaller = shaped
    fit.PINNED["prefill_serial"] = 1.0  # with serial 1: max + (smooth - max) = smooth
    try:
        fit.neutral_start()  # prefill_serial pinned at 1 above
        cases, _ = accuracy.build_cases(accuracy.load_rows(accuracy.DEFAULT_DATA))
        values, loss = fit.fit(cases)
        fit.report(cases, values, loss, f"p = {p:g}: ")
    finally:
        roofline._smaller = plain
        calibration.DEFAULTS = saved[0]
        calibration.VENDOR_FACTOR.clear()
        calibration.VENDOR_FACTOR.update(saved[1])
        fit.PINNED.clear()
        fit.PINNED.update(saved[2])


if __name__ == "__main__":
    main()
