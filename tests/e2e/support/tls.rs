//! A test CA and certificates in cert-manager's Secret layout (`tls.crt`, `tls.key`, `ca.crt`), and
//! a TCP relay that records what crosses it, to show what a pod-network observer would see.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// A certificate authority, as a cert-manager `Issuer` of kind CA.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// The three files of one workload's certificate Secret.
#[derive(Clone, Debug)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    /// A certificate for `name`, valid for 127.0.0.1 and localhost, as server and as client, written
    /// to `dir/name/{tls.crt,tls.key,ca.crt}`.
    pub fn issue(&self, dir: &Path, name: &str) -> CertFiles {
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let dir = dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let files = CertFiles {
            cert: dir.join("tls.crt"),
            key: dir.join("tls.key"),
            ca: dir.join("ca.crt"),
        };
        std::fs::write(&files.cert, cert.pem()).unwrap();
        std::fs::write(&files.key, key.serialize_pem()).unwrap();
        std::fs::write(&files.ca, self.issuer.pem()).unwrap();
        files
    }
}

impl CertFiles {
    /// The `OVICE_SLACK_TLS_*_FILE` variables of a process holding these files.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let path = |p: &PathBuf| p.to_str().unwrap().to_owned();
        vec![
            ("OVICE_SLACK_TLS_CERT_FILE", path(&self.cert)),
            ("OVICE_SLACK_TLS_KEY_FILE", path(&self.key)),
            ("OVICE_SLACK_TLS_CA_FILE", path(&self.ca)),
        ]
    }

    /// A client that trusts this CA and presents this certificate.
    pub fn client(&self) -> ClientTlsConfig {
        self.client_without_certificate().identity(Identity::from_pem(
            std::fs::read(&self.cert).unwrap(),
            std::fs::read(&self.key).unwrap(),
        ))
    }

    /// A client that trusts this CA but presents no certificate of its own.
    pub fn client_without_certificate(&self) -> ClientTlsConfig {
        ClientTlsConfig::new().ca_certificate(Certificate::from_pem(std::fs::read(&self.ca).unwrap()))
    }
}

/// A channel over TLS to `addr` (host:port), connected.
pub async fn tls_channel(addr: &str, tls: ClientTlsConfig) -> Result<Channel, tonic::transport::Error> {
    endpoint(addr, Some(tls)).connect().await
}

/// `addr` over TLS when `tls` is given, plaintext h2c otherwise.
fn endpoint(addr: &str, tls: Option<ClientTlsConfig>) -> tonic::transport::Endpoint {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let endpoint = Channel::from_shared(format!("{scheme}://{addr}")).unwrap();
    match tls {
        Some(tls) => endpoint.tls_config(tls).unwrap(),
        None => endpoint,
    }
}

/// Relays TCP connections to `target` and keeps every byte that crosses, both ways.
pub struct RecordingRelay {
    pub addr: String,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl RecordingRelay {
    pub async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (target, record) = (target.to_owned(), seen.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&target).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pump(client_read, server_write, record.clone()));
                tokio::spawn(pump(server_read, client_write, record.clone()));
            }
        });
        Self { addr, seen }
    }

    /// Everything relayed so far.
    pub fn seen(&self) -> Vec<u8> {
        self.seen.lock().unwrap().clone()
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    record: Arc<Mutex<Vec<u8>>>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        record.lock().unwrap().extend_from_slice(&buf[..n]);
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// A channel that connects on its first call, so a refused handshake shows as that call's error.
pub fn lazy_channel(addr: &str, tls: Option<ClientTlsConfig>) -> Channel {
    endpoint(addr, tls).connect_lazy()
}
