"""Settings of the bridge, read from the environment (see README.md for the full list)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the variable."""


def _text(env: Mapping[str, str], name: str, default: str = "") -> str:
    value = env.get(name)
    return value.strip() if value is not None and value.strip() != "" else default


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = _text(env, name)
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} debe ser un número, no {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} debe estar entre {low:g} y {high:g}, no {value:g}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _text(env, name).lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on", "si", "sí"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} debe ser 1 o 0, no {raw!r}")


@dataclass
class Settings:
    # Mostrador side
    webhook_url: str = "http://127.0.0.1:8080/webhook"
    webhook_token: str = ""
    webhook_hmac_key: str = ""
    webhook_timeout: float = 30.0
    forward_receipts: bool = True
    # our HTTP server
    host: str = "127.0.0.1"
    port: int = 8090
    token: str = ""
    # storage
    data_dir: str = "./data"
    idempotency_days: float = 7.0
    # pairing
    pair_phone: str = ""
    print_qr: bool = True
    device_name: str = "Mostrador"
    qr_restart_seconds: float = 5.0
    whatsmeow_log_level: str = "WARNING"
    mark_online: bool = False
    proxy: str = ""
    # webhook retries
    retry_base: float = 1.0
    retry_max: float = 300.0
    media_attempts: int = 5
    # anti-ban pacing
    send_per_minute: float = 20.0
    send_burst: float = 5.0
    max_wait: float = 3.0
    typing: bool = True
    typing_max: float = 3.0
    typing_chars_per_second: float = 25.0
    min_gap: float = 1.0
    log_level: str = "INFO"

    @property
    def bridge_db_path(self) -> str:
        return os.path.join(self.data_dir, "bridge.sqlite3")

    @property
    def session_db_path(self) -> str:
        return os.path.join(self.data_dir, "whatsapp-session.sqlite3")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, fake: bool = False) -> "Settings":
        env = os.environ if env is None else env
        s = cls()
        s.webhook_url = _text(env, "MOSTRADOR_WEBHOOK_URL", s.webhook_url)
        if not s.webhook_url.startswith(("http://", "https://")):
            raise ConfigError(f"MOSTRADOR_WEBHOOK_URL debe empezar por http:// o https://: {s.webhook_url!r}")
        s.webhook_token = _text(env, "MOSTRADOR_WEBHOOK_TOKEN")
        s.webhook_hmac_key = _text(env, "MOSTRADOR_WEBHOOK_HMAC_KEY")
        s.webhook_timeout = _number(env, "BRIDGE_WEBHOOK_TIMEOUT_SECONDS", s.webhook_timeout, 1, 600)
        s.forward_receipts = _flag(env, "BRIDGE_FORWARD_RECEIPTS", s.forward_receipts)
        s.host = _text(env, "BRIDGE_HOST", s.host)
        s.port = int(_number(env, "BRIDGE_PORT", s.port, 0, 65535))
        # BRIDGE_TOKEN, or the name deploy/run.sh already generates for the relay.
        s.token = _text(env, "BRIDGE_TOKEN") or _text(env, "MOSTRADOR_BRIDGE_TOKEN")
        s.data_dir = _text(env, "BRIDGE_DATA_DIR", s.data_dir)
        if "?" in s.data_dir or "#" in s.data_dir:
            # neonize builds the SQLite DSN as file:<path>?_foreign_keys=on
            raise ConfigError("BRIDGE_DATA_DIR no puede contener '?' ni '#'")
        s.idempotency_days = _number(env, "BRIDGE_IDEMPOTENCY_DAYS", s.idempotency_days, 7, 3650)
        s.pair_phone = "".join(c for c in _text(env, "BRIDGE_PAIR_PHONE") if c.isdigit())
        if _text(env, "BRIDGE_PAIR_PHONE") and not 8 <= len(s.pair_phone) <= 15:
            raise ConfigError("BRIDGE_PAIR_PHONE debe ser el número completo con código de país (8 a 15 dígitos)")
        s.print_qr = _flag(env, "BRIDGE_PRINT_QR", s.print_qr)
        s.device_name = _text(env, "BRIDGE_DEVICE_NAME", s.device_name)
        s.qr_restart_seconds = _number(env, "BRIDGE_QR_RESTART_SECONDS", s.qr_restart_seconds, 0, 3600)
        s.whatsmeow_log_level = _text(env, "BRIDGE_WHATSMEOW_LOG_LEVEL", s.whatsmeow_log_level).upper()
        s.mark_online = _flag(env, "BRIDGE_MARK_ONLINE", s.mark_online)
        s.proxy = _text(env, "BRIDGE_PROXY")
        if s.proxy and not s.proxy.startswith(("http://", "https://", "socks5://")):
            raise ConfigError("BRIDGE_PROXY debe ser http://, https:// o socks5://host:puerto")
        s.retry_base = _number(env, "BRIDGE_RETRY_BASE_SECONDS", s.retry_base, 0.001, 3600)
        s.retry_max = _number(env, "BRIDGE_RETRY_MAX_SECONDS", s.retry_max, s.retry_base, 86400)
        s.media_attempts = int(_number(env, "BRIDGE_MEDIA_ATTEMPTS", s.media_attempts, 1, 100))
        s.send_per_minute = _number(env, "BRIDGE_SEND_PER_MINUTE", s.send_per_minute, 0, 10000)
        s.send_burst = _number(env, "BRIDGE_SEND_BURST", s.send_burst, 1, 10000)
        s.max_wait = _number(env, "BRIDGE_MAX_WAIT_SECONDS", s.max_wait, 0, 3600)
        s.typing = _flag(env, "BRIDGE_TYPING", s.typing)
        s.typing_max = _number(env, "BRIDGE_TYPING_MAX_SECONDS", s.typing_max, 0, 30)
        s.typing_chars_per_second = _number(env, "BRIDGE_TYPING_CHARS_PER_SECOND", s.typing_chars_per_second, 1, 1000)
        s.min_gap = _number(env, "BRIDGE_MIN_GAP_SECONDS", s.min_gap, 0, 3600)
        s.log_level = _text(env, "BRIDGE_LOG_LEVEL", s.log_level).upper()
        if fake:
            s.webhook_token = s.webhook_token or "dev-webhook-token"
            s.token = s.token or "dev-bridge-token"
        if not s.token:
            raise ConfigError("Falta BRIDGE_TOKEN (el token que Mostrador envía a /enviar-mensaje)")
        if not s.webhook_token:
            raise ConfigError("Falta MOSTRADOR_WEBHOOK_TOKEN (el token del /webhook de Mostrador)")
        return s
