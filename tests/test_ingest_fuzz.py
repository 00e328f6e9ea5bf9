"""Property-based test: damaged documents only ever raise IngestError."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.ingest import IngestError, IngestLimits, extract
from tests import doc_builders as b

pytestmark = pytest.mark.slow

_SAMPLES: dict[str, bytes] = {}


def _sample(kind: str) -> bytes:
    if kind not in _SAMPLES:
        if kind == "pdf":
            _SAMPLES[kind] = b.pdf_from_html(
                f"<html><body><h1>Title</h1><p>{b.FLAGGED}</p><p>Second para-graph text.</p></body></html>"
            )
        elif kind == "pptx":
            _SAMPLES[kind] = b.pptx_deck(slides=4, notes_on=2)
        else:
            _SAMPLES[kind] = b.docx_document()
    return _SAMPLES[kind]


@st.composite
def damaged(draw):
    kind = draw(st.sampled_from(["pdf", "pptx", "docx"]))
    data = bytearray(_sample(kind))
    how = draw(st.sampled_from(["truncate", "mutate", "both", "splice"]))
    if how in ("truncate", "both"):
        data = data[: draw(st.integers(0, len(data)))]
    if how in ("mutate", "both") and data:
        for _ in range(draw(st.integers(1, 12))):
            pos = draw(st.integers(0, len(data) - 1))
            data[pos] = draw(st.integers(0, 255))
    if how == "splice" and data:
        start = draw(st.integers(0, len(data) - 1))
        chunk = draw(st.binary(min_size=1, max_size=64))
        data[start : start + len(chunk)] = chunk
    name = draw(st.sampled_from([f"file.{kind}", "file.pdf", "file.txt", "upload"]))
    return bytes(data), name


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(damaged())
def test_only_ingest_errors_escape(case) -> None:
    data, name = case
    try:
        doc = extract(data, name, IngestLimits(max_text_chars=200_000))
    except IngestError as exc:
        assert str(exc)
        return
    assert isinstance(doc.segments, list)
    for seg in doc.segments:
        seg.location.label()
        if seg.boxes:
            seg.highlight_rects(0, len(seg.text))
