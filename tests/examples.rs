//! The command-line contracts of the `crawl`, `select_loop` and `get` examples
//! (design.md, "Example programs"), checked by running the binaries.
//!
//! The binaries are built first for the same profile (see `support/examples.rs`).

#[path = "support/examples.rs"]
mod examples;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::thread;

fn run(name: &str, args: &[&str]) -> Output {
    Command::new(examples::example(name))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {name}: {e}"))
}

/// The crawl's last stdout line, parsed: (ok, n, secs, rate).
fn crawl_line(prefix: &str, out: &Output) -> (u64, u64, f64, f64) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_else(|| {
        panic!(
            "no output; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    // `crawl: <ok> ok of <N> in <secs> s = <rate> req/s`
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(words.len(), 11, "{line:?}");
    assert_eq!(words[0], format!("{prefix}:"), "{line:?}");
    assert_eq!(
        [words[2], words[3], words[5], words[7], words[8], words[10]],
        ["ok", "of", "in", "s", "=", "req/s"],
        "{line:?}"
    );
    let number = |w: &str| {
        w.parse::<f64>()
            .unwrap_or_else(|_| panic!("{w:?} in {line:?}"))
    };
    (
        words[1].parse().expect("ok count"),
        words[4].parse().expect("N"),
        number(words[6]),
        number(words[9]),
    )
}

#[test]
fn crawl_against_the_embedded_server_head() {
    let out = run("crawl", &["--n", "20000"]);
    assert!(out.status.success(), "{out:?}");
    let (ok, n, secs, rate) = crawl_line("crawl", &out);
    assert_eq!((ok, n), (20000, 20000));
    assert!(secs > 0.0 && rate > 0.0);
}

#[test]
fn crawl_against_the_embedded_server_get_shallow_and_few_paths() {
    for depth in ["1", "3", "2000"] {
        let out = run(
            "crawl",
            &[
                "--n", "3000", "--method", "GET", "--paths", "7", "--depth", depth,
            ],
        );
        assert!(out.status.success(), "{out:?}");
        assert_eq!(crawl_line("crawl", &out).0, 3000, "depth {depth}");
    }
}

#[test]
fn crawl_counts_only_2xx() {
    // The embedded server answers /dN.html for any N >= 1, so every response is a 200;
    // a server of our own answering 404 shows the count is of 2xx only.
    let addr = serve(|request| {
        if request.starts_with("HEAD /d1.html") {
            "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n".to_owned()
        } else {
            "HTTP/1.1 404 Not Found\r\ncontent-length: 3\r\n\r\n".to_owned()
        }
    });
    let url = format!("http://{addr}/");
    let out = run(
        "crawl",
        &[&url, "--n", "10", "--paths", "2", "--depth", "4"],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(crawl_line("crawl", &out).0, 5);
}

#[test]
fn select_loop_crawls() {
    let addr = serve(|_| "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_owned());
    let out = run(
        "select_loop",
        &[
            &addr.to_string(),
            "--n",
            "5000",
            "--depth",
            "64",
            "--method",
            "GET",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let (ok, n, ..) = crawl_line("select_loop", &out);
    assert_eq!((ok, n), (5000, 5000));
}

#[test]
fn crawl_refuses_bad_arguments() {
    for args in [
        &["--n"][..],
        &["--method", "POST"],
        &["--depth", "0"],
        &["ftp://x/"],
    ] {
        let out = run("crawl", args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(!out.stderr.is_empty());
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn help_is_the_usage_on_stdout_and_success() {
    for name in ["crawl", "get"] {
        for flag in ["--help", "-h"] {
            let out = run(name, &[flag]);
            assert_eq!(out.status.code(), Some(0), "{name} {flag}: {out:?}");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(stdout.starts_with(&format!("usage: {name} ")), "{stdout}");
            assert!(out.stderr.is_empty(), "{name} {flag}: {out:?}");
        }
    }
}

/// A line of the list that is not UTF-8 fails alone, with its own output line; the
/// others are crawled. (The whole list was refused, exit 2, with no line number.)
#[test]
fn crawl_fails_a_list_line_that_is_not_utf8_alone() {
    let dir = std::env::temp_dir().join(format!("pollhttp-crawl-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("urls.txt");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut bytes = format!("http://127.0.0.1:{port}/a\r\nhttp://127.0.0.1:{port}/").into_bytes();
    bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
    std::fs::write(&list, &bytes).unwrap();
    let out = run(
        "crawl",
        &[
            "--urls",
            list.to_str().unwrap(),
            "--output",
            "-",
            "--timeout",
            "2",
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    let bad = lines
        .iter()
        .find(|l| l.contains('\u{fffd}'))
        .unwrap_or_else(|| panic!("no line for the bad URL: {stdout}"));
    assert!(
        bad.contains("\"status\": null") && bad.contains("\"attempts\": 0"),
        "{bad}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("/a\"") && l.contains("refused")),
        "{stdout}"
    );
    let (ok, n, ..) = crawl_line("crawl", &out);
    assert_eq!((ok, n), (0, 2));
}

/// The last line is what other tools read: when it cannot be written, the crawl fails.
#[cfg(target_os = "linux")]
#[test]
fn crawl_fails_when_its_last_line_cannot_be_written() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(examples::example("crawl"))
        .args(["--n", "10"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("writing the last line"), "{stderr}");
}

#[test]
fn crawl_reports_a_refused_connection() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run(
        "crawl",
        &[&format!("http://127.0.0.1:{port}/"), "--n", "10"],
    );
    // Every request ends in an error: exit 1, the last line all the same, and the first
    // error on stderr.
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let (ok, n, ..) = crawl_line("crawl", &out);
    assert_eq!((ok, n), (0, 10));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("refused") && stderr.contains("3 attempts"),
        "{stderr}"
    );
}

#[test]
fn get_prints_the_head_to_stderr_and_the_body_to_stdout() {
    let addr =
        serve(|_| "HTTP/1.1 404 Not Found\r\ncontent-length: 5\r\nx-a: b\r\n\r\nnope\n".to_owned());
    let out = run("get", &[&format!("http://{addr}/x?y=1")]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(out.stdout, b"nope\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut lines = stderr.lines();
    assert_eq!(lines.next(), Some("HTTP/1.1 404 Not Found"));
    assert!(stderr.contains("x-a: b\n"), "{stderr}");
}

/// Field values and the reason phrase are printed as their bytes came (as curl does):
/// obs-text that is not UTF-8 (`\xe9`, Latin-1 é) is not turned into U+FFFD.
#[test]
fn get_prints_obs_text_as_it_came() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
            line.clear();
        }
        let mut writer = conn;
        let _ = writer
            .write_all(b"HTTP/1.1 200 Caf\xe9\r\ncontent-length: 0\r\nx-name: Jos\xe9\r\n\r\n");
    });
    let out = run("get", &[&format!("http://{addr}/")]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let has = |needle: &[u8]| out.stderr.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"HTTP/1.1 200 Caf\xe9\n"), "{:?}", out.stderr);
    assert!(has(b"x-name: Jos\xe9\n"), "{:?}", out.stderr);
}

#[test]
fn get_head_and_output_file() {
    let addr = serve(|request| {
        if request.starts_with("HEAD /f HTTP/1.1\r\n") {
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n".to_owned()
        } else {
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello".to_owned()
        }
    });
    let out = run("get", &["-I", &format!("http://{addr}/f")]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stdout.is_empty());

    let file = std::env::temp_dir().join(format!("pollhttp-get-{}", std::process::id()));
    let out = run(
        "get",
        &["-o", file.to_str().unwrap(), &format!("http://{addr}/f")],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(std::fs::read(&file).unwrap(), b"hello");
    let _ = std::fs::remove_file(file);
}

#[test]
fn get_fails_with_one_line_on_a_cut_body() {
    let addr = serve(|_| {
        "HTTP/1.1 200 OK\r\ncontent-length: 10\r\nconnection: close\r\n\r\nhalf".to_owned()
    });
    let out = run("get", &[&format!("http://{addr}/")]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap();
    assert!(last.starts_with("get: connection closed"), "{stderr}");
    assert!(last.contains("received 4 bytes, expected 10"), "{stderr}");
}

#[test]
fn get_refuses_bad_arguments_with_one_line() {
    for args in [
        &[][..],
        &["ftp://x/"],
        &["http://x/", "--chunked"],
        &["http://x/", "-H", "nocolon"],
    ] {
        let out = run("get", args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
}

/// A server answering every request on every connection with `answer(request head)`,
/// bodies ignored, until the client closes or a response says `connection: close`.
fn serve(answer: fn(&str) -> String) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            thread::spawn(move || answer_all(conn, answer));
        }
    });
    addr
}

fn answer_all(conn: TcpStream, answer: fn(&str) -> String) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut writer = conn;
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let mut body = Vec::new();
        if reader.by_ref().take(length).read_to_end(&mut body).is_err() {
            return;
        }
        // Answered at once: pipelined requests get their responses in order.
        let response = answer(&head);
        if writer.write_all(response.as_bytes()).is_err() || response.contains("connection: close")
        {
            return;
        }
    }
}
