"""A fake OpenAI-compatible chat-completions server on 127.0.0.1, for the tests.

It answers ``POST /v1/chat/completions`` with :func:`fake_translation` of the last user message and
usage counts, in a real ``ThreadingHTTPServer`` on an ephemeral port, so the client under test goes
through real sockets, timeouts and dropped connections. Per test it can be told to answer slowly,
to trickle its answer a byte at a time, to fail the next requests in a scripted way (``"429"``,
``"500"``, ``"401"``, ``"drop"``, ``"malformed"``), to fail forever on messages containing a
word, or to leave out usage. It records every request (path, headers, JSON body) and the largest
number of requests it served at once.

Run it by hand with ``python tests/fake_openai_server.py [PORT]``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Behavior", "FakeOpenAI", "fake_translation"]


def fake_translation(content: str, suffix: str = "") -> str:
    """The server's deterministic "translation" of a user message."""
    return f"[{content.upper()}]{suffix}"


@dataclass
class Behavior:
    """What the server does; tests mutate it between runs."""

    delay: float = 0.0  # seconds before each answer
    faults: list[str] = field(default_factory=list)  # consumed one per request, in order
    fail_on: str | None = None  # messages containing this always get HTTP 500
    usage: bool = True
    multiline: bool = False  # answer "  first\n  second  " to exercise one-line cleaning
    suffix: str = ""  # appended to every answer (to tell two runs apart)
    echo_auth: bool = False  # put the Authorization header into error bodies (a hostile server)
    trickle: float = 0.0  # seconds between the body's bytes: each read is quick, the whole is not


class FakeOpenAI:
    """The server, its behaviour and its records; a context manager that starts and stops it."""

    def __init__(self, port: int = 0) -> None:
        self.behavior = Behavior()
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.httpd = _QuietServer(("127.0.0.1", port), _handler_for(self))
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """The ``endpoint`` value a suite would use (``http://127.0.0.1:PORT/v1``)."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def user_messages(self) -> list[str]:
        """The user message of every recorded request, in arrival order."""
        return [r["body"]["messages"][-1]["content"] for r in self.requests if r.get("body")]

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietServer(ThreadingHTTPServer):
    """Clients that time out or give up close their sockets early; that is expected here."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def _handler_for(server: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            with server.lock:
                server.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                fault = server.behavior.faults.pop(0) if server.behavior.faults else None
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            try:
                self._answer(body, fault)
            finally:
                with server.lock:
                    server.in_flight -= 1

        def _answer(self, body: Any, fault: str | None) -> None:
            b = server.behavior
            if b.delay:
                time.sleep(b.delay)
            if self.path != "/v1/chat/completions" or not isinstance(body, dict):
                return self._send(404, {"error": {"message": f"no route {self.path}"}})
            content = body["messages"][-1]["content"]
            if fault == "drop":
                self.close_connection = True
                return None  # no response at all: the client sees a disconnect
            if fault == "malformed":
                return self._send_raw(200, b'{"choices": [{"message": {"content": "trunc')
            if fault is not None or (b.fail_on and b.fail_on in content):
                status = int(fault) if fault is not None else 500
                message = f"fake failure {status}"
                if b.echo_auth:
                    message += f" (you sent {self.headers.get('Authorization')})"
                return self._send(status, {"error": {"message": message}})
            answer = fake_translation(content, b.suffix)
            if b.multiline:
                half = len(answer) // 2
                answer = f"  {answer[:half]} \n\n {answer[half:]}  \n"
            reply: dict[str, Any] = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer},
                        "finish_reason": "stop",
                    }
                ],
            }
            if b.usage:
                reply["usage"] = {
                    "prompt_tokens": len(content.split()),
                    "completion_tokens": len(answer.split()),
                    "total_tokens": len(content.split()) + len(answer.split()),
                }
            return self._send(200, reply)

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            self._send_raw(status, json.dumps(payload).encode("utf-8"))

        def _send_raw(self, status: int, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if not server.behavior.trickle:
                self.wfile.write(data)
                return
            self.wfile.flush()
            for i in range(len(data)):
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
                time.sleep(server.behavior.trickle)

    return Handler


if __name__ == "__main__":
    with FakeOpenAI(int(sys.argv[1]) if len(sys.argv) > 1 else 8000) as fake:
        sys.stderr.write(f"fake OpenAI server on {fake.url}\n")
        try:
            fake.thread.join()
        except KeyboardInterrupt:
            pass
