"""Learning from coaches' dismissals: sentence patterns, and rubric changes to propose.

When coaches dismiss several findings of one criterion for the same reason, and the
dismissed sentences share a phrase that no confirmed finding of the criterion has,
that phrase is a candidate exception cue. A proposal is a lexicon set holding it, the
criterion's `suppress` list with the set added, and one dismissed sentence as a new
`pass` example: the rubric's own YAML shapes. Nothing here changes the rubric;
:func:`apply_proposal` does, after checking the rubric and running every example.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

MENTION = "‹mention›"
EXCEPTIONS_FILE = "lexicon/coach-exceptions.yaml"
# Reasons that say something about the rubric; a duplicate does not.
LEARNABLE_REASONS = (
    "not_about_race",
    "race_conscious",
    "clinically_justified",
    "other",
)
_WORD = re.compile(r"[a-z]+(?:['’-][a-z]+)*|#")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "by",
        "with",
        "and",
        "or",
        "but",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "as",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "from",
        "than",
        "then",
        "which",
        "who",
        "whom",
        "whose",
        "their",
        "there",
        "they",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "his",
        "her",
        "not",
        "no",
    ]
)


@dataclass(frozen=True)
class Decided:
    """One coach decision on a machine finding: its sentence and what fired."""

    sentence: str
    matched_text: str
    reason: str | None = None  # a dismissal's reason; None for a confirmation


@dataclass(frozen=True)
class PatternGroup:
    """Dismissed sentences that read the same once normalised."""

    pattern: str
    count: int
    reasons: dict[str, int]
    example: str


@dataclass(frozen=True)
class Proposal:
    """A rubric change learnt from repeated dismissals with one reason."""

    criterion_id: str
    reason: str
    phrase: str
    support: int  # dismissals with this reason that have the phrase
    example: str  # the dismissed sentence proposed as a pass example
    sentences: list[str] = field(default_factory=list)

    @property
    def set_name(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "_", self.phrase.lower()).strip("_")
        return f"coach_{self.criterion_id.lower().replace('-', '_')}_{slug}"[:60]


def normalise(sentence: str, matched_text: str = "") -> str:
    """A sentence as a pattern: lower case, the trigger words as ‹mention›, numbers as
    #, punctuation dropped, spaces collapsed."""
    text = sentence
    if matched_text and matched_text in text:
        text = text.replace(matched_text, " \0 ")
    words = []
    for part in text.lower().split("\0"):
        words.append(" ".join(_WORD.findall(re.sub(r"\d+(?:[.,]\d+)*", "#", part))))
    return f" {MENTION} ".join(words).strip()


def pattern_groups(dismissed: list[Decided], limit: int = 5) -> list[PatternGroup]:
    """The most frequent dismissed sentence patterns, most frequent first."""
    groups: dict[str, list[Decided]] = {}
    for d in dismissed:
        groups.setdefault(normalise(d.sentence, d.matched_text), []).append(d)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [
        PatternGroup(
            pattern=pattern,
            count=len(rows),
            reasons=dict(Counter(r.reason or "" for r in rows)),
            example=rows[0].sentence,
        )
        for pattern, rows in ordered[:limit]
    ]


def _phrases(d: Decided, longest: int = 4) -> set[str]:
    """Word sequences of 2-4 words around (never including) the trigger words."""
    out: set[str] = set()
    for chunk in normalise(d.sentence, d.matched_text).split(MENTION):
        words = _WORD.findall(chunk)
        for n in range(2, longest + 1):
            for i in range(len(words) - n + 1):
                gram = words[i : i + n]
                if "#" in gram or gram[0] in _STOP or gram[-1] in _STOP:
                    continue
                out.add(" ".join(gram))
    return out


def propose(
    criterion_id: str,
    decided: list[Decided],
    min_dismissals: int,
) -> list[Proposal]:
    """One proposal per dismissal reason given at least `min_dismissals` times whose
    sentences share a phrase found in no confirmed sentence of the criterion."""
    confirmed: set[str] = set()
    for d in decided:
        if d.reason is None:
            confirmed |= _phrases(d)
    by_reason: dict[str, list[Decided]] = {}
    for d in decided:
        if d.reason in LEARNABLE_REASONS:
            by_reason.setdefault(d.reason, []).append(d)
    proposals = []
    for reason, rows in sorted(by_reason.items()):
        if len(rows) < min_dismissals:
            continue
        support: Counter[str] = Counter()
        having: dict[str, list[Decided]] = {}
        for d in rows:
            for phrase in _phrases(d) - confirmed:
                support[phrase] += 1
                having.setdefault(phrase, []).append(d)
        ranked = sorted(
            (p for p, n in support.items() if n >= min_dismissals),
            key=lambda p: (-support[p], -len(p.split()), p),
        )
        if not ranked:
            continue
        phrase = ranked[0]
        sentences = sorted({d.sentence for d in having[phrase]}, key=len)
        proposals.append(
            Proposal(
                criterion_id=criterion_id,
                reason=reason,
                phrase=phrase,
                support=support[phrase],
                example=sentences[0],
                sentences=sentences[:5],
            )
        )
    return proposals


def proposal_yaml(
    proposal: Proposal,
    *,
    suppress: list[str],
    criterion_file: str,
    rubric_version: str,
    reason_label: str,
) -> str:
    """The proposal as YAML in the rubric's shapes, with comments saying where each
    part goes and how to accept it."""
    q = lambda text: json.dumps(text, ensure_ascii=False)
    suppress_list = ", ".join([*suppress, proposal.set_name])
    body = (
        "sets:\n"
        f"  {proposal.set_name}:\n"
        f"    description: {q(f'learnt from {proposal.support} dismissals of {proposal.criterion_id} ({reason_label})')}\n"
        f"    phrases: [{q(proposal.phrase)}]\n"
        "criteria:\n"
        f"  - id: {proposal.criterion_id}\n"
        f"    suppress: [{suppress_list}]\n"
        "    examples:\n"
        "      pass:\n"
        f"        - {q(proposal.example)}\n"
    )
    head = (
        f"# Proposed change to {proposal.criterion_id} (rubric {rubric_version}).\n"
        f"# Coaches dismissed {proposal.support} of its findings as "
        f"“{reason_label}”, all with the words “{proposal.phrase}”;\n"
        "# no finding they confirmed has them.\n"
        f"# `sets:` goes into rubrics/{EXCEPTIONS_FILE}; the criterion's `suppress`\n"
        f"# and the new `pass` example go into rubrics/{criterion_file}.\n"
        "# Accept it with `clinic rubric apply THIS_FILE`: it checks the rubric and\n"
        "# runs every example first, and changes nothing if one fails.\n"
    )
    return head + body


class ProposalError(ValueError):
    """A proposal that cannot be applied; nothing was changed."""


def _criterion_file(rubric_dir: Path, criterion_id: str) -> Path:
    for path in sorted(rubric_dir.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if any(
            isinstance(c, dict) and c.get("id") == criterion_id
            for c in data.get("criteria") or []
        ):
            return path
    raise ProposalError(f"No rubric file has the criterion {criterion_id}.")


def _edit_criterion(text: str, criterion_id: str, suppress: list[str], example: str):
    """The criterion file's text with the new suppress list and one more pass example,
    edited in place so that comments and layout stay as they are."""
    lines = text.splitlines(keepends=True)
    head = re.compile(rf"^(\s*)-\s+id:\s*['\"]?{re.escape(criterion_id)}['\"]?\s*$")
    start = next((i for i, line in enumerate(lines) if head.match(line)), None)
    if start is None:
        raise ProposalError(f"Cannot find “- id: {criterion_id}” in the rubric file.")
    dash = head.match(lines[start]).group(1)
    key = dash + "  "  # the criterion's own keys
    end = next(
        (
            j
            for j in range(start + 1, len(lines))
            if lines[j].strip()
            and not lines[j].startswith(key)
            and not lines[j].lstrip().startswith("#")
        ),
        len(lines),
    )
    block = lines[start:end]
    flow = yaml.safe_dump(suppress, default_flow_style=True, width=10_000).strip()
    new_line = f"{key}suppress: {flow}\n"
    at = next(
        (k for k, ln in enumerate(block) if ln.startswith(f"{key}suppress:")), None
    )
    if at is not None:
        if not re.match(rf"{key}suppress:\s*\[.*\]\s*$", block[at]):
            raise ProposalError(
                f"{criterion_id}: its `suppress` is not a one-line [list]; copy the "
                "proposal in by hand."
            )
        block[at] = new_line
    else:
        ex = next(
            (k for k, ln in enumerate(block) if ln.startswith(f"{key}examples:")), None
        )
        if ex is None:
            raise ProposalError(f"{criterion_id}: no `examples:` found.")
        block.insert(ex, new_line)
    pass_at = next(
        (k for k, ln in enumerate(block) if re.match(rf"{key}  pass:\s*$", ln)), None
    )
    if pass_at is None:
        raise ProposalError(f"{criterion_id}: no `pass:` list of examples found.")
    item = key + "    "
    last = pass_at
    for k in range(pass_at + 1, len(block)):
        if block[k].startswith(item):
            last = k
        elif block[k].strip():
            break
    quoted = yaml.safe_dump(example, allow_unicode=True, width=10_000)
    quoted = quoted.strip().removesuffix("...").strip()
    block.insert(last + 1, f"{item}- {quoted}\n")
    return "".join(lines[:start] + block + lines[end:])


def _add_set(text: str | None, name: str, body: dict) -> str:
    if text is None:
        text = (
            "# Exception cues learnt from coaches' dismissals (clinic's rubric health\n"
            "# page), accepted with `clinic rubric apply`. Each set is named after the\n"
            "# criterion whose `suppress` uses it.\n"
            "sets:\n"
        )
    if re.search(rf"^  {re.escape(name)}:", text, flags=re.MULTILINE):
        raise ProposalError(f"The lexicon already has a set {name}.")
    entry = yaml.safe_dump({name: body}, sort_keys=False, allow_unicode=True, width=100)
    return (
        text.rstrip("\n") + "\n" + "".join(f"  {line}\n" for line in entry.splitlines())
    )


def apply_proposal(rubric_dir: Path, proposal_text: str, check) -> list[str]:
    """Apply a proposal to the rubric folder. `check(folder)` returns the errors of a
    candidate rubric (validation and examples); the folder changes only when there
    are none. Returns the files changed, relative to the folder."""
    try:
        data = yaml.safe_load(proposal_text)
    except yaml.YAMLError as error:
        raise ProposalError(f"The proposal is not valid YAML: {error}") from None
    try:
        [(set_name, set_body)] = data["sets"].items()
        [criterion] = data["criteria"]
        criterion_id = criterion["id"]
        suppress = list(criterion["suppress"])
        [example] = criterion["examples"]["pass"]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ProposalError(
            "A proposal holds one set under `sets:` and one criterion under "
            "`criteria:` with `id`, `suppress` and one `examples: pass:` sentence."
        ) from None
    rubric_dir = Path(rubric_dir)
    target = _criterion_file(rubric_dir, criterion_id)
    before = yaml.safe_load(target.read_text(encoding="utf-8"))
    edited = _edit_criterion(
        target.read_text(encoding="utf-8"), criterion_id, suppress, example
    )
    after = yaml.safe_load(edited)
    # The edit must be exactly the proposal: the suppress list and one more example.
    old = next(c for c in before["criteria"] if c.get("id") == criterion_id)
    new = next(c for c in after["criteria"] if c.get("id") == criterion_id)
    expected = dict(old, suppress=suppress)
    expected["examples"] = dict(
        old["examples"], **{"pass": [*old["examples"]["pass"], example]}
    )
    others_same = [c for c in before["criteria"] if c.get("id") != criterion_id] == [
        c for c in after["criteria"] if c.get("id") != criterion_id
    ]
    if new != expected or not others_same:
        raise ProposalError(
            f"{target.name}: the change could not be made exactly; copy the proposal "
            "in by hand."
        )
    exceptions = rubric_dir / EXCEPTIONS_FILE
    lexicon_text = _add_set(
        exceptions.read_text(encoding="utf-8") if exceptions.exists() else None,
        set_name,
        set_body,
    )
    with tempfile.TemporaryDirectory() as tmp:
        candidate = Path(tmp) / "rubric"
        shutil.copytree(rubric_dir, candidate)
        (candidate / target.relative_to(rubric_dir)).write_text(
            edited, encoding="utf-8"
        )
        (candidate / EXCEPTIONS_FILE).write_text(lexicon_text, encoding="utf-8")
        errors = check(candidate)
    if errors:
        raise ProposalError(
            "The rubric with this change fails its checks; nothing was changed:\n"
            + "\n".join(f"  {e}" for e in errors)
        )
    target.write_text(edited, encoding="utf-8")
    exceptions.write_text(lexicon_text, encoding="utf-8")
    return [str(target.relative_to(rubric_dir)), EXCEPTIONS_FILE]
