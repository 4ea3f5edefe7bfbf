"""Measure one GPU's achieved ceilings and a synthetic Llama-3.1-8B forward pass, and set the
model's predictions for the same work beside them.

Two modes:

``python benchmarks/gpu_probe.py run OUT.json [--tiny] [--parts memory gemm forward moe tp]``
    On a machine with PyTorch and a CUDA GPU (``--tiny``: small shapes, on the CPU too, to test
    the script). Times, with CUDA events, the median of repeated runs after warm-ups:

    * memory: a device-to-device copy (bytes read + written) and a sum over a bf16 tensor
      (bytes read), 4 GiB each;
    * matrix products: bf16 8192^3 (and fp8 through ``torch._scaled_mm`` where it runs), and
      the four projections of a Llama-3.1-8B layer at 1 to 32,768 rows, rotating over enough
      weight copies that no run reads its weights from L2;
    * routed-expert GEMMs of Mixtral-8x7B, gpt-oss-120b and DeepSeek-V3 shapes (random routing)
      as one grouped GEMM and as a loop, beside one dense GEMM of the same rows;
    * one GPU's share of a tensor-parallel decode step (Llama-3.1-8B on 1-8 GPUs, 70B on 2-8:
      heads, MLP and vocabulary split as vLLM splits them, no all-reduce) at batch 1 and 16;
    * a Llama-3.1-8B forward pass with random bf16 weights (32 layers, hidden 4,096, 32 query
      and 8 KV heads, MLP 14,336, vocabulary 128,256: the model's ``config.json``; RMSNorm and
      SiLU-gated MLP, no rotary embedding, which is elementwise): a batch-1 prefill of 128 to
      32,768 tokens (causal flash attention, logits of the last token only) and a decode step
      over a KV cache at several batches and contexts, each replayed as a CUDA graph (as vLLM
      and TensorRT-LLM run decode) and, for the prefill, also eagerly.

    It needs nothing from this repository, so it runs under the device's own Python.

``python benchmarks/gpu_probe.py compare OUT.json [--gpu h200-sxm]``
    Prints each measurement beside xlnapkin's prediction for the same work on the catalog GPU:
    the calibrated model, and its kernel part alone (the calibrated model without the fixed
    per-step, per-layer and per-request times, which stand for the serving stack: scheduling,
    sampling, Python). A probe times kernels, not a serving stack, so the kernel part is what
    it checks; the fixed times are the difference a real engine adds.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

LLAMA_8B = dict(layers=32, hidden=4096, heads=32, kv_heads=8, head_dim=128, mlp=14336,
                vocab=128256)
TINY = dict(layers=2, hidden=256, heads=4, kv_heads=2, head_dim=64, mlp=512, vocab=1024)

PREFILL_TOKENS = [128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768]
DECODE = [(1, 1024), (1, 8192), (8, 1024), (16, 2048), (32, 1024), (64, 2048), (128, 1024),
          (256, 1024), (64, 8192)]
GEMM_ROWS = [1, 8, 32, 128, 512, 2048, 8192, 32768]


# -- measuring (PyTorch) ---------------------------------------------------------------------

def _timer(torch, dev):
    """``time(fn, reps, warm)``: median seconds of ``fn()`` (events on CUDA, clock on CPU)."""
    def time_it(fn, reps=20, warm=3):
        for _ in range(warm):
            fn()
        out = []
        for _ in range(reps):
            if dev == "cuda":
                a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                a.record()
                fn()
                b.record()
                b.synchronize()
                out.append(a.elapsed_time(b) / 1e3)
            else:
                t = time.perf_counter()
                fn()
                out.append(time.perf_counter() - t)
        return statistics.median(out)
    return time_it


def _graphed(torch, dev, fn):
    """``fn`` captured as a CUDA graph (its replay), or ``fn`` itself off CUDA."""
    if dev != "cuda":
        return fn
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(2):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    return g.replay


def _memory(torch, dev, tm, tiny):
    n = (1 << 20) if tiny else (2 << 30)  # bf16 elements: 4 GiB
    a = torch.randn(n, device=dev, dtype=torch.bfloat16)
    b = torch.empty_like(a)
    copy = tm(lambda: b.copy_(a))
    total = tm(lambda: a.sum(dtype=torch.float32))
    a = b = None  # free the 8 GiB before the next part
    return {"copy_tbps": 2 * n * 2 / copy / 1e12, "read_tbps": n * 2 / total / 1e12}


def _gemms(torch, dev, tm, cfg, tiny):
    out = {}
    n = 512 if tiny else 8192
    x = torch.randn(n, n, device=dev, dtype=torch.bfloat16)
    y = torch.randn(n, n, device=dev, dtype=torch.bfloat16)
    out["bf16_square_tflops"] = 2 * n ** 3 / tm(lambda: x @ y) / 1e12
    try:
        f8 = torch.float8_e4m3fn
        xf, yf = x.to(f8), y.to(f8).t().contiguous().t()
        one = torch.ones((), device=dev)
        out["fp8_square_tflops"] = 2 * n ** 3 / tm(
            lambda: torch._scaled_mm(xf, yf, one, one, out_dtype=torch.bfloat16)) / 1e12
    except Exception as e:  # no fp8 path on this device or build
        out["fp8_square_tflops"] = None
        out["fp8_error"] = f"{type(e).__name__}: {e}"[:200]
    x = y = None
    h, q = cfg["hidden"], cfg["heads"] * cfg["head_dim"]
    kv = cfg["kv_heads"] * cfg["head_dim"]
    shapes = {"qkv": (h, q + 2 * kv), "o": (q, h), "gate_up": (h, 2 * cfg["mlp"]),
              "down": (cfg["mlp"], h)}
    rows = [r for r in GEMM_ROWS if not tiny or r <= 512]
    table = []
    for name, (k, m) in shapes.items():
        copies = 1 if tiny else max(2, int(4e8 // (k * m * 2)) + 1)  # > 400 MB: beyond L2
        ws = [torch.randn(m, k, device=dev, dtype=torch.bfloat16) for _ in range(copies)]
        for r in rows:
            a = torch.randn(r, k, device=dev, dtype=torch.bfloat16)
            i = [0]

            def step():
                i[0] = (i[0] + 1) % copies
                return torch.nn.functional.linear(a, ws[i[0]])
            t = tm(step, reps=30)
            flops, byts = 2 * r * k * m, 2 * (k * m + r * k + r * m)
            table.append({"shape": name, "k": k, "n": m, "rows": r, "s": t,
                          "tflops": flops / t / 1e12, "tbps": byts / t / 1e12})
        ws = None
    out["projections"] = table
    return out


MOE = {  # experts, routed per token, hidden, expert MLP width (each model's config.json)
    "mixtral-8x7b": (8, 2, 4096, 14336),
    "gpt-oss-120b": (128, 4, 2880, 2880),
    "deepseek-v3": (256, 8, 7168, 2048),
}
MOE_TOKENS = [16, 128, 1024, 8192]


def _moe(torch, dev, tm, tiny):
    """One layer's routed gate/up projection: tokens routed at random to ``k`` of ``E`` experts,
    run as one grouped GEMM (``torch._grouped_mm``, where it runs) and as a loop of per-expert
    GEMMs, beside one dense GEMM of the same rows and shape (the same FLOPs on one weight)."""
    out = []
    for name, (E, k, h, f) in MOE.items():
        if tiny:
            E, h, f = min(E, 8), 128, 128
        w = torch.randn(E, 2 * f, h, device=dev, dtype=torch.bfloat16) * h ** -0.5
        for T in MOE_TOKENS if not tiny else [16, 128]:
            rows = T * k
            counts = torch.bincount(torch.randint(E, (rows,), device=dev), minlength=E)
            offs = torch.cumsum(counts, 0).to(torch.int32)
            a = torch.randn(rows, h, device=dev, dtype=torch.bfloat16)
            sizes = counts.tolist()
            parts = list(a.split(sizes))

            def loop():
                return [torch.nn.functional.linear(p, w[e]) for e, p in enumerate(parts)
                        if p.shape[0]]
            r = {"model": name, "experts": E, "k": k, "tokens": T, "rows": rows,
                 "experts_hit": int((counts > 0).sum()), "flops": 2 * rows * h * 2 * f,
                 "loop_s": tm(loop, reps=10)}
            try:
                wt = w.transpose(1, 2)  # [E, h, 2f]
                r["grouped_s"] = tm(lambda: torch._grouped_mm(a, wt, offs=offs), reps=20)
            except Exception as e:
                r["grouped_s"] = None
                r["grouped_error"] = f"{type(e).__name__}: {e}"[:200]
            r["dense_s"] = tm(lambda: torch.nn.functional.linear(a, w[0]), reps=20)
            out.append(r)
            print(f"moe {name} T={T}: dense {r['dense_s'] * 1e3:.3f} ms, grouped "
                  f"{(r['grouped_s'] or float('nan')) * 1e3:.3f} ms, loop "
                  f"{r['loop_s'] * 1e3:.3f} ms", flush=True)
        w = None
    return out


class _Llama:
    """A Llama-architecture decoder with random bf16 weights: enough to time its kernels."""

    def __init__(self, torch, dev, cfg):
        self.t, self.cfg = torch, cfg
        F = torch.nn.functional
        self.F = F
        h, q = cfg["hidden"], cfg["heads"] * cfg["head_dim"]
        kv = cfg["kv_heads"] * cfg["head_dim"]

        def w(o, i):
            return torch.randn(o, i, device=dev, dtype=torch.bfloat16) * (i ** -0.5)
        self.layers = [dict(n1=torch.ones(h, device=dev, dtype=torch.bfloat16),
                            qkv=w(q + 2 * kv, h), o=w(h, q),
                            n2=torch.ones(h, device=dev, dtype=torch.bfloat16),
                            gu=w(2 * cfg["mlp"], h), d=w(h, cfg["mlp"]))
                       for _ in range(cfg["layers"])]
        self.norm = torch.ones(h, device=dev, dtype=torch.bfloat16)
        self.head = w(cfg["vocab"], h)
        self.bytes = sum(p.numel() * 2 for L in self.layers for p in L.values()) \
            + self.head.numel() * 2 + h * 2
        self.params = self.bytes / 2
        self.dev = dev

    def _mlp(self, x, L):
        F = self.F
        g, u = F.linear(F.rms_norm(x, (x.shape[-1],), L["n2"]), L["gu"]).chunk(2, dim=-1)
        return x + F.linear(F.silu(g) * u, L["d"])

    def prefill(self, x, cache):
        """``x``: [1, T, hidden]; writes each layer's K and V into ``cache``; last logits."""
        c, F = self.cfg, self.F
        T, H, G, D = x.shape[1], c["heads"], c["kv_heads"], c["head_dim"]
        for L, (kc, vc) in zip(self.layers, cache):
            qkv = F.linear(F.rms_norm(x, (x.shape[-1],), L["n1"]), L["qkv"])
            q, k, v = qkv.split([H * D, G * D, G * D], dim=-1)
            q = q.view(1, T, H, D).transpose(1, 2)
            k = k.view(1, T, G, D).transpose(1, 2)
            v = v.view(1, T, G, D).transpose(1, 2)
            kc[:, :, :T].copy_(k)
            vc[:, :, :T].copy_(v)
            k = k.repeat_interleave(H // G, dim=1)
            v = v.repeat_interleave(H // G, dim=1)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + F.linear(a.transpose(1, 2).reshape(1, T, H * D), L["o"])
            x = self._mlp(x, L)
        last = F.rms_norm(x[:, -1], (x.shape[-1],), self.norm)
        return F.linear(last, self.head).argmax(-1)

    def decode(self, x, cache, ctx):
        """``x``: [B, hidden], one new token per sequence at position ``ctx``."""
        c, F = self.cfg, self.F
        B, H, G, D = x.shape[0], c["heads"], c["kv_heads"], c["head_dim"]
        for L, (kc, vc) in zip(self.layers, cache):
            qkv = F.linear(F.rms_norm(x, (x.shape[-1],), L["n1"]), L["qkv"])
            q, k, v = qkv.split([H * D, G * D, G * D], dim=-1)
            kc[:, :, ctx].copy_(k.view(B, G, D))
            vc[:, :, ctx].copy_(v.view(B, G, D))
            # a KV head's query heads as the rows of one attention: K and V read once
            a = F.scaled_dot_product_attention(q.view(B, G, H // G, D), kc[:, :, :ctx + 1],
                                               vc[:, :, :ctx + 1])
            x = x + F.linear(a.reshape(B, H * D), L["o"])
            x = self._mlp(x, L)
        return F.linear(F.rms_norm(x, (x.shape[-1],), self.norm), self.head).argmax(-1)


LLAMA_70B = dict(layers=80, hidden=8192, heads=64, kv_heads=8, head_dim=128, mlp=28672,
                 vocab=128256)
TP_CASES = [("llama-3.1-8b", LLAMA_8B, (1, 2, 4, 8)), ("llama-3.1-70b", LLAMA_70B, (2, 4, 8))]
TP_BATCHES, TP_CONTEXT = (1, 16), 1024


def _tp_slices(torch, dev, tm, tiny):
    """One GPU's share of a tensor-parallel decode step: every layer's heads, KV heads, MLP
    width and vocabulary split over ``tp`` GPUs as vLLM splits them, the all-reduces left out
    (one GPU has no peers): the kernels' time as the replica's GPUs grow, at batch 1 and 16."""
    out = []
    for name, full, tps in TP_CASES:
        for tp in tps if not tiny else (1, 2):
            cfg = dict(TINY if tiny else full)
            cfg.update(heads=cfg["heads"] // tp, kv_heads=max(1, cfg["kv_heads"] // tp),
                       mlp=cfg["mlp"] // tp, vocab=cfg["vocab"] // tp)
            model = _Llama(torch, dev, cfg)
            G, D, ctx = cfg["kv_heads"], cfg["head_dim"], 64 if tiny else TP_CONTEXT
            with torch.inference_mode(), _flash(torch, dev):
                for B in TP_BATCHES:
                    cache = [(torch.randn(B, G, ctx + 1, D, device=dev, dtype=torch.bfloat16),
                              torch.randn(B, G, ctx + 1, D, device=dev, dtype=torch.bfloat16))
                             for _ in range(cfg["layers"])]
                    x = torch.randn(B, cfg["hidden"], device=dev, dtype=torch.bfloat16)
                    t = tm(_graphed(torch, dev, lambda: model.decode(x, cache, ctx)), reps=30)
                    out.append({"model": name, "tp": tp, "batch": B, "context": ctx,
                                "graph_s": t, "weight_bytes": model.bytes})
                    print(f"tp slice {name} tp={tp} b={B}: {t * 1e3:.3f} ms "
                          f"({model.bytes / t / 1e12:.2f} TB/s of weights)", flush=True)
                    cache = None
            model = None
            if dev == "cuda":
                torch.cuda.empty_cache()
    return out


def _flash(torch, dev):
    """A context that forces flash (or memory-efficient) attention on CUDA, so a silent fallback
    to the quadratic-memory math kernel fails instead of timing something else; none off CUDA
    or where PyTorch cannot choose."""
    import contextlib
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:
        return contextlib.nullcontext()
    if dev != "cuda":
        return contextlib.nullcontext()
    return sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION])


def _forward(torch, dev, tm, cfg, tiny):
    model = _Llama(torch, dev, cfg)
    G, D = cfg["kv_heads"], cfg["head_dim"]
    out = {"weight_bytes": model.bytes, "params": model.params, "prefill": [], "decode": []}
    tokens = [t for t in PREFILL_TOKENS if not tiny or t <= 512]
    cache = [(torch.empty(1, G, max(tokens), D, device=dev, dtype=torch.bfloat16),
              torch.empty(1, G, max(tokens), D, device=dev, dtype=torch.bfloat16))
             for _ in range(cfg["layers"])]
    with torch.inference_mode(), _flash(torch, dev):
        for T in tokens:
            x = torch.randn(1, T, cfg["hidden"], device=dev, dtype=torch.bfloat16)
            reps = 5 if T >= 8192 else 15
            eager = tm(lambda: model.prefill(x, cache), reps=reps, warm=2)
            graph = tm(_graphed(torch, dev, lambda: model.prefill(x, cache)), reps=reps, warm=2)
            out["prefill"].append({"tokens": T, "eager_s": eager, "graph_s": graph})
            print(f"prefill {T:6d}: eager {eager * 1e3:8.2f} ms, graph {graph * 1e3:8.2f} ms",
                  flush=True)
        cache = None
        for B, ctx in DECODE if not tiny else [(1, 64), (4, 128)]:
            cache = [(torch.randn(B, G, ctx + 1, D, device=dev, dtype=torch.bfloat16),
                      torch.randn(B, G, ctx + 1, D, device=dev, dtype=torch.bfloat16))
                     for _ in range(cfg["layers"])]
            x = torch.randn(B, cfg["hidden"], device=dev, dtype=torch.bfloat16)
            graph = tm(_graphed(torch, dev, lambda: model.decode(x, cache, ctx)), reps=30)
            eager = tm(lambda: model.decode(x, cache, ctx), reps=10)
            out["decode"].append({"batch": B, "context": ctx, "graph_s": graph,
                                  "eager_s": eager})
            print(f"decode b={B:4d} ctx={ctx:5d}: graph {graph * 1e3:7.3f} ms, "
                  f"eager {eager * 1e3:7.3f} ms", flush=True)
            cache = None
    return out


def run(path, tiny=False, parts=None):
    import torch
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    tm = _timer(torch, dev)
    cfg = TINY if tiny else LLAMA_8B
    res = {"device": torch.cuda.get_device_name() if dev == "cuda" else "cpu",
           "torch": torch.__version__, "tiny": tiny, "config": cfg,
           "date": time.strftime("%Y-%m-%d")}
    torch.manual_seed(0)
    for name, part in [("memory", lambda: _memory(torch, dev, tm, tiny)),
                       ("gemm", lambda: _gemms(torch, dev, tm, cfg, tiny)),
                       ("forward", lambda: _forward(torch, dev, tm, cfg, tiny)),
                       ("moe", lambda: _moe(torch, dev, tm, tiny)),
                       ("tp", lambda: _tp_slices(torch, dev, tm, tiny))]:
        if parts and name not in parts:
            continue
        t0 = time.time()
        try:
            res[name] = part()
        except Exception as e:  # keep what the other parts measured
            res[name] = {"error": f"{type(e).__name__}: {e}"[:500]}
        res[name + "_wall_s"] = time.time() - t0
        print(name, "done in", round(time.time() - t0, 1), "s", flush=True)
        Path(path).write_text(json.dumps(res, indent=1))
        if dev == "cuda":
            torch.cuda.empty_cache()
    return res


# -- comparing (xlnapkin) --------------------------------------------------------------------

def model_beside(res, gpu="h200-sxm", model="llama-3.1-8b"):
    """The probe's prefill and decode rows, each with the model's ``kernels_s`` (the calibrated
    model without its fixed per-step, per-layer and per-prefill times) and ``calibrated_s`` for
    the same work (bf16, batch-1 prefill; decode at the row's batch and context), and the
    prefill's achieved share of the dense peak (``mfu``)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import dataclasses
    from xlnapkin import catalog, roofline
    from xlnapkin.calibration import DEFAULTS
    g, m = catalog.gpu(gpu), catalog.model(model)
    kernels = dataclasses.replace(DEFAULTS, step_overhead_s=0.0, layer_overhead_s=0.0,
                                  moe_layer_overhead_s=0.0, prefill_overhead_s=0.0)
    fw = res.get("forward", {})
    prefill = [dict(r, kernels_s=roofline._prefill(g, m, 1.0, float(r["tokens"]), "bf16", None,
                                                   1.0, kernels),
                    calibrated_s=roofline.prefill_time(g, m, 1, r["tokens"], "bf16"),
                    mfu=roofline.prefill_flops(m, 1, r["tokens"]) / r["graph_s"]
                    / g.peak_flops("bf16"))
               for r in fw.get("prefill", [])]
    decode = [dict(r, kernels_s=roofline._decode_step(g, m, float(r["batch"]),
                                                      float(r["context"]), "bf16", None, 1.0,
                                                      kernels),
                   calibrated_s=roofline.decode_step_time(g, m, r["batch"], r["context"],
                                                          "bf16"))
              for r in fw.get("decode", [])]
    return prefill, decode


def tp_beside(res, gpu="h200-sxm"):
    """The probe's tensor-parallel slices, each with the model's step for one GPU of the replica
    without communication: ``kernels_s`` (no fixed times) and ``fixed_s`` (the calibrated
    per-step and per-layer times included)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import dataclasses
    from xlnapkin import catalog, roofline
    from xlnapkin.calibration import DEFAULTS
    g = catalog.gpu(gpu)
    fixed = dataclasses.replace(DEFAULTS, comm=0.0)
    kernels = dataclasses.replace(fixed, step_overhead_s=0.0, layer_overhead_s=0.0,
                                  moe_layer_overhead_s=0.0)
    return [dict(r, **{k: roofline._decode_step(g, catalog.model(r["model"]), float(r["batch"]),
                                                float(r["context"]), "bf16", None,
                                                float(r["tp"]), e)
                       for k, e in (("kernels_s", kernels), ("fixed_s", fixed))})
            for r in res.get("tp", [])]


def compare(path, gpu="h200-sxm", model="llama-3.1-8b"):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from xlnapkin import catalog
    from xlnapkin.calibration import DEFAULTS
    res = json.loads(Path(path).read_text())
    g = catalog.gpu(gpu)
    print(f"device: {res['device']}, torch {res['torch']}, {res['date']}; catalog GPU {gpu}: "
          f"{g.bandwidth / 1e12:.2f} TB/s, {g.peak_flops('bf16') / 1e12:.0f} dense bf16 TFLOP/s")
    mem, gm = res.get("memory", {}), res.get("gemm", {})
    if "copy_tbps" in mem:
        print(f"copy {mem['copy_tbps']:.2f} TB/s, read {mem['read_tbps']:.2f} TB/s = "
              f"{mem['read_tbps'] * 1e12 / g.bandwidth:.2f} of the datasheet "
              f"(calibrated MBU {DEFAULTS.mbu})")
    if "bf16_square_tflops" in gm:
        fp8 = gm.get("fp8_square_tflops")
        print(f"bf16 8192^3 {gm['bf16_square_tflops']:.0f} TFLOP/s = "
              f"{gm['bf16_square_tflops'] * 1e12 / g.peak_flops('bf16'):.2f} of dense peak; fp8 "
              + (f"{fp8:.0f} TFLOP/s" if fp8 else gm.get("fp8_error", "not run")))
    prefill, decode = model_beside(res, gpu, model)
    if prefill:
        print("\nbatch-1 prefill (ms): measured graph / eager; model kernels / calibrated"
              "\n tokens  graph   eager  kernels  calibr.  graph MFU")
        for r in prefill:
            print(f"{r['tokens']:7d} {r['graph_s'] * 1e3:7.2f} {r['eager_s'] * 1e3:7.2f} "
                  f"{r['kernels_s'] * 1e3:8.2f} {r['calibrated_s'] * 1e3:8.2f}  {r['mfu']:8.2f}")
    if decode:
        print("\ndecode step (ms): measured graph / eager; model kernels / calibrated"
              "\n batch context  graph   eager  kernels  calibr.")
        for r in decode:
            print(f"{r['batch']:6d} {r['context']:7d} {r['graph_s'] * 1e3:7.3f} "
                  f"{r['eager_s'] * 1e3:7.3f} {r['kernels_s'] * 1e3:8.3f} "
                  f"{r['calibrated_s'] * 1e3:8.3f}")
    moe = res.get("moe")
    if isinstance(moe, list):
        print(f"\nrouted expert GEMMs (gate/up, one layer): TFLOP/s and share of one dense "
              f"GEMM of the same rows (calibrated moe_mfu_factor {DEFAULTS.moe_mfu_factor})")
        for r in moe:
            dense = r["flops"] / r["dense_s"] / 1e12
            best = min(t for t in (r["grouped_s"], r["loop_s"]) if t)
            print(f"  {r['model']:13s} tokens {r['tokens']:5d} ({r['experts_hit']:3d}/"
                  f"{r['experts']:3d} experts hit): dense {dense:6.1f}, best routed "
                  f"{r['flops'] / best / 1e12:6.1f} TFLOP/s = {r['dense_s'] / best:.2f}, "
                  f"{r['experts_hit'] * r['flops'] / r['rows'] / best / 1e12:5.2f} TB/s of "
                  f"expert weights"
                  + (" (grouped)" if best == r["grouped_s"] else " (loop)"))
    tp = res.get("tp")
    if isinstance(tp, list):
        print("\none GPU's share of a tensor-parallel decode step (ms; no all-reduce): measured"
              " / the model's kernel part / with its per-layer and per-step times")
        for r in tp_beside(res, gpu):
            print(f"  {r['model']:14s} tp {r['tp']} batch {r['batch']:3d}: "
                  f"{r['graph_s'] * 1e3:7.3f} {r['kernels_s'] * 1e3:7.3f} "
                  f"{r['fixed_s'] * 1e3:7.3f}")
    if "projections" in gm:
        print("\nprojection GEMMs: rows -> TFLOP/s (TB/s)")
        for r in gm["projections"]:
            print(f"  {r['shape']:8s} {r['k']:6d}x{r['n']:6d} rows {r['rows']:6d}: "
                  f"{r['tflops']:7.1f} TFLOP/s {r['tbps']:5.2f} TB/s")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("run")
    r.add_argument("out")
    r.add_argument("--tiny", action="store_true")
    r.add_argument("--parts", nargs="+", choices=["memory", "gemm", "forward", "moe", "tp"],
                   help="only these parts (all of them)")
    c = sub.add_parser("compare")
    c.add_argument("results")
    c.add_argument("--gpu", default="h200-sxm")
    a = p.parse_args(argv)
    if a.mode == "run":
        run(a.out, a.tiny, a.parts)
    else:
        compare(a.results, a.gpu)


if __name__ == "__main__":
    main()
