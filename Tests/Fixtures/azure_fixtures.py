"""Strict stand-ins for Microsoft Entra ID, the managed-identity endpoint and ACR's token exchange.

One server answers, on 127.0.0.1:
  POST /<tenant>/oauth2/v2.0/token     Entra ID v2.0, client-credentials grant with a client secret or with a
                                       federated client assertion (its RS256 signature verified with the PUBLIC key
                                       the test gives; exp and aud checked).
  GET  /metadata/identity/oauth2/token IMDS managed identity; requires `Metadata: true`.
  POST /oauth2/exchange                ACR: an AAD token this fixture issued → {"refresh_token": <JWT with exp>}.
  GET  /__seen                         what the token endpoint was asked (client, tenant, assertion), in order.

Configuration (environment):
  AZURE_FIXTURE_TENANT, AZURE_FIXTURE_CLIENT_ID, AZURE_FIXTURE_CLIENT_SECRET   the service principal.
  AZURE_FIXTURE_ASSERTION_PUBLIC_KEY   path of the federated token issuer's public key (PEM), public half only.
  AZURE_FIXTURE_ASSERTION_ISSUER       the issuer the federated identity credentials name; an assertion whose
                                       `iss` differs is refused (AADSTS70021), and so is every assertion when unset.
  AZURE_FIXTURE_FEDERATED_CREDENTIALS  JSON {"<client id>": "<subject>"}: applications with a federated identity
                                       credential trusting one subject (`system:serviceaccount:NS:NAME`); an
                                       assertion for such a client must carry that `sub`, as Entra ID requires.
  AZURE_FIXTURE_MI_CLIENT_ID           the managed identity's client id (user-assigned requests must name it).
  AZURE_FIXTURE_REGISTRY               the registry (`service`) the exchange serves.
  AZURE_FIXTURE_REFRESH_LIFETIME       seconds the ACR refresh token lives, default 10800.
  AZURE_FIXTURE_REFRESH_TOKEN          when set, the exchange answers this fixed refresh token (after all its
                                       checks) instead of a fresh JWT, so a golden file can hold it. A value that
                                       is not a JWT carries no `exp`: clients then assume ACR's 3-hour lifetime and
                                       AZURE_FIXTURE_REFRESH_LIFETIME does not apply.
Errors have the real services' shapes (AADSTS codes in error_description and error_codes).
"""
import base64
import json
import os
import secrets
import signal
import threading
import time
import urllib.parse
import uuid
from datetime import datetime, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

import fixturelib

ENV = os.environ
SCOPE = "https://containerregistry.azure.net/.default"
RESOURCE = "https://containerregistry.azure.net"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FEDERATED_AUDIENCE = "api://AzureADTokenExchange"
TENANT = ENV.get("AZURE_FIXTURE_TENANT", "")
PUBLIC_KEY = fixturelib.public_key_from("AZURE_FIXTURE_ASSERTION_PUBLIC_KEY")

ASSERTION_ISSUER = ENV.get("AZURE_FIXTURE_ASSERTION_ISSUER")
FEDERATED = json.loads(ENV.get("AZURE_FIXTURE_FEDERATED_CREDENTIALS") or "{}")

issued = set()
issued_lock = threading.Lock()
seen = []


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fake_jwt(claims):
    """A JWT-shaped token (this fixture is its only verifier, by lookup)."""
    header = {"alg": "RS256", "typ": "JWT", "kid": "fixture"}
    return ".".join([b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode()),
                     b64url(secrets.token_bytes(32))])


def issue_aad(subject):
    now = int(time.time())
    token = fake_jwt({"aud": RESOURCE, "iss": f"https://sts.windows.net/{TENANT}/", "iat": now, "nbf": now,
                      "exp": now + 3599, "tid": TENANT, "oid": subject, "sub": subject})
    with issued_lock:
        issued.add(token)
    return token


def aad_error(status, error, code, description):
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    trace, correlation = uuid.uuid4(), uuid.uuid4()
    return status, {}, {
        "error": error,
        "error_description": f"AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {correlation} "
                             f"Timestamp: {stamp}",
        "error_codes": [code], "timestamp": stamp, "trace_id": str(trace), "correlation_id": str(correlation),
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


class Handler(fixturelib.FixtureHandler):
    def route(self, method, path, query, body):
        if method == "POST" and path.endswith("/oauth2/v2.0/token"):
            return self.aad_token(urllib.parse.unquote(path[1:-len("/oauth2/v2.0/token")]), body)
        if method == "GET" and path == "/metadata/identity/oauth2/token":
            return self.imds(query)
        if method == "GET" and path == "/__seen":
            with issued_lock:
                return 200, {}, list(seen)
        if method == "POST" and path == "/oauth2/exchange":
            return self.exchange(body)
        return 404, {"Content-Type": "text/plain"}, "Not Found\n"

    def aad_token(self, tenant, body):
        self.count("aad_token")
        if tenant != TENANT:
            return aad_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found. Check to make sure you "
                             "have the correct tenant ID and are signing into the correct cloud.")
        form = self.form(body)
        if form is None:
            return aad_error(400, "invalid_request", 900144, "The request body must contain the following "
                             "parameter: 'grant_type'.")
        if form.get("grant_type") != "client_credentials":
            return aad_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        client_id = form.get("client_id")
        with issued_lock:
            seen.append({"tenant": tenant, "client_id": client_id, "client_assertion": form.get("client_assertion")})
        if client_id != ENV.get("AZURE_FIXTURE_CLIENT_ID") and client_id not in FEDERATED:
            return aad_error(400, "unauthorized_client", 700016, f"Application with identifier '{client_id}' was not "
                             f"found in the directory '{tenant}'.")
        if form.get("scope") != SCOPE:
            return aad_error(400, "invalid_scope", 1002012, f"The provided value for scope {form.get('scope')} is "
                             "not valid.")
        if "client_secret" in form:
            if client_id != ENV.get("AZURE_FIXTURE_CLIENT_ID") or form["client_secret"] != ENV.get(
                "AZURE_FIXTURE_CLIENT_SECRET"
            ):
                return aad_error(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret "
                                 f"being sent in the request is the client secret value, not the client secret ID, "
                                 f"for a secret added to app '{client_id}'.")
        elif "client_assertion" in form:
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                return aad_error(400, "invalid_request", 70002, "The client_assertion_type is not supported.")
            failure = self.check_assertion(form["client_assertion"], client_id)
            if failure:
                return failure
        else:
            return aad_error(401, "invalid_client", 7000218, "The request body must contain the following parameter: "
                             "'client_assertion' or 'client_secret'.")
        return 200, {}, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                         "access_token": issue_aad(client_id)}

    def check_assertion(self, assertion, client_id):
        parts = assertion.split(".")
        try:
            header = json.loads(fixturelib.b64url_decode(parts[0]))
            claims = json.loads(fixturelib.b64url_decode(parts[1]))
            signature = fixturelib.b64url_decode(parts[2])
        except Exception:
            return aad_error(401, "invalid_client", 50027, "JWT token is invalid or malformed.")
        if header.get("alg") != "RS256" or PUBLIC_KEY is None:
            return aad_error(401, "invalid_client", 700027, "Client assertion failed signature validation.")
        try:
            PUBLIC_KEY.verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return aad_error(401, "invalid_client", 700027, "Client assertion failed signature validation.")
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
            return aad_error(400, "invalid_client", 700024, "Client assertion is not within its valid time range.")
        if ASSERTION_ISSUER is None or claims.get("iss") != ASSERTION_ISSUER:
            return aad_error(400, "invalid_request", 70021, "No matching federated identity record found for "
                             f"presented assertion issuer '{claims.get('iss')}'.")
        audiences = claims.get("aud") if isinstance(claims.get("aud"), list) else [claims.get("aud")]
        if FEDERATED_AUDIENCE not in audiences:
            return aad_error(400, "invalid_request", 700212, "No matching federated identity record found for "
                             "presented assertion audience.")
        if client_id in FEDERATED and claims.get("sub") != FEDERATED[client_id]:
            return aad_error(400, "invalid_request", 70021, "No matching federated identity record found for "
                             f"presented assertion. Assertion Issuer: '{claims.get('iss')}'. Assertion Subject: "
                             f"'{claims.get('sub')}'. Assertion Audience: '{FEDERATED_AUDIENCE}'.")
        return None

    def imds(self, query):
        self.count("imds")
        if self.headers.get("Metadata") != "true":
            return 400, {}, {"error": "invalid_request", "error_description": "Required metadata header not specified"}
        params = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
        if params.get("api-version") != "2018-02-01":
            return 400, {}, {"error": "invalid_request", "error_description": "Invalid or missing api-version"}
        if params.get("resource") != RESOURCE:
            return 400, {}, {"error": "invalid_resource", "error_description": "AADSTS500011: The resource principal "
                             f"named {params.get('resource')} was not found in the tenant."}
        mi_client = ENV.get("AZURE_FIXTURE_MI_CLIENT_ID", "")
        if "client_id" in params and params["client_id"] != mi_client:
            return 400, {}, {"error": "invalid_request", "error_description": "Identity not found"}
        now = int(time.time())
        return 200, {}, {
            "access_token": issue_aad("managed-identity"), "client_id": mi_client, "expires_in": "86399",
            "expires_on": str(now + 86399), "ext_expires_in": "86399", "not_before": str(now),
            "resource": RESOURCE, "token_type": "Bearer",
        }

    def exchange(self, body):
        self.count("exchange")
        form = self.form(body)
        if form is None or form.get("grant_type") != "access_token":
            return 400, {}, {"errors": [{"code": "UNSUPPORTED", "message": "grant_type must be access_token"}]}
        if form.get("service") != ENV.get("AZURE_FIXTURE_REGISTRY"):
            return 400, {}, {"errors": [{"code": "DENIED", "message": f"invalid service {form.get('service')}"}]}
        if "tenant" in form and form["tenant"] != TENANT:
            return 401, {}, {"errors": [{"code": "UNAUTHORIZED", "message": "tenant does not match the token"}]}
        with issued_lock:
            known = form.get("access_token") in issued
        if not known:
            return 401, {}, {"errors": [{"code": "UNAUTHORIZED", "message": "The access token is invalid."}]}
        if ENV.get("AZURE_FIXTURE_REFRESH_TOKEN"):
            return 200, {}, {"refresh_token": ENV["AZURE_FIXTURE_REFRESH_TOKEN"]}
        now = int(time.time())
        lifetime = int(ENV.get("AZURE_FIXTURE_REFRESH_LIFETIME", "10800"))
        refresh = fake_jwt({"jti": str(uuid.uuid4()), "sub": "fixture", "nbf": now, "iat": now,
                            "exp": now + lifetime, "iss": "Azure Container Registry",
                            "aud": form.get("service"), "version": "1.0", "grant_type": "refresh_token",
                            "tenant": TENANT})
        return 200, {}, {"refresh_token": refresh}


if __name__ == "__main__":
    # The Swift test spawns us from a thread that blocks most signals, and the mask is inherited: unblock SIGTERM
    # so FixtureServer.stop()'s terminate() ends us instead of waiting forever.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    fixturelib.serve(Handler)
