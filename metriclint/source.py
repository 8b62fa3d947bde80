"""Reading a file into text with its real encoding, and writing it back without losing anything.

Text keeps the file's own line endings (no newline translation), so edits computed on the
text touch nothing else. Writes go through a temporary file in the same directory and a
rename; the file's mode, encoding and BOM are kept, and a file that changed on disk since
it was read is not overwritten.
"""

from __future__ import annotations

import codecs
import io
import os
import stat
import tempfile
import tokenize
from dataclasses import dataclass


class SourceError(Exception):
    """A file that cannot be read as Python source; the message is one line for the user."""


@dataclass(frozen=True)
class SourceFile:
    path: str
    text: str
    encoding: str  # a codec name; "utf-8-sig" means the file starts with a BOM
    raw: bytes

    def encode(self, text: str) -> bytes:
        try:
            return text.encode(self.encoding)
        except UnicodeEncodeError as exc:
            raise SourceError(
                f"the fixed text cannot be written in the file's encoding {self.encoding}: {exc.reason}"
            ) from None


def decode_source(raw: bytes, path: str = "<stdin>") -> SourceFile:
    if b"\x00" in raw:
        raise SourceError("file contains NUL bytes; it is not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as exc:
        raise SourceError(f"bad encoding declaration: {exc.msg if hasattr(exc, 'msg') else exc}") from None
    try:
        codecs.lookup(encoding)
        text = raw.decode(encoding)
    except LookupError:
        raise SourceError(f"unknown encoding {encoding!r} in the coding declaration") from None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceError(
            f"cannot decode as {encoding}: invalid byte 0x{raw[exc.start]:02x} on line {line}"
        ) from None
    if encoding == "utf-8-sig":
        text = text[1:] if text.startswith("\ufeff") else text
    return SourceFile(path=path, text=text, encoding=encoding, raw=raw)


def read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except IsADirectoryError:
        raise SourceError("is a directory, not a file") from None
    except FileNotFoundError:
        raise SourceError("no such file") from None
    except PermissionError:
        raise SourceError("permission denied") from None
    except OSError as exc:
        raise SourceError(exc.strerror or str(exc)) from None


def read_source(path: str) -> SourceFile:
    return decode_source(read_bytes(path), path)


def write_atomic(source: SourceFile, new_text: str) -> None:
    """Write `new_text` over `source.path` through a temporary file and an atomic rename.

    Refuses (SourceError) when the file on disk no longer holds the bytes we read.
    """
    data = source.encode(new_text)
    if source.encoding == "utf-8-sig" and not data.startswith(codecs.BOM_UTF8):
        data = codecs.BOM_UTF8 + data
    target = os.path.realpath(source.path)  # a symlink stays a symlink: write its target
    try:
        st = os.stat(target)
    except OSError as exc:
        raise SourceError(f"cannot write: {exc.strerror or exc}") from None
    if read_bytes(target) != source.raw:
        raise SourceError("changed on disk while metriclint was running; not overwritten")
    directory = os.path.dirname(target) or "."
    fd, tmp = -1, None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".metriclint-", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise SourceError(f"cannot write: {exc.strerror or exc}") from None
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
