//! cnm-cni driven the way container runtimes drive it: a libcni-faithful
//! runtime (`cnm_tests::libcni`) running the real plugin binary, chained
//! with Debian's `tuning` and `bandwidth`, against a real cnmd; and the
//! OCI hook run by a real `runc`. Each area is its own file under `cni/`.

mod capabilities;
mod chain;
mod errors;
mod hook;
mod lifecycle;
mod parallel;

use std::path::Path;

use cnm_tests::inspect::{parse_networks, NetworkJson};
use cnm_tests::libcni::{Libcni, NetworkList, RuntimeConf};
use cnm_tests::{case, kernel_and, Case, Container, Host, Need};
use serde_json::{json, Value};

/// Namespaces, cnmd and Debian's CNI plugins.
const CNI: &[Need] = kernel_and![
    Need::File("/usr/lib/cni/tuning"),
    Need::File("/usr/lib/cni/bandwidth"),
];

/// [`CNI`] plus `tc` to look at bandwidth's qdiscs.
const CNI_TC: &[Need] = kernel_and![Need::Tool("tc"), Need::File("/usr/lib/cni/bandwidth")];

/// [`CNI`] plus nft (published ports) and dig (aliases in the DNS).
const CNI_PORTS_DNS: &[Need] = kernel_and![Need::Tool("nft"), Need::Tool("dig")];

/// runc and a busybox rootfs for the hook.
const HOOK: &[Need] = kernel_and![Need::Tool("runc"), Need::Tool("busybox")];

pub fn cases() -> Vec<Case> {
    vec![
        case(
            "version_probe_and_validate",
            CNI,
            chain::version_probe_and_validate,
        ),
        case(
            "chain_with_tuning_add_check_del",
            CNI,
            chain::chain_with_tuning_add_check_del,
        ),
        case(
            "bandwidth_shapes_the_host_veth",
            CNI_TC,
            chain::bandwidth_shapes_the_host_veth,
        ),
        case(
            "results_in_every_version",
            CNI,
            chain::results_in_every_version,
        ),
        case("del_after_failed_add", CNI, lifecycle::del_after_failed_add),
        case("del_is_idempotent", CNI, lifecycle::del_is_idempotent),
        case(
            "gc_removes_unlisted_attachments",
            CNI,
            lifecycle::gc_removes_unlisted_attachments,
        ),
        case("status_follows_cnmd", CNI, lifecycle::status_follows_cnmd),
        case(
            "error_json_for_bad_config_and_env",
            CNI,
            errors::error_json_for_bad_config_and_env,
        ),
        case(
            "network_created_from_config",
            CNI,
            capabilities::network_created_from_config,
        ),
        case(
            "capabilities_and_podman_args",
            CNI_PORTS_DNS,
            capabilities::capabilities_and_podman_args,
        ),
        case("parallel_add_del_32", CNI, parallel::parallel_add_del_32),
        case(
            "runc_hook_wires_and_unwires",
            HOOK,
            hook::runc_hook_wires_and_unwires,
        ),
    ]
}

/// A test host with a CNI runtime: its result cache lives in the host's
/// temp dir, and plugins run in the host's namespace.
pub struct CniHost {
    pub host: Host,
    pub cni: Libcni,
}

impl CniHost {
    pub fn start() -> CniHost {
        let host = Host::start();
        let cni = Libcni::new(&host.dir().join("cni-cache"), &host.ns().path());
        CniHost { host, cni }
    }

    /// A cnm-cni plugin entry pointing at this host's cnmd, plus `extra`.
    pub fn plugin(&self, extra: Value) -> Value {
        let mut plugin = json!({"type": "cnm-cni", "socket": self.host.socket()});
        if let (Some(p), Value::Object(extra)) = (plugin.as_object_mut(), extra) {
            p.extend(extra);
        }
        plugin
    }

    /// A conflist `name` at `version` with these plugins, loaded.
    pub fn list(&self, name: &str, version: &str, plugins: Vec<Value>) -> NetworkList {
        let text = json!({"cniVersion": version, "name": name, "plugins": plugins}).to_string();
        NetworkList::from_json(&text).unwrap_or_else(|e| panic!("load conflist: {e}"))
    }

    /// The attachment of container `c` as `eth0`, its label as container id.
    pub fn rt(&self, c: &Container) -> RuntimeConf {
        RuntimeConf::new(c.label(), &c.path(), "eth0")
    }

    /// ADD, panicking with the plugin's error and cnmd's log.
    pub fn add_ok(&self, list: &NetworkList, rt: &RuntimeConf) -> Value {
        self.cni
            .add(list, rt)
            .unwrap_or_else(|e| panic!("ADD {}: {e}\n{}", rt.container_id, self.host.log_tail()))
    }

    pub fn del_ok(&self, list: &NetworkList, rt: &RuntimeConf) {
        self.cni
            .del(list, rt)
            .unwrap_or_else(|e| panic!("DEL {}: {e}\n{}", rt.container_id, self.host.log_tail()));
    }

    /// `cnm net inspect NET`, or None when cnmd has no such network.
    pub fn network(&self, net: &str) -> Option<NetworkJson> {
        let out = self.host.cnm(&["net", "inspect", net]);
        out.success()
            .then(|| parse_networks(&out.stdout).into_iter().next())
            .flatten()
    }

    /// Names of the sandboxes attached to `net` (none if it does not exist).
    pub fn attached(&self, net: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .network(net)
            .map(|n| n.containers.into_values().map(|e| e.name).collect())
            .unwrap_or_default();
        names.sort();
        names
    }
}

/// The sandbox interface's address in an ADD result ("10.0.0.2/24").
pub fn result_ipv4(result: &Value) -> String {
    result["ips"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|ip| ip["address"].as_str())
        .find(|a| !a.contains(':'))
        .unwrap_or_else(|| panic!("no IPv4 address in result {result}"))
        .to_owned()
}

/// The host-side interface of a result (the entry without a sandbox).
pub fn result_host_interface(result: &Value) -> String {
    result["interfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i.get("sandbox").is_none())
        .and_then(|i| i["name"].as_str())
        .unwrap_or_else(|| panic!("no host interface in result {result}"))
        .to_owned()
}

/// The contents of a file inside `c`'s namespace view of /proc/sys.
pub fn sysctl_in(c: &Container, key: &str) -> String {
    let path = Path::new("/proc/sys").join(key.replace('.', "/"));
    let out = c.exec(&["cat", &path.display().to_string()]);
    assert!(out.success(), "read {key}: {out}");
    out.stdout.trim().to_owned()
}
