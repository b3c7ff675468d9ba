//! WebSockets for live updates: a patient's chat, an agent's console. Each socket forwards its
//! notices; a client too slow to read them is cut off rather than allowed to hold memory, and may
//! reconnect and reload.

use crate::http::AppState;
use crate::http::agent::line;
use crate::http::body::Bearer;
use crate::http::error::ApiError;
use crate::hub::{AgentNotice, PatientNotice};
use crate::queue::Presence;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use futures_util::SinkExt;
use serde::Deserialize;
use serde::Serialize;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

/// A send that takes longer than this means the client is not reading: close it.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Frames are chat-sized; buffers stay small so ten thousand sockets fit in memory.
const BUFFER: usize = 4096;
const MAX_MESSAGE: usize = 64 * 1024;
/// Notices forwarded in one write at most.
const FORWARD_BATCH: usize = 16;
/// How often an agent console's session is checked again.
const SESSION_RECHECK: Duration = Duration::from_secs(30);

fn sized(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    // Frames queue up to a buffer's worth until `forward` flushes them in one write.
    ws.read_buffer_size(BUFFER)
        .write_buffer_size(BUFFER)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
}

async fn send_json<T: Serialize>(socket: &mut WebSocket, value: &T) -> bool {
    let text = match serde_json::to_string(value) {
        Ok(t) => t,
        Err(_) => return false,
    };
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await,
        Ok(Ok(()))
    )
}

/// What a socket is told when it fell so far behind that notices were dropped: reload.
const RESYNC: &str = r#"{"type":"resync"}"#;

/// Forwards a notice and every other one already waiting, then flushes once: a turn's patient
/// message, bot replies and status leave in one write rather than one system call each. False when
/// the socket should close (the client is gone or not reading, or the chat's channel ended: what was
/// queued before the end, such as the closing message and the rating prompt, is still delivered).
async fn forward<T: Serialize>(
    socket: &mut WebSocket,
    first: Result<std::sync::Arc<T>, RecvError>,
    rx: &mut broadcast::Receiver<std::sync::Arc<T>>,
) -> bool {
    let send = async {
        let mut next = Some(first);
        let mut ended = false;
        // At most a batch per write, so a burst cannot hold one socket's task for long.
        for sent in 1..=FORWARD_BATCH {
            let frame = match next.take() {
                Some(Ok(n)) => serde_json::to_string(&*n).map_err(|_| ())?,
                Some(Err(RecvError::Lagged(_))) => RESYNC.to_string(),
                Some(Err(RecvError::Closed)) => {
                    ended = true;
                    break;
                }
                None => break,
            };
            socket.feed(Message::Text(frame.into())).await.map_err(|_| ())?;
            if sent == FORWARD_BATCH {
                break;
            }
            next = match rx.try_recv() {
                Ok(n) => Some(Ok(n)),
                Err(TryRecvError::Lagged(k)) => Some(Err(RecvError::Lagged(k))),
                Err(TryRecvError::Closed) => Some(Err(RecvError::Closed)),
                Err(TryRecvError::Empty) => None,
            };
        }
        socket.flush().await.map_err(|_| ())?;
        Ok::<bool, ()>(!ended)
    };
    matches!(tokio::time::timeout(SEND_TIMEOUT, send).await, Ok(Ok(true)))
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientEvent {
    Typing {
        #[serde(default)]
        chat: Option<String>,
    },
    Status {
        status: String,
    },
    /// A patient's message sent over the chat's socket instead of `POST .../messages`: the same
    /// checks, the same turn, stored before it is answered.
    Message {
        text: String,
        #[serde(default)]
        client_id: Option<String>,
    },
}

/// The answer to a patient's message sent over the socket. The bot's replies follow as `message`
/// notices, as they do for a message sent over REST.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum SentAnswer {
    /// Stored (or, `duplicate`, already stored under this `client_id`).
    Sent { client_id: Option<String>, duplicate: bool },
    /// Refused with the status and reason `POST .../messages` would give; nothing was stored.
    Error {
        status: u16,
        error: String,
        client_id: Option<String>,
    },
}

impl SentAnswer {
    fn of(result: Result<crate::hub::patient::PatientReply, crate::hub::HubError>, client_id: Option<String>) -> SentAnswer {
        match result {
            Ok(reply) => SentAnswer::Sent {
                client_id,
                duplicate: reply.duplicate,
            },
            Err(e) => SentAnswer::refused(ApiError::from(e), client_id),
        }
    }

    fn refused(e: ApiError, client_id: Option<String>) -> SentAnswer {
        SentAnswer::Error {
            status: e.status.as_u16(),
            error: e.message,
            client_id,
        }
    }
}

/// Counts an open socket for as long as it lives.
struct Open<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Open<'a> {
    fn new(count: &'a std::sync::atomic::AtomicUsize) -> Open<'a> {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Open(count)
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The close frame sent when the server stops: clients reconnect and reload (nothing is lost).
fn going_away() -> axum::extract::ws::CloseFrame {
    axum::extract::ws::CloseFrame {
        code: axum::extract::ws::close_code::AWAY,
        reason: "server restarting; reconnect".into(),
    }
}

pub async fn patient(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Bearer(token): Bearer,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let (mut rx, state) = s.hub.patient_follow(&id, &token).await?;
    let mut stopping = s.hub.stopping();
    Ok(sized(ws).on_upgrade(move |mut socket| async move {
        let _open = Open::new(&s.hub.sockets);
        if !send_json(&mut socket, &PatientNotice::Status { state }).await {
            return;
        }
        loop {
            tokio::select! {
                _ = stopping.changed() => {
                    let _ = socket.send(Message::Close(Some(going_away()))).await;
                    break;
                }
                notice = rx.recv() => if !forward(&mut socket, notice, &mut rx).await { break },
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Text(t))) => match serde_json::from_str::<ClientEvent>(&t) {
                        Ok(ClientEvent::Typing { .. }) => s.hub.patient_typing(&id).await,
                        Ok(ClientEvent::Message { text, client_id }) => {
                            // Boxed: a turn's future is kilobytes, and ten thousand idle sockets would each
                            // carry room for it in their own task.
                            let result = Box::pin(s.hub.patient_message(&id, &token, &text, client_id.as_deref())).await;
                            if !send_json(&mut socket, &SentAnswer::of(result, client_id)).await {
                                break;
                            }
                        }
                        Ok(ClientEvent::Status { .. }) => {}
                        Err(e) => {
                            let refused = ApiError::bad_request(format!("not a chat event ({e}): send {{\"type\": \"message\", \"text\": \"...\"}} or {{\"type\": \"typing\"}}"));
                            if !send_json(&mut socket, &SentAnswer::refused(refused, None)).await {
                                break;
                            }
                        }
                    },
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
            }
        }
    }))
}

pub async fn agent(State(s): State<AppState>, Bearer(token): Bearer, ws: WebSocketUpgrade) -> Result<Response, ApiError> {
    let id = line(&s, &token).await?.account.profile.id.clone();
    let mut stopping = s.hub.stopping();
    Ok(sized(ws).on_upgrade(move |mut socket| async move {
        let _open = Open::new(&s.hub.sockets);
        let Some(l) = s.hub.agent(&id) else { return };
        let mut rx = s.hub.agent_follow(&l);
        // A console outlives no session: logged out, disabled or expired closes it.
        let mut recheck = tokio::time::interval(SESSION_RECHECK);
        recheck.tick().await;
        let hello = AgentNotice::Queues {
            queues: s.hub.queues_for(&l),
        };
        if send_json(&mut socket, &hello).await {
            loop {
                tokio::select! {
                    _ = stopping.changed() => {
                        let _ = socket.send(Message::Close(Some(going_away()))).await;
                        break;
                    }
                    _ = recheck.tick() => {
                        if s.hub.caller(&token).await.is_none() {
                            let bye = axum::extract::ws::CloseFrame { code: axum::extract::ws::close_code::POLICY, reason: "session ended; log in again".into() };
                            let _ = socket.send(Message::Close(Some(bye))).await;
                            break;
                        }
                    }
                    notice = rx.recv() => if !forward(&mut socket, notice, &mut rx).await { break },
                    incoming = socket.recv() => match incoming {
                        Some(Ok(Message::Text(t))) => match serde_json::from_str::<ClientEvent>(&t) {
                            Ok(ClientEvent::Typing { chat: Some(chat) }) => { let _ = s.hub.agent_typing(&l, &chat).await; }
                            Ok(ClientEvent::Status { status }) => {
                                let p = match status.as_str() {
                                    "available" => Some(Presence::Available),
                                    "away" => Some(Presence::Away),
                                    "offline" => Some(Presence::Offline),
                                    _ => None,
                                };
                                if let Some(p) = p {
                                    s.hub.set_presence(&id, p);
                                }
                            }
                            _ => {}
                        },
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                        Some(Ok(_)) => {}
                    },
                }
            }
        }
        s.hub.agent_unfollow(&l);
    }))
}
