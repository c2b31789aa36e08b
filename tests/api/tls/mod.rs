//! TLS on both sides: the listener (`--tls-cert`, `--tls-key`, `--tls-client-ca`) with real
//! clients, its certificate reloaded under a live connection, and PostgreSQL's `sslmode`.
//!
//! Certificates are made for each test by a CA of its own (rcgen); clients are rustls under
//! tonic, grpcurl, curl and the clouds' SDKs.

mod listener;
mod mtls;
mod postgres;
mod sdks;

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use rustls::{ClientConfig, RootCertStore, crypto::ring};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
use tagging_service::proto::pb::tagging_service_client::TaggingServiceClient;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint};

use crate::helpers::{Backend, InProcessServer, TestDb, token_in};

/// A certificate authority of one test.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pub pem: String,
}

/// A certificate and its key, PEM.
pub struct Identity {
    pub cert: String,
    pub key: String,
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let pem = params.self_signed(&key).expect("CA certificate").pem();
        Self {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// A server certificate for `localhost` and 127.0.0.1.
    pub fn server(&self) -> Identity {
        self.leaf(ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate.
    pub fn client(&self) -> Identity {
        self.leaf(ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn leaf(&self, usage: ExtendedKeyUsagePurpose) -> Identity {
        let key = KeyPair::generate().expect("leaf key");
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("leaf params");
        params.extended_key_usages = vec![usage];
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        Identity {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

/// A directory of PEM files.
pub struct Files(tempfile::TempDir);

impl Files {
    pub fn new() -> Self {
        Self(tempfile::tempdir().expect("temp dir"))
    }

    /// Writes `name` whole, by renaming a complete file into place, as a Secret volume or an ACME
    /// client does.
    pub fn write(&self, name: &str, contents: &str) -> String {
        let path = self.path(name);
        let staging = self.0.path().join(format!(".{name}.new"));
        std::fs::write(&staging, contents).expect("write PEM");
        std::fs::rename(&staging, &path).expect("rename PEM");
        path.to_str().expect("UTF-8 path").to_owned()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

/// A client configuration trusting `ca`, presenting `identity` when given, offering HTTP/2.
pub fn client_config(ca: &str, identity: Option<&Identity>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(cert.expect("CA PEM")).expect("CA added");
    }
    let builder = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some(id) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(id.cert.as_bytes()).expect("client cert")],
                PrivateKeyDer::from_pem_slice(id.key.as_bytes()).expect("client key"),
            )
            .expect("client identity"),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

/// A TLS handshake with the server at `addr`, for `localhost`.
pub async fn handshake(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").expect("server name");
    TlsConnector::from(config).connect(name, tcp).await
}

/// The DER of the certificate the server presents to a new connection.
pub async fn served_certificate(addr: SocketAddr, config: Arc<ClientConfig>) -> Vec<u8> {
    let tls = handshake(addr, config).await.expect("TLS handshake");
    let (_, session) = tls.get_ref();
    session.peer_certificates().expect("a server certificate")[0].to_vec()
}

pub fn der(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .expect("PEM certificate")
        .to_vec()
}

/// A gRPC client over TLS to `addr`, and the number of connections it has opened.
pub async fn tls_client(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> Result<(TaggingServiceClient<Channel>, Arc<AtomicUsize>), tonic::transport::Error> {
    let (channel, opened) = tls_channel(addr, config).await?;
    Ok((TaggingServiceClient::new(channel), opened))
}

/// A channel over TLS to `addr`, and the number of connections it has opened.
pub async fn tls_channel(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> Result<(Channel, Arc<AtomicUsize>), tonic::transport::Error> {
    let opened = Arc::new(AtomicUsize::new(0));
    let count = opened.clone();
    // The connector makes the TLS connection itself: tonic's own TLS (on in this build for the
    // trace exporter) would take an `https` URI as its job and want its own configuration.
    let channel = Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_| {
            count.fetch_add(1, Ordering::SeqCst);
            let config = config.clone();
            async move { handshake(addr, config).await.map(TokioIo::new) }
        }))
        .await?;
    Ok((channel, opened))
}

/// A server on `backend` with extra `serve` flags, and a read-write token of [`PROJECT`].
pub async fn serve(backend: Backend, extra: &[&str]) -> (InProcessServer, String, TestDb) {
    let (db, url) = TestDb::create(backend).await;
    let server = InProcessServer::start(&url, extra).await;
    (server, token_in(&url).await, db)
}
