//! How much one client may ask of cnmd: request size, call time, streams per
//! connection and connections in total. The numbers are far above what the
//! CLI, the CNI plugin and the Docker plugin use, and low enough that a
//! broken or hostile client cannot take the daemon's memory or tasks.

use std::time::Duration;

/// Largest decoded request message. The biggest legitimate ones (a
/// container's argv and env, 32 KiB stdin chunks) are a few KiB.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

/// Largest HTTP/2 header block (gRPC metadata) a client may send.
pub const MAX_HEADER_LIST_BYTES: u32 = 16 << 10;

/// Longest a call may take to answer (for streams: to start answering).
/// Streams themselves (events, logs, attach, exec) may last any time.
pub const CALL_DEADLINE: Duration = Duration::from_secs(300);

/// Longest `cnm stop -t`: the stop call must finish within [`CALL_DEADLINE`].
pub const MAX_STOP_TIMEOUT_SECS: i32 = 240;

/// Calls in flight on one HTTP/2 connection.
pub const MAX_STREAMS_PER_CONNECTION: u32 = 64;

/// Open connections on all unix sockets together.
pub const MAX_UNIX_CONNECTIONS: usize = 512;

/// Open connections (TLS handshakes included) on all TCP listeners
/// together; a separate budget, so remote clients cannot lock out the
/// local socket.
pub const MAX_TCP_CONNECTIONS: usize = 128;

/// Time a TCP client has to finish the TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Time a new connection has to send the HTTP/2 preface; a client that
/// connects and says nothing (or half of it) would otherwise hold a
/// connection slot for ever.
pub const PREFACE_TIMEOUT: Duration = Duration::from_secs(10);

/// HTTP/2 pings find peers that vanished without closing the connection.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// A gRPC server builder with every connection and call limit set; each
/// service still needs [`MAX_REQUEST_BYTES`] (tonic sets it per service).
pub fn server() -> tonic::transport::Server {
    tonic::transport::Server::builder()
        .timeout(CALL_DEADLINE)
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
}
