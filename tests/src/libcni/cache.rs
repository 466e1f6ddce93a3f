//! libcni's result cache (`cniCacheV1` files under `<dir>/results/`): ADD
//! writes it, DEL and CHECK read the previous result from it, DEL removes
//! it, GC walks it to find attachments the runtime no longer lists.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::RuntimeConf;

/// One cached attachment.
#[derive(Debug, Clone)]
pub struct CachedAttachment {
    pub network: String,
    pub rt: RuntimeConf,
    pub result: Value,
}

/// The cache directory of one "runtime".
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn new(dir: &Path) -> Cache {
        Cache {
            dir: dir.to_path_buf(),
        }
    }

    /// `<dir>/results/<network>-<container>-<ifname>`.
    pub fn path(&self, network: &str, rt: &RuntimeConf) -> PathBuf {
        self.dir
            .join("results")
            .join(format!("{network}-{}-{}", rt.container_id, rt.ifname))
    }

    pub fn put(&self, network: &str, list_bytes: &[u8], rt: &RuntimeConf, result: &Value) {
        let args: Vec<Value> = rt.args.iter().map(|(k, v)| json!([k, v])).collect();
        let entry = json!({
            "kind": "cniCacheV1",
            "containerId": rt.container_id,
            "config": String::from_utf8_lossy(list_bytes),
            "ifName": rt.ifname,
            "networkName": network,
            "netns": rt.netns,
            "cniArgs": args,
            "capabilityArgs": rt.capability_args,
            "result": result,
        });
        let path = self.path(network, rt);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create cache dir");
        }
        std::fs::write(&path, entry.to_string()).expect("write cached result");
    }

    /// The cached result, if any (read errors count as none, as in libcni).
    pub fn result(&self, network: &str, rt: &RuntimeConf) -> Option<Value> {
        let text = std::fs::read_to_string(self.path(network, rt)).ok()?;
        let entry: Value = serde_json::from_str(&text).ok()?;
        entry.get("result").cloned()
    }

    pub fn remove(&self, network: &str, rt: &RuntimeConf) {
        let _ = std::fs::remove_file(self.path(network, rt));
    }

    /// Every cached attachment (`GetCachedAttachments`).
    pub fn attachments(&self) -> Vec<CachedAttachment> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("results")) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter_map(|t| serde_json::from_str::<Value>(&t).ok())
            .filter(|v| v["kind"] == "cniCacheV1")
            .map(|v| {
                let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
                let args = v["cniArgs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| Some((p[0].as_str()?.to_owned(), p[1].as_str()?.to_owned())))
                    .collect();
                CachedAttachment {
                    network: text("networkName"),
                    rt: RuntimeConf {
                        container_id: text("containerId"),
                        netns: text("netns"),
                        ifname: text("ifName"),
                        args,
                        capability_args: v["capabilityArgs"]
                            .as_object()
                            .cloned()
                            .unwrap_or_else(Map::new),
                    },
                    result: v["result"].clone(),
                }
            })
            .collect()
    }
}
