"""The WhatsApp side of the bridge, behind one small interface.

Two implementations: `NeonizeClient` (neonize_client.py, the real WhatsApp Web session) and
`FakeWhatsAppClient` (fake.py, for tests and demos). The bridge only talks to `WhatsAppClient`.

Threading contract: the client calls the `EventSink` methods from its own threads (neonize: Go callback
threads), one event at a time, and the sink must have stored what it needs before returning (for inbound
messages and receipts: written to the durable queue). `send_*`, `send_typing` and `download_media` are
blocking calls; the bridge runs them in worker threads.

Quoted replies: every `send_*` takes an optional `Quote` (the earlier message the new one answers). The client
turns it into whatsmeow's ContextInfo (stanzaID, participant, quotedMessage); it never fails a send because the
quoted content is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Optional, Protocol, runtime_checkable


class Status(str, Enum):
    CONNECTING = "connecting"
    WAITING_QR = "waiting_qr"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    LOGGED_OUT = "logged_out"


@dataclass
class MediaRef:
    """An attachment still on WhatsApp's servers: `ref` is what `download_media` needs to fetch it."""

    kind: str  # "imagen"
    mimetype: str
    ref: bytes
    caption: str = ""


@dataclass
class InboundMessage:
    id: str
    sender: str  # "5214771234567@s.whatsapp.net" or "123456@lid", without device suffix
    sender_alt: Optional[str]  # the other address of the same person (phone <-> LID), None when unknown
    push_name: str
    timestamp: int  # unix seconds
    text: str = ""
    media: Optional[MediaRef] = None
    reply_to: Optional[str] = None  # the id of the message the customer quoted (ContextInfo.stanzaID), if any
    # What a later reply quoting this message shows; None: the text (or the image's caption, or "📷 Foto").
    # Set by the client when `text` is a placeholder of ours rather than the customer's words.
    quote_text: Optional[str] = None


@dataclass
class Quote:
    """The earlier message an outbound message quotes (whatsmeow ContextInfo)."""

    message_id: str  # ContextInfo.stanzaID
    participant: str  # ContextInfo.participant: the JID of its author (the customer), e.g. "521…@s.whatsapp.net"
    text: Optional[str] = None  # its text/caption (ContextInfo.quotedMessage) when known; None: unknown


@dataclass
class ReceiptEvent:
    message_ids: list[str]
    state: str  # "delivered" | "read" | "failed"
    timestamp: int
    chat: str = ""


@dataclass
class ConnectionChange:
    status: Status
    reason: str = ""  # machine-readable: "stream_replaced", "temporary_ban", "qr_timeout", "LOGGED_OUT", …
    detail: str = ""  # Spanish sentence for /health and the log
    extra: dict = field(default_factory=dict)


class EventSink(Protocol):
    def on_message(self, message: InboundMessage) -> None: ...

    def on_receipt(self, receipt: ReceiptEvent) -> None: ...

    def on_connection(self, change: ConnectionChange) -> None: ...

    def on_qr(self, code: Optional[str]) -> None: ...

    def on_pair_code(self, code: Optional[str]) -> None: ...


class SendError(Exception):
    """WhatsApp did not take the message. `disconnected` when it failed because the session is down."""

    def __init__(self, message: str, *, disconnected: bool = False):
        super().__init__(message)
        self.disconnected = disconnected


class MediaError(Exception):
    pass


@runtime_checkable
class WhatsAppClient(Protocol):
    def set_sink(self, sink: EventSink) -> None: ...

    def start(self) -> None:
        """Begin connecting (non-blocking). Reports progress through the sink."""

    def stop(self) -> None: ...

    @property
    def is_connected(self) -> bool: ...

    def send_text(self, jid: str, text: str, quote: Optional[Quote] = None) -> str:
        """Sends `text` to `jid`; returns WhatsApp's message id. Raises SendError."""

    def send_image(self, jid: str, data: bytes, mimetype: str, caption: str = "",
                   quote: Optional[Quote] = None) -> str: ...

    def send_document(self, jid: str, data: bytes, mimetype: str, file_name: str, caption: str = "",
                      quote: Optional[Quote] = None) -> str:
        """A documentMessage (PDF, Word) shown to the customer as `file_name`."""

    def send_typing(self, jid: str, typing: bool) -> None:
        """Best effort "escribiendo…" on/off; never raises."""

    def download_media(self, ref: bytes) -> bytes:
        """The bytes of an inbound attachment. Raises MediaError."""


# neonize `ReceiptEv.Type` name -> the `estado` Mostrador receives. SENDER, READ_SELF and PLAYED_SELF come from
# our own devices and RETRY, INACTIVE, PEER_MSG, HISTORY_SYNC say nothing about the customer: ignored.
RECEIPT_STATES = {
    "DELIVERED": "delivered",
    "READ": "read",
    "PLAYED": "read",
    "SERVER_ERROR": "failed",
}


def receipt_state(receipt_type: str) -> Optional[str]:
    return RECEIPT_STATES.get(receipt_type.upper())
