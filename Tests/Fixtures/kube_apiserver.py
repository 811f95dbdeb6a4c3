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
- Leases allow no unconditional update: a PUT without `metadata.resourceVersion` is 422 Invalid, as the API
  server's lease strategy answers (AllowUnconditionalUpdate false);
- namespaces (cluster-scoped objects with labels), secrets and serviceaccounts: list (namespaced or across all
  namespaces), paginated with `limit` / `continue`, filtered by `labelSelector` (=, ==, !=, in, notin, exists,
  !exists; anything else 400) and `fieldSelector` (metadata.name, metadata.namespace; other fields 400);
- watch (`?watch=true`, the list URL), as the API server serves it: HTTP/1.1 chunked `application/json`, one
  `{"type","object"}` event per line. `resourceVersion` unset or "0" starts with a synthetic ADDED per current
  object; "N" replays every change after N; N older than the last compaction (`/__compact`) answers 200 with one
  ERROR event holding the 410 Expired Status ("too old resource version"), then ends. With
  `allowWatchBookmarks=true`, a BOOKMARK (the kind with only metadata.resourceVersion) every bookmark interval.
  `timeoutSeconds` ends the stream cleanly; a change that makes an object stop (start) matching the selectors is
  sent as DELETED (ADDED), as the watch cache does;
- secrets: DELETE;
- /version and discovery (/api, /apis, /api/v1, /apis/coordination.k8s.io/v1), so kubectl can map its resource names;
- serviceaccounts: GET, PATCH with `application/merge-patch+json` only (RFC 7386), resourceVersion checked.
- mutatingwebhookconfigurations (admissionregistration.k8s.io/v1, cluster-scoped): GET and PUT, resourceVersion
  checked, validated as the API server does (webhook names with three segments, exactly one of url/service, a
  base64 caBundle, admissionReviewVersions with v1, sideEffects None/NoneOnDryRun, failurePolicy, timeoutSeconds
  1..30, rules; unknown fields refused); `/__seed` of one is checked the same way;
- secrets of type kubernetes.io/tls need tls.crt and tls.key (422).
Every (verb, resource) served to an authenticated client is recorded. Test controls (no auth, under /__):
  GET  /__calls              -> [{"verb","group","resource"}...] sorted
  GET  /__call_counts        -> [{"verb","group","resource","count"}...]: requests per call since the last reset
  POST /__calls/reset        clears both
  POST /__tokens             {"tokens": [...]} replaces the accepted tokens
  POST /__seed               an object (Secret/Lease/ServiceAccount/MutatingWebhookConfiguration) stored as is (a
                             Secret of another type)
  POST /__touch_after_get    {"resource","namespace","name","times"}: after each of the next `times` GETs of
                             that object, another writer changes it (annotation other-writer/touched, new rv)
  GET  /__object?resource=&namespace=&name=
  POST /__namespaces         {"add": [...], "accounts": [...], "remove": [...], "labels": {ns: {k: v|null}}}: more
                             namespaces, each with its `default` ServiceAccount (as the namespace controller makes
                             it) and those `accounts` name, in creation
                             order; removed ones take their objects with them; labels merged (null removes)
  POST /__delete             {"resource","namespace","name"}: another client deletes the object
  POST /__watch              {"bookmarkSeconds": s}: the interval between bookmarks (default 60, as the API server)
  POST /__watch/close        ends every open watch now (an API server restart; clients reconnect)
  POST /__compact            history is compacted at the current resourceVersion (after one unrelated write) and
                             every open watch ends: resuming from any resourceVersion seen before gets 410
  GET  /__watches            -> {"open": n}: watch streams being served now
  GET  /__events             -> every Event created (core/v1, create only: generateName, strict fields)
  GET  /__summary?name=&namespace=  -> {"secrets", "accounts", "patched"}: Secrets of that name, ServiceAccounts,
                             and those naming it in imagePullSecrets (in one namespace, or all); for benchmarks
  POST /__forbid             {"verb","group","resource"[,"namespace"]}: RBAC denies that call from now on (403 with
                             the API server's Forbidden Status); without "namespace" it is denied everywhere
  POST /__forbid/reset       lifts every such denial
  POST /__rbac               {"objects": [Role, ClusterRole, RoleBinding, ClusterRoleBinding...], "namespace",
                             "serviceAccount"}: from now on every call is authorized as the API server's RBAC
                             authorizer would for that service account (403 otherwise), per binding and namespace
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
import bisect
import threading
import time
import uuid
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import fixturelib
from fixturelib import FixtureHandler, TLSFixtureHandler

LOCK = threading.Condition()  # also signals watchers that EVENTS grew or watches must end
OBJECTS = {}  # (resource, namespace, name) -> object; namespaces are ("namespaces", "", name)
NAMESPACES = ["default", "kube-system", "ocicred", "team-a", "team-b"]
CALLS = set()
CALL_COUNTS = {}  # (verb, group, resource) -> requests since the last reset
EVENTS = []  # {"rv", "type", "resource", "namespace", "object", "previous"} in resourceVersion order
EVENT_RVS = []  # the rv of each entry of EVENTS, for bisect
COMPACTED = [0]  # watches from a resourceVersion below this get 410 Expired
WATCH = {"bookmarkSeconds": 60.0, "generation": 0, "open": 0}
TOKENS = set(t for t in os.environ.get("KUBE_FIXTURE_TOKENS", "").split(",") if t)
TOUCH = {}  # (resource, namespace, name) -> remaining count
FORBIDDEN = []  # [{"verb", "group", "resource", "namespace"?}]: calls RBAC denies
USER = "system:serviceaccount:ocicred:ocicred"
RBAC_STATE = {"objects": None, "serviceAccount": ("ocicred", "ocicred")}  # None: every call is allowed
RV = [100]

KINDS = {
    "secrets": ("", "v1", "Secret"),
    "events": ("", "v1", "Event"),
    "serviceaccounts": ("", "v1", "ServiceAccount"),
    "leases": ("coordination.k8s.io", "coordination.k8s.io/v1", "Lease"),
    "namespaces": ("", "v1", "Namespace"),
    "mutatingwebhookconfigurations": ("admissionregistration.k8s.io", "admissionregistration.k8s.io/v1",
                                      "MutatingWebhookConfiguration"),
}
LIST_KINDS = {"secrets", "serviceaccounts", "namespaces"}
CLUSTER_SCOPED = {"namespaces", "mutatingwebhookconfigurations"}
WEBHOOK_CONFIGURATION_FIELDS = {"apiVersion", "kind", "metadata", "webhooks"}
WEBHOOK_FIELDS = {"name", "clientConfig", "rules", "failurePolicy", "matchPolicy", "namespaceSelector",
                  "objectSelector", "sideEffects", "timeoutSeconds", "admissionReviewVersions", "reinvocationPolicy",
                  "matchConditions"}
RULE_FIELDS = {"operations", "apiGroups", "apiVersions", "resources", "scope"}
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DATA_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
MICRO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$")
SECRET_FIELDS = {"apiVersion", "kind", "metadata", "type", "data", "stringData", "immutable"}
LEASE_FIELDS = {"apiVersion", "kind", "metadata", "spec"}
EVENT_FIELDS = {"apiVersion", "kind", "metadata", "involvedObject", "reason", "message", "source", "firstTimestamp",
                "lastTimestamp", "count", "type", "eventTime", "series", "action", "related", "reportingComponent",
                "reportingInstance"}
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


def record(kind_of_change, resource, namespace, obj, previous):
    rv = int(obj["metadata"]["resourceVersion"])
    EVENTS.append({"rv": rv, "type": kind_of_change, "resource": resource, "namespace": namespace,
                   "object": json.loads(json.dumps(obj)), "previous": previous and json.loads(json.dumps(previous))})
    EVENT_RVS.append(rv)
    LOCK.notify_all()


def remove(resource, namespace, name):
    """Deletes the object and records DELETED with a new resourceVersion, as the API server does."""
    current = OBJECTS.pop((resource, namespace, name), None)
    if current is None:
        return None
    gone = json.loads(json.dumps(current))
    gone["metadata"]["resourceVersion"] = next_rv()
    record("DELETED", resource, namespace, gone, current)
    return gone


def stamp(obj, resource, namespace, name, previous=None):
    group, api_version, kind = KINDS[resource]
    meta = obj.setdefault("metadata", {})
    meta["name"] = name
    if resource == "mutatingwebhookconfigurations":
        meta.pop("namespace", None)
    elif resource == "namespaces":
        meta.pop("namespace", None)
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj.setdefault("status", {"phase": "Active"})
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
    else:
        meta["namespace"] = namespace
    meta["uid"] = previous["metadata"]["uid"] if previous else str(uuid.uuid4())
    meta["creationTimestamp"] = previous["metadata"]["creationTimestamp"] if previous else \
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    meta["resourceVersion"] = next_rv()
    obj["apiVersion"], obj["kind"] = api_version, kind
    if resource == "secrets":
        obj.setdefault("type", "Opaque")
    OBJECTS[(resource, namespace, name)] = obj
    record("MODIFIED" if previous else "ADDED", resource, namespace, obj, previous)
    return obj


def add_namespace(namespace):
    stamp({"metadata": {}}, "namespaces", "", namespace)
    stamp({"metadata": {}}, "serviceaccounts", namespace, "default")


def seed():
    with LOCK:
        for namespace in NAMESPACES:
            add_namespace(namespace)


SELECTOR_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
SELECTOR_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"


def split_requirements(text):
    """Splits a selector at the commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part.strip() for part in parts if part.strip()]


def label_selector(text):
    """A predicate over a labels dict, as apimachinery's labels.Parse reads `text`; ValueError when it cannot."""
    tests = []
    for part in split_requirements(text or ""):
        if m := re.fullmatch(rf"(!?)\s*({SELECTOR_KEY})", part):
            negate, key = m.group(1) == "!", m.group(2)
            tests.append(lambda labels, k=key, n=negate: (k in labels) != n)
        elif m := re.fullmatch(rf"({SELECTOR_KEY})\s*(==|=|!=)\s*({SELECTOR_VALUE})", part):
            key, op, value = m.group(1), m.group(3), m.group(4)
            if op == "!=":
                tests.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                tests.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif m := re.fullmatch(rf"({SELECTOR_KEY})\s+(in|notin)\s*\(([^()]*)\)", part):
            key, op = m.group(1), m.group(3)
            values = {v.strip() for v in m.group(4).split(",")}
            if any(not re.fullmatch(SELECTOR_VALUE, v) for v in values):
                raise ValueError(part)
            if op == "in":
                tests.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                tests.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
        else:
            raise ValueError(part)
    return lambda labels: all(test(labels or {}) for test in tests)


def field_selector(text):
    """metadata.name and metadata.namespace with =, == or != (all that these kinds support); ValueError else."""
    tests = []
    for part in split_requirements(text or ""):
        m = re.fullmatch(r"([a-zA-Z.]+)\s*(==|=|!=)\s*([^,]*)", part)
        if not m or m.group(1) not in ("metadata.name", "metadata.namespace"):
            raise ValueError(m.group(1) if m else part)
        field, op, value = m.group(1).split(".")[1], m.group(2), m.group(3)
        tests.append(lambda meta, f=field, o=op, v=value: (meta.get(f, "") == v) != (o == "!="))
    return lambda obj: all(test(obj.get("metadata") or {}) for test in tests)


def selectors(params):
    """(predicate over objects, None) or (None, error response) for the request's label and field selectors."""
    try:
        labels = label_selector(params.get("labelSelector"))
    except ValueError as error:
        return None, status(400, "BadRequest", f"unable to parse requirement: {error}")
    try:
        fields = field_selector(params.get("fieldSelector"))
    except ValueError as error:
        return None, status(400, "BadRequest", f'field label not supported: {error}')
    return (lambda obj: obj is not None and fields(obj) and labels((obj.get("metadata") or {}).get("labels"))), None


def rbac_allows(verb, group, resource, namespace, name):
    """RBAC as the API server's authorizer applies it to the one service account RBAC_STATE names: a RoleBinding
    grants its Role's (or ClusterRole's) rules in its own namespace only, a ClusterRoleBinding everywhere; a rule
    with resourceNames grants only those names (a list or watch only with the `metadata.name` field selector)."""
    if RBAC_STATE["objects"] is None:
        return True
    account_namespace, account = RBAC_STATE["serviceAccount"]
    objects = RBAC_STATE["objects"]
    for binding in objects:
        kind = binding.get("kind")
        if kind not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if not any(s.get("kind") == "ServiceAccount" and s.get("name") == account
                   and s.get("namespace") == account_namespace for s in binding.get("subjects") or []):
            continue
        bound_in = (binding.get("metadata") or {}).get("namespace")
        if kind == "RoleBinding" and bound_in != namespace:
            continue
        ref = binding.get("roleRef") or {}
        for role in objects:
            if role.get("kind") != ref.get("kind") or (role.get("metadata") or {}).get("name") != ref.get("name"):
                continue
            if role.get("kind") == "Role" and (role.get("metadata") or {}).get("namespace") != bound_in:
                continue
            for rule in role.get("rules") or []:
                if not (group in rule.get("apiGroups", []) or "*" in rule.get("apiGroups", [])):
                    continue
                if not (resource in rule.get("resources", []) or "*" in rule.get("resources", [])):
                    continue
                if not (verb in rule.get("verbs", []) or "*" in rule.get("verbs", [])):
                    continue
                names = rule.get("resourceNames")
                if not names or (name is not None and name in names):
                    return True
    return False


def forbidden(verb, group, resource, namespace, name):
    """The API server's 403 for a call RBAC denies (its wording, kube-apiserver's forbidden()), else None."""
    denied = not rbac_allows(verb, group, resource, namespace, name)
    for rule in FORBIDDEN:
        if (rule["verb"], rule.get("group", ""), rule["resource"]) != (verb, group, resource):
            continue
        if rule.get("namespace") not in (None, namespace):
            continue
        denied = True
    if denied:
        subject = f'{resource}.{group}' if group else resource
        subject = f'{subject} "{name}"' if name and verb not in ("list", "watch") else subject
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        details = {"kind": resource}
        if name:
            details["name"] = name
        if group:
            details["group"] = group
        user = USER if RBAC_STATE["objects"] is None else "system:serviceaccount:%s:%s" % RBAC_STATE["serviceAccount"]
        return status(403, "Forbidden", f'{subject} is forbidden: User "{user}" cannot {verb} resource '
                      f'"{resource}" in API group "{group}" {scope}', details)
    return None


def called(verb, group, resource):
    CALLS.add((verb, group, resource))
    CALL_COUNTS[(verb, group, resource)] = CALL_COUNTS.get((verb, group, resource), 0) + 1


RESOURCES_V1 = [
    {"name": "namespaces", "singularName": "namespace", "namespaced": False, "kind": "Namespace",
     "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"], "shortNames": ["ns"]},
    {"name": "secrets", "singularName": "secret", "namespaced": True, "kind": "Secret",
     "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]},
    {"name": "serviceaccounts", "singularName": "serviceaccount", "namespaced": True, "kind": "ServiceAccount",
     "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
     "shortNames": ["sa"]},
]
RESOURCES_COORDINATION = [
    {"name": "leases", "singularName": "lease", "namespaced": True, "kind": "Lease",
     "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]},
]


def discovery(segments):
    """The legacy (unaggregated) discovery documents; kubectl falls back to them from aggregated discovery."""
    if segments == ["version"]:
        return 200, {}, {"major": "1", "minor": "32", "gitVersion": "v1.32.0", "platform": "linux/amd64"}
    if segments == ["api"]:
        return 200, {}, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443"}]}
    if segments == ["apis"]:
        version = {"groupVersion": "coordination.k8s.io/v1", "version": "v1"}
        return 200, {}, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": "coordination.k8s.io", "versions": [version], "preferredVersion": version}]}
    if segments == ["api", "v1"]:
        return 200, {}, {"kind": "APIResourceList", "groupVersion": "v1", "resources": RESOURCES_V1}
    if segments == ["apis", "coordination.k8s.io", "v1"]:
        return 200, {}, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "coordination.k8s.io/v1",
                         "resources": RESOURCES_COORDINATION}
    return None


class WatchRequest:
    """A watch the handler streams once the lock is released."""

    def __init__(self, resource, namespace, matches, params):
        self.resource, self.namespace, self.matches = resource, namespace, matches
        self.resource_version = params.get("resourceVersion", "")
        self.bookmarks = params.get("allowWatchBookmarks") in ("true", "1")
        self.timeout = float(params["timeoutSeconds"]) if params.get("timeoutSeconds") else 1800.0


def in_scope(resource, namespace, key):
    return key[0] == resource and (namespace is None or key[1] == namespace)


def ordered(resource, namespace):
    if resource == "namespaces":
        return [OBJECTS[("namespaces", "", n)] for n in NAMESPACES if ("namespaces", "", n) in OBJECTS]
    return [OBJECTS[key] for key in sorted(OBJECTS) if in_scope(resource, namespace, key)]


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
        if obj.get("type") == "kubernetes.io/tls":
            for key in ("tls.crt", "tls.key"):
                if key not in data:
                    return status(422, "Invalid", f'Secret "{name}" is invalid: data[{key}]: Required value')
        if obj.get("type") == "kubernetes.io/dockerconfigjson":
            raw = data.get(".dockerconfigjson")
            if raw is None:
                return status(422, "Invalid", f'Secret "{name}" is invalid: data[.dockerconfigjson]: Required value')
            try:
                json.loads(base64.b64decode(raw))
            except Exception:
                return status(422, "Invalid", f'Secret "{name}" is invalid: data[.dockerconfigjson]: Invalid value: '
                              '"<secret contents redacted>": invalid character')
    if resource == "mutatingwebhookconfigurations":
        return validate_webhooks(obj, name)
    if resource == "events":
        unknown = set(obj) - EVENT_FIELDS
        if unknown:
            return status(400, "BadRequest", f'strict decoding error: unknown field "{sorted(unknown)[0]}"')
        involved = obj.get("involvedObject") or {}
        if not involved.get("kind") or not involved.get("name"):
            return status(422, "Invalid", f'Event "{name}" is invalid: involvedObject: Required value')
        if obj.get("type") not in ("Normal", "Warning") or not obj.get("reason"):
            return status(422, "Invalid", f'Event "{name}" is invalid: type and reason are required '
                          "(type Normal or Warning)")
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


def validate_webhooks(obj, name):
    """admissionregistration.k8s.io/v1 MutatingWebhookConfiguration as the API server's validation checks it."""
    def invalid(field, message):
        return status(422, "Invalid", f'MutatingWebhookConfiguration.admissionregistration.k8s.io "{name}" is '
                      f"invalid: {field}: {message}")
    unknown = set(obj) - WEBHOOK_CONFIGURATION_FIELDS
    if unknown:
        return status(400, "BadRequest", f'strict decoding error: unknown field "{sorted(unknown)[0]}"')
    seen = set()
    for index, webhook in enumerate(obj.get("webhooks") or []):
        field = f"webhooks[{index}]"
        unknown = set(webhook) - WEBHOOK_FIELDS
        if unknown:
            return status(400, "BadRequest", f'strict decoding error: unknown field "{field}.{sorted(unknown)[0]}"')
        hook_name = webhook.get("name") or ""
        if not NAME.match(hook_name) or hook_name.count(".") < 2:
            return invalid(f"{field}.name", f'Invalid value: "{hook_name}": should be a domain with at least three '
                           "segments separated by dots")
        if hook_name in seen:
            return invalid(f"{field}.name", f'Duplicate value: "{hook_name}"')
        seen.add(hook_name)
        config = webhook.get("clientConfig") or {}
        if set(config) - {"url", "service", "caBundle"}:
            return status(400, "BadRequest", f'strict decoding error: unknown field "{field}.clientConfig"')
        if ("url" in config) == ("service" in config):
            return invalid(f"{field}.clientConfig", "Required value: exactly one of url or service is required")
        service = config.get("service") or {}
        if "service" in config:
            if set(service) - {"namespace", "name", "path", "port"} or not service.get("name") \
                    or not service.get("namespace"):
                return invalid(f"{field}.clientConfig.service", "Required value: namespace and name are required")
            if "path" in service and not str(service["path"]).startswith("/"):
                return invalid(f"{field}.clientConfig.service.path", "Invalid value: must start with a '/'")
            if not 1 <= int(service.get("port", 443)) <= 65535:
                return invalid(f"{field}.clientConfig.service.port", "Invalid value: must be 1-65535")
        if "caBundle" in config:
            try:
                base64.b64decode(config["caBundle"], validate=True)
            except Exception:
                return status(400, "BadRequest", f"{field}.clientConfig.caBundle: illegal base64 data")
        versions = webhook.get("admissionReviewVersions") or []
        if not any(v in ("v1", "v1beta1") for v in versions):
            return invalid(f"{field}.admissionReviewVersions", "Required value: must specify one of v1, v1beta1")
        if webhook.get("sideEffects") not in ("None", "NoneOnDryRun"):
            return invalid(f"{field}.sideEffects", 'Unsupported value: supported values: "None", "NoneOnDryRun"')
        if webhook.get("failurePolicy", "Fail") not in ("Ignore", "Fail"):
            return invalid(f"{field}.failurePolicy", 'Unsupported value: supported values: "Fail", "Ignore"')
        timeout = webhook.get("timeoutSeconds", 10)
        if not isinstance(timeout, int) or not 1 <= timeout <= 30:
            return invalid(f"{field}.timeoutSeconds", "Invalid value: the timeout value must be between 1 and 30 "
                           "seconds")
        for number, rule in enumerate(webhook.get("rules") or []):
            if set(rule) - RULE_FIELDS:
                return status(400, "BadRequest", f'strict decoding error: unknown field "{field}.rules[{number}]"')
            if not set(rule.get("operations") or ["?"]) <= {"CREATE", "UPDATE", "DELETE", "CONNECT", "*"}:
                return invalid(f"{field}.rules[{number}].operations", "Unsupported value")
            if not rule.get("apiGroups") or not rule.get("apiVersions") or not rule.get("resources"):
                return invalid(f"{field}.rules[{number}]", "Required value: apiGroups, apiVersions and resources")
            if rule.get("scope", "*") not in ("Cluster", "Namespaced", "*"):
                return invalid(f"{field}.rules[{number}].scope", "Unsupported value")
    return None


def json_object(body):
    """The request body as a JSON object, or None for anything else (the API server answers those 400)."""
    try:
        obj = json.loads(body)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


class Handler(TLSFixtureHandler):
    # The head and the body go out in two writes; without TCP_NODELAY the second waits for the client's delayed
    # ACK (40 ms a request), a latency the API server does not have and the benchmark would measure.
    disable_nagle_algorithm = True

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
        if path == "/__call_counts" and method == "GET":
            return 200, {}, [{"verb": v, "group": g, "resource": r, "count": c}
                             for (v, g, r), c in sorted(CALL_COUNTS.items())]
        if path == "/__calls/reset" and method == "POST":
            CALLS.clear()
            CALL_COUNTS.clear()
            return 200, {}, {}
        if path == "/__delete" and method == "POST":
            spec = json.loads(body)
            gone = remove(spec["resource"], spec.get("namespace", ""), spec["name"])
            return (200, {}, gone) if gone else status(404, "NotFound", "not found")
        if path == "/__watch" and method == "POST":
            WATCH["bookmarkSeconds"] = float(json.loads(body).get("bookmarkSeconds", WATCH["bookmarkSeconds"]))
            return 200, {}, {}
        if path == "/__watch/close" and method == "POST":
            WATCH["generation"] += 1
            LOCK.notify_all()
            return 200, {}, {}
        if path == "/__compact" and method == "POST":
            next_rv()
            COMPACTED[0] = RV[0]
            del EVENTS[:]
            del EVENT_RVS[:]
            WATCH["generation"] += 1
            LOCK.notify_all()
            return 200, {}, {"compacted": RV[0]}
        if path == "/__summary" and method == "GET":
            q = {k: v[0] for k, v in parse_qs(query).items()}
            name, namespace = q["name"], q.get("namespace")
            secrets = [k for k in OBJECTS if k[0] == "secrets" and k[2] == name and namespace in (None, k[1])]
            accounts = [o for k, o in OBJECTS.items() if k[0] == "serviceaccounts" and namespace in (None, k[1])]
            patched = [o for o in accounts if {"name": name} in (o.get("imagePullSecrets") or [])]
            return 200, {}, {"secrets": len(secrets), "accounts": len(accounts), "patched": len(patched)}
        if path == "/__events" and method == "GET":
            return 200, {}, [o for k, o in sorted(OBJECTS.items()) if k[0] == "events"]
        if path == "/__watches" and method == "GET":
            return 200, {}, {"open": WATCH["open"]}
        if path == "/__rbac" and method == "POST":
            spec = json.loads(body)
            RBAC_STATE["objects"] = spec["objects"]
            RBAC_STATE["serviceAccount"] = (spec["namespace"], spec["serviceAccount"])
            return 200, {}, {}
        if path == "/__forbid/reset" and method == "POST":
            FORBIDDEN.clear()
            return 200, {}, {}
        if path == "/__tokens" and method == "POST":
            TOKENS.clear()
            TOKENS.update(json.loads(body)["tokens"])
            return 200, {}, {}
        if path == "/__seed" and method == "POST":
            obj = json.loads(body)
            resource = {"Secret": "secrets", "Lease": "leases", "ServiceAccount": "serviceaccounts",
                        "MutatingWebhookConfiguration": "mutatingwebhookconfigurations"}[obj["kind"]]
            meta = obj["metadata"]
            if resource in CLUSTER_SCOPED:
                # Cluster-scoped objects are checked as a create would be: the overlay's must pass.
                error = validate(resource, obj, meta.get("name"))
                if error:
                    return error
                previous = OBJECTS.get((resource, "", meta["name"]))
                return 200, {}, stamp(obj, resource, "", meta["name"], previous)
            if obj["metadata"]["namespace"] not in NAMESPACES:
                return 400, {}, {"error": "no such namespace"}
            previous = OBJECTS.get((resource, meta["namespace"], meta["name"]))
            return 200, {}, stamp(obj, resource, meta["namespace"], meta["name"], previous)
        if path == "/__touch_after_get" and method == "POST":
            spec = json.loads(body)
            TOUCH[(spec["resource"], spec["namespace"], spec["name"])] = spec.get("times", 1)
            return 200, {}, {}
        if path == "/__namespaces" and method == "POST":
            change = json.loads(body)
            for namespace in change.get("add", []):
                if not NAME.match(namespace) or len(namespace) > 63:
                    return 400, {}, {"error": f"not a namespace name: {namespace!r}"}
                if namespace not in NAMESPACES:
                    NAMESPACES.append(namespace)
                    add_namespace(namespace)
                    for account in change.get("accounts", []):
                        stamp({"metadata": {}}, "serviceaccounts", namespace, account)
            for namespace in change.get("remove", []):
                if namespace in NAMESPACES:
                    for key in [k for k in OBJECTS if k[1] == namespace]:
                        remove(*key)
                    NAMESPACES.remove(namespace)
                    remove("namespaces", "", namespace)
            for namespace, labels in (change.get("labels") or {}).items():
                current = OBJECTS.get(("namespaces", "", namespace))
                if current is None:
                    return 400, {}, {"error": f"no namespace {namespace!r}"}
                updated = json.loads(json.dumps(current))
                updated["metadata"]["labels"] = merge_patch(updated["metadata"].get("labels") or {}, labels)
                stamp(updated, "namespaces", "", namespace, current)
            return 200, {}, {"namespaces": NAMESPACES}
        if path == "/__forbid" and method == "POST":
            rule = json.loads(body)
            if not isinstance(rule, dict) or not rule.get("verb") or not rule.get("resource"):
                return 400, {}, {"error": "give verb, resource, and optionally group and namespace"}
            FORBIDDEN.append(rule)
            return 200, {}, {}
        if path == "/__object" and method == "GET":
            q = {k: v[0] for k, v in parse_qs(query).items()}
            obj = OBJECTS.get((q["resource"], q.get("namespace", ""), q["name"]))
            return (200, {}, obj) if obj else status(404, "NotFound", "not found")
        return 404, {}, {"error": "unknown control " + path}

    def api(self, method, path, query, body):
        segments = [unquote(s) for s in path.strip("/").split("/")]
        params = {k: v[0] for k, v in parse_qs(query).items()}
        found = discovery(segments)
        if found:
            return found
        if len(segments) == 3 and segments[:2] == ["api", "v1"] and segments[2] in LIST_KINDS:
            if method != "GET":
                return status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            return self.collection("", segments[2], None, params)
        if len(segments) >= 5 and segments[:3] == ["api", "v1", "namespaces"]:
            namespace, resource, rest = segments[3], segments[4], segments[5:]
            group = ""
        elif segments[:4] == ["apis", "admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations"]:
            return self.webhook_configuration(method, segments[4:], body)
        elif len(segments) >= 6 and segments[:4] == ["apis", "coordination.k8s.io", "v1", "namespaces"]:
            namespace, resource, rest = segments[4], segments[5], segments[6:]
            group = "coordination.k8s.io"
        else:
            return status(404, "NotFound", "the server could not find the requested resource")
        if resource not in KINDS or resource == "namespaces" or KINDS[resource][0] != group or len(rest) > 1:
            return status(404, "NotFound", "the server could not find the requested resource")
        name = rest[0] if rest else None
        if method == "GET" and name is None and resource in LIST_KINDS:
            return self.collection(group, resource, namespace, params)
        verb = {("GET", True): "get", ("POST", False): "create", ("PUT", True): "update",
                ("PATCH", True): "patch", ("DELETE", True): "delete"}.get((method, name is not None))
        if verb is None:
            return status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        called(verb, group, resource)
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
        if verb == "delete":
            if resource != "secrets":
                return status(405, "MethodNotAllowed", "delete is served for secrets only by this fixture")
            if current is None:
                return status(404, "NotFound", f'{resource} "{name}" not found', details)
            gone = remove(resource, namespace, name)
            return 200, {}, gone
        if verb in ("create", "update"):
            if verb == "update" or verb == "create":
                if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
                    return status(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                                  "accepted media types include: application/json, application/yaml, "
                                  "application/vnd.kubernetes.protobuf")
            obj = json_object(body)
            if obj is None:
                return status(400, "BadRequest", "the request body is not a JSON object")
            meta = obj.get("metadata") or {}
            if meta.get("namespace") not in (None, namespace):
                return status(400, "BadRequest", "the namespace of the provided object does not match the namespace "
                              "sent on the request")
            object_name = meta.get("name")
            if verb == "create" and not object_name and meta.get("generateName"):
                # The API server appends five random characters to generateName.
                object_name = meta["generateName"] + uuid.uuid4().hex[:5]
                meta["name"] = object_name
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
            if resource == "leases" and not meta.get("resourceVersion"):
                # The lease strategy allows no unconditional update (AllowUnconditionalUpdate is false).
                return status(422, "Invalid", f'Lease.coordination.k8s.io "{name}" is invalid: '
                              "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
                              {**details, "causes": [{"reason": "FieldValueInvalid",
                                                      "message": "Invalid value: 0x0: must be specified for an update",
                                                      "field": "metadata.resourceVersion"}]})
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

    def webhook_configuration(self, method, rest, body):
        """get and update of one MutatingWebhookConfiguration (cluster-scoped), resourceVersion checked."""
        group, resource = "admissionregistration.k8s.io", "mutatingwebhookconfigurations"
        verb = {"GET": "get", "PUT": "update"}.get(method)
        if len(rest) != 1 or verb is None:
            return status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        name = rest[0]
        called(verb, group, resource)
        denied = forbidden(verb, group, resource, "", name)
        if denied:
            return denied
        details = {"name": name, "group": group, "kind": resource}
        current = OBJECTS.get((resource, "", name))
        if current is None:
            return status(404, "NotFound", f'{resource}.{group} "{name}" not found', details)
        if verb == "get":
            return 200, {}, json.loads(json.dumps(current))
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            return status(415, "UnsupportedMediaType", "the body of the request was in an unknown format")
        obj = json_object(body)
        if obj is None:
            return status(400, "BadRequest", "the request body is not a JSON object")
        meta = obj.get("metadata") or {}
        if meta.get("name") != name:
            return status(400, "BadRequest", f"the name of the object ({meta.get('name')}) does not match the name "
                          f"on the URL ({name})")
        error = validate(resource, obj, name)
        if error:
            return error
        if meta.get("resourceVersion") and meta["resourceVersion"] != current["metadata"]["resourceVersion"]:
            return self.conflict(resource, name, details)
        return 200, {}, stamp(obj, resource, "", name, current)

    def collection(self, group, resource, namespace, params):
        """list or watch of a collection, namespaced or (namespace None) across the cluster."""
        verb = "watch" if params.get("watch") in ("true", "1") else "list"
        called(verb, group, resource)
        # RBAC's resourceNames grant a list or watch only when it selects exactly that name.
        selected = re.fullmatch(r"metadata\.name=([^,=!]+)", params.get("fieldSelector", ""))
        denied = forbidden(verb, group, resource, namespace, selected.group(1) if selected else None)
        if denied:
            return denied
        if namespace is not None and namespace not in NAMESPACES:
            return status(404, "NotFound", f'namespaces "{namespace}" not found',
                          {"name": namespace, "kind": "namespaces"})
        matches, error = selectors(params)
        if error:
            return error
        if verb == "watch":
            version = params.get("resourceVersion", "")
            if version not in ("", "0") and not version.isdigit():
                return status(400, "BadRequest", f'invalid resource version "{version}"')
            return 200, {}, WatchRequest(resource, namespace, matches, params)
        items = [json.loads(json.dumps(o)) for o in ordered(resource, namespace) if matches(o)]
        try:
            limit = int(params.get("limit", "0") or 0)
            offset = int(base64.b64decode(params["continue"]).decode()) if params.get("continue") else 0
        except ValueError:
            return status(400, "BadRequest", "invalid limit or continue token")
        page = items[offset:offset + limit] if limit else items[offset:]
        meta = {"resourceVersion": str(RV[0])}
        if offset + len(page) < len(items):
            meta["continue"] = base64.b64encode(str(offset + len(page)).encode()).decode()
        _, _, kind = KINDS[resource]
        return 200, {}, {"kind": kind + "List", "apiVersion": "v1", "metadata": meta, "items": page}

    def _handle(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        if path == "/__counters":
            code, headers, payload = 200, {}, dict(FixtureHandler.counters)
        else:
            code, headers, payload = self.route(method, path, query, body)
        sys.stderr.write(json.dumps({"method": method, "path": path, "status": code}) + "\n")
        sys.stderr.flush()
        if isinstance(payload, WatchRequest):
            return self.stream(payload)
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        elif isinstance(payload, str):
            payload = payload.encode()
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def chunk(self, data):
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def stream(self, watch):
        """Serves one watch as the API server does; ends at its timeout, at /__watch/close or /__compact."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        _, api_version, kind = KINDS[watch.resource]
        deadline = time.monotonic() + watch.timeout
        with LOCK:
            WATCH["open"] += 1
            generation = WATCH["generation"]
            pending = []
            if watch.resource_version in ("", "0"):
                position = int(RV[0])
                pending = [{"type": "ADDED", "object": json.loads(json.dumps(o))}
                           for o in ordered(watch.resource, watch.namespace) if watch.matches(o)]
            else:
                position = int(watch.resource_version)
                if position < COMPACTED[0]:
                    pending = [{"type": "ERROR", "object": {
                        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": f"too old resource version: {position} ({COMPACTED[0]})", "reason": "Expired",
                        "code": 410}}]
                    deadline = 0
        next_bookmark = time.monotonic() + WATCH["bookmarkSeconds"]
        try:
            while True:
                for event in pending:
                    self.chunk(json.dumps(event).encode() + b"\n")
                now = time.monotonic()
                if now >= deadline:
                    break
                if watch.bookmarks and now >= next_bookmark:
                    with LOCK:
                        mark = {"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": api_version,
                                                               "metadata": {"resourceVersion": str(position)}}}
                    self.chunk(json.dumps(mark).encode() + b"\n")
                    next_bookmark = now + WATCH["bookmarkSeconds"]
                with LOCK:
                    wake = min(deadline, next_bookmark if watch.bookmarks else deadline)
                    LOCK.wait_for(lambda: (EVENT_RVS and EVENT_RVS[-1] > position)
                                  or WATCH["generation"] != generation, timeout=max(0.0, wake - time.monotonic()))
                    if WATCH["generation"] != generation:
                        break
                    pending = []
                    for event in EVENTS[bisect.bisect_right(EVENT_RVS, position):]:
                        position = event["rv"]
                        change = self.visible(watch, event)
                        if change:
                            pending.append(change)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        finally:
            with LOCK:
                WATCH["open"] -= 1
        self.close_connection = True

    @staticmethod
    def visible(watch, event):
        """The event as this watch sees it: selectors turn a change in or out of view into ADDED or DELETED."""
        if not in_scope(watch.resource, watch.namespace, (event["resource"], event["namespace"])):
            return None
        now, before = event["object"], event["previous"]
        if event["type"] == "DELETED":
            return {"type": "DELETED", "object": now} if watch.matches(before) else None
        matched, matches = watch.matches(before), watch.matches(now)
        if matched and matches:
            return {"type": event["type"], "object": now}
        if matches:
            return {"type": "ADDED", "object": now}
        if matched:
            return {"type": "DELETED", "object": now}
        return None

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


def main():
    # As fixturelib.serve, but HTTPS: a dispatch thread's blocked SIGTERM is inherited; take it back.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    if len(sys.argv) != 3 or sys.argv[1] != "--tls-dir":
        sys.exit("usage: kube_apiserver.py --tls-dir DIR")
    fixturelib.TLSServer.context = make_tls(sys.argv[2])
    seed()
    server = fixturelib.TLSServer(("127.0.0.1", 0), Handler)
    fixturelib.run(server)


if __name__ == "__main__":
    main()
