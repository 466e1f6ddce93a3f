//! Driver and IPAM plugins: `cnm net create -d NAME` and `--ipam-driver
//! NAME` reach a plugin on `<run-root>/plugins/NAME.sock` or through
//! `NAME.spec`; the bridge driver served by `cnm-driver serve` carries real
//! traffic; a dead plugin fails calls fast and clearly; a restarted one is
//! told the state again before it serves the next call. The driver
//! conformance suite runs against the built-in bridge in process and the
//! same bridge served over a unix socket.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cnm_drivers::ipam::{
    AddressFamily, IpamDriver, IpamDriverError, Pool, PoolsRequest, PoolsRestore,
};
use cnm_drivers::BridgeDriver;
use cnm_plugin::RemoteDriver;
use cnm_tests::cli::assert_stderr_mentions;
use cnm_tests::conformance::driver_conformance;
use cnm_tests::inspect::addr_of;
use cnm_tests::netns::{unique_base_name, NetNs};
use cnm_tests::plugin::{CallLog, DriverPlugin, RecordingPlugin};
use cnm_tests::{case, kernel, Case, Container, Host, KERNEL, KERNEL_PING};
use ipnetwork::IpNetwork;

use crate::create::create;

pub fn cases() -> Vec<Case> {
    vec![
        case("conformance_in_process", KERNEL, conformance_in_process),
        case("conformance_remote", KERNEL, conformance_remote),
        case(
            "driver_plugin_by_socket",
            KERNEL_PING,
            driver_plugin_by_socket,
        ),
        case(
            "driver_plugin_by_spec_file",
            KERNEL_PING,
            driver_plugin_by_spec_file,
        ),
        case("dead_plugin_fails_fast", KERNEL, dead_plugin_fails_fast),
        case(
            "restarted_plugin_is_replayed",
            KERNEL_PING,
            restarted_plugin_is_replayed,
        ),
        case(
            "unknown_driver_says_where_it_looked",
            KERNEL,
            unknown_driver_says_where_it_looked,
        ),
        case(
            "ipam_plugin_serves_addresses",
            KERNEL_PING,
            ipam_plugin_serves_addresses,
        ),
    ]
}

/// A calls to a plugin must fail within this when the plugin is down.
const FAIL_FAST: Duration = Duration::from_secs(5);

fn conformance_in_process() {
    let host = NetNs::create(&unique_base_name());
    let sandbox = NetNs::create(&format!("{}-sb", host.name()));
    driver_conformance(&BridgeDriver::new(), &host, &sandbox);
}

fn conformance_remote() {
    let host = NetNs::create(&unique_base_name());
    let sandbox = NetNs::create(&format!("{}-sb", host.name()));
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("conf.sock");
    let plugin = DriverPlugin::start(&host, "bridge", &socket, &dir.path().join("plugin.log"));
    let remote = RemoteDriver::new("conf", socket, None);
    driver_conformance(&remote, &host, &sandbox);
    assert!(
        plugin.log().contains("verb=\"join\""),
        "the verbs went to the plugin:\n{}",
        plugin.log()
    );
}

/// `<run-root>/plugins/NAME.sock` of a test host.
fn plugin_socket(host: &Host, name: &str) -> PathBuf {
    host.dir().join("run/plugins").join(format!("{name}.sock"))
}

/// The bridge driver served as plugin `name` on the host's plugin dir.
fn bridge_plugin(host: &Host, name: &str) -> DriverPlugin {
    DriverPlugin::start(
        host.ns(),
        "bridge",
        &plugin_socket(host, name),
        &host.dir().join(format!("{name}.log")),
    )
}

/// c1 and c2 on `net`, pinging each other; returns their addresses.
fn connect_pair(host: &Host, net: &str, c1: &Container, c2: &Container) -> (String, String) {
    host.connect_named(net, c1, &[]);
    host.connect_named(net, c2, &[]);
    let inspect = host.inspect(net);
    let a1 = addr_of(&inspect.expect_endpoint("c1").ipv4_address).to_owned();
    let a2 = addr_of(&inspect.expect_endpoint("c2").ipv4_address).to_owned();
    for (from, to) in [(c1, &a2), (c2, &a1)] {
        let out = from.ping(to);
        assert!(out.success(), "{} cannot reach {to}: {out}", from.label());
    }
    (a1, a2)
}

fn driver_plugin_by_socket() {
    let mut host = Host::start();
    let plugin = bridge_plugin(&host, "myplug");
    let id = create(
        &host,
        &["-d", "myplug", "--subnet", "10.77.0.0/24", "plugnet"],
    );
    let net = host.inspect("plugnet");
    assert_eq!(net.driver, "myplug");
    let bridge = format!("cnm{}", &id[..12]);
    let link = kernel::link(host.ns(), &bridge)
        .unwrap_or_else(|| panic!("the plugin made no bridge {bridge}"));
    assert_eq!(link.kind, "bridge");
    assert_eq!(kernel::ipv4_addrs(host.ns(), &bridge), ["10.77.0.1/24"]);

    let (c1, c2) = (host.container("c1"), host.container("c2"));
    let (a1, _) = connect_pair(&host, "plugnet", &c1, &c2);
    assert_eq!(c1.ipv4_addrs("eth0"), [format!("{a1}/24")]);
    let route = kernel::default_route(c1.ns(), "-4").expect("a default route");
    assert_eq!(route.gateway.as_deref(), Some("10.77.0.1"));
    assert!(plugin.log().contains("verb=\"join\""), "{}", plugin.log());

    // cnmd's own bridge driver must not take the plugin's bridge, which
    // carries the same kind of name, for a leftover of its own.
    for kill in [false, true] {
        if kill {
            host.kill9();
        } else {
            host.stop();
        }
        host.restart();
        assert!(
            kernel::link(host.ns(), &bridge).is_some(),
            "restarting cnmd (kill -9: {kill}) deleted the plugin's bridge {bridge}"
        );
        assert!(
            c1.link("eth0").is_some() && c2.link("eth0").is_some(),
            "restarting cnmd (kill -9: {kill}) took the containers' interfaces"
        );
    }

    host.disconnect_ok("plugnet", &c1);
    assert!(c1.link("eth0").is_none(), "eth0 is still in c1");
    host.disconnect_ok("plugnet", &c2);
    host.cnm_ok(&["net", "rm", "plugnet"]);
    assert!(
        kernel::link(host.ns(), &bridge).is_none(),
        "net rm left the plugin's bridge"
    );
    assert!(plugin.log().contains("verb=\"delete_network\""));
}

fn driver_plugin_by_spec_file() {
    let specs = tempfile::tempdir().expect("tempdir");
    let spec_dir = specs.path().display().to_string();
    let host = Host::start_with(&["--plugin-spec-dir", &spec_dir]);
    let socket = specs.path().join("sockets/specplug.sock");
    let _plugin = DriverPlugin::start(
        host.ns(),
        "bridge",
        &socket,
        &host.dir().join("specplug.log"),
    );
    assert!(!plugin_socket(&host, "specplug").exists());
    std::fs::write(
        specs.path().join("specplug.spec"),
        format!("unix://{}\n", socket.display()),
    )
    .expect("write spec");
    create(
        &host,
        &["-d", "specplug", "--subnet", "10.78.0.0/24", "specnet"],
    );
    assert_eq!(host.inspect("specnet").driver, "specplug");
    let (c1, c2) = (host.container("c1"), host.container("c2"));
    connect_pair(&host, "specnet", &c1, &c2);
}

/// Runs the CLI and asserts it fails within [`FAIL_FAST`].
fn fails_fast(host: &Host, args: &[&str]) -> cnm_tests::exec::CmdOutput {
    let start = Instant::now();
    let out = host.cnm_err(args);
    let took = start.elapsed();
    assert!(took < FAIL_FAST, "`cnm {}` took {took:?}", args.join(" "));
    out
}

fn dead_plugin_fails_fast() {
    let host = Host::start();
    let mut plugin = bridge_plugin(&host, "myplug");
    create(
        &host,
        &["-d", "myplug", "--subnet", "10.79.0.0/24", "plugnet"],
    );
    let (c1, c2) = (host.container("c1"), host.container("c2"));
    host.connect_named("plugnet", &c1, &[]);
    plugin.kill9();

    let socket = plugin.socket().display().to_string();
    let out = fails_fast(&host, &["net", "create", "-d", "myplug", "other"]);
    assert_stderr_mentions(
        &out,
        &[
            "driver myplug",
            "cannot reach the plugin",
            &socket,
            "start the plugin",
        ],
    );
    let out = host.connect("plugnet", &c2, &["--name", "c2"]);
    assert!(!out.success(), "connect through a dead plugin: {out}");
    assert_stderr_mentions(&out, &["driver myplug", "cannot reach the plugin"]);

    // Nothing half-made: no network `other`, no endpoint for c2, and the
    // addresses the refused connect took are free again.
    assert!(host.ls().iter().all(|r| r.name != "other"));
    let net = host.inspect("plugnet");
    assert_eq!(net.containers.len(), 1, "{:?}", net.containers);
    assert!(c2.link("eth0").is_none());
    plugin.restart();
    host.connect_named("plugnet", &c2, &["--ip", "10.79.0.3"]);
}

fn restarted_plugin_is_replayed() {
    let host = Host::start();
    let mut plugin = bridge_plugin(&host, "myplug");
    let id = create(
        &host,
        &["-d", "myplug", "--subnet", "10.80.0.0/24", "plugnet"],
    );
    let (c1, c2) = (host.container("c1"), host.container("c2"));
    host.connect_named("plugnet", &c1, &[]);
    let c1_endpoint = host
        .inspect("plugnet")
        .expect_endpoint("c1")
        .endpoint_id
        .clone();
    plugin.kill9();
    plugin.restart();

    host.connect_named("plugnet", &c2, &[]);
    let log = plugin.log_of_last_start();
    let line_of = |needles: &[&str]| {
        log.lines()
            .position(|l| needles.iter().all(|n| l.contains(n)))
            .unwrap_or_else(|| panic!("no line with {needles:?} in the plugin log:\n{log}"))
    };
    let network = format!("network={id}");
    let endpoint = format!("endpoint={c1_endpoint}");
    let replayed_net = line_of(&["verb=\"create_network\"", &network, "replay=true"]);
    let replayed_ep = line_of(&["verb=\"create_endpoint\"", &endpoint, "replay=true"]);
    let join = line_of(&["verb=\"join\""]);
    assert!(
        replayed_net < replayed_ep && replayed_ep < join,
        "replay comes first:\n{log}"
    );
    let a1 = addr_of(&host.inspect("plugnet").expect_endpoint("c1").ipv4_address).to_owned();
    let out = c2.ping(&a1);
    assert!(out.success(), "c2 cannot reach c1 at {a1}: {out}");
}

fn unknown_driver_says_where_it_looked() {
    let specs = tempfile::tempdir().expect("tempdir");
    let spec_dir = specs.path().display().to_string();
    let host = Host::start_with(&["--plugin-spec-dir", &spec_dir]);
    let socket = plugin_socket(&host, "nosuch").display().to_string();
    let spec = specs.path().join("nosuch.spec").display().to_string();
    let out = host.cnm_err(&["net", "create", "-d", "nosuch", "x"]);
    assert_stderr_mentions(
        &out,
        &[&format!(
            "driver nosuch not found: no plugin socket at {socket} or spec in {spec}"
        )],
    );
    let out = host.cnm_err(&["net", "create", "--ipam-driver", "nosuchipam", "y"]);
    assert_stderr_mentions(
        &out,
        &["IPAM driver nosuchipam not found: no plugin socket at"],
    );

    std::fs::write(specs.path().join("broken.spec"), "tcp://10.0.0.1:1\n").expect("write");
    let out = host.cnm_err(&["net", "create", "-d", "broken", "z"]);
    assert_stderr_mentions(&out, &["broken.spec", "unix:///path/to/socket"]);
    assert!(
        host.ls()
            .iter()
            .all(|r| !["x", "y", "z"].contains(&r.name.as_str())),
        "a refused network was recorded"
    );
}

fn ipam_plugin_serves_addresses() {
    let host = Host::start();
    let socket = plugin_socket(&host, "testipam");
    let mut ipam = ipam_plugin(&socket);
    let id = create(
        &host,
        &[
            "--ipam-driver",
            "testipam",
            "--ipam-opt",
            "flavour=test",
            "ipamnet",
        ],
    );
    let net = host.inspect("ipamnet");
    assert_eq!(net.ipam.driver, "testipam");
    let config = net.ipv4_config().expect("an IPv4 config");
    assert_eq!(
        (config.subnet.as_str(), config.gateway.as_str()),
        ("10.123.0.0/24", "10.123.0.1")
    );

    let (c1, c2) = (host.container("c1"), host.container("c2"));
    let (a1, a2) = connect_pair(&host, "ipamnet", &c1, &c2);
    assert_eq!((a1.as_str(), a2.as_str()), ("10.123.0.100", "10.123.0.101"));
    assert_eq!(c1.ipv4_addrs("eth0"), ["10.123.0.100/24"]);
    host.disconnect_ok("ipamnet", &c1);
    assert_eq!(
        ipam.calls(),
        [
            "request_pools ipamnet flavour=test".to_owned(),
            "request_address 10.123.0.100".into(),
            "request_address 10.123.0.101".into(),
            "release_address 10.123.0.100".into(),
        ]
    );

    // A restarted plugin is told what is held before it hands out more.
    ipam.restart();
    let c3 = host.container("c3");
    host.connect_named("ipamnet", &c3, &[]);
    assert_eq!(
        ipam.calls(),
        [
            "restore_pools ipamnet 10.123.0.0/24 [10.123.0.101]".to_owned(),
            "request_address 10.123.0.100".into(),
        ]
    );
    host.disconnect_ok("ipamnet", &c2);
    host.disconnect_ok("ipamnet", &c3);
    host.cnm_ok(&["net", "rm", "ipamnet"]);
    assert!(
        ipam.calls().contains(&format!("release_pools {id}")),
        "{:?}",
        ipam.calls()
    );
}

/// An IPAM plugin served from this test process through `cnm_plugin`: the
/// way a third party writes one. Hands out 10.123.0.0/24 from .100 up.
fn ipam_plugin(socket: &Path) -> RecordingPlugin {
    RecordingPlugin::start(socket, None, |calls, socket| {
        let ipam = Arc::new(TestIpam {
            calls,
            held: Mutex::default(),
        });
        Box::pin(async move {
            if let Err(err) =
                cnm_plugin::serve_ipam_until(ipam, &socket, std::future::pending()).await
            {
                eprintln!("test IPAM plugin: {err}");
            }
        })
    })
}

struct TestIpam {
    calls: CallLog,
    /// Addresses handed out.
    held: Mutex<Vec<IpAddr>>,
}

impl TestIpam {
    fn pool() -> Pool {
        Pool {
            subnet: "10.123.0.0/24".parse().expect("cidr"),
            ip_range: None,
            gateway: Some("10.123.0.1".parse().expect("ip")),
            aux_addresses: BTreeMap::new(),
        }
    }
}

impl IpamDriver for TestIpam {
    fn name(&self) -> &str {
        "testipam"
    }

    fn request_pools(&self, req: &PoolsRequest) -> Result<Vec<Pool>, IpamDriverError> {
        let options: Vec<String> = req
            .options
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        self.calls.record(format!(
            "request_pools {} {}",
            req.network_name,
            options.join(",")
        ));
        if req.enable_ipv6 || req.subnets.iter().any(|s| s.subnet.is_some()) {
            return Err(IpamDriverError::Invalid(
                "testipam picks its own IPv4 subnet".into(),
            ));
        }
        Ok(vec![Self::pool()])
    }

    fn restore_pools(&self, net: &PoolsRestore) -> Result<(), IpamDriverError> {
        let subnets: Vec<String> = net.pools.iter().map(|p| p.subnet.to_string()).collect();
        self.calls.record(format!(
            "restore_pools {} {} {:?}",
            net.network_name,
            subnets.join(","),
            net.addresses
        ));
        *self.held.lock().expect("held") = net.addresses.clone();
        Ok(())
    }

    fn release_pools(&self, network_id: &str) -> Result<(), IpamDriverError> {
        self.calls.record(format!("release_pools {network_id}"));
        self.held.lock().expect("held").clear();
        Ok(())
    }

    fn request_address(
        &self,
        _network_id: &str,
        family: AddressFamily,
        preferred: Option<IpAddr>,
    ) -> Result<IpNetwork, IpamDriverError> {
        if family != AddressFamily::V4 {
            return Err(IpamDriverError::Exhausted("testipam has no IPv6".into()));
        }
        let mut held = self.held.lock().expect("held");
        let addr = match preferred {
            Some(addr) if held.contains(&addr) => {
                return Err(IpamDriverError::InUse(format!("{addr} is taken")))
            }
            Some(addr) => addr,
            None => (100..=250)
                .map(|n| IpAddr::from([10, 123, 0, n]))
                .find(|a| !held.contains(a))
                .ok_or_else(|| IpamDriverError::Exhausted("testipam is full".into()))?,
        };
        held.push(addr);
        drop(held);
        self.calls.record(format!("request_address {addr}"));
        IpNetwork::new(addr, 24).map_err(|e| IpamDriverError::Failed(e.to_string()))
    }

    fn release_address(&self, _network_id: &str, addr: IpAddr) -> Result<(), IpamDriverError> {
        self.calls.record(format!("release_address {addr}"));
        self.held.lock().expect("held").retain(|a| *a != addr);
        Ok(())
    }
}
