"""End to end with the real Mostrador api (skipped unless MOSTRADOR_API_BIN points to the executable):
fake WhatsApp -> bridge -> POST /webhook -> a ticket in GET /tickets."""

import json
import os
import socket
import subprocess

import pytest
from bridge_testkit import BridgeHarness, http, wait_for

API_BIN = os.environ.get("MOSTRADOR_API_BIN", "")
pytestmark = pytest.mark.skipif(not API_BIN or not os.access(API_BIN, os.X_OK),
                                reason="MOSTRADOR_API_BIN unset or not an executable")
WEBHOOK_TOKEN = "e2e-webhook-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    data = tmp_path_factory.mktemp("api-data")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOSTRADOR_")}
    env.update({
        "MOSTRADOR_DATA_DIR": str(data), "MOSTRADOR_HTTP_PORT": str(port), "MOSTRADOR_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "MOSTRADOR_ADMIN_USER": "admin", "MOSTRADOR_ADMIN_PASSWORD": "admin-password", "MOSTRADOR_INTAKE": "off",
        "MOSTRADOR_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2F",  # no broker: webhooks still work
    })
    log = open(data / "api.log", "wb")
    process = subprocess.Popen([API_BIN], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        def live():
            if process.poll() is not None:
                raise AssertionError(f"mostrador-api exited with {process.returncode}: see {data / 'api.log'}")
            try:
                return http("GET", base + "/health/live", timeout=2)[0] == 200
            except OSError:
                return False

        wait_for(live, timeout=30, interval=0.1, what="mostrador-api /health/live")
        status, _, raw = http("POST", base + "/api/auth/login/", {"username": "admin", "password": "admin-password"})
        assert status == 200, raw
        yield base, json.loads(raw)["token"]
    finally:
        process.terminate()
        try:
            process.wait(3)  # without a broker its graceful shutdown can wait on AMQP retries
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def tickets(api):
    base, token = api
    status, _, raw = http("GET", base + "/tickets", headers={"Authorization": f"Token {token}"})
    assert status == 200, raw
    return json.loads(raw)


def conversation(api, ticket_id):
    base, token = api
    status, _, raw = http("GET", f"{base}/ticket/{ticket_id}/conversacion", headers={"Authorization": f"Token {token}"})
    assert status == 200, raw
    return json.loads(raw)


def ticket_with_digits(api, digits):
    return next((t for t in tickets(api) if t.get("telefono") and digits in t["telefono"].replace("+", "")), None)


def start_bridge(api, tmp_path):
    base, _ = api
    return BridgeHarness(str(tmp_path / "bridge"), webhook_url=base + "/webhook", webhook_token=WEBHOOK_TOKEN)


def test_inbound_message_opens_a_ticket(api, tmp_path):
    bridge = start_bridge(api, tmp_path)
    try:
        bridge.client.inject_message("34612345678@s.whatsapp.net", "Hola, mi laptop no enciende",
                                     push_name="Lucía", message_id="E2E-PHONE-1")
        ticket = wait_for(lambda: ticket_with_digits(api, "34612345678"), timeout=15, interval=0.1,
                          what="the ticket in GET /tickets")
        assert ticket["nombre"] == "Lucía"
        wait_for(lambda: bridge.health()[1]["pending_webhooks"] == 0)
        assert bridge.health()[1]["delivered_webhooks"] == 1
    finally:
        bridge.stop()


def test_lid_message_with_remitente_alt_lands_on_the_same_ticket(api, tmp_path):
    bridge = start_bridge(api, tmp_path)
    try:
        phone, lid = "5491123456789", "987654321098765"
        bridge.client.inject_message(f"{phone}@s.whatsapp.net", "Primer mensaje desde el teléfono",
                                     push_name="Tomás", message_id="E2E-PHONE-2")
        first = wait_for(lambda: ticket_with_digits(api, phone), timeout=15, interval=0.1, what="the phone ticket")
        bridge.client.inject_message(f"{lid}@lid", "Segundo mensaje, ahora desde el LID", push_name="Tomás",
                                     sender_alt=f"{phone}@s.whatsapp.net", message_id="E2E-LID-2")
        wait_for(lambda: bridge.health()[1]["delivered_webhooks"] == 2, timeout=15, what="both webhooks accepted")
        texts = [item.get("content") or item.get("contenido") or json.dumps(item, ensure_ascii=False)
                 for item in conversation(api, first["id"])["historial"]]
        assert any("Segundo mensaje" in text for text in texts), texts
        others = [t for t in tickets(api) if t["id"] != first["id"] and "Segundo mensaje" in (t.get("ultimo_mensaje")
                                                                                                 or "")]
        assert others == []
    finally:
        bridge.stop()
