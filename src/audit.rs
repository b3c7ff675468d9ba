//! The audit log's tamper evidence, pure. Each record's hash covers its fields and the previous record's
//! hash, and ids run without gaps, so editing, deleting or reordering a record breaks the chain at that
//! point. A rewrite of the whole tail is caught by comparing the head hash with one noted earlier
//! (`careline audit verify` prints it; `--expect-head` checks it).

use crate::store::AuditRecord;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// A stored record with its place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chained {
    pub id: i64,
    #[serde(flatten)]
    pub record: AuditRecord,
    #[serde(serialize_with = "hex")]
    pub prev_hash: Vec<u8>,
    #[serde(serialize_with = "hex")]
    pub hash: Vec<u8>,
}

fn hex<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&to_hex(v))
}

pub fn to_hex(v: &[u8]) -> String {
    v.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hash of record `id` following `prev`. Fields are length-prefixed so no two records collide by
/// shifting text between fields.
pub fn link(prev: &[u8], id: i64, r: &AuditRecord) -> Vec<u8> {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    field(prev);
    field(&id.to_be_bytes());
    field(&r.at.timestamp_millis().to_be_bytes());
    field(r.chat.as_deref().unwrap_or("").as_bytes());
    field(r.actor.as_bytes());
    field(r.kind.as_bytes());
    field(r.detail.as_bytes());
    field(r.ip.as_deref().unwrap_or("").as_bytes());
    h.finalize().to_vec()
}

#[derive(Debug, Default, Serialize)]
pub struct Verification {
    pub records: usize,
    /// Records from before the chain existed (no hash).
    pub unchained: usize,
    pub head_id: i64,
    pub head_hash: String,
    /// Every break found, by record id.
    pub problems: Vec<String>,
}

impl Verification {
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks a whole log, oldest first.
pub fn verify(records: &[Chained]) -> Verification {
    let mut v = Verification {
        records: records.len(),
        ..Verification::default()
    };
    let mut prev: Option<&Chained> = None;
    for r in records {
        if r.hash.is_empty() {
            v.unchained += 1;
            if prev.is_some() {
                v.problems.push(format!("record {}: has no hash inside the chain", r.id));
            }
            continue;
        }
        if prev.is_none() {
            // The chain's first record: nothing before it, and every earlier id is an unchained record.
            if !r.prev_hash.is_empty() {
                v.problems.push(format!(
                    "record {}: the chain's first record points to a record that is gone (the head of the log was deleted)",
                    r.id
                ));
            }
            if r.id != v.unchained as i64 + 1 {
                v.problems.push(format!("records before {} are missing (deleted)", r.id));
            }
        }
        if let Some(p) = prev {
            if r.id != p.id + 1 {
                v.problems
                    .push(format!("records {} to {} are missing (deleted)", p.id + 1, r.id - 1));
            }
            if r.prev_hash != p.hash {
                v.problems.push(format!(
                    "record {}: does not follow record {} (a record before it was edited, deleted or reordered)",
                    r.id, p.id
                ));
            }
        }
        if link(&r.prev_hash, r.id, &r.record) != r.hash {
            v.problems
                .push(format!("record {}: its content does not match its hash (edited)", r.id));
        }
        prev = Some(r);
    }
    if let Some(p) = prev {
        v.head_id = p.id;
        v.head_hash = to_hex(&p.hash);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::from_millis;

    fn chain(n: i64) -> Vec<Chained> {
        let mut prev = Vec::new();
        (1..=n)
            .map(|id| {
                let record = AuditRecord {
                    at: from_millis(id * 1000),
                    chat: Some("c1".into()),
                    actor: "ana".into(),
                    kind: "phi_read".into(),
                    detail: format!("read {id}"),
                    ip: Some("10.0.0.1".into()),
                };
                let hash = link(&prev, id, &record);
                let c = Chained {
                    id,
                    record,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                c
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        let v = verify(&chain(5));
        assert!(v.intact(), "{:?}", v.problems);
        assert_eq!(v.head_id, 5);
    }

    #[test]
    fn edits_deletions_and_reorders_are_each_detected() {
        let mut edited = chain(5);
        edited[2].record.actor = "mallory".into();
        assert!(
            verify(&edited)
                .problems
                .iter()
                .any(|p| p.contains("record 3") && p.contains("edited"))
        );

        let mut deleted = chain(5);
        deleted.remove(2);
        assert!(verify(&deleted).problems.iter().any(|p| p.contains("missing")));

        let mut swapped = chain(5);
        swapped.swap(1, 2);
        assert!(!verify(&swapped).intact());

        let mut headless = chain(5);
        headless.remove(0);
        assert!(!verify(&headless).intact(), "the first record deleted");

        let mut unhashed = chain(5);
        unhashed[0].hash.clear();
        assert!(!verify(&unhashed).intact(), "the first record's hash blanked to pass as pre-chain");
    }
}
