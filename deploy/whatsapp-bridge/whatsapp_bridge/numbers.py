"""Addresses: what Mostrador writes in `numero` -> the JID WhatsApp needs."""

from __future__ import annotations

PHONE_SERVERS = ("s.whatsapp.net", "c.us")


class InvalidNumber(ValueError):
    pass


def to_jid(numero: str) -> str:
    """'5214771234567', '+52 1 477-123-4567', '5214771234567@s.whatsapp.net', '…@c.us', '5214…:12@s.whatsapp.net'
    -> '5214771234567@s.whatsapp.net'; '123456@lid' -> '123456@lid'. Raises InvalidNumber (Spanish message)."""
    if not isinstance(numero, str):
        raise InvalidNumber("El campo 'numero' debe ser texto")
    raw = numero.strip()
    if not raw:
        raise InvalidNumber("El campo 'numero' está vacío")
    if len(raw) > 128:
        raise InvalidNumber("El campo 'numero' es demasiado largo")
    user, at, server = raw.partition("@")
    server = server.strip().lower()
    # A device suffix (":12") names one of the person's devices, not the person.
    user = user.split(":", 1)[0].strip()
    if at and server == "lid":
        if not user.isdigit() or not 1 <= len(user) <= 32:
            raise InvalidNumber(f"'{raw[:64]}' no es un identificador @lid válido")
        return f"{user}@lid"
    if at and server not in PHONE_SERVERS:
        raise InvalidNumber(
            f"'{raw[:64]}' no es un número de WhatsApp: solo se envía a personas (@s.whatsapp.net o @lid)")
    if any(c not in "0123456789 +-()." for c in user):
        raise InvalidNumber(f"'{raw[:64]}' no es un número de teléfono válido")
    digits = "".join(c for c in user if c.isdigit())
    if not 8 <= len(digits) <= 15:
        raise InvalidNumber(
            f"'{raw[:64]}' no es un número válido: se esperan de 8 a 15 dígitos con el código de país")
    return f"{digits}@s.whatsapp.net"


def bare_jid(user: str, server: str) -> str:
    """A JID string without the device or agent part."""
    user = user.split(":", 1)[0]
    if server == "lid":
        user = user.split(".", 1)[0]
    return f"{user}@{server}" if user else ""
