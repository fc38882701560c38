//! Opinionated TLS configurations: [`ClientTls`] and [`ServerTls`], built from files or PEM
//! (degu's `build_client_sslctx` / `build_server_sslctx`), or from rustls configurations
//! of your own.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{ring, CryptoProvider};
use rustls::server::{ParsedCertificate, WebPkiClientVerifier};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use super::TlsError;

/// The one crypto provider: TLS 1.3 and 1.2 suites that are AEAD with ECDHE key exchange
/// only (rustls offers nothing weaker, and this list says so), and the key exchange
/// groups X25519, P-256 and P-384.
fn provider() -> Arc<CryptoProvider> {
    use ring::cipher_suite as cs;
    use ring::kx_group as kx;
    let mut provider = ring::default_provider();
    provider.cipher_suites = vec![
        cs::TLS13_AES_256_GCM_SHA384,
        cs::TLS13_AES_128_GCM_SHA256,
        cs::TLS13_CHACHA20_POLY1305_SHA256,
        cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];
    provider.kx_groups = vec![kx::X25519, kx::SECP256R1, kx::SECP384R1];
    Arc::new(provider)
}

const VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

fn config_error(message: impl Into<String>) -> TlsError {
    TlsError::Config {
        message: message.into(),
    }
}

/// Where certificates come from.
#[derive(Clone)]
enum Source {
    File(PathBuf),
    Dir(PathBuf),
    Pem(Vec<u8>),
    Der(Vec<CertificateDer<'static>>),
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(p) => write!(f, "file {}", p.display()),
            Self::Dir(p) => write!(f, "directory {}", p.display()),
            Self::Pem(_) => f.write_str("PEM in memory"),
            Self::Der(c) => write!(f, "{} DER certificate(s)", c.len()),
        }
    }
}

impl Source {
    fn certificates(&self) -> Result<Vec<CertificateDer<'static>>, TlsError> {
        let what = format!("{self:?}");
        let certs: Vec<CertificateDer<'static>> = match self {
            Self::File(path) => CertificateDer::pem_file_iter(path)
                .and_then(Iterator::collect)
                .map_err(|e| config_error(format!("reading certificates from {what}: {e}")))?,
            Self::Pem(pem) => CertificateDer::pem_slice_iter(pem)
                .collect::<Result<_, _>>()
                .map_err(|e| config_error(format!("reading certificates from {what}: {e}")))?,
            Self::Der(certs) => certs.clone(),
            Self::Dir(dir) => read_dir_certificates(dir)?,
        };
        if certs.is_empty() {
            return Err(config_error(format!("no certificate in {what}")));
        }
        Ok(certs)
    }

    fn roots(&self) -> Result<RootCertStore, TlsError> {
        let mut roots = RootCertStore::empty();
        for cert in self.certificates()? {
            roots
                .add(cert)
                .map_err(|e| config_error(format!("a CA certificate in {self:?}: {e}")))?;
        }
        Ok(roots)
    }
}

/// Every certificate in the PEM files of a directory (an OpenSSL-style CA directory).
fn read_dir_certificates(dir: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| config_error(format!("reading CA directory {}: {e}", dir.display())))?;
    let mut certs = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        // Files that are not PEM certificates (keys, CRLs, READMEs) are skipped.
        if let Ok(found) = CertificateDer::pem_file_iter(&path) {
            certs.extend(found.flatten());
        }
    }
    Ok(certs)
}

/// A certificate chain and its private key.
#[derive(Clone)]
struct Identity {
    chain: Source,
    key: KeySource,
}

#[derive(Clone)]
enum KeySource {
    File(PathBuf),
    Pem(Vec<u8>),
    Der(Arc<PrivateKeyDer<'static>>),
}

impl Identity {
    fn files(cert: PathBuf, key: PathBuf) -> Self {
        Self {
            chain: Source::File(cert),
            key: KeySource::File(key),
        }
    }

    fn pem(cert: Vec<u8>, key: Vec<u8>) -> Self {
        Self {
            chain: Source::Pem(cert),
            key: KeySource::Pem(key),
        }
    }

    fn der(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Self {
        Self {
            chain: Source::Der(chain),
            key: KeySource::Der(Arc::new(key)),
        }
    }

    fn load(&self) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
        let chain = self.chain.certificates()?;
        let key = match &self.key {
            KeySource::File(path) => PrivateKeyDer::from_pem_file(path).map_err(|e| {
                config_error(format!(
                    "reading a private key from {}: {e}",
                    path.display()
                ))
            })?,
            KeySource::Pem(pem) => PrivateKeyDer::from_pem_slice(pem)
                .map_err(|e| config_error(format!("reading a private key from PEM: {e}")))?,
            KeySource::Der(key) => key.clone_key(),
        };
        Ok((chain, key))
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "certificate from {:?} (key not shown)", self.chain)
    }
}

/// The client side's TLS configuration (degu's client `sslconfig`): whom to trust, whether
/// the certificate must name the host, and a certificate of our own.
///
/// Opinionated and safe: TLS 1.2 and 1.3 only, AEAD suites with ECDHE only, and the
/// server's chain is always verified. Without a CA, the system's trusted roots are used
/// (through `rustls-native-certs`: the operating system's store, as the administrator
/// keeps it, rather than a list compiled into the program). `check_hostname(false)` is
/// allowed only with a CA of your own: the chain is still verified against it, only the
/// name is not checked. The server name (SNI) is the host being connected to.
///
/// ```no_run
/// use pollhttp::tls::ClientTls;
/// let tls = ClientTls::builder()
///     .ca_file("/etc/myapp/ca.pem")
///     .client_cert_files("/etc/myapp/client.pem", "/etc/myapp/client.key")
///     .build()?;
/// # Ok::<(), pollhttp::tls::TlsError>(())
/// ```
#[derive(Clone)]
pub struct ClientTls {
    pub(crate) config: Arc<rustls::ClientConfig>,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls").finish_non_exhaustive()
    }
}

impl ClientTls {
    /// A builder, with hostname checks on and the system's roots.
    pub fn builder() -> ClientTlsBuilder {
        ClientTlsBuilder {
            check_hostname: true,
            ca: None,
            identity: None,
        }
    }

    /// A configuration you built with rustls yourself, used as it is.
    pub fn from_rustls(config: Arc<rustls::ClientConfig>) -> Self {
        Self { config }
    }

    /// The rustls configuration.
    pub fn rustls_config(&self) -> &Arc<rustls::ClientConfig> {
        &self.config
    }
}

/// Builds a [`ClientTls`].
#[derive(Debug, Clone)]
pub struct ClientTlsBuilder {
    check_hostname: bool,
    ca: Option<Source>,
    identity: Option<Identity>,
}

impl ClientTlsBuilder {
    /// Whether the server's certificate must name the host (default: true). Turning it off
    /// needs a CA of your own ([`ca_file`](Self::ca_file) and friends).
    pub fn check_hostname(mut self, check: bool) -> Self {
        self.check_hostname = check;
        self
    }

    /// Trusts the CA certificates in this PEM file, instead of the system's roots.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca = Some(Source::File(path.into()));
        self
    }

    /// Trusts the CA certificates in the PEM files of this directory.
    pub fn ca_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca = Some(Source::Dir(path.into()));
        self
    }

    /// Trusts the CA certificates in this PEM text.
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca = Some(Source::Pem(pem.into()));
        self
    }

    /// Trusts these CA certificates (DER).
    pub fn ca_der(mut self, certs: Vec<CertificateDer<'static>>) -> Self {
        self.ca = Some(Source::Der(certs));
        self
    }

    /// Presents this certificate chain (PEM file, leaf first) with its private key (PEM
    /// file) when the server asks for one.
    pub fn client_cert_files(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.identity = Some(Identity::files(cert.into(), key.into()));
        self
    }

    /// The same, from PEM text.
    pub fn client_cert_pem(mut self, cert: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.identity = Some(Identity::pem(cert.into(), key.into()));
        self
    }

    /// The same, from DER.
    pub fn client_cert_der(
        mut self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Self {
        self.identity = Some(Identity::der(chain, key));
        self
    }

    /// Checks and loads everything.
    pub fn build(self) -> Result<ClientTls, TlsError> {
        let provider = provider();
        let roots = match &self.ca {
            Some(ca) => ca.roots()?,
            None if !self.check_hostname => {
                return Err(config_error(
                    "check_hostname(false) needs a CA of your own (ca_file, ca_dir, ca_pem): \
                     with the system's roots, any certificate they signed would do",
                ))
            }
            None => system_roots()?,
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(VERSIONS)
            .map_err(|e| config_error(e.to_string()))?;
        let builder = if self.check_hostname {
            builder.with_root_certificates(roots)
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly::new(roots, provider)?))
        };
        let config = match &self.identity {
            Some(identity) => {
                let (chain, key) = identity.load()?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| config_error(format!("the client certificate or key: {e}")))?
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = config;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ClientTls {
            config: Arc::new(config),
        })
    }
}

fn system_roots() -> Result<RootCertStore, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found
            .errors
            .first()
            .map_or_else(|| "none found".to_owned(), ToString::to_string);
        return Err(config_error(format!(
            "no trusted roots in the system's store ({why}): give a CA with ca_file"
        )));
    }
    Ok(roots)
}

/// Verifies the server's chain against our own roots, but not its name
/// (`check_hostname(false)`).
#[derive(Debug)]
struct ChainOnly {
    roots: RootCertStore,
    provider: Arc<CryptoProvider>,
    /// For the handshake signatures, which do not involve the name.
    inner: Arc<WebPkiServerVerifier>,
}

impl ChainOnly {
    fn new(roots: RootCertStore, provider: Arc<CryptoProvider>) -> Result<Self, TlsError> {
        let inner =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots.clone()), provider.clone())
                .build()
                .map_err(|e| config_error(e.to_string()))?;
        Ok(Self {
            roots,
            provider,
            inner,
        })
    }
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The server side's TLS configuration (degu's server `sslconfig`): our certificate chain
/// and key, and the CA that client certificates must chain to.
///
/// Client authentication is required unless
/// [`allow_unauthenticated_clients`](ServerTlsBuilder::allow_unauthenticated_clients) says
/// otherwise; the verified client certificate is then available on the connection. Same
/// protocol versions and suites as [`ClientTls`].
///
/// ```no_run
/// use pollhttp::tls::ServerTls;
/// let tls = ServerTls::builder()
///     .cert_files("/etc/myapp/server.pem", "/etc/myapp/server.key")
///     .client_ca_file("/etc/myapp/clients-ca.pem")
///     .build()?;
/// # Ok::<(), pollhttp::tls::TlsError>(())
/// ```
#[derive(Clone)]
pub struct ServerTls {
    pub(crate) config: Arc<rustls::ServerConfig>,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

impl ServerTls {
    /// A builder: give a certificate and key, and a client CA (or allow anonymous clients).
    pub fn builder() -> ServerTlsBuilder {
        ServerTlsBuilder {
            identity: None,
            client_ca: None,
            allow_unauthenticated: false,
        }
    }

    /// A configuration you built with rustls yourself, used as it is.
    pub fn from_rustls(config: Arc<rustls::ServerConfig>) -> Self {
        Self { config }
    }

    /// The rustls configuration.
    pub fn rustls_config(&self) -> &Arc<rustls::ServerConfig> {
        &self.config
    }
}

/// Builds a [`ServerTls`].
#[derive(Debug, Clone)]
pub struct ServerTlsBuilder {
    identity: Option<Identity>,
    client_ca: Option<Source>,
    allow_unauthenticated: bool,
}

impl ServerTlsBuilder {
    /// Our certificate chain (PEM file, leaf first) and private key (PEM file).
    pub fn cert_files(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.identity = Some(Identity::files(cert.into(), key.into()));
        self
    }

    /// The same, from PEM text.
    pub fn cert_pem(mut self, cert: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.identity = Some(Identity::pem(cert.into(), key.into()));
        self
    }

    /// The same, from DER.
    pub fn cert_der(
        mut self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Self {
        self.identity = Some(Identity::der(chain, key));
        self
    }

    /// Client certificates must chain to the CA certificates in this PEM file.
    pub fn client_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.client_ca = Some(Source::File(path.into()));
        self
    }

    /// ... in the PEM files of this directory.
    pub fn client_ca_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.client_ca = Some(Source::Dir(path.into()));
        self
    }

    /// ... in this PEM text.
    pub fn client_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.client_ca = Some(Source::Pem(pem.into()));
        self
    }

    /// ... these (DER).
    pub fn client_ca_der(mut self, certs: Vec<CertificateDer<'static>>) -> Self {
        self.client_ca = Some(Source::Der(certs));
        self
    }

    /// Accepts clients without a certificate. With a client CA as well, a certificate a
    /// client does present must still chain to it.
    pub fn allow_unauthenticated_clients(mut self) -> Self {
        self.allow_unauthenticated = true;
        self
    }

    /// Checks and loads everything.
    pub fn build(self) -> Result<ServerTls, TlsError> {
        let provider = provider();
        let identity = self
            .identity
            .as_ref()
            .ok_or_else(|| config_error("a server needs a certificate and key (cert_files)"))?;
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(VERSIONS)
            .map_err(|e| config_error(e.to_string()))?;
        let builder = match (&self.client_ca, self.allow_unauthenticated) {
            (None, false) => {
                return Err(config_error(
                    "client authentication needs a client CA (client_ca_file), \
                     or allow_unauthenticated_clients()",
                ))
            }
            (None, true) => builder.with_no_client_auth(),
            (Some(ca), allow) => {
                let roots = Arc::new(ca.roots()?);
                let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider);
                let verifier = if allow {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                let verifier = verifier
                    .build()
                    .map_err(|e| config_error(format!("the client CA: {e}")))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let (chain, key) = identity.load()?;
        let mut config = builder
            .with_single_cert(chain, key)
            .map_err(|e| config_error(format!("the server certificate or key: {e}")))?;
        // Both versions the server speaks, ours first: a client that offers only
        // `http/1.0` would otherwise be refused the handshake (RFC 7301 §3.2).
        config.alpn_protocols = vec![b"http/1.1".to_vec(), b"http/1.0".to_vec()];
        Ok(ServerTls {
            config: Arc::new(config),
        })
    }
}
