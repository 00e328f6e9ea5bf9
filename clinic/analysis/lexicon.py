"""Compile the rubric's vocabulary sets and criterion triggers into spaCy matchers.

A :class:`CompiledRubric` runs every lexicon set and every criterion trigger over a
(short, sentence-sized) ``Doc`` in one pass and returns hits keyed by name.  It also
builds the cheap word pre-filter used to skip sentences with no possible trigger.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import spacy
from spacy.errors import MatchPatternError
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

from .rubric import Rubric, RubricError

#: Word shape used by the pre-filter (text is lower-cased first).
WORD_RE = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
MENTION_SETS = ("race_strong", "race_weak", "race_colour")
#: words of multi-word race phrases too common to gate on ("people of color")
_LOOSE_STOP = frozenset(
    {"of", "the", "and", "in", "non", "people", "persons", "women", "men", "color",
     "colour", "communities", "american", "americans", "origin", "descent", "ancestry"}
)  # fmt: skip
#: What spaCy raises for a bad token pattern.
PATTERN_ERRORS = (MatchPatternError, ValueError, KeyError, TypeError)


def blank_english():
    """``spacy.blank("en")`` with a tokenizer that also splits note shorthand:
    "Japanese/ African/", "@white", "ethnicity==1", "x <- 1.08"."""
    from spacy.util import (
        compile_infix_regex,
        compile_prefix_regex,
        compile_suffix_regex,
    )

    nlp = spacy.blank("en")
    defaults = nlp.Defaults
    nlp.tokenizer.prefix_search = compile_prefix_regex(
        [r"@", r"/", r"=", r"~", r"\+", r"%"] + list(defaults.prefixes)
    ).search
    nlp.tokenizer.suffix_search = compile_suffix_regex(
        [r"/", r"=", r"@"] + list(defaults.suffixes)
    ).search
    nlp.tokenizer.infix_finditer = compile_infix_regex(
        [r"==", r"!=", r"<-", r"(?<=[A-Za-z])\[", r"(?<=[A-Za-z])\$", r"(?<=\w)/(?=\w)"]
        + list(defaults.infixes)
    ).finditer
    return nlp


@lru_cache(maxsize=1)
def _blank():
    return blank_english()


@lru_cache(maxsize=1)
def blank_vocab() -> Vocab:
    """A shared bare vocab, to validate token patterns (an English pipeline would
    cost 0.2 s to build, and pattern checks need none of it)."""
    return Vocab()


def stem(text: str) -> str | None:
    """First pre-filter word of a phrase (lower-cased), or None."""
    words = WORD_RE.findall(text.lower())
    return words[0] if words else None


def gate_word(text: str) -> str | None:
    """Most selective (longest) pre-filter word of a phrase, or None."""
    words = WORD_RE.findall(text.lower())
    return max(words, key=len) if words else None


#: an abbreviation written in capitals ("AA", "AAs", "ATSI") matches only in capitals
_ABBREVIATION = re.compile(r"^[A-Z]{2,5}s?$")
_MENTION_KEYS = frozenset(f"set:{m}" for m in MENTION_SETS)
_PLURAL_LAST = re.compile(r"^(.*?)([A-Za-z]{3,})$")


def plural(phrase: str) -> str | None:
    """The phrase with its last word in the plural ("risk multiplier" ->
    "risk multipliers"), or None when the last word is not a plain word."""
    m = _PLURAL_LAST.match(phrase)
    if not m:
        return None
    head, word = m.groups()
    low = word.lower()
    if (
        low.endswith(("s", "ed", "ing", "ly", "ic", "al", "ous"))
        or word.isupper()
        and len(word) > 4
    ):
        return None
    if low.endswith(("ch", "sh", "x", "z")):
        return f"{head}{word}es"
    if low.endswith("y") and low[-2] not in "aeiou":
        return f"{head}{word[:-1]}ies"
    return f"{head}{word}s"


def with_plurals(phrases) -> tuple[str, ...]:
    """``phrases`` plus the plural of each, so that a list needs only one form."""
    out = dict.fromkeys(phrases)
    for p in phrases:
        q = plural(p)
        if q:
            out.setdefault(q)
    return tuple(out)


def _token_values(tok: dict) -> list[str]:
    for key in ("LOWER", "ORTH", "TEXT", "NORM"):
        val = tok.get(key)
        if isinstance(val, str):
            return [val]
        if isinstance(val, dict) and isinstance(val.get("IN"), list):
            return [v for v in val["IN"] if isinstance(v, str)]
    return []


def _pattern_gate(pattern) -> tuple[frozenset[str], ...] | None:
    """One word set per required literal token: text matched by the pattern contains
    a word from each set (None: the pattern has no required literal token)."""
    out = []
    for tok in pattern:
        if tok.get("OP") not in (None, "!", "+", "1"):
            continue
        words = frozenset(w for v in _token_values(tok) if (w := stem(v)))
        if words:
            out.append(words)
    return tuple(out) or None


def _substring_gate(pattern) -> tuple[str, ...] | None:
    """Lower-cased strings one of which any text the pattern matches contains: the
    values of its most selective required literal token (None: no such token)."""
    best: tuple[str, ...] | None = None
    for tok in pattern if isinstance(pattern, (list, tuple)) else ():
        if not isinstance(tok, Mapping) or tok.get("OP") not in (None, "+"):
            continue
        for key in (
            "LOWER",
            "ORTH",
            "TEXT",
        ):  # not NORM: a norm need not be in the text
            val = tok.get(key)
            if isinstance(val, str):
                vals = [val]
            elif isinstance(val, Mapping) and isinstance(val.get("IN"), (list, tuple)):
                vals = val["IN"]
            else:
                continue
            if vals and all(isinstance(v, str) and v for v in vals):
                cand = tuple(sorted({v.lower() for v in vals}))
                if best is None or min(map(len, cand)) > min(map(len, best)):
                    best = cand
            break
    # a string of one or two letters ("he", "m") is in almost any text: not worth
    # a matcher of its own
    return best if best is not None and min(map(len, best)) >= 3 else None


def _pattern_literals(pattern) -> set[str]:
    words: set[str] = set()
    for tok in pattern:
        for key in ("LOWER", "ORTH", "TEXT", "NORM"):
            val = tok.get(key)
            vals: list = []
            if isinstance(val, str):
                vals = [val]
            elif isinstance(val, dict) and isinstance(val.get("IN"), list):
                vals = [v for v in val["IN"] if isinstance(v, str)]
            for v in vals:
                s = stem(v)
                if s:
                    words.add(s)
    return words


def _by_first(alts) -> tuple:
    """Alternatives grouped by their first element, which is tested once per group."""
    groups: dict = {}
    for alt in alts:
        groups.setdefault(alt[0], []).append(alt[1:])
    return tuple((first, tuple(rests)) for first, rests in groups.items())


def _part_ok(groups, words: set[str], text: str) -> bool:
    for first, rests in groups:
        if isinstance(first, frozenset):
            if first.isdisjoint(words):
                continue
        elif first.search(text) is None:
            continue
        for rest in rests:
            if _alt_ok(rest, words, text):
                return True
    return False


def _alt_ok(alt, words: set[str], text: str) -> bool:
    for g in alt:
        if isinstance(g, frozenset):
            if g.isdisjoint(words):
                return False
        elif g.search(text) is None:
            return False
    return True


@dataclass(frozen=True)
class CodeGate:
    """Cheap test for calculator code that holds a race variable."""

    syntax: re.Pattern
    race: re.Pattern
    #: the ``code_race`` set's ``hints``: text with none of them holds no race variable
    hints: tuple[str, ...] = ()

    def search(self, text: str, low: str | None = None) -> bool:
        """``low`` is ``text`` lower-cased, when the caller has it already."""
        if self.hints:
            low = text.lower() if low is None else low
            if not any(h in low for h in self.hints):
                return False
        return (
            self.race.search(text) is not None and self.syntax.search(text) is not None
        )


@dataclass(frozen=True)
class LooseGate:
    """Does a short unit or a list item name a race word at all (no cue needed)?

    One-word race phrases gate on their word; longer ones ("First Nations") on all
    of their words. Words inside a fixed non-race phrase ("white matter", "familial
    Mediterranean fever") do not count.
    """

    single: frozenset[str] = frozenset()
    multi: dict[str, tuple[frozenset[str], ...]] = field(default_factory=dict)
    #: per race word, the fixed non-race phrases that contain it
    homonyms: dict[str, tuple[tuple[str, ...], re.Pattern]] = field(
        default_factory=dict
    )

    def read(self, low: str, tokens: list[str]) -> tuple[str, set[str], set[str], bool]:
        """One pass over a lower-cased unit and its ``WORD_RE`` tokens.

        Returns the unit's word set, the text and word set without the fixed
        non-race phrases ("white matter"), and whether a race word is named
        outside such phrases (see :meth:`hit`).
        """
        words = set(tokens)
        found = self.single.intersection(words)
        if not found:
            return low, words, words, self._multi_hit(words)
        glow, gwords = low, words
        counts = None
        for w in found.intersection(self.homonyms):
            literal, rx = self.homonyms[w]
            if not any(p in glow for p in literal):
                continue
            pieces: list[str] = []
            last = 0
            for m in rx.finditer(glow):
                if counts is None:
                    counts = Counter(tokens)
                counts.subtract(WORD_RE.findall(m.group()))
                pieces.append(glow[last : m.start()])
                last = m.end()
            if pieces:
                pieces.append(glow[last:])
                # the phrases end at word boundaries: the other tokens are unchanged
                glow = " ".join(pieces)
        if counts is not None:
            gwords = {t for t, n in counts.items() if n > 0}
        return glow, gwords, words, not found.isdisjoint(gwords)

    def clean(self, low: str, words: set[str]) -> tuple[str, set[str]]:
        """``low`` and ``words`` without the fixed non-race phrases (white matter)."""
        glow, gwords, _, _ = self.read(low, WORD_RE.findall(low))
        return glow, gwords

    def hit(self, low: str, words: set[str]) -> bool:
        """``low`` is the lower-cased unit and ``words`` its word set."""
        return self.read(low, WORD_RE.findall(low))[3]

    def _multi_hit(self, words: set[str]) -> bool:
        return any(
            phrase <= words
            for w in words.intersection(self.multi)
            for phrase in self.multi[w]
        )


def _loose_gate(rubric: Rubric) -> LooseGate:
    single: set[str] = set()
    multi: dict[str, list[frozenset[str]]] = {}
    for m in MENTION_SETS:
        for p in rubric.lexicon[m].phrases:
            words = [
                w
                for w in WORD_RE.findall(p.lower())
                if len(w) > 1 and w not in _LOOSE_STOP
            ]
            if len(words) == 1:
                single.add(words[0])
            elif words:
                phrase = frozenset(words)
                for w in phrase:
                    multi.setdefault(w, []).append(phrase)
    by_word: dict[str, list[str]] = {}
    if "race_homonyms" in rubric.lexicon:
        for p in rubric.lexicon["race_homonyms"].phrases:
            for w in set(WORD_RE.findall(p.lower())) & single:
                by_word.setdefault(w, []).append(p)
    homonyms = {
        w: (
            tuple(" ".join(p.lower().split()) for p in phrases),
            re.compile(
                r"(?<!\w)(?:"
                + "|".join(
                    r"[\s-]+".join(map(re.escape, p.lower().split()))
                    for p in sorted(phrases, key=len, reverse=True)
                )
                + r")(?!\w)"
            ),
        )
        for w, phrases in by_word.items()
    }
    return LooseGate(
        frozenset(single), {w: tuple(v) for w, v in multi.items()}, homonyms
    )


@dataclass
class Hit:
    """One match: token and character offsets within the doc, plus the rule."""

    start: int
    end: int
    start_char: int
    end_char: int
    text: str
    rule: str


@dataclass
class CompiledRubric:
    """Matchers for all lexicon sets and criterion triggers of one rubric."""

    rubric: Rubric
    nlp: object
    lower_pm: PhraseMatcher
    orth_pm: PhraseMatcher
    #: token-pattern matchers, each with the strings one of which its text must hold
    matchers: tuple[tuple[tuple[str, ...] | None, Matcher], ...]
    regexes: list[tuple[str, re.Pattern]] = field(default_factory=list)
    prefilter: frozenset[str] = frozenset()
    gates: list[tuple] = field(default_factory=list)
    #: per lexicon set, the pre-filter words its matches must contain (first words)
    set_words: dict[str, frozenset[str]] = field(default_factory=dict)
    #: per lexicon set with ``terms``: token key ("sickle cell anemia") -> canonical name
    canonical: dict[str, dict[str, str]] = field(default_factory=dict)
    #: lower-case race phrases of the mention sets (for plural handling)
    race_vocabulary: frozenset[str] = frozenset()
    #: plural nationality and region words ("filipinos", "italians"), lower case
    nationality_plurals: frozenset[str] = frozenset()
    #: race words of the mention sets: a short unit or a list item with one is analysed
    loose: LooseGate = field(default_factory=LooseGate)
    #: code syntax and a race variable (``code_syntax`` + ``code_race`` sets), or None
    code_race: CodeGate | None = None
    #: expansions of AA that are not about race ("aplastic anaemia (AA)"), or None
    aa_homonym_pattern: re.Pattern | None = None
    _gate_cache: tuple | None = None
    #: per mask of word-decided gate parts, its :meth:`_plan` (bounded)
    _plans: dict = field(default_factory=dict, repr=False)

    def match(self, doc: Doc) -> dict[str, list[Hit]]:
        """All hits in ``doc`` keyed by ``set:<name>`` or ``crit:<id>``."""
        hits: dict[str, list[Hit]] = {}
        strings = doc.vocab.strings
        for pm in (self.lower_pm, self.orth_pm):
            for key_id, s, e in pm(doc):
                key = strings[key_id]
                span = doc[s:e]
                hits.setdefault(key, []).append(
                    Hit(s, e, span.start_char, span.end_char, span.text, "phrase")
                )
        low = doc.text.lower()
        for gate, matcher in self.matchers:
            if gate is not None and not any(g in low for g in gate):
                continue
            for key_id, s, e in matcher(doc):
                key = strings[key_id]
                span = doc[s:e]
                hits.setdefault(key, []).append(
                    Hit(s, e, span.start_char, span.end_char, span.text, "pattern")
                )
        if self.regexes:
            text = doc.text
            for key, rx in self.regexes:
                for m in rx.finditer(text):
                    span = doc.char_span(m.start(), m.end(), alignment_mode="expand")
                    if span is None:
                        continue
                    hits.setdefault(key, []).append(
                        Hit(
                            span.start,
                            span.end,
                            m.start(),
                            m.end(),
                            m.group(0),
                            "regex",
                        )
                    )
        for lst in hits.values():
            lst.sort(key=lambda h: (h.start_char, -h.end_char))
        return hits

    def may_trigger(self, lowered_text: str) -> bool:
        """Cheap test: does the (lower-cased) text contain any trigger word?"""
        return not self.prefilter.isdisjoint(WORD_RE.findall(lowered_text))

    def may_fire(self, lowered_text: str, words: set[str] | None = None) -> bool:
        """Cheap necessary condition for any criterion to fire on this text.

        Each criterion needs a word of its trigger, of every ``requires_all`` set and
        of one ``requires_any`` set (``None`` = cannot be decided from words).
        """
        if words is None:
            words = set(WORD_RE.findall(lowered_text))
        if self.prefilter.isdisjoint(words):
            return False
        _, _, _, index, index_keys, always = self._compiled_gates()
        mask = always
        for w in index_keys.intersection(words):
            mask |= index[w]
        plan = self._plans.get(mask)
        if plan is None:
            if len(self._plans) >= 4096:
                self._plans.clear()
            plan = self._plans[mask] = self._plan(mask)
        if plan is True:
            return True
        held: dict[int, bool] = {}
        for needs in plan:
            for bit, groups in needs:
                ok = held.get(bit)
                if ok is None:
                    ok = held[bit] = _part_ok(groups, words, lowered_text)
                if not ok:
                    break
            else:
                return True
        return False

    def _plan(self, mask: int):
        """For the word-decided parts ``mask``: True when some criterion's parts all
        hold, else per criterion that still can, the multi-word parts it needs."""
        multi_parts, rows, multi_bits, _, _, _ = self._compiled_gates()
        plan: dict[int, tuple] = {}
        for req in rows:
            missing = req & ~mask
            if not missing:
                return True
            if missing & ~multi_bits or missing in plan:
                continue  # some part cannot hold
            plan[missing] = tuple((b, m) for b, m in multi_parts if missing & b)
        return tuple(plan.values())

    def _compiled_gates(self):
        """Distinct gate parts as (bit, flat word set, multi alternatives) and, per
        criterion, the bit mask of parts that must all hold."""
        if self._gate_cache is None:
            ids: dict = {}
            parts = []
            rows: set[int] = set()
            for gate in self.gates:
                req = 0
                for part in gate:
                    if part is None:
                        continue
                    single = [
                        a[0]
                        for a in part
                        if len(a) == 1 and isinstance(a[0], frozenset)
                    ]
                    flat = frozenset().union(*single)
                    multi = tuple(
                        a for a in part if len(a) > 1 or not isinstance(a[0], frozenset)
                    )
                    key = (flat, multi)
                    if key not in ids:
                        ids[key] = 1 << len(ids)
                        parts.append((ids[key], flat, multi))
                    req |= ids[key]
                rows.add(req)
            multi_bits = 0
            for bit, _, multi in parts:
                if multi:
                    multi_bits |= bit
            index: dict[str, int] = {}
            always = 0
            for bit, flat, _ in parts:
                if flat is None:
                    always |= bit
                    continue
                for w in flat:
                    index[w] = index.get(w, 0) | bit
            self._gate_cache = (
                [(bit, _by_first(multi)) for bit, _, multi in parts if multi],
                sorted(rows),
                multi_bits,
                index,
                frozenset(index),
                always,
            )
        return self._gate_cache


def compile_rubric(rubric: Rubric, nlp=None) -> CompiledRubric:
    """Build matchers for ``rubric``; raise :class:`RubricError` on bad patterns."""
    nlp = nlp or blank_english()
    errors: list[str] = []
    lower_pm = PhraseMatcher(nlp.vocab, attr="LOWER")
    orth_pm = PhraseMatcher(nlp.vocab, attr="ORTH")
    # token patterns grouped by the strings their text must contain: a group runs
    # only on text that holds one of them (token patterns are the slow part)
    matchers: dict[tuple[str, ...] | None, Matcher] = {}
    regexes: list[tuple[str, re.Pattern]] = []
    literals: dict[str, set[str]] = {}

    def add(key, phrases, patterns, rx, case_sensitive, where):
        words: set[str] = set()
        phrases = with_plurals(phrases)
        if phrases:
            caps = [
                p
                for p in phrases
                if key in _MENTION_KEYS
                and not case_sensitive
                and _ABBREVIATION.match(p)
            ]
            rest = [p for p in phrases if p not in caps]
            if rest:
                (orth_pm if case_sensitive else lower_pm).add(
                    key, [nlp.make_doc(p) for p in rest]
                )
            if caps:
                orth_pm.add(key, [nlp.make_doc(p) for p in caps])
            for p in phrases:
                s = stem(p)
                if s:
                    words.add(s)
        for i, pat in enumerate(patterns):
            gate = _substring_gate(pat)
            if gate not in matchers:
                matchers[gate] = Matcher(nlp.vocab, validate=True)
            try:
                matchers[gate].add(key, [list(pat)])
            except PATTERN_ERRORS as exc:
                msg = " ".join(str(exc).split())[:300]
                errors.append(
                    f"{where}: patterns[{i}] is not a valid spaCy pattern: {msg}"
                )
            lit = _pattern_literals(pat)
            if not lit:
                lit = {"\0no-literal"}
            words |= lit
        for r in rx:
            flags = 0 if case_sensitive else re.IGNORECASE
            regexes.append((key, re.compile(r, flags)))
        literals[key] = words

    # a nationality or region word in the plural names people ("Italians, Greeks")
    weak_plurals = (
        tuple(q for p in rubric.lexicon["race_weak"].phrases if (q := plural(p)))
        if "race_weak" in rubric.lexicon
        else ()
    )
    for s in rubric.lexicon.values():
        extra = weak_plurals if s.name == "race_strong" else ()
        add(
            f"set:{s.name}",
            s.phrases + extra,
            s.patterns,
            s.regex,
            s.case_sensitive,
            f"{s.source_file}: set {s.name}",
        )
    for c in rubric.criteria.values():
        t = c.trigger
        if t.phrases or t.patterns:
            add(
                f"crit:{c.id}",
                t.phrases,
                t.patterns,
                (),
                t.case_sensitive,
                f"{c.source_file}: {c.id}",
            )

    # Gates: a "part" is a list of alternatives; an alternative is a tuple of word
    # sets that must all occur; None means "cannot be decided from words".
    # words too frequent to gate on alone (colour/nationality words, short function words)
    avoid = {
        "non",
        "blood",
        "cell",
        "risk",
        "more",
        "less",
        "the",
        "of",
        "in",
        "a",
        "to",
        "and",
    }
    avoid |= {"people", "patients", "patient", "population", "women", "men", "children"}
    for p in (
        rubric.lexicon["race_colour"].phrases if "race_colour" in rubric.lexicon else ()
    ):
        avoid.update(WORD_RE.findall(p.lower()))

    def gate_of(phrases, patterns, rx) -> list | None:
        if rx:
            return None
        alts: list = []
        flat: set[str] = set()
        for p in phrases:
            words = WORD_RE.findall(p.lower())
            if not words:  # a symbol such as "→": look for the symbol itself
                alts.append((re.compile(re.escape(p.lower())),))
                continue
            rare = [w for w in words if w not in avoid]
            if rare:
                flat.add(max(rare, key=len))
            elif len(words) == 1:
                flat.add(words[0])
            elif words:
                alts.append(tuple(frozenset({w}) for w in dict.fromkeys(words)))
        if flat:
            alts.append((frozenset(flat),))
        for pat in patterns:
            pg = _pattern_gate(pat)
            if pg is None:
                return None
            alts.append(pg)
        return alts

    set_gates: dict[str, list | None] = {
        s.name: gate_of(s.phrases, s.patterns, s.regex) for s in rubric.lexicon.values()
    }
    # a weak/colour word is a mention only next to a population noun, after "non-",
    # or as a predicate after a copula ("she is white", "if Black")
    strong_alts = set_gates["race_strong"] or []
    weak = frozenset(
        w
        for m in ("race_weak", "race_colour")
        for p in rubric.lexicon[m].phrases
        for w in WORD_RE.findall(p.lower())
    )
    pop_alts = set_gates["population_nouns"] or []
    pop = frozenset(
        w for alt in pop_alts if isinstance(alt[0], frozenset) for w in alt[0]
    )
    pop_symbols = [alt for alt in pop_alts if not isinstance(alt[0], frozenset)]
    copula = rubric.lexicon["copula_cues"].phrases
    copula_rx = re.compile(
        r"\b(?:"
        + "|".join(re.escape(c.lower()) for c in sorted(copula, key=len, reverse=True))
        + r")\W+(?:not\W+)?(?:"
        + "|".join(re.escape(w) for w in sorted(weak, key=len, reverse=True))
        + r")\b"
    )
    set_gates["race_mention"] = strong_alts + [
        (weak, pop),
        (weak, frozenset({"non"})),
        (weak, copula_rx),
    ]
    set_gates["race_mention"] += [(weak, *alt) for alt in pop_symbols]  # "Black ♀"

    def union(names) -> list | None:
        alts: list = []
        for nm in names:
            g = set_gates.get(nm)
            if g is None:
                return None
            alts += g
        return alts

    # criteria with the same trigger and requires_all share one gate whose last part
    # is the union of their requires_any sets (A&B1 | A&B2 == A&(B1|B2))
    grouped: dict[tuple, list | None] = {}
    for c in rubric.criteria.values():
        trig = union(c.trigger.sets)
        if trig is not None and (c.trigger.phrases or c.trigger.patterns):
            own = gate_of(c.trigger.phrases, c.trigger.patterns, ())
            trig = None if own is None else trig + own
        key = (repr(trig), tuple(c.requires_all))
        anyp = union(c.requires_any) if c.requires_any else None
        if key in grouped:
            prev = grouped[key][1]
            merged = None if prev is None or anyp is None else prev + anyp
            grouped[key] = (grouped[key][0], merged)
        else:
            base = [trig] + [union([r]) for r in c.requires_all]
            grouped[key] = (base, anyp)
    gates = [
        tuple(base + ([anyp] if anyp is not None else []))
        for base, anyp in grouped.values()
    ]

    prefilter: set[str] = set()
    for c in rubric.criteria.values():
        where = f"{c.source_file}: {c.id}"
        keys = []
        for sname in c.trigger.sets:
            if sname == "race_mention":
                keys += [f"set:{m}" for m in MENTION_SETS]
            else:
                keys.append(f"set:{sname}")
                if rubric.lexicon[sname].regex:
                    errors.append(
                        f"{where}: trigger set '{sname}' uses regex; trigger sets may only "
                        "use phrases and token patterns (the pre-filter needs literal words)"
                    )
        if c.trigger.phrases or c.trigger.patterns:
            keys.append(f"crit:{c.id}")
        for k in keys:
            words = literals.get(k, set())
            if "\0no-literal" in words:
                errors.append(
                    f"{where}: a trigger pattern needs at least one literal word "
                    "(LOWER/ORTH/TEXT) so that the pre-filter can find it"
                )
            prefilter |= words - {"\0no-literal"}
    if errors:
        raise RubricError(errors)
    canonical: dict[str, dict[str, str]] = {}
    for s in rubric.lexicon.values():
        if s.terms:
            canonical[s.name] = {
                " ".join(t.lower_ for t in nlp.make_doc(p)): canon
                for canon, syns in s.terms
                for p in (canon, *syns)
            }
    race_vocabulary = frozenset(
        " ".join(p.lower().replace("-", " ").split())
        for m in MENTION_SETS
        for p in rubric.lexicon[m].phrases
    )
    code_race = None
    lex = rubric.lexicon
    if "code_syntax" in lex and "code_race" in lex:
        syn = "|".join(f"(?:{r})" for r in lex["code_syntax"].regex)
        race = "|".join(f"(?:{r})" for r in lex["code_race"].regex)
        if syn and race:
            flags = 0 if lex["code_race"].case_sensitive else re.IGNORECASE
            code_race = CodeGate(
                re.compile(syn, re.MULTILINE),
                re.compile(race, flags),
                lex["code_race"].hints,
            )
    aa = None
    if "aa_homonym_cues" in lex and lex["aa_homonym_cues"].phrases:
        aa = re.compile(
            r"(?<!\w)(?:"
            + "|".join(
                r"\s+".join(map(re.escape, p.split()))
                for p in lex["aa_homonym_cues"].phrases
            )
            + r")(?!\w)",
            re.IGNORECASE,
        )
    return CompiledRubric(
        rubric=rubric,
        nlp=nlp,
        lower_pm=lower_pm,
        orth_pm=orth_pm,
        matchers=tuple((gate, m) for gate, m in matchers.items() if len(m)),
        regexes=regexes,
        prefilter=frozenset(prefilter),
        gates=gates,
        set_words={
            s.name: frozenset(literals.get(f"set:{s.name}", ()))
            for s in rubric.lexicon.values()
        },
        canonical=canonical,
        race_vocabulary=race_vocabulary,
        loose=_loose_gate(rubric),
        nationality_plurals=frozenset(
            " ".join(t.lower_ for t in nlp.make_doc(q)) for q in weak_plurals
        )
        | frozenset(q.lower() for q in weak_plurals),
        code_race=code_race,
        aa_homonym_pattern=aa,
    )
