//! GC: remove every attachment cnm-cni made on this network that the
//! runtime no longer lists in `cni.dev/valid-attachments`. Attachments of
//! other callers (the CLI, the bundled runtime, OCI hooks) are not touched.
//! Every stale attachment is tried; the errors are reported together.

use pb::v1 as api;

use super::del::disconnect;
use super::OWNER;
use crate::daemon::{refused, Daemon};
use crate::spec::{code, CniError, GcAttachment, NetConf};

pub async fn gc(conf: &NetConf) -> Result<(), CniError> {
    // Without the list every attachment would look stale.
    let valid = conf.valid_attachments.as_ref().ok_or_else(|| {
        CniError::new(
            code::INVALID_CONFIG,
            "GC needs \"cni.dev/valid-attachments\" (null or [] when none is valid)",
        )
    })?;
    let daemon = Daemon::connect(&conf.socket).await?;
    let sandboxes = daemon
        .sandboxes()
        .list_sandboxes(api::ListSandboxesRequest {})
        .await
        .map_err(|status| refused("list sandboxes", &status))?
        .into_inner()
        .sandboxes;
    let stale: Vec<GcAttachment> = sandboxes
        .iter()
        .flat_map(|s| &s.endpoints)
        .filter(|e| e.network_name == conf.name && e.owner == OWNER && !e.container_id.is_empty())
        .map(|e| GcAttachment {
            container_id: e.container_id.clone(),
            ifname: e.interface.clone(),
        })
        .filter(|a| !valid.contains(a))
        .collect();
    let mut errors = Vec::new();
    for attachment in &stale {
        let removed = disconnect(
            &daemon,
            &conf.name,
            &attachment.container_id,
            &attachment.ifname,
        )
        .await;
        if let Err(err) = removed {
            errors.push(err.msg);
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    Err(CniError::new(
        code::DAEMON_REFUSED,
        format!(
            "GC of network {}: {} of {} stale attachments could not be removed: {}",
            conf.name,
            errors.len(),
            stale.len(),
            errors.join("; ")
        ),
    ))
}
