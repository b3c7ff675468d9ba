//! Whose request this is: the peer's address, or, behind a reverse proxy the deployment lists in
//! `trusted_proxies`, the address that proxy says it forwarded for. The per-address limits, the cap on
//! open chats per address and the audit log all use it: behind a TLS proxy every request arrives from
//! the proxy, and without this one address would hold the whole plan's limits (20 open chats for all
//! patients together).

use crate::config::Network;
use crate::http::AppState;
use crate::http::error::ApiError;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::net::{IpAddr, SocketAddr};

/// The client's address, resolved once per request by [`resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The client's address: when the peer is a trusted proxy, the right-most `X-Forwarded-For` entry
/// that is not itself a trusted proxy; otherwise the peer. Entries left of the first untrusted one
/// are never believed (anyone can write them), and a malformed entry stops the walk at the last
/// address that was sure.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[Network]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    // Several headers are one list, in order.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else { break };
        client = ip.to_canonical();
        if !is_trusted(client) {
            break;
        }
    }
    client
}

/// Middleware: resolves the client's address once, for the limiter and the handlers after it.
pub async fn resolve(State(s): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, mut req: Request, next: Next) -> Response {
    let ip = client_ip(peer.ip(), req.headers(), &s.hub.config.trusted_proxies);
    req.extensions_mut().insert(ClientIp(ip));
    next.run(req).await
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<ClientIp, ApiError> {
        parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the client's address was not resolved"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<Network> {
        list.iter().map(|n| n.parse().expect("a network")).collect()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().expect("a header value"));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn a_peer_that_is_not_a_trusted_proxy_is_the_client_whatever_it_claims() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("203.0.113.9"), &forwarded(&["198.51.100.1"]), &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), &forwarded(&["198.51.100.1"]), &[]),
            ip("10.0.0.2"),
            "no proxies trusted"
        );
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "192.0.2.7"]);
        let peer = ip("10.1.2.3");
        assert_eq!(client_ip(peer, &forwarded(&["198.51.100.1"]), &trusted), ip("198.51.100.1"));
        // A patient who writes the header themselves cannot pick the address that is counted.
        assert_eq!(
            client_ip(peer, &forwarded(&["1.2.3.4, 198.51.100.1, 192.0.2.7"]), &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_ip(peer, &forwarded(&["1.2.3.4", "198.51.100.1"]), &trusted),
            ip("198.51.100.1"),
            "two headers are one list"
        );
        assert_eq!(client_ip(peer, &HeaderMap::new(), &trusted), peer, "no header: the proxy itself");
        assert_eq!(
            client_ip(peer, &forwarded(&["198.51.100.1, not-an-address"]), &trusted),
            peer,
            "a malformed hop is not skipped over"
        );
        assert_eq!(
            client_ip(ip("::ffff:10.1.2.3"), &forwarded(&["2001:db8::1"]), &trusted),
            ip("2001:db8::1"),
            "IPv4 peers seen as IPv6 are matched as IPv4"
        );
    }
}
