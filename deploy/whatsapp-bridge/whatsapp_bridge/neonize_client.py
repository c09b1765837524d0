"""The real WhatsApp Web session, on neonize 0.5.2 (Python binding of whatsmeow).

API facts this relies on (checked against the 0.5.2 wheel; see /work/shared/channels/neonize/NOTES.md):
- `NewClient(name)`: `name` is the SQLite path of the session store (the README's `database=` does not exist).
- `connect()` blocks until `stop()`; handlers registered with `client.event(EvType)` run on a Go thread, one
  event at a time; `client.event.qr(fn)` receives each QR code as bytes (the text of the code, not a PNG).
- Phone-number pairing is `client.PairPhone(phone, show_push_notification)`; it needs the Go client that
  `connect()` creates, so it is called from the first QR callback (the socket is up, nothing is paired).
- The QR loop ends with a login status ("success", "timeout", "err-…") that neonize only `print`s, from the
  name-mangled `NewClient.__onLoginStatus`; we override it on the instance to restart after a timeout.
- The Go core queues events on a buffered channel (100) and one goroutine calls Python; whatsmeow acks messages
  without waiting for handlers. So the ack to WhatsApp can precede our durable write (a known limit).
- `MessageInfo.Timestamp` arrives in milliseconds (`UnixMilli` in neonize's encoder), receipts in seconds.
- neonize's receipt encoder maps PLAYED_SELF to SERVER_ERROR and leaves Type unset for whatsmeow's
  "server-error" (read back as the proto2 default, DELIVERED): receipts from our own devices (IsFromMe) and
  receipts without Type are dropped.
- Never call into the Go client before it exists (e.g. `is_connected` on a fresh `NewClient` dereferences a
  missing client and can take the process down): the connection state here comes from the events.
- Documents: `build_document_message(file, caption, title, filename, mimetype, quoted, …)` uploads the bytes
  (MediaDocument) and, like `build_image_message`, fills `contextInfo` with @mentions parsed from the caption: we
  clear it. A document with a caption goes inside `documentWithCaptionMessage` (what WhatsApp Web itself sends;
  whatsmeow types it through that wrapper).
- Quoted replies are whatsmeow's ContextInfo (stanzaID, participant, optional quotedMessage) on an
  extendedTextMessage (a plain `conversation` cannot carry one), imageMessage or documentMessage. We build it
  ourselves: neonize's `quoted=` needs a whole received event, fails on an empty quotedMessage and uses the phone
  JID as participant for LID senders. quotedMessage is optional (other clients do not trust it and look the
  message up by stanzaID): it is omitted when the bridge does not know the quoted text.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from typing import Any, Optional

from .client import (ConnectionChange, EventSink, InboundMessage, MediaError, MediaRef, Quote, ReceiptEvent,
                     SendError, Status, receipt_state)
from .numbers import bare_jid

log = logging.getLogger("whatsapp_bridge.neonize")

OTHER_KINDS = {
    "audioMessage": "un audio",
    "videoMessage": "un video",
    "documentMessage": "un documento",
    "stickerMessage": "un sticker",
    "contactMessage": "un contacto",
    "contactsArrayMessage": "contactos",
    "liveLocationMessage": "su ubicación en tiempo real",
    "pollCreationMessage": "una encuesta",
}
# What a later reply quoting such a message shows (the notice above is ours, not the customer's words).
QUOTE_LABELS = {
    "audioMessage": "🎤 Audio",
    "videoMessage": "🎥 Video",
    "documentMessage": "📄 Documento",
    "stickerMessage": "Sticker",
    "contactMessage": "👤 Contacto",
    "contactsArrayMessage": "👤 Contactos",
    "liveLocationMessage": "📍 Ubicación en tiempo real",
    "pollCreationMessage": "📊 Encuesta",
}


def replied_to(msg: Any) -> Optional[str]:
    """The id of the message the customer quoted: contextInfo.stanzaID of whichever part carries it
    (extendedTextMessage, imageMessage, documentMessage, …, also inside documentWithCaptionMessage)."""
    for descriptor, part in msg.ListFields():
        kind = descriptor.message_type
        if kind is None:
            continue
        if "contextInfo" in kind.fields_by_name:
            if part.HasField("contextInfo") and part.contextInfo.stanzaID:
                return part.contextInfo.stanzaID
        elif descriptor.name == "documentWithCaptionMessage" and part.HasField("message"):
            found = replied_to(part.message)
            if found:
                return found
    return None


def unix_seconds(value: int) -> int:
    """neonize timestamps are unix seconds; tolerate milliseconds."""
    value = int(value or 0)
    if value > 10_000_000_000:
        value //= 1000
    return value or int(time.time())


class NeonizeClient:
    def __init__(self, session_db: str, *, pair_phone: str = "", device_name: str = "Mostrador",
                 qr_restart_seconds: float = 5.0, mark_online: bool = False, log_level: str = "WARNING",
                 proxy: str = "", connect_retry_seconds: float = 30.0):
        # Imported here so that the fake client and the tests of the rest do not load the Go library.
        from neonize.client import NewClient
        from neonize.proto.waCompanionReg.WAWebProtobufsCompanionReg_pb2 import DeviceProps

        logging.getLogger("neonize.utils.log").setLevel(getattr(logging, log_level, logging.WARNING))
        self.session_db = session_db
        self.pair_phone = pair_phone
        self.qr_restart_seconds = qr_restart_seconds
        self.mark_online = mark_online
        self.proxy = proxy
        self.connect_retry_seconds = connect_retry_seconds
        self.sink: Optional[EventSink] = None
        self._connected = False
        self._logged_out = False
        self._stopping = threading.Event()
        self._restart_wanted = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._cycle = 0
        self._pair_requested_cycle = -1
        self._timer: Optional[threading.Timer] = None
        self._lock = threading.Lock()
        self.client = NewClient(session_db, props=DeviceProps(os=device_name, platformType=DeviceProps.SAFARI))
        self._register()

    # -- set-up ------------------------------------------------------------------------------------------------

    def _register(self) -> None:
        from neonize.events import (ClientOutdatedEv, ConnectedEv, ConnectFailureEv, DisconnectedEv,
                                    KeepAliveRestoredEv, KeepAliveTimeoutEv, LoggedOutEv, MessageEv,
                                    PairStatusEv, ReceiptEv, StreamReplacedEv, TemporaryBanEv)

        c = self.client
        # Plain functions, not bound methods: neonize keeps bound methods as weak references.
        handlers: list[tuple[Any, Any]] = [
            (ConnectedEv, lambda _c, ev: self._guard(self._on_connected, ev)),
            (DisconnectedEv, lambda _c, ev: self._guard(self._on_disconnected, ev)),
            (LoggedOutEv, lambda _c, ev: self._guard(self._on_logged_out, ev)),
            (StreamReplacedEv, lambda _c, ev: self._guard(self._on_stream_replaced, ev)),
            (TemporaryBanEv, lambda _c, ev: self._guard(self._on_temporary_ban, ev)),
            (ConnectFailureEv, lambda _c, ev: self._guard(self._on_connect_failure, ev)),
            (ClientOutdatedEv, lambda _c, ev: self._guard(self._on_client_outdated, ev)),
            (KeepAliveTimeoutEv, lambda _c, ev: log.warning("WhatsApp no responde al keep-alive (%s fallos)",
                                                            ev.ErrorCount)),
            (KeepAliveRestoredEv, lambda _c, ev: log.info("keep-alive de WhatsApp restablecido")),
            (PairStatusEv, lambda _c, ev: self._guard(self._on_pair_status, ev)),
            (MessageEv, lambda _c, ev: self._persisting(self._on_message, ev)),
            (ReceiptEv, lambda _c, ev: self._persisting(self._on_receipt, ev)),
        ]
        for event_type, handler in handlers:
            c.event(event_type)(handler)
        c.event.qr(lambda _c, data: self._guard(self._on_qr, data))
        # neonize only prints the QR loop's outcome; this instance attribute shadows the name-mangled method
        # that connect() hands to the Go core.
        c._NewClient__onLoginStatus = self._on_login_status  # type: ignore[attr-defined]

    @staticmethod
    def _persisting(fn, ev) -> None:
        try:
            fn(ev)
        except Exception:
            # whatsmeow has already acknowledged it: this event is lost unless the log is read.
            log.critical("NO SE PUDO GUARDAR un evento de WhatsApp (se pierde): %s", str(ev)[:2000], exc_info=True)

    @staticmethod
    def _guard(fn, arg) -> None:
        try:
            fn(arg)
        except Exception:
            log.exception("error manejando un evento de WhatsApp")

    # -- WhatsAppClient ----------------------------------------------------------------------------------------

    def set_sink(self, sink: EventSink) -> None:
        self.sink = sink

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="neonize-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._timer is not None:
            self._timer.cancel()
        self._connected = False
        try:
            self.client.stop()
        except Exception:
            log.exception("error deteniendo neonize")
        if self._thread is not None:
            self._thread.join(timeout=15)

    @property
    def is_connected(self) -> bool:
        return self._connected

    def _report(self, change: ConnectionChange) -> None:
        if self.sink is not None:
            self.sink.on_connection(change)

    def _run(self) -> None:
        """Runs neonize's blocking connect() and starts it again when we stop it on purpose (QR expired,
        logged out and a new pairing is needed, a ban expired)."""
        while not self._stopping.is_set():
            self._cycle += 1
            self._restart_wanted.clear()
            if not self._logged_out:
                self._report(ConnectionChange(Status.CONNECTING))
            log.info("conectando con WhatsApp (sesión en %s)", self.session_db)
            try:
                if self.proxy:
                    from neonize._binder import ProxySettings
                    self.client.connect(ProxySettings(proxy_address=self.proxy))
                else:
                    self.client.connect()
            except Exception as error:
                log.error("neonize terminó con error: %s", error)
            self._connected = False
            if self._stopping.is_set():
                break
            if not self._restart_wanted.is_set():
                # connect() returned by itself: an error inside the Go core. Try again, slowly.
                self._report(ConnectionChange(Status.DISCONNECTED, reason="connect_error",
                                              detail="La conexión con WhatsApp terminó; reintentando."))
                self._stopping.wait(self.connect_retry_seconds)
            else:
                self._stopping.wait(self.qr_restart_seconds)

    def _restart(self, reason: str, delay: float = 0.0) -> None:
        """Stops the current connect() (from another thread: never from inside a Go callback) so that
        `_run` starts a new one."""
        def go() -> None:
            if self._stopping.is_set():
                return
            log.info("reiniciando la conexión con WhatsApp (%s)", reason)
            self._restart_wanted.set()
            try:
                self.client.stop()
            except Exception:
                log.exception("error deteniendo neonize para reiniciar")

        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(delay, go)
            self._timer.daemon = True
            self._timer.start()

    # -- connection events -------------------------------------------------------------------------------------

    def _on_login_status(self, _uuid: Any, status: Any) -> None:
        try:
            text = ctypes.string_at(status).decode(errors="replace") if status else ""
        except Exception:
            text = str(status)
        if text == "success":
            log.info("dispositivo vinculado; conectando")
            return
        if text == "timeout":
            log.warning("el código QR expiró sin escanearse; se genera uno nuevo")
            if self.sink is not None:
                self.sink.on_qr(None)
                self.sink.on_pair_code(None)
            self._restart("qr_timeout")
            return
        log.error("la vinculación terminó con %r; se reintenta", text)
        self._restart(f"login:{text}", delay=5)

    def _on_qr(self, data: bytes) -> None:
        code = data.decode("utf-8", errors="replace") if isinstance(data, (bytes, bytearray)) else str(data)
        if self.sink is not None:
            self.sink.on_qr(code)
        if self.pair_phone and self._pair_requested_cycle != self._cycle:
            self._pair_requested_cycle = self._cycle
            threading.Thread(target=self._pair_by_phone, name="neonize-pairphone", daemon=True).start()

    def _pair_by_phone(self) -> None:
        try:
            code = self.client.PairPhone(self.pair_phone, True)
        except Exception as error:
            log.error("no se pudo pedir el código de emparejamiento para %s: %s", self.pair_phone, error)
            return
        log.warning("CÓDIGO DE EMPAREJAMIENTO para %s: %s  (WhatsApp > Dispositivos vinculados > Vincular con "
                    "número de teléfono)", self.pair_phone, code)
        if self.sink is not None:
            self.sink.on_pair_code(code)

    def _on_pair_status(self, ev: Any) -> None:
        if ev.Status == 2:  # SUCCESS
            log.info("vinculado como %s (%s %s)", ev.ID.User, ev.Platform, ev.BusinessName)
        else:
            log.error("la vinculación falló: %s", ev.Error)

    def _on_connected(self, _ev: Any) -> None:
        self._connected = True
        self._logged_out = False
        log.info("conectado a WhatsApp")
        self._report(ConnectionChange(Status.CONNECTED))
        if self.mark_online:
            threading.Thread(target=self._send_available, daemon=True).start()

    def _send_available(self) -> None:
        try:
            from neonize.utils.enum import Presence
            self.client.send_presence(Presence.AVAILABLE)
        except Exception as error:
            log.warning("no se pudo marcar la cuenta como en línea: %s", error)

    def _on_disconnected(self, _ev: Any) -> None:
        self._connected = False
        log.warning("desconectado de WhatsApp; whatsmeow reconecta solo")
        self._report(ConnectionChange(Status.DISCONNECTED, reason="reconnecting",
                                      detail="WhatsApp desconectado; el puente reconecta automáticamente."))

    def _on_logged_out(self, ev: Any) -> None:
        from neonize.proto.Neonize_pb2 import LoggedOut
        self._connected = False
        self._logged_out = True
        try:
            reason = LoggedOut.DESCRIPTOR.fields_by_name["Reason"].enum_type.values_by_number[ev.Reason].name
        except Exception:
            reason = str(ev.Reason)
        log.error("SESIÓN CERRADA por WhatsApp (motivo %s%s): hay que volver a vincular el dispositivo; "
                  "se genera un QR nuevo (GET /qr)", reason, ", al conectar" if ev.OnConnect else "")
        self._report(ConnectionChange(Status.LOGGED_OUT, reason=reason))
        self._restart("logged_out", delay=self.qr_restart_seconds)

    def _on_stream_replaced(self, _ev: Any) -> None:
        self._connected = False
        log.error("otra sesión de WhatsApp Web con las mismas credenciales tomó la conexión (StreamReplaced); "
                  "el puente no reconecta para no pelear con ella: reinícialo cuando la otra se haya cerrado")
        self._report(ConnectionChange(
            Status.DISCONNECTED, reason="stream_replaced",
            detail="Otra sesión con las mismas credenciales tomó la conexión; reinicia el puente cuando esa "
                   "sesión esté cerrada."))

    def _on_temporary_ban(self, ev: Any) -> None:
        from neonize.proto.Neonize_pb2 import TemporaryBan
        self._connected = False
        try:
            code = TemporaryBan.DESCRIPTOR.fields_by_name["Code"].enum_type.values_by_number[ev.Code].name
        except Exception:
            code = str(ev.Code)
        expire = int(ev.Expire or 0)
        log.error("WhatsApp SUSPENDIÓ TEMPORALMENTE la cuenta (motivo %s, %d s): revisa el volumen de envíos",
                  code, expire)
        self._report(ConnectionChange(
            Status.DISCONNECTED, reason="temporary_ban",
            detail=f"WhatsApp suspendió temporalmente la cuenta (motivo {code}); el puente reintenta cuando "
                   f"termine la suspensión.",
            extra={"ban_motivo": code, "ban_segundos": expire}))
        if 0 < expire <= 30 * 86400:
            self._restart("temporary_ban_expired", delay=expire + 10)

    def _on_connect_failure(self, ev: Any) -> None:
        from neonize.proto.Neonize_pb2 import ConnectFailure
        self._connected = False
        try:
            reason = ConnectFailure.DESCRIPTOR.fields_by_name["Reason"].enum_type.values_by_number[ev.Reason].name
        except Exception:
            reason = str(ev.Reason)
        log.error("WhatsApp rechazó la conexión (%s: %s)", reason, ev.Message)
        if reason in ("LOGGED_OUT", "MAIN_DEVICE_GONE", "UNKNOWN_LOGOUT", "TEMP_BANNED"):
            return  # a LoggedOut / TemporaryBan event follows
        self._report(ConnectionChange(Status.DISCONNECTED, reason=f"connect_failure:{reason}",
                                      detail=f"WhatsApp rechazó la conexión ({reason}); se reintenta."))
        self._restart(f"connect_failure:{reason}", delay=30)

    def _on_client_outdated(self, _ev: Any) -> None:
        self._connected = False
        log.error("WhatsApp considera obsoleta esta versión de whatsmeow: actualiza neonize")
        self._report(ConnectionChange(Status.DISCONNECTED, reason="client_outdated",
                                      detail="WhatsApp rechaza esta versión del cliente: hay que actualizar "
                                             "neonize."))

    # -- inbound -----------------------------------------------------------------------------------------------

    def _alt_address(self, sender: Any, alt: Any) -> Optional[str]:
        if alt is not None and alt.User:
            return bare_jid(alt.User, alt.Server)
        if not self._connected:
            return None  # the Go client may be gone (restart/shutdown): calling into it would crash the process
        try:  # the local LID<->phone map (raises when unknown)
            other = (self.client.get_pn_from_lid(sender) if sender.Server == "lid"
                     else self.client.get_lid_from_pn(sender))
        except Exception:
            return None
        return bare_jid(other.User, other.Server) if other is not None and other.User else None

    def _on_message(self, ev: Any) -> None:
        info = ev.Info
        src = info.MessageSource
        if src.IsFromMe:
            return
        if src.IsGroup or src.Chat.Server in ("g.us", "broadcast", "newsletter"):
            log.debug("mensaje de grupo/difusión %s ignorado", info.ID)
            return
        msg = ev.Message
        if msg.HasField("documentWithCaptionMessage") and msg.documentWithCaptionMessage.HasField("message"):
            msg = msg.documentWithCaptionMessage.message  # whatsmeow usually unwraps it already
        if ev.IsEdit or msg.HasField("protocolMessage") or msg.HasField("reactionMessage"):
            log.debug("mensaje %s (edición/protocolo/reacción) ignorado", info.ID)
            return
        sender = src.Sender
        sender_s = bare_jid(sender.User, sender.Server)
        if not sender_s:
            log.warning("mensaje %s sin remitente; ignorado", info.ID)
            return
        alt_s = self._alt_address(sender, src.SenderAlt if src.HasField("SenderAlt") else None)
        if alt_s == sender_s:
            alt_s = None
        text = msg.conversation or (msg.extendedTextMessage.text if msg.HasField("extendedTextMessage") else "")
        media: Optional[MediaRef] = None
        quote_text: Optional[str] = None
        if msg.HasField("imageMessage"):
            from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as E2EMessage
            image = msg.imageMessage
            ref = E2EMessage(imageMessage=image).SerializeToString()
            media = MediaRef("imagen", image.mimetype or "image/jpeg", ref, image.caption or "")
        elif msg.HasField("locationMessage"):
            loc = msg.locationMessage
            text = f"📍 Ubicación: {loc.degreesLatitude:.6f}, {loc.degreesLongitude:.6f}"
            if loc.name or loc.address:
                text += f" ({' — '.join(p for p in (loc.name, loc.address) if p)})"
        elif not text:
            for field, what in OTHER_KINDS.items():
                if msg.HasField(field):
                    part = getattr(msg, field)
                    caption = getattr(part, "caption", "") or ""
                    text = f"[El cliente envió {what}; el puente solo reenvía texto e imágenes]"
                    if caption:
                        text = f"{caption}\n\n{text}"
                    quote_text = caption or QUOTE_LABELS.get(field, "")
                    if field == "documentMessage" and part.fileName and not caption:
                        quote_text = f"📄 {part.fileName}"
                    break
        if not text and media is None:
            log.debug("mensaje %s sin contenido reenviable; ignorado", info.ID)
            return
        if self.sink is not None:
            self.sink.on_message(InboundMessage(
                id=info.ID, sender=sender_s, sender_alt=alt_s, push_name=info.Pushname or "",
                timestamp=unix_seconds(info.Timestamp), text=text, media=media, reply_to=replied_to(msg),
                quote_text=quote_text))

    def _on_receipt(self, ev: Any) -> None:
        from neonize.proto.Neonize_pb2 import Receipt
        if ev.MessageSource.IsFromMe:
            # Our own devices. This also drops neonize's PLAYED_SELF, which its Go encoder labels SERVER_ERROR.
            return
        if not ev.HasField("Type"):
            # neonize's encoder leaves Type unset for receipt types it does not map (whatsmeow's "server-error"
            # among them); read as the proto2 default it would look like DELIVERED.
            log.debug("recibo de tipo desconocido para %s; ignorado", list(ev.MessageIDs))
            return
        try:
            type_name = Receipt.ReceiptType.Name(ev.Type)
        except ValueError:
            return
        state = receipt_state(type_name)
        if state is None or not ev.MessageIDs:
            return
        chat = ev.MessageSource.Chat
        if self.sink is not None:
            self.sink.on_receipt(ReceiptEvent(list(ev.MessageIDs), state, unix_seconds(ev.Timestamp),
                                              bare_jid(chat.User, chat.Server)))

    # -- outbound ----------------------------------------------------------------------------------------------

    @staticmethod
    def _jid(jid: str) -> Any:
        from neonize.utils.jid import build_jid
        user, _, server = jid.partition("@")
        return build_jid(user, server or "s.whatsapp.net")

    def _check(self) -> None:
        if not self._connected:
            raise SendError("WhatsApp desconectado", disconnected=True)

    @staticmethod
    def _context(quote: Quote) -> Any:
        """whatsmeow's reply ContextInfo: stanzaID + participant, and quotedMessage when the text is known."""
        from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import ContextInfo
        context = ContextInfo(stanzaID=quote.message_id, participant=quote.participant)
        if quote.text is not None:
            context.quotedMessage.conversation = quote.text
        return context

    def _send(self, jid: str, message: Any) -> str:
        try:
            response = self.client.send_message(self._jid(jid), message)
        except Exception as error:
            raise SendError(str(error) or type(error).__name__, disconnected=not self._connected) from error
        return response.ID

    def build_text(self, text: str, quote: Optional[Quote] = None) -> Any:
        from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import ExtendedTextMessage
        from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as E2EMessage
        # A ready Message, so neonize does not scan the text for @mentions or group links.
        if quote is None:
            return E2EMessage(conversation=text)
        return E2EMessage(extendedTextMessage=ExtendedTextMessage(text=text, contextInfo=self._context(quote)))

    def build_image(self, data: bytes, mimetype: str, caption: str = "", quote: Optional[Quote] = None) -> Any:
        message = self.client.build_image_message(data, caption=caption or None)  # uploads
        message.imageMessage.ClearField("contextInfo")
        if not message.imageMessage.mimetype.startswith("image/"):
            message.imageMessage.mimetype = mimetype
        if quote is not None:
            message.imageMessage.contextInfo.CopyFrom(self._context(quote))
        return message

    def build_document(self, data: bytes, mimetype: str, file_name: str, caption: str = "",
                       quote: Optional[Quote] = None) -> Any:
        from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import FutureProofMessage
        from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as E2EMessage
        message = self.client.build_document_message(data, caption=caption or None, title=file_name,
                                                     filename=file_name, mimetype=mimetype)  # uploads
        document = message.documentMessage
        document.ClearField("contextInfo")
        if quote is not None:
            document.contextInfo.CopyFrom(self._context(quote))
        if caption:
            return E2EMessage(documentWithCaptionMessage=FutureProofMessage(message=message))
        return message

    def send_text(self, jid: str, text: str, quote: Optional[Quote] = None) -> str:
        self._check()
        return self._send(jid, self.build_text(text, quote))

    def send_image(self, jid: str, data: bytes, mimetype: str, caption: str = "",
                   quote: Optional[Quote] = None) -> str:
        self._check()
        try:
            message = self.build_image(data, mimetype, caption, quote)
        except Exception as error:
            raise SendError(str(error) or type(error).__name__, disconnected=not self._connected) from error
        return self._send(jid, message)

    def send_document(self, jid: str, data: bytes, mimetype: str, file_name: str, caption: str = "",
                      quote: Optional[Quote] = None) -> str:
        self._check()
        try:
            message = self.build_document(data, mimetype, file_name, caption, quote)
        except Exception as error:
            raise SendError(str(error) or type(error).__name__, disconnected=not self._connected) from error
        return self._send(jid, message)

    def send_typing(self, jid: str, typing: bool) -> None:
        if not self._connected:
            return
        try:
            from neonize.utils.enum import ChatPresence, ChatPresenceMedia
            state = ChatPresence.CHAT_PRESENCE_COMPOSING if typing else ChatPresence.CHAT_PRESENCE_PAUSED
            self.client.send_chat_presence(self._jid(jid), state, ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT)
        except Exception as error:
            log.debug("presencia 'escribiendo' no enviada: %s", error)

    def download_media(self, ref: bytes) -> bytes:
        from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as E2EMessage
        if not self._connected:
            raise MediaError("WhatsApp desconectado")
        try:
            data = self.client.download_any(E2EMessage.FromString(ref))
        except Exception as error:
            raise MediaError(str(error) or type(error).__name__) from error
        if not data:
            raise MediaError("descarga vacía")
        return data
