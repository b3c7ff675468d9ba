//! Alerts for suspicious access, raised into the audit log and a list admins read: repeated failed
//! logins (per account or per address), identity-verification brute force from one address, and one
//! person opening many patients' records.

use crate::hub::Hub;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// Failed logins for one account or from one address within `WINDOW` before an alert.
const FAILED_LOGINS: usize = 5;
/// Failed verification answers from one address within `WINDOW` (two chats' worth of lockouts).
const VERIFICATION_FAILURES: usize = 6;
/// Different patients' records opened by one person within `WINDOW`.
const PHI_READS: usize = 20;
const WINDOW_MINUTES: i64 = 15;
/// Alerts kept in memory for the admin list (all are in the audit log).
const KEEP: usize = 500;

#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    pub at: DateTime<Utc>,
    pub kind: &'static str,
    /// The account, address or agent concerned.
    pub subject: String,
    pub detail: String,
}

/// Sliding windows of recent events, by subject. Why a std Mutex inside the hub: short updates only.
#[derive(Default)]
pub struct Watch {
    events: HashMap<String, VecDeque<(DateTime<Utc>, String)>>,
    /// When each subject last raised an alert: one alert per window, not one per event.
    raised: HashMap<String, DateTime<Utc>>,
    pub list: VecDeque<Alert>,
}

impl Watch {
    /// Records an event; returns how many distinct `item`s the subject has in the window, if that just
    /// reached `limit` and no alert was raised for it in this window.
    fn bump(&mut self, subject: &str, item: &str, now: DateTime<Utc>, limit: usize) -> Option<usize> {
        let window = chrono::Duration::minutes(WINDOW_MINUTES);
        let q = self.events.entry(subject.to_string()).or_default();
        q.push_back((now, item.to_string()));
        while q.front().is_some_and(|(t, _)| *t <= now - window) {
            q.pop_front();
        }
        let mut distinct: Vec<&str> = q.iter().map(|(_, i)| i.as_str()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let n = distinct.len();
        if n < limit || self.raised.get(subject).is_some_and(|t| *t > now - window) {
            return None;
        }
        self.raised.insert(subject.to_string(), now);
        Some(n)
    }
}

impl Hub {
    async fn raise(&self, kind: &'static str, subject: String, detail: String, ip: Option<IpAddr>) {
        let alert = Alert {
            at: self.clock.now(),
            kind,
            subject: subject.clone(),
            detail: detail.clone(),
        };
        tracing::warn!(kind, subject = %subject, "security alert");
        {
            let mut w = self.watch.lock().expect("watch lock");
            w.list.push_back(alert);
            if w.list.len() > KEEP {
                w.list.pop_front();
            }
        }
        let _ = self
            .audit_now("careline", "alert", format!("{kind}: {subject}: {detail}"), ip)
            .await;
    }

    pub(crate) async fn watch_failed_login(&self, username: &str, ip: Option<IpAddr>) {
        let now = self.clock.now();
        let (by_user, by_ip) = {
            let mut w = self.watch.lock().expect("watch lock");
            let attempt = format!("{}", now.timestamp_nanos_opt().unwrap_or_default());
            let by_user = w.bump(&format!("login:{username}"), &attempt, now, FAILED_LOGINS);
            let by_ip = ip.and_then(|ip| w.bump(&format!("login-ip:{ip}"), &attempt, now, FAILED_LOGINS));
            (by_user, by_ip)
        };
        if let Some(n) = by_user {
            self.raise(
                "failed_logins",
                username.to_string(),
                format!("{n} failed logins in {WINDOW_MINUTES} minutes"),
                ip,
            )
            .await;
        }
        if let (Some(n), Some(ip)) = (by_ip, ip) {
            self.raise(
                "failed_logins_from_address",
                ip.to_string(),
                format!("{n} failed logins in {WINDOW_MINUTES} minutes"),
                Some(ip),
            )
            .await;
        }
    }

    pub(crate) async fn watch_verification_failures(&self, ip: IpAddr, chat: &str, failures: usize) {
        let now = self.clock.now();
        let mut hit = None;
        {
            let mut w = self.watch.lock().expect("watch lock");
            for i in 0..failures {
                let item = format!("{chat}:{}:{i}", now.timestamp_nanos_opt().unwrap_or_default());
                hit = hit.or(w.bump(&format!("verify-ip:{ip}"), &item, now, VERIFICATION_FAILURES));
            }
        }
        if let Some(n) = hit {
            self.raise(
                "verification_brute_force",
                ip.to_string(),
                format!("{n} failed identity answers in {WINDOW_MINUTES} minutes"),
                Some(ip),
            )
            .await;
        }
    }

    pub(crate) async fn watch_phi_read(&self, actor: &str, chat: &str) {
        let now = self.clock.now();
        let hit = self
            .watch
            .lock()
            .expect("watch lock")
            .bump(&format!("phi:{actor}"), chat, now, PHI_READS);
        if let Some(n) = hit {
            self.raise(
                "many_patient_records",
                actor.to_string(),
                format!("{n} patients' records opened in {WINDOW_MINUTES} minutes"),
                None,
            )
            .await;
        }
    }

    pub fn alerts(&self) -> Vec<Alert> {
        self.watch.lock().expect("watch lock").list.iter().rev().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_fires_once_per_window_at_the_threshold() {
        let mut w = Watch::default();
        let t = |s: i64| DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
        let hits: Vec<bool> = (0..8).map(|i| w.bump("phi:ana", &format!("chat{i}"), t(i), 5).is_some()).collect();
        assert_eq!(hits, [false, false, false, false, true, false, false, false]);
        assert!(
            w.bump("phi:ana", "chat1", t(10), 5).is_none(),
            "the same record again is not a new patient"
        );
        assert!(w.bump("phi:ana", "chat99", t(16 * 60), 5).is_none(), "old events left the window");
    }
}
