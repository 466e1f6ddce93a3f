//! `cnm-shim`, the per-container parent process (as containerd's shim):
//! `cnm-shim start STATE_DIR` creates the container and stays as its
//! parent, holding stdio, logs and the exit status, so the container
//! outlives cnmd; `cnm-shim exec STATE_DIR SPEC_JSON` runs a process inside
//! a running container. Both are fresh single-threaded processes, so the
//! namespace work (unshare, setns, fork) never happens in cnmd's threads.

mod clients;
mod create;
mod exec;
mod launch;
mod relay;
mod stdio;
mod supervise;
pub(crate) mod sync;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

pub(crate) use launch::LaunchReport;

/// Entry point of the `cnm-shim` binary.
#[doc(hidden)]
pub fn main() -> ExitCode {
    close_inherited_fds();
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match args.as_slice() {
        [cmd, dir] if cmd == "start" => launch::start(Path::new(dir)),
        [cmd, dir, spec] if cmd == "exec" => exec::run(Path::new(dir), &spec.to_string_lossy()),
        _ => {
            eprintln!("usage: cnm-shim start STATE_DIR | cnm-shim exec STATE_DIR EXEC_SPEC_JSON");
            eprintln!("cnm-shim is started by cnmd through the cnm-runtime library.");
            ExitCode::from(2)
        }
    }
}

/// A long-lived shim must not keep the caller's sockets or files open (a
/// leaked listening socket would stop a restarted cnmd from binding).
fn close_inherited_fds() {
    // SAFETY: close_range on fds >= 3 at startup, before this process
    // opened anything of its own.
    unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
}
