//! Creating the container from inside the shim: cgroups, stdio, the attach
//! socket, then a fork into a new pid namespace whose child (PID 1) runs
//! the init. Any failure undoes what was made before the report goes out,
//! so a failed start leaves no cgroup, socket or process behind.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::{kill, sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult, Pid};

use super::launch::{LaunchReport, Reporter};
use super::stdio::{self, ShimStdio};
use super::supervise::{self, Supervised};
use super::sync::{self, SyncMessage};
use crate::cgroups::CgroupSet;
use crate::init;
use crate::logs::LogWriter;
use crate::spec::ValidSpec;
use crate::state::{read_json, write_json_atomic, Layout, ProcessId, StartRecord};

/// What to undo if the start fails part-way.
#[derive(Default)]
struct Undo {
    cgroups: Option<CgroupSet>,
    socket: Option<PathBuf>,
    child: Option<Pid>,
}

impl Undo {
    fn run(self) {
        if let Some(child) = self.child {
            let _ = kill(child, Signal::SIGKILL);
            let _ = waitpid(child, None);
        }
        if let Some(cgroups) = self.cgroups {
            for err in cgroups.remove() {
                eprintln!("cnm-shim: rollback: {err}");
            }
        }
        if let Some(socket) = self.socket {
            let _ = std::fs::remove_file(socket);
        }
    }
}

/// Creates the container, reports, then supervises it until it exits.
/// Returns the shim's exit code.
pub(crate) fn run(layout: &Layout, mut reporter: Reporter) -> i32 {
    let mut undo = Undo::default();
    match create(layout, &mut undo) {
        Ok(supervised) => {
            reporter.report(&LaunchReport::Started {
                pid: supervised.child.as_raw(),
            });
            supervise::run(supervised)
        }
        Err(e) => {
            eprintln!("cnm-shim: start failed: {e:#}");
            undo.run();
            reporter.report(&LaunchReport::Failed {
                message: format!("{e:#}"),
            });
            1
        }
    }
}

fn create(layout: &Layout, undo: &mut Undo) -> anyhow::Result<Supervised> {
    let spec: ValidSpec =
        read_json(&layout.config())?.ok_or_else(|| anyhow!("config.json is missing"))?;
    // Orphans of the container (and of exec'd processes) are reparented
    // to us, not to the host's init, and we reap them.
    nix::sys::prctl::set_child_subreaper(true).context("becoming a child subreaper")?;
    let mut mask = SigSet::empty();
    for signal in [
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
    ] {
        mask.add(signal);
    }
    // Blocked before the fork so no SIGCHLD is lost; the init unblocks
    // everything again before exec.
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None).context("blocking signals")?;
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .context("creating the signalfd")?;

    let cgroups = CgroupSet::for_container(&spec.id).context("locating cgroups")?;
    cgroups.create(&spec.limits).context("creating cgroups")?;
    undo.cgroups = Some(cgroups.clone());
    let log_path = spec.log_path();
    let log = LogWriter::create(&log_path)
        .with_context(|| format!("opening the log {}", log_path.display()))?;
    let log_start = log.offset();
    let (child_stdio, pipes) =
        stdio::prepare(spec.tty, spec.stdin).context("creating stdio pipes")?;
    let listener =
        UnixListener::bind(layout.attach_socket()).context("binding the attach socket")?;
    undo.socket = Some(layout.attach_socket());
    listener.set_nonblocking(true).context("attach socket")?;
    let (shim_end, init_end) = sync::pair().context("creating the start channel")?;

    // Only our next child enters the new pid namespace (as its PID 1);
    // the shim itself stays outside it.
    unshare(CloneFlags::CLONE_NEWPID).context("creating the pid namespace")?;
    // SAFETY: the shim is single-threaded, so the child inherits no locks.
    let child = match unsafe { fork() }.context("forking the container init")? {
        ForkResult::Child => {
            drop(shim_end);
            init::run(&spec, layout, init_end, child_stdio)
        }
        ForkResult::Parent { child } => child,
    };
    undo.child = Some(child);
    drop(init_end);
    drop(child_stdio);

    cgroups
        .add_process(child.as_raw())
        .context("adding the init to its cgroups")?;
    sync::send(&shim_end, &SyncMessage::Go).context("releasing the init")?;
    let master = await_exec(&shim_end)?;
    let stdio = match (pipes, master) {
        (Some(pipes), _) => pipes,
        (None, Some(master)) => ShimStdio::from_pty(master, spec.stdin).context("pty master")?,
        (None, None) => bail!("the init exec'd without sending its pty master"),
    };
    let record = StartRecord {
        pid: ProcessId::of(child.as_raw()).context("reading the init's start time")?,
        shim: ProcessId::of(std::process::id() as i32).context("reading the shim's start time")?,
        started_at_ns: crate::state::now_ns(),
        log_start,
    };
    write_json_atomic(&layout.start_record(), &record).context("writing state.json")?;
    Ok(Supervised {
        child,
        signals,
        listener,
        stdio,
        log,
        cgroups,
        layout: layout.clone(),
        tty: spec.tty,
    })
}

/// Follows the init until it exec'd: `ExecNow` followed by the end of
/// stream (the close-on-exec end vanished), or an `Error`.
fn await_exec(channel: &OwnedFd) -> anyhow::Result<Option<OwnedFd>> {
    let mut master = None;
    let mut exec_now = false;
    loop {
        match sync::recv(channel).context("reading from the init")? {
            Some(SyncMessage::PtyMaster(fd)) => master = Some(fd),
            Some(SyncMessage::ExecNow) => exec_now = true,
            Some(SyncMessage::Error(text)) => bail!("{text}"),
            Some(SyncMessage::Go) => bail!("unexpected message from the init"),
            None if exec_now => return Ok(master),
            None => bail!("the container init died during setup"),
        }
    }
}
