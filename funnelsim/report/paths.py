"""Where results go, checked before anything is simulated, and replaced without a gap.

funnelsim only ever replaces a folder that its manifest marks as funnelsim output, only when
asked (`force`), never through a symlink, and with an atomic exchange where the system has one.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from funnelsim.scenario.names import MAX_COMPONENT_BYTES

MANIFEST = "manifest.json"
LOCK_SUFFIX = ".lock"


class OutputError(ValueError):
    """The results folder asked for cannot be used; the message names it and says why."""


def safe_component(text: str) -> str:
    """A folder name made from any text (for names built by compare and sweep)."""
    kept = "".join(c if c.isalnum() or c in "-_=[]." else "_" for c in text).strip("._")
    return kept.encode("utf-8")[:MAX_COMPONENT_BYTES].decode("utf-8", "ignore") or "unnamed"


def is_results_folder(path: Path) -> bool:
    """A real folder (not a symlink) holding a manifest that funnelsim wrote."""
    if path.is_symlink() or not path.is_dir():
        return False
    manifest = path / MANIFEST
    if manifest.is_symlink() or not manifest.is_file():
        return False
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and isinstance(data.get("versions"), dict) and "funnelsim" in data["versions"]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class OutputSlot:
    """A checked, locked place to write one results folder: `target`, its temporary sibling and lock."""

    target: Path
    force: bool
    lock: Path
    temporary: list[Path] = field(default_factory=list)
    tmp: Path | None = None

    def new_temporary(self) -> Path:
        """A fresh empty folder beside the target, removed by `release` unless moved into place."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        for attempt in range(100):
            tmp = self.target.with_name(f".{self.target.name[:40]}.{stamp}-{os.getpid()}-{attempt}.partial")
            try:
                tmp.mkdir(mode=0o755)
            except FileExistsError:
                continue
            self.temporary.append(tmp)
            return tmp
        raise OutputError(f"{self.target}: cannot create a temporary folder beside it")

    def commit(self, tmp: Path) -> Path:
        """Move the filled temporary folder to the target: exchanged atomically if one exists.

        If the target changed since the check (it became a symlink, a file or someone else's
        folder) the finished results are kept beside it under a new name instead.
        """
        target = self.target
        if os.path.lexists(target) and not (target.is_dir() and not target.is_symlink() and _is_empty(target)):
            if not (is_results_folder(target) and self.force):
                kept = _free_name(target)
                os.rename(tmp, kept)
                self.temporary.remove(tmp)
                raise OutputError(
                    f"{target} changed while the simulation ran and is not a funnelsim results folder "
                    f"that may be replaced; the results were kept in {kept}"
                )
            if exchange(tmp, target):
                shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old results
            else:
                old = target.with_name(f".{target.name[:40]}.old-{os.getpid()}")
                os.rename(target, old)
                os.rename(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
        if tmp in self.temporary:
            self.temporary.remove(tmp)
        return target

    def write(self, fill: Callable[[Path], None]) -> Path:
        """Fill the temporary folder made at the check, then move it into place."""
        tmp = self.tmp if self.tmp is not None and self.tmp.is_dir() else self.new_temporary()
        self.tmp = None
        fill(tmp)
        return self.commit(tmp)

    def release(self) -> None:
        """Remove temporary folders left over and the lock (also after an interruption)."""
        for tmp in self.temporary:
            shutil.rmtree(tmp, ignore_errors=True)
        self.temporary.clear()
        with contextlib.suppress(FileNotFoundError):
            if self.lock.read_text(encoding="utf-8").strip() == str(os.getpid()):
                self.lock.unlink()

    def __enter__(self) -> OutputSlot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _free_name(target: Path) -> Path:
    for n in range(1, 1000):
        candidate = target.with_name(f"{target.name[:MAX_COMPONENT_BYTES]}-{n}")
        if not os.path.lexists(candidate):
            return candidate
    raise OutputError(f"{target}: no free name beside it to keep the results")


def claim_output(target: Path, force: bool = False) -> OutputSlot:
    """Check that results may be written at `target` and lock it against a concurrent run.

    Refuses (OutputError) a target that is a symlink, a file, a folder funnelsim did not write,
    an existing results folder without `force`, the working folder or one of its parents.
    """
    text = str(target)
    if "\0" in text:
        raise OutputError(f"{text!r}: a path cannot contain a NUL character")
    if not text.strip():
        raise OutputError("--out: expected a folder path, got an empty one")
    target = Path(os.path.abspath(target))  # normalises '..' without following symlinks
    if target.name in ("", ".", ".."):
        raise OutputError(f"{text}: the root folder cannot be a results folder")
    if len(os.fsencode(target.name)) > MAX_COMPONENT_BYTES:
        raise OutputError(f"{text}: the folder name is longer than {MAX_COMPONENT_BYTES} bytes")
    cwd = Path(os.path.abspath(os.getcwd()))
    if target == cwd or target in cwd.parents:
        raise OutputError(f"{text}: that is the working folder or one of its parents; choose a new folder")
    _check_existing(target, text, force)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{text}: cannot create the folder {target.parent} ({error.strerror})") from None
    if not target.parent.is_dir():
        raise OutputError(f"{text}: {target.parent} is not a folder")
    lock = target.with_name(f".{target.name}{LOCK_SUFFIX}")
    _take_lock(lock, text)
    slot = OutputSlot(target, force, lock)
    try:
        _check_existing(target, text, force)  # again, now that no other funnelsim run can change it
        slot.tmp = slot.new_temporary()
    except BaseException:
        slot.release()
        raise
    return slot


def _check_existing(target: Path, text: str, force: bool) -> None:
    if target.is_symlink():
        raise OutputError(f"{text} is a symbolic link; funnelsim does not write through links, give the real folder")
    if not target.exists():
        return
    if not target.is_dir():
        raise OutputError(f"{text} exists and is not a folder; funnelsim will not replace it")
    if not is_results_folder(target):
        if _is_empty(target):
            return  # nothing to lose: the rename replaces an empty folder atomically
        raise OutputError(
            f"{text} exists and is not a funnelsim results folder (no manifest.json of funnelsim's); "
            "funnelsim will not replace it: choose another --out"
        )
    if not force:
        raise OutputError(f"{text} already holds results; pass --force to replace them, or choose another --out")


def _is_empty(folder: Path) -> bool:
    try:
        return not any(folder.iterdir())
    except OSError:
        return False


def _take_lock(lock: Path, text: str) -> None:
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except FileExistsError:
            try:
                owner = int(lock.read_text(encoding="utf-8").strip() or "0")
            except (OSError, ValueError):
                owner = 0
            if owner and _pid_alive(owner):
                raise OutputError(
                    f"{text}: another funnelsim run (process {owner}) is writing there now; "
                    f"wait for it or choose another --out (lock file {lock})"
                ) from None
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()  # left by a run that was killed
            continue
        except OSError as error:
            raise OutputError(f"{text}: cannot write in {lock.parent} ({error.strerror})") from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
        return
    raise OutputError(f"{text}: cannot take the lock {lock}")


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))
