"""Compressed bodies and files (gzip, zip), unpacked within a size limit.

``Content-Encoding: gzip`` is undone by the HTTP layer (and bounded there);
this module is for answers and downloads that *are* a ``.gz`` or ``.zip``
file. Whatever a file claims about itself, reading stops once the unpacked
bytes pass the limit, so a "zip bomb" costs a clear error, not the memory or
the disk. A zip file must hold exactly one file (folders aside).
"""

from __future__ import annotations

import gzip
import io
import shutil
import tempfile
import typing as t
import zipfile
import zlib

from .http import ResponseTooLargeError
from .streams import BuilderStream

if t.TYPE_CHECKING:
    import requests

_CHUNK = 1 << 16


class Readable(t.Protocol):
    """A binary file being read (a body, a download, a member of an archive)."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes; all that is left when negative."""
        ...

    def seekable(self) -> bool:
        """Whether it can seek."""
        ...

    def close(self) -> None:
        """Release it."""
        ...


class BoundedReader(io.RawIOBase):
    """A binary file that fails with ``too_large()`` past ``limit`` bytes read."""

    def __init__(
        self,
        inner: Readable,
        limit: int,
        too_large: t.Callable[[], str],
        also_close: tuple[Readable | zipfile.ZipFile, ...] = (),
    ) -> None:
        """Read ``inner``, at most ``limit`` bytes in all."""
        super().__init__()
        self._inner = inner
        self._also_close = also_close
        self._limit = limit
        self._too_large = too_large
        self._read = 0

    def readable(self) -> bool:
        """A file being unpacked is readable."""
        return True

    def readinto(self, buffer: t.Any) -> int:  # noqa: ANN401
        """Fill ``buffer`` from the inner file; fail past the limit."""
        try:
            data = self._inner.read(min(len(buffer), _CHUNK))
        except (gzip.BadGzipFile, EOFError, zlib.error, zipfile.BadZipFile) as exc:
            msg = f"it cannot be unpacked ({exc})"
            raise ValueError(msg) from None
        self._read += len(data)
        if self._read > self._limit:
            raise ResponseTooLargeError(self._too_large())
        size = len(data)
        buffer[:size] = data
        return size

    def close(self) -> None:
        """Close the inner file too (and the archive and file it came from)."""
        self._inner.close()
        for other in self._also_close:
            other.close()
        super().close()


def _only_file(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    files = [info for info in archive.infolist() if not info.is_dir()]
    if len(files) != 1:
        names = ", ".join(info.filename for info in files[:5]) or "none"
        msg = f"a zip file must hold exactly one file; this one holds {names}"
        raise ValueError(msg)
    return files[0]


def _seekable(file: Readable) -> t.IO[bytes]:
    """``file`` itself if it can seek, else a temporary copy on disk."""
    if file.seekable():
        return t.cast("t.IO[bytes]", file)
    copy = tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it
    shutil.copyfileobj(file, copy, _CHUNK)
    file.close()
    copy.seek(0)
    return copy


def unpack(
    file: Readable, compression: str, limit: int, too_large: t.Callable[[], str]
) -> io.BufferedReader:
    """``file`` unpacked as it is read, at most ``limit`` bytes.

    A zip file that arrives as a stream is copied to a temporary file first
    (a zip's index is at its end); its size is bounded by the reader given.

    Raises:
        ValueError: when the file is not a gzip or zip file as declared.
        ResponseTooLargeError: (while reading) past ``limit`` bytes unpacked.
    """
    inner: Readable
    also_close: tuple[Readable | zipfile.ZipFile, ...] = (file,)
    if compression == "gzip":
        inner = gzip.GzipFile(fileobj=t.cast("t.IO[bytes]", file), mode="rb")
    elif compression == "zip":
        copy = _seekable(file)
        try:
            archive = zipfile.ZipFile(copy)
            also_close = (archive, copy)
            inner = archive.open(_only_file(archive))
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError) as exc:
            for opened in also_close:
                opened.close()
            copy.close()
            msg = f"it is not a readable zip file ({exc})"
            raise ValueError(msg) from None
        except ValueError:
            archive.close()
            copy.close()
            raise
    else:
        inner = file
    bounded = BoundedReader(inner, limit, too_large, also_close)
    return io.BufferedReader(bounded, _CHUNK)


class CompressedStream(BuilderStream):
    """A stream whose answers are gzip or zip files."""

    #: ``gzip`` or ``zip``.
    compression: t.ClassVar[str] = "none"

    def response_bytes(self, response: requests.Response) -> bytes:
        """The unpacked body, at most max_response_mb.

        Raises:
            ValueError: when the body is not a file of that kind.
        """
        limit = int(self._setting("max_response_mb") * 1024 * 1024)

        def too_large() -> str:
            megabytes = limit / 1024 / 1024
            return (
                f"stream {self.name!r}: the {self.compression} answer unpacks to "
                f"more than {megabytes:g} MB (the max_response_mb setting); "
                "reading stopped"
            )

        body = super().response_bytes(response)
        with unpack(io.BytesIO(body), self.compression, limit, too_large) as file:
            return file.read()
