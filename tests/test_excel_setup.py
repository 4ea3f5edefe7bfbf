"""Tests for xlnapkin.excel_setup: the xlwings config files (a workbook folder's and the user's),
the add-in step and the Windows installer scripts, all against temporary folders (no Excel
needed). The command line for them is tested here too, through ``xlnapkin.cli.main``."""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import stat
import struct
import subprocess
import sys
import threading
import time
import zipfile
from datetime import datetime
from pathlib import Path, PureWindowsPath
from types import SimpleNamespace

import pytest

import _vbaproject as vbaproject
from conftest import REPO, in_threads, run
from xlnapkin import _vba, cli
from xlnapkin import excel_setup as es
from xlnapkin.errors import NapkinError

INSTALLER = REPO / "installer"
NOW = datetime(2024, 5, 6, 7, 8, 9)
PY = r"C:\Users\ann\AppData\Local\xlnapkin\venv\Scripts\pythonw.exe"
OLD_PY = r"C:\Python311\pythonw.exe"

# A user's existing config: other keys, another UDF module, CRLF endings (no interpreter: its
# module runs the Python on PATH, so a user-wide install replaces that only when told to with
# replace_interpreter; see ANOTHER_PROJECT for one with its own).
EXISTING = (
    b'"CONDA PATH","C:\\conda"\r\n'
    b'"UDF MODULES","mymod;other.pkg"\r\n'
    b'"SHOW CONSOLE","True"\r\n'
    b'"LICENSE_KEY","noncommercial"\r\n'
)
# Another project's set-up: its module and the Python it runs in.
ANOTHER_PROJECT = (
    b'"UDF MODULES","theirs.udfs"\r\n'
    b'"INTERPRETER_WIN","C:\\Python311\\pythonw.exe"\r\n'
)


def user(home, platform="win32"):
    return es.user_config(home, platform)


def conf(home, platform="win32"):
    return es.config_path(home, platform)


def listing(home):
    """Every file under home with its bytes: to show that nothing else was written."""
    return {p.relative_to(home).as_posix(): p.read_bytes()
            for p in sorted(Path(home).rglob("*")) if p.is_file()}


def backups(home, platform="win32"):
    c = conf(home, platform)
    return sorted(c.parent.glob(c.name + ".xlnapkin-backup-*"))


def write_conf(home, data, platform="win32"):
    c = conf(home, platform)
    c.parent.mkdir(parents=True, exist_ok=True)
    c.write_bytes(data)
    return c


def make_book(folder, name="Book.xlsm", sheet=None):
    """A workbook file (``sheet``: rows of an xlwings.conf sheet to put in it)."""
    from openpyxl import Workbook
    folder.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    if sheet is not None:
        ws = wb.create_sheet("xlwings.conf")
        for row in sheet:
            ws.append(list(row))
    path = folder / name
    wb.save(path)
    return path



# --- paths ---------------------------------------------------------------------------------------


def test_paths_per_platform(tmp_path):
    assert conf(tmp_path, "win32") == tmp_path / ".xlwings" / "xlwings.conf"
    assert conf(tmp_path, "darwin") == (tmp_path / "Library" / "Containers"
                                        / "com.microsoft.Excel" / "Data" / "xlwings.conf")
    assert conf(tmp_path, "linux") == tmp_path / ".xlwings" / "xlwings.conf"
    assert user(tmp_path).state_path.name == "xlwings.conf.xlnapkin-state.json"
    book = make_book(tmp_path / "models")
    assert es.workbook_config(book).path == tmp_path / "models" / "xlwings.conf"
    with pytest.raises(es.ExcelSetupError, match="no such workbook: "):
        es.workbook_config(tmp_path / "no-folder" / "Book.xlsm")
    missing = es.workbook_config(tmp_path / "missing.xlsm")  # status, uninstall: fine
    with pytest.raises(es.ExcelSetupError, match="no such workbook: "):
        es.install(missing, PY, platform="win32")
    assert es.uninstall(missing, platform="win32").changed is False
    assert es.interpreter_key("win32") == "INTERPRETER_WIN"
    assert es.interpreter_key("darwin") == "INTERPRETER_MAC"
    assert es.xlstart_candidates(tmp_path, "linux") == []
    assert es.xlstart_candidates(tmp_path, "win32")[-1] == (
        tmp_path / "AppData" / "Roaming" / "Microsoft" / "Excel" / "XLSTART")


# --- install on a fresh home ---------------------------------------------------------------------


def test_install_fresh_home(tmp_path):
    result = es.install(user(tmp_path), PY, platform="win32", now=NOW)
    c = conf(tmp_path)
    assert c.read_bytes() == (b'"UDF MODULES","xlnapkin.udfs"\r\n'
                              b'"INTERPRETER_WIN","' + PY.encode() + b'"\r\n')
    assert backups(tmp_path) == []
    state = json.loads(user(tmp_path).state_path.read_text())
    assert state["created_file"] is True and state["backup"] is None
    assert state["created_dirs"] == [str(tmp_path / ".xlwings")]
    assert [r["key"] for r in state["changes"]] == ["UDF MODULES", "INTERPRETER_WIN"]
    assert result.changed and result.backup_path is None
    assert result.changes == (es.ConfigChange("UDF MODULES", None, "xlnapkin.udfs"),
                              es.ConfigChange("INTERPRETER_WIN", None, PY))
    assert result.describe() == "\n".join([
        "xlnapkin excel install",
        f"config: {c}",
        f"  create {c}",
        '  add "UDF MODULES","xlnapkin.udfs"',
        f'  add "INTERPRETER_WIN","{PY}"',
        f"  record the changes in {user(tmp_path).state_path}",
    ])
    assert sorted(listing(tmp_path)) == [".xlwings/xlwings.conf",
                                         ".xlwings/xlwings.conf.xlnapkin-state.json"]


def test_install_fresh_then_uninstall_leaves_home_empty(tmp_path):
    es.install(user(tmp_path), PY, platform="win32", now=NOW)
    result = es.uninstall(user(tmp_path), platform="win32")
    assert listing(tmp_path) == {}
    assert not (tmp_path / ".xlwings").exists()  # the folder install created goes too
    assert f"delete {conf(tmp_path)} (it did not exist before install)" in result.steps
    assert f"remove the empty folder {tmp_path / '.xlwings'}" in result.steps


# --- install over an existing config -------------------------------------------------------------


def test_install_over_existing_config_keeps_other_keys_and_restores_exactly(tmp_path):
    c = write_conf(tmp_path, EXISTING)
    result = es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)

    assert c.read_bytes() == (
        b'"CONDA PATH","C:\\conda"\r\n'
        b'"UDF MODULES","mymod;other.pkg;xlnapkin.udfs"\r\n'
        b'"SHOW CONSOLE","True"\r\n'
        b'"LICENSE_KEY","noncommercial"\r\n'
        b'"INTERPRETER_WIN","' + PY.encode() + b'"\r\n')
    backup = c.with_name("xlwings.conf.xlnapkin-backup-20240506-070809")
    assert backups(tmp_path) == [backup]
    assert backup.read_bytes() == EXISTING
    assert result.backup_path == backup
    assert result.steps[0] == f"back up {c} to {backup}"
    assert result.changes == (
        es.ConfigChange("UDF MODULES", "mymod;other.pkg", "mymod;other.pkg;xlnapkin.udfs"),
        es.ConfigChange("INTERPRETER_WIN", None, PY))

    undo = es.uninstall(user(tmp_path), platform="win32")
    assert c.read_bytes() == EXISTING
    assert listing(tmp_path) == {".xlwings/xlwings.conf": EXISTING}  # backup and state gone
    assert undo.steps == (f"restore {c} from {backup}", f"delete {backup}",
                          f"delete {user(tmp_path).state_path}")


def test_install_appends_missing_keys_keeping_odd_lines_and_lf_endings(tmp_path):
    # LF endings, no final newline, a blank line, a line that is not an entry, a byte that is not
    # valid in the file's encoding: all kept exactly.
    original = b'"SHOW CONSOLE","False"\n\n; my notes \x81\n"PYTHONPATH","C:\\code"'
    c = write_conf(tmp_path, original)
    es.install(user(tmp_path), PY, platform="win32", now=NOW)
    assert c.read_bytes() == (original + b'\n"UDF MODULES","xlnapkin.udfs"\n'
                              b'"INTERPRETER_WIN","' + PY.encode() + b'"\n')
    es.uninstall(user(tmp_path), platform="win32")
    assert c.read_bytes() == original


def test_install_fills_an_empty_udf_modules_and_keeps_one_already_listing_xlnapkin(tmp_path):
    c = write_conf(tmp_path, b'"UDF MODULES",""\r\n')
    es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)
    assert c.read_bytes().startswith(b'"UDF MODULES","xlnapkin.udfs"\r\n')

    other = tmp_path / "other"
    c2 = write_conf(other, b'"UDF MODULES","xlnapkin.udfs; mine"\r\n')
    result = es.install(user(other), PY, platform="win32", replace_interpreter=True, now=NOW)
    assert [ch.key for ch in result.changes] == ["INTERPRETER_WIN"]
    assert c2.read_bytes().startswith(b'"UDF MODULES","xlnapkin.udfs; mine"\r\n')


def test_unquoted_entries_are_understood(tmp_path):
    c = write_conf(tmp_path, b'UDF MODULES , mymod\r\n')
    es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)
    assert c.read_bytes().startswith(b'"UDF MODULES","mymod;xlnapkin.udfs"\r\n')


# --- keys as xlwings matches them: case-insensitive, first line wins (issue 8) -------------------


def test_keys_match_case_insensitively_and_the_first_line_is_edited(tmp_path):
    # xlwings' GetConfigFromFile: LCase(key) = LCase(wanted), first match. An exact-case match
    # would append a second "UDF MODULES" line that xlwings never reads.
    original = b'"udf modules","a"\r\n"UDF MODULES","b"\r\n"interpreter_win",""\r\n'
    c = write_conf(tmp_path, original)
    result = es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)
    assert c.read_bytes() == (b'"udf modules","a;xlnapkin.udfs"\r\n"UDF MODULES","b"\r\n'
                              b'"interpreter_win","' + PY.encode() + b'"\r\n')
    assert result.changes == (es.ConfigChange("udf modules", "a", "a;xlnapkin.udfs"),
                              es.ConfigChange("interpreter_win", "", PY))
    st = es.status(user(tmp_path), home=tmp_path, platform="win32")
    assert st.configured and st.udf_modules.value == "a;xlnapkin.udfs"
    es.uninstall(user(tmp_path), platform="win32")
    assert c.read_bytes() == original


def test_status_tells_when_an_earlier_differently_cased_key_shadows_xlnapkin(tmp_path):
    # What an exact-match installer left behind: xlnapkin's line after the user's own.
    c = write_conf(tmp_path, b'"udf modules","theirs"\r\n"UDF MODULES","xlnapkin.udfs"\r\n'
                             b'"INTERPRETER_WIN","' + PY.encode() + b'"\r\n')
    st = es.status(user(tmp_path), home=tmp_path, platform="win32")
    assert not st.configured
    assert st.udf_modules == es.Setting("UDF MODULES", "theirs", str(c))
    assert st.notes == (f'{c} line 1 "udf modules","theirs" comes first, and xlwings reads only '
                        "that line: line 2 for the same key is ignored",)
    text = st.describe()
    assert "configured: no" in text and f'UDF MODULES: "theirs" (from {c})' in text
    # install fixes the line xlwings reads
    es.install(user(tmp_path), PY, platform="win32", now=NOW)
    assert es.status(user(tmp_path), home=tmp_path, platform="win32").configured


# --- another project's modules and Python stay (issue 8) -----------------------------------------


REFUSED = ('{conf} sets "INTERPRETER_WIN" to "C:\\Python311\\pythonw.exe", another Python that '
           "other workbooks may use: set up one workbook instead (--workbook BOOK), or replace it "
           "with --replace-interpreter (uninstall puts it back)")


def xlwings_reads_user_file(monkeypatch, home):
    """The user file as xlwings' own Python reads it (xlwings.utils.read_user_config)."""
    xlwings = pytest.importorskip("xlwings")
    from xlwings import utils
    monkeypatch.setattr(xlwings, "USER_CONFIG_FILE", str(conf(home)))
    return utils.read_user_config()


def test_another_projects_set_up_survives_every_kind_of_install(tmp_path, monkeypatch, capsys):
    """A home with another project's UDF MODULES and interpreter: after each install its module
    is still listed and its Python still set, xlnapkin's module is listed where installed, and
    uninstall gives the file back byte for byte."""
    home = tmp_path / "home"
    c = write_conf(home, ANOTHER_PROJECT)
    their_book = make_book(tmp_path / "their-project", "Theirs.xlsm")
    our_book = make_book(tmp_path / "serving-costs", "Napkin.xlsm")
    common = ["--home", home, "--platform", "win32"]

    # 1. --user with our own Python: refused, nothing written.
    code, out, err = run(capsys, "excel", "install", "--user", "--python", PY, *common)
    assert (code, out) == (1, "")
    assert err == "Error: " + REFUSED.format(conf=c) + "\n"
    assert listing(home) == {".xlwings/xlwings.conf": ANOTHER_PROJECT}

    # 2. --user sharing their Python (xlnapkin installed into it): module appended, Python kept.
    assert run(capsys, "excel", "install", "--user", "--python", OLD_PY, *common)[0] == 0
    assert c.read_bytes() == (b'"UDF MODULES","theirs.udfs;xlnapkin.udfs"\r\n'
                              b'"INTERPRETER_WIN","C:\\Python311\\pythonw.exe"\r\n')
    read = xlwings_reads_user_file(monkeypatch, home)
    assert read["udf modules"] == "theirs.udfs;xlnapkin.udfs"
    assert read["interpreter_win"] == OLD_PY
    assert run(capsys, "excel", "uninstall", "--user", *common)[0] == 0
    assert listing(home) == {".xlwings/xlwings.conf": ANOTHER_PROJECT}

    # 3. --workbook: only the file beside our workbook; their workbooks still read the user file.
    assert run(capsys, "excel", "install", "--workbook", our_book, "--python", PY, *common)[0] == 0
    assert listing(home) == {".xlwings/xlwings.conf": ANOTHER_PROJECT,  # and the record
                             ".xlnapkin/workbooks.txt": f"{our_book}\n".encode()}
    ours = es.status(es.workbook_config(our_book), home=home, platform="win32")
    assert ours.configured and ours.udf_modules.value == "xlnapkin.udfs"
    folder_conf = str(our_book.parent / "xlwings.conf")
    assert ours.interpreter == es.Setting("INTERPRETER_WIN", PY, folder_conf)
    theirs = es.status(es.workbook_config(their_book), home=home, platform="win32")
    assert theirs.udf_modules == es.Setting("UDF MODULES", "theirs.udfs", str(c))
    assert theirs.interpreter == es.Setting("INTERPRETER_WIN", OLD_PY, str(c))
    assert not theirs.configured
    assert run(capsys, "excel", "uninstall", "--workbook", our_book, *common)[0] == 0
    assert sorted(p.name for p in our_book.parent.iterdir()) == ["Napkin.xlsm"]

    # 4. --user --replace-interpreter: replaced as asked, and put back by uninstall.
    assert run(capsys, "excel", "install", "--user", "--python", PY, "--replace-interpreter",
               *common)[0] == 0
    assert c.read_bytes() == (b'"UDF MODULES","theirs.udfs;xlnapkin.udfs"\r\n'
                              b'"INTERPRETER_WIN","' + PY.encode() + b'"\r\n')
    assert run(capsys, "excel", "uninstall", "--user", *common)[0] == 0
    assert listing(home) == {".xlwings/xlwings.conf": ANOTHER_PROJECT}


def test_the_legacy_interpreter_key_counts_as_set(tmp_path):
    # xlwings falls back to "INTERPRETER" when INTERPRETER_WIN is empty or missing.
    write_conf(tmp_path, b'"INTERPRETER","C:\\Python311\\pythonw.exe"\r\n')
    with pytest.raises(es.ExcelSetupError, match=re.escape('sets "INTERPRETER" to')):
        es.install(user(tmp_path), PY, platform="win32", now=NOW)
    st = es.status(user(tmp_path), home=tmp_path, platform="win32")
    assert st.interpreter.value == OLD_PY and 'legacy "INTERPRETER"' in st.interpreter.source


def test_a_conda_environment_counts_as_an_interpreter(tmp_path):
    """A review: `xlwings config create` on conda writes only CONDA PATH and CONDA ENV, which
    the add-in uses while no other Python is named; install added INTERPRETER_WIN silently, and
    the other project's functions ran in xlnapkin's Python."""
    conda = (b'"CONDA PATH","C:\\Users\\a\\miniconda3"\r\n"CONDA ENV","proj"\r\n'
             b'"UDF MODULES","otherproj.udfs"\r\n')
    write_conf(tmp_path, conda)
    with pytest.raises(es.ExcelSetupError, match=re.escape(
            'sets "CONDA ENV" to "proj (a conda environment in C:\\Users\\a\\miniconda3)", '
            "another Python")):
        es.install(user(tmp_path), PY, platform="win32", now=NOW)
    assert listing(tmp_path) == {".xlwings/xlwings.conf": conda}
    st = es.status(user(tmp_path), home=tmp_path, platform="win32")
    assert st.interpreter.value.startswith("proj (a conda environment in ")
    assert '"CONDA ENV"' in st.interpreter.source
    # with a bare python named, the conda environment is still the one xlwings starts
    write_conf(tmp_path, conda + b'"INTERPRETER_WIN","pythonw"\r\n')
    with pytest.raises(es.ExcelSetupError, match='"CONDA ENV"'):
        es.install(user(tmp_path), PY, platform="win32", now=NOW)
    # replaced as asked, and put back by uninstall
    es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)
    assert PY.encode() in conf(tmp_path).read_bytes()
    es.uninstall(user(tmp_path), platform="win32")
    assert conf(tmp_path).read_bytes() == conda + b'"INTERPRETER_WIN","pythonw"\r\n'
    # xlwings compares exactly: "python.exe" is a Python of its own, not the conda one
    write_conf(tmp_path, conda + b'"INTERPRETER_WIN","python.exe"\r\n')
    with pytest.raises(es.ExcelSetupError, match='sets "INTERPRETER_WIN" to "python.exe"'):
        es.install(user(tmp_path), PY, platform="win32", now=NOW)


def test_a_command_without_a_scope_changes_nothing(tmp_path, capsys):
    write_conf(tmp_path, EXISTING)
    for command in ("install", "uninstall"):
        code, out, err = run(capsys, "excel", command, "--home", tmp_path, "--platform", "win32")
        assert code == 2 and out == ""
        assert err.startswith("Error: one of the arguments --workbook --user")
        assert " is required (see `xlnapkin excel " in err, err
    assert listing(tmp_path) == {".xlwings/xlwings.conf": EXISTING}


# --- workbook scope ------------------------------------------------------------------------------


def test_workbook_install_merges_the_folders_file_and_restores_it(tmp_path):
    book = make_book(tmp_path / "models")
    folder_conf = tmp_path / "models" / "xlwings.conf"
    folder_conf.write_bytes(b'"SHOW CONSOLE","True"\r\n"UDF MODULES","local_mod"\r\n')
    before = folder_conf.read_bytes()
    config = es.workbook_config(book)
    result = es.install(config, PY, platform="win32", now=NOW)
    assert folder_conf.read_bytes() == (b'"SHOW CONSOLE","True"\r\n'
                                        b'"UDF MODULES","local_mod;xlnapkin.udfs"\r\n'
                                        b'"INTERPRETER_WIN","' + PY.encode() + b'"\r\n')
    assert result.backup_path == folder_conf.with_name(
        "xlwings.conf.xlnapkin-backup-20240506-070809")
    state = json.loads(config.state_path.read_text())
    assert state["scope"] == "workbook" and state["created_dirs"] == []
    assert book.read_bytes() == (tmp_path / "models" / "Book.xlsm").read_bytes()
    es.uninstall(config, platform="win32")
    assert folder_conf.read_bytes() == before
    assert sorted(p.name for p in book.parent.iterdir()) == ["Book.xlsm", "xlwings.conf"]


def test_workbook_install_keeps_another_python_set_for_that_folder(tmp_path):
    book = make_book(tmp_path / "models")
    folder_conf = book.parent / "xlwings.conf"
    folder_conf.write_bytes(ANOTHER_PROJECT)
    with pytest.raises(es.ExcelSetupError) as info:
        es.install(es.workbook_config(book), PY, platform="win32", now=NOW)
    assert str(info.value) == (
        f'{folder_conf} sets "INTERPRETER_WIN" to "{OLD_PY}", another Python that the workbooks '
        "in that folder may use: replace it with --replace-interpreter (uninstall puts it back)")
    assert folder_conf.read_bytes() == ANOTHER_PROJECT


def test_a_folder_shared_with_another_projects_workbook_keeps_its_modules_and_python(tmp_path):
    """A new xlwings.conf beside our workbook would take over the user's settings for every
    workbook in that folder: their module stays listed, and their Python is not replaced
    unless asked."""
    home = tmp_path / "home"
    user_conf = write_conf(home, ANOTHER_PROJECT)
    book = make_book(tmp_path / "shared")
    make_book(tmp_path / "shared", "Theirs.xlsm")
    folder_conf = book.parent / "xlwings.conf"
    config = es.workbook_config(book, home, "win32")
    with pytest.raises(es.ExcelSetupError) as info:
        es.install(config, PY, platform="win32", now=NOW)
    assert str(info.value) == (
        f'{user_conf} sets "INTERPRETER_WIN" to "{OLD_PY}", another Python that Theirs.xlsm in '
        f"{book.parent} may use: move Book.xlsm to a folder of its own, or replace it with "
        "--replace-interpreter (uninstall puts it back)")
    assert not folder_conf.exists()
    # xlnapkin installed into their Python: both modules, their Python, for the whole folder
    es.install(config, OLD_PY, platform="win32", now=NOW)
    assert folder_conf.read_bytes() == (b'"UDF MODULES","theirs.udfs;xlnapkin.udfs"\r\n'
                                        b'"INTERPRETER_WIN","' + OLD_PY.encode() + b'"\r\n')
    es.uninstall(config, platform="win32")
    assert not folder_conf.exists() and user_conf.read_bytes() == ANOTHER_PROJECT
    # asked to replace it: their module still listed
    es.install(config, PY, platform="win32", replace_interpreter=True, now=NOW)
    assert folder_conf.read_bytes().startswith(b'"UDF MODULES","theirs.udfs;xlnapkin.udfs"')
    # alone in its folder and with none of their functions: nothing of theirs to keep
    alone = make_book(tmp_path / "alone")
    es.install(es.workbook_config(alone, home, "win32"), PY, platform="win32", now=NOW)
    assert (alone.parent / "xlwings.conf").read_bytes() == (
        b'"UDF MODULES","xlnapkin.udfs"\r\n"INTERPRETER_WIN","' + PY.encode() + b'"\r\n')


def book_with_functions(folder, name, *modules, vba=None):
    """A macro workbook into which xlwings' Import Functions put functions of ``modules`` (its
    VBA project: ``vba`` bytes instead, if given)."""
    path = make_book(folder, name)
    base = path.read_bytes()
    if vba is None:
        path.write_bytes(vbaproject.office_file(
            {"xlwings_udfs": vbaproject.imported_functions(*modules)}, base=base))
    else:
        path.write_bytes(vbaproject.office_file(None, base=base))
        with zipfile.ZipFile(path, "a") as zf:
            zf.writestr("xl/vbaProject.bin", vba)
    return path


def test_the_workbook_set_up_keeps_its_own_functions_and_their_python(tmp_path, capsys):
    """A workbook alone in its folder reads the user-wide settings now. Where it has functions
    from a module listed there, run by the Python named there, a folder xlwings.conf for
    xlnapkin alone would take both away: refused as for the workbooks beside it, unless that
    Python is xlnapkin's too (both modules, their Python) or asked to replace it (their module
    stays listed)."""
    home = tmp_path / "home"
    user_conf = write_conf(home, ANOTHER_PROJECT)
    book = book_with_functions(tmp_path / "proj", "Book.xlsm", "theirs.udfs", "xlnapkin.udfs")
    folder_conf = book.parent / "xlwings.conf"
    config = es.workbook_config(book, home, "win32")
    refused = (
        f'Book.xlsm has functions from theirs.udfs, which run in "{OLD_PY}" (set in '
        f"{user_conf}); an xlwings.conf in {book.parent} naming xlnapkin's Python would run them "
        "there: install xlnapkin into that Python and pass it as --python, or replace it with "
        "--replace-interpreter (uninstall puts it back)")
    with pytest.raises(es.ExcelSetupError) as info:
        es.install(config, PY, platform="win32", now=NOW)
    assert str(info.value) == refused
    code, out, err = run(capsys, "excel", "install", "--workbook", book, "--python", PY,
                         "--home", home, "--platform", "win32")
    assert (code, out, err) == (1, "", f"Error: {refused}\n")
    assert sorted(p.name for p in book.parent.iterdir()) == ["Book.xlsm"]
    assert not es.workbook_record(home).exists()
    # xlnapkin installed into their Python: both modules, their Python
    es.install(config, OLD_PY, platform="win32", now=NOW)
    assert folder_conf.read_bytes() == (b'"UDF MODULES","theirs.udfs;xlnapkin.udfs"\r\n'
                                        b'"INTERPRETER_WIN","' + OLD_PY.encode() + b'"\r\n')
    es.uninstall(config, platform="win32")
    # asked to replace it: their module stays listed, and the note says it must import here
    result = es.install(config, PY, platform="win32", replace_interpreter=True, now=NOW)
    assert folder_conf.read_bytes() == (b'"UDF MODULES","theirs.udfs;xlnapkin.udfs"\r\n'
                                        b'"INTERPRETER_WIN","' + PY.encode() + b'"\r\n')
    assert any(n.startswith('"UDF MODULES" also lists theirs.udfs') for n in result.notes)
    es.uninstall(config, platform="win32")
    assert not folder_conf.exists() and user_conf.read_bytes() == ANOTHER_PROJECT
    # no interpreter set: its functions run in the Python on PATH
    write_conf(home, b'"UDF MODULES","theirs.udfs"\r\n')
    with pytest.raises(es.ExcelSetupError, match=re.escape(
            "Book.xlsm has functions from theirs.udfs, which run in the Python on PATH (no "
            "interpreter is set for it); an xlwings.conf in")):
        es.install(config, PY, platform="win32", now=NOW)
    # its functions need their Python even where the settings no longer list their module
    write_conf(home, b'"INTERPRETER_WIN","' + OLD_PY.encode() + b'"\r\n')
    with pytest.raises(es.ExcelSetupError, match="Book.xlsm has functions from theirs.udfs"):
        es.install(config, PY, platform="win32", now=NOW)
    # a VBA project that cannot be read: the modules the settings list count as its own
    write_conf(home, ANOTHER_PROJECT)
    unreadable = book_with_functions(tmp_path / "other", "Book.xlsm", vba=b"not a VBA project")
    with pytest.raises(es.ExcelSetupError, match=re.escape(
            "Book.xlsm cannot be read for its functions (its VBA code), and imports theirs.udfs, "
            f'which run in "{OLD_PY}"')):
        es.install(es.workbook_config(unreadable, home, "win32"), PY, platform="win32", now=NOW)
    assert not folder_conf.exists() and user_conf.read_bytes() == ANOTHER_PROJECT


def test_a_workbook_alone_without_their_functions_gets_xlnapkins_settings_and_a_note(tmp_path):
    """The other project's user-wide settings, and a workbook with none of its functions (new, or
    with xlnapkin's and xlwings' own only): its folder's file names xlnapkin's module and Python
    alone (their module would stop Import Functions in xlnapkin's Python), and says whose
    Python it ran until now."""
    home = tmp_path / "home"
    user_conf = write_conf(home, ANOTHER_PROJECT)
    book = book_with_functions(tmp_path / "napkin", "Napkin.xlsm", "xlnapkin.udfs", "xlwings.ext")
    config = es.workbook_config(book, home, "win32")
    result = es.install(config, PY, platform="win32", now=NOW)
    assert config.path.read_bytes() == (b'"UDF MODULES","xlnapkin.udfs"\r\n'
                                        b'"INTERPRETER_WIN","' + PY.encode() + b'"\r\n')
    assert result.notes == (
        f"Napkin.xlsm has no functions from theirs.udfs (listed in {user_conf}), so "
        f"{config.path} lists only xlnapkin.udfs",
        f"Napkin.xlsm ran {OLD_PY} until now (set in {user_conf}); it runs {PY} from now on, "
        "for its RunPython macros too if it has any")
    es.uninstall(config, platform="win32")
    assert sorted(p.name for p in book.parent.iterdir()) == ["Napkin.xlsm"]


def test_a_folder_of_quickstart_workbooks_keeps_their_default_modules_and_python(tmp_path):
    """No UDF MODULES anywhere: xlwings imports Book.py for Book.xlsm (the quickstart layout),
    and with no interpreter set the workbooks run the Python on PATH. A folder file naming
    xlnapkin's module and Python would change both for the other workbooks there."""
    home = tmp_path / "home"  # no user file
    book = make_book(tmp_path / "shared", "Serving.xlsm")
    (book.parent / "Serving.py").write_text("import xlwings as xw\n")
    other = make_book(tmp_path / "shared", "Other.xlsm")
    folder_conf = book.parent / "xlwings.conf"
    config = es.workbook_config(book, home, "win32")
    # Other.xlsm imports nothing (no Other.py): it may go on, and says Other.xlsm would run
    # xlnapkin's Python if it used xlwings at all.
    result = es.install(config, PY, platform="win32", dry_run=True, now=NOW)
    assert (f"Other.xlsm in {book.parent} will run {PY} too if they use xlwings (no "
            "interpreter was set: the Python on PATH)") in result.notes
    (book.parent / "Other.py").write_text("import xlwings as xw\n")
    for replace in (False, True):  # its own module: refused even when the Python may change
        with pytest.raises(es.ExcelSetupError, match=re.escape(
                f"Other.xlsm in {book.parent} imports the module named after it")):
            es.install(config, PY, platform="win32", replace_interpreter=replace, now=NOW)
    assert not folder_conf.exists()
    # Alone in its folder, the workbook keeps its own module beside xlnapkin's, with a note.
    other.unlink()
    result = es.install(config, PY, platform="win32", now=NOW)
    assert folder_conf.read_bytes() == (b'"UDF MODULES","Serving;xlnapkin.udfs"\r\n'
                                        b'"INTERPRETER_WIN","' + PY.encode() + b'"\r\n')
    assert any("Serving.xlsm keeps its own module Serving.py" in n for n in result.notes)
    es.uninstall(config, platform="win32")
    assert not folder_conf.exists()


def test_an_empty_module_list_is_xlwings_default_and_listed_modules_keep_their_python(tmp_path):
    home = tmp_path / "home"
    book = make_book(tmp_path / "f")
    make_book(tmp_path / "f", "Other.xlsm")
    (book.parent / "Other.py").write_text("")
    config = es.workbook_config(book, home, "win32")
    # The ribbon writes an empty value when the field is cleared: xlwings then imports the
    # module named after each workbook, as with no line at all.
    write_conf(home, b'"UDF MODULES",""\r\n"INTERPRETER_WIN","' + PY.encode() + b'"\r\n')
    with pytest.raises(es.ExcelSetupError, match="Other.xlsm in .* imports the module named"):
        es.install(config, PY, platform="win32", now=NOW)
    # Modules listed and no interpreter: Other.xlsm imports mylib with the Python on PATH.
    (book.parent / "Other.py").unlink()
    write_conf(home, b'"UDF MODULES","mylib"\r\n')
    with pytest.raises(es.ExcelSetupError, match="Other.xlsm in .* runs the Python on PATH"):
        es.install(config, PY, platform="win32", now=NOW)
    result = es.install(config, PY, platform="win32", replace_interpreter=True, now=NOW)
    assert (book.parent / "xlwings.conf").read_bytes().startswith(
        b'"UDF MODULES","mylib;xlnapkin.udfs"')
    assert any(n.startswith('"UDF MODULES" also lists mylib') for n in result.notes)


def test_a_workbook_without_macros_is_set_up_with_a_note_to_save_it_as_xlsm(tmp_path):
    book = make_book(tmp_path / "plain", "Costs.xlsx")
    result = es.install(es.workbook_config(book), PY, platform="win32", now=NOW)
    assert result.changed and any(n.startswith("Costs.xlsx cannot hold xlwings' Import "
                                               "Functions macro: save it as .xlsm")
                                  for n in result.notes)


def test_workbook_sheet_that_overrides_the_folder_file_is_reported(tmp_path):
    book = make_book(tmp_path / "models",
                     sheet=[("Interpreter_Win", r"C:\envs\x\pythonw.exe"),
                            ("UDF Modules", "sheet_mod")])
    config = es.workbook_config(book)
    result = es.install(config, PY, platform="win32", now=NOW)
    assert (f'the xlwings.conf sheet in Book.xlsm sets "UDF MODULES" to "sheet_mod", which '
            f"overrides {config.path}: edit that sheet (column A UDF MODULES, column B its "
            "value) to include xlnapkin") in result.notes
    st = es.status(config, home=tmp_path / "home", platform="win32")
    assert st.udf_modules == es.Setting("UDF MODULES", "sheet_mod",
                                        "the xlwings.conf sheet in Book.xlsm")
    assert st.interpreter.value == r"C:\envs\x\pythonw.exe" and not st.configured


# --- the parser (issue 12) -----------------------------------------------------------------------


@pytest.mark.parametrize("line", [
    " " * 1500,
    '"' + " " * 5000 + ",",
    " " * 5000 + "," + " " * 5000 + "x",
    "UDF MODULES" + " \t" * 5000 + ", a",
])
def test_parsing_long_lines_takes_linear_time(tmp_path, line):
    # The old regular expression backtracked: 1,500 spaces took seconds, and ten times the
    # line a hundred times as long. Not a speed target: the growth from one length to ten
    # times it (best of three each) tells linear (about 10x) from quadratic (100x).
    write_conf(tmp_path, (line + "\r\n").encode() + b'"UDF MODULES","m"\r\n')
    st = es.status(user(tmp_path), home=tmp_path, platform="win32")
    assert st.udf_modules.value == ("a" if line.startswith("UDF MODULES") else "m")

    def parse_time(text):  # enough repeats that a busy machine's jitter is small beside it
        best = math.inf
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(100):
                doc = es._ConfigText(text + "\r\n" + '"UDF MODULES","m"\r\n', "\r\n")
                doc.get("UDF MODULES")
            best = min(best, time.perf_counter() - start)
        return best

    longer = re.sub(r"[ \t]+", lambda run: run.group(0) * 10, line)  # each blank run x 10
    assert parse_time(longer) < 30 * parse_time(line)


def test_entries_are_read_field_by_field():
    assert es._parse_entry('"UDF MODULES","a;b"') == ("UDF MODULES", "a;b")
    assert es._parse_entry('  UDF MODULES ,  a b  ') == ("UDF MODULES", "a b")
    assert es._parse_entry('"KEY"  ,  " spaced "  ') == ("KEY", " spaced ")
    assert es._parse_entry('"KEY",') == ("KEY", "")
    assert es._parse_entry('"C:\\a,b","x"') == ("C:\\a,b", "x")  # a comma inside quotes
    for not_an_entry in ("", "; notes", '"KEY"', ",value"):
        assert es._parse_entry(not_an_entry) is None


def test_a_non_utf8_user_config_breaks_no_set_up_command(tmp_path):
    """xlwings reads ~/.xlwings/xlwings.conf as text when it is imported; a file in the ANSI code
    page made `import xlwings` (so every command) fail, including the commands that repair it."""
    home = tmp_path / "home"
    original = b'"UDF MODULES","mod"\r\n"INTERPRETER_WIN","C:\\Users\\Jos\xe9\\pythonw.exe"\r\n'
    write_conf(home, original)
    book = make_book(tmp_path / "book")
    env = dict(os.environ, HOME=str(home), USERPROFILE=str(home), PYTHONUTF8="1")
    commands = [["excel", "status", "--user"],
                ["excel", "install", "--workbook", str(book), "--python", PY,
                 "--replace-interpreter"],
                ["excel", "status", "--workbook", str(book)],
                ["excel", "uninstall", "--workbook", str(book)],
                ["excel", "uninstall", "--user"]]
    script = ("import json, sys, xlnapkin.cli\n"
              "print(json.dumps([xlnapkin.cli.main(argv + sys.argv[2:]) "
              "for argv in json.loads(sys.argv[1])]))")
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(commands), "--home",
                           str(home), "--platform", "win32"],
                          env=env, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [0] * len(commands)
    assert "configured: no" in proc.stdout and "configured: yes" in proc.stdout
    assert conf(home).read_bytes() == original
    assert "Jos\xe9" in es.status(user(home), home=home, platform="win32").interpreter.value


# --- links, permissions, failures, tampering, concurrency (issue 12) -----------------------------


def test_a_linked_config_is_edited_at_its_target_and_stays_a_link(tmp_path):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "xlwings.conf"
    target.write_bytes(EXISTING)
    link = conf(tmp_path / "home")
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    es.install(user(tmp_path / "home"), PY, platform="win32", replace_interpreter=True, now=NOW)
    assert link.is_symlink() and link.resolve() == target
    assert b"xlnapkin.udfs" in target.read_bytes()
    es.uninstall(user(tmp_path / "home"), platform="win32")
    assert link.is_symlink() and link.resolve() == target
    assert target.read_bytes() == EXISTING
    assert sorted(p.name for p in link.parent.iterdir()) == ["xlwings.conf"]


def test_a_dangling_link_is_refused_and_kept(tmp_path):
    link = conf(tmp_path)
    link.parent.mkdir(parents=True)
    link.symlink_to(tmp_path / "gone.conf")
    with pytest.raises(es.ExcelSetupError, match="is a link to .*gone.conf, which is not a file; "
                                                 "fix or remove the link and run again"):
        es.install(user(tmp_path), PY, platform="win32", now=NOW)
    assert link.is_symlink() and not (tmp_path / "gone.conf").exists()
    assert sorted(p.name for p in link.parent.iterdir()) == ["xlwings.conf"]
    assert not es.uninstall(user(tmp_path), platform="win32").changed
    assert link.is_symlink()


def test_a_read_only_config_is_refused(tmp_path):
    c = write_conf(tmp_path, EXISTING)
    c.chmod(0o444)
    with pytest.raises(es.ExcelSetupError, match=re.escape(
            f"{c} is read-only; make it writable to let xlnapkin change it")):
        es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)
    assert listing(tmp_path) == {".xlwings/xlwings.conf": EXISTING}

    c.chmod(0o644)
    es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)
    c.chmod(0o444)
    installed = c.read_bytes()
    with pytest.raises(es.ExcelSetupError, match="is read-only"):
        es.uninstall(user(tmp_path), platform="win32")
    assert c.read_bytes() == installed and user(tmp_path).state_path.exists()


@pytest.mark.parametrize("bom", ["\ufeff", ""])
def test_a_utf16_config_is_refused_and_left_as_it_was(tmp_path, bom):
    # A review: PowerShell 5.1's '>' writes UTF-16; read as ANSI, another project's
    # interpreter and modules went unseen and UTF-8 lines were appended to it.
    text = (bom + '"INTERPRETER_WIN","C:\\other\\pythonw.exe"\r\n"UDF MODULES","other"\r\n')
    raw = text.encode("utf-16-le")
    c = tmp_path / ".xlwings" / "xlwings.conf"
    c.parent.mkdir()
    c.write_bytes(raw)
    with pytest.raises(es.ExcelSetupError, match=re.escape(
            f"{c} is UTF-16 text, which xlwings does not read: save it as ANSI or UTF-8")):
        es.install(user(tmp_path), PY, platform="win32", now=NOW)
    assert c.read_bytes() == raw and not user(tmp_path).state_path.exists()


def test_install_keeps_the_configs_permissions(tmp_path):
    c = write_conf(tmp_path, EXISTING)
    c.chmod(0o640)
    es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)
    assert stat.S_IMODE(c.stat().st_mode) == 0o640


def test_a_failed_install_leaves_nothing_behind(tmp_path, monkeypatch):
    c = write_conf(tmp_path, EXISTING)
    real_replace = os.replace

    def failing_replace(src, dst):
        if Path(dst) == c:
            raise PermissionError(13, "Permission denied", str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(es.ExcelSetupError, match=f"cannot change {re.escape(str(c))}: "
                                                 "Permission denied"):
        es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)
    assert listing(tmp_path) == {".xlwings/xlwings.conf": EXISTING}  # no backup, state, temp


def test_a_failed_first_install_removes_the_folder_it_made(tmp_path, monkeypatch):
    monkeypatch.setattr(es, "_write_atomic", lambda path, data: (_ for _ in ()).throw(
        OSError(28, "No space left on device", str(path))))
    with pytest.raises(es.ExcelSetupError, match="No space left on device"):
        es.install(user(tmp_path), PY, platform="win32", now=NOW)
    assert list(tmp_path.iterdir()) == []


def test_temporary_files_never_follow_a_planted_link(tmp_path, monkeypatch):
    c = write_conf(tmp_path, EXISTING)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me")
    # The old fixed temporary name, and the first random name drawn, are links to the victim.
    (c.parent / "xlwings.conf.xlnapkin-tmp").symlink_to(victim)
    names = iter(["0badc0ffee00"])
    real = es.secrets.token_hex
    monkeypatch.setattr(es.secrets, "token_hex", lambda n: next(names, None) or real(n))
    (c.parent / ".xlwings.conf.0badc0ffee00.xlnapkin-tmp").symlink_to(victim)
    es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)
    assert victim.read_bytes() == b"keep me"
    assert b"xlnapkin.udfs" in c.read_bytes() and not c.is_symlink()


def write_state(home, **changes):
    es.install(user(home), PY, platform="win32", replace_interpreter=True, now=NOW)
    path = user(home).state_path
    state = json.loads(path.read_text())
    state.update(changes)
    path.write_text(json.dumps(state))
    return state


@pytest.mark.parametrize("tamper, why", [
    ({"created_dirs": ["{unrelated}"]}, "created_dirs must be the config's own folder"),
    ({"backup": "../../victim.txt"}, "backup must be an xlwings.conf.xlnapkin-backup-* name"),
    ({"created_file": True}, "a config that install created has no backup"),
    ({"changes": [{"key": "PYTHONPATH", "before": None, "after": "x", "line_before": None,
                   "line_after": '"PYTHONPATH","x"'}]}, "each change must name UDF MODULES"),
    ({"config_sha256": "x"}, "config_sha256 must be a SHA-256 in hex"),
    ({"format": 9}, "unknown layout"),
])
def test_a_tampered_state_file_is_refused_and_nothing_is_deleted(tmp_path, tamper, why):
    home = tmp_path / "home"
    write_conf(home, EXISTING)
    unrelated = tmp_path / "unrelated"
    unrelated.mkdir()
    (tmp_path / "victim.txt").write_bytes(b"keep me")
    tamper = {k: ([d.format(unrelated=unrelated) for d in v] if k == "created_dirs" else v)
              for k, v in tamper.items()}
    write_state(home, **tamper)
    before = listing(tmp_path)
    with pytest.raises(es.ExcelSetupError, match=re.escape(
            f"{user(home).state_path} is not a valid xlnapkin state file ({why}")):
        es.uninstall(user(home), platform="win32")
    assert listing(tmp_path) == before and unrelated.is_dir()


def test_a_state_claiming_it_created_the_config_cannot_delete_the_users_lines(tmp_path):
    c = write_conf(tmp_path, EXISTING)
    state = write_state(tmp_path)
    installed = c.read_bytes()
    # Forge an "install created this file" record for the user's config, hash and all.
    for rec in state["changes"]:
        rec["before"] = rec["line_before"] = None
    state.update(created_file=True, backup=None,
                 config_sha256=hashlib.sha256(installed).hexdigest())
    user(tmp_path).state_path.write_text(json.dumps(state))
    with pytest.raises(es.ExcelSetupError, match=re.escape(
            "a UDF MODULES line that install added holds xlnapkin.udfs after the modules it "
            "took from the user's file")):
        es.uninstall(user(tmp_path), platform="win32")
    assert c.read_bytes() == installed
    # nor by naming the user's modules as taken from the user's own file
    udf = next(r for r in state["changes"] if r["key"].upper() == "UDF MODULES")
    assert udf["after"] == "mymod;other.pkg;xlnapkin.udfs"
    udf["inherited"] = "mymod;other.pkg"
    user(tmp_path).state_path.write_text(json.dumps(state))
    with pytest.raises(es.ExcelSetupError, match="took from the user's file"):
        es.uninstall(user(tmp_path), platform="win32")
    assert c.read_bytes() == installed


def test_concurrent_installs_take_turns(tmp_path):
    """Without a lock two installs both saw "no state yet" and each wrote a backup."""
    for trial in range(15):
        home = tmp_path / f"home{trial}"
        write_conf(home, EXISTING)
        barrier = threading.Barrier(4)
        errors = []

        def one():
            barrier.wait()
            try:
                es.install(user(home), PY, platform="win32", replace_interpreter=True, now=NOW)
            except Exception as exc:  # noqa: BLE001 - collected and shown below
                errors.append(exc)

        in_threads(one)
        assert errors == []
        assert len(backups(home)) == 1, trial
        es.uninstall(user(home), platform="win32")
        assert listing(home) == {".xlwings/xlwings.conf": EXISTING}, trial


def test_a_held_lock_makes_the_next_run_wait_and_a_stale_one_is_taken_over(tmp_path,
                                                                            monkeypatch):
    write_conf(tmp_path, EXISTING)
    lock = user(tmp_path).lock_path
    lock.write_text("12345\n")
    monkeypatch.setattr(es, "LOCK_TIMEOUT_S", 0.1)
    with pytest.raises(es.ExcelSetupError, match="another xlnapkin excel install or uninstall "
                                                 "is using"):
        es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)
    assert listing(tmp_path) == {".xlwings/xlwings.conf": EXISTING,
                                 ".xlwings/xlwings.conf.xlnapkin-lock": b"12345\n"}
    old = time.time() - es.STALE_LOCK_S - 10
    os.utime(lock, (old, old))
    es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)
    assert not lock.exists() and len(backups(tmp_path)) == 1


# --- idempotence ---------------------------------------------------------------------------------


def test_second_install_changes_nothing_and_writes_no_second_backup(tmp_path):
    write_conf(tmp_path, EXISTING)
    es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)
    before = listing(tmp_path)
    again = es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True,
                       now=datetime(2024, 5, 7))
    assert not again.changed and again.changes == ()
    assert listing(tmp_path) == before
    assert len(backups(tmp_path)) == 1
    assert again.describe() == (
        f"xlnapkin excel install\nconfig: {conf(tmp_path)}\n  nothing to change")


def test_reinstall_with_another_python_replaces_its_own_line_and_keeps_the_original_backup(
        tmp_path):
    # The line an earlier install wrote is xlnapkin's earlier environment (install.ps1
    # -VenvDir moved it): replaced without asking (an audit: the re-run called it "another
    # Python"); a line changed since is someone else's, and needs replace_interpreter.
    c = write_conf(tmp_path, EXISTING)
    es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)
    result = es.install(user(tmp_path), r"D:\py\pythonw.exe", platform="win32",
                        now=datetime(2024, 6, 1))
    assert result.changes == (es.ConfigChange("INTERPRETER_WIN", PY, r"D:\py\pythonw.exe"),)
    assert len(backups(tmp_path)) == 1
    assert not any(s.startswith("back up") for s in result.steps)
    c.write_bytes(c.read_bytes().replace(rb"D:\py", rb"E:\theirs"))
    with pytest.raises(es.ExcelSetupError, match="another Python"):
        es.install(user(tmp_path), PY, platform="win32")
    result = es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True,
                        now=datetime(2024, 7, 1))
    assert result.changes == (es.ConfigChange("INTERPRETER_WIN", r"E:\theirs\pythonw.exe", PY),)
    es.uninstall(user(tmp_path), platform="win32")
    assert c.read_bytes() == EXISTING


def test_a_settings_path_outside_the_ansi_code_page_is_named(tmp_path):
    # xlwings' add-in opens the file through VBA in the ANSI code page (an audit: a user named
    # Łukasz got an install that exited 0 and a file the add-in may not read)
    far = es.install(user(tmp_path / "Łukasz"), PY, platform="win32", dry_run=True, now=NOW)
    assert any("outside Windows' ANSI code page" in n for n in far.notes)
    near = es.install(user(tmp_path / "José"), PY, platform="win32", dry_run=True, now=NOW)
    assert not any("ANSI" in n for n in near.notes)


def test_windows_paths_compare_case_insensitively(tmp_path):
    es.install(user(tmp_path), PY, platform="win32", now=NOW)
    assert not es.install(user(tmp_path), PY.upper(), platform="win32", now=NOW).changed


# --- dry run -------------------------------------------------------------------------------------


def test_dry_run_writes_nothing_and_describes_the_change_exactly(tmp_path):
    c = write_conf(tmp_path, ANOTHER_PROJECT)
    before = listing(tmp_path)
    result = es.install(user(tmp_path), PY, dry_run=True, platform="win32",
                        replace_interpreter=True, now=NOW)
    assert listing(tmp_path) == before
    backup = c.with_name("xlwings.conf.xlnapkin-backup-20240506-070809")
    assert result.describe() == "\n".join([
        "xlnapkin excel install (dry run: nothing written)",
        f"config: {c}",
        f"  back up {c} to {backup}",
        '  set "UDF MODULES": "theirs.udfs" -> "theirs.udfs;xlnapkin.udfs"',
        rf'  set "INTERPRETER_WIN": "{OLD_PY}" -> "{PY}"',
        f"  record the changes in {user(tmp_path).state_path}",
        f'note: "UDF MODULES" also lists theirs.udfs: xlwings imports them with {PY} too, and '
        "Import Functions stops at the first that fails to import there",
    ])
    # The real run does what the dry run said.
    assert es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True,
                      now=NOW).describe() == \
        result.describe().replace(" (dry run: nothing written)", "")


def test_dry_run_on_a_fresh_home_creates_no_folder(tmp_path):
    es.install(user(tmp_path), PY, dry_run=True, platform="win32", now=NOW)
    assert list(tmp_path.iterdir()) == []


def test_uninstall_dry_run_writes_nothing(tmp_path):
    write_conf(tmp_path, EXISTING)
    es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)
    before = listing(tmp_path)
    result = es.uninstall(user(tmp_path), dry_run=True, platform="win32")
    assert listing(tmp_path) == before
    assert result.describe().startswith("xlnapkin excel uninstall (dry run: nothing written)")
    assert result.changed


# --- uninstall -----------------------------------------------------------------------------------


def test_uninstall_when_never_installed_is_a_no_op(tmp_path):
    assert not es.uninstall(user(tmp_path), platform="win32").changed
    assert listing(tmp_path) == {}
    write_conf(tmp_path, EXISTING)
    result = es.uninstall(user(tmp_path), platform="win32")
    assert not result.changed
    assert listing(tmp_path) == {".xlwings/xlwings.conf": EXISTING}
    assert result.describe() == (
        f"xlnapkin excel uninstall\nconfig: {conf(tmp_path)}\n  nothing to undo")


def test_uninstall_twice_is_a_no_op_the_second_time(tmp_path):
    write_conf(tmp_path, EXISTING)
    es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)
    es.uninstall(user(tmp_path), platform="win32")
    after = listing(tmp_path)
    assert not es.uninstall(user(tmp_path), platform="win32").changed
    assert listing(tmp_path) == after


def test_uninstall_after_the_user_edited_the_config_reverses_only_xlnapkin(tmp_path):
    c = write_conf(tmp_path, EXISTING)
    es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)
    # The user (or the xlwings ribbon) changes another setting and adds a module.
    edited = c.read_bytes().replace(b'"SHOW CONSOLE","True"', b'"SHOW CONSOLE","False"')
    edited = edited.replace(b"other.pkg;xlnapkin.udfs", b"other.pkg;xlnapkin.udfs;new.mod")
    c.write_bytes(edited)

    result = es.uninstall(user(tmp_path), platform="win32")
    assert c.read_bytes() == (
        b'"CONDA PATH","C:\\conda"\r\n'
        b'"UDF MODULES","mymod;other.pkg;new.mod"\r\n'
        b'"SHOW CONSOLE","False"\r\n'
        b'"LICENSE_KEY","noncommercial"\r\n')
    assert len(backups(tmp_path)) == 1  # kept: it is the only copy of the original
    assert not user(tmp_path).state_path.exists()
    assert any("kept" in note for note in result.notes)


def test_uninstall_leaves_an_interpreter_the_user_changed_since(tmp_path):
    c = write_conf(tmp_path, ANOTHER_PROJECT)
    es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)
    c.write_bytes(c.read_bytes().replace(PY.encode(), rb"E:\mine\pythonw.exe"))
    result = es.uninstall(user(tmp_path), platform="win32")
    assert b'"INTERPRETER_WIN","E:\\mine\\pythonw.exe"' in c.read_bytes()
    assert b"xlnapkin.udfs" not in c.read_bytes()
    assert '"INTERPRETER_WIN" was changed after install; left as "E:\\mine\\pythonw.exe"' \
        in result.notes


def test_uninstall_removes_lines_it_added_when_the_file_was_edited(tmp_path):
    c = write_conf(tmp_path, b'"SHOW CONSOLE","True"\r\n')
    es.install(user(tmp_path), PY, platform="win32", now=NOW)
    c.write_bytes(c.read_bytes() + b'"DEBUG UDFS","False"\r\n')
    es.uninstall(user(tmp_path), platform="win32")
    assert c.read_bytes() == b'"SHOW CONSOLE","True"\r\n"DEBUG UDFS","False"\r\n'


def test_uninstall_of_a_created_file_the_user_added_to_keeps_their_lines(tmp_path):
    es.install(user(tmp_path), PY, platform="win32", now=NOW)
    c = conf(tmp_path)
    c.write_bytes(c.read_bytes() + b'"SHOW CONSOLE","True"\r\n')
    es.uninstall(user(tmp_path), platform="win32")
    assert c.read_bytes() == b'"SHOW CONSOLE","True"\r\n'


# --- status --------------------------------------------------------------------------------------


def test_status_before_and_after(tmp_path):
    before = es.status(user(tmp_path), home=tmp_path, platform="win32")
    assert not before.configured and not before.config_exists and not before.recorded
    assert before.interpreter.value is None and before.addin_present is False
    assert "configured: no" in before.describe()

    c = write_conf(tmp_path, EXISTING)
    es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)
    after = es.status(user(tmp_path), home=tmp_path, platform="win32")
    assert after.configured and after.recorded
    assert after.udf_modules == es.Setting("UDF MODULES", "mymod;other.pkg;xlnapkin.udfs", str(c))
    assert after.interpreter.value == PY
    assert after.backup_path == backups(tmp_path)[0]
    text = after.describe()
    assert "configured: yes" in text
    assert f'INTERPRETER_WIN: "{PY}" (from {c})' in text
    assert "installed by xlnapkin: yes (backup " in text
    assert "xlwings add-in: not found" in text

    xlstart = tmp_path / "AppData" / "Roaming" / "Microsoft" / "Excel" / "XLSTART"
    xlstart.mkdir(parents=True)
    (xlstart / "xlwings.xlam").write_bytes(b"PK")
    addin = es.status(user(tmp_path), home=tmp_path, platform="win32")
    assert addin.addin_present and addin.addin_path == xlstart / "xlwings.xlam"

    es.uninstall(user(tmp_path), platform="win32")
    assert not es.status(user(tmp_path), home=tmp_path, platform="win32").configured


def test_status_on_linux_says_the_add_in_does_not_apply(tmp_path):
    st = es.status(user(tmp_path, "linux"), home=tmp_path, platform="linux")
    assert st.addin_present is None and st.addin_path is None
    assert "xlwings add-in: not applicable on linux" in st.describe()


def test_status_checks_the_interpreter_only_on_its_own_platform(tmp_path):
    here = sys.platform
    es.install(user(tmp_path, here), str(tmp_path / "no-such-python"), platform=here, now=NOW)
    st = es.status(user(tmp_path, here), home=tmp_path, platform=here)
    assert st.interpreter_found is False
    assert "(no such file on this machine)" in st.describe()
    es.install(user(tmp_path, here), sys.executable, platform=here, replace_interpreter=True,
               now=NOW)
    assert es.status(user(tmp_path, here), home=tmp_path, platform=here).interpreter_found
    other = "darwin" if here == "win32" else "win32"
    es.install(user(tmp_path / "other", other), PY, platform=other, now=NOW)
    assert es.status(user(tmp_path / "other", other), home=tmp_path / "other",
                     platform=other).interpreter_found is None


# --- macOS ---------------------------------------------------------------------------------------


def test_macos_layout(tmp_path):
    py = "/Users/ann/.venvs/napkin/bin/python"
    result = es.install(user(tmp_path, "darwin"), py, platform="darwin", now=NOW)
    c = conf(tmp_path, "darwin")
    assert c.read_bytes() == b'"UDF MODULES","xlnapkin.udfs"\n"INTERPRETER_MAC","' + \
        py.encode() + b'"\n'
    assert any("xlwings Lite" in note for note in result.notes)
    st = es.status(user(tmp_path, "darwin"), home=tmp_path, platform="darwin")
    assert st.configured and st.interpreter.key == "INTERPRETER_MAC"
    assert "UBF8T346G9.Office" in str(st.addin_path)
    es.uninstall(user(tmp_path, "darwin"), platform="darwin")
    assert listing(tmp_path) == {}  # the four folders install made are gone too


# --- encodings and bad input ---------------------------------------------------------------------


def test_windows_config_is_written_in_the_ansi_code_page(tmp_path):
    py = "C:\\Users\\José\\venv\\Scripts\\pythonw.exe"
    if sys.platform != "win32":
        assert es._encoding("win32") == "cp1252"
    ansi = es._encoding("win32")
    try:
        expected = py.encode(ansi)
    except UnicodeEncodeError:
        pytest.skip(f"this Windows code page ({ansi}) has no é")
    es.install(user(tmp_path), py, platform="win32", now=NOW)
    assert expected in conf(tmp_path).read_bytes()  # the ANSI code page, as VBA reads it
    assert es.status(user(tmp_path), home=tmp_path, platform="win32").interpreter.value == py


@pytest.mark.parametrize("bad, words", [
    ("", "must not be empty"),
    ("   ", "must not be empty"),
    ('C:\\a "b"\\pythonw.exe', "cannot contain quotes or line breaks"),
    ("C:\\a\nb", "cannot contain quotes or line breaks"),
    ("C:\\Users\\李\\pythonw.exe", "-VenvDir C:\\xlnapkin\\venv"),
])
def test_bad_interpreter_paths_raise_a_napkin_error(tmp_path, bad, words):
    with pytest.raises(es.ExcelSetupError, match=re.escape(words)) as info:
        es.install(user(tmp_path), bad, platform="win32", now=NOW)
    assert isinstance(info.value, NapkinError)
    assert listing(tmp_path) == {}


def test_unreadable_state_file_raises_a_napkin_error(tmp_path):
    state = user(tmp_path).state_path
    state.parent.mkdir(parents=True)
    state.write_text("{not json")
    with pytest.raises(es.ExcelSetupError, match="is not a valid xlnapkin state file"):
        es.uninstall(user(tmp_path), platform="win32")


def test_backup_names_do_not_collide(tmp_path):
    c = write_conf(tmp_path, EXISTING)
    taken = c.with_name("xlwings.conf.xlnapkin-backup-20240506-070809")
    taken.write_bytes(b"someone else's")
    result = es.install(user(tmp_path), PY, platform="win32", replace_interpreter=True, now=NOW)
    assert result.backup_path.name == "xlwings.conf.xlnapkin-backup-20240506-070809-1"
    assert taken.read_bytes() == b"someone else's"
    es.uninstall(user(tmp_path), platform="win32")
    assert c.read_bytes() == EXISTING and taken.exists()


def test_default_interpreter_prefers_pythonw_on_windows(tmp_path):
    scripts = tmp_path / "Scripts"
    scripts.mkdir()
    (scripts / "python.exe").write_bytes(b"")
    python = str(scripts / "python.exe")
    assert es.default_interpreter("win32", python) == python
    (scripts / "pythonw.exe").write_bytes(b"")
    assert es.default_interpreter("win32", python) == str(scripts / "pythonw.exe")
    assert es.default_interpreter("linux", "/usr/bin/python3") == "/usr/bin/python3"


# --- the add-in step -----------------------------------------------------------------------------


def test_addin_step_is_skipped_off_windows(tmp_path):
    for action in ("install", "remove"):
        result = es.xlwings_addin(action, home=tmp_path, platform="linux",
                                  source=tmp_path / "nope.xlam")
        assert not result.changed and result.ok and result.path is None
        assert "skipped" in result.describe()
    assert listing(tmp_path) == {}


XLAM = "AppData/Roaming/Microsoft/Excel/XLSTART/xlwings.xlam"


def addin_source(folder, content=b"xlwings add-in 0.33.14"):
    path = folder / "site-packages" / "xlwings" / "addin" / "xlwings.xlam"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def addin(action, home, **kw):
    # the DLL beside this Python is not what these tests are about (on Windows it would be
    # checked by default): the tests that are pass check_dll
    return es.xlwings_addin(action, home=home, platform="win32", **{"check_dll": False, **kw})


def test_addin_install_copies_xlwings_own_file_and_writes_no_xlwings_conf(tmp_path):
    # `xlwings addin install` also writes ~/.xlwings/xlwings.conf naming its own Python on a
    # first install (xlwings' config_create): every workbook without settings of its own would
    # then run xlnapkin's Python. The copy here must leave the user's settings alone.
    home, src = tmp_path / "home", addin_source(tmp_path)
    assert addin("install", home, source=src, dry_run=True).changed is False
    assert not home.exists()  # a dry run writes nothing
    result = addin("install", home, source=src)
    assert result.changed and result.ok and result.path == home / XLAM
    files = listing(home)
    assert files.pop(XLAM) == src.read_bytes()
    assert list(files) == [".xlnapkin/addin.json"]  # the record, and nothing else
    assert json.loads(files[".xlnapkin/addin.json"]) == {
        "was_present": False, "sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
        "backup": False}
    again = addin("install", home, source=src)
    assert not again.changed and "already this version" in again.describe()


def test_addin_reinstall_upgrades_its_own_copy_but_keeps_another_projects(tmp_path):
    home = tmp_path / "home"
    old, new = addin_source(tmp_path / "old", b"0.33.1"), addin_source(tmp_path / "new", b"0.34")
    addin("install", home, source=old)
    result = addin("install", home, source=new)  # xlnapkin's own earlier copy: upgraded
    assert result.changed and (home / XLAM).read_bytes() == b"0.34"
    # another project put its add-in there since (of a version that cannot be read): left as
    # it is, and the step fails, unless replace
    (home / XLAM).write_bytes(b"theirs 0.30")
    kept = addin("install", home, source=new)
    assert not kept.changed and not kept.ok and "STOPPED, nothing changed" in kept.describe()
    assert (home / XLAM).read_bytes() == b"theirs 0.30"
    assert addin("install", home, source=new, replace=True).changed
    assert (home / XLAM).read_bytes() == b"0.34"


# --- another project's add-in: its xlwings version decides ------------------------------------


def test_the_addins_xlwings_version_is_read_from_its_vba_code(tmp_path):
    """xlwings stamps its version into the add-in's VBA when it releases it; the reader gets it
    from xlwings' own add-in (the modules decompressed exactly as xlwings ships their source),
    from made-up ones, and refuses what is not an Office file with VBA."""
    xlwings = pytest.importorskip("xlwings")
    real = es.xlwings_addin_source().read_bytes()
    assert _vba.xlwings_version(real) == xlwings.__version__
    sources = _vba.vba_sources(real)
    shipped = Path(xlwings.__file__).parent / "addin" / "Config.bas"
    assert sources["Config"].decode("cp1252").splitlines() == \
        shipped.read_text(encoding="cp1252").splitlines()
    assert _vba.udf_modules_called(real) == {"xlwings.ext"}  # its own SQL function
    for version in ("0.30.2", "0.35.1", "0.0.0+1a2b3c4"):
        assert _vba.xlwings_version(vbaproject.xlwings_addin(version)) == version
    assert _vba.xlwings_version(vbaproject.office_file({"Module1": "Sub a()\nEnd Sub\n"})) is None
    # the binary .xls keeps its VBA under _VBA_PROJECT_CUR
    xls = vbaproject.vba_project({"xlwings_udfs": vbaproject.imported_functions("my.mod")},
                                 path=("_VBA_PROJECT_CUR", "VBA"))
    assert _vba.udf_modules_called(xls) == {"my.mod"}
    assert _vba.vba_sources(vbaproject.office_file(None)) == {}  # an .xlsx: no VBA
    with pytest.raises(_vba.VbaError, match="the file has no VBA project"):
        _vba.xlwings_version(vbaproject.office_file(None))
    with pytest.raises(_vba.VbaError, match="not an Office file"):
        _vba.xlwings_version(b"theirs 0.30")


def corrupt(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new):]


@pytest.mark.parametrize("damage", ["truncated", "fat loop", "bad chunk", "directory loop",
                                    "no dir stream"])
def test_a_damaged_vba_project_is_an_error_not_a_crash_or_a_hang(damage):
    project = vbaproject.vba_project({"Main": 'Public Const XLWINGS_VERSION As String = "1"\n'})
    fat = 512
    if damage == "truncated":
        project = project[:1100]
    elif damage == "fat loop":  # the directory's chain points back at itself
        project = corrupt(project, fat + 4, struct.pack("<I", 1))
    elif damage == "bad chunk":  # the dir stream, first in the mini stream: its chunk header
        mini = (struct.unpack_from("<I", project, fat + 512 + 116)[0] + 1) * 512
        assert project[mini] == 1  # the container's signature
        project = corrupt(project, mini + 1, b"\x00\x00")
    elif damage == "directory loop":  # the VBA storage's first child is the root again
        project = corrupt(project, fat + 512 + 128 + 76, struct.pack("<I", 0))
    else:
        name = "dir".encode("utf-16-le")
        project = project.replace(name + b"\0\0", "dix".encode("utf-16-le") + b"\0\0")
    if damage == "fat loop":  # olefile stops at the directory's own size: read as it was
        assert _vba.module_sources(project) == {
            "Main": b'Public Const XLWINGS_VERSION As String = "1"\r\n'}
        return
    with pytest.raises(_vba.VbaError):
        _vba.module_sources(project)


def test_another_projects_addin_of_the_same_xlwings_version_is_kept(tmp_path):
    home = tmp_path / "home"
    theirs = vbaproject.xlwings_addin("0.35.1") + b"\0"  # not byte-equal to ours
    (home / XLAM).parent.mkdir(parents=True)
    (home / XLAM).write_bytes(theirs)  # a different file, the same version
    ours = addin_source(tmp_path, vbaproject.xlwings_addin("0.35.1"))
    result = addin("install", home, source=ours)
    assert result.ok and not result.changed
    assert result.describe() == (
        f"xlwings add-in: kept the xlwings add-in already in {home / XLAM} (not xlnapkin's "
        "copy, but for xlwings 0.35.1, the version xlnapkin's functions run with)")
    assert (home / XLAM).read_bytes() == theirs and listing(home).keys() == {XLAM}
    assert not addin("remove", home).changed  # and uninstall leaves it


def test_another_projects_addin_of_another_version_stops_the_install(tmp_path, capsys):
    """The add-in loads xlwings64-<its version>.dll from beside the Python it starts: with
    another xlwings in xlnapkin's environment the functions would fail. Nothing changes, the
    step fails (install.ps1 stops there, printing no success), and the message says how to
    match the versions (their project keeps working) or replace the add-in."""
    home = tmp_path / "home"
    (home / XLAM).parent.mkdir(parents=True)
    (home / XLAM).write_bytes(vbaproject.xlwings_addin("0.35.1"))
    before = listing(home)
    ours = addin_source(tmp_path, vbaproject.xlwings_addin("0.37.8"))
    result = addin("install", home, source=ours, python_executable=PY)
    assert not result.ok and not result.changed and listing(home) == before
    python = PY.replace("pythonw.exe", "python.exe")
    assert result.describe() == (
        f"xlwings add-in: STOPPED, nothing changed: {home / XLAM} is another xlwings add-in, "
        "for xlwings 0.35.1; xlnapkin's environment has xlwings 0.37.8. That add-in loads "
        "xlwings64-0.35.1.dll from beside the Python it starts, so xlnapkin's functions would "
        "fail with a missing-DLL error. To keep it, give xlnapkin's environment xlwings "
        f'0.35.1: run install.ps1 again with -XlwingsVersion 0.35.1 (or: "{python}" -m pip '
        'install "xlwings==0.35.1", then this again). Or replace it with xlnapkin\'s: run '
        "this again with -ReplaceAddin (install.ps1) or --replace (xlnapkin excel addin "
        "install); the other project then needs xlnapkin's xlwings 0.37.8 too.")
    # a dry run says the same, and fails the same way
    assert addin("install", home, source=ours, python_executable=PY, dry_run=True) == result
    # xlwings 0.35.1 in xlnapkin's environment (what -XlwingsVersion does): the add-in fits
    matched = addin_source(tmp_path / "matched", vbaproject.xlwings_addin("0.35.1"))
    assert addin("install", home, source=matched).ok
    assert (home / XLAM).read_bytes() == before[XLAM]
    # too old for xlnapkin: matching is not offered
    (home / XLAM).write_bytes(vbaproject.xlwings_addin("0.30.10"))
    text = addin("install", home, source=ours).describe()
    assert "xlnapkin needs xlwings 0.33 or newer, so it cannot use that add-in: replace" in text
    assert "-XlwingsVersion" not in text
    # a version that cannot be read: the user is asked to look it up
    (home / XLAM).write_bytes(b"not an add-in")
    text = addin("install", home, source=ours).describe()
    assert ("its xlwings version cannot be read (not an Office file (File is not a zip "
            "file)); xlnapkin's environment has xlwings 0.37.8.") in text
    assert "the xlwings tab in Excel shows it" in text and "-XlwingsVersion VERSION" in text
    # the command line fails with it (exit 1), and says no "next" steps
    (home / XLAM).write_bytes(vbaproject.xlwings_addin("0.35.1"))
    common = ["--home", home, "--platform", "win32"]
    code, out, _ = run(capsys, "excel", "addin", "install", *common)
    assert code == 1 and "STOPPED, nothing changed" in out
    book = make_book(tmp_path / "models")
    pytest.importorskip("xlwings")  # this Python's xlwings is xlnapkin's here
    code, out, _ = run(capsys, "excel", "install", "--workbook", book, "--addin", *common)
    assert code == 1 and "STOPPED, nothing changed" in out and "next:" not in out
    # and it means it: the workbook's folder has no settings of xlnapkin's (a review found
    # them written before the add-in step stopped)
    assert sorted(p.name for p in book.parent.iterdir()) == [book.name]
    code, out, _ = run(capsys, "excel", "status", *common)
    assert f"xlwings add-in: installed ({home / XLAM}), for xlwings 0.35.1" in out


def test_a_python_without_xlwings_dll_stops_the_install(tmp_path):
    """pip installs xlwings64-<version>.dll only from xlwings' win_amd64 wheels: a 32-bit or an
    ARM64 Python gets the pure-Python wheel, and every function would fail in Excel with
    "Could not load xlwings64-<version>.dll" (an audit). The add-in loads it from beside the
    Python or one folder up (a virtual environment's root), so it is looked for there."""
    home, venv = tmp_path / "home", tmp_path / "venv"
    python = venv / "Scripts" / "pythonw.exe"
    python.parent.mkdir(parents=True)
    ours = addin_source(tmp_path, vbaproject.xlwings_addin("0.37.8"))
    result = addin("install", home, source=ours, python_executable=str(python), check_dll=True)
    assert not result.ok and not result.changed and not home.exists()
    assert result.describe().startswith(
        "xlwings add-in: STOPPED, nothing changed: the add-in loads xlwings64-0.37.8.dll from "
        f"beside {python} or from {venv}, and it is in neither.")
    assert "-Python" in result.describe() and "(64-bit)" in result.describe()
    # a DLL of another version is no help; the environment's root, or beside the Python, is
    (venv / "xlwings64-0.35.1.dll").write_bytes(b"")
    assert not addin("install", home, source=ours, python_executable=str(python),
                     check_dll=True).ok
    (venv / "xlwings64-0.37.8.dll").write_bytes(b"")
    assert addin("install", home, source=ours, python_executable=str(python),
                 check_dll=True).changed
    (venv / "xlwings64-0.37.8.dll").rename(python.parent / "xlwings64-0.37.8.dll")
    assert addin("install", home, source=ours, python_executable=str(python),
                 check_dll=True).ok


def test_an_addin_excel_loads_from_elsewhere_is_used_or_stops_the_install(tmp_path):
    """``xlwings addin install --glob`` puts the add-in into Office's own XLSTART folder, and a
    user may tick one in Excel's Add-ins dialog: a second file named xlwings.xlam in the user's
    XLSTART would not open beside it (an audit). Of xlnapkin's version it serves; of another,
    the install stops with nothing changed."""
    home = tmp_path / "home"
    ours = addin_source(tmp_path, vbaproject.xlwings_addin("0.37.8"))
    office = tmp_path / "Program Files"
    glob_start = office / "Microsoft Office" / "root" / "Office16" / "XLSTART" / "xlwings.xlam"
    ticked = tmp_path / "site-packages" / "xlwings" / "addin" / "xlwings.xlam"
    glob_start.parent.mkdir(parents=True)
    glob_start.write_bytes(vbaproject.xlwings_addin("0.35.1"))
    options = [("OPEN", f'/R "{ticked}"'), ("OPEN1", '"C:\\other\\tools.xlam"'),
               ("Options", "123")]
    assert es._addin_places(options, [office]) == [glob_start, ticked]
    # unquoted after its switch, and a bare name: the user's AddIns folder (a review)
    addins = tmp_path / "AddIns"
    (addins / "xlwings.xlam").parent.mkdir()
    (addins / "xlwings.xlam").write_bytes(b"")
    assert es._addin_places([("OPEN2", f"/R /F {ticked}")], []) == [ticked]
    assert es._addin_places([("OPEN", '"xlwings.xlam"')], [], addins) == [addins / "xlwings.xlam"]
    result = addin("install", home, source=ours, elsewhere=[glob_start])
    assert not result.ok and not result.changed and not home.exists()
    assert result.describe() == (
        "xlwings add-in: STOPPED, nothing changed: Excel already loads an xlwings add-in from "
        f"{glob_start} (for xlwings 0.35.1; xlnapkin's environment has xlwings 0.37.8). A "
        f"second one in {(home / XLAM).parent} would not open beside it, and that one loads its "
        "own version's DLL, so xlnapkin's functions would fail. Give xlnapkin's environment "
        "xlwings 0.35.1: run install.ps1 again with -XlwingsVersion 0.35.1; or remove that "
        "add-in (File > Options > Add-ins > Manage Excel Add-ins, or ask whoever put it there) "
        "and run this again.")
    # the ticked one is xlnapkin's own version: it serves, and nothing is copied
    kept = addin("install", home, source=ours, elsewhere=[ticked])
    assert kept.ok and not kept.changed and kept.path == ticked and not home.exists()
    assert "Excel already loads one from" in kept.describe()
    # the user's XLSTART itself (a registered copy of it) is the usual case, not another place
    assert addin("install", home, source=ours, elsewhere=[home / XLAM]).changed
    # ... and xlnapkin's copy there goes once Excel loads one of its version from elsewhere: two
    # of one name would not both open (a review: it stayed, and the message said "no copy")
    assert "would remove xlnapkin's earlier copy" in addin(
        "install", home, source=ours, elsewhere=[ticked], dry_run=True).describe()
    assert (home / XLAM).is_file()
    moved = addin("install", home, source=ours, elsewhere=[ticked])
    assert moved.ok and moved.changed and "removed xlnapkin's earlier copy" in moved.describe()
    assert listing(home) == {}  # the copy and its record
    # someone else's copy there: the user picks one
    (home / XLAM).parent.mkdir(parents=True, exist_ok=True)
    (home / XLAM).write_bytes(vbaproject.xlwings_addin("0.37.8") + b"\0")
    both = addin("install", home, source=ours, elsewhere=[ticked])
    assert not both.ok and "from both" in both.describe() and (home / XLAM).is_file()
    # one older than xlnapkin needs: only removing it helps
    glob_start.write_bytes(vbaproject.xlwings_addin("0.30.10"))
    text = addin("install", home, source=ours, elsewhere=[glob_start]).describe()
    assert "To use xlnapkin, remove that add-in" in text and "-XlwingsVersion" not in text


def test_min_xlwings_is_the_excel_extras():
    import tomllib
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["excel"]
    assert "xlwings>=" + ".".join(map(str, es.MIN_XLWINGS)) in extra
    assert [e for e in extra if e.startswith("xlwings")] == extra[:1]


def test_addin_already_there_before_xlnapkin_is_kept_on_install_and_on_remove(tmp_path):
    home, src = tmp_path / "home", addin_source(tmp_path)
    theirs = home / XLAM
    theirs.parent.mkdir(parents=True)
    theirs.write_bytes(b"theirs 0.30")
    assert not addin("install", home, source=src).changed
    # replaced on request; still theirs to keep: remove puts their copy back
    assert addin("install", home, source=src, replace=True).changed
    back = addin("remove", home)
    assert back.changed and "put back" in back.describe()
    assert theirs.read_bytes() == b"theirs 0.30"
    # the same version already there counts as theirs too
    home2 = tmp_path / "home2"
    (home2 / XLAM).parent.mkdir(parents=True)
    (home2 / XLAM).write_bytes(src.read_bytes())
    assert not addin("install", home2, source=src).changed
    assert not addin("remove", home2).changed and (home2 / XLAM).is_file()
    assert addin("remove", home2, replace=True).changed and not (home2 / XLAM).exists()


def test_addin_remove_takes_only_its_own_unchanged_copy(tmp_path):
    home, src = tmp_path / "home", addin_source(tmp_path)
    addin("install", home, source=src)
    assert addin("remove", home, dry_run=True).describe().startswith(
        "xlwings add-in: would remove")
    assert (home / XLAM).is_file()
    result = addin("remove", home)
    assert result.changed and listing(home) == {}  # the add-in and the record are gone
    assert "nothing to remove" in addin("remove", home).describe()
    # replaced by another project since: left
    addin("install", home, source=src)
    (home / XLAM).write_bytes(b"theirs")
    assert not addin("remove", home).changed and (home / XLAM).read_bytes() == b"theirs"
    # another project's functions in the user-wide settings use it: left
    home3 = tmp_path / "home3"
    addin("install", home3, source=src)
    write_conf(home3, ANOTHER_PROJECT)
    left = addin("remove", home3)
    assert not left.changed and "theirs.udfs" in left.describe()


def test_addin_left_for_other_functions_stays_xlnapkins_to_upgrade(tmp_path):
    # Kept at uninstall because another project's functions use it: the record stays, so a
    # later install still upgrades xlnapkin's copy instead of warning about "another project's".
    home = tmp_path / "home"
    addin("install", home, source=addin_source(tmp_path / "a", b"0.33"))
    write_conf(home, ANOTHER_PROJECT)
    assert not addin("remove", home).changed
    assert addin("install", home, source=addin_source(tmp_path / "b", b"0.34")).changed
    assert (home / XLAM).read_bytes() == b"0.34"


def test_replacing_another_projects_addin_puts_theirs_back_on_remove(tmp_path):
    """A review: --replace (install.ps1 -ReplaceAddin) overwrote another project's add-in, and
    remove then left xlnapkin's copy, so theirs was lost for good. A copy of theirs is kept
    and removing xlnapkin's puts it back, byte for byte."""
    home = tmp_path / "home"
    addin("install", home, source=addin_source(tmp_path / "a", b"0.33"))
    (home / XLAM).write_bytes(b"theirs")  # another project installed its version over ours
    assert addin("install", home, source=addin_source(tmp_path / "a"), replace=True).changed
    assert es.addin_backup(home).read_bytes() == b"theirs" and (home / XLAM).read_bytes() != \
        b"theirs"
    # upgraded again with --replace: the copy kept is still theirs, not xlnapkin's older one
    assert addin("install", home, source=addin_source(tmp_path / "b", b"0.34"),
                 replace=True).changed
    assert es.addin_backup(home).read_bytes() == b"theirs"
    dry = addin("remove", home, dry_run=True)
    assert "would put back" in dry.describe() and (home / XLAM).read_bytes() == b"0.34"
    back = addin("remove", home)
    assert back.changed and "put back" in back.describe()
    assert (home / XLAM).read_bytes() == b"theirs"
    assert not es.addin_backup(home).exists() and not es.addin_record(home).exists()
    # and theirs, now unrecorded, is left by a later remove
    assert not addin("remove", home).changed and (home / XLAM).read_bytes() == b"theirs"
    # the other project installs a newer add-in over xlnapkin's, which replaces it again: the
    # copy kept is that newer one, not the first (a review)
    assert addin("install", home, source=addin_source(tmp_path / "a"), replace=True).changed
    (home / XLAM).write_bytes(b"theirs, newer")
    assert addin("install", home, source=addin_source(tmp_path / "a"), replace=True).changed
    assert addin("remove", home).changed and (home / XLAM).read_bytes() == b"theirs, newer"


def test_an_older_record_of_a_replaced_addin_never_backs_up_xlnapkins_own_copy(tmp_path):
    # written by a version before the backup: {"was_present": true, "sha256": xlnapkin's copy}
    home, old = tmp_path / "home", addin_source(tmp_path / "old", b"xlnapkin's 0.35 copy")
    (home / XLAM).parent.mkdir(parents=True)
    (home / XLAM).write_bytes(old.read_bytes())
    es.addin_record(home).parent.mkdir(parents=True)
    es.addin_record(home).write_text(json.dumps(
        {"was_present": True, "sha256": hashlib.sha256(old.read_bytes()).hexdigest()}))
    assert addin("install", home, source=addin_source(tmp_path / "new"), replace=True).changed
    assert not es.addin_backup(home).exists()
    left = addin("remove", home)  # nothing of theirs to put back: left as before
    assert not left.changed and "before xlnapkin" in left.describe()
    # a record dropped takes its backup with it
    home2 = tmp_path / "home2"
    (home2 / XLAM).parent.mkdir(parents=True)
    (home2 / XLAM).write_bytes(b"theirs")
    addin("install", home2, source=addin_source(tmp_path / "new"), replace=True)
    (home2 / XLAM).unlink()
    addin("remove", home2)
    assert not es.addin_backup(home2).exists() and not es.addin_record(home2).exists()


def test_a_stale_record_is_refreshed_when_the_file_is_already_this_version(tmp_path):
    home, src = tmp_path / "home", addin_source(tmp_path)
    addin("install", home, source=src)
    record = json.loads(es.addin_record(home).read_text())
    es.addin_record(home).write_text(json.dumps({**record, "sha256": "0" * 64}))
    assert not addin("install", home, source=src).changed
    assert addin("remove", home).changed and not (home / XLAM).exists()


def test_install_also_deletes_the_xlwings_conf_an_old_installer_left(tmp_path):
    home, src = tmp_path / "home", addin_source(tmp_path)
    venv_python = r"C:\Users\ann\AppData\Local\xlnapkin\venv\Scripts\python.exe"
    stray = write_conf(home, f'"INTERPRETER_WIN","{venv_python}"\r\n'.encode())
    dry = addin("install", home, source=src, python_executable=PY, dry_run=True)
    assert f"would delete {stray}" in dry.describe() and stray.exists()
    result = addin("install", home, source=src, python_executable=PY)
    assert result.changed and not stray.exists()
    # then the user-wide set-up works with the environment's pythonw.exe, as on a clean PC
    es.install(user(home), PY, platform="win32", now=NOW)
    assert f'"INTERPRETER_WIN","{PY}"'.encode() in conf(home).read_bytes()


def test_addin_remove_reads_the_older_installers_marker(tmp_path):
    home, src = tmp_path / "home", addin_source(tmp_path)
    marker = home / "AppData/Local/xlnapkin/addin-was-present.txt"
    for before, removed in (("True", False), ("False", True)):
        (home / XLAM).parent.mkdir(parents=True, exist_ok=True)
        (home / XLAM).write_bytes(src.read_bytes())
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(before + "\r\n")
        assert addin("remove", home).changed is removed
        assert (home / XLAM).exists() is not removed and not marker.exists()


def test_addin_remove_deletes_the_xlwings_conf_an_old_addin_install_wrote(tmp_path):
    # Earlier installers ran `xlwings addin install`, which wrote this file on a first install.
    home, src = tmp_path / "home", addin_source(tmp_path)
    venv_python = r"C:\Users\ann\AppData\Local\xlnapkin\venv\Scripts\python.exe"
    addin("install", home, source=src)
    stray = write_conf(home, f'"INTERPRETER_WIN","{venv_python}"\n'.encode())
    result = addin("remove", home, python_executable=PY)  # PY: pythonw.exe beside it
    assert result.changed and not stray.exists() and "earlier `xlwings addin install`" in \
        result.describe()
    # a file with anything else in it, or naming another Python, is the user's: kept
    for text in (f'"INTERPRETER_WIN","{venv_python}"\n"UDF MODULES","mine"\n',
                 '"INTERPRETER_WIN","C:\\Python311\\python.exe"\n'):
        write_conf(home, text.encode())
        addin("remove", home, python_executable=PY)
        assert conf(home).read_text() == text


def test_addin_source_is_the_xlwings_of_the_given_python(tmp_path):
    calls = []

    def runner(cmd, **kwargs):
        calls.append(cmd)
        return SimpleNamespace(returncode=0, stdout=str(tmp_path / "xlwings") + "\n", stderr="")

    scripts = tmp_path / "venv" / "Scripts"
    scripts.mkdir(parents=True)
    (scripts / "python.exe").write_bytes(b"")
    found = es.xlwings_addin_source(str(scripts / "pythonw.exe"), runner=runner)
    assert found == tmp_path / "xlwings" / "addin" / "xlwings.xlam"
    assert calls[0][0] == str(scripts / "python.exe")  # the console one, whose output a pipe gets

    def missing(cmd, **kwargs):
        return SimpleNamespace(returncode=0, stdout="\n", stderr="")

    with pytest.raises(es.ExcelSetupError, match="xlwings is not installed"):
        es.xlwings_addin_source(str(scripts / "python.exe"), runner=missing)
    # this Python's own: the add-in file that ships inside the xlwings package
    xlwings_pkg = Path(__import__("xlwings").__file__).parent
    assert es.xlwings_addin_source() == xlwings_pkg / "addin" / "xlwings.xlam"
    assert es.xlwings_addin_source().is_file()


def test_addin_step_rejects_unknown_actions_and_a_missing_source(tmp_path):
    with pytest.raises(es.ExcelSetupError):
        es.xlwings_addin("upgrade", platform="win32")
    with pytest.raises(es.ExcelSetupError, match="not at"):
        addin("install", tmp_path, source=tmp_path / "missing.xlam")


def test_a_broken_addin_record_is_refused_and_nothing_is_removed(tmp_path):
    home, src = tmp_path / "home", addin_source(tmp_path)
    addin("install", home, source=src)
    es.addin_record(home).write_text('{"was_present": "no"}')
    with pytest.raises(es.ExcelSetupError, match="not an add-in record"):
        addin("remove", home)
    assert (home / XLAM).is_file()


# --- command line --------------------------------------------------------------------------------


def test_cli_round_trip_for_the_user_file(tmp_path, capsys):
    write_conf(tmp_path, EXISTING)
    common = ["--user", "--home", tmp_path, "--platform", "win32"]
    code, out, _ = run(capsys, "excel", "install", "--python", PY, "--dry-run",
                       "--replace-interpreter", *common)
    assert code == 0 and "dry run: nothing written" in out
    assert conf(tmp_path).read_bytes() == EXISTING

    code, out, _ = run(capsys, "excel", "install", "--python", PY, "--replace-interpreter", *common)
    assert code == 0
    assert '"mymod;other.pkg;xlnapkin.udfs"' in out and "Import Functions" in out
    code, out, _ = run(capsys, "excel", "status", *common)
    assert code == 0 and "configured: yes" in out
    assert run(capsys, "excel", "uninstall", "--dry-run", *common)[0] == 0
    assert run(capsys, "excel", "uninstall", *common)[0] == 0
    assert conf(tmp_path).read_bytes() == EXISTING
    code, out, _ = run(capsys, "excel", "status", "--home", tmp_path, "--platform", "win32")
    assert code == 0 and "configured: no" in out  # status reads the user file by default


def test_a_user_install_leaves_modules_that_run_the_python_on_path_alone(tmp_path, capsys):
    # A stranger's-machine audit: the user file listed another project's module and no
    # interpreter (it ran the Python on PATH); --user named xlnapkin's Python there, and exited 0.
    # Their module then ran in xlnapkin's Python, where it does not import, and Import Functions
    # stopped there before xlnapkin's. The folder scope already refused this.
    c = write_conf(tmp_path, EXISTING)
    common = ["--user", "--home", tmp_path, "--platform", "win32", "--python", PY]
    code, _, err = run(capsys, "excel", "install", *common)
    assert code == 1 and "run the Python on PATH" in err and "--replace-interpreter" in err
    assert c.read_bytes() == EXISTING and backups(tmp_path) == []
    # a file with no modules of theirs (the ribbon's empty line) is set up as before
    c.write_bytes(b'"UDF Modules",""\r\n"INTERPRETER_WIN",""\r\n')
    assert run(capsys, "excel", "install", *common)[0] == 0


def test_cli_records_workbook_folders_and_uninstall_recorded_undoes_them_all(tmp_path, capsys):
    # The Windows uninstaller runs `excel uninstall --recorded` before it may delete the
    # environment: a folder's xlwings.conf must not be left naming a Python that is gone.
    home = tmp_path / "home"
    common = ["--home", home, "--platform", "win32", "--python", PY]
    books = [make_book(tmp_path / "a"), make_book(tmp_path / "b b")]
    for book in books:
        assert run(capsys, "excel", "install", "--workbook", book, *common)[0] == 0
    assert run(capsys, "excel", "install", "--workbook", books[0], *common)[0] == 0  # again
    assert es.recorded_workbooks(home) == books
    assert run(capsys, "excel", "install", "--workbook", make_book(tmp_path / "c"), "--dry-run",
               *common)[0] == 0
    assert es.recorded_workbooks(home) == books  # a dry run records nothing
    code, out, _ = run(capsys, "excel", "uninstall", "--recorded", "--dry-run", *common[:4])
    assert code == 0 and all((b.parent / "xlwings.conf").exists() for b in books)
    code, out, _ = run(capsys, "excel", "uninstall", "--recorded", *common[:4])
    assert code == 0 and out.count("xlnapkin excel uninstall") == 2
    assert not any((b.parent / "xlwings.conf").exists() for b in books)
    assert es.recorded_workbooks(home) == [] and not es.workbook_record(home).exists()
    code, out, _ = run(capsys, "excel", "uninstall", "--recorded", *common[:4])
    assert code == 0 and out.startswith("no workbook folders recorded")
    # one folder that cannot be undone (its state file broken) does not stop the others
    for book in books:
        assert run(capsys, "excel", "install", "--workbook", book, *common)[0] == 0
    (books[0].parent / "xlwings.conf.xlnapkin-state.json").write_text("{}")
    code, out, err = run(capsys, "excel", "uninstall", "--recorded", *common[:4])
    assert code == 1 and "1 recorded folder(s) not undone" in err
    assert not (books[1].parent / "xlwings.conf").exists()
    assert es.recorded_workbooks(home) == [books[0]]
    (books[0].parent / "xlwings.conf.xlnapkin-state.json").unlink()
    (books[0].parent / "xlwings.conf").unlink()
    es.remember_workbook(home, books[0], keep=False)
    # uninstall --workbook takes its folder off the record
    assert run(capsys, "excel", "install", "--workbook", books[1], *common)[0] == 0
    assert run(capsys, "excel", "uninstall", "--workbook", books[1], *common[:4])[0] == 0
    assert es.recorded_workbooks(home) == []


def test_cli_addin_flag_off_windows_reports_skipped(tmp_path, capsys):
    book = make_book(tmp_path)
    code, out, _ = run(capsys, "excel", "install", "--workbook", book, "--platform", "linux",
                       "--python", "/usr/bin/python3", "--addin")
    assert code == 0 and "xlwings add-in: skipped" in out
    code, out, _ = run(capsys, "excel", "uninstall", "--workbook", book, "--platform", "linux",
                       "--addin")
    assert code == 0 and "xlwings add-in: skipped" in out


def test_cli_addin_command_installs_this_pythons_xlwings_addin_and_removes_it(tmp_path, capsys):
    home = tmp_path / "home"
    common = ["--home", home, "--platform", "win32"]
    code, out, _ = run(capsys, "excel", "addin", "install", "--dry-run", *common)
    assert code == 0 and "would copy" in out and not home.exists()
    code, out, _ = run(capsys, "excel", "addin", "install", *common)
    assert code == 0 and (home / XLAM).read_bytes() == es.xlwings_addin_source().read_bytes()
    assert not conf(home).exists()
    code, out, _ = run(capsys, "excel", "addin", "remove", *common)
    assert code == 0 and "removed" in out and listing(home) == {}


def test_cli_errors_are_one_line_and_exit_1(tmp_path, capsys):
    code, out, err = run(capsys, "excel", "install", "--user", "--home", tmp_path, "--platform",
                         "win32", "--python", 'C:\\"x"')
    assert (code, out) == (1, "")
    assert err.startswith("Error: python path cannot contain quotes") and err.count("\n") == 1
    code, _, err = run(capsys, "excel", "install", "--workbook", tmp_path / "nope.xlsm")
    assert code == 1 and err == f"Error: no such workbook: {tmp_path / 'nope.xlsm'}\n"


# --- the Windows scripts (they cannot run here: check what they call) ----------------------------


def ps1(name):
    return (INSTALLER / name).read_text(encoding="ascii")  # PowerShell 5.1 reads BOM-less as ANSI


def options_of(subcommand):
    """Options the CLI accepts for `xlnapkin excel <subcommand>`."""
    parser, _ = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    excel_sub = next(a for a in sub.choices["excel"]._actions
                     if isinstance(a, argparse._SubParsersAction))
    return {o for a in excel_sub.choices[subcommand]._actions for o in a.option_strings}


def passed_options(text, variable="$setupArgs"):
    return {o for ln in text.splitlines() if variable in ln
            for o in re.findall(r'"(--[a-z-]+)"', ln)}


def code_of(text):
    """A PowerShell script without its help block and comments."""
    return re.sub(r"(?m)^\s*#.*$", "", re.sub(r"<#.*?#>", "", text, flags=re.S))


def addin_options():
    return options_of("addin")


def test_install_ps1_installs_from_no_index_unless_asked():
    text = ps1("install.ps1")
    params = re.search(r"param\((.*?)\n\)", text, re.S).group(1)
    for name in ("$Source", "[switch]$DryRun", "$VenvDir", "$Python", "$Workbook",
                 "[switch]$User", "[switch]$ReplaceInterpreter", "[switch]$ReplaceAddin"):
        assert name in params, name
    assert '[string]$Source = ""' in params  # no default requirement that names an index
    # Default: the wheel beside the script, else the checkout it sits in, else stop.
    assert 'Get-ChildItem -LiteralPath $PSScriptRoot -Filter "xlnapkin-*-py3-none-any.whl"' in text
    assert 'Join-Path (Split-Path -Parent $PSScriptRoot) "pyproject.toml"' in text
    assert "No xlnapkin wheel beside this script" in text
    # With no -Source only local files are returned; a name for an index only when asked.
    body = re.search(r"function Get-Requirement.*?\n}\n", text, re.S).group(0)
    default = re.search(r"if \(-not \$Src\) \{(.*?)\n    \}\n", body, re.S).group(1)
    returned = [r.split("#")[0].strip().rstrip("}").strip()
                for r in re.findall(r"return (.*)", default)]
    assert returned == ['$wheels[0].FullName + "[excel]"',
                        '(Split-Path -Parent $PSScriptRoot) + "[excel]"']
    assert re.findall(r'return "(xlnapkin\[excel\][^"]*)"', body) == [
        "xlnapkin[excel]", "xlnapkin[excel] @ $Src"]
    assert 'if ($Src -eq "pypi") { return "xlnapkin[excel]" }' in body
    # a bare version would ask PyPI for whatever holds the name: refused (a delivery check)
    assert re.search(r"if \(\$Src -match '\^\\d\+.*\{ throw \"-Source \$\(\$Src\): a version "
                     r"number would ask PyPI", body)
    assert '"-m", "pip", "install"' in text
    assert 'Join-Path $env:LOCALAPPDATA "xlnapkin"' in text and '"venv"' in text
    # the py launcher first: its default Python 3, then a 64-bit one of each version by name
    assert '@(@("py", @("-3")), @("py", @("-3-64")), @("py", @("-3.14-64")),' in text
    assert '@("py", @("-V:3.12")), @("py", @("-V:3.11")), @("python", @()),' in text
    assert '[version]"3.11"' in text and '"-m", "venv"' in text
    assert "Scripts\\pythonw.exe" in text


def test_install_ps1_sets_up_a_workbook_or_the_user_only_when_asked():
    text = ps1("install.ps1")
    assert re.search(r'\$setupArgs = @\("excel", "install", "--python", \$VenvPythonW\)', text)
    assert re.search(r'if \(\$DryRun\) \{ \$setupArgs \+= "--dry-run" \}', text)
    assert '$setupArgs += @("--workbook", $Workbook)' in text
    assert '$setupArgs += "--user"' in text
    assert 'if ($ReplaceInterpreter) { $setupArgs += "--replace-interpreter" }' in text
    passed = passed_options(text)
    assert passed == {"--python", "--dry-run", "--workbook", "--user", "--replace-interpreter"}
    assert passed <= options_of("install")
    # The add-in through xlnapkin, never `xlwings addin install`: that one also writes a
    # user-wide xlwings.conf naming its Python, which other workbooks would then use.
    code = code_of(text)
    assert "xlwings addin" not in code and "xlwings.exe" not in code.lower()
    assert re.search(r'\$addinArgs = @\("excel", "addin", "install", "--python", \$VenvPythonW\)',
                     code)
    assert 'if ($ReplaceAddin) { $addinArgs += "--replace" }' in code
    assert 'if ($DryRun) { $addinArgs += "--dry-run" }' in code
    assert passed_options(code, "$addinArgs") == {"--python", "--replace", "--dry-run"}
    assert passed_options(code, "$addinArgs") <= addin_options()
    # the add-in step first: it deletes an older installer's stray user-wide xlwings.conf,
    # which the -User step would otherwise take for another project's Python
    assert code.index("$addinArgs = @(") < code.index("$setupArgs = @(")
    # an environment whose xlnapkin predates the command is probed, not run into
    assert code.index("function Test-AddinCommand") < code.index("if (Test-AddinCommand)")
    # a path the add-in's ANSI DLL loading cannot take is refused before anything is made
    assert code.index("Test-AnsiPath $VenvPythonW") < code.index('"-m", "venv"')
    assert "GetUnresolvedProviderPathFromPSPath($VenvDir)" in code  # absolute for Excel
    assert '$ErrorActionPreference = "Stop"' in text
    assert "if ($LASTEXITCODE -ne 0) { throw" in text and "exit 1" in text


def test_uninstall_ps1_calls_the_right_commands():
    text = ps1("uninstall.ps1")
    params = re.search(r"param\((.*?)\n\)", text, re.S).group(1)
    for name in ("[switch]$DryRun", "[switch]$RemoveVenv", "[switch]$RemoveAddin",
                 "[string[]]$Workbook"):
        assert name in params
    assert re.search(r'\$setupArgs = @\("excel", "uninstall"\)', text)
    assert re.search(r'if \(\$DryRun\) \{ \$setupArgs \+= "--dry-run" \}', text)
    assert '@("--workbook", $book)' in text and '@("--user")' in text
    code = code_of(text)
    assert "xlwings addin" not in code and "xlwings.exe" not in code.lower()
    assert re.search(r'\$addinArgs = @\("excel", "addin", "remove"\)', code)
    assert 'if ($RemoveAddin) { $addinArgs += "--replace" }' in code
    assert passed_options(code, "$addinArgs") == {"--replace", "--dry-run"} <= addin_options()
    # the settings are restored first (the add-in step reads the user's UDF modules)
    assert code.index('@("excel", "uninstall")') < code.index('@("excel", "addin", "remove")')
    calls = [m.start() for m in re.finditer(r"^\s*Remove-Venv\s*$", code, re.M)]
    assert len(calls) == 2 and code.index('@("excel", "addin", "remove")') < calls[1]
    # the one earlier call: a folder with no xlnapkin in it (a failed install), where nothing
    # else can be undone
    assert calls[0] < code.index('@("excel", "uninstall")')
    assert "if (-not $runs -and $RemoveVenv" in code[calls[0] - 400:calls[0]]
    # "working": xlnapkin.exe that starts (a venv whose Python was uninstalled can be deleted)
    assert code.index("$runs = Test-Xlnapkin") < calls[0]
    assert "try { & $XlnapkinExe --version *> $null } catch { return $false }" in code
    # an older environment without the command leaves the add-in and goes on (to -RemoveVenv)
    assert "predates 'xlnapkin excel addin'" in code
    # "a.xlsm,b.xlsm" is one string under -File: split before use, unless the whole string
    # names a file (a folder "Q1, 2025")
    assert text.index('if ($whole) { $_ } else { $_ -split "," }') < \
        text.index("foreach ($book in $Workbook)")
    # a broken environment is not deleted while settings it changed are left (nothing could
    # put them back after)
    assert code.index("$changed.Count -gt 0) {") < calls[0]
    assert "Remove-Item -LiteralPath $VenvDir -Recurse -Force" in text
    passed = passed_options(text) | set(re.findall(r'@\("(--[a-z-]+)"', text))
    assert passed == {"--dry-run", "--workbook", "--recorded", "--user"}
    assert passed <= options_of("uninstall")
    # the recorded folders are undone before the environment (and the tool) can be deleted
    assert code.index('@("--recorded")') < calls[1] and code.count("Remove-Item -LiteralPath "
                                                                   "$VenvDir") == 1
    assert '$ErrorActionPreference = "Stop"' in text


def test_install_ps1_matches_an_addin_version_and_installs_from_a_wheelhouse_when_asked():
    text = ps1("install.ps1")
    params = re.search(r"param\((.*?)\n\)", text, re.S).group(1)
    assert '[string]$XlwingsVersion = ""' in params and '[string]$FindLinks = ""' in params
    code = code_of(text)
    # pip gets xlwings==X beside the requirement (one resolution: a version xlnapkin cannot use
    # fails there), and --no-index only with a folder of wheels
    assert 'if ($XlwingsVersion) { $pipArgs += "xlwings==$XlwingsVersion" }' in code
    assert ("$links = (Resolve-Path -LiteralPath $FindLinks).ProviderPath.TrimEnd('\\', '/')"
            in code)
    assert '$pipArgs += @("--no-index", "--find-links", $links)' in code
    # no trailing separator, which Windows PowerShell would pass with a quote (a review); a
    # drive's root keeps one as "C:\."
    assert "if ($links -match '^[A-Za-z]:$') { $links += '\\.' }" in code
    assert code.count("--no-index") == 1
    assert "Invoke-Checked $VenvPython $pipArgs" in code
    # the add-in step's message names -XlwingsVersion: the script must take it
    assert "-XlwingsVersion" in es._foreign_addin(Path("x"), b"", b"", None).message
    # a failed add-in step (another project's add-in of another version) stops the script
    # before any success is printed
    assert 'Invoke-Checked $XlnapkinExe $addinArgs "xlnapkin excel addin install"' in code
    assert code.index("Invoke-Checked $XlnapkinExe $addinArgs") < code.index(
        '"xlnapkin is installed for Excel."')


def test_both_scripts_find_the_environment_through_one_record():
    """install.ps1 writes the environment's folder where uninstall.ps1 reads it, so an install
    with -VenvDir is undone; without xlnapkin uninstall undoes nothing and fails."""
    relative = es.venv_record(Path("HOME")).relative_to("HOME")
    assert relative == Path(".xlnapkin") / "venv.txt"
    record = f'$VenvRecord = Join-Path $env:USERPROFILE "{PureWindowsPath(relative)}"'
    install, uninstall = code_of(ps1("install.ps1")), code_of(ps1("uninstall.ps1"))
    reader = re.search(r"function Get-RecordedVenv \{.*?\n\}", install, re.S).group(0)
    for code in (install, uninstall):
        assert record in code and reader in code
        assert code.index("$RecordedVenv = Get-RecordedVenv") < code.index(
            "$XlnapkinExe = Join-Path $VenvDir")
        assert "GetUnresolvedProviderPathFromPSPath($VenvDir)" in code
    # install: written once pip has put xlnapkin there, before the add-in step can stop it
    write = install.index("[System.IO.File]::WriteAllText($VenvRecord, $VenvDir")
    assert install.index("Invoke-Checked $VenvPython $pipArgs") < write < install.index(
        "$addinArgs = @(")
    # an explicit -VenvDir wins; the record next; the default last
    assert install.index("if (-not $VenvDir) { $VenvDir = $RecordedVenv }") < install.index(
        'if (-not $VenvDir) { $VenvDir = Join-Path $StateDir "venv" }')
    assert re.search(r"if \(-not \$VenvDir -and \$RecordedVenv\) \{ \$VenvDir = \$RecordedVenv",
                     uninstall)
    # install: a wheel rebuilt at the installed version goes in over it (pip says "already
    # installed" and keeps the old one otherwise; a review)
    assert '"--force-reinstall", "--no-deps", $requirement.Substring(' in install
    over = install.index('Invoke-Checked $VenvPython $overArgs')
    assert install.index("Invoke-Checked $VenvPython $pipArgs") < over < write
    # uninstall: no environment at all (run twice, say) is nothing to undo and no failure
    # (deployment tools read the exit code); one whose xlnapkin does not start is a failure
    gone = uninstall.index("if (-not $runs -and -not (Test-Path -LiteralPath $VenvDir) -and "
                           "@($records).Count -eq 0) {")
    assert "exit 0" in uninstall[gone:gone + 500]
    # ... and only where nothing xlnapkin records is left: the files it writes, by name
    home = Path("HOME")
    for path in (es.addin_record(home), es.workbook_record(home),
                 es.user_config(home).path.with_name("xlwings.conf" + es.STATE_SUFFIX)):
        relative = PureWindowsPath(path.relative_to(home))
        assert f'(Join-Path $env:USERPROFILE "{relative}")' in uninstall, relative
    assert "$VenvRecord) | Where-Object { Test-Path -LiteralPath $_ }" in uninstall
    # uninstall: no xlnapkin there, nothing undone, exit 1 (the catch), before any step
    missing = uninstall.index("if (-not $runs) {")
    assert gone < missing
    assert "so there is nothing to undo with it." in uninstall
    assert "throw $why" in uninstall[missing:missing + 700]
    assert missing < uninstall.index('Write-Step "Restoring your xlwings settings')
    assert "exit 1" in uninstall[uninstall.index("} catch {"):]
    # -RemoveVenv also removes the record of that environment
    assert "if ($RecordedVenv -eq $VenvDir) { Remove-Item -LiteralPath $VenvRecord -Force }" \
        in uninstall


def test_install_bat_runs_the_ps1_with_bypass():
    text = (INSTALLER / "install.bat").read_bytes().decode("ascii")
    # "%~dpn0.ps1": the script named like the launcher (install.ps1; uninstall.ps1 for the
    # release's uninstall.bat, the same file)
    assert re.search(r'powershell(\.exe)? .*-ExecutionPolicy Bypass -File "%~dpn0\.ps1" %\*',
                     text)
    assert "\r\n" in text  # cmd.exe wants CRLF
    # Opened from a zip's view, only the .bat is extracted: checked before PowerShell runs.
    assert text.index('if exist "%~dpn0.ps1" goto run') < text.index("powershell")
    # ... and says so outside a parenthesised block, which "install (1).bat" would close early
    assert not re.search(r"\([^)]*%~n", text)
    # The double-click test uses no unquoted %CMDCMDLINE% (a folder named "R&D" split it).
    assert 'set "XLNAPKIN_CMD=%CMDCMDLINE:"=%"' in text
    assert not re.search(r"(?m)^[^\r\n]*[^\"=]%CMDCMDLINE%", text)
    # A deployment tool's `cmd /c install.bat` looks like a double-click; XLNAPKIN_NO_PAUSE
    # skips both pauses, with the script's exit code kept (a review)
    lines = text.splitlines()
    assert [i for i, line in enumerate(lines) if "pause" in line.split()] == [
        i for i, line in enumerate(lines) if line.startswith("if not defined XLNAPKIN_NO_PAUSE")
        or "XLNAPKIN_CMD" in line and line.endswith(" pause")]
    assert text.index("if defined XLNAPKIN_NO_PAUSE exit /b %XLNAPKIN_RC%") < text.index(
        "setlocal EnableDelayedExpansion")


def test_powershell_scripts_are_ascii():
    # PowerShell 5.1 reads a file without a byte-order mark in the ANSI code page; that they
    # parse is tests/test_installer_scripts.py's (tree-sitter's grammar, not a brace count).
    for name in ("install.ps1", "uninstall.ps1"):
        assert ps1(name).isascii()
