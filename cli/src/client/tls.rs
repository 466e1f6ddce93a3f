//! Mutual TLS to `tcp://` hosts: the `--tlsverify` flags (or `CNM_TLS_VERIFY`
//! and `CNM_CERT_PATH`, as Docker's `DOCKER_*`), the handshake, and one-line
//! explanations of why a handshake failed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use clap::builder::FalseyValueParser;
use clap::{ArgAction, Args};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{AlertDescription, CertificateError, ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Docker's `DOCKER_CERT_PATH`: a folder with ca.pem, cert.pem and key.pem.
pub const CERT_PATH_ENV: &str = "CNM_CERT_PATH";

/// How long cnmd may take to answer the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait for cnmd's verdict on the client certificate (TLS 1.3).
const VERDICT_TIMEOUT: Duration = Duration::from_secs(3);

/// The TLS flags of every `cnm` command.
#[derive(Debug, Clone, Default, Args)]
pub struct TlsFlags {
    /// Use mutual TLS: verify cnmd's certificate and present ours (needed
    /// for tcp:// hosts)
    #[arg(
        long,
        env = "CNM_TLS_VERIFY",
        action = ArgAction::SetTrue,
        value_parser = FalseyValueParser::new(),
        global = true
    )]
    pub tlsverify: bool,

    /// CA certificate that signed cnmd's certificate [default:
    /// $CNM_CERT_PATH/ca.pem, else ~/.cnm/ca.pem]
    #[arg(long, value_name = "PATH", global = true)]
    pub tlscacert: Option<PathBuf>,

    /// Client certificate [default: $CNM_CERT_PATH/cert.pem, else
    /// ~/.cnm/cert.pem]
    #[arg(long, value_name = "PATH", global = true)]
    pub tlscert: Option<PathBuf>,

    /// Client private key [default: $CNM_CERT_PATH/key.pem, else
    /// ~/.cnm/key.pem]
    #[arg(long, value_name = "PATH", global = true)]
    pub tlskey: Option<PathBuf>,
}

/// One of the three files and where its path came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFile {
    pub path: PathBuf,
    /// `--tlscacert`, `CNM_CERT_PATH` or `~/.cnm`.
    pub from: String,
}

/// The flags with their defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    pub verify: bool,
    pub ca: TlsFile,
    pub cert: TlsFile,
    pub key: TlsFile,
}

impl TlsFlags {
    /// Fills in the defaults from `cert_path` (`CNM_CERT_PATH`) or `home`.
    pub fn resolve(&self, cert_path: Option<&Path>, home: Option<&Path>) -> TlsOptions {
        let (dir, dir_from) = match (cert_path, home) {
            (Some(dir), _) => (dir.to_path_buf(), CERT_PATH_ENV.to_string()),
            (None, Some(home)) => (home.join(".cnm"), "~/.cnm".to_string()),
            (None, None) => (PathBuf::from(".cnm"), "~/.cnm".to_string()),
        };
        let file = |flag: &Option<PathBuf>, name: &str, flag_name: &str| match flag {
            Some(path) => TlsFile {
                path: path.clone(),
                from: flag_name.to_string(),
            },
            None => TlsFile {
                path: dir.join(name),
                from: dir_from.clone(),
            },
        };
        TlsOptions {
            verify: self.tlsverify,
            ca: file(&self.tlscacert, "ca.pem", "--tlscacert"),
            cert: file(&self.tlscert, "cert.pem", "--tlscert"),
            key: file(&self.tlskey, "key.pem", "--tlskey"),
        }
    }

    /// [`TlsFlags::resolve`] with this process's environment.
    pub fn resolve_from_env(&self) -> TlsOptions {
        let cert_path = std::env::var_os(CERT_PATH_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let home = std::env::var_os("HOME").map(PathBuf::from);
        self.resolve(cert_path.as_deref(), home.as_deref())
    }
}

impl TlsOptions {
    /// Trusts only the CA file and presents the client certificate.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for ca in read_certs("CA certificate", &self.ca)? {
            roots.add(ca).map_err(|err| {
                anyhow!(
                    "the CA certificate {} is not usable: {err}",
                    self.ca.describe()
                )
            })?;
        }
        let certs = read_certs("client certificate", &self.cert)?;
        let key = PrivateKeyDer::from_pem_file(&self.key.path)
            .map_err(|err| file_error("client key", &self.key, err))?;
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .map_err(|err| {
                anyhow!(
                    "the client certificate {} and key {} do not make a pair ({err})",
                    self.cert.describe(),
                    self.key.describe()
                )
            })?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(config))
    }

    /// Runs the TLS handshake with cnmd at `host` on `stream`, and waits
    /// for cnmd to accept the client certificate.
    pub async fn handshake(&self, host: &str, stream: TcpStream) -> Result<TlsStream<TcpStream>> {
        let config = self.client_config()?;
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| anyhow!("{host:?} is not a valid host name"))?;
        let connect = TlsConnector::from(config).connect(name, stream);
        let mut stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, connect).await {
            Err(_) => {
                bail!("no TLS handshake within {HANDSHAKE_TIMEOUT:?}; is this cnmd's TLS port?")
            }
            Ok(Err(err)) => return Err(anyhow!(self.explain_io(host, &err))),
            Ok(Ok(stream)) => stream,
        };
        await_verdict(&mut stream)
            .await
            .map_err(|err| anyhow!(self.explain_io(host, &err)))?;
        Ok(stream)
    }

    fn explain_io(&self, host: &str, err: &std::io::Error) -> String {
        match err
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        {
            Some(tls) => self.explain(host, tls),
            None => format!("the TLS handshake failed: {err}"),
        }
    }

    /// What went wrong in a handshake, and what to do about it.
    pub fn explain(&self, host: &str, err: &rustls::Error) -> String {
        use rustls::Error as E;
        use AlertDescription as A;
        use CertificateError as C;
        let ca = self.ca.describe();
        match err {
            E::InvalidCertificate(C::UnknownIssuer) => format!(
                "cnmd's certificate is not signed by the CA {ca}: unknown CA; \
                 pass the CA that signed it"
            ),
            E::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
                "cnmd's certificate has expired; renew it (docs/tls.md)".to_string()
            }
            E::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
                "cnmd's certificate is not valid yet; check the clocks of both hosts".to_string()
            }
            E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
                format!(
                    "cnmd's certificate is not valid for {host} (hostname mismatch); connect \
                     with a name it lists in subjectAltName, or reissue it with {host} in it"
                )
            }
            E::InvalidCertificate(C::InvalidPurpose | C::InvalidPurposeContext { .. }) => {
                "cnmd's certificate is not a server certificate \
                 (extendedKeyUsage lacks serverAuth)"
                    .to_string()
            }
            E::InvalidCertificate(other) => format!("cnmd's certificate is not valid: {other}"),
            E::AlertReceived(A::UnknownCA) => format!(
                "cnmd refused the client certificate {}: unknown CA; it must be signed by \
                 the CA cnmd trusts (cnmd's --tlscacert)",
                self.cert.describe()
            ),
            E::AlertReceived(A::CertificateExpired) => format!(
                "cnmd refused the client certificate {}: it has expired; make a new one \
                 (docs/tls.md)",
                self.cert.describe()
            ),
            E::AlertReceived(A::UnsupportedCertificate) => format!(
                "cnmd refused the client certificate {}: it does not allow client \
                 authentication (extendedKeyUsage clientAuth); make a client certificate \
                 (docs/tls.md)",
                self.cert.describe()
            ),
            E::AlertReceived(A::CertificateRequired) => {
                "cnmd requires a client certificate; pass --tlscert and --tlskey".to_string()
            }
            E::AlertReceived(alert) => format!(
                "cnmd refused the TLS connection ({alert:?}); the client certificate must be \
                 signed by cnmd's CA and allow clientAuth"
            ),
            E::InvalidMessage(_) | E::InappropriateMessage { .. } => format!(
                "{host} does not answer in TLS; is this cnmd's tcp:// port, started with \
                 --tlsverify?"
            ),
            other => format!("the TLS handshake failed: {other}"),
        }
    }
}

impl TlsFile {
    /// `/path (--tlscert)`.
    fn describe(&self) -> String {
        format!("{} ({})", self.path.display(), self.from)
    }
}

fn read_certs(what: &str, file: &TlsFile) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(&file.path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|err| file_error(what, file, err))?;
    if certs.is_empty() {
        bail!("the {what} {} holds no PEM certificate", file.describe());
    }
    Ok(certs)
}

fn file_error(what: &str, file: &TlsFile, err: pem::Error) -> anyhow::Error {
    let advice = "pass --tlscacert, --tlscert and --tlskey, or set CNM_CERT_PATH to a folder \
                  with ca.pem, cert.pem and key.pem";
    match err {
        pem::Error::Io(io) => anyhow!(
            "cannot read the {what} {}: {}; {advice}",
            file.describe(),
            super::describe_io(&io)
        ),
        pem::Error::NoItemsFound => anyhow!("the {what} {} holds no PEM data", file.describe()),
        other => anyhow!("the {what} {} is not valid PEM ({other})", file.describe()),
    }
}

/// In TLS 1.3 the client's handshake ends before cnmd has checked the
/// client certificate; cnmd's verdict is the first record after it (a
/// session ticket, or an alert). Reads exactly that record into the
/// session, so a refused certificate is reported here with its reason
/// instead of as a broken first call. Anything else read stays buffered in
/// the session for HTTP/2.
async fn await_verdict(stream: &mut TlsStream<TcpStream>) -> std::io::Result<()> {
    use std::io::{Error, ErrorKind};
    let (tcp, session) = stream.get_mut();
    if session.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) {
        // TLS 1.2: cnmd's Finished came after its check.
        return Ok(());
    }
    let tls_error = |err: rustls::Error| Error::new(ErrorKind::InvalidData, err);
    let state = session.process_new_packets().map_err(tls_error)?;
    if state.plaintext_bytes_to_read() > 0 {
        return Ok(());
    }
    let deadline = tokio::time::Instant::now() + VERDICT_TIMEOUT;
    let mut record = Vec::with_capacity(512);
    loop {
        // A record is a 5-byte header (type, version, length) and its body.
        let want = match record.get(3..5) {
            Some(len) => 5 + usize::from(u16::from_be_bytes([len[0], len[1]])),
            None => 5,
        };
        if record.len() == want {
            let mut rest = record.as_slice();
            while !rest.is_empty() {
                session.read_tls(&mut rest)?;
            }
            session.process_new_packets().map_err(tls_error)?;
            return Ok(());
        }
        if tokio::time::timeout_at(deadline, tcp.readable())
            .await
            .is_err()
        {
            // No verdict in time: let the first call find out.
            return Ok(());
        }
        let mut buf = vec![0; want - record.len()];
        match tcp.try_read(&mut buf) {
            Ok(0) => {
                return Err(Error::new(
                    ErrorKind::UnexpectedEof,
                    "cnmd closed the connection after the TLS handshake",
                ))
            }
            Ok(n) => record.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == ErrorKind::WouldBlock => {}
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> TlsOptions {
        TlsFlags {
            tlsverify: true,
            tlscert: Some("/etc/cnm/me.pem".into()),
            ..TlsFlags::default()
        }
        .resolve(Some(Path::new("/certs")), Some(Path::new("/root")))
    }

    #[test]
    fn flags_win_over_cert_path_which_wins_over_home() {
        let o = options();
        assert_eq!(o.ca.path, Path::new("/certs/ca.pem"));
        assert_eq!(o.ca.from, "CNM_CERT_PATH");
        assert_eq!(o.cert.path, Path::new("/etc/cnm/me.pem"));
        assert_eq!(o.cert.from, "--tlscert");
        let home = TlsFlags::default().resolve(None, Some(Path::new("/home/a")));
        assert_eq!(home.key.path, Path::new("/home/a/.cnm/key.pem"));
        assert!(!home.verify);
    }

    #[test]
    fn handshake_failures_name_the_cause() {
        let o = options();
        let explain = |err: rustls::Error| o.explain("10.0.0.1", &err);
        let unknown = explain(rustls::Error::InvalidCertificate(C::UnknownIssuer));
        assert!(unknown.contains("unknown CA") && unknown.contains("/certs/ca.pem"));
        assert!(explain(rustls::Error::InvalidCertificate(C::Expired)).contains("expired"));
        let name = explain(rustls::Error::InvalidCertificate(C::NotValidForName));
        assert!(name.contains("hostname mismatch") && name.contains("10.0.0.1"));
        let refused = explain(rustls::Error::AlertReceived(AlertDescription::UnknownCA));
        assert!(refused.contains("refused the client certificate /etc/cnm/me.pem"));
        let expired = explain(rustls::Error::AlertReceived(
            AlertDescription::CertificateExpired,
        ));
        assert!(expired.contains("expired"));
    }

    use rustls::CertificateError as C;

    #[test]
    fn missing_files_say_where_the_path_came_from() {
        let err = options().client_config().expect_err("no files").to_string();
        assert_eq!(
            err,
            "cannot read the CA certificate /certs/ca.pem (CNM_CERT_PATH): \
             no such file or directory; pass --tlscacert, --tlscert and --tlskey, or set \
             CNM_CERT_PATH to a folder with ca.pem, cert.pem and key.pem"
        );
    }
}
