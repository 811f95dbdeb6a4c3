"""Strict stand-ins for Google's token services (no open-source equivalent exists).

One server answers, on 127.0.0.1:
  POST /token                       oauth2.googleapis.com/token: the JWT-bearer grant (the assertion's RS256
                                    signature verified with the service account's PUBLIC key; iss, aud, scope,
                                    iat, exp checked) and the refresh_token grant.
  GET  /computeMetadata/v1/instance/service-accounts/default/token
                                    the metadata server; 403 without `Metadata-Flavor: Google`.
  POST /v1/token                    sts.googleapis.com (RFC 8693 token exchange for Workload Identity Federation).
  POST /v1/projects/-/serviceAccounts/<email>:generateAccessToken
                                    IAM Credentials; the bearer must be a token this fixture issued.
  GET  /subject-token               a URL credential source (JSON {"id_token": ...}), requires a header.
  GET  /__seen                      what STS and IAM Credentials were asked, in order (subject tokens included:
                                    the test must see which token reached STS), for assertions.

Configuration (environment; all optional except where a test relies on it):
  GCP_FIXTURE_PUBLIC_KEY     path of the service account's public key (PEM). Only the public half.
  GCP_FIXTURE_CLIENT_EMAIL   the service account the key belongs to.
  GCP_FIXTURE_CLIENT_ID / GCP_FIXTURE_CLIENT_SECRET / GCP_FIXTURE_REFRESH_TOKEN   the authorized_user grant.
  GCP_FIXTURE_AUDIENCE / GCP_FIXTURE_SUBJECT_TOKEN / GCP_FIXTURE_SUBJECT_TOKEN_TYPE   the STS exchange; the
                             audience may list several pool providers, comma-separated.
  GCP_FIXTURE_SUBJECT_PUBLIC_KEY   an OIDC provider's public key (PEM): instead of comparing with
                             GCP_FIXTURE_SUBJECT_TOKEN, STS verifies the subject token as a pool's OIDC provider does:
                             RS256 signature, `exp` in the future, `aud` naming the provider
                             (`https://iam.googleapis.com/projects/...`, or GCP_FIXTURE_SUBJECT_AUDIENCE), and `iss`
                             equal to GCP_FIXTURE_SUBJECT_ISSUER when that is set.
  GCP_FIXTURE_IMPERSONATE    service accounts (comma-separated) generateAccessToken may mint for.
  GCP_FIXTURE_EXPIRES_IN     lifetime (s) of the tokens issued, default 3599.
  GCP_FIXTURE_TOKEN_SUFFIX   when set, every token issued is `ya29.<kind>-<suffix>` instead of ending in random
                             characters, so a golden file can hold it; every check before issuing stays the same.
Error bodies have the real services' shapes.
"""
import json
import os
import secrets
import signal
import threading
import time
import urllib.parse
from datetime import datetime, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

import fixturelib

CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"

ENV = os.environ
EXPIRES_IN = int(ENV.get("GCP_FIXTURE_EXPIRES_IN", "3599"))
PUBLIC_KEY = fixturelib.public_key_from("GCP_FIXTURE_PUBLIC_KEY")
SUBJECT_PUBLIC_KEY = fixturelib.public_key_from("GCP_FIXTURE_SUBJECT_PUBLIC_KEY")

issued = set()
issued_lock = threading.Lock()
seen = []


def record(entry):
    with issued_lock:
        seen.append(entry)


def issue(prefix):
    token = f"ya29.{prefix}-{ENV.get('GCP_FIXTURE_TOKEN_SUFFIX') or secrets.token_urlsafe(24)}"
    with issued_lock:
        issued.add(token)
    return token


def oauth_error(status, error, description):
    return status, {}, {"error": error, "error_description": description}


def google_api_error(status, message, state):
    return status, {}, {"error": {"code": status, "message": message, "status": state}}


class Handler(fixturelib.FixtureHandler):
    def route(self, method, path, query, body):
        port = self.server.server_address[1]
        if method == "POST" and path == "/token":
            return self.token(body, f"http://127.0.0.1:{port}/token")
        if method == "GET" and path == "/computeMetadata/v1/instance/service-accounts/default/token":
            return self.metadata()
        if method == "POST" and path == "/v1/token":
            return self.sts(body)
        if method == "POST" and path.startswith("/v1/projects/-/serviceAccounts/") and path.endswith(
            ":generateAccessToken"
        ):
            email = urllib.parse.unquote(path[len("/v1/projects/-/serviceAccounts/"):-len(":generateAccessToken")])
            return self.generate_access_token(email, body)
        if method == "GET" and path == "/__seen":
            with issued_lock:
                return 200, {}, list(seen)
        if method == "GET" and path == "/subject-token":
            if self.headers.get("X-Subject-Token-Auth") != "yes":
                return 401, {}, {"error": "missing X-Subject-Token-Auth"}
            return 200, {}, {"id_token": ENV.get("GCP_FIXTURE_SUBJECT_TOKEN", "")}
        return 404, {"Content-Type": "text/plain"}, "Not Found\n"

    # oauth2.googleapis.com/token
    def token(self, body, token_url):
        form = self.form(body)
        if form is None:
            return oauth_error(400, "invalid_request", "Invalid Content-Type")
        grant = form.get("grant_type")
        if grant == JWT_BEARER:
            return self.jwt_bearer(form.get("assertion", ""), token_url)
        if grant == "refresh_token":
            self.count("refresh_grant")
            if form.get("client_id") != ENV.get("GCP_FIXTURE_CLIENT_ID") or form.get("client_secret") != ENV.get(
                "GCP_FIXTURE_CLIENT_SECRET"
            ):
                return oauth_error(401, "invalid_client", "Unauthorized")
            if form.get("refresh_token") != ENV.get("GCP_FIXTURE_REFRESH_TOKEN"):
                return oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
            return 200, {}, {
                "access_token": issue("user"), "expires_in": EXPIRES_IN, "scope": CLOUD_PLATFORM,
                "token_type": "Bearer",
            }
        return oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")

    def jwt_bearer(self, assertion, token_url):
        self.count("jwt_grant")
        parts = assertion.split(".")
        if len(parts) != 3:
            return oauth_error(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and "
                               "in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
        try:
            header = json.loads(fixturelib.b64url_decode(parts[0]))
            claims = json.loads(fixturelib.b64url_decode(parts[1]))
            signature = fixturelib.b64url_decode(parts[2])
        except Exception:
            return oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
        if header.get("alg") != "RS256" or PUBLIC_KEY is None:
            return oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
        try:
            PUBLIC_KEY.verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
        if claims.get("iss") != ENV.get("GCP_FIXTURE_CLIENT_EMAIL"):
            return oauth_error(400, "invalid_grant", "Invalid grant: account not found")
        if claims.get("aud") != token_url:
            return oauth_error(400, "invalid_grant", f"Invalid JWT: Failed audience check. The right audience is {token_url}")
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or iat > now + 60 or exp <= now or exp - iat > 3600:
            return oauth_error(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and "
                               "in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
        if CLOUD_PLATFORM not in (claims.get("scope") or "").split():
            return oauth_error(400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        return 200, {}, {"access_token": issue("sa"), "expires_in": EXPIRES_IN, "token_type": "Bearer"}

    # metadata.google.internal
    def metadata(self):
        self.count("metadata")
        if self.headers.get("Metadata-Flavor") != "Google" or self.headers.get("X-Forwarded-For"):
            return 403, {"Content-Type": "text/plain"}, "Missing Metadata-Flavor:Google header.\n"
        return 200, {"Metadata-Flavor": "Google"}, {
            "access_token": issue("gce"), "expires_in": EXPIRES_IN, "token_type": "Bearer",
        }

    # sts.googleapis.com/v1/token
    def sts(self, body):
        self.count("sts")
        form = self.form(body)
        if form is None:
            return oauth_error(400, "invalid_request", "Invalid Content-Type")
        if form.get("grant_type") != TOKEN_EXCHANGE:
            return oauth_error(400, "unsupported_grant_type", f"Invalid value for \"grant_type\": {form.get('grant_type')}")
        if form.get("requested_token_type") != ACCESS_TOKEN_TYPE:
            return oauth_error(400, "invalid_request", "Invalid value for \"requested_token_type\".")
        expected_type = ENV.get("GCP_FIXTURE_SUBJECT_TOKEN_TYPE", "urn:ietf:params:oauth:token-type:jwt")
        if form.get("subject_token_type") != expected_type:
            return oauth_error(400, "invalid_request", "Invalid value for \"subject_token_type\".")
        record({"endpoint": "sts", "audience": form.get("audience"), "subject_token": form.get("subject_token"),
                "subject_token_type": form.get("subject_token_type")})
        audiences = [a for a in ENV.get("GCP_FIXTURE_AUDIENCE", "").split(",") if a]
        if form.get("audience") not in audiences:
            return oauth_error(400, "invalid_target", "The target service indicated by the \"audience\" parameters "
                               "is invalid. This might either be because the pool or provider is disabled or deleted "
                               "or because it doesn't exist.")
        if CLOUD_PLATFORM not in (form.get("scope") or "").split():
            return oauth_error(400, "invalid_scope", "Invalid scope.")
        if SUBJECT_PUBLIC_KEY is not None:
            failure = self.check_subject_token(form.get("subject_token") or "", form["audience"])
            if failure:
                return failure
        elif not form.get("subject_token") or form.get("subject_token") != ENV.get("GCP_FIXTURE_SUBJECT_TOKEN"):
            return oauth_error(400, "invalid_grant", "The ID Token's signature could not be verified.")
        return 200, {}, {
            "access_token": issue("sts"), "issued_token_type": ACCESS_TOKEN_TYPE, "token_type": "Bearer",
            "expires_in": EXPIRES_IN,
        }

    def check_subject_token(self, token, audience):
        """An OIDC pool provider's checks on a subject token (a Kubernetes service-account token here)."""
        parts = token.split(".")
        try:
            header = json.loads(fixturelib.b64url_decode(parts[0]))
            claims = json.loads(fixturelib.b64url_decode(parts[1]))
            signature = fixturelib.b64url_decode(parts[2])
        except Exception:
            return oauth_error(400, "invalid_grant", "Invalid ID Token: the token is not a valid JWT.")
        if header.get("alg") != "RS256":
            return oauth_error(400, "invalid_grant", "The ID Token's signature could not be verified.")
        try:
            SUBJECT_PUBLIC_KEY.verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return oauth_error(400, "invalid_grant", "The ID Token's signature could not be verified.")
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
            return oauth_error(400, "invalid_grant", "ID Token expired.")
        issuer = ENV.get("GCP_FIXTURE_SUBJECT_ISSUER")
        if issuer and claims.get("iss") != issuer:
            return oauth_error(400, "invalid_grant", f"The issuer in ID Token {claims.get('iss')} does not match the "
                               "expected ones.")
        allowed = ENV.get("GCP_FIXTURE_SUBJECT_AUDIENCE") or "https:" + audience
        audiences = claims.get("aud") if isinstance(claims.get("aud"), list) else [claims.get("aud")]
        if allowed not in audiences:
            return oauth_error(400, "invalid_grant", "The audience in ID Token does not match the expected audience.")
        return None

    # iamcredentials.googleapis.com
    def generate_access_token(self, email, body):
        self.count("generate_access_token")
        record({"endpoint": "generate_access_token", "service_account": email})
        auth = self.headers.get("Authorization") or ""
        with issued_lock:
            known = auth.startswith("Bearer ") and auth[len("Bearer "):] in issued
        if not known:
            return google_api_error(401, "Request had invalid authentication credentials. Expected OAuth 2 access "
                                    "token, login cookie or other valid authentication credential.", "UNAUTHENTICATED")
        allowed = [s for s in ENV.get("GCP_FIXTURE_IMPERSONATE", "").split(",") if s]
        if email not in allowed:
            return google_api_error(403, "Permission 'iam.serviceAccounts.getAccessToken' denied on resource "
                                    "(or it may not exist).", "PERMISSION_DENIED")
        try:
            request = json.loads(body)
        except Exception:
            return google_api_error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT")
        if CLOUD_PLATFORM not in (request.get("scope") or []):
            return google_api_error(400, "Request contains an invalid argument.", "INVALID_ARGUMENT")
        lifetime = int(str(request.get("lifetime", "3600s")).rstrip("s"))
        lifetime = min(lifetime, EXPIRES_IN)
        expire = datetime.fromtimestamp(time.time() + lifetime, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return 200, {}, {"accessToken": issue("iam"), "expireTime": expire}


if __name__ == "__main__":
    # The Swift test spawns us from a thread that blocks most signals, and the mask is inherited: unblock SIGTERM
    # so FixtureServer.stop()'s terminate() ends us instead of waiting forever.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    fixturelib.serve(Handler)
