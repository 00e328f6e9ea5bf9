"""Analyzer: cheap pre-filter, unit split, spaCy pipeline on candidate units, decision."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from . import components
from .context import FrameReader, document_contexts
from .decision import NO_CONTEXT, Decided, Decider, UnitContext
from .findings import Finding, Mention
from .lexicon import (
    MENTION_SETS,
    WORD_RE,
    CompiledRubric,
    blank_english,
    compile_rubric,
)
from .mentions import CONDITION_SETS, condition_names, race_terms
from .rubric import Rubric, cached_rubric, rubric_key
from .units import looks_like_title, split_units

split_sentences = split_units

PIPE_NAMES = (
    "clinic_lexicon",
    "clinic_race_mentions",
    "clinic_context",
)


def build_nlp(compiled: CompiledRubric):
    """A ``spacy.blank("en")`` pipeline with the four clinic components."""
    key = f"{compiled.rubric.directory}::{compiled.rubric.version_id}::{id(compiled)}"
    components.REGISTRY[key] = compiled
    nlp = compiled.nlp
    for name in PIPE_NAMES:
        if name not in nlp.pipe_names:
            nlp.add_pipe(name, config={"rubric_key": key})
    return nlp


class Analyzer:
    """Runs the rubric's text criteria over text.

    Only units containing a trigger word (race term, algorithm name, terminology)
    are tokenised and analysed; everything else is skipped.
    """

    def __init__(self, rubric: Rubric):
        self.rubric = rubric
        self.compiled = compile_rubric(rubric, blank_english())
        self.nlp = build_nlp(self.compiled)
        self.decider = Decider(self.compiled)
        rules = rubric.decisions
        wanted = set(rules.frame_skip) | set(rules.frame_conscious)
        wanted |= {s for s, _ in rules.frame_criteria}
        wanted |= set(rules.skip_sets)
        self._skip = frozenset(rules.skip_sets)
        self._frames = FrameReader(self.compiled, frozenset(wanted))
        self._aa = self.compiled.aa_homonym_pattern

    @property
    def version_id(self) -> str:
        return self.rubric.version_id

    def analyze_text(self, text: str) -> list[Finding]:
        """Findings for one text; offsets index into ``text``."""
        return self.analyze_segments([text])[0]

    def document_contexts(self, segments: Sequence) -> list[UnitContext]:
        """What frames each segment of one document (headings, titles, parent
        bullets, lead-in lines); pass the result to :meth:`analyze_segments`."""
        return document_contexts(segments, self._frames, self._aa)

    def analyze_document(self, segments: Sequence) -> list[list[Finding]]:
        """Findings for the segments of one document, read in their context.

        ``segments`` are :class:`clinic.ingest.Segment` objects (or anything with
        ``text`` and ``location``); strings are read as a document without structure.
        """
        texts = [s if isinstance(s, str) else s.text for s in segments]
        return self.analyze_segments(texts, contexts=self.document_contexts(segments))

    def analyze_segments(
        self,
        segments: Iterable[str],
        batch_size: int = 256,
        contexts: Sequence[UnitContext] | None = None,
    ) -> list[list[Finding]]:
        """Findings for many texts at once (one list per segment, same order).

        Without ``contexts`` each text is read on its own; with them (see
        :meth:`document_contexts`) headings and parent bullets frame the texts.
        """
        segments = list(segments)
        fire = self.compiled.may_fire
        prefilter = self.compiled.prefilter
        read = self.compiled.loose.read
        code_rx = self.compiled.code_race
        words_of = WORD_RE.findall
        cand: list[tuple[int, int, int, UnitContext]] = []
        for i, seg in enumerate(segments):
            low = seg.lower()
            ctx = contexts[i] if contexts is not None else NO_CONTEXT
            # "white matter" and "Mediterranean fever" cannot trigger anything
            glow, gwords, words, loose_hit = read(low, words_of(low))
            seg_fires = not prefilter.isdisjoint(gwords) and fire(glow, gwords)
            seg_loose = not seg_fires and loose_hit
            coded = code_rx is not None and code_rx.search(seg, low)
            if not (seg_fires or seg_loose or coded):
                continue
            lead = None
            spans = split_units(seg)
            if len(spans) > 1 and self._frames.holds_any(seg, self._skip):
                continue  # a reference-list entry cut into "sentences" at its dots
            for s, e in spans:
                unit = seg[s:e]
                uctx = ctx if lead is None else ctx.with_frame(lead)
                if len(spans) == 1:
                    uwords, unit_fires, unit_loose = words, seg_fires, loose_hit
                else:
                    ulow = unit.lower()
                    glow, gwords, uwords, unit_loose = read(ulow, words_of(ulow))
                    unit_fires = seg_fires and fire(glow, gwords)
                terse = len(uwords) <= 12 or bool(uctx.frames)
                if (
                    unit_fires
                    or (terse and unit_loose)
                    or (coded and code_rx.search(unit))
                ):
                    if not uctx.heading and looks_like_title(unit):
                        uctx = UnitContext(uctx.frames, True, uctx.aa_homonym)
                    cand.append((i, s, e, uctx))
                if unit.endswith(":") and len(unit) <= 200:
                    lead = self._frames.frame(unit, "lead-in")
        results: list[list[Finding]] = [[] for _ in segments]
        texts = (segments[i][s:e] for i, s, e, _ in cand)
        decide = self.decider.decide
        for (i, s, e, uctx), doc in zip(
            cand, self.nlp.pipe(texts, batch_size=batch_size)
        ):
            for d in decide(doc, uctx):
                results[i].append(self._finding(d, doc.text, s, e))
        once = self.rubric.decisions.once_per_document
        if contexts is not None and once:
            _once_per_document(results, once)
        return results

    def mentions(
        self, texts: Iterable[str], batch_size: int = 256
    ) -> list[list[Mention]]:
        """Per text, the sentences that mention a race/ethnicity group and a condition.

        Race terms come from the engine's mention detection with sense checks ("white
        blood cell" is not a race term), normalised ("African-Americans" -> "African
        American"); generic words ("race", "ethnicity") are not counted. Conditions
        are the canonical names of the ``conditions`` lexicon sets.
        """
        texts = list(texts)
        comp = self.compiled
        race_words = frozenset().union(
            *(comp.set_words.get(m, frozenset()) for m in MENTION_SETS)
        )
        cond_words = frozenset().union(
            *(comp.set_words.get(c, frozenset()) for c in CONDITION_SETS)
        )
        results: list[list[Mention]] = [[] for _ in texts]
        if not cond_words:
            return results
        words_of = WORD_RE.findall
        cand: list[tuple[int, int, int]] = []
        for i, text in enumerate(texts):
            words = set(words_of(text.lower()))
            if race_words.isdisjoint(words) or cond_words.isdisjoint(words):
                continue
            for s, e in split_sentences(text):
                words = set(words_of(text[s:e].lower()))
                if not race_words.isdisjoint(words) and not cond_words.isdisjoint(
                    words
                ):
                    cand.append((i, s, e))
        sents = (texts[i][s:e] for i, s, e in cand)
        vocab = comp.race_vocabulary
        for (i, s, e), doc in zip(cand, self.nlp.pipe(sents, batch_size=batch_size)):
            races = race_terms(doc, vocab)
            if not races:
                continue
            conds = condition_names(doc, comp)
            if conds:
                results[i].append(Mention(doc.text, races, conds, s, e))
        return results

    def _finding(self, d: Decided, sentence: str, s: int, e: int) -> Finding:
        c = d.criterion
        rep = None
        if c.replacement is not None:
            r = c.replacement
            rep = {
                "name": r.name,
                "year": r.year,
                "citation": r.citation,
                "url": r.url,
                "status": r.status,
            }
        return Finding(
            criterion_id=c.id,
            title=c.title,
            category=c.category,
            severity=d.severity or c.severity,
            start=s + d.start,
            end=s + d.end,
            matched_text=sentence[d.start : d.end],
            sentence=sentence,
            sentence_start=s,
            sentence_end=e,
            explanation=c.explanation,
            recommendation=c.recommendation,
            cues=d.cues,
            rubric_version=self.rubric.version_id,
            replacement=rep,
            limitation=c.limitation,
            references=[{"citation": r.citation, "url": r.url} for r in c.references],
            glossary=list(c.glossary),
            confidence=d.confidence,
            secondary=[
                {"criterion_id": x.id, "title": x.title, "category": x.category}
                for x in d.secondary
            ],
        )


def _once_per_document(results: list[list[Finding]], criteria: tuple[str, ...]) -> None:
    """Keep the first finding of each (criterion, matched words) pair of a document;
    the first one says how often the same words come back."""
    first: dict[tuple[str, str], Finding] = {}
    repeats: dict[tuple[str, str], int] = {}
    for findings in results:
        keep = []
        for f in findings:
            key = (f.criterion_id, f.matched_text.lower())
            if f.criterion_id in criteria and key in first:
                repeats[key] = repeats.get(key, 0) + 1
                continue
            first.setdefault(key, f)
            keep.append(f)
        findings[:] = keep
    for key, n in repeats.items():
        first[key].cues.append(
            {
                "kind": "document",
                "set": "repeats",
                "text": key[1],
                "rule": f"named {n} more time{'s' if n > 1 else ''} in this document",
            }
        )


_CACHE: dict[tuple[str, str], Analyzer] = {}
_LOCK = threading.Lock()


def load_analyzer(rubric_dir: str | Path | None = None) -> Analyzer:
    """Return an :class:`Analyzer` for ``rubric_dir`` (default: project ``rubrics/``).

    Cached per (resolved directory, content hash); raises ``RubricError`` when the
    rubric is invalid, so an app never analyses with half a rubric.
    """
    key = rubric_key(rubric_dir)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            return hit
        analyzer = Analyzer(cached_rubric(key[0]))
        _CACHE[key] = analyzer
        return analyzer
