"""Units and number formats.

Internal units everywhere are bytes, seconds, FLOP/s and US dollars. Human units (GB = 1e9 bytes,
TB/s, TFLOPS) appear only in catalog columns and argument names that say so; the constants below
convert them.

Element sizes are given in bits so that block formats with shared scales come out exactly:

* ``nvfp4``: 4-bit E2M1 values plus one 8-bit (E4M3) scale per 16 values = 4.5 bits.
* ``mxfp4``: 4-bit E2M1 values plus one 8-bit (E8M0) scale per 32 values = 4.25 bits.
* GGUF ``q8_0`` (34 bytes per block of 32) = 8.5 bits, ``q4_0`` (18 bytes per 32) = 4.5 bits.
* GGUF ``q5_0`` (22 bytes per 32) = 5.5 bits. The k-quant mixes are averages over a whole
  model, from the llama.cpp quantize README (Llama 2 7B table): ``q6_k`` 6.56, ``q5_k_m`` 5.68,
  ``q5_k_s`` 5.52, ``q4_k_m`` 4.84, ``q4_k_s`` 4.58, ``q3_k_l`` 4.27, ``q3_k_m`` 3.91,
  ``q3_k_s`` 3.50, ``q2_k`` 3.35 bits per weight.
* GGUF i-quants at the bits per weight of the type itself, as ``llama-quantize --help`` lists
  them: ``iq4_nl`` 4.50, ``iq4_xs`` 4.25, ``iq3_m`` 3.66, ``iq3_xxs`` 3.06, ``iq2_m`` 2.7,
  ``iq2_xxs`` 2.06. A file holds a few tensors (the output head among them) at a larger type,
  so its average is a little higher.
* ``int4`` (alias ``awq``, ``gptq``, ``w4a16``) is the layout AWQ and GPTQ checkpoints ship in at
  their default group of 128 weights: 4-bit values, one fp16 scale and one 4-bit zero point per
  group = 4 + 20/128 = 4.156 bits (AutoAWQ's ``WQLinear_GEMM`` buffers ``qweight``, ``qzeros``,
  ``scales``). An int4 KV cache counts the same 4.156 bits: engines keep a scale and a zero
  point with it too, LMDeploy's per head and token, 4.25 bits at a head size of 128 (2 % more
  than counted).
* ``fp4`` is the raw 4 bits, with no scales; a number of bits (``4``) is that number.

The 4-bit checkpoint formats (:data:`SIXTEEN_BIT_EMBEDDINGS`) quantise the transformer
blocks only: the embedding table and the output head stay at 16 bits, which
:func:`xlnapkin.memory.weight_bytes` counts. 8-bit checkpoints do the same, but there the
engine counts every weight at the dtype (benchmarks/RESULTS.md, section 8, item 25); the GGUF
averages above already include their tables.

>>> dtype_bytes("fp8"), dtype_bytes("nvfp4"), dtype_bytes(4.5)
(1.0, 0.5625, 0.5625)
"""

from __future__ import annotations

import functools
import math
import re

from .errors import InvalidArgumentError, UnknownNameError

__all__ = ["GB", "TB", "TFLOPS", "DTYPE_BITS", "SIXTEEN_BIT_EMBEDDINGS", "dtype_bits",
           "dtype_bytes", "dtype_aliases",
           "dtype_name", "compute_dtype", "is_gguf"]

GB = 1e9
TB = 1e12
TFLOPS = 1e12

DTYPE_BITS: dict[str, float] = {
    "fp32": 32.0,
    "fp16": 16.0,
    "bf16": 16.0,
    "fp8": 8.0,
    "int8": 8.0,
    "int4": 4.0 + 20 / 128,
    "fp4": 4.0,
    "nvfp4": 4.5,
    "mxfp4": 4.25,
    "q8_0": 8.5,
    "q6_k": 6.56,
    "q5_k_m": 5.68,
    "q5_k_s": 5.52,
    "q5_0": 5.5,
    "q4_k_m": 4.84,
    "q4_k_s": 4.58,
    "q4_0": 4.5,
    "q3_k_l": 4.27,
    "q3_k_m": 3.91,
    "q3_k_s": 3.50,
    "q2_k": 3.35,
    "iq4_nl": 4.50,
    "iq4_xs": 4.25,
    "iq3_m": 3.66,
    "iq3_xxs": 3.06,
    "iq2_m": 2.7,
    "iq2_xxs": 2.06,
}

# 4-bit float formats, which run on a GPU's FP4 tensor cores where it has them
FP4_FORMATS = ("fp4", "nvfp4", "mxfp4")

# 4-bit formats whose checkpoints keep the embedding table and output head at 16 bits
SIXTEEN_BIT_EMBEDDINGS = frozenset({"int4", "fp4", "nvfp4", "mxfp4"})

# names engines and checkpoints use: vLLM's --kv-cache-dtype fp8_e4m3 / fp8_e5m2 (both 8-bit),
# TensorRT-LLM's --qformat int4_awq, Qwen's "-AWQ-Int4" / "-GPTQ-Int4" repositories
_ALIASES = {"float32": "fp32", "float16": "fp16", "half": "fp16", "bfloat16": "bf16",
            "e4m3": "fp8", "fp8-e4m3": "fp8", "e5m2": "fp8", "fp8-e5m2": "fp8", "w8a8": "int8",
            "w4a16": "int4", "awq": "int4", "gptq": "int4", "int4-awq": "int4",
            "int4-gptq": "int4", "awq-int4": "int4", "gptq-int4": "int4", "f16": "fp16",
            "f32": "fp32", "q8": "q8_0", "q4": "q4_0"}


# what a message for a dtype not known says (a review: "unknown weight_dtype 'float'" said no
# more)
_GGUF = [n for n in DTYPE_BITS if n.startswith(("q", "iq"))]
_DTYPE_LIST = ("dtypes are " + ", ".join(n for n in DTYPE_BITS if n not in _GGUF)
               + f", llama.cpp's {_GGUF[0]} to {_GGUF[-1]}, or a number of bits (4.5)")


def dtype_aliases() -> dict[str, str]:
    """Other spellings the engine reads as a dtype of :data:`DTYPE_BITS`, each with its name
    (``"awq"``: ``"int4"``, ``"q4-k-m"``: ``"q4_k_m"``): the aliases and the names with ``-``
    for ``_``, as written (case aside, which no lookup minds). The templates' dtype lookups
    read these too."""
    out = {}
    for key, name in list(_ALIASES.items()) + [(n, n) for n in DTYPE_BITS]:
        for spelling in (key, key.replace("-", "_"), key.replace("_", "-")):
            if spelling not in DTYPE_BITS:
                out.setdefault(spelling, name)
    return out


def _normalise(text: str) -> str:
    return text.strip().lower().replace("-", "_").replace(" ", "_")


def dtype_name(dtype) -> str:
    """Canonical name of a dtype (``"BF16"`` -> ``"bf16"``); a number of bits gives ``"4.5-bit"``."""
    if type(dtype) is str:  # names repeat on every engine call: remember them
        return _dtype_name_cached(dtype)
    return _dtype_name(dtype)


def _dtype_name(dtype) -> str:
    if isinstance(dtype, str):
        key = _normalise(dtype)
        key = _ALIASES.get(key.replace("_", "-"), _ALIASES.get(key, key))
        if key in DTYPE_BITS:
            return key
        try:  # a number of bits as written, not the normalised key ("1-6" became "1_6",
            # which float() reads as 16)
            text = _BIT_SUFFIX.sub("", dtype.strip())
            bits = float(text) if _BITS_TEXT.fullmatch(text) else float("x")
        except ValueError:
            from difflib import get_close_matches
            raise UnknownNameError("dtype", dtype, get_close_matches(key, DTYPE_BITS, 3, 0.5),
                                   _DTYPE_LIST) from None
        return f"{_bits_checked(bits, dtype):g}-bit"
    return f"{_bits_checked(dtype, dtype):g}-bit"


_dtype_name_cached = functools.lru_cache(maxsize=512)(_dtype_name)  # errors are not cached


_BITS_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_BIT_SUFFIX = re.compile(r"\s*-?\s*bits?$", re.IGNORECASE)  # "4.5-bit", as names show it


def _bits_checked(bits, shown) -> float:
    try:
        b = float(bits)
    except (TypeError, ValueError, OverflowError):
        raise InvalidArgumentError("dtype", "a dtype name or a number of bits in (0, 64]", shown) from None
    if not (math.isfinite(b) and 0 < b <= 64):
        raise InvalidArgumentError("dtype", "a dtype name or a number of bits in (0, 64]", shown)
    return b


def dtype_bits(dtype) -> float:
    """Bits per element of a dtype name (see :data:`DTYPE_BITS`) or a number of bits."""
    name = dtype_name(dtype)
    if name in DTYPE_BITS:
        return DTYPE_BITS[name]
    return float(name[:-4])


def dtype_bytes(dtype) -> float:
    """Bytes per element: ``dtype_bits(dtype) / 8``."""
    if type(dtype) is str:  # names repeat on every engine call: remember them
        return _dtype_bytes_cached(dtype)
    return dtype_bits(dtype) / 8.0


@functools.lru_cache(maxsize=512)
def _dtype_bytes_cached(dtype: str) -> float:
    return dtype_bits(dtype) / 8.0


def is_gguf(weight_dtype) -> bool:
    """True for llama.cpp's GGUF block formats (``q4_k_m``, ``q8_0``, ``iq4_xs``, ...), whose
    matmuls the engine counts at ``gguf_mfu_factor`` of the 16-bit rate (see
    :mod:`xlnapkin.calibration`).

    >>> is_gguf("Q4_K_M"), is_gguf("q8"), is_gguf("IQ4_XS"), is_gguf("int4"), is_gguf(4.5)
    (True, True, True, False, False)
    """
    return dtype_name(weight_dtype).startswith(("q", "iq"))  # dtype_name remembers the names it saw


def compute_dtype(weight_dtype, has_fp8: bool, has_fp4: bool, has_int8: bool) -> str:
    """The tensor-core rate a GPU computes weights of this dtype at: ``"bf16"``, ``"fp16"``,
    ``"fp8"``, ``"int8"`` or ``"fp4"``.

    fp8 weights use the fp8 peak where the GPU has one; int8 weights use int8 (W8A8) where it has
    one; fp4/nvfp4/mxfp4 use a native fp4 path where there is one (Blackwell, MI355X).
    Everything else computes in 16 bits, the weight-only formats (int4, the GGUF formats, fp4 on
    a GPU without fp4) dequantised to the activations (SPEC §2; vLLM's gpt-oss prefill on H100
    agrees, see benchmarks/RESULTS.md): ``"fp16"``, FP16 math with FP16 accumulation, for fp16
    weights and llama.cpp's GGUF formats, whose cuBLAS GEMMs take that compute type; ``"bf16"``,
    16-bit math with FP32 accumulation, for the rest (bf16 has no other; PyTorch's GEMMs and
    vLLM's AWQ and Marlin kernels for int4 weights accumulate in FP32). The two rates differ
    only where FP16 accumulation is faster (GeForce cards, ``catalog.GPU.peak_flops``).

    >>> compute_dtype("fp8", True, False, True), compute_dtype("q4_k_m", True, True, True)
    ('fp8', 'fp16')
    >>> compute_dtype("BF16", True, True, True), compute_dtype("fp8", False, False, False)
    ('bf16', 'bf16')
    """
    name = dtype_name(weight_dtype)
    if name == "fp8" and has_fp8:
        return "fp8"
    if name == "int8" and has_int8:
        return "int8"
    if name in FP4_FORMATS and has_fp4:
        return "fp4"
    return "fp16" if name == "fp16" or is_gguf(weight_dtype) else "bf16"
