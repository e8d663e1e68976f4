"""Write a rendered package to disk: all or nothing, and only what we own.

The manifest at the package root (:data:`MANIFEST`) records every file a
generation wrote with the SHA-256 of its content, and the folders it created.
Regenerating (``force``) trusts a manifest only as far as the files agree with it:

- a file is replaced or removed only when it is a regular file the manifest lists
  and its content still has the recorded hash (so a file edited since, or an
  entry planted in the manifest, is never touched);
- a generated file that would be overwritten but was edited is a conflict, as is
  a file the generator never wrote in the place of a new one, a folder where the
  package has a file, or a symbolic link anywhere on a path to write or delete;
  any conflict refuses the whole generation before anything is written;
- a file no longer generated that was edited is kept (and reported);
- folders are removed only when the generator created them and they are empty;
- manifest entries that are absolute or contain ``..`` are ignored (reported);
- a non-empty folder without a manifest is never written into.

Manifests of earlier versions list files without hashes: such a file may stay if
its content is already the new content, is otherwise a conflict when it would be
overwritten, and is kept when it is no longer generated.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
import typing as t
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

#: The manifest at the package root lists the files a generation wrote.
MANIFEST = ".tap-builder.json"
_MANIFEST_PATH = PurePosixPath(MANIFEST)
_MAX_MANIFEST_BYTES = 10_000_000
_ROOT = PurePosixPath(".")
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_DIR_FLAGS = os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK | _O_CLOEXEC


class WriteError(Exception):
    """The package could not be written; nothing was changed.

    (The one exception: the output folder changing under tap-builder while it
    moves files in, which the message then says.)

    ``problems`` holds one line per problem (``str(error)`` joins them).
    """

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class WrittenFiles(list[PurePosixPath]):
    """The package's files (relative paths), and what was kept or ignored.

    ``notices`` has one line per file left in place although an earlier
    generation wrote it (``kept <path>: edited since generation``) and per
    manifest entry ignored.
    """

    def __init__(
        self, paths: Iterable[PurePosixPath], notices: Iterable[str] = ()
    ) -> None:
        super().__init__(paths)
        self.notices = list(notices)


def content_hash(data: bytes) -> str:
    """The hash the manifest records for a file's content."""
    return hashlib.sha256(data).hexdigest()


@dataclass
class _Manifest:
    """What an earlier generation claims to have written."""

    #: path -> recorded SHA-256, or None when the manifest recorded none.
    hashes: dict[PurePosixPath, str | None]
    dirs: set[PurePosixPath]
    notices: list[str]
    raw: bytes


@dataclass
class _Plan:
    """What a generation will do, decided before anything is written."""

    write: list[PurePosixPath] = field(default_factory=list)
    delete: list[PurePosixPath] = field(default_factory=list)
    prune: list[PurePosixPath] = field(default_factory=list)
    owned_dirs: set[PurePosixPath] = field(default_factory=set)
    notices: list[str] = field(default_factory=list)
    problems: dict[str, None] = field(default_factory=dict)  # ordered, no repeats

    def problem(self, line: str) -> None:
        self.problems[line] = None


def write_package(
    files: Mapping[PurePosixPath, str | bytes],
    out_dir: Path,
    *,
    force: bool = False,
    metadata: Mapping[str, t.Any] | None = None,
    user_files: Mapping[PurePosixPath, str | bytes] | None = None,
) -> WrittenFiles:
    """Write ``files`` under ``out_dir`` atomically, owning only what it wrote.

    Every check runs first; the files are then written to a staging folder beside
    ``out_dir``, and only when all are written does anything in ``out_dir``
    change. With ``force``, an earlier generation (as its manifest records it) is
    replaced: see the module documentation for the rules.

    ``user_files`` belong to the user once written: each is written only where
    nothing is at its path, never replaced or deleted, and the manifest lists
    them apart (``user_files``), without a hash.

    Returns:
        The paths of the package, relative to ``out_dir``, with ``notices``.

    Raises:
        WriteError: ``out_dir`` is not usable (a file, a non-empty folder without
            ``force`` or without a manifest, a conflict with files the generator
            does not own), or the files cannot be written. Nothing was changed.
    """
    out_dir, is_new, is_empty = _output_folder(out_dir)
    contents = _encoded(files)
    users = _encoded(user_files or {})
    if overlap := sorted(set(users) & set(contents)):
        msg = f"{overlap[0]} cannot be both generated and the user's"
        raise WriteError(msg)
    previous: _Manifest | None = None
    if is_empty:
        plan = _fresh_plan({**contents, **users})
    else:
        previous = _read_manifest(out_dir)
        if previous is None:
            msg = (
                f"{out_dir} is not empty and has no {MANIFEST}, so tap-builder did "
                "not generate it; even with --force it writes only into a folder it "
                "generated: give a new or empty folder with -o"
            )
            raise WriteError(msg)
        if not force:
            msg = f"{out_dir} is not empty; use --force to regenerate into it"
            raise WriteError(msg)
        plan = _plan(out_dir, contents, previous, users)
        if plan.problems:
            raise WriteError([*plan.problems, _refusal(out_dir, len(plan.problems))])
    if users:
        metadata = {**(metadata or {}), "user_files": sorted(str(p) for p in users)}
    manifest = _manifest_bytes(metadata, contents, plan.owned_dirs)
    everything = {**files, **(user_files or {})}
    if is_new:
        _write_new(everything, out_dir, manifest)
    elif plan.write or plan.delete or previous is None or previous.raw != manifest:
        _write_into(everything, out_dir, manifest, plan)
    return WrittenFiles(everything, plan.notices)


def _output_folder(out_dir: Path) -> tuple[Path, bool, bool]:
    """``out_dir`` resolved, whether it is still to be made, and whether empty.

    Raises:
        WriteError: it cannot be resolved or listed, or it is not a folder.
    """
    try:
        out_dir = out_dir.resolve()
        info = out_dir.lstat()
    except FileNotFoundError:
        return out_dir, True, True
    except (OSError, RuntimeError) as exc:  # RuntimeError: a link loop
        msg = f"cannot use {out_dir} as the output folder: {exc}"
        raise WriteError(msg) from None
    if not stat.S_ISDIR(info.st_mode):
        msg = f"{out_dir} exists and is not a folder"
        raise WriteError(msg)
    try:
        empty = not any(out_dir.iterdir())
    except OSError as exc:
        msg = f"cannot use {out_dir} as the output folder: {exc.strerror or exc}"
        raise WriteError(msg) from None
    return out_dir, False, empty


def _refusal(out_dir: Path, count: int) -> str:
    what = "the problem above" if count == 1 else f"the {count} problems above"
    return (
        f"nothing was written to {out_dir} because of {what}: move the paths named "
        "above out of the way (keep copies of any edits you want), then run "
        "generate --force again"
    )


def _encoded(files: Mapping[PurePosixPath, str | bytes]) -> dict[PurePosixPath, bytes]:
    """Each file's bytes as written, after checking its path."""
    contents: dict[PurePosixPath, bytes] = {}
    for relative, text in files.items():
        if relative.is_absolute() or ".." in relative.parts:
            msg = f"refusing to write outside the output folder: {relative}"
            raise WriteError(msg)
        if not relative.parts or relative == _MANIFEST_PATH:
            msg = f"refusing to write {str(relative)!r}: not a file of the package"
            raise WriteError(msg)
        try:
            contents[relative] = (
                text if isinstance(text, bytes) else text.encode("utf-8")
            )
        except UnicodeEncodeError as exc:
            msg = f"cannot write {relative}: {exc}"
            raise WriteError(msg) from None
    for relative in contents:
        for parent in relative.parents:
            if parent in contents:
                msg = f"cannot write both the file {parent} and {relative} inside it"
                raise WriteError(msg)
    return contents


def _ancestors(relative: PurePosixPath) -> list[PurePosixPath]:
    """Folders on the way to ``relative``, from the top, without the root."""
    return [p for p in reversed(relative.parents) if p != _ROOT]


def _fresh_plan(contents: Mapping[PurePosixPath, bytes]) -> _Plan:
    """Into a new or empty folder: write everything, own every folder made."""
    plan = _Plan(write=sorted(contents))
    plan.owned_dirs = {d for relative in contents for d in _ancestors(relative)}
    return plan


# -- the manifest ------------------------------------------------------------ #


def _read_manifest(out_dir: Path) -> _Manifest | None:
    """The earlier generation's manifest; None when there is none.

    Raises:
        WriteError: a manifest is there but cannot be used.
    """
    path = out_dir / MANIFEST
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _unusable(path, exc.strerror or str(exc)) from None
    if not stat.S_ISREG(info.st_mode):
        raise _unusable(path, f"it is {_kind(info.st_mode)}")
    if info.st_size > _MAX_MANIFEST_BYTES:
        raise _unusable(path, "it is larger than 10 MB")
    try:
        raw = _read_regular(path, info, _MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise _unusable(path, exc.strerror or str(exc)) from None
    return _parse_manifest(path, raw)


def _parse_manifest(path: Path, raw: bytes) -> _Manifest:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _unusable(path, "it is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise _unusable(path, "it has no list of files")
    hashes, dirs = data.get("sha256", {}), data.get("dirs", [])
    if not isinstance(hashes, dict) or not isinstance(dirs, list):
        raise _unusable(path, "its sha256 or dirs entries are malformed")
    manifest = _Manifest(hashes={}, dirs=set(), notices=[], raw=raw)
    for entry in data["files"]:
        if (relative := _entry(entry, manifest.notices)) is not None:
            recorded = hashes.get(entry)
            manifest.hashes[relative] = recorded if isinstance(recorded, str) else None
    for entry in dirs:
        if (relative := _entry(entry, manifest.notices)) is not None:
            manifest.dirs.add(relative)
    return manifest


def _unusable(path: Path, reason: str) -> WriteError:
    return WriteError(
        f"{path} is not a manifest tap-builder can use ({reason}), so nothing in "
        f"{path.parent} counts as generated; give a new or empty folder with -o"
    )


def _entry(entry: object, notices: list[str]) -> PurePosixPath | None:
    """A manifest entry as a path inside the package, or None (and a notice)."""
    if not isinstance(entry, str) or not entry or "\x00" in entry:
        notices.append(f"ignored manifest entry {entry!r}: not a path")
        return None
    relative = PurePosixPath(entry)
    if relative.is_absolute() or ".." in relative.parts:
        notices.append(f"ignored manifest entry {entry!r}: outside the output folder")
        return None
    if not relative.parts or relative == _MANIFEST_PATH:
        notices.append(f"ignored manifest entry {entry!r}: not a file of the package")
        return None
    return relative


def _manifest_bytes(
    metadata: Mapping[str, t.Any] | None,
    contents: Mapping[PurePosixPath, bytes],
    dirs: set[PurePosixPath],
) -> bytes:
    paths = sorted(contents)
    manifest = {
        **(metadata or {}),
        "files": [str(p) for p in paths],
        "sha256": {str(p): content_hash(contents[p]) for p in paths},
        "dirs": sorted(str(d) for d in dirs),
    }
    return (json.dumps(manifest, indent=2) + "\n").encode("utf-8")


# -- deciding, before anything is written ----------------------------------- #


class _Tree:
    """``lstat`` of paths under the output folder, never following links."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[PurePosixPath, os.stat_result | None] = {}

    def path(self, relative: PurePosixPath) -> Path:
        return self.root / Path(*relative.parts)

    def lstat(self, relative: PurePosixPath) -> os.stat_result | None:
        if relative not in self._cache:
            try:
                self._cache[relative] = self.path(relative).lstat()
            except (FileNotFoundError, NotADirectoryError):
                self._cache[relative] = None
        return self._cache[relative]


def _plan(
    out_dir: Path,
    contents: Mapping[PurePosixPath, bytes],
    previous: _Manifest,
    users: Mapping[PurePosixPath, bytes] | None = None,
) -> _Plan:
    plan = _Plan(notices=list(previous.notices))
    tree = _Tree(out_dir)
    users = users or {}
    try:
        for relative in sorted(contents):
            _plan_file(tree, plan, relative, contents[relative], previous)
        for relative in sorted(users):
            if _folders_ok(tree, plan, relative, needed=True) and (
                tree.lstat(relative) is None
            ):
                plan.write.append(relative)  # the user's from now on
        for relative in sorted(set(previous.hashes) - set(contents) - set(users)):
            _plan_stale(tree, plan, relative, previous.hashes[relative])
        if not plan.problems:
            _plan_folders(tree, plan, {**contents, **users}, previous)
    except OSError as exc:
        where = exc.filename or out_dir
        plan.problem(f"cannot inspect {where}: {exc.strerror or exc}")
    return plan


def _folders_ok(
    tree: _Tree, plan: _Plan, relative: PurePosixPath, *, needed: bool
) -> bool:
    """Whether every existing folder on the way to ``relative`` is a real folder.

    A symbolic link on the way is a problem; so is a non-folder when the folder
    is ``needed`` (for a file to write).
    """
    for folder in _ancestors(relative):
        info = tree.lstat(folder)
        if info is None:
            return True
        if stat.S_ISLNK(info.st_mode):
            plan.problem(_link_problem(folder))
            return False
        if not stat.S_ISDIR(info.st_mode):
            if needed:
                kind = _kind(info.st_mode)
                plan.problem(f"{folder}: is {kind}, where the package needs a folder")
            return False
    return True


def _link_problem(relative: PurePosixPath) -> str:
    return (
        f"{relative}: is a symbolic link; tap-builder writes and deletes nothing "
        "through links"
    )


def _plan_file(
    tree: _Tree,
    plan: _Plan,
    relative: PurePosixPath,
    content: bytes,
    previous: _Manifest,
) -> None:
    if not _folders_ok(tree, plan, relative, needed=True):
        return
    info = tree.lstat(relative)
    if info is None:
        plan.write.append(relative)
        return
    if stat.S_ISLNK(info.st_mode):
        plan.problem(_link_problem(relative))
        return
    if not stat.S_ISREG(info.st_mode):
        kind = _kind(info.st_mode)
        plan.problem(
            f"{relative}: is {kind}, where the package has a file; tap-builder "
            "replaces only files it wrote"
        )
        return
    current = _hash_of(tree.path(relative), info)
    if current == content_hash(content):
        return  # already the new content: nothing to do
    if relative not in previous.hashes:
        plan.problem(f"{relative}: exists but was not written by tap-builder")
    elif (recorded := previous.hashes[relative]) is None:
        plan.problem(
            f"{relative}: written by an earlier tap-builder version that recorded "
            "no checksum, and differs from the new version (delete it if you never "
            "edited it)"
        )
    elif recorded != current:
        plan.problem(f"kept {relative}: edited since generation")
    else:
        plan.write.append(relative)


def _plan_stale(
    tree: _Tree, plan: _Plan, relative: PurePosixPath, recorded: str | None
) -> None:
    """A file the earlier generation wrote and this one does not."""
    if not _folders_ok(tree, plan, relative, needed=False):
        return
    info = tree.lstat(relative)
    if info is None:
        return
    if stat.S_ISLNK(info.st_mode):
        plan.problem(_link_problem(relative))
    elif not stat.S_ISREG(info.st_mode):
        plan.notices.append(f"kept {relative}: it is {_kind(info.st_mode)} now")
    elif recorded is None:
        plan.notices.append(
            f"kept {relative}: no longer generated, and the earlier tap-builder "
            "version that wrote it recorded no checksum"
        )
    elif _hash_of(tree.path(relative), info) != recorded:
        plan.notices.append(f"kept {relative}: edited since generation")
    else:
        plan.delete.append(relative)


def _plan_folders(
    tree: _Tree,
    plan: _Plan,
    contents: Mapping[PurePosixPath, bytes],
    previous: _Manifest,
) -> None:
    """Which folders the generator owns afterwards, and which empty ones go."""
    needed = {d for relative in contents for d in _ancestors(relative)}
    created = {d for d in needed if tree.lstat(d) is None}
    # previous.dirs is only trusted for real folders on checked paths
    reachable = needed | {d for r in plan.delete for d in _ancestors(r)}
    owned = {
        d
        for d in previous.dirs & reachable
        if (info := tree.lstat(d)) is not None and stat.S_ISDIR(info.st_mode)
    }
    plan.owned_dirs = (owned & needed) | created
    gone: set[PurePosixPath] = set(plan.delete)
    candidates = ({d for r in plan.delete for d in _ancestors(r)} & owned) - needed
    for folder in sorted(candidates, key=lambda d: len(d.parts), reverse=True):
        entries = tree.path(folder).iterdir()
        if all(folder / entry.name in gone for entry in entries):
            gone.add(folder)
            plan.prune.append(folder)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    return "a special file"


def _read_regular(path: Path, info: os.stat_result, limit: int) -> bytes:
    """Up to ``limit`` bytes of the regular file ``info`` describes."""
    fd = _open_same(path, info)
    try:
        chunks: list[bytes] = []
        size = 0
        while size < limit and (chunk := os.read(fd, min(1 << 16, limit - size))):
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _hash_of(path: Path, info: os.stat_result) -> str:
    fd = _open_same(path, info)
    try:
        digest = hashlib.sha256()
        while chunk := os.read(fd, 1 << 16):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        os.close(fd)


def _open_same(path: Path, info: os.stat_result) -> int:
    """Open ``path`` for reading, only if it is still the file ``info`` saw."""
    fd = os.open(path, _READ_FLAGS)
    opened = os.fstat(fd)
    if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino) or not (
        stat.S_ISREG(opened.st_mode)
    ):
        os.close(fd)
        msg = "changed while being read"
        raise OSError(0, msg, str(path))
    return fd


# -- writing ----------------------------------------------------------------- #


def _stage(files: Mapping[PurePosixPath, str | bytes], root: Path) -> None:
    for relative, text in files.items():
        target = root / Path(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text, encoding="utf-8", newline="\n")


def _write_new(
    files: Mapping[PurePosixPath, str | bytes], out_dir: Path, manifest: bytes
) -> None:
    """A new folder: stage the whole package, then move it into place at once."""
    made = [p for p in reversed(out_dir.parents) if not p.exists()]
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(
            prefix=".tap-builder-", dir=out_dir.parent
        ) as tmp:
            package = Path(tmp) / "package"
            _stage(files, package)
            (package / MANIFEST).write_text(manifest.decode("utf-8"), encoding="utf-8")
            package.replace(out_dir)
    except OSError as exc:
        for folder in reversed(made):  # only the empty folders made above
            with contextlib.suppress(OSError):
                folder.rmdir()
        msg = f"cannot write the package: {exc}"
        raise WriteError(msg) from exc


def _write_into(
    files: Mapping[PurePosixPath, str | bytes],
    out_dir: Path,
    manifest: bytes,
    plan: _Plan,
) -> None:
    """An existing folder: stage what changes, then move each file into place."""
    with tempfile.TemporaryDirectory(prefix=".tap-builder-", dir=out_dir.parent) as tmp:
        staged = Path(tmp) / "package"
        try:
            _stage({p: files[p] for p in plan.write}, staged)
            staged.mkdir(parents=True, exist_ok=True)
            (staged / MANIFEST).write_text(manifest.decode("utf-8"), encoding="utf-8")
        except OSError as exc:
            msg = f"cannot write the package: {exc}"
            raise WriteError(msg) from exc
        try:
            _commit(staged, out_dir, plan)
        except OSError as exc:
            msg = (
                f"cannot write the package: {exc}; {out_dir} was changed while "
                "tap-builder wrote to it, check it and run generate --force again"
            )
            raise WriteError(msg) from exc


class _Folders:
    """Folder descriptors under the output folder, opened one name at a time.

    Each is opened with ``O_NOFOLLOW`` relative to its parent's descriptor, so a
    folder swapped for a symbolic link after the checks is refused, not followed.
    """

    def __init__(self, root: Path) -> None:
        self.opened: dict[PurePosixPath, int] = {_ROOT: os.open(root, _DIR_FLAGS)}

    def get(self, relative: PurePosixPath, *, create: bool = False) -> int:
        if relative in self.opened:
            return self.opened[relative]
        parent = self.get(relative.parent, create=create)
        try:
            fd = os.open(relative.name, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                raise
            os.mkdir(relative.name, dir_fd=parent)
            fd = os.open(relative.name, _DIR_FLAGS, dir_fd=parent)
        self.opened[relative] = fd
        return fd

    def remove(self, relative: PurePosixPath) -> None:
        """Remove the folder ``relative`` if it is (still) empty."""
        parent = self.get(relative.parent)
        if (fd := self.opened.pop(relative, None)) is not None:
            os.close(fd)
        with contextlib.suppress(OSError):  # something appeared in it: keep it
            os.rmdir(relative.name, dir_fd=parent)

    def close(self) -> None:
        for fd in self.opened.values():
            os.close(fd)
        self.opened.clear()


def _commit(staged: Path, out_dir: Path, plan: _Plan) -> None:
    """Move staged files in, delete stale ones, prune folders, then the manifest."""
    folders = _Folders(out_dir)
    try:
        for relative in plan.write:
            source = staged / Path(*relative.parts)
            target = folders.get(relative.parent, create=True)
            os.replace(source, relative.name, dst_dir_fd=target)
        for relative in plan.delete:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(relative.name, dir_fd=folders.get(relative.parent))
        for relative in plan.prune:
            folders.remove(relative)
        os.replace(staged / MANIFEST, MANIFEST, dst_dir_fd=folders.get(_ROOT))
    finally:
        folders.close()
