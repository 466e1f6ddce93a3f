//! `--format` Go templates on `net ls`, `net inspect`, `ps` and `inspect`
//! against a real cnmd: exact output for fields, functions, `range`,
//! `index`, `json`, `table` titles and alignment, and one-line errors.

use std::sync::OnceLock;
use std::time::Duration;

use cnm_tests::exec::{eventually, CmdOutput};
use cnm_tests::rootfs::busybox_in_temp_dir;
use cnm_tests::{case, Case, Host, KERNEL};
use serde_json::Value;

use crate::containers::RUNTIME;
use crate::create::create;

pub fn cases() -> Vec<Case> {
    vec![
        case("net_ls_templates", KERNEL, net_ls_templates),
        case("net_ls_table", KERNEL, net_ls_table),
        case("net_inspect_templates", KERNEL, net_inspect_templates),
        case("template_errors_are_one_line", KERNEL, template_errors),
        case("ps_templates", RUNTIME, ps_templates),
        case(
            "container_inspect_templates",
            RUNTIME,
            container_inspect_templates,
        ),
    ]
}

fn net_ls_templates() {
    let host = Host::start();
    let alpha = create(
        &host,
        &["--internal", "--label", "b=2", "--label", "a=1", "alpha"],
    );
    create(&host, &["beta"]);
    assert_eq!(
        host.cnm_ok(&["net", "ls", "--format", "{{.Name}}"]),
        "alpha\nbeta\nbridge\nhost\nnone\n"
    );
    let ls = |extra: &[&str]| {
        let mut args = vec!["net", "ls", "--filter", "name=alpha"];
        args.extend_from_slice(extra);
        host.cnm_ok(&args)
    };
    let fields = "{{.ID}} {{.Driver}} {{.Scope}} {{.Internal}} {{.IPv6}} {{.Labels}}";
    assert_eq!(
        ls(&["--format", fields]),
        format!("{} bridge local true false a=1,b=2\n", &alpha[..12])
    );
    assert_eq!(
        ls(&["--no-trunc", "--format", "{{.ID}}"]),
        format!("{alpha}\n")
    );
    // A custom format wins over -q, as in Docker.
    assert_eq!(
        ls(&["-q", "--format", "{{.Name | upper}}:{{len .Name}}"]),
        "ALPHA:5\n"
    );
    let created = host.inspect("alpha").created;
    let (date, clock) = created.split_once('T').expect("RFC 3339");
    let clock = clock.trim_end_matches('Z');
    let (seconds, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let fraction = fraction.trim_end_matches('0');
    let dot = if fraction.is_empty() { "" } else { "." };
    assert_eq!(
        ls(&["--format", "{{.CreatedAt}}"]),
        format!("{date} {seconds}{dot}{fraction} +0000 UTC\n")
    );
    let json: Value =
        serde_json::from_str(ls(&["--format", "json"]).trim()).expect("one JSON line");
    assert_eq!(json["Name"], "alpha");
    assert_eq!(json["Labels"], "a=1,b=2");
    assert_eq!(json["Internal"], "true");
    assert_eq!(json.as_object().map(|o| o.len()), Some(8), "{json}");
}

fn net_ls_table() {
    let host = Host::start();
    create(&host, &["a-rather-long-network-name"]);
    // `\t` typed as two characters, as shells pass it.
    assert_eq!(
        host.cnm_ok(&[
            "net",
            "ls",
            "--format",
            r"table {{.Name}}\t{{.Driver}}\t{{.Scope}}"
        ]),
        "NAME                         DRIVER    SCOPE\n\
         a-rather-long-network-name   bridge    local\n\
         bridge                       bridge    local\n\
         host                         host      local\n\
         none                         null      local\n"
    );
    // A real tab works too, and titles survive functions.
    assert_eq!(
        host.cnm_ok(&[
            "net",
            "ls",
            "--filter",
            "name=bridge",
            "--format",
            "table {{.Driver | upper}}\t{{.IPv6}}\t{{.Internal}}"
        ]),
        "DRIVER    IPV6      INTERNAL\nBRIDGE    false     false\n"
    );
    // `table` alone is the default table, -q included.
    assert_eq!(
        host.cnm_ok(&["net", "ls", "--format", "table"]),
        host.cnm_ok(&["net", "ls"])
    );
    assert_eq!(
        host.cnm_ok(&["net", "ls", "-q", "--format", "table"]),
        host.cnm_ok(&["net", "ls", "-q"])
    );
}

fn net_inspect_templates() {
    let host = Host::start();
    create(
        &host,
        &[
            "--subnet",
            "10.88.0.0/24",
            "--gateway",
            "10.88.0.1",
            "-o",
            "com.docker.network.bridge.name=br-fmt",
            "--label",
            "team=net",
            "fmt",
        ],
    );
    let c1 = host.container("c1");
    host.connect_named("fmt", &c1, &["--ip", "10.88.0.10"]);
    let c2 = host.container("c2");
    host.connect_named("fmt", &c2, &["--ip", "10.88.0.11"]);
    let f = |template: &str| host.cnm_ok(&["net", "inspect", "fmt", "--format", template]);

    assert_eq!(
        f("{{.Name}} {{.Driver}} {{.Internal}} {{.EnableIPv6}}"),
        "fmt bridge false false\n"
    );
    assert_eq!(
        f("{{(index .IPAM.Config 0).Subnet}} {{.IPAM.Config}}"),
        "10.88.0.0/24 [map[Gateway:10.88.0.1 Subnet:10.88.0.0/24]]\n"
    );
    assert_eq!(
        f(r#"{{index .Options "com.docker.network.bridge.name"}} {{.Labels}}"#),
        "br-fmt map[team:net]\n"
    );
    assert_eq!(
        f("{{len .Containers}} {{.Name | upper}} {{if .Internal}}internal{{else}}external{{end}}"),
        "2 FMT external\n"
    );

    // Containers are keyed by sandbox id: range visits them in id order.
    let docker: Value =
        serde_json::from_str(&host.cnm_ok(&["net", "inspect", "fmt"])).expect("inspect JSON");
    let containers = docker[0]["Containers"].as_object().expect("Containers");
    let mut by_id: Vec<(&String, &Value)> = containers.iter().collect();
    by_id.sort_by(|a, b| a.0.cmp(b.0));
    let expected: String = by_id
        .iter()
        .map(|(id, c)| {
            format!(
                "{id}:{}={};",
                c["Name"].as_str().unwrap_or_default(),
                c["IPv4Address"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        f("{{range $id, $c := .Containers}}{{$id}}:{{$c.Name}}={{$c.IPv4Address}};{{end}}"),
        format!("{expected}\n")
    );
    let mut names: Vec<String> = f("{{range .Containers}}{{.Name}}={{.IPv4Address}}\n{{end}}")
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    names.sort();
    assert_eq!(names, ["c1=10.88.0.10/24", "c2=10.88.0.11/24"]);
    assert_eq!(
        f("{{json .Containers}}"),
        format!(
            "{}\n",
            serde_json::to_string(&docker[0]["Containers"]).expect("JSON")
        )
    );

    // One line per network; `json` is the default output.
    assert_eq!(
        host.cnm_ok(&["net", "inspect", "fmt", "bridge", "-f", "{{.Name}}"]),
        "fmt\nbridge\n"
    );
    assert_eq!(
        host.cnm_ok(&["net", "inspect", "fmt", "--format", "json"]),
        host.cnm_ok(&["net", "inspect", "fmt"])
    );
}

fn template_errors() {
    let host = Host::start();
    let bad_field = r#"template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope""#;
    for (args, message) in [
        (
            vec!["net", "ls", "--format", "{{.ID}"],
            "template: :1:2: bad character U+007D '}'".to_string(),
        ),
        (
            vec![
                "net",
                "inspect",
                "bridge",
                "--format",
                r#"{{index .Options "k"}"#,
            ],
            r#"template: :1:20: unexpected "}" in operand"#.to_string(),
        ),
        (
            vec!["net", "inspect", "bridge", "-f", "{{.Nope}}"],
            bad_field.to_string(),
        ),
        (
            vec!["net", "ls", "--format", r"table {{.Name}}\t{{.Bogus}}"],
            r#"template: :1:12: executing "" at <.Bogus>: map has no entry for key "Bogus""#
                .to_string(),
        ),
        (
            vec!["net", "ls", "--format", "{{.Name | nope}}"],
            r#"template: :1:10: function "nope" not defined"#.to_string(),
        ),
        (
            vec!["ps", "--format", "{{if .State}}"],
            "template: :1:13: unexpected EOF".to_string(),
        ),
        (
            vec!["inspect", "whatever", "--format", "{{.Name"],
            "template: :1:7: unclosed action".to_string(),
        ),
    ] {
        let out = host.cnm_err(&args);
        assert_eq!(out.stdout, "", "{args:?}: {out}");
        assert_eq!(
            out.stderr,
            format!("Error: template parsing error: {message}\n"),
            "{args:?}"
        );
    }
}

/// The busybox rootfs, built once per test process (apart from the one of
/// `containers::`, which may be rebuilt while these tests run).
fn rootfs() -> &'static str {
    static ROOTFS: OnceLock<String> = OnceLock::new();
    ROOTFS.get_or_init(|| busybox_in_temp_dir("format-rootfs"))
}

/// A host with network `app` (10.89.0.0/24), running `web` (10.89.0.20,
/// `sleep 1000`) and exited `done` (`sh -c 'exit 3'`); its containers are
/// force-removed on drop.
struct Containers {
    host: Host,
}

impl Containers {
    fn start() -> Containers {
        let c = Containers {
            host: Host::start(),
        };
        create(&c.host, &["--subnet", "10.89.0.0/24", "app"]);
        let web = c.run(
            &[
                "-d",
                "--name",
                "web",
                "--network",
                "app",
                "--ip",
                "10.89.0.20",
            ],
            &["sleep", "1000"],
        );
        assert!(web.success(), "run web: {web}\n{}", c.host.log_tail());
        let done = c.run(
            &["--name", "done", "--network", "app"],
            &["sh", "-c", "exit 3"],
        );
        assert_eq!(done.status.and_then(|s| s.code()), Some(3), "{done}");
        // cnmd records the exit a moment after `run` returns.
        let exited = eventually(Duration::from_secs(10), || {
            let status = c
                .host
                .cnm_ok(&["inspect", "done", "-f", "{{.State.Status}}"]);
            if status == "exited\n" {
                Ok(())
            } else {
                Err(status)
            }
        });
        assert_eq!(exited, Ok(()), "done never exited");
        c
    }

    fn run(&self, flags: &[&str], command: &[&str]) -> CmdOutput {
        let mut args = vec!["run"];
        args.extend_from_slice(flags);
        args.push(rootfs());
        args.extend_from_slice(command);
        self.host.cnm(&args)
    }
}

impl Drop for Containers {
    fn drop(&mut self) {
        let ids = self.host.cnm(&["ps", "-aq"]);
        for id in ids.stdout.lines().filter(|l| !l.is_empty()) {
            let _ = self.host.cnm(&["rm", "-f", id]);
        }
    }
}

fn ps_templates() {
    let c = Containers::start();
    let host = &c.host;
    let image = host.cnm_ok(&["inspect", "web", "-f", "{{.Image}}"]);
    assert!(image.contains("format-rootfs"), "{image:?}");
    assert_eq!(
        host.cnm_ok(&[
            "ps",
            "--format",
            "{{.Names}} {{.State}} {{.Networks}} {{.Image}}"
        ]),
        format!("web running app {image}")
    );
    let mut all: Vec<String> = host
        .cnm_ok(&["ps", "-a", "--format", "{{.Names}}|{{.State}}|{{.Command}}"])
        .lines()
        .map(String::from)
        .collect();
    all.sort();
    assert_eq!(
        all,
        ["done|exited|\"sh -c exit 3\"", "web|running|\"sleep 1000\""]
    );
    let status = host.cnm_ok(&[
        "ps",
        "-a",
        "--format",
        r#"{{if eq .Names "done"}}{{.Status}}{{end}}"#,
    ]);
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("Exited (3) ") && l.ends_with(" ago")),
        "{status:?}"
    );
    assert_eq!(
        host.cnm_ok(&[
            "ps",
            "--format",
            r"table {{.Names}}\t{{.Command}}\t{{.State}}"
        ]),
        "NAMES     COMMAND        STATE\n\
         web       \"sleep 1000\"   running\n"
    );

    let id = host.cnm_ok(&["inspect", "web", "-f", "{{.Id}}"]);
    let id = id.trim();
    assert_eq!(
        host.cnm_ok(&["ps", "--format", "{{.ID}}"]),
        format!("{}\n", &id[..12])
    );
    assert_eq!(
        host.cnm_ok(&["ps", "--no-trunc", "--format", "{{.ID}}"]),
        format!("{id}\n")
    );
    let created = host.cnm_ok(&["inspect", "web", "-f", "{{.Created}}"]);
    assert_eq!(
        host.cnm_ok(&["ps", "--format", "{{.CreatedAt}}"]),
        format!("{} {} +0000 UTC\n", &created[..10], &created[11..19])
    );
    let running_for = host.cnm_ok(&["ps", "--format", "{{.RunningFor}}"]);
    assert!(running_for.ends_with(" ago\n"), "{running_for:?}");
    let json: Value = serde_json::from_str(host.cnm_ok(&["ps", "--format", "json"]).trim())
        .expect("one JSON line");
    assert_eq!(json["Names"], "web");
    assert_eq!(json["Networks"], "app");
    assert_eq!(json.as_object().map(|o| o.len()), Some(11), "{json}");

    // -q wins over a custom format, with Docker's warning.
    let quiet = host.cnm(&["ps", "-q", "--format", "{{.Names}}"]);
    assert!(quiet.success(), "{quiet}");
    assert_eq!(quiet.stdout, format!("{}\n", &id[..12]));
    assert_eq!(
        quiet.stderr,
        "WARNING: Ignoring custom format, because both --format and --quiet are set.\n"
    );
}

fn container_inspect_templates() {
    let c = Containers::start();
    let host = &c.host;
    let f = |names: &[&str], template: &str| {
        let mut args = vec!["inspect"];
        args.extend_from_slice(names);
        args.extend_from_slice(&["--format", template]);
        host.cnm_ok(&args)
    };
    assert_eq!(
        f(
            &["web"],
            "{{.Name}} {{.State.Status}} {{.State.Running}} {{.Path}} {{.Args}} {{json .Config.Cmd}}"
        ),
        "/web running true sleep [1000] [\"sleep\",\"1000\"]\n"
    );
    assert_eq!(
        f(
            &["web"],
            "{{range $net, $ep := .NetworkSettings.Networks}}\
             {{$net}}={{$ep.IPAddress}}/{{$ep.IPPrefixLen}} gw {{$ep.Gateway}}{{end}}"
        ),
        "app=10.89.0.20/24 gw 10.89.0.1\n"
    );
    assert_eq!(
        f(
            &["web"],
            "{{.NetworkSettings.IPAddress}} {{.HostConfig.NetworkMode}} {{.HostConfig.PidsLimit}}"
        ),
        "10.89.0.20 app <no value>\n"
    );
    assert_eq!(
        f(&["web", "done"], "{{.Name}} {{.State.ExitCode}}"),
        "/web 0\n/done 3\n"
    );
    let docker: Value =
        serde_json::from_str(&host.cnm_ok(&["inspect", "web"])).expect("inspect JSON");
    let pid = docker[0]["State"]["Pid"].as_i64().expect("a pid");
    assert!(pid > 0, "{docker}");
    assert_eq!(
        f(
            &["web"],
            "{{.State.Pid}} {{if gt .State.Pid 0}}alive{{end}}"
        ),
        format!("{pid} alive\n")
    );
    assert_eq!(f(&["web"], "json"), host.cnm_ok(&["inspect", "web"]));
    // Objects found still print; the missing one fails the command.
    let partial = host.cnm(&["inspect", "web", "nothing-here", "-f", "{{.Name}}"]);
    assert!(!partial.success(), "{partial}");
    assert_eq!(partial.stdout, "/web\n", "{partial}");
    assert_eq!(partial.stderr.lines().count(), 1, "{partial}");
}
