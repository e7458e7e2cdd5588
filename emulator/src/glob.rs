//! Glob patterns as fault rules and journal filters take them (`vod-*-125`, `*/f0.mp4`): one
//! matcher, so a pattern means the same wherever a user writes it.

/// `*` matches any run of characters (including `/`), `?` exactly one; everything else itself.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_runs_and_single_characters() {
        assert!(glob_matches("*", ""));
        assert!(glob_matches("vod-*-125", "vod-ap-guangzhou-125"));
        assert!(glob_matches("*/f0.mp4", "a/b/f0.mp4"));
        assert!(glob_matches("a?c", "abc"));
        assert!(!glob_matches("a?c", "ac"));
        assert!(!glob_matches("*.jpg", "a/f0.mp4"));
        assert!(glob_matches("a*b*c", "axxbyyc"));
    }
}
