//! A multi-host test cluster: an "underlay" namespace with a bridge that
//! joins N test hosts (each a [`Host`] with its own cnmd, `eth0` on the
//! underlay at 192.168.240.(i+1)/24) and runs a real etcd on
//! 192.168.240.254:2379, with its own data dir. Every cluster has its own
//! namespaces, so clusters of parallel tests never meet. etcd speaks plain
//! HTTP, or only TLS with [`Cluster::start_tls`].

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::exec::{run_with_timeout, CmdOutput};
use crate::netns::{unique_base_name, NetNs};
use crate::pki::TlsFiles;
use crate::traffic::in_netns;
use crate::{binaries, Host};

/// etcd's address on the underlay.
pub const ETCD_IP: &str = "192.168.240.254";

/// Needs of cluster tests: kernel tests plus the etcd server (Debian's
/// `etcd-server`, see dev/deps) and busybox for ping.
pub const CLUSTER: &[crate::Need] =
    crate::kernel_and![crate::Need::Tool("busybox"), crate::Need::Tool("etcd")];

/// TLS on etcd's client port ([`Cluster::start_tls`]).
pub struct EtcdTls {
    /// etcd's certificate and key (`--cert-file`, `--key-file`; name
    /// [`ETCD_IP`] in it) and the CA it trusts for client certificates
    /// (`--trusted-ca-file`).
    pub server: TlsFiles,
    /// `--client-cert-auth`: etcd refuses clients without a certificate
    /// from that CA.
    pub client_cert_auth: bool,
}

/// cnmd's flags for a TLS etcd: `--cluster-cacert CA`, and the client
/// certificate and key when given.
pub fn tls_flags(ca: &Path, client: Option<&TlsFiles>) -> Vec<String> {
    let mut flags = vec!["--cluster-cacert".to_owned(), ca.display().to_string()];
    if let Some(client) = client {
        flags.extend([
            "--cluster-cert".to_owned(),
            client.cert.display().to_string(),
            "--cluster-key".to_owned(),
            client.key.display().to_string(),
        ]);
    }
    flags
}

pub struct Cluster {
    /// Dropped first: cnmd goes before etcd and the underlay.
    pub hosts: Vec<Host>,
    etcd: Option<Child>,
    underlay: NetNs,
    _etcd_dir: tempfile::TempDir,
    /// `etcd://…` or `etcds://…`.
    store: String,
    /// Underlay slots taken (hosts and refused starts): the next one's index.
    joined: usize,
}

impl Cluster {
    /// Starts the underlay, etcd, and `n` hosts joined with `--cluster-ttl
    /// ttl` (seconds).
    pub fn start(n: usize, ttl: u64) -> Cluster {
        Cluster::launch(n, ttl, None, &[])
    }

    /// As [`Cluster::start`], with etcd serving only TLS with `tls`, and
    /// the hosts joining with `etcds://` and `host_args` (see
    /// [`tls_flags`]).
    pub fn start_tls(n: usize, ttl: u64, tls: &EtcdTls, host_args: &[String]) -> Cluster {
        Cluster::launch(n, ttl, Some(tls), host_args)
    }

    fn launch(n: usize, ttl: u64, tls: Option<&EtcdTls>, host_args: &[String]) -> Cluster {
        let underlay = NetNs::create(&format!("{}-ul", unique_base_name()));
        // A fixed MAC: a bridge without one takes its lowest port's, so a
        // host leaving would change etcd's MAC under the others' ARP caches.
        underlay.ip_ok(&[
            "link",
            "add",
            "ul0",
            "address",
            "02:00:00:00:00:fe",
            "type",
            "bridge",
        ]);
        underlay.ip_ok(&["addr", "add", &format!("{ETCD_IP}/24"), "dev", "ul0"]);
        underlay.ip_ok(&["link", "set", "ul0", "up"]);
        let etcd_dir = tempfile::Builder::new()
            .prefix("cnmt-etcd-")
            .tempdir()
            .expect("etcd dir");
        let etcd = start_etcd(&underlay, etcd_dir.path(), tls);
        let scheme = if tls.is_some() { "etcds" } else { "etcd" };
        let mut cluster = Cluster {
            hosts: Vec::new(),
            etcd: Some(etcd),
            underlay,
            _etcd_dir: etcd_dir,
            store: format!("{scheme}://{ETCD_IP}:2379"),
            joined: 0,
        };
        cluster.wait_for_etcd();
        let ttl = ttl.to_string();
        for _ in 0..n {
            let i = cluster.take_slot();
            let ip = Cluster::host_ip(i);
            let mut args = vec![
                "--cluster-store",
                &cluster.store,
                "--cluster-advertise",
                &ip,
                "--cluster-ttl",
                &ttl,
            ];
            args.extend(host_args.iter().map(String::as_str));
            let host =
                Host::start_prepared(|ns| join_underlay(&cluster.underlay, ns, i, &ip), &args);
            cluster.hosts.push(host);
        }
        cluster
    }

    /// The `--cluster-store` of the hosts: `etcd://…`, or `etcds://…` when
    /// etcd speaks TLS.
    pub fn store(&self) -> &str {
        &self.store
    }

    /// Runs cnmd as one more host on the underlay, with `--cluster-store
    /// store` and `args`, and returns its output; panics unless it refuses
    /// to start (exits non-zero) within `limit`.
    pub fn start_refused(&mut self, store: &str, args: &[String], limit: Duration) -> CmdOutput {
        let i = self.take_slot();
        let ip = Cluster::host_ip(i);
        let ns = NetNs::create(&unique_base_name());
        join_underlay(&self.underlay, &ns, i, &ip);
        let dir = tempfile::Builder::new()
            .prefix("cnmt-refused-")
            .tempdir()
            .expect("temp dir");
        let cnmd = binaries::cnmd();
        let mut cmd = ns.command(&[&cnmd.to_string_lossy()]);
        cmd.arg("--root")
            .arg(dir.path().join("root"))
            .arg("--run-root")
            .arg(dir.path().join("run"))
            .args(["--cluster-store", store, "--cluster-advertise", &ip])
            .args(args);
        let start = Instant::now();
        let out = run_with_timeout(&mut cmd, limit + Duration::from_secs(5));
        let took = start.elapsed();
        assert!(
            !out.success() && !out.timed_out(),
            "cnmd did not refuse to start: {out}"
        );
        assert!(took < limit, "cnmd took {took:?} to refuse: {out}");
        out
    }

    fn take_slot(&mut self) -> usize {
        self.joined += 1;
        assert!(self.joined < 254, "the underlay /24 is full");
        self.joined - 1
    }

    /// The underlay namespace (etcd's): a machine on the hosts' LAN that
    /// knows no container subnet.
    pub fn underlay(&self) -> &NetNs {
        &self.underlay
    }

    /// Writes `key` = `value` straight into etcd (its JSON gateway, with
    /// curl from the underlay): cluster state no cnmd made, for tests of
    /// what cnmd does when it finds it.
    pub fn etcd_put(&self, key: &str, value: &str) {
        let b64 = |text: &str| {
            let out = crate::exec::run_ok(
                Command::new("sh")
                    .arg("-c")
                    .arg("printf %s \"$1\" | base64 -w0")
                    .arg("sh")
                    .arg(text),
            );
            out.trim().to_owned()
        };
        let body = format!(r#"{{"key":"{}","value":"{}"}}"#, b64(key), b64(value));
        let out = crate::exec::run_ok(&mut self.underlay.command(&[
            "curl",
            "-sS",
            "--fail",
            "-X",
            "POST",
            &format!("http://{ETCD_IP}:2379/v3/kv/put"),
            "-d",
            &body,
        ]));
        assert!(out.contains("header"), "etcd put {key}: {out}");
    }

    /// Underlay address of host `i`.
    pub fn host_ip(i: usize) -> String {
        format!("192.168.240.{}", i + 1)
    }

    /// Drops the packets between etcd and host `i`, both ways (blackhole
    /// routes in the underlay namespace, where etcd runs, and in the
    /// host's): the host loses etcd, and etcd sees nothing the host sends,
    /// but the host keeps the underlay, which is bridged, not routed.
    pub fn cut_off_etcd(&self, i: usize) {
        self.etcd_blackholes(i, "add");
    }

    /// Undoes [`Cluster::cut_off_etcd`].
    pub fn reconnect_etcd(&self, i: usize) {
        self.etcd_blackholes(i, "del");
    }

    /// `ip route ACTION blackhole` for host `i` in the underlay namespace
    /// and for etcd in the host's.
    fn etcd_blackholes(&self, i: usize, action: &str) {
        let target = format!("{}/32", Cluster::host_ip(i));
        self.underlay
            .ip_ok(&["route", action, "blackhole", &target]);
        let etcd = format!("{ETCD_IP}/32");
        self.hosts[i]
            .ns()
            .ip_ok(&["route", action, "blackhole", &etcd]);
    }

    fn wait_for_etcd(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let addr: SocketAddr = format!("{ETCD_IP}:2379").parse().expect("addr");
        loop {
            let up = in_netns(&self.underlay, || {
                TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
            });
            if up {
                // The port opens a moment before the member serves.
                std::thread::sleep(Duration::from_millis(300));
                return;
            }
            if let Some(status) = self.etcd.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("etcd exited at start: {status}");
            }
            assert!(Instant::now() < deadline, "etcd did not listen within 20 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn start_etcd(underlay: &NetNs, dir: &Path, tls: Option<&EtcdTls>) -> Child {
    let data = dir.join("data");
    let log = std::fs::File::create(dir.join("etcd.log")).expect("etcd log");
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", underlay.name(), "etcd"])
        .args(["--name", "t", "--data-dir"])
        .arg(&data);
    let client = match tls {
        None => {
            let client = format!("http://{ETCD_IP}:2379");
            cmd.args([
                "--listen-client-urls",
                &format!("{client},http://127.0.0.1:2379"),
            ]);
            client
        }
        // TLS only, on the one address its certificate names.
        Some(tls) => {
            let client = format!("https://{ETCD_IP}:2379");
            cmd.args(["--listen-client-urls", &client])
                .arg("--cert-file")
                .arg(&tls.server.cert)
                .arg("--key-file")
                .arg(&tls.server.key)
                .arg("--trusted-ca-file")
                .arg(&tls.server.ca);
            if tls.client_cert_auth {
                cmd.arg("--client-cert-auth");
            }
            client
        }
    };
    cmd.args(["--advertise-client-urls", &client])
        .args(["--listen-peer-urls", "http://127.0.0.1:2380"])
        .args(["--initial-advertise-peer-urls", "http://127.0.0.1:2380"])
        .args(["--initial-cluster", "t=http://127.0.0.1:2380"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start etcd (Debian package etcd-server)")
}

/// Host `i`'s `eth0`, a veth whose peer `uh<i>` is on the underlay bridge.
fn join_underlay(underlay: &NetNs, host: &NetNs, i: usize, ip: &str) {
    let peer = format!("uh{i}");
    underlay.add_veth(&peer, host, "eth0");
    underlay.ip_ok(&["link", "set", &peer, "master", "ul0", "up"]);
    host.ip_ok(&["addr", "add", &format!("{ip}/24"), "dev", "eth0"]);
    host.ip_ok(&["link", "set", "eth0", "up"]);
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.hosts.clear();
        if let Some(mut etcd) = self.etcd.take() {
            let _ = etcd.kill();
            let _ = etcd.wait();
        }
        self.underlay.delete();
    }
}
