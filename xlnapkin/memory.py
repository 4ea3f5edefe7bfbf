"""Memory: weight bytes, KV-cache bytes, and what fits on how many GPUs.

Units: bytes, tokens, sequences. GB in messages is 1e9 bytes.

KV cache per token and layer holds ``kv_heads x (head_dim + v_head_dim)`` elements (K and V) for
MHA, GQA and MQA, or ``kv_lora_rank + qk_rope_head_dim`` for MLA's compressed latent. A
sliding-window layer holds at most ``sliding_window`` tokens; layers without attention (Mamba and
other linear layers of hybrid models) hold none. Their fixed-size recurrent state is not counted.

>>> from xlnapkin.catalog import model
>>> kv_bytes("llama-3.1-405b")          # 2 x 126 layers x 8 KV heads x 128 x 2 bytes
516096.0
>>> round(kv_bytes("qwen2.5-32b", 200_000, 1, "fp8") / 1e9, 1)
26.2
"""

from __future__ import annotations

import math

import numpy as np

from . import _checks
from .catalog import Model, gpu as _gpu, model as _model
from .units import GB, dtype_bytes, dtype_name

__all__ = ["weight_bytes", "kv_bytes", "kv_elements_per_token", "gpus_needed", "max_batch",
           "fits", "fit_message", "moe_weight_bytes_read", "expected_experts"]


def weight_bytes(model, weight_dtype="bf16") -> float:
    """Bytes of all weights (every expert of an MoE model) at ``weight_dtype``. [bytes]"""
    m = _model(model)
    return m.total_params * dtype_bytes(weight_dtype)


def kv_elements_per_token(model) -> float:
    """KV elements one token adds in one attention layer (K and V, or MLA's latent)."""
    m = _model(model)
    if m.is_mla:
        return float(m.kv_lora_rank + (m.qk_rope_head_dim or 0))
    return float(m.kv_heads * (m.head_dim + (m.v_head_dim or m.head_dim)))


def _windowed_tokens(m: Model, tokens):
    """Sum over attention layers of the tokens each layer keeps, for ``tokens`` of context."""
    n_attn = m.n_attention_layers
    n_win = min(int(m.sliding_window_layers or 0), n_attn) if m.sliding_window else 0
    full = (n_attn - n_win) * tokens
    if n_win:
        return full + n_win * np.minimum(tokens, m.sliding_window)
    return full


def kv_bytes(model, tokens=1, batch=1, kv_dtype="bf16"):
    """KV-cache bytes for ``batch`` sequences of ``tokens`` tokens each. [bytes]

    ``tokens`` and ``batch`` broadcast; ``tokens`` may be 0.
    """
    m = _model(model)
    tokens = _checks.number(tokens, "tokens", 0)
    batch = _checks.number(batch, "batch", 0)
    per_layer_token = kv_elements_per_token(m) * dtype_bytes(kv_dtype)
    return _checks.scalar_out(per_layer_token * _windowed_tokens(m, tokens) * batch)


def expected_experts(n_experts, top_k, tokens):
    """Expected distinct experts that ``tokens`` tokens touch with uniform routing:
    ``N x (1 - ((N - k) / N) ** tokens)``."""
    return n_experts * (1.0 - ((n_experts - top_k) / n_experts) ** tokens)


def moe_weight_bytes_read(model, weight_dtype, tokens):
    """Weight bytes one forward pass over ``tokens`` tokens reads. [bytes]

    Dense models read everything. An MoE model reads its shared part plus the routed experts the
    tokens touch (:func:`expected_experts`); the per-expert size comes from the total and active
    parameter counts, so it holds whichever layers are MoE.
    """
    m = _model(model)
    bpe = dtype_bytes(weight_dtype)
    if not m.is_moe:
        return m.total_params * bpe + 0.0 * np.asarray(tokens, dtype=float)
    n, k = m.num_experts, m.experts_per_token
    expert = (m.total_params - m.active_params) / (n - k)  # params of one routed expert, all layers
    shared = m.total_params - n * expert
    return (shared + expected_experts(n, k, tokens) * expert) * bpe


def _need(m, weight_dtype, kv_dtype, tokens, batch):
    return weight_bytes(m, weight_dtype) + kv_bytes(m, tokens, batch, kv_dtype)


def gpus_needed(gpu, model, weight_dtype="bf16", tokens=0, batch=0, kv_dtype="bf16",
                mem_fraction=0.9):
    """Fewest GPUs whose ``memory x mem_fraction`` holds the weights plus the KV cache of
    ``batch`` sequences of ``tokens`` tokens. [GPUs]"""
    g, m = _gpu(gpu), _model(model)
    frac = _checks.fraction(mem_fraction, "mem_fraction")
    need = _need(m, weight_dtype, kv_dtype, tokens, batch)
    # A hair below the integer so that exact multiples do not round up through float error.
    return _checks.scalar_out(np.ceil(need / (g.memory_bytes * frac) * (1 - 1e-12)))


def max_batch(gpu, model, tokens=1024, weight_dtype="bf16", kv_dtype="bf16", num_gpus=1,
              mem_fraction=0.9):
    """Most sequences of ``tokens`` tokens whose KV cache fits beside the weights on ``num_gpus``
    GPUs using ``mem_fraction`` of their memory; 0 if the weights alone do not fit. [sequences]"""
    g, m = _gpu(gpu), _model(model)
    tokens = _checks.number(tokens, "tokens", 1)
    num_gpus = _checks.number(num_gpus, "num_gpus", 1, integer=True)
    frac = _checks.fraction(mem_fraction, "mem_fraction")
    free = num_gpus * g.memory_bytes * frac - weight_bytes(m, weight_dtype)
    per_seq = kv_bytes(m, tokens, 1, kv_dtype)
    return _checks.scalar_out(np.maximum(np.floor(free / per_seq * (1 + 1e-12)), 0.0))


def fits(gpu, model, weight_dtype="bf16", kv_dtype="bf16", tokens=0, batch=1, num_gpus=1,
         mem_fraction=1.0):
    """True where weights plus KV cache fit in ``mem_fraction`` of ``num_gpus`` GPUs' memory."""
    g, m = _gpu(gpu), _model(model)
    need = _need(m, weight_dtype, kv_dtype, tokens, batch)
    return need <= num_gpus * g.memory_bytes * mem_fraction * (1 + 1e-12)


def fit_message(gpu, model, weight_dtype="bf16", kv_dtype="bf16", tokens=0, batch=1,
                num_gpus=1, mem_fraction=1.0):
    """Why one configuration cannot run, and the fewest GPUs that would hold it. Where the
    weights alone do not fit, the message is about the weights (the same for every batch and
    context); otherwise it names the KV cache of ``batch x tokens`` too.

    Scalars give one message. Arrays (``tokens``, ``batch``, ``num_gpus``, ``mem_fraction``
    broadcast) give an object array with each element's message, the same text as one scalar
    call per element (the Excel boundary words a whole range of cells this way).

    >>> fit_message("h100-sxm", "llama-3.1-405b")
    'llama-3.1-405b needs 811.7 GB in bf16; 1 x h100-sxm has 80 GB: use num_gpus >= 11'
    """
    g, m = _gpu(gpu), _model(model)
    if np.ndim(tokens) or np.ndim(batch) or np.ndim(num_gpus) or np.ndim(mem_fraction):
        return _fit_messages(g, m, weight_dtype, kv_dtype, tokens, batch, num_gpus,
                             mem_fraction)
    tokens, batch, num_gpus = float(tokens), float(batch), int(num_gpus)
    if weight_bytes(m, weight_dtype) > num_gpus * g.memory_bytes * mem_fraction:
        tokens = batch = 0.0  # the weights alone do not fit: the KV cache is beside the point
    need = float(_need(m, weight_dtype, kv_dtype, tokens, batch))
    return _fit_text(m.id, dtype_name(weight_dtype), g.id, g.memory_gb, g.memory_bytes, need,
                     tokens, batch, num_gpus, mem_fraction)


def _fit_text(model_id, dtype, gpu_id, memory_gb, memory_bytes, need, tokens, batch, num_gpus,
              mem_fraction) -> str:
    """The words of :func:`fit_message` for one configuration (all arguments scalars)."""
    shown = f"{need / GB:.1f}" if need < 1e6 * GB else f"{need / GB:.3g}"
    if not math.isfinite(need):
        shown = "more than 1e299"
    what = f"{model_id} needs {shown} GB in {dtype}"
    if tokens * batch > 0:
        what += f" with KV for {batch:g} x {tokens:g} tokens"
    have = f"{num_gpus} x {gpu_id} has {num_gpus * memory_gb:g} GB"
    if mem_fraction < 1:
        have += f" ({mem_fraction:.0%} usable)"
    least = need / (memory_bytes * mem_fraction)
    if not least < 1e6:  # absurd inputs: no sensible number of GPUs to suggest
        return f"{what}; {have}: reduce batch or tokens"
    return f"{what}; {have}: use num_gpus >= {math.ceil(least - 1e-9)}"


def _fit_messages(g, m, weight_dtype, kv_dtype, tokens, batch, num_gpus, mem_fraction):
    """:func:`fit_message` element by element over broadcast arrays: the numbers in NumPy, the
    repeated pieces of text formatted once, and :func:`_fit_text` itself for the rare element
    outside the plain case (absurd sizes). [object array of str]"""
    t, b, n, f = np.broadcast_arrays(*(np.asarray(x, dtype=float)
                                       for x in (tokens, batch, num_gpus, mem_fraction)))
    shape = t.shape
    t, b, n, f = t.ravel(), b.ravel(), n.ravel(), f.ravel()
    weights_only = weight_bytes(m, weight_dtype) > n * g.memory_bytes * f
    t, b = np.where(weights_only, 0.0, t), np.where(weights_only, 0.0, b)
    out = np.empty(t.shape, dtype=object)
    if weights_only.any():
        # One message per (num_gpus, mem_fraction): the batch and context do not enter it.
        # (A complex key sorts far faster than np.unique over rows.)
        pairs, inverse = np.unique(n[weights_only] + 1j * f[weights_only], return_inverse=True)
        texts = [fit_message(g, m, weight_dtype, kv_dtype, 0, 0, p.real, p.imag)
                 for p in pairs.tolist()]
        out[weights_only] = np.array(texts, dtype=object)[inverse.ravel()]
    need = np.broadcast_to(_need(m, weight_dtype, kv_dtype, t, b), t.shape).astype(float)
    dtype = dtype_name(weight_dtype)
    ngpu = n.astype(np.int64)          # int() of a positive float
    with np.errstate(all="ignore"):
        least = need / (g.memory_bytes * f)
        plain = np.isfinite(need) & (need < 1e6 * GB) & (least < 1e6) & np.isfinite(t * b)
        gpus = np.ceil(least - 1e-9)
    plain &= ~weights_only
    odd = np.flatnonzero(~plain & ~weights_only)
    for i in odd.tolist():
        out[i] = _fit_text(m.id, dtype, g.id, g.memory_gb, g.memory_bytes, float(need[i]),
                           float(t[i]), float(b[i]), int(n[i]), float(f[i]))
    idx = np.flatnonzero(plain)
    if idx.size:
        # "have" depends on (num_gpus, mem_fraction) and the suggestion on the GPU count only.
        # One number per element keys its tail: fractions and GPU counts are few.
        fk, finv = np.unique(f[idx], return_inverse=True)
        nk, ninv = np.unique(ngpu[idx], return_inverse=True)
        lk, linv = np.unique(gpus[idx], return_inverse=True)
        code = (finv.ravel() * len(nk) + ninv.ravel()) * len(lk) + linv.ravel()
        ck, cinv = np.unique(code, return_inverse=True)
        tails = []
        for c in ck.tolist():
            fi, rest = divmod(c, len(nk) * len(lk))
            ni, li = divmod(rest, len(lk))
            nn, ff, ls = int(nk[ni]), float(fk[fi]), int(lk[li])
            have = f"{nn} x {g.id} has {nn * g.memory_gb:g} GB"
            if ff < 1:
                have += f" ({ff:.0%} usable)"
            tails.append(f"; {have}: use num_gpus >= {ls}")
        tail = [tails[k] for k in cinv.ravel().tolist()]
        shown = (need[idx] / GB).tolist()
        kv = (t[idx] * b[idx] > 0).tolist()
        head = f"{m.id} needs "
        unit = f" GB in {dtype}"
        bs = {v: f"{unit} with KV for {v:g} x " for v in np.unique(b[idx]).tolist()}
        ts = {v: f"{v:g} tokens" for v in np.unique(t[idx]).tolist()}
        out[idx] = [f"{head}{x:.1f}{bs[bb]}{ts[tt]}{tl}" if k else f"{head}{x:.1f}{unit}{tl}"
                    for x, k, bb, tt, tl in zip(shown, kv, b[idx].tolist(), t[idx].tolist(),
                                                tail)]
    return out.reshape(shape)
