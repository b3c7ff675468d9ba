//! The HTTP connector against a local stand-in for a health plan's system (a real socket, a real
//! request): answers map to outcomes and slots; timeouts, errors and nonsense are failed actions.

use careline::action::{Actions, Directory};
use careline::engine::ActionResult;
use careline::flow::model::{ActionBackend, ActionSpec, HttpSpec};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

/// Serves one canned HTTP response (after `delay`) and returns the request it received.
fn stand_in(status: &str, body: &str, delay: Duration) -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let (status, body) = (status.to_string(), body.to_string());
    let handle = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 8192];
        let n = sock.read(&mut buf).unwrap();
        let request = String::from_utf8_lossy(&buf[..n]).into_owned();
        std::thread::sleep(delay);
        let _ = write!(
            sock,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        request
    });
    (addr, handle)
}

fn spec(url: &str, timeout_ms: u64) -> ActionSpec {
    ActionSpec {
        name: "refill_status".into(),
        outcomes: vec!["ready".into(), "in_progress".into()],
        outputs: vec!["drug".into()],
        phi: true,
        backend: ActionBackend::Http(HttpSpec {
            method: "POST".into(),
            url: format!("{url}/refills?member={{member_id}}"),
            body: Some(serde_json::json!({"member": "{member_id}"})),
            timeout_ms,
            outcome: "/status".into(),
            outputs: BTreeMap::from([("drug".into(), "/rx/name".into())]),
        }),
    }
}

fn run(spec: &ActionSpec) -> ActionResult {
    let directory = Directory::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo_directory.json")).unwrap();
    let actions = Actions::new(directory);
    let args = BTreeMap::from([("member_id".to_string(), "ABC 123".to_string())]);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(actions.run(spec, &args))
}

#[test]
fn an_answer_maps_to_an_outcome_and_slots_and_the_request_is_templated() {
    let (url, server) = stand_in("200 OK", r#"{"status":"ready","rx":{"name":"Lisinopril 10 mg"}}"#, Duration::ZERO);
    let result = run(&spec(&url, 2000));
    assert_eq!(
        result,
        ActionResult::Done {
            outcome: "ready".into(),
            outputs: BTreeMap::from([("drug".into(), "Lisinopril 10 mg".into())])
        }
    );
    let request = server.join().unwrap();
    assert!(request.starts_with("POST /refills?member=ABC%20123 "), "{request}");
    assert!(request.contains(r#"{"member":"ABC 123"}"#), "{request}");
}

#[test]
fn a_slow_system_is_a_failed_action() {
    let (url, _server) = stand_in("200 OK", r#"{"status":"ready"}"#, Duration::from_millis(800));
    assert!(matches!(run(&spec(&url, 100)), ActionResult::Failed { reason } if reason.contains("timed out")));
}

#[test]
fn an_error_status_is_a_failed_action() {
    let (url, _server) = stand_in("503 Service Unavailable", "{}", Duration::ZERO);
    assert!(matches!(run(&spec(&url, 2000)), ActionResult::Failed { reason } if reason.contains("503")));
}

#[test]
fn an_undeclared_outcome_or_bad_json_is_a_failed_action() {
    let (url, _s) = stand_in("200 OK", r#"{"status":"shipped_to_mars"}"#, Duration::ZERO);
    assert!(matches!(run(&spec(&url, 2000)), ActionResult::Failed { reason } if reason.contains("undeclared outcome")));
    let (url, _s) = stand_in("200 OK", "not json", Duration::ZERO);
    assert!(matches!(run(&spec(&url, 2000)), ActionResult::Failed { reason } if reason.contains("not JSON")));
}

#[test]
fn nothing_listening_is_a_failed_action() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    assert!(matches!(
        run(&spec(&format!("http://127.0.0.1:{port}"), 2000)),
        ActionResult::Failed { .. }
    ));
}
