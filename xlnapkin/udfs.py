"""Excel worksheet functions: the one module named in xlwings' ``UDF Modules`` and re-exported by
the xlwings Lite ``main.py``.

Each function is a thin adapter: :func:`xlnapkin._excel.excel_function` coerces and broadcasts
the cells, the body calls the engine, and the docstring is the single source for the function
wizard (summary and ``Args:`` lines), the reference docs and the doctest. Units are the last
``[bracket]`` of each argument's line. Names and argument order are pinned (SPEC §3).
"""

from __future__ import annotations

from . import __version__, catalog, memory, roofline, serving
from ._excel import excel_function

__all__ = [
    "KV_BYTES", "WEIGHT_BYTES", "GPUS_NEEDED", "MAX_BATCH", "TOKENS_PER_SEC", "ITL_MS",
    "TTFT_MS", "MAX_THROUGHPUT", "OPS_PER_BYTE", "CRITICAL_BATCH", "NAPKIN_GPUS",
    "NAPKIN_MODELS", "GPU_SPEC", "MODEL_SPEC", "NAPKIN_VERSION",
]


def _decode_fit(gpu, model, batch, context, weight_dtype, kv_dtype, num_gpus, **_):
    return memory.fit_message(gpu, model, weight_dtype, kv_dtype, context, batch, num_gpus)


def _prefill_fit(gpu, model, batch, prompt_tokens, weight_dtype, kv_dtype, num_gpus, **_):
    return memory.fit_message(gpu, model, weight_dtype, kv_dtype, prompt_tokens, batch, num_gpus)


def _load_fit(gpu, model, input_tokens, output_tokens, weight_dtype, kv_dtype, num_gpus, **_):
    return memory.fit_message(gpu, model, weight_dtype, kv_dtype, input_tokens + output_tokens, 1,
                              num_gpus, 0.9)


# --- Memory and speed -------------------------------------------------------------------------

@excel_function
def KV_BYTES(model, tokens=1, batch=1, kv_dtype="bf16"):
    """KV-cache bytes for batch sequences of tokens tokens each (GQA, MLA and sliding windows counted).

    Args:
        model: model catalog id or spec string, e.g. "llama-3.1-70b" [id]
        tokens: tokens held per sequence (prompt plus generated) [tokens]
        batch: number of sequences [sequences]
        kv_dtype: KV-cache element type: bf16, fp8, int8, fp4..., or bits per element [dtype]

    Returns bytes (1 GB = 1e9 bytes).

    >>> KV_BYTES("llama-3.1-405b")
    516096.0
    >>> KV_BYTES("qwen2.5-32b", 200000, 1, "fp8")
    26214400000.0
    """
    return memory.kv_bytes(model, tokens, batch, kv_dtype)


@excel_function
def WEIGHT_BYTES(model, weight_dtype="bf16"):
    """Bytes of all model weights (every expert of a mixture-of-experts model) at weight_dtype.

    Args:
        model: model catalog id or spec string [id]
        weight_dtype: weight element type: bf16, fp8, int4, nvfp4, q4_k_m..., or bits per element [dtype]

    >>> WEIGHT_BYTES("llama-3.1-405b", "fp16")
    811700000000.0
    """
    return memory.weight_bytes(model, weight_dtype)


@excel_function
def GPUS_NEEDED(gpu, model, weight_dtype="bf16", tokens=0, batch=0, kv_dtype="bf16",
                mem_fraction=0.9):
    """Fewest GPUs whose memory x mem_fraction holds the weights plus the KV cache of batch sequences.

    Args:
        gpu: GPU catalog id or spec string, e.g. "h100-sxm" or "b200; memory_gb=192" [id]
        model: model catalog id or spec string [id]
        weight_dtype: weight element type [dtype]
        tokens: tokens held per sequence [tokens]
        batch: number of sequences whose KV cache must fit [sequences]
        kv_dtype: KV-cache element type [dtype]
        mem_fraction: share of each GPU's memory usable for weights and KV cache [0-1]

    >>> GPUS_NEEDED("h100-sxm", "llama-3.1-405b", "fp16", 0, 0, None, 1)
    11.0
    """
    return memory.gpus_needed(gpu, model, weight_dtype, tokens, batch, kv_dtype, mem_fraction)


@excel_function
def MAX_BATCH(gpu, model, tokens=1024, weight_dtype="bf16", kv_dtype="bf16", num_gpus=1,
              mem_fraction=0.9):
    """Most concurrent sequences of tokens tokens whose KV cache fits beside the weights (0 if the weights do not fit).

    Args:
        gpu: GPU catalog id or spec string [id]
        model: model catalog id or spec string [id]
        tokens: tokens held per sequence [tokens]
        weight_dtype: weight element type [dtype]
        kv_dtype: KV-cache element type [dtype]
        num_gpus: GPUs one replica is spread over (tensor parallel) [GPUs]
        mem_fraction: share of each GPU's memory usable for weights and KV cache [0-1]

    >>> MAX_BATCH("b200; memory_gb=192", "qwen2.5-32b", 200000, "fp8", "fp8", 1, 1)
    6.0
    """
    return memory.max_batch(gpu, model, tokens, weight_dtype, kv_dtype, num_gpus, mem_fraction)


@excel_function(nan_message=_decode_fit)
def TOKENS_PER_SEC(gpu, model, batch=1, context=1024, weight_dtype="bf16", kv_dtype="bf16",
                   num_gpus=1, efficiency=None):
    """Decode output tokens/s of the whole replica: batch sequences together, each holding context tokens.

    Args:
        gpu: GPU catalog id or spec string [id]
        model: model catalog id or spec string [id]
        batch: sequences decoded together [sequences]
        context: tokens already held by each sequence [tokens]
        weight_dtype: weight element type [dtype]
        kv_dtype: KV-cache element type [dtype]
        num_gpus: GPUs one replica is spread over (tensor parallel) [GPUs]
        efficiency: blank = calibrated defaults; a number e in (0, 1] sets MBU = MFU = e with no overheads (1 = pure roofline) [0-1]

    >>> TOKENS_PER_SEC("h100-sxm", "llama-2-7b", 1, 0, "fp16", None, 1, 1/1.2)
    207.1
    """
    return serving.tokens_per_sec(gpu, model, batch, context, weight_dtype, kv_dtype, num_gpus,
                                  efficiency)


@excel_function(nan_message=_decode_fit)
def ITL_MS(gpu, model, batch=1, context=1024, weight_dtype="bf16", kv_dtype="bf16", num_gpus=1,
           efficiency=None):
    """One decode step (inter-token latency) in milliseconds.

    Args:
        gpu: GPU catalog id or spec string [id]
        model: model catalog id or spec string [id]
        batch: sequences decoded together [sequences]
        context: tokens already held by each sequence [tokens]
        weight_dtype: weight element type [dtype]
        kv_dtype: KV-cache element type [dtype]
        num_gpus: GPUs one replica is spread over (tensor parallel) [GPUs]
        efficiency: blank = calibrated; a number in (0, 1] sets MBU = MFU with no overheads [0-1]

    >>> ITL_MS("h100-sxm", "llama-3.1-405b", 1, 0, "fp16", None, 16, 1)
    15.14
    """
    return serving.itl_ms(gpu, model, batch, context, weight_dtype, kv_dtype, num_gpus,
                          efficiency)


@excel_function(nan_message=_prefill_fit)
def TTFT_MS(gpu, model, batch=1, prompt_tokens=1024, weight_dtype="bf16", kv_dtype="bf16",
            num_gpus=1, efficiency=None):
    """Prefill time (time to first token) for batch prompts of prompt_tokens tokens, in milliseconds.

    Args:
        gpu: GPU catalog id or spec string [id]
        model: model catalog id or spec string [id]
        batch: prompts processed together [sequences]
        prompt_tokens: tokens in each prompt [tokens]
        weight_dtype: weight element type [dtype]
        kv_dtype: KV-cache element type [dtype]
        num_gpus: GPUs one replica is spread over (tensor parallel) [GPUs]
        efficiency: blank = calibrated; a number in (0, 1] sets MBU = MFU with no overheads [0-1]

    >>> TTFT_MS("h100-sxm", "llama-3.1-8b", 1, 1024, "bf16", None, 1, 1)
    17.3
    """
    return serving.ttft_ms(gpu, model, batch, prompt_tokens, weight_dtype, kv_dtype, num_gpus,
                           efficiency)


@excel_function(nan_message=_load_fit)
def MAX_THROUGHPUT(gpu, model, input_tokens=1024, output_tokens=1024, weight_dtype="bf16",
                   kv_dtype="bf16", num_gpus=1, efficiency=None):
    """Output tokens/s of the replica under saturating load: continuous batching at the largest concurrency that fits, prefill included.

    Args:
        gpu: GPU catalog id or spec string [id]
        model: model catalog id or spec string [id]
        input_tokens: prompt tokens per request [tokens]
        output_tokens: generated tokens per request [tokens]
        weight_dtype: weight element type [dtype]
        kv_dtype: KV-cache element type [dtype]
        num_gpus: GPUs one replica is spread over (tensor parallel) [GPUs]
        efficiency: blank = calibrated; a number in (0, 1] sets MBU = MFU with no overheads [0-1]

    >>> MAX_THROUGHPUT("h100-sxm", "llama-3.1-405b")
    'llama-3.1-405b needs 812.8 GB in bf16 with KV for 1 x 2048 tokens; 1 x h100-sxm has 80 GB (90% usable): use num_gpus >= 12'
    """
    return serving.max_throughput(gpu, model, input_tokens, output_tokens, weight_dtype,
                                  kv_dtype, num_gpus, efficiency)


@excel_function
def OPS_PER_BYTE(gpu, dtype="bf16"):
    """The GPU's ridge point: dense peak FLOP/s for dtype divided by memory bandwidth.

    Args:
        gpu: GPU catalog id or spec string [id]
        dtype: compute element type: bf16, fp8, int8, fp4 (falls back to bf16 where the GPU has no native path) [dtype]

    >>> OPS_PER_BYTE("b200", "fp8")
    562.5
    """
    return roofline.ops_per_byte(gpu, dtype)


@excel_function
def CRITICAL_BATCH(gpu, model, weight_dtype="bf16", efficiency=None):
    """Batch at which decode turns compute-bound (KV-cache reads ignored).

    Args:
        gpu: GPU catalog id or spec string [id]
        model: model catalog id or spec string [id]
        weight_dtype: weight element type [dtype]
        efficiency: blank = calibrated MFU/MBU; a number in (0, 1] for both (their ratio is what matters) [0-1]

    >>> CRITICAL_BATCH("b200", "qwen2.5-32b", "fp8", 1)
    281.25
    """
    return roofline.critical_batch(gpu, model, weight_dtype, efficiency)


# --- Catalog ----------------------------------------------------------------------------------

@excel_function(table=True)
def NAPKIN_GPUS():
    """The GPU catalog as a table with a header row (spills).

    >>> NAPKIN_GPUS()[0][:4]
    ['id', 'memory_gb', 'mem_bw_tbps', 'bf16_tflops']
    """
    return catalog.table("gpu")


@excel_function(table=True)
def NAPKIN_MODELS():
    """The model catalog as a table with a header row (spills).

    >>> NAPKIN_MODELS()[0][:3]
    ['id', 'params_b', 'layers']
    """
    return catalog.table("model")


@excel_function
def GPU_SPEC(gpu, field):
    """One value from the GPU catalog, e.g. memory_gb, mem_bw_tbps, bf16_tflops, source.

    Args:
        gpu: GPU catalog id or spec string [id]
        field: catalog column name, e.g. "memory_gb" [name]

    >>> GPU_SPEC("h100", "mem_bw_tbps")
    3.35
    """
    return catalog.spec_value("gpu", gpu, field)


@excel_function
def MODEL_SPEC(model, field):
    """One value from the model catalog, e.g. params_b, layers, kv_heads, source.

    Args:
        model: model catalog id or spec string [id]
        field: catalog column name, e.g. "kv_heads" [name]

    >>> MODEL_SPEC("llama-3.1-70b", "kv_heads")
    8.0
    """
    return catalog.spec_value("model", model, field)


@excel_function
def NAPKIN_VERSION():
    """The xlnapkin package version.

    >>> NAPKIN_VERSION() == __version__
    True
    """
    return __version__
