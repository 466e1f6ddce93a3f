//! A multi-host test cluster: an "underlay" namespace with a bridge that
//! joins N test hosts (each a [`Host`] with its own cnmd, `eth0` on the
//! underlay at 192.168.240.(i+1)/24) and runs a real etcd on
//! 192.168.240.254:2379, with its own data dir. Every cluster has its own
//! namespaces, so clusters of parallel tests never meet.

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::netns::{unique_base_name, NetNs};
use crate::traffic::in_netns;
use crate::Host;

/// etcd's address on the underlay.
pub const ETCD_IP: &str = "192.168.240.254";

/// Needs of cluster tests: kernel tests plus the etcd server (Debian's
/// `etcd-server`, see dev/deps) and busybox for ping.
pub const CLUSTER: &[crate::Need] = &[
    crate::Need::Root,
    crate::Need::Tool("ip"),
    crate::Need::Tool("nsenter"),
    crate::Need::Tool("mount"),
    crate::Need::Tool("busybox"),
    crate::Need::Tool("etcd"),
];

pub struct Cluster {
    /// Dropped first: cnmd goes before etcd and the underlay.
    pub hosts: Vec<Host>,
    etcd: Option<Child>,
    underlay: NetNs,
    _etcd_dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts the underlay, etcd, and `n` hosts joined with `--cluster-ttl
    /// ttl` (seconds).
    pub fn start(n: usize, ttl: u64) -> Cluster {
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
        let etcd = start_etcd(&underlay, etcd_dir.path());
        let mut cluster = Cluster {
            hosts: Vec::new(),
            etcd: Some(etcd),
            underlay,
            _etcd_dir: etcd_dir,
        };
        cluster.wait_for_etcd();
        let ttl = ttl.to_string();
        for i in 0..n {
            let ip = Cluster::host_ip(i);
            let store = format!("etcd://{ETCD_IP}:2379");
            let ul = cluster.underlay.name().to_owned();
            let host = Host::start_prepared(
                |ns| join_underlay(&ul, ns, i, &ip),
                &[
                    "--cluster-store",
                    &store,
                    "--cluster-advertise",
                    &ip,
                    "--cluster-ttl",
                    &ttl,
                ],
            );
            cluster.hosts.push(host);
        }
        cluster
    }

    /// Underlay address of host `i`.
    pub fn host_ip(i: usize) -> String {
        format!("192.168.240.{}", i + 1)
    }

    /// Drops etcd's packets to host `i` (a blackhole route in the underlay
    /// namespace, where etcd runs): the host loses etcd but keeps the
    /// underlay, which is bridged, not routed.
    pub fn cut_off_etcd(&self, i: usize) {
        let target = format!("{}/32", Cluster::host_ip(i));
        self.underlay.ip_ok(&["route", "add", "blackhole", &target]);
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

fn start_etcd(underlay: &NetNs, dir: &std::path::Path) -> Child {
    let client = format!("http://{ETCD_IP}:2379");
    let data = dir.join("data");
    let log = std::fs::File::create(dir.join("etcd.log")).expect("etcd log");
    Command::new("ip")
        .args(["netns", "exec", underlay.name(), "etcd"])
        .args(["--name", "t", "--data-dir"])
        .arg(&data)
        .args([
            "--listen-client-urls",
            &format!("{client},http://127.0.0.1:2379"),
        ])
        .args(["--advertise-client-urls", &client])
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
fn join_underlay(underlay: &str, host: &NetNs, i: usize, ip: &str) {
    let peer = format!("uh{i}");
    let ul = |args: &[&str]| {
        let out = Command::new("ip")
            .args(["-n", underlay])
            .args(args)
            .output()
            .expect("run ip");
        assert!(out.status.success(), "ip -n {underlay} {args:?}: {out:?}");
    };
    ul(&[
        "link",
        "add",
        &peer,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        host.name(),
    ]);
    ul(&["link", "set", &peer, "master", "ul0", "up"]);
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
