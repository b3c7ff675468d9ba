//! The baseline: a bare axum WebSocket echo server, run as its own process so it is measured the way
//! Careline is. Whatever this reaches on the machine is the ceiling for a WebSocket service; Careline's
//! full message path is compared against it.

use axum::Router;
use axum::extract::WebSocketUpgrade;
use axum::extract::ws::Message;
use axum::routing::get;

/// Serves `/echo` on a free loopback port; prints the address, then serves until killed.
pub async fn serve() -> anyhow::Result<()> {
    let app = Router::new().route(
        "/echo",
        get(|ws: WebSocketUpgrade| async {
            ws.on_upgrade(|mut socket| async move {
                while let Some(Ok(msg)) = socket.recv().await {
                    if matches!(msg, Message::Text(_) | Message::Binary(_)) && socket.send(msg).await.is_err() {
                        break;
                    }
                }
            })
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("careline: listening on http://{}", listener.local_addr()?);
    // Sockets set up as Careline's are.
    let listener = axum::serve::ListenerExt::tap_io(listener, crate::http::no_delay);
    axum::serve(listener, app).await?;
    Ok(())
}
