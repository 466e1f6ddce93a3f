//! `cnm-cni oci-hook` run by a real runc: createRuntime wires the new
//! container's namespace into a cnm network, poststop unwires it after the
//! process (and its namespace) is gone.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use cnm_tests::addr::cidr_contains;
use cnm_tests::binaries;
use cnm_tests::exec::{eventually, run, run_with_input, wait_deadline, CmdOutput};
use cnm_tests::rootfs::build_busybox;
use cnm_tests::Host;
use serde_json::{json, Value};

use super::CniHost;

/// A runc container with its own state root; deleted (forced) on drop.
struct RuncContainer {
    id: String,
    state_root: PathBuf,
    log: PathBuf,
}

impl RuncContainer {
    /// Builds a busybox bundle under `dir` whose config runs `sleep` with
    /// the hook in createRuntime and poststop, and starts it detached.
    fn run(dir: &Path, id: &str, hook_args: &[String]) -> Result<RuncContainer, String> {
        let bundle = dir.join("bundle");
        std::fs::create_dir_all(&bundle).expect("bundle dir");
        build_busybox(&bundle.join("rootfs"));
        let spec = run(Command::new("runc")
            .arg("spec")
            .arg("--bundle")
            .arg(&bundle));
        assert!(spec.success(), "runc spec: {spec}");
        write_config(&bundle.join("config.json"), hook_args);
        let container = RuncContainer {
            id: id.into(),
            state_root: dir.join("runc-state"),
            log: dir.join("runc.log"),
        };
        // The container inherits runc's stdio: no pipes, or a reader would
        // wait for the container to exit.
        let log = File::create(&container.log).expect("runc log");
        let mut child = container
            .runc()
            .args(["run", "-d", "--bundle"])
            .arg(&bundle)
            .arg(id)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("start runc");
        let status = wait_deadline(&mut child, Duration::from_secs(30));
        match status {
            Some(s) if s.success() => Ok(container),
            _ => Err(std::fs::read_to_string(&container.log).unwrap_or_default()),
        }
    }

    fn runc(&self) -> Command {
        let mut cmd = Command::new("runc");
        cmd.arg("--root").arg(&self.state_root);
        cmd
    }

    fn exec(&self, argv: &[&str]) -> CmdOutput {
        run(self.runc().args(["exec", &self.id]).args(argv))
    }

    /// `runc kill` and wait until runc reports it stopped.
    fn kill(&self) {
        let out = run(self.runc().args(["kill", &self.id, "KILL"]));
        assert!(out.success(), "runc kill: {out}");
        eventually(Duration::from_secs(10), || {
            let state = run(self.runc().args(["state", &self.id]));
            let status: Value = serde_json::from_str(&state.stdout).unwrap_or_default();
            (status["status"] == "stopped")
                .then_some(())
                .ok_or_else(|| format!("not stopped yet: {state}"))
        })
        .unwrap_or_else(|e| panic!("{e}"));
    }

    /// `runc delete`, which runs the poststop hooks.
    fn delete(&self) -> CmdOutput {
        run(self.runc().args(["delete", &self.id]))
    }
}

impl Drop for RuncContainer {
    fn drop(&mut self) {
        let _ = run(self.runc().args(["delete", "-f", &self.id]));
    }
}

/// runc's default spec, changed to run `sleep` without a terminal, with
/// CAP_NET_RAW for ping, and the hook in createRuntime and poststop.
fn write_config(path: &Path, hook_args: &[String]) {
    let text = std::fs::read_to_string(path).expect("read config.json");
    let mut config: Value = serde_json::from_str(&text).expect("config.json");
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = json!(["sleep", "600"]);
    for set in ["bounding", "effective", "permitted", "ambient"] {
        if let Some(caps) = config["process"]["capabilities"][set].as_array_mut() {
            caps.push(json!("CAP_NET_RAW"));
        }
    }
    let mut args = vec!["cnm-cni".to_string()];
    args.extend_from_slice(hook_args);
    let hook = json!({"path": binaries::binary("cnm-cni"), "args": args, "timeout": 20});
    config["hooks"] = json!({"createRuntime": [hook.clone()], "poststop": [hook]});
    std::fs::write(path, config.to_string()).expect("write config.json");
}

fn hook_args(host: &Host, network: &str, name: &str) -> Vec<String> {
    [
        "oci-hook",
        "--network",
        network,
        "--socket",
        &host.socket().display().to_string(),
        "--name",
        name,
    ]
    .map(str::to_owned)
    .to_vec()
}

pub fn runc_hook_wires_and_unwires() {
    let t = CniHost::start();
    t.host
        .cnm_ok(&["net", "create", "--subnet", "10.44.0.0/24", "n1"]);
    let peer = t.host.container("peer");
    t.host.connect_named("n1", &peer, &[]);
    let peer_ip = t
        .host
        .inspect("n1")
        .expect_endpoint("peer")
        .ipv4_address
        .clone();
    let peer_ip = peer_ip.split('/').next().unwrap_or_default().to_owned();

    let id = format!("cnmt-{}-hook", std::process::id());
    let ctr = RuncContainer::run(t.host.dir(), &id, &hook_args(&t.host, "n1", "runc1"))
        .unwrap_or_else(|log| panic!("runc run: {log}\n{}", t.host.log_tail()));

    let addr = ctr.exec(&["ip", "-4", "-o", "addr", "show", "eth0"]);
    assert!(addr.success(), "{addr}");
    let endpoint = t
        .host
        .inspect("n1")
        .expect_endpoint("runc1")
        .ipv4_address
        .clone();
    assert!(cidr_contains("10.44.0.0/24", &endpoint), "{endpoint}");
    assert!(
        addr.stdout.contains(&endpoint),
        "eth0 lacks {endpoint}: {addr}"
    );

    let ping = ctr.exec(&["ping", "-c1", "-W2", &peer_ip]);
    assert!(
        ping.success(),
        "runc container cannot reach peer {peer_ip}: {ping}"
    );
    let back = peer.ping(endpoint.split('/').next().unwrap_or_default());
    assert!(
        back.success(),
        "peer cannot reach the runc container: {back}"
    );

    ctr.kill();
    let deleted = ctr.delete();
    assert!(deleted.success(), "runc delete (poststop hook): {deleted}");
    assert_eq!(
        t.attached("n1"),
        vec!["peer".to_string()],
        "poststop left the endpoint"
    );
    let veths = t.host.ip(&["-o", "link", "show", "type", "veth"]).stdout;
    assert_eq!(veths.lines().count(), 1, "host veths: {veths}");

    // A hook that cannot wire the container fails the container's creation.
    let dir = t.host.dir().join("ghost");
    let failed = RuncContainer::run(
        &dir,
        &format!("{id}-ghost"),
        &hook_args(&t.host, "ghost", "g1"),
    );
    let log = failed
        .err()
        .expect("runc run with a hook for a missing network must fail");
    assert!(
        log.contains("ghost"),
        "runc's error should carry the hook's: {log}"
    );

    // Not a container state on stdin: a clear error, non-zero exit.
    let mut hook = Command::new(binaries::binary("cnm-cni"));
    hook.args(hook_args(&t.host, "n1", "x"));
    let out = run_with_input(&mut hook, b"not json");
    assert!(
        !out.success() && out.stderr.contains("OCI container state"),
        "{out}"
    );
}
