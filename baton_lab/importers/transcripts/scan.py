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

On a mapped file of more than PARALLEL_MIN bytes, the markers watched from the start (`/v1/baton/`, `amh_baton_`)
are found ahead, in one thread per core over a slice of the file each, and the same threads count newlines per
BLOCK, so a line's number is a look-up plus a count within one block. `memmem` (through ctypes) and numpy release
the GIL, so the slices are searched at the same time: one pass per marker was ~0.035 s of a 220 MB file's ~0.2 s,
searched one after the other, and newline counting another ~0.03 s. Markers added later (a call's id) are
searched as before, from the line that introduced them.
"""

from __future__ import annotations

import ctypes
import io
import mmap
import os
from bisect import bisect_left
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Generator, Iterator

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
PARALLEL_MIN = 16 << 20  # below this, starting threads costs more than searching in one
BLOCK = 1 << 18          # newlines are counted per block ahead; a line number then counts at most one block


def candidate_lines(handle: BinaryIO, markers: Callable[[], tuple[bytes, ...]], chunk_size: int = CHUNK
                    ) -> Iterator[tuple[int, int, bytes]]:
    """Yield (line number, byte offset, line without its newline) for every line containing a current marker.

    `markers()` is asked again after each yielded line, so the consumer can start watching for new
    markers (a call id) as soon as it has seen the line that introduces them.
    """
    try:
        # MAP_POPULATE: map every page up front (one kernel call) instead of one page fault per 4 KB; a file
        # searched by several threads is not populated, so each thread maps its own slice's pages at the same time
        parallel = os.fstat(handle.fileno()).st_size >= PARALLEL_MIN
        mapped = mmap.mmap(handle.fileno(), 0, prot=mmap.PROT_READ,
                           flags=mmap.MAP_SHARED | (0 if parallel else getattr(mmap, "MAP_POPULATE", 0)))
    except (OSError, ValueError, io.UnsupportedOperation, AttributeError):
        yield from _chunked(handle, markers, chunk_size)
        return
    with mapped:
        if hasattr(mapped, "madvise"):
            mapped.madvise(mmap.MADV_SEQUENTIAL)
        index = _Index.build(mapped, markers()) if parallel else None  # holds no view of the mapping
        yield from _scan(mapped, len(mapped), markers, 0, 1, index)


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


@dataclass
class _Index:
    """Every position of the markers watched from the start, and newlines per BLOCK (a running total)."""

    hits: dict[bytes, list[int]]
    lines_before_block: Any   # numpy array: newlines in buffer[:i * BLOCK] at i

    @classmethod
    def build(cls, buffer: mmap.mmap, markers: tuple[bytes, ...]) -> "_Index | None":
        find = _finder(buffer)
        if _np is None or find == buffer.find:
            return None  # without memmem and numpy the threads would only take turns holding the GIL
        size = len(buffer)
        workers = max(1, min(os.cpu_count() or 1, 8))
        step = -(-size // workers // BLOCK) * BLOCK  # slices start on a block boundary
        bounds = [(lo, min(lo + step, size)) for lo in range(0, size, step)]

        def part(lo: int, hi: int) -> tuple[dict[bytes, list[int]], Any]:
            hits: dict[bytes, list[int]] = {}
            for marker in markers:
                found, at = [], lo
                stop = min(hi + len(marker) - 1, size)  # a marker across the slice's end is this slice's
                while True:
                    at = find(marker, at, stop)
                    if at < 0:
                        break
                    found.append(at)
                    at += 1
                hits[marker] = found
            return hits, _block_counts(buffer, lo, hi)

        with ThreadPoolExecutor(len(bounds)) as pool:
            parts = list(pool.map(lambda b: part(*b), bounds))
        counts = _np.concatenate([c for _, c in parts])
        return cls({m: [h for hits, _ in parts for h in hits[m]] for m in markers},
                   _np.concatenate(([0], _np.cumsum(counts))))

    def next_hit(self, marker: bytes, pos: int) -> int | None:
        """The marker's first position at or after `pos`, -1 if none; None for a marker not indexed."""
        hits = self.hits.get(marker)
        if hits is None:
            return None
        i = bisect_left(hits, pos)
        return hits[i] if i < len(hits) else -1

    def lines_before(self, buffer: mmap.mmap, offset: int) -> int:
        block = offset // BLOCK
        return int(self.lines_before_block[block]) + _count(buffer, block * BLOCK, offset)


def _block_counts(buffer: mmap.mmap, lo: int, hi: int) -> Any:
    """Newlines in each BLOCK of buffer[lo:hi] (`lo` on a block boundary; the last block may be short)."""
    out = []
    for i in range(lo, hi, NP_COUNT_STEP):
        view = _np.frombuffer(buffer, _np.uint8, count=min(NP_COUNT_STEP, hi - i), offset=i)  # no copy
        newline = view == 10
        # count_nonzero of a bool slice is a fast popcount; with axis= it would sum through int64 (5x slower)
        out.extend(_np.count_nonzero(newline[j:j + BLOCK]) for j in range(0, len(newline), BLOCK))
        del view, newline
    return _np.array(out, dtype=_np.int64)


def _scan(buffer: bytes | mmap.mmap, end: int, markers: Callable[[], tuple[bytes, ...]], base: int, first_line: int,
          index: _Index | None = None) -> Generator[tuple[int, int, bytes], None, tuple[int, int]]:
    """Candidate lines in buffer[:end] (which ends at a line boundary); `base` is its offset in the file.
    Returns the line number reached and the offset it was counted to. `index` (a mapped file's, whole) has the
    positions of the markers watched from the start and the newlines per block."""
    line_no, counted = first_line, 0
    find = _finder(buffer)
    next_hit: dict[bytes, int] = {}
    pos = 0
    while pos < end:
        hit = -1
        for marker in markers():
            found = next_hit.get(marker)
            if found is None or (0 <= found < pos):
                found = index.next_hit(marker, pos) if index is not None else None
                if found is None:
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
        if index is not None:
            line_no = first_line + index.lines_before(buffer, start)  # type: ignore[arg-type]
        else:
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
