"""The bridge: WhatsApp events -> durable queue -> Mostrador's /webhook, and Mostrador's /enviar-mensaje ->
WhatsApp (paced, idempotent). HTTP on aiohttp."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import io
import json
import logging
import sys
import threading
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Optional

import segno
from aiohttp import web

from .client import (ConnectionChange, InboundMessage, Quote, ReceiptEvent, SendError, Status, WhatsAppClient)
from .config import Settings
from .fake import FakeWhatsAppClient
from .forwarder import Forwarder
from .numbers import InvalidNumber, to_jid
from .pacing import ChatGaps, RateLimited, TokenBucket, typing_seconds
from .store import Store

log = logging.getLogger("whatsapp_bridge")

MAX_BODY = 24 << 20          # a 16 MB image or document as base64 JSON
MAX_IMAGE = 16 << 20
MAX_DOCUMENT = 16 << 20
MAX_TEXT = 65536
MAX_KEY = 200
MAX_FILE_NAME = 200
MAX_REPLY_ID = 128
PURGE_EVERY = 3600.0
# The documents Mostrador may send, with the extension their file name gets when it has none.
DOCUMENT_TYPES = {
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
PHOTO_QUOTE = "📷 Foto"  # what a reply quoting a photo without caption shows

DETAILS = {
    Status.CONNECTING: "Conectando con WhatsApp…",
    Status.WAITING_QR: "Esperando la vinculación: escanea el código QR (GET /qr o la terminal del puente) desde "
                       "WhatsApp > Dispositivos vinculados > Vincular un dispositivo.",
    Status.CONNECTED: "WhatsApp conectado.",
    Status.DISCONNECTED: "WhatsApp desconectado; el puente reconecta automáticamente.",
    Status.LOGGED_OUT: "La sesión de WhatsApp se cerró (se desvinculó el dispositivo): vuelve a vincularlo "
                       "escaneando el QR nuevo (GET /qr).",
}
STICKY_REASONS = ("stream_replaced", "temporary_ban", "client_outdated")


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def json_response(status: int, body: dict, headers: Optional[dict] = None) -> web.Response:
    return web.Response(status=status, body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                        content_type="application/json", charset="utf-8",
                        headers={"Cache-Control": "no-store", **(headers or {})})


class BadRequest(Exception):
    pass


@dataclass
class Outgoing:
    """One validated POST /enviar-mensaje."""

    jid: str
    texto: str
    kind: str = "texto"  # "texto" | "imagen" | "documento"
    media: Optional[bytes] = None
    mimetype: str = ""
    caption: str = ""
    file_name: str = ""  # documents: the name the customer sees
    reply_to: Optional[str] = None  # en_respuesta_a: the WhatsApp id of the message this one quotes

    def fingerprint(self) -> str:
        """What an Idempotency-Key is bound to. Seed-era requests (text, image) hash exactly as before."""
        parts = [self.jid.encode(), self.texto.encode(), self.caption.encode(),
                 hashlib.sha256(self.media).hexdigest().encode() if self.kind == "imagen" and self.media else b""]
        if self.kind == "documento" and self.media is not None:
            parts += [b"documento", hashlib.sha256(self.media).hexdigest().encode(), self.file_name.encode(),
                      self.mimetype.encode()]
        if self.reply_to:
            parts += [b"en_respuesta_a", self.reply_to.encode()]
        return hashlib.sha256(b"\0".join(parts)).hexdigest()


def decode_base64(value: Any, field: str) -> bytes:
    """base64 (standard alphabet, padded) or a data: URL carrying it. Raises BadRequest (Spanish)."""
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"El campo '{field}' debe ser base64 no vacío")
    encoded = value.strip()
    if encoded.startswith("data:") and "," in encoded:
        encoded = encoded.split(",", 1)[1]
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"El campo '{field}' no es base64 válido") from None


def clean_file_name(raw: Optional[str], mimetype: str) -> str:
    """The document's name as the customer sees it: no directories, no control or bidi-override characters,
    ending in the type's extension, at most MAX_FILE_NAME characters; "documento.<ext>" when nothing is left."""
    extension = DOCUMENT_TYPES[mimetype]
    name = "".join(c for c in (raw or "") if unicodedata.category(c) not in ("Cc", "Cf"))
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().strip(".").strip()
    if not name:
        name = "documento"
    if not name.lower().endswith(extension):
        name += extension
    if len(name) > MAX_FILE_NAME:
        name = name[:MAX_FILE_NAME - len(extension)].rstrip(" .") + extension
    return name


class Bridge:
    """Owns the store, the webhook worker, the WhatsApp client and the HTTP server. The `on_*` methods are the
    client's EventSink: they may be called from any thread."""

    def __init__(self, settings: Settings, client: WhatsAppClient, *,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.settings = settings
        self.client = client
        self.clock = clock
        self.sleep = sleep
        self.store = Store(settings.bridge_db_path, clock=clock)
        self.forwarder = Forwarder(settings, self.store, client, clock=clock)
        self.bucket = TokenBucket(settings.send_per_minute, settings.send_burst, settings.max_wait, monotonic)
        self.gaps = ChatGaps(settings.min_gap, monotonic)
        self.state_lock = threading.Lock()
        self.status = Status.CONNECTING
        self.reason = ""
        self.detail = ""
        self.extra: dict = {}
        self.since = clock()
        self.qr_code: Optional[str] = None
        self.pair_code: Optional[str] = None
        self.inflight: dict[str, asyncio.Future] = {}
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.runner: Optional[web.AppRunner] = None
        self.port: Optional[int] = None
        self.purge_task: Optional[asyncio.Task] = None
        self.fake = client if isinstance(client, FakeWhatsAppClient) else None

    # -- lifecycle ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        removed = await asyncio.to_thread(self.store.purge, self.settings.idempotency_days)
        if removed:
            log.info("purgados %d registros antiguos (claves de idempotencia, ids enviados, mensajes recibidos, "
                     "webhooks muertos)", removed)
        pending = await asyncio.to_thread(self.store.pending_count)
        if pending:
            log.info("%d webhooks pendientes de una ejecución anterior: se reanudan", pending)
        await self.forwarder.start()
        self.client.set_sink(self)
        self.runner = web.AppRunner(self.make_app(), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.settings.host, self.settings.port)
        await site.start()
        addresses = self.runner.addresses
        self.port = addresses[0][1] if addresses else self.settings.port
        log.info("puente escuchando en http://%s:%d (webhook de Mostrador: %s)", self.settings.host, self.port,
                 self.settings.webhook_url)
        await asyncio.to_thread(self.client.start)
        self.purge_task = asyncio.create_task(self._purge_loop())

    async def stop(self) -> None:
        if self.purge_task is not None:
            self.purge_task.cancel()
        if self.runner is not None:
            await self.runner.cleanup()
        await asyncio.to_thread(self.client.stop)
        await self.forwarder.stop()
        self.store.close()

    async def _purge_loop(self) -> None:
        while True:
            await asyncio.sleep(PURGE_EVERY)
            try:
                await asyncio.to_thread(self.store.purge, self.settings.idempotency_days)
            except Exception:
                log.exception("no se pudieron purgar registros antiguos")

    def _wake_forwarder(self) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.forwarder.notify)

    # -- EventSink (any thread) --------------------------------------------------------------------------------

    def on_message(self, message: InboundMessage) -> None:
        payload: dict[str, Any] = {"remitente": message.sender}
        if message.text:
            payload["contenido"] = message.text
        if message.push_name:
            payload["nombre"] = message.push_name
        payload["id_mensaje"] = message.id
        payload["timestamp"] = int(message.timestamp)
        if message.sender_alt:
            payload["remitente_alt"] = message.sender_alt
        if message.reply_to:
            payload["en_respuesta_a"] = message.reply_to
        media_ref = None
        mimetype = None
        if message.media is not None:
            payload["tipo"] = message.media.kind
            payload["mimetype"] = message.media.mimetype
            if message.media.caption:
                payload["caption"] = message.media.caption
                payload["contenido"] = message.media.caption
            media_ref = message.media.ref
            mimetype = message.media.mimetype
        # Durable before this returns (WAL + synchronous=FULL commit).
        queued = self.store.enqueue("mensaje", payload, dedup_key=f"m:{message.id}", media_ref=media_ref,
                                    media_mimetype=mimetype)
        if queued:
            log.info("mensaje %s de %s encolado%s", message.id, message.sender,
                     " (con imagen)" if media_ref is not None else "")
        self._wake_forwarder()
        # Remembered so that Mostrador can answer it as a quoted reply (en_respuesta_a), also after a restart.
        if message.quote_text is not None:
            quote_text = message.quote_text
        elif message.media is not None:
            quote_text = message.media.caption or PHOTO_QUOTE
        else:
            quote_text = message.text
        try:
            self.store.remember_inbound(message.id, message.sender, message.sender_alt, quote_text)
        except Exception:
            log.warning("no se pudo guardar el mensaje %s para citarlo en respuestas", message.id, exc_info=True)

    def on_receipt(self, receipt: ReceiptEvent) -> None:
        if not self.settings.forward_receipts:
            return
        for message_id in receipt.message_ids:
            if not self.store.was_sent_by_us(message_id):
                continue  # not a message Mostrador sent through this bridge
            payload = {"tipo": "estado", "id_mensaje": message_id, "estado": receipt.state,
                       "timestamp": int(receipt.timestamp)}
            if self.store.enqueue("estado", payload, dedup_key=f"r:{message_id}:{receipt.state}"):
                log.info("estado %s de %s encolado", receipt.state, message_id)
        self._wake_forwarder()

    def on_connection(self, change: ConnectionChange) -> None:
        with self.state_lock:
            if change.status in (Status.DISCONNECTED, Status.CONNECTING) and self.status == Status.LOGGED_OUT:
                return  # stays "logged_out" until a new pairing connects
            if (change.status == Status.DISCONNECTED and change.reason == "reconnecting"
                    and self.status == Status.DISCONNECTED and self.reason in STICKY_REASONS):
                return
            if change.status == self.status and change.reason == self.reason:
                return
            previous = self.status
            self.status = change.status
            self.reason = change.reason
            self.detail = change.detail
            self.extra = dict(change.extra)
            self.since = self.clock()
            if change.status == Status.CONNECTED:
                self.qr_code = None
                self.pair_code = None
        level = logging.INFO if change.status in (Status.CONNECTED, Status.CONNECTING) else logging.WARNING
        log.log(level, "WhatsApp: %s -> %s%s", previous.value, change.status.value,
                f" ({change.reason})" if change.reason else "")
        if change.status == Status.CONNECTED:
            self._wake_forwarder()  # attachments waiting for a connection

    def on_qr(self, code: Optional[str]) -> None:
        with self.state_lock:
            changed = code != self.qr_code
            self.qr_code = code
            if code and self.status not in (Status.LOGGED_OUT, Status.WAITING_QR):
                self.status = Status.WAITING_QR
                self.reason = ""
                self.detail = ""
                self.extra = {}
                self.since = self.clock()
        if code and changed:
            log.warning("nuevo código QR para vincular WhatsApp (también en GET /qr)")
            if self.settings.print_qr:
                try:
                    segno.make_qr(code).terminal(out=sys.stdout, compact=True)
                    sys.stdout.flush()
                except Exception as error:
                    log.debug("no se pudo dibujar el QR en la terminal: %s", error)

    def on_pair_code(self, code: Optional[str]) -> None:
        with self.state_lock:
            self.pair_code = code

    # -- state for /health -------------------------------------------------------------------------------------

    def health(self) -> tuple[int, dict]:
        with self.state_lock:
            status, reason, detail, extra = self.status, self.reason, self.detail, dict(self.extra)
            qr, pair, since = self.qr_code, self.pair_code, self.since
        pending, counters = self.store.queue_snapshot()
        body: dict[str, Any] = {
            "status": status.value,
            "whatsapp": "conectado" if status == Status.CONNECTED else "desconectado",
            "detail": detail or DETAILS[status],
            "desde": iso(since),
            "pending_webhooks": pending,
            "dead_webhooks": counters.get("webhooks_dead", 0),
            "delivered_webhooks": counters.get("webhooks_delivered", 0),
            "duplicates_suppressed": counters.get("duplicates_suppressed", 0),
            "idempotency_conflicts": counters.get("idempotency_conflicts", 0),
        }
        if reason:
            body["motivo"] = reason
        body.update(extra)
        if self.forwarder.last_error:
            body["webhook_ultimo_error"] = self.forwarder.last_error
        if status != Status.CONNECTED:
            body["qr_disponible"] = bool(qr)
            if pair:
                body["codigo_emparejamiento"] = pair
                body["detail"] = (f"{body['detail']} O bien, en el teléfono: Dispositivos vinculados > Vincular "
                                  f"con número de teléfono, e ingresa el código {pair}.")
        return (200 if status == Status.CONNECTED else 503), body

    # -- HTTP ----------------------------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._errors])
        app.router.add_post("/enviar-mensaje", self.handle_send)
        app.router.add_get("/health", self.handle_health)
        app.router.add_get("/qr", self.handle_qr)
        app.router.add_get("/webhooks/muertos", self.handle_dead)
        if self.fake is not None:
            app.router.add_post("/_fake/inbound", self.fake_inbound)
            app.router.add_post("/_fake/receipt", self.fake_receipt)
            app.router.add_post("/_fake/estado", self.fake_state)
            app.router.add_get("/_fake/enviados", self.fake_sent)
        return app

    @web.middleware
    async def _errors(self, request: web.Request, handler):
        try:
            return await handler(request)
        except web.HTTPException as error:
            if error.status == 413:
                return json_response(413, {"error": "Cuerpo demasiado grande"})
            if error.status in (404, 405):
                return json_response(error.status, {"error": "No encontrado" if error.status == 404
                                                     else "Método no permitido"})
            raise
        except BadRequest as error:
            return json_response(400, {"error": str(error)})
        except Exception:
            log.exception("error interno en %s %s", request.method, request.path)
            return json_response(500, {"error": "Error interno del puente"})

    def authorized(self, request: web.Request) -> bool:
        scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(value.strip().encode("utf-8"), self.settings.token.encode("utf-8"))

    @staticmethod
    def unauthorized() -> web.Response:
        return json_response(401, {"error": "No autorizado"}, {"WWW-Authenticate": "Bearer"})

    @staticmethod
    async def read_json(request: web.Request) -> dict:
        raw = await request.read()
        try:
            value = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("JSON inválido") from None
        if not isinstance(value, dict):
            raise BadRequest("Se esperaba un objeto JSON")
        return value

    async def handle_health(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return self.unauthorized()
        status, body = await asyncio.to_thread(self.health)
        return json_response(status, body)

    async def handle_qr(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return self.unauthorized()
        with self.state_lock:
            code, status = self.qr_code, self.status
        if not code or status == Status.CONNECTED:
            detail = ("WhatsApp ya está vinculado y conectado" if status == Status.CONNECTED
                      else "Todavía no hay un código QR; espera unos segundos")
            return json_response(404, {"error": "No hay un código QR pendiente", "detail": detail,
                                       "status": status.value})
        if request.query.get("formato") == "texto":  # the code itself, to draw it elsewhere (deploy/run.sh)
            return web.Response(text=code, content_type="text/plain", headers={"Cache-Control": "no-store"})
        buffer = io.BytesIO()
        segno.make_qr(code).save(buffer, kind="png", scale=8, border=4)
        return web.Response(body=buffer.getvalue(), content_type="image/png",
                            headers={"Cache-Control": "no-store"})

    async def handle_dead(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return self.unauthorized()
        items = await asyncio.to_thread(self.store.dead_items)
        for item in items:
            for field in ("imagen_base64", "documento_base64"):
                if isinstance(item["payload"].get(field), str):
                    item["payload"][field] = f"<{len(item['payload'][field])} caracteres>"
        return json_response(200, {"muertos": items})

    # -- /enviar-mensaje -----------------------------------------------------------------------------------------

    @staticmethod
    def parse_send(data: dict) -> Outgoing:
        """Validates a POST /enviar-mensaje body. Raises BadRequest (Spanish)."""
        numero = data.get("numero")
        if numero is None:
            raise BadRequest("Falta el campo 'numero'")
        try:
            jid = to_jid(numero)
        except InvalidNumber as error:
            raise BadRequest(str(error)) from None
        texto = data.get("texto")
        if texto is not None and not isinstance(texto, str):
            raise BadRequest("El campo 'texto' debe ser texto")
        reply_to = data.get("en_respuesta_a")
        if reply_to is not None:
            if not isinstance(reply_to, str):
                raise BadRequest("El campo 'en_respuesta_a' debe ser texto (el id de WhatsApp del mensaje citado)")
            reply_to = reply_to.strip()
            if len(reply_to) > MAX_REPLY_ID:
                raise BadRequest(f"El campo 'en_respuesta_a' excede {MAX_REPLY_ID} caracteres")
            if any(c.isspace() or not c.isprintable() for c in reply_to):
                raise BadRequest("El campo 'en_respuesta_a' no es un id de mensaje de WhatsApp válido")
            reply_to = reply_to or None
        imagen = data.get("imagen_base64")
        documento = data.get("documento_base64")
        if imagen is not None and documento is not None:
            raise BadRequest("No se pueden enviar 'imagen_base64' y 'documento_base64' en el mismo mensaje")
        if imagen is None and documento is None:
            if texto is None:
                raise BadRequest("Falta el campo 'texto'")
            if not texto.strip():
                raise BadRequest("El campo 'texto' está vacío")
            if len(texto) > MAX_TEXT:
                raise BadRequest(f"El campo 'texto' excede {MAX_TEXT} caracteres")
            return Outgoing(jid, texto, reply_to=reply_to)
        field = "imagen_base64" if imagen is not None else "documento_base64"
        if not isinstance(data[field], str) or not data[field].strip():
            raise BadRequest(f"El campo '{field}' debe ser base64 no vacío")
        mimetype = data.get("mimetype")
        mimetype = mimetype.strip().lower() if isinstance(mimetype, str) else None
        if imagen is not None and (mimetype is None or not mimetype.startswith("image/")):
            raise BadRequest("El campo 'mimetype' debe ser un tipo image/* (image/jpeg, image/png…)")
        if documento is not None and mimetype not in DOCUMENT_TYPES:
            raise BadRequest("El campo 'mimetype' de un documento debe ser application/pdf, application/msword o "
                             "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        caption = data.get("caption")
        if caption is not None and not isinstance(caption, str):
            raise BadRequest("El campo 'caption' debe ser texto")
        caption = caption if caption is not None else (texto or "")
        if len(caption) > MAX_TEXT:
            raise BadRequest(f"El campo 'caption' excede {MAX_TEXT} caracteres")
        file_name = data.get("nombre_archivo")
        if documento is not None and file_name is not None and not isinstance(file_name, str):
            raise BadRequest("El campo 'nombre_archivo' debe ser texto")
        content = decode_base64(data[field], field)
        what, limit = ("La imagen", MAX_IMAGE) if imagen is not None else ("El documento", MAX_DOCUMENT)
        if not content:
            raise BadRequest(f"{what} está vací{'a' if imagen is not None else 'o'}")
        if len(content) > limit:
            raise BadRequest(f"{what} excede 16 MB")
        if imagen is not None:
            return Outgoing(jid, texto or "", "imagen", content, mimetype, caption, reply_to=reply_to)
        return Outgoing(jid, texto or "", "documento", content, mimetype, caption,
                        clean_file_name(file_name, mimetype), reply_to)

    async def handle_send(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return self.unauthorized()
        data = await self.read_json(request)
        outgoing = self.parse_send(data)
        key = (request.headers.get("Idempotency-Key") or "").strip() or None
        if key is not None and len(key) > MAX_KEY:
            raise BadRequest(f"Idempotency-Key excede {MAX_KEY} caracteres")
        fingerprint = outgoing.fingerprint()

        if key is None:
            status, body, headers = await self.send(outgoing, None, fingerprint)
            return json_response(status, body, headers)

        # No await between this read, the in-flight check and registering ours: a concurrent request with the
        # same key either sees our future or (the first one writes 'done' before leaving `inflight`) the answer.
        previous = self.store.idempotency_get(key)
        if previous is not None and previous["state"] == "done":
            self.store.bump("duplicates_suppressed")
            if previous["fingerprint"] != fingerprint:
                self.store.bump("idempotency_conflicts")
                log.warning("Idempotency-Key %s repetida con otro número o contenido: se devuelve la primera "
                            "respuesta",
                            key[:80])
            log.info("Idempotency-Key %s repetida: no se reenvía (id %s)", key[:80], previous["response"].get("id"))
            return json_response(200, previous["response"], {"Idempotent-Replayed": "true"})
        running = self.inflight.get(key)
        if running is not None:
            status, body, headers = await asyncio.shield(running)
            return json_response(status, body, {**headers, "Idempotent-Replayed": "true"} if status == 200
                                 else headers)
        if previous is not None and previous["state"] == "pending":
            log.warning("Idempotency-Key %s quedó a medio enviar en una ejecución anterior (caída durante el "
                        "envío): se envía de nuevo, el cliente podría recibirlo dos veces", key[:80])
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.inflight[key] = future
        try:
            result = await self.send(outgoing, key, fingerprint)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        else:
            future.set_result(result)
        finally:
            self.inflight.pop(key, None)
        status, body, headers = result
        return json_response(status, body, headers)

    def quote_for(self, jid: str, message_id: str) -> Quote:
        """The ContextInfo of a reply to `message_id` sent to `jid`. Its content only when the bridge still
        remembers that message and it came from this same customer (never another chat's text); otherwise only
        the id and the customer's JID, which is all WhatsApp needs to show the quote to the customer."""
        try:
            known = self.store.inbound_message(message_id)
        except Exception:  # the quote is a nicety: never fail the send for it
            log.exception("no se pudo leer el mensaje citado %s", message_id[:80])
            known = None
        if known is not None and jid in (known.sender, known.sender_alt):
            return Quote(message_id, known.sender, known.text)
        if known is not None:
            log.warning("en_respuesta_a %s es un mensaje de %s, no de %s: se cita sin su contenido",
                        message_id[:80], known.sender, jid)
        else:
            log.info("en_respuesta_a %s: mensaje desconocido (o ya olvidado); se cita solo por id", message_id[:80])
        return Quote(message_id, jid, None)

    async def send(self, outgoing: Outgoing, key: Optional[str], fingerprint: str) -> tuple[int, dict, dict]:
        jid = outgoing.jid
        if not self.client.is_connected:
            return 503, {"error": "WhatsApp desconectado"}, {}
        try:
            wait = self.bucket.reserve()
        except RateLimited as limited:
            log.warning("límite de envío (%g/min): %s debe esperar %.1f s; 429", self.settings.send_per_minute,
                        jid, limited.retry_after)
            return (429, {"error": f"Límite de envío alcanzado; reintenta en {limited.retry_after_header} s",
                          "retry_after": int(limited.retry_after_header)},
                    {"Retry-After": limited.retry_after_header})
        if wait > 0:
            await self.sleep(wait)
        async with self.gaps.lock(jid):
            gap = self.gaps.wait_for(jid)
            if gap > 0:
                await self.sleep(gap)
            text_for_typing = outgoing.texto if outgoing.kind == "texto" else outgoing.caption
            if self.settings.typing and text_for_typing:
                await asyncio.to_thread(self.client.send_typing, jid, True)
                await self.sleep(typing_seconds(text_for_typing, self.settings.typing_chars_per_second,
                                                self.settings.typing_max))
            if not self.client.is_connected:
                self.bucket.release()
                return 503, {"error": "WhatsApp desconectado"}, {}
            quote = None
            if outgoing.reply_to:
                quote = await asyncio.to_thread(self.quote_for, jid, outgoing.reply_to)
            extra = {"quote": quote} if quote is not None else {}
            if key is not None:
                await asyncio.to_thread(self.store.idempotency_begin, key, fingerprint)
            try:
                if outgoing.kind == "imagen":
                    message_id = await asyncio.to_thread(self.client.send_image, jid, outgoing.media,
                                                         outgoing.mimetype, outgoing.caption, **extra)
                elif outgoing.kind == "documento":
                    message_id = await asyncio.to_thread(self.client.send_document, jid, outgoing.media,
                                                         outgoing.mimetype, outgoing.file_name, outgoing.caption,
                                                         **extra)
                else:
                    message_id = await asyncio.to_thread(self.client.send_text, jid, outgoing.texto, **extra)
            except SendError as error:
                if key is not None:
                    await asyncio.to_thread(self.store.idempotency_abort, key)
                self.bucket.release()
                if self.settings.typing:
                    await asyncio.to_thread(self.client.send_typing, jid, False)
                if error.disconnected or not self.client.is_connected:
                    return 503, {"error": "WhatsApp desconectado"}, {}
                log.error("WhatsApp no aceptó el mensaje para %s: %s", jid, error)
                return 502, {"error": f"WhatsApp no aceptó el mensaje: {error}"}, {}
            except BaseException:
                if key is not None:
                    await asyncio.to_thread(self.store.idempotency_abort, key)
                raise
            self.gaps.sent(jid)
        body = {"status": "enviado", "id": message_id}
        if key is not None:
            await asyncio.to_thread(self.store.idempotency_finish, key, body, message_id, jid)
        else:
            await asyncio.to_thread(self.store.record_sent, message_id, jid)
        log.info("→ %s: mensaje %s enviado%s%s", jid, message_id,
                 f" ({outgoing.kind})" if outgoing.kind != "texto" else "",
                 f" en respuesta a {outgoing.reply_to}" if outgoing.reply_to else "")
        return 200, body, {}

    # -- fake controls (only with FakeWhatsAppClient) ------------------------------------------------------------

    async def fake_inbound(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return self.unauthorized()
        data = await self.read_json(request)
        sender = data.get("remitente")
        if not isinstance(sender, str) or not sender.strip():
            raise BadRequest("Falta el campo 'remitente'")
        image = None
        if data.get("imagen_base64") is not None:
            try:
                image = base64.b64decode(str(data["imagen_base64"]), validate=True)
            except (binascii.Error, ValueError):
                raise BadRequest("El campo 'imagen_base64' no es base64 válido") from None
        timestamp = data.get("timestamp")
        if timestamp is not None and (isinstance(timestamp, bool) or not isinstance(timestamp, int)):
            raise BadRequest("El campo 'timestamp' debe ser un entero (segundos Unix)")
        reply_to = data.get("en_respuesta_a")
        if reply_to is not None and not isinstance(reply_to, str):
            raise BadRequest("El campo 'en_respuesta_a' debe ser texto")
        assert self.fake is not None
        message_id = await asyncio.to_thread(
            self.fake.inject_message, sender.strip(), str(data.get("contenido") or ""),
            push_name=str(data.get("nombre") or ""), sender_alt=data.get("remitente_alt") or None,
            message_id=data.get("id_mensaje") or None, timestamp=timestamp,
            image=image, mimetype=str(data.get("mimetype") or "image/jpeg"), caption=str(data.get("caption") or ""),
            reply_to=reply_to or None)
        return json_response(200, {"status": "encolado", "id_mensaje": message_id})

    async def fake_receipt(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return self.unauthorized()
        data = await self.read_json(request)
        ids = data.get("id_mensaje")
        if not isinstance(ids, (str, list)) or not ids:
            raise BadRequest("Falta el campo 'id_mensaje'")
        assert self.fake is not None
        state = await asyncio.to_thread(self.fake.deliver_receipt, ids, str(data.get("tipo") or "DELIVERED"))
        return json_response(200, {"estado": state})

    async def fake_state(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return self.unauthorized()
        data = await self.read_json(request)
        assert self.fake is not None
        wanted = str(data.get("status") or "")
        actions = {
            "connected": self.fake.set_connected,
            "disconnected": lambda: self.fake.set_disconnected(str(data.get("motivo") or "")),
            "logged_out": self.fake.set_logged_out,
            "waiting_qr": lambda: self.fake.show_qr(str(data.get("qr") or "2@fake-qr-demo")),
        }
        if wanted not in actions:
            raise BadRequest("status debe ser connected, disconnected, logged_out o waiting_qr")
        await asyncio.to_thread(actions[wanted])
        _, body = await asyncio.to_thread(self.health)
        return json_response(200, body)

    async def fake_sent(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return self.unauthorized()
        assert self.fake is not None
        with self.fake.lock:
            sent = [dict(item) for item in self.fake.sent]
        return json_response(200, {"enviados": sent})
