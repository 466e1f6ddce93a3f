//! The TLS side of tcp:// listeners: cnmd's certificate and key, and the CA
//! every client certificate must chain to. Clients without such a
//! certificate (none, another CA's, expired) fail the handshake.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

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
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .map_err(|err| pem_error("--tlskey", &self.key, "private key", err))?;
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

/// Every certificate in a PEM file; at least one.
fn read_certs(flag: &str, path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|err| pem_error(flag, path, "certificate", err))?;
    if certs.is_empty() {
        bail!("{flag} {}: no PEM certificate in the file", path.display());
    }
    Ok(certs)
}

fn pem_error(flag: &str, path: &Path, what: &str, err: pem::Error) -> anyhow::Error {
    match err {
        pem::Error::Io(io) => anyhow!("{flag} {}: {io}", path.display()),
        pem::Error::NoItemsFound => anyhow!("{flag} {}: no PEM {what} in the file", path.display()),
        other => anyhow!("{flag} {}: not a PEM {what} ({other})", path.display()),
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

    #[test]
    fn a_file_without_certificates_is_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let empty = dir.path().join("ca.pem");
        std::fs::write(&empty, "not pem\n").expect("write");
        let err = read_certs("--tlscacert", &empty).expect_err("no certs");
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
    }
}
