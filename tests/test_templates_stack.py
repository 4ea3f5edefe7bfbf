"""A Catalog row's own fixed time per request reaches the capacity planner's Latency sheet.

In a file of its own: the planner's recalculation takes about 20 s, and a file is the unit the
test command spreads over the CPUs."""

from __future__ import annotations

import pytest

from conftest import template_with_catalog_edit


def test_a_catalog_rows_fixed_time_per_request_is_the_gpus_prefill_overhead_ms(tmp_path):
    # The Catalog's prefill_overhead_ms column (blank: the calibrated 2.4 ms) plays the part
    # of "h100-sxm; prefill_overhead_ms=12" in the functions: the planner's Latency sheet
    # answers with it.
    pytest.importorskip("formulas")
    from xlnapkin import queueing
    from xlnapkin.recalc import recalculate
    from xlnapkin.templates import capacity_planner as cp
    edited = template_with_catalog_edit(tmp_path, "capacity_planner", "prefill_overhead_ms",
                                        "h100-sxm", 12)
    v = {name: default for name, _, default, *_ in cp.INPUT_ROWS + cp.SLA_INPUTS}
    work = {"sla_gpu": "h100-sxm", "model": "llama-3.1-8b", "weight_dtype": "bf16",
            "kv_dtype": "bf16", "input_tokens": 512, "output_tokens": 256, "requests_per_sec": 20}
    v.update(work)
    got = recalculate(edited, work, ["sla_max_rate", "sla_replicas", "sla_ttft"])
    shape = (512, 256, "bf16", "bf16", 1, v["sla_percentile"], None, float(v["token_budget"]))
    own = "h100-sxm; prefill_overhead_ms=12"
    best = queueing.max_rate_for_sla(own, "llama-3.1-8b", v["ttft_ms"], v["tpot_ms"], *shape)
    reps = queueing.replicas_for_sla(own, "llama-3.1-8b", 20, v["ttft_ms"], v["tpot_ms"], *shape)
    ttft = queueing.ttft_at_rate(own, "llama-3.1-8b", 20 / reps, *shape)
    calibrated = queueing.ttft_at_rate("h100-sxm", "llama-3.1-8b", 20 / reps, *shape)
    assert got["sla_max_rate"] == pytest.approx(best, rel=1e-9)
    assert got["sla_replicas"] == reps
    assert got["sla_ttft"] == pytest.approx(ttft, rel=1e-9)
    assert ttft - calibrated > 5  # the 9.6 ms more per request shows
