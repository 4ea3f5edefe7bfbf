"""The two files for xlwings Lite: a ``main.py`` that carries the whole package, and a
``requirements.txt`` that names only packages on public indexes.

xlnapkin is on no package index, so Lite cannot install it by name (and asking an index for an
unclaimed name would install whatever a stranger published under it). Instead ``main.py`` embeds
the package's modules and catalog data as a zip, base64-encoded. When Lite runs ``main.py`` it
writes that zip once into the temporary folder (named by its SHA-256, rewritten only when absent
or different), puts it first on ``sys.path`` (Python imports from zips, and
``importlib.resources`` reads the catalog from it) and re-exports the Excel functions with
``from xlnapkin.udfs import *``; Lite registers every function it finds in ``main.py``.

The zip is deterministic: names sorted, fixed timestamps and permissions, fixed compression level,
line endings normalised to LF, no machine paths. So a fresh build equals the committed copy in
``installer/lite/`` byte for byte whenever the package is unchanged.

>>> files = lite_files()
>>> sorted(files)
['main.py', 'requirements.txt']
>>> "xlnapkin" in files["requirements.txt"]
False
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from ._files import check_target, write_atomic, zip_bytes
from .errors import NapkinError

__all__ = ["LiteError", "REQUIREMENTS", "EXCLUDED_MODULES", "bundle_files", "bundle_zip",
           "lite_files", "write_lite"]

# The lines xlwings Lite's own requirements.txt template marks "# required" (the template pins
# xlwings and python-dotenv to the versions of its release; unpinned here, Lite's micropip takes
# the current ones), plus numpy, which Pyodide provides (its version goes with Pyodide: don't pin).
REQUIREMENTS = """\
xlwings  # required
python-dotenv  # required
pyodide-http  # required
black  # required
numpy
"""

# Modules that only the command line, the installer and the builders use: Lite never imports
# them (tests/test_lite.py checks that no bundled module imports one).
EXCLUDED_MODULES = frozenset({"__main__", "_files", "_formulas_fixes", "_limited", "_vba", "cli",
                              "docgen", "excel_setup", "lite", "recalc", "release", "showcase"})
# (_files and _limited serve the excluded commands alone, and import multiprocessing, resource
# and signal, which Pyodide lacks or stubs: a delivery check found them carried unused)
_EXCLUDED_PACKAGES = ("templates",)
_DATA_SUFFIXES = (".csv", ".md")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold: no build time leaks in
_B64_LINE = 76

_PACKAGE = Path(__file__).resolve().parent


class LiteError(NapkinError):
    """The Lite files cannot be written as asked."""


def bundle_files(package: Path = _PACKAGE) -> dict[str, bytes]:
    """``{name in the zip: bytes}``: every module Lite can import, and the catalog data.

    Text is normalised to LF line endings so that a Windows checkout builds the same zip.
    """
    package = Path(package)
    files = {}
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package)
        if path.is_dir() or "__pycache__" in rel.parts:
            continue
        wanted = (path.suffix == ".py" and rel.parts[0] not in _EXCLUDED_PACKAGES
                  and not (len(rel.parts) == 1 and path.stem in EXCLUDED_MODULES))
        wanted = wanted or (rel.parts[0] == "data" and path.suffix in _DATA_SUFFIXES)
        if wanted:
            files["xlnapkin/" + rel.as_posix()] = path.read_bytes().replace(b"\r\n", b"\n")
    return files


def bundle_zip(files: dict[str, bytes]) -> bytes:
    """The files as a deterministic zip (:func:`xlnapkin._files.zip_bytes`)."""
    return zip_bytes(files, date_time=_ZIP_DATE)


_MAIN = '''\
"""xlnapkin {version} for xlwings Lite: every xlnapkin Excel function, with the package inside.

Add the line numpy to the requirements.txt tab of xlwings Lite (Lite installs it), then paste
this file into its main.py tab (over the template, or below code of your own); if the functions
show #NAME?, restart Lite (its menu, Restart); then save the workbook. No package
index is asked for xlnapkin: the whole package (its Python modules and catalog data: a
{zip_size:,}-byte zip, SHA-256 {sha_short}...) is embedded below,
which makes this file {main_size:,} bytes. When Lite runs it, the zip is written once to the
temporary folder and imported from there.
Try =TOKENS_PER_SEC("h100-sxm","llama-3.1-70b",32,4096,"fp8",,2) or =NAPKIN_VERSION().
A bad argument shows #VALUE!; hover over the cell's error flag to read the message.
Generated file (do not edit): regenerate with `xlnapkin lite --out DIR`.
"""

import base64
import hashlib
import os
import sys
import tempfile

_SHA256 = "{sha}"
_ZIP = (
{chunks}
)


def _bundle():
    """The path of the embedded zip in the temporary folder, written if absent or different."""
    data = base64.b64decode(_ZIP)
    if hashlib.sha256(data).hexdigest() != _SHA256:
        raise ImportError("main.py is damaged: the embedded xlnapkin does not match its SHA-256")
    path = os.path.join(tempfile.gettempdir(), "xlnapkin-{version}-" + _SHA256[:16] + ".zip")
    try:
        with open(path, "rb") as f:
            if hashlib.sha256(f.read()).hexdigest() == _SHA256:
                return path
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(suffix=".zip", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def _is_bundle(path):
    name = os.path.basename(path)
    return name.startswith("xlnapkin-") and name.endswith(".zip")


def _use(path):
    """Put the zip first on sys.path; forget an xlnapkin imported from anywhere else (Lite
    runs main.py again after each edit, in the same Python)."""
    loaded = sys.modules.get("xlnapkin")
    if loaded is not None and not (getattr(loaded, "__file__", "") or "").startswith(path):
        for name in [n for n in sys.modules if n == "xlnapkin" or n.startswith("xlnapkin.")]:
            del sys.modules[name]
    sys.path[:] = [p for p in sys.path if not _is_bundle(p)]
    sys.path.insert(0, path)


_use(_bundle())

from xlnapkin.udfs import *  # noqa: E402,F401,F403  (the Excel functions Lite registers)
'''


def lite_files() -> dict[str, str]:
    """The ``main.py`` and ``requirements.txt`` texts for xlwings Lite."""
    from . import __version__
    data = bundle_zip(bundle_files())
    sha = hashlib.sha256(data).hexdigest()
    encoded = base64.b64encode(data).decode("ascii")
    chunks = "\n".join(f'    "{encoded[i:i + _B64_LINE]}"'
                       for i in range(0, len(encoded), _B64_LINE))
    fields = dict(version=__version__, zip_size=len(data), sha=sha, sha_short=sha[:12],
                  chunks=chunks, main_size=0)
    main = _MAIN.format(**fields)
    while len(main.encode("utf-8")) != fields["main_size"]:  # the file states its own size
        fields["main_size"] = len(main.encode("utf-8"))
        main = _MAIN.format(**fields)
    return {"main.py": main, "requirements.txt": REQUIREMENTS}


def write_lite(out_dir: Path, *, force: bool = False) -> list[Path]:
    """Write :func:`lite_files` into ``out_dir``; refuse to overwrite different files unless
    ``force``. Returns the files written (an identical file is left alone). Each is replaced
    atomically and never through a symbolic link (a hardening audit: a link named main.py had
    the file it pointed at written, and a full disk left half a main.py)."""
    out_dir = Path(out_dir)
    targets = {out_dir / name: text.encode("utf-8") for name, text in lite_files().items()}
    if out_dir.exists() and not out_dir.is_dir():  # a hardening audit: "File exists: ..."
        raise LiteError(f"{out_dir} is not a folder")
    if out_dir.is_dir():
        for path in targets:
            check_target(path)  # a link, or a folder where a file goes: a message
    differ = [p for p, data in targets.items() if p.exists() and p.read_bytes() != data]
    if differ and not force:
        names = ", ".join(str(p) for p in differ)
        raise LiteError(f"{names} already exists and differs; use --force to overwrite")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path, data in targets.items():
        if not (path.exists() and path.read_bytes() == data):
            write_atomic(path, data)
            written.append(path)
    return written
