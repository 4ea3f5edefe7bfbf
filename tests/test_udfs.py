"""The Excel boundary: pinned names and argument order, wizard text, coercion, broadcasting,
per-cell messages and bad input (SPEC §3, §7)."""

import datetime
import inspect
import math

import numpy as np
import pytest

from xlnapkin import _excel, capacity, economics, memory, roofline, serving, udfs

# SPEC §3: names and argument positions are fixed once released; saved workbooks depend on
# them. Every Excel function, sorted by name, with its arguments in order. A new function is
# added here when it is released; an existing line never changes.
PINNED = {
    "API_MONTHLY_COST": ["tokens_per_day", "price_per_mtok", "days_per_month"],
    "BLENDED_PRICE": ["price_in_per_mtok", "price_out_per_mtok", "input_share", "cached_share",
                      "price_cached_in_per_mtok"],  # last two appended
    "BREAKEVEN_TOKENS_PER_DAY": ["self_host_monthly_cost", "api_price_per_mtok",
                                 "self_host_price_per_mtok", "days_per_month"],
    "CALIBRATE_EFFICIENCY": ["measured_tokens_per_sec", "gpu", "model", "batch", "context",
                             "weight_dtype", "kv_dtype", "num_gpus"],
    "COLO_COST_PER_MONTH": ["power_watts", "usd_per_kw_month"],
    "COST_PER_MTOK": ["price_per_gpu_hour", "tokens_per_sec", "utilization", "num_gpus"],
    "COST_PER_MTOK_AT_VOLUME": ["monthly_cost", "tokens_per_day", "days_per_month"],
    "COST_PER_MTOK_INPUT": ["gpu", "model", "price_per_gpu_hour", "input_tokens",
                            "output_tokens", "weight_dtype", "kv_dtype", "num_gpus",
                            "utilization", "efficiency"],
    "COST_PER_MTOK_OUTPUT": ["gpu", "model", "price_per_gpu_hour", "input_tokens",
                             "output_tokens", "weight_dtype", "kv_dtype", "num_gpus",
                             "utilization", "efficiency"],
    "COST_PER_USER_MONTH": ["price_per_gpu_hour", "users_per_gpu", "hours_per_month"],
    "CRITICAL_BATCH": ["gpu", "model", "weight_dtype", "efficiency"],
    "DEDICATED_COVERAGE": ["tenants", "mean_utilization", "percentile", "cv", "gpus_per_tenant",
                           "correlation"],
    "DEDICATED_GPUS": ["tenants", "mean_utilization", "percentile", "cv", "gpus_per_tenant",
                       "correlation"],
    "DEDICATED_UTILIZATION": ["tenants", "mean_utilization", "percentile", "cv", "gpus_per_tenant",
                              "correlation"],
    "DISCOUNT_FACTOR": ["cost_of_capital", "year"],
    "EFFECTIVE_COST_PER_MTOK": ["price_per_gpu_hour", "tokens_per_sec", "utilization",
                                "offpeak_fill", "batch_discount", "num_gpus"],
    "ENERGY_COST_PER_MTOK": ["power_watts", "tokens_per_sec", "price_per_kwh", "num_gpus", "pue"],
    "FLEET_BREAKEVEN_TOKENS_PER_DAY": ["replica_monthly_cost", "replica_tokens_per_day",
                                       "api_price_per_mtok", "min_replicas", "fixed_monthly_cost",
                                       "days_per_month"],
    "FLEET_UTILIZATION": ["tokens_per_day", "replica_tokens_per_sec", "replicas",
                          "hours_per_month"],
    "GPUS_NEEDED": ["gpu", "model", "weight_dtype", "tokens", "batch", "kv_dtype", "mem_fraction"],
    "GPU_HOURLY_COST": ["purchase_price", "years", "power_watts", "price_per_kwh", "pue",
                        "annual_overhead"],
    "GPU_SPEC": ["gpu", "field"],
    "ITL_MS": ["gpu", "model", "batch", "context", "weight_dtype", "kv_dtype", "num_gpus",
               "efficiency"],
    "JOULES_PER_TOKEN": ["power_watts", "tokens_per_sec", "num_gpus", "pue"],
    "KV_BYTES": ["model", "tokens", "batch", "kv_dtype"],
    "LORA_SHARING_SAVINGS": ["models", "throughput_overhead", "mean_utilization", "percentile",
                             "cv", "correlation"],  # correlation appended 2026-12-02
    "MAX_BATCH": ["gpu", "model", "tokens", "weight_dtype", "kv_dtype", "num_gpus",
                  "mem_fraction"],
    "MAX_RATE_FOR_SLA": ["gpu", "model", "ttft_ms", "tpot_ms", "input_tokens", "output_tokens",
                         "weight_dtype", "kv_dtype", "num_gpus", "percentile", "efficiency",
                         "token_budget", "mem_fraction"],  # last two appended
    "MAX_THROUGHPUT": ["gpu", "model", "input_tokens", "output_tokens", "weight_dtype",
                       "kv_dtype", "num_gpus", "efficiency", "mem_fraction"],  # last one appended
    "MODEL_SPEC": ["model", "field"],
    "NAPKIN_GPUS": [],
    "NAPKIN_MODELS": [],
    "NAPKIN_VERSION": [],
    "OPS_PER_BYTE": ["gpu", "dtype"],
    "OWN_HOURLY_COST": ["purchase_price", "years", "power_watts", "price_per_kwh", "pue",
                        "hosting_per_month", "cost_of_capital", "residual_value"],
    "OWN_NPV": ["purchase_price", "years", "power_watts", "price_per_kwh", "pue",
                "hosting_per_month", "cost_of_capital", "residual_value"],
    "OWN_RUNNING_COST_PER_YEAR": ["power_watts", "price_per_kwh", "pue", "hosting_per_month"],
    "POOLED_COVERAGE": ["tenants", "mean_utilization", "percentile", "cv", "gpus_per_tenant",
                        "correlation"],
    "POOLED_GPUS": ["tenants", "mean_utilization", "percentile", "cv", "gpus_per_tenant",
                    "correlation"],
    "POOLED_UTILIZATION": ["tenants", "mean_utilization", "percentile", "cv", "gpus_per_tenant",
                           "correlation"],
    "POOLING_SAVINGS": ["tenants", "mean_utilization", "percentile", "cv", "gpus_per_tenant",
                        "correlation"],
    "POOLING_SAVINGS_FROM_PEAKS": ["tenants", "mean_utilization", "percentile", "cv",
                                   "gpus_per_tenant", "correlation"],
    "POOLING_SAVINGS_FROM_ROUNDING": ["tenants", "mean_utilization", "percentile", "cv",
                                      "gpus_per_tenant", "correlation"],
    "PREFILL_DECODE_RATIO": ["gpu", "model", "input_tokens", "output_tokens", "weight_dtype",
                             "kv_dtype", "num_gpus", "efficiency"],
    "PREFIX_CACHE_SAVINGS": ["prefix_tokens", "unique_tokens", "hit_rate"],
    "PROVISIONED_UTILIZATION": ["peak_to_average", "regions", "offpeak_fill"],
    "RENT_COST_IN_YEAR": ["price_per_gpu_hour", "year", "price_decline", "hours_per_month"],
    "RENT_NPV": ["price_per_gpu_hour", "years", "price_decline", "cost_of_capital",
                 "hours_per_month"],
    "REPLICAS_FOR_SLA": ["gpu", "model", "requests_per_sec", "ttft_ms", "tpot_ms",
                         "input_tokens", "output_tokens", "weight_dtype", "kv_dtype", "num_gpus",
                         "percentile", "efficiency", "token_budget",
                         "mem_fraction"],  # last two appended
    "REPLICAS_FOR_USERS": ["users", "concurrent_slots", "duty_cycle", "percentile"],
    "REPLICAS_NEEDED": ["tokens_per_day", "replica_tokens_per_sec", "utilization", "min_replicas",
                        "hours_per_month"],  # last two appended
    "REPLICA_TOKENS_PER_DAY": ["replica_tokens_per_sec", "utilization", "hours_per_month"],
    "REPLICA_TOKENS_PER_SEC": ["gpu", "model", "input_tokens", "output_tokens", "weight_dtype",
                               "kv_dtype", "num_gpus", "efficiency",
                               "prefix_cache_savings"],  # last one appended
    "SELF_HOST_COST_PER_MTOK": ["gpu", "model", "price_per_gpu_hour", "input_tokens",
                                "output_tokens", "weight_dtype", "kv_dtype", "num_gpus",
                                "utilization", "efficiency"],
    "SELF_HOST_MONTHLY_COST": ["tokens_per_day", "replica_tokens_per_sec", "price_per_gpu_hour",
                               "num_gpus", "utilization", "hours_per_month", "min_replicas",
                               "staff_cost_per_month"],  # last two appended
    "SELF_HOST_MONTHLY_COST_FOR": ["gpu", "model", "tokens_per_day", "price_per_gpu_hour",
                                   "input_tokens", "output_tokens", "weight_dtype", "kv_dtype",
                                   "num_gpus", "utilization", "efficiency", "hours_per_month",
                                   "min_replicas", "staff_cost_per_month"],  # last two appended
    "SLOT_HEADROOM": ["users", "duty_cycle", "concurrent_slots"],
    "SPEC_DECODE_SPEEDUP": ["acceptance_rate", "draft_tokens", "draft_cost_ratio"],
    "SPOT_HYBRID_COST": ["base_gpus", "burst_gpus", "on_demand_rate", "spot_rate",
                         "burst_fraction", "hours_per_month"],
    "SPOT_MIX_PRICE": ["on_demand_rate", "spot_rate", "spot_share"],
    "THROUGHPUT_AT_CONCURRENCY": ["gpu", "model", "concurrency", "input_tokens", "output_tokens",
                                  "weight_dtype", "kv_dtype", "num_gpus", "efficiency",
                                  "mem_fraction"],  # last one appended
    "TOKENS_PER_SEC": ["gpu", "model", "batch", "context", "weight_dtype", "kv_dtype",
                       "num_gpus", "efficiency"],
    "TPOT_AT_RATE": ["gpu", "model", "requests_per_sec", "input_tokens", "output_tokens",
                     "weight_dtype", "kv_dtype", "num_gpus", "percentile", "efficiency",
                     "token_budget", "mem_fraction"],  # last two appended
    "TTFT_AT_RATE": ["gpu", "model", "requests_per_sec", "input_tokens", "output_tokens",
                     "weight_dtype", "kv_dtype", "num_gpus", "percentile", "efficiency",
                     "token_budget", "mem_fraction"],  # last two appended
    "TTFT_MS": ["gpu", "model", "batch", "prompt_tokens", "weight_dtype", "kv_dtype", "num_gpus",
                "efficiency"],
    "USERS_AT_PERCENTILE": ["concurrent_slots", "duty_cycle", "percentile"],
    "USERS_PER_GPU": ["concurrent_sequences", "duty_cycle"],
    "USERS_PER_GPU_BY_THROUGHPUT": ["tokens_per_sec", "user_tokens_per_sec", "duty_cycle",
                                    "num_gpus"],
    "USERS_PER_GPU_FOR": ["gpu", "model", "context", "duty_cycle", "min_user_tokens_per_sec",
                          "weight_dtype", "kv_dtype", "num_gpus", "efficiency", "mem_fraction"],
    "WEIGHT_BYTES": ["model", "weight_dtype"],
}


def signature_of(fn):
    return [p.name for p in inspect.signature(fn).parameters.values()]


def test_pinned_functions_keep_their_argument_order():
    assert sorted(_excel.REGISTRY) == list(PINNED)
    for name, args in PINNED.items():
        assert signature_of(_excel.REGISTRY[name]) == args, name


# SPEC §3's defaults, as its table writes them (blank efficiency = None, the calibrated defaults).
SPEC_DEFAULTS = {
    "KV_BYTES": {"tokens": 1, "batch": 1, "kv_dtype": None},
    "WEIGHT_BYTES": {"weight_dtype": None},
    "GPUS_NEEDED": {"weight_dtype": None, "tokens": 0, "batch": 0, "kv_dtype": None,
                    "mem_fraction": 0.9},
    "MAX_BATCH": {"tokens": 1024, "weight_dtype": None, "kv_dtype": None, "num_gpus": 1,
                  "mem_fraction": 0.9},
    "TOKENS_PER_SEC": {"batch": 1, "context": 1024, "weight_dtype": None, "kv_dtype": None,
                       "num_gpus": 1, "efficiency": None},
    "ITL_MS": {"batch": 1, "context": 1024, "weight_dtype": None, "kv_dtype": None,
               "num_gpus": 1, "efficiency": None},
    "TTFT_MS": {"batch": 1, "prompt_tokens": 1024, "weight_dtype": None, "kv_dtype": None,
                "num_gpus": 1, "efficiency": None},
    "MAX_THROUGHPUT": {"input_tokens": 1024, "output_tokens": 1024, "weight_dtype": None,
                       "kv_dtype": None, "num_gpus": 1, "efficiency": None, "mem_fraction": 0.9},
    "OPS_PER_BYTE": {"dtype": "bf16"},
    "CRITICAL_BATCH": {"weight_dtype": None, "efficiency": None},
    "COST_PER_MTOK": {"utilization": 1, "num_gpus": 1},
    "COST_PER_USER_MONTH": {"hours_per_month": 730},
    "GPU_HOURLY_COST": {"years": 3, "power_watts": 0, "price_per_kwh": 0, "pue": 1,
                        "annual_overhead": 0},
    "BLENDED_PRICE": {"input_share": 0.5,
                      "cached_share": 0, "price_cached_in_per_mtok": None},  # appended, off
    "BREAKEVEN_TOKENS_PER_DAY": {"self_host_price_per_mtok": 0, "days_per_month": 730 / 24},
    "SPOT_HYBRID_COST": {"hours_per_month": 730},
    "PREFIX_CACHE_SAVINGS": {},
    "SPEC_DECODE_SPEEDUP": {"draft_cost_ratio": 0},
}


def test_spec_defaults_are_kept():
    for name, defaults in SPEC_DEFAULTS.items():
        params = inspect.signature(_excel.REGISTRY[name]).parameters.values()
        assert {p.name: p.default for p in params if p.default is not p.empty} == defaults, name


def test_every_excel_function_is_exported_and_lite_compatible():
    assert set(udfs.__all__) == set(_excel.REGISTRY)
    for name, fn in _excel.REGISTRY.items():
        assert getattr(udfs, name) is fn
        assert name.isupper() and name.replace("_", "").isalnum()
        for p in inspect.signature(fn).parameters.values():
            assert p.kind is p.POSITIONAL_OR_KEYWORD, (name, p.name)


def test_wizard_text_fits_and_every_argument_is_documented():
    for name, fn in _excel.REGISTRY.items():
        docs = _excel.parse_docstring(fn.__doc__)
        assert 0 < len(docs.summary) <= _excel.WIZARD_LIMIT, name
        assert list(docs.args) == signature_of(fn), name  # in the signature's order
        for arg, text in docs.args.items():
            assert len(text) <= _excel.WIZARD_LIMIT, (name, arg)
            assert text.rstrip().endswith("]"), (name, arg)  # unit in the last [bracket]
        # the wizard's line of each argument: its default, and what a blank means (an audit)
        for a in _excel.describe(fn).arguments:
            assert len(a.wizard) <= _excel.WIZARD_LIMIT and a.wizard.endswith(f"[{a.unit}]")
            if not a.required and a.default is not None:
                assert f"; default {a.default_text} [" in a.wizard, (name, a.name)
            assert "``" not in a.wizard and ":func:" not in a.wizard, (name, a.name)
        assert _excel.describe(fn).examples, f"{name} has no example"


ENGINE_MODULES = [memory, roofline, serving, economics, capacity]


def _documented_engine_functions():
    for module in ENGINE_MODULES:
        for fname in module.__all__:
            fn = getattr(module, fname)
            if callable(fn) and "Args:" in (fn.__doc__ or ""):
                yield f"{module.__name__}.{fname}", fn


@pytest.mark.parametrize("name, fn", list(_documented_engine_functions()))
def test_engine_docstring_matches_signature_and_units(name, fn):
    """Every engine function with an Args: section (the Excel text, or engine-only) documents
    each parameter once, in order, with a unit; text units go with text defaults only."""
    doc = _excel.describe(fn)
    assert [a.name for a in doc.arguments] == signature_of(fn), name
    for a in doc.arguments:
        assert a.description and a.unit, (name, a.name)
        if not a.required and a.default is not None:
            assert isinstance(a.default, str) == a.is_text, (name, a.name, a.default)


def test_an_argument_name_has_one_unit_across_functions():
    """Each Excel function documents its own arguments (the wizard shows them per function);
    the same argument name must not drift to another unit from one function to the next."""
    units = {}
    for name, fn in _excel.REGISTRY.items():
        for a in _excel.describe(fn.engine).arguments:
            units.setdefault(a.name, {}).setdefault(a.unit, []).append(name)
    drifted = {arg: seen for arg, seen in units.items() if len(seen) > 1}
    assert not drifted, drifted


def test_every_registered_function_is_the_engine_function():
    """One source: an Excel function's text is its engine function's docstring."""
    for name, fn in _excel.REGISTRY.items():
        assert fn.__doc__ == fn.engine.__doc__, name
        assert fn.__name__ == fn.__qualname__ == name
        assert inspect.signature(fn) == inspect.signature(fn.engine)


def test_scalars_in_scalar_out():
    out = udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", 8, 2048)
    assert isinstance(out, float)
    assert out == pytest.approx(serving.tokens_per_sec("h100-sxm", "llama-3.1-8b", 8, 2048))


def test_single_cells_arrive_as_2d_ranges_from_xlwings():
    # xlwings passes every argument as a 2-D range (ndim=2): [[x]] must behave like x.
    assert udfs.KV_BYTES([["llama-3.1-8b"]], [[4096.0]], [[2.0]]) == udfs.KV_BYTES(
        "llama-3.1-8b", 4096, 2)


def test_column_by_row_spills_a_table():
    batches = [[1.0], [8.0], [64.0]]
    contexts = [[512.0, 4096.0]]
    out = udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", batches, contexts)
    expected = serving.tokens_per_sec("h100-sxm", "llama-3.1-8b", np.array(batches),
                                      np.array(contexts))
    assert np.allclose(out, expected, rtol=1e-12)
    assert np.shape(out) == (3, 2)


def test_gpu_column_by_batch_row():
    out = udfs.TOKENS_PER_SEC([["h100-sxm"], ["b200"], ["mi300x"]], "llama-3.1-70b",
                              [[1, 16, 128]], 2048, "fp8", "fp8")
    for i, g in enumerate(("h100-sxm", "b200", "mi300x")):
        for j, b in enumerate((1, 16, 128)):
            want = serving.tokens_per_sec(g, "llama-3.1-70b", b, 2048, "fp8", "fp8")
            if math.isnan(want):
                assert isinstance(out[i][j], str) and "use num_gpus >=" in out[i][j]
            else:
                assert out[i][j] == pytest.approx(want, rel=1e-12)


def test_only_cells_that_cannot_run_show_the_message():
    out = udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-70b", [[1, 64]], 4096, "fp8", "fp8")
    assert isinstance(out[0][0], float)
    assert out[0][1] == ("llama-3.1-70b needs 113.5 GB in fp8 with KV for 64 x 4096 tokens; "
                         "1 x h100-sxm has 80 GB (90% usable): use num_gpus >= 2")


def test_range_cells_are_plain_python_and_each_is_its_one_cell_call():
    # A grid mixing numbers, KV-cache messages, a bad cell and a context beyond the model's
    # maximum: every cell is a Python float or str (what xlwings hands Excel), and each is what
    # the same call on that one cell gives (the range path words messages in bulk).
    batches = [[1.0], [48.0], [200.0], [-3.0]]
    contexts = [[0.0, 4096.0, 70000.0, 200000.0]]
    out = udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-70b", batches, contexts, "fp8", "fp8", 2)
    kinds = {type(cell) for row in out for cell in row}
    assert kinds == {float, str}
    for i, (b,) in enumerate(batches):
        for j, c in enumerate(contexts[0]):
            assert out[i][j] == udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-70b", b, c, "fp8",
                                                    "fp8", 2), (b, c)
    assert "needs" in out[2][2] and "must be" in out[3][0] and "holds at most" in out[0][3]


# The leading arguments of each function that takes a memory share, to vary it over a range.
_SHARE_CALLS = {
    "MAX_BATCH": ("h100-sxm", "llama-3.1-70b", 8192, "fp8", "fp8", 2),
    "GPUS_NEEDED": ("h100-sxm", "llama-3.1-70b", "fp8", 8192, 16, "fp8"),
    "MAX_THROUGHPUT": ("h100-sxm", "qwen2.5-32b", 1024, 1024, "fp8", "fp8", 1, None),
    "THROUGHPUT_AT_CONCURRENCY": ("h100-sxm", "qwen2.5-32b", 500, 1024, 1024, "fp8", "fp8", 1,
                                  None),
    "TTFT_AT_RATE": ("h100-sxm", "qwen2.5-32b", 2, 1024, 1024, "fp8", "fp8", 1, 0.95, None,
                     8192),
    "TPOT_AT_RATE": ("h100-sxm", "qwen2.5-32b", 2, 1024, 1024, "fp8", "fp8", 1, 0.95, None,
                     8192),
    "MAX_RATE_FOR_SLA": ("h100-sxm", "qwen2.5-32b", 1000, 50, 1024, 1024, "fp8", "fp8", 1, 0.95,
                         None, 8192),
    "REPLICAS_FOR_SLA": ("h100-sxm", "qwen2.5-32b", 20, 1000, 50, 1024, 1024, "fp8", "fp8", 1,
                         0.95, None, 8192),
}


@pytest.mark.parametrize("name", sorted(_SHARE_CALLS))
def test_a_memory_share_over_a_range_is_each_cells_own_call(name):
    # MAX_RATE_FOR_SLA and REPLICAS_FOR_SLA raised for a column of shares when they gained the
    # argument (a review): their fast path for one replica did not count it among the
    # replica's arguments. 0.3 holds no 32.8 GB of weights on 80 GB: a message among numbers.
    fn, head = getattr(udfs, name), _SHARE_CALLS[name]
    assert list(inspect.signature(fn).parameters)[len(head)] == "mem_fraction"
    shares = [0.3, 0.6, 0.9, 1.0]
    column = fn(*head, [[s] for s in shares])
    row = fn(*head, [shares])
    for i, s in enumerate(shares):
        one = fn(*head, s)
        assert column[i][0] == one and row[0][i] == one, (name, s)
    assert isinstance(one, float)


def test_the_gpu_count_a_message_suggests_runs_the_configuration():
    # The count each cell suggests holds the KV cache of its batch x context too, so it runs
    # that cell (before, every cell said 16, the weights alone, and 256 x 4,096 tokens on 16
    # then said 32).
    out = udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-405b", [[1], [256]], [[0, 4096]])
    assert out[0][0] == (
        "llama-3.1-405b needs 811.7 GB in bf16; 1 x h100-sxm has 80 GB (90% usable): "
        "use num_gpus 16 (12 would hold it, but its heads do not split over 12)")
    assert out[1][1] == (
        "llama-3.1-405b needs 811.7 GB in bf16 for its weights alone, more with the KV cache; 1 x "
        "h100-sxm has 80 GB (90% usable): use num_gpus 32 (19 would hold it, but its heads do not "
        "split over 19)")
    for batch, row in zip((1, 256), out):
        for context, cell in zip((0, 4096), row):
            assert cell == udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-405b", batch, context)
            suggested = int(cell.split("use num_gpus ")[1].split()[-1 if ">=" in cell else 0])
            runs = udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-405b", batch, context, None, None,
                                       suggested)
            assert isinstance(runs, float) and runs > 0, (batch, context, runs)
            least = udfs.GPUS_NEEDED("h100-sxm", "llama-3.1-405b", None, context, batch)
            assert least <= suggested and (f"{least:g} would hold it" in cell
                                           or f">= {least:g}" in cell)


def test_fit_messages_over_a_range_are_each_cells_own_call():
    # Weights that do not fit, KV that does not fit, absurd contexts, GPU counts and memory
    # shares as ranges: every cell of one range call is the message of its own scalar call.
    from xlnapkin import memory
    batches, contexts = np.array([[1.0], [64.0], [4096.0]]), np.array([0.0, 8192.0, 1e7, 1e12])
    for gpu, model, dtype in (("h100-sxm", "llama-3.1-405b", None), ("l4", "llama-3.1-70b", "fp8"),
                              ("h100-sxm", "llama-3.1-8b", None)):
        for gpus, share in ((np.array([1.0, 2.0, 8.0, 16.0]), 0.9),
                            (8.0, np.array([0.5, 0.9, 1.0, 0.8]))):
            out = memory.fit_message(gpu, model, dtype, None, contexts, batches, gpus, share)
            for (i, j), text in np.ndenumerate(out):
                n = gpus[j] if np.ndim(gpus) else gpus
                f = share[j] if np.ndim(share) else share
                assert text == memory.fit_message(gpu, model, dtype, None, contexts[j],
                                                  batches[i, 0], n, f), (gpu, model, i, j)
    # a grid whose weights alone do not fit is a few messages, not one per cell
    grid = memory.fit_message("h100-sxm", "llama-3.1-405b", None, None,
                              np.arange(1.0, 201.0), np.arange(1.0, 101.0)[:, None])
    assert len(set(grid.ravel().tolist())) <= 4


def test_less_kv_is_the_advice_only_where_the_weights_alone_would_fit():
    many = udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-405b", 1024, 131072, None, None, 8)
    assert many.endswith("hold fewer sequences or tokens (974 GPUs would hold it, but its heads "
                         "split over at most 128)")
    # Maverick's 40 heads split over 40 GPUs at most, and 40 T4s hold 576 GB of its 801 GB of
    # weights: no batch or context makes it fit, so the advice is about the GPUs or the weights,
    # in a range cell as in one call.
    out = udfs.TOKENS_PER_SEC("t4", "llama-4-maverick", [[1], [2]], [[0, 1024]], None, None, 8)
    for row in out:
        for cell in row:
            assert ": use GPUs with more memory or a smaller weight dtype (56 GPUs would hold " \
                   "it, but its heads split over at most 40)" in cell
    assert out[1][1] == udfs.TOKENS_PER_SEC("t4", "llama-4-maverick", 2, 1024, None, None, 8)


def test_does_not_fit_message_from_spec():
    assert udfs.ITL_MS("h100-sxm", "llama-3.1-405b", 1, 0) == (
        "llama-3.1-405b needs 811.7 GB in bf16; 1 x h100-sxm has 80 GB (90% usable): use num_gpus 16 (12 would hold it, but its heads do not split over 12)")


def test_blanks_take_defaults_and_text_numbers_are_numbers():
    base = udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b")
    assert udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", None, None, None, "", None, None) == base
    assert udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", "1", "1,024") == base
    assert udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", 1.0, 1024.0, "BF16") == base
    # A review: "1.024" typed as text in a token count read as 1.024 tokens; a date cell's
    # message said nothing of dates.
    assert udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", 1, "1.024") == (
        "context must be typed without a thousands dot, got '1.024' (for 1024 tokens type 1024: "
        "a dot is a decimal point)")
    assert udfs.KV_BYTES("llama-3.1-8b", " 2.048.000 ").startswith("tokens must be typed")
    assert udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", "1.000") == base  # not a count
    assert udfs.KV_BYTES("llama-3.1-8b", "1.5") == udfs.KV_BYTES("llama-3.1-8b", 1.5)
    assert udfs.KV_BYTES("llama-3.1-8b", "0.512") == udfs.KV_BYTES("llama-3.1-8b", 0.512)
    # ... so is a prefill budget and a day's volume (a review), but not a rate of tokens
    assert udfs.TTFT_AT_RATE("h100-sxm", "llama-3.1-8b", 5, 1024, 256, None, None, 1, 0.9,
                             None, "8.192").startswith("token_budget must be typed without")
    assert udfs.API_MONTHLY_COST("1.500.000", 0.5).startswith("tokens_per_day must be typed")
    assert udfs.COST_PER_MTOK(2.49, "150.500") == udfs.COST_PER_MTOK(2.49, 150.5)
    for date in (datetime.date(2024, 1, 8), datetime.datetime(2024, 1, 8)):  # as xlwings has it
        assert udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", date) == (
            "batch must be a number, got '2024-01-08' (its cell is formatted as a date: format "
            "it as a number)")
    # A 0 efficiency in a range is the calibrated default, a number is that efficiency.
    mixed = udfs.ITL_MS("h100-sxm", "llama-3.1-8b", 1, 0, "bf16", "bf16", 1, [[0, 1.0]])
    assert mixed[0][0] == pytest.approx(udfs.ITL_MS("h100-sxm", "llama-3.1-8b", 1, 0))
    assert mixed[0][1] == pytest.approx(4.794, rel=1e-3)  # seed 004: the 8B step, 4.8 ms


def test_a_formulas_rounding_noise_is_the_whole_number_the_cell_shows():
    """=0.1*3/0.3*8 is 8.000000000000002 and =(0.1+0.2)/0.3 is 1.0000000000000002: Excel shows
    8 and 1, and so they count, in one cell, in a range and as a GPU count or a share of 1; a
    value further off is refused with every digit it has, never rounded to an allowed one."""
    eight, one = 0.1 * 3 / 0.3 * 8, (0.1 + 0.2) / 0.3
    assert eight != 8 and one != 1
    g, m = "h100-sxm", "llama-3.1-70b"
    assert udfs.TOKENS_PER_SEC(g, m, eight, 1024, "fp8") == udfs.TOKENS_PER_SEC(g, m, 8, 1024,
                                                                                "fp8")
    assert udfs.TOKENS_PER_SEC(g, m, 8, 1024, "fp8", None, 2 * one) == udfs.TOKENS_PER_SEC(
        g, m, 8, 1024, "fp8", None, 2)
    assert udfs.COST_PER_MTOK(2.21, 2400, one) == udfs.COST_PER_MTOK(2.21, 2400, 1)
    row = udfs.TOKENS_PER_SEC(g, m, [[eight, 8.5, 2.0000001]], 1024, "fp8")[0]
    assert row[0] == udfs.TOKENS_PER_SEC(g, m, 8, 1024, "fp8")
    assert row[1:] == ["batch must be a whole number >= 1, got 8.5",
                       "batch must be a whole number >= 1, got 2.0000001"]
    assert udfs.ITL_MS(g, m, 1, 1024, "fp8", None, 2, 1.0000001) == (
        "efficiency must be a number in (0, 1], got 1.0000001")
    # near 0 a small number may be meant (a duty cycle of 1e-12): it stays itself
    assert _excel._snap_whole(1e-12) == 1e-12 and _excel._snap_whole(-2.0000000000000004) == -2.0
    # ... and near 1 a share just under it is allowed where 1 is not (a review: a percentile
    # of 0.999999999 was snapped to 1 and refused)
    assert isinstance(udfs.POOLED_GPUS(10, 0.3, 0.999999999), float)


# Issue 8: a range behaves like a spreadsheet. One blank, one error value and one bad number in
# a block give exactly those cells a message; every other cell computes.
def _tps(batch, context):
    return udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", batch, context)


def test_bad_cells_of_a_range_mark_only_themselves():
    batches = [[1, None, 8], [16, "#N/A", -8], [32, 64, 2.5]]
    out = _tps(batches, 2048)
    assert out[0][1] == "batch is blank"
    assert out[1][1] == "batch holds the error #N/A: fix the cell it comes from"
    assert out[1][2] == "batch must be a whole number >= 1, got -8"
    assert out[2][2] == "batch must be a whole number >= 1, got 2.5"
    for r, c in [(0, 0), (0, 2), (1, 0), (2, 0), (2, 1)]:
        assert out[r][c] == pytest.approx(_tps(batches[r][c], 2048), rel=1e-12), (r, c)


def test_bad_cells_in_two_ranges_and_a_broadcast():
    out = _tps([[1], [-1], [8]], [[1024, "x", 4096]])
    assert [type(v) for v in out[0]] == [float, str, float]
    # A cell that is not a number at all is told so before any range check of another argument.
    assert out[1] == ["batch must be a whole number >= 1, got -1",
                      "context must be a number, got 'x'",
                      "batch must be a whole number >= 1, got -1"]
    assert out[2][1] == "context must be a number, got 'x'"
    assert out[2][2] == pytest.approx(_tps(8, 4096), rel=1e-12)


def test_blank_rows_and_columns_of_an_oversized_range_stay_blank():
    # A column selected past its data (A2:A9 with values in A2:A4), a gap in a column, and a
    # 2-D block with an empty last row and column.
    out = _tps([[1], [8], [None], [64], [None], [""]], 2048)
    assert [row[0] for row in out][2:] == ["", pytest.approx(_tps(64, 2048)), "", ""]
    block = _tps([[1, 8, None], [16, None, None], [None, None, None]], 1024)
    assert block[0][2] == block[1][2] == block[2][0] == block[2][1] == ""
    assert block[1][1] == "batch is blank"
    gpus = udfs.TOKENS_PER_SEC([["h100-sxm"], [None], ["b200"]], "llama-3.1-8b")
    assert gpus[1][0] == "" and isinstance(gpus[2][0], float)


def test_a_gap_beside_another_ranges_value_is_a_blank_argument_not_a_blank_row():
    # A review: a gap in a column of batches came back blank beside a context in that row,
    # where a 2-D block said "batch is blank". A row of contexts says nothing of its rows.
    out = _tps([[1], [None], [4]], [[1024], [2048], [4096]])
    assert out[1][0] == "batch is blank" and isinstance(out[2][0], float)
    assert _tps([[1], [None], [4]], [[1024], [None], [4096]])[1][0] == ""
    assert _tps([[1], [None], [4]], [[1024, 2048]])[1] == ["", ""]
    assert udfs.COST_PER_MTOK(2.5, [[1000], [2000]], [[0.5], [None]])[1][0] == (
        "utilization is blank")


def test_a_block_of_numbers_reads_as_its_cells_do():
    # A review: a block of plain numbers took 1.7 s for a million cells one by one; read whole,
    # it must give what the cells give one by one, ints, floats and a formula's noise alike.
    block = [[1, 8.0], [16, 0.1 * 3 / 0.3 * 8]]
    out = _tps(block, 2048)
    for r in range(2):
        for c in range(2):
            assert out[r][c] == _tps(block[r][c], 2048), (r, c)
    assert out[1][1] == out[0][1]  # 8.000000000000002 is 8
    huge = _tps([[1, 10 ** 400]], 2048)  # an int past float's range, cell by cell
    assert isinstance(huge[0][0], float) and huge[0][1].startswith("batch must be")


def test_ids_pasted_from_a_web_page_read_as_they_show():
    # A review: a non-breaking space, a zero-width space, a tab, a non-breaking hyphen and a
    # full-width letter each made an id unknown.
    for typed in ("Llama 3.1\u00a08B", "llama-3.1-8b\u200b", "llama 3.1\t8b",
                  "Llama\u20113.1\u20118B"):
        assert udfs.MODEL_SPEC(typed, "id") == "llama-3.1-8b", typed
    assert udfs.GPU_SPEC("\uff28100", "id") == "h100-sxm"
    assert udfs.MODEL_SPEC("llama\u22123.1\u22128b", "id") == "llama-3.1-8b"  # minus signs
    # and in a spec string's fields and values (a review)
    for spec in ("h100; memory\u2011gb=96", "h100;memory_gb=96\u200b",
                 "h100;memory_gb=\uff19\uff16"):
        assert udfs.GPU_SPEC(spec, "memory_gb") == 96, spec
    # but free text stays as typed, and so does the spec's id (a review)
    assert udfs.GPU_SPEC("h100; source=NVIDIA \u2014 \u00bd", "source") == "NVIDIA \u2014 \u00bd"
    assert udfs.GPU_SPEC("h100\u00a0sxm; memory_gb=96", "id") == "h100\u00a0sxm; memory_gb=96"
    # and a cell of invisible characters alone is blank (a review: "missing id, memory_gb...")
    assert udfs.GPU_SPEC("\u200b", "id").startswith("gpu must be a gpu id from the catalog")
    # a dtype's name as the functions show one reads back
    assert udfs.WEIGHT_BYTES("llama-3.1-8b", "4.5-bit") == udfs.WEIGHT_BYTES("llama-3.1-8b", 4.5)


def test_a_blank_that_means_something_means_it_in_a_range_too():
    # An audit: a blank in a column of weight dtypes blanked its row, where a blank single cell
    # is the model's released format. Reviews: a trailing blank beside another range's values,
    # and a 2-D block, still came back blank; then a dtype range alone spilled defaults past
    # its data. Past its last value a blank is blank only where no other range has a value.
    native = udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", 8, 1024)
    dtypes = udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", 8, 1024,
                                 [["fp8"], [None], ["int4"], [""]])
    assert dtypes[1][0] == pytest.approx(native) and dtypes[3][0] == ""  # selected past it
    block = udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", 8, 1024, [[None, "fp8"], [None, ""]])
    assert block[0][0] == pytest.approx(native) and block[1] == ["", ""]  # the last row: past
    cached = udfs.BLENDED_PRICE([[3], [2.5]], [[10], [10]], 0.5, 0.5, [[1.5], [None]])
    assert cached[1][0] == pytest.approx(udfs.BLENDED_PRICE(2.5, 10, 0.5, 0.5))
    beside = udfs.MAX_BATCH("h100-sxm", "llama-3.1-8b", [[1024], [2048]], [["fp8"], [None]])
    assert beside[1][0] == udfs.MAX_BATCH("h100-sxm", "llama-3.1-8b", 2048)
    # a row of batches says nothing of the rows past a dtype column's data (a review)
    table = udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", [[1, 8, 16]], 1024,
                                [["fp8"], ["int4"], [None], [None]])
    assert table[2] == table[3] == ["", "", ""] and isinstance(table[1][2], float)
    # two such columns: each past its own last value (a review: a middle blank of one read as
    # "no value" and blanked the row)
    both = udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", 8, 1024,
                               [["fp8"], [None], ["int4"], [None]],
                               [["fp8"], [None], [None], [None]])
    assert both[1][0] == pytest.approx(native) and both[3][0] == ""
    # a column of batches speaks for a dtype block's rows, not its columns (a review: the
    # block's last row, blank, blanked batch 16)
    block = udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", [[1], [8], [16]], 1024,
                                [["fp8", "int4"], ["fp8", "int4"], [None, None]])
    assert block[2] == [pytest.approx(udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", 16))] * 2
    # a partly blank row of a required block is its gap, whatever the argument order
    gap = udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", 8, 1024, [["fp8"], [None], [None]],
                              None, [[1, 2], [1, 2], [None, 2]])
    assert gap[2][0] == "num_gpus is blank"
    # two dtype blocks: each counts up to its own last value along each axis (a review: one's
    # blank columns blanked the other's rows)
    two = udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", 8, 1024,
                              [["fp8", "fp8"], [None, None], [None, None]],
                              [[None, None], ["fp8", None], ["fp8", None]])
    assert all(isinstance(x, float) for row in two for x in row)
    eff = udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", 8, 1024, None, None, 1, [[None, 1]])
    assert eff[0][0] == pytest.approx(udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", 8, 1024))
    assert udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", [[1, None], [8, 16]])[0][1] == (
        "batch is blank")


def test_a_blank_required_scalar_still_names_the_argument():
    assert udfs.TOKENS_PER_SEC("h100-sxm", None) == "model is required"
    assert udfs.KV_BYTES([[None]]) == "model is required"


def test_a_range_where_every_cell_fails_alike_is_one_message():
    assert udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", [[-1, -2]]) == [
        ["batch must be a whole number >= 1, got -1", "batch must be a whole number >= 1, got -2"]]
    assert udfs.TOKENS_PER_SEC("h10", "llama-3.1-8b", [[1, 2]]).startswith("unknown gpu 'h10'")


def test_cross_argument_checks_mark_only_their_cells():
    out = udfs.OWN_HOURLY_COST(30000, 3, 0, 0, 1, 0, 0, [[0, 40000, 5000]])
    assert out[0][1] == "residual_value must be at most purchase_price (30000), got 40000"
    assert isinstance(out[0][0], float) and isinstance(out[0][2], float)


def test_huge_results_are_refused_before_any_work():
    row = [list(range(1, 3001))]
    col = [[c] for c in range(1, 3001)]
    assert udfs.KV_BYTES("llama-3.1-8b", row, col) == (
        "ranges must be at most 4,000,000 result cells, got 9000000")


@pytest.mark.parametrize("value, message", [
    (10 ** 400, "batch must be a number, got 1e+308 or more"),
    (-10 ** 400, "batch must be a number, got -1e+308 or less"),
    ("x" * 100_000, "batch must be a number, got 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…'"),
    ([[[1, 2]]], "range must be a row, a column or a 2-D block, got 'nested ranges'"),
    (np.ones((2, 2, 2)), "range must be a row, a column or a 2-D block, got 'nested ranges'"),
    ([[[1], 2]], "range must be a row, a column or a 2-D block, got 'nested ranges'"),
])
def test_hostile_values_are_messages(value, message):
    assert _tps(value, 1024) == message


@pytest.mark.parametrize("call, message", [
    (lambda: udfs.TOKENS_PER_SEC("h10", "llama-3.1-8b"),
     "unknown gpu 'h10': did you mean h100-sxm, h100-nvl, h100-pcie?"),
    # the ids swapped (an error-message audit: "unknown gpu" did not say why)
    (lambda: udfs.TOKENS_PER_SEC("llama-3.1-8b", "h100-sxm"),
     "unknown gpu 'llama-3.1-8b': that is a model id, not a gpu id (functions take the gpu "
     "first, then the model)"),
    (lambda: udfs.COST_PER_MTOK(2.21, 2400, [[0.7, 70]], 4)[0][1],
     "utilization must be a number in (0, 1], got 70 (a share: 70% is 0.7)"),
    (lambda: udfs.TOKENS_PER_SEC("h100", "llama-3.1-8b", -3),
     "batch must be a whole number >= 1, got -3"),
    (lambda: udfs.TOKENS_PER_SEC("h100", "llama-3.1-8b", 2.5),
     "batch must be a whole number >= 1, got 2.5"),
    (lambda: udfs.TOKENS_PER_SEC("h100", "llama-3.1-8b", "lots"),
     "batch must be a number, got 'lots'"),
    (lambda: udfs.TOKENS_PER_SEC("h100", "llama-3.1-8b", "#N/A"),
     "batch holds the error #N/A: fix the cell it comes from"),
    (lambda: udfs.TOKENS_PER_SEC("#N/A", "llama-3.1-8b"),
     "gpu holds the error #N/A: fix the cell it comes from"),
    (lambda: udfs.GPU_SPEC("h100", " #NAME? "), "field holds the error #NAME?: fix the cell it "
                                                "comes from"),
    (lambda: udfs.TOKENS_PER_SEC("h100", "llama-3.1-8b", 8, 1024, "#DIV/0!"),
     "weight_dtype holds the error #DIV/0!: fix the cell it comes from"),
    (lambda: udfs.WEIGHT_BYTES("llama-3.1-8b", "float"),
     "unknown weight_dtype 'float': dtypes are fp32, fp16, bf16, fp8, int8, int4, fp4, nvfp4, "
     "mxfp4, llama.cpp's q8_0 to iq2_xxs, or a number of bits (4.5)"),
    (lambda: udfs.TOKENS_PER_SEC("h100; id=b200", "llama-3.1-8b"),
     "gpu spec 'h100; id=b200': id is not a field to set; start the spec with the catalog id "
     "instead"),
    (lambda: udfs.BLENDED_PRICE("2,5", 10), "price_in_per_mtok must be a number, got '2,5'"),
    (lambda: udfs.TOKENS_PER_SEC("h100", "llama-3.1-8b", True),
     "batch must be a number, got TRUE"),
    (lambda: udfs.WEIGHT_BYTES("llama-3.1-8b", "fp9"),
     "unknown weight_dtype 'fp9': did you mean fp8, fp4, fp32?"),
    (lambda: udfs.TOKENS_PER_SEC("h100", "llama-3.1-8b", [[1, 2]], [[1, 2, 3]]),
     "ranges do not match: batch 1x2, context 1x3; use one row, one column or equal sizes"),
    (lambda: udfs.TOKENS_PER_SEC(None, "llama-3.1-8b"), "gpu is required"),
    (lambda: udfs.BLENDED_PRICE(None, 10), "price_in_per_mtok is required"),
    (lambda: udfs.TOKENS_PER_SEC("h100"), "model is required"),
    (lambda: udfs.TOKENS_PER_SEC("h100", "llama-3.1-8b", 1, 1024, "bf16", "bf16", 1, 1.5),
     "efficiency must be a number in (0, 1], got 1.5"),
    (lambda: udfs.KV_BYTES("llama-3.1-8b", float("nan")),
     "tokens must be a number >= 0, got NaN"),
    (lambda: udfs.MAX_BATCH("h100", "llama-3.1-8b", 1024, "bf16", "bf16", 1, 0),
     "mem_fraction must be a number in (0, 1], got 0"),
    (lambda: udfs.GPU_SPEC("h100", "memory"),
     "unknown gpu field 'memory': did you mean memory_gb?"),
])
def test_bad_input_gives_one_clear_message(call, message):
    assert call() == message


def test_unknown_id_in_one_cell_only_marks_that_cell():
    out = udfs.KV_BYTES([["llama-3.1-8b"], ["lama"]], 1024)
    assert out[0][0] == 131072 * 1024
    assert out[1][0].startswith("unknown model 'lama'")


def test_lite_raises_so_the_cell_shows_value_error(monkeypatch):
    monkeypatch.setattr("xlnapkin._excel.LITE", True)  # as XLWINGS_ON_SERVER=true at import
    with pytest.raises(Exception) as err:
        udfs.TOKENS_PER_SEC("h10", "llama-3.1-8b")
    assert type(err.value) is Exception and str(err.value).startswith("unknown gpu 'h10'")


BAD_VALUES = [None, "", "abc", -1, 0, 1e300, 1e-300, 1e6, "2,5", float("nan"), float("inf"),
              "#DIV/0!", True,
              [[1, 2], [3]], [[1, 2, 3]], [[1], [2]], [[None, "x"]], [], [[]]]


def _ok_cell(v):
    return isinstance(v, str) or (isinstance(v, float) and math.isfinite(v))


def _all_cells_ok(out):
    if isinstance(out, list):
        return all(_ok_cell(c) if not isinstance(c, list) else _all_cells_ok(c) for c in out)
    return _ok_cell(out)


GOOD = {"gpu": "h100-sxm", "model": "llama-3.1-8b", "weight_dtype": "fp8", "kv_dtype": "fp8",
        "dtype": "fp8", "field": "memory_gb"}


@pytest.mark.parametrize("name", sorted(_excel.REGISTRY))
def test_every_function_survives_bad_input(name):
    fn = _excel.REGISTRY[name]
    params = signature_of(fn)
    good = [GOOD.get(p, 2) for p in params]
    assert _all_cells_ok(fn(*good)) or name in ("NAPKIN_GPUS", "NAPKIN_MODELS")
    for i in range(len(params)):
        for bad in BAD_VALUES:
            args = list(good)
            args[i] = bad
            out = fn(*args)  # must not raise: a value or a message
            if name not in ("NAPKIN_GPUS", "NAPKIN_MODELS"):
                assert _all_cells_ok(out), (name, params[i], bad, out)
    # Extremes in every numeric argument at once (overflow and underflow meet in one formula).
    for extreme in (1e300, 1e-300, 1e6, 0.5):
        args = [g if p in GOOD else extreme for p, g in zip(params, good)]
        assert _all_cells_ok(fn(*args)) or name in ("NAPKIN_GPUS", "NAPKIN_MODELS"), (name, extreme)


NUMERIC = {"ttft_ms": 1000, "tpot_ms": 100, "requests_per_sec": 1}


@pytest.mark.parametrize("name", [n for n in sorted(_excel.REGISTRY)
                                  if set(signature_of(_excel.REGISTRY[n])) - set(GOOD) - {"kind"}])
def test_a_negative_count_or_size_is_a_message(name):
    # No argument of any function takes a negative number (tokens, batch, prices, volumes,
    # rates, limits): GPUS_NEEDED once answered -23 GPUs for a batch of -100.
    fn = _excel.REGISTRY[name]
    sig = inspect.signature(fn).parameters.values()
    params = [p.name for p in sig]
    good = [GOOD.get(p.name, NUMERIC.get(p.name, 10)) if p.default is p.empty else None
            for p in sig]
    if name == "MODEL_SPEC":
        good[params.index("field")] = "params_b"
    out = fn(*good)
    for _ in params:  # a share (duty_cycle, acceptance_rate...) cannot be 10: take 0.5
        bad = [i for i, p in enumerate(params) if isinstance(out, str) and out.startswith(p + " ")]
        if not bad:
            break
        good[bad[0]] = 0.5
        out = fn(*good)
    assert _all_cells_ok(out) and not bad, (name, good, out)  # valid, if not always a number
    for i, p in enumerate(params):
        if p in GOOD or p == "kind":
            continue
        args = list(good)
        args[i] = -5
        out = fn(*args)
        assert isinstance(out, str) and "-5" in out, (name, p, out)


def test_catalog_functions():
    table = udfs.NAPKIN_GPUS()
    assert table[0][0] == "id" and len(table) > 30
    assert udfs.GPU_SPEC("H100 SXM", "memory_gb") == 80
    assert udfs.MODEL_SPEC("llama-3.1-405b", "layers") == 126
    assert udfs.GPU_SPEC([["h100"], ["b200"]], "memory_gb") == [[80.0], [180.0]]
    assert udfs.NAPKIN_VERSION() == __import__("xlnapkin").__version__


def test_users_per_gpu_for_keeps_every_cell_where_one_gpu_count_cannot_run():
    # num_gpus 3 cannot split 32 heads: that cell alone shows why, the others are numbers
    out = udfs.USERS_PER_GPU_FOR("h100", "llama-3.1-8b", 1024, 0.5, None, None, None,
                                 [[1, 2, 3, 4]])
    assert [isinstance(v, float) for v in out[0]] == [True, True, False, True]
    assert "cannot be split over 3 GPUs" in out[0][2]
    assert udfs.USERS_PER_GPU_FOR("h100", "llama-3.1-8b", 0, 0.5) == \
        "context must be a number >= 1, got 0"


def test_spec_strings_refuse_a_zero_efficiency_factor_and_too_many_active_experts():
    assert "efficiency_factor must be a number in [0.001, 1] (blank for the default)" in \
        udfs.TOKENS_PER_SEC("h100-sxm; efficiency_factor=0", "llama-3.1-8b")
    assert "experts_per_token must be less than num_experts (8), got 8" in \
        udfs.TTFT_MS("h200", "mixtral-8x7b; experts_per_token=8")


def test_a_check_across_arguments_fails_only_the_cells_it_concerns():
    # the resale value (2,000) must be at most each cell's purchase price: 30,000 is fine
    def own(price):
        return udfs.OWN_HOURLY_COST(price, 3, 0, 0, 1, 0, 0, 2000)
    out = own([[30000, 1000]])
    assert out[0][0] == pytest.approx(own(30000))
    assert out[0][1] == own(1000) == \
        "residual_value must be at most purchase_price (1000), got 2000"  # its own message
    assert udfs.OWN_NPV([[100, 1]], None, 1, 100, 1000, 1, None, 50)[0][1] == \
        "residual_value must be at most purchase_price (1), got 50"
    # every cell failing with its own numbers keeps its own message (it had shown the first
    # cell's price beside the cell whose price is another); the same message is one for all
    assert own([[1000, 900]]) == [[own(1000), own(900)]]
    assert isinstance(own([[900, 900]]), str)


def test_a_range_whose_cells_all_fail_differently_keeps_each_message():
    # Before: one message (the first cell's roofline) for the whole range, though every cell
    # failed for its own reason; a cell that does not fit said it was over a roofline.
    batches, contexts = [1, 64], [1024, 100000]
    out = udfs.CALIBRATE_EFFICIENCY(1e5, "h100-sxm", "llama-3.1-8b", [[b] for b in batches],
                                    [contexts])
    alone = [[udfs.CALIBRATE_EFFICIENCY(1e5, "h100-sxm", "llama-3.1-8b", b, c)
              for c in contexts] for b in batches]
    assert out == alone  # each cell as its own call says
    assert len({m for row in alone for m in row}) == 4 and all(
        isinstance(m, str) for row in alone for m in row)
    assert "needs" in alone[1][1] and "roofline" in alone[0][0]  # a fit and a roofline failure
    # the same failure in every cell is still one message for the range
    same = udfs.CALIBRATE_EFFICIENCY(1e9, "h100-sxm", "llama-3.1-8b", [[1], [1]], 1024)
    assert isinstance(same, str) and same.startswith("measured_tokens_per_sec must be at most")


def test_a_batch_beyond_any_replica_is_a_message_not_a_silent_zero():
    # With no context a batch near 1e300 overflowed the step's FLOPs: 0 tokens/s with exit 0,
    # and ITL_MS said "use num_gpus >= 1" (review of 2026-12-03).
    for f in (udfs.TOKENS_PER_SEC, udfs.ITL_MS):
        said = f("h100-sxm", "llama-2-7b", 1e300, 0, "fp16")
        assert said.startswith("batch must be a number <= 1000000000, got 1e+300"), said
        assert np.isfinite(f("h100-sxm", "llama-2-7b", 1e9, 0, "fp16"))
    said = udfs.THROUGHPUT_AT_CONCURRENCY("h100-sxm", "llama-3.1-8b", 1e12)
    assert said.startswith("concurrency must be a number <= 1000000000"), said
    assert udfs.TOKENS_PER_SEC("h100-sxm", "llama-2-7b", -3).startswith(
        "batch must be a whole number >= 1, got -3")
