"""WhatsApp -> Mostrador: the webhook body, headers and signature; images; reliability of the queue."""

import base64
import hashlib
import hmac
import sqlite3
import time

from bridge_testkit import WEBHOOK_TOKEN, BridgeHarness, FakeMostrador, wait_for
from whatsapp_bridge.forwarder import FALLBACK_PHOTO_TEXT

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def test_inbound_message_exact_body_headers_and_signature(make_bridge, mostrador):
    key = "clave-hmac-de-prueba"
    bridge = make_bridge(webhook_hmac_key=key)
    bridge.client.inject_message(
        "123456789012345@lid", "Hola, mi impresora no imprime", push_name="Ana López",
        sender_alt="5214771234567@s.whatsapp.net", message_id="3A0123456789ABCDEF", timestamp=1700000000)
    wait_for(lambda: mostrador.posts(), what="the webhook post")
    post = mostrador.posts()[0]
    assert post["path"] == "/webhook"
    assert post["json"] == {
        "remitente": "123456789012345@lid",
        "contenido": "Hola, mi impresora no imprime",
        "nombre": "Ana López",
        "id_mensaje": "3A0123456789ABCDEF",
        "timestamp": 1700000000,
        "remitente_alt": "5214771234567@s.whatsapp.net",
    }
    assert isinstance(post["json"]["timestamp"], int)
    headers = post["headers"]
    assert headers["authorization"] == f"Bearer {WEBHOOK_TOKEN}"
    assert headers["content-type"].startswith("application/json")
    # X-Mostrador-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>." + raw body)>
    parts = dict(item.split("=", 1) for item in headers["x-mostrador-signature"].split(","))
    assert set(parts) == {"t", "v1"}
    assert abs(int(parts["t"]) - time.time()) < 30
    expected = hmac.new(key.encode(), parts["t"].encode() + b"." + post["raw"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)


def test_unsigned_without_key_and_optional_fields_omitted(make_bridge, mostrador):
    bridge = make_bridge()
    bridge.client.inject_message("5214771234567@s.whatsapp.net", "hola", message_id="ID1", timestamp=1700000001)
    wait_for(lambda: mostrador.posts())
    post = mostrador.posts()[0]
    assert "x-mostrador-signature" not in post["headers"]
    assert post["json"] == {"remitente": "5214771234567@s.whatsapp.net", "contenido": "hola", "id_mensaje": "ID1",
                            "timestamp": 1700000001}


def test_inbound_image(make_bridge, mostrador):
    bridge = make_bridge()
    bridge.client.fail_downloads = 2  # fetched on the third try
    bridge.client.inject_message("5214771234567@s.whatsapp.net", push_name="Ana", message_id="IMG1",
                                 timestamp=1700000002, image=PNG, mimetype="image/png", caption="así se ve")
    wait_for(lambda: mostrador.posts(), what="the image webhook")
    body = mostrador.posts()[0]["json"]
    assert body["tipo"] == "imagen"
    assert base64.b64decode(body["imagen_base64"]) == PNG
    assert body["mimetype"] == "image/png"
    assert body["caption"] == "así se ve"
    assert body["contenido"] == "así se ve"
    assert body["remitente"] == "5214771234567@s.whatsapp.net" and body["id_mensaje"] == "IMG1"


def test_inbound_image_without_caption_and_given_up_download(make_bridge, mostrador):
    bridge = make_bridge(media_attempts=2)
    bridge.client.inject_message("5214771234567@s.whatsapp.net", message_id="IMG2", image=PNG,
                                 mimetype="image/png")
    wait_for(lambda: mostrador.posts())
    body = mostrador.posts()[0]["json"]
    assert body["tipo"] == "imagen" and "caption" not in body and "contenido" not in body
    bridge.client.fail_downloads = 10
    bridge.client.inject_message("5214771234567@s.whatsapp.net", message_id="IMG3", image=PNG,
                                 mimetype="image/png", caption="foto")
    wait_for(lambda: len(mostrador.posts()) == 2, what="the degraded webhook")
    body = mostrador.posts()[1]["json"]
    assert "imagen_base64" not in body and "tipo" not in body
    assert body["contenido"] == "foto\n\n" + FALLBACK_PHOTO_TEXT


def test_queue_survives_mostrador_down_and_restart_exactly_once(data_dir, tmp_path):
    mostrador = FakeMostrador()
    mostrador.responder = lambda record: (503, {"error": "en mantenimiento"})
    first = BridgeHarness(data_dir, webhook_url=mostrador.url)
    try:
        ids = [first.client.inject_message("5214771234567@s.whatsapp.net", f"mensaje {n}", message_id=f"M{n}")
               for n in range(3)]
        wait_for(lambda: len(mostrador.posts()) >= 2, what="retries while Mostrador answers 503")
        assert all(post["json"]["id_mensaje"] == "M0" for post in mostrador.posts())  # oldest first, blocked
        status, body = first.health()
        assert body["pending_webhooks"] == 3
    finally:
        first.stop()

    # On disk, committed (WAL): another connection sees the three rows.
    db = sqlite3.connect(f"{data_dir}/bridge.sqlite3")
    assert db.execute("SELECT COUNT(*) FROM webhook_queue WHERE status = 'pending'").fetchone()[0] == 3
    db.close()

    port = mostrador.port
    mostrador.stop()  # now not even listening
    second = BridgeHarness(data_dir, webhook_url=f"http://127.0.0.1:{port}/webhook")
    try:
        wait_for(lambda: second.bridge.forwarder.failures >= 2, what="connection errors while down")
        assert second.health()[1]["pending_webhooks"] == 3
        back = FakeMostrador(port=port)  # Mostrador is back
        try:
            wait_for(lambda: len(back.posts(accepted_only=True)) == 3, what="the queued messages")
            time.sleep(0.3)  # nothing more arrives
            assert [b["id_mensaje"] for b in back.bodies()] == ids
            assert len(back.posts()) == 3
            wait_for(lambda: second.health()[1]["pending_webhooks"] == 0)
        finally:
            back.stop()
    finally:
        second.stop()


def test_permanent_rejection_is_dead_and_retryable_statuses_are_retried(make_bridge, mostrador):
    answers = {"BAD": [400], "LIMIT": [429, 408, 500]}

    def responder(record):
        pending = answers.get(record["json"]["id_mensaje"])
        if pending:
            return pending.pop(0), {"error": "no"}
        return 200, {"status": "recibido"}

    mostrador.responder = responder
    bridge = make_bridge()
    for message_id in ("BAD", "LIMIT", "OK"):
        bridge.client.inject_message("5214771234567@s.whatsapp.net", "x", message_id=message_id)
    wait_for(lambda: len(mostrador.posts(accepted_only=True)) == 2, what="LIMIT and OK accepted")
    assert [b["id_mensaje"] for b in mostrador.bodies()] == ["LIMIT", "OK"]
    assert [p["json"]["id_mensaje"] for p in mostrador.posts()].count("BAD") == 1  # never retried
    body = wait_for(lambda: (lambda b: b if b["pending_webhooks"] == 0 else None)(bridge.health()[1]))
    assert body["dead_webhooks"] == 1 and body["delivered_webhooks"] == 2
    status, _, dead = bridge.json("GET", "/webhooks/muertos")
    assert status == 200 and dead["muertos"][0]["payload"]["id_mensaje"] == "BAD"
    assert dead["muertos"][0]["last_status"] == 400


def test_duplicate_event_is_queued_once(make_bridge, mostrador):
    mostrador.responder = lambda record: (503, {})
    bridge = make_bridge()
    bridge.client.inject_message("5214771234567@s.whatsapp.net", "x", message_id="SAME")
    bridge.client.inject_message("5214771234567@s.whatsapp.net", "x", message_id="SAME")
    assert bridge.health()[1]["pending_webhooks"] == 1


def test_image_waits_for_whatsapp_to_reconnect(make_bridge, mostrador):
    bridge = make_bridge()
    bridge.client.set_disconnected("reconnecting")
    bridge.client.inject_message("5214771234567@s.whatsapp.net", message_id="IMG4", image=PNG, mimetype="image/png")
    time.sleep(0.5)
    assert mostrador.posts() == []  # not degraded to text while WhatsApp reconnects
    bridge.client.set_connected()
    wait_for(lambda: mostrador.posts(), what="the image after the reconnection")
    assert base64.b64decode(mostrador.posts()[0]["json"]["imagen_base64"]) == PNG
