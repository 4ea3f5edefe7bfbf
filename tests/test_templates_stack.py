"""A Catalog row's own fixed time per request and decode steps per scheduling decision reach the
templates' latency model.

In a file of its own: a template's recalculation takes 10-20 s, and a file is the unit the test
command spreads over the CPUs."""

from __future__ import annotations

import re

import pytest

from conftest import template_with_catalog_edit
from xlnapkin import catalog


def test_a_catalog_rows_fixed_time_per_request_is_the_gpus_prefill_overhead_ms(tmp_path):
    # The Catalog's prefill_overhead_ms column (blank: the calibrated fixed time) plays the part
    # of "h100-sxm; prefill_overhead_ms=12" in the functions. The self-host workbook's service
    # at your volume answers with it; the planner's Latency sheet reads the column through the
    # same step (_napkin.gpu_prefill_overhead), and its sweep checks that sheet at the catalog's
    # own values. (The self-host workbook recalculates in half the planner's time.)
    pytest.importorskip("formulas")
    from xlnapkin import queueing
    from xlnapkin.memory import MEM_FRACTION
    from xlnapkin.recalc import recalculate
    edited = template_with_catalog_edit(tmp_path, "self_host_breakeven", "prefill_overhead_ms",
                                        "h100-sxm", 12)
    work = {"gpu": "h100-sxm", "model": "llama-3.1-8b", "weight_dtype": "bf16",
            "kv_dtype": "bf16", "input_tokens": 512, "output_tokens": 256,
            "tokens_per_day": 2e9}
    got = recalculate(edited, work, ["volume_requests_per_sec", "volume_ttft_ms"])
    rate = got["volume_requests_per_sec"]
    # the mean, as the sheet, at the default budget and memory share
    shape = (512, 256, "bf16", "bf16", 1, None, None, queueing.PREFILL_CHUNK, MEM_FRACTION)
    own = queueing.service_at_rate("h100-sxm; prefill_overhead_ms=12", "llama-3.1-8b", rate,
                                   *shape)[1]
    calibrated = queueing.service_at_rate("h100-sxm", "llama-3.1-8b", rate, *shape)[1]
    assert got["volume_ttft_ms"] == pytest.approx(own, rel=1e-9)
    assert own - calibrated > 5  # the 9.6 ms more per request shows


def test_a_catalog_rows_decode_steps_per_decision_are_the_gpus_scheduler_steps(tmp_path):
    # The Catalog's scheduler_steps column (blank: 1) plays the part of "h100-sxm;
    # scheduler_steps=8" in the functions: the self-host workbook's first token at your volume
    # waits for the window of 8 steps. A value a catalog row may not hold (over 1,000 steps,
    # typed for the H200 here) falls back to the calibrated 1, as a blank does.
    pytest.importorskip("formulas")
    import openpyxl
    from xlnapkin import queueing
    from xlnapkin.memory import MEM_FRACTION
    from xlnapkin.recalc import Workbook
    edited = template_with_catalog_edit(tmp_path, "self_host_breakeven", "scheduler_steps",
                                        "h100-sxm", 8)
    wb = openpyxl.load_workbook(edited)
    sheet, ref = next(wb.defined_names["gpu_scheduler_steps"].destinations)
    column, first = re.match(r"\$([A-Z]+)\$(\d+)", ref).groups()
    wb[sheet][f"{column}{int(first) + catalog.gpu_ids().index('h200-sxm')}"] = 5000
    wb.save(edited)
    book = Workbook(edited)
    shape = (512, 256, "bf16", "bf16", 1, None, None, queueing.PREFILL_CHUNK, MEM_FRACTION)
    for gpu, spec in (("h100-sxm", "h100-sxm; scheduler_steps=8"), ("h200-sxm", "h200-sxm")):
        book.calculate({"gpu": gpu, "model": "llama-3.1-8b", "weight_dtype": "bf16",
                        "kv_dtype": "bf16", "input_tokens": 512, "output_tokens": 256,
                        "tokens_per_day": 2e9})
        rate = book.value("volume_requests_per_sec")
        want = queueing.service_at_rate(spec, "llama-3.1-8b", rate, *shape)[1]
        assert book.value("volume_ttft_ms") == pytest.approx(want, rel=1e-9), gpu
        if gpu == "h100-sxm":
            one = queueing.service_at_rate("h100-sxm", "llama-3.1-8b", rate, *shape)[1]
            assert want - one > 10  # 3.5 more steps of about 10 ms, mostly busy
