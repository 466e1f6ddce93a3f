//! Operating cnmd: `/etc/cnm/daemon.json` (`--config-file`), the Prometheus
//! endpoint (`--metrics-addr`) scraped with real HTTP GETs, and the man
//! pages generated from the command definitions.

use std::path::Path;
use std::process::Command;

use cnm_tests::binaries;
use cnm_tests::exec::{run, CmdOutput};
use cnm_tests::netns::{unique_base_name, NetNs};
use cnm_tests::{case, kernel_and, Case, Host, Need};

use crate::create::create;

/// [`cnm_tests::KERNEL`] plus curl, the scraper.
const SCRAPE: &[Need] = kernel_and![Need::Tool("curl"), Need::Tool("ss")];

pub fn cases() -> Vec<Case> {
    vec![
        case(
            "daemon_json_applies_and_flags_win",
            cnm_tests::KERNEL,
            daemon_json_applies_and_flags_win,
        ),
        case(
            "daemon_json_bad_files_are_refused",
            &[Need::Root, Need::Tool("nsenter"), Need::Tool("ip")],
            daemon_json_bad_files_are_refused,
        ),
        case(
            "metrics_endpoint_counts_what_happened",
            SCRAPE,
            metrics_endpoint_counts_what_happened,
        ),
        case("man_pages_are_generated", &[], man_pages_are_generated),
    ]
}

fn write_config(dir: &Path, json: &str) -> String {
    let path = dir.join("daemon.json");
    std::fs::write(&path, json).expect("write daemon.json");
    path.display().to_string()
}

/// The subnet `cnm net create NAME` was given.
fn subnet_of(host: &Host, name: &str) -> String {
    create(host, &[name]);
    host.inspect(name)
        .ipam
        .config
        .first()
        .map(|c| c.subnet.clone())
        .unwrap_or_default()
}

fn daemon_json_applies_and_flags_win() {
    let dir = tempfile::tempdir().expect("temp dir");
    // log-level "error" is overridden by the harness's --log-level debug.
    let config = write_config(
        dir.path(),
        r#"{"default-address-pools": [{"base": "10.123.0.0/16", "size": 24}],
            "log-level": "error"}"#,
    );
    let host = Host::start_with(&["--config-file", &config]);
    let subnet = subnet_of(&host, "fromfile");
    assert!(
        subnet.starts_with("10.123."),
        "file's pool unused: {subnet}"
    );
    assert!(
        host.log().contains("cnmd ready"),
        "--log-level debug should win over the file's \"error\"\n{}",
        host.log_tail()
    );
    drop(host);

    let host = Host::start_with(&[
        "--config-file",
        &config,
        "--default-address-pool",
        "base=10.124.0.0/16,size=24",
    ]);
    let subnet = subnet_of(&host, "fromflag");
    assert!(subnet.starts_with("10.124."), "flag should win: {subnet}");
}

/// cnmd with `args`, in a fresh namespace so a wrongly accepted file cannot
/// touch this machine; it must exit before serving.
fn cnmd_refuses(dir: &Path, args: &[&str]) -> CmdOutput {
    let ns = NetNs::create(&unique_base_name());
    let root = dir.join("root");
    let mut cmd = ns.command(&[&binaries::cnmd().display().to_string()]);
    cmd.arg("--root")
        .arg(&root)
        .arg("--run-root")
        .arg(dir.join("run"))
        .args(args);
    let out = run(&mut cmd);
    assert!(
        !out.success() && !out.timed_out(),
        "cnmd accepted it: {out}"
    );
    assert!(!root.exists(), "cnmd touched its state before refusing");
    out
}

fn daemon_json_bad_files_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let unknown = write_config(dir.path(), r#"{"log-level": "info", "no-such-knob": true}"#);
    let out = cnmd_refuses(dir.path(), &["--config-file", &unknown]);
    assert!(out.stderr.contains("unknown key \"no-such-knob\""), "{out}");

    let malformed = write_config(dir.path(), "{\"log-level\": \"info\",,}");
    let out = cnmd_refuses(dir.path(), &["--config-file", &malformed]);
    assert!(out.stderr.contains("not valid JSON"), "{out}");
    assert!(out.stderr.contains("daemon.json"), "names the file: {out}");

    let bad_value = write_config(dir.path(), r#"{"metrics-addr": "everywhere"}"#);
    let out = cnmd_refuses(dir.path(), &["--config-file", &bad_value]);
    assert!(out.stderr.contains("key \"metrics-addr\""), "{out}");

    let missing = dir.path().join("absent.json").display().to_string();
    let out = cnmd_refuses(dir.path(), &["--config-file", &missing]);
    assert!(out.stderr.contains("absent.json"), "{out}");
}

const METRICS_ADDR: &str = "127.0.0.1:9323";

/// GET http://ADDR/PATH from inside the host's namespace.
fn get(host: &Host, path: &str) -> CmdOutput {
    let url = format!("http://{METRICS_ADDR}{path}");
    run(&mut host.ns().command(&[
        "curl",
        "-sS",
        "--max-time",
        "10",
        "-w",
        "\n%{http_code}",
        &url,
    ]))
}

fn scrape(host: &Host) -> String {
    let out = get(host, "/metrics");
    assert!(out.success(), "{out}\n{}", host.log_tail());
    let (body, code) = out.stdout.rsplit_once('\n').unwrap_or_default();
    assert_eq!(code, "200", "{out}");
    body.to_string()
}

/// The value of the sample line `name` (with its labels) in `text`.
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no sample {name} in:\n{text}"))
}

fn metrics_endpoint_counts_what_happened() {
    // No listener unless asked for.
    let plain = Host::start();
    let listening = run(&mut plain.ns().command(&["ss", "-Hltn"]));
    assert_eq!(
        listening.stdout.trim(),
        "",
        "cnmd listens on TCP: {listening}"
    );
    drop(plain);

    let host = Host::start_with(&["--metrics-addr", METRICS_ADDR]);
    host.ip(&["link", "set", "lo", "up"]);
    let list = r#"cnm_api_requests_total{method="/cnm.v1.NetworkService/ListNetworks"}"#;
    let before = scrape(&host);
    let listed_before = before
        .lines()
        .find_map(|l| l.strip_prefix(list)?.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    for _ in 0..3 {
        host.ls();
    }
    create(&host, &["m1"]);
    let c1 = host.container("c1");
    host.connect_named("m1", &c1, &[]);

    let text = scrape(&host);
    let listed = sample(&text, list);
    assert!(
        listed >= listed_before + 3.0,
        "ListNetworks {listed_before} -> {listed}"
    );
    let buckets = r#"cnm_api_request_duration_seconds_bucket{method="/cnm.v1.NetworkService/ListNetworks",le="#;
    assert_eq!(
        sample(&text, &format!("{buckets}\"+Inf\"}}")),
        listed,
        "the +Inf bucket counts every call"
    );
    assert!(text.contains(&format!("{buckets}\"0.001\"}}")), "{text}");
    assert!(text.contains("# TYPE cnm_api_request_duration_seconds histogram"));
    assert_eq!(sample(&text, "cnm_connect_duration_seconds_count"), 1.0);
    assert!(sample(&text, "cnm_connect_duration_seconds_sum") > 0.0);
    assert_eq!(sample(&text, "cnm_networks"), host.ls().len() as f64);
    assert_eq!(sample(&text, "cnm_endpoints"), 1.0);
    assert_eq!(sample(&text, "cnm_sandboxes"), 1.0);
    assert_eq!(sample(&text, r#"cnm_containers{state="running"}"#), 0.0);
    assert!(
        sample(&text, "cnm_nft_transactions_total") >= 1.0,
        "the table was set up"
    );

    // DNS counters come from the resolver process, which writes them about
    // once a second: c1 asking for its own name is a local answer.
    let gateway = crate::ports::endpoint_ipv4(&host, "m1", "c1")
        .rsplit_once('.')
        .map(|(net, _)| format!("{net}.1"))
        .expect("an IPv4 address");
    let asked = c1.exec(&[
        "dig",
        "+short",
        "+time=1",
        "+tries=3",
        &format!("@{gateway}"),
        "c1",
    ]);
    assert!(
        asked.success() && !asked.stdout.trim().is_empty(),
        "{asked}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let text = scrape(&host);
        let local = text.lines().find_map(|l| {
            l.strip_prefix(r#"cnm_dns_queries_total{outcome="local"} "#)?
                .parse::<f64>()
                .ok()
        });
        if local.is_some_and(|n| n >= 1.0) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no local DNS answer counted after 5 s:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    host.disconnect_ok("m1", &c1);
    let text = scrape(&host);
    assert_eq!(sample(&text, "cnm_endpoints"), 0.0);
    assert_eq!(sample(&text, "cnm_disconnect_duration_seconds_count"), 1.0);

    let out = get(&host, "/nope");
    assert!(out.stdout.ends_with("\n404"), "{out}");
}

fn man_pages_are_generated() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run(Command::new(binaries::cnm()).arg("man").arg(dir.path()));
    assert!(out.success(), "{out}");
    for (page, needle) in [
        ("cnm.1", "network"),
        ("cnm-network-create.1", "\\-\\-subnet"),
        ("cnm-system-events.1", "\\-\\-filter"),
        ("cnm-run.1", "\\-\\-publish"),
    ] {
        let text = std::fs::read_to_string(dir.path().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}; {out}"));
        assert!(text.contains(".TH"), "{page} is not a man page");
        assert!(text.contains(needle), "{page} lacks {needle}");
    }
    let out = run(Command::new(binaries::cnmd())
        .arg("--generate-man")
        .arg(dir.path()));
    assert!(out.success(), "{out}");
    let cnmd = std::fs::read_to_string(dir.path().join("cnmd.8")).expect("cnmd.8");
    assert!(
        cnmd.contains(".TH cnmd 8") && cnmd.contains("metrics\\-addr"),
        "{cnmd}"
    );

    let md = run(Command::new(binaries::cnm()).args(["man", "--markdown"]));
    assert!(md.success(), "{md}");
    assert!(md.stdout.contains("\n## cnm network create\n"), "{md}");
    assert!(
        md.stdout
            .contains("| `-f, --filter <KEY=VALUE>` | Filter output"),
        "{md}"
    );
}
