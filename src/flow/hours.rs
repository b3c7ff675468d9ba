//! Opening hours: when a queue is staffed or a flow runs, in the health plan's time zone.

use chrono::{DateTime, Datelike, NaiveTime, Timelike, Utc, Weekday};
use chrono_tz::Tz;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Always,
    /// Open intervals per weekday (Monday first), in minutes since local midnight, `[open, close)`.
    Weekly([Vec<(u16, u16)>; 7]),
}

impl Schedule {
    pub fn is_open(&self, at: DateTime<Utc>, tz: Tz) -> bool {
        match self {
            Schedule::Always => true,
            Schedule::Weekly(days) => {
                let local = at.with_timezone(&tz);
                let minute = (local.hour() * 60 + local.minute()) as u16;
                days[local.weekday().num_days_from_monday() as usize]
                    .iter()
                    .any(|&(open, close)| open <= minute && minute < close)
            }
        }
    }

    /// Parses one day rule's interval, e.g. `"08:00-17:30"`; `"closed"` is no interval.
    pub fn parse_interval(s: &str) -> Result<Option<(u16, u16)>, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("closed") {
            return Ok(None);
        }
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("`{s}` is not an interval like 08:00-17:00"))?;
        let parse = |t: &str| {
            NaiveTime::parse_from_str(t.trim(), "%H:%M")
                .map(|t| (t.hour() * 60 + t.minute()) as u16)
                .or_else(|_| {
                    if t.trim() == "24:00" {
                        Ok(24 * 60)
                    } else {
                        Err(format!("`{}` is not a time like 08:00", t.trim()))
                    }
                })
        };
        let (open, close) = (parse(a)?, parse(b)?);
        if open >= close {
            return Err(format!("`{s}` closes before it opens"));
        }
        Ok(Some((open, close)))
    }

    /// Parses a day spec: `mon-fri`, `sat`, `mon,wed,fri`, `every day`.
    pub fn parse_days(s: &str) -> Result<Vec<Weekday>, String> {
        let s = s.trim().to_ascii_lowercase();
        if s == "every day" || s == "daily" {
            return Ok((0..7).map(weekday).collect());
        }
        let mut out = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (day(a)?, day(b)?);
                    let (a, b) = (a.num_days_from_monday(), b.num_days_from_monday());
                    if a > b {
                        return Err(format!("`{part}` runs backwards; write it Monday first, e.g. mon-fri"));
                    }
                    out.extend((a..=b).map(weekday));
                }
                None => out.push(day(part)?),
            }
        }
        Ok(out)
    }
}

fn weekday(i: u32) -> Weekday {
    Weekday::try_from(i as u8).expect("0..7 is a weekday")
}

fn day(s: &str) -> Result<Weekday, String> {
    s.trim()
        .parse::<Weekday>()
        .map_err(|_| format!("`{s}` is not a day; use mon, tue, wed, thu, fri, sat, sun"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn weekdays_9_to_5() -> Schedule {
        let mut days: [Vec<(u16, u16)>; 7] = Default::default();
        for d in Schedule::parse_days("mon-fri").unwrap() {
            days[d.num_days_from_monday() as usize].push(Schedule::parse_interval("09:00-17:00").unwrap().unwrap());
        }
        Schedule::Weekly(days)
    }

    #[test]
    fn open_hours_follow_the_local_time_zone() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let s = weekdays_9_to_5();
        // Tuesday 2026-11-24 10:00 in New York is 15:00 UTC.
        assert!(s.is_open(Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).unwrap(), tz));
        // Same instant is 07:00 in Los Angeles: closed there.
        assert!(!s.is_open(
            Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).unwrap(),
            "America/Los_Angeles".parse().unwrap()
        ));
        // Saturday.
        assert!(!s.is_open(Utc.with_ymd_and_hms(2026, 11, 28, 15, 0, 0).unwrap(), tz));
        // 17:00 sharp is closed.
        assert!(!s.is_open(Utc.with_ymd_and_hms(2026, 11, 24, 22, 0, 0).unwrap(), tz));
    }

    #[test]
    fn bad_specs_explain_themselves() {
        assert!(Schedule::parse_days("fri-mon").unwrap_err().contains("backwards"));
        assert!(Schedule::parse_days("funday").unwrap_err().contains("not a day"));
        assert!(Schedule::parse_interval("17:00-09:00").unwrap_err().contains("closes before"));
        assert_eq!(Schedule::parse_interval("closed").unwrap(), None);
    }
}
