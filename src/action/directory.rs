//! The built-in demo directory: invented members, prescriptions and appointments from
//! `fixtures/demo_directory.json`, so the shipped flows work out of the box. No real PHI, ever.

use crate::engine::ActionResult;
use crate::text::normalize;
use anyhow::Context;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    members: Vec<Member>,
    prescriptions: Vec<Prescription>,
    appointments: Vec<Appointment>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Member {
    id: String,
    name: String,
    dob: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Prescription {
    member: String,
    drug: String,
    status: String,
    pharmacy: String,
    ready_date: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Appointment {
    member: String,
    date: String,
    time: String,
    provider: String,
    location: String,
}

/// Lookups the directory answers, as `directory:` names them in `careline.yaml`.
pub const LOOKUPS: [&str; 4] = ["verify_member", "refill_status", "next_appointment", "confirm_appointment"];

impl Directory {
    pub fn load(path: &Path) -> anyhow::Result<Directory> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    pub fn lookup(&self, lookup: &str, args: &BTreeMap<String, String>) -> ActionResult {
        let arg = |k: &str| args.get(k).map(String::as_str).unwrap_or("");
        let done = |outcome: &str, outputs: &[(&str, &str)]| ActionResult::Done {
            outcome: outcome.into(),
            outputs: outputs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        };
        let member = self.members.iter().find(|m| m.id.eq_ignore_ascii_case(arg("member_id")));
        match lookup {
            "verify_member" => match member {
                Some(m) if same_name(&m.name, arg("name")) && m.dob == arg("dob") => {
                    let first = m.name.split_whitespace().next().unwrap_or("");
                    done("verified", &[("first_name", first)])
                }
                _ => done("mismatch", &[]),
            },
            "refill_status" => match self.prescriptions.iter().find(|p| member.is_some_and(|m| m.id == p.member)) {
                Some(p) => done(
                    &p.status,
                    &[("drug", &p.drug), ("pharmacy", &p.pharmacy), ("ready_date", &p.ready_date)],
                ),
                None => done("not_found", &[]),
            },
            "next_appointment" => match self.appointments.iter().find(|a| member.is_some_and(|m| m.id == a.member)) {
                Some(a) => done(
                    "found",
                    &[
                        ("appt_date", &a.date),
                        ("appt_time", &a.time),
                        ("provider", &a.provider),
                        ("location", &a.location),
                    ],
                ),
                None => done("none", &[]),
            },
            "confirm_appointment" => match member {
                Some(_) => done("confirmed", &[]),
                None => ActionResult::Failed {
                    reason: "unknown member".into(),
                },
            },
            other => ActionResult::Failed {
                reason: format!("the demo directory has no lookup `{other}`"),
            },
        }
    }
}

/// Names match whatever the case, accents, order or spacing ("garcia maria" = "María García"); a
/// different name never does.
fn same_name(a: &str, b: &str) -> bool {
    let words = |s: &str| {
        let mut w: Vec<String> = normalize(&s.replace(',', " ")).split_whitespace().map(String::from).collect();
        w.sort();
        w
    };
    let (a, b) = (words(a), words(b));
    !a.is_empty() && a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_in_any_order_and_accent_but_not_another_name() {
        assert!(same_name("María García", "garcia, maria"));
        assert!(same_name("Nguyen Van An", "nguyễn văn an"));
        assert!(!same_name("María García", "Mario Garcia"));
        assert!(!same_name("María García", ""));
    }
}
