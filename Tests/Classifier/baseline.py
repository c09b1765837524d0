#!/usr/bin/env python3
"""Compares our Swift ticket classifier with a standard scikit-learn baseline on the same data.

Both models learn from the same 80% of Services/classifier/Corpus/corpus.jsonl (the split is written by
`mostrador-classifier train --training-split --write-split`, so it is the one the Swift model uses) and are measured
on the corpus's held-out 20% and on the independent set Tests/Fixtures/classifier/holdout.jsonl.

The baseline: TF-IDF of word 1-2-grams and char_wb 2-5-grams (lower case, accents folded) feeding a logistic
regression, C=10 or chosen by 5-fold cross-validation on the training split only (--choose-c).

Usage:
    pip install -q scikit-learn
    python3 Tests/Classifier/baseline.py [--bin-dir DIR] [--holdout FILE] [--choose-c] [--markdown-out FILE]

Prints a markdown table. Exits 0 whatever the figures, 2 on an error (a failing command, a malformed file).
"""

import argparse
import dataclasses
import datetime
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_HOLDOUT = REPO_ROOT / "Tests" / "Fixtures" / "classifier" / "holdout.jsonl"
EXECUTABLE = "mostrador-classifier"
LABELS = ("Hardware", "Software")
UNKNOWN = "unknown"
HARD_KINDS = ("negation", "cause", "mixed", "english", "typo", "short")
DEFAULT_C = 10.0
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
CV_FOLDS = 5
SEED = 0


class BaselineError(Exception):
    """Something that stops the comparison: a command that failed or a file that is not as expected."""


@dataclasses.dataclass(frozen=True)
class Example:
    """One labelled text; lang, hard and kind only in the hold-out set."""

    text: str
    label: str
    lang: str | None = None
    hard: bool | None = None
    kind: str | None = None


@dataclasses.dataclass(frozen=True)
class Prediction:
    """Our model's answer for one text, as `eval --json` prints it."""

    predicted: str
    argmax: str
    confidence: float


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the table: a subset and the figures of both models on it."""

    name: str
    count: int
    argmax_accuracy: float
    decided_share: float
    decided_accuracy: float | None
    baseline_accuracy: float


def load_examples(path):
    """Examples of a JSON Lines file, skipping a `{"_header": ...}` line."""
    examples = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise BaselineError(f"cannot read {path}: {error}") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise BaselineError(f"{path}:{number}: not JSON ({error})") from error
        if "_header" in record:
            continue
        try:
            examples.append(
                Example(
                    text=record["text"],
                    label=record["label"],
                    lang=record.get("lang"),
                    hard=record.get("hard"),
                    kind=record.get("kind"),
                )
            )
        except (KeyError, TypeError) as error:
            raise BaselineError(f"{path}:{number}: no text or label") from error
    return examples


def run(command, cwd=None):
    """Runs a command and returns its standard output, or raises with its standard error."""
    try:
        finished = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as error:
        raise BaselineError(f"cannot run {command[0]}: {error}") from error
    if finished.returncode != 0:
        raise BaselineError(f"{' '.join(map(str, command))} exited {finished.returncode}:\n{finished.stderr.strip()}")
    return finished.stdout


def default_bin_dir():
    """The folder `swift build` puts executables in (the command only prints the path, it builds nothing)."""
    return Path(run(["swift", "build", "--show-bin-path"], cwd=REPO_ROOT).strip())


def write_split(executable, folder):
    """Trains our model on the fixed 80% split and writes that split; returns (training, held-out, model) paths."""
    model = folder / "model.json"
    run([executable, "train", "--training-split", "--write-split", str(folder), "--output", str(model)])
    paths = (folder / "training.jsonl", folder / "held-out.jsonl", model)
    for path in paths:
        if not path.is_file():
            raise BaselineError(f"{executable} train did not write {path}")
    return paths


def our_predictions(executable, model, path, examples):
    """Our model's predictions for the examples of `path`, in file order, from `eval --json`."""
    output = run([executable, "eval", str(path), "--model", str(model), "--json"])
    # Only the JSON lines are predictions; anything else the command prints (a summary) is not.
    records = []
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise BaselineError(f"eval --json printed a line that is not JSON: {line[:120]}") from error
    if len(records) != len(examples):
        raise BaselineError(f"eval --json gave {len(records)} predictions for the {len(examples)} examples of {path}")
    predictions = []
    for number, (record, example) in enumerate(zip(records, examples), start=1):
        try:
            text, gold = record["text"], record["gold"]
            prediction = Prediction(
                predicted=record["predicted"], argmax=record["argmax"], confidence=float(record["confidence"])
            )
        except (KeyError, TypeError, ValueError) as error:
            raise BaselineError(
                f"eval --json prediction {number} lacks text, gold, predicted, argmax or confidence"
            ) from error
        if text != example.text or gold != example.label:
            raise BaselineError(f"eval --json prediction {number} is for another example: {text[:80]!r}")
        if prediction.predicted not in LABELS + (UNKNOWN,) or prediction.argmax not in LABELS:
            raise BaselineError(
                f"eval --json prediction {number} has labels {prediction.predicted}/{prediction.argmax}"
            )
        predictions.append(prediction)
    return predictions


def baseline_pipeline(c):
    """TF-IDF word 1-2-grams + char_wb 2-5-grams, lower case and accents folded, into a logistic regression."""

    def tfidf(analyzer, ngrams):
        # lowercase is TfidfVectorizer's default; strip_accents folds "contraseña" and "contrasena" together.
        return TfidfVectorizer(analyzer=analyzer, ngram_range=ngrams, strip_accents="unicode", sublinear_tf=True)

    features = FeatureUnion([("words", tfidf("word", (1, 2))), ("chars", tfidf("char_wb", (2, 5)))])
    return Pipeline([("features", features), ("model", LogisticRegression(C=c, solver="liblinear"))])


def train_baseline(examples, choose_c):
    """The fitted baseline and its C (C_GRID's best by cross-validation on these examples, or DEFAULT_C)."""
    texts = [example.text for example in examples]
    labels = [example.label for example in examples]
    if not choose_c:
        return baseline_pipeline(DEFAULT_C).fit(texts, labels), DEFAULT_C
    search = GridSearchCV(
        baseline_pipeline(DEFAULT_C),
        {"model__C": list(C_GRID)},
        cv=StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=SEED),
        scoring="accuracy",
    )
    search.fit(texts, labels)
    return search.best_estimator_, search.best_params_["model__C"]


def only_labelled(examples, predictions):
    """Keeps the examples whose gold label is Hardware or Software (the corpus may also hold `unknown`)."""
    kept = [(example, prediction) for example, prediction in zip(examples, predictions) if example.label in LABELS]
    return [example for example, _ in kept], [prediction for _, prediction in kept]


def row(name, examples, ours, baseline):
    """The figures of both models on one subset (parallel lists), or None for an empty subset."""
    if not examples:
        return None
    count = len(examples)
    decided = [(example, prediction) for example, prediction in zip(examples, ours) if prediction.predicted != UNKNOWN]
    return Row(
        name=name,
        count=count,
        argmax_accuracy=sum(p.argmax == e.label for e, p in zip(examples, ours)) / count,
        decided_share=len(decided) / count,
        decided_accuracy=(sum(p.predicted == e.label for e, p in decided) / len(decided)) if decided else None,
        baseline_accuracy=sum(b == e.label for e, b in zip(examples, baseline)) / count,
    )


def holdout_rows(examples, ours, baseline):
    """Rows for the hold-out set: all, hard, English, plain, then each hard kind."""
    subsets = [
        ("hold-out: all", lambda e: True),
        ("hold-out: hard", lambda e: e.hard is True),
        ("hold-out: English", lambda e: e.lang == "en"),
        ("hold-out: plain (not hard)", lambda e: e.hard is False),
    ] + [(f"hold-out: kind {kind}", lambda e, kind=kind: e.kind == kind) for kind in HARD_KINDS]
    rows = []
    for name, keep in subsets:
        chosen = [index for index, example in enumerate(examples) if keep(example)]
        subset_row = row(name, [examples[i] for i in chosen], [ours[i] for i in chosen], [baseline[i] for i in chosen])
        if subset_row:
            rows.append(subset_row)
    return rows


def percent(value):
    """A share as a percentage with one decimal, or a dash when there is none."""
    return "–" if value is None else f"{value * 100:.1f}%"


def markdown(rows, notes):
    """The comparison as a markdown table, with notes above it."""
    lines = [f"- {note}" for note in notes] + [
        "",
        "| subset | n | ours, argmax | ours, decided share | ours, accuracy on decided | baseline |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for item in rows:
        lines.append(
            f"| {item.name} | {item.count} | {percent(item.argmax_accuracy)} | {percent(item.decided_share)} | "
            f"{percent(item.decided_accuracy)} | {percent(item.baseline_accuracy)} |"
        )
    return "\n".join(lines) + "\n"


def compare(executable, holdout, choose_c):
    """Runs both models on both evaluation sets and returns the markdown report."""
    holdout_all = load_examples(holdout)
    with tempfile.TemporaryDirectory(prefix="mostrador-baseline-") as folder:
        training_path, held_out_path, model = write_split(executable, Path(folder))
        training = [example for example in load_examples(training_path) if example.label in LABELS]
        held_out_all = load_examples(held_out_path)
        held_out, ours_held_out = only_labelled(
            held_out_all, our_predictions(executable, model, held_out_path, held_out_all)
        )
        holdout_examples, ours_holdout = only_labelled(
            holdout_all, our_predictions(executable, model, holdout, holdout_all)
        )
    baseline, c = train_baseline(training, choose_c)
    baseline_held_out = list(baseline.predict([example.text for example in held_out])) if held_out else []
    baseline_holdout = (
        list(baseline.predict([example.text for example in holdout_examples])) if holdout_examples else []
    )
    rows = [
        item
        for item in [row("corpus held-out 20%", held_out, ours_held_out, baseline_held_out)]
        + holdout_rows(holdout_examples, ours_holdout, baseline_holdout)
        if item
    ]
    notes = [
        f"{datetime.date.today().isoformat()}: trained on {len(training)} examples (the corpus's 80% split)",
        f"baseline: TF-IDF word 1-2 + char_wb 2-5 grams, accents folded, logistic regression (liblinear), C={c:g}"
        + (f" chosen by {CV_FOLDS}-fold CV on the training split from {list(C_GRID)}" if choose_c else ""),
        "ours, argmax: label always decided; decided share and accuracy on decided: at the model's threshold",
        f"hold-out set: {Path(holdout).name} (never used for training or tuning)",
    ]
    dropped = len(held_out_all) - len(held_out) + len(holdout_all) - len(holdout_examples)
    if dropped:
        notes.append(f"{dropped} example(s) with a gold label other than Hardware/Software left out")
    return markdown(rows, notes)


def parse_arguments(argv):
    """The command-line options."""
    parser = argparse.ArgumentParser(
        description="Compare our Swift classifier with a TF-IDF + logistic-regression baseline."
    )
    parser.add_argument(
        "--bin-dir", type=Path, help=f"folder holding {EXECUTABLE} (default: `swift build --show-bin-path`)"
    )
    parser.add_argument("--holdout", type=Path, default=DEFAULT_HOLDOUT, help="independent hold-out set (JSONL)")
    parser.add_argument(
        "--choose-c",
        action="store_true",
        help=f"choose the baseline's C by {CV_FOLDS}-fold CV on the training split (default: C={DEFAULT_C:g})",
    )
    parser.add_argument("--markdown-out", type=Path, help="also write the report to this file")
    return parser.parse_args(argv)


def main(argv=None):
    arguments = parse_arguments(argv)
    try:
        bin_dir = arguments.bin_dir or default_bin_dir()
        executable = bin_dir / EXECUTABLE
        if not executable.is_file():
            raise BaselineError(f"no {EXECUTABLE} in {bin_dir}: build it first (swift build --product {EXECUTABLE})")
        report = compare(executable, arguments.holdout, arguments.choose_c)
        if arguments.markdown_out:
            arguments.markdown_out.write_text(report, encoding="utf-8")
    except (BaselineError, OSError) as error:
        print(f"baseline.py: {error}", file=sys.stderr)
        return 2
    print(report, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
