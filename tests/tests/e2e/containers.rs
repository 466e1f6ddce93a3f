//! The bundled runtime end to end: `cnm run` and the container lifecycle
//! against a real cnmd and kernel, with a busybox rootfs built by `cnm
//! rootfs busybox`. Every test removes its containers in a guard, even on
//! failure, so no shim, cgroup or mount outlives it. Terminals, stdin and
//! logs across restarts are in `containers/stdio.rs`.

mod stdio;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cnm_tests::exec::CmdOutput;
use cnm_tests::rootfs::busybox_in_temp_dir;
use cnm_tests::{case, kernel_and, Case, Host, Need};

/// Root, the usual tools, and busybox for the rootfs.
pub(crate) const RUNTIME: &[Need] = kernel_and![Need::Tool("busybox"), Need::Tool("nft")];

pub fn cases() -> Vec<Case> {
    vec![
        case(
            "run_exit_code_and_output",
            RUNTIME,
            run_exit_code_and_output,
        ),
        case(
            "detached_stop_after_timeout",
            RUNTIME,
            detached_stop_after_timeout,
        ),
        case("rm_flag_leaves_nothing", RUNTIME, rm_flag_leaves_nothing),
        case("dns_and_published_port", RUNTIME, dns_and_published_port),
        case(
            "first_query_at_start_resolves",
            RUNTIME,
            first_query_at_start_resolves,
        ),
        case(
            "system_info_reports_host_facts",
            RUNTIME,
            system_info_reports_host_facts,
        ),
        case("limits_caps_hostname", RUNTIME, limits_caps_hostname),
        case("logs_exec_inspect", RUNTIME, logs_exec_inspect),
        case("survives_cnmd_kill9", RUNTIME, survives_cnmd_kill9),
        case("live_connect_disconnect", RUNTIME, live_connect_disconnect),
        case(
            "bad_input_leaves_nothing",
            RUNTIME,
            bad_input_leaves_nothing,
        ),
        case(
            "run_it_gives_a_terminal",
            RUNTIME,
            stdio::run_it_gives_a_terminal,
        ),
        case("run_it_detach_keys", RUNTIME, stdio::run_it_detach_keys),
        case(
            "exec_it_gives_a_terminal",
            RUNTIME,
            stdio::exec_it_gives_a_terminal,
        ),
        case("piped_stdin", RUNTIME, stdio::piped_stdin),
        case("logs_survive_restart", RUNTIME, stdio::logs_survive_restart),
    ]
}

/// The busybox rootfs, built once per test process.
pub(crate) fn rootfs() -> &'static str {
    static ROOTFS: OnceLock<String> = OnceLock::new();
    ROOTFS.get_or_init(|| busybox_in_temp_dir("rootfs"))
}

/// A host whose containers are force-removed on drop (and, if cnmd is
/// gone, whose shims are killed and cgroups removed).
pub(crate) struct Ctr {
    pub(crate) host: Host,
}

impl Ctr {
    pub(crate) fn start() -> Ctr {
        Ctr {
            host: Host::start(),
        }
    }

    /// `cnm run ARGS…` with the rootfs spliced in before the command.
    pub(crate) fn run(&self, flags: &[&str], command: &[&str]) -> CmdOutput {
        let mut args = vec!["run"];
        args.extend_from_slice(flags);
        args.push(rootfs());
        args.extend_from_slice(command);
        self.host.cnm(&args)
    }

    fn run_d(&self, name: &str, flags: &[&str], command: &[&str]) {
        let mut all = vec!["-d", "--name", name];
        all.extend_from_slice(flags);
        let out = self.run(&all, command);
        assert!(
            out.success(),
            "run -d {name}: {out}\n{}",
            self.host.log_tail()
        );
    }

    fn exec(&self, name: &str, command: &[&str]) -> CmdOutput {
        let mut args = vec!["exec", name];
        args.extend_from_slice(command);
        self.host.cnm(&args)
    }

    fn exec_ok(&self, name: &str, command: &[&str]) -> String {
        let out = self.exec(name, command);
        assert!(out.success(), "exec: {out}\n{}", self.host.log_tail());
        out.stdout
    }

    fn root(&self) -> PathBuf {
        self.host.dir().join("root")
    }

    fn netns_files(&self) -> usize {
        count(&self.host.dir().join("run/netns"))
    }

    fn container_dirs(&self) -> usize {
        count(&self.root().join("containers"))
    }

    fn veths(&self) -> usize {
        self.host
            .ip(&["-o", "link"])
            .stdout
            .lines()
            .filter(|l| l.contains("cnmv"))
            .count()
    }

    /// `ps` STATUS column of `name` (with -a).
    fn status(&self, name: &str) -> String {
        let ps = self.host.cnm_ok(&["ps", "-a"]);
        let line = ps
            .lines()
            .find(|l| l.trim_end().ends_with(name))
            .unwrap_or_else(|| panic!("{name} not in ps -a:\n{ps}"))
            .to_string();
        // Columns line up in characters (COMMAND may hold a `…`).
        let header = ps.lines().next().unwrap_or_default();
        let start = header
            .find("STATUS")
            .map_or(0, |b| header[..b].chars().count());
        line.chars().skip(start).collect()
    }
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

impl Drop for Ctr {
    fn drop(&mut self) {
        let ids = self.host.cnm(&["ps", "-aq"]);
        for id in ids.stdout.lines().filter(|l| !l.is_empty()) {
            let _ = self.host.cnm(&["rm", "-f", id]);
        }
        // cnmd may be dead (a failed kill -9 test): kill what it left.
        for dir in std::fs::read_dir(self.root().join("containers"))
            .into_iter()
            .flatten()
            .flatten()
        {
            kill_recorded(&dir.path().join("runtime/state.json"));
        }
    }
}

/// SIGKILLs the container and shim recorded in a runtime state.json.
fn kill_recorded(state: &Path) {
    let Ok(text) = std::fs::read_to_string(state) else {
        return;
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return;
    };
    for key in ["pid", "shim"] {
        if let Some(pid) = json[key]["pid"].as_i64() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

fn run_exit_code_and_output() {
    let c = Ctr::start();
    let out = c.run(&[], &["sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(out.status.and_then(|s| s.code()), Some(3), "{out}");
    assert_eq!(out.stdout, "out\n", "{out}");
    assert!(out.stderr.contains("err"), "{out}");
    let ok = c.run(&["--name", "t"], &["true"]);
    assert!(ok.success(), "{ok}");
    wait_until(|| c.status("t").starts_with("Exited (0)"), "t exited");
}

fn detached_stop_after_timeout() {
    let c = Ctr::start();
    let script = "trap '' TERM; while true; do sleep 1; done";
    c.run_d("stubborn", &[], &["sh", "-c", script]);
    assert!(
        c.status("stubborn").starts_with("Up"),
        "{}",
        c.status("stubborn")
    );
    assert_eq!(c.veths(), 1, "one veth while running");
    let started = Instant::now();
    c.host.cnm_ok(&["stop", "-t", "1", "stubborn"]);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(8),
        "stop -t 1 took {took:?}"
    );
    assert!(
        c.status("stubborn").starts_with("Exited (137)"),
        "{}",
        c.status("stubborn")
    );
    assert_eq!(c.veths(), 0, "a stopped container holds no veth");
    assert_eq!(c.netns_files(), 0, "a stopped container holds no netns");
    // start wires it again.
    c.host.cnm_ok(&["start", "stubborn"]);
    assert!(c.status("stubborn").starts_with("Up"));
    assert_eq!(c.veths(), 1);
}

fn rm_flag_leaves_nothing() {
    let c = Ctr::start();
    let out = c.run(&["--rm", "--name", "gone"], &["echo", "hi"]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "hi\n");
    assert_eq!(c.host.cnm_ok(&["ps", "-aq"]), "");
    c.run_d("bg", &["--rm"], &["sleep", "1"]);
    wait_until(
        || c.host.cnm_ok(&["ps", "-aq"]).is_empty(),
        "-d --rm removed",
    );
    assert_eq!(c.container_dirs(), 0);
    assert_eq!(c.netns_files(), 0);
    assert_eq!(c.veths(), 0);
}

fn dns_and_published_port() {
    let c = Ctr::start();
    c.host
        .cnm_ok(&["net", "create", "--subnet", "10.77.0.0/24", "app"]);
    let publish = "127.0.0.1:18080:80";
    c.run_d(
        "web",
        &["--network", "app", "-p", publish, "--hostname", "www-host"],
        &["httpd", "-f", "-p", "80"],
    );
    c.run_d("client", &["--network", "app"], &["sleep", "1000"]);
    let resolv = c.exec_ok("client", &["cat", "/etc/resolv.conf"]);
    assert!(resolv.contains("nameserver 10.77.0.1"), "{resolv}");
    let hosts = c.exec_ok("client", &["cat", "/etc/hosts"]);
    assert!(hosts.contains("10.77.0.3\tclient"), "{hosts}");
    for name in ["web", "www-host"] {
        let lookup = c.exec_ok("client", &["nslookup", name]);
        assert!(lookup.contains("10.77.0.2"), "{name}: {lookup}");
    }
    let get = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3";
    for target in ["10.77.0.2", "web"] {
        let reply = c.exec_ok("client", &["sh", "-c", &format!("{get} {target} 80")]);
        assert!(reply.starts_with("HTTP/1."), "{target}: {reply:?}");
    }
    let from_host = cnm_tests::exec::run(
        std::process::Command::new("nsenter")
            .arg(format!("--net={}", c.host.ns().path_str()))
            .args(["busybox", "sh", "-c", &format!("{get} 127.0.0.1 18080")]),
    );
    assert!(from_host.stdout.starts_with("HTTP/1."), "{from_host}");
}

/// A container's first query, sent the moment it starts, races the
/// resolver learning about the container: it must be answered, not
/// refused as a stranger's (the README demo does exactly this).
fn first_query_at_start_resolves() {
    let c = Ctr::start();
    c.host
        .cnm_ok(&["net", "create", "--subnet", "10.78.0.0/24", "app"]);
    c.run_d("web", &["--network", "app"], &["sleep", "1000"]);
    for round in 0..3 {
        let out = c.run(&["--rm", "--network", "app"], &["nslookup", "web"]);
        assert!(
            out.success() && out.stdout.contains("10.78.0.2"),
            "round {round}: {out}"
        );
    }
}

/// `cnm system info`: container counts, the cgroup layout and the kernel
/// features cnm's drivers need but this kernel lacks (checked against what
/// `ip` can create here).
fn system_info_reports_host_facts() {
    let c = Ctr::start();
    c.run_d("up", &["--network", "none"], &["sleep", "1000"]);
    let done = c.run(&["--name", "done", "--network", "none"], &["true"]);
    assert!(done.success(), "{done}");
    // cnmd records the exit when its monitor sees it, a moment after the CLI.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !c.status("done").starts_with("Exited") {
        assert!(Instant::now() < deadline, "{}", c.status("done"));
        std::thread::sleep(Duration::from_millis(50));
    }
    let info = c.host.cnm_ok(&["system", "info"]);
    let line = |key: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!(" {key}: ")))
            .unwrap_or_else(|| panic!("no {key:?} line in:\n{info}"))
            .to_string()
    };
    assert_eq!(line("Containers"), "2", "{info}");
    assert_eq!(line(" Running"), "1", "{info}");
    assert_eq!(line(" Stopped"), "1", "{info}");
    let cgroup = line("Cgroup Version");
    assert!(
        cgroup == "v1" || cgroup == "v2" || cgroup.starts_with("mixed ("),
        "{info}"
    );
    let probe = c
        .host
        .ip(&["link", "add", "cnmtprobe", "link", "lo", "type", "ipvlan"]);
    let has_ipvlan = !probe.stderr.contains("Unknown device type");
    let missing = line("Missing Kernel Features");
    assert_eq!(
        missing.contains("ipvlan links (CONFIG_IPVLAN)"),
        !has_ipvlan,
        "ip says ipvlan {}: {info}",
        if has_ipvlan { "works" } else { "is unknown" }
    );
}

fn limits_caps_hostname() {
    let c = Ctr::start();
    let hog = c.run(
        &["--memory", "16m"],
        &["sh", "-c", "x=a; while true; do x=$x$x; done"],
    );
    assert_eq!(hog.status.and_then(|s| s.code()), Some(137), "{hog}");
    let bomb = "(for i in $(seq 1 30); do sleep 5 & done); echo survived";
    let out = c.run(&["--pids-limit", "10"], &["sh", "-c", bomb]);
    assert!(out.stderr.contains("can't fork"), "{out}");
    let status = c.run(&["--name", "capped"], &["cat", "/proc/1/status"]);
    assert!(
        status.stdout.contains("CapEff:\t00000000800405fb"),
        "{status}"
    );
    let name = c.run(&["--name", "named"], &["hostname"]);
    assert_eq!(name.stdout, "named\n");
    let custom = c.run(&["--hostname", "box"], &["hostname"]);
    assert_eq!(custom.stdout, "box\n");
}

fn logs_exec_inspect() {
    let c = Ctr::start();
    c.run_d(
        "talker",
        &["-e", "GREETING=hello"],
        &["sh", "-c", "echo $GREETING; sleep 1000"],
    );
    wait_until(
        || c.host.cnm_ok(&["logs", "talker"]) == "hello\n",
        "log line",
    );
    let out = c.exec("talker", &["sh", "-c", "echo x; exit 4"]);
    assert_eq!(out.status.and_then(|s| s.code()), Some(4), "{out}");
    assert_eq!(out.stdout, "x\n");
    let json: serde_json::Value =
        serde_json::from_str(&c.host.cnm_ok(&["inspect", "talker"])).expect("inspect JSON");
    let it = &json[0];
    assert_eq!(it["Name"], "/talker");
    assert_eq!(it["State"]["Running"], true);
    assert_eq!(it["Path"], "sh");
    let net = &it["NetworkSettings"]["Networks"]["bridge"];
    assert!(
        net["IPAddress"]
            .as_str()
            .is_some_and(|a| a.starts_with("172.")),
        "{it}"
    );
    assert_eq!(net["IPPrefixLen"], 16);
    // An id prefix names it too.
    let id = it["Id"].as_str().expect("Id");
    c.host.cnm_ok(&["stop", "-t", "0", &id[..6]]);
    assert!(c.status("talker").starts_with("Exited"));
}

fn survives_cnmd_kill9() {
    let mut c = Ctr::start();
    c.run_d("keeper", &[], &["sleep", "1000"]);
    c.host.kill9();
    c.host.restart();
    assert!(
        c.status("keeper").starts_with("Up"),
        "{}",
        c.status("keeper")
    );
    assert_eq!(c.exec_ok("keeper", &["echo", "still"]), "still\n");
    c.host.cnm_ok(&["stop", "-t", "1", "keeper"]);
    assert!(c.status("keeper").starts_with("Exited (137)"));
    // Exited while cnmd was down: the real exit code is recorded.
    c.run_d("short", &[], &["sh", "-c", "sleep 2; exit 7"]);
    c.host.kill9();
    std::thread::sleep(Duration::from_secs(3));
    c.host.restart();
    assert!(
        c.status("short").starts_with("Exited (7)"),
        "{}",
        c.status("short")
    );
    c.host.cnm_ok(&["rm", "keeper", "short"]);
    assert_eq!(c.veths(), 0);
    assert_eq!(c.netns_files(), 0);
}

fn live_connect_disconnect() {
    let c = Ctr::start();
    c.host
        .cnm_ok(&["net", "create", "--subnet", "10.78.0.0/24", "side"]);
    c.run_d("multi", &[], &["sleep", "1000"]);
    c.host.cnm_ok(&["net", "connect", "side", "multi"]);
    assert!(c.exec_ok("multi", &["ip", "addr"]).contains("eth1"));
    wait_until(
        || {
            c.exec_ok("multi", &["cat", "/etc/hosts"])
                .contains("10.78.0.2\tmulti")
        },
        "hosts lists the new address",
    );
    c.host.cnm_ok(&["net", "disconnect", "side", "multi"]);
    assert!(!c.exec_ok("multi", &["ip", "addr"]).contains("eth1"));
    wait_until(
        || {
            !c.exec_ok("multi", &["cat", "/etc/hosts"])
                .contains("10.78.0.2")
        },
        "hosts drops the address",
    );
}

fn bad_input_leaves_nothing() {
    let c = Ctr::start();
    c.run_d("taken", &[], &["sleep", "1000"]);
    let cases: [(&[&str], &[&str], &str); 5] = [
        (&["--name", "taken"], &["true"], "already in use"),
        (&[], &["no-such-command"], "not found"),
        (&["--memory", "lots"], &["true"], "memory"),
        (&["--network", "nope"], &["true"], "nope"),
        (&["--cpus", "x"], &["true"], "cpus"),
    ];
    for (flags, command, needle) in cases {
        let out = c.run(flags, command);
        assert_eq!(out.status.and_then(|s| s.code()), Some(125), "{out}");
        cnm_tests::cli::assert_stderr_mentions(&out, &[needle]);
    }
    let missing = c.host.cnm(&["run", "/nonexistent-rootfs", "true"]);
    cnm_tests::cli::assert_stderr_mentions(&missing, &["nonexistent-rootfs"]);
    assert_eq!(c.host.cnm_ok(&["ps", "-aq"]).lines().count(), 1);
    assert_eq!(c.container_dirs(), 1);
    assert_eq!(c.netns_files(), 1);
    assert_eq!(c.veths(), 1);
}

fn wait_until(mut check: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
