"""The bridge's own SQLite file: the durable webhook queue, the idempotency keys, the ids we sent and the
recent inbound messages (so an outbound reply can quote them).

WAL journal with synchronous=FULL: a committed `enqueue` is on disk when it returns, so an event written
inside the WhatsApp callback survives a crash or a power cut. One connection shared by every thread, behind
a lock (the writes are tiny; the lock also makes each read-modify-write atomic).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

INBOUND_KEEP = 5000  # recent inbound messages kept for quoting (also dropped after `idempotency_days`)
QUOTE_TEXT_MAX = 4096  # characters of each one kept: a quote bubble shows a couple of lines

SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,                  -- 'mensaje' | 'estado'
    dedup_key TEXT UNIQUE,               -- one row per WhatsApp event while it is queued
    payload TEXT NOT NULL,               -- the JSON body for Mostrador (without the image while media_ref is set)
    media_ref BLOB,                      -- what the client needs to download the attachment, until it is fetched
    media_mimetype TEXT,
    media_attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',   -- 'pending' | 'dead'
    attempts INTEGER NOT NULL DEFAULT 0,
    last_status INTEGER,
    last_error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_queue_status ON webhook_queue (status, id);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL,                 -- 'pending' (send under way) | 'done'
    response TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sent_messages (
    message_id TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS inbound_messages (
    message_id TEXT PRIMARY KEY,
    sender TEXT NOT NULL,                -- the customer's JID as WhatsApp addressed the message
    sender_alt TEXT,                     -- their other address (phone <-> LID), when known
    text TEXT NOT NULL,                  -- what a reply quoting it shows (its text or caption, truncated)
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


@dataclass
class InboundRecord:
    message_id: str
    sender: str
    sender_alt: Optional[str]
    text: str
    created_at: float


@dataclass
class QueueItem:
    id: int
    kind: str
    payload: dict
    media_ref: Optional[bytes]
    media_mimetype: Optional[str]
    media_attempts: int
    attempts: int
    created_at: float


class Store:
    def __init__(self, path: str, clock: Callable[[], float] = time.time):
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        self.path = path
        self.clock = clock
        self.lock = threading.Lock()
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=30000")
        with self.lock:
            self.db.executescript(SCHEMA)

    def close(self) -> None:
        with self.lock:
            self.db.close()

    # -- webhook queue -----------------------------------------------------------------------------------------

    def enqueue(self, kind: str, payload: dict, *, dedup_key: Optional[str] = None,
                media_ref: Optional[bytes] = None, media_mimetype: Optional[str] = None) -> bool:
        """Durably queues one webhook. False when an item with the same dedup_key is already queued."""
        now = self.clock()
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        with self.lock:
            cur = self.db.execute(
                "INSERT OR IGNORE INTO webhook_queue (kind, dedup_key, payload, media_ref, media_mimetype,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (kind, dedup_key, body, media_ref, media_mimetype, now, now))
            return cur.rowcount == 1

    def next_pending(self) -> Optional[QueueItem]:
        with self.lock:
            row = self.db.execute(
                "SELECT id, kind, payload, media_ref, media_mimetype, media_attempts, attempts, created_at"
                " FROM webhook_queue WHERE status = 'pending' ORDER BY id LIMIT 1").fetchone()
        if row is None:
            return None
        return QueueItem(row[0], row[1], json.loads(row[2]), row[3], row[4], row[5], row[6], row[7])

    def replace_payload(self, item_id: int, payload: dict) -> None:
        """The attachment was fetched (or given up): the payload is final, the media reference goes."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        with self.lock:
            self.db.execute(
                "UPDATE webhook_queue SET payload = ?, media_ref = NULL, updated_at = ? WHERE id = ?",
                (body, self.clock(), item_id))

    def media_failed(self, item_id: int, error: str) -> int:
        with self.lock:
            self.db.execute(
                "UPDATE webhook_queue SET media_attempts = media_attempts + 1, last_error = ?, updated_at = ?"
                " WHERE id = ?", (error[:1000], self.clock(), item_id))
            row = self.db.execute("SELECT media_attempts FROM webhook_queue WHERE id = ?", (item_id,)).fetchone()
        return row[0] if row else 0

    def delivered(self, item_id: int) -> None:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute("DELETE FROM webhook_queue WHERE id = ?", (item_id,))
                self._bump("webhooks_delivered")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def attempt_failed(self, item_id: int, status: Optional[int], error: str) -> None:
        with self.lock:
            self.db.execute(
                "UPDATE webhook_queue SET attempts = attempts + 1, last_status = ?, last_error = ?, updated_at = ?"
                " WHERE id = ?", (status, error[:1000], self.clock(), item_id))

    def mark_dead(self, item_id: int, status: Optional[int], error: str) -> None:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute(
                    "UPDATE webhook_queue SET status = 'dead', attempts = attempts + 1, last_status = ?,"
                    " last_error = ?, dedup_key = NULL, updated_at = ? WHERE id = ?",
                    (status, error[:1000], self.clock(), item_id))
                self._bump("webhooks_dead")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def pending_count(self) -> int:
        with self.lock:
            return self.db.execute("SELECT COUNT(*) FROM webhook_queue WHERE status = 'pending'").fetchone()[0]

    def dead_items(self, limit: int = 50) -> list[dict]:
        with self.lock:
            rows = self.db.execute(
                "SELECT id, kind, payload, last_status, last_error, created_at FROM webhook_queue"
                " WHERE status = 'dead' ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [{"id": r[0], "kind": r[1], "payload": json.loads(r[2]), "last_status": r[3], "last_error": r[4],
                 "created_at": r[5]} for r in rows]

    # -- counters ----------------------------------------------------------------------------------------------

    def _bump(self, name: str, by: int = 1) -> None:
        # call with the lock held
        self.db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + ?",
            (name, by, by))

    def bump(self, name: str, by: int = 1) -> None:
        with self.lock:
            self._bump(name, by)

    def counters(self) -> dict[str, int]:
        with self.lock:
            return dict(self.db.execute("SELECT name, value FROM counters").fetchall())

    def queue_snapshot(self) -> tuple[int, dict[str, int]]:
        """Pending webhooks and the counters read together: a webhook delivered between two separate reads showed
        as neither pending nor delivered."""
        with self.lock:
            pending = self.db.execute("SELECT COUNT(*) FROM webhook_queue WHERE status = 'pending'").fetchone()[0]
            return pending, dict(self.db.execute("SELECT name, value FROM counters").fetchall())

    # -- idempotency -------------------------------------------------------------------------------------------

    def idempotency_get(self, key: str) -> Optional[dict[str, Any]]:
        with self.lock:
            row = self.db.execute(
                "SELECT fingerprint, state, response, created_at FROM idempotency WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return {"fingerprint": row[0], "state": row[1], "response": json.loads(row[2]) if row[2] else None,
                "created_at": row[3]}

    def idempotency_begin(self, key: str, fingerprint: str) -> None:
        """Marks the send as under way (a crash mid-send leaves this 'pending' row behind)."""
        with self.lock:
            self.db.execute(
                "INSERT OR REPLACE INTO idempotency (key, fingerprint, state, response, created_at)"
                " VALUES (?, ?, 'pending', NULL, ?)", (key, fingerprint, self.clock()))

    def idempotency_finish(self, key: str, response: dict, message_id: str, recipient: str) -> None:
        now = self.clock()
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute(
                    "UPDATE idempotency SET state = 'done', response = ? WHERE key = ?",
                    (json.dumps(response, ensure_ascii=False), key))
                self.db.execute(
                    "INSERT OR IGNORE INTO sent_messages (message_id, recipient, created_at) VALUES (?, ?, ?)",
                    (message_id, recipient, now))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def idempotency_abort(self, key: str) -> None:
        """The send failed: nothing went out, a retry with the same key may send."""
        with self.lock:
            self.db.execute("DELETE FROM idempotency WHERE key = ? AND state = 'pending'", (key,))

    def record_sent(self, message_id: str, recipient: str) -> None:
        with self.lock:
            self.db.execute(
                "INSERT OR IGNORE INTO sent_messages (message_id, recipient, created_at) VALUES (?, ?, ?)",
                (message_id, recipient, self.clock()))

    def was_sent_by_us(self, message_id: str) -> bool:
        with self.lock:
            return self.db.execute(
                "SELECT 1 FROM sent_messages WHERE message_id = ?", (message_id,)).fetchone() is not None

    # -- recent inbound messages (for quoted replies) ------------------------------------------------------------

    def remember_inbound(self, message_id: str, sender: str, sender_alt: Optional[str], text: str,
                         keep: int = INBOUND_KEEP) -> None:
        """Keeps what a later reply quoting `message_id` shows; only the newest `keep` messages stay."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute(
                    "INSERT OR IGNORE INTO inbound_messages (message_id, sender, sender_alt, text, created_at)"
                    " VALUES (?, ?, ?, ?, ?)", (message_id, sender, sender_alt, text[:QUOTE_TEXT_MAX], self.clock()))
                self.db.execute(
                    "DELETE FROM inbound_messages WHERE rowid <= (SELECT rowid FROM inbound_messages"
                    " ORDER BY rowid DESC LIMIT 1 OFFSET ?)", (keep,))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def inbound_message(self, message_id: str) -> Optional[InboundRecord]:
        with self.lock:
            row = self.db.execute(
                "SELECT message_id, sender, sender_alt, text, created_at FROM inbound_messages WHERE message_id = ?",
                (message_id,)).fetchone()
        return InboundRecord(*row) if row is not None else None

    def purge(self, idempotency_days: float, dead_days: float = 30.0) -> int:
        """Drops idempotency keys, sent ids and remembered inbound messages older than `idempotency_days`, dead
        webhooks older than `dead_days`."""
        now = self.clock()
        with self.lock:
            removed = self.db.execute(
                "DELETE FROM idempotency WHERE created_at < ?", (now - idempotency_days * 86400,)).rowcount
            removed += self.db.execute(
                "DELETE FROM sent_messages WHERE created_at < ?", (now - idempotency_days * 86400,)).rowcount
            removed += self.db.execute(
                "DELETE FROM inbound_messages WHERE created_at < ?", (now - idempotency_days * 86400,)).rowcount
            removed += self.db.execute(
                "DELETE FROM webhook_queue WHERE status = 'dead' AND updated_at < ?",
                (now - dead_days * 86400,)).rowcount
        return removed
