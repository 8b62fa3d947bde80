"""Reading a file into text with its real encoding, and writing it back without losing anything.

Text keeps the file's own line endings (no newline translation), so edits computed on the
text touch nothing else. Writes go through a temporary file in the same directory and a
rename; the file's mode, encoding and BOM are kept, and a file that changed on disk since
it was read is not overwritten.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
import tokenize
from dataclasses import dataclass
from typing import Optional


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


_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def _decode_error(raw: bytes, encoding: str, start: int) -> SourceError:
    line = raw[:start].count(b"\n") + 1
    return SourceError(f"cannot decode as {encoding}: invalid byte 0x{raw[start]:02x} on line {line}")


def _cookie(raw: bytes) -> Optional[str]:
    """The name in a PEP 263 coding declaration on line 1 or 2, as written."""
    for line in raw.splitlines()[:2]:
        match = _COOKIE.match(line)
        if match is not None:
            return match.group(1).decode("ascii", "replace")
    return None


def decode_source(raw: bytes, path: str = "<stdin>") -> SourceFile:
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise SourceError(f"file contains a NUL byte (line {line}); it is not Python source")
    try:
        # Lines as Python's tokenizer sees them: `\r` alone ends a line too (old Mac files).
        encoding, _ = tokenize.detect_encoding(iter(raw.splitlines(keepends=True)[:2] + [b""]).__next__)
    except SyntaxError as exc:
        message = getattr(exc, "msg", None) or str(exc)
        cookie = _cookie(raw[len(codecs.BOM_UTF8):] if raw.startswith(codecs.BOM_UTF8) else raw)
        if message.startswith("unknown encoding"):
            raise SourceError(f"unknown encoding {cookie!r} in the coding declaration") from None
        if message.startswith("encoding problem") and raw.startswith(codecs.BOM_UTF8):
            raise SourceError(f"the file starts with a UTF-8 BOM but declares coding {cookie!r}") from None
        # "invalid or missing encoding declaration": the first lines are not UTF-8 and there is no cookie
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise _decode_error(raw, "utf-8", err.start) from None
        raise SourceError(f"bad encoding declaration: {message}") from None  # pragma: no cover - defensive
    try:
        codecs.lookup(encoding)
        # With a BOM, `encoding` is "utf-8-sig": decoding drops exactly that one BOM.
        text = raw.decode(encoding)
    except LookupError:
        raise SourceError(f"unknown encoding {encoding!r} in the coding declaration") from None
    except UnicodeDecodeError as exc:
        raise _decode_error(raw, encoding, exc.start) from None
    return SourceFile(path=path, text=text, encoding=encoding, raw=raw)


# Bigger files are not read: the largest Python files in real Keras-heavy packages are under
# 1 MiB (TensorFlow's generated op wrappers), and parsing and analysing grows with size, so a
# limit bounds the time and memory one file can take. Notebooks carry outputs (images), so the
# limit on their JSON is larger.
MAX_SOURCE_BYTES = 4 * 1024 * 1024
MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024


def size_limit(path: str) -> int:
    return MAX_NOTEBOOK_BYTES if path.endswith(".ipynb") else MAX_SOURCE_BYTES


def too_large(size: int, limit: int) -> SourceError:
    return SourceError(f"file is too large to check ({_mib(size)}; the limit is {_mib(limit)}); not read")


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def _open_nonblocking(path: str, flags: int) -> int:
    # A FIFO opened for reading blocks until a writer comes; with O_NONBLOCK it does not, and
    # the fstat below turns it away. On a regular file O_NONBLOCK changes nothing.
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def read_bytes(path: str, limit: Optional[int] = None) -> bytes:
    """The file's bytes. Only regular files are read (a device such as /dev/zero or a FIFO named
    on the command line would never end), and at most `limit` bytes (default: `size_limit`)."""
    limit = size_limit(path) if limit is None else limit
    try:
        with open(path, "rb", opener=_open_nonblocking) as handle:
            st = os.fstat(handle.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise SourceError("not a regular file (a device, FIFO or socket); not read")
            if st.st_size > limit:
                raise too_large(st.st_size, limit)
            data = handle.read(limit + 1)
    except SourceError:
        raise
    except IsADirectoryError:
        raise SourceError("is a directory, not a file") from None
    except FileNotFoundError:
        raise SourceError("no such file") from None
    except PermissionError:
        raise SourceError("permission denied") from None
    except OSError as exc:
        raise SourceError(exc.strerror or str(exc)) from None
    if len(data) > limit:  # it grew after the stat
        raise too_large(len(data), limit)
    return data


def read_source(path: str) -> SourceFile:
    return decode_source(read_bytes(path), path)


def encode_text(source: SourceFile, text: str) -> bytes:
    """`text` as bytes in the file's own encoding, with its BOM if it had one."""
    data = source.encode(text)
    if source.encoding == "utf-8-sig" and not data.startswith(codecs.BOM_UTF8):
        data = codecs.BOM_UTF8 + data
    return data


def write_atomic(source: SourceFile, new_text: str) -> None:
    """Write `new_text` over `source.path` through a temporary file and an atomic rename.

    The file keeps its encoding, BOM, line endings (they are in the text) and mode; a symlink
    stays a symlink (its target is replaced). Refuses (SourceError) when the file on disk no
    longer holds the bytes that were read.
    """
    data = encode_text(source, new_text)
    target = os.path.realpath(source.path)
    try:
        st = os.stat(target)
        with open(target, "rb") as handle:
            current = handle.read()
    except FileNotFoundError:
        raise SourceError("deleted while metriclint was running; not written") from None
    except OSError as exc:
        raise SourceError(f"cannot write: {exc.strerror or exc}") from None
    if current != source.raw:
        raise SourceError("changed on disk while metriclint was running; not overwritten")
    if not os.access(target, os.W_OK):
        # The rename below would get round a read-only mode; a plain write would not (nor does ruff's).
        raise SourceError("permission denied: the file is read-only")
    import tempfile

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
        tmp_st = os.stat(tmp)
        if hasattr(os, "chown") and (tmp_st.st_uid, tmp_st.st_gid) != (st.st_uid, st.st_gid):
            try:
                os.chown(tmp, st.st_uid, st.st_gid)  # keep the owner when we may (e.g. as root)
            except OSError:
                pass
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise SourceError(f"cannot write: {exc.strerror or exc}") from None
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
