//! Byte classes of RFC 9110/3986 as lookup tables, and word-at-a-time helpers for the hot
//! loops of head parsing (checking a target, lowercasing names).

/// A 256-entry membership table for a byte pattern, built at compile time.
macro_rules! byte_table {
    ($pattern:pat) => {{
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = matches!(i as u8, $pattern);
            i += 1;
        }
        t
    }};
}

const TCHAR: [bool; 256] = byte_table!(
    b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`'
        | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z'
);

/// reg-name characters other than pct-encoded triplets (unreserved and sub-delims): a
/// Host's name part, with `%` checked apart.
const REG_NAME: [bool; 256] = byte_table!(
    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'!' | b'$'
        | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
);

/// RFC 9110 tchar.
#[inline]
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[b as usize]
}

/// A non-empty run of tchars.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// A reg-name character that is not part of a pct-encoded triplet.
#[inline]
pub(crate) fn is_reg_name(b: u8) -> bool {
    REG_NAME[b as usize]
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = ONES * 0x80;

/// The length of the prefix of `s` made of visible ASCII (0x21..=0x7e), eight bytes at a
/// time.
pub(crate) fn visible_ascii_len(s: &[u8]) -> usize {
    let mut words = s.chunks_exact(8);
    let mut done = 0;
    for word in &mut words {
        let x = u64::from_le_bytes([
            word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
        ]);
        // Some byte < 0x21, or some byte > 0x7e (exact "any" tests, see Bit Twiddling
        // Hacks' hasless/hasmore).
        let below = x.wrapping_sub(ONES * 0x21) & !x & HIGHS;
        let above = (x.wrapping_add(ONES) | x) & HIGHS;
        if below | above != 0 {
            break;
        }
        done += 8;
    }
    done + s[done..]
        .iter()
        .position(|&b| !(0x21..=0x7e).contains(&b))
        .unwrap_or(s.len() - done)
}

/// Each byte's ASCII lowercase.
const LOWER: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).to_ascii_lowercase();
        i += 1;
    }
    t
};

/// Lowercases the ASCII letters of `buf[range]`, which holds only ASCII (a token): eight
/// bytes at a time, then a table load per remaining byte.
pub(crate) fn lowercase_in(buf: &mut [u8], range: std::ops::Range<usize>) {
    let s = &mut buf[range];
    let mut words = s.chunks_exact_mut(8);
    for word in &mut words {
        let x = u64::from_le_bytes([
            word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
        ]);
        // For bytes below 0x80 no addition carries into the next byte, and the high bit of
        // b + (0x80 - c) is set exactly when b >= c.
        let at_least_a = x + ONES * (0x80 - 0x41);
        let past_z = x + ONES * (0x80 - 0x5b);
        let upper = at_least_a & !past_z & HIGHS & !x;
        if upper != 0 {
            word.copy_from_slice(&(x | (upper >> 2)).to_le_bytes());
        }
    }
    for b in words.into_remainder() {
        *b = LOWER[*b as usize];
    }
}

/// Only CR and LF bytes (or none): what may follow a message that closed the connection
/// without being taken as another (RFC 9112 §2.2's robustness; llhttp skips the same).
pub(crate) fn only_line_ends(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == b'\r' || b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_ascii_len_matches_a_byte_loop() {
        let mut s = [b'a'; 40];
        for at in 0..40 {
            for bad in [0x00, 0x20, 0x7f, 0x80, 0xff, b'\r', b'\t'] {
                s[at] = bad;
                assert_eq!(visible_ascii_len(&s), at, "bad {bad:#x} at {at}");
                s[at] = b'a';
            }
        }
        assert_eq!(visible_ascii_len(&s), 40);
        for edge in [0x21u8, 0x7e] {
            assert_eq!(visible_ascii_len(&[edge; 17]), 17);
        }
    }

    #[test]
    fn lowercase_in_matches_std_and_leaves_the_rest() {
        // Every ASCII byte at every offset and length, followed by bytes that must stay
        // (high bytes included, which carry in the word arithmetic).
        let ascii: Vec<u8> = (0u8..0x80).collect();
        for start in 0..8 {
            for len in 0..24 {
                let mut buf = ascii[start..start + len].to_vec();
                buf.extend_from_slice(b"Ab\xff\xc0Z\x80zQ");
                let mut expected = buf.clone();
                expected[..len].make_ascii_lowercase();
                lowercase_in(&mut buf, 0..len);
                assert_eq!(buf, expected, "start {start} len {len}");
            }
        }
    }

    #[test]
    fn tables_match_the_grammar() {
        for b in 0..=255u8 {
            let tchar = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            assert_eq!(is_tchar(b), tchar, "{b:#x}");
            let reg = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b);
            assert_eq!(is_reg_name(b), reg, "{b:#x}");
        }
    }
}
