//! A raw HTTP server on 127.0.0.1 that writes a response in chosen pieces, each flushed: to cut
//! a stream where wiremock cannot, such as inside a UTF-8 character.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The head of a streamed response whose body ends when the connection closes.
pub(crate) const SSE_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";

/// Serves one request: writes `parts` one by one, pausing after each so that the client reads
/// them apart, then waits `hold` and closes. Returns the server's URL, `http://127.0.0.1:PORT`:
/// any path on it is served the same.
pub(crate) async fn serve(parts: Vec<Vec<u8>>, hold: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let _ = socket.set_nodelay(true);
        if read_request(&mut socket).await.is_err() {
            return;
        }
        for part in parts {
            if socket.write_all(&part).await.is_err() || socket.flush().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        tokio::time::sleep(hold).await;
    });
    format!("http://{address}")
}

/// Reads a request's head and its `content-length` bytes of body.
async fn read_request(socket: &mut TcpStream) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buffer = [0; 4096];
    let head_end = loop {
        let read = socket.read(&mut buffer).await?;
        if read == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buffer[..read]);
        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    while request.len() < head_end + length {
        let read = socket.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        request.extend_from_slice(&buffer[..read]);
    }
    Ok(())
}
