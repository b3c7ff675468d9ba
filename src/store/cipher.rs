//! Encryption at rest for what patients wrote and what identifies them: transcripts, chat state (slots),
//! whispers and call-back details. XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`) with a random
//! 24-byte nonce per record and the record's place (table, chat, sequence) as associated data, so a
//! ciphertext copied into another row does not decrypt.
//!
//! Keys live in a keyring file (`id:hex` lines, the last one active) or `CARELINE_KEYS` (same format,
//! `;`-separated). Each record carries its key id, so `careline keys rotate` can add a key, re-encrypt
//! every record with it, then drop the old ones.

use anyhow::Context;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::path::Path;

/// First byte of every sealed value: never the first byte of UTF-8 text, so legacy plaintext rows are
/// told apart (and re-encrypted by `keys rotate`).
const MARK: u8 = 0xC1;
const NONCE: usize = 24;

pub struct Keyring {
    /// (id, cipher); the last is the one new records use.
    keys: Vec<(u32, XChaCha20Poly1305)>,
}

impl Keyring {
    /// Parses `id:hex64` entries separated by newlines or `;`.
    pub fn parse(text: &str) -> anyhow::Result<Keyring> {
        let mut keys = Vec::new();
        for entry in text
            .split(['\n', ';'])
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (id, hex) = entry.split_once(':').context("a key is `id:64 hex digits`")?;
            let id: u32 = id.trim().parse().context("a key id is a number")?;
            let bytes = decode_hex(hex.trim()).context("a key is 64 hex digits (32 bytes)")?;
            anyhow::ensure!(bytes.len() == 32, "key {id} is {} bytes; it must be 32", bytes.len());
            anyhow::ensure!(keys.iter().all(|(k, _)| *k != id), "key id {id} appears twice");
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| anyhow::anyhow!("key {id} has the wrong length"))?;
            keys.push((id, cipher));
        }
        anyhow::ensure!(!keys.is_empty(), "the keyring holds no key");
        Ok(Keyring { keys })
    }

    /// The keyring from `CARELINE_KEYS` if set, else from `path`, created with one new key (readable by
    /// this user only) if it does not exist. Returns whether a key was created.
    pub fn load_or_create(path: &Path) -> anyhow::Result<(Keyring, bool)> {
        if let Ok(text) = std::env::var("CARELINE_KEYS") {
            return Ok((Keyring::parse(&text).context("CARELINE_KEYS")?, false));
        }
        if path.exists() {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            return Ok((Keyring::parse(&text).with_context(|| path.display().to_string())?, false));
        }
        let text = format!("1:{}\n", random_key_hex());
        write_private(path, &text)?;
        Ok((Keyring::parse(&text)?, true))
    }

    /// The active key's id.
    pub fn active(&self) -> u32 {
        self.keys.last().map_or(0, |(id, _)| *id)
    }

    pub fn ids(&self) -> Vec<u32> {
        self.keys.iter().map(|(id, _)| *id).collect()
    }

    /// Seals `plain` with the active key; `place` names where it is stored.
    pub fn seal(&self, plain: &[u8], place: &str) -> Vec<u8> {
        let (id, cipher) = self.keys.last().expect("a keyring is never empty");
        let mut nonce = [0u8; NONCE];
        getrandom::fill(&mut nonce).expect("the operating system's random source");
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: place.as_bytes(),
                },
            )
            .expect("encryption of an in-memory buffer does not fail");
        let mut out = Vec::with_capacity(1 + 4 + NONCE + sealed.len());
        out.push(MARK);
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a sealed value. Fails on plaintext (nobody may slip unsealed data in), a wrong key, a
    /// value moved from another place, or any edited byte.
    pub fn open(&self, stored: &[u8], place: &str) -> anyhow::Result<Vec<u8>> {
        anyhow::ensure!(
            stored.first() == Some(&MARK),
            "{place} is not sealed: refused (run `careline keys rotate` to seal data written before encryption)"
        );
        self.open_sealed(stored, place)
    }

    /// Like `open`, but passes plaintext written before encryption existed through: for `keys rotate`
    /// only, which seals it.
    pub fn open_legacy(&self, stored: &[u8], place: &str) -> anyhow::Result<Vec<u8>> {
        if stored.first() != Some(&MARK) {
            return Ok(stored.to_vec());
        }
        self.open_sealed(stored, place)
    }

    fn open_sealed(&self, stored: &[u8], place: &str) -> anyhow::Result<Vec<u8>> {
        anyhow::ensure!(stored.len() > 1 + 4 + NONCE, "a sealed value is truncated ({place})");
        let id = u32::from_be_bytes(stored[1..5].try_into().expect("4 bytes"));
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(k, _)| *k == id)
            .with_context(|| format!("{place} is sealed with key {id}, which is not in the keyring"))?;
        let nonce: [u8; NONCE] = stored[5..5 + NONCE].try_into().expect("24 bytes");
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &stored[5 + NONCE..],
                    aad: place.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("{place} does not decrypt: edited, moved, or sealed with another key"))
    }

    /// Whether a stored value is sealed with the active key (rotation skips those).
    pub fn is_current(&self, stored: &[u8]) -> bool {
        stored.first() == Some(&MARK) && stored.len() > 5 && u32::from_be_bytes(stored[1..5].try_into().expect("4 bytes")) == self.active()
    }

    /// The keyring file with a new active key appended.
    pub fn with_new_key(text: &str) -> anyhow::Result<String> {
        let ring = Keyring::parse(text)?;
        let next = ring.ids().into_iter().max().unwrap_or(0) + 1;
        Ok(format!("{}\n{next}:{}\n", text.trim_end(), random_key_hex()))
    }
}

fn random_key_hex() -> String {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("the operating system's random source");
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a secret file readable by its owner only.
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Keyring {
        Keyring::parse(&format!("1:{}", "11".repeat(32))).unwrap()
    }

    #[test]
    fn sealed_values_open_only_in_their_place_and_unedited() {
        let k = ring();
        let sealed = k.seal(b"my chest hurts", "messages|c1|3");
        assert!(!sealed.windows(5).any(|w| w == b"chest"));
        assert_eq!(k.open(&sealed, "messages|c1|3").unwrap(), b"my chest hurts");
        assert!(k.open(&sealed, "messages|c2|3").is_err(), "moved to another row");
        let mut edited = sealed.clone();
        *edited.last_mut().unwrap() ^= 1;
        assert!(k.open(&edited, "messages|c1|3").is_err());
        assert!(k.open(b"forged plaintext", "x").is_err(), "unsealed data is refused");
        assert_eq!(k.open_legacy(b"legacy", "x").unwrap(), b"legacy");
    }

    #[test]
    fn a_rotated_keyring_reads_old_records_and_seals_with_the_new_key() {
        let text = format!("1:{}", "11".repeat(32));
        let old = Keyring::parse(&text).unwrap();
        let sealed = old.seal(b"hola", "p");
        let rotated = Keyring::parse(&Keyring::with_new_key(&text).unwrap()).unwrap();
        assert_eq!(rotated.active(), 2);
        assert_eq!(rotated.open(&sealed, "p").unwrap(), b"hola");
        assert!(!rotated.is_current(&sealed));
        assert!(rotated.is_current(&rotated.seal(b"x", "p")));
    }
}
