//! The client role of the sans-IO core: response vectors through the harness (whole, byte by
//! byte and split at every point) with exact expected events, then the `ClientConn` state
//! machine driven directly (pipelining, 100-continue, local errors, EOF, serialization).

mod support;
use support::*;

use http::{HeaderMap, Method, Version};
use pollhttp::proto::{BodyLength, ClientConn, Error, Event, Framing};

// ---------------------------------------------------------------------------------------
// Expected-event shorthands
// ---------------------------------------------------------------------------------------

fn resp(status: u16, reason: &str, headers: &[(&str, &str)]) -> Ev {
    Ev::Response {
        status,
        reason: reason.as_bytes().to_vec(),
        version: Version::HTTP_11,
        headers: f(headers),
    }
}

fn resp10(status: u16, reason: &str, headers: &[(&str, &str)]) -> Ev {
    Ev::Response {
        status,
        reason: reason.as_bytes().to_vec(),
        version: Version::HTTP_10,
        headers: f(headers),
    }
}

fn resp_raw(status: u16, reason: &[u8], headers: Fields) -> Ev {
    Ev::Response {
        status,
        reason: reason.to_vec(),
        version: Version::HTTP_11,
        headers,
    }
}

fn info(status: u16, reason: &str, headers: &[(&str, &str)]) -> Ev {
    Ev::Informational {
        status,
        reason: reason.as_bytes().to_vec(),
        version: Version::HTTP_11,
        headers: f(headers),
    }
}

fn closed() -> Ev {
    Ev::Closed
}

fn switched(trailing: &[u8]) -> Ev {
    Ev::Switched(trailing.to_vec())
}

/// One table row per test: `name: METHOD, input => [events];`. Every input goes through
/// `client_events` (whole, byte by byte, split at every point).
macro_rules! resp {
    ($($name:ident: $method:ident, $input:expr => [$($ev:expr),* $(,)?];)*) => {
        $(
            #[test]
            fn $name() {
                let input: &[u8] = $input;
                let got = client_events(&Method::$method, input);
                let want: Vec<Ev> = vec![$($ev),*];
                assert_eq!(got, want, "input {:?}", String::from_utf8_lossy(input));
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------
// 1. Accepted responses
// ---------------------------------------------------------------------------------------

mod accepted {
    use super::*;

    resp! {
        content_length: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" =>
            [resp(200, "OK", &[("content-length", "5")]), data(b"hello"), end(), closed()];
        content_length_zero: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" =>
            [resp(200, "OK", &[("content-length", "0")]), end(), closed()];
        content_length_leading_zeros: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 00000000000000000003\r\n\r\nabc" =>
            [resp(200, "OK", &[("content-length", "00000000000000000003")]), data(b"abc"), end(), closed()];
        content_length_leading_zeros_past_20_digits: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 000000000000000000003\r\n\r\nabc" =>
            [resp(200, "OK", &[("content-length", "000000000000000000003")]), data(b"abc"), end(), closed()];
        content_length_ows_trimmed: GET, b"HTTP/1.1 200 OK\r\nContent-Length: \t 2 \t\r\n\r\nhi" =>
            [resp(200, "OK", &[("content-length", "2")]), data(b"hi"), end(), closed()];
        content_length_repeated_equal: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nhi" =>
            [resp(200, "OK", &[("content-length", "2"), ("content-length", "2")]), data(b"hi"), end(), closed()];
        content_length_list_equal: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2,2\r\n\r\nhi" =>
            [resp(200, "OK", &[("content-length", "2, 2,2")]), data(b"hi"), end(), closed()];
        content_length_u64_max_then_eof: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nab" =>
            [resp(200, "OK", &[("content-length", "18446744073709551615")]), data(b"ab"),
             err(400, "peer closed connection without sending complete message body (received 2 bytes, expected 18446744073709551615)")];
        names_lowercased_values_kept: GET, b"HTTP/1.1 200 OK\r\nX-MiXeD: VaLuE with  spaces\r\nContent-Length: 0\r\n\r\n" =>
            [resp(200, "OK", &[("x-mixed", "VaLuE with  spaces"), ("content-length", "0")]), end(), closed()];

        chunked_with_trailers: GET,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: abc\r\nX-Other: d\r\n\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", "chunked")]), data(b"hello world"),
             end_t(&[("x-sum", "abc"), ("x-other", "d")]), closed()];
        chunked_no_trailers: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", "chunked")]), data(b"abc"), end(), closed()];
        chunked_empty_body: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", "chunked")]), end(), closed()];
        chunked_any_case: GET, b"HTTP/1.1 200 OK\r\ntransfer-encoding: ChUnKeD\r\n\r\n1\r\nx\r\n0\r\n\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", "ChUnKeD")]), data(b"x"), end(), closed()];
        chunked_empty_list_elements: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: ,chunked,\r\n\r\n1\r\nx\r\n0\r\n\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", ",chunked,")]), data(b"x"), end(), closed()];
        chunked_trailer_obs_fold_replaced: GET,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: a\r\n b\r\n\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", "chunked")]), end_t(&[("x-t", "a   b")]), closed()];

        until_close: GET, b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\nsome data\r\n\r\nHTTP/1.1 200 OK\r\n" =>
            [resp(200, "OK", &[("server", "x")]), data(b"some data\r\n\r\nHTTP/1.1 200 OK\r\n"), end(), closed()];
        until_close_empty: GET, b"HTTP/1.1 200 OK\r\n\r\n" =>
            [resp(200, "OK", &[]), end(), closed()];

        // RFC 9112 §9.6: a server that closes (by `close`, or HTTP/1.0 without keep-alive)
        // sends nothing after that response; anything but empty lines is an error (llhttp
        // and h11 agree). Where the close is only our decision, later bytes are dropped.
        http10_content_length_then_data_is_an_error: GET, b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.0 200 OK\r\n\r\n" =>
            [resp10(200, "OK", &[("content-length", "2")]), data(b"hi"), end(), err(400, "data after a response that closed the connection")];
        http10_content_length_then_empty_lines: GET, b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi\r\n\n" =>
            [resp10(200, "OK", &[("content-length", "2")]), data(b"hi"), end(), closed()];
        http10_keep_alive_still_closes: GET, b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nxgarbage" =>
            [resp10(200, "OK", &[("connection", "keep-alive"), ("content-length", "1")]), data(b"x"), end(), closed()];
        http10_until_close: GET, b"HTTP/1.0 404 Not Found\r\n\r\nnope" =>
            [resp10(404, "Not Found", &[]), data(b"nope"), end(), closed()];
        // Transfer-Encoding in an HTTP/1.0 response: faulty framing (RFC 9112 §6.1), read as
        // the field says all the same, then the connection ends, as after any HTTP/1.0
        // response ("close the connection after processing the message"; curl, Python,
        // Node and h11 read it). **Changed**: it was refused.
        te_in_http10: GET, b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" =>
            [resp10(200, "OK", &[("transfer-encoding", "chunked")]), data(b"hello"), end(), closed()];
        te_in_http10_keep_alive_still_closes: GET, b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nx" =>
            [resp10(200, "OK", &[("connection", "keep-alive"), ("transfer-encoding", "chunked")]), end(), closed()];
        te_unknown_in_http10: GET, b"HTTP/1.0 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc" =>
            [resp10(200, "OK", &[("transfer-encoding", "gzip")]), data(b"abc"), end(), closed()];
        te_in_http10_with_cl_refused: GET, b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" =>
            [err(400, "both Content-Length and Transfer-Encoding")];
        http1x_is_11: GET, b"HTTP/1.7 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n" =>
            [resp(200, "OK", &[("content-length", "0")]), end(), resp(204, "No Content", &[]), end(), closed()];

        connection_close_then_a_response_is_an_error: GET,
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" =>
            [resp(200, "OK", &[("connection", "close"), ("content-length", "2")]), data(b"hi"), end(), err(400, "data after a response that closed the connection")];
        connection_close_token_in_list: GET,
            b"HTTP/1.1 200 OK\r\nConnection: keep-alive, CLOSE\r\nContent-Length: 0\r\n\r\n\x00\x01not http" =>
            [resp(200, "OK", &[("connection", "keep-alive, CLOSE"), ("content-length", "0")]), end(), err(400, "data after a response that closed the connection")];
        connection_close_until_close: GET, b"HTTP/1.1 500 Oops\r\nConnection: close\r\n\r\nrest" =>
            [resp(500, "Oops", &[("connection", "close")]), data(b"rest"), end(), closed()];

        reason_missing: GET, b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n" =>
            [resp(200, "", &[("content-length", "0")]), end(), closed()];
        reason_empty: GET, b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n" =>
            [resp(200, "", &[("content-length", "0")]), end(), closed()];
        reason_obs_text: GET, b"HTTP/1.1 200 \xe9t\xe9 \xff\r\nContent-Length: 0\r\n\r\n" =>
            [resp_raw(200, b"\xe9t\xe9 \xff", f(&[("content-length", "0")])), end(), closed()];
        // Only the first space separates: `reason-phrase` may start with SP (RFC 9112 §4).
        reason_leading_space_kept: GET, b"HTTP/1.1 200  OK\r\nContent-Length: 0\r\n\r\n" =>
            [resp(200, " OK", &[("content-length", "0")]), end(), closed()];
        reason_htab_and_spaces_kept: GET, b"HTTP/1.1 404 Not\tFound  \r\nContent-Length: 0\r\n\r\n" =>
            [resp(404, "Not\tFound  ", &[("content-length", "0")]), end(), closed()];
        status_999: GET, b"HTTP/1.1 999 Whatever\r\nContent-Length: 0\r\n\r\n" =>
            [resp(999, "Whatever", &[("content-length", "0")]), end(), closed()];
        status_100_boundary_and_199: GET, b"HTTP/1.1 199 Odd\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" =>
            [info(199, "Odd", &[]), resp(200, "OK", &[("content-length", "0")]), end(), closed()];

        obs_fold_replaced_by_spaces: GET,
            b"HTTP/1.1 200 OK\r\nX-Long: a\r\n b\r\n\tc\r\nContent-Length: 0\r\n\r\n" =>
            [resp(200, "OK", &[("x-long", "a   b   c"), ("content-length", "0")]), end(), closed()];
        // obs-fold = OWS CRLF RWS: the whitespace around the break becomes SP too (hyper's
        // tests/client.rs `client_obs_fold_headers`, with its fold option).
        // A bare LF ends a line of a response head (RFC 9112 §2.2 MAY; curl, Go, h11 and the
        // browsers read such heads), with or without a CR before it; anything else stays.
        bare_lf_status_line: GET, b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n" =>
            [resp(200, "OK", &[("content-length", "0")]), end(), closed()];
        bare_lf_field_line: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n" =>
            [resp(200, "OK", &[("content-length", "0")]), end(), closed()];
        bare_lf_blank_line: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n" =>
            [resp(200, "OK", &[("content-length", "0")]), end(), closed()];
        bare_lf_only: GET, b"HTTP/1.1 200 OK\n\n" => [resp(200, "OK", &[]), end(), closed()];
        bare_lf_everywhere_with_body: GET,
            b"HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Length: 3\n\nabc" =>
            [resp(200, "OK", &[("content-type", "text/plain"), ("content-length", "3")]), data(b"abc"), end(), closed()];
        bare_lf_no_reason: GET, b"HTTP/1.1 204\n\n" => [resp(204, "", &[]), end(), closed()];
        bare_lf_empty_value: GET, b"HTTP/1.1 200 OK\nX:\nContent-Length: 0\n\n" =>
            [resp(200, "OK", &[("x", ""), ("content-length", "0")]), end(), closed()];
        bare_lf_chunked_body_keeps_crlf: GET,
            b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n1\r\nx\r\n0\r\n\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", "chunked")]), data(b"x"), end(), closed()];
        bare_lf_pipelined_responses: GET,
            b"HTTP/1.1 200 OK\nContent-Length: 1\n\nxHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ny" =>
            [resp(200, "OK", &[("content-length", "1")]), data(b"x"), end(),
             resp(200, "OK", &[("content-length", "1")]), data(b"y"), end(), closed()];
        bare_lf_informational: GET, b"HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nContent-Length: 0\n\n" =>
            [info(100, "Continue", &[]), resp(200, "OK", &[("content-length", "0")]), end(), closed()];
        bare_lf_obs_fold: GET, b"HTTP/1.1 200 OK\nX-Long: a\n b\n\tc\nContent-Length: 0\n\n" =>
            [resp(200, "OK", &[("x-long", "a  b  c"), ("content-length", "0")]), end(), closed()];
        bare_lf_obs_fold_with_tabs: GET, b"HTTP/1.1 200 OK\nFold: just\t\n some\nContent-Length: 0\n\n" =>
            [resp(200, "OK", &[("fold", "just   some"), ("content-length", "0")]), end(), closed()];
        obs_fold_with_tabs_around_the_break: GET,
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nFold: just\t\r\n some\r\n\t folding\r\n\r\n" =>
            [resp(200, "OK", &[("content-length", "0"), ("fold", "just    some    folding")]), end(), closed()];

        informational_100_and_103: GET,
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\nLink: </a.js>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" =>
            [info(100, "Continue", &[]),
             info(103, "Early Hints", &[("link", "</s.css>; rel=preload"), ("link", "</a.js>")]),
             resp(200, "OK", &[("content-length", "2")]), data(b"ok"), end(), closed()];
        informational_then_101_switch: GET,
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\nPRI" =>
            [info(100, "Continue", &[]), info(101, "Switching Protocols", &[("upgrade", "h2c")]), switched(b"PRI")];

        head_content_length_no_body: HEAD, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" =>
            [resp(200, "OK", &[("content-length", "100")]), end(), closed()];
        head_chunked_no_body: HEAD, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", "chunked")]), end(), closed()];
        head_pipelined: HEAD,
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nHTTP/1.1 200 OK\r\n\r\n" =>
            [resp(200, "OK", &[("content-length", "5")]), end(),
             resp(404, "Not Found", &[("content-length", "9")]), end(),
             resp(200, "OK", &[]), end(), closed()];

        no_content_204_ignores_length: GET,
            b"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx" =>
            [resp(204, "No Content", &[("content-length", "7")]), end(),
             resp(200, "OK", &[("content-length", "1")]), data(b"x"), end(), closed()];
        not_modified_304_ignores_length: GET,
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\nETag: \"x\"\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n" =>
            [resp(304, "Not Modified", &[("content-length", "1234"), ("etag", "\"x\"")]), end(),
             resp(304, "Not Modified", &[]), end(), closed()];
        no_content_204_ignores_chunked: GET,
            b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n" =>
            [resp(204, "No Content", &[("transfer-encoding", "chunked")]), end(), closed()];

        connect_200_switches: CONNECT, b"HTTP/1.1 200 Connection Established\r\n\r\n\x16\x03\x01\x00\xa5tls" =>
            [resp(200, "Connection Established", &[]), switched(b"\x16\x03\x01\x00\xa5tls")];
        connect_2xx_ignores_length: CONNECT, b"HTTP/1.1 204 OK\r\nContent-Length: 10\r\n\r\n0123" =>
            [resp(204, "OK", &[("content-length", "10")]), switched(b"0123")];
        connect_299_ignores_chunked: CONNECT, b"HTTP/1.1 299 Fine\r\nTransfer-Encoding: chunked\r\n\r\n" =>
            [resp(299, "Fine", &[("transfer-encoding", "chunked")]), switched(b"")];
        // §6.3(2): a client MUST ignore them, so they are not checked either.
        connect_200_ignores_an_invalid_length: CONNECT, b"HTTP/1.1 200 OK\r\nContent-Length: -0\r\n\r\nx" =>
            [resp(200, "OK", &[("content-length", "-0")]), switched(b"x")];
        connect_200_ignores_conflicting_lengths: CONNECT, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n" =>
            [resp(200, "OK", &[("content-length", "1"), ("content-length", "2")]), switched(b"")];
        connect_200_ignores_length_with_chunked: CONNECT,
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" =>
            [resp(200, "OK", &[("content-length", "3"), ("transfer-encoding", "chunked")]), switched(b"0\r\n\r\n")];
        connect_200_ignores_chunked_twice: CONNECT, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", "chunked, chunked")]), switched(b"")];
        connect_200_http10_ignores_chunked: CONNECT, b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nx" =>
            [resp10(200, "OK", &[("transfer-encoding", "chunked")]), switched(b"x")];
        connect_407_has_body: CONNECT,
            b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\n\r\nx" =>
            [resp(407, "Proxy Authentication Required", &[("content-length", "3")]), data(b"abc"), end(),
             resp(200, "OK", &[]), switched(b"x")];

        upgrade_101_switches: GET,
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n\x00\x00\x12\x04\x00" =>
            [info(101, "Switching Protocols", &[("connection", "Upgrade"), ("upgrade", "h2c")]),
             switched(b"\x00\x00\x12\x04\x00")];
        upgrade_101_nothing_after: GET, b"HTTP/1.1 101 Switching Protocols\r\n\r\n" =>
            [info(101, "Switching Protocols", &[]), switched(b"")];
        upgrade_declined: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno" =>
            [resp(200, "OK", &[("content-length", "2")]), data(b"no"), end(), closed()];

        pipelined_back_to_back: GET,
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na\
    HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\nT: 1\r\n\r\n\
    HTTP/1.1 100 Continue\r\n\r\n\
    HTTP/1.1 204 No Content\r\n\r\n\
    HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n\
    HTTP/1.1 200 OK\r\n\r\nrest" =>
            [resp(200, "OK", &[("content-length", "1")]), data(b"a"), end(),
             resp(404, "Not Found", &[("transfer-encoding", "chunked")]), data(b"b"), end_t(&[("t", "1")]),
             info(100, "Continue", &[]),
             resp(204, "No Content", &[]), end(),
             resp(304, "Not Modified", &[("content-length", "9")]), end(),
             resp(200, "OK", &[]), data(b"rest"), end(), closed()];
        pipelined_then_close: GET,
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nbHTTP/1.1 200 OK\r\n\r\nc" =>
            [resp(200, "OK", &[("content-length", "1")]), data(b"a"), end(),
             resp(200, "OK", &[("connection", "close"), ("content-length", "1")]), data(b"b"), end(), err(400, "data after a response that closed the connection")];

        no_input_closed: GET, b"" => [closed()];
    }

    /// The largest head the client limit allows (64 KiB exactly).
    #[test]
    fn head_exactly_64k() {
        let value = "a".repeat(65536 - 24);
        let input = format!("HTTP/1.1 200 OK\r\nX: {value}\r\n\r\n");
        assert_eq!(input.len(), 65536);
        // Parsing a 64 KiB head 22 000 times (client_events splits at every third point)
        // takes half a minute in a debug build: whole, byte by byte, and every 61st split.
        let want = vec![resp(200, "OK", &[("x", &value)]), end(), closed()];
        let input = input.as_bytes();
        assert_eq!(run_pieces(Role::Client, &Method::GET, input, &[]), want);
        let bytewise: Vec<usize> = (1..input.len()).collect();
        assert_eq!(
            run_pieces(Role::Client, &Method::GET, input, &bytewise),
            want
        );
        for k in (1..input.len())
            .step_by(61)
            .chain([65535, 65534, 65533, 65532])
        {
            assert_eq!(
                run_pieces(Role::Client, &Method::GET, input, &[k]),
                want,
                "split at {k}"
            );
        }
    }

    /// 100 fields: the default limit, accepted.
    #[test]
    fn hundred_fields() {
        let mut input = String::from("HTTP/1.1 200 OK\r\n");
        let mut want = Vec::new();
        for i in 0..99 {
            input.push_str(&format!("x-{i}: {i}\r\n"));
            want.push((format!("x-{i}"), i.to_string().into_bytes()));
        }
        input.push_str("Content-Length: 0\r\n\r\n");
        want.push(("content-length".to_owned(), b"0".to_vec()));
        let got = client_events(&Method::GET, input.as_bytes());
        assert_eq!(got, vec![resp_raw(200, b"OK", want), end(), closed()]);
    }
}

// ---------------------------------------------------------------------------------------
// 2. Rejections, with the exact status hint and message
// ---------------------------------------------------------------------------------------

mod rejected {
    use super::*;

    const CLTE: &str = "both Content-Length and Transfer-Encoding";
    const BAD_CL: &str = "invalid Content-Length";
    const CONFLICT_CL: &str = "conflicting Content-Length values";
    const BARE_LF: &str = "bare LF line ending (CRLF required)";
    const BAD_VALUE: &str = "invalid character in a header field value";
    const BAD_NAME: &str = "invalid header field name";
    const BAD_STATUS_LINE: &str = "malformed status line";
    const BAD_CODE: &str = "malformed status code";
    const BAD_VERSION: &str = "malformed HTTP version";
    const MULTIPLE_SPACES: &str = "more than one space between the parts of the start line";

    resp! {
        // CL + TE, in either order, also where neither frames the body.
        cl_then_te: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" => [err(400, CLTE)];
        te_then_cl: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" => [err(400, CLTE)];
        cl_te_on_head: HEAD, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n" => [err(400, CLTE)];
        cl_te_on_204: GET, b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n" => [err(400, CLTE)];
        cl_te_after_good_response: GET,
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n" =>
            [resp(200, "OK", &[("content-length", "1")]), data(b"x"), end(), err(400, CLTE)];

        // Invalid or conflicting Content-Length.
        cl_letters: GET, b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n" => [err(400, BAD_CL)];
        cl_minus: GET, b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n" => [err(400, BAD_CL)];
        cl_plus: GET, b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n" => [err(400, BAD_CL)];
        cl_hex: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\n" => [err(400, BAD_CL)];
        cl_space_inside: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n" => [err(400, BAD_CL)];
        cl_empty: GET, b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n" => [err(400, BAD_CL)];
        cl_trailing_comma: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 5,\r\n\r\n" => [err(400, BAD_CL)];
        cl_overflow: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n" => [err(400, BAD_CL)];
        cl_21_significant_digits: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 100000000000000000000\r\n\r\n" => [err(400, BAD_CL)];
        cl_decimal_point: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 1.0\r\n\r\n" => [err(400, BAD_CL)];
        cl_list_conflict: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n" => [err(400, CONFLICT_CL)];
        cl_repeated_conflict: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n" => [err(400, CONFLICT_CL)];
        cl_bad_on_head: HEAD, b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n" => [err(400, BAD_CL)];
        cl_bad_on_304: GET, b"HTTP/1.1 304 Not Modified\r\nContent-Length: 1, 2\r\n\r\n" => [err(400, CONFLICT_CL)];

        // Transfer-Encoding that is malformed or applies chunked twice.
        te_chunked_twice: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n" =>
            [err(400, "chunked applied more than once")];
        te_chunked_two_fields: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" =>
            [err(400, "chunked applied more than once")];
        te_chunked_parameter: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;q=1\r\n\r\n" =>
            [err(400, "chunked takes no parameters")];
        te_malformed_parameter: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip;q\r\n\r\n" => [err(400, "malformed Transfer-Encoding")];

        // Bare LF and bare CR.
        // A bare LF ends a line of a response head (accepted::bare_lf_*), never of the
        // chunked framing or the trailers.
        bare_lf_in_chunk_line: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", "chunked")]), err(400, "invalid chunk size")];
        bare_lf_after_chunk_data: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\n0\r\n\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", "chunked")]), data(b"x"), err(400, "chunk data not followed by CRLF")];
        bare_lf_in_trailers: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: 1\n\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", "chunked")]), err(400, BARE_LF)];
        cr_cr_lf_ending_status_line: GET, b"HTTP/1.1 200 OK\r\r\nContent-Length: 0\r\n\r\n" =>
            [err(400, "bare CR in the message head (CR without LF)")];
        cr_cr_lf_ending_field_line: GET, b"HTTP/1.1 200 OK\nX: a\r\r\nContent-Length: 0\n\n" => [err(400, "bare CR in the message head (CR without LF)")];
        bare_cr_in_value: GET, b"HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n" => [err(400, "bare CR in the message head (CR without LF)")];
        bare_cr_in_reason: GET, b"HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n" => [err(400, "bare CR in the message head (CR without LF)")];
        bare_cr_line_start: GET, b"HTTP/1.1 200 OK\r\nX: y\r\n\rZ: 1\r\n\r\n" => [err(400, "bare CR in the message head (CR without LF)")];
        bare_cr_ending_head: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\rX\r\n\r\n" => [err(400, "bare CR in the message head (CR without LF)")];

        // NUL and other controls.
        nul_in_value: GET, b"HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 0\r\n\r\n" => [err(400, BAD_VALUE)];
        nul_in_cl_value: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 1\x00\r\n\r\nx" => [err(400, BAD_VALUE)];
        ctl_in_value: GET, b"HTTP/1.1 200 OK\r\nX: a\x01b\r\n\r\n" => [err(400, BAD_VALUE)];
        del_in_value: GET, b"HTTP/1.1 200 OK\r\nX: a\x7fb\r\n\r\n" => [err(400, BAD_VALUE)];
        nul_in_name: GET, b"HTTP/1.1 200 OK\r\nX\x00Y: 1\r\n\r\n" => [err(400, BAD_NAME)];
        nul_in_reason: GET, b"HTTP/1.1 200 O\x00K\r\n\r\n" => [err(400, "invalid character in reason phrase")];
        del_in_reason: GET, b"HTTP/1.1 200 O\x7fK\r\n\r\n" => [err(400, "invalid character in reason phrase")];

        // Whitespace where the grammar has none.
        space_before_colon: GET, b"HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello" => [err(400, BAD_NAME)];
        tab_before_colon: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n" => [err(400, BAD_NAME)];
        space_before_first_field: GET, b"HTTP/1.1 200 OK\r\n Content-Length: 5\r\n\r\nhello" =>
            [err(400, "whitespace before the first header field")];
        tab_before_first_field: GET, b"HTTP/1.1 200 OK\r\n\tX: 1\r\n\r\n" =>
            [err(400, "whitespace before the first header field")];
        empty_name: GET, b"HTTP/1.1 200 OK\r\n: v\r\n\r\n" => [err(400, BAD_NAME)];
        non_token_name: GET, b"HTTP/1.1 200 OK\r\nX@Y: v\r\n\r\n" => [err(400, BAD_NAME)];
        no_colon: GET, b"HTTP/1.1 200 OK\r\nContent-Length 5\r\n\r\n" => [err(400, BAD_NAME)];

        // Status line and version shapes.
        version_lowercase: GET, b"http/1.1 200 OK\r\n\r\n" => [err(400, "invalid status line")];
        leading_space: GET, b" HTTP/1.1 200 OK\r\n\r\n" => [err(400, "invalid status line")];
        version_two_digit_minor: GET, b"HTTP/1.10 200 OK\r\n\r\n" => [err(400, BAD_STATUS_LINE)];
        version_suffix: GET, b"HTTP/1.1x 200 OK\r\n\r\n" => [err(400, BAD_STATUS_LINE)];
        version_no_minor: GET, b"HTTP/1 200 OK\r\n\r\n" => [err(400, BAD_STATUS_LINE)];
        version_letters: GET, b"HTTP/a.b 200 OK\r\n\r\n" => [err(400, BAD_VERSION)];
        version_wrong_name: GET, b"HTTX/1.1 200 OK\r\n\r\n" => [err(400, BAD_VERSION)];
        version_comma: GET, b"HTTP/1,1 200 OK\r\n\r\n" => [err(400, BAD_VERSION)];
        version_2: GET, b"HTTP/2.0 200 OK\r\n\r\n" => [err(505, "unsupported HTTP version HTTP/2.0")];
        version_0_9: GET, b"HTTP/0.9 200 OK\r\n\r\n" => [err(505, "unsupported HTTP version HTTP/0.9")];
        status_two_digits: GET, b"HTTP/1.1 20 OK\r\n\r\n" => [err(400, BAD_CODE)];
        status_two_digits_no_reason: GET, b"HTTP/1.1 20\r\n\r\n" => [err(400, BAD_STATUS_LINE)];
        status_four_digits: GET, b"HTTP/1.1 2000 OK\r\n\r\n" => [err(400, BAD_STATUS_LINE)];
        status_letters: GET, b"HTTP/1.1 abc OK\r\n\r\n" => [err(400, BAD_CODE)];
        status_099: GET, b"HTTP/1.1 099 OK\r\n\r\n" => [err(400, BAD_CODE)];
        status_000: GET, b"HTTP/1.1 000 OK\r\n\r\n" => [err(400, BAD_CODE)];
        status_signed: GET, b"HTTP/1.1 +20 OK\r\n\r\n" => [err(400, BAD_CODE)];
        status_missing: GET, b"HTTP/1.1 \r\n\r\n" => [err(400, BAD_STATUS_LINE)];
        status_double_space: GET, b"HTTP/1.1  200 OK\r\n\r\n" => [err(400, MULTIPLE_SPACES)];
        status_spaces_everywhere: GET, b"HTTP/1.1   200   OK\r\n\r\n" => [err(400, MULTIPLE_SPACES)];
        status_tab_separator: GET, b"HTTP/1.1\t200 OK\r\n\r\n" => [err(400, BAD_STATUS_LINE)];
        reason_tab_separator: GET, b"HTTP/1.1 200\tOK\r\n\r\n" => [err(400, BAD_STATUS_LINE)];

        // A good response, then a bad status line.
        garbage_after_response: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nXTTP/1.1 200 OK\r\n\r\n" =>
            [resp(200, "OK", &[("content-length", "0")]), end(), err(400, "invalid status line")];
    }

    #[test]
    fn head_over_64k() {
        let value = "a".repeat(65536 - 24 + 1);
        let input = format!("HTTP/1.1 200 OK\r\nX: {value}\r\n\r\n");
        let got = client_events(&Method::GET, input.as_bytes());
        assert_eq!(got, vec![err(431, "message head larger than 65536 bytes")]);
    }

    #[test]
    fn head_never_ends() {
        let input = format!(
            "HTTP/1.1 200 OK\r\n{}",
            format!("x-y: {}\r\n", "z".repeat(1000)).repeat(66)
        );
        let got = client_events(&Method::GET, input.as_bytes());
        assert_eq!(got, vec![err(431, "message head larger than 65536 bytes")]);
    }

    #[test]
    fn too_many_fields() {
        let mut input = String::from("HTTP/1.1 200 OK\r\n");
        for i in 0..100 {
            input.push_str(&format!("x-{i}: {i}\r\n"));
        }
        input.push_str("Content-Length: 0\r\n\r\n");
        let got = client_events(&Method::GET, input.as_bytes());
        assert_eq!(got, vec![err(431, "more than 100 header fields")]);
    }

    #[test]
    fn too_many_trailer_fields() {
        let mut input =
            String::from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n");
        for i in 0..101 {
            input.push_str(&format!("t-{i}: {i}\r\n"));
        }
        input.push_str("\r\n");
        let got = client_events(&Method::GET, input.as_bytes());
        assert_eq!(
            got,
            vec![
                resp(200, "OK", &[("transfer-encoding", "chunked")]),
                data(b"x"),
                err(431, "more than 100 header fields")
            ]
        );
    }
}

// ---------------------------------------------------------------------------------------
// 3. The ClientConn state machine, driven directly
// ---------------------------------------------------------------------------------------

/// One event (Data not joined); None for NeedData.
fn next(conn: &mut ClientConn) -> Option<Ev> {
    match conn.next_event() {
        Ok(Event::NeedData) => None,
        Ok(Event::Informational(h)) => Some(response_ev(&h, true)),
        Ok(Event::Response(h)) => Some(response_ev(&h, false)),
        Ok(Event::Data(d)) => Some(Ev::Data(d.to_vec())),
        Ok(Event::End(t)) => Some(Ev::End(fields(&t))),
        Ok(Event::Switched) => Some(Ev::Switched(Vec::new())),
        Ok(Event::Closed) => Some(Ev::Closed),
        Ok(other) => panic!("unexpected client event {other:?}"),
        Err(e) => Some(error_ev(&e)),
    }
}

/// Events until NeedData (or a terminal event), Data runs joined.
fn pull(conn: &mut ClientConn) -> Vec<Ev> {
    let mut evs: Vec<Ev> = Vec::new();
    while let Some(ev) = next(conn) {
        let stop = matches!(ev, Ev::Closed | Ev::Switched(_) | Ev::Error(..));
        match (ev, evs.last_mut()) {
            (Ev::Data(d), Some(Ev::Data(prev))) => prev.extend_from_slice(&d),
            (ev, _) => evs.push(ev),
        }
        if stop {
            break;
        }
    }
    evs
}

fn host() -> HeaderMap {
    header_map(&[("host", "example.com")])
}

fn local(message: &str) -> Error {
    // Local errors carry no hint; compare by message and kind.
    let e = Error::LocalProtocol {
        message: message.to_owned().into(),
    };
    assert!(!e.is_remote());
    e
}

fn send(
    conn: &mut ClientConn,
    method: Method,
    target: &str,
    h: &HeaderMap,
    body: BodyLength,
) -> Vec<u8> {
    let mut out = Vec::new();
    conn.send_request(&method, target, h, body, &mut out)
        .unwrap();
    out
}

mod state {
    use super::*;

    const GET_RESP: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
    const HEAD_RESP: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n";

    /// Five pipelined requests (HEAD among GETs), their responses fed in `cuts` pieces;
    /// returns each event with `responses_pending()` right after it.
    fn pipelined(cuts: &[usize]) -> Vec<(Ev, usize)> {
        let mut conn = ClientConn::new();
        let methods = [
            Method::GET,
            Method::HEAD,
            Method::GET,
            Method::HEAD,
            Method::GET,
        ];
        let mut out = Vec::new();
        let mut input = Vec::new();
        for (i, m) in methods.iter().enumerate() {
            conn.send_request(m, &format!("/{i}"), &host(), BodyLength::None, &mut out)
                .unwrap();
            input.extend_from_slice(if *m == Method::HEAD {
                HEAD_RESP
            } else {
                GET_RESP
            });
            assert_eq!(conn.responses_pending(), i + 1);
            assert!(!conn.sending_body());
        }
        assert_eq!(
            out,
            b"GET /0 HTTP/1.1\r\nhost: example.com\r\n\r\nHEAD /1 HTTP/1.1\r\nhost: example.com\r\n\r\n\
GET /2 HTTP/1.1\r\nhost: example.com\r\n\r\nHEAD /3 HTTP/1.1\r\nhost: example.com\r\n\r\n\
GET /4 HTTP/1.1\r\nhost: example.com\r\n\r\n"
        );
        let mut got: Vec<(Ev, usize)> = Vec::new();
        let mut prev = 0;
        for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
            conn.receive(&input[prev..cut]).unwrap();
            prev = cut;
            while let Some(ev) = next(&mut conn) {
                let pending = conn.responses_pending();
                match (ev, got.last_mut()) {
                    (Ev::Data(d), Some((Ev::Data(p), n))) => {
                        p.extend_from_slice(&d);
                        *n = pending;
                    }
                    (ev, _) => got.push((ev, pending)),
                }
            }
        }
        conn.receive_eof();
        got.push((next(&mut conn).unwrap(), conn.responses_pending()));
        got
    }

    #[test]
    fn pipelining_in_order_framed_by_method() {
        let cl3 = || resp(200, "OK", &[("content-length", "3")]);
        let want = vec![
            (cl3(), 5),
            (data(b"abc"), 5),
            (end(), 4),
            (cl3(), 4),
            (end(), 3),
            (cl3(), 3),
            (data(b"abc"), 3),
            (end(), 2),
            (cl3(), 2),
            (end(), 1),
            (cl3(), 1),
            (data(b"abc"), 1),
            (end(), 0),
            (closed(), 0),
        ];
        let whole = pipelined(&[]);
        assert_eq!(whole, want);
        let total = 3 * GET_RESP.len() + 2 * HEAD_RESP.len();
        let bytewise: Vec<usize> = (1..total).collect();
        assert_eq!(pipelined(&bytewise), want);
        for k in 1..total {
            assert_eq!(pipelined(&[k]), want, "split at {k}");
        }
    }

    #[test]
    fn pipelining_with_request_bodies() {
        let mut conn = ClientConn::new();
        let mut out = Vec::new();
        let h = host();
        assert_eq!(
            conn.send_request(&Method::POST, "/a", &h, BodyLength::Known(3), &mut out),
            Ok(Framing::Length(3))
        );
        assert!(conn.sending_body());
        conn.send_data(b"xyz", &mut out).unwrap();
        conn.send_end(None, &mut out).unwrap();
        assert!(!conn.sending_body());
        assert_eq!(
            conn.send_request(&Method::PUT, "/b", &h, BodyLength::Unknown, &mut out),
            Ok(Framing::Chunked)
        );
        conn.send_data(b"12", &mut out).unwrap();
        conn.send_end(None, &mut out).unwrap();
        conn.send_request(&Method::HEAD, "/c", &h, BodyLength::None, &mut out)
            .unwrap();
        assert_eq!(conn.responses_pending(), 3);
        assert_eq!(
            out,
            &b"POST /a HTTP/1.1\r\nhost: example.com\r\ncontent-length: 3\r\n\r\nxyz\
PUT /b HTTP/1.1\r\nhost: example.com\r\ntransfer-encoding: chunked\r\n\r\n2\r\n12\r\n0\r\n\r\n\
HEAD /c HTTP/1.1\r\nhost: example.com\r\n\r\n"[..]
        );
        conn.receive(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nk\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
        assert_eq!(
            pull(&mut conn),
            vec![
                resp(201, "Created", &[("content-length", "0")]),
                end(),
                resp(200, "OK", &[("transfer-encoding", "chunked")]),
                data(b"k"),
                end(),
                resp(200, "OK", &[("transfer-encoding", "chunked")]),
                end(),
            ]
        );
        assert_eq!(conn.responses_pending(), 0);
        conn.receive_eof();
        assert_eq!(pull(&mut conn), vec![closed()]);
    }

    #[test]
    fn responses_pending_counts() {
        let mut conn = ClientConn::new();
        assert_eq!(conn.responses_pending(), 0);
        send(&mut conn, Method::GET, "/", &host(), BodyLength::None);
        send(&mut conn, Method::GET, "/", &host(), BodyLength::None);
        assert_eq!(conn.responses_pending(), 2);
        conn.receive(b"HTTP/1.1 100 Continue\r\n\r\n").unwrap();
        assert_eq!(next(&mut conn), Some(info(100, "Continue", &[])));
        assert_eq!(conn.responses_pending(), 2, "1xx does not answer a request");
        conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nh")
            .unwrap();
        assert_eq!(
            next(&mut conn),
            Some(resp(200, "OK", &[("content-length", "2")]))
        );
        assert_eq!(
            conn.responses_pending(),
            2,
            "the head alone does not complete it"
        );
        assert_eq!(next(&mut conn), Some(data(b"h")));
        assert_eq!(next(&mut conn), None);
        assert_eq!(conn.responses_pending(), 2);
        conn.receive(b"i").unwrap();
        assert_eq!(next(&mut conn), Some(data(b"i")));
        assert_eq!(conn.responses_pending(), 2);
        assert_eq!(next(&mut conn), Some(end()));
        assert_eq!(conn.responses_pending(), 1);
        conn.receive(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        assert_eq!(pull(&mut conn), vec![resp(204, "No Content", &[]), end()]);
        assert_eq!(conn.responses_pending(), 0);
        assert!(conn.is_keep_alive());
    }

    fn expecting(body: BodyLength) -> (ClientConn, Vec<u8>) {
        let mut conn = ClientConn::new();
        let h = header_map(&[("host", "h"), ("expect", "100-continue")]);
        let out = send(&mut conn, Method::POST, "/up", &h, body);
        (conn, out)
    }

    #[test]
    fn waiting_for_continue_cleared_by_100() {
        let (mut conn, out) = expecting(BodyLength::Known(5));
        assert_eq!(
            out,
            b"POST /up HTTP/1.1\r\nhost: h\r\nexpect: 100-continue\r\ncontent-length: 5\r\n\r\n"
        );
        assert!(conn.waiting_for_continue());
        conn.receive(b"HTTP/1.1 100 Continue\r\n\r\n").unwrap();
        assert!(
            conn.waiting_for_continue(),
            "not before the event is pulled"
        );
        assert_eq!(pull(&mut conn), vec![info(100, "Continue", &[])]);
        assert!(!conn.waiting_for_continue());
        assert!(conn.sending_body());
        let mut out = Vec::new();
        conn.send_data(b"hello", &mut out).unwrap();
        conn.send_end(None, &mut out).unwrap();
        assert_eq!(out, b"hello");
        conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        assert_eq!(
            pull(&mut conn),
            vec![resp(200, "OK", &[("content-length", "0")]), end()]
        );
        assert_eq!(conn.responses_pending(), 0);
    }

    #[test]
    fn waiting_for_continue_not_cleared_by_other_1xx() {
        let (mut conn, _) = expecting(BodyLength::Unknown);
        assert!(conn.waiting_for_continue());
        conn.receive(b"HTTP/1.1 102 Processing\r\n\r\n").unwrap();
        assert_eq!(pull(&mut conn), vec![info(102, "Processing", &[])]);
        assert!(conn.waiting_for_continue());
    }

    #[test]
    fn waiting_for_continue_cleared_by_final_response() {
        let (mut conn, _) = expecting(BodyLength::Known(5));
        assert!(conn.waiting_for_continue());
        conn.receive(b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        assert_eq!(
            next(&mut conn),
            Some(resp(417, "Expectation Failed", &[("content-length", "0")]))
        );
        assert!(!conn.waiting_for_continue());
        assert!(conn.sending_body());
        assert_eq!(next(&mut conn), Some(end()));
        assert_eq!(conn.responses_pending(), 0);
        assert!(!conn.waiting_for_continue());
        // The body must still be completed before the next request.
        let mut out = Vec::new();
        assert_eq!(
            conn.send_request(&Method::GET, "/", &host(), BodyLength::None, &mut out),
            Err(local("the previous request body is not complete"))
        );
        assert!(out.is_empty());
    }

    #[test]
    fn waiting_for_continue_cleared_by_sending_data() {
        let (mut conn, _) = expecting(BodyLength::Unknown);
        assert!(conn.waiting_for_continue());
        let mut out = Vec::new();
        conn.send_data(b"", &mut out).unwrap();
        assert!(conn.waiting_for_continue(), "empty data sends nothing");
        assert!(out.is_empty());
        conn.send_data(b"x", &mut out).unwrap();
        assert!(!conn.waiting_for_continue());
        assert_eq!(out, b"1\r\nx\r\n");
        // A late 100 is still reported, and changes nothing.
        conn.receive(b"HTTP/1.1 100 Continue\r\n\r\n").unwrap();
        assert_eq!(pull(&mut conn), vec![info(100, "Continue", &[])]);
        assert!(!conn.waiting_for_continue());
        assert!(conn.sending_body());
    }

    #[test]
    fn waiting_for_continue_only_with_a_body() {
        // RFC 9110 §10.1.1: a client MUST NOT expect 100-continue of a request without
        // content: refused as the caller's mistake, before a byte is written.
        for body in [BodyLength::None, BodyLength::Known(0)] {
            let mut conn = ClientConn::new();
            let h = header_map(&[("host", "h"), ("expect", "100-continue")]);
            let mut out = Vec::new();
            let e = conn
                .send_request(&Method::POST, "/up", &h, body, &mut out)
                .unwrap_err();
            assert!(!e.is_remote(), "{e:?}");
            assert!(e.to_string().contains("100-continue"), "{e}");
            assert!(out.is_empty(), "{out:?}");
        }
        let mut conn = ClientConn::new();
        send(&mut conn, Method::PUT, "/", &host(), BodyLength::Known(1));
        assert!(!conn.waiting_for_continue(), "no expect header");
    }

    #[test]
    fn early_final_response_while_sending_body() {
        let mut conn = ClientConn::new();
        let mut out = send(
            &mut conn,
            Method::POST,
            "/big",
            &host(),
            BodyLength::Known(10),
        );
        conn.send_data(b"012", &mut out).unwrap();
        conn.receive(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 4\r\n\r\nbig!")
            .unwrap();
        assert_eq!(
            pull(&mut conn),
            vec![
                resp(413, "Content Too Large", &[("content-length", "4")]),
                data(b"big!"),
                end()
            ]
        );
        assert_eq!(conn.responses_pending(), 0);
        assert!(conn.sending_body());
        assert!(conn.is_keep_alive());
        conn.send_data(b"3456789", &mut out).unwrap();
        conn.send_end(None, &mut out).unwrap();
        assert!(!conn.sending_body());
        assert_eq!(
            out,
            b"POST /big HTTP/1.1\r\nhost: example.com\r\ncontent-length: 10\r\n\r\n0123456789"
        );
        // The connection goes on.
        send(&mut conn, Method::GET, "/next", &host(), BodyLength::None);
        conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        assert_eq!(
            pull(&mut conn),
            vec![resp(200, "OK", &[("content-length", "0")]), end()]
        );
    }

    #[test]
    fn early_final_response_with_close_while_sending_body() {
        let mut conn = ClientConn::new();
        let mut out = send(&mut conn, Method::PUT, "/big", &host(), BodyLength::Unknown);
        conn.send_data(b"abc", &mut out).unwrap();
        conn.receive(b"HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        assert_eq!(
            pull(&mut conn),
            vec![
                resp(
                    403,
                    "Forbidden",
                    &[("connection", "close"), ("content-length", "0")]
                ),
                end()
            ]
        );
        assert!(!conn.is_keep_alive());
        // The body may still be finished, but no new request may follow.
        conn.send_end(None, &mut out).unwrap();
        let mut more = Vec::new();
        assert_eq!(
            conn.send_request(&Method::GET, "/", &host(), BodyLength::None, &mut more),
            Err(local("the connection is closing: no more requests"))
        );
        conn.receive(b"\r\n").unwrap();
        conn.receive_eof();
        assert_eq!(pull(&mut conn), vec![closed()]);
    }

    // ---- local errors, and stickiness ----

    #[test]
    fn second_head_before_body_done() {
        let mut conn = ClientConn::new();
        let mut out = send(&mut conn, Method::POST, "/", &host(), BodyLength::Known(2));
        let before = out.clone();
        let e = local("the previous request body is not complete");
        assert_eq!(
            conn.send_request(&Method::GET, "/", &host(), BodyLength::None, &mut out),
            Err(e.clone())
        );
        assert_eq!(out, before, "nothing written on error");
        assert_eq!(conn.responses_pending(), 1);
        // Sticky: the sending side stays failed.
        assert_eq!(conn.send_data(b"ok", &mut out), Err(e.clone()));
        assert_eq!(conn.send_end(None, &mut out), Err(e.clone()));
        assert_eq!(
            conn.send_request(&Method::GET, "/", &host(), BodyLength::None, &mut out),
            Err(e)
        );
        assert_eq!(out, before);
    }

    #[test]
    fn data_past_content_length() {
        let mut conn = ClientConn::new();
        let mut out = send(&mut conn, Method::PUT, "/", &host(), BodyLength::Known(5));
        conn.send_data(b"abc", &mut out).unwrap();
        let before = out.clone();
        let e = local("body data exceeds the Content-Length (3 bytes given, 2 left)");
        assert_eq!(conn.send_data(b"def", &mut out), Err(e.clone()));
        assert_eq!(out, before);
        assert_eq!(conn.send_data(b"de", &mut out), Err(e.clone()));
        assert_eq!(conn.send_end(None, &mut out), Err(e.clone()));
        assert_eq!(
            conn.send_request(&Method::GET, "/", &host(), BodyLength::None, &mut out),
            Err(e)
        );
        assert_eq!(out, before);
    }

    #[test]
    fn data_with_no_body_expected() {
        let mut conn = ClientConn::new();
        let mut out = send(&mut conn, Method::GET, "/", &host(), BodyLength::None);
        let e = local("no request body is being sent");
        assert_eq!(conn.send_data(b"x", &mut out), Err(e.clone()));
        assert_eq!(
            conn.send_request(&Method::GET, "/", &host(), BodyLength::None, &mut out),
            Err(e)
        );
    }

    #[test]
    fn ending_short() {
        let mut conn = ClientConn::new();
        let mut out = send(&mut conn, Method::POST, "/", &host(), BodyLength::Known(4));
        conn.send_data(b"ab", &mut out).unwrap();
        let e = local("body ended 2 bytes short of the Content-Length");
        assert_eq!(conn.send_end(None, &mut out), Err(e.clone()));
        assert_eq!(conn.send_data(b"cd", &mut out), Err(e.clone()));
        assert_eq!(conn.send_end(None, &mut out), Err(e.clone()));
        assert_eq!(
            conn.send_request(&Method::GET, "/", &host(), BodyLength::None, &mut out),
            Err(e)
        );
        // Receiving is a separate direction: the pending response still arrives.
        conn.receive(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        assert_eq!(
            pull(&mut conn),
            vec![resp(400, "Bad Request", &[("content-length", "0")]), end()]
        );
    }

    #[test]
    fn request_without_host() {
        let mut conn = ClientConn::new();
        let mut out = Vec::new();
        let e = local("an HTTP/1.1 request needs exactly one host header");
        assert_eq!(
            conn.send_request(
                &Method::GET,
                "/",
                &HeaderMap::new(),
                BodyLength::None,
                &mut out
            ),
            Err(e.clone())
        );
        assert!(out.is_empty());
        assert_eq!(conn.responses_pending(), 0);
        assert_eq!(
            conn.send_request(&Method::GET, "/", &host(), BodyLength::None, &mut out),
            Err(e)
        );
        assert!(out.is_empty());
    }

    #[test]
    fn request_with_two_hosts() {
        let mut conn = ClientConn::new();
        let mut out = Vec::new();
        let h = header_map(&[("host", "a"), ("host", "b")]);
        assert_eq!(
            conn.send_request(&Method::GET, "/", &h, BodyLength::None, &mut out),
            Err(local("an HTTP/1.1 request needs exactly one host header"))
        );
        assert!(out.is_empty());
    }

    /// `send_request` refuses, before a byte goes out, what RFC 9112 §3.2 and RFC 9110
    /// forbid a client to send; each refusal is the caller's (local) error.
    #[test]
    fn requests_the_rfc_forbids_are_refused_unwritten() {
        type Fields = &'static [(&'static str, &'static str)];
        let refused: &[(Method, &str, Fields, BodyLength, &str)] = &[
            (
                Method::GET,
                "*",
                &[("host", "h")],
                BodyLength::None,
                "asterisk-form target is only for OPTIONS",
            ),
            (
                Method::GET,
                "abc",
                &[("host", "h")],
                BodyLength::None,
                "invalid request target",
            ),
            (
                Method::GET,
                "/",
                &[("host", ":80")],
                BodyLength::None,
                "the host header is not host[:port]",
            ),
            (
                Method::GET,
                "h:80",
                &[("host", "h")],
                BodyLength::None,
                "authority-form target is only for CONNECT",
            ),
            (
                Method::GET,
                "ftp://u@v@h/",
                &[("host", "h")],
                BodyLength::None,
                "invalid request target",
            ),
            (
                Method::CONNECT,
                "/x",
                &[("host", "h")],
                BodyLength::None,
                "CONNECT needs an authority-form target",
            ),
            (
                Method::CONNECT,
                "h",
                &[("host", "h")],
                BodyLength::None,
                "CONNECT needs an authority-form target",
            ),
            (
                Method::CONNECT,
                "h:0",
                &[("host", "h:0")],
                BodyLength::None,
                "CONNECT needs an authority-form target",
            ),
            (
                Method::CONNECT,
                "h:65536",
                &[("host", "h")],
                BodyLength::None,
                "CONNECT needs an authority-form target",
            ),
            (
                Method::GET,
                "http:///x",
                &[("host", "h")],
                BodyLength::None,
                "invalid request target",
            ),
            (
                Method::GET,
                "http://u:p@h/",
                &[("host", "h")],
                BodyLength::None,
                "invalid request target",
            ),
            (
                Method::GET,
                "/a#frag",
                &[("host", "h")],
                BodyLength::None,
                "no fragment",
            ),
            (
                Method::GET,
                "/",
                &[("host", "u@h")],
                BodyLength::None,
                "host header is not host[:port]",
            ),
            (
                Method::GET,
                "/",
                &[("host", "h%zz")],
                BodyLength::None,
                "host header is not host[:port]",
            ),
            (
                Method::TRACE,
                "/",
                &[("host", "h")],
                BodyLength::Known(1),
                "TRACE request has no content",
            ),
            (
                Method::TRACE,
                "/",
                &[("host", "h")],
                BodyLength::Unknown,
                "TRACE request has no content",
            ),
            (
                Method::GET,
                "/",
                &[("host", "h"), ("te", "trailers, chunked")],
                BodyLength::None,
                "must not list chunked",
            ),
            (
                Method::PUT,
                "/",
                &[
                    ("host", "h"),
                    ("content-length", "1"),
                    ("content-length", "1"),
                ],
                BodyLength::Known(1),
                "Content-Length given more than once",
            ),
        ];
        for (method, target, fields, body, why) in refused {
            let mut conn = ClientConn::new();
            let mut out = Vec::new();
            let Err(e) = conn.send_request(method, target, &header_map(fields), *body, &mut out)
            else {
                panic!("{method} {target} {fields:?} was sent");
            };
            assert!(!e.is_remote(), "{method} {target}: {e:?}");
            assert!(e.to_string().contains(why), "{method} {target}: {e}");
            assert!(out.is_empty(), "{method} {target}: {out:?}");
        }
        // What each rule still allows.
        let allowed: &[(Method, &str, Fields)] = &[
            (Method::OPTIONS, "*", &[("host", "h")]),
            (Method::CONNECT, "h:65535", &[("host", "h:65535")]),
            (Method::CONNECT, "[::1]:443", &[("host", "[::1]:443")]),
            (Method::GET, "HTTP://h:8080/p?q", &[("host", "h:8080")]),
            (Method::GET, "urn:isbn:1", &[("host", "h")]),
            (Method::GET, "file:///p", &[("host", "h")]),
            (Method::GET, "/p?q=%41", &[("host", "")]),
            (Method::GET, "/", &[("host", "[fe80::1%25eth0]:80")]),
        ];
        for (method, target, fields) in allowed {
            let mut conn = ClientConn::new();
            let mut out = Vec::new();
            conn.send_request(
                method,
                target,
                &header_map(fields),
                BodyLength::None,
                &mut out,
            )
            .unwrap_or_else(|e| panic!("{method} {target}: {e}"));
            let line = format!("{method} {target} HTTP/1.1\r\n");
            assert!(out.starts_with(line.as_bytes()), "{out:?}");
        }
    }

    /// RFC 9110 §7.8 and RFC 9112 §7.4: a sender of Upgrade, or of TE, also lists it in
    /// Connection; the core adds the option when the caller's fields do not have it.
    #[test]
    fn upgrade_and_te_get_their_connection_option() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("host", "h"), ("upgrade", "websocket")], "host: h\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n"),
            (&[("host", "h"), ("upgrade", "websocket"), ("connection", "Upgrade")], "host: h\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n"),
            (&[("host", "h"), ("te", "trailers")], "host: h\r\nte: trailers\r\nconnection: te\r\n\r\n"),
            (&[("host", "h"), ("te", "trailers"), ("upgrade", "h2c"), ("connection", "keep-alive")], "host: h\r\nte: trailers\r\nupgrade: h2c\r\nconnection: keep-alive\r\nconnection: upgrade, te\r\n\r\n"),
        ];
        for (fields, head) in cases {
            let mut conn = ClientConn::new();
            let mut out = Vec::new();
            conn.send_request(
                &Method::GET,
                "/",
                &header_map(fields),
                BodyLength::None,
                &mut out,
            )
            .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out),
                format!("GET / HTTP/1.1\r\n{head}"),
                "{fields:?}"
            );
        }
    }

    #[test]
    fn request_with_bad_target() {
        for target in ["", "/a b", "/a\tb", "/\u{7f}", "/caf\u{e9}"] {
            let mut conn = ClientConn::new();
            let mut out = Vec::new();
            let e = local("request target is empty or has a space or control character");
            assert_eq!(
                conn.send_request(&Method::GET, target, &host(), BodyLength::None, &mut out),
                Err(e.clone()),
                "{target:?}"
            );
            assert_eq!(
                conn.send_request(&Method::GET, "/", &host(), BodyLength::None, &mut out),
                Err(e)
            );
            assert!(out.is_empty());
        }
    }

    #[test]
    fn request_after_connection_close_request() {
        let mut conn = ClientConn::new();
        let h = header_map(&[("host", "h"), ("connection", "close")]);
        let out = send(&mut conn, Method::GET, "/last", &h, BodyLength::None);
        assert_eq!(
            out,
            b"GET /last HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n"
        );
        assert!(!conn.is_keep_alive());
        let e = local("the connection is closing: no more requests");
        let mut more = Vec::new();
        assert_eq!(
            conn.send_request(&Method::GET, "/", &host(), BodyLength::None, &mut more),
            Err(e.clone())
        );
        assert_eq!(
            conn.send_request(&Method::GET, "/", &host(), BodyLength::None, &mut more),
            Err(e)
        );
        assert!(more.is_empty());
        // The response to the last request still arrives; then the rest is discarded.
        conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n\r\n")
            .unwrap();
        conn.receive_eof();
        assert_eq!(
            pull(&mut conn),
            vec![
                resp(200, "OK", &[("content-length", "1")]),
                data(b"x"),
                end(),
                closed()
            ]
        );
    }

    /// A `close` on the last of several pipelined requests ends the connection after its
    /// own response: every response before it is read (they were dropped after the first).
    /// Fed whole, byte by byte and split at every point.
    #[test]
    fn responses_ahead_of_our_close_request_are_all_read() {
        let wire: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na\
HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n\
HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ncHTTP/1.1 200 OK\r\n\r\n";
        let want = vec![
            resp(200, "OK", &[("content-length", "1")]),
            data(b"a"),
            end(),
            resp(200, "OK", &[("transfer-encoding", "chunked")]),
            data(b"b"),
            end(),
            resp(200, "OK", &[("content-length", "1")]),
            data(b"c"),
            end(),
            closed(),
        ];
        let pieces = |cut: Option<usize>| -> Vec<&[u8]> {
            match cut {
                Some(0) => wire.chunks(1).collect(),
                Some(at) => vec![&wire[..at], &wire[at..]],
                None => vec![wire],
            }
        };
        let cuts = std::iter::once(None).chain((0..wire.len()).map(Some));
        for cut in cuts {
            let mut conn = ClientConn::new();
            let close = header_map(&[("host", "h"), ("connection", "close")]);
            send(&mut conn, Method::GET, "/1", &host(), BodyLength::None);
            send(&mut conn, Method::GET, "/2", &host(), BodyLength::None);
            send(&mut conn, Method::GET, "/3", &close, BodyLength::None);
            assert_eq!(conn.responses_pending(), 3);
            let mut got = Vec::new();
            for piece in pieces(cut) {
                conn.receive(piece).unwrap();
                got.extend(pull(&mut conn));
            }
            conn.receive_eof();
            got.extend(pull(&mut conn));
            // Byte runs of one body arrive as several Data events: join them.
            let mut joined: Vec<Ev> = Vec::new();
            for ev in got {
                match (ev, joined.last_mut()) {
                    (Ev::Data(d), Some(Ev::Data(prev))) => prev.extend_from_slice(&d),
                    (ev, _) => joined.push(ev),
                }
            }
            assert_eq!(joined, want, "cut {cut:?}");
            assert_eq!(conn.responses_pending(), 0);
        }
    }

    /// `reads_responses` stays true while responses are due before our own `close`;
    /// `response_closes` is the response's own word, which ours is not.
    #[test]
    fn reads_responses_until_the_last_before_the_close() {
        let mut conn = ClientConn::new();
        let close = header_map(&[("host", "h"), ("connection", "close")]);
        send(&mut conn, Method::GET, "/1", &host(), BodyLength::None);
        send(&mut conn, Method::GET, "/2", &close, BodyLength::None);
        assert!(!conn.is_keep_alive());
        assert!(conn.reads_responses());
        conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        assert_eq!(
            pull(&mut conn),
            vec![resp(200, "OK", &[("content-length", "0")]), end()]
        );
        assert!(
            conn.reads_responses(),
            "the answer to the close is still due"
        );
        assert!(!conn.response_closes());
        conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        assert_eq!(
            pull(&mut conn),
            vec![resp(200, "OK", &[("content-length", "0")]), end()]
        );
        assert!(!conn.reads_responses());

        // A response that closes ends the reading, with requests still pending.
        let mut conn = ClientConn::new();
        send(&mut conn, Method::GET, "/1", &host(), BodyLength::None);
        send(&mut conn, Method::GET, "/2", &host(), BodyLength::None);
        conn.receive(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        pull(&mut conn);
        assert!(conn.response_closes());
        assert!(!conn.reads_responses());
        assert_eq!(conn.responses_pending(), 1);
    }

    #[test]
    fn request_after_close_token_in_list_with_body() {
        let mut conn = ClientConn::new();
        let h = header_map(&[("host", "h"), ("connection", "keep-alive, Close")]);
        let mut out = send(&mut conn, Method::POST, "/", &h, BodyLength::Known(1));
        assert!(!conn.is_keep_alive());
        conn.send_data(b"x", &mut out).unwrap();
        conn.send_end(None, &mut out).unwrap();
        assert_eq!(
            conn.send_request(&Method::GET, "/", &host(), BodyLength::None, &mut out),
            Err(local("the connection is closing: no more requests"))
        );
    }

    #[test]
    fn trailers_on_content_length_body() {
        let mut conn = ClientConn::new();
        let mut out = send(&mut conn, Method::POST, "/", &host(), BodyLength::Known(1));
        conn.send_data(b"x", &mut out).unwrap();
        let before = out.clone();
        let e = local("trailers need a chunked body");
        let t = header_map(&[("x-sum", "1")]);
        assert_eq!(conn.send_end(Some(&t), &mut out), Err(e.clone()));
        assert_eq!(out, before);
        assert_eq!(conn.send_end(None, &mut out), Err(e.clone()));
        assert_eq!(
            conn.send_request(&Method::GET, "/", &host(), BodyLength::None, &mut out),
            Err(e)
        );
        // An empty trailer map is no trailers.
        let mut conn = ClientConn::new();
        let mut out = send(&mut conn, Method::POST, "/", &host(), BodyLength::Known(0));
        assert!(!conn.sending_body(), "Known(0) is complete at once");
        assert_eq!(
            conn.send_end(Some(&HeaderMap::new()), &mut out),
            Err(local("no request body is being sent"))
        );
        let mut conn = ClientConn::new();
        let mut out = send(&mut conn, Method::POST, "/", &host(), BodyLength::Known(1));
        conn.send_data(b"x", &mut out).unwrap();
        conn.send_end(Some(&HeaderMap::new()), &mut out).unwrap();
    }

    #[test]
    fn chunk_extensions_on_content_length_body() {
        let mut conn = ClientConn::new();
        let mut out = send(&mut conn, Method::POST, "/", &host(), BodyLength::Known(1));
        assert_eq!(
            conn.send_chunk(b"x", &[("a", None)], &mut out),
            Err(local("chunk extensions need a chunked body"))
        );
    }

    /// Method, header fields, body length, and the head written or the error message.
    type FramingCase = (
        Method,
        &'static [(&'static str, &'static str)],
        BodyLength,
        Result<&'static [u8], &'static str>,
    );

    #[test]
    fn framing_fields_from_the_caller() {
        let cases: &[FramingCase] = &[
            (
                Method::POST,
                &[("host", "h"), ("content-length", "3")],
                BodyLength::Known(3),
                Ok(b"POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 3\r\n\r\n"),
            ),
            (
                Method::POST,
                &[("host", "h"), ("content-length", "4")],
                BodyLength::Known(3),
                Err("Content-Length given does not match the body length 3"),
            ),
            (
                Method::POST,
                &[("host", "h"), ("transfer-encoding", "chunked")],
                BodyLength::Known(3),
                Err("Transfer-Encoding given for a body of known length"),
            ),
            (
                Method::POST,
                &[("host", "h"), ("transfer-encoding", "chunked")],
                BodyLength::Unknown,
                Ok(b"POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n"),
            ),
            (
                Method::POST,
                &[("host", "h"), ("transfer-encoding", "gzip")],
                BodyLength::Unknown,
                Err("only `transfer-encoding: chunked` is supported on output"),
            ),
            (
                Method::POST,
                &[("host", "h"), ("content-length", "3")],
                BodyLength::Unknown,
                Err("Content-Length given for a chunked body"),
            ),
            (
                Method::GET,
                &[("host", "h"), ("content-length", "0")],
                BodyLength::None,
                Err("framing fields (Content-Length, Transfer-Encoding) do not fit this message"),
            ),
            (
                Method::GET,
                &[("host", "h"), ("transfer-encoding", "chunked")],
                BodyLength::None,
                Err("framing fields (Content-Length, Transfer-Encoding) do not fit this message"),
            ),
        ];
        for (method, h, body, want) in cases {
            let mut conn = ClientConn::new();
            let mut out = b"previous".to_vec();
            let got = conn.send_request(method, "/", &header_map(h), *body, &mut out);
            match want {
                Ok(bytes) => {
                    assert!(got.is_ok(), "{method} {h:?}: {got:?}");
                    assert_eq!(out[8..], bytes[..], "{method} {h:?}");
                }
                Err(message) => {
                    assert_eq!(got, Err(local(message)), "{method} {h:?}");
                    assert_eq!(out, b"previous", "output kept on error");
                    assert_eq!(conn.responses_pending(), 0);
                }
            }
        }
    }

    // ---- remote errors ----

    #[test]
    fn data_with_no_request_outstanding() {
        let mut conn = ClientConn::new();
        conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        let e = err(400, "data received with no request outstanding");
        assert_eq!(pull(&mut conn), vec![e.clone()]);
        // Sticky, and the connection takes no more requests.
        assert_eq!(next(&mut conn), Some(e.clone()));
        assert!(!conn.is_keep_alive());
        let mut out = Vec::new();
        assert_eq!(
            conn.send_request(&Method::GET, "/", &host(), BodyLength::None, &mut out),
            Err(local("the connection is closing: no more requests"))
        );
        conn.receive_eof();
        assert_eq!(next(&mut conn), Some(e));
    }

    #[test]
    fn data_after_the_last_response() {
        let mut conn = ClientConn::new();
        send(&mut conn, Method::GET, "/", &host(), BodyLength::None);
        conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxy")
            .unwrap();
        assert_eq!(
            pull(&mut conn),
            vec![
                resp(200, "OK", &[("content-length", "1")]),
                data(b"x"),
                end(),
                err(400, "data received with no request outstanding")
            ]
        );
        assert!(matches!(
            conn.next_event(),
            Err(Error::RemoteProtocol { .. })
        ));
    }

    #[test]
    fn switching_101_without_upgrade_offer() {
        let mut conn = ClientConn::new();
        let out = send(&mut conn, Method::GET, "/", &host(), BodyLength::None);
        assert_eq!(out, b"GET / HTTP/1.1\r\nhost: example.com\r\n\r\n");
        conn.receive(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n")
            .unwrap();
        let e = err(400, "101 Switching Protocols without an upgrade request");
        assert_eq!(pull(&mut conn), vec![e.clone()]);
        assert_eq!(next(&mut conn), Some(e));
        assert!(!conn.is_keep_alive());
    }

    /// An `Upgrade` that lists no protocol offers none (RFC 9110 §7.8): a 101 to it is
    /// the server's error, not a switch.
    #[test]
    fn switching_101_to_an_empty_upgrade_list() {
        for offer in ["", " , ,"] {
            let mut conn = ClientConn::new();
            let h = header_map(&[("host", "h"), ("connection", "upgrade"), ("upgrade", offer)]);
            send(&mut conn, Method::GET, "/", &h, BodyLength::None);
            conn.receive(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n")
                .unwrap();
            let e = err(400, "101 Switching Protocols without an upgrade request");
            assert_eq!(pull(&mut conn), vec![e], "offer {offer:?}");
        }
    }

    #[test]
    fn switching_101_with_upgrade_offer() {
        let mut conn = ClientConn::new();
        let h = header_map(&[
            ("host", "h"),
            ("connection", "upgrade"),
            ("upgrade", "websocket"),
        ]);
        send(&mut conn, Method::GET, "/ws", &h, BodyLength::None);
        conn.receive(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
        )
        .unwrap();
        assert_eq!(
            pull(&mut conn),
            vec![
                info(101, "Switching Protocols", &[("upgrade", "websocket")]),
                switched(b"")
            ]
        );
        assert_eq!(conn.take_trailing(), b"\x81\x05hello");
        assert_eq!(conn.responses_pending(), 0);
        assert_eq!(next(&mut conn), Some(switched(b"")), "Switched is sticky");
        let mut out = Vec::new();
        assert_eq!(
            conn.send_request(&Method::GET, "/", &host(), BodyLength::None, &mut out),
            Err(local("the connection is closing: no more requests"))
        );
        assert!(!conn.is_keep_alive(), "no more requests after a switch");
    }

    #[test]
    fn connect_switch_stops_requests() {
        let mut conn = ClientConn::new();
        send(
            &mut conn,
            Method::CONNECT,
            "example.com:443",
            &host(),
            BodyLength::None,
        );
        conn.receive(b"HTTP/1.1 200 OK\r\n\r\n\x16\x03").unwrap();
        assert_eq!(next(&mut conn), Some(resp(200, "OK", &[])));
        assert!(
            !conn.is_keep_alive(),
            "no more requests once the tunnel is accepted"
        );
        let mut out = Vec::new();
        assert_eq!(
            conn.send_request(&Method::GET, "/", &host(), BodyLength::None, &mut out),
            Err(local("the connection is closing: no more requests"))
        );
        assert!(out.is_empty());
        assert_eq!(next(&mut conn), Some(switched(b"")));
        assert_eq!(conn.take_trailing(), b"\x16\x03");
    }

    #[test]
    fn until_close_response_stops_requests() {
        let mut conn = ClientConn::new();
        send(&mut conn, Method::GET, "/", &host(), BodyLength::None);
        conn.receive(b"HTTP/1.1 200 OK\r\n\r\nab").unwrap();
        assert_eq!(pull(&mut conn), vec![resp(200, "OK", &[]), data(b"ab")]);
        assert!(
            !conn.is_keep_alive(),
            "a body read until close ends the connection"
        );
        conn.receive_eof();
        assert_eq!(pull(&mut conn), vec![end(), closed()]);
    }

    #[test]
    fn remote_error_is_sticky_receive_side_only() {
        let mut conn = ClientConn::new();
        let mut out = send(&mut conn, Method::POST, "/", &host(), BodyLength::Known(2));
        conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n")
            .unwrap();
        let e = err(400, "conflicting Content-Length values");
        assert_eq!(pull(&mut conn), vec![e.clone()]);
        assert_eq!(next(&mut conn), Some(e.clone()));
        conn.receive(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
        assert_eq!(next(&mut conn), Some(e));
        assert!(!conn.is_keep_alive());
        // The body in progress may still be finished.
        conn.send_data(b"ab", &mut out).unwrap();
        conn.send_end(None, &mut out).unwrap();
        assert_eq!(
            conn.send_request(&Method::GET, "/", &host(), BodyLength::None, &mut out),
            Err(local("the connection is closing: no more requests"))
        );
    }

    // ---- end of input in each state ----

    #[test]
    fn eof_idle_no_requests() {
        let mut conn = ClientConn::new();
        conn.receive_eof();
        assert_eq!(conn.next_event(), Ok(Event::Closed));
        assert_eq!(conn.next_event(), Ok(Event::Closed));
        assert_eq!(
            conn.receive(b"x"),
            Err(local("data received after end of input"))
        );
    }

    #[test]
    fn eof_idle_after_responses() {
        let mut conn = ClientConn::new();
        send(&mut conn, Method::GET, "/", &host(), BodyLength::None);
        conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        conn.receive_eof();
        assert_eq!(
            pull(&mut conn),
            vec![resp(200, "OK", &[("content-length", "0")]), end(), closed()]
        );
    }

    #[test]
    fn eof_with_requests_unanswered() {
        let mut conn = ClientConn::new();
        send(&mut conn, Method::GET, "/", &host(), BodyLength::None);
        send(&mut conn, Method::GET, "/", &host(), BodyLength::None);
        conn.receive_eof();
        let got = conn.next_event();
        assert!(matches!(got, Err(Error::RemoteClosed { .. })), "{got:?}");
        assert_eq!(
            got.unwrap_err().message(),
            "peer closed connection with 2 request(s) unanswered"
        );
        let mut conn = ClientConn::new();
        send(&mut conn, Method::GET, "/", &host(), BodyLength::None);
        send(&mut conn, Method::GET, "/", &host(), BodyLength::None);
        conn.receive(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        conn.receive_eof();
        assert_eq!(
            pull(&mut conn),
            vec![
                resp(204, "No Content", &[]),
                end(),
                err(400, "peer closed connection with 1 request(s) unanswered")
            ]
        );
    }

    #[test]
    fn eof_after_informational_only() {
        let mut conn = ClientConn::new();
        send(&mut conn, Method::GET, "/", &host(), BodyLength::None);
        conn.receive(b"HTTP/1.1 100 Continue\r\n\r\n").unwrap();
        conn.receive_eof();
        assert_eq!(
            pull(&mut conn),
            vec![
                info(100, "Continue", &[]),
                err(400, "peer closed connection with 1 request(s) unanswered")
            ]
        );
    }

    #[test]
    fn eof_after_close_response_with_requests_unanswered() {
        // The peer announced the close: the unanswered requests were never processed, and
        // are left counted in responses_pending.
        let mut conn = ClientConn::new();
        for _ in 0..3 {
            send(&mut conn, Method::GET, "/", &host(), BodyLength::None);
        }
        conn.receive(b"HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        conn.receive_eof();
        assert_eq!(
            pull(&mut conn),
            vec![
                resp(
                    503,
                    "Busy",
                    &[("connection", "close"), ("content-length", "0")]
                ),
                end(),
                closed()
            ]
        );
        assert_eq!(conn.responses_pending(), 2);
    }

    #[test]
    fn eof_kinds_are_remote_closed() {
        for input in [
            &b"HTTP/1.1 200 OK\r\nContent-Len"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\na",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\na",
        ] {
            let mut conn = ClientConn::new();
            send(&mut conn, Method::GET, "/", &host(), BodyLength::None);
            conn.receive(input).unwrap();
            conn.receive_eof();
            let mut last = pull(&mut conn);
            assert!(matches!(last.pop(), Some(Ev::Error(400, _))));
            let e = conn.next_event().unwrap_err();
            assert!(matches!(e, Error::RemoteClosed { .. }), "{e:?}");
            assert!(e.is_remote());
        }
    }
}

// EOF in each state, through the harness (exact messages).
mod eof {
    use super::*;

    resp! {
        mid_status_line: GET, b"HTTP/1.1 20" => [err(400, "peer closed connection in the middle of a response head")];
        mid_head: GET, b"HTTP/1.1 200 OK\r\nContent-Len" => [err(400, "peer closed connection in the middle of a response head")];
        mid_head_after_cr: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r" =>
            [err(400, "peer closed connection in the middle of a response head")];
        mid_second_head: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 2" =>
            [resp(200, "OK", &[("content-length", "0")]), end(), err(400, "peer closed connection in the middle of a response head")];
        mid_body_none_received: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" =>
            [resp(200, "OK", &[("content-length", "10")]),
             err(400, "peer closed connection without sending complete message body (received 0 bytes, expected 10)")];
        mid_body: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc" =>
            [resp(200, "OK", &[("content-length", "10")]), data(b"abc"),
             err(400, "peer closed connection without sending complete message body (received 3 bytes, expected 10)")];
        mid_chunk_data: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n5\r\nhel" =>
            [resp(200, "OK", &[("transfer-encoding", "chunked")]), data(b"abhel"),
             err(400, "peer closed connection without sending complete message body: incomplete chunked body (5 bytes of data received, in chunk data, 2 bytes of the current chunk missing)")];
        mid_chunk_size_line: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=" =>
            [resp(200, "OK", &[("transfer-encoding", "chunked")]),
             err(400, "peer closed connection without sending complete message body: incomplete chunked body (0 bytes of data received, in chunk framing)")];
        after_chunk_data_before_crlf: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r" =>
            [resp(200, "OK", &[("transfer-encoding", "chunked")]), data(b"hello"),
             err(400, "peer closed connection without sending complete message body: incomplete chunked body (5 bytes of data received, in chunk framing)")];
        before_last_chunk: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", "chunked")]), data(b"hello"),
             err(400, "peer closed connection without sending complete message body: incomplete chunked body (5 bytes of data received, in chunk framing)")];
        in_trailers: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nT: 1\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", "chunked")]), data(b"x"),
             err(400, "peer closed connection without sending complete message body: incomplete chunked body (1 bytes of data received, in the trailer section)")];
        head_response_complete: HEAD, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" =>
            [resp(200, "OK", &[("content-length", "10")]), end(), closed()];
    }
}

// ---------------------------------------------------------------------------------------
// Request serialization, byte for byte
// ---------------------------------------------------------------------------------------

mod serialize {
    use super::*;

    fn one(
        method: Method,
        target: &str,
        h: &[(&str, &str)],
        body: BodyLength,
    ) -> (Vec<u8>, Framing, bool) {
        let mut conn = ClientConn::new();
        let mut out = Vec::new();
        let framing = conn
            .send_request(&method, target, &header_map(h), body, &mut out)
            .unwrap();
        (out, framing, conn.sending_body())
    }

    #[test]
    fn get_keeps_host_and_fields_in_order() {
        let (out, framing, sending) = one(
            Method::GET,
            "/path?q=1&r=%20",
            &[
                ("host", "example.com:8080"),
                ("user-agent", "t/1"),
                ("accept", "*/*"),
                ("x-multi", "a"),
                ("x-multi", "b"),
            ],
            BodyLength::None,
        );
        assert_eq!(
            out,
            b"GET /path?q=1&r=%20 HTTP/1.1\r\nhost: example.com:8080\r\nuser-agent: t/1\r\naccept: */*\r\nx-multi: a\r\nx-multi: b\r\n\r\n"
        );
        assert_eq!((framing, sending), (Framing::None, false));
    }

    #[test]
    fn body_less_methods_get_no_content_length() {
        for method in [
            Method::GET,
            Method::HEAD,
            Method::DELETE,
            Method::OPTIONS,
            Method::TRACE,
        ] {
            let (out, framing, _) = one(method.clone(), "/", &[("host", "h")], BodyLength::None);
            assert_eq!(
                out,
                format!("{method} / HTTP/1.1\r\nhost: h\r\n\r\n").as_bytes()
            );
            assert_eq!(framing, Framing::None);
        }
    }

    #[test]
    fn post_put_patch_none_get_content_length_zero() {
        for method in [Method::POST, Method::PUT, Method::PATCH] {
            let (out, framing, sending) =
                one(method.clone(), "/", &[("host", "h")], BodyLength::None);
            assert_eq!(
                out,
                format!("{method} / HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n").as_bytes()
            );
            assert_eq!((framing, sending), (Framing::None, false));
        }
    }

    #[test]
    fn known_zero_is_content_length_zero_for_any_method() {
        let (out, framing, sending) = one(Method::GET, "/", &[("host", "h")], BodyLength::Known(0));
        assert_eq!(
            out,
            b"GET / HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n"
        );
        assert_eq!((framing, sending), (Framing::None, false));
    }

    #[test]
    fn known_length_body() {
        let mut conn = ClientConn::new();
        let mut out = Vec::new();
        let framing = conn
            .send_request(
                &Method::PUT,
                "/f",
                &header_map(&[("host", "h")]),
                BodyLength::Known(11),
                &mut out,
            )
            .unwrap();
        assert_eq!(framing, Framing::Length(11));
        conn.send_data(b"hello", &mut out).unwrap();
        conn.send_data(b"", &mut out).unwrap();
        conn.send_data(b" world", &mut out).unwrap();
        conn.send_end(None, &mut out).unwrap();
        assert_eq!(
            out,
            b"PUT /f HTTP/1.1\r\nhost: h\r\ncontent-length: 11\r\n\r\nhello world"
        );
    }

    #[test]
    fn other_target_forms_and_methods() {
        let (out, ..) = one(Method::OPTIONS, "*", &[("host", "h")], BodyLength::None);
        assert_eq!(out, b"OPTIONS * HTTP/1.1\r\nhost: h\r\n\r\n");
        let (out, ..) = one(
            Method::CONNECT,
            "h:443",
            &[("host", "h:443")],
            BodyLength::None,
        );
        assert_eq!(out, b"CONNECT h:443 HTTP/1.1\r\nhost: h:443\r\n\r\n");
        let (out, ..) = one(
            Method::GET,
            "http://h/x",
            &[("host", "h")],
            BodyLength::None,
        );
        assert_eq!(out, b"GET http://h/x HTTP/1.1\r\nhost: h\r\n\r\n");
        let purge = Method::from_bytes(b"PURGE").unwrap();
        let (out, ..) = one(purge, "/c", &[("host", "h")], BodyLength::None);
        assert_eq!(out, b"PURGE /c HTTP/1.1\r\nhost: h\r\n\r\n");
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        let mut conn = ClientConn::new();
        let mut out = Vec::new();
        let framing = conn
            .send_request(
                &Method::POST,
                "/up",
                &header_map(&[("host", "h"), ("trailer", "x-sum")]),
                BodyLength::Unknown,
                &mut out,
            )
            .unwrap();
        assert_eq!(framing, Framing::Chunked);
        conn.send_chunk(
            b"hello",
            &[
                ("a", None),
                ("tok", Some("v1")),
                ("q", Some("two words")),
                ("esc", Some("say \"hi\" \\o/")),
                ("e", Some("")),
            ],
            &mut out,
        )
        .unwrap();
        conn.send_data(b"", &mut out).unwrap();
        conn.send_chunk(b"", &[("skipped", None)], &mut out)
            .unwrap();
        conn.send_data(&[b'z'; 26], &mut out).unwrap();
        conn.send_end(
            Some(&header_map(&[
                ("x-sum", "abc"),
                ("x-more", "1"),
                ("x-more", "2"),
            ])),
            &mut out,
        )
        .unwrap();
        let mut want =
            b"POST /up HTTP/1.1\r\nhost: h\r\ntrailer: x-sum\r\ntransfer-encoding: chunked\r\n\r\n\
5;a;tok=v1;q=\"two words\";esc=\"say \\\"hi\\\" \\\\o/\";e=\"\"\r\nhello\r\n\
1a\r\n"
                .to_vec();
        want.extend_from_slice(&[b'z'; 26]);
        want.extend_from_slice(b"\r\n0\r\nx-sum: abc\r\nx-more: 1\r\nx-more: 2\r\n\r\n");
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&want)
        );
        assert!(!conn.sending_body());
    }

    #[test]
    fn chunked_end_without_trailers() {
        let mut conn = ClientConn::new();
        let mut out = Vec::new();
        conn.send_request(&Method::POST, "/", &host(), BodyLength::Unknown, &mut out)
            .unwrap();
        conn.send_end(None, &mut out).unwrap();
        assert_eq!(
            out,
            b"POST / HTTP/1.1\r\nhost: example.com\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"
        );
    }

    #[test]
    fn chunk_extension_errors_write_nothing() {
        type Case = (
            &'static [(&'static str, Option<&'static str>)],
            &'static str,
        );
        let cases: &[Case] = &[
            (&[("bad name", None)], "chunk extension name is not a token"),
            (&[("", None)], "chunk extension name is not a token"),
            (
                &[("ok", Some("v")), ("a", Some("x\ny"))],
                "chunk extension value has a control character",
            ),
            (
                &[("a", Some("\u{7f}"))],
                "chunk extension value has a control character",
            ),
        ];
        for (ext, message) in cases {
            let mut conn = ClientConn::new();
            let mut out = Vec::new();
            conn.send_request(&Method::POST, "/", &host(), BodyLength::Unknown, &mut out)
                .unwrap();
            let before = out.clone();
            assert_eq!(
                conn.send_chunk(b"data", ext, &mut out),
                Err(local(message)),
                "{ext:?}"
            );
            assert_eq!(out, before, "{ext:?}: nothing written on error");
            assert_eq!(conn.send_end(None, &mut out), Err(local(message)), "sticky");
        }
    }

    #[test]
    fn forbidden_trailers_write_nothing() {
        for name in ["content-length", "transfer-encoding", "host"] {
            let mut conn = ClientConn::new();
            let mut out = Vec::new();
            conn.send_request(&Method::POST, "/", &host(), BodyLength::Unknown, &mut out)
                .unwrap();
            conn.send_data(b"x", &mut out).unwrap();
            let before = out.clone();
            let message = format!("{name} is not allowed in trailers");
            assert_eq!(
                conn.send_end(Some(&header_map(&[("x-ok", "1"), (name, "1")])), &mut out),
                Err(local(&message))
            );
            assert_eq!(out, before, "{name}: nothing written on error");
            assert_eq!(
                conn.send_end(None, &mut out),
                Err(local(&message)),
                "sticky"
            );
        }
    }

    #[test]
    fn serialized_requests_parse_back() {
        // What the client writes, a server reads as the same requests.
        let mut conn = ClientConn::new();
        let mut out = Vec::new();
        conn.send_request(&Method::GET, "/a", &host(), BodyLength::None, &mut out)
            .unwrap();
        conn.send_request(&Method::POST, "/b", &host(), BodyLength::None, &mut out)
            .unwrap();
        conn.send_request(&Method::PUT, "/c", &host(), BodyLength::Known(2), &mut out)
            .unwrap();
        conn.send_data(b"hi", &mut out).unwrap();
        conn.send_end(None, &mut out).unwrap();
        let req = |method: &str, target: &str, h: &[(&str, &str)]| Ev::Request {
            method: method.to_owned(),
            target: target.to_owned(),
            version: Version::HTTP_11,
            headers: f(h),
        };
        assert_eq!(
            server_events(&out),
            vec![
                req("GET", "/a", &[("host", "example.com")]),
                end(),
                req(
                    "POST",
                    "/b",
                    &[("host", "example.com"), ("content-length", "0")]
                ),
                end(),
                req(
                    "PUT",
                    "/c",
                    &[("host", "example.com"), ("content-length", "2")]
                ),
                data(b"hi"),
                end(),
                closed(),
            ]
        );
    }
}

/// Reading bodies in bounded pieces (`next_event_max`) and straight into caller memory
/// (`direct_body_len`/`direct_body_commit`) gives the same bytes and the same end as
/// plain `next_event`, for every piece size and every split of the input.
mod bounded_and_direct {
    use super::*;

    /// A body and its trailers.
    type Body = (Vec<u8>, Vec<(String, Vec<u8>)>);

    /// Two pipelined GET responses: one with a Content-Length, one chunked with a trailer.
    fn input() -> Vec<u8> {
        let mut input = b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\nhello world".to_vec();
        input.extend_from_slice(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
              5;x=y\r\nabcde\r\n3\r\nfgh\r\n0\r\nt: v\r\n\r\n",
        );
        input
    }

    fn conn() -> ClientConn {
        let mut conn = ClientConn::new();
        let mut out = Vec::new();
        for _ in 0..2 {
            conn.send_request(&Method::GET, "/", &host(), BodyLength::None, &mut out)
                .unwrap();
        }
        conn
    }

    /// Bodies and trailers of both responses, read with pieces of at most `max` bytes,
    /// the input given `split` bytes at a time; with `direct`, body bytes the core says
    /// are next on the wire are taken straight from the input.
    fn read(max: usize, split: usize, direct: bool) -> Vec<Body> {
        let input = input();
        let mut conn = conn();
        let mut at = 0;
        let mut bodies = Vec::new();
        let mut body = Vec::new();
        loop {
            let ahead = conn.direct_body_len();
            if direct && ahead > 0 && at < input.len() {
                let n = (ahead as usize)
                    .min(max.max(1))
                    .min(input.len() - at)
                    .min(split);
                body.extend_from_slice(&input[at..at + n]);
                conn.direct_body_commit(n);
                at += n;
                continue;
            }
            match conn.next_event_max(max).unwrap() {
                Event::Data(d) => {
                    assert!(
                        !d.is_empty() && d.len() <= max.max(1),
                        "{} > {max}",
                        d.len()
                    );
                    body.extend_from_slice(d);
                }
                Event::End(trailers) => {
                    let t = trailers
                        .iter()
                        .map(|(n, v)| (n.to_owned(), v.to_vec()))
                        .collect();
                    bodies.push((std::mem::take(&mut body), t));
                    if bodies.len() == 2 {
                        return bodies;
                    }
                }
                Event::NeedData => {
                    assert!(at < input.len(), "ran out of input");
                    let n = split.min(input.len() - at);
                    conn.receive(&input[at..at + n]).unwrap();
                    at += n;
                }
                Event::Response(head) => assert_eq!(head.status(), 200),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn every_piece_size_and_split_gives_the_same_bodies() {
        let expected = vec![
            (b"hello world".to_vec(), vec![]),
            (b"abcdefgh".to_vec(), vec![("t".to_owned(), b"v".to_vec())]),
        ];
        let whole = input().len();
        for direct in [false, true] {
            for max in [0, 1, 2, 3, 5, 7, 64] {
                for split in 1..=whole {
                    assert_eq!(
                        read(max, split, direct),
                        expected,
                        "max {max}, split {split}, direct {direct}"
                    );
                }
            }
        }
    }

    #[test]
    fn direct_reads_stop_at_framing_and_when_bytes_are_buffered() {
        let mut conn = conn();
        assert_eq!(conn.direct_body_len(), 0, "no response head yet");
        conn.receive(b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\nhel")
            .unwrap();
        assert!(matches!(conn.next_event(), Ok(Event::Response(_))));
        assert_eq!(conn.body_framing(), Some(Framing::Length(11)));
        assert_eq!(conn.direct_body_len(), 0, "bytes are buffered");
        assert_eq!(conn.next_event_max(2), Ok(Event::Data(b"he")));
        assert_eq!(conn.next_event(), Ok(Event::Data(b"l")));
        assert_eq!(conn.direct_body_len(), 8);
        conn.direct_body_commit(8);
        assert_eq!(conn.direct_body_len(), 0, "the body is complete");
        assert!(matches!(conn.next_event(), Ok(Event::End(_))));
        assert_eq!(conn.body_framing(), None);

        conn.receive(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\n")
            .unwrap();
        assert!(matches!(conn.next_event(), Ok(Event::Response(_))));
        assert_eq!(conn.body_framing(), Some(Framing::Chunked));
        assert_eq!(conn.next_event(), Ok(Event::NeedData));
        assert_eq!(conn.direct_body_len(), 5, "inside the chunk");
        conn.direct_body_commit(5);
        assert_eq!(conn.direct_body_len(), 0, "the chunk's CRLF comes next");
        conn.receive(b"\r\n0\r\n\r\n").unwrap();
        assert!(matches!(conn.next_event(), Ok(Event::End(_))));
    }

    #[test]
    fn a_body_cut_short_after_direct_reads_names_the_bytes() {
        let mut conn = conn();
        conn.receive(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n")
            .unwrap();
        assert!(matches!(conn.next_event(), Ok(Event::Response(_))));
        conn.direct_body_commit(4);
        conn.receive_eof();
        assert_eq!(
            conn.direct_body_len(),
            0,
            "nothing more comes after the end"
        );
        match conn.next_event() {
            Err(Error::RemoteClosed { message }) => {
                assert!(
                    message.contains("received 4 bytes, expected 10"),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn direct_writes_count_against_the_content_length() {
        let mut conn = ClientConn::new();
        let mut out = Vec::new();
        conn.send_request(&Method::PUT, "/", &host(), BodyLength::Known(10), &mut out)
            .unwrap();
        assert_eq!(conn.send_remaining(), Some(10));
        conn.send_data_direct(6).unwrap();
        conn.send_data(b"ab", &mut out).unwrap();
        assert_eq!(conn.send_remaining(), Some(2));
        assert!(matches!(
            conn.send_data_direct(3),
            Err(Error::LocalProtocol { .. })
        ));
        // The failure is sticky, as for send_data.
        assert!(conn.send_data_direct(1).is_err());

        let mut conn = ClientConn::new();
        conn.send_request(&Method::PUT, "/", &host(), BodyLength::Unknown, &mut out)
            .unwrap();
        assert_eq!(conn.send_remaining(), None);
        assert!(
            conn.send_data_direct(1).is_err(),
            "a chunked body needs its framing"
        );
    }
}

// ---------------------------------------------------------------------------------------
// RFC 9112 rules audited in docs/conformance.md (client role)
// ---------------------------------------------------------------------------------------

mod conformance {
    use super::*;
    use pollhttp::proto::Limits;

    resp! {
        // §2.2: empty lines before a status line are skipped, as before a request line.
        leading_crlf_skipped: GET, b"\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" =>
            [resp(200, "OK", &[("content-length", "0")]), end(), closed()];
        leading_crlfs_skipped: GET, b"\r\n\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n" =>
            [resp(204, "No Content", &[]), end(), closed()];
        crlf_between_pipelined_responses: GET,
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi\r\nHTTP/1.1 204 No Content\r\n\r\n" =>
            [resp(200, "OK", &[("content-length", "2")]), data(b"hi"), end(),
             resp(204, "No Content", &[]), end(), closed()];
        crlfs_after_chunked_body: GET,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ny" =>
            [resp(200, "OK", &[("transfer-encoding", "chunked")]), data(b"x"), end(),
             resp(200, "OK", &[("content-length", "1")]), data(b"y"), end(), closed()];
        crlf_after_informational: GET,
            b"HTTP/1.1 100 Continue\r\n\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" =>
            [info(100, "Continue", &[]), resp(200, "OK", &[("content-length", "0")]), end(), closed()];
        crlf_after_head_response: HEAD,
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" =>
            [resp(200, "OK", &[("content-length", "5")]), end(),
             resp(200, "OK", &[("content-length", "5")]), end(), closed()];
        lone_cr_then_eof: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n\r" =>
            [resp(200, "OK", &[("content-length", "0")]), end(),
             err(400, "peer closed connection in the middle of a response head")];
        crlf_then_eof_unanswered: GET, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n\r\n" =>
            [resp(200, "OK", &[("content-length", "0")]), end(),
             err(400, "peer closed connection with 1 request(s) unanswered")];
        bare_lf_before_status_line: GET, b"\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" =>
            [resp(200, "OK", &[("content-length", "0")]), end(), closed()];
        crlf_then_bare_lf_before_status_line: GET, b"\r\n\nHTTP/1.1 200 OK\r\n\r\n" =>
            [resp(200, "OK", &[]), end(), closed()];
        bare_lfs_between_pipelined_responses: GET,
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx\n\n\r\nHTTP/1.1 204 No Content\n\n" =>
            [resp(200, "OK", &[("content-length", "1")]), data(b"x"), end(),
             resp(204, "No Content", &[]), end(), closed()];
        cr_cr_lf_before_status_line: GET, b"\r\r\nHTTP/1.1 200 OK\r\n\r\n" =>
            [err(400, "invalid status line")];
        cr_then_junk_before_status_line: GET, b"\rXHTTP/1.1 200 OK\r\n\r\n" =>
            [err(400, "invalid status line")];
        whitespace_line_before_status_line: GET, b" \r\nHTTP/1.1 200 OK\r\n\r\n" =>
            [err(400, "invalid status line")];
        crlf_not_skipped_inside_a_body: GET,
            b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n" =>
            [resp(200, "OK", &[("content-length", "4")]), data(b"\r\n\r\n"), end(),
             resp(204, "No Content", &[]), end(), closed()];

        // §6.3(4): a response whose final coding is not chunked ends with the close; the
        // codings stay applied to the content (only chunked is decoded), so what a chunked
        // coding before another sent is handed over as it came. Nothing after it is read
        // as a response.
        te_chunked_not_final_until_close: GET,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", "chunked, gzip")]),
             data(b"5\r\nhello\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"), end(), closed()];
        te_parameter_bws_until_close: GET,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, x-pack ; level = \"9\"\r\n\r\nabc" =>
            [resp(200, "OK", &[("transfer-encoding", "chunked, x-pack ; level = \"9\"")]),
             data(b"abc"), end(), closed()];
        te_chunked_not_final_two_fields_until_close: GET,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\nWorld" =>
            [resp(200, "OK", &[("transfer-encoding", "chunked"), ("transfer-encoding", "identity")]),
             data(b"World"), end(), closed()];
        te_unknown_until_close: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b\x08" =>
            [resp(200, "OK", &[("transfer-encoding", "gzip")]), data(b"\x1f\x8b\x08"), end(), closed()];
        // An empty list names no coding, so chunked is not final either (aiohttp's
        // test_http_parser.py); in a request the same is 400 (`S::te_empty`).
        te_empty_until_close: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\nbody" =>
            [resp(200, "OK", &[("transfer-encoding", "")]), data(b"body"), end(), closed()];
        te_only_commas_and_whitespace_until_close: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: ,  \t ,\r\n\r\nbody" =>
            [resp(200, "OK", &[("transfer-encoding", ",  \t ,")]), data(b"body"), end(), closed()];
        te_empty_with_content_length_refused: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\nContent-Length: 4\r\n\r\nbody" =>
            [err(400, "both Content-Length and Transfer-Encoding")];
        te_identity_until_close: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nabc" =>
            [resp(200, "OK", &[("transfer-encoding", "identity")]), data(b"abc"), end(), closed()];
        te_chunkedchunked_until_close: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunkedchunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", "chunkedchunked")]), data(b"2\r\nOK\r\n0\r\n\r\n"), end(), closed()];
        te_xchunked_until_close: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", "xchunked")]), end(), closed()];
        te_until_close_cut_by_nothing_is_empty: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", "gzip")]), end(), closed()];
        // Final chunked after other codings: chunked framing, decoded; the connection goes on.
        te_gzip_chunked_decodes_chunked_only: GET,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\n\x1f\x8b\x08\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", "gzip, chunked")]), data(b"\x1f\x8b\x08"), end(),
             resp(204, "No Content", &[]), end(), closed()];
        // No content where the request or status says so (§6.3(1)), whatever the coding.
        te_unknown_on_head: HEAD, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n" =>
            [resp(200, "OK", &[("transfer-encoding", "gzip")]), end(), closed()];
        te_unknown_on_304: GET, b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: gzip\r\n\r\n" =>
            [resp(304, "Not Modified", &[("transfer-encoding", "gzip")]), end(), closed()];
        // Refused: with Content-Length (§6.3(3)), chunked twice.
        te_unknown_with_cl: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc" =>
            [err(400, "both Content-Length and Transfer-Encoding")];
        te_chunked_twice_around_another: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip, chunked\r\n\r\n" =>
            [err(400, "chunked applied more than once")];
        te_quoted_malformed: GET, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: \"chunked\"\r\n\r\n" =>
            [err(400, "malformed Transfer-Encoding")];

        // §6.3(1), 9110 §15.2: a 1xx has no content, whatever its fields say.
        informational_framing_fields_ignored: GET,
            b"HTTP/1.1 103 Early Hints\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx" =>
            [info(103, "Early Hints", &[("content-length", "5"), ("transfer-encoding", "chunked")]),
             resp(200, "OK", &[("content-length", "1")]), data(b"x"), end(), closed()];
        // 9110 §15.2: a client must parse 1xx responses it did not ask for.
        unsolicited_100: GET, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" =>
            [info(100, "Continue", &[]), info(100, "Continue", &[]),
             resp(200, "OK", &[("content-length", "0")]), end(), closed()];
        // §9.3: an HTTP/1.1 response with Connection: close in a 1xx says nothing of the
        // final response; the connection persists after it.
        informational_close_not_final: GET,
            b"HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n" =>
            [info(100, "Continue", &[("connection", "close")]), resp(200, "OK", &[("content-length", "0")]), end(),
             resp(204, "No Content", &[]), end(), closed()];
    }

    /// After the last response, with nothing outstanding, a stray CRLF is skipped too, and
    /// end of input is a clean close.
    #[test]
    fn crlf_with_nothing_outstanding_is_skipped() {
        let mut conn = ClientConn::new();
        send(&mut conn, Method::GET, "/", &host(), BodyLength::None);
        conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n\r\n\r\n")
            .unwrap();
        assert!(matches!(next(&mut conn), Some(Ev::Response { .. })));
        assert_eq!(next(&mut conn), Some(end()));
        assert_eq!(next(&mut conn), None);
        assert_eq!(conn.buffered(), 0);
        conn.receive_eof();
        assert_eq!(next(&mut conn), Some(closed()));
    }

    /// RFC 9112 §6.3: bytes buffered with nothing outstanding answer no request of ours
    /// (a caller that fed them as they came must not send a request and take them as its
    /// response); empty lines alone are §2.2's robustness. Bytes of a response that is
    /// outstanding are not unsolicited, nor are bytes beyond it before it has ended.
    #[test]
    fn unsolicited_data_is_what_nothing_outstanding_accounts_for() {
        for (extra, unsolicited) in [
            (
                &b"HTTP/1.1 500 Extra\r\nContent-Length: 0\r\n\r\n"[..],
                true,
            ),
            (b"H", true),
            (b"\r\n\r\nHTTP/1.1 500 Extra\r\n", true),
            (b"\r\n\r\n", false),
            (b"\n", false),
            (b"", false),
        ] {
            let what = String::from_utf8_lossy(extra);
            let mut conn = ClientConn::new();
            send(&mut conn, Method::GET, "/", &host(), BodyLength::None);
            let mut input = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec();
            input.extend_from_slice(extra);
            conn.receive(&input).unwrap();
            assert!(
                !conn.has_unsolicited_data(),
                "{what}: the response is outstanding"
            );
            assert!(
                matches!(next(&mut conn), Some(Ev::Response { .. })),
                "{what}"
            );
            assert!(
                !conn.has_unsolicited_data(),
                "{what}: its body is outstanding"
            );
            assert_eq!(next(&mut conn), Some(end()), "{what}");
            assert_eq!(conn.has_unsolicited_data(), unsolicited, "{what}");
        }
    }

    /// Runs `input` through a client with `limits` whole, byte by byte and split at every
    /// point; all must agree.
    fn events_with(limits: Limits, input: &[u8]) -> Vec<Ev> {
        events_all_splits_with(Role::Client, &Method::GET, limits, input)
    }

    /// The empty lines are bounded by the head limit, and count against it.
    #[test]
    fn leading_crlfs_bounded_by_the_head_limit() {
        let limits = Limits::client().max_head(64);
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"; // 38 bytes
                                                                    // 13 empty lines (26 bytes) + 38 = 64: accepted.
        let input = [b"\r\n".repeat(13).as_slice(), head].concat();
        assert_eq!(
            events_with(limits, &input),
            vec![resp(200, "OK", &[("content-length", "0")]), end(), closed()]
        );
        // One more: the head no longer fits.
        let input = [b"\r\n".repeat(14).as_slice(), head].concat();
        assert_eq!(
            events_with(limits, &input),
            vec![err(431, "message head larger than 64 bytes")]
        );
        // Empty lines alone, past the limit.
        let input = b"\r\n".repeat(33);
        assert_eq!(
            events_with(limits, &input),
            vec![err(400, "too many empty lines before the status line")]
        );
        // The count starts again at each head.
        let two = [
            b"\r\n".repeat(13).as_slice(),
            head,
            &b"\r\n".repeat(13),
            head,
        ]
        .concat();
        assert_eq!(
            events_with(limits, &two),
            vec![
                resp(200, "OK", &[("content-length", "0")]),
                end(),
                resp(200, "OK", &[("content-length", "0")]),
                end(),
                closed()
            ]
        );
    }
}

/// Informational responses to one request: 100 are read, the 101st fails the
/// response (a peer sending them without end would hold the request for ever). Fed
/// whole, byte by byte and split at every point; the count starts again at each
/// request.
#[test]
fn at_most_100_informational_responses_to_one_request() {
    let processing = b"HTTP/1.1 102 Processing\r\n\r\n";
    let final_response = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let input = |n: usize| -> Vec<u8> {
        let mut input = processing.repeat(n);
        input.extend_from_slice(final_response);
        input
    };
    let infos = |n: usize| -> Vec<Ev> { (0..n).map(|_| info(102, "Processing", &[])).collect() };
    let mut want = infos(100);
    want.extend([resp(200, "OK", &[("content-length", "0")]), end(), closed()]);
    assert_eq!(client_events(&Method::GET, &input(100)), want);
    let mut want = infos(100);
    want.push(err(
        400,
        "more than 100 informational (1xx) responses to one request",
    ));
    assert_eq!(client_events(&Method::GET, &input(101)), want);
    // Two requests, 100 each: within the limit for each.
    let mut conn = ClientConn::new();
    for _ in 0..2 {
        send(&mut conn, Method::GET, "/", &host(), BodyLength::None);
    }
    conn.receive(&input(100).repeat(2)).unwrap();
    conn.receive_eof();
    let got = pull(&mut conn);
    let responses = got
        .iter()
        .filter(|e| matches!(e, Ev::Response { .. }))
        .count();
    assert_eq!(responses, 2, "{:?}", got.last());
}
