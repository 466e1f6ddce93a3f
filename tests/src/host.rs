//! A test "host": a fresh network namespace with its own cnmd (own state
//! dir, run dir and socket) and the containers made for it. Dropping it
//! kills cnmd and removes every namespace and file it made.

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};

use crate::cli::Cli;
use crate::container::Container;
use crate::daemon::{Daemon, DaemonPaths};
use crate::exec::CmdOutput;
use crate::inspect::{parse_ls, parse_networks, LsRow, NetworkJson};
use crate::netns::{self, unique_base_name, NetNs};
use crate::sweep::{unmount_under, KEEP_MARKER};

/// A namespace running its own cnmd. Start and drop it on the same thread:
/// cnmd is killed when the thread that started it exits.
pub struct Host {
    base: String,
    ns: NetNs,
    daemon: Daemon,
    cli: Cli,
    dir: Option<tempfile::TempDir>,
    containers: Arc<Mutex<Vec<String>>>,
}

impl Host {
    /// Creates the namespace and dirs and starts cnmd; waits until it
    /// accepts connections.
    pub fn start() -> Host {
        Host::start_with(&[])
    }

    /// [`Host::start`] with extra cnmd flags (e.g. `--default-host-ip`).
    pub fn start_with(cnmd_args: &[&str]) -> Host {
        Host::start_prepared(|_| {}, cnmd_args)
    }

    /// [`Host::start_with`], running `prepare` on the new namespace before
    /// cnmd starts (e.g. to give it an underlay link for a cluster).
    pub fn start_prepared(prepare: impl FnOnce(&NetNs), cnmd_args: &[&str]) -> Host {
        let base = unique_base_name();
        let dir = tempfile::Builder::new()
            .prefix(&format!("{base}-"))
            .tempdir()
            .expect("create temp dir");
        let ns = NetNs::create(&base);
        prepare(&ns);
        let paths = DaemonPaths::under(dir.path());
        let cli = Cli::new(paths.socket.clone(), paths.log.clone());
        let daemon = Daemon::start_with(&ns.path(), paths, cnmd_args);
        Host {
            base,
            ns,
            daemon,
            cli,
            dir: Some(dir),
            containers: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Makes container namespace `<host>-<label>` with `lo` up.
    pub fn container(&self, label: &str) -> Container {
        let name = self.register(label);
        Container::new(NetNs::create(&name), label)
    }

    /// Makes container namespace `<host>-<label>` exactly as the kernel
    /// creates it (`lo` down), to check what cnmd sets up by itself.
    pub fn bare_container(&self, label: &str) -> Container {
        let name = self.register(label);
        Container::new(NetNs::create_bare(&name), label)
    }

    fn register(&self, label: &str) -> String {
        let name = format!("{}-{label}", self.base);
        self.containers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(name.clone());
        name
    }

    /// The host namespace.
    pub fn ns(&self) -> &NetNs {
        &self.ns
    }

    /// A CLI handle that other threads can use.
    pub fn cli(&self) -> Cli {
        self.cli.clone()
    }

    /// Runs `cnm -H unix://SOCK ARGS…`.
    pub fn cnm(&self, args: &[&str]) -> CmdOutput {
        self.cli.run(args)
    }

    /// Runs the CLI, asserts success, returns stdout.
    pub fn cnm_ok(&self, args: &[&str]) -> String {
        self.cli.run_ok(args)
    }

    /// Runs the CLI, asserts failure, returns the output.
    pub fn cnm_err(&self, args: &[&str]) -> CmdOutput {
        self.cli.run_err(args)
    }

    /// Runs `ip -n HOSTNS ARGS…`.
    pub fn ip(&self, args: &[&str]) -> CmdOutput {
        self.ns.ip(args)
    }

    /// The daemon's socket path.
    pub fn socket(&self) -> &Path {
        &self.daemon.paths().socket
    }

    /// The temp dir holding state, run dir and log.
    pub fn dir(&self) -> &Path {
        self.dir
            .as_ref()
            .map_or(Path::new("/nonexistent"), |d| d.path())
    }

    /// SIGKILLs cnmd.
    pub fn kill9(&mut self) {
        self.daemon.kill9();
    }

    /// SIGTERMs cnmd and waits for it to exit.
    pub fn stop(&mut self) -> ExitStatus {
        self.daemon.stop()
    }

    /// Starts cnmd again with the same dirs.
    pub fn restart(&mut self) {
        self.daemon.restart();
    }

    /// Everything cnmd logged.
    pub fn log(&self) -> String {
        self.daemon.log()
    }

    /// The last lines of the cnmd log, for failure messages.
    pub fn log_tail(&self) -> String {
        self.daemon.log_tail(40)
    }

    /// `cnm net ls`, parsed.
    pub fn ls(&self) -> Vec<LsRow> {
        parse_ls(&self.cnm_ok(&["net", "ls"]))
    }

    /// `cnm net inspect NET`, parsed; exactly one network.
    pub fn inspect(&self, net: &str) -> NetworkJson {
        let mut nets = parse_networks(&self.cnm_ok(&["net", "inspect", net]));
        assert_eq!(
            nets.len(),
            1,
            "inspect {net} returned {} networks",
            nets.len()
        );
        nets.remove(0)
    }

    /// `cnm net connect NET --netns PATH EXTRA…`.
    pub fn connect(&self, net: &str, c: &Container, extra: &[&str]) -> CmdOutput {
        let path = c.path_str();
        let mut args = vec!["net", "connect", net, "--netns", &path];
        args.extend_from_slice(extra);
        self.cnm(&args)
    }

    /// Connects with `--name LABEL` and asserts success.
    pub fn connect_named(&self, net: &str, c: &Container, extra: &[&str]) {
        let mut args = vec!["--name", c.label()];
        args.extend_from_slice(extra);
        let out = self.connect(net, c, &args);
        assert!(out.success(), "connect failed: {out}\n{}", self.log_tail());
    }

    /// `cnm net disconnect NET --netns PATH`.
    pub fn disconnect(&self, net: &str, c: &Container) -> CmdOutput {
        self.cnm(&["net", "disconnect", net, "--netns", &c.path_str()])
    }

    /// Disconnects and asserts success.
    pub fn disconnect_ok(&self, net: &str, c: &Container) {
        let out = self.disconnect(net, c);
        assert!(
            out.success(),
            "disconnect failed: {out}\n{}",
            self.log_tail()
        );
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.daemon.kill9();
        if let Some(dir) = &self.dir {
            unmount_under(dir.path());
        }
        let containers =
            std::mem::take(&mut *self.containers.lock().unwrap_or_else(|e| e.into_inner()));
        for name in containers.iter().rev() {
            if Path::new(netns::NETNS_DIR).join(name).exists() {
                netns::delete_named(name);
            }
        }
        self.ns.delete();
        if let Some(dir) = self.dir.take() {
            if std::env::var("CNM_TEST_KEEP").is_ok_and(|v| v == "1") {
                let kept: PathBuf = dir.keep();
                let _ = std::fs::write(kept.join(KEEP_MARKER), "kept by CNM_TEST_KEEP=1\n");
                eprintln!("cnm-tests: kept {} (CNM_TEST_KEEP=1)", kept.display());
            } else if std::thread::panicking() {
                // Keep a failed test's state and log for a look; the next
                // run's sweep removes it (no KEEP marker).
                let kept: PathBuf = dir.keep();
                eprintln!(
                    "cnm-tests: test failed; cnmd state and log kept in {} until the next run",
                    kept.display()
                );
            }
        }
    }
}
