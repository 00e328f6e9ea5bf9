"""View models for the review screen: text pieces with highlights, grouped by place."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa

from clinic.extensions import db
from clinic.ingest import Location
from clinic.models import DocumentVersion, Finding, MatchState, Segment


@dataclass
class Piece:
    text: str
    finding_ids: list[int] = field(default_factory=list)
    anchors: list[int] = field(default_factory=list)  # findings that start here
    severity: str | None = None


@dataclass
class SegmentView:
    segment: Segment
    pieces: list[Piece]


@dataclass
class Group:
    label: str
    kind: str
    number: int | None
    segments: list[SegmentView] = field(default_factory=list)
    page_findings: list[Finding] = field(
        default_factory=list
    )  # PDF: for boxes on the image
    # PDF: the page's size in points as displayed (rotation applied), so that the page
    # image reserves its place before it loads
    page_size: tuple[float, float] | None = None

    def image_height(self, width: int) -> int | None:
        """The height of this page's image rendered `width` pixels wide."""
        if not self.page_size or self.page_size[0] <= 0:
            return None
        return max(1, round(width * self.page_size[1] / self.page_size[0]))


SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}


def pieces_for(text: str, findings: list[Finding]) -> list[Piece]:
    """Split `text` at finding boundaries; each piece knows the findings covering it."""
    cuts = {0, len(text)}
    for f in findings:
        cuts.update((max(0, min(f.start, len(text))), max(0, min(f.end, len(text)))))
    bounds = sorted(cuts)
    out = []
    for a, b in itertools.pairwise(bounds):
        if a == b:
            continue
        covering = [f for f in findings if f.start <= a and b <= f.end]
        piece = Piece(
            text[a:b],
            [f.id for f in covering],
            [f.id for f in covering if f.start == a],
        )
        if covering:
            piece.severity = min(
                (f.severity for f in covering), key=lambda s: SEVERITY_RANK.get(s, 9)
            )
        out.append(piece)
    return out


def _group_key(location: dict) -> tuple[str, int | None]:
    kind = location.get("kind")
    if kind in ("page", "slide"):
        return kind, location.get("number")
    return "document", None


def _group_label(kind: str, number: int | None) -> str:
    if kind == "document":
        return "Text"
    return Location(kind=kind, number=number).label().capitalize()


def build_groups(version: DocumentVersion, findings: list[Finding]) -> list[Group]:
    """The version's text in reading order, grouped by page or slide (one group otherwise)."""
    by_segment: dict[int, list[Finding]] = {}
    for f in findings:
        by_segment.setdefault(f.segment_id, []).append(f)
    segments = db.session.scalars(
        sa.select(Segment)
        .where(Segment.version_id == version.id)
        .order_by(Segment.ordinal)
    )
    groups: list[Group] = []
    index: dict[tuple[str, int | None], Group] = {}
    for seg in segments:
        key = _group_key(seg.location)
        group = index.get(key)
        if group is None:
            group = index[key] = Group(_group_label(*key), key[0], key[1])
            groups.append(group)
        seg_findings = by_segment.get(seg.id, [])
        group.segments.append(SegmentView(seg, pieces_for(seg.text, seg_findings)))
        group.page_findings.extend(f for f in seg_findings if f.rects)
        if group.page_size is None and seg.geometry:
            group.page_size = page_size(seg.geometry)
    return groups


def page_size(geometry: dict) -> tuple[float, float] | None:
    """(width, height) of a PDF page as shown, from a segment's `page_box` and `rotation`."""
    box = geometry.get("page_box")
    if not box or len(box) != 4:
        return None
    left, bottom, right, top = (float(v) for v in box)
    width, height = abs(right - left), abs(top - bottom)
    if not width or not height:
        return None
    if int(geometry.get("rotation") or 0) % 180 == 90:
        width, height = height, width
    return width, height


def segment_label(segment: Segment) -> str:
    return Location.from_dict(segment.location).label()


@dataclass
class Diff:
    previous: DocumentVersion | None
    new: list[Finding]
    persisting: list[Finding]
    resolved: list[Finding]


def version_diff(version: DocumentVersion, findings: list[Finding]) -> Diff | None:
    """What changed since the previous analysed version (None for a first version)."""
    if version.resolved_count is None:
        return None
    resolved = list(
        db.session.scalars(
            sa.select(Finding)
            .where(Finding.resolved_in_version_id == version.id)
            .order_by(Finding.id)
        )
    )
    previous = resolved[0].version if resolved else None
    if previous is None:
        previous_ids = {f.previous_id for f in findings if f.previous_id}
        if previous_ids:
            previous = db.session.get(Finding, next(iter(previous_ids))).version
    return Diff(
        previous=previous,
        new=[f for f in findings if f.match_state == MatchState.NEW],
        persisting=[f for f in findings if f.match_state == MatchState.PERSISTING],
        resolved=resolved,
    )


def facet_counts(findings: list[Finding]) -> dict[str, Counter]:
    return {
        "criterion": Counter(f.criterion_id for f in findings),
        "category": Counter(f.category for f in findings),
        "severity": Counter(f.severity for f in findings),
        "confidence": Counter(f.confidence for f in findings),
        "status": Counter(f.status.value for f in findings),
    }
