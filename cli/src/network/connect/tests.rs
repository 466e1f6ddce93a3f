//! Tests of `network connect` argument validation and request building.

use clap::error::ErrorKind;
use clap::Parser;
use pb::v1::sandbox_ref::Kind;

use super::*;

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: ConnectArgs,
}

fn parse(argv: &[&str]) -> Result<ConnectArgs, clap::Error> {
    Cli::try_parse_from(std::iter::once("connect").chain(argv.iter().copied())).map(|c| c.args)
}

fn kind(args: &ConnectArgs) -> Kind {
    let request = args.request().expect("valid request");
    request
        .sandbox
        .and_then(|s| s.kind)
        .expect("sandbox is set")
}

#[test]
fn needs_exactly_one_of_netns_and_container() {
    let neither = parse(&["web"]).expect_err("no sandbox");
    assert_eq!(neither.kind(), ErrorKind::MissingRequiredArgument);
    let both = parse(&["--netns", "/run/netns/a", "web", "c1"]).expect_err("two sandboxes");
    assert_eq!(both.kind(), ErrorKind::ArgumentConflict);
    assert_eq!(both.exit_code(), 2);
}

#[test]
fn name_is_only_for_netns() {
    let err = parse(&["--name", "x", "web", "c1"]).expect_err("--name with a container");
    assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
    let args = parse(&["--netns", "/run/netns/a", "--name", "x", "web"]).expect("valid");
    assert_eq!(args.request().expect("valid").name, "x");
}

#[test]
fn container_is_sent_as_a_sandbox_reference() {
    let args = parse(&["web", "c1"]).expect("valid");
    assert_eq!(kind(&args), Kind::Sandbox("c1".into()));
}

#[test]
fn relative_netns_paths_become_absolute() {
    let args = parse(&["--netns", "ns/a", "web"]).expect("valid");
    let cwd = std::env::current_dir().expect("cwd");
    let expected = cwd.join("ns/a").to_str().expect("utf-8").to_string();
    assert_eq!(kind(&args), Kind::NetnsPath(expected));
    let args = parse(&["--netns", "/proc/1/ns/net", "web"]).expect("valid");
    assert_eq!(kind(&args), Kind::NetnsPath("/proc/1/ns/net".into()));
}

#[test]
fn settings_are_normalized() {
    let args = parse(&[
        "--ip",
        "172.18.0.10",
        "--ip6",
        "2001:DB8:0:0::33",
        "--alias",
        "a,b",
        "--alias",
        "c",
        "--mac-address",
        "02-42-AC-11-00-02",
        "web",
        "c1",
    ])
    .expect("valid");
    let settings = args.request().expect("valid").settings.expect("settings");
    assert_eq!(settings.ipv4_address, "172.18.0.10");
    assert_eq!(settings.ipv6_address, "2001:db8::33");
    assert_eq!(settings.aliases, ["a", "b", "c"]);
    assert_eq!(settings.mac_address, "02:42:ac:11:00:02");
}

#[test]
fn malformed_addresses_fail_before_any_rpc() {
    let err = |argv: &[&str]| {
        let args = parse(argv).expect("parses");
        args.request().expect_err("invalid").to_string()
    };
    assert_eq!(
        err(&["--ip", "2001:db8::1", "web", "c1"]),
        "invalid --ip \"2001:db8::1\": not an IPv4 address"
    );
    assert_eq!(
        err(&["--ip6", "10.0.0.1", "web", "c1"]),
        "invalid --ip6 \"10.0.0.1\": not an IPv6 address"
    );
    assert_eq!(
        err(&["--mac-address", "02:42:ac:11:00", "web", "c1"]),
        "invalid MAC address \"02:42:ac:11:00\": expected six hex octets (as in 02:42:ac:11:00:02)"
    );
    assert_eq!(
        err(&["--mac-address", "01:00:5e:00:00:01", "web", "c1"]),
        "invalid MAC address \"01:00:5e:00:00:01\": it is a multicast address"
    );
    assert_eq!(
        err(&["--mac-address", "00:00:00:00:00:00", "web", "c1"]),
        "invalid MAC address \"00:00:00:00:00:00\": it is all zeros"
    );
}
