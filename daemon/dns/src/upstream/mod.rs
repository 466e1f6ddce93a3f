//! Everything about upstream resolvers: where they come from (the host's
//! resolv.conf) and how queries reach them (in parallel, first good answer).

mod forward;
mod resolv_conf;

pub use forward::Forwarder;
pub use resolv_conf::{parse_resolv_conf, read_resolv_conf, ResolvConfError};
