"""Finding the few lines of a large transcript that can matter, without parsing (or even splitting) the rest.

A regular file is memory-mapped read-only (the kernel pages it in and out; nothing is copied into the
heap, so a 200 MB transcript costs no 200 MB of memory); other streams are read in chunks. Each marker
(`/v1/baton/`, `amh_baton_`, ids of calls still waiting for their result) is searched for, and only the
lines containing one are cut out and handed on. A marker's next position is remembered, so each byte is
searched once per marker; newlines are counted only up to the last line handed on.

Speed (a 220 MB transcript, see bench/transcript_bench.py): `mmap.find` runs at ~3 GB/s and mmap has no
`count()` (so counting meant copying slices), so where available the search is libc `memmem` (SIMD, ~9 GB/s)
called on the mapped memory through ctypes, and newlines are counted with numpy on a zero-copy view. Both
fall back to the pure-Python calls when ctypes/libc `memmem` or numpy is missing.
"""

from __future__ import annotations

import ctypes
import io
import mmap
from typing import BinaryIO, Callable, Generator, Iterator

try:
    import numpy as _np
except ImportError:  # pragma: no cover - numpy comes with scipy, a dependency
    _np = None

try:
    _memmem = ctypes.CDLL(None).memmem
    _memmem.restype = ctypes.c_void_p
    _memmem.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t)
except (AttributeError, OSError, TypeError):  # pragma: no cover - no libc memmem (e.g. Windows)
    _memmem = None

CHUNK = 8 << 20
COUNT_STEP = 4 << 20
NP_COUNT_STEP = 1 << 20  # cache-sized: `chunk == 10` allocates a temporary of this many bytes


def candidate_lines(handle: BinaryIO, markers: Callable[[], tuple[bytes, ...]], chunk_size: int = CHUNK
                    ) -> Iterator[tuple[int, int, bytes]]:
    """Yield (line number, byte offset, line without its newline) for every line containing a current marker.

    `markers()` is asked again after each yielded line, so the consumer can start watching for new
    markers (a call id) as soon as it has seen the line that introduces them.
    """
    try:
        # MAP_POPULATE: map every page up front (one kernel call) instead of one page fault per 4 KB
        mapped = mmap.mmap(handle.fileno(), 0, flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0),
                           prot=mmap.PROT_READ)
    except (OSError, ValueError, io.UnsupportedOperation, AttributeError):
        yield from _chunked(handle, markers, chunk_size)
        return
    with mapped:
        if hasattr(mapped, "madvise"):
            mapped.madvise(mmap.MADV_SEQUENTIAL)
        yield from _scan(mapped, len(mapped), markers, 0, 1)


def _address(buffer: bytes | mmap.mmap) -> int | None:
    """The address of the buffer's first byte (no copy), for `memmem`; None when that is not possible.
    The caller keeps `buffer` alive (and a mapping open) while it uses the address."""
    if _np is None or _memmem is None or len(buffer) == 0:
        return None
    view = _np.frombuffer(buffer, _np.uint8)
    try:
        return int(view.ctypes.data)
    finally:
        del view  # drop the export at once, or the mmap could not be closed


def _finder(buffer: bytes | mmap.mmap) -> Callable[[bytes, int, int], int]:
    """`buffer.find(marker, start, stop)`, through libc `memmem` when possible."""
    base = _address(buffer)
    if base is None:
        return buffer.find

    def find(marker: bytes, start: int, stop: int) -> int:
        if stop - start < len(marker):
            return -1
        hit = _memmem(base + start, stop - start, marker, len(marker))
        return hit - base if hit else -1

    return find


def _count(buffer: bytes | mmap.mmap, start: int, stop: int) -> int:
    """Newlines in buffer[start:stop]."""
    if _np is not None and stop - start > 4096:
        total = 0
        for i in range(start, stop, NP_COUNT_STEP):
            view = _np.frombuffer(buffer, _np.uint8, count=min(NP_COUNT_STEP, stop - i), offset=i)  # no copy
            total += int(_np.count_nonzero(view == 10))
            del view
        return total
    if isinstance(buffer, mmap.mmap):  # mmap has no count(): count in bounded slices
        return sum(buffer[i:min(i + COUNT_STEP, stop)].count(b"\n") for i in range(start, stop, COUNT_STEP))
    return buffer.count(b"\n", start, stop)


def _scan(buffer: bytes | mmap.mmap, end: int, markers: Callable[[], tuple[bytes, ...]], base: int, first_line: int
          ) -> Generator[tuple[int, int, bytes], None, tuple[int, int]]:
    """Candidate lines in buffer[:end] (which ends at a line boundary); `base` is its offset in the file.
    Returns the line number reached and the offset it was counted to."""
    line_no, counted = first_line, 0
    find = _finder(buffer)
    next_hit: dict[bytes, int] = {}
    pos = 0
    while pos < end:
        hit = -1
        for marker in markers():
            found = next_hit.get(marker)
            if found is None or (0 <= found < pos):
                found = find(marker, pos, end)
                next_hit[marker] = found
            if found >= 0 and (hit < 0 or found < hit):
                hit = found
        if hit < 0:
            break
        start = buffer.rfind(b"\n", 0, hit) + 1
        stop = buffer.find(b"\n", hit, end)
        if stop < 0:
            stop = end
        line_no += _count(buffer, counted, start)
        counted = start
        yield line_no, base + start, bytes(buffer[start:stop]).rstrip(b"\r")
        pos = stop + 1
    return line_no, counted


def _chunked(handle: BinaryIO, markers: Callable[[], tuple[bytes, ...]], chunk_size: int
             ) -> Iterator[tuple[int, int, bytes]]:
    buffer = b""
    base, first_line = 0, 1
    while True:
        data = handle.read(chunk_size)
        if data:
            buffer = buffer + data if buffer else data
            end = buffer.rfind(b"\n") + 1
            if end == 0:
                continue  # a line longer than the chunk: keep reading
        else:
            if not buffer:
                return
            end = len(buffer)  # last line without a newline
        line_no, counted = yield from _scan(buffer, end, markers, base, first_line)
        first_line = line_no + buffer.count(b"\n", counted, end)
        base += end
        buffer = buffer[end:]
        if not data:
            return


def find_lines(handle: BinaryIO, needle: bytes, before: int) -> Iterator[bytes]:
    """Lines before byte offset `before` that contain `needle`, last first (a targeted look back)."""
    try:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, io.UnsupportedOperation, AttributeError):
        handle.seek(0)
        mapped = handle.read(before)  # type: ignore[assignment]
    try:
        pos = min(before, len(mapped))
        while True:
            hit = mapped.rfind(needle, 0, pos)
            if hit < 0:
                return
            start = mapped.rfind(b"\n", 0, hit) + 1
            stop = mapped.find(b"\n", hit)
            yield bytes(mapped[start:stop if stop >= 0 else len(mapped)])
            pos = start
    finally:
        if isinstance(mapped, mmap.mmap):
            mapped.close()
