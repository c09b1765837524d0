"""GET /health states and GET /qr."""

from bridge_testkit import BridgeHarness
from whatsapp_bridge.client import Status
from whatsapp_bridge.fake import FakeWhatsAppClient


def test_health_states(make_bridge, mostrador):
    bridge = make_bridge()
    assert bridge.json("GET", "/health", token=None)[0] == 401
    assert bridge.json("GET", "/health", token="nope")[0] == 401

    status, body = bridge.health()
    assert status == 200 and body["status"] == "connected"
    assert body["pending_webhooks"] == 0 and "detail" in body

    bridge.client.set_disconnected("reconnecting", "WhatsApp desconectado; el puente reconecta automáticamente.")
    status, body = bridge.health()
    assert status == 503 and body["status"] == "disconnected" and "reconecta" in body["detail"]

    bridge.client.set_logged_out()
    status, body = bridge.health()
    assert status == 503 and body["status"] == "logged_out" and "vincular" in body["detail"].lower()
    # whatsmeow follows a logout with a disconnect and the bridge with a new QR: still "logged_out"
    bridge.client.set_disconnected("reconnecting")
    bridge.client.show_qr("2@nuevo-qr")
    status, body = bridge.health()
    assert status == 503 and body["status"] == "logged_out" and body["qr_disponible"] is True

    bridge.client.set_connected()
    status, body = bridge.health()
    assert status == 200 and body["status"] == "connected" and "qr_disponible" not in body


def test_waiting_qr_pair_code_and_pending_count(data_dir, mostrador):
    mostrador.responder = lambda record: (503, {})
    bridge = BridgeHarness(data_dir, FakeWhatsAppClient(Status.WAITING_QR, qr="2@abc,def,ghi"),
                           webhook_url=mostrador.url)
    try:
        status, body = bridge.health()
        assert status == 503 and body["status"] == "waiting_qr"
        assert body["qr_disponible"] is True and "QR" in body["detail"]
        bridge.client.show_pair_code("ABCD-EFGH")
        status, body = bridge.health()
        assert body["codigo_emparejamiento"] == "ABCD-EFGH" and "ABCD-EFGH" in body["detail"]
        bridge.client.inject_message("5214771234567@s.whatsapp.net", "hola")
        assert bridge.health()[1]["pending_webhooks"] == 1
    finally:
        bridge.stop()


def test_sticky_stream_replaced(make_bridge):
    bridge = make_bridge()
    bridge.client.set_disconnected("stream_replaced", "Otra sesión tomó la conexión.")
    bridge.client.set_disconnected("reconnecting")
    status, body = bridge.health()
    assert body["status"] == "disconnected" and body["motivo"] == "stream_replaced"


def test_qr_endpoint(data_dir, mostrador):
    bridge = BridgeHarness(data_dir, FakeWhatsAppClient(Status.CONNECTED), webhook_url=mostrador.url)
    try:
        assert bridge.request("GET", "/qr", token=None)[0] == 401
        status, headers, raw = bridge.request("GET", "/qr")
        assert status == 404 and headers["Content-Type"].startswith("application/json")
        bridge.client.set_logged_out()
        bridge.client.show_qr("2@qr-de-prueba,clave,otra")
        status, headers, raw = bridge.request("GET", "/qr")
        assert status == 200 and headers["Content-Type"] == "image/png"
        assert raw.startswith(b"\x89PNG")
        status, headers, raw = bridge.request("GET", "/qr?formato=texto")
        assert status == 200 and raw == b"2@qr-de-prueba,clave,otra"
        bridge.client.set_connected()
        assert bridge.request("GET", "/qr")[0] == 404
    finally:
        bridge.stop()


def test_qr_not_generated_yet_is_404(data_dir, mostrador):
    bridge = BridgeHarness(data_dir, FakeWhatsAppClient(Status.CONNECTING), webhook_url=mostrador.url)
    try:
        assert bridge.health()[1]["status"] == "connecting"
        status, _, body = bridge.json("GET", "/qr")
        assert status == 404 and "error" in body
    finally:
        bridge.stop()
