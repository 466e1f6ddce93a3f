//! Rejected input changes nothing: each case runs one bad command against a
//! host with a network (`alpha`, 10.80.0.0/16) and a connected container,
//! checks the error says what is wrong, and compares `net ls`, `net
//! inspect` and the host's links before and after.

use cnm_tests::snapshot::assert_refused_unchanged;
use cnm_tests::{case, Case, Host, KERNEL};

use crate::create::create;

/// Declares one test per bad command: `name: [args…] => [needles…]`, where
/// the error must mention one of the needles. `{c1}` in args is replaced by
/// the connected container's netns path.
macro_rules! rejects {
    ($($name:ident: [$($arg:expr),*] => [$($needle:expr),+];)*) => {
        pub fn cases() -> Vec<Case> {
            vec![$(case(stringify!($name), KERNEL, $name)),*]
        }
        $(fn $name() {
            assert_rejected(&[$($arg),*], &[$($needle),+]);
        })*
    };
}

rejects! {
    overlapping_subnet: ["net", "create", "--subnet", "10.80.1.0/24", "beta"]
        => ["overlaps with network*alpha"];
    malformed_cidr_prefix: ["net", "create", "--subnet", "10.0.0.0/33", "beta"]
        => ["10.0.0.0/33"];
    malformed_cidr_text: ["net", "create", "--subnet", "banana", "beta"]
        => ["banana"];
    gateway_outside_subnet:
        ["net", "create", "--subnet", "10.81.0.0/24", "--gateway", "10.82.0.1", "beta"]
        => ["10.82.0.1"];
    ip_range_outside_subnet:
        ["net", "create", "--subnet", "10.81.0.0/24", "--ip-range", "10.83.0.0/25", "beta"]
        => ["10.83.0.0/25"];
    inspect_unknown_network: ["net", "inspect", "nope"] => ["not found", "no such network"];
    rm_unknown_network: ["net", "rm", "nope"] => ["not found"];
    connect_unknown_network: ["net", "connect", "nope", "--netns", "{c1}"] => ["not found"];
    disconnect_unknown_network: ["net", "disconnect", "nope", "--netns", "{c1}"] => ["not found"];
    empty_name: ["net", "create", ""] => ["name"];
    name_with_slash: ["net", "create", "a/b"] => ["a/b", "name"];
    name_too_long: ["net", "create", LONG_NAME] => ["name", "long"];
    duplicate_name: ["net", "create", "alpha"] => ["already exists"];
    unknown_driver_option: ["net", "create", "-o", "foo=bar", "beta"] => ["foo"];
    unknown_driver: ["net", "create", "-d", "nosuchdriver", "beta"] => ["nosuchdriver"];
    label_key_with_space: ["net", "create", "--label", "a b=c", "beta"] => ["invalid label key"];
    label_with_escape_sequence: ["net", "create", "--label", "k=a\u{1b}[2J", "beta"]
        => ["control character"];
    option_with_newline: ["net", "create", "-o", "com.docker.network.bridge.name=br\nx", "beta"]
        => ["control character"];
}

/// 200 characters, far above any sane name limit.
const LONG_NAME: &str = concat!(
    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
);

fn assert_rejected(args: &[&str], needles: &[&str]) {
    assert_eq!(LONG_NAME.len(), 200);
    let host = Host::start();
    create(&host, &["--subnet", "10.80.0.0/16", "alpha"]);
    let c1 = host.container("c1");
    host.connect_named("alpha", &c1, &[]);
    let path = c1.path_str();
    let args: Vec<&str> = args
        .iter()
        .map(|a| if *a == "{c1}" { path.as_str() } else { a })
        .collect();

    assert_refused_unchanged(&host, &args.join(" "), &args, needles);
    assert!(
        c1.link("eth1").is_none(),
        "a rejected command added an interface"
    );
}
