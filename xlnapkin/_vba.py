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
([MS-CFB]) whose ``VBA/dir`` stream lists the modules, each module's source compressed
([MS-OVBA] 2.4.1) after a cache, at the offset ``dir`` gives. Only reading, in pure Python;
anything malformed is a :class:`VbaError`, never a crash or an unbounded loop.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile

from .errors import NapkinError

__all__ = ["VbaError", "vba_sources", "module_sources", "xlwings_version", "udf_modules_called"]

_CFB_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
_END_OF_CHAIN = 0xFFFFFFFE
_NO_STREAM = 0xFFFFFFFF
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
        cfb = _Cfb(office_file)
        if not cfb.has("_VBA_PROJECT_CUR"):
            return {}
        return _sources(cfb, "_VBA_PROJECT_CUR", "VBA")
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
    return _sources(_Cfb(project), "VBA")


def _sources(cfb: _Cfb, *path: str) -> dict[str, bytes]:
    try:
        streams = cfb.storage(*path)
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


class _Cfb:
    """The storages and streams of an OLE compound file ([MS-CFB]), read whole into memory."""

    def __init__(self, data: bytes):
        if data[:8] != _CFB_MAGIC:
            raise VbaError("vbaProject.bin is not an OLE compound file")
        try:
            self._parse(data)
        except (IndexError, struct.error) as exc:
            raise VbaError(f"a malformed OLE compound file ({type(exc).__name__})") from None

    def _parse(self, data: bytes) -> None:
        self.data = data
        self.sector = 1 << struct.unpack_from("<H", data, 30)[0]
        self.mini_sector = 1 << struct.unpack_from("<H", data, 32)[0]
        if self.sector not in (512, 4096) or self.mini_sector != 64:
            raise VbaError("vbaProject.bin has an unknown sector size")
        (n_fat, first_dir, _, self.cutoff, first_minifat, _, first_difat,
         n_difat) = struct.unpack_from("<8I", data, 44)
        fat_sectors = list(struct.unpack_from("<109I", data, 76))
        per_sector = self.sector // 4
        sector, seen = first_difat, set()
        for _ in range(n_difat):  # the DIFAT continues in a chain of sectors
            if sector in (_END_OF_CHAIN, _NO_STREAM) or sector in seen:
                break
            seen.add(sector)
            entries = struct.unpack_from(f"<{per_sector}I", data, self._offset(sector))
            fat_sectors += entries[:-1]
            sector = entries[-1]
        self.fat = []
        for sector in fat_sectors[:n_fat]:
            self.fat += struct.unpack_from(f"<{per_sector}I", data, self._offset(sector))
        entries = self._chain(first_dir, self.fat, self._sector_bytes)
        self.entries = [entries[i:i + 128] for i in range(0, len(entries) - 127, 128)]
        root = self.entries[0]
        self.minifat_bytes = self._chain(first_minifat, self.fat, self._sector_bytes)
        self.minifat = list(struct.unpack(f"<{len(self.minifat_bytes) // 4}I",
                                          self.minifat_bytes[:len(self.minifat_bytes) // 4 * 4]))
        self.ministream = self._chain(struct.unpack_from("<I", root, 116)[0], self.fat,
                                      self._sector_bytes)

    def _offset(self, sector: int) -> int:
        offset = (sector + 1) * self.sector
        if offset + self.sector > len(self.data):
            raise VbaError("vbaProject.bin is truncated")
        return offset

    def _sector_bytes(self, sector: int) -> bytes:
        offset = self._offset(sector)
        return self.data[offset:offset + self.sector]

    def _mini_bytes(self, sector: int) -> bytes:
        offset = sector * self.mini_sector
        if offset + self.mini_sector > len(self.ministream):
            raise VbaError("vbaProject.bin is truncated")
        return self.ministream[offset:offset + self.mini_sector]

    @staticmethod
    def _chain(first: int, fat: list[int], read) -> bytes:
        out, sector, seen = [], first, set()
        while sector != _END_OF_CHAIN and sector != _NO_STREAM:
            if sector in seen or sector >= len(fat):
                raise VbaError("vbaProject.bin has a broken sector chain")
            seen.add(sector)
            out.append(read(sector))
            sector = fat[sector]
        return b"".join(out)

    def _name(self, entry: bytes) -> str:
        length = struct.unpack_from("<H", entry, 64)[0]
        return entry[:max(length - 2, 0)].decode("utf-16-le", "replace")

    def _children(self, index: int) -> list[int]:
        """The entries of the storage ``index`` (its red-black tree walked in any order)."""
        found, todo = [], [struct.unpack_from("<I", self.entries[index], 76)[0]]
        while todo:
            i = todo.pop()
            if i == _NO_STREAM:
                continue
            if i >= len(self.entries) or i in found:
                raise VbaError("vbaProject.bin has a broken directory")
            found.append(i)
            todo += struct.unpack_from("<2I", self.entries[i], 68)  # left and right siblings
        return found

    def _find(self, path: tuple[str, ...]) -> int | None:
        """The entry of the storage at ``path`` below the root, or None."""
        index = 0
        for name in path:
            index = next((i for i in self._children(index) if self.entries[i][66] == 1
                          and self._name(self.entries[i]).lower() == name.lower()), None)
            if index is None:
                return None
        return index

    def has(self, *path: str) -> bool:
        return self._find(path) is not None

    def storage(self, *path: str) -> dict[str, bytes]:
        """The streams directly inside the storage at ``path``: ``{name: bytes}``."""
        index = self._find(path)
        if index is None:
            raise VbaError(f"the OLE file has no {'/'.join(path)} storage")
        return {self._name(self.entries[j]): self._read(self.entries[j])
                for j in self._children(index) if self.entries[j][66] == 2}

    def _read(self, entry: bytes) -> bytes:
        start, size = struct.unpack_from("<IQ", entry, 116)
        if self.sector == 512:  # version 3 files: only the low 32 bits count
            size &= 0xFFFFFFFF
        if size < self.cutoff:
            data = self._chain(start, self.minifat, self._mini_bytes)
        else:
            data = self._chain(start, self.fat, self._sector_bytes)
        return data[:size]


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
