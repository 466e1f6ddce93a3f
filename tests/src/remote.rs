//! The remote API under test: a host whose cnmd also listens on
//! `tcp://127.0.0.1:2376` with mutual TLS, the CLI pointed at that port,
//! and raw clients (TLS without the CLI, plain sockets, curl speaking gRPC)
//! for what the CLI would never send.

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::binaries;
use crate::exec::{run, CmdOutput};
use crate::host::Host;
use crate::netns::{unique_base_name, NetNs};
use crate::pki::{Ca, TlsFiles, Validity};

/// Where the test cnmd listens for TLS, inside its own namespace.
pub const TLS_ADDR: &str = "127.0.0.1:2376";

/// A host whose cnmd serves its unix socket and [`TLS_ADDR`], with a CA,
/// a server certificate for 127.0.0.1 and a valid client certificate.
pub struct RemoteHost {
    // Declared first: dropped (cnmd killed) before the certificates go.
    pub host: Host,
    pub ca: Ca,
    /// A valid client certificate of `ca`.
    pub client: TlsFiles,
    pub server: TlsFiles,
    dir: tempfile::TempDir,
}

impl RemoteHost {
    /// Starts cnmd with `-H tcp://127.0.0.1:2376 --tlsverify …`.
    pub fn start() -> RemoteHost {
        RemoteHost::start_with(Validity::Current)
    }

    /// [`RemoteHost::start`] with a server certificate of `validity`.
    pub fn start_with(validity: Validity) -> RemoteHost {
        // Named like the harness's other dirs, so a crashed run's is swept.
        let dir = tempfile::Builder::new()
            .prefix(&format!("{}-pki-", unique_base_name()))
            .tempdir()
            .expect("create pki dir");
        let ca = Ca::new(dir.path(), "main");
        let server = ca.server("server", &["127.0.0.1"], validity);
        let client = ca.client("client", Validity::Current);
        let mut args = vec!["-H".to_string(), format!("tcp://{TLS_ADDR}")];
        args.extend(server.flags());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let host = Host::start_with(&args);
        RemoteHost {
            host,
            ca,
            client,
            server,
            dir,
        }
    }

    /// A folder for more certificates.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `cnm -H tcp://127.0.0.1:2376 --tlsverify …files… ARGS…`, run in the
    /// host's namespace.
    pub fn cnm_with(&self, files: &TlsFiles, args: &[&str]) -> CmdOutput {
        let mut cmd = self.cnm_command(&format!("tcp://{TLS_ADDR}"));
        cmd.args(files.flags()).args(args);
        run(&mut cmd)
    }

    /// A `cnm -H HOST` command in the host's namespace, without TLS flags.
    pub fn cnm_command(&self, host: &str) -> Command {
        let cnm = binaries::cnm();
        let mut cmd = self
            .host
            .ns()
            .command(&[&cnm.to_string_lossy(), "-H", host]);
        for var in ["CNM_HOST", "CNM_TLS_VERIFY", "CNM_CERT_PATH"] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// `cnm` over TLS with the valid client certificate; panics unless it
    /// succeeds; returns stdout.
    pub fn cnm_ok(&self, args: &[&str]) -> String {
        let out = self.cnm_with(&self.client, args);
        assert!(
            out.success(),
            "remote cnm failed: {out}\n{}",
            self.host.log_tail()
        );
        out.stdout
    }

    /// Panics unless cnmd answers on both listeners.
    pub fn assert_serving(&self, after: &str) {
        let local = self.host.cnm(&["net", "ls", "-q"]);
        assert!(
            local.success(),
            "after {after}, cnmd no longer answers on its unix socket: {local}\n{}",
            self.host.log_tail()
        );
        let remote = self.cnm_with(&self.client, &["net", "ls", "-q"]);
        assert!(
            remote.success(),
            "after {after}, cnmd no longer answers over TLS: {remote}\n{}",
            self.host.log_tail()
        );
    }

    /// A TCP connection to [`TLS_ADDR`] from inside the host's namespace.
    pub fn tcp(&self) -> TcpStream {
        let stream = in_netns(self.host.ns(), || TcpStream::connect(TLS_ADDR))
            .unwrap_or_else(|e| panic!("connect to {TLS_ADDR}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .expect("read timeout");
        stream
    }
}

/// Runs `f` on a thread that has entered `ns`: sockets it opens live there
/// (and keep working after the thread ends).
pub fn in_netns<T: Send + 'static>(ns: &NetNs, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = ns.path();
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
    .join()
    .expect("netns thread")
}

/// How a raw TLS client's connection ended.
#[derive(Debug)]
pub enum Verdict {
    /// cnmd accepted and spoke HTTP/2 (its SETTINGS frame arrived).
    Accepted,
    /// The handshake or the first read failed with this TLS error.
    Refused(rustls::Error),
    /// Another failure (closed, timed out).
    Other(String),
}

/// A TLS handshake on `stream` trusting `ca`, presenting `client` (if
/// any), followed by one read for cnmd's verdict: in TLS 1.3 the client's
/// handshake ends before the server has checked its certificate.
pub fn tls_verdict(stream: TcpStream, ca: &Path, client: Option<&TlsFiles>) -> Verdict {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(cert(ca)).expect("add CA");
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots);
    let mut config = match client {
        Some(files) => builder
            .with_client_auth_cert(vec![cert(&files.cert)], key(&files.key))
            .expect("client certificate"),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let name = ServerName::try_from("127.0.0.1").expect("server name");
    let conn = ClientConnection::new(Arc::new(config), name).expect("TLS client");
    let mut tls = StreamOwned::new(conn, stream);
    // A client speaks first in HTTP/2, but the server's SETTINGS frame
    // comes anyway; 9 bytes are one frame header.
    let mut header = [0u8; 9];
    match tls.read_exact(&mut header) {
        Ok(()) if header[3] == 0x4 => Verdict::Accepted,
        Ok(()) => Verdict::Other(format!("not an HTTP/2 SETTINGS frame: {header:02x?}")),
        Err(err) => match err
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        {
            Some(tls_err) => Verdict::Refused(tls_err.clone()),
            None => Verdict::Other(err.to_string()),
        },
    }
}

fn cert(path: &Path) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn key(path: &Path) -> PrivateKeyDer<'static> {
    PrivateKeyDer::from_pem_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Writes `bytes` to `stream`, then reads until cnmd closes the connection;
/// returns what it sent back, or why the connection stayed open.
pub fn send_and_await_close(
    stream: &mut (impl Read + Write),
    bytes: &[u8],
) -> Result<Vec<u8>, String> {
    // cnmd may close before everything is written: a failed write is fine.
    let _ = stream.write_all(bytes);
    let _ = stream.flush();
    let mut reply = Vec::new();
    match stream.read_to_end(&mut reply) {
        Ok(_) => Ok(reply),
        Err(err)
            if matches!(
                err.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Err(format!(
                "still open after the read timeout ({} bytes read)",
                reply.len()
            ))
        }
        // Reset by cnmd: closed as well.
        Err(_) => Ok(reply),
    }
}

/// Deterministic noise (xorshift), so a failure can be replayed.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// A gRPC message frame: compressed flag, declared length, payload.
pub fn grpc_frame(compressed: bool, declared_len: u32, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![u8::from(compressed)];
    frame.extend_from_slice(&declared_len.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// Which listener a raw gRPC call goes to.
pub enum Listener<'a> {
    Unix(&'a Path),
    Tls(&'a RemoteHost),
}

/// What cnmd answered to a raw gRPC call.
#[derive(Debug)]
pub struct GrpcReply {
    /// `grpc-status`, when cnmd sent one.
    pub status: Option<u32>,
    pub message: String,
    pub curl: CmdOutput,
}

/// POSTs `body` to `/METHOD` with curl over HTTP/2, as a gRPC client would,
/// plus `headers`; `dir` holds the body file.
pub fn grpc_call(
    listener: &Listener<'_>,
    dir: &Path,
    method: &str,
    body: &[u8],
    headers: &[&str],
) -> GrpcReply {
    let body_file: PathBuf = dir.join("grpc-body.bin");
    std::fs::write(&body_file, body).expect("write request body");
    let mut args: Vec<String> = [
        "curl",
        "-sS",
        "--max-time",
        "15",
        "-o",
        "/dev/null",
        "-D",
        "-",
        "-H",
        "content-type: application/grpc",
        "-H",
        "te: trailers",
    ]
    .iter()
    .map(|a| (*a).to_string())
    .collect();
    for header in headers {
        args.extend(["-H".to_string(), (*header).to_string()]);
    }
    args.push("--data-binary".into());
    args.push(format!("@{}", body_file.display()));
    let mut cmd = match listener {
        Listener::Unix(socket) => {
            args.extend([
                "--http2-prior-knowledge".into(),
                "--unix-socket".into(),
                socket.display().to_string(),
                format!("http://localhost/{method}"),
            ]);
            let mut cmd = Command::new(&args[0]);
            cmd.args(&args[1..]);
            cmd
        }
        Listener::Tls(remote) => {
            let files = &remote.client;
            args.extend([
                "--http2".into(),
                "--cacert".into(),
                files.ca.display().to_string(),
                "--cert".into(),
                files.cert.display().to_string(),
                "--key".into(),
                files.key.display().to_string(),
                format!("https://{TLS_ADDR}/{method}"),
            ]);
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            remote.host.ns().command(&argv)
        }
    };
    let curl = run(&mut cmd);
    let header = |name: &str| {
        curl.stdout.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    };
    GrpcReply {
        status: header("grpc-status").and_then(|s| s.parse().ok()),
        message: percent_decode(&header("grpc-message").unwrap_or_default()),
        curl,
    }
}

/// `grpc-message` is percent-encoded: `too%20large` → `too large`.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_messages_are_percent_decoded() {
        assert_eq!(percent_decode("too%20large:%201%25"), "too large: 1%");
        assert_eq!(percent_decode("50%"), "50%");
    }

    #[test]
    fn frames_carry_flag_and_length() {
        assert_eq!(grpc_frame(true, 258, b"x"), vec![1, 0, 0, 1, 2, b'x']);
        assert_eq!(noise(7, 5), noise(7, 5));
        assert_ne!(noise(7, 5), noise(8, 5));
    }
}
