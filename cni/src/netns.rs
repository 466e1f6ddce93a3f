//! What one interface inside a network namespace looks like, read on a
//! helper thread that enters the namespace (`setns` changes only the
//! calling thread; the runtime's thread never leaves the host namespace).

use std::fs::File;
use std::net::IpAddr;
use std::path::Path;

use ipnetwork::IpNetwork;
use nix::ifaddrs::getifaddrs;
use nix::net::if_::InterfaceFlags;
use nix::sched::{setns, CloneFlags};
use nix::sys::socket::SockaddrStorage;

/// An interface as the kernel shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkState {
    pub up: bool,
    /// "02:42:ac:11:00:02".
    pub mac: Option<String>,
    pub addresses: Vec<IpNetwork>,
}

/// The interface `ifname` inside the namespace at `netns`; None if absent.
pub fn interface_in(netns: &Path, ifname: &str) -> Result<Option<LinkState>, String> {
    let file = File::open(netns).map_err(|e| format!("cannot open {}: {e}", netns.display()))?;
    let ifname = ifname.to_owned();
    let path = netns.display().to_string();
    std::thread::spawn(move || {
        setns(&file, CloneFlags::CLONE_NEWNET).map_err(|e| format!("cannot enter {path}: {e}"))?;
        read_interface(&ifname).map_err(|e| format!("cannot list interfaces in {path}: {e}"))
    })
    .join()
    .map_err(|_| "the namespace reader thread panicked".to_string())?
}

fn read_interface(ifname: &str) -> nix::Result<Option<LinkState>> {
    let mut found = None::<LinkState>;
    for entry in getifaddrs()?.filter(|e| e.interface_name == ifname) {
        let state = found.get_or_insert_with(LinkState::default);
        state.up |= entry.flags.contains(InterfaceFlags::IFF_UP);
        let Some(address) = entry.address else {
            continue;
        };
        if let Some(mac) = address.as_link_addr().and_then(|l| l.addr()) {
            state.mac = Some(format_mac(&mac));
        } else if let Some(ip) = ip_of(&address) {
            let prefix = entry.netmask.as_ref().and_then(ip_of).map_or(0, prefix_len);
            if let Ok(net) = IpNetwork::new(ip, prefix) {
                state.addresses.push(net);
            }
        }
    }
    Ok(found)
}

fn ip_of(addr: &SockaddrStorage) -> Option<IpAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(IpAddr::V4(v4.ip()));
    }
    addr.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
}

fn prefix_len(mask: IpAddr) -> u8 {
    let ones = match mask {
        IpAddr::V4(m) => u32::from(m).count_ones(),
        IpAddr::V6(m) => u128::from(m).count_ones(),
    };
    u8::try_from(ones).unwrap_or(0)
}

fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_of_our_own_namespace() {
        let lo = interface_in(Path::new("/proc/self/ns/net"), "lo");
        // Entering our own namespace needs CAP_SYS_ADMIN; without it the
        // error must say so rather than pretend the interface is absent.
        match lo {
            Ok(Some(state)) => assert_eq!(state.mac.as_deref(), Some("00:00:00:00:00:00")),
            Ok(None) => panic!("no lo in our own namespace"),
            Err(err) => assert!(err.contains("cannot enter"), "{err}"),
        }
    }

    #[test]
    fn masks_to_prefixes() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert_eq!(prefix_len(ip("255.255.0.0")), 16);
        assert_eq!(prefix_len(ip("ffff:ffff:ffff:ffff::")), 64);
    }
}
