//! Events for `cnm system events`: what happened to which object.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{Core, CoreError};
use crate::model::NetworkRecord;

const FILTER_KEYS: &[&str] = &["container", "event", "network", "type"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// "network" or "container".
    pub kind: &'static str,
    /// network: "create", "connect", "disconnect", "destroy"; container:
    /// "create", "start", "die", "stop", "destroy".
    pub action: &'static str,
    pub actor_id: String,
    pub attributes: BTreeMap<String, String>,
    pub time_nano: i64,
}

impl Core {
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub(crate) fn emit(
        &self,
        kind: &'static str,
        action: &'static str,
        actor_id: &str,
        attributes: &[(&str, &str)],
    ) {
        let time_nano = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or_default();
        let event = Event {
            kind,
            action,
            actor_id: actor_id.to_owned(),
            attributes: attributes
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            time_nano,
        };
        // No subscriber is fine: events are a live stream, not a log.
        let _ = self.events.send(event);
    }

    /// Emits network event `action` for `network`, with its name and driver
    /// (as Docker's `type`); `connect` and `disconnect` also name the
    /// sandbox (as Docker's `container`).
    pub(super) fn emit_network(
        &self,
        action: &'static str,
        network: &NetworkRecord,
        container: Option<&str>,
    ) {
        let mut attributes = vec![
            ("name", network.name.as_str()),
            ("type", network.driver.as_str()),
        ];
        attributes.extend(container.map(|id| ("container", id)));
        self.emit("network", action, &network.id, &attributes);
    }
}

/// `cnm system events --filter`, with Docker's semantics: values of one key
/// are OR-ed, different keys AND-ed. `network` and `container` match events
/// of that type whose actor id starts with the value or whose name is the
/// value (Docker also takes name prefixes; `web` matching `web2` surprises).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    by_key: BTreeMap<&'static str, Vec<String>>,
}

impl EventFilter {
    /// Parses `--filter KEY=VALUE` pairs; unknown keys are refused.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, CoreError> {
        let mut filter = EventFilter::default();
        for (key, value) in pairs {
            let Some(key) = FILTER_KEYS.iter().copied().find(|k| *k == key) else {
                return Err(CoreError::InvalidArgument(format!(
                    "invalid filter '{key}'; valid filters: {}",
                    FILTER_KEYS.join(", ")
                )));
            };
            if key == "type" && value != "network" && value != "container" {
                return Err(CoreError::InvalidArgument(format!(
                    "invalid filter 'type={value}': type is network or container"
                )));
            }
            filter.by_key.entry(key).or_default().push(value.to_owned());
        }
        Ok(filter)
    }

    pub fn matches(&self, event: &Event) -> bool {
        self.by_key.iter().all(|(key, values)| {
            values.iter().any(|value| match *key {
                "type" => event.kind == value.as_str(),
                "event" => event.action == value.as_str(),
                kind => event.kind == kind && names_actor(event, value),
            })
        })
    }
}

/// `value` is the actor's id, a prefix of it, or its name.
fn names_actor(event: &Event, value: &str) -> bool {
    (!value.is_empty() && event.actor_id.starts_with(value))
        || event.attributes.get("name").is_some_and(|n| n == value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &'static str, action: &'static str, id: &str, name: &str) -> Event {
        Event {
            kind,
            action,
            actor_id: id.to_owned(),
            attributes: [("name".to_owned(), name.to_owned())].into(),
            time_nano: 0,
        }
    }

    fn filter(pairs: &[(&str, &str)]) -> EventFilter {
        EventFilter::parse(pairs.iter().copied()).expect("valid filter")
    }

    #[test]
    fn one_key_ors_and_keys_and() {
        let create = event("network", "create", "abc123", "web");
        let destroy = event("network", "destroy", "abc123", "web");
        let connect = event("network", "connect", "abc123", "web");
        let f = filter(&[("event", "create"), ("event", "destroy")]);
        assert!(f.matches(&create) && f.matches(&destroy) && !f.matches(&connect));
        let f = filter(&[("event", "create"), ("type", "container")]);
        assert!(!f.matches(&create));
        assert!(filter(&[]).matches(&connect));
    }

    #[test]
    fn network_matches_id_prefix_or_exact_name() {
        let web = event("network", "create", "abc123", "web");
        assert!(filter(&[("network", "abc")]).matches(&web));
        assert!(filter(&[("network", "web")]).matches(&web));
        assert!(!filter(&[("network", "we")]).matches(&web));
        assert!(!filter(&[("network", "")]).matches(&web));
        assert!(!filter(&[("container", "web")]).matches(&web));
        let ctr = event("container", "start", "abc999", "web");
        assert!(!filter(&[("network", "abc")]).matches(&ctr));
        assert!(filter(&[("container", "abc")]).matches(&ctr));
    }

    #[test]
    fn unknown_keys_and_types_are_refused() {
        let err = EventFilter::parse([("label", "x")]).expect_err("unknown key");
        assert_eq!(
            err.to_string(),
            "invalid filter 'label'; valid filters: container, event, network, type"
        );
        let err = EventFilter::parse([("type", "volume")]).expect_err("bad type");
        assert!(
            err.to_string().contains("type is network or container"),
            "{err}"
        );
    }
}
