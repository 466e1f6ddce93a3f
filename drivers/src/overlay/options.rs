//! The overlay driver's `-o key=value` options.

use std::collections::BTreeMap;

use crate::bridge::{keys, MAX_MTU, MIN_MTU};
use crate::options::unknown_option;
use crate::DriverError;

use super::OverlayDriver;

/// The VXLAN id, under Docker's key. Given by the user or assigned by the
/// cluster store at create (unique in the cluster).
pub const VNI_OPTION: &str = "com.docker.network.driver.overlay.vxlanid_list";

/// Largest VXLAN network identifier (24 bits).
const MAX_VNI: u32 = (1 << 24) - 1;

/// Validated overlay network options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OverlayOptions {
    pub vni: Option<u32>,
    /// MTU of the bridge, the VXLAN device and the veths; default: the
    /// underlay's minus the VXLAN overhead.
    pub mtu: Option<u32>,
}

impl OverlayOptions {
    pub fn parse(options: &BTreeMap<String, String>) -> Result<OverlayOptions, DriverError> {
        let mut parsed = OverlayOptions::default();
        for (key, value) in options {
            let bad = |what: &str| DriverError::InvalidOption {
                driver: OverlayDriver::NAME,
                message: format!("invalid {key}={value}: {what}"),
            };
            match key.as_str() {
                VNI_OPTION => {
                    let vni: u32 = value.parse().map_err(|_| bad("use a number"))?;
                    if !(1..=MAX_VNI).contains(&vni) {
                        return Err(bad("VXLAN ids are 1-16777215"));
                    }
                    parsed.vni = Some(vni);
                }
                keys::MTU => {
                    let mtu: u32 = value.parse().map_err(|_| bad("use a number"))?;
                    if !(MIN_MTU..=MAX_MTU).contains(&mtu) {
                        return Err(bad("the MTU must be 68-65535"));
                    }
                    parsed.mtu = Some(mtu);
                }
                _ => {
                    return Err(unknown_option(
                        OverlayDriver::NAME,
                        key,
                        &[VNI_OPTION, keys::MTU],
                    ))
                }
            }
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::option_map;

    #[test]
    fn parses_vni_and_mtu_and_refuses_the_rest() {
        let got = OverlayOptions::parse(&option_map(&[(VNI_OPTION, "4097"), (keys::MTU, "1400")]))
            .expect("valid");
        assert_eq!((got.vni, got.mtu), (Some(4097), Some(1400)));
        assert!(OverlayOptions::parse(&option_map(&[(VNI_OPTION, "0")])).is_err());
        assert!(OverlayOptions::parse(&option_map(&[(VNI_OPTION, "16777216")])).is_err());
        let err = OverlayOptions::parse(&option_map(&[("parent", "eth0")])).expect_err("unknown");
        assert!(err.to_string().contains("unknown option `parent`"), "{err}");
    }
}
