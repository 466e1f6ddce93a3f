//! A pseudo-terminal to drive interactive commands (`cnm run -it`) as a
//! user at a terminal would: the command gets the pty as stdin, stdout,
//! stderr and controlling terminal of its own session; the test types
//! into the master, reads what the command printed, resizes the window
//! and looks at the terminal's mode.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt, PtyMaster};
use nix::sys::termios::{tcgetattr, LocalFlags};

use crate::exec::{describe, wait_deadline};

/// A command running on a pty of its own; killed on drop.
pub struct PtyProcess {
    command: String,
    master: PtyMaster,
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
}

impl PtyProcess {
    /// Starts `cmd` on a new pty of `rows` x `cols`.
    pub fn spawn(cmd: &mut Command, rows: u16, cols: u16) -> PtyProcess {
        let command = describe(cmd);
        // Close-on-exec from the start: other tests fork concurrently, and
        // a leaked slave would keep the pty open after our command exited.
        let flags = OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
        let master = posix_openpt(flags).expect("open a pty master");
        grantpt(&master).expect("grantpt");
        unlockpt(&master).expect("unlockpt");
        let name = ptsname_r(&master).expect("ptsname");
        let slave = OwnedFd::from(
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc::O_NOCTTY)
                .open(&name)
                .unwrap_or_else(|e| panic!("open {name}: {e}")),
        );
        set_size(&master, rows, cols);
        let stdio = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup the pty slave"));
        cmd.stdin(stdio(&slave))
            .stdout(stdio(&slave))
            .stderr(stdio(&slave));
        // SAFETY: setsid and ioctl are async-signal-safe; they make the
        // pty (now fd 0) the controlling terminal of a new session, as a
        // terminal emulator does for its shell.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
        drop(slave);
        let output = Arc::new(Mutex::new(Vec::new()));
        let reader = File::from(
            master
                .as_fd()
                .try_clone_to_owned()
                .expect("dup the pty master"),
        );
        spawn_reader(reader, output.clone());
        PtyProcess {
            command,
            master,
            child,
            output,
        }
    }

    /// Types `bytes`.
    pub fn write(&mut self, bytes: &[u8]) {
        self.master
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("type into `{}`: {e}", self.command));
    }

    /// Everything the command printed so far (lossy UTF-8).
    pub fn output(&self) -> String {
        let bytes = self.output.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Waits until the output contains `needle`; panics with the output
    /// after `timeout`.
    pub fn expect(&self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.output().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "`{}` did not print {needle:?} within {timeout:?}; it printed:\n{:?}",
                self.command,
                self.output()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Changes the window size (the kernel sends SIGWINCH to the command).
    pub fn resize(&self, rows: u16, cols: u16) {
        set_size(&self.master, rows, cols);
    }

    /// Whether the terminal is in raw mode (no line editing, no echo), as
    /// the command left it.
    pub fn is_raw(&self) -> bool {
        // On the master, the attributes are the slave's.
        let attrs = tcgetattr(&self.master).expect("read the pty's attributes");
        !attrs
            .local_flags
            .intersects(LocalFlags::ICANON | LocalFlags::ECHO)
    }

    /// Waits for the command to exit; `None` (after killing it) on timeout.
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_deadline(&mut self.child, timeout)
    }

    /// For messages: the command line and its output.
    pub fn describe(&self) -> String {
        format!("`{}` printed:\n{:?}", self.command, self.output())
    }
}

impl Drop for PtyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn set_size(master: &PtyMaster, rows: u16, cols: u16) {
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize that outlives the call.
    let done = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
    assert_eq!(done, 0, "set the pty's size");
}

/// Collects the master's output until the last slave closes (EIO).
fn spawn_reader(mut master: File, output: Arc<Mutex<Vec<u8>>>) {
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match master.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => output
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&buf[..n]),
            }
        }
    });
}
