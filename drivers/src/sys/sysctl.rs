//! `/proc/sys` reads and writes. Network sysctls are per namespace and
//! resolve against the namespace of the thread that opens the file, so
//! call these inside `Netns::run` to reach another namespace.

use std::fs;
use std::path::PathBuf;

use super::SysError;

/// The file behind `key`; keys use `/` separators as under /proc/sys
/// (`net/ipv6/conf/eth0/disable_ipv6`), never dots, because interface names
/// may contain dots.
fn sysctl_path(key: &str) -> Result<PathBuf, SysError> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if bad {
        let e = std::io::Error::new(std::io::ErrorKind::InvalidInput, "malformed sysctl key");
        return Err(SysError::new("resolve sysctl", key, e));
    }
    Ok(PathBuf::from("/proc/sys").join(key))
}

/// Writes `value` to the sysctl `key` in the calling thread's namespace.
pub fn write_sysctl(key: &str, value: &str) -> Result<(), SysError> {
    let path = sysctl_path(key)?;
    fs::write(&path, value).map_err(|e| SysError::new("write sysctl", format!("{key}={value}"), e))
}

/// Reads the sysctl `key` in the calling thread's namespace, without the
/// trailing newline.
pub fn read_sysctl(key: &str) -> Result<String, SysError> {
    let path = sysctl_path(key)?;
    let mut value = fs::read_to_string(&path).map_err(|e| SysError::new("read sysctl", key, e))?;
    if value.ends_with('\n') {
        value.pop();
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_under_proc_sys() {
        assert!(sysctl_path("net/ipv4/ip_forward").is_ok());
        for bad in ["", "/etc/passwd", "net/../../etc", "net//x", "net/./x"] {
            assert!(sysctl_path(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn reads_a_global_sysctl() {
        let v = read_sysctl("kernel/ostype");
        assert_eq!(v.ok().as_deref(), Some("Linux"));
    }
}
