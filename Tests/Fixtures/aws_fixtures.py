"""Strict stand-ins for the AWS endpoints moto_server does not cover, in one server (fixturelib.py plumbing).

Usage: python3 aws_fixtures.py [--lifetime SECONDS] [--role NAME] [--region REGION] [--container-path PATH]

  --lifetime SECONDS   lifetime of the ECR tokens it mints (default 43200, ECR's 12 hours); `expiresAt` is
                       now + SECONDS. Every successful GetAuthorizationToken is counted as `mint` at /__counters.
  --role NAME          the IAM role IMDS reports (default ocicred-fixture-role); an empty NAME means "no role
                       attached" (the role list answers 404).
  --region REGION      the region ECR requests must be signed for (default us-east-1, the region of the test
                       hosts), as ECR refuses a credential scoped to another region.
  --container-path P   the container-credentials path (default /v2/credentials/fixture).

Secrets come only from the environment, never from arguments:
  AWS_FIXTURE_ACCESS_KEY_ID / AWS_FIXTURE_SECRET_ACCESS_KEY  the long-lived key pair whose SigV4 signatures the
                       ECR endpoints accept (signatures are recomputed here with hmac/hashlib).
  AWS_FIXTURE_CONTAINER_TOKEN  the Authorization value the container endpoint requires (403 otherwise).
  AWS_FIXTURE_ECR_PASSWORD     the password inside minted tokens (default: ecr-password-<mint number>).

Test control (no signature, not an AWS path):
  POST /__outage?seconds=N        GetAuthorizationToken is unavailable for the next N seconds
  POST /__outage?state=on|off     ... until switched off / no longer
       Either answers {"outage": true|false, "until": <epoch seconds, or null for "until switched off">}.
  While unavailable, a correctly signed GetAuthorizationToken gets what AWS sends when the service is down:
  503, x-amzn-ErrorType: ServiceUnavailableException, {"__type": "ServiceUnavailableException", "message": ...};
  each is counted as `unavailable` at /__counters (requests failing the checks before it get their usual error).

Endpoints:
  PUT  /latest/api/token                          IMDSv2 token; needs X-aws-ec2-metadata-token-ttl-seconds 1..21600
  GET  /latest/meta-data/iam/security-credentials/[ROLE]   needs a valid X-aws-ec2-metadata-token, else 401
  GET  <container-path>                           container credentials; Authorization must match, else 403
  POST / X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken   (signing name ecr)
  POST / X-Amz-Target: SpencerFrontendService.GetAuthorizationToken                  (ecr-public, us-east-1)
  POST / Action=AssumeRoleWithWebIdentity         STS; the token is a JWT whose `exp` must be in the future
                                                  (ExpiredTokenException otherwise, with STS's message)

IMDS, the container endpoint and STS hand out temporary credentials (ASIA…, secret, session token) that the ECR
endpoints then accept only together with their X-Amz-Security-Token.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone

from fixturelib import FixtureHandler, serve

parser = argparse.ArgumentParser()
parser.add_argument("--lifetime", type=int, default=43200)
parser.add_argument("--role", default="ocicred-fixture-role")
parser.add_argument("--region", default="us-east-1")
parser.add_argument("--container-path", default="/v2/credentials/fixture")
ARGS = parser.parse_args()

LOCK = threading.Lock()
# access key id -> (secret, session token or None)
KEYS = {}
if os.environ.get("AWS_FIXTURE_ACCESS_KEY_ID"):
    KEYS[os.environ["AWS_FIXTURE_ACCESS_KEY_ID"]] = (os.environ.get("AWS_FIXTURE_SECRET_ACCESS_KEY", ""), None)
IMDS_TOKENS = {}  # token -> expiry (epoch)
# GetAuthorizationToken is unavailable while time.time() < OUTAGE["until"] (inf: until switched off).
OUTAGE = {"until": 0.0}


def outage_active():
    with LOCK:
        return time.time() < OUTAGE["until"]


def set_outage(method, query):
    """The /__outage control: `seconds=N`, or `state=on|off`."""
    if method != "POST":
        return 405, {}, ""
    params = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
    with LOCK:
        if "seconds" in params:
            try:
                seconds = float(params["seconds"])
            except ValueError:
                return 400, {}, {"error": "seconds must be a number"}
            OUTAGE["until"] = time.time() + seconds
        elif params.get("state") == "on":
            OUTAGE["until"] = float("inf")
        elif params.get("state") == "off":
            OUTAGE["until"] = 0.0
        else:
            return 400, {}, {"error": "give seconds=N or state=on|off"}
        until = OUTAGE["until"]
    active = time.time() < until
    return 200, {}, {"outage": active, "until": None if until == float("inf") else (until if active else None)}


def iso(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def issue_session():
    key_id = "ASIA" + secrets.token_hex(8).upper()
    secret = secrets.token_urlsafe(30)
    token = secrets.token_urlsafe(60)
    with LOCK:
        KEYS[key_id] = (secret, token)
    return {"AccessKeyId": key_id, "SecretAccessKey": secret, "Token": token, "Expiration": iso(time.time() + 3600)}


def json_error(status, code, message):
    return status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}, {
        "__type": code, "message": message}


def xml_error(status, code, message):
    body = ("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>fixture</RequestId></ErrorResponse>")
    return status, {"Content-Type": "text/xml"}, body


def uri_encode(text):
    return urllib.parse.quote(text, safe="-_.~")


class Handler(FixtureHandler):
    def header_values(self, name):
        values = self.headers.get_all(name) or []
        return ",".join(" ".join(v.strip().split()) for v in values)

    def verify_sigv4(self, method, path, query, body, service, region):
        """Returns None when the signature is valid, else an error response (as real ECR words it)."""
        auth = self.headers.get("Authorization")
        if not auth or not auth.startswith("AWS4-HMAC-SHA256 "):
            return json_error(400, "MissingAuthenticationTokenException", "Missing Authentication Token")
        fields = {}
        for part in auth[len("AWS4-HMAC-SHA256 "):].split(","):
            name, _, value = part.strip().partition("=")
            fields[name] = value
        try:
            key_id, day, scope_region, scope_service, terminal = fields["Credential"].split("/")
            signed_headers = fields["SignedHeaders"]
            signature = fields["Signature"]
        except (KeyError, ValueError):
            return json_error(400, "IncompleteSignatureException", "Authorization header is malformed")
        with LOCK:
            known = KEYS.get(key_id)
        if known is None:
            return json_error(400, "UnrecognizedClientException", "The security token included in the request is invalid.")
        secret, session_token = known
        if session_token is not None and self.headers.get("X-Amz-Security-Token") != session_token:
            return json_error(400, "UnrecognizedClientException", "The security token included in the request is invalid.")
        if scope_service != service or terminal != "aws4_request":
            return json_error(400, "InvalidSignatureException", f"Credential should be scoped to correct service: '{service}'.")
        if region and scope_region != region:
            return json_error(400, "InvalidSignatureException",
                              f"Credential should be scoped to a valid region, not '{scope_region}'.")
        amz_date = self.headers.get("X-Amz-Date", "")
        try:
            stamp = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            return json_error(400, "IncompleteSignatureException", "X-Amz-Date is missing or malformed")
        if abs(stamp - time.time()) > 300 or not amz_date.startswith(day):
            return json_error(400, "InvalidSignatureException", "Signature expired: " + amz_date)
        names = signed_headers.split(";")
        if "host" not in names:
            return json_error(400, "InvalidSignatureException", "'Host' must be a signed header")
        canonical_headers = "".join(f"{n}:{self.header_values(n)}\n" for n in names)
        pairs = sorted((uri_encode(urllib.parse.unquote(k)), uri_encode(urllib.parse.unquote(v)))
                       for k, _, v in (p.partition("=") for p in query.split("&") if p))
        canonical_query = "&".join(f"{k}={v}" for k, v in pairs)
        canonical = "\n".join([method, path or "/", canonical_query, canonical_headers, signed_headers,
                               hashlib.sha256(body).hexdigest()])
        scope = f"{day}/{scope_region}/{scope_service}/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key = ("AWS4" + secret).encode()
        for part in (day, scope_region, scope_service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return json_error(400, "InvalidSignatureException",
                              "The request signature we calculated does not match the signature you provided. "
                              "Check your AWS Secret Access Key and signing method.")
        return None

    def route(self, method, path, query, body):
        if path == "/__outage":
            return set_outage(method, query)
        if path == "/latest/api/token":
            if method != "PUT":
                return 405, {}, ""
            if self.headers.get("X-Forwarded-For"):
                return 403, {}, ""
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            if not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return 400, {}, ""
            token = secrets.token_urlsafe(32)
            with LOCK:
                IMDS_TOKENS[token] = time.time() + int(ttl)
            self.count("imds-token")
            return 200, {"X-aws-ec2-metadata-token-ttl-seconds": ttl, "Content-Type": "text/plain"}, token
        if path.startswith("/latest/meta-data/"):
            token = self.headers.get("X-aws-ec2-metadata-token")
            with LOCK:
                valid = token is not None and IMDS_TOKENS.get(token, 0) > time.time()
            if not valid:
                return 401, {}, ""
            prefix = "/latest/meta-data/iam/security-credentials/"
            if path == prefix:
                if not ARGS.role:
                    return 404, {}, ""
                return 200, {"Content-Type": "text/plain"}, ARGS.role
            if ARGS.role and path == prefix + ARGS.role:
                self.count("imds-credentials")
                creds = issue_session()
                return 200, {"Content-Type": "text/plain"}, {
                    "Code": "Success", "LastUpdated": iso(time.time()), "Type": "AWS-HMAC", **creds}
            return 404, {}, ""
        if path == ARGS.container_path:
            expected = os.environ.get("AWS_FIXTURE_CONTAINER_TOKEN")
            if expected is not None and self.headers.get("Authorization") != expected:
                return 403, {}, {"Code": "AccessDenied", "Message": "Authorization token is invalid"}
            self.count("container")
            return 200, {}, issue_session()
        if method == "POST" and path == "/":
            target = self.headers.get("X-Amz-Target")
            if target == "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken":
                return self.get_authorization_token(path, query, body, "ecr", ARGS.region, public=False)
            if target == "SpencerFrontendService.GetAuthorizationToken":
                return self.get_authorization_token(path, query, body, "ecr-public", "us-east-1", public=True)
            form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
            if form.get("Action") == ["AssumeRoleWithWebIdentity"]:
                return self.assume_role_with_web_identity(form)
            return json_error(400, "UnknownOperationException", "unknown operation")
        return 404, {}, ""

    def get_authorization_token(self, path, query, body, service, region, public):
        if self.headers.get("Content-Type") != "application/x-amz-json-1.1":
            return json_error(400, "SerializationException", "Content-Type must be application/x-amz-json-1.1")
        failure = self.verify_sigv4("POST", path, query, body, service, region)
        if failure:
            return failure
        if outage_active():
            self.count("unavailable")
            return json_error(503, "ServiceUnavailableException",
                              "The service is unavailable. Please try again later.")
        number = self.count("mint")
        password = os.environ.get("AWS_FIXTURE_ECR_PASSWORD") or f"ecr-password-{number}"
        token = base64.b64encode(f"AWS:{password}".encode()).decode()
        data = {"authorizationToken": token, "expiresAt": time.time() + ARGS.lifetime}
        if public:
            return 200, {"Content-Type": "application/x-amz-json-1.1"}, {"authorizationData": data}
        data["proxyEndpoint"] = "https://123456789012.dkr.ecr.us-east-1.amazonaws.com"
        return 200, {"Content-Type": "application/x-amz-json-1.1"}, {"authorizationData": [data]}

    def assume_role_with_web_identity(self, form):
        if self.headers.get("Authorization"):
            return xml_error(400, "InvalidAction", "AssumeRoleWithWebIdentity must not be signed")
        for name in ("RoleArn", "RoleSessionName", "WebIdentityToken", "Version"):
            if not form.get(name) or not form[name][0]:
                return xml_error(400, "MissingParameter", f"The request must contain the parameter {name}")
        token = form["WebIdentityToken"][0]
        try:
            payload = token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            exp = int(claims["exp"])
        except Exception:
            return xml_error(400, "InvalidIdentityToken", "Couldn't parse the web identity token")
        # STS trusts a token only from an IAM OIDC provider of the account, for one of its client IDs.
        issuer = os.environ.get("AWS_FIXTURE_WEB_IDENTITY_ISSUER")
        if issuer is None or claims.get("iss") != issuer:
            return xml_error(400, "InvalidIdentityToken",
                             f"No OpenIDConnect provider found in your account for {claims.get('iss')}")
        audiences = claims.get("aud") if isinstance(claims.get("aud"), list) else [claims.get("aud")]
        if "sts.amazonaws.com" not in audiences:
            return xml_error(400, "InvalidIdentityToken", "Incorrect token audience")
        now = int(time.time())
        if exp <= now:
            return xml_error(400, "ExpiredTokenException",
                             f"Token expired: current date/time {now} must be before the expiration date/time{exp}")
        self.count("sts-web-identity")
        creds = issue_session()
        xml = ("<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
               "<AssumeRoleWithWebIdentityResult><Credentials>"
               f"<AccessKeyId>{creds['AccessKeyId']}</AccessKeyId><SecretAccessKey>{creds['SecretAccessKey']}"
               f"</SecretAccessKey><SessionToken>{creds['Token']}</SessionToken>"
               f"<Expiration>{creds['Expiration']}</Expiration></Credentials>"
               f"<AssumedRoleUser><Arn>{form['RoleArn'][0]}/{form['RoleSessionName'][0]}</Arn></AssumedRoleUser>"
               "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>")
        return 200, {"Content-Type": "text/xml"}, xml


if __name__ == "__main__":
    serve(Handler)
