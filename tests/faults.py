"""Real file-system faults for tests: a small disk that fills up, a read-only folder or file.

Both are made with mounts (a size-limited tmpfs, a read-only bind mount), which needs root
(as in CI). Without root a read-only folder or file is made with permissions instead, which
the kernel enforces for everyone but root; a full disk cannot be made and its tests skip.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _is_root() -> bool:
    return os.geteuid() == 0


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True)


def _umount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], check=False, capture_output=True)


@contextmanager
def small_disk(where: Path, size: str = "2m") -> Iterator[Path]:
    """A folder on a file system of *size* bytes (``2m``), which fills up for real."""
    if not _is_root() or shutil.which("mount") is None:
        pytest.skip("a full disk is made with a small tmpfs mount, which needs root")
    where.mkdir(parents=True, exist_ok=True)
    try:
        _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where))
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc.stderr.strip()}")
    try:
        yield where
    finally:
        _umount(where)


@contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """*path* (a folder or a file) made read-only, yielded under the name to use."""
    if _is_root():
        view = path.with_name(path.name + ".ro")
        if path.is_dir():
            view.mkdir()
        else:
            view.touch()
        _mount("--bind", str(path), str(view))
        try:
            _mount("-o", "remount,ro,bind", str(view))
            yield view
        finally:
            _umount(view)
            if view.is_dir():
                view.rmdir()
            else:
                view.unlink()
        return
    modes = {p: p.stat().st_mode for p in [path, *(path.iterdir() if path.is_dir() else [])]}
    for p, mode in modes.items():
        p.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        yield path
    finally:
        for p, mode in modes.items():
            p.chmod(mode)


def fill(folder: Path, name: str = "ballast") -> Path:
    """Write a file in *folder* until its disk is full; return it (delete it to free space)."""
    ballast = folder / name
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return ballast
