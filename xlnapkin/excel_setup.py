r"""Set Excel up to use xlnapkin: the classic xlwings config file, the add-in, and xlwings Lite.

Classic xlwings (Windows) reads per-user settings from a small text file of ``"KEY","value"``
lines: ``%USERPROFILE%\.xlwings\xlwings.conf`` on Windows and
``~/Library/Containers/com.microsoft.Excel/Data/xlwings.conf`` on macOS. Its add-in looks keys up
by exact, case-sensitive name and uses the first line that matches; values go through
``ExpandEnvironmentStrings``, so ``%LOCALAPPDATA%\...`` works in them. Two keys make Excel find
xlnapkin's functions:

* ``"UDF MODULES"``: ``;``-separated module names; ``xlnapkin.udfs`` is added to any the user has.
* ``"INTERPRETER_WIN"`` (``"INTERPRETER_MAC"`` on macOS): the Python that runs them.

:func:`install` changes only those two lines, keeps every other line byte for byte, backs the old
file up once (``xlwings.conf.xlnapkin-backup-YYYYmmdd-HHMMSS``) and records what it did in a state
file beside it (``xlwings.conf.xlnapkin-state.json``). :func:`uninstall` uses that record to put
back the pre-install file byte-identically, or, if someone edited the file since, to reverse only
xlnapkin's own changes. Both are idempotent and have a dry run. All functions take the home folder
and platform explicitly, so they run (and are tested) against a temporary home on any OS.

Copying the xlwings add-in into Excel's XLSTART folder needs Excel itself (xlwings starts it to ask
for the folder), so that step lives alone in :func:`xlwings_addin`, which shells out to
``xlwings addin install|remove`` on Windows and reports it skipped elsewhere.

For xlwings Lite (Windows, macOS, Excel on the web) nothing is installed locally: the user pastes
the two small texts from :func:`lite_files` into the Lite add-in's ``main.py`` and
``requirements.txt`` tabs (:func:`write_lite` saves them as files).

>>> files = lite_files("0.1.0")
>>> files["requirements.txt"]
'xlnapkin==0.1.0\n'
>>> "from xlnapkin.udfs import *" in files["main.py"]
True
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import locale
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .errors import NapkinError

__all__ = [
    "UDF_MODULE",
    "ExcelSetupError",
    "ConfigChange",
    "SetupResult",
    "SetupStatus",
    "AddinResult",
    "config_path",
    "state_path",
    "interpreter_key",
    "default_interpreter",
    "xlstart_candidates",
    "install",
    "uninstall",
    "status",
    "xlwings_addin",
    "lite_files",
    "write_lite",
    "register_cli",
]

UDF_MODULE = "xlnapkin.udfs"
UDF_MODULES_KEY = "UDF MODULES"
ADDIN_FILE = "xlwings.xlam"
STATE_SUFFIX = ".xlnapkin-state.json"
BACKUP_INFIX = ".xlnapkin-backup-"
_STATE_FORMAT = 1

# One line of the file, with its line ending, and one "KEY","value" entry (either field may be
# unquoted, as VBA's ``Input #`` allows; spaces around fields are ignored like ``Input #`` does).
_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_ENTRY_RE = re.compile(
    r'^[ \t]*(?:"(?P<qkey>[^"]*)"|(?P<key>[^",]*?))[ \t]*,'
    r'[ \t]*(?:"(?P<qvalue>[^"]*)"|(?P<value>[^",]*?))[ \t]*$'
)
_VERSION_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+!_-]*")


class ExcelSetupError(NapkinError):
    """Excel set-up that cannot go ahead as asked: a value the config cannot hold, an unreadable
    state file, files that would be overwritten."""


# --- where things are ----------------------------------------------------------------------------


def _is_mac(platform: str) -> bool:
    return platform == "darwin"


def config_path(home: Path, platform: str = sys.platform) -> Path:
    """The user's xlwings config file for ``platform`` under ``home``.

    >>> config_path(Path("/home/ann"), "win32").as_posix()
    '/home/ann/.xlwings/xlwings.conf'
    >>> config_path(Path("/Users/ann"), "darwin").as_posix()
    '/Users/ann/Library/Containers/com.microsoft.Excel/Data/xlwings.conf'
    """
    home = Path(home)
    if _is_mac(platform):
        # Excel on macOS is sandboxed: xlwings keeps its file inside Excel's container.
        return home / "Library" / "Containers" / "com.microsoft.Excel" / "Data" / "xlwings.conf"
    # Windows, and (like ``xlwings config create``) every other platform.
    return home / ".xlwings" / "xlwings.conf"


def state_path(home: Path, platform: str = sys.platform) -> Path:
    """The file in which :func:`install` records what it changed, beside the config file."""
    conf = config_path(home, platform)
    return conf.with_name(conf.name + STATE_SUFFIX)


def interpreter_key(platform: str = sys.platform) -> str:
    """``INTERPRETER_MAC`` on macOS, else ``INTERPRETER_WIN`` (like ``xlwings config create``)."""
    return "INTERPRETER_MAC" if _is_mac(platform) else "INTERPRETER_WIN"


def default_interpreter(platform: str = sys.platform, executable: str | None = None) -> str:
    """The Python to put in the config: this one, but ``pythonw.exe`` on Windows when it exists.

    ``pythonw.exe`` is the same interpreter without a console window, which is what Excel should
    start for the UDF server.
    """
    exe = executable or sys.executable
    if platform == "win32" and Path(exe).name.lower() == "python.exe":
        windowless = Path(exe).with_name("pythonw.exe")
        if windowless.is_file():
            return str(windowless)
    return exe


def xlstart_candidates(home: Path, platform: str = sys.platform) -> list[Path]:
    """Excel's per-user start-up folders where ``xlwings addin install`` puts the add-in.

    Empty where Excel does not run (Linux and others). On Windows the folder is
    ``%APPDATA%\\Microsoft\\Excel\\XLSTART``; when ``home`` is this machine's own home on Windows,
    ``%APPDATA%`` is taken from the environment (it may be redirected).
    """
    home = Path(home)
    if platform == "win32":
        found = [home / "AppData" / "Roaming" / "Microsoft" / "Excel" / "XLSTART"]
        appdata = os.environ.get("APPDATA")
        if sys.platform == "win32" and appdata and _same_path(home, Path.home()):
            own = Path(appdata) / "Microsoft" / "Excel" / "XLSTART"
            if not _same_path(own, found[0]):
                found.insert(0, own)
        return found
    if _is_mac(platform):
        office = home / "Library" / "Group Containers" / "UBF8T346G9.Office"
        return [office / "User Content" / "Startup" / "Excel",
                office / "User Content.localized" / "Startup.localized" / "Excel"]
    return []


def _same_path(a: Path, b: Path) -> bool:
    try:
        return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))
    except (OSError, ValueError):
        return False


def _encoding(platform: str) -> str:
    # Classic xlwings reads the file with VBA, which reads bytes in the Windows ANSI code page;
    # xlwings' own Python writes it in the locale encoding, which is that same code page.
    if platform == "win32":
        return locale.getencoding() if sys.platform == "win32" else "cp1252"
    return "utf-8"


# --- the config file -----------------------------------------------------------------------------


class _ConfigText:
    """The config file as lines, each kept exactly (body and line ending) unless changed."""

    def __init__(self, text: str, newline: str):
        self.lines = [_split_ending(chunk) for chunk in _LINE_RE.findall(text)]
        found = re.search(r"\r\n|\r|\n", text)
        self.newline = found.group(0) if found else newline

    def text(self) -> str:
        return "".join(body + end for body, end in self.lines)

    def find(self, key: str) -> int | None:
        """Index of the first line whose key is exactly ``key`` (the one xlwings uses)."""
        for i, (body, _) in enumerate(self.lines):
            entry = _parse_entry(body)
            if entry is not None and entry[0] == key:
                return i
        return None

    def get(self, key: str) -> str | None:
        i = self.find(key)
        return None if i is None else _parse_entry(self.lines[i][0])[1]

    def set_line(self, key: str, body: str) -> None:
        """Replace the first line of ``key`` with ``body``, or append ``body`` as a new line."""
        i = self.find(key)
        if i is not None:
            self.lines[i] = (body, self.lines[i][1])
            return
        if self.lines and not self.lines[-1][1]:
            last_body, _ = self.lines[-1]
            self.lines[-1] = (last_body, self.newline)
        self.lines.append((body, self.newline))

    def delete(self, key: str) -> None:
        i = self.find(key)
        if i is not None:
            del self.lines[i]

    def line(self, key: str) -> str | None:
        i = self.find(key)
        return None if i is None else self.lines[i][0]

    def is_blank(self) -> bool:
        return not self.text().strip()


def _split_ending(chunk: str) -> tuple[str, str]:
    body = chunk.rstrip("\r\n")
    return body, chunk[len(body):]


def _parse_entry(body: str) -> tuple[str, str] | None:
    m = _ENTRY_RE.match(body)
    if m is None:
        return None
    key = m.group("qkey") if m.group("qkey") is not None else m.group("key").strip()
    value = m.group("qvalue") if m.group("qvalue") is not None else m.group("value").strip()
    return key, value


def _entry_line(key: str, value: str) -> str:
    return f'"{key}","{value}"'


def _modules(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def _with_module(value: str | None) -> str:
    if value is None or not value.strip():
        return UDF_MODULE
    return value.rstrip().rstrip(";") + ";" + UDF_MODULE


def _without_module(value: str) -> str:
    return ";".join(part for part in value.split(";") if part.strip() != UDF_MODULE)


def _read_config(path: Path, platform: str) -> tuple[bytes | None, _ConfigText]:
    newline = "\r\n" if platform == "win32" else "\n"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, _ConfigText("", newline)
    except OSError as exc:
        raise ExcelSetupError(f"cannot read {path}: {exc.strerror or exc}") from None
    return raw, _ConfigText(raw.decode(_encoding(platform), "surrogateescape"), newline)


def _encode(doc: _ConfigText, platform: str) -> bytes:
    return doc.text().encode(_encoding(platform), "surrogateescape")


def _check_interpreter(value: str, platform: str) -> None:
    if not value.strip():
        raise ExcelSetupError("python path must not be empty")
    if any(ch in value for ch in '"\r\n'):
        raise ExcelSetupError(f"python path cannot contain quotes or line breaks, got {value!r}")
    encoding = _encoding(platform)
    try:
        value.encode(encoding)
    except UnicodeEncodeError:
        raise ExcelSetupError(
            f"python path {value!r} has characters that xlwings.conf ({encoding}) cannot hold; "
            r"write them as variables, e.g. %LOCALAPPDATA%\xlnapkin\venv\Scripts\pythonw.exe"
        ) from None


def _sha256(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


# --- the state file ------------------------------------------------------------------------------


def _read_state(path: Path) -> dict | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ExcelSetupError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        state = json.loads(text)
        if state.get("format") != _STATE_FORMAT or not isinstance(state.get("changes"), list):
            raise ValueError("unknown layout")
    except (ValueError, AttributeError):
        raise ExcelSetupError(
            f"{path} is not an xlnapkin state file; move it away and run again") from None
    return state


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".xlnapkin-tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@contextlib.contextmanager
def _writing(conf: Path):
    """Turn a failed write (permissions, a locked file) into an error the user can act on."""
    try:
        yield
    except OSError as exc:
        where = exc.filename or conf
        raise ExcelSetupError(f"cannot change {where}: {exc.strerror or exc}") from None


def _missing_dirs(folder: Path) -> list[Path]:
    """``folder`` and its parents that do not exist yet, deepest first."""
    missing = []
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    return missing


def _emptied_dirs(created: list, going: set[Path]) -> list[Path]:
    """The folders install created (deepest first) that are empty once ``going`` is deleted."""
    emptied: list[Path] = []
    for folder in map(Path, created):
        try:
            left = {folder / name for name in os.listdir(folder)} - going - set(emptied)
        except OSError:
            break
        if left:
            break
        emptied.append(folder)
    return emptied


def _backup_path(conf: Path, now: datetime) -> Path:
    stem = conf.name + BACKUP_INFIX + now.strftime("%Y%m%d-%H%M%S")
    candidate, n = conf.with_name(stem), 1
    while candidate.exists():
        candidate, n = conf.with_name(f"{stem}-{n}"), n + 1
    return candidate


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigChange:
    """One key of the config file changed: ``before``/``after`` None means absent."""

    key: str
    before: str | None
    after: str | None

    def describe(self) -> str:
        if self.before is None:
            return f'add "{self.key}","{self.after}"'
        if self.after is None:
            return f'remove "{self.key}","{self.before}"'
        return f'set "{self.key}": "{self.before}" -> "{self.after}"'


@dataclass(frozen=True)
class SetupResult:
    """What :func:`install` or :func:`uninstall` did (or, in a dry run, would do)."""

    action: str
    config_path: Path
    steps: tuple[str, ...]
    changes: tuple[ConfigChange, ...] = ()
    notes: tuple[str, ...] = ()
    dry_run: bool = False
    backup_path: Path | None = None

    @property
    def changed(self) -> bool:
        """Whether anything on disk was (or would be) changed."""
        return bool(self.steps)

    def describe(self) -> str:
        """The changes, one per line, in the order they are made; then any notes."""
        head = f"xlnapkin excel {self.action}"
        if self.dry_run:
            head += " (dry run: nothing written)"
        lines = [head, f"config: {self.config_path}"]
        if self.steps:
            lines += [f"  {step}" for step in self.steps]
        else:
            lines.append("  nothing to change" if self.action == "install"
                         else "  nothing to undo")
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


@dataclass(frozen=True)
class SetupStatus:
    """Whether classic xlwings is set up to find xlnapkin's functions, from :func:`status`."""

    platform: str
    config_path: Path
    config_exists: bool
    udf_modules: str | None
    interpreter_key: str
    interpreter: str | None
    interpreter_found: bool | None
    recorded: bool
    backup_path: Path | None
    addin_path: Path | None
    addin_present: bool | None
    addin_note: str

    @property
    def configured(self) -> bool:
        """``UDF MODULES`` names xlnapkin.udfs and an interpreter is set."""
        return (self.udf_modules is not None and UDF_MODULE in _modules(self.udf_modules)
                and bool(self.interpreter and self.interpreter.strip()))

    def describe(self) -> str:
        def shown(value):
            return "(not set)" if value is None else f'"{value}"'

        lines = ["xlnapkin excel status",
                 f"config: {self.config_path}" + ("" if self.config_exists else " (missing)"),
                 f"configured: {'yes' if self.configured else 'no'}",
                 f"{UDF_MODULES_KEY}: {shown(self.udf_modules)}"]
        interp = f"{self.interpreter_key}: {shown(self.interpreter)}"
        if self.interpreter_found is False:
            interp += " (no such file on this machine)"
        lines.append(interp)
        if self.recorded:
            backup = f"backup {self.backup_path}" if self.backup_path else "no earlier config"
            lines.append(f"installed by xlnapkin: yes ({backup})")
        else:
            lines.append("installed by xlnapkin: no")
        lines.append(f"xlwings add-in: {self.addin_note}")
        return "\n".join(lines)


@dataclass(frozen=True)
class AddinResult:
    """What :func:`xlwings_addin` did: ``ran`` False when it was skipped or a dry run."""

    action: str
    ran: bool
    ok: bool
    command: tuple[str, ...]
    message: str

    def describe(self) -> str:
        return self.message


# --- install / uninstall / status ----------------------------------------------------------------


def install(home: Path, python_executable: str, *, dry_run: bool = False,
            platform: str = sys.platform, now: datetime | None = None) -> SetupResult:
    """Point classic xlwings at ``xlnapkin.udfs`` and ``python_executable``.

    Adds ``xlnapkin.udfs`` to ``"UDF MODULES"`` (keeping any modules already listed) and sets
    the interpreter key; every other line stays as it was. The first change backs the existing
    file up and writes the state file; a second run with the same arguments changes nothing.
    ``dry_run`` writes nothing and returns the same description.
    """
    home = Path(home)
    python_executable = str(python_executable)
    key = interpreter_key(platform)
    _check_interpreter(python_executable, platform)
    conf, state_file = config_path(home, platform), state_path(home, platform)
    raw, doc = _read_config(conf, platform)
    state = _read_state(state_file)
    now = now or datetime.now()

    # What to set, in the order the lines are written.
    wanted = []
    udf = doc.get(UDF_MODULES_KEY)
    if udf is None or UDF_MODULE not in _modules(udf):
        wanted.append((UDF_MODULES_KEY, _with_module(udf)))
    current = doc.get(key)
    if current is None or not _same_interpreter(current, python_executable, platform):
        wanted.append((key, python_executable))

    notes = _platform_notes(platform)
    if not wanted:
        return SetupResult("install", conf, (), notes=notes, dry_run=dry_run)

    changes, records = [], []
    for k, value in wanted:
        before_line, before = doc.line(k), doc.get(k)
        doc.set_line(k, _entry_line(k, value))
        changes.append(ConfigChange(k, before, value))
        records.append({"key": k, "before": before, "after": value,
                        "line_before": before_line, "line_after": doc.line(k)})
    new_bytes = _encode(doc, platform)

    steps = []
    backup = None
    new_dirs = _missing_dirs(conf.parent)
    if raw is None:
        steps.append(f"create {conf}")
    elif state is None:
        backup = _backup_path(conf, now)
        steps.append(f"back up {conf} to {backup}")
    steps += [c.describe() for c in changes]
    steps.append(f"record the changes in {state_file}")

    if state is None:
        state = {"format": _STATE_FORMAT, "created_file": raw is None,
                 "created_dirs": [str(d) for d in new_dirs],
                 "backup": backup.name if backup else None, "installed_at": now.isoformat(),
                 "pristine": True, "changes": []}
    else:
        # Already installed once: keep the original "before" of each key so that uninstall
        # still goes back to the pre-xlnapkin file; an edit since then rules out the backup.
        if _sha256(raw) != state.get("config_sha256"):
            state["pristine"] = False
        state["updated_at"] = now.isoformat()
    _merge_records(state["changes"], records)
    state["config_sha256"] = _sha256(new_bytes)
    state["xlnapkin_version"] = _package_version()

    if not dry_run:
        # Backup, then the record, then the config: an interruption never leaves a change that
        # uninstall does not know about.
        with _writing(conf):
            if backup is not None:
                backup.write_bytes(raw)
                shutil.copystat(conf, backup)
            _write_atomic(state_file, (json.dumps(state, indent=2) + "\n").encode("utf-8"))
            _write_atomic(conf, new_bytes)
    return SetupResult("install", conf, tuple(steps), tuple(changes), notes, dry_run, backup)


def uninstall(home: Path, *, dry_run: bool = False, platform: str = sys.platform) -> SetupResult:
    """Undo :func:`install` from its state file.

    If the config is still exactly what xlnapkin wrote, the pre-install file comes back byte for
    byte (from the backup; or the file is deleted if there was none) and the backup goes. If it was
    edited since, only xlnapkin's own changes are reversed and the backup is kept. Without a state
    file this does nothing.
    """
    home = Path(home)
    conf, state_file = config_path(home, platform), state_path(home, platform)
    state = _read_state(state_file)
    if state is None:
        notes = ()
        raw, doc = _read_config(conf, platform)
        udf = doc.get(UDF_MODULES_KEY)
        if udf is not None and UDF_MODULE in _modules(udf):
            notes = (f"{conf} names {UDF_MODULE} but xlnapkin did not record installing it; "
                     "left as is",)
        return SetupResult("uninstall", conf, (), notes=notes, dry_run=dry_run)

    raw, doc = _read_config(conf, platform)
    backup = conf.with_name(state["backup"]) if state.get("backup") else None
    steps, changes, notes = [], [], []
    new_bytes: bytes | None = None
    delete_conf = delete_backup = False

    if raw is None:
        notes.append(f"{conf} no longer exists; nothing to reverse in it")
        if backup is not None:
            notes.append(f"the pre-install config is kept in {backup}")
    elif state.get("pristine", True) and _sha256(raw) == state.get("config_sha256"):
        if state.get("created_file"):
            delete_conf = True
            steps.append(f"delete {conf} (it did not exist before install)")
        elif backup is not None and backup.is_file():
            new_bytes = backup.read_bytes()
            delete_backup = True
            steps.append(f"restore {conf} from {backup}")
            steps.append(f"delete {backup}")
            changes = [ConfigChange(r["key"], r["after"], r["before"])
                       for r in reversed(state["changes"])]
        else:
            notes.append(f"backup {backup} is missing; reversing xlnapkin's changes only")
    if raw is not None and not delete_conf and new_bytes is None:
        changes, edit_notes = _reverse_records(doc, state["changes"])
        notes += edit_notes
        if changes:
            if state.get("created_file") and doc.is_blank():
                delete_conf = True
                steps.append(f"delete {conf} (it did not exist before install)")
            else:
                new_bytes = _encode(doc, platform)
                steps += [c.describe() for c in changes]
        if backup is not None and backup.is_file():
            notes.append(f"the pre-install config is kept in {backup} "
                         "(the config was edited after install)")
    steps.append(f"delete {state_file}")
    emptied = []
    if delete_conf:
        going = {conf, state_file} | ({backup} if delete_backup else set())
        emptied = _emptied_dirs(state.get("created_dirs", []), going)
        steps += [f"remove the empty folder {folder}" for folder in emptied]

    if not dry_run:
        with _writing(conf):
            if delete_conf:
                conf.unlink()
            elif new_bytes is not None:
                _write_atomic(conf, new_bytes)
                if delete_backup:
                    shutil.copystat(backup, conf)
            if delete_backup:
                backup.unlink()
            state_file.unlink()
            for folder in emptied:
                folder.rmdir()
    return SetupResult("uninstall", conf, tuple(steps), tuple(changes), tuple(notes), dry_run,
                       backup)


def status(home: Path, *, platform: str = sys.platform) -> SetupStatus:
    """Report the config's ``UDF MODULES`` and interpreter, xlnapkin's record, and the add-in."""
    home = Path(home)
    conf = config_path(home, platform)
    raw, doc = _read_config(conf, platform)
    key = interpreter_key(platform)
    interpreter = doc.get(key)
    found = None
    if interpreter and platform == sys.platform:
        found = Path(os.path.expandvars(interpreter)).is_file()
    state = _read_state(state_path(home, platform))
    backup = None
    if state and state.get("backup"):
        backup = conf.with_name(state["backup"])
    addin_path, addin_present, note = _addin_status(home, platform)
    return SetupStatus(platform, conf, raw is not None, doc.get(UDF_MODULES_KEY), key,
                       interpreter, found, state is not None, backup, addin_path, addin_present,
                       note)


def _addin_status(home: Path, platform: str) -> tuple[Path | None, bool | None, str]:
    candidates = xlstart_candidates(home, platform)
    if not candidates:
        return None, None, (f"not applicable on {platform}: Excel add-ins exist only on Windows "
                            "and macOS (use xlwings Lite in Excel on the web)")
    for folder in candidates:
        if (folder / ADDIN_FILE).is_file():
            note = f"installed ({folder / ADDIN_FILE})"
            if _is_mac(platform):
                note += "; classic UDFs do not run on macOS, use xlwings Lite"
            return folder / ADDIN_FILE, True, note
    where = candidates[0] / ADDIN_FILE
    return where, False, f"not found (expected {where}; run `xlwings addin install`)"


def _same_interpreter(a: str, b: str, platform: str) -> bool:
    if platform == "win32":  # Windows paths are case-insensitive and take either slash
        return a.replace("/", "\\").lower() == b.replace("/", "\\").lower()
    return a == b


def _merge_records(existing: list, new: list) -> None:
    for rec in new:
        for old in existing:
            if old["key"] == rec["key"]:
                old["after"], old["line_after"] = rec["after"], rec["line_after"]
                break
        else:
            existing.append(rec)


def _reverse_records(doc: _ConfigText, records: list) -> tuple[list, list]:
    """Undo each recorded change in ``doc`` where it is still in place; say what was left."""
    changes, notes = [], []
    for rec in reversed(records):
        key = rec["key"]
        line, value = doc.line(key), doc.get(key)
        if line is None:
            continue
        if line == rec["line_after"]:
            if rec["line_before"] is None:
                doc.delete(key)
            else:
                doc.set_line(key, rec["line_before"])
            changes.append(ConfigChange(key, value, rec["before"]))
        elif key == UDF_MODULES_KEY and UDF_MODULE in _modules(value):
            rest = _without_module(value)
            if not rest.strip() and rec["line_before"] is None:
                doc.delete(key)
                changes.append(ConfigChange(key, value, None))
            else:
                doc.set_line(key, _entry_line(key, rest))
                changes.append(ConfigChange(key, value, rest))
        elif key != UDF_MODULES_KEY:
            notes.append(f'"{key}" was changed after install; left as "{value}"')
    return changes, notes


def _platform_notes(platform: str) -> tuple[str, ...]:
    if platform == "win32":
        return ()
    if _is_mac(platform):
        return ("classic xlwings UDFs run only on Windows; in Excel for Mac use xlwings Lite "
                "(`xlnapkin lite`)",)
    return (f"Excel does not run on {platform}; this file only matters to xlwings on this "
            "machine",)


def _package_version() -> str:
    from . import __version__
    return __version__


# --- the add-in (needs Excel on Windows) ---------------------------------------------------------


def xlwings_addin(action: str = "install", *, platform: str = sys.platform,
                  python_executable: str | None = None, dry_run: bool = False,
                  command: list[str] | None = None, runner=None) -> AddinResult:
    """Run ``xlwings addin install`` (or ``remove``) on Windows; report it skipped elsewhere.

    This is the one step that needs Excel: xlwings starts Excel to ask for its XLSTART folder and
    copies ``xlwings.xlam`` there. It is run only when ``platform == "win32"``; it cannot be
    tested on Linux beyond the command it would run. The ``xlwings`` used is the one beside
    ``python_executable`` (same virtual environment), else the first on PATH. xlwings prints its
    errors and still exits 0, so its output is checked for ``Error`` as well. ``runner`` stands in
    for :func:`subprocess.run` in tests.
    """
    if action not in ("install", "remove"):
        raise ExcelSetupError(f"action must be 'install' or 'remove', got {action!r}")
    if platform != "win32":
        return AddinResult(action, False, True, (),
                           f"xlwings add-in: skipped `xlwings addin {action}` (classic xlwings "
                           f"add-ins and UDFs need Excel on Windows; this is {platform})")
    cmd = tuple(command or (_find_xlwings(python_executable or sys.executable), "addin", action))
    shown = " ".join(f'"{c}"' if " " in c else c for c in cmd)
    if dry_run:
        return AddinResult(action, False, True, cmd, f"xlwings add-in: would run {shown}")
    run = runner or subprocess.run
    try:
        proc = run(list(cmd), capture_output=True, text=True)
    except OSError as exc:
        raise ExcelSetupError(f"cannot run {shown}: {exc.strerror or exc}") from None
    output = "\n".join(s.strip() for s in (proc.stdout, proc.stderr) if s and s.strip())
    ok = proc.returncode == 0 and "error" not in output.lower()
    verdict = "done" if ok else f"FAILED (exit code {proc.returncode})"
    message = f"xlwings add-in: {shown}: {verdict}"
    if output:
        message += "\n" + output
    if not ok and action == "install":
        message += "\nclose Excel and run it again, or run `xlwings addin install` yourself"
    return AddinResult(action, True, ok, cmd, message)


def _find_xlwings(python_executable: str | None) -> str:
    if python_executable:
        beside = Path(python_executable).with_name("xlwings.exe")
        if beside.is_file():
            return str(beside)
    found = shutil.which("xlwings")
    if found is None:
        raise ExcelSetupError(
            'xlwings is not installed here: pip install "xlnapkin[excel]" first')
    return found


# --- xlwings Lite --------------------------------------------------------------------------------

_LITE_MAIN = '''\
"""xlnapkin's Excel functions for xlwings Lite (xlnapkin {version}).

Paste this file into the main.py tab of the xlwings Lite add-in, and requirements.txt into its
requirements.txt tab. Lite installs xlnapkin and registers every function, for example
=TOKENS_PER_SEC("h100-sxm","llama-3.1-70b",64,4096,"fp8",,2) or =NAPKIN_VERSION().
A bad argument shows #VALUE!; hover over the cell's error flag to read the message.
Generated by `xlnapkin lite`.
"""

from xlnapkin.udfs import *  # noqa: F401,F403  (re-exports the Excel functions)
'''


def lite_files(version: str) -> dict[str, str]:
    """The ``main.py`` and ``requirements.txt`` texts for xlwings Lite, for xlnapkin ``version``.

    numpy is left unpinned (Pyodide provides its own build) and xlwings is not listed (Lite
    provides it).
    """
    version = str(version).strip()
    if not _VERSION_RE.fullmatch(version):
        raise ExcelSetupError(f"version must look like 0.1.0, got {version!r}")
    return {"main.py": _LITE_MAIN.format(version=version),
            "requirements.txt": f"xlnapkin=={version}\n"}


def write_lite(out_dir: Path, version: str, *, force: bool = False) -> list[Path]:
    """Write :func:`lite_files` into ``out_dir``; refuse to overwrite unless ``force``."""
    out_dir = Path(out_dir)
    files = lite_files(version)
    targets = {out_dir / name: text for name, text in files.items()}
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        names = ", ".join(str(p) for p in existing)
        raise ExcelSetupError(f"{names} already exists; use --force to overwrite")
    out_dir.mkdir(parents=True, exist_ok=True)
    for path, text in targets.items():
        path.write_bytes(text.encode("utf-8"))
    return list(targets)


# --- command line --------------------------------------------------------------------------------

_EXCEL_HELP = "set classic Excel (xlwings on Windows) up to use xlnapkin's functions"
_EXCEL_EPILOG = """\
examples:
  xlnapkin excel install --dry-run
  xlnapkin excel install --python "%LOCALAPPDATA%\\xlnapkin\\venv\\Scripts\\pythonw.exe"
  xlnapkin excel status
  xlnapkin excel uninstall

installer/install.ps1 runs these for you on Windows. On macOS and Excel on the web, use
`xlnapkin lite` instead."""

_NEXT_STEPS = """\
next: install the xlwings add-in (`xlwings addin install`, or run this with --addin), restart
Excel, then in a macro-enabled workbook click xlwings > Import Functions (Excel needs
File > Options > Trust Center > Macro Settings > "Trust access to the VBA project object model")."""

_LITE_NEXT = """\
next: in Excel, Home > Add-ins > get "xlwings Lite", open its editor, paste main.py into the
main.py tab and requirements.txt into the requirements.txt tab, then restart Lite.
Errors show as #VALUE! with the message on hover."""


def register_cli(subparsers) -> None:
    """Add the ``excel`` (``install``, ``status``, ``uninstall``) and ``lite`` commands.

    Each command's handler is set as ``func``; it prints its result and returns an exit code.
    """
    fmt = argparse.RawDescriptionHelpFormatter
    excel = subparsers.add_parser(
        "excel", help=_EXCEL_HELP, description=_wrap("S" + _EXCEL_HELP[1:] + "."),
        epilog=_EXCEL_EPILOG,
        formatter_class=fmt)
    excel_sub = excel.add_subparsers(dest="excel_command", metavar="{install,status,uninstall}",
                                     required=True)

    p = excel_sub.add_parser(
        "install", formatter_class=fmt,
        help="point xlwings' UDF Modules at xlnapkin.udfs and set the interpreter",
        description=_wrap("Add xlnapkin.udfs to \"UDF MODULES\" in the user's xlwings.conf and "
                          "set INTERPRETER_WIN (INTERPRETER_MAC on macOS). Other settings are "
                          "kept, the old file is backed up once, and running it again changes "
                          "nothing."),
        epilog="examples:\n  xlnapkin excel install --dry-run\n"
               "  xlnapkin excel install --python C:\\envs\\napkin\\Scripts\\pythonw.exe --addin")
    _common_options(p, dry_run=True)
    p.add_argument("--python", metavar="PATH", default=None,
                   help="interpreter Excel should start (default: this Python; pythonw.exe "
                        "beside it on Windows)")
    p.add_argument("--addin", action="store_true",
                   help="also run `xlwings addin install` (Windows with Excel only)")
    p.set_defaults(func=_cmd_install)

    p = excel_sub.add_parser(
        "status", formatter_class=fmt,
        help="show whether xlwings is set up for xlnapkin",
        description=_wrap("Show the UDF MODULES and interpreter settings, whether xlnapkin "
                          "installed them, and whether the xlwings add-in is in Excel's XLSTART "
                          "folder."),
        epilog="example:\n  xlnapkin excel status")
    _common_options(p, dry_run=False)
    p.set_defaults(func=_cmd_status)

    p = excel_sub.add_parser(
        "uninstall", formatter_class=fmt,
        help="undo `xlnapkin excel install`",
        description=_wrap("Put the xlwings.conf from before `xlnapkin excel install` back, byte "
                          "for byte (or delete it if there was none). If it was edited since, "
                          "only xlnapkin's own changes are reversed. Running it again does "
                          "nothing."),
        epilog="examples:\n  xlnapkin excel uninstall --dry-run\n  xlnapkin excel uninstall")
    _common_options(p, dry_run=True)
    p.add_argument("--addin", action="store_true",
                   help="also run `xlwings addin remove` (Windows with Excel only)")
    p.set_defaults(func=_cmd_uninstall)

    lite = subparsers.add_parser(
        "lite", formatter_class=fmt,
        help="write main.py and requirements.txt for xlwings Lite",
        description=_wrap("Write the two files to paste into the xlwings Lite add-in (Excel on "
                          "Windows, macOS and the web). Existing files are not overwritten "
                          "without --force."),
        epilog="examples:\n  xlnapkin lite\n  xlnapkin lite --out my-lite --force")
    lite.add_argument("--out", metavar="DIR", type=Path, default=Path("xlnapkin-lite"),
                      help="folder to write into (default: xlnapkin-lite)")
    lite.add_argument("--version", metavar="VERSION", default=_package_version(),
                      help="xlnapkin version to pin in requirements.txt (default: this one, "
                           "%(default)s)")
    lite.add_argument("--force", action="store_true", help="overwrite existing files")
    lite.set_defaults(func=_cmd_lite)


def _wrap(text: str) -> str:
    return textwrap.fill(text, 88)


def _common_options(p: argparse.ArgumentParser, *, dry_run: bool) -> None:
    if dry_run:
        p.add_argument("--dry-run", action="store_true",
                       help="print what would change and write nothing")
    p.add_argument("--home", metavar="DIR", type=Path, default=Path.home(),
                   help="home folder whose xlwings config to use (default: %(default)s)")
    p.add_argument("--platform", metavar="NAME", default=sys.platform,
                   help="config layout: win32, darwin, ... (default: this machine, %(default)s)")


def _fail(exc: NapkinError) -> int:
    print(f"Error: {exc}", file=sys.stderr)
    return 1


def _cmd_install(args) -> int:
    try:
        python = args.python or default_interpreter(args.platform)
        result = install(args.home, python, dry_run=args.dry_run, platform=args.platform)
        print(result.describe())
        code = 0
        if args.addin:
            addin = xlwings_addin("install", platform=args.platform, python_executable=python,
                                  dry_run=args.dry_run)
            print(addin.describe())
            code = 0 if addin.ok else 1
        if not args.dry_run and args.platform == "win32":
            print(_NEXT_STEPS)
        return code
    except NapkinError as exc:
        return _fail(exc)


def _cmd_status(args) -> int:
    try:
        print(status(args.home, platform=args.platform).describe())
        return 0
    except NapkinError as exc:
        return _fail(exc)


def _cmd_uninstall(args) -> int:
    try:
        result = uninstall(args.home, dry_run=args.dry_run, platform=args.platform)
        print(result.describe())
        if args.addin:
            addin = xlwings_addin("remove", platform=args.platform, dry_run=args.dry_run)
            print(addin.describe())
            return 0 if addin.ok else 1
        return 0
    except NapkinError as exc:
        return _fail(exc)


def _cmd_lite(args) -> int:
    try:
        written = write_lite(args.out, args.version, force=args.force)
    except NapkinError as exc:
        return _fail(exc)
    for path in written:
        print(f"wrote {path}")
    print(_LITE_NEXT)
    return 0
