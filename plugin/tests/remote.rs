//! The client and server ends together over a real unix socket, with fake
//! drivers that record what they are asked (no kernel, no root): errors
//! keep their class and message, a restarted plugin is replayed to before
//! anything else, and a plugin that is down or hung fails a call in < 5 s.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cnm_drivers::ipam::{
    AddressFamily, IpamDriver, IpamDriverError, Pool, PoolsRequest, PoolsRestore,
};
use cnm_drivers::sys::Netns;
use cnm_drivers::{
    Capabilities, Driver, DriverError, EndpointSpec, JoinInfo, NetworkSpec, PluginFailure,
    PortBinding, SandboxInterface, SandboxSpec, SubnetSpec,
};
use cnm_plugin::{DriverReplay, IpamReplay, RemoteDriver, RemoteIpam, ReplayEndpoint};
use ipnetwork::IpNetwork;

/// Every verb a fake plugin was asked, in order ("create_network web replay").
type Calls = Arc<Mutex<Vec<String>>>;

struct FakeDriver {
    calls: Calls,
    /// How long `create_network` takes (a hung plugin).
    delay: Duration,
}

impl FakeDriver {
    fn record(&self, call: String) {
        self.calls.lock().expect("calls").push(call);
    }
}

impl Driver for FakeDriver {
    fn name(&self) -> &str {
        "fake"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            scope: "global",
            creates_interfaces: true,
        }
    }

    fn validate_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        self.record(format!("validate_network {}", net.name));
        match net.options.keys().next() {
            Some(key) => Err(DriverError::InvalidOption {
                driver: "fake",
                message: format!("unknown option `{key}`"),
            }),
            None => Ok(()),
        }
    }

    fn create_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        std::thread::sleep(self.delay);
        self.record(format!("create_network {}", net.name));
        Ok(())
    }

    fn delete_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        self.record(format!("delete_network {}", net.name));
        Err(DriverError::NotFound {
            object: format!("network {}", net.name),
            hint: "it was never made",
        })
    }

    fn create_endpoint(&self, _net: &NetworkSpec, ep: &EndpointSpec) -> Result<(), DriverError> {
        self.record(format!("create_endpoint {}", ep.id));
        Ok(())
    }

    fn join(
        &self,
        _net: &NetworkSpec,
        ep: &EndpointSpec,
        sandbox: SandboxSpec<'_>,
    ) -> Result<JoinInfo, DriverError> {
        self.record(format!("join {} {}", ep.id, sandbox.ifname));
        Ok(JoinInfo {
            interface: SandboxInterface::InHost {
                name: "fake0".into(),
            },
            gateway_v4: Some("10.1.0.1".parse().expect("ip")),
            gateway_v6: None,
            static_routes: Vec::new(),
            mtu: Some(1450),
        })
    }

    fn leave(&self, _net: &NetworkSpec, ep: &EndpointSpec) -> Result<(), DriverError> {
        self.record(format!("leave {}", ep.id));
        Ok(())
    }

    fn program_external_connectivity(
        &self,
        _net: &NetworkSpec,
        ep: &EndpointSpec,
        ports: &[PortBinding],
    ) -> Result<(), DriverError> {
        let ports: Vec<String> = ports.iter().map(ToString::to_string).collect();
        self.record(format!(
            "program_external_connectivity {} {}",
            ep.id,
            ports.join(",")
        ));
        Ok(())
    }

    fn revoke_external_connectivity(
        &self,
        _net: &NetworkSpec,
        ep: &EndpointSpec,
    ) -> Result<(), DriverError> {
        self.record(format!("revoke_external_connectivity {}", ep.id));
        Ok(())
    }
}

/// A plugin process stand-in: its own runtime, dropped to "kill -9" it
/// (connections die, the socket file stays).
struct Plugin {
    runtime: Option<tokio::runtime::Runtime>,
    socket: PathBuf,
    calls: Calls,
}

impl Plugin {
    fn driver(socket: &Path, delay: Duration) -> Plugin {
        let calls = Calls::default();
        let driver = Arc::new(FakeDriver {
            calls: calls.clone(),
            delay,
        });
        let runtime = runtime();
        let path = socket.to_owned();
        runtime.spawn(async move {
            cnm_plugin::serve_until(driver, &path, std::future::pending()).await
        });
        wait_for_socket(socket);
        Plugin {
            runtime: Some(runtime),
            socket: socket.to_owned(),
            calls,
        }
    }

    fn ipam(socket: &Path) -> Plugin {
        let calls = Calls::default();
        let ipam = Arc::new(FakeIpam {
            calls: calls.clone(),
            next: Mutex::new(100),
        });
        let runtime = runtime();
        let path = socket.to_owned();
        runtime.spawn(async move {
            cnm_plugin::serve_ipam_until(ipam, &path, std::future::pending()).await
        });
        wait_for_socket(socket);
        Plugin {
            runtime: Some(runtime),
            socket: socket.to_owned(),
            calls,
        }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("calls").clone()
    }

    /// Drops the runtime and waits until its listener is closed (the
    /// runtime's threads wind down after `shutdown_background` returns).
    fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
            let deadline = Instant::now() + Duration::from_secs(5);
            while std::os::unix::net::UnixStream::connect(&self.socket).is_ok() {
                assert!(Instant::now() < deadline, "plugin still listening");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        self.kill();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

fn wait_for_socket(socket: &Path) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::os::unix::net::UnixStream::connect(socket).is_err() {
        assert!(Instant::now() < deadline, "plugin did not listen");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn network(name: &str, options: &[(&str, &str)]) -> NetworkSpec {
    NetworkSpec {
        id: format!("{:0>64}", name.len()),
        name: name.into(),
        options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        subnets: vec![SubnetSpec {
            subnet: "10.1.0.0/24".parse().expect("cidr"),
            gateway: Some("10.1.0.1".parse().expect("ip")),
        }],
        internal: false,
        enable_ipv6: false,
    }
}

fn endpoint(id: &str) -> EndpointSpec {
    EndpointSpec {
        id: id.into(),
        mac: [2, 0x42, 10, 1, 0, 2],
        addresses: vec!["10.1.0.2/24".parse().expect("cidr")],
    }
}

fn binding(host_port: u16, container_port: u16) -> PortBinding {
    PortBinding {
        protocol: "tcp".into(),
        host_ip: Some("0.0.0.0".parse().expect("ip")),
        host_port,
        container_port,
    }
}

/// Replays one network with two endpoints, one publishing a port.
struct OneNetwork;

impl DriverReplay for OneNetwork {
    fn networks(&self, name: &str) -> Vec<(NetworkSpec, Vec<ReplayEndpoint>)> {
        assert_eq!(name, "myplug");
        let eps = vec![
            ReplayEndpoint {
                spec: endpoint("ep-kept"),
                ports: vec![binding(8080, 80)],
            },
            ReplayEndpoint {
                spec: endpoint("ep-quiet"),
                ports: Vec::new(),
            },
        ];
        vec![(network("kept", &[]), eps)]
    }
}

fn socket_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("myplug.sock")
}

#[test]
fn verbs_and_errors_cross_the_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = socket_in(&dir);
    let plugin = Plugin::driver(&socket, Duration::ZERO);
    let remote = RemoteDriver::new("myplug", socket, None);
    assert_eq!(remote.capabilities().scope, "global");
    remote.create_network(&network("web", &[])).expect("create");

    let err = remote
        .validate_network(&network("web", &[("bogus", "1")]))
        .expect_err("bad option");
    match &err {
        DriverError::Plugin {
            driver,
            failure,
            message,
        } => {
            assert_eq!(driver, "myplug");
            assert_eq!(*failure, PluginFailure::Invalid);
            assert_eq!(message, "driver fake: unknown option `bogus`");
        }
        other => panic!("not a plugin error: {other:?}"),
    }
    let err = remote
        .delete_network(&network("web", &[]))
        .expect_err("not found");
    assert_eq!(
        err.to_string(),
        "driver myplug: network web not found; it was never made"
    );

    let netns = Netns::current().expect("own netns");
    let join = remote
        .join(
            &network("web", &[]),
            &endpoint("ep1"),
            SandboxSpec {
                netns: netns.fd(),
                ifname: "eth3",
            },
        )
        .expect("join");
    assert_eq!(
        join.interface,
        SandboxInterface::InHost {
            name: "fake0".into()
        }
    );
    assert_eq!(join.mtu, Some(1450));
    let v6 = PortBinding {
        protocol: "udp".into(),
        host_ip: Some("::".parse().expect("ip")),
        host_port: 5353,
        container_port: 53,
    };
    remote
        .program_external_connectivity(
            &network("web", &[]),
            &endpoint("ep1"),
            &[binding(8080, 80), v6],
        )
        .expect("program");
    remote
        .revoke_external_connectivity(&network("web", &[]), &endpoint("ep1"))
        .expect("revoke");
    remote
        .leave(&network("web", &[]), &endpoint("ep1"))
        .expect("leave");
    assert_eq!(
        plugin.calls(),
        [
            "create_network web",
            "validate_network web",
            "delete_network web",
            "join ep1 eth3",
            "program_external_connectivity ep1 0.0.0.0:8080->80/tcp,:::5353->53/udp",
            "revoke_external_connectivity ep1",
            "leave ep1",
        ]
    );
}

#[test]
fn restarted_plugin_is_replayed_to_before_the_next_call() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = socket_in(&dir);
    let mut first = Plugin::driver(&socket, Duration::ZERO);
    let remote = RemoteDriver::new("myplug", socket.clone(), Some(Arc::new(OneNetwork)));
    remote.create_network(&network("web", &[])).expect("create");
    assert_eq!(
        first.calls(),
        [
            "create_network kept",
            "create_endpoint ep-kept",
            "program_external_connectivity ep-kept 0.0.0.0:8080->80/tcp",
            "create_endpoint ep-quiet",
            "create_network web"
        ],
        "replayed on the first connection too"
    );
    first.kill();

    let second = Plugin::driver(&socket, Duration::ZERO);
    remote
        .validate_network(&network("db", &[]))
        .expect("validate after the restart");
    assert_eq!(
        second.calls(),
        [
            "create_network kept",
            "create_endpoint ep-kept",
            "program_external_connectivity ep-kept 0.0.0.0:8080->80/tcp",
            "create_endpoint ep-quiet",
            "validate_network db"
        ]
    );
}

#[test]
fn dead_plugin_fails_fast_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = socket_in(&dir);
    let mut plugin = Plugin::driver(&socket, Duration::ZERO);
    let remote = RemoteDriver::new("myplug", socket.clone(), None);
    remote.create_network(&network("web", &[])).expect("create");
    plugin.kill();
    let start = Instant::now();
    let err = remote
        .create_network(&network("db", &[]))
        .expect_err("plugin is dead");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let text = err.to_string();
    assert!(
        text.starts_with("driver myplug: cannot reach the plugin at ")
            && text.contains(&socket.display().to_string())
            && text.contains("start the plugin"),
        "{text}"
    );
    assert!(matches!(
        err,
        DriverError::Plugin {
            failure: PluginFailure::Unavailable,
            ..
        }
    ));

    // Never started at all: the same, for a socket that does not exist.
    let never = RemoteDriver::new("ghost", dir.path().join("ghost.sock"), None);
    let err = never
        .validate_network(&network("x", &[]))
        .expect_err("no socket");
    assert!(err.to_string().contains("the socket is gone"), "{err}");
}

#[test]
fn hung_plugin_hits_the_deadline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = socket_in(&dir);
    let _plugin = Plugin::driver(&socket, Duration::from_secs(30));
    let remote = RemoteDriver::new("myplug", socket, None);
    let start = Instant::now();
    let err = remote
        .create_network(&network("web", &[]))
        .expect_err("deadline");
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(took >= cnm_plugin::CALL_TIMEOUT, "{took:?}");
    assert!(err.to_string().contains("did not answer within"), "{err}");
}

struct FakeIpam {
    calls: Calls,
    next: Mutex<u8>,
}

impl IpamDriver for FakeIpam {
    fn name(&self) -> &str {
        "fake"
    }

    fn request_pools(&self, req: &PoolsRequest) -> Result<Vec<Pool>, IpamDriverError> {
        self.calls
            .lock()
            .expect("calls")
            .push(format!("request_pools {}", req.network_name));
        Ok(vec![Pool {
            subnet: "10.123.0.0/24".parse().expect("cidr"),
            ip_range: None,
            gateway: Some("10.123.0.1".parse().expect("ip")),
            aux_addresses: BTreeMap::new(),
        }])
    }

    fn restore_pools(&self, net: &PoolsRestore) -> Result<(), IpamDriverError> {
        self.calls.lock().expect("calls").push(format!(
            "restore_pools {} {:?}",
            net.network_name, net.addresses
        ));
        Ok(())
    }

    fn release_pools(&self, _network_id: &str) -> Result<(), IpamDriverError> {
        Ok(())
    }

    fn request_address(
        &self,
        _network_id: &str,
        family: AddressFamily,
        preferred: Option<IpAddr>,
    ) -> Result<IpNetwork, IpamDriverError> {
        if family == AddressFamily::V6 {
            return Err(IpamDriverError::Exhausted("no IPv6 here".into()));
        }
        if preferred.is_some() {
            return Err(IpamDriverError::InUse("address taken".into()));
        }
        let mut next = self.next.lock().expect("next");
        *next += 1;
        Ok(format!("10.123.0.{}/24", *next - 1).parse().expect("cidr"))
    }

    fn release_address(&self, _network_id: &str, addr: IpAddr) -> Result<(), IpamDriverError> {
        self.calls
            .lock()
            .expect("calls")
            .push(format!("release_address {addr}"));
        Ok(())
    }
}

struct OnePool;

impl IpamReplay for OnePool {
    fn networks(&self, _name: &str) -> Vec<PoolsRestore> {
        vec![PoolsRestore {
            network_id: "1".repeat(64),
            network_name: "kept".into(),
            pools: Vec::new(),
            addresses: vec!["10.123.0.100".parse().expect("ip")],
            options: BTreeMap::new(),
        }]
    }
}

#[test]
fn ipam_plugin_serves_pools_and_addresses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("myipam.sock");
    let plugin = Plugin::ipam(&socket);
    let remote = RemoteIpam::new("myipam", socket, Some(Arc::new(OnePool)));
    let pools = remote
        .request_pools(&PoolsRequest {
            network_id: "2".repeat(64),
            network_name: "web".into(),
            ..PoolsRequest::default()
        })
        .expect("pools");
    assert_eq!(pools[0].subnet.to_string(), "10.123.0.0/24");
    let id = "2".repeat(64);
    let addr = remote
        .request_address(&id, AddressFamily::V4, None)
        .expect("address");
    assert_eq!(addr.to_string(), "10.123.0.100/24");
    let err = remote
        .request_address(&id, AddressFamily::V6, None)
        .expect_err("no v6");
    assert_eq!(
        err,
        IpamDriverError::Exhausted("IPAM driver myipam: no IPv6 here".into())
    );
    let err = remote
        .request_address(
            &id,
            AddressFamily::V4,
            Some("10.123.0.5".parse().expect("ip")),
        )
        .expect_err("taken");
    assert!(matches!(err, IpamDriverError::InUse(_)), "{err:?}");
    remote.release_address(&id, addr.ip()).expect("release");
    assert_eq!(
        plugin.calls(),
        [
            "restore_pools kept [10.123.0.100]",
            "request_pools web",
            "release_address 10.123.0.100",
        ]
    );
}
