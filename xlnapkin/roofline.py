"""Roofline times: one decode step and one prefill, the ridge point and the critical batch.

Units: seconds, FLOP, FLOP/s, bytes, bytes/s. A replica spread over ``num_gpus`` GPUs with tensor
parallelism has ``num_gpus`` times the bandwidth and FLOP/s, and pays two all-reduces per layer
per forward pass over the GPU's interconnect, or over PCIe or the network where it spans more
than one peer-link domain (:func:`link_gbps`; ring all-reduce: ``2 (n-1)/n`` of the message
crosses each link, plus a fixed latency). GGUF weights are llama.cpp's, which splits a model
over GPUs by layers (:func:`parallel_gpus`): more GPUs hold more, but a token still passes
through every layer on one GPU at a time.

Decode step for ``batch`` sequences each holding ``context`` tokens::

    max(FLOPs / (peak x MFU), weight bytes read / (bandwidth x MBU))
        + KV bytes read / (bandwidth x MBU) + all-reduce time + fixed overheads

(where the caches are kept whole in groups of GPUs, an MLA model's or one with fewer KV heads
than GPUs, the KV read counts at least one sequence a group: :func:`_kv_batch`)

where the FLOPs time adds the weight matmuls at the weight dtype's tensor rate
(:func:`peak_flops`: fp16 and GGUF weights at the FP16-accumulate rate where a GeForce card
runs it faster, other 16-bit math at the FP32-accumulate one; a 4-bit float path at
``fp4_mfu_factor`` of the MFU, llama.cpp's GGUF formats at ``gguf_mfu_factor``) and attention
(QK^T, AV) at the matching 16-bit rate (:func:`attention_peak`): attention kernels
multiply activations by the cached K and V, dequantised to 16 bits when the cache is 8-bit, so
they never run at a weight format's fp8 or fp4 rate.

Prefill of ``batch`` prompts of ``prompt_tokens`` tokens: the same with the prompt's FLOPs
(``2 x active params x tokens`` plus causal attention growing with tokens squared) and the KV it
writes, plus ``prefill_serial`` times the shorter of the FLOPs time and the weight-read time: 0
in the pure roofline (the larger alone), 1 calibrated (the two add up: the fit puts it at its
bound, and short prompts, near the ridge, measure the sum; benchmarks/RESULTS.md section 2).
Calibrated, a GGUF prefill reads the 16-bit copy that llama.cpp's GEMMs of 2024 dequantise to.
Nothing is ever faster than one read of the weights it touches, counted at the weight dtype's
size (:func:`xlnapkin.memory.moe_weight_bytes_read`): a checkpoint that keeps some weights in 16
bits (gpt-oss's attention and head, a 4-bit model's head) reads more than that, so on those
models the pure roofline is not a strict bound (gpt-oss-120b in mxfp4 on an H200 at batch 1:
3.0 GB a step counted, about 5.0 GB in the checkpoint's dtypes).

Notes: attention FLOPs count QK^T and AV for every head. MLA decodes in its absorbed form (the
latent as both key and value) and, as engines run it, prefills in its multi-head form
(:attr:`~xlnapkin.catalog.Model.prefill_attention_flops_per_pair`); a sparse-attention indexer (DeepSeek-V3.2) adds a dot product
per index head for every cached token, and the attention proper then covers at most
``index_topk`` tokens per query (its KV read too, :func:`xlnapkin.memory.kv_bytes` for the
cache held). Activations, norms and the vocabulary softmax are left out.
MoE routing is taken as uniform (:func:`xlnapkin.memory.expected_experts`).

>>> round(float(decode_step_time("h100-sxm", "llama-3.1-8b", 1, 0, efficiency=1)) * 1e3, 2)
4.79
>>> ops_per_byte("b200", "fp8")
562.5
"""

from __future__ import annotations

import numpy as np

from . import _args, _checks
from .calibration import Efficiency, resolve
from .catalog import gpu as _gpu, model as _model
from .memory import (_attended_tokens, _kv_bytes, _kv_read_bytes, _state_traffic, gpus_needed,
                     moe_weight_bytes_read, weight_dtype_of)
from .units import GB, compute_dtype, dtype_bytes, dtype_name, is_gguf

__all__ = ["ops_per_byte", "peak_flops", "attention_peak", "decode_step_time", "prefill_time",
           "parallel_gpus", "critical_batch", "attention_flops_per_pair", "allreduce_time", "link_gbps", "decode_flops",
           "prefill_flops"]

ACTIVATION_BYTES = 2.0  # activations cross the interconnect in 16-bit
UNKNOWN_LINK_GBPS = 32.0  # a GPU without a link figure: PCIe Gen3 x16, bidirectional
# A GPU-to-GPU link this fast (bidirectional GB/s) is a peer link (NVLink, Infinity Fabric,
# Gaudi's RoCE ports); slower ones are PCIe, where all-reduces go through the host. Past a
# peer-link domain (nvlink_gpus) they cross PCIe or the network whatever its speed.
PEER_LINK_GBPS = 200.0


def _compute(g, weight_dtype) -> str:
    """The tensor-core rate a catalog GPU computes weights of this dtype at
    (:func:`xlnapkin.units.compute_dtype`)."""
    return compute_dtype(weight_dtype, bool(g.fp8_tflops), bool(g.fp4_tflops), bool(g.int8_tops))


def peak_flops(gpu, weight_dtype="bf16") -> float:
    """Dense peak of one GPU for the dtype its matrix multiplies run in. [FLOP/s]"""
    g = _gpu(gpu)
    return g.peak_flops(_compute(g, weight_dtype))


def attention_peak(gpu, weight_dtype="bf16") -> float:
    """Dense peak of one GPU for attention (QK^T and AV): the 16-bit rate the engine's matmuls
    run at, FP16 accumulation where the weights compute in fp16 (fp16 and GGUF weights:
    llama.cpp's attention GEMMs take its weights' compute type) and FP32 accumulation,
    ``bf16_tflops``, otherwise (bf16 has no other, and FlashAttention accumulates in FP32 for
    fp16 inputs too). [FLOP/s]"""
    g = _gpu(gpu)
    return g.peak_flops("fp16" if _compute(g, weight_dtype) == "fp16" else "bf16")


def ops_per_byte(gpu, dtype="bf16") -> float:
    """The GPU's ridge point: the dense peak FLOP/s the engine runs dtype at, divided by memory bandwidth.
    [FLOP/byte]

    Args:
        gpu: *
        dtype: compute element type: bf16, fp16, fp8, int8, fp4 (16-bit where the GPU has no native path, and for fp32, which engines compute in 16 bits) [dtype]

    Returns FLOP per byte: below it a kernel is memory-bound, above it compute-bound. fp16 and
    llama.cpp's GGUF formats compute at the larger of the catalog's bf16_tflops and
    fp16_tflops: on GeForce cards the FP16-accumulate rate, twice the bf16 figure, which
    llama.cpp's GEMMs run at; other 16-bit math (bf16, int4 and the other weight-only
    formats) at bf16_tflops, the FP32-accumulate rate that BF16 has alone and PyTorch's and
    vLLM's kernels take (the catalog notes give the sources).

    >>> ops_per_byte("b200", "fp8")
    562.5
    """
    g = _gpu(gpu)
    return peak_flops(g, dtype) / g.bandwidth


def attention_flops_per_pair(model) -> float:
    """FLOPs of attention for one (query, key) pair in one attending layer, all heads
    (:attr:`~xlnapkin.catalog.Model.attention_flops_per_pair`). Multiply by context for one
    decode token."""
    return _model(model).attention_flops_per_pair


def _decode_attention_flops(m, context):
    """Attention FLOPs of one new token at ``context``: the pairs it attends to, plus a
    sparse-attention indexer scoring every cached token."""
    return (m.attention_flops_per_pair * _attended_tokens(m, context)
            + m.index_flops_per_pair * m.n_attention_layers * context)


def decode_flops(model, batch, context):
    """FLOPs of one decode step: ``batch x (2 x active params + attention over context)``."""
    m = _model(model)
    return batch * (2.0 * m.active_params + _decode_attention_flops(m, context))


def _linear_peak(g, weight_dtype, eff: Efficiency):
    """The rate the weight matmuls are counted at before the MFU: the dense peak for the weight
    dtype, times ``fp4_mfu_factor`` where that is a 4-bit float path (block-scaled FP4 GEMMs
    reach a smaller share of their datasheet peak than 16-bit and FP8 ones), or
    ``gguf_mfu_factor`` for llama.cpp's GGUF formats at the 16-bit rate (measured against f16
    on the same llama.cpp builds). [FLOP/s]"""
    compute = _compute(g, weight_dtype)
    peak = g.peak_flops(compute)
    if compute == "fp4":
        return peak * eff.fp4_mfu_factor
    if compute == "fp16" and is_gguf(weight_dtype):
        return peak * eff.gguf_mfu_factor
    return peak


def _matmul_time(g, m, rows, attention_flops, weight_dtype, num_gpus, mfu, eff: Efficiency):
    """Time of one forward pass's FLOPs: the weight matmuls over ``rows`` token rows at the
    weight dtype's tensor rate (:func:`_linear_peak`; routed experts at ``moe_mfu_factor`` of
    the MFU) plus attention at the 16-bit rate. [s]"""
    routed = m.routed_params
    linear = 2.0 * rows * (m.active_params - routed + routed / eff.moe_mfu_factor)
    return ((linear / _linear_peak(g, weight_dtype, eff)
             + attention_flops / attention_peak(g, weight_dtype)) / (num_gpus * mfu))


def _decode_compute_time(g, m, batch, context, weight_dtype, num_gpus, mfu, eff):
    """One decode step's FLOPs time (routed experts at ``moe_mfu_factor`` of the MFU). [s]"""
    attention = batch * _decode_attention_flops(m, context)
    return _matmul_time(g, m, batch, attention, weight_dtype, num_gpus, mfu, eff)


def link_gbps(g, num_gpus):
    """Bidirectional GB/s of the link a replica of ``num_gpus`` GPUs runs its all-reduces over:
    the catalog's ``interconnect_gbps`` within one peer-link domain of ``nvlink_gpus`` GPUs (a
    bridged pair or four of PCIe cards, an HGX board of 8, an NVL72 rack of 72; blank: no
    limit). A larger replica's ring also crosses the slower link between domains, which bounds
    it: the slower of the known ``pcie_gbps`` (bridged cards past the bridge) and
    ``scaleout_gbps`` (the network per GPU, e.g. one 400 Gb/s NIC = 100). 0 where unknown.

    nccl-tests agree that the network bounds a ring across nodes: NCCL's maintainers expect
    46-48 GB/s of bus bandwidth per 400 Gb/s NIC (NVIDIA/nccl-tests issue 290), the 50 GB/s
    each way the catalog's 100 gives. [GB/s]"""
    return _link(g, _past_domain(g, num_gpus))


def _link(g, past):
    """:func:`link_gbps` for a replica that does (``past``) or does not span domains."""
    if isinstance(past, bool):
        return g.between_domains_gbps if past else g.domain_gbps
    return np.where(past, g.between_domains_gbps, g.domain_gbps)


def _past_domain(g, num_gpus):
    """Whether a replica of ``num_gpus`` spans more than one peer-link domain."""
    if isinstance(num_gpus, (int, float)):
        return bool(g.nvlink_gpus) and bool(num_gpus > g.nvlink_gpus)
    if not g.nvlink_gpus:
        return np.zeros(np.shape(num_gpus), dtype=bool)
    return np.asarray(num_gpus, dtype=float) > g.nvlink_gpus


def domain_note(gpu, num_gpus, model=None, weight_dtype=None) -> str:
    """What a reader should know where one tensor-parallel replica spans more than one
    peer-link domain, else "": its all-reduces cross the slower link between domains, where
    engines split such a replica by pipeline stages, which the model leaves out (a user audit:
    405B's capacity fell from 3.1 to 1.2 requests/s going from 8 to 16 H100s, unremarked)."""
    g, n = _gpu(gpu), float(num_gpus)
    if not _past_domain(g, n) or (model is not None and is_gguf(weight_dtype_of(
            model, weight_dtype))):
        return ""
    link = g.between_domains_gbps
    over = f"the {link:g} GB/s between them" if link else "the link between them"
    # replicas within one domain, where the weights fit there (a review: 405B in bf16 does not
    # fit on 8 H100s, and the note said to compare them)
    one = (model is None or float(gpus_needed(g, model, weight_dtype, 1, 1))
           <= g.nvlink_gpus)
    # in the dtype asked (a platform audit: 405B "held" by no domain of 8 H100s in bf16 fits
    # one in fp8)
    then = (f"compare replicas of {g.nvlink_gpus}" if one else
            f"no replica within one domain of {g.nvlink_gpus} holds the weights in "
            f"{dtype_name(weight_dtype_of(model, weight_dtype))}")
    return (f"{n:g} x {g.id} span {-(-n // g.nvlink_gpus):g} peer-link domains of "
            f"{g.nvlink_gpus}: the model runs one tensor-parallel replica across them, its "
            f"all-reduces over {over}; engines split such a replica by pipeline stages "
            f"instead, which the model leaves out: {then}")


def _one_way(gbps):
    """One-direction bytes/s of a bidirectional figure; 16 GB/s where 0 (32 bidirectional, PCIe
    Gen3 x16)."""
    if isinstance(gbps, float):
        return (gbps or UNKNOWN_LINK_GBPS) * GB / 2
    return np.where(gbps > 0, gbps, UNKNOWN_LINK_GBPS) * GB / 2


def allreduce_time(gpu, model, tokens, num_gpus, eff: Efficiency):
    """Ring all-reduces of ``tokens`` activation rows, two per layer (``Model.n_allreduces``):
    each a fixed latency plus ``2 (n-1)/n`` of the message over the link (:func:`link_gbps`).
    0 on one GPU. [s]

    The latency is a peer link's (``allreduce_latency_s``) where the replica stays inside one
    domain whose link is at least :data:`PEER_LINK_GBPS`; otherwise the all-reduce goes
    through the host or the network (``pcie_allreduce_latency_s``, 42 us). Small all-reduces
    between nodes measure tens of microseconds too: 19-20 us for 8 bytes between two A100s on
    HDR InfiniBand (NVIDIA/nccl-tests issue 150); NCCL's own estimate for a 128-byte ring
    all-reduce on an H100 cluster, 25 us (NVIDIA/nccl issue 1453)."""
    scalar = isinstance(num_gpus, (int, float))
    if scalar and num_gpus <= 1:
        return 0.0  # one GPU: nothing to reduce (the common scalar case, without NumPy)
    g, m = _gpu(gpu), _model(model)
    past = _past_domain(g, num_gpus)
    gbps = _link(g, past)
    link = _one_way(gbps)
    size = tokens * m.width * ACTIVATION_BYTES
    if scalar:  # the same formula in plain floats
        latency = (eff.allreduce_latency_s if gbps >= PEER_LINK_GBPS and not past
                   else eff.pcie_allreduce_latency_s)
        per = latency + 2.0 * (num_gpus - 1.0) / num_gpus * size / link
        return m.n_allreduces * per * eff.comm
    n = np.asarray(num_gpus, dtype=float)
    latency = np.where((gbps >= PEER_LINK_GBPS) & ~past, eff.allreduce_latency_s,
                       eff.pcie_allreduce_latency_s)
    per = latency + 2.0 * (n - 1.0) / n * size / link
    return np.where(n > 1, m.n_allreduces * per * eff.comm, 0.0)


def _overhead(m, eff: Efficiency):
    """Fixed time of one forward pass: per step, per layer, and per layer with routed experts
    (routing, token permutation and grouped-GEMM launches). [s]"""
    return (eff.step_overhead_s + eff.layer_overhead_s * m.layers
            + eff.moe_layer_overhead_s * m.n_moe_layers)


def decode_step_time(gpu, model, batch=1, context=1024, weight_dtype=None, kv_dtype=None,
                     num_gpus=1, efficiency=None):
    """Time of one decode step producing one token for each of ``batch`` sequences. [s]

    Does not check that the configuration fits in memory (see :mod:`xlnapkin.serving`).
    """
    g, m = _gpu(gpu), _model(model)
    weight_dtype = weight_dtype_of(m, weight_dtype)
    batch = _plain(_checks.sequences(batch, "batch"))
    context = _plain(_checks.number(context, "context", 0))
    num_gpus = _plain(_checks.number(num_gpus, "num_gpus", 1, _checks.MAX_GPUS, integer=True))
    return _decode_step(g, m, batch, context, weight_dtype, kv_dtype, num_gpus,
                        resolve(efficiency, g))


def _plain(x):
    """A checked scalar as a Python float (its arithmetic is several times faster than NumPy's,
    and the step's formulas only divide by positive catalog figures, so nothing raises);
    arrays unchanged."""
    return float(x) if type(x) is np.float64 else x


def _larger(a, b):
    """``np.maximum`` (NaN wins), in plain Python for two scalars."""
    if isinstance(a, float) and isinstance(b, float):
        return a if a >= b or a != a else b
    return np.maximum(a, b)


def _smaller(a, b):
    """``np.minimum`` (NaN wins), in plain Python for two scalars."""
    if isinstance(a, float) and isinstance(b, float):
        return a if a <= b or a != a else b
    return np.minimum(a, b)


def parallel_gpus(weight_dtype, num_gpus):
    """GPUs a forward pass runs on at once: ``num_gpus`` under tensor parallelism; 1 for GGUF
    weights, which llama.cpp spreads over GPUs by layers (its default ``--split-mode layer``):
    each GPU runs its layers in turn, so more GPUs add memory, not speed. On two RTX 4090s a
    70B model in q4_k_m decodes 19.1 tokens/s, where one GPU's bandwidth gives about 18 and
    tensor parallelism would give 26 (github.com/XiongjieDai/GPU-Benchmarks-on-LLM-Inference,
    README). The activations passed between GPUs (one hidden vector a token at each boundary)
    are left out, and so is llama.cpp's pipelining of a long prompt's micro-batches.

    >>> parallel_gpus("q4_k_m", 2), parallel_gpus("bf16", 2)
    (1.0, 2)
    """
    if is_gguf(weight_dtype):
        return 1.0 if np.ndim(num_gpus) == 0 else np.ones_like(num_gpus, dtype=float)
    return num_gpus


def _decode_step(g, m, batch, context, weight_dtype, kv_dtype, num_gpus, eff):
    """:func:`decode_step_time` for checked arguments (a catalog GPU and model, a resolved
    weight dtype and :class:`Efficiency`); ``batch`` may be fractional (a mean). [s]"""
    num_gpus = parallel_gpus(weight_dtype, num_gpus)
    bw = g.bandwidth * num_gpus * eff.mbu
    compute = _decode_compute_time(g, m, batch, context, weight_dtype, num_gpus, eff.mfu_decode,
                                   eff)
    weights = moe_weight_bytes_read(m, weight_dtype, batch) / bw
    kv = _kv_read(m, context, batch, kv_dtype, num_gpus) / bw
    return (_larger(compute, weights) + kv + allreduce_time(g, m, batch, num_gpus, eff)
            + _overhead(m, eff))


def _kv_read(m, context, batch, kv_dtype, num_gpus):
    """KV bytes a decode step reads, counted at the whole replica's bandwidth: every sequence's
    (:func:`~xlnapkin.memory._kv_read_bytes`), and where the caches are kept whole in groups
    of GPUs, the cache part of the sequences :func:`_kv_batch` adds (a hybrid's recurrent
    state is split over the GPUs, not kept whole). [bytes]"""
    kv = _kv_read_bytes(m, context, batch, kv_dtype)
    extra = _kv_batch(m, batch, num_gpus) - batch
    if isinstance(extra, float) and extra == 0.0:
        return kv
    return kv + extra * (_kv_read_bytes(m, context, 1.0, kv_dtype) - _state_traffic(m))


def _kv_batch(m, batch, num_gpus):
    """The sequences whose KV cache a step reads at the pace of the whole replica's bandwidth.
    Where the replica keeps copies of the cache under plain tensor parallelism, the memory
    functions count it once, as attention data parallelism keeps it
    (:func:`xlnapkin.memory.kv_copies`): in ``copies`` groups of GPUs, each holding whole
    sequences' caches (one GPU each for an MLA model's latent; ``kv_heads`` GPUs each where
    there are more GPUs than KV heads). The busiest group then reads at least one sequence's
    cache, so fewer sequences than groups read as if there were one a group (a platform audit:
    a lone 128k-token DeepSeek request's 9.2 GB of latent read at eight GPUs' pace); with no
    copies tensor parallelism splits every sequence's cache over all the GPUs. Below one
    sequence (a mean in the queueing model) it scales down with the batch. The attention
    arithmetic of those sequences is left spread over all the GPUs."""
    if isinstance(num_gpus, (int, float)) and isinstance(batch, (int, float)):
        if num_gpus > 1 and (m.is_mla or num_gpus > m.kv_heads):
            groups = num_gpus if m.is_mla else num_gpus / m.kv_heads
            return max(float(batch), groups * min(batch, 1.0))
        return float(batch)
    n = np.asarray(num_gpus, dtype=float)
    spread = (n > 1) & (m.is_mla | (n > m.kv_heads))
    groups = n if m.is_mla else n / m.kv_heads
    return np.where(spread, np.maximum(batch, groups * np.minimum(batch, 1.0)), batch)


def _capped_pairs(tokens, cap):
    """Causal (query, key) pairs of ``tokens`` tokens where each query sees at most ``cap``
    keys (``cap`` None: all before it)."""
    full = tokens * (tokens + 1) / 2.0
    if cap is None:
        return full
    return np.where(tokens <= cap, full, cap * (cap + 1) / 2.0 + (tokens - cap) * cap)


def _causal_pairs(m, tokens):
    """(query, key) pairs over attention layers for a causal prompt of ``tokens`` tokens: a
    sliding-window layer's queries see at most the window, a sparse-attention indexer's at most
    ``index_topk`` keys."""
    n_attn = m.n_attention_layers
    n_win = min(int(m.sliding_window_layers or 0), n_attn) if m.sliding_window else 0
    topk = float(m.index_topk) if m.index_topk else None
    pairs = (n_attn - n_win) * _capped_pairs(tokens, topk)
    if n_win:
        w = float(m.sliding_window)
        pairs = pairs + n_win * _capped_pairs(tokens, w if topk is None else min(w, topk))
    return pairs


def _prefill_attention_flops(m, tokens):
    """Attention FLOPs of a causal prompt of ``tokens`` tokens: the pairs attended, plus a
    sparse-attention indexer scoring every earlier token for each query."""
    return (m.prefill_attention_flops_per_pair * _causal_pairs(m, tokens)
            + m.index_flops_per_pair * m.n_attention_layers * tokens * (tokens + 1) / 2.0)


def prefill_flops(model, batch, prompt_tokens):
    """FLOPs of a prefill: ``batch x (2 x active params x tokens + causal attention)``."""
    m = _model(model)
    return batch * (2.0 * m.active_params * prompt_tokens
                    + _prefill_attention_flops(m, prompt_tokens))


def _prefill_compute_time(g, m, batch, tokens, weight_dtype, num_gpus, mfu, eff):
    """A prefill's FLOPs time: ``batch x tokens`` rows and causal attention (routed experts at
    ``moe_mfu_factor`` of the MFU). [s]"""
    attention = batch * _prefill_attention_flops(m, tokens)
    return _matmul_time(g, m, batch * tokens, attention, weight_dtype, num_gpus, mfu, eff)


def prefill_time(gpu, model, batch=1, prompt_tokens=1024, weight_dtype=None, kv_dtype=None,
                 num_gpus=1, efficiency=None):
    """Time to process ``batch`` prompts of ``prompt_tokens`` tokens (time to first token). [s]"""
    g, m = _gpu(gpu), _model(model)
    weight_dtype = weight_dtype_of(m, weight_dtype)
    batch = _plain(_checks.sequences(batch, "batch"))
    tokens = _plain(_checks.number(prompt_tokens, "prompt_tokens", 1))
    num_gpus = _plain(_checks.number(num_gpus, "num_gpus", 1, _checks.MAX_GPUS, integer=True))
    return _prefill(g, m, batch, tokens, weight_dtype, kv_dtype, num_gpus,
                    resolve(efficiency, g))


def _prefill(g, m, batch, tokens, weight_dtype, kv_dtype, num_gpus, eff):
    """:func:`prefill_time` for checked arguments (as :func:`_decode_step`). [s]"""
    num_gpus = parallel_gpus(weight_dtype, num_gpus)
    bw = g.bandwidth * num_gpus * eff.mbu
    compute = _prefill_compute_time(g, m, batch, tokens, weight_dtype, num_gpus,
                                    eff.mfu_prefill, eff)
    weights = moe_weight_bytes_read(m, weight_dtype, batch * tokens) / bw
    if is_gguf(weight_dtype):  # calibrated: llama.cpp's GEMMs read a dequantised 16-bit copy
        # (the same dequantising path gguf_mfu_factor prices, so a factor of 1, the roofline's,
        # also turns the copy off)
        copy = moe_weight_bytes_read(m, "f16", batch * tokens) / bw
        calibrated = eff.gguf_mfu_factor < 1.0
        weights = (copy if calibrated else weights) if np.ndim(calibrated) == 0 else np.where(
            calibrated, copy, weights)
    kv_write = _kv_bytes(m, tokens, batch, kv_dtype) / bw
    return (_larger(compute, weights) + eff.prefill_serial * _smaller(compute, weights)
            + kv_write + allreduce_time(g, m, batch * tokens, num_gpus, eff) + _overhead(m, eff)
            + eff.prefill_overhead_s)


def critical_batch(gpu, model, weight_dtype=None, efficiency=None):
    """Batch at which decode turns compute-bound (KV-cache reads ignored). [sequences]

    Args:
        gpu: *
        model: *
        weight_dtype: *
        efficiency: blank or 0 = calibrated MFU/MBU; a number in (0, 1] for both (their ratio is what matters) [0-1]

    One decode step's compute time equals its weight-read time there: below it decode is
    memory-bound, above it compute-bound. Dense models: ridge x (MFU / MBU) x bytes per weight /
    2, with the decode MFU at the weight dtype's rate; at a number for efficiency MFU / MBU is 1,
    so the pure roofline's ridge x bytes / 2. MoE models
    read more experts as the batch grows (and run their experts at a lower MFU); the crossing is
    found by fixed-point iteration.

    >>> critical_batch("b200", "qwen2.5-32b", "fp8", 1)
    281.25
    """
    g, m = _gpu(gpu), _model(model)
    weight_dtype = weight_dtype_of(m, weight_dtype)
    eff = resolve(efficiency, g)
    ratio = (_linear_peak(g, weight_dtype, eff) * eff.mfu_decode) / (g.bandwidth * eff.mbu)
    routed = m.routed_params
    per_token = 2.0 * (m.active_params - routed + routed / eff.moe_mfu_factor)
    b = ratio * m.total_params * dtype_bytes(weight_dtype) / per_token
    if m.is_moe:
        for _ in range(200):
            b = ratio * moe_weight_bytes_read(m, weight_dtype, np.maximum(b, 1.0)) / per_token
    return b


_args.fill(globals())  # the shared argument descriptions (xlnapkin._args)
