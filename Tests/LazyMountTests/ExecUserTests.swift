import Testing

@testable import LazyMount

/// The image's `User` resolved as runc's and umoci's resolver (moby/sys/user `GetExecUser`) resolves it: the
/// table is that resolver's own cases, so a bundle gets the uid, gid, groups and HOME `umoci unpack` writes.
@Suite struct ExecUserTests {
    static let passwd = Array(
        """
        root:x:0:0:root:/root:/bin/sh
          app:x:1000:1000:app:/home/app:/bin/sh\r
        second:x:1000:1002:shadowed by app:/nowhere:/bin/sh
        odd:x:notanumber:7::/odd:/bin/sh

        """.utf8)
    static let group = Array(
        """
        root:x:0:
        app:x:1000:
        extra:x:1001:app,other
        more:x:1003:root,app

        """.utf8)

    @Test(
        arguments: [
            ("", ExecUser(uid: 0, gid: 0, additionalGids: [1003], home: "/root")),
            ("app", ExecUser(uid: 1000, gid: 1000, additionalGids: [1001, 1003], home: "/home/app")),
            ("1000", ExecUser(uid: 1000, gid: 1000, additionalGids: [1001, 1003], home: "/home/app")),
            ("app:extra", ExecUser(uid: 1000, gid: 1001, additionalGids: [], home: "/home/app")),
            ("app:4242", ExecUser(uid: 1000, gid: 4242, additionalGids: [], home: "/home/app")),
            ("4242", ExecUser(uid: 4242, gid: 0, additionalGids: [], home: "")),
            ("4242:1001", ExecUser(uid: 4242, gid: 1001, additionalGids: [], home: "")),
            ("odd", ExecUser(uid: 0, gid: 7, additionalGids: [], home: "/odd")),
        ] as [(String, ExecUser)])
    func resolvesLikeTheRuntimes(spec: String, expected: ExecUser) throws {
        #expect(try ExecUser.resolve(spec, passwd: Self.passwd, group: Self.group) == expected)
    }

    @Test func withoutTheFilesOnlyNumbersResolve() throws {
        #expect(try ExecUser.resolve("", passwd: nil, group: nil) == ExecUser())
        #expect(try ExecUser.resolve("12:34", passwd: nil, group: nil) == ExecUser(uid: 12, gid: 34))
        #expect(throws: LazyMountError.self) { try ExecUser.resolve("app", passwd: nil, group: nil) }
    }

    @Test(arguments: ["nobody", "app:nogroup", "-1", "app:2147483648"])
    func unknownNamesAndOutOfRangeIdsAreErrors(spec: String) {
        #expect(throws: LazyMountError.self) { try ExecUser.resolve(spec, passwd: Self.passwd, group: Self.group) }
    }
}
