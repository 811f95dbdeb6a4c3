import Foundation

/// Someone who can push to a repository and nothing more, written independently of ocicred (Python's standard
/// library over the distribution API, `cryptography` for ECDSA): forges referrer artifacts from the index or
/// profile ocicred pushed, and signs or verifies digests the way cosign's documentation specifies key-based
/// signatures (tag `sha256-<hex>.sig`, simple-signing payload layers, base64 DER ECDSA P-256 over the payload in
/// the `dev.cosignproject.cosign/signature` annotation). The password reaches Python on stdin only.
package struct RepositoryPusher: Sendable {
    package let host: String
    package let username: String
    package let password: String
    package let repository: String

    package init(registry: RegistryFixture, password: String, repository: String) {
        host = registry.host
        username = registry.username
        self.password = password
        self.repository = repository
    }

    /// Pushes, as the newest referrer of `subject`, a copy of the oldest ocicred artifact of `kind` (`index` or
    /// `profile`) after running `mutation` (Python, on `doc`: the decoded index or profile; `other` is the JSON
    /// object in `otherFile`, when given). Returns the new artifact's digest.
    package func forge(kind: String, subject: String, mutation: String, otherFile: String = "") throws -> String {
        try run(["forge", kind, subject, mutation, otherFile])
    }

    /// Signs `digest` with the PEM private key at `keyFile` as cosign does, adding to its `.sig` manifest.
    package func cosignSign(digest: String, keyFile: String) throws {
        _ = try run(["sign", digest, keyFile])
    }

    /// How many signatures of `digest` in the repository verify with the PEM public key at `publicKeyFile`.
    package func cosignVerify(digest: String, publicKeyFile: String) throws -> Int {
        Int(try run(["verify", digest, publicKeyFile])) ?? -1
    }

    private func run(_ arguments: [String]) throws -> String {
        try FixtureError.requirePrograms(["python3": "python3"])
        let result = try ProcessRunner.run(
            "python3", ["-c", Self.script, host, username, repository] + arguments,
            stdin: Data((password + "\n").utf8), timeout: 120)
        guard result.status == 0 else { throw FixtureError.commandFailed(command: "python3 (pusher)", result: result) }
        return result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// P-256 key pairs as `openssl` makes them: `NAME.key` (unencrypted PKCS#8, 0600) and `NAME.pub` (PKIX PEM,
    /// what `cosign generate-key-pair` writes as cosign.pub). Returns the two paths.
    package static func makeKeyPair(_ name: String, in directory: TemporaryDirectory) throws -> (
        key: String, pub: String
    ) {
        try FixtureError.requirePrograms(["openssl": "openssl"])
        let (key, pub) = (directory.file(name + ".key"), directory.file(name + ".pub"))
        for arguments in [
            ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key],
            ["pkey", "-in", key, "-pubout", "-out", pub],
        ] {
            let result = try ProcessRunner.run("openssl", arguments, timeout: 30)
            guard result.status == 0 else { throw FixtureError.commandFailed(command: "openssl", result: result) }
        }
        chmod(key, 0o600)
        return (key, pub)
    }

    static let script = #"""
        import base64, datetime, gzip, hashlib, json, sys, urllib.error, urllib.request

        host, user, repo, action = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
        args = sys.argv[5:]
        password = sys.stdin.readline().rstrip("\n")
        auth = "Basic " + base64.b64encode((user + ":" + password).encode()).decode()
        MANIFEST = "application/vnd.oci.image.manifest.v1+json"
        INDEX = "application/vnd.oci.image.index.v1+json"

        def call(method, path, body=None, ctype=None, accept=None, full=False):
            url = path if path.startswith("http") else "http://%s/v2/%s%s" % (host, repo, path)
            req = urllib.request.Request(url, data=body, method=method)
            req.add_header("Authorization", auth)
            if ctype: req.add_header("Content-Type", ctype)
            if accept: req.add_header("Accept", accept)
            try:
                with urllib.request.urlopen(req) as resp:
                    return (resp, resp.read()) if full else resp.read()
            except urllib.error.HTTPError as e:
                if e.code == 404: return None
                raise

        def digest(data): return "sha256:" + hashlib.sha256(data).hexdigest()

        def push_blob(data):
            d = digest(data)
            resp, _ = call("POST", "/blobs/uploads/", b"", full=True)
            loc = resp.headers["Location"]
            if not loc.startswith("http"): loc = "http://" + host + loc
            call("PUT", loc + ("&" if "?" in loc else "?") + "digest=" + d, data, "application/octet-stream")
            return d

        def push_manifest(doc, ref=None):
            body = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
            d = digest(body)
            call("PUT", "/manifests/" + (ref or d), body, doc.get("mediaType", MANIFEST))
            return d, len(body)

        def get_json(path, accept=MANIFEST):
            data = call("GET", path, accept=accept + ", " + INDEX)
            return None if data is None else json.loads(data)

        def forge(kind, subject, mutation, other_file):
            artifact_type = "application/vnd.ocicred.%s.v1+json" % kind
            tag = subject.replace(":", "-")
            listing = get_json("/manifests/" + tag, INDEX)
            entries = [m for m in listing["manifests"] if m.get("artifactType") == artifact_type]
            # The first one pushed (ocicred's own), whatever was forged after it.
            oldest = min(entries, key=lambda m: m.get("annotations", {}).get("org.opencontainers.image.created", ""))
            manifest = get_json("/manifests/" + oldest["digest"])
            layer_type = artifact_type + ("+gzip" if kind == "index" else "")
            number = [i for i, l in enumerate(manifest["layers"]) if l["mediaType"] == layer_type][0]
            blob = call("GET", "/blobs/" + manifest["layers"][number]["digest"])
            doc = json.loads(gzip.decompress(blob) if kind == "index" else blob)
            other = json.load(open(other_file)) if other_file else None
            exec(mutation, {"doc": doc, "other": other})
            data = json.dumps(doc).encode()
            if kind == "index": data = gzip.compress(data, mtime=0)
            d = push_blob(data)
            manifest["layers"][number] = {"mediaType": layer_type, "digest": d, "size": len(data)}
            later = datetime.datetime.utcnow() + datetime.timedelta(minutes=5 + len(entries))
            annotations = dict(manifest.get("annotations", {}))
            annotations["org.opencontainers.image.created"] = later.strftime("%Y-%m-%dT%H:%M:%SZ")
            if kind == "index": annotations["vnd.ocicred.index.digest"] = d
            manifest["annotations"] = annotations
            new, size = push_manifest(manifest)
            listing["manifests"].append({"mediaType": MANIFEST, "digest": new, "size": size,
                                         "artifactType": artifact_type, "annotations": annotations})
            push_manifest(listing, tag)
            print(new)

        def payload(d):
            return json.dumps({"critical": {"identity": {"docker-reference": host + "/" + repo},
                               "image": {"docker-manifest-digest": d}, "type": "cosign container image signature"},
                               "optional": None}).encode()

        def sign(d, key_file):
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import ec
            key = serialization.load_pem_private_key(open(key_file, "rb").read(), None)
            body = payload(d)
            signature = base64.b64encode(key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()
            tag = d.replace(":", "-") + ".sig"
            existing = get_json("/manifests/" + tag)
            layers = existing["layers"] if existing else []
            layers.append({"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": push_blob(body),
                           "size": len(body), "annotations": {"dev.cosignproject.cosign/signature": signature}})
            config = json.dumps({"architecture": "", "os": "", "config": {},
                                 "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}}).encode()
            push_manifest({"schemaVersion": 2, "mediaType": MANIFEST,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": push_blob(config), "size": len(config)},
                           "layers": layers}, tag)

        def verify(d, pub_file):
            from cryptography.exceptions import InvalidSignature
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import ec
            key = serialization.load_pem_public_key(open(pub_file, "rb").read())
            sig = get_json("/manifests/" + d.replace(":", "-") + ".sig")
            good = 0
            for layer in (sig or {}).get("layers", []):
                body = call("GET", "/blobs/" + layer["digest"])
                critical = json.loads(body)["critical"]
                if critical["type"] != "cosign container image signature": continue
                if critical["image"]["docker-manifest-digest"] != d: continue
                try:
                    key.verify(base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"]), body,
                               ec.ECDSA(hashes.SHA256()))
                    good += 1
                except InvalidSignature:
                    pass
            print(good)

        if action == "forge": forge(*args)
        elif action == "sign": sign(*args)
        elif action == "verify": verify(*args)
        """#
}
