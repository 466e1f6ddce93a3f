//! Docker as the caller: a real dockerd (Debian's docker.io, 20.10) inside
//! the test host's namespace finds cnmd's plugin socket in
//! /run/docker/plugins, creates a network with cnm as network and IPAM
//! driver, runs busybox containers that reach each other by name and
//! address, publishes a port through cnm's table, and keeps working across
//! restarts of cnmd and of dockerd.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cnm_tests::{case, kernel_and, Case, Host, Need};

const NEEDS: &[Need] = kernel_and![
    Need::Tool("nft"),
    Need::Tool("busybox"),
    Need::Tool("dockerd"),
    Need::Tool("containerd"),
    Need::File("/usr/bin/docker"),
];

pub fn cases() -> Vec<Case> {
    vec![case(
        "docker_network_end_to_end",
        NEEDS,
        docker_network_end_to_end,
    )]
}

/// A dockerd of the test, in the host's namespace, with its own dirs.
struct Dockerd {
    child: Option<Child>,
    dir: PathBuf,
    netns: PathBuf,
}

impl Dockerd {
    fn start(dir: &Path, netns: &Path) -> Dockerd {
        let mut d = Dockerd {
            child: None,
            dir: dir.to_path_buf(),
            netns: netns.to_path_buf(),
        };
        d.spawn();
        d
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("docker.sock")
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("dockerd.log"))
            .expect("dockerd log");
        let arg = |p: &str| self.dir.join(p).display().to_string();
        let child = Command::new("nsenter")
            .arg(format!("--net={}", self.netns.display()))
            .args([
                "dockerd",
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
            ])
            .args(["--data-root", &arg("data"), "--exec-root", &arg("exec")])
            .args(["--pidfile", &arg("dockerd.pid")])
            .args(["-H", &format!("unix://{}", self.socket().display())])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.docker(&["version"]).status.success() {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        panic!("dockerd did not come up in 60 s:\n{}", self.log_tail());
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Stops dockerd (its containers stop with it) and waits for it.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // nsenter execs dockerd: the child's pid is dockerd's.
            let _ = nix_kill(child.id());
            let deadline = Instant::now() + Duration::from_secs(40);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("timeout")
            .arg("90")
            .arg("/usr/bin/docker")
            .arg("-H")
            .arg(format!("unix://{}", self.socket().display()))
            .args(args)
            .output()
            .expect("run docker")
    }

    /// `sh -c LINE` in a throwaway busybox container on network `web`.
    fn sh_on_web(&self, line: &str) -> std::process::Output {
        self.docker(&[
            "run",
            "--rm",
            "--network",
            "web",
            "cnmbb:test",
            "sh",
            "-c",
            line,
        ])
    }

    fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log_tail()
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        if self.child.is_some() {
            let _ = self.docker(&["rm", "-f", "web1"]);
        }
        self.stop();
    }
}

fn nix_kill(pid: u32) -> std::io::Result<()> {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other("kill failed"))
    }
}

/// Retries `f` for up to `secs` (a container's server needs a moment).
fn eventually(secs: u64, mut f: impl FnMut() -> Option<String>) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn docker_network_end_to_end() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Docker finds plugins only in /run/docker/plugins (and /etc): a name
    // unique to this test, removed by cnmd on exit and by the guard.
    let name = format!("cnmt{}", std::process::id());
    let socket = PathBuf::from(format!("/run/docker/plugins/{name}.sock"));
    struct Remove(PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _guard = Remove(socket.clone());
    let mut host = Host::start_with(&["--docker-plugin-socket", socket.to_str().expect("utf-8")]);
    let mut docker = Dockerd::start(dir.path(), &host.ns().path());

    // A busybox image from cnm's own rootfs helper.
    let rootfs = dir.path().join("rootfs");
    host.cnm_ok(&["rootfs", "busybox", rootfs.to_str().expect("utf-8")]);
    std::fs::create_dir_all(rootfs.join("www")).expect("www");
    std::fs::write(rootfs.join("www/index.html"), "hello-from-cnm\n").expect("index");
    let tar = dir.path().join("rootfs.tar");
    let tarred = Command::new("tar")
        .args([
            "-C",
            rootfs.to_str().expect("utf-8"),
            "-cf",
            tar.to_str().expect("utf-8"),
            ".",
        ])
        .status()
        .expect("tar");
    assert!(tarred.success());
    docker.docker_ok(&["import", tar.to_str().expect("utf-8"), "cnmbb:test"]);

    docker.docker_ok(&[
        "network",
        "create",
        "-d",
        &name,
        "--ipam-driver",
        &name,
        "--subnet",
        "10.231.0.0/24",
        "web",
    ]);
    let inspect = docker.docker_ok(&[
        "network",
        "inspect",
        "-f",
        "{{.Driver}} {{range .IPAM.Config}}{{.Subnet}}{{end}}",
        "web",
    ]);
    assert_eq!(inspect, format!("{name} 10.231.0.0/24"));
    let ls = host.cnm_ok(&["net", "ls"]);
    assert!(ls.contains("docker-"), "no cnm network for docker's: {ls}");

    docker.docker_ok(&[
        "run",
        "-d",
        "--network",
        "web",
        "--name",
        "web1",
        "-p",
        "8080:80",
        "cnmbb:test",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/www",
    ]);
    let ip = docker.docker_ok(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        "web1",
    ]);
    assert!(ip.starts_with("10.231.0."), "web1 has {ip}");
    if fetch(&docker, &ip).is_none() {
        let last = docker.sh_on_web(&format!("ip addr; ip route; wget -O- -T 3 http://{ip}/"));
        panic!(
            "container to container by address: {}\n{}\nps: {}\nlogs: {:?}",
            String::from_utf8_lossy(&last.stdout),
            String::from_utf8_lossy(&last.stderr),
            docker.docker_ok(&["ps", "-a"]),
            docker.docker(&["logs", "web1"]),
        );
    }
    assert!(
        fetch(&docker, "web1").is_some(),
        "container to container by name"
    );
    // -p 8080:80 through cnm's table, from the host at the gateway.
    assert!(published(&host).is_some(), "published port");
    let nft = host.ns().exec(&["nft", "list", "table", "inet", "cnm"]);
    assert!(
        nft.stdout.contains("8080"),
        "no 8080 in cnm's table:\n{}",
        nft.stdout
    );
    // dockerd shows no ports for a remote driver (libnetwork#2451); cnm
    // does, under the endpoint's sandbox name.
    let endpoint = docker.docker_ok(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.EndpointID}}{{end}}",
        "web1",
    ]);
    let sandbox = format!("docker-{}", &endpoint[..12.min(endpoint.len())]);
    let port = host.cnm_ok(&["port", &sandbox]);
    assert!(
        port.contains("80/tcp -> 0.0.0.0:8080"),
        "cnm port {sandbox}: {port}"
    );

    // cnmd restarts: the endpoint, its port and the network stay.
    host.stop();
    host.restart();
    assert!(
        published(&host).is_some(),
        "published port after cnmd restart"
    );
    assert!(
        fetch(&docker, "web1").is_some(),
        "by name after cnmd restart"
    );

    // dockerd restarts (stopping its containers): it does not send
    // CreateNetwork again; the network is still served.
    docker.stop();
    docker.spawn();
    docker.docker_ok(&["start", "web1"]);
    assert!(
        fetch(&docker, "web1").is_some(),
        "by name after dockerd restart"
    );
    assert!(
        published(&host).is_some(),
        "published port after dockerd restart"
    );

    // Teardown through Docker leaves nothing in cnm.
    docker.docker_ok(&["rm", "-f", "web1"]);
    docker.docker_ok(&["network", "rm", "web"]);
    let ls = host.cnm_ok(&["net", "ls"]);
    assert!(
        !ls.contains("docker-"),
        "docker's network left in cnm: {ls}"
    );
}

/// A shell line that prints `http://TARGET:PORT/`. busybox-static's wget
/// crashes (glibc NSS in a static binary) here: plain HTTP through nc,
/// names through nslookup.
fn get_line(target: &str, port: u16) -> String {
    let to = if target.parse::<std::net::IpAddr>().is_ok() {
        target.to_owned()
    } else {
        // nslookup asks Docker's resolver itself (no NSS).
        format!("$(nslookup {target} | awk '/^Address/ {{a=$NF}} END {{print a}}')")
    };
    format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {to} {port}")
}

/// The page of web1 from a fresh container on `web`, fetched from `target`.
fn fetch(docker: &Dockerd, target: &str) -> Option<String> {
    let line = get_line(target, 80);
    eventually(20, || {
        let out = docker.sh_on_web(&line);
        let body = String::from_utf8_lossy(&out.stdout).to_string();
        body.contains("hello-from-cnm").then_some(body)
    })
}

/// The page of web1 through `-p 8080:80`, from the host at the gateway.
fn published(host: &Host) -> Option<String> {
    let line = get_line("10.231.0.1", 8080);
    eventually(20, || {
        let out = host.ns().exec(&["busybox", "sh", "-c", &line]);
        out.stdout
            .contains("hello-from-cnm")
            .then_some(out.stdout.clone())
    })
}
