"""A WhatsApp client without WhatsApp: for the tests and for local demos (`--fake`).

It records what the bridge sends and can be driven like a phone: a customer writes (`inject_message`),
a receipt arrives (`deliver_receipt`), the session connects, drops, is logged out or shows a QR.
Events reach the bridge through the same `EventSink` calls the real client makes, on the caller's thread.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
import uuid
from typing import Optional

from .client import (ConnectionChange, EventSink, InboundMessage, MediaError, MediaRef, Quote, ReceiptEvent,
                     SendError, Status, receipt_state)


class FakeWhatsAppClient:
    def __init__(self, initial: Status = Status.CONNECTED, qr: Optional[str] = None):
        self.sink: Optional[EventSink] = None
        self.initial = initial
        self.initial_qr = qr
        self.status = Status.CONNECTING
        self.lock = threading.Lock()
        self.sent: list[dict] = []
        self.typing: list[tuple[str, bool]] = []
        self.ids = itertools.count(1)
        self.fail_sends: list[SendError] = []  # raised by the next sends, in order
        self.fail_downloads = 0  # that many downloads fail first
        self.started = False

    # -- WhatsAppClient ----------------------------------------------------------------------------------------

    def set_sink(self, sink: EventSink) -> None:
        self.sink = sink

    def start(self) -> None:
        self.started = True
        if self.initial == Status.WAITING_QR:
            self.show_qr(self.initial_qr or "2@fake-qr-" + uuid.uuid4().hex)
        else:
            self._set(ConnectionChange(self.initial))

    def stop(self) -> None:
        self.started = False

    @property
    def is_connected(self) -> bool:
        return self.status == Status.CONNECTED

    def _new_id(self) -> str:
        return "3EB0%016X" % next(self.ids)

    def _send(self, record: dict, quote: Optional[Quote] = None) -> str:
        if quote is not None:  # what the real client puts in ContextInfo
            record["en_respuesta_a"] = quote.message_id
            record["participante"] = quote.participant
            record["texto_citado"] = quote.text  # None: the quoted content was unknown
        with self.lock:
            if self.fail_sends:
                raise self.fail_sends.pop(0)
            if not self.is_connected:
                raise SendError("WhatsApp desconectado", disconnected=True)
            record["id"] = self._new_id()
            record["at"] = time.time()
            self.sent.append(record)
            return record["id"]

    def send_text(self, jid: str, text: str, quote: Optional[Quote] = None) -> str:
        return self._send({"tipo": "texto", "jid": jid, "texto": text}, quote)

    def send_image(self, jid: str, data: bytes, mimetype: str, caption: str = "",
                   quote: Optional[Quote] = None) -> str:
        return self._send({"tipo": "imagen", "jid": jid, "bytes": len(data), "mimetype": mimetype,
                           "caption": caption}, quote)

    def send_document(self, jid: str, data: bytes, mimetype: str, file_name: str, caption: str = "",
                      quote: Optional[Quote] = None) -> str:
        return self._send({"tipo": "documento", "jid": jid, "bytes": len(data),
                           "sha256": hashlib.sha256(data).hexdigest(), "mimetype": mimetype,
                           "nombre_archivo": file_name, "caption": caption}, quote)

    def send_typing(self, jid: str, typing: bool) -> None:
        with self.lock:
            self.typing.append((jid, typing))

    def download_media(self, ref: bytes) -> bytes:
        with self.lock:
            if self.fail_downloads > 0:
                self.fail_downloads -= 1
                raise MediaError("descarga simulada fallida")
        return ref  # the fake's reference is the attachment itself

    # -- driving it --------------------------------------------------------------------------------------------

    def _set(self, change: ConnectionChange) -> None:
        self.status = change.status
        if self.sink is not None:
            self.sink.on_connection(change)

    def set_connected(self) -> None:
        self._set(ConnectionChange(Status.CONNECTED))

    def set_disconnected(self, reason: str = "", detail: str = "") -> None:
        self._set(ConnectionChange(Status.DISCONNECTED, reason=reason, detail=detail))

    def set_logged_out(self, reason: str = "LOGGED_OUT") -> None:
        self._set(ConnectionChange(Status.LOGGED_OUT, reason=reason))

    def show_qr(self, code: str) -> None:
        if self.status != Status.LOGGED_OUT:
            self.status = Status.WAITING_QR
        if self.sink is not None:
            self.sink.on_qr(code)

    def show_pair_code(self, code: str) -> None:
        if self.sink is not None:
            self.sink.on_pair_code(code)

    def inject_message(self, sender: str, text: str = "", *, push_name: str = "", sender_alt: Optional[str] = None,
                       message_id: Optional[str] = None, timestamp: Optional[int] = None,
                       image: Optional[bytes] = None, mimetype: str = "image/jpeg", caption: str = "",
                       reply_to: Optional[str] = None) -> str:
        """A customer writes (`reply_to`: quoting that message id). Returns the WhatsApp message id. The bridge
        has queued it when this returns."""
        message = InboundMessage(
            id=message_id or "FAKE" + uuid.uuid4().hex[:16].upper(),
            sender=sender, sender_alt=sender_alt, push_name=push_name,
            timestamp=int(time.time()) if timestamp is None else int(timestamp),
            text=text,
            media=MediaRef("imagen", mimetype, image, caption) if image is not None else None,
            reply_to=reply_to or None)
        assert self.sink is not None, "start the bridge first"
        self.sink.on_message(message)
        return message.id

    def deliver_receipt(self, message_ids: list[str] | str, receipt_type: str = "DELIVERED",
                        timestamp: Optional[int] = None, chat: str = "") -> Optional[str]:
        """A receipt of neonize type `receipt_type` (DELIVERED, READ, PLAYED, SERVER_ERROR, READ_SELF, SENDER…);
        mapped exactly like the real client maps `ReceiptEv.Type`. Returns the state or None (ignored)."""
        state = receipt_state(receipt_type)
        if state is None:
            return None
        ids = [message_ids] if isinstance(message_ids, str) else list(message_ids)
        assert self.sink is not None, "start the bridge first"
        self.sink.on_receipt(ReceiptEvent(ids, state, int(time.time()) if timestamp is None else int(timestamp),
                                          chat))
        return state
