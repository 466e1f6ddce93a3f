//! `-p` on a plugin's network: cnmd picks and holds the host ports, and the
//! plugin makes them reachable (libnetwork's ProgramExternalConnectivity),
//! is told to withdraw them before the endpoint leaves, and is told them
//! again when it restarts. A plugin that cannot publish refuses, and the
//! connect leaves nothing behind.
//!
//! The plugin here is written the way a third party would: a driver served
//! through `cnm_plugin` from this test process, carrying its data plane
//! through cnm's bridge (served by `cnm-driver`) and publishing TCP ports
//! with a user-space proxy in the host namespace, as docker-proxy does.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cnm_drivers::{
    Capabilities, Driver, DriverError, EndpointSpec, JoinInfo, NetworkSpec, PortBinding,
    SandboxSpec,
};
use cnm_plugin::RemoteDriver;
use cnm_tests::cli::assert_stderr_mentions;
use cnm_tests::netns::NetNs;
use cnm_tests::plugin::{CallLog, DriverPlugin, RecordingPlugin};
use cnm_tests::traffic::{expect_not_served, expect_served, sock, tcp_request, EchoServer, Proto};
use cnm_tests::{case, Case, Host, KERNEL};

use crate::create::create;

pub fn cases() -> Vec<Case> {
    vec![
        case("plugin_publishes_ports", KERNEL, plugin_publishes_ports),
        case(
            "plugin_that_cannot_publish_refuses",
            KERNEL,
            plugin_that_cannot_publish_refuses,
        ),
    ]
}

fn socket_of(host: &Host, name: &str) -> PathBuf {
    host.dir().join("run/plugins").join(format!("{name}.sock"))
}

fn plugin_publishes_ports() {
    let host = Host::start();
    let bridge = DriverPlugin::start(
        host.ns(),
        "bridge",
        &host.dir().join("inner.sock"),
        &host.dir().join("inner.log"),
    );
    let mut proxy = proxy_plugin(host.ns(), &socket_of(&host, "proxyplug"), bridge.socket());
    create(
        &host,
        &["-d", "proxyplug", "--subnet", "10.81.0.0/24", "pnet"],
    );
    create(&host, &["--subnet", "10.82.0.0/24", "bnet"]);
    let c1 = host.container("c1");
    let _echo = EchoServer::start(c1.ns(), Proto::Tcp, 80, "c1");
    host.connect_named("pnet", &c1, &["--ip", "10.81.0.10", "-p", "8080:80"]);
    let ep = host
        .inspect("pnet")
        .expect_endpoint("c1")
        .endpoint_id
        .clone();
    assert_eq!(
        proxy.calls(),
        [format!("program {ep} 0.0.0.0:8080->80/tcp")],
        "the plugin was not asked to publish"
    );
    expect_served(&host, host.ns(), Proto::Tcp, sock("127.0.0.1", 8080), "c1");
    let port = host.cnm_ok(&["port", "c1"]);
    assert!(port.contains("80/tcp -> 0.0.0.0:8080"), "cnm port: {port}");

    // cnmd holds the port: nobody else gets it, on any driver.
    let c2 = host.container("c2");
    let out = host.connect("bnet", &c2, &["--name", "c2", "-p", "8080:80"]);
    assert!(
        !out.success(),
        "a second holder of 8080 was accepted: {out}"
    );
    assert_stderr_mentions(&out, &["8080", "c1"]);

    // A restarted plugin is told the ports again before its next call.
    proxy.restart();
    cnm_tests::exec::eventually(Duration::from_secs(2), || {
        match tcp_request(host.ns(), sock("127.0.0.1", 8080)) {
            Ok(reply) => Err(format!(
                "{} still answers through the dead plugin",
                reply.tag
            )),
            Err(_) => Ok(()),
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let c3 = host.container("c3");
    host.connect_named("pnet", &c3, &[]);
    assert_eq!(
        proxy.calls().first().map(String::as_str),
        Some(format!("program {ep} 0.0.0.0:8080->80/tcp").as_str()),
        "no replay of the ports: {:?}",
        proxy.calls()
    );
    expect_served(&host, host.ns(), Proto::Tcp, sock("127.0.0.1", 8080), "c1");

    // Revoked before the endpoint leaves; the port is free again.
    host.disconnect_ok("pnet", &c1);
    assert!(
        proxy.calls().contains(&format!("revoke {ep}")),
        "{:?}",
        proxy.calls()
    );
    expect_not_served(&host, host.ns(), Proto::Tcp, sock("127.0.0.1", 8080));
    host.connect_named("bnet", &c2, &["-p", "8080:80"]);
}

fn plugin_that_cannot_publish_refuses() {
    let host = Host::start();
    // cnm's bridge served out of process publishes nothing by itself.
    let _bridge = DriverPlugin::start(
        host.ns(),
        "bridge",
        &socket_of(&host, "plainplug"),
        &host.dir().join("plain.log"),
    );
    let bridge = DriverPlugin::start(
        host.ns(),
        "bridge",
        &host.dir().join("inner.sock"),
        &host.dir().join("inner.log"),
    );
    let proxy = proxy_plugin(host.ns(), &socket_of(&host, "proxyplug"), bridge.socket());
    create(
        &host,
        &["-d", "plainplug", "--subnet", "10.83.0.0/24", "plain"],
    );
    create(
        &host,
        &["-d", "proxyplug", "--subnet", "10.84.0.0/24", "pnet"],
    );
    let c1 = host.container("c1");
    for (net, spec, says) in [
        (
            "plain",
            "8080:80",
            "driver plainplug: published ports: this driver cannot publish them",
        ),
        ("pnet", "5353:53/udp", "proxyplug publishes TCP only"),
    ] {
        let out = host.connect(net, &c1, &["--name", "c1", "-p", spec]);
        assert!(!out.success(), "-p {spec} on {net} was accepted: {out}");
        assert_stderr_mentions(&out, &[says]);
        assert!(c1.link("eth0").is_none(), "{net}: eth0 left in c1");
        assert!(
            host.inspect(net).containers.is_empty(),
            "{net}: the endpoint was recorded"
        );
    }
    assert!(proxy.calls().iter().all(|c| c.starts_with("program")));
    // The refused ports were given back.
    host.connect_named("pnet", &c1, &["-p", "5353:53"]);
}

/// The proxy driver, served by a runtime whose threads live in the test
/// host's namespace (its listeners must be there). It records every publish
/// and revoke it is asked; a restart drops its proxies and connections.
fn proxy_plugin(ns: &NetNs, socket: &Path, inner: &Path) -> RecordingPlugin {
    let inner = inner.to_owned();
    RecordingPlugin::start(socket, Some(ns), move |calls, socket| {
        let driver = Arc::new(ProxyDriver {
            inner: RemoteDriver::new("proxyplug-inner", inner.clone(), None),
            calls,
            proxies: Mutex::default(),
        });
        Box::pin(async move {
            if let Err(err) = cnm_plugin::serve_until(driver, &socket, std::future::pending()).await
            {
                eprintln!("proxy plugin: {err}");
            }
        })
    })
}

struct ProxyDriver {
    inner: RemoteDriver,
    calls: CallLog,
    /// Listening sockets by endpoint id.
    proxies: Mutex<BTreeMap<String, Vec<Arc<TcpListener>>>>,
}

impl ProxyDriver {
    fn stop(&self, endpoint: &str) {
        for listener in self
            .proxies
            .lock()
            .expect("proxies")
            .remove(endpoint)
            .unwrap_or_default()
        {
            // Wakes the accept loop with an error; it ends.
            let _ =
                nix::sys::socket::shutdown(listener.as_raw_fd(), nix::sys::socket::Shutdown::Both);
        }
    }
}

impl Drop for ProxyDriver {
    fn drop(&mut self) {
        let endpoints: Vec<String> = self
            .proxies
            .lock()
            .expect("proxies")
            .keys()
            .cloned()
            .collect();
        for ep in endpoints {
            self.stop(&ep);
        }
    }
}

/// Accepts until the listener is shut down; each client is piped to `to`.
fn proxy(listener: Arc<TcpListener>, to: SocketAddr) {
    loop {
        let client = match listener.accept() {
            Ok((client, _)) => client,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        std::thread::spawn(move || {
            let Ok(server) = TcpStream::connect_timeout(&to, Duration::from_secs(2)) else {
                return;
            };
            let (mut c_in, mut s_out) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            let up = std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_in, &mut s_out);
                let _ = s_out.shutdown(std::net::Shutdown::Write);
            });
            let (mut s_in, mut c_out) = (server, client);
            let _ = std::io::copy(&mut s_in, &mut c_out);
            let _ = c_out.flush();
            let _ = c_out.shutdown(std::net::Shutdown::Write);
            let _ = up.join();
        });
    }
}

impl Driver for ProxyDriver {
    fn name(&self) -> &str {
        "proxyplug"
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn validate_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        self.inner.validate_network(net)
    }

    fn create_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        self.inner.create_network(net)
    }

    fn delete_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        self.inner.delete_network(net)
    }

    fn create_endpoint(&self, net: &NetworkSpec, ep: &EndpointSpec) -> Result<(), DriverError> {
        self.inner.create_endpoint(net, ep)
    }

    fn delete_endpoint(&self, net: &NetworkSpec, ep: &EndpointSpec) -> Result<(), DriverError> {
        self.inner.delete_endpoint(net, ep)
    }

    fn join(
        &self,
        net: &NetworkSpec,
        ep: &EndpointSpec,
        sandbox: SandboxSpec<'_>,
    ) -> Result<JoinInfo, DriverError> {
        self.inner.join(net, ep, sandbox)
    }

    fn leave(&self, net: &NetworkSpec, ep: &EndpointSpec) -> Result<(), DriverError> {
        self.inner.leave(net, ep)
    }

    fn program_external_connectivity(
        &self,
        _net: &NetworkSpec,
        ep: &EndpointSpec,
        ports: &[PortBinding],
    ) -> Result<(), DriverError> {
        let text: Vec<String> = ports.iter().map(ToString::to_string).collect();
        self.calls
            .record(format!("program {} {}", ep.id, text.join(",")));
        let refuse = |reason: String| DriverError::InvalidSpec {
            object: format!("endpoint {}", ep.id),
            reason,
        };
        if let Some(p) = ports.iter().find(|p| p.protocol != "tcp") {
            return Err(refuse(format!(
                "proxyplug publishes TCP only, not {}",
                p.protocol
            )));
        }
        let target: IpAddr = ep
            .addresses
            .first()
            .map(|a| a.ip())
            .ok_or_else(|| refuse("no address to forward to".into()))?;
        let mut listeners = Vec::new();
        for p in ports {
            let host: IpAddr = p.host_ip.unwrap_or(IpAddr::from([0, 0, 0, 0]));
            let listener = TcpListener::bind((host, p.host_port))
                .map(Arc::new)
                .map_err(|e| refuse(format!("listen on {host}:{}: {e}", p.host_port)))?;
            let to = SocketAddr::new(target, p.container_port);
            let l = listener.clone();
            std::thread::spawn(move || proxy(l, to));
            listeners.push(listener);
        }
        self.proxies
            .lock()
            .expect("proxies")
            .insert(ep.id.clone(), listeners);
        Ok(())
    }

    fn revoke_external_connectivity(
        &self,
        _net: &NetworkSpec,
        ep: &EndpointSpec,
    ) -> Result<(), DriverError> {
        self.calls.record(format!("revoke {}", ep.id));
        self.stop(&ep.id);
        Ok(())
    }
}
