#!/usr/bin/env python3
"""Checks Tests/Fixtures/classifier/holdout.jsonl: valid JSON Lines, a `_header` first line whose counts match the
examples, allowed field values, no duplicate texts (after folding case, accents and punctuation).

Usage: python3 Tests/Classifier/check_holdout.py [FILE]
Exits 1 and lists the problems when the file is not as described.
"""

import argparse
import collections
import json
import re
import sys
import unicodedata
from pathlib import Path

DEFAULT_FILE = Path(__file__).resolve().parents[1] / "Fixtures" / "classifier" / "holdout.jsonl"
LABELS = ("Hardware", "Software")
LANGS = ("es", "en")
HARD_KINDS = ("negation", "cause", "mixed", "english", "typo", "short")
KINDS = ("plain",) + HARD_KINDS
FIELDS = {"text", "label", "lang", "hard", "kind"}


def fold(text):
    """Lower case, no accents, only letters and digits separated by single spaces (the duplicate key)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z0-9ñ]+", stripped))


def summary(examples):
    """The one-line count summary that the header must contain."""
    labels = collections.Counter(e["label"] for e in examples)
    langs = collections.Counter(e["lang"] for e in examples)
    kinds = collections.Counter(e["kind"] for e in examples)
    hard = sum(e["hard"] for e in examples)
    by_kind = ", ".join(
        f"{kind} {kinds[kind]} ({sum(e['label'] == 'Hardware' for e in examples if e['kind'] == kind)} H / "
        f"{sum(e['label'] == 'Software' for e in examples if e['kind'] == kind)} S; "
        f"{sum(e['lang'] == 'es' for e in examples if e['kind'] == kind)} es / "
        f"{sum(e['lang'] == 'en' for e in examples if e['kind'] == kind)} en)"
        for kind in KINDS
    )
    return (
        f"counts: {len(examples)} examples; Hardware {labels['Hardware']}, Software {labels['Software']}; "
        f"es {langs['es']}, en {langs['en']}; hard {hard}, not hard {len(examples) - hard}; kinds: {by_kind}"
    )


def problems_in(example, number):
    """What is wrong with one example line (empty when nothing is)."""
    found = []
    if set(example) != FIELDS:
        found.append(f"line {number}: fields {sorted(example)}, expected {sorted(FIELDS)}")
        return found
    if not isinstance(example["text"], str) or not example["text"].strip():
        found.append(f"line {number}: empty text")
    if example["label"] not in LABELS:
        found.append(f"line {number}: label {example['label']!r}")
    if example["lang"] not in LANGS:
        found.append(f"line {number}: lang {example['lang']!r}")
    if example["kind"] not in KINDS:
        found.append(f"line {number}: kind {example['kind']!r}")
    if example["hard"] is not (example["kind"] != "plain"):
        found.append(f"line {number}: hard must be true exactly when kind is not plain")
    if example["kind"] == "english" and example["lang"] != "en":
        found.append(f"line {number}: kind english with lang {example['lang']}")
    if example["kind"] == "short" and not 2 <= len(example["text"].split()) <= 4:
        found.append(f"line {number}: short text of {len(example['text'].split())} words")
    return found


def check(path):
    """Returns (examples, problems) for the file at `path`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    problems = []
    try:
        header = json.loads(lines[0])
    except (IndexError, json.JSONDecodeError) as error:
        return [], [f"line 1: not a JSON header ({error})"]
    if set(header) != {"_header"} or not isinstance(header["_header"], str):
        problems.append('line 1: must be {"_header": "..."} alone')
    examples = []
    seen = {}
    for number, line in enumerate(lines[1:], start=2):
        try:
            example = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(f"line {number}: not JSON ({error})")
            continue
        if not isinstance(example, dict):
            problems.append(f"line {number}: not a JSON object")
            continue
        found = problems_in(example, number)
        problems.extend(found)
        if found:
            continue
        key = fold(example["text"])
        if key in seen:
            problems.append(f"line {number}: duplicate of line {seen[key]}")
        seen[key] = number
        examples.append(example)
    expected = summary(examples)
    if not problems and expected not in header.get("_header", ""):
        problems.append(f"line 1: header does not contain the current counts: {expected}")
    return examples, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    arguments = parser.parse_args()
    examples, problems = check(arguments.file)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(summary(examples))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
