//! The local API socket: mode 0660, owned by root and `--group`, from the
//! moment it exists.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{bail, Context};
use nix::unistd::Gid;
use tokio::net::UnixListener;

/// Binds the unix socket with mode 0660 (and group `gid`) before anyone
/// can connect.
pub fn bind(path: &Path, gid: Option<Gid>) -> anyhow::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    if path.exists() {
        // A socket that still answers belongs to a running cnmd.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!(
                "another cnmd is already listening on {}; stop it first",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("remove stale socket {}", path.display()))?;
    }
    // The umask makes the socket 0660 from the moment it exists; the chmod
    // after bind is belt and braces against an unusual inherited umask.
    // Until the chown the group is root's, so nobody else can connect in
    // between.
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o117));
    let bound = UnixListener::bind(path);
    nix::sys::stat::umask(old);
    let listener = bound.with_context(|| format!("listen on {}", path.display()))?;
    if let Some(gid) = gid {
        nix::unistd::chown(path, None, Some(gid))
            .with_context(|| format!("chgrp {gid} {}", path.display()))?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .with_context(|| format!("chmod 0660 {}", path.display()))?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[tokio::test]
    async fn socket_is_0660_and_in_the_group() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("cnmd.sock");
        // Only root may give a file to another group.
        let root = nix::unistd::geteuid().is_root();
        let gid = root.then(|| Gid::from_raw(4321));
        let _listener = bind(&path, gid).expect("bind");
        let meta = std::fs::metadata(&path).expect("socket exists");
        assert_eq!(meta.mode() & 0o7777, 0o660);
        if root {
            assert_eq!(meta.gid(), 4321);
        }
    }

    #[tokio::test]
    async fn a_live_socket_is_not_taken_over() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("cnmd.sock");
        let _first = bind(&path, None).expect("bind");
        let err = bind(&path, None).expect_err("in use");
        assert!(err.to_string().contains("already listening"), "{err}");
    }
}
