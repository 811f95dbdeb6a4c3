// Linked into the release binary only (helpers/build-release), which links against glibc 2.31 so it loads on the
// oldest nodes the kubelet plugin supports (Debian 11, Ubuntu 20.04).
//
// GCC 12's libstdc++.a, linked in statically, was built against a glibc that has __libc_single_threaded (2.32+)
// and reads it to skip atomic reference counts while a process has one thread. 2.31 has no such variable. This
// definition stands in for it: 0 says "maybe several threads", so libstdc++ always takes the atomic path, which
// is correct in every process and is what it did on glibc before 2.32. Nothing writes it.
char __libc_single_threaded = 0;
