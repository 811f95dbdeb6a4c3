"""Watches a resource with the official Kubernetes Python client (`kubernetes.watch.Watch().stream`), as a
controller written in Python would, and prints one JSON line per event it yields:
{"type", "name", "resourceVersion"}; an ApiException is printed as {"error": status, "reason": ...}, exit 3.

Usage: python_watch.py RESOURCE [--namespace NS] [--resource-version RV] [--timeout-seconds N] [--bookmarks]
       [--label-selector S]
Environment: KUBE_SERVER, KUBE_CA_FILE, KUBE_TOKEN (not argv: the token stays out of `ps`).
RESOURCE is namespaces, secrets or serviceaccounts.
"""
import argparse
import json
import os
import sys

import kubernetes


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("resource", choices=["namespaces", "secrets", "serviceaccounts"])
    parser.add_argument("--namespace")
    parser.add_argument("--resource-version")
    parser.add_argument("--timeout-seconds", type=int)
    parser.add_argument("--bookmarks", action="store_true")
    parser.add_argument("--label-selector")
    args = parser.parse_args()

    configuration = kubernetes.client.Configuration()
    configuration.host = os.environ["KUBE_SERVER"]
    configuration.ssl_ca_cert = os.environ["KUBE_CA_FILE"]
    configuration.api_key = {"authorization": os.environ["KUBE_TOKEN"]}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    api = kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration))
    if args.resource == "namespaces":
        function, positional = api.list_namespace, []
    elif args.namespace:
        function = getattr(api, "list_namespaced_" + args.resource[:-1].replace("serviceaccount", "service_account"))
        positional = [args.namespace]
    else:
        function = getattr(api, "list_" + args.resource[:-1].replace("serviceaccount", "service_account")
                           + "_for_all_namespaces")
        positional = []
    options = {}
    if args.resource_version is not None:
        options["resource_version"] = args.resource_version
    if args.timeout_seconds is not None:
        options["timeout_seconds"] = args.timeout_seconds
    if args.bookmarks:
        options["allow_watch_bookmarks"] = True
    if args.label_selector:
        options["label_selector"] = args.label_selector
    print(json.dumps({"started": True}), flush=True)
    try:
        for event in kubernetes.watch.Watch().stream(function, *positional, **options):
            raw = event["raw_object"]
            metadata = raw.get("metadata") or {}
            print(json.dumps({"type": event["type"], "name": metadata.get("name"),
                              "resourceVersion": metadata.get("resourceVersion")}), flush=True)
    except kubernetes.client.rest.ApiException as error:
        print(json.dumps({"error": error.status, "reason": error.reason}), flush=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
