//! The CNM driver verbs (after libnetwork's driverapi) and the values they
//! exchange with the daemon core.
//!
//! The trait is synchronous on purpose: every verb is kernel work (netlink,
//! sysctl) that blocks, and the core already runs it on a blocking thread.
//! A remote (gRPC) driver blocks on its client call there as well.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::os::fd::BorrowedFd;

use ipnetwork::IpNetwork;

use crate::DriverError;

impl NetworkSpec {
    /// The gateways of the subnets that have one, each with its subnet, in
    /// the subnets' order. A gateway outside its subnet is refused: no
    /// driver could route through it.
    pub(crate) fn gateways(&self) -> Result<Vec<(IpNetwork, IpAddr)>, DriverError> {
        let mut gateways = Vec::new();
        for subnet in &self.subnets {
            let Some(gateway) = subnet.gateway else {
                continue;
            };
            if !subnet.subnet.contains(gateway) {
                return Err(DriverError::InvalidSpec {
                    object: format!("network `{}`", self.name),
                    reason: format!("gateway {gateway} is outside subnet {}", subnet.subnet),
                });
            }
            gateways.push((subnet.subnet, gateway));
        }
        Ok(gateways)
    }
}

impl JoinInfo {
    /// A join that gives the sandbox no interface (host, null).
    pub fn no_interface() -> Self {
        JoinInfo {
            interface: SandboxInterface::None,
            gateway_v4: None,
            gateway_v6: None,
            static_routes: Vec::new(),
            mtu: None,
        }
    }
}

/// What a driver can do, reported once at registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// "local" (one host) or "global" (multi-host).
    pub scope: &'static str,
    /// Whether endpoints get a network namespace of their own (false for
    /// `host` and `null`, whose sandboxes have no interface from us).
    pub creates_interfaces: bool,
}

/// One subnet of a network with its gateway, as IPAM decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetSpec {
    pub subnet: IpNetwork,
    /// The gateway address (inside `subnet`); the bridge driver puts it on
    /// the bridge with the subnet's prefix length.
    pub gateway: Option<IpAddr>,
}

/// A network as the driver sees it. Options are the raw `-o key=value`
/// pairs; each driver parses them into its own typed struct and rejects
/// keys it does not know.
#[derive(Debug, Clone)]
pub struct NetworkSpec {
    /// 64 hex digits.
    pub id: String,
    pub name: String,
    pub options: BTreeMap<String, String>,
    pub subnets: Vec<SubnetSpec>,
    pub internal: bool,
    pub enable_ipv6: bool,
}

/// An endpoint: one interface of one sandbox on one network.
#[derive(Debug, Clone)]
pub struct EndpointSpec {
    /// 64 hex digits.
    pub id: String,
    pub mac: [u8; 6],
    /// Addresses with the subnet's prefix length.
    pub addresses: Vec<IpNetwork>,
}

/// The sandbox an endpoint joins: its network namespace, already open.
#[derive(Debug, Clone, Copy)]
pub struct SandboxSpec<'a> {
    pub netns: BorrowedFd<'a>,
    /// The final interface name inside the sandbox ("eth0", "eth1", …).
    pub ifname: &'a str,
}

/// Where the sandbox-side interface is after `join`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxInterface {
    /// The driver created it inside the sandbox already, named as asked and
    /// still down (the cheap path: one netlink request for a veth pair).
    Created,
    /// The interface exists in the host namespace under this name; the core
    /// moves it into the sandbox and renames it (libnetwork's protocol,
    /// used by remote drivers).
    InHost { name: String },
    /// No interface at all (host and null networks).
    None,
}

/// What `join` hands back to the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinInfo {
    pub interface: SandboxInterface,
    pub gateway_v4: Option<IpAddr>,
    pub gateway_v6: Option<IpAddr>,
    /// Extra routes to add in the sandbox (destination, next hop).
    pub static_routes: Vec<(IpNetwork, Option<IpAddr>)>,
    /// MTU for the sandbox interface, if the driver sets one.
    pub mtu: Option<u32>,
}

/// A published port, as `program_external_connectivity` receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortBinding {
    /// "tcp", "udp" or "sctp".
    pub protocol: String,
    /// None: every address.
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub container_port: u16,
}

/// As `docker ps` prints one: `0.0.0.0:8080->80/tcp`, `:::5353->53/udp`.
impl std::fmt::Display for PortBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(ip) = self.host_ip {
            write!(f, "{ip}")?;
        }
        write!(
            f,
            ":{}->{}/{}",
            self.host_port, self.container_port, self.protocol
        )
    }
}

/// What the core tells a driver at start-up so it can put the kernel in
/// line with the store: everything listed must exist, everything else the
/// driver owns is removed.
#[derive(Debug, Clone, Default)]
pub struct ReconcileReport {
    /// Kernel objects that were missing and have been made again.
    pub recreated: Vec<String>,
    /// Kernel objects nobody owns any more that were removed.
    pub removed: Vec<String>,
    /// Endpoints (ids) whose kernel side is gone; the core forgets them.
    pub lost_endpoints: Vec<String>,
}

/// What a driver is told after a (re)start: the store's view.
#[derive(Debug, Clone, Copy)]
pub struct ReconcileScope<'a> {
    /// This driver's networks.
    pub networks: &'a [NetworkSpec],
    /// Their endpoints, with their network's id.
    pub endpoints: &'a [(String, EndpointSpec)],
    /// The store's networks of other drivers: their kernel objects may
    /// carry this driver's names (a built-in served out of process by
    /// `cnm-driver` makes the same bridges) and must be left alone.
    /// Drivers that cannot mistake them need not look.
    pub others: &'a [NetworkSpec],
}

impl<'a> ReconcileScope<'a> {
    /// This driver's networks and endpoints, no other driver's.
    pub fn alone(networks: &'a [NetworkSpec], endpoints: &'a [(String, EndpointSpec)]) -> Self {
        ReconcileScope {
            networks,
            endpoints,
            others: &[],
        }
    }
}

/// The verbs of a network driver.
pub trait Driver: Send + Sync {
    /// The name users type after `-d`.
    fn name(&self) -> &str;

    fn capabilities(&self) -> Capabilities;

    /// Checks options and subnets before anything is created, so a bad
    /// request changes nothing.
    fn validate_network(&self, net: &NetworkSpec) -> Result<(), DriverError>;

    /// Makes the network's kernel objects (a bridge, …). Idempotent: an
    /// existing object that matches is kept.
    fn create_network(&self, net: &NetworkSpec) -> Result<(), DriverError>;

    /// Removes the network's kernel objects. Missing objects are not an error.
    fn delete_network(&self, net: &NetworkSpec) -> Result<(), DriverError>;

    /// Prepares what `ep` needs before it joins a sandbox (libnetwork's
    /// CreateEndpoint). The built-in drivers make everything in `join` and
    /// need nothing here. Idempotent: cnmd replays it to a restarted plugin
    /// for every endpoint that exists.
    fn create_endpoint(&self, _net: &NetworkSpec, _ep: &EndpointSpec) -> Result<(), DriverError> {
        Ok(())
    }

    /// Forgets `ep` after `leave`. Missing state is not an error.
    fn delete_endpoint(&self, _net: &NetworkSpec, _ep: &EndpointSpec) -> Result<(), DriverError> {
        Ok(())
    }

    /// Creates the interface of `ep` and hands it to `sandbox`. On error the
    /// driver leaves nothing behind.
    fn join(
        &self,
        net: &NetworkSpec,
        ep: &EndpointSpec,
        sandbox: SandboxSpec<'_>,
    ) -> Result<JoinInfo, DriverError>;

    /// Removes the host side of `ep`. Missing objects are not an error (the
    /// sandbox may be gone already, taking the interface with it).
    fn leave(&self, net: &NetworkSpec, ep: &EndpointSpec) -> Result<(), DriverError>;

    /// The host-side interface of a joined endpoint, for callers that act on
    /// it (a CNI `bandwidth` plugin shapes the host end of a veth). None when
    /// the driver makes no host interface.
    fn host_interface(&self, _ep: &EndpointSpec) -> Option<String> {
        None
    }

    /// Publishes `ports` of a joined endpoint (libnetwork's
    /// ProgramExternalConnectivity); cnmd has chosen the host ports. The
    /// core publishes the ports of bridge networks itself (nftables maps)
    /// and refuses `-p` on the other built-ins, so only plugins are asked.
    /// A driver that cannot publish refuses, so that `-p` never lists a
    /// port nobody made reachable: that is the default.
    fn program_external_connectivity(
        &self,
        _net: &NetworkSpec,
        _ep: &EndpointSpec,
        ports: &[PortBinding],
    ) -> Result<(), DriverError> {
        if ports.is_empty() {
            return Ok(());
        }
        Err(DriverError::InvalidSpec {
            object: "published ports".into(),
            reason: "this driver cannot publish them; drop -p, or reach the container at its own address".into(),
        })
    }

    /// Withdraws what `program_external_connectivity` published. Nothing
    /// published is not an error.
    fn revoke_external_connectivity(
        &self,
        _net: &NetworkSpec,
        _ep: &EndpointSpec,
    ) -> Result<(), DriverError> {
        Ok(())
    }

    /// Puts the kernel in line with the store after a (re)start: what
    /// `scope` lists must exist, whatever else the driver owns goes. Drivers
    /// that own no kernel objects keep the default: nothing to do.
    fn reconcile(&self, _scope: ReconcileScope<'_>) -> Result<ReconcileReport, DriverError> {
        Ok(ReconcileReport::default())
    }
}
