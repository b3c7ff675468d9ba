//! Per-address request limits: a token bucket per client IP, refilled continuously. A flood from one
//! address gets 429 with `Retry-After`; everyone else is served as before.

use crate::http::client::ClientIp;
use crate::http::error::ApiError;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Buckets kept before full (idle) ones are forgotten: bounds memory under address churn.
const MAX_TRACKED: usize = 50_000;

pub struct IpLimiter {
    per_minute: u32,
    /// Why a std Mutex: one short update per request, never held across an await.
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl IpLimiter {
    pub fn new(per_minute: u32) -> IpLimiter {
        IpLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `ip`; false when its bucket is empty. A limit of 0 means none.
    pub fn admit(&self, ip: IpAddr, now: Instant) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().expect("limiter lock");
        if buckets.len() > MAX_TRACKED {
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * per_second < capacity);
        }
        let (tokens, at) = buckets.entry(ip).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_second).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub async fn limit_by_ip(State(limiter): State<Arc<IpLimiter>>, ClientIp(ip): ClientIp, req: Request, next: Next) -> Response {
    if limiter.admit(ip, Instant::now()) {
        next.run(req).await
    } else {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too many requests from this address; slow down").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_over_the_limit_is_refused_and_recovers_with_time() {
        let l = IpLimiter::new(60);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        assert!((0..60).all(|_| l.admit(ip, t0)));
        assert!(!l.admit(ip, t0));
        assert!(l.admit("10.0.0.2".parse().unwrap(), t0), "other addresses are unaffected");
        assert!(l.admit(ip, t0 + Duration::from_secs(2)), "refills at one per second");
    }
}
