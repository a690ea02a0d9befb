"""The durable spool: append-only segment files on local disk, one appending process at a time.

Layout under ``PROJECT/.liveops/spool/``::

    predictions/w-0001/lock              flock'ed by the process that owns the folder
    predictions/w-0001/000000000007.seg  segments: frames appended, one write per batch
    predictions/w-0001/committed         "SEGMENT OFFSET": everything before is in the database
    predictions/w-0001/writer.json       the log writer's counters (when it is a process)
    feedback/w-0001/...                  feedback waiting for the database, same layout
    raw/w-0001/...                       unredacted inputs of services that keep them (only
                                         then), deleted as soon as they are stored

A frame is ``length (4 bytes, little-endian) | crc32 (4 bytes) | payload (orjson)``. Two sides
share a folder: the gateway *appends* (:class:`Spool`, which holds the folder's lock) and the
log writer *reads* (:class:`SpoolReader`, in the gateway process or in a process of its own):
it reads frames from the committed mark on, stores them, moves the mark and deletes segments
it is done with. The writer is the only one that moves the mark.

A process killed in the middle of a write leaves a torn frame at the end of its last segment:
its length runs past the end of the file or its checksum fails. A reopened folder never appends
to an old segment (it starts a new one), so a torn frame followed by a later segment is skipped
and counted; one at the end of the segment still being appended to is a write in progress.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Frame",
    "Spool",
    "SpoolReader",
    "claim_spool",
    "encode_frame",
    "free_spools",
    "read_frames",
]

_HEADER = struct.Struct("<II")
_SUFFIX = ".seg"
_MAX_FRAME = 64 * 1024 * 1024
MARKER = "committed"


def encode_frame(payload: bytes) -> bytes:
    """``payload`` with its length and checksum in front.

    >>> frame = encode_frame(b'{"a":1}')
    >>> len(frame), list(read_frames(frame))
    (15, [(15, b'{"a":1}')])
    """
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def read_frames(data: bytes, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """``(end offset, payload)`` of each intact frame from ``start``; stops at a torn one.

    >>> good = encode_frame(b"x") + encode_frame(b"yy")
    >>> [p for _, p in read_frames(good + encode_frame(b"zzz")[:-1])]
    [b'x', b'yy']
    """
    pos, n = start, len(data)
    while pos + _HEADER.size <= n:
        length, crc = _HEADER.unpack_from(data, pos)
        end = pos + _HEADER.size + length
        if length > _MAX_FRAME or end > n:
            return
        payload = data[pos + _HEADER.size : end]
        if zlib.crc32(payload) != crc:
            return
        yield end, payload
        pos = end


@dataclass(frozen=True)
class Frame:
    """One spooled payload and where it ends (its segment and the byte after it)."""

    segment: int
    end: int
    payload: bytes


def read_marker(folder: Path) -> tuple[int, int]:
    """The folder's committed mark: everything before (segment, offset) is stored."""
    try:
        seg, end = (folder / MARKER).read_text().split()
        return int(seg), int(end)
    except (FileNotFoundError, ValueError):
        return (0, 0)


def segment_sizes(folder: Path) -> dict[int, int]:
    """Segment number -> size in bytes, as on disk now."""
    out: dict[int, int] = {}
    for p in folder.glob(f"*{_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError, ValueError):
            out[_number(p)] = p.stat().st_size
    return out


class Spool:
    """The appending side of one spool folder (its owner holds the folder's lock).

    Thread-safe: request threads append concurrently."""

    def __init__(
        self,
        folder: Path,
        lock_fd: int,
        *,
        segment_bytes: int = 16 * 1024 * 1024,
        shared_delete: bool = False,
    ) -> None:
        self.folder = folder
        self.lock_fd = lock_fd
        self._segment_bytes = segment_bytes
        # The reader may delete the segment being appended to once it is stored (see
        # SpoolReader.commit): each append then takes the segment's flock and moves to a new
        # segment if its file is gone. Costs a flock and an fstat per append.
        self._shared_delete = shared_delete
        self._mutex = threading.Lock()
        sizes = segment_sizes(folder)
        committed = read_marker(folder)
        # Never reuse a number at or before the committed mark: after every segment was
        # stored and deleted, a new segment 1 would look already stored and be skipped.
        self.first_segment = max(max(sizes, default=0), committed[0]) + 1
        self._active = self.first_segment
        self._size = 0
        self._fd = self._open_segment(self._active)
        self._dirty = False

    def append(self, frames: bytes) -> tuple[int, int]:
        """Write encoded frames in one write; returns (segment, end offset) of the last one."""
        with self._mutex:
            if self._size >= self._segment_bytes:
                self._rotate()
            if not self._shared_delete:
                self._write(frames)
                return self._active, self._size
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            if os.fstat(self._fd).st_nlink == 0:  # stored and deleted by the reader
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
                self._active += 1  # a new number: the committed mark is past the old one
                self._fd = self._open_segment(self._active)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                self._write(frames)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            return self._active, self._size

    def _write(self, frames: bytes) -> None:
        written = os.write(self._fd, frames)
        while written < len(frames):  # rare: a short write on a full disk or a signal
            written += os.write(self._fd, frames[written:])
        self._size += len(frames)
        self._dirty = True

    def position(self) -> tuple[int, int]:
        """Where the next append goes: (active segment, its size)."""
        with self._mutex:
            return self._active, self._size

    def fsync(self) -> None:
        """Force appended frames to disk (a no-op when nothing was appended since)."""
        with self._mutex:
            if not self._dirty or self._fd < 0:
                return
            self._dirty = False
            fd = self._fd
        os.fsync(fd)

    def close(self, *, release: bool = True) -> None:
        """Sync and stop appending; ``release`` also gives up the folder's lock."""
        with self._mutex:
            if self._fd >= 0:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1
            if release and self.lock_fd >= 0:
                os.close(self.lock_fd)
                self.lock_fd = -1

    def _rotate(self) -> None:
        os.fsync(self._fd)
        os.close(self._fd)
        self._active += 1
        self._size = 0
        self._fd = self._open_segment(self._active)

    def _open_segment(self, number: int) -> int:
        fd = os.open(self.folder / _name(number), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = os.fstat(fd).st_size
        return fd


class SpoolReader:
    """The reading side of one spool folder: what is not stored yet, and forgetting what is.

    ``live`` says whether a process may still append to the folder's newest segment: then a
    frame cut off at its end is a write in progress, not a torn one."""

    def __init__(self, folder: Path, *, live: bool, shared_delete: bool = False) -> None:
        self.folder = folder
        self.live = live
        self.shared_delete = shared_delete  # the appender is a Spool(shared_delete=True)
        self.committed = read_marker(folder)
        self.torn_bytes = 0

    def pending(self, limit_bytes: int = 1 << 62) -> list[Frame]:
        """Intact frames after the committed mark, about ``limit_bytes`` of them, in order.

        Reads only about ``limit_bytes`` from disk, so draining a large spool costs time
        linear in its size."""
        seg0, off0 = self.committed
        sizes = segment_sizes(self.folder)
        numbers = sorted(n for n in sizes if n >= seg0)
        frames: list[Frame] = []
        budget = limit_bytes
        for k, number in enumerate(numbers):
            start = off0 if number == seg0 else 0
            while budget > 0:
                chunk = self._read(number, start, min(budget, 1 << 24) + _HEADER.size)
                if chunk is None:
                    break
                data, at_end = chunk
                end = 0
                for end, payload in read_frames(data):
                    frames.append(Frame(number, start + end, payload))
                    budget -= len(payload) + _HEADER.size
                if end == len(data) and at_end:
                    break  # the whole segment is read
                if not at_end and end > 0:
                    start += end
                    continue  # the chunk ended at or inside a frame: read on from there
                if end < len(data):
                    # At the end of the file (or a frame that cannot be read at all).
                    newest = k == len(numbers) - 1
                    if self.live and newest and _incomplete(data, end):
                        return frames  # a write in progress: read it next time
                    self.torn_bytes += len(data) - end  # cut off by a crash: never completed
                    frames.append(Frame(number, start + len(data), b""))  # the mark skips it
                break
            if budget <= 0:
                break
        return frames

    def _read(self, number: int, start: int, size: int) -> tuple[bytes, bool] | None:
        """``size`` bytes of segment ``number`` from ``start`` (more if the frame there is
        larger), and whether that reached the end of the file."""
        try:
            with (self.folder / _name(number)).open("rb") as fh:
                total = os.fstat(fh.fileno()).st_size
                fh.seek(start)
                data = fh.read(size)
                if len(data) >= _HEADER.size:
                    length = _HEADER.unpack_from(data, 0)[0]
                    if _HEADER.size + length > len(data) and length <= _MAX_FRAME:
                        data += fh.read(_HEADER.size + length - len(data))
        except FileNotFoundError:
            return None
        return data, start + len(data) >= total

    def commit(self, segment: int, end: int) -> None:
        """Everything up to ``end`` in ``segment`` (and every earlier segment) is stored;
        delete the segments no process appends to any more."""
        if (segment, end) <= self.committed:
            return
        self.committed = (segment, end)
        tmp = self.folder / f"{MARKER}.tmp"
        tmp.write_text(f"{segment} {end}\n")
        os.replace(tmp, self.folder / MARKER)
        self.prune()

    def prune(self) -> None:
        """Delete the segments whose every frame is stored. The newest one stays while a
        process may append to it, unless the appender allows it (``shared_delete``)."""
        segment, end = self.committed
        sizes = segment_sizes(self.folder)
        newest = max(sizes, default=0)
        for number, size in sizes.items():
            done = number < segment or (number == segment and end >= size)
            if not done and not (size == 0 and not self.live):  # empty and closed: nothing in it
                continue
            if number < newest or not self.live:
                with contextlib.suppress(FileNotFoundError):
                    (self.folder / _name(number)).unlink()
            elif self.shared_delete:
                self._delete_appended(number, end if number == segment else size)

    def _delete_appended(self, number: int, stored_end: int) -> None:
        """Delete the segment being appended to if nothing was appended past ``stored_end``
        (checked under its flock, which the appender holds while it writes)."""
        path = self.folder / _name(number)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_size <= stored_end:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        finally:
            os.close(fd)

    def bytes_on_disk(self) -> int:
        return sum(segment_sizes(self.folder).values())

    def remove(self) -> None:
        """Delete the folder (its records are all stored)."""
        for p in self.folder.iterdir():
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        with contextlib.suppress(OSError):
            self.folder.rmdir()


def _incomplete(data: bytes, pos: int) -> bool:
    """Whether the frame at ``pos`` is cut short (a write in progress) rather than corrupt."""
    if pos + _HEADER.size > len(data):
        return True
    length: int = _HEADER.unpack_from(data, pos)[0]
    return length <= _MAX_FRAME and pos + _HEADER.size + length > len(data)


def _name(number: int) -> str:
    return f"{number:012d}{_SUFFIX}"


def _number(path: Path) -> int:
    return int(path.name.removesuffix(_SUFFIX))


def _try_lock(folder: Path) -> int | None:
    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def claim_spool(
    root: Path, *, segment_bytes: int = 16 * 1024 * 1024, shared_delete: bool = False
) -> Spool:
    """Take a spool folder under ``root`` that no live process holds (a crashed process's
    folder first, so its records are replayed), else create a new one."""
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        fd = _try_lock(folder)
        if fd is not None:
            return Spool(folder, fd, segment_bytes=segment_bytes, shared_delete=shared_delete)
    n = 1 + max((int(p.name[2:]) for p in root.glob("w-*") if p.name[2:].isdigit()), default=0)
    while True:
        folder = root / f"w-{n:04d}"
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            n += 1
            continue
        fd = _try_lock(folder)
        if fd is not None:
            return Spool(folder, fd, segment_bytes=segment_bytes, shared_delete=shared_delete)
        n += 1


def free_spools(root: Path) -> Iterator[tuple[Path, int]]:
    """Every other spool folder under ``root`` that no live process holds, with the lock fd
    now held for the caller, e.g. left behind by a gateway that ran with more workers."""
    if not root.exists():
        return
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        fd = _try_lock(folder)
        if fd is not None:
            yield folder, fd
