//! `cnm system events`: cnmd's live event stream, one line per event in the
//! shape `docker events` prints:
//! `2026-11-29T08:00:00.000000000Z network create ID (name=web, type=bridge)`.

use std::collections::BTreeMap;

use anyhow::Result;
use clap::Args;
use pb::v1::{Event, EventsRequest};

use crate::{error, filter, output};

/// Flags of `system events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Filter output based on conditions provided (type=, event=, network=,
    /// container=)
    #[arg(short, long, value_name = "KEY=VALUE")]
    filter: Vec<String>,
}

/// Prints events as they happen until cnmd goes away or the user stops it.
pub async fn run(args: EventsArgs, host: &str) -> Result<()> {
    let filters = filter::parse(&args.filter, filter::EVENT_KEYS)?;
    let mut stream = super::system_client(host)
        .await?
        .events(EventsRequest { filters })
        .await
        .map_err(error::from_status)?
        .into_inner();
    while let Some(event) = stream.message().await.map_err(error::from_status)? {
        output::print(&render(&event))?;
    }
    Ok(())
}

/// One line: time, type, action, actor id, then the attributes sorted by
/// key in parentheses (left out when there are none), as Docker does.
fn render(event: &Event) -> String {
    let mut line = format!(
        "{} {} {} {}",
        event.time, event.r#type, event.action, event.actor_id
    );
    let attributes: BTreeMap<&str, &str> = event
        .attributes
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if !attributes.is_empty() {
        let pairs: Vec<String> = attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
        line.push_str(&format!(" ({})", pairs.join(", ")));
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_look_like_docker_events() {
        let event = Event {
            r#type: "network".into(),
            action: "connect".into(),
            actor_id: "0123abcd".into(),
            attributes: [("type", "bridge"), ("name", "web"), ("container", "c1")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
            time_nano: 1_795_939_200_000_000_001,
            time: "2026-11-29T08:00:00.000000001Z".into(),
        };
        assert_eq!(
            render(&event),
            "2026-11-29T08:00:00.000000001Z network connect 0123abcd \
             (container=c1, name=web, type=bridge)\n"
        );
        let bare = Event {
            attributes: Default::default(),
            ..event
        };
        assert_eq!(
            render(&bare),
            "2026-11-29T08:00:00.000000001Z network connect 0123abcd\n"
        );
    }
}
