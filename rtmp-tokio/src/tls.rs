//! RTMPS on the server: [`ServerTls`], a certificate chain and key ready to accept TLS
//! connections, and the PEM reading both roles share. rustls with the `ring` provider.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The crypto provider every TLS config of this crate uses: `ring`, chosen explicitly
/// so that another crate enabling a second provider cannot make rustls ambiguous.
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Every certificate in a PEM bundle, in order.
pub(crate) fn certificates_from_pem(pem: &[u8]) -> io::Result<Vec<CertificateDer<'static>>> {
    let certs = rustls_pemfile::certs(&mut &*pem).collect::<Result<Vec<_>, _>>()?;
    if certs.is_empty() {
        return Err(invalid("no CERTIFICATE block in the PEM data"));
    }
    Ok(certs)
}

fn private_key_from_pem(pem: &[u8]) -> io::Result<PrivateKeyDer<'static>> {
    rustls_pemfile::private_key(&mut &*pem)?
        .ok_or_else(|| invalid("no PRIVATE KEY block (PKCS#8, PKCS#1 or SEC1) in the PEM data"))
}

pub(crate) fn invalid(what: impl fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what.to_string())
}

fn read(path: &Path, what: &str) -> io::Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{what} {}: {e}", path.display())))
}

/// A server certificate chain and private key: what an RTMPS listener presents.
/// Cloning shares it.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: tokio_rustls::TlsAcceptor,
}

impl ServerTls {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key from files.
    pub fn from_pem_files(
        cert_pem_path: impl AsRef<Path>,
        key_pem_path: impl AsRef<Path>,
    ) -> io::Result<ServerTls> {
        let cert = read(cert_pem_path.as_ref(), "certificate")?;
        let key = read(key_pem_path.as_ref(), "private key")?;
        Self::from_pem(&cert, &key)
    }

    /// From a PEM certificate chain (leaf first) and a PEM private key in memory.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> io::Result<ServerTls> {
        let certs = certificates_from_pem(cert_pem)?;
        let key = private_key_from_pem(key_pem)?;
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(invalid)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(invalid)?;
        Ok(Self::from_rustls(Arc::new(config)))
    }

    /// From a rustls server configuration built by the caller (client certificates,
    /// certificate resolvers, protocol versions …).
    pub fn from_rustls(config: Arc<rustls::ServerConfig>) -> ServerTls {
        ServerTls {
            acceptor: tokio_rustls::TlsAcceptor::from(config),
        }
    }

    pub(crate) fn acceptor(&self) -> &tokio_rustls::TlsAcceptor {
        &self.acceptor
    }
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}
