//! [`TestPki`]: a throwaway certificate authority with a server and a client certificate,
//! all in memory.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::tls::CertificateDer;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};

use crate::tls::{ClientTls, ServerTls};

/// The CA's common name.
const CA_NAME: &str = "pollhttp test CA";
/// The default client certificate's common name.
const CLIENT_NAME: &str = "pollhttp test client";
/// What the default server certificate names.
const SERVER_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1"];

const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// Certificates are valid from a day ago (clocks differ a little) to a year ahead.
const VALID_BEFORE: Duration = DAY;
const VALID_AFTER: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The latest date X.509 can write, 9999-12-31T23:59:59Z, from the epoch (the earliest
/// date webpki reads is the epoch).
const LATEST: Duration = Duration::from_secs(253_402_300_799);

/// A throwaway certificate authority with a server and a client certificate, all in memory
/// (degu's `TempPKI`), for tests of TLS: mutual authentication, refused certificates,
/// interoperability with other tools.
///
/// - The CA: common name `pollhttp test CA` (and an organizational unit `pki` and 16 hex
///   digits, different for each `TestPki`), `basicConstraints` CA:true (no intermediates
///   below it), key usage `keyCertSign` and `cRLSign`.
/// - The server certificate: for `localhost`, `127.0.0.1` and `::1` (subject alternative
///   names, DNS and IP), extended key usage `serverAuth`.
/// - The client certificate: common name `pollhttp test client`, extended key usage
///   `clientAuth`.
///
/// Leaves have key usage `digitalSignature` and `basicConstraints` CA:false. Every
/// certificate is valid from a day ago to a year ahead. Keys are ECDSA P-256, so a new
/// `TestPki` takes well under a millisecond. Certificates and keys are PEM: certificates as
/// `CERTIFICATE`, keys as PKCS#8 `PRIVATE KEY`; a certificate PEM holds the leaf alone, its
/// issuer being the CA the peer trusts.
///
/// [`issue_server`](Self::issue_server) and [`issue_client`](Self::issue_client) give
/// other certificates from the same CA: other names, expired, not yet valid. For tools
/// (curl, nginx, openssl, Python's `ssl`), [`write_files`](Self::write_files) writes it
/// all to a directory.
///
/// # Example
///
/// A mutually authenticated handshake over a socket pair, both ends driven in one thread:
///
/// ```
/// use std::io::{Read, Write};
///
/// use pollhttp::io::Transport;
/// use pollhttp::testing::TestPki;
/// use pollhttp::tls::{Handshake, TlsStream};
/// use pollhttp::Progress;
///
/// let pki = TestPki::new();
/// let (a, b) = Transport::pair()?;
/// let mut client = Handshake::client(a, &pki.client_tls(), "localhost")?;
/// let mut server = Handshake::server(b, &pki.server_tls())?;
///
/// // Both handshakes are non-blocking: resume each in turn until both are done.
/// let (mut c, mut s): (Option<TlsStream>, Option<TlsStream>) = (None, None);
/// while c.is_none() || s.is_none() {
///     if c.is_none() {
///         if let Progress::Ready(stream) = client.resume()? {
///             c = Some(stream);
///         }
///     }
///     if s.is_none() {
///         if let Progress::Ready(stream) = server.resume()? {
///             s = Some(stream);
///         }
///     }
/// }
/// let (mut c, mut s) = (c.unwrap(), s.unwrap());
///
/// // The server knows who the client is.
/// assert_eq!(s.info().peer_certificates.len(), 1);
///
/// c.write_all(b"ping")?;
/// let mut buf = [0; 4];
/// s.read_exact(&mut buf)?; // a socket pair: what was written is there to read
/// assert_eq!(&buf, b"ping");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TestPki {
    ca: Certificate,
    ca_key: KeyPair,
    ca_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
}

impl fmt::Debug for TestPki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestPki")
            .field("ca", &CA_NAME)
            .finish_non_exhaustive()
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

/// Where [`TestPki::write_files`] wrote the PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiFiles {
    /// `ca.pem`: the CA certificate, for the side that verifies (curl `--cacert`, nginx
    /// `ssl_client_certificate`, [`ClientTls`] `ca_file`).
    pub ca: PathBuf,
    /// `server.pem`: the server certificate (nginx `ssl_certificate`).
    pub server_cert: PathBuf,
    /// `server.key`: its private key, PKCS#8 (nginx `ssl_certificate_key`), mode 0600.
    pub server_key: PathBuf,
    /// `client.pem`: the client certificate (curl `--cert`).
    pub client_cert: PathBuf,
    /// `client.key`: its private key, PKCS#8 (curl `--key`), mode 0600.
    pub client_key: PathBuf,
}

impl TestPki {
    /// A new CA, with a server certificate for `localhost`, `127.0.0.1` and `::1`, and a
    /// client certificate (common name `pollhttp test client`).
    ///
    /// # Panics
    ///
    /// If the certificates cannot be made (rcgen fails to generate a key or sign): not
    /// expected to happen.
    pub fn new() -> Self {
        let ca_key = new_key();
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, CA_NAME);
        // Each CA has a name of its own: a certificate from another TestPki's CA then has
        // an unknown issuer, rather than a known issuer's name with a bad signature.
        params
            .distinguished_name
            .push(DnType::OrganizationalUnitName, unique_name(&ca_key));
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let now = SystemTime::now();
        set_validity(&mut params, now - VALID_BEFORE, now + VALID_AFTER);
        let ca = params
            .self_signed(&ca_key)
            .expect("rcgen: self-signing the test CA");
        let ca_pem = ca.pem();
        let mut pki = Self {
            ca,
            ca_key,
            ca_pem,
            server_cert_pem: String::new(),
            server_key_pem: String::new(),
            client_cert_pem: String::new(),
            client_key_pem: String::new(),
        };
        (pki.server_cert_pem, pki.server_key_pem) =
            pki.issue_server(SERVER_NAMES, now - VALID_BEFORE, now + VALID_AFTER);
        (pki.client_cert_pem, pki.client_key_pem) = pki.issue_client(CLIENT_NAME);
        pki
    }

    /// The CA certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The CA certificate (DER).
    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.ca.der().clone()
    }

    /// The server certificate (PEM, the leaf alone).
    pub fn server_cert_pem(&self) -> &str {
        &self.server_cert_pem
    }

    /// The server certificate's private key (PEM, PKCS#8).
    pub fn server_key_pem(&self) -> &str {
        &self.server_key_pem
    }

    /// The client certificate (PEM, the leaf alone).
    pub fn client_cert_pem(&self) -> &str {
        &self.client_cert_pem
    }

    /// The client certificate's private key (PEM, PKCS#8).
    pub fn client_key_pem(&self) -> &str {
        &self.client_key_pem
    }

    /// Another server certificate from this CA, and its key (PEM): for other names (a
    /// name the client does not connect to), or other dates (expired: `not_after` in the
    /// past; not yet valid: `not_before` in the future).
    ///
    /// Each name that parses as an IP address is an IP address subject alternative name,
    /// any other a DNS name (`*.example.com` is a wildcard); the first is also the common
    /// name. No names gives a certificate that names nothing. Dates outside 1970 to 9999
    /// (what webpki reads) are clamped to them.
    ///
    /// # Panics
    ///
    /// If a name is not ASCII.
    pub fn issue_server(
        &self,
        names: &[&str],
        not_before: SystemTime,
        not_after: SystemTime,
    ) -> (String, String) {
        let names: Vec<String> = names.iter().map(|&name| name.to_owned()).collect();
        let mut params = CertificateParams::new(names.clone())
            .unwrap_or_else(|e| panic!("server certificate names {names:?}: {e}"));
        params.distinguished_name = rcgen::DistinguishedName::new();
        if let Some(first) = names.first() {
            params
                .distinguished_name
                .push(DnType::CommonName, first.as_str());
        }
        set_validity(&mut params, not_before, not_after);
        self.sign(params, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// Another client certificate from this CA, and its key (PEM), with this common name.
    /// Valid from a day ago to a year ahead.
    pub fn issue_client(&self, common_name: &str) -> (String, String) {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let now = SystemTime::now();
        set_validity(&mut params, now - VALID_BEFORE, now + VALID_AFTER);
        self.sign(params, ExtendedKeyUsagePurpose::ClientAuth)
    }

    /// A client configuration that trusts this CA (and only it) and presents the client
    /// certificate.
    pub fn client_tls(&self) -> ClientTls {
        ClientTls::builder()
            .ca_pem(self.ca_pem.as_bytes())
            .client_cert_pem(
                self.client_cert_pem.as_bytes(),
                self.client_key_pem.as_bytes(),
            )
            .build()
            .expect("the test PKI's client configuration")
    }

    /// A client configuration that trusts this CA (and only it) and presents no
    /// certificate.
    pub fn anonymous_client_tls(&self) -> ClientTls {
        ClientTls::builder()
            .ca_pem(self.ca_pem.as_bytes())
            .build()
            .expect("the test PKI's anonymous client configuration")
    }

    /// A server configuration with the server certificate, that requires a client
    /// certificate from this CA.
    pub fn server_tls(&self) -> ServerTls {
        ServerTls::builder()
            .cert_pem(
                self.server_cert_pem.as_bytes(),
                self.server_key_pem.as_bytes(),
            )
            .client_ca_pem(self.ca_pem.as_bytes())
            .build()
            .expect("the test PKI's server configuration")
    }

    /// A server configuration with the server certificate, that asks for no client
    /// certificate.
    pub fn anonymous_server_tls(&self) -> ServerTls {
        ServerTls::builder()
            .cert_pem(
                self.server_cert_pem.as_bytes(),
                self.server_key_pem.as_bytes(),
            )
            .allow_unauthenticated_clients()
            .build()
            .expect("the test PKI's anonymous server configuration")
    }

    /// Writes `ca.pem`, `server.pem`, `server.key`, `client.pem` and `client.key` into
    /// `dir` (created if needed, files replaced), for tools: curl, nginx, openssl,
    /// Python's `ssl`. The keys are created with mode 0600.
    pub fn write_files(&self, dir: &Path) -> io::Result<PkiFiles> {
        fs::create_dir_all(dir)?;
        let files = PkiFiles {
            ca: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
        };
        fs::write(&files.ca, &self.ca_pem)?;
        fs::write(&files.server_cert, &self.server_cert_pem)?;
        write_private(&files.server_key, &self.server_key_pem)?;
        fs::write(&files.client_cert, &self.client_cert_pem)?;
        write_private(&files.client_key, &self.client_key_pem)?;
        Ok(files)
    }

    /// Makes `params` a leaf for `purpose` and signs it with the CA.
    fn sign(
        &self,
        mut params: CertificateParams,
        purpose: ExtendedKeyUsagePurpose,
    ) -> (String, String) {
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![purpose];
        params.use_authority_key_identifier_extension = true;
        let key = new_key();
        let cert = params
            .signed_by(&key, &self.ca, &self.ca_key)
            .expect("rcgen: signing a test certificate");
        (cert.pem(), key.serialize_pem())
    }
}

/// A new ECDSA P-256 key (the serial number rcgen derives from it makes each certificate's
/// unique).
fn new_key() -> KeyPair {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("rcgen: generating a P-256 key")
}

/// `pki ` and the first 8 bytes of the key's public point, in hex.
fn unique_name(key: &KeyPair) -> String {
    // The raw P-256 point starts with 0x04 (uncompressed), the same for every key.
    let point = key.public_key_raw();
    let mut name = String::from("pki ");
    for byte in point.iter().skip(1).take(8) {
        name.push_str(&format!("{byte:02x}"));
    }
    name
}

/// Sets a certificate's validity from `SystemTime`s, clamped to what webpki reads (from
/// 1970 to 9999). rcgen takes the `time` crate's dates but does not re-export the crate,
/// so they are reached from its epoch by adding durations.
fn set_validity(params: &mut CertificateParams, not_before: SystemTime, not_after: SystemTime) {
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    let at = |t: SystemTime| {
        let after = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        epoch + after.min(LATEST)
    };
    params.not_before = at(not_before);
    params.not_after = at(not_after);
}

/// Writes a private key, readable by its owner only.
fn write_private(path: &Path, contents: &str) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}
