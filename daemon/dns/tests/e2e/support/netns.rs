//! Network namespaces by name (`ip netns`), and running code inside one on a
//! dedicated thread (setns changes only the calling thread).

use std::fs::File;
use std::io::Write;
use std::process::{Command, Stdio};

use nix::sched::{setns, CloneFlags};

/// Runs `f` on a fresh thread that entered namespace `ns`. Sockets created
/// there stay in that namespace when used from any other thread.
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        setns(file, CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
    .join()
    .expect("netns thread panicked")
}

/// Runs `ip [-n ns] -batch -` with these commands; panics on failure.
pub fn ip_batch(ns: Option<&str>, commands: &[String]) {
    let mut cmd = Command::new("ip");
    if let Some(ns) = ns {
        cmd.args(["-n", ns]);
    }
    let mut child = cmd
        .args(["-batch", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn ip");
    let script = commands.join("\n") + "\n";
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write ip batch");
    let out = child.wait_with_output().expect("ip batch");
    assert!(
        out.status.success(),
        "ip {ns:?} batch failed: {}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs one command, returns stdout; panics on failure.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().expect("spawn");
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A named network namespace, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(name: String) -> Netns {
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        run("ip", &["netns", "add", &name]);
        ip_batch(Some(&name), &["link set lo up".to_string()]);
        Netns { name }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}
