//! cnm.v1.BridgeService: the bridges of cnmd's network namespace, their STP
//! state and forwarding databases, for `cnm bridge show|showstp|showmacs`.

use std::sync::Arc;

use ::pb::v1 as pb;
use cnm_drivers::sys::{BridgeInfo, BridgePortInfo};
use pb::bridge_service_server::BridgeService;
use tonic::{Request, Response, Status};

use super::run_blocking;
use crate::core::{BridgeMac, BridgeView, Core};

pub struct BridgeApi {
    core: Arc<Core>,
}

impl BridgeApi {
    pub fn new(core: Arc<Core>) -> Self {
        BridgeApi { core }
    }
}

#[tonic::async_trait]
impl BridgeService for BridgeApi {
    async fn list_bridges(
        &self,
        request: Request<pb::ListBridgesRequest>,
    ) -> Result<Response<pb::ListBridgesResponse>, Status> {
        let names = request.into_inner().names;
        let core = self.core.clone();
        let views = run_blocking(move || core.list_bridges(&names)).await?;
        Ok(Response::new(pb::ListBridgesResponse {
            bridges: views.into_iter().map(bridge).collect(),
        }))
    }

    async fn list_bridge_macs(
        &self,
        request: Request<pb::ListBridgeMacsRequest>,
    ) -> Result<Response<pb::ListBridgeMacsResponse>, Status> {
        let name = request.into_inner().bridge;
        let core = self.core.clone();
        let macs = run_blocking(move || core.bridge_macs(&name)).await?;
        Ok(Response::new(pb::ListBridgeMacsResponse {
            macs: macs.iter().map(mac).collect(),
        }))
    }
}

fn bridge(view: BridgeView) -> pb::Bridge {
    let BridgeView { bridge: b, network } = view;
    let (network_name, network_id) = network.unwrap_or_default();
    let BridgeInfo {
        name,
        ports,
        bridge_id,
        designated_root,
        ..
    } = b;
    pb::Bridge {
        name,
        bridge_id: bridge_id.to_string(),
        designated_root: designated_root.to_string(),
        root_port: b.root_port.into(),
        root_path_cost: b.root_path_cost,
        stp_state: b.stp_state,
        max_age: b.max_age,
        hello_time: b.hello_time,
        forward_delay: b.forward_delay,
        ageing_time: b.ageing_time,
        hello_timer: b.hello_timer,
        tcn_timer: b.tcn_timer,
        topology_change_timer: b.topology_change_timer,
        gc_timer: b.gc_timer,
        topology_change: b.topology_change,
        topology_change_detected: b.topology_change_detected,
        network_name,
        network_id,
        ports: ports.iter().map(port).collect(),
    }
}

fn port(p: &BridgePortInfo) -> pb::BridgePort {
    pb::BridgePort {
        name: p.name.clone(),
        port_no: p.port_no.into(),
        port_id: p.port_id.into(),
        state: p.state.to_string(),
        path_cost: p.path_cost,
        designated_root: p.designated_root.to_string(),
        designated_bridge: p.designated_bridge.to_string(),
        designated_port: p.designated_port.into(),
        designated_cost: p.designated_cost.into(),
        message_age_timer: p.message_age_timer,
        forward_delay_timer: p.forward_delay_timer,
        hold_timer: p.hold_timer,
        topology_change_ack: p.topology_change_ack,
        config_pending: p.config_pending,
        hairpin: p.hairpin,
    }
}

fn mac(m: &BridgeMac) -> pb::BridgeMac {
    let e = &m.entry;
    pb::BridgeMac {
        port_no: m.port_no.into(),
        port: m.port_name.clone(),
        mac: e
            .mac
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
        is_local: e.is_local,
        ageing_timer: e.ageing,
        vlan: e.vlan.unwrap_or_default().into(),
    }
}
