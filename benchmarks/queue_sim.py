"""Check the latency-under-load model against a simulation built from its own step costs.

:mod:`xlnapkin.queueing` reduces a replica under Poisson load to formulas (a Little's-law fixed
point, an M/D/1 queue for the prefill budget, a birth-death chain for the sequence slots). This
script runs the same replica step by step instead, with nothing but the model's costs:

* requests arrive at random at a share of the capacity ``MAX_RATE`` reports, each with
  ``input`` prompt tokens and ``output`` generated tokens;
* a request takes a free slot in arrival order (at most ``N_max``, the concurrency the functions
  use); each step prefills up to ``token_budget`` prompt tokens, oldest prompt first, besides
  one token for every sequence decoding;
* a step lasts the model's decode step for the sequences decoding
  (:func:`xlnapkin.roofline._decode_step` at the mean context) plus the prefill work of the
  prompt tokens it carries (:func:`xlnapkin.serving.prompt_work` pro rata); a step with no
  sequence decoding lasts one decode step of one sequence plus that work;
* a request's TTFT ends with the step that finishes its prompt.

It prints the simulated TTFT at the median and the 95th percentile (after dropping the first
tenth of the requests as warm-up) beside ``TTFT_AT_RATE`` at both.

    python benchmarks/queue_sim.py                    # the two setups in RESULTS.md
    python benchmarks/queue_sim.py --seconds 600      # quicker, noisier

The simulation shares the model's costs, so it tests only the queueing formulas, not the costs;
differences of about 20 % between seeds are noise near capacity, where a run of bad luck sets
the tail.
"""

from __future__ import annotations

import argparse
import collections
import functools
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xlnapkin import queueing  # noqa: E402
from xlnapkin.roofline import _decode_step  # noqa: E402
from xlnapkin.serving import prompt_work  # noqa: E402

SETUPS = [("h100-sxm", "llama-3.1-8b", 2000, 300, (0.3, 0.9, 0.97, 0.983)),
          ("rtx-4090", "llama-3.1-8b", 512, 256, (0.7, 0.9, 0.95))]


def simulate(gpu, model, inp, out, share, seconds, seed, budget=queueing.PREFILL_CHUNK):
    """TTFTs (s) of one replica offered ``share`` of its capacity for ``seconds``."""
    r = queueing._Replica(gpu, model, inp, out, None, None, 1, None, budget)
    rate = share * float(r.max_rate())
    slots = int(r.n_max)
    work = float(prompt_work(r.g, r.m, inp, r.wd, 1, r.eff))

    @functools.lru_cache(maxsize=None)
    def decode(n):  # one decode step of n sequences at the mean context [s]
        return float(_decode_step(r.g, r.m, float(n), inp + out / 2.0, r.wd, r.kv, 1, r.eff))

    arrivals = np.cumsum(np.random.default_rng(seed).exponential(1.0 / rate,
                                                                 int(rate * seconds * 1.2)))
    arrivals = arrivals[arrivals < seconds]
    t, k = 0.0, 0
    waiting, prefilling, decoding, ttft = collections.deque(), collections.deque(), [], []
    while k < len(arrivals) or waiting or prefilling or decoding:
        while k < len(arrivals) and arrivals[k] <= t:
            waiting.append(arrivals[k])
            k += 1
        if not (waiting or prefilling or decoding):
            t = arrivals[k]
            continue
        while waiting and len(decoding) + len(prefilling) < slots:
            prefilling.append([waiting.popleft(), float(inp)])
        room, carried = budget, 0.0
        for prompt in prefilling:
            take = min(room, prompt[1])
            prompt[1] -= take
            room -= take
            carried += take
            if room <= 0:
                break
        t += decode(max(len(decoding), 1)) + carried / inp * work
        decoding = [left - 1 for left in decoding if left > 1]
        while prefilling and prefilling[0][1] <= 0:
            ttft.append(t - prefilling.popleft()[0])
            decoding.append(out - 1)
    return rate, np.asarray(ttft[len(ttft) // 10:])


def main(argv=None) -> int:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3000.0, help="simulated time per point")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    print("| setup | rate (share of capacity) | simulated TTFT p50 / p95 | model p50 / p95 |")
    print("|---|---|---:|---:|")
    for gpu, model, inp, out, shares in SETUPS:
        for share in shares:
            rate, ttft = simulate(gpu, model, inp, out, share, args.seconds, args.seed)
            sim = [np.percentile(ttft, q) * 1e3 for q in (50, 95)]
            mod = [float(queueing.ttft_at_rate(gpu, model, rate, inp, out, None, None, 1, p))
                   for p in (0.5, 0.95)]
            print(f"| {gpu} {model} {inp}/{out} | {rate:.3g} ({share:.1%}) | "
                  f"{sim[0]:,.0f} / {sim[1]:,.0f} ms | {mod[0]:,.0f} / {mod[1]:,.0f} ms |",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
