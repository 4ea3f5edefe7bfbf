"""Read the VBA source inside an Office file: which xlwings version an add-in was built for, and
which Python modules a workbook's imported functions call.

xlwings' add-in (``xlwings.xlam``) loads ``xlwings64-<version>.dll`` from beside the Python it
starts, and the ``<version>`` is written into its VBA code when xlwings is released
(``Public Const XLWINGS_VERSION As String = "0.37.8"`` and the ``Declare ... Lib`` lines in its
``Main`` module; xlwings' ``scripts/build_excel_files.py``). So an add-in works only with the
xlwings package of that same version: :func:`xlwings_version` reads it. xlwings' *Import
Functions* writes one VBA function per Python function into the workbook, each calling
``XLPy.CallUDF("<module>", ...)``: :func:`udf_modules_called` lists those modules.

The code lives in ``xl/vbaProject.bin`` of an .xlam/.xlsm (a zip): an OLE compound file
([MS-CFB], read with the olefile package) whose ``VBA/dir`` stream lists the modules, each
module's source compressed ([MS-OVBA] 2.4.1) after a cache, at the offset ``dir`` gives. Only
reading, in pure Python; anything malformed is a :class:`VbaError`, never a crash or an
unbounded loop.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile

from .errors import NapkinError

__all__ = ["VbaError", "vba_sources", "module_sources", "xlwings_version", "udf_modules_called"]

_CFB_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
_MAX_PROJECT = 16 * 1024 * 1024  # a vbaProject.bin: far above any add-in or workbook's code
_MAX_SOURCE = 64 * 1024 * 1024  # decompressed bytes of one stream, below a zip bomb
_VERSION_RE = re.compile(rb'XLWINGS_VERSION\s+As\s+String\s*=\s*"([^"\r\n]*)"', re.I)
_DLL_RE = re.compile(rb'"xlwings(?:32|64)-([^"\r\n]*?)\.dll"', re.I)
# What xlwings' Import Functions writes into a workbook for each function (udfs.py,
# generate_vba_wrapper): ``name = XLPy.CallUDF("module", "name", ...)`` or ``XLPy.CallUDF "..."``.
_CALL_UDF_RE = re.compile(rb'\bCallUDF\b\s*\(?\s*"([^"\r\n]+)"', re.I)


class VbaError(NapkinError):
    """An Office file whose VBA project cannot be read."""


def xlwings_version(xlam: bytes) -> str | None:
    """The xlwings version an add-in's VBA code names (``"0.37.8"``; ``"dev"`` in xlwings' own
    source tree), or None where it names none. Raises :class:`VbaError` for a file that is not
    an Office file with a readable VBA project."""
    sources = vba_sources(xlam)
    if not sources:
        raise VbaError("the file has no VBA project")
    for source in sources.values():
        found = _VERSION_RE.search(source) or _DLL_RE.search(source)
        if found:
            return found.group(1).decode("ascii", "replace")
    return None


def udf_modules_called(workbook: bytes) -> set[str]:
    """The Python modules whose functions xlwings' *Import Functions* put into a workbook: each
    imported function calls ``XLPy.CallUDF("<module>", ...)``. Empty for a workbook without VBA
    (an .xlsx). Raises :class:`VbaError` where the VBA project cannot be read."""
    return {m.group(1).decode("latin-1").strip()
            for source in vba_sources(workbook).values()
            for m in _CALL_UDF_RE.finditer(source)}


def vba_sources(office_file: bytes) -> dict[str, bytes]:
    """``{module: source}`` of an Office file's VBA project: an Open XML file (.xlsm, .xlam,
    .xlsb: a zip holding ``xl/vbaProject.bin``) or a binary .xls (an OLE file whose
    ``_VBA_PROJECT_CUR`` storage holds it). Empty where the file has no VBA project."""
    if office_file[:8] == _CFB_MAGIC:
        ole = _open(office_file)
        if not ole.exists("_VBA_PROJECT_CUR"):
            return {}
        return _sources(ole, "_VBA_PROJECT_CUR", "VBA")
    try:
        with zipfile.ZipFile(io.BytesIO(office_file)) as zf:
            name = next((n for n in zf.namelist() if n.lower() == "xl/vbaproject.bin"), None)
            if name is None:
                return {}
            if zf.getinfo(name).file_size > _MAX_PROJECT:
                raise VbaError("its VBA project is implausibly large")
            project = zf.read(name)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
        raise VbaError(f"not an Office file ({exc})") from None
    return module_sources(project)


def module_sources(project: bytes) -> dict[str, bytes]:
    """``{stream name: source code}`` of every module of a ``vbaProject.bin``, in the project's
    code page (bytes)."""
    if project[:8] != _CFB_MAGIC:
        raise VbaError("vbaProject.bin is not an OLE compound file")
    return _sources(_open(project), "VBA")


def _open(data: bytes):
    """The OLE compound file ([MS-CFB]) in ``data``, read with olefile."""
    try:
        import olefile
    except ImportError:
        raise VbaError("reading VBA code needs the olefile package (pip install olefile; "
                       "the excel extra has it)") from None
    try:
        return olefile.OleFileIO(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - a hostile file may raise anything olefile meets
        raise VbaError(f"a malformed OLE compound file ({type(exc).__name__})") from None


def _sources(ole, *path: str) -> dict[str, bytes]:
    want = [p.lower() for p in path]
    try:
        streams = {entry[-1]: ole.openstream(entry).read()
                   for entry in ole.listdir(streams=True, storages=False)
                   if [e.lower() for e in entry[:-1]] == want}
    except Exception as exc:  # noqa: BLE001 - as in _open
        raise VbaError(f"a malformed OLE compound file ({type(exc).__name__})") from None
    if not streams:
        raise VbaError(f"the OLE file has no {'/'.join(path)} storage")
    try:
        offsets = _module_offsets(_decompress(_stream(streams, "dir")))
        return {name: _decompress(_stream(streams, name), offset)
                for name, offset in offsets.items()}
    except (IndexError, struct.error, KeyError) as exc:
        raise VbaError(f"a malformed VBA project ({type(exc).__name__})") from None


def _stream(streams: dict[str, bytes], name: str) -> bytes:
    for key, data in streams.items():
        if key.lower() == name.lower():
            return data
    raise VbaError(f"the VBA project has no stream {name!r}")


def _module_offsets(dir_stream: bytes) -> dict[str, int]:
    """``{module stream name: offset of its compressed source}`` from the ``dir`` stream: records
    of an id (2 bytes), a size (4) and that many bytes ([MS-OVBA] 2.3.4.2)."""
    names, offsets, pos = [], [], 0
    while pos + 6 <= len(dir_stream):
        rid, size = struct.unpack_from("<HI", dir_stream, pos)
        pos += 6
        if rid == 0x0009:  # PROJECTVERSION: its "size" is a reserved 4, and 6 bytes follow
            size = 6
        body = dir_stream[pos:pos + size]
        pos += size
        if rid == 0x001A:  # MODULESTREAMNAME
            names.append(body.decode("latin-1"))
        elif rid == 0x0031:  # MODULEOFFSET
            offsets.append(struct.unpack("<I", body)[0])
        elif rid == 0x0010:  # the terminator of the whole stream
            break
    if not names or len(names) != len(offsets):
        raise VbaError("the VBA project's dir stream lists no modules")
    return dict(zip(names, offsets))


def _decompress(data: bytes, start: int = 0) -> bytes:
    """[MS-OVBA] 2.4.1: a signature byte 1, then chunks of at most 4096 decompressed bytes, each a
    2-byte header (size, signature 0b011, compressed flag) and tokens: a flag byte, then eight
    literal bytes or 2-byte copy tokens (offset and length, split by the chunk position)."""
    if start >= len(data) or data[start] != 1:
        raise VbaError("a VBA stream is not compressed as VBA streams are")
    out, pos = bytearray(), start + 1
    while pos + 2 <= len(data):
        header = struct.unpack_from("<H", data, pos)[0]
        if (header >> 12) & 0b111 != 0b011:
            raise VbaError("a VBA stream has a bad chunk header")
        end = min(pos + (header & 0x0FFF) + 3, len(data))
        pos += 2
        chunk_start = len(out)
        if not header & 0x8000:  # stored as is
            out += data[pos:pos + 4096]
            pos += 4096
            continue
        while pos < end:
            flags, pos = data[pos], pos + 1
            for bit in range(8):
                if pos >= end:
                    break
                if not flags >> bit & 1:
                    out.append(data[pos])
                    pos += 1
                    continue
                token = struct.unpack_from("<H", data, pos)[0]
                pos += 2
                bits = max((len(out) - chunk_start - 1).bit_length(), 4)
                length = (token & (0xFFFF >> bits)) + 3
                source = len(out) - ((token >> (16 - bits)) + 1)
                if source < chunk_start:
                    raise VbaError("a VBA stream copies from before its chunk")
                if len(out) - chunk_start + length > 4096:
                    raise VbaError("a VBA stream has a chunk over 4096 bytes")
                for k in range(length):  # byte by byte: a copy may overlap what it writes
                    out.append(out[source + k])
        if len(out) > _MAX_SOURCE:
            raise VbaError("a VBA stream decompresses to an implausible size")
    return bytes(out)
