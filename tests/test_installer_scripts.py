"""The Windows installer scripts, read statically (no PowerShell here to run them; see
_powershell.py for what the check covers and why)."""

from __future__ import annotations

import re

import pytest

from _powershell import check
from conftest import REPO

SCRIPTS = ("install.ps1", "uninstall.ps1")


def _script(name: str) -> bytes:
    return (REPO / "installer" / name).read_bytes()


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_script_parses_and_sets_every_variable_and_command_it_uses(name):
    found = check(_script(name))
    assert found.problems() == []
    assert found.parameters   # the param() block was read


# Slips of a character or two in the real install.ps1, each of which PowerShell reports only
# when that line runs on a user's PC. The first .Count slip was in both scripts until this check
# (it stopped every install on a PC where Excel was not running).
SLIPS = [
    ("$VenvRecord -PathType Leaf", "$VenvRecrd -PathType Leaf", "unset_variables",
     "$venvrecrd is read but never set"),
    ("$RecordedVenv = Get-RecordedVenv", "$RecordedVenv = Get-RecordVenv", "unknown_commands",
     "no command 'get-recordvenv'"),
    ('$found = Test-Python $Python @()', '$found = Test-Python($Python, @())', "bad_calls",
     "test-python(a, b) passes one array"),
    ('$found = Test-Python $Python @()', '$found = Test-Python $Python @() 3', "bad_calls",
     "test-python takes 2 arguments, given 3"),
    ('Write-Note "skipped: no', 'Write-Note -Txt "skipped: no', "bad_calls",
     "write-note has no parameter -txt"),
    ('if ($wheels.Count -gt 1) {', 'if ($wheels.Count -gt 1 {', "unreadable", "cannot parse"),
    ("if (@(Get-OwnExcel).Count -gt 0)", "if ((Get-OwnExcel).Count -gt 0)", "scalar_counts",
     "(Get-OwnExcel).Count fails under strict mode"),
    ("$wheels = @(Get-ChildItem", "$wheels = (Get-ChildItem", "scalar_counts",
     "$wheels.Count fails under strict mode"),
    ('"Give -Workbook or -User, not both."', '"Give -Workbook or -User, not both.',
     "unreadable", "line"),
]


@pytest.mark.parametrize("old, new, kind, words", SLIPS, ids=[s[1][:30] for s in SLIPS])
def test_the_check_finds_a_slip_in_the_real_script(old, new, kind, words):
    text = _script("install.ps1").decode("ascii")
    assert text.count(old) == 1
    found = check(text.replace(old, new).encode("ascii"))
    assert any(words in line for line in getattr(found, kind)), vars(found)


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_parameter_has_its_help_and_each_help_entry_a_parameter(name):
    text = _script(name).decode("ascii")
    helped = [p.lower() for p in re.findall(r"^\.PARAMETER (\w+)", text, re.M)]
    assert sorted(helped) == sorted(check(text.encode("ascii")).parameters)


# A script's name followed by flags, up to a bracket or quote; or "-Flag (install.ps1)".
AFTER = re.compile(r"\b(install|uninstall)\.(?:ps1|bat)\b([^(;|`\"')\n]*)")
BEFORE = re.compile(r"(?<![\w-])-([A-Za-z]\w*) \((install|uninstall)\.ps1\)")


def _mentions():
    files = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
             REPO / "installer" / "README.md", REPO / "installer" / "install.bat",
             *[REPO / "installer" / s for s in SCRIPTS], *sorted((REPO / "xlnapkin").glob("*.py"))]
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.relative_to(REPO).as_posix()}:{number}"
            for match in AFTER.finditer(line):
                for flag in re.findall(r"(?<![\w-])-([A-Za-z]\w*)", match.group(2)):
                    yield where, match.group(1), flag
            for match in BEFORE.finditer(line):
                yield where, match.group(2), match.group(1)


def test_every_flag_the_docs_and_messages_give_a_script_is_one_of_its_parameters():
    parameters = {name.split(".")[0]: set(check(_script(name)).parameters) for name in SCRIPTS}
    mentions = list(_mentions())
    assert len(mentions) > 30   # the docs do give flags: the scan reads them
    assert {flag.lower() for _, _, flag in mentions} >= {"workbook", "findlinks", "removevenv",
                                                         "replaceaddin", "xlwingsversion"}
    wrong = [f"{where}: {script} has no -{flag}" for where, script, flag in mentions
             if flag.lower() not in parameters[script]]
    assert wrong == []


def _function(text: str, name: str) -> str:
    return re.search(rf"function {name}\b.*?\n\}}", text, re.S).group(0)


def test_the_scripts_guard_what_they_delete_and_the_paths_they_hand_on():
    # A review (2026-12-03, seventh session) read both scripts against Windows PowerShell 5.1:
    install = _script("install.ps1").decode("ascii")
    uninstall = _script("uninstall.ps1").decode("ascii")
    for text in (install, uninstall):
        # no positional parameters: in uninstall.ps1 "-Workbook a.xlsm b.xlsm" bound b.xlsm to
        # -VenvDir, and -RemoveVenv then deleted that workbook
        assert "[CmdletBinding(PositionalBinding = $false)]" in text
        # a program's exit code decides, not its stderr (which PowerShell ISE makes errors)
        assert '$ErrorActionPreference = "Continue"' in _function(text, "Invoke-Checked")
        # Resolve-Path's .Path of a network share is "Microsoft.PowerShell.Core\FileSystem::
        # \\server\...", which pip cannot read
        assert not re.search(r"Resolve-Path[^)]*\)\.Path\b", text)
    # -RemoveVenv deletes only a Python environment, whatever -VenvDir names ...
    remove = _function(uninstall, "Remove-Venv")
    guard = remove.index('Test-Path -LiteralPath (Join-Path $VenvDir "pyvenv.cfg") -PathType Leaf')
    assert guard < remove.index("throw") < remove.index("Remove-Item")
    # ... and install.ps1 refuses to make one in a folder that holds other things
    refuse = install.index("already holds other files and is not a Python environment")
    assert install.index('(Join-Path $VenvDir "pyvenv.cfg")') < refuse < install.index(
        '-m", "venv"')
    # a pip requirement with characters no path may hold is not a Test-Path error
    assert "try { $isPath = Test-Path -LiteralPath $Src } catch { $isPath = $false }" in install


def test_the_checkout_install_reads_our_own_project_name():
    # install.ps1 installs the checkout around installer\ only if its pyproject.toml names
    # xlnapkin (a release folder unpacked in another project must not install that one).
    text = _script("install.ps1").decode("ascii")
    found = re.search(r"Select-String -LiteralPath \$project -Pattern '([^']+)' -Quiet", text)
    assert found, "the name check is gone from install.ps1"
    pattern = re.compile(found.group(1), re.MULTILINE)
    assert pattern.search((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert not pattern.search('[project]\nname = "someone-else"\n')
