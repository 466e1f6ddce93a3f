//! The remote API: cnmd on `tcp://127.0.0.1:2376` (inside the test host's
//! namespace) with mutual TLS. A client with a certificate from cnmd's CA
//! works; every other client fails the handshake with its cause named, and
//! cnmd keeps serving. cnmd refuses to start a TCP listener without mutual
//! TLS, and its unix socket is 0660 root:`--group`.

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use cnm_tests::exec::{run, run_with_timeout, CmdOutput};
use cnm_tests::inspect::parse_ls;
use cnm_tests::netns::{unique_base_name, NetNs};
use cnm_tests::pki::{Ca, TlsFiles, Validity};
use cnm_tests::remote::{
    in_netns, send_and_await_close, tls_verdict, RemoteHost, Verdict, TLS_ADDR,
};
use cnm_tests::{binaries, case, Case, Host, KERNEL};
use rustls::AlertDescription;

pub fn cases() -> Vec<Case> {
    vec![
        case(
            "mtls_client_creates_and_lists_networks",
            KERNEL,
            mtls_client_creates_and_lists_networks,
        ),
        case(
            "client_settings_come_from_the_environment",
            KERNEL,
            client_settings_come_from_the_environment,
        ),
        case(
            "client_without_certificate_fails_the_handshake",
            KERNEL,
            client_without_certificate_fails_the_handshake,
        ),
        case(
            "client_certificate_of_another_ca_is_refused",
            KERNEL,
            client_certificate_of_another_ca_is_refused,
        ),
        case(
            "expired_client_certificate_is_refused",
            KERNEL,
            expired_client_certificate_is_refused,
        ),
        case(
            "server_certificate_problems_are_named",
            KERNEL,
            server_certificate_problems_are_named,
        ),
        case(
            "expired_server_certificate_is_named",
            KERNEL,
            expired_server_certificate_is_named,
        ),
        case(
            "plaintext_client_on_the_tls_port_is_cut_off",
            KERNEL,
            plaintext_client_on_the_tls_port_is_cut_off,
        ),
        case(
            "refuses_to_start_without_mutual_tls",
            KERNEL,
            refuses_to_start_without_mutual_tls,
        ),
        case(
            "unix_socket_is_0660_root_and_group",
            KERNEL,
            unix_socket_is_0660_root_and_group,
        ),
    ]
}

fn mtls_client_creates_and_lists_networks() {
    let remote = RemoteHost::start();
    remote.cnm_ok(&["net", "create", "--subnet", "10.77.0.0/24", "faraway"]);
    let listed = remote.cnm_ok(&["net", "ls"]);
    assert!(has_network(&listed, "faraway"), "net ls over TLS: {listed}");
    // The same daemon, seen from its unix socket.
    let local = remote.host.cnm_ok(&["net", "ls"]);
    assert!(has_network(&local, "faraway"), "net ls over unix: {local}");
    // What a remote client changes is logged with its address.
    let log = remote.host.log();
    let created = log
        .lines()
        .find(|l| l.contains("network created") && l.contains("faraway"))
        .unwrap_or_else(|| panic!("no `network created` line\n{}", remote.host.log_tail()));
    assert!(
        created.contains("remote{peer=127.0.0.1:"),
        "not attributed to the client: {created}"
    );
}

fn client_settings_come_from_the_environment() {
    let remote = RemoteHost::start();
    remote.host.cnm_ok(&["net", "create", "local1"]);
    // CNM_CERT_PATH: a folder with ca.pem, cert.pem and key.pem.
    let certs = remote.dir().join("certs");
    std::fs::create_dir(&certs).expect("mkdir certs");
    for (from, to) in [
        (&remote.client.ca, "ca.pem"),
        (&remote.client.cert, "cert.pem"),
        (&remote.client.key, "key.pem"),
    ] {
        std::fs::copy(from, certs.join(to)).expect("copy certificate");
    }
    let cnm = binaries::cnm();
    let mut cmd = remote
        .host
        .ns()
        .command(&[&cnm.to_string_lossy(), "net", "ls"]);
    cmd.env("CNM_HOST", format!("tcp://{TLS_ADDR}"))
        .env("CNM_TLS_VERIFY", "1")
        .env("CNM_CERT_PATH", &certs);
    let out = run(&mut cmd);
    assert!(
        out.success(),
        "cnm from the environment: {out}\n{}",
        remote.host.log_tail()
    );
    assert!(has_network(&out.stdout, "local1"), "{out}");
    // Without CNM_TLS_VERIFY, TCP is refused by the client itself.
    cmd.env("CNM_TLS_VERIFY", "");
    let out = run(&mut cmd);
    assert!(!out.success(), "plain TCP was attempted: {out}");
    assert!(out.stderr.contains("--tlsverify"), "no advice: {out}");
}

fn client_without_certificate_fails_the_handshake() {
    let remote = RemoteHost::start();
    match tls_verdict(remote.tcp(), remote.ca.pem(), None) {
        Verdict::Refused(rustls::Error::AlertReceived(AlertDescription::CertificateRequired)) => {}
        other => panic!("a client without certificate got {other:?}"),
    }
    // The control: the same client with a certificate is accepted.
    let verdict = tls_verdict(remote.tcp(), remote.ca.pem(), Some(&remote.client));
    assert!(
        matches!(verdict, Verdict::Accepted),
        "valid client: {verdict:?}"
    );
    remote.assert_serving("a client without certificate");
}

fn client_certificate_of_another_ca_is_refused() {
    let remote = RemoteHost::start();
    let other = Ca::new(remote.dir(), "other");
    let intruder = other.client("intruder", Validity::Current);
    let files = TlsFiles {
        ca: remote.ca.pem().to_path_buf(),
        ..intruder.clone()
    };
    let out = remote.cnm_with(&files, &["net", "create", "intruded"]);
    assert_fails_saying(&out, &["refused the client certificate", "unknown CA"]);
    match tls_verdict(remote.tcp(), remote.ca.pem(), Some(&intruder)) {
        Verdict::Refused(rustls::Error::AlertReceived(AlertDescription::UnknownCA)) => {}
        other => panic!("a client of another CA got {other:?}"),
    }
    assert!(
        remote.host.log().contains("TLS handshake failed"),
        "the refusal is not logged\n{}",
        remote.host.log_tail()
    );
    let names = remote.host.cnm_ok(&["net", "ls"]);
    assert!(
        !has_network(&names, "intruded"),
        "the refused client created a network"
    );
    remote.assert_serving("a client of another CA");
}

fn expired_client_certificate_is_refused() {
    let remote = RemoteHost::start();
    let expired = remote.ca.client("expired", Validity::Expired);
    let out = remote.cnm_with(&expired, &["net", "ls"]);
    assert_fails_saying(&out, &["refused the client certificate", "expired"]);
    remote.assert_serving("an expired client certificate");
}

fn server_certificate_problems_are_named() {
    let remote = RemoteHost::start();
    // The client trusts another CA than the one that signed cnmd's certificate.
    let other = Ca::new(remote.dir(), "other");
    let files = TlsFiles {
        ca: other.pem().to_path_buf(),
        ..remote.client.clone()
    };
    let out = remote.cnm_with(&files, &["net", "ls"]);
    assert_fails_saying(
        &out,
        &["cnmd's certificate is not signed by the CA", "unknown CA"],
    );
    // cnmd's certificate names 127.0.0.1 only.
    let mut cmd = remote.cnm_command("tcp://localhost:2376");
    cmd.args(remote.client.flags()).args(["net", "ls"]);
    let out = run(&mut cmd);
    assert_fails_saying(&out, &["not valid for localhost", "hostname mismatch"]);
    remote.assert_serving("clients that distrust cnmd");
}

fn expired_server_certificate_is_named() {
    let remote = RemoteHost::start_with(Validity::Expired);
    let out = remote.cnm_with(&remote.client, &["net", "ls"]);
    assert_fails_saying(&out, &["cnmd's certificate has expired"]);
    assert!(
        remote.host.cnm(&["net", "ls"]).success(),
        "the unix socket stopped answering"
    );
}

fn plaintext_client_on_the_tls_port_is_cut_off() {
    let remote = RemoteHost::start();
    // What a plaintext gRPC client sends first: the HTTP/2 preface and SETTINGS.
    let mut opening = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    opening.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    let mut stream = remote.tcp();
    let reply = send_and_await_close(&mut stream, &opening)
        .unwrap_or_else(|e| panic!("cnmd kept a plaintext client: {e}"));
    // Nothing, or a TLS alert record (content type 21): never HTTP/2.
    assert!(
        reply.first().is_none_or(|b| *b == 21),
        "cnmd answered plaintext with {:02x?}",
        &reply[..reply.len().min(16)]
    );
    remote.assert_serving("a plaintext client");
}

/// Each cnmd command line is refused before cnmd opens its state or any
/// listener, with the reason on stderr.
fn refuses_to_start_without_mutual_tls() {
    let pki = tempfile::tempdir().expect("pki dir");
    let ca = Ca::new(pki.path(), "main");
    let server = ca.server("server", &["127.0.0.1"], Validity::Current);
    let client = ca.client("client", Validity::Current);
    let tcp = format!("tcp://{TLS_ADDR}");
    let path = |p: &std::path::Path| p.display().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["-H".into(), tcp.clone()], "without mutual TLS"),
        (
            vec![
                "-H".into(),
                tcp.clone(),
                "--tlsverify".into(),
                "--tlscacert".into(),
                path(pki.path().join("main-ca.pem").as_path()),
            ],
            "missing: --tlscert, --tlskey",
        ),
        (
            vec![
                "-H".into(),
                tcp.clone(),
                "--tlsverify".into(),
                "--tlscacert".into(),
                "/nonexistent/ca.pem".into(),
                "--tlscert".into(),
                path(&server.cert),
                "--tlskey".into(),
                path(&server.key),
            ],
            "/nonexistent/ca.pem",
        ),
        (
            vec![
                "-H".into(),
                tcp.clone(),
                "--tlsverify".into(),
                "--tlscacert".into(),
                path(&server.ca),
                "--tlscert".into(),
                path(&server.cert),
                "--tlskey".into(),
                path(&client.key),
            ],
            "do not make a usable pair",
        ),
        (
            vec!["--tlscert".into(), path(&server.cert)],
            "needs --tlsverify",
        ),
        (
            vec!["--group".into(), "cnmt-no-such-group".into()],
            "no such group",
        ),
        (
            vec!["-H".into(), "tcp://127.0.0.1:notaport".into()],
            "invalid port",
        ),
    ];
    for (args, needle) in cases {
        let out = start_refused(&args);
        assert!(
            out.stderr.contains(needle),
            "expected the refusal to mention {needle:?}: {out}"
        );
    }
}

/// Runs cnmd with `args` in a fresh namespace and dirs; panics unless it
/// exits non-zero at once, leaving no state and nothing listening.
fn start_refused(args: &[String]) -> CmdOutput {
    let ns = NetNs::create(&unique_base_name());
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("root");
    let cnmd = binaries::cnmd();
    let mut cmd = ns.command(&[&cnmd.to_string_lossy()]);
    cmd.arg("--root")
        .arg(&root)
        .arg("--run-root")
        .arg(dir.path().join("run"))
        .args(args);
    let out = run_with_timeout(&mut cmd, Duration::from_secs(10));
    assert!(
        !out.success() && !out.timed_out(),
        "cnmd did not refuse to start: {out}"
    );
    assert!(
        !root.join("state").exists(),
        "cnmd opened its store before refusing: {out}"
    );
    let listening = in_netns(&ns, || std::net::TcpStream::connect(TLS_ADDR).is_ok());
    assert!(
        !listening,
        "something listens on {TLS_ADDR} after the refusal: {out}"
    );
    out
}

fn unix_socket_is_0660_root_and_group() {
    let (name, gid) = some_group();
    let host = Host::start_with(&["--group", &name]);
    let meta = std::fs::metadata(host.socket()).expect("socket");
    assert_eq!(meta.mode() & 0o777, 0o660, "socket mode");
    assert_eq!(meta.uid(), 0, "socket owner");
    assert_eq!(meta.gid(), gid, "socket group (--group {name})");
    host.cnm_ok(&["net", "ls"]);

    let plain = Host::start();
    let meta = std::fs::metadata(plain.socket()).expect("socket");
    assert_eq!(meta.mode() & 0o777, 0o660, "socket mode without --group");
    assert_eq!(meta.uid(), 0, "socket owner without --group");
}

/// A group other than root's, from /etc/group.
fn some_group() -> (String, u32) {
    let groups = std::fs::read_to_string("/etc/group").expect("read /etc/group");
    groups
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let gid = fields.nth(1)?.parse::<u32>().ok()?;
            (gid != 0).then(|| (name.to_string(), gid))
        })
        .next()
        .expect("a group other than root in /etc/group")
}

/// Panics unless `out` failed with one line of error mentioning every
/// needle.
fn assert_fails_saying(out: &CmdOutput, needles: &[&str]) {
    assert!(
        !out.success() && !out.timed_out(),
        "expected a failure: {out}"
    );
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("Error:"))
        .collect();
    assert_eq!(errors.len(), 1, "expected one error line: {out}");
    for needle in needles {
        assert!(
            errors[0].contains(needle),
            "expected the error to mention {needle:?}: {out}"
        );
    }
}

/// True when the `net ls` table lists `name`.
fn has_network(table: &str, name: &str) -> bool {
    parse_ls(table).iter().any(|row| row.name == name)
}
