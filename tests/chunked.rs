//! The strict chunked decoder, through the server role (a POST with
//! `transfer-encoding: chunked`), every vector whole, byte by byte and split at every point;
//! then the encoders (ServerConn and ClientConn) parsed back by the decoder.

mod support;
use support::*;

use http::{HeaderMap, HeaderValue, Method, StatusCode, Version};
use pollhttp::proto::{BodyLength, ChunkExtension, ClientConn, Event, Framing, Limits, ServerConn};

const HEAD: &[u8] = b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

const BAD_EXT: &str = "malformed chunk extension";
const BAD_SIZE: &str = "invalid chunk size";
const TOO_LARGE: &str = "chunk size too large";
const NO_CRLF_AFTER_DATA: &str = "chunk data not followed by CRLF";
const NO_CRLF_AFTER_LINE: &str = "chunk-size line not ended by CRLF";
const BARE_LF: &str = "bare LF line ending (CRLF required)";

fn req() -> Ev {
    Ev::Request {
        method: "POST".to_owned(),
        target: "/up".to_owned(),
        version: Version::HTTP_11,
        headers: f(&[("host", "a"), ("transfer-encoding", "chunked")]),
    }
}

/// The server's events for `HEAD` followed by `body`.
fn body_events(body: &[u8]) -> Vec<Ev> {
    server_events(&[HEAD, body].concat())
}

/// A body decoded to `data` with these trailers (then the clean close).
fn accepted(data: &[u8], trailers: &[(&str, &str)]) -> Vec<Ev> {
    accepted_fields(data, f(trailers))
}

fn accepted_fields(data: &[u8], trailers: Fields) -> Vec<Ev> {
    let mut evs = vec![req()];
    if !data.is_empty() {
        evs.push(Ev::Data(data.to_vec()));
    }
    evs.push(Ev::End(trailers));
    evs.push(Ev::Closed);
    evs
}

/// A body refused after delivering `data`.
fn rejected(data: &[u8], hint: u16, message: &str) -> Vec<Ev> {
    let mut evs = vec![req()];
    if !data.is_empty() {
        evs.push(Ev::Data(data.to_vec()));
    }
    evs.push(Ev::Error(hint, message.to_owned()));
    evs
}

/// `3<ext>\r\nabc\r\n0\r\n\r\n`: one chunk carrying the extension under test.
fn with_ext(ext: &[u8]) -> Vec<u8> {
    [b"3", ext, b"\r\nabc\r\n0\r\n\r\n"].concat()
}

/// One table row per test: `name: body => expected events;`.
macro_rules! chunked {
    ($($name:ident: $body:expr => $want:expr;)*) => {
        $(
            #[test]
            fn $name() {
                let body: Vec<u8> = $body.to_vec();
                let got = body_events(&body);
                let want: Vec<Ev> = $want;
                assert_eq!(got, want, "body {:?}", String::from_utf8_lossy(&body));
            }
        )*
    };
}

mod size {
    use super::*;

    chunked! {
        lower_hex: b"a\r\n0123456789\r\n0\r\n\r\n" => accepted(b"0123456789", &[]);
        upper_hex: b"A\r\n0123456789\r\n0\r\n\r\n" => accepted(b"0123456789", &[]);
        mixed_case_hex: [&b"1f\r\n"[..], &[b'x'; 31], b"\r\n1F\r\n", &[b'y'; 31], b"\r\n0\r\n\r\n"].concat()
            => accepted(&[[b'x'; 31], [b'y'; 31]].concat(), &[]);
        all_hex_digits: [&b"aBcDeF\r\n"[..], &[b'z'; 0xef]].concat()
            => rejected(&[b'z'; 0xef], 400, "peer closed connection without sending complete message body: incomplete chunked body (239 bytes of data received, in chunk data, 11259136 bytes of the current chunk missing)");
        several_chunks: b"1\r\na\r\n2\r\nbc\r\n3\r\ndef\r\n0\r\n\r\n" => accepted(b"abcdef", &[]);
        data_holding_framing: b"5\r\n0\r\n\r\n\r\n0\r\n\r\n" => accepted(b"0\r\n\r\n", &[]);
        data_holding_request: b"12\r\nGET / HTTP/1.1\r\n\r\n\r\n0\r\n\r\n" => accepted(b"GET / HTTP/1.1\r\n\r\n", &[]);
        data_all_bytes: [&b"100\r\n"[..], &(0..=255u8).collect::<Vec<u8>>(), b"\r\n0\r\n\r\n"].concat()
            => accepted(&(0..=255u8).collect::<Vec<u8>>(), &[]);
        leading_zeros: b"0005\r\nhello\r\n00\r\n\r\n" => accepted(b"hello", &[]);
        sixteen_digits: b"0000000000000005\r\nhello\r\n0000000000000000\r\n\r\n" => accepted(b"hello", &[]);
        // Leading zeros do not count against the 16 digits of a u64 (up to 64 in all).
        seventeen_digits: b"00000000000000005\r\nhello\r\n0\r\n\r\n" => accepted(b"hello", &[]);
        seventeen_zeros_last_chunk: b"5\r\nhello\r\n00000000000000000\r\n\r\n" => accepted(b"hello", &[]);
        sixty_five_zeros_last_chunk: b"5\r\nhello\r\n00000000000000000000000000000000000000000000000000000000000000000\r\n\r\n" => rejected(b"hello", 400, TOO_LARGE);
        seventeen_digits_overflow: b"10000000000000000\r\n" => rejected(b"", 400, TOO_LARGE);
        u64_max_then_eof: b"ffffffffffffffff\r\nabc" =>
            rejected(b"abc", 400, "peer closed connection without sending complete message body: incomplete chunked body (3 bytes of data received, in chunk data, 18446744073709551612 bytes of the current chunk missing)");
        // The sum of announced sizes passes 2^64 - 1 (picohttpparser's test.c): no overflow.
        u64_max_after_a_chunk_then_eof: b"6\r\nhello \r\nffffffffffffffff\r\nabcdefg" =>
            rejected(b"hello abcdefg", 400, "peer closed connection without sending complete message body: incomplete chunked body (13 bytes of data received, in chunk data, 18446744073709551608 bytes of the current chunk missing)");
        u64_max_upper_then_eof: b"FFFFFFFFFFFFFFFF\r\n" =>
            rejected(b"", 400, "peer closed connection without sending complete message body: incomplete chunked body (0 bytes of data received, in chunk data, 18446744073709551615 bytes of the current chunk missing)");
        u64_max_with_ext_then_eof: b"fffffffffffffff0;a=b\r\n" =>
            rejected(b"", 400, "peer closed connection without sending complete message body: incomplete chunked body (0 bytes of data received, in chunk data, 18446744073709551600 bytes of the current chunk missing)");

        empty_size: b"\r\nabc\r\n0\r\n\r\n" => rejected(b"", 400, BAD_SIZE);
        hex_prefix: b"0x5\r\nhello\r\n0\r\n\r\n" => rejected(b"", 400, BAD_SIZE);
        plus_sign: b"+5\r\nhello\r\n0\r\n\r\n" => rejected(b"", 400, BAD_SIZE);
        minus_sign: b"-5\r\nhello\r\n0\r\n\r\n" => rejected(b"", 400, BAD_SIZE);
        underscore_inside: b"0_2e\r\n" => rejected(b"", 400, BAD_SIZE);
        underscore_first: b"_5\r\nhello\r\n0\r\n\r\n" => rejected(b"", 400, BAD_SIZE);
        leading_space: b" 5\r\nhello\r\n0\r\n\r\n" => rejected(b"", 400, BAD_SIZE);
        leading_tab: b"\t5\r\nhello\r\n0\r\n\r\n" => rejected(b"", 400, BAD_SIZE);
        not_hex: b"g\r\n" => rejected(b"", 400, BAD_SIZE);
        unicode_digit: "\u{663}\r\n".as_bytes() => rejected(b"", 400, BAD_SIZE);
        ext_without_size: b";a=b\r\n" => rejected(b"", 400, BAD_SIZE);
        trailing_space: b"5 \r\nhello\r\n0\r\n\r\n" => rejected(b"", 400, BAD_EXT);
        trailing_tab: b"5\t\r\nhello\r\n0\r\n\r\n" => rejected(b"", 400, BAD_EXT);
        space_inside: b"1 0\r\n" => rejected(b"", 400, BAD_EXT);
        junk_after_digits: b"5x\r\nhello\r\n0\r\n\r\n" => rejected(b"", 400, BAD_SIZE);
        empty_body_no_last_chunk: b"" =>
            rejected(b"", 400, "peer closed connection without sending complete message body: incomplete chunked body (0 bytes of data received, in chunk framing)");
    }
}

mod extensions {
    use super::*;

    chunked! {
        name_only: with_ext(b";a") => accepted(b"abc", &[]);
        token_value: with_ext(b";a=b") => accepted(b"abc", &[]);
        quoted_value: with_ext(b";a=\"b c\"") => accepted(b"abc", &[]);
        empty_quoted_value: with_ext(b";a=\"\"") => accepted(b"abc", &[]);
        all_tchars: with_ext(b";!#$%&'*+-.^_`|~09azAZ=!#$%&'*+-.^_`|~09azAZ") => accepted(b"abc", &[]);
        quoted_specials: with_ext(b";a=\"(),/:;<=>?@[]{} \t\"") => accepted(b"abc", &[]);
        quoted_obs_text: with_ext(b";a=\"\x80\xfe\xff\"") => accepted(b"abc", &[]);
        several: with_ext(b";a;b=1;c=\"2\";d") => accepted(b"abc", &[]);
        on_last_chunk: b"3\r\nabc\r\n0;last=\"yes\"\r\n\r\n" => accepted(b"abc", &[]);
        on_every_chunk: b"1;a\r\nx\r\n1;b=c\r\ny\r\n0;d=\"e\"\r\n\r\n" => accepted(b"xy", &[]);

        bws_before_semi: with_ext(b" ;a") => accepted(b"abc", &[]);
        tab_before_semi: with_ext(b"\t;a") => accepted(b"abc", &[]);
        mixed_bws_before_semi: with_ext(b" \t \t;a=b") => accepted(b"abc", &[]);
        bws_after_semi: with_ext(b"; a") => accepted(b"abc", &[]);
        tab_after_semi: with_ext(b";\ta=b") => accepted(b"abc", &[]);
        bws_before_eq: with_ext(b";a =b") => accepted(b"abc", &[]);
        bws_after_eq: with_ext(b";a= b") => accepted(b"abc", &[]);
        bws_around_eq: with_ext(b";a \t= \tb") => accepted(b"abc", &[]);
        bws_around_eq_quoted: with_ext(b";a = \"b\"") => accepted(b"abc", &[]);
        bws_between_extensions: with_ext(b";a=b ;c=d\t;e") => accepted(b"abc", &[]);
        bws_after_name_then_semi: with_ext(b";a ;b") => accepted(b"abc", &[]);
        bws_after_quoted_then_semi: with_ext(b";a=\"x\" ;b") => accepted(b"abc", &[]);
        bws_everywhere: with_ext(b" ; a = b ; c = \"d\" ; e") => accepted(b"abc", &[]);

        quoted_pair_quote: with_ext(b";a=\"x\\\"y\"") => accepted(b"abc", &[]);
        quoted_pair_backslash: with_ext(b";a=\"\\\\\"") => accepted(b"abc", &[]);
        quoted_pair_letter: with_ext(b";a=\"\\a\"") => accepted(b"abc", &[]);
        quoted_pair_tab: with_ext(b";a=\"\\\t\"") => accepted(b"abc", &[]);
        quoted_pair_space: with_ext(b";a=\"\\ \"") => accepted(b"abc", &[]);
        quoted_pair_obs_text: with_ext(b";a=\"\\\xff\"") => accepted(b"abc", &[]);
        quoted_semicolon_and_eq: with_ext(b";a=\";b=c\"") => accepted(b"abc", &[]);

        empty_name: with_ext(b";") => rejected(b"", 400, BAD_EXT);
        empty_name_bws: with_ext(b"; ") => rejected(b"", 400, BAD_EXT);
        empty_name_after_bws: with_ext(b" ;") => rejected(b"", 400, BAD_EXT);
        name_missing_before_eq: with_ext(b";=b") => rejected(b"", 400, BAD_EXT);
        double_semi: with_ext(b";;a") => rejected(b"", 400, BAD_EXT);
        double_semi_later: with_ext(b";a;;b") => rejected(b"", 400, BAD_EXT);
        trailing_semi: with_ext(b";a;") => rejected(b"", 400, BAD_EXT);
        value_missing: with_ext(b";a=") => rejected(b"", 400, BAD_EXT);
        value_missing_bws: with_ext(b";a= ") => rejected(b"", 400, BAD_EXT);
        value_missing_then_semi: with_ext(b";a=;b") => rejected(b"", 400, BAD_EXT);
        bws_after_name_at_end: with_ext(b";a ") => rejected(b"", 400, BAD_EXT);
        bws_after_value_at_end: with_ext(b";a=b ") => rejected(b"", 400, BAD_EXT);
        bws_after_quoted_at_end: with_ext(b";a=\"b\" ") => rejected(b"", 400, BAD_EXT);
        space_inside_value: with_ext(b";a=b c") => rejected(b"", 400, BAD_EXT);
        space_inside_name: with_ext(b";a b") => rejected(b"", 400, BAD_EXT);
        two_equals: with_ext(b";a=b=c") => rejected(b"", 400, BAD_EXT);
        non_tchar_name: with_ext(b";a@b") => rejected(b"", 400, BAD_EXT);
        non_tchar_value: with_ext(b";a=b/c") => rejected(b"", 400, BAD_EXT);
        obs_text_unquoted: with_ext(b";a=\x80") => rejected(b"", 400, BAD_EXT);
        obs_text_name: with_ext(b";\xe9") => rejected(b"", 400, BAD_EXT);
        no_semi_before_name: with_ext(b" a") => rejected(b"", 400, BAD_EXT);
        comma_separator: with_ext(b";a,b") => rejected(b"", 400, BAD_EXT);
        unterminated_quote: with_ext(b";a=\"b") => rejected(b"", 400, BAD_EXT);
        text_after_quote: with_ext(b";a=\"x\"y") => rejected(b"", 400, BAD_EXT);
        two_quoted: with_ext(b";a=\"x\"\"y\"") => rejected(b"", 400, BAD_EXT);
        quote_inside_token: with_ext(b";a=b\"c\"") => rejected(b"", 400, BAD_EXT);
        quoted_name: with_ext(b";\"a\"=b") => rejected(b"", 400, BAD_EXT);
        quoted_del: with_ext(b";a=\"\x7f\"") => rejected(b"", 400, BAD_EXT);
        quoted_nul: with_ext(b";a=\"\x00\"") => rejected(b"", 400, BAD_EXT);
        quoted_cr: with_ext(b";a=\"b\rc\"") => rejected(b"", 400, BAD_EXT);
        quoted_pair_ctl: with_ext(b";a=\"\\\x01\"") => rejected(b"", 400, BAD_EXT);
        quoted_pair_del: with_ext(b";a=\"\\\x7f\"") => rejected(b"", 400, BAD_EXT);
        quoted_pair_cr: with_ext(b";a=\"\\\r\"") => rejected(b"", 400, BAD_EXT);
        nul_in_name: with_ext(b";a\x00") => rejected(b"", 400, BAD_EXT);
        vt_bws: with_ext(b"\x0b;a") => rejected(b"", 400, BAD_SIZE);
        bad_ext_on_last_chunk: b"3\r\nabc\r\n0;\r\n\r\n" => rejected(b"abc", 400, BAD_EXT);
        bad_ext_second_chunk: b"1;a\r\nx\r\n1;a=\r\ny\r\n0\r\n\r\n" => rejected(b"x", 400, BAD_EXT);
    }

    /// `1;aaa...\r\nx\r\n` with `name_len` name bytes: one data byte, `name_len + 1`
    /// extension bytes (the name and the CR ending the line).
    fn ext_chunk(name_len: usize) -> Vec<u8> {
        [&b"1;"[..], &vec![b'a'; name_len], b"\r\nx\r\n"].concat()
    }

    #[test]
    fn size_line_at_limit() {
        // "1;" + name + CRLF = 4096 bytes.
        let body = [ext_chunk(4092), b"0\r\n\r\n".to_vec()].concat();
        assert_eq!(body_events(&body), accepted(b"x", &[]));
    }

    #[test]
    fn size_line_over_limit() {
        let body = [ext_chunk(4093), b"0\r\n\r\n".to_vec()].concat();
        assert_eq!(
            body_events(&body),
            rejected(b"", 400, "chunk-size line longer than 4096 bytes")
        );
    }

    #[test]
    fn extension_total_at_cap() {
        // 4 * 4001 + 380 = 16384 extension bytes in one message.
        let body = [
            ext_chunk(4000),
            ext_chunk(4000),
            ext_chunk(4000),
            ext_chunk(4000),
            ext_chunk(379),
            b"0\r\n\r\n".to_vec(),
        ]
        .concat();
        assert_eq!(body_events(&body), accepted(b"xxxxx", &[]));
    }

    #[test]
    fn extension_total_over_cap() {
        let body = [
            ext_chunk(4000),
            ext_chunk(4000),
            ext_chunk(4000),
            ext_chunk(4000),
            ext_chunk(380),
            b"0\r\n\r\n".to_vec(),
        ]
        .concat();
        assert_eq!(
            body_events(&body),
            rejected(b"xxxx", 400, "chunk extensions larger than 16384 bytes")
        );
    }

    #[test]
    fn extension_total_counts_the_last_chunk() {
        let last = [&b"0;"[..], &[b'z'; 380], b"\r\n\r\n"].concat();
        let ok = [
            ext_chunk(4000),
            ext_chunk(4000),
            ext_chunk(4000),
            ext_chunk(4000),
            [&b"0;"[..], &[b'z'; 379], b"\r\n\r\n"].concat(),
        ]
        .concat();
        assert_eq!(body_events(&ok), accepted(b"xxxx", &[]));
        let over = [
            ext_chunk(4000),
            ext_chunk(4000),
            ext_chunk(4000),
            ext_chunk(4000),
            last,
        ]
        .concat();
        assert_eq!(
            body_events(&over),
            rejected(b"xxxx", 400, "chunk extensions larger than 16384 bytes")
        );
    }

    #[test]
    fn extension_total_is_per_message() {
        // Two requests of 16 000 extension bytes each on one connection: each is fine.
        let one = [
            ext_chunk(3999),
            ext_chunk(3999),
            ext_chunk(3999),
            ext_chunk(3999),
            b"0\r\n\r\n".to_vec(),
        ]
        .concat();
        let input = [HEAD, &one, HEAD, &one].concat();
        let got = server_events(&input);
        assert_eq!(
            got,
            vec![
                req(),
                Ev::Data(b"xxxx".to_vec()),
                Ev::End(Vec::new()),
                req(),
                Ev::Data(b"xxxx".to_vec()),
                Ev::End(Vec::new()),
                Ev::Closed,
            ]
        );
    }
}

mod framing {
    use super::*;

    chunked! {
        // h11's smuggling vectors: the CRLF after chunk data must be exactly CRLF.
        h11_underscores: b"3\r\nxxx__1a\r\n" => rejected(b"xxx", 400, NO_CRLF_AFTER_DATA);
        h11_cr_underscore: b"3\r\nxxx\r_1a\r\n" => rejected(b"xxx", 400, NO_CRLF_AFTER_DATA);
        h11_underscore_lf: b"3\r\nxxx_\n1a\r\n" => rejected(b"xxx", 400, NO_CRLF_AFTER_DATA);
        data_longer_than_size: b"3\r\nabcd\r\n0\r\n\r\n" => rejected(b"abc", 400, NO_CRLF_AFTER_DATA);
        data_shorter_than_size: b"5\r\nabc\r\n0\r\n\r\n" => rejected(b"abc\r\n", 400, NO_CRLF_AFTER_DATA);
        cr_cr_after_data: b"3\r\nabc\r\r\n0\r\n\r\n" => rejected(b"abc", 400, NO_CRLF_AFTER_DATA);

        // A bare LF anywhere in the framing is refused.
        bare_lf_after_size: b"3\nabc\r\n0\r\n\r\n" => rejected(b"", 400, BAD_SIZE);
        bare_lf_after_name: b"3;a\nabc\r\n0\r\n\r\n" => rejected(b"", 400, BAD_EXT);
        bare_lf_after_token: b"3;a=b\nabc\r\n0\r\n\r\n" => rejected(b"", 400, BAD_EXT);
        bare_lf_after_quoted: b"3;a=\"b\"\nabc\r\n0\r\n\r\n" => rejected(b"", 400, BAD_EXT);
        bare_lf_inside_quoted: b"3;a=\"b\nc\"\r\nabc\r\n0\r\n\r\n" => rejected(b"", 400, BAD_EXT);
        bare_lf_in_quoted_pair: b"3;a=\"\\\n\"\r\nabc\r\n0\r\n\r\n" => rejected(b"", 400, BAD_EXT);
        bare_lf_after_bws: b"3 \nabc\r\n0\r\n\r\n" => rejected(b"", 400, BAD_EXT);
        bare_lf_after_eq: b"3;a=\nabc\r\n0\r\n\r\n" => rejected(b"", 400, BAD_EXT);
        bare_lf_after_data: b"3\r\nabc\n0\r\n\r\n" => rejected(b"abc", 400, NO_CRLF_AFTER_DATA);
        bare_lf_after_last_chunk: b"3\r\nabc\r\n0\n\r\n" => rejected(b"abc", 400, BAD_SIZE);
        bare_lf_ending_body: b"3\r\nabc\r\n0\r\n\n" => rejected(b"abc", 400, BARE_LF);
        bare_lf_after_trailer: b"0\r\nT: 1\n\r\n" => rejected(b"", 400, BARE_LF);
        bare_lf_ending_trailers: b"0\r\nT: 1\r\n\n" => rejected(b"", 400, BARE_LF);
        bare_cr_after_size: b"3\r\r\nabc\r\n0\r\n\r\n" => rejected(b"", 400, NO_CRLF_AFTER_LINE);
        cr_then_junk: b"3\rXabc\r\n0\r\n\r\n" => rejected(b"", 400, NO_CRLF_AFTER_LINE);
        cr_after_name_then_junk: b"3;a\r;b\r\nabc" => rejected(b"", 400, NO_CRLF_AFTER_LINE);

        // What follows the body is the next request.
        pipelined_after_chunked: [&b"1\r\nx\r\n0\r\n\r\n"[..], b"GET /n HTTP/1.1\r\nHost: a\r\n\r\n"].concat() => vec![
            req(),
            Ev::Data(b"x".to_vec()),
            Ev::End(Vec::new()),
            Ev::Request { method: "GET".to_owned(), target: "/n".to_owned(), version: Version::HTTP_11, headers: f(&[("host", "a")]) },
            Ev::End(Vec::new()),
            Ev::Closed,
        ];

        // Ends of input inside the framing.
        eof_in_size: b"5" =>
            rejected(b"", 400, "peer closed connection without sending complete message body: incomplete chunked body (0 bytes of data received, in chunk framing)");
        eof_in_extension: b"5;a=\"b" =>
            rejected(b"", 400, "peer closed connection without sending complete message body: incomplete chunked body (0 bytes of data received, in chunk framing)");
        eof_in_data: b"2\r\nab\r\n5\r\nhel" =>
            rejected(b"abhel", 400, "peer closed connection without sending complete message body: incomplete chunked body (5 bytes of data received, in chunk data, 2 bytes of the current chunk missing)");
        eof_before_data_crlf: b"5\r\nhello" =>
            rejected(b"hello", 400, "peer closed connection without sending complete message body: incomplete chunked body (5 bytes of data received, in chunk framing)");
        eof_before_last_chunk: b"5\r\nhello\r\n" =>
            rejected(b"hello", 400, "peer closed connection without sending complete message body: incomplete chunked body (5 bytes of data received, in chunk framing)");
        eof_in_trailers: b"5\r\nhello\r\n0\r\nT: 1\r\n" =>
            rejected(b"hello", 400, "peer closed connection without sending complete message body: incomplete chunked body (5 bytes of data received, in the trailer section)");
        eof_after_last_chunk_line: b"0\r\n" =>
            rejected(b"", 400, "peer closed connection without sending complete message body: incomplete chunked body (0 bytes of data received, in the trailer section)");
    }

    #[test]
    fn many_small_chunks() {
        let mut body = Vec::new();
        let mut want = Vec::new();
        for i in 0..500u32 {
            let b = b"0123456789abcdef"[(i % 16) as usize];
            body.extend_from_slice(b"1\r\n");
            body.push(b);
            body.extend_from_slice(b"\r\n");
            want.push(b);
        }
        body.extend_from_slice(b"0\r\n\r\n");
        assert_eq!(body_events(&body), accepted(&want, &[]));
    }

    #[test]
    fn body_limit_counts_announced_sizes() {
        // Not through server_events (it uses the default limits): fed whole and bytewise.
        let input = [HEAD, b"6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n"].concat();
        for cuts in [vec![], (1..input.len()).collect::<Vec<_>>()] {
            let conn = ServerConn::with_limits(Limits::server().max_body(Some(10)));
            let mut d = ServerDriver::new(conn);
            let mut prev = 0;
            for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
                d.feed(&input[prev..cut]);
                prev = cut;
            }
            assert_eq!(
                d.finish(),
                rejected(b"abcdef", 413, "chunked body exceeds the limit of 10 bytes")
            );
        }
        let conn = ServerConn::with_limits(Limits::server().max_body(Some(11)));
        let mut d = ServerDriver::new(conn);
        d.feed(&input);
        assert_eq!(d.finish(), accepted(b"abcdefghijk", &[]));
    }
}

mod trailers {
    use super::*;

    const BAD_NAME: &str = "invalid header field name";
    const BAD_VALUE: &str = "invalid character in a header field value";

    chunked! {
        one: b"3\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n" => accepted(b"abc", &[("x-sum", "1")]);
        several_in_order: b"0\r\nB: 1\r\nA-Long-Name: two  words\r\nB: 3\r\nEmpty:\r\n\r\n" =>
            accepted(b"", &[("b", "1"), ("a-long-name", "two  words"), ("b", "3"), ("empty", "")]);
        ows_trimmed: b"1\r\nx\r\n0\r\nT: \t v \t\r\n\r\n" => accepted(b"x", &[("t", "v")]);
        obs_text_value: b"0\r\nT: caf\xe9\r\n\r\n" => accepted_fields(b"", vec![("t".to_owned(), b"caf\xe9".to_vec())]);
        after_ext_on_last_chunk: b"1\r\nx\r\n0;a=b\r\nT: 1\r\n\r\n" => accepted(b"x", &[("t", "1")]);
        framing_names_are_just_fields: b"1\r\nx\r\n0\r\nContent-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\n" =>
            accepted(b"x", &[("content-length", "5"), ("transfer-encoding", "gzip")]);

        bad_name_space: b"1\r\nx\r\n0\r\nbad name: 1\r\n\r\n" => rejected(b"x", 400, BAD_NAME);
        space_before_colon: b"1\r\nx\r\n0\r\nT : 1\r\n\r\n" => rejected(b"x", 400, BAD_NAME);
        no_colon: b"0\r\nnocolon\r\n\r\n" => rejected(b"", 400, BAD_NAME);
        empty_name: b"0\r\n: v\r\n\r\n" => rejected(b"", 400, BAD_NAME);
        nul_in_name: b"0\r\nT\x00: v\r\n\r\n" => rejected(b"", 400, BAD_NAME);
        nul_in_value: b"0\r\nT: a\x00b\r\n\r\n" => rejected(b"", 400, BAD_VALUE);
        ctl_in_value: b"0\r\nT: a\x1bb\r\n\r\n" => rejected(b"", 400, BAD_VALUE);
        bare_cr_in_value: b"0\r\nT: a\rb\r\n\r\n" => rejected(b"", 400, "bare CR in the message head (CR without LF)");
        whitespace_before_first: b"0\r\n T: 1\r\n\r\n" => rejected(b"", 400, "whitespace before the first header field");
        obs_fold_refused_by_server: b"0\r\nT: 1\r\n 2\r\n\r\n" => rejected(b"", 400, "obsolete line folding in a header field");
    }

    fn many(n: usize) -> Vec<u8> {
        let mut body = b"1\r\nx\r\n0\r\n".to_vec();
        for i in 0..n {
            body.extend_from_slice(format!("t-{i}: {i}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body
    }

    #[test]
    fn hundred_trailers() {
        let want: Fields = (0..100)
            .map(|i| (format!("t-{i}"), i.to_string().into_bytes()))
            .collect();
        assert_eq!(body_events(&many(100)), accepted_fields(b"x", want));
    }

    #[test]
    fn too_many_trailers() {
        assert_eq!(
            body_events(&many(101)),
            rejected(b"x", 431, "more than 100 header fields")
        );
    }

    /// A trailer section of exactly `len` bytes (one field and the blank line).
    fn section(len: usize) -> Vec<u8> {
        let value = vec![b'v'; len - "t: \r\n\r\n".len()];
        [&b"0\r\nt: "[..], &value, b"\r\n\r\n"].concat()
    }

    #[test]
    fn trailer_section_at_limit() {
        let body = section(16 * 1024);
        let got = body_events(&body);
        let value = "v".repeat(16 * 1024 - 7);
        assert_eq!(got, accepted(b"", &[("t", &value)]));
    }

    #[test]
    fn trailer_section_over_limit() {
        assert_eq!(
            body_events(&section(16 * 1024 + 1)),
            rejected(b"", 431, "trailer section larger than 16384 bytes")
        );
    }
}

// ---------------------------------------------------------------------------------------
// The encoders, parsed back by the decoder
// ---------------------------------------------------------------------------------------

mod encoder {
    use super::*;

    type Piece<'a> = (&'a [u8], &'a [ChunkExtension<'a>]);

    /// A chunked POST as ClientConn writes it.
    fn client_body(pieces: &[Piece<'_>], trailers: Option<&HeaderMap>) -> Vec<u8> {
        let mut conn = ClientConn::new();
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("a"));
        let mut out = Vec::new();
        let framing = conn
            .send_request(&Method::POST, "/up", &h, BodyLength::Unknown, &mut out)
            .unwrap();
        assert_eq!(framing, Framing::Chunked);
        for (data, ext) in pieces {
            conn.send_chunk(data, ext, &mut out).unwrap();
        }
        conn.send_end(trailers, &mut out).unwrap();
        assert!(!conn.sending_body());
        out
    }

    /// A chunked 200 as ServerConn writes it, in answer to a GET.
    fn server_body(pieces: &[Piece<'_>], trailers: Option<&HeaderMap>) -> Vec<u8> {
        let mut conn = ServerConn::new();
        conn.receive(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert!(matches!(conn.next_event(), Ok(Event::Request(_))));
        assert!(matches!(conn.next_event(), Ok(Event::End(_))));
        let mut out = Vec::new();
        let framing = conn
            .send_response(
                StatusCode::OK,
                None,
                &HeaderMap::new(),
                BodyLength::Unknown,
                &mut out,
            )
            .unwrap();
        assert_eq!(framing, Framing::Chunked);
        for (data, ext) in pieces {
            conn.send_chunk(data, ext, &mut out).unwrap();
        }
        conn.send_end(trailers, &mut out).unwrap();
        assert!(!conn.response_due());
        out
    }

    /// Encodes `pieces` both ways and checks every decoder reading gives `data` and
    /// `trailers` back.
    fn round_trip(pieces: &[Piece<'_>], trailers: &[(&str, &str)]) {
        let map = header_map(trailers);
        let t = (!trailers.is_empty()).then_some(&map);
        let data: Vec<u8> = pieces.iter().flat_map(|(d, _)| d.iter().copied()).collect();

        // ClientConn's request, read by the server.
        let request = client_body(pieces, t);
        assert!(request
            .starts_with(b"POST /up HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n"));
        let want_request = {
            let mut evs = vec![Ev::Request {
                method: "POST".to_owned(),
                target: "/up".to_owned(),
                version: Version::HTTP_11,
                headers: f(&[("host", "a"), ("transfer-encoding", "chunked")]),
            }];
            if !data.is_empty() {
                evs.push(Ev::Data(data.clone()));
            }
            evs.push(Ev::End(f(trailers)));
            evs.push(Ev::Closed);
            evs
        };
        assert_eq!(
            server_events(&request),
            want_request,
            "{:?}",
            String::from_utf8_lossy(&request)
        );

        // ServerConn's response, read by the client and (its body) by the server.
        let response = server_body(pieces, t);
        let head_end = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        assert!(
            response.starts_with(head_end),
            "{:?}",
            String::from_utf8_lossy(&response)
        );
        let body = &response[head_end.len()..];
        assert_eq!(
            body,
            &request[request.len() - body.len()..],
            "same chunk bytes both ways"
        );
        let mut want_response = vec![Ev::Response {
            status: 200,
            reason: b"OK".to_vec(),
            version: Version::HTTP_11,
            headers: f(&[("transfer-encoding", "chunked")]),
        }];
        if !data.is_empty() {
            want_response.push(Ev::Data(data.clone()));
        }
        want_response.push(Ev::End(f(trailers)));
        want_response.push(Ev::Closed);
        assert_eq!(client_events(&Method::GET, &response), want_response);
        assert_eq!(body_events(body), accepted(&data, trailers));
    }

    #[test]
    fn plain_chunks() {
        round_trip(&[(b"hello", &[]), (b" ", &[]), (b"world", &[])], &[]);
    }

    #[test]
    fn with_trailers() {
        round_trip(
            &[(b"abc", &[])],
            &[
                ("x-sum", "900150983cd24fb0"),
                ("x-more", "1"),
                ("x-more", "2"),
            ],
        );
    }

    #[test]
    fn with_extensions_of_every_kind() {
        round_trip(
            &[
                (b"one", &[("a", None)]),
                (b"two", &[("tok", Some("v-1.2"))]),
                (b"three", &[("q", Some("two words")), ("e", Some(""))]),
                (
                    b"four",
                    &[("esc", Some("say \"hi\" \\o/")), ("tab", Some("a\tb"))],
                ),
                (
                    b"five",
                    &[("x", None), ("y", Some("z")), ("w", Some("semi;colon=eq"))],
                ),
            ],
            &[("t", "v")],
        );
    }

    #[test]
    fn empty_data_skipped() {
        round_trip(
            &[
                (b"", &[]),
                (b"a", &[]),
                (b"", &[("ignored", None)]),
                (b"", &[]),
                (b"b", &[]),
            ],
            &[],
        );
        let out = client_body(&[(b"", &[]), (b"a", &[]), (b"", &[])], None);
        assert!(
            out.ends_with(b"\r\n\r\n1\r\na\r\n0\r\n\r\n"),
            "{:?}",
            String::from_utf8_lossy(&out)
        );
    }

    #[test]
    fn zero_length_body() {
        round_trip(&[], &[]);
        round_trip(&[(b"", &[])], &[]);
        let out = server_body(&[], None);
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"
        );
    }

    #[test]
    fn zero_length_body_with_trailers() {
        round_trip(&[], &[("x-only", "trailers")]);
        let out = server_body(&[], Some(&header_map(&[("x-only", "trailers")])));
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\nx-only: trailers\r\n\r\n"
        );
    }

    #[test]
    fn empty_trailer_map_is_no_trailers() {
        let out = server_body(&[(b"x", &[])], Some(&HeaderMap::new()));
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
        );
    }

    #[test]
    fn exact_bytes() {
        let out = server_body(
            &[(&[b'q'; 26], &[("n", Some("v w"))]), (b"0\r\n\r\n", &[])],
            Some(&header_map(&[("t", "1")])),
        );
        let mut want =
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1a;n=\"v w\"\r\n".to_vec();
        want.extend_from_slice(&[b'q'; 26]);
        want.extend_from_slice(b"\r\n5\r\n0\r\n\r\n\r\n0\r\nt: 1\r\n\r\n");
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&want)
        );
    }

    #[test]
    fn binary_data_with_framing_bytes() {
        let all: Vec<u8> = (0..=255u8).collect();
        round_trip(
            &[
                (b"\r\n", &[]),
                (b"0\r\n\r\n", &[]),
                (&all, &[]),
                (b"\n", &[]),
            ],
            &[("t", "1")],
        );
    }

    #[test]
    fn large_chunk() {
        let big: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        round_trip(&[(&big, &[("big", None)]), (b"end", &[])], &[]);
    }

    #[test]
    fn pseudo_random_pieces() {
        // A fixed LCG: sizes 0..64 (some empty), bytes of every value, extensions now and then.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        let exts: [&[ChunkExtension<'_>]; 4] = [
            &[],
            &[("a", None)],
            &[("k", Some("v"))],
            &[("q", Some("x \"y\""))],
        ];
        for round in 0..6 {
            let n = 1 + next() % 8;
            let datas: Vec<Vec<u8>> = (0..n)
                .map(|_| {
                    let len = next() % 64;
                    (0..len).map(|_| next() as u8).collect()
                })
                .collect();
            let pieces: Vec<Piece<'_>> = datas
                .iter()
                .map(|d| (d.as_slice(), exts[next() % exts.len()]))
                .collect();
            let trailers: &[(&str, &str)] = if round % 2 == 0 { &[] } else { &[("r", "1")] };
            round_trip(&pieces, trailers);
        }
    }
}
