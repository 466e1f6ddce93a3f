//! TLS to etcd (`--cluster-store etcds://…`): the CA that signed etcd's
//! certificate (`--cluster-cacert`) and, for an etcd started with
//! `--client-cert-auth`, this host's client certificate (`--cluster-cert`,
//! `--cluster-key`). The files are read and checked once, before cnmd
//! touches any state; the same bytes configure the start-up probe (rustls)
//! and the etcd client (tonic's rustls).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use etcd_client::{Certificate, Identity, TlsOptions};
use rustls::{AlertDescription, CertificateError, ClientConfig, RootCertStore};

use crate::pem;

/// `--cluster-cacert`, `--cluster-cert`, `--cluster-key` as given.
#[derive(Debug, Clone, Copy, Default)]
pub struct TlsFlags<'a> {
    pub ca: Option<&'a Path>,
    pub cert: Option<&'a Path>,
    pub key: Option<&'a Path>,
}

impl TlsFlags<'_> {
    /// The first flag given, for "needs etcds://" messages.
    fn first_given(&self) -> Option<&'static str> {
        [
            ("--cluster-cacert", self.ca),
            ("--cluster-cert", self.cert),
            ("--cluster-key", self.key),
        ]
        .into_iter()
        .find_map(|(flag, path)| path.map(|_| flag))
    }
}

/// The loaded TLS settings of an `etcds://` store.
#[derive(Debug, Clone)]
pub struct EtcdTls {
    /// `--cluster-cacert`, for messages.
    ca: PathBuf,
    /// `--cluster-cert`, for messages; None without a client certificate.
    cert: Option<PathBuf>,
    /// The probe's handshake, verified as the client's.
    pub(super) probe: Arc<ClientConfig>,
    /// The etcd client's.
    pub(super) client: TlsOptions,
}

impl EtcdTls {
    /// Checks the flags against the store's scheme and loads the files:
    /// None for a plain `etcd://` store (which takes no TLS flags), the
    /// loaded files for `etcds://` (which needs the CA; the client
    /// certificate and key come as a pair or not at all).
    pub fn from_flags(tls: bool, flags: TlsFlags<'_>) -> anyhow::Result<Option<EtcdTls>> {
        if !tls {
            if let Some(flag) = flags.first_given() {
                bail!(
                    "{flag} needs --cluster-store etcds://HOST:PORT: cnmd speaks TLS to etcd \
                     only when the store's URL says so"
                );
            }
            return Ok(None);
        }
        let Some(ca) = flags.ca else {
            bail!(
                "--cluster-store etcds://… needs --cluster-cacert, the CA certificate that \
                 signed etcd's certificate"
            );
        };
        let pair = match (flags.cert, flags.key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            (Some(_), None) => bail!("--cluster-cert needs --cluster-key (its private key)"),
            (None, Some(_)) => bail!("--cluster-key needs --cluster-cert (its certificate)"),
        };
        EtcdTls::load(ca, pair).map(Some)
    }

    fn load(ca: &Path, pair: Option<(&Path, &Path)>) -> anyhow::Result<EtcdTls> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let ca_pem = pem::read("--cluster-cacert", ca)?;
        let mut roots = RootCertStore::empty();
        for cert in pem::certs("--cluster-cacert", ca, &ca_pem)? {
            roots.add(cert).with_context(|| {
                format!(
                    "--cluster-cacert {}: not a usable CA certificate",
                    ca.display()
                )
            })?;
        }
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_root_certificates(roots);
        let mut client = TlsOptions::new().ca_certificate(Certificate::from_pem(&ca_pem));
        let mut probe = match pair {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let cert_pem = pem::read("--cluster-cert", cert)?;
                let key_pem = pem::read("--cluster-key", key)?;
                let chain = pem::certs("--cluster-cert", cert, &cert_pem)?;
                let private = pem::key("--cluster-key", key, &key_pem)?;
                client = client.identity(Identity::from_pem(&cert_pem, &key_pem));
                builder
                    .with_client_auth_cert(chain, private)
                    .map_err(|err| pair_error(cert, key, &err))?
            }
        };
        // As tonic's: etcd serves gRPC over HTTP/2 only.
        probe.alpn_protocols = vec![b"h2".to_vec()];
        Ok(EtcdTls {
            ca: ca.to_path_buf(),
            cert: pair.map(|(cert, _)| cert.to_path_buf()),
            probe: Arc::new(probe),
            client,
        })
    }

    /// Why the handshake with etcd at `host` failed, and what to do.
    pub(super) fn explain(&self, host: &str, err: &rustls::Error) -> String {
        use rustls::Error as E;
        use AlertDescription as A;
        use CertificateError as C;
        let ca = self.ca.display();
        match (err, &self.cert) {
            (E::InvalidCertificate(C::UnknownIssuer), _) => format!(
                "etcd's certificate is not signed by the CA in --cluster-cacert {ca}: unknown \
                 CA; pass the CA that signed it"
            ),
            (E::InvalidCertificate(C::Expired | C::ExpiredContext { .. }), _) => {
                "etcd's certificate has expired; renew it (its --cert-file)".to_owned()
            }
            (E::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }), _) => {
                "etcd's certificate is not valid yet; check the clocks".to_owned()
            }
            (E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }), _) => {
                format!(
                    "etcd's certificate is not valid for {host} (hostname mismatch); name etcd \
                     in --cluster-store as its certificate's subjectAltName does, or reissue it"
                )
            }
            (E::InvalidCertificate(other), _) => {
                format!("etcd's certificate is not valid: {other}")
            }
            // Go (etcd) answers a missing certificate with bad_certificate
            // (certificate_required since Go 1.21).
            (
                E::AlertReceived(A::CertificateRequired | A::BadCertificate | A::HandshakeFailure),
                None,
            ) => "etcd requires a client certificate (it runs with --client-cert-auth); pass \
                  --cluster-cert and --cluster-key"
                .to_owned(),
            (E::AlertReceived(A::CertificateExpired), Some(cert)) => format!(
                "etcd refused the client certificate --cluster-cert {}: it has expired",
                cert.display()
            ),
            (E::AlertReceived(alert), Some(cert)) => format!(
                "etcd refused the client certificate --cluster-cert {} ({alert:?}); it must be \
                 signed by a CA in etcd's --trusted-ca-file and allow clientAuth",
                cert.display()
            ),
            (E::AlertReceived(alert), None) => {
                format!("etcd refused the TLS connection ({alert:?})")
            }
            (E::InvalidMessage(_) | E::InappropriateMessage { .. }, _) => {
                format!("{host} does not answer in TLS; for an etcd without TLS use etcd://")
            }
            (other, _) => format!("the TLS handshake with etcd failed: {other}"),
        }
    }
}

fn pair_error(cert: &Path, key: &Path, err: &rustls::Error) -> anyhow::Error {
    let (cert, key) = (cert.display(), key.display());
    match err {
        rustls::Error::InconsistentKeys(_) => anyhow::anyhow!(
            "--cluster-key {key} does not match the certificate in --cluster-cert {cert}"
        ),
        other => anyhow::anyhow!(
            "--cluster-cert {cert} and --cluster-key {key} do not make a usable pair ({other})"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate and its key, written as `NAME-cert.pem`
    /// and `NAME-key.pem`.
    fn issue(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let issued = rcgen::generate_simple_self_signed(vec![name.to_owned()]).expect("issue");
        let cert = dir.join(format!("{name}-cert.pem"));
        let key = dir.join(format!("{name}-key.pem"));
        std::fs::write(&cert, issued.cert.pem()).expect("write cert");
        std::fs::write(&key, issued.signing_key.serialize_pem()).expect("write key");
        (cert, key)
    }

    fn load(ca: &Path, cert: Option<&Path>, key: Option<&Path>) -> anyhow::Result<EtcdTls> {
        let flags = TlsFlags {
            ca: Some(ca),
            cert,
            key,
        };
        EtcdTls::from_flags(true, flags).map(|tls| tls.expect("TLS"))
    }

    #[test]
    fn flags_follow_the_scheme_and_come_in_pairs() {
        let p = Path::new("/x.pem");
        assert!(EtcdTls::from_flags(false, TlsFlags::default())
            .expect("plain")
            .is_none());
        let only_key = TlsFlags {
            key: Some(p),
            ..TlsFlags::default()
        };
        let err = EtcdTls::from_flags(false, only_key).expect_err("TLS flag, plain store");
        assert!(
            err.to_string()
                .starts_with("--cluster-key needs --cluster-store etcds://"),
            "{err}"
        );
        let err = EtcdTls::from_flags(true, only_key).expect_err("no CA");
        assert!(err.to_string().contains("needs --cluster-cacert"), "{err}");
        let err = load(p, Some(p), None).expect_err("cert without key");
        assert_eq!(
            err.to_string(),
            "--cluster-cert needs --cluster-key (its private key)"
        );
        let err = load(p, None, Some(p)).expect_err("key without cert");
        assert_eq!(
            err.to_string(),
            "--cluster-key needs --cluster-cert (its certificate)"
        );
    }

    #[test]
    fn files_are_named_with_what_is_wrong() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (ca, ca_key) = issue(dir.path(), "ca");
        let (cert, key) = issue(dir.path(), "client");

        let err = load(Path::new("/nonexistent/ca.pem"), None, None).expect_err("missing");
        assert!(
            err.to_string()
                .starts_with("--cluster-cacert /nonexistent/ca.pem: No such file"),
            "{err}"
        );
        let err = load(&ca_key, None, None).expect_err("a key as the CA");
        assert_eq!(
            err.to_string(),
            format!(
                "--cluster-cacert {}: no PEM certificate in the file",
                ca_key.display()
            )
        );
        let err = load(&ca, Some(&cert), Some(&cert)).expect_err("a cert as the key");
        assert_eq!(
            err.to_string(),
            format!(
                "--cluster-key {}: no PEM private key in the file",
                cert.display()
            )
        );
        let err = load(&ca, Some(&cert), Some(&ca_key)).expect_err("another key");
        assert_eq!(
            err.to_string(),
            format!(
                "--cluster-key {} does not match the certificate in --cluster-cert {}",
                ca_key.display(),
                cert.display()
            )
        );
        let tls = load(&ca, Some(&cert), Some(&key)).expect("a matching pair");
        assert_eq!(tls.cert.as_deref(), Some(cert.as_path()));
        assert!(load(&ca, None, None).expect("CA only").cert.is_none());
    }

    #[test]
    fn handshake_failures_say_what_to_do() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (ca, _) = issue(dir.path(), "ca");
        let (cert, key) = issue(dir.path(), "client");
        let without = load(&ca, None, None).expect("CA only");
        let with = load(&ca, Some(&cert), Some(&key)).expect("pair");
        let unknown_ca = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let said = without.explain("10.0.0.1", &unknown_ca);
        assert!(
            said.contains("not signed by the CA in --cluster-cacert")
                && said.contains(&ca.display().to_string()),
            "{said}"
        );
        let expired = rustls::Error::InvalidCertificate(CertificateError::Expired);
        assert!(without.explain("h", &expired).contains("has expired"));
        let bad = rustls::Error::AlertReceived(AlertDescription::BadCertificate);
        assert!(
            without
                .explain("h", &bad)
                .contains("requires a client certificate"),
            "{}",
            without.explain("h", &bad)
        );
        assert!(
            with.explain("h", &bad)
                .contains("refused the client certificate"),
            "{}",
            with.explain("h", &bad)
        );
    }
}
