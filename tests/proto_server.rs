//! The server role of the sans-IO core, table-driven.
//!
//! Every vector goes through `server_events` (fed whole, one byte at a time and split at
//! every point, all of which must agree) and is compared with its exact expected events.
//! Rejected vectors carry a pipelined request after them, which must never be seen: after
//! the error, nothing. The state machine (pipelining, keep-alive, response framing,
//! 100-continue, upgrades, local errors, EOF) is driven on `ServerConn` directly. HTTP/1.0
//! keep-alive and the `Date` field are checked on the responses written too.

mod support;
use support::*;

use http::{HeaderMap, StatusCode, Version};
use pollhttp::proto::{BodyLength, Error, Event, Framing, HttpDate, Limits, ServerConn};

const V10: Version = Version::HTTP_10;
const V11: Version = Version::HTTP_11;

/// A request pipelined after every rejected vector: it must never come out.
const SMUGGLED: &[u8] = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

// ---------------------------------------------------------------------------------------
// Event builders
// ---------------------------------------------------------------------------------------

fn req(method: &str, target: &str, version: Version, headers: &[(&str, &str)]) -> Ev {
    Ev::Request {
        method: method.into(),
        target: target.into(),
        version,
        headers: f(headers),
    }
}

fn req_raw(method: &str, target: &str, version: Version, headers: &[(&str, &[u8])]) -> Ev {
    Ev::Request {
        method: method.into(),
        target: target.into(),
        version,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_vec()))
            .collect(),
    }
}

/// `GET <target> HTTP/1.1` with `host: a`.
fn get(target: &str) -> Ev {
    req("GET", target, V11, &[("host", "a")])
}

/// `GET <target> HTTP/1.1` with `Host: <host>`, as sent.
fn get_at(target: &str, host: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes()
}

/// The request event of `get_at(target, host)`.
fn got_at(target: &str, host: &str) -> Ev {
    req("GET", target, V11, &[("host", host)])
}

/// A valid Host longer than the 64 bytes a connection remembers of the last valid one.
const LONG_HOST: &str = "a-host-name-longer-than-the-sixty-four-bytes-remembered.example:8080";

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A chunked POST head followed by `body`.
fn chunked(body: &[u8]) -> Vec<u8> {
    cat(&[
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
        body,
    ])
}

/// The request event of `chunked(..)`.
fn chunked_req() -> Ev {
    req(
        "POST",
        "/",
        V11,
        &[("host", "a"), ("transfer-encoding", "chunked")],
    )
}

/// A POST with `host: a` and the given extra header lines (each with its CRLF), then the
/// blank line.
fn post(extra: &str) -> Vec<u8> {
    format!("POST / HTTP/1.1\r\nHost: a\r\n{extra}\r\n").into_bytes()
}

fn n_times(b: u8, n: usize) -> Vec<u8> {
    vec![b; n]
}

// ---------------------------------------------------------------------------------------
// Table macros
// ---------------------------------------------------------------------------------------

/// `name: input => [events];` — the input's exact events, however it is split.
macro_rules! accept {
    ($($(#[$m:meta])* $name:ident: $input:expr => [$($ev:expr),* $(,)?];)+) => {
        $(
            $(#[$m])*
            #[test]
            fn $name() {
                let input = $input;
                let input: &[u8] = input.as_ref();
                let want: Vec<Ev> = vec![$($ev),*];
                assert_eq!(
                    server_events(input),
                    want,
                    "input {:?}",
                    String::from_utf8_lossy(input)
                );
            }
        )+
    };
}

/// `name: input => [events before the error] status, "message";` — the vector, with a
/// pipelined request after it, gives those events, then exactly that error, then nothing.
macro_rules! reject {
    ($($(#[$m:meta])* $name:ident: $input:expr => [$($ev:expr),* $(,)?] $status:literal, $msg:literal;)+) => {
        $(
            $(#[$m])*
            #[test]
            fn $name() {
                let input = $input;
                rejected(input.as_ref(), vec![$($ev),*], $status, $msg);
            }
        )+
    };
}

fn rejected(input: &[u8], before: Vec<Ev>, status: u16, message: &str) {
    let with_next = cat(&[input, SMUGGLED]);
    let got = server_events(&with_next);
    let mut want = before;
    want.push(err(status, message));
    assert_eq!(got, want, "input {:?}", String::from_utf8_lossy(&with_next));
    // No smuggling: at most the one request, never the pipelined one.
    let requests = got
        .iter()
        .filter(|e| matches!(e, Ev::Request { .. }))
        .count();
    assert!(requests <= 1, "{got:?}");
    assert!(
        !got.iter()
            .any(|e| matches!(e, Ev::Request { target, .. } if target == "/smuggled")),
        "{got:?}"
    );
}

/// `server_events` with other limits: whole, byte by byte and every split must agree.
fn server_events_with(limits: Limits, input: &[u8]) -> Vec<Ev> {
    events_all_splits_with(Role::Server, &http::Method::GET, limits, input)
}

// ---------------------------------------------------------------------------------------
// 1. Accepted requests
// ---------------------------------------------------------------------------------------

accept! {
    empty_input_is_closed: b"" => [Ev::Closed];
    only_crlfs_then_eof_is_closed: b"\r\n\r\n" => [Ev::Closed];
    get_minimal: b"GET / HTTP/1.1\r\nHost: a\r\n\r\n" => [get("/"), end(), Ev::Closed];
    method_head: b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("HEAD", "/", V11, &[("host", "a")]), end(), Ev::Closed];
    method_post_no_body: b"POST / HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("POST", "/", V11, &[("host", "a")]), end(), Ev::Closed];
    method_put: b"PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nz"
        => [req("PUT", "/x", V11, &[("host", "a"), ("content-length", "1")]), data(b"z"), end(), Ev::Closed];
    method_delete: b"DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("DELETE", "/x", V11, &[("host", "a")]), end(), Ev::Closed];
    method_patch: b"PATCH /x HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("PATCH", "/x", V11, &[("host", "a")]), end(), Ev::Closed];
    method_trace: b"TRACE / HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("TRACE", "/", V11, &[("host", "a")]), end(), Ev::Closed];
    method_extension_with_asterisk_refused: b"M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n"
        => [err(400, "asterisk-form target is only for OPTIONS")];
    method_extension_origin: b"PROPFIND /dav HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("PROPFIND", "/dav", V11, &[("host", "a")]), end(), Ev::Closed];
    method_is_case_sensitive: b"get / HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("get", "/", V11, &[("host", "a")]), end(), Ev::Closed];
    target_origin_with_query: b"GET /a/b;p?q=1&r=%20#f HTTP/1.1\r\nHost: a\r\n\r\n"
        => [get("/a/b;p?q=1&r=%20#f"), end(), Ev::Closed];
    target_absolute: b"GET http://example.com:8080/x?y HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"
        => [req("GET", "http://example.com:8080/x?y", V11, &[("host", "example.com:8080")]), end(), Ev::Closed];
    target_absolute_no_path: b"GET http://a HTTP/1.1\r\nHost: a\r\n\r\n"
        => [get("http://a"), end(), Ev::Closed];
    target_absolute_other_scheme: b"GET urn:isbn:1 HTTP/1.1\r\nHost: a\r\n\r\n"
        => [get("urn:isbn:1"), end(), Ev::Closed];
    target_authority_for_connect: b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
        => [req("CONNECT", "example.com:443", V11, &[("host", "example.com:443")]), end(), Ev::Switched(Vec::new())];
    target_authority_highest_port: b"CONNECT a.example:65535 HTTP/1.1\r\nHost: a.example:65535\r\n\r\n"
        => [req("CONNECT", "a.example:65535", V11, &[("host", "a.example:65535")]), end(), Ev::Switched(vec![])];
    target_absolute_uppercase_scheme_ipv6: b"GET HTTPS://[::1]:8443?q HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n"
        => [req("GET", "HTTPS://[::1]:8443?q", V11, &[("host", "[::1]:8443")]), end(), Ev::Closed];
    target_absolute_other_scheme_with_userinfo: b"GET ftp://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n"
        => [get("ftp://u@a/"), end(), Ev::Closed];
    // RFC 3986 §3.2 for any scheme's authority: userinfo (pct-encoded too), an empty host
    // (`file:///x`), an IP-literal, an empty port.
    target_absolute_other_scheme_userinfo_pct_encoded: b"GET ftp://u%20:p@a/ HTTP/1.1\r\nHost: a\r\n\r\n"
        => [get("ftp://u%20:p@a/"), end(), Ev::Closed];
    target_absolute_other_scheme_empty_host: b"GET file:///etc/hosts HTTP/1.1\r\nHost: a\r\n\r\n"
        => [get("file:///etc/hosts"), end(), Ev::Closed];
    target_absolute_other_scheme_ip_literal: b"GET ftp://[::1]:21/x HTTP/1.1\r\nHost: a\r\n\r\n"
        => [get("ftp://[::1]:21/x"), end(), Ev::Closed];
    target_absolute_other_scheme_empty_port: b"GET ftp://a:?q HTTP/1.1\r\nHost: a\r\n\r\n"
        => [get("ftp://a:?q"), end(), Ev::Closed];
    // RFC 3986 §4.3: an absolute-URI's hier-part may be empty (libsoup's corpus).
    target_absolute_empty_hier_part: b"GET AbOuT: HTTP/1.1\r\nHost: a\r\n\r\n"
        => [get("AbOuT:"), end(), Ev::Closed];
    target_authority_ipv6_for_connect: b"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n"
        => [req("CONNECT", "[::1]:443", V11, &[("host", "[::1]:443")]), end(), Ev::Switched(Vec::new())];
    target_asterisk_for_options: b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("OPTIONS", "*", V11, &[("host", "a")]), end(), Ev::Closed];
    http10_without_host: b"GET / HTTP/1.0\r\n\r\n" => [req("GET", "/", V10, &[]), end(), Ev::Closed];
    http10_with_host: b"GET / HTTP/1.0\r\nHost: a\r\n\r\n"
        => [req("GET", "/", V10, &[("host", "a")]), end(), Ev::Closed];
    http12_processed_as_11: b"GET / HTTP/1.2\r\nHost: a\r\n\r\n" => [get("/"), end(), Ev::Closed];
    http19_processed_as_11: b"GET / HTTP/1.9\r\nHost: a\r\n\r\n" => [get("/"), end(), Ev::Closed];
    http12_needs_host_like_11: b"GET / HTTP/1.2\r\n\r\n" => [err(400, "missing Host header field")];
    // RFC 9112 §2.2: a lone LF before a request line is an empty line too, skipped
    // (**changed**: refused; nginx, Apache and lighttpd between requests, and llhttp, skip it).
    bare_lf_leading: b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n" => [get("/"), end(), Ev::Closed];
    bare_lf_after_leading_crlf: b"\r\n\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n" => [get("/"), end(), Ev::Closed];
    bare_lf_between_requests: b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n"
        => [get("/"), end(), get("/b"), end(), Ev::Closed];
    host_empty_value: b"GET / HTTP/1.1\r\nHost:\r\n\r\n"
        => [req("GET", "/", V11, &[("host", "")]), end(), Ev::Closed];
    // A trailing dot (a fully qualified name) and a leading one stay valid.
    host_trailing_dot: b"GET / HTTP/1.1\r\nHost: a.example.\r\n\r\n"
        => [req("GET", "/", V11, &[("host", "a.example.")]), end(), Ev::Closed];
    host_leading_dot: b"GET / HTTP/1.1\r\nHost: .a.example:80\r\n\r\n"
        => [req("GET", "/", V11, &[("host", ".a.example:80")]), end(), Ev::Closed];
    host_with_port: b"GET / HTTP/1.1\r\nHost: a.example:8080\r\n\r\n"
        => [req("GET", "/", V11, &[("host", "a.example:8080")]), end(), Ev::Closed];
    host_ipv6_literal: b"GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]:80\r\n\r\n"
        => [req("GET", "/", V11, &[("host", "[fe80::1%25eth0]:80")]), end(), Ev::Closed];
    host_pct_encoded: b"GET / HTTP/1.1\r\nHost: caf%C3%A9.example:80\r\n\r\n"
        => [req("GET", "/", V11, &[("host", "caf%C3%A9.example:80")]), end(), Ev::Closed];
    host_ipv6_zone_pct_encoded: b"GET / HTTP/1.1\r\nHost: [fe80::1%25en%2D1]\r\n\r\n"
        => [req("GET", "/", V11, &[("host", "[fe80::1%25en%2D1]")]), end(), Ev::Closed];
    host_ipv6_with_ipv4_tail: b"GET / HTTP/1.1\r\nHost: [::ffff:192.0.2.1]\r\n\r\n"
        => [req("GET", "/", V11, &[("host", "[::ffff:192.0.2.1]")]), end(), Ev::Closed];
    // IPvFuture (RFC 3986 §3.2.2) takes sub-delims and `:` (nginx-tests http_host.t).
    host_ipvfuture_literal: b"GET / HTTP/1.1\r\nHost: [v0123456789aBcDeF.!$&'()*+,;=-._~AbCd:]\r\n\r\n"
        => [req("GET", "/", V11, &[("host", "[v0123456789aBcDeF.!$&'()*+,;=-._~AbCd:]")]), end(), Ev::Closed];
    value_obs_text: b"GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9 \xff\x80\r\n\r\n"
        => [req_raw("GET", "/", V11, &[("host", b"a"), ("x-name", b"caf\xe9 \xff\x80")]), end(), Ev::Closed];
    value_empty: b"GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Blank:   \t \r\n\r\n"
        => [req("GET", "/", V11, &[("host", "a"), ("x-empty", ""), ("x-blank", "")]), end(), Ev::Closed];
    value_ows_trimmed_inner_kept: b"GET / HTTP/1.1\r\nHost: a\r\nX:  \t a \t b \t \r\n\r\n"
        => [req("GET", "/", V11, &[("host", "a"), ("x", "a \t b")]), end(), Ev::Closed];
    value_no_space_after_colon: b"GET / HTTP/1.1\r\nHost:a\r\nX:1\r\n\r\n"
        => [req("GET", "/", V11, &[("host", "a"), ("x", "1")]), end(), Ev::Closed];
    value_visible_punctuation: b"GET / HTTP/1.1\r\nHost: a\r\nCookie: a=\"b;c\"; d=e,f\r\n\r\n"
        => [req("GET", "/", V11, &[("host", "a"), ("cookie", "a=\"b;c\"; d=e,f")]), end(), Ev::Closed];
    names_lowercased_order_kept: b"GET / HTTP/1.1\r\nX-B: 1\r\nHOST: a\r\nx-a: 2\r\nX-b: 3\r\nAccept-ENCODING: gzip\r\n\r\n"
        => [req("GET", "/", V11, &[("x-b", "1"), ("host", "a"), ("x-a", "2"), ("x-b", "3"), ("accept-encoding", "gzip")]), end(), Ev::Closed];
    name_all_tchars: b"GET / HTTP/1.1\r\nHost: a\r\n!#$%&'*+-.^_`|~09aZ: v\r\n\r\n"
        => [req("GET", "/", V11, &[("host", "a"), ("!#$%&'*+-.^_`|~09az", "v")]), end(), Ev::Closed];
    cl_body: b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
        => [req("POST", "/p", V11, &[("host", "a"), ("content-length", "5")]), data(b"hello"), end(), Ev::Closed];
    cl_zero: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
        => [req("POST", "/", V11, &[("host", "a"), ("content-length", "0")]), end(), Ev::Closed];
    // 1*HEXDIG (RFC 9112 §7.1): leading zeros are digits, not part of a u64's 16.
    chunk_size_leading_zeros_past_16_digits: &chunked(b"00000000000000005\r\nhello\r\n0000000000000000000\r\n\r\n")
        => [chunked_req(), data(b"hello"), end(), Ev::Closed];
    chunk_size_64_digits: &chunked(&cat(&[&n_times(b'0', 63), b"5\r\nhello\r\n0\r\n\r\n"]))
        => [chunked_req(), data(b"hello"), end(), Ev::Closed];
    chunk_size_u64_max_in_16_digits_then_eof: &chunked(b"000ffffffffffffffff\r\nab")
        => [chunked_req(), data(b"ab"), err(400, "peer closed connection without sending complete message body: incomplete chunked body (2 bytes of data received, in chunk data, 18446744073709551613 bytes of the current chunk missing)")];
    cl_leading_zeros: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nhello"
        => [req("POST", "/", V11, &[("host", "a"), ("content-length", "005")]), data(b"hello"), end(), Ev::Closed];
    // 1*DIGIT: leading zeros do not count against the 20 digits of a u64 (as in a chunk
    // size), up to 64 digits in all (**changed**: 21 digits were refused).
    cl_leading_zeros_past_20_digits: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 000000000000000000005\r\n\r\nhello"
        => [req("POST", "/", V11, &[("host", "a"), ("content-length", "000000000000000000005")]), data(b"hello"), end(), Ev::Closed];
    cl_64_digits: &post(&format!("Content-Length: {}\r\n", "0".repeat(64)))
        => [req("POST", "/", V11, &[("host", "a"), ("content-length", &"0".repeat(64))]), end(), Ev::Closed];
    cl_equal_list_merged: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3 , 3,3\r\n\r\nabc"
        => [req("POST", "/", V11, &[("host", "a"), ("content-length", "3 , 3,3")]), data(b"abc"), end(), Ev::Closed];
    cl_equal_repeated_fields: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"
        => [req("POST", "/", V11, &[("host", "a"), ("content-length", "3"), ("content-length", "3")]), data(b"abc"), end(), Ev::Closed];
    cl_body_binary: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n\0\r\n\xff\n\r"
        => [req("POST", "/", V11, &[("host", "a"), ("content-length", "6")]), data(b"\0\r\n\xff\n\r"), end(), Ev::Closed];
    cl_u64_max_head_accepted: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\nab"
        => [req("POST", "/", V11, &[("host", "a"), ("content-length", "18446744073709551615")]), data(b"ab"),
            err(400, "peer closed connection without sending complete message body (received 2 bytes, expected 18446744073709551615)")];
    cl_body_http10: b"POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi"
        => [req("POST", "/", V10, &[("content-length", "2")]), data(b"hi"), end(), Ev::Closed];
    chunked_simple: &chunked(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        => [chunked_req(), data(b"hello world"), end(), Ev::Closed];
    chunked_hex_sizes_any_case: &chunked(b"a\r\n0123456789\r\nB\r\n0123456789A\r\n000\r\n\r\n")
        => [chunked_req(), data(b"01234567890123456789A"), end(), Ev::Closed];
    chunked_sixteen_digit_size: &chunked(b"0000000000000003\r\nabc\r\n0\r\n\r\n")
        => [chunked_req(), data(b"abc"), end(), Ev::Closed];
    chunked_ext_token: &chunked(b"5;name=value\r\nhello\r\n0;last\r\n\r\n")
        => [chunked_req(), data(b"hello"), end(), Ev::Closed];
    chunked_ext_quoted: &chunked(b"5;a=\"b c;d=e\\\"\\\\\"\r\nhello\r\n0\r\n\r\n")
        => [chunked_req(), data(b"hello"), end(), Ev::Closed];
    chunked_ext_bws_and_several: &chunked(b"5 \t; a = b ;c;d=\"\"\t;e\r\nhello\r\n0\r\n\r\n")
        => [chunked_req(), data(b"hello"), end(), Ev::Closed];
    chunked_ext_obs_text_in_quotes: &chunked(b"5;a=\"\xe9\"\r\nhello\r\n0\r\n\r\n")
        => [chunked_req(), data(b"hello"), end(), Ev::Closed];
    chunked_trailers: &chunked(b"5\r\nhello\r\n0\r\nX-Sum: 1\r\nEtag: \"e\"\r\n\r\n")
        => [chunked_req(), data(b"hello"), end_t(&[("x-sum", "1"), ("etag", "\"e\"")]), Ev::Closed];
    chunked_empty_body: &chunked(b"0\r\n\r\n") => [chunked_req(), end(), Ev::Closed];
    chunked_data_with_crlf_inside: &chunked(b"4\r\n\r\n\r\n\r\n0\r\n\r\n")
        => [chunked_req(), data(b"\r\n\r\n"), end(), Ev::Closed];
    te_case_insensitive: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD\r\n\r\n0\r\n\r\n"
        => [req("POST", "/", V11, &[("host", "a"), ("transfer-encoding", "ChUnKeD")]), end(), Ev::Closed];
    te_leading_comma_is_empty_element: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
        => [req("POST", "/", V11, &[("host", "a"), ("transfer-encoding", ",chunked")]), data(b"x"), end(), Ev::Closed];
    te_leading_space_is_ows: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
        => [req("POST", "/", V11, &[("host", "a"), ("transfer-encoding", "chunked")]), data(b"x"), end(), Ev::Closed];
    te_leading_tab_is_ows: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\t\r\n\r\n1\r\nx\r\n0\r\n\r\n"
        => [req("POST", "/", V11, &[("host", "a"), ("transfer-encoding", "chunked")]), data(b"x"), end(), Ev::Closed];
    leading_crlfs_skipped: b"\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n" => [get("/"), end(), Ev::Closed];
    crlf_after_body_before_next_request: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("POST", "/", V11, &[("host", "a"), ("content-length", "2")]), data(b"hi"), end(), get("/2"), end(), Ev::Closed];
    pipelined_three: b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n"
        => [get("/1"), end(), get("/2"), end(), get("/3"), end(), Ev::Closed];
    // A connection skips the check of a Host equal to the last valid one: each new value
    // is checked, long ones every time.
    pipelined_hosts_repeated_and_changed: &cat(&[
        &get_at("/1", "a.example:80"), &get_at("/2", "a.example:80"), &get_at("/3", "b.example"),
        &get_at("/4", "a.example:80"), &get_at("/5", LONG_HOST), &get_at("/6", LONG_HOST),
        &get_at("/7", ""), &get_at("/8", "[::1]:80"), &get_at("/9", "[::1]:80"),
    ]) => [got_at("/1", "a.example:80"), end(), got_at("/2", "a.example:80"), end(),
        got_at("/3", "b.example"), end(), got_at("/4", "a.example:80"), end(),
        got_at("/5", LONG_HOST), end(), got_at("/6", LONG_HOST), end(), got_at("/7", ""), end(),
        got_at("/8", "[::1]:80"), end(), got_at("/9", "[::1]:80"), end(), Ev::Closed];
    pipelined_bodies: b"POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nGETPOST /2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nGET\r\n0\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("POST", "/1", V11, &[("host", "a"), ("content-length", "3")]), data(b"GET"), end(),
            req("POST", "/2", V11, &[("host", "a"), ("transfer-encoding", "chunked")]), data(b"GET"), end(),
            get("/3"), end(), Ev::Closed];
    // RFC 9112 §9.6: a client that sent `close` sends no further requests; what follows
    // is an error (llhttp and h11 agree), reported once the request is answered. Empty
    // lines are skipped, as before a request line.
    connection_close_then_empty_lines_only: b"GET /1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n\r\n\r\n\n"
        => [req("GET", "/1", V11, &[("host", "a"), ("connection", "close")]), end(), Ev::Closed];
    connection_close_then_a_request_is_an_error: b"GET /1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("GET", "/1", V11, &[("host", "a"), ("connection", "close")]), end(), after_close()];
    connection_close_in_a_list_any_case: b"GET /1 HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, CLOSE\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("GET", "/1", V11, &[("host", "a"), ("connection", "keep-alive, CLOSE")]), end(), after_close()];
    http10_keep_alive_persists_until_a_request_without_it: b"GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\nGET /3 HTTP/1.0\r\n\r\n"
        => [req("GET", "/1", V10, &[("connection", "keep-alive")]), end(), req("GET", "/2", V10, &[]), end(), after_close()];
    http10_without_keep_alive_closes: b"GET /1 HTTP/1.0\r\n\r\nGET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        => [req("GET", "/1", V10, &[]), end(), after_close()];
    garbage_after_close_request_is_an_error: b"GET / HTTP/1.0\r\n\r\n\x16\x03\x01 garbage \0\r\n"
        => [req("GET", "/", V10, &[]), end(), after_close()];
    upgrade_switches_with_trailing_bytes: b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello GET / HTTP/1.1\r\n\r\n"
        => [req("GET", "/ws", V11, &[("host", "a"), ("connection", "upgrade"), ("upgrade", "websocket")]), end(),
            Ev::Switched(b"\x81\x05hello GET / HTTP/1.1\r\n\r\n".to_vec())];
    upgrade_after_body: b"POST / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\nhiPRI * HTTP/2.0\r\n"
        => [req("POST", "/", V11, &[("host", "a"), ("upgrade", "h2c"), ("content-length", "2")]), data(b"hi"), end(),
            Ev::Switched(b"PRI * HTTP/2.0\r\n".to_vec())];
    connect_switches_with_trailing_bytes: b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n\x16\x03\x01\x00\x05hello"
        => [req("CONNECT", "a:443", V11, &[("host", "a:443")]), end(), Ev::Switched(b"\x16\x03\x01\x00\x05hello".to_vec())];
    eof_mid_head: b"GET / HTTP/1.1\r\nHo" => [err(400, "peer closed connection in the middle of a request head")];
    eof_mid_request_line: b"GET /" => [err(400, "peer closed connection in the middle of a request head")];
    eof_after_lone_cr: b"\r" => [err(400, "peer closed connection in the middle of a request head")];
    eof_after_crlf_and_cr: b"\r\n\r" => [err(400, "peer closed connection in the middle of a request head")];
    eof_mid_cl_body: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello"
        => [req("POST", "/", V11, &[("host", "a"), ("content-length", "10")]), data(b"hello"),
            err(400, "peer closed connection without sending complete message body (received 5 bytes, expected 10)")];
    eof_before_cl_body: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n"
        => [req("POST", "/", V11, &[("host", "a"), ("content-length", "10")]),
            err(400, "peer closed connection without sending complete message body (received 0 bytes, expected 10)")];
    eof_mid_chunk_data: &chunked(b"3\r\nabc\r\n5\r\nhel")
        => [chunked_req(), data(b"abchel"),
            err(400, "peer closed connection without sending complete message body: incomplete chunked body (6 bytes of data received, in chunk data, 2 bytes of the current chunk missing)")];
    eof_mid_chunk_line: &chunked(b"3\r\nabc\r\n5;a=")
        => [chunked_req(), data(b"abc"),
            err(400, "peer closed connection without sending complete message body: incomplete chunked body (3 bytes of data received, in chunk framing)")];
    eof_before_chunk_crlf: &chunked(b"3\r\nabc\r")
        => [chunked_req(), data(b"abc"),
            err(400, "peer closed connection without sending complete message body: incomplete chunked body (3 bytes of data received, in chunk framing)")];
    eof_in_trailers: &chunked(b"3\r\nabc\r\n0\r\nX: 1\r\n")
        => [chunked_req(), data(b"abc"),
            err(400, "peer closed connection without sending complete message body: incomplete chunked body (3 bytes of data received, in the trailer section)")];
    eof_after_complete_request_is_closed: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx"
        => [req("POST", "/", V11, &[("host", "a"), ("content-length", "1")]), data(b"x"), end(), Ev::Closed];
    eof_mid_second_pipelined_request: b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHo"
        => [get("/1"), end(), err(400, "peer closed connection in the middle of a request head")];
}

// ---------------------------------------------------------------------------------------
// 2. The smuggling checklist, request side. Each vector is followed by a pipelined
//    request that must never be delivered.
// ---------------------------------------------------------------------------------------

reject! {
    // --- CL + TE (§6.1, §6.3(3)) ---
    cl_then_te: post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")
        => [] 400, "both Content-Length and Transfer-Encoding";
    te_then_cl: post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")
        => [] 400, "both Content-Length and Transfer-Encoding";
    cl_zero_and_te: post("Content-Length: 0\r\nTransfer-Encoding: chunked\r\n")
        => [] 400, "both Content-Length and Transfer-Encoding";
    cl_and_te_leading_comma: post("Content-Length: 5\r\nTransfer-Encoding: ,chunked\r\n")
        => [] 400, "both Content-Length and Transfer-Encoding";
    invalid_cl_and_te: post("Content-Length: x\r\nTransfer-Encoding: chunked\r\n")
        => [] 400, "invalid Content-Length";

    // --- TE variants (§6.1, §6.3(4)) ---
    te_chunked_then_gzip: post("Transfer-Encoding: chunked, gzip\r\n")
        => [] 400, "chunked is not the final transfer coding";
    te_chunked_then_gzip_two_fields: post("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n")
        => [] 400, "chunked is not the final transfer coding";
    te_gzip: post("Transfer-Encoding: gzip\r\n")
        => [] 400, "chunked is not the final transfer coding";
    te_gzip_then_chunked: post("Transfer-Encoding: gzip, chunked\r\n")
        => [] 501, "unsupported transfer coding";
    te_identity: post("Transfer-Encoding: identity\r\n")
        => [] 400, "chunked is not the final transfer coding";
    te_chunkedchunked: post("Transfer-Encoding: chunkedchunked\r\n")
        => [] 400, "chunked is not the final transfer coding";
    te_xchunked: post("Transfer-Encoding: xchunked\r\n")
        => [] 400, "chunked is not the final transfer coding";
    te_chunked_twice_in_list: post("Transfer-Encoding: chunked, chunked\r\n")
        => [] 400, "chunked applied more than once";
    te_chunked_twice_as_fields: post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")
        => [] 400, "chunked applied more than once";
    te_chunked_with_parameter: post("Transfer-Encoding: chunked;q=1\r\n")
        => [] 400, "chunked takes no parameters";
    // transfer-parameter allows BWS around `=` (RFC 9112 §7): well formed, so 501, not 400.
    te_parameter_with_spaces_around_equals: post("Transfer-Encoding: gzip;q = 1, chunked\r\n")
        => [] 501, "unsupported transfer coding";
    te_parameter_without_value: post("Transfer-Encoding: gzip;q =, chunked\r\n")
        => [] 400, "malformed Transfer-Encoding";
    te_chunked_with_bare_semicolon: post("Transfer-Encoding: chunked;\r\n")
        => [] 400, "malformed Transfer-Encoding";
    te_quoted_chunked: post("Transfer-Encoding: \"chunked\"\r\n")
        => [] 400, "malformed Transfer-Encoding";
    te_empty: post("Transfer-Encoding:\r\n")
        => [] 400, "empty Transfer-Encoding";
    te_only_commas: post("Transfer-Encoding: , ,\r\n")
        => [] 400, "empty Transfer-Encoding";
    te_space_before_colon: post("Transfer-Encoding : chunked\r\n")
        => [] 400, "invalid header field name";
    te_tab_before_colon: post("Transfer-Encoding\t: chunked\r\n")
        => [] 400, "invalid header field name";
    te_vertical_tab_before_value: post("Transfer-Encoding: \x0bchunked\r\n")
        => [] 400, "invalid character in a header field value";
    te_nbsp_before_value: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \xa0chunked\r\n\r\n"
        => [] 400, "malformed Transfer-Encoding";
    te_nel_after_value: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\x85\r\n\r\n"
        => [] 400, "malformed Transfer-Encoding";
    te_obs_fold_value: post("Transfer-Encoding:\r\n chunked\r\n")
        => [] 400, "obsolete line folding in a header field";
    te_obs_fold_tab: post("X: y\r\n\tTransfer-Encoding: chunked\r\n")
        => [] 400, "obsolete line folding in a header field";
    te_line_first_with_space: b"POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: a\r\n\r\n"
        => [] 400, "whitespace before the first header field";

    // --- TE in HTTP/1.0 (§6.1) ---
    te_in_http10: b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        => [] 400, "Transfer-Encoding in an HTTP/1.0 request";
    te_in_http10_with_host: b"POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
        => [] 400, "Transfer-Encoding in an HTTP/1.0 request";

    // --- invalid or duplicate CL (§6.3(5), 9110 §8.6) ---
    cl_conflicting_list: post("Content-Length: 1, 2\r\n") => [] 400, "conflicting Content-Length values";
    cl_conflicting_fields: post("Content-Length: 1\r\nContent-Length: 2\r\n") => [] 400, "conflicting Content-Length values";
    cl_equal_then_different: post("Content-Length: 1 , 1,2\r\n") => [] 400, "conflicting Content-Length values";
    cl_plus: post("Content-Length: +1\r\n") => [] 400, "invalid Content-Length";
    cl_minus: post("Content-Length: -1\r\n") => [] 400, "invalid Content-Length";
    cl_empty: post("Content-Length:\r\n") => [] 400, "invalid Content-Length";
    cl_blank: post("Content-Length:   \r\n") => [] 400, "invalid Content-Length";
    cl_space_inside: post("Content-Length: 1 2\r\n") => [] 400, "invalid Content-Length";
    cl_tab_inside: post("Content-Length: 1\t2\r\n") => [] 400, "invalid Content-Length";
    cl_hex: post("Content-Length: 0x1\r\n") => [] 400, "invalid Content-Length";
    cl_decimal_point: post("Content-Length: 1.0\r\n") => [] 400, "invalid Content-Length";
    cl_underscore: post("Content-Length: 1_0\r\n") => [] 400, "invalid Content-Length";
    cl_exponent: post("Content-Length: 1e3\r\n") => [] 400, "invalid Content-Length";
    cl_trailing_junk: post("Content-Length: 5a\r\n") => [] 400, "invalid Content-Length";
    cl_21_significant_digits: post("Content-Length: 100000000000000000000\r\n") => [] 400, "invalid Content-Length";
    cl_65_digits: &post(&format!("Content-Length: {}1\r\n", "0".repeat(64))) => [] 400, "invalid Content-Length";
    cl_u64_overflow: post("Content-Length: 18446744073709551616\r\n") => [] 400, "invalid Content-Length";
    cl_u64_overflow_20_nines: post("Content-Length: 99999999999999999999\r\n") => [] 400, "invalid Content-Length";
    cl_empty_list_element: post("Content-Length: 1,,1\r\n") => [] 400, "invalid Content-Length";
    cl_trailing_comma: post("Content-Length: 1,\r\n") => [] 400, "invalid Content-Length";
    cl_quoted: post("Content-Length: \"1\"\r\n") => [] 400, "invalid Content-Length";
    cl_fullwidth_digit: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \xef\xbc\x91\r\n\r\n" => [] 400, "invalid Content-Length";
    cl_space_before_colon: post("Content-Length : 1\r\n") => [] 400, "invalid header field name";

    // --- bare CR (§2.2) ---
    bare_cr_in_value: b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"
        => [] 400, "bare CR in the message head (CR without LF)";
    bare_cr_ends_value: b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\r\n\r\n"
        => [] 400, "bare CR in the message head (CR without LF)";
    bare_cr_in_name: b"GET / HTTP/1.1\r\nHost: a\r\nX\rY: a\r\n\r\n"
        => [] 400, "bare CR in the message head (CR without LF)";
    bare_cr_line_ends_head: b"GET / HTTP/1.1\r\nHost: a\r\n\rX\r\n\r\n"
        => [] 400, "bare CR in the message head (CR without LF)";
    bare_cr_in_request_line: b"GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n"
        => [] 400, "bare CR in the message head (CR without LF)";
    bare_cr_after_version: b"GET / HTTP/1.1\r\r\nHost: a\r\n\r\n"
        => [] 400, "bare CR in the message head (CR without LF)";
    bare_cr_before_request_line: b"\rGET / HTTP/1.1\r\nHost: a\r\n\r\n"
        => [] 400, "invalid request line";
    bare_cr_as_line_end_in_head: b"GET / HTTP/1.1\rHost: a\r\n\r\n"
        => [] 400, "bare CR in the message head (CR without LF)";

    // --- bare LF as a line end (§2.2) ---
    bare_lf_after_request_line: b"GET / HTTP/1.1\nHost: a\r\n\r\n" => [] 400, "bare LF line ending (CRLF required)";
    bare_lf_after_field: b"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n" => [] 400, "bare LF line ending (CRLF required)";
    bare_lf_blank_line: b"GET / HTTP/1.1\r\nHost: a\r\n\n" => [] 400, "bare LF line ending (CRLF required)";
    bare_lf_all_lines: b"GET / HTTP/1.1\nHost: a\n\n" => [] 400, "bare LF line ending (CRLF required)";
    bare_lf_in_value: b"GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n" => [] 400, "bare LF line ending (CRLF required)";

    // --- whitespace between the start line and the first field (§2.2) ---
    space_before_first_field: b"GET / HTTP/1.1\r\n Host: a\r\n\r\n" => [] 400, "whitespace before the first header field";
    tab_before_first_field: b"GET / HTTP/1.1\r\n\tHost: a\r\n\r\n" => [] 400, "whitespace before the first header field";
    whitespace_line_before_first_field: b"GET / HTTP/1.1\r\n \r\nHost: a\r\n\r\n" => [] 400, "whitespace before the first header field";

    // --- obs-fold (§5.2) ---
    obs_fold_space: b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n" => [] 400, "obsolete line folding in a header field";
    obs_fold_tab: b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\t2\r\n\r\n" => [] 400, "obsolete line folding in a header field";
    obs_fold_of_host: b"GET / HTTP/1.1\r\nHost:\r\n a\r\n\r\n" => [] 400, "obsolete line folding in a header field";

    // --- NUL, CR, LF in values; CTL and separators in names (9110 §5.5) ---
    nul_in_value: b"GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n" => [] 400, "invalid character in a header field value";
    nul_ends_value: b"GET / HTTP/1.1\r\nHost: a\r\nX: a\0\r\n\r\n" => [] 400, "invalid character in a header field value";
    ctl_in_value: b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n" => [] 400, "invalid character in a header field value";
    esc_in_value: b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x1bb\r\n\r\n" => [] 400, "invalid character in a header field value";
    del_in_value: b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n" => [] 400, "invalid character in a header field value";
    nul_in_name: b"GET / HTTP/1.1\r\nHost: a\r\nX\0Y: a\r\n\r\n" => [] 400, "invalid header field name";
    ctl_in_name: b"GET / HTTP/1.1\r\nHost: a\r\nX\x01Y: a\r\n\r\n" => [] 400, "invalid header field name";
    del_in_name: b"GET / HTTP/1.1\r\nHost: a\r\nX\x7f: a\r\n\r\n" => [] 400, "invalid header field name";
    obs_text_in_name: b"GET / HTTP/1.1\r\nHost: a\r\nX\xe9: a\r\n\r\n" => [] 400, "invalid header field name";
    separator_in_name: b"GET / HTTP/1.1\r\nHost: a\r\nX(Y): a\r\n\r\n" => [] 400, "invalid header field name";
    space_in_name: b"GET / HTTP/1.1\r\nHost: a\r\nX Y: a\r\n\r\n" => [] 400, "invalid header field name";
    empty_name: b"GET / HTTP/1.1\r\nHost: a\r\n: a\r\n\r\n" => [] 400, "invalid header field name";
    line_without_colon: b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n" => [] 400, "invalid header field name";

    // --- chunk-size junk and overflow (§7.1) ---
    chunk_size_0x: &chunked(b"0x5\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "invalid chunk size";
    chunk_size_plus: &chunked(b"+5\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "invalid chunk size";
    chunk_size_minus: &chunked(b"-5\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "invalid chunk size";
    chunk_size_underscore: &chunked(b"5_0\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "invalid chunk size";
    chunk_size_python_style: &chunked(b"0_2e\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "invalid chunk size";
    chunk_size_leading_space: &chunked(b" 5\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "invalid chunk size";
    chunk_size_leading_tab: &chunked(b"\t5\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "invalid chunk size";
    chunk_size_trailing_space: &chunked(b"5 \r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "malformed chunk extension";
    chunk_size_space_inside: &chunked(b"5 0\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "malformed chunk extension";
    chunk_size_65_digits: &chunked(&cat(&[&n_times(b'0', 64), b"5\r\nhello\r\n0\r\n\r\n"])) => [chunked_req()] 400, "chunk size too large";
    chunk_size_17_significant_digits: &chunked(b"0100000000000000000\r\n") => [chunked_req()] 400, "chunk size too large";
    chunk_size_overflow: &chunked(b"10000000000000000\r\n") => [chunked_req()] 400, "chunk size too large";
    chunk_size_100_digits: &chunked(&n_times(b'1', 100)) => [chunked_req()] 400, "chunk size too large";
    chunk_size_empty: &chunked(b"\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "invalid chunk size";
    chunk_size_nul: &chunked(b"5\0\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "invalid chunk size";
    chunk_size_non_hex: &chunked(b"g\r\n") => [chunked_req()] 400, "invalid chunk size";
    chunk_size_bare_lf: &chunked(b"5\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "invalid chunk size";
    chunk_size_bare_cr: &chunked(b"5\rhello\r\n0\r\n\r\n") => [chunked_req()] 400, "chunk-size line not ended by CRLF";
    last_chunk_bare_lf: &chunked(b"5\r\nhello\r\n0\n\r\n") => [chunked_req(), data(b"hello")] 400, "invalid chunk size";

    // --- chunk extensions (§7.1.1) ---
    chunk_ext_unbalanced_quote: &chunked(b"5;a=\"b\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "malformed chunk extension";
    chunk_ext_cr_in_name: &chunked(b"5;a\rb\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "chunk-size line not ended by CRLF";
    chunk_ext_cr_in_quoted: &chunked(b"5;a=\"b\rc\"\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "malformed chunk extension";
    chunk_ext_bare_lf_in_token: &chunked(b"5;a=b\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "malformed chunk extension";
    chunk_ext_bare_lf_in_name: &chunked(b"5;a\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "malformed chunk extension";
    chunk_ext_bare_lf_in_quoted: &chunked(b"5;a=\"\n\"\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "malformed chunk extension";
    chunk_ext_lf_smuggle_kestrel: &chunked(b"2;\nxx\r\n45\r\n0\r\n\r\n") => [chunked_req()] 400, "malformed chunk extension";
    chunk_ext_empty_name: &chunked(b"5;=b\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "malformed chunk extension";
    chunk_ext_empty_after_semicolon: &chunked(b"5;\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "malformed chunk extension";
    chunk_ext_empty_value: &chunked(b"5;a=\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "malformed chunk extension";
    chunk_ext_separator_in_value: &chunked(b"5;a=b/c\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "malformed chunk extension";
    chunk_ext_nul: &chunked(b"5;a=b\0\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "malformed chunk extension";
    chunk_ext_junk_after_quoted: &chunked(b"5;a=\"b\"c\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "malformed chunk extension";
    chunk_ext_ctl_in_quoted_pair: &chunked(b"5;a=\"\\\x01\"\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "malformed chunk extension";
    chunk_ext_second_token_without_semicolon: &chunked(b"5;a=b c\r\nhello\r\n0\r\n\r\n") => [chunked_req()] 400, "malformed chunk extension";

    // --- missing CRLF after chunk data (§7.1) ---
    chunk_data_too_long: &chunked(b"3\r\nxxx__1a\r\n") => [chunked_req(), data(b"xxx")] 400, "chunk data not followed by CRLF";
    chunk_data_bare_cr: &chunked(b"3\r\nxxx\r_1a\r\n") => [chunked_req(), data(b"xxx")] 400, "chunk data not followed by CRLF";
    chunk_data_bare_lf: &chunked(b"3\r\nxxx\n1a\r\n") => [chunked_req(), data(b"xxx")] 400, "chunk data not followed by CRLF";
    chunk_data_lf_cr: &chunked(b"3\r\nxxx\n\r0\r\n\r\n") => [chunked_req(), data(b"xxx")] 400, "chunk data not followed by CRLF";
    chunk_data_no_crlf_before_last: &chunked(b"3\r\nxxx0\r\n\r\n") => [chunked_req(), data(b"xxx")] 400, "chunk data not followed by CRLF";

    // --- trailers parsed like header fields ---
    trailer_obs_fold: &chunked(b"0\r\nX: 1\r\n 2\r\n\r\n") => [chunked_req()] 400, "obsolete line folding in a header field";
    trailer_whitespace_first: &chunked(b"0\r\n X: 1\r\n\r\n") => [chunked_req()] 400, "whitespace before the first header field";
    trailer_nul_in_value: &chunked(b"0\r\nX: a\0b\r\n\r\n") => [chunked_req()] 400, "invalid character in a header field value";
    trailer_space_before_colon: &chunked(b"0\r\nX : a\r\n\r\n") => [chunked_req()] 400, "invalid header field name";
    trailer_bare_lf: &chunked(b"0\r\nX: a\n\r\n") => [chunked_req()] 400, "bare LF line ending (CRLF required)";
    trailer_bare_lf_blank: &chunked(b"0\r\n\n") => [chunked_req()] 400, "bare LF line ending (CRLF required)";

    // --- request line shape (§3) ---
    request_line_double_space_before_target: b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "more than one space between the parts of the start line";
    request_line_double_space_before_version: b"GET /  HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "more than one space between the parts of the start line";
    request_line_spaces_everywhere: b"GET   /   HTTP/1.0\r\n\r\n" => [] 400, "more than one space between the parts of the start line";
    request_line_tab_after_method: b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid method in request line";
    request_line_tab_after_target: b"GET /\tHTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid character in request target";
    request_line_vt: b"GET\x0b/ HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid method in request line";
    request_line_ff: b"GET /\x0cHTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid character in request target";
    request_line_trailing_space: b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n" => [] 400, "malformed HTTP version";
    request_line_leading_space: b" GET / HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request line";
    request_line_no_version: b"GET /\r\nHost: a\r\n\r\n" => [] 400, "invalid request line";
    request_line_only_method: b"GET\r\nHost: a\r\n\r\n" => [] 400, "invalid request line";
    request_line_empty_method: b"/ HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request line";
    request_line_separator_in_method: b"GE(T / HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid method in request line";
    request_line_nul_in_target: b"GET /a\0 HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid character in request target";
    request_line_obs_text_in_target: b"GET /caf\xe9 HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid character in request target";
    request_line_del_in_target: b"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid character in request target";
    request_line_tls_hello: b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" => [] 400, "invalid request line";
    request_line_nul_first: b"\0GET / HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request line";
    target_asterisk_with_get: b"GET * HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "asterisk-form target is only for OPTIONS";
    target_connect_origin_form: b"CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "CONNECT needs an authority-form target (host:port)";
    target_connect_no_port: b"CONNECT a HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "CONNECT needs an authority-form target (host:port)";
    target_connect_empty_port: b"CONNECT a: HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "CONNECT needs an authority-form target (host:port)";
    target_connect_absolute: b"CONNECT http://a:80/ HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "CONNECT needs an authority-form target (host:port)";
    target_connect_userinfo: b"CONNECT u@a:443 HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "CONNECT needs an authority-form target (host:port)";
    target_relative: b"GET a/b HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request target";
    target_bad_scheme: b"GET 1http://a/ HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request target";
    target_empty_scheme: b"GET : HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request target";
    // An http URI needs its authority (RFC 9110 §4.2.1).
    target_http_scheme_alone: b"GET http: HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request target";
    // RFC 9110 §9.3.6: an empty or invalid port MUST be rejected; the host is a uri-host.
    target_connect_port_too_large: b"CONNECT a:65536 HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "CONNECT needs an authority-form target (host:port)";
    target_connect_port_six_digits: b"CONNECT a:000443 HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "CONNECT needs an authority-form target (host:port)";
    target_connect_port_zero: b"CONNECT a:0 HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "CONNECT needs an authority-form target (host:port)";
    target_connect_empty_host: b"CONNECT :443 HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "CONNECT needs an authority-form target (host:port)";
    target_connect_bad_ip_literal: b"CONNECT [x]:443 HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "CONNECT needs an authority-form target (host:port)";
    target_connect_bad_percent: b"CONNECT a%zz:443 HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "CONNECT needs an authority-form target (host:port)";
    // RFC 9110 §4.2.1: an http(s) URI with an empty host MUST be rejected; §4.2.4: userinfo
    // is an error.
    target_http_empty_host: b"GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request target";
    target_https_empty_host_with_port: b"GET https://:443/ HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request target";
    target_http_userinfo: b"GET http://u:p@a/ HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request target";
    target_http_without_slashes: b"GET http:a/b HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request target";
    target_http_bad_port: b"GET HTTP://a:b/ HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request target";
    target_scheme_only: b"GET http: HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request target";
    // `host:port` is authority-form, which only CONNECT may use (RFC 9112 §3.2.3), not a
    // scheme and a path of digits (gunicorn's `rfc9112_target_authority_non_connect_01`;
    // nginx, Apache, lighttpd and Node refuse it too).
    target_authority_form_for_get: b"GET example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n" => [] 400, "authority-form target is only for CONNECT";
    target_authority_form_for_options: b"OPTIONS a:1 HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "authority-form target is only for CONNECT";
    // RFC 3986 §3.2: whatever the scheme, `//` starts an authority, which must be one
    // (gunicorn's `invalid/016.http`: `]` is only an IP-literal's).
    target_other_scheme_bracket_outside_ip_literal: b"PUT s://]ufd/: HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request target";
    target_other_scheme_unclosed_ip_literal: b"GET ftp://[::1/ HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request target";
    target_other_scheme_bad_port: b"GET ftp://a:b/ HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request target";
    target_other_scheme_two_at_signs: b"GET ftp://u@v@a/ HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request target";
    target_other_scheme_bad_userinfo: b"GET ftp://u[@a/ HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request target";
    target_other_scheme_userinfo_bad_percent: b"GET ftp://u%zz@a/ HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request target";
    target_other_scheme_host_bad_percent: b"GET ftp://a%2/ HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request target";

    // --- HTTP-version shape (§2.3) ---
    version_two_digit_minor: b"GET / HTTP/1.10\r\nHost: a\r\n\r\n" => [] 400, "malformed HTTP version";
    version_junk_after: b"GET / HTTP/1.1x\r\nHost: a\r\n\r\n" => [] 400, "malformed HTTP version";
    version_lowercase: b"GET / http/1.1\r\nHost: a\r\n\r\n" => [] 400, "malformed HTTP version";
    version_no_minor: b"GET / HTTP/1\r\nHost: a\r\n\r\n" => [] 400, "malformed HTTP version";
    version_two_digit_major: b"GET / HTTP/11.1\r\nHost: a\r\n\r\n" => [] 400, "malformed HTTP version";
    version_leading_zero: b"GET / HTTP/01.1\r\nHost: a\r\n\r\n" => [] 400, "malformed HTTP version";
    version_comma: b"GET / HTTP/1,1\r\nHost: a\r\n\r\n" => [] 400, "malformed HTTP version";
    version_other_protocol: b"GET / HTTPS/1.1\r\nHost: a\r\n\r\n" => [] 400, "malformed HTTP version";
    version_2_0: b"GET / HTTP/2.0\r\nHost: a\r\n\r\n" => [] 505, "unsupported HTTP version HTTP/2.0";
    version_0_9: b"GET / HTTP/0.9\r\nHost: a\r\n\r\n" => [] 505, "unsupported HTTP version HTTP/0.9";
    version_3_0: b"GET / HTTP/3.0\r\n\r\n" => [] 505, "unsupported HTTP version HTTP/3.0";

    // --- Host (§3.2) ---
    host_missing_http11: b"GET / HTTP/1.1\r\nX: a\r\n\r\n" => [] 400, "missing Host header field";
    host_duplicated: b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n" => [] 400, "multiple Host header fields";
    host_duplicated_different: b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n" => [] 400, "multiple Host header fields";
    host_duplicated_http10: b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n" => [] 400, "multiple Host header fields";
    host_list: b"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n" => [] 400, "invalid Host header field";
    host_space_inside: b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n" => [] 400, "invalid Host header field";
    host_with_path: b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n" => [] 400, "invalid Host header field";
    host_with_userinfo: b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n" => [] 400, "invalid Host header field";
    // RFC 9110 §7.2 allows an empty Host, not a port without a host (the http URI it
    // stands for would have an empty host, §4.2.1; lighttpd's test_request.c:247).
    host_port_without_host: b"GET / HTTP/1.1\r\nHost: :80\r\n\r\n" => [] 400, "invalid Host header field";
    // No empty label between dots, and not `.` alone (nginx, Apache, lighttpd and Tomcat
    // refuse them; `Host: ..` would climb out of a folder per virtual host).
    host_dot_dot: b"GET / HTTP/1.1\r\nHost: ..\r\n\r\n" => [] 400, "invalid Host header field";
    host_empty_label: b"GET / HTTP/1.1\r\nHost: a..b:80\r\n\r\n" => [] 400, "invalid Host header field";
    host_dot_alone: b"GET / HTTP/1.1\r\nHost: .\r\n\r\n" => [] 400, "invalid Host header field";
    host_empty_label_pct_encoded_name: b"GET / HTTP/1.1\r\nHost: %41..b\r\n\r\n" => [] 400, "invalid Host header field";
    target_http_host_empty_label: b"GET http://a..b/ HTTP/1.1\r\nHost: a\r\n\r\n" => [] 400, "invalid request target";
    host_colon_alone: b"GET / HTTP/1.0\r\nHost: :\r\n\r\n" => [] 400, "invalid Host header field";
    host_bad_port: b"GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n" => [] 400, "invalid Host header field";
    host_unclosed_bracket: b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n" => [] 400, "invalid Host header field";
    host_ipv6_two_double_colons: b"GET / HTTP/1.1\r\nHost: [ab..cd::ef98:0:7654:321]\r\n\r\n" => [] 400, "invalid Host header field";
    host_ip_literal_empty: b"GET / HTTP/1.1\r\nHost: []\r\n\r\n" => [] 400, "invalid Host header field";
    host_ip_literal_not_an_address: b"GET / HTTP/1.1\r\nHost: [localhost]\r\n\r\n" => [] 400, "invalid Host header field";
    host_ipvfuture_without_version: b"GET / HTTP/1.1\r\nHost: [v.abc]\r\n\r\n" => [] 400, "invalid Host header field";
    host_zone_without_pct25: b"GET / HTTP/1.1\r\nHost: [fe80::1%eth0]\r\n\r\n" => [] 400, "invalid Host header field";
    host_obs_text: b"GET / HTTP/1.1\r\nHost: \xe9\r\n\r\n" => [] 400, "invalid Host header field";
    // pct-encoded is `%` and two hex digits (RFC 3986 §2.1): a lone `%` is no reg-name.
    host_percent_without_hex: b"GET / HTTP/1.1\r\nHost: %zz\r\n\r\n" => [] 400, "invalid Host header field";
    host_percent_at_the_end: b"GET / HTTP/1.1\r\nHost: a%\r\n\r\n" => [] 400, "invalid Host header field";
    host_percent_one_hex_digit: b"GET / HTTP/1.1\r\nHost: a%4:80\r\n\r\n" => [] 400, "invalid Host header field";
    host_zone_percent_without_hex: b"GET / HTTP/1.1\r\nHost: [fe80::1%25eth%g0]\r\n\r\n" => [] 400, "invalid Host header field";

    // --- errors after an accepted request: the pipelined one is never seen ---
    second_request_bad_after_good: b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n"
        => [get("/1"), end()] 400, "conflicting Content-Length values";

    // --- Host after valid ones (a repeated valid Host is not checked again) ---
    host_invalid_after_valid: &cat(&[&get_at("/1", "a.example:80"), &get_at("/2", "a.example:8x")])
        => [got_at("/1", "a.example:80"), end()] 400, "invalid Host header field";
    host_invalid_extending_a_valid_one: &cat(&[&get_at("/1", "a"), &get_at("/2", "a%")])
        => [got_at("/1", "a"), end()] 400, "invalid Host header field";
    host_invalid_after_empty: &cat(&[&get_at("/1", ""), &get_at("/2", "a b")])
        => [got_at("/1", ""), end()] 400, "invalid Host header field";
    host_duplicated_after_valid: &cat(&[
        &get_at("/1", "a"), b"GET /2 HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
    ]) => [got_at("/1", "a"), end()] 400, "multiple Host header fields";
    host_missing_after_valid: &cat(&[&get_at("/1", "a"), b"GET /2 HTTP/1.1\r\n\r\n"])
        => [got_at("/1", "a"), end()] 400, "missing Host header field";
    host_invalid_after_long_valid: &cat(&[&get_at("/1", LONG_HOST), &get_at("/2", &LONG_HOST.replace(':', "/"))])
        => [got_at("/1", LONG_HOST), end()] 400, "invalid Host header field";
}

/// `Transfer_Encoding` is just another field: it frames nothing, so the chunked bytes
/// are taken for the next request line (and refused), never for a body.
#[test]
fn te_name_with_underscore_frames_nothing() {
    let input = cat(&[
        &post("Transfer_Encoding: chunked\r\n"),
        b"5\r\nhello\r\n0\r\n\r\n",
    ]);
    assert_eq!(
        server_events(&input),
        vec![
            req(
                "POST",
                "/",
                V11,
                &[("host", "a"), ("transfer_encoding", "chunked")]
            ),
            end(),
            err(400, "invalid request line"),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// 3. Limits
// ---------------------------------------------------------------------------------------

const HEAD_LIMIT: usize = 16 * 1024;

/// A GET head of exactly `total` bytes (padded with an `x` field), and its request event.
fn head_of_len(total: usize) -> (Vec<u8>, Ev) {
    let prefix: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\nX: ";
    let pad = total - prefix.len() - 4;
    let input = cat(&[prefix, &n_times(b'p', pad), b"\r\n\r\n"]);
    assert_eq!(input.len(), total);
    let ev = req("GET", "/", V11, &[("host", "a"), ("x", &"p".repeat(pad))]);
    (input, ev)
}

/// A head with `host: a` and then `n - 1` more fields.
fn head_with_fields(n: usize) -> (Vec<u8>, Ev) {
    let mut input = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    let mut names = vec![("host".to_string(), b"a".to_vec())];
    for i in 1..n {
        input.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
        names.push((format!("x-{i}"), i.to_string().into_bytes()));
    }
    input.extend_from_slice(b"\r\n");
    let ev = Ev::Request {
        method: "GET".into(),
        target: "/".into(),
        version: V11,
        headers: names,
    };
    (input, ev)
}

#[test]
fn limit_head_exactly_at_limit_accepted() {
    let (input, ev) = head_of_len(HEAD_LIMIT);
    assert_eq!(server_events(&input), vec![ev, end(), Ev::Closed]);
}

#[test]
fn limit_head_one_over_is_431() {
    let (input, _) = head_of_len(HEAD_LIMIT + 1);
    rejected(&input, vec![], 431, "message head larger than 16384 bytes");
}

#[test]
fn limit_head_much_over_is_431() {
    let (input, _) = head_of_len(3 * HEAD_LIMIT);
    rejected(&input, vec![], 431, "message head larger than 16384 bytes");
}

#[test]
fn limit_head_counts_leading_crlfs() {
    let (head, ev) = head_of_len(HEAD_LIMIT - 2);
    let input = cat(&[b"\r\n", &head]);
    assert_eq!(server_events(&input), vec![ev, end(), Ev::Closed]);
    let (head, _) = head_of_len(HEAD_LIMIT - 1);
    rejected(
        &cat(&[b"\r\n", &head]),
        vec![],
        431,
        "message head larger than 16384 bytes",
    );
}

#[test]
fn limit_head_is_per_request() {
    let (a, ev) = head_of_len(HEAD_LIMIT);
    let input = cat(&[&a, &a]);
    assert_eq!(
        server_events(&input),
        vec![ev.clone(), end(), ev, end(), Ev::Closed]
    );
}

#[test]
fn limit_request_line_too_long_is_414() {
    let input = cat(&[
        b"GET /",
        &n_times(b'a', HEAD_LIMIT),
        b" HTTP/1.1\r\nHost: a\r\n\r\n",
    ]);
    rejected(&input, vec![], 414, "request line longer than 16384 bytes");
}

#[test]
fn limit_request_line_without_end_is_414() {
    rejected(
        &cat(&[b"GET /", &n_times(b'a', HEAD_LIMIT)]),
        vec![],
        414,
        "request line longer than 16384 bytes",
    );
}

/// RFC 9112 §3: a method longer than any the server implements SHOULD get 501 (it got 414,
/// as if the target were long).
#[test]
fn limit_method_without_end_is_501() {
    rejected(
        &n_times(b'G', HEAD_LIMIT),
        vec![],
        501,
        "method longer than 16384 bytes",
    );
}

#[test]
fn limit_request_line_fits_but_head_does_not_is_431() {
    // The request line's CRLF is the last byte within the limit.
    let line_len = HEAD_LIMIT;
    let target = "a".repeat(line_len - "GET / HTTP/1.1\r\n".len());
    let input = format!("GET /{target} HTTP/1.1\r\nHost: a\r\n\r\n");
    rejected(
        input.as_bytes(),
        vec![],
        431,
        "message head larger than 16384 bytes",
    );
}

#[test]
fn limit_request_line_filling_the_whole_head_accepted() {
    let target = "a".repeat(HEAD_LIMIT - "GET / HTTP/1.0\r\n\r\n".len());
    let input = format!("GET /{target} HTTP/1.0\r\n\r\n");
    assert_eq!(input.len(), HEAD_LIMIT);
    assert_eq!(
        server_events(input.as_bytes()),
        vec![
            req("GET", &format!("/{target}"), V10, &[]),
            end(),
            Ev::Closed
        ]
    );
}

#[test]
fn limit_100_fields_accepted() {
    let (input, ev) = head_with_fields(100);
    assert_eq!(server_events(&input), vec![ev, end(), Ev::Closed]);
}

#[test]
fn limit_101_fields_is_431() {
    let (input, _) = head_with_fields(101);
    rejected(&input, vec![], 431, "more than 100 header fields");
}

#[test]
fn limit_trailers_101_fields_is_431() {
    let mut body = b"0\r\n".to_vec();
    for i in 0..101 {
        body.extend_from_slice(format!("T-{i}: {i}\r\n").as_bytes());
    }
    body.extend_from_slice(b"\r\n");
    rejected(
        &chunked(&body),
        vec![chunked_req()],
        431,
        "more than 100 header fields",
    );
}

#[test]
fn limit_trailers_100_fields_accepted() {
    let mut body = b"0\r\n".to_vec();
    let mut want = Vec::new();
    for i in 0..100 {
        body.extend_from_slice(format!("T-{i}: {i}\r\n").as_bytes());
        want.push((format!("t-{i}"), i.to_string().into_bytes()));
    }
    body.extend_from_slice(b"\r\n");
    assert_eq!(
        server_events(&chunked(&body)),
        vec![chunked_req(), Ev::End(want), Ev::Closed]
    );
}

#[test]
fn limit_trailer_section_too_large_is_431() {
    let body = cat(&[b"0\r\nT: ", &n_times(b't', HEAD_LIMIT), b"\r\n\r\n"]);
    rejected(
        &chunked(&body),
        vec![chunked_req()],
        431,
        "trailer section larger than 16384 bytes",
    );
}

#[test]
fn limit_chunk_line_exactly_4096_accepted() {
    // "1;" + name + CRLF = 4096 bytes.
    let body = cat(&[b"1;", &n_times(b'e', 4092), b"\r\nx\r\n0\r\n\r\n"]);
    assert_eq!(
        server_events(&chunked(&body)),
        vec![chunked_req(), data(b"x"), end(), Ev::Closed]
    );
}

#[test]
fn limit_chunk_line_over_4096_is_400() {
    let body = cat(&[b"1;", &n_times(b'e', 4093), b"\r\nx\r\n0\r\n\r\n"]);
    rejected(
        &chunked(&body),
        vec![chunked_req()],
        400,
        "chunk-size line longer than 4096 bytes",
    );
}

#[test]
fn limit_chunk_line_of_zeros_over_4096_is_400() {
    // Leading zeros are digits too: the size limit trips first.
    let body = n_times(b'0', 5000);
    rejected(
        &chunked(&body),
        vec![chunked_req()],
        400,
        "chunk size too large",
    );
}

/// Chunks of one byte each, whose extensions add up to `ext_bytes` (the `;` is not
/// counted, the name and the CR are).
fn chunks_with_extensions(ext_bytes: usize) -> (Vec<u8>, usize) {
    let mut body = Vec::new();
    let mut left = ext_bytes;
    let mut chunks = 0;
    while left > 0 {
        let name = (left - 1).min(4000);
        body.extend_from_slice(b"1;");
        body.extend_from_slice(&n_times(b'e', name));
        body.extend_from_slice(b"\r\nX\r\n");
        left -= name + 1;
        chunks += 1;
    }
    body.extend_from_slice(b"0\r\n\r\n");
    (body, chunks)
}

#[test]
fn limit_chunk_extensions_exactly_16k_accepted() {
    let (body, chunks) = chunks_with_extensions(16 * 1024);
    assert_eq!(chunks, 5);
    assert_eq!(
        server_events(&chunked(&body)),
        vec![chunked_req(), data(b"XXXXX"), end(), Ev::Closed]
    );
}

#[test]
fn limit_chunk_extensions_over_16k_is_400() {
    let (body, chunks) = chunks_with_extensions(16 * 1024 + 1);
    assert_eq!(chunks, 5);
    rejected(
        &chunked(&body),
        vec![chunked_req(), data(b"XXXX")],
        400,
        "chunk extensions larger than 16384 bytes",
    );
}

#[test]
fn limit_leading_crlfs_bounded() {
    let many = b"\r\n".repeat(HEAD_LIMIT / 2 + 1);
    rejected(
        &many,
        vec![],
        400,
        "too many empty lines before the request",
    );
}

#[test]
fn limit_some_leading_crlfs_accepted() {
    let input = cat(&[&b"\r\n".repeat(100), b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"]);
    assert_eq!(server_events(&input), vec![get("/"), end(), Ev::Closed]);
}

fn limited(max: u64) -> Limits {
    Limits::server().max_body(Some(max))
}

#[test]
fn limit_max_body_cl_at_limit_accepted() {
    let input = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789";
    assert_eq!(
        server_events_with(limited(10), input),
        vec![
            req("POST", "/", V11, &[("host", "a"), ("content-length", "10")]),
            data(b"0123456789"),
            end(),
            Ev::Closed
        ]
    );
}

#[test]
fn limit_max_body_cl_over_is_413() {
    let input = cat(&[
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n0123456789a",
        SMUGGLED,
    ]);
    assert_eq!(
        server_events_with(limited(10), &input),
        vec![err(413, "request body of 11 bytes exceeds the limit of 10")]
    );
}

#[test]
fn limit_max_body_zero_refuses_any_body() {
    let input = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx";
    assert_eq!(
        server_events_with(limited(0), input),
        vec![err(413, "request body of 1 bytes exceeds the limit of 0")]
    );
    let input = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(
        server_events_with(limited(0), input),
        vec![
            req("POST", "/", V11, &[("host", "a"), ("content-length", "0")]),
            end(),
            Ev::Closed
        ]
    );
}

#[test]
fn limit_max_body_chunked_at_limit_accepted() {
    let input = chunked(b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n");
    assert_eq!(
        server_events_with(limited(10), &input),
        vec![chunked_req(), data(b"helloworld"), end(), Ev::Closed]
    );
}

#[test]
fn limit_max_body_chunked_total_11_is_413() {
    let input = cat(&[
        &chunked(b"5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n"),
        SMUGGLED,
    ]);
    assert_eq!(
        server_events_with(limited(10), &input),
        vec![
            chunked_req(),
            data(b"hello"),
            err(413, "chunked body exceeds the limit of 10 bytes")
        ]
    );
}

#[test]
fn limit_max_body_chunked_single_chunk_over_is_413_before_data() {
    let input = chunked(b"b\r\nhello world\r\n0\r\n\r\n");
    assert_eq!(
        server_events_with(limited(10), &input),
        vec![
            chunked_req(),
            err(413, "chunked body exceeds the limit of 10 bytes")
        ]
    );
}

#[test]
fn limit_max_body_chunked_huge_size_is_413_not_overflow() {
    let input = chunked(b"5\r\nhello\r\nffffffffffffffff\r\n");
    assert_eq!(
        server_events_with(limited(10), &input),
        vec![
            chunked_req(),
            data(b"hello"),
            err(413, "chunked body exceeds the limit of 10 bytes")
        ]
    );
}

#[test]
fn limit_custom_head_and_field_count() {
    let limits = Limits::server().max_head(40).max_headers(2);
    // 40 bytes exactly.
    let input = b"GET / HTTP/1.1\r\nHost: a\r\nX: 01234567\r\n\r\n";
    assert_eq!(input.len(), 40);
    assert_eq!(
        server_events_with(limits, input),
        vec![
            req("GET", "/", V11, &[("host", "a"), ("x", "01234567")]),
            end(),
            Ev::Closed
        ]
    );
    let input = b"GET / HTTP/1.1\r\nHost: a\r\nX: 012345678\r\n\r\n";
    assert_eq!(
        server_events_with(limits, input),
        vec![err(431, "message head larger than 40 bytes")]
    );
    let input = b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY: 2\r\n\r\n";
    assert_eq!(
        server_events_with(limits, input),
        vec![err(431, "more than 2 header fields")]
    );
}

#[test]
fn limit_custom_chunk_line_and_extensions() {
    let limits = Limits::server().max_chunk_line(8).max_chunk_extensions(6);
    // "1;abcd\r\n" is 8 bytes, 5 of them extension bytes.
    let ok = chunked(b"1;abcd\r\nx\r\n0\r\n\r\n");
    assert_eq!(
        server_events_with(limits, &ok),
        vec![chunked_req(), data(b"x"), end(), Ev::Closed]
    );
    let long = chunked(b"1;abcde\r\nx\r\n0\r\n\r\n");
    assert_eq!(
        server_events_with(limits, &long),
        vec![
            chunked_req(),
            err(400, "chunk-size line longer than 8 bytes")
        ]
    );
    let total = chunked(b"1;abcd\r\nx\r\n1;ab\r\ny\r\n0\r\n\r\n");
    assert_eq!(
        server_events_with(limits, &total),
        vec![
            chunked_req(),
            data(b"x"),
            err(400, "chunk extensions larger than 6 bytes")
        ]
    );
}

// ---------------------------------------------------------------------------------------
// 4. The state machine, on ServerConn directly
// ---------------------------------------------------------------------------------------

/// One `next_event` outcome, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    E(Ev),
    NeedData,
    Paused,
}
use Got::{NeedData, Paused, E};

fn next(conn: &mut ServerConn) -> Got {
    match conn.next_event() {
        Ok(Event::NeedData) => NeedData,
        Ok(Event::Paused) => Paused,
        Ok(Event::Request(h)) => E(Ev::Request {
            method: h.method().to_string(),
            target: h.target().to_owned(),
            version: h.version(),
            headers: fields(h.headers()),
        }),
        Ok(Event::Data(d)) => E(Ev::Data(d.to_vec())),
        Ok(Event::End(t)) => E(Ev::End(fields(&t))),
        Ok(Event::Switched) => E(Ev::Switched(Vec::new())),
        Ok(Event::Closed) => E(Ev::Closed),
        Ok(other) => panic!("unexpected server event {other:?}"),
        Err(e) => E(Ev::Error(
            e.status_hint().map_or(0, |s| s.as_u16()),
            e.message().to_owned(),
        )),
    }
}

/// Bytes after a request that itself closed the connection.
fn after_close() -> Ev {
    Ev::Error(400, AFTER_CLOSE.to_owned())
}

fn after_close_got() -> Got {
    E(after_close())
}

const AFTER_CLOSE: &str = "data after a request that closed the connection";

/// `n` events.
fn nexts(conn: &mut ServerConn, n: usize) -> Vec<Got> {
    (0..n).map(|_| next(conn)).collect()
}

fn conn_with(input: &[u8]) -> ServerConn {
    let mut conn = ServerConn::new();
    conn.receive(input).unwrap();
    conn
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap()
}

/// Sends a final response head; returns the framing and the bytes written.
fn respond(
    conn: &mut ServerConn,
    code: u16,
    headers: &[(&str, &str)],
    body: BodyLength,
) -> Result<(Framing, String), Error> {
    let mut out = Vec::new();
    let framing = conn.send_response(status(code), None, &header_map(headers), body, &mut out)?;
    Ok((framing, String::from_utf8(out).unwrap()))
}

fn inform(conn: &mut ServerConn, code: u16, headers: &[(&str, &str)]) -> Result<String, Error> {
    let mut out = Vec::new();
    conn.send_informational(status(code), &header_map(headers), &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

fn send(conn: &mut ServerConn, d: &[u8]) -> Result<String, Error> {
    let mut out = Vec::new();
    conn.send_data(d, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

fn finish(conn: &mut ServerConn) -> Result<String, Error> {
    let mut out = Vec::new();
    conn.send_end(None, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

/// After a GET is read whole, `send_response` with these is a caller error saying `message`.
fn refused_after_a_get(code: u16, headers: &[(&str, &str)], body: BodyLength, message: &str) {
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    assert_local(respond(&mut conn, code, headers, body), message);
}

fn assert_local(result: Result<impl std::fmt::Debug, Error>, message: &str) {
    match result {
        Err(e @ Error::LocalProtocol { .. }) => {
            assert_eq!(e.message(), message);
            assert_eq!(e.status_hint(), None);
            assert!(!e.is_remote());
        }
        other => panic!("expected local error {message:?}, got {other:?}"),
    }
}

const GET1: &[u8] = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n";
const GET2: &[u8] = b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n";

// --- pipelining ---

#[test]
fn sm_pipelined_requests_paused_until_response_finished() {
    let mut conn = conn_with(&cat(&[GET1, GET2]));
    assert_eq!(
        nexts(&mut conn, 4),
        [E(get("/1")), E(end()), Paused, Paused]
    );
    assert_eq!(conn.buffered(), GET2.len());
    assert!(conn.response_due());
    let (framing, head) = respond(&mut conn, 200, &[], BodyLength::Known(2)).unwrap();
    assert_eq!(framing, Framing::Length(2));
    assert_eq!(head, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n");
    assert_eq!(next(&mut conn), Paused, "still sending the body");
    assert_eq!(send(&mut conn, b"o").unwrap(), "o");
    assert_eq!(next(&mut conn), Paused);
    assert_eq!(send(&mut conn, b"k").unwrap(), "k");
    assert_eq!(next(&mut conn), Paused, "not finished until send_end");
    assert_eq!(finish(&mut conn).unwrap(), "");
    assert!(!conn.response_due());
    assert_eq!(nexts(&mut conn, 3), [E(get("/2")), E(end()), NeedData]);
    assert!(conn.response_due());
    assert_eq!(conn.buffered(), 0);
}

#[test]
fn sm_complete_request_without_more_bytes_needs_data() {
    let mut conn = conn_with(GET1);
    assert_eq!(nexts(&mut conn, 3), [E(get("/1")), E(end()), NeedData]);
    // More bytes arrive before we answered: now they wait.
    conn.receive(b"GET /2").unwrap();
    assert_eq!(next(&mut conn), Paused);
    respond(&mut conn, 200, &[], BodyLength::None).unwrap();
    assert_eq!(next(&mut conn), NeedData);
    conn.receive(b" HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert_eq!(nexts(&mut conn, 2), [E(get("/2")), E(end())]);
}

#[test]
fn sm_early_response_then_body_drained_keeps_alive() {
    let mut conn = conn_with(b"POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n");
    assert_eq!(
        next(&mut conn),
        E(req(
            "POST",
            "/1",
            V11,
            &[("host", "a"), ("content-length", "3")]
        ))
    );
    let (_, head) = respond(&mut conn, 413, &[], BodyLength::None).unwrap();
    assert_eq!(
        head,
        "HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\r\n"
    );
    assert!(!conn.response_due());
    assert!(!conn.must_close());
    assert_eq!(next(&mut conn), NeedData);
    conn.receive(b"abc").unwrap();
    conn.receive(GET2).unwrap();
    assert_eq!(
        nexts(&mut conn, 4),
        [E(data(b"abc")), E(end()), E(get("/2")), E(end())]
    );
}

#[test]
fn sm_pipelined_then_eof_answers_all_then_closes() {
    let mut conn = conn_with(&cat(&[GET1, GET2]));
    conn.receive_eof();
    assert_eq!(nexts(&mut conn, 3), [E(get("/1")), E(end()), Paused]);
    let (_, head) = respond(&mut conn, 200, &[], BodyLength::None).unwrap();
    assert_eq!(head, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    assert_eq!(nexts(&mut conn, 3), [E(get("/2")), E(end()), E(Ev::Closed)]);
    assert!(!conn.is_keep_alive());
    assert!(!conn.must_close(), "the response is still due");
    let (_, head) = respond(&mut conn, 200, &[], BodyLength::None).unwrap();
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    assert!(conn.must_close());
    assert_eq!(next(&mut conn), E(Ev::Closed), "Closed is sticky");
}

// --- keep-alive and close ---

#[test]
fn sm_keep_alive_response_has_no_connection_field() {
    let mut conn = conn_with(GET1);
    assert_eq!(nexts(&mut conn, 2), [E(get("/1")), E(end())]);
    assert!(conn.is_keep_alive());
    let (framing, head) = respond(&mut conn, 200, &[], BodyLength::None).unwrap();
    assert_eq!(framing, Framing::None);
    assert_eq!(head, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    assert!(conn.is_keep_alive());
    assert!(!conn.must_close());
}

#[test]
fn sm_http10_client_gets_close_and_what_follows_is_an_error() {
    let mut conn = conn_with(b"GET / HTTP/1.0\r\n\r\nGET /2 HTTP/1.0\r\n\r\n");
    assert_eq!(
        nexts(&mut conn, 3),
        [E(req("GET", "/", V10, &[])), E(end()), Paused]
    );
    assert!(!conn.is_keep_alive());
    let (framing, head) = respond(&mut conn, 200, &[], BodyLength::Known(2)).unwrap();
    assert_eq!(framing, Framing::Length(2));
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n"
    );
    assert!(!conn.must_close(), "body still to send");
    send(&mut conn, b"hi").unwrap();
    finish(&mut conn).unwrap();
    assert!(conn.must_close());
    assert_eq!(next(&mut conn), after_close_got());
    assert_eq!(next(&mut conn), after_close_got(), "the error stays");
    assert!(conn.must_close());
    conn.receive_eof();
    assert_eq!(next(&mut conn), after_close_got());
}

#[test]
fn sm_connection_close_request_gets_close_and_what_follows_is_an_error() {
    let mut conn = conn_with(&cat(&[
        b"GET /1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        GET2,
    ]));
    assert_eq!(
        nexts(&mut conn, 3),
        [
            E(req(
                "GET",
                "/1",
                V11,
                &[("host", "a"), ("connection", "close")]
            )),
            E(end()),
            Paused
        ]
    );
    assert!(!conn.is_keep_alive());
    let (_, head) = respond(&mut conn, 204, &[], BodyLength::None).unwrap();
    assert_eq!(head, "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
    assert!(conn.must_close());
    assert_eq!(next(&mut conn), after_close_got());
}

#[test]
fn sm_empty_lines_after_a_close_request_then_eof_close() {
    let mut conn = conn_with(b"GET / HTTP/1.0\r\n\r\n\r\n");
    nexts(&mut conn, 2);
    respond(&mut conn, 204, &[], BodyLength::None).unwrap();
    assert_eq!(next(&mut conn), NeedData);
    conn.receive(b"\n\r").unwrap();
    assert_eq!(next(&mut conn), NeedData);
    assert_eq!(conn.buffered(), 0);
    conn.receive(b"\r\nX").unwrap();
    assert_eq!(next(&mut conn), after_close_got());
}

#[test]
fn sm_our_connection_close_closes_once() {
    let mut conn = conn_with(&cat(&[GET1, GET2]));
    assert_eq!(nexts(&mut conn, 2), [E(get("/1")), E(end())]);
    let (_, head) = respond(&mut conn, 200, &[("connection", "Close")], BodyLength::None).unwrap();
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\nconnection: Close\r\ncontent-length: 0\r\n\r\n"
    );
    assert!(!conn.is_keep_alive());
    assert!(conn.must_close());
    // Our decision, not the client's: its pipelined requests are dropped unread, no error.
    assert_eq!(next(&mut conn), NeedData);
    assert_eq!(conn.buffered(), 0);
    conn.receive(b"GET /3 HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(next(&mut conn), NeedData);
    conn.receive_eof();
    assert_eq!(next(&mut conn), E(Ev::Closed));
}

#[test]
fn sm_our_connection_close_found_among_many_fields() {
    // Past a handful of fields the lookup hashes the name instead of walking the map:
    // both ways must find the option.
    for n in [0, 3, 7, 8, 9, 20] {
        let mut conn = conn_with(&cat(&[GET1, GET2]));
        nexts(&mut conn, 2);
        let names: Vec<String> = (0..n).map(|i| format!("x-field-{i}")).collect();
        let mut fields: Vec<(&str, &str)> = names.iter().map(|name| (name.as_str(), "v")).collect();
        fields.push(("connection", "keep-alive, Close"));
        let (_, head) = respond(&mut conn, 204, &fields, BodyLength::None).unwrap();
        assert!(conn.must_close(), "{n} other fields");
        assert_eq!(head.matches("onnection").count(), 1, "{head}");
    }
}

#[test]
fn sm_connection_close_added_once_when_we_must_close() {
    let mut conn = conn_with(b"GET / HTTP/1.0\r\n\r\n");
    nexts(&mut conn, 2);
    let (_, head) = respond(
        &mut conn,
        200,
        &[("connection", "keep-alive, close")],
        BodyLength::None,
    )
    .unwrap();
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\nconnection: keep-alive, close\r\ncontent-length: 0\r\n\r\n"
    );
}

// --- response framing chosen for the peer ---

#[test]
fn sm_framing_unknown_http11_is_chunked() {
    let mut conn = conn_with(&cat(&[GET1, GET2]));
    nexts(&mut conn, 2);
    let (framing, head) = respond(&mut conn, 200, &[("x", "1")], BodyLength::Unknown).unwrap();
    assert_eq!(framing, Framing::Chunked);
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\nx: 1\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    assert_eq!(send(&mut conn, b"hello").unwrap(), "5\r\nhello\r\n");
    assert_eq!(
        send(&mut conn, b"").unwrap(),
        "",
        "an empty chunk would end the body"
    );
    assert_eq!(
        send(&mut conn, &[b'z'; 26]).unwrap(),
        format!("1a\r\n{}\r\n", "z".repeat(26))
    );
    let mut out = Vec::new();
    conn.send_chunk(
        b"hi",
        &[("a", Some("b c")), ("d", None), ("e", Some("f"))],
        &mut out,
    )
    .unwrap();
    assert_eq!(out, b"2;a=\"b c\";d;e=f\r\nhi\r\n");
    let mut out = Vec::new();
    conn.send_end(Some(&header_map(&[("x-sum", "abc")])), &mut out)
        .unwrap();
    assert_eq!(out, b"0\r\nx-sum: abc\r\n\r\n");
    assert!(conn.is_keep_alive());
    assert_eq!(nexts(&mut conn, 2), [E(get("/2")), E(end())]);
}

#[test]
fn sm_framing_unknown_http10_is_close_delimited() {
    let mut conn = conn_with(b"GET / HTTP/1.0\r\n\r\n");
    nexts(&mut conn, 2);
    let (framing, head) = respond(&mut conn, 200, &[], BodyLength::Unknown).unwrap();
    assert_eq!(framing, Framing::UntilClose);
    assert_eq!(head, "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");
    assert_eq!(send(&mut conn, b"raw bytes").unwrap(), "raw bytes");
    assert!(!conn.must_close());
    assert_eq!(finish(&mut conn).unwrap(), "");
    assert!(conn.must_close());
}

#[test]
fn sm_framing_unknown_http10_refuses_trailers_and_extensions() {
    let mut conn = conn_with(b"GET / HTTP/1.0\r\n\r\n");
    nexts(&mut conn, 2);
    respond(&mut conn, 200, &[], BodyLength::Unknown).unwrap();
    assert_local(
        conn.send_chunk(b"x", &[("a", None)], &mut Vec::new()),
        "chunk extensions need a chunked body",
    );
    let mut conn = conn_with(b"GET / HTTP/1.0\r\n\r\n");
    nexts(&mut conn, 2);
    respond(&mut conn, 200, &[], BodyLength::Unknown).unwrap();
    assert_local(
        conn.send_end(Some(&header_map(&[("x", "1")])), &mut Vec::new()),
        "trailers need a chunked body",
    );
}

#[test]
fn sm_framing_known_http11_is_content_length() {
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    let (framing, head) = respond(&mut conn, 200, &[], BodyLength::Known(5)).unwrap();
    assert_eq!(framing, Framing::Length(5));
    assert_eq!(head, "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n");
    assert_eq!(send(&mut conn, b"hel").unwrap(), "hel");
    assert_eq!(send(&mut conn, b"lo").unwrap(), "lo");
    assert_eq!(finish(&mut conn).unwrap(), "");
    assert!(!conn.must_close());
}

#[test]
fn sm_framing_caller_fields_checked() {
    // The same Content-Length as ours: not repeated.
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    let (_, head) = respond(
        &mut conn,
        200,
        &[("content-length", "5")],
        BodyLength::Known(5),
    )
    .unwrap();
    assert_eq!(head, "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n");
    // A different one: refused.
    refused_after_a_get(
        200,
        &[("content-length", "4")],
        BodyLength::Known(5),
        "Content-Length given does not match the body length 5",
    );
    // `transfer-encoding: chunked` of the caller for an unknown length: not repeated.
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    let (_, head) = respond(
        &mut conn,
        200,
        &[("transfer-encoding", "chunked")],
        BodyLength::Unknown,
    )
    .unwrap();
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    // Transfer-Encoding with a known length, another coding, Content-Length with chunked.
    refused_after_a_get(
        200,
        &[("transfer-encoding", "chunked")],
        BodyLength::Known(1),
        "Transfer-Encoding given for a body of known length",
    );
    refused_after_a_get(
        200,
        &[("transfer-encoding", "gzip")],
        BodyLength::Unknown,
        "only `transfer-encoding: chunked` is supported on output",
    );
    refused_after_a_get(
        200,
        &[("content-length", "1")],
        BodyLength::Unknown,
        "Content-Length given for a chunked body",
    );
}

#[test]
fn sm_custom_and_invalid_reason() {
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    let mut out = Vec::new();
    conn.send_response(
        StatusCode::OK,
        Some("Fine\tthanks"),
        &HeaderMap::new(),
        BodyLength::None,
        &mut out,
    )
    .unwrap();
    assert_eq!(
        out,
        b"HTTP/1.1 200 Fine\tthanks\r\ncontent-length: 0\r\n\r\n"
    );
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    assert_local(
        conn.send_response(
            StatusCode::OK,
            Some("a\r\nX: y"),
            &HeaderMap::new(),
            BodyLength::None,
            &mut Vec::new(),
        ),
        "reason phrase has a control character",
    );
    // A status without a standard phrase gets its class's name (never an empty reason).
    for (code, reason) in [
        (299, "Success"),
        (399, "Redirection"),
        (499, "Client Error"),
        (599, "Server Error"),
        (999, "Unknown"),
    ] {
        let mut conn = conn_with(GET1);
        nexts(&mut conn, 2);
        let (_, head) = respond(&mut conn, code, &[], BodyLength::None).unwrap();
        assert_eq!(
            head,
            format!("HTTP/1.1 {code} {reason}\r\ncontent-length: 0\r\n\r\n")
        );
    }
}

#[test]
fn sm_head_announces_get_framing_known() {
    let mut conn =
        conn_with(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        nexts(&mut conn, 3),
        [E(req("HEAD", "/", V11, &[("host", "a")])), E(end()), Paused]
    );
    let (framing, head) = respond(&mut conn, 200, &[], BodyLength::Known(5)).unwrap();
    assert_eq!(framing, Framing::None);
    assert_eq!(head, "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n");
    assert!(
        !conn.response_due(),
        "a HEAD response is complete with its head"
    );
    assert_eq!(nexts(&mut conn, 2), [E(get("/2")), E(end())]);
}

#[test]
fn sm_head_announces_get_framing_unknown() {
    let mut conn = conn_with(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
    nexts(&mut conn, 2);
    let (framing, head) = respond(&mut conn, 200, &[], BodyLength::Unknown).unwrap();
    assert_eq!(framing, Framing::None);
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    assert!(conn.is_keep_alive());
    assert_local(send(&mut conn, b"x"), "no response body is being sent");
}

#[test]
fn sm_head_http10_unknown_has_no_framing_field() {
    let mut conn = conn_with(b"HEAD / HTTP/1.0\r\n\r\n");
    nexts(&mut conn, 2);
    let (framing, head) = respond(&mut conn, 200, &[], BodyLength::Unknown).unwrap();
    assert_eq!(framing, Framing::None);
    assert_eq!(head, "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");
    assert!(conn.must_close());
}

#[test]
fn sm_204_and_304_have_no_body() {
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    let (framing, head) = respond(&mut conn, 204, &[], BodyLength::None).unwrap();
    assert_eq!(
        (framing, head.as_str()),
        (Framing::None, "HTTP/1.1 204 No Content\r\n\r\n")
    );
    assert!(!conn.response_due());

    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    let (framing, head) = respond(
        &mut conn,
        304,
        &[("content-length", "5"), ("etag", "\"x\"")],
        BodyLength::None,
    )
    .unwrap();
    assert_eq!(framing, Framing::None);
    assert_eq!(
        head,
        "HTTP/1.1 304 Not Modified\r\ncontent-length: 5\r\netag: \"x\"\r\n\r\n"
    );

    // An empty body of known length is no body: callers that always pass
    // `Known(body.len())` can answer 204.
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    let (framing, head) = respond(&mut conn, 204, &[], BodyLength::Known(0)).unwrap();
    assert_eq!(
        (framing, head.as_str()),
        (Framing::None, "HTTP/1.1 204 No Content\r\n\r\n")
    );

    for body in [BodyLength::Known(3), BodyLength::Unknown] {
        let mut conn = conn_with(GET1);
        nexts(&mut conn, 2);
        assert_local(
            respond(&mut conn, 204, &[], body),
            "204 and 304 responses have no body",
        );
    }
    refused_after_a_get(
        204,
        &[("content-length", "0")],
        BodyLength::None,
        "framing fields (Content-Length, Transfer-Encoding) do not fit this message",
    );
}

/// RFC 9112 §6.1: a 304 MAY carry the Transfer-Encoding a 200 would have had, as it may
/// carry its Content-Length; not both.
#[test]
fn sm_304_passes_the_callers_transfer_encoding() {
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    let (framing, head) = respond(
        &mut conn,
        304,
        &[("transfer-encoding", "chunked")],
        BodyLength::None,
    )
    .unwrap();
    assert_eq!(framing, Framing::None);
    assert_eq!(
        head,
        "HTTP/1.1 304 Not Modified\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    assert!(!conn.response_due());
    refused_after_a_get(
        304,
        &[("transfer-encoding", "chunked"), ("content-length", "5")],
        BodyLength::None,
        "both Content-Length and Transfer-Encoding given",
    );
}

/// RFC 9110 §15.3.6: a 205 has no content (it says `content-length: 0`); §15.5.22: a 426
/// names what to upgrade to.
#[test]
fn sm_205_has_no_content_and_426_names_an_upgrade() {
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    let (framing, head) = respond(&mut conn, 205, &[], BodyLength::None).unwrap();
    assert_eq!(
        (framing, head.as_str()),
        (
            Framing::None,
            "HTTP/1.1 205 Reset Content\r\ncontent-length: 0\r\n\r\n"
        )
    );
    for body in [BodyLength::Known(1), BodyLength::Unknown] {
        let mut conn = conn_with(GET1);
        nexts(&mut conn, 2);
        assert_local(
            respond(&mut conn, 205, &[], body),
            "a 205 response has no content",
        );
    }
    refused_after_a_get(
        426,
        &[],
        BodyLength::None,
        "a 426 response needs an Upgrade field",
    );
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    let (_, head) = respond(&mut conn, 426, &[("upgrade", "h2c")], BodyLength::None).unwrap();
    assert_eq!(
        head,
        "HTTP/1.1 426 Upgrade Required\r\nupgrade: h2c\r\ncontent-length: 0\r\nconnection: upgrade\r\n\r\n"
    );
}

#[test]
fn sm_send_response_refuses_1xx() {
    refused_after_a_get(
        100,
        &[],
        BodyLength::None,
        "send_response needs a final status; use send_informational",
    );
}

// --- Expect: 100-continue ---

const EXPECT: &[u8] =
    b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";

fn expect_req() -> Ev {
    req(
        "POST",
        "/",
        V11,
        &[
            ("host", "a"),
            ("expect", "100-continue"),
            ("content-length", "5"),
        ],
    )
}

#[test]
fn sm_expect_cleared_by_100() {
    let mut conn = conn_with(EXPECT);
    assert!(!conn.client_waiting_for_continue());
    assert_eq!(nexts(&mut conn, 2), [E(expect_req()), NeedData]);
    assert!(conn.client_waiting_for_continue());
    assert_eq!(
        inform(&mut conn, 100, &[]).unwrap(),
        "HTTP/1.1 100 Continue\r\n\r\n"
    );
    assert!(!conn.client_waiting_for_continue());
    assert!(conn.response_due(), "a 1xx is not the response");
    conn.receive(b"hello").unwrap();
    assert_eq!(nexts(&mut conn, 3), [E(data(b"hello")), E(end()), NeedData]);
    respond(&mut conn, 200, &[], BodyLength::None).unwrap();
    assert!(!conn.must_close());
}

#[test]
fn sm_expect_cleared_by_other_1xx() {
    let mut conn = conn_with(EXPECT);
    next(&mut conn);
    assert!(conn.client_waiting_for_continue());
    assert_eq!(
        inform(&mut conn, 103, &[("link", "</s.css>")]).unwrap(),
        "HTTP/1.1 103 Early Hints\r\nlink: </s.css>\r\n\r\n"
    );
    assert!(!conn.client_waiting_for_continue());
}

#[test]
fn sm_expect_cleared_by_final_response() {
    let mut conn = conn_with(EXPECT);
    next(&mut conn);
    assert!(conn.client_waiting_for_continue());
    let (_, head) = respond(&mut conn, 417, &[], BodyLength::None).unwrap();
    assert_eq!(
        head,
        "HTTP/1.1 417 Expectation Failed\r\ncontent-length: 0\r\n\r\n"
    );
    assert!(!conn.client_waiting_for_continue());
    // The body may still come; it is read and the connection stays usable.
    conn.receive(b"hello").unwrap();
    conn.receive(GET2).unwrap();
    assert_eq!(
        nexts(&mut conn, 4),
        [E(data(b"hello")), E(end()), E(get("/2")), E(end())]
    );
}

#[test]
fn sm_expect_cleared_by_body_data() {
    let mut conn = conn_with(EXPECT);
    next(&mut conn);
    assert!(conn.client_waiting_for_continue());
    conn.receive(b"he").unwrap();
    assert_eq!(next(&mut conn), E(data(b"he")));
    assert!(!conn.client_waiting_for_continue());
    // A 100 now is late but allowed.
    assert_eq!(
        inform(&mut conn, 100, &[]).unwrap(),
        "HTTP/1.1 100 Continue\r\n\r\n"
    );
}

#[test]
fn sm_expect_cleared_when_request_ends() {
    let mut conn = conn_with(&cat(&[EXPECT, b"hello"]));
    assert_eq!(nexts(&mut conn, 1), [E(expect_req())]);
    assert!(
        conn.client_waiting_for_continue(),
        "the body is buffered, not read"
    );
    assert_eq!(nexts(&mut conn, 2), [E(data(b"hello")), E(end())]);
    assert!(!conn.client_waiting_for_continue());
}

#[test]
fn sm_expect_token_in_list_any_case() {
    let mut conn = conn_with(
        b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: foo, 100-CONTINUE\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    next(&mut conn);
    assert!(conn.client_waiting_for_continue());
}

#[test]
fn sm_expect_ignored_for_http10() {
    let mut conn =
        conn_with(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    next(&mut conn);
    assert!(!conn.client_waiting_for_continue());
    assert_local(
        inform(&mut conn, 100, &[]),
        "1xx responses cannot be sent to an HTTP/1.0 client",
    );
}

#[test]
fn sm_expect_without_body_not_waiting() {
    let mut conn = conn_with(b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n");
    next(&mut conn);
    assert!(!conn.client_waiting_for_continue());
}

#[test]
fn sm_expect_other_value_not_waiting() {
    let mut conn = conn_with(
        b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continuex\r\nContent-Length: 5\r\n\r\n",
    );
    next(&mut conn);
    assert!(!conn.client_waiting_for_continue());
}

// --- remote errors: one response, then close ---

/// RFC 9110 §9.3.2: a response to HEAD has no content, the error response to a HEAD
/// request whose head or body was refused too (it was framed as for a GET).
#[test]
fn sm_error_response_to_head_has_no_content() {
    for (input, why) in [
        (&b"HEAD / HTTP/1.1\r\n\r\n"[..], "missing Host header field"),
        (
            b"HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
            "invalid Content-Length",
        ),
        (
            b"HEAD / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "invalid chunk size",
        ),
    ] {
        let mut conn = conn_with(input);
        loop {
            match conn.next_event() {
                Ok(Event::Request(_)) => continue,
                Ok(other) => panic!("{input:?}: {other:?}"),
                Err(e) => {
                    assert_eq!(e.message(), why, "{input:?}");
                    break;
                }
            }
        }
        let (framing, head) = respond(
            &mut conn,
            400,
            &[("content-type", "text/plain")],
            BodyLength::Known(3),
        )
        .unwrap();
        assert_eq!(framing, Framing::None, "{input:?}");
        assert_eq!(
            head,
            "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: 3\r\nconnection: close\r\n\r\n"
        );
        assert!(conn.must_close());
    }
    // A GET's error response keeps its content.
    let mut conn = conn_with(b"GET / HTTP/1.1\r\n\r\n");
    conn.next_event().unwrap_err();
    let (framing, _) = respond(&mut conn, 400, &[], BodyLength::Known(3)).unwrap();
    assert_eq!(framing, Framing::Length(3));
}

#[test]
fn sm_remote_error_then_400_then_must_close() {
    let mut conn = conn_with(b"GET / HTTP/1.1\r\n\r\n");
    let e = conn.next_event().unwrap_err();
    assert!(matches!(e, Error::RemoteProtocol { .. }));
    assert!(e.is_remote());
    assert_eq!(e.status_hint(), Some(StatusCode::BAD_REQUEST));
    assert_eq!(e.message(), "missing Host header field");
    assert!(!conn.is_keep_alive());
    assert!(conn.must_close());
    // Sticky, whatever arrives.
    conn.receive(GET2).unwrap();
    assert_eq!(next(&mut conn), E(err(400, "missing Host header field")));
    conn.receive_eof();
    assert_eq!(next(&mut conn), E(err(400, "missing Host header field")));
    // One response may still go out; it closes.
    let (framing, head) = respond(
        &mut conn,
        400,
        &[("content-type", "text/plain")],
        BodyLength::Known(3),
    )
    .unwrap();
    assert_eq!(framing, Framing::Length(3));
    assert_eq!(
        head,
        "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: 3\r\nconnection: close\r\n\r\n"
    );
    assert_eq!(send(&mut conn, b"bad").unwrap(), "bad");
    finish(&mut conn).unwrap();
    assert!(conn.must_close());
    assert_local(
        respond(&mut conn, 400, &[], BodyLength::None),
        "the response was already sent",
    );
}

#[test]
fn sm_remote_error_mid_body_then_400_closes() {
    let mut conn = conn_with(&chunked(b"5\r\nhello\r\nzz\r\n"));
    assert_eq!(
        nexts(&mut conn, 3),
        [
            E(chunked_req()),
            E(data(b"hello")),
            E(err(400, "invalid chunk size"))
        ]
    );
    assert!(conn.response_due(), "the request still wants an answer");
    assert!(!conn.must_close(), "answer first");
    // An unknown length with no usable request: close-delimited, not chunked.
    let (framing, head) = respond(&mut conn, 400, &[], BodyLength::Unknown).unwrap();
    assert_eq!(framing, Framing::UntilClose);
    assert_eq!(
        head,
        "HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n"
    );
    finish(&mut conn).unwrap();
    assert!(conn.must_close());
    assert_eq!(next(&mut conn), E(err(400, "invalid chunk size")));
}

#[test]
fn sm_remote_error_status_hints() {
    for (input, code) in [
        (&b"GET / HTTP/2.0\r\n\r\n"[..], 505),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            501,
        ),
    ] {
        let mut conn = conn_with(input);
        let e = conn.next_event().unwrap_err();
        assert_eq!(e.status_hint(), Some(status(code)));
        let (_, head) = respond(&mut conn, code, &[], BodyLength::None).unwrap();
        assert!(head.starts_with(&format!("HTTP/1.1 {code} ")), "{head}");
        assert!(
            head.ends_with("content-length: 0\r\nconnection: close\r\n\r\n"),
            "{head}"
        );
        assert!(conn.must_close());
    }
}

#[test]
fn sm_remote_closed_variant() {
    let mut conn = conn_with(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab");
    assert_eq!(nexts(&mut conn, 2).len(), 2);
    conn.receive_eof();
    let e = conn.next_event().unwrap_err();
    assert!(matches!(e, Error::RemoteClosed { .. }), "{e:?}");
    assert_eq!(
        e.message(),
        "peer closed connection without sending complete message body (received 2 bytes, expected 4)"
    );
    assert!(e.is_remote());
    assert_eq!(conn.next_event().unwrap_err(), e, "sticky");
    assert_local(conn.receive(b"x"), "data received after end of input");
}

// --- 408 and other responses with no request ---

#[test]
fn sm_408_on_idle_connection_closes() {
    let mut conn = ServerConn::new();
    assert!(!conn.response_due());
    let (framing, head) = respond(&mut conn, 408, &[], BodyLength::None).unwrap();
    assert_eq!(framing, Framing::None);
    assert_eq!(
        head,
        "HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    assert!(!conn.is_keep_alive());
    assert!(conn.must_close());
    conn.receive(GET1).unwrap();
    assert_eq!(
        next(&mut conn),
        NeedData,
        "a request after a 408 is not read"
    );
    assert_eq!(conn.buffered(), 0);
    conn.receive_eof();
    assert_eq!(next(&mut conn), E(Ev::Closed));
}

#[test]
fn sm_408_with_partial_head_buffered() {
    let mut conn = conn_with(b"GET / HTTP/1.1\r\nHo");
    assert_eq!(next(&mut conn), NeedData);
    let (_, head) = respond(&mut conn, 408, &[], BodyLength::Known(7)).unwrap();
    assert_eq!(
        head,
        "HTTP/1.1 408 Request Timeout\r\ncontent-length: 7\r\nconnection: close\r\n\r\n"
    );
    send(&mut conn, b"timeout").unwrap();
    finish(&mut conn).unwrap();
    assert!(conn.must_close());
    conn.receive(b"st: a\r\n\r\n").unwrap();
    assert_eq!(next(&mut conn), NeedData);
}

#[test]
fn sm_408_after_a_finished_exchange() {
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    respond(&mut conn, 200, &[], BodyLength::None).unwrap();
    assert!(!conn.must_close());
    let (_, head) = respond(&mut conn, 408, &[], BodyLength::None).unwrap();
    assert_eq!(
        head,
        "HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    assert!(conn.must_close());
}

#[test]
fn sm_408_with_unknown_length_is_close_delimited() {
    let mut conn = ServerConn::new();
    let (framing, head) = respond(&mut conn, 408, &[], BodyLength::Unknown).unwrap();
    assert_eq!(framing, Framing::UntilClose);
    assert_eq!(
        head,
        "HTTP/1.1 408 Request Timeout\r\nconnection: close\r\n\r\n"
    );
}

// --- Upgrade and CONNECT ---

const UPGRADE: &[u8] =
    b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";

fn upgrade_req() -> Ev {
    req(
        "GET",
        "/chat",
        V11,
        &[
            ("host", "a"),
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
        ],
    )
}

#[test]
fn sm_upgrade_101_then_switched_with_trailing() {
    let mut conn = conn_with(&cat(&[UPGRADE, b"\x81\x02hi"]));
    assert_eq!(nexts(&mut conn, 3), [E(upgrade_req()), E(end()), Paused]);
    let out = inform(
        &mut conn,
        101,
        &[("upgrade", "websocket"), ("connection", "upgrade")],
    )
    .unwrap();
    assert_eq!(
        out,
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n"
    );
    assert_eq!(next(&mut conn), E(Ev::Switched(Vec::new())));
    assert_eq!(conn.take_trailing(), b"\x81\x02hi");
    assert_eq!(
        next(&mut conn),
        E(Ev::Switched(Vec::new())),
        "Switched is sticky"
    );
    assert!(!conn.response_due());
    assert_local(
        respond(&mut conn, 200, &[], BodyLength::None),
        "the connection switched protocols",
    );
}

#[test]
fn sm_upgrade_awaiting_answer_is_paused() {
    // The request is complete and offers an upgrade: until it is answered, the bytes that
    // follow may belong to another protocol, so reading stops.
    let mut conn = conn_with(UPGRADE);
    assert_eq!(nexts(&mut conn, 3), [E(upgrade_req()), E(end()), Paused]);
}

#[test]
fn sm_upgrade_awaiting_answer_stays_paused_at_eof() {
    let mut conn = conn_with(UPGRADE);
    conn.receive_eof();
    assert_eq!(
        nexts(&mut conn, 4),
        [E(upgrade_req()), E(end()), Paused, Paused]
    );
    // Declined: plain HTTP again, and the peer's EOF is seen.
    let (_, head) = respond(&mut conn, 426, &[("upgrade", "h2c")], BodyLength::None).unwrap();
    assert_eq!(
        head,
        "HTTP/1.1 426 Upgrade Required\r\nupgrade: h2c\r\ncontent-length: 0\r\nconnection: upgrade\r\n\r\n"
    );
    assert_eq!(next(&mut conn), E(Ev::Closed));
    assert!(conn.must_close());
}

#[test]
fn sm_upgrade_accepted_at_eof_switches_with_nothing_trailing() {
    let mut conn = conn_with(UPGRADE);
    conn.receive_eof();
    assert_eq!(nexts(&mut conn, 3), [E(upgrade_req()), E(end()), Paused]);
    inform(&mut conn, 101, &[("upgrade", "websocket")]).unwrap();
    assert_eq!(next(&mut conn), E(Ev::Switched(Vec::new())));
    assert_eq!(conn.take_trailing(), b"");
}

#[test]
fn sm_connect_awaiting_answer_is_paused() {
    let mut conn = conn_with(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n");
    assert_eq!(
        nexts(&mut conn, 3),
        [
            E(req("CONNECT", "a:443", V11, &[("host", "a:443")])),
            E(end()),
            Paused
        ]
    );
}

#[test]
fn sm_upgrade_declined_with_body_in_progress_needs_data() {
    let mut conn = conn_with(UPGRADE);
    nexts(&mut conn, 2);
    respond(&mut conn, 200, &[], BodyLength::Unknown).unwrap();
    assert_eq!(
        next(&mut conn),
        NeedData,
        "declined: no switch pending any more"
    );
}

#[test]
fn sm_upgrade_declined_continues_http() {
    let mut conn = conn_with(&cat(&[UPGRADE, GET2]));
    assert_eq!(nexts(&mut conn, 3), [E(upgrade_req()), E(end()), Paused]);
    let (_, head) = respond(&mut conn, 200, &[], BodyLength::Known(2)).unwrap();
    assert_eq!(head, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n");
    send(&mut conn, b"no").unwrap();
    finish(&mut conn).unwrap();
    assert_eq!(nexts(&mut conn, 3), [E(get("/2")), E(end()), NeedData]);
}

#[test]
fn sm_upgrade_101_before_body_complete_is_local_error() {
    let mut conn =
        conn_with(b"POST / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nContent-Length: 4\r\n\r\nab");
    assert_eq!(
        nexts(&mut conn, 2),
        [
            E(req(
                "POST",
                "/",
                V11,
                &[("host", "a"), ("upgrade", "h2c"), ("content-length", "4")]
            )),
            E(data(b"ab"))
        ]
    );
    assert_local(
        inform(&mut conn, 101, &[]),
        "cannot switch protocols before the request is complete",
    );
    // Sticky on the sending side; receiving goes on.
    assert_local(
        respond(&mut conn, 200, &[], BodyLength::None),
        "cannot switch protocols before the request is complete",
    );
    assert!(conn.must_close());
    conn.receive(b"cd").unwrap();
    assert_eq!(nexts(&mut conn, 2), [E(data(b"cd")), E(end())]);
}

#[test]
fn sm_101_without_upgrade_is_local_error_and_sticky() {
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    assert_local(
        inform(&mut conn, 101, &[]),
        "101 without an Upgrade request",
    );
    assert_local(
        inform(&mut conn, 100, &[]),
        "101 without an Upgrade request",
    );
    assert_local(
        respond(&mut conn, 200, &[], BodyLength::None),
        "101 without an Upgrade request",
    );
    assert_local(send(&mut conn, b"x"), "101 without an Upgrade request");
    assert_local(finish(&mut conn), "101 without an Upgrade request");
    assert!(conn.must_close());
    assert!(!conn.response_due());
}

/// 9110 §7.8: a server MUST NOT switch to a protocol the request did not offer; the name
/// is compared without regard to case, each protocol of the 101's Upgrade in turn.
#[test]
fn sm_101_switches_only_to_an_offered_protocol() {
    let offers: &[u8] =
        b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket, h2c\r\nUpgrade: foo/2\r\n\r\n";
    for (named, ok) in [
        ("websocket", true),
        ("WebSocket", true),
        ("foo/2", true),
        ("h2c, websocket", true),
        ("foo", false),
        ("h2", false),
        ("websocket, h2", false),
    ] {
        let mut conn = conn_with(offers);
        nexts(&mut conn, 2);
        let result = inform(&mut conn, 101, &[("upgrade", named)]);
        if ok {
            let head = result.unwrap_or_else(|e| panic!("{named}: {e}"));
            assert!(head.contains(named), "{head}");
        } else {
            assert_local(
                result,
                "101 names a protocol the request did not offer in its Upgrade",
            );
        }
    }
}

/// 9110 §7.8: a 101 names the protocol switched to in an Upgrade field. Without one it is
/// the caller's error, sticky like the others, and writes nothing (not even the 100 that
/// would go before it): on the wire, through the driver, then on `ServerConn` directly.
#[test]
fn sm_101_without_an_upgrade_field_is_local_error() {
    const NO_FIELD: &str = "101 without an Upgrade field";
    let table: [(&[u8], Vec<Ev>); 3] = [
        (UPGRADE, vec![upgrade_req(), end(), err(0, NO_FIELD)]),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\nhiPRI",
            vec![
                req(
                    "POST",
                    "/",
                    V11,
                    &[("host", "a"), ("upgrade", "h2c"), ("content-length", "2")],
                ),
                data(b"hi"),
                end(),
                err(0, NO_FIELD),
            ],
        ),
        (
            &cat(&[UPGRADE_EXPECT, b"hello"]),
            vec![
                upgrade_expect_req(),
                data(b"hello"),
                end(),
                err(0, NO_FIELD),
            ],
        ),
    ];
    for (input, want) in table {
        let (events, written) = exchange_with(input, None, false);
        assert_eq!(events, want, "input {:?}", String::from_utf8_lossy(input));
        assert_eq!(written, "", "input {:?}", String::from_utf8_lossy(input));
    }
    // Names that are not `Upgrade` do not count, nor does `upgrade` as a connection option.
    for fields in [
        &[][..],
        &[("connection", "upgrade")],
        &[("upgrade-insecure-requests", "1")],
        &[("x-upgrade", "websocket")],
    ] {
        let mut conn = conn_with(UPGRADE);
        assert_eq!(nexts(&mut conn, 3), [E(upgrade_req()), E(end()), Paused]);
        let mut out = b"before".to_vec();
        let e = conn.send_informational(
            StatusCode::SWITCHING_PROTOCOLS,
            &header_map(fields),
            &mut out,
        );
        assert_local(e, NO_FIELD);
        assert_eq!(out, b"before", "{fields:?}: nothing written");
        assert_local(
            inform(&mut conn, 101, &[("upgrade", "websocket")]),
            NO_FIELD,
        );
        assert_local(respond(&mut conn, 426, &[], BodyLength::None), NO_FIELD);
        assert!(conn.must_close());
        assert!(!conn.response_due());
    }
}

const UPGRADE_EXPECT: &[u8] = b"POST /up HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";

fn upgrade_expect_req() -> Ev {
    req(
        "POST",
        "/up",
        V11,
        &[
            ("host", "a"),
            ("upgrade", "h2c"),
            ("expect", "100-continue"),
            ("content-length", "5"),
        ],
    )
}

/// 9110 §7.8 (and §10.1.1, §15.2.2): to a request with both Upgrade and `Expect:
/// 100-continue`, a 100 goes before the 101; the core writes it when the caller has not,
/// also when the client sent its body without waiting. On the wire, through the driver
/// (whose 101 names the first protocol offered), then on `ServerConn` directly.
#[test]
fn sm_100_goes_before_101_when_both_were_asked_for() {
    const CONTINUE: &str = "HTTP/1.1 100 Continue\r\n\r\n";
    fn switching(protocol: &str) -> String {
        format!("HTTP/1.1 101 Switching Protocols\r\nupgrade: {protocol}\r\nconnection: upgrade\r\n\r\n")
    }
    let table: [(&[u8], Vec<Ev>, String); 5] = [
        // The body sent at once, without waiting for the 100.
        (
            &cat(&[UPGRADE_EXPECT, b"helloPRI * HTTP/2.0\r\n"]),
            vec![
                upgrade_expect_req(),
                data(b"hello"),
                end(),
                Ev::Switched(b"PRI * HTTP/2.0\r\n".to_vec()),
            ],
            format!("{CONTINUE}{}", switching("h2c")),
        ),
        (
            b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: foo, 100-CONTINUE\r\nUpgrade: websocket, h2c\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
            vec![
                req(
                    "PUT",
                    "/",
                    V11,
                    &[
                        ("host", "a"),
                        ("expect", "foo, 100-CONTINUE"),
                        ("upgrade", "websocket, h2c"),
                        ("transfer-encoding", "chunked"),
                    ],
                ),
                data(b"hi"),
                end(),
                Ev::Switched(Vec::new()),
            ],
            format!("{CONTINUE}{}", switching("websocket")),
        ),
        // Asked for without a body (which a client must not do): asked for all the same.
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nUpgrade: websocket\r\n\r\n",
            vec![
                req(
                    "GET",
                    "/",
                    V11,
                    &[
                        ("host", "a"),
                        ("expect", "100-continue"),
                        ("upgrade", "websocket"),
                    ],
                ),
                end(),
                Ev::Switched(Vec::new()),
            ],
            format!("{CONTINUE}{}", switching("websocket")),
        ),
        // Not asked for: the 101 alone.
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\nhi",
            vec![
                req(
                    "POST",
                    "/",
                    V11,
                    &[("host", "a"), ("upgrade", "h2c"), ("content-length", "2")],
                ),
                data(b"hi"),
                end(),
                Ev::Switched(Vec::new()),
            ],
            switching("h2c"),
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nExpect: 100-continuex\r\nContent-Length: 2\r\n\r\nhi",
            vec![
                req(
                    "POST",
                    "/",
                    V11,
                    &[
                        ("host", "a"),
                        ("upgrade", "h2c"),
                        ("expect", "100-continuex"),
                        ("content-length", "2"),
                    ],
                ),
                data(b"hi"),
                end(),
                Ev::Switched(Vec::new()),
            ],
            switching("h2c"),
        ),
    ];
    for (input, want, responses) in table {
        let (events, written) = exchange(input, None);
        assert_eq!(events, want, "input {:?}", String::from_utf8_lossy(input));
        assert_eq!(
            written,
            responses,
            "input {:?}",
            String::from_utf8_lossy(input)
        );
    }
    // A 100 the caller sent is not repeated.
    let mut conn = conn_with(UPGRADE_EXPECT);
    assert_eq!(nexts(&mut conn, 2), [E(upgrade_expect_req()), NeedData]);
    assert_eq!(inform(&mut conn, 100, &[]).unwrap(), CONTINUE);
    conn.receive(b"hello").unwrap();
    assert_eq!(nexts(&mut conn, 2), [E(data(b"hello")), E(end())]);
    assert_eq!(
        inform(&mut conn, 101, &[("upgrade", "h2c")]).unwrap(),
        switching("h2c")
    );
    // Another 1xx is not a 100.
    let mut conn = conn_with(&cat(&[UPGRADE_EXPECT, b"hello"]));
    assert_eq!(nexts(&mut conn, 1), [E(upgrade_expect_req())]);
    assert_eq!(
        inform(&mut conn, 103, &[("link", "</s.css>")]).unwrap(),
        "HTTP/1.1 103 Early Hints\r\nlink: </s.css>\r\n\r\n"
    );
    assert_eq!(nexts(&mut conn, 2), [E(data(b"hello")), E(end())]);
    assert_eq!(
        inform(&mut conn, 101, &[("upgrade", "h2c")]).unwrap(),
        format!("{CONTINUE}{}", switching("h2c"))
    );
    assert_eq!(next(&mut conn), E(Ev::Switched(Vec::new())));
}

#[test]
fn sm_1xx_to_http10_is_local_error() {
    let mut conn =
        conn_with(b"GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n");
    nexts(&mut conn, 2);
    assert_local(
        inform(&mut conn, 101, &[]),
        "1xx responses cannot be sent to an HTTP/1.0 client",
    );
    assert_local(
        respond(&mut conn, 200, &[], BodyLength::None),
        "1xx responses cannot be sent to an HTTP/1.0 client",
    );
}

#[test]
fn sm_informational_misuse() {
    let mut conn = ServerConn::new();
    assert_local(inform(&mut conn, 100, &[]), "no request to answer");
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    assert_local(
        inform(&mut conn, 200, &[]),
        "send_informational needs a 1xx status",
    );
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    assert_local(
        inform(&mut conn, 100, &[("content-length", "0")]),
        "framing fields (Content-Length, Transfer-Encoding) do not fit this message",
    );
}

#[test]
fn sm_connect_200_then_switched() {
    let mut conn = conn_with(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n\x16\x03\x01");
    assert_eq!(
        nexts(&mut conn, 3),
        [
            E(req("CONNECT", "a:443", V11, &[("host", "a:443")])),
            E(end()),
            Paused
        ]
    );
    let (framing, head) = respond(&mut conn, 200, &[], BodyLength::None).unwrap();
    assert_eq!(framing, Framing::None);
    assert_eq!(head, "HTTP/1.1 200 OK\r\n\r\n");
    assert_eq!(next(&mut conn), E(Ev::Switched(Vec::new())));
    assert_eq!(conn.take_trailing(), b"\x16\x03\x01");
    assert!(!conn.must_close());
}

#[test]
fn sm_connect_refused_continues_http() {
    let mut conn = conn_with(&cat(&[
        b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
        GET2,
    ]));
    nexts(&mut conn, 2);
    let (framing, head) = respond(&mut conn, 407, &[], BodyLength::None).unwrap();
    assert_eq!(framing, Framing::None);
    assert_eq!(
        head,
        "HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n"
    );
    assert_eq!(nexts(&mut conn, 2), [E(get("/2")), E(end())]);
}

/// Drives a CONNECT fed in `parts`: events until it waits for its answer, a refusal (407)
/// then, and the events after it up to the end of input.
fn refuse_connect(parts: &[&[u8]]) -> (Vec<Got>, String, Vec<Got>) {
    let mut conn = ServerConn::new();
    let (mut before, mut head, mut after) = (Vec::new(), None, Vec::new());
    let mut parts = parts.iter();
    let mut eof = false;
    for _ in 0..10_000 {
        match next(&mut conn) {
            NeedData => match parts.next() {
                Some(part) => conn.receive(part).unwrap(),
                None if !eof => {
                    conn.receive_eof();
                    eof = true;
                }
                None => panic!("data wanted after the end of input"),
            },
            Paused if head.is_none() => {
                let (_, sent) = respond(&mut conn, 407, &[], BodyLength::None).unwrap();
                head = Some(sent);
                assert!(!conn.is_keep_alive());
            }
            got => {
                let done = matches!(got, E(Ev::Closed) | E(Ev::Error(..)));
                if head.is_none() {
                    &mut before
                } else {
                    &mut after
                }
                .push(got);
                if done {
                    assert!(conn.must_close());
                    return (before, head.expect("answered"), after);
                }
            }
        }
    }
    panic!("no end: {before:?} {head:?} {after:?}");
}

/// 9110 §9.3.6: a refused CONNECT whose framing fields were ignored ends the connection,
/// so the bytes a front end may have counted as its content are never read as a request
/// here. Fed whole, byte by byte, and split at every point.
#[test]
fn sm_refused_connect_with_framing_fields_closes() {
    for connect in [
        &b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 35\r\n\r\n"[..],
        b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nTransfer-Encoding: chunked\r\n\r\n",
    ] {
        let input = cat(&[connect, SMUGGLED]);
        let mut ways: Vec<Vec<&[u8]>> = vec![vec![&input[..]], input.chunks(1).collect()];
        ways.extend((1..input.len()).map(|at| vec![&input[..at], &input[at..]]));
        for parts in ways {
            let (before, head, after) = refuse_connect(&parts);
            assert!(
                matches!(&before[..], [E(Ev::Request { method, .. }), E(Ev::End(_))] if method == "CONNECT"),
                "{before:?}"
            );
            assert_eq!(
                head,
                "HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            assert_eq!(
                after,
                [E(Ev::Closed)],
                "split {:?}",
                parts.iter().map(|p| p.len()).collect::<Vec<_>>()
            );
        }
    }
    // Accepted, the same CONNECT becomes a tunnel without `connection: close`.
    let mut conn = conn_with(&cat(&[
        b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 35\r\n\r\n",
        SMUGGLED,
    ]));
    nexts(&mut conn, 3);
    let (_, head) = respond(&mut conn, 200, &[], BodyLength::None).unwrap();
    assert_eq!(head, "HTTP/1.1 200 OK\r\n\r\n");
    assert_eq!(next(&mut conn), E(Ev::Switched(Vec::new())));
    assert_eq!(conn.take_trailing(), SMUGGLED);
}

#[test]
fn sm_connect_2xx_refuses_framing_fields() {
    let mut conn = conn_with(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n");
    nexts(&mut conn, 2);
    assert_local(
        respond(&mut conn, 200, &[("content-length", "0")], BodyLength::None),
        "framing fields (Content-Length, Transfer-Encoding) do not fit this message",
    );
}

// --- local errors and their stickiness ---

#[test]
fn sm_data_past_content_length() {
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    respond(&mut conn, 200, &[], BodyLength::Known(3)).unwrap();
    assert_eq!(send(&mut conn, b"ab").unwrap(), "ab");
    let msg = "body data exceeds the Content-Length (2 bytes given, 1 left)";
    assert_local(send(&mut conn, b"cd"), msg);
    assert_local(send(&mut conn, b"c"), msg);
    assert_local(finish(&mut conn), msg);
    assert_local(respond(&mut conn, 500, &[], BodyLength::None), msg);
    assert!(conn.must_close());
    assert!(!conn.response_due());
}

#[test]
fn sm_ending_short_of_content_length() {
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    respond(&mut conn, 200, &[], BodyLength::Known(5)).unwrap();
    send(&mut conn, b"abc").unwrap();
    let msg = "body ended 2 bytes short of the Content-Length";
    assert_local(finish(&mut conn), msg);
    assert_local(send(&mut conn, b"de"), msg);
    assert!(conn.must_close());
}

#[test]
fn sm_trailers_need_chunked_and_forbid_framing_fields() {
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    respond(&mut conn, 200, &[], BodyLength::Known(0)).unwrap();
    // Known(0) is complete at once: nothing to end.
    assert_local(finish(&mut conn), "no response body is being sent");

    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    respond(&mut conn, 200, &[], BodyLength::Known(1)).unwrap();
    send(&mut conn, b"x").unwrap();
    assert_local(
        conn.send_end(Some(&header_map(&[("x", "1")])), &mut Vec::new()),
        "trailers need a chunked body",
    );

    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    respond(&mut conn, 200, &[], BodyLength::Known(1)).unwrap();
    assert_local(
        conn.send_chunk(b"x", &[("a", None)], &mut Vec::new()),
        "chunk extensions need a chunked body",
    );

    for name in ["content-length", "transfer-encoding", "host"] {
        let mut conn = conn_with(GET1);
        nexts(&mut conn, 2);
        respond(&mut conn, 200, &[], BodyLength::Unknown).unwrap();
        assert_local(
            conn.send_end(Some(&header_map(&[(name, "1")])), &mut Vec::new()),
            &format!("{name} is not allowed in trailers"),
        );
    }

    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    respond(&mut conn, 200, &[], BodyLength::Unknown).unwrap();
    assert_local(
        conn.send_chunk(b"x", &[("a b", None)], &mut Vec::new()),
        "chunk extension name is not a token",
    );
}

#[test]
fn sm_second_response_while_body_in_progress() {
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    respond(&mut conn, 200, &[], BodyLength::Unknown).unwrap();
    // Misuse is sticky, as every local error: the response cannot be finished now, and
    // the connection must close.
    assert_local(
        respond(&mut conn, 200, &[], BodyLength::None),
        "a response is already being sent",
    );
    assert_local(
        inform(&mut conn, 100, &[]),
        "a response is already being sent",
    );
    assert_local(send(&mut conn, b"ok"), "a response is already being sent");
    assert!(conn.must_close());
}

#[test]
fn sm_second_response_while_request_body_arrives() {
    let mut conn = conn_with(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n");
    next(&mut conn);
    respond(&mut conn, 200, &[], BodyLength::None).unwrap();
    assert_local(
        respond(&mut conn, 200, &[], BodyLength::None),
        "the response was already sent",
    );
    assert_local(send(&mut conn, b"x"), "the response was already sent");
}

#[test]
fn sm_send_data_with_no_response() {
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    assert_local(send(&mut conn, b"x"), "no response body is being sent");
    // Sticky: not even the response can go out now.
    assert_local(
        respond(&mut conn, 200, &[], BodyLength::None),
        "no response body is being sent",
    );
    assert!(conn.must_close());
}

#[test]
fn sm_send_end_with_no_response() {
    let mut conn = ServerConn::new();
    assert_local(finish(&mut conn), "no response body is being sent");
    assert_local(finish(&mut conn), "no response body is being sent");
    assert!(conn.must_close());
}

#[test]
fn sm_send_failed_forces_close() {
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    respond(&mut conn, 200, &[], BodyLength::Known(4)).unwrap();
    conn.send_failed();
    assert!(!conn.is_keep_alive());
    assert!(conn.must_close());
    assert_local(send(&mut conn, b"data"), "sending failed");
}

#[test]
fn sm_local_error_leaves_receiving_alone() {
    let mut conn = conn_with(&cat(&[
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n",
        b"hi",
    ]));
    next(&mut conn);
    assert_local(send(&mut conn, b"x"), "no response body is being sent");
    assert_eq!(nexts(&mut conn, 3), [E(data(b"hi")), E(end()), NeedData]);
}

#[test]
fn sm_response_after_finished_exchange_is_spontaneous_and_closes() {
    // With the exchange over, the connection is idle again: a further response has no
    // request to answer (like a 408) and closes the connection, pipelined bytes unread.
    let mut conn = conn_with(&cat(&[GET1, GET2]));
    nexts(&mut conn, 2);
    respond(&mut conn, 200, &[], BodyLength::None).unwrap();
    let (_, head) = respond(&mut conn, 200, &[], BodyLength::None).unwrap();
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    assert!(conn.must_close());
    assert_eq!(next(&mut conn), NeedData);
    assert_eq!(conn.buffered(), 0);
}

// --- close (EOF) in each state ---

#[test]
fn sm_eof_idle_is_closed() {
    let mut conn = ServerConn::new();
    assert_eq!(next(&mut conn), NeedData);
    conn.receive_eof();
    assert_eq!(next(&mut conn), E(Ev::Closed));
    assert!(conn.must_close());
    assert!(!conn.response_due());
}

#[test]
fn sm_eof_idle_after_keep_alive_exchange_is_closed() {
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    respond(&mut conn, 200, &[], BodyLength::None).unwrap();
    conn.receive_eof();
    assert_eq!(next(&mut conn), E(Ev::Closed));
    assert!(conn.must_close());
}

#[test]
fn sm_eof_mid_head() {
    let mut conn = conn_with(b"GET / HTTP/1.1\r\nHost");
    assert_eq!(next(&mut conn), NeedData);
    conn.receive_eof();
    let e = conn.next_event().unwrap_err();
    assert!(matches!(e, Error::RemoteClosed { .. }), "{e:?}");
    assert_eq!(
        e.message(),
        "peer closed connection in the middle of a request head"
    );
    assert!(conn.must_close());
}

#[test]
fn sm_eof_mid_chunked_body_names_bytes() {
    let mut conn = conn_with(&chunked(b"4\r\nabcd\r\n8\r\nefg"));
    assert_eq!(
        nexts(&mut conn, 4),
        [
            E(chunked_req()),
            E(data(b"abcd")),
            E(data(b"efg")),
            NeedData
        ]
    );
    conn.receive_eof();
    assert_eq!(
        next(&mut conn),
        E(err(400, "peer closed connection without sending complete message body: incomplete chunked body (7 bytes of data received, in chunk data, 5 bytes of the current chunk missing)"))
    );
    assert!(conn.response_due());
}

#[test]
fn sm_eof_after_complete_request_is_closed_then_response_closes() {
    let mut conn = conn_with(GET1);
    conn.receive_eof();
    assert_eq!(nexts(&mut conn, 3), [E(get("/1")), E(end()), E(Ev::Closed)]);
    assert!(!conn.is_keep_alive());
    assert!(conn.response_due());
    let (_, head) = respond(&mut conn, 200, &[], BodyLength::Unknown).unwrap();
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    finish(&mut conn).unwrap();
    assert!(conn.must_close());
    assert_eq!(next(&mut conn), E(Ev::Closed));
}

#[test]
fn sm_eof_while_response_in_progress() {
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    respond(&mut conn, 200, &[], BodyLength::Known(2)).unwrap();
    conn.receive_eof();
    assert_eq!(next(&mut conn), E(Ev::Closed));
    send(&mut conn, b"ok").unwrap();
    finish(&mut conn).unwrap();
    assert!(conn.must_close());
}

#[test]
fn sm_receive_space_and_commit() {
    let mut conn = ServerConn::new();
    let space = conn.receive_space(64);
    assert!(space.len() >= 64);
    space[..GET1.len()].copy_from_slice(GET1);
    conn.receive_commit(GET1.len());
    assert_eq!(conn.buffered(), GET1.len());
    assert_eq!(nexts(&mut conn, 3), [E(get("/1")), E(end()), NeedData]);
    // Space handed out and not committed is not data.
    let _ = conn.receive_space(16);
    assert_eq!(next(&mut conn), NeedData);
    assert_eq!(conn.buffered(), 0);
}

#[test]
fn sm_connect_2xx_with_a_body_is_local_error() {
    for body in [BodyLength::Known(5), BodyLength::Unknown] {
        let mut conn = conn_with(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n");
        nexts(&mut conn, 2);
        assert_local(
            respond(&mut conn, 200, &[], body),
            "a 2xx response to CONNECT has no body",
        );
    }
    // A refusal may have a body.
    let mut conn = conn_with(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n");
    nexts(&mut conn, 2);
    let (framing, _) = respond(&mut conn, 403, &[], BodyLength::Known(5)).unwrap();
    assert_eq!(framing, Framing::Length(5));
}

#[test]
fn sm_refused_response_head_writes_nothing() {
    let mut conn = conn_with(GET1);
    nexts(&mut conn, 2);
    let mut out = b"earlier".to_vec();
    let headers = header_map(&[("content-length", "4")]);
    let result = conn.send_response(
        StatusCode::OK,
        None,
        &headers,
        BodyLength::Known(5),
        &mut out,
    );
    assert_local(
        result,
        "Content-Length given does not match the body length 5",
    );
    assert_eq!(
        out, b"earlier",
        "a refused head must leave the output as it was"
    );

    let mut conn = conn_with(
        b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
    );
    next(&mut conn);
    let mut out = Vec::new();
    let headers = header_map(&[("transfer-encoding", "chunked")]);
    let result = conn.send_informational(StatusCode::CONTINUE, &headers, &mut out);
    assert_local(
        result,
        "framing fields (Content-Length, Transfer-Encoding) do not fit this message",
    );
    assert!(out.is_empty(), "{:?}", String::from_utf8_lossy(&out));
}

#[test]
fn header_map_keeps_every_admitted_field() {
    // Whatever the parser admits (obs-text, inner tabs and spaces, empty values, repeated
    // names) must convert: `to_header_map` would otherwise drop a field unseen.
    let mut conn = conn_with(
        b"GET / HTTP/1.1\r\nHost: a\r\nX-Obs: caf\xe9 \xff\r\nX-Tab: a\tb  c\r\nX-Empty:\r\n\
          x-rep: 1\r\nX-Rep: 2\r\n\r\n",
    );
    let Ok(Event::Request(head)) = conn.next_event() else {
        panic!("request expected")
    };
    let map = head.headers().to_header_map();
    assert_eq!(map.len(), head.headers().len());
    assert_eq!(map["x-obs"].as_bytes(), b"caf\xe9 \xff");
    assert_eq!(map["x-tab"].as_bytes(), b"a\tb  c");
    assert_eq!(map["x-empty"].as_bytes(), b"");
    let reps: Vec<&[u8]> = map.get_all("x-rep").iter().map(|v| v.as_bytes()).collect();
    assert_eq!(reps, [&b"1"[..], b"2"]);
}

// ---------------------------------------------------------------------------------------
// 5. HTTP/1.0 keep-alive and the Date field, on the wire: the events and the responses the
//    driver wrote (an empty 200 for each request, 101 to an upgrade), however the input is
//    split.

/// The date the connections of this section are given: RFC 9110's example.
const DATE_SECS: u64 = 784_111_777;
const DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

/// The events and the responses written for `input`, fed whole, one byte at a time and
/// split at every point (all must agree) to a connection given `date`.
fn exchange(input: &[u8], date: Option<HttpDate>) -> (Vec<Ev>, String) {
    exchange_with(input, date, true)
}

/// [`exchange`], the driver's 101s with their `Upgrade` field or (false) without.
fn exchange_with(
    input: &[u8],
    date: Option<HttpDate>,
    upgrade_field_in_101: bool,
) -> (Vec<Ev>, String) {
    let run = |cuts: &[usize]| {
        let mut conn = ServerConn::new();
        conn.set_date(date);
        let mut d = ServerDriver::new(conn);
        d.upgrade_field_in_101 = upgrade_field_in_101;
        let mut prev = 0;
        for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
            d.feed(&input[prev..cut]);
            prev = cut;
        }
        let (events, written) = d.finish_with_output();
        (events, String::from_utf8(written).unwrap())
    };
    let whole = run(&[]);
    let bytewise: Vec<usize> = (1..input.len()).collect();
    assert_eq!(whole, run(&bytewise), "byte-at-a-time differs");
    for k in 1..input.len() {
        assert_eq!(whole, run(&[k]), "split at {k} differs");
    }
    whole
}

/// The driver's empty 200, with these fields of ours between the framing and the date.
fn ok_with(ours: &str) -> String {
    format!("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n{ours}date: {DATE}\r\n\r\n")
}

/// An HTTP/1.1 response on a persistent connection: no connection field.
fn ok() -> String {
    ok_with("")
}

/// To an HTTP/1.0 client whose connection persists.
fn ok_keep_alive() -> String {
    ok_with("connection: keep-alive\r\n")
}

fn ok_close() -> String {
    ok_with("connection: close\r\n")
}

/// `name: input => [events], [responses];` — with the date set, the input's exact events
/// and the exact bytes written, however it is split.
macro_rules! exchange {
    ($($(#[$m:meta])* $name:ident: $input:expr => [$($ev:expr),* $(,)?], [$($resp:expr),* $(,)?];)+) => {
        $(
            $(#[$m])*
            #[test]
            fn $name() {
                let input = $input;
                let input: &[u8] = input.as_ref();
                let want: Vec<Ev> = vec![$($ev),*];
                let responses: Vec<String> = vec![$($resp),*];
                let (events, written) = exchange(input, Some(HttpDate::from_unix_secs(DATE_SECS)));
                assert_eq!(events, want, "input {:?}", String::from_utf8_lossy(input));
                assert_eq!(written, responses.concat(), "input {:?}", String::from_utf8_lossy(input));
            }
        )+
    };
}

fn get10(target: &str, headers: &[(&str, &str)]) -> Ev {
    req("GET", target, V10, headers)
}

const KA: &[(&str, &str)] = &[("connection", "keep-alive")];

exchange! {
    ka_http10_persists_then_closes_without_it:
        b"GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\nGET /3 HTTP/1.0\r\n\r\n"
        => [get10("/1", KA), end(), get10("/2", &[]), end(), after_close()],
           [ok_keep_alive(), ok_close()];
    ka_http10_pipelined_three:
        b"GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        => [get10("/1", KA), end(), get10("/2", KA), end(), get10("/3", KA), end(), Ev::Closed],
           [ok_keep_alive(), ok_keep_alive(), ok_keep_alive()];
    ka_http10_any_case_in_a_list:
        b"GET /1 HTTP/1.0\r\nConnection: foo, Keep-Alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n"
        => [get10("/1", &[("connection", "foo, Keep-Alive")]), end(), get10("/2", &[]), end(), Ev::Closed],
           [ok_keep_alive(), ok_close()];
    ka_http10_in_a_second_field:
        b"GET /1 HTTP/1.0\r\nConnection: foo\r\nConnection: KEEP-ALIVE\r\n\r\nGET /2 HTTP/1.0\r\n\r\n"
        => [get10("/1", &[("connection", "foo"), ("connection", "KEEP-ALIVE")]), end(), get10("/2", &[]), end(), Ev::Closed],
           [ok_keep_alive(), ok_close()];
    ka_http10_with_host_and_a_body:
        b"POST /1 HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhiGET /2 HTTP/1.0\r\n\r\n"
        => [req("POST", "/1", V10, &[("host", "a"), ("connection", "keep-alive"), ("content-length", "2")]), data(b"hi"), end(),
            get10("/2", &[]), end(), Ev::Closed],
           [ok_keep_alive(), ok_close()];
    ka_http10_close_in_the_same_list_wins:
        b"GET /1 HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\nGET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        => [get10("/1", &[("connection", "keep-alive, close")]), end(), after_close()],
           [ok_close()];
    ka_http10_close_in_another_field_wins:
        b"GET /1 HTTP/1.0\r\nConnection: close\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n"
        => [get10("/1", &[("connection", "close"), ("connection", "keep-alive")]), end(), after_close()],
           [ok_close()];
    ka_http10_lookalike_tokens_close:
        b"GET /1 HTTP/1.0\r\nConnection: keep-alives, keepalive, \"keep-alive\"\r\n\r\nGET /2 HTTP/1.0\r\n\r\n"
        => [get10("/1", &[("connection", "keep-alives, keepalive, \"keep-alive\"")]), end(), after_close()],
           [ok_close()];
    ka_http10_keep_alive_field_alone_closes:
        b"GET /1 HTTP/1.0\r\nKeep-Alive: timeout=5\r\n\r\nGET /2 HTTP/1.0\r\n\r\n"
        => [get10("/1", &[("keep-alive", "timeout=5")]), end(), after_close()],
           [ok_close()];
    ka_http10_keep_alive_elsewhere_closes:
        b"GET /1 HTTP/1.0\r\nX-Connection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n"
        => [get10("/1", &[("x-connection", "keep-alive")]), end(), after_close()],
           [ok_close()];
    ka_http10_head:
        b"HEAD /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n"
        => [req("HEAD", "/1", V10, KA), end(), get10("/2", &[]), end(), Ev::Closed],
           [ok_keep_alive(), ok_close()];
    ka_http10_eof_after_the_request_closes:
        b"GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        => [get10("/1", KA), end(), Ev::Closed],
           [ok_keep_alive()];
    ka_http11_says_nothing_more:
        b"GET /1 HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("GET", "/1", V11, &[("host", "a"), ("connection", "keep-alive")]), end(), get("/2"), end(), Ev::Closed],
           [ok(), ok()];
    ka_versions_mixed:
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /4 HTTP/1.1\r\nHost: a\r\n\r\n"
        => [get("/1"), end(), get10("/2", KA), end(), req("GET", "/3", V11, &[("host", "a"), ("connection", "close")]), end(), after_close()],
           [ok(), ok_keep_alive(), ok_close()];
    date_on_a_head_response:
        b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("HEAD", "/", V11, &[("host", "a")]), end(), Ev::Closed],
           [ok()];
    date_on_a_2xx_to_connect:
        b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\ntunnel"
        => [req("CONNECT", "a:443", V11, &[("host", "a:443")]), end(), Ev::Switched(b"tunnel".to_vec())],
           [format!("HTTP/1.1 200 OK\r\ndate: {DATE}\r\n\r\n")];
    date_not_on_a_101:
        b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"
        => [req("GET", "/ws", V11, &[("host", "a"), ("connection", "upgrade"), ("upgrade", "websocket")]), end(), Ev::Switched(Vec::new())],
           ["HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n".to_owned()];
    date_on_each_pipelined_response:
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n"
        => [get("/1"), end(), get("/2"), end(), get("/3"), end(), Ev::Closed],
           [ok(), ok(), ok()];
}

#[test]
fn date_none_by_default() {
    let input =
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    let (events, written) = exchange(input, None);
    assert_eq!(
        events,
        [get("/1"), end(), get10("/2", KA), end(), Ev::Closed]
    );
    assert_eq!(
        written,
        "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n\
         HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n"
    );
    assert_eq!(ServerConn::new().date(), None);
}

// --- the same on ServerConn directly: every kind of response to an HTTP/1.0 keep-alive
// --- request, and the Date field.

const GET10_KA: &[u8] = b"GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
const GET10_2: &[u8] = b"GET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";

/// A connection that has received an HTTP/1.0 keep-alive request (and `then`).
fn ka_conn(then: &[u8]) -> ServerConn {
    let mut conn = conn_with(&cat(&[GET10_KA, then]));
    assert_eq!(nexts(&mut conn, 2), [E(get10("/1", KA)), E(end())]);
    assert!(conn.is_keep_alive());
    conn
}

/// After the response to the first request: the second is served.
fn second_is_served(conn: &mut ServerConn) {
    assert!(!conn.must_close());
    assert_eq!(nexts(conn, 2), [E(get10("/2", KA)), E(end())]);
    assert!(conn.is_keep_alive());
}

#[test]
fn sm_http10_keep_alive_known_length_persists() {
    let mut conn = ka_conn(GET10_2);
    let (framing, head) = respond(&mut conn, 200, &[("x", "1")], BodyLength::Known(2)).unwrap();
    assert_eq!(framing, Framing::Length(2));
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\nx: 1\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\n"
    );
    assert_eq!(next(&mut conn), Paused, "the body is still to come");
    assert_eq!(send(&mut conn, b"hi").unwrap(), "hi");
    finish(&mut conn).unwrap();
    second_is_served(&mut conn);
}

#[test]
fn sm_http10_keep_alive_empty_bodies_persist() {
    for (code, body, want) in [
        (
            200,
            BodyLength::None,
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n",
        ),
        (
            404,
            BodyLength::Known(0),
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n",
        ),
        (
            204,
            BodyLength::None,
            "HTTP/1.1 204 No Content\r\nconnection: keep-alive\r\n\r\n",
        ),
        (
            304,
            BodyLength::None,
            "HTTP/1.1 304 Not Modified\r\nconnection: keep-alive\r\n\r\n",
        ),
    ] {
        let mut conn = ka_conn(GET10_2);
        let (framing, head) = respond(&mut conn, code, &[], body).unwrap();
        assert_eq!(framing, Framing::None, "{code}");
        assert_eq!(head, want);
        second_is_served(&mut conn);
    }
}

#[test]
fn sm_http10_keep_alive_unknown_length_closes() {
    let mut conn = ka_conn(GET10_2);
    let (framing, head) = respond(&mut conn, 200, &[], BodyLength::Unknown).unwrap();
    assert_eq!(framing, Framing::UntilClose);
    assert_eq!(head, "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");
    assert!(!conn.is_keep_alive());
    assert_eq!(send(&mut conn, b"all of it").unwrap(), "all of it");
    finish(&mut conn).unwrap();
    assert!(conn.must_close());
    assert_eq!(next(&mut conn), NeedData);
    assert_eq!(conn.buffered(), 0, "the pipelined request was discarded");
}

#[test]
fn sm_http10_keep_alive_head_of_unknown_length_persists() {
    // A HEAD response has no body: delimited by its head, whatever the GET would send.
    let mut conn = conn_with(b"HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    conn.receive(GET10_2).unwrap();
    nexts(&mut conn, 2);
    let (framing, head) = respond(&mut conn, 200, &[], BodyLength::Unknown).unwrap();
    assert_eq!(framing, Framing::None);
    assert_eq!(head, "HTTP/1.1 200 OK\r\nconnection: keep-alive\r\n\r\n");
    second_is_served(&mut conn);
}

#[test]
fn sm_http10_keep_alive_ended_by_us() {
    // Our `Connection: close`.
    let mut conn = ka_conn(GET10_2);
    let (_, head) = respond(&mut conn, 200, &[("connection", "close")], BodyLength::None).unwrap();
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
    );
    assert!(conn.must_close());
    // close_after_response.
    let mut conn = ka_conn(GET10_2);
    conn.close_after_response();
    let (_, head) = respond(&mut conn, 200, &[], BodyLength::None).unwrap();
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    assert!(conn.must_close());
}

#[test]
fn sm_http10_keep_alive_not_doubled() {
    let mut conn = ka_conn(GET10_2);
    let (_, head) = respond(
        &mut conn,
        200,
        &[("connection", "Keep-Alive"), ("keep-alive", "timeout=5")],
        BodyLength::None,
    )
    .unwrap();
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\nconnection: Keep-Alive\r\nkeep-alive: timeout=5\r\ncontent-length: 0\r\n\r\n"
    );
    second_is_served(&mut conn);
}

#[test]
fn sm_http10_keep_alive_after_a_refused_response_head() {
    // A head the core refuses fails the sending side: the connection closes.
    let mut conn = ka_conn(GET10_2);
    let result = respond(
        &mut conn,
        200,
        &[("content-length", "3")],
        BodyLength::Known(2),
    );
    assert_local(
        result,
        "Content-Length given does not match the body length 2",
    );
    assert!(conn.must_close());
}

#[test]
fn sm_http10_keep_alive_half_close_after_the_request() {
    let mut conn = ka_conn(b"");
    conn.receive_eof();
    assert_eq!(next(&mut conn), E(Ev::Closed));
    assert!(!conn.is_keep_alive());
    let (_, head) = respond(&mut conn, 200, &[], BodyLength::None).unwrap();
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    assert!(conn.must_close());
}

#[test]
fn sm_date_added_last_unless_the_caller_gave_one() {
    let mut conn = conn_with(&cat(&[GET1, GET2, GET10_KA]));
    conn.set_date(Some(HttpDate::from_unix_secs(DATE_SECS)));
    assert_eq!(conn.date(), Some(HttpDate::from_unix_secs(DATE_SECS)));
    nexts(&mut conn, 2);
    let (_, head) = respond(&mut conn, 200, &[("x", "1")], BodyLength::Known(1)).unwrap();
    assert_eq!(
        head,
        format!("HTTP/1.1 200 OK\r\nx: 1\r\ncontent-length: 1\r\ndate: {DATE}\r\n\r\n")
    );
    send(&mut conn, b"z").unwrap();
    assert_eq!(finish(&mut conn).unwrap(), "", "no date in the body's end");
    // The caller's own Date is kept, once, where the caller put it.
    nexts(&mut conn, 2);
    let theirs = [("date", "Thu, 01 Jan 1970 00:00:00 GMT"), ("x", "2")];
    let (_, head) = respond(&mut conn, 200, &theirs, BodyLength::None).unwrap();
    assert_eq!(
        head,
        "HTTP/1.1 200 OK\r\ndate: Thu, 01 Jan 1970 00:00:00 GMT\r\nx: 2\r\ncontent-length: 0\r\n\r\n"
    );
    // After the connection option, for HTTP/1.0.
    assert_eq!(nexts(&mut conn, 2), [E(get10("/1", KA)), E(end())]);
    let (_, head) = respond(&mut conn, 200, &[], BodyLength::None).unwrap();
    assert_eq!(
        head,
        format!(
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: keep-alive\r\ndate: {DATE}\r\n\r\n"
        )
    );
}

#[test]
fn sm_date_changes_when_set_again() {
    let mut conn = conn_with(&cat(&[GET1, GET2, GET1]));
    let mut heads = Vec::new();
    for date in [
        Some(HttpDate::from_unix_secs(0)),
        Some(HttpDate::from_unix_secs(2_147_483_648)),
        None,
    ] {
        conn.set_date(date);
        nexts(&mut conn, 2);
        heads.push(respond(&mut conn, 204, &[], BodyLength::None).unwrap().1);
    }
    assert_eq!(
        heads,
        [
            "HTTP/1.1 204 No Content\r\ndate: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n",
            "HTTP/1.1 204 No Content\r\ndate: Tue, 19 Jan 2038 03:14:08 GMT\r\n\r\n",
            "HTTP/1.1 204 No Content\r\n\r\n",
        ]
    );
}

#[test]
fn sm_date_not_on_100_continue() {
    let mut conn = conn_with(
        b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
    );
    conn.set_date(Some(HttpDate::from_unix_secs(DATE_SECS)));
    next(&mut conn);
    assert_eq!(
        inform(&mut conn, 100, &[]).unwrap(),
        "HTTP/1.1 100 Continue\r\n\r\n"
    );
    conn.receive(b"x").unwrap();
    assert_eq!(nexts(&mut conn, 2), [E(data(b"x")), E(end())]);
    let (_, head) = respond(&mut conn, 201, &[], BodyLength::None).unwrap();
    assert_eq!(
        head,
        format!("HTTP/1.1 201 Created\r\ncontent-length: 0\r\ndate: {DATE}\r\n\r\n")
    );
}

#[test]
fn sm_date_on_error_responses() {
    // After a malformed request: the status it suggests, closing, dated.
    let mut conn = conn_with(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    conn.set_date(Some(HttpDate::from_unix_secs(DATE_SECS)));
    assert_eq!(next(&mut conn), E(err(400, "multiple Host header fields")));
    let (_, head) = respond(&mut conn, 400, &[], BodyLength::Known(4)).unwrap();
    assert_eq!(
        head,
        format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 4\r\nconnection: close\r\ndate: {DATE}\r\n\r\n"
        )
    );
    // A 408 on an idle connection, with no request to answer.
    let mut conn = ServerConn::new();
    conn.set_date(Some(HttpDate::from_unix_secs(DATE_SECS)));
    let (_, head) = respond(&mut conn, 408, &[], BodyLength::None).unwrap();
    assert_eq!(
        head,
        format!(
            "HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\ndate: {DATE}\r\n\r\n"
        )
    );
}

// ---------------------------------------------------------------------------------------
// RFC 9112 / 9110 rules audited in docs/conformance.md (server role)
// ---------------------------------------------------------------------------------------

// 9110 §9.3.6: a CONNECT request has no content. Whatever its framing fields say, what
// follows the head is the tunnel once the CONNECT is accepted (the harness answers 200);
// refused, the connection ends (`sm_refused_connect_with_framing_fields_closes`).
accept! {
    connect_with_content_length: b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 10\r\n\r\n0123456789"
        => [req("CONNECT", "a:443", V11, &[("host", "a:443"), ("content-length", "10")]), end(),
            Ev::Switched(b"0123456789".to_vec())];
    connect_with_content_length_before_a_request: b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 35\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("CONNECT", "a:443", V11, &[("host", "a:443"), ("content-length", "35")]), end(),
            Ev::Switched(SMUGGLED.to_vec())];
    connect_http10_with_content_length: b"CONNECT foo.bar.com:443 HTTP/1.0\r\nUser-agent: Mozilla/1.1N\r\nContent-Length: 10\r\n\r\nblarfcicle"
        => [req("CONNECT", "foo.bar.com:443", V10, &[("user-agent", "Mozilla/1.1N"), ("content-length", "10")]), end(),
            Ev::Switched(b"blarfcicle".to_vec())];
    connect_with_chunked: b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        => [req("CONNECT", "a:443", V11, &[("host", "a:443"), ("transfer-encoding", "chunked")]), end(),
            Ev::Switched(b"0\r\n\r\n".to_vec())];
    connect_with_equal_content_lengths: b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 1, 1\r\n\r\nx"
        => [req("CONNECT", "a:443", V11, &[("host", "a:443"), ("content-length", "1, 1")]), end(),
            Ev::Switched(b"x".to_vec())];
}

// Framing fields that are wrong on any request are refused on CONNECT too.
reject! {
    connect_with_unknown_coding: b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nTransfer-Encoding: gzip\r\n\r\n"
        => [] 400, "chunked is not the final transfer coding";
    connect_with_unknown_coding_then_chunked: b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        => [] 501, "unsupported transfer coding";
    connect_with_invalid_content_length: b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: x\r\n\r\n"
        => [] 400, "invalid Content-Length";
    connect_with_cl_and_te: b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n"
        => [] 400, "both Content-Length and Transfer-Encoding";
}

reject! {
    // §6.1: chunked applied twice, whatever lies between.
    te_chunked_twice_around_another: post("Transfer-Encoding: chunked, gzip, chunked\r\n")
        => [] 400, "chunked applied more than once";
}

accept! {
    // Content-Length: 0 says what both readings agree on: nothing.
    connect_with_content_length_zero: b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 0\r\n\r\n\x16\x03\x01"
        => [req("CONNECT", "a:443", V11, &[("host", "a:443"), ("content-length", "0")]), end(),
            Ev::Switched(b"\x16\x03\x01".to_vec())];
    connect_http10_without_host: b"CONNECT a:443 HTTP/1.0\r\n\r\ntunnel"
        => [req("CONNECT", "a:443", V10, &[]), end(), Ev::Switched(b"tunnel".to_vec())];
    // §6.3(6): a request without Content-Length or Transfer-Encoding has no content,
    // whatever its method.
    post_without_framing_has_no_body: b"POST / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("POST", "/", V11, &[("host", "a")]), end(), get("/2"), end(), Ev::Closed];
    // §6.3: a GET may have content; its framing is read like any other.
    get_with_content_length: b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("GET", "/", V11, &[("host", "a"), ("content-length", "3")]), data(b"abc"), end(), get("/2"), end(), Ev::Closed];
    // §3.2.2: absolute-form wins over Host, which is still checked for shape.
    absolute_form_with_other_host: b"GET http://b/x HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("GET", "http://b/x", V11, &[("host", "a")]), end(), Ev::Closed];
}

exchange! {
    // 9110 §7.8: an `Upgrade` that lists no protocol offers none: the request is read as
    // any other, and what follows it is the next request, not another protocol.
    upgrade_empty_offers_nothing:
        b"GET /1 HTTP/1.1\r\nHost: a\r\nUpgrade: \r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("GET", "/1", V11, &[("host", "a"), ("upgrade", "")]), end(), get("/2"), end(), Ev::Closed],
           [ok(), ok()];
    upgrade_of_empty_elements_offers_nothing:
        b"GET /1 HTTP/1.1\r\nHost: a\r\nUpgrade: , ,\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
        => [req("GET", "/1", V11, &[("host", "a"), ("upgrade", ", ,")]), end(), get("/2"), end(), Ev::Closed],
           [ok(), ok()];
    // The first protocol listed, after an empty element, is offered and switched to.
    upgrade_after_an_empty_element_is_offered:
        b"GET /1 HTTP/1.1\r\nHost: a\r\nUpgrade: , h2c\r\n\r\nxyz"
        => [req("GET", "/1", V11, &[("host", "a"), ("upgrade", ", h2c")]), end(), Ev::Switched(b"xyz".to_vec())],
           ["HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\nconnection: upgrade\r\n\r\n".to_string()];
    // A server MUST ignore Upgrade from HTTP/1.0 (§7.8): an empty 200, and the close.
    upgrade_in_http10_answered_as_any_request:
        b"GET /1 HTTP/1.0\r\nUpgrade: h2c\r\n\r\n"
        => [get10("/1", &[("upgrade", "h2c")]), end(), Ev::Closed],
           [ok_close()];
}

/// The protocols a request offers, as a 101 may name them: every element of every
/// `Upgrade` line, in order; none from HTTP/1.0, an empty list, or no field.
#[test]
fn offered_upgrades_are_the_elements_of_the_upgrade_lines() {
    for (input, want) in [
        (
            &b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket, , h2c\r\nUpgrade: foo/2\r\n\r\n"[..],
            &["websocket", "h2c", "foo/2"][..],
        ),
        (b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: ,\r\n\r\n", &[]),
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &[]),
        (b"GET / HTTP/1.0\r\nUpgrade: h2c\r\n\r\n", &[]),
    ] {
        let mut conn = conn_with(input);
        nexts(&mut conn, 1);
        let offered: Vec<&[u8]> = conn.offered_upgrades().collect();
        let want: Vec<&[u8]> = want.iter().map(|p| p.as_bytes()).collect();
        assert_eq!(offered, want, "{:?}", String::from_utf8_lossy(input));
    }
}

/// RFC 9110 §15.2.2: a 101 names the protocol switched to; an `Upgrade` field that
/// lists none is no better than no field: the caller's error, and nothing written.
#[test]
fn sm_101_with_an_empty_upgrade_field_is_local_error() {
    for named in ["", ",", " , "] {
        let mut conn = conn_with(UPGRADE);
        assert_eq!(nexts(&mut conn, 3), [E(upgrade_req()), E(end()), Paused]);
        let mut out = Vec::new();
        let e = conn.send_informational(
            StatusCode::SWITCHING_PROTOCOLS,
            &header_map(&[("upgrade", named)]),
            &mut out,
        );
        assert_local(e, "101 without an Upgrade field");
        assert!(out.is_empty(), "{named:?}: nothing written");
        assert!(conn.must_close());
    }
}

/// 9110 §7.8: an Upgrade in an HTTP/1.0 request is ignored: reading is not held for an
/// answer (an HTTP/1.1 one pauses: `sm_upgrade_awaiting_answer_is_paused`).
#[test]
fn upgrade_in_http10_ignored() {
    let mut conn = conn_with(
        b"GET / HTTP/1.0\r\nConnection: keep-alive, upgrade\r\nUpgrade: websocket\r\n\r\n",
    );
    assert_eq!(
        nexts(&mut conn, 3),
        [
            E(req(
                "GET",
                "/",
                V10,
                &[
                    ("connection", "keep-alive, upgrade"),
                    ("upgrade", "websocket")
                ]
            )),
            E(end()),
            NeedData
        ]
    );
}

/// RFC 9112 §6.1, 9110 §8.6: no Content-Length or Transfer-Encoding in a 1xx, from the
/// caller or from us; a refused 1xx writes nothing and fails the sending side.
#[test]
fn sm_1xx_refuses_framing_fields() {
    for field in [("content-length", "0"), ("transfer-encoding", "chunked")] {
        let mut conn = conn_with(EXPECT);
        assert_eq!(nexts(&mut conn, 1), [E(expect_req())]);
        assert_local(
            inform(&mut conn, 100, &[field]),
            "framing fields (Content-Length, Transfer-Encoding) do not fit this message",
        );
    }
    let mut conn = conn_with(UPGRADE);
    assert_eq!(nexts(&mut conn, 2), [E(upgrade_req()), E(end())]);
    assert_eq!(
        inform(&mut conn, 101, &[("upgrade", "websocket")]).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n"
    );
}

/// A request line is judged once it is whole, not when the head is: an HTTP/0.9 client
/// (`GET /`, then it waits) and a bad version are refused at the line's end, with no more
/// bytes and no end of input. (Before, the core waited for a blank line that an HTTP/0.9
/// client never sends: the server answered 408 at its head timeout.) Whole, byte by byte
/// and split at every point.
#[test]
fn a_bad_request_line_is_refused_at_its_line_end() {
    for (input, status, message) in [
        (&b"GET /\r\n"[..], 400, "invalid request line"),
        (
            b"GET / HTTP/1.x\r\nHost: a\r\n",
            400,
            "malformed HTTP version",
        ),
        (
            b"GET / HTTP/2.0\r\n",
            505,
            "unsupported HTTP version HTTP/2.0",
        ),
    ] {
        assert_eq!(
            server_events_open(input),
            vec![err(status, message)],
            "input {:?}",
            String::from_utf8_lossy(input)
        );
    }
    // A good request line goes on waiting for the head.
    assert_eq!(
        server_events_open(b"GET / HTTP/1.1\r\nHost: a\r\n"),
        Vec::<Ev>::new()
    );
}

/// A bare CR is refused as soon as the byte after it has come, not when the head ends (a
/// client that sends one and waits got a 408 at the head timeout, 10 s, where the same
/// bytes followed by a blank line got a 400 at once); a CR that ends what has come waits
/// for its LF.
#[test]
fn a_bare_cr_is_refused_before_the_head_ends() {
    const BARE_CR: &str = "bare CR in the message head (CR without LF)";
    for input in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\r"[..],
        b"GET / HTTP/1.1\rHost: x\r\r",
        b"GET / HTTP/1.1\r\nHost: x\rY",
        b"GET /a\rb",
    ] {
        assert_eq!(
            server_events_open(input),
            vec![err(400, BARE_CR)],
            "input {:?}",
            String::from_utf8_lossy(input)
        );
    }
    assert_eq!(
        server_events_open(b"GET / HTTP/1.1\r\nHost: a\r"),
        Vec::<Ev>::new()
    );
}

/// Server events of `input` with the connection left open (no end of input), identical
/// whole, byte by byte and split in two at every point.
fn server_events_open(input: &[u8]) -> Vec<Ev> {
    let run = |cuts: &[usize]| {
        let mut driver = ServerDriver::new(ServerConn::new());
        let mut prev = 0;
        for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
            driver.feed(&input[prev..cut]);
            prev = cut;
        }
        driver.events
    };
    let whole = run(&[]);
    let bytewise: Vec<usize> = (1..input.len()).collect();
    assert_eq!(
        run(&bytewise),
        whole,
        "byte by byte, {:?}",
        String::from_utf8_lossy(input)
    );
    for k in 1..input.len() {
        assert_eq!(
            run(&[k]),
            whole,
            "split at {k}, {:?}",
            String::from_utf8_lossy(input)
        );
    }
    whole
}
