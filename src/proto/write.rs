//! Serializing message heads.

use http::header::{CONNECTION, CONTENT_LENGTH, DATE, HOST, TE, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, HeaderValue};

use super::date::HttpDate;
use super::error::Error;
use super::framing::list_items;

/// The framing header a head announces (which may differ from the body actually sent:
/// a HEAD response announces the GET framing and sends nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FramingField {
    /// No framing field of ours; `allow_caller_framing` lets a caller's Content-Length or
    /// Transfer-Encoding through (304: the framing a 200 would have had, RFC 9112 §6.1).
    Nothing {
        allow_caller_framing: bool,
    },
    ContentLength(u64),
    Chunked,
}

pub(crate) fn write_decimal(n: u64, out: &mut Vec<u8>) {
    // Most numbers written are short lengths: up to four digits go out as a fixed-size
    // copy, without the loop and a copy of a variable length.
    if n < 10_000 {
        let n = n as u16;
        let digit = |d: u16| b'0' + (d % 10) as u8;
        match n {
            0..=9 => out.push(digit(n)),
            10..=99 => out.extend_from_slice(&[digit(n / 10), digit(n)]),
            100..=999 => out.extend_from_slice(&[digit(n / 100), digit(n / 10), digit(n)]),
            _ => out.extend_from_slice(&[digit(n / 1000), digit(n / 100), digit(n / 10), digit(n)]),
        }
        return;
    }
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// `name: value\r\n` for each field, in the map's order.
pub(crate) fn write_fields(headers: &HeaderMap, out: &mut Vec<u8>) {
    for (name, value) in headers {
        write_field(name.as_str(), value, out);
    }
}

#[inline]
fn write_field(name: &str, value: &HeaderValue, out: &mut Vec<u8>) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// True when a `Connection` field of `headers` lists `token`.
pub(crate) fn lists_token(headers: &HeaderMap, name: &http::HeaderName, token: &str) -> bool {
    let lists = |v: &HeaderValue| {
        list_items(v.as_bytes()).any(|t| t.eq_ignore_ascii_case(token.as_bytes()))
    };
    // Most maps hold a field or two: a walk costs less than hashing the name.
    if headers.len() <= SMALL_MAP {
        return headers.iter().any(|(n, v)| n == name && lists(v));
    }
    headers.get_all(name).iter().any(lists)
}

/// Up to this many fields, looking a name up by walking the map is the cheaper way.
const SMALL_MAP: usize = 8;

/// Which of the fields we may add, or require, the caller gave: one walk over the map
/// instead of a hash lookup for each (most maps hold a field or two, often none).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct CallerFields {
    length: bool,
    te: bool,
    pub(crate) connection: bool,
    date: bool,
    upgrade: bool,
    /// The request field `TE` (not Transfer-Encoding).
    te_request: bool,
}

impl CallerFields {
    pub(crate) fn survey(headers: &HeaderMap) -> Self {
        let mut found = Self::default();
        for name in headers.keys() {
            if name == CONTENT_LENGTH {
                found.length = true;
            } else if name == TRANSFER_ENCODING {
                found.te = true;
            } else if name == CONNECTION {
                found.connection = true;
            } else if name == DATE {
                found.date = true;
            } else if name == UPGRADE {
                found.upgrade = true;
            } else if name == TE {
                found.te_request = true;
            }
        }
        found
    }
}

/// The caller's one Content-Length value: a field that is not a list is not repeated (RFC
/// 9110 §5.3), even with the same value.
fn single_length(headers: &HeaderMap) -> Result<&HeaderValue, Error> {
    let mut values = headers.get_all(CONTENT_LENGTH).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => Ok(value),
        _ => Err(Error::local("Content-Length given more than once")),
    }
}

/// The connection option a head announces on top of the caller's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectionField {
    /// Nothing (HTTP/1.1 persists by default).
    Nothing,
    /// `connection: close`: the connection ends after this message.
    Close,
    /// `connection: keep-alive`: an HTTP/1.0 peer's connection persists.
    KeepAlive,
}

/// Writes the caller's fields, then ours: the framing field (unless the caller already
/// gave the same one), the connection options unless the caller's `Connection` already
/// lists them (`connection`; `upgrade` when the caller sends `Upgrade`, RFC 9110 §7.8; `te`
/// when the caller sends `TE`, RFC 9112 §7.4), and `date` if the caller gave no `Date`.
/// `switching`: the head is a 101, which must carry the caller's `Upgrade` field (RFC 9110
/// §7.8). `host_first`: a request's head, whose Host goes first (RFC 9110 §7.2).
pub(crate) fn write_fields_with_framing(
    headers: &HeaderMap,
    framing: FramingField,
    connection: ConnectionField,
    date: Option<&HttpDate>,
    flags: (bool, bool),
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let caller = CallerFields::survey(headers);
    write_surveyed_fields(headers, caller, framing, connection, date, flags, out)
}

/// [`write_fields_with_framing`] for a caller that surveyed `headers` already.
pub(crate) fn write_surveyed_fields(
    headers: &HeaderMap,
    caller: CallerFields,
    framing: FramingField,
    connection: ConnectionField,
    date: Option<&HttpDate>,
    (switching, host_first): (bool, bool),
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    if switching && !caller.upgrade {
        return Err(Error::local("101 without an Upgrade field"));
    }
    let write_ours = match framing {
        FramingField::Nothing {
            allow_caller_framing,
        } => {
            if (caller.te || caller.length) && !allow_caller_framing {
                return Err(Error::local(
                    "framing fields (Content-Length, Transfer-Encoding) do not fit this message",
                ));
            }
            if caller.te && caller.length {
                return Err(Error::local(
                    "both Content-Length and Transfer-Encoding given",
                ));
            }
            if caller.length {
                single_length(headers)?;
            }
            false
        }
        FramingField::ContentLength(n) => {
            if caller.te {
                return Err(Error::local(
                    "Transfer-Encoding given for a body of known length",
                ));
            }
            if caller.length {
                let mut expected = Vec::new();
                write_decimal(n, &mut expected);
                if single_length(headers)?.as_bytes() != expected {
                    return Err(Error::local(format!(
                        "Content-Length given does not match the body length {n}"
                    )));
                }
            }
            !caller.length
        }
        FramingField::Chunked => {
            if caller.length {
                return Err(Error::local("Content-Length given for a chunked body"));
            }
            if caller.te {
                let all_chunked = headers
                    .get_all(TRANSFER_ENCODING)
                    .iter()
                    .all(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
                if !all_chunked || headers.get_all(TRANSFER_ENCODING).iter().count() != 1 {
                    return Err(Error::local(
                        "only `transfer-encoding: chunked` is supported on output",
                    ));
                }
            }
            !caller.te
        }
    };
    if host_first {
        // A user agent SHOULD send Host first (RFC 9110 §7.2): it is, whatever the
        // caller's order; the others keep theirs.
        for value in headers.get_all(HOST) {
            write_field(HOST.as_str(), value, out);
        }
        for (name, value) in headers.iter().filter(|(name, _)| *name != HOST) {
            write_field(name.as_str(), value, out);
        }
    } else {
        write_fields(headers, out);
    }
    if write_ours {
        match framing {
            FramingField::ContentLength(n) => {
                out.extend_from_slice(b"content-length: ");
                write_decimal(n, out);
                out.extend_from_slice(b"\r\n");
            }
            FramingField::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
            FramingField::Nothing { .. } => {}
        }
    }
    let listed = |token| caller.connection && lists_token(headers, &CONNECTION, token);
    if connection == ConnectionField::Nothing && !caller.upgrade && !caller.te_request {
        // The usual head: no connection option of ours.
        write_date_and_end(date, caller.date, out);
        return Ok(());
    }
    let mut options = [""; 3];
    let mut count = 0;
    let mut add = |option| {
        options[count] = option;
        count += 1;
    };
    match connection {
        ConnectionField::Close if !listed("close") => add("close"),
        ConnectionField::KeepAlive if !listed("keep-alive") => add("keep-alive"),
        _ => {}
    }
    if caller.upgrade && !listed("upgrade") {
        add("upgrade");
    }
    if caller.te_request && !listed("te") {
        add("te");
    }
    if count > 0 {
        out.extend_from_slice(b"connection: ");
        for (i, option) in options[..count].iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            out.extend_from_slice(option.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
    write_date_and_end(date, caller.date, out);
    Ok(())
}

/// `date: ...` unless the caller gave a Date, then the blank line that ends the head: one
/// fixed-size copy with a date.
fn write_date_and_end(date: Option<&HttpDate>, caller_date: bool, out: &mut Vec<u8>) {
    match date.filter(|_| !caller_date) {
        Some(date) => {
            let mut line = [0u8; DATE_AND_END.len() + HttpDate::LEN];
            let (name, rest) = line.split_at_mut(6);
            name.copy_from_slice(&DATE_AND_END[..6]);
            let (text, end) = rest.split_at_mut(HttpDate::LEN);
            text.copy_from_slice(date.text());
            end.copy_from_slice(&DATE_AND_END[6..]);
            out.extend_from_slice(&line);
        }
        None => out.extend_from_slice(b"\r\n"),
    }
}

/// What goes around the date: the field's name, then its line end and the blank line.
const DATE_AND_END: &[u8; 10] = b"date: \r\n\r\n";

#[cfg(test)]
mod tests {
    use super::write_decimal;

    #[test]
    fn decimals_of_every_length_are_written_as_text() {
        let mut n = 1u64;
        let mut cases = vec![0, u64::MAX];
        while let Some(next) = n.checked_mul(10) {
            cases.extend([n - 1, n, n + 1, next - 1]);
            n = next;
        }
        for n in cases {
            let mut out = b"x".to_vec();
            write_decimal(n, &mut out);
            assert_eq!(out, format!("x{n}").as_bytes(), "{n}");
        }
    }
}
