"""neonize receipts -> {"tipo": "estado"} webhooks."""

from bridge_testkit import wait_for


def test_receipts_become_estado_posts(make_bridge, mostrador):
    bridge = make_bridge()
    status, _, answer = bridge.send("5214771234567", "Tu equipo está listo", key="r-1")
    assert status == 200
    sent_id = answer["id"]

    assert bridge.client.deliver_receipt(sent_id, "DELIVERED", timestamp=1700000100) == "delivered"
    assert bridge.client.deliver_receipt(sent_id, "READ_SELF") is None  # our own device
    assert bridge.client.deliver_receipt(sent_id, "SENDER") is None
    assert bridge.client.deliver_receipt(sent_id, "READ", timestamp=1700000200) == "read"
    bridge.client.deliver_receipt("NOT-OURS-123", "DELIVERED")  # not sent through the bridge: not forwarded
    wait_for(lambda: len(mostrador.posts()) == 2, what="two estado posts")
    assert mostrador.bodies() == [
        {"tipo": "estado", "id_mensaje": sent_id, "estado": "delivered", "timestamp": 1700000100},
        {"tipo": "estado", "id_mensaje": sent_id, "estado": "read", "timestamp": 1700000200},
    ]
    assert mostrador.posts()[0]["headers"]["authorization"].startswith("Bearer ")


def test_played_is_read_and_server_error_is_failed(make_bridge, mostrador):
    bridge = make_bridge()
    first = bridge.send("5214771234567", "uno")[2]["id"]
    second = bridge.send("5214771234567", "dos")[2]["id"]
    bridge.client.deliver_receipt([first], "PLAYED", timestamp=1700000300)
    bridge.client.deliver_receipt([second], "SERVER_ERROR", timestamp=1700000400)
    wait_for(lambda: len(mostrador.posts()) == 2)
    assert [(b["id_mensaje"], b["estado"]) for b in mostrador.bodies()] == [(first, "read"), (second, "failed")]


def test_receipts_can_be_turned_off(make_bridge, mostrador):
    bridge = make_bridge(forward_receipts=False)
    sent_id = bridge.send("5214771234567", "uno")[2]["id"]
    bridge.client.deliver_receipt(sent_id, "DELIVERED")
    assert bridge.health()[1]["pending_webhooks"] == 0
