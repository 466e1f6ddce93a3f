//! Small constructors for the nftables crate's expression and statement
//! types, so the chain definitions read like `nft` rules.

use std::collections::HashSet;

use nftables::expr::{
    BinaryOperation, CTDir, Expression, Fib, FibFlag, FibResult, Map, Meta, MetaKey,
    NamedExpression, Payload, PayloadField, Prefix, CT,
};
use nftables::stmt::{Match, NATFamily, Operator, Statement, NAT};

pub(super) fn string(s: &str) -> Expression<'static> {
    Expression::String(s.to_owned().into())
}

pub(super) fn concat(parts: Vec<Expression<'static>>) -> Expression<'static> {
    Expression::Named(NamedExpression::Concat(parts))
}

/// `@name`: a reference to a named set or map.
pub(super) fn set_ref(name: &str) -> Expression<'static> {
    Expression::String(format!("@{name}").into())
}

pub(super) fn meta(key: MetaKey) -> Expression<'static> {
    Expression::Named(NamedExpression::Meta(Meta { key }))
}

pub(super) fn payload(protocol: &'static str, field: &'static str) -> Expression<'static> {
    Expression::Named(NamedExpression::Payload(Payload::PayloadField(
        PayloadField {
            protocol: protocol.into(),
            field: field.into(),
        },
    )))
}

pub(super) fn ct(key: &'static str) -> Expression<'static> {
    Expression::Named(NamedExpression::CT(CT {
        key: key.into(),
        family: None,
        dir: None,
    }))
}

/// `ct original KEY` (`"ip daddr"`, …): a field of the connection's first
/// packet as it arrived, before any NAT. nft's JSON spells the family in
/// the key, not in `family`.
pub(super) fn ct_original(key: &'static str) -> Expression<'static> {
    Expression::Named(NamedExpression::CT(CT {
        key: key.into(),
        family: None,
        dir: Some(CTDir::Original),
    }))
}

pub(super) fn prefix(addr: &str, len: u32) -> Expression<'static> {
    Expression::Named(NamedExpression::Prefix(Prefix {
        addr: Box::new(string(addr)),
        len,
    }))
}

/// `fib daddr type`
pub(super) fn fib_daddr_type() -> Expression<'static> {
    Expression::Named(NamedExpression::Fib(Fib {
        result: FibResult::Type,
        flags: HashSet::from([FibFlag::Daddr]),
    }))
}

/// `left & flag`, to test that a flag is clear (`== 0`).
pub(super) fn flag(left: Expression<'static>, flag: &'static str) -> Expression<'static> {
    Expression::BinaryOperation(Box::new(BinaryOperation::AND(
        left,
        Expression::String(flag.into()),
    )))
}

pub(super) fn is(left: Expression<'static>, right: Expression<'static>) -> Statement<'static> {
    matches(left, Operator::EQ, right)
}

pub(super) fn is_not(left: Expression<'static>, right: Expression<'static>) -> Statement<'static> {
    matches(left, Operator::NEQ, right)
}

/// `left in right`, nft's form for flag tests (`ct status dnat`, `ct state established,related`).
pub(super) fn has(left: Expression<'static>, right: Expression<'static>) -> Statement<'static> {
    matches(left, Operator::IN, right)
}

fn matches(
    left: Expression<'static>,
    op: Operator,
    right: Expression<'static>,
) -> Statement<'static> {
    Statement::Match(Match { left, right, op })
}

/// `dnat ip[6] to KEY map @addr_map : KEY map @port_map`
pub(super) fn dnat_via_maps(
    family: NATFamily,
    key: Expression<'static>,
    addr_map: &str,
    port_map: &str,
) -> Statement<'static> {
    let lookup = |map: &str| {
        Expression::Named(NamedExpression::Map(Box::new(Map {
            key: key.clone(),
            data: set_ref(map),
        })))
    };
    Statement::DNAT(Some(NAT {
        addr: Some(lookup(addr_map)),
        family: Some(family),
        port: Some(lookup(port_map)),
        flags: None,
    }))
}
