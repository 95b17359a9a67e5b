//! Snowflake's client-side encryption of staged files (snowflake-connector-python
//! `encryption_util.py` `SnowflakeEncryptionUtil.encrypt_stream`, gosnowflake
//! `encrypt_util.go`): the content is AES-CBC (PKCS#7 padding) under a random file key of
//! the master key's length with a random 16-byte IV; the file key, PKCS#5-padded, is
//! AES-ECB-encrypted under the stage's master key (`queryStageMasterKey`, base64). The
//! storage object carries the encrypted key, the IV and a material descriptor as metadata.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{Array, BlockCipherEncrypt, BlockModeEncrypt, KeyInit, KeyIvInit};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::rand::{SecureRandom, SystemRandom};

const BLOCK: usize = 16;

/// Why a file could not be encrypted for its stage. The stage's master key comes from
/// Snowflake's PUT response, so a malformed one is the server's fault; the other variants
/// are the machine's (no randomness) or cannot happen with a checked key. No variant holds
/// key material.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EncryptionError {
    /// The operating system gave no random bytes for `what` (the IV or the file key).
    #[error("no random bytes for {what}")]
    NoRandomness { what: &'static str },
    /// The server sent a `queryStageMasterKey` that is not base64.
    #[error("the stage's master key is not base64")]
    MasterKeyNotBase64,
    /// The server sent a master key of a length AES does not take.
    #[error("the stage's master key has {0} bytes; AES needs 16, 24 or 32")]
    MasterKeyLength(usize),
    /// An AES key of a length AES does not take (the master key is checked before).
    #[error("AES key of {0} bytes")]
    KeyLength(usize),
    /// The cipher refused the key or IV (cannot happen with a checked key).
    #[error("bad AES key or IV length")]
    KeyOrIvLength,
    /// The block cipher refused the key (cannot happen with a checked key).
    #[error("bad AES key length")]
    BlockKeyLength,
    /// A block of the wrong size (cannot happen: the data is padded to whole blocks).
    #[error("partial block")]
    PartialBlock,
    /// PKCS#7 padding failed (cannot happen: the buffer has room for a block).
    #[error(transparent)]
    Padding(aes::cipher::inout::PadError),
}

/// The stage's key material from a PUT response (`encryptionMaterial`).
#[derive(Clone)]
pub(crate) struct Material {
    /// `queryStageMasterKey`: base64 of a 16, 24 or 32 byte AES key.
    pub(crate) master_key_base64: String,
    pub(crate) query_id: String,
    /// `smkId`, as text.
    pub(crate) smk_id: String,
}

/// What the storage object must carry for Snowflake to decrypt it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Metadata {
    /// base64 of the encrypted file key (`x-amz-key`).
    pub(crate) key: String,
    /// base64 of the IV (`x-amz-iv`).
    pub(crate) iv: String,
    /// `{"queryId":..,"smkId":"..","keySize":".."}` (`x-amz-matdesc`).
    pub(crate) matdesc: String,
}

/// Encrypts `plaintext` with fresh random key and IV.
pub(crate) fn encrypt(material: &Material, plaintext: &[u8]) -> Result<(Vec<u8>, Metadata), EncryptionError> {
    let master_key = decode_master_key(material)?;
    let rng = SystemRandom::new();
    let mut iv = [0u8; BLOCK];
    let mut file_key = vec![0u8; master_key.len()];
    rng.fill(&mut iv).map_err(|_| EncryptionError::NoRandomness { what: "the IV" })?;
    rng.fill(&mut file_key).map_err(|_| EncryptionError::NoRandomness { what: "the file key" })?;
    encrypt_with(material, &master_key, &file_key, &iv, plaintext)
}

fn decode_master_key(material: &Material) -> Result<Vec<u8>, EncryptionError> {
    let key = STANDARD.decode(material.master_key_base64.trim()).map_err(|_| EncryptionError::MasterKeyNotBase64)?;
    match key.len() {
        16 | 24 | 32 => Ok(key),
        n => Err(EncryptionError::MasterKeyLength(n)),
    }
}

/// [`encrypt`] with given file key and IV (the known-answer test fixes them).
fn encrypt_with(
    material: &Material,
    master_key: &[u8],
    file_key: &[u8],
    iv: &[u8; BLOCK],
    plaintext: &[u8],
) -> Result<(Vec<u8>, Metadata), EncryptionError> {
    let ciphertext = cbc_encrypt(file_key, iv, plaintext)?;
    let mut padded_key = file_key.to_vec();
    let pad = BLOCK - padded_key.len() % BLOCK;
    padded_key.extend(std::iter::repeat_n(pad as u8, pad));
    ecb_encrypt(master_key, &mut padded_key)?;
    // Key order as the connector writes it (`matdesc_to_unicode`), all values strings.
    let text = |s: &str| serde_json::Value::from(s).to_string();
    let matdesc = format!(
        "{{\"queryId\":{},\"smkId\":{},\"keySize\":{}}}",
        text(&material.query_id),
        text(&material.smk_id),
        text(&(master_key.len() * 8).to_string())
    );
    let metadata = Metadata { key: STANDARD.encode(&padded_key), iv: STANDARD.encode(iv), matdesc };
    Ok((ciphertext, metadata))
}

fn cbc_encrypt(key: &[u8], iv: &[u8; BLOCK], plaintext: &[u8]) -> Result<Vec<u8>, EncryptionError> {
    fn run<C: BlockModeEncrypt + KeyIvInit>(
        key: &[u8],
        iv: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, EncryptionError> {
        let cipher = C::new_from_slices(key, iv).map_err(|_| EncryptionError::KeyOrIvLength)?;
        let mut buffer = plaintext.to_vec();
        buffer.resize(plaintext.len() + BLOCK - plaintext.len() % BLOCK, 0);
        let length =
            cipher.encrypt_padded::<Pkcs7>(&mut buffer, plaintext.len()).map_err(EncryptionError::Padding)?.len();
        buffer.truncate(length);
        Ok(buffer)
    }
    match key.len() {
        16 => run::<cbc::Encryptor<aes::Aes128>>(key, iv, plaintext),
        24 => run::<cbc::Encryptor<aes::Aes192>>(key, iv, plaintext),
        32 => run::<cbc::Encryptor<aes::Aes256>>(key, iv, plaintext),
        n => Err(EncryptionError::KeyLength(n)),
    }
}

/// AES-ECB in place; `data` is a whole number of blocks.
fn ecb_encrypt(key: &[u8], data: &mut [u8]) -> Result<(), EncryptionError> {
    fn run<C: BlockCipherEncrypt + KeyInit>(key: &[u8], data: &mut [u8]) -> Result<(), EncryptionError> {
        let cipher = C::new_from_slice(key).map_err(|_| EncryptionError::BlockKeyLength)?;
        for chunk in data.chunks_exact_mut(BLOCK) {
            let mut block = Array::try_from(&*chunk).map_err(|_| EncryptionError::PartialBlock)?;
            cipher.encrypt_block(&mut block);
            chunk.copy_from_slice(&block);
        }
        Ok(())
    }
    match key.len() {
        16 => run::<aes::Aes128>(key, data),
        24 => run::<aes::Aes192>(key, data),
        32 => run::<aes::Aes256>(key, data),
        n => Err(EncryptionError::KeyLength(n)),
    }
}

/// `sfc-digest`: base64 of the SHA-256 of the plaintext (snowflake-connector-python
/// `SnowflakeFileUtil.get_digest_and_size`).
pub(crate) fn sfc_digest(plaintext: &[u8]) -> String {
    STANDARD.encode(ring::digest::digest(&ring::digest::SHA256, plaintext).as_ref())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aes::cipher::{BlockCipherDecrypt, BlockModeDecrypt};

    /// Test-only decryption, as `SnowflakeEncryptionUtil.decrypt_stream` does it.
    pub(crate) fn decrypt(master_key_base64: &str, metadata: &Metadata, ciphertext: &[u8]) -> Vec<u8> {
        let master_key = STANDARD.decode(master_key_base64).unwrap();
        let mut file_key = STANDARD.decode(&metadata.key).unwrap();
        let iv = STANDARD.decode(&metadata.iv).unwrap();
        assert_eq!(master_key.len(), 32, "the tests use AES-256 master keys");
        let cipher = aes::Aes256::new_from_slice(&master_key).unwrap();
        for chunk in file_key.chunks_exact_mut(BLOCK) {
            let mut block = Array::try_from(&*chunk).unwrap();
            cipher.decrypt_block(&mut block);
            chunk.copy_from_slice(&block);
        }
        let pad = *file_key.last().unwrap() as usize;
        file_key.truncate(file_key.len() - pad);
        let mut buffer = ciphertext.to_vec();
        let plain = cbc::Decryptor::<aes::Aes256>::new_from_slices(&file_key, &iv)
            .unwrap()
            .decrypt_padded::<Pkcs7>(&mut buffer)
            .unwrap();
        plain.to_vec()
    }

    fn fixture() -> serde_json::Value {
        serde_json::from_str(include_str!("../tests/fixtures/encryption_fixture.json")).unwrap()
    }

    fn b64(value: &serde_json::Value) -> Vec<u8> {
        STANDARD.decode(value.as_str().unwrap()).unwrap()
    }

    fn material(fixture: &serde_json::Value) -> Material {
        Material {
            master_key_base64: fixture["query_stage_master_key"].as_str().unwrap().to_owned(),
            query_id: fixture["query_id"].as_str().unwrap().to_owned(),
            smk_id: fixture["smk_id"].to_string(),
        }
    }

    #[test]
    fn matches_snowflake_connector_python_byte_for_byte_with_fixed_key_and_iv() {
        let fixture = fixture();
        let material = material(&fixture);
        let iv: [u8; BLOCK] = b64(&fixture["iv"]).try_into().unwrap();
        let (ciphertext, metadata) = encrypt_with(
            &material,
            &b64(&fixture["query_stage_master_key"]),
            &b64(&fixture["file_key"]),
            &iv,
            &b64(&fixture["plaintext"]),
        )
        .unwrap();
        assert_eq!(STANDARD.encode(&ciphertext), fixture["ciphertext"].as_str().unwrap());
        assert_eq!(metadata.key, fixture["metadata"]["key"].as_str().unwrap());
        assert_eq!(metadata.iv, fixture["metadata"]["iv"].as_str().unwrap());
        assert_eq!(metadata.matdesc, fixture["metadata"]["matdesc"].as_str().unwrap());
        assert_eq!(sfc_digest(&b64(&fixture["plaintext"])), fixture["sfc_digest"].as_str().unwrap());
    }

    #[test]
    fn random_key_and_iv_round_trip_for_every_length_around_a_block() {
        let fixture = fixture();
        let material = material(&fixture);
        for length in [0, 1, 15, 16, 17, 31, 32, 33, 1000] {
            let plaintext: Vec<u8> = (0..length).map(|i| (i * 7 % 251) as u8).collect();
            let (ciphertext, metadata) = encrypt(&material, &plaintext).unwrap();
            assert_eq!(ciphertext.len(), (length / BLOCK + 1) * BLOCK, "PKCS#7 always pads");
            assert_eq!(decrypt(&material.master_key_base64, &metadata, &ciphertext), plaintext);
        }
        let (_, first) = encrypt(&material, b"same").unwrap();
        let (_, second) = encrypt(&material, b"same").unwrap();
        assert_ne!(first.key, second.key, "every file gets its own key");
        assert_ne!(first.iv, second.iv, "and its own IV");
    }

    #[test]
    fn a_master_key_of_a_wrong_length_is_refused() {
        let material =
            Material { master_key_base64: STANDARD.encode([1u8; 20]), query_id: "q".into(), smk_id: "1".into() };
        assert!(encrypt(&material, b"x").unwrap_err().to_string().contains("20 bytes"));
    }
}
