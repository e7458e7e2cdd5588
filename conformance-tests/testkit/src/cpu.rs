//! CPU time from `/proc`, for the benches' accounts of where the CPU went (Linux only;
//! elsewhere every reading is `None`).

/// `/proc` counts CPU time in ticks of `USER_HZ`, which the kernel ABI fixes at 100 on every
/// architecture the benches run on.
pub const TICKS_PER_SECOND: f64 = 100.0;

/// One `/proc/.../stat` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// The process's or thread's name.
    pub name: String,
    /// Its user and system time, in ticks.
    pub ticks: u64,
    /// The user and system time of its children that have been waited for, in ticks.
    pub children: u64,
}

/// Reads a `stat` file: `/proc/self/stat`, `/proc/PID/stat`, `/proc/PID/task/TID/stat`.
pub fn stat(path: &str) -> Option<Stat> {
    parse(&std::fs::read_to_string(path).ok()?)
}

/// The name is in parentheses and may hold spaces and parentheses, so the numbers are read
/// after the last `)`: state is field 0 there, utime 11, stime 12, cutime 13, cstime 14.
fn parse(stat: &str) -> Option<Stat> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let rest: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    let field = |i: usize| rest.get(i)?.parse::<u64>().ok();
    Some(Stat {
        name,
        ticks: field(11)? + field(12)?,
        children: field(13)? + field(14)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_spaces_and_parentheses_are_read_whole() {
        let line = "42 (tokio (rt) w) S 1 42 42 0 -1 4194560 10 0 0 0 7 3 5 2 20 0 9 0 100";
        assert_eq!(
            parse(line),
            Some(Stat {
                name: "tokio (rt) w".into(),
                ticks: 10,
                children: 7,
            })
        );
        assert_eq!(parse("42 (x) S 1 2"), None);
    }

    #[test]
    fn this_process_has_a_stat_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(stat("/proc/self/stat").is_some());
        }
    }
}
