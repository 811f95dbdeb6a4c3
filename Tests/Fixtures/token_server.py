"""A Docker distribution token server (https://distribution.github.io/distribution/spec/auth/token/ and
.../auth/oauth/) for the registry tests, strict like the real ones (docker_auth, Docker Hub's auth service).

Usage: token_server.py --key KEY.pem --cert CERT.pem --issuer ISSUER --service SERVICE [--lifetime SECONDS]

Users come from the environment, never argv: TOKEN_SERVER_USERS is a JSON object
    {"alice": {"password": "…", "push": true}, "bob": {"password": "…"}}
Every authenticated user is granted `pull` on every repository it asks for; `push` (and `delete`) only when its
entry says "push": true. Anonymous requests get a token with an empty `access` list, as Docker Hub gives for a
private repository, so the registry then refuses the actual operation.

Routes:
  GET  /token?service=&scope=…&account=&offline_token=true   Basic credentials → {"token","access_token",
                                                             "expires_in","issued_at"[,"refresh_token"]}
  POST /token  (application/x-www-form-urlencoded)           grant_type=refresh_token (refresh_token=) or
                                                             grant_type=password (username=, password=), with
                                                             service=, scope= (space-separated), client_id=
Wrong credentials get 401 {"details": "incorrect username or password"}; an unknown service 400.

Tokens are RS256 JWTs whose header carries the signing certificate in `x5c` (base64 DER), which is how
distribution 2.8's token access controller finds the key: it checks that the certificate chains to its
`rootcertbundle` (the same self-signed certificate) and then the signature.
Counters (/__counters): token-basic, token-refresh, token-password, token-anonymous, token-rejected.
"""
import argparse
import base64
import json
import os
import secrets
import threading
import time
from datetime import datetime, timezone
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from fixturelib import FixtureHandler, serve


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Config:
    key = None
    cert_der = None
    issuer = ""
    service = ""
    lifetime = 300
    users = {}
    refresh_tokens = {}  # refresh token → username
    lock = threading.Lock()


def parse_scopes(values):
    """Each scope is `type:name:actions`; a name may itself hold ':' (the actions follow the last one)."""
    scopes = []
    for value in values:
        for item in value.split(" "):
            if not item:
                continue
            first = item.find(":")
            last = item.rfind(":")
            if first < 0 or last == first:
                raise ValueError("malformed scope " + item)
            scopes.append((item[:first], item[first + 1:last], [a for a in item[last + 1:].split(",") if a]))
    return scopes


def grant(username, scopes):
    access = []
    if username is None:
        return access
    may_push = bool(Config.users.get(username, {}).get("push"))
    for kind, name, actions in scopes:
        if kind != "repository":
            continue
        allowed = [a for a in actions if a == "pull" or (may_push and a in ("push", "delete", "*"))]
        if allowed:
            access.append({"type": kind, "name": name, "actions": allowed})
    return access


def issue(username, scopes, offline):
    now = int(time.time())
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(Config.cert_der).decode()]}
    claims = {
        "iss": Config.issuer,
        "sub": username or "",
        "aud": Config.service,
        "exp": now + Config.lifetime,
        "nbf": now - 1,
        "iat": now,
        "jti": secrets.token_hex(16),
        "access": grant(username, scopes),
    }
    signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + b64url(
        json.dumps(claims, separators=(",", ":")).encode())
    signature = Config.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    token = signing_input + "." + b64url(signature)
    issued_at = datetime.fromtimestamp(now, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"token": token, "access_token": token, "expires_in": Config.lifetime, "issued_at": issued_at}
    if offline and username is not None:
        refresh = secrets.token_urlsafe(32)
        with Config.lock:
            Config.refresh_tokens[refresh] = username
        body["refresh_token"] = refresh
    return body


def check_password(username, password):
    entry = Config.users.get(username)
    return entry is not None and secrets.compare_digest(entry.get("password", ""), password)


class Handler(FixtureHandler):
    def unauthorized(self):
        self.count("token-rejected")
        return 401, {"WWW-Authenticate": 'Basic realm="ocicred token server"'}, {
            "details": "incorrect username or password"}

    def route(self, method, path, query, body):
        if path != "/token":
            return 404, {}, {"details": "no route " + path}
        if method == "GET":
            params = parse_qs(query, keep_blank_values=True)
        elif method == "POST":
            if not (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
                return 400, {}, {"error": "invalid_request", "error_description": "form body expected"}
            params = parse_qs(body.decode(), keep_blank_values=True)
        else:
            return 405, {}, {"details": "method not allowed"}
        service = params.get("service", [""])[-1]
        if service != Config.service:
            return 400, {}, {"details": "unknown service " + service}
        try:
            scopes = parse_scopes(params.get("scope", []))
        except ValueError as error:
            return 400, {}, {"details": str(error)}

        if method == "POST":
            grant_type = params.get("grant_type", [""])[-1]
            if not params.get("client_id", [""])[-1]:
                return 400, {}, {"error": "invalid_request", "error_description": "missing client_id"}
            if grant_type == "refresh_token":
                with Config.lock:
                    username = Config.refresh_tokens.get(params.get("refresh_token", [""])[-1])
                if username is None:
                    self.count("token-rejected")
                    return 401, {}, {"error": "invalid_grant", "error_description": "unknown refresh token"}
                self.count("token-refresh")
                response = issue(username, scopes, offline=False)
                return 200, {}, {k: v for k, v in response.items() if k != "token"}
            if grant_type == "password":
                username = params.get("username", [""])[-1]
                if not check_password(username, params.get("password", [""])[-1]):
                    return self.unauthorized()
                self.count("token-password")
                offline = params.get("access_type", [""])[-1] == "offline"
                response = issue(username, scopes, offline=offline)
                return 200, {}, {k: v for k, v in response.items() if k != "token"}
            return 400, {}, {"error": "unsupported_grant_type"}

        authorization = self.headers.get("Authorization")
        offline = params.get("offline_token", [""])[-1] == "true"
        if authorization is None:
            self.count("token-anonymous")
            return 200, {}, issue(None, scopes, offline=False)
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return self.unauthorized()
        try:
            username, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except Exception:
            return self.unauthorized()
        if not check_password(username, password):
            return self.unauthorized()
        account = params.get("account", [""])[-1]
        if account and account != username:
            return 400, {}, {"details": "account does not match the credentials"}
        self.count("token-basic")
        return 200, {}, issue(username, scopes, offline=offline)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--key", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--lifetime", type=int, default=300)
    args = parser.parse_args()
    with open(args.key, "rb") as handle:
        Config.key = serialization.load_pem_private_key(handle.read(), password=None)
    with open(args.cert, "rb") as handle:
        Config.cert_der = x509.load_pem_x509_certificate(handle.read()).public_bytes(serialization.Encoding.DER)
    Config.issuer = args.issuer
    Config.service = args.service
    Config.lifetime = args.lifetime
    Config.users = json.loads(os.environ.get("TOKEN_SERVER_USERS", "{}"))
    serve(Handler)


if __name__ == "__main__":
    main()
