//! Kernel tests of what a container sees: exit codes, PID 1, hostname,
//! capabilities, no_new_privs, the overlay, cnmd's files, volumes, /dev,
//! the network namespace and the json-file log.

#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::Path;

use cnm_runtime::{BindMount, CapSet};
use common::{cannot_run, Fixture, HOSTS, RESOLV};

#[test]
fn exit_code_is_reported() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let out = f.run(&f.spec(&["sh", "-c", "exit 3"]));
    assert_eq!(out.status.code, 3);
    assert!(!out.status.oom_killed);
}

#[test]
fn pid_1_is_the_command() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let out = f.run(&f.spec(&[
        "sh",
        "-c",
        "echo $$; tr '\\0' ' ' < /proc/1/cmdline; echo; ps -o pid,comm",
    ]));
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "1", "{}", out.stdout);
    assert!(lines[1].starts_with("sh -c echo $$"), "{}", out.stdout);
    assert_eq!(out.status.code, 0, "{}", out.stderr);
}

#[test]
fn hostname_and_cnmd_files() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let script =
        "hostname; cat /etc/hostname; cat /etc/hosts; cat /etc/resolv.conf; echo x >> /etc/hosts";
    let out = f.run(&f.spec(&["sh", "-c", script]));
    assert_eq!(out.stdout, format!("web\nweb\n{HOSTS}{RESOLV}"));
    assert!(
        out.stderr.contains("Read-only file system"),
        "{}",
        out.stderr
    );
    assert_ne!(out.status.code, 0);
}

fn caps_of(out: &common::Outcome) -> Vec<(String, String)> {
    out.stdout
        .lines()
        .filter_map(|l| l.split_once(":\t"))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn default_capabilities_are_podmans_eleven() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let out = f.run(&f.spec(&["grep", "-E", "^(Cap|NoNewPrivs)", "/proc/1/status"]));
    let caps = caps_of(&out);
    let get = |k: &str| {
        caps.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .unwrap()
    };
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd"] {
        assert_eq!(get(set), "00000000800405fb", "{set}: {}", out.stdout);
    }
    assert_eq!(get("CapAmb"), "0000000000000000");
    assert_eq!(get("NoNewPrivs"), "1");
}

#[test]
fn cap_add_and_drop_change_the_set() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let mut spec = f.spec(&[
        "sh",
        "-c",
        "grep CapEff /proc/self/status; ping -c1 127.0.0.1 >/dev/null 2>&1; echo ping=$?",
    ]);
    spec.cap_add = CapSet::parse_names(["NET_ADMIN", "cap_net_raw"]).unwrap();
    spec.cap_drop = CapSet::parse_names(["CHOWN"]).unwrap();
    let out = f.run(&spec);
    let want = (0x8004_05fb_u64 | 1 << 12 | 1 << 13) & !1;
    assert!(
        out.stdout.contains(&format!("CapEff:\t{want:016x}")),
        "{}",
        out.stdout
    );
    drop(f);
    let f = Fixture::new();
    let mut spec = f.spec(&[
        "sh",
        "-c",
        "grep CapEff /proc/self/status; chown 1 /tmp; echo chown=$?",
    ]);
    spec.cap_drop = CapSet::parse_names(["ALL"]).unwrap();
    spec.cap_add = CapSet::parse_names(["NET_BIND_SERVICE"]).unwrap();
    let out = f.run(&spec);
    assert!(
        out.stdout.contains("CapEff:\t0000000000000400"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("chown=1"),
        "without CAP_CHOWN chown fails: {}",
        out.stdout
    );
}

#[test]
fn no_new_privs_is_set() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let out = f.run(&f.spec(&["grep", "NoNewPrivs", "/proc/self/status"]));
    assert_eq!(out.stdout.trim(), "NoNewPrivs:\t1");
}

fn snapshot(dir: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let meta = fs::symlink_metadata(e.path()).unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            }
            out.push((e.path().display().to_string(), meta.len()));
        }
    }
    out.sort();
    out
}

#[test]
fn rootfs_is_never_modified() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let rootfs = f.rootfs.clone();
    let before = snapshot(&rootfs);
    let passwd = fs::read(rootfs.join("etc/passwd")).unwrap();
    let script =
        "echo hi > /new && rm /bin/ls && echo x >> /etc/passwd && mkdir -p /var/lib/x && cat /new";
    let container = common::runtime()
        .start(&f.spec(&["sh", "-c", script]))
        .unwrap();
    let status = container
        .wait(Some(std::time::Duration::from_secs(30)))
        .unwrap()
        .unwrap();
    assert_eq!(status.code, 0);
    assert_eq!(snapshot(&rootfs), before);
    assert_eq!(fs::read(rootfs.join("etc/passwd")).unwrap(), passwd);
    // The writes went to the upper layer in the state dir.
    assert_eq!(
        fs::read_to_string(f.state_dir().join("upper/new")).unwrap(),
        "hi\n"
    );
    container.delete(false).unwrap();
}

#[test]
fn volumes_rw_and_ro() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let rw = f.dir.path().join("rw");
    let ro = f.dir.path().join("ro");
    fs::create_dir_all(&rw).unwrap();
    fs::create_dir_all(&ro).unwrap();
    fs::write(ro.join("seen"), "from host\n").unwrap();
    let mut spec = f.spec(&[
        "sh",
        "-c",
        "echo written > /data/f; cat /config/seen; echo nope > /config/f",
    ]);
    spec.mounts = vec![
        format!("{}:/data", rw.display())
            .parse::<BindMount>()
            .unwrap(),
        format!("{}:/config:ro", ro.display())
            .parse::<BindMount>()
            .unwrap(),
    ];
    let out = f.run(&spec);
    assert_eq!(fs::read_to_string(rw.join("f")).unwrap(), "written\n");
    assert_eq!(out.stdout, "from host\n");
    assert!(
        out.stderr.contains("Read-only file system"),
        "{}",
        out.stderr
    );
    assert!(!ro.join("f").exists());
}

#[test]
fn dev_sys_and_proc_are_minimal() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let script = "ls /dev | tr '\\n' ' '; echo; touch /sys/x; cat /proc/keys | wc -c; readlink /dev/ptmx; echo 1 > /proc/sys/kernel/hostname";
    let out = f.run(&f.spec(&["sh", "-c", script]));
    let lines: Vec<&str> = out.stdout.lines().collect();
    for dev in [
        "null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "ptmx", "fd", "stdin",
        "stdout", "stderr",
    ] {
        assert!(
            lines[0].split(' ').any(|d| d == dev),
            "/dev lacks {dev}: {}",
            lines[0]
        );
    }
    assert!(
        out.stderr.contains("touch: /sys/x: Read-only file system"),
        "{}",
        out.stderr
    );
    // /proc/keys would list host keyrings; it is masked with /dev/null.
    assert_eq!(lines[1].trim(), "0", "{}", out.stdout);
    assert_eq!(lines[2], "pts/ptmx");
    assert!(
        out.stderr
            .contains("/proc/sys/kernel/hostname: Read-only file system"),
        "{}",
        out.stderr
    );
}

#[test]
fn joins_the_given_netns_or_shares_the_host() {
    if cannot_run() {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let script = "readlink /proc/self/ns/net; ls /sys/class/net | tr '\\n' ' '";
    let f = Fixture::new();
    let out = f.run(&f.spec(&["sh", "-c", script]));
    let inode = fs::metadata(&f.netns).unwrap().ino();
    assert_eq!(
        out.stdout.lines().next(),
        Some(format!("net:[{inode}]").as_str())
    );
    assert_eq!(
        out.stdout.lines().nth(1).map(str::trim),
        Some("lo"),
        "sysfs shows the joined netns"
    );
    drop(f);
    let f = Fixture::new();
    let mut spec = f.spec(&["sh", "-c", script]);
    spec.netns = None;
    let out = f.run(&spec);
    let host = fs::read_link("/proc/self/ns/net").unwrap();
    assert_eq!(
        out.stdout.lines().next(),
        Some(host.to_str().unwrap()),
        "host network is shared"
    );
}

#[test]
fn env_and_cwd() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let mut spec = f.spec(&["sh", "-c", "pwd; echo $FOO $HOSTNAME $HOME; echo $PATH"]);
    spec.env = vec!["FOO=bar".into()];
    spec.cwd = Some("/srv/app".into());
    let out = f.run(&spec);
    assert_eq!(
        out.stdout,
        format!(
            "/srv/app\nbar web /root\n{}\n",
            cnm_runtime::spec::DEFAULT_PATH
        )
    );
}

#[test]
fn logs_use_docker_json_file_format() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let container = common::runtime()
        .start(&f.spec(&["sh", "-c", "echo out; echo err >&2; printf tail"]))
        .unwrap();
    container
        .wait(Some(std::time::Duration::from_secs(30)))
        .unwrap()
        .unwrap();
    let raw = fs::read_to_string(container.log_path()).unwrap();
    let mut seen = Vec::new();
    for line in raw.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let obj = v.as_object().unwrap();
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["log", "stream", "time"]);
        let time = obj["time"].as_str().unwrap();
        assert!(time.ends_with('Z') && time.len() == 30, "{time}");
        seen.push((
            obj["stream"].as_str().unwrap().to_string(),
            obj["log"].as_str().unwrap().to_string(),
        ));
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            ("stderr".into(), "err\n".into()),
            ("stdout".into(), "out\n".into()),
            ("stdout".into(), "tail".into())
        ]
    );
    container.delete(false).unwrap();
}
