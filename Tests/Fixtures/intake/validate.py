#!/usr/bin/env python3
"""Checks Tests/Fixtures/intake/dialogues.json: structure, allowed acts and field names, and the parts of the
intake spec (README.md beside this file) that can be checked from the acts alone: the order of steps, R1, R2,
R4, R5 (including the third-summary rule), R6, that the name is never asked when there is a push name, and that
every expected substring was really written by the customer. It does not extract fields: that is the bot's job.

Usage: python3 validate.py [path/to/dialogues.json]   (exit status 1 on any error)
Standard library only.
"""
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

ACTS = ["greeting", "ask_name", "ask_problem", "ask_equipment", "invite_photos", "photo_received",
        "summary", "done", "handoff"]
ASKS = ["ask_name", "ask_problem", "ask_equipment"]
DIALOGUE_KEYS = {"id", "about", "language", "push_name", "turns", "expect"}
EXPECT_KEYS = {"name", "equipment_contains", "asset", "location_contains", "problem_contains",
               "problem_excludes", "photos", "finished", "label"}
LABELS = {"Hardware", "Software"}

# Word lists of the spec, per language (R4, R5, R3's "don't know", R2).
NO_MORE_PHOTOS = {"es": {"listo", "no", "no tengo fotos", "sin fotos", "ya", "es todo"},
                  "en": {"done", "no photos", "that's all"}}
CONFIRM = {"es": {"sí", "si", "correcto", "está bien", "así es", "ok"},
           "en": {"yes", "correct", "that's right", "ok"}}
DONT_KNOW = {"es": {"no sé", "no lo sé", "ni idea"}, "en": {"i don't know"}}
HANDOFF_WORDS = ["agente", "humano", "asesor", "persona", "human", "agent"]
NAME_TRIGGERS = ["soy", "me llamo", "mi nombre es", "habla", "le escribe", "i'm", "my name is", "this is"]
ASSET_FORMATS = ["activo", "inventario", "s/n", "número de serie", "service tag", "asset tag"]
SOFTWARE = ["Outlook", "Excel", "CONTPAQi", "Aspel", "Windows", "VPN"]
REQUIRED_IDS = ["laptop-activo-contabilidad", "push-name-lucia-name-as-problem-answer"]


def norm(s):
    return unicodedata.normalize("NFC", s).strip().lower()


def words(s):
    return re.findall(r"[\w'’/.-]+", s)


def no_dup_keys(pairs):
    keys = [k for k, _ in pairs]
    dups = [k for k, n in Counter(keys).items() if n > 1]
    if dups:
        raise ValueError(f"duplicate keys {dups}")
    return dict(pairs)


def main(path):
    errors, notes = [], []
    raw = Path(path).read_text(encoding="utf-8")
    doc = json.loads(raw, object_pairs_hook=no_dup_keys)

    def err(where, msg):
        errors.append(f"{where}: {msg}")

    if set(doc) != {"_about", "dialogues"}:
        err("top", f"keys must be _about and dialogues, got {sorted(doc)}")
    if not isinstance(doc.get("_about"), str) or len(doc["_about"]) < 40:
        err("top", "_about must be a paragraph")
    ds = doc.get("dialogues", [])
    if not isinstance(ds, list) or len(ds) < 45:
        err("top", f"need at least 45 dialogues, have {len(ds) if isinstance(ds, list) else '?'}")
        ds = ds if isinstance(ds, list) else []

    ids = Counter(d.get("id") for d in ds)
    for i, n in ids.items():
        if n > 1:
            err("top", f"id {i!r} used {n} times")
    for rid in REQUIRED_IDS:
        if rid not in ids:
            err("top", f"required dialogue {rid!r} missing")

    all_text = []  # every customer text/caption, for coverage
    for d in ds:
        w = d.get("id", "?")
        if set(d) != DIALOGUE_KEYS:
            err(w, f"keys {sorted(d)} != {sorted(DIALOGUE_KEYS)}")
            continue
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", d["id"]):
            err(w, "id must be kebab-case ascii")
        if not isinstance(d["about"], str) or not d["about"].strip():
            err(w, "about must be a non-empty string")
        lang = d["language"]
        if lang not in ("es", "en"):
            err(w, f"language {lang!r}")
            continue
        push = d["push_name"]
        if push is not None and (not isinstance(push, str) or not push.strip()):
            err(w, "push_name must be null or a non-empty string")
        turns, ex = d["turns"], d["expect"]
        if not isinstance(turns, list) or not turns:
            err(w, "turns must be a non-empty list")
            continue

        texts = []
        ok = True
        for n, t in enumerate(turns):
            tw = f"{w} turn {n + 1}"
            if set(t) == {"customer", "acts"}:
                if not isinstance(t["customer"], str) or not t["customer"].strip():
                    err(tw, "customer must be a non-empty string"); ok = False
                else:
                    texts.append(t["customer"])
            elif set(t) == {"image", "caption", "acts"}:
                if t["image"] is not True:
                    err(tw, "image must be true"); ok = False
                if t["caption"] is not None and (not isinstance(t["caption"], str) or not t["caption"].strip()):
                    err(tw, "caption must be null or a non-empty string"); ok = False
                if t["caption"]:
                    texts.append(t["caption"])
            else:
                err(tw, f"turn keys {sorted(t)}"); ok = False
                continue
            if not isinstance(t["acts"], list) or any(a not in ACTS for a in t["acts"]):
                err(tw, f"acts {t['acts']!r} not all in {ACTS}"); ok = False
        if not ok:
            continue
        all_text += texts
        joined = norm("\n".join(texts))

        # ---- acts, step by step ----
        phase, photos, summaries, last_ask = "collect", 0, 0, -1
        asked = Counter()
        prev_acts = None
        for n, t in enumerate(turns):
            tw = f"{w} turn {n + 1}"
            acts, is_img = t["acts"], "image" in t
            text = None if is_img else norm(t["customer"])
            last = n == len(turns) - 1
            if "greeting" in acts and n != 0:
                err(tw, "greeting only in the first turn")
            if ("done" in acts or "handoff" in acts) and (acts not in (["done"], ["handoff"]) or not last):
                err(tw, "done/handoff must be the only act of the last turn")
            if last and acts not in (["done"], ["handoff"]):
                err(tw, "the last turn must end the intake with done or handoff")
            if is_img:
                photos += 1
            # R2, both ways: a short request for a person is a handoff, and a handoff is one
            if text is not None:
                short = len(words(text)) <= 8
                asks_person = any(re.search(rf"\b{k}\b", text) for k in HANDOFF_WORDS)
                if acts == ["handoff"] and not (short and asks_person):
                    err(tw, "handoff needs a message of <= 8 words asking for a person")
                if short and asks_person and acts != ["handoff"]:
                    err(tw, "short message asking for a person must get ['handoff'] (R2)")
            if acts == ["handoff"]:
                if phase != "collect":
                    err(tw, "hand-offs are kept out of the photo and summary steps (spec leaves the order open)")
                if n == 0:
                    err(tw, "a hand-off as the very first message is left out (R1 vs R2 is open)")
                prev_acts = acts
                continue

            if n == 0:  # R1
                if len(acts) != 2 or acts[0] != "greeting" or acts[1] not in ASKS + ["invite_photos", "summary"]:
                    err(tw, f"first turn must be ['greeting', <R3 act>], got {acts}")
                    break
                act = acts[1]
            elif phase == "collect":
                if is_img:  # R6
                    if acts != []:
                        err(tw, "an image before the photo step gets [] (R6)")
                    continue
                if len(acts) != 1 or acts[0] not in ASKS + ["invite_photos", "summary"]:
                    err(tw, f"before the photo step a text gets one R3 act, got {acts}")
                    continue
                act = acts[0]
            elif phase == "photos":  # R4
                want = ["photo_received"] if is_img else ["summary"]
                if acts != want:
                    err(tw, f"at the photo step expected {want}, got {acts}")
                if acts == ["summary"]:
                    phase, summaries = "summary", 1
                continue
            else:  # R5
                if is_img:
                    want = ["photo_received"]
                elif summaries >= 3 or text in CONFIRM[lang]:
                    want = ["done"]
                else:
                    want = ["summary"]
                if acts != want:
                    err(tw, f"at the summary step (summaries so far {summaries}) expected {want}, got {acts}")
                if acts == ["summary"]:
                    summaries += 1
                continue

            # an R3 act, in the first turn or while collecting
            if act == "ask_name" and push is not None:
                err(tw, "ask_name with a push name (R3)")
            if act in ASKS:
                idx = ASKS.index(act)
                if idx < last_ask:
                    err(tw, f"{act} after {ASKS[last_ask]}: a filled slot never empties again")
                last_ask = idx
                asked[act] += 1
                if asked[act] > 1:
                    notes.append(f"{tw}: {act} asked again (must be an R7 re-ask or an out-of-order answer)")
            elif act == "invite_photos":
                if photos:
                    err(tw, "invite_photos after a photo was received (R3 says summary)")
                phase = "photos"
            elif act == "summary":
                if not photos:
                    err(tw, "summary straight from R3 needs an earlier photo")
                phase, summaries = "summary", 1
            # R4/R5 words outside their steps would test nothing; flag them
            if n > 0 and text is not None and (text in NO_MORE_PHOTOS[lang] or text in CONFIRM[lang]):
                notes.append(f"{tw}: keyword {text!r} sent outside the photo/summary step")
            prev_acts = acts

        # language-specific words (R9: the conversation's language is fixed by the first message)
        other = "en" if lang == "es" else "es"
        for t in turns:
            if "customer" in t:
                x = norm(t["customer"])
                if x in (NO_MORE_PHOTOS[other] | CONFIRM[other] | DONT_KNOW[other]) - CONFIRM[lang] - NO_MORE_PHOTOS[lang]:
                    err(w, f"{x!r} is a keyword of the other language")

        # ---- names: triggers must be followed by a capitalised word; bare 2-3 capitalised words = the name ----
        for x in texts:
            for trig in NAME_TRIGGERS:
                for m in re.finditer(rf"(?<![\w']){re.escape(trig)}\s+(\S+)", x, flags=re.I):
                    nxt = m.group(1)
                    if not nxt[:1].isupper():
                        err(w, f"name trigger {trig!r} followed by {nxt!r}: would read a false name")
            lastline = x.strip().split("\n")[-1].strip()
            lw = lastline.split()
            if 2 <= len(lw) <= 3 and all(t[:1].isupper() and t.isalpha() for t in lw):
                if lastline != ex.get("name"):
                    err(w, f"last line {lastline!r} looks like a signature name but is not the expected name")

        # ---- expect ----
        if set(ex) != EXPECT_KEYS:
            err(w, f"expect keys {sorted(ex)} != {sorted(EXPECT_KEYS)}")
            continue
        name = ex["name"]
        if name is None:
            if push is not None:
                err(w, "expect.name null but there is a push name (it is the fallback)")
        elif not isinstance(name, str) or not name.strip():
            err(w, "expect.name must be a string or null")
        elif name != push and name not in "\n".join(texts):
            err(w, f"expected name {name!r} is neither the push name nor written by the customer")
        for key in ("equipment_contains", "problem_contains", "problem_excludes"):
            v = ex[key]
            if not isinstance(v, list) or any(not isinstance(s, str) or not s.strip() for s in v):
                err(w, f"{key} must be a list of non-empty strings")
        for key in ("equipment_contains", "problem_contains"):
            for s in ex[key]:
                if norm(s) not in joined:
                    err(w, f"{key} {s!r} not written by the customer")
        if ex["finished"] == "done" and not ex["problem_contains"]:
            err(w, "a finished intake must have a problem to check")
        for s in ex["problem_excludes"]:
            for c in ex["problem_contains"]:
                if norm(s) in norm(c):
                    err(w, f"problem_excludes {s!r} is inside problem_contains {c!r}")
        for key in ("asset", "location_contains"):
            v = ex[key]
            if v is not None and (not isinstance(v, str) or norm(v) not in joined):
                err(w, f"{key} {v!r} must be null or written by the customer")
        if not isinstance(ex["photos"], int) or isinstance(ex["photos"], bool) or ex["photos"] != photos:
            err(w, f"photos {ex['photos']!r} != image turns {photos}")
        if ex["finished"] not in ("done", "handoff") or [ex["finished"]] != turns[-1]["acts"]:
            err(w, f"finished {ex['finished']!r} must match the last act {turns[-1]['acts']}")
        if ex["label"] not in LABELS:
            err(w, f"label {ex['label']!r}")
        if ex["finished"] == "done" and not ex["equipment_contains"] and ex["asset"] is None:
            answered = any(
                "customer" in turns[k + 1] and norm(turns[k + 1]["customer"]) in DONT_KNOW[lang]
                for k, t in enumerate(turns[:-1]) if "ask_equipment" in t["acts"])
            if not answered:
                err(w, "no equipment and no asset, but the equipment question was never answered 'no sé'")

    # ---- coverage ----
    text = "\n".join(all_text)
    low = norm(text)
    cov = {
        "dialogues": len(ds),
        "English": sum(d.get("language") == "en" for d in ds),
        "handoff": sum(d["turns"][-1]["acts"] == ["handoff"] for d in ds if d.get("turns")),
        "with push name": sum(d.get("push_name") is not None for d in ds),
        "with images": sum(any("image" in t for t in d.get("turns", [])) for d in ds),
        "Software": sum(d.get("expect", {}).get("label") == "Software" for d in ds),
    }
    acts_used = Counter(a for d in ds for t in d.get("turns", []) for a in t.get("acts", []))
    for a in ACTS:
        if not acts_used[a]:
            err("coverage", f"act {a} never used")
    for f in ASSET_FORMATS:
        if f not in low:
            err("coverage", f"asset format {f!r} never used")
    for trig in NAME_TRIGGERS:
        if not re.search(rf"(?<![\w']){re.escape(trig)}\s", low):
            err("coverage", f"name pattern {trig!r} never used")
    if not re.search(r"\n(saludos|gracias|thanks|atte\.?),?\n", low):
        err("coverage", "no signature line")
    for sw in SOFTWARE:
        if sw.lower() not in low:
            err("coverage", f"software product {sw} never used")
    if cov["English"] < 10:
        err("coverage", "fewer than 10 English dialogues")

    for n in notes:
        print("note:", n)
    print("coverage:", ", ".join(f"{k} {v}" for k, v in cov.items()))
    print("acts used:", ", ".join(f"{a} {acts_used[a]}" for a in ACTS))
    if errors:
        for e in errors:
            print("ERROR:", e)
        print(f"{len(errors)} error(s)")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    default = Path(__file__).with_name("dialogues.json")
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else default))
