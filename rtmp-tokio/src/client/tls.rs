//! Whom an RTMPS client trusts, and the TLS handshake over a connected socket.
//!
//! The default trust is Mozilla's root program compiled in (`webpki-roots`): it needs
//! no certificate files on the machine, so a client works the same in a scratch
//! container as on a desktop. Callers wanting the operating system's store (or client
//! certificates) pass their own rustls configuration.

use super::ClientError;
use crate::tls::{certificates_from_pem, provider};
use std::fmt;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{DigitallySignedStruct, SignatureScheme};

/// Whom to trust.
#[derive(Clone, Default)]
pub(crate) enum Trust {
    /// Mozilla's roots (`webpki-roots`).
    #[default]
    WebPki,
    /// Only the certificates of this PEM bundle.
    RootsPem(Vec<u8>),
    /// Anyone (`danger_accept_invalid_certs`).
    AcceptAny,
    /// The caller's configuration.
    Custom(Arc<rustls::ClientConfig>),
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Trust::WebPki => "WebPki",
            Trust::RootsPem(_) => "RootsPem",
            Trust::AcceptAny => "AcceptAny",
            Trust::Custom(_) => "Custom",
        })
    }
}

impl Trust {
    fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, ClientError> {
        let tls_error = |e: &dyn fmt::Display| ClientError::Tls(e.to_string());
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error(&e))?;
        let mut roots = rustls::RootCertStore::empty();
        let config = match self {
            Trust::Custom(config) => return Ok(config.clone()),
            Trust::WebPki => {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                builder.with_root_certificates(roots)
            }
            Trust::RootsPem(pem) => {
                for cert in certificates_from_pem(pem).map_err(|e| tls_error(&e))? {
                    roots.add(cert).map_err(|e| tls_error(&e))?;
                }
                builder.with_root_certificates(roots)
            }
            Trust::AcceptAny => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider()))),
        };
        Ok(Arc::new(config.with_no_client_auth()))
    }
}

/// The TLS handshake with `host` over `tcp`.
pub(crate) async fn connect(
    tcp: TcpStream,
    host: &str,
    trust: &Trust,
) -> Result<TlsStream<TcpStream>, ClientError> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| ClientError::Tls(format!("bad server name {host:?}: {e}")))?;
    let connector = tokio_rustls::TlsConnector::from(trust.client_config()?);
    connector.connect(name, tcp).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidData {
            ClientError::Tls(e.to_string())
        } else {
            e.into()
        }
    })
}

/// Accepts any certificate; signatures are still checked, so the peer holds the key of
/// the certificate it shows (whoever that is).
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
