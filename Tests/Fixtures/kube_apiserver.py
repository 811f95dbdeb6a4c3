"""A strict stand-in for the Kubernetes API server, for the calls ocicred's Kubernetes client makes.

Usage: kube_apiserver.py --tls-dir DIR
Environment: KUBE_FIXTURE_TOKENS, comma-separated bearer tokens it accepts (not argv: tokens stay out of `ps`).

At start it makes its own CA and a server certificate for IP 127.0.0.1 / DNS localhost (EC P-256, with the
`cryptography` package) and writes DIR/ca.crt; it serves HTTPS only, like a real API server. As the real one:
- every API request needs `Authorization: Bearer <token>`, else 401 with the `Status` shape;
- Secrets (core/v1) and Leases (coordination.k8s.io/v1): GET, POST (409 AlreadyExists when present), PUT with
  `metadata.resourceVersion` checked (409 Conflict when stale; absent means unconditional, which the API allows
  for these kinds); a Secret's `type` is immutable (422); `kubernetes.io/dockerconfigjson` needs a
  `.dockerconfigjson` key holding JSON (422); data values must be base64; unknown top-level fields and Lease
  spec fields are refused (400, like `fieldValidation=Strict`); MicroTime values need exactly six fractional
  digits (Go's RFC3339Micro layout);
- namespaces: list, paginated with `limit` / `continue`;
- serviceaccounts: GET, PATCH with `application/merge-patch+json` only (RFC 7386), resourceVersion checked.
Every (verb, resource) served to an authenticated client is recorded. Test controls (no auth, under /__):
  GET  /__calls              -> [{"verb","group","resource"}...] sorted
  POST /__calls/reset
  POST /__tokens             {"tokens": [...]} replaces the accepted tokens
  POST /__seed               an object (Secret/Lease/ServiceAccount) stored as is (a Secret of another type)
  POST /__touch_after_get    {"resource","namespace","name","times"}: after each of the next `times` GETs of
                             that object, another writer changes it (annotation other-writer/touched, new rv)
  GET  /__object?resource=&namespace=&name=
  POST /__namespaces         {"add": [...]}: more namespaces, each with its `default` ServiceAccount (as the
                             namespace controller makes it); the list stays in creation order
  POST /__forbid             {"verb","group","resource"[,"namespace"]}: RBAC denies that call from now on (403 with
                             the API server's Forbidden Status); without "namespace" it is denied everywhere
"""
import base64
import datetime
import ipaddress
import json
import os
import re
import signal
import ssl
import sys
import threading
import uuid
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import fixturelib
from fixturelib import FixtureHandler

LOCK = threading.Lock()
OBJECTS = {}  # (resource, namespace, name) -> object
NAMESPACES = ["default", "kube-system", "ocicred", "team-a", "team-b"]
CALLS = set()
TOKENS = set(t for t in os.environ.get("KUBE_FIXTURE_TOKENS", "").split(",") if t)
TOUCH = {}  # (resource, namespace, name) -> remaining count
FORBIDDEN = []  # [{"verb", "group", "resource", "namespace"?}]: calls RBAC denies
USER = "system:serviceaccount:ocicred:ocicred"
RV = [100]

KINDS = {
    "secrets": ("", "v1", "Secret"),
    "serviceaccounts": ("", "v1", "ServiceAccount"),
    "leases": ("coordination.k8s.io", "coordination.k8s.io/v1", "Lease"),
}
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DATA_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
MICRO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$")
SECRET_FIELDS = {"apiVersion", "kind", "metadata", "type", "data", "stringData", "immutable"}
LEASE_FIELDS = {"apiVersion", "kind", "metadata", "spec"}
LEASE_SPEC = {"holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime", "leaseTransitions",
              "preferredHolder", "strategy"}


def next_rv():
    RV[0] += 1
    return str(RV[0])


def status(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
    if details:
        body["details"] = details
    return code, {}, body


def stamp(obj, resource, namespace, name, previous=None):
    group, api_version, kind = KINDS[resource]
    meta = obj.setdefault("metadata", {})
    meta["name"] = name
    meta["namespace"] = namespace
    meta["uid"] = previous["metadata"]["uid"] if previous else str(uuid.uuid4())
    meta["creationTimestamp"] = previous["metadata"]["creationTimestamp"] if previous else \
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    meta["resourceVersion"] = next_rv()
    obj["apiVersion"], obj["kind"] = api_version, kind
    if resource == "secrets":
        obj.setdefault("type", "Opaque")
    if resource == "serviceaccounts":
        pass
    OBJECTS[(resource, namespace, name)] = obj
    return obj


def seed():
    for namespace in NAMESPACES:
        stamp({"metadata": {}}, "serviceaccounts", namespace, "default")


def forbidden(verb, group, resource, namespace, name):
    """The API server's 403 for a call RBAC denies (its wording, kube-apiserver's forbidden()), else None."""
    for rule in FORBIDDEN:
        if (rule["verb"], rule.get("group", ""), rule["resource"]) != (verb, group, resource):
            continue
        if rule.get("namespace") not in (None, namespace):
            continue
        subject = f'{resource}.{group}' if group else resource
        subject = f'{subject} "{name}"' if name else subject
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        details = {"kind": resource}
        if name:
            details["name"] = name
        if group:
            details["group"] = group
        return status(403, "Forbidden", f'{subject} is forbidden: User "{USER}" cannot {verb} resource '
                      f'"{resource}" in API group "{group}" {scope}', details)
    return None


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def validate(resource, obj, name):
    """Returns an error response or None."""
    group, api_version, kind = KINDS[resource]
    if obj.get("apiVersion") != api_version or obj.get("kind") != kind:
        return status(400, "BadRequest", f"the object is not a {kind} of {api_version}: "
                      f"kind={obj.get('kind')!r} apiVersion={obj.get('apiVersion')!r}")
    if not NAME.match(name or "") or len(name) > 253:
        return status(422, "Invalid", f'{kind} "{name}" is invalid: metadata.name: Invalid value')
    if resource == "secrets":
        unknown = set(obj) - SECRET_FIELDS
        if unknown:
            return status(400, "BadRequest", f'strict decoding error: unknown field "{sorted(unknown)[0]}"')
        data = obj.get("data") or {}
        if not isinstance(data, dict):
            return status(400, "BadRequest", "data must be an object")
        for key, value in data.items():
            if not DATA_KEY.match(key):
                return status(422, "Invalid", f'Secret "{name}" is invalid: data[{key}]: Invalid value')
            try:
                base64.b64decode(value, validate=True)
            except Exception:
                return status(400, "BadRequest", f"illegal base64 data in data[{key}]")
        if obj.get("type") == "kubernetes.io/dockerconfigjson":
            raw = data.get(".dockerconfigjson")
            if raw is None:
                return status(422, "Invalid", f'Secret "{name}" is invalid: data[.dockerconfigjson]: Required value')
            try:
                json.loads(base64.b64decode(raw))
            except Exception:
                return status(422, "Invalid", f'Secret "{name}" is invalid: data[.dockerconfigjson]: Invalid value: '
                              '"<secret contents redacted>": invalid character')
    if resource == "leases":
        unknown = set(obj) - LEASE_FIELDS
        spec = obj.get("spec") or {}
        unknown |= set(spec) - LEASE_SPEC
        if unknown:
            return status(400, "BadRequest", f'strict decoding error: unknown field "{sorted(unknown)[0]}"')
        for key in ("acquireTime", "renewTime"):
            if key in spec and not (isinstance(spec[key], str) and MICRO.match(spec[key])):
                return status(400, "BadRequest", f"spec.{key}: parsing time {json.dumps(spec[key])} as "
                              '"2006-01-02T15:04:05.000000Z07:00": cannot parse')
        for key in ("leaseDurationSeconds", "leaseTransitions"):
            if key in spec and not isinstance(spec[key], int):
                return status(400, "BadRequest", f"spec.{key} must be an integer")
        if spec.get("leaseDurationSeconds", 1) <= 0:
            return status(422, "Invalid", "spec.leaseDurationSeconds: must be greater than 0")
    return None


class Handler(FixtureHandler):
    def do_PATCH(self):
        self._handle("PATCH")

    def handle(self):
        # A client that rejects our certificate aborts the handshake: that is a test passing, not an error.
        try:
            super().handle()
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            pass

    def route(self, method, path, query, body):
        with LOCK:
            if path.startswith("/__"):
                return self.control(method, path, query, body)
            authorization = self.headers.get("Authorization", "")
            if not authorization.startswith("Bearer ") or authorization[7:] not in TOKENS:
                self.count("unauthorized")
                return status(401, "Unauthorized", "Unauthorized")
            return self.api(method, path, query, body)

    def control(self, method, path, query, body):
        if path == "/__calls" and method == "GET":
            return 200, {}, [{"verb": v, "group": g, "resource": r} for (v, g, r) in sorted(CALLS)]
        if path == "/__calls/reset" and method == "POST":
            CALLS.clear()
            return 200, {}, {}
        if path == "/__tokens" and method == "POST":
            TOKENS.clear()
            TOKENS.update(json.loads(body)["tokens"])
            return 200, {}, {}
        if path == "/__seed" and method == "POST":
            obj = json.loads(body)
            resource = {"Secret": "secrets", "Lease": "leases", "ServiceAccount": "serviceaccounts"}[obj["kind"]]
            meta = obj["metadata"]
            previous = OBJECTS.get((resource, meta["namespace"], meta["name"]))
            return 200, {}, stamp(obj, resource, meta["namespace"], meta["name"], previous)
        if path == "/__touch_after_get" and method == "POST":
            spec = json.loads(body)
            TOUCH[(spec["resource"], spec["namespace"], spec["name"])] = spec.get("times", 1)
            return 200, {}, {}
        if path == "/__namespaces" and method == "POST":
            for namespace in json.loads(body).get("add", []):
                if not NAME.match(namespace) or len(namespace) > 63:
                    return 400, {}, {"error": f"not a namespace name: {namespace!r}"}
                if namespace not in NAMESPACES:
                    NAMESPACES.append(namespace)
                    stamp({"metadata": {}}, "serviceaccounts", namespace, "default")
            return 200, {}, {"namespaces": NAMESPACES}
        if path == "/__forbid" and method == "POST":
            rule = json.loads(body)
            if not isinstance(rule, dict) or not rule.get("verb") or not rule.get("resource"):
                return 400, {}, {"error": "give verb, resource, and optionally group and namespace"}
            FORBIDDEN.append(rule)
            return 200, {}, {}
        if path == "/__object" and method == "GET":
            q = {k: v[0] for k, v in parse_qs(query).items()}
            obj = OBJECTS.get((q["resource"], q["namespace"], q["name"]))
            return (200, {}, obj) if obj else status(404, "NotFound", "not found")
        return 404, {}, {"error": "unknown control " + path}

    def api(self, method, path, query, body):
        segments = [unquote(s) for s in path.strip("/").split("/")]
        params = {k: v[0] for k, v in parse_qs(query).items()}
        if segments == ["api", "v1", "namespaces"]:
            if method != "GET":
                return status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            CALLS.add(("list", "", "namespaces"))
            denied = forbidden("list", "", "namespaces", None, None)
            if denied:
                return denied
            limit = int(params.get("limit", "0") or 0)
            offset = int(base64.b64decode(params["continue"]).decode()) if params.get("continue") else 0
            names = NAMESPACES[offset:offset + limit] if limit else NAMESPACES[offset:]
            rest = offset + len(names)
            meta = {"resourceVersion": str(RV[0])}
            if rest < len(NAMESPACES):
                meta["continue"] = base64.b64encode(str(rest).encode()).decode()
            items = [{"metadata": {"name": n, "resourceVersion": "1"}, "spec": {"finalizers": ["kubernetes"]},
                      "status": {"phase": "Active"}} for n in names]
            return 200, {}, {"kind": "NamespaceList", "apiVersion": "v1", "metadata": meta, "items": items}
        if len(segments) >= 5 and segments[:3] == ["api", "v1", "namespaces"]:
            namespace, resource, rest = segments[3], segments[4], segments[5:]
            group = ""
        elif len(segments) >= 6 and segments[:4] == ["apis", "coordination.k8s.io", "v1", "namespaces"]:
            namespace, resource, rest = segments[4], segments[5], segments[6:]
            group = "coordination.k8s.io"
        else:
            return status(404, "NotFound", "the server could not find the requested resource")
        if resource not in KINDS or KINDS[resource][0] != group or len(rest) > 1:
            return status(404, "NotFound", "the server could not find the requested resource")
        name = rest[0] if rest else None
        verb = {("GET", True): "get", ("GET", False): "list", ("POST", False): "create", ("PUT", True): "update",
                ("PATCH", True): "patch", ("DELETE", True): "delete"}.get((method, name is not None))
        if verb is None:
            return status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        CALLS.add((verb, group, resource))
        # Authorization comes before the namespace lookup, as in the API server's handler chain.
        denied = forbidden(verb, group, resource, namespace, name)
        if denied:
            return denied
        if namespace not in NAMESPACES:
            return status(404, "NotFound", f'namespaces "{namespace}" not found',
                          {"name": namespace, "kind": "namespaces"})
        key = (resource, namespace, name)
        details = {"name": name, "kind": resource} if name else None
        if group:
            details = details and {**details, "group": group}
        current = OBJECTS.get(key)
        if verb == "get":
            if current is None:
                return status(404, "NotFound", f'{resource}.{group} "{name}" not found' if group else
                              f'{resource} "{name}" not found', details)
            answer = json.loads(json.dumps(current))
            if TOUCH.get(key, 0) > 0:
                TOUCH[key] -= 1
                touched = json.loads(json.dumps(current))
                annotations = touched["metadata"].setdefault("annotations", {})
                annotations["other-writer/touched"] = str(int(annotations.get("other-writer/touched", "0")) + 1)
                stamp(touched, resource, namespace, name, current)
            return 200, {}, answer
        if verb in ("create", "update"):
            if verb == "update" or verb == "create":
                if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
                    return status(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                                  "accepted media types include: application/json, application/yaml, "
                                  "application/vnd.kubernetes.protobuf")
            try:
                obj = json.loads(body)
                assert isinstance(obj, dict)
            except Exception:
                return status(400, "BadRequest", "the request body is not a JSON object")
            meta = obj.get("metadata") or {}
            if meta.get("namespace") not in (None, namespace):
                return status(400, "BadRequest", "the namespace of the provided object does not match the namespace "
                              "sent on the request")
            object_name = meta.get("name")
            if verb == "update" and object_name != name:
                return status(400, "BadRequest", f"the name of the object ({object_name}) does not match the name on "
                              f"the URL ({name})")
            error = validate(resource, obj, object_name)
            if error:
                return error
            if verb == "create":
                key = (resource, namespace, object_name)
                if key in OBJECTS:
                    return status(409, "AlreadyExists", f'{resource} "{object_name}" already exists',
                                  {"name": object_name, "kind": resource})
                if meta.get("resourceVersion"):
                    return status(400, "BadRequest", "resourceVersion should not be set on objects to be created")
                return 201, {}, stamp(obj, resource, namespace, object_name)
            if current is None:
                return status(404, "NotFound", f'{resource} "{name}" not found', details)
            if meta.get("resourceVersion") and meta["resourceVersion"] != current["metadata"]["resourceVersion"]:
                return self.conflict(resource, name, details)
            if resource == "secrets" and obj.get("type", "Opaque") != current.get("type", "Opaque"):
                return status(422, "Invalid", f'Secret "{name}" is invalid: type: Invalid value: '
                              f'"{obj.get("type")}": field is immutable', details)
            return 200, {}, stamp(obj, resource, namespace, name, current)
        if verb == "patch":
            if resource != "serviceaccounts":
                return status(405, "MethodNotAllowed", "patch is served for serviceaccounts only by this fixture")
            if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/merge-patch+json":
                return status(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                              "accepted media types include: application/json-patch+json, "
                              "application/merge-patch+json, application/apply-patch+yaml")
            if current is None:
                return status(404, "NotFound", f'{resource} "{name}" not found', details)
            try:
                patch = json.loads(body)
                assert isinstance(patch, dict)
            except Exception:
                return status(400, "BadRequest", "the patch is not a JSON object")
            version = (patch.get("metadata") or {}).get("resourceVersion")
            if version and version != current["metadata"]["resourceVersion"]:
                return self.conflict(resource, name, details)
            merged = merge_patch(current, patch)
            for entry in merged.get("imagePullSecrets") or []:
                if not isinstance(entry, dict) or not entry.get("name") or set(entry) != {"name"}:
                    return status(422, "Invalid", "imagePullSecrets entries must be {\"name\": ...}")
            return 200, {}, stamp(merged, resource, namespace, name, current)
        return status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    @staticmethod
    def conflict(resource, name, details):
        return status(409, "Conflict", f'Operation cannot be fulfilled on {resource} "{name}": the object has been '
                      "modified; please apply your changes to the latest version and try again", details)


def make_tls(directory):
    """A CA and a server certificate it signs, valid for 127.0.0.1 and localhost; DIR/ca.crt for the client."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-fixture-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    with open(os.path.join(directory, "ca.crt"), "wb") as handle:
        handle.write(ca.public_bytes(pem))
    with open(os.path.join(directory, "server.crt"), "wb") as handle:
        handle.write(cert.public_bytes(pem))
    with os.fdopen(os.open(os.path.join(directory, "server.key"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                   "wb") as handle:
        handle.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(directory, "server.crt"), os.path.join(directory, "server.key"))
    return context


class TLSServer(ThreadingHTTPServer):
    """The handshake runs on the handler's thread at its first read, so a client that aborts it (a test without
    the CA) cannot stall the accept loop."""

    context = None
    daemon_threads = True

    def get_request(self):
        sock, address = super().get_request()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address


def main():
    # As fixturelib.serve, but HTTPS: a dispatch thread's blocked SIGTERM is inherited; take it back.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    if len(sys.argv) != 3 or sys.argv[1] != "--tls-dir":
        sys.exit("usage: kube_apiserver.py --tls-dir DIR")
    TLSServer.context = make_tls(sys.argv[2])
    seed()
    server = TLSServer(("127.0.0.1", 0), Handler)
    fixturelib.run(server)


if __name__ == "__main__":
    main()
