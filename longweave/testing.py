"""A real OpenAI-compatible HTTP server on loopback, for tests and benchmarks.

`FakeOpenAIServer` speaks ``POST /v1/chat/completions`` (and ``/v1/embeddings``) over real
HTTP in a background thread, so the openai backend is exercised end to end: connection pool,
timeouts, status codes, headers. Its behaviour per request is scripted: a reply, a fixed
latency, an HTTP error with headers (429 + Retry-After, 500...), or a stall longer than any
timeout. It binds 127.0.0.1 on a free port and never talks to anything else.

`scripted_responder(llm)` answers each request with a `ScriptedLLM`'s reply (a rule-based
writer behind real HTTP). ``python -m longweave.testing --count 4 --latency 0.1 --model
examples/rule_models.py:rule_writer`` serves such servers in a process of their own (what the
batch tests and benchmark kill, and what keeps their CPU out of the measured process); it
prints one URL a line, then serves until killed.

Example:
    >>> with FakeOpenAIServer(lambda req, n: Reply("pong")) as server:  # doctest: +SKIP
    ...     llm = load_llm(f"openai:fake@{server.url}")
    ...     llm.complete_sync("ping").text
    'pong'
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from longweave.llm.scripted import ScriptedLLM
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    """Answer with `text` after `latency` seconds."""

    text: str
    latency: float = 0.0
    finish_reason: str = "stop"


@dataclass
class Fail:
    """Answer with HTTP `status`, an OpenAI-style error `message` and extra `headers`."""

    status: int
    message: str = "failure"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Stall:
    """Hold the connection open for `seconds` without answering."""

    seconds: float = 60.0


Action = Reply | Fail | Stall
Responder = Callable[[dict, int], Action]


def echo(request: dict, n: int) -> Action:
    """The default responder: reply with the last message's content."""
    return Reply(request["messages"][-1]["content"])


class FakeOpenAIServer:
    """Serve scripted chat completions on ``http://127.0.0.1:PORT/v1`` until closed.

    Args:
        responder: ``(request_json, request_number) -> Reply | Fail | Stall``; request numbers
            start at 0 and count every chat request the server has received.
        latency: seconds added before every reply (on top of `Reply.latency`).

    Attributes:
        url: the base URL to give the openai backend.
        requests: every chat request body received, in arrival order.
    """

    def __init__(self, responder: Responder = echo, *, latency: float = 0.0) -> None:
        self.responder, self.latency = responder, latency
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.endswith("/embeddings"):
                    return self._embeddings(body)
                if not self.path.endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                with server._lock:
                    n = len(server.requests)
                    server.requests.append(body)
                action = server.responder(body, n)
                if server.latency:
                    time.sleep(server.latency)
                if isinstance(action, Stall):
                    server._stop.wait(action.seconds)
                    return
                if isinstance(action, Fail):
                    return self._send(action.status, {"error": {"message": action.message}}, action.headers)
                if action.latency:
                    time.sleep(action.latency)
                prompt = sum(len(m.get("content", "").split()) for m in body.get("messages", []))
                words = len(action.text.split())
                self._send(
                    200,
                    {
                        "id": f"chatcmpl-{n}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "fake"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": action.text},
                                "finish_reason": action.finish_reason,
                            }
                        ],
                        "usage": {
                            "prompt_tokens": prompt,
                            "completion_tokens": words,
                            "total_tokens": prompt + words,
                        },
                    },
                )

            def _embeddings(self, body: dict) -> None:
                from longweave.memory.embedders import HashingEmbedder

                inputs = body.get("input") or []
                inputs = [inputs] if isinstance(inputs, str) else inputs
                vecs = HashingEmbedder(64).embed(inputs)
                data = [
                    {"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vecs)
                ]
                self._send(200, {"object": "list", "data": data, "model": body.get("model", "fake")})

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # the default backlog of 5 drops bursts of connects

            def handle_error(self, request, client_address) -> None:
                if not isinstance(sys.exc_info()[1], ConnectionError):  # clients may hang up
                    super().handle_error(request, client_address)

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()  # release stalled handlers
        if self._thread.is_alive():  # shutdown() waits for serve_forever, so only if it runs
            self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def scripted_responder(llm: ScriptedLLM) -> Responder:
    """A responder that answers with `llm`'s reply to the request's messages and max_tokens."""

    def respond(request: dict, n: int) -> Action:
        messages = request.get("messages") or []
        reply = llm._reply(messages)
        text = reply.text if hasattr(reply, "text") else str(reply)
        limit = request.get("max_tokens")
        if limit and len(text.split()) > limit:  # about a token a word: enough for length control
            return Reply(" ".join(text.split()[:limit]), finish_reason="length")
        return Reply(text)

    return respond


def _load_factory(where: str) -> Callable[..., ScriptedLLM]:
    """``path/to/file.py:function`` or ``module:function``."""
    import importlib
    import importlib.util
    from pathlib import Path

    target, _, name = where.rpartition(":")
    if target.endswith(".py"):
        sys.path.insert(0, str(Path(target).resolve().parent))
        spec = importlib.util.spec_from_file_location(Path(target).stem, target)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    return getattr(module, name)


def main(argv: list[str] | None = None) -> None:
    """Serve `--count` scripted servers until killed; print their URLs, one a line."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m longweave.testing")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--model", required=True, help="file.py:factory or module:factory of a ScriptedLLM")
    args = parser.parse_args(argv)
    factory = _load_factory(args.model)
    servers = [FakeOpenAIServer(scripted_responder(factory()), latency=args.latency).start()
               for _ in range(args.count)]  # fmt: skip
    for server in servers:
        print(server.url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
