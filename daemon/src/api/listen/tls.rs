//! The TLS side of tcp:// listeners: cnmd's certificate and key, and the CA
//! every client certificate must chain to. Clients without such a
//! certificate (none, another CA's, expired) fail the handshake.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use crate::pem::{read_certs, read_key};

/// `--tlscacert`, `--tlscert`, `--tlskey`.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// The files when `--tlsverify` is given with all three; an error naming
    /// what is missing otherwise.
    pub fn from_flags(
        verify: bool,
        ca: Option<&Path>,
        cert: Option<&Path>,
        key: Option<&Path>,
    ) -> anyhow::Result<Option<TlsFiles>> {
        let flags = [("--tlscacert", ca), ("--tlscert", cert), ("--tlskey", key)];
        if !verify {
            if let Some((flag, _)) = flags.iter().find(|(_, path)| path.is_some()) {
                bail!("{flag} needs --tlsverify: cnmd speaks TLS only with client certificates");
            }
            return Ok(None);
        }
        let missing: Vec<&str> = flags
            .iter()
            .filter(|(_, path)| path.is_none())
            .map(|(flag, _)| *flag)
            .collect();
        match (ca, cert, key) {
            (Some(ca), Some(cert), Some(key)) => Ok(Some(TlsFiles {
                ca: ca.to_path_buf(),
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
            })),
            _ => bail!(
                "--tlsverify needs --tlscacert, --tlscert and --tlskey; missing: {}",
                missing.join(", ")
            ),
        }
    }

    /// A server configuration that requires a client certificate chaining
    /// to the CA, offers HTTP/2 only, and uses the ring provider.
    pub fn server_config(&self) -> anyhow::Result<Arc<ServerConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for ca in read_certs("--tlscacert", &self.ca)? {
            roots.add(ca).with_context(|| {
                format!(
                    "--tlscacert {}: not a usable CA certificate",
                    self.ca.display()
                )
            })?;
        }
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .with_context(|| format!("--tlscacert {}", self.ca.display()))?;
        let certs = read_certs("--tlscert", &self.cert)?;
        let key = read_key("--tlskey", &self.key)?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .with_context(|| {
                format!(
                    "--tlscert {} and --tlskey {} do not make a usable pair",
                    self.cert.display(),
                    self.key.display()
                )
            })?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlsverify_needs_all_three_files() {
        let p = Path::new("/x.pem");
        assert!(TlsFiles::from_flags(false, None, None, None)
            .expect("plain")
            .is_none());
        let err = TlsFiles::from_flags(true, Some(p), None, None).expect_err("incomplete");
        assert!(
            err.to_string().ends_with("missing: --tlscert, --tlskey"),
            "{err}"
        );
        let err = TlsFiles::from_flags(false, None, Some(p), None).expect_err("no verify");
        assert!(err.to_string().starts_with("--tlscert needs --tlsverify"));
        assert!(TlsFiles::from_flags(true, Some(p), Some(p), Some(p))
            .expect("complete")
            .is_some());
    }

    #[test]
    fn unreadable_files_are_named() {
        let files = TlsFiles {
            ca: "/nonexistent/ca.pem".into(),
            cert: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
        };
        let err = files.server_config().expect_err("no files").to_string();
        assert!(
            err.starts_with("--tlscacert /nonexistent/ca.pem: "),
            "{err}"
        );
    }
}
