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
    # Economics
    "COST_PER_MTOK", "COST_PER_USER_MONTH", "GPU_HOURLY_COST", "OWN_HOURLY_COST",
    "BLENDED_PRICE", "API_MONTHLY_COST", "BREAKEVEN_TOKENS_PER_DAY", "SPOT_HYBRID_COST",
    "PREFIX_CACHE_SAVINGS",
    "SPEC_DECODE_SPEEDUP", "REPLICAS_NEEDED", "SELF_HOST_MONTHLY_COST", "REPLICA_TOKENS_PER_SEC",
    "SELF_HOST_COST_PER_MTOK", "SELF_HOST_MONTHLY_COST_FOR", "COST_PER_MTOK_INPUT",
    "COST_PER_MTOK_OUTPUT", "PREFILL_DECODE_RATIO", "USERS_PER_GPU", "USERS_PER_GPU_BY_THROUGHPUT",
    "USERS_PER_GPU_FOR", "PROVISIONED_UTILIZATION", "EFFECTIVE_COST_PER_MTOK", "DEDICATED_GPUS",
    "POOLED_GPUS", "POOLING_SAVINGS", "POOLED_UTILIZATION", "LORA_SHARING_SAVINGS",
    "CALIBRATE_EFFICIENCY", "JOULES_PER_TOKEN", "ENERGY_COST_PER_MTOK",
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
        efficiency: blank or 0 = calibrated defaults; a number e in (0, 1] sets MBU = MFU = e with no overheads (1 = pure roofline) [0-1]

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
        efficiency: blank or 0 = calibrated; a number in (0, 1] sets MBU = MFU with no overheads [0-1]

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
        efficiency: blank or 0 = calibrated; a number in (0, 1] sets MBU = MFU with no overheads [0-1]

    >>> TTFT_MS("h100-sxm", "llama-3.1-8b", 1, 1024, "bf16", None, 1, 1)
    16.95
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
        efficiency: blank or 0 = calibrated; a number in (0, 1] sets MBU = MFU with no overheads [0-1]

    >>> MAX_THROUGHPUT("h100-sxm", "llama-3.1-405b")
    'llama-3.1-405b needs 811.7 GB in bf16; 1 x h100-sxm has 80 GB (90% usable): use num_gpus >= 12'
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
        efficiency: blank or 0 = calibrated MFU/MBU; a number in (0, 1] for both (their ratio is what matters) [0-1]

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


# --- Economics --------------------------------------------------------------------------------
# Money: $ per million tokens, $ per user, owning vs renting, breakeven, pooling, caching and
# speculation. The math lives in xlnapkin.economics; these only adapt cells to it.

from . import economics  # noqa: E402  (kept with the section it serves)


def _econ_fit(gpu, model, weight_dtype, kv_dtype, tokens, batch, num_gpus, mem_fraction):
    try:
        return memory.fit_message(gpu, model, weight_dtype, kv_dtype, tokens, batch, num_gpus,
                                  mem_fraction)
    except OverflowError:  # token counts so large that no number of GPUs is a number
        return f"{model} with {batch:g} x {tokens:g} tokens does not fit in any number of GPUs"


def _econ_load_fit(gpu, model, input_tokens=1024, output_tokens=1024, weight_dtype="bf16",
                   kv_dtype="bf16", num_gpus=1, **_):
    return _econ_fit(gpu, model, weight_dtype, kv_dtype, input_tokens + output_tokens, 1, num_gpus,
                     0.9)


def _econ_decode_fit(gpu, model, batch=1, context=1024, weight_dtype="bf16", kv_dtype="bf16",
                     num_gpus=1, **_):
    return _econ_fit(gpu, model, weight_dtype, kv_dtype, context, batch, num_gpus, 1.0)


@excel_function
def COST_PER_MTOK(price_per_gpu_hour, tokens_per_sec, utilization=1, num_gpus=1):
    """USD per million tokens: price x num_gpus / (tokens_per_sec x utilization x 3600) x 1e6. Idle hours are paid for.

    Args:
        price_per_gpu_hour: cost of one GPU for one hour [USD/GPU-hour]
        tokens_per_sec: tokens/s the whole replica produces while busy [tokens/s]
        utilization: share of paid hours the replica is busy, in (0, 1] [0-1]
        num_gpus: GPUs in the replica [GPUs]

    >>> COST_PER_MTOK(2.21, 2400, 0.7, 4)
    1.4616
    """
    return economics.cost_per_mtok(price_per_gpu_hour, tokens_per_sec, utilization, num_gpus)


@excel_function
def COST_PER_USER_MONTH(price_per_gpu_hour, users_per_gpu, hours_per_month=730):
    """USD per user per month: one GPU's monthly cost (price x hours) shared by the users it serves.

    Args:
        price_per_gpu_hour: cost of one GPU for one hour [USD/GPU-hour]
        users_per_gpu: users one GPU serves, e.g. from USERS_PER_GPU [users]
        hours_per_month: hours the GPU is paid for in a month, at most 744 [hours]

    >>> COST_PER_USER_MONTH(3, 500, 720)
    4.32
    """
    return economics.cost_per_user_month(price_per_gpu_hour, users_per_gpu, hours_per_month)


@excel_function
def GPU_HOURLY_COST(purchase_price, years=3, power_watts=0, price_per_kwh=0, pue=1,
                    annual_overhead=0):
    """Own-hardware USD per GPU-hour: straight-line depreciation over years x 8760 h, plus energy, plus yearly overhead as a share of the price.

    Args:
        purchase_price: price paid for the GPU [USD]
        years: years written off over [years]
        power_watts: average power the GPU draws [W]
        price_per_kwh: electricity price [USD/kWh]
        pue: data-centre power usage effectiveness, >= 1 [ratio]
        annual_overhead: yearly hosting and maintenance as a fraction of the price [1/year]

    >>> GPU_HOURLY_COST(32000, 3)
    1.2177
    """
    return economics.gpu_hourly_cost(purchase_price, years, power_watts, price_per_kwh, pue,
                                     annual_overhead)


@excel_function
def OWN_HOURLY_COST(purchase_price, years=3, power_watts=0, price_per_kwh=0, pue=1,
                    hosting_per_month=0, cost_of_capital=0, residual_value=0):
    """Own-hardware USD per GPU-hour with financing (annuity at cost_of_capital), resale value, energy and monthly hosting. Equals GPU_HOURLY_COST at zero rate, resale and hosting.

    Args:
        purchase_price: price paid for the GPU [USD]
        years: years the GPU is used and financed over [years]
        power_watts: average power the GPU draws [W]
        price_per_kwh: electricity price [USD/kWh]
        pue: data-centre power usage effectiveness, >= 1 [ratio]
        hosting_per_month: colocation, network, support and staff per GPU per month [USD/month]
        cost_of_capital: yearly interest rate or required return, in [0, 1] [1/year]
        residual_value: resale value at the end, at most the purchase price [USD]

    >>> OWN_HOURLY_COST(32000, 3, 700, 0.10, 1.3, 150, 0.08, 5000)
    1.5381
    """
    return economics.own_hourly_cost(purchase_price, years, power_watts, price_per_kwh, pue,
                                     hosting_per_month, cost_of_capital, residual_value)


@excel_function
def BLENDED_PRICE(price_in_per_mtok, price_out_per_mtok, input_share=0.5):
    """USD per million tokens for a mix: input_share x input price + (1 - input_share) x output price.

    Args:
        price_in_per_mtok: price of input (prompt) tokens [USD/Mtok]
        price_out_per_mtok: price of output (generated) tokens [USD/Mtok]
        input_share: share of all tokens that are input, in [0, 1] [0-1]

    >>> BLENDED_PRICE(2.5, 10, 0.5)
    6.25
    """
    return economics.blended_price(price_in_per_mtok, price_out_per_mtok, input_share)


@excel_function
def API_MONTHLY_COST(tokens_per_day, price_per_mtok, days_per_month=730 / 24):
    """Monthly USD bill of a token API: tokens per day x days x price per million tokens / 1e6.

    Args:
        tokens_per_day: tokens sent to and received from the API per day [tokens/day]
        price_per_mtok: price per million tokens, e.g. BLENDED_PRICE(...) [USD/Mtok]
        days_per_month: days billed per month [days]

    >>> API_MONTHLY_COST(33e6, 6.25, 30)
    6187.5
    """
    return economics.api_monthly_cost(tokens_per_day, price_per_mtok, days_per_month)


@excel_function
def BREAKEVEN_TOKENS_PER_DAY(self_host_monthly_cost, api_price_per_mtok,
                             self_host_price_per_mtok=0, days_per_month=730 / 24):
    """Tokens per day above which a fixed self-hosted fleet costs less than the API: monthly cost / days / ((API price - self-host marginal price) / 1e6).

    Args:
        self_host_monthly_cost: fixed monthly cost of the self-hosted fleet [USD/month]
        api_price_per_mtok: API price, blended over input and output [USD/Mtok]
        self_host_price_per_mtok: self-hosting cost that grows with volume (energy, egress) [USD/Mtok]
        days_per_month: days the monthly cost covers [days]

    >>> BREAKEVEN_TOKENS_PER_DAY(6453.2, 6.25)
    33945600.0
    """
    return economics.breakeven_tokens_per_day(self_host_monthly_cost, api_price_per_mtok,
                                              self_host_price_per_mtok, days_per_month)


@excel_function
def SPOT_HYBRID_COST(base_gpus, burst_gpus, on_demand_rate, spot_rate, burst_fraction,
                     hours_per_month=730):
    """Monthly USD of an on-demand base fleet plus spot burst GPUs used burst_fraction of the time: base x on-demand x hours + burst x spot x hours x fraction.

    Args:
        base_gpus: on-demand or reserved GPUs running all month [GPUs]
        burst_gpus: spot GPUs added for peaks [GPUs]
        on_demand_rate: price of an on-demand GPU [USD/GPU-hour]
        spot_rate: price of a spot GPU [USD/GPU-hour]
        burst_fraction: share of the month the spot GPUs run, in [0, 1] [0-1]
        hours_per_month: hours in the month, at most 744 [hours]

    >>> SPOT_HYBRID_COST(4, 4, 2.21, 0.73, 0.6)
    7732.16
    """
    return economics.spot_hybrid_cost(base_gpus, burst_gpus, on_demand_rate, spot_rate,
                                      burst_fraction, hours_per_month)


@excel_function
def PREFIX_CACHE_SAVINGS(prefix_tokens, unique_tokens, hit_rate):
    """Share of prefill tokens prefix caching saves: hit_rate x prefix / (prefix + unique).

    Args:
        prefix_tokens: tokens of the shared prefix (system prompt, template) [tokens]
        unique_tokens: tokens of each request after the prefix, > 0 [tokens]
        hit_rate: share of requests that find the prefix cached, in [0, 1] [0-1]

    >>> PREFIX_CACHE_SAVINGS(2048, 256, 0.85)
    0.7556
    """
    return economics.prefix_cache_savings(prefix_tokens, unique_tokens, hit_rate)


@excel_function
def SPEC_DECODE_SPEEDUP(acceptance_rate, draft_tokens, draft_cost_ratio=0):
    """Decode speed-up from speculative decoding: (1 - a^(k+1)) / (1 - a) / (1 + k x draft_cost_ratio). Holds while decode is memory-bound.

    Args:
        acceptance_rate: chance a drafted token is accepted, in [0, 1) [0-1]
        draft_tokens: tokens drafted per step (k) [tokens]
        draft_cost_ratio: time of a draft-model step over a target-model step [ratio]

    >>> SPEC_DECODE_SPEEDUP(0.8, 4, 0.05)
    2.8013
    """
    return economics.spec_decode_speedup(acceptance_rate, draft_tokens, draft_cost_ratio)


@excel_function
def REPLICAS_NEEDED(tokens_per_day, replica_tokens_per_sec, utilization=0.7):
    """Replicas needed for a daily token volume, at least 1: ceil(tokens_per_day / (replica tokens/s x 86400 x utilization)).

    Args:
        tokens_per_day: tokens to serve per day, counted as replica_tokens_per_sec counts them [tokens/day]
        replica_tokens_per_sec: tokens/s one replica sustains under load [tokens/s]
        utilization: average load a replica is planned to run at, in (0, 1] [0-1]

    >>> REPLICAS_NEEDED(2e9, 10000)
    4.0
    """
    return economics.replicas_needed(tokens_per_day, replica_tokens_per_sec, utilization)


@excel_function
def SELF_HOST_MONTHLY_COST(tokens_per_day, replica_tokens_per_sec, price_per_gpu_hour, num_gpus=1,
                           utilization=0.7, hours_per_month=730):
    """Monthly USD of the self-hosted replicas a daily volume needs: REPLICAS_NEEDED x num_gpus x price x hours (a step function of volume).

    Args:
        tokens_per_day: tokens to serve per day [tokens/day]
        replica_tokens_per_sec: tokens/s one replica sustains under load [tokens/s]
        price_per_gpu_hour: cost of one GPU for one hour [USD/GPU-hour]
        num_gpus: GPUs in one replica [GPUs]
        utilization: average load a replica is planned to run at, in (0, 1] [0-1]
        hours_per_month: hours paid per month, at most 744 [hours]

    >>> SELF_HOST_MONTHLY_COST(2e9, 10000, 2.21, 4)
    25812.8
    """
    return economics.self_host_monthly_cost(tokens_per_day, replica_tokens_per_sec,
                                            price_per_gpu_hour, num_gpus, utilization,
                                            hours_per_month)


@excel_function(nan_message=_econ_load_fit)
def REPLICA_TOKENS_PER_SEC(gpu, model, input_tokens=1024, output_tokens=1024, weight_dtype="bf16",
                           kv_dtype="bf16", num_gpus=1, efficiency=None):
    """Input plus output tokens/s one replica processes under saturating load: MAX_THROUGHPUT x (input + output) / output.

    Args:
        gpu: GPU catalog id or spec string [id]
        model: model catalog id or spec string [id]
        input_tokens: prompt tokens per request [tokens]
        output_tokens: generated tokens per request [tokens]
        weight_dtype: weight element type [dtype]
        kv_dtype: KV-cache element type [dtype]
        num_gpus: GPUs one replica is spread over (tensor parallel) [GPUs]
        efficiency: blank or 0 = calibrated; a number in (0, 1] sets MBU = MFU with no overheads [0-1]

    >>> round(REPLICA_TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", 1024, 1024, "bf16", None, 1, 1))
    20069
    """
    return economics.replica_tokens_per_sec(gpu, model, input_tokens, output_tokens,
                                            weight_dtype, kv_dtype, num_gpus, efficiency)


@excel_function(nan_message=_econ_load_fit)
def SELF_HOST_COST_PER_MTOK(gpu, model, price_per_gpu_hour, input_tokens=1024, output_tokens=1024,
                            weight_dtype="bf16", kv_dtype="bf16", num_gpus=1, utilization=0.7,
                            efficiency=None):
    """USD per million tokens (input plus output) of a self-hosted replica under load, to compare with an API's blended price.

    Args:
        gpu: GPU catalog id or spec string [id]
        model: model catalog id or spec string [id]
        price_per_gpu_hour: cost of one GPU for one hour [USD/GPU-hour]
        input_tokens: prompt tokens per request [tokens]
        output_tokens: generated tokens per request [tokens]
        weight_dtype: weight element type [dtype]
        kv_dtype: KV-cache element type [dtype]
        num_gpus: GPUs one replica is spread over (tensor parallel) [GPUs]
        utilization: share of paid hours the replica is busy, in (0, 1] [0-1]
        efficiency: blank or 0 = calibrated; a number in (0, 1] sets MBU = MFU with no overheads [0-1]

    >>> round(SELF_HOST_COST_PER_MTOK("h100-sxm", "llama-3.1-8b", 2, 1024, 1024, "bf16", None, 1, 1, 1), 4)
    0.0277
    """
    return economics.self_host_cost_per_mtok(gpu, model, price_per_gpu_hour, input_tokens,
                                             output_tokens, weight_dtype, kv_dtype, num_gpus,
                                             utilization, efficiency)


@excel_function(nan_message=_econ_load_fit)
def SELF_HOST_MONTHLY_COST_FOR(gpu, model, tokens_per_day, price_per_gpu_hour, input_tokens=1024,
                               output_tokens=1024, weight_dtype="bf16", kv_dtype="bf16",
                               num_gpus=1, utilization=0.7, efficiency=None, hours_per_month=730):
    """Monthly USD to serve tokens_per_day (input plus output) on replicas of gpu: SELF_HOST_MONTHLY_COST with the replica rate from REPLICA_TOKENS_PER_SEC.

    Args:
        gpu: GPU catalog id or spec string [id]
        model: model catalog id or spec string [id]
        tokens_per_day: input plus output tokens to serve per day [tokens/day]
        price_per_gpu_hour: cost of one GPU for one hour [USD/GPU-hour]
        input_tokens: prompt tokens per request [tokens]
        output_tokens: generated tokens per request [tokens]
        weight_dtype: weight element type [dtype]
        kv_dtype: KV-cache element type [dtype]
        num_gpus: GPUs one replica is spread over (tensor parallel) [GPUs]
        utilization: average load a replica is planned to run at, in (0, 1] [0-1]
        efficiency: blank or 0 = calibrated; a number in (0, 1] sets MBU = MFU with no overheads [0-1]
        hours_per_month: hours paid per month, at most 744 [hours]

    >>> SELF_HOST_MONTHLY_COST_FOR("h100-sxm", "llama-3.1-8b", 2e6, 2)
    1460.0
    """
    return economics.self_host_monthly_cost_for(gpu, model, tokens_per_day, price_per_gpu_hour,
                                                input_tokens, output_tokens, weight_dtype,
                                                kv_dtype, num_gpus, utilization, efficiency,
                                                hours_per_month)


@excel_function(nan_message=_econ_load_fit)
def COST_PER_MTOK_INPUT(gpu, model, price_per_gpu_hour, input_tokens=1024, output_tokens=1024,
                        weight_dtype="bf16", kv_dtype="bf16", num_gpus=1, utilization=1,
                        efficiency=None):
    """USD per million input tokens when the replica's GPU time under load is charged to the phase that uses it (prefill).

    Args:
        gpu: GPU catalog id or spec string [id]
        model: model catalog id or spec string [id]
        price_per_gpu_hour: cost of one GPU for one hour [USD/GPU-hour]
        input_tokens: prompt tokens per request [tokens]
        output_tokens: generated tokens per request [tokens]
        weight_dtype: weight element type [dtype]
        kv_dtype: KV-cache element type [dtype]
        num_gpus: GPUs one replica is spread over (tensor parallel) [GPUs]
        utilization: share of paid hours the replica is busy, in (0, 1] [0-1]
        efficiency: blank or 0 = calibrated; a number in (0, 1] sets MBU = MFU with no overheads [0-1]

    >>> round(COST_PER_MTOK_INPUT("h100-sxm", "llama-3.1-8b", 2, 1024, 1024, "bf16", None, 1, 1, 1), 4)
    0.0092
    """
    return economics.cost_per_mtok_input(gpu, model, price_per_gpu_hour, input_tokens,
                                         output_tokens, weight_dtype, kv_dtype, num_gpus,
                                         utilization, efficiency)


@excel_function(nan_message=_econ_load_fit)
def COST_PER_MTOK_OUTPUT(gpu, model, price_per_gpu_hour, input_tokens=1024, output_tokens=1024,
                         weight_dtype="bf16", kv_dtype="bf16", num_gpus=1, utilization=1,
                         efficiency=None):
    """USD per million output tokens when the replica's GPU time under load is charged to the phase that uses it (decode).

    Args:
        gpu: GPU catalog id or spec string [id]
        model: model catalog id or spec string [id]
        price_per_gpu_hour: cost of one GPU for one hour [USD/GPU-hour]
        input_tokens: prompt tokens per request [tokens]
        output_tokens: generated tokens per request [tokens]
        weight_dtype: weight element type [dtype]
        kv_dtype: KV-cache element type [dtype]
        num_gpus: GPUs one replica is spread over (tensor parallel) [GPUs]
        utilization: share of paid hours the replica is busy, in (0, 1] [0-1]
        efficiency: blank or 0 = calibrated; a number in (0, 1] sets MBU = MFU with no overheads [0-1]

    >>> round(COST_PER_MTOK_OUTPUT("h100-sxm", "llama-3.1-8b", 2, 1024, 1024, "bf16", None, 1, 1, 1), 4)
    0.0462
    """
    return economics.cost_per_mtok_output(gpu, model, price_per_gpu_hour, input_tokens,
                                          output_tokens, weight_dtype, kv_dtype, num_gpus,
                                          utilization, efficiency)


@excel_function(nan_message=_econ_load_fit)
def PREFILL_DECODE_RATIO(gpu, model, input_tokens=1024, output_tokens=1024, weight_dtype="bf16",
                         kv_dtype="bf16", num_gpus=1, efficiency=None):
    """Prefill GPUs per decode GPU when the phases run on separate GPUs: prefill GPU-time over decode GPU-time per request under load.

    Args:
        gpu: GPU catalog id or spec string [id]
        model: model catalog id or spec string [id]
        input_tokens: prompt tokens per request [tokens]
        output_tokens: generated tokens per request [tokens]
        weight_dtype: weight element type [dtype]
        kv_dtype: KV-cache element type [dtype]
        num_gpus: GPUs in one replica of each phase (tensor parallel) [GPUs]
        efficiency: blank or 0 = calibrated; a number in (0, 1] sets MBU = MFU with no overheads [0-1]

    >>> round(PREFILL_DECODE_RATIO("h100-sxm", "llama-3.1-405b", 100, 65, "fp16", "fp16", 16, 1), 2)
    1.5
    """
    return economics.prefill_decode_ratio(gpu, model, input_tokens, output_tokens, weight_dtype,
                                          kv_dtype, num_gpus, efficiency)


@excel_function
def USERS_PER_GPU(concurrent_sequences, duty_cycle):
    """Users one GPU serves when each is active duty_cycle of the time: concurrent_sequences / duty_cycle.

    Args:
        concurrent_sequences: sequences the GPU holds and decodes at once, e.g. from MAX_BATCH [sequences]
        duty_cycle: share of the time a user has a request in flight, in (0, 1] [0-1]

    >>> USERS_PER_GPU(60, 0.2)
    300.0
    """
    return economics.users_per_gpu(concurrent_sequences, duty_cycle)


@excel_function
def USERS_PER_GPU_BY_THROUGHPUT(tokens_per_sec, user_tokens_per_sec, duty_cycle=1, num_gpus=1):
    """Users per GPU bounded by throughput: tokens_per_sec / (user_tokens_per_sec x duty_cycle) / num_gpus.

    Args:
        tokens_per_sec: tokens/s the whole replica produces under load [tokens/s]
        user_tokens_per_sec: tokens/s one user receives while active [tokens/s]
        duty_cycle: share of the time a user is active, in (0, 1] [0-1]
        num_gpus: GPUs in the replica [GPUs]

    >>> USERS_PER_GPU_BY_THROUGHPUT(2400, 40, 0.2)
    300.0
    """
    return economics.users_per_gpu_by_throughput(tokens_per_sec, user_tokens_per_sec, duty_cycle,
                                                 num_gpus)


@excel_function
def USERS_PER_GPU_FOR(gpu, model, context, duty_cycle, min_user_tokens_per_sec=0,
                      weight_dtype="bf16", kv_dtype="bf16", num_gpus=1, efficiency=None,
                      mem_fraction=0.9):
    """Users per GPU: sequences of context tokens that fit (engine cap 512), fewer if each would decode slower than min_user_tokens_per_sec, divided by duty_cycle and num_gpus.

    Args:
        gpu: GPU catalog id or spec string [id]
        model: model catalog id or spec string [id]
        context: tokens each active user's sequence holds [tokens]
        duty_cycle: share of the time a user is active, in (0, 1] [0-1]
        min_user_tokens_per_sec: slowest decode speed an active user accepts; 0 = no limit [tokens/s]
        weight_dtype: weight element type [dtype]
        kv_dtype: KV-cache element type [dtype]
        num_gpus: GPUs one replica is spread over (tensor parallel) [GPUs]
        efficiency: blank or 0 = calibrated; a number in (0, 1] sets MBU = MFU with no overheads [0-1]
        mem_fraction: share of each GPU's memory usable for weights and KV cache [0-1]

    >>> USERS_PER_GPU_FOR("b200; memory_gb=192", "qwen2.5-32b", 200000, 1, 0, "fp8", "fp8", 1, 1, 1)
    6.0
    """
    return economics.users_per_gpu_for(gpu, model, context, duty_cycle, min_user_tokens_per_sec,
                                       weight_dtype, kv_dtype, num_gpus, efficiency, mem_fraction)


@excel_function
def PROVISIONED_UTILIZATION(peak_to_average, regions=1, offpeak_fill=0):
    """Average utilization when capacity is bought for the peak in regions that cannot share GPUs and are busy at different hours: 1 / (peak_to_average x regions), raised by off-peak fill.

    Args:
        peak_to_average: peak load over average load of the combined traffic, >= 1 [ratio]
        regions: regions that cannot share GPUs, with busy hours that do not overlap [regions]
        offpeak_fill: share of the idle capacity filled by batch jobs or resold, in [0, 1] [0-1]

    >>> PROVISIONED_UTILIZATION(2, 3)
    0.1667
    """
    return economics.provisioned_utilization(peak_to_average, regions, offpeak_fill)


@excel_function
def EFFECTIVE_COST_PER_MTOK(price_per_gpu_hour, tokens_per_sec, utilization, offpeak_fill=0,
                            batch_discount=0.5, num_gpus=1):
    """Break-even USD per million interactive tokens when offpeak_fill of the idle capacity is sold as batch work at batch_discount off.

    Args:
        price_per_gpu_hour: cost of one GPU for one hour [USD/GPU-hour]
        tokens_per_sec: tokens/s of the whole replica while busy [tokens/s]
        utilization: share of capacity interactive traffic uses, in (0, 1] [0-1]
        offpeak_fill: share of the idle capacity filled by batch or resold work, in [0, 1] [0-1]
        batch_discount: discount batch tokens get off the interactive price, in [0, 1] [0-1]
        num_gpus: GPUs in the replica [GPUs]

    >>> EFFECTIVE_COST_PER_MTOK(16, 22000, 1/6, 0.5, 0.5)
    0.5387
    """
    return economics.effective_cost_per_mtok(price_per_gpu_hour, tokens_per_sec, utilization,
                                             offpeak_fill, batch_discount, num_gpus)


@excel_function
def DEDICATED_GPUS(tenants, mean_utilization, percentile, cv=0.25, gpus_per_tenant=1,
                   correlation=0):
    """Whole GPUs when every tenant has its own deployment sized for its own load percentile: tenants x MAX(gpus_per_tenant, CEILING(m x (1 + NORM.S.INV(percentile) x cv))).

    Args:
        tenants: number of tenants (customers, teams or models) [tenants]
        mean_utilization: each tenant's average load as a share of its gpus_per_tenant, in (0, 1] [0-1]
        percentile: share of the time capacity must cover the load, in (0, 1), e.g. 0.95 [0-1]
        cv: coefficient of variation of one tenant's load (standard deviation / mean), normal [ratio]
        gpus_per_tenant: GPUs of one tenant's smallest deployment; m = mean_utilization x this [GPUs]
        correlation: correlation between tenants' loads, in [0, 1]; 0 = independent [0-1]

    >>> DEDICATED_GPUS(10, 0.4, 0.95)
    10.0
    """
    return economics.dedicated_gpus(tenants, mean_utilization, percentile, cv, gpus_per_tenant,
                                    correlation)


@excel_function
def POOLED_GPUS(tenants, mean_utilization, percentile, cv=0.25, gpus_per_tenant=1,
                correlation=0):
    """Whole GPUs for one shared pool sized for the percentile of the summed load: MAX(gpus_per_tenant, CEILING(N m + NORM.S.INV(percentile) x cv x m x SQRT(N (1 + (N-1) correlation)))).

    Args:
        tenants: number of tenants sharing the pool [tenants]
        mean_utilization: each tenant's average load as a share of its gpus_per_tenant, in (0, 1] [0-1]
        percentile: share of the time the pool must cover the load, in (0, 1) [0-1]
        cv: coefficient of variation of one tenant's load, normal [ratio]
        gpus_per_tenant: GPUs of one tenant's dedicated deployment; m = mean_utilization x this [GPUs]
        correlation: correlation between tenants' loads, in [0, 1]; 1 = peaks align [0-1]

    >>> POOLED_GPUS(10, 0.4, 0.95)
    5.0
    """
    return economics.pooled_gpus(tenants, mean_utilization, percentile, cv, gpus_per_tenant,
                                 correlation)


@excel_function
def POOLING_SAVINGS(tenants, mean_utilization, percentile, cv=0.25, gpus_per_tenant=1,
                    correlation=0):
    """Share of GPU cost saved by one shared pool instead of dedicated deployments: 1 - POOLED_GPUS / DEDICATED_GPUS (at most 1 - the dedicated fleet's utilization).

    Args:
        tenants: number of tenants [tenants]
        mean_utilization: each tenant's average load as a share of its gpus_per_tenant, in (0, 1] [0-1]
        percentile: share of the time capacity must cover the load, in (0, 1) [0-1]
        cv: coefficient of variation of one tenant's load, normal [ratio]
        gpus_per_tenant: GPUs of one tenant's smallest deployment [GPUs]
        correlation: correlation between tenants' loads, in [0, 1] [0-1]

    >>> POOLING_SAVINGS(10, 0.4, 0.95)
    0.5
    """
    return economics.pooling_savings(tenants, mean_utilization, percentile, cv, gpus_per_tenant,
                                     correlation)


@excel_function
def POOLED_UTILIZATION(tenants, mean_utilization, percentile, cv=0.25, gpus_per_tenant=1,
                       correlation=0):
    """Average utilization of the shared pool: tenants x mean_utilization x gpus_per_tenant / POOLED_GPUS.

    Args:
        tenants: number of tenants [tenants]
        mean_utilization: each tenant's average load as a share of its gpus_per_tenant, in (0, 1] [0-1]
        percentile: share of the time the pool must cover the load, in (0, 1) [0-1]
        cv: coefficient of variation of one tenant's load, normal [ratio]
        gpus_per_tenant: GPUs of one tenant's dedicated deployment [GPUs]
        correlation: correlation between tenants' loads, in [0, 1] [0-1]

    >>> POOLED_UTILIZATION(10, 0.4, 0.95)
    0.8
    """
    return economics.pooled_utilization(tenants, mean_utilization, percentile, cv,
                                        gpus_per_tenant, correlation)


@excel_function
def LORA_SHARING_SAVINGS(models, throughput_overhead=0.02, mean_utilization=0.4, percentile=0.95,
                         cv=0.25):
    """Share of cost saved by serving fine-tuned variants as LoRA adapters on one pool of base-model replicas (slowed by throughput_overhead) instead of a deployment each.

    Args:
        models: fine-tuned variants (adapters) of one base model [models]
        throughput_overhead: throughput lost to adapter switching and LoRA compute, in [0, 1) [0-1]
        mean_utilization: each variant's average load as a share of one replica, in (0, 1] [0-1]
        percentile: share of the time capacity must cover the load, in (0, 1) [0-1]
        cv: coefficient of variation of one variant's load, normal [ratio]

    >>> LORA_SHARING_SAVINGS(50, 0.02, 0.01)
    0.98
    """
    return economics.lora_sharing_savings(models, throughput_overhead, mean_utilization,
                                          percentile, cv)


@excel_function(nan_message=_econ_decode_fit)
def CALIBRATE_EFFICIENCY(measured_tokens_per_sec, gpu, model, batch=1, context=1024,
                         weight_dtype="bf16", kv_dtype="bf16", num_gpus=1):
    """The efficiency e in (0, 1] at which TOKENS_PER_SEC matches a measured decode speed (measured / pure roofline); an error if the measurement beats the roofline.

    Args:
        measured_tokens_per_sec: decode tokens/s you measured for the whole replica [tokens/s]
        gpu: GPU catalog id or spec string [id]
        model: model catalog id or spec string [id]
        batch: sequences decoded together in the measurement [sequences]
        context: tokens each sequence held [tokens]
        weight_dtype: weight element type [dtype]
        kv_dtype: KV-cache element type [dtype]
        num_gpus: GPUs one replica is spread over (tensor parallel) [GPUs]

    >>> CALIBRATE_EFFICIENCY(150, "h100-sxm", "llama-2-7b", 1, 0, "fp16")
    0.6036
    """
    return economics.calibrate_efficiency(measured_tokens_per_sec, gpu, model, batch, context,
                                          weight_dtype, kv_dtype, num_gpus)


@excel_function
def JOULES_PER_TOKEN(power_watts, tokens_per_sec, num_gpus=1, pue=1):
    """Energy per token: power_watts x num_gpus x pue / tokens_per_sec. Use GPU_SPEC(gpu, "tdp_w") as an upper bound on power.

    Args:
        power_watts: power one GPU draws while serving [W]
        tokens_per_sec: tokens/s of the whole replica [tokens/s]
        num_gpus: GPUs in the replica [GPUs]
        pue: data-centre power usage effectiveness, >= 1 [ratio]

    >>> JOULES_PER_TOKEN(700, 2000)
    0.35
    """
    return economics.joules_per_token(power_watts, tokens_per_sec, num_gpus, pue)


@excel_function
def ENERGY_COST_PER_MTOK(power_watts, tokens_per_sec, price_per_kwh, num_gpus=1, pue=1):
    """Electricity USD per million tokens: JOULES_PER_TOKEN x 1e6 / 3.6e6 x price_per_kwh.

    Args:
        power_watts: power one GPU draws while serving [W]
        tokens_per_sec: tokens/s of the whole replica [tokens/s]
        price_per_kwh: electricity price [USD/kWh]
        num_gpus: GPUs in the replica [GPUs]
        pue: data-centre power usage effectiveness, >= 1 [ratio]

    >>> ENERGY_COST_PER_MTOK(700, 2000, 0.10)
    0.009722
    """
    return economics.energy_cost_per_mtok(power_watts, tokens_per_sec, price_per_kwh, num_gpus,
                                          pue)
