"""Latency under load: TTFT_AT_RATE and TPOT_AT_RATE against published open-loop measurements.

Reads ``benchmarks/data/openloop.csv`` (requests offered at a rate, Poisson arrivals; mean,
median or percentile TTFT and TPOT measured; each row cites its source) and prints, for every
row the model can represent, the measurement and the prediction of
:mod:`xlnapkin.queueing` for one replica: the offered rate divided by the replicas
(``num_gpus / tp``), the percentile the row states (``mean`` uses the model's mean, ``median``
the 0.5 percentile), calibrated defaults, and the engine's step token budget where the row
states it (``max_num_tokens`` of TensorRT-LLM, the runtime value where a build-time ceiling is
also given, ``max_num_batched_tokens`` of vLLM, ``chunked_prefill_size`` of SGLang, read from
its notes; else the default 8,192), and its limit on sequences in flight where the row states
it (TensorRT-LLM's ``gpu_batch_size``, vLLM's ``max_num_seqs``: the GPU's ``max_concurrency``,
divided over the replica's GPUs; else the calibrated default). Then the
median absolute % error by metric.

    python benchmarks/openloop.py            # the table and the summary
    python benchmarks/openloop.py --csv X    # also every row's prediction

A side check separates the two halves of the model. Little's law gives the mean number of
sequences a run decoded at once from its own TPOT, ``N = rate x output x step`` (each request
is in the batch for ``output`` steps; the step is the TPOT less the model's echo of a
request's own prompt); the model's TPOT at that concurrency (its step,
:func:`xlnapkin.serving.loaded_step`, and the echo) is then compared with the measured TPOT,
and ``N`` with
the concurrency the model's fixed point puts at that rate. A good step model with a large
concurrency gap means the error comes from the fixed point, which is sensitive wherever the
replica's throughput curve flattens (near its capacity).

A second side check sizes each MLPerf run: its result is the rate a tuned system sustained
within the benchmark's p99 limits on TTFT and TPOT (:data:`MLPERF_LIMITS`), so
:func:`xlnapkin.queueing.max_rate_for_sla` at those limits should give about that rate per
replica (at or above it: the rate passed).

Rows are skipped, with the reason, where an input or output length is not recorded, where the
metric is not a latency (completed requests/s, tokens/s), where the arrival is not Poisson
(``inf`` rate bursts), where the deployment is not tensor parallel (pipeline stages), where
the engine reports the replica overloaded at the offered rate, where the run replayed prompts a
server with prefix caching had already served (its notes begin ``WARM PREFIX CACHE``: a shared
prefix, which the inclusion rules exclude), or where the run is too short to
reach a steady state: its ``requests`` (the count the benchmark sent, where the source states
it) arrive within less than :data:`STEADY` times a request's own measured latency (its TTFT
plus ``output - 1`` TPOTs), so most requests saw the ramp-up or the drain, not the concurrency
the rate holds. The rule depends only on the run's own measurements. MLPerf runs last at least
600 s and state no count; a run that states a count but no mean or median TTFT and TPOT to
compare it with is skipped too. The mean inter-token latency (``itl_ms``, from benchmarks that
print no TPOT) is scored against the model's loaded step at the rate: every gap averaged is
the mean step, prompts included, weighing each request by its length, so the echo of a
request's own prompt, which sits in the short requests' few gaps, is left out. Its median and
percentiles are skipped: the median gap is a step without prompt chunks, a p99 one with them.
The MLPerf rows use the mean prompt and output lengths of their datasets as recorded in the
rows; the vLLM and SGLang rows the totals their benchmark printed divided by the requests.

The summary gives the median error by metric, by load band and by source, and beside it the
median of predicted / measured - 1: which way the error goes (negative: the model's latency is
shorter than measured).
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from accuracy import weight_dtype, kv_dtype  # noqa: E402
from xlnapkin import calibration, catalog, queueing, serving  # noqa: E402
from xlnapkin.errors import NapkinError  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "openloop.csv"
PERCENTILE = {"median": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
_BUDGET = re.compile(r"(?:max_num_tokens|max[-_]num[-_]batched[-_]tokens|chunked[-_]prefill[-_]size)"
                     r"[ =:]*([0-9][0-9,]*[0-9]|[0-9])")


_RUNTIME = re.compile(r"max_num_tokens \d+ build / (\d+) runtime")
_SEQUENCES = re.compile(r"(?:gpu_batch_size|max[-_]num[-_]seqs)[ =]+(\d+)")
# vLLM's multi-step scheduling (V0, 0.6 to 0.10): the decode steps per scheduling decision
_WINDOW = re.compile(r"num[-_]scheduler[-_]steps[ =]+(\d+)")


def token_budget(row):
    """The step token budget the row's engine configuration states, else the default. Where a
    TensorRT-LLM config gives a build-time ceiling and a runtime value ("8192 build / 2560
    runtime"), the runtime value: it is the one the scheduler uses."""
    found = _RUNTIME.search(row["notes"]) or _BUDGET.search(row["notes"])
    return float(found.group(1).replace(",", "")) if found else queueing.PREFILL_CHUNK


def _num(text):
    try:
        x = float(str(text).replace(",", ""))
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


STEADY = 3.0  # a run's arrivals must last this many times a request's own latency


def _run(row):
    """The run a row reports a statistic of: its setup, rate and request count."""
    return tuple(row.get(k, "") for k in _RUN_KEYS)


_RUN_KEYS = ("source_url_or_repo_path", "engine", "gpu", "num_gpus", "tp", "model",
             "weight_dtype", "kv_dtype", "input_len", "output_len", "request_rate_per_s",
             "requests", "notes")  # the notes tell apart variants run at the same settings


def run_latencies(rows):
    """A request's measured latency in each run, in seconds: its TTFT and ``output - 1`` times
    its TPOT (means where the run reports them, else medians; the mean inter-token latency
    where it reports no TPOT)."""
    found = {}
    for r in rows:
        value = _num(r["value"])
        if value is not None and r["statistic"] in ("mean", "median"):
            found.setdefault(_run(r), {}).setdefault((r["metric"], r["statistic"]), value)
    out = {}
    for run, got in found.items():
        first = got.get(("ttft_ms", "mean"), got.get(("ttft_ms", "median")))
        token = next((got[k] for k in (("tpot_ms", "mean"), ("tpot_ms", "median"),
                                       ("itl_ms", "mean")) if k in got), None)
        output = _num(run[_RUN_KEYS.index("output_len")])
        if first is not None and token is not None and output:
            out[run] = (first + (output - 1) * token) / 1e3
    return out


def too_short(row, latencies):
    """Why a run is too short to score, or None. A run that sends ``requests`` at ``rate``
    stops arriving after ``requests / rate`` seconds; the model describes the steady state,
    which the concurrency reaches about one request's latency after the start. A run whose
    arrivals last less than :data:`STEADY` times that latency is mostly ramp-up and drain
    (MLPerf runs last at least 600 s and state no count). A run that states its count but not
    the latency to compare it with cannot be checked, so it is not scored either."""
    requests, rate = _num(row.get("requests")), _num(row["request_rate_per_s"])
    if not requests or not rate:
        return None
    latency = latencies.get(_run(row))
    if latency is None:
        return ("the run states its request count but no mean or median TTFT and TPOT: "
                "whether it reached a steady state cannot be checked")
    if requests / rate >= STEADY * latency:
        return None
    return (f"arrivals last {requests / rate:.3g} s, under {STEADY:g} times a request's "
            f"measured latency ({latency:.3g} s): the run ends before the steady state")


def replica(row):
    """How a row maps to one replica: ``(gpu, model, weight dtype, kv dtype, tp, replicas,
    requests/s per replica, token budget)``. The rate is split evenly over ``num_gpus / tp``
    replicas. Where the row's engine configuration states its limit on sequences in flight (a
    replica's: TensorRT-LLM's ``gpu_batch_size`` in the MLPerf configs, vLLM's
    ``max_num_seqs``), the GPU takes it as ``max_concurrency``, divided over the replica's GPUs,
    as a user would give it; else the calibrated default. Likewise the decode steps it runs per
    scheduling decision (vLLM V0's ``num_scheduler_steps``) as ``scheduler_steps``. A
    NapkinError where the catalog lacks the GPU or model."""
    g, m = catalog.gpu(row["gpu"]), catalog.model(row["model"])
    wd = weight_dtype(row, m)
    tp = int(_num(row["tp"]) or 1)
    settings = []
    seqs = _SEQUENCES.search(row["notes"])
    if seqs:
        settings.append(f"max_concurrency={float(seqs.group(1)) / tp:g}")
    window = _WINDOW.search(row["notes"])
    if window:
        settings.append(f"scheduler_steps={window.group(1)}")
    if settings:
        g = catalog.gpu("; ".join([g.id] + settings))
    replicas = max(int(_num(row["num_gpus"]) or 1) // tp, 1)
    return (g, m, wd, kv_dtype(row, wd), tp, replicas,
            _num(row["request_rate_per_s"]) / replicas, token_budget(row))


def predict(row, latencies=None):
    """(prediction in the row's unit, how) or (None, why it is skipped). ``latencies``
    (:func:`run_latencies` of the whole file) adds the check that the run reached its steady
    state; without it the check is not made."""
    metric, stat = row["metric"], row["statistic"]
    if not _num(row["value"]):
        return None, "no measured value"
    if metric == "itl_ms" and stat == "mean":
        metric = "tpot_ms"  # every gap between tokens, averaged: the mean step
    elif metric == "itl_ms":
        return None, (f"a {stat} of single inter-token gaps is a step without prompt chunks "
                      "(median) or one with them (p90, p99); the model gives the mean step, "
                      "prompts included: only the mean gap is scored")
    if metric not in ("ttft_ms", "tpot_ms"):
        return None, f"{metric} is not a latency"
    inp, out, rate = _num(row["input_len"]), _num(row["output_len"]), _num(
        row["request_rate_per_s"])
    if not inp or not out:
        return None, "input or output length not recorded"
    if rate is None or row["arrival"] != "poisson":
        return None, "not a Poisson stream at a stated rate"
    if "pipeline-parallel-size 2" in row["notes"] or "PP2" in row["notes"]:
        return None, "pipeline-parallel stages: the engine models tensor parallelism only"
    if row["notes"].startswith("WARM PREFIX CACHE"):
        return None, ("prompts replayed on a server whose prefix cache already held them: a "
                      "shared prefix, and the model prices every prefill in full")
    short = too_short(row, latencies) if latencies is not None else None
    if short:
        return None, short
    try:
        g, m, wd, kv, tp, replicas, per, budget = replica(row)
    except NapkinError as err:
        return None, str(err)
    if row["metric"] == "itl_ms":  # the mean step: a mean TPOT less its echo
        conc, _ = queueing.operating_point(g, m, per, inp, out, wd, kv, tp, None, budget)
        value = serving.loaded_step(g, m, conc, inp, out, wd, kv, tp, calibration.resolve(None, g),
                                    queueing.batch_context(inp, out)) * 1e3
    elif stat == "mean":
        ttft, tpot = queueing.mean_latency_at_rate(g, m, per, inp, out, wd, kv, tp, None, budget)
        value = ttft if metric == "ttft_ms" else tpot
    else:
        p = PERCENTILE.get(stat)
        if p is None:
            return None, f"statistic {stat} not mapped"
        fn = queueing.ttft_at_rate if metric == "ttft_ms" else queueing.tpot_at_rate
        value = fn(g, m, per, inp, out, wd, kv, tp, p, None, budget)
    _, top = queueing.operating_point(g, m, per, inp, out, wd, kv, tp, None, budget)
    if not np.isfinite(value):
        return None, (f"the model says one replica is overloaded at this rate (it sustains at "
                      f"most {top:.3g} req/s)")
    step = "" if budget == queueing.PREFILL_CHUNK else f", budget {budget:g}"
    return float(value), (f"{replicas} x tp {tp} at {per:.3g} req/s ({per / top:.0%} of "
                          f"capacity){step}, {stat}")


def source_name(row) -> str:
    """A row's source, short: MLPerf and its round for a results repository (or a mirror of
    one), else the GitHub repository (owner/name) or the site."""
    url = row["source_url_or_repo_path"]
    round_ = re.search(r"/inference_results_(v[0-9.]+)/", url)
    if round_:
        return f"MLPerf Inference {round_.group(1)}"
    parts = url.split("/")
    return "/".join(parts[3:5]) if "github.com" in url else parts[2] if "//" in url else url


def own_concurrency(rows, latencies=None):
    """For every scored TPOT row (a mean, a median where the source gives only that, or a mean
    inter-token latency): the sequences its run decoded at once by Little's law (each is in the
    batch for ``output`` steps: ``N = rate x output x step``, the step being the TPOT less the
    echo of a request's own prompt, the model's at its own operating point; a mean gap between
    tokens has none, as it weighs each request by its length), the model's TPOT at that
    concurrency (its step and the echo) against the measured TPOT, and the concurrency the
    model's own fixed point gives at the rate (the same law on its own step). Returns a list
    of ``(line, label, n_run, n_model, measured tpot ms, model's TPOT ms)``."""
    if latencies is None:
        latencies = run_latencies(rows)
    out = []
    for line, r in enumerate(rows, start=2):
        if (r["metric"], r["statistic"]) not in (("tpot_ms", "mean"), ("tpot_ms", "median"),
                                                 ("itl_ms", "mean")):
            continue
        if predict(r, latencies)[0] is None:  # the rules of the scored rows
            continue
        g, m, wd, kv, tp, _, rate, budget = replica(r)
        inp, out_len = _num(r["input_len"]), _num(r["output_len"])
        tpot = float(r["value"])
        eff, held = calibration.resolve(None, g), queueing.batch_context(inp, out_len)
        n_model, _ = queueing.operating_point(g, m, rate, inp, out_len, wd, kv, tp, None,
                                              budget)
        if r["metric"] == "itl_ms":
            echo = 0.0
        else:
            seen = (queueing.mean_latency_at_rate(g, m, rate, inp, out_len, wd, kv, tp, None,
                                                  budget)[1] if r["statistic"] == "mean" else
                    queueing.tpot_at_rate(g, m, rate, inp, out_len, wd, kv, tp, 0.5, None,
                                          budget))
            echo = seen - serving.loaded_step(g, m, n_model, inp, out_len, wd, kv, tp, eff,
                                              held) * 1e3
        n_run = rate * out_len * (tpot - echo) / 1e3
        step = serving.loaded_step(g, m, n_run, inp, out_len, wd, kv, tp, eff, held) * 1e3 + echo
        out.append((line, f"{r['gpu']} x{tp} {r['model']} at {rate:.3g} req/s "
                          f"({r['statistic']})", n_run, float(n_model), tpot, float(step)))
    return out


# The latency limits of MLPerf Inference's LLM benchmarks, (p99 TTFT ms, p99 TPOT ms) by model
# and scenario, as each MLPerf run in openloop.csv states them: "ttft_latency (ns)" and
# "tpot_latency (ns)" under "Test Parameters Used" in its mlperf_log_summary.txt, and the
# percentile, 0.99, as effective_target_latency_percentile in its mlperf_log_detail.txt (read in
# all 21 runs, rounds v4.1 and v5.1, at the commits their rows cite; every run of a benchmark
# and scenario states the same limits).
MLPERF_LIMITS = {("llama-2-70b", "server"): (2000.0, 200.0),
                 ("llama-2-70b", "interactive"): (450.0, 40.0),
                 ("llama-3.1-8b", "server"): (2000.0, 100.0),
                 ("llama-3.1-8b", "interactive"): (500.0, 30.0),
                 ("llama-3.1-405b", "server"): (6000.0, 175.0),
                 ("llama-3.1-405b", "interactive"): (4500.0, 80.0)}
MLPERF_PERCENTILE = 0.99


def sla_check(rows):
    """MAX_RATE_FOR_SLA against the MLPerf runs: an MLPerf Server or Interactive result is the
    Poisson rate a tuned system sustained with its p99 TTFT and TPOT within the benchmark's
    limits, so the rate per replica is (from below: it passed) what the function should give
    for those limits. Returns ``[(line, label, limits, measured rate, predicted rate, the
    model's capacity)]``, one per run, rates per replica."""
    out, seen = [], set()
    for line, r in enumerate(rows, start=2):
        url = r["source_url_or_repo_path"]
        scenario = re.search(r"/(Server|Interactive)/", url)
        if "/inference_results_v" not in url or not scenario or url in seen:
            continue
        seen.add(url)
        try:
            g, m, wd, kv, tp, _, per, budget = replica(r)
        except NapkinError:  # a GPU or model the catalog lacks: the scored rows skip it too
            continue
        limits = MLPERF_LIMITS.get((m.id, scenario.group(1).lower()))
        if limits is None:  # a benchmark whose limits are not recorded here
            continue
        inp, out_len = _num(r["input_len"]), _num(r["output_len"])
        pred = queueing.max_rate_for_sla(g, m, *limits, inp, out_len, wd, kv, tp,
                                         MLPERF_PERCENTILE, None, budget)
        _, top = queueing.operating_point(g, m, per, inp, out_len, wd, kv, tp, None, budget)
        out.append((line, f"{r['gpu']} x{tp} {r['model']} {scenario.group(1)}", limits, per,
                    float(pred), float(top)))
    return out


def main(argv=None, quiet=False):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--csv", metavar="OUT")
    args = ap.parse_args(argv)
    with open(args.data, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    scored, skipped = [], {}
    latencies = run_latencies(rows)
    for i, r in enumerate(rows, start=2):
        pred, how = predict(r, latencies)
        if pred is None:
            skipped.setdefault(how, []).append(i)
            continue
        scored.append((i, r, pred, how, abs(pred / float(r["value"]) - 1) * 100))
    by_metric, signed = {}, {}  # |error| and predicted / measured - 1, in %, by group
    for _, r, pred, how, err in scored:
        load = float(how.split("(")[1].split("%")[0]) / 100
        groups = ["tpot_ms" if r["metric"] == "itl_ms" else r["metric"]]
        if r["metric"] == "itl_ms":
            groups.append("of which mean inter-token latency")
        groups.append("below 70 % of capacity" if load < 0.7 else "at 70 % of capacity or more")
        for key in groups:
            by_metric.setdefault(key, []).append(err)
            signed.setdefault(key, []).append((pred / float(r["value"]) - 1) * 100)
    for _, r, pred, _, err in scored:
        by_metric.setdefault("source: " + source_name(r), []).append(err)
        signed.setdefault("source: " + source_name(r), []).append(
            (pred / float(r["value"]) - 1) * 100)
    summary = {k: (len(v), float(np.median(v))) for k, v in by_metric.items()}
    every = [e for _, _, _, _, e in scored]
    summary["overall"] = (len(every), float(np.median(every)) if every else float("nan"))
    signed["overall"] = [(p / float(r["value"]) - 1) * 100 for _, r, p, _, _ in scored]
    overloaded = sum(len(v) for k, v in skipped.items() if "overloaded" in k)
    summary["overall, overloaded rows counted as 100 %"] = (
        len(every) + overloaded, float(np.median(every + [100.0] * overloaded)))
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["line", "gpu", "model", "metric", "statistic", "measured", "predicted",
                        "abs_err_pct", "mapping"])
            for i, r, pred, how, err in scored:
                w.writerow([i, r["gpu"], r["model"], r["metric"], r["statistic"], r["value"],
                            f"{pred:.6g}", f"{err:.1f}", how])
    own = own_concurrency(rows, latencies)
    if own:
        summary["TPOT: the model's step at each run's own concurrency"] = (
            len(own), float(np.median([abs(st / tpot - 1) * 100 for *_, tpot, st in own])))
    sla = sla_check(rows)
    if sla:
        key = "MAX_RATE_FOR_SLA at each MLPerf run's own limits (runs; +: above the rate)"
        summary[key] = (len(sla), float(np.median([abs(p / rate - 1) * 100
                                                   for *_, rate, p, _ in sla])))
        signed[key] = [(p / rate - 1) * 100 for *_, rate, p, _ in sla]
    if quiet:
        return summary
    runs = {_run(r) for _, r, *_rest in scored}
    print(f"{len(rows)} rows in {Path(args.data).name}: {len(scored)} scored, from {len(runs)} "
          "runs\n")
    print("| line | setup | rate | metric | measured | predicted | error |")
    print("|---:|---|---|---|---:|---:|---:|")
    for i, r, pred, how, err in scored:
        print(f"| {i} | {r['gpu']} x{r['num_gpus']} {r['model']} {r['input_len']}/"
              f"{r['output_len']} | {how} | {r['metric']} | {float(r['value']):.4g} | "
              f"{pred:.4g} | {err:.0f} % |")
    print("\n| rows | n | median abs % error | median signed % (+: predicted longer) |\n"
          "|---|---:|---:|---:|")
    for k, (n, med) in summary.items():
        bias = f"{np.median(signed[k]):+.1f} %" if signed.get(k) else "-"
        print(f"| {k} | {n} | {med:.1f} % | {bias} |")
    if own:
        print("\nThe model's step, and the echo, at the concurrency each run held (Little's "
              "law on its own TPOT less the echo):\n")
        print("| line | run | concurrency held | model's concurrency at the rate | TPOT "
              "measured | model's TPOT there |\n|---:|---|---:|---:|---:|---:|")
        for line, label, n_run, n_model, tpot, st in own:
            print(f"| {line} | {label} | {n_run:.0f} | {n_model:.0f} | {tpot:.4g} | "
                  f"{st:.4g} ({st / tpot - 1:+.0%}) |")
        ratio = np.median([n_run / n_model for _, _, n_run, n_model, *_ in own])
        print(f"\nmedian concurrency held / the model's: {ratio:.2f}")
    if sla:
        print("\nMAX_RATE_FOR_SLA at each MLPerf run's own limits (p99 TTFT / p99 TPOT; rates "
              "per replica; a run's rate passed, so its system's most is at or above it):\n")
        print("| line | run | limits (ms) | rate measured | MAX_RATE_FOR_SLA | model's capacity "
              "|\n|---:|---|---|---:|---:|---:|")
        for line, label, (ttft, tpot), rate, pred, top in sla:
            print(f"| {line} | {label} | {ttft:g} / {tpot:g} | {rate:.3g} | {pred:.3g} "
                  f"({pred / rate - 1:+.0%}) | {top:.3g} |")
        ratios = [p / rate for *_, rate, p, _ in sla]
        print(f"\nmedian MAX_RATE_FOR_SLA / rate measured: {np.median(ratios):.2f} "
              f"({sum(x < 1 for x in ratios)} of {len(ratios)} below 1)")
    print("\nskipped rows:\n")
    for why, lines in skipped.items():
        print(f"* {len(lines)} row(s) (lines {', '.join(map(str, lines[:8]))}"
              f"{', ...' if len(lines) > 8 else ''}): {why}")
    return summary


if __name__ == "__main__":
    main()
