//! PEM files named by TLS flags (`--tlscacert`, `--cluster-cert`, …), read
//! and parsed with errors that name the flag, the file and what is wrong.

use std::path::Path;

use anyhow::{anyhow, bail};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The bytes of `path`, given as `flag`.
pub fn read(flag: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|io| anyhow!("{flag} {}: {io}", path.display()))
}

/// Every certificate in a PEM file; at least one.
pub fn read_certs(flag: &str, path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    certs(flag, path, &read(flag, path)?)
}

/// Every certificate in `bytes`, read from `path`; at least one.
pub fn certs(
    flag: &str,
    path: &Path,
    bytes: &[u8],
) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| pem_error(flag, path, "certificate", err))?;
    if certs.is_empty() {
        bail!("{flag} {}: no PEM certificate in the file", path.display());
    }
    Ok(certs)
}

/// The private key of a PEM file.
pub fn read_key(flag: &str, path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    key(flag, path, &read(flag, path)?)
}

/// The private key in `bytes`, read from `path`.
pub fn key(flag: &str, path: &Path, bytes: &[u8]) -> anyhow::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(bytes).map_err(|err| pem_error(flag, path, "private key", err))
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
    fn missing_and_non_pem_files_are_named() {
        let err = read_certs("--tlscacert", Path::new("/nonexistent/ca.pem")).expect_err("none");
        assert!(
            err.to_string()
                .starts_with("--tlscacert /nonexistent/ca.pem: "),
            "{err}"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not pem\n").expect("write");
        let err = read_certs("--cluster-cacert", &junk).expect_err("no certs");
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
        let err = read_key("--cluster-key", &junk).expect_err("no key");
        assert!(err.to_string().contains("no PEM private key"), "{err}");
    }
}
