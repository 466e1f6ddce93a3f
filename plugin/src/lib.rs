//! Network driver and IPAM plugins over gRPC (`cnm.driver.v1`,
//! `cnm.ipam.v1`, in proto/).
//!
//! - cnmd's side: [`RemoteDriver`] and [`RemoteIpam`] put a plugin behind
//!   the same synchronous traits as the built-ins, found with
//!   [`PluginDirs`]; connections, deadlines and the replay of state to a
//!   restarted plugin are handled here (`link`, `runtime`).
//! - A plugin's side: implement [`Driver`](cnm_drivers::Driver) (or
//!   [`IpamDriver`](cnm_drivers::ipam::IpamDriver)) and call [`serve`] (or
//!   [`serve_ipam`]) with the socket cnmd looks at:
//!
//! ```no_run
//! # async fn run(my_driver: std::sync::Arc<dyn cnm_drivers::Driver>) {
//! cnm_plugin::serve(my_driver, "/run/cnm/plugins/mydriver.sock")
//!     .await
//!     .expect("serve");
//! # }
//! ```
//!
//! `cnm-driver serve --driver bridge --socket PATH` (src/bin) serves any
//! built-in driver that way.

mod discovery;
mod link;
mod remote;
mod runtime;
mod serve;
mod wire;

pub use discovery::{DiscoveryError, PluginDirs};
pub use link::{CALL_TIMEOUT, CONNECT_TIMEOUT};
pub use remote::{DriverReplay, IpamReplay, RemoteDriver, RemoteIpam, ReplayEndpoint};
pub use serve::{serve, serve_ipam, serve_ipam_until, serve_until, ServeError};
