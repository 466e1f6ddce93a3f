//! How the tests read an answer section: A/AAAA addresses and PTR targets as
//! text, in answer order. Shared by the e2e client and, by path, the unit
//! tests of `src/answer.rs`, so both state expectations the same way.

use hickory_proto::op::Message;
use hickory_proto::rr::RData;

/// The answers of `msg` as text (`Debug` for other record types).
pub fn answer_data(msg: &Message) -> Vec<String> {
    msg.answers
        .iter()
        .map(|r| match &r.data {
            RData::A(a) => a.0.to_string(),
            RData::AAAA(a) => a.0.to_string(),
            RData::PTR(p) => p.0.to_string(),
            other => format!("{other:?}"),
        })
        .collect()
}
