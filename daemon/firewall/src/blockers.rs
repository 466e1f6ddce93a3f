//! Finds chains of other tables that would drop traffic cnm forwards: in
//! nf_tables every base chain on a hook sees the packet and any drop wins,
//! so our accept cannot override, e.g., Docker's or ufw's FORWARD policy drop.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde_json::Value;

use crate::error::FirewallError;
use crate::names::TABLE;
use crate::nft;

/// A chain outside `inet cnm` that drops forwarded packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardBlocker {
    pub family: String,
    pub table: String,
    pub chain: String,
    pub reason: BlockReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockReason {
    /// A forward-hook base chain with `policy drop`.
    PolicyDrop,
    /// A drop/reject rule without conditions, in a forward-hook base chain or
    /// a chain it always jumps to.
    DropRule { handle: u64 },
}

impl fmt::Display for ForwardBlocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "table {} {}, chain {}: ",
            self.family, self.table, self.chain
        )?;
        match self.reason {
            BlockReason::PolicyDrop => f.write_str("forward policy drop"),
            BlockReason::DropRule { handle } => {
                write!(f, "unconditional drop (rule handle {handle})")
            }
        }
    }
}

/// Lists the host ruleset (`nft -j`) and returns what would block forwarding.
pub(crate) fn forward_blockers() -> Result<Vec<ForwardBlocker>, FirewallError> {
    Ok(find_blockers(&nft::list_ruleset_json()?))
}

type ChainKey = (String, String, String);

/// The check itself, on `nft -j list ruleset` output. Conditional drops
/// (`ct state invalid drop`, per-interface rules) are not reported: they
/// cannot be judged without the packet, and every firewall has some.
pub(crate) fn find_blockers(ruleset: &Value) -> Vec<ForwardBlocker> {
    let objects = ruleset["nftables"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let key = |o: &Value, name: &str| -> ChainKey {
        let s = |k: &str| o[k].as_str().unwrap_or_default().to_owned();
        (s("family"), s("table"), s(name))
    };
    let mut rules: HashMap<ChainKey, Vec<&Value>> = HashMap::new();
    for rule in objects.iter().filter_map(|o| o.get("rule")) {
        rules.entry(key(rule, "chain")).or_default().push(rule);
    }
    let mut found = Vec::new();
    for chain in objects.iter().filter_map(|o| o.get("chain")) {
        let (family, table, name) = key(chain, "name");
        let forwarding = matches!(family.as_str(), "ip" | "ip6" | "inet" | "bridge");
        if chain["hook"] != "forward" || !forwarding || (family == "inet" && table == TABLE) {
            continue;
        }
        if chain["policy"] == "drop" {
            found.push(blocker(
                (family.clone(), table.clone(), name.clone()),
                BlockReason::PolicyDrop,
            ));
        }
        let mut visited = HashSet::new();
        walk(&rules, (family, table, name), &mut visited, &mut found);
    }
    found
}

fn walk(
    rules: &HashMap<ChainKey, Vec<&Value>>,
    chain: ChainKey,
    visited: &mut HashSet<ChainKey>,
    found: &mut Vec<ForwardBlocker>,
) {
    if !visited.insert(chain.clone()) {
        return;
    }
    for rule in rules.get(&chain).map(Vec::as_slice).unwrap_or_default() {
        let stmts = rule["expr"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let conditional = stmts.iter().any(|s| !is_unconditional(s));
        if conditional {
            continue;
        }
        if stmts
            .iter()
            .any(|s| s.get("drop").is_some() || s.get("reject").is_some())
        {
            let handle = rule["handle"].as_u64().unwrap_or_default();
            found.push(blocker(chain.clone(), BlockReason::DropRule { handle }));
            return; // nothing after an unconditional drop runs
        }
        let target = stmts
            .iter()
            .find_map(|s| s.get("jump").or_else(|| s.get("goto")));
        if let Some(target) = target.and_then(|t| t["target"].as_str()) {
            walk(
                rules,
                (chain.0.clone(), chain.1.clone(), target.to_owned()),
                visited,
                found,
            );
        }
    }
}

/// Statements that do not make a rule conditional.
fn is_unconditional(stmt: &Value) -> bool {
    ["counter", "log", "drop", "reject", "accept", "jump", "goto"]
        .iter()
        .any(|k| stmt.get(k).is_some())
}

fn blocker((family, table, chain): ChainKey, reason: BlockReason) -> ForwardBlocker {
    ForwardBlocker {
        family,
        table,
        chain,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_policy_drop_and_unconditional_drops_but_not_conditional_ones() {
        let ruleset = json!({"nftables": [
            {"metainfo": {"version": "1.0.6"}},
            {"chain": {"family": "ip", "table": "filter", "name": "FORWARD", "hook": "forward", "policy": "drop"}},
            {"chain": {"family": "inet", "table": "firewalld", "name": "filter_FORWARD", "hook": "forward", "policy": "accept"}},
            {"chain": {"family": "inet", "table": "firewalld", "name": "tail"}},
            {"chain": {"family": "inet", "table": "cnm", "name": "forward", "hook": "forward", "policy": "drop"}},
            {"rule": {"family": "inet", "table": "firewalld", "chain": "filter_FORWARD", "handle": 5,
                "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "invalid"}}, {"drop": null}]}},
            {"rule": {"family": "inet", "table": "firewalld", "chain": "filter_FORWARD", "handle": 6,
                "expr": [{"counter": null}, {"jump": {"target": "tail"}}]}},
            {"rule": {"family": "inet", "table": "firewalld", "chain": "tail", "handle": 9,
                "expr": [{"reject": {"type": "icmpx", "expr": "admin-prohibited"}}]}},
        ]});
        let found: Vec<String> = find_blockers(&ruleset)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "table ip filter, chain FORWARD: forward policy drop",
                "table inet firewalld, chain tail: unconditional drop (rule handle 9)",
            ]
        );
    }
}
