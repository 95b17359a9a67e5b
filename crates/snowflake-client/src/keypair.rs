//! Key-pair authentication: the JWT Snowflake's drivers send as `TOKEN` with
//! `AUTHENTICATOR=SNOWFLAKE_JWT` (snowflake-connector-python `auth/keypair.py`,
//! gosnowflake `auth.go` `prepareJWTToken`).
//!
//! The key is RSA, PEM-encoded: PKCS#8 (`BEGIN PRIVATE KEY`), encrypted PKCS#8
//! (`BEGIN ENCRYPTED PRIVATE KEY`, with a passphrase) or PKCS#1 (`BEGIN RSA PRIVATE KEY`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use pkcs8::{EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef};
use ring::signature::{KeyPair as _, RsaKeyPair};
use serde::Serialize;

use crate::Secret;

/// How long a JWT is valid, as the drivers' default (`LIFETIME = 60`).
pub(crate) const JWT_LIFETIME_SECONDS: u64 = 60;

/// Why the configured private key cannot be used: the key file or its passphrase is wrong
/// (the user's configuration is at fault). No variant holds key material or the
/// passphrase, in its message or its `Debug`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyError {
    /// The key is not PEM text.
    #[error("not a PEM-encoded key ({0})")]
    NotPem(#[source] pkcs8::der::pem::Error),
    /// A `BEGIN PRIVATE KEY` block that is not an RSA PKCS#8 key.
    #[error("not an RSA PKCS#8 key ({0})")]
    NotPkcs8(ring::error::KeyRejected),
    /// A PKCS#8 key ring accepted whose RSA key the pkcs8 crate cannot take out (not
    /// expected: ring's PKCS#8 parser is the stricter one).
    #[error("not an RSA PKCS#8 key ({0})")]
    Pkcs8Structure(#[source] pkcs8::Error),
    /// An encrypted key, and no passphrase configured.
    #[error("the key is encrypted (BEGIN ENCRYPTED PRIVATE KEY) and no passphrase was given")]
    MissingPassphrase,
    /// A `BEGIN ENCRYPTED PRIVATE KEY` block that is not encrypted PKCS#8.
    #[error("not an encrypted PKCS#8 key ({0})")]
    NotEncryptedPkcs8(#[source] pkcs8::Error),
    /// The passphrase does not decrypt the key (or the key's cipher is not supported).
    #[error("cannot decrypt the key: wrong passphrase or unsupported encryption")]
    WrongPassphrase,
    /// The key decrypted, but to something other than an RSA PKCS#8 key.
    #[error("the decrypted key is not an RSA PKCS#8 key ({0})")]
    DecryptedNotPkcs8(ring::error::KeyRejected),
    /// A `BEGIN RSA PRIVATE KEY` block that is not an RSA PKCS#1 key.
    #[error("not an RSA PKCS#1 key ({0})")]
    NotPkcs1(ring::error::KeyRejected),
    /// A PEM block of another kind (its label, e.g. `CERTIFICATE`).
    #[error("unsupported PEM block `{0}` (expected PRIVATE KEY, ENCRYPTED PRIVATE KEY or RSA PRIVATE KEY)")]
    UnsupportedPemBlock(String),
    /// The key loaded but could not sign the login token.
    #[error("signing the login token failed")]
    Signing,
}

/// An RSA private key ready to sign login tokens.
pub(crate) struct PrivateKey {
    /// The private key as jsonwebtoken signs with it (DER RSAPrivateKey, PKCS#1).
    signing_key: EncodingKey,
    /// The DER RSAPublicKey (PKCS#1) of the key.
    rsa_public_key: Vec<u8>,
}

/// The claims of the login JWT (snowflake-connector-python `AuthByKeyPair.prepare`).
#[derive(Serialize)]
struct Claims {
    /// `<ACCOUNT>.<USER>.SHA256:<fingerprint>`.
    iss: String,
    /// `<ACCOUNT>.<USER>`.
    sub: String,
    iat: u64,
    exp: u64,
}

impl PrivateKey {
    /// Parses a PEM private key; the error says why not, without any key material.
    pub(crate) fn from_pem(pem: &Secret, passphrase: Option<&Secret>) -> Result<PrivateKey, KeyError> {
        let (label, der) = pkcs8::der::pem::decode_vec(pem.expose().trim().as_bytes()).map_err(KeyError::NotPem)?;
        match label {
            "PRIVATE KEY" => from_pkcs8(&der, KeyError::NotPkcs8),
            "ENCRYPTED PRIVATE KEY" => decrypt(&der, passphrase),
            "RSA PRIVATE KEY" => from_pkcs1(der, KeyError::NotPkcs1),
            other => Err(KeyError::UnsupportedPemBlock(other.to_owned())),
        }
    }

    /// The DER SubjectPublicKeyInfo of the public key, as `openssl rsa -pubout -outform
    /// DER` writes it.
    pub(crate) fn public_key_spki_der(&self) -> Vec<u8> {
        // AlgorithmIdentifier { rsaEncryption (1.2.840.113549.1.1.1), NULL }
        const RSA_ALGORITHM: [u8; 15] =
            [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
        let mut bit_string = vec![0u8]; // no unused bits
        bit_string.extend_from_slice(&self.rsa_public_key);
        let mut body = RSA_ALGORITHM.to_vec();
        body.extend(der_tlv(0x03, &bit_string));
        der_tlv(0x30, &body)
    }

    /// `SHA256:<base64 SHA-256 of the DER SubjectPublicKeyInfo>`, the fingerprint
    /// Snowflake stores as the user's RSA_PUBLIC_KEY_FP.
    pub(crate) fn fingerprint(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.public_key_spki_der());
        format!("SHA256:{}", STANDARD.encode(digest.as_ref()))
    }

    /// The RS256 JWT for `account`/`user`, issued at `issued_at` (seconds since the epoch).
    pub(crate) fn jwt(&self, account: &str, user: &str, issued_at: u64) -> Result<String, KeyError> {
        let subject = format!("{}.{}", jwt_account(account), user.to_uppercase());
        let claims = Claims {
            iss: format!("{subject}.{}", self.fingerprint()),
            sub: subject,
            iat: issued_at,
            exp: issued_at + JWT_LIFETIME_SECONDS,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.signing_key).map_err(|_| KeyError::Signing)
    }
}

/// The key of a PKCS#1 RSAPrivateKey document, checked by ring (`rejected` says why not).
fn from_pkcs1(der: Vec<u8>, rejected: fn(ring::error::KeyRejected) -> KeyError) -> Result<PrivateKey, KeyError> {
    let key = RsaKeyPair::from_der(&der).map_err(rejected)?;
    Ok(PrivateKey { rsa_public_key: key.public_key().as_ref().to_vec(), signing_key: EncodingKey::from_rsa_der(&der) })
}

/// The key of a PKCS#8 PrivateKeyInfo document, checked by ring (`rejected` says why not):
/// its RSAPrivateKey, which is what jsonwebtoken signs with.
fn from_pkcs8(der: &[u8], rejected: fn(ring::error::KeyRejected) -> KeyError) -> Result<PrivateKey, KeyError> {
    RsaKeyPair::from_pkcs8(der).map_err(rejected)?;
    let info = PrivateKeyInfoRef::try_from(der).map_err(KeyError::Pkcs8Structure)?;
    from_pkcs1(info.private_key.as_bytes().to_vec(), rejected)
}

/// The RSA key inside an encrypted PKCS#8 document (`der`), decrypted with `passphrase`.
fn decrypt(der: &[u8], passphrase: Option<&Secret>) -> Result<PrivateKey, KeyError> {
    let passphrase = passphrase.ok_or(KeyError::MissingPassphrase)?;
    let info = EncryptedPrivateKeyInfoRef::try_from(der).map_err(KeyError::NotEncryptedPkcs8)?;
    let decrypted = info.decrypt(passphrase.expose().as_bytes()).map_err(|_| KeyError::WrongPassphrase)?;
    from_pkcs8(decrypted.as_bytes(), KeyError::DecryptedNotPkcs8)
}

/// The account part of the JWT claims: the account identifier up to the first `.`
/// (region and cloud dropped), or up to the first `-` for a `.global` account, upper-cased
/// (snowflake-connector-python `AuthByKeyPair.prepare`).
pub(crate) fn jwt_account(account: &str) -> String {
    let account = if account.contains(".global") {
        account.split('-').next().unwrap_or(account)
    } else {
        account.split('.').next().unwrap_or(account)
    };
    account.to_uppercase()
}

/// A DER tag-length-value.
fn der_tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{DecodingKey, Validation};

    // A TEST key made with openssl for these tests only (tests/fixtures/README.md).
    const TEST_KEY: &str = include_str!("../tests/fixtures/test_rsa_key.p8");
    const TEST_KEY_ENCRYPTED: &str = include_str!("../tests/fixtures/test_rsa_key_encrypted.p8");
    const TEST_KEY_PKCS1: &str = include_str!("../tests/fixtures/test_rsa_key_pkcs1.pem");
    const TEST_KEY_PASSPHRASE: &str = "pitwall-test-passphrase";
    // `openssl rsa -in test_rsa_key.p8 -pubout -outform DER | openssl dgst -sha256 -binary | base64`
    const TEST_KEY_FINGERPRINT: &str = include_str!("../tests/fixtures/test_rsa_key.fingerprint");

    fn decode_segment(segment: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
    }

    #[test]
    fn fingerprint_matches_openssl_for_the_der_subject_public_key_info() {
        let key = PrivateKey::from_pem(&Secret::new(TEST_KEY), None).unwrap();
        assert_eq!(key.fingerprint(), format!("SHA256:{}", TEST_KEY_FINGERPRINT.trim()));
    }

    #[test]
    fn encrypted_and_pkcs1_keys_load_to_the_same_key() {
        let plain = PrivateKey::from_pem(&Secret::new(TEST_KEY), None).unwrap();
        let encrypted =
            PrivateKey::from_pem(&Secret::new(TEST_KEY_ENCRYPTED), Some(&Secret::new(TEST_KEY_PASSPHRASE))).unwrap();
        let pkcs1 = PrivateKey::from_pem(&Secret::new(TEST_KEY_PKCS1), None).unwrap();
        assert_eq!(encrypted.fingerprint(), plain.fingerprint());
        assert_eq!(pkcs1.fingerprint(), plain.fingerprint());
    }

    #[test]
    fn encrypted_key_without_or_with_a_wrong_passphrase_is_refused_without_key_material() {
        let missing = PrivateKey::from_pem(&Secret::new(TEST_KEY_ENCRYPTED), None).err().unwrap().to_string();
        assert!(missing.contains("no passphrase"), "{missing}");
        let wrong = PrivateKey::from_pem(&Secret::new(TEST_KEY_ENCRYPTED), Some(&Secret::new("nope")))
            .err()
            .unwrap()
            .to_string();
        assert!(wrong.contains("wrong passphrase"), "{wrong}");
        let garbage = PrivateKey::from_pem(&Secret::new("not a key"), None).err().unwrap().to_string();
        assert!(!garbage.contains("not a key"), "the input must not be echoed: {garbage}");
    }

    #[test]
    fn jwt_has_the_drivers_claims_and_verifies_with_the_public_key() {
        let key = PrivateKey::from_pem(&Secret::new(TEST_KEY), None).unwrap();
        let token = key.jwt("xy12345.eu-west-1.aws", "pitwall_user", 1_700_000_000).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(decode_segment(parts[0]), serde_json::json!({"alg": "RS256", "typ": "JWT"}));
        let fingerprint = format!("SHA256:{}", TEST_KEY_FINGERPRINT.trim());
        assert_eq!(
            decode_segment(parts[1]),
            serde_json::json!({
                "iss": format!("XY12345.PITWALL_USER.{fingerprint}"),
                "sub": "XY12345.PITWALL_USER",
                "iat": 1_700_000_000u64,
                "exp": 1_700_000_060u64,
            })
        );
        // The signature verifies with the public key (the token is long expired: no exp check).
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        let public_key = DecodingKey::from_rsa_der(&key.rsa_public_key);
        let verified = jsonwebtoken::decode::<serde_json::Value>(&token, &public_key, &validation).unwrap();
        assert_eq!(verified.claims["sub"], "XY12345.PITWALL_USER");
        let other =
            PrivateKey::from_pem(&Secret::new(TEST_KEY), None).unwrap().jwt("other", "u", 1_700_000_000).unwrap();
        let forged = format!("{}.{}.{}", parts[0], other.split('.').nth(1).unwrap(), parts[2]);
        assert!(jsonwebtoken::decode::<serde_json::Value>(&forged, &public_key, &validation).is_err());
    }

    #[test]
    fn jwt_account_drops_region_and_global_suffix() {
        assert_eq!(jwt_account("pitwall"), "PITWALL");
        assert_eq!(jwt_account("xy12345.eu-west-1"), "XY12345");
        assert_eq!(jwt_account("myorg-account.global"), "MYORG");
    }
}
