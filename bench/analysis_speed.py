"""Analysis speed relative to spaCy tokenization, on ~1 MB of mixed text.

Usage: python bench/analysis_speed.py [--mb 1.0] [--repeat 3] [--rubric-dir DIR]

Builds paragraphs of ordinary prose with clinical sentences (some race-related, some
colour-word hard negatives) mixed in, then measures words/second for (a) the
``spacy.blank("en")`` tokenizer alone and (b) ``Analyzer.analyze_segments`` over the
same paragraphs, and prints the ratio b/a (required >= 1.0: analysis at least as fast as the tokenizer alone) and peak memory.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import spacy

from clinic.analysis import Analyzer, load_analyzer

PROSE = [
    "The committee met on Tuesday to review the schedule for the autumn term.",
    "Students are expected to complete the reading before each small-group session.",
    "Office hours are held in the library annex from two until four in the afternoon.",
    "The course builds on material from the first-year foundations block.",
    "Attendance at the weekly seminar is required, and absences must be reported in advance.",
    "Each team will present a short summary of its project at the end of the month.",
    "Please submit assignments through the learning portal by midnight on Friday.",
    "The lecture hall on the second floor has been renovated and now seats two hundred people.",
    "Feedback from last year's cohort led to changes in the order of the sessions.",
    "A map of the teaching hospital, including parking and entrances, is posted online.",
    "The final examination covers all material presented since the midterm review.",
    "Faculty will rotate through the clinical skills centre during the second week.",
]
CLINICAL = [
    "Hypertension is defined as a blood pressure of 130/80 mmHg or higher on repeated measurement.",
    "Start metformin unless the estimated GFR is below 30 mL/min per 1.73 m2.",
    "Chest radiography showed bilateral hilar lymphadenopathy and reticular opacities.",
    "The white blood cell count was 14,000 per microliter with a left shift.",
    "Black tarry stools suggest bleeding from the upper gastrointestinal tract.",
    "A 54-year-old man presents with crushing chest pain radiating to the left arm.",
    "Periventricular white matter lesions are typical of multiple sclerosis.",
    "Familial Mediterranean fever responds to colchicine.",
    "Spirometry showed an FEV1/FVC ratio of 0.62, consistent with obstruction.",
    "Warfarin requires regular INR monitoring and dietary counselling.",
]
RACE = [
    "Black patients have higher rates of hypertension than White patients.",
    "A 45-year-old African American man presents with fatigue and swollen ankles.",
    "eGFR (CKD-EPI 2009) is multiplied by 1.159 if the patient is Black.",
    "The 2021 CKD-EPI equation removed the race coefficient.",
    "Racial disparities in maternal mortality reflect structural racism and unequal access to care.",
    "In Black patients, a thiazide diuretic or calcium channel blocker is preferred first line.",
    "APOL1 G1 and G2 variants are common in people of West African ancestry.",
    "Caucasian women have a higher risk of osteoporosis.",
]


COMMON = [
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "she",
    "this",
    "are",
    "or",
    "his",
    "her",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "they",
    "you",
    "were",
    "their",
    "one",
    "all",
    "we",
    "can",
    "has",
    "there",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "out",
    "up",
    "into",
    "do",
    "than",
    "only",
    "other",
    "some",
    "time",
    "could",
    "about",
    "these",
    "may",
    "then",
    "first",
    "any",
    "new",
    "very",
    "also",
    "after",
    "most",
    "such",
    "should",
    "over",
    "many",
    "where",
    "between",
    "each",
    "well",
    "through",
    "year",
    "years",
    "during",
    "under",
    "while",
    "both",
    "those",
    "same",
    "week",
    "group",
    "work",
    "made",
    "used",
    "part",
    "because",
]
SYLLABLES = [
    "ba",
    "be",
    "bi",
    "bo",
    "da",
    "de",
    "di",
    "do",
    "ka",
    "ke",
    "ki",
    "ko",
    "la",
    "le",
    "li",
    "lo",
    "ma",
    "me",
    "mi",
    "mo",
    "na",
    "ne",
    "ni",
    "no",
    "ra",
    "re",
    "ri",
    "ro",
    "sa",
    "se",
    "si",
    "so",
    "ta",
    "te",
    "ti",
    "to",
    "ver",
    "con",
    "pre",
    "str",
    "ent",
    "ion",
    "ous",
    "ing",
    "ment",
]


def _vocabulary(rng: random.Random, size: int = 12000) -> list[str]:
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return COMMON + sorted(words)


def _prose_sentence(rng: random.Random, vocab: list[str], weights: list[float]) -> str:
    words = rng.choices(vocab, weights=weights, k=rng.randint(8, 24))
    if rng.random() < 0.3:
        words[rng.randrange(len(words))] += ","
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def build_segments(target_bytes: int, seed: int = 7) -> list[str]:
    """Paragraphs of 4-8 sentences: ordinary prose with a Zipfian vocabulary (~70%),
    clinical sentences incl. colour-word hard negatives (~27%) and race-related
    sentences (~3%)."""
    rng = random.Random(seed)
    vocab = _vocabulary(rng)
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]
    segments: list[str] = []
    size = 0
    while size < target_bytes:
        sents = []
        for _ in range(rng.randint(4, 8)):
            x = rng.random()
            if x < 0.55:
                sents.append(_prose_sentence(rng, vocab, weights))
            elif x < 0.70:
                sents.append(rng.choice(PROSE))
            elif x < 0.97:
                sents.append(rng.choice(CLINICAL))
            else:
                sents.append(rng.choice(RACE))
        para = " ".join(sents)
        segments.append(para)
        size += len(para) + 1
    return segments


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rubric-dir", type=Path, default=None)
    args = ap.parse_args(argv)

    segments = build_segments(int(args.mb * 1_000_000))
    n_bytes = sum(len(s.encode()) for s in segments)
    n_words = sum(len(s.split()) for s in segments)
    analyzer = load_analyzer(args.rubric_dir)

    findings: list = []

    # Each repetition uses a fresh tokenizer and a freshly built analyzer (not timed),
    # so both see the text for the first time, as with a newly uploaded document;
    # the two measurements are interleaved so that machine load affects both alike.
    t_tok = t_ana = float("inf")
    for _ in range(args.repeat):
        tokenizer = spacy.blank("en").tokenizer
        t0 = time.perf_counter()
        for _doc in tokenizer.pipe(segments, batch_size=256):
            pass
        t_tok = min(t_tok, time.perf_counter() - t0)

        fresh = Analyzer(analyzer.rubric)
        t0 = time.perf_counter()
        findings[:] = fresh.analyze_segments(segments)
        t_ana = min(t_ana, time.perf_counter() - t0)
    n_find = sum(len(f) for f in findings)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    tracemalloc.start()
    analyzer.analyze_segments(segments)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    wps_tok = n_words / t_tok
    wps_ana = n_words / t_ana
    print(
        f"text: {n_bytes / 1e6:.2f} MB, {len(segments)} segments, {n_words} words; rubric {analyzer.version_id}"
    )
    print(f"(a) tokenizer alone:     {wps_tok:,.0f} words/s ({t_tok:.3f} s)")
    print(
        f"(b) analyze_segments:    {wps_ana:,.0f} words/s ({t_ana:.3f} s), {n_find} findings"
    )
    print(f"ratio b/a: {wps_ana / wps_tok:.2f} (required >= 1.0)")
    print(
        f"peak memory: process max RSS {rss_mb:.0f} MB; analysis peak allocations {peak / 1e6:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
