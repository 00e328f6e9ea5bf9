"""The engine's decision for one unit (sentence, bullet, line or table cell).

Order of the decision (rules in ``rubrics/decisions.yaml``):

1. Units that are not teaching claims (reference-list entries, units in a
   references section) are skipped.
2. Race mentions inside a null statement ("affects all races equally") are set
   aside; the rest are the unit's *live* mentions.
3. Race-conscious reading comes first: a unit with a race-conscious cue (racism or a
   structural cause, critique, guidance about race, a refuted myth, a critique of
   categories, a named variant with ancestry, a study's sample description) makes
   no clinical finding; only the word-level terminology criteria still apply.
4. Every criterion is evaluated on the unit (trigger, ``requires_*``, ``suppress``).
   When none fires but the unit has a live mention, the nearest section frame
   (heading, parent bullet, lead-in line) picks the criterion ("Risk factors" ->
   RC-RISK), else the default criterion fires: a race mention in a clinical
   statement is a problem by default; cues choose its category.
5. One finding per problem: the most specific claim criterion is the finding, the
   others become its secondary labels; an outdated term is a second finding only
   when the clinical problem has its own cue (different fixes).
6. A section framed as race-conscious lowers severity and confidence; a unit
   that is itself a heading names a topic and makes no clinical finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .components import NATIONALITY_PLURAL
from .lexicon import CompiledRubric, Hit
from .mentions import GENERIC_TERMS
from .rubric import TextCriterion

_LOWER = {"high": "medium", "medium": "low", "low": "low"}
_HEDGE = re.compile(
    r"(?i)\b(?:may|might|could|possibly|perhaps|some studies|suggests?|appears?|"
    r"seems?|thought to|believed|historically|was once|were once)\b"
)
#: tokens between a race mention and the cue that makes it a claim, to highlight both
_ANCHOR_WINDOW = {"algorithm": 6, "default": 3}
_CLAUSE_BREAK = frozenset({":", ";", ")", "(", "→", "->", "|", "."})


class Frame:
    """A heading, slide title, parent bullet or lead-in line whose scope holds a unit.

    ``sets`` (the cue sets present in its text) is read on first use: most frames
    hold no unit that needs them.
    """

    __slots__ = ("_read", "_sets", "kind", "text")

    def __init__(self, text: str, kind: str, read=None, sets=None):
        self.text = text
        self.kind = kind
        self._read = read
        self._sets = sets

    @property
    def sets(self) -> frozenset[str]:
        if self._sets is None:
            self._sets = self._read(self.text) if self._read else frozenset()
        return self._sets

    def __repr__(self) -> str:
        return f"Frame({self.kind}: {self.text[:40]!r})"


@dataclass(frozen=True)
class UnitContext:
    """What the document says around a unit (see :mod:`clinic.analysis.context`)."""

    frames: tuple[Frame, ...] = ()
    heading: bool = False
    aa_homonym: bool = False

    def with_frame(self, frame: Frame) -> UnitContext:
        """The same context with one more (innermost) frame."""
        return UnitContext(
            (*self.frames, frame), heading=self.heading, aa_homonym=self.aa_homonym
        )


NO_CONTEXT = UnitContext()


@dataclass
class Decided:
    """One finding decided for a unit (offsets relative to the unit)."""

    criterion: TextCriterion
    start: int
    end: int
    text: str
    cues: list[dict]
    secondary: list[TextCriterion] = field(default_factory=list)
    confidence: str = "likely"
    severity: str = ""


def _overlaps(a: Hit, b: Hit) -> bool:
    return a.start < b.end and b.start < a.end


def _near(a: Hit, b: Hit, window: int) -> bool:
    return a.start - window <= b.end and b.start <= a.end + window


class Decider:
    """Applies the rubric's decision rules to the units the pipeline analysed."""

    def __init__(self, compiled: CompiledRubric):
        self.compiled = compiled
        rubric = compiled.rubric
        self.rules = rubric.decisions
        crits = rubric.criteria
        order = [crits[c] for c in self.rules.priority if c in crits]
        order += [c for c in crits.values() if c.id not in self.rules.priority]
        self.order = order
        self.default = crits.get(self.rules.default_criterion)
        self.frame_criteria = [
            (s, crits[c]) for s, c in self.rules.frame_criteria if c in crits
        ]
        self.lex = rubric.lexicon

    # ------------------------------------------------------------------ helpers

    def _live_mentions(self, doc, hits, ctx: UnitContext) -> tuple[list[Hit], bool]:
        mentions = list(doc._.race_mentions or ())
        if ctx.aa_homonym:
            mentions = [m for m in mentions if m.text.rstrip("s") not in ("AA",)]
        nulls = [h for s in self.rules.null_sets for h in hits.get(f"set:{s}", [])]
        nulled = False
        live = []
        for m in mentions:
            if any(_near(n, m, 3) or _same_list(doc, n, m) for n in nulls):
                nulled = True
            else:
                live.append(m)
        return live, nulled

    def _fires(self, c: TextCriterion, hits, present, live) -> list[tuple[str, Hit]]:
        homonyms = hits.get("set:race_homonyms", [])
        trig: list[tuple[str, Hit]] = []
        for s in c.trigger.sets:
            if s == "race_mention":
                trig += [(s, h) for h in live]
            else:
                trig += [(s, h) for h in hits.get(f"set:{s}", [])]
        trig += [("criterion", h) for h in hits.get(f"crit:{c.id}", [])]
        trig = [(s, h) for s, h in trig if not any(_overlaps(h, n) for n in homonyms)]
        if not trig:
            return []
        if c.requires_all and not all(s in present for s in c.requires_all):
            return []
        if c.requires_any and not any(s in present for s in c.requires_any):
            return []
        if any(s in present for s in c.suppress):
            return []
        return trig

    def _conscious(self, present, c: TextCriterion) -> str | None:
        if c.id in self.rules.word_level:
            return None
        for s, reason in self.rules.conscious.items():
            if s in present and c.category not in self.rules.conscious_exempt.get(
                s, ()
            ):
                return reason
        return None

    # ------------------------------------------------------------------ decide

    def decide(self, doc, ctx: UnitContext = NO_CONTEXT) -> list[Decided]:
        """Findings for one analysed unit (a spaCy ``Doc`` from the pipeline)."""
        hits = doc._.clinic_hits
        rules = self.rules
        if any(hits.get(f"set:{s}") for s in rules.skip_sets):
            return []
        frame_sets: set[str] = set()
        for fr in ctx.frames:
            frame_sets |= fr.sets
        if any(s in frame_sets for s in rules.frame_skip):
            return []
        live, _ = self._live_mentions(doc, hits, ctx)
        present = {k[4:] for k, v in hits.items() if k.startswith("set:") and v}
        present.discard("race_mention")
        if live:
            present.add("race_mention")
            arrows = [
                a
                for a in hits.get("set:arrows", [])
                if any(a.start >= m.end for m in live)
            ]
            if arrows:
                present.add("race_arrow")
                hits["set:race_arrow"] = arrows
        hits["set:race_mention"] = live

        fired: list[tuple[TextCriterion, list[tuple[str, Hit]]]] = []
        groups: set[str] = set()
        conscious_reason: str | None = None
        for c in self.order:
            if c is self.default:
                continue
            if c.fallback and c.group in groups:
                continue
            trig = self._fires(c, hits, present, live)
            if not trig:
                continue
            reason = self._conscious(present, c)
            if reason:
                conscious_reason = conscious_reason or reason
                continue
            fired.append((c, trig))
            if c.group:
                groups.add(c.group)

        terms = [(c, t) for c, t in fired if c.category == "terminology"]
        claims = [(c, t) for c, t in fired if c.category != "terminology"]
        frame_note: dict | None = None
        default_used = False
        if not claims and live and conscious_reason is None:
            crit, frame = self._frame_criterion(ctx)
            if crit is None and all(m.rule == NATIONALITY_PLURAL for m in live):
                crit = None  # "health care for all Filipinos": citizens, not a claim
            elif crit is None and self.default is not None:
                crit = self.default
                default_used = True
            if (
                crit is not None
                and not any(s in present for s in crit.suppress)
                and self._conscious(present, crit) is None
            ):
                claims.append((crit, [("race_mention", h) for h in live]))
                if frame is not None:
                    frame_note = {
                        "kind": "frame",
                        "set": frame[0],
                        "text": frame[1].text[:120],
                        "rule": f"in the scope of a {frame[1].kind}",
                    }
        conscious_frame = any(s in frame_sets for s in rules.frame_conscious)
        if ctx.heading:
            # a heading names a topic ("Racial disparities", "The MDRD equation"); it
            # is a claim only with a cue of its own and a race term
            claims = [
                (c, t)
                for c, t in claims
                if live and c.id not in rules.topic_criteria and c is not self.default
            ]
            if not claims:
                default_used, frame_note = False, None
        if conscious_frame and (default_used or frame_note is not None):
            claims = []

        out: list[Decided] = []
        if claims:
            c, trig = claims[0]
            secondary = [x for x, _ in claims[1:]]
            inferred = default_used or frame_note is not None
            if terms and inferred:
                # no cue of its own: the outdated term is the problem to fix
                tc, ttrig = terms[0]
                d = self._make(
                    tc, ttrig, hits, live, doc, ctx, [t for t, _ in terms[1:]] + [c]
                )
                out.append(d)
                return out
            d = self._make(c, trig, hits, live, doc, ctx, secondary)
            if frame_note:
                d.cues.append(frame_note)
            d.confidence = self._confidence(
                c, d, live, doc, ctx, inferred, conscious_frame, default_used
            )
            if conscious_frame:
                d.severity = _LOWER[d.severity]
                d.cues.append(
                    {
                        "kind": "frame",
                        "set": "race_conscious_section",
                        "text": next(
                            fr.text[:120]
                            for fr in ctx.frames
                            if any(s in fr.sets for s in rules.frame_conscious)
                        ),
                        "rule": "the section is framed as race-conscious: severity lowered",
                    }
                )
            out.append(d)
        if terms:
            tc, ttrig = terms[0]
            out.append(
                self._make(tc, ttrig, hits, live, doc, ctx, [t for t, _ in terms[1:]])
            )
        return out

    def _frame_criterion(self, ctx: UnitContext):
        for fr in reversed(ctx.frames):  # innermost frame first
            for s, crit in self.frame_criteria:
                if s in fr.sets:
                    return crit, (s, fr)
        return None, None

    # ------------------------------------------------------------------ output

    def _make(self, c, trig, hits, live, doc, ctx, secondary) -> Decided:
        tset, trigger = min(trig, key=lambda sh: (sh[1].start_char, -sh[1].end_char))
        keys: list[Hit] = []
        for s in list(c.requires_all) + list(c.requires_any):
            if s == "race_mention":
                continue
            keys += hits.get(f"set:{s}", [])
        anchor = self._anchor(c, trigger, tset, keys, live, doc)
        cues = [
            {"kind": "trigger", "set": tset, "text": trigger.text, "rule": trigger.rule}
        ]
        lex = self.lex
        for s in list(c.requires_all) + list(c.requires_any):
            if s == tset:
                continue
            if s == "race_mention" and live:
                h = live[0]
                cues.append(
                    {"kind": "context", "set": s, "text": h.text, "rule": h.rule}
                )
            elif hits.get(f"set:{s}"):
                h = hits[f"set:{s}"][0]
                desc = lex[s].description if s in lex else s
                cues.append({"kind": "context", "set": s, "text": h.text, "rule": desc})
        if (
            tset != "race_mention"
            and live
            and "race_mention" not in (set(c.requires_all) | set(c.requires_any))
        ):
            h = live[0]
            cues.append(
                {
                    "kind": "context",
                    "set": "race_mention",
                    "text": h.text,
                    "rule": h.rule,
                }
            )
        start, end = anchor
        d = Decided(
            criterion=c,
            start=start,
            end=end,
            text=doc.text[start:end],
            cues=cues,
            secondary=[s for s in secondary if s.id != c.id],
            severity=c.severity,
        )
        if c.category == "terminology":
            d.confidence = self._term_confidence(doc, ctx)
        return d

    def _anchor(self, c, trigger: Hit, tset: str, keys, live, doc) -> tuple[int, int]:
        """The words that make the unit a problem: the race mention joined to the
        nearest cue that makes it a claim (a coefficient, a rule, "risk factor"),
        never a tool name alone when a race term is there."""
        center: Hit = trigger
        if c.category != "terminology" and live:
            if tset == "race_mention":
                center = trigger
            else:
                center = min(live, key=lambda m: _distance(m, keys or [trigger]))
            center = _grow(center, live, doc)
            if keys:
                best = min(keys, key=lambda k: _distance(center, [k]))
                window = _ANCHOR_WINDOW.get(c.category, _ANCHOR_WINDOW["default"])
                lo, hi = sorted((center, best), key=_start)
                between = {t.text for t in doc[lo.end : hi.start]}
                if _distance(center, [best]) <= window and (
                    c.category == "algorithm" or not between & _CLAUSE_BREAK
                ):
                    return _tidy(doc, lo, center, best)
        elif c.category != "terminology" and keys and tset == "criterion":
            # a tool fired without a race word: point at the race-carrying part
            best = keys[0]
            return best.start_char, best.end_char
        return center.start_char, center.end_char

    def _confidence(
        self, c, d: Decided, live, doc, ctx, inferred, conscious_frame, default_used
    ) -> str:
        text = doc.text
        doubts = 0
        if "?" in text:
            doubts += 1
        if _HEDGE.search(text):
            doubts += 1
        strong = any(
            m.rule == "race/ethnicity term" and m.text.lower() not in GENERIC_TERMS
            for m in live
        )
        if conscious_frame or default_used:
            return "possible"
        if not live:
            # a tool that carries race without naming it
            return "likely" if c.requires_any and not inferred else "possible"
        if inferred:
            return "likely" if strong and not doubts else "possible"
        if strong and not doubts:
            return "certain"
        return "likely" if doubts < 2 else "possible"

    def _term_confidence(self, doc, ctx) -> str:
        if "?" in doc.text or '"' in doc.text or "“" in doc.text:
            return "likely"
        return "certain"


_LIST_BREAK = frozenset(
    {";", ":", ".", "but", "while", "whereas", "although", "though"}
)


def _grow(center: Hit, live, doc) -> Hit:
    """``center`` widened over the mentions that touch it: "non-Hispanic" + "Black
    adults" is one group name."""
    changed = True
    while changed:
        changed = False
        for m in live:
            if m.start <= center.end and m.end > center.end and m.start >= center.start:
                end = doc[m.end - 1].idx + len(doc[m.end - 1])
                center = Hit(
                    center.start,
                    m.end,
                    center.start_char,
                    end,
                    doc.text[center.start_char : end],
                    center.rule,
                )
                changed = True
    return center


def _same_list(doc, a: Hit, b: Hit, window: int = 7) -> bool:
    """``b`` follows ``a`` within a few words of one list ("equally between men,
    women, and races")."""
    if not (a.end <= b.start <= a.end + window):
        return False
    return not any(t.lower_ in _LIST_BREAK for t in doc[a.end : b.start])


def _start(h: Hit) -> int:
    return h.start


def _distance(m: Hit, others) -> int:
    best = 10**6
    for o in others:
        if _overlaps(m, o):
            return 0
        gap = o.start - m.end if o.start >= m.end else m.start - o.end
        best = min(best, gap)
    return best


def _tidy(doc, first: Hit, a: Hit, b: Hit) -> tuple[int, int]:
    """Character span covering ``a`` and ``b``, with a leading operator (x, ×) and
    balanced brackets ("× 1.212 (if Black)")."""
    s = min(a.start_char, b.start_char)
    e = max(a.end_char, b.end_char)
    text = doc.text
    t = first.start
    if t > 0 and doc[t - 1].text in ("×", "x", "*", "X"):
        s = doc[t - 1].idx
    if text.count("(", s, e) > text.count(")", s, e):
        close = text.find(")", e, e + 3)
        if close != -1:
            e = close + 1
    return s, e
