//! `cnm-shim exec`: runs a process inside a running container. This fresh
//! single-threaded process joins the container's namespaces (setns of the
//! mount namespace refuses multi-threaded callers), forks the process into
//! its pid namespace and cgroups, and relays a tty (`relay.rs`) or waits
//! for the exit.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use nix::errno::Errno;
use nix::sched::{setns, CloneFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};

use super::sync::{self, SyncMessage};
use crate::cgroups::CgroupSet;
use crate::init::{describe, exec_command, reset_signals, InitError};
use crate::spec::{ExecSpec, ValidSpec};
use crate::state::{read_json, Layout, StartRecord};

/// Exit code when the command is missing (as a shell reports it).
const NOT_FOUND: u8 = 127;
/// Exit code when the exec itself failed.
const CANNOT_EXEC: u8 = 126;

pub(crate) fn run(state_dir: &Path, spec_json: &str) -> ExitCode {
    match exec(&Layout::new(state_dir), spec_json) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("cnm-shim exec: {e:#}");
            ExitCode::from(CANNOT_EXEC)
        }
    }
}

/// The namespaces to join, in order; cgroup is joined by the child after it
/// moved itself into the container's cgroups.
const NAMESPACES: [(&str, CloneFlags); 5] = [
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("mnt", CloneFlags::CLONE_NEWNS),
];

fn exec(layout: &Layout, spec_json: &str) -> anyhow::Result<u8> {
    let spec: ExecSpec = serde_json::from_str(spec_json).context("parsing the exec spec")?;
    let config: ValidSpec =
        read_json(&layout.config())?.ok_or_else(|| anyhow!("config.json is missing"))?;
    let start: StartRecord =
        read_json(&layout.start_record())?.ok_or_else(|| anyhow!("state.json is missing"))?;
    let Targets {
        namespaces,
        cgroup_ns,
        cgroup_procs,
    } = Targets::open(&config, &start)?;
    for (file, flag) in &namespaces {
        setns(file, *flag).with_context(|| format!("joining {flag:?}"))?;
    }
    std::env::set_current_dir("/").context("entering the container root")?;
    let console = if spec.tty {
        Some(open_console(spec.tty_size)?)
    } else {
        None
    };
    let env = merge_env(&config.env, &spec.env);
    let cwd = spec.cwd.clone().unwrap_or_else(|| config.cwd.clone());
    let (parent_end, child_end) = sync::pair().context("creating the exec channel")?;
    let child_setup = ChildSetup {
        cgroup_procs,
        cgroup_ns,
        console: console.as_ref().map(|(_, slave)| slave),
        cwd: &cwd,
        config: &config,
        spec: &spec,
        env: &env,
    };
    // SAFETY: this process is single-threaded (a fresh exec of cnm-shim).
    let child = match unsafe { fork() }.context("forking")? {
        ForkResult::Child => {
            drop(parent_end);
            child_setup.run(child_end)
        }
        ForkResult::Parent { child } => child,
    };
    drop(child_end);
    if let Err(message) = await_exec(&parent_end) {
        let _ = waitpid(child, None);
        eprintln!("cnm-shim exec: {message}");
        return Ok(if message.starts_with("command not found") {
            NOT_FOUND
        } else {
            CANNOT_EXEC
        });
    }
    if spec.detach {
        // The child already forked the command and exited; see ChildSetup.
        let _ = waitpid(child, None);
        return Ok(0);
    }
    if let Some((master, slave)) = console {
        drop(slave);
        super::relay::relay(&master);
    }
    Ok(wait_code(child))
}

/// What the exec joins, all opened through host paths before the mount
/// namespace changes under us.
struct Targets {
    namespaces: Vec<(File, CloneFlags)>,
    cgroup_ns: File,
    cgroup_procs: Vec<File>,
}

impl Targets {
    fn open(config: &ValidSpec, start: &StartRecord) -> anyhow::Result<Self> {
        let pid = start.pid.pid;
        let open_ns = |name: &str| {
            File::open(format!("/proc/{pid}/ns/{name}"))
                .with_context(|| format!("opening {name} namespace of pid {pid}"))
        };
        let namespaces = NAMESPACES
            .iter()
            .map(|(name, flag)| open_ns(name).map(|f| (f, *flag)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let cgroup_ns = open_ns("cgroup")?;
        // Checked after opening: the fds now pin the right namespaces even
        // if the pid were reused.
        if !start.pid.is_alive() {
            bail!("container {} is not running", config.id);
        }
        let cgroup_procs = CgroupSet::for_container(&config.id)?
            .dirs()
            .iter()
            .map(|d| {
                OpenOptions::new()
                    .write(true)
                    .open(d.join("cgroup.procs"))
                    .with_context(|| format!("opening {}", d.display()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            namespaces,
            cgroup_ns,
            cgroup_procs,
        })
    }
}

fn wait_code(child: Pid) -> u8 {
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => return code as u8,
            Ok(WaitStatus::Signaled(_, signal, _)) => return (128 + signal as i32) as u8,
            Err(Errno::EINTR) | Ok(_) => {}
            Err(_) => return CANNOT_EXEC,
        }
    }
}

/// The container's environment with the exec's entries overriding.
fn merge_env(base: &[String], extra: &[String]) -> Vec<String> {
    let key = |e: &String| e.split('=').next().unwrap_or_default().to_string();
    let mut env: Vec<String> = base
        .iter()
        .filter(|b| !extra.iter().any(|x| key(x) == key(b)))
        .cloned()
        .collect();
    env.extend(extra.iter().cloned());
    env
}

/// A pty from the container's devpts (we are in its mount namespace now).
fn open_console(size: Option<(u16, u16)>) -> anyhow::Result<(OwnedFd, OwnedFd)> {
    let master = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
        .open("/dev/ptmx")
        .context("opening the container's /dev/ptmx")?;
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads an int that outlives the call.
    Errno::result(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) })
        .context("unlocking the pty")?;
    // SAFETY: TIOCGPTPEER returns a new fd for the slave.
    let fd = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    let fd = Errno::result(fd).context("opening the pty slave")?;
    // SAFETY: a new fd nothing else owns.
    let slave = unsafe { OwnedFd::from_raw_fd(fd) };
    if let Some((rows, cols)) = size {
        super::stdio::set_window_size(&master, rows, cols);
    }
    Ok((OwnedFd::from(master), slave))
}

/// Waits for the child's `ExecNow` and the end of stream; `Err` with the
/// child's message when setup or exec failed.
fn await_exec(channel: &OwnedFd) -> Result<(), String> {
    let mut exec_now = false;
    loop {
        match sync::recv(channel) {
            Ok(Some(SyncMessage::ExecNow)) => exec_now = true,
            Ok(Some(SyncMessage::Error(text))) => return Err(text),
            Ok(None) if exec_now => return Ok(()),
            Ok(_) | Err(_) => return Err("the exec'd process died during setup".into()),
        }
    }
}

/// What the forked child needs to become the exec'd process.
struct ChildSetup<'a> {
    cgroup_procs: Vec<File>,
    cgroup_ns: File,
    console: Option<&'a OwnedFd>,
    cwd: &'a str,
    config: &'a ValidSpec,
    spec: &'a ExecSpec,
    env: &'a [String],
}

impl ChildSetup<'_> {
    fn run(self, channel: OwnedFd) -> ! {
        let err = match self.setup(&channel) {
            Ok(never) => match never {},
            Err(e) => e,
        };
        let _ = sync::send(&channel, &SyncMessage::Error(describe(&err)));
        // SAFETY: leave without running the parent's exit handlers.
        unsafe { libc::_exit(1) }
    }

    fn setup(self, channel: &OwnedFd) -> Result<std::convert::Infallible, InitError> {
        use crate::init::{io_step, sys};
        // "0" moves the writer itself. Done before joining the cgroup
        // namespace: cgroup v2 refuses moves from outside the namespace root.
        for mut procs in &self.cgroup_procs {
            procs
                .write_all(b"0")
                .map_err(io_step("joining the container's cgroups"))?;
        }
        setns(&self.cgroup_ns, CloneFlags::CLONE_NEWCGROUP)
            .map_err(sys("joining the cgroup namespace"))?;
        if let Some(slave) = self.console {
            nix::unistd::setsid().map_err(sys("starting a session"))?;
            // SAFETY: ioctl and dup2 on fds this process owns.
            Errno::result(unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) })
                .map_err(sys("setting the controlling tty"))?;
            for target in 0..=2 {
                // SAFETY: as above.
                Errno::result(unsafe { libc::dup2(slave.as_raw_fd(), target) })
                    .map_err(sys("installing the pty"))?;
            }
        }
        reset_signals();
        nix::unistd::chdir(self.cwd).map_err(sys(format!("entering {}", self.cwd)))?;
        nix::sys::prctl::set_no_new_privs().map_err(sys("setting no_new_privs"))?;
        crate::capabilities::apply(self.config.caps).map_err(sys("dropping capabilities"))?;
        if self.spec.detach {
            // Fork once more inside the container's pid namespace and leave:
            // the orphan is then adopted by the container's PID 1, not by
            // a process of the host.
            // SAFETY: single-threaded child.
            if let ForkResult::Parent { .. } =
                unsafe { fork() }.map_err(sys("forking the detached process"))?
            {
                let _ = sync::send(channel, &SyncMessage::ExecNow);
                // SAFETY: leave without the parent's exit handlers.
                unsafe { libc::_exit(0) }
            }
            return exec_command(&self.spec.args, self.env);
        }
        sync::send(channel, &SyncMessage::ExecNow).map_err(sys("reporting to the exec helper"))?;
        exec_command(&self.spec.args, self.env)
    }
}
