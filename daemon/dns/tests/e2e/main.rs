//! End-to-end tests of the cnm-dns resolver: real binary, real sockets, in
//! network namespaces made for each test (root needed; otherwise each test
//! fails with `cannot run here: <reason>`; never passes without running).

mod forwarding;
mod lifecycle;
mod names;
mod support;
