"""`python -m whatsapp_bridge [--fake]`: runs the bridge until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from .client import Status
from .config import ConfigError, Settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m whatsapp_bridge",
        description="Puente de WhatsApp Web (neonize/whatsmeow) para Mostrador. Configuración por variables de "
                    "entorno (ver README.md).")
    parser.add_argument("--fake", action="store_true",
                        help="sin WhatsApp: cliente simulado con POST /_fake/inbound, /_fake/receipt, /_fake/estado "
                             "y GET /_fake/enviados (tokens de desarrollo por defecto)")
    parser.add_argument("--fake-state", choices=[s.value for s in Status if s != Status.CONNECTING],
                        default="connected", help="estado inicial del cliente simulado")
    parser.add_argument("--port", type=int, help="puerto HTTP (gana a BRIDGE_PORT)")
    parser.add_argument("--data-dir", help="directorio de datos (gana a BRIDGE_DATA_DIR)")
    return parser.parse_args(argv)


async def run(settings: Settings, fake: bool, fake_state: str) -> int:
    from .app import Bridge
    if fake:
        from .fake import FakeWhatsAppClient
        client = FakeWhatsAppClient(initial=Status(fake_state))
    else:
        from .neonize_client import NeonizeClient
        os.makedirs(settings.data_dir, exist_ok=True)
        client = NeonizeClient(settings.session_db_path, pair_phone=settings.pair_phone,
                               device_name=settings.device_name, qr_restart_seconds=settings.qr_restart_seconds,
                               mark_online=settings.mark_online, log_level=settings.whatsmeow_log_level,
                               proxy=settings.proxy)
    bridge = Bridge(settings, client)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await bridge.start()
    except OSError as error:
        logging.getLogger("whatsapp_bridge").error("no se pudo arrancar: %s", error)
        await bridge.stop()
        return 1
    if fake:
        print(f"Puente simulado en http://{settings.host}:{bridge.port}/ (token {settings.token!r})", flush=True)
    await stop.wait()
    logging.getLogger("whatsapp_bridge").info("deteniendo el puente…")
    await bridge.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = dict(os.environ)
    if args.port is not None:
        env["BRIDGE_PORT"] = str(args.port)
    if args.data_dir:
        env["BRIDGE_DATA_DIR"] = args.data_dir
    try:
        settings = Settings.from_env(env, fake=args.fake)
    except ConfigError as error:
        print(f"Configuración inválida: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=getattr(logging, settings.log_level, logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    return asyncio.run(run(settings, args.fake, args.fake_state))


if __name__ == "__main__":
    sys.exit(main())
