//! Certificates for the remote API tests, made fresh per test with rcgen:
//! a CA, server certificates (for `127.0.0.1`, or any names) and client
//! certificates, valid now or already expired, written as PEM files.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// When a certificate is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// From yesterday for a year.
    Current,
    /// From a month ago until yesterday.
    Expired,
}

/// The three files a TLS peer needs: the CA it trusts, its certificate and
/// its key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// `--tlsverify --tlscacert CA --tlscert CERT --tlskey KEY`.
    pub fn flags(&self) -> Vec<String> {
        vec![
            "--tlsverify".into(),
            "--tlscacert".into(),
            self.ca.display().to_string(),
            "--tlscert".into(),
            self.cert.display().to_string(),
            "--tlskey".into(),
            self.key.display().to_string(),
        ]
    }
}

/// A certificate authority whose certificate is written to `DIR/NAME-ca.pem`.
pub struct Ca {
    name: String,
    dir: PathBuf,
    issuer: Issuer<'static, KeyPair>,
    pem: PathBuf,
}

impl Ca {
    /// A new CA named `name`, its files in `dir`.
    pub fn new(dir: &Path, name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::new()).expect("CA params");
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} CA"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        set_validity(&mut params, Validity::Current);
        let key = KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("self-sign the CA");
        let pem = dir.join(format!("{name}-ca.pem"));
        std::fs::write(&pem, cert.pem()).expect("write CA certificate");
        Ca {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// The CA certificate file.
    pub fn pem(&self) -> &Path {
        &self.pem
    }

    /// A server certificate for `names` (addresses or DNS names).
    pub fn server(&self, label: &str, names: &[&str], validity: Validity) -> TlsFiles {
        self.leaf(label, names, ExtendedKeyUsagePurpose::ServerAuth, validity)
    }

    /// A client certificate.
    pub fn client(&self, label: &str, validity: Validity) -> TlsFiles {
        self.leaf(label, &[], ExtendedKeyUsagePurpose::ClientAuth, validity)
    }

    fn leaf(
        &self,
        label: &str,
        names: &[&str],
        usage: ExtendedKeyUsagePurpose,
        validity: Validity,
    ) -> TlsFiles {
        let names: Vec<String> = names.iter().map(|n| (*n).to_string()).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, label);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        set_validity(&mut params, validity);
        let key = KeyPair::generate().expect("leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("sign the leaf certificate");
        let base = format!("{}-{label}", self.name);
        let files = TlsFiles {
            ca: self.pem.clone(),
            cert: self.dir.join(format!("{base}-cert.pem")),
            key: self.dir.join(format!("{base}-key.pem")),
        };
        std::fs::write(&files.cert, cert.pem()).expect("write certificate");
        std::fs::write(&files.key, key.serialize_pem()).expect("write key");
        files
    }
}

fn set_validity(params: &mut CertificateParams, validity: Validity) {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    let now = rcgen::date_time_ymd(1970, 1, 1) + since_epoch;
    let (from, until) = match validity {
        Validity::Current => (now - DAY, now + 365 * DAY),
        Validity::Expired => (now - 30 * DAY, now - DAY),
    };
    params.not_before = from;
    params.not_after = until;
}
