"""Evaluate ``clinic scan`` on the judged whole documents, next to a keyword baseline.

Usage: python bench/eval_docs.py [--devdocs DIR] [--work DIR] [--no-ambiguous] [--errors]

Unpacks ``../shared/corpus/devdocs/src.tar.xz`` (once, into ``--work``), runs the
real ``clinic scan`` command on each of its repositories, and scores the reports by
the devdocs README's matching rules (same path, token overlap). Prints, per
repository and overall, for the analyzer and for a keyword search over the same
sentence units:

* sentence-level precision, recall and F1;
* findings per flagged sentence and the share of findings with the right category;
* findings per 1,000 sentence units (all units of two or more words, labelled or not);
* the confidence calibration: per level, how many findings and how many are right
  (on a true unit), counting only findings that match a labelled unit;
* the scan's wall time, and its ratio to a tokenizer-only pass over the same files
  measured in the same run (these machines are noisy); with ``--against REF`` also
  the scan time of that git revision (checked out in a temporary worktree) and the
  ratio of this tree's time to it (required <= 1.5 against the release before the
  engine's decisions).
"""

from __future__ import annotations

import argparse
import collections
import csv
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from eval_corpus import KEYWORDS

DEFAULT_DEVDOCS = REPO.parent / "shared" / "corpus" / "devdocs"
WORD = re.compile(r"[a-z0-9]+")
LEVELS = ("certain", "likely", "possible")


def tokens(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


def matches(label: dict, finding: dict) -> bool:
    """The devdocs README's rule: same path, overlap >= 0.6 x the smaller token set,
    and the matched words inside the label (or 90% of the label's tokens covered)."""
    a, b = tokens(label["text"]), tokens(finding["sentence"])
    if not a or not b:
        return False
    inter = len(a & b)
    return inter >= 0.6 * min(len(a), len(b)) and (
        finding["matched_text"].lower() in label["text"].lower()
        or inter >= 0.9 * len(a)
    )


def unpack(devdocs: Path, work: Path) -> Path:
    src = work / "src"
    stamp = src / ".unpacked"
    if not stamp.exists():
        src.mkdir(parents=True, exist_ok=True)
        with tarfile.open(devdocs / "src.tar.xz") as tar:
            tar.extractall(src, filter="data")
        stamp.write_text("ok")
    return src


def count_units(devdocs: Path, root: Path) -> int:
    """Sentence units of two or more words, as the labellers' segmenter cut them."""
    spec = importlib.util.spec_from_file_location(
        "devdocs_segment", devdocs / "tools" / "segment.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return sum(len(u["text"].split()) >= 2 for u in module.all_units(str(root)))


def scan(root: Path, report: Path, code: Path = REPO) -> float:
    """Wall time of ``clinic scan`` run from the source tree ``code``."""
    shutil.rmtree(report, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "clinic", "scan", str(root), "--report", str(report)],
        check=True,
        cwd=code,
        env={**os.environ, "PYTHONPATH": str(code)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - t0


def scan_revision(ref: str, src: Path, repos: list[str], work: Path) -> float:
    """Scan time of the git revision ``ref`` on the same files."""
    tree = Path(tempfile.mkdtemp(prefix="eval-docs-ref-"))
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), ref],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        return sum(scan(src / r, work / "ref-report", tree) for r in repos)
    finally:
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
            check=False,
        )


def tokenizer_pass(root: Path) -> float:
    """Seconds to extract every file and run the bare spaCy tokenizer over it."""
    from clinic.analysis.lexicon import blank_english
    from clinic.ingest import IngestError, extract

    nlp = blank_english()
    t0 = time.perf_counter()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        try:
            doc = extract(path.read_bytes(), path.name)
        except IngestError:
            continue  # the scan lists it in errors.csv; it costs nothing here
        for _ in nlp.pipe(s.text for s in doc.segments):
            pass
    return time.perf_counter() - t0


def score(labels: list[dict], findings: list[dict]) -> collections.Counter:
    by_path = collections.defaultdict(list)
    for i, f in enumerate(findings):
        by_path[f["path"]].append((i, f))
    c = collections.Counter(findings=len(findings))
    used: set[int] = set()
    for lab in labels:
        hits = [(i, f) for i, f in by_path.get(lab["path"], []) if matches(lab, f)]
        used.update(i for i, _ in hits)
        want = {lab["category"].lower(), *(a.lower() for a in lab["also"])}
        kw = bool(KEYWORDS.search(lab["text"]))
        c[
            "kw_tp"
            if lab["flag"] and kw
            else "kw_fp"
            if kw
            else "kw_fn"
            if lab["flag"]
            else "kw_tn"
        ] += 1
        if lab["flag"]:
            c["tp" if hits else "fn"] += 1
            c["tp_findings"] += len(hits)
            c["tp_cat_ok"] += sum(f["category"] in want for _, f in hits)
        elif hits:
            c["fp"] += 1
            c["fp_findings"] += len(hits)
        for _, f in hits:
            level = f.get("confidence") or "likely"
            c[f"conf_{level}"] += 1
            c[f"conf_{level}_ok"] += bool(lab["flag"])
    c["unlabelled"] = len(findings) - len(used)
    return c


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def line(name: str, c: collections.Counter, units: int) -> str:
    p, r, f1 = prf(c["tp"], c["fp"], c["fn"])
    kp, kr, kf = prf(c["kw_tp"], c["kw_fp"], c["kw_fn"])
    flagged = c["tp"] + c["fp"]
    per_flag = (c["tp_findings"] + c["fp_findings"]) / flagged if flagged else 0.0
    cat = c["tp_cat_ok"] / c["tp_findings"] if c["tp_findings"] else 0.0
    per_k = 1000 * c["findings"] / units if units else 0.0
    return (
        f"{name:<8} P={p:.3f} R={r:.3f} F1={f1:.3f} (tp={c['tp']} fp={c['fp']} "
        f"fn={c['fn']})  findings/flagged={per_flag:.2f}  category_ok={cat:.3f}  "
        f"findings/1000 units={per_k:.1f} (unlabelled {c['unlabelled']})  |  "
        f"keyword P={kp:.3f} R={kr:.3f} F1={kf:.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devdocs", type=Path, default=DEFAULT_DEVDOCS)
    ap.add_argument("--work", type=Path, default=REPO / "bench" / "out" / "devdocs")
    ap.add_argument("--no-ambiguous", action="store_true")
    ap.add_argument("--against", metavar="REF", help="also time this git revision")
    ap.add_argument("--errors", action="store_true", help="list missed and false units")
    args = ap.parse_args(argv)

    labels = [
        json.loads(x)
        for x in (args.devdocs / "labels.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
        if x.strip()
    ]
    if args.no_ambiguous:
        labels = [x for x in labels if not x["ambiguous"]]
    src = unpack(args.devdocs, args.work)
    repos = sorted({x["repo"] for x in labels})
    total, total_units, scan_s, base_s = collections.Counter(), 0, 0.0, 0.0
    rows = []
    for repo in repos:
        report = args.work / "reports" / repo
        scan_s += scan(src / repo, report)
        base_s += tokenizer_pass(src / repo)
        with (report / "findings.csv").open(encoding="utf-8-sig") as fh:
            findings = list(csv.DictReader(fh))
        mine = [x for x in labels if x["repo"] == repo]
        c = score(mine, findings)
        units = count_units(args.devdocs, src / repo)
        total.update(c)
        total_units += units
        rows.append(line(repo, c, units))
        if args.errors:
            by_path = collections.defaultdict(list)
            for f in findings:
                by_path[f["path"]].append(f)
            for lab in mine:
                hits = [f for f in by_path.get(lab["path"], []) if matches(lab, f)]
                if bool(hits) != lab["flag"]:
                    kind = "FN" if lab["flag"] else "FP"
                    got = ",".join(f["criterion_id"] for f in hits) or "-"
                    print(
                        f"  {kind} {lab['id']} {lab['category']} {got}: {lab['text'][:140]}"
                    )
    print(f"devdocs: {len(labels)} labelled units in {len(repos)} repositories")
    for row in rows:
        print(row)
    print(line("all", total, total_units))
    print("confidence calibration (findings on labelled units: right / all):")
    for level in LEVELS:
        n, ok = total[f"conf_{level}"], total[f"conf_{level}_ok"]
        print(f"  {level:<9} {ok:>4} / {n:<4} precision={ok / n if n else 0:.3f}")
    print(
        f"scan time {scan_s:.1f} s; tokenizer-only pass {base_s:.1f} s; "
        f"ratio {scan_s / base_s if base_s else 0:.2f}"
    )
    if args.against:
        ref_s = scan_revision(args.against, src, repos, args.work)
        again = sum(scan(src / r, args.work / "ref-report") for r in repos)
        mine = min(scan_s, again)
        print(
            f"scan time of {args.against}: {ref_s:.1f} s; this tree (best of 2) "
            f"{mine:.1f} s; ratio {mine / ref_s:.2f} (required <= 1.5)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
