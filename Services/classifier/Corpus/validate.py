#!/usr/bin/env python3
"""Validate the Mostrador Hardware/Software ticket corpus (stdlib only).

Checks:
  * every line is a JSON object with exactly the keys "text" and "label"
  * label is "Hardware" or "Software", text is a non-empty string
  * at least MIN_LINES lines
  * each label holds between 45% and 55% of the lines
  * no exact duplicates after normalisation (lowercase, accents stripped,
    punctuation/emoji removed, whitespace collapsed)
  * no near-duplicates (character-trigram Jaccard >= NEAR_DUP_THRESHOLD)
Prints per-label counts, approximate English share and length statistics.
Exit code 0 when everything passes, 1 otherwise.
"""
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

MIN_LINES = 1800
LABELS = {"Hardware", "Software"}
BALANCE_RANGE = (0.45, 0.55)
NEAR_DUP_THRESHOLD = 0.85

EN_WORDS = set("""the is my it and to when doesnt doesn't dont don't wont won't i we our after with
this that its it's of on in for but was have has can can't cant not just anymore keeps
your please pls help hi hello there laptop's what how any screen won't""".split())
ES_WORDS = set("""el la de que no se y mi es con por para los las q ya me lo le un una
pero porque xq esta sale nada tengo puedo buenas hola dia tarde noche favor porfa""".split())


def strip_accents(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s)
                   if not unicodedata.combining(c))


def normalise(text):
    s = strip_accents(text.lower())
    s = re.sub(r"[^\w\s]", " ", s)  # punctuation and emoji
    s = re.sub(r"\s+", " ", s).strip()
    return s


def trigrams(s):
    s = f"  {s} "
    return frozenset(s[i:i + 3] for i in range(len(s) - 2))


def is_english(text):
    toks = re.findall(r"[a-z']+", strip_accents(text.lower()))
    en = sum(t in EN_WORDS for t in toks)
    es = sum(t in ES_WORDS for t in toks)
    return en > es


def main(path):
    errors = []
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, raw in enumerate(fh, 1):
            line = raw.rstrip("\n")
            if not line.strip():
                errors.append(f"line {n}: empty line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"line {n}: invalid JSON ({exc})")
                continue
            if not isinstance(obj, dict) or set(obj) != {"text", "label"}:
                errors.append(f"line {n}: expected exactly keys text, label")
                continue
            text, label = obj["text"], obj["label"]
            if label not in LABELS:
                errors.append(f"line {n}: bad label {label!r}")
            if not isinstance(text, str) or not text.strip():
                errors.append(f"line {n}: empty or non-string text")
                continue
            if text != text.strip():
                errors.append(f"line {n}: leading/trailing whitespace")
            rows.append((n, text, label))

    total = len(rows)
    counts = Counter(label for _, _, label in rows)
    if total < MIN_LINES:
        errors.append(f"only {total} valid lines, need >= {MIN_LINES}")
    for label in sorted(LABELS):
        share = counts[label] / total if total else 0
        if not BALANCE_RANGE[0] <= share <= BALANCE_RANGE[1]:
            errors.append(f"label {label} share {share:.1%} outside 45-55%")

    # exact duplicates after normalisation
    seen = {}
    norms = []
    for n, text, label in rows:
        key = normalise(text)
        norms.append(key)
        if key in seen:
            errors.append(f"line {n}: duplicate of line {seen[key]} ({text!r})")
        else:
            seen[key] = n

    # near duplicates: character trigram Jaccard, compared against texts of
    # similar length only (Jaccard >= t implies length ratio >= t)
    grams = [trigrams(s) for s in norms]
    order = sorted(range(total), key=lambda i: len(grams[i]))
    near = 0
    for a_pos, i in enumerate(order):
        gi = grams[i]
        for j in order[a_pos + 1:]:
            gj = grams[j]
            if len(gi) < NEAR_DUP_THRESHOLD * len(gj):
                break
            inter = len(gi & gj)
            if inter / (len(gi) + len(gj) - inter) >= NEAR_DUP_THRESHOLD \
                    and norms[i] != norms[j]:
                near += 1
                a, b = sorted((rows[i][0], rows[j][0]))
                errors.append(f"lines {a} and {b}: near-duplicates "
                              f"({rows[i][1]!r} ~ {rows[j][1]!r})")

    # stats
    english = sum(is_english(t) for _, t, _ in rows)
    words = [len(t.split()) for _, t, _ in rows]
    chars = [len(t) for _, t, _ in rows]
    buckets = Counter()
    for w in words:
        buckets["1-3 words" if w <= 3 else "4-15 words" if w <= 15
                else "16-40 words" if w <= 40 else "41+ words"] += 1
    print(f"file: {path}")
    print(f"lines: {total}")
    for label in sorted(LABELS):
        print(f"  {label}: {counts[label]} ({counts[label] / max(total, 1):.1%})")
    print(f"english (approx): {english} ({english / max(total, 1):.1%})")
    print(f"avg length: {sum(chars) / max(total, 1):.1f} chars, "
          f"{sum(words) / max(total, 1):.1f} words (min {min(words, default=0)}, "
          f"max {max(words, default=0)})")
    for b in ("1-3 words", "4-15 words", "16-40 words", "41+ words"):
        print(f"  {b}: {buckets[b]}")

    if errors:
        print(f"\nFAILED: {len(errors)} problem(s)")
        for e in errors[:200]:
            print("  " + e)
        return 1
    print("\nOK: all checks passed")
    return 0


if __name__ == "__main__":
    default = Path(__file__).with_name("corpus.jsonl")
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else default))
