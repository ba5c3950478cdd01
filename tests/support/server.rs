//! A running `armsim serve` for tests, and a small client for its API: JSON
//! requests and server-sent event streams. Shared by the HTTP tests
//! (tests/integration/serve.rs) and the browser test (tests/browser.rs).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// `armsim serve --port 0` in a child process, killed when dropped.
pub struct Server {
    child: Child,
    /// Kept open: the server's stdout must not become a broken pipe.
    _stdout: BufReader<ChildStdout>,
    /// Such as `http://127.0.0.1:40123/`.
    pub url: String,
}

impl Server {
    /// Starts the binary at `exe` with `args` after `serve --port 0`, and
    /// reads the address it prints.
    pub fn start_with(exe: &str, args: &[&str]) -> Server {
        let mut child = Command::new(exe)
            .args(["serve", "--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("armsim serve starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        Server {
            child,
            _stdout: stdout,
            url,
        }
    }

    /// The URL of `path` (without its leading slash).
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path.trim_start_matches('/'))
    }

    /// `GET path`: status and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        let mut response = agent().get(&self.at(path)).call().unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    }

    /// `GET path` as JSON, asserting 200.
    pub fn get_json(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// `POST path` with `body` of `content_type`: status, headers' content
    /// disposition, and body.
    pub fn post(&self, path: &str, content_type: &str, body: &str) -> (u16, String) {
        let mut response = agent()
            .post(&self.at(path))
            .header("content-type", content_type)
            .send(body)
            .unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    }

    /// `POST path` with a body larger than the server reads: sent from a
    /// thread of its own over a raw connection (the server answers before
    /// the body ends and closes, which an ordinary client reports as a
    /// broken pipe), returning the status line and body of the answer.
    pub fn post_oversized(&self, path: &str, bytes: usize) -> (u16, String) {
        use std::io::Write;
        let authority = self.url.trim_start_matches("http://").trim_end_matches('/');
        let mut stream = std::net::TcpStream::connect(authority).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let head = format!(
            "POST /{} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/toml\r\n\
             Content-Length: {bytes}\r\nConnection: close\r\n\r\n",
            path.trim_start_matches('/')
        );
        let mut writer = stream.try_clone().unwrap();
        let sender = std::thread::spawn(move || {
            let _ = writer.write_all(head.as_bytes());
            let chunk = vec![b'#'; 64 * 1024];
            let mut left = bytes;
            while left > 0 {
                let n = left.min(chunk.len());
                if writer.write_all(&chunk[..n]).is_err() {
                    break;
                }
                left -= n;
            }
        });
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let _ = sender.join();
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// `POST path` with a JSON body.
    pub fn post_json(&self, path: &str, body: &Value) -> (u16, String) {
        self.post(path, "application/json", &body.to_string())
    }

    /// Starts a study: `Ok(events)` for a stream, `Err((status, body))` for
    /// a refusal.
    pub fn run(&self, request: &Value) -> Result<Events, (u16, Value)> {
        let mut response = agent()
            .post(&self.at("api/run"))
            .header("content-type", "application/json")
            .send(request.to_string())
            .unwrap();
        let status = response.status().as_u16();
        if status != 200 {
            let body = response.body_mut().read_to_string().unwrap();
            return Err((status, serde_json::from_str(&body).unwrap()));
        }
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Ok(Events {
            reader: BufReader::new(Box::new(response.into_body().into_reader())),
        })
    }

    /// `GET api/status`.
    pub fn status(&self) -> Value {
        self.get_json("api/status")
    }

    /// Waits up to `seconds` for no study to be running.
    pub fn wait_idle(&self, seconds: u64) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
        while std::time::Instant::now() < deadline {
            if self.status()["studies_running"] == 0 {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client that reports 4xx and 5xx as responses, not errors.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into()
}

/// A server-sent event stream.
pub struct Events {
    reader: BufReader<Box<dyn Read + Send + Sync>>,
}

impl Events {
    /// The next event (name and JSON data), skipping keep-alive comments;
    /// `None` at the end of the stream.
    pub fn next(&mut self) -> Option<(String, Value)> {
        let mut event = String::from("message");
        let mut data = String::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if data.is_empty() {
                    continue;
                }
                return Some((event, serde_json::from_str(&data).unwrap()));
            }
            if let Some(name) = line.strip_prefix("event:") {
                event = name.trim().to_string();
            } else if let Some(d) = line.strip_prefix("data:") {
                data.push_str(d.strip_prefix(' ').unwrap_or(d));
            }
        }
    }

    /// Reads to the end: every event in order.
    pub fn collect(mut self) -> Vec<(String, Value)> {
        let mut all = Vec::new();
        while let Some(e) = self.next() {
            all.push(e);
        }
        all
    }
}
