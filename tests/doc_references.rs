//! The tests that `docs/conformance.md` and `docs/rfc-requirements.md` cite for each rule
//! exist: `S::name` in `tests/proto_server.rs`, `C::module::name` in
//! `tests/proto_client.rs`, `T::name` in `tests/tls_close.rs`, `file.rs::name` in
//! `tests/file.rs`. A rule whose test was renamed or removed would otherwise keep citing
//! it.

use std::fs;

fn read(path: &str) -> String {
    let path = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Whether `s` is a Rust name as the tests are named (`name` itself is the docs' legend).
fn test_name(s: &str) -> bool {
    !s.is_empty()
        && s != "name"
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The test names cited as `` `PREFIX…name` `` in `docs` (the last `::` segment).
fn cited(docs: &str, prefix: &str) -> Vec<String> {
    let marker = format!("`{prefix}");
    docs.match_indices(&marker)
        .filter_map(|(at, _)| {
            let rest = &docs[at + marker.len()..];
            let path = &rest[..rest.find('`')?];
            let name = path.rsplit("::").next()?;
            test_name(name).then(|| name.to_owned())
        })
        .collect()
}

/// The citations `` `file.rs::name` ``: (file, name). Each `.rs::` is taken with the text
/// around it up to the backticks on either side.
fn cited_in_files(docs: &str) -> Vec<(String, String)> {
    docs.match_indices(".rs::")
        .filter_map(|(at, _)| {
            let start = docs[..at].rfind('`')? + 1;
            let end = at + docs[at..].find('`')?;
            let (file, name) = docs[start..end].split_once(".rs::")?;
            (test_name(file) && test_name(name)).then(|| (format!("{file}.rs"), name.to_owned()))
        })
        .collect()
}

/// Whether `source` defines the test `name`: a table entry (`name: ...` at the start of a
/// line, as the table macros take them) or a function.
fn defines(source: &str, name: &str) -> bool {
    let entry = format!("{name}:");
    let function = format!("fn {name}(");
    source.lines().any(|line| {
        let line = line.trim_start();
        line.starts_with(&entry) || line.starts_with(&function)
    })
}

#[test]
fn every_test_the_conformance_docs_cite_exists() {
    let docs = read("docs/conformance.md") + &read("docs/rfc-requirements.md");
    let mut checked = 0;
    let mut missing = Vec::new();
    for (prefix, file) in [
        ("S::", "tests/proto_server.rs"),
        ("C::", "tests/proto_client.rs"),
        ("T::", "tests/tls_close.rs"),
    ] {
        let source = read(file);
        for name in cited(&docs, prefix) {
            checked += 1;
            if !defines(&source, &name) {
                missing.push(format!("{prefix}{name} ({file})"));
            }
        }
    }
    for (file, name) in cited_in_files(&docs) {
        checked += 1;
        let path = format!("tests/{file}");
        let found = fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
            .is_ok_and(|source| defines(&source, &name));
        if !found {
            missing.push(format!("{file}::{name} ({path})"));
        }
    }
    // The docs cite hundreds: far fewer means the citation format changed under this test.
    assert!(checked > 300, "only {checked} citations found");
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "cited by the docs, defined nowhere: {missing:?}"
    );
}

#[test]
fn a_citation_of_a_test_that_does_not_exist_is_found() {
    let docs = "| rule | `S::host_missing_http11`, `S::no_such_test_here` |";
    let source = read("tests/proto_server.rs");
    let names = cited(docs, "S::");
    assert_eq!(names, ["host_missing_http11", "no_such_test_here"]);
    assert!(defines(&source, &names[0]));
    assert!(!defines(&source, &names[1]));
    let files = cited_in_files("`serve.rs::bad_requests` and `S::name`, `a.rs::name`");
    assert_eq!(files, [("serve.rs".to_owned(), "bad_requests".to_owned())]);
}
