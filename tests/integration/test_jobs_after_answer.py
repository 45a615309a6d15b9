"""A job marked ``after_answer`` runs once the answer has been handed to the WSGI server, even
when the server never closes the answer: Werkzeug's (``flask demo``, the browser tests) skips
``close()`` when the client resets the connection as the answer ends, which a browser does, and
a job hung on ``close()`` was lost (issue 16: a webhook sent from the browser test now and then
arrived only with the next tick)."""

from __future__ import annotations

import socket
import struct
import threading

from flask import Flask, after_this_request, request
from werkzeug.serving import make_server

from portal import jobs


def _served(app: Flask):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def _post_then_reset(port: int) -> None:
    """A form POST; the answer read; a stray byte and a reset, as a browser closing a socket."""
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(
            b"POST / HTTP/1.1\r\nHost: portal\r\nContent-Type: application/x-www-form-urlencoded"
            b"\r\nContent-Length: 3\r\n\r\na=1"
        )
        assert conn.recv(65536).startswith(b"HTTP/1.1 302")
        conn.sendall(b"X")
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_what_runs_after_the_answer_runs_though_the_server_never_closes_it():
    after_answer = threading.Semaphore(0)
    on_close = threading.Semaphore(0)
    app = Flask("after_answer")
    app.wsgi_app = jobs._AfterAnswer(app.wsgi_app)

    @app.post("/")
    def index():
        request.environ.setdefault(jobs._AFTER_ANSWER_KEY, []).append(after_answer.release)

        @after_this_request
        def also_on_close(response):  # what jobs did before: hung on close() alone
            response.call_on_close(on_close.release)
            return response

        return "", 302, {"Location": "/"}

    server, thread = _served(app)
    try:
        for _ in range(20):
            _post_then_reset(server.server_port)
        ran = sum(after_answer.acquire(timeout=5) for _ in range(20))
        closed = sum(on_close.acquire(timeout=0.2) for _ in range(20))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert ran == 20
    # For the record (not asserted: it depends on timing): Werkzeug closes only some of these
    # answers, 2 of 20 when this was written; close() alone lost the others' jobs.
    print(f"answers closed by the server: {closed} of 20")


def _chunked_app(order: list[str], headers: list[tuple[str, str]]):
    def app(environ, start_response):
        environ[jobs._AFTER_ANSWER_KEY] = [lambda: order.append("job")]
        start_response("200 OK", [("Content-Type", "text/plain"), *headers])

        def body():
            order.append("chunk 1")
            yield b"a"
            order.append("chunk 2")
            yield b"b"

        return body()

    return jobs._AfterAnswer(app)


def test_an_answer_of_known_length_runs_its_jobs_after_its_last_chunk_and_only_once():
    order: list[str] = []
    answer = _chunked_app(order, [("Content-Length", "2")])({}, lambda *args: None)
    assert b"".join(answer) == b"ab"
    assert order == ["chunk 1", "chunk 2", "job"]  # before the server closes it
    answer.close()
    assert order == ["chunk 1", "chunk 2", "job"]


def test_a_streamed_answer_runs_its_jobs_when_the_server_closes_it():
    """No length: the client has it all only once the server has ended it, after close()."""
    order: list[str] = []
    answer = _chunked_app(order, [])({}, lambda *args: None)
    assert b"".join(answer) == b"ab"
    assert order == ["chunk 1", "chunk 2"]
    answer.close()
    assert order == ["chunk 1", "chunk 2", "job"]


def test_an_answer_with_nothing_to_run_after_it_is_passed_through_untouched():
    sent = [b"x"]

    def app(environ, start_response):
        start_response("200 OK", [])
        return sent

    assert jobs._AfterAnswer(app)({}, lambda *args: None) is sent
