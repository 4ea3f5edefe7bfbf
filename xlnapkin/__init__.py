"""xlnapkin: first-principles LLM serving capacity and cost estimates, for Excel and Python.

The engine is pure Python + NumPy. Internal units are bytes, seconds, FLOP/s and US dollars;
every function takes scalars or NumPy arrays and broadcasts. The Excel functions live in
:mod:`xlnapkin.udfs` (``KV_BYTES`` there is ``kv_bytes`` here).

>>> import xlnapkin
>>> round(xlnapkin.itl_ms("h100-sxm", "llama-3.1-8b", 1, 0, efficiency=1), 2)
4.79
"""

__version__ = "0.1.0"

from .catalog import GPU, Model, Price, gpu, model, price  # noqa: E402
from .errors import (CatalogError, InvalidArgumentError, NapkinError,  # noqa: E402
                     ShapeError, UnknownNameError)
from .memory import (fit_message, fits, gpus_needed, kv_bytes, max_batch,  # noqa: E402
                     weight_bytes, why_not)
from .roofline import (critical_batch, decode_step_time, ops_per_byte,  # noqa: E402
                       prefill_time)
from .serving import (calibrate_efficiency, itl_ms, max_throughput,  # noqa: E402
                      throughput_at_concurrency, tokens_per_sec, ttft_ms)
from .queueing import (max_rate_for_sla, replicas_for_sla, tpot_at_rate,  # noqa: E402
                       ttft_at_rate)
from . import capacity, economics  # noqa: E402  (the money side)

__all__ = [
    "__version__",
    "GPU", "Model", "Price", "gpu", "model", "price",
    "NapkinError", "UnknownNameError", "InvalidArgumentError", "ShapeError",
    "CatalogError",
    "kv_bytes", "weight_bytes", "gpus_needed", "max_batch", "fits", "fit_message", "why_not",
    "decode_step_time", "prefill_time", "ops_per_byte", "critical_batch",
    "tokens_per_sec", "itl_ms", "ttft_ms", "max_throughput", "throughput_at_concurrency",
    "calibrate_efficiency", "ttft_at_rate", "tpot_at_rate", "max_rate_for_sla",
    "replicas_for_sla", "economics", "capacity",
]
