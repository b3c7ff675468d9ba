//! Transmission security on the real binary: HTTPS with TLS 1.2 and 1.3, HSTS, TLS 1.1 refused at the
//! handshake, and no plain HTTP beyond loopback unless explicitly allowed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
mod common;
use std::time::Duration;

/// A server over HTTPS with a fresh self-signed certificate for `localhost`: the server, its port, and
/// the certificate clients should trust.
fn https_server(dir: &Path) -> (common::Served, u16, String) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    let server = common::serve([
        "--database".as_ref(),
        dir.join("careline.db").as_os_str(),
        "--tls-cert".as_ref(),
        dir.join("cert.pem").as_os_str(),
        "--tls-key".as_ref(),
        dir.join("key.pem").as_os_str(),
    ]);
    assert!(server.base.starts_with("https://127.0.0.1:"), "{}", server.base);
    let port = server.base.rsplit(':').next().unwrap().parse().unwrap();
    (server, port, cert.cert.pem())
}

fn client(ca: &str, version: reqwest::tls::Version, port: u16) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .min_tls_version(version)
        .max_tls_version(version)
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .build()
        .unwrap()
}

#[tokio::test]
async fn https_with_tls_1_2_and_1_3_and_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port, ca) = https_server(dir.path());
    for version in [reqwest::tls::Version::TLS_1_2, reqwest::tls::Version::TLS_1_3] {
        let resp = client(&ca, version, port)
            .post(format!("https://localhost:{}/api/v1/chats", port))
            .json(&serde_json::json!({"text": "what are your hours?"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201, "{version:?}");
        let hsts = resp
            .headers()
            .get("strict-transport-security")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(hsts.contains("max-age=31536000"), "{hsts}");
    }
}

/// A ClientHello by hand (no client library here speaks TLS 1.1), identical but for `version`, with no
/// supported_versions extension: only the legacy version field says what the client speaks.
fn client_hello(version: [u8; 2]) -> Vec<u8> {
    let mut body = version.to_vec();
    body.extend_from_slice(&[7u8; 32]); // random
    body.push(0); // no session id
    body.extend_from_slice(&[0x00, 0x04, 0xc0, 0x2b, 0xc0, 0x2f]); // ECDHE-ECDSA/RSA-AES128-GCM-SHA256
    body.extend_from_slice(&[0x01, 0x00]); // null compression
    let extensions: &[u8] = &[
        0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03, // signature_algorithms: ecdsa_secp256r1_sha256
        0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17, // supported_groups: x25519, secp256r1
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // ec_point_formats: uncompressed
        0xff, 0x01, 0x00, 0x01, 0x00, // renegotiation_info
    ];
    body.extend_from_slice(&[0x00, extensions.len() as u8]);
    body.extend_from_slice(extensions);
    let mut hs = vec![0x01, 0x00, (body.len() >> 8) as u8, body.len() as u8];
    hs.extend(body);
    let mut record = vec![0x16, 0x03, 0x01, (hs.len() >> 8) as u8, hs.len() as u8];
    record.extend(hs);
    record
}

fn first_record(port: u16, hello: &[u8]) -> Vec<u8> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp.write_all(hello).unwrap();
    let mut answer = vec![0u8; 6];
    let n = tcp.read(&mut answer).unwrap_or(0);
    answer.truncate(n);
    answer
}

#[tokio::test]
async fn tls_1_1_is_refused_at_the_handshake_where_1_2_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port, _) = https_server(dir.path());
    let answer = first_record(port, &client_hello([0x03, 0x03]));
    assert_eq!(answer.get(0..1), Some(&[0x16][..]), "TLS 1.2: a handshake record: {answer:02x?}");
    assert_eq!(answer.get(5), Some(&0x02), "TLS 1.2: a ServerHello: {answer:02x?}");
    let answer = first_record(port, &client_hello([0x03, 0x02]));
    assert_eq!(answer.first(), Some(&0x15), "TLS 1.1: an alert, no ServerHello: {answer:02x?}");
}

#[test]
fn plain_http_beyond_loopback_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_careline"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["serve", "--listen", "0.0.0.0:0"])
        .arg("--database")
        .arg(dir.path().join("careline.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to serve plain HTTP") && err.contains("--tls-cert"), "{err}");
}
