"""Tests for xlnapkin.excel_setup: the xlwings config file, the add-in step, Lite files, the CLI
and the Windows installer scripts, all against a temporary home folder (no Excel needed)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

import xlnapkin
from xlnapkin import excel_setup as es
from xlnapkin.errors import NapkinError

ROOT = Path(__file__).resolve().parents[1]
INSTALLER = ROOT / "installer"
NOW = datetime(2024, 5, 6, 7, 8, 9)
PY = r"C:\Users\ann\AppData\Local\xlnapkin\venv\Scripts\pythonw.exe"

# A user's existing config: other keys, another UDF module, an old interpreter, CRLF endings.
EXISTING = (
    b'"CONDA PATH","C:\\conda"\r\n'
    b'"UDF MODULES","mymod;other.pkg"\r\n'
    b'"SHOW CONSOLE","True"\r\n'
    b'"INTERPRETER_WIN","C:\\Python311\\pythonw.exe"\r\n'
    b'"LICENSE_KEY","noncommercial"\r\n'
)


def conf(home, platform="win32"):
    return es.config_path(home, platform)


def listing(home):
    """Every file under home with its bytes: to show that nothing was written."""
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


# --- paths ---------------------------------------------------------------------------------------


def test_paths_per_platform(tmp_path):
    assert conf(tmp_path, "win32") == tmp_path / ".xlwings" / "xlwings.conf"
    assert conf(tmp_path, "darwin") == (tmp_path / "Library" / "Containers"
                                        / "com.microsoft.Excel" / "Data" / "xlwings.conf")
    assert conf(tmp_path, "linux") == tmp_path / ".xlwings" / "xlwings.conf"
    assert es.state_path(tmp_path, "win32").name == "xlwings.conf.xlnapkin-state.json"
    assert es.interpreter_key("win32") == "INTERPRETER_WIN"
    assert es.interpreter_key("darwin") == "INTERPRETER_MAC"
    assert es.xlstart_candidates(tmp_path, "linux") == []
    assert es.xlstart_candidates(tmp_path, "win32")[-1] == (
        tmp_path / "AppData" / "Roaming" / "Microsoft" / "Excel" / "XLSTART")


# --- install on a fresh home ---------------------------------------------------------------------


def test_install_fresh_home(tmp_path):
    result = es.install(tmp_path, PY, platform="win32", now=NOW)
    c = conf(tmp_path)
    assert c.read_bytes() == (b'"UDF MODULES","xlnapkin.udfs"\r\n'
                              b'"INTERPRETER_WIN","' + PY.encode() + b'"\r\n')
    assert backups(tmp_path) == []
    state = json.loads(es.state_path(tmp_path, "win32").read_text())
    assert state["created_file"] is True and state["backup"] is None
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
        f"  record the changes in {es.state_path(tmp_path, 'win32')}",
    ])


def test_install_fresh_then_uninstall_leaves_home_empty(tmp_path):
    es.install(tmp_path, PY, platform="win32", now=NOW)
    result = es.uninstall(tmp_path, platform="win32")
    assert listing(tmp_path) == {}
    assert not (tmp_path / ".xlwings").exists()  # the folder install created goes too
    assert f"delete {conf(tmp_path)} (it did not exist before install)" in result.steps


# --- install over an existing config -------------------------------------------------------------


def test_install_over_existing_config_keeps_other_keys_and_restores_exactly(tmp_path):
    c = write_conf(tmp_path, EXISTING)
    result = es.install(tmp_path, PY, platform="win32", now=NOW)

    assert c.read_bytes() == (
        b'"CONDA PATH","C:\\conda"\r\n'
        b'"UDF MODULES","mymod;other.pkg;xlnapkin.udfs"\r\n'
        b'"SHOW CONSOLE","True"\r\n'
        b'"INTERPRETER_WIN","' + PY.encode() + b'"\r\n'
        b'"LICENSE_KEY","noncommercial"\r\n')
    backup = c.with_name("xlwings.conf.xlnapkin-backup-20240506-070809")
    assert backups(tmp_path) == [backup]
    assert backup.read_bytes() == EXISTING
    assert result.backup_path == backup
    assert result.steps[0] == f"back up {c} to {backup}"
    assert result.changes == (
        es.ConfigChange("UDF MODULES", "mymod;other.pkg", "mymod;other.pkg;xlnapkin.udfs"),
        es.ConfigChange("INTERPRETER_WIN", r"C:\Python311\pythonw.exe", PY))

    undo = es.uninstall(tmp_path, platform="win32")
    assert c.read_bytes() == EXISTING
    assert listing(tmp_path) == {".xlwings/xlwings.conf": EXISTING}  # backup and state gone
    assert undo.steps == (f"restore {c} from {backup}", f"delete {backup}",
                          f"delete {es.state_path(tmp_path, 'win32')}")


def test_install_appends_missing_keys_keeping_odd_lines_and_lf_endings(tmp_path):
    # LF endings, no final newline, a blank line, a line that is not an entry, a byte that is not
    # valid in the file's encoding: all kept exactly.
    original = b'"SHOW CONSOLE","False"\n\n; my notes \x81\n"PYTHONPATH","C:\\code"'
    c = write_conf(tmp_path, original)
    es.install(tmp_path, PY, platform="win32", now=NOW)
    assert c.read_bytes() == (original + b'\n"UDF MODULES","xlnapkin.udfs"\n'
                              b'"INTERPRETER_WIN","' + PY.encode() + b'"\n')
    es.uninstall(tmp_path, platform="win32")
    assert c.read_bytes() == original


def test_install_edits_the_first_entry_of_a_key_the_one_xlwings_reads(tmp_path):
    original = b'"UDF MODULES","a"\r\n"UDF MODULES","b"\r\n'
    c = write_conf(tmp_path, original)
    es.install(tmp_path, PY, platform="win32", now=NOW)
    assert c.read_bytes().startswith(b'"UDF MODULES","a;xlnapkin.udfs"\r\n"UDF MODULES","b"\r\n')


def test_install_fills_an_empty_udf_modules_and_keeps_one_already_listing_xlnapkin(tmp_path):
    c = write_conf(tmp_path, b'"UDF MODULES",""\r\n')
    es.install(tmp_path, PY, platform="win32", now=NOW)
    assert c.read_bytes().startswith(b'"UDF MODULES","xlnapkin.udfs"\r\n')

    other = tmp_path / "other"
    c2 = write_conf(other, b'"UDF MODULES","xlnapkin.udfs; mine"\r\n')
    result = es.install(other, PY, platform="win32", now=NOW)
    assert [ch.key for ch in result.changes] == ["INTERPRETER_WIN"]
    assert c2.read_bytes().startswith(b'"UDF MODULES","xlnapkin.udfs; mine"\r\n')


def test_unquoted_entries_are_understood(tmp_path):
    c = write_conf(tmp_path, b'UDF MODULES , mymod\r\n')
    es.install(tmp_path, PY, platform="win32", now=NOW)
    assert c.read_bytes().startswith(b'"UDF MODULES","mymod;xlnapkin.udfs"\r\n')


# --- idempotence ---------------------------------------------------------------------------------


def test_second_install_changes_nothing_and_writes_no_second_backup(tmp_path):
    write_conf(tmp_path, EXISTING)
    es.install(tmp_path, PY, platform="win32", now=NOW)
    before = listing(tmp_path)
    again = es.install(tmp_path, PY, platform="win32", now=datetime(2024, 5, 7))
    assert not again.changed and again.changes == ()
    assert listing(tmp_path) == before
    assert len(backups(tmp_path)) == 1
    assert again.describe() == (
        f"xlnapkin excel install\nconfig: {conf(tmp_path)}\n  nothing to change")


def test_reinstall_with_another_python_keeps_the_original_backup(tmp_path):
    c = write_conf(tmp_path, EXISTING)
    es.install(tmp_path, PY, platform="win32", now=NOW)
    result = es.install(tmp_path, r"D:\py\pythonw.exe", platform="win32",
                        now=datetime(2024, 6, 1))
    assert result.changes == (es.ConfigChange("INTERPRETER_WIN", PY, r"D:\py\pythonw.exe"),)
    assert len(backups(tmp_path)) == 1
    assert not any(s.startswith("back up") for s in result.steps)
    es.uninstall(tmp_path, platform="win32")
    assert c.read_bytes() == EXISTING


def test_windows_paths_compare_case_insensitively(tmp_path):
    es.install(tmp_path, PY, platform="win32", now=NOW)
    assert not es.install(tmp_path, PY.upper(), platform="win32", now=NOW).changed


# --- dry run -------------------------------------------------------------------------------------


def test_dry_run_writes_nothing_and_describes_the_change_exactly(tmp_path):
    c = write_conf(tmp_path, EXISTING)
    before = listing(tmp_path)
    result = es.install(tmp_path, PY, dry_run=True, platform="win32", now=NOW)
    assert listing(tmp_path) == before
    backup = c.with_name("xlwings.conf.xlnapkin-backup-20240506-070809")
    assert result.describe() == "\n".join([
        "xlnapkin excel install (dry run: nothing written)",
        f"config: {c}",
        f"  back up {c} to {backup}",
        '  set "UDF MODULES": "mymod;other.pkg" -> "mymod;other.pkg;xlnapkin.udfs"',
        rf'  set "INTERPRETER_WIN": "C:\Python311\pythonw.exe" -> "{PY}"',
        f"  record the changes in {es.state_path(tmp_path, 'win32')}",
    ])
    # The real run does what the dry run said.
    assert es.install(tmp_path, PY, platform="win32", now=NOW).describe() == \
        result.describe().replace(" (dry run: nothing written)", "")


def test_dry_run_on_a_fresh_home_creates_no_folder(tmp_path):
    es.install(tmp_path, PY, dry_run=True, platform="win32", now=NOW)
    assert list(tmp_path.iterdir()) == []


def test_uninstall_dry_run_writes_nothing(tmp_path):
    write_conf(tmp_path, EXISTING)
    es.install(tmp_path, PY, platform="win32", now=NOW)
    before = listing(tmp_path)
    result = es.uninstall(tmp_path, dry_run=True, platform="win32")
    assert listing(tmp_path) == before
    assert result.describe().startswith("xlnapkin excel uninstall (dry run: nothing written)")
    assert result.changed


# --- uninstall -----------------------------------------------------------------------------------


def test_uninstall_when_never_installed_is_a_no_op(tmp_path):
    assert not es.uninstall(tmp_path, platform="win32").changed
    assert listing(tmp_path) == {}
    write_conf(tmp_path, EXISTING)
    result = es.uninstall(tmp_path, platform="win32")
    assert not result.changed
    assert listing(tmp_path) == {".xlwings/xlwings.conf": EXISTING}
    assert result.describe() == (
        f"xlnapkin excel uninstall\nconfig: {conf(tmp_path)}\n  nothing to undo")


def test_uninstall_twice_is_a_no_op_the_second_time(tmp_path):
    write_conf(tmp_path, EXISTING)
    es.install(tmp_path, PY, platform="win32", now=NOW)
    es.uninstall(tmp_path, platform="win32")
    after = listing(tmp_path)
    assert not es.uninstall(tmp_path, platform="win32").changed
    assert listing(tmp_path) == after


def test_uninstall_after_the_user_edited_the_config_reverses_only_xlnapkin(tmp_path):
    c = write_conf(tmp_path, EXISTING)
    es.install(tmp_path, PY, platform="win32", now=NOW)
    # The user (or the xlwings ribbon) changes another setting and adds a module.
    edited = c.read_bytes().replace(b'"SHOW CONSOLE","True"', b'"SHOW CONSOLE","False"')
    edited = edited.replace(b"other.pkg;xlnapkin.udfs", b"other.pkg;xlnapkin.udfs;new.mod")
    c.write_bytes(edited)

    result = es.uninstall(tmp_path, platform="win32")
    assert c.read_bytes() == (
        b'"CONDA PATH","C:\\conda"\r\n'
        b'"UDF MODULES","mymod;other.pkg;new.mod"\r\n'
        b'"SHOW CONSOLE","False"\r\n'
        b'"INTERPRETER_WIN","C:\\Python311\\pythonw.exe"\r\n'
        b'"LICENSE_KEY","noncommercial"\r\n')
    assert len(backups(tmp_path)) == 1  # kept: it is the only copy of the original
    assert not es.state_path(tmp_path, "win32").exists()
    assert any("kept" in note for note in result.notes)


def test_uninstall_leaves_an_interpreter_the_user_changed_since(tmp_path):
    c = write_conf(tmp_path, EXISTING)
    es.install(tmp_path, PY, platform="win32", now=NOW)
    c.write_bytes(c.read_bytes().replace(PY.encode(), rb"E:\mine\pythonw.exe"))
    result = es.uninstall(tmp_path, platform="win32")
    assert b'"INTERPRETER_WIN","E:\\mine\\pythonw.exe"' in c.read_bytes()
    assert b"xlnapkin.udfs" not in c.read_bytes()
    assert '"INTERPRETER_WIN" was changed after install; left as "E:\\mine\\pythonw.exe"' \
        in result.notes


def test_uninstall_removes_lines_it_added_when_the_file_was_edited(tmp_path):
    c = write_conf(tmp_path, b'"SHOW CONSOLE","True"\r\n')
    es.install(tmp_path, PY, platform="win32", now=NOW)
    c.write_bytes(c.read_bytes() + b'"DEBUG UDFS","False"\r\n')
    es.uninstall(tmp_path, platform="win32")
    assert c.read_bytes() == b'"SHOW CONSOLE","True"\r\n"DEBUG UDFS","False"\r\n'


# --- status --------------------------------------------------------------------------------------


def test_status_before_and_after(tmp_path):
    before = es.status(tmp_path, platform="win32")
    assert not before.configured and not before.config_exists and not before.recorded
    assert before.interpreter is None and before.addin_present is False
    assert "configured: no" in before.describe()

    write_conf(tmp_path, EXISTING)
    es.install(tmp_path, PY, platform="win32", now=NOW)
    after = es.status(tmp_path, platform="win32")
    assert after.configured and after.recorded
    assert after.udf_modules == "mymod;other.pkg;xlnapkin.udfs"
    assert after.interpreter == PY
    assert after.backup_path == backups(tmp_path)[0]
    text = after.describe()
    assert "configured: yes" in text
    assert f'INTERPRETER_WIN: "{PY}"' in text
    assert "installed by xlnapkin: yes (backup " in text
    assert "xlwings add-in: not found" in text

    xlstart = tmp_path / "AppData" / "Roaming" / "Microsoft" / "Excel" / "XLSTART"
    xlstart.mkdir(parents=True)
    (xlstart / "xlwings.xlam").write_bytes(b"PK")
    addin = es.status(tmp_path, platform="win32")
    assert addin.addin_present and addin.addin_path == xlstart / "xlwings.xlam"

    es.uninstall(tmp_path, platform="win32")
    assert not es.status(tmp_path, platform="win32").configured


def test_status_on_linux_says_the_add_in_does_not_apply(tmp_path):
    st = es.status(tmp_path, platform="linux")
    assert st.addin_present is None and st.addin_path is None
    assert "xlwings add-in: not applicable on linux" in st.describe()


def test_status_checks_the_interpreter_only_on_its_own_platform(tmp_path):
    here = sys.platform
    es.install(tmp_path, str(tmp_path / "no-such-python"), platform=here, now=NOW)
    assert es.status(tmp_path, platform=here).interpreter_found is False
    assert "(no such file on this machine)" in es.status(tmp_path, platform=here).describe()
    es.install(tmp_path, sys.executable, platform=here, now=NOW)
    assert es.status(tmp_path, platform=here).interpreter_found is True
    other = "darwin" if here == "win32" else "win32"
    es.install(tmp_path / "other", PY, platform=other, now=NOW)
    assert es.status(tmp_path / "other", platform=other).interpreter_found is None


# --- macOS ---------------------------------------------------------------------------------------


def test_macos_layout(tmp_path):
    py = "/Users/ann/.venvs/napkin/bin/python"
    result = es.install(tmp_path, py, platform="darwin", now=NOW)
    c = conf(tmp_path, "darwin")
    assert c.read_bytes() == b'"UDF MODULES","xlnapkin.udfs"\n"INTERPRETER_MAC","' + \
        py.encode() + b'"\n'
    assert any("xlwings Lite" in note for note in result.notes)
    st = es.status(tmp_path, platform="darwin")
    assert st.configured and st.interpreter_key == "INTERPRETER_MAC"
    assert "UBF8T346G9.Office" in str(st.addin_path)
    es.uninstall(tmp_path, platform="darwin")
    assert listing(tmp_path) == {}


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
    es.install(tmp_path, py, platform="win32", now=NOW)
    assert expected in conf(tmp_path).read_bytes()  # the ANSI code page, as VBA reads it
    assert es.status(tmp_path, platform="win32").interpreter == py


@pytest.mark.parametrize("bad, words", [
    ("", "must not be empty"),
    ("   ", "must not be empty"),
    ('C:\\a "b"\\pythonw.exe', "cannot contain quotes or line breaks"),
    ("C:\\a\nb", "cannot contain quotes or line breaks"),
    ("C:\\Users\\李\\pythonw.exe", "write them as variables"),
])
def test_bad_interpreter_paths_raise_a_napkin_error(tmp_path, bad, words):
    with pytest.raises(es.ExcelSetupError, match=re.escape(words)) as info:
        es.install(tmp_path, bad, platform="win32", now=NOW)
    assert isinstance(info.value, NapkinError)
    assert listing(tmp_path) == {}


def test_unreadable_state_file_raises_a_napkin_error(tmp_path):
    state = es.state_path(tmp_path, "win32")
    state.parent.mkdir(parents=True)
    state.write_text("{not json")
    with pytest.raises(es.ExcelSetupError, match="is not an xlnapkin state file"):
        es.uninstall(tmp_path, platform="win32")


def test_backup_names_do_not_collide(tmp_path):
    c = write_conf(tmp_path, EXISTING)
    taken = c.with_name("xlwings.conf.xlnapkin-backup-20240506-070809")
    taken.write_bytes(b"someone else's")
    result = es.install(tmp_path, PY, platform="win32", now=NOW)
    assert result.backup_path.name == "xlwings.conf.xlnapkin-backup-20240506-070809-1"
    assert taken.read_bytes() == b"someone else's"
    es.uninstall(tmp_path, platform="win32")
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


def test_addin_step_is_skipped_off_windows():
    def never(*a, **k):
        raise AssertionError("must not run")

    result = es.xlwings_addin("install", platform="linux", runner=never)
    assert not result.ran and result.ok
    assert "skipped `xlwings addin install`" in result.describe()
    assert es.xlwings_addin("remove", platform="darwin", runner=never).ran is False


def test_addin_step_on_windows_runs_xlwings_addin(tmp_path):
    calls = []

    def runner(cmd, **kwargs):
        calls.append(cmd)
        return SimpleNamespace(returncode=0, stdout="Successfully installed the xlwings add-in!",
                               stderr="")

    scripts = tmp_path / "Scripts"
    scripts.mkdir()
    (scripts / "xlwings.exe").write_bytes(b"")
    result = es.xlwings_addin("install", platform="win32",
                              python_executable=str(scripts / "pythonw.exe"), runner=runner)
    assert calls == [[str(scripts / "xlwings.exe"), "addin", "install"]]
    assert result.ran and result.ok

    dry = es.xlwings_addin("remove", platform="win32", command=["xlwings", "addin", "remove"],
                           dry_run=True, runner=runner)
    assert not dry.ran and dry.describe() == "xlwings add-in: would run xlwings addin remove"
    assert len(calls) == 1


def test_addin_step_sees_xlwings_errors_despite_exit_code_0():
    def runner(cmd, **kwargs):  # xlwings prints its errors and still exits 0
        return SimpleNamespace(returncode=0, stderr="",
                               stdout="Error: Failed to install the add-in: If Excel is running")

    result = es.xlwings_addin("install", platform="win32", command=["xlwings", "addin", "install"],
                              runner=runner)
    assert result.ran and not result.ok
    assert "FAILED" in result.describe() and "Failed to install" in result.describe()


def test_addin_step_rejects_unknown_actions():
    with pytest.raises(es.ExcelSetupError):
        es.xlwings_addin("upgrade", platform="win32")


# --- xlwings Lite --------------------------------------------------------------------------------


def test_lite_files_content():
    files = es.lite_files("1.2.3")
    assert set(files) == {"main.py", "requirements.txt"}
    assert files["requirements.txt"] == "xlnapkin==1.2.3\n"
    assert "numpy" not in files["requirements.txt"] and "xlwings" not in files["requirements.txt"]
    main = files["main.py"]
    assert "from xlnapkin.udfs import *" in main
    compile(main, "main.py", "exec")
    code_lines = [ln for ln in main.splitlines() if ln.startswith(("import", "from"))]
    assert code_lines == ["from xlnapkin.udfs import *  # noqa: F401,F403  "
                          "(re-exports the Excel functions)"]  # nothing licence-gated
    with pytest.raises(es.ExcelSetupError):
        es.lite_files("1.0\nnumpy")


def test_write_lite_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "bundle"
    written = es.write_lite(out, "0.9.0")
    assert sorted(p.name for p in written) == ["main.py", "requirements.txt"]
    assert (out / "requirements.txt").read_text() == "xlnapkin==0.9.0\n"
    with pytest.raises(es.ExcelSetupError, match="already exists; use --force"):
        es.write_lite(out, "1.0.0")
    assert (out / "requirements.txt").read_text() == "xlnapkin==0.9.0\n"
    es.write_lite(out, "1.0.0", force=True)
    assert (out / "requirements.txt").read_text() == "xlnapkin==1.0.0\n"


def test_committed_lite_bundle_matches_lite_files():
    files = es.lite_files(xlnapkin.__version__)
    for name, text in files.items():
        assert (INSTALLER / "lite" / name).read_bytes() == text.encode("utf-8"), (
            f"installer/lite/{name} is stale: run `xlnapkin lite --out installer/lite --force`")


# --- command line --------------------------------------------------------------------------------


def make_parser():
    parser = argparse.ArgumentParser(prog="xlnapkin")
    sub = parser.add_subparsers(dest="command", required=True)
    es.register_cli(sub)
    return parser


def run_cli(*argv):
    args = make_parser().parse_args([str(a) for a in argv])
    return args.func(args)


def test_cli_parses_and_round_trips(tmp_path, capsys):
    parser = make_parser()
    args = parser.parse_args(["excel", "install", "--home", str(tmp_path), "--python", PY,
                              "--platform", "win32", "--dry-run"])
    assert (args.command, args.excel_command, args.home, args.python, args.dry_run,
            args.addin) == ("excel", "install", tmp_path, PY, True, False)
    args = parser.parse_args(["lite"])
    assert args.out == Path("xlnapkin-lite") and args.version == xlnapkin.__version__
    assert not args.force
    with pytest.raises(SystemExit):
        parser.parse_args(["excel"])  # a sub-command is required

    write_conf(tmp_path, EXISTING)
    common = ["--home", tmp_path, "--platform", "win32"]
    assert run_cli("excel", "install", "--python", PY, "--dry-run", *common) == 0
    assert "dry run: nothing written" in capsys.readouterr().out
    assert conf(tmp_path).read_bytes() == EXISTING

    assert run_cli("excel", "install", "--python", PY, *common) == 0
    out = capsys.readouterr().out
    assert '"mymod;other.pkg;xlnapkin.udfs"' in out and "Import Functions" in out
    assert run_cli("excel", "status", *common) == 0
    assert "configured: yes" in capsys.readouterr().out
    assert run_cli("excel", "uninstall", "--dry-run", *common) == 0
    assert run_cli("excel", "uninstall", *common) == 0
    assert conf(tmp_path).read_bytes() == EXISTING
    assert run_cli("excel", "status", *common) == 0
    assert "configured: no" in capsys.readouterr().out


def test_cli_addin_flag_off_windows_reports_skipped(tmp_path, capsys):
    assert run_cli("excel", "install", "--home", tmp_path, "--platform", "linux",
                   "--python", "/usr/bin/python3", "--addin") == 0
    assert "skipped `xlwings addin install`" in capsys.readouterr().out
    assert run_cli("excel", "uninstall", "--home", tmp_path, "--platform", "linux",
                   "--addin") == 0
    assert "skipped `xlwings addin remove`" in capsys.readouterr().out


def test_cli_errors_are_one_line_and_exit_1(tmp_path, capsys):
    assert run_cli("excel", "install", "--home", tmp_path, "--platform", "win32",
                   "--python", 'C:\\"x"') == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: python path cannot contain quotes") and err.count("\n") == 1


def test_cli_lite(tmp_path, capsys):
    out = tmp_path / "lite"
    assert run_cli("lite", "--out", out, "--version", "0.1.0") == 0
    assert (out / "requirements.txt").read_text() == "xlnapkin==0.1.0\n"
    assert "wrote" in capsys.readouterr().out
    assert run_cli("lite", "--out", out) == 1
    assert "use --force" in capsys.readouterr().err
    assert run_cli("lite", "--out", out, "--force") == 0


def test_every_command_has_help_and_an_example():
    parser = make_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    excel_sub = next(a for a in sub.choices["excel"]._actions
                     if isinstance(a, argparse._SubParsersAction))
    for name, p in [("excel", sub.choices["excel"]), ("lite", sub.choices["lite"]),
                    *excel_sub.choices.items()]:
        assert p.description, name
        assert "xlnapkin " in (p.epilog or ""), f"{name} has no example"
        for action in p._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help, (name, action.option_strings)
    assert {a.dest for a in sub._choices_actions} >= {"excel", "lite"}
    assert all(a.help for a in sub._choices_actions + excel_sub._choices_actions)


# --- the Windows scripts (they cannot run here: check what they call) ----------------------------


def ps1(name):
    return (INSTALLER / name).read_text(encoding="ascii")  # PowerShell 5.1 reads BOM-less as ANSI


def options_of(subcommand):
    """Options the CLI accepts for `xlnapkin excel <subcommand>`."""
    parser = make_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    excel_sub = next(a for a in sub.choices["excel"]._actions
                     if isinstance(a, argparse._SubParsersAction))
    return {o for a in excel_sub.choices[subcommand]._actions for o in a.option_strings}


def test_install_ps1_calls_the_right_commands():
    text = ps1("install.ps1")
    params = re.search(r"param\((.*?)\n\)", text, re.S).group(1)
    for name in ("$Source", "$DryRun", "$VenvDir", "$Python"):
        assert name in params
    assert "[switch]$DryRun" in params
    assert 'Join-Path $env:LOCALAPPDATA "xlnapkin"' in text and '"venv"' in text
    assert '@("py", @("-3"))' in text and '@("python", @())' in text  # py launcher first
    assert '[version]"3.11"' in text
    assert '"-m", "venv"' in text
    assert '"-m", "pip", "install"' in text and '"xlnapkin[excel]"' in text
    assert "Scripts\\pythonw.exe" in text
    # `xlnapkin excel install --python <pythonw>` (+ --dry-run), then `xlwings addin install`.
    setup = re.search(r'\$setupArgs = @\("excel", "install", "--python", \$VenvPythonW\)', text)
    assert setup
    assert re.search(r'if \(\$DryRun\) \{ \$setupArgs \+= "--dry-run" \}', text)
    assert text.index("$setupArgs = @(") < text.index("$XlwingsExe addin install")
    passed = {o for ln in text.splitlines() if "$setupArgs" in ln
              for o in re.findall(r'"(--[a-z-]+)"', ln)}
    assert passed == {"--python", "--dry-run"} and passed <= options_of("install")
    # Stops on errors, including a native command's exit code.
    assert '$ErrorActionPreference = "Stop"' in text
    assert "if ($LASTEXITCODE -ne 0) { throw" in text
    assert "exit 1" in text


def test_uninstall_ps1_calls_the_right_commands():
    text = ps1("uninstall.ps1")
    params = re.search(r"param\((.*?)\n\)", text, re.S).group(1)
    for name in ("[switch]$DryRun", "[switch]$RemoveVenv", "[switch]$RemoveAddin"):
        assert name in params
    assert re.search(r'\$setupArgs = @\("excel", "uninstall"\)', text)
    assert re.search(r'if \(\$DryRun\) \{ \$setupArgs \+= "--dry-run" \}', text)
    assert "$XlwingsExe addin remove" in text
    assert text.index('@("excel", "uninstall")') < text.index("$XlwingsExe addin remove")
    assert "Remove-Item -LiteralPath $VenvDir -Recurse -Force" in text
    passed = {o for ln in text.splitlines() if "$setupArgs" in ln
              for o in re.findall(r'"(--[a-z-]+)"', ln)}
    assert passed == {"--dry-run"} and passed <= options_of("uninstall")
    assert '$ErrorActionPreference = "Stop"' in text


def test_install_bat_runs_the_ps1_with_bypass():
    text = (INSTALLER / "install.bat").read_bytes().decode("ascii")
    assert re.search(r'powershell(\.exe)? .*-ExecutionPolicy Bypass -File "%~dp0install\.ps1" %\*',
                     text)
    assert "\r\n" in text  # cmd.exe wants CRLF


def test_powershell_scripts_are_ascii_with_balanced_braces():
    for name in ("install.ps1", "uninstall.ps1"):
        text = ps1(name)
        code = re.sub(r"<#.*?#>", "", text, flags=re.S)
        code = re.sub(r'"(?:`.|[^"`])*"', '""', code)  # drop string contents
        code = re.sub(r"'[^']*'", "''", code)
        code = re.sub(r"#.*", "", code)
        for o, c in ("{}", "()", "[]"):
            assert code.count(o) == code.count(c), (name, o)
