"""Roofline and serving: seed figures under the articles' assumptions, and invariants."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from xlnapkin import calibration, catalog, memory, roofline, serving, udfs


def test_seed_004_405b_decode_step_on_16_h100():
    # seed 004: 811.7 GB / (16 x 3.35 TB/s) = 15.1 ms, pure roofline, communication ignored.
    ms = serving.itl_ms("h100-sxm", "llama-3.1-405b", 1, 0, "fp16", "bf16", 16, 1)
    assert ms == pytest.approx(15.14, rel=5e-3)


def test_seed_004_8b_batch_1():
    # seed 004: 4.8 ms and ~200 tok/s for Llama 3.1 8B on one H100.
    assert serving.itl_ms("h100-sxm", "llama-3.1-8b", 1, 0, "bf16", "bf16", 1, 1) == pytest.approx(
        4.79, rel=5e-3)


def test_seed_003_decode_ceiling_llama2_7b():
    # seed 003: ~200 tok/s with an overhead factor of 1.2; 207 with the real 6.74 B parameters.
    tps = serving.tokens_per_sec("h100-sxm", "llama-2-7b", 1, 0, "fp16", "bf16", 1, 1 / 1.2)
    assert tps == pytest.approx(207.1, rel=5e-3)


def test_seed_003_batch_figures_from_the_articles_formula():
    # seed 003's formula (batch / (1.2 x the weight-read time), its 7 B parameters in fp16) gives
    # 6,381 / 12,762 / 25,524 at 32/64/128 (docs/seed_audit.md), not its table's 3,800 / 4,800 /
    # 5,100.
    # Hand calculation of our roofline at its efficiency 1/1.2 and 512 tokens of context: the
    # step is max(compute, weight read) + KV read, with H100 SXM 989 TFLOPS and 3.35 TB/s,
    # Llama-2-7B 6.74e9 params (13.48 GB in fp16) and 524,288 B of fp16 KV per token.
    e, peak, bw = 1 / 1.2, 989e12, 3.35e12
    for batch, shown in ((32, 6381), (64, 12762), (128, 25524)):
        naive = batch * bw / (1.2 * 2 * 7e9)
        assert naive == pytest.approx(shown, abs=0.5)
        flops = batch * (2 * 6.74e9 + 2 * 32 * 32 * (128 + 128) * 512)  # weights + attention
        step = max(flops / (peak * e), 13.48e9 / (bw * e)) + batch * 524_288 * 512 / (bw * e)
        ours = serving.tokens_per_sec("h100-sxm", "llama-2-7b", batch, 512, "fp16", "fp16", 1, e)
        assert ours == pytest.approx(batch / step, rel=1e-9)
        assert ours < 0.7 * naive  # the article's own formula ignores KV reads and compute


def test_seed_001_ridge_point_and_critical_batch():
    # seed 001: 4,500 TFLOP/s / 8 TB/s = 562.5; 562.5 / 2 = 281 (the article says 331).
    assert roofline.ops_per_byte("b200", "fp8") == 562.5
    assert roofline.critical_batch("b200", "qwen2.5-32b", "fp8", 1) == pytest.approx(281.25)


def test_seed_004_prefill_is_weight_read_bound_with_dense_peak():
    # seed 004: 100 tokens through 405B on "one H100": dense 989 TFLOPS gives 82 ms of compute,
    # below the 242 ms weight read, so the roofline says 242 ms (the article adds 1,979-TFLOPS
    # compute to the read and gets 282 ms).
    t = roofline.prefill_time("h100-sxm", "llama-3.1-405b", 1, 100, "fp16", "fp16", 1, 1)
    assert t * 1e3 == pytest.approx(242.3, rel=5e-3)
    sparse = roofline.prefill_time("h100-sxm; bf16_tflops=1979", "llama-3.1-405b", 1, 100, "fp16",
                                   "fp16", 1, 1)
    assert sparse == pytest.approx(t, rel=1e-9)  # still read-bound: only the sum gives 282 ms


def test_critical_batch_dense_formula():
    # ridge x bytes per weight / 2: H100 BF16 = 989 / 3.35 x 2 / 2 = 295.2
    assert roofline.critical_batch("h100-sxm", "llama-3.1-70b", "bf16", 1) == pytest.approx(
        989 / 3.35, rel=1e-9)


def test_moe_critical_batch_is_where_compute_meets_reads():
    b = roofline.critical_batch("h100-sxm", "mixtral-8x7b", "bf16", 1)
    t_compute = roofline.decode_flops("mixtral-8x7b", b, 0) / 989e12
    from xlnapkin.memory import moe_weight_bytes_read
    t_read = moe_weight_bytes_read("mixtral-8x7b", "bf16", b) / 3.35e12
    assert t_compute == pytest.approx(t_read, rel=1e-6)


def test_fp8_weights_use_the_fp8_peak_only_where_there_is_one():
    # Dense datasheet peaks (sparse halved): H100 SXM FP8 1,979 and BF16 989, A100 BF16 312 (no
    # FP8 unit), B200 FP4 9,000 (NVIDIA's H100, A100 and DGX B200 datasheets, as gpus.csv cites)
    assert roofline.peak_flops("h100-sxm", "fp8") == 1979e12
    assert roofline.peak_flops("a100-sxm-80gb", "fp8") == 312e12  # no FP8: computes in BF16
    assert roofline.peak_flops("b200", "nvfp4") == 9000e12
    assert roofline.peak_flops("h100-sxm", "q4_k_m") == 989e12   # weight-only: 16-bit math


def test_geforce_fp16_and_gguf_take_the_fp16_accumulate_rate_and_the_rest_the_fp32_one():
    """fp16 and GGUF weights compute as llama.cpp's cuBLAS GEMMs do, with FP16 accumulation;
    bf16 (whose tensor instructions accumulate in FP32 only: PTX ISA mma .f32.bf16.bf16.f32),
    int4 and the other 16-bit math as PyTorch's and vLLM's AWQ and Marlin kernels do, in FP32; the
    attention as the weights. Golden values: NVIDIA's Ada whitepaper, RTX 4090 table (BF16
    with FP32 accumulate 165.2 dense, FP16 with FP16 accumulate 330.3), as gpus.csv cites."""
    # (RTX 3090: 71 and 142, the GA102 whitepaper; RTX 5090: 209.5 and 419, as gpus.csv cites)
    for gpu, slow, fast in (("rtx-4090", 165.2, 330.3), ("rtx-3090", 71, 142),
                            ("rtx-5090", 209.5, 419)):
        for dtype in ("bf16", "bfloat16", "fp32", "int4", "awq", "gptq-int4", 4.5, 16):
            assert roofline.peak_flops(gpu, dtype) == pytest.approx(slow * 1e12), (gpu, dtype)
            assert roofline.attention_peak(gpu, dtype) == pytest.approx(slow * 1e12), dtype
        for dtype in ("fp16", "half", "float16", "f16", "q4_k_m", "Q8_0"):
            assert roofline.peak_flops(gpu, dtype) == pytest.approx(fast * 1e12), (gpu, dtype)
            assert roofline.attention_peak(gpu, dtype) == pytest.approx(fast * 1e12), dtype
    # fp8 weights take the card's own fp8 column (here set apart from both 16-bit rates), their
    # attention the FP32-accumulate rate; fp8 on a card without fp8 (3090) is 16-bit math
    assert roofline.peak_flops("rtx-4090; fp8_tflops=500", "fp8") == pytest.approx(500e12)
    assert roofline.attention_peak("rtx-4090; fp8_tflops=500", "fp8") == pytest.approx(165.2e12)
    assert roofline.peak_flops("rtx-3090", "fp8") == pytest.approx(71e12)
    # where the two rates are one (every datacenter part), nothing moves
    assert roofline.peak_flops("h100-sxm", "bf16") == roofline.peak_flops("h100-sxm", "fp16")
    # a 4,096-token prefill is compute-bound: bf16 takes longer than fp16 on the card
    bf16, fp16 = (roofline.prefill_time("rtx-4090", "llama-3-8b", 1, 4096, d) for d in
                  ("bf16", "fp16"))
    assert bf16 > 1.5 * fp16
    # the data README's two spec strings: every 16-bit rate fast, or every one slow
    for dtype in ("bf16", "int4", "fp16"):
        assert roofline.peak_flops("rtx-4090; bf16_tflops=330.3", dtype) == pytest.approx(
            330.3e12)
        assert roofline.peak_flops("rtx-4090; fp16_tflops=0", dtype) == pytest.approx(165.2e12)



def test_fp4_matmuls_run_at_their_share_of_the_mfu():
    """A 4-bit float path counts its matmuls at fp4_mfu_factor of the MFU (vLLM's B200 GEMM
    benchmarks: NVFP4 reaches 0.34-0.43 of its datasheet peak where BF16 reaches 0.6 of its own);
    the pure roofline (efficiency=1) keeps the datasheet peak, and a weight-only 4-bit format or
    a GPU without FP4 never sees the factor."""
    from xlnapkin.calibration import resolve
    f = resolve(None, "NVIDIA").fp4_mfu_factor
    assert 0.3 <= f < 1.0 and resolve(1).fp4_mfu_factor == 1.0

    def compute(gpu, dtype, efficiency):  # a 32k-token prefill: compute-bound everywhere
        return roofline.prefill_time(gpu, "llama-3.1-70b", 1, 32768, dtype, None, 8,
                                     efficiency)

    # roofline: FP4 is exactly twice FP8 on B200 for the weight matmuls
    lin = roofline.prefill_flops("llama-3.1-70b", 1, 32768) - (
        roofline.attention_flops_per_pair("llama-3.1-70b") * 80 * 32768 * 32769 / 2)
    gap = lin / (8 * 4500e12) - lin / (8 * 9000e12)
    assert compute("b200", "fp8", 1) - compute("b200", "nvfp4", 1) == pytest.approx(
        gap, rel=1e-6)
    # calibrated: the FP4 matmuls take 1/f of their roofline share
    e = resolve(None, "NVIDIA")
    gap_cal = lin / (8 * 4500e12 * e.mfu_prefill) - lin / (8 * 9000e12 * f * e.mfu_prefill)
    # plus the weight reads, which a calibrated prefill adds (prefill_serial) and FP4 halves
    reads = lambda dtype: roofline.moe_weight_bytes_read(  # noqa: E731
        catalog.model("llama-3.1-70b"), dtype, 32768) / (8 * catalog.gpu("b200").bandwidth
                                                         * e.mbu)
    gap_cal += e.prefill_serial * (reads("fp8") - reads("nvfp4"))
    assert compute("b200", "fp8", None) - compute("b200", "nvfp4", None) == pytest.approx(
        gap_cal, rel=1e-6)
    # every 4-bit float name takes the FP4 path (compute-bound: the weight bytes hardly count)
    assert compute("b200", "mxfp4", None) == pytest.approx(compute("b200", "nvfp4", None),
                                                           rel=0.01)
    # no FP4 path on H100: nvfp4 computes at BF16 like int4, factor unused
    assert compute("h100-sxm", "nvfp4", None) == pytest.approx(
        compute("h100-sxm", "int4", None), rel=0.02)
    # the critical batch moves with the factor
    assert roofline.critical_batch("b200", "llama-3.1-70b", "nvfp4") == pytest.approx(
        roofline.critical_batch("b200", "llama-3.1-70b", "nvfp4", 1) * f * e.mfu_decode
        / e.mbu, rel=1e-9)


MODELS = ["llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b", "deepseek-r1", "gemma-3-27b",
          "gpt-oss-120b", "qwen3-235b-a22b"]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(MODELS), st.integers(1, 256), st.integers(0, 100_000),
       st.integers(1, 50_000), st.sampled_from([None, 1.0, 0.5]))
def test_tokens_per_sec_never_rises_with_context(name, batch, ctx, extra, eff):
    slow, fast = roofline.decode_step_time("h200-sxm", name, batch, [ctx + extra, ctx], "fp8",
                                           "fp8", 8, eff)
    assert slow >= fast


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(MODELS), st.integers(1, 256), st.integers(0, 32_000),
       st.integers(1, 7))
def test_more_gpus_never_slower_under_pure_roofline(name, batch, ctx, n):
    t = roofline.decode_step_time("h100-sxm", name, batch, ctx, "bf16", "bf16", [n, n + 1], 1)
    assert t[1] <= t[0]
    p = roofline.prefill_time("h100-sxm", name, batch, ctx + 1, "bf16", "bf16", [n, n + 1], 1)
    assert p[1] <= p[0]


def test_calibrated_is_slower_than_roofline():
    args = ("h100-sxm", "llama-3.1-70b", [1, 8, 64, 256], 2048, "fp8", "fp8", 2)
    assert np.all(roofline.decode_step_time(*args) > roofline.decode_step_time(*args, 1))


def test_speed_functions_return_nan_where_nothing_fits():
    assert np.isnan(serving.tokens_per_sec("l4", "llama-3.1-70b"))
    assert np.isnan(serving.max_throughput("h100-sxm", "llama-3.1-405b"))
    out = serving.tokens_per_sec("h100-sxm", "llama-3.1-8b", [1, 10_000], 8192)
    assert out[0] > 0 and np.isnan(out[1])


def test_max_throughput_beats_batch_one_and_respects_the_cap():
    single = serving.tokens_per_sec("h100-sxm", "llama-3.1-8b", 1, 1536)
    loaded = serving.max_throughput("h100-sxm", "llama-3.1-8b", 1024, 1024)
    assert loaded > 20 * single
    conc = serving.concurrency_under_load("h100-sxm", "llama-3.1-8b", 128, 128)
    from xlnapkin.calibration import DEFAULTS
    assert conc == DEFAULTS.max_concurrency


def test_tensor_parallel_pays_all_reduce_when_calibrated():
    from xlnapkin.calibration import resolve
    eff = resolve(None)
    # Hand calculation: 2 all-reduces per layer x 80 layers, each a latency plus a ring's
    # 2 (n-1)/n of 64 rows x 8,192 x 2 bytes over half of NVLink's 900 GB/s.
    size = 64 * 8192 * 2
    expected = 2 * 80 * (eff.allreduce_latency_s + 2 * (2 - 1) / 2 * size / 450e9)
    comm = roofline.allreduce_time("h100-sxm", "llama-3.1-70b", 64, 2, eff)
    assert comm == pytest.approx(expected, rel=1e-12)
    assert roofline.allreduce_time("h100-sxm", "llama-3.1-70b", 64, 2, resolve(1.0)) == 0
    assert roofline.allreduce_time("h100-sxm", "llama-3.1-70b", 64, 1, eff) == 0


def _check_rings(g, m, tokens, eff, cases):
    """allreduce_time against a hand calculation, scalar and array: 2 all-reduces a layer, each
    a latency plus 2 (n-1)/n of the 16-bit activations over the link's one-way bandwidth."""
    for n, gbps, latency in cases:
        size = tokens * m.width * 2
        expected = 2 * m.layers * (latency + 2 * (n - 1) / n * size / (gbps * 1e9 / 2))
        assert roofline.allreduce_time(g, m, tokens, n, eff) == pytest.approx(expected, rel=1e-12)
        assert roofline.allreduce_time(g, m, tokens, np.array([n]), eff)[0] == pytest.approx(
            expected)


def test_a_pair_bridge_leaves_larger_replicas_on_pcie():
    # gpus.csv: the A100 PCIe's 600 GB/s is an NVLink bridge between two cards (NVIDIA A100
    # PCIe datasheet: "NVLink Bridge for up to 2 GPUs"); four or eight cards reduce over PCIe
    # Gen4 x16 (64 GB/s both ways), at the PCIe all-reduce latency.
    g = catalog.gpu("a100-pcie-80gb")
    assert (g.nvlink_gpus, g.pcie_gbps) == (2, 64)
    assert roofline.link_gbps(g, 2) == 600 and roofline.link_gbps(g, 4) == 64
    assert roofline.link_gbps(g, np.array([1, 2, 4, 8])).tolist() == [600, 600, 64, 64]
    from xlnapkin.calibration import resolve
    eff = resolve(None)
    m = catalog.model("llama-2-70b")
    _check_rings(g, m, 8, eff, ((2, 600, eff.allreduce_latency_s),
                                (4, 64, eff.pcie_allreduce_latency_s)))
    # the other bridged cards keep PCIe past their bridge (no network figure in their rows)
    for gid, n, inside, past in (("h100-pcie", 2, 600, 128), ("h100-nvl", 2, 600, 128),
                                 ("h200-nvl", 4, 900, 128), ("rtx-3090", 2, 112.5, 64)):
        card = catalog.gpu(gid)
        assert (card.nvlink_gpus, card.scaleout_gbps) == (n, None), gid
        assert roofline.link_gbps(card, n) == inside and roofline.link_gbps(card, 8) == past
    # a spec string can add a bridge: past it, the slower of PCIe and the network
    assert roofline.link_gbps(catalog.gpu("h100-sxm; nvlink_gpus=2; pcie_gbps=128"), 8) == 100
    assert roofline.link_gbps(
        catalog.gpu("h100-sxm; nvlink_gpus=2; pcie_gbps=128; scaleout_gbps=200"), 8) == 128


def test_an_hgx_board_leaves_larger_replicas_on_the_network():
    # gpus.csv: an HGX/DGX H100 board joins 8 GPUs with NVSwitch, and each GPU has one 400 Gb/s
    # ConnectX-7 NIC (NVIDIA DGX BasePOD reference architecture), 100 GB/s both ways. TP8 stays
    # on NVLink; TP16 spans two boards and its rings cross the network at the latency of an
    # all-reduce through the host or the network.
    g = catalog.gpu("h100-sxm")
    assert (g.nvlink_gpus, g.pcie_gbps, g.scaleout_gbps) == (8, None, 100)
    assert roofline.link_gbps(g, 8) == 900 and roofline.link_gbps(g, 16) == 100
    assert roofline.link_gbps(g, np.array([1, 8, 16, 32])).tolist() == [900, 900, 100, 100]
    from xlnapkin.calibration import resolve
    eff = resolve(None)
    m = catalog.model("llama-3.1-70b")
    _check_rings(g, m, 32, eff, ((8, 900, eff.allreduce_latency_s),
                                 (16, 100, eff.pcie_allreduce_latency_s)))
    # an 800 Gb/s NIC (B300: 200 GB/s) is as fast as a peer link, but the ring still leaves
    # the board: the network's latency, not NVLink's
    b300 = catalog.gpu("b300")
    assert roofline.link_gbps(b300, 16) == 200 >= roofline.PEER_LINK_GBPS
    size = 32 * m.width * 2
    expected = 2 * m.layers * (eff.pcie_allreduce_latency_s + 2 * 15 / 16 * size / 100e9)
    assert roofline.allreduce_time(b300, m, 32, 16, eff) == pytest.approx(expected, rel=1e-12)
    assert roofline.allreduce_time(b300, m, 32, np.array([16]), eff)[0] == pytest.approx(expected)
    # an NVL72 rack keeps 72 GPUs on NVLink
    gb200 = catalog.gpu("gb200")
    assert roofline.link_gbps(gb200, 72) == 1800 and roofline.link_gbps(gb200, 144) == 100


def test_a_spec_string_sets_the_network():
    g = catalog.gpu("h100-sxm; scaleout_gbps=50")
    assert g.scaleout_gbps == 50 and roofline.link_gbps(g, 16) == 50
    own = catalog.gpu("memory_gb=80; mem_bw_tbps=2; bf16_tflops=312; interconnect_gbps=600; "
                      "nvlink_gpus=4; scaleout_gbps=25")
    assert roofline.link_gbps(own, 4) == 600 and roofline.link_gbps(own, 8) == 25
    # past a domain with neither link known: the engine's 32 GB/s default for an unknown link
    bare = catalog.gpu("h100-sxm; scaleout_gbps=0")
    assert roofline.link_gbps(bare, 16) == 0 and roofline._one_way(0.0) == 16e9


def test_tp16_of_405b_on_h100_pays_the_network():
    # The review's case: Llama-3.1-405B fp8 weights and KV, batch 64 at 2,048 tokens of
    # context on H100 SXM. TP8 fits one HGX board; TP16 spans two, so each of the 2 x 126
    # all-reduces moves 2 (16-1)/16 of 64 rows x 16,384 x 2 bytes over one 400 Gb/s NIC per
    # GPU (50 GB/s each way), after a host/network latency.
    import dataclasses
    from xlnapkin.calibration import resolve
    g, m = catalog.gpu("h100-sxm"), catalog.model("llama-3.1-405b")
    eff = resolve(None, g)
    assert (m.layers, m.width) == (126, 16384)
    size = 64 * 16384 * 2
    hand = 2 * 126 * (eff.pcie_allreduce_latency_s + 2 * 15 / 16 * size / 50e9) * eff.comm
    assert roofline.allreduce_time(g, m, 64, 16, eff) == pytest.approx(hand, rel=1e-12)
    step16 = roofline.decode_step_time(g, m, 64, 2048, "fp8", "fp8", 16)
    silent = roofline._decode_step(g, m, 64, 2048, "fp8", "fp8", 16,
                                   dataclasses.replace(eff, comm=0.0))
    assert step16 - silent == pytest.approx(hand, rel=1e-9)  # the step carries all of it
    # so a replica of 16 steps no faster than one of 8 on a single board
    assert step16 > roofline.decode_step_time(g, m, 64, 2048, "fp8", "fp8", 8)


def test_mla_prefills_in_the_multi_head_form_and_decodes_absorbed():
    # vLLM's and SGLang's MLA backends run prompt attention as ordinary multi-head attention
    # (keys 128 + 64 rope = 192 wide, values 128, from DeepSeek-V3's config.json) and decode in
    # the absorbed form over the 512 + 64 latent: 2 x 128 heads x (192 + 128) FLOPs per pair
    # against 2 x 128 x (576 + 512).
    v3 = catalog.model("deepseek-v3")
    assert v3.prefill_attention_flops_per_pair == 2 * 128 * (192 + 128) == 81_920
    assert v3.attention_flops_per_pair == 2 * 128 * (576 + 512) == 278_528
    n = 32_768
    assert roofline.prefill_flops(v3, 1, n) == pytest.approx(
        2 * v3.active_params * n + 61 * 81_920 * n * (n + 1) / 2)
    # other attention prefills as it decodes
    llama = catalog.model("llama-3.1-70b")
    assert llama.prefill_attention_flops_per_pair == llama.attention_flops_per_pair == \
        2 * 64 * (128 + 128)


def test_sparse_attention_reads_and_attends_to_the_top_k_only():
    # DeepSeek-V3.2: each new token attends to at most index_topk = 2,048 cached tokens, after an
    # indexer (64 heads of 128) scores every one of them; DeepSeek-V3 attends to all.
    v32, v3 = catalog.model("deepseek-v3.2"), catalog.model("deepseek-v3")
    ctx = 32_000.0
    read = memory._kv_read_bytes(v32, ctx, 1, None)
    assert read == 61 * (576 * 2 * 2048 + 132 * ctx)
    assert memory._kv_read_bytes(v3, ctx, 1, None) == memory.kv_bytes(v3, ctx)
    pair = v32.attention_flops_per_pair
    assert pair == v3.attention_flops_per_pair
    index = 2 * 64 * 128
    assert roofline.decode_flops(v32, 1, ctx) == pytest.approx(
        2 * v32.active_params + 61 * (pair * 2048 + index * ctx))
    # a prompt of 4,096: queries past the 2,048th see 2,048 keys; the indexer scores them all
    n = 4096
    pairs = 2048 * 2049 / 2 + (n - 2048) * 2048
    assert roofline.prefill_flops(v32, 1, n) == pytest.approx(
        2 * v32.active_params * n + 61 * (pair * pairs + index * n * (n + 1) / 2))
    # below the top-k V3.2 attends to every earlier token as V3 does, but in the absorbed form
    # its sparse kernels run (V3 prefills in the multi-head form), plus the indexer's work
    causal = 61 * 1000 * 1001 / 2
    assert roofline.prefill_flops(v32, 1, 1000) - roofline.prefill_flops(v3, 1, 1000) == \
        pytest.approx(2 * v32.active_params * 1000 - 2 * v3.active_params * 1000
                      + (pair - v3.prefill_attention_flops_per_pair) * causal
                      + 61 * index * 1000 * 1001 / 2)
    # at long context the sparse model decodes faster than the dense-attention one
    slow = roofline.decode_step_time("h200-sxm", v3, 32, 128_000, num_gpus=8)
    fast = roofline.decode_step_time("h200-sxm", v32, 32, 128_000, num_gpus=8)
    assert fast < 0.6 * slow


def test_the_moe_fixed_time_counts_the_layers_with_experts():
    # An engine review: it was charged on every layer. DeepSeek-V3's config puts routed experts
    # in 58 of 61 layers (first_k_dense_replace 3), Llama-4-Maverick's in every second of 48
    # (interleave_moe_layer_step 2), Nemotron-3-Super's in its 40 'E' blocks of 88.
    from xlnapkin.calibration import DEFAULTS as d
    from xlnapkin.roofline import _overhead
    for name, moe in (("deepseek-v3", 58), ("llama-4-maverick", 24),
                      ("nemotron-3-super-120b", 40), ("qwen3-235b-a22b", 94),
                      ("mixtral-8x7b", 32), ("llama-3.1-8b", 0)):
        m = catalog.model(name)
        assert m.n_moe_layers == moe, name
        assert _overhead(m, d) == pytest.approx(d.step_overhead_s + d.layer_overhead_s * m.layers
                                                + d.moe_layer_overhead_s * moe), name


def test_a_hybrid_block_all_reduces_once():
    # An engine review: Nemotron-3-Super's 88 blocks each end in one row-parallel projection
    # (a Mamba-2 mixer, an MoE or an attention layer), so tensor parallelism all-reduces 88
    # times a forward pass, where a transformer layer's attention and MLP make 2.
    from xlnapkin.calibration import DEFAULTS as d
    nemo, llama = catalog.model("nemotron-3-super-120b"), catalog.model("llama-3.1-70b")
    assert (nemo.n_allreduces, llama.n_allreduces) == (88, 160)
    g = catalog.gpu("h100-sxm")
    one = roofline._one_way(900.0)
    per = d.allreduce_latency_s + 2 * (2 - 1) / 2 * 8 * nemo.width * 2 / one
    assert roofline.allreduce_time(g, nemo, 8, 2, d) == pytest.approx(88 * per)


def test_gguf_splits_layers_so_more_gpus_add_memory_not_speed():
    # llama.cpp spreads GGUF weights over GPUs by layers: a token visits one GPU at a time
    one = udfs.TOKENS_PER_SEC("rtx-4090", "llama-3.1-8b", 1, 512, "q4_k_m", None, 1)
    assert udfs.TOKENS_PER_SEC("rtx-4090", "llama-3.1-8b", 1, 512, "q4_k_m", None, 2) == one
    assert udfs.TTFT_MS("rtx-4090", "llama-3.1-8b", 1, 512, "q4_k_m", None, 2) == \
        udfs.TTFT_MS("rtx-4090", "llama-3.1-8b", 1, 512, "q4_k_m", None, 1)
    # 70B in q4_k_m needs two 24 GB cards; llama.cpp decodes 19.06 tokens/s on two RTX 4090s
    # and 16.29 on two RTX 3090s (github.com/XiongjieDai/GPU-Benchmarks-on-LLM-Inference,
    # README); tensor parallelism would have said 26.3 and 25.1
    assert udfs.GPUS_NEEDED("rtx-4090", "llama-3-70b", "q4_k_m") == 2
    for gpu, measured in (("rtx-4090", 19.06), ("rtx-3090", 16.29)):
        got = udfs.TOKENS_PER_SEC(gpu, "llama-3-70b", 1, 512, "q4_k_m", None, 2)
        assert abs(got / measured - 1) < 0.15, (gpu, got)
    # tensor-parallel formats still gain
    assert udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-70b", 1, 512, "fp8", None, 2) > \
        udfs.TOKENS_PER_SEC("h100-sxm", "llama-3.1-70b", 1, 512, "fp8", None, 1)


def test_a_cache_kept_whole_on_one_gpu_is_read_by_that_gpu():
    # A platform audit: a lone 128k-token DeepSeek-V3 request on 8 H200s read its 9.2 GB of
    # latent cache at eight GPUs' pace. Where the memory functions keep each sequence's cache
    # whole on one GPU (MLA; more GPUs than KV heads), the busiest GPU reads at least one.
    eff = calibration.resolve(None, "h200-sxm")
    kv = memory.kv_bytes("deepseek-v3", 131072, 1, None)   # one sequence's cache, bf16
    bw = catalog.gpu("h200-sxm").bandwidth * eff.mbu        # one GPU's read rate
    one = roofline.decode_step_time("h200-sxm", "deepseek-v3", 1, 131072, None, None, 8)
    short = roofline.decode_step_time("h200-sxm", "deepseek-v3", 1, 1, None, None, 8)
    assert one - short == pytest.approx(kv / bw, rel=0.01)  # one GPU's read, not an eighth
    # from one sequence a GPU up, the same as spreading every cache: 16 on 8 read two each
    assert roofline._kv_batch(catalog.model("deepseek-v3"), 16.0, 8) == 16.0
    assert roofline._kv_batch(catalog.model("deepseek-v3"), 0.5, 8) == 4.0  # a mean below one
    # tensor parallelism that splits the KV heads reads every cache at all GPUs' pace; past the
    # 8 KV heads, 16 GPUs keep the cache in 2 groups of 8 (kv_copies), each reading its own
    assert roofline._kv_batch(catalog.model("llama-3.1-70b"), 1.0, 8) == 1.0
    assert list(roofline._kv_batch(catalog.model("llama-3.1-70b"), 1.0, np.array([8, 16]))) == [
        1.0, 2.0]
    assert memory.kv_copies("llama-3.1-70b", 16) == 2.0
    # a hybrid's recurrent state is split, not kept whole: only the attention cache is floored
    mm = catalog.model("nemotron-3-super-120b")  # 2 KV heads: 4 GPUs keep 2 groups
    assert mm.state_bytes_per_seq > 0 and mm.kv_heads == 2
    cache = memory._kv_read_bytes(mm, 32768, 1, "fp8") - 2 * mm.state_bytes_per_seq
    assert roofline._kv_read(mm, 32768, 1.0, "fp8", 4) == pytest.approx(
        memory._kv_read_bytes(mm, 32768, 1, "fp8") + cache)  # one more sequence's cache
