"""GPU, model and API-price catalogs: typed rows, lookup by id or alias, spec strings, user files.

The data lives in CSV files inside the package (``xlnapkin/data``, described in its README) so
it ships in the wheel and works in xlwings Lite. Extra rows come from a user catalog folder named
by the environment variable ``XLNAPKIN_CATALOG``: its ``gpus.csv``, ``models.csv`` and
``prices.csv`` add rows or override package rows with the same id.

Lookup is exact after normalising case and separators (``"H100 SXM"``, ``"h100_sxm"`` and
``"h100-sxm"`` are the same), through explicit aliases, never by substring. A spec string gives
overrides or a fully custom item: ``"b200; memory_gb=192"`` or
``"memory_gb=80; mem_bw_tbps=2; bf16_tflops=312"``.

Catalog columns carry human units (``memory_gb``, ``mem_bw_tbps``, ``bf16_tflops``); the
properties on :class:`GPU` and :class:`Model` give internal units (bytes, bytes/s, FLOP/s).

>>> gpu("H100").id, gpu("b200; memory_gb=192").memory_gb
('h100-sxm', 192.0)
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import functools
import io
import os
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import CatalogError, InvalidArgumentError, UnknownNameError
from .units import DTYPE_BITS, GB, TB, TFLOPS, dtype_name

__all__ = ["GPU", "Model", "Price", "gpu", "model", "price", "gpus", "models", "prices",
           "gpu_ids", "model_ids", "price_ids", "table", "spec_value", "normalise_id",
           "comparable_price", "field_bounds", "USER_CATALOG_ENV", "user_files", "is_stale",
           "prices_given", "PRICE_FIELDS"]

USER_CATALOG_ENV = "XLNAPKIN_CATALOG"


_SPACES = re.compile(r"[\s_]")


def _plain(text: str) -> str:
    """Text pasted from a web page read as it shows (a review): NFKC folds full-width letters
    and digits, any space (a non-breaking one, a tab) is a space, any dash or minus sign (a
    non-breaking hyphen, an en dash, U+2212) a hyphen, and invisible format characters (a
    zero-width space) go."""
    if text.isascii():
        return text
    return "".join(" " if ch.isspace() else
                   "-" if ch == "\u2212" or unicodedata.category(ch) == "Pd" else ch
                   for ch in unicodedata.normalize("NFKC", text)
                   if unicodedata.category(ch) != "Cf")


def normalise_id(text: str) -> str:
    """Lower-case, with spaces, underscores and repeated hyphens folded to one hyphen, after
    :func:`_plain`.

    >>> normalise_id("Llama 3.1\u00a08B"), normalise_id("\uff28100\u200b"), normalise_id("a\u2011b")
    ('llama-3.1-8b', 'h100', 'a-b')
    """
    text = _plain(text)
    out = _SPACES.sub("-", text.strip().lower())
    for ch in "()[],":
        out = out.replace(ch, "")
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")


@dataclass(frozen=True)
class GPU:
    """One accelerator. TFLOPS/TOPS are dense tensor-core peaks; ``None`` means no native path."""

    id: str
    memory_gb: float
    mem_bw_tbps: float
    bf16_tflops: float
    fp16_tflops: float | None = None
    fp8_tflops: float | None = None
    fp4_tflops: float | None = None
    int8_tops: float | None = None
    interconnect_gbps: float | None = None
    nvlink_gpus: int | None = None       # GPUs one peer-link domain joins; blank = no limit
    pcie_gbps: float | None = None
    scaleout_gbps: float | None = None   # the network between domains, per GPU
    tdp_w: float | None = None
    cloud_usd_per_hour: float | None = None
    list_price_usd: float | None = None
    mamf_bf16_tflops: float | None = None
    efficiency_factor: float | None = None
    max_concurrency: int | None = None
    prefill_overhead_ms: float | None = None  # the serving stack's fixed time per request
    scheduler_steps: int | None = None   # decode steps the engine runs per scheduling decision
    name: str = ""
    vendor: str = ""
    aliases: str = ""
    cloud_price_as_of: str = ""
    verified: str = ""
    source: str = ""
    notes: str = ""

    @functools.cached_property
    def memory_bytes(self) -> float:
        return self.memory_gb * GB

    @functools.cached_property
    def bandwidth(self) -> float:
        """Memory bandwidth [bytes/s]."""
        return self.mem_bw_tbps * TB

    @functools.cached_property
    def tflops_16bit(self) -> float:
        """Dense FP16 tensor peak, for fp16 and GGUF weights: FP16 with FP16 accumulation where
        it is faster (GeForce cards halve the FP32-accumulate rate of ``bf16_tflops``). Other
        16-bit math runs at ``bf16_tflops`` (:meth:`peak_flops`). [TFLOPS]"""
        return max(self.bf16_tflops, self.fp16_tflops or 0.0)

    def peak_flops(self, compute: str) -> float:
        """Dense peak [FLOP/s] for a compute dtype from :func:`xlnapkin.units.compute_dtype`:
        its own column, or the 16-bit rate where the GPU has no native path. ``"bf16"``, 16-bit
        math with FP32 accumulation, is ``bf16_tflops`` alone: BF16 tensor instructions
        accumulate in FP32 only (NVIDIA's PTX ISA lists ``mma ... .f32.bf16.bf16.f32`` and no
        BF16 form with an FP16 accumulator), so a GeForce card's FP16-accumulate rate is for
        ``"fp16"``."""
        return self._peaks[compute]

    @functools.cached_property
    def domain_gbps(self) -> float:
        """Bidirectional GB/s of the peer link within one domain of ``nvlink_gpus`` GPUs."""
        return float(self.interconnect_gbps or 0.0)

    @functools.cached_property
    def between_domains_gbps(self) -> float:
        """The slower of the known links past a peer-link domain (``pcie_gbps``,
        ``scaleout_gbps``); 0 where neither is known. [GB/s]"""
        known = [float(v) for v in (self.pcie_gbps, self.scaleout_gbps) if v]
        return min(known) if known else 0.0

    @functools.cached_property
    def _peaks(self) -> dict:
        # a low-precision format without its own path computes as 16-bit math with FP32
        # accumulation (units.compute_dtype)
        low = {"fp8": self.fp8_tflops, "fp4": self.fp4_tflops, "int8": self.int8_tops}
        return {"bf16": self.bf16_tflops * TFLOPS, "fp16": self.tflops_16bit * TFLOPS,
                **{k: (v or self.bf16_tflops) * TFLOPS for k, v in low.items()}}


@dataclass(frozen=True)
class Model:
    """One transformer's architecture. Parameter counts in billions (all experts for ``params_b``)."""

    id: str
    params_b: float
    layers: int
    kv_heads: int
    head_dim: float
    active_params_b: float | None = None
    hidden_size: float | None = None
    heads: int | None = None
    v_head_dim: float | None = None
    intermediate_size: float | None = None
    vocab_size: float | None = None
    tied_embeddings: int | None = None
    num_experts: int | None = None
    experts_per_token: int | None = None
    num_shared_experts: int | None = None
    kv_lora_rank: float | None = None
    qk_rope_head_dim: float | None = None
    attention_layers: int | None = None
    sliding_window: float | None = None
    sliding_window_layers: int | None = None
    index_heads: int | None = None
    index_head_dim: float | None = None
    index_topk: float | None = None
    max_context: float | None = None
    kv_bytes_per_token_16bit: float | None = None
    state_bytes_per_seq: float | None = None
    moe_layers: int | None = None
    tp_allreduces: int | None = None
    name: str = ""
    hf_repo: str = ""
    aliases: str = ""
    native_dtype: str = ""
    native_dtype_scope: str = ""
    source: str = ""
    notes: str = ""

    @functools.cached_property
    def total_params(self) -> float:
        return self.params_b * 1e9

    @functools.cached_property
    def active_params(self) -> float:
        return (self.active_params_b or self.params_b) * 1e9

    @functools.cached_property
    def n_heads(self) -> int:
        return int(self.heads or self.kv_heads)

    @functools.cached_property
    def n_attention_layers(self) -> int:
        return int(self.attention_layers or self.layers)

    @functools.cached_property
    def is_mla(self) -> bool:
        return bool(self.kv_lora_rank)

    @functools.cached_property
    def is_moe(self) -> bool:
        return bool(self.num_experts and self.experts_per_token
                     and self.num_experts > self.experts_per_token)

    @functools.cached_property
    def n_moe_layers(self) -> int:
        """Layers with routed experts: ``moe_layers`` where only some are (DeepSeek's first
        three are dense, Llama-4-Maverick's every other one), else every layer of an MoE model."""
        if not self.is_moe:
            return 0
        return int(self.moe_layers or self.layers)

    @functools.cached_property
    def n_allreduces(self) -> int:
        """All-reduces one forward pass makes under tensor parallelism: one per sublayer with a
        row-parallel output, two per transformer layer (attention, MLP); a hybrid's single-mixer
        blocks give one each (``tp_allreduces``)."""
        return int(self.tp_allreduces or 2 * self.layers)

    @functools.cached_property
    def width(self) -> float:
        """Hidden size (residual stream width) [elements]."""
        return float(self.hidden_size or self.n_heads * self.head_dim)

    @functools.cached_property
    def embedding_params(self) -> float:
        """Parameters of the input embedding table and the output head: ``vocab_size`` x the
        hidden size, once where the two share one matrix (``tied_embeddings``), else twice; 0
        where the vocabulary is not known. At most every parameter."""
        tables = 1 if self.tied_embeddings else 2
        return min(float(self.vocab_size or 0) * self.width * tables, self.total_params)

    @functools.cached_property
    def kv_elements_per_token(self) -> float:
        """KV elements one token adds in one attention layer (K and V, or MLA's latent)."""
        if self.is_mla:
            return float(self.kv_lora_rank + (self.qk_rope_head_dim or 0))
        return float(self.kv_heads * (self.head_dim + (self.v_head_dim or self.head_dim)))

    def kv_bytes_per_layer_token(self, element_bytes: float) -> float:
        """KV bytes one token adds in one attention layer at ``element_bytes`` a KV element:
        :attr:`kv_elements_per_token` of that size, except an MLA cache under sparse attention
        (``index_topk``: DeepSeek-V3.2's DSA) in 8 bits, which engines keep in FlashMLA's sparse
        layout, as its kernels read it: the latent in 8 bits with a 4-byte scale per 128 of it,
        the RoPE part in 16 bits, 656 bytes for DeepSeek-V3.2 (vLLM turns any fp8 KV dtype of
        these models into its ``fp8_ds_mla``; ``FlashMLASparseBackend.get_kv_cache_shape``:
        "custom storage format is 656 bytes"), not 576. [bytes]"""
        if self.is_mla and self.index_topk and element_bytes == 1.0:
            latent = float(self.kv_lora_rank)
            return latent + 4.0 * (latent // 128) + 2.0 * float(self.qk_rope_head_dim or 0)
        return self.kv_elements_per_token * element_bytes

    @functools.cached_property
    def attention_flops_per_pair(self) -> float:
        """FLOPs of attention for one (query, key) pair summed over the heads of one layer that
        attends: QK^T and AV for every head, 2 FLOPs per multiply-add (MLA in its absorbed form,
        the latent as both key and value). Multiply by the attended tokens for one query."""
        if self.is_mla:
            qk, v = self.kv_lora_rank + (self.qk_rope_head_dim or 0), self.kv_lora_rank
        else:
            qk, v = self.head_dim, (self.v_head_dim or self.head_dim)
        return 2.0 * self.n_heads * (qk + v)

    @functools.cached_property
    def prefill_attention_flops_per_pair(self) -> float:
        """:attr:`attention_flops_per_pair` as engines run a prefill. MLA's prompt attention runs
        in the multi-head form (vLLM's and SGLang's MLA backends: keys of ``head_dim``, 192 for
        DeepSeek-V3, values of ``v_head_dim``, 128, the latent expanded once per token by
        weights the parameter count holds), 3.4x fewer FLOPs per pair than the absorbed form
        that decode uses. A sparse-attention indexer's MLA (DeepSeek-V3.2) keeps the absorbed
        form in prefill too, as vLLM's sparse kernels run it on the latent (SGLang switches
        prompts of up to 2,048 tokens to the multi-head form, 8-15 % fewer FLOPs there).
        Other models: the same."""
        if self.is_mla and not self.index_topk:
            return 2.0 * self.n_heads * (self.head_dim + (self.v_head_dim or self.head_dim))
        return self.attention_flops_per_pair

    @functools.cached_property
    def index_bytes_per_token(self) -> float:
        """Bytes one token adds to a sparse-attention indexer's key cache in one attention layer
        (DeepSeek-V3.2's DSA): 8-bit keys plus a 4-byte scale per 128 of them, as vLLM and SGLang
        store them whatever the KV dtype; 0 without an indexer."""
        d = float(self.index_head_dim or 0)
        return d + 4.0 * (d // 128)

    @functools.cached_property
    def index_flops_per_pair(self) -> float:
        """FLOPs a sparse-attention indexer spends scoring one (query, key) pair in one layer:
        a dot product in each index head, 2 FLOPs per multiply-add; 0 without an indexer."""
        return 2.0 * (self.index_heads or 0) * float(self.index_head_dim or 0)

    @functools.cached_property
    def expert_params(self) -> float:
        """Parameters of one routed expert over all its layers (0 for a dense model):
        ``(total - active) / (n - k)``."""
        if not self.is_moe:
            return 0.0
        n, k = self.num_experts, self.experts_per_token
        return (self.total_params - self.active_params) / (n - k)

    @functools.cached_property
    def routed_params(self) -> float:
        """Parameters of the routed experts one token runs through (0 for a dense model): k of
        the experts, each ``(total - active) / (n - k)``."""
        if not self.is_moe:
            return 0.0
        return self.experts_per_token * self.expert_params


@dataclass(frozen=True)
class Price:
    """One API's list price [USD per million tokens]."""

    id: str
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    provider: str = ""
    model: str = ""
    model_id: str = ""        # the catalog model an open-weights API serves; blank if closed
    comparable: str = ""      # "yes": the default API to compare a self-hosted model_id with
    served_dtype: str = ""    # the weights' precision, where the provider states it
    cached_input_usd_per_mtok: float | None = None
    batch_discount: float | None = None
    as_of: str = ""
    source: str = ""
    notes: str = ""


# Physical upper bounds of numeric fields: a larger value is a typing mistake (1e300 GB of
# memory gives wrong finite answers, not a bigger GPU). Fields not listed are at most 1e9.
_MAXIMUM = {"memory_gb": 1e5, "mem_bw_tbps": 1e3, "bf16_tflops": 1e6, "fp16_tflops": 1e6,
            "fp8_tflops": 1e6, "fp4_tflops": 1e6, "int8_tops": 1e6, "interconnect_gbps": 1e5,
            "pcie_gbps": 1e4, "scaleout_gbps": 1e4, "nvlink_gpus": 1e4,
            "tdp_w": 1e5, "efficiency_factor": 1.0, "max_concurrency": 1e6,
            "prefill_overhead_ms": 1e4, "scheduler_steps": 1e3, "params_b": 1e5,
            "active_params_b": 1e5, "layers": 1e4, "kv_heads": 1e5, "heads": 1e5, "num_experts": 1e5,
            "experts_per_token": 1e5, "attention_layers": 1e4, "state_bytes_per_seq": 1e12,
            "moe_layers": 1e4, "tp_allreduces": 1e5, "tied_embeddings": 1,
            "input_usd_per_mtok": 1e6,
            "output_usd_per_mtok": 1e6, "cached_input_usd_per_mtok": 1e6, "batch_discount": 1.0}
_DEFAULT_MAXIMUM = 1e9

# The least a rate the engine divides by may be when it is not 0 (0: not supported, or blank):
# a smaller one is a typing mistake that gives 300-digit answers (a hardening audit:
# "h100; bf16_tflops=1e-300" printed 5.6e300 replicas), and no device is that slow (1 GB/s of
# memory bandwidth, 1 GFLOP/s, 1 MB/s of link; an efficiency factor of 0.001).
_LEAST_RATE = {name: 1e-3 for name in (
    "mem_bw_tbps", "bf16_tflops", "fp16_tflops", "fp8_tflops", "fp4_tflops", "int8_tops",
    "interconnect_gbps", "pcie_gbps", "scaleout_gbps", "efficiency_factor")}
# Sizes the engine divides by or multiplies into counts, likewise (a second hardening audit:
# "memory_gb=1e-300" needed 1.6e302 GPUs, "head_dim=1e-300" fitted 1.3e304 sequences): at least
# 1 MB of memory and a thousand parameters, and a dimension of at least one element or token.
_LEAST_RATE.update({"memory_gb": 1e-3, "params_b": 1e-6, "active_params_b": 1e-6})
_LEAST_RATE.update({name: 1.0 for name in (
    "head_dim", "hidden_size", "v_head_dim", "intermediate_size", "vocab_size", "kv_lora_rank",
    "qk_rope_head_dim", "sliding_window", "index_head_dim", "index_topk", "max_context",
    "kv_bytes_per_token_16bit", "state_bytes_per_seq")})

def _bounds_text(kind, key, top) -> str:
    """The range a numeric spec field takes, as its error message says it: from the least rate
    (0 too, where the field may be 0: not supported), else from 0 (excluded where it must be
    positive)."""
    positive = key in _POSITIVE or key in _REQUIRED[kind] and kind != "price"
    if key in _LEAST_RATE:
        return f"{'' if positive else '0 or '}a number in [{_LEAST_RATE[key]:g}, {top:.15g}]"
    return f"a number in {'(' if positive else '['}0, {top:.15g}]"


# Whole-number fields that must be at least 1 when given (0 would mean no layers, heads, experts
# or sequences and divide by zero downstream).
_AT_LEAST_ONE = frozenset({"layers", "kv_heads", "heads", "attention_layers", "num_experts",
                           "experts_per_token", "max_concurrency", "nvlink_gpus", "moe_layers",
                           "tp_allreduces", "scheduler_steps"})
# Fields where 0 is not a value: a multiplier on every utilisation (0 divides by zero).
_POSITIVE = frozenset({"efficiency_factor"})
_KINDS = {"gpu": (GPU, "gpus.csv"), "model": (Model, "models.csv"), "price": (Price, "prices.csv")}
_REQUIRED = {"gpu": ("memory_gb", "mem_bw_tbps", "bf16_tflops"),
             "model": ("params_b", "layers", "kv_heads", "head_dim"),
             "price": ("input_usd_per_mtok", "output_usd_per_mtok")}


def _numeric_fields(cls) -> dict[str, type]:
    out = {}
    for f in dataclasses.fields(cls):
        t = str(f.type)
        if "float" in t:
            out[f.name] = float
        elif "int" in t:
            out[f.name] = int
    return out


def _shown(text: str) -> str:
    """A cell's text in a message, cut to 40 characters."""
    return repr(text if len(text) <= 40 else text[:39] + "…")


def field_bounds(kind: str, name: str) -> tuple[float, float, bool]:
    """(least, most, whole) a catalog file allows in numeric field ``name`` of ``kind`` ("gpu",
    "model", "price"): the rules :func:`_convert` applies to every row (the capacity planner's
    own-GPU row checks the same)."""
    whole = _numeric_fields(_KINDS[kind][0])[name] is int
    return (1 if name in _AT_LEAST_ONE else 0), _MAXIMUM.get(name, _DEFAULT_MAXIMUM), whole


def _convert(kind: str, raw: dict, where: str):
    """Build a typed row from text cells; empty cells are ``None``."""
    cls = _KINDS[kind][0]
    numeric = _numeric_fields(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, text in raw.items():
        if key is None or key not in names:
            continue  # extra columns are kept out of the typed row, not an error
        text = "" if text is None else str(text).strip()
        if key in numeric:
            if text == "":
                continue
            if not _NUMBER.fullmatch(text):  # float() would also read "8_0" as 80
                raise CatalogError(f"{where}: {key} must be a number, got {_shown(text)}")
            num = float(text)
            least, top, _whole = field_bounds(kind, key)
            if numeric[key] is int and (not num.is_integer() or not least <= num <= top):
                raise CatalogError(f"{where}: {key} must be a whole number in [{least}, "
                                   f"{top:.15g}], got {_shown(text)}")
            # one wording for a field's bounds, whichever bound is crossed (a CLI review:
            # mem_bw_tbps=1e-300 read "[0.001, 1000]" and =1e300 "(0, 1000]")
            bounds = _bounds_text(kind, key, top)
            if not 0 <= num <= top or 0 < num < _LEAST_RATE.get(key, 0):
                raise CatalogError(f"{where}: {key} must be {bounds}, got {_shown(text)}")
            if num == 0 and (key in _POSITIVE or key in _REQUIRED[kind] and kind != "price"):
                blank = " (blank for the default)" if key in _POSITIVE else ""
                raise CatalogError(f"{where}: {key} must be {bounds}{blank}, got "
                                   f"{_shown(text)}")
            if numeric[key] is int:
                num = int(num)
            values[key] = num
        else:
            values[key] = text
    missing = [k for k in ("id",) + _REQUIRED[kind] if values.get(k) in (None, "")]
    if missing:
        raise CatalogError(f"{where}: missing {', '.join(missing)}")
    if kind == "model" and values.get("active_params_b", 0) > values["params_b"]:
        raise CatalogError(f"{where}: active_params_b must be at most params_b")
    if (kind == "model" and values.get("num_experts") and values.get("experts_per_token")
            and values["experts_per_token"] >= values["num_experts"]):
        raise CatalogError(f"{where}: experts_per_token must be less than num_experts "
                           f"({values['num_experts']}), got {values['experts_per_token']}")
    if kind == "model":
        _check_model_shape(values, where)
    if kind == "price" and values.get("served_dtype"):  # a dtype the engine knows, by its name
        try:
            values["served_dtype"] = dtype_name(values["served_dtype"])
        except (InvalidArgumentError, UnknownNameError):
            values["served_dtype"] = ""  # not a name: refused below
        if values["served_dtype"] not in DTYPE_BITS:  # a name the workbooks look up too
            raise CatalogError(f"{where}: served_dtype must be blank or a weight dtype such as "
                               f"fp8 or bf16, got {_shown(raw['served_dtype'])}")
    if kind == "model" and values.get("native_dtype_scope", "") not in ("", "experts"):
        raise CatalogError(f"{where}: native_dtype_scope must be blank (every linear layer) or "
                           f"'experts', got {_shown(values['native_dtype_scope'])}")
    typed, values["id"] = values["id"], normalise_id(values["id"])
    if not values["id"]:  # "()": nothing left to look it up by (a hardening audit)
        raise CatalogError(f"{where}: id {_shown(typed)} is empty once spaces, brackets and "
                           "commas are dropped")
    return cls(**values)


def _check_model_shape(values: dict, where: str) -> None:
    """Refuse counts that contradict each other: more KV heads than query heads, query heads not
    shared evenly by the KV heads (every engine's grouped-query attention needs equal groups),
    more attention layers than layers, more sliding-window layers than attention layers, a
    window without its layer count or a count without its window."""
    layers, kv = values["layers"], values["kv_heads"]
    heads = values.get("heads") or kv
    attn = values.get("attention_layers") or layers
    if heads % kv:
        raise CatalogError(f"{where}: heads ({heads}) must be a multiple of kv_heads ({kv}): "
                           "each KV head serves an equal group of query heads")
    if attn > layers:
        raise CatalogError(f"{where}: attention_layers must be at most layers ({layers}), "
                           f"got {attn}")
    moe = values.get("moe_layers")
    if moe and moe > layers:
        raise CatalogError(f"{where}: moe_layers must be at most layers ({layers}), got {moe}")
    window = values.get("sliding_window_layers")
    if window and window > attn:
        raise CatalogError(f"{where}: sliding_window_layers must be at most the attention "
                           f"layers ({attn}), got {window}")
    # one without the other was ignored without a word (an audit: a spec string with Mistral's
    # sliding_window=4096 priced the full context); a config's window may also be off
    # (Qwen2.5's use_sliding_window=false), so no count is assumed
    # (0 in either turns the window off: a review found "gemma-2-27b; sliding_window=0" refused)
    size = values.get("sliding_window")
    if (size is None) != (window is None) and 0 not in (size, window):
        given, missing = (("sliding_window", "sliding_window_layers") if window is None
                          else ("sliding_window_layers", "sliding_window"))
        raise CatalogError(f"{where}: {given} needs {missing} too (the window in tokens, and how "
                           f"many of the {attn} attention layers use it: all {attn} for "
                           "Mistral-style models; 0 turns the window off)")


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)  # not ٣٠٠
_FIELD_LIMIT = 131_072  # characters in one CSV cell (the csv module's own limit)
_FILE_LIMIT = 16 * 2**20  # bytes in one user catalog file: some 50,000 rows, where the
                          # package's hold a few hundred (a hardening audit: a file of
                          # gigabytes was read whole into memory on every look-up's reload)


def _decode(data: bytes, origin: str) -> str:
    """A catalog file's text: UTF-8 (with or without the BOM Excel writes) or UTF-16 with a BOM;
    anything else is a :class:`CatalogError` naming the file."""
    utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    try:
        return data.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError as err:
        raise CatalogError(f"{origin}: not {'UTF-16' if utf16 else 'UTF-8'} text (byte "
                           f"{err.start + 1}); save it as 'CSV UTF-8' (Excel) or UTF-8 (other "
                           "editors)") from None


def _read_limited(path: Path) -> bytes:
    """A user catalog file's bytes, refused past :data:`_FILE_LIMIT` (read no further)."""
    with open(path, "rb") as f:
        data = f.read(_FILE_LIMIT + 1)
    if len(data) > _FILE_LIMIT:
        raise CatalogError(f"{path}: larger than {_FILE_LIMIT:,} bytes; a catalog file holds "
                           "rows of GPUs, models or prices, a few hundred bytes each")
    return data


def _read_csv(kind: str, text: str, origin: str) -> list:
    rows, seen = [], {}
    # newline="": a line break inside a quoted cell stays in the cell (a hardening audit:
    # splitting the text into lines first glued "multi\r\nline" into "multiline")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        _check_header(kind, reader, origin)
        for raw in reader:
            i = reader.line_num  # the file's line (a quoted cell may hold line breaks)
            if any((v or "").strip() for v in raw.get(None) or ()):
                raise CatalogError(f"{origin} line {i}: more cells than the header has "
                                   "columns (a comma too many?)")
            if (raw.get("") or "").strip():
                raise CatalogError(f"{origin} line {i}: a value under a column without a name")
            if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
                continue
            row = _convert(kind, raw, f"{origin} line {i}")
            if any(ch in row.id for ch in ";="):
                raise CatalogError(f"{origin} line {i}: id {_shown(row.id)} must not contain "
                                   "';' or '=' (they separate the fields of a spec string)")
            if "=" in str(getattr(row, "aliases", "") or ""):
                raise CatalogError(f"{origin} line {i}: aliases must not contain '=' (it sets a "
                                   "field in a spec string: such a name is never looked up)")
            if row.id in seen:
                raise CatalogError(f"{origin} line {i}: id {row.id!r} is already on line "
                                   f"{seen[row.id]}")
            seen[row.id] = i
            rows.append(row)
    except csv.Error as err:
        raise CatalogError(f"{origin} line {reader.line_num + 1}: {err} (a cell holds at most "
                           f"{_FIELD_LIMIT:,} characters)") from None
    return rows


def _check_header(kind: str, reader, origin: str) -> None:
    """A catalog file's columns are the package's: each once, spaces around a name ignored,
    blank headers (an editor's empty trailing column) skipped. A hardening audit found
    misspelled columns (``cloud_usd_per_hr``) silently ignored, and a repeated one read from its
    last copy."""
    header = [(h or "").strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    names = [f.name for f in dataclasses.fields(_KINDS[kind][0])]
    for j, name in enumerate(header):
        if not name:
            continue
        if name in header[:j]:
            raise CatalogError(f"{origin} line 1: column {name!r} appears twice")
        if name not in names:
            near = difflib.get_close_matches(name, names, n=1, cutoff=0.7)
            raise CatalogError(f"{origin} line 1: unknown column {_shown(name)}"
                               + (f": did you mean {near[0]!r}?" if near else
                                  f"; {_KINDS[kind][1]} takes {', '.join(names)}"))


def _keys(row) -> list[str]:
    return [row.id] + [normalise_id(a) for a in str(getattr(row, "aliases", "") or "")
                       .split(";") if a.strip()]


def _index(package: dict, user: dict, kind: str, origin: str) -> dict:
    """Lookup keys (ids and aliases, normalised) -> ids: the package's, then the user's. A user
    row may replace a package row of the same id (its aliases still lead to it), but not take a
    key that names another row."""
    index = {}
    for r in package.values():
        for key in _keys(r):
            index[key] = r.id
    for r in user.values():
        for key in _keys(r):
            other = index.get(key)
            if other is not None and other != r.id:
                raise CatalogError(f"{origin}: {kind} {r.id!r} takes the name {key!r}, which "
                                   f"already means {other!r}; rename it, or give the row the "
                                   f"id {other!r} to replace that one")
            index[key] = r.id
    # a model's Hugging Face repository names it too ("deepseek-ai/DeepSeek-V3", or its name
    # after the owner), where no id or alias already means another row
    for r in list(package.values()) + list(user.values()):
        repo = normalise_id(str(getattr(r, "hf_repo", "") or ""))
        for key in filter(None, (repo, repo.rpartition("/")[2])):
            index.setdefault(key, r.id)
    return index


@functools.lru_cache(maxsize=8)
def _tables(user_key) -> dict:
    """All rows and the lookup index of each kind, package rows first, user rows over them."""
    user_dir = user_key[0] if user_key else None
    out = {}
    for kind, (_, filename) in _KINDS.items():
        text = resources.files("xlnapkin").joinpath("data", filename).read_text(encoding="utf-8")
        package = {r.id: r for r in _read_csv(kind, text, filename)}
        user, origin = {}, filename
        if user_dir:
            path = Path(user_dir) / filename
            if path.exists() and not path.is_file():  # a folder of that name, say
                raise CatalogError(f"{path} is not a file ({USER_CATALOG_ENV} names the folder "
                                   f"of your {filename}, which must be a file)")
            if path.is_file():
                origin = str(path)
                user = {r.id: r for r in _read_csv(kind, _decode(_read_limited(path), origin),
                                                   origin)}
        out[kind] = ({**package, **user}, _index(package, user, kind, origin))
    return out


def _environment_reader(name):
    """A function returning environment variable ``name`` (or None), read afresh on each call:
    through ``os.environ``'s own key encoding done once, since every lookup asks."""
    env = os.environ
    try:
        data, key, decode = env._data, env.encodekey(name), env.decodevalue
    except AttributeError:  # another os.environ implementation
        return lambda: env.get(name)

    def read():
        raw = data.get(key)
        return None if raw is None else decode(raw)
    return read


_user_folder = _environment_reader(USER_CATALOG_ENV)


def _user_key():
    """The user catalog folder and its files' size and change times, so edits are seen at once
    (the change time moves on every write, even one that keeps the modification time)."""
    folder = _user_folder() or None
    if not folder:
        return None
    if not Path(folder).is_dir():
        raise CatalogError(f"{USER_CATALOG_ENV} names {folder!r}, which is not a folder")
    stamps = []
    for _, filename in _KINDS.values():
        try:
            st = os.stat(Path(folder) / filename)
            stamps.append((st.st_mtime_ns, st.st_ctime_ns, st.st_size))
        except OSError:
            stamps.append(None)
    return (folder, tuple(stamps))


def user_files() -> list[Path]:
    """The user catalog files in use (``XLNAPKIN_CATALOG``), for the command line to name."""
    key = _user_key()
    if not key:
        return []
    return [Path(key[0]) / f for (_, f), st in zip(_KINDS.values(), key[1])
            if st is not None and (Path(key[0]) / f).is_file()]


def _current(kind: str):
    return _tables(_user_key())[kind]


_SUGGEST_FLOOR = 0.65   # similarity below which an id is not worth suggesting ("gpt-4" is not
                        # "phi-4": 0.6)
_SUGGEST_LENGTH = 64    # longer text is not an id anyone meant to type: no suggestions
_CACHED_LENGTH = 256    # longer spec strings are resolved each time, not kept


# Where an id matches nothing closely: where the catalog is listed.
_LISTS = {"gpu": "the catalog lists them (=NAPKIN_GPUS(), or xlnapkin catalog gpus)",
          "model": "the catalog lists them (=NAPKIN_MODELS(), or xlnapkin catalog models)",
          "price": "the catalog lists them (xlnapkin catalog prices)"}


def _after_owner(kind: str, key: str) -> str:
    """The key a model name that is not in the index is looked up by: its name after the owner
    ("meta-llama/Llama-3.1-8B-Instruct" is the alias "llama-3.1-8b-instruct"); GPU names as
    they are. Only ids and aliases name a row: a tuned checkpoint is one where the row lists
    it, never guessed from an ending ("Mistral-7B-Instruct" without its version may be v0.1's
    shape or v0.3's)."""
    return key.rpartition("/")[2] if kind == "model" else key


@functools.lru_cache(maxsize=1024)
def _suggest(kind: str, key: str, _user_key=None) -> list[str]:
    """Up to three ids like ``key``, best first; kept per catalog (``_user_key``), as the
    failed look-ups that ask are not (a hardening audit: a sweep of 200 x 200 unknown ids ran
    the comparison for every cell, 8.9 s, and 1,000 x 1,000 over a minute)."""
    if len(key) > _SUGGEST_LENGTH:
        return []
    rows, index = _current(kind)
    # "NVIDIA H100", "AMD MI300X": the vendor's name is not part of the catalog ids
    vendor = re.match(r"(?:nvidia|amd|intel|google|apple)-(.+)", key) if kind == "gpu" else None
    keys = [key] + ([vendor.group(1)] if vendor else [])
    scored = {}
    for name, rid in index.items():
        for k in keys:
            matcher = difflib.SequenceMatcher(None, k, name)
            bonus = 0.3 if name.startswith(k) or k.startswith(name) else 0.0
            # real_quick_ratio and quick_ratio bound ratio from above (get_close_matches uses
            # them so): most ids are dropped before the full ratio is computed
            if (matcher.real_quick_ratio() + bonus < _SUGGEST_FLOOR
                    or matcher.quick_ratio() + bonus < _SUGGEST_FLOOR):
                continue
            score = matcher.ratio() + bonus
            if score >= _SUGGEST_FLOOR:
                scored[rid] = max(score, scored.get(rid, 0))
    order = list(rows)
    return sorted(scored, key=lambda r: (-scored[r], order.index(r)))[:3]


def _lookup(kind: str, value):
    cls = _KINDS[kind][0]
    if isinstance(value, cls):
        return value
    if not isinstance(value, str) or not _plain(value).strip():  # a zero-width space alone
        raise InvalidArgumentError(kind, f"a {kind} id from the catalog or a spec string", value)
    key = _user_key()
    if len(value) > _CACHED_LENGTH:
        return _resolve.__wrapped__(kind, value, key)
    return _resolve(kind, value, key)


# An API row's prices: a spec string that gives both gives prices of your own (a cached-input
# price the row has and the spec does not give is billed where prefix caching is priced).
PRICE_FIELDS = frozenset({"input_usd_per_mtok", "output_usd_per_mtok"})


@functools.lru_cache(maxsize=4096)
def _resolve(kind: str, text: str, _user_key):
    rows, index = _current(kind)
    parts = [p.strip() for p in text.split(";") if p.strip()]
    base, overrides = None, {}
    for i, part in enumerate(parts):
        if "=" not in part:
            if i != 0:
                raise CatalogError(f"{kind} spec {text!r}: put the catalog id first, then field=value")
            key = normalise_id(part)
            if key not in index:
                key = _after_owner(kind, key)
            if key not in index:
                raise _unknown(kind, part, key, _user_key)
            base = rows[index[key]]
            continue
        name, _, val = part.partition("=")
        # "h100-sxm, memory_gb=96" read as one field (an audit); an '=' inside a value (a
        # source's URL) is no separator, unless a field's name is before it (a review)
        if "," in name or any(_is_field(kind, m) for m in re.findall(r",([^,=]*)=", val)):
            raise CatalogError(f"{kind} spec {text!r}: separate the id and each field=value "
                               "with ';', not ','")
        field = _field_name(kind, name)
        # a number pasted from a web page, read as it shows (a review)
        plain = _plain(val).strip()
        if field in _numeric_fields(_KINDS[kind][0]) and _NUMBER.fullmatch(plain):
            val = plain
        if field == "id":  # the spec's id is the text itself (a review: "h100; id=b200" was
            # an H100 that said nothing)
            raise CatalogError(f"{kind} spec {text!r}: id is not a field to set; start the "
                               "spec with the catalog id instead")
        if field in overrides and overrides[field] != val.strip():
            raise CatalogError(f"{kind} spec {text!r} gives {field} twice "
                               f"({overrides[field]!r} and {val.strip()!r}): give it once")
        overrides[field] = val.strip()
    if base is not None and not overrides:
        return base
    cells = dataclasses.asdict(base) if base is not None else {"id": text.strip()}
    cells = {k: ("" if v is None else v) for k, v in cells.items()}
    if kind == "model":
        cells["kv_bytes_per_token_16bit"] = ""  # a reference figure of the unmodified row only
        if (base is not None and "params_b" in overrides and "active_params_b" not in overrides
                and base.active_params_b in (None, base.params_b)):
            cells["active_params_b"] = ""  # a dense model stays dense at its new size
    if kind == "gpu" and "cloud_usd_per_hour" in overrides:
        cells["cloud_price_as_of"] = ""  # the catalog's date was its price's (a review)
    if kind == "price" and PRICE_FIELDS <= set(overrides):
        cells["as_of"] = ""  # so too an API's, where both its prices are yours (a CFO review;
        # one typed leaves the other, and its date, the row's)
    cells.update(overrides)
    # The spec text itself is the item's id, as typed (messages and GPU_SPEC(..., "id") show it).
    return dataclasses.replace(_convert(kind, cells, f"{kind} spec {text!r}"), id=text.strip())


def prices_given(price) -> bool:
    """Whether an API's prices are the user's, not a catalog row's as of its date: a spec
    string that gives both :data:`PRICE_FIELDS` (its date is then blanked), or an API of their
    own, with no catalog id (a CFO audit: prices typed in the spec were dated). One price typed
    leaves the other the row's, with its date."""
    parts = [x.strip() for x in price.id.split(";") if x.strip()]
    if all("=" in x for x in parts):
        return True
    return PRICE_FIELDS <= {_field_key(x.partition("=")[0]) for x in parts if "=" in x}


def _unknown(kind: str, part: str, key: str, _user_key) -> UnknownNameError:
    """The error for an id not in the ``kind`` catalog; a model's id given as the gpu (or the
    other way round) says the two are swapped (an error-message audit: "unknown gpu
    'llama-3.1-8b'" did not say why)."""
    other = {"gpu": "model", "model": "gpu"}.get(kind)
    if other and (key in _current(other)[1] or _after_owner(other, key) in _current(other)[1]):
        return UnknownNameError(kind, part, hint=f"that is a {other} id, not a {kind} id "
                                                 "(functions take the gpu first, then the model)")
    return UnknownNameError(kind, part, _suggest(kind, key, _user_key), _LISTS[kind])


def _is_field(kind: str, name: str) -> bool:
    """Whether ``name`` is one of the ``kind`` catalog's fields (as :func:`_field_name` reads
    it)."""
    key = _field_key(name)
    return key != "id" and key in {f.name for f in dataclasses.fields(_KINDS[kind][0])}


def _field_key(name: str) -> str:
    """A field's name as typed, as the dataclass spells it ("Memory-GB" -> "memory_gb")."""
    return _plain(name).strip().lower().replace("-", "_").replace(" ", "_")


def _field_name(kind: str, name) -> str:
    if not isinstance(name, str):
        raise UnknownNameError(f"{kind} field", name)
    key = _field_key(name)
    fields = [f.name for f in dataclasses.fields(_KINDS[kind][0])]
    if key not in fields:
        raise UnknownNameError(f"{kind} field", name.strip(),
                               difflib.get_close_matches(key, fields, 3, 0.6),
                               "fields are " + ", ".join(fields))
    return key


def gpu(value) -> GPU:
    """The :class:`GPU` for a catalog id, alias or spec string (a :class:`GPU` passes through)."""
    return value if type(value) is GPU else _lookup("gpu", value)


def model(value) -> Model:
    """The :class:`Model` for a catalog id, alias or spec string."""
    return value if type(value) is Model else _lookup("model", value)


def price(value) -> Price:
    """The API :class:`Price` for a catalog id or spec string."""
    return _lookup("price", value)


def gpus() -> list[GPU]:
    return list(_current("gpu")[0].values())


def models() -> list[Model]:
    return list(_current("model")[0].values())


def is_stale(date: str) -> bool:
    """Whether a catalog price's date (2026-07-24, 2026-06 or 2026) is more than a year before
    the newest date of the catalog's API and GPU prices (a finance reader: GPT-4o's 2024-11-09
    price read as current). A date without its month counts as its December, without its day
    as its month; no date is not stale (it says "undated").

    >>> is_stale("2024-11-09"), is_stale("2026-07-24"), is_stale("2025"), is_stale("")
    (True, False, False, False)
    """
    def months(text: str, last: int = 12) -> int:
        parts = [int(p) for p in text.split("-")[:2]]
        return parts[0] * 12 + (parts[1] if len(parts) > 1 else last)
    if not date:
        return False
    dates = [p.as_of for p in prices()] + [g.cloud_price_as_of for g in gpus()]
    newest = max((months(d, 1) for d in dates if d), default=0)
    return newest - months(date) > 12


def prices() -> list[Price]:
    return list(_current("price")[0].values())


def gpu_ids() -> list[str]:
    return list(_current("gpu")[0])


def model_ids() -> list[str]:
    return list(_current("model")[0])


def price_ids() -> list[str]:
    return list(_current("price")[0])


def comparable_price(model_id) -> Price | None:
    """The API to compare a self-hosted model with: the price row marked ``comparable`` for
    that catalog model (else its first row), or ``None`` when no catalog API serves it.

    >>> comparable_price("llama-3.1-8b").id
    'groq-llama-3.1-8b'
    """
    mid = normalise_id(str(model_id))
    rows = [p for p in prices() if normalise_id(p.model_id) == mid and p.model_id]
    marked = [p for p in rows if p.comparable.strip().lower() == "yes"]
    return (marked or rows or [None])[0]


def table(kind: str) -> list[list]:
    """The catalog as rows with a header row first; missing values are empty strings."""
    cls = _KINDS[kind][0]
    names = [f.name for f in dataclasses.fields(cls)]
    rows = [names]
    for r in _current(kind)[0].values():
        rows.append(["" if getattr(r, n) is None else getattr(r, n) for n in names])
    return rows


def spec_value(kind: str, item, field_name: str):
    """One field of a catalog item (``spec_value("gpu", "h100", "memory_gb")`` -> 80.0)."""
    row = _lookup(kind, item)
    value = getattr(row, _field_name(kind, field_name))
    return "" if value is None else value
