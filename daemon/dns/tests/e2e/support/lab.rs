//! The lab: a "host" namespace with bridge `br0` carrying the gateways of
//! two networks (front 10.88.0.1/24 + fd88::1/64, back 10.89.0.1/24), and
//! container namespaces on veths:
//!
//! | ns       | addresses                 | snapshot names                 |
//! |----------|---------------------------|--------------------------------|
//! | c1       | 10.88.0.2, fd88::2        | front: web, www, web-host, db  |
//! | c2       | 10.89.0.2                 | back: lone                     |
//! | c3       | 10.88.0.3, 10.89.0.3      | front: both, db; back: both    |
//! | stranger | 10.88.0.99                | (none)                         |

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Mutex;

use cnm_dns::{MemberBuilder, NetworkBuilder, Snapshot};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::can_run;
use super::netns::{ip_batch, Netns};

pub const C1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
pub const C2: &str = "2222222222222222222222222222222222222222222222222222222222222222";
pub const C3: &str = "3333333333333333333333333333333333333333333333333333333333333333";
pub const FRONT_GW: &str = "10.88.0.1";
pub const FRONT_GW6: &str = "fd88::1";
pub const BACK_GW: &str = "10.89.0.1";

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("an IP address")
}

/// Namespaces and files of one test; everything is removed on drop.
pub struct Lab {
    pub c1: Netns,
    pub c2: Netns,
    pub c3: Netns,
    pub stranger: Netns,
    pub host: Netns,
    pub dir: tempfile::TempDir,
    pub snapshot: PathBuf,
    pub resolv_conf: PathBuf,
    pub pid_file: PathBuf,
    adopted: Mutex<Vec<u32>>,
}

impl Lab {
    /// Builds the topology; `tag` keeps names unique between tests.
    pub fn new(tag: &str) -> Lab {
        let prefix = format!("cdns-{}-{tag}", std::process::id());
        let ns = |role: &str| Netns::new(format!("{prefix}-{role}"));
        let (host, c1, c2, c3, stranger) = (ns("host"), ns("c1"), ns("c2"), ns("c3"), ns("x"));
        let mut cmds: Vec<String> = [
            "link add br0 type bridge",
            "link set br0 up",
            "addr add 10.88.0.1/24 dev br0",
            "addr add 10.89.0.1/24 dev br0",
            "addr add fd88::1/64 dev br0 nodad",
        ]
        .map(String::from)
        .to_vec();
        for (i, c) in [&c1, &c2, &c3, &stranger].iter().enumerate() {
            cmds.push(format!(
                "link add v{i} type veth peer name eth0 netns {}",
                c.name
            ));
            cmds.push(format!("link set v{i} master br0 up"));
        }
        ip_batch(Some(&host.name), &cmds);
        let addrs: [(&Netns, &[&str]); 4] = [
            (&c1, &["10.88.0.2/24", "fd88::2/64"]),
            (&c2, &["10.89.0.2/24"]),
            (&c3, &["10.88.0.3/24", "10.89.0.3/24"]),
            (&stranger, &["10.88.0.99/24"]),
        ];
        for (c, list) in addrs {
            let mut cmds = vec!["link set eth0 up".to_string()];
            cmds.extend(list.iter().map(|a| format!("addr add {a} dev eth0 nodad")));
            ip_batch(Some(&c.name), &cmds);
        }
        let dir = tempfile::tempdir().expect("tempdir");
        Lab {
            snapshot: dir.path().join("dns/snapshot.json"),
            resolv_conf: dir.path().join("resolv.conf"),
            pid_file: dir.path().join("dns/cnm-dns.pid"),
            dir,
            host,
            c1,
            c2,
            c3,
            stranger,
            adopted: Mutex::new(Vec::new()),
        }
    }

    /// Writes the snapshot the resolver reads.
    pub fn write(&self, snapshot: &Snapshot) {
        snapshot
            .write_atomic(&self.snapshot)
            .expect("write snapshot");
    }

    /// Writes the host resolv.conf the resolver reads.
    pub fn write_resolv_conf(&self, servers: &[&str]) {
        let text: String = servers
            .iter()
            .map(|s| format!("nameserver {s}\n"))
            .collect();
        let tmp = self.dir.path().join("resolv.conf.tmp");
        std::fs::write(&tmp, text).expect("write resolv.conf");
        std::fs::rename(&tmp, &self.resolv_conf).expect("rename resolv.conf");
    }

    /// Kills this pid (a detached resolver) when the lab goes away.
    pub fn adopt(&self, pid: u32) {
        self.adopted.lock().expect("lock").push(pid);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for pid in self.adopted.lock().map(|p| p.clone()).unwrap_or_default() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
    }
}

/// Network front with its members; `c1_extra` adds names to c1.
pub fn front(c1_extra: &[&str]) -> NetworkBuilder {
    NetworkBuilder::new("f".repeat(64), "front")
        .listen(ip(FRONT_GW))
        .listen(ip(FRONT_GW6))
        .member(
            MemberBuilder::new(C1)
                .names(["web", "www", "web-host", "db"])
                .names(c1_extra.iter().copied())
                .addr(ip("10.88.0.2"))
                .addr(ip("fd88::2")),
        )
        .member(
            MemberBuilder::new(C3)
                .names(["both", "db"])
                .addr(ip("10.88.0.3")),
        )
}

/// Network back with its members.
pub fn back(internal: bool) -> NetworkBuilder {
    NetworkBuilder::new("b".repeat(64), "back")
        .internal(internal)
        .listen(ip(BACK_GW))
        .member(MemberBuilder::new(C2).name("lone").addr(ip("10.89.0.2")))
        .member(MemberBuilder::new(C3).name("both").addr(ip("10.89.0.3")))
}

/// A lab with the [`standard`] snapshot (back internal or not) written and
/// a host resolv.conf naming `upstreams`; `None` where it cannot run.
pub fn standard_lab(tag: &str, back_internal: bool, upstreams: &[&str]) -> Option<Lab> {
    if !can_run(tag) {
        return None;
    }
    let lab = Lab::new(tag);
    lab.write(&standard(back_internal));
    lab.write_resolv_conf(upstreams);
    Some(lab)
}

/// front + back (back internal or not), generation 1.
pub fn standard(back_internal: bool) -> Snapshot {
    Snapshot::builder(1)
        .network(front(&[]))
        .network(back(back_internal))
        .build()
        .expect("valid snapshot")
}
