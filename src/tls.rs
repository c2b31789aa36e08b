//! TLS for the listener. The certificate chain, its key and, for client certificates, the CAs
//! that sign them are read from PEM files, and read again when they change: a renewed certificate
//! (a cert-manager Secret, an ACME client's files) is served to new connections without a restart,
//! while established connections keep the session they have.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::Duration,
};

use anyhow::{Context, bail};
use rustls::{
    RootCertStore, ServerConfig,
    crypto::{CryptoProvider, ring},
    server::WebPkiClientVerifier,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

/// Where the listener's TLS material lives.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// CAs whose client certificates are accepted; `None`: clients present none.
    pub client_ca: Option<PathBuf>,
}

/// The listener's TLS configuration, kept current with its files.
pub struct ReloadingConfig {
    files: TlsFiles,
    current: RwLock<Loaded>,
}

struct Loaded {
    /// The files' bytes as last read: a change to any of them is a reload.
    contents: Vec<u8>,
    config: Arc<ServerConfig>,
}

impl ReloadingConfig {
    /// Reads the files; an error names the option whose file is at fault.
    pub fn load(files: TlsFiles) -> anyhow::Result<Arc<Self>> {
        let contents = read_all(&files)?;
        let config = Arc::new(server_config(&files)?);
        Ok(Arc::new(Self {
            files,
            current: RwLock::new(Loaded { contents, config }),
        }))
    }

    /// The configuration a new connection's handshake uses.
    pub fn current(&self) -> Arc<ServerConfig> {
        self.loaded().config.clone()
    }

    /// Re-reads the files every `interval` and, when they changed, serves what they now hold.
    pub async fn follow(self: Arc<Self>, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.tick().await;
        loop {
            tick.tick().await;
            match self.reload() {
                Ok(true) => tracing::info!(
                    cert = %self.files.cert.display(),
                    "TLS files changed: new connections get the new certificate"
                ),
                Ok(false) => {}
                // A renewal in progress may leave a key that does not match its certificate yet:
                // the old configuration stays until the files agree again.
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "TLS files changed but cannot be used; keeping the previous certificate")
                }
            }
        }
    }

    /// Whether the files changed and now hold a usable configuration.
    fn reload(&self) -> anyhow::Result<bool> {
        let contents = read_all(&self.files)?;
        if contents == self.loaded().contents {
            return Ok(false);
        }
        let config = Arc::new(server_config(&self.files)?);
        let mut current = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *current = Loaded { contents, config };
        Ok(true)
    }

    fn loaded(&self) -> std::sync::RwLockReadGuard<'_, Loaded> {
        // Only whole values are ever stored: one a panicking writer left behind is still whole.
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn read_all(files: &TlsFiles) -> anyhow::Result<Vec<u8>> {
    let mut contents = read(&files.cert, "--tls-cert")?;
    contents.extend(read(&files.key, "--tls-key")?);
    if let Some(ca) = &files.client_ca {
        contents.extend(read(ca, "--tls-client-ca")?);
    }
    Ok(contents)
}

fn read(path: &Path, option: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{option}: cannot read {}", path.display()))
}

/// TLS 1.2 and 1.3 with the ring provider's safe defaults; ALPN offers HTTP/2 (gRPC) and HTTP/1.1
/// (REST, gRPC-Web), both served on the one port.
fn server_config(files: &TlsFiles) -> anyhow::Result<ServerConfig> {
    let provider = Arc::new(ring::default_provider());
    let chain = certificates(&files.cert, "--tls-cert")?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        anyhow::anyhow!(
            "--tls-key: {}: no usable PEM private key ({e})",
            files.key.display()
        )
    })?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => builder.with_client_cert_verifier(client_verifier(ca, provider)?),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        anyhow::anyhow!(
            "--tls-key: {} does not go with the certificate of --tls-cert ({e})",
            files.key.display()
        )
    })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

fn certificates(path: &Path, option: &str) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("{option}: {}: not PEM certificates ({e})", path.display()))?;
    if certs.is_empty() {
        bail!("{option}: {}: holds no certificate", path.display());
    }
    Ok(certs)
}

/// Every client must present a certificate that one of these CAs signed.
fn client_verifier(
    ca: &Path,
    provider: Arc<CryptoProvider>,
) -> anyhow::Result<Arc<dyn rustls::server::danger::ClientCertVerifier>> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(ca, "--tls-client-ca")? {
        roots
            .add(cert)
            .map_err(|e| anyhow::anyhow!("--tls-client-ca: {}: {e}", ca.display()))?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| anyhow::anyhow!("--tls-client-ca: {}: {e}", ca.display()))
}
