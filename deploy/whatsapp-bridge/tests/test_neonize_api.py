"""The real neonize 0.5.2, without a network: the constructor and the API the bridge calls exist, and the
events neonize dispatches (through its own Event.execute, as the Go core does) become the bridge's events.
An API change in neonize breaks this test, not production."""

import base64
import ctypes
import importlib.metadata
import inspect
import time

import pytest

# Deliberately not importorskip: without neonize 0.5.2 (requirements.txt) this must fail.
from neonize.client import NewClient  # noqa: E402
from neonize.events import EVENT_TO_INT, ConnectedEv, DisconnectedEv, LoggedOutEv, MessageEv, ReceiptEv  # noqa: E402
from neonize.proto import Neonize_pb2 as neonize_proto  # noqa: E402
from neonize.proto.Neonize_pb2 import Receipt  # noqa: E402
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import ExtendedTextMessage  # noqa: E402
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as E2EMessage  # noqa: E402

from whatsapp_bridge.client import RECEIPT_STATES, Quote, SendError, Status  # noqa: E402
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
    for name in ("connect", "stop", "disconnect", "send_message", "build_image_message", "build_document_message",
                 "build_reply_message", "upload", "send_chat_presence",
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


PDF = b"%PDF-1.4\n%%EOF\n"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def offline_media(bridge_client: NeonizeClient) -> list:
    """The real builders, minus the network: neonize's `upload` (a Go call) answers a fixed UploadResponse, and
    `send_message` records what would go out (also a Go call) and answers a SendResponse."""
    client = bridge_client.client
    sent = []

    def upload(binary, media_type=None):
        return neonize_proto.UploadResponse(url="https://mmg.whatsapp.net/d/f/x.enc", DirectPath="/v/t62/x",
                                            MediaKey=b"k" * 32, FileEncSHA256=b"e" * 32, FileSHA256=b"s" * 32,
                                            FileLength=len(binary))

    def send_message(to, message, **kwargs):
        sent.append((to, message))
        return neonize_proto.SendResponse(ID="3EB0SENT%04d" % len(sent))

    client.upload = upload
    client.send_message = send_message
    bridge_client._connected = True  # as after ConnectedEv; nothing reaches the Go core
    return sent


def test_real_document_and_quote_builders(tmp_path):
    bridge_client = NeonizeClient(str(tmp_path / "session.sqlite3"), qr_restart_seconds=3600)
    sent = offline_media(bridge_client)
    known = Quote("3A00000000000000AA", "5214771234567@s.whatsapp.net", "¿Ya está mi impresora?")
    unknown = Quote("3EB0DESCONOCIDO", "123456789012345@lid", None)
    try:
        # a document without caption: a plain documentMessage with the name and type, quoting a known message
        message_id = bridge_client.send_document("5214771234567@s.whatsapp.net", PDF, "application/pdf",
                                                 "Presupuesto @5214770000000.pdf", "", known)
        assert message_id == "3EB0SENT0001"
        to, message = sent[-1]
        assert (to.User, to.Server) == ("5214771234567", "s.whatsapp.net")
        document = message.documentMessage
        assert document.fileName == "Presupuesto @5214770000000.pdf" and document.title == document.fileName
        assert document.mimetype == "application/pdf" and document.fileLength == len(PDF)
        assert document.URL == "https://mmg.whatsapp.net/d/f/x.enc" and document.directPath == "/v/t62/x"
        context = document.contextInfo
        assert context.stanzaID == "3A00000000000000AA"
        assert context.participant == "5214771234567@s.whatsapp.net"
        assert context.quotedMessage.conversation == "¿Ya está mi impresora?"
        assert list(context.mentionedJID) == []  # neonize's caption @mention scan is cleared

        # with a caption: inside documentWithCaptionMessage, as WhatsApp Web sends it; unknown quote: no content
        bridge_client.send_document("123456789012345@lid", PDF, "application/msword", "Orden.doc",
                                    "Tu orden @5214770000000", unknown)
        to, message = sent[-1]
        assert to.Server == "lid" and not message.HasField("documentMessage")
        document = message.documentWithCaptionMessage.message.documentMessage
        assert (document.fileName, document.mimetype, document.caption) == (
            "Orden.doc", "application/msword", "Tu orden @5214770000000")
        assert document.contextInfo.stanzaID == "3EB0DESCONOCIDO"
        assert document.contextInfo.participant == "123456789012345@lid"
        assert not document.contextInfo.HasField("quotedMessage")
        assert list(document.contextInfo.mentionedJID) == []

        # text: a conversation without a quote, an extendedTextMessage with one
        bridge_client.send_text("5214771234567@s.whatsapp.net", "hola @5214770000000")
        assert sent[-1][1] == E2EMessage(conversation="hola @5214770000000")
        bridge_client.send_text("5214771234567@s.whatsapp.net", "Sí, ya está lista", known)
        text = sent[-1][1].extendedTextMessage
        assert text.text == "Sí, ya está lista"
        assert (text.contextInfo.stanzaID, text.contextInfo.participant) == (known.message_id, known.participant)
        assert text.contextInfo.quotedMessage.conversation == known.text

        # neonize's own reply builder puts the same ids in the same ContextInfo fields
        quoted = neonize_proto.Message()
        quoted.Info.ID = known.message_id
        quoted.Info.MessageSource.Sender.User, quoted.Info.MessageSource.Sender.Server = "5214771234567", \
            "s.whatsapp.net"
        quoted.Message.conversation = known.text
        theirs = bridge_client.client.build_reply_message(ExtendedTextMessage(text="Sí, ya está lista"), quoted)
        for field in ("stanzaID", "participant", "quotedMessage"):
            assert getattr(theirs.extendedTextMessage.contextInfo, field) == getattr(text.contextInfo, field), field

        # an image quoting: the real build_image_message, its @mentions cleared, our ContextInfo
        bridge_client.send_image("5214771234567@s.whatsapp.net", PNG, "image/png", "mira @5214770000000", known)
        image = sent[-1][1].imageMessage
        assert image.caption == "mira @5214770000000" and image.mimetype == "image/png"
        assert image.contextInfo.stanzaID == known.message_id and list(image.contextInfo.mentionedJID) == []
        bridge_client.send_image("5214771234567@s.whatsapp.net", PNG, "image/png")
        assert not sent[-1][1].imageMessage.HasField("contextInfo")
    finally:
        bridge_client._connected = False
        bridge_client.stop()


def test_inbound_quotes_become_en_respuesta_a(tmp_path):
    bridge_client = NeonizeClient(str(tmp_path / "session.sqlite3"), qr_restart_seconds=3600)
    sink = Sink()
    bridge_client.set_sink(sink)
    client = bridge_client.client

    def event(message_id: str) -> MessageEv:
        ev = MessageEv()
        ev.Info.ID = message_id
        ev.Info.Timestamp = 1700000000
        src = ev.Info.MessageSource
        src.Sender.User, src.Sender.Server = "5214771234567", "s.whatsapp.net"
        src.Chat.User, src.Chat.Server = "5214771234567", "s.whatsapp.net"
        return ev

    try:
        text = event("IN1")
        text.Message.extendedTextMessage.text = "¿y el cargador?"
        text.Message.extendedTextMessage.contextInfo.stanzaID = "3EB0SENT0001"
        text.Message.extendedTextMessage.contextInfo.participant = "5214770000000@s.whatsapp.net"
        text.Message.extendedTextMessage.contextInfo.quotedMessage.conversation = "Tu equipo está listo"
        dispatch(client, text)
        assert (sink.messages[-1].text, sink.messages[-1].reply_to) == ("¿y el cargador?", "3EB0SENT0001")

        image = event("IN2")
        image.Message.imageMessage.caption = "esta pieza"
        image.Message.imageMessage.contextInfo.stanzaID = "3EB0SENT0002"
        dispatch(client, image)
        assert sink.messages[-1].media.caption == "esta pieza" and sink.messages[-1].reply_to == "3EB0SENT0002"

        document = event("IN3")
        document.Message.documentMessage.fileName = "garantia.pdf"
        document.Message.documentMessage.contextInfo.stanzaID = "3EB0SENT0003"
        dispatch(client, document)
        assert sink.messages[-1].reply_to == "3EB0SENT0003"
        assert sink.messages[-1].text.startswith("[El cliente envió un documento")
        assert sink.messages[-1].quote_text == "📄 garantia.pdf"  # what a reply quoting it shows, not our notice

        wrapped = event("IN4")
        inner = wrapped.Message.documentWithCaptionMessage.message.documentMessage
        inner.caption, inner.fileName = "la factura", "f.pdf"
        inner.contextInfo.stanzaID = "3EB0SENT0004"
        dispatch(client, wrapped)
        assert sink.messages[-1].reply_to == "3EB0SENT0004" and sink.messages[-1].quote_text == "la factura"

        plain = event("IN5")
        plain.Message.conversation = "sin cita"
        dispatch(client, plain)
        assert sink.messages[-1].reply_to is None and sink.messages[-1].quote_text is None
        assert [m.id for m in sink.messages] == ["IN1", "IN2", "IN3", "IN4", "IN5"]
    finally:
        bridge_client.stop()
