"""The real neonize 0.5.2, without a network: the constructor and the API the bridge calls exist, and the
events neonize dispatches (through its own Event.execute, as the Go core does) become the bridge's events.
An API change in neonize breaks this test, not production."""

import ctypes
import importlib.metadata
import inspect
import time

import pytest

# Deliberately not importorskip: without neonize 0.5.2 (requirements.txt) this must fail.
from neonize.client import NewClient  # noqa: E402
from neonize.events import EVENT_TO_INT, ConnectedEv, DisconnectedEv, LoggedOutEv, MessageEv, ReceiptEv  # noqa: E402
from neonize.proto.Neonize_pb2 import Receipt  # noqa: E402
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as E2EMessage  # noqa: E402

from whatsapp_bridge.client import RECEIPT_STATES, SendError, Status  # noqa: E402
from whatsapp_bridge.neonize_client import NeonizeClient  # noqa: E402


class Sink:
    def __init__(self):
        self.messages, self.receipts, self.changes, self.qrs, self.codes = [], [], [], [], []

    def on_message(self, m):
        self.messages.append(m)

    def on_receipt(self, r):
        self.receipts.append(r)

    def on_connection(self, c):
        self.changes.append(c)

    def on_qr(self, code):
        self.qrs.append(code)

    def on_pair_code(self, code):
        self.codes.append(code)


def dispatch(client: NewClient, event) -> None:
    """What the Go core does for each event: Event.execute(uuid, pointer, size, code)."""
    data = event.SerializePartialToString()  # the Go core fills every proto2 required field; a test need not
    buffer = ctypes.create_string_buffer(data, len(data) or 1)
    client.event.execute(0, ctypes.addressof(buffer), len(data), EVENT_TO_INT[type(event)])


def test_neonize_version_and_constructor_without_connecting(tmp_path):
    assert importlib.metadata.version("neonize") == "0.5.2"
    parameters = list(inspect.signature(NewClient.__init__).parameters)
    assert parameters[:6] == ["self", "name", "jid", "props", "uuid", "new_device"]
    path = tmp_path / "session.sqlite3"
    client = NewClient(str(path))  # the first argument is the SQLite path of the session store
    assert client.name == str(path) and client.uuid == str(path).encode()
    for name in ("connect", "stop", "disconnect", "send_message", "build_image_message", "send_chat_presence",
                 "send_presence", "download_any", "get_pn_from_lid", "get_lid_from_pn", "PairPhone", "logout"):
        assert callable(getattr(client, name)), name
    assert callable(client.event.qr) and callable(client.event.execute)
    assert "show_push_notification" in inspect.signature(NewClient.PairPhone).parameters
    # the name-mangled login-status callback the bridge overrides to see QR timeouts
    assert callable(getattr(NewClient, "_NewClient__onLoginStatus"))
    assert not path.exists()  # nothing was opened: no connection was attempted
    for name in RECEIPT_STATES:
        Receipt.ReceiptType.Value(name)  # the names the mapping uses exist in 0.5.2


def test_neonize_events_become_bridge_events(tmp_path):
    bridge_client = NeonizeClient(str(tmp_path / "session.sqlite3"), qr_restart_seconds=3600)
    sink = Sink()
    bridge_client.set_sink(sink)
    client = bridge_client.client
    try:
        # a text from a LID sender, SenderAlt = the phone
        ev = MessageEv()
        ev.Info.ID = "3A0000000000000001"
        ev.Info.Pushname = "Ana"
        ev.Info.Timestamp = 1700000000123  # neonize's encoder sends MessageInfo.Timestamp in milliseconds
        src = ev.Info.MessageSource
        src.Sender.User, src.Sender.Server, src.Sender.Device = "123456789012345", "lid", 3
        src.Chat.User, src.Chat.Server = "123456789012345", "lid"
        src.SenderAlt.User, src.SenderAlt.Server = "5214771234567", "s.whatsapp.net"
        ev.Message.conversation = "hola"
        dispatch(client, ev)
        message = sink.messages[-1]
        assert (message.id, message.sender, message.sender_alt, message.push_name, message.timestamp,
                message.text) == ("3A0000000000000001", "123456789012345@lid", "5214771234567@s.whatsapp.net",
                                  "Ana", 1700000000, "hola")

        # an image with a caption: the reference decodes back to the imageMessage neonize downloads
        image = MessageEv()
        image.CopyFrom(ev)
        image.Info.ID = "3A0000000000000002"
        image.Message.Clear()
        image.Message.imageMessage.caption = "mira"
        image.Message.imageMessage.mimetype = "image/jpeg"
        image.Message.imageMessage.directPath = "/v/t62/abc"
        dispatch(client, image)
        media = sink.messages[-1].media
        assert media.kind == "imagen" and media.caption == "mira" and media.mimetype == "image/jpeg"
        assert E2EMessage.FromString(media.ref).imageMessage.directPath == "/v/t62/abc"

        # extended text, our own messages and groups
        extended = MessageEv()
        extended.CopyFrom(ev)
        extended.Info.ID = "3A0000000000000003"
        extended.Message.Clear()
        extended.Message.extendedTextMessage.text = "con enlace https://example.com"
        dispatch(client, extended)
        assert sink.messages[-1].text == "con enlace https://example.com"
        count = len(sink.messages)
        mine = MessageEv()
        mine.CopyFrom(ev)
        mine.Info.MessageSource.IsFromMe = True
        dispatch(client, mine)
        group = MessageEv()
        group.CopyFrom(ev)
        group.Info.MessageSource.IsGroup = True
        group.Info.MessageSource.Chat.Server = "g.us"
        dispatch(client, group)
        assert len(sink.messages) == count

        # receipts: the customer's READ -> read; our own devices' READ_SELF -> nothing
        receipt = ReceiptEv(MessageIDs=["3EB0AAA", "3EB0BBB"], Timestamp=1700000100, Type=Receipt.READ)
        receipt.MessageSource.Chat.User, receipt.MessageSource.Chat.Server = "5214771234567", "s.whatsapp.net"
        dispatch(client, receipt)
        assert (sink.receipts[-1].message_ids, sink.receipts[-1].state, sink.receipts[-1].timestamp) == (
            ["3EB0AAA", "3EB0BBB"], "read", 1700000100)
        dispatch(client, ReceiptEv(MessageIDs=["3EB0CCC"], Timestamp=1, Type=Receipt.READ_SELF))
        dispatch(client, ReceiptEv(MessageIDs=["3EB0DDD"], Timestamp=1, Type=Receipt.DELIVERED,
                                   MessageSource={"IsFromMe": True}))
        dispatch(client, ReceiptEv(MessageIDs=["3EB0EEE"], Timestamp=1))  # Type left unset by neonize's encoder
        assert len(sink.receipts) == 1

        # QR codes reach the sink as text
        client.event._qr(client, b"2@codigo,de,prueba")
        assert sink.qrs[-1] == "2@codigo,de,prueba"

        # connection events (no send is attempted: the Go client does not exist)
        with pytest.raises(SendError) as raised:
            bridge_client.send_text("5214771234567@s.whatsapp.net", "x")
        assert raised.value.disconnected
        dispatch(client, ConnectedEv(status=True))
        assert sink.changes[-1].status == Status.CONNECTED and bridge_client.is_connected
        dispatch(client, DisconnectedEv(status=True))
        assert sink.changes[-1].status == Status.DISCONNECTED and not bridge_client.is_connected
        dispatch(client, LoggedOutEv(OnConnect=False, Reason=2))  # ConnectFailureReason.LOGGED_OUT
        assert sink.changes[-1].status == Status.LOGGED_OUT and sink.changes[-1].reason == "LOGGED_OUT"
    finally:
        bridge_client.stop()


def test_real_connect_goes_only_to_a_local_proxy_and_stops(tmp_path):
    """neonize's blocking connect() on its supervisor thread, through BRIDGE_PROXY pointing at a local listener
    that refuses the tunnel: no traffic leaves the machine; the failure is reported and stop() returns."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(20)
    seen = []

    def refuse():
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            seen.append(connection.recv(4096).split(b"\r\n", 1)[0])
            connection.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=refuse, daemon=True).start()
    session = tmp_path / "session.sqlite3"
    bridge_client = NeonizeClient(str(session), proxy=f"http://127.0.0.1:{listener.getsockname()[1]}",
                                  connect_retry_seconds=3600)
    sink = Sink()
    bridge_client.set_sink(sink)
    try:
        bridge_client.start()
        deadline = time.monotonic() + 20
        while not any(c.reason == "connect_error" for c in sink.changes) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sink.changes[0].status == Status.CONNECTING
        assert any(c.status == Status.DISCONNECTED and c.reason == "connect_error" for c in sink.changes)
        assert seen and seen[0].startswith(b"CONNECT web.whatsapp.com:443")
        assert session.exists()  # the Go core opened its SQLite session store at the path given
    finally:
        started = time.monotonic()
        bridge_client.stop()
        listener.close()
    assert time.monotonic() - started < 10
    assert not bridge_client._thread.is_alive()
