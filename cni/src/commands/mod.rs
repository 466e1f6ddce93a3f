//! The CNI verbs, one file each, and the dispatch from CNI_COMMAND.

mod add;
mod check;
mod del;
mod gc;
mod status;

pub use add::{connect_sandbox, sandbox_name};
pub use del::disconnect;

use serde_json::{json, Value};

use crate::spec::{CniEnv, CniError, Command, NetConf, SpecVersion, CURRENT, SUPPORTED};

/// The owner recorded on attachments cnm-cni makes; GC only removes these.
pub const OWNER: &str = "cni";

/// VERSION's answer.
pub fn version_info() -> Value {
    json!({"cniVersion": CURRENT, "supportedVersions": SUPPORTED})
}

/// Runs one verb; `Some(json)` is printed on stdout (ADD's result).
pub async fn run(env: &CniEnv, conf: &NetConf) -> Result<Option<Value>, CniError> {
    match env.command {
        Command::Add => add::add(env, conf).await.map(Some),
        Command::Del => del::del(env, conf).await.map(|()| None),
        Command::Check => {
            conf.version.require(SpecVersion::V0_4_0, "CHECK")?;
            check::check(env, conf).await.map(|()| None)
        }
        Command::Gc => {
            conf.version.require(SpecVersion::V1_1_0, "GC")?;
            gc::gc(conf).await.map(|()| None)
        }
        Command::Status => {
            conf.version.require(SpecVersion::V1_1_0, "STATUS")?;
            status::status(conf).await.map(|()| None)
        }
        Command::Version => Ok(Some(version_info())),
    }
}
