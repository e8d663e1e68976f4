"""Write a rendered package to disk: all or nothing, and only what we own."""

from __future__ import annotations

import json
import shutil
import tempfile
import typing as t
from pathlib import Path, PurePosixPath

#: The manifest at the package root lists the files a generation wrote.
MANIFEST = ".tap-builder.json"


class WriteError(Exception):
    """The package could not be written; nothing was changed."""


def _previous_files(out_dir: Path) -> set[PurePosixPath]:
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, list):
        return set()
    found = {PurePosixPath(p) for p in files if isinstance(p, str)}
    # a hand-edited manifest must not point --force outside out_dir (or at it)
    return {p for p in found if p.parts and not p.is_absolute() and ".." not in p.parts}


def _safe_target(out_dir: Path, relative: PurePosixPath) -> Path:
    if relative.is_absolute() or ".." in relative.parts:
        msg = f"refusing to write outside the output folder: {relative}"
        raise WriteError(msg)
    return out_dir / Path(*relative.parts)


def write_package(
    files: t.Mapping[PurePosixPath, str | bytes],
    out_dir: Path,
    *,
    force: bool = False,
    metadata: t.Mapping[str, t.Any] | None = None,
) -> list[PurePosixPath]:
    """Write ``files`` under ``out_dir`` atomically.

    Every file is first written to a staging folder beside ``out_dir``; only when
    all are written does anything in ``out_dir`` change. With ``force``, files an
    earlier generation wrote (listed in its manifest) and no longer produced are
    removed; files the generator never wrote are left alone.

    Returns:
        The paths written, relative to ``out_dir``.

    Raises:
        WriteError: when ``out_dir`` is a non-empty folder and ``force`` is off,
            or when the files cannot be written.
    """
    out_dir = out_dir.resolve()
    if out_dir.exists() and not out_dir.is_dir():
        msg = f"{out_dir} exists and is not a folder"
        raise WriteError(msg)
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        msg = f"{out_dir} is not empty; use --force to regenerate into it"
        raise WriteError(msg)
    for relative in files:
        _safe_target(out_dir, relative)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    manifest = {**(metadata or {}), "files": sorted(str(p) for p in files)}
    with tempfile.TemporaryDirectory(prefix=".tap-builder-", dir=out_dir.parent) as tmp:
        staging = Path(tmp)
        try:
            _stage(files, staging, manifest)
        except OSError as exc:
            msg = f"cannot write the package: {exc}"
            raise WriteError(msg) from exc
        if not out_dir.exists():
            (staging / "package").replace(out_dir)
            return list(files)
        stale = _previous_files(out_dir) - set(files)
        _commit(staging / "package", out_dir, [*files, PurePosixPath(MANIFEST)], stale)
    return list(files)


def _stage(
    files: t.Mapping[PurePosixPath, str | bytes],
    staging: Path,
    manifest: dict[str, t.Any],
) -> None:
    root = staging / "package"
    for relative, text in files.items():
        target = root / Path(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text, encoding="utf-8", newline="\n")
    (root / MANIFEST).write_text(
        json.dumps(manifest, indent=2) + "\n", encoding="utf-8"
    )


def _commit(
    staged: Path,
    out_dir: Path,
    written: list[PurePosixPath],
    stale: set[PurePosixPath],
) -> None:
    """Move staged files over the old ones (each move atomic); drop stale ones."""
    for relative in written:
        source = staged / Path(*relative.parts)
        target = out_dir / Path(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            shutil.rmtree(target)
        source.replace(target)
    for relative in sorted(stale, reverse=True):
        target = _safe_target(out_dir, relative)
        if target.is_file():
            target.unlink()
        _prune_empty_parents(target.parent, out_dir)


def _prune_empty_parents(folder: Path, root: Path) -> None:
    while folder != root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
