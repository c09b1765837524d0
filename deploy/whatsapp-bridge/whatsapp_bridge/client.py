"""The WhatsApp side of the bridge, behind one small interface.

Two implementations: `NeonizeClient` (neonize_client.py, the real WhatsApp Web session) and
`FakeWhatsAppClient` (fake.py, for tests and demos). The bridge only talks to `WhatsAppClient`.

Threading contract: the client calls the `EventSink` methods from its own threads (neonize: Go callback
threads), one event at a time, and the sink must have stored what it needs before returning (for inbound
messages and receipts: written to the durable queue). `send_*`, `send_typing` and `download_media` are
blocking calls; the bridge runs them in worker threads.
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

    def send_text(self, jid: str, text: str) -> str:
        """Sends `text` to `jid`; returns WhatsApp's message id. Raises SendError."""

    def send_image(self, jid: str, data: bytes, mimetype: str, caption: str = "") -> str: ...

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
