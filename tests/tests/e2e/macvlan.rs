//! The macvlan driver on this host's kernel, and the ipvlan driver's refusal
//! where the kernel has no ipvlan. The parent is `lan0`, a veth in the test
//! host whose peer sits in a "LAN" namespace (192.168.77.0/24, the LAN's
//! router at .100); the host itself has 192.168.77.1 on `lan0`, so every
//! network here overlaps a route the host already has. ipvlan (and 802.1Q
//! parents, when the host lacks them) are tested for real in a VM with
//! Debian's kernel (`vm_ipvlan_l2_and_l3`, `vm_vlan_parent_lifecycle`).

use cnm_tests::addr::cidr_contains;
use cnm_tests::cli::assert_stderr_mentions;
use cnm_tests::inspect::addr_of;
use cnm_tests::needs::which;
use cnm_tests::snapshot::assert_refused_unchanged;
use cnm_tests::vm::{cnm_vm, VmOutcome};
use cnm_tests::{case, kernel, Case, Container, Host, Need, KERNEL, KERNEL_PING};

use crate::create::create;

pub fn cases() -> Vec<Case> {
    vec![
        case(
            "bridge_mode_on_the_parents_lan",
            KERNEL_PING,
            bridge_mode_on_the_parents_lan,
        ),
        case(
            "private_mode_isolates_containers",
            KERNEL_PING,
            private_mode_isolates_containers,
        ),
        case(
            "vepa_mode_needs_a_hairpin_switch",
            KERNEL_PING,
            vepa_mode_needs_a_hairpin_switch,
        ),
        case(
            "passthru_mode_takes_the_parent",
            KERNEL_PING,
            passthru_mode_takes_the_parent,
        ),
        case(
            "host_shim_reaches_containers",
            KERNEL_PING,
            host_shim_reaches_containers,
        ),
        case(
            "lan_subnet_may_overlap_host_routes",
            KERNEL,
            lan_subnet_may_overlap_host_routes,
        ),
        case(
            "no_parent_is_an_internal_network",
            KERNEL_PING,
            no_parent_is_an_internal_network,
        ),
        case(
            "vlan_parent_on_this_kernel",
            KERNEL,
            vlan_parent_on_this_kernel,
        ),
        case(
            "bad_requests_leave_nothing",
            KERNEL,
            bad_requests_leave_nothing,
        ),
        case("ipvlan_on_this_kernel", KERNEL, ipvlan_on_this_kernel),
        case("vm_ipvlan_l2_and_l3", VM, vm_ipvlan_l2_and_l3),
        case("vm_vlan_parent_lifecycle", VM, vm_vlan_parent_lifecycle),
    ]
}

/// The VM tests: qemu, the host's `nft` for cnmd and `ip` for namespaces
/// (busybox's `ip` has no `netns`).
const VM: &[Need] = &[Need::Vm, Need::Tool("nft"), Need::Tool("ip")];

const LAN_ROUTER: &str = "192.168.77.100";
const HOST_ON_LAN: &str = "192.168.77.1";

/// The LAN: a namespace holding the peer of the host's `lan0`, with the
/// router address on it, or on a bridge over it when `switch` says how the
/// "switch" treats frames that come back in by the port they arrived on.
fn lan(host: &Host, switch: Option<Hairpin>) -> Container {
    let lan = host.container("lan");
    let ok = |out: cnm_tests::exec::CmdOutput| assert!(out.success(), "{out}");
    host.ns().add_veth("lan0", lan.ns(), "eth0");
    ok(host.ip(&["addr", "add", &format!("{HOST_ON_LAN}/24"), "dev", "lan0"]));
    ok(host.ip(&["link", "set", "lan0", "up"]));
    ok(lan.ip(&["link", "set", "eth0", "up"]));
    let dev = match switch {
        None => "eth0",
        Some(hairpin) => {
            ok(lan.ip(&["link", "add", "name", "sw0", "type", "bridge"]));
            ok(lan.ip(&["link", "set", "eth0", "master", "sw0"]));
            set_hairpin(&lan, hairpin);
            ok(lan.ip(&["link", "set", "sw0", "up"]));
            "sw0"
        }
    };
    ok(lan.ip(&["addr", "add", &format!("{LAN_ROUTER}/24"), "dev", dev]));
    lan
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hairpin {
    On,
    Off,
}

fn set_hairpin(lan: &Container, hairpin: Hairpin) {
    let value = if hairpin == Hairpin::On { "on" } else { "off" };
    let out = lan.ip(&[
        "link",
        "set",
        "eth0",
        "type",
        "bridge_slave",
        "hairpin",
        value,
    ]);
    assert!(out.success(), "{out}");
}

/// `net create -d macvlan -o parent=lan0 --subnet <the LAN> …` plus `opts`.
fn create_on_lan(host: &Host, name: &str, opts: &[&str]) -> String {
    let mut args = vec![
        "-d",
        "macvlan",
        "-o",
        "parent=lan0",
        "--subnet",
        "192.168.77.0/24",
        "--gateway",
        LAN_ROUTER,
        "--ip-range",
        "192.168.77.128/25",
    ];
    args.extend_from_slice(opts);
    args.push(name);
    create(host, &args)
}

/// The container's IPv4 address on `net`, without the prefix.
fn address(host: &Host, net: &str, c: &Container) -> String {
    let ep = host.inspect(net).expect_endpoint(c.label()).clone();
    addr_of(&ep.ipv4_address).to_string()
}

fn host_ping(host: &Host, addr: &str) -> cnm_tests::exec::CmdOutput {
    host.ns().exec(&["busybox", "ping", "-c1", "-W2", addr])
}

fn assert_reaches(from: &Container, to: &str) {
    let out = from.ping(to);
    assert!(out.success(), "{} cannot reach {to}: {out}", from.label());
}

fn assert_cannot_reach(from: &Container, to: &str) {
    let out = from.ping(to);
    assert!(!out.success(), "{} reached {to}: {out}", from.label());
}

/// Names of the host's links: a macvlan network adds none (without shim).
fn host_link_names(host: &Host) -> Vec<String> {
    kernel::links(host.ns())
        .into_iter()
        .map(|l| l.name)
        .collect()
}

/// Bridge mode (the default): containers are hosts on the parent's LAN,
/// reach it and each other and are reached from it; the host cannot reach
/// them through the parent; the subnet overlapping the host's own route to
/// the LAN is accepted; DNS and ports are off with the reason shown.
fn bridge_mode_on_the_parents_lan() {
    let host = Host::start();
    let lan = lan(&host, None);
    let links_before = host_link_names(&host);
    let id = create_on_lan(&host, "mv", &[]);
    let net = host.inspect("mv");
    assert_eq!(
        (net.driver.as_str(), net.scope.as_str()),
        ("macvlan", "local")
    );
    assert_eq!(net.options.get("dns").map(String::as_str), Some("false"));
    assert!(
        host.log().contains("embedded DNS off"),
        "no reason logged for DNS being off\n{}",
        host.log_tail()
    );

    let (c1, c2) = (host.container("c1"), host.container("c2"));
    host.connect_named("mv", &c1, &[]);
    host.connect_named("mv", &c2, &[]);
    let (a1, a2) = (address(&host, "mv", &c1), address(&host, "mv", &c2));
    assert!(cidr_contains("192.168.77.128/25", &a1), "{a1}");

    let eth0 = c1.link("eth0").expect("eth0 in c1");
    assert_eq!(eth0.kind, "macvlan");
    assert!(eth0.up);
    let ep = host.inspect("mv").expect_endpoint("c1").clone();
    assert_eq!(
        eth0.mac,
        ep.mac_address.to_lowercase(),
        "MAC differs from inspect"
    );
    let route = kernel::default_route(c1.ns(), "-4").expect("a default route");
    assert_eq!(route.gateway.as_deref(), Some(LAN_ROUTER));
    assert_eq!(
        host_link_names(&host),
        links_before,
        "macvlan made links in the host (network {id})"
    );

    assert_reaches(&c1, LAN_ROUTER);
    assert_reaches(&c1, &a2);
    let out = lan.ping(&a1);
    assert!(out.success(), "the LAN cannot reach c1: {out}");
    let out = host_ping(&host, &a1);
    assert!(
        !out.success(),
        "the host reached its macvlan container without a shim: {out}"
    );

    let out = host.connect("mv", &host.container("c3"), &["-p", "8080:80"]);
    assert!(!out.success(), "-p accepted on macvlan: {out}");
    assert_stderr_mentions(&out, &["publishes no ports"]);

    host.disconnect_ok("mv", &c1);
    assert!(c1.link("eth0").is_none(), "eth0 left in c1");
    host.disconnect_ok("mv", &c2);
    host.cnm_ok(&["net", "rm", "mv"]);
    assert_eq!(host_link_names(&host), links_before);
    assert!(
        host.ip(&["link", "show", "lan0"]).success(),
        "the parent went with the network"
    );
}

/// The LAN behind a switch set to `hairpin`, and c1 and c2 on macvlan
/// network `mv` in `mode`; returns the LAN, c1, c2 and c2's address.
fn pair_in_mode(
    host: &Host,
    hairpin: Hairpin,
    mode: &str,
) -> (Container, Container, Container, String) {
    let lan = lan(host, Some(hairpin));
    create_on_lan(host, "mv", &["-o", &format!("macvlan_mode={mode}")]);
    let (c1, c2) = (host.container("c1"), host.container("c2"));
    host.connect_named("mv", &c1, &[]);
    host.connect_named("mv", &c2, &[]);
    let a2 = address(host, "mv", &c2);
    (lan, c1, c2, a2)
}

/// Private: containers never talk to each other, even through a switch that
/// sends frames back (hairpin on), but reach the LAN.
fn private_mode_isolates_containers() {
    let host = Host::start();
    let (lan, c1, c2, a2) = pair_in_mode(&host, Hairpin::On, "private");
    assert_reaches(&c1, LAN_ROUTER);
    assert_reaches(&c2, LAN_ROUTER);
    assert_cannot_reach(&c1, &a2);
    assert!(lan.ping(&a2).success(), "the LAN cannot reach c2");
}

/// VEPA: every frame leaves by the parent, so containers reach each other
/// only when the switch hairpins; they reach the LAN either way.
fn vepa_mode_needs_a_hairpin_switch() {
    let host = Host::start();
    let (lan, c1, _c2, a2) = pair_in_mode(&host, Hairpin::Off, "vepa");
    assert_reaches(&c1, LAN_ROUTER);
    assert_cannot_reach(&c1, &a2);
    set_hairpin(&lan, Hairpin::On);
    assert_reaches(&c1, &a2);
}

/// Passthru: one container takes the parent (and its MAC); a second one is
/// refused with the reason, and nothing of it is left.
fn passthru_mode_takes_the_parent() {
    let host = Host::start();
    let _lan = lan(&host, None);
    let parent_mac = kernel::link(host.ns(), "lan0").expect("lan0").mac;
    create_on_lan(&host, "mv", &["-o", "macvlan_mode=passthru"]);
    let (c1, c2) = (host.container("c1"), host.container("c2"));
    host.connect_named("mv", &c1, &[]);
    assert_eq!(c1.link("eth0").expect("eth0").mac, parent_mac);
    assert_reaches(&c1, LAN_ROUTER);

    let out = host.connect("mv", &c2, &["--name", "c2"]);
    assert!(!out.success(), "a second passthru container: {out}");
    assert_stderr_mentions(&out, &["passthru*single container"]);
    assert!(c2.link("eth0").is_none(), "half-made eth0 in c2");
    assert!(host.inspect("mv").endpoint_named("c2").is_none());
}

/// `cnm.macvlan.host_shim=true`: a bridge-mode macvlan on the host and a
/// /32 per container let the host reach its containers; the route goes with
/// the container, the shim with the network, and a restart after the shim
/// vanished (a reboot) brings both back.
fn host_shim_reaches_containers() {
    let mut host = Host::start();
    let _lan = lan(&host, None);
    let id = create_on_lan(&host, "mv", &["-o", "cnm.macvlan.host_shim=true"]);
    let shim = format!("cnmh{}", &id[..11]);
    let link = kernel::link(host.ns(), &shim).expect("the host shim");
    assert!(link.kind == "macvlan" && link.up, "{link:?}");

    let (c1, c2) = (host.container("c1"), host.container("c2"));
    host.connect_named("mv", &c1, &[]);
    host.connect_named("mv", &c2, &[]);
    let (a1, a2) = (address(&host, "mv", &c1), address(&host, "mv", &c2));
    let out = host_ping(&host, &a1);
    assert!(
        out.success(),
        "the host cannot reach c1 through the shim: {out}"
    );
    let routes = host.ip(&["-4", "route", "show", "dev", &shim]).stdout;
    assert!(routes.contains(&a1) && routes.contains(&a2), "{routes}");

    host.disconnect_ok("mv", &c2);
    let routes = host.ip(&["-4", "route", "show", "dev", &shim]).stdout;
    assert!(!routes.contains(&a2), "c2's route stayed: {routes}");

    host.kill9();
    assert!(host.ip(&["link", "del", &shim]).success());
    host.restart();
    let out = host_ping(&host, &a1);
    assert!(
        out.success(),
        "no way to c1 after a restart without the shim: {out}\n{}",
        host.log_tail()
    );

    host.disconnect_ok("mv", &c1);
    host.cnm_ok(&["net", "rm", "mv"]);
    assert!(kernel::link(host.ns(), &shim).is_none(), "shim left behind");
}

/// A `--subnet` that the host already routes (the parent's own LAN) is
/// accepted; a subnet IPAM picks itself still avoids the host's routes.
fn lan_subnet_may_overlap_host_routes() {
    let host = Host::start();
    let _lan = lan(&host, None);
    let routes = host.ip(&["-4", "route", "show", "192.168.77.0/24"]).stdout;
    assert!(
        routes.contains("dev lan0"),
        "no host route to the LAN: {routes}"
    );
    create_on_lan(&host, "mv", &[]);
    assert_eq!(
        host.inspect("mv").ipv4_config().map(|c| c.subnet.clone()),
        Some("192.168.77.0/24".to_string())
    );
    host.cnm_ok(&["net", "rm", "mv"]);
    // The next default pool would be 172.18.0.0/16: route it on the host.
    let out = host.ip(&["addr", "add", "172.18.0.1/16", "dev", "lan0"]);
    assert!(out.success(), "{out}");
    create(&host, &["-d", "macvlan", "-o", "parent=lan0", "picked"]);
    let picked = host
        .inspect("picked")
        .ipv4_config()
        .map(|c| c.subnet.clone());
    assert_eq!(picked.as_deref(), Some("172.19.0.0/16"));
}

/// No parent: cnm makes an internal one (dummy, or ifb on kernels without
/// dummy links, like this one) that reaches nothing; containers reach each
/// other and have no default route; the parent goes with the network.
fn no_parent_is_an_internal_network() {
    let host = Host::start();
    let id = create(&host, &["-d", "macvlan", "--subnet", "10.99.0.0/24", "iso"]);
    let parent = format!("dm-{}", &id[..12]);
    let link = kernel::link(host.ns(), &parent).expect("the internal parent");
    assert!(
        matches!(link.kind.as_str(), "dummy" | "ifb") && link.up,
        "{link:?}"
    );
    let (c1, c2) = (host.container("c1"), host.container("c2"));
    host.connect_named("iso", &c1, &[]);
    host.connect_named("iso", &c2, &[]);
    assert_reaches(&c1, &address(&host, "iso", &c2));
    assert!(kernel::default_route(c1.ns(), "-4").is_none());
    host.disconnect_ok("iso", &c1);
    host.disconnect_ok("iso", &c2);
    host.cnm_ok(&["net", "rm", "iso"]);
    assert!(
        kernel::link(host.ns(), &parent).is_none(),
        "parent left behind"
    );
}

/// Whether this kernel knows link `kind` ("vlan", "ipvlan"), asked in the
/// test host: a link on `lo` is refused either way, but only an unknown
/// kind is refused as "Unknown device type".
fn kernel_knows(host: &Host, kind: &str) -> bool {
    let out = host.ip(&["link", "add", "link", "lo", "name", "probe0", "type", kind]);
    if out.success() {
        let _ = host.ip(&["link", "del", "probe0"]);
    }
    !out.stderr.contains("Unknown device type")
}

/// `parent=lan0.10`: where the kernel has 802.1Q, cnm makes the VLAN link
/// with the network and deletes it with the network, and leaves one the
/// user made alone; where it has not (this CI host), the request is refused
/// with the reason and changes nothing.
fn vlan_parent_on_this_kernel() {
    let host = Host::start();
    let _lan = lan(&host, None);
    let args = [
        "-d",
        "macvlan",
        "-o",
        "parent=lan0.10",
        "--subnet",
        "10.10.0.0/24",
        "v10",
    ];
    if !kernel_knows(&host, "vlan") {
        let mut full = vec!["net", "create"];
        full.extend_from_slice(&args);
        assert_refused_unchanged(
            &host,
            "net create with parent=lan0.10",
            &full,
            &["802.1Q*CONFIG_VLAN_8021Q"],
        );
        return;
    }
    create(&host, &args);
    let link = kernel::link(host.ns(), "lan0.10").expect("lan0.10 made with the network");
    assert_eq!(link.kind, "vlan");
    host.cnm_ok(&["net", "rm", "v10"]);
    assert!(
        kernel::link(host.ns(), "lan0.10").is_none(),
        "lan0.10 left behind"
    );

    let out = host.ip(&[
        "link", "add", "link", "lan0", "name", "lan0.10", "type", "vlan", "id", "10",
    ]);
    assert!(out.success(), "{out}");
    create(&host, &args);
    host.cnm_ok(&["net", "rm", "v10"]);
    assert!(
        kernel::link(host.ns(), "lan0.10").is_some(),
        "the user's lan0.10 was deleted"
    );
}

/// Bad options and impossible requests fail with what is wrong and change
/// nothing: no network, no link, no record.
fn bad_requests_leave_nothing() {
    let host = Host::start();
    let _lan = lan(&host, None);
    create_on_lan(&host, "first", &[]);
    let subnet = ["--subnet", "10.20.0.0/24"];
    let cases: &[(&[&str], &str)] = &[
        (
            &["-o", "parent=lan0", "-o", "macvlan_mode=bridged"],
            "macvlan_mode*bridged",
        ),
        (
            &["-o", "parent=nope0"],
            "parent interface `nope0`*not found",
        ),
        (&["-o", "parent=lo"], "loopback"),
        (
            &["-o", "parent=lan0", "-o", "mode=bridge"],
            "unknown option `mode`",
        ),
        (
            &[
                "-o",
                "parent=lan0",
                "-o",
                "macvlan_mode=private",
                "-o",
                "cnm.macvlan.host_shim=true",
            ],
            "host_shim*macvlan_mode=bridge",
        ),
        (
            &["-o", "parent=lan0", "-o", "dns=true"],
            "embedded dns cannot serve macvlan",
        ),
    ];
    for (opts, needle) in cases {
        let mut args = vec!["net", "create", "-d", "macvlan"];
        args.extend_from_slice(opts);
        args.extend_from_slice(&subnet);
        args.push("second");
        assert_refused_unchanged(&host, &args.join(" "), &args, &[needle]);
    }
    // A parent carries one network (the first network has lan0): said at
    // create, not at the first connect.
    assert_refused_unchanged(
        &host,
        "second network on lan0",
        &[
            "net",
            "create",
            "-d",
            "macvlan",
            "-o",
            "parent=lan0",
            "--subnet",
            "10.21.0.0/24",
            "third",
        ],
        &["`lan0` is already used by macvlan network `first`"],
    );
}

/// `-d ipvlan`: refused with the reason on a kernel without ipvlan (this
/// CI host), before anything is made; where the kernel has it, a network
/// is made on the parent (the VM test covers traffic).
fn ipvlan_on_this_kernel() {
    let host = Host::start();
    let _lan = lan(&host, None);
    let args = [
        "net",
        "create",
        "-d",
        "ipvlan",
        "-o",
        "parent=lan0",
        "--subnet",
        "10.30.0.0/24",
        "ipv",
    ];
    if kernel_knows(&host, "ipvlan") {
        host.cnm_ok(&args);
        assert_eq!(host.inspect("ipv").driver, "ipvlan");
        return;
    }
    assert_refused_unchanged(
        &host,
        "net create -d ipvlan",
        &args,
        &["driver ipvlan cannot create networks*no ipvlan links*CONFIG_IPVLAN"],
    );
    // Asked again, the answer is the same (detected once, not half-made).
    let out = host.cnm_err(&args);
    assert_stderr_mentions(&out, &["CONFIG_IPVLAN"]);
    assert!(host.ls().iter().all(|r| r.name != "ipv"));
}

/// The VM's LAN: namespace `lan` holding the peers of the VM's `lan0`
/// (192.168.50.0/24) and `lan1` (192.168.51.0/24), the VM at .1, the LAN's
/// router at .100 on each; `ok NAME CMD…` prints `NAME=ok` or `NAME=fail`.
const VM_LAN: &str = r#"
# busybox sh runs its own applets before PATH: iproute2's `ip` by path.
ip() { /bin/ip "$@"; }
ip -V | grep -q iproute2 || { echo "not iproute2's ip"; exit 1; }
ok() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "$name=ok"; else echo "$name=fail"; fi; }
ping1() { ip netns exec "$1" ping -c1 -W3 "$2"; }
ip netns add lan
ip -n lan link set lo up
for i in 0 1; do
	ip link add lan$i type veth peer name eth$i netns lan
	ip addr add 192.168.5$i.1/24 dev lan$i
	ip link set lan$i up
	ip -n lan link set eth$i up
	ip -n lan addr add 192.168.5$i.100/24 dev eth$i
done
"#;

/// ipvlan l2 on `lan0` (containers on the LAN's subnet, its router as
/// gateway) and l3 on `lan1` (a subnet of their own that the LAN routes to
/// the VM): containers reach each other and the LAN.
const IPVLAN_SCRIPT: &str = r#"
cnm net create -d ipvlan -o parent=lan0 -o ipvlan_mode=l2 --subnet 192.168.50.0/24 \
	--gateway 192.168.50.100 --ip-range 192.168.50.128/25 l2net >/dev/null || exit 1
cnm net create -d ipvlan -o parent=lan1 -o ipvlan_mode=l3 --subnet 10.50.0.0/24 l3net >/dev/null || exit 1
ip -n lan route add 10.50.0.0/24 via 192.168.51.1
for c in c1 c2 c3 c4; do ip netns add $c; done
cnm net connect l2net --netns /run/netns/c1 --name c1 --ip 192.168.50.131 || exit 1
cnm net connect l2net --netns /run/netns/c2 --name c2 --ip 192.168.50.132 || exit 1
cnm net connect l3net --netns /run/netns/c3 --name c3 --ip 10.50.0.3 || exit 1
cnm net connect l3net --netns /run/netns/c4 --name c4 --ip 10.50.0.4 || exit 1
echo "l2_kind=$(ip -d -n c1 link show eth0 | grep -o 'ipvlan  *mode [a-z0-9]*' | tr -s ' ')"
echo "l3_kind=$(ip -d -n c3 link show eth0 | grep -o 'ipvlan  *mode [a-z0-9]*' | tr -s ' ')"
echo "l2_default=$(ip -n c1 route show default)"
echo "l3_default=$(ip -n c3 route show default)"
echo "l2_mac_is_parent=$(test "$(cat /sys/class/net/lan0/address)" = "$(ip netns exec c1 cat /sys/class/net/eth0/address)" && echo yes || echo no)"
ok l2_c1_c2 ping1 c1 192.168.50.132
ok l2_c1_lan ping1 c1 192.168.50.100
ok l2_lan_c2 ping1 lan 192.168.50.132
ok l3_c3_c4 ping1 c3 10.50.0.4
ok l3_c3_lan ping1 c3 192.168.51.100
ok l3_lan_c4 ping1 lan 10.50.0.4
ok l3_c3_l2 ping1 c3 192.168.50.131
cnm net disconnect l2net --netns /run/netns/c1 || exit 1
echo "c1_links_after=$(ip -n c1 -o link | wc -l)"
echo "inspect_dns=$(cnm net inspect l2net | grep -o '"dns": *"[a-z]*"' | tr -d ' ')"
"#;

fn vm_fact<'a>(out: &'a VmOutcome, key: &str) -> &'a str {
    out.value(key)
        .unwrap_or_else(|| panic!("the VM script printed no `{key}=`\n{out}"))
}

fn ip_binary() -> std::path::PathBuf {
    which("ip").expect("`ip` is on PATH (a need of this test)")
}

/// ipvlan l2 and l3 for real, in a VM whose kernel has ipvlan.
fn vm_ipvlan_l2_and_l3() {
    let script = format!("{VM_LAN}{IPVLAN_SCRIPT}");
    let out = cnm_vm(&script)
        .binary(ip_binary())
        .modules(&["ipvlan"])
        .timeout(std::time::Duration::from_secs(180))
        .run();
    eprintln!("vm: ipvlan test took {:.1?}", out.elapsed);
    assert!(out.success(), "{out}");
    assert_eq!(vm_fact(&out, "l2_kind"), "ipvlan mode l2", "{out}");
    assert_eq!(vm_fact(&out, "l3_kind"), "ipvlan mode l3", "{out}");
    assert!(
        vm_fact(&out, "l2_default").starts_with("default via 192.168.50.100 dev eth0"),
        "{out}"
    );
    // l3: the parent routes, so the default route is on-link.
    assert!(
        vm_fact(&out, "l3_default").starts_with("default dev eth0"),
        "{out}"
    );
    assert_eq!(vm_fact(&out, "l2_mac_is_parent"), "yes", "{out}");
    for reach in [
        "l2_c1_c2",
        "l2_c1_lan",
        "l2_lan_c2",
        "l3_c3_c4",
        "l3_c3_lan",
        "l3_lan_c4",
    ] {
        assert_eq!(vm_fact(&out, reach), "ok", "{reach}\n{out}");
    }
    // Across networks only through the LAN's router, which does not
    // route between its two subnets here.
    assert_eq!(vm_fact(&out, "l3_c3_l2"), "fail", "{out}");
    // Disconnect leaves the container with loopback only.
    assert_eq!(vm_fact(&out, "c1_links_after"), "1", "{out}");
    assert_eq!(vm_fact(&out, "inspect_dns"), r#""dns":"false""#, "{out}");
}

/// `parent=lan0.10` makes the 802.1Q link with the network (traffic is
/// tagged: the LAN answers on its own `eth0.10`), deletes it with the
/// network, and leaves a VLAN link the user made alone.
const VLAN_SCRIPT: &str = r#"
ip -n lan link add link eth0 name eth0.10 type vlan id 10
ip -n lan link set eth0.10 up
ip -n lan addr add 10.10.0.100/24 dev eth0.10
cnm net create -d macvlan -o parent=lan0.10 --subnet 10.10.0.0/24 --gateway 10.10.0.100 v10 >/dev/null || exit 1
echo "made=$(ip -d link show lan0.10 | grep -o 'vlan protocol 802.1Q id [0-9]*')"
ip netns add c1
cnm net connect v10 --netns /run/netns/c1 --name c1 --ip 10.10.0.5 || exit 1
ok tagged_c1_lan ping1 c1 10.10.0.100
cnm net disconnect v10 --netns /run/netns/c1 || exit 1
cnm net rm v10 >/dev/null || exit 1
echo "after_rm=$(ip link show lan0.10 >/dev/null 2>&1 && echo present || echo gone)"
ip link add link lan0 name lan0.20 type vlan id 20
cnm net create -d macvlan -o parent=lan0.20 --subnet 10.20.0.0/24 v20 >/dev/null || exit 1
cnm net rm v20 >/dev/null || exit 1
echo "user_vlan_after_rm=$(ip link show lan0.20 >/dev/null 2>&1 && echo present || echo gone)"
"#;

fn vm_vlan_parent_lifecycle() {
    let script = format!("{VM_LAN}{VLAN_SCRIPT}");
    let out = cnm_vm(&script)
        .binary(ip_binary())
        .modules(&["8021q", "macvlan"])
        .timeout(std::time::Duration::from_secs(180))
        .run();
    eprintln!("vm: 802.1Q parent test took {:.1?}", out.elapsed);
    assert!(out.success(), "{out}");
    assert_eq!(vm_fact(&out, "made"), "vlan protocol 802.1Q id 10", "{out}");
    assert_eq!(vm_fact(&out, "tagged_c1_lan"), "ok", "{out}");
    assert_eq!(vm_fact(&out, "after_rm"), "gone", "{out}");
    assert_eq!(vm_fact(&out, "user_vlan_after_rm"), "present", "{out}");
}
