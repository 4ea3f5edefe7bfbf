"""`xlnapkin release`: one command builds a release folder and a deterministic zip that install
xlnapkin without any package index (issue 8). The build itself runs once per session (the
``release`` fixture in conftest.py)."""

from __future__ import annotations

import fnmatch
import re
import zipfile

import pytest

from conftest import REPO
from xlnapkin import __version__, cli, lite
from xlnapkin import release as release_module
from xlnapkin.release import ReleaseError, build_release, excel_steps

EXPECTED = [
    "LICENSE.txt",
    "README.txt",
    "docs/getting-started-analyst.md",
    "docs/getting-started-engineer.md",
    "docs/getting-started-finance.md",
    "docs/installer.md",
    "docs/latency.md",
    "docs/reference.md",
    "docs/release.md",
    "docs/templates.md",
    "install.bat",
    "install.ps1",
    "lite/main.py",
    "lite/requirements.txt",
    "uninstall.bat",
    "uninstall.ps1",
    "workbooks/capacity_planner.xlsx",
    "workbooks/functions_showcase.xlsx",
    "workbooks/multi_tenant_savings.xlsx",
    "workbooks/self_host_breakeven.xlsx",
    f"xlnapkin-{__version__}-py3-none-any.whl",
]


def test_release_folder_holds_everything_an_install_needs(release):
    assert release.folder.name == f"xlnapkin-{__version__}"
    assert list(release.files) == EXPECTED
    assert sorted(p.relative_to(release.folder).as_posix()
                  for p in release.folder.rglob("*") if p.is_file()) == EXPECTED
    for script in ("install.ps1", "install.bat", "uninstall.ps1"):
        assert (release.folder / script).read_bytes() == (REPO / "installer" / script).read_bytes()
    # one launcher under two names: each runs the .ps1 named like itself
    assert (release.folder / "uninstall.bat").read_bytes() == \
        (REPO / "installer" / "install.bat").read_bytes()
    for name, text in lite.lite_files().items():
        assert (release.folder / "lite" / name).read_bytes() == text.encode("utf-8")
    assert "xlnapkin" not in (release.folder / "lite" / "requirements.txt").read_text()
    for book in (REPO / "workbooks").glob("*.xlsx"):
        assert (release.folder / "workbooks" / book.name).read_bytes() == book.read_bytes()
    # the guides a stranger with only the zip needs, as committed but for the links that the
    # release's layout moves; every relative link resolves inside the release (a review found
    # ../installer/README.md and reference.md broken in the zip)
    assert (release.folder / "docs" / "installer.md").read_text() == (
        REPO / "installer" / "README.md").read_text().replace(
        "](../docs/release.md)", "](release.md)").replace("](lite/)", "](../lite/)")
    for doc in (release.folder / "docs").glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.read_text()):
            assert (doc.parent / target).exists(), (doc.name, target)
    # install.ps1's default source is the wheel beside it: the name must match its filter.
    assert fnmatch.fnmatch(release.wheel.name, "xlnapkin-*-py3-none-any.whl")


def test_readme_says_what_each_file_is_and_how_to_install(release):
    raw = (release.folder / "README.txt").read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # Notepad-friendly
    text = raw.decode("ascii")
    for name in (release.wheel.name, "install.bat", "lite\\main.py", "workbooks\\*.xlsx",
                 "uninstall.bat", "-Workbook", "xlwings Lite", "=NAPKIN_VERSION()"):
        assert name in text, name
    size = (release.folder / "lite" / "main.py").stat().st_size
    assert f"main.py is {size:,} bytes" in text
    # what Windows needs from PyPI: every dependency of the excel extra, on Windows
    for name in ("Python 3.11+", "PyPI", "numpy", "openpyxl", "et-xmlfile", "olefile", "xlwings",
                 "pywin32", "-FindLinks"):
        assert name in text, name
    # the steps in Excel are install.ps1's own lines, the trust setting first
    steps = excel_steps((REPO / "installer" / "install.ps1").read_text(encoding="ascii"))
    assert "\r\n".join("  " + line for line in steps) in text
    assert "'Trust access to the VBA project object model'" in steps[1]
    # the showcase: saved as .xlsm and set up like any workbook for classic xlwings
    assert "functions_showcase.xlsx calls xlnapkin's functions" in text
    assert "save it as an Excel Macro-Enabled Workbook (.xlsm)" in text
    # the documentation it names is in the zip
    # the documentation it names is in the zip, and every page in the zip is named (a
    # review: the engineer guide was missing and latency.md unnamed)
    named = set(re.findall(r"docs\\[\w.-]+\.md", text))
    assert {d.replace("\\", "/") for d in named} == {f for f in EXPECTED
                                                     if f.startswith("docs/")}


def test_readme_takes_the_excel_steps_from_install_ps1_or_stops():
    text = (REPO / "installer" / "install.ps1").read_text(encoding="ascii")
    assert len(excel_steps(text)) >= 3
    for broken in (text.replace("$ExcelSteps = @(", "$Steps = @("),
                   text.replace('xlwings > Import Functions', 'xlwings > Import $Functions')):
        with pytest.raises(ReleaseError, match=re.escape("installer/install.ps1 has no "
                                                         "$ExcelSteps = @(...) of plain")):
            excel_steps(broken)


def test_without_build_the_error_gives_the_uv_and_the_pip_way(monkeypatch, tmp_path):
    real = release_module.importlib.util.find_spec
    monkeypatch.setattr(release_module.importlib.util, "find_spec",
                        lambda name, *a: None if name == "build" else real(name, *a))
    with pytest.raises(ReleaseError) as info:
        release_module.build_wheel(REPO, tmp_path)
    assert str(info.value) == (
        'building the wheel needs the "build" package, which the test extra has: with uv, '
        "uv run --extra test xlnapkin release ...; with pip, pip install build")
    # the release says so before it makes its folder (a review: one was left behind, empty)
    out = tmp_path / "dist"
    with pytest.raises(ReleaseError, match='needs the "build" package'):
        release_module.build_release(out, root=REPO)
    assert not out.exists()


def test_a_stale_installer_lite_stops_the_release_before_it_builds(monkeypatch, tmp_path):
    # A release audit: after a docstring edit the committed installer/lite/main.py no longer
    # equalled the release's lite/main.py, and the build said nothing.
    import xlnapkin.lite
    real = xlnapkin.lite.lite_files()
    monkeypatch.setattr(xlnapkin.lite, "lite_files",
                        lambda: dict(real, **{"main.py": real["main.py"] + "# edited\n"}))
    monkeypatch.setattr(release_module, "build_wheel", lambda *a: pytest.fail("built"))
    out = tmp_path / "dist"
    with pytest.raises(ReleaseError, match=re.escape(
            "installer/lite/main.py is not a fresh build of this checkout: run xlnapkin lite "
            "--out installer/lite --force and commit it first")):
        build_release(out, root=REPO)
    assert not out.exists()


def test_a_stale_reference_or_two_versions_stop_the_release_before_it_builds(monkeypatch,
                                                                              tmp_path):
    # A release audit: a pyproject.toml at 0.1.1 beside a package at 0.1.0 gave
    # xlnapkin-0.1.0.zip holding a 0.1.1 wheel; docs/reference.md is shipped as committed too.
    from xlnapkin import docgen
    monkeypatch.setattr(release_module, "build_wheel", lambda *a: pytest.fail("built"))
    out = tmp_path / "dist"
    monkeypatch.setattr(docgen, "is_current", lambda path: False)
    with pytest.raises(ReleaseError, match=re.escape(
            "docs/reference.md is not a fresh build of this checkout: run xlnapkin docs")):
        build_release(out, root=REPO)
    monkeypatch.setattr(docgen, "is_current", lambda path: True)
    monkeypatch.setattr(release_module, "_project_version", lambda root: "9.9.9")
    with pytest.raises(ReleaseError, match="pyproject.toml says version 9.9.9 and "
                                           "xlnapkin/__init__.py 0.1.0: make them one"):
        build_release(out, root=REPO)
    assert not out.exists()
    monkeypatch.undo()
    assert release_module._project_version(REPO) == __version__
    # a dynamic version is the package's own; none at all, or no file, is said so (a review)
    (tmp_path / "dyn").mkdir()
    (tmp_path / "dyn" / "pyproject.toml").write_text('[project]\nname = "x"\n'
                                                      'dynamic = ["version"]\n')
    assert release_module._project_version(tmp_path / "dyn") == __version__
    (tmp_path / "dyn" / "pyproject.toml").write_text('[project]\nname = "x"\n')
    with pytest.raises(ReleaseError, match="pyproject.toml declares no version"):
        release_module._project_version(tmp_path / "dyn")
    with pytest.raises(ReleaseError, match="cannot read"):
        release_module._project_version(tmp_path / "nowhere")


def test_zip_is_the_folder_and_deterministic(release, tmp_path):
    zf = zipfile.ZipFile(release.zip_path)
    names = zf.namelist()
    assert names == [f"{release.folder.name}/{n}" for n in EXPECTED]
    for name in EXPECTED:
        assert zf.read(f"{release.folder.name}/{name}") == (release.folder / name).read_bytes()
    assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    again = build_release(tmp_path, root=REPO)
    assert again.zip_path.read_bytes() == release.zip_path.read_bytes()


def test_an_existing_release_is_replaced_only_with_force(release, capsys):
    out = release.folder.parent
    with pytest.raises(ReleaseError, match=re.escape(
            f"{release.folder} already exists; use --force to replace it")):
        build_release(out, root=REPO)
    assert cli.main(["release", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err == f"Error: {release.folder} already exists; use --force to replace it\n"


def test_force_replaces_the_whole_release(release, tmp_path, capsys):
    first = build_release(tmp_path, root=REPO)
    (first.folder / "stale.txt").write_text("from an older build")
    first.zip_path.write_bytes(b"not a zip")
    assert cli.main(["release", "--out", str(tmp_path), "--force"]) == 0
    capsys.readouterr()
    assert sorted(p.relative_to(first.folder).as_posix()
                  for p in first.folder.rglob("*") if p.is_file()) == EXPECTED
    assert first.zip_path.read_bytes() == release.zip_path.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [first.folder.name, first.zip_path.name])  # no staging folder left behind


def test_force_refuses_what_it_would_not_replace_before_building(tmp_path, monkeypatch):
    # a hardening audit: a link at the release folder failed after the whole build, as
    # "Cannot call rmtree on a symbolic link"; a folder at the zip's name would be deleted
    from xlnapkin import __version__
    import xlnapkin.release as rel
    monkeypatch.setattr(rel, "build_wheel", lambda *a: pytest.fail("built before refusing"))
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "a.txt").write_text("keep")
    link = tmp_path / f"xlnapkin-{__version__}"
    link.symlink_to(precious)
    with pytest.raises(ReleaseError, match=re.escape(
            f"{link} is a symbolic link; not replacing it (remove the link)")):
        build_release(tmp_path, root=REPO, force=True)
    link.unlink()
    zip_dir = tmp_path / f"xlnapkin-{__version__}.zip"
    zip_dir.mkdir()
    with pytest.raises(ReleaseError, match=re.escape(
            f"{zip_dir} is a folder, not a release zip; not replacing it")):
        build_release(tmp_path, root=REPO, force=True)
    assert (precious / "a.txt").read_text() == "keep" and zip_dir.is_dir()
    # a file where the folder goes, in the words templates build and lite use (a hardening
    # review: "File exists", after every other check had run)
    with pytest.raises(ReleaseError, match=re.escape(f"{precious / 'a.txt'} is not a folder")):
        build_release(precious / "a.txt", root=REPO, force=True)


def test_files_git_does_not_track_stop_the_release(tmp_path):
    # A delivery review: a scratch file left under xlnapkin/ went into the wheel and into
    # Lite's main.py, which are passed around; the caches the wheel leaves out do not count.
    import shutil
    import subprocess
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    root = tmp_path / "checkout"
    (root / "xlnapkin" / "__pycache__").mkdir(parents=True)
    (root / "xlnapkin" / "kept.py").write_text("x = 1\n")
    for args in (["init", "-q"], ["add", "xlnapkin/kept.py"]):
        subprocess.run([git, "-C", str(root), *args], check=True, capture_output=True)
    assert release_module.untracked_sources(root) == []
    (root / "xlnapkin" / "__pycache__" / "kept.cpython-311.pyc").write_bytes(b"")
    (root / "xlnapkin" / ".DS_Store").write_bytes(b"")  # ships in neither (a review)
    (root / "xlnapkin" / "notes.txt").write_text("mine\n")
    (root / "xlnapkin" / "my_scratch.py").write_text('TOKEN = "sk-live"\n')
    (root / "xlnapkin" / "data").mkdir()
    (root / "xlnapkin" / "data" / "our_prices.csv").write_text("acme,1.23\n")
    assert release_module.untracked_sources(root) == ["xlnapkin/data/our_prices.csv",
                                                      "xlnapkin/my_scratch.py"]
    with pytest.raises(ReleaseError, match=re.escape(
            "2 files under xlnapkin/ that git does not track would ship in the wheel and in "
            "Lite's main.py: xlnapkin/data/our_prices.csv, xlnapkin/my_scratch.py: commit them "
            "or move them out")):
        build_release(tmp_path / "out", root=root)
    assert not (tmp_path / "out").exists()
    # a source archive (no .git) holds what was committed
    (tmp_path / "nowhere").mkdir()
    assert release_module.untracked_sources(tmp_path / "nowhere") == []
    # a checkout in a folder of a larger work tree (no .git of its own) is checked too (a
    # review: it was taken for a source archive)
    outer = tmp_path / "outer"
    (outer / "project" / "xlnapkin").mkdir(parents=True)
    (outer / "project" / "xlnapkin" / "kept.py").write_text("x = 1\n")
    for args in (["init", "-q"], ["add", "project/xlnapkin/kept.py"]):
        subprocess.run([git, "-C", str(outer), *args], check=True, capture_output=True)
    assert release_module.untracked_sources(outer / "project") == []
    (outer / "project" / "xlnapkin" / "mine.py").write_text("y = 2\n")
    assert release_module.untracked_sources(outer / "project") == ["xlnapkin/mine.py"]
    # a source archive unpacked in a work tree that tracks none of it holds what was committed
    (outer / "archive" / "xlnapkin").mkdir(parents=True)
    (outer / "archive" / "xlnapkin" / "kept.py").write_text("x = 1\n")
    assert release_module.untracked_sources(outer / "archive") == []
