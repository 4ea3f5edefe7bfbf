"""Weights and KV cache: seed figures, golden values and invariants."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from xlnapkin import catalog, memory, serving


def test_seed_004_405b_weights_and_gpus():
    # seed_cases.md, seed 004: 811.7 GB in FP16 (article: 810 GB from "405 B"); 11 x 80 GB.
    assert memory.weight_bytes("llama-3.1-405b", "fp16") == pytest.approx(811.7e9)
    assert memory.gpus_needed("h100-sxm", "llama-3.1-405b", "fp16", 0, 0, "bf16", 1) == 11


def test_seed_004_405b_kv_per_token_with_gqa():
    # seed 004: 516,096 bytes (126 layers x 8 KV heads x 128 x 2 x 2), not the article's 8 MB.
    assert memory.kv_bytes("llama-3.1-405b") == 516_096


def test_seed_001_kv_and_users_at_200k():
    # seed 001: 26.2 GB per user at 200 K tokens in FP8; 6 users fit on a 192 GB B200.
    assert memory.kv_bytes("qwen2.5-32b", 200_000, 1, "fp8") / 1e9 == pytest.approx(26.2, rel=5e-3)
    assert memory.max_batch("b200; memory_gb=192", "qwen2.5-32b", 200_000, "fp8", "fp8", 1, 1) == 6


def test_seed_002_quantisation_halves_and_quarters_weights():
    bf16 = memory.weight_bytes("llama-3.1-70b", "bf16")
    assert memory.weight_bytes("llama-3.1-70b", "int8") == bf16 / 2
    assert memory.weight_bytes("llama-3.1-70b", 4) == bf16 / 4


def test_int4_counts_group_scales_and_16_bit_embeddings():
    # AWQ/GPTQ at group 128: 4 bits + a 16-bit scale and a 4-bit zero per 128 weights; the
    # embedding table and output head (128,256 x 4,096 each, untied) stay 16-bit
    bits = 4 + 20 / 128
    embed = 2 * 128_256 * 4096
    params = catalog.model("llama-3.1-8b").total_params
    assert memory.weight_bytes("llama-3.1-8b", "int4") == pytest.approx(
        (params - embed) * bits / 8 + embed * 2, rel=1e-12)
    assert memory.weight_bytes("llama-3.1-8b", "AWQ") == memory.weight_bytes("llama-3.1-8b",
                                                                              "int4")
    # Gemma ties its head to the embedding table: one table at 16 bits
    gemma = catalog.model("gemma-3-27b")
    one = 262_208 * 5376
    assert gemma.embedding_params == one
    assert memory.weight_bytes(gemma, "gptq") == pytest.approx(
        (gemma.total_params - one) * bits / 8 + one * 2, rel=1e-12)
    # no vocabulary: every parameter at the int4 size
    assert memory.weight_bytes("llama-3.1-8b; vocab_size=0", "int4") == params * bits / 8
    # every 4-bit checkpoint format keeps them at 16 bits, so NVFP4 is not below int4;
    # 8-bit formats and a number of bits count every parameter at the dtype
    for name, b in (("nvfp4", 4.5), ("mxfp4", 4.25), ("fp4", 4.0)):
        assert memory.weight_bytes("llama-3.1-8b", name) == pytest.approx(
            (params - embed) * b / 8 + embed * 2, rel=1e-12)
    assert memory.weight_bytes("llama-3.1-8b", "nvfp4") > memory.weight_bytes(
        "llama-3.1-8b", "int4")
    # an NVFP4 checkpoint of Llama-3.1-8B: its two files hold 4.98 + 1.05 GB
    # (huggingface.co/weiweiz1/llama3.1-8b-nvfp, files)
    assert memory.weight_bytes("llama-3.1-8b", "nvfp4") / 1e9 == pytest.approx(6.03, abs=0.01)
    assert memory.weight_bytes("llama-3.1-8b", "fp8") == params
    assert memory.weight_bytes("llama-3.1-8b", 4.5) == params * 4.5 / 8
    # what fits: 70B int4 on two 24 GB cards holds two 4K-token sequences, not five
    assert memory.max_batch("rtx-4090", "llama-3.1-70b", 4096, "int4", None, 2) == 2


def test_block_formats_count_their_scales():
    params = catalog.model("llama-3.1-8b").total_params
    no_vocab = "llama-3.1-8b; vocab_size=0"  # the 16-bit embeddings apart (test below)
    assert memory.weight_bytes(no_vocab, "nvfp4") == params * 4.5 / 8
    assert memory.weight_bytes(no_vocab, "mxfp4") == params * 4.25 / 8
    assert memory.weight_bytes("llama-3.1-8b", "q4_k_m") == params * 4.84 / 8
    # llama-quantize --help: "IQ4_XS : 4.25 bpw"; the quantize README's Llama 2 7B table: Q2_K 3.35
    assert memory.weight_bytes("llama-3.1-8b", "IQ4_XS") == params * 4.25 / 8
    assert memory.weight_bytes("llama-3.1-8b", "q2_k") == params * 3.35 / 8
    # i-quants are GGUF: llama.cpp's slots and its split by layers
    assert serving.engine_cap("rtx-3090", "llama-3.1-70b", "iq4_xs", 3) == 4
    assert memory.tp_degrees("llama-3.1-70b", 3, "iq3_xxs") == [1, 2, 3]
    assert memory.weight_bytes("llama-3.1-8b", 3.5) == params * 3.5 / 8


def test_mla_caches_the_latent():
    # DeepSeek-V3: 61 layers x (512 + 64) x 2 bytes = 70,272 B/token (shared model_configs.csv).
    assert memory.kv_bytes("deepseek-v3") == 70_272


def test_sparse_attention_indexer_keys_are_cached_at_8_bit():
    # DeepSeek-V3.2 (config.json: index_head_dim 128, index_n_heads 64, index_topk 2048): the MLA
    # latent plus one index key per token and layer, 128 fp8 values and a 4-byte fp32 scale per
    # 128 (vLLM's DeepseekV32IndexerCache: head_dim + head_dim // 128 * 4 = 132 bytes), which
    # stays 8-bit whatever the KV dtype.
    assert memory.kv_bytes("deepseek-v3.2") == 61 * (576 * 2 + 132) == 78_324
    # In 8 bits the latent cache is FlashMLA's sparse layout (vLLM's fp8_ds_mla, 656 bytes a
    # token and layer: 512 fp8 values, 4 fp32 scales, the 64 RoPE values in bf16), not 576
    # (an engine-math audit); V3's dense MLA cache in fp8 is 576, RoPE included.
    assert memory.kv_bytes("deepseek-v3.2", 1000, 2, "fp8") == 2 * 1000 * 61 * (
        512 + 4 * 4 + 64 * 2 + 132)
    assert memory.kv_bytes("deepseek-v3", 1000, 2, "fp8") == 2 * 1000 * 61 * 576
    # ... and a decode step reads that layout: the 2,048 tokens the indexer picks, in every
    # layer, and the index keys of the whole context (a mutation audit: the read kept 576)
    v32 = catalog.model("deepseek-v3.2")
    assert memory._kv_read_bytes(v32, 10_000.0, 1.0, "fp8") == 61 * (656 * 2048 + 132 * 10_000)
    assert memory.kv_bytes("deepseek-v3.2; index_head_dim=") == memory.kv_bytes("deepseek-v3")


def test_sliding_window_layers_stop_growing():
    m = catalog.model("gemma-2-27b")  # 23 of 46 layers keep at most 4,096 tokens
    per_token_layer = 16 * 128 * 2 * 2
    short, long = memory.kv_bytes(m, 4096), memory.kv_bytes(m, 100_000)
    assert short == 46 * 4096 * per_token_layer
    assert long == (23 * 100_000 + 23 * 4096) * per_token_layer


def test_hybrid_counts_only_attention_layers():
    # Nemotron-3-Super: 8 attention layers x 2 KV heads x 128 x 2 x 2 bytes = 8,192 B/token,
    # besides the Mamba layers' state, the same for every sequence (test_catalog.py)
    one, two = (memory.kv_bytes("nemotron-3-super-120b", t) for t in (1000, 1001))
    assert two - one == 8192 and one == 1000 * 8192 + 170_229_760


def test_a_hybrids_decode_step_reads_and_writes_back_its_state():
    # Nemotron-3-Super at 32,768 tokens, fp8 cache: 8 attention layers x 2 KV heads x 128 x 2
    # x 1 byte = 4,096 B a token, plus the 170,229,760-byte recurrent state (models.csv) read
    # and written back by every step; the memory held counts the state once
    m = catalog.model("nemotron-3-super-120b")
    assert memory._kv_read_bytes(m, 32768, 1, "fp8") == 32768 * 4096 + 2 * 170_229_760
    assert memory.kv_bytes(m, 32768, 1, "fp8") == 32768 * 4096 + 170_229_760


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(["llama-3.1-70b", "qwen2.5-7b", "deepseek-r1", "mixtral-8x7b"]),
       st.integers(0, 10**6), st.integers(0, 10**6), st.integers(1, 512))
def test_kv_is_linear_in_tokens_and_batch(name, t1, t2, batch):
    one = memory.kv_bytes(name, 1)
    assert memory.kv_bytes(name, t1 + t2, batch) == pytest.approx(one * (t1 + t2) * batch)
    assert memory.kv_bytes(name, t1, batch) + memory.kv_bytes(name, t2, batch) == pytest.approx(
        memory.kv_bytes(name, t1 + t2, batch))


@settings(max_examples=50, deadline=None)
@given(st.sampled_from([m for m in catalog.model_ids()]), st.integers(1, 4096))
def test_moe_never_reads_more_than_all_experts(name, tokens):
    read = memory.moe_weight_bytes_read(name, "bf16", tokens)
    assert read <= memory.weight_bytes(name, "bf16") * (1 + 1e-12)
    assert read >= memory.moe_weight_bytes_read(name, "bf16", max(tokens - 1, 1)) - 1e-3


def test_expected_experts_closed_form():
    # N(1 - ((N-k)/N)^B): one token touches exactly k experts; many tokens touch nearly all N.
    assert memory.expected_experts(256, 8, 1) == pytest.approx(8)
    assert memory.expected_experts(256, 8, 10_000) == pytest.approx(256)
    assert memory.expected_experts(8, 2, 2) == pytest.approx(8 * (1 - (6 / 8) ** 2))


def test_max_batch_is_zero_when_weights_do_not_fit():
    assert memory.max_batch("l4", "llama-3.1-70b") == 0
    assert memory.max_batch("h100-sxm", "llama-3.1-8b", [1024, 8192]).tolist() == [
        int((72e9 - 16.06e9) / (131072 * 1024)), int((72e9 - 16.06e9) / (131072 * 8192))]


def test_fit_message_names_the_fix():
    # 11 GPUs hold 405B's weights, but its 128 heads (8 KV heads) split over 8 or 16.
    assert memory.fit_message("h100-sxm", "llama-3.1-405b", mem_fraction=1) == (
        "llama-3.1-405b needs 811.7 GB in bf16; 1 x h100-sxm has 80 GB: use num_gpus 16 "
        "(11 would hold it, but its heads do not split over 11)")
    # 239 GPUs would hold this KV cache; 8B's 32 heads split over 32 GPUs at most.
    assert memory.fit_message("h100-sxm", "llama-3.1-8b", None, None, 131072, 1000).endswith(
        ": hold fewer sequences or tokens (239 GPUs would hold it, but its heads split over at most 32)")
    # Weights that no count of these GPUs can split: a bigger GPU, not a smaller batch.
    tiny = "memory_gb=0.5; mem_bw_tbps=1; bf16_tflops=10; interconnect_gbps=100"
    assert memory.fit_message(tiny, "llama-3.1-8b").endswith(
        ": use GPUs with more memory or a smaller weight dtype (36 GPUs would hold it, but its "
        "heads split over at most 32)")
    # The same advice element by element over a range.
    many = memory.fit_message("h100-sxm", "llama-3.1-8b", None, None, [131072, 1024], 1000)
    assert many[0].endswith("at most 32)") and many[1].endswith(
        ": use num_gpus 4 (3 would hold it, but its heads do not split over 3)")
    msg = memory.fit_message("h100-sxm", "llama-3.1-70b", "fp8", "fp8", 4096, 64, 1, 0.9)
    assert msg == ("llama-3.1-70b needs 113.5 GB in fp8 with KV for 64 x 4096 tokens; "
                   "1 x h100-sxm has 80 GB (90% usable): use num_gpus >= 2")
    assert np.all(memory.fits("h100-sxm", "llama-3.1-8b", tokens=[0, 10**7]) == [True, False])


def test_a_gguf_replica_keeps_one_kv_cache_split_by_layers():
    # llama.cpp's layer split keeps each layer's cache on its own GPU: no tensor-parallel copies
    assert memory.kv_copies("deepseek-v3", 8) == 8.0
    assert memory.kv_copies("deepseek-v3", 8, "q4_k_m") == 1.0
    assert memory.kv_layout_note("deepseek-v3", 8, "q4_k_m") == ""
    assert memory.kv_layout_note("deepseek-v3", 8, "fp8").startswith("deepseek-v3's KV cache")


def test_a_gguf_replica_splits_by_layers_over_any_count_up_to_its_layers():
    # llama.cpp assigns whole layers to each GPU (its default --split-mode layer), so three
    # RTX 3090s hold Llama-3.1-70B in q4_k_m, which tensor parallelism cannot split 64 heads over
    from xlnapkin import serving
    assert memory.tp_degrees("llama-3.1-70b", 8) == [1, 2, 4, 8]
    assert memory.tp_degrees("llama-3.1-70b", 8, "q4_k_m") == list(range(1, 9))
    assert memory.tp_degrees("llama-3.1-70b", None, "q4_k_m") == list(range(1, 81))  # 80 layers
    assert memory.can_run("rtx-3090", "llama-3.1-70b", "q4_k_m", None, 4096, 1, 3)
    assert not memory.can_run("rtx-3090", "llama-3.1-70b", "int4", None, 4096, 1, 3)
    assert np.all(memory.can_run("rtx-3090", "llama-3.1-70b", "q4_k_m", None, 4096, 1,
                                 [3, 80, 81]) == [True, True, False])
    assert memory.max_batch("rtx-3090", "llama-3.1-70b", 4096, "q4_k_m", None, 3) >= 1
    assert np.isnan(memory.max_batch("rtx-3090", "llama-3.1-70b", 4096, "int4", None, 3))
    # the advice names the fewest GPUs that hold it, not the next count the heads split over
    assert memory.fit_message("rtx-3090", "llama-3.1-70b", "q4_k_m", None, 4096, 1, 2).endswith(
        ": use num_gpus >= 3")
    assert memory.fit_message("rtx-3090", "llama-3.1-70b", "bf16", None, 4096, 1, 1).endswith(
        ": use num_gpus 8 (7 would hold it, but its heads do not split over 7)")
    assert memory.why_not("rtx-3090", "llama-3.1-70b", "q4_k_m", None, 4096, 1, 81) == (
        "llama-3.1-70b's 80 layers cannot be split over 81 GPUs: use num_gpus 3 to 80")
    tiny = "memory_gb=0.1; mem_bw_tbps=1; bf16_tflops=10; interconnect_gbps=100"
    assert memory.fit_message(tiny, "llama-3.1-8b", "q4_k_m").endswith(
        "(54 GPUs would hold it, but its layers split over at most 32)")
    # three GPUs decode at one GPU's speed (the layers run in turn) where they hold it
    three = serving.tokens_per_sec("rtx-3090", "llama-3.1-70b", 1, 4096, "q4_k_m", None, 3)
    four = serving.tokens_per_sec("rtx-3090", "llama-3.1-70b", 1, 4096, "q4_k_m", None, 4)
    assert np.isfinite(three) and three == pytest.approx(four)


def test_why_not_says_nothing_stops_what_runs_and_takes_lists():
    # a CLI audit: the memory's "use num_gpus >= 1" read as a failure for what fits; a review:
    # a Python list of GPU counts raised TypeError, and "fits" was said where heads do not split
    why_not, fit_message = memory.why_not, memory.fit_message
    assert why_not("h100-sxm", "llama-3.1-8b", num_gpus=[1, 2, 3]).tolist() == [
        "nothing: llama-3.1-8b runs on 1 x h100-sxm, within the 90% of its memory it may use",
        "nothing: llama-3.1-8b runs on 2 x h100-sxm, within the 90% of its memory it may use",
        "llama-3.1-8b's 32 attention heads cannot be split over 3 GPUs: use num_gpus 1, 2, 4, "
        "8, 16 or 32"]
    assert why_not("apple-m1-max", "llama-2-7b", num_gpus=8).startswith(
        "apple-m1-max has no interconnect_gbps")
    # a review: the -1 that marked "no KV" met negative inputs; each element reads as its own
    grid = fit_message("h100-sxm", "llama-3.1-8b", None, None, [-8192, 0], [-64, 1])
    assert grid.tolist() == [fit_message("h100-sxm", "llama-3.1-8b", None, None, -8192, -64),
                             fit_message("h100-sxm", "llama-3.1-8b", None, None, 0, 1)]
    with pytest.raises(memory.InvalidArgumentError, match="mem_fraction"):
        why_not("h100-sxm", "llama-3.1-8b", mem_fraction=1.5)
    # None passed for a number says so, not "got NaN" as NumPy reads it (an SLA review)
    with pytest.raises(memory.InvalidArgumentError, match=r"^mem_fraction must be a number in "
                       r"\(0, 1\], got None \(give a number, or leave an optional "
                       r"argument out for its default\)$"):
        why_not("h100-sxm", "llama-3.1-8b", mem_fraction=None)
    assert fit_message("h100-sxm", "llama-3.1-8b", num_gpus=[1, 2])[1].startswith(
        "llama-3.1-8b needs 16.1 GB in bf16; 2 x h100-sxm")
