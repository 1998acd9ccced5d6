//! The tests' static file server: `dist/` and mounted folders on
//! 127.0.0.1, optionally cross-origin isolated, with throttled (`slow/`) and
//! broken (`cut/`) downloads.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::{Served, ServedLog, SLOW_BYTES_PER_SECOND};

/// A minimal static file server for `root` (and `mounts`) on 127.0.0.1.
/// `slow/…` serves the same file throttled; `cut/…` sends half of it and
/// hangs up, as a broken connection would.
pub(crate) async fn serve(
    root: PathBuf,
    mounts: Vec<(String, PathBuf)>,
    log: ServedLog,
    isolated: bool,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (root, mounts, log) = (root.clone(), mounts.clone(), log.clone());
            tokio::spawn(async move {
                let _ = answer(stream, &root, &mounts, &log, isolated).await;
            });
        }
    });
    format!("http://{addr}/")
}

async fn answer(
    mut stream: TcpStream,
    root: &Path,
    mounts: &[(String, PathBuf)],
    log: &ServedLog,
    isolated: bool,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 8192];
    let n = stream.read(&mut buf).await?;
    let request = String::from_utf8_lossy(&buf[..n]);
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let path = path
        .split('?')
        .next()
        .unwrap_or("/")
        .trim_start_matches('/');
    let (slow, path) = match path.strip_prefix("slow/") {
        Some(rest) => (true, rest),
        None => (false, path),
    };
    let (cut, path) = match path.strip_prefix("cut/") {
        Some(rest) => (true, rest),
        None => (false, path),
    };
    let path = if path.is_empty() { "index.html" } else { path };
    let file = mounts
        .iter()
        .find_map(|(prefix, dir)| {
            path.strip_prefix(prefix.as_str())
                .map(|rest| dir.join(rest))
        })
        .unwrap_or_else(|| root.join(path));
    let inside = !path.split('/').any(|part| part == "..");
    let (status, body) = match tokio::fs::read(&file).await {
        Ok(body) if inside => (200, body),
        _ => (404, b"not found".to_vec()),
    };
    let header = format!(
        // Any origin may read these files, as the hub allows: a mirror on
        // another address is then held back by the page's policy alone.
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nAccess-Control-Allow-Origin: *\r\n{}Connection: close\r\n\r\n",
        status,
        if status == 200 { "OK" } else { "Not Found" },
        content_type(path),
        body.len(),
        if isolated {
            "Cross-Origin-Opener-Policy: same-origin\r\nCross-Origin-Embedder-Policy: require-corp\r\n"
        } else {
            ""
        }
    );
    let entry = {
        let mut log = log.lock().expect("log");
        log.push(Served {
            path: path.to_string(),
            status,
            body_len: body.len(),
            bytes_sent: 0,
            complete: false,
        });
        log.len() - 1
    };
    stream.write_all(header.as_bytes()).await?;
    let to_send = if cut { body.len() / 2 } else { body.len() };
    let chunk = if slow {
        SLOW_BYTES_PER_SECOND / 20
    } else {
        1 << 20
    };
    let mut sent = 0;
    for piece in body[..to_send].chunks(chunk.max(1)) {
        stream.write_all(piece).await?;
        stream.flush().await?;
        sent += piece.len();
        log.lock().expect("log")[entry].bytes_sent = sent;
        if slow {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    log.lock().expect("log")[entry].complete = sent == body.len();
    stream.shutdown().await
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript",
        "wasm" => "application/wasm",
        "css" => "text/css",
        "json" => "application/json",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}
