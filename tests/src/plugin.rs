//! A `cnm-driver serve` process: one of cnm's built-in drivers served as a
//! plugin from inside a test host's namespace, with its own log. Killed on
//! drop (and by the kernel if the thread that started it dies). And plugins
//! served from the test process itself ([`InProcessPlugin`]), the way a
//! third party writes one, which may record what they are asked
//! ([`RecordingPlugin`]).

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::binaries;
use crate::daemon::{log_tail, read_log};
use crate::exec::spawn_logged;
use crate::netns::NetNs;

/// How long the plugin may take to listen.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// `target/debug/cnm-driver`.
pub fn cnm_driver() -> PathBuf {
    binaries::binary("cnm-driver")
}

/// A running (or killed) `cnm-driver serve`.
#[derive(Debug)]
pub struct DriverPlugin {
    child: Option<Child>,
    netns: PathBuf,
    driver: String,
    socket: PathBuf,
    log: PathBuf,
    starts: usize,
}

impl DriverPlugin {
    /// Starts `cnm-driver serve --driver DRIVER --socket SOCKET` in `ns`,
    /// logging to `log`, and waits until the socket accepts connections.
    pub fn start(ns: &NetNs, driver: &str, socket: &Path, log: &Path) -> DriverPlugin {
        let mut plugin = DriverPlugin {
            child: None,
            netns: ns.path(),
            driver: driver.to_owned(),
            socket: socket.to_owned(),
            log: log.to_owned(),
            starts: 0,
        };
        plugin.spawn_and_wait();
        plugin
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// SIGKILLs the plugin (its socket file stays, as after a crash).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same socket after `kill9`.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart: the plugin is still running");
        self.spawn_and_wait();
    }

    /// Everything the plugin logged, all starts.
    pub fn log(&self) -> String {
        read_log(&self.log)
    }

    /// What the current (last) start logged.
    pub fn log_of_last_start(&self) -> String {
        let log = self.log();
        let marker = format!("=== cnm-tests: plugin start #{}", self.starts);
        match log.find(&marker) {
            Some(at) => log[at..].to_owned(),
            None => log,
        }
    }

    fn spawn_and_wait(&mut self) {
        self.starts += 1;
        let mut cmd = std::process::Command::new("nsenter");
        cmd.arg(format!("--net={}", self.netns.display()))
            .arg("--")
            .arg(cnm_driver())
            .args(["serve", "--driver", &self.driver, "--socket"])
            .arg(&self.socket);
        let child = spawn_logged(cmd, &self.log, "plugin start", self.starts);
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if UnixStream::connect(&self.socket).is_ok() {
                return;
            }
            let child = self.child.as_mut().expect("child just spawned");
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                panic!(
                    "cnm-driver exited before listening ({status})\n{}",
                    log_tail(&self.log, 30)
                );
            }
            assert!(
                Instant::now() < deadline,
                "cnm-driver did not listen on {} within {READY_TIMEOUT:?}\n{}",
                self.socket.display(),
                log_tail(&self.log, 30)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for DriverPlugin {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A plugin serving until the runtime goes.
pub type ServeFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Serves one plugin from its socket path until the runtime goes.
pub type ServeFn = Box<dyn Fn(PathBuf) -> ServeFuture>;

/// A plugin served from this test process through `cnm_plugin`, the way a
/// third party writes one, on a small runtime of its own. `kill` is its
/// kill -9 (connections and state go); `serve` makes it anew.
pub struct InProcessPlugin {
    socket: PathBuf,
    /// Where the runtime's threads live (a plugin whose kernel work must
    /// happen in the test host's namespace); None: this process's.
    netns: Option<PathBuf>,
    serve: ServeFn,
    runtime: Option<tokio::runtime::Runtime>,
}

impl InProcessPlugin {
    /// Starts serving on `socket` and waits until it accepts connections.
    pub fn start(socket: &Path, ns: Option<&NetNs>, serve: ServeFn) -> InProcessPlugin {
        let mut plugin = InProcessPlugin {
            socket: socket.to_owned(),
            netns: ns.map(NetNs::path),
            serve,
            runtime: None,
        };
        plugin.spawn();
        plugin
    }

    fn spawn(&mut self) {
        let build = || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("plugin runtime")
        };
        // Worker threads start from the building thread, in its namespace.
        let runtime = match &self.netns {
            Some(path) => crate::traffic::in_netns_path(path, build),
            None => build(),
        };
        runtime.spawn((self.serve)(self.socket.clone()));
        crate::exec::eventually(READY_TIMEOUT, || {
            UnixStream::connect(&self.socket)
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .expect("the in-process plugin listens");
        self.runtime = Some(runtime);
    }

    /// Kills the plugin: drops its runtime (state, connections) and waits
    /// until its socket refuses. `serve` brings it back.
    pub fn kill(&mut self) {
        self.drop_runtime();
        crate::exec::eventually(Duration::from_secs(5), || {
            match UnixStream::connect(&self.socket) {
                Ok(_) => Err("still listening".to_owned()),
                Err(_) => Ok(()),
            }
        })
        .expect("the old plugin stopped");
    }

    /// Serves anew after `kill`, with fresh state.
    pub fn serve(&mut self) {
        self.spawn();
    }

    fn drop_runtime(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for InProcessPlugin {
    fn drop(&mut self) {
        self.drop_runtime();
    }
}

/// What a test plugin was asked, one line per call, in order. Clones share
/// the log: the plugin records, the test reads.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<String>>>);

impl CallLog {
    /// Appends `call`.
    pub fn record(&self, call: String) {
        self.0.lock().expect("calls").push(call);
    }

    /// The calls so far.
    pub fn calls(&self) -> Vec<String> {
        self.0.lock().expect("calls").clone()
    }

    fn clear(&self) {
        self.0.lock().expect("calls").clear();
    }
}

/// An [`InProcessPlugin`] that records the calls it is asked in a
/// [`CallLog`]; a restart starts a fresh log.
pub struct RecordingPlugin {
    calls: CallLog,
    plugin: InProcessPlugin,
}

impl RecordingPlugin {
    /// Starts serving on `socket` (from a runtime in `ns`, when given) the
    /// plugin that `serve` makes from the log and the socket path.
    pub fn start(
        socket: &Path,
        ns: Option<&NetNs>,
        serve: impl Fn(CallLog, PathBuf) -> ServeFuture + 'static,
    ) -> RecordingPlugin {
        let calls = CallLog::default();
        let log = calls.clone();
        let serve: ServeFn = Box::new(move |socket| serve(log.clone(), socket));
        let plugin = InProcessPlugin::start(socket, ns, serve);
        RecordingPlugin { calls, plugin }
    }

    /// Calls since the last (re)start.
    pub fn calls(&self) -> Vec<String> {
        self.calls.calls()
    }

    /// Drops the plugin's state and connections and serves anew.
    pub fn restart(&mut self) {
        self.plugin.kill();
        self.calls.clear();
        self.plugin.serve();
    }
}
