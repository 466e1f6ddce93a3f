//! Network namespaces: open one by path, tell two apart, and run code inside
//! one. A namespace is only ever entered by a fresh thread made for the job
//! (`Netns::run`), never by the caller: `setns` changes the calling thread
//! only, and the daemon's threads must stay in the host namespace.

use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::stat::{fstat, stat, FileStat};
use nix::sys::statfs::{fstatfs, NSFS_MAGIC};

use super::SysError;

/// Identity of a namespace: the device and inode of its nsfs file. Two
/// paths (`/run/netns/x`, `/proc/PID/ns/net`) name the same namespace
/// exactly when their ids are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NetnsId {
    pub dev: u64,
    pub ino: u64,
}

impl NetnsId {
    /// The id of the namespace an open nsfs descriptor refers to.
    pub fn of_fd(fd: BorrowedFd<'_>) -> Result<NetnsId, SysError> {
        let st = fstat(fd)
            .map_err(|e| SysError::new("stat netns fd", fd.as_raw_fd().to_string(), e.into()))?;
        Ok(Self::from_stat(&st))
    }

    fn from_stat(st: &FileStat) -> NetnsId {
        // st_dev/st_ino are u64 on every Linux target; the casts only widen.
        #[allow(clippy::useless_conversion)]
        NetnsId {
            dev: u64::from(st.st_dev),
            ino: u64::from(st.st_ino),
        }
    }
}

impl fmt::Display for NetnsId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.dev, self.ino)
    }
}

/// The id of the namespace at `path`, by `stat` alone (the file is not
/// opened, so this does not pin the namespace).
pub fn netns_id_of(path: &Path) -> Result<NetnsId, SysError> {
    let st = stat(path)
        .map_err(|e| SysError::new("stat netns", path.display().to_string(), e.into()))?;
    Ok(NetnsId::from_stat(&st))
}

/// An open network namespace. Holding it keeps the namespace alive.
pub struct Netns {
    fd: OwnedFd,
    id: NetnsId,
    /// Where it came from, for error messages.
    origin: String,
}

impl fmt::Debug for Netns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Netns")
            .field("origin", &self.origin)
            .field("id", &self.id)
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

impl Netns {
    /// Opens a network namespace file (`/run/netns/x`, `/proc/PID/ns/net`).
    /// Fails with a clear message if the path is missing or is anything but
    /// a network namespace (another file, another kind of namespace).
    pub fn open(path: &Path) -> Result<Netns, SysError> {
        let origin = path.display().to_string();
        let file = File::open(path).map_err(|e| SysError::new("open netns", &origin, e))?;
        Self::checked(file.into(), origin)
    }

    /// Adopts an already open descriptor (e.g. received from a runtime),
    /// checking that it refers to a network namespace.
    pub fn from_owned_fd(fd: OwnedFd) -> Result<Netns, SysError> {
        let origin = format!("fd {}", fd.as_raw_fd());
        Self::checked(fd, origin)
    }

    /// The calling thread's namespace. `/proc/thread-self`, not `/proc/self`:
    /// the latter is the main thread's, which differs inside `run`.
    pub fn current() -> Result<Netns, SysError> {
        Self::open(Path::new("/proc/thread-self/ns/net"))
    }

    /// A brand new, empty network namespace (only `lo`, down). A short-lived
    /// thread unshares into it and opens it; the returned descriptor is all
    /// that keeps it alive, so dropping the `Netns` destroys it (and every
    /// interface in it) unless something else holds it.
    pub fn new_anonymous() -> Result<Netns, SysError> {
        let joined = std::thread::Builder::new()
            .name("cnm-netns-new".into())
            .spawn(|| {
                unshare(CloneFlags::CLONE_NEWNET)
                    .map_err(|e| SysError::new("unshare", "network namespace", e.into()))?;
                let mut ns = Self::current()?;
                ns.origin = format!("anonymous netns {}", ns.id);
                Ok(ns)
            })
            .map_err(|e| SysError::new("spawn thread for", "a new network namespace", e))?
            .join();
        match joined {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// The namespace descriptor, e.g. for `VethSpec::peer_netns`.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The namespace's identity.
    pub fn id(&self) -> NetnsId {
        self.id
    }

    /// Runs `f` on a fresh OS thread that has entered this namespace and
    /// returns its result. The caller's thread never changes namespace. A
    /// panic in `f` is propagated to the caller.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T, SysError> {
        std::thread::scope(|scope| {
            let handle = std::thread::Builder::new()
                .name("cnm-netns".into())
                .spawn_scoped(scope, || {
                    setns(self.fd.as_fd(), CloneFlags::CLONE_NEWNET)
                        .map_err(|e| SysError::new("enter netns", &self.origin, e.into()))?;
                    Ok(f())
                })
                .map_err(|e| SysError::new("spawn thread for netns", &self.origin, e))?;
            match handle.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// Checks that `fd` is an nsfs file of a *network* namespace.
    fn checked(fd: OwnedFd, origin: String) -> Result<Netns, SysError> {
        let not_netns = |what: &str| {
            let msg = format!("{origin} is not a network namespace ({what})");
            SysError::new(
                "open netns",
                &origin,
                io::Error::new(io::ErrorKind::InvalidInput, msg),
            )
        };
        let fs = fstatfs(&fd).map_err(|e| SysError::new("statfs netns", &origin, e.into()))?;
        if fs.filesystem_type() != NSFS_MAGIC {
            return Err(not_netns("not an nsfs file"));
        }
        // SAFETY: NS_GET_NSTYPE takes no argument and only reads the fd,
        // which is open for the duration of the call.
        let nstype = unsafe { libc::ioctl(fd.as_raw_fd(), libc::NS_GET_NSTYPE) };
        if nstype < 0 {
            let e = io::Error::last_os_error();
            return Err(SysError::new("query namespace type of", &origin, e));
        }
        if nstype != libc::CLONE_NEWNET {
            return Err(not_netns("another kind of namespace"));
        }
        let id = NetnsId::of_fd(fd.as_fd())?;
        Ok(Netns { fd, id, origin })
    }
}

impl AsFd for Netns {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
