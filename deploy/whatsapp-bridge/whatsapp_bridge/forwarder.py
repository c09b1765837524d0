"""The webhook worker: posts the durable queue to Mostrador, oldest first, until each item is accepted.

200-299 -> accepted (also duplicates) and removed; 4xx other than 408/429 -> will never be accepted: logged,
kept as 'dead', counted; 5xx, 408, 429 and connection errors -> retried with exponential backoff and jitter
(`retry_base` doubling up to `retry_max`). One item at a time, so Mostrador sees the customer's messages in
the order WhatsApp delivered them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import random
import time
from typing import Callable, Optional

import aiohttp

from .client import MediaError, WhatsAppClient
from .config import Settings
from .store import QueueItem, Store

log = logging.getLogger("whatsapp_bridge.webhook")

MEDIA_WAIT_FOR_CONNECTION = 600.0  # seconds an image waits for WhatsApp to reconnect before attempts count
FALLBACK_PHOTO_TEXT = "📷 Foto (el puente no pudo descargar la imagen de WhatsApp)"


def sign(key: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(key.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def is_permanent(status: int) -> bool:
    return 400 <= status < 500 and status not in (408, 429)


class Forwarder:
    def __init__(self, settings: Settings, store: Store, client: WhatsAppClient,
                 clock: Callable[[], float] = time.time, rng: Optional[random.Random] = None):
        self.settings = settings
        self.store = store
        self.client = client
        self.clock = clock
        self.rng = rng or random.Random()
        self.wake = asyncio.Event()
        self.stopping = asyncio.Event()
        self.session: Optional[aiohttp.ClientSession] = None
        self.failures = 0  # consecutive failed attempts of the head item
        self.last_error: Optional[str] = None
        self.next_attempt_at: Optional[float] = None
        self.task: Optional[asyncio.Task] = None

    # -- lifecycle ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(
            trust_env=False, timeout=aiohttp.ClientTimeout(total=self.settings.webhook_timeout))
        self.task = asyncio.create_task(self.run(), name="webhook-forwarder")

    async def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self.task is not None:
            try:
                await asyncio.wait_for(self.task, timeout=self.settings.webhook_timeout + 5)
            except asyncio.TimeoutError:
                self.task.cancel()
        if self.session is not None:
            await self.session.close()

    def notify(self) -> None:
        """Something was queued (call from the event loop)."""
        self.wake.set()

    # -- the loop ----------------------------------------------------------------------------------------------

    def backoff(self, failures: int) -> float:
        ceiling = min(self.settings.retry_max, self.settings.retry_base * (2 ** max(0, failures - 1)))
        return ceiling * (0.5 + self.rng.random() / 2)  # "equal jitter": between half and all of it

    async def _sleep(self, seconds: float) -> None:
        self.next_attempt_at = self.clock() + seconds
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass
        finally:
            self.next_attempt_at = None

    async def run(self) -> None:
        while not self.stopping.is_set():
            self.wake.clear()
            try:
                item = await asyncio.to_thread(self.store.next_pending)
            except Exception:  # a broken disk must not kill the worker silently
                log.exception("no se pudo leer la cola de webhooks")
                await self._sleep(5)
                continue
            if item is None:
                await self.wake.wait()
                continue
            try:
                delay = await self.process(item)
            except Exception as error:  # never let one item kill the worker
                log.exception("error inesperado procesando el webhook %d", item.id)
                self.failures += 1
                self.last_error = repr(error)
                delay = self.backoff(self.failures)
            if delay:
                await self._sleep(delay)

    async def process(self, item: QueueItem) -> float:
        """Handles the head item; returns how long to wait before the next attempt (0: go on)."""
        if item.media_ref is not None:
            ready = await self.fetch_media(item)
            if not ready:
                self.failures += 1
                return min(self.backoff(self.failures), 60.0)
            item = await asyncio.to_thread(self.store.next_pending)
            if item is None:
                return 0.0
        status, error = await self.post(item.payload)
        if status is not None and 200 <= status < 300:
            await asyncio.to_thread(self.store.delivered, item.id)
            if self.failures:
                log.info("Mostrador vuelve a aceptar webhooks tras %d intentos fallidos", self.failures)
            self.failures = 0
            self.last_error = None
            log.info("webhook %s entregado (%s %s)", item.id, item.kind, item.payload.get("id_mensaje", ""))
            return 0.0
        if status is not None and is_permanent(status):
            await asyncio.to_thread(self.store.mark_dead, item.id, status, error)
            self.failures = 0
            log.error("Mostrador rechazó el webhook %d (%s %s) con HTTP %d, descartado: %s",
                      item.id, item.kind, item.payload.get("id_mensaje", ""), status, error)
            return 0.0
        self.failures += 1
        self.last_error = f"HTTP {status}: {error}" if status is not None else error
        await asyncio.to_thread(self.store.attempt_failed, item.id, status, error)
        delay = self.backoff(self.failures)
        log.warning("webhook %d no entregado (%s); reintento %d en %.1f s",
                    item.id, self.last_error, self.failures, delay)
        return delay

    async def post(self, payload: dict) -> tuple[Optional[int], str]:
        assert self.session is not None
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {
            "Authorization": f"Bearer {self.settings.webhook_token}",
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "User-Agent": "mostrador-whatsapp-bridge",
        }
        if self.settings.webhook_hmac_key:
            headers["X-Mostrador-Signature"] = sign(self.settings.webhook_hmac_key, body, int(self.clock()))
        try:
            async with self.session.post(self.settings.webhook_url, data=body, headers=headers) as response:
                text = await response.text(errors="replace")
                return response.status, text[:500]
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            return None, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__

    async def fetch_media(self, item: QueueItem) -> bool:
        """Downloads the attachment into the payload. False: try again later. Gives up (text only) after
        `media_attempts` failures, so one broken image cannot hold the queue forever."""
        payload = dict(item.payload)
        error = ""
        if self.client.is_connected:
            try:
                data = await asyncio.to_thread(self.client.download_media, item.media_ref)
                payload["imagen_base64"] = base64.b64encode(data).decode("ascii")
                payload["tipo"] = "imagen"
                payload["mimetype"] = item.media_mimetype or payload.get("mimetype") or "image/jpeg"
                await asyncio.to_thread(self.store.replace_payload, item.id, payload)
                return True
            except MediaError as failure:
                error = str(failure) or "descarga fallida"
            except Exception as failure:  # whatever the binding raises
                error = f"{type(failure).__name__}: {failure}"
        elif self.clock() - item.created_at < MEDIA_WAIT_FOR_CONNECTION:
            # A reconnection takes seconds: wait for it without spending an attempt.
            log.info("imagen del mensaje %s: esperando a que WhatsApp reconecte para descargarla",
                     payload.get("id_mensaje"))
            return False
        else:
            error = "WhatsApp desconectado"
        attempts = await asyncio.to_thread(self.store.media_failed, item.id, error)
        if attempts < self.settings.media_attempts:
            log.warning("imagen del mensaje %s sin descargar (%s), intento %d de %d",
                        payload.get("id_mensaje"), error, attempts, self.settings.media_attempts)
            return False
        log.error("imagen del mensaje %s descartada tras %d intentos (%s): se reenvía solo el texto",
                  payload.get("id_mensaje"), attempts, error)
        for key in ("tipo", "imagen_base64", "mimetype"):
            payload.pop(key, None)
        caption = payload.pop("caption", "") or ""
        payload["contenido"] = f"{caption}\n\n{FALLBACK_PHOTO_TEXT}" if caption else FALLBACK_PHOTO_TEXT
        await asyncio.to_thread(self.store.replace_payload, item.id, payload)
        await asyncio.to_thread(self.store.bump, "media_given_up")
        return True
