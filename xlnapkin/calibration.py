"""Default efficiencies: how far real engines get from the roofline, fitted on measurements.

Every speed function takes ``efficiency``:

* blank (``None``, NaN or 0): the calibrated defaults below: memory-bandwidth utilisation
  (MBU), model-FLOPs utilisation (MFU) for decode and prefill, fixed per-step and per-layer
  overheads (more per layer for mixture-of-experts models), tensor-parallel all-reduce time and
  the engine's concurrency cap;
* a number ``e`` in (0, 1]: each constant takes its *roofline value*: utilisations become ``e``,
  fixed overheads and communication 0, and engine limits (the concurrency cap) stay.
  ``efficiency=1`` is the pure roofline the seed articles use.

Each constant is described once, in the metadata of its :class:`Efficiency` field
(:func:`constants`): its label and unit, its roofline value, and the bounds ``benchmarks/fit.py``
searches within. The resolver below, the fit and the templates' assumption rows are all read
from that metadata.

The values are fitted by ``python benchmarks/fit.py`` by minimising the mean
``|ln(predicted / measured)|`` over the published measurements the model can represent;
``benchmarks/RESULTS.md`` records the fit, the accuracy per metric class, the leave-one-source-
and leave-one-GPU-out checks and the worst rows. They are global constants, never per row, model
or GPU. ``VENDOR_FACTOR`` lowers MBU and MFU for one vendor's software stack where the
measurements support it (AMD's); a user sets any GPU's factor in a spec string.

>>> DEFAULTS.mbu, DEFAULTS.max_concurrency
(0.84, 256.0)
>>> resolve(1).layer_overhead_s, resolve(None).layer_overhead_s
(0.0, 6.8e-05)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from . import _checks
from .errors import InvalidArgumentError

__all__ = ["Efficiency", "Constant", "DEFAULTS", "VENDOR_FACTOR", "vendor_note", "constants",
           "is_calibrated", "resolve", "vendor_factor"]

# Roofline values: what a constant becomes when ``efficiency`` is a number e (a plain number is
# the value itself: 0 drops an overhead, 1 removes a penalty factor).
SCALES = "e"          # a utilisation: becomes e
DROPPED = 0.0         # an overhead or a communication switch: dropped
KEPT = "kept"         # an engine limit: keeps its calibrated value


@dataclass(frozen=True)
class Constant:
    """What one calibration constant is: read from the metadata of an :class:`Efficiency`
    field by :func:`constants`."""

    name: str
    label: str
    unit: str
    note: str
    roofline: object          # SCALES, DROPPED (0.0) or KEPT
    bounds: tuple | None      # (low, high) for benchmarks/fit.py; None: not fitted
    value: float              # the calibrated default


def _constant(default, label, unit, note, roofline, bounds=None):
    return field(default=default, metadata={"label": label, "unit": unit, "note": note,
                                            "roofline": roofline, "bounds": bounds})


@dataclass(frozen=True)
class Efficiency:
    """Efficiency constants; arrays when ``efficiency`` was a range. The defaults here are the
    pure roofline; :data:`DEFAULTS` holds the calibrated values."""

    mbu: object = _constant(
        1.0, "Memory-bandwidth utilisation (MBU)", "0-1",
        "share of peak bandwidth achieved reading weights and KV cache", SCALES, (0.3, 1.0))
    mfu_decode: object = _constant(
        1.0, "Compute utilisation in decode (MFU)", "0-1",
        "share of dense peak FLOP/s achieved in decode", SCALES, (0.1, 1.0))
    mfu_prefill: object = _constant(
        1.0, "Compute utilisation in prefill (MFU)", "0-1",
        "share of dense peak FLOP/s achieved in prefill", SCALES, (0.1, 1.0))
    step_overhead_s: object = _constant(
        0.0, "Fixed overhead per forward pass", "s",
        "kernel launches, sampling, scheduling", DROPPED, (1e-5, 5e-3))
    layer_overhead_s: object = _constant(
        0.0, "Fixed overhead per layer per forward pass", "s",
        "norms, activations and kernel launches in each layer", DROPPED,
        (1e-6, 3e-4))
    moe_layer_overhead_s: object = _constant(
        0.0, "Extra fixed overhead per layer with experts (MoE)", "s",
        "routing and token permutation", DROPPED, (1e-7, 5e-4))
    prefill_overhead_s: object = _constant(
        0.0, "Fixed time of one prefill (time to first token)", "s",
        "scheduling the request, sampling the first token", DROPPED, (1e-4, 5e-2))
    prefill_serial: object = _constant(
        0.0, "Prefill: compute and weight reads not overlapped", "0-1",
        "share of the shorter of the two added to the longer", DROPPED,
        (0.01, 1.0))
    moe_mfu_factor: object = _constant(
        1.0, "Expert matmuls' share of the dense MFU (MoE)", "0-1",
        "grouped GEMMs over many experts, each with a share of the tokens", 1.0, (0.1, 1.0))
    fp4_mfu_factor: object = _constant(
        1.0, "4-bit float matmuls' share of the MFU (nvfp4, mxfp4)", "0-1",
        "on a native FP4 path; block-scaled GEMMs reach less of their peak",
        1.0, (0.3, 1.0))
    gguf_mfu_factor: object = _constant(
        1.0, "GGUF matmuls' share of the MFU (q4_k_m etc.)", "0-1",
        "llama.cpp builds of 2024 dequantise the blocks first", 1.0, (0.3, 1.0))
    allreduce_latency_s: object = _constant(
        0.0, "All-reduce latency over NVLink or Infinity Fabric", "s",
        "one-shot all-reduces of small messages take 4-10 us", DROPPED, (3e-6, 3e-5))
    pcie_allreduce_latency_s: object = _constant(
        0.0, "All-reduce latency over PCIe or the network", "s",
        "no peer link, or past one NVLink domain; nccl-tests: 42-54 us",
        DROPPED, (5e-6, 2e-4))
    comm: object = _constant(
        0.0, "Count tensor-parallel communication? (1 = yes)", "0/1",
        "all-reduce time; 0 under a numeric efficiency", DROPPED)
    max_concurrency: float = _constant(
        256.0, "Engine cap on concurrent requests per GPU", "requests",
        "a GPU's own max_concurrency replaces it", KEPT, (64.0, 16384.0))
    gguf_max_concurrency: float = _constant(
        4.0, "Engine cap per replica, GGUF (llama.cpp)", "requests",
        "llama-server's -np slots; a GPU's own max_concurrency replaces it", KEPT)
    scheduler_steps: float = _constant(
        1.0, "Decode steps per scheduling decision", "steps",
        "prompts join at each decision; a GPU's scheduler_steps replaces it", KEPT)


# Fitted by `python benchmarks/fit.py` on benchmarks/data (the development set: 294 rows the
# model represents) by minimising the mean |ln(predicted / measured)|, classes weighted by the
# square root of their size (see benchmarks/RESULTS.md for the run, the accuracy, the
# leave-one-out checks and the worst rows); values rounded from its output. The rest are pinned
# to measured or documented values, not fitted: step_overhead_s (BLIS's ~0.1 ms per step; the data
# cannot tell it from the per-layer term), allreduce_latency_s (one-shot NVLink all-reduces of
# small messages take 4-10 us; fitted freely it absorbs the slow all-reduces of 2023 engines and
# makes 2 GPUs decode slower than 1), pcie_allreduce_latency_s (nccl-tests' 8-byte all-reduce over
# PCIe without peer links: 42 us on 8 RTX 4090s, NVIDIA/nccl issue 1530; 54 us on 8 RTX 3090s,
# issue 1439. Fitted, it came out at 39-58 us on all rows, but one source holds most of the rows
# with PCIe-only tensor parallelism, and held out it leaves the constant free to drift),
# max_concurrency (256 sequences per GPU: vLLM's default
# max_num_seqs in V0, and in V1 on GPUs under 70 GiB and on A100s; V1 runs 1,024 on larger
# GPUs (EngineArgs.get_batch_defaults), TensorRT-LLM more. The loss is flat from 256 to 512, a
# free cap moves with whichever source is held out, and V1's rule as the default holds out
# worse: benchmarks/RESULTS.md section 7. A GPU's own max_concurrency, in a spec string or a
# catalog row, replaces it: "h100-sxm; max_concurrency=1024"), gguf_max_concurrency (4
# requests per replica: the GGUF formats are llama.cpp's, and its server runs 4 slots unless
# told otherwise since it gained a unified KV cache, pull request 16736 of 2025-10-23: "By
# default, start the server using 4 slots"; pull request 17997 documents "-np, --parallel N
# number of server slots (default: -1, -1 = auto)", and auto starts the 4 slots of pull request
# 16736. No row of the development set measures llama.cpp above batch 1, so none moves; a
# GPU's own max_concurrency replaces it, for the whole replica as -np is (one server process
# whatever its GPUs): "rtx-4090; max_concurrency=16" for llama-server -np 16),
# scheduler_steps (1: vLLM, SGLang and TensorRT-LLM decide what runs before every step by
# default; vLLM's V0 engine (0.6 to 0.10) with --num-scheduler-steps n and SGLang with
# --num-continuous-decode-steps n run n decode steps per decision, and a prompt that arrives
# meanwhile waits for the window to end: vLLM's RFC, issue 6854, "new prefill requests will only
# start at every 8 steps". A GPU's own scheduler_steps replaces it: "mi300x; scheduler_steps=8";
# benchmarks/RESULTS.md section 7) and gguf_mfu_factor (below).
# fp4_mfu_factor is fitted and agrees with kernel measurements: vLLM's B200 GEMM benchmark
# (pull request 20646, Llama-3.1-8B shapes at batch 8,192-16,384) reaches 0.34 of the FP4
# datasheet peak with NVFP4 (0.42-0.43 without the activation quantisation) where BF16 reaches
# 0.60-0.63 of its own: a ratio of 0.53-0.72 at the same shape and batch. gguf_mfu_factor is
# pinned to four pairs in the llama.cpp tables of the development set (its pull request 4766
# and a community llama-bench table): GGUF prefill at 0.72, 0.75, 0.76 and 0.81 of the f16
# prefill of the same build on the same machine (RTX 4090 twice, H100 PCIe, M2 Ultra), mean
# 0.76. The factor scales the matmuls only (not the fixed and per-layer times), so 0.71 is the
# value at which the model's own GGUF / f16 ratios for those pairs average 0.76 (a test checks
# it). Those builds (January-May 2024) dequantise the blocks to 16 bits for cuBLAS's GEMM, so
# their prefill also reads 16-bit weights (roofline._prefill); llama.cpp's int8 MMQ kernels
# (from June 2024) may need less or none, and the data hold no pair for them. prefill_serial
# (2026-12-04) adds the shorter of a prefill's compute and weight-read times to the longer:
# fitted from 0.5 it goes to its bound of 1, with the loss from 0.2312 to 0.2258, and takes
# the per-prefill fixed time from 12 ms to 2.4 ms (the 12 ms had stood in for the reads of
# short prompts; 4.5 ms since the refit on 294 rows of 2026-12-05, 4.6 ms since the refit
# after the steps with prompts paid a pass's fixed time, item 31; benchmarks/RESULTS.md
# sections 2 and 7). AWQ and GPTQ int4 take no factor: vLLM runs them on mixed-input kernels
# (Machete on Hopper, which Neural Magic reports matching FP16 once compute-bound), and the data
# hold no int4 / 16-bit pair either. Kernels timed on one H200 (benchmarks/RESULTS.md section 10;
# fitted to nothing) agree with mbu (0.87 of the datasheet read), mfu_prefill (0.59-0.63 from 1k to
# 8k tokens) and the per-layer time (small GEMMs' shortfall: 40-45 us per layer beyond reads at
# mbu, batch 1-16, CUDA graphs, and 50-68 us beyond weight and KV reads at the measured rate, batch
# 1-16, on 1 GPU or split over 8, so it does not divide by the GPUs of a tensor-parallel replica);
# routed experts reach 0.7-1.0 of a dense GEMM at 8k tokens, so moe_mfu_factor is the measured
# stacks' MoE path (routing, permutation, their grouped GEMMs), not a limit of the chip.
DEFAULTS = Efficiency(
    mbu=0.84,                      # fit 0.8426; KV-read slopes alone give 0.85-0.9
    mfu_decode=0.41,               # fit 0.4069 (large-batch decode: attention, small GEMMs)
    mfu_prefill=0.62,              # fit 0.615
    step_overhead_s=1e-4,          # pinned (anchors-calculators.md section 8)
    layer_overhead_s=6.8e-5,       # fit 68 us per layer per forward pass
    moe_layer_overhead_s=4.6e-5,   # fit 46 us more per layer with routed experts
    prefill_overhead_s=4.6e-3,     # fit 4.6 ms per prefill (request scheduling, first sample)
    prefill_serial=1.0,            # fit at its bound: a prefill's compute and reads add up
    moe_mfu_factor=0.32,           # fit 0.319: routed experts' grouped GEMMs vs dense MFU
    fp4_mfu_factor=0.67,           # fit 0.669; vLLM's B200 GEMM benchmark gives 0.53-0.72
    gguf_mfu_factor=0.71,          # pinned: reproduces the GGUF / f16 prefill pairs (0.76)
    allreduce_latency_s=5e-6,      # pinned: one-shot NVLink all-reduce, 4-10 us measured
    pcie_allreduce_latency_s=4.2e-5,  # pinned: nccl-tests over PCIe, 42-54 us measured
    comm=1.0,
    max_concurrency=256.0,         # pinned: vLLM's max_num_seqs under 70 GiB (flat 256-512)
    gguf_max_concurrency=4.0,      # pinned: llama-server's default slots (-np auto = 4)
    scheduler_steps=1.0,           # engines schedule every step unless told otherwise
)

# Multiplier on MBU and MFU by vendor (catalog ``vendor`` column, lower case); 1 if absent. A
# GPU's own ``efficiency_factor`` (a catalog column, or a spec string override) comes first.
# Fitted, bounded to <= 1 (a stack that reaches less of the datasheet), only for vendors with
# rows in the development set: AMD's 19 (vLLM on ROCm, MI300X: max load, fixed concurrency,
# batch 1) reach 0.55 of what NVIDIA's reach on the same model, consistent with the measured
# matmul ceilings (MI300X reaches 51 % of its datasheet BF16 peak in Stas Bekman's MAMF table,
# H100 80 %). Intel (Gaudi 3, Arc) and Apple (M1 Max, M2 Ultra) rows need no factor: both fit
# at the bound of 1.
VENDOR_FACTOR: dict[str, float] = {"amd": 0.55}
# What each factor was fitted on, and what has been measured since (benchmarks/RESULTS.md)
VENDOR_BASIS = {"amd": "fitted on vLLM 0.6-0.7 under ROCm; newer and tuned ROCm stacks measured "
                       "faster, benchmarks/RESULTS.md section 11"}


def constants(defaults: Efficiency | None = None) -> list[Constant]:
    """Every calibration constant with its description and calibrated value, in field order."""
    d = DEFAULTS if defaults is None else defaults
    return [Constant(f.name, f.metadata["label"], f.metadata["unit"], f.metadata["note"],
                     f.metadata["roofline"], f.metadata["bounds"], float(getattr(d, f.name)))
            for f in dataclasses.fields(Efficiency)]


def vendor_factor(gpu="") -> float:
    """The factor on a GPU's utilisations: its own ``efficiency_factor`` (a catalog column a user
    can set in a spec string, ``"mi300x; efficiency_factor=1"``), else :data:`VENDOR_FACTOR` of
    its vendor, else 1. ``gpu`` is a catalog GPU or a vendor name."""
    own = getattr(gpu, "efficiency_factor", None)
    if own is not None:
        return float(own)
    vendor = getattr(gpu, "vendor", gpu)
    return VENDOR_FACTOR.get((vendor or "").lower(), 1.0)


def vendor_note(gpu) -> str:
    """Where ``gpu`` (a catalog GPU) takes its vendor's :data:`VENDOR_FACTOR`, what that is and
    how to give your stack's instead (a platform engineer's review: the factor decided a GPU
    ranking and no answer said so); '' where the factor is 1 or the GPU's own."""
    vendor = (getattr(gpu, "vendor", "") or "").lower()
    f = VENDOR_FACTOR.get(vendor, 1.0)
    if getattr(gpu, "efficiency_factor", None) is not None or f == 1.0:
        return ""
    base = gpu.id.split(";")[0].strip()  # a spec string's GPU (a review: "...=2.1's speeds")
    base = "this GPU" if "=" in base else base  # one with no catalog id
    return (f"{base}'s speeds take {vendor.upper()}'s factor {f:g} on the calibrated "
            f"utilisations ({VENDOR_BASIS.get(vendor, 'fitted on its rows')}): for your stack's, "
            f'give the GPU as "{gpu.id}; efficiency_factor=F" (1: as NVIDIA\'s)')


def _calibrated(gpu) -> Efficiency:
    """The calibrated constants on ``gpu``: utilisations times its :func:`vendor_factor`, and its
    own ``max_concurrency`` (a catalog column a user can set in a spec string, ``"h100-sxm;
    max_concurrency=1024"``: the engine's batch limit per GPU of a replica, as the default is;
    for GGUF weights llama-server's slots for the whole replica, see ``serving.engine_cap``),
    ``prefill_overhead_ms`` (likewise, ``"h100-sxm; prefill_overhead_ms=3"``: the serving
    stack's fixed time per request, in ms) and ``scheduler_steps`` (``"mi300x;
    scheduler_steps=8"``: decode steps per scheduling decision) in place of the defaults."""
    f = vendor_factor(gpu)
    cap = getattr(gpu, "max_concurrency", None)
    fixed = getattr(gpu, "prefill_overhead_ms", None)
    window = getattr(gpu, "scheduler_steps", None)
    if f == 1.0 and cap is None and fixed is None and window is None:
        return DEFAULTS
    changes = {c.name: min(c.value * f, 1.0) for c in constants() if c.roofline == SCALES}
    if cap is not None:
        changes["max_concurrency"] = float(cap)
    if fixed is not None:
        changes["prefill_overhead_s"] = float(fixed) / 1e3
    if window is not None:
        changes["scheduler_steps"] = float(window)
    return dataclasses.replace(DEFAULTS, **changes)


def is_calibrated(value) -> bool:
    """True where one ``efficiency`` value, as a cell gives it, asks for the calibrated
    constants: blank (None, or an empty text, which is a blank cell), 0, or NaN (an empty cell),
    as :func:`resolve` reads each of its values."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    try:
        x = float(value)
    except (TypeError, ValueError):
        return False
    return x != x or x == 0.0


def resolve(efficiency, gpu="") -> Efficiency:
    """The :class:`Efficiency` for an ``efficiency`` argument (see module docstring) on ``gpu``
    (a catalog GPU or a vendor name: it sets the :func:`vendor_factor`)."""
    if efficiency is None or (type(efficiency) is float and is_calibrated(efficiency)):
        return _calibrated(gpu)  # blank (None, or NaN from an empty cell) or 0
    try:
        e = np.asarray(efficiency, dtype=float)
    except (TypeError, ValueError):
        raise InvalidArgumentError("efficiency", "a number in (0, 1]", efficiency) from None
    calibrated = np.isnan(e) | (e == 0)
    if e.ndim == 0 and bool(calibrated):
        return _calibrated(gpu)
    e = np.where(calibrated, 1.0, e)
    _checks.fraction(e, "efficiency")
    cal = _calibrated(gpu)
    values = {}
    for c in constants(cal):
        roof = c.value if c.roofline == KEPT else (e if c.roofline == SCALES else c.roofline)
        values[c.name] = roof if e.ndim == 0 else np.where(calibrated, c.value, roof)
    if e.ndim == 0:
        values = {k: float(v) for k, v in values.items()}
    return Efficiency(**values)
