//! The container's /etc/hosts and /etc/resolv.conf, written by cnmd and
//! bind-mounted read-only by the runtime. Rewrites go into the same inode
//! (truncate and write), because a bind mount keeps pointing at the inode
//! it was made from: a rename would leave the container the old file.

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

use super::ContainerError;
use crate::core::{Core, SandboxView};

const LOCALHOST: &str = "127.0.0.1\tlocalhost\n\
::1\tlocalhost ip6-localhost ip6-loopback\n\
fe00::0\tip6-localnet\n\
ff00::0\tip6-mcastprefix\n\
ff02::1\tip6-allnodes\n\
ff02::2\tip6-allrouters\n";

/// The hosts file: localhost lines, then each address of the container
/// with its host name and (when different) its container name.
pub fn hosts(addresses: &[IpAddr], hostname: &str, name: &str) -> String {
    let mut text = LOCALHOST.to_string();
    let names = if hostname.is_empty() || hostname == name {
        name.to_string()
    } else {
        format!("{hostname} {name}")
    };
    for addr in addresses {
        text.push_str(&format!("{addr}\t{names}\n"));
    }
    text
}

/// The container's addresses, eth0 first.
pub fn addresses(view: Option<&SandboxView>) -> Vec<IpAddr> {
    view.map(|v| {
        v.endpoints
            .iter()
            .flat_map(|(ep, _)| ep.addresses().map(|a| a.ip()))
            .collect()
    })
    .unwrap_or_default()
}

/// resolv.conf: the embedded DNS of the first DNS-enabled network (its
/// gateway), else the host's upstream nameservers.
pub fn resolv_conf(view: Option<&SandboxView>, host_resolv: &Path) -> String {
    let embedded = view.and_then(|v| {
        v.endpoints
            .iter()
            .filter(|(_, net)| Core::dns_enabled(net))
            .find_map(|(_, net)| net.subnets.iter().find_map(|s| s.gateway))
    });
    if let Some(gateway) = embedded {
        return format!("nameserver {gateway}\noptions ndots:0\n");
    }
    let host = fs::read_to_string(host_resolv).unwrap_or_default();
    let mut text = String::new();
    for line in host.lines() {
        let mut words = line.split_whitespace();
        let keep = match words.next() {
            // The container cannot reach the host's loopback resolvers.
            Some("nameserver") => words
                .next()
                .and_then(|a| a.parse::<IpAddr>().ok())
                .is_some_and(|a| !a.is_loopback()),
            Some("search" | "options") => true,
            _ => false,
        };
        if keep {
            text.push_str(line.trim());
            text.push('\n');
        }
    }
    if !text.contains("nameserver") {
        // Docker's fallback when the host has only local resolvers.
        text.push_str("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    }
    text
}

/// Writes `text` into `path` in place (see the module doc).
pub fn write_in_place(path: &Path, text: &str) -> Result<(), ContainerError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(ContainerError::io(format!("write {}", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(ContainerError::io(format!("write {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_lists_localhost_then_own_addresses() {
        let ip: IpAddr = "172.18.0.2".parse().expect("ip");
        let text = hosts(&[ip], "web", "web");
        assert!(text.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(text.ends_with("172.18.0.2\tweb\n"), "{text}");
        assert!(hosts(&[ip], "h", "web").ends_with("172.18.0.2\th web\n"));
    }

    #[test]
    fn resolv_conf_falls_back_to_host_nameservers_without_loopback() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("resolv.conf");
        fs::write(
            &path,
            "nameserver 127.0.0.53\nnameserver 10.0.0.1\nsearch lan\n",
        )
        .expect("write");
        assert_eq!(
            resolv_conf(None, &path),
            "nameserver 10.0.0.1\nsearch lan\n"
        );
        fs::write(&path, "nameserver 127.0.0.53\n").expect("write");
        assert!(resolv_conf(None, &path).contains("8.8.8.8"));
    }
}
