//! A network namespace owned by one dedicated thread: the thread unshares a
//! fresh netns first thing, then runs the jobs it is sent. Commands and
//! sockets started from a job (and threads it spawns) live in that netns.

use std::process::Command;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};

use nix::sched::{unshare, CloneFlags};

type Job = Box<dyn FnOnce() + Send>;

pub struct Netns {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    tid: i32,
}

impl Netns {
    pub fn new() -> Netns {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready, tid) = mpsc::channel();
        let thread = thread::spawn(move || {
            unshare(CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
            ready
                .send(nix::unistd::gettid().as_raw())
                .expect("report tid");
            for job in queue {
                job();
            }
        });
        let tid = tid.recv().expect("netns thread started");
        Netns {
            jobs: Some(jobs),
            thread: Some(thread),
            tid,
        }
    }

    /// The owning thread's id: `ip link … netns <tid>` moves a link here.
    pub fn tid(&self) -> i32 {
        self.tid
    }

    /// Runs `f` on the namespace's thread and returns its result.
    pub fn run<R: Send + 'static>(&self, f: impl FnOnce() -> R + Send + 'static) -> R {
        let (tx, rx) = mpsc::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.jobs
            .as_ref()
            .expect("open")
            .send(job)
            .expect("netns thread alive");
        rx.recv().expect("job in netns panicked")
    }

    /// Runs a command in the namespace; panics with its stderr on failure.
    pub fn cmd(&self, program: &str, args: &str) -> String {
        let program = program.to_owned();
        let args: Vec<String> = args.split_whitespace().map(str::to_owned).collect();
        self.run(move || {
            let out = Command::new(&program).args(&args).output().expect("spawn");
            assert!(
                out.status.success(),
                "{program} {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
    }

    pub fn ip(&self, args: &str) {
        self.cmd("ip", args);
    }

    /// Writes a sysctl of this namespace (`/proc/sys/net` follows the thread).
    pub fn sysctl(&self, key: &str, value: &str) {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let value = value.to_owned();
        self.run(move || std::fs::write(&path, value).unwrap_or_else(|e| panic!("{path}: {e}")));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
