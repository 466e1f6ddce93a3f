//! Overlay networks with TLS to etcd (`--cluster-store etcds://…`): etcd
//! serves only TLS, with a certificate from the test CA and, here, client
//! certificates required. Hosts with the CA and a client certificate work
//! as over plain etcd; a cnmd that cannot complete the handshake (another
//! CA, no client certificate, an expired etcd certificate, plain `etcd://`)
//! refuses to start at once, saying why.

use std::time::Duration;

use cnm_tests::cluster::{tls_flags, Cluster, EtcdTls, CLUSTER, ETCD_IP};
use cnm_tests::exec::CmdOutput;
use cnm_tests::pki::{Ca, TlsFiles, Validity};
use cnm_tests::traffic::{sock, tcp_request, EchoServer, Proto};
use cnm_tests::{case, Case};

use crate::overlay::{connect, create_overlay, wait_until};

/// How long a refused cnmd may take: its start, then etcd's handshake
/// within the 4 s connect deadline, with room for a busy machine.
const REFUSAL_LIMIT: Duration = Duration::from_secs(8);

pub fn cases() -> Vec<Case> {
    vec![
        case(
            "containers_talk_over_a_tls_store",
            CLUSTER,
            containers_talk_over_a_tls_store,
        ),
        case(
            "ca_that_did_not_sign_etcd_is_named",
            CLUSTER,
            ca_that_did_not_sign_etcd_is_named,
        ),
        case(
            "missing_client_certificate_is_named",
            CLUSTER,
            missing_client_certificate_is_named,
        ),
        case(
            "expired_etcd_certificate_is_named",
            CLUSTER,
            expired_etcd_certificate_is_named,
        ),
        case(
            "plain_store_to_tls_etcd_is_refused",
            CLUSTER,
            plain_store_to_tls_etcd_is_refused,
        ),
    ]
}

/// A CA, etcd's certificate for [`ETCD_IP`] (valid or expired) and a
/// client certificate for the hosts, in a temp dir.
struct Pki {
    dir: tempfile::TempDir,
    ca: Ca,
    etcd: EtcdTls,
    client: TlsFiles,
}

impl Pki {
    fn new(etcd_validity: Validity) -> Pki {
        let dir = tempfile::tempdir().expect("pki dir");
        let ca = Ca::new(dir.path(), "cluster");
        let server = ca.server("etcd", &[ETCD_IP], etcd_validity);
        let client = ca.client("cnmd", Validity::Current);
        Pki {
            dir,
            ca,
            etcd: EtcdTls {
                server,
                client_cert_auth: true,
            },
            client,
        }
    }

    /// A TLS etcd without hosts, for cnmds expected to refuse.
    fn etcd_alone(&self) -> Cluster {
        Cluster::start_tls(0, 15, &self.etcd, &[])
    }
}

/// Panics unless cnmd's refusal names the cluster store and says each of
/// `needles`.
fn assert_refused_saying(out: &CmdOutput, needles: &[&str]) {
    assert!(
        out.stderr.contains("cluster store"),
        "refusal does not name the cluster store: {out}"
    );
    for needle in needles {
        assert!(
            out.stderr.contains(needle),
            "expected the refusal to say {needle:?}: {out}"
        );
    }
}

fn containers_talk_over_a_tls_store() {
    let pki = Pki::new(Validity::Current);
    let flags = tls_flags(pki.ca.pem(), Some(&pki.client));
    let cluster = Cluster::start_tls(2, 15, &pki.etcd, &flags);
    assert!(
        cluster.store().starts_with("etcds://"),
        "{}",
        cluster.store()
    );
    let [a, b] = &cluster.hosts[..] else {
        unreachable!()
    };
    create_overlay(&cluster.hosts, "ov", "10.95.0.0/24", &[]);
    let (ca, cb) = (a.container("ca"), b.container("cb"));
    let (ia, ib) = (connect(a, "ov", &ca), connect(b, "ov", &cb));
    for (from, to) in [(&ca, &ib), (&cb, &ia)] {
        wait_until(Duration::from_secs(5), "ping across hosts", || {
            from.ping(to).success()
        });
    }
    let _server = EchoServer::start(cb.ns(), Proto::Tcp, 8080, "cb");
    let reply = tcp_request(ca.ns(), sock(&ib, 8080)).expect("TCP across hosts");
    assert_eq!(reply.tag, "cb");
    assert_eq!(reply.peer.to_string(), ia, "the source address is kept");
}

fn ca_that_did_not_sign_etcd_is_named() {
    let pki = Pki::new(Validity::Current);
    let mut cluster = pki.etcd_alone();
    let other = Ca::new(pki.dir.path(), "other");
    let flags = tls_flags(other.pem(), Some(&pki.client));
    let store = cluster.store().to_owned();
    let out = cluster.start_refused(&store, &flags, REFUSAL_LIMIT);
    let path = other.pem().display().to_string();
    assert_refused_saying(
        &out,
        &[
            "etcd's certificate is not signed by the CA in --cluster-cacert",
            &path,
        ],
    );
}

fn missing_client_certificate_is_named() {
    let pki = Pki::new(Validity::Current);
    let mut cluster = pki.etcd_alone();
    let store = cluster.store().to_owned();
    let out = cluster.start_refused(&store, &tls_flags(pki.ca.pem(), None), REFUSAL_LIMIT);
    assert_refused_saying(
        &out,
        &[
            "etcd requires a client certificate",
            "--cluster-cert and --cluster-key",
        ],
    );
}

fn expired_etcd_certificate_is_named() {
    let pki = Pki::new(Validity::Expired);
    let mut cluster = pki.etcd_alone();
    let store = cluster.store().to_owned();
    let flags = tls_flags(pki.ca.pem(), Some(&pki.client));
    let out = cluster.start_refused(&store, &flags, REFUSAL_LIMIT);
    assert_refused_saying(&out, &["etcd's certificate has expired"]);
}

fn plain_store_to_tls_etcd_is_refused() {
    let pki = Pki::new(Validity::Current);
    let mut cluster = pki.etcd_alone();
    let plain = format!("etcd://{ETCD_IP}:2379");
    let out = cluster.start_refused(&plain, &[], REFUSAL_LIMIT);
    assert_refused_saying(
        &out,
        &[&format!("use --cluster-store etcds://{ETCD_IP}:2379")],
    );
}
