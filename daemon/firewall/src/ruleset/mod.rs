//! The typed nftables ruleset of table `inet cnm` (nftables crate, applied
//! with `nft -j`): built whole for `init`/`restore`, never for a single
//! publish or network change (those are netlink element batches).

mod chains;
mod expr;

use std::borrow::Cow;

use nftables::batch::Batch;
use nftables::expr::{Expression, NamedExpression};
use nftables::schema::{
    Element, Map, NfListObject, Nftables, Set, SetFlag, SetType, SetTypeValue, Table,
};
use nftables::types::NfFamily;

use crate::model::{NetworkRules, ValidMapping};
use crate::names::{self, TABLE};

/// One transaction that replaces table `inet cnm` with exactly this state
/// (the `add` first makes the `delete` succeed when the table is absent).
pub(crate) fn rebuild(networks: &[NetworkRules], mappings: &[ValidMapping]) -> Nftables<'static> {
    let mut batch = Batch::new();
    batch.add(NfListObject::Table(table()));
    batch.delete(NfListObject::Table(table()));
    batch.add(NfListObject::Table(table()));
    for obj in sets() {
        batch.add(obj);
    }
    for chain in chains::chains() {
        batch.add(NfListObject::Chain(chain));
    }
    for rule in chains::rules() {
        batch.add(NfListObject::Rule(rule));
    }
    for element in network_elements(networks)
        .into_iter()
        .chain(mapping_elements(mappings))
    {
        batch.add(NfListObject::Element(element));
    }
    batch.to_nftables()
}

fn table() -> Table<'static> {
    Table {
        family: NfFamily::INet,
        name: TABLE.into(),
        handle: None,
    }
}

/// A set of table `inet cnm` with these flags (`interval` for subnets).
fn set(name: &'static str, types: &'static [SetType], flags: &[SetFlag]) -> NfListObject<'static> {
    NfListObject::Set(Box::new(Set {
        family: NfFamily::INet,
        table: TABLE.into(),
        name: name.into(),
        set_type: type_value(types),
        flags: (!flags.is_empty()).then(|| flags.iter().copied().collect()),
        ..Set::default()
    }))
}

fn map(name: &'static str, key: &'static [SetType], data: SetType) -> NfListObject<'static> {
    NfListObject::Map(Box::new(Map {
        family: NfFamily::INet,
        table: TABLE.into(),
        name: name.into(),
        set_type: type_value(key),
        map: SetTypeValue::Single(data),
        ..Map::default()
    }))
}

fn type_value(types: &'static [SetType]) -> SetTypeValue<'static> {
    match types {
        [single] => SetTypeValue::Single(*single),
        _ => SetTypeValue::Concatenated(Cow::Borrowed(types)),
    }
}

/// Interface sets for networks, and the port maps. A mapping is split over an
/// address map and a port map with the same key because nft 1.0.6 cannot
/// declare a map with concatenated data in JSON (it silently makes a set).
fn sets() -> Vec<NfListObject<'static>> {
    use SetType::{InetProto as Proto, InetService as Service, Ipv4Addr as V4, Ipv6Addr as V6};
    const IFNAME: &[SetType] = &[SetType::Ifname];
    const KEY_V4: &[SetType] = &[V4, Proto, Service];
    const KEY_V6: &[SetType] = &[V6, Proto, Service];
    const KEY_ANY: &[SetType] = &[Proto, Service];
    const INTERVAL: &[SetFlag] = &[SetFlag::Interval];
    vec![
        set(names::BRIDGES, IFNAME, &[]),
        set(
            names::BRIDGE_PAIRS,
            &[SetType::Ifname, SetType::Ifname],
            &[],
        ),
        set(names::BRIDGE_SUBNETS_V4, &[SetType::Ifname, V4], INTERVAL),
        set(names::BRIDGE_SUBNETS_V6, &[SetType::Ifname, V6], INTERVAL),
        set(names::INTERNAL_BRIDGES, IFNAME, &[]),
        set(names::MASQ_BRIDGES, IFNAME, &[]),
        set(names::NO_ICC_BRIDGES, IFNAME, &[]),
        map(names::V4_ADDR, KEY_V4, V4),
        map(names::V4_PORT, KEY_V4, Service),
        map(names::ANY_V4_ADDR, KEY_ANY, V4),
        map(names::ANY_V4_PORT, KEY_ANY, Service),
        map(names::V6_ADDR, KEY_V6, V6),
        map(names::V6_PORT, KEY_V6, Service),
        map(names::ANY_V6_ADDR, KEY_ANY, V6),
        map(names::ANY_V6_PORT, KEY_ANY, Service),
    ]
}

fn element(set: &'static str, elem: Vec<Expression<'static>>) -> Element<'static> {
    Element {
        family: NfFamily::INet,
        table: TABLE.into(),
        name: set.into(),
        elem: elem.into(),
    }
}

fn network_elements(networks: &[NetworkRules]) -> Vec<Element<'static>> {
    let mut per_set: Vec<(&'static str, Vec<Expression<'static>>)> = Vec::new();
    let mut push = |set: &'static str, e: Expression<'static>| match per_set
        .iter_mut()
        .find(|(name, _)| *name == set)
    {
        Some((_, elems)) => elems.push(e),
        None => per_set.push((set, vec![e])),
    };
    for net in networks {
        for set in net.ifname_sets() {
            push(set, expr::string(&net.bridge));
        }
        let pair = vec![expr::string(&net.bridge), expr::string(&net.bridge)];
        push(names::BRIDGE_PAIRS, expr::concat(pair));
        for subnet in &net.subnets {
            let set = match subnet.is_ipv6() {
                false => names::BRIDGE_SUBNETS_V4,
                true => names::BRIDGE_SUBNETS_V6,
            };
            let prefix = expr::prefix(&subnet.network().to_string(), subnet.prefix().into());
            push(set, expr::concat(vec![expr::string(&net.bridge), prefix]));
        }
    }
    per_set
        .into_iter()
        .map(|(set, elems)| element(set, elems))
        .collect()
}

fn mapping_elements(mappings: &[ValidMapping]) -> Vec<Element<'static>> {
    let mut per_map: Vec<(&'static str, Vec<Expression<'static>>)> = Vec::new();
    for m in mappings {
        let (addr_map, port_map) = m.maps();
        let addr = expr::string(&m.container_ip.to_string());
        let port = Expression::Number(m.container_port.into());
        for (map, value) in [(addr_map, addr), (port_map, port)] {
            let pair = Expression::List(vec![mapping_key(m), value]);
            match per_map.iter_mut().find(|(name, _)| *name == map) {
                Some((_, elems)) => elems.push(pair),
                None => per_map.push((map, vec![pair])),
            }
        }
    }
    per_map
        .into_iter()
        .map(|(map, elems)| element(map, elems))
        .collect()
}

fn mapping_key(m: &ValidMapping) -> Expression<'static> {
    let mut parts = Vec::with_capacity(3);
    if let Some(ip) = m.key.host_ip {
        parts.push(expr::string(&ip.to_string()));
    }
    parts.push(Expression::String(m.key.protocol.name().into()));
    parts.push(Expression::Number(m.key.port.into()));
    Expression::Named(NamedExpression::Concat(parts))
}

#[cfg(test)]
mod tests;
