"""Analyzer: cheap pre-filter + sentence split + spaCy pipeline on candidate sentences."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from pathlib import Path

import spacy

from . import components
from .findings import Finding, Mention
from .lexicon import MENTION_SETS, WORD_RE, CompiledRubric, compile_rubric
from .mentions import CONDITION_SETS, condition_names, race_terms
from .rubric import Rubric, cached_rubric, rubric_key

PIPE_NAMES = (
    "clinic_lexicon",
    "clinic_race_mentions",
    "clinic_context",
    "clinic_criteria",
)

_ABBREV = {
    "e.g",
    "i.e",
    "vs",
    "dr",
    "mr",
    "mrs",
    "ms",
    "al",
    "fig",
    "figs",
    "approx",
    "no",
    "st",
    "ref",
    "refs",
    "cf",
    "etc",
    "jr",
    "sr",
    "ca",
    "vol",
    "pp",
}
_END_RE = re.compile(r"[.!?]+[\"”’')\]]*\s+|\n")
_BULLET_RE = re.compile(r"\s*(?:[-•*▪◦–—·]|\d{1,2}[.)]|[a-z][.)])\s")
_LAST_WORD_RE = re.compile(r"([A-Za-z][A-Za-z.]*)[.!?]+[\"”’')\]]*$")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Cheap sentence/bullet splitter returning ``(start, end)`` character offsets.

    Splits after ``.!?`` + whitespace (not after common abbreviations or initials),
    at blank lines, before bullet lines, and after lines that end a sentence or are
    short (slide bullets, headings). Hard-wrapped prose lines are joined.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    n = len(text)
    for m in _END_RE.finditer(text):
        cut = m.end()
        if m.group(0) == "\n":
            line_start = text.rfind("\n", 0, m.start()) + 1
            line = text[line_start : m.start()].rstrip()
            nxt = text[m.end() : m.end() + 8]
            boundary = (
                not line
                or len(line) < 60
                or line.endswith((".", "!", "?", ":", ";"))
                or _BULLET_RE.match(nxt) is not None
                or nxt.startswith("\n")
            )
            if not boundary:
                continue
        else:
            lw = _LAST_WORD_RE.search(
                text,
                max(start, m.start() - 12),
                m.end() - (len(m.group(0)) - len(m.group(0).rstrip())),
            )
            if lw:
                word = lw.group(1).rstrip(".").lower()
                if word in _ABBREV or (len(word) == 1 and word.isalpha()):
                    continue
        _push(text, start, cut, spans)
        start = cut
    _push(text, start, n, spans)
    return spans


def _push(text: str, s: int, e: int, spans: list[tuple[int, int]]) -> None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if e > s:
        spans.append((s, e))


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

    Only sentences containing a trigger word (race term, algorithm name,
    terminology) are tokenised and analysed; everything else is skipped.
    """

    def __init__(self, rubric: Rubric):
        self.rubric = rubric
        self.compiled = compile_rubric(rubric, spacy.blank("en"))
        self.nlp = build_nlp(self.compiled)

    @property
    def version_id(self) -> str:
        return self.rubric.version_id

    def analyze_text(self, text: str) -> list[Finding]:
        """Findings for one text; offsets index into ``text``."""
        return self.analyze_segments([text])[0]

    def analyze_segments(
        self, segments: Iterable[str], batch_size: int = 256
    ) -> list[list[Finding]]:
        """Findings for many texts at once (one list per segment, same order)."""
        segments = list(segments)
        fire = self.compiled.may_fire
        prefilter = self.compiled.prefilter
        words_of = WORD_RE.findall
        cand: list[tuple[int, int, int]] = []
        for i, seg in enumerate(segments):
            low = seg.lower()
            words = set(words_of(low))
            if prefilter.isdisjoint(words) or not fire(low, words):
                continue
            for s, e in split_sentences(seg):
                if fire(seg[s:e].lower()):  # (lower() may change lengths: slice first)
                    cand.append((i, s, e))
        results: list[list[Finding]] = [[] for _ in segments]
        texts = (segments[i][s:e] for i, s, e in cand)
        for (i, s, e), doc in zip(cand, self.nlp.pipe(texts, batch_size=batch_size)):
            for c, anchor, cues in doc._.clinic_findings:
                results[i].append(self._finding(c, anchor, cues, doc.text, s, e))
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

    def _finding(self, c, anchor, cues, sentence: str, s: int, e: int) -> Finding:
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
            severity=c.severity,
            start=s + anchor.start_char,
            end=s + anchor.end_char,
            matched_text=sentence[anchor.start_char : anchor.end_char],
            sentence=sentence,
            sentence_start=s,
            sentence_end=e,
            explanation=c.explanation,
            recommendation=c.recommendation,
            cues=cues,
            rubric_version=self.rubric.version_id,
            replacement=rep,
            limitation=c.limitation,
            references=[{"citation": r.citation, "url": r.url} for r in c.references],
            glossary=list(c.glossary),
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
