//! Paths inside a container's root directory, resolved on the host the way
//! the container would see them: symlinks are followed, an absolute link
//! target restarts at the container root and `..` never climbs above it,
//! so a hostile rootfs cannot point a mount or a check at a host file.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use crate::error::SpecError;
use crate::spec::BindMount;

/// Whether resolution creates what is missing (in the overlay's upper
/// layer, so the rootfs itself stays untouched).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Create {
    Nothing,
    /// Missing components become directories.
    Dir,
    /// Missing parents become directories, a missing leaf an empty file.
    File,
}

/// The host path of `path` (as seen inside the container) under `root`.
pub(crate) fn resolve_in_root(root: &Path, path: &Path, create: Create) -> io::Result<PathBuf> {
    let mut pending: VecDeque<OsString> = names(path);
    let mut resolved: Vec<OsString> = Vec::new();
    let mut hops = 0;
    while let Some(name) = pending.pop_front() {
        if name == ".." {
            resolved.pop();
            continue;
        }
        let candidate = under(root, &resolved).join(&name);
        match fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                hops += 1;
                if hops > 40 {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = fs::read_link(&candidate)?;
                if target.is_absolute() {
                    resolved.clear();
                }
                for part in names(&target).into_iter().rev() {
                    pending.push_front(part);
                }
            }
            Ok(_) => resolved.push(name),
            Err(e) if e.kind() == io::ErrorKind::NotFound && create != Create::Nothing => {
                if pending.is_empty() && create == Create::File {
                    fs::File::create(&candidate)?;
                } else {
                    fs::create_dir(&candidate)?;
                }
                resolved.push(name);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(under(root, &resolved))
}

fn names(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

fn under(root: &Path, parts: &[OsString]) -> PathBuf {
    let mut p = root.to_path_buf();
    p.extend(parts);
    p
}

/// Checks that `command` exists as an executable in the rootfs, searching
/// `path_env` when it has no `/`, as execvp would inside the container.
/// Commands under a bind-mount destination cannot be checked from here and
/// are left to the exec in the container, which reports the same error.
pub(crate) fn check_command(
    root: &Path,
    command: &str,
    path_env: &str,
    cwd: &str,
    mounts: &[BindMount],
) -> Result<(), SpecError> {
    let candidates: Vec<PathBuf> = if command.contains('/') {
        vec![Path::new(cwd).join(command)]
    } else {
        path_env
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join(command))
            .collect()
    };
    let mut not_executable = false;
    for candidate in &candidates {
        if mounts.iter().any(|m| candidate.starts_with(&m.destination)) {
            return Ok(());
        }
        let Ok(host) = resolve_in_root(root, candidate, Create::Nothing) else {
            continue;
        };
        match fs::metadata(&host) {
            Ok(meta) if meta.is_file() && meta.permissions().mode() & 0o111 != 0 => return Ok(()),
            Ok(meta) if meta.is_file() => not_executable = true,
            _ => {}
        }
    }
    if not_executable {
        Err(SpecError::CommandNotExecutable {
            command: command.to_string(),
        })
    } else {
        Err(SpecError::CommandNotFound {
            command: command.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        fs::create_dir_all(root.join("bin")).expect("bin");
        fs::create_dir_all(root.join("etc")).expect("etc");
        fs::write(root.join("bin/busybox"), b"#!").expect("busybox");
        fs::set_permissions(root.join("bin/busybox"), fs::Permissions::from_mode(0o755))
            .expect("chmod");
        symlink("busybox", root.join("bin/sh")).expect("relative link");
        symlink("/bin/busybox", root.join("bin/ls")).expect("absolute link");
        symlink("/etc/passwd", root.join("bin/escape")).expect("escape link");
        symlink("../../../../etc/shadow", root.join("etc/up")).expect("dotdot link");
        fs::write(root.join("etc/readme"), b"x").expect("readme");
        dir
    }

    #[test]
    fn symlinks_stay_inside_the_root() {
        let dir = tree();
        let root = dir.path();
        let sh = resolve_in_root(root, Path::new("/bin/sh"), Create::Nothing).expect("sh");
        assert_eq!(sh, root.join("bin/busybox"));
        let ls = resolve_in_root(root, Path::new("/bin/ls"), Create::Nothing).expect("ls");
        assert_eq!(ls, root.join("bin/busybox"));
        // /etc/passwd of the host must not be found through the link.
        assert!(resolve_in_root(root, Path::new("/bin/escape"), Create::Nothing).is_err());
        let up = resolve_in_root(root, Path::new("/etc/up"), Create::File).expect("created");
        assert_eq!(up, root.join("etc/shadow"));
    }

    #[test]
    fn creation_makes_parents_and_leaf() {
        let dir = tree();
        let root = dir.path();
        let f = resolve_in_root(root, Path::new("/run/a/resolv.conf"), Create::File).expect("file");
        assert!(f.is_file() && f.starts_with(root));
        let d = resolve_in_root(root, Path::new("/data/x"), Create::Dir).expect("dir");
        assert!(d.is_dir());
    }

    #[test]
    fn command_checks() {
        let dir = tree();
        let root = dir.path();
        let path = crate::spec::DEFAULT_PATH;
        assert!(check_command(root, "sh", path, "/", &[]).is_ok());
        assert!(check_command(root, "/bin/ls", path, "/", &[]).is_ok());
        let err = check_command(root, "foo", path, "/", &[]).expect_err("foo");
        assert_eq!(err.to_string(), "command not found in rootfs: foo");
        let err = check_command(root, "/etc/readme", path, "/", &[]).expect_err("not exec");
        assert!(err.to_string().contains("not executable"), "{err}");
        let mounts = [BindMount {
            source: "/tmp".into(),
            destination: "/opt".into(),
            read_only: false,
        }];
        assert!(check_command(root, "/opt/tool", path, "/", &mounts).is_ok());
    }
}
