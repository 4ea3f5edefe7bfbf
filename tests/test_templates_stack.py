"""A Catalog row's own fixed time per request and decode steps per scheduling decision reach the
templates' latency model, and its engine limit their throughput.

In a file of its own: a template's recalculation takes 10-20 s, and a file is the unit the test
command spreads over the CPUs. One edited workbook serves the tests (each GPU row its own
edit), so the template is built and loaded once."""

from __future__ import annotations

import re

import pytest

from conftest import template_with_catalog_edit
from xlnapkin import catalog

SHAPE_IN, SHAPE_OUT = 512, 256


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """The self-host workbook with four Catalog rows edited: the A100's fixed time per request
    12 ms, the H100's decode steps per decision 8, the H200's 5,000 (more than a catalog row may
    hold), and the H100 PCIe's engine limit 1,024 sequences."""
    pytest.importorskip("formulas")
    import openpyxl
    from xlnapkin.recalc import Workbook
    edited = template_with_catalog_edit(tmp_path_factory.mktemp("stack"), "self_host_breakeven",
                                        "prefill_overhead_ms", "a100-sxm-80gb", 12)
    wb = openpyxl.load_workbook(edited)
    for field, gpu, value in (("scheduler_steps", "h100-sxm", 8),
                              ("scheduler_steps", "h200-sxm", 5000),
                              ("max_concurrency", "h100-pcie", 1024)):
        sheet, ref = next(wb.defined_names[f"gpu_{field}"].destinations)
        column, first = re.match(r"\$([A-Z]+)\$(\d+)", ref).groups()
        wb[sheet][f"{column}{int(first) + catalog.gpu_ids().index(gpu)}"] = value
    wb.save(edited)
    return Workbook(edited)


def _ttft(book, gpu):
    """(the sheet's mean first token at your volume, its rate per replica, the shape)."""
    from xlnapkin import queueing
    from xlnapkin.memory import MEM_FRACTION
    book.calculate({"gpu": gpu, "model": "llama-3.1-8b", "weight_dtype": "bf16",
                    "kv_dtype": "bf16", "input_tokens": SHAPE_IN, "output_tokens": SHAPE_OUT,
                    "tokens_per_day": 2e9})
    shape = (SHAPE_IN, SHAPE_OUT, "bf16", "bf16", 1, None, None, queueing.PREFILL_CHUNK,
             MEM_FRACTION)
    return book.value("volume_ttft_ms"), book.value("volume_requests_per_sec"), shape


def test_a_catalog_rows_fixed_time_per_request_is_the_gpus_prefill_overhead_ms(book):
    # The Catalog's prefill_overhead_ms column (blank: the calibrated fixed time) plays the part
    # of "a100-sxm-80gb; prefill_overhead_ms=12" in the functions. The self-host workbook's
    # service at your volume answers with it; the planner's Latency sheet reads the column
    # through the same step (_napkin.gpu_prefill_overhead), and its sweep checks that sheet at
    # the catalog's own values. (The self-host workbook recalculates in half the planner's time.)
    from xlnapkin import queueing
    got, rate, shape = _ttft(book, "a100-sxm-80gb")
    own = queueing.service_at_rate("a100-sxm-80gb; prefill_overhead_ms=12", "llama-3.1-8b", rate,
                                   *shape)[1]
    calibrated = queueing.service_at_rate("a100-sxm-80gb", "llama-3.1-8b", rate, *shape)[1]
    assert got == pytest.approx(own, rel=1e-9)
    assert own - calibrated > 5  # the 7.4 ms more per request (12 - 4.6) shows


def test_a_catalog_rows_decode_steps_per_decision_are_the_gpus_scheduler_steps(book):
    # The Catalog's scheduler_steps column (blank: 1) plays the part of "h100-sxm;
    # scheduler_steps=8" in the functions: the self-host workbook's first token at your volume
    # waits for the window of 8 steps. A value a catalog row may not hold (over 1,000 steps,
    # typed for the H200 here) falls back to the calibrated 1, as a blank does.
    from xlnapkin import queueing
    for gpu, spec in (("h100-sxm", "h100-sxm; scheduler_steps=8"), ("h200-sxm", "h200-sxm")):
        got, rate, shape = _ttft(book, gpu)
        want = queueing.service_at_rate(spec, "llama-3.1-8b", rate, *shape)[1]
        assert got == pytest.approx(want, rel=1e-9), gpu
        if gpu == "h100-sxm":
            one = queueing.service_at_rate("h100-sxm", "llama-3.1-8b", rate, *shape)[1]
            assert want - one > 10  # 3.5 more steps of about 10 ms, mostly busy


def test_a_catalog_rows_engine_limit_is_the_gpus_max_concurrency(book):
    # The Catalog's max_concurrency column (blank: the calibrated engine limit) plays the part
    # of "h100-pcie; max_concurrency=1024" in the functions. 128-token requests: the limit binds.
    from xlnapkin import calibration, serving
    book.calculate({"gpu": "h100-pcie", "model": "llama-3.1-8b", "input_tokens": 128,
                    "output_tokens": 128, "weight_dtype": "bf16", "kv_dtype": "bf16",
                    "num_gpus": 1})
    want = serving.max_throughput("h100-pcie; max_concurrency=1024", "llama-3.1-8b", 128, 128,
                                  "bf16", "bf16", 1)
    assert book.value("concurrency") == 1024 != calibration.DEFAULTS.max_concurrency
    assert book.value("replica_output_tokens_per_sec") == pytest.approx(want, rel=1e-9)
