"""spaCy pipeline components of the analyzer (registered with ``@Language.factory``).

The pipeline runs on sentence-sized docs that the pre-filter selected:

1. ``clinic_lexicon``        runs every lexicon set and criterion trigger (``doc._.clinic_hits``)
2. ``clinic_race_mentions``  race/ethnicity/ancestry mentions with sense disambiguation
3. ``clinic_context``        which cue sets are present (claim context, race-conscious context)

The criteria and the decision (one finding per problem) run after the pipeline, in
:mod:`clinic.analysis.decision`, because they also read the document context.

Components get the compiled rubric from :data:`REGISTRY` by key (spaCy configs must
be JSON-serialisable), see :func:`clinic.analysis.pipeline.build_nlp`.
"""

from __future__ import annotations

import weakref

from spacy.language import Language
from spacy.tokens import Doc

from .lexicon import MENTION_SETS, CompiledRubric, Hit

#: Compiled rubrics by key; weak so that replaced analyzers can be garbage-collected.
REGISTRY: weakref.WeakValueDictionary[str, CompiledRubric] = (
    weakref.WeakValueDictionary()
)

for _name in (
    "clinic_hits",
    "race_mentions",
    "clinic_names",
    "clinic_context",
):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)

#: rule of a mention that is a nationality or region word in the plural ("Filipinos"):
#: a group of people, but it may name citizens rather than an ethnicity
NATIONALITY_PLURAL = "nationality or region word in the plural"
_SKIP_PUNCT = {",", "/", "-", "–", "&", "(", ")"}
_LOOKAHEAD = 6


def _overlaps(a: Hit, b: Hit) -> bool:
    return a.start < b.end and b.start < a.end


class LexiconComponent:
    def __init__(self, compiled: CompiledRubric):
        self.compiled = compiled

    def __call__(self, doc: Doc) -> Doc:
        doc._.clinic_hits = self.compiled.match(doc)
        return doc


class RaceMentionComponent:
    """Race/ethnicity/ancestry mentions.

    ``race_strong`` terms always count; ``race_weak`` (nationality, region) and
    ``race_colour`` (black, white) terms count only when a population noun follows
    (possibly after linking words or other race terms), after a ``non-`` prefix, as a
    predicate ("she is white", "if Black"), or when coordinated with another mention.
    Anything overlapping ``race_homonyms`` (white blood cell, familial Mediterranean
    fever, Indian hedgehog, ...) is dropped and recorded in ``doc._.clinic_names``.
    """

    def __init__(self, compiled: CompiledRubric):
        self.compiled = compiled

    def __call__(self, doc: Doc) -> Doc:
        hits = doc._.clinic_hits
        kinds = {"race_strong": 0, "race_weak": 1, "race_colour": 2}
        cands: list[tuple[Hit, str]] = []
        for sname in MENTION_SETS:
            for h in hits.get(f"set:{sname}", []):
                cands.append((h, sname))
        # longest match wins, then the stronger kind
        cands.sort(key=lambda c: (-(c[0].end - c[0].start), kinds[c[1]], c[0].start))
        chosen: list[tuple[Hit, str]] = []
        taken: set[int] = set()
        for h, kind in cands:
            if any(i in taken for i in range(h.start, h.end)):
                continue
            chosen.append((h, kind))
            taken.update(range(h.start, h.end))
        homonyms = hits.get("set:race_homonyms", [])
        names = []
        kept = []
        for h, kind in chosen:
            if any(_overlaps(h, n) for n in homonyms):
                names.append(h)
            else:
                kept.append((h, kind))
        pop = {h.start for h in hits.get("set:population_nouns", [])}
        links = {
            i for h in hits.get("set:mention_links", []) for i in range(h.start, h.end)
        }
        copula: dict[int, int] = {}  # last token -> first token of the longest cue
        for h in hits.get("set:copula_cues", []):
            copula[h.end - 1] = min(h.start, copula.get(h.end - 1, h.start))
        subjects = {h.end - 1 for h in hits.get("set:predicate_subjects", [])}
        cand_end = {h.start: h.end for h, _ in kept}
        cand_start = {h.end - 1: h.start for h, _ in kept}
        n = len(doc)

        def skippable(i: int) -> bool:
            return i in links or doc[i].text in _SKIP_PUNCT

        plurals = self.compiled.nationality_plurals

        def rule_for(h: Hit, kind: str) -> str | None:
            if kind == "race_strong":
                if h.text.lower() in plurals:
                    return NATIONALITY_PLURAL
                return "race/ethnicity term"
            i, steps = h.end, 0
            while i < n and steps < _LOOKAHEAD:
                if i in pop:
                    return f"followed by population noun '{doc[i].text}'"
                if i in cand_end:
                    i = cand_end[i]
                elif skippable(i):
                    i += 1
                else:
                    break
                steps += 1
            if (
                h.start >= 2
                and doc[h.start - 1].text in "-–"
                and doc[h.start - 2].lower_ == "non"
            ):
                return "'non-' prefix"
            if h.start >= 1 and doc[h.start - 1].lower_ == "non":
                return "'non' prefix"
            prev = h.start - 1
            if prev >= 1 and doc[prev].lower_ == "not":
                prev -= 1
            at_end = (
                h.end >= n or doc[h.end].is_punct or doc[h.end].lower_ in ("or", "and")
            )
            if prev >= 0 and prev in copula and at_end:
                # "if Black"; otherwise the copula needs a person subject ("she is White")
                first = copula[prev]
                if doc[prev].lower_ in ("if", "whether") or (first - 1) in subjects:
                    return f"predicate after '{doc[prev].text}'"
            return None

        accepted: list[Hit] = []
        pending: list[Hit] = []
        for h, kind in kept:
            rule = rule_for(h, kind)
            if rule:
                accepted.append(
                    Hit(h.start, h.end, h.start_char, h.end_char, h.text, rule)
                )
            else:
                pending.append(h)

        def linked(h: Hit, acc_start: set[int], acc_end: set[int]) -> bool:
            # walk left and right over linking words / other candidates to an accepted mention
            i, steps = h.start - 1, 0
            while i >= 0 and steps < 4:
                if i in acc_end:
                    return True
                if i in cand_start:
                    i = cand_start[i] - 1
                elif skippable(i):
                    i -= 1
                else:
                    break
                steps += 1
            i, steps = h.end, 0
            while i < n and steps < 4:
                if i in acc_start:
                    return True
                if i in cand_end:
                    i = cand_end[i]
                elif skippable(i):
                    i += 1
                else:
                    break
                steps += 1
            return False

        changed = True
        while pending and changed and accepted:
            changed = False
            acc_start = {a.start for a in accepted}
            acc_end = {a.end - 1 for a in accepted}
            for h in list(pending):
                if linked(h, acc_start, acc_end):
                    rule = "coordinated with a race term"
                    accepted.append(
                        Hit(h.start, h.end, h.start_char, h.end_char, h.text, rule)
                    )
                    pending.remove(h)
                    changed = True
        accepted += self._list_items(doc, hits, pending, accepted, links)
        accepted += self._code(doc, hits, accepted)
        accepted.sort(key=lambda a: a.start)
        hits["set:race_mention"] = accepted
        doc._.race_mentions = accepted
        doc._.clinic_names = names
        return doc

    def _list_items(self, doc, hits, pending, accepted, links) -> list[Hit]:
        """Weak and colour words that are whole items of a list ("RFs: >60, male,
        white"; "Japanese/ African/ finnish"; "↑ in AA"): a mention when the list also
        holds a demographic item or another race term."""
        if not pending:
            return []
        n = len(doc)
        demo = hits.get("set:demographic_items", [])
        taken = {i for a in accepted for i in range(a.start, a.end)}
        items = []
        for h in pending:
            before = h.start == 0 or _is_delim(doc[h.start - 1])
            after = h.end >= n or _is_delim(doc[h.end]) or doc[h.end].is_punct
            if before and after:
                items.append(h)
            elif (
                h.text.upper().rstrip("S") == "AA"
                and h.start >= 1
                and doc[h.start - 1].lower_ in ("in", "among", "for")
                and (
                    h.end >= n
                    or doc[h.end].is_punct
                    or doc[h.end].lower_ in ("and", "or")
                )
            ):
                items.append(h)  # "more common in AA"
        if not items:
            return []
        if hits.get("set:geography"):
            return []  # "countries with a high prevalence: Asia, African, Caribbean"
        colours = ("black", "white", "blacks", "whites")
        people = [h for h in items if h.text.lower() not in colours]
        support = len(people) >= 2 or bool(accepted) or bool(demo)
        out = []
        for h in items:
            if any(i in taken for i in range(h.start, h.end)):
                continue
            colour = h.text.lower() in colours
            if colour and not (demo or accepted or people):
                continue
            if not support and h.text.upper().rstrip("S") != "AA":
                continue
            out.append(
                Hit(h.start, h.end, h.start_char, h.end_char, h.text, "list item")
            )
        return out

    def _code(self, doc, hits, accepted) -> list[Hit]:
        """Race variables in calculator source code (``is_black``, ``eth == "black"``)."""
        if not hits.get("set:code_syntax"):
            return []
        taken = {i for a in accepted for i in range(a.start, a.end)}
        out = []
        for h in hits.get("set:code_race", []):
            if any(i in taken for i in range(h.start, h.end)):
                continue
            out.append(
                Hit(
                    h.start,
                    h.end,
                    h.start_char,
                    h.end_char,
                    h.text,
                    "race variable in code",
                )
            )
            taken.update(range(h.start, h.end))
        return out


def _is_delim(tok) -> bool:
    return tok.text in _ITEM_DELIMS or tok.lower_ in ("and", "or", "&")


_ITEM_DELIMS = {",", "/", ";", "(", ")", ":", "+", "-", "–", "—", "|", "•", "=", ">"}


class ContextComponent:
    """Names of all cue sets present in the sentence (claim and race-conscious context)."""

    def __init__(self, compiled: CompiledRubric):
        self.compiled = compiled

    def __call__(self, doc: Doc) -> Doc:
        hits = doc._.clinic_hits
        doc._.clinic_context = {
            k[4:]: v for k, v in hits.items() if k.startswith("set:") and v
        }
        return doc


def _get(key: str) -> CompiledRubric:
    try:
        return REGISTRY[key]
    except KeyError:  # pragma: no cover - misuse
        raise ValueError(f"no compiled rubric registered under {key!r}") from None


@Language.factory("clinic_lexicon", default_config={"rubric_key": ""})
def make_lexicon(nlp: Language, name: str, rubric_key: str):
    return LexiconComponent(_get(rubric_key))


@Language.factory("clinic_race_mentions", default_config={"rubric_key": ""})
def make_race_mentions(nlp: Language, name: str, rubric_key: str):
    return RaceMentionComponent(_get(rubric_key))


@Language.factory("clinic_context", default_config={"rubric_key": ""})
def make_context(nlp: Language, name: str, rubric_key: str):
    return ContextComponent(_get(rubric_key))
