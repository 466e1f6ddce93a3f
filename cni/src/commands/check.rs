//! CHECK: the attachment is still what `prevResult` says. cnmd must hold
//! it (the address reservation is an external resource), with the same
//! addresses, and the interface must be up inside the namespace with those
//! addresses and the MAC prevResult reports (a later plugin may have set
//! it). Routes are not compared: later plugins may change them.

use std::collections::BTreeSet;

use ipnetwork::IpNetwork;
use pb::v1 as api;
use tonic::Code;

use crate::daemon::{refused, Daemon};
use crate::netns::interface_in;
use crate::spec::{code, CniEnv, CniError, NetConf, PrevResult};

pub async fn check(env: &CniEnv, conf: &NetConf) -> Result<(), CniError> {
    let prev = conf.prev_result.as_ref().ok_or_else(|| {
        CniError::new(
            code::INVALID_CONFIG,
            "CHECK needs prevResult (the result of the ADD)",
        )
    })?;
    let prev = PrevResult::parse(prev)?;
    let ifname = &env.ifname;
    let (iface, expected) = prev
        .sandbox_interface(ifname)
        .ok_or_else(|| failed(format!("prevResult lists no sandbox interface {ifname}")))?;
    let daemon = Daemon::connect(&conf.socket).await?;
    let endpoint = recorded_endpoint(&daemon, env, conf).await?;
    let recorded: BTreeSet<IpNetwork> = [&endpoint.ipv4_address, &endpoint.ipv6_address]
        .into_iter()
        .filter(|a| !a.is_empty())
        .filter_map(|a| a.parse().ok())
        .collect();
    let expected: BTreeSet<IpNetwork> = expected.into_iter().collect();
    if recorded != expected {
        return Err(failed(format!(
            "cnmd holds {} for {ifname}, prevResult says {}",
            list(&recorded),
            list(&expected)
        )));
    }
    let netns = env.netns_path()?;
    let link = interface_in(netns, ifname)
        .map_err(|err| failed(format!("cannot look inside {}: {err}", netns.display())))?
        .ok_or_else(|| failed(format!("{ifname} is missing from {}", netns.display())))?;
    if !link.up {
        return Err(failed(format!("{ifname} in {} is down", netns.display())));
    }
    if let Some(missing) = recorded.iter().find(|a| !link.addresses.contains(a)) {
        return Err(failed(format!(
            "{ifname} in {} lacks its address {missing}",
            netns.display()
        )));
    }
    let mac = link.mac.unwrap_or_default();
    if !iface.mac.is_empty() && !iface.mac.eq_ignore_ascii_case(&mac) {
        return Err(failed(format!(
            "{ifname} has MAC {mac}, prevResult says {}",
            iface.mac
        )));
    }
    Ok(())
}

fn failed(msg: String) -> CniError {
    CniError::new(code::CHECK_FAILED, msg)
}

fn list(addrs: &BTreeSet<IpNetwork>) -> String {
    if addrs.is_empty() {
        return "no address".into();
    }
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// cnmd's endpoint of this attachment on this network.
async fn recorded_endpoint(
    daemon: &Daemon,
    env: &CniEnv,
    conf: &NetConf,
) -> Result<api::Endpoint, CniError> {
    let not_attached = || {
        failed(format!(
            "container {} ({}) is not attached to network {} in cnmd",
            env.container_id, env.ifname, conf.name
        ))
    };
    let request = api::InspectSandboxRequest {
        sandbox: Some(api::SandboxRef {
            kind: Some(api::sandbox_ref::Kind::Attachment(api::AttachmentRef {
                container_id: env.container_id.clone(),
                interface_name: env.ifname.clone(),
            })),
        }),
    };
    let sandbox = match daemon.sandboxes().inspect_sandbox(request).await {
        Ok(response) => response.into_inner(),
        Err(status) if status.code() == Code::NotFound => return Err(not_attached()),
        Err(status) => return Err(refused("inspect the attachment", &status)),
    };
    sandbox
        .endpoints
        .into_iter()
        .find(|e| {
            e.network_name == conf.name
                && e.interface == env.ifname
                && e.container_id == env.container_id
        })
        .ok_or_else(not_attached)
}
