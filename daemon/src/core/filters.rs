//! `--filter` for `net ls` and `net prune`, with Docker's semantics: values
//! of one key are OR-ed, different keys AND-ed; `label!` excludes.

use std::collections::BTreeMap;

use super::CoreError;
use crate::model::{parse_timestamp, unix_nanos_of, NetworkRecord};

const LIST_KEYS: &[&str] = &["driver", "id", "label", "name", "scope", "type"];
const PRUNE_KEYS: &[&str] = &["label", "label!", "until"];

#[derive(Debug, Clone, Default)]
pub struct NetworkFilter {
    by_key: BTreeMap<String, Vec<String>>,
    /// `until`: only networks created before this instant (Unix ns).
    until: Option<i128>,
}

impl NetworkFilter {
    /// Filters of `net ls`.
    pub fn for_list(pairs: &[(String, String)]) -> Result<Self, CoreError> {
        Self::parse(pairs, LIST_KEYS)
    }

    /// Filters of `net prune`.
    pub fn for_prune(pairs: &[(String, String)]) -> Result<Self, CoreError> {
        Self::parse(pairs, PRUNE_KEYS)
    }

    fn parse(pairs: &[(String, String)], keys: &[&str]) -> Result<Self, CoreError> {
        let mut filter = NetworkFilter::default();
        for (key, value) in pairs {
            if !keys.contains(&key.as_str()) {
                return Err(CoreError::InvalidArgument(format!(
                    "invalid filter '{key}'; valid filters: {}",
                    keys.join(", ")
                )));
            }
            if key == "type" && value != "custom" && value != "builtin" {
                return Err(CoreError::InvalidArgument(format!(
                    "invalid filter 'type={value}': type is custom or builtin"
                )));
            }
            if key == "until" {
                let cutoff = parse_timestamp(value).ok_or_else(|| {
                    CoreError::InvalidArgument(format!(
                        "invalid filter 'until={value}': give a Unix timestamp, a date (2006-01-02T15:04:05) or a duration (10m, 1h30m)"
                    ))
                })?;
                filter.until = Some(filter.until.map_or(cutoff, |c: i128| c.min(cutoff)));
                continue;
            }
            filter
                .by_key
                .entry(key.clone())
                .or_default()
                .push(value.clone());
        }
        Ok(filter)
    }

    pub fn matches(&self, net: &NetworkRecord) -> bool {
        let before_cutoff = self
            .until
            .is_none_or(|cutoff| unix_nanos_of(&net.created).is_some_and(|t| t < cutoff));
        before_cutoff
            && self.by_key.iter().all(|(key, values)| match key.as_str() {
                "label!" => !values.iter().any(|v| matches_one(net, "label", v)),
                _ => values.iter().any(|v| matches_one(net, key, v)),
            })
    }
}

fn matches_one(net: &NetworkRecord, key: &str, value: &str) -> bool {
    match key {
        "driver" => net.driver == value,
        "id" => net.id.starts_with(value),
        // Docker matches names by substring.
        "name" => net.name.as_str().contains(value),
        "scope" => net.scope == value,
        "type" => (value == "builtin") == net.builtin,
        "label" => match value.split_once('=') {
            Some((k, v)) => net.labels.get(k).is_some_and(|have| have == v),
            None => net.labels.contains_key(value),
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NetworkName;

    fn net(name: &str, driver: &str, builtin: bool, labels: &[(&str, &str)]) -> NetworkRecord {
        NetworkRecord {
            id: format!("{name:0>64}"),
            name: NetworkName::parse(name).expect("name"),
            created: String::new(),
            driver: driver.into(),
            scope: "local".into(),
            enable_ipv6: false,
            internal: false,
            ipam_driver: "default".into(),
            ipam_options: BTreeMap::new(),
            subnets: vec![],
            options: BTreeMap::new(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            builtin,
            dns_servers: vec![],
        }
    }

    fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    fn filter(p: &[(&str, &str)]) -> NetworkFilter {
        NetworkFilter::for_list(&pairs(p)).expect("filter")
    }

    #[test]
    fn same_key_ors_different_keys_and() {
        let web = net("web", "bridge", false, &[("env", "prod")]);
        let host = net("host", "host", true, &[]);
        let f = filter(&[("driver", "bridge"), ("driver", "host")]);
        assert!(f.matches(&web) && f.matches(&host));
        let f = filter(&[("driver", "bridge"), ("type", "builtin")]);
        assert!(!f.matches(&web) && !f.matches(&host));
        assert!(filter(&[("label", "env")]).matches(&web));
        assert!(filter(&[("label", "env=prod")]).matches(&web));
        assert!(!filter(&[("label", "env=dev")]).matches(&web));
        assert!(filter(&[("name", "we")]).matches(&web));
        assert!(filter(&[("type", "custom")]).matches(&web));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = NetworkFilter::for_list(&pairs(&[("colour", "red")])).unwrap_err();
        assert!(err.to_string().contains("invalid filter 'colour'"));
        assert!(NetworkFilter::for_list(&pairs(&[("type", "odd")])).is_err());
        assert!(NetworkFilter::for_list(&pairs(&[("until", "1h")])).is_err());
        assert!(NetworkFilter::for_prune(&pairs(&[("driver", "bridge")])).is_err());
        assert!(NetworkFilter::for_prune(&pairs(&[("until", "soon")])).is_err());
    }

    #[test]
    fn prune_filters_exclude_labels_and_respect_until() {
        let mut old = net("old", "bridge", false, &[("keep", "yes")]);
        old.created = "2020-01-01T00:00:00.000000000Z".into();
        let mut new = net("new", "bridge", false, &[]);
        new.created = crate::model::now_rfc3339();
        let f = NetworkFilter::for_prune(&pairs(&[("label!", "keep")])).expect("filter");
        assert!(!f.matches(&old) && f.matches(&new));
        let f = NetworkFilter::for_prune(&pairs(&[("until", "1h")])).expect("filter");
        assert!(f.matches(&old) && !f.matches(&new));
        let f = NetworkFilter::for_prune(&pairs(&[("until", "2021-01-01")])).expect("filter");
        assert!(f.matches(&old) && !f.matches(&new));
    }
}
