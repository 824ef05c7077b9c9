"""Atomic file writes: a crash or an error mid-write never leaves a half-written file.

The content goes to a temporary file in the target's folder, is flushed to disk, and
only then replaces the target in one ``os.replace`` (atomic on POSIX and Windows).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path"]


def _remove_orphans(target: Path) -> None:
    """Remove temporary files that earlier writes of ``target`` left behind when their
    process was killed mid-write (their names carry the writer's process id; one whose
    process still runs may be writing now and is left alone)."""
    for temporary in target.parent.glob(f".{target.name}.*.tmp"):
        pid = temporary.name[len(target.name) + 2 :].split(".")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:  # the writer is gone
            with contextlib.suppress(OSError):
                temporary.unlink()
        except OSError:  # alive but not ours to signal: still writing, perhaps
            pass


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write to; it replaces ``path`` only on success.

    Creates the parent folder if needed. On an exception the temporary file is removed
    and whatever was at ``path`` before is left untouched. A path that is a device or a
    pipe (``/dev/null``) is written directly: there is nothing to replace atomically.
    """
    target = Path(path)
    if target.exists() and not target.is_file():
        # a device or a pipe (/dev/null, /dev/stdout): written where it is; replacing it
        # with a file would remove the device itself
        if target.is_dir():
            raise IsADirectoryError(f"{os.fspath(path)!r} is a folder, not a file")
        yield target
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(target)
    temporary = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(8)}.tmp"
    # 0o666 less the process umask, as a plain open() would give (mkstemp's 0600 would
    # make the model unreadable to the service that serves it)
    os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield Path(temporary)
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        if target.exists():  # a replaced file keeps its permissions
            os.chmod(temporary, target.stat().st_mode & 0o777)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
