"""Evaluate the analyzer on the labelled dev sentences, next to a keyword baseline.

Usage: python bench/eval_corpus.py [--corpus PATH ...] [--rubric-dir DIR] [--errors]

Without ``--corpus`` it evaluates every dev file: ``dev-sentences.jsonl`` and
``dev2-sentences.jsonl`` of ``../shared/corpus``.

``tests/data/independent-*.jsonl`` are more labelled sets (1,670 sentences) written
to the same rules by writers who never saw the rubric; pass one as ``--corpus``.

Prints precision/recall/F1 of "flagged at all", false-positive rates on hard
negatives (NAME, and NONE containing a colour/homonym/race word) and on CONSCIOUS
sentences, and category recall, with and without the ambiguous records, and the
confidence calibration: per level, the share of findings on sentences labelled as
problems ("certain" must be right at least 95% of the time).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clinic.analysis import load_analyzer

SHARED = REPO.parent / "shared" / "corpus"
DEFAULT_CORPORA = (SHARED / "dev-sentences.jsonl", SHARED / "dev2-sentences.jsonl")
LEVELS = ("certain", "likely", "possible")
CATEGORY_MAP = {
    "ALGORITHM": "algorithm",
    "TREATMENT": "treatment",
    "RISK": "risk",
    "DIAGNOSIS": "diagnosis",
    "BIOLOGY": "biology",
    "TERMINOLOGY": "terminology",
}
#: Plain keyword search: what a reviewer would grep for.
KEYWORDS = re.compile(
    r"\b(black|blacks|white|whites|african|asian|asians|hispanic|hispanics|latino|latina|latinx|"
    r"caucasian|caucasians|caucasoid|negroid|mongoloid|mongolian|oriental|native|indigenous|"
    r"indian|chinese|japanese|korean|mexican|haitian|caribbean|european|mediterranean|jewish|"
    r"ashkenazi|arab|coloured|race|races|racial|racially|ethnic|ethnicity|ethnicities|ancestry|"
    r"minority|minorities)\b",
    re.IGNORECASE,
)


def load_corpus(path: Path) -> list[dict]:
    """Records of a JSONL corpus; category labels are upper-cased ("risk" -> "RISK")."""
    with path.open(encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    for r in records:
        r["category"] = str(r.get("category", "NONE")).upper()
        r["also"] = [str(a).upper() for a in r.get("also", [])]
    return records


def prf(pred: list[bool], gold: list[bool]) -> tuple[float, float, float]:
    tp = sum(p and g for p, g in zip(pred, gold))
    fp = sum(p and not g for p, g in zip(pred, gold))
    fn = sum(g and not p for p, g in zip(pred, gold))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1


def is_hard_negative(rec: dict) -> bool:
    if rec["flag"]:
        return False
    if rec["category"] == "NAME":
        return True
    return rec["category"] == "NONE" and bool(KEYWORDS.search(rec["text"]))


def rate(pred: list[bool], mask: list[bool]) -> tuple[float, int]:
    n = sum(mask)
    fp = sum(p for p, m in zip(pred, mask) if m)
    return (fp / n if n else 0.0), n


def evaluate(
    records: list[dict], pred: list[bool], cats: list[set[str]] | None
) -> dict:
    gold = [r["flag"] for r in records]
    p, r, f = prf(pred, gold)
    hard, n_hard = rate(pred, [is_hard_negative(x) for x in records])
    consc, n_consc = rate(
        pred, [(not x["flag"]) and x["category"] == "CONSCIOUS" for x in records]
    )
    out = {"n": len(records), "P": p, "R": r, "F1": f, "hardFP": hard, "n_hard": n_hard}
    out.update({"consciousFP": consc, "n_conscious": n_consc})
    if cats is not None:
        hits, total = 0, 0
        per: dict[str, list[int]] = {}
        for x, c in zip(records, cats):
            if not x["flag"]:
                continue
            want = {
                CATEGORY_MAP.get(k) for k in [x["category"], *x.get("also", [])]
            } - {None}
            total += 1
            ok = bool(want & c)
            hits += ok
            for k in want:
                per.setdefault(k, [0, 0])
                per[k][1] += 1
                per[k][0] += k in c
        out["catR"] = hits / total if total else 0.0
        out["per_cat"] = {k: v[0] / v[1] for k, v in sorted(per.items())}
    return out


def fmt(name: str, m: dict) -> str:
    s = (
        f"{name:<22} n={m['n']:<4} P={m['P']:.3f} R={m['R']:.3f} F1={m['F1']:.3f} "
        f"hardNegFP={m['hardFP']:.3f} (n={m['n_hard']}) consciousFP={m['consciousFP']:.3f} "
        f"(n={m['n_conscious']})"
    )
    if "catR" in m:
        s += f" catRecall={m['catR']:.3f}"
    return s


def calibration(records: list[dict], results: list[list]) -> list[str]:
    """One line per confidence level: findings on true sentences / all findings."""
    rows = []
    for level in LEVELS:
        got = [
            r["flag"]
            for r, fs in zip(records, results)
            for f in fs
            if f.confidence == level
        ]
        p = sum(got) / len(got) if got else 0.0
        rows.append(f"  {level:<9} {sum(got):>4} / {len(got):<4} precision={p:.3f}")
    return rows


def report(path: Path, analyzer, show_errors: bool) -> None:
    records = load_corpus(path)
    results = analyzer.analyze_segments([r["text"] for r in records])
    pred = [bool(fs) for fs in results]
    cats = [{f.category for f in fs} for fs in results]
    kw = [bool(KEYWORDS.search(r["text"])) for r in records]

    print(f"corpus: {path.name} ({len(records)} records); rubric {analyzer.version_id}")
    for label, keep in (
        ("all", [True] * len(records)),
        ("unambiguous", [not r.get("ambiguous") for r in records]),
    ):
        sub = [r for r, k in zip(records, keep) if k]
        sp = [p for p, k in zip(pred, keep) if k]
        sc = [c for c, k in zip(cats, keep) if k]
        sk = [p for p, k in zip(kw, keep) if k]
        print(fmt(f"analyzer/{label}", evaluate(sub, sp, sc)))
        print(fmt(f"keyword/{label}", evaluate(sub, sk, None)))
    per = evaluate(records, pred, cats)["per_cat"]
    print("category recall (all):", ", ".join(f"{k}={v:.2f}" for k, v in per.items()))
    flagged = sum(pred)
    n_findings = sum(len(fs) for fs in results)
    print(
        f"findings per flagged sentence: {n_findings / flagged if flagged else 0:.2f}"
    )
    print("confidence calibration (findings on sentences labelled as problems):")
    print("\n".join(calibration(records, results)))

    if show_errors:
        print("\nmisclassified:")
        for r, p, fs in zip(records, pred, results):
            gold_cats = {
                CATEGORY_MAP.get(k) for k in [r["category"], *r.get("also", [])]
            } - {None}
            got = {f.category for f in fs}
            if p != r["flag"] or (r["flag"] and not gold_cats & got):
                ids = ",".join(sorted({f.criterion_id for f in fs})) or "-"
                amb = " AMB" if r.get("ambiguous") else ""
                print(
                    f"  {r['id']} gold={r['category']}{amb} pred={ids}: {r['text'][:150]}"
                )
    print()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, action="append", default=None)
    ap.add_argument("--rubric-dir", type=Path, default=None)
    ap.add_argument(
        "--errors", action="store_true", help="list misclassified sentences"
    )
    args = ap.parse_args(argv)
    analyzer = load_analyzer(args.rubric_dir)
    for path in args.corpus or DEFAULT_CORPORA:
        report(path, analyzer, args.errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
