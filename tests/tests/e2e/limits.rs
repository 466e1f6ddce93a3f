//! Abuse of both listeners (the unix socket and the TLS port): random
//! bytes, silence, too many connections, oversized and malformed requests.
//! cnmd refuses each with a clear status or closes the connection, and
//! answers a normal request after every one.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use cnm_tests::exec::eventually;
use cnm_tests::needs::Need;
use cnm_tests::remote::{
    grpc_call, grpc_frame, noise, send_and_await_close, GrpcReply, Listener, RemoteHost,
};
use cnm_tests::{case, kernel_and, Case, KERNEL};

/// [`KERNEL`] plus curl, the raw HTTP/2 client.
const KERNEL_CURL: &[Need] = kernel_and![Need::Tool("curl")];

/// cnmd's connection budget for all TCP listeners together.
const MAX_TCP_CONNECTIONS: usize = 128;

/// cnmd's largest request message.
const MAX_REQUEST_BYTES: usize = 1 << 20;

pub fn cases() -> Vec<Case> {
    vec![
        case(
            "random_bytes_on_both_listeners",
            KERNEL,
            random_bytes_on_both_listeners,
        ),
        case(
            "silent_connections_are_closed",
            KERNEL,
            silent_connections_are_closed,
        ),
        case(
            "tcp_connection_limit_spares_the_unix_socket",
            KERNEL,
            tcp_connection_limit_spares_the_unix_socket,
        ),
        case(
            "oversized_requests_are_refused",
            KERNEL_CURL,
            oversized_requests_are_refused,
        ),
        case(
            "malformed_grpc_is_refused",
            KERNEL_CURL,
            malformed_grpc_is_refused,
        ),
        case("stop_timeout_is_bounded", KERNEL, stop_timeout_is_bounded),
    ]
}

/// How long cnmd may keep a connection that never completes its TLS
/// handshake or HTTP/2 preface (10 s), plus slack.
const CLOSE_WITHIN: Duration = Duration::from_secs(15);

fn unix(remote: &RemoteHost) -> UnixStream {
    let stream = UnixStream::connect(remote.host.socket()).expect("connect to the unix socket");
    stream
        .set_read_timeout(Some(CLOSE_WITHIN))
        .expect("read timeout");
    stream
}

fn random_bytes_on_both_listeners() {
    let remote = RemoteHost::start();
    // Short ones too: fewer bytes than a TLS record header or the HTTP/2
    // preface leave cnmd waiting for more, until its deadline.
    let sizes = [1, 5, 23, 24, 517, 4096, 65_536, 1 << 20];
    let mut unix_conns: Vec<_> = sizes.iter().map(|_| unix(&remote)).collect();
    let mut tcp_conns: Vec<_> = sizes.iter().map(|_| remote.tcp()).collect();
    // Written from threads: a megabyte does not fit in a socket buffer.
    std::thread::scope(|scope| {
        let mut closes = Vec::new();
        for (seed, (stream, len)) in unix_conns.iter_mut().zip(sizes).enumerate() {
            closes.push(
                scope.spawn(move || send_and_await_close(stream, &noise(seed as u64 + 1, len))),
            );
        }
        for (seed, (stream, len)) in tcp_conns.iter_mut().zip(sizes).enumerate() {
            closes.push(
                scope.spawn(move || send_and_await_close(stream, &noise(seed as u64 + 101, len))),
            );
        }
        // While the garbage sits in cnmd, other clients are served.
        remote.assert_serving("random bytes (still open)");
        for (i, close) in closes.into_iter().enumerate() {
            let closed = close.join().expect("writer thread");
            assert!(
                closed.is_ok(),
                "garbage connection {i} was not closed: {closed:?}"
            );
        }
    });
    remote.assert_serving("random bytes on both listeners");
}

fn silent_connections_are_closed() {
    let remote = RemoteHost::start();
    let mut silent: Vec<Box<dyn ReadWrite + Send>> = Vec::new();
    for _ in 0..20 {
        silent.push(Box::new(unix(&remote)));
        silent.push(Box::new(remote.tcp()));
    }
    remote.assert_serving("40 silent connections (still open)");
    std::thread::scope(|scope| {
        let closes: Vec<_> = silent
            .iter_mut()
            .map(|stream| scope.spawn(move || send_and_await_close(stream, &[])))
            .collect();
        for (i, close) in closes.into_iter().enumerate() {
            let closed = close.join().expect("reader thread");
            assert!(
                closed.is_ok(),
                "silent connection {i} is still open: {closed:?}"
            );
        }
    });
    remote.assert_serving("silent connections");
}

trait ReadWrite: std::io::Read + std::io::Write {}
impl<T: std::io::Read + std::io::Write> ReadWrite for T {}

fn tcp_connection_limit_spares_the_unix_socket() {
    let remote = RemoteHost::start();
    let extra = 12;
    let conns: Vec<_> = (0..MAX_TCP_CONNECTIONS + extra)
        .map(|_| remote.tcp())
        .collect();
    for conn in &conns {
        conn.set_nonblocking(true).expect("nonblocking");
    }
    // cnmd closes the connections above its budget at once and keeps the
    // others (until their handshake deadline).
    let closed_count = || conns.iter().filter(|c| is_closed(c)).count();
    let counted = eventually(Duration::from_secs(5), || match closed_count() {
        n if n == extra => Ok(n),
        n => Err(format!("{n} connections closed, expected {extra}")),
    });
    assert!(counted.is_ok(), "{counted:?}\n{}", remote.host.log_tail());
    let local = remote.host.cnm(&["net", "ls"]);
    assert!(
        local.success(),
        "the unix socket is locked out by TCP clients: {local}"
    );
    let refused = remote.cnm_with(&remote.client, &["net", "ls"]);
    assert!(
        !refused.success(),
        "a client over the budget was served: {refused}"
    );
    assert!(
        remote.host.log().contains("connection limit reached"),
        "the limit is not logged\n{}",
        remote.host.log_tail()
    );
    drop(conns);
    let served = eventually(Duration::from_secs(5), || {
        let out = remote.cnm_with(&remote.client, &["net", "ls", "-q"]);
        if out.success() {
            Ok(())
        } else {
            Err(out.to_string())
        }
    });
    assert!(
        served.is_ok(),
        "TCP clients are not served again: {served:?}"
    );
}

/// True when cnmd has closed `conn` (a nonblocking read says EOF or reset,
/// not "nothing yet").
fn is_closed(mut conn: &std::net::TcpStream) -> bool {
    match conn.read(&mut [0u8; 1]) {
        Ok(n) => n == 0,
        Err(err) => err.kind() != std::io::ErrorKind::WouldBlock,
    }
}

fn oversized_requests_are_refused() {
    let remote = RemoteHost::start();
    // Nine labels of 120 KiB: above the 1 MiB limit, below the kernel's
    // limits on one argument (128 KiB) and on all of them.
    let value = "v".repeat(120 << 10);
    let labels: Vec<String> = (0..9).map(|i| format!("k{i}={value}")).collect();
    let mut args = vec!["net", "create"];
    for label in &labels {
        args.extend(["--label", label.as_str()]);
    }
    args.push("huge");
    let out = remote.host.cnm(&args);
    assert!(
        !out.success(),
        "an oversized request over unix was served: {}",
        out.status.is_some()
    );
    assert!(
        out.stderr.contains("too large"),
        "unix: {}",
        out.stderr.chars().take(300).collect::<String>()
    );
    remote.assert_serving("an oversized request over unix");
    let out = remote.cnm_with(&remote.client, &args);
    assert!(!out.success(), "an oversized request over TLS was served");
    assert!(
        out.stderr.contains("too large"),
        "TLS: {}",
        out.stderr.chars().take(300).collect::<String>()
    );
    remote.assert_serving("an oversized request over TLS");

    // A label below the message limit is still checked.
    let long = format!("k={}", "v".repeat(5000));
    let out = remote
        .host
        .cnm_err(&["net", "create", "--label", &long, "long"]);
    assert!(out.stderr.contains("at most 4096"), "long label: {out}");

    for listener in [Listener::Unix(remote.host.socket()), Listener::Tls(&remote)] {
        // gRPC metadata far above cnmd's 16 KiB header limit.
        let big = format!("x-big: {}", "h".repeat(64 << 10));
        let reply = grpc_call(
            &listener,
            remote.dir(),
            LIST,
            &grpc_frame(false, 0, &[]),
            &[&big],
        );
        assert_ne!(
            reply.status,
            Some(0),
            "64 KiB of headers were served: {reply:?}"
        );
        // A message one byte over the limit, really sent. cnmd answers
        // before the upload ends and resets the stream (NO_ERROR), which
        // curl 7.88 reports as a framing error without the status.
        let body = vec![0u8; MAX_REQUEST_BYTES + 1];
        let len = u32::try_from(body.len()).expect("fits u32");
        let reply = grpc_call(
            &listener,
            remote.dir(),
            CREATE,
            &grpc_frame(false, len, &body),
            &[],
        );
        assert_ne!(
            reply.status,
            Some(0),
            "an oversized message was served: {reply:?}"
        );
        if reply.status.is_some() {
            assert_refused(&reply, "too large");
        }
        remote.assert_serving("oversized raw requests");
    }
}

const CREATE: &str = "cnm.v1.NetworkService/CreateNetwork";
const LIST: &str = "cnm.v1.NetworkService/ListNetworks";

fn malformed_grpc_is_refused() {
    let remote = RemoteHost::start();
    for listener in [Listener::Unix(remote.host.socket()), Listener::Tls(&remote)] {
        let dir = remote.dir();
        // The control: a well-formed empty ListNetworks request is served.
        let reply = grpc_call(&listener, dir, LIST, &grpc_frame(false, 0, &[]), &[]);
        assert_eq!(
            reply.status,
            Some(0),
            "the raw client itself is broken: {reply:?}"
        );

        let cases: [(&str, Vec<u8>, &str); 5] = [
            (
                "invalid protobuf",
                grpc_frame(false, 5, &[0xff; 5]),
                "decode",
            ),
            (
                "a declared length of 4 GiB",
                grpc_frame(false, u32::MAX, b"tiny"),
                "too large",
            ),
            (
                "a truncated message",
                grpc_frame(false, 100, &[0x0a, 0x02]),
                "EOF",
            ),
            (
                "compression nobody asked for",
                grpc_frame(true, 2, &[1, 2]),
                "compressed",
            ),
            ("random bytes as the body", noise(42, 4096), ""),
        ];
        for (what, body, needle) in cases {
            let reply = grpc_call(&listener, dir, CREATE, &body, &[]);
            assert_refused(&reply, needle);
            remote.assert_serving(what);
        }
        // cnmd answers an unknown method before reading the body and resets
        // the stream; curl 7.88 sometimes reports that as its own error 92
        // instead of printing the answer. Retry only that curl artifact.
        let mut reply = None;
        for _ in 0..5 {
            let r = grpc_call(
                &listener,
                dir,
                "cnm.v1.NetworkService/NoSuchCall",
                &grpc_frame(false, 0, &[]),
                &[],
            );
            let curl_stream_error = r.status.is_none() && r.curl.stderr.contains("(92)");
            reply = Some(r);
            if !curl_stream_error {
                break;
            }
        }
        let reply = reply.expect("at least one attempt");
        assert_eq!(reply.status, Some(12), "unknown method: {reply:?}");
        remote.assert_serving("malformed gRPC");
    }
    let names = remote.host.cnm_ok(&["net", "ls", "-q"]);
    assert_eq!(
        names.lines().count(),
        3,
        "a malformed request created something: {names}"
    );
}

/// Panics unless cnmd answered with a non-OK status mentioning `needle`.
fn assert_refused(reply: &GrpcReply, needle: &str) {
    match reply.status {
        Some(status) if status != 0 => assert!(
            reply.message.contains(needle),
            "expected the status message to mention {needle:?}: {reply:?}"
        ),
        _ => panic!("expected a refusal: {reply:?}"),
    }
}

fn stop_timeout_is_bounded() {
    let remote = RemoteHost::start();
    let out = remote
        .host
        .cnm(&["stop", "-t", "100000", "nosuchcontainer"]);
    assert!(!out.success(), "{out}");
    assert!(out.stderr.contains("at most 240s"), "{out}");
    remote.assert_serving("a long stop timeout");
}
