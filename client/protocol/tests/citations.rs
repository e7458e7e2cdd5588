//! The code's citations of the protocol notes stay honest: every `<name>.md §N` in the
//! workspace's sources and documents names a note that exists and a section it has (a heading
//! whose number is N), and nothing points at notes outside the repository.
//!
//! A citation is a markdown file name followed by `§` and a number, optionally continued by
//! more numbers (`, §5.5`, ` and §7`, `-§1.3.3`). A bare name (`vod-api.md`) means
//! `docs/protocol/<name>`; a name with a directory is taken from the workspace root. Inside a
//! note (not its README), a `§N` that follows no file name refers to that note itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file kinds searched for citations.
const EXTENSIONS: &[&str] = &["rs", "md", "toml", "json", "py"];

/// Directories never searched: build output and version control.
const SKIPPED_DIRS: &[&str] = &["target", ".git", "node_modules"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Every searched file under `dir`, sorted.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if !SKIPPED_DIRS.contains(&name) {
                files(&path, out);
            }
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e))
        {
            out.push(path);
        }
    }
}

/// The section numbers of a note: the first word of each heading outside code fences, with
/// a trailing `.` and a leading `§` removed (`## 2.3 Verifying` → `2.3`).
fn sections(text: &str) -> Vec<String> {
    let mut in_fence = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim();
        if let Some(word) = title.split_whitespace().next() {
            let number = word.trim_start_matches('§').trim_end_matches('.');
            if number.starts_with(|c: char| c.is_ascii_digit()) {
                out.push(number.to_owned());
            }
        }
    }
    out
}

/// One cited section: where (byte offset), which note (workspace-relative), which number.
struct Citation {
    at: usize,
    note: String,
    section: String,
}

/// The section number starting at `text[i..]` (digits and dots, a trailing dot dropped), and
/// the offset just after it (before that dot: a sentence's end ends a list).
fn number_at(text: &str, i: usize) -> (String, usize) {
    let len = text[i..]
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len() - i);
    let number = text[i..i + len].trim_end_matches('.');
    (number.to_owned(), i + number.len())
}

/// The citations in `text`. `own` is the note a bare `§N` refers to (for the notes
/// themselves), `None` elsewhere.
fn citations(text: &str, own: Option<&str>) -> Vec<Citation> {
    let mut out = Vec::new();
    let mut claimed = Vec::new();
    for (dot, _) in text.match_indices(".md") {
        let start = text[..dot]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || "_-./".contains(c)))
            .map_or(0, |p| {
                p + text[p..].chars().next().map_or(1, char::len_utf8)
            });
        let name = &text[start..dot];
        if name.is_empty() || name.ends_with('/') {
            continue;
        }
        let rest = &text[dot + 3..];
        let after = rest.trim_start_matches('`');
        let Some(list) = after.strip_prefix(" §") else {
            continue;
        };
        let note = if name.contains('/') {
            format!("{name}.md")
        } else {
            format!("docs/protocol/{name}.md")
        };
        // Offset of the first number, then any continuation of the list.
        let mut i = text.len() - list.len();
        loop {
            claimed.push(i - '§'.len_utf8());
            let (section, end) = number_at(text, i);
            if !section.is_empty() {
                out.push(Citation {
                    at: i,
                    note: note.clone(),
                    section,
                });
            }
            let tail = &text[end..];
            let Some(gap) = tail.find('§') else { break };
            let between = &tail[..gap];
            if between.len() > 6 || !between.chars().all(|c| ", -–`and".contains(c)) {
                break;
            }
            i = end + gap + '§'.len_utf8();
        }
    }
    if let Some(own) = own {
        for (at, _) in text.match_indices('§') {
            if claimed.contains(&at) {
                continue;
            }
            let (section, _) = number_at(text, at + '§'.len_utf8());
            if !section.is_empty() {
                out.push(Citation {
                    at,
                    note: own.to_owned(),
                    section,
                });
            }
        }
    }
    out
}

/// Every citation of a protocol note names an existing note and one of its section numbers.
#[test]
fn every_cited_section_exists() {
    let root = workspace_root();
    let mut paths = Vec::new();
    files(&root, &mut paths);
    let mut notes: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
    let mut broken = Vec::new();
    let mut checked = 0;
    for path in &paths {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let rel = path
            .strip_prefix(&root)
            .expect("under the root")
            .to_string_lossy()
            .replace('\\', "/");
        let own = (rel.starts_with("docs/protocol/")
            && rel.ends_with(".md")
            && !rel.ends_with("/README.md"))
        .then_some(rel.as_str());
        for c in citations(&text, own) {
            checked += 1;
            let known = notes.entry(c.note.clone()).or_insert_with(|| {
                std::fs::read_to_string(root.join(&c.note))
                    .ok()
                    .map(|t| sections(&t))
            });
            let line = text[..c.at].matches('\n').count() + 1;
            match known {
                None => broken.push(format!("{rel}:{line}: {} does not exist", c.note)),
                Some(s) if !s.contains(&c.section) => broken.push(format!(
                    "{rel}:{line}: {} has no section {} (its sections: {})",
                    c.note,
                    c.section,
                    s.join(" ")
                )),
                Some(_) => {}
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} citations found: is the parser broken?"
    );
    assert!(
        broken.is_empty(),
        "{} broken citation(s):\n{}",
        broken.len(),
        broken.join("\n")
    );
}

/// Nothing in the repository cites notes that live outside it.
#[test]
fn no_citation_points_outside_the_repository() {
    let root = workspace_root();
    let mut paths = Vec::new();
    files(&root, &mut paths);
    // Built from parts so that this file does not match itself.
    let needles = [["shared", "spec"].join("/"), ["/work", "shared"].join("/")];
    let mut found = Vec::new();
    for path in &paths {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if needles.iter().any(|needle| line.contains(needle.as_str())) {
                found.push(format!("{}:{}: {line}", path.display(), n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "citations of notes outside the repository (cite docs/protocol/ instead):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_parser_reads_lists_and_bare_names() {
    let text = "x (docs/protocol/vod-api.md §5.4, §5.5) y `cos-api.md` §2.3 step 6; \
                README.md is not one; vod-api.md §1.3.1-§1.3.3. and §9 alone";
    let got: Vec<(String, String)> = citations(text, None)
        .into_iter()
        .map(|c| (c.note, c.section))
        .collect();
    let want = [
        ("docs/protocol/vod-api.md", "5.4"),
        ("docs/protocol/vod-api.md", "5.5"),
        ("docs/protocol/cos-api.md", "2.3"),
        ("docs/protocol/vod-api.md", "1.3.1"),
        ("docs/protocol/vod-api.md", "1.3.3"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    assert_eq!(got, want);
    let own: Vec<String> = citations(
        "see §2.1 and cos-api.md §3",
        Some("docs/protocol/vod-api.md"),
    )
    .into_iter()
    .map(|c| format!("{} {}", c.note, c.section))
    .collect();
    assert_eq!(
        own,
        ["docs/protocol/cos-api.md 3", "docs/protocol/vod-api.md 2.1"]
    );
    assert_eq!(
        sections("# T\n## 1. A\n### 1.3 B\n```\n# 9 no\n```\n#### §2.4 C"),
        ["1", "1.3", "2.4"]
    );
}
