//! Descriptors as a budget: how many connections the open-files limit leaves room for,
//! and whether an error says none is left.

/// The most connections a default cap allows, however high the open-files limit.
pub(crate) const MAX_CONNECTIONS: usize = 16_384;

/// The fewest descriptors the default cap leaves for everything else (unless that is more
/// than half of them): what a few lookups in getaddrinfo(3), the pollers and the standard
/// streams take at once. An eighth of a low limit (8 of 64) is too few: lookups then fail
/// for want of a descriptor.
const RESERVED_AT_LEAST: u64 = 32;

/// The default cap on open connections for this soft limit on open files (`None`: no
/// limit): seven eighths of it, at most [`MAX_CONNECTIONS`], leaving at least
/// [`RESERVED_AT_LEAST`] (or half of a limit lower than 64). The part left over is room
/// for everything else that needs a descriptor while the connections are all open:
/// pollers, the resolver, files, a server's listener and the connections it refuses
/// cleanly (accepted, then closed) instead of failing in accept(2) with EMFILE.
pub(crate) fn connections_within(open_files: Option<u64>) -> usize {
    let Some(soft) = open_files else {
        return MAX_CONNECTIONS;
    };
    let room = soft - (soft / 8).max(RESERVED_AT_LEAST.min(soft / 2));
    usize::try_from(room)
        .unwrap_or(usize::MAX)
        .clamp(1, MAX_CONNECTIONS)
}

/// The default cap for the process's soft limit on open files as it is now.
pub(crate) fn connections_within_current_limit() -> usize {
    let open_files = crate::sys::open_files_soft_limit().unwrap_or_else(|e| {
        log::warn!("cannot read the open-files limit: {e}");
        None
    });
    connections_within(open_files)
}

/// Whether `error` (or one of its sources) says this process or the system has no
/// descriptor left (EMFILE, ENFILE): nothing to do with the peer.
pub(crate) fn out_of_descriptors(error: &std::io::Error) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(io.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) {
                return true;
            }
            // A resolver's answer given to several lookups wraps the one error, whose
            // source is the wrapper's own.
            let shared = io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<super::resolve::SharedError>());
            if shared.is_some_and(|shared| out_of_descriptors(shared.shared())) {
                return true;
            }
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_leaves_an_eighth_of_the_descriptors_and_at_least_32() {
        let cases = [
            (None, 16_384),
            (Some(u64::MAX), 16_384),
            (Some(1_048_576), 16_384),
            (Some(20_000), 16_384),
            (Some(18_724), 16_384),
            (Some(18_723), 16_383),
            (Some(16_384), 14_336),
            (Some(4_096), 3_584),
            (Some(1_024), 896),
            (Some(256), 224),
            (Some(255), 223),
            (Some(100), 68),
            (Some(64), 32),
            (Some(16), 8),
            (Some(8), 4),
            (Some(2), 1),
            (Some(1), 1),
            (Some(0), 1),
        ];
        for (soft, want) in cases {
            assert_eq!(connections_within(soft), want, "{soft:?}");
        }
    }

    #[test]
    fn out_of_descriptors_is_found_under_context() {
        let emfile = std::io::Error::from_raw_os_error(libc::EMFILE);
        assert!(out_of_descriptors(&emfile));
        let wrapped = super::super::annotate(emfile, None, "connecting to 127.0.0.1:80".into());
        assert!(wrapped.raw_os_error().is_none());
        assert!(out_of_descriptors(&wrapped));
        let enfile = std::io::Error::from_raw_os_error(libc::ENFILE);
        assert!(out_of_descriptors(&enfile));
        let refused = std::io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert!(!out_of_descriptors(&super::super::annotate(
            refused,
            None,
            "connecting".into()
        )));
    }
}
