//! The blocking client in a few lines: one request with degu's call, then pipelined
//! requests with dugong's.
//!
//! ```text
//! cargo run --example blocking -- [HOST:PORT]
//! ```
//!
//! The address defaults to `127.0.0.1:8080` (`python3 -m http.server 8080` will do).

use http::{HeaderMap, Method};
use pollhttp::client::{Body, Client};

fn main() -> Result<(), pollhttp::Error> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let (host, port) = addr.rsplit_once(':').expect("HOST:PORT");
    let client = Client::resolving(host, port.parse().expect("a port number"));
    let mut conn = client.connect()?;

    // One request, its response, its body.
    let mut response = conn.get("/", HeaderMap::new())?;
    let body = response.body.read_all()?;
    println!(
        "GET / -> {} {} ({} bytes)",
        response.status.as_u16(),
        response.reason,
        body.len()
    );

    // Three requests in flight at once, then their responses in order.
    for path in ["/", "/missing", "/"] {
        conn.send_request(Method::HEAD, path, HeaderMap::new(), Body::empty())?;
    }
    while conn.response_pending() {
        let head = conn.read_response()?;
        println!(
            "HEAD -> {} {:?}",
            head.status.as_u16(),
            head.headers.get("content-length")
        );
    }
    Ok(())
}
