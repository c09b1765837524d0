"""Mostrador -> WhatsApp: POST /enviar-mensaje (auth, validation, 503, idempotency, pacing)."""

import base64
import threading
import time

import pytest
from bridge_testkit import TOKEN, BridgeHarness, http
from whatsapp_bridge.client import SendError, Status
from whatsapp_bridge.fake import FakeWhatsAppClient

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def test_auth_required(make_bridge):
    bridge = make_bridge()
    body = {"numero": "5214771234567", "texto": "hola"}
    for token in (None, "wrong-token", ""):
        status, headers, answer = bridge.json("POST", "/enviar-mensaje", body, token=token)
        assert status == 401 and "error" in answer
    status, _, _ = http("POST", bridge.base + "/enviar-mensaje", body, {"Authorization": f"Token {TOKEN}"})
    assert status == 401
    assert bridge.client.sent == []


@pytest.mark.parametrize("raw, fragment", [
    (b"{not json", "JSON inválido"),
    (b"[1, 2]", "objeto JSON"),
    (b'{"texto": "hola"}', "numero"),
    (b'{"numero": "5214771234567"}', "texto"),
    (b'{"numero": "5214771234567", "texto": "   "}', "vacío"),
    (b'{"numero": "abc", "texto": "hola"}', "no es un número"),
    (b'{"numero": "123", "texto": "hola"}', "8 a 15"),
    (b'{"numero": "1203634@g.us", "texto": "hola"}', "solo se envía a personas"),
    (b'{"numero": 5214771234567, "texto": "hola"}', "texto"),
    (b'{"numero": "5214771234567", "imagen_base64": "%%%", "mimetype": "image/png"}', "base64"),
    (b'{"numero": "5214771234567", "imagen_base64": "aGVsbG8=", "mimetype": "text/plain"}', "mimetype"),
])
def test_bad_input_is_400_in_spanish(make_bridge, raw, fragment):
    bridge = make_bridge()
    status, _, answer = bridge.json("POST", "/enviar-mensaje", raw)
    assert status == 400
    assert fragment in answer["error"]
    assert bridge.client.sent == []


def test_not_connected_is_503_and_nothing_is_queued(data_dir, mostrador):
    bridge = BridgeHarness(data_dir, FakeWhatsAppClient(Status.DISCONNECTED), webhook_url=mostrador.url)
    try:
        status, _, answer = bridge.send("5214771234567", "hola", key="k-503")
        assert status == 503 and answer == {"error": "WhatsApp desconectado"}
        bridge.client.set_connected()
        status, _, answer = bridge.send("5214771234567", "hola", key="k-503")  # the relay's retry
        assert status == 200 and answer["status"] == "enviado"
        assert len(bridge.client.sent) == 1  # the 503 was not queued and sent later
    finally:
        bridge.stop()


@pytest.mark.parametrize("numero, jid", [
    ("5214771234567", "5214771234567@s.whatsapp.net"),
    ("+52 1 477-123-4567", "5214771234567@s.whatsapp.net"),
    ("5214771234567@s.whatsapp.net", "5214771234567@s.whatsapp.net"),
    ("5214771234567:12@s.whatsapp.net", "5214771234567@s.whatsapp.net"),
    ("5214771234567@c.us", "5214771234567@s.whatsapp.net"),
    ("123456789012345@lid", "123456789012345@lid"),
])
def test_success_returns_whatsapp_id(make_bridge, numero, jid):
    bridge = make_bridge()
    status, _, answer = bridge.send(numero, "Hola, ya revisamos tu equipo")
    assert status == 200
    assert answer == {"status": "enviado", "id": bridge.client.sent[0]["id"]}
    assert bridge.client.sent[0]["jid"] == jid
    assert bridge.client.sent[0]["texto"] == "Hola, ya revisamos tu equipo"


def test_send_image(make_bridge):
    bridge = make_bridge()
    status, _, answer = bridge.json("POST", "/enviar-mensaje", {
        "numero": "5214771234567", "texto": "", "imagen_base64": base64.b64encode(PNG).decode(),
        "mimetype": "image/png", "caption": "tu comprobante"})
    assert status == 200 and answer["status"] == "enviado"
    sent = bridge.client.sent[0]
    assert sent["tipo"] == "imagen" and sent["bytes"] == len(PNG) and sent["caption"] == "tu comprobante"


def test_idempotency_key_returns_first_answer_and_sends_once_also_across_restart(data_dir, mostrador):
    first = BridgeHarness(data_dir, webhook_url=mostrador.url)
    try:
        status, _, answer = first.send("5214771234567", "hola", key="clave-1")
        assert status == 200
        status2, headers, again = first.send("5214771234567", "hola", key="clave-1")
        assert status2 == 200 and again == answer
        assert headers.get("Idempotent-Replayed") == "true"
        assert len(first.client.sent) == 1
        status3, _, other = first.send("5214771234567", "hola", key="clave-2")  # another key: another send
        assert status3 == 200 and other["id"] != answer["id"] and len(first.client.sent) == 2
    finally:
        first.stop()
    second = BridgeHarness(data_dir, webhook_url=mostrador.url)  # new process state, same data dir
    try:
        status, _, replay = second.send("5214771234567", "hola", key="clave-1")
        assert status == 200 and replay == answer
        assert second.client.sent == []
    finally:
        second.stop()


def test_concurrent_requests_with_one_key_send_once(make_bridge):
    client = FakeWhatsAppClient(Status.CONNECTED)
    original = client.send_text

    def slow_send(jid, text):
        time.sleep(0.3)  # the relay times out and retries while WhatsApp is still sending
        return original(jid, text)

    client.send_text = slow_send
    bridge = make_bridge(client=client)
    answers = []

    def call():
        answers.append(bridge.send("5214771234567", "hola", key="same-key"))

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert [a[0] for a in answers] == [200, 200, 200]
    assert len({a[2]["id"] for a in answers}) == 1
    assert len(client.sent) == 1


def test_failed_send_is_502_and_the_key_stays_free(make_bridge):
    bridge = make_bridge()
    bridge.client.fail_sends.append(SendError("server returned error 500"))
    status, _, answer = bridge.send("5214771234567", "hola", key="k-fail")
    assert status == 502 and "WhatsApp no aceptó" in answer["error"]
    status, _, answer = bridge.send("5214771234567", "hola", key="k-fail")
    assert status == 200 and len(bridge.client.sent) == 1


def test_global_rate_limit_answers_429_with_retry_after(make_bridge):
    bridge = make_bridge(send_per_minute=60, send_burst=1, max_wait=0)
    assert bridge.send("5214771234567", "uno")[0] == 200
    status, headers, answer = bridge.send("5214771234568", "dos")
    assert status == 429
    assert headers["Retry-After"] == "1" and answer["retry_after"] == 1
    assert len(bridge.client.sent) == 1


def test_rate_limit_waits_when_the_wait_is_short(make_bridge):
    bridge = make_bridge(send_per_minute=600, send_burst=1, max_wait=1)  # one every 0.1 s
    for n in range(3):
        assert bridge.send(f"52147712345{60 + n}", "x")[0] == 200
    times = [s["at"] for s in bridge.client.sent]
    assert times[2] - times[0] >= 0.17


def test_min_gap_per_chat_and_typing(make_bridge):
    bridge = make_bridge(min_gap=0.6, typing=True, typing_max=0.1)
    assert bridge.send("5214771234567", "primero")[0] == 200
    assert bridge.send("5214771234567", "segundo")[0] == 200
    assert bridge.send("5214770000000", "otro chat")[0] == 200
    a, b, c = bridge.client.sent
    assert b["at"] - a["at"] >= 0.6
    assert c["at"] - b["at"] < 0.5  # another chat does not wait for this one's gap
    assert ("5214771234567@s.whatsapp.net", True) in bridge.client.typing
