//! STATUS: cnm-cni can serve ADD when cnmd answers on its socket.

use pb::v1 as api;

use crate::daemon::open;
use crate::spec::{code, CniError, NetConf};

pub async fn status(conf: &NetConf) -> Result<(), CniError> {
    let unavailable = |why: String| {
        CniError::new(
            code::NOT_AVAILABLE,
            format!("cnmd is not reachable at {}: {why}", conf.socket.display()),
        )
        .with_details("start cnmd, or point the config's \"socket\" at it")
    };
    let channel = open(&conf.socket)
        .await
        .map_err(|err| unavailable(err.to_string()))?;
    api::system_service_client::SystemServiceClient::new(channel)
        .version(api::VersionRequest {})
        .await
        .map_err(|status| unavailable(status.message().to_owned()))?;
    Ok(())
}
