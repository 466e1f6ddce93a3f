//! Events for `cnm system events`: what happened to which object.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use super::Core;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// "network" (containers come with the runtime).
    pub kind: &'static str,
    /// "create", "connect", "disconnect", "destroy".
    pub action: &'static str,
    pub actor_id: String,
    pub attributes: BTreeMap<String, String>,
    pub time_nano: i64,
}

impl Core {
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub(super) fn emit(
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
}
