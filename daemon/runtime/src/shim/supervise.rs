//! The shim's event loop, one poll(2) over: the signalfd (SIGCHLD: reap),
//! the container's output (to the log and to attach clients), its stdin,
//! the attach socket and its clients. After PID 1 exits the output is
//! drained, the exit record written, clients told, and the shim lingers
//! briefly for clients still reading before it exits.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{read, write, Pid};

use super::clients::Client;
use super::stdio::ShimStdio;
use crate::attach::{Frame, Hello};
use crate::cgroups::CgroupSet;
use crate::logs::{LogWriter, Stream};
use crate::state::{now_ns, write_json_atomic, ExitRecord, Layout};

/// How long output may keep coming after PID 1 exited (normally the
/// pipes close at once: the kernel kills the whole pid namespace).
const DRAIN: Duration = Duration::from_secs(2);
/// How long clients get to read the last output and the exit frame.
const LINGER: Duration = Duration::from_secs(2);

/// A started container, handed from create to the loop.
pub(crate) struct Supervised {
    pub(crate) child: Pid,
    pub(crate) signals: SignalFd,
    pub(crate) listener: UnixListener,
    pub(crate) stdio: ShimStdio,
    pub(crate) log: LogWriter,
    pub(crate) cgroups: CgroupSet,
    pub(crate) layout: Layout,
    pub(crate) tty: bool,
}

struct Loop {
    s: Supervised,
    /// `None` once the stream ended (removed after the poll round).
    outputs: Vec<(Option<OwnedFd>, Stream)>,
    input: Option<OwnedFd>,
    stdin_pending: Vec<u8>,
    close_stdin: bool,
    clients: Vec<Client>,
    exit_code: Option<i32>,
    drain_until: Option<Instant>,
    linger_until: Option<Instant>,
}

#[derive(Clone, Copy)]
enum Token {
    Signals,
    Listener,
    Output(usize),
    Input,
    Client(usize),
}

pub(crate) fn run(mut s: Supervised) -> i32 {
    let outputs = std::mem::take(&mut s.stdio.outputs)
        .into_iter()
        .map(|(fd, stream)| (Some(fd), stream))
        .collect();
    let input = s.stdio.input.take();
    let mut l = Loop {
        s,
        outputs,
        input,
        stdin_pending: Vec::new(),
        close_stdin: false,
        clients: Vec::new(),
        exit_code: None,
        drain_until: None,
        linger_until: None,
    };
    l.run();
    let _ = std::fs::remove_file(l.s.layout.attach_socket());
    0
}

impl Loop {
    fn run(&mut self) {
        loop {
            let now = Instant::now();
            let drained = self.outputs.is_empty() || self.drain_until.is_some_and(|d| now >= d);
            if self.exit_code.is_some() && self.linger_until.is_none() && drained {
                self.finish();
            }
            if let Some(until) = self.linger_until {
                if self.clients.is_empty() || now >= until {
                    return;
                }
            }
            let deadline = self
                .linger_until
                .or(self.drain_until.filter(|_| self.exit_code.is_some()));
            let timeout = match deadline {
                Some(d) => PollTimeout::try_from(
                    d.saturating_duration_since(now).as_millis().min(60_000) as i32 + 1,
                )
                .unwrap_or(PollTimeout::MAX),
                None => PollTimeout::NONE,
            };
            for (token, revents) in self.poll_once(timeout) {
                self.handle(token, revents);
            }
            self.outputs.retain(|(fd, _)| fd.is_some());
            self.clients.retain(|c| !c.dead);
        }
    }

    fn poll_once(&self, timeout: PollTimeout) -> Vec<(Token, PollFlags)> {
        let mut tokens = vec![Token::Signals, Token::Listener];
        let mut fds = vec![
            PollFd::new(self.s.signals.as_fd(), PollFlags::POLLIN),
            PollFd::new(self.s.listener.as_fd(), PollFlags::POLLIN),
        ];
        for (i, (fd, _)) in self.outputs.iter().enumerate() {
            let Some(fd) = fd else { continue };
            tokens.push(Token::Output(i));
            fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
        }
        if let Some(input) = self
            .input
            .as_ref()
            .filter(|_| !self.stdin_pending.is_empty())
        {
            tokens.push(Token::Input);
            fds.push(PollFd::new(input.as_fd(), PollFlags::POLLOUT));
        }
        for (i, c) in self.clients.iter().enumerate() {
            let mut flags = PollFlags::POLLIN;
            if c.wants_write() {
                flags |= PollFlags::POLLOUT;
            }
            tokens.push(Token::Client(i));
            fds.push(PollFd::new(c.stream.as_fd(), flags));
        }
        match poll(&mut fds, timeout) {
            Ok(_) => {}
            Err(Errno::EINTR) => return Vec::new(),
            Err(e) => {
                eprintln!("cnm-shim: poll: {e}");
                std::thread::sleep(Duration::from_millis(100));
                return Vec::new();
            }
        }
        tokens
            .into_iter()
            .zip(
                fds.iter()
                    .map(|f| f.revents().unwrap_or(PollFlags::empty())),
            )
            .filter(|(_, r)| !r.is_empty())
            .collect()
    }

    fn handle(&mut self, token: Token, revents: PollFlags) {
        match token {
            Token::Signals => self.on_signals(),
            Token::Listener => self.accept(),
            Token::Output(i) => self.read_output(i),
            Token::Input => self.write_input(),
            Token::Client(i) => {
                if revents.contains(PollFlags::POLLOUT) {
                    self.clients[i].flush();
                }
                if revents.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
                    let frames = self.clients[i].receive();
                    for frame in frames {
                        self.on_client_frame(frame);
                    }
                }
            }
        }
    }

    fn on_signals(&mut self) {
        while let Ok(Some(info)) = self.s.signals.read_signal() {
            let signo = info.ssi_signo as i32;
            if signo == Signal::SIGCHLD as i32 {
                self.reap();
            } else if self.linger_until.is_some() {
                // Told to go (delete) after the exit was recorded.
                self.linger_until = Some(Instant::now());
            } else {
                eprintln!("cnm-shim: ignoring signal {signo} while the container runs");
            }
        }
    }

    /// Reaps every exited child: PID 1, and as subreaper any orphan.
    fn reap(&mut self) {
        loop {
            match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == self.s.child => self.on_exit(code),
                Ok(WaitStatus::Signaled(pid, signal, _)) if pid == self.s.child => {
                    self.on_exit(128 + signal as i32)
                }
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }

    fn on_exit(&mut self, code: i32) {
        self.exit_code = Some(code);
        self.drain_until = Some(Instant::now() + DRAIN);
    }

    /// Records the exit once the output is drained, tells the clients.
    fn finish(&mut self) {
        let code = self.exit_code.unwrap_or(255);
        self.outputs.clear();
        self.input = None;
        if let Err(e) = self.s.log.finish() {
            eprintln!("cnm-shim: flushing the log: {e}");
        }
        let record = ExitRecord {
            code,
            oom_killed: self.s.cgroups.oom_killed(),
            finished_at_ns: now_ns(),
        };
        if let Err(e) = write_json_atomic(&self.s.layout.exit_record(), &record) {
            eprintln!("cnm-shim: writing the exit record: {e}");
        }
        let frame = Frame::Exit {
            code,
            oom_killed: record.oom_killed,
        };
        for c in &mut self.clients {
            c.closing = true;
            c.send(&frame);
        }
        self.linger_until = Some(Instant::now() + LINGER);
    }

    fn accept(&mut self) {
        while let Ok((stream, _)) = self.s.listener.accept() {
            let Ok(mut client) = Client::new(stream) else {
                continue;
            };
            client.send(&Frame::Hello(Hello {
                tty: self.s.tty,
                log_offset: self.s.log.offset(),
                pending_stdout: self.s.log.pending(Stream::Stdout).to_vec(),
                pending_stderr: self.s.log.pending(Stream::Stderr).to_vec(),
            }));
            if self.linger_until.is_some() {
                client.closing = true;
                client.send(&Frame::Exit {
                    code: self.exit_code.unwrap_or(255),
                    oom_killed: self.s.cgroups.oom_killed(),
                });
            }
            self.clients.push(client);
        }
    }

    fn read_output(&mut self, i: usize) {
        let mut buf = [0u8; 32 * 1024];
        let (slot, stream) = &mut self.outputs[i];
        let stream = *stream;
        let Some(fd) = slot else { return };
        match read(&*fd, &mut buf) {
            Ok(0) => *slot = None,
            Ok(n) => {
                if let Err(e) = self.s.log.write(stream, &buf[..n]) {
                    eprintln!("cnm-shim: writing the log: {e}");
                }
                let frame = match stream {
                    Stream::Stdout => Frame::Stdout(buf[..n].to_vec()),
                    Stream::Stderr => Frame::Stderr(buf[..n].to_vec()),
                };
                for c in &mut self.clients {
                    c.send(&frame);
                }
            }
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            // EIO: the pty's last slave closed.
            Err(_) => *slot = None,
        }
    }

    fn write_input(&mut self) {
        let Some(input) = &self.input else {
            return;
        };
        match write(input, &self.stdin_pending) {
            Ok(n) => {
                self.stdin_pending.drain(..n);
            }
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            Err(_) => {
                // The container closed its stdin.
                self.input = None;
                self.stdin_pending.clear();
            }
        }
        if self.stdin_pending.is_empty() && self.close_stdin {
            self.input = None;
        }
    }

    fn on_client_frame(&mut self, frame: Frame) {
        match frame {
            Frame::Stdin(bytes) if self.input.is_some() => {
                self.stdin_pending.extend_from_slice(&bytes);
                self.write_input();
            }
            Frame::CloseStdin if self.s.tty => {
                if let (Some(pty), Some(_)) = (&self.s.stdio.pty, &self.input) {
                    let eof = super::stdio::eof_char(pty);
                    self.stdin_pending.push(eof);
                    self.write_input();
                }
            }
            Frame::CloseStdin => {
                self.close_stdin = true;
                if self.stdin_pending.is_empty() {
                    self.input = None;
                }
            }
            Frame::Resize { rows, cols } => {
                if let Some(pty) = &self.s.stdio.pty {
                    super::stdio::set_window_size(pty, rows, cols);
                }
            }
            _ => {}
        }
    }
}
