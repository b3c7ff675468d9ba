//! What a patient message must be before triage reads it. The server refuses the rest with a status
//! and this reason; nothing here panics on any bytes.

use std::fmt;

/// The largest message accepted: a long chat message is a few hundred bytes; 4 KiB leaves room for a
/// pasted letter while keeping one message's triage bounded.
pub const MAX_MESSAGE_BYTES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Nothing but whitespace.
    Empty,
    TooLong {
        bytes: usize,
    },
    NotUtf8 {
        at: usize,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Empty => f.write_str("the message is empty"),
            Refusal::TooLong { bytes } => write!(f, "the message is {bytes} bytes; the limit is {MAX_MESSAGE_BYTES}"),
            Refusal::NotUtf8 { at } => write!(f, "the message is not UTF-8 text (invalid byte at offset {at})"),
        }
    }
}

/// The message as text, or why it is refused.
pub fn accept(bytes: &[u8]) -> Result<&str, Refusal> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(Refusal::TooLong { bytes: bytes.len() });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| Refusal::NotUtf8 { at: e.valid_up_to() })?;
    if text.trim().is_empty() {
        return Err(Refusal::Empty);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_with_a_reason() {
        assert_eq!(accept(b"  \n\t"), Err(Refusal::Empty));
        assert_eq!(accept(&[b'a'; 100 * 1024]), Err(Refusal::TooLong { bytes: 102400 }));
        assert_eq!(accept(b"ok \xff\xfe"), Err(Refusal::NotUtf8 { at: 3 }));
        assert_eq!(accept("¿dónde está?".as_bytes()), Ok("¿dónde está?"));
        assert!(Refusal::TooLong { bytes: 5000 }.to_string().contains("4096"));
    }
}
