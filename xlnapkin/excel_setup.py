r"""Set classic Excel (xlwings on Windows) up to find xlnapkin's functions, and touch nothing else.

Classic xlwings looks each setting up in three places and takes the first that has the key
(``GetConfig`` in the add-in's ``Config.bas``; docs/addin.md, "Config Hierarchy"):

1. a sheet named ``xlwings.conf`` inside the active workbook;
2. a file ``xlwings.conf`` in the workbook's folder (not read for workbooks opened from
   SharePoint or OneDrive web addresses);
3. the user's file ``%USERPROFILE%\.xlwings\xlwings.conf``
   (``~/Library/Containers/com.microsoft.Excel/Data/xlwings.conf`` on macOS).

The files hold ``"KEY","value"`` lines. ``GetConfigFromFile`` reads them with VBA's ``Input #``
and compares ``LCase`` of each key with ``LCase`` of the wanted one, stopping at the first match;
the sheet's keys are upper-cased as they are read. So keys match case-insensitively, the first
matching line wins, and a key with an empty value still ends the search. Values go through
``ExpandEnvironmentStrings``, so ``%LOCALAPPDATA%\...`` works in them. Two keys make Excel find
xlnapkin: ``UDF MODULES`` (``;``-separated module names) and ``INTERPRETER_WIN``
(``INTERPRETER_MAC`` on macOS; both fall back to the legacy ``INTERPRETER`` when empty).

By default xlnapkin writes the workbook folder's file (:func:`workbook_config`), so workbooks
elsewhere keep the user's own modules and Python. Other macro-enabled workbooks in that folder
would read the new file instead of the user's: for them, a key the folder's file lacks starts from
the user's value (their modules stay listed), and the Python they run (the user's, or the one on
PATH where none is set and they import modules) is replaced only when asked. Where nothing lists the modules, xlwings
imports for each workbook the module named after it: install refuses where another workbook
there has one, and keeps the set-up workbook's own beside xlnapkin's. The user-wide file (:func:`user_config`)
changes only when asked for, and then ``xlnapkin.udfs`` is appended to the modules already listed
and an interpreter is added only where none is set; a different one is replaced only with
``replace_interpreter=True``.

:func:`install` changes only those two lines and keeps every other byte, backs an existing file
up once, and records what it did in a state file beside it; :func:`uninstall` uses that record to
put the file back byte for byte (or, if it was edited since, to reverse only xlnapkin's own
changes). Every write goes to an exclusive temporary file in the same folder that is then renamed
over the target, so a reader sees the old or the new file, never half of one. A config that is a
symbolic link is edited at its target and stays a link; a read-only config is refused; a lock
file beside the config makes concurrent runs take turns; a run that fails removes what it wrote.
All functions take the home folder and platform explicitly, so they run (and are tested)
against a temporary home on any OS.

:func:`xlwings_addin` copies xlwings' own add-in into Excel's XLSTART folder, or takes it away:
what ``xlwings addin install|remove`` does, less that command's user-wide ``xlwings.conf``
(written on a first install; it would point every other workbook at xlnapkin's Python). A record
(:func:`addin_record`) says whether the add-in was there before xlnapkin and which copy
xlnapkin put there, so a reinstall upgrades only its own copy and removal never takes another
project's add-in. Another project's add-in of another xlwings version stops the install: it
would load a DLL xlnapkin's environment lacks (``_vba`` reads the version from its VBA code).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import locale
import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PureWindowsPath

from .errors import NapkinError

__all__ = [
    "UDF_MODULE",
    "CONF_NAME",
    "ExcelSetupError",
    "ConfigFile",
    "ConfigChange",
    "Setting",
    "SetupResult",
    "SetupStatus",
    "AddinResult",
    "config_path",
    "workbook_record",
    "recorded_workbooks",
    "remember_workbook",
    "user_config",
    "workbook_config",
    "interpreter_key",
    "default_interpreter",
    "xlstart_candidates",
    "install",
    "uninstall",
    "status",
    "addin_record",
    "venv_record",
    "xlwings_addin_source",
    "xlwings_addin",
]

UDF_MODULE = "xlnapkin.udfs"
CONF_NAME = "xlwings.conf"
UDF_MODULES_KEY = "UDF MODULES"
LEGACY_INTERPRETER_KEY = "INTERPRETER"
CONDA_PATH_KEY, CONDA_ENV_KEY = "CONDA PATH", "CONDA ENV"  # a conda environment as the Python
ADDIN_FILE = "xlwings.xlam"
STATE_SUFFIX = ".xlnapkin-state.json"
LOCK_SUFFIX = ".xlnapkin-lock"
BACKUP_INFIX = ".xlnapkin-backup-"
TEMP_SUFFIX = ".xlnapkin-tmp"
LOCK_TIMEOUT_S = 10.0
# A lock file older than this was left by a run that died: installs take milliseconds.
STALE_LOCK_S = 120.0
_TEMP_ATTEMPTS = 100
_STATE_FORMAT = 1
_MANAGED_KEYS = frozenset({UDF_MODULES_KEY, "INTERPRETER_WIN", "INTERPRETER_MAC"})

# One line of the file with its line ending. Linear: no nested or adjacent ambiguous repeats.
_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_BACKUP_RE = re.compile(re.escape(CONF_NAME + BACKUP_INFIX) + r"\d{8}-\d{6}(-\d{1,6})?")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")


class ExcelSetupError(NapkinError):
    """Excel set-up that cannot go ahead as asked: a value the config cannot hold, an interpreter
    that belongs to someone else, an unreadable state file, a file that may not be changed."""


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
        return home / "Library" / "Containers" / "com.microsoft.Excel" / "Data" / CONF_NAME
    # Windows, and (like ``xlwings config create``) every other platform.
    return home / ".xlwings" / CONF_NAME


@dataclass(frozen=True)
class ConfigFile:
    """One ``xlwings.conf`` that xlnapkin may edit: the user's, or the one in a workbook's folder.

    ``root`` bounds the folders :func:`install` may create (and :func:`uninstall` remove): below
    the home folder for the user's file, none for a workbook's (its folder exists already).
    """

    path: Path
    scope: str
    root: Path
    workbook: Path | None = None
    user_path: Path | None = None   # a workbook folder's: the user's file it takes over from

    @property
    def state_path(self) -> Path:
        """Where :func:`install` records what it changed, beside the config."""
        return self.path.with_name(self.path.name + STATE_SUFFIX)

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + LOCK_SUFFIX)

    def describe(self) -> str:
        if self.scope == "user":
            return "the user's xlwings settings (every workbook without its own)"
        return (f"workbooks in {self.path.parent} (xlwings reads this file before the user's), "
                f"for {self.workbook.name}")


def user_config(home: Path, platform: str = sys.platform) -> ConfigFile:
    """The user-wide ``xlwings.conf`` under ``home``."""
    return ConfigFile(config_path(home, platform), "user", Path(home))


def workbook_config(workbook: Path, home: Path | None = None,
                    platform: str = sys.platform) -> ConfigFile:
    """The ``xlwings.conf`` beside ``workbook``, which xlwings reads for workbooks in its folder.

    The workbook itself is never opened for writing. Its folder must exist; the workbook itself
    only for :func:`install` (status and uninstall work after it moved away). With ``home``,
    :func:`install` starts a key the folder's file lacks from the user's file, which the other
    workbooks in the folder read now: their modules stay listed, and another Python there is
    replaced only when asked.
    """
    book = Path(os.path.abspath(workbook))
    if not book.parent.is_dir():
        raise ExcelSetupError(f"no such workbook: {workbook}")
    user_path = config_path(home, platform) if home is not None else None
    return ConfigFile(book.parent / CONF_NAME, "workbook", book.parent, book, user_path)


RECORD_NAME = "workbooks.txt"


def workbook_record(home: Path) -> Path:
    """The list of workbooks set up with ``excel install --workbook`` (one absolute path a line),
    so that ``excel uninstall --recorded`` can undo every folder they changed."""
    return Path(home) / ".xlnapkin" / RECORD_NAME


def recorded_workbooks(home: Path) -> list[Path]:
    """The workbooks :func:`remember_workbook` wrote down, in the order they were set up."""
    try:
        text = workbook_record(home).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise ExcelSetupError(f"cannot read {workbook_record(home)} ({exc}); it lists one "
                              "workbook path a line: fix or remove it") from None
    return [Path(line) for line in dict.fromkeys(text.splitlines()) if line.strip()]


def remember_workbook(home: Path, workbook: Path, keep: bool = True) -> None:
    """Add ``workbook`` to the record (``keep=False``: take it off; the file goes when empty)."""
    book = Path(os.path.abspath(workbook))
    before = recorded_workbooks(home)
    books = [b for b in before if not _same_path(b, book)]
    if keep:
        if len(books) < len(before):
            return  # recorded already
        books.append(book)
    elif len(books) == len(before):
        return  # not recorded: nothing to write
    record = workbook_record(home)
    if not books:
        with contextlib.suppress(FileNotFoundError):
            record.unlink()
        return
    record.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(record, "".join(f"{b}\n" for b in books).encode("utf-8"))


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


def _field(text: str, start: int) -> tuple[str, int | None]:
    """One ``Input #`` field of ``text`` from ``start``: its value and the index after the comma
    that ends it (None when the line ends first). Quoted fields keep their inner spaces; unquoted
    ones lose the spaces around them. One pass with ``str.find``: linear in the line's length."""
    n = len(text)
    while start < n and text[start] in " \t":
        start += 1
    if start < n and text[start] == '"':
        close = text.find('"', start + 1)
        if close < 0:
            return text[start + 1:], None
        value, rest = text[start + 1:close], close + 1
    else:
        comma = text.find(",", start)
        end = n if comma < 0 else comma
        return text[start:end].strip(" \t"), None if comma < 0 else comma + 1
    comma = text.find(",", rest)
    return value, None if comma < 0 else comma + 1


def _parse_entry(body: str) -> tuple[str, str] | None:
    """``(key, value)`` of a ``"KEY","value"`` line (either may be unquoted), else None."""
    key, after = _field(body, 0)
    if after is None or not key:
        return None
    return key, _field(body, after)[0]


def _same_key(a: str, b: str) -> bool:
    return a.lower() == b.lower()  # VBA's LCase(sVarName) = LCase(sName)


class _ConfigText:
    """The config file as lines, each kept exactly (body and line ending) unless changed."""

    def __init__(self, text: str, newline: str):
        self.lines = [_split_ending(chunk) for chunk in _LINE_RE.findall(text)]
        found = re.search(r"\r\n|\r|\n", text)
        self.newline = found.group(0) if found else newline

    def text(self) -> str:
        return "".join(body + end for body, end in self.lines)

    def entries(self, key: str) -> list[tuple[int, str, str]]:
        """``(index, key as written, value)`` of every line of ``key``, in file order."""
        out = []
        for i, (body, _) in enumerate(self.lines):
            entry = _parse_entry(body)
            if entry is not None and _same_key(entry[0], key):
                out.append((i, *entry))
        return out

    def find(self, key: str) -> int | None:
        """Index of the first line of ``key``: the one xlwings reads."""
        found = self.entries(key)
        return found[0][0] if found else None

    def get(self, key: str) -> str | None:
        found = self.entries(key)
        return found[0][2] if found else None

    def written_key(self, key: str) -> str:
        """``key`` as the file already spells it (xlwings matches either way), else as given."""
        found = self.entries(key)
        return found[0][1] if found else key

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


def _real_file(conf: Path) -> Path:
    """The file to read and replace: ``conf``, or the file its symbolic link points to (the link
    itself is never replaced)."""
    if conf.is_symlink():
        target = Path(os.path.realpath(conf))
        if not target.is_file():
            raise ExcelSetupError(f"{conf} is a link to {target}, which is not a file; fix or "
                                  "remove the link and run again")
        return target
    if conf.exists() and not conf.is_file():
        raise ExcelSetupError(f"{conf} is not a file")
    return conf


def _read_config(path: Path, platform: str) -> tuple[bytes | None, _ConfigText]:
    newline = "\r\n" if platform == "win32" else "\n"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, _ConfigText("", newline)
    except OSError as exc:
        raise ExcelSetupError(f"cannot read {path}: {exc.strerror or exc}") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw:
        # PowerShell 5.1's '>' and Notepad's "Unicode" write UTF-16, which xlwings does not
        # read, nor this reader: its keys went unseen and lines were added in another encoding
        # (a review)
        raise ExcelSetupError(f"{path} is UTF-16 text, which xlwings does not read: save it as "
                              "ANSI or UTF-8 (Notepad: Save As, Encoding) and run this again")
    return raw, _ConfigText(raw.decode(_encoding(platform), "surrogateescape"), newline)


def _encode(doc: _ConfigText, platform: str) -> bytes:
    return doc.text().encode(_encoding(platform), "surrogateescape")


def _check_writable(conf: Path, real: Path) -> None:
    """Refuse a read-only config: replacing it by rename would silently defeat the protection
    (renaming needs only the folder's permission)."""
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        return
    if not mode & stat.S_IWUSR:
        raise ExcelSetupError(f"{conf} is read-only; make it writable to let xlnapkin change it")


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
            f"python path {value!r} has characters that xlwings.conf ({encoding}) cannot hold, "
            "and the xlwings add-in cannot load its DLL from such a folder either: make the "
            "environment in a folder whose path has none (install.ps1 -VenvDir "
            r"C:\xlnapkin\venv)"
        ) from None


def _sha256(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _same_interpreter(a: str, b: str, platform: str) -> bool:
    if platform == "win32":  # Windows paths are case-insensitive and take either slash
        return a.replace("/", "\\").lower() == b.replace("/", "\\").lower()
    return a == b


# --- writing safely ------------------------------------------------------------------------------


def _exclusive(folder: Path, name: str) -> tuple[int, Path]:
    """Create a new file ``name`` in ``folder`` that did not exist (not even as a link)."""
    flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
             | getattr(os, "O_NOFOLLOW", 0))
    path = folder / name
    return os.open(path, flags, 0o666), path


def _write_new(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``, which must not exist yet; on failure nothing is left."""
    fd, path = _exclusive(path.parent, path.name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise


def _write_atomic(path: Path, data: bytes) -> None:
    """Replace (or create) the file ``path`` with ``data`` through an exclusive temporary file in
    its folder; the old file's permissions carry over. ``path`` must not be a link: pass the link's
    target (:func:`_real_file`)."""
    for attempt in range(_TEMP_ATTEMPTS):
        try:
            fd, tmp = _exclusive(path.parent, f".{path.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")
            break
        except FileExistsError:  # that name is taken (perhaps by a planted link): draw again
            if attempt == _TEMP_ATTEMPTS - 1:
                raise
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def _writing(conf: Path):
    """Turn a failed write (permissions, a locked file) into an error the user can act on."""
    try:
        yield
    except OSError as exc:
        where = exc.filename or conf
        raise ExcelSetupError(f"cannot change {where}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _locked(config: ConfigFile):
    """Hold the lock file beside the config; concurrent installs and uninstalls take turns."""
    lock = config.lock_path
    deadline = time.monotonic() + LOCK_TIMEOUT_S
    while True:
        try:
            fd, _ = _exclusive(lock.parent, lock.name)
            break
        except FileExistsError:
            if _stale(lock):
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()
                continue
            if time.monotonic() > deadline:
                raise ExcelSetupError(
                    f"another xlnapkin excel install or uninstall is using {config.path} (lock "
                    f"file {lock}); wait for it, or delete the lock file if none is running"
                ) from None
            time.sleep(0.02)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()}\n")
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()


def _stale(lock: Path) -> bool:
    try:
        return time.time() - lock.lstat().st_mtime > STALE_LOCK_S
    except FileNotFoundError:
        return False


class _Rollback:
    """What a run created, undone in reverse order if the run fails part-way."""

    def __init__(self):
        self._steps = []

    def add(self, undo, *args) -> None:
        self._steps.append((undo, args))

    def run(self) -> None:
        for undo, args in reversed(self._steps):
            with contextlib.suppress(OSError):
                undo(*args)


def _restore_bytes(path: Path, data: bytes | None) -> None:
    if data is None:
        path.unlink(missing_ok=True)
    else:
        _write_atomic(path, data)


def _missing_dirs(folder: Path, root: Path) -> list[Path]:
    """``folder`` and its parents below ``root`` that do not exist yet, deepest first."""
    missing = []
    while not folder.exists() and _is_below(folder, root):
        missing.append(folder)
        folder = folder.parent
    return missing


def _is_below(path: Path, root: Path) -> bool:
    path, root = Path(os.path.abspath(path)), Path(os.path.abspath(root))
    return path != root and root in path.parents


def _emptied_dirs(created: list[Path], going: set[Path]) -> list[Path]:
    """The folders install created (deepest first) that are empty once ``going`` is deleted."""
    emptied: list[Path] = []
    for folder in created:
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
    while os.path.lexists(candidate):
        candidate, n = conf.with_name(f"{stem}-{n}"), n + 1
    return candidate


# --- the state file ------------------------------------------------------------------------------


def _read_state(config: ConfigFile) -> dict | None:
    path = config.state_path
    if path.is_symlink():
        raise ExcelSetupError(f"{path} is a link, not xlnapkin's state file; move it away and "
                              "run again")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ExcelSetupError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
                              ) from None
    try:
        state = json.loads(text)
        _validate_state(state, config)
    except ValueError as exc:
        raise ExcelSetupError(f"{path} is not a valid xlnapkin state file ({exc}); move it away "
                              "and run again") from None
    return state


def _validate_state(state, config: ConfigFile) -> None:
    """Check everything uninstall acts on, so that an edited or foreign state file cannot make it
    delete or restore anything but xlnapkin's own files (raises ValueError saying what is wrong).
    """
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise ValueError(what)

    def text_or_none(v) -> bool:
        return v is None or isinstance(v, str)

    need(isinstance(state, dict) and state.get("format") == _STATE_FORMAT, "unknown layout")
    created, backup = state.get("created_file"), state.get("backup")
    need(isinstance(created, bool), "created_file must be true or false")
    need(isinstance(state.get("pristine", True), bool), "pristine must be true or false")
    need(backup is None or (isinstance(backup, str) and _BACKUP_RE.fullmatch(backup) is not None),
         "backup must be an xlwings.conf.xlnapkin-backup-* name beside the config")
    need(isinstance(state.get("config_sha256"), str)
         and _SHA256_RE.fullmatch(state["config_sha256"]) is not None,
         "config_sha256 must be a SHA-256 in hex")
    dirs = state.get("created_dirs", [])
    chain = [os.path.abspath(d) for d in _missing_chain(config)]
    need(isinstance(dirs, list) and all(isinstance(d, str) for d in dirs)
         and [os.path.abspath(d) for d in dirs] == chain[:len(dirs)],
         "created_dirs must be the config's own folder and its parents below the home folder")
    changes = state.get("changes")
    need(isinstance(changes, list) and changes, "changes must be a non-empty list")
    for rec in changes:
        need(isinstance(rec, dict) and isinstance(rec.get("key"), str)
             and rec["key"].upper() in _MANAGED_KEYS
             and isinstance(rec.get("after"), str) and isinstance(rec.get("line_after"), str)
             and text_or_none(rec.get("before")) and text_or_none(rec.get("line_before")),
             "each change must name UDF MODULES or an interpreter key with its lines")
        need(rec["line_after"] == _entry_line(rec["key"], rec["after"]),
             "each change's line must hold its value")
        if _same_key(rec["key"], UDF_MODULES_KEY):
            inherited = rec.get("inherited")
            need(text_or_none(inherited) and (inherited is None or config.scope == "workbook")
                 and UDF_MODULE in _modules(rec["after"])
                 and (rec["line_before"] is not None or rec["after"] == _with_module(inherited)),
                 f"a UDF MODULES line that install added holds {UDF_MODULE} after the modules "
                 "it took from the user's file or xlwings' default")
    need(not created or (backup is None and all(r["line_before"] is None for r in changes)),
         "a config that install created has no backup and no earlier lines")


def _missing_chain(config: ConfigFile) -> list[Path]:
    """The folders install may have created for ``config``: its folder and parents, deepest first,
    strictly below ``root``."""
    chain, folder = [], config.path.parent
    while _is_below(folder, config.root):
        chain.append(folder)
        folder = folder.parent
    return chain


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
class Setting:
    """A setting as xlwings resolves it: the value and where it comes from (None: nowhere)."""

    key: str
    value: str | None
    source: str | None

    def describe(self) -> str:
        if self.value is None:
            return f"{self.key}: (not set)"
        return f'{self.key}: "{self.value}" (from {self.source})'


@dataclass(frozen=True)
class SetupStatus:
    """Whether classic xlwings finds xlnapkin's functions, from :func:`status`."""

    platform: str
    config: ConfigFile
    config_exists: bool
    udf_modules: Setting
    interpreter: Setting
    interpreter_found: bool | None
    recorded: bool
    backup_path: Path | None
    addin_path: Path | None
    addin_present: bool | None
    addin_note: str
    notes: tuple[str, ...] = ()

    @property
    def configured(self) -> bool:
        """The modules xlwings reads name xlnapkin.udfs, and an interpreter is set."""
        modules = self.udf_modules.value
        return (modules is not None and UDF_MODULE in _modules(modules)
                and bool(self.interpreter.value and self.interpreter.value.strip()))

    def describe(self) -> str:
        path = self.config.path
        lines = ["xlnapkin excel status",
                 f"scope: {self.config.describe()}",
                 f"config: {path}" + ("" if self.config_exists else " (missing)"),
                 f"configured: {'yes' if self.configured else 'no'}",
                 self.udf_modules.describe()]
        interp = self.interpreter.describe()
        if self.interpreter_found is False:
            interp += " (no such file on this machine)"
        lines.append(interp)
        if self.recorded:
            backup = f"backup {self.backup_path}" if self.backup_path else "no earlier config"
            lines.append(f"installed by xlnapkin: yes ({backup})")
        else:
            lines.append("installed by xlnapkin: no")
        lines.append(f"xlwings add-in: {self.addin_note}")
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


@dataclass(frozen=True)
class AddinResult:
    """What :func:`xlwings_addin` did: ``changed`` False when it was skipped, left things as they
    were or was a dry run; ``path`` the add-in's place in XLSTART (None off Windows)."""

    action: str
    changed: bool
    ok: bool
    path: Path | None
    message: str

    def describe(self) -> str:
        return self.message


# --- install -------------------------------------------------------------------------------------


@dataclass
class _InstallPlan:
    result: SetupResult
    real: Path
    raw: bytes | None
    new_bytes: bytes | None
    state: dict | None
    backup: Path | None


def install(config: ConfigFile, python_executable: str, *, platform: str = sys.platform,
            replace_interpreter: bool = False, dry_run: bool = False,
            now: datetime | None = None) -> SetupResult:
    """Make the modules xlwings reads in ``config`` include ``xlnapkin.udfs``, run by
    ``python_executable``.

    ``xlnapkin.udfs`` is appended to ``UDF MODULES`` (the modules already listed stay, in their
    order). The interpreter key is added when no interpreter is set; when a different one is set
    this raises, unless ``replace_interpreter`` (uninstall puts the old one back), and so it does
    where none is set but the modules listed are other workbooks' (they run the Python on PATH);
    a line an earlier install wrote is replaced. Every other line stays as it was. The first
    change backs an existing file up and writes the state file; a second run with the same
    arguments changes nothing. ``dry_run`` writes nothing and returns the same description.
    """
    python_executable = str(python_executable)
    _check_interpreter(python_executable, platform)
    if config.workbook is not None and not config.workbook.is_file():
        raise ExcelSetupError(f"{config.workbook} is a folder, not a workbook"
                              if config.workbook.is_dir() else
                              f"no such workbook: {config.workbook}")
    now = now or datetime.now()
    if dry_run:
        return _plan_install(config, python_executable, platform, replace_interpreter, now,
                             _missing_dirs(config.path.parent, config.root), True).result
    new_dirs = _missing_dirs(config.path.parent, config.root)
    with _writing(config.path):
        config.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with _locked(config):
                plan = _plan_install(config, python_executable, platform, replace_interpreter,
                                     now, new_dirs, False)
                _apply_install(config, plan)
        finally:
            # Folders made for a run that wrote nothing (no change, or a failure) go again.
            if not config.state_path.exists():
                for folder in new_dirs:
                    with contextlib.suppress(OSError):
                        folder.rmdir()
    return plan.result


def _plan_install(config: ConfigFile, python: str, platform: str, replace_interpreter: bool,
                  now: datetime, new_dirs: list[Path], dry_run: bool) -> _InstallPlan:
    conf = config.path
    real = _real_file(conf)
    _check_writable(conf, real)
    raw, doc = _read_config(real, platform)
    state = _read_state(config)
    notes = _platform_notes(platform) + _sheet_notes(config) + _path_notes(conf, platform)
    if config.workbook is not None and config.workbook.suffix.lower() not in _MACRO_BOOKS:
        notes += (f"{config.workbook.name} cannot hold xlwings' Import Functions macro: save it "
                  "as .xlsm (Excel Macro-Enabled Workbook) first",)

    wanted = []
    inherited = _user_doc(config, platform)
    folder_udf = doc.get(UDF_MODULES_KEY)
    udf, taken = folder_udf, None
    # Functions the workbook itself has from other modules (None: its VBA cannot be read).
    uses = _functions_used(config)
    if udf is None and inherited is not None:
        users = inherited.get(UDF_MODULES_KEY)
        listed = [m for m in _modules(users or "") if m != UDF_MODULE]
        # The workbooks there read the user's list now: copied where a neighbour may need it
        # or the workbook has functions from it; a workbook alone that has none from it needs
        # only xlnapkin's (xlwings' Import Functions stops at a module that fails to import).
        if _neighbours(config) or (listed and (uses is None or set(listed) & uses)):
            udf = taken = users
        elif listed:
            notes += (f"{config.workbook.name} has no functions from {', '.join(listed)} "
                      f"(listed in {config.user_path}), so {config.path} lists only "
                      f"{UDF_MODULE}",)
    if udf is not None and not udf.strip():  # empty, as the ribbon writes it: xlwings' default
        udf = taken = None
    # Modules the folder's other workbooks import now: they need the Python they run.
    theirs = [m for m in _modules(udf or "") if m != UDF_MODULE]
    if udf is None and config.workbook is not None:
        udf, own_note = _default_modules(config, platform, folder_udf is not None)
        taken, notes = udf, notes + own_note  # recorded like modules taken from the user's file
    if udf is None or UDF_MODULE not in _modules(udf):
        wanted.append((doc.written_key(UDF_MODULES_KEY), _with_module(udf)))
    # The workbook's own functions run in the Python it runs now: they need it (unknown: the
    # modules it imports now, as for its neighbours).
    needed = sorted(uses) if uses is not None else theirs
    # An interpreter line xlnapkin wrote itself (its state says so) is xlnapkin's earlier
    # environment, not another Python: moved with -VenvDir, it is replaced without asking (an
    # audit: the re-run stopped at its own line).
    interp = _interpreter_line(doc, python, platform,
                               replace_interpreter or _wrote_interpreter(state, doc, platform),
                               config, inherited, bool(theirs or needed), needed,
                               uses is not None)
    if interp is not None and config.workbook is not None and not _neighbours(config):
        notes += _new_python_note(config, doc, inherited, interp[0], python, platform)
    if interp is not None and config.workbook is not None and _neighbours(config) and not (
            _current_interpreter(doc, interp[0]) or (
                inherited is not None and _current_interpreter(inherited, interp[0]))):
        notes += (f"{', '.join(_neighbours(config))} in {config.path.parent} will run {python} "
                  "too if they use xlwings (no interpreter was set: the Python on PATH)",)
    if interp is not None:
        wanted.append(interp)
        others = [m for m in _modules(udf or "") if m != UDF_MODULE]
        if others:
            notes += (f'"{UDF_MODULES_KEY}" also lists {", ".join(others)}: xlwings imports '
                      f"them with {python} too, and Import Functions stops at the first that "
                      "fails to import there",)
    if not wanted:
        return _InstallPlan(SetupResult("install", conf, (), notes=notes, dry_run=dry_run),
                            real, raw, None, state, None)

    changes, records = [], []
    for key, value in wanted:
        before_line, before = doc.line(key), doc.get(key)
        doc.set_line(key, _entry_line(key, value))
        changes.append(ConfigChange(key, before, value))
        records.append({"key": key, "before": before, "after": value,
                        "line_before": before_line, "line_after": doc.line(key)})
        if taken is not None and _same_key(key, UDF_MODULES_KEY):
            records[-1]["inherited"] = taken
    new_bytes = _encode(doc, platform)

    steps, backup = [], None
    if raw is None:
        steps.append(f"create {conf}")
    elif state is None:
        backup = _backup_path(conf, now)
        steps.append(f"back up {conf} to {backup}")
    steps += [c.describe() for c in changes]
    steps.append(f"record the changes in {config.state_path}")

    if state is None:
        state = {"format": _STATE_FORMAT, "scope": config.scope, "created_file": raw is None,
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
    result = SetupResult("install", conf, tuple(steps), tuple(changes), notes, dry_run, backup)
    return _InstallPlan(result, real, raw, new_bytes, state, backup)


_MACRO_BOOKS = (".xlsm", ".xlsb", ".xls")  # workbooks that can call xlwings functions


def _neighbours(config: ConfigFile) -> list[str]:
    """Other macro-enabled workbooks in a workbook's folder (not Excel's ``~$`` lock files)."""
    if config.workbook is None:
        return []
    return sorted(p.name for p in config.path.parent.iterdir()
                  if p.suffix.lower() in _MACRO_BOOKS and not p.name.startswith("~$")
                  and p.is_file() and not _same_path(p, config.workbook))


def _default_modules(config: ConfigFile, platform: str, folder_says: bool = False
                     ) -> tuple[str | None, tuple[str, ...]]:
    """Where no ``UDF MODULES`` is set, xlwings imports for each workbook the module named after
    it (``Book.xlsm``: ``Book.py``, the ``xlwings quickstart`` layout). A folder file listing
    xlnapkin's module would end that for every macro workbook there: refused where another
    workbook has such a module; the workbook being set up keeps its own (returned, with a
    note), since it will be imported by xlnapkin's Python."""
    if (not folder_says and config.user_path is not None and config.user_path.is_file()
            and (_read_config(_real_file(config.user_path), platform)[1].get(UDF_MODULES_KEY)
                 or "").strip()):
        return None, ()  # the user's file lists the modules: no default is in use
    folder = config.path.parent
    theirs = [name for name in _neighbours(config) if (folder / name).with_suffix(".py").is_file()]
    if theirs:
        raise ExcelSetupError(
            f"{', '.join(theirs)} in {folder} import{'s' if len(theirs) == 1 else ''} the module "
            f'named after {"it" if len(theirs) == 1 else "them"} (no "{UDF_MODULES_KEY}" is set, '
            f"xlwings' default); an xlwings.conf there listing xlnapkin's module would end that: "
            f"move {config.workbook.name} to a folder of its own")
    own = config.workbook.with_suffix(".py")
    if not own.is_file():
        return None, ()
    return own.stem, (f"{config.workbook.name} keeps its own module {own.name} (xlwings' default "
                      f"until now), imported now by xlnapkin's Python: it needs what "
                      f"{own.name} imports",)


def _user_doc(config: ConfigFile, platform: str) -> _ConfigText | None:
    """The user's settings that the workbooks in a workbook's folder (it and its neighbours) use
    now, which the folder's file would take over from (None: no user file, or the user scope)."""
    if config.user_path is None or not config.user_path.is_file():
        return None
    return _read_config(_real_file(config.user_path), platform)[1]


def _functions_used(config: ConfigFile) -> set[str] | None:
    """The Python modules whose functions xlwings' Import Functions put into the workbook being
    set up, other than xlnapkin's and xlwings' own (importable wherever the add-in runs); None
    where its VBA code cannot be read. Empty for the user scope."""
    if config.workbook is None:
        return set()
    from ._vba import VbaError, udf_modules_called
    try:
        called = udf_modules_called(config.workbook.read_bytes())
    except (VbaError, OSError):
        return None
    return {m for m in called if m != UDF_MODULE and m.split(".")[0] != "xlwings"}


def _new_python_note(config: ConfigFile, doc: _ConfigText, inherited: _ConfigText | None,
                     key: str, python: str, platform: str) -> tuple[str, ...]:
    """Say so where the workbook ran another Python, named in the user's file, until now."""
    if _current_interpreter(doc, key) is not None or inherited is None:
        return ()
    users = _current_interpreter(inherited, key)
    if users is None or _same_interpreter(users[0], python, platform):
        return ()
    return (f"{config.workbook.name} ran {users[0]} until now (set in {config.user_path}); it "
            f"runs {python} from now on, for its RunPython macros too if it has any",)


def _wrote_interpreter(state: dict | None, doc: _ConfigText, platform: str) -> bool:
    """Whether the interpreter ``doc`` sets now is the one an earlier install wrote there."""
    key = interpreter_key(platform)
    current = _current_interpreter(doc, key)
    return current is not None and state is not None and any(
        _same_key(change["key"], current[1]) and isinstance(change.get("after"), str)
        and _same_interpreter(change["after"], current[0], platform)
        for change in state.get("changes", ()))


def _current_interpreter(doc: _ConfigText, key: str) -> tuple[str, str] | None:
    """(value, key as written) of the interpreter ``doc`` sets, the legacy key where ``key`` is
    empty or absent (as xlwings falls back); None where it sets none. A conda environment
    (``CONDA PATH`` and ``CONDA ENV``, all that ``xlwings config create`` writes for one) is an
    interpreter too where no other is named, or only a bare ``python``/``pythonw``: xlwings'
    add-in then starts Python in that environment (``XLPyCommand`` in its Main.bas)."""
    found = None
    if doc.get(key):
        found = doc.get(key), doc.written_key(key)
    elif doc.get(LEGACY_INTERPRETER_KEY):
        found = doc.get(LEGACY_INTERPRETER_KEY), LEGACY_INTERPRETER_KEY
    conda = _conda_python(doc.get(CONDA_PATH_KEY), doc.get(CONDA_ENV_KEY),
                          found[0] if found else None)
    return (conda, doc.written_key(CONDA_ENV_KEY)) if conda else found


def _conda_python(path: str | None, env: str | None, named: str | None) -> str | None:
    """The conda environment xlwings' add-in starts Python in, as text, where ``CONDA PATH``
    and ``CONDA ENV`` are both set and the interpreter ``named`` is none or exactly ``python``
    or ``pythonw`` (Main.bas compares exactly); else None."""
    if path and env and named in (None, "", "python", "pythonw"):
        return f"{env} (a conda environment in {path})"
    return None


def _interpreter_line(doc: _ConfigText, python: str, platform: str, replace: bool,
                      config: ConfigFile, inherited: _ConfigText | None = None,
                      modules_in_use: bool = False, needed: list[str] = (),
                      known: bool = True) -> tuple[str, str] | None:
    """The interpreter line to write, None if ours is already the one xlwings uses; raises if
    another is set (in the file, or in the user's file its workbooks use now) and ``replace`` is
    False, or where none is set but other workbooks (the user file's, or the folder's) import
    modules (``modules_in_use``) with the Python on PATH. For the workbook being set up alone in its
    folder the same holds where it has functions from other modules (``needed``; not ``known``
    where its VBA code could not be read: the modules it imports now): they run in the Python
    it runs now."""
    key = interpreter_key(platform)
    current = _current_interpreter(doc, key)
    where, who, instead = config.path, "the workbooks in that folder", ""
    if config.scope == "user":
        who, instead = "other workbooks", "set up one workbook instead (--workbook BOOK), or "
        if current is None and not replace and modules_in_use:  # they run the one on PATH
            raise ExcelSetupError(
                f"{config.path} lists modules of other workbooks, which run the Python on PATH "
                "(no interpreter is set for them); naming xlnapkin's Python there would move "
                f"them to it: {instead}install xlnapkin into the Python they run and pass it "
                "as --python, or replace it with --replace-interpreter (install.ps1 "
                "-ReplaceInterpreter; uninstall puts it back)")
    elif current is None and not _neighbours(config) and needed and not replace:
        users = _current_interpreter(inherited, key) if inherited is not None else None
        if users is None or not _same_interpreter(users[0], python, platform):
            now = (f'"{users[0]}" (set in {config.user_path})' if users is not None
                   else "the Python on PATH (no interpreter is set for it)")
            what = "has functions from" if known else (
                "cannot be read for its functions (its VBA code), and imports")
            raise ExcelSetupError(
                f"{config.workbook.name} {what} {', '.join(needed)}, which run in "
                f"{now}; an xlwings.conf in {config.path.parent} naming xlnapkin's Python "
                "would run them there: install xlnapkin into that Python and pass it as "
                "--python, or replace it with --replace-interpreter (uninstall puts it back)")
    elif current is None and _neighbours(config):
        who = f"{', '.join(_neighbours(config))} in {config.path.parent}"
        instead = f"move {config.workbook.name} to a folder of its own, or "
        if inherited is not None:
            current, where = _current_interpreter(inherited, key), config.user_path
        if current is not None and _same_interpreter(current[0], python, platform):
            current = None  # they run this Python already: the folder's file may say so too
        elif current is None and not replace and modules_in_use:  # they run the one on PATH
            raise ExcelSetupError(
                f"{who} run{'s' if len(_neighbours(config)) == 1 else ''} the Python on PATH "
                f"(no interpreter is set for them); an xlwings.conf there naming xlnapkin's "
                f"would change that: {instead}replace it with --replace-interpreter (uninstall "
                "puts it back)")
    if current is None:
        return doc.written_key(key), python
    (value, shown) = current
    if _same_interpreter(value, python, platform):
        return None
    if not replace:
        raise ExcelSetupError(
            f'{where} sets "{shown}" to "{value}", another Python that {who} may use: '
            f"{instead}replace it with --replace-interpreter (uninstall puts it back)")
    return doc.written_key(key), python


def _apply_install(config: ConfigFile, plan: _InstallPlan) -> None:
    """Backup, then the record, then the config: an interruption never leaves a change that
    uninstall does not know about, and a failure takes back what this run wrote."""
    if plan.new_bytes is None:
        return
    rollback = _Rollback()
    old_state = _read_bytes(config.state_path)
    try:
        if plan.backup is not None:
            _write_new(plan.backup, plan.raw)
            rollback.add(plan.backup.unlink)
            shutil.copystat(plan.real, plan.backup)
        rollback.add(_restore_bytes, config.state_path, old_state)
        _write_atomic(config.state_path,
                      (json.dumps(plan.state, indent=2) + "\n").encode("utf-8"))
        _write_atomic(plan.real, plan.new_bytes)
    except BaseException:
        rollback.run()
        raise


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _merge_records(existing: list, new: list) -> None:
    for rec in new:
        for old in existing:
            if _same_key(old["key"], rec["key"]):
                old["after"], old["line_after"] = rec["after"], rec["line_after"]
                break
        else:
            existing.append(rec)


# --- uninstall -----------------------------------------------------------------------------------


def uninstall(config: ConfigFile, *, platform: str = sys.platform,
              dry_run: bool = False) -> SetupResult:
    """Undo :func:`install` from its state file.

    If the config is still exactly what xlnapkin wrote, the pre-install file comes back byte for
    byte (from the backup; or the file is deleted if there was none) and the backup goes. If it was
    edited since, only xlnapkin's own changes are reversed and the backup is kept. Without a state
    file this does nothing.
    """
    if dry_run or not os.path.lexists(config.state_path):
        return _uninstall(config, platform, dry_run=dry_run)[0]
    with _writing(config.path):
        with _locked(config):
            result, emptied = _uninstall(config, platform, dry_run=False)
        for folder in emptied:  # after the lock file, which lives in the first of them, is gone
            folder.rmdir()
    return result


def _uninstall(config: ConfigFile, platform: str, *,
               dry_run: bool) -> tuple[SetupResult, list[Path]]:
    """The uninstall, and the folders that are left empty for the caller to remove."""
    conf = config.path
    state = _read_state(config)
    if state is None:
        return _nothing_recorded(config, platform, dry_run), []

    real = _real_file(conf)
    raw, doc = _read_config(real, platform)
    backup = conf.with_name(state["backup"]) if state["backup"] else None
    if backup is not None and backup.is_symlink():
        raise ExcelSetupError(f"{backup} is a link, not xlnapkin's backup; move it away and "
                              "run again")
    steps, changes, notes = [], [], []
    new_bytes: bytes | None = None
    delete_conf = delete_backup = False
    # A config that is (now) a link is never deleted: only its target's content changes.
    may_delete = not conf.is_symlink()

    if raw is None:
        notes.append(f"{conf} no longer exists; nothing to reverse in it")
        if backup is not None:
            notes.append(f"the pre-install config is kept in {backup}")
    elif (not state["created_file"] and state.get("pristine", True)
          and _sha256(raw) == state["config_sha256"]):
        if backup is not None and backup.is_file():
            new_bytes = backup.read_bytes()
            delete_backup = True
            steps.append(f"restore {conf} from {backup}")
            steps.append(f"delete {backup}")
            changes = [ConfigChange(r["key"], r["after"], r["before"])
                       for r in reversed(state["changes"])]
        else:
            notes.append(f"backup {backup} is missing; reversing xlnapkin's changes only")
    # Otherwise take xlnapkin's own lines out. A config install created is deleted only when
    # nothing else is left in it, whatever the state file claims.
    if raw is not None and new_bytes is None:
        changes, edit_notes = _reverse_records(doc, state["changes"])
        notes += edit_notes
        if changes:
            if state["created_file"] and doc.is_blank() and may_delete:
                delete_conf = True
                steps.append(f"delete {conf} (it did not exist before install)")
            else:
                new_bytes = _encode(doc, platform)
                steps += [c.describe() for c in changes]
        if backup is not None and backup.is_file():
            notes.append(f"the pre-install config is kept in {backup} "
                         "(the config was edited after install)")
    if delete_conf or new_bytes is not None:
        _check_writable(conf, real)
    steps.append(f"delete {config.state_path}")
    emptied = []
    if delete_conf:
        going = {conf, config.state_path, config.lock_path}
        going |= {backup} if delete_backup else set()
        emptied = _emptied_dirs([Path(d) for d in state.get("created_dirs", [])], going)
        steps += [f"remove the empty folder {folder}" for folder in emptied]

    if not dry_run:
        if delete_conf:
            conf.unlink()
        elif new_bytes is not None:
            _write_atomic(real, new_bytes)
            if delete_backup:
                shutil.copystat(backup, real)
        if delete_backup:
            backup.unlink()
        config.state_path.unlink()
    result = SetupResult("uninstall", conf, tuple(steps), tuple(changes), tuple(notes), dry_run,
                         backup)
    return result, emptied


def _nothing_recorded(config: ConfigFile, platform: str, dry_run: bool) -> SetupResult:
    notes = ()
    with contextlib.suppress(ExcelSetupError):  # a broken link: nothing of ours to report
        _, doc = _read_config(_real_file(config.path), platform)
        udf = doc.get(UDF_MODULES_KEY)
        if udf is not None and UDF_MODULE in _modules(udf):
            notes = (f"{config.path} names {UDF_MODULE} but xlnapkin did not record installing "
                     "it; left as is",)
    return SetupResult("uninstall", config.path, (), notes=notes, dry_run=dry_run)


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
        elif _same_key(key, UDF_MODULES_KEY) and UDF_MODULE in _modules(value):
            rest = _without_module(value)
            if not rest.strip() and rec["line_before"] is None:
                doc.delete(key)
                changes.append(ConfigChange(key, value, None))
            else:
                doc.set_line(key, _entry_line(doc.written_key(key), rest))
                changes.append(ConfigChange(key, value, rest))
        elif not _same_key(key, UDF_MODULES_KEY):
            notes.append(f'"{key}" was changed after install; left as "{value}"')
    return changes, notes


# --- status --------------------------------------------------------------------------------------


def status(config: ConfigFile, *, home: Path, platform: str = sys.platform) -> SetupStatus:
    """What xlwings would use for ``config``'s workbooks, and what xlnapkin recorded.

    For a workbook's folder the settings are looked up as xlwings does: the workbook's
    ``xlwings.conf`` sheet (read, never written), then the folder's file, then the user's file
    under ``home``. Nothing is written.
    """
    notes: list[str] = []
    layers = _layers(config, Path(home), platform, notes)
    key = interpreter_key(platform)
    udf = _lookup(layers, UDF_MODULES_KEY)
    interpreter = _lookup(layers, key)
    if not interpreter.value:
        legacy = _lookup(layers, LEGACY_INTERPRETER_KEY)
        if legacy.value:
            interpreter = Setting(key, legacy.value, f'{legacy.source}, legacy "INTERPRETER"')
    path, env = (_lookup(layers, k) for k in (CONDA_PATH_KEY, CONDA_ENV_KEY))
    conda = _conda_python(path.value, env.value, interpreter.value)
    if conda:  # the add-in starts Python in that conda environment
        interpreter = Setting(key, conda, f'{env.source}, "CONDA ENV"')
    found = None
    if interpreter.value and platform == sys.platform and not conda:
        found = Path(os.path.expandvars(interpreter.value)).is_file()
    state = None
    try:
        state = _read_state(config)
    except ExcelSetupError as exc:
        notes.append(str(exc))
    backup = config.path.with_name(state["backup"]) if state and state["backup"] else None
    addin_path, addin_present, addin_note = _addin_status(Path(home), platform)
    exists = os.path.lexists(config.path)
    return SetupStatus(platform, config, exists, udf, interpreter, found, state is not None,
                       backup, addin_path, addin_present, addin_note, tuple(notes))


def _layers(config: ConfigFile, home: Path, platform: str,
            notes: list[str]) -> list[tuple[str, object]]:
    """``(source, lookup)`` per place xlwings reads, first first; ``lookup(key)`` gives the raw
    value (None when absent). Each file's shadowed duplicate keys become notes."""
    layers = []
    if config.workbook is not None and config.workbook.is_file():
        sheet = _sheet_settings(config.workbook, notes)
        if sheet:
            layers.append((f"the xlwings.conf sheet in {config.workbook.name}",
                           lambda key, s=sheet: s.get(key.upper())))
    files = [config.path]
    if config.scope == "workbook":
        files.append(config_path(home, platform))
    for path in files:
        try:
            _, doc = _read_config(_real_file(path), platform)
        except ExcelSetupError as exc:
            notes.append(str(exc))
            continue
        notes += _shadow_notes(doc, path, platform)
        layers.append((str(path), doc.get))
    return layers


def _lookup(layers, key: str) -> Setting:
    for source, get in layers:
        value = get(key)
        if value is not None:
            return Setting(key, value, source)
    return Setting(key, None, None)


def _shadow_notes(doc: _ConfigText, path: Path, platform: str) -> list[str]:
    """Say where a later line of a key would look configured but xlwings reads only the first."""
    notes = []
    for key in (UDF_MODULES_KEY, interpreter_key(platform)):
        found = doc.entries(key)
        if len(found) > 1:
            (i, first, value), later = found[0], found[1:]
            shown = ", ".join(f"{n + 1}" for n, _, _ in later)
            notes.append(f'{path} line {i + 1} "{first}","{value}" comes first, and xlwings reads '
                         f"only that line: line {shown} for the same key is ignored")
    return notes


def _sheet_settings(workbook: Path, notes: list[str]) -> dict | None:
    """The workbook's ``xlwings.conf`` sheet as xlwings reads it (column A from A1 down to the
    first blank, keys upper-cased, column B the values), or None when it has none."""
    from openpyxl import load_workbook  # only here: set-up commands stay light otherwise
    from openpyxl.utils.exceptions import InvalidFileException
    import zipfile
    try:
        book = load_workbook(workbook, read_only=True, data_only=True, keep_links=False)
    except (OSError, InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as exc:
        notes.append(f"could not look for an xlwings.conf sheet in {workbook.name} ({exc}); "
                     "one there would override the files")
        return None
    try:
        name = next((n for n in book.sheetnames if n.lower() == CONF_NAME), None)
        if name is None:
            return None
        settings: dict[str, str] = {}
        for key, value in book[name].iter_rows(min_col=1, max_col=2, values_only=True):
            if key is None or str(key) == "":
                break
            settings.setdefault(str(key).upper(), "" if value is None else str(value))
        return settings
    finally:
        book.close()


def _sheet_notes(config: ConfigFile) -> tuple[str, ...]:
    """Warn when the workbook's own xlwings.conf sheet overrides the folder's file."""
    if config.workbook is None:  # install checked that the workbook is there
        return ()
    notes: list[str] = []
    sheet = _sheet_settings(config.workbook, notes) or {}
    for key, value in sheet.items():
        if key in (UDF_MODULES_KEY, "INTERPRETER_WIN", "INTERPRETER_MAC"):
            notes.append(f'the xlwings.conf sheet in {config.workbook.name} sets "{key}" to '
                         f'"{value}", which overrides {config.path}: edit that sheet (column A '
                         f"{key}, column B its value) to include xlnapkin")
    return tuple(notes)


def _addin_status(home: Path, platform: str) -> tuple[Path | None, bool | None, str]:
    candidates = xlstart_candidates(home, platform)
    if not candidates:
        return None, None, (f"not applicable on {platform}: Excel add-ins exist only on Windows "
                            "and macOS (use xlwings Lite in Excel on the web)")
    for folder in candidates:
        if (folder / ADDIN_FILE).is_file():
            note = f"installed ({folder / ADDIN_FILE})"
            version = _addin_version(_read_bytes(folder / ADDIN_FILE) or b"")[0]
            if version:
                note += f", for xlwings {version}"
                here = _installed_xlwings()
                if here and here != version:
                    note += (f"; this Python has xlwings {here}, and xlnapkin's functions need "
                             "the add-in of the version they run with")
            if _is_mac(platform):
                note += "; classic UDFs do not run on macOS, use xlwings Lite"
            return folder / ADDIN_FILE, True, note
    where = candidates[0] / ADDIN_FILE
    return where, False, f"not found (expected {where}; run `xlnapkin excel addin install`)"


def _installed_xlwings() -> str | None:
    import importlib.metadata
    try:
        return importlib.metadata.version("xlwings")
    except importlib.metadata.PackageNotFoundError:
        return None


def _platform_notes(platform: str) -> tuple[str, ...]:
    if platform == "win32":
        return ()
    if _is_mac(platform):
        return ("classic xlwings UDFs run only on Windows; in Excel for Mac use xlwings Lite "
                "(`xlnapkin lite`)",)
    return (f"Excel does not run on {platform}; this file only matters to xlwings on this "
            "machine",)


def _path_notes(conf: Path, platform: str) -> tuple[str, ...]:
    """A warning where the add-in may not find the file: xlwings' VBA opens it by a path in the
    ANSI code page (``Environ("USERPROFILE")``, ``Open``, ``GetAttr``), which a user name such as
    Łukasz's on a Western PC falls outside (an audit)."""
    if platform != "win32":
        return ()
    try:
        str(conf).encode(_encoding(platform))
    except UnicodeEncodeError:
        return (f"{conf} has characters outside Windows' ANSI code page ({_encoding(platform)}), "
                "through which xlwings' add-in opens its settings: it may not read this file. "
                "Where the functions do not appear, set up a workbook in a folder whose path "
                "has none (--workbook C:\\work\\Book.xlsm)",)
    return ()


def _package_version() -> str:
    from . import __version__
    return __version__


# --- the add-in ----------------------------------------------------------------------------------

ADDIN_BACKUP_NAME = "xlwings.xlam.before-xlnapkin"
ADDIN_RECORD_NAME = "addin.json"
VENV_RECORD_NAME = "venv.txt"
#: The oldest xlwings xlnapkin runs with: pyproject.toml's ``excel`` extra (a test checks).
MIN_XLWINGS = (0, 33)
_LEGACY_ADDIN_MARKER = "addin-was-present.txt"  # written by install.ps1 before 2026-12


def venv_record(home: Path) -> Path:
    """Where ``install.ps1`` writes the folder of the environment it installed xlnapkin into (one
    line), so that ``uninstall.ps1`` finds an environment made with ``-VenvDir``: it cannot ask
    xlnapkin where xlnapkin is. The scripts write and read it; nothing here does."""
    return Path(home) / ".xlnapkin" / VENV_RECORD_NAME


def addin_record(home: Path) -> Path:
    """Where xlnapkin notes whether the xlwings add-in was in XLSTART before it, and the SHA-256
    of the copy it put there, so that removing it never takes away another project's add-in."""
    return Path(home) / ".xlnapkin" / ADDIN_RECORD_NAME


def _legacy_addin_marker(home: Path) -> Path:
    """install.ps1's older record: ``True`` or ``False`` (was the add-in there before it)."""
    local = os.environ.get("LOCALAPPDATA")
    if sys.platform == "win32" and local and _same_path(Path(home), Path.home()):
        return Path(local) / "xlnapkin" / _LEGACY_ADDIN_MARKER
    return Path(home) / "AppData" / "Local" / "xlnapkin" / _LEGACY_ADDIN_MARKER


def _read_addin_record(home: Path) -> dict | None:
    """``{"was_present": bool, "sha256": str | None}``, or None where nothing is recorded."""
    path = addin_record(home)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = None
    except (OSError, ValueError) as exc:
        raise ExcelSetupError(f"cannot read {path} ({exc}); delete it to let xlnapkin treat "
                              "the xlwings add-in as not its own") from None
    if data is not None:
        sha = data.get("sha256") if isinstance(data, dict) else None
        if (not isinstance(data, dict) or not isinstance(data.get("was_present"), bool)
                or (sha is not None and not (isinstance(sha, str) and _SHA256_RE.fullmatch(sha)))
                or not isinstance(data.get("backup", False), bool)):
            raise ExcelSetupError(f"{path} is not an add-in record xlnapkin wrote; delete it to "
                                  "let xlnapkin treat the xlwings add-in as not its own")
        return {"was_present": data["was_present"], "sha256": sha,
                "backup": data.get("backup", False)}
    try:
        text = _legacy_addin_marker(home).read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    first = (text.splitlines() or [""])[0].strip()
    return {"was_present": first != "False", "sha256": None,  # anything unclear: not ours
            "backup": False}


def _forget_addin(home: Path) -> None:
    for path in (addin_record(home), _legacy_addin_marker(home), addin_backup(home)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def xlwings_addin_source(python_executable: str | None = None, runner=None) -> Path:
    """xlwings' own add-in, ``xlwings/addin/xlwings.xlam``, in the environment of
    ``python_executable`` (default: this Python). It must be the version of the xlwings that
    runs the functions: the add-in loads that version's DLL from beside the interpreter.
    ``runner`` stands in for :func:`subprocess.run` in tests."""
    here = Path(sys.executable).parent
    if python_executable is None or _same_path(Path(python_executable).parent, here):
        import importlib.util
        spec = importlib.util.find_spec("xlwings")
        if spec is None or not spec.origin:
            raise ExcelSetupError(_NO_XLWINGS)
        return Path(spec.origin).parent / "addin" / ADDIN_FILE
    exe = Path(python_executable)
    if exe.name.lower() == "pythonw.exe" and exe.with_name("python.exe").is_file():
        exe = exe.with_name("python.exe")  # the console one prints to a pipe on every Windows
    code = ("import importlib.util as u, os; s = u.find_spec('xlwings'); "
            "print(os.path.dirname(s.origin) if s and s.origin else '')")
    try:
        proc = (runner or subprocess.run)([str(exe), "-c", code], capture_output=True, text=True)
    except OSError as exc:
        raise ExcelSetupError(f"cannot run {exe}: {exc.strerror or exc}") from None
    folder = (proc.stdout or "").strip()
    if proc.returncode != 0 or not folder:
        raise ExcelSetupError(f"{exe}: {_NO_XLWINGS}")
    return Path(folder) / "addin" / ADDIN_FILE


_NO_XLWINGS = ('xlwings is not installed in that environment: install the release wheel with '
               'its excel extra (pip install "xlnapkin-<version>-py3-none-any.whl[excel]")')


def xlwings_addin(action: str = "install", *, home: Path | None = None,
                  platform: str = sys.platform, python_executable: str | None = None,
                  source: Path | None = None, replace: bool = False, dry_run: bool = False,
                  runner=None, elsewhere: list[Path] | None = None,
                  check_dll: bool = sys.platform == "win32") -> AddinResult:
    """Copy xlwings' own add-in into Excel's XLSTART folder (``install``), or take it away
    (``remove``), on Windows; report it skipped elsewhere.

    This is what ``xlwings addin install|remove`` does, without that command's side effect: on a
    first install it also writes a user-wide ``xlwings.conf`` naming its own Python (xlwings'
    ``config_create``), which every workbook without settings of its own would then use. Excel
    need not run (it must not: it keeps the file open).

    install: an add-in already there is left alone when it is the same file; replaced when it is
    the copy xlnapkin put there (an upgrade) or with ``replace``; otherwise (another project's)
    kept when it is for the same xlwings version as the environment's, and else left as it is
    with a result that is not ``ok``, saying how to match the versions or replace it
    (:func:`_foreign_addin`). remove: only the copy
    xlnapkin put there, unchanged since, and only while the user-wide xlwings.conf lists no other
    UDF modules; ``replace`` removes it anyway. A user-wide xlwings.conf that ``xlwings addin
    install`` wrote for xlnapkin's Python (earlier installers ran it) goes too.

    Two more reasons to stop an install with nothing changed: Excel already loads an xlwings
    add-in from somewhere else (``elsewhere``, default :func:`loaded_addins`: a second file of
    that name would not open beside it) for another xlwings version, and, where ``check_dll``
    (on Windows itself), the add-in's DLL is not beside the Python (:func:`_dll_missing`).
    """
    if action not in ("install", "remove"):
        raise ExcelSetupError(f"action must be 'install' or 'remove', got {action!r}")
    if platform != "win32":
        return AddinResult(action, False, True, None,
                           f"xlwings add-in: skipped (classic xlwings add-ins and UDFs need "
                           f"Excel on Windows; this is {platform})")
    home = Path.home() if home is None else Path(home)
    target = xlstart_candidates(home, platform)[0] / ADDIN_FILE
    record = _read_addin_record(home)
    current = _read_bytes(target)
    if action == "install":
        source = source or xlwings_addin_source(python_executable, runner)
        new = _read_bytes(source)
        if new is None:
            raise ExcelSetupError(f"xlwings' add-in is not at {source}: {_NO_XLWINGS}")
        ours, _ = _addin_version(new)
        stop = (_dll_missing(python_executable, ours) if check_dll and ours else None) or (
            _loaded_elsewhere(loaded_addins(home) if elsewhere is None else elsewhere,
                              target, ours))
        if stop is not None and stop.ok and current is not None:
            return _second_copy(stop, home, target, record, current, dry_run)
        if stop is not None:
            return stop
        result = _addin_install(home, target, record, current, replace, dry_run, source, new,
                                python_executable)
        return _with_stray_config(result, home, platform, python_executable, dry_run)
    return _addin_remove(home, platform, target, record, current, replace, dry_run,
                         python_executable)


def _dll_missing(python_executable: str | None, version: str) -> AddinResult | None:
    """A stop where ``xlwings64-<version>.dll`` is neither beside the Python nor one folder up,
    the two places the add-in loads it from (``XLPyLoadDLL`` in xlwings' ``Main.bas``).

    pip puts it there only from xlwings' ``win_amd64`` wheels: for a 32-bit or an ARM64 Python it
    takes the pure-Python wheel, which has no DLL, and every function would fail in Excel with
    "Could not load xlwings64-<version>.dll" (an audit: the installer had said all was well)."""
    exe = Path(python_executable or sys.executable)
    names = (f"xlwings64-{version}.dll", f"xlwings32-{version}.dll")
    if any((folder / name).is_file() for folder in (exe.parent, exe.parent.parent)
           for name in names):
        return None
    return AddinResult(
        "install", False, False, None,
        f"xlwings add-in: STOPPED, nothing changed: the add-in loads xlwings64-{version}.dll "
        f"from beside {exe} or from {exe.parent.parent}, and it is in neither. pip installs it "
        "with xlwings only for a 64-bit x86 Python on Windows; a 32-bit or an ARM64 Python "
        "gets xlwings without it. Install Python's 'Windows installer (64-bit)' from "
        "https://www.python.org/downloads/, then run install.ps1 again with -Python and the "
        "path of its python.exe, and -VenvDir a new folder (by hand: an environment made "
        "with that Python).")


def loaded_addins(home: Path) -> list[Path]:
    r"""xlwings add-ins Excel opens from places other than the user's XLSTART folder, on this
    Windows machine (empty elsewhere, or for another user's ``home``): the machine-wide XLSTART
    folders of Office (``xlwings addin install --glob`` puts it there), the alternate start-up
    folder of Excel's options, and add-ins ticked in Excel's Add-ins dialog (the ``OPEN``,
    ``OPEN1``... values under ``HKCU\Software\Microsoft\Office\<version>\Excel\Options``)."""
    if sys.platform != "win32" or not _same_path(home, Path.home()):
        return []
    programs = [os.environ.get(v) for v in ("ProgramFiles", "ProgramFiles(x86)", "ProgramW6432")]
    appdata = os.environ.get("APPDATA")
    return _addin_places(_excel_options(), [Path(p) for p in programs if p],
                         Path(appdata) / "Microsoft" / "AddIns" if appdata else None)


def _addin_places(options: list[tuple[str, str]], programs: list[Path],
                  addins: Path | None = None) -> list[Path]:
    """The xlwings add-in files among Excel's ``options`` (name, value) and the Office start-up
    folders under the ``programs`` folders, each once. An ``OPEN`` value names the file after
    its switches (``/R``), in quotes or not; a bare file name is in the user's ``addins``
    folder, where Excel's Add-ins dialog keeps its own."""
    folders, files = [], []
    for base in programs:
        office = base / "Microsoft Office"
        folders += [*office.glob("root/Office*/XLSTART"), *office.glob("Office*/XLSTART")]
    for name, value in options:
        if name.upper() == "ALTSTARTUP":
            folders.append(Path(value))
        elif re.fullmatch(r"OPEN\d*", name.upper()):
            # '/R "C:\...\xlwings.xlam"', '/R C:\...\xlwings.xlam', '"xlwings.xlam"'
            quoted = re.search(r'"([^"]+)"', value)
            text = quoted.group(1) if quoted else re.sub(r"^(\s*/\w+)+\s+", "", value).strip()
            bare = not re.search(r"[\\/]", text)  # a file name alone
            files.append(addins / text if bare and addins is not None else Path(text))
    found = [f / ADDIN_FILE for f in folders] + [f for f in files if f.name.lower() == ADDIN_FILE]
    unique: list[Path] = []
    for path in found:
        if path.is_file() and not any(_same_path(path, u) for u in unique):
            unique.append(path)
    return unique


def _excel_options() -> list[tuple[str, str]]:
    """The string values of Excel's options for each Office version in the registry."""
    try:
        import winreg
    except ImportError:
        return []
    found = []
    try:
        office = winreg.OpenKey(winreg.HKEY_CURRENT_USER, r"Software\Microsoft\Office")
    except OSError:
        return []
    with office:
        for i in range(1000):
            try:
                version = winreg.EnumKey(office, i)
            except OSError:
                break
            try:
                options = winreg.OpenKey(office, version + r"\Excel\Options")
            except OSError:
                continue
            with options:
                for j in range(1000):
                    try:
                        name, value, kind = winreg.EnumValue(options, j)
                    except OSError:
                        break
                    if kind in (winreg.REG_SZ, winreg.REG_EXPAND_SZ):
                        found.append((name, os.path.expandvars(value)))
    return found


def _loaded_elsewhere(elsewhere: list[Path], target: Path, ours: str | None
                      ) -> AddinResult | None:
    """A stop (or a keep) where Excel loads an xlwings add-in from outside ``target``'s folder:
    a copy in XLSTART would not open beside it (Excel opens one workbook of a name), and the
    one that does loads its own version's DLL (an audit)."""
    for other in elsewhere:
        if _same_path(other, target):
            continue
        theirs, why = _addin_version(_read_bytes(other) or b"")
        if theirs is not None and theirs == ours:
            return AddinResult("install", False, True, other,
                               f"xlwings add-in: Excel already loads one from {other}, for "
                               f"xlwings {theirs}, the version xlnapkin's functions run with; "
                               "no copy was put in XLSTART")
        version = (f"for xlwings {theirs}" if theirs
                   else f"of a version that cannot be read ({why})")
        remove = ("remove that add-in (File > Options > Add-ins > Manage Excel Add-ins, or ask "
                  "whoever put it there) and run this again")
        fix = (f"Give xlnapkin's environment xlwings {theirs}: run install.ps1 again with "
               f"-XlwingsVersion {theirs}; or {remove}."
               if theirs and _version_tuple(theirs) >= MIN_XLWINGS
               else f"To use xlnapkin, {remove}.")
        return AddinResult(
            "install", False, False, other,
            f"xlwings add-in: STOPPED, nothing changed: Excel already loads an xlwings add-in "
            f"from {other} ({version}; xlnapkin's environment has xlwings {ours}). A second "
            f"one in {target.parent} would not open beside it, and that one loads its own "
            f"version's DLL, so xlnapkin's functions would fail. {fix}")
    return None


def _second_copy(kept: AddinResult, home, target, record, current, dry_run) -> AddinResult:
    """Excel loads an add-in of xlnapkin's version from elsewhere while XLSTART holds one too: two
    workbooks of one name would not both open (a review: the install said "no copy" and left
    xlnapkin's earlier copy there). xlnapkin's own copy, unchanged since, goes; another is the
    user's to remove."""
    ours = (record is not None and not record["was_present"]
            and record["sha256"] in (None, _sha256(current)))
    if not ours:
        return AddinResult(
            "install", False, False, target,
            f"xlwings add-in: STOPPED, nothing changed: Excel loads xlwings add-ins from both "
            f"{kept.path} and {target}, and two workbooks of one name do not open together: "
            f"remove one of them (File > Options > Add-ins, or delete the file), then run this "
            "again.")
    if dry_run:
        return dataclasses.replace(kept, message=kept.message + f"; would remove xlnapkin's "
                                   f"earlier copy, {target}, which would not open beside it")
    try:
        target.unlink()
    except PermissionError:
        raise ExcelSetupError(f"cannot delete {target}: close Excel (it keeps the add-in open) "
                              "and run this again") from None
    _forget_addin(home)
    return dataclasses.replace(kept, changed=True, message=kept.message + f"; removed "
                               f"xlnapkin's earlier copy, {target}, which would not open "
                               "beside it")


def _addin_install(home, target, record, current, replace, dry_run, source, new,
                   python_executable) -> AddinResult:
    sha = _sha256(new)
    ours = record is not None and not record["was_present"] and (
        record["sha256"] is None or record["sha256"] == _sha256(current))
    if current is None:
        was_present, verb = False, "installed"
    elif _sha256(current) == sha:
        was_present = record["was_present"] if record else True
        if not dry_run and (record is None or record["sha256"] != sha):
            _write_addin_record(home, was_present, sha, bool(record and record["backup"]))
        return AddinResult("install", False, True, target,
                           f"xlwings add-in: {target} is already this version; left as it is")
    elif ours or replace:
        # replacing someone else's copy keeps it theirs: a copy of it is kept, and removing
        # xlnapkin's puts it back (a review: -ReplaceAddin had lost it for good)
        was_present, verb = (False if ours else True), "replaced"
    else:
        return _foreign_addin(target, current, new, python_executable)
    if dry_run:
        return AddinResult("install", False, True, target,
                           f"xlwings add-in: would copy {source} to {target} ({verb})")
    # the copy kept is the other project's add-in as it is now: the file there is theirs where
    # it is not the copy xlnapkin last put there (a review: a backup kept from before, or one
    # of xlnapkin's own older copy, put the wrong add-in back)
    theirs_now = current is not None and not ours and not (
        record is not None and record["sha256"] == _sha256(current))
    if theirs_now:
        addin_backup(home).parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(addin_backup(home), current)
    backup = theirs_now or bool(record and record["backup"] and addin_backup(home).is_file())
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(target, new)
    except PermissionError:
        raise ExcelSetupError(f"cannot write {target}: close Excel (it keeps the add-in open) "
                              "and run this again") from None
    _write_addin_record(home, was_present, sha, backup)
    return AddinResult("install", True, True, target,
                       f"xlwings add-in: {verb} {target} (xlwings' own, from {source})")


def _addin_version(data: bytes) -> tuple[str | None, str]:
    """The xlwings version an add-in file was built for (None when unreadable), and why not."""
    from ._vba import VbaError, xlwings_version
    try:
        version = xlwings_version(data)
    except VbaError as exc:
        return None, str(exc)
    return version, "" if version else "its VBA code names no xlwings version"


def _version_tuple(version: str) -> tuple[int, ...]:
    """``"0.35.1"`` -> ``(0, 35, 1)``: the leading numbers, as far as they go."""
    found = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(p) for p in found.group(0).split(".")) if found else ()


def _foreign_addin(target: Path, current: bytes, new: bytes,
                   python_executable: str | None) -> AddinResult:
    """Another xlwings add-in is in XLSTART (another project's, or one put there by hand).

    The add-in loads ``xlwings64-<its version>.dll`` from beside the Python it starts, so it
    runs xlnapkin's functions only when xlnapkin's environment has that same xlwings version:
    then it is kept. Otherwise nothing changes and the result is not ok (the installer stops):
    replacing it would break the other project the same way, so the user picks one of the two
    remedies the message names, and only that environment or that file changes.
    """
    theirs, why = _addin_version(current)
    ours, _ = _addin_version(new)
    if theirs is not None and theirs == ours:
        return AddinResult("install", False, True, target,
                           f"xlwings add-in: kept the xlwings add-in already in {target} (not "
                           f"xlnapkin's copy, but for xlwings {theirs}, the version xlnapkin's "
                           "functions run with)")
    have = f"xlwings {ours}" if ours else "its xlwings version"
    env = f"xlnapkin's environment has xlwings {ours}" if ours else (
        "xlnapkin's environment has an xlwings add-in whose version cannot be read either")
    python = PureWindowsPath(python_executable or sys.executable)
    if python.name.lower() == "pythonw.exe":
        python = python.with_name("python.exe")
    replace = ("replace it with xlnapkin's: run this again with -ReplaceAddin (install.ps1) or "
               "--replace (xlnapkin excel addin install); the other project then needs "
               f"xlnapkin's {have} too")
    if theirs is None:
        head = (f"{target} is another xlwings add-in, and its xlwings version cannot be read "
                f"({why}); {env}.")
        fix = ("If you know its version (the xlwings tab in Excel shows it), give xlnapkin's "
               "environment that version: run install.ps1 again with -XlwingsVersion VERSION. "
               f"Or {replace}.")
    else:
        head = (f"{target} is another xlwings add-in, for xlwings {theirs}; {env}. That "
                f"add-in loads xlwings64-{theirs}.dll from beside the Python it starts, so "
                "xlnapkin's functions would fail with a missing-DLL error.")
        if _version_tuple(theirs) < MIN_XLWINGS:
            fix = (f"xlnapkin needs xlwings {'.'.join(map(str, MIN_XLWINGS))} or newer, so it "
                   f"cannot use that add-in: {replace}.")
        else:
            fix = (f"To keep it, give xlnapkin's environment xlwings {theirs}: run install.ps1 "
                   f'again with -XlwingsVersion {theirs} (or: "{python}" -m pip install '
                   f'"xlwings=={theirs}", then this again). Or {replace}.')
    return AddinResult("install", False, False, target,
                       f"xlwings add-in: STOPPED, nothing changed: {head} {fix}")


def _write_addin_record(home: Path, was_present: bool, sha: str, backup: bool = False) -> None:
    path = addin_record(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, json.dumps({"was_present": was_present, "sha256": sha, "backup": backup},
                                   indent=1).encode("utf-8"))
    with contextlib.suppress(FileNotFoundError):
        _legacy_addin_marker(home).unlink()


def _addin_remove(home, platform, target, record, current, force, dry_run,
                  python_executable) -> AddinResult:
    why = None
    if (current is not None and record is not None and record["was_present"]
            and record["backup"] and record["sha256"] == _sha256(current)
            and addin_backup(home).is_file()):
        return _addin_put_back(home, platform, target, dry_run, python_executable)
    if current is None:
        why = f"not in {target}; nothing to remove"
    elif not force:
        if record is None:
            why = "xlnapkin has no record of installing it"
        elif record["was_present"]:
            why = "it was there before xlnapkin was installed"
        elif record["sha256"] not in (None, _sha256(current)):
            why = "it was replaced since (another project's xlwings version)"
        else:
            others = _other_udf_modules(home, platform)
            if others:
                why = ("your user-wide xlwings.conf lists other functions that use it ("
                       + ", ".join(others) + ")")
    if dry_run:
        verb = f"would leave it: {why}" if why else f"would remove {target}"
        result = AddinResult("remove", False, True, target, f"xlwings add-in: {verb}")
        return _with_stray_config(result, home, platform, python_executable, dry_run)
    if why is None:
        try:
            target.unlink()
        except PermissionError:
            raise ExcelSetupError(f"cannot delete {target}: close Excel (it keeps the add-in "
                                  "open) and run this again") from None
    still_ours = why is not None and current is not None and record is not None and not (
        record["was_present"]) and record["sha256"] in (None, _sha256(current))
    if not still_ours:  # kept because others use it: a later install must still know it
        _forget_addin(home)
    if why is not None and current is not None:
        why += " (to remove it anyway: -RemoveAddin, or --replace)"
    head = f"xlwings add-in: left in place: {why}" if why else f"xlwings add-in: removed {target}"
    result = AddinResult("remove", why is None, True, target, head)
    return _with_stray_config(result, home, platform, python_executable, dry_run)


def addin_backup(home: Path) -> Path:
    """The copy of another project's xlwings add-in that ``--replace`` replaced, which removing
    xlnapkin's puts back."""
    return Path(home) / ".xlnapkin" / ADDIN_BACKUP_NAME


def _addin_put_back(home, platform, target, dry_run, python_executable) -> AddinResult:
    """Removing xlnapkin's add-in where it had replaced another project's: that one goes back."""
    backup = addin_backup(home)
    if dry_run:
        result = AddinResult("remove", False, True, target,
                             f"xlwings add-in: would put back the one xlnapkin replaced ({backup})")
        return _with_stray_config(result, home, platform, python_executable, dry_run)
    try:
        _write_atomic(target, backup.read_bytes())
    except PermissionError:
        raise ExcelSetupError(f"cannot write {target}: close Excel (it keeps the add-in open) "
                              "and run this again") from None
    _forget_addin(home)  # the record and the copy
    result = AddinResult("remove", True, True, target,
                         f"xlwings add-in: put back {target}, the one xlnapkin had replaced")
    return _with_stray_config(result, home, platform, python_executable, dry_run)


def _with_stray_config(result: AddinResult, home, platform, python_executable,
                       dry_run) -> AddinResult:
    """``result``, after deleting the user-wide xlwings.conf that an earlier installer's
    ``xlwings addin install`` wrote for xlnapkin's Python (:func:`_stray_user_config`)."""
    stray = _stray_user_config(home, platform, python_executable)
    if stray is None:
        return result
    if dry_run:
        note = f"would delete {stray}"
    else:
        stray.unlink()
        note = (f"deleted {stray}, which an earlier `xlwings addin install` wrote for "
                "xlnapkin's Python")
    return dataclasses.replace(result, message=result.message + "\n" + note)


def _other_udf_modules(home: Path, platform: str) -> list[str]:
    """UDF modules other than xlnapkin's in the user-wide xlwings.conf."""
    _, doc = _read_config(config_path(home, platform), platform)
    value = doc.get(UDF_MODULES_KEY)
    return [m for m in _modules(value or "") if m != UDF_MODULE]


def _stray_user_config(home: Path, platform: str, python_executable: str | None) -> Path | None:
    """The user-wide xlwings.conf when it is exactly the one line that ``xlwings addin install``
    writes (``"INTERPRETER_WIN","<its python.exe>"``) for this environment's Python, else None."""
    conf = config_path(home, platform)
    data = _read_bytes(conf)
    if data is None or _read_state(user_config(home, platform)) is not None:
        return None
    exe = PureWindowsPath(python_executable or sys.executable)  # only Windows writes it
    python = str(exe.with_name("python.exe") if exe.name.lower() == "pythonw.exe" else exe)
    wanted = _entry_line("INTERPRETER_WIN", python).strip()
    try:
        text = data.decode(_encoding(platform)).strip()
    except UnicodeDecodeError:
        return None
    return conf if text.lower() == wanted.lower() else None
