//! The networks every cnmd has, as in Docker: `bridge` (Linux bridge
//! `cnm0`), `host` and `none`. Made on first start, never removed.

use std::collections::BTreeMap;

use super::{Core, CoreError, CreateNetworkRequest};

/// The default bridge's Linux name.
pub const DEFAULT_BRIDGE: &str = "cnm0";

impl Core {
    pub(super) fn ensure_builtin_networks(&self) -> Result<(), CoreError> {
        for (name, driver, options) in builtin_networks() {
            if self.state().network_by_name(name).is_some() {
                continue;
            }
            let req = CreateNetworkRequest {
                name: name.into(),
                driver: driver.into(),
                options,
                ..CreateNetworkRequest::default()
            };
            self.create_network_inner(req, true)?;
        }
        Ok(())
    }
}

fn builtin_networks() -> [(&'static str, &'static str, BTreeMap<String, String>); 3] {
    let bridge_options = [
        ("com.docker.network.bridge.default_bridge", "true"),
        ("com.docker.network.bridge.enable_icc", "true"),
        ("com.docker.network.bridge.enable_ip_masquerade", "true"),
        ("com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"),
        ("com.docker.network.bridge.name", DEFAULT_BRIDGE),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    [
        ("bridge", "bridge", bridge_options),
        ("host", "host", BTreeMap::new()),
        ("none", "null", BTreeMap::new()),
    ]
}
