"""Connections stay open between answers, as any HTTP/1.1 client expects (a closed connection per
answer costs a handshake per request and showed up as one wrk socket error per request)."""
import http.client
import json
from urllib.parse import urlparse

from conftest import BASE_URL

BODY = json.dumps({"model": "gpt-5-mini", "messages": [{"role": "user", "content": "hello"}]})


def _two_requests(path, body, headers):
    url = urlparse(BASE_URL)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        statuses = []
        sockets = []
        for _ in range(2):
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
            sockets.append(conn.sock)
            assert (response.getheader("connection") or "").lower() != "close"
        return statuses, sockets
    finally:
        conn.close()


def test_passthrough_answers_keep_the_connection_alive():
    statuses, sockets = _two_requests(
        "/openai/chat/completions", BODY, {"content-type": "application/json", "authorization": "Bearer sk-client-own-key"}
    )
    assert statuses == [200, 200]
    assert sockets[0] is not None and sockets[0] is sockets[1]


def test_compat_answers_keep_the_connection_alive():
    body = json.dumps({"model": "openai/gpt-5-mini", "messages": [{"role": "user", "content": "hello"}]})
    statuses, sockets = _two_requests(
        "/compat/chat/completions", body, {"content-type": "application/json", "authorization": "Bearer sk-client-own-key"}
    )
    assert statuses == [200, 200]
    assert sockets[0] is not None and sockets[0] is sockets[1]
