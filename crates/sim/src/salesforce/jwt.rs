//! RS256 JSON Web Tokens as the OAuth 2.0 JWT bearer flow uses them: the org checks an
//! assertion's signature with the public key of the connected app's X.509 certificate;
//! clients (and tests) sign with the matching private key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};

/// A connected app's certificate: the key its assertions must be signed with.
#[derive(Debug, Clone)]
pub struct Certificate {
    der: Vec<u8>,
}

impl Certificate {
    /// Reads the first certificate of a PEM text (text around it is ignored).
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let der = CertificateDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| format!("no X.509 certificate in the PEM text: {e}"))?;
        webpki::EndEntityCert::try_from(&der)
            .map_err(|e| format!("the certificate cannot be read: {e}"))?;
        Ok(Self {
            der: der.as_ref().to_vec(),
        })
    }

    /// Whether `signature` is an RS256 signature of `signed` by this certificate's key.
    pub fn verifies(&self, signed: &[u8], signature: &[u8]) -> bool {
        let der = CertificateDer::from(self.der.as_slice());
        webpki::EndEntityCert::try_from(&der).is_ok_and(|cert| {
            cert.verify_signature(webpki::ring::RSA_PKCS1_2048_8192_SHA256, signed, signature)
                .is_ok()
        })
    }
}

/// A JWT taken apart, not yet verified.
#[derive(Debug, Clone)]
pub struct Jwt {
    pub header: Value,
    pub claims: Value,
    /// `header.claims` as sent: what the signature covers.
    pub signed: String,
    pub signature: Vec<u8>,
}

/// Takes a compact JWS apart; `None` when it is not three base64url parts of which the
/// first two are JSON objects.
pub fn decode(token: &str) -> Option<Jwt> {
    let mut parts = token.trim().split('.');
    let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let b64 = |part: &str| URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok();
    let object = |part: &str| -> Option<Value> {
        serde_json::from_slice::<Value>(&b64(part)?)
            .ok()
            .filter(Value::is_object)
    };
    Some(Jwt {
        header: object(h)?,
        claims: object(c)?,
        signed: format!("{h}.{c}"),
        signature: b64(s)?,
    })
}

/// The claims Salesforce's JWT bearer flow reads: the connected app's consumer key, the
/// username, the login URL, and the expiry in Unix seconds.
pub fn claims(consumer_key: &str, username: &str, audience: &str, exp: i64) -> Value {
    json!({ "iss": consumer_key, "sub": username, "aud": audience, "exp": exp })
}

/// Signs `claims` with an RSA private key (PEM, PKCS#8 or PKCS#1): a compact RS256 JWS,
/// as a client of the JWT bearer flow sends it as `assertion`.
pub fn sign(private_key_pem: &str, claims: &Value) -> Result<String, String> {
    use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
    let key = match PrivateKeyDer::from_pem_slice(private_key_pem.as_bytes())
        .map_err(|e| format!("no private key in the PEM text: {e}"))?
    {
        PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
        _ => return Err("not an RSA private key".into()),
    }
    .map_err(|e| format!("not a usable RSA private key: {e}"))?;
    let header = URL_SAFE_NO_PAD.encode(json!({ "alg": "RS256" }).to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signed = format!("{header}.{body}");
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signed.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "signing failed".to_string())?;
    Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::{DEMO_CERT_PEM, DEMO_KEY_PEM};

    #[test]
    fn the_demo_key_signs_what_the_demo_certificate_verifies() {
        let cert = Certificate::from_pem(DEMO_CERT_PEM).unwrap();
        let token = sign(DEMO_KEY_PEM, &claims("a", "b", "c", 1)).unwrap();
        let jwt = decode(&token).unwrap();
        assert_eq!(jwt.header["alg"], "RS256");
        assert_eq!(jwt.claims["sub"], "b");
        assert!(cert.verifies(jwt.signed.as_bytes(), &jwt.signature));
        let mut bad = jwt.signature.clone();
        bad[10] ^= 1;
        assert!(!cert.verifies(jwt.signed.as_bytes(), &bad));
        assert!(!cert.verifies(b"something else", &jwt.signature));
        assert!(decode("a.b").is_none());
        assert!(decode("not.base64!.x").is_none());
        assert!(Certificate::from_pem("no pem here").is_err());
        assert!(
            Certificate::from_pem(DEMO_KEY_PEM).is_err(),
            "a key is no certificate"
        );
    }
}
