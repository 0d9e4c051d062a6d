//! A reader for Java KeyStore (`JKS`) files, as `keytool -storetype JKS` writes them.
//!
//! No maintained crate reads JKS with our dependencies (one crate exists; it brings a second
//! ASN.1 stack, an older `p12-keystore` and `thiserror` 1), and the format is small. It was
//! written from the format's description, not from another implementation:
//!
//! ```text
//! u32 magic 0xFEEDFEED, u32 version (1 or 2), u32 entry count, then per entry:
//!   u32 tag (1 = private key, 2 = trusted certificate), UTF alias, u64 date (ms)
//!   tag 1: u32 length + EncryptedPrivateKeyInfo (DER), u32 chain length, certificates
//!   tag 2: one certificate
//!   a certificate (version 2): UTF type ("X.509"), u32 length + DER
//! 20 bytes: SHA-1(password as UTF-16BE ‖ "Mighty Aphrodite" ‖ everything before)
//! ```
//!
//! `UTF` is Java's `writeUTF`: a u16 byte length and modified UTF-8. Private keys are protected
//! with Sun's scheme (algorithm 1.3.6.1.4.1.42.2.17.1.1): the protected bytes are a 20-byte
//! salt, the key XORed with the stream `d1 = SHA-1(pw ‖ salt)`, `d2 = SHA-1(pw ‖ d1)`, …, and
//! a 20-byte check `SHA-1(pw ‖ key)`; the plain key is a PKCS#8 `PrivateKeyInfo`.

use sha1::{Digest, Sha1};

const MAGIC: u32 = 0xFEED_FEED;
const JCEKS_MAGIC: u32 = 0xCECE_CECE;
const INTEGRITY_SALT: &[u8] = b"Mighty Aphrodite";
/// DER of the OID 1.3.6.1.4.1.42.2.17.1.1 (Sun's JKS key protection).
const KEY_PROTECTOR_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x2a, 0x02, 0x11, 0x01, 0x01];
const DIGEST_LEN: usize = 20;

/// Whether `data` starts like a JKS (or JCEKS) file.
pub(crate) fn looks_like_jks(data: &[u8]) -> bool {
    matches!(data.get(..4), Some(m) if m == MAGIC.to_be_bytes() || m == JCEKS_MAGIC.to_be_bytes())
}

/// Why a JKS file cannot be read. The texts never contain the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum JksError {
    #[error("is not a Java KeyStore (JKS) file")]
    NotJks,
    #[error(
        "is a JCEKS store, which this agent does not read; convert it with `keytool -importkeystore -srcstoretype JCEKS -deststoretype PKCS12` and set type: PKCS12"
    )]
    Jceks,
    #[error("has the unknown JKS version {0}")]
    Version(u32),
    #[error("is truncated or damaged ({0})")]
    Malformed(&'static str),
    #[error("failed its integrity check: the password is wrong or the file was changed")]
    Integrity,
    #[error("cannot decrypt the private key `{0}`: the password is wrong")]
    KeyPassword(String),
    #[error("protects the private key `{0}` with an algorithm this agent does not read")]
    KeyAlgorithm(String),
    #[error("holds a `{0}` certificate; only X.509 is supported")]
    CertificateType(String),
}

/// A private key entry: the key (PKCS#8 DER, still protected) and its chain (DER).
#[derive(Debug, Clone)]
pub(crate) struct KeyEntry {
    pub(crate) alias: String,
    protected_key: Vec<u8>,
    pub(crate) chain: Vec<Vec<u8>>,
}

/// The entries of a JKS file.
#[derive(Debug, Clone, Default)]
pub(crate) struct JksStore {
    /// Trusted certificate entries: alias and DER.
    pub(crate) certificates: Vec<(String, Vec<u8>)>,
    /// Private key entries.
    pub(crate) keys: Vec<KeyEntry>,
}

impl JksStore {
    /// Parses `data`; when `password` is `Some`, the integrity check must pass (as
    /// `KeyStore.load(stream, password)` does; `None` skips it, as a `null` password does).
    pub(crate) fn parse(data: &[u8], password: Option<&str>) -> Result<Self, JksError> {
        let mut reader = Reader { data, pos: 0 };
        match reader.u32()? {
            MAGIC => {}
            JCEKS_MAGIC => return Err(JksError::Jceks),
            _ => return Err(JksError::NotJks),
        }
        let version = reader.u32()?;
        if version != 1 && version != 2 {
            return Err(JksError::Version(version));
        }
        let count = reader.u32()?;
        let mut store = Self::default();
        for _ in 0..count {
            let tag = reader.u32()?;
            let alias = reader.utf()?;
            let _date = reader.u64()?;
            match tag {
                1 => {
                    let length = reader.u32()? as usize;
                    let protected_key = reader.bytes(length)?.to_vec();
                    let chain_length = reader.u32()?;
                    let mut chain = Vec::new();
                    for _ in 0..chain_length {
                        chain.push(reader.certificate(version)?);
                    }
                    store.keys.push(KeyEntry {
                        alias,
                        protected_key,
                        chain,
                    });
                }
                2 => {
                    let certificate = reader.certificate(version)?;
                    store.certificates.push((alias, certificate));
                }
                _ => return Err(JksError::Malformed("unknown entry tag")),
            }
        }
        let signed = reader.pos;
        let digest = reader.bytes(DIGEST_LEN)?;
        if reader.pos != data.len() {
            return Err(JksError::Malformed("data after the integrity digest"));
        }
        if let Some(password) = password {
            let mut hash = Sha1::new();
            hash.update(utf16be(password));
            hash.update(INTEGRITY_SALT);
            hash.update(&data[..signed]);
            if hash.finalize().as_slice() != digest {
                return Err(JksError::Integrity);
            }
        }
        Ok(store)
    }
}

impl KeyEntry {
    /// The private key as PKCS#8 DER, decrypted with `password`.
    pub(crate) fn decrypt(&self, password: &str) -> Result<Vec<u8>, JksError> {
        let encrypted = encrypted_key(&self.protected_key)
            .ok_or_else(|| JksError::KeyAlgorithm(self.alias.clone()))?;
        if encrypted.len() < 2 * DIGEST_LEN {
            return Err(JksError::Malformed("protected key too short"));
        }
        let (salt, rest) = encrypted.split_at(DIGEST_LEN);
        let (cipher, check) = rest.split_at(rest.len() - DIGEST_LEN);
        let password = utf16be(password);
        let mut plain = Vec::with_capacity(cipher.len());
        let mut block: Vec<u8> = salt.to_vec();
        for chunk in cipher.chunks(DIGEST_LEN) {
            let mut hash = Sha1::new();
            hash.update(&password);
            hash.update(&block);
            block = hash.finalize().to_vec();
            plain.extend(chunk.iter().zip(&block).map(|(c, k)| c ^ k));
        }
        let mut hash = Sha1::new();
        hash.update(&password);
        hash.update(&plain);
        if hash.finalize().as_slice() != check {
            return Err(JksError::KeyPassword(self.alias.clone()));
        }
        Ok(plain)
    }
}

/// The encrypted bytes of an `EncryptedPrivateKeyInfo` protected with Sun's JKS algorithm:
/// `SEQUENCE { SEQUENCE { OID, NULL? }, OCTET STRING }`.
fn encrypted_key(der: &[u8]) -> Option<&[u8]> {
    let (info, _) = der_element(der, 0x30)?;
    let (algorithm, rest) = der_element(info, 0x30)?;
    let (oid, _) = der_element(algorithm, 0x06)?;
    if oid != KEY_PROTECTOR_OID {
        return None;
    }
    let (octets, _) = der_element(rest, 0x04)?;
    Some(octets)
}

/// One DER element with the expected tag: (contents, what follows).
fn der_element(data: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = data.split_first()?;
    if first != tag {
        return None;
    }
    let (&len, rest) = rest.split_first()?;
    let (length, rest) = if len < 0x80 {
        (usize::from(len), rest)
    } else {
        let octets = usize::from(len & 0x7f);
        if octets == 0 || octets > 4 || rest.len() < octets {
            return None;
        }
        let length = rest[..octets]
            .iter()
            .fold(0usize, |n, b| (n << 8) | usize::from(*b));
        (length, &rest[octets..])
    };
    (rest.len() >= length).then(|| rest.split_at(length))
}

/// A password as Java's `char[]` bytes: UTF-16 big-endian.
fn utf16be(password: &str) -> Vec<u8> {
    password.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], JksError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.data.len())
            .ok_or(JksError::Malformed("unexpected end of file"))?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn u16(&mut self) -> Result<u16, JksError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, JksError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, JksError> {
        let b = self.bytes(8)?;
        let mut array = [0u8; 8];
        array.copy_from_slice(b);
        Ok(u64::from_be_bytes(array))
    }

    /// Java's modified UTF-8 (`writeUTF`); aliases are ASCII in practice, anything odd is
    /// replaced rather than refused.
    fn utf(&mut self) -> Result<String, JksError> {
        let length = usize::from(self.u16()?);
        Ok(String::from_utf8_lossy(self.bytes(length)?).into_owned())
    }

    fn certificate(&mut self, version: u32) -> Result<Vec<u8>, JksError> {
        if version == 2 {
            let kind = self.utf()?;
            if kind != "X.509" {
                return Err(JksError::CertificateType(kind));
            }
        }
        let length = self.u32()? as usize;
        Ok(self.bytes(length)?.to_vec())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Builds a JKS file the way the format describes (the fixtures made by keytool are tested
    /// in `tests/tls.rs`); used here for the damaged-file cases.
    fn build(entries: &[(u32, &str, &[u8])], password: &str) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(MAGIC.to_be_bytes());
        out.extend(2u32.to_be_bytes());
        out.extend((entries.len() as u32).to_be_bytes());
        for (tag, alias, der) in entries {
            out.extend(tag.to_be_bytes());
            out.extend((alias.len() as u16).to_be_bytes());
            out.extend(alias.as_bytes());
            out.extend(0u64.to_be_bytes());
            out.extend(5u16.to_be_bytes());
            out.extend(b"X.509");
            out.extend((der.len() as u32).to_be_bytes());
            out.extend(*der);
        }
        let mut hash = Sha1::new();
        hash.update(utf16be(password));
        hash.update(INTEGRITY_SALT);
        hash.update(&out);
        out.extend(hash.finalize());
        out
    }

    #[test]
    fn trusted_certificates_are_read_and_the_digest_is_checked() {
        let data = build(
            &[(2, "ca", b"\x30\x00"), (2, "other", b"\x30\x01\x00")],
            "pw",
        );
        assert!(looks_like_jks(&data));
        let store = JksStore::parse(&data, Some("pw")).unwrap();
        assert_eq!(store.certificates.len(), 2);
        assert_eq!(
            store.certificates[0],
            ("ca".to_owned(), b"\x30\x00".to_vec())
        );
        assert!(store.keys.is_empty());
        // Without a password the digest is not checked (Java's `load(stream, null)`).
        assert_eq!(JksStore::parse(&data, None).unwrap().certificates.len(), 2);
        assert_eq!(
            JksStore::parse(&data, Some("wrong")).unwrap_err(),
            JksError::Integrity
        );
    }

    #[test]
    fn damaged_files_are_refused() {
        let data = build(&[(2, "ca", b"\x30\x00")], "pw");
        for cut in [3, 11, 20, data.len() - 1] {
            assert!(
                matches!(
                    JksStore::parse(&data[..cut], None),
                    Err(JksError::Malformed(_))
                ),
                "cut at {cut}"
            );
        }
        let mut flipped = data.clone();
        let last_certificate_byte = flipped.len() - DIGEST_LEN - 1;
        flipped[last_certificate_byte] ^= 1;
        assert_eq!(
            JksStore::parse(&flipped, Some("pw")).unwrap_err(),
            JksError::Integrity
        );
        let mut extra = data.clone();
        extra.push(0);
        assert!(JksStore::parse(&extra, None).is_err());
        assert_eq!(
            JksStore::parse(b"\x30\x82\x01\x00", None).unwrap_err(),
            JksError::NotJks
        );
        assert_eq!(
            JksStore::parse(&[0xce, 0xce, 0xce, 0xce, 0, 0, 0, 2], None).unwrap_err(),
            JksError::Jceks
        );
        let mut version = data;
        version[7] = 3;
        assert_eq!(
            JksStore::parse(&version, None).unwrap_err(),
            JksError::Version(3)
        );
    }

    #[test]
    fn a_key_with_another_protection_algorithm_is_named() {
        let entry = KeyEntry {
            alias: "client".to_owned(),
            // SEQUENCE { SEQUENCE { OID 1.2.3 }, OCTET STRING {} }
            protected_key: vec![0x30, 0x08, 0x30, 0x04, 0x06, 0x02, 0x2a, 0x03, 0x04, 0x00],
            chain: Vec::new(),
        };
        assert_eq!(
            entry.decrypt("pw").unwrap_err(),
            JksError::KeyAlgorithm("client".to_owned())
        );
    }
}
