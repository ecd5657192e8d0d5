//! A real headless Chromium, driven over the DevTools protocol: open a page, wait for what it
//! shows, run script in it, collect its JavaScript errors, save a screenshot.
//!
//! Only the handful of protocol commands the console tests need, over one WebSocket (a CDP
//! client crate would bring the whole generated protocol, minutes of compiling on 2 cores).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The Chromium binary, if the machine has one. Under CI it must (`.ci/run` installs it).
pub(crate) fn chromium() -> Option<PathBuf> {
    let dirs: Vec<PathBuf> =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect();
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|path| path.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium (.ci/run does)"
        );
        eprintln!("note: no chromium on PATH; browser test skipped (apt-get install chromium)");
    }
    found
}

/// A browser with one page open.
pub(crate) struct Browser {
    _process: Child,
    _profile: tempfile::TempDir,
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    /// JavaScript errors and failed loads the page reported.
    pub(crate) errors: Vec<String>,
}

impl Browser {
    pub(crate) async fn start(binary: &Path) -> Browser {
        let profile = tempfile::tempdir().expect("a profile directory");
        let mut process = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--window-size=1280,1000",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("chromium starts");
        let mut lines = BufReader::new(process.stderr.take().expect("stderr")).lines();
        let url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("reads stderr") {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    return url.to_owned();
                }
            }
            panic!("chromium exited without a DevTools address")
        })
        .await
        .expect("chromium starts within 30 s");
        // Keep draining its stderr, so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let (socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("connects to DevTools");
        let mut browser = Browser {
            _process: process,
            _profile: profile,
            socket,
            session: String::new(),
            next_id: 0,
            errors: Vec::new(),
        };
        let target = browser
            .send_to(None, "Target.createTarget", json!({ "url": "about:blank" }))
            .await;
        let attached = browser
            .send_to(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target["targetId"], "flatten": true }),
            )
            .await;
        browser.session = attached["sessionId"]
            .as_str()
            .expect("a session")
            .to_owned();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            browser.send(domain, json!({})).await;
        }
        browser
    }

    /// Opens `url` and waits until `ready` (a JavaScript expression) is true.
    pub(crate) async fn open(&mut self, url: &str, ready: &str) {
        self.send("Page.navigate", json!({ "url": url })).await;
        self.wait_for(ready).await;
    }

    /// Waits (up to 20 s) until the expression `ready` is true in the page.
    pub(crate) async fn wait_for(&mut self, ready: &str) {
        for _ in 0..200 {
            if self.eval(ready).await == Value::Bool(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page never got to `{ready}`; errors: {:?}", self.errors);
    }

    /// The value of the JavaScript expression `expression` in the page (`null` if it threw).
    pub(crate) async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .send(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        result["result"]["value"].clone()
    }

    /// Saves a PNG of the page as `name` under `target/console-screenshots/`, for people to
    /// look at after the run.
    pub(crate) async fn screenshot(&mut self, name: &str) -> PathBuf {
        let shot = self
            .send("Page.captureScreenshot", json!({ "format": "png" }))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("image data"))
            .expect("base64");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots");
        std::fs::create_dir_all(&dir).expect("creates the directory");
        let path = dir.join(name);
        std::fs::write(&path, png).expect("writes the screenshot");
        path
    }

    async fn send(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send_to(Some(&session), method, params).await
    }

    /// Sends one command and returns its result, noting the page's errors that arrive
    /// meanwhile.
    async fn send_to(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            command["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(command.to_string()))
            .await
            .expect("sends to DevTools");
        loop {
            let message = tokio::time::timeout(Duration::from_secs(30), self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("DevTools did not answer {method}"))
                .expect("DevTools is connected")
                .expect("reads from DevTools");
            let Message::Text(text) = message else {
                continue;
            };
            let message: Value = serde_json::from_str(&text).expect("JSON from DevTools");
            if message["id"] == id {
                if let Some(error) = message.get("error") {
                    panic!("{method} failed: {error}");
                }
                return message["result"].clone();
            }
            self.note(&message);
        }
    }

    /// Keeps what the page reports as an error.
    fn note(&mut self, message: &Value) {
        let params = &message["params"];
        match message["method"].as_str() {
            Some("Runtime.exceptionThrown") => self.errors.push(format!(
                "uncaught: {}",
                params["exceptionDetails"]["exception"]["description"]
                    .as_str()
                    .or(params["exceptionDetails"]["text"].as_str())
                    .unwrap_or("?")
            )),
            Some("Runtime.consoleAPICalled") if params["type"] == "error" => {
                self.errors
                    .push(format!("console.error: {}", params["args"]));
            }
            Some("Log.entryAdded") if params["entry"]["level"] == "error" => {
                let entry: HashMap<String, Value> =
                    serde_json::from_value(params["entry"].clone()).unwrap_or_default();
                self.errors.push(format!("log: {entry:?}"));
            }
            _ => {}
        }
    }
}
