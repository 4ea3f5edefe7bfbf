"""Catalog contents (SPEC §4) and lookup rules (STYLE: exact, aliases explicit, never substring)."""

import csv
import re

import pytest

from xlnapkin import catalog
from xlnapkin.errors import CatalogError, UnknownNameError

SPEC_GPUS = """h100-sxm h100-pcie h100-nvl h200-sxm h200-nvl gh200-96gb gh200-144gb b200 gb200 b300
gb300 a100-sxm-80gb a100-sxm-40gb a100-pcie-80gb a10g a10 l4 l40s t4 rtx-4090 rtx-3090 rtx-6000-ada
rtx-pro-6000 mi300x mi325x mi355x gaudi3 tpu-v5e tpu-v6e apple-m1-max apple-m2-ultra apple-m3-max
apple-m4-max apple-m3-ultra dgx-spark arc-pro-b60""".split()
SPEC_MODELS = """llama-2-7b llama-2-13b llama-2-70b llama-3-8b llama-3-70b llama-3.1-8b llama-3.1-70b
llama-3.1-405b llama-3.3-70b mistral-7b mixtral-8x7b mixtral-8x22b qwen2.5-7b qwen2.5-32b qwen2.5-72b
qwen3-8b qwen3-32b qwen3-30b-a3b qwen3-235b-a22b gemma-2-27b gemma-3-27b phi-3-mini phi-4
gpt-oss-20b gpt-oss-120b llama-4-maverick deepseek-v3 deepseek-r1 deepseek-v3.2
nemotron-3-super-120b""".split()
# Added beyond SPEC §4's list, which the catalog covers "at least": each with its own sources.
EXTRA_GPUS = ["rtx-5090", "rtx-a6000"]


def test_every_spec_id_is_in_the_catalog():
    assert sorted(catalog.gpu_ids()) == sorted(SPEC_GPUS + EXTRA_GPUS)
    assert sorted(catalog.model_ids()) == sorted(SPEC_MODELS)


def test_every_row_has_a_source():
    for row in catalog.gpus() + catalog.models() + catalog.prices():
        assert row.source.strip(), row.id


def test_price_rows_are_dated_or_say_why():
    for p in catalog.prices():
        assert p.input_usd_per_mtok >= 0 and p.output_usd_per_mtok > 0, p.id
        assert p.as_of or p.notes, p.id


def test_peaks_are_dense():
    # Dense FP8 is 2x dense BF16 on every GPU that has both; a sparse figure would show as 4x.
    # GeForce rows quote FP8 and BF16 with FP32 accumulation (half rate) and block-scaled FP4 at
    # full rate, so their FP4 is measured against the FP16-accumulate ladder.
    for g in catalog.gpus():
        if g.fp8_tflops:
            assert g.fp8_tflops <= 2.05 * g.bf16_tflops, g.id
        if g.fp4_tflops:
            full_rate = (g.fp16_tflops or g.bf16_tflops) / g.bf16_tflops
            assert g.fp4_tflops <= 2.05 * (g.fp8_tflops or 2 * g.bf16_tflops) * full_rate * 1.7, g.id
    # Vendor datasheets headline the sparse numbers: H100 SXM 1,979 BF16 is 989 dense.
    assert catalog.gpu("h100-sxm").bf16_tflops == 989
    # AMD's MI300X page, 5,229.8 sparse FP8 TFLOPS: 2,614.9 dense (gpus.csv cites it)
    assert catalog.gpu("mi300x").fp8_tflops == pytest.approx(2614.9)


def test_network_figures_come_with_a_domain_and_a_source():
    # scaleout_gbps is the link between peer-link domains, so a row that has one says how many
    # GPUs a domain joins (nvlink_gpus), and where both figures come from; a domain with a
    # limit names at least one link past it.
    for g in catalog.gpus():
        if g.scaleout_gbps:
            assert g.nvlink_gpus, g.id
            assert "scaleout_gbps" in g.source and "scaleout_gbps" in g.notes, g.id
        if g.nvlink_gpus:
            assert g.pcie_gbps or g.scaleout_gbps, g.id
    # DGX H100: eight GPUs on NVSwitch, one 400 Gb/s ConnectX-7 per GPU (gpus.csv cites it)
    h100 = catalog.gpu("h100-sxm")
    assert (h100.nvlink_gpus, h100.scaleout_gbps) == (8, 100)
    assert catalog.field_bounds("gpu", "scaleout_gbps") == (0, 1e4, False)


def test_lookup_ignores_case_and_separators():
    for text in ("H100 SXM", "h100_sxm", " h100-SXM ", "H100"):
        assert catalog.gpu(text).id == "h100-sxm"
    assert catalog.model("Llama 3.1 70B").id == "llama-3.1-70b"


def test_a_model_is_found_by_its_hugging_face_repository():
    """A review: "deepseek-ai/DeepSeek-V3", the catalog's own hf_repo, was an unknown model."""
    assert catalog.model("deepseek-ai/DeepSeek-V3").id == "deepseek-v3"
    assert catalog.model("openai/gpt-oss-120b").id == "gpt-oss-120b"
    for m in catalog.models():
        if m.hf_repo:
            assert catalog.model(m.hf_repo).id == m.id, m.hf_repo
            # the workbooks look a name up after its owner: the same row
            assert catalog.model(m.hf_repo.rpartition("/")[2]).id == m.id, m.hf_repo


def test_a_model_is_found_by_the_repositories_of_its_tuned_checkpoints():
    """A review: the repositories vLLM configurations name, "meta-llama/Llama-3.1-8B-Instruct"
    and "Qwen/Qwen2.5-72B-Instruct", were unknown while "Llama-3.1-8B-Instruct" was found, and
    Meta's first name for it, "Meta-Llama-3.1-8B-Instruct", drew suggestions without it. A
    name after its owner means the row its id or an alias names; the tuned checkpoints are
    aliases of their rows, never guessed from an ending (a second review: an unversioned
    "Mistral-7B-Instruct" had become v0.1's row, with its 4,096-token sliding window)."""
    for name, row in [("meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b"),
                      ("meta-llama/Llama-3.1-70B-Instruct", "llama-3.1-70b"),
                      ("Qwen/Qwen2.5-72B-Instruct", "qwen2.5-72b"),
                      ("meta-llama/Meta-Llama-3.1-8B-Instruct", "llama-3.1-8b"),
                      ("meta-llama/Llama-2-7b-chat-hf", "llama-2-7b")]:
        assert catalog.model(name).id == row, name
        assert catalog.model(name + "; max_context=8192").max_context == 8192
    for guess in ("mistralai/Mistral-7B-Instruct", "gpt-oss-20b-base", "phi-4-it"):
        with pytest.raises(UnknownNameError) as err:
            catalog.model(guess)
        assert "did you mean" in str(err.value), guess
    assert catalog.model("mistralai/Mistral-7B-Instruct-v0.1").id == "mistral-7b"


def test_a_repository_never_takes_a_name_an_id_alias_or_package_repository_has(tmp_path,
                                                                             monkeypatch):
    # user rows whose repositories end in a package id, or repeat a package row's repository
    (tmp_path / "models.csv").write_text(
        "id,hf_repo,params_b,layers,kv_heads,head_dim\n"
        "my-8b,someone/llama-3.1-8b,8,32,8,128\n"
        "my-v3,deepseek-ai/DeepSeek-V3,671,61,128,128\n")
    monkeypatch.setenv(catalog.USER_CATALOG_ENV, str(tmp_path))
    assert catalog.model("llama-3.1-8b").id == "llama-3.1-8b"
    assert catalog.model("someone/llama-3.1-8b").id == "my-8b"
    assert catalog.model("deepseek-ai/DeepSeek-V3").id == "deepseek-v3"
    assert catalog.model("my-v3").id == "my-v3"


def test_aliases_are_unique_and_never_shadow_an_id():
    seen = {}
    for kind, rows in (("gpu", catalog.gpus()), ("model", catalog.models())):
        ids = {r.id for r in rows}
        for r in rows:
            for alias in filter(None, (a.strip() for a in r.aliases.split(";"))):
                key = (kind, catalog.normalise_id(alias))
                assert key not in seen or seen[key] == r.id, key
                assert key[1] not in ids or key[1] == r.id, key
                seen[key] = r.id


def test_no_substring_matching():
    with pytest.raises(UnknownNameError) as err:
        catalog.gpu("h10")
    assert str(err.value) == "unknown gpu 'h10': did you mean h100-sxm, h100-nvl, h100-pcie?"
    with pytest.raises(UnknownNameError):
        catalog.model("llama")


def test_a_vendor_name_in_front_still_finds_the_suggestion():
    # Before: "NVIDIA H100" suggested dgx-spark. The vendor is not part of an id (no guessing:
    # it is still an unknown id, with the right suggestions).
    with pytest.raises(UnknownNameError) as err:
        catalog.gpu("NVIDIA H100")
    assert str(err.value) == ("unknown gpu 'NVIDIA H100': did you mean h100-sxm, h100-nvl, "
                              "h100-pcie?")


def test_a_field_given_twice_with_two_values_is_refused():
    # Before: the last one won silently.
    with pytest.raises(CatalogError) as err:
        catalog.gpu("h100; memory_gb=80; memory_gb=10")
    assert str(err.value) == ("gpu spec 'h100; memory_gb=80; memory_gb=10' gives memory_gb "
                              "twice ('80' and '10'): give it once")
    assert catalog.gpu("h100; memory_gb=70; memory_gb=70").memory_gb == 70


def test_unknown_model_message():
    with pytest.raises(UnknownNameError) as err:
        catalog.model("lama-3.1-70b")
    assert str(err.value).startswith("unknown model 'lama-3.1-70b': did you mean llama-3.1-70b")


def test_spec_string_overrides_a_catalog_row():
    g = catalog.gpu("b200; memory_gb=192")
    assert g.memory_gb == 192 and g.mem_bw_tbps == catalog.gpu("b200").mem_bw_tbps
    assert catalog.gpu("b200").memory_gb == 180  # the catalog row itself is untouched
    # the row's price date was its price's: a price of your own has none (a review), and
    # other fields keep it
    assert catalog.gpu("b200; cloud_usd_per_hour=4").cloud_price_as_of == ""
    assert g.cloud_price_as_of == catalog.gpu("b200").cloud_price_as_of == "2026-03-17"


def test_fully_custom_spec():
    g = catalog.gpu("memory_gb=80; mem_bw_tbps=2; bf16_tflops=312")
    assert (g.memory_gb, g.bandwidth, g.peak_flops("bf16")) == (80, 2e12, 312e12)
    m = catalog.model("params_b=7; layers=32; kv_heads=8; head_dim=128")
    assert m.total_params == 7e9 and m.n_heads == 8


def test_bad_spec_strings():
    with pytest.raises(UnknownNameError) as err:
        catalog.gpu("b200; memroy_gb=192")
    assert str(err.value) == "unknown gpu field 'memroy_gb': did you mean memory_gb?"
    with pytest.raises(CatalogError) as err:
        catalog.gpu("memory_gb=80")
    assert str(err.value) == "gpu spec 'memory_gb=80': missing mem_bw_tbps, bf16_tflops"
    with pytest.raises(CatalogError) as err:
        catalog.gpu("b200; memory_gb=lots")
    assert str(err.value) == "gpu spec 'b200; memory_gb=lots': memory_gb must be a number, got 'lots'"
    # fields separated by commas (an audit: "unknown gpu field 'h100-sxm, memory_gb'")
    for spec in ("h100-sxm, memory_gb=96", "h100-sxm; memory_gb=96, mem_bw_tbps=4",
                 "h100-sxm; notes=mine, mem-bw-tbps=4"):  # a field as _field_name reads it
        with pytest.raises(CatalogError, match="with ';', not ','"):
            catalog.gpu(spec)
    # an '=' inside a value is no separator (a review: a source's URL was refused), unless a
    # field's name comes before it
    assert catalog.gpu("h100-sxm; notes=x=1, y").notes == "x=1, y"
    assert catalog.gpu("h100-sxm; source=https://x.org/a?p=1,q=2").source.endswith("p=1,q=2")
    assert catalog.gpu("h100-sxm; notes=run at tp=2, batch size=8").mem_bw_tbps == 3.35


@pytest.mark.parametrize("spec, message", [
    ("llama-3.1-8b; kv_heads=64", "heads (32) must be a multiple of kv_heads (64)"),
    ("llama-3.1-8b; kv_heads=5", "heads (32) must be a multiple of kv_heads (5)"),
    ("llama-3.1-8b; heads=7", "heads (7) must be a multiple of kv_heads (8)"),
    ("llama-3.1-8b; attention_layers=64", "attention_layers must be at most layers (32), got 64"),
    ("mixtral-8x7b; moe_layers=33", "moe_layers must be at most layers (32), got 33"),
    ("gemma-2-27b; sliding_window_layers=50",
     "sliding_window_layers must be at most the attention layers (46), got 50"),
    # a window without its layer count priced the full context (an audit), and the reverse
    ("params_b=7; layers=32; kv_heads=8; head_dim=128; sliding_window=4096",
     "sliding_window needs sliding_window_layers too"),
    ("llama-3.1-8b; sliding_window_layers=4", "sliding_window_layers needs sliding_window too"),
])
def test_spec_strings_refuse_counts_that_contradict_each_other(spec, message):
    # each of these was accepted before and gave a KV cache or a speed for no real model
    with pytest.raises(CatalogError, match=re.escape(message)):
        catalog.model(spec)


def test_a_zero_turns_the_window_off():
    # a review: "gemma-2-27b; sliding_window=0" was refused once a window needed its layers
    from xlnapkin import memory
    full = memory.kv_bytes("gemma-2-27b; sliding_window=0", 32768)
    assert full == memory.kv_bytes("gemma-2-27b; sliding_window_layers=0", 32768)
    assert full > memory.kv_bytes("gemma-2-27b", 32768) * 1.5


def test_user_catalog_adds_and_overrides(tmp_path, monkeypatch):
    (tmp_path / "gpus.csv").write_text(
        "id,memory_gb,mem_bw_tbps,bf16_tflops,source\n"
        "my-gpu,40,1,100,our lab\n"
        "h100-sxm,96,3.35,989,our overclocked cards\n")
    monkeypatch.setenv(catalog.USER_CATALOG_ENV, str(tmp_path))
    assert catalog.gpu("My GPU").memory_gb == 40
    assert catalog.gpu("h100-sxm").memory_gb == 96
    assert "my-gpu" in catalog.gpu_ids()
    monkeypatch.delenv(catalog.USER_CATALOG_ENV)
    assert catalog.gpu("h100-sxm").memory_gb == 80


def test_bad_user_catalog_names_file_and_line(tmp_path, monkeypatch):
    (tmp_path / "models.csv").write_text("id,params_b,layers,kv_heads,head_dim\nx,-7,1,1,1\n")
    monkeypatch.setenv(catalog.USER_CATALOG_ENV, str(tmp_path))
    with pytest.raises(CatalogError) as err:
        catalog.model("x")
    assert ("models.csv line 2: params_b must be a number in [1e-06, 100000], got '-7'"
            in str(err.value))


def test_table_has_header_and_one_row_per_item():
    rows = catalog.table("gpu")
    assert rows[0][0] == "id" and len(rows) == len(catalog.gpu_ids()) + 1
    assert all(len(r) == len(rows[0]) for r in rows)


def test_kv_per_token_matches_shared_model_configs(shared_data):
    # Golden values: kv_bytes_per_token_16bit in shared/data/model_configs.csv (derived there from
    # each config.json). The package copy must agree with it row for row.
    from xlnapkin.memory import kv_bytes
    shared = {catalog.normalise_id(r["model"]): float(r["kv_bytes_per_token_16bit"])
              for r in csv.DictReader(open(shared_data / "model_configs.csv"))
              if r["kv_bytes_per_token_16bit"]}
    assert len(shared) >= 29
    for name, expected in shared.items():
        # the shared value counts DeepSeek-V3.2's MLA latent only; its indexer keys come on top:
        # 61 layers x (128 fp8 values + one 4-byte scale), from its config.json (index_head_dim
        # 128, num_hidden_layers 61) and vLLM's indexer cache layout
        index_keys = 61 * 132 if name == "deepseek-v3.2" else 0
        # what one more token adds (a hybrid model's recurrent state is per sequence)
        per_token = kv_bytes(name, 2, 1, "bf16") - kv_bytes(name, 1, 1, "bf16")
        assert per_token == expected + index_keys, name
    assert catalog.model("deepseek-v3.2").index_bytes_per_token == 132


def test_a_hybrid_model_keeps_its_mamba_state_per_sequence():
    # Nemotron-3-Super's config.json: 40 Mamba-2 layers ('M' in hybrid_override_pattern), 128
    # heads x 64 head dim x 128 state in float32 (mamba_ssm_cache_dtype), and conv_kernel 4 - 1
    # past tokens of 128 x 64 + 2 x 8 groups x 128 channels at 16 bits. A review found the
    # state missing: 2,463 sequences of 2,048 tokens "fit" one B200 where about 220 do.
    from xlnapkin.memory import kv_bytes, max_batch
    state = 40 * (128 * 64 * 128 * 4 + 3 * (128 * 64 + 2 * 8 * 128) * 2)
    m = catalog.model("nemotron-3-super-120b")
    assert m.state_bytes_per_seq == state == 170_229_760
    kv = 8 * 2 * 2 * 128 * 2  # 8 attention layers x 2 KV heads x (K, V) x 128 x 2 bytes
    assert kv_bytes(m, 2048, 3, "bf16") == 3 * (2048 * kv + state)
    free = 180e9 * 0.9 - 120.67e9 * 1.0  # b200's 180 GB, fp8 weights at a byte each
    assert max_batch("b200", m, 2048, "fp8") == int(free // (2048 * kv + state)) == 221
    assert catalog.model("llama-3.1-8b").state_bytes_per_seq is None


def test_whole_number_fields_are_checked():
    with pytest.raises(CatalogError) as err:
        catalog.model("llama-3.1-8b; layers=0.5")
    assert str(err.value) == ("model spec 'llama-3.1-8b; layers=0.5': layers must be a whole "
                              "number in [1, 10000], got '0.5'")
    with pytest.raises(CatalogError):
        catalog.model("mixtral-8x7b; experts_per_token=0")


def test_spec_string_keeps_its_text_as_id_and_drops_stale_reference_figures():
    assert catalog.gpu("b200; memory_gb=100").id == "b200; memory_gb=100"
    assert catalog.model("llama-3.1-8b; layers=64").kv_bytes_per_token_16bit is None
    # A dense model stays dense when only its size is overridden.
    assert catalog.model("llama-3.1-405b; params_b=405").active_params == 405e9


def test_user_catalog_edits_are_seen_without_a_restart(tmp_path, monkeypatch):
    monkeypatch.setenv(catalog.USER_CATALOG_ENV, str(tmp_path))
    path = tmp_path / "gpus.csv"
    path.write_text("id,memory_gb,mem_bw_tbps,bf16_tflops,source\nlab-a,40,1,100,lab\n")
    assert catalog.gpu("lab-a").memory_gb == 40
    path.write_text("id,memory_gb,mem_bw_tbps,bf16_tflops,source\nlab-a,40,1,100,lab\n"
                    "lab-b,48,1,100,lab\n")
    import os
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)  # a later edit
    assert catalog.gpu("lab-b").memory_gb == 48


def test_every_gpu_has_a_dated_price_or_says_it_has_none():
    """Issue 11: prices follow the GPU. A priced GPU cites its price source ('cloud price:')
    and a date, or says the source is undated; an unpriced one says 'no catalog price'."""
    for g in catalog.gpus():
        text = f"{g.source} {g.notes}".lower()
        if g.cloud_usd_per_hour:
            assert "cloud price:" in g.source.lower(), g.id
            assert g.cloud_price_as_of or "undated" in text, g.id
        else:
            assert "no catalog price" in text or "no catalog rental price" in text, g.id


def test_fp16_accumulate_peaks_are_in_the_csv_and_the_loader_accepts_the_column():
    import csv
    from importlib import resources
    text = resources.files("xlnapkin").joinpath("data", "gpus.csv").read_text(encoding="utf-8")
    rows = {r["id"]: r for r in csv.DictReader(text.splitlines())}
    # NVIDIA Ada, Ampere GA102 and RTX Blackwell whitepapers: FP16 tensor with FP16 accumulate,
    # dense (the 5090's as quoted beside an mmapeak run, gpus.csv cites it)
    assert rows["rtx-4090"]["fp16_tflops"] == "330.3" and rows["rtx-3090"]["fp16_tflops"] == "142"
    assert rows["rtx-5090"]["fp16_tflops"] == "419" and rows["rtx-5090"]["bf16_tflops"] == "209.5"
    assert all(r["fp16_tflops"] == "" for gid, r in rows.items()
               if gid not in ("rtx-4090", "rtx-3090", "rtx-5090"))
    assert catalog.gpu("rtx-4090").bf16_tflops == 165.2  # the column does not change bf16
    assert catalog.gpu("mi355x").interconnect_gbps == 1075.2  # CDNA 4 whitepaper, 7 x 153.6


def test_every_catalog_model_has_a_comparable_api():
    """Like for like: a hosted API serving the same open weights, one marked per model."""
    for m in catalog.models():
        p = catalog.comparable_price(m.id)
        assert p is not None and p.model_id == m.id and p.comparable == "yes", m.id
        assert p.as_of or "undated" in p.source.lower(), p.id
    assert catalog.comparable_price("no-such-model") is None
