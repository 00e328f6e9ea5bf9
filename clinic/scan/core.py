"""Batch scan core: walk a folder, extract + analyse every file in worker processes.

No Flask here. :func:`run_scan` returns a :class:`ScanSummary` of plain
:class:`ScanResult` dataclasses; the report and the database import build on it.

Resumable: every finished file is appended to ``STATE_FILE`` in the report folder,
keyed by (sha256, rubric version); a rerun skips files whose key is already there.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import math
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath

STATE_FILE = "scan-state.jsonl"
WORDS_PER_PAGE = 500  # pages of a DOCX / text file (no page count of its own)
NO_COURSE = ""

# Finding fields the scan keeps (enough for the report and for storing findings).
FINDING_FIELDS = (
    "criterion_id",
    "title",
    "category",
    "severity",
    "start",
    "end",
    "matched_text",
    "sentence",
    "cues",
    "confidence",
    "secondary",
)


@dataclass
class ScanResult:
    """What one worker found in one file (plain data, cheap to pickle)."""

    path: str  # relative to the scanned folder, POSIX separators
    sha256: str = ""
    size: int = 0
    kind: str | None = None
    pages: int | None = None  # page_count: PDF pages, PPTX slides, else None
    words: int = 0
    findings: list[dict] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # CPU time of the worker for this file
    rubric_version: str = ""
    segments: list[dict] | None = None  # Segment.to_dict() each, only when asked
    cached: bool = False  # taken from the state file, not analysed in this run
    course: str = NO_COURSE

    @property
    def page_units(self) -> int:
        """Pages for rates and totals (estimated from words where a file has none)."""
        if self.error:
            return 0
        if self.pages is not None:
            return self.pages
        return max(1, math.ceil(self.words / WORDS_PER_PAGE))

    def state_record(self) -> dict:
        """The state-file record: everything but the path, course and segments."""
        return {name: getattr(self, name) for name in _STATE_FIELDS}


_RESULT_FIELDS = {f.name for f in fields(ScanResult)}
_STATE_FIELDS = tuple(
    f.name
    for f in fields(ScanResult)
    if f.name not in ("path", "segments", "cached", "course")
)


@dataclass
class ScanSummary:
    root: Path
    results: list[ScanResult]
    rubric_version: str
    skipped: int  # resumed from the state file
    seconds: float
    jobs: int

    @property
    def ok(self) -> list[ScanResult]:
        return [r for r in self.results if not r.error]

    @property
    def errors(self) -> list[ScanResult]:
        return [r for r in self.results if r.error]

    @property
    def pages(self) -> int:
        return sum(r.page_units for r in self.results)

    @property
    def findings(self) -> int:
        return sum(len(r.findings) for r in self.results)


# --------------------------------------------------------------------------- walking


def is_skipped_name(name: str) -> bool:
    """Hidden files/folders and Office lock files (``~$deck.pptx``)."""
    return name.startswith((".", "~$")) or name in ("Thumbs.db", "desktop.ini")


def walk(root: str | Path, exclude: Path | None = None) -> list[str]:
    """Relative POSIX paths of the files under ``root``, sorted; ``exclude`` is not entered."""
    root = Path(root)
    exclude = exclude.resolve() if exclude is not None else None
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not is_skipped_name(d)
            and (exclude is None or (here / d).resolve() != exclude)
        )
        for name in filenames:
            if is_skipped_name(name):
                continue
            full = here / name
            if full.is_file():
                out.append(full.relative_to(root).as_posix())
    return sorted(out)


# --------------------------------------------------------------------------- course mapping


class CourseMap:
    """Relative path -> course code: longest matching ``path_prefix``, or the first folder."""

    def __init__(self, prefixes: dict[str, str] | None = None):
        self.prefixes = sorted(
            ((p.strip().strip("/"), c.strip()) for p, c in (prefixes or {}).items()),
            key=lambda pc: -len(pc[0]),
        )
        self.mapped = prefixes is not None

    @classmethod
    def from_csv(cls, path: str | Path) -> CourseMap:
        """Read ``path_prefix,course_code`` rows (a header row is required)."""
        text = Path(path).read_text(encoding="utf-8-sig")
        reader = csv.DictReader(io.StringIO(text))
        columns = {c.strip().lower() for c in reader.fieldnames or ()}
        if not {"path_prefix", "course_code"} <= columns:
            raise ValueError(
                f"{path}: the course map needs the columns path_prefix,course_code "
                f"(found {', '.join(sorted(columns)) or 'none'})."
            )
        prefixes: dict[str, str] = {}
        for number, row in enumerate(reader, start=2):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            prefix, code = row.get("path_prefix", ""), row.get("course_code", "")
            if not prefix and not code:
                continue
            if not code:
                raise ValueError(f"{path}, line {number}: course_code is empty.")
            prefixes[prefix.replace("\\", "/")] = code
        return cls(prefixes)

    def course_of(self, relpath: str) -> str:
        if not self.mapped:
            parts = PurePosixPath(relpath).parts
            return parts[0] if len(parts) > 1 else NO_COURSE
        for prefix, code in self.prefixes:
            if (
                not prefix
                or relpath == prefix
                or relpath.startswith(prefix + "/")
                or (prefix.endswith(("-", "_", " ")) and relpath.startswith(prefix))
            ):
                return code
        return NO_COURSE


# --------------------------------------------------------------------------- the worker

_ANALYZER = None
_LIMITS = None
_KNOWN: frozenset[str] = frozenset()
_WITH_SEGMENTS = False


def init_worker(
    rubric_dir: str | None,
    limits: dict | None,
    known: Iterable[str] = (),
    with_segments: bool = False,
) -> None:
    """Pool initializer: load the analyzer once for this process."""
    global _ANALYZER, _LIMITS, _KNOWN, _WITH_SEGMENTS
    from clinic.analysis import load_analyzer
    from clinic.ingest import IngestLimits

    _ANALYZER = load_analyzer(rubric_dir)
    _LIMITS = IngestLimits(**(limits or {}))
    _KNOWN = frozenset(known)
    _WITH_SEGMENTS = with_segments


def compact_finding(finding, segment: int, location: dict, label: str) -> dict:
    out = {name: getattr(finding, name) for name in FINDING_FIELDS}
    out.update(segment=segment, location=location, label=label)
    return out


def scan_file(task: tuple[str, str]) -> ScanResult:
    """Read, hash, extract and analyse one file (in a worker, after init_worker).

    A file whose hash is in the known set comes back as ``cached`` without analysis.
    Never raises for a bad file: the message is in ``error``.
    """
    return _scan(*task, _ANALYZER, _LIMITS, _KNOWN, _WITH_SEGMENTS)


def _scan(
    root: str,
    relpath: str,
    analyzer,
    limits,
    known: frozenset[str],
    with_segments: bool,
) -> ScanResult:
    from clinic.ingest import IngestError, extract

    started, cpu = time.perf_counter(), time.process_time()
    result = ScanResult(path=relpath, rubric_version=analyzer.version_id)
    try:
        data = (Path(root) / relpath).read_bytes()
    except OSError as exc:
        result.error = f"cannot read the file ({exc.strerror or exc})"
        result.seconds = time.perf_counter() - started
        return result
    result.sha256 = hashlib.sha256(data).hexdigest()
    result.size = len(data)
    if result.sha256 in known:
        result.cached = True
        return result
    name = PurePosixPath(relpath).name
    try:
        doc = extract(data, name, limits)
        per_segment = analyzer.analyze_document(doc.segments)
    except IngestError as exc:
        result.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - one odd file must not stop the scan
        result.error = (
            f"internal error while reading the file ({type(exc).__name__}: {exc})"
        )
    else:
        result.kind, result.pages, result.words = (
            doc.kind,
            doc.page_count,
            doc.word_count,
        )
        result.warnings = list(doc.warnings)
        for i, (seg, found) in enumerate(zip(doc.segments, per_segment)):
            if found:
                loc = seg.location.to_dict()
                label = seg.location.label()
                result.findings.extend(compact_finding(f, i, loc, label) for f in found)
        if with_segments:
            result.segments = [s.to_dict() for s in doc.segments]
    result.seconds = time.perf_counter() - started
    result.cpu_seconds = time.process_time() - cpu
    return result


# --------------------------------------------------------------------------- state file


def _cacheable(result: ScanResult) -> bool:
    # Read errors may be passing (permissions, network drive); ingest errors are not.
    return bool(result.sha256) and not (
        result.error
        and result.error.startswith(("cannot read the file", "internal error"))
    )


class ScanState:
    """Append-only JSON lines of finished files, keyed by (sha256, rubric version)."""

    def __init__(self, folder: str | Path, rubric_version: str):
        self.path = Path(folder) / STATE_FILE
        self.rubric_version = rubric_version
        self.records: dict[str, dict] = {}
        if self.path.exists():
            with self.path.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        continue  # a line cut short by an interrupted run
                    if (
                        isinstance(rec, dict)
                        and rec.get("rubric_version") == rubric_version
                    ):
                        self.records[rec.get("sha256", "")] = rec
        self._fh = None

    def known(self) -> frozenset[str]:
        return frozenset(self.records)

    def restore(self, relpath: str, sha256: str) -> ScanResult:
        data = {k: v for k, v in self.records[sha256].items() if k in _RESULT_FIELDS}
        return ScanResult(path=relpath, cached=True, **data)

    def add(self, result: ScanResult) -> None:
        if not _cacheable(result) or result.sha256 in self.records:
            return
        record = result.state_record()
        self.records[result.sha256] = record
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


# --------------------------------------------------------------------------- progress


class Progress:
    """Files done/total, pages, findings, files/s and ETA on stderr.

    On a terminal one line is redrawn; otherwise a plain line is printed every
    ``every`` files (and at the end).
    """

    def __init__(self, total: int, stream=None, every: int | None = None):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = every or max(1, min(100, total // 20 or 1))
        self.done = self.pages = self.findings = self.errors = self.skipped = 0
        self.analysed = 0
        self.started = time.perf_counter()
        self._last_draw = 0.0

    def update(self, result: ScanResult) -> None:
        self.done += 1
        self.pages += result.page_units
        self.findings += len(result.findings)
        self.errors += bool(result.error)
        if result.cached:
            self.skipped += 1
        else:
            self.analysed += 1
        now = time.perf_counter()
        if self.tty:
            if now - self._last_draw > 0.2 or self.done == self.total:
                self._last_draw = now
                self.stream.write("\r" + self.line() + "\x1b[K")
                self.stream.flush()
        elif self.done % self.every == 0 or self.done == self.total:
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def line(self) -> str:
        elapsed = max(1e-9, time.perf_counter() - self.started)
        rate = self.analysed / elapsed
        left = self.total - self.done
        if left == 0:
            eta = "done"
        elif rate > 0:
            eta = "ETA " + _clock(left / rate)
        else:
            eta = "ETA --:--"
        width = 24
        filled = int(width * self.done / max(1, self.total))
        bar = "#" * filled + "-" * (width - filled)
        return (
            f"[{bar}] {self.done}/{self.total} files, {self.pages} pages, "
            f"{self.findings} findings, {self.errors} unreadable, "
            f"{rate:.1f} files/s, {eta}"
        )

    def finish(self) -> None:
        if self.tty and self.total:
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


# --------------------------------------------------------------------------- the run


def rubric_version_of(rubric_dir: str | Path | None) -> str:
    from clinic.analysis.rubric import cached_rubric

    return cached_rubric(rubric_dir).version_id


def run_scan(
    root: str | Path,
    state_dir: str | Path,
    *,
    jobs: int = 1,
    rubric_dir: str | Path | None = None,
    limits: dict | None = None,
    course_map: CourseMap | None = None,
    with_segments: bool = False,
    progress: Progress | Callable[[int], Progress] | None = None,
    resume: bool = True,
    files: list[str] | None = None,
    on_result: Callable[[ScanResult], None] | None = None,
) -> ScanSummary:
    """Scan every file under ``root`` with ``jobs`` processes; results sorted by path.

    Files are read in worker processes, so a reader crashing on a damaged file
    costs only that file; with ``jobs=1`` and no way to fork safely (other threads
    running) they are read in this process instead. ``with_segments``
    keeps every analysed file's segments (for the database import).
    ``progress`` is a Progress or a factory taking the number of files.
    ``on_result`` is called with each result as it comes in (the database import);
    the result's segments are dropped after it, so memory stays flat.
    """
    started = time.perf_counter()
    root = Path(root)
    state_dir = Path(state_dir)
    course_map = course_map or CourseMap()
    rubric_dir = str(rubric_dir) if rubric_dir is not None else None
    if files is None:
        files = walk(root, exclude=state_dir)
    jobs = max(1, min(jobs, len(files) or 1))
    forking = _start_method() == "fork"
    in_process = jobs == 1 and not forking  # a fresh interpreter would cost more
    # Load the analyzer here (it checks the rubric) when this process analyses or
    # forks the workers; with another start method the workers load their own.
    if in_process or forking:
        from clinic.analysis import load_analyzer

        version = load_analyzer(rubric_dir).version_id
    else:
        version = rubric_version_of(rubric_dir)
    state = ScanState(state_dir, version)
    known = state.known() if resume else frozenset()
    if callable(progress) and not isinstance(progress, Progress):
        progress = progress(len(files))

    def sizes(rel: str) -> int:
        try:
            return (root / rel).stat().st_size
        except OSError:
            return 0

    # Biggest files first, so no worker is left with a huge file at the end.
    ordered = sorted(files, key=sizes, reverse=True)
    tasks = [(str(root), rel) for rel in ordered]
    results: list[ScanResult] = []
    skipped = 0
    init_args = (rubric_dir, limits, known, with_segments)
    # What is loaded now (the analyzer, the readers) lives for the whole run: keep
    # it out of the collector's walks, and out of copy-on-write in forked workers.
    gc.collect()
    gc.freeze()
    try:
        if in_process:
            init_worker(*init_args)
            stream: Iterable[ScanResult] = map(scan_file, tasks)
        else:
            stream = _parallel(tasks, jobs, init_args)
        for result in stream:
            if result.cached:
                result = state.restore(result.path, result.sha256)
                skipped += 1
            else:
                state.add(result)
            result.course = course_map.course_of(result.path)
            results.append(result)
            if progress is not None:
                progress.update(result)
            if on_result is not None:
                on_result(result)
            result.segments = None
    finally:
        gc.unfreeze()
        state.close()
        if isinstance(progress, Progress):
            progress.finish()
    results.sort(key=lambda r: r.path)
    return ScanSummary(
        root=root,
        results=results,
        rubric_version=version,
        skipped=skipped,
        seconds=time.perf_counter() - started,
        jobs=jobs,
    )


def _parallel(
    tasks: list[tuple[str, str]],
    jobs: int,
    init_args: tuple,
    work: Callable[[tuple[str, str]], ScanResult] = scan_file,
) -> Iterator[ScanResult]:
    """Results of ``scan_file`` over ``tasks`` from ``jobs`` processes, as they finish.

    Each process loads the analyzer once (``init_worker``). If a process dies (a
    reader crashing on a malformed file), the files it may have been reading are
    retried one at a time in a new pool, and the one that kills it again is
    reported as unreadable; the scan goes on.
    """
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    def new_pool() -> ProcessPoolExecutor:
        method = _start_method()
        ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            # "__main__" too: otherwise every worker runs the main script again
            # (for `clinic`, importing the whole app).
            ctx.set_forkserver_preload(
                ["__main__", "clinic.scan.core", "clinic.analysis"]
            )
        return ProcessPoolExecutor(
            jobs, mp_context=ctx, initializer=init_worker, initargs=init_args
        )

    pending = list(reversed(tasks))  # pop() takes them in the given order
    suspects: list[tuple[str, str]] = []  # in flight when a process died
    running: dict = {}
    alone = None  # a suspect being read on its own
    pool = new_pool()
    try:
        while pending or suspects or running:
            if suspects:
                if not running:
                    alone = suspects.pop()
                    running[pool.submit(work, alone)] = alone
            else:
                alone = None
                while pending and len(running) < 2 * jobs:  # keep the queue fed
                    task = pending.pop()
                    running[pool.submit(work, task)] = task
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                task = running.pop(future)
                try:
                    yield future.result()
                except BrokenProcessPool:
                    broken = True
                    if task == alone:
                        yield ScanResult(
                            path=task[1],
                            error="reading this file crashed the reader process; "
                            "it may be damaged (re-save or re-export it)",
                        )
                    else:
                        suspects.append(task)
                except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled
                    yield ScanResult(
                        path=task[1],
                        error=f"internal error ({type(exc).__name__}: {exc})",
                    )
            if broken:
                suspects.extend(running.values())
                running.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = new_pool()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _start_method() -> str:
    """``fork`` while this process has a single thread: the workers start at once,
    sharing the analyzer already loaded here. With other threads running (a fork
    copies their locks in whatever state they are), ``forkserver``."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def analyse_again(
    root: str | Path,
    result: ScanResult,
    rubric_dir: str | Path | None = None,
    limits: dict | None = None,
) -> ScanResult:
    """Analyse one file again in this process, with its segments (a resumed file
    that is being imported)."""
    from clinic.analysis import load_analyzer
    from clinic.ingest import IngestLimits

    analyzer = load_analyzer(rubric_dir)
    fresh = _scan(
        str(root),
        result.path,
        analyzer,
        IngestLimits(**(limits or {})),
        frozenset(),
        True,
    )
    fresh.course = result.course
    return fresh
