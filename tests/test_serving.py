"""Serving (issue 10): one memory rule, native dtypes, configurations that cannot run, tensor
parallelism that never slows decode down, and latency under load (queueing)."""

import itertools
import math
import re
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import REPO

from xlnapkin import calibration, capacity, catalog, memory, queueing, roofline, serving, udfs
from xlnapkin._excel import describe
from xlnapkin.queueing import PER_REPLICA
from xlnapkin.docgen import functions

# NVLink-class GPUs (issue 10's list) and every catalog model of 7B parameters or more that
# reads 5B or more per token. The two small-expert MoE models (qwen3-30b-a3b, gpt-oss-20b: 3-4B
# active) read so little per step at batch 1 that a split saves less than its two all-reduces
# per layer cost, on real NVLink as in the model; they are left out of this rule.
NVLINK = ["h100-sxm", "h200-sxm", "b200", "gb200", "a100-sxm-80gb", "mi300x"]
BIG_MODELS = [m.id for m in catalog.models()
              if m.params_b >= 7 and (m.active_params_b or m.params_b) >= 5]


@pytest.mark.parametrize("gpu", NVLINK)
def test_more_gpus_never_decode_slower(gpu):
    """1 -> 2 -> 4 (-> 8 for 30B+) GPUs never lowers TOKENS_PER_SEC where both fit, at batch 1
    and 16, bf16 and fp8 weights; at 1,024 tokens and at 32,768, where a cache kept whole in
    groups of GPUs (MLA; more GPUs than KV heads) is read a group at a time (a review)."""
    slower = []
    for model in BIG_MODELS:
        m = catalog.model(model)
        degrees = np.array([1, 2, 4] + ([8] if m.params_b >= 30 else []), dtype=float)
        for batch, dtype, context in itertools.product((1, 16), ("bf16", "fp8"), (1024, 32768)):
            tps = serving.tokens_per_sec(gpu, model, batch, context, dtype, None, degrees)
            for (a, ta), (b, tb) in zip(zip(degrees, tps), zip(degrees[1:], tps[1:])):
                if np.isfinite(ta) and np.isfinite(tb) and tb < ta * (1 - 1e-12):
                    slower.append((model, batch, dtype, context, int(a), int(b), ta, tb))
    assert not slower, slower[:5]


def test_one_memory_rule_tokens_per_sec_and_max_batch_agree():
    # The README's old headline: 70B fp8 on 2 x H100 at batch 64 and 4,096 tokens. MAX_BATCH
    # says 54 fit in 90 % of the memory; TOKENS_PER_SEC now says the same thing.
    most = udfs.MAX_BATCH("h100-sxm", "llama-3.1-70b", 4096, "fp8", None, 2)
    assert most == 54
    assert isinstance(udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-70b", 54, 4096, "fp8", None, 2),
                      float)
    assert udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-70b", 55, 4096, "fp8", None, 2) == (
        "llama-3.1-70b needs 144.4 GB in fp8 with KV for 55 x 4096 tokens; 2 x h100-sxm has "
        "160 GB (90% usable): use num_gpus 4 (3 would hold it, but its heads do not split over 3)")
    # 405B in bf16 on H100: 12 GPUs' memory (90 % of 80 GB each) everywhere, run on 16.
    for fn in (udfs.TOKENS_PER_SEC, udfs.ITL_MS, udfs.TTFT_MS, udfs.MAX_THROUGHPUT):
        assert fn("h100-sxm", "llama-3.1-405b").endswith(
            "use num_gpus 16 (12 would hold it, but its heads do not split over 12)"), fn


def test_the_latency_functions_take_the_memory_share_max_throughput_takes():
    # The planner's memory share once sized its table but not its latency targets (a review:
    # at 60 % the h100-sxm row fell from 4,033 to 2,382 tok/s, the latency answer stayed).
    # Qwen2.5-32B in fp8 (32.8 GB of weights) on one H100 (80 GB), 1,024 in and out.
    shape = ("h100-sxm", "qwen2.5-32b")
    dt = dict(weight_dtype="fp8", kv_dtype="fp8")
    rates = [queueing.max_rate_for_sla(*shape, 1000, 50, 1024, 1024, **dt, mem_fraction=f)
             for f in (0.6, 0.9, 1.0)]
    assert rates[0] < rates[1] < rates[2]
    assert rates[1] == queueing.max_rate_for_sla(*shape, 1000, 50, 1024, 1024, **dt)
    # the same concurrency cap as MAX_THROUGHPUT: far above it, the closed loop gives its value
    for f in (0.6, 0.9):
        assert serving.throughput_at_concurrency(*shape, 10_000, **dt, mem_fraction=f) == (
            pytest.approx(serving.max_throughput(*shape, **dt, mem_fraction=f), rel=1e-9))
    # 32.8 GB of weights do not fit in 30 % of 80 GB: the message says so, with that share
    said = udfs.REPLICAS_FOR_SLA(*shape, 1, 1000, 50, 1024, 1024, "fp8", "fp8", 1, 0.95, None,
                                 8192, 0.3)
    assert "(30% usable)" in said and said.endswith("use num_gpus >= 2")
    assert udfs.TTFT_AT_RATE(*shape, 100, 1024, 1024, "fp8", "fp8", 1, 0.95, None, 8192,
                             0.6).startswith("overloaded: one replica sustains at most 2.")


@settings(max_examples=60, deadline=None)
@given(gpu=st.sampled_from(["h100-sxm", "a100-sxm-80gb", "l40s", "b200", "rtx-4090"]),
       model=st.sampled_from(["llama-3.1-8b", "llama-3.1-70b", "qwen2.5-32b", "mixtral-8x7b",
                              "gpt-oss-120b"]),
       batch=st.integers(1, 512), context=st.integers(0, 32768), n=st.sampled_from([1, 2, 4]))
def test_tokens_per_sec_runs_exactly_where_max_batch_says_it_fits(gpu, model, batch, context, n):
    most = memory.max_batch(gpu, model, max(context, 1), None, None, n)
    tps = serving.tokens_per_sec(gpu, model, batch, context, None, None, n)
    fits = batch <= most if np.isfinite(most) else False
    assert np.isfinite(tps) == fits or context == 0


def test_blank_weight_dtype_is_the_released_checkpoint():
    assert udfs.WEIGHT_BYTES("gpt-oss-120b") == udfs.WEIGHT_BYTES("gpt-oss-120b", "mxfp4")
    # experts in MXFP4 (4.25 bits), the rest (attention, embeddings) in bf16: OpenAI's model
    # card gives the checkpoint as 60.8 GiB (65.3 GB) and gpt-oss-20b's as 12.8 GiB (13.7 GB)
    assert udfs.WEIGHT_BYTES("gpt-oss-120b") == pytest.approx(65.3e9, rel=3e-3)
    assert udfs.WEIGHT_BYTES("gpt-oss-20b") == pytest.approx(13.7e9, rel=5e-3)
    # a format the user names covers every layer but the embeddings and head (2 x 201,088 x
    # 2,880 parameters, 16-bit in every 4-bit checkpoint)
    embed = 2 * 201_088 * 2880
    assert udfs.WEIGHT_BYTES("gpt-oss-120b", "nvfp4") == pytest.approx(
        (116.83e9 - embed) * 4.5 / 8 + embed * 2)
    assert udfs.WEIGHT_BYTES("gpt-oss-120b", "fp8") == pytest.approx(116.83e9)
    assert udfs.WEIGHT_BYTES("deepseek-v3") == pytest.approx(671e9, rel=2e-3)     # fp8
    assert udfs.WEIGHT_BYTES("llama-3.1-8b") == udfs.WEIGHT_BYTES("llama-3.1-8b", "bf16")
    # gpt-oss-120b fits one H100 in its own format
    assert udfs.GPUS_NEEDED("h100-sxm", "gpt-oss-120b") == 1


@pytest.mark.parametrize("call, message", [
    (lambda: udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", 1, 1024, None, None, 3),
     "llama-3.1-8b's 32 attention heads cannot be split over 3 GPUs: use num_gpus 1, 2, 4, 8, "
     "16 or 32"),
    (lambda: udfs.TTFT_MS("h100-sxm", "llama-3.1-8b", 1, 1024, None, None, 1000),
     "llama-3.1-8b's 32 attention heads cannot be split over 1000 GPUs: use num_gpus 1, 2, 4, "
     "8, 16 or 32"),
    (lambda: udfs.TOKENS_PER_SEC("h100-sxm", "llama-2-7b", 1, 8192),
     "llama-2-7b holds at most 4,096 tokens per sequence, got 8,192"),
    # a context that adds two arguments says so: the sum is not what was typed (an analyst
    # review: "got 1,000,000,256" for input_tokens 1e9 and output_tokens 256)
    (lambda: udfs.MAX_THROUGHPUT("h100-sxm", "llama-2-7b", 4000, 1000),
     "llama-2-7b holds at most 4,096 tokens per sequence, got 5,000 (input_tokens + "
     "output_tokens)"),
    (lambda: udfs.TTFT_AT_RATE("h100-sxm", "llama-3.1-8b", 2, 1e9, 256),
     "llama-3.1-8b holds at most 131,072 tokens per sequence, got 1,000,000,256 (input_tokens "
     "+ output_tokens)"),
    (lambda: udfs.REPLICAS_FOR_SLA("h100-sxm", "llama-2-7b", 3, 1000, 50, 4000, 1000),
     "llama-2-7b holds at most 4,096 tokens per sequence, got 5,000 (input_tokens + "
     "output_tokens)"),
    (lambda: udfs.TOKENS_PER_SEC("h100-sxm", "llama-2-7b", 1, 1e308),  # not 309 digits
     "llama-2-7b holds at most 4,096 tokens per sequence, got 1e+308"),
    (lambda: udfs.MAX_BATCH("h100-sxm", "qwen2.5-7b", 1024, None, None, 8),
     "qwen2.5-7b's 28 attention heads cannot be split over 8 GPUs: use num_gpus 1, 2, 4 or 28"),
    # a prime head count splits only over 1 and itself (the list once read "use num_gpus  or 1")
    (lambda: udfs.MAX_BATCH("h100-sxm", "llama-3.1-8b; heads=31; kv_heads=31", 1024, None, None,
                            2),
     "llama-3.1-8b; heads=31; kv_heads=31's 31 attention heads cannot be split over 2 GPUs: use "
     "num_gpus 1 or 31"),
    # only the counts that also hold the batch (a review: 1 and 2 were offered, then refused)
    (lambda: udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-70b", 64, 4096, None, None, 3),
     "llama-3.1-70b's 64 attention heads cannot be split over 3 GPUs: use num_gpus 4, 8, 16, 32 "
     "or 64"),
    (lambda: udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-8b", 1e6, 131072, None, None, 3),
     "llama-3.1-8b's 32 attention heads cannot be split over 3 GPUs: use num_gpus 1, 2, 4, 8, "
     "16 or 32 (none of which holds it)"),
    # where no count runs it because of the context or a missing link, that says why (a
    # review: the head split listed counts that all failed on the context next)
    (lambda: udfs.TOKENS_PER_SEC("h100-sxm", "llama-2-7b", 1, 8192, None, None, 3),
     "llama-2-7b holds at most 4,096 tokens per sequence, got 8,192"),
    (lambda: udfs.TOKENS_PER_SEC("apple-m1-max", "llama-3.1-70b", 1, 1024, "fp8", "fp8", 3),
     "apple-m1-max has no interconnect_gbps in the catalog, so it serves a model on one GPU "
     "only; give the link in a spec string, e.g. \"apple-m1-max; interconnect_gbps=64\""),
    # the memory functions too: 833 sequences on eight M1 Maxes was a number no speed function
    # would take (a sweep audit), and users per GPU priced a split that cannot run
    (lambda: udfs.MAX_BATCH("apple-m1-max", "llama-2-7b", 1024, None, None, 8),
     "apple-m1-max has no interconnect_gbps in the catalog, so it serves a model on one GPU "
     "only; give the link in a spec string, e.g. \"apple-m1-max; interconnect_gbps=64\""),
    (lambda: udfs.USERS_PER_GPU_FOR("apple-m3-ultra", "llama-3.1-70b", 2048, 1, 5, None, None,
                                    2),
     "apple-m3-ultra has no interconnect_gbps in the catalog, so it serves a model on one GPU "
     "only; give the link in a spec string, e.g. \"apple-m3-ultra; interconnect_gbps=64\""),
    (lambda: udfs.TOKENS_PER_SEC("apple-m1-max", "llama-3.1-8b", 1, 1024, "fp8", "fp8", 3),
     "llama-3.1-8b's 32 attention heads cannot be split over 3 GPUs: use num_gpus 1"),
    # a GPU without a link is not told to use more of them (a usability audit: "use num_gpus
    # >= 2", which the next call refused), in one cell or a range
    (lambda: udfs.TOKENS_PER_SEC("dgx-spark", "llama-3.1-70b"),
     "llama-3.1-70b needs 141.1 GB in bf16 for its weights alone, more with the KV cache; 1 x "
     "dgx-spark has 128 GB (90% usable): use GPUs with more memory or a smaller weight dtype (2 "
     "would hold it, but the GPU has no interconnect_gbps above 0 (no known link to another), "
     "so a replica runs on one)"),
    (lambda: udfs.TOKENS_PER_SEC("apple-m2-ultra", "llama-3.1-8b", [[4000], [8000]], 4096)[1][0],
     # 16.1 GB of weights + 8000 x 4096 x 131,072 B of KV = 4,311.0 GB; / 172.8 GB: 25 GPUs
     "llama-3.1-8b needs 4311.0 GB in bf16 with KV for 8000 x 4096 tokens; 1 x apple-m2-ultra "
     "has 192 GB (90% usable): hold fewer sequences or tokens (25 would hold it, but the GPU "
     "has no interconnect_gbps above 0 (no known link to another), so a replica runs on one)"),
])
def test_configurations_that_cannot_exist_say_why(call, message):
    assert call() == message


def test_head_split_messages_name_the_count_asked_for_whatever_the_head_count():
    # a head count with 72 divisors once overflowed the bits that grouped the messages, and all
    # three cells said "17 GPUs"
    model = "llama-3.1-8b; heads=10080; kv_heads=10080"
    texts = memory.why_not("h100-sxm", model, "fp8", "fp8", 1024, 1, np.array([11.0, 13.0, 17.0]))
    assert [re.search(r"split over (\d+) GPUs", t).group(1) for t in texts] == ["11", "13", "17"]


def test_every_gpu_count_a_head_split_message_offers_runs_there():
    """Over a grid of batches, contexts and counts the heads do not split over, each count the
    message offers runs the configuration (where it says none does, none of them does)."""
    import re
    for gpu, model in (("h100-sxm", "llama-3.1-70b"), ("l40s", "qwen2.5-32b"),
                       ("h200-sxm", "deepseek-v3"), ("rtx-4090", "llama-3.1-8b"),
                       ("h100-sxm", "llama-2-7b"), ("apple-m1-max", "llama-3.1-8b")):
        batch, tokens = np.array([[1.0], [16.0], [256.0]]), np.array([[1024.0, 32768.0]])
        for n in (3, 5, 6, 7):
            if memory._splits(catalog.model(model), n):
                continue
            texts = memory.why_not(gpu, model, "fp8", "fp8", tokens, batch, n)
            for (i, j), text in np.ndenumerate(texts):
                offered = re.search(r"use num_gpus ([\d, or]+)", text)
                if offered is None:  # the context or the link: no count runs it
                    assert not any(memory.can_run(gpu, model, "fp8", "fp8", tokens[0, j],
                                                  batch[i, 0], c)
                                   for c in memory.tp_degrees(model)), text
                    continue
                counts = [int(c) for c in offered.group(1).replace(" or ", ", ").split(", ")]
                runs = [memory.can_run(gpu, model, "fp8", "fp8", tokens[0, j], batch[i, 0], c)
                        for c in counts]
                assert all(runs) if "none of which" not in text else not any(runs), text


# A value for each required argument of the functions below (names as in their signatures).
_REQUIRED = {"price_per_gpu_hour": 2.5, "requests_per_sec": 5, "ttft_ms": 1000, "tpot_ms": 50,
             "concurrency": 8, "context": 1024, "duty_cycle": 0.5, "measured_tokens_per_sec": 100,
             "tokens_per_day": 1e8}


@pytest.mark.parametrize("name", [
    n for n, f in functions().items()
    if {"gpu", "model", "num_gpus"} <= {a.name for a in describe(f).arguments}])
def test_every_function_with_num_gpus_says_why_its_heads_do_not_split(name):
    # Found by a review: the cost functions raised "batch must be a whole number >= 1, got
    # NaN" here, and USERS_PER_GPU_FOR returned 0 users.
    fn = functions()[name]
    args = []
    for a in describe(fn).arguments:
        if a.name in ("gpu", "model", "num_gpus"):
            args.append({"gpu": "h100-sxm", "model": "llama-3.1-8b", "num_gpus": 3}[a.name])
        else:
            args.append(_REQUIRED[a.name] if a.required else None)
    assert fn(*args) == ("llama-3.1-8b's 32 attention heads cannot be split over 3 GPUs: use "
                         "num_gpus 1, 2, 4, 8, 16 or 32"), name


def test_memory_functions_do_not_refuse_long_contexts():
    # Seed 001 sizes a 200K-token context on a 32B model: memory arithmetic, not a speed claim.
    assert udfs.MAX_BATCH("b200; memory_gb=192", "qwen2.5-32b", 200000, "fp8", "fp8", 1, 1) == 6


# --- latency under load -----------------------------------------------------------------------

G, M = "h100-sxm", "llama-3.1-8b"


def test_an_idle_replica_gives_the_batch_one_latencies():
    tiny = 1e-7
    assert queueing.ttft_at_rate(G, M, tiny, 1024, 256) == pytest.approx(
        serving.ttft_ms(G, M, 1, 1024), rel=1e-4)
    # one sequence's step at the loaded batch's mean context, input + output
    # (queueing.batch_context): at batch 1 its KV read is a sliver of the step
    assert queueing.tpot_at_rate(G, M, tiny, 1024, 256) == pytest.approx(
        serving.itl_ms(G, M, 1, 1024 + 256), rel=1e-4)


def test_a_rate_of_zero_is_an_idle_replica_not_an_error():
    # Before: 0 requests/s was refused ("must be a number > 0"), so an hourly traffic sheet
    # with a quiet hour got a message cell (review of 2026-12-04).
    for p in (0.5, 0.99):
        assert queueing.ttft_at_rate(G, M, 0, 1024, 256, None, None, 1, p) == pytest.approx(
            serving.ttft_ms(G, M, 1, 1024), rel=1e-6)
        assert queueing.tpot_at_rate(G, M, 0, 1024, 256, None, None, 1, p) == pytest.approx(
            serving.itl_ms(G, M, 1, 1024 + 256), rel=1e-6)
    assert queueing.replicas_for_sla(G, M, [0, 1e-9, 20], 1000, 50, 2000, 300).tolist() == \
        [1, 1, 3]
    assert udfs.TTFT_AT_RATE(G, M, -1) == "requests_per_sec must be a number >= 0, got -1"


def test_one_output_token_has_no_tpot_limit_to_meet():
    # Before: the TPOT limit still bound with a single output token, which has no time per
    # output token (9.37 requests/s at 50 ms, 16.7 with no limit; review of 2026-12-04).
    loose = queueing.max_rate_for_sla(G, M, 1000, 1e6, 2000, 1)
    assert queueing.max_rate_for_sla(G, M, 1000, [50, 1], 2000, 1).tolist() == [loose, loose]
    assert queueing.max_rate_for_sla(G, M, 1000, 50, 2000, 2) < loose  # two tokens: a TPOT
    assert udfs.MAX_RATE_FOR_SLA(G, M, 1000, 1, 2000, 2).startswith("no rate meets tpot_ms 1")


def test_latency_grows_with_the_rate_up_to_capacity():
    _, top = queueing.operating_point(G, M, 1.0, 1024, 256)
    # the capacity: the most sequences that fit, at a loaded step whose sequences hold input +
    # output tokens on average (queueing.batch_context), below MAX_THROUGHPUT's, whose
    # requests all hold input + output / 2
    g, m = catalog.gpu(G), catalog.model(M)
    n_max = serving.concurrency_under_load(g, m, 1024, 256)
    step = serving.loaded_step(g, m, n_max, 1024, 256, "bf16", None, 1,
                               calibration.resolve(None, g), 1024 + 256)
    assert top == pytest.approx(n_max / (step * 256), rel=1e-6)
    assert 0.9 < top / (serving.max_throughput(G, M, 1024, 256) / 256) < 1
    rates = np.linspace(0.05, 0.98, 12) * top
    for fn in (queueing.ttft_at_rate, queueing.tpot_at_rate):
        values = fn(G, M, rates, 1024, 256)
        assert np.all(np.isfinite(values)) and np.all(np.diff(values) > 0), fn
    p50, p95 = (queueing.ttft_at_rate(G, M, 0.8 * top, 1024, 256, None, None, 1, p)
                for p in (0.5, 0.95))
    assert p95 > p50


@pytest.mark.parametrize("gpu, model, dtype, inp, out, n", [
    ("b200", "llama-3.1-8b", "nvfp4", 778, 129, 1),       # MLPerf's Llama-3.1-8B lengths
    ("h100-sxm", "llama-3.1-8b", "fp8", 778, 129, 1),
    ("h100-sxm", "llama-3.1-70b", "fp8", 2000, 300, 4),
    ("mi300x", "deepseek-v3", "fp8", 1024, 1024, 8),
    ("rtx-4090", "qwen2.5-7b", "int4", 20000, 200, 1),
])
def test_the_prompt_queue_is_not_saturated_at_rates_the_replica_sustains(gpu, model, dtype, inp,
                                                                          out, n):
    # A prompt's share of the prefill budget is GPU work, not its fixed latency (which
    # overlaps other prompts' work): below the most a replica sustains, the mean TTFT stays
    # within a small multiple of an idle replica's, rather than the queue running away.
    _, top = queueing.operating_point(gpu, model, 1.0, inp, out, dtype, "fp8", n)
    idle = queueing.ttft_at_rate(gpu, model, 1e-7, inp, out, dtype, "fp8", n)
    busy = queueing.ttft_at_rate(gpu, model, 0.9 * top, inp, out, dtype, "fp8", n)
    assert idle < busy < 20 * idle, (idle, busy)


def test_a_smaller_token_budget_lengthens_the_first_token_under_load_only():
    # MLPerf's Llama-2-70B Interactive runs on H200 set max_num_tokens 256 (openloop.csv):
    # a 222-token prompt then fills a step's budget. An idle replica's TTFT does not depend on
    # the budget when the prompt fits one step; under load the prompt queue waits longer for a
    # smaller budget, and the goodput falls where the TTFT limit binds.
    g, m, inp, out = "h200-sxm", "llama-2-70b", 222, 292
    idle = [queueing.ttft_at_rate(g, m, 1e-7, inp, out, "fp8", "fp8", 1, 0.5, None, b)
            for b in (256, 8192)]
    assert idle[0] == pytest.approx(idle[1], rel=1e-9)
    _, top = queueing.operating_point(g, m, 1.0, inp, out, "fp8", "fp8", 1)
    budgets = [64, 256, 1024, 8192]
    busy = [queueing.ttft_at_rate(g, m, 0.7 * top, inp, out, "fp8", "fp8", 1, 0.99, None, b)
            for b in budgets]
    assert all(a > b for a, b in zip(busy, busy[1:])), busy
    assert busy[-1] == queueing.ttft_at_rate(g, m, 0.7 * top, inp, out, "fp8", "fp8", 1, 0.99)
    assert udfs.TTFT_AT_RATE(g, m, 0.7 * top, inp, out, "fp8", "fp8", 1, 0.99, None,
                             None) == pytest.approx(busy[-1])
    rates = [queueing.max_rate_for_sla(g, m, 450, 40, inp, out, "fp8", "fp8", 1, 0.99, None, b)
             for b in budgets]
    assert all(a <= b for a, b in zip(rates, rates[1:])) and rates[0] < rates[-1], rates
    assert udfs.REPLICAS_FOR_SLA(g, m, 10 * rates[1], 450, 40, inp, out, "fp8", "fp8", 1, 0.99,
                                 None, 256) == math.ceil(10 * (1 - 1e-12))
    assert "token_budget must be" in udfs.TTFT_AT_RATE(g, m, 1, inp, out, None, None, 1, 0.5,
                                                       None, 0)


def test_a_prompt_riding_decode_steps_pays_their_time_and_its_compute_once():
    # 70B on four H100s at 0.4 requests/s of 1,000 in / 2,000 out: about 15 sequences decode
    # at once (some sequence is decoding for all but e^-15 of arrivals), and the prompt queue is
    # too lightly used to wait at the median. The prompt first waits for the step in progress
    # to end: at the median half a loaded step (the decode plus the prompts it carries,
    # serving.loaded_step). The 1,000-token prompt fits one step's budget, so it then rides one
    # decode step, which it lengthens by its compute and by the fixed time of a pass (the
    # steps that carry a prompt run outside the decode CUDA graphs, serving.prompt_pass_time);
    # its TTFT adds the per-request fixed time, and its step also carries the prompts that
    # arrived in that half step (their mean number at the median). A prompt alone's weight
    # reads are the decode step's, and are not charged twice.
    g, m, inp, out, n, rate = "h100-sxm", "llama-3.1-70b", 1000, 2000, 4, 0.4
    conc, _ = queueing.operating_point(g, m, rate, inp, out, None, None, n)
    assert 10 < conc < 30
    gg, mm = catalog.gpu(g), catalog.model(m)
    eff = calibration.resolve(None, gg)
    # the decode step at the mean context of a batch whose output lengths vary: input + output
    decode = roofline._decode_step(gg, mm, conc, inp + out, "bf16", None, n, eff)
    loaded = serving.loaded_step(gg, mm, conc, inp, out, "bf16", None, n, eff, inp + out)
    work = serving.prompt_work(gg, mm, inp, "bf16", n, eff)
    passes = roofline._overhead(mm, eff)   # a forward pass's fixed time
    assert loaded == pytest.approx(decode + conc / out * work - math.expm1(-conc / out) * passes)
    riding = decode + passes + work + eff.prefill_overhead_s
    alone = serving.ttft_ms(g, m, 1, inp, None, None, n) / 1e3
    assert riding > alone   # else the prompt would be charged alone's time
    busy = 1 - math.exp(-conc)
    step_left = 0.5 * loaded * busy
    joining = rate * step_left * work      # far fewer than the budget has room for
    expected = 1e3 * (step_left + alone + busy * (riding - alone) + joining)
    assert queueing.ttft_at_rate(g, m, rate, inp, out, None, None, n) == pytest.approx(
        expected, rel=1e-9)
    # and less than alone plus a whole decode step, which counted the weight reads twice
    assert expected < 1e3 * (alone + decode + step_left) - 5


def test_prompts_that_arrive_while_the_step_in_progress_ends_share_the_prompts_step():
    # Engines put every waiting prompt into the next step, up to the token budget; the first
    # token of each waits for the whole step. Their number is Poisson: its mean, or at a
    # percentile z standard deviations above the mean. 200-token prompts on an 8,192-token
    # budget leave room for 39.96 others beside one; 8,192-token prompts leave none.
    r = queueing._Replica(G, M, 200, 256, None, None, 1, None)
    assert r.joining(10.0, 0.1, None) == pytest.approx(1.0 * r.work)     # 10/s for 0.1 s
    assert r.joining(100.0, 0.01, 1.645) == pytest.approx(2.645 * r.work)
    assert r.joining(1e4, 0.1, None) == pytest.approx((8192 - 200) / 200 * r.work)
    assert queueing._Replica(G, M, 8192, 256, None, None, 1, None).joining(1e4, 0.1, None) == 0


def test_a_count_s_quantile_is_0_where_the_count_mostly_is():
    # The sequences a TPOT percentile sees (queueing._tpot_seen): a queueing review found a
    # count of mean 0.01, 0 in 99 % of cases, taken at 0.17 at its p95, and the p90 TPOT of an
    # idle replica 19 % over its step (8,000 in / 4 out on an H100 at 0.01 requests/s).
    assert queueing._count_at(0.01, 1.645, 0.1) == 0.0
    idle = udfs.TPOT_AT_RATE(G, M, 0, 8000, 4, None, None, 1, 0.9)
    assert udfs.TPOT_AT_RATE(G, M, 1e-3, 8000, 4, None, None, 1, 0.9) < 1.01 * idle
    # From a count of one on, the value z standard deviations above the mean, as before (its
    # TPOTs under load follow the simulation); to a half, 0; continuous between.
    x = np.array([0.3, 0.5, 0.75, 1.0, 5.0])
    assert queueing._count_at(x, 1.0, 0.0).tolist() == [0.0, 0.0, 0.5, 1.0, 5.0]
    # the median at a load: the step at the mean concurrency itself, and the echo
    r = queueing._Replica(G, M, 2000, 300, None, None, 1, None)
    conc = r.concurrency(5.0)
    assert conc > 1 and udfs.TPOT_AT_RATE(G, M, 5, 2000, 300) == pytest.approx(
        1e3 * float(r.with_echo(conc, r.echo(conc, 5.0, typical=True))), rel=1e-12)


def test_what_stops_the_rate_is_named_as_the_planner_names_it():
    # A review: the command line's note named the TTFT limit at 99.7 % of the replica's
    # capacity (limits of 100 s), where the capacity planner says the capacity; and with a
    # 512-token budget, where the planner says the prompts' capacity.
    shape = (2000, 300)
    assert queueing.what_stops(G, M, 1e5, 1e5, *shape) == queueing.CAPACITY
    assert queueing.what_stops(G, M, 1e5, 1e5, *shape, None, None, 1, 0.95, None, 512) == (
        queueing.PROMPT_CAPACITY)
    assert queueing.what_stops(G, M, 1000, 12, *shape) == "the TPOT limit"
    assert queueing.what_stops(G, M, 100, 1e5, *shape) == "the TTFT limit"
    assert queueing.what_stops(G, M, 5, 50, *shape) == ""  # no rate meets them
    # at the rate it names, that limit is met to its last bits and a little more breaks it
    best = queueing.max_rate_for_sla(G, M, 1000, 12, *shape)
    assert queueing.tpot_at_rate(G, M, best * (1 + 1e-6), *shape, percentile=0.95) > 12


def test_a_limit_met_only_near_idle_gives_a_rate_not_zero():
    # A review: a limit met at the idle probe (a concurrency of 1e-9) but not at the
    # bisection's first bit above 0 (2,048 / 2^40 = 1.86e-9) gave a rate of 0 and infinite
    # replicas. The bisection starts from the idle probe where it holds.
    best, idle = queueing._most(lambda c: c <= 1.5e-9, 2048.0, ())
    assert idle and 1e-9 <= best <= 1.5e-9


def test_a_prompt_queue_that_would_saturate_first_is_overload_too():
    # 2,000-token prompts on a 512-token budget: each prompt rides four decode steps, so the
    # prompt queue fills before the replica holds its most sequences. Below that rate TTFT is
    # finite and grows; from it on, both latencies say the replica is overloaded (not a TTFT
    # of 1e14 ms at a rate the replica was said to sustain).
    args = (2000, 300, None, None, 1, 0.95, None, 512)
    roomy = queueing.operating_point(G, M, 1.0, 2000, 300)[1]
    _, top = queueing.operating_point(G, M, 1.0, 2000, 300, None, None, 1, None, 512)
    assert top < roomy
    below = queueing.ttft_at_rate(G, M, np.array([0.5, 0.9, 0.99]) * top, *args)
    assert np.all(np.isfinite(below)) and np.all(np.diff(below) > 0)
    assert below[0] < 10 * queueing.ttft_at_rate(G, M, 1e-7, *args)
    most = math.floor(top * 100) / 100  # rounded down: a rate the replica sustains
    text = f"overloaded: one replica sustains at most {most:,.2f} requests/s" + PER_REPLICA
    assert udfs.TTFT_AT_RATE(G, M, top * 1.01, *args) == text
    assert udfs.TPOT_AT_RATE(G, M, top * 1.01, *args) == text
    assert isinstance(udfs.TPOT_AT_RATE(G, M, top * 1.01, 2000, 300), float)
    # however loose the limits, the goodput stays within what the replica sustains
    loose = queueing.max_rate_for_sla(G, M, 1e15, 1e6, 2000, 300, None, None, 1, 0.95, None, 512)
    assert top * (1 - 1e-6) <= loose <= top


def test_above_capacity_the_message_names_the_most_a_replica_sustains():
    _, top = queueing.operating_point(G, M, 1.0, 1024, 256)
    text = (f"overloaded: one replica sustains at most {math.floor(top * 10) / 10:,.1f} "
            "requests/s" + PER_REPLICA)
    assert udfs.TTFT_AT_RATE(G, M, top * 1.01, 1024, 256) == text
    assert udfs.TPOT_AT_RATE(G, M, [[1, top * 2]], 1024, 256)[0][1] == text


def test_a_most_rate_or_idle_time_in_a_message_is_never_rounded_past_the_truth():
    # Found by a review: "at most 4.95 requests/s" where the most is 4.9454, so the rate the
    # message names was refused with the same message; "no rate meets ttft_ms 58.2: an idle
    # replica's first token takes 58.2 ms" (58.2047). Every GPU with Llama-2-13B, 1,024 in and
    # 256 out: the named rate runs, and the idle time named exceeds a limit set at the time shown
    # by rounding to nearest.
    for gpu in catalog.gpu_ids():
        _, top = queueing.operating_point(gpu, "llama-2-13b", 1.0, 1024, 256)
        if not top > 0:
            continue
        said = udfs.TTFT_AT_RATE(gpu, "llama-2-13b", top * 1.0001, 1024, 256)
        named = float(said.rsplit("at most ", 1)[1].split()[0].replace(",", ""))
        assert named <= top and isinstance(
            udfs.TTFT_AT_RATE(gpu, "llama-2-13b", named, 1024, 256), float), (gpu, said)
        idle = serving.ttft_ms(gpu, "llama-2-13b", 1, 1024)
        limit = round(idle, 1)
        if limit < idle:
            why = udfs.MAX_RATE_FOR_SLA(gpu, "llama-2-13b", limit, 1e6, 1024, 256)
            shown = float(why.rsplit("takes ", 1)[1].split()[0].replace(",", ""))
            assert shown > limit, (gpu, why)
    # below 0.001 requests/s the figure is in powers of ten, rounded down all the same (the
    # most is about 0.0006 requests/s here: three significant figures, cut, not rounded)
    _, top = queueing.operating_point("b300", "nemotron-3-super-120b", 1.0, 1024, 131072)
    assert 1e-4 < top < 1e-3
    shown = math.floor(top * 1e6) / 1e6
    said = udfs.TTFT_AT_RATE("b300", "nemotron-3-super-120b", top * 1.0001, 1024, 131072)
    assert said.startswith("overloaded: one replica sustains at most 0.000")
    assert float(said.rsplit("at most ", 1)[1].split()[0]) == shown
    assert isinstance(udfs.TTFT_AT_RATE("b300", "nemotron-3-super-120b", shown, 1024, 131072),
                      float)


def test_the_capacity_planners_question():
    # "How many GPUs serve 20 requests/s of 2,000-in/300-out with p95 TTFT under 1 s and 50 ms
    # per output token?" (issue 10)
    best = udfs.MAX_RATE_FOR_SLA(G, M, 1000, 50, 2000, 300)
    replicas = udfs.REPLICAS_FOR_SLA(G, M, 20, 1000, 50, 2000, 300)
    assert replicas == math.ceil(20 / best)
    # at the goodput both percentile latencies are within their limits, just above it one is not
    assert udfs.TTFT_AT_RATE(G, M, best, 2000, 300, None, None, 1, 0.95) <= 1000 * (1 + 1e-6)
    assert udfs.TPOT_AT_RATE(G, M, best, 2000, 300, None, None, 1, 0.95) <= 50 * (1 + 1e-6)
    over = [fn(G, M, best * 1.02, 2000, 300, None, None, 1, 0.95)
            for fn in (udfs.TTFT_AT_RATE, udfs.TPOT_AT_RATE)]
    assert isinstance(over[0], str) or over[0] > 1000 or over[1] > 50


def test_the_goodput_under_loose_limits_is_a_rate_the_latency_functions_accept():
    # a review found MAX_RATE_FOR_SLA returning the capacity itself, where TTFT_AT_RATE says
    # "overloaded" and REPLICAS_FOR_SLA still 1 replica
    _, top = queueing.operating_point(G, M, 1, 2000, 300)
    unlimited = udfs.MAX_RATE_FOR_SLA(G, M, 1e15, 200, 2000, 300)
    assert top * (1 - 1e-5) < unlimited < top
    for rate in (unlimited, udfs.MAX_RATE_FOR_SLA(G, M, 5000, 200, 2000, 300)):
        assert isinstance(udfs.TTFT_AT_RATE(G, M, rate, 2000, 300, None, None, 1, 0.95), float)
        assert isinstance(udfs.TPOT_AT_RATE(G, M, rate, 2000, 300, None, None, 1, 0.95), float)


def test_near_capacity_requests_wait_for_a_free_slot():
    # The same review simulated this replica step by step with the model's own costs
    # (benchmarks/queue_sim.py): at 98 % of capacity the p95 TTFT was seconds where the model,
    # without a wait for a slot, said 270 ms, and MAX_RATE_FOR_SLA for a 1 s p95 answered a
    # rate that misses it. Far from capacity the wait is nil.
    _, top = queueing.operating_point(G, M, 1, 2000, 300)
    r = queueing._Replica(G, M, 2000, 300, None, None, 1, None)
    assert r.queued(0.5 * top, None) < 1e-9 and r.queued(0.5 * top, 0.99) == 0
    p95 = udfs.TTFT_AT_RATE(G, M, 0.983 * top, 2000, 300, None, None, 1, 0.95)
    assert 5000 < p95 < 20000
    best = udfs.MAX_RATE_FOR_SLA(G, M, 5000, 200, 2000, 300)
    assert 0.96 * top < best < 0.99 * top
    assert udfs.TTFT_AT_RATE(G, M, best, 2000, 300, None, None, 1, 0.95) == pytest.approx(
        5000, rel=1e-6)
    # few slots (a model that fills the card's memory) wait sooner: at 90 % of capacity
    _, small = queueing.operating_point("rtx-4090", M, 1, 512, 256)
    assert queueing.ttft_at_rate("rtx-4090", M, 0.9 * small, 512, 256, None, None, 1,
                                 0.95) > 1000


@pytest.mark.parametrize("p", [None, 0.5, 0.99])
def test_a_prompt_waits_for_the_engine_s_window_of_decode_steps(p):
    # vLLM's V0 engine with --num-scheduler-steps 10 (SGLang: --num-continuous-decode-steps)
    # decides what runs every 10 steps, so a prompt waits for the window to end: the rest of
    # 10 loaded steps where it was the rest of one (half on average, p of them at percentile
    # p). A prompt as long as the budget leaves no room for others to join its step, so the
    # difference is that wait alone. TPOT and the capacity do not move.
    gpu, windowed = "a100-sxm-80gb", "a100-sxm-80gb; scheduler_steps=10"
    args = (M, 4, 1024, 200, "bf16", None, 1)
    one = queueing._Replica(gpu, M, 1024, 200, "bf16", None, 1, None, token_budget=1024)
    ten = queueing._Replica(windowed, M, 1024, 200, "bf16", None, 1, None, token_budget=1024)
    conc = one.concurrency(4.0)
    share = 0.5 if p is None else p
    wait = share * 9 * one.step(conc) * (1 - math.exp(-conc))
    assert ten.ttft(conc, 4.0, p) - one.ttft(conc, 4.0, p) == pytest.approx(wait, rel=1e-9)
    assert wait > 0.02  # 9 steps of about 12 ms, mostly busy
    assert queueing.tpot_at_rate(windowed, *args) == queueing.tpot_at_rate(gpu, *args)
    assert queueing.operating_point(windowed, *args)[1] == queueing.operating_point(gpu, *args)[1]
    assert queueing.ttft_at_rate(windowed, *args) > queueing.ttft_at_rate(gpu, *args)
    assert calibration.resolve(None, catalog.gpu(windowed)).scheduler_steps == 10
    assert calibration.resolve(1, catalog.gpu(windowed)).scheduler_steps == 10  # an engine limit


@pytest.mark.parametrize("gpu, model, inp, out, n, share", [
    (G, M, 2000, 300, 1, 0.97), ("rtx-4090", M, 512, 256, 1, 0.9),
    ("h100-sxm", "llama-3.1-70b", 1024, 1024, 4, 0.95), ("a100-sxm-80gb", M, 220, 194, 1, 0.99),
])
def test_the_chance_all_slots_are_taken_solves_the_birth_death_chain(gpu, model, inp, out, n,
                                                                     share):
    # the closed form (negative binomial below the slots, geometric beyond) against the chain
    # solved state by state: arrivals at the rate, completions n / (out (a + b n)) with the
    # step's line through N_max / 2 and N_max, and the capacity once every slot is taken
    r = queueing._Replica(gpu, model, inp, out, None, None, n, None)
    c = float(r.n_max)
    assert c == int(c) and c > 10
    full, half = float(r.step(c)), float(r.step(c / 2))
    b = (full - half) / (c / 2)
    a = full - b * c
    cap = c / (out * full)
    rate = share * float(r.max_rate())
    log_pi = [0.0]
    for k in range(1, int(c) + 20000):
        done = min(k, c) / (out * (a + b * min(k, c)))
        log_pi.append(log_pi[-1] + math.log(rate / done))
    pi = np.exp(np.array(log_pi) - max(log_pi))
    assert pi[-1] < 1e-12 * pi.sum()          # enough states for the tail
    chance = pi[int(c):].sum() / pi.sum()
    assert float(r.all_slots_taken(rate)) == pytest.approx(chance, rel=1e-7)
    assert float(r.queued(rate, None)) == pytest.approx(chance / (cap - rate), rel=1e-7)


def test_the_incomplete_beta_function():
    # I_(1-x)(a, c) for whole c is a negative binomial's chance of fewer than c failures,
    # (1 - x)^a sum_(n<c) C(n + a - 1, n) x^n; Excel's BETADIST gives the same
    beta = queueing._beta_cdf
    for a, c, x in [(1.0, 1, 0.3), (19.4, 185, 0.2), (19.4, 185, 0.95), (2.5, 40, 0.9),
                    (300.0, 3000, 0.5), (0.5, 7, 0.99)]:
        direct = sum(math.exp(math.lgamma(n + a) - math.lgamma(a) - math.lgamma(n + 1)
                              + n * math.log(x) + a * math.log1p(-x)) for n in range(c))
        assert beta(1 - x, a, c) == pytest.approx(direct, rel=1e-10, abs=1e-300), (a, c, x)
    assert beta(0.0, 3.0, 4.0) == 0.0 and beta(1.0, 3.0, 4.0) == 1.0
    grid = beta(np.array([[0.1], [0.9]]), np.array([2.0, 50.0]), 30.0)
    assert grid.shape == (2, 2) and np.all(np.diff(grid, axis=0) > 0)


def test_a_limit_just_past_the_idle_step_gives_a_count_that_jumps():
    # docs/latency.md: a TPOT limit 0.01 ms above an idle replica's 18.95 ms step (Llama-3.1-70B
    # on four H100s, 2,000 in / 300 out, p95) needs 1,613 replicas for 20 requests/s, 7 at
    # 50 ms (a user audit found the count without a word of why). These are the engine's own
    # figures as the page quotes them: a regression pin for the docs, not an outside measurement;
    # the property that matters, the count falling steeply as the limit loosens, is asserted too
    args = ("h100-sxm", "llama-3.1-70b", 20, 100000)
    shape = (2000, 300, None, None, 4)
    idle = udfs.TPOT_AT_RATE("h100-sxm", "llama-3.1-70b", 1e-9, *shape, 0.95)
    assert round(idle, 2) == 18.95
    counts = [udfs.REPLICAS_FOR_SLA(*args, t, *shape) for t in (18.96, 20, 25, 50)]
    assert counts == [1613, 170, 21, 7]  # 886,493 before a count under half a sequence was
    # read as 0 (queueing._count_at)
    assert all(a > 4 * b for a, b in zip(counts, counts[1:3]))


def test_limits_no_rate_can_meet_are_messages():
    # no count of GPUs a replica meets 5 ms, so none is offered (an SLA review: "more GPUs a
    # replica" where none met the limit)
    assert udfs.MAX_RATE_FOR_SLA(G, M, 5, 50) == (
        "no rate meets ttft_ms 5: an idle replica's first token takes "
        f"{math.ceil(serving.ttft_ms(G, M, 1, 1024) * 10) / 10:,.1f} ms (shorter with "
        "lower-precision weights, a faster GPU or shorter prompts)")
    assert udfs.REPLICAS_FOR_SLA(G, M, 10, 1000, 1).startswith("no rate meets tpot_ms 1:")
    # both limits missed: both named, so that fixing one does not only reveal the other
    idle_step = math.ceil(udfs.TPOT_AT_RATE(G, M, 0) * 100) / 100
    assert udfs.MAX_RATE_FOR_SLA(G, M, 5, 1) == (
        "no rate meets ttft_ms 5: an idle replica's first token takes "
        f"{math.ceil(serving.ttft_ms(G, M, 1, 1024) * 10) / 10:,.1f} ms; nor tpot_ms 1: its "
        f"tokens take {idle_step:.2f} ms (shorter with lower-precision weights, a faster GPU or "
        "shorter prompts)")


def _best_count(gpu, model, ttft, tpot, *shape, own):
    """The count within one domain, other than ``own``, whose replicas meet the limits with the
    most requests/s a GPU (fewest first among equals), asked of MAX_RATE_FOR_SLA; None if none."""
    rates = {k: udfs.MAX_RATE_FOR_SLA(gpu, model, ttft, tpot, *shape, k)
             for k in memory.domain_degrees(gpu, model, shape[2]) if k != own}
    per_gpu = {k: r / k for k, r in rates.items() if isinstance(r, float) and r > 0}
    return max(per_gpu, key=lambda k: (per_gpu[k], -k)) if per_gpu else None


def test_what_shortens_an_idle_replica_names_the_count_that_meets_the_limits():
    # An SLA review: "shorter with more GPUs a replica" where Qwen3-30B-A3B's idle token took
    # longer on 2, 4 and 16 B200s than on 1 (the step's fixed costs do not shrink, and the
    # all-reduces grow), so applying it met nothing. The functions name the count within one
    # domain whose replicas meet the limits with the most requests/s a GPU, or no count.
    shape = (3000, 400, "fp8", None)
    for n in (1, 2):
        said = udfs.MAX_RATE_FOR_SLA("b200", "qwen3-30b-a3b", 1500, 6.1, *shape, n)
        assert said.startswith("no rate meets tpot_ms 6.1") and said.endswith(
            " (shorter with lower-precision weights or a faster GPU)"), said
    assert [udfs.TPOT_AT_RATE("b200", "qwen3-30b-a3b", 0, 3000, 400, "fp8", None, n) > 6.1
            for n in (1, 2, 4, 8, 16)] == [True] * 5  # no count meets it
    cases = [  # (gpu, model, ttft, tpot, own count, the count named)
        # 70B's first token on two H100s: four meet 150 ms, and eight serve more a GPU (a
        # review: the fewest GPUs a replica that met the limits named a sliver of a rate)
        ("h100-sxm", "llama-3.3-70b", 150, 30, 2, 8),
        # the count meets the limit the replica met too (a review: two B200s, named for a 30 ms
        # TTFT, missed 6.2 ms a token, which one met) ...
        ("b200", "qwen3-30b-a3b", 30, 6.2, 1, 8),
        # ... and may be fewer GPUs (a review: one B200 met 6.125 ms, where eight did not)
        ("b200", "qwen3-30b-a3b", 40, 6.125, 8, 1)]
    for gpu, model, ttft, tpot, own, named in cases:
        said = udfs.MAX_RATE_FOR_SLA(gpu, model, ttft, tpot, *shape, own)
        assert f"(shorter with {named} GPU{'s' if named > 1 else ''} a replica, " in said, said
        assert _best_count(gpu, model, ttft, tpot, *shape, own=own) == named
    # where both limits are missed the count meets both: none meets 3 ms a token
    both = udfs.MAX_RATE_FOR_SLA("h100-sxm", "llama-3.3-70b", 150, 3, *shape, 2)
    assert "; nor tpot_ms 3" in both and "GPUs a replica" not in both
    # counts within one domain alone, up to 8 where the catalog does not size it (reviews: 16
    # L40Ss were named, costed as one domain; past one, engines split by pipeline stages)
    said = udfs.MAX_RATE_FOR_SLA("l40s", "llama-3.1-70b", 1000, 20, 2000, 300, "fp8", None, 4)
    assert said.startswith("no rate meets tpot_ms 20") and "GPUs a replica" not in said
    # a replica past one domain is named the count within one that meets them, where one does
    said = udfs.MAX_RATE_FOR_SLA("b200", "llama-3.3-70b", 485.8, 16.45, 8000, 400, "fp8", None,
                                 16)
    assert ("(shorter with 8 GPUs a replica (within one domain: past 8 its all-reduces cross a "
            "slower link), lower-precision") in said, said
    assert _best_count("b200", "llama-3.3-70b", 485.8, 16.45, 8000, 400, "fp8", None,
                       own=16) == 8
    # REPLICAS_FOR_SLA names the count of the fewest GPUs in all at its rate, as the command
    # line's fleet note does (a review: at 0.3 requests/s the note named 4 and the message 8)
    for rate, named in ((0.3, 4), (50, 8)):
        said = udfs.REPLICAS_FOR_SLA("h100-sxm", "llama-3.3-70b", rate, 200, 30, *shape, 2)
        assert f"(shorter with {named} GPUs a replica, " in said, said
        assert queueing.split_note("h100-sxm", "llama-3.3-70b", rate, 200, 30, *shape, 2)\
            .startswith(f"replicas of {named} GPUs meet the same limits")
    # a range of limits: each element its own count
    grid = udfs.MAX_RATE_FOR_SLA("h100-sxm", "llama-3.3-70b", [[150], [1e9]], [30, 3], *shape, 2)
    assert "8 GPUs a replica" in grid[0][0] and "GPUs a replica" not in grid[0][1]
    assert grid[1][0] == udfs.MAX_RATE_FOR_SLA("h100-sxm", "llama-3.3-70b", 1e9, 30, *shape, 2)


@settings(max_examples=40, deadline=None)
@given(rate=st.floats(0.1, 500), ttft=st.floats(100, 5000), tpot=st.floats(10, 200),
       inp=st.integers(64, 8192), out=st.integers(16, 2048),
       pct=st.sampled_from([0.5, 0.9, 0.95, 0.99]))
def test_replicas_agree_with_the_goodput(rate, ttft, tpot, inp, out, pct):
    best = queueing.max_rate_for_sla(G, M, ttft, tpot, inp, out, None, None, 1, pct)
    replicas = queueing.replicas_for_sla(G, M, rate, ttft, tpot, inp, out, None, None, 1, pct)
    if not np.isfinite(best):
        assert not np.isfinite(replicas)
        return
    assert replicas == max(1, math.ceil(rate / best - 1e-9))
    assert rate / replicas <= best * (1 + 1e-9)


def test_messages_about_absurd_inputs_stay_short():
    # Before: an efficiency of 1e-300 gave 355-471-character messages, mostly digits.
    over = udfs.TTFT_AT_RATE("h100-sxm", "llama-3.1-8b", 5, 1024, 1024, None, None, 1, 0.5, 1e-300)
    assert over == "overloaded: one replica sustains at most 8.16e-300 requests/s" + PER_REPLICA
    none = udfs.MAX_RATE_FOR_SLA("h100-sxm", "llama-3.1-8b", 1000, 50, 1024, 1024, None, None, 1,
                                 0.95, 1e-300)
    assert none.startswith("no rate meets ttft_ms 1000: an idle replica's first token takes ")
    hint = queueing.SHORTER_TTFT.replace(f"{queueing.MORE_GPUS}, ", "")  # no count meets it
    assert none.endswith("e+300 ms" + hint) and "e+301 ms; nor" in none
    assert len(none) - len(hint) < 140  # both limits, each time to 3 figures


@pytest.mark.parametrize("gpu, model, pct", [(G, M, 0.95), ("b200", "llama-3.1-70b", 0.5),
                                             ("mi300x", "deepseek-r1", 0.99)])
def test_a_table_of_limits_is_each_cell_s_own_answer(gpu, model, pct):
    # A table of TTFT x TPOT limits for one replica bisects each distinct limit once (a
    # 1000 x 1000 table took a minute, review of 2026-12-03): every cell, those no rate meets
    # included, is what the cell asked alone gives.
    ttft = np.array([[5.0], [150.0], [1000.0], [1000.0], [8000.0]])
    tpot = np.array([[5.0, 15.0, 40.0, 120.0]])
    table = queueing.max_rate_for_sla(gpu, model, ttft, tpot, 2000, 300, None, None, 8, pct)
    alone = np.array([[queueing.max_rate_for_sla(gpu, model, a, b, 2000, 300, None, None, 8, pct)
                       for b in tpot[0]] for a in ttft[:, 0]])
    assert table.shape == (5, 4)
    assert np.array_equal(np.isnan(table), np.isnan(alone)) and np.isnan(alone).any()
    assert np.allclose(table, alone, rtol=1e-12, equal_nan=True) and np.isfinite(alone).any()
    cells = udfs.MAX_RATE_FOR_SLA(gpu, model, ttft.tolist(), tpot.tolist(), 2000, 300, None,
                                  None, 8, pct)
    assert [[isinstance(c, str) for c in row] for row in cells] == np.isnan(alone).tolist()


def test_a_table_of_limits_beside_a_range_of_budgets_is_each_cell_s_own_answer():
    # The table path once took a token_budget column for one replica: an IndexError, or the
    # 512 row repeated silently (a property check of 2026-12-03). Any argument other than the
    # limits that varies takes the cell-by-cell bisection.
    budgets = np.array([[512.0], [8192.0]])
    for ttft, tpot in (([[300.0, 1000.0, 5000.0]], 50.0), (1000.0, [[20.0, 50.0]]),
                       ([1000.0, 300.0], 50.0)):
        b = budgets if np.ndim(ttft) != 1 else budgets.ravel()
        table = queueing.max_rate_for_sla(G, M, ttft, tpot, 4096, 300, None, None, 1, 0.95,
                                          None, b)
        shape = np.broadcast_shapes(np.shape(ttft), np.shape(tpot), np.shape(b))
        t, s, bb = (np.broadcast_to(x, shape) for x in (ttft, tpot, b))
        alone = np.vectorize(lambda x, y, z: float(queueing.max_rate_for_sla(
            G, M, x, y, 4096, 300, None, None, 1, 0.95, None, z)))(t, s, bb)
        assert table.shape == shape
        assert np.allclose(table, alone, rtol=1e-12, equal_nan=True), (ttft, tpot, table, alone)


def test_a_loaded_batch_holds_input_plus_output_tokens_on_average():
    # A request of L output tokens decodes for L - 1 steps after the prefill's token, at
    # contexts input + 1 ... input + L - 1; a batch at a random step holds each request in
    # proportion to those steps. Over geometric lengths with mean `out` (the slot queue's
    # assumption, as benchmarks/queue_sim.py draws them) that mean is input + out; over one
    # length it is input + out / 2.
    inp, out = 1000, 300
    lengths = np.random.default_rng(7).geometric(1 / out, 400_000).astype(float)
    steps = lengths - 1
    held = np.sum(steps * (inp + lengths / 2)) / np.sum(steps)
    assert held == pytest.approx(queueing.batch_context(inp, out), rel=0.01)
    assert queueing.batch_context(inp, out) == inp + out
    assert (inp + (out + 1) / 2) / (inp + out / 2) - 1 < 1e-3   # fixed lengths: input + out / 2


@pytest.mark.parametrize("gpu, model, inp, out, n", [
    ("h100-sxm", "llama-3.1-8b", 128, 256, 1),     # short prompts: the step in progress and
    ("h100-sxm", "llama-3.1-70b", 200, 500, 4),    # the prompts joining one's step weigh most
    ("h100-sxm", "llama-3.1-8b", 2000, 300, 1),    # long prompts: the prompt queue weighs most
    ("a100-sxm-80gb", "llama-3.1-8b", 200, 800, 1),  # long outputs: the KV reads weigh most
    ("a100-sxm-80gb", "qwen2.5-32b", 4000, 200, 2),  # long prompts, short outputs: the echo
])
def test_the_rate_functions_agree_with_a_simulation_of_the_same_replica(gpu, model, inp, out, n):
    # benchmarks/queue_sim.py runs one replica step by step with the model's own step costs
    # (Poisson arrivals, every waiting prompt in the next step up to the budget). At 70 % of
    # capacity the formula's p50 and p95 stay within -5 % and +12 % of it (-7 % at the p50 of
    # 4,000-token prompts, whose M/D/1 wait does not see prompts come in clusters, step 2's
    # echo; 2026-12-05, twenty-fifth session): a first version of
    # the riding charge was 6 % under at the short prompts' p95, and MAX_RATE_FOR_SLA then
    # answered rates at which the simulation missed the limit (a review, 2026-12-03).
    # The simulation decodes each step at its sequences' own mean context; with output lengths
    # that vary, the batch holds long requests more often than they arrive, and the formula's
    # mean TPOT (step at input + output, queueing.batch_context) stays within -6 % and +5 % of
    # the simulated mean TPOT. At input + output / 2 it was 9 % under at 50 % of capacity with
    # 200 in / 800 out, and 29 % under at 90 % with 1,024 / 512 (2,000-second runs, 2026-12-05).
    sys.path.insert(0, str(REPO / "benchmarks"))
    from queue_sim import simulate
    rate, ttft, _, tpot = simulate(gpu, model, inp, out, 0.7, 1500.0, 1, "geometric", 300.0,
                                   queueing.PREFILL_CHUNK, n)
    long_prompts = inp >= 4000
    for p in (0.5, 0.95):
        formula = queueing.ttft_at_rate(gpu, model, rate, inp, out, None, None, n, p)
        simulated = float(np.percentile(ttft, 100 * p)) * 1e3
        low = -0.08 if long_prompts else -0.05
        assert low <= formula / simulated - 1 <= 0.12, (p, formula, simulated)
    formula = queueing.mean_latency_at_rate(gpu, model, rate, inp, out, None, None, n)[1]
    assert -0.06 <= formula / (float(np.mean(tpot)) * 1e3) - 1 <= 0.05, (formula, tpot.mean())
    # p95 TPOT: the concurrency's spread from the linear model (queueing._Replica.spread); with
    # a Poisson count's it was 5-25 % under at 90 % of capacity (benchmarks/RESULTS.md). The
    # shortest requests, right after a prompt, lengthen the simulation's p95 beyond it: 12 %
    # at 2,000 tokens in, 54 % at 4,000 with 200 out (not checked), which the model leaves to
    # a load test (docs/latency.md, step 2).
    formula = queueing.tpot_at_rate(gpu, model, rate, inp, out, None, None, n, 0.95)
    simulated = float(np.percentile(tpot, 95)) * 1e3
    if not long_prompts:
        assert -0.15 <= formula / simulated - 1 <= 0.05, (formula, simulated)
    # The echo of a request's own prompt (queueing._Replica.echo): without it the mean TPOT
    # with 4,000 tokens in and 200 out is 36 % under the simulation's, the median 6 % under;
    # with it the median is 10 % over in this run (a median-length request's echo; 4 % over in
    # a run of 3,000 s: the simulated median moves with the run).
    formula = queueing.tpot_at_rate(gpu, model, rate, inp, out, None, None, n, 0.5)
    assert -0.05 <= formula / (float(np.median(tpot)) * 1e3) - 1 <= 0.12, (formula, tpot)


def test_the_echo_and_the_spread_are_the_linear_model_solved():
    """queueing step 2: the spread is the stationary variance of the linear model of sequences
    and prompts per step (the discrete Lyapunov equation solved numerically here), and the
    mean echo is the mean over geometric output lengths (a TPOT: 2 tokens or more) of each
    request's own steps after its prompt, c g^j / (1 - g^2) for the j-th."""
    r = queueing._Replica("h100-sxm", "llama-3.1-8b", 2000, 300, None, None, 1, None)
    for share in (0.3, 0.7, 0.9):
        rate = share * float(r.max_rate())
        conc = float(r.concurrency(rate))
        per_step, cost, g = (float(v) for v in r.prompt_cost(conc, rate))
        decode = [float(roofline._decode_step(r.g, r.m, c, r.context, r.wd, r.kv, 1, r.eff))
                  for c in (conc, conc + 1.0)]
        slope = decode[1] - decode[0]
        stay = 1.0 - 1.0 / r.out
        m = np.array([[stay, 1.0], [rate * slope, g]])
        q = np.diag([conc / r.out * stay, per_step])
        sigma = np.linalg.solve(np.eye(4) - np.kron(m, m), q.ravel()).reshape(2, 2)
        assert float(r.spread(conc, rate)) ** 2 == pytest.approx(sigma[0, 0], rel=1e-9)
        steps = np.arange(1, 20_000)                     # L - 1 for L = 2, 3, ...
        chance = (1 / r.out) * (1 - 1 / r.out) ** steps   # geometric L, from L = 2
        own = np.cumsum(cost * g ** steps / (1 - g * g)) / steps
        assert float(r.echo(conc, rate)) == pytest.approx(np.sum(chance * own) / chance.sum(),
                                                          rel=1e-9)
        if share == 0.3:
            assert sigma[0, 0] / conc < 2 and float(r.echo(conc, rate)) > 0
    idle = 1e-5 * float(r.max_rate())
    conc = float(r.concurrency(idle))
    assert float(r.spread(conc, idle)) ** 2 == pytest.approx(conc, rel=1e-4)  # Poisson at rest


def test_a_tpot_is_never_longer_than_a_step_with_a_full_prompt_budget():
    # with prompts near the step's token budget and outputs of a few tokens the echo's linear
    # model overruns what a step can carry (a review: 2.4 s a token against 0.29 simulated at
    # 32,000 in / 16 out); the cap keeps the p95 at the simulation's and the mean conservative
    sys.path.insert(0, str(REPO / "benchmarks"))
    from queue_sim import simulate
    args = ("h100-sxm", "llama-3.1-8b")
    rate, _, _, tpot = simulate(*args, 8000, 4, 0.9, 600.0, 1, "geometric", 100.0)
    p95 = queueing.tpot_at_rate(*args, rate, 8000, 4, None, None, 1, 0.95)
    assert p95 == pytest.approx(float(np.percentile(tpot, 95)) * 1e3, rel=0.05)
    mean = queueing.mean_latency_at_rate(*args, rate, 8000, 4)[1]
    assert 0 <= mean / (float(np.mean(tpot)) * 1e3) - 1 <= 0.25


@pytest.mark.parametrize("gpu, model, inp, out", [
    ("a100-sxm-80gb", "gpt-oss-120b", 20000, 200),  # the audit's: p99 66 ms, mean 84 at 50 %
    ("h100-sxm", "gpt-oss-120b", 20000, 200),
    ("h100-sxm", "llama-3.1-8b", 20000, 200),
    ("h100-sxm", "llama-3.1-8b", 2000, 300),
    ("rtx-4090", "llama-3.1-8b", 512, 256),
])
def test_a_tpot_percentile_is_never_below_what_the_mean_allows(gpu, model, inp, out):
    # Every request's TPOT is at most the longest step (a full prompt budget at the most
    # sequences), so TPOTs whose mean is m have their p-th percentile at least
    # (m - (1 - p) longest) / p. The percentile, a median-length request's echo, fell under it
    # where the short requests' echo makes the mean long (an audit, 2026-12-07: 20,000 in /
    # 200 out on an A100 at half its capacity, a mean of 84 ms and a p99 of 66).
    r = queueing._Replica(gpu, model, inp, out, None, None, 1, None)
    longest = float(r.longest()) * 1e3
    tight = 0
    for share in (0.3, 0.5, 0.7, 0.9, 0.97):
        rate = share * float(r.max_rate())
        mean = queueing.mean_latency_at_rate(gpu, model, rate, inp, out)[1]
        assert mean <= longest
        for p in (0.5, 0.9, 0.95, 0.99):
            tpot = queueing.tpot_at_rate(gpu, model, rate, inp, out, percentile=p)
            assert p * tpot + (1 - p) * longest >= mean * (1 - 1e-12), (share, p, tpot, mean)
            tight += p * tpot + (1 - p) * longest <= mean * (1 + 1e-9)
            limit = queueing.max_rate_for_sla(gpu, model, 1e9, tpot * 1.001, inp, out,
                                              percentile=p)
            assert limit >= rate * (1 - 1e-6)   # the goodput agrees with the bound
    if model == "gpt-oss-120b":
        assert tight  # the bound sets the percentile somewhere here


@pytest.mark.parametrize("inp, out, budget", [(2000, 300, 512), (1000, 4, 512),
                                               (4000, 2, 2048), (8000, 4, 8192)])
def test_the_steps_have_room_for_the_prompts_up_to_the_capacity(inp, out, budget):
    # each step completes N / out requests and as many prompts must join within the budget:
    # a review found the model sustaining rates whose steps would carry 2,854 prompt tokens
    # on a 2,048 budget, where the simulation's queue grew without end, and a TPOT shorter
    # than the mean step there (the full-budget cap below it)
    r = queueing._Replica("h100-sxm", "llama-3.1-8b", inp, out, None, None, 1, None, budget)
    top = float(r.top())
    assert top * inp <= out * budget * (1 + 1e-9)
    rates = np.array([0.5, 0.9, 0.99, 0.999]) * float(r.max_rate())
    conc = r.concurrency(rates)
    for p in (0.5, 0.95, 0.99):
        tpot = queueing.tpot_at_rate("h100-sxm", "llama-3.1-8b", rates, inp, out, None, None,
                                     1, p, None, budget)
        assert np.all(tpot >= r.step(conc) * 1e3 * (1 - 1e-9)), (p, tpot)
    if inp == 2000:   # docs/latency.md's example: the budget binds before the slots do
        assert top == pytest.approx(out * budget / inp) and top < float(r.n_max)


@pytest.mark.parametrize("gpu, model", [("b200", "gpt-oss-120b"), ("h100-sxm", "llama-3.1-8b")])
def test_where_the_budget_sets_the_capacity_the_wait_grows_without_end(gpu, model):
    # 128 in / 1 out: the steps' prompt room, not the GPU's work, caps the rate. An audit found
    # the p95 TTFT flat at 180 ms up to that cap and MAX_RATE_FOR_SLA returning the cap itself
    # (a rate TTFT_AT_RATE then called overloaded)
    cap = float(queueing._Replica(gpu, model, 128, 1, None, None, 1, None).max_rate())
    near = queueing.ttft_at_rate(gpu, model, cap * np.array([0.5, 0.999999]), 128, 1,
                                 percentile=0.95)
    assert near[1] > 100 * near[0]
    best = queueing.max_rate_for_sla(gpu, model, 200, 1e5, 128, 1)
    assert best < cap
    assert queueing.ttft_at_rate(gpu, model, best, 128, 1, percentile=0.95) <= 200 * (1 + 1e-6)


def test_a_sequence_alone_in_memory_decodes_alone():
    # 70B in bf16 on two A100s with 8,000 tokens in holds one sequence: no prompt joins its
    # steps (an audit: 1.2 s a token at half the capacity against a 48 ms decode step)
    args = ("a100-sxm-80gb", "llama-3.1-70b")
    r = queueing._Replica(*args, 8000, 4, None, None, 2, None)
    assert float(r.n_max) == 1
    idle = queueing.tpot_at_rate(*args, 1e-6, 8000, 4, None, None, 2)
    busy = queueing.tpot_at_rate(*args, 0.9 * float(r.max_rate()), 8000, 4, None, None, 2,
                                 [0.5, 0.95])
    assert np.allclose(busy, idle) and idle == pytest.approx(float(r.decode(1.0)) * 1e3)
    assert queueing.mean_latency_at_rate(*args, 0.5 * float(r.max_rate()), 8000, 4, None, None,
                                         2)[1] == pytest.approx(idle)


def test_service_at_rate_is_what_the_rate_functions_say_at_that_rate():
    """queueing.service_at_rate (the self-host template's service at your volume, estimate's
    line, and mean_latency_at_rate's): at the median it is TTFT_AT_RATE and TPOT_AT_RATE, with
    the same token budget too, and its concurrency Little's law's; its means are longer than
    the medians (the mean TPOT carries the echo of the shortest requests' prompts); a smaller
    memory share holds fewer sequences, so a rate near the replica's capacity becomes one it
    cannot sustain (NaN)."""
    args = ("h100-sxm", "llama-3.1-8b", 6.0, 1024, 256)
    conc, ttft, tpot = queueing.service_at_rate(*args, percentile=0.5)
    assert ttft == pytest.approx(queueing.ttft_at_rate(*args))
    assert tpot == pytest.approx(queueing.tpot_at_rate(*args))
    assert conc == pytest.approx(queueing.operating_point(*args)[0])
    mean = queueing.service_at_rate(*args)
    assert mean[0] == conc and mean[2] > tpot and mean[1] != ttft
    small = queueing.service_at_rate(*args, percentile=0.5, token_budget=512)[1]
    assert small == pytest.approx(queueing.ttft_at_rate(*args, token_budget=512)) != ttft
    top = queueing.operating_point(*args)[1]
    near = ("h100-sxm", "llama-3.1-8b", 0.95 * top, 1024, 256)
    assert math.isfinite(queueing.service_at_rate(*near)[0])
    assert math.isnan(queueing.service_at_rate(*near, mem_fraction=0.2)[0])


@pytest.mark.parametrize("gpu, model, rate, inp, out, wd, n", [
    ("h100-sxm", "llama-3.1-70b", 20, 2000, 300, "fp8", 2),     # a planner review's case A
    ("l40s", "llama-3.1-8b", 30, 1000, 500, None, 1),
    ("h200-sxm", "deepseek-r1", 20, 1024, 1024, None, 8),       # MoE: reads grow with b
    ("rtx-4090", "qwen3-30b-a3b", 60, 128, 1024, "int4", 1),
])
def test_concurrency_at_speed_is_where_each_request_still_gets_the_rate(gpu, model, rate, inp,
                                                                        out, wd, n):
    # the planner's users by speed: THROUGHPUT_AT_CONCURRENCY / concurrency is each request's
    # own tokens/s, at least the rate up to the answer and below it one request further
    c = serving.concurrency_at_speed(gpu, model, rate, inp, out, wd, None, n)
    whole = int(c)
    assert whole >= 1
    each = [serving.throughput_at_concurrency(gpu, model, k, inp, out, wd, None, n, None, 1.0)
            / k for k in (whole, whole + 1)]
    assert each[0] >= rate * (1 - 1e-9) and each[1] < rate


def test_the_planner_s_speed_reads_the_caches_at_the_context_a_user_holds():
    # A planner review: users holding 8,192 tokens were given the slots of requests judged at
    # their own 1,536 (1,024 in + 1,024 out / 2): 168 on an MI325X, whose step at that many
    # 8,192-token caches gave each 10.6 tokens/s against the 20 promised. With the context
    # (held less half an output: 7,680) every slot gets the rate and one more does not.
    g, m, rate, inp, out = "mi325x", "qwen2.5-32b", 20, 1024, 1024
    eff = calibration.resolve(None, catalog.gpu(g))
    wd = memory.weight_dtype_of(catalog.model(m), "fp8")
    own = serving.concurrency_at_speed(g, m, rate, inp, out, "fp8", "fp8")
    held = serving.concurrency_at_speed(g, m, rate, inp, out, "fp8", "fp8", 1, None,
                                        memory.MEM_FRACTION, 8192 - out / 2)
    assert 160 < own and held < 100   # the review's 168 and about half of it

    def each(b, context):   # a request's tokens/s at b requests running
        return 1 / serving.loaded_step(catalog.gpu(g), catalog.model(m), b, inp, out, wd,
                                       "fp8", 1, eff, context)
    assert each(int(own), 7680) < 0.6 * rate              # what the old slots got
    assert each(int(held), 7680) >= rate > each(int(held) + 1, 7680)
    # blank: the request's own mean context, as before
    assert own == serving.concurrency_at_speed(g, m, rate, inp, out, "fp8", "fp8", 1, None,
                                               memory.MEM_FRACTION, inp + out / 2)


def test_concurrency_at_speed_is_zero_just_past_one_request_s_speed():
    # one request's own speed, prompts included, is THROUGHPUT_AT_CONCURRENCY at 1
    args = ("rtx-4090", "llama-3.1-70b")
    rest = (1024, 16, "int4", None, 2)
    one = serving.throughput_at_concurrency(*args, 1, *rest)
    assert serving.concurrency_at_speed(*args, one * 0.999, *rest) >= 1.0
    assert serving.concurrency_at_speed(*args, one * 1.001, *rest) == 0.0
    # a configuration that cannot run one request has no answer
    assert math.isnan(serving.concurrency_at_speed("h100-sxm", "llama-3.1-8b", 20, 1024, 1024,
                                                   None, None, 3))


def test_steps_that_carry_a_prompt_pay_a_forward_pass_fixed_time():
    # serving.prompt_pass_time (RESULTS section 8, item 31): engines replay CUDA graphs only for
    # decode-only steps, so a step with a prompt pays a pass's fixed time once more. b / out
    # prompts join a step (Poisson): 1 - e^(-b/out) of the steps carry one; none with no
    # overheads (a numeric efficiency, the roofline).
    g, m = catalog.gpu("h100-sxm"), catalog.model("llama-3.1-8b")
    eff = calibration.resolve(None, g)
    fixed = roofline._overhead(m, eff)
    assert 2e-3 < fixed < 3e-3  # 0.1 ms + 32 layers x 68 us
    b = np.array([1.0, 256.0, 1e6])
    passes = serving.prompt_pass_time(g, m, b, 256.0, eff)
    assert passes == pytest.approx((1 - np.exp(-b / 256.0)) * fixed)
    assert passes[-1] == pytest.approx(fixed)          # every step carries a prompt
    assert not serving.prompt_pass_time(g, m, b, 256.0, calibration.resolve(1, g)).any()
    # Prefix caching saves prompt compute, not those steps: a replica whose prompts all hit
    # the cache still pays them beside its decode steps.
    t = capacity._phase_times(g, m, 1024, 256, None, None, 1, None)
    assert 0 < t.passes < t.prefill
    cached = capacity.replica_tokens_per_sec(g, m, 1024, 256, None, None, 1, None, 1.0)
    assert cached == pytest.approx((1024 + 256) / (t.decode + t.passes))


def test_what_shortens_an_idle_replica_past_one_domain_and_for_gguf():
    # Reviews: past one NVLink domain the message advised more GPUs where 16 H200s' first
    # token took twice 8's, then fewer where 405B needs more than 8 H100s in bf16 and its tokens
    # are shorter on more; GGUF weights, split by layers, take as long on 16 GPUs as on 1.
    past = udfs.MAX_RATE_FOR_SLA("h200-sxm", "qwen3-235b-a22b", 2000, 50, 30000, 2000, None,
                                 None, 16)
    assert "8 GPUs a replica (within one domain: past 8 its all-reduces cross a slower " in past
    assert isinstance(udfs.MAX_RATE_FOR_SLA("h200-sxm", "qwen3-235b-a22b", 2000, 50, 30000,
                                            2000, None, None, 8), float)  # 8 meets it
    tokens = udfs.MAX_RATE_FOR_SLA("h100-sxm", "llama-3.1-405b", 1e6, 5, 1000, 100, "bf16",
                                   None, 16)
    assert tokens.startswith("no rate meets tpot_ms 5")
    assert tokens.endswith(queueing._within(queueing.SHORTER_TPOT, "8"))
    within = udfs.MAX_RATE_FOR_SLA("h100-sxm", "llama-3.1-70b", 250, 50, 8000, 100, "fp8", None,
                                   2)
    assert within.endswith(queueing.SHORTER_TTFT.replace(queueing.MORE_GPUS, "8 GPUs a replica"))
    one, sixteen = (udfs.MAX_RATE_FOR_SLA("h100-sxm", "llama-3.1-70b", 1, 50, 1000, 100,
                                          "q4_k_m", None, n) for n in (1, 16))
    assert one == sixteen and one.endswith(queueing._no_split(queueing.SHORTER_TTFT))
    assert "a tensor-parallel format on several GPUs (GGUF's layer split does not shorten it)" \
        in one and "lower-precision weights" in one
    for hint in (queueing.SHORTER_TTFT, queueing.SHORTER_TPOT):  # both leave out more GPUs
        assert queueing.MORE_GPUS in hint and queueing.MORE_GPUS not in queueing._no_split(hint)


def test_the_advised_count_says_each_limit_it_misses(monkeypatch):
    # A review: a wait the slot queue never ends printed as "inf s"; each figure is rounded
    # away from its limit (19.96 tokens/s is not "20.0, under 20").
    g, m = catalog.gpu("l40s"), catalog.model("llama-3.3-70b")
    args = (g, m, 3e8, 2000, 400, None, None, 4, 29593.4, 0.7, 2, 20833.3, 730)
    for seen, said in (((5, 19.96, 100, 5000), "(19.9 output tokens/s each, under 20)"),
                       ((5, 30, 100, 10040), "(1 request in 20 waiting 10.1 s or more for its "
                                             "first token, over 10 s)"),
                       ((5, 30, 100, math.nan), "(1 request in 20 waiting without end for its "
                                                "first token)"),
                       ((5, 30, 100, 5000), None)):
        monkeypatch.setattr(capacity, "_service_at", lambda *a, s=seen: s)
        text = capacity._advised_count(*args)
        assert text.startswith("; at this volume, use num_gpus 4 for the least cost, $29,593 "
                               "a month all in ($8,760 of GPUs, $20,833 of people and "
                               "platform)")
        assert (text.endswith(f", though its answers would be slow there {said}") if said
                else "slow" not in text), text
