//! The chains of table `inet cnm` and their rules. Every rule matches sets or
//! maps, so the rule count is the same for 1 or 10,000 networks and ports.
//!
//! br_netfilter note: with `bridge-nf-call-iptables=1` (built in on many
//! kernels) frames bridged between two ports of one bridge also pass the
//! forward hook with iif = oif = the bridge; `bridge_pairs` lets them through
//! and `no_icc_bridges` drops them for `icc=false`.

use nftables::expr::{Expression, MetaKey};
use nftables::schema::{Chain, Rule};
use nftables::stmt::{JumpTarget, NATFamily, Statement};
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};

use super::expr::{
    concat, ct, ct_original, dnat_via_maps, fib_daddr_type, flag, has, is, is_not, meta, payload,
    prefix, set_ref, string,
};
use crate::names::{self, TABLE};

const INPUT: &str = "input";
const PREROUTING: &str = "prerouting";
const OUTPUT: &str = "output";
const PUBLISH: &str = "publish";
const FORWARD: &str = "forward";
const POSTROUTING: &str = "postrouting";

// Hook priorities (nft's dstnat, filter, srcnat).
const PRIO_DSTNAT: i32 = -100;
const PRIO_FILTER: i32 = 0;
const PRIO_SRCNAT: i32 = 100;

pub(super) fn chains() -> Vec<Chain<'static>> {
    let base = |name: &'static str, kind, hook, prio| Chain {
        family: NfFamily::INet,
        table: TABLE.into(),
        name: name.into(),
        _type: Some(kind),
        hook: Some(hook),
        prio: Some(prio),
        policy: Some(NfChainPolicy::Accept),
        ..Chain::default()
    };
    vec![
        base(INPUT, NfChainType::Filter, NfHook::Input, PRIO_FILTER),
        base(
            PREROUTING,
            NfChainType::NAT,
            NfHook::Prerouting,
            PRIO_DSTNAT,
        ),
        base(OUTPUT, NfChainType::NAT, NfHook::Output, PRIO_DSTNAT),
        Chain {
            family: NfFamily::INet,
            table: TABLE.into(),
            name: PUBLISH.into(),
            ..Chain::default()
        },
        base(FORWARD, NfChainType::Filter, NfHook::Forward, PRIO_FILTER),
        base(
            POSTROUTING,
            NfChainType::NAT,
            NfHook::Postrouting,
            PRIO_SRCNAT,
        ),
    ]
}

pub(super) fn rules() -> Vec<Rule<'static>> {
    let mut rules = input_rules();
    rules.extend(publish_rules());
    rules.extend(forward_rules());
    rules.extend(postrouting_rules());
    rules
}

fn rule(chain: &'static str, expr: Vec<Statement<'static>>) -> Rule<'static> {
    Rule {
        family: NfFamily::INet,
        table: TABLE.into(),
        chain: chain.into(),
        expr: expr.into(),
        ..Rule::default()
    }
}

fn drop() -> Statement<'static> {
    Statement::Drop(None)
}

fn accept() -> Statement<'static> {
    Statement::Accept(None)
}

fn masquerade() -> Statement<'static> {
    Statement::Masquerade(None)
}

fn iifname() -> Expression<'static> {
    meta(MetaKey::Iifname)
}

fn oifname() -> Expression<'static> {
    meta(MetaKey::Oifname)
}

/// Localhost publishing needs `route_localnet=1` on the bridges, which would
/// also let anything on a non-loopback interface reach 127.0.0.0/8 services
/// (CVE-2020-8558). Loopback addresses from any other interface are dropped
/// where they could do harm: delivered here (this chain) or forwarded after
/// a DNAT from a loopback address (`loopback_forward_rules`), as kube-proxy
/// does in INPUT. Not in a prerouting chain: that would put these rules on
/// every packet of every flow, bridged ones too (br_netfilter), and cost
/// published ports and overlay networks several percent of throughput.
///
/// A reply to the host's own 127.0.0.1 → published port connection comes in
/// on a bridge with its destination already translated back to 127.0.0.1,
/// hence `ct direction original` on the destination rules.
fn input_rules() -> Vec<Rule<'static>> {
    let not_lo = || is_not(meta(MetaKey::Iif), string("lo"));
    let original = || is(ct("direction"), string("original"));
    let v4 = || prefix("127.0.0.0", 8);
    let v6 = || string("::1");
    vec![
        rule(
            INPUT,
            vec![
                is(payload("ip", "daddr"), v4()),
                not_lo(),
                original(),
                drop(),
            ],
        ),
        rule(
            INPUT,
            vec![
                is(payload("ip6", "daddr"), v6()),
                not_lo(),
                original(),
                drop(),
            ],
        ),
        rule(
            INPUT,
            vec![is(payload("ip", "saddr"), v4()), not_lo(), drop()],
        ),
        rule(
            INPUT,
            vec![is(payload("ip6", "saddr"), v6()), not_lo(), drop()],
        ),
    ]
}

/// Forwarded packets never come from the loopback interface. One with a
/// loopback source is spoofed, and is dropped before the established
/// shortcut: it could otherwise ride on a flow the host itself opened to a
/// port published on 127.0.0.1 (same tuple, any interface). One whose
/// destination before DNAT was a loopback address (a client routing
/// 127.0.0.1 to this host, a container sending to it through its bridge)
/// attacks such a port; that check can follow the shortcut, as the flow
/// never gets established.
fn loopback_source_rules() -> Vec<Rule<'static>> {
    [
        (payload("ip", "saddr"), prefix("127.0.0.0", 8)),
        (payload("ip6", "saddr"), string("::1")),
    ]
    .into_iter()
    .map(|(field, addr)| rule(FORWARD, vec![is(field, addr), drop()]))
    .collect()
}

/// See [`loopback_source_rules`].
fn loopback_destination_rules() -> Vec<Rule<'static>> {
    [
        (ct_original("ip daddr"), prefix("127.0.0.0", 8)),
        (ct_original("ip6 daddr"), string("::1")),
    ]
    .into_iter()
    .map(|(field, addr)| rule(FORWARD, vec![is(field, addr), drop()]))
    .collect()
}

/// DNAT for packets to a local address, from outside (prerouting) and from the
/// host itself (output). A mapping on one host address wins over one on any
/// address; each lookup is one hash probe whatever the number of mappings.
fn publish_rules() -> Vec<Rule<'static>> {
    let to_local = || {
        vec![
            is(fib_daddr_type(), string("local")),
            Statement::Jump(JumpTarget {
                target: PUBLISH.into(),
            }),
        ]
    };
    let proto_port = || vec![meta(MetaKey::L4proto), payload("th", "dport")];
    let with_addr = |proto| {
        let mut key = vec![payload(proto, "daddr")];
        key.extend(proto_port());
        concat(key)
    };
    let nfproto = |name| is(meta(MetaKey::Nfproto), string(name));
    vec![
        rule(PREROUTING, to_local()),
        // Linux cannot NAT IPv6 loopback into a bridge (no IPv6
        // `route_localnet`: the reply to ::1 is dropped as a martian), so a
        // DNAT of ::1 would leave the host's client hanging. Left alone, ::1
        // refuses at once and clients of `localhost` fall back to 127.0.0.1.
        rule(
            OUTPUT,
            vec![
                is(payload("ip6", "daddr"), string("::1")),
                Statement::Return(None),
            ],
        ),
        rule(OUTPUT, to_local()),
        rule(
            PUBLISH,
            vec![dnat_via_maps(
                NATFamily::IP,
                with_addr("ip"),
                names::V4_ADDR,
                names::V4_PORT,
            )],
        ),
        rule(
            PUBLISH,
            vec![
                nfproto("ipv4"),
                dnat_via_maps(
                    NATFamily::IP,
                    concat(proto_port()),
                    names::ANY_V4_ADDR,
                    names::ANY_V4_PORT,
                ),
            ],
        ),
        rule(
            PUBLISH,
            vec![dnat_via_maps(
                NATFamily::IP6,
                with_addr("ip6"),
                names::V6_ADDR,
                names::V6_PORT,
            )],
        ),
        rule(
            PUBLISH,
            vec![
                nfproto("ipv6"),
                dnat_via_maps(
                    NATFamily::IP6,
                    concat(proto_port()),
                    names::ANY_V6_ADDR,
                    names::ANY_V6_PORT,
                ),
            ],
        ),
    ]
}

/// Forwarding policy for cnm bridges; everything else is left to other tables
/// (policy accept: an accept here cannot override their drop, see `blockers`).
fn forward_rules() -> Vec<Rule<'static>> {
    let pair = || concat(vec![iifname(), oifname()]);
    let bridges = || set_ref(names::BRIDGES);
    let mut rules = loopback_source_rules();
    // Nearly every packet belongs to a flow the rules below already let
    // start: one conntrack test instead of the whole chain per packet (in
    // either direction; egress would otherwise walk every rule).
    rules.push(rule(
        FORWARD,
        vec![
            has(
                ct("state"),
                Expression::List(vec![string("established"), string("related")]),
            ),
            accept(),
        ],
    ));
    rules.extend(loopback_destination_rules());
    rules.extend([
        // icc=false: bridge-internal traffic dropped, hairpin to a published port kept.
        rule(
            FORWARD,
            vec![
                is(iifname(), set_ref(names::NO_ICC_BRIDGES)),
                is(oifname(), set_ref(names::NO_ICC_BRIDGES)),
                // Not `ct status != dnat`: nft compares that as a whole value.
                is(flag(ct("status"), "dnat"), Expression::Number(0)),
                drop(),
            ],
        ),
        rule(
            FORWARD,
            vec![is(pair(), set_ref(names::BRIDGE_PAIRS)), accept()],
        ),
        rule(
            FORWARD,
            vec![is(iifname(), set_ref(names::INTERNAL_BRIDGES)), drop()],
        ),
        rule(
            FORWARD,
            vec![is(oifname(), set_ref(names::INTERNAL_BRIDGES)), drop()],
        ),
        // Published ports, from outside or from another cnm network.
        rule(
            FORWARD,
            vec![
                is(oifname(), bridges()),
                has(ct("status"), string("dnat")),
                accept(),
            ],
        ),
        // Container addresses are not reachable unless published; networks are isolated.
        rule(FORWARD, vec![is(oifname(), bridges()), drop()]),
    ]);
    rules
}

fn hairpin(proto: &'static str, set: &'static str) -> Rule<'static> {
    rule(
        POSTROUTING,
        vec![
            has(ct("status"), string("dnat")),
            is(
                concat(vec![oifname(), payload(proto, "saddr")]),
                set_ref(set),
            ),
            masquerade(),
        ],
    )
}

fn postrouting_rules() -> Vec<Rule<'static>> {
    vec![
        // Host → 127.0.0.1:port → container: the container must answer the bridge address.
        rule(
            POSTROUTING,
            vec![
                is(oifname(), set_ref(names::BRIDGES)),
                is(payload("ip", "saddr"), prefix("127.0.0.0", 8)),
                masquerade(),
            ],
        ),
        // Hairpin: a container reaching a published port on its own bridge.
        // Keyed on the source subnet, not on iif: with br_netfilter the DNAT
        // is bridged and postrouting sees no input interface.
        hairpin("ip", names::BRIDGE_SUBNETS_V4),
        hairpin("ip6", names::BRIDGE_SUBNETS_V6),
        // Egress; clients reaching published ports keep their source address.
        rule(
            POSTROUTING,
            vec![
                is(iifname(), set_ref(names::MASQ_BRIDGES)),
                is_not(oifname(), set_ref(names::BRIDGES)),
                masquerade(),
            ],
        ),
    ]
}
