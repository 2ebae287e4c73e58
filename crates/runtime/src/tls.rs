//! Transport security between the services: TLS on the gRPC port, with client certificates checked
//! against a CA (mutual TLS), and the same certificate presented on calls to peers. Read from PEM
//! files in cert-manager's Secret layout (`tls.crt`, `tls.key`, `ca.crt`) when the process starts; a
//! renewed certificate is taken up by a restart (docs/operations.md says how cert-manager triggers it).

use std::{path::Path, time::Duration};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

use crate::config::{ClientAuth, TlsConfig};

/// How long a client may take over its TLS handshake before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(
        "TLS needs --tls-cert-file, --tls-key-file and --tls-ca-file together (OVICE_SLACK_TLS_*_FILE); {0} is missing"
    )]
    Incomplete(&'static str),
    #[error("cannot read the TLS {what} `{path}`: {source}")]
    Read {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("the TLS {what} `{path}` holds no PEM {expected}")]
    NotPem {
        what: &'static str,
        path: String,
        expected: &'static str,
    },
}

/// This process's certificate, key and CA, checked to be PEM of the right kind.
#[derive(Clone)]
pub struct Tls {
    cert: Vec<u8>,
    key: Vec<u8>,
    ca: Vec<u8>,
    client_auth: ClientAuth,
}

impl std::fmt::Debug for Tls {
    // The key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("client_auth", &self.client_auth)
            .finish_non_exhaustive()
    }
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.display().to_string(),
        source,
    })
}

fn certificates(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    let pem = read(what, path)?;
    let found = CertificateDer::pem_slice_iter(&pem).filter(Result::is_ok).count();
    if found == 0 {
        return Err(TlsError::NotPem {
            what,
            path: path.display().to_string(),
            expected: "CERTIFICATE",
        });
    }
    Ok(pem)
}

impl Tls {
    /// `None` when no TLS file is given (plaintext); an error when only some are.
    pub fn load(config: &TlsConfig) -> Result<Option<Tls>, TlsError> {
        let (cert, key, ca) = match (&config.tls_cert_file, &config.tls_key_file, &config.tls_ca_file) {
            (None, None, None) => return Ok(None),
            (Some(cert), Some(key), Some(ca)) => (cert, key, ca),
            (None, _, _) => return Err(TlsError::Incomplete("--tls-cert-file")),
            (_, None, _) => return Err(TlsError::Incomplete("--tls-key-file")),
            (_, _, None) => return Err(TlsError::Incomplete("--tls-ca-file")),
        };
        let key_pem = read("key", key)?;
        if PrivateKeyDer::from_pem_slice(&key_pem).is_err() {
            return Err(TlsError::NotPem {
                what: "key",
                path: key.display().to_string(),
                expected: "PRIVATE KEY",
            });
        }
        Ok(Some(Tls {
            cert: certificates("certificate", cert)?,
            key: key_pem,
            ca: certificates("CA", ca)?,
            client_auth: config.tls_client_auth,
        }))
    }

    /// The gRPC port's side: this certificate, and client certificates checked against the CA.
    pub fn server(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(Identity::from_pem(&self.cert, &self.key))
            .client_ca_root(Certificate::from_pem(&self.ca))
            .client_auth_optional(self.client_auth == ClientAuth::Optional)
            .timeout(HANDSHAKE_TIMEOUT)
    }

    /// The side of calls to peers: their certificate must chain to the CA and name the host of the
    /// peer's address; this process presents its own.
    pub fn client(&self) -> ClientTlsConfig {
        ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&self.ca))
            .identity(Identity::from_pem(&self.cert, &self.key))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn config(dir: &Path, files: [Option<&str>; 3]) -> TlsConfig {
        let [cert, key, ca] = files.map(|f| f.map(|name| dir.join(name)));
        TlsConfig {
            tls_cert_file: cert,
            tls_key_file: key,
            tls_ca_file: ca,
            tls_client_auth: ClientAuth::Required,
        }
    }

    #[test]
    fn no_files_is_plaintext_and_some_files_are_an_error_naming_the_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            Tls::load(&config(dir.path(), [None, None, None]))
                .unwrap()
                .is_none()
        );
        let err = Tls::load(&config(dir.path(), [Some("c"), Some("k"), None])).unwrap_err();
        assert!(err.to_string().contains("--tls-ca-file is missing"), "{err}");
        let err = Tls::load(&config(dir.path(), [None, Some("k"), Some("ca")])).unwrap_err();
        assert!(err.to_string().contains("--tls-cert-file is missing"), "{err}");
    }

    #[test]
    fn files_that_are_not_pem_of_their_kind_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("junk"), "not a pem").unwrap();
        let err = Tls::load(&config(dir.path(), [Some("junk"), Some("junk"), Some("junk")])).unwrap_err();
        assert!(
            err.to_string().contains("TLS key") && err.to_string().contains("PRIVATE KEY"),
            "{err}"
        );
        let err = Tls::load(&config(dir.path(), [Some("c"), Some("no-key"), Some("junk")])).unwrap_err();
        assert!(err.to_string().contains("cannot read the TLS key"), "{err}");
    }
}
