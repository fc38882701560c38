//! [`TempServer`]: the embedded server on a loopback port, for the length of a test.

use std::io;
use std::net::SocketAddr;

use crate::client::Client;
use crate::io::Address;
use crate::server::{Request, Response, RunningServer, Server, Session};
use crate::tls::{ClientTls, ServerTls};

/// A server on `127.0.0.1` and a free port, running until dropped (degu's `TempServer`),
/// with a [`Client`] ready to reach it.
///
/// ```
/// use pollhttp::server::Response;
/// use pollhttp::testing::TempServer;
/// use http::StatusCode;
///
/// let server = TempServer::new(|_session, _request| Response::text(StatusCode::OK, "hi")).unwrap();
/// let mut conn = server.client().connect().unwrap();
/// let mut response = conn.get("/", Default::default()).unwrap();
/// assert_eq!(response.body.read_all().unwrap(), b"hi");
/// ```
#[derive(Debug)]
pub struct TempServer {
    running: RunningServer,
    address: SocketAddr,
    client_tls: Option<ClientTls>,
}

impl TempServer {
    /// A clear-text server with this handler.
    pub fn new(
        handler: impl for<'c> Fn(&mut Session, Request<'c>) -> Response + Send + Sync + 'static,
    ) -> io::Result<Self> {
        Self::build(Server::bind(([127, 0, 0, 1], 0), handler)?, None)
    }

    /// A TLS server with this handler: `server_tls` for it, `client_tls` for
    /// [`client`](Self::client) (see [`TestPki`](super::TestPki)).
    pub fn tls(
        server_tls: ServerTls,
        client_tls: ClientTls,
        handler: impl for<'c> Fn(&mut Session, Request<'c>) -> Response + Send + Sync + 'static,
    ) -> io::Result<Self> {
        let server = Server::bind(([127, 0, 0, 1], 0), handler)?.tls(server_tls);
        Self::build(server, Some(client_tls))
    }

    /// A server you configured (it must listen on TCP).
    pub fn start(server: Server) -> io::Result<Self> {
        Self::build(server, None)
    }

    fn build(server: Server, client_tls: Option<ClientTls>) -> io::Result<Self> {
        let running = server.start()?;
        let Address::Tcp(address) = running.address().clone() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a TempServer listens on TCP",
            ));
        };
        Ok(Self {
            running,
            address,
            client_tls,
        })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Its URL (`http://127.0.0.1:PORT/`, or `https://localhost:PORT/` over TLS).
    pub fn url(&self) -> String {
        match self.client_tls {
            None => format!("http://{}/", self.address),
            Some(_) => format!("https://localhost:{}/", self.address.port()),
        }
    }

    /// A client for it (over TLS with the name `localhost`).
    pub fn client(&self) -> Client {
        let client = Client::new(self.address);
        match &self.client_tls {
            None => client,
            Some(tls) => client.with_tls(tls.clone()).with_server_name("localhost"),
        }
    }

    /// Stops it gracefully (dropping it does too).
    pub fn shutdown(self) -> io::Result<()> {
        self.running.shutdown()
    }
}
