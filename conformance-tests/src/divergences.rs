//! Known divergences are data: `divergences/<target>.txt`, one property name per line (`#`
//! comments), for rules a target is known to break. They are compiled in so the binary works
//! from anywhere; `--divergences FILE` reads another list.

/// The checked-in list for a target kind.
pub fn builtin(target: &str) -> Vec<String> {
    let text = match target {
        "emulator" => include_str!("../divergences/emulator.txt"),
        "cloud" => include_str!("../divergences/cloud.txt"),
        _ => include_str!("../divergences/endpoint.txt"),
    };
    parse(text)
}

/// Parses a list: property names, one per line, `#` starts a comment.
pub fn parse(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_ignore_comments_and_blank_lines() {
        assert_eq!(
            parse("# c\n\nround_trip  # why\n x \n"),
            vec!["round_trip", "x"]
        );
    }
}
