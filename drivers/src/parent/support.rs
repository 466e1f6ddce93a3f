//! Which stacked link kinds the kernel offers. Kernels are built without
//! some of them (this project's CI kernel has no ipvlan and no 802.1Q), and
//! without this check a network would be recorded and only its first
//! container would fail, with EOPNOTSUPP. Each kind is asked once per
//! process: the answer is a property of the running kernel.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use crate::sys::Netlink;
use crate::DriverError;

/// Kind -> whether the kernel knows it.
fn known() -> &'static Mutex<BTreeMap<&'static str, bool>> {
    static KNOWN: OnceLock<Mutex<BTreeMap<&'static str, bool>>> = OnceLock::new();
    KNOWN.get_or_init(Mutex::default)
}

/// A link kind a driver needs, with what to tell users who lack it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkKind {
    /// As `ip link` spells it ("ipvlan", "macvlan", "vlan").
    pub kind: &'static str,
    /// What the user-facing name of the feature is.
    pub feature: &'static str,
    /// The kernel option and module that provide it.
    pub config: &'static str,
    pub module: &'static str,
}

pub(crate) const IPVLAN: LinkKind = LinkKind {
    kind: "ipvlan",
    feature: "ipvlan links",
    config: "CONFIG_IPVLAN",
    module: "ipvlan",
};

pub(crate) const MACVLAN: LinkKind = LinkKind {
    kind: "macvlan",
    feature: "macvlan links",
    config: "CONFIG_MACVLAN",
    module: "macvlan",
};

pub(crate) const VLAN: LinkKind = LinkKind {
    kind: "vlan",
    feature: "802.1Q VLAN links",
    config: "CONFIG_VLAN_8021Q",
    module: "8021q",
};

/// Ok if the kernel has `kind`; otherwise an error that names the missing
/// kernel feature and `advice` (what to do instead). Probing creates
/// nothing, so a refused request leaves no trace.
pub(crate) fn require_link_kind(
    driver: &'static str,
    operation: &'static str,
    kind: LinkKind,
    advice: &str,
) -> Result<(), DriverError> {
    let cached = known()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(kind.kind)
        .copied();
    let supported = match cached {
        Some(supported) => supported,
        None => {
            let supported = Netlink::open()?.supports_link_kind(kind.kind)?;
            tracing::info!(kind = kind.kind, supported, "probed kernel link kind");
            known()
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(kind.kind, supported);
            supported
        }
    };
    if supported {
        return Ok(());
    }
    Err(DriverError::Unsupported {
        driver,
        operation,
        reason: format!(
            "this kernel has no {} ({} is off and no `{}` module could be loaded); {advice}",
            kind.feature, kind.config, kind.module
        ),
    })
}
