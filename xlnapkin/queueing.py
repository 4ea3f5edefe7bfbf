"""Latency under load: time to first token and per output token at a request rate, and the
rate (and replicas) that meet a latency target.

One replica serves requests of ``input_tokens`` in and ``output_tokens`` out, arriving at
random (Poisson) at ``requests_per_sec``, with continuous batching and chunked prefill as
vLLM, SGLang and TensorRT-LLM run it. Units: requests/s, milliseconds, tokens.

The model, in four steps:

1. **Concurrency.** With ``N`` requests decoding at once, one step takes
   :func:`xlnapkin.serving.loaded_step` (the decode step of ``N`` sequences at the mean context
   ``input + output`` of :func:`batch_context`, as output lengths vary, plus the prefill
   compute of the ``N / output_tokens`` prompts that join per step, and a forward pass's fixed
   time once more in the ``1 - exp(-N / output_tokens)`` of the steps that carry a prompt:
   engines replay CUDA graphs for decode-only steps alone), so the replica completes
   ``X(N) = N / step(N)`` output tokens per second. Little's law ties the rate to the mean
   concurrency: ``requests_per_sec = X(N) / output_tokens``. ``X`` rises with ``N`` up to the
   most the replica holds (memory and the engine cap, as in ``MAX_THROUGHPUT``); a rate above
   ``X(N_max) / output_tokens`` overloads the replica and its queue grows without end.
2. **Time per output token** is ``step(N)`` at the mean concurrency, plus the echo of the
   request's own prompt (:meth:`_Replica.echo`). The step that carries its prompt is longer by
   the prompt's cost ``c`` (its prefill work and a pass's fixed time, shared with the other
   prompts of the step), so ``g = rate c`` more prompts arrive during it, on average; they
   join the next step and lengthen it by ``g c``, and so on. In a linear model of the prompts
   per step (each step's are Poisson at the rate times the step before, whose variance that
   feedback amplifies by ``1 / (1 - g^2)``) the ``j``-th step after the prompt's is longer by
   ``c g^j / (1 - g^2)`` on average. A request that generates ``L`` tokens averages that over
   its ``L - 1`` steps, so short requests carry most of it: over exponential (geometric)
   lengths around ``output_tokens`` the mean TPOT is ``step(N) + c g ln(out - (out - 1) g) /
   ((out - 1)(1 - g)(1 - g^2))``. It weighs where prompts cost many decode steps (long
   prompts, short outputs): for Qwen2.5-32B with 4,000 tokens in and 200 out on two A100s at
   70 % of capacity the step is 68 ms, and the mean TPOT 104 ms (simulated: 107 ms). At a
   percentile ``p`` the concurrency is taken ``z_p`` standard deviations above its mean, 0
   below half a sequence (:meth:`_Replica.spread`, :func:`_count_at`), and the echo is
   that of a request of the median length, ``m = ceil(ln 0.5 / ln(1 - 1 / out))`` steps:
   ``c g (1 - g^m) / ((1 - g)(1 - g^2) m)``. The
   shortest requests see more (a request of a few tokens right after a long prompt: with
   geometric lengths the 1 % shortest would set the p99), but how much depends on how short
   outputs get, which a mean length does not say; the p99 TPOT limits of MLPerf's
   Llama-3.1-405B runs were met at rates where geometric lengths would miss them
   (``benchmarks/RESULTS.md``). The same linear model gives the concurrency's variance: each
   step a sequence goes on with chance ``a = 1 - 1 / out``, a sequence more lengthens the step
   by the decode step's slope and so brings ``b = rate x slope`` more prompts, and the prompts
   bring ``g`` more; with ``k = rate x step(N)`` prompts a step, ``D = 1 - a g - b``, ``E = 1
   + 2 a g / D``, ``S = 1 - a^2 - 2 a^2 b / D`` and ``P = 1 - g^2 - 2 b g^2 / D``, the
   variance is ``(N a P / out + E k) / (S P - b^2 E^2)``. With no load it is ``N`` (the
   number in service of a Poisson stream is Poisson distributed); under load prompts come in
   clusters and it grows: 5 times ``N`` at 90 % of capacity for Llama-3.1-8B on an H100 at
   2,000 in / 300 out, and without bound as the rate nears what the replica sustains (the
   standard deviation is taken at most ``n_max``). Below the median the spread is a Poisson
   count's, ``sqrt(N)``: the clusters lengthen the upper tail, and a lower tail as wide would
   reach no sequences near capacity. No TPOT is longer than a step that carries a full
   budget of prompt tokens besides its decode (:meth:`_Replica.with_echo`): with prompts
   near the budget and outputs of a few tokens the linear model would overrun it, and there
   the mean TPOT is conservative (8,000 in / 4 out on an H100 at 90 % of capacity: 253 ms
   against 218 simulated, the p95 255 against 255). There a request's TPOT is nearly
   two-valued (no prompt behind it, or steps full of prompt tokens) and the echo, an average,
   falls between: its median is too long and its p95 too short (docs/latency.md). Where the
   memory holds one sequence, no prompt joins its steps: TPOT is its decode step alone.
   The mean and the percentiles take the echo over different lengths, so where the short
   requests' echo makes the mean long (long prompts, short outputs) a percentile could fall
   under what the mean allows: every TPOT is at most the longest step, ``L`` (a step at
   ``n_max`` with a full budget of prompt tokens), so TPOTs of mean ``m`` have their ``p``-th
   percentile at least ``(m - (1 - p) L) / p``, and the percentile is never less (20,000 in /
   200 out for gpt-oss-120b on an A100 at half its capacity: a mean of 84 ms, and a p99 of
   72 ms where the median-length request gives 66).
3. **Time to first token** is the wait for the GPU's prefill budget plus the prompt's own
   prefill. A step carries at most ``token_budget`` prompt tokens besides the decoding
   sequences (the engine's setting; :data:`PREFILL_CHUNK` when blank), so a prompt occupies
   the prefill budget for ``s = prefill compute + input / token_budget x decode step`` (the
   decode share only while requests are decoding; the prefill compute is the work
   ``loaded_step`` counts per joining prompt, without the fixed per-request latency, which
   overlaps other prompts' work), and never less than its share of the steps' prompt room,
   ``input / token_budget x step(N)``, so the wait grows without end where the budget, not the
   GPU's work, sets the most a replica sustains. The prompts form an M/D/1 queue with
   utilisation ``rho = requests_per_sec x s``: mean wait ``rho s / (2 (1 - rho))``, waiting
   at all with probability ``rho`` and then for an exponential time (the usual heavy-traffic
   tail), so the wait at percentile ``p`` is ``W / rho x ln(rho / (1 - p))`` when
   ``1 - p < rho`` and 0 otherwise. TTFT adds the rest of the step in progress (``p`` of a
   loaded step, step 1, which carries other prompts besides the decode; half a step on
   average; times the chance a step is in progress, ``1 - exp(-N)``; of
   ``scheduler_steps`` steps where the engine decides what runs only that often, as vLLM's V0
   engine with ``--num-scheduler-steps`` and SGLang with ``--num-continuous-decode-steps`` do)
   and the prompt's own prefill. On an idle replica the prefill is ``TTFT_MS`` of one prompt.
   While sequences decode (chance ``1 - exp(-N)``), its chunks ride along
   ``ceil(input / token_budget)`` decode steps, each longer by the chunk's compute (the steps
   ``loaded_step`` counts): the prefill is those steps, the prompt's compute, the fixed time
   of the pass its step pays for carrying it, and ``prefill_overhead_s``, never less than
   alone. The prompts that arrive while the step in
   progress ends (``n = rate x`` that time, Poisson: ``n + z_p sqrt(n)`` at percentile ``p``)
   join the prompt's step as far as the budget has room beside it (``max(token_budget -
   input, 0) / input`` prompts), and lengthen it by their compute. A rate
   at which ``rho`` would reach 1 before the concurrency reaches ``N_max`` (long prompts, a
   small budget) also overloads the replica, and so does one at which the steps have no room
   for the prompts: each step completes ``N / output`` requests on average and as many
   prompts must join within its budget, so ``N x input < output x token_budget``
   (:meth:`_Replica.within_budget`; it binds where outputs are short beside the prompts). The
   most a replica sustains is the lowest of the three.
4. **The wait for a free slot.** Near capacity ``X(N)`` flattens, so a burst of arrivals raises
   the number of requests without raising the completion rate, and requests queue for one of
   the ``N_max`` sequence slots. The number of requests is a birth-death chain: arrivals at the
   rate, completions at ``n / (out step(n))`` with ``n`` in service, and at ``X(N_max) / out``
   (the capacity ``M``) once all slots are taken; a Markov chain where output lengths vary as
   an exponential distribution around ``output_tokens`` (chat traffic: each request generates
   until it stops), exact given a step that depends on ``n`` alone. With the step a line
   through its values at ``N_max / 2`` and ``N_max`` (``step(n) = a + b n``), the chain below
   ``N_max`` is a negative binomial distribution, so
   the chance all slots are taken has a closed form: ``P = T / (S + T)`` with
   ``S = (1 - x)^-(r+1) I_(1-x)(r + 1, N_max)``,
   ``T = C(N_max + r, N_max) x^N_max / (1 - rate / M)``, ``x = rate out b``, ``r = a / b`` and
   ``I`` the regularized incomplete beta function (Excel's ``BETADIST``). A request that finds
   them taken waits an exponential time at the spare capacity ``M - rate``: mean
   ``P / (M - rate)``, at percentile ``p`` ``ln(P / (1 - p)) / (M - rate)`` when ``P > 1 - p``.
   TTFT adds this wait. Far from capacity ``P`` is nil; it matters within a few percent of the
   capacity, or sooner where few slots fit. Where every request has the same length a batch
   holds shorter contexts (step 1), the replica sustains a little more, and near the model's
   capacity the slots fill a half to three quarters as often (``benchmarks/queue_sim.py``).

At a rate of zero (an idle replica) TTFT is ``TTFT_MS`` of one prompt and TPOT one decode
step of one sequence (no echo). Checked against published open-loop measurements in
``benchmarks/openloop.py``, and against a step-by-step simulation with the model's own costs in
``benchmarks/queue_sim.py`` (results in ``benchmarks/RESULTS.md``).

>>> round(ttft_at_rate("h100-sxm", "llama-3.1-8b", 1e-6, 1024, 256, efficiency=1), 2)
16.95
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from . import _args, _checks
from .calibration import resolve
from .catalog import gpu as _gpu, model as _model
from .economics import HOURS_PER_MONTH
from .memory import (MEM_FRACTION, RUNS, by_layers, can_run, max_batch, runs_when_it_fits,
                     summed, weight_dtype_of, why_not)
from .roofline import _decode_step, _overhead, _past_domain, _prefill
from .serving import concurrency_under_load, engine_cap, loaded_step, prompt_work

__all__ = ["PREFILL_CHUNK", "SLA_PERCENTILE", "ttft_at_rate", "tpot_at_rate", "max_rate_for_sla",
           "replicas_for_sla", "operating_point", "mean_latency_at_rate", "service_at_rate",
           "batch_context"]

# Prompt tokens one step carries besides the decoding sequences when ``token_budget`` is blank:
# TensorRT-LLM's default max_num_tokens, and vLLM's OpenAI server's max_num_batched_tokens (V1)
# on GPUs of 70 GiB or more other than the A100 (2,048 on the rest); SGLang's
# chunked_prefill_size follows the GPU's memory (docs/latency.md).
PREFILL_CHUNK = 8192.0
# The share of requests a latency target holds for where none is given: MAX_RATE_FOR_SLA's and
# REPLICAS_FOR_SLA's default percentile (p95), and the first-token wait estimate calls slow.
SLA_PERCENTILE = 0.95
_BISECTIONS = 40  # n_max / 2^40: under 1e-8 of a request for any replica the catalog holds


def _normal_quantile(percentile):
    q = _checks.number(percentile, "percentile", 0, 1, min_open=True, max_open=True)
    inv = NormalDist().inv_cdf
    return np.vectorize(inv, otypes=[float])(q) if np.ndim(q) else inv(float(q))


def _count_at(mean, z, spread):
    """A count's value ``z`` standard deviations above its ``mean`` (``spread`` its standard
    deviation), ``x = mean + z spread``, where that is 1 or more; 0 where it is a half or less,
    and ``2 x - 1`` between. Read with a count's continuity correction (``P(X <= k)`` as
    ``Phi((k + 1/2 - mean) / spread)``), the quantile is the first whole count at or above ``x -
    1/2``: 0 while ``x`` is at most a half, where ``x`` itself, the middle of the whole counts it
    stands for, had kept a count that is 0 in 99 % of cases at 0.17 at its p95 (a queueing
    review: the p90 TPOT of a replica at 0.01 requests/s 19 % over its idle step, and
    REPLICAS_FOR_SLA 15 times too many where a limit sat near it). From a count of 1 on, ``x``
    as before. [count]"""
    x = mean + z * spread
    return np.maximum(np.minimum(x, 2.0 * x - 1.0), 0.0)


def _log_gamma(x):
    if type(x) is float:
        return math.lgamma(x)
    return np.vectorize(math.lgamma, otypes=[float])(x)


def _beta_cdf(x, a, b):
    """The regularized incomplete beta function ``I_x(a, b)`` (Excel's ``BETADIST(x, a, b)``),
    element-wise: the continued fraction of Abramowitz and Stegun 26.5.8 by the modified Lentz
    method, on the side of the mean where it converges fast (``I_x(a, b) = 1 - I_(1-x)(b, a)``).
    One value goes through plain floats, many through NumPy arrays."""
    x, a, b = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, a, b)))
    if x.size == 1:
        xs, as_, bs = float(x.flat[0]), float(a.flat[0]), float(b.flat[0])
        if xs <= 0.0 or xs >= 1.0:
            value = 0.0 if xs <= 0.0 else 1.0
        elif xs > (as_ + 1.0) / (as_ + bs + 2.0):
            value = 1.0 - _beta_front(1.0 - xs, bs, as_)
        else:
            value = _beta_front(xs, as_, bs)
        return np.full(x.shape, value)
    flip = x > (a + 1.0) / (a + b + 2.0)
    x, a, b = np.where(flip, 1.0 - x, x), np.where(flip, b, a), np.where(flip, a, b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        value = np.where(x <= 0, 0.0, _beta_front(np.maximum(x, 1e-300), a, b))
    return np.where(flip, 1.0 - value, value)


def _beta_front(x, a, b, terms=2000, tol=1e-13):
    """``I_x(a, b)`` on the fast side of the mean, for floats or arrays alike."""
    lib = math if type(x) is float else np
    lead = (a * lib.log(x) + b * lib.log1p(-x) + _log_gamma(a + b) - _log_gamma(a)
            - _log_gamma(b))
    c = 1.0
    d = 1.0 / _nonzero(1.0 - (a + b) * x / (a + 1.0))
    frac = d
    for m in range(1, terms + 1):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 / _nonzero(1.0 + num * d)
            c = _nonzero(1.0 + num / c)
            frac = frac * c * d
        going = abs(c * d - 1.0) >= tol        # NaN (a NaN input) counts as done
        if not (going if type(going) is bool else going.any()):
            break
    return lib.exp(lead) * frac / a


def batch_context(input_tokens, output_tokens):
    """The mean context of the sequences a loaded step decodes when output lengths vary as an
    exponential distribution around ``output_tokens`` (step 4's assumption): ``input +
    output``. A request stays in the batch for as many steps as it generates tokens, so the
    batch at a random step holds long requests more often than they arrive, and one that will
    generate ``L`` tokens is, on average, half-way through them: ``E[L^2] / (2 E[L])``, which is
    ``output`` for an exponential ``L`` (``output / 2`` where every request has one length, as
    :func:`xlnapkin.serving.loaded_step` takes it under saturating load). [tokens]"""
    return input_tokens + output_tokens


def _nonzero(v, tiny=1e-300):
    return v + (abs(v) < tiny) * tiny


class _Replica:
    """The checked arguments of one replica and its throughput as a function of concurrency."""

    def __init__(self, gpu, model, input_tokens, output_tokens, weight_dtype, kv_dtype,
                 num_gpus, efficiency, token_budget=PREFILL_CHUNK, mem_fraction=MEM_FRACTION):
        self.g, self.m = _gpu(gpu), _model(model)
        self.budget = _checks.number(token_budget, "token_budget", 1)
        self.inp = _checks.number(input_tokens, "input_tokens", 1)
        self.out = _checks.number(output_tokens, "output_tokens", 1)
        self.n = _checks.number(num_gpus, "num_gpus", 1, _checks.MAX_GPUS, integer=True)
        self.wd = weight_dtype_of(self.m, weight_dtype)
        self.kv = kv_dtype
        self.eff = resolve(efficiency, self.g)
        self.efficiency, self.mem_fraction = efficiency, mem_fraction
        self.runs = can_run(self.g, self.m, self.wd, kv_dtype, self.inp + self.out, 1, self.n,
                            mem_fraction)
        cap = concurrency_under_load(self.g, self.m, self.inp, self.out, self.wd, kv_dtype,
                                     self.n, mem_fraction, efficiency)
        self.n_max = np.where(self.runs, np.maximum(np.nan_to_num(cap), 1.0), 1.0)
        self.work = prompt_work(self.g, self.m, self.inp, self.wd, self.n, self.eff)
        self.pass_fixed = _overhead(self.m, self.eff)  # the step that starts a prompt pays it
        self.context = batch_context(self.inp, self.out)

    def step(self, conc):
        """Time per output token at mean concurrency ``conc``. [s]"""
        return loaded_step(self.g, self.m, conc, self.inp, self.out, self.wd, self.kv, self.n,
                           self.eff, self.context)

    def decode(self, conc):
        """The decode step alone of ``conc`` sequences (at least one) at the loaded batch's
        mean context. [s]"""
        return _decode_step(self.g, self.m, np.maximum(conc, 1.0), self.context, self.wd,
                            self.kv, self.n, self.eff)

    def echo(self, conc, rate, typical=False):
        """What a request's own prompt adds to its mean step at mean concurrency ``conc`` and
        ``rate`` requests/s (module notes, step 2): the mean over geometric output lengths, or
        (``typical``) a request's of the median length. 0 where a request has one output
        token. [s]"""
        _, cost, g = self.prompt_cost(conc, rate)
        out = np.maximum(self.out, 1.0 + 1e-9)
        echo = cost / ((1.0 - g) * (1.0 - g * g))
        if typical:
            m = np.maximum(np.ceil(np.log(0.5) / np.log1p(-1.0 / out) - 1e-9), 1.0)
            echo = echo * g * (1.0 - g ** m) / m
        else:
            echo = echo * g * np.log(out - (out - 1.0) * g) / (out - 1.0)
        return np.where(np.asarray(self.out) > 1.0, echo, 0.0)

    def with_echo(self, conc, echo):
        """The step at concurrency ``conc`` plus ``echo``, no longer than a step that carries a
        full budget of prompt tokens (``token_budget``, at the prompt's average cost a token)
        besides its decode: no step is longer, so no average of steps is (long prompts, outputs
        of a few tokens, near capacity; at a concurrency above the mean, where the loaded
        step's prompts, one per ``out`` sequences, would overrun the budget). [s]"""
        full = self.decode(conc) + self.pass_fixed + self.work * self.budget / self.inp
        return np.minimum(self.step(conc) + echo, full)

    def longest(self):
        """The longest TPOT a request can see: its steps' longest, a step at ``n_max`` that
        carries a full budget of prompt tokens (:meth:`with_echo`). [s]"""
        return self.decode(self.n_max) + self.pass_fixed + self.work * self.budget / self.inp

    def prompt_cost(self, conc, rate):
        """At mean concurrency ``conc`` and ``rate`` requests/s: the prompts a step takes on
        average, what one prompt adds to its step (its work, and a pass's fixed time shared
        with the step's other prompts), and the prompts that arrive meanwhile, ``g``. [-, s,
        -]"""
        per_step = np.maximum(rate * self.step(conc), 1e-300)
        cost = self.work + self.pass_fixed * -np.expm1(-per_step) / per_step
        return per_step, cost, np.minimum(rate * cost, 1.0 - 1e-12)

    def spread(self, conc, rate):
        """The standard deviation of the number of sequences decoding, at mean concurrency
        ``conc`` and ``rate`` requests/s (module notes, step 2): the stationary variance of the
        linear model of the sequences and the prompts per step, at most ``n_max`` squared.
        [requests]"""
        per_step, _, g = self.prompt_cost(conc, rate)
        b = rate * (self.decode(conc + 1.0) - self.decode(conc))  # prompts a sequence more brings
        a = 1.0 - 1.0 / np.asarray(self.out, dtype=float)    # a sequence still decoding
        d = 1.0 - a * g - b
        with np.errstate(divide="ignore", invalid="ignore"):
            e = 1.0 + 2.0 * a * g / d
            seqs = 1.0 - a * a - 2.0 * a * a * b / d
            prompts = 1.0 - g * g - 2.0 * b * g * g / d
            det = seqs * prompts - b * b * e * e
            var = (conc / self.out * a * prompts + e * per_step) / det
        top = np.asarray(self.n_max, dtype=float) ** 2
        ok = (d > 0) & (det > 0) & (var >= 0)
        return np.sqrt(np.where(ok, np.minimum(var, top), top))

    def rate(self, conc):
        """Requests/s completed at mean concurrency ``conc`` (Little's law)."""
        return conc / (self.step(conc) * self.out)

    def max_rate(self):
        """The most requests/s the replica sustains: at the most concurrency it holds, or lower
        where prompts would need the whole prefill budget first (a small ``token_budget``, long
        prompts)."""
        return self.rate(self.top())

    def top(self):
        """The largest mean concurrency the replica sustains: ``n_max``, or the concurrency at
        which the prompt queue's utilisation reaches 1 (bisection: it rises with the
        concurrency)."""
        if not hasattr(self, "_top"):
            def stable(conc):
                return (self.rate(conc) * self.prompt(conc)[3] < 1.0) & self.within_budget(conc)

            hi = np.asarray(self.n_max, dtype=float)
            full = stable(hi)
            top = hi
            if not np.all(full):
                lo, h = np.zeros(hi.shape), hi.copy()
                for _ in range(_BISECTIONS):
                    mid = (lo + h) / 2.0
                    ok = stable(mid)
                    lo, h = np.where(ok, mid, lo), np.where(ok, h, mid)
                top = np.where(full, hi, lo)
            self._top = top
        return self._top

    def within_budget(self, conc):
        """Whether the steps have room for the prompts at mean concurrency ``conc``: each step
        completes ``conc / out`` requests on average, and as many prompts of ``inp`` tokens must
        join within the step's ``token_budget``."""
        return conc * self.inp < self.out * self.budget

    def prompt(self, conc):
        """At mean concurrency ``conc``: the chance some sequence is decoding when a prompt
        arrives, the decode step, the step budgets a prompt spans, and the share of the prefill
        budget one prompt takes (its GPU work, not its fixed latency, which overlaps other
        prompts' work, and the decode steps its chunks ride along). [-, s, -, s]"""
        busy = 1.0 - np.exp(-conc)
        decode = self.decode(conc)
        chunks = self.inp / self.budget
        # at least its share of the steps' prompt room: near the budget's limit (long prompts,
        # short outputs) the wait for room grows without end (an audit: TTFT stayed 180 ms up
        # to the rate the budget allows, and MAX_RATE_FOR_SLA returned that rate itself)
        slot = np.maximum(self.work + chunks * decode * busy, chunks * self.step(conc))
        return busy, decode, chunks, slot

    def concurrency(self, rate):
        """Mean concurrency at ``rate`` requests/s (bisection: the rate rises with it)."""
        lo = np.zeros(np.broadcast(rate, self.n_max).shape)
        hi = np.broadcast_to(self.n_max, lo.shape).astype(float)
        for _ in range(_BISECTIONS):
            mid = (lo + hi) / 2.0
            below = self.rate(mid) < rate
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        return (lo + hi) / 2.0

    def ttft(self, conc, rate, p):
        """TTFT at mean concurrency ``conc`` and ``rate`` requests/s, at percentile ``p``
        (``None``: the mean). [s]"""
        busy, decode, chunks, slot = self.prompt(conc)
        alone = _prefill(self.g, self.m, 1.0, self.inp, self.wd, self.kv, self.n, self.eff)
        riding = (np.ceil(chunks) * decode + self.pass_fixed + self.work
                  + self.eff.prefill_overhead_s)
        own = alone + busy * np.maximum(riding - alone, 0.0)
        rho = np.minimum(rate * slot, 1.0 - 1e-12)
        mean_wait = rho * slot / (2.0 * (1.0 - rho))
        window = self.eff.scheduler_steps * self.step(conc)  # a prompt joins when it ends
        if p is None:
            step_left = 0.5 * window * busy
            return (self.queued(rate, None) + mean_wait + step_left + own
                    + self.joining(rate, step_left, None))
        tail = np.where(1.0 - p < rho, np.log(np.maximum(rho, 1e-300) / (1.0 - p)), 0.0)
        wait = np.where(rho > 0, mean_wait / np.maximum(rho, 1e-300) * tail, 0.0)
        step_left = p * window * busy
        z = np.maximum(_normal_quantile(p), 0.0)
        return (self.queued(rate, p) + wait + step_left + own
                + self.joining(rate, step_left, z))

    def joining(self, rate, step_left, z):
        """The compute of the prompts that arrive while the step in progress ends
        (``step_left`` seconds) and join the prompt's own step: engines put every waiting prompt
        in the next step, up to the budget left beside it (none when the prompt fills the
        budget); its first token waits for theirs. Their number is Poisson: its mean (``z``
        None), or ``z`` standard deviations above the mean. (Prompts that arrive while it
        queues behind others land behind it.) At a light load that overstates the p95 of a
        count that is mostly 0 (0.17 where the mean is 0.01), but near the loads a replica is
        sized for it is what follows the simulation (``benchmarks/queue_sim.py``): a count's
        continuity correction put the p95 first token 5-10 % under it at 40-70 % of capacity
        (a queueing review, 2026-12-07; docs/latency.md). [s]"""
        room = np.maximum(self.budget - self.inp, 0.0) / self.inp   # [prompts]
        n = rate * step_left
        return np.minimum(n if z is None else n + z * np.sqrt(n), room) * self.work

    def queued(self, rate, p):
        """The wait for one of the ``n_max`` sequence slots at ``rate`` requests/s, at
        percentile ``p`` (``None``: the mean): exponential at the spare capacity once all are
        taken (module notes, step 4). [s]"""
        spare = self.slot_line()[4] - rate               # [requests/s]
        taken = self.all_slots_taken(rate)
        with np.errstate(divide="ignore", invalid="ignore"):
            if p is None:
                return np.where(spare > 0, taken / spare, np.inf)
            tail = np.where(taken > 1.0 - p, np.log(taken / (1.0 - p)), 0.0)
            return np.where(spare > 0, tail / spare, np.inf)

    def all_slots_taken(self, rate):
        """The chance that a request arriving at ``rate`` requests/s finds all ``n_max``
        slots taken, from the birth-death chain (module notes, step 4). [0-1]"""
        c, per_seq, r1, ways, cap = self.slot_line()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            x = rate * self.out * per_seq
            beyond = ways + c * np.log(x) - np.log1p(-rate / cap)
            below = -r1 * np.log1p(-x) + np.log(np.maximum(_beta_cdf(1.0 - x, r1, c), 1e-300))
            # none where the exponent is capped (a review: the Working sheet showed the
            # 1e-304 left by the cap as a wait of "1.8E-305 s")
            return np.maximum(1.0 / (1.0 + np.exp(np.minimum(below - beyond, 700.0))) - 1e-304,
                              0.0)

    def slot_line(self):
        """The slot queue's constants: ``N_max``; the step's line ``a + b n`` through its
        values at ``N_max / 2`` and ``N_max``: ``b`` and ``r + 1 = a / b + 1``; the log of the
        chain's weight at ``N_max`` less ``N_max ln x``; the capacity ``M``. [-, s, -, -,
        requests/s]"""
        if not hasattr(self, "_slot_line"):
            c = np.asarray(self.n_max, dtype=float)
            full, half = self.step(c), self.step(c / 2.0)
            per_seq = np.maximum((full - half) / (c / 2.0), 1e-12 * full)
            fixed = np.maximum(full - per_seq * c, 0.0)
            r1 = fixed / per_seq + 1.0
            ways = _log_gamma(c + r1) - _log_gamma(r1) - _log_gamma(c + 1.0)
            self._slot_line = c, per_seq, r1, ways, c / (full * self.out)
        return self._slot_line


def operating_point(gpu, model, requests_per_sec, input_tokens=1024, output_tokens=1024,
                    weight_dtype=None, kv_dtype=None, num_gpus=1, efficiency=None,
                    token_budget=PREFILL_CHUNK, mem_fraction=MEM_FRACTION):
    """Mean concurrency and the most requests/s one replica sustains: ``(concurrency,
    max_rate)``, the concurrency NaN where the rate overloads the replica or it cannot run."""
    r = _Replica(gpu, model, input_tokens, output_tokens, weight_dtype, kv_dtype, num_gpus,
                 efficiency, token_budget, mem_fraction)
    rate = _checks.number(requests_per_sec, "requests_per_sec", 0)
    top = r.max_rate()
    conc = np.where(r.runs & (rate < top), r.concurrency(rate), np.nan)
    return _checks.scalar_out(conc), _checks.scalar_out(np.where(r.runs, top, np.nan))


def mean_latency_at_rate(gpu, model, requests_per_sec, input_tokens=1024, output_tokens=1024,
                         weight_dtype=None, kv_dtype=None, num_gpus=1, efficiency=None,
                         token_budget=PREFILL_CHUNK, mem_fraction=MEM_FRACTION):
    """Mean TTFT and mean TPOT (ms) at a rate, as :func:`ttft_at_rate` and
    :func:`tpot_at_rate` model them: ``(ttft_ms, tpot_ms)``, NaN where overloaded."""
    return service_at_rate(gpu, model, requests_per_sec, input_tokens, output_tokens,
                           weight_dtype, kv_dtype, num_gpus, None, efficiency, token_budget,
                           mem_fraction)[1:]


def service_at_rate(gpu, model, requests_per_sec, input_tokens=1024, output_tokens=1024,
                    weight_dtype=None, kv_dtype=None, num_gpus=1, percentile=None,
                    efficiency=None, token_budget=PREFILL_CHUNK, mem_fraction=MEM_FRACTION):
    """What a request sees on one replica at ``requests_per_sec``: ``(requests in flight, TTFT
    ms, TPOT ms)``, both at ``percentile`` (None: the means), with the replica's sequences
    limited by ``mem_fraction`` of its memory and ``token_budget`` prompt tokens a step; NaN
    where the rate overloads the replica or it cannot run. The self-host template's service at
    your volume and ``xlnapkin estimate``'s line for it."""
    r = _Replica(gpu, model, input_tokens, output_tokens, weight_dtype, kv_dtype, num_gpus,
                 efficiency, token_budget, mem_fraction)
    rate = _checks.number(requests_per_sec, "requests_per_sec", 0)
    ok = r.runs & (rate < r.max_rate())
    conc = r.concurrency(rate)
    p = None if percentile is None else float(_checks.number(
        percentile, "percentile", 0, 1, min_open=True, max_open=True))
    return tuple(_checks.scalar_out(np.where(ok, v, np.nan)) for v in
                 (conc, r.ttft(conc, rate, p) * 1e3, _tpot_seen(r, conc, rate, p) * 1e3))


def _explain_rate(gpu, model, requests_per_sec, input_tokens=1024, output_tokens=1024,
                  weight_dtype=None, kv_dtype=None, num_gpus=1, efficiency=None,
                  token_budget=PREFILL_CHUNK, mem_fraction=MEM_FRACTION, **_):
    """Why a rate function has no value: the configuration cannot run, or it is overloaded."""
    held = np.asarray(input_tokens, dtype=float) + np.asarray(output_tokens, dtype=float)
    reason = np.asarray(summed(why_not(gpu, model, weight_dtype, kv_dtype, held, 1, num_gpus,
                                       mem_fraction), ("input_tokens", "output_tokens")),
                        dtype=object)
    runs = np.vectorize(lambda r: str(r).startswith(RUNS), otypes=[bool])(reason)
    reason = np.where(runs, None, reason)  # it runs: the NaN has another cause
    _, top = operating_point(gpu, model, requests_per_sec, input_tokens, output_tokens,
                             weight_dtype, kv_dtype, num_gpus, efficiency, token_budget,
                             mem_fraction)
    shape = np.broadcast_shapes(np.shape(reason), np.shape(top))
    out = np.array(np.broadcast_to(reason, shape), dtype=object)
    top = np.broadcast_to(top, shape)
    for i in np.ndindex(shape):
        if np.isfinite(top[i]):
            out[i] = (f"overloaded: one replica sustains at most {_rate_text(top[i])} "
                      f"requests/s{PER_REPLICA}")
    return out.item() if out.ndim == 0 else out


# Below this many requests at once, a replica's memory beside its weights, not its speed, sets
# the rate it sustains (an engineer's audit: 70B in fp8 on one H100 holds 1-2 requests, and
# REPLICAS_FOR_SLA asked for 3,721 replicas where 4 GPUs a replica need 5)
FEW_SLOTS = 8


def slots_note(gpu, model, input_tokens=1024, output_tokens=1024, weight_dtype=None,
               kv_dtype=None, num_gpus=1, mem_fraction=MEM_FRACTION) -> str:
    """A note where the memory beside one replica's weights holds fewer than
    :data:`FEW_SLOTS` requests of ``input + output`` tokens (and the engine's cap is no lower:
    llama.cpp's slots are its own limit), else '' (scalars): the rate functions then answer
    for a replica starved of KV-cache memory."""
    held = float(max_batch(gpu, model, input_tokens + output_tokens, weight_dtype, kv_dtype,
                           num_gpus, mem_fraction))
    cap = float(engine_cap(gpu, model, weight_dtype, num_gpus))
    if not 1 <= held < FEW_SLOTS or held > cap:  # NaN: it does not run, which the answer says
        return ""
    return (f"one replica holds at most {held:.0f} request{'' if held < 2 else 's'} at once in "
            "the memory beside its weights, which limits the rate it sustains: more GPUs a "
            "replica (num_gpus) or smaller weights or KV cache hold more")


# The rate is one replica's (an engineer's audit: a fleet's rate typed here read "overloaded"
# with no word of what to change).
PER_REPLICA = " (the rate is one replica's: REPLICAS_FOR_SLA sizes a fleet)"


def _ms_text(ms, decimals) -> str:
    """A time over a limit in milliseconds, rounded up (58.2047 ms over a 58.2 ms limit reads
    58.3, never the limit itself), with thousands separators; beyond a billion in powers of
    ten."""
    if ms >= 1e9:
        return f"{ms:.3g}"
    scale = 10.0 ** decimals
    return f"{math.ceil(ms * scale * (1 - 1e-12)) / scale:,.{decimals}f}"


def _rate_text(rate) -> str:
    """A most-requests/s figure to three significant figures, rounded down so that the rate it
    names is one the replica sustains: 27.7, 0.575, 1,250; below 0.001 in powers of ten."""
    if not rate > 0:
        return f"{rate:,.0f}"
    if rate < 1e-290:  # no power of ten to scale by: as it is
        return f"{rate:.3g}"
    digits = 2 - int(math.floor(math.log10(rate)))
    shown = math.floor(rate * 10.0 ** digits * (1 + 1e-12)) / 10.0 ** digits
    if rate < 1e-3:
        return f"{shown:.3g}"
    return f"{shown:,.{max(0, digits)}f}"


def _at_rate(gpu, model, requests_per_sec, input_tokens, output_tokens, weight_dtype, kv_dtype,
             num_gpus, percentile, efficiency, what, token_budget=PREFILL_CHUNK,
             mem_fraction=MEM_FRACTION):
    r = _Replica(gpu, model, input_tokens, output_tokens, weight_dtype, kv_dtype, num_gpus,
                 efficiency, token_budget, mem_fraction)
    rate = _checks.number(requests_per_sec, "requests_per_sec", 0)
    z = _normal_quantile(percentile)
    p = np.asarray(_checks.number(percentile, "percentile", 0, 1, min_open=True,
                                  max_open=True))
    ok = r.runs & (rate < r.max_rate())
    conc = r.concurrency(rate)
    if what == "tpot":
        value = _tpot_seen(r, conc, rate, p, z)
    else:
        value = r.ttft(conc, rate, p)
    return _checks.scalar_out(np.where(ok, value * 1e3, np.nan))


def _tpot_seen(r, conc, rate, p, z=None):
    """TPOT at mean concurrency ``conc`` and ``rate`` requests/s at percentile ``p`` (None:
    the mean, over geometric output lengths): the step at the concurrency ``z`` standard
    deviations above the mean and the echo of a request of the median length (module notes,
    step 2). [s]"""
    # Where one sequence fills the memory, no other prompt joins its steps: it decodes alone,
    # and the others wait for its slot, in their TTFT (an audit: 70B on two A100s at 8,000
    # tokens in, 1.2 s a token against a decode step of 48 ms).
    alone = r.decode(1.0)
    if p is None:
        return np.where(r.n_max < 2.0, alone, r.with_echo(conc, r.echo(conc, rate)))
    z = _normal_quantile(p) if z is None else z
    # below the median a Poisson count's spread: the clusters of prompts that widen the
    # concurrency's spread lengthen its upper tail, and a normal lower tail that wide would
    # reach no sequences near capacity (a TPOT that falls as the load rises)
    spread = np.where(z < 0, np.sqrt(conc), r.spread(conc, rate))
    seen = np.minimum(_count_at(conc, z, spread), r.n_max)
    at = np.where(r.n_max < 2.0, alone, r.with_echo(seen, r.echo(conc, rate, typical=True)))
    # no TPOTs whose mean is the mean TPOT and whose longest is r.longest() have a percentile
    # p below (mean - (1 - p) longest) / p: where the short requests' echo makes the mean
    # long (long prompts, short outputs), the median-length request's figure falls under it
    # (an audit: 20,000 in / 200 out on an A100 at half its capacity, a mean of 84 ms and a
    # p99 of 66)
    mean = _tpot_seen(r, conc, rate, None)
    return np.maximum(at, (mean - (1.0 - p) * r.longest()) / p)


@runs_when_it_fits(("input_tokens", "output_tokens"))
def ttft_at_rate(gpu, model, requests_per_sec, input_tokens=1024, output_tokens=1024,
                 weight_dtype=None, kv_dtype=None, num_gpus=1, percentile=0.5, efficiency=None,
                 token_budget=PREFILL_CHUNK, mem_fraction=MEM_FRACTION):
    """Time to first token (ms) at that percentile when requests arrive at random at requests_per_sec to one replica under continuous batching.
    [ms]

    Args:
        gpu: *
        model: *
        requests_per_sec: requests arriving per second (Poisson) at this replica [requests/s]
        input_tokens: *
        output_tokens: *
        weight_dtype: *
        kv_dtype: *
        num_gpus: *
        percentile: share of requests at or below the result, in (0, 1); blank = 0.5, the
            median; to check a fleet REPLICAS_FOR_SLA sized, give its percentile (0.95 by
            default) [0-1]
        efficiency: *
        token_budget: *
        mem_fraction: *

    The wait for the prefill budget (an M/D/1 queue of prompts) plus the prompt's own prefill,
    and near capacity the wait for a free sequence slot (the model: docs/latency.md). Every
    prompt has input_tokens: where yours vary, a high percentile is also set by the longest
    prompts, so check it at their length too. Above the replica's capacity the result is a
    message naming the most it sustains (answers vary in length around output_tokens, so that
    is less than MAX_THROUGHPUT / output_tokens, which takes them all at that length).

    >>> round(ttft_at_rate("h100-sxm", "llama-3.1-8b", 2, 1024, 256))
    47
    """
    return _at_rate(gpu, model, requests_per_sec, input_tokens, output_tokens, weight_dtype,
                    kv_dtype, num_gpus, percentile, efficiency, "ttft", token_budget,
                    mem_fraction)


@runs_when_it_fits(("input_tokens", "output_tokens"))
def tpot_at_rate(gpu, model, requests_per_sec, input_tokens=1024, output_tokens=1024,
                 weight_dtype=None, kv_dtype=None, num_gpus=1, percentile=0.5, efficiency=None,
                 token_budget=PREFILL_CHUNK, mem_fraction=MEM_FRACTION):
    """Time per output token (ms) at that percentile when requests arrive at random at requests_per_sec to one replica under continuous batching.
    [ms]

    Args:
        gpu: *
        model: *
        requests_per_sec: requests arriving per second (Poisson) at this replica [requests/s]
        input_tokens: *
        output_tokens: *
        weight_dtype: *
        kv_dtype: *
        num_gpus: *
        percentile: share of requests at or below the result, in (0, 1); blank = 0.5, the
            median; to check a fleet REPLICAS_FOR_SLA sized, give its percentile (0.95 by
            default) [0-1]
        efficiency: *
        token_budget: *
        mem_fraction: *

    One decode step at the mean concurrency Little's law gives for that rate (the prefill of
    joining prompts included), for a percentile at the concurrency z standard deviations above
    the mean (its spread under load wider than a Poisson count's; 0 where that is half a
    sequence or less), plus the echo of the
    request's own prompt: the prompts that arrive while it is prefilled lengthen its first
    steps, as much as a request of the median length feels it. Where prompts are long and some
    outputs only a few tokens, those short requests' TPOT can be several times this
    (docs/latency.md); a high percentile is never below what the mean TPOT, which counts
    them, allows. No TPOT is longer than a step that carries a full token budget of
    prompts; the budget also sets the most the replica sustains. With one output token a request
    has no time per output token: the result is then the step its token would share, and
    MAX_RATE_FOR_SLA does not check tpot_ms.

    >>> round(tpot_at_rate("h100-sxm", "llama-3.1-8b", 2, 1024, 256), 2)
    8.78
    """
    return _at_rate(gpu, model, requests_per_sec, input_tokens, output_tokens, weight_dtype,
                    kv_dtype, num_gpus, percentile, efficiency, "tpot", token_budget,
                    mem_fraction)


def _goodput(gpu, model, ttft_ms, tpot_ms, input_tokens, output_tokens, weight_dtype, kv_dtype,
             num_gpus, percentile, efficiency, token_budget=PREFILL_CHUNK,
             mem_fraction=MEM_FRACTION):
    """(the most requests/s within both limits, NaN where none is; the idle replica's TTFT and
    TPOT in ms, for messages)."""
    r = _Replica(gpu, model, input_tokens, output_tokens, weight_dtype, kv_dtype, num_gpus,
                 efficiency, token_budget, mem_fraction)
    ttft_lim = _checks.number(ttft_ms, "ttft_ms", 0, min_open=True) / 1e3
    tpot_lim = _checks.number(tpot_ms, "tpot_ms", 0, min_open=True) / 1e3
    z = _normal_quantile(percentile)
    p = np.asarray(_checks.number(percentile, "percentile", 0, 1, min_open=True,
                                  max_open=True))

    def first_ok(conc, ttft=ttft_lim):  # the TTFT limit, and the prompt queue stable
        rate = r.rate(conc)
        return ((r.ttft(conc, rate, p) <= ttft) & (rate * r.prompt(conc)[3] < 1.0)
                & r.within_budget(conc))

    def token_ok(conc, tpot=tpot_lim):  # the TPOT limit at the percentile
        return (_tpot_seen(r, conc, r.rate(conc), p, z) <= tpot) | no_tokens_after_the_first

    no_tokens_after_the_first = np.asarray(r.out) <= 1.0  # TPOT has nothing to time

    shape = np.broadcast_shapes(np.shape(r.n_max), np.shape(ttft_lim), np.shape(tpot_lim),
                                np.shape(z))
    one_replica = all(np.ndim(a) == 0 for a in (input_tokens, output_tokens, weight_dtype,
                                                 kv_dtype, num_gpus, percentile, efficiency,
                                                 token_budget, mem_fraction))
    if one_replica and shape:
        # A table of limits for one replica: each condition holds up to a concurrency of its
        # own (TTFT and TPOT both grow with it), so each distinct limit is bisected once and
        # the goodput is at the lower of the two: a 1000 x 1000 table of limits took a minute.
        t, t_at = np.unique(ttft_lim, return_inverse=True)
        s, s_at = np.unique(tpot_lim, return_inverse=True)
        t_best, t_idle = _most(lambda c: first_ok(c, t), r.n_max, t.shape)
        s_best, s_idle = _most(lambda c: token_ok(c, s), r.n_max, s.shape)
        best = np.minimum(t_best[t_at].reshape(np.shape(ttft_lim)),
                          s_best[s_at].reshape(np.shape(tpot_lim)))
        idle = t_idle[t_at].reshape(np.shape(ttft_lim)) & s_idle[s_at].reshape(np.shape(tpot_lim))
        best, idle = np.broadcast_to(best, shape), np.broadcast_to(idle, shape)
    else:
        best, idle = _most(lambda c: first_ok(c) & token_ok(c), r.n_max, shape)
    # the two bisections meet the prompt queue's limit to their last bits; never above it
    return np.where(r.runs & idle, np.minimum(r.rate(best), r.max_rate()), np.nan)


IDLE = 1e-9  # the concurrency of an idle replica, as the limits are checked at it


def _most(meets, n_max, shape):
    """(the largest concurrency below ``n_max`` at which ``meets`` holds, by bisection; whether
    it holds for an idle replica). ``meets`` is true up to some concurrency and false above."""
    # From the idle probe where it holds: a limit met there and not at the bisection's first
    # bit above it (n_max / 2^40) gave a rate of 0, and REPLICAS_FOR_SLA infinity (a review).
    idle = meets(np.full(shape, IDLE))
    lo = np.where(idle, IDLE, 0.0)
    # Just below the most the replica holds: at it exactly the rate functions say
    # "overloaded" (the queue to get in never empties), so the goodput must stay under it.
    top = np.broadcast_to(n_max, shape).astype(float) * (1.0 - 1e-6)
    hi = top.copy()
    top_ok = meets(hi)
    for _ in range(_BISECTIONS):
        mid = (lo + hi) / 2.0
        good = meets(mid)
        lo, hi = np.where(good, mid, lo), np.where(good, hi, mid)
    return np.where(top_ok, top, lo), idle


def _explain_sla(gpu, model, ttft_ms, tpot_ms, input_tokens=1024, output_tokens=1024,
                 weight_dtype=None, kv_dtype=None, num_gpus=1, percentile=SLA_PERCENTILE,
                 efficiency=None, token_budget=PREFILL_CHUNK, mem_fraction=MEM_FRACTION,
                 requests_per_sec=None, **_):
    """Why no rate meets the limits: the configuration cannot run, or even an idle replica
    misses a limit; None where it runs and neither is the reason. (``requests_per_sec``:
    REPLICAS_FOR_SLA's, which the count named for the fewest GPUs in all takes.)"""
    held = np.asarray(input_tokens, dtype=float) + np.asarray(output_tokens, dtype=float)
    reason = np.asarray(summed(why_not(gpu, model, weight_dtype, kv_dtype, held, 1, num_gpus,
                                       mem_fraction), ("input_tokens", "output_tokens")),
                        dtype=object)
    r = _Replica(gpu, model, input_tokens, output_tokens, weight_dtype, kv_dtype, num_gpus,
                 efficiency, token_budget, mem_fraction)
    p = np.asarray(percentile, dtype=float)
    first, token = _idle(r, p)
    shape = np.broadcast_shapes(np.shape(reason), np.shape(first), np.shape(ttft_ms),
                                np.shape(tpot_ms), np.shape(r.runs))
    out = np.array(np.broadcast_to(reason, shape), dtype=object)
    first, token = np.broadcast_to(first, shape), np.broadcast_to(token, shape)
    token = np.where(np.broadcast_to(np.asarray(r.out) <= 1.0, shape), 0.0, token)  # no TPOT
    t_lim, p_lim = np.broadcast_to(ttft_ms, shape), np.broadcast_to(tpot_ms, shape)
    runs = np.broadcast_to(r.runs, shape)
    past = np.broadcast_to(_past_domain(r.g, r.n), shape)
    layers = by_layers(r.m, r.wd)
    count = f"{r.g.nvlink_gpus:g}" if r.g.nvlink_gpus else ""  # the GPUs one domain joins
    missed = runs & ((first > t_lim) | (token > p_lim))
    counts = (_gpu_counts(r, shape, t_lim, p_lim, percentile, missed, requests_per_sec)
              if missed.any() and not layers else None)
    for i in np.ndindex(shape):
        if not runs[i]:
            continue
        # past one peer-link domain more GPUs may lengthen either (a review: 16 H200s' first
        # token took 2.2 s where 8 took 1.1, and the message advised more; yet 405B's tokens
        # are shorter on 16 than on 8, and in bf16 it needs more than 8 H100s)
        hint_t, hint_p = (_hint(h, layers, past[i], count) for h in (SHORTER_TTFT, SHORTER_TPOT))
        out[i] = None  # it runs: a reason below, or none (a count that overflows, say)
        if counts is not None and missed[i] and (counts[i] or not past[i]):
            # the count of GPUs that meets them, or none (an SLA review: "more GPUs" where an
            # idle step of Qwen3-30B-A3B was longer on 2, 4 and 16 B200s than on 1); past one
            # domain, "another GPU count" where none within one does
            word = counts[i] + (f" (within one domain: past {count} its all-reduces cross a "
                                "slower link)" if past[i] else "")
            hint_t, hint_p = (h.replace(MORE_GPUS, word).replace("with , ", "with ")
                              for h in (SHORTER_TTFT, SHORTER_TPOT))
        if first[i] > t_lim[i]:  # and the TPOT limit too, where it misses both (a review:
            # the user fixed one limit and then met the other)
            both = (f"; nor tpot_ms {p_lim[i]:g}: its tokens take {_ms_text(token[i], 2)} ms"
                    if token[i] > p_lim[i] else "")
            out[i] = (f"no rate meets ttft_ms {t_lim[i]:g}: an idle replica's first token "
                      f"takes {_ms_text(first[i], 1)} ms{both}{hint_t}")
        elif token[i] > p_lim[i]:
            out[i] = (f"no rate meets tpot_ms {p_lim[i]:g}: an idle replica's tokens take "
                      f"{_ms_text(token[i], 2)} ms{hint_p}")
    return out.item() if out.ndim == 0 else out


def _idle(r, p):
    """An idle replica's TTFT and TPOT at percentile ``p``, as the goodput checks them. [ms]"""
    tiny = np.full(np.shape(r.n_max), IDLE)
    return r.ttft(tiny, r.rate(tiny), p) * 1e3, _tpot_seen(r, tiny, r.rate(tiny), p) * 1e3


def _gpu_counts(r, shape, ttft_ms, tpot_ms, percentile, todo, requests_per_sec=None):
    """The GPU count a replica to name in place of :data:`MORE_GPUS` for each element ``todo``
    of a ``shape`` of replicas ``r`` whose idle replica misses a limit: of the counts within
    one peer-link domain (:func:`domain_degrees`; past one, engines split a replica by pipeline
    stages, which the model leaves out) other than its own, the one whose replicas meet both
    limits with the most requests/s a GPU (:func:`_goodput`; a review found the fewest GPUs a
    replica that met them at idle named a sliver of a rate), or where ``requests_per_sec`` is
    given, on the fewest GPUs in all, the smaller replica of equals, as the command line's fleet
    note counts (:func:`_fewer_gpus`; a review: at 0.3 requests/s the note named 4 and the
    message 8); or '' where none does (an idle step's fixed costs do not shrink with more
    GPUs, and the all-reduces grow). The goodput is found only where an idle replica
    of that count meets both limits (a range that none meets costs a few idle replicas).
    [object array of "k GPUs a replica" or '']"""
    from .memory import domain_degrees
    out, best = np.full(shape, "", dtype=object), np.full(shape, -np.inf)
    own = np.broadcast_to(r.n, shape)
    ttft_ms, tpot_ms = (np.broadcast_to(np.asarray(x, dtype=float), shape)
                        for x in (ttft_ms, tpot_ms))
    p = np.asarray(percentile, dtype=float)  # one percentile stays one (a range's bisection)
    rate = None if requests_per_sec is None else np.broadcast_to(
        np.asarray(requests_per_sec, dtype=float), shape)
    for k in domain_degrees(r.g, r.m, r.wd):
        other = _Replica(r.g, r.m, r.inp, r.out, r.wd, r.kv, k, r.efficiency, r.budget,
                         r.mem_fraction)
        first, token = (np.broadcast_to(x, shape) for x in _idle(other, p))
        token = np.where(np.broadcast_to(np.asarray(other.out) <= 1.0, shape), 0.0, token)
        at = todo & (own != k) & np.broadcast_to(other.runs, shape) & (first <= ttft_ms) & (
            token <= tpot_ms)
        if not at.any():
            continue

        def some(x):  # an argument's values where ``at``
            return x if x is None or np.ndim(x) == 0 else np.broadcast_to(x, shape)[at]
        with np.errstate(invalid="ignore", divide="ignore"):
            most = np.zeros(shape)
            most[at] = _goodput(r.g, r.m, ttft_ms[at], tpot_ms[at], some(r.inp), some(r.out),
                                r.wd, r.kv, k, some(p), some(r.efficiency), some(r.budget),
                                some(r.mem_fraction))
            most = np.nan_to_num(most)
            score = (most / k if rate is None else  # fewer GPUs in all score higher
                     -k * np.maximum(np.ceil(rate / np.where(most > 0, most, np.nan)), 1))
            better = at & (most > 0) & (np.nan_to_num(score, nan=-np.inf) > best)
        out[better] = f"{k} GPU{'' if k == 1 else 's'} a replica"
        best = np.where(better, score, best)
    return out


# What shortens an idle replica's latency, after the limit it misses (a user audit: the
# messages said what was missed and not what to change). The functions put the GPU count a
# replica that meets the limits in place of MORE_GPUS, or nothing (:func:`_gpu_counts`); the
# capacity planner's Latency sheet, which computes one count, says SHEET_GPUS.
MORE_GPUS = "more GPUs a replica"
SHORTER_TTFT = (f" (shorter with {MORE_GPUS}, lower-precision weights, a faster GPU or "
                "shorter prompts)")
SHORTER_TPOT = f" (shorter with {MORE_GPUS}, lower-precision weights or a faster GPU)"
SHEET_GPUS = "another GPU count a replica, where one meets both limits"


def _hint(hint: str, layers: bool, past: bool, count: str, sheet: bool = False) -> str:
    """What shortens an idle replica's latency (``hint``, one of the two above) for weights split
    by ``layers`` (GGUF: more GPUs a replica do not shorten either, :func:`_no_split`), for a
    replica ``past`` one peer-link domain of ``count`` GPUs (:func:`_within`), or as it is (on
    the capacity planner's Latency sheet, ``sheet``, with :data:`SHEET_GPUS`)."""
    return (_no_split(hint) if layers else _within(hint, count) if past
            else hint.replace(MORE_GPUS, SHEET_GPUS) if sheet else hint)


def _no_split(hint: str) -> str:
    """``hint`` for GGUF weights: llama.cpp splits them by layers, which run one after another,
    so the idle latencies are the same on 1 GPU and 16 (a review); more GPUs shorten them only
    with a tensor-parallel format."""
    return hint.replace(MORE_GPUS, "a tensor-parallel format on several GPUs (GGUF's layer "
                                   "split does not shorten it)")


def _within(hint: str, count: str) -> str:
    """``hint`` for a replica past one peer-link domain of ``count`` GPUs (text: the capacity
    planner's Latency sheet puts a cell there): there fewer GPUs, within one domain, can be the
    shorter way, or more (a model that needs more than one domain, tokens whose reads shrink
    with each GPU), so it names neither."""
    return hint.replace(MORE_GPUS, f"another GPU count a replica (past {count} its all-reduces "
                                   "cross a slower link)")


def max_rate_for_sla(gpu, model, ttft_ms, tpot_ms, input_tokens=1024, output_tokens=1024,
                     weight_dtype=None, kv_dtype=None, num_gpus=1, percentile=SLA_PERCENTILE,
                     efficiency=None, token_budget=PREFILL_CHUNK, mem_fraction=MEM_FRACTION):
    """Requests/s one replica sustains with TTFT and TPOT at that percentile within both limits (goodput), for Poisson arrivals under continuous batching.
    [requests/s]

    Args:
        gpu: *
        model: *
        ttft_ms: longest acceptable time to first token at the percentile [ms]
        tpot_ms: longest acceptable time per output token at the percentile [ms]
        input_tokens: *
        output_tokens: *
        weight_dtype: *
        kv_dtype: *
        num_gpus: *
        percentile: the percentile each limit is checked at, TTFT and TPOT apart, in (0, 1), e.g. 0.95 [0-1]
        efficiency: *
        token_budget: *
        mem_fraction: *

    The largest rate at which TTFT_AT_RATE and TPOT_AT_RATE at the percentile are both within
    their limits (both grow with the rate; to check a rate with them, give them this percentile:
    theirs defaults to the median). A limit that even an idle replica misses is a
    message; with one output token there is no time per output token, and tpot_ms is not
    checked. Output lengths are taken to vary around their mean, as chat traffic does, so a
    batch holds longer contexts than where every request has one length: a benchmark of fixed
    lengths measures a shorter TPOT near capacity (up to a fifth) and a little more goodput
    (docs/latency.md). Each GPU and model pair is its own search, some 25 ms on two cores: a
    table of every catalog GPU by every model (over 1,000 pairs) takes about half a minute,
    where a column of rates or limits for one pair takes as long as one cell.

    >>> round(max_rate_for_sla("h100-sxm", "llama-3.1-8b", 1000, 50, 2000, 300), 2)
    8.94
    """
    return _checks.scalar_out(_goodput(gpu, model, ttft_ms, tpot_ms, input_tokens,
                                       output_tokens, weight_dtype, kv_dtype, num_gpus,
                                       percentile, efficiency, token_budget,
                                       mem_fraction))


def replicas_for_sla(gpu, model, requests_per_sec, ttft_ms, tpot_ms, input_tokens=1024,
                     output_tokens=1024, weight_dtype=None, kv_dtype=None, num_gpus=1,
                     percentile=SLA_PERCENTILE, efficiency=None, token_budget=PREFILL_CHUNK,
                     mem_fraction=MEM_FRACTION):
    """Whole replicas that serve requests_per_sec with TTFT and TPOT at that percentile within both limits: CEILING(requests_per_sec / MAX_RATE_FOR_SLA), at least 1 (also at a rate of 0).
    [replicas]

    Args:
        gpu: *
        model: *
        requests_per_sec: requests arriving per second in all (Poisson) [requests/s]
        ttft_ms: longest acceptable time to first token at the percentile [ms]
        tpot_ms: longest acceptable time per output token at the percentile [ms]
        input_tokens: *
        output_tokens: *
        weight_dtype: *
        kv_dtype: *
        num_gpus: *
        percentile: the percentile each limit is checked at, TTFT and TPOT apart, in (0, 1), e.g. 0.95 [0-1]
        efficiency: *
        token_budget: *
        mem_fraction: *

    Requests split at random over the replicas stay Poisson, each at requests_per_sec /
    replicas, so this many replicas each run within MAX_RATE_FOR_SLA. Multiply by num_gpus for
    GPUs. How far a count held against tuned MLPerf systems (within a fifth for 13 of 21), and
    the margin to keep, is in docs/latency.md.

    >>> replicas_for_sla("h100-sxm", "llama-3.1-8b", 20, 1000, 50, 2000, 300)
    3.0
    """
    rate = _checks.number(requests_per_sec, "requests_per_sec", 0)
    best = _goodput(gpu, model, ttft_ms, tpot_ms, input_tokens, output_tokens, weight_dtype,
                    kv_dtype, num_gpus, percentile, efficiency, token_budget, mem_fraction)
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.maximum(np.ceil(rate / best * (1 - 1e-12)), 1.0)
    return _checks.scalar_out(need)


# What stops a rate (:func:`what_stops`): the replica's capacity within 2 % of it (the slot
# wait grows without bound there); a limit the result reaches (the bisection stops within far
# less than this share of it); where neither, the prompts' share of the steps' token budget (a
# review: at 2 % a TTFT of 98-100 % of its limit was named where the budget had stopped the
# rate). The capacity planner's Latency sheet names it by the same rule.
CAPACITY_NEAR = 0.98
LIMIT_REACHED = 0.999
CAPACITY = "the replica's capacity"
PROMPT_CAPACITY = "the replica's capacity for prompts"


def what_stops(gpu, model, ttft_ms, tpot_ms, input_tokens=1024, output_tokens=1024,
               weight_dtype=None, kv_dtype=None, num_gpus=1, percentile=SLA_PERCENTILE,
               efficiency=None, token_budget=PREFILL_CHUNK, mem_fraction=MEM_FRACTION) -> str:
    """What sets the most requests/s one replica serves within the limits (scalars):
    :data:`CAPACITY` within :data:`CAPACITY_NEAR` of it; :data:`PROMPT_CAPACITY` where the
    prompts come within that share of the steps' token budget (unless the TPOT limit is
    reached: a larger budget lengthens the steps) or neither limit is reached; else the limit
    reached, the nearer where both are (one output token has no TPOT); '' where no rate meets
    them (a user audit: a budget of 512 tokens stopped 2,000-token prompts far inside a 100 s
    TTFT limit, and the planner named the TTFT limit)."""
    args = (input_tokens, output_tokens, weight_dtype, kv_dtype, num_gpus, percentile,
            efficiency, token_budget, mem_fraction)
    best = float(_goodput(gpu, model, ttft_ms, tpot_ms, *args))
    if not (math.isfinite(best) and best > 0):
        return ""
    r = _Replica(gpu, model, *args[:5], efficiency, token_budget, mem_fraction)
    if best >= CAPACITY_NEAR * float(r.rate(r.n_max)):
        return CAPACITY
    first = float(ttft_at_rate(gpu, model, best, *args)) / float(ttft_ms)
    token = float(tpot_at_rate(gpu, model, best, *args)) / float(tpot_ms)
    one = float(output_tokens) <= 1.0
    reached = (first >= LIMIT_REACHED, not one and token >= LIMIT_REACHED)
    budget = float(r.concurrency(best)) * float(input_tokens) >= (
        CAPACITY_NEAR * float(output_tokens) * float(r.budget))
    if (budget and not reached[1]) or not any(reached):
        return PROMPT_CAPACITY
    return "the TTFT limit" if one or first >= token else "the TPOT limit"


def fleet_note(gpu, model, requests_per_sec, ttft_ms, tpot_ms, input_tokens=1024,
               output_tokens=1024, weight_dtype=None, kv_dtype=None, num_gpus=1,
               percentile=SLA_PERCENTILE, efficiency=None, token_budget=PREFILL_CHUNK,
               mem_fraction=MEM_FRACTION) -> str:
    """What a count of replicas for latency limits comes to (scalars), for the command line's
    bare count (a review: "7" said neither replicas nor GPUs, nor the limit that set it, nor
    its month): the GPUs, what sets one replica's rate (:func:`what_stops`), and a month at the
    GPU's price per hour, where it has one; '' where there is no count."""
    args = (input_tokens, output_tokens, weight_dtype, kv_dtype, num_gpus, percentile,
            efficiency, token_budget, mem_fraction)
    best = float(_goodput(gpu, model, ttft_ms, tpot_ms, *args))
    if not (math.isfinite(best) and best > 0):
        return ""
    reps = float(replicas_for_sla(gpu, model, requests_per_sec, ttft_ms, tpot_ms, *args))
    n = int(num_gpus or 1)
    sets = what_stops(gpu, model, ttft_ms, tpot_ms, *args)
    text = (f"{reps:,.0f} replica{'' if reps == 1 else 's'} of {n} GPU{'' if n == 1 else 's'}: "
            f"{reps * n:,.0f} GPU{'' if reps * n == 1 else 's'}, each replica at most "
            f"{_rate_text(best)} requests/s ({sets} sets it, at percentile "
            f"{float(percentile):g})")
    price = _gpu(gpu).cloud_usd_per_hour
    if price:
        month = reps * n * float(price) * HOURS_PER_MONTH
        text += (f"; ${month:,.0f} a month at ${price:,.2f}/GPU-hour "
                 f"({HOURS_PER_MONTH:.0f} hours)")
    return text + _fewer_gpus(gpu, model, requests_per_sec, ttft_ms, tpot_ms, reps * n, *args)


def split_note(gpu, model, requests_per_sec, ttft_ms, tpot_ms, input_tokens=1024,
               output_tokens=1024, weight_dtype=None, kv_dtype=None, num_gpus=1,
               percentile=SLA_PERCENTILE, efficiency=None, token_budget=PREFILL_CHUNK,
               mem_fraction=MEM_FRACTION) -> str:
    """Where no count of replicas of ``num_gpus`` GPUs meets the limits, the count of GPUs a
    replica that does on the fewest GPUs (scalars; a capacity planner's audit: an L40S replica
    of one GPU met no 50 ms TPOT, and replicas of two did); '' where none does."""
    return _fewer_gpus(gpu, model, requests_per_sec, ttft_ms, tpot_ms, np.inf, input_tokens,
                       output_tokens, weight_dtype, kv_dtype, num_gpus, percentile, efficiency,
                       token_budget, mem_fraction).removeprefix("; ")


def _fewer_gpus(gpu, model, requests_per_sec, ttft_ms, tpot_ms, gpus, input_tokens,
                output_tokens, weight_dtype, kv_dtype, num_gpus, percentile, efficiency,
                token_budget, mem_fraction) -> str:
    """Where another count of GPUs a replica, among those the model splits over up to one
    peer-link domain (as :func:`xlnapkin.capacity._cheapest_split` tries), meets the limits
    on fewer GPUs in all by more than ``CHEAPER_SPLIT``'s margin, that count (a capacity
    planner's audit: 277 replicas of one A100, where replicas of four needed 32 GPUs); else ''.
    Beside a count that meets the limits (``gpus`` finite), a count whose replica holds fewer
    than :data:`FEW_SLOTS` requests is not named (a review: at a trickle of traffic, 1-GPU
    replicas of 70B in fp8, one request each, were advised over one replica of four); of two
    counts that need as many GPUs, the smaller replica is, as capacity's splits choose (a spare
    replica costs less)."""
    from .capacity import CHEAPER_SPLIT
    from .memory import domain_degrees
    g, m = _gpu(gpu), _model(model)
    counts = np.array([k for k in domain_degrees(g, m, weight_dtype) if k != int(num_gpus)
                       and not (np.isfinite(gpus) and slots_note(
                           g, m, input_tokens, output_tokens, weight_dtype, kv_dtype, k,
                           mem_fraction))],
                      dtype=float)
    if not counts.size:
        return ""
    with np.errstate(invalid="ignore"):
        need = counts * np.asarray(replicas_for_sla(
            g, m, requests_per_sec, ttft_ms, tpot_ms, input_tokens, output_tokens, weight_dtype,
            kv_dtype, counts, percentile, efficiency, token_budget, mem_fraction), dtype=float)
    need = np.where(np.isfinite(need), need, np.inf)
    k = int(np.argmin(need))  # the fewest GPUs; of equals, the smaller replica
    if not (np.isfinite(need[k]) and need[k] < CHEAPER_SPLIT * gpus):
        return ""
    return (f"; replicas of {counts[k]:.0f} GPU{'' if counts[k] == 1 else 's'} meet the same "
            f"limits on {need[k]:,.0f} GPU{'' if need[k] == 1 else 's'} (num_gpus {counts[k]:.0f})")


ttft_at_rate.explain = tpot_at_rate.explain = _explain_rate
max_rate_for_sla.explain = replicas_for_sla.explain = _explain_sla


_args.fill(globals())  # the shared argument descriptions (xlnapkin._args)
