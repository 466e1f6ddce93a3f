//! A container's stdio end to end: `run -it` and `exec -it` driven from a
//! real pty as a user's terminal (tty inside, raw mode outside and back,
//! window size, exit code, Ctrl-P Ctrl-Q), `-i` with piped input, and the
//! log across stop and start.

use std::time::Duration;

use cnm_tests::exec::CmdOutput;
use cnm_tests::pty::PtyProcess;

use super::{rootfs, wait_until, Ctr};

const CTRL_P: u8 = 0x10;
const CTRL_Q: u8 = 0x11;
/// Generous: a debug cnmd on a busy 2-core machine.
const PATIENCE: Duration = Duration::from_secs(20);

impl Ctr {
    /// `cnm ARGS…` (with the rootfs before `command` for `run`) on a new
    /// pty of `rows` x `cols`.
    fn on_pty(&self, args: &[&str], command: &[&str], size: (u16, u16)) -> PtyProcess {
        let mut all = args.to_vec();
        if args.first() == Some(&"run") {
            all.push(rootfs());
        }
        all.extend_from_slice(command);
        PtyProcess::spawn(&mut self.host.cli().command(&all), size.0, size.1)
    }

    fn with_input(&self, args: &[&str], command: &[&str], input: &str) -> CmdOutput {
        let mut all = args.to_vec();
        if args.first() == Some(&"run") {
            all.push(rootfs());
        }
        all.extend_from_slice(command);
        self.host.cli().run_with_input(&all, input.as_bytes())
    }
}

/// Waits until the CLI put the terminal in raw mode (it is then reading
/// keys; typed earlier, they would go through the line discipline).
fn wait_raw(pty: &PtyProcess) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !pty.is_raw() {
        assert!(
            std::time::Instant::now() < deadline,
            "the terminal never went raw; {}",
            pty.describe()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn exit_code(pty: &mut PtyProcess) -> Option<i32> {
    pty.wait(PATIENCE).and_then(|s| s.code())
}

pub(super) fn run_it_gives_a_terminal() {
    let c = Ctr::start();
    let mut pty = c.on_pty(&["run", "-it", "--name", "tt"], &["sh"], (30, 90));
    pty.expect("# ", PATIENCE);
    assert!(pty.is_raw(), "raw mode while attached; {}", pty.describe());
    // `ALL""-TTY`: the echoed command line must not match the output.
    pty.write(b"tty; test -t 0 && test -t 1 && test -t 2 && echo ALL\"\"-TTY; stty size\r");
    pty.expect("ALL-TTY", PATIENCE);
    pty.expect("/dev/pts/0", PATIENCE);
    pty.expect("30 90", PATIENCE);
    // A resize of the user's window reaches the container (SIGWINCH).
    pty.resize(41, 123);
    wait_until(
        || {
            pty.write(b"stty size\r");
            std::thread::sleep(Duration::from_millis(200));
            pty.output().contains("41 123")
        },
        "the container's pty took the new size",
    );
    pty.write(b"exit 7\r");
    assert_eq!(exit_code(&mut pty), Some(7), "{}", pty.describe());
    assert!(!pty.is_raw(), "the terminal is restored after the exit");
    wait_until(|| c.status("tt").starts_with("Exited (7)"), "tt exited");
}

pub(super) fn run_it_detach_keys() {
    let c = Ctr::start();
    let echo_hex = "while read -r line; do printf %s \"$line\" | od -An -tx1; done";
    let mut pty = c.on_pty(
        &["run", "-it", "--name", "dk"],
        &["sh", "-c", echo_hex],
        (24, 80),
    );
    wait_raw(&pty);
    // Ctrl-P followed by another key: both reach the container, also when
    // they arrive in two reads.
    pty.write(&[b'a', CTRL_P, b'x', b'b', b'\r']);
    pty.expect("61 10 78 62", PATIENCE);
    pty.write(&[CTRL_P]);
    std::thread::sleep(Duration::from_millis(300));
    pty.write(b"y\r");
    pty.expect("10 79", PATIENCE);
    pty.write(&[CTRL_P, CTRL_Q]);
    assert_eq!(exit_code(&mut pty), Some(0), "{}", pty.describe());
    assert!(!pty.is_raw(), "the terminal is restored after detaching");
    assert!(c.status("dk").starts_with("Up"), "{}", c.status("dk"));
    assert_eq!(c.exec_ok("dk", &["echo", "alive"]), "alive\n");
    // The log holds the terminal's output.
    let logs = c.host.cnm_ok(&["logs", "dk"]);
    assert!(logs.contains("61 10 78 62\r\n"), "{logs:?}");
    // -dit: a shell on a tty waits for input in the background.
    c.run_d("bg", &["-it"], &["sh"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(c.status("bg").starts_with("Up"), "{}", c.status("bg"));

    // --rm, then detached: it runs on, and cnmd removes it when it exits.
    let mut pty = c.on_pty(
        &["run", "--rm", "-it", "--name", "gone"],
        &["sh", "-c", "echo READY; sleep 2"],
        (24, 80),
    );
    pty.expect("READY", PATIENCE);
    wait_raw(&pty);
    pty.write(&[CTRL_P, CTRL_Q]);
    assert_eq!(exit_code(&mut pty), Some(0), "{}", pty.describe());
    assert!(c.status("gone").starts_with("Up"), "{}", c.status("gone"));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while c.host.cnm(&["inspect", "gone"]).success() {
        assert!(
            std::time::Instant::now() < deadline,
            "a detached --rm container was not removed after it exited: {}",
            c.status("gone")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub(super) fn exec_it_gives_a_terminal() {
    let c = Ctr::start();
    c.run_d("ex", &[], &["sleep", "1000"]);
    let mut pty = c.on_pty(&["exec", "-it", "ex", "sh"], &[], (25, 81));
    pty.expect("# ", PATIENCE);
    pty.write(b"tty; stty size; test -t 0 && test -t 1 && test -t 2 && echo ALL\"\"-TTY; exit 3\r");
    pty.expect("ALL-TTY", PATIENCE);
    assert_eq!(exit_code(&mut pty), Some(3), "{}", pty.describe());
    let out = pty.output();
    assert!(out.contains("/dev/pts/"), "{out:?}");
    assert!(out.contains("25 81"), "the initial size: {out:?}");
    assert!(!pty.is_raw(), "the terminal is restored after the exit");
    // Detaching from an exec leaves its process running.
    let script = "echo READY; read x; echo after-$x";
    let mut pty = c.on_pty(&["exec", "-it", "ex", "sh", "-c", script], &[], (24, 80));
    pty.expect("READY", PATIENCE);
    wait_raw(&pty);
    pty.write(&[CTRL_P, CTRL_Q]);
    assert_eq!(exit_code(&mut pty), Some(0), "{}", pty.describe());
    let ps = c.exec_ok("ex", &["ps"]);
    assert!(ps.contains("read x"), "the exec'd shell still runs: {ps}");
}

pub(super) fn piped_stdin() {
    let c = Ctr::start();
    let out = c.with_input(&["run", "-i", "--rm"], &["cat"], "abc\ndef\n");
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "abc\ndef\n");
    // -t with a stdin that is no terminal: no raw mode, input still
    // flows, and its end types ^D on the container's terminal.
    let out = c.with_input(&["run", "-it", "--rm"], &["cat"], "hello\n");
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains("hello\r\n"), "{out}");
    c.run_d("ex", &[], &["sleep", "1000"]);
    let out = c.with_input(
        &["exec", "-i", "ex"],
        &["sh", "-c", "cat; exit 5"],
        "x\ny\n",
    );
    assert_eq!(out.status.and_then(|s| s.code()), Some(5), "{out}");
    assert_eq!(out.stdout, "x\ny\n");
    let out = c.with_input(&["exec", "-it", "ex"], &["cat"], "tty-in\n");
    assert!(out.success(), "{out}");
    assert!(out.stdout.contains("tty-in\r\n"), "{out}");
    // Without -i stdin is not forwarded: cat reads end of file at once.
    let out = c.with_input(&["exec", "ex"], &["cat"], "ignored\n");
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "");
}

pub(super) fn logs_survive_restart() {
    let c = Ctr::start();
    c.run_d("lg", &[], &["sh", "-c", "echo run-$$; sleep 1000"]);
    wait_until(
        || c.host.cnm_ok(&["logs", "lg"]) == "run-1\n",
        "the first run's line",
    );
    c.host.cnm_ok(&["stop", "-t", "0", "lg"]);
    c.host.cnm_ok(&["start", "lg"]);
    wait_until(
        || c.host.cnm_ok(&["logs", "lg"]) == "run-1\nrun-1\n",
        "both runs' lines",
    );
    // A tty's output is logged as the terminal wrote it.
    let out = c.run(&["-t", "--name", "tl"], &["echo", "tty-out"]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "tty-out\r\n");
    assert_eq!(c.host.cnm_ok(&["logs", "tl"]), "tty-out\r\n");
    let text = c.host.cnm_ok(&["inspect", "tl"]);
    let json: serde_json::Value = serde_json::from_str(&text).expect("inspect JSON");
    assert_eq!(json[0]["Config"]["Tty"], true, "{text}");
    assert_eq!(json[0]["Config"]["OpenStdin"], false, "{text}");
    // Docker's key order, not alphabetical.
    let at = |key: &str| {
        text.find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("{key} missing: {text}"))
    };
    let keys = [
        "Id",
        "Created",
        "State",
        "Name",
        "HostConfig",
        "Config",
        "NetworkSettings",
    ];
    assert!(
        keys.windows(2).all(|w| at(w[0]) < at(w[1])),
        "keys out of Docker's order: {text}"
    );
}
