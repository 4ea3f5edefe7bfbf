"""Memory: weight bytes, KV-cache bytes, and what fits on how many GPUs.

Units: bytes, tokens, sequences. GB in messages is 1e9 bytes.

KV cache per token and layer holds ``kv_heads x (head_dim + v_head_dim)`` elements (K and V) for
MHA, GQA and MQA, or ``kv_lora_rank + qk_rope_head_dim`` for MLA's compressed latent (under
sparse attention in 8 bits, FlashMLA's layout with a scale per 128 and the RoPE part in 16 bits:
:meth:`~xlnapkin.catalog.Model.kv_bytes_per_layer_token`). A
sliding-window layer holds at most ``sliding_window`` tokens; layers without attention (Mamba and
other linear layers of hybrid models) hold none. They keep a fixed-size recurrent state per
sequence instead (the catalog's ``state_bytes_per_seq``, at the dtype the engine caches it in,
whatever the KV dtype), which counts with the cache: once per sequence in memory, read and
written once per decode step.
A sparse-attention indexer (DeepSeek-V3.2's DSA) keeps one more key per token and attention layer
(``index_head_dim`` 8-bit values and a 4-byte scale per 128, whatever the KV dtype), and lets
each new token attend to at most ``index_topk`` cached tokens: the decode step reads those and
every index key (``roofline``).

A replica's KV cache is counted once, spread over its GPUs. Tensor parallelism spreads it by KV
head while the GPUs are no more than the KV heads. With more GPUs than KV heads (Qwen3-235B-A22B
and Qwen3-30B-A3B have 4, so on 8 GPUs), and for MLA's single shared latent, plain tensor
parallelism keeps copies: ``num_gpus / kv_heads`` of them, one per GPU for MLA (SGLang's guide
to DP attention and LMDeploy's context-parallel notes say so), and such a replica holds that
many times fewer sequences than :func:`max_batch` says. Engines avoid the copies with attention
data parallelism (SGLang's DP attention, vLLM's and TensorRT-LLM's attention DP), the layout of
their high-throughput recipes for these models, which keeps instead a copy of the attention
weights on every GPU (for Qwen3-235B-A22B about 14 GB in bf16, where the count here spreads
them). The count here is tensor parallelism's for the weights and attention DP's for the KV
cache: optimistic for either layout in these cases.

>>> from xlnapkin.catalog import model
>>> kv_bytes("llama-3.1-405b")          # 2 x 126 layers x 8 KV heads x 128 x 2 bytes
516096.0
>>> round(kv_bytes("qwen2.5-32b", 200_000, 1, "fp8") / 1e9, 1)
26.2
"""

from __future__ import annotations

import math

import numpy as np

from . import _args, _checks
from .catalog import Model, gpu as _gpu, model as _model
from .errors import InvalidArgumentError, UnknownNameError
from .units import GB, SIXTEEN_BIT_EMBEDDINGS, dtype_bytes, dtype_name, is_gguf

__all__ = ["MEM_FRACTION", "KV_DTYPE", "weight_dtype_of", "kv_dtype_of", "weight_bytes",
           "kv_bytes", "kv_elements_per_token", "gpus_needed", "max_batch", "fits",
           "fit_message", "can_run", "why_not", "tp_degrees", "by_layers", "runs_when_it_fits",
           "moe_weight_bytes_read", "expected_experts"]

# Share of a GPU's memory that weights plus KV cache may use: the rest holds activations, the
# CUDA context and fragmentation (vLLM's gpu_memory_utilization defaults to 0.9 as well).
MEM_FRACTION = 0.9
KV_DTYPE = "bf16"  # a blank KV dtype: engines keep the cache in 16 bits unless told otherwise


# What a blank dtype argument means, written once: every function's wizard and reference entry
# reads it (``_excel.describe``), as issue 10 asks ("the wizard and docs say so").
BLANK_MEANS = {"weight_dtype": "the model's released format (its native_dtype)",
               "kv_dtype": KV_DTYPE}


def weight_dtype_of(model, weight_dtype):
    """The weight dtype a call means: as given, or when blank (``None``) the model's released
    checkpoint dtype (the catalog's ``native_dtype``: mxfp4 for gpt-oss, fp8 for DeepSeek-V3)."""
    if weight_dtype is None:
        return _model(model).native_dtype or "bf16"
    return _checked_dtype(weight_dtype, "weight_dtype")


def kv_dtype_of(kv_dtype):
    """The KV-cache dtype a call means: as given, or :data:`KV_DTYPE` when blank."""
    return KV_DTYPE if kv_dtype is None else _checked_dtype(kv_dtype, "kv_dtype")


def _checked_dtype(dtype, name: str):
    """``dtype`` as given, once it is a dtype; its error names the argument (a review:
    "dtype must be ..., got '4096'" left a user guessing which of two dtypes was meant)."""
    if type(dtype) is float and 0 < dtype <= 64:  # bits as a number: nothing to look up
        return dtype
    try:
        dtype_name(dtype)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(name, exc.requirement, exc.value) from None
    except UnknownNameError as exc:
        raise UnknownNameError(name, exc.value, exc.suggestions, exc.hint) from None
    return dtype


def runs_when_it_fits(tokens, batch=None, *, memory_only=False):
    """Mark a speed function that returns NaN where its configuration cannot run
    (:func:`can_run`).

    The mark is an ``explain(**arguments)`` attribute giving :func:`why_not` for the function's
    own arguments: ``tokens`` names the argument(s) holding the tokens per sequence (several
    are added: input plus output), ``batch`` the one holding the sequences (none: one
    sequence); the memory share is the function's ``mem_fraction`` argument where it has one,
    else :data:`MEM_FRACTION`. The Excel boundary shows that message in the cells where the
    result is NaN, and its own "no finite result" where the configuration does run.
    ``memory_only``: the function answers for any context and counts memory itself (NaN only
    where the heads cannot be split), so only the split and the link are reasons.
    """
    names = (tokens,) if isinstance(tokens, str) else tuple(tokens)

    def explain(gpu, model, weight_dtype=None, kv_dtype=None, num_gpus=1, **args):
        held = 0.0 if memory_only else sum(np.asarray(args[n], dtype=float) for n in names)
        seqs = 0.0 if memory_only else args[batch] if batch else 1
        frac = args.get("mem_fraction", MEM_FRACTION)
        with np.errstate(all="ignore"):
            why = why_not(gpu, model, weight_dtype, kv_dtype, held, seqs, num_gpus, frac)
            runs = can_run(gpu, model, weight_dtype, kv_dtype, held, seqs, num_gpus, frac)
        if not memory_only:
            why = summed(why, names)
        # where it runs, NaN has another cause (an overflow): no reason rather than a wrong one
        return np.where(runs, None, np.asarray(why, dtype=object))

    def mark(fn):
        fn.explain = explain
        return fn

    return mark


def summed(why, names):
    """:func:`why_not`'s reasons for a context that adds the arguments ``names``: a context past
    the model's maximum says what it adds, as the sum is not what was typed (an analyst review:
    "got 1,000,000,256" for input_tokens 1e9 and output_tokens 256)."""
    if len(names) < 2:
        return why
    said = f" ({' + '.join(names)})"
    out = np.asarray(why, dtype=object)
    out = np.array([w + said if isinstance(w, str) and _TOO_LONG in w else w
                    for w in out.ravel()], dtype=object).reshape(out.shape)
    return out.item() if out.ndim == 0 else out


def weight_bytes(model, weight_dtype=None) -> float:
    """Bytes of all model weights (every expert of a mixture-of-experts model) at weight_dtype.
    [bytes]

    Args:
        model: *
        weight_dtype: *

    Returns parameters x bytes per element (block formats count their scales). A blank dtype is
    the released checkpoint's: gpt-oss's holds its experts in MXFP4 and the rest (attention,
    embeddings, router) in bf16, 65.2 GB for gpt-oss-120b. A 4-bit checkpoint (int4 for AWQ and
    GPTQ, nvfp4, mxfp4, fp4) keeps its embedding table and output head at 16 bits: 5.7 GB for
    Llama-3.1-8B in int4, where 4 bits for every parameter would say 4.0.

    >>> weight_bytes("llama-3.1-405b", "fp16")
    811700000000.0
    """
    m = _model(model)
    dtype = weight_dtype_of(m, weight_dtype)
    b = dtype_bytes(dtype)
    if m.native_dtype_scope == "experts" and m.is_moe and (
            weight_dtype is None or dtype_name(weight_dtype) == dtype_name(m.native_dtype)):
        experts = min(m.num_experts * m.expert_params, m.total_params)
        return experts * b + (m.total_params - experts) * 2.0
    if dtype_name(dtype) in SIXTEEN_BIT_EMBEDDINGS:
        return (m.total_params - m.embedding_params) * b + m.embedding_params * 2.0
    return m.total_params * b


def kv_elements_per_token(model) -> float:
    """KV elements one token adds in one attention layer (:attr:`Model.kv_elements_per_token`)."""
    return _model(model).kv_elements_per_token


def _windowed_tokens(m: Model, tokens):
    """Sum over attention layers of the tokens each layer keeps, for ``tokens`` of context."""
    n_attn = m.n_attention_layers
    n_win = min(int(m.sliding_window_layers or 0), n_attn) if m.sliding_window else 0
    full = (n_attn - n_win) * tokens
    if n_win:
        return full + n_win * np.minimum(tokens, m.sliding_window)
    return full


def _attended_tokens(m: Model, tokens):
    """Sum over attention layers of the cached tokens one new token attends to, at ``tokens``
    of context: those held (:func:`_windowed_tokens`), at most ``index_topk`` where a
    sparse-attention indexer picks them (DeepSeek-V3.2)."""
    if m.index_topk:
        tokens = np.minimum(tokens, float(m.index_topk))
    return _windowed_tokens(m, tokens)


def _index_bytes(m: Model, tokens):
    """Bytes of the sparse-attention indexer's key cache for ``tokens`` of context (every
    attention layer keeps every token's index key; 0 without an indexer)."""
    return m.index_bytes_per_token * m.n_attention_layers * tokens


def kv_bytes(model, tokens=1, batch=1, kv_dtype=None):
    """KV-cache bytes for batch sequences of tokens tokens each (GQA, MLA, sliding windows, a sparse-attention indexer's keys and a hybrid model's recurrent state counted).
    [bytes]

    Args:
        model: *
        tokens: tokens held per sequence (prompt plus generated) [tokens]
        batch: number of sequences [sequences]
        kv_dtype: *

    Returns bytes (1 GB = 1e9 bytes).

    >>> kv_bytes("qwen2.5-32b", 131072, 1, "fp8")   # the longest context it holds
    17179869184.0
    """
    m = _model(model)
    tokens = _checks.number(tokens, "tokens", 0)
    batch = _checks.sequences(batch, "batch", 0)
    return _checks.scalar_out(_kv_bytes(m, tokens, batch, kv_dtype))


def _kv_bytes(m, tokens, batch, kv_dtype):
    """:func:`kv_bytes` of a catalog model for checked ``tokens`` and ``batch``. [bytes]"""
    per_layer_token = m.kv_bytes_per_layer_token(dtype_bytes(kv_dtype_of(kv_dtype)))
    return (per_layer_token * _windowed_tokens(m, tokens) + _index_bytes(m, tokens)
            + (m.state_bytes_per_seq or 0.0)) * batch


def _kv_read_bytes(m, context, batch, kv_dtype):
    """KV-cache bytes one decode step reads for ``batch`` sequences at ``context``: the tokens
    each attends to (:func:`_attended_tokens`) and, with a sparse-attention indexer, the index
    keys of the whole context it scores, and a hybrid model's recurrent state, read and written
    back. [bytes]"""
    per_layer_token = m.kv_bytes_per_layer_token(dtype_bytes(kv_dtype_of(kv_dtype)))
    return (per_layer_token * _attended_tokens(m, context) + _index_bytes(m, context)
            + _state_traffic(m)) * batch


def _state_traffic(m):
    """Bytes of a hybrid model's recurrent state one decode step moves for one sequence: read,
    then written back (0 for a pure transformer). [bytes]"""
    return 2.0 * (m.state_bytes_per_seq or 0.0)


def expected_experts(n_experts, top_k, tokens):
    """Expected distinct experts that ``tokens`` tokens touch with uniform routing:
    ``N x (1 - ((N - k) / N) ** tokens)``."""
    return n_experts * (1.0 - ((n_experts - top_k) / n_experts) ** tokens)


def moe_weight_bytes_read(model, weight_dtype, tokens):
    """Weight bytes one forward pass over ``tokens`` tokens reads. [bytes]

    Dense models read everything. An MoE model reads its shared part plus the routed experts the
    tokens touch (:func:`expected_experts`); the per-expert size comes from the total and active
    parameter counts, so it holds whichever layers are MoE. Every parameter counts at the weight
    dtype's size. That is what the calibration was fitted on; two exact counts were tested and
    held out worse (benchmarks/RESULTS.md section 7, fifth round): a lookup reads no embedding
    table, and gpt-oss's checkpoint reads its attention in bf16, not MXFP4. So a 4-bit model's
    16-bit embeddings and head count in its memory (:func:`weight_bytes`), not here.
    """
    m = _model(model)
    bpe = dtype_bytes(weight_dtype_of(m, weight_dtype))
    if not m.is_moe:
        if isinstance(tokens, float):
            return m.total_params * bpe
        return m.total_params * bpe + 0.0 * np.asarray(tokens, dtype=float)
    n, k = m.num_experts, m.experts_per_token
    expert = m.expert_params  # params of one routed expert, all layers
    shared = m.total_params - n * expert
    return (shared + expected_experts(n, k, tokens) * expert) * bpe


def _as_float(x):
    """A Python float for one number (plain arithmetic is fast), else a float array."""
    if isinstance(x, float) or (type(x) is int and -2**53 <= x <= 2**53):
        return float(x)
    return np.asarray(x, dtype=float)


def _need(m, weight_dtype, kv_dtype, tokens, batch):
    """Bytes of the weights plus the KV cache of ``batch`` sequences of ``tokens`` tokens."""
    tokens, batch = _as_float(tokens), _as_float(batch)
    return weight_bytes(m, weight_dtype) + _kv_bytes(m, tokens, batch, kv_dtype)


def gpus_needed(gpu, model, weight_dtype=None, tokens=0, batch=0, kv_dtype=None,
                mem_fraction=MEM_FRACTION):
    """Fewest GPUs whose memory x mem_fraction holds the weights plus the KV cache of batch sequences.
    [GPUs]

    Args:
        gpu: *
        model: *
        weight_dtype: *
        tokens: tokens held per sequence [tokens]
        batch: number of sequences whose KV cache must fit [sequences]
        kv_dtype: *
        mem_fraction: *

    Memory alone decides: a tensor-parallel replica also needs a GPU count the model's heads
    split over (405B in bf16 needs 12 H100s' memory at the default 90 % and runs on 16), which
    the speed functions' messages name, and GPUs with a link between them (the catalog gives
    none for Apple's, which run alone). It is the fewest GPUs that hold one batch, not how many
    serve a load: for a request rate and latency limits, REPLICAS_FOR_SLA x num_gpus (a replica
    that only just holds its weights has little memory left for requests).

    >>> gpus_needed("h100-sxm", "llama-3.1-405b", "fp16", 0, 0, None, 1)
    11.0
    """
    g, m = _gpu(gpu), _model(model)
    tokens = _checks.number(tokens, "tokens", 0)
    batch = _checks.sequences(batch, "batch", 0)
    frac = _checks.fraction(mem_fraction, "mem_fraction")
    need = _need(m, weight_dtype, kv_dtype, tokens, batch)
    # A hair below the integer so that exact multiples do not round up through float error.
    return _checks.scalar_out(np.ceil(need / (g.memory_bytes * frac) * (1 - 1e-12)))


@runs_when_it_fits("tokens", memory_only=True)
def max_batch(gpu, model, tokens=1024, weight_dtype=None, kv_dtype=None, num_gpus=1,
              mem_fraction=MEM_FRACTION):
    """Most concurrent sequences of tokens tokens whose KV cache fits beside the weights (0 if the weights do not fit).
    [sequences]

    Args:
        gpu: *
        model: *
        tokens: tokens held per sequence [tokens]
        weight_dtype: *
        kv_dtype: *
        num_gpus: *
        mem_fraction: *

    Memory alone decides: a context beyond the model's maximum still gets a number (NaN where
    the model's heads cannot be split over num_gpus GPUs, or for GGUF weights, split by layers,
    where the GPUs outnumber the layers, and over several GPUs of one without a known link).
    The KV cache is counted once, spread over the GPUs, as engines that split attention by
    data parallelism hold it. Plain tensor parallelism over more GPUs than the model's KV heads,
    or over an MLA model, keeps a copy on each GPU group instead, and holds that many times
    fewer sequences (DeepSeek-V3 on 8 GPUs: an eighth of this count).

    >>> max_batch("b200; memory_gb=192", "qwen2.5-32b", 131072, "fp8", "fp8", 1, 1)
    9.0
    """
    g, m = _gpu(gpu), _model(model)
    tokens = _checks.number(tokens, "tokens", 1)
    num_gpus = _checks.number(num_gpus, "num_gpus", 1, _checks.MAX_GPUS, integer=True)
    frac = _checks.fraction(mem_fraction, "mem_fraction")
    free = num_gpus * g.memory_bytes * frac - weight_bytes(m, weight_dtype)
    per_seq = kv_bytes(m, tokens, 1, kv_dtype)
    most = np.maximum(np.floor(free / per_seq * (1 + 1e-12)), 0.0)
    runs = _splits(m, num_gpus, by_layers(m, weight_dtype))
    if not g.interconnect_gbps:  # no known link: one GPU (a sweep audit: 833 on 8 M1 Maxes)
        runs = runs & (np.asarray(num_gpus, dtype=float) <= 1)
    return _checks.scalar_out(np.where(runs, most, np.nan))


def fits(gpu, model, weight_dtype=None, kv_dtype=None, tokens=0, batch=1, num_gpus=1,
         mem_fraction=MEM_FRACTION):
    """True where weights plus KV cache fit in ``mem_fraction`` of ``num_gpus`` GPUs' memory."""
    g, m = _gpu(gpu), _model(model)
    need = _need(m, weight_dtype, kv_dtype, tokens, batch)
    return need <= num_gpus * g.memory_bytes * mem_fraction * (1 + 1e-12)


def fit_message(gpu, model, weight_dtype=None, kv_dtype=None, tokens=0, batch=1,
                num_gpus=1, mem_fraction=MEM_FRACTION):
    """Why one configuration cannot run, and the fewest GPUs that would hold it: the weights
    and the KV cache of ``batch x tokens`` together, so that the count it suggests runs the
    configuration asked about (not only the weights, which would leave the next try short of
    room for the cache). The size it names is the weights' where they alone do not fit (a few
    messages for a whole grid of batches and contexts), else the weights' and the cache's.

    Scalars give one message. Arrays (``tokens``, ``batch``, ``num_gpus``, ``mem_fraction``
    broadcast) give an object array with each element's message, the same text as one scalar
    call per element (the Excel boundary words a whole range of cells this way). It speaks
    of the memory alone: :func:`why_not` gives every reason, and says where there is none.

    The suggestion is a GPU count the model's heads split over:

    >>> fit_message("h100-sxm", "llama-3.1-70b", mem_fraction=1)
    'llama-3.1-70b needs 141.1 GB in bf16; 1 x h100-sxm has 80 GB: use num_gpus >= 2'
    >>> fit_message("h100-sxm", "llama-3.1-405b", mem_fraction=1)
    'llama-3.1-405b needs 811.7 GB in bf16; 1 x h100-sxm has 80 GB: use num_gpus 16 (11 would hold it, but its heads do not split over 11)'
    >>> fit_message("h100-sxm", "llama-3.1-405b", None, None, 4096, 256)
    'llama-3.1-405b needs 811.7 GB in bf16 for its weights alone, more with the KV cache; 1 x h100-sxm has 80 GB (90% usable): use num_gpus 32 (19 would hold it, but its heads do not split over 19)'
    >>> fit_message("h100-sxm", "llama-3.1-70b", "fp8", None, 131072, 4)
    'llama-3.1-70b needs 242.3 GB in fp8 with KV for 4 x 131072 tokens; 1 x h100-sxm has 80 GB (90% usable): use num_gpus >= 4'
    """
    g, m = _gpu(gpu), _model(model)
    if np.ndim(tokens) or np.ndim(batch) or np.ndim(num_gpus) or np.ndim(mem_fraction):
        return _fit_messages(g, m, weight_dtype, kv_dtype, tokens, batch, num_gpus,
                             mem_fraction)
    tokens, batch, num_gpus = float(tokens), float(batch), int(num_gpus)
    need = float(_need(m, weight_dtype, kv_dtype, tokens, batch))
    return _fit_text(m, dtype_name(weight_dtype_of(m, weight_dtype)), g.id, g.memory_gb,
                     g.memory_bytes, need, tokens, batch, num_gpus, mem_fraction,
                     weight_bytes(m, weight_dtype), by_layers(m, weight_dtype),
                     bool(g.interconnect_gbps))


# how :func:`why_not` starts where nothing stops the configuration; a caller whose NaN has
# another cause (an overflow) gives no reason rather than this one
RUNS = "nothing: "


def _runs_text(model, gpu, num_gpus, mem_fraction) -> str:
    """:func:`why_not` where nothing stops the configuration."""
    return (f"{RUNS}{model.id} runs on {num_gpus:g} x {gpu.id}, within the "
            f"{mem_fraction * 100:g}% of its memory it may use")


def _distinct(values):
    """(sorted distinct values, index of each element's value): ``np.unique`` with
    ``return_inverse``, through a lookup table where the values are whole numbers within a
    million of each other (no sort of a million elements)."""
    values = np.asarray(values)
    if values.ndim == 0:  # one value for every element
        return values.reshape(1), np.zeros((), dtype=np.int64)
    values = values.ravel()
    if values.size and np.issubdtype(values.dtype, np.number):
        lo, hi = values.min(), values.max()
        if float(hi) - float(lo) < 1 << 20 and np.all(values == np.floor(values)):
            offset = (values - lo).astype(np.int64)
            present = np.bincount(offset, minlength=int(hi - lo) + 1) > 0
            keys = np.flatnonzero(present)
            lookup = np.cumsum(present) - 1
            return (keys + lo).astype(values.dtype), lookup[offset]
    keys, inverse = np.unique(values, return_inverse=True)
    return keys, inverse.ravel()


def _tenths_text(tenths: int) -> str:
    """A non-negative number of tenths as a decimal with one place (``8117`` -> ``811.7``):
    messages round GB to tenths half-to-even (``round``, ``np.rint``) and print them so, the
    same for one cell and for a range."""
    return f"{tenths // 10}.{tenths % 10}"


def _gb_text(nbytes: float) -> str:
    """Bytes as GB in a message: tenths (half to even), or three figures past a million GB."""
    if not math.isfinite(nbytes):
        return "more than 1e299"
    return _tenths_text(round(nbytes / GB * 10.0)) if nbytes < 1e6 * GB else f"{nbytes / GB:.3g}"


def _weights_text(model, weights, dtype) -> str:
    """The start of a message where not even the weights fit (the KV cache adds to them)."""
    return f"{model.id} needs {_gb_text(weights)} GB in {dtype} for its weights alone, more " \
           "with the KV cache"


def _fit_text(model, dtype, gpu_id, memory_gb, memory_bytes, need, tokens, batch, num_gpus,
              mem_fraction, weights, layers=False, linked=True) -> str:
    """The words of :func:`fit_message` for one configuration (the model, then scalars;
    ``weights`` is the weights' share of ``need`` in bytes). Where the weights alone do not fit
    the message names them and the count that holds the KV cache too, so that a whole range
    short of room for its weights reads as a few messages, not one per cell."""
    usable = memory_bytes * mem_fraction
    if weights > num_gpus * usable and tokens * batch > 0:
        what = _weights_text(model, weights, dtype)
    else:
        what = f"{model.id} needs {_gb_text(need)} GB in {dtype}"
        if tokens * batch > 0:
            what += f" with KV for {batch:g} x {tokens:g} tokens"
    have = f"{num_gpus} x {gpu_id} has {num_gpus * memory_gb:g} GB"
    if mem_fraction < 1:
        have += f" ({mem_fraction:.0%} usable)"
    least = need / usable
    degrees = _linked_degrees(model, layers, linked)
    kv = _weights_split(model, weights, usable, degrees)
    if not least < 1e6:  # absurd inputs: no sensible number of GPUs to suggest
        return f"{what}; {have}: {_no_count_advice(kv)}"
    advice = _advice(model, math.ceil(least - 1e-9), kv, degrees, layers, linked)
    return f"{what}; {have}: {advice}"


def _linked_degrees(model, layers, linked=True) -> list[int]:
    """The GPU counts a replica can run on: those the model splits over (:func:`_degrees`),
    only one GPU where the GPUs have no known link between them (as :func:`can_run` says)."""
    return _degrees(model, None, layers) if linked else [1]


def _no_count_advice(kv: bool) -> str:
    """The advice where no count of GPUs is worth suggesting: less KV cache where the weights
    alone would fit (``kv``), else bigger GPUs or smaller weights."""
    return ("hold fewer sequences or tokens" if kv
            else "use GPUs with more memory or a smaller weight dtype")


def _weights_split(model, weights, usable_per_gpu, degrees=None) -> bool:
    """True where the weights alone fit the largest count of GPUs the model's heads split over
    (so that less KV cache is the way to make a configuration fit)."""
    return weights <= (degrees or tp_degrees(model))[-1] * usable_per_gpu


def _advice(model, least: int, kv: bool, degrees=None, layers=False, linked=True) -> str:
    """What to do when ``least`` GPUs are the fewest whose memory holds the configuration: that
    many where the model's heads split over them, else the next count they split over; where no
    count does, less KV cache where the weights alone would fit (``kv``), else bigger GPUs or
    smaller weights. (``degrees``: :func:`tp_degrees` of the model and weight dtype, when
    already known; ``layers``: split by layers, :func:`by_layers`; ``linked``: False where the
    GPUs have no known link between them, so that a replica is one GPU. A usability audit: such
    a GPU was told "use num_gpus >= 2", which every function refused. The words name no GPU,
    so that the templates' twin, ``_napkin._FIT_ADVICE``, writes them too.)"""
    if not linked and least > 1:
        return (f"{_no_count_advice(kv)} ({least} would hold it, but {NO_LINK_ADVICE})")
    degrees = degrees or _degrees(_model(model), None, layers)
    unit = "layers" if layers else "heads"
    fit = [d for d in degrees if d >= least]
    if fit and fit[0] == least:
        return f"use num_gpus >= {least}"
    if fit:
        return (f"use num_gpus {fit[0]} ({least} would hold it, but its heads do not split over "
                f"{least})")
    return (f"{_no_count_advice(kv)} ({least} GPUs would hold it, but its {unit} split over at "
            f"most {degrees[-1]})")


def _fit_messages(g, m, weight_dtype, kv_dtype, tokens, batch, num_gpus, mem_fraction):
    """:func:`fit_message` element by element over broadcast arrays: the numbers in NumPy, the
    repeated pieces of text formatted once, and :func:`_fit_text` itself for the rare element
    outside the plain case (absurd sizes). [object array of str]"""
    values = [np.asarray(x, dtype=float) for x in (tokens, batch, num_gpus, mem_fraction)]
    shape = np.broadcast_shapes(*(v.shape for v in values))
    # Elementwise arrays, flat; a single GPU count and memory share (the usual case) stay
    # scalars rather than becoming a million copies.
    t, b, n, f = (v if v.ndim == 0 and k >= 2 else np.broadcast_to(v, shape).ravel()
                  for k, v in enumerate(values))
    out = np.empty(t.shape, dtype=object)
    weights = weight_bytes(m, weight_dtype)
    need = np.broadcast_to(_need(m, weight_dtype, kv_dtype, t, b), t.shape).astype(float)
    dtype = dtype_name(weight_dtype_of(m, weight_dtype))
    ngpu = n.astype(np.int64)          # int() of a positive float

    def at(x, where):  # elements of an array; a scalar is the same for every element
        return x[where] if x.ndim else x
    usable = g.memory_bytes * f
    with np.errstate(all="ignore"):
        least = need / usable
        sane = least < 1e6  # a GPU count worth suggesting (False for inf and NaN)
        kv_all = t * b > 0  # elements whose message names the KV cache
        # Not even the weights fit: the message names the weights, the same in every such cell.
        short_all = kv_all & (weights > n * usable)
        plain = ~short_all & np.isfinite(need) & (need < 1e6 * GB) & sane & np.isfinite(t * b)
        gpus = np.where(sane, np.ceil(least - 1e-9), 0.0)
    odd = np.flatnonzero(~plain & ~short_all)
    layered = by_layers(m, weight_dtype)  # GGUF: split by layers, not heads
    linked = bool(g.interconnect_gbps)
    for i in odd.tolist():
        out[i] = _fit_text(m, dtype, g.id, g.memory_gb, g.memory_bytes, float(need[i]),
                           float(t[i]), float(b[i]), int(at(n, i)), float(at(f, i)), weights,
                           layered, linked)
    # The suggestion depends on (mem_fraction, num_gpus, GPU count): few distinct values. Small
    # whole numbers are indexed by a lookup table rather than sorted (a range is often 1e6 cells).
    idx = np.flatnonzero(plain | short_all)
    fk, finv = _distinct(at(f, idx))
    nk, ninv = _distinct(at(ngpu, idx))
    lk, linv = _distinct(gpus[idx])  # 0: no sensible count
    code = (finv * len(nk) + ninv) * len(lk) + linv
    tails, degrees = {}, _linked_degrees(m, layered, linked)

    def tail(c):
        if c not in tails:
            fi, rest = divmod(c, len(nk) * len(lk))
            ni, li = divmod(rest, len(lk))
            nn, ff, ls = int(nk[ni]), float(fk[fi]), int(lk[li])
            have = f"{nn} x {g.id} has {nn * g.memory_gb:g} GB"
            if ff < 1:
                have += f" ({ff:.0%} usable)"
            kv = _weights_split(m, weights, g.memory_bytes * ff, degrees)
            advice = (_advice(m, ls, kv, degrees, layered, linked) if ls
                      else _no_count_advice(kv))
            tails[c] = f"; {have}: {advice}"
        return tails[c]

    short = short_all[idx]
    if short.any():
        head = _weights_text(m, weights, dtype)
        sk, sinv = _distinct(code[short])
        out[idx[short]] = np.array([head + tail(c) for c in sk.tolist()], dtype=object)[sinv]
    idx, code = idx[~short], code[~short]
    if idx.size:
        # Each piece of text is printed once per distinct value and picked per element by
        # index; the GB figure in tenths has far fewer distinct values than there are elements.
        def pieces(texts, inverse):
            return np.array(texts, dtype=object)[inverse.ravel()].tolist()

        kv = kv_all[idx]
        tk, tinv = _distinct(np.rint(need[idx] / GB * 10.0).astype(np.int64))
        shown = pieces([f"{m.id} needs {_tenths_text(k)} GB in {dtype}" for k in tk.tolist()],
                       tinv)
        def named(values, form):  # each element's text, blank where no KV is named
            if not kv.any():
                return [""] * idx.size
            keys, inverse = _distinct(values)
            texts = pieces([form.format(v) for v in keys.tolist()], inverse)
            return texts if kv.all() else [x if k else "" for x, k in zip(texts, kv.tolist())]
        batches = named(at(b, idx), " with KV for {:g} x ")
        contexts = named(at(t, idx), "{:g} tokens")
        ck, cinv = _distinct(code)
        tail_texts = [tail(c) for c in ck.tolist()]
        out[idx] = list(map("".join, zip(shown, batches, contexts, pieces(tail_texts, cinv))))
    return out.reshape(shape)


# --- configurations that cannot run ---------------------------------------------------------------

def kv_copies(model, num_gpus=1, weight_dtype=None) -> float:
    """Copies of the KV cache plain tensor parallelism keeps on ``num_gpus`` GPUs: one per
    GPU for MLA's shared latent, ``num_gpus / kv_heads`` with more GPUs than KV heads, else 1;
    1 for GGUF weights, which llama.cpp splits by layers (each layer's cache on its GPU).
    The memory functions count one copy, spread (attention data parallelism's layout: see the
    module's notes), so such a plain tensor-parallel replica holds this many times fewer
    sequences than they say (fewer, but not that many times, where a hybrid's recurrent state,
    which is split, takes part of each sequence's memory).

    >>> kv_copies("deepseek-v3", 8), kv_copies("qwen3-235b-a22b", 8), kv_copies("llama-3.1-70b", 8)
    (8.0, 2.0, 1.0)
    """
    m, n = _model(model), float(num_gpus)
    if n <= 1 or (weight_dtype is not None and is_gguf(weight_dtype)):
        return 1.0
    return n if m.is_mla else max(1.0, n / m.kv_heads)


def kv_layout_note(model, num_gpus=1, weight_dtype=None) -> str:
    """What a reader of a sequence count should know where :func:`kv_copies` is above 1, else
    "": the count is attention data parallelism's."""
    m, copies = _model(model), kv_copies(model, num_gpus, weight_dtype)
    if copies <= 1:
        return ""
    # a hybrid's recurrent state is split, not copied: fewer requests, not copies-times fewer
    fewer = ("so fewer requests fit (its recurrent state is not copied)" if m.state_bytes_per_seq
             else f"and holds {copies:g} times fewer requests")
    return (f"{m.id}'s KV cache is counted once, spread over the {float(num_gpus):g} GPUs, as "
            "attention data parallelism runs it (SGLang's DP attention, vLLM's and "
            f"TensorRT-LLM's attention DP); plain tensor parallelism keeps {copies:g} copies of "
            f"it {fewer}")


def by_layers(model, weight_dtype=None) -> bool:
    """True where a replica of this model in ``weight_dtype`` is split over its GPUs by layers
    rather than by heads: llama.cpp's GGUF formats (its default ``--split-mode layer``)."""
    return is_gguf(weight_dtype_of(model, weight_dtype))


def domain_degrees(gpu, model, weight_dtype=None) -> list[int]:
    """The GPU counts of :func:`tp_degrees` within one peer-link domain (``nvlink_gpus``; 8, an
    HGX board, where the catalog gives none); for GGUF weights up to 8, as their layers pass
    little between GPUs: the counts per replica worth comparing.

    >>> domain_degrees("h100-pcie", "llama-3.1-70b"), domain_degrees("h100-sxm", "qwen2.5-32b")
    ([1, 2], [1, 2, 4, 8])
    """
    g, m = _gpu(gpu), _model(model)
    most = 8 if by_layers(m, weight_dtype) else int(g.nvlink_gpus or 8)
    return tp_degrees(m, most, weight_dtype)


def tp_degrees(model, up_to=None, weight_dtype=None) -> list[int]:
    """GPU counts one replica of the model can be split over, up to ``up_to``. Tensor
    parallelism: the attention heads divide evenly and the KV heads either divide evenly or are
    replicated evenly (MLA's shared latent has no KV heads to split), as vLLM, SGLang and
    TensorRT-LLM require. GGUF weights (:func:`by_layers`): any count up to one GPU per layer,
    as llama.cpp assigns whole layers to each GPU in proportion to its memory.

    >>> tp_degrees("llama-3.1-70b", 8), tp_degrees("llama-3.1-70b", 4, "q4_k_m")
    ([1, 2, 4, 8], [1, 2, 3, 4])
    """
    m = _model(model)
    return _degrees(m, up_to, by_layers(m, weight_dtype))


def _degrees(m, up_to, layers) -> list[int]:
    """:func:`tp_degrees` of the catalog model ``m``, split by layers or not."""
    if layers:
        return list(range(1, min(up_to or m.layers, m.layers) + 1))
    heads, kv = m.n_heads, m.kv_heads
    out = []
    for n in range(1, (up_to or heads) + 1):
        if heads % n:
            continue
        if not m.is_mla and (kv % n if n <= kv else n % kv):
            continue
        out.append(n)
    return out


def _splits(m, n, layers=False):
    """True where ``n`` GPUs can hold one tensor-parallel replica of ``m`` (``layers``: one split
    by layers, :func:`by_layers`, which needs no more GPUs than layers)."""
    if layers:
        n = np.asarray(n, dtype=float)
        ok = (n >= 1) & (n <= m.layers) & (n == np.floor(n))
        return bool(ok) if ok.ndim == 0 else ok
    if isinstance(n, float) or type(n) is int:  # one value: plain Python is ten times faster
        if n < 1 or not float(n).is_integer():
            return False
        k, kv = int(n), m.kv_heads
        return m.n_heads % k == 0 and (m.is_mla or (kv % k == 0 if k <= kv else k % kv == 0))
    n = np.asarray(n, dtype=float)
    ok = (n >= 1) & (m.n_heads % np.where(n >= 1, n, 1) == 0)
    if not m.is_mla:
        kv = m.kv_heads
        safe = np.where(n >= 1, n, 1)
        ok &= np.where(safe <= kv, kv % safe == 0, safe % kv == 0)
    return ok


_ONE = (float, int, np.float64)  # types of a single number (not bool)


def can_run(gpu, model, weight_dtype=None, kv_dtype=None, tokens=0, batch=1, num_gpus=1,
            mem_fraction=MEM_FRACTION):
    """True where a replica of ``num_gpus`` GPUs can serve ``batch`` sequences of ``tokens``
    tokens: its heads split over the GPUs (GGUF weights: at most one GPU per layer, as llama.cpp
    splits them), the GPUs have a known link between them (several),
    the context is within the model's maximum, and the weights plus KV cache fit in
    ``mem_fraction`` of the memory (:func:`why_not` says why not)."""
    g, m = _gpu(gpu), _model(model)
    if (type(num_gpus) in _ONE and type(tokens) in _ONE and type(batch) in _ONE
            and type(mem_fraction) in _ONE):  # one configuration: plain Python
        return bool((not m.max_context or tokens <= m.max_context)
                    and _splits(m, num_gpus, by_layers(m, weight_dtype))
                    and (g.interconnect_gbps or num_gpus <= 1)
                    and fits(g, m, weight_dtype, kv_dtype, tokens, batch, num_gpus,
                             mem_fraction))
    # a list (a caller's range of GPU counts, say) reaches here as the caller gave it
    num_gpus, tokens, batch, mem_fraction = (np.asarray(v, dtype=float) for v in
                                             (num_gpus, tokens, batch, mem_fraction))
    ok = fits(g, m, weight_dtype, kv_dtype, tokens, batch, num_gpus, mem_fraction)
    ok = ok & _splits(m, num_gpus, by_layers(m, weight_dtype))
    if not g.interconnect_gbps:  # no known GPU-to-GPU link: one GPU only
        ok = ok & (np.asarray(num_gpus, dtype=float) <= 1)
    if m.max_context:
        ok = ok & (np.asarray(tokens, dtype=float) <= m.max_context)
    return ok


_TOO_LONG = " tokens per sequence, got "  # a context past the model's maximum (why_not)

# Why a GPU without a known link is told no count (_advice); the spec string that gives one is
# in _no_link_message, which names the GPU.
NO_LINK_ADVICE = ("the GPU has no interconnect_gbps above 0 (no known link to another), so a "
                  "replica runs on one")


def _no_link_message(g) -> str:
    """Why a GPU without a link runs a model on one GPU only, and the spec string that gives it
    one; where the spec string itself gave the link as 0, that it did (a hardening audit: the
    advice added a second interconnect_gbps, which a spec string refuses)."""
    if g.interconnect_gbps is not None:  # given, as 0 (blank is None)
        return (f"{g.id} gives interconnect_gbps 0 (no link), so it serves a model on one GPU "
                "only; give the link's GB/s instead, e.g. interconnect_gbps=64")
    return (f"{g.id} has no interconnect_gbps in the catalog, so it serves a model on one GPU "
            f"only; give the link in a spec string, e.g. \"{g.id}; interconnect_gbps=64\"")


def why_not(gpu, model, weight_dtype=None, kv_dtype=None, tokens=0, batch=1, num_gpus=1,
            mem_fraction=MEM_FRACTION):
    """Why a configuration cannot run (see :func:`can_run`): the heads that cannot be split,
    then a context beyond the model's maximum, then the memory (:func:`fit_message`). Arrays
    broadcast and give one message per element.

    >>> why_not("h100-sxm", "llama-3.1-8b", num_gpus=3)
    "llama-3.1-8b's 32 attention heads cannot be split over 3 GPUs: use num_gpus 1, 2, 4, 8, 16 or 32"
    >>> why_not("h100-sxm", "llama-2-7b", tokens=8192)
    'llama-2-7b holds at most 4,096 tokens per sequence, got 8,192'

    Where it can run, it says so (a CLI audit: the memory's "use num_gpus >= 1" read as a
    failure):

    >>> why_not("h100-sxm", "llama-3.1-8b")
    'nothing: llama-3.1-8b runs on 1 x h100-sxm, within the 90% of its memory it may use'
    """
    g, m = _gpu(gpu), _model(model)
    _checks.fraction(mem_fraction, "mem_fraction")
    shape = np.broadcast_shapes(np.shape(tokens), np.shape(batch), np.shape(num_gpus),
                                np.shape(mem_fraction))
    n = np.broadcast_to(np.asarray(num_gpus, dtype=float), shape)
    t = np.broadcast_to(np.asarray(tokens, dtype=float), shape)
    long = t > m.max_context if m.max_context else np.zeros(shape, dtype=bool)
    alone = n > 1 if not g.interconnect_gbps else np.zeros(shape, dtype=bool)
    layered = by_layers(m, weight_dtype)
    split = np.broadcast_to(~np.asarray(_splits(m, np.asarray(num_gpus, dtype=float), layered)),
                            shape)
    memory = ~(long | alone | split)  # the elements whose reason is the memory
    if memory.all():
        out = np.asarray(fit_message(g, m, weight_dtype, kv_dtype, tokens, batch, num_gpus,
                                     mem_fraction), dtype=object)
        out = np.array(np.broadcast_to(out, shape), dtype=object)
    else:
        out = np.empty(shape, dtype=object)
        if memory.any():
            pick = [np.broadcast_to(np.asarray(x, dtype=float), shape)[memory]
                    for x in (tokens, batch, num_gpus, mem_fraction)]
            out[memory] = fit_message(g, m, weight_dtype, kv_dtype, *pick)
    f = np.broadcast_to(np.asarray(mem_fraction, dtype=float), shape)
    runs = memory & fits(g, m, weight_dtype, kv_dtype, np.asarray(tokens, dtype=float),
                         np.asarray(batch, dtype=float), n, f)
    if runs.any():
        if np.ndim(num_gpus) == np.ndim(mem_fraction) == 0:  # one text for the whole grid
            out[runs] = _runs_text(m, g, float(num_gpus), float(mem_fraction))
        else:
            for nn, ff in set(zip(n[runs].tolist(), f[runs].tolist())):
                out[runs & (n == nn) & (f == ff)] = _runs_text(m, g, nn, ff)
    if long.any():
        values, inverse = np.unique(t[long], return_inverse=True)
        most = f"{m.id} holds at most {m.max_context:,.0f}{_TOO_LONG}"
        out[long] = np.array([most + (f"{v:,.0f}" if v < 1e15 else f"{v:.3g}")
                              for v in values.tolist()], dtype=object)[inverse]
    if alone.any():
        out[alone] = _no_link_message(g)
    if split.any():
        # the counts the heads split over that also hold this configuration (a review: 70B at
        # a batch of 64 on 3 H100s was told 1 and 2, which then failed on memory)
        degrees = [d for d in tp_degrees(m, weight_dtype=weight_dtype)
                   if d <= 1 or g.interconnect_gbps]
        tok, b, frac = (np.broadcast_to(np.asarray(x, dtype=float), shape)[split]
                        for x in (tokens, batch, mem_fraction))
        # per element, the count asked for, the first degree that holds it (as fits() counts;
        # more GPUs hold more, so every degree from there on does) and whether the context or
        # a missing link already says why: one small number per element, a few messages for
        # a whole grid
        need = np.broadcast_to(_need(m, weight_dtype, kv_dtype, tok, b), tok.shape)
        k = len(degrees)
        fit = np.zeros((tok.size, k), dtype=bool)
        for j, d in enumerate(degrees):
            fit[:, j] = need <= d * g.memory_bytes * frac * (1 + 1e-12)
        fit &= ~long[split][:, None]  # a context beyond the maximum runs on no count
        first = np.where(fit.any(axis=1), fit.argmax(axis=1), k)
        other = (long | alone)[split]
        if np.ndim(num_gpus) == 0:
            asked, which = np.array([float(num_gpus)]), np.zeros(tok.size, dtype=np.int64)
        else:
            asked, which = np.unique(n[split], return_inverse=True)
        key = (np.ravel(which) * (k + 1) + first) * 2 + other
        keys = np.flatnonzero(np.bincount(key))
        lookup = np.zeros(keys[-1] + 1, dtype=np.int64)
        lookup[keys] = np.arange(keys.size)
        everyone = _either(degrees)
        texts = []
        for value in keys.tolist():
            v, f = asked[value // 2 // (k + 1)], value // 2 % (k + 1)
            head = (f"{m.id}'s {m.layers} layers cannot be split over {v:g} GPUs: " if layered
                    else f"{m.id}'s {m.n_heads} attention heads cannot be split over {v:g} GPUs: ")
            texts.append(head + f"use num_gpus {_either(degrees[f:])}" if f < k else
                         None if value % 2 else  # the context or the link says why
                         head + f"use num_gpus {everyone} (none of which holds it)")
        said = np.array(texts, dtype=object)[lookup[key]]
        mine = (first < k) | ~other  # elsewhere the context's or the link's message stands
        out.reshape(-1)[np.flatnonzero(split.ravel())[mine]] = said[mine]
    return out.item() if out.ndim == 0 else out


def _either(counts) -> str:
    """'1, 2, 4 or 8'; a run of three or more consecutive counts as '1 to 80'."""
    counts = list(counts)
    if len(counts) >= 3 and counts[-1] - counts[0] == len(counts) - 1:
        return f"{counts[0]} to {counts[-1]}"
    counts = [str(c) for c in counts]
    return " or ".join(filter(None, [", ".join(counts[:-1]), counts[-1]]))


_args.fill(globals())  # the shared argument descriptions (xlnapkin._args)
