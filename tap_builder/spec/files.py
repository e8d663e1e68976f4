"""Files a spec names (``schema_file``, ``logo``): inside its folder, and bounded.

A spec is often someone else's file, so the paths in it are not trusted: each must
resolve (symbolic links followed) to a regular file inside the spec's folder, and
is read with a size limit. A named pipe, a device or a folder is refused before it
is opened, so reading never blocks and never runs out of memory. Writing a schema
back (``infer-schema --write``) follows the same rule and replaces the file
atomically.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

#: The largest schema file read (bytes).
MAX_SCHEMA_FILE_BYTES = 5_000_000

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CHUNK = 1 << 16


class SpecFileError(ValueError):
    """A file the spec names cannot be used; the message says what is allowed."""


def describe_size(limit: int) -> str:
    """``5 MB`` for 5_000_000."""
    return f"{limit / 1_000_000:g} MB"


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


def confined_path(base_dir: Path, name: str, field: str) -> Path:
    """The real path of ``name`` (relative to ``base_dir``), inside ``base_dir``.

    Symbolic links are resolved first, so a link inside the folder that leads
    outside it is refused like ``../x``.

    Raises:
        SpecFileError: ``name`` is absolute or leads outside ``base_dir``.
    """
    allowed = f"{field} must be a relative path to a file inside the spec's folder"
    if "\x00" in name:
        msg = f"{name!r} contains a NUL character; {allowed}"
        raise SpecFileError(msg)
    if Path(name).is_absolute():
        msg = f"{name} is an absolute path; {allowed}"
        raise SpecFileError(msg)
    try:
        base = base_dir.resolve()
        real = (base / name).resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        msg = f"cannot resolve {name}: {exc}; {allowed}"
        raise SpecFileError(msg) from None
    if not real.is_relative_to(base):
        msg = f"{name} leads outside the spec's folder {base} (to {real}); {allowed}"
        raise SpecFileError(msg)
    return real


def read_spec_file(base_dir: Path, name: str, *, field: str, max_bytes: int) -> bytes:
    """The bytes of the file ``name`` names, confined and bounded.

    Args:
        base_dir: the spec's folder.
        name: the path as the spec gives it.
        field: the spec field, for messages (``schema_file``, ``logo``).
        max_bytes: the size limit.

    Raises:
        SpecFileError: the file is outside ``base_dir``, missing, not a regular
            file, larger than ``max_bytes`` or unreadable.
    """
    real = confined_path(base_dir, name, field)
    noun = "logo file" if field == "logo" else field.replace("_", " ")
    limit = describe_size(max_bytes)
    try:
        before = real.stat()
    except FileNotFoundError:
        msg = f"cannot read the {noun} {real}: file not found"
        raise SpecFileError(msg) from None
    except OSError as exc:
        msg = f"cannot read the {noun} {real}: {exc.strerror or exc}"
        raise SpecFileError(msg) from None
    if not stat.S_ISREG(before.st_mode):
        kind = file_kind(before.st_mode)
        msg = f"{real} is {kind}; {field} must name a regular file"
        raise SpecFileError(msg)
    too_large = f"the {noun} {real} is larger than {limit}; {field} may be at most that"
    if before.st_size > max_bytes:
        raise SpecFileError(too_large)
    flags = os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK | _O_CLOEXEC
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        msg = f"cannot read the {noun} {real}: {exc.strerror or exc}"
        raise SpecFileError(msg) from None
    try:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino):
            msg = f"the {noun} {real} changed while it was being read"
            raise SpecFileError(msg)
        data = read_at_most(fd, max_bytes + 1)
    except OSError as exc:
        msg = f"cannot read the {noun} {real}: {exc.strerror or exc}"
        raise SpecFileError(msg) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # it grew after the check
        raise SpecFileError(too_large)
    return data


def read_at_most(fd: int, limit: int) -> bytes:
    """Read from ``fd`` until end of file or ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, min(_CHUNK, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def write_spec_file(base_dir: Path, name: str, data: bytes, *, field: str) -> Path:
    """Replace the file ``name`` names (inside ``base_dir``) with ``data``, atomically.

    A symbolic link inside the folder that leads to a file inside it is written
    through (its target is replaced); one that leads outside is refused. The new
    content goes to a temporary file in the same folder first, then replaces the
    old file in one step, so a failure leaves the old file as it was.

    Returns:
        The real path written.

    Raises:
        SpecFileError: the path leads outside ``base_dir``, names something other
            than a regular file, or cannot be written.
    """
    real = confined_path(base_dir, name, field)
    try:
        existing = real.lstat()
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        msg = f"cannot write {real}: {exc.strerror or exc}"
        raise SpecFileError(msg) from None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        kind = file_kind(existing.st_mode)
        msg = f"{real} is {kind}; {field} must name a regular file"
        raise SpecFileError(msg)
    mode = stat.S_IMODE(existing.st_mode) if existing is not None else 0o644
    try:
        atomic_write(real, data, mode)
    except OSError as exc:
        msg = f"cannot write {real}: {exc.strerror or exc}; it was left as it was"
        raise SpecFileError(msg) from None
    return real


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` through a temporary file and one rename.

    Every step is bound to the folder opened once (no symbolic link is followed
    after it is opened), and a symbolic link at ``path`` itself is replaced, not
    written through.

    Raises:
        OSError: the folder cannot be opened or the file cannot be written; the
            temporary file is removed and ``path`` is left as it was.
    """
    folder = os.open(path.parent, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    try:
        temp = f".{path.name}.{secrets.token_hex(6)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC
        fd = os.open(temp, flags, 0o600, dir_fd=folder)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fchmod(fd, mode)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, path.name, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            try:
                os.unlink(temp, dir_fd=folder)
            except OSError as exc:  # pragma: no cover - best effort
                if exc.errno != errno.ENOENT:
                    raise
            raise
    finally:
        os.close(folder)
