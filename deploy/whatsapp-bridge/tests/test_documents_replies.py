"""Documents out (documento_base64), quoted replies out (en_respuesta_a) and in (the customer's quotes)."""

import base64
import hashlib

import pytest
from bridge_testkit import BridgeHarness, wait_for
from whatsapp_bridge.app import DOCUMENT_TYPES, MAX_FILE_NAME, Outgoing, clean_file_name
from whatsapp_bridge.store import Store

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PDF_B64 = base64.b64encode(PDF).decode()
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CUSTOMER = "5214771234567@s.whatsapp.net"


def send_document(bridge, key=None, **fields):
    body = {"numero": "5214771234567", "documento_base64": PDF_B64, "mimetype": "application/pdf", **fields}
    headers = {"Idempotency-Key": key} if key else {}
    return bridge.json("POST", "/enviar-mensaje", body, headers)


# -- documents out --------------------------------------------------------------------------------------------


def test_send_document_with_name_mimetype_and_caption(make_bridge):
    bridge = make_bridge()
    status, _, answer = send_document(bridge, nombre_archivo="Presupuesto 1042.pdf", caption="Tu presupuesto")
    assert status == 200 and answer == {"status": "enviado", "id": bridge.client.sent[0]["id"]}
    sent = bridge.client.sent[0]
    assert sent["tipo"] == "documento" and sent["jid"] == CUSTOMER
    assert sent["bytes"] == len(PDF) and sent["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert sent["mimetype"] == "application/pdf"
    assert sent["nombre_archivo"] == "Presupuesto 1042.pdf"
    assert sent["caption"] == "Tu presupuesto"
    assert "en_respuesta_a" not in sent


def test_send_document_defaults_data_url_and_texto_as_caption(make_bridge):
    bridge = make_bridge()
    status, _, _ = bridge.json("POST", "/enviar-mensaje", {
        "numero": "5214771234567", "texto": "Adjunto la orden", "mimetype": DOCX.upper(),
        "documento_base64": f"data:{DOCX};base64,{PDF_B64}"})
    assert status == 200
    sent = bridge.client.sent[0]
    assert sent["nombre_archivo"] == "documento.docx"  # no name: "documento" + the type's extension
    assert sent["mimetype"] == DOCX and sent["caption"] == "Adjunto la orden"
    status, _, _ = send_document(bridge, nombre_archivo="../../etc/Informe\tfinal\x00", mimetype="application/msword")
    assert status == 200 and bridge.client.sent[1]["nombre_archivo"] == "Informefinal.doc"
    assert bridge.client.sent[1]["caption"] == ""


@pytest.mark.parametrize("raw, mimetype, expected", [
    (None, "application/pdf", "documento.pdf"),
    ("", "application/msword", "documento.doc"),
    ("  ..  ", DOCX, "documento.docx"),
    ("C:\\Users\\ana\\Factura 12.PDF", "application/pdf", "Factura 12.PDF"),
    ("/tmp/../factura", "application/pdf", "factura.pdf"),
    ("reporte\r\n.pdf", "application/pdf", "reporte.pdf"),
    ("factura\u202efdp.exe", "application/pdf", "facturafdp.exe.pdf"),  # bidi override removed
    ("informe.docx", "application/msword", "informe.docx.doc"),
    ("Orden de reparación #7 (copia).docx", DOCX, "Orden de reparación #7 (copia).docx"),
])
def test_file_name_cleaning(raw, mimetype, expected):
    assert clean_file_name(raw, mimetype) == expected


def test_long_file_name_keeps_the_extension():
    name = clean_file_name("x" * 500 + ".pdf", "application/pdf")
    assert len(name) == MAX_FILE_NAME and name.endswith("x.pdf")
    assert len(clean_file_name("y" * 500, DOCX)) == MAX_FILE_NAME
    assert set(DOCUMENT_TYPES) == {"application/pdf", "application/msword", DOCX}


@pytest.mark.parametrize("fields, fragment", [
    ({"mimetype": "image/png"}, "'mimetype' de un documento"),
    ({"mimetype": "application/zip"}, "application/pdf, application/msword"),
    ({"mimetype": None}, "'mimetype' de un documento"),
    ({"imagen_base64": base64.b64encode(PNG).decode()}, "'imagen_base64' y 'documento_base64'"),
    ({"documento_base64": "%%% no es base64"}, "'documento_base64' no es base64 válido"),
    ({"documento_base64": "JVBERi0xLjQ"}, "'documento_base64' no es base64 válido"),  # missing padding
    ({"documento_base64": ""}, "'documento_base64' debe ser base64 no vacío"),
    ({"documento_base64": 12345}, "'documento_base64' debe ser base64 no vacío"),
    ({"documento_base64": "data:application/pdf;base64,"}, "El documento está vacío"),
    ({"nombre_archivo": 7}, "'nombre_archivo' debe ser texto"),
    ({"caption": ["no"]}, "'caption' debe ser texto"),
    ({"en_respuesta_a": 12345}, "'en_respuesta_a' debe ser texto"),
    ({"en_respuesta_a": "A" * 129}, "'en_respuesta_a' excede 128"),
    ({"en_respuesta_a": "3EB0 ABC"}, "'en_respuesta_a' no es un id"),
])
def test_bad_document_or_reply_is_400_in_spanish_and_nothing_is_sent(make_bridge, fields, fragment):
    bridge = make_bridge()
    status, _, answer = send_document(bridge, **fields)
    assert status == 400
    assert fragment in answer["error"]
    assert bridge.client.sent == []


@pytest.mark.parametrize("reply", [12345, ["3EB0"], {"id": "3EB0"}, "B" * 129])
def test_bad_reply_on_text_is_400(make_bridge, reply):
    bridge = make_bridge()
    status, _, answer = bridge.send("5214771234567", "hola", en_respuesta_a=reply)
    assert status == 400 and "en_respuesta_a" in answer["error"]
    assert bridge.client.sent == []


def test_oversized_document_is_400(make_bridge):
    bridge = make_bridge()
    big = base64.b64encode(b"%PDF" + b"\0" * (16 << 20)).decode()
    status, _, answer = send_document(bridge, documento_base64=big)
    assert status == 400 and answer["error"] == "El documento excede 16 MB"
    assert bridge.client.sent == []


def test_idempotency_with_a_document(data_dir, mostrador):
    first = BridgeHarness(data_dir, webhook_url=mostrador.url)
    try:
        status, _, answer = send_document(first, key="doc-1", nombre_archivo="Factura.pdf")
        assert status == 200
        status, headers, again = send_document(first, key="doc-1", nombre_archivo="Factura.pdf")
        assert status == 200 and again == answer and headers.get("Idempotent-Replayed") == "true"
        assert len(first.client.sent) == 1
        assert first.health()[1]["idempotency_conflicts"] == 0
        # same key, other bytes / other name: the first answer again, counted as a conflict, nothing sent
        other = base64.b64encode(PDF + b"% otra version\n").decode()
        assert send_document(first, key="doc-1", documento_base64=other, nombre_archivo="Factura.pdf")[2] == answer
        assert send_document(first, key="doc-1", nombre_archivo="Otra.pdf")[2] == answer
        assert len(first.client.sent) == 1
        assert first.health()[1]["idempotency_conflicts"] == 2
    finally:
        first.stop()
    second = BridgeHarness(data_dir, webhook_url=mostrador.url)
    try:
        status, headers, replay = send_document(second, key="doc-1", nombre_archivo="Factura.pdf")
        assert status == 200 and replay == answer and headers.get("Idempotent-Replayed") == "true"
        assert second.client.sent == []
    finally:
        second.stop()


def test_fingerprint_binds_document_and_reply_and_keeps_seed_requests_unchanged():
    jid = CUSTOMER
    old_text = hashlib.sha256(b"\0".join([jid.encode(), b"hola", b"", b""])).hexdigest()
    assert Outgoing(jid, "hola").fingerprint() == old_text
    old_image = hashlib.sha256(b"\0".join([jid.encode(), b"", b"pie", hashlib.sha256(PNG).hexdigest().encode()]))
    assert Outgoing(jid, "", "imagen", PNG, "image/png", "pie").fingerprint() == old_image.hexdigest()
    doc = Outgoing(jid, "", "documento", PDF, "application/pdf", "", "a.pdf")
    assert doc.fingerprint() != Outgoing(jid, "", "documento", PDF + b"x", "application/pdf", "", "a.pdf").fingerprint()
    assert doc.fingerprint() != Outgoing(jid, "", "documento", PDF, "application/pdf", "", "b.pdf").fingerprint()
    assert Outgoing(jid, "hola", reply_to="3EB0A").fingerprint() != old_text


# -- quoted replies out ---------------------------------------------------------------------------------------


def test_reply_quotes_a_known_inbound_message(make_bridge, mostrador):
    bridge = make_bridge()
    bridge.client.inject_message(CUSTOMER, "¿Ya está lista mi impresora?", message_id="3A00000000000000AA")
    status, _, answer = bridge.send("5214771234567", "Sí, ya puedes pasar por ella",
                                    en_respuesta_a="3A00000000000000AA")
    assert status == 200
    sent = bridge.client.sent[0]
    assert sent["id"] == answer["id"] and sent["tipo"] == "texto"
    assert (sent["en_respuesta_a"], sent["participante"], sent["texto_citado"]) == (
        "3A00000000000000AA", CUSTOMER, "¿Ya está lista mi impresora?")


def test_reply_to_an_unknown_message_still_sends(make_bridge):
    bridge = make_bridge()
    status, _, _ = bridge.send("5214771234567", "Claro", en_respuesta_a="3EB0DESCONOCIDO")
    assert status == 200
    sent = bridge.client.sent[0]
    assert (sent["en_respuesta_a"], sent["participante"], sent["texto_citado"]) == ("3EB0DESCONOCIDO", CUSTOMER,
                                                                                     None)
    # "" and null are "no quote"
    assert bridge.send("5214771234567", "uno", en_respuesta_a="")[0] == 200
    assert bridge.send("5214771234567", "dos", en_respuesta_a=None)[0] == 200
    assert all("en_respuesta_a" not in s for s in bridge.client.sent[1:])


def test_reply_from_lid_photo_and_other_chat(make_bridge):
    bridge = make_bridge()
    # a LID customer whose phone is known: the reply goes to the phone, the quote names the LID that wrote it
    bridge.client.inject_message("123456789012345@lid", "hola desde el LID", sender_alt=CUSTOMER, message_id="L1")
    bridge.client.inject_message(CUSTOMER, message_id="P1", image=PNG, mimetype="image/png")
    bridge.client.inject_message(CUSTOMER, message_id="P2", image=PNG, mimetype="image/png", caption="la pieza rota")
    bridge.client.inject_message("5214770000000@s.whatsapp.net", "mensaje privado de otro cliente", message_id="O1")
    for quoted in ("L1", "P1", "P2", "O1"):
        assert bridge.send("5214771234567", f"respuesta a {quoted}", en_respuesta_a=quoted)[0] == 200
    assert [(s["participante"], s["texto_citado"]) for s in bridge.client.sent] == [
        ("123456789012345@lid", "hola desde el LID"),
        (CUSTOMER, "📷 Foto"),
        (CUSTOMER, "la pieza rota"),
        (CUSTOMER, None),  # another customer's message: never its text in this chat
    ]


def test_quoted_image_and_document(make_bridge):
    bridge = make_bridge()
    bridge.client.inject_message(CUSTOMER, "mándame la factura", message_id="Q1")
    status, _, _ = send_document(bridge, nombre_archivo="Factura.pdf", en_respuesta_a="Q1")
    assert status == 200
    status, _, _ = bridge.json("POST", "/enviar-mensaje", {
        "numero": CUSTOMER, "imagen_base64": base64.b64encode(PNG).decode(), "mimetype": "image/png",
        "caption": "así quedó", "en_respuesta_a": "Q1"})
    assert status == 200
    document, image = bridge.client.sent
    assert document["tipo"] == "documento" and image["tipo"] == "imagen"
    for sent in (document, image):
        assert (sent["en_respuesta_a"], sent["participante"], sent["texto_citado"]) == ("Q1", CUSTOMER,
                                                                                         "mándame la factura")


def test_quotable_messages_survive_a_restart(data_dir, mostrador):
    first = BridgeHarness(data_dir, webhook_url=mostrador.url)
    try:
        first.client.inject_message(CUSTOMER, "¿cuánto cuesta?", message_id="R1")
    finally:
        first.stop()
    second = BridgeHarness(data_dir, webhook_url=mostrador.url)
    try:
        assert second.send("5214771234567", "350 pesos", en_respuesta_a="R1")[0] == 200
        assert second.client.sent[0]["texto_citado"] == "¿cuánto cuesta?"
    finally:
        second.stop()


def test_quote_memory_is_bounded_by_count_and_age(tmp_path):
    now = [1_000_000.0]
    store = Store(str(tmp_path / "bridge.sqlite3"), clock=lambda: now[0])
    try:
        for n in range(6):
            store.remember_inbound(f"M{n}", CUSTOMER, None, f"texto {n}", keep=4)
        assert store.inbound_message("M0") is None and store.inbound_message("M1") is None
        assert store.inbound_message("M5").text == "texto 5"
        store.remember_inbound("M5", CUSTOMER, None, "otra vez", keep=4)  # a redelivery keeps the first
        assert store.inbound_message("M5").text == "texto 5"
        store.remember_inbound("LONG", CUSTOMER, None, "x" * 10000)
        assert len(store.inbound_message("LONG").text) == 4096
        now[0] += 8 * 86400
        store.remember_inbound("NEW", CUSTOMER, "1@lid", "nuevo")
        store.purge(7)
        assert store.inbound_message("M5") is None
        assert store.inbound_message("NEW").sender_alt == "1@lid"
    finally:
        store.close()


# -- quoted replies in ----------------------------------------------------------------------------------------


def test_inbound_reply_forwards_en_respuesta_a(make_bridge, mostrador):
    bridge = make_bridge()
    sent_id = bridge.send("5214771234567", "Tu equipo está listo")[2]["id"]
    bridge.client.inject_message(CUSTOMER, "¡Gracias! ¿A qué hora abren?", message_id="IN1", timestamp=1700000000,
                                 reply_to=sent_id)
    bridge.client.inject_message(CUSTOMER, "otra cosa", message_id="IN2", timestamp=1700000001)
    wait_for(lambda: len(mostrador.posts()) == 2, what="two webhooks")
    assert mostrador.bodies() == [
        {"remitente": CUSTOMER, "contenido": "¡Gracias! ¿A qué hora abren?", "id_mensaje": "IN1",
         "timestamp": 1700000000, "en_respuesta_a": sent_id},
        {"remitente": CUSTOMER, "contenido": "otra cosa", "id_mensaje": "IN2", "timestamp": 1700000001},
    ]


def test_fake_inbound_endpoint_accepts_en_respuesta_a(make_bridge, mostrador):
    bridge = make_bridge()
    status, _, _ = bridge.json("POST", "/_fake/inbound", {"remitente": CUSTOMER, "contenido": "sí",
                                                          "id_mensaje": "IN3", "en_respuesta_a": "3EB0X"})
    assert status == 200
    wait_for(lambda: mostrador.posts())
    assert mostrador.bodies()[0]["en_respuesta_a"] == "3EB0X"


def test_dead_webhooks_redact_documents_and_images(make_bridge, mostrador):
    mostrador.responder = lambda record: (400, {"error": "no"})
    bridge = make_bridge()
    bridge.bridge.store.enqueue("mensaje", {"remitente": CUSTOMER, "id_mensaje": "D1", "tipo": "documento",
                                            "documento_base64": PDF_B64, "imagen_base64": "aGVsbG8="})
    bridge.bridge._wake_forwarder()
    wait_for(lambda: bridge.health()[1]["dead_webhooks"] == 1, what="the dead webhook")
    status, _, dead = bridge.json("GET", "/webhooks/muertos")
    payload = dead["muertos"][0]["payload"]
    assert payload["documento_base64"] == f"<{len(PDF_B64)} caracteres>"
    assert payload["imagen_base64"] == "<8 caracteres>"
