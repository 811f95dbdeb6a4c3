"""The other host a registry redirects blob downloads to (an S3 bucket or CDN behind distribution's `redirect`
storage middleware): HTTPS with its own certificate, serving the registry's storage directory read-only.

Usage: python3 blob_store.py --root DIR (--cert CERT --key KEY | --plain) [--bind ADDRESS]
                             [--multi-range whole|first]

Strict as a bucket is: GET and HEAD only, paths that leave --root or do not exist are 404, a request that carries
an `Authorization` header is refused with S3's 400 (a bucket behind a registry redirect takes no registry
credential; counted as `authorization_refused`), `Range: bytes=a-b` is honoured with 206 and Content-Range (an
unsatisfiable range is 416). Several ranges in one request are not: S3 and GCS answer the whole object with 200
(`--multi-range whole`, the default), some proxies a single 206 for the first range (`first`); each is counted as
`multi_range`. Every file served is counted as `served` at /__counters. Requests are logged as JSON lines on
stderr (fixturelib).
"""
import argparse
import os
import ssl

from fixturelib import FixtureHandler, run
from http.server import ThreadingHTTPServer


class BlobStore(FixtureHandler):
    root = "/"
    multi_range = "whole"

    def route(self, method, path, query, body):
        if method not in ("GET", "HEAD"):
            return 405, {}, b""
        if self.headers.get("Authorization") is not None:
            self.count("authorization_refused")
            return 400, {"Content-Type": "application/xml"}, (
                b"<Error><Code>InvalidArgument</Code><Message>Unsupported Authorization Type</Message>"
                b"<ArgumentName>Authorization</ArgumentName></Error>")
        # Resolved per request: the root may be a link made after the store started (the registry's own
        # directory exists only once the registry runs, and the registry needs our port first).
        root = os.path.realpath(BlobStore.root)
        full = os.path.realpath(os.path.join(root, path.lstrip("/")))
        if not full.startswith(root + os.sep) or not os.path.isfile(full):
            return 404, {"Content-Type": "application/xml"}, b"<Error><Code>NoSuchKey</Code></Error>"
        with open(full, "rb") as f:
            data = f.read()
        self.count("served")
        wanted = self.headers.get("Range")
        if wanted and "," in wanted:
            self.count("multi_range")
            if BlobStore.multi_range == "whole":
                wanted = None
            else:
                wanted = wanted.split(",")[0]
        if not wanted:
            return 200, {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}, data
        first, _, last = wanted.removeprefix("bytes=").partition("-")
        start = int(first)
        end = min(int(last), len(data) - 1) if last else len(data) - 1
        if start >= len(data) or start > end:
            return 416, {"Content-Range": f"bytes */{len(data)}"}, b""
        return 206, {"Content-Type": "application/octet-stream",
                     "Content-Range": f"bytes {start}-{end}/{len(data)}"}, data[start:end + 1]

    def do_HEAD(self):
        self._handle("HEAD")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--plain", action="store_true")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--multi-range", choices=["whole", "first"], default="whole")
    args = parser.parse_args()
    if not args.bind.startswith("127."):
        parser.error("--bind takes a loopback address")
    if not args.plain and not (args.cert and args.key):
        parser.error("give --cert and --key, or --plain")
    BlobStore.root = args.root
    BlobStore.multi_range = args.multi_range
    server = ThreadingHTTPServer((args.bind, 0), BlobStore)
    if not args.plain:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    run(server)


if __name__ == "__main__":
    main()
