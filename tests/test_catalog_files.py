"""User catalogs a colleague shares (issue 12): encodings, oversized cells, duplicate ids and
names, ids that can never be looked up, numbers Python reads but people do not, edits that keep
the modification time, a mistyped folder, and CSV output that a spreadsheet would run."""

import os

import pytest

from xlnapkin import calibration, catalog, cli, udfs
from xlnapkin.errors import CatalogError

HEADER = "id,name,vendor,memory_gb,mem_bw_tbps,bf16_tflops,source\n"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv(catalog.USER_CATALOG_ENV, str(tmp_path))
    return tmp_path


def _write(folder, body, encoding="utf-8", name="gpus.csv"):
    path = folder / name
    path.write_bytes((HEADER + body).encode(encoding))
    return path


def test_a_latin_1_file_is_a_message_naming_the_file(folder):
    path = _write(folder, "mygpu,Gérard's GPU,ACME,48,1,100,s\n", "cp1252")
    assert udfs.GPU_SPEC("mygpu", "memory_gb") == (
        f"{path}: not UTF-8 text (byte 64); save it as 'CSV UTF-8' (Excel) or UTF-8 (other "
        "editors)")
    assert udfs.KV_BYTES("llama-3.1-8b").startswith(f"{path}: not UTF-8 text")


def test_utf_16_with_a_bom_is_read(folder):
    _write(folder, "mygpu,Gérard's GPU,ACME,48,1,100,s\n", "utf-16")
    assert udfs.GPU_SPEC("mygpu", "memory_gb") == 48


def test_a_broken_utf_16_file_is_a_message_naming_the_file(folder):
    # A UTF-16 BOM and then an odd byte: every command died with a traceback (review of
    # 2026-12-03).
    path = folder / "gpus.csv"
    path.write_bytes(b"\xff\xfei")
    said = udfs.GPU_SPEC("h100-sxm", "memory_gb")
    assert said.startswith(f"{path}: not UTF-16 text (byte 3); save it as "), said


def test_an_oversized_cell_is_a_message(folder):
    path = _write(folder, "mygpu,x,ACME,48,1,100,\"" + "s" * 200_000 + "\"\n")
    assert udfs.GPU_SPEC("mygpu", "memory_gb") == (
        f"{path} line 2: field larger than field limit (131072) (a cell holds at most 131,072 "
        "characters)")


@pytest.mark.parametrize("call, message", [
    # a hardening audit: these gave answers of 300 digits and exit code 0
    (lambda: udfs.GPUS_NEEDED("h100-sxm; memory_gb=1e-300", "llama-3.1-70b"),
     "memory_gb must be a number in [0.001, 100000], got '1e-300'"),
    (lambda: udfs.MAX_BATCH("h100-sxm", "llama-3.1-8b; head_dim=1e-300", 4096),
     "head_dim must be a number in [1, 1000000000], got '1e-300'"),
    (lambda: udfs.MAX_BATCH("h100-sxm", "deepseek-v3; kv_lora_rank=0.5", 4096),
     "kv_lora_rank must be 0 or a number in [1, 1000000000], got '0.5'"),
])
def test_sizes_too_small_to_be_meant_are_refused(call, message):
    assert call().endswith(message)


@pytest.mark.parametrize("body, message", [
    ("(),x,ACME,48,1,100,s\n", "line 2: id '()' is empty once spaces, brackets and commas are "
                              "dropped"),
])
def test_ids_that_could_never_be_looked_up_are_refused(folder, body, message):
    path = _write(folder, body)
    assert udfs.GPU_SPEC("h100-sxm", "memory_gb") == f"{path} {message}"


def test_an_alias_with_an_equals_sign_is_refused(folder):
    path = folder / "gpus.csv"
    path.write_text("id,name,vendor,aliases,memory_gb,mem_bw_tbps,bf16_tflops,source\n"
                    "mygpu,x,ACME,my=gpu,48,1,100,s\n")
    assert udfs.GPU_SPEC("h100-sxm", "memory_gb") == (
        f"{path} line 2: aliases must not contain '=' (it sets a field in a spec string: such a "
        "name is never looked up)")


def test_an_oversized_file_is_a_message_and_is_not_read_whole(folder, monkeypatch):
    monkeypatch.setattr(catalog, "_FILE_LIMIT", 4096)  # the real limit is 16 MiB
    rows = "".join(f"g{i},x,ACME,48,1,100,s\n" for i in range(300))  # 6.7 kB
    path = _write(folder, rows)
    assert udfs.GPU_SPEC("h100-sxm", "memory_gb") == (
        f"{path}: larger than 4,096 bytes; a catalog file holds rows of GPUs, models or prices, "
        "a few hundred bytes each")
    _write(folder, "".join(rows.splitlines(keepends=True)[:100]))  # under the limit: read
    assert udfs.GPU_SPEC("g1", "memory_gb") == 48


@pytest.mark.parametrize("body, message", [
    ("a1,x,ACME,48,1,100,s\na1,y,ACME,24,1,100,s\n", "line 3: id 'a1' is already on line 2"),
    ("h100,x,ACME,48,1,100,s\n", "gpu 'h100' takes the name 'h100', which already means "
                                 "'h100-sxm'; rename it, or give the row the id 'h100-sxm' to "
                                 "replace that one"),
    ("a;b,x,ACME,48,1,100,s\n", "line 2: id 'a;b' must not contain ';' or '=' (they separate "
                                "the fields of a spec string)"),
    ("a1,x,ACME,8_0,1,100,s\n", "line 2: memory_gb must be a number, got '8_0'"),
    # digits of other scripts, which float() reads too (a hardening audit)
    ("a1,x,ACME,\uff18\uff10,1,100,s\n", "line 2: memory_gb must be a number, got '\uff18\uff10'"),
    ("a1,x,ACME,1e300,1,100,s\n", "line 2: memory_gb must be a number in [0.001, 100000], got "
                                  "'1e300'"),
])
def test_rows_that_would_be_silently_wrong_are_refused(folder, body, message):
    path = _write(folder, body)
    with pytest.raises(CatalogError) as err:
        catalog.gpu("b200")
    sep = " " if message.startswith("line") else ": "
    assert str(err.value) == f"{path}{sep}{message}"


@pytest.mark.parametrize("header, body, message", [
    # a hardening audit: a misspelled column was silently ignored, a repeated one read from its
    # last copy, and cells past the header dropped
    ("id,memory_gb,mem_bw_tbps,bf16_tflops,cloud_usd_per_hr\n", "a1,48,1,100,3\n",
     "line 1: unknown column 'cloud_usd_per_hr': did you mean 'cloud_usd_per_hour'?"),
    ("id,memory_gb,mem_bw_tbps,bf16_tflops,memory_gb\n", "a1,64,1,100,32\n",
     "line 1: column 'memory_gb' appears twice"),
    (HEADER, "a1,x,ACME,48,1,100,s,7\n",
     "line 2: more cells than the header has columns (a comma too many?)"),
    (HEADER, "a1,x,ACME,48,1,1e-9,s\n", "line 2: bf16_tflops must be a number in [0.001, "
                                         "1000000], got '1e-9'"),
    ("id,memory_gb,mem_bw_tbps,bf16_tflops,\n", "a1,48,1,100,oops\n",
     "line 2: a value under a column without a name"),
    # the file's own line, past a quoted cell that holds line breaks (a review)
    (HEADER, 'a1,x,ACME,48,1,100,"one\ntwo\nthree"\na2,y,ACME,8_0,1,100,s\n',
     "line 5: memory_gb must be a number, got '8_0'"),
])
def test_columns_other_than_the_package_s_are_refused(folder, header, body, message):
    path = folder / "gpus.csv"
    path.write_text(header + body, encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        catalog.gpu("b200")
    assert str(err.value) == f"{path} {message}"


def test_an_api_s_served_precision_is_a_dtype_the_engine_knows(folder):
    # read by its canonical name, which the templates compare with the weights used
    path = folder / "prices.csv"
    header = "id,model_id,served_dtype,input_usd_per_mtok,output_usd_per_mtok\n"
    path.write_text(header + "my-api,llama-3.1-8b,FP8,0.1,0.2\n", encoding="utf-8")
    assert catalog.price("my-api").served_dtype == "fp8"
    for typed in ("eight bits", "8"):  # a name the workbooks look up: not a number of bits
        path.write_text(header + f"my-api,llama-3.1-8b,{typed},0.1,0.2\n", encoding="utf-8")
        with pytest.raises(CatalogError) as err:
            catalog.price("my-api")
        assert str(err.value) == (f"{path} line 2: served_dtype must be blank or a weight "
                                  f"dtype such as fp8 or bf16, got '{typed}'")


def test_spaces_around_a_column_name_and_a_blank_trailing_column_are_read(folder):
    (folder / "gpus.csv").write_text(" id , memory_gb ,mem_bw_tbps,bf16_tflops,\n"
                                     "a1,48,1,100,\n", encoding="utf-8")
    assert catalog.gpu("a1").memory_gb == 48


def test_a_line_break_in_a_quoted_cell_is_kept(folder):
    _write(folder, 'a1,x,ACME,48,1,100,"first\r\nsecond"\n')
    assert catalog.gpu("a1").source == "first\r\nsecond"


def test_a_folder_named_as_a_catalog_file_is_a_message(folder, capsys):
    (folder / "gpus.csv").mkdir()
    with pytest.raises(CatalogError, match="gpus.csv is not a file"):
        catalog.gpu("b200")
    assert catalog.user_files() == []


def test_an_unknown_id_s_suggestions_are_kept(folder):
    # a hardening audit: a sweep of 200 x 200 unknown ids compared every cell's text with
    # every id again (8.9 s)
    catalog._suggest.cache_clear()
    for _ in range(3):
        assert udfs.TOKENS_PER_SEC("h10", "llama-3.1-8b").endswith("did you mean h100-sxm, "
                                                                   "h100-nvl, h100-pcie?")
    assert catalog._suggest.cache_info().hits == 2


def test_a_user_gpu_row_can_carry_its_engine_cap(folder):
    # max_concurrency is an optional column (the package file has none); 0 and -5 get one rule.
    path = folder / "gpus.csv"
    head = HEADER.replace(",source\n", ",max_concurrency,source\n")
    path.write_bytes((head + "mygpu,x,ACME,80,3,900,1024,s\n").encode())
    assert catalog.gpu("mygpu").max_concurrency == 1024
    for bad in ("0", "-5", "2.5"):
        path.write_bytes((head + f"mygpu,x,ACME,80,3,900,{bad},s\n").encode())
        with pytest.raises(CatalogError) as err:
            catalog.gpu("mygpu")
        assert str(err.value) == (f"{path} line 2: max_concurrency must be a whole number in "
                                  f"[1, 1000000], got '{bad}'")


def test_a_user_gpu_row_can_carry_its_fixed_time_per_request(folder):
    path = folder / "gpus.csv"
    head = HEADER.replace(",source\n", ",prefill_overhead_ms,source\n")
    path.write_bytes((head + "mygpu,x,ACME,80,3,900,2.5,s\n").encode())
    assert catalog.gpu("mygpu").prefill_overhead_ms == 2.5
    path.write_bytes((head + "mygpu,x,ACME,80,3,900,0,s\n").encode())
    assert catalog.gpu("mygpu").prefill_overhead_ms == 0  # a stack with none is a value
    assert calibration.resolve(None, catalog.gpu("mygpu")).prefill_overhead_s == 0


def test_a_user_gpu_row_can_carry_its_network(folder):
    # a user's cluster with one 200 Gb/s NIC per GPU past boards of 8: 50 GB/s both ways
    path = folder / "gpus.csv"
    head = HEADER.replace(",source\n", ",interconnect_gbps,nvlink_gpus,scaleout_gbps,source\n")
    path.write_bytes((head + "mygpu,x,ACME,80,3,900,900,8,50,s\n").encode())
    g = catalog.gpu("mygpu")
    assert (g.nvlink_gpus, g.scaleout_gbps) == (8, 50)
    path.write_bytes((head + "mygpu,x,ACME,80,3,900,900,8,1e5,s\n").encode())
    with pytest.raises(CatalogError) as err:
        catalog.gpu("mygpu")
    assert str(err.value) == (f"{path} line 2: scaleout_gbps must be 0 or a number in "
                              "[0.001, 10000], "
                              "got '1e5'")


def test_replacing_a_package_row_by_its_id_is_allowed(folder):
    _write(folder, "h100-sxm,H100 mine,NVIDIA,96,3.35,989,s\n")
    assert catalog.gpu("h100").memory_gb == 96  # the package's aliases still lead to it


def test_an_edit_that_keeps_the_modification_time_is_seen(folder):
    path = _write(folder, "mygpu,x,ACME,48,1,100,s\n")
    assert catalog.gpu("mygpu").memory_gb == 48
    stat = os.stat(path)
    path.write_bytes((HEADER + "mygpu,x,ACME,96,1,100,s\n").encode())
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime
    assert catalog.gpu("mygpu").memory_gb == 96


def test_a_mistyped_folder_is_a_message(tmp_path, monkeypatch):
    monkeypatch.setenv(catalog.USER_CATALOG_ENV, str(tmp_path / "nope"))
    assert udfs.GPU_SPEC("h100", "memory_gb") == (
        f"XLNAPKIN_CATALOG names '{tmp_path / 'nope'}', which is not a folder")


def test_catalog_command_names_the_user_files_and_warns_on_an_empty_folder(folder, capsys):
    assert cli.main(["catalog", "gpus", "--columns", "id"]) == 0
    assert "holds no gpus.csv, models.csv or prices.csv" in capsys.readouterr().err
    path = _write(folder, "mygpu,x,ACME,48,1,100,s\n")
    assert cli.main(["catalog", "gpus", "--columns", "id"]) == 0
    assert f"(with rows from {path})" in capsys.readouterr().err


def test_csv_output_never_starts_a_cell_with_a_formula(folder, capsys):
    _write(folder, 'evil,"=HYPERLINK(""http://x"")",ACME,48,1,100,"+1-2"\n')
    assert cli.main(["catalog", "gpus", "--csv", "--columns", "id,name,source"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "evil,\"'=HYPERLINK(\"\"http://x\"\")\",'+1-2" in out


def test_suggestions_have_a_similarity_floor():
    # nothing close: no guesses, but where the ids are listed
    assert udfs.TOKENS_PER_SEC("h100", "gpt-4") == (
        "unknown model 'gpt-4': the catalog lists them (=NAPKIN_MODELS(), or xlnapkin catalog "
        "models)")
    assert udfs.GPU_SPEC("h100", "nosuch").startswith("unknown gpu field 'nosuch': fields are "
                                                      "id, memory_gb, mem_bw_tbps,")
    assert udfs.TOKENS_PER_SEC("h10", "llama-3.1-8b").endswith("did you mean h100-sxm, "
                                                               "h100-nvl, h100-pcie?")


def test_long_spec_strings_are_not_kept_in_the_cache():
    catalog._resolve.cache_clear()
    spec = "h100; memory_gb=96" + " " * 1000
    assert catalog.gpu(spec).memory_gb == 96
    assert catalog._resolve.cache_info().currsize == 0
