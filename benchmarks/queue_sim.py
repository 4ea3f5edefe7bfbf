"""Check the latency-under-load model against a simulation built from its own step costs.

:mod:`xlnapkin.queueing` reduces a replica under Poisson load to formulas (a Little's-law fixed
point, an M/D/1 queue for the prefill budget, a birth-death chain for the sequence slots). This
script runs the same replica step by step instead, with nothing but the model's costs:

* requests arrive at random at a share of the capacity ``MAX_RATE`` reports, each with
  ``input`` prompt tokens and an output length drawn from a geometric distribution with mean
  ``output`` (``--lengths geometric``, what the slot formulas assume) or exactly ``output``
  tokens (``--lengths fixed``);
* a request takes a free slot in arrival order (at most ``N_max``, the concurrency the functions
  use); each step prefills up to ``token_budget`` prompt tokens, oldest prompt first, besides
  one token for every sequence decoding;
* a step lasts the model's decode step for the sequences decoding
  (:func:`xlnapkin.roofline._decode_step` at their mean context, each sequence's prompt and
  the tokens it has generated so far, to the nearest 16 tokens) plus the prefill work of the
  prompt tokens it carries (:func:`xlnapkin.serving.prompt_work` pro rata) and, if it starts
  a prompt, a forward pass's fixed time once more (:func:`xlnapkin.roofline._overhead`, one
  per prompt as :func:`xlnapkin.serving.prompt_pass_time` counts it on average; the later
  chunks of a prompt longer than the budget ride along without it, as in the model); a step
  with no sequence decoding lasts one decode step of one sequence plus those;
* a request's TTFT ends with the step that finishes its prompt, plus the fixed time of a
  prefill (``prefill_overhead_s``: scheduling and the first sample, which overlap other work
  and so take no GPU time; the model's TTFT includes it);
* a request's TPOT is the time from its first token to its last over its tokens after the
  first, as ``benchmark_serving`` measures it.

Requests that arrive in the first ``--warm-up`` seconds are not counted: near capacity the
queue takes a long time to settle (of the order of ``1 / (sqrt(M) - sqrt(rate))^2``, about 1,400
s at 98 % of 10 requests/s). For each point it prints the share of arrivals that find every slot
taken beside the model's chance ``P``, the simulated median and 95th-percentile TTFT beside
``TTFT_AT_RATE``'s, the simulated mean TPOT beside the model's
(``queueing.mean_latency_at_rate``), and the simulated median and 95th-percentile TPOT beside
``TPOT_AT_RATE``'s.

    python benchmarks/queue_sim.py                      # RESULTS.md's table (~2 min)
    python benchmarks/queue_sim.py --seconds 20000      # quicker, noisier

The simulation shares the model's costs, so it tests only the queueing formulas, not the costs.
Near capacity one run's p95 moves by tens of percent with the seed (``--seed``).
"""

from __future__ import annotations

import argparse
import collections
import functools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xlnapkin import queueing  # noqa: E402
from xlnapkin.roofline import _decode_step, _overhead  # noqa: E402
from xlnapkin.serving import prompt_work  # noqa: E402

# gpu, model, input, output, GPUs per replica, token budget, shares of capacity. The last four
# (2026-12-03, seventh session): short prompts, where the rest of the step in progress and
# the prompts joining a prompt's step weigh most, tensor parallelism, and budgets below the
# prompt (a review's cases).
SETUPS = [("h100-sxm", "llama-3.1-8b", 2000, 300, 1, 8192, (0.3, 0.9, 0.95, 0.96, 0.97, 0.983)),
          ("rtx-4090", "llama-3.1-8b", 512, 256, 1, 8192, (0.7, 0.9, 0.95)),
          ("h100-sxm", "llama-3.1-70b", 200, 500, 4, 8192, (0.3, 0.7, 0.9)),
          ("h100-sxm", "llama-3.1-8b", 128, 256, 1, 8192, (0.3, 0.7, 0.9)),
          ("a100-sxm-80gb", "qwen2.5-32b", 4000, 200, 2, 8192, (0.3, 0.7)),
          ("h100-sxm", "llama-3.1-8b", 2000, 300, 1, 512, (0.3, 0.7))]


def simulate(gpu, model, inp, out, share, seconds, seed, lengths="geometric", warm_up=3000.0,
             budget=queueing.PREFILL_CHUNK, num_gpus=1):
    """(rate, TTFTs in s, share of arrivals that found every slot taken, TPOTs in s) of one
    replica of ``num_gpus`` GPUs offered ``share`` of its capacity for ``seconds`` after
    ``warm_up`` seconds."""
    r = queueing._Replica(gpu, model, inp, out, None, None, num_gpus, None, budget)
    rate = share * float(r.max_rate())
    slots = int(r.n_max)
    work = float(prompt_work(r.g, r.m, inp, r.wd, num_gpus, r.eff))
    fixed = float(r.eff.prefill_overhead_s)
    pass_fixed = float(_overhead(r.m, r.eff))  # a step that starts a prompt

    @functools.lru_cache(maxsize=None)
    def decode(n, context16):  # one decode step of n sequences at 16 x context16 tokens [s]
        return float(_decode_step(r.g, r.m, float(n), 16.0 * context16, r.wd, r.kv, num_gpus,
                                  r.eff))

    rng = np.random.default_rng(seed)
    end = warm_up + seconds
    arrivals = np.cumsum(rng.exponential(1.0 / rate, int(rate * end * 1.2) + 10))
    arrivals = arrivals[arrivals < end]
    if lengths == "fixed":
        outs = np.full(len(arrivals), int(out))
    else:
        outs = rng.geometric(1.0 / out, len(arrivals))
    t, k, step = 0.0, 0, 0
    waiting, prefilling = collections.deque(), collections.deque()
    decoding, context = 0, 0.0          # sequences decoding, the tokens they hold in all
    finishing = collections.defaultdict(list)  # (first token at, length, arrived) by last step
    ttft, found_full, tpot = [], [], []
    while k < len(arrivals) or waiting or prefilling or decoding:
        while k < len(arrivals) and arrivals[k] <= t:
            if arrivals[k] >= warm_up:
                found_full.append(decoding + len(prefilling) + len(waiting) >= slots)
            waiting.append((arrivals[k], outs[k]))
            k += 1
        if not (waiting or prefilling or decoding):
            t = arrivals[k]
            continue
        while waiting and decoding + len(prefilling) < slots:
            arrived, length = waiting.popleft()
            prefilling.append([arrived, float(inp), length])
        room, carried, starts = budget, 0.0, False
        for prompt in prefilling:
            take = min(room, prompt[1])
            starts = starts or (take > 0 and prompt[1] == inp)
            prompt[1] -= take
            room -= take
            carried += take
            if room <= 0:
                break
        mean_context = context / decoding if decoding else inp
        t += (decode(max(decoding, 1), round(mean_context / 16.0)) + carried / inp * work
              + (pass_fixed if starts else 0.0))
        step += 1
        context += decoding                     # each decoding sequence made one more token
        for first, length, arrived in finishing.pop(step, ()):
            decoding -= 1
            context -= inp + length
            if arrived >= warm_up:
                tpot.append((t - first) / (length - 1))
        while prefilling and prefilling[0][1] <= 0:
            arrived, _, length = prefilling.popleft()
            if arrived >= warm_up:
                ttft.append(t - arrived + fixed)
            if length > 1:                      # the prefill gave the first token
                decoding += 1
                context += inp + 1
                finishing[step + length - 1].append((t, length, arrived))
    return rate, np.asarray(ttft), float(np.mean(found_full)), np.asarray(tpot)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60_000.0,
                    help="simulated time per point after the warm-up")
    ap.add_argument("--warm-up", type=float, default=3000.0, help="simulated seconds not counted")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lengths", choices=["geometric", "fixed", "both"], default="both")
    args = ap.parse_args(argv)
    kinds = ["geometric", "fixed"] if args.lengths == "both" else [args.lengths]
    print("| setup | output lengths | rate (share of capacity) | arrivals finding the slots "
          "full: simulated / model P | TTFT p50 / p95 simulated | model | mean TPOT simulated "
          "/ model | TPOT p50 / p95 simulated | model |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for gpu, model, inp, out, n, budget, shares in SETUPS:
        replica = queueing._Replica(gpu, model, inp, out, None, None, n, None, budget)
        for kind in kinds:
            for share in shares:
                rate, ttft, full, tpot = simulate(gpu, model, inp, out, share, args.seconds,
                                                  args.seed, kind, args.warm_up, budget, n)
                chance = float(replica.all_slots_taken(rate))
                sim = [np.percentile(ttft, q) * 1e3 for q in (50, 95)]
                mod = [float(queueing.ttft_at_rate(gpu, model, rate, inp, out, None, None, n, p,
                                                   None, budget))
                       for p in (0.5, 0.95)]
                mean_tpot = float(queueing.mean_latency_at_rate(
                    gpu, model, rate, inp, out, None, None, n, None, budget)[1])
                sim_tpot = [np.percentile(tpot, q) * 1e3 for q in (50, 95)]
                mod_tpot = [float(queueing.tpot_at_rate(gpu, model, rate, inp, out, None, None,
                                                        n, p, None, budget))
                            for p in (0.5, 0.95)]
                where = (f"{gpu} x{n} {model} {inp}/{out}"
                         + (f", budget {budget:,.0f}" if budget != queueing.PREFILL_CHUNK else ""))
                print(f"| {where} | {kind} | {rate:.3g} ({share:.1%}) | "
                      f"{full:.3f} / {chance:.3f} | {sim[0]:,.0f} / {sim[1]:,.0f} ms | "
                      f"{mod[0]:,.0f} / {mod[1]:,.0f} ms | "
                      f"{np.mean(tpot) * 1e3:.1f} / {mean_tpot:.1f} ms | "
                      f"{sim_tpot[0]:.1f} / {sim_tpot[1]:.1f} ms | "
                      f"{mod_tpot[0]:.1f} / {mod_tpot[1]:.1f} ms |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
