"""Serving: decode speed, latency and throughput of one model replica, with memory checks.

A replica is ``num_gpus`` GPUs holding one copy of the model with tensor parallelism (GGUF: split
by layers, :func:`xlnapkin.roofline.parallel_gpus`). Speeds are
for the whole replica. Where the weights plus the KV cache do not fit in the replica's memory,
these functions return NaN for that element; :func:`xlnapkin.memory.why_not` says why (the
Excel functions show that message in the cell).

Under load (:func:`max_throughput`) an endless queue of requests (``input_tokens`` in,
``output_tokens`` out) is served with continuous batching at the largest concurrency that fits in
``mem_fraction`` of memory, capped at the engine's concurrency limit (:func:`engine_cap`:
``max_concurrency`` per GPU of the replica, as engines size their batch to the GPUs they run
on; for GGUF weights llama.cpp's server slots, ``gguf_max_concurrency``). Each decode step carries
every running sequence (mean context ``input + output/2``) and, on average, the prefill compute of
the requests that replace finished ones: ``concurrency / output_tokens`` prompts per step. A step
that carries prompt tokens also pays a forward pass's fixed time once more (:func:`loaded_step`).

>>> round(tokens_per_sec("h100-sxm", "llama-2-7b", 1, 0, "fp16", efficiency=1/1.2))
207
"""

from __future__ import annotations

import numpy as np

from . import _args, _checks
from .calibration import resolve
from .catalog import gpu as _gpu, model as _model
from .errors import format_limit
from .memory import MEM_FRACTION, can_run, max_batch, runs_when_it_fits, weight_dtype_of
from .roofline import (_decode_step, _one_way, _overhead, _prefill_compute_time, decode_step_time,
                       link_gbps, parallel_gpus, prefill_time)
from .units import is_gguf

MIN_EFFICIENCY = 1e-6  # a measurement below this share of the roofline is a unit mistake

__all__ = ["tokens_per_sec", "itl_ms", "ttft_ms", "max_throughput", "throughput_at_concurrency",
           "concurrency_under_load", "engine_cap", "concurrency_at_speed", "calibrate_efficiency"]


def _where_fits(ok, value):
    """``value`` where the configuration fits, NaN elsewhere; a float for scalars."""
    if type(ok) is bool and isinstance(value, float):
        return float(value) if ok else float("nan")
    if isinstance(ok, (bool, np.bool_)) and np.ndim(value) == 0:
        return float(value) if ok else float("nan")
    return _checks.scalar_out(np.where(ok, value, np.nan))


@runs_when_it_fits("context", "batch")
def tokens_per_sec(gpu, model, batch=1, context=1024, weight_dtype=None, kv_dtype=None,
                   num_gpus=1, efficiency=None):
    """Decode output tokens/s of the whole replica: batch sequences together, each holding context tokens.
    [tokens/s]

    Args:
        gpu: *
        model: *
        batch: sequences decoded together [sequences]
        context: tokens already held by each sequence [tokens]
        weight_dtype: *
        kv_dtype: *
        num_gpus: *
        efficiency: *

    One token per sequence per decode step. NaN where it does not fit (the Excel cell and the
    command line say why). More GPUs add an all-reduce per layer: where a step is mostly fixed
    time (a small 4-bit model at batch 1 on a fast GPU) a second GPU can decode a few percent
    slower (gpt-oss-20b on B200s: 315 tokens/s on one, 308 on two).

    >>> tokens_per_sec("h100-sxm", "llama-2-7b", 1, 0, "fp16", None, 1, 1/1.2)
    207.1
    """
    gpu, model = _gpu(gpu), _model(model)  # look the names up once
    t = decode_step_time(gpu, model, batch, context, weight_dtype, kv_dtype, num_gpus, efficiency)
    ok = can_run(gpu, model, weight_dtype, kv_dtype, context, batch, num_gpus)
    return _where_fits(ok, (float(batch) if type(batch) in (float, int) else np.asarray(batch, dtype=float)) / t)


@runs_when_it_fits("context", "batch")
def itl_ms(gpu, model, batch=1, context=1024, weight_dtype=None, kv_dtype=None, num_gpus=1,
           efficiency=None):
    """One decode step (inter-token latency) in milliseconds. [ms]

    Args:
        gpu: *
        model: *
        batch: sequences decoded together [sequences]
        context: tokens already held by each sequence [tokens]
        weight_dtype: *
        kv_dtype: *
        num_gpus: *
        efficiency: *

    >>> itl_ms("h100-sxm", "llama-3.1-405b", 1, 0, "fp16", None, 16, 1)
    15.14
    """
    gpu, model = _gpu(gpu), _model(model)
    t = decode_step_time(gpu, model, batch, context, weight_dtype, kv_dtype, num_gpus, efficiency)
    ok = can_run(gpu, model, weight_dtype, kv_dtype, context, batch, num_gpus)
    return _where_fits(ok, t * 1e3)


@runs_when_it_fits("prompt_tokens", "batch")
def ttft_ms(gpu, model, batch=1, prompt_tokens=1024, weight_dtype=None, kv_dtype=None,
            num_gpus=1, efficiency=None):
    """Prefill time (time to first token) for batch prompts of prompt_tokens tokens, in milliseconds.
    [ms]

    Args:
        gpu: *
        model: *
        batch: prompts processed together [sequences]
        prompt_tokens: tokens in each prompt [tokens]
        weight_dtype: *
        kv_dtype: *
        num_gpus: *
        efficiency: *

    Calibrated, the prompt's compute and its weight reads add up (short prompts reach neither
    limit), plus its KV writes, all-reduces and fixed times; the pure roofline (efficiency 1)
    takes the larger of compute and reads. A GGUF prefill (q4_k_m etc.) reads the 16-bit copy
    llama.cpp's GEMMs dequantise to, so its TTFT is longer than f16's, as measured.

    >>> ttft_ms("h100-sxm", "llama-3.1-8b", 1, 1024, "bf16", None, 1, 1)
    16.95
    """
    gpu, model = _gpu(gpu), _model(model)
    t = prefill_time(gpu, model, batch, prompt_tokens, weight_dtype, kv_dtype, num_gpus,
                     efficiency)
    ok = can_run(gpu, model, weight_dtype, kv_dtype, prompt_tokens, batch, num_gpus)
    return _where_fits(ok, t * 1e3)


def engine_cap(gpu, model, weight_dtype=None, num_gpus=1, efficiency=None):
    """The engine's limit on requests one replica runs at once. GGUF weights run on llama.cpp,
    one server per replica: its slots (llama-server's ``-np``), the GPU's own
    ``max_concurrency`` where it states one, else ``gguf_max_concurrency``, whatever the GPUs.
    Other weights: ``max_concurrency`` per GPU of the replica (engines size their batch to the
    GPUs they run on), the GPU's own where it states one, else the calibrated one. [seqs]

    >>> engine_cap("h100-sxm", "llama-3.1-8b", "bf16", 2), engine_cap("rtx-4090", "llama-3.1-8b", "q4_k_m", 2)
    (512.0, 4.0)
    """
    g, m = _gpu(gpu), _model(model)
    eff = resolve(efficiency, g)  # max_concurrency: the GPU's own where it states one
    n = np.asarray(num_gpus, dtype=float)
    if is_gguf(weight_dtype_of(m, weight_dtype)):
        slots = float(g.max_concurrency) if g.max_concurrency else eff.gguf_max_concurrency
        cap = slots + 0.0 * n
    else:
        cap = eff.max_concurrency * n
    return float(cap) if np.ndim(cap) == 0 else cap


def llama_cpp_slots(gpu, model, weight_dtype=None) -> bool:
    """Whether :func:`engine_cap` is llama.cpp's server slots: GGUF weights on a GPU that
    states no ``max_concurrency`` of its own."""
    g, m = _gpu(gpu), _model(model)
    return not g.max_concurrency and is_gguf(weight_dtype_of(m, weight_dtype))


def concurrency_under_load(gpu, model, input_tokens=1024, output_tokens=1024,
                           weight_dtype=None, kv_dtype=None, num_gpus=1,
                           mem_fraction=MEM_FRACTION, efficiency=None):
    """Sequences served at once under saturating load: what fits, capped by the engine
    (:func:`engine_cap`). [seqs]"""
    gpu, model = _gpu(gpu), _model(model)
    cap = engine_cap(gpu, model, weight_dtype, num_gpus, efficiency)
    fit = max_batch(gpu, model, np.add(input_tokens, output_tokens), weight_dtype, kv_dtype,
                    num_gpus, mem_fraction)
    return np.minimum(fit, cap)


@runs_when_it_fits(("input_tokens", "output_tokens"))
def max_throughput(gpu, model, input_tokens=1024, output_tokens=1024, weight_dtype=None,
                   kv_dtype=None, num_gpus=1, efficiency=None, mem_fraction=MEM_FRACTION):
    """Output tokens/s of the replica under saturating load: continuous batching at the largest concurrency that fits (at most the engine's cap: 256 per GPU; GGUF 4, llama.cpp's slots), prefill included.
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
        mem_fraction: *

    NaN where not even one request fits. Every request here generates output_tokens; the
    latency functions (TTFT_AT_RATE, MAX_RATE_FOR_SLA, ...) take answers whose lengths vary
    around it, whose batches hold longer contexts, so they find a replica full at a lower rate
    than this / output_tokens (docs/latency.md).

    >>> round(max_throughput("h100-sxm", "llama-3.1-8b", 1024, 1024, "bf16", "bf16", 1, 1))
    10035
    """
    g, m = _gpu(gpu), _model(model)
    inp = _checks.number(input_tokens, "input_tokens", 1)
    out = _checks.number(output_tokens, "output_tokens", 1)
    n = _checks.number(num_gpus, "num_gpus", 1, _checks.MAX_GPUS, integer=True)
    conc = concurrency_under_load(g, m, inp, out, weight_dtype, kv_dtype, n, mem_fraction,
                                  efficiency)
    b = np.maximum(np.nan_to_num(conc), 1.0)
    rate = _loaded_throughput(g, m, b, inp, out, weight_dtype, kv_dtype, n, efficiency)
    ok = (conc >= 1) & can_run(g, m, weight_dtype, kv_dtype, inp + out, 1, n, mem_fraction)
    return _checks.scalar_out(np.where(ok, rate, np.nan))


@runs_when_it_fits(("input_tokens", "output_tokens"))
def throughput_at_concurrency(gpu, model, concurrency, input_tokens=1024, output_tokens=1024,
                              weight_dtype=None, kv_dtype=None, num_gpus=1, efficiency=None,
                              mem_fraction=MEM_FRACTION):
    """Output tokens/s of one replica with concurrency requests in flight (closed loop: a finished request is replaced at once), prefill included.
    [tokens/s]

    Args:
        gpu: *
        model: *
        concurrency: requests in flight at once, each holding up to input + output tokens [requests]
        input_tokens: *
        output_tokens: *
        weight_dtype: *
        kv_dtype: *
        num_gpus: *
        efficiency: *
        mem_fraction: *

    The formula of MAX_THROUGHPUT at a given concurrency: each decode step carries every
    running request (mean context input + output / 2) and the prefill of the running / output
    prompts that replace finished ones, and a step that carries a prompt pays a forward pass's
    fixed time once more (engines replay CUDA graphs only for decode-only steps). The engine
    runs as many requests at once as hold input + output tokens each in mem_fraction of its
    memory, and as the GPU's own max_concurrency allows where it states one; the rest wait in
    its queue, so past that point the throughput stays flat. The engine's default limit (256
    per GPU; 4 for GGUF weights, llama.cpp's server slots), which MAX_THROUGHPUT assumes, does
    not cap it: a concurrency above that is taken as your engine's own setting, so the result
    can exceed MAX_THROUGHPUT. NaN where not even one request fits.

    >>> round(throughput_at_concurrency("h100-sxm", "llama-3.1-8b", 8, 1024, 1024, None, None, 1, 1))
    1480
    """
    g, m = _gpu(gpu), _model(model)
    b = _checks.sequences(concurrency, "concurrency")
    inp = _checks.number(input_tokens, "input_tokens", 1)
    out = _checks.number(output_tokens, "output_tokens", 1)
    n = _checks.number(num_gpus, "num_gpus", 1, _checks.MAX_GPUS, integer=True)
    held = max_batch(g, m, inp + out, weight_dtype, kv_dtype, n, mem_fraction)
    if g.max_concurrency:  # the engine limit the GPU states (a spec string, a catalog row)
        held = np.minimum(held, engine_cap(g, m, weight_dtype, n, efficiency))
    running = np.maximum(np.minimum(b, np.nan_to_num(held)), 1.0)
    rate = _loaded_throughput(g, m, running, inp, out, weight_dtype, kv_dtype, n, efficiency)
    ok = can_run(g, m, weight_dtype, kv_dtype, inp + out, 1, n, mem_fraction)
    return _checks.scalar_out(np.where(ok, rate, np.nan))


def concurrency_at_speed(gpu, model, tokens_per_sec, input_tokens=1024, output_tokens=1024,
                         weight_dtype=None, kv_dtype=None, num_gpus=1, efficiency=None,
                         mem_fraction=MEM_FRACTION, context=None):
    """Requests one replica runs at once while each still receives ``tokens_per_sec`` output
    tokens per second: the ``b`` at which a loaded step (:func:`loaded_step`: the decode step
    at mean context plus the prompts' share) takes ``1 / tokens_per_sec``; the step grows with
    ``b``, so fewer run faster. 0 where even one request's step is longer; NaN where the
    configuration cannot run one request (:func:`~xlnapkin.memory.can_run`). Fractional, and
    not capped by memory or the engine beyond that (the capacity planner takes the smaller of
    this and the requests that fit). The decode steps read each request's cache at ``context``
    tokens, the mean over its decode (blank: the request's own, input + output / 2, as the
    throughput takes it); the planner gives a user's, what the user holds less half an output,
    as it sizes the memory for that context (a planner review: 168 requests judged at 1,536
    tokens where each user held 8,192 were promised 20 tokens/s and got 10.6). One
    configuration. [requests]

    The planner's sheet solves the same equation by Newton's method (the step is concave in
    ``b``: the steps that carry a prompt, :func:`prompt_pass_time`, and a mixture of experts'
    weight reads); this bisects.

    >>> round(concurrency_at_speed("h100-sxm", "llama-3.1-70b", 20, 2000, 300, "fp8", "fp8", 2), 1)
    59.7
    """
    g, m = _gpu(gpu), _model(model)
    rate = float(_checks.number(tokens_per_sec, "tokens_per_sec", 0, min_open=True))
    inp = float(_checks.number(input_tokens, "input_tokens", 1))
    out = float(_checks.number(output_tokens, "output_tokens", 1))
    n = float(_checks.number(num_gpus, "num_gpus", 1, _checks.MAX_GPUS, integer=True))
    eff, wd = resolve(efficiency, g), weight_dtype_of(m, weight_dtype)
    if not can_run(g, m, wd, kv_dtype, inp + out, 1, n, mem_fraction):
        return float("nan")

    held = None if context is None else float(_checks.number(context, "context", 1))

    def fast_enough(b):
        return loaded_step(g, m, b, inp, out, wd, kv_dtype, n, eff, held) * rate <= 1.0

    if not fast_enough(1.0):
        return 0.0
    lo, hi = 1.0, 2.0
    while fast_enough(hi) and hi < 2.0 ** 60:  # a bracket
        lo, hi = hi, 2.0 * hi
    for _ in range(200):  # to the last bit
        mid = (lo + hi) / 2.0
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if fast_enough(mid) else (lo, mid)
    return lo


def _loaded_throughput(g, m, b, inp, out, weight_dtype, kv_dtype, n, efficiency):
    """Output tokens/s with ``b`` sequences running (see :func:`loaded_step`)."""
    eff = resolve(efficiency, g)
    weight_dtype = weight_dtype_of(m, weight_dtype)
    return b / loaded_step(g, m, b, inp, out, weight_dtype, kv_dtype, n, eff)


def loaded_step(g, m, b, inp, out, weight_dtype, kv_dtype, n, eff, context=None):
    """One decode step of a replica under continuous batching with ``b`` sequences running
    (``b`` may be a fractional mean; a step holds at least one): the decode step at the
    sequences' mean ``context`` (blank: ``inp + out/2``, every request of one length), plus
    the prefill compute of the ``b / out`` prompts that, on average, replace finished
    sequences each step, plus the fixed time of the steps that carry them
    (:func:`prompt_pass_time`). Arguments are checked and resolved (a catalog GPU and model, a
    weight dtype, an :class:`~xlnapkin.calibration.Efficiency`). [s]"""
    context = inp + out / 2.0 if context is None else context
    step = _decode_step(g, m, np.maximum(b, 1.0), context, weight_dtype, kv_dtype, n, eff)
    return (step + b / out * prompt_work(g, m, inp, weight_dtype, n, eff)
            + prompt_pass_time(g, m, b, out, eff))


def prompt_pass_time(g, m, b, out, eff):
    """The fixed time a loaded step pays, on average, for carrying prompts: a forward pass's
    fixed time (:func:`~xlnapkin.roofline._overhead`: per step, per layer, per layer with
    routed experts) once more in each step that carries a prompt. Engines replay CUDA graphs
    only for steps that hold decoding sequences alone (TensorRT-LLM's decode graphs, vLLM's
    full graphs for uniform decode batches, SGLang's decode graphs) and launch a step with
    prompt tokens kernel by kernel, its attention at least. The prompts that join a step are
    Poisson with mean ``b / out``, so ``1 - exp(-b / out)`` of the steps carry one. 0 with no
    overheads (an ``efficiency`` given). [s]"""
    return -np.expm1(-np.asarray(b, dtype=float) / out) * _overhead(m, eff)


def prompt_work(g, m, inp, weight_dtype, n, eff):
    """GPU time one prompt of ``inp`` tokens adds to a loaded replica's steps: its prefill
    compute and the bandwidth part of its all-reduces. The weight reads, the per-step and
    per-layer fixed costs and the per-request ``prefill_overhead_s`` are not in it: the steps it
    rides along pay those anyway, and the request latency is not GPU work. [s]"""
    n = parallel_gpus(weight_dtype, n)
    return (_prefill_compute_time(g, m, 1.0, inp, weight_dtype, n, eff.mfu_prefill, eff)
            + _prefill_comm(g, m, inp, n, eff))


def _prefill_comm(g, m, tokens, n, eff):
    """All-reduce bandwidth time for a prompt's activations, latency already paid by the step."""
    link = _one_way(link_gbps(g, n))
    return np.where(n > 1, m.n_allreduces * 2.0 * (n - 1.0) / n * tokens * m.width * 2.0 / link
                    * eff.comm, 0.0)


@runs_when_it_fits("context", "batch")
def calibrate_efficiency(measured_tokens_per_sec, gpu, model, batch=1, context=1024,
                         weight_dtype=None, kv_dtype=None, num_gpus=1):
    """The efficiency e in (0, 1] at which TOKENS_PER_SEC matches a measured decode speed (measured / pure roofline); an error if the measurement beats the roofline.
    [0-1]

    Args:
        measured_tokens_per_sec: decode tokens/s you measured for the whole replica [tokens/s]
        gpu: *
        model: *
        batch: sequences decoded together in the measurement [sequences]
        context: tokens each sequence held [tokens]
        weight_dtype: *
        kv_dtype: *
        num_gpus: *

    The inverse of :func:`tokens_per_sec`: with a numeric efficiency every term of the decode
    step is divided by e (no fixed overheads or communication), so tokens/s is exactly e x the
    pure roofline and e = measured / roofline. NaN where the configuration does not fit. The e
    it finds holds for that configuration: where the measured step is mostly fixed time (a
    mixture of experts at batch 1 on several GPUs: e near 0.03), it does not carry over to a
    larger batch, where the calibrated defaults (blank) count fixed and per-token time apart.

    >>> calibrate_efficiency(150, "h100-sxm", "llama-2-7b", 1, 0, "fp16")
    0.6036
    """
    measured = _checks.number(measured_tokens_per_sec, "measured_tokens_per_sec", 0,
                              min_open=True)
    roof = np.asarray(tokens_per_sec(gpu, model, batch, context, weight_dtype, kv_dtype,
                                     num_gpus, 1.0), dtype=float)
    too_slow = np.asarray(measured < roof * MIN_EFFICIENCY)
    if too_slow.any():
        roof_b = np.broadcast_to(roof, too_slow.shape)
        _checks.fail("measured_tokens_per_sec", too_slow, measured,
                     lambda i: f"at least a millionth of the pure roofline "
                               f"{format_limit(roof_b[i], 'up')} tokens/s")
    too_fast = np.asarray(measured > roof * (1 + 1e-12))
    if too_fast.any():
        roof_b = np.broadcast_to(roof, too_fast.shape)
        _checks.fail("measured_tokens_per_sec", too_fast, measured,
                     lambda i: f"at most the pure roofline "
                               f"{format_limit(roof_b[i], 'down')} tokens/s "
                               "(efficiency > 1)")
    return _checks.scalar_out(np.minimum(measured / roof, 1.0))


_args.fill(globals())  # the shared argument descriptions (xlnapkin._args)
