import Foundation
import Testing

@testable import Kubernetes

/// `writeDockerConfigSecret` against the fixture API server: create, update, no-op, conflict recovery and
/// refusal to clobber a Secret of another type.
@Suite struct SecretWriteTests {
    let config = Array(#"{"auths":{"registry.example.com":{"auth":"dTpw"}}}"#.utf8)

    @Test func createsThenUpdatesThenLeavesAnUnchangedSecretAlone() async throws {
        let fixture = try KubeAPIFixture()
        defer { fixture.stop() }
        let client = fixture.client()
        let created = try await client.writeDockerConfigSecret(
            namespace: "team-a", name: "regcred", dockerConfigJSON: config,
            labels: ["app.kubernetes.io/managed-by": "ocicred"])
        #expect(created == .created)
        let stored = try #require(try await fixture.object("secrets", "team-a", "regcred"))
        #expect(stored["type"] as? String == "kubernetes.io/dockerconfigjson")
        #expect(
            (stored["metadata"] as? [String: Any])?["labels"] as? [String: String]
                == ["app.kubernetes.io/managed-by": "ocicred"])
        #expect(try await client.dockerConfigJSON(namespace: "team-a", name: "regcred") == config)

        let newer = Array(#"{"auths":{"registry.example.com":{"auth":"dTpx"}}}"#.utf8)
        #expect(
            try await client.writeDockerConfigSecret(namespace: "team-a", name: "regcred", dockerConfigJSON: newer)
                == .updated)
        #expect(try await client.dockerConfigJSON(namespace: "team-a", name: "regcred") == newer)
        let version = (try await fixture.object("secrets", "team-a", "regcred"))?["metadata"] as? [String: Any]
        #expect(
            try await client.writeDockerConfigSecret(namespace: "team-a", name: "regcred", dockerConfigJSON: newer)
                == .unchanged)
        let after = (try await fixture.object("secrets", "team-a", "regcred"))?["metadata"] as? [String: Any]
        #expect(after?["resourceVersion"] as? String == version?["resourceVersion"] as? String)
        // The label written at creation survives an update that names no labels.
        #expect((after?["labels"] as? [String: String])?["app.kubernetes.io/managed-by"] == "ocicred")
    }

    /// `default/regcred` written, and another writer that changes it right after each of our next `times` GETs.
    func contested(times: Int) async throws -> (KubeAPIFixture, KubernetesClient) {
        let fixture = try KubeAPIFixture()
        do {
            let client = fixture.client()
            _ = try await client.writeDockerConfigSecret(
                namespace: "default", name: "regcred", dockerConfigJSON: config)
            try await fixture.control(
                "POST", "/__touch_after_get",
                ["resource": "secrets", "namespace": "default", "name": "regcred", "times": times])
            return (fixture, client)
        } catch {
            fixture.stop()
            throw error
        }
    }

    @Test func aConflictIsRecoveredByReadingAgainAndKeepingTheOtherWritersChange() async throws {
        // Another writer changes the Secret right after each of our next two GETs: two PUTs get 409 Conflict.
        let (fixture, client) = try await contested(times: 2)
        defer { fixture.stop() }
        let newer = Array(#"{"auths":{"registry.example.com":{"auth":"bmV3"}}}"#.utf8)
        #expect(
            try await client.writeDockerConfigSecret(namespace: "default", name: "regcred", dockerConfigJSON: newer)
                == .updated)
        #expect(try await client.dockerConfigJSON(namespace: "default", name: "regcred") == newer)
        let metadata = (try await fixture.object("secrets", "default", "regcred"))?["metadata"] as? [String: Any]
        #expect((metadata?["annotations"] as? [String: String])?["other-writer/touched"] == "2")
    }

    @Test func aConflictThatNeverEndsIsReportedAfterFiveRounds() async throws {
        let (fixture, client) = try await contested(times: 100)
        defer { fixture.stop() }
        await #expect(
            throws: KubernetesError.conflict(resource: "secrets", namespace: "default", name: "regcred", attempts: 5)
        ) {
            try await client.writeDockerConfigSecret(
                namespace: "default", name: "regcred", dockerConfigJSON: Array(#"{"auths":{}}"#.utf8))
        }
    }

    @Test func aSecretOfAnotherTypeIsReportedAndNeverOverwritten() async throws {
        let fixture = try KubeAPIFixture()
        defer { fixture.stop() }
        let seeded =
            try await fixture.control(
                "POST", "/__seed",
                [
                    "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                    "metadata": ["name": "regcred", "namespace": "team-b"], "data": ["password": "aHVudGVyMg=="],
                ]) as? [String: Any]
        let version = (seeded?["metadata"] as? [String: Any])?["resourceVersion"] as? String
        let client = fixture.client()
        do {
            _ = try await client.writeDockerConfigSecret(namespace: "team-b", name: "regcred", dockerConfigJSON: config)
            Issue.record("an Opaque Secret was overwritten")
        } catch {
            #expect(error == .wrongSecretType(namespace: "team-b", name: "regcred", type: "Opaque"))
            #expect(error.description.contains("left untouched"))
        }
        let after = try #require(try await fixture.object("secrets", "team-b", "regcred"))
        #expect((after["metadata"] as? [String: Any])?["resourceVersion"] as? String == version)
        #expect(after["data"] as? [String: String] == ["password": "aHVudGVyMg=="])
    }

    @Test func aMissingNamespaceIsReportedAsNotFound() async throws {
        let fixture = try KubeAPIFixture()
        defer { fixture.stop() }
        let error = await #expect(throws: KubernetesError.self) {
            try await fixture.client().writeDockerConfigSecret(
                namespace: "nope", name: "regcred", dockerConfigJSON: config)
        }
        guard case .notFound(_, let namespace, _)? = error else {
            Issue.record("expected .notFound, got \(String(describing: error))")
            return
        }
        #expect(namespace == "nope")
    }
}
