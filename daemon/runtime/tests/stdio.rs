//! Kernel tests of the container's stdio across runs and terminals: a log
//! kept outside the state dir collects every run while an attach replays
//! only the current one; a tty container's input ends with ^D; a tty exec
//! takes its input and resizes as attach frames.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::Duration;

use cnm_runtime::attach::Frame;
use cnm_runtime::ExecSpec;
use common::{cannot_run, collect_output, runtime, Fixture};

fn log_lines(container: &cnm_runtime::Container) -> Vec<String> {
    container
        .logs(false)
        .unwrap()
        .map(|e| e.unwrap().log)
        .collect()
}

#[test]
fn a_log_outside_the_state_dir_keeps_every_run() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let log = f.dir.path().join("json.log");
    let mut spec = f.spec(&["sh", "-c", "echo one"]);
    spec.log = Some(log.clone());
    let first = runtime().start(&spec).unwrap();
    assert_eq!(
        first
            .wait(Some(Duration::from_secs(30)))
            .unwrap()
            .unwrap()
            .code,
        0
    );
    assert_eq!(first.log_path(), log);
    first.delete(false).unwrap();
    assert!(log.is_file(), "delete keeps a log outside the state dir");

    spec.args = vec!["sh".into(), "-c".into(), "echo two; exit 2".into()];
    let second = runtime().start(&spec).unwrap();
    let (out, code) = collect_output(&mut second.attach(true).unwrap());
    assert_eq!(out, "two\n", "an attach replays this run only");
    assert_eq!(code, Some(2));
    assert_eq!(log_lines(&second), ["one\n", "two\n"]);
    second.delete(false).unwrap();
}

#[test]
fn a_missing_log_directory_is_refused() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let mut spec = f.spec(&["true"]);
    spec.log = Some(f.dir.path().join("no-such-dir/json.log"));
    let err = runtime().start(&spec).unwrap_err().to_string();
    assert!(err.contains("log directory"), "{err}");
    assert!(!f.state_dir().exists());
}

#[test]
fn closing_a_tty_stdin_types_eof() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let mut spec = f.spec(&["sh", "-c", "cat; echo cat-ended"]);
    spec.tty = true;
    spec.stdin = true;
    let container = runtime().start(&spec).unwrap();
    let mut stream = container.attach(true).unwrap();
    let mut writer = stream.writer().unwrap();
    writer.send_stdin(b"hello\n").unwrap();
    writer.close_stdin().unwrap();
    let (out, code) = collect_output(&mut stream);
    // The pty echoes the input, cat prints it again, then ^D ends cat.
    assert!(out.contains("hello\r\nhello\r\n"), "{out:?}");
    assert!(out.contains("cat-ended"), "{out:?}");
    assert_eq!(code, Some(0));
    // The log holds the terminal's output, CRLF and all.
    assert!(log_lines(&container).contains(&"cat-ended\r\n".to_string()));
    container.delete(false).unwrap();
}

#[test]
fn a_tty_exec_takes_frames_on_stdin() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let container = runtime().start(&f.spec(&["sleep", "100"])).unwrap();
    let spec = ExecSpec {
        args: vec![
            "sh".into(),
            "-c".into(),
            "read line; stty size; echo got:$line; cat; echo done".into(),
        ],
        tty: true,
        tty_size: Some((24, 80)),
        ..ExecSpec::default()
    };
    let mut child = runtime()
        .exec_command(&container, &spec)
        .unwrap()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let frames = [
        Frame::Resize {
            rows: 33,
            cols: 101,
        },
        Frame::Stdin(b"hi\n".to_vec()),
        Frame::CloseStdin,
    ];
    for frame in frames {
        stdin.write_all(&frame.encode()).unwrap();
    }
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(
        out.contains("33 101"),
        "the resize reached the pty: {out:?}"
    );
    assert!(out.contains("got:hi"), "{out:?}");
    assert!(out.contains("done"), "^D ended cat: {out:?}");
    assert_eq!(status.code(), Some(0));
    drop(stdin);
    container.delete(true).unwrap();
}
