"""A man in the middle for the lazy mount's fault tests: forwards every request to the registry given as
--upstream (127.0.0.1 only) and, while tampering is switched on (POST /__tamper with body "on" or "off"),
flips one byte in the body of every ranged blob response — what a broken cache or a hostile proxy does.
The mount must answer EIO, never the altered bytes. Counts tampered responses under /__counters.
"""
import argparse
import http.client
import threading

from fixturelib import FixtureHandler, serve

PASSED_REQUEST_HEADERS = ("Authorization", "Range", "Accept", "User-Agent")
PASSED_RESPONSE_HEADERS = ("Content-Type", "Content-Range", "Docker-Content-Digest", "WWW-Authenticate",
                           "Docker-Distribution-Api-Version", "Location", "Accept-Ranges")


class Proxy(FixtureHandler):
    upstream = ("127.0.0.1", 0)
    tampering = threading.Event()

    def route(self, method, path, query, body):
        if path == "/__tamper":
            (Proxy.tampering.set if body.strip() == b"on" else Proxy.tampering.clear)()
            return 200, {}, {"tampering": Proxy.tampering.is_set()}
        connection = http.client.HTTPConnection(*Proxy.upstream, timeout=30)
        headers = {name: self.headers[name] for name in PASSED_REQUEST_HEADERS if self.headers.get(name)}
        connection.request(method, path + ("?" + query if query else ""), body=body or None, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        connection.close()
        if (Proxy.tampering.is_set() and "/blobs/" in path and response.status == 206 and payload):
            middle = len(payload) // 2
            payload = payload[:middle] + bytes([payload[middle] ^ 0x5A]) + payload[middle + 1:]
            self.count("tampered")
        passed = {name: response.getheader(name) for name in PASSED_RESPONSE_HEADERS if response.getheader(name)}
        return response.status, passed, payload


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True, help="host:port of the registry, on 127.0.0.1")
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")
    if host != "127.0.0.1":
        raise SystemExit("the tamper proxy only forwards to 127.0.0.1")
    Proxy.upstream = (host, int(port))
    serve(Proxy)


if __name__ == "__main__":
    main()
