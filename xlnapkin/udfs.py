"""Excel worksheet functions: the one module named in xlwings' ``UDF Modules`` and re-exported by
the xlwings Lite ``main.py``.

Each Excel function is an engine function registered under its Excel name:
:func:`xlnapkin._excel.excel_function` coerces and broadcasts the cells, and the engine
function's docstring is the single source for the function wizard, the reference docs and the
doctest. Only the catalog functions, whose Excel surface differs from the engine's, are written
here. Names and argument order are pinned (SPEC §3; ``tests/test_udfs.py``).
"""

from __future__ import annotations

from . import (__version__, _args, capacity, catalog, economics, memory, queueing, roofline,
               serving)
from ._excel import REGISTRY, excel_function

# --- Memory and speed -------------------------------------------------------------------------
KV_BYTES = excel_function(memory.kv_bytes)
WEIGHT_BYTES = excel_function(memory.weight_bytes)
GPUS_NEEDED = excel_function(memory.gpus_needed)
MAX_BATCH = excel_function(memory.max_batch)
TOKENS_PER_SEC = excel_function(serving.tokens_per_sec)
ITL_MS = excel_function(serving.itl_ms)
TTFT_MS = excel_function(serving.ttft_ms)
MAX_THROUGHPUT = excel_function(serving.max_throughput)
OPS_PER_BYTE = excel_function(roofline.ops_per_byte)
THROUGHPUT_AT_CONCURRENCY = excel_function(serving.throughput_at_concurrency)
TTFT_AT_RATE = excel_function(queueing.ttft_at_rate)
TPOT_AT_RATE = excel_function(queueing.tpot_at_rate)
MAX_RATE_FOR_SLA = excel_function(queueing.max_rate_for_sla)
REPLICAS_FOR_SLA = excel_function(queueing.replicas_for_sla)
CRITICAL_BATCH = excel_function(roofline.critical_batch)


# --- Catalog ----------------------------------------------------------------------------------

def _gpu_table():
    """The GPU catalog as a table with a header row (spills).

    >>> NAPKIN_GPUS()[0][:4]
    ['id', 'memory_gb', 'mem_bw_tbps', 'bf16_tflops']
    """
    return catalog.table("gpu")


def _model_table():
    """The model catalog as a table with a header row (spills).

    >>> NAPKIN_MODELS()[0][:3]
    ['id', 'params_b', 'layers']
    """
    return catalog.table("model")


def _gpu_spec(gpu, field):
    """One value from the GPU catalog, e.g. memory_gb, mem_bw_tbps, bf16_tflops, source.

    Args:
        gpu: *
        field: catalog column name, e.g. "memory_gb" [name]

    >>> GPU_SPEC("h100", "mem_bw_tbps")
    3.35
    """
    return catalog.spec_value("gpu", gpu, field)


def _model_spec(model, field):
    """One value from the model catalog, e.g. params_b, layers, kv_heads, source.

    Args:
        model: *
        field: catalog column name, e.g. "kv_heads" [name]

    >>> MODEL_SPEC("llama-3.1-70b", "kv_heads")
    8.0
    """
    return catalog.spec_value("model", model, field)


def _version():
    """The xlnapkin package version.

    >>> NAPKIN_VERSION() == __version__
    True
    """
    return __version__


_args.fill(globals())  # the shared argument descriptions (xlnapkin._args)
NAPKIN_GPUS = excel_function(_gpu_table, "NAPKIN_GPUS", table=True)
NAPKIN_MODELS = excel_function(_model_table, "NAPKIN_MODELS", table=True)
GPU_SPEC = excel_function(_gpu_spec, "GPU_SPEC", text=True)
MODEL_SPEC = excel_function(_model_spec, "MODEL_SPEC", text=True)
NAPKIN_VERSION = excel_function(_version, "NAPKIN_VERSION", text=True)

# --- Economics --------------------------------------------------------------------------------
COST_PER_MTOK = excel_function(economics.cost_per_mtok)
COST_PER_USER_MONTH = excel_function(economics.cost_per_user_month)
GPU_HOURLY_COST = excel_function(economics.gpu_hourly_cost)
OWN_HOURLY_COST = excel_function(economics.own_hourly_cost)
BLENDED_PRICE = excel_function(economics.blended_price)
API_MONTHLY_COST = excel_function(economics.api_monthly_cost)
BREAKEVEN_TOKENS_PER_DAY = excel_function(economics.breakeven_tokens_per_day)
SPOT_HYBRID_COST = excel_function(economics.spot_hybrid_cost)
PREFIX_CACHE_SAVINGS = excel_function(economics.prefix_cache_savings)
SPEC_DECODE_SPEEDUP = excel_function(economics.spec_decode_speedup)
REPLICAS_NEEDED = excel_function(economics.replicas_needed)
SELF_HOST_MONTHLY_COST = excel_function(economics.self_host_monthly_cost)
REPLICA_TOKENS_PER_SEC = excel_function(capacity.replica_tokens_per_sec)
SELF_HOST_COST_PER_MTOK = excel_function(capacity.self_host_cost_per_mtok)
SELF_HOST_MONTHLY_COST_FOR = excel_function(capacity.self_host_monthly_cost_for)
COST_PER_MTOK_INPUT = excel_function(capacity.cost_per_mtok_input)
COST_PER_MTOK_OUTPUT = excel_function(capacity.cost_per_mtok_output)
PREFILL_DECODE_RATIO = excel_function(capacity.prefill_decode_ratio)
USERS_PER_GPU = excel_function(economics.users_per_gpu)
USERS_PER_GPU_BY_THROUGHPUT = excel_function(economics.users_per_gpu_by_throughput)
USERS_PER_GPU_FOR = excel_function(capacity.users_per_gpu_for)
PROVISIONED_UTILIZATION = excel_function(economics.provisioned_utilization)
EFFECTIVE_COST_PER_MTOK = excel_function(economics.effective_cost_per_mtok)
DEDICATED_GPUS = excel_function(economics.dedicated_gpus)
POOLED_GPUS = excel_function(economics.pooled_gpus)
POOLING_SAVINGS = excel_function(economics.pooling_savings)
POOLED_UTILIZATION = excel_function(economics.pooled_utilization)
LORA_SHARING_SAVINGS = excel_function(economics.lora_sharing_savings)
CALIBRATE_EFFICIENCY = excel_function(serving.calibrate_efficiency)
JOULES_PER_TOKEN = excel_function(economics.joules_per_token)
ENERGY_COST_PER_MTOK = excel_function(economics.energy_cost_per_mtok)
REPLICA_TOKENS_PER_DAY = excel_function(economics.replica_tokens_per_day)
COST_PER_MTOK_AT_VOLUME = excel_function(economics.cost_per_mtok_at_volume)
FLEET_UTILIZATION = excel_function(economics.fleet_utilization)
FLEET_BREAKEVEN_TOKENS_PER_DAY = excel_function(economics.fleet_breakeven_tokens_per_day)
SPOT_MIX_PRICE = excel_function(economics.spot_mix_price)
COLO_COST_PER_MONTH = excel_function(economics.colo_cost_per_month)
DISCOUNT_FACTOR = excel_function(economics.discount_factor)
RENT_COST_IN_YEAR = excel_function(economics.rent_cost_in_year)
RENT_NPV = excel_function(economics.rent_npv)
OWN_RUNNING_COST_PER_YEAR = excel_function(economics.own_running_cost_per_year)
OWN_NPV = excel_function(economics.own_npv)
DEDICATED_UTILIZATION = excel_function(economics.dedicated_utilization)
DEDICATED_COVERAGE = excel_function(economics.dedicated_coverage)
POOLED_COVERAGE = excel_function(economics.pooled_coverage)
POOLING_SAVINGS_FROM_PEAKS = excel_function(economics.pooling_savings_from_peaks)
POOLING_SAVINGS_FROM_ROUNDING = excel_function(economics.pooling_savings_from_rounding)
USERS_AT_PERCENTILE = excel_function(economics.users_at_percentile)
REPLICAS_FOR_USERS = excel_function(economics.replicas_for_users)
SLOT_HEADROOM = excel_function(economics.slot_headroom)

__all__ = list(REGISTRY)
