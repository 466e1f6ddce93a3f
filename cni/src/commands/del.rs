//! DEL: disconnect the attachment (container id, interface). Idempotent:
//! a gone namespace, interface, record or network is success; only an
//! unreachable cnmd is an error (the runtime retries, the address is kept).

use pb::v1 as api;
use tonic::Code;

use crate::daemon::{refused, retry_transient, Daemon};
use crate::spec::{CniEnv, CniError, NetConf};

pub async fn del(env: &CniEnv, conf: &NetConf) -> Result<(), CniError> {
    let daemon = Daemon::connect(&conf.socket).await?;
    disconnect(&daemon, &conf.name, &env.container_id, &env.ifname).await
}

/// Disconnects one attachment from `network`; NotFound is success.
pub async fn disconnect(
    daemon: &Daemon,
    network: &str,
    container_id: &str,
    ifname: &str,
) -> Result<(), CniError> {
    let request = api::DisconnectRequest {
        network: network.to_owned(),
        sandbox: Some(api::SandboxRef {
            kind: Some(api::sandbox_ref::Kind::Attachment(api::AttachmentRef {
                container_id: container_id.to_owned(),
                interface_name: ifname.to_owned(),
            })),
        }),
        force: false,
    };
    let done = retry_transient(|| {
        let mut client = daemon.networks();
        let request = request.clone();
        async move { client.disconnect_sandbox(request).await }
    })
    .await;
    match done {
        Ok(_) => Ok(()),
        Err(status) if status.code() == Code::NotFound => Ok(()),
        Err(status) => Err(refused(
            &format!("disconnect container {container_id} ({ifname}) from network {network}"),
            &status,
        )),
    }
}
