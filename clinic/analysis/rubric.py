"""Load and validate the YAML rubric (criteria, lexicon, glossary, pedagogy).

The rubric lives in a directory (default: the project's ``rubrics/``):

* ``rubric.yaml``      human version string and title
* ``glossary.yaml``    Common Language glossary (``terms:``)
* ``pedagogy.yaml``    coach-scored criteria (``manual_criteria:``)
* any other ``*.yaml`` text criteria (``criteria:``)
* ``lexicon/*.yaml``   named vocabulary sets (``sets:``) used by the criteria

Every problem found is reported as ``"<file>: <criterion>: <problem>"``.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DEFAULT_RUBRIC_DIR = Path(__file__).resolve().parents[2] / "rubrics"

CATEGORIES = (
    "algorithm",
    "treatment",
    "risk",
    "diagnosis",
    "biology",
    "terminology",
    "culture",
    "skin-tone",
)
SEVERITIES = ("high", "medium", "low")
MIN_EXAMPLES = 3

#: Cue sets computed by the engine itself rather than listed in the lexicon.
BUILTIN_SETS = {
    "race_mention": "race, ethnicity or ancestry mention after sense disambiguation",
    "race_arrow": "an arrow from a race mention to a diagnosis ('young Asian female -> lupus')",
}
#: Lexicon sets the mention detector needs (see rubrics/README.md).
REQUIRED_SETS = (
    "race_strong",
    "race_weak",
    "race_colour",
    "race_homonyms",
    "population_nouns",
    "mention_links",
    "copula_cues",
    "predicate_subjects",
)

_TEXT_KEYS = {
    "id",
    "title",
    "category",
    "severity",
    "explanation",
    "recommendation",
    "references",
    "replacement",
    "limitation",
    "glossary",
    "trigger",
    "requires_any",
    "requires_all",
    "suppress",
    "group",
    "fallback",
    "examples",
    "notes",
}
_TEXT_REQUIRED = (
    "id",
    "title",
    "category",
    "severity",
    "explanation",
    "recommendation",
    "references",
    "trigger",
    "examples",
)
_TRIGGER_KEYS = {"sets", "phrases", "patterns", "case_sensitive"}
_REPLACEMENT_KEYS = {"name", "year", "citation", "url", "status"}
_REF_KEYS = {"citation", "url"}
_MANUAL_KEYS = {
    "id",
    "title",
    "question",
    "guidance",
    "references",
    "glossary",
    "notes",
}
_MANUAL_REQUIRED = ("id", "title", "question", "guidance", "references")
_TERM_KEYS = {"id", "term", "definition", "sources", "see_also", "usage"}
_TERM_REQUIRED = ("id", "term", "definition", "sources")
_SET_KEYS = {
    "description",
    "phrases",
    "patterns",
    "regex",
    "case_sensitive",
    "terms",
    "hints",
}
_RUBRIC_FILE_KEYS = {"version", "title", "description", "owner", "updated"}
_ID_RE = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")
_TERM_ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_SET_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class RubricError(Exception):
    """Raised when the rubric is invalid; ``errors`` lists every problem."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        head = f"invalid rubric ({len(self.errors)} error(s))"
        super().__init__(head + ":\n" + "\n".join(f"  - {e}" for e in self.errors))


@dataclass(frozen=True)
class Reference:
    citation: str
    url: str = ""


@dataclass(frozen=True)
class Replacement:
    name: str
    year: int | str
    citation: str
    url: str = ""
    status: str = ""


@dataclass(frozen=True)
class Trigger:
    sets: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    patterns: tuple[tuple[dict, ...], ...] = ()
    case_sensitive: bool = False


@dataclass(frozen=True)
class TextCriterion:
    """One automatically detected criterion (see rubrics/README.md)."""

    id: str
    title: str
    category: str
    severity: str
    explanation: str
    recommendation: str
    references: tuple[Reference, ...]
    trigger: Trigger
    examples_flag: tuple[str, ...]
    examples_pass: tuple[str, ...]
    replacement: Replacement | None = None
    limitation: str = ""
    glossary: tuple[str, ...] = ()
    requires_any: tuple[str, ...] = ()
    requires_all: tuple[str, ...] = ()
    suppress: tuple[str, ...] = ()
    group: str = ""
    fallback: bool = False
    notes: str = ""
    source_file: str = ""


@dataclass(frozen=True)
class ManualCriterion:
    """A coach-scored criterion (0-3 or N/A)."""

    id: str
    title: str
    question: str
    guidance: dict[int, str]
    references: tuple[Reference, ...]
    glossary: tuple[str, ...] = ()
    source_file: str = ""


@dataclass(frozen=True)
class GlossaryTerm:
    id: str
    term: str
    definition: str
    sources: tuple[Reference, ...]
    see_also: tuple[str, ...] = ()
    usage: str = ""


@dataclass(frozen=True)
class LexiconSet:
    """A named vocabulary set: phrases, spaCy token patterns and/or regexes.

    ``terms`` maps a canonical display name to its synonyms ("sickle cell disease":
    ["sickle cell anemia", "HbSS"]); the canonical names and synonyms are also in
    ``phrases``.
    """

    name: str
    description: str = ""
    phrases: tuple[str, ...] = ()
    patterns: tuple[tuple[dict, ...], ...] = ()
    regex: tuple[str, ...] = ()
    case_sensitive: bool = False
    source_file: str = ""
    terms: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: lower-case strings one of which every regex match contains (a cheap gate)
    hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class DecisionRules:
    """How the engine decides on a unit (``decisions.yaml``; see rubrics/README.md)."""

    #: cue set -> reason shown to the coach; any of them makes a unit race-conscious
    conscious: dict[str, str] = field(default_factory=dict)
    #: cue set -> criterion categories it does not make race-conscious
    conscious_exempt: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: criteria the race-conscious decision never cancels (the word is the problem)
    word_level: tuple[str, ...] = ()
    #: criteria that a heading or title only names as its topic (no finding there)
    topic_criteria: tuple[str, ...] = ()
    #: criteria reported once per document for the same words (a tool named again)
    once_per_document: tuple[str, ...] = ()
    #: cue sets whose race mentions are a null statement, not a claim
    null_sets: tuple[str, ...] = ()
    #: cue sets that mark a unit as not a teaching claim (reference entries)
    skip_sets: tuple[str, ...] = ()
    #: criterion for a race mention in a clinical unit that no criterion explains
    default_criterion: str = ""
    #: most specific criterion first; the first that fires is the finding
    priority: tuple[str, ...] = ()
    #: a heading or parent with one of these sets skips its scope (references)
    frame_skip: tuple[str, ...] = ()
    #: a heading or parent with one of these sets frames its scope as race-conscious
    frame_conscious: tuple[str, ...] = ()
    #: (cue set, criterion id): a frame with the set makes a bare mention that criterion
    frame_criteria: tuple[tuple[str, str], ...] = ()


@dataclass
class Rubric:
    """A validated rubric."""

    directory: Path
    version: str
    content_hash: str
    criteria: dict[str, TextCriterion]
    manual_criteria: dict[str, ManualCriterion]
    glossary: dict[str, GlossaryTerm]
    lexicon: dict[str, LexiconSet]
    title: str = ""
    files: list[str] = field(default_factory=list)
    decisions: DecisionRules = field(default_factory=DecisionRules)

    @property
    def version_id(self) -> str:
        """Human version plus content hash, e.g. ``2026.11+ab12cd34``."""
        return f"{self.version}+{self.content_hash}"


# --------------------------------------------------------------------------- loading


def rubric_files(directory: Path) -> list[Path]:
    """All YAML files that make up the rubric, in a stable order."""
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    lex = directory / "lexicon"
    if lex.is_dir():
        files += sorted(lex.glob("*.yaml")) + sorted(lex.glob("*.yml"))
    return files


def content_hash(directory: str | Path) -> str:
    """Short sha256 over the names and bytes of all rubric files."""
    directory = Path(directory)
    h = hashlib.sha256()
    for path in rubric_files(directory):
        h.update(path.relative_to(directory).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:8]


def _refs(raw: Any, where: str, errors: list[str], key: str = "references") -> tuple:
    out = []
    if not isinstance(raw, list) or not raw:
        errors.append(f"{where}: '{key}' must be a non-empty list of {{citation, url}}")
        return ()
    for i, ref in enumerate(raw):
        if not isinstance(ref, dict):
            errors.append(
                f"{where}: {key}[{i}] must be a mapping with citation and url"
            )
            continue
        unknown = set(ref) - _REF_KEYS
        if unknown:
            errors.append(f"{where}: {key}[{i}] has unknown key(s) {sorted(unknown)}")
        if not isinstance(ref.get("citation"), str) or not ref.get("citation"):
            errors.append(f"{where}: {key}[{i}] is missing 'citation'")
            continue
        url = ref.get("url", "")
        if url and not str(url).startswith(("http://", "https://")):
            errors.append(f"{where}: {key}[{i}] url must start with http(s)://")
        out.append(Reference(ref["citation"], str(url or "")))
    return tuple(out)


def _str_list(raw: Any, where: str, key: str, errors: list[str]) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        errors.append(f"{where}: '{key}' must be a list of non-empty strings")
        return ()
    return tuple(raw)


def _patterns(raw: Any, where: str, key: str, errors: list[str]) -> tuple:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        errors.append(f"{where}: '{key}' must be a list of spaCy token patterns")
        return ()
    out = []
    for i, pat in enumerate(raw):
        if (
            not isinstance(pat, list)
            or not pat
            or not all(isinstance(t, dict) for t in pat)
        ):
            errors.append(
                f"{where}: {key}[{i}] must be a non-empty list of token dicts"
            )
            continue
        out.append(tuple(pat))
    return tuple(out)


def _check_patterns(patterns, where: str, key: str, errors: list[str]) -> None:
    """Compile token patterns with ``Matcher(validate=True)``."""
    if not patterns:
        return
    from spacy.matcher import Matcher

    from .lexicon import PATTERN_ERRORS, blank_vocab

    matcher = Matcher(blank_vocab(), validate=True)
    for i, pat in enumerate(patterns):
        try:
            matcher.add(f"p{i}", [list(pat)])
        except PATTERN_ERRORS as exc:
            msg = " ".join(str(exc).split())
            errors.append(
                f"{where}: {key}[{i}] is not a valid spaCy pattern: {msg[:300]}"
            )


def _load_yaml(path: Path, rel: str, errors: list[str]) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        msg = " ".join(str(exc).split())
        errors.append(f"{rel}: (file): cannot be read as YAML: {msg[:300]}")
        return None


def _parse_lexicon(data: Any, rel: str, errors: list[str], out: dict) -> None:
    if not isinstance(data, dict) or set(data) - {"sets", "description"}:
        errors.append(
            f"{rel}: (file): a lexicon file needs a top-level 'sets:' mapping only"
        )
        return
    sets = data.get("sets")
    if not isinstance(sets, dict):
        errors.append(f"{rel}: (file): 'sets' must map set names to definitions")
        return
    for name, body in sets.items():
        where = f"{rel}: set {name}"
        if not isinstance(name, str) or not _SET_NAME_RE.match(name):
            errors.append(f"{where}: set names must be lowercase_with_underscores")
            continue
        if name in out:
            errors.append(
                f"{where}: duplicate set name (also in {out[name].source_file})"
            )
            continue
        if name in BUILTIN_SETS:
            errors.append(f"{where}: '{name}' is reserved for the engine")
            continue
        if not isinstance(body, dict):
            errors.append(f"{where}: must be a mapping with phrases/patterns/regex")
            continue
        unknown = set(body) - _SET_KEYS
        if unknown:
            errors.append(
                f"{where}: unknown key(s) {sorted(unknown)}; allowed {sorted(_SET_KEYS)}"
            )
        phrases = _str_list(body.get("phrases"), where, "phrases", errors)
        terms = _terms(body.get("terms"), where, errors)
        seen = set(phrases)
        extra = [p for c, syn in terms for p in (c, *syn) if p not in seen]
        phrases = phrases + tuple(dict.fromkeys(extra))
        patterns = _patterns(body.get("patterns"), where, "patterns", errors)
        _check_patterns(patterns, where, "patterns", errors)
        regexes = _str_list(body.get("regex"), where, "regex", errors)
        for i, rx in enumerate(regexes):
            try:
                re.compile(rx)
            except re.error as exc:
                errors.append(f"{where}: regex[{i}] does not compile: {exc}")
        if not (phrases or patterns or regexes):
            errors.append(
                f"{where}: needs at least one of phrases, terms, patterns, regex"
            )
        out[name] = LexiconSet(
            name=name,
            description=str(body.get("description", "")),
            phrases=phrases,
            patterns=patterns,
            regex=regexes,
            case_sensitive=bool(body.get("case_sensitive", False)),
            source_file=rel,
            terms=terms,
            hints=tuple(
                h.lower() for h in _str_list(body.get("hints"), where, "hints", errors)
            ),
        )


def _terms(raw: Any, where: str, errors: list[str]) -> tuple:
    """``terms:`` of a lexicon set: canonical name -> list of synonyms (may be empty)."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        errors.append(f"{where}: 'terms' must map canonical names to lists of synonyms")
        return ()
    out = []
    owner: dict[str, str] = {}
    for canon, syns in raw.items():
        if not isinstance(canon, str) or not canon.strip():
            errors.append(f"{where}: terms: canonical names must be non-empty text")
            continue
        if syns is None:
            syns = []
        if not isinstance(syns, list) or not all(
            isinstance(x, str) and x.strip() for x in syns
        ):
            errors.append(
                f"{where}: terms: '{canon}' must map to a list of non-empty synonyms"
            )
            continue
        for phrase in (canon, *syns):
            key = " ".join(phrase.lower().split())
            if key in owner and owner[key] != canon:
                errors.append(
                    f"{where}: terms: '{phrase}' is listed under both "
                    f"'{owner[key]}' and '{canon}'"
                )
            owner[key] = canon
        out.append((canon, tuple(syns)))
    return tuple(out)


def _parse_text_criterion(raw: Any, rel: str, idx: int, errors: list[str]):
    if not isinstance(raw, dict):
        errors.append(f"{rel}: criteria[{idx}]: must be a mapping")
        return None
    cid = raw.get("id")
    where = f"{rel}: {cid if isinstance(cid, str) else f'criteria[{idx}]'}"
    unknown = set(raw) - _TEXT_KEYS
    if unknown:
        errors.append(f"{where}: unknown key(s) {sorted(unknown)}")
    missing = [k for k in _TEXT_REQUIRED if raw.get(k) in (None, "", [], {})]
    for k in missing:
        errors.append(f"{where}: missing required field '{k}'")
    if missing:
        return None
    if not isinstance(cid, str) or not _ID_RE.match(cid):
        errors.append(f"{where}: id must look like RC-ALG-EGFR (upper case, hyphens)")
    for k in ("title", "explanation", "recommendation"):
        if not isinstance(raw[k], str):
            errors.append(f"{where}: '{k}' must be text")
    if raw["category"] not in CATEGORIES:
        errors.append(
            f"{where}: category '{raw['category']}' is not one of {list(CATEGORIES)}"
        )
    if raw["severity"] not in SEVERITIES:
        errors.append(
            f"{where}: severity '{raw['severity']}' is not one of {list(SEVERITIES)}"
        )
    refs = _refs(raw["references"], where, errors)

    replacement = None
    rep = raw.get("replacement")
    if rep is not None:
        if not isinstance(rep, dict):
            errors.append(
                f"{where}: 'replacement' must be a mapping (name, year, citation)"
            )
        else:
            unk = set(rep) - _REPLACEMENT_KEYS
            if unk:
                errors.append(f"{where}: replacement has unknown key(s) {sorted(unk)}")
            miss = [k for k in ("name", "year", "citation") if not rep.get(k)]
            for k in miss:
                errors.append(f"{where}: replacement is missing '{k}'")
            if not miss:
                replacement = Replacement(
                    str(rep["name"]),
                    rep["year"],
                    str(rep["citation"]),
                    str(rep.get("url", "")),
                    str(rep.get("status", "")),
                )
    limitation = raw.get("limitation") or ""
    if raw["category"] == "algorithm" and replacement is None and not limitation:
        errors.append(
            f"{where}: algorithm criteria need a 'replacement' (name, year, citation) "
            "or a 'limitation' when no race-free version exists"
        )

    trig = raw["trigger"]
    trigger = Trigger()
    if not isinstance(trig, dict):
        errors.append(f"{where}: 'trigger' must be a mapping (sets, phrases, patterns)")
    else:
        unk = set(trig) - _TRIGGER_KEYS
        if unk:
            errors.append(f"{where}: trigger has unknown key(s) {sorted(unk)}")
        tsets = _str_list(trig.get("sets"), where, "trigger.sets", errors)
        tphr = _str_list(trig.get("phrases"), where, "trigger.phrases", errors)
        tpat = _patterns(trig.get("patterns"), where, "trigger.patterns", errors)
        _check_patterns(tpat, where, "trigger.patterns", errors)
        if not (tsets or tphr or tpat):
            errors.append(f"{where}: trigger needs sets, phrases or patterns")
        trigger = Trigger(tsets, tphr, tpat, bool(trig.get("case_sensitive", False)))

    ex = raw["examples"]
    flag: tuple[str, ...] = ()
    pas: tuple[str, ...] = ()
    if not isinstance(ex, dict) or set(ex) - {"flag", "pass"}:
        errors.append(
            f"{where}: 'examples' must be a mapping with 'flag' and 'pass' lists"
        )
    else:
        flag = _str_list(ex.get("flag"), where, "examples.flag", errors)
        pas = _str_list(ex.get("pass"), where, "examples.pass", errors)
        for name, lst in (("flag", flag), ("pass", pas)):
            if len(lst) < MIN_EXAMPLES:
                errors.append(
                    f"{where}: needs at least {MIN_EXAMPLES} '{name}' examples (has {len(lst)})"
                )
    return TextCriterion(
        id=str(cid),
        title=str(raw["title"]),
        category=str(raw["category"]),
        severity=str(raw["severity"]),
        explanation=str(raw["explanation"]).strip(),
        recommendation=str(raw["recommendation"]).strip(),
        references=refs,
        trigger=trigger,
        examples_flag=flag,
        examples_pass=pas,
        replacement=replacement,
        limitation=str(limitation).strip(),
        glossary=_str_list(raw.get("glossary"), where, "glossary", errors),
        requires_any=_str_list(raw.get("requires_any"), where, "requires_any", errors),
        requires_all=_str_list(raw.get("requires_all"), where, "requires_all", errors),
        suppress=_str_list(raw.get("suppress"), where, "suppress", errors),
        group=str(raw.get("group") or ""),
        fallback=bool(raw.get("fallback", False)),
        notes=str(raw.get("notes") or ""),
        source_file=rel,
    )


def _parse_manual(raw: Any, rel: str, idx: int, errors: list[str]):
    if not isinstance(raw, dict):
        errors.append(f"{rel}: manual_criteria[{idx}]: must be a mapping")
        return None
    cid = raw.get("id")
    where = f"{rel}: {cid if isinstance(cid, str) else f'manual_criteria[{idx}]'}"
    unknown = set(raw) - _MANUAL_KEYS
    if unknown:
        errors.append(f"{where}: unknown key(s) {sorted(unknown)}")
    missing = [k for k in _MANUAL_REQUIRED if raw.get(k) in (None, "", [], {})]
    for k in missing:
        errors.append(f"{where}: missing required field '{k}'")
    if missing:
        return None
    guidance = raw["guidance"]
    gd: dict[int, str] = {}
    if not isinstance(guidance, dict):
        errors.append(f"{where}: 'guidance' must map scores 0-3 to text")
    else:
        for k, v in guidance.items():
            try:
                score = int(k)
            except (TypeError, ValueError):
                score = -1
            if score not in (0, 1, 2, 3) or not isinstance(v, str):
                errors.append(
                    f"{where}: guidance key {k!r} must be 0, 1, 2 or 3 with text"
                )
                continue
            gd[score] = v
        for s in (0, 1, 2, 3):
            if s not in gd:
                errors.append(f"{where}: guidance for score {s} is missing")
    return ManualCriterion(
        id=str(cid),
        title=str(raw["title"]),
        question=str(raw["question"]),
        guidance=gd,
        references=_refs(raw["references"], where, errors),
        glossary=_str_list(raw.get("glossary"), where, "glossary", errors),
        source_file=rel,
    )


def _parse_term(raw: Any, rel: str, idx: int, errors: list[str]):
    if not isinstance(raw, dict):
        errors.append(f"{rel}: terms[{idx}]: must be a mapping")
        return None
    tid = raw.get("id")
    where = f"{rel}: {tid if isinstance(tid, str) else f'terms[{idx}]'}"
    unknown = set(raw) - _TERM_KEYS
    if unknown:
        errors.append(f"{where}: unknown key(s) {sorted(unknown)}")
    missing = [k for k in _TERM_REQUIRED if raw.get(k) in (None, "", [], {})]
    for k in missing:
        errors.append(f"{where}: missing required field '{k}'")
    if missing:
        return None
    if not isinstance(tid, str) or not _TERM_ID_RE.match(tid):
        errors.append(f"{where}: term id must be lowercase-hyphenated")
    return GlossaryTerm(
        id=str(tid),
        term=str(raw["term"]),
        definition=str(raw["definition"]).strip(),
        sources=_refs(raw["sources"], where, errors, key="sources"),
        see_also=_str_list(raw.get("see_also"), where, "see_also", errors),
        usage=str(raw.get("usage") or ""),
    )


_DECISION_KEYS = {
    "description",
    "skip",
    "null_statement",
    "race_conscious",
    "default_criterion",
    "word_level",
    "topic_criteria",
    "once_per_document",
    "priority",
    "frames",
}
_FRAME_KEYS = {"skip", "race_conscious", "criteria"}


def _parse_decisions(
    raw: Any, known_sets: set[str], criteria: dict, errors: list[str]
) -> DecisionRules:
    """``decisions.yaml``: the engine's decision rules (optional file)."""
    rel = "decisions.yaml"
    if raw is None:
        return DecisionRules()
    if not isinstance(raw, dict):
        errors.append(f"{rel}: (file): top level must be a mapping")
        return DecisionRules()
    unknown = set(raw) - _DECISION_KEYS
    if unknown:
        errors.append(
            f"{rel}: (file): unknown key(s) {sorted(unknown)}; allowed {sorted(_DECISION_KEYS)}"
        )

    def sets_of(value: Any, where: str) -> tuple[str, ...]:
        names = _str_list(value, rel, where, errors)
        for name in names:
            if name not in known_sets:
                errors.append(f"{rel}: {where}: names unknown set '{name}'")
        return names

    def crit_of(value: Any, where: str) -> str:
        if not isinstance(value, str) or value not in criteria:
            errors.append(f"{rel}: {where}: '{value}' is not a criterion id")
            return ""
        return value

    conscious: dict[str, str] = {}
    exempt: dict[str, tuple[str, ...]] = {}
    rc = raw.get("race_conscious") or {}
    if not isinstance(rc, dict):
        errors.append(f"{rel}: race_conscious: must map set names to a reason")
        rc = {}
    for name, body in rc.items():
        where = f"race_conscious.{name}"
        if name not in known_sets:
            errors.append(f"{rel}: {where}: names unknown set '{name}'")
        if isinstance(body, str):
            conscious[name] = body
            continue
        if not isinstance(body, dict) or set(body) - {"reason", "not_for"}:
            errors.append(f"{rel}: {where}: must be a reason, or {{reason, not_for}}")
            continue
        conscious[name] = str(body.get("reason") or name)
        cats = _str_list(body.get("not_for"), rel, f"{where}.not_for", errors)
        for cat in cats:
            if cat not in CATEGORIES:
                errors.append(f"{rel}: {where}.not_for: unknown category '{cat}'")
        exempt[name] = cats
    frames = raw.get("frames") or {}
    if not isinstance(frames, dict) or set(frames) - _FRAME_KEYS:
        errors.append(
            f"{rel}: frames: must be a mapping with keys {sorted(_FRAME_KEYS)}"
        )
        frames = {}
    frame_criteria = []
    fc = frames.get("criteria") or {}
    if not isinstance(fc, dict):
        errors.append(f"{rel}: frames.criteria: must map set names to criterion ids")
        fc = {}
    for name, cid in fc.items():
        if name not in known_sets:
            errors.append(f"{rel}: frames.criteria: names unknown set '{name}'")
        frame_criteria.append((name, crit_of(cid, f"frames.criteria.{name}")))
    default = raw.get("default_criterion")

    def crits_of(key: str) -> tuple[str, ...]:
        ids = _str_list(raw.get(key), rel, key, errors)
        for cid in ids:
            crit_of(cid, key)
        return ids

    word_level = crits_of("word_level")
    topic = crits_of("topic_criteria")
    once = crits_of("once_per_document")
    priority = crits_of("priority")
    return DecisionRules(
        conscious=conscious,
        conscious_exempt=exempt,
        null_sets=sets_of(raw.get("null_statement"), "null_statement"),
        skip_sets=sets_of(raw.get("skip"), "skip"),
        default_criterion=crit_of(default, "default_criterion") if default else "",
        priority=priority,
        word_level=word_level,
        topic_criteria=topic,
        once_per_document=once,
        frame_skip=sets_of(frames.get("skip"), "frames.skip"),
        frame_conscious=sets_of(frames.get("race_conscious"), "frames.race_conscious"),
        frame_criteria=tuple(frame_criteria),
    )


def _validate(directory: Path) -> tuple[Rubric | None, list[str]]:
    errors: list[str] = []
    if not directory.is_dir():
        return None, [f"{directory}: (dir): rubric directory not found"]
    version, title = "", ""
    criteria: dict[str, TextCriterion] = {}
    manual: dict[str, ManualCriterion] = {}
    glossary: dict[str, GlossaryTerm] = {}
    lexicon: dict[str, LexiconSet] = {}
    seen_ids: dict[str, str] = {}
    decisions_raw: Any = None
    files = rubric_files(directory)
    rels = [p.relative_to(directory).as_posix() for p in files]

    def claim(cid: str, rel: str) -> bool:
        if cid in seen_ids:
            errors.append(
                f"{rel}: {cid}: duplicate id (also defined in {seen_ids[cid]})"
            )
            return False
        seen_ids[cid] = rel
        return True

    if "rubric.yaml" not in rels:
        errors.append("rubric.yaml: (file): missing; it holds the human version string")
    if "glossary.yaml" not in rels:
        errors.append(
            "glossary.yaml: (file): missing; criteria name glossary terms from it"
        )

    for path, rel in zip(files, rels):
        data = _load_yaml(path, rel, errors)
        if data is None:
            if not any(e.startswith(f"{rel}:") for e in errors):
                errors.append(f"{rel}: (file): is empty")
            continue
        if rel.startswith("lexicon/"):
            _parse_lexicon(data, rel, errors, lexicon)
            continue
        if not isinstance(data, dict):
            errors.append(f"{rel}: (file): top level must be a mapping")
            continue
        if rel == "decisions.yaml":
            decisions_raw = data
            continue
        if rel == "rubric.yaml":
            unknown = set(data) - _RUBRIC_FILE_KEYS
            if unknown:
                errors.append(f"{rel}: (file): unknown key(s) {sorted(unknown)}")
            version = str(data.get("version") or "")
            title = str(data.get("title") or "")
            if not version:
                errors.append(f"{rel}: (file): missing 'version' (e.g. \"2026.11\")")
            continue
        allowed = {"criteria", "manual_criteria", "terms", "theme", "description"}
        unknown = set(data) - allowed
        if unknown:
            errors.append(f"{rel}: (file): unknown top-level key(s) {sorted(unknown)}")
        if not ({"criteria", "manual_criteria", "terms"} & set(data)):
            errors.append(
                f"{rel}: (file): needs 'criteria', 'manual_criteria' or 'terms'"
            )
        for key, parser, store in (
            ("criteria", _parse_text_criterion, criteria),
            ("manual_criteria", _parse_manual, manual),
        ):
            items = data.get(key)
            if items is None:
                continue
            if not isinstance(items, list):
                errors.append(f"{rel}: (file): '{key}' must be a list")
                continue
            for i, raw in enumerate(items):
                obj = parser(raw, rel, i, errors)
                if obj is not None and claim(obj.id, rel):
                    store[obj.id] = obj
        terms = data.get("terms")
        if terms is not None:
            if not isinstance(terms, list):
                errors.append(f"{rel}: (file): 'terms' must be a list")
            else:
                for i, raw in enumerate(terms):
                    term = _parse_term(raw, rel, i, errors)
                    if term is None:
                        continue
                    if term.id in glossary:
                        errors.append(f"{rel}: {term.id}: duplicate glossary term id")
                    glossary[term.id] = term

    # cross references
    for term in glossary.values():
        for ref in term.see_also:
            if ref not in glossary:
                errors.append(
                    f"glossary.yaml: {term.id}: see_also names unknown term '{ref}'"
                )
    for name in REQUIRED_SETS:
        if name not in lexicon:
            errors.append(
                f"lexicon/: set {name}: required by the mention detector but missing"
            )
    known_sets = set(lexicon) | set(BUILTIN_SETS)
    for obj in list(criteria.values()) + list(manual.values()):
        for g in obj.glossary:
            if glossary and g not in glossary:
                errors.append(
                    f"{obj.source_file}: {obj.id}: unknown glossary term '{g}'"
                )
    for c in criteria.values():
        for key in ("requires_any", "requires_all", "suppress"):
            for s in getattr(c, key):
                if s not in known_sets:
                    errors.append(
                        f"{c.source_file}: {c.id}: {key} names unknown set '{s}'"
                    )
        for s in c.trigger.sets:
            if s not in known_sets:
                errors.append(
                    f"{c.source_file}: {c.id}: trigger.sets names unknown set '{s}'"
                )
    for grp in {c.group for c in criteria.values() if c.group}:
        members = [c for c in criteria.values() if c.group == grp]
        if all(c.fallback for c in members):
            errors.append(
                f"{members[0].source_file}: {members[0].id}: group '{grp}' has only fallbacks"
            )

    decisions = _parse_decisions(decisions_raw, known_sets, criteria, errors)

    if errors:
        return None, errors
    rubric = Rubric(
        directory=directory,
        version=version,
        content_hash=content_hash(directory),
        criteria=criteria,
        manual_criteria=manual,
        glossary=glossary,
        lexicon=lexicon,
        title=title,
        files=rels,
        decisions=decisions,
    )
    return rubric, []


def check_rubric(rubric_dir: str | Path | None = None) -> list[str]:
    """Validate the rubric and return a list of errors (empty when valid).

    This also compiles the engine (phrase/token matchers) and is the check
    behind ``clinic rubric check``.
    """
    directory = Path(rubric_dir) if rubric_dir else DEFAULT_RUBRIC_DIR
    rubric, errors = _validate(directory.resolve())
    if errors:
        return errors
    from .lexicon import _blank, compile_rubric

    try:
        compile_rubric(rubric, _blank())
    except RubricError as exc:
        return exc.errors
    return []


def load_rubric(rubric_dir: str | Path | None = None) -> Rubric:
    """Load and validate the rubric; raise :class:`RubricError` listing all problems."""
    directory = Path(rubric_dir) if rubric_dir else DEFAULT_RUBRIC_DIR
    rubric, errors = _validate(directory.resolve())
    if errors:
        raise RubricError(errors)
    return rubric


_CACHE: dict[tuple[str, str], Rubric] = {}
_LOCK = threading.Lock()


def rubric_key(rubric_dir: str | Path | None = None) -> tuple[str, str]:
    """(resolved directory, content hash): what a loaded rubric is cached under."""
    directory = Path(rubric_dir or DEFAULT_RUBRIC_DIR).resolve()
    return str(directory), content_hash(directory) if directory.is_dir() else ""


def cached_rubric(rubric_dir: str | Path | None = None) -> Rubric:
    """:func:`load_rubric`, once per directory and content (an edited rubric is
    loaded and validated again)."""
    key = rubric_key(rubric_dir)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = load_rubric(key[0])
        return _CACHE[key]
