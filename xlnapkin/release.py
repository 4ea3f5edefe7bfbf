"""Build a release: a folder and a zip that install xlnapkin without any package index.

``build_release(out)`` writes ``out/xlnapkin-VERSION/`` and ``out/xlnapkin-VERSION.zip`` holding

* ``xlnapkin-VERSION-py3-none-any.whl``: the package (``install.ps1`` installs it by default);
* ``install.ps1``, ``install.bat``, ``uninstall.ps1``, ``uninstall.bat``: the Windows installer
  (classic xlwings; ``uninstall.bat`` is ``install.bat`` under the other name);
* ``lite/main.py`` and ``lite/requirements.txt``: xlwings Lite (macOS, Excel on the web), freshly
  generated, with the package inside ``main.py``;
* ``workbooks/*.xlsx``: the template workbooks, as committed;
* ``docs/*.md``: ``installer/README.md`` (as ``installer.md``) and the pages the guides link to
  (:data:`_DOCS`), their links rewritten for the release's layout (:data:`_DOC_LINKS`);
* ``README.txt`` (what each file is and how to install; its steps in Excel are the lines
  ``install.ps1`` prints at the end, read from ``$ExcelSteps`` there) and ``LICENSE.txt``.

The wheel is built with the ``build`` front end (``python -m build --wheel``) from a copy of the
package's sources in a temporary folder, so the checkout gets no ``build/`` or ``*.egg-info``.
When setuptools is importable here the build uses it directly (``--no-isolation``: no download);
otherwise ``build`` makes an isolated environment with pip, or with uv when pip is missing, and
downloads setuptools for it. ``SOURCE_DATE_EPOCH`` fixes the wheel's timestamps, and the zip has
sorted names, fixed dates and permissions: building twice gives the same bytes.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ._files import zip_bytes
from .errors import NapkinError

__all__ = ["ReleaseError", "Release", "checkout_root", "build_wheel", "build_release",
           "excel_steps"]

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01, the earliest date a zip (and so a wheel) holds
_MIN_SETUPTOOLS = (77, 0)  # bdist_wheel bundled (70.1), and project.license as an SPDX text (77)
_INSTALLER_FILES = ("install.ps1", "install.bat", "uninstall.ps1")
# Documentation a stranger needs with the zip: (source in the checkout, name in the release),
# every page another one links to included, and the links of the checkout's layout that the
# release lays out otherwise rewritten (a review found them broken inside the zip).
_DOCS = (("installer/README.md", "docs/installer.md"),
         ("docs/getting-started-analyst.md", "docs/getting-started-analyst.md"),
         ("docs/getting-started-finance.md", "docs/getting-started-finance.md"),
         ("docs/getting-started-engineer.md", "docs/getting-started-engineer.md"),
         ("docs/reference.md", "docs/reference.md"),
         ("docs/templates.md", "docs/templates.md"),
         ("docs/latency.md", "docs/latency.md"),
         ("docs/release.md", "docs/release.md"))
_DOC_LINKS = (("[installer/README.md](../installer/README.md)", "[installer.md](installer.md)"),
              ("](../installer/README.md)", "](installer.md)"),
              ("](../docs/release.md)", "](release.md)"),
              ("](lite/)", "](../lite/)"),
              ("[`benchmarks/RESULTS.md`](../benchmarks/RESULTS.md)",
               "`benchmarks/RESULTS.md` (in the source repository, not in this release)"))
_SOURCE_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")

_README = """\
xlnapkin {version}: LLM-serving napkin math as Excel functions
==============================================================

What is here
  {wheel}
      the xlnapkin package (pure Python); install.ps1 installs it on Windows, pip anywhere
  install.bat, install.ps1, uninstall.bat, uninstall.ps1
      the Windows installer for desktop Excel (classic xlwings)
  lite\\main.py, lite\\requirements.txt
      xlwings Lite (Excel on Windows, macOS and the web): main.py carries the whole package
  workbooks\\*.xlsx
      template workbooks with plain formulas: open them in any spreadsheet program (and
      functions_showcase.xlsx, which needs xlnapkin's functions)
  docs\\*.md
      the installer in detail, guides for analysts, finance and engineers, the templates, every
      function, the latency model behind the functions under load, and how this release
      was built
  LICENSE.txt
      the licence (MIT)

Windows, desktop Excel (needs Python 3.11+ from python.org and access to PyPI)
  Close Excel, double-click install.bat (or: powershell -ExecutionPolicy Bypass -File install.ps1
  -DryRun to see the steps first). It installs the wheel from this folder into
  %LOCALAPPDATA%\\xlnapkin\\venv. xlnapkin comes from no index; its dependencies numpy,
  openpyxl, et-xmlfile, olefile, xlwings and pywin32 come from PyPI (on a PC without it:
  .\\install.bat -FindLinks DIR, a folder of wheels; docs\\installer.md says how to make one).
  It also puts xlwings' add-in in Excel's start-up folder (XLSTART), so that it loads with
  Excel; another project's add-in there is kept where it is for the same xlwings version, and
  otherwise the install stops and says what to do. Then set one macro-enabled workbook (.xlsm)
  up; this changes only the xlwings.conf in its folder (in Command Prompt or PowerShell, in
  this folder; from PowerShell it waits for a key at the end):
      .\\install.bat -Workbook C:\\path\\to\\Book.xlsm
{excel_steps}
  Undo: double-click uninstall.bat.

  workbooks\\functions_showcase.xlsx calls xlnapkin's functions. For classic xlwings, open it
  in Excel, save it as an Excel Macro-Enabled Workbook (.xlsm) in a folder of its own, run
  .\\install.bat -Workbook with that .xlsm, then the steps in Excel above.

Linux, macOS or Windows, the command line and headless recalculation (Python 3.11+)
  In this folder (on Windows: py -m venv venv, then venv\\Scripts\\activate in Command
  Prompt, or venv\\Scripts\\Activate.ps1 in PowerShell):
      python3 -m venv venv
      . venv/bin/activate
      pip install "{wheel}[recalc]"
      xlnapkin estimate
  The [recalc] extra adds what xlnapkin recalc needs; its dependencies come from PyPI.

macOS, Excel on the web (or Windows without Python): xlwings Lite
  In Excel (Microsoft 365 or 2021+; on a Mac, macOS 13 or later): Home > Add-ins, add
  "xlwings Lite". Add a line "numpy" to Lite's requirements.txt tab (Lite installs it;
  lite\\requirements.txt lists what the functions need). Open lite\\main.py in a text editor
  and paste it into Lite's main.py tab (over the template, or below code of your own); if the
  functions show #NAME?, restart Lite (its menu, Restart). Type =NAPKIN_VERSION() in a cell,
  then save the workbook (Lite keeps its code in the file when saved). A colleague who opens
  it trusts the workbook when Lite asks.
  main.py is {main_size:,} bytes because the package is inside it; nothing is downloaded for
  xlnapkin.

Documentation
  docs\\installer.md: the installer and xlwings Lite in detail (what changes, undoing it,
      another project's xlwings set-up, a folder of wheels for offline PCs)
  docs\\getting-started-analyst.md: setting Excel up, and the first formulas
  docs\\getting-started-finance.md, docs\\templates.md: the workbooks, for finance
  docs\\getting-started-engineer.md: the command line, JSON and headless recalculation
  docs\\reference.md: every function, its arguments, units and an example
  docs\\latency.md: the latency model behind the functions under load, and its accuracy
  docs\\release.md: how this release was built
"""


class ReleaseError(NapkinError):
    """A release that cannot be built: a missing tool, a failed wheel build, an existing folder."""


@dataclass(frozen=True)
class Release:
    """What :func:`build_release` wrote."""

    folder: Path
    zip_path: Path
    wheel: Path
    files: tuple[str, ...]

    def describe(self) -> str:
        lines = [f"wrote {self.folder}"]
        lines += [f"  {name}" for name in self.files]
        size = self.zip_path.stat().st_size
        lines.append(f"wrote {self.zip_path} ({size:,} bytes)")
        return "\n".join(lines)


def checkout_root() -> Path:
    """The source checkout this package runs from (its ``pyproject.toml`` is one folder up)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "pyproject.toml").is_file() or not (root / "installer").is_dir():
        raise ReleaseError(f"{root} is not an xlnapkin checkout (no pyproject.toml and "
                           "installer/): run this from a clone of the repository")
    return root


def build_wheel(root: Path, out: Path, *, python: str = sys.executable) -> Path:
    """Build the wheel of the checkout ``root`` into the folder ``out``; return its path."""
    _need_build()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xlnapkin-src-") as tmp:
        src = Path(tmp) / "src"
        _copy_sources(Path(root), src)
        cmd = [python, "-m", "build", "--wheel", "--outdir", str(out), *_isolation(), str(src)]
        env = dict(os.environ, SOURCE_DATE_EPOCH=_SOURCE_DATE_EPOCH)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise ReleaseError(f"the wheel build failed ({' '.join(cmd[1:4])}):\n{tail}")
    wheels = sorted(out.glob("xlnapkin-*-py3-none-any.whl"))
    if len(wheels) != 1:
        raise ReleaseError(f"expected one pure-Python wheel in {out}, found {len(wheels)}")
    return wheels[0]


def _need_build() -> None:
    """Raise where the ``build`` package is missing."""
    if importlib.util.find_spec("build") is None:
        raise ReleaseError('building the wheel needs the "build" package, which the test extra '
                           "has: with uv, uv run --extra test xlnapkin release ...; with pip, "
                           "pip install build")


def untracked_sources(root: Path) -> list[str]:
    """Files under ``root``'s ``xlnapkin/`` that git does not track (ignored ones too) and that
    would ship: modules, and the catalog data the wheel and Lite's zip take (a .DS_Store does
    not); [] where ``root`` is in no git work tree, or in one that tracks none of it, or git is
    missing (a source archive holds what was committed)."""
    from .lite import _DATA_SUFFIXES
    exe = shutil.which("git")
    if exe is None:
        return []

    def git(*args):
        return subprocess.run([exe, "-C", str(root), *args], capture_output=True,
                              encoding="utf-8", errors="replace")
    if git("rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
        return []
    tracked, others = git("ls-files", "--", "xlnapkin"), git("ls-files", "--others", "-z", "--",
                                                              "xlnapkin")
    for proc in (tracked, others):
        if proc.returncode != 0:
            raise ReleaseError(f"git ls-files failed in {root}: {proc.stderr.strip()[-300:]}")
    if not tracked.stdout.strip():  # an archive unpacked inside another work tree (a review)
        return []

    def ships(path: Path) -> bool:
        if "__pycache__" in path.parts:
            return False
        return path.suffix == ".py" or (path.parts[1:2] == ("data",)
                                        and path.suffix in _DATA_SUFFIXES)
    return sorted(p for p in others.stdout.split("\0") if p and ships(Path(p)))


def _copy_sources(root: Path, dest: Path) -> None:
    dest.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(root / name, dest / name)
    shutil.copytree(root / "xlnapkin", dest / "xlnapkin", ignore=_SOURCE_IGNORE)


def _isolation() -> list[str]:
    """``--no-isolation`` when setuptools is importable here (no download), else the isolated
    environment's installer: pip, or uv when pip is missing."""
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        version = None
    if version and _release_tuple(version) >= _MIN_SETUPTOOLS:
        return ["--no-isolation"]
    if importlib.util.find_spec("pip") is None and shutil.which("uv"):
        return ["--installer", "uv"]
    return []


def _release_tuple(version: str) -> tuple[int, ...]:
    """``"75.8.0"`` -> ``(75, 8)``; parts that are not numbers end it."""
    parts = []
    for part in version.split(".")[:2]:
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def _project_version(root: Path) -> str:
    """The version ``pyproject.toml`` declares (its ``[project]`` table); the package's own
    where it is dynamic (the build backend reads it from there)."""
    import tomllib

    from . import __version__
    try:
        with open(root / "pyproject.toml", "rb") as f:
            project = tomllib.load(f).get("project", {})
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ReleaseError(f"cannot read {root / 'pyproject.toml'}: {err}") from None
    if "version" in project.get("dynamic", []):
        return __version__
    if "version" not in project:
        raise ReleaseError("pyproject.toml declares no version: give it the package's "
                           f"({__version__}), or make it dynamic")
    return str(project["version"])


def build_release(out: Path, *, root: Path | None = None, force: bool = False) -> Release:
    """Write the release folder and zip for this version into ``out``.

    An existing folder or zip of the same version is replaced only with ``force``.
    """
    from . import __version__
    from .lite import lite_files
    root = Path(root) if root is not None else checkout_root()
    out = Path(out)
    name = f"xlnapkin-{__version__}"
    folder, zip_path = out / name, out / f"{name}.zip"
    if out.exists() and not out.is_dir():  # as templates build and lite say it (a review:
        raise ReleaseError(f"{out} is not a folder")  # "File exists", after the checks)
    # before the build, what --force would not replace (a hardening audit: a link there
    # failed after the build, in words that named no path)
    for path in (folder, zip_path):
        if path.is_symlink():
            raise ReleaseError(f"{path} is a symbolic link; not replacing it (remove the link)")
    if zip_path.is_dir():
        raise ReleaseError(f"{zip_path} is a folder, not a release zip; not replacing it")
    existing = [p for p in (folder, zip_path) if p.exists()]
    if existing and not force:
        raise ReleaseError(f"{existing[0]} already exists; use --force to replace it")
    _need_build()  # before the folder is made (a review: a failed release left it empty)
    # files git does not track would ship in the wheel and in Lite's main.py, which are passed
    # around (a delivery review: a scratch file with a key in it went into both)
    stray = untracked_sources(root)
    if stray:
        raise ReleaseError(f"{len(stray)} file{'' if len(stray) == 1 else 's'} under xlnapkin/ "
                           f"that git does not track would ship in the wheel and in Lite's "
                           f"main.py: {', '.join(stray[:5])}{', ...' if len(stray) > 5 else ''}"
                           ": commit them or move them out (docs/release.md, section 1)")
    # lite/ equals the committed installer/lite/, where Mac and web users may take it from
    # too (a release audit: a docstring edit made the two differ, and the build said nothing)
    lite = lite_files()
    stale = [f for f, text in lite.items()
             if not (root / "installer" / "lite" / f).is_file()
             or (root / "installer" / "lite" / f).read_bytes() != text.encode("utf-8")]
    if stale:
        raise ReleaseError(f"installer/lite/{stale[0]} is not a fresh build of this checkout: "
                           "run xlnapkin lite --out installer/lite --force and commit it first "
                           "(docs/release.md, section 1)")
    # the reference and the version likewise (a release audit: a pyproject.toml at 0.1.1 beside
    # a package at 0.1.0 gave xlnapkin-0.1.0.zip holding a 0.1.1 wheel)
    from . import docgen
    if not docgen.is_current(root / docgen.DEFAULT_OUT):
        raise ReleaseError(f"{docgen.DEFAULT_OUT} is not a fresh build of this checkout: run "
                           f"{docgen.REGENERATE} and commit it first (docs/release.md, section 1)")
    declared = _project_version(root)
    if declared != __version__:
        raise ReleaseError(f"pyproject.toml says version {declared} and xlnapkin/__init__.py "
                           f"{__version__}: make them one")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".xlnapkin-release-", dir=out) as tmp:
        staging = Path(tmp) / name
        wheel = build_wheel(root, staging)
        for script in _INSTALLER_FILES:
            shutil.copyfile(root / "installer" / script, staging / script)
        # one launcher, two names: it runs the .ps1 named like itself
        shutil.copyfile(root / "installer" / "install.bat", staging / "uninstall.bat")
        (staging / "lite").mkdir()
        for file_name, text in lite.items():
            (staging / "lite" / file_name).write_bytes(text.encode("utf-8"))
        (staging / "workbooks").mkdir()
        for book in sorted((root / "workbooks").glob("*.xlsx")):
            shutil.copyfile(book, staging / "workbooks" / book.name)
        (staging / "docs").mkdir()
        for source, target in _DOCS:
            text = (root / source).read_bytes()
            for old, new in _DOC_LINKS:
                text = text.replace(old.encode(), new.encode())
            (staging / target).write_bytes(text)
        shutil.copyfile(root / "LICENSE", staging / "LICENSE.txt")
        readme = _README.format(version=__version__, wheel=wheel.name,
                                main_size=len(lite["main.py"].encode("utf-8")),
                                excel_steps=_excel_steps(root))
        (staging / "README.txt").write_bytes(readme.replace("\n", "\r\n").encode("ascii"))
        files = tuple(sorted(p.relative_to(staging).as_posix()
                             for p in staging.rglob("*") if p.is_file()))
        staged_zip = Path(tmp) / zip_path.name
        _write_zip(staging, name, files, staged_zip)
        for path in existing:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        staging.rename(folder)
        staged_zip.rename(zip_path)
    return Release(folder, zip_path, folder / wheel.name, files)


def excel_steps(install_ps1: str) -> list[str]:
    """The lines of ``$ExcelSteps = @(...)`` in ``install.ps1``: the steps in Excel it prints at
    the end, which README.txt repeats (one source for both)."""
    block = re.search(r"^\$ExcelSteps = @\(\n(.*?)^\)", install_ps1, re.M | re.S)
    lines = re.findall(r'^\s*"([^"`$]*)",?\s*$', block.group(1), re.M) if block else []
    if not lines or block.group(1).count("\n") != len(lines):
        raise ReleaseError("installer/install.ps1 has no $ExcelSteps = @(...) of plain "
                           '"..." lines, which README.txt repeats')
    return lines


def _excel_steps(root: Path) -> str:
    text = (root / "installer" / "install.ps1").read_text(encoding="ascii")
    return "\n".join("  " + line for line in excel_steps(text))


def _write_zip(folder: Path, prefix: str, files: tuple[str, ...], target: Path) -> None:
    """A deterministic zip of ``files`` under ``prefix/``: sorted, fixed dates and permissions."""
    target.write_bytes(zip_bytes({f"{prefix}/{rel}": (folder / rel).read_bytes()
                                  for rel in files}, date_time=_ZIP_DATE))
