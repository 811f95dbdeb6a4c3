"""A plain HTTP(S) origin for the Transport tests: echo, redirects, slow and large responses.

Usage: http_fixture.py [--tls CERT KEY]

Routes:
  /echo                      200, JSON {"method", "path", "query", "headers" (names lower-cased), "body"}
  /redirect?to=URL&code=N    N (default 302) with Location: URL (absolute or relative, sent as given)
  /loop                      302 to itself, forever
  /slow?seconds=N[&redirect=URL]   waits N seconds, then 200 "done" (or 302 to URL)
  /big?bytes=N               N bytes with a Content-Length
  /stream?bytes=N            N bytes without Content-Length (the body ends when the connection closes)
  /status/N                  status N, empty body
HEAD on any route answers the GET's status and headers without the body.
"""
import json
import signal
import ssl
import sys
import threading
import time
import os
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs

import fixturelib
from fixturelib import TLSFixtureHandler


class Handler(TLSFixtureHandler):
    def route(self, method, path, query, body):
        params = {key: values[-1] for key, values in parse_qs(query, keep_blank_values=True).items()}
        if path == "/echo":
            headers = {}
            for name, value in self.headers.items():
                name = name.lower()
                headers[name] = headers[name] + ", " + value if name in headers else value
            return 200, {}, {
                "method": method,
                "path": path,
                "query": query,
                "headers": headers,
                "body": body.decode("utf-8", "replace"),
            }
        if path == "/redirect":
            return int(params.get("code", "302")), {"Location": params.get("to", "/echo")}, ""
        if path == "/loop":
            return 302, {"Location": "/loop"}, ""
        if path == "/slow":
            time.sleep(float(params.get("seconds", "5")))
            if "redirect" in params:
                return 302, {"Location": params["redirect"]}, ""
            return 200, {"Content-Type": "text/plain"}, "done"
        if path == "/big":
            return 200, {"Content-Type": "application/octet-stream"}, b"x" * int(params.get("bytes", "0"))
        if path.startswith("/status/"):
            return int(path[len("/status/"):]), {}, ""
        return 404, {}, {"error": "no route " + path}

    def _stream(self, size):
        # HTTP/1.1 without Content-Length or chunking: the body is delimited by closing the connection, so only
        # the client's running count (not a header) can stop it.
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        block = b"y" * 4096
        remaining = size
        try:
            while remaining > 0:
                chunk = block[: min(remaining, len(block))]
                self.wfile.write(chunk)
                remaining -= len(chunk)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass

    def do_GET(self):
        path, _, query = self.path.partition("?")
        if path == "/stream":
            sys.stderr.write(json.dumps({"method": "GET", "path": path, "status": 200}) + "\n")
            sys.stderr.flush()
            params = parse_qs(query)
            return self._stream(int(params.get("bytes", ["0"])[-1]))
        self._handle("GET")

    def do_HEAD(self):
        # The GET route's status and headers (Content-Length included), no body: as a registry answers a blob HEAD.
        path, _, query = self.path.partition("?")
        status, headers, payload = self.route("HEAD", path, query, b"")
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload).encode()
        elif isinstance(payload, str):
            payload = payload.encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()


def main():
    # Foundation's Process starts us with the spawning thread's signal mask, and Swift's dispatch worker threads
    # block SIGTERM: without this, FixtureServer.stop() (terminate, then wait) would wait forever.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    server_class = ThreadingHTTPServer
    if len(sys.argv) >= 4 and sys.argv[1] == "--tls":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
        fixturelib.TLSServer.context = context
        server_class = fixturelib.TLSServer
    # As fixturelib.serve, with the server class chosen above.
    server = server_class(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fixturelib.run(server)


if __name__ == "__main__":
    main()
