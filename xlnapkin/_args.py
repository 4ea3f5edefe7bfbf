"""The arguments many functions share, described once.

A docstring's ``name: *`` line under Args takes its words (and unit) from :data:`ARGS` when its
module is imported (:func:`fill`), so the wizard, the reference and each function command's
help (``xlnapkin tokens-per-sec --help``) read one description wherever the argument means the
same thing. An argument that means something else in one function (a percentile of requests
rather than of time) keeps its own line there.
"""

from __future__ import annotations

import re

ARGS = {
    # what is served
    "gpu": 'GPU catalog id or spec string, e.g. "h100-sxm" or "b200; memory_gb=192" [id]',
    "model": 'model catalog id or spec string, e.g. "llama-3.1-70b" [id]',
    "weight_dtype": "weight element type: bf16, fp8, int4, nvfp4, q4_k_m..., or bits per "
                    "element [dtype]",
    "kv_dtype": "KV-cache element type: bf16, fp8, int8, fp4..., or bits per element [dtype]",
    "num_gpus": "GPUs one replica is spread over (tensor parallel; GGUF by layers) [GPUs]",
    "efficiency": "blank or 0 = calibrated (with the GPU's vendor factor: AMD's stacks run "
                  "slower); a number e in (0, 1] sets MBU = MFU = e with no overheads (1 = "
                  "pure roofline) [0-1]",
    "mem_fraction": "share of each GPU's memory usable for weights and KV cache [0-1]",
    "input_tokens": "prompt tokens per request [tokens]",
    "output_tokens": "generated tokens per request [tokens]",
    "token_budget": "prompt tokens one engine step takes besides the decoding sequences (vLLM "
                    "max_num_batched_tokens, TensorRT-LLM max_num_tokens, SGLang "
                    "chunked_prefill_size) [tokens]",
    "duty_cycle": "share of the time a user has a request in flight, in (0, 1] [0-1]",
    # what it costs
    "price_per_gpu_hour": "cost of one GPU for one hour [USD/GPU-hour]",
    # which tokens: the result is per token of the same kind (a wizard audit: "produces" read
    # as MAX_THROUGHPUT's output tokens, twice a blended cost)
    "tokens_per_sec": "tokens/s the whole replica serves while busy: input + output "
                      "(REPLICA_TOKENS_PER_SEC) for a figure per token of both, output alone "
                      "(MAX_THROUGHPUT) for one per output token [tokens/s]",
    "replica_tokens_per_sec": "tokens/s one replica sustains under load [tokens/s]",
    "utilization": "share of paid hours the replica is busy (its planned average load), in "
                   "(0, 1] [0-1]",
    "hours_per_month": "hours a month the GPUs run and are paid for (730 = always on), at most "
                       "744 [hours]",
    "days_per_month": "days a month the costs and the API's bill cover (730 / 24 = a calendar "
                      "month) [days]",
    "min_replicas": "fewest replicas kept running for availability (2 = one can fail) "
                    "[replicas]",
    "staff_cost_per_month": "people and platform cost of running the service, whatever the "
                            "volume [USD/month]",
    # owning
    "purchase_price": "price paid per GPU now, its share of the server included [USD]",
    "power_watts": "average power one GPU draws, its share of the server included (an owned "
                   "GPU's, every hour of the year) [W]",
    "pue": "data-centre power usage effectiveness, >= 1 [ratio]",
    "price_per_kwh": "electricity price [USD/kWh]",
    "hosting_per_month": "colocation, network and support per GPU per month (people apart) "
                         "[USD/month]",
    "cost_of_capital": "yearly cost of capital (the discount rate, or the interest paid), in "
                       "[0, 1] [1/year]",
    # pooling tenants
    "tenants": "number of tenants (customers or teams) of one model, any replica serving any "
               "of them [tenants]",
    "mean_utilization": "each tenant's average load as a share of its own deployment of "
                        "gpus_per_tenant GPUs, in (0, 1] [0-1]",
    "percentile": "share of the time capacity must cover the load, in [0.5, 1), e.g. 0.95 [0-1]",
    "cv": "coefficient of variation of one tenant's load (standard deviation / mean), normal "
          "[ratio]",
    "gpus_per_tenant": "GPUs of one deployment (a model replica): capacity comes in whole "
                       "deployments [GPUs]",
    "correlation": "correlation between tenants' loads, in [0, 1]; 0 = independent, 1 = peaks "
                   "align [0-1]",
}
_SHARED_LINE = re.compile(r"^( +)(\w+): \*$", re.M)


def fill(namespace: dict) -> None:
    """Write the shared descriptions into the docstrings of the functions defined in a
    module's ``namespace`` (its ``globals()``, at the end of the module): every ``name: *``
    Args line becomes ``name: <ARGS[name]>``, so ``help()``, the doctests' modules and
    :func:`xlnapkin._excel.describe` all read the same words."""
    module = namespace["__name__"]

    def text(m):
        if m.group(2) not in ARGS:
            raise RuntimeError(f"{module}: argument {m.group(2)!r} says '*', and "
                               "xlnapkin._args.ARGS has no entry for it")
        return f"{m.group(1)}{m.group(2)}: {ARGS[m.group(2)]}"

    for f in list(namespace.values()):
        while callable(f) and getattr(f, "__module__", None) == module:
            if f.__doc__:  # a decorated function: the wrapper's copy and the function's own
                f.__doc__ = _SHARED_LINE.sub(text, f.__doc__)
            f = getattr(f, "__wrapped__", None)
