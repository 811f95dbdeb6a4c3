"""Shared plumbing for the strict fixture servers the Swift tests start.

A fixture binds 127.0.0.1 port 0, prints `PORT <n>` on its first stdout line (the Swift side reads it),
serves until stdin closes or SIGTERM, and logs every request as one JSON line on stderr so a test can
assert what was asked. Fixtures exist only for services with no open-source stand-in (DESIGN.md); they
must be as strict as the real service: missing headers and bad signatures get the real error shape.
"""
import base64
import json
import os
import signal
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FixtureHandler(BaseHTTPRequestHandler):
    """Subclasses implement `route(self, method, path, query, body)` returning (status, headers, body)."""

    protocol_version = "HTTP/1.1"
    counters = {}
    counters_lock = threading.Lock()

    def log_message(self, fmt, *args):  # keep stderr for the JSON request log
        pass

    def count(self, name):
        with FixtureHandler.counters_lock:
            FixtureHandler.counters[name] = FixtureHandler.counters.get(name, 0) + 1
            return FixtureHandler.counters[name]

    def _handle(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        if path == "/__counters":
            status, headers, payload = 200, {"Content-Type": "application/json"}, json.dumps(FixtureHandler.counters).encode()
        else:
            status, headers, payload = self.route(method, path, query, body)
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        elif isinstance(payload, str):
            payload = payload.encode()
        sys.stderr.write(json.dumps({"method": method, "path": path, "status": status}) + "\n")
        sys.stderr.flush()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def form(self, body):
        """The body as an `application/x-www-form-urlencoded` form (first value of each key), or None when the
        request says it is something else: token endpoints refuse those, and so must their fixtures."""
        if not (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            return None
        return {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")


def b64url_decode(text):
    """Base64url without padding, as JWTs carry it."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_from(variable):
    """The PEM public key in the file the environment variable names, or None when it is unset: the key a
    fixture checks signed assertions with."""
    if not os.environ.get(variable):
        return None
    from cryptography.hazmat.primitives import serialization  # only the fixtures that verify signatures need it

    with open(os.environ[variable], "rb") as handle:
        return serialization.load_pem_public_key(handle.read())


class TLSFixtureHandler(FixtureHandler):
    """A FixtureHandler that may be served by `TLSServer`, for the fixtures that stand in for PATCH-taking HTTPS
    services (the Kubernetes API server, the Transport tests' origin)."""

    def do_PATCH(self):
        self._handle("PATCH")

    def handle(self):
        # A client that rejects our certificate aborts the handshake: that is a test passing, not an error.
        try:
            super().handle()
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            pass


class TLSServer(ThreadingHTTPServer):
    """Set `context` first. The handshake runs on the handler's thread at its first read, so a client that never
    completes it (or aborts it: a test without the CA) cannot stall the accept loop."""

    context = None
    daemon_threads = True

    def get_request(self):
        sock, address = super().get_request()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address


def serve(handler_class):
    # A fixture spawned from a dispatch thread inherits that thread's blocked SIGTERM; take it back first.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    run(ThreadingHTTPServer(("127.0.0.1", 0), handler_class))


def run(server):
    """Announces the port, then serves until SIGTERM or until the test closes our stdin; never returns.

    Fixtures that build their own server (HTTPS, say) call this with it, after unblocking SIGTERM themselves
    before they do anything slow."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    print(f"PORT {server.server_address[1]}", flush=True)

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)

    def watch_stdin():
        # The test holds our stdin open; when it goes away (test ended or crashed) we stop too.
        try:
            while sys.stdin.buffer.read(1):
                pass
        except Exception:
            pass
        stop()

    threading.Thread(target=watch_stdin, daemon=True).start()
    server.serve_forever()
    os._exit(0)
