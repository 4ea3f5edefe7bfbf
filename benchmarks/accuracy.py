"""Accuracy of xlnapkin against published measurements: calibrated defaults vs the pure roofline.

Reads the development set (``benchmarks/data/measured_dev.csv``, the shared measured set's
rows with their sources, and ``measured_extra.csv``, rows collected since; or ``--data``), maps
every row the model can represent to an engine call, and prints, per metric class and overall,
the number of rows and the median and 90th-percentile absolute percentage error of the
calibrated model (``efficiency`` blank) and of the pure roofline
(``efficiency=1``). Rows the model cannot represent are skipped with the reason; the worst
rows are listed with a rule-based diagnosis (direction and size of the miss, what the data
flags, which known weak spot of the model applies).

    python benchmarks/accuracy.py                  # the table, the worst rows, the skipped rows
    python benchmarks/accuracy.py --csv rows.csv   # also every row's predictions

How a row becomes a prediction (the mapping is by rules on the columns and notes, never by row):

* ``decode_b1``: ``itl_ms``/``tpot_ms``/``output_tok_per_s`` at concurrency 1 -> one decode step
  at batch 1 (:func:`xlnapkin.serving.itl_ms`). Context: 0 for a fitted ITL intercept, else the
  prompt plus half the generated tokens (the mean over the run); tokens/s = 1000 / ITL.
* ``prefill_b1``: ``ttft_ms``/``prefill_tok_per_s`` at concurrency 1 -> :func:`ttft_ms` of one
  prompt (tokens/s = prompt / TTFT). Also the median TTFT of a steady-state run at low
  concurrency (vLLM, 150 requests at concurrency 8), where each prompt is prefilled alone.
* ``ctx_slope``: ``itl_slope_ms_per_ctx_token`` -> finite difference of batch-1 ITL between
  4,096 and 65,536 tokens of context (the sources fit a line over 256-125k).
* ``static_batch``: old TensorRT-LLM static-batching tables -> ``batch`` prompts prefilled
  together (:func:`xlnapkin.roofline.prefill_time`), then ``output`` decode steps at the mean
  context; tokens/s = batch x output / total time.
* ``under_load``: max-load tables (trtllm-bench), SLA/concurrency tables, steady-state runs ->
  :func:`xlnapkin.serving.max_throughput` (engine picks the batch) or
  :func:`~xlnapkin.serving.throughput_at_concurrency` (stated concurrency). Median ITL under
  load is one decode step at that batch; mean TPOT is concurrency / throughput (prefills of
  other requests included). Decode nodes of a prefill/decode-disaggregated deployment ->
  decode only (:func:`tokens_per_sec`) at the stated batch, or the largest that fits.
* ``prefill_load``: prefill-only nodes and runs -> ``batch`` prompts through
  :func:`prefill_time`; tokens/s = batch x prompt / time.

Parallelism and units: ``tp`` is the tensor-parallel degree of one replica and ``num_gpus / tp``
replicas run side by side (MLPerf "x8 replicas"). ``tp=1`` over several GPUs of an MoE model with
attention data-parallel + expert parallel ("DEP4", "DP+EP", "EP72"):

* up to 8 GPUs (one NVLink island: TensorRT-LLM's DEP2-DEP8 tables, vLLM's 8-GPU DP+EP) -> ONE
  replica with tensor parallelism over all of them: experts are sharded and each GPU keeps its
  own sequences' KV, so memory, bandwidth and FLOP/s pool as under TP, and the dispatch/combine
  all-to-all moves about 0.6-0.7x the bytes of the all-reduce the engine charges;
* wider (the 32-72 GPU prefill/decode-disaggregated deployments) -> one pooled device with
  ``num_gpus`` times one GPU's memory, bandwidth and FLOP/s and no TP all-reduce: a TP
  all-reduce over 72 GPUs would charge ~20x the all-to-all bytes, which those engines also
  overlap with compute (two-batch overlap). Its concurrency cap is the engine's per-GPU cap
  times ``num_gpus``, as for a replica of that many GPUs.

``per_gpu=yes`` rows compare with the prediction / ``num_gpus``; values "per node (8 GPUs)" with
prediction / ``num_gpus`` x 8; other throughput rows with the total. trtllm-bench counts the
first token as an output token; with outputs of 128+ tokens that is under 1 % and ignored.

Dtypes: the source's labels, with two rules. gpt-oss is always ``mxfp4`` (its checkpoints are
MXFP4 whatever a table calls them). A blank KV dtype is the 16-bit default, except for
TensorRT-LLM with fp8/nvfp4 weights: NVIDIA's ModelOpt checkpoints carry an FP8 KV cache.
A blank weight dtype is the model's native dtype from the catalog.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
# The development set: the shared measured set's development rows (copied with their sources)
# and the measurements collected for issue 10 from sources outside it (each row cites its own).
DEFAULT_DATA = [DATA / "measured_dev.csv", DATA / "measured_extra.csv"]

if str(REPO) not in sys.path:  # run as a script from a checkout without installing
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from xlnapkin import catalog, memory, roofline, serving  # noqa: E402
from xlnapkin.errors import NapkinError  # noqa: E402
from xlnapkin.units import is_gguf  # noqa: E402

CLASSES = {
    "decode_b1": "batch-1 decode on one GPU (ITL, tokens/s)",
    "tp_decode": "tensor-parallel decode at batch 1-16",
    "prefill_b1": "batch-1 prefill / TTFT",
    "ctx_slope": "ITL slope per context token",
    "static_batch": "static batch throughput",
    "under_load": "under load (max-load, SLA, steady state)",
    "prefill_load": "batched prefill throughput",
}

# Measured names the catalog does not resolve by itself (the catalog's aliases cover the
# development set; a held-out name that fails would be listed in the skipped rows).
GPU_NAMES: dict[str, str] = {}
MODEL_NAMES: dict[str, str] = {}

# Mean prompt tokens of the MLPerf datasets, for MLPerf throughput rows that give only the mean
# output: Llama-2-70B's OpenOrca set 222 (5,463,976 tokens / 24,576 samples, read from
# FlashLab-MBZUAI/HBFSim@96cf1b37 validation/calibration/h100-llama2-70b-calibration-protocol.json;
# trust B+), Llama-3.1-405B's set 9,400 (MLCommons, "LLM inference v5.0", April 2025),
# Llama-3.1-8B's CNN/DailyMail set 778 (MLCommons, "small LLM inference v5.1", September 2025,
# https://mlcommons.org/2025/09/small-llm-inference-5-1; trust B). The Llama-3.1-8B rows take
# their mean output from their own LoadGen summaries (tokens over samples); DeepSeek-R1's and
# Intel's Llama-3.1-8B row (GPU count unclear) lack one and stay skipped.
MLPERF_MEAN_INPUT = {"llama-2-70b": 222.0, "llama-3.1-405b": 9400.0, "llama-3.1-8b": 778.0}

CTX_SLOPE_POINTS = (4096.0, 65536.0)
GPUS_PER_NODE = 8


# --- reading rows ---------------------------------------------------------------------------

def load_rows(paths) -> list[dict]:
    """Rows of one or more measured CSVs, each with its 0-based index ``_i`` over all of them
    and ``_line``: the file's short name and the CSV line (``extra:12``; header is line 1)."""
    rows = []
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        tag = Path(path).stem.replace("measured_", "")
        with open(path, newline="", encoding="utf-8") as fh:
            for n, r in enumerate(csv.DictReader(fh), start=2):
                r["_line"] = f"{tag}:{n}"
                rows.append(r)
    for i, r in enumerate(rows):
        r["_i"] = i
    return rows


def _num(text):
    try:
        x = float(str(text).replace(",", "").strip())
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _lead_int(text):
    """Leading whole number of a cell like ``256 sequences ...`` or ``16,384 tokens ...``."""
    m = re.match(r"\s*([\d,]+)", str(text or ""))
    return _num(m.group(1)) if m else None


def source_key(row) -> str:
    """A short name for the publication a row comes from (for leave-one-source-out)."""
    url = row["source_url_or_repo_path"]
    m = re.search(r"github\.com/([^/]+)/([^/]+)/(?:blob|tree)/([^/]+)/(.*)", url)
    if not m:
        return url
    owner, repo, ref, path = m.groups()
    if "inference_results" in repo:
        return repo                                   # one MLPerf round
    stem = Path(path).stem
    if stem in ("README", "performance", "perf-overview"):
        return f"{repo}:{stem}@{ref[:7]}"
    return f"{repo}:{stem}"


def weight_dtype(row, m) -> str:
    text = (row["weight_dtype"] or "").strip().lower()
    if m.id.startswith("gpt-oss"):
        return "mxfp4"  # MXFP4 MoE checkpoints whatever the table's label ("FP4", "FP8")
    if not text:
        return m.native_dtype or "bf16"
    for key, dtype in (("nvfp4", "nvfp4"), ("mxfp4", "mxfp4"), ("uint4", "int4"),
                       ("awq", "int4"), ("gptq", "int4"), ("q4_k_m", "q4_k_m"),
                       ("q4_k_s", "q4_k_s"), ("q5_0", "q5_0"), ("q6_k", "q6_k"),
                       ("q8_0", "q8_0"), ("q4_0", "q4_0"), ("int4", "int4"), ("int8", "int8"),
                       ("fp4", "nvfp4"), ("fp8", "fp8"), ("bf16", "bf16"), ("fp16", "fp16"),
                       ("f16", "fp16")):
        if text.startswith(key):
            return dtype
    return text.split()[0]


def kv_dtype(row, wd) -> str:
    text = (row["kv_dtype"] or "").strip().lower()
    for key, dtype in (("fp8", "fp8"), ("bf16", "bf16"), ("fp16", "fp16"), ("f16", "fp16")):
        if text.startswith(key):
            return dtype
    if not text and row["engine"].startswith("trtllm") and wd in ("fp8", "nvfp4"):
        return "fp8"  # NVIDIA's ModelOpt FP8/NVFP4 checkpoints export an FP8 KV cache
    return "bf16"  # blank or "auto": the KV cache stays in the 16-bit activation type


# --- cases ----------------------------------------------------------------------------------

@dataclass
class Case:
    """One representable row: how to predict it, for any ``efficiency`` argument."""

    row: dict
    cls: str
    how: str
    predict: Callable[[object], float]
    gpu: str = ""
    model: str = ""
    source: str = ""
    measured: float = 0.0
    pred: dict = field(default_factory=dict)

    @property
    def line(self) -> int:
        return self.row["_line"]

    def label(self) -> str:
        r = self.row
        parts = [r["gpu"], f"x{r['num_gpus']}" if r["num_gpus"] not in ("", "1") else "",
                 r["model"], r["weight_dtype"].split(" ")[0], f"{r['input_len'] or '-'}/"
                 f"{r['output_len'] or '-'}", f"c={_short(r['concurrency_or_batch'])}",
                 r["metric"]]
        return " ".join(p for p in parts if p)


def _short(text):
    text = str(text or "")
    n = _lead_int(text)
    if n is not None:
        return f"{n:g}"
    return text.split(" ")[0].split("(")[0] or "-"


@dataclass
class Skip:
    row: dict
    reason: str


def _dep(notes: str) -> bool:
    """Attention data-parallel + expert-parallel over the listed GPUs (one EP replica)."""
    return bool(re.search(r"\bD?EP\d|\bDP ?\+ ?EP|expert-parallel|DP-attention|attention DP",
                          notes))


# An attention-DP + expert-parallel group of at most this many GPUs (one NVLink island) is
# modelled as tensor parallelism over the same GPUs; a wider one as one pooled device.
EP_TP_MAX = 8


def pooled_gpu(g, n: int):
    """One device with ``n`` GPUs' memory, bandwidth and FLOP/s (a catalog spec string)."""
    parts = [g.id, f"memory_gb={g.memory_gb * n:g}", f"mem_bw_tbps={g.mem_bw_tbps * n:g}",
             f"bf16_tflops={g.bf16_tflops * n:g}"]
    for name in ("fp8_tflops", "fp4_tflops", "int8_tops"):
        if getattr(g, name):
            parts.append(f"{name}={getattr(g, name) * n:g}")
    return catalog.gpu("; ".join(parts))


def pooled_concurrency(dev, m, tokens, wd, kv, n, efficiency):
    """What fits on a pooled device of ``n`` GPUs, capped like a replica of ``n`` GPUs."""
    from xlnapkin.serving import engine_cap
    fit = memory.max_batch(dev, m, tokens, wd, kv, 1, 0.9)
    cap = engine_cap(dev, m, wd, n, efficiency)
    return float(max(min(fit, cap), 1.0))


def _layout(row, g, m, wd):
    """(replicas, tensor-parallel GPUs passed to the engine, device, GPUs per replica)."""
    n = int(_num(row["num_gpus"]) or 1)
    tp = _num(row["tp"])
    if n == 1:
        return 1, 1, g, 1
    if tp and tp > 1:
        return max(int(n // tp), 1), int(tp), g, int(tp)
    if tp == 1 and (_dep(row["notes"]) and m.is_moe):
        if n > EP_TP_MAX:
            return 1, 1, pooled_gpu(g, n), n
        return 1, n, g, n
    if tp == 1:
        return n, 1, g, 1
    # Layout not published: the smallest power-of-two TP that leaves room for a KV cache, but
    # not past one peer-link domain (an HGX board) where the weights fit in one: engines split
    # a model over the network only when one domain cannot hold it (pipeline stages or
    # replicas otherwise).
    t = 1
    weights = memory.weight_bytes(m, wd)
    while t < n and weights > 0.7 * 0.9 * t * g.memory_bytes:
        t *= 2
    domain = g.nvlink_gpus
    if domain and t > domain and weights <= 0.9 * domain * g.memory_bytes:
        t = domain
    return max(n // t, 1), t, g, t


def build_cases(rows) -> tuple[list[Case], list[Skip]]:
    cases, skips = [], []
    for r in rows:
        try:
            out = _map_row(r)
        except NapkinError as err:
            out = f"engine refused it: {err}"
        if isinstance(out, Case):
            out.measured = float(r["value"])
            out.source = source_key(r)
            cases.append(out)
        else:
            skips.append(Skip(r, out))
    return cases, skips


def _map_row(r):  # noqa: C901 - one place that documents every mapping rule
    metric, notes = r["metric"], r["notes"]
    low = notes.lower()
    conc_text = (r["concurrency_or_batch"] or "").strip()
    conc = _lead_int(conc_text)
    inp, out = _num(r["input_len"]), _num(r["output_len"])
    n_gpus = int(_num(r["num_gpus"]) or 1)
    value = _num(r["value"])
    if value is None or value <= 0:
        return "no numeric value"
    if metric == "usd_per_1M_output_tok":
        return "a $/Mtok claim: the authors' GPU price is not given, so it tests no speed model"
    if "llama.cpp" in r["engine"] and n_gpus > 1 and not is_gguf(r["weight_dtype"].split()[0]):
        # the engine splits GGUF formats by layers as llama.cpp does (roofline.parallel_gpus),
        # but reads llama.cpp's F16 as fp16, which it runs tensor parallel
        return ("llama.cpp splits layers over GPUs, which adds no bandwidth at batch 1; the "
                "engine does so for the GGUF formats only, and f16 reads as fp16 (tensor "
                "parallel)")
    if "weight offloading" in low:
        return "weights offloaded to host memory: the replica does not hold the model"
    try:
        g = catalog.gpu(GPU_NAMES.get(r["gpu"], r["gpu"]))
    except NapkinError:
        return f"gpu {r['gpu']!r} is not in the catalog"
    try:
        m = catalog.model(MODEL_NAMES.get(r["model"], r["model"]))
    except NapkinError:
        return f"model {r['model']!r} is not in the catalog"
    wd = weight_dtype(r, m)
    kv = kv_dtype(r, wd)
    if out is None:
        avg = re.search(r"output_len as described: ~?([\d,.]+)", notes)
        out = _num(avg.group(1)) if avg else None
    if inp is None and r["source_kind"] == "mlperf" and metric == "output_tok_per_s":
        inp = MLPERF_MEAN_INPUT.get(m.id)
    per_gpu = r["per_gpu"].strip().lower() == "yes"
    base = dict(gpu=g.id, model=m.id)

    def scale_total(total_fn, replicas=1):
        """Turn a replica-level prediction into the row's unit (per GPU, per node or total)."""
        if per_gpu:
            return lambda e: replicas * total_fn(e) / n_gpus
        if "per node" in low:
            return lambda e: replicas * total_fn(e) / n_gpus * GPUS_PER_NODE
        return lambda e: replicas * total_fn(e)

    # -- context slope -----------------------------------------------------------------------
    if metric == "itl_slope_ms_per_ctx_token":
        c1, c2 = CTX_SLOPE_POINTS

        def slope(e):
            t = serving.itl_ms(g, m, 1, [c1, c2], wd, kv, 1, e)
            return float(t[1] - t[0]) / (c2 - c1)
        return Case(r, "ctx_slope", f"d ITL / d context, batch 1, {c1:g}->{c2:g}", slope, **base)

    # -- batch 1 -----------------------------------------------------------------------------
    if conc == 1 and n_gpus >= 1:
        _, tp, g, _ = _layout(r, g, m, wd)
        if metric in ("itl_ms", "tpot_ms", "output_tok_per_s"):
            ctx = 0.0 if "intercept" in low else (inp or 0.0) + (out or 0.0) / 2
            cls = "tp_decode" if tp > 1 else "decode_b1"
            if metric == "output_tok_per_s":
                return Case(r, cls, f"1000 / ITL(batch 1, context {ctx:g}, tp {tp})",
                            lambda e: 1e3 / serving.itl_ms(g, m, 1, ctx, wd, kv, tp, e), **base)
            return Case(r, cls, f"ITL(batch 1, context {ctx:g}, tp {tp})",
                        lambda e: serving.itl_ms(g, m, 1, ctx, wd, kv, tp, e), **base)
        if metric in ("ttft_ms", "prefill_tok_per_s") and inp:
            if metric == "ttft_ms":
                return Case(r, "prefill_b1", f"TTFT(1 x {inp:g} tokens, tp {tp})",
                            lambda e: serving.ttft_ms(g, m, 1, inp, wd, kv, tp, e), **base)
            return Case(r, "prefill_b1", f"{inp:g} / TTFT(1 x {inp:g} tokens, tp {tp})",
                        lambda e: inp / serving.ttft_ms(g, m, 1, inp, wd, kv, tp, e) * 1e3,
                        **base)
        return f"{metric} at batch 1 without the lengths it needs"

    replicas, tp, g, group = _layout(r, g, m, wd)
    par = (f"{replicas} x tp {tp}" if group == tp
           else f"{replicas} x EP{group} as one pooled device")
    if group == tp and tp > 1 and _dep(notes) and m.is_moe and r["tp"].strip() == "1":
        par = f"{replicas} x DEP{tp} as tp {tp}"

    # -- prefill-only throughput ---------------------------------------------------------------
    if metric == "prefill_tok_per_s":
        if not inp:
            return "prefill throughput without a prompt length"
        if conc and "tokens per device" in conc_text.lower():
            batch = max(1.0, math.floor(conc / inp)) * group
        elif conc:
            batch = float(conc)
        else:
            batch = max(1.0, math.floor(8192 * group / inp))
        total = lambda e: batch * inp / (roofline.prefill_time(g, m, batch, inp, wd, kv, tp, e))
        ok = memory.fits(g, m, wd, kv, inp, batch, tp)
        if not ok:
            return "the prefill batch does not fit in the replica's memory"
        return Case(r, "prefill_load", f"{batch:g} prompts of {inp:g} through prefill, "
                    f"{par}", scale_total(total, replicas), **base)

    if metric == "req_per_s" and not (inp and out):
        return "requests/s without input and output lengths"

    # -- TTFT under load -----------------------------------------------------------------------
    if metric == "ttft_ms":
        if "poisson" in conc_text.lower() or "sla" in low:
            return ("TTFT under load here is mostly queueing behind other prompts (Poisson "
                    "arrivals or all requests of a wave at once): a latency-at-rate question, "
                    "scored by benchmarks/openloop.py where the rate is stated")
        if conc and inp:
            return Case(r, "prefill_b1", f"TTFT(1 x {inp:g}) in steady state at concurrency "
                        f"{conc:g}", lambda e: serving.ttft_ms(g, m, 1, inp, wd, kv, tp, e),
                        **base)
        return "TTFT without a prompt length"

    # -- static batching (fixed batch, all prompts together) -----------------------------------
    if "static batching" in low:
        if not (conc and inp and out):
            return "static batch without batch size and lengths"
        b = float(conc)
        if not memory.fits(g, m, wd, kv, inp + out / 2, b, tp):
            return "the stated static batch does not fit in the catalog memory"

        def static(e):
            pre = roofline.prefill_time(g, m, b, inp, wd, kv, tp, e)
            dec = roofline.decode_step_time(g, m, b, inp + out / 2, wd, kv, tp, e)
            return b * out / (pre + out * dec)
        return Case(r, "static_batch", f"batch {b:g}: prefill {inp:g} + {out:g} steps, "
                    f"{par}", scale_total(static, replicas), **base)

    # -- decode nodes of a disaggregated deployment --------------------------------------------
    if metric == "output_tok_per_s" and "decode" in conc_text.lower():
        if not inp:
            return "decode throughput without a context length"
        ctx = inp + (out or 0) / 2
        if conc and "per device" in conc_text.lower():
            batch_fn = lambda e: float(conc * group)
            what = f"{conc:g} per GPU"
        elif group == tp:
            batch_fn = lambda e: float(serving.concurrency_under_load(
                g, m, inp, out or 1, wd, kv, tp, 0.9, e))
            what = "the most that fits (engine cap)"
        else:
            batch_fn = lambda e: pooled_concurrency(g, m, inp + (out or 1), wd, kv, group, e)
            what = "the most that fits (engine cap)"

        def decode_only(e):
            return serving.tokens_per_sec(g, m, batch_fn(e), ctx, wd, kv, tp, e)
        if not np.isfinite(decode_only(None)):
            return "the decode batch does not fit in the replica's memory"
        return Case(r, "under_load", f"decode only, batch {what}, context {ctx:g}, "
                    f"{par}", scale_total(decode_only, replicas), **base)

    if not (inp and out):
        return "under-load row without both input and output lengths (e.g. an MLPerf dataset " \
               "whose mean prompt length is not recorded): the prefill share is unknown"
    if metric == "ttft_ms":
        return "TTFT under load"

    # -- under load at a stated concurrency ----------------------------------------------------
    if conc:
        c = float(conc)
        if not memory.fits(g, m, wd, kv, inp + out, c, tp):
            return "the stated concurrency does not fit in the catalog memory"
        thr = lambda e: serving.throughput_at_concurrency(g, m, c, inp, out, wd, kv, tp, e)
        cls = "tp_decode" if (tp > 1 and c <= 16) else "under_load"
        if metric == "output_tok_per_s":
            return Case(r, cls, f"continuous batching at concurrency {c:g}, "
                        f"{par}", scale_total(thr, replicas), **base)
        if metric == "tpot_ms":
            return Case(r, cls, f"mean TPOT = {c:g} / throughput at concurrency {c:g}",
                        lambda e: 1e3 * c / thr(e), **base)
        if metric == "itl_ms":
            ctx = inp + out / 2
            return Case(r, cls, f"median ITL = decode step at batch {c:g}, "
                        f"context {ctx:g}", lambda e: serving.itl_ms(g, m, c, ctx, wd, kv, tp, e),
                        **base)
        if metric == "req_per_s":
            return Case(r, cls, f"throughput at concurrency {c:g} / {out:g}",
                        scale_total(lambda e: thr(e) / out, replicas), **base)
        return f"{metric} under load is not mapped"

    # -- under saturating load: the engine picks the batch -------------------------------------
    if group == tp:
        mt = lambda e: serving.max_throughput(g, m, inp, out, wd, kv, tp, e)
        conc_fn = lambda e: serving.concurrency_under_load(g, m, inp, out, wd, kv, tp, 0.9, e)
    else:  # pooled EP group: the same rule, with the cap of all its GPUs
        conc_fn = lambda e: pooled_concurrency(g, m, inp + out, wd, kv, group, e)
        mt = lambda e: serving.throughput_at_concurrency(g, m, conc_fn(e), inp, out, wd, kv, 1, e)
    if not np.isfinite(mt(None)):
        return "not even one request fits in the replica's memory"
    if metric == "output_tok_per_s":
        return Case(r, "under_load", f"max_throughput({inp:g}/{out:g}), {par}",
                    scale_total(mt, replicas), **base)
    if metric in ("tpot_ms", "itl_ms"):
        def tpot(e):
            return 1e3 * float(conc_fn(e)) / mt(e)
        return Case(r, "under_load", "mean TPOT = concurrency / max_throughput", tpot, **base)
    if metric == "req_per_s":
        return Case(r, "under_load", f"max_throughput / {out:g}",
                    scale_total(lambda e: mt(e) / out, replicas), **base)
    return f"{metric} under load is not mapped"


# --- scoring --------------------------------------------------------------------------------

MODES = {"calibrated": None, "roofline": 1.0}


def evaluate(cases, modes=MODES):
    """Fill ``case.pred[mode]`` for every case (NaN where the engine has no finite answer)."""
    for c in cases:
        for name, eff in modes.items():
            try:
                c.pred[name] = float(c.predict(eff))
            except (NapkinError, ZeroDivisionError, FloatingPointError):
                c.pred[name] = float("nan")
    return cases


def abs_pct_error(pred, measured):
    return abs(pred / measured - 1.0) * 100.0


def log_error(pred, measured):
    return abs(math.log(pred / measured))


def summarise(cases, mode):
    """{class: (n, median %, p90 %)} plus ``overall``."""
    out = {}
    groups = {k: [] for k in CLASSES}
    for c in cases:
        p = c.pred.get(mode, float("nan"))
        err = abs_pct_error(p, c.measured) if np.isfinite(p) and p > 0 else float("inf")
        groups[c.cls].append(err)
    allerr = [e for v in groups.values() for e in v]
    for k, errs in list(groups.items()) + [("overall", allerr)]:
        if errs:
            a = np.array(errs)
            out[k] = (len(a), float(np.median(a)), float(np.percentile(a, 90)))
    return out


def vendor_table(cases) -> str:
    """Median absolute % error by GPU vendor (calibrated and pure roofline)."""
    by = {}
    for c in cases:
        by.setdefault(catalog.gpu(c.gpu).vendor or "?", []).append(c)
    lines = ["| vendor | n | calibrated median | roofline median |", "|---|---:|---:|---:|"]
    for v, cs in sorted(by.items(), key=lambda kv: -len(kv[1])):
        cal = summarise(cs, "calibrated")["overall"]
        roof = summarise(cs, "roofline")["overall"]
        lines.append(f"| {v} | {cal[0]} | {cal[1]:.1f} % | {roof[1]:.1f} % |")
    return "\n".join(lines)


def table(cases) -> str:
    cal, roof = summarise(cases, "calibrated"), summarise(cases, "roofline")
    head = ("| class | n | calibrated median | calibrated p90 | roofline median | "
            "roofline p90 |\n|---|---:|---:|---:|---:|---:|")
    lines = [head]
    for k in list(CLASSES) + ["overall"]:
        if k not in cal:
            continue
        n, cm, cp = cal[k]
        _, rm, rp = roof[k]
        name = CLASSES.get(k, "**overall**")
        name = f"{k}: {name}" if k in CLASSES else name
        lines.append(f"| {name} | {n} | {cm:.1f} % | {cp:.1f} % | {rm:.1f} % | {rp:.1f} % |")
    return "\n".join(lines)


def worst(cases, k=10, mode="calibrated"):
    def err(c):
        p = c.pred.get(mode, float("nan"))
        return abs_pct_error(p, c.measured) if np.isfinite(p) and p > 0 else float("inf")
    return sorted(cases, key=err, reverse=True)[:k]


def diagnosis(case) -> str:
    """A short, rule-based account of why a row is off: the direction and size of the miss,
    what the data itself flags, and the known weak spots of the model that apply."""
    r, notes = case.row, case.row["notes"]
    p = case.pred.get("calibrated", float("nan"))
    why = []
    if np.isfinite(p) and p > 0:
        ratio = p / case.measured
        higher = r["metric"] not in ("itl_ms", "tpot_ms", "ttft_ms")  # speed, not a time
        faster = ratio > 1 if higher else ratio < 1
        factor = max(ratio, 1 / ratio)
        why.append(f"model {'faster' if faster else 'slower'} than measured by {factor:.1f}x")
    trust = re.match(r"trust=([A-C]-?)", notes)
    if trust and trust.group(1) not in ("A",):
        why.append(f"trust {trust.group(1)}")
    if "AMBIGUOUS" in notes:
        why.append("the data flags this value's per-GPU/total reading as ambiguous")
    if "llama.cpp" in r["engine"] and case.cls.startswith("prefill"):
        why.append("llama.cpp prefill reaches 0.2-0.9 of the peak depending on the GPU")
    if "llama.cpp" in r["engine"] and case.cls == "decode_b1":
        why.append("llama.cpp batch-1 bandwidth share varies 0.4-0.9 by GPU")
    m = catalog.model(case.model)
    if m.attention_layers and m.attention_layers < m.layers:
        why.append("hybrid model: the non-attention (Mamba) layers' work is not modelled")
    if m.is_moe and case.cls == "under_load":
        why.append("MoE under load: routing and grouped-GEMM losses beyond the fitted overhead")
    if "static batching" in notes.lower():
        why.append("2023 static-batching engine")
    roof = case.pred.get("roofline", float("nan"))
    if np.isfinite(roof) and roof > 0:
        share = case.measured / roof if r["metric"] not in ("itl_ms", "tpot_ms", "ttft_ms") \
            else roof / case.measured
        if share < 0.25:
            why.append(f"the measurement reaches only {share:.0%} of the pure roofline")
    return "; ".join(why)


def write_csv(cases, skips, path):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["line", "class", "source", "gpu", "model", "metric", "measured",
                    "calibrated", "roofline", "calibrated_err_pct", "roofline_err_pct", "mapping",
                    "skipped_because"])
        for c in cases:
            cal, roof = c.pred.get("calibrated"), c.pred.get("roofline")
            w.writerow([c.line, c.cls, c.source, c.gpu, c.model, c.row["metric"], c.measured,
                        f"{cal:.6g}", f"{roof:.6g}", f"{abs_pct_error(cal, c.measured):.2f}",
                        f"{abs_pct_error(roof, c.measured):.2f}", c.how, ""])
        for s in skips:
            w.writerow([s.row["_line"], "", source_key(s.row), s.row["gpu"], s.row["model"],
                        s.row["metric"], s.row["value"], "", "", "", "", "", s.reason])


def main(argv=None, *, quiet=False):
    """Run the benchmark; returns ``{"cases", "skips", "calibrated", "roofline"}``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", action="append", metavar="CSV",
                    help="measured CSV, repeatable [benchmarks/data/measured_dev.csv and "
                         "measured_extra.csv]")
    ap.add_argument("--csv", metavar="OUT", help="write every row's predictions to OUT")
    ap.add_argument("--limit", type=int, help="use only the first N rows of the data")
    ap.add_argument("--worst", type=int, default=10, help="how many worst rows to list")
    args = ap.parse_args(argv)
    data = args.data or DEFAULT_DATA
    rows = load_rows(data)[: args.limit]
    cases, skips = build_cases(rows)
    evaluate(cases)
    result = {"cases": cases, "skips": skips, "calibrated": summarise(cases, "calibrated"),
              "roofline": summarise(cases, "roofline")}
    if args.csv:
        write_csv(cases, skips, args.csv)
    if quiet:
        return result
    names = ", ".join(Path(d).name for d in data)
    print(f"{len(rows)} rows in {names}: {len(cases)} scored, {len(skips)} skipped\n")
    print("absolute % error of the prediction vs the measurement\n")
    print(table(cases))
    print("\nby GPU vendor:\n")
    print(vendor_table(cases))
    print(f"\n{args.worst} worst rows (calibrated):\n")
    print("| line | row | measured | calibrated | roofline | mapping | why |\n"
          "|---:|---|---:|---:|---:|---|---|")
    for c in worst(cases, args.worst):
        print(f"| {c.line} | {c.label()} | {c.measured:.4g} | {c.pred['calibrated']:.4g} | "
              f"{c.pred['roofline']:.4g} | {c.how} | {diagnosis(c)} |")
    print("\nskipped rows:\n")
    reasons = {}
    for s in skips:
        reasons.setdefault(s.reason, []).append(s.row["_line"])
    for reason, lines in reasons.items():
        print(f"* {len(lines)} row(s), lines {_ranges(lines)}: {reason}")
    return result


def _ranges(lines):
    """``["dev:3", "dev:4", "dev:5", "extra:9"]`` -> ``"dev:3-5, extra:9"``."""
    by_file = {}
    for tag_line in lines:
        tag, _, n = str(tag_line).rpartition(":")
        by_file.setdefault(tag, []).append(int(n))
    out = []
    for tag, nums in by_file.items():
        nums, start = sorted(nums), None
        for i, x in enumerate(nums):
            if start is None:
                start = x
            if i + 1 == len(nums) or nums[i + 1] != x + 1:
                out.append(f"{tag}:{start}" if start == x else f"{tag}:{start}-{x}")
                start = None
    return ", ".join(out)


if __name__ == "__main__":
    main()
