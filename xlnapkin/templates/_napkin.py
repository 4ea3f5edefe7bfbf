"""The napkin-math model as spreadsheet formula templates, step by step.

Each step is the spreadsheet twin of one line of the engine (``memory``, ``roofline``,
``serving``); its ``engine`` field names the engine function the tests compare it with. Formula
templates use ``{name}`` for other steps and inputs; a layout replaces each name with a defined
name (vertical blocks) or a cell of the same row (the capacity planner's GPU table).

Names the templates expect as inputs:

* GPU fields (catalog columns, blank read as 0): ``g_memory_gb, g_mem_bw_tbps, g_bf16_tflops,
  g_fp16_tflops, g_fp8_tflops, g_fp4_tflops, g_int8_tops, g_interconnect_gbps,
  g_nvlink_gpus, g_pcie_gbps, g_scaleout_gbps, g_max_concurrency, g_scheduler_steps,
  g_vendor_factor`` (the GPU's own ``efficiency_factor``, else its vendor's);
* model fields: ``m_params_b, m_active_params_b, m_layers, m_hidden_size, m_heads, m_kv_heads,
  m_head_dim, m_v_head_dim, m_num_experts, m_experts_per_token, m_kv_lora_rank,
  m_qk_rope_head_dim, m_attention_layers, m_sliding_window, m_sliding_window_layers,
  m_index_heads, m_index_head_dim, m_index_topk, m_max_context, m_state_bytes_per_seq,
  m_moe_layers, m_tp_allreduces, m_vocab_size, m_tied_embeddings``;
* workload: ``input_tokens, output_tokens, weight_dtype, kv_dtype, num_gpus, mem_fraction,
  efficiency`` and the calibrated constants ``cal_<name>`` for every constant of
  :func:`xlnapkin.calibration.constants` (generated, so a new constant reaches the templates).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import calibration, catalog
from ..memory import NO_LINK_ADVICE
from ..roofline import ACTIVATION_BYTES, PEER_LINK_GBPS, UNKNOWN_LINK_GBPS
from ..units import FP4_FORMATS, SIXTEEN_BIT_EMBEDDINGS

# the bytes one token's activations send per all-reduce: the model width in 16-bit
_ACTIVATIONS = f"{{model_width}}*{ACTIVATION_BYTES:g}"


@dataclass(frozen=True)
class Step:
    name: str
    label: str
    formula: str
    unit: str = ""
    fmt: str = "num"
    engine: str = ""      # engine function this equals, for the tests and the reader


def _windowed(tokens: str) -> str:
    """Sum over attention layers of tokens held (sliding-window layers hold at most window)."""
    return (f"(({{n_attn_layers}}-{{n_window_layers}})*{tokens}"
            f"+{{n_window_layers}}*MIN({tokens},{{m_sliding_window}}))")


def _attended(tokens: str) -> str:
    """Sum over attention layers of tokens one new token attends to (at most index_topk where a
    sparse-attention indexer picks them)."""
    return _windowed(f"IF({{m_index_topk}}>0,MIN({tokens},{{m_index_topk}}),{tokens})")


def _index_keys(tokens: str) -> str:
    """Bytes of a sparse-attention indexer's key cache for tokens of context (0 without one)."""
    return f"{{index_bytes_per_layer_token}}*{{n_attn_layers}}*{tokens}"


def _capped_pairs(tokens: str, cap: str) -> str:
    """Causal (query, key) pairs of tokens tokens, each query seeing at most cap keys."""
    return (f"IF({tokens}<={cap},{tokens}*({tokens}+1)/2,{cap}*({cap}+1)/2"
            f"+({tokens}-{cap})*{cap})")


def kv_cache(tokens: str) -> str:
    """One sequence's cache at ``tokens`` of context: KV in the layers that hold it, the
    indexer's keys and a hybrid model's recurrent state (``memory.kv_bytes`` for batch 1)."""
    return ("{kv_bytes_per_layer_token}*" + _windowed(tokens) + "+" + _index_keys(tokens)
            + "+{m_state_bytes_per_seq}")


# The GPUs-per-replica input's note: a GGUF replica runs llama.cpp's server slots, split by layers
GGUF_NOTE = (f"GGUF (q4_k_m ...): llama.cpp's "
             f"{calibration.DEFAULTS.gguf_max_concurrency:.0f} slots; GPUs add memory, not speed")


def dtype_bits(which: str) -> str:
    return (f"IF(ISNUMBER({{{which}}}),{{{which}}},"
            f"INDEX(dtype_bits,MATCH({{{which}}},dtype_names,0)))")


MODEL_FIELDS = ["params_b", "active_params_b", "layers", "hidden_size", "heads", "kv_heads",
                "head_dim", "v_head_dim", "num_experts", "experts_per_token", "kv_lora_rank",
                "qk_rope_head_dim", "attention_layers", "sliding_window",
                "sliding_window_layers", "index_heads", "index_head_dim", "index_topk",
                "max_context", "state_bytes_per_seq", "moe_layers", "tp_allreduces",
                "vocab_size", "tied_embeddings"]
GPU_FIELDS = ["memory_gb", "mem_bw_tbps", "bf16_tflops", "fp16_tflops", "fp8_tflops",
              "fp4_tflops", "int8_tops", "interconnect_gbps", "nvlink_gpus", "pcie_gbps",
              "scaleout_gbps", "max_concurrency", "scheduler_steps"]
# Calibration constants a GPU's catalog row can change: the utilisations (its efficiency factor),
# the engine's batch limit (its own max_concurrency), the serving stack's fixed time per
# request (its own prefill_overhead_ms) and its decode steps per scheduling decision (its own
# scheduler_steps).
_PER_GPU = {"max_concurrency", "prefill_overhead_s", "scheduler_steps"}


def _sixteen_bit_embeddings() -> str:
    """Whether the weight dtype is a 4-bit checkpoint format that keeps its embeddings and head
    at 16 bits (:data:`xlnapkin.units.SIXTEEN_BIT_EMBEDDINGS`; a number of bits is not)."""
    names = ",".join(f'{{weight_dtype}}="{n}"' for n in sorted(SIXTEEN_BIT_EMBEDDINGS))
    return f"AND(NOT(ISNUMBER({{weight_dtype}})),OR({names}))"


def model_steps() -> list[Step]:
    """Steps that depend on the model and the workload only (not on the GPU)."""
    return _cache_steps() + _weight_steps()


def _cache_steps() -> list[Step]:
    """Element sizes, the KV cache and attention (:func:`model_steps`, first part)."""
    return [
        Step("w_bits", "Bits per weight element", dtype_bits("weight_dtype"), "bits", "num",
             "units.dtype_bits"),
        Step("kv_bits", "Bits per KV-cache element", dtype_bits("kv_dtype"), "bits", "num",
             "units.dtype_bits"),
        Step("total_params", "Parameters (all experts)", "{m_params_b}*1E+9", "params", "sci"),
        Step("active_params", "Active parameters per token",
             "IF({m_active_params_b}>0,{m_active_params_b},{m_params_b})*1E+9", "params", "sci"),
        Step("n_heads", "Query heads", "IF({m_heads}>0,{m_heads},{m_kv_heads})", "heads", "int"),
        Step("model_width", "Hidden size",
             "IF({m_hidden_size}>0,{m_hidden_size},{n_heads}*{m_head_dim})", "elements", "int"),
        Step("kv_elements", "KV elements per token per layer (K+V, or MLA latent)",
             "IF({m_kv_lora_rank}>0,{m_kv_lora_rank}+{m_qk_rope_head_dim},{m_kv_heads}*"
             "({m_head_dim}+IF({m_v_head_dim}>0,{m_v_head_dim},{m_head_dim})))", "elements",
             "int", "memory.kv_elements_per_token"),
        Step("n_attn_layers", "Attention layers",
             "IF({m_attention_layers}>0,{m_attention_layers},{m_layers})", "layers", "int"),
        Step("n_allreduces", "All-reduces per forward pass under TP (2 a layer)",
             "IF({m_tp_allreduces}>0,{m_tp_allreduces},2*{m_layers})", "", "int",
             "catalog.Model.n_allreduces"),
        Step("n_window_layers", "Sliding-window layers",
             "IF({m_sliding_window}>0,MIN({m_sliding_window_layers},{n_attn_layers}),0)",
             "layers", "int"),
        # a sparse-attention MLA cache in 8 bits keeps its RoPE part in 16 bits and a scale
        # per 128
        Step("kv_bytes_per_layer_token", "KV bytes per token per attention layer",
             "IF(AND({m_index_topk}>0,{m_kv_lora_rank}>0,{kv_bits}=8),{m_kv_lora_rank}+4*INT("
             "{m_kv_lora_rank}/128)+2*{m_qk_rope_head_dim},{kv_elements}*{kv_bits}/8)", "bytes",
             "num", "catalog.Model.kv_bytes_per_layer_token"),
        Step("index_bytes_per_layer_token", "Sparse-attention index key per token per layer",
             "IF({m_index_head_dim}>0,{m_index_head_dim}+4*INT({m_index_head_dim}/128),0)",
             "bytes", "num", "catalog.Model.index_bytes_per_token"),
        Step("seq_tokens", "Tokens a request holds at the end (input + output)",
             "{input_tokens}+{output_tokens}", "tokens", "int"),
        Step("kv_bytes_per_seq", "KV cache of one finished request (and recurrent state)",
             kv_cache("{seq_tokens}"), "bytes", "sci",
             "memory.kv_bytes(model, input+output, 1, kv_dtype)"),
        Step("mean_context", "Mean context while decoding (input + output/2)",
             "{input_tokens}+{output_tokens}/2", "tokens", "num"),
        Step("attn_tokens_ctx", "Attended tokens over layers at that context",
             _attended("{mean_context}"), "token-layers", "sci"),
        Step("kv_bytes_ctx", "KV (and state) read per sequence per decode step",
             "{kv_bytes_per_layer_token}*{attn_tokens_ctx}+" + _index_keys("{mean_context}")
             + "+2*{m_state_bytes_per_seq}",
             "bytes", "sci", "memory._kv_read_bytes(model, mean_context, 1, kv_dtype)"),
        Step("attn_flops_pair", "Attention FLOPs per (query, key) pair, all heads",
             "2*{n_heads}*IF({m_kv_lora_rank}>0,2*{m_kv_lora_rank}+{m_qk_rope_head_dim},"
             "{m_head_dim}+IF({m_v_head_dim}>0,{m_v_head_dim},{m_head_dim}))", "FLOP", "int",
             "roofline.attention_flops_per_pair"),
        Step("prefill_attn_flops_pair", "The same in a prefill (MLA in multi-head form)",
             "IF(AND({m_kv_lora_rank}>0,NOT({m_index_topk}>0)),2*{n_heads}*({m_head_dim}+"
             "IF({m_v_head_dim}>0,{m_v_head_dim},{m_head_dim})),{attn_flops_pair})", "FLOP",
             "int", "catalog.Model.prefill_attention_flops_per_pair"),
        Step("index_flops_ctx", "Sparse-attention indexer FLOPs per decode token", "2*{m_index_heads}*{m_index_head_dim}*{n_attn_layers}"
             "*{mean_context}", "FLOP", "sci"),
    ]


def _weight_steps() -> list[Step]:
    """Weights, experts and the prefill's FLOPs (:func:`model_steps`, second part)."""
    return [
        Step("is_moe", "Mixture of experts? (1 = yes)",
             "IF(AND({m_num_experts}>0,{m_experts_per_token}>0,"
             "{m_num_experts}>{m_experts_per_token}),1,0)", "", "int"),
        Step("expert_params", "Parameters of one routed expert (all layers)",
             "IF({is_moe}=1,({total_params}-{active_params})/"
             "({m_num_experts}-{m_experts_per_token}),0)", "params", "sci"),
        Step("routed_params", "Routed-expert parameters one token runs through",
             "IF({is_moe}=1,{m_experts_per_token}*{expert_params},0)", "params", "sci",
             "catalog.Model.routed_params"),
        Step("experts_only", "Checkpoint format on the experts only? (gpt-oss in mxfp4)",
             "AND({is_moe}=1,NOT(ISNUMBER({weight_dtype})),INDEX(model_native_dtype_scope,"
             "{model_row})=\"experts\",{weight_dtype}=INDEX(model_native_dtype,{model_row}))",
             "", "bool"),
        Step("all_expert_params", "Routed experts, all of them",
             "IF({is_moe}=1,MIN({m_num_experts}*{expert_params},{total_params}),0)", "params",
             "sci"),
        Step("embedding_params", "Embedding table and output head (one if tied)",
             "MIN({m_vocab_size}*{model_width}*IF({m_tied_embeddings}=1,1,2),{total_params})",
             "params", "sci", "catalog.Model.embedding_params"),
        Step("weight_bytes", "Weights: params x bits/8 (4-bit embeddings, gpt-oss rest: 16)",
             "IF({experts_only},{all_expert_params}*{w_bits}/8+({total_params}-"
             "{all_expert_params})*2,IF(" + _sixteen_bit_embeddings() + ",({total_params}-"
             "{embedding_params})*{w_bits}/8+{embedding_params}*2,{total_params}*{w_bits}/8))",
             "bytes", "sci", "memory.weight_bytes"),
        Step("shared_params", "Parameters always read (dense part)",
             "IF({is_moe}=1,{total_params}-{m_num_experts}*{expert_params},{total_params})",
             "params", "sci"),
        Step("topk_cap", "Keys a query attends to at most (index_topk)",
             "IF({m_index_topk}>0,{m_index_topk},{input_tokens})", "tokens", "int"),
        Step("prompt_pairs", "Causal (query, key) pairs of one prompt, over layers",
             "({n_attn_layers}-{n_window_layers})*" + _capped_pairs("{input_tokens}", "{topk_cap}")
             + "+{n_window_layers}*" + _capped_pairs(
                 "{input_tokens}", "MIN({m_sliding_window},{topk_cap})"), "pairs", "sci"),
        Step("prefill_linear_flops", "Prefill FLOPs of one prompt: weight matmuls",
             "2*{active_params}*{input_tokens}", "FLOP", "sci"),
        Step("prefill_attn_flops", "Prefill FLOPs of one prompt: attention and indexer", "{prefill_attn_flops_pair}*{prompt_pairs}+2*{m_index_heads}"
             "*{m_index_head_dim}*{n_attn_layers}*{input_tokens}*({input_tokens}+1)/2", "FLOP",
             "sci"),
        Step("prefill_flops", "Prefill FLOPs of one prompt",
             "{prefill_linear_flops}+{prefill_attn_flops}", "FLOP", "sci",
             "roofline.prefill_flops(model, 1, input_tokens)"),
    ]


def efficiency_steps(per_gpu: bool | None = None) -> list[Step]:
    """The calibration constants as used (``calibration.resolve``), one step per constant of
    :func:`xlnapkin.calibration.constants`, named like the constant: blank ``efficiency`` uses
    the calibrated input ``cal_<name>`` (utilisations times the GPU's vendor factor, at most
    1); a number e gives the roofline value (e for utilisations, 0 for overheads and
    communication; engine limits stay). Then the fixed time per forward pass.

    ``per_gpu``: True for the steps that depend on the GPU (the vendor factor, the GPU's own
    engine cap and fixed time per request), False for the rest, None for all."""
    cal = "N({efficiency})=0"
    steps = []
    for c in calibration.constants():
        x = "{cal_" + c.name + "}"
        if c.roofline == calibration.SCALES:
            formula = f"IF({cal},MIN({x}*{{g_vendor_factor}},1),{{efficiency}})"
        elif c.name in ("max_concurrency", "scheduler_steps"):  # the GPU's own where valid
            g = "{g_" + c.name + "}"
            most = catalog.field_bounds("gpu", c.name)[1]
            formula = f"IF(AND({g}>=1,{g}<={most:g},{g}=INT({g})),{g},{x})"
        elif c.name == "prefill_overhead_s":  # the GPU's own where its row has one
            formula = f"IF({cal},{{g_prefill_overhead_s}},{c.roofline})"
        elif c.roofline == calibration.KEPT:
            formula = x
        else:
            formula = f"IF({cal},{x},{c.roofline})"
        steps.append(Step(c.name, f"{c.label}, as used", formula, c.unit,
                          "pct" if c.unit == "0-1" else ("sci" if c.unit == "s" else "int"),
                          f"calibration.resolve(...).{c.name}"))
    steps.append(Step("step_overhead", "Fixed time per forward pass (step + layers, more for "
                      "MoE)", "{step_overhead_s}+{layer_overhead_s}*{m_layers}+"
                      "{moe_layer_overhead_s}*IF({is_moe}=1,IF({m_moe_layers}>0,{m_moe_layers},"
                      "{m_layers}),0)", "s", "sci", "roofline._overhead(model, efficiency)"))
    if per_gpu is None:
        return steps
    vendor = {c.name for c in calibration.constants() if c.roofline == calibration.SCALES}
    return [s for s in steps if (s.name in vendor | _PER_GPU) == per_gpu]


def _link_steps() -> list[Step]:
    """The link a replica's all-reduces cross and their latency (:func:`gpu_steps`): past a
    peer-link domain of ``nvlink_gpus``, the slower of the known PCIe and network links."""
    return [
        Step("past_domain", "More GPUs than one peer-link domain joins (nvlink_gpus)?",
             "AND({g_nvlink_gpus}>0,{num_gpus}>{g_nvlink_gpus})", "", "bool",
             "roofline._past_domain"),
        Step("link_gbps", "Link the all-reduces cross (past a domain: PCIe/network)",
             "IF({past_domain},IF(AND({g_pcie_gbps}>0,{g_scaleout_gbps}>0),MIN({g_pcie_gbps},"
             "{g_scaleout_gbps}),MAX({g_pcie_gbps},{g_scaleout_gbps})),{g_interconnect_gbps})",
             "GB/s", "num", "roofline.link_gbps"),
        Step("ar_latency", "Latency of one all-reduce (a peer link, or host/network)",
             f"IF(AND({{link_gbps}}>={PEER_LINK_GBPS:g},NOT({{past_domain}})),"
             "{allreduce_latency_s},{pcie_allreduce_latency_s})", "s", "sci",
             "roofline.allreduce_time"),
    ]


def gpu_steps() -> list[Step]:
    """Whether the replica can run, memory fit, concurrency under load, one decode step and the
    throughput under load (``serving.max_throughput``)."""
    return [
        Step("gguf_path", "GGUF weights? (llama.cpp's q4_k_m etc.: x gguf_mfu_factor)",
             "AND(NOT(ISNUMBER({weight_dtype})),OR(LEFT({weight_dtype},1)=\"q\","
             "LEFT({weight_dtype},2)=\"iq\"))", "", "bool",
             "units.is_gguf(weight_dtype)"),
        Step("peak_16bit_tflops", "Dense 16-bit peak (fp16, GGUF: FP16 accumulate where faster)",
             "IF(OR({weight_dtype}=\"fp16\",{gguf_path}),MAX({g_bf16_tflops},{g_fp16_tflops}),"
             "{g_bf16_tflops})", "TFLOP/s", "num",
             "roofline.peak_flops(gpu, 'fp16' or 'bf16') / 1e12"),
        Step("fp4_path", "Weights on a native 4-bit float path? (fp4/nvfp4/mxfp4 on an FP4 GPU)",
             "AND(OR(" + ",".join(f'{{weight_dtype}}="{f}"' for f in FP4_FORMATS) + "),"
             "{g_fp4_tflops}>0)", "", "bool", "units.compute_dtype(...) == 'fp4'"),
        Step("peak_tflops", "Dense peak for the weight dtype (native fp8/int8/fp4, else 16-bit)",
             "IF(AND({weight_dtype}=\"fp8\",{g_fp8_tflops}>0),{g_fp8_tflops},"
             "IF(AND({weight_dtype}=\"int8\",{g_int8_tops}>0),{g_int8_tops},"
             "IF({fp4_path},{g_fp4_tflops},{peak_16bit_tflops})))", "TFLOP/s", "num",
             "roofline.peak_flops(gpu, weight_dtype) / 1e12"),
        Step("par_gpus", "GPUs a forward pass runs on at once (GGUF: 1, split by layers)",
             "IF({gguf_path},1,{num_gpus})", "GPUs", "int", "roofline.parallel_gpus"),
        Step("linear_peak_tflops", "Rate the weight matmuls are counted at (x the FP4 or GGUF "
             "factor)",
             "{peak_tflops}*IF({fp4_path},{fp4_mfu_factor},IF({gguf_path},"
             "{gguf_mfu_factor},1))",
             "TFLOP/s", "num", "roofline._linear_peak(gpu, weight_dtype, ...) / 1e12"),
        Step("attn_peak_tflops", "Dense peak for attention (QK^T, AV): the 16-bit rate",
             "{peak_16bit_tflops}", "TFLOP/s", "num",
             "roofline.attention_peak(gpu, weight_dtype) / 1e12"),
        Step("linear_flops_row", "Matmul FLOPs per token at dense MFU (routed: x "
             "1/moe_mfu_factor)", "2*({active_params}-{routed_params}+{routed_params}"
             "/{moe_mfu_factor})", "FLOP", "sci", "roofline._matmul_time"),
        Step("heads_split", "Model splits over the GPUs? (heads even; GGUF: layers >= GPUs)",
             f'IF({{gguf_path}},{{num_gpus}}<={{m_layers}},{heads_split("{num_gpus}")})', "",
             "bool", "memory.tp_degrees"),
        Step("context_ok", "Input + output within the model's maximum context?",
             "OR({m_max_context}=0,{seq_tokens}<={m_max_context})", "", "bool"),
        Step("link_ok", "One GPU, or a known GPU-to-GPU link?",
             "OR({num_gpus}<=1,{g_interconnect_gbps}>0)", "", "bool"),
        *_link_steps(),
        Step("runs", "Can this replica run the model? (all three)",
             "AND({heads_split},{context_ok},{link_ok})", "", "bool", "memory.can_run"),
        Step("usable_memory", "Usable memory of the replica (GPUs x memory x fraction)",
             "{num_gpus}*{g_memory_gb}*1E+9*{mem_fraction}", "bytes", "sci"),
        Step("free_memory", "Left for the KV cache after the weights",
             "{usable_memory}-{weight_bytes}", "bytes", "sci"),
        Step("max_batch_fit", "Requests whose KV cache fits (rounded down, >= 0)",
             "IF({heads_split},IF({link_ok},MAX(INT({free_memory}/{kv_bytes_per_seq}*"
             "(1+1E-12)),0),\"no GPU link\"),\"heads do not split\")", "requests", "int",
             "memory.max_batch(gpu, model, input+output, ...)"),
        Step("min_gpus", "Fewest GPUs that hold the weights + one request",
             "ROUNDUP(({weight_bytes}+{kv_bytes_per_seq})/({g_memory_gb}*1E+9*{mem_fraction})"
             "*(1-1E-12),0)", "GPUs", "int",
             "memory.gpus_needed(gpu, model, wd, input+output, ...)"),
        Step("split_gpus", "... and the fewest of those it splits over (0: none)",
             f"IF({{gguf_path}},IF({{min_gpus}}<={{m_layers}},{{min_gpus}},0),"
             f"IF({{min_gpus}}<=ROWS({SPLIT_TABLE}),INDEX({SPLIT_TABLE},{{min_gpus}}),0))", "GPUs",
             "int", "memory.tp_degrees"),
        Step("most_split", "Most GPUs it splits over (query heads; GGUF: layers)",
             "IF({gguf_path},{m_layers},{n_heads})", "GPUs", "int", "memory.tp_degrees"),
        Step("fit_advice", "What makes one request fit (the functions' advice)", _FIT_ADVICE,
             "", "text", "memory.fit_message"),
        *_load_steps(),
    ]


def prompt_pass(prompts: str) -> str:
    """``serving.prompt_pass_time``: a forward pass's fixed time for each step that carries a
    prompt, ``1 - exp(-prompts)`` of the steps when ``prompts`` join a step on average."""
    return f"(1-EXP(-{prompts}))*{{step_overhead}}"


def _load_steps() -> list[Step]:
    """:func:`gpu_steps`' replica under saturating load: the engine's cap, the concurrency, one
    loaded step and the throughput (``serving.max_throughput``)."""
    return [
        Step("engine_cap", "Engine's cap on requests (GGUF: llama.cpp's slots)",
             "IF({gguf_path},IF(AND({g_max_concurrency}>=1,{g_max_concurrency}="
             "INT({g_max_concurrency})),{g_max_concurrency},{gguf_max_concurrency}),"
             "{max_concurrency}*{num_gpus})",
             "requests", "int", "serving.engine_cap"),
        Step("concurrency", "Concurrent requests (KV fit, at most the cap; 0 if it "
             "cannot run)", "IF({runs},MIN({max_batch_fit},{engine_cap}),0)", "requests", "int",
             "serving.concurrency_under_load"),
        Step("batch_load", "Batch per decode step (at least 1)", "MAX({concurrency},1)",
             "sequences", "int"),
        *decode_steps("batch_load", "mean_context", "kv_bytes_ctx", "attn_tokens_ctx", ""),
        Step("prompts_per_step", "New prompts per step (batch / output tokens)",
             "{batch_load}/{output_tokens}", "prompts", "num"),
        Step("t_prefill_prompt", "Prefill of one prompt: compute + its all-reduce traffic",
             "({linear_flops_row}*{input_tokens}/({linear_peak_tflops}*1E+12)+{prefill_attn_flops}/"
             "({attn_peak_tflops}*1E+12))/({par_gpus}*{mfu_prefill})"
             "+IF({par_gpus}>1,{n_allreduces}*2*({par_gpus}-1)/{par_gpus}*{input_tokens}*"
             + _ACTIVATIONS + "/{link_bw}*{comm},0)", "s", "sci", "serving.prompt_work"),
        Step("t_prefill_share", "Prefill time carried per decode step",
             "{prompts_per_step}*{t_prefill_prompt}", "s", "sci"),
        Step("t_prompt_pass", "Fixed time per step for the steps that carry a prompt",
             prompt_pass("{prompts_per_step}"), "s", "sci", "serving.prompt_pass_time"),
        Step("replica_output_tokens_per_sec", "Output tokens/s of one replica under load",
             "IF({concurrency}>=1,{batch_load}/({t_step}+{t_prefill_share}+{t_prompt_pass}),"
             "\"does not fit\")",
             "tokens/s", "num", "serving.max_throughput"),
    ]


# The fewest GPUs from k up that the model's heads split over, for k = 1, 2, ... (a column that
# :func:`add_split_table` writes; 0 past the last count).
SPLIT_TABLE = "split_from"

# Why a replica cannot run (memory.why_not's rules), as the workbooks word them.
HEADS = "cannot run: the model's attention heads (GGUF: layers) do not split over num_gpus"
# ... and the count to use: the next that the heads split over (GGUF: the layers, at most)
# (nested, not AND: a spreadsheet's AND computes every argument, and INDEX past the table is an
# error; a review found #VALUE! through the verdict where 187 GPUs would hold the model)
NEXT_SPLIT = (f'IF({{gguf_path}},"; at most "&TEXT({{m_layers}},"0"),IF({{num_gpus}}<=ROWS('
              f'{SPLIT_TABLE}),IF(INDEX({SPLIT_TABLE},{{num_gpus}})>0,"; use '
              f'num_gpus "&TEXT(INDEX({SPLIT_TABLE},{{num_gpus}}),"0"),""),""))')
# ... on this GPU: one where it has no link to another (the heads are why only where one GPU
# holds it), else the next count from the fewest that hold it (a review: "use num_gpus 4" on a
# Mac, and on a T4 that 70B needs 8 of)
_MOST = 'MAX({num_gpus},{min_gpus})'
GPU_NEXT_SPLIT = (f'IF(NOT({{link_ok}}),"; use num_gpus 1",IF({{gguf_path}},"; at most "&TEXT('
                  f'{{m_layers}},"0"),IF({_MOST}<=ROWS({SPLIT_TABLE}),IF(INDEX({SPLIT_TABLE},'
                  f'{_MOST})>0,"; use num_gpus "&TEXT(INDEX({SPLIT_TABLE},{_MOST}),"0"),""),"")))')
CONTEXT = "cannot run: input + output tokens exceed the model's maximum context"
LINK = "cannot run: this GPU has no known GPU-to-GPU link, so num_gpus must be 1"


def cannot_run(otherwise: str) -> str:
    """Why the replica cannot run, in memory.why_not's order (the heads, unless the link or the
    context is why no GPU count runs it), else ``otherwise`` (a formula)."""
    return ('IF(AND(NOT({heads_split}),{context_ok},OR({link_ok},{min_gpus}<=1)),"' + HEADS
            + '"&' + GPU_NEXT_SPLIT + ',IF(NOT({link_ok}),"' + LINK + '",IF(NOT({context_ok}),"'
            + CONTEXT + '",' + otherwise + ')))')


def model_cannot_run(otherwise: str) -> str:
    """:func:`cannot_run` for any GPU: the heads and the context, which the GPU does not change
    (the link does), else ``otherwise`` (a formula)."""
    return ('IF(NOT({heads_split}),"' + HEADS + '"&' + NEXT_SPLIT + ',IF(NOT({context_ok}),"'
            + CONTEXT + '",' + otherwise + '))')

# memory.fit_message's advice for one request (its _advice): the fewest GPUs that hold it where
# the heads split over them, else the next count they split over, else (no count: the most is
# one GPU per query head, or per layer for GGUF) fewer tokens or bigger GPUs; on GPUs with no
# known link between them, where one does not hold it, no count either.
_FIT_ADVICE = (
    'IF({min_gpus}>=1E+6,IF({weight_bytes}<=IF({g_interconnect_gbps}>0,{most_split},1)*'
    '{g_memory_gb}*1E+9*{mem_fraction},"hold fewer sequences or tokens","use GPUs with more '
    'memory or a smaller weight dtype"),IF(AND({min_gpus}>1,NOT('
    '{g_interconnect_gbps}>0)),IF({weight_bytes}<={g_memory_gb}*1E+9*{mem_fraction},"hold fewer '
    'sequences or tokens","use GPUs with more memory or a smaller weight dtype")&" ("&TEXT('
    f'{{min_gpus}},"0")&" would hold it, but {NO_LINK_ADVICE})",IF({{split_gpus}}={{min_gpus}},'
    '"use num_gpus >= "&TEXT({min_gpus},"0"),IF({split_gpus}>0,"use num_gpus "&'
    'TEXT({split_gpus},"0")&" ("&TEXT({min_gpus},"0")&" would hold it, but its heads do not '
    'split over "&TEXT({min_gpus},"0")&")",IF({weight_bytes}<={most_split}*{g_memory_gb}*1E+9*'
    '{mem_fraction},"hold fewer sequences or tokens","use GPUs with more memory or a smaller '
    'weight dtype")&" ("&TEXT({min_gpus},"0")&" GPUs would hold it, but its "&'
    'IF({gguf_path},"layers","heads")&" split over at most "&TEXT({most_split},"0")&")"))))')


def heads_split(n: str) -> str:
    """Whether the model's heads split over ``n`` GPUs (a formula), as
    :func:`xlnapkin.memory.tp_degrees` rules: the query heads divide, and the KV heads divide or
    are replicated evenly (MLA's shared latent has none to split)."""
    return (f"AND(MOD({{n_heads}},{n})=0,IF({{m_kv_lora_rank}}>0,TRUE,IF({n}<={{m_kv_heads}},"
            f"MOD({{m_kv_heads}},{n})=0,MOD({n},{{m_kv_heads}})=0)))")


def add_split_table(block, col: int = 7, row: int = 3) -> None:
    """Beside a block holding the model's steps: for k = 1 up to the most query heads of a
    catalog model, whether the heads split over k GPUs (:func:`xlnapkin.memory.tp_degrees`'s
    rule, as the ``heads_split`` step) and the fewest GPUs from k up that they split over, named
    :data:`SPLIT_TABLE` (``split_gpus`` reads it)."""
    from openpyxl.utils import get_column_letter as letter
    from .. import catalog
    from . import _style as st
    ws, most = block.ws, max(catalog.model(i).n_heads for i in catalog.model_ids())
    st.put_text(ws.cell(row, col), "GPU counts the heads split over", st.HEAD_FONT)
    heads = ("GPUs", "Heads split?", "Fewest from here that split (0: none)")
    for j, text in enumerate(heads):
        st.put_text(ws.cell(row + 1, col + j), text, st.COLHEAD_FONT)
        ws.cell(row + 1, col + j).fill, ws.cell(row + 1, col + j).alignment = \
            st.COLHEAD_FILL, st.WRAP
    first = row + 2
    for k in range(1, most + 1):
        r = first + k - 1
        g, split, nxt = (ws.cell(r, col + j) for j in range(3))
        g.value = k
        split.value = block.formula(heads_split(str(k)))
        below = f"{letter(col + 2)}{r + 1}" if k < most else "0"
        nxt.value = f"=IF({letter(col + 1)}{r},{k},{below})"
        for cell, fmt in ((g, "int"), (split, "bool"), (nxt, "int")):
            st.style_cell(cell, fmt, st.FORMULA_FONT)
    st.define(block.wb, SPLIT_TABLE, ws.title,
              st.column_range(col + 2, first, first + most - 1))


def weights_read(tokens: str) -> str:
    """Weight bytes one forward pass over ``tokens`` token rows reads (a formula): all of a dense
    model; an MoE model's shared part plus the routed experts the tokens touch. The chance an
    expert is missed, ((E - k) / E) ^ tokens, is taken as EXP(tokens x LN(...)) floored at
    e^-700: spreadsheets give #NUM! where the power underflows (Mixtral over a 4,096-token
    prompt)."""
    return (f"IF({{is_moe}}=1,({{shared_params}}+{{m_num_experts}}*(1-EXP(MAX({tokens}*LN(("
            f"{{m_num_experts}}-{{m_experts_per_token}})/{{m_num_experts}}),-700)))"
            "*{expert_params})*{w_bits}/8,{total_params}*{w_bits}/8)")


def decode_steps(batch: str, context: str, kv_seq: str, attn_tokens: str, sfx: str) -> list[Step]:
    """One decode step (``roofline.decode_step_time``) for ``batch`` sequences at ``context``."""
    b = "{" + batch + "}"
    return [
        Step("bandwidth" + sfx, "Effective bandwidth (GPUs x bandwidth x MBU)",
             "{g_mem_bw_tbps}*1E+12*{par_gpus}*{mbu}", "bytes/s", "sci"),
        Step("decode_linear_flops" + sfx, "Decode FLOPs: weight matmuls (batch x 2 x active)",
             f"{b}*2*{{active_params}}", "FLOP", "sci"),
        Step("decode_attn_flops" + sfx, "Decode FLOPs: attention over the context",
             f"{b}*({{attn_flops_pair}}*{{{attn_tokens}}}+{{index_flops_ctx}})", "FLOP", "sci"),
        Step("decode_flops" + sfx, "Decode FLOPs", f"{{decode_linear_flops{sfx}}}"
             f"+{{decode_attn_flops{sfx}}}", "FLOP", "sci", "roofline.decode_flops"),
        Step("t_compute" + sfx, "Compute time: weight matmuls at their rate, attention at "
             "the 16-bit rate",
             f"({b}*{{linear_flops_row}}/({{linear_peak_tflops}}*1E+12)"
             f"+{{decode_attn_flops{sfx}}}/({{attn_peak_tflops}}*1E+12))/({{par_gpus}}"
             "*{mfu_decode})", "s", "sci"),
        Step("weights_read" + sfx, "Weight bytes read (MoE: experts the batch touches)",
             weights_read(b), "bytes", "sci", "memory.moe_weight_bytes_read"),
        Step("t_weights" + sfx, "Weight-read time", f"{{weights_read{sfx}}}/{{bandwidth{sfx}}}",
             "s", "sci"),
        Step("t_kv" + sfx, "KV-cache read time (caches kept whole: a sequence a group at least)",
             f"({b}*{{{kv_seq}}}+({kv_batch(b)}-{b})*({{{kv_seq}}}-2*{{m_state_bytes_per_seq}}))"
             f"/{{bandwidth{sfx}}}", "s", "sci", "roofline._kv_read"),
        Step("link_bw" + sfx, "One-way link bandwidth (PCIe Gen3 x16 if unknown)",
             f"IF({{link_gbps}}>0,{{link_gbps}}*1E+9/2,{UNKNOWN_LINK_GBPS / 2:g}E+9)",
             "bytes/s", "sci"),
        Step("t_allreduce" + sfx, "Tensor-parallel all-reduces (2 per layer)",
             f"IF({{par_gpus}}>1,{{n_allreduces}}*({{ar_latency}}+2*({{par_gpus}}-1)/"
             f"{{par_gpus}}*{b}*{_ACTIVATIONS}/{{link_bw{sfx}}})*{{comm}},0)", "s", "sci",
             "roofline.allreduce_time"),
        Step("t_step" + sfx, "Decode step = max(compute, weights) + KV + all-reduce + overhead",
             f"MAX({{t_compute{sfx}}},{{t_weights{sfx}}})+{{t_kv{sfx}}}+{{t_allreduce{sfx}}}"
             "+{step_overhead}", "s", "sci", "roofline.decode_step_time"),
    ]


# --- vertical layout helpers ---------------------------------------------------------------------

def add_steps(block, steps, kind="calc") -> None:
    """Write steps as rows of a :class:`~xlnapkin.templates._style.Block`; the note column
    names the engine function each one equals."""
    for s in steps:
        note = f"= {s.engine}" if s.engine else ""  # the sheet says: xlnapkin's
        block.add(s.name, s.label, s.formula, s.unit, note, s.fmt, kind)


def add_gpu_lookup(block, gpu_name="gpu", yours=None) -> None:
    """GPU catalog fields for the catalog id in ``gpu_name`` (blank fields read 0). ``yours``:
    ``(condition, {step name: formula})``, a GPU of your own that the fields read where the
    condition holds (its row is then 1, unused)."""
    when, own = yours or ("FALSE", {})

    def either(name, formula):
        return f"IF({when},{own[name]},{formula})" if name in own else formula

    block.add("gpu_row", "Row of the GPU in the Catalog",
              f"IF({when},1,MATCH({{{gpu_name}}},gpu_ids,0))" if yours else
              f"MATCH({{{gpu_name}}},gpu_ids,0)", "", "unused where the GPU is yours" if yours
              else "", "int")
    for f in GPU_FIELDS:
        block.add(f"g_{f}", gpu_field_label(f), either(f"g_{f}", f"N(INDEX(gpu_{f},{{gpu_row}}))"),
                  _unit(f), "", gpu_field_fmt(f))
    block.add("g_vendor_factor", "Efficiency factor: the GPU's own, else its vendor's",
              either("g_vendor_factor", vendor_factor("{gpu_row}")), "",
              "calibration.vendor_factor(gpu)", "num")
    block.add("g_prefill_overhead_s", PREFILL_OVERHEAD_LABEL,
              either("g_prefill_overhead_s", gpu_prefill_overhead("{gpu_row}")), "s",
              "calibration.resolve(None, gpu).prefill_overhead_s", "sci")


PREFILL_OVERHEAD_LABEL = "Fixed time per request: the GPU's own, else calibrated"


def gpu_prefill_overhead(row: str) -> str:
    """The GPU's own ``prefill_overhead_ms`` in seconds where the Catalog has a valid one (in
    the range a catalog file accepts, ``catalog.field_bounds``), else the calibrated
    ``prefill_overhead_s`` (``calibration.resolve``), for the GPU in Catalog row ``row`` (a
    formula)."""
    own = f"INDEX(gpu_prefill_overhead_ms,{row})"
    least, most, _ = catalog.field_bounds("gpu", "prefill_overhead_ms")
    return (f"IF(ISNUMBER({own}),IF(AND({own}>={least:g},{own}<={most:g}),{own}/1000,"
            f"{{cal_prefill_overhead_s}}),{{cal_prefill_overhead_s}})")


def vendor_factor(row: str) -> str:
    """The GPU's ``efficiency_factor`` where the Catalog has one, else its vendor's factor, else
    1 (``calibration.vendor_factor``) for the GPU in Catalog row ``row`` (a formula)."""
    return (f"IF(ISNUMBER(INDEX(gpu_efficiency_factor,{row})),INDEX(gpu_efficiency_factor,{row}),"
            f"IFERROR(INDEX(vendor_factor_values,MATCH(INDEX(gpu_vendor,{row}),vendor_names,0)),"
            "1))")


def add_model_lookup(block, model_name="model") -> None:
    block.add("model_row", "Row of the model in the Catalog",
              f"MATCH({{{model_name}}},model_ids,0)", "", "", "int")
    for f in MODEL_FIELDS:
        block.add(f"m_{f}", f"Model {f}", f"N(INDEX(model_{f},{{model_row}}))", _unit(f), "",
                  "num" if f.endswith("_b") else "int")


def gpu_field_label(field: str, short: bool = False) -> str:
    """A GPU catalog field's label in the workings (``short``: a table header)."""
    if field == "max_concurrency":
        return ("own engine cap (0: calibrated)" if short else
                "GPU's own engine cap, per GPU (GGUF: per replica; 0 = calibrated)")
    if field == "scheduler_steps":
        return ("own decode steps per decision (0: one)" if short else
                "GPU's own decode steps per scheduling decision (0 = one)")
    if field == "nvlink_gpus":
        return ("GPUs a peer-link domain joins (0: all)" if short else
                "GPU nvlink_gpus: GPUs one peer-link domain joins (0 = all)")
    if field == "pcie_gbps":
        return ("PCIe GB/s past the bridge" if short else
                "GPU pcie_gbps: PCIe link past the bridge")
    if field == "scaleout_gbps":
        return ("network GB/s past the domain" if short else
                "GPU scaleout_gbps: network per GPU between domains")
    if field in ("fp16_tflops", "fp8_tflops", "fp4_tflops", "int8_tops") and not short:
        # a blank in the catalog reads 0 here: no such path (an audit: "fp4_tflops 0.00" read as
        # a GPU that computes nothing); catalog.Gpu._peaks falls back so
        return f"GPU {field} (0 = none: the {'bf16' if field == 'fp16_tflops' else '16-bit'} rate)"
    return field.replace("_", " ") if short else f"GPU {field}"


def gpu_field_fmt(field: str) -> str:
    return "int" if catalog.field_bounds("gpu", field)[2] else "num"  # a count: whole


def _unit(field: str) -> str:
    if field == "max_concurrency":
        return "requests"
    if field == "nvlink_gpus":
        return "GPUs"
    if field == "scheduler_steps":
        return "steps"
    for suffix, unit in (("_gb", "GB"), ("_tbps", "TB/s"), ("_tflops", "TFLOP/s"),
                         ("_tops", "TOP/s"), ("_gbps", "GB/s"), ("_b", "billion")):
        if field.endswith(suffix):
            return unit
    return ""


# --- latency under load (xlnapkin.queueing) ------------------------------------------------------

def queue_steps(percentile: bool = True) -> list[Step]:
    """Constants of the latency-under-load model (``xlnapkin.queueing``), after
    :func:`gpu_steps`: the decode step's terms per sequence (:func:`step_at` puts them together
    for any batch), the prefill of one prompt alone (``TTFT_MS`` at batch 1), the slot queue's
    line through the step at half and all of the slots, and (``percentile``: for a
    :func:`queue_row` at ``{sla_percentile}``) the percentile's z."""
    z = [Step("sla_z", "z of the percentile (normal)", "NORMSINV({sla_percentile})", "", "num3")]
    return [
        Step("q_n_max", "Most requests the replica runs at once (at least 1)",
             "MAX({concurrency},1)", "requests", "int", "queueing._Replica.n_max"),
        Step("q_context", "Mean context a loaded step decodes (input + output: lengths vary)",
             "{input_tokens}+{output_tokens}", "tokens", "num", "queueing.batch_context"),
        Step("q_attn_tokens", "Attended tokens over layers at that context",
             _attended("{q_context}"), "token-layers", "sci"),
        Step("q_compute_per_seq", "Decode compute per sequence in a step",
             _compute_per_seq("{q_attn_tokens}", "2*{m_index_heads}*{m_index_head_dim}*"
                              "{n_attn_layers}*{q_context}"), "s", "sci"),
        Step("q_kv_per_seq", "KV-cache read per sequence in a step",
             "({kv_bytes_per_layer_token}*{q_attn_tokens}+" + _index_keys("{q_context}")
             + "+2*{m_state_bytes_per_seq})/{bandwidth}", "s", "sci"),
        Step("q_ar_fixed", "All-reduce latency per step (2 per layer)", _AR_FIXED, "s", "sci"),
        Step("q_ar_per_seq", "All-reduce traffic per sequence in a step", _AR_PER_SEQ, "s",
             "sci"),
        Step("pf_compute", "A prompt alone: prefill compute",
             "({linear_flops_row}*{input_tokens}/({linear_peak_tflops}*1E+12)+{prefill_attn_flops}/"
             "({attn_peak_tflops}*1E+12))/({par_gpus}*{mfu_prefill})", "s", "sci"),
        Step("pf_weights", "A prompt alone: weight reads (GGUF, calibrated: a 16-bit copy)",
             weights_read("{input_tokens}") + "*IF(AND({gguf_path},{gguf_mfu_factor}<1),"
             "16/{w_bits},1)/{bandwidth}", "s", "sci"),
        Step("pf_kv", "A prompt alone: KV-cache writes",
             "(" + kv_cache("{input_tokens}") + ")/{bandwidth}", "s",
             "sci"),
        Step("pf_allreduce", "A prompt alone: all-reduces",
             "IF({par_gpus}>1,{n_allreduces}*({ar_latency}+2*({par_gpus}-1)/{par_gpus}*"
             "{input_tokens}*" + _ACTIVATIONS + "/{link_bw})*{comm},0)", "s", "sci"),
        Step("ttft_alone", "Time to first token of a prompt alone (fixed costs included)",
             "MAX({pf_compute},{pf_weights})+{prefill_serial}*MIN({pf_compute},{pf_weights})"
             "+{pf_kv}+{pf_allreduce}+{step_overhead}"
             "+{prefill_overhead_s}", "s", "sci", "serving.ttft_ms(gpu, model, 1, input) / 1e3"),
        Step("prefill_chunks", "Step token budgets one prompt spans",
             "{input_tokens}/{token_budget}", "budgets", "num"),
    ] + (z + [Step("q_echo_steps", "Steps after the first token of a request of the median "
                                   "length", "IF({output_tokens}<=1,1,MAX(ROUNDUP(LN(0.5)/"
                                   "LN(1-1/{output_tokens})-1E-9,0),1))", "steps", "int"),
               Step("q_tpot_longest", "Longest TPOT: a step at N most with a full prompt "
                                      "budget", step_at("MAX({q_n_max},1)") + "+" + _FULL_BUDGET,
                    "s", "sci", "queueing._Replica.longest")]
         if percentile else []) + [
        Step("q_step_full", "Step with all slots taken (N = most at once)",
             step_at("MAX({q_n_max},1)") + "+{q_n_max}/{output_tokens}*{t_prefill_prompt}+"
             + prompt_pass("{q_n_max}/{output_tokens}"), "s", "sci", "serving.loaded_step"),
        Step("q_step_half", "Step with half the slots taken",
             step_at("MAX({q_n_max}/2,1)") + "+{q_n_max}/2/{output_tokens}*{t_prefill_prompt}+"
             + prompt_pass("{q_n_max}/2/{output_tokens}"), "s", "sci"),
        Step("q_step_per_seq", "Slot queue: step per sequence (the line through both)",
             "MAX(({q_step_full}-{q_step_half})/({q_n_max}/2),1E-12*{q_step_full})", "s", "sci"),
        Step("q_step_fixed", "Slot queue: step at no sequences (the line's intercept)",
             "MAX({q_step_full}-{q_step_per_seq}*{q_n_max},0)", "s", "sci"),
        Step("q_shape", "Slot queue: intercept / slope + 1", "{q_step_fixed}/{q_step_per_seq}+1",
             "", "num"),
        Step("q_capacity", "Requests/s completed with all slots taken",
             "{q_n_max}/({q_step_full}*{output_tokens})", "req/s", "num"),
        Step("q_log_ways", "Slot queue: ln of the chain's weight at all slots taken, less ln x^N",
             "GAMMALN({q_n_max}+{q_shape})-GAMMALN({q_shape})-GAMMALN({q_n_max}+1)", "", "num"),
    ]


def _compute_per_seq(attn_tokens: str, index_flops: str) -> str:
    """A decode step's compute per sequence (a term of ``t_step``) at the context whose attended
    tokens over layers and indexer FLOPs are given."""
    return (f"({{linear_flops_row}}/({{linear_peak_tflops}}*1E+12)+({{attn_flops_pair}}*"
            f"{attn_tokens}+{index_flops})/({{attn_peak_tflops}}*1E+12))/"
            f"({{par_gpus}}*{{mfu_decode}})")


# The all-reduce terms of a decode step, per step and per sequence (the same at any context).
_AR_FIXED = "IF({par_gpus}>1,{n_allreduces}*{ar_latency}*{comm},0)"
_AR_PER_SEQ = ("IF({par_gpus}>1,{n_allreduces}*2*({par_gpus}-1)/{par_gpus}*" + _ACTIVATIONS
               + "/{link_bw}*{comm},0)")
# Newton steps of the planner's speed solve, each branch from the larger of its two lower bounds
# (speed_steps). Over a grid of per-sequence times, pass times, output lengths 1-16,384 and
# limits from 1 % to 100 times a pass above the fixed time, the reads branch (MoE experts
# shares up to 0.97) is within 1e-10 of its root in at most 7 steps and the compute branch in
# at most 8 (the slowest: one output token, a limit just under the fixed time plus a pass).
# Where a pass is thousands of times a sequence's time and the limit sits at the fixed time
# plus one pass, 8 steps stay short of the root by up to about 1e-3 (a review): always fewer
# requests, never more.
READS_NEWTON_STEPS = 8
COMPUTE_NEWTON_STEPS = 8


def speed_model_steps() -> list[Step]:
    """The parts of :func:`speed_steps` that no GPU changes (the planner's Model sheet)."""
    return [
        Step("sp_limit", "Speed: the step a user's rate allows (1 / user tokens/s)",
             "1/{user_tokens_per_sec}", "s", "sci"),
        Step("sp_log_q", "Speed: ln P(a token skips a routed expert) (0: dense)",
             "IF({is_moe}=1,LN(({m_num_experts}-{m_experts_per_token})/{m_num_experts}),0)",
             "", "num3"),
        # the context a user's cache holds, as the memory is sized (a review: judged at the
        # request's 1,536 tokens where users held 8,192, 20 tokens/s promised gave 10.6)
        Step("sp_context", "Speed: mean context of a user's decode (held - out/2)",
             "MAX({context_tokens},{input_tokens}+{output_tokens})-{output_tokens}/2", "tokens",
             "num", "serving.concurrency_at_speed(context=)"),
        Step("sp_attn_tokens", "Speed: attended tokens over layers at that context",
             _attended("{sp_context}"), "token-layers", "sci"),
        Step("sp_kv_bytes", "Speed: KV (and state) read per sequence per decode step",
             "{kv_bytes_per_layer_token}*{sp_attn_tokens}+" + _index_keys("{sp_context}")
             + "+2*{m_state_bytes_per_seq}", "bytes", "sci"),
        Step("sp_index_flops", "Speed: sparse-attention indexer FLOPs per decode token",
             "2*{m_index_heads}*{m_index_head_dim}*{n_attn_layers}*{sp_context}", "FLOP", "sci"),
    ]


def speed_steps() -> list[Step]:
    """Requests one replica runs at once while each still gets ``{user_tokens_per_sec}``
    (``serving.concurrency_at_speed``): the ``b`` where a loaded step takes 1 / that rate. The
    step is ``MAX(b x compute, reads(b)) + b x per-sequence + fixed + pass x (1 - exp(-b /
    output))`` (the last: the steps that carry a prompt, ``serving.prompt_pass_time``, with
    ``pass`` a forward pass's fixed time); each branch is solved alone and the smaller root
    kept. The reads are ``all - experts x q^b`` (``q``: the chance a token skips a given
    expert; dense models have no experts term). Both branches are concave in ``b``, so
    Newton's method from a bound below the root climbs to it without overshooting. Each starts
    from the larger of two such bounds: the root with the pass counted in full, and the root
    with ``1 - exp(-x)`` taken as ``x`` (and no experts term), both of which make the step
    longer. Where the caches are kept whole in groups of GPUs (``roofline._kv_batch``) the
    cache read is ``MAX(b, groups) x kv``: where the step at ``b = groups`` is already too
    long, the root lies below, where the read is ``groups x kv`` whatever ``b``, and that step
    is solved instead (the cache read moved from the per-sequence time to the fixed time)."""
    steps = [
        Step("sp_compute", "Speed: compute per sequence",
             _compute_per_seq("{sp_attn_tokens}", "{sp_index_flops}"),
             "s", "sci"),
        Step("sp_kv", "Speed: KV cache read per sequence (its state apart)",
             "({sp_kv_bytes}-2*{m_state_bytes_per_seq})/{bandwidth}", "s", "sci"),
        Step("sp_kv_groups", "Speed: groups of GPUs that keep caches whole (0: none)", KV_GROUPS,
             "", "num", "roofline._kv_batch"),
        Step("sp_kv_floor", "Speed: KV read a step pays at least (one sequence a group)",
             "{sp_kv_groups}*{sp_kv}", "s", "sci"),
        Step("sp_per_seq", "Speed: KV, all-reduce, prompt per sequence",
             "{sp_kv_bytes}/{bandwidth}+" + _AR_PER_SEQ + "+{t_prefill_prompt}/{output_tokens}",
             "s", "sci"),
        Step("sp_fixed", "Speed: fixed time per step",
             _AR_FIXED + "+{step_overhead}", "s", "sci"),
        Step("sp_experts", "Speed: read of all routed experts",
             "IF({is_moe}=1,{m_num_experts}*{expert_params}*{w_bits}/8/{bandwidth},0)", "s",
             "sci"),
        Step("sp_gap", "Speed: all reads + fixed - allowed step",
             "{total_params}*{w_bits}/8/{bandwidth}+{sp_fixed}-{sp_limit}", "s", "sci"),
        Step("sp_step_one", "Speed: loaded step, one request",
             "MAX({sp_compute},{total_params}*{w_bits}/8/{bandwidth}-{sp_experts}*"
             "EXP({sp_log_q}))+{sp_per_seq}+MAX({sp_kv_floor}-{sp_kv},0)+{sp_fixed}+"
             "{step_overhead}*(1-EXP(-1/{output_tokens}))", "s", "sci"),
        Step("sp_below", "Speed: KV at its floor, and the step at one request a group too long?",
             "AND({sp_kv_groups}>0,MAX({sp_kv_groups}*{sp_compute},{total_params}*{w_bits}/8/"
             "{bandwidth}-{sp_experts}*EXP({sp_log_q}*{sp_kv_groups}))+{sp_kv_groups}*"
             "{sp_per_seq}+{sp_fixed}+{step_overhead}*(1-EXP(-{sp_kv_groups}/{output_tokens}))>"
             "{sp_limit})", "", "bool"),
        Step("sp_seq_used", "Speed: per-sequence time solved for",
             "IF({sp_below},{sp_per_seq}-{sp_kv},{sp_per_seq})", "s", "sci"),
        Step("sp_fixed_used", "Speed: fixed time solved for",
             "IF({sp_below},{sp_fixed}+{sp_kv_floor},{sp_fixed})", "s", "sci"),
        Step("sp_gap_used", "Speed: reads gap solved for",
             "IF({sp_below},{sp_gap}+{sp_kv_floor},{sp_gap})", "s", "sci"),
    ]
    return steps + _newton_steps("{sp_seq_used}", "{sp_fixed_used}", "{sp_gap_used}")


def speed_answer() -> str:
    """The requests :func:`speed_steps` finds: the smaller of its two roots (a formula)."""
    return f"MIN({{sp_c{COMPUTE_NEWTON_STEPS}}},{{sp_b{READS_NEWTON_STEPS}}})"


def _newton_steps(per_seq: str, fixed: str, gap: str) -> list[Step]:
    """The compute-bound and reads-bound Newton solves of :func:`speed_steps` for a step whose
    per-sequence time, fixed time and reads gap are ``per_seq``, ``fixed`` and ``gap``."""
    def decay(b):
        return f"EXP(-{b}/{{output_tokens}})"

    # Each step is floored at its start's floor (0 and 1 requests): a no-op wherever the start is
    # below the root, as it is whenever one request meets the speed; where none does (the
    # answer is then 0, from sp_step_one) the iterates stay there instead of going negative.
    def compute(b):
        return (f"MAX(0,{b}-({b}*({{sp_compute}}+{per_seq})+{fixed}+{{step_overhead}}*(1-"
                f"{decay(b)})-{{sp_limit}})/({{sp_compute}}+{per_seq}+{{step_overhead}}/"
                f"{{output_tokens}}*{decay(b)}))")

    def reads(b):
        return (f"MAX(1,{b}-({gap}-{{sp_experts}}*EXP({{sp_log_q}}*{b})+{b}*{per_seq}+"
                f"{{step_overhead}}*(1-{decay(b)}))/({per_seq}-{{sp_experts}}*{{sp_log_q}}*"
                f"EXP({{sp_log_q}}*{b})+{{step_overhead}}/{{output_tokens}}*{decay(b)}))")

    return [
        Step("sp_c0", "Speed: requests, compute-bound, start",
             f"MAX(0,({{sp_limit}}-{fixed}-{{step_overhead}})/({{sp_compute}}+{per_seq}),"
             f"({{sp_limit}}-{fixed})/({{sp_compute}}+{per_seq}+{{step_overhead}}/"
             "{output_tokens}))", "requests", "num"),
        *[Step(f"sp_c{i}", f"Speed: compute-bound, Newton step {i}",
               compute(f"{{sp_c{i - 1}}}"), "requests", "num")
          for i in range(1, COMPUTE_NEWTON_STEPS + 1)],
        Step("sp_b0", "Speed: requests, reads-bound, start",
             f"MAX(1,-({gap}+{{step_overhead}})/{per_seq},-{gap}/({per_seq}+"
             "{step_overhead}/{output_tokens}))", "requests", "num"),
        *[Step(f"sp_b{i}", f"Speed: reads-bound, Newton step {i}",
               reads(f"{{sp_b{i - 1}}}"), "requests", "num")
          for i in range(1, READS_NEWTON_STEPS + 1)],
    ]


def step_at(batch: str) -> str:
    """One decode step of ``batch`` sequences at the mean context under load (a formula over
    :func:`queue_steps`): the terms of ``t_step``, per sequence."""
    return (f"MAX({batch}*{{q_compute_per_seq}},{weights_read(batch)}/{{bandwidth}})"
            f"+{batch}*({{q_kv_per_seq}}+{{q_ar_per_seq}})+({kv_batch(batch)}-{batch})*("
            "{q_kv_per_seq}-2*{m_state_bytes_per_seq}/{bandwidth})+{q_ar_fixed}+{step_overhead}")


KV_GROUPS = ("IF(AND({par_gpus}>1,OR({m_kv_lora_rank}>0,{par_gpus}>{m_kv_heads})),IF("
             "{m_kv_lora_rank}>0,{par_gpus},{par_gpus}/{m_kv_heads}),0)")


def kv_batch(batch: str) -> str:
    """The sequences whose KV cache a step reads at the replica's bandwidth
    (``roofline._kv_batch``): at least one a group where the caches are kept whole in groups
    of GPUs (:data:`KV_GROUPS`: an MLA model's one GPU each; ``kv_heads`` GPUs each where there
    are more GPUs than KV heads; 0: no groups). A formula."""
    return f"MAX({batch},{KV_GROUPS}*MIN({batch},1))"


def within_budget(n: str) -> str:
    """Whether the steps have room for the prompts at mean concurrency ``{n}``
    (``queueing._Replica.within_budget``): a formula, TRUE or FALSE."""
    return f"{n}*{{input_tokens}}<{{output_tokens}}*{{token_budget}}"


def _spread_steps(n: str, rate: str) -> list[Step]:
    """The standard deviation of the sequences decoding at mean concurrency ``{n}`` and
    ``{rate}`` requests/s (``queueing._Replica.spread``): ``a`` a sequence's chance to go on,
    ``b`` the prompts a sequence more brings, ``g`` the prompts a prompt brings."""
    a, g, d = "(1-1/{output_tokens})", "{q_echo_gain}", "MAX({q_var_d},1E-300)"
    return [
        Step("q_more", "prompts a sequence more brings in",
             f"{rate}*(" + step_at(f"MAX({n}+1,1)") + "-{q_decode})", "prompts", "sci"),
        Step("q_var_d", "variance: D = 1 - a g - b", f"1-{a}*{g}-{{q_more}}", "", "num3"),
        Step("q_var_e", "variance: E = 1 + 2 a g / D", f"1+2*{a}*{g}/{d}", "", "num3"),
        Step("q_var_p", "variance: P = 1 - g^2 - 2 b g^2 / D",
             f"1-{g}^2-2*{{q_more}}*{g}^2/{d}", "", "num3"),
        Step("q_var_det", "variance: S P - b^2 E^2, S = 1 - a^2 - 2 a^2 b / D",
             f"(1-{a}^2-2*{a}^2*{{q_more}}/{d})*{{q_var_p}}-{{q_more}}^2*{{q_var_e}}^2", "",
             "sci"),
        Step("q_var", "variance of the sequences decoding",
             f"IF({{q_var_det}}>0,({n}*{a}*{{q_var_p}}/{{output_tokens}}+{{q_var_e}}*"
             "{q_prompts_step})/{q_var_det},-1)", "requests^2", "num"),
        Step("q_spread", "standard deviation of the sequences decoding",
             "IF(AND({q_var_d}>0,{q_var}>=0),SQRT(MIN({q_var},{q_n_max}^2)),{q_n_max})",
             "requests", "num", "queueing._Replica.spread"),
    ]


def ttft_tail(rate: str, p: str | None, z: str, left: str) -> dict[str, str]:
    """The terms of the first token's wait that have a tail (``queueing._Replica.ttft``), at
    percentile ``p`` (None: their means) for prompts arriving at ``rate``: the waits for a free
    slot (``queued``) and for the prefill budget (``wait``), the rest of the step in progress
    (``left``) and the compute of the prompts that join its step in it (``joining``, with ``z``
    the percentile's normal z and ``left`` the name of the step-left term). The queue row's
    steps and the self-host workbook's tail line both use them."""
    if p is None:
        wait, share = "{q_rho}*{q_slot}/(2*(1-{q_rho}))", "0.5"
        queued = f"IF({rate}>={{q_capacity}},1E+300,{{q_full}}/({{q_capacity}}-{rate}))"
    else:
        wait = f"IF(1-{p}<{{q_rho}},{{q_slot}}/(2*(1-{{q_rho}}))*LN({{q_rho}}/(1-{p})),0)"
        queued = (f"IF({rate}>={{q_capacity}},1E+300,IF({{q_full}}>1-{p},LN({{q_full}}/(1-{p}))"
                  f"/({{q_capacity}}-{rate}),0))")
        share = p
    # the joining count: its mean, or z standard deviations above it (queueing.joining)
    count = (f"{rate}*{left}" if p is None else f"{rate}*{left}+MAX({z},0)*SQRT({rate}*{left})")
    return {"queued": queued, "wait": wait,
            "left": f"{share}*{{scheduler_steps}}*{{q_step}}*{{q_busy}}",
            "joining": (f"MIN({count},MAX({{token_budget}}-{{input_tokens}},0)/"
                        "{input_tokens})*{t_prefill_prompt}")}


# a step's prompt work when it carries a full budget of prompt tokens, and its pass
_FULL_BUDGET = "{step_overhead}+{t_prefill_prompt}*{token_budget}/{input_tokens}"


def _echo(mean: bool) -> str:
    """The echo of a request's own prompt (``queueing._Replica.echo``): its mean over output
    lengths, or (not ``mean``) a median-length request's."""
    g, c, out = "{q_echo_gain}", "{q_prompt_cost}", "{output_tokens}"
    spread = (f"{g}*LN({out}-({out}-1)*{g})/({out}-1)" if mean else
              # g^m as EXP: LibreOffice calls a power that underflows an error (#NUM!)
              f"{g}*(1-EXP(MAX({{q_echo_steps}}*LN(MAX({g},1E-300)),-700)))/{{q_echo_steps}}")
    return f"IF({out}<=1,0,{c}/((1-{g})*(1-{g}^2))*{spread})"


def _capped_tpot(step: str, decode: str, echo: str) -> str:
    """The step and the echo, no longer than a step with a full budget of prompt tokens
    (``queueing._Replica.with_echo``); one sequence's decode step where the memory holds only
    one (no prompt joins it)."""
    return f"IF({{q_n_max}}<2,{step_at('1')},MIN({step}+{echo},{decode}+{_FULL_BUDGET}))"


def _tpot_floor() -> Step:
    """For a percentile row: TPOT at the percentile, no lower than the mean TPOT allows
    (``queueing._tpot_seen``): ``(mean - (1 - p) longest) / p``, the mean being the loaded step
    at the row's mean concurrency plus the echo's mean over output lengths, capped as the
    percentile is. (One column: the Latency sheet's tables repeat it in every row.)"""
    p = "{sla_percentile}"
    mean = _capped_tpot("{q_step}", "{q_decode}", _echo(mean=True))
    return Step("q_tpot", "time per output token at the percentile, no lower than the mean "
                "allows", f"MAX({{q_tpot_at}},({mean}-(1-{p})*{{q_tpot_longest}})/{p})", "s",
                "sci", "queueing.tpot_at_rate / 1e3")


# a count's value z standard deviations above its mean, 0 below a half (queueing._count_at)
_COUNT_AT = "MAX(MIN({x},2*{x}-1),0)"


def queue_row(n: str, rate: str, mean: bool = False) -> list[Step]:
    """The latencies at a mean concurrency held in column ``{n}`` (one row of a table): the
    loaded step and the rate it completes (Little's law), TPOT at the percentile (the
    concurrency z standard deviations above the mean, :func:`_spread_steps`, plus the echo of
    its own prompt in a request of the median length, ``queueing._Replica.echo``), and TTFT
    at the percentile when prompts arrive at ``{rate}`` (``q_rate`` for the rate of this
    concurrency): the waits for a free slot, for the prefill budget and for the rest of the
    step in progress (of ``scheduler_steps`` steps, where the engine decides what runs only
    that often), the prompt's own prefill, and the compute of the prompts that join its step
    meanwhile. ``mean``: the means instead (TPOT at the mean concurrency, the echo's mean over
    output lengths), as ``queueing.service_at_rate`` with no percentile."""
    p, loaded = "{sla_percentile}", "/{output_tokens}*{t_prefill_prompt}"
    at = "the mean" if mean else "the percentile"
    above = f"({n}+{{sla_z}}*IF({{sla_z}}<0,SQRT({n}),{{q_spread}}))"
    seen = (f"MIN(MAX({n},0),{{q_n_max}})" if mean else
            "MIN(" + _COUNT_AT.replace("{x}", above) + ",{q_n_max})")
    tail = ttft_tail(rate, None if mean else p, "{sla_z}", "{q_step_left}")
    pass_seen = prompt_pass("{q_seen}/{output_tokens}")
    return [
        Step("q_decode", "decode step at MAX(N, 1)", step_at(f"MAX({n},1)"), "s", "sci",
             "roofline._decode_step"),
        Step("q_step", "step with the prefill of joining prompts",
             f"{{q_decode}}+{n}{loaded}+" + prompt_pass(f"{n}/{{output_tokens}}"), "s", "sci",
             "serving.loaded_step"),
        Step("q_rate", "requests/s completed", f"{n}/({{q_step}}*{{output_tokens}})", "req/s",
             "num"),
        Step("q_prompts_step", "prompts a step takes", f"{rate}*{{q_step}}", "prompts", "num3"),
        Step("q_prompt_cost", "a prompt's cost to its step (pass shared)",
             "{t_prefill_prompt}+{step_overhead}*IF({q_prompts_step}>0,(1-EXP(-"
             "{q_prompts_step}))/{q_prompts_step},1)", "s", "sci"),
        Step("q_echo_gain", "prompts that arrive during one's cost",
             f"MIN({rate}*{{q_prompt_cost}},1-1E-12)", "prompts", "num3"),
        Step("q_echo", "echo of its prompt in a request's steps" if mean else
             "echo of its prompt in a median-length request's steps",
             _echo(mean), "s", "sci", "queueing._Replica.echo"),
    ] + ([] if mean else _spread_steps(n, rate)) + [
        Step("q_seen", f"concurrency at {at}", seen, "requests", "num"),
        Step("q_decode_seen", "decode step at that concurrency", step_at("MAX({q_seen},1)"),
             "s", "sci"),
        Step("q_tpot" if mean else "q_tpot_at", f"time per output token at {at}" + (
                 "" if mean else ", median-length request"),
             _capped_tpot(f"{{q_decode_seen}}+{{q_seen}}{loaded}+{pass_seen}", "{q_decode_seen}",
                          "{q_echo}"), "s", "sci",
             "queueing.tpot_at_rate / 1e3" if mean else "queueing._tpot_seen"),
    ] + ([] if mean else [_tpot_floor()]) + [
        Step("q_busy", "chance a sequence is decoding", f"1-EXP(-{n})", "0-1", "num3"),
        # at least its share of the steps' prompt room (queueing._Replica.prompt)
        Step("q_slot", "prefill budget one prompt takes",
             "MAX({t_prefill_prompt}+{prefill_chunks}*{q_decode}*{q_busy},"
             "{prefill_chunks}*{q_step})", "s", "sci"),
        Step("q_rho", "prefill budget in use", f"MIN({rate}*{{q_slot}},1-1E-12)", "0-1", "num3"),
        Step("q_wait", f"wait for the budget at {at}", tail["wait"], "s", "sci"),
        Step("q_x", "slot queue: rate x output x step per sequence",
             f"{rate}*{{output_tokens}}*{{q_step_per_seq}}", "", "num3"),
        Step("q_full", "chance all slots are taken on arrival",
             f"IF({rate}<=0,0,IF({rate}<{{q_capacity}},MAX(1/(1+EXP(MIN(LN(MAX(BETADIST(1-{{q_x}}"
             f",{{q_shape}},{{q_n_max}}),1E-300))-{{q_shape}}*LN(1-{{q_x}})-{{q_log_ways}}-"
             f"{{q_n_max}}*LN({{q_x}})+LN(1-{rate}/{{q_capacity}}),700)))-1E-304,0),1))", "0-1",
             "num3"),
        Step("q_queued", f"wait for a free slot at {at}", tail["queued"], "s", "sci"),
        Step("q_step_left", f"rest of the step (or steps) in progress at {at}", tail["left"],
             "s", "sci"),
        Step("q_joining", "compute of the prompts that join its step meanwhile",
             tail["joining"], "s", "sci", "queueing._Replica.joining"),
        Step("q_ttft", f"time to first token at {at}",
             "{q_queued}+{q_wait}+{q_step_left}+{ttft_alone}+{q_busy}*MAX(ROUNDUP("
             "{prefill_chunks},0)*{q_decode}+{step_overhead}+{t_prefill_prompt}"
             "+{prefill_overhead_s}-{ttft_alone},0)+{q_joining}", "s", "sci",
             "queueing.ttft_at_rate / 1e3"),
    ]
