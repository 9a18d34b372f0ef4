//! The configuration language, option by option: accepted forms and the
//! exact error for each rejected one (SPEC §2).

use super::*;

/// A file holding one job with `body` from line 4 on.
fn with_job(body: &str) -> String {
    format!("job {{\n  name t\n  cmd /bin/true\n{body}\n}}\n")
}

fn parse_ok(src: &str) -> Config {
    match parse_bytes("t.conf", src.as_bytes()) {
        Ok(c) => c,
        Err(errors) => panic!("{src:?} was rejected:\n{}", lines(&errors)),
    }
}

fn lines(errors: &[Error]) -> String {
    errors.iter().map(|e| format!("{e}\n")).collect()
}

/// The job parsed from [`with_job`]`(body)`.
fn job(body: &str) -> JobSpec {
    let mut c = parse_ok(&with_job(body));
    assert_eq!(c.jobs.len(), 1);
    c.jobs.remove(0)
}

/// Every error for `src`, as printed.
fn errors(src: &str) -> Vec<String> {
    match parse_bytes("t.conf", src.as_bytes()) {
        Ok(c) => panic!("{src:?} was accepted: {c:?}"),
        Err(errors) => errors.iter().map(|e| e.to_string()).collect(),
    }
}

/// The one error for a job with `body`.
fn job_error(body: &str) -> String {
    let mut e = errors(&with_job(body));
    assert_eq!(e.len(), 1, "{body:?}: {e:#?}");
    e.remove(0)
}

/// Checks a table of (body, expected error) pairs.
fn rejects(table: &[(&str, &str)]) {
    for (body, want) in table {
        assert_eq!(job_error(body), *want, "body {body:?}");
    }
}

// ---- the whole file -------------------------------------------------------

#[test]
fn empty_file_has_no_jobs() {
    assert_eq!(parse_ok(""), Config::default());
    assert_eq!(parse_ok("\n\n# only comments\n   \n"), Config::default());
}

#[test]
fn minimal_job_takes_defaults() {
    let j = job("");
    assert_eq!(&*j.name, "t");
    assert_eq!(&*j.cmd, [Box::from("/bin/true")]);
    assert_eq!(j.dir, None);
    assert_eq!(j.out, Output::Null);
    assert_eq!(j.err, Output::Null);
    assert_eq!(j.extra().input, None);
    assert!(j.env.is_empty());
    assert_eq!(j.user, None);
    assert_eq!(j.extra().nice, None);
    assert_eq!(j.extra().cpu, None);
    assert!(j.extra().ulimits.is_empty());
    assert_eq!(j.extra().bounce_secs, None);
    assert!(j.extra().depends.is_empty());
    assert_eq!(j.order, 0);
    assert_eq!(j.extra().kill_after_secs, DEFAULT_KILL_AFTER_SECS);
    assert!(!j.disable && !j.wait && !j.once);
    assert_eq!(j.origin.job, Pos::at(1, 1));
    assert_eq!(j.origin.user, None);
}

/// The rarely set options are boxed only when one is written (issue 18);
/// a job that writes one at its default still equals a job without, so a
/// reload that adds `kill after 10` restarts nothing (SPEC §6).
#[test]
fn rare_options_at_their_defaults_change_nothing() {
    assert_eq!(job("kill after 10"), job(""));
    assert_ne!(job("kill after 11"), job(""));
    assert_ne!(job("umask 022"), job(""));
}

#[test]
fn crlf_and_missing_final_newline_are_accepted() {
    let unix = parse_ok("job {\n name a\n cmd /bin/echo \"x y\"\n}\n");
    assert_eq!(
        parse_ok("job {\r\n name a\r\n cmd /bin/echo \"x y\"\r\n}\r\n"),
        unix
    );
    assert_eq!(parse_ok("job {\n name a\n cmd /bin/echo \"x y\"\n}"), unix);
    assert_eq!(
        parse_ok("job {\r\n name a\r\n cmd /bin/echo \"x y\"\r\n}"),
        unix
    );
}

#[test]
fn byte_order_mark_is_ignored() {
    assert_eq!(
        parse_ok("\u{feff}job {\n name a\n cmd /bin/true\n}\n")
            .jobs
            .len(),
        1
    );
}

#[test]
fn indentation_blank_lines_and_option_order_are_free() {
    let a = parse_ok("job {\nname a\ncmd /bin/true\nonce\n}\n");
    let b = parse_ok("\n\n\t job   {\n\n   once\n\t\tcmd\t/bin/true\n name a\n\n   }\n");
    assert_eq!(a, b);
}

#[test]
fn equal_meaning_compares_equal() {
    let a = parse_ok(
        "job {\n name a\n cmd /bin/sleep 5\n env A=1\n}\njob {\n name b\n cmd /bin/true\n ulimit -n 10\n}\n",
    );
    // Whitespace, comments and the position of the job in the file
    // differ; job by job, the specs are the same.
    let b = parse_ok(
        "# moved\n\n\njob {\n  name b\n\t# comment\n  ulimit { -n 10 }\n  cmd   /bin/true\n}\n\njob {\n cmd /bin/sleep \"5\"\n env A=1\n name a\n}\n",
    );
    assert_eq!(a.jobs[0], b.jobs[1]);
    assert_eq!(a.jobs[1], b.jobs[0]);
    assert_ne!(a.jobs[0].origin.job, b.jobs[1].origin.job);
}

#[test]
fn changed_meaning_compares_unequal() {
    let base = job("");
    for body in [
        "once",
        "env A=1",
        "dir /x",
        "nice 1",
        "order 1",
        "kill after 3",
        "out syslog",
        "cpu 0",
    ] {
        assert_ne!(job(body), base, "{body}");
    }
}

#[test]
fn keyword_only_at_line_start() {
    // `name` after `cmd` is an argument, not a second option.
    assert_eq!(
        job_args("cmd /bin/echo name x"),
        vec!["/bin/echo", "name", "x"]
    );
    // `}` after an option is not the job's end.
    assert_eq!(job_args("cmd /bin/echo }"), vec!["/bin/echo", "}"]);
    // A comment only starts a line.
    assert_eq!(
        job_args("cmd /bin/echo #1 # not a comment"),
        vec!["/bin/echo", "#1", "#", "not", "a", "comment"]
    );
}

/// `cmd` of a job whose `cmd` line is `line` (no other cmd).
fn job_args(line: &str) -> Vec<String> {
    let c = parse_ok(&format!("job {{\n name t\n {line}\n}}\n"));
    c.jobs[0].cmd.iter().map(|a| a.to_string()).collect()
}

#[test]
fn quotes_group_and_escape() {
    let table: &[(&str, &[&str])] = &[
        (
            r#"cmd /bin/sh -c "sleep 1; echo hi""#,
            &["/bin/sh", "-c", "sleep 1; echo hi"],
        ),
        (
            r#"cmd /bin/bash -c "DATE=`date`; /bin/node -d $DATE""#,
            &["/bin/bash", "-c", "DATE=`date`; /bin/node -d $DATE"],
        ),
        (
            r#"cmd /bin/echo "a \"b\" c" "\\""#,
            &["/bin/echo", r#"a "b" c"#, r"\"],
        ),
        (
            r#"cmd /bin/printf "%s\n" """#,
            &["/bin/printf", r"%s\n", ""],
        ),
        (r#"cmd "/opt/my app/run" x"#, &["/opt/my app/run", "x"]),
        (
            "cmd /bin/echo it's *.c $HOME",
            &["/bin/echo", "it's", "*.c", "$HOME"],
        ),
    ];
    for (line, want) in table {
        assert_eq!(job_args(line), *want, "{line}");
    }
}

#[test]
fn odd_arguments_pass_through_exactly() {
    // Issue 8: spaces, quotes, UTF-8 and very long words reach the job
    // byte for byte, or are refused; never cut.
    let long = "x".repeat(100_000);
    let line = format!("cmd /bin/echo \"a  b\" 'q' \"\\\"\" héllo→ {long} \"\"");
    assert_eq!(
        job_args(&line),
        vec!["/bin/echo", "a  b", "'q'", "\"", "héllo→", &long, ""]
    );
    let j = job(&format!(
        "env \"K=v w\"\nenv L={long}\nout \"/tmp/a b.log\""
    ));
    assert_eq!(j.env, vec!["K=v w".to_string(), format!("L={long}")]);
    assert_eq!(j.out, Output::File("/tmp/a b.log".into()));
}

#[test]
fn lexical_errors() {
    rejects(&[
        (
            "  cmd2 \"unclosed",
            "t.conf:4:8: unclosed quote: a quoted argument must end on the same line",
        ),
        (
            "  env \"A=1\"x",
            "t.conf:4:12: text right after a closing quote; put a space after the quote or quote the whole argument",
        ),
        (
            "  env A=\u{7}",
            "t.conf:4:9: control character U+0007 is not allowed",
        ),
    ]);
}

#[test]
fn misspelt_cmd_is_not_also_missing() {
    assert_eq!(
        errors("job {\n name a\n cmdd /bin/x\n}\n"),
        vec!["t.conf:3:2: unknown option 'cmdd' (did you mean 'cmd'?)"]
    );
    assert_eq!(
        errors("job {\n nmae a\n cmd /bin/x\n}\n"),
        vec!["t.conf:2:2: unknown option 'nmae' (did you mean 'name'?)"]
    );
}

#[test]
fn broken_line_does_not_add_missing_cmd() {
    assert_eq!(
        errors("job {\n name a\n cmd /bin/sh -c \"x\n}\n"),
        vec!["t.conf:3:17: unclosed quote: a quoted argument must end on the same line"]
    );
}

#[test]
fn not_utf8_is_reported_at_the_first_bad_byte() {
    let e = parse_bytes("t.conf", b"job {\n  name a\xffb\n").unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(
        e[0].to_string(),
        "t.conf:2:9: not valid UTF-8 (byte 0xff); save the file as UTF-8"
    );
    let e = parse_bytes("t.conf", b"\xc3\xa9\xc3").unwrap_err();
    assert_eq!(e[0].pos(), Some(Pos::at(1, 2)));
    // Columns count chars, not bytes, on the bad byte's line only.
    let e = parse_bytes("t.conf", b"\xc3\xa9\n\n x\xe2\x82\xac\xf0\x9f\x98\x80\xff").unwrap_err();
    assert_eq!(e[0].pos(), Some(Pos::at(3, 5)));
}

#[test]
fn over_one_mebibyte_is_refused() {
    let big = vec![b'#'; (MAX_FILE_BYTES + 1) as usize];
    let e = parse_bytes("t.conf", &big).unwrap_err();
    assert_eq!(
        e[0].to_string(),
        "t.conf: file is 1048577 bytes, over the 1 MiB limit"
    );
    let exactly = vec![b'\n'; MAX_FILE_BYTES as usize];
    assert!(parse_bytes("t.conf", &exactly).is_ok());
}

#[test]
fn thousands_of_jobs_are_accepted() {
    let src: String = (0..parse::MAX_JOBS)
        .map(|i| format!("job {{\n name j{i}\n cmd /bin/sleep {i}\n}}\n"))
        .collect();
    assert_eq!(parse_ok(&src).jobs.len(), parse::MAX_JOBS);
}

#[test]
fn too_many_jobs_is_an_error() {
    let src: String = (0..=parse::MAX_JOBS)
        .map(|i| format!("job {{\nname j{i}\ncmd /x\n}}\n"))
        .collect();
    let e = errors(&src);
    assert_eq!(
        e,
        vec!["t.conf:40001:1: too many jobs: at most 10000 are allowed"]
    );
}

#[test]
fn errors_stop_after_a_hundred() {
    let src = "bad\n".repeat(500);
    let e = errors(&src);
    assert_eq!(e.len(), parse::MAX_ERRORS + 1);
    assert_eq!(
        e[0],
        "t.conf:1:1: unknown keyword 'bad': expected 'job {', 'report to', 'listen on' or 'metrics to'"
    );
    assert_eq!(
        e[parse::MAX_ERRORS],
        "t.conf: too many errors; stopped reporting after 100"
    );
}

#[test]
fn every_error_is_reported_in_file_order() {
    let e = errors("job {\n name a\n cmdd /bin/x\n nice 99\n}\njob {\n name a\n cmd x\n}\n");
    assert_eq!(
        e,
        vec![
            "t.conf:3:2: unknown option 'cmdd' (did you mean 'cmd'?)",
            "t.conf:4:7: nice 99 is out of range: expected -20 (highest priority) to 19 (lowest)",
            "t.conf:7:7: duplicate job name 'a' (first used at line 2:7)",
            "t.conf:8:6: 'cmd' must be an absolute path (starting with '/'), not 'x'",
        ]
    );
}

// ---- structure: jobs, braces, keywords ------------------------------------

#[test]
fn structure_errors() {
    let table: &[(&str, &[&str])] = &[
        ("}\n", &["t.conf:1:1: '}' without a matching '{'"]),
        ("{\n", &["t.conf:1:1: '{' without 'job' before it"]),
        (
            "cmd /bin/true\n",
            &["t.conf:1:1: option 'cmd' outside a job: put it inside 'job { ... }'"],
        ),
        (
            "jbo {\n",
            &["t.conf:1:1: unknown keyword 'jbo' (did you mean 'job'?)"],
        ),
        (
            "frobnicate\n",
            &[
                "t.conf:1:1: unknown keyword 'frobnicate': expected 'job {', 'report to', 'listen on' or 'metrics to'",
            ],
        ),
        (
            "\"job\" {\n",
            &["t.conf:1:1: a line must start with an option name, not the quoted text \"job\""],
        ),
        (
            "job {\n name a\n cmd /x\n",
            &["t.conf:1:5: unclosed '{' of this job: no matching '}'"],
        ),
        (
            "job {  name a\n cmd /x\n}\n",
            &["t.conf:1:8: text after '{': put each option on a line of its own"],
        ),
        (
            "job {\n name a\n cmd /x\n} job\n",
            &["t.conf:4:3: text after '}': put it on a line of its own"],
        ),
        (
            "job\n name a\n cmd /x\n}\n",
            &["t.conf:1:1: expected '{' after 'job'"],
        ),
        (
            "job x {\n name a\n cmd /x\n}\n",
            &["t.conf:1:5: expected '{' after 'job', found 'x'"],
        ),
        (
            "job {\n}\n",
            &[
                "t.conf:1:1: job has no 'name'; it is required",
                "t.conf:1:1: job has no 'cmd'; it is required",
            ],
        ),
        (
            "job { }\n",
            &[
                "t.conf:1:1: job has no 'name'; it is required",
                "t.conf:1:1: job has no 'cmd'; it is required",
            ],
        ),
        (
            "job {\n cmd /x\n}\n",
            &["t.conf:1:1: job has no 'name'; it is required"],
        ),
        (
            "job {\n name a\n cmd /x\njob {\n name b\n cmd /y\n}\n",
            &["t.conf:1:5: unclosed '{' of this job: no matching '}'"],
        ),
        (
            "job {\n name a\n cmd /x\n report to udp://127.0.0.1:1\n}\n",
            &[
                "t.conf:4:2: 'report' inside a job: it is a global setting; put it outside every 'job { ... }'",
            ],
        ),
        (
            "job {\n name a\n cmd /x\n Name b\n}\n",
            &["t.conf:4:2: unknown option 'Name' (did you mean 'name'?)"],
        ),
        (
            "job {\n name a\n cmd /x\n nmae b\n}\n",
            &["t.conf:4:2: unknown option 'nmae' (did you mean 'name'?)"],
        ),
        (
            "job {\n name a\n cmd /x\n xyzzy\n}\n",
            &["t.conf:4:2: unknown option 'xyzzy'"],
        ),
    ];
    for (src, want) in table {
        assert_eq!(errors(src), *want, "{src:?}");
    }
}

#[test]
fn brace_on_next_line_is_accepted() {
    let c = parse_ok("job\n{\n name a\n cmd /x\n}\n");
    assert_eq!(&*c.jobs[0].name, "a");
    assert_eq!(c.jobs[0].origin.job, Pos::at(1, 1));
}

#[test]
fn origin_records_job_and_user() {
    let c = parse_ok("\n\n  job {\n name a\n cmd /x\n   user app\n}\n");
    assert_eq!(c.jobs[0].origin.job, Pos::at(3, 3));
    assert_eq!(c.jobs[0].origin.user, Some(Pos::at(6, 4)));
}

#[test]
fn repeated_single_valued_options_are_errors() {
    for option in [
        "name b",
        "cmd /bin/false",
        "dir /",
        "out x",
        "err x",
        "in x",
        "user x",
        "nice 1",
        "cpu 1",
        "bounce every 1",
        "order 1",
        "disable",
        "wait",
        "once",
        "kill after 1",
    ] {
        let src = format!("job {{\n name t\n cmd /bin/true\n {option}\n {option}\n}}\n");
        let word = option.split(' ').next().unwrap();
        let first = if word == "name" {
            "2:2"
        } else if word == "cmd" {
            "3:2"
        } else {
            "4:2"
        };
        let e = errors(&src);
        let at = if word == "name" || word == "cmd" {
            "4:2"
        } else {
            "5:2"
        };
        assert_eq!(
            e.len(),
            if word == "name" || word == "cmd" {
                2
            } else {
                1
            },
            "{option}: {e:?}"
        );
        assert_eq!(
            e[0],
            format!("t.conf:{at}: '{word}' given twice in this job (first at line {first})"),
            "{option}"
        );
    }
}

// ---- options ---------------------------------------------------------------

#[test]
fn name_forms() {
    assert_eq!(&*job("").name, "t");
    assert_eq!(
        &*parse_ok("job {\n name ws-server.2_ü\n cmd /x\n}\n").jobs[0].name,
        "ws-server.2_ü"
    );
    assert_eq!(
        errors("job {\n name \"a b\"\n cmd /x\n}\n"),
        vec!["t.conf:2:7: bad job name 'a b': use no spaces or control characters"]
    );
    assert_eq!(
        errors("job {\n name a b\n cmd /x\n}\n"),
        vec!["t.conf:2:9: too many arguments for 'name'; a job name has no spaces"]
    );
    assert_eq!(
        errors("job {\n name\n cmd /x\n}\n"),
        vec!["t.conf:2:2: 'name' needs a job name"]
    );
}

#[test]
fn cmd_forms() {
    assert_eq!(
        job_args("cmd /bin/node websocket-server.js"),
        vec!["/bin/node", "websocket-server.js"]
    );
    assert_eq!(
        errors("job {\n name a\n cmd node server.js\n}\n"),
        vec!["t.conf:3:6: 'cmd' must be an absolute path (starting with '/'), not 'node'"]
    );
    assert_eq!(
        errors("job {\n name a\n cmd\n}\n"),
        vec!["t.conf:3:2: 'cmd' needs the absolute path of a program, then its arguments"]
    );
}

#[test]
fn dir_out_err_in_forms() {
    let j = job("dir /data/app\nout node.out\nerr /var/log/node.err\nin input.txt");
    assert_eq!(j.dir.as_deref(), Some("/data/app"));
    assert_eq!(j.out, Output::File("node.out".into()));
    assert_eq!(j.err, Output::File("/var/log/node.err".into()));
    assert_eq!(j.extra().input.as_deref(), Some("input.txt"));
    let j = job("out syslog\nerr syslog");
    assert_eq!((j.out, j.err), (Output::Syslog, Output::Syslog));
    // Quoted, it is a file of that name.
    assert_eq!(job("out \"syslog\"").out, Output::File("syslog".into()));
    assert_eq!(
        job("dir \"/srv/my app\"").dir.as_deref(),
        Some("/srv/my app")
    );
    rejects(&[
        (
            "dir data",
            "t.conf:4:5: 'dir' must be an absolute path (starting with '/'), not 'data'",
        ),
        ("dir", "t.conf:4:1: 'dir' needs an absolute path"),
        (
            "dir /a b",
            "t.conf:4:8: too many arguments for 'dir' (quote an argument that contains spaces)",
        ),
        (
            "out",
            "t.conf:4:1: 'out' needs a file name or the word syslog",
        ),
        ("err \"\"", "t.conf:4:5: 'err' must not be empty"),
        (
            "in a b",
            "t.conf:4:6: too many arguments for 'in' (quote an argument that contains spaces)",
        ),
    ]);
}

#[test]
fn env_forms() {
    let j = job("env NODE_ENV=production\nenv EMPTY=\nenv \"MSG=hello world\"\nenv A=b=c");
    assert_eq!(
        j.env,
        vec!["NODE_ENV=production", "EMPTY=", "MSG=hello world", "A=b=c"]
    );
    rejects(&[
        (
            "env FOO",
            "t.conf:4:5: 'env' needs VAR=VALUE, got 'FOO' without '='",
        ),
        (
            "env =x",
            "t.conf:4:5: 'env' needs VAR=VALUE with a non-empty VAR, got '=x'",
        ),
        ("env", "t.conf:4:1: 'env' needs VAR=VALUE"),
        (
            "env MSG=hello world",
            "t.conf:4:15: too many arguments for 'env'; one VAR=VALUE a line (quote a value with spaces: env \"VAR=a b\")",
        ),
    ]);
}

#[test]
fn user_forms() {
    assert_eq!(job("user app").user.as_deref(), Some("app"));
    rejects(&[("user", "t.conf:4:1: 'user' needs a user name")]);
}

#[test]
fn nice_forms() {
    for (text, want) in [("-20", -20), ("19", 19), ("0", 0), ("5", 5), ("+3", 3)] {
        assert_eq!(
            job(&format!("nice {text}")).extra().nice,
            Some(want),
            "{text}"
        );
    }
    rejects(&[
        (
            "nice 20",
            "t.conf:4:6: nice 20 is out of range: expected -20 (highest priority) to 19 (lowest)",
        ),
        (
            "nice -21",
            "t.conf:4:6: nice -21 is out of range: expected -20 (highest priority) to 19 (lowest)",
        ),
        (
            "nice 99999999999999999999",
            "t.conf:4:6: nice 99999999999999999999 is out of range: expected -20 (highest priority) to 19 (lowest)",
        ),
        (
            "nice five",
            "t.conf:4:6: bad number 'five': expected a whole number from -20 to 19",
        ),
        (
            "nice 1.5",
            "t.conf:4:6: bad number '1.5': expected a whole number from -20 to 19",
        ),
        ("nice", "t.conf:4:1: 'nice' needs a number from -20 to 19"),
    ]);
}

#[test]
fn cpu_forms() {
    let table: &[(&str, &[u32])] = &[
        ("0", &[0]),
        ("0,2-3", &[0, 2, 3]),
        ("3,1,2-2,1", &[1, 2, 3]),
        ("0-3,2-5", &[0, 1, 2, 3, 4, 5]),
        ("0x0d", &[0, 2, 3]),
        ("0X1", &[0]),
        ("0xf0", &[4, 5, 6, 7]),
        ("0x8000000000000000", &[63]),
        ("1023", &[1023]),
        ("1020-1023", &[1020, 1021, 1022, 1023]),
    ];
    for (text, want) in table {
        assert_eq!(
            job(&format!("cpu {text}")).extra().cpu.as_deref(),
            Some(*want),
            "{text}"
        );
    }
    let mut big = String::from("0x8");
    big.push_str(&"0".repeat(255));
    assert_eq!(job(&format!("cpu {big}")).extra().cpu, Some(vec![1023]));
    // Leading zeros select nothing, however many.
    let zeros = format!("0x{}1", "0".repeat(300));
    assert_eq!(job(&format!("cpu {zeros}")).extra().cpu, Some(vec![0]));
    big.push('0');
    // A bad digit is reported before the bits beyond CPU 1023.
    let bad_and_big = format!("0xg{}", &big[2..]);
    let tail = "expected CPU numbers and ranges like 0,2-3 or a hex mask like 0x0d";
    rejects(&[
        (
            "cpu 3-1",
            "t.conf:4:5: bad cpu range '3-1': the first number must not exceed the second",
        ),
        (
            "cpu 1024",
            "t.conf:4:5: cpu 1024 is too large: CPU numbers go up to 1023",
        ),
        (
            "cpu 0-99999999999",
            "t.conf:4:5: cpu 99999999999 is too large: CPU numbers go up to 1023",
        ),
        (
            "cpu",
            "t.conf:4:1: 'cpu' needs a CPU list like 0,2-3 or a hex mask like 0x0d",
        ),
        (
            "cpu 0, 1",
            "t.conf:4:8: too many arguments for 'cpu'; write the list without spaces",
        ),
    ]);
    for (text, reason) in [
        ("x", "not a CPU number"),
        ("1,,2", "an empty item"),
        ("1,", "an empty item"),
        ("-1", "not a CPU number"),
        ("1-", "not a CPU number"),
        ("1-2-3", "not a CPU number"),
        ("0x", "no hex digits after 0x"),
        ("0xg", "not a hex number"),
        ("0x0", "the mask selects no CPU"),
        (&big, "the mask has bits beyond CPU 1023"),
        (&bad_and_big, "not a hex number"),
    ] {
        assert_eq!(
            job_error(&format!("cpu {text}")),
            format!("t.conf:4:5: bad cpu list '{text}': {reason}; {tail}")
        );
    }
}

fn ulimits(body: &str) -> Vec<(Resource, Option<u64>)> {
    job(body)
        .extra()
        .ulimits
        .iter()
        .map(|u| (u.resource, u.value))
        .collect()
}

#[test]
fn ulimit_single_forms() {
    use Resource::*;
    assert_eq!(ulimits("ulimit -n 1024"), vec![(Nofile, Some(1024))]);
    assert_eq!(
        ulimits("ulimit RLIMIT_NOFILE 1024"),
        vec![(Nofile, Some(1024))]
    );
    assert_eq!(ulimits("ulimit rlimit_core infinity"), vec![(Core, None)]);
    assert_eq!(ulimits("ulimit -c unlimited"), vec![(Core, None)]);
    assert_eq!(ulimits("ulimit -c INFINITY"), vec![(Core, None)]);
    assert_eq!(
        ulimits("ulimit -n 1024 -c infinity"),
        vec![(Nofile, Some(1024)), (Core, None)]
    );
    assert_eq!(
        ulimits("ulimit -n 10\nulimit -c 0"),
        vec![(Nofile, Some(10)), (Core, Some(0))]
    );
}

#[test]
fn ulimit_every_flag_and_name() {
    assert_eq!(Resource::RLIMIT_NAMES.split_terminator('\0').count(), 15);
    for (r, flag) in Resource::ALL.into_iter().zip(Resource::FLAGS) {
        assert_eq!(
            ulimits(&format!("ulimit -{} 7", char::from(*flag))),
            vec![(r, Some(7))]
        );
        assert_eq!(
            ulimits(&format!("ulimit {} 7", r.rlimit_name())),
            vec![(r, Some(7))]
        );
    }
}

#[test]
fn ulimit_block_forms() {
    use Resource::*;
    let want = vec![(Nofile, Some(1024)), (Core, None)];
    assert_eq!(ulimits("ulimit { -n 1024  -c infinity }"), want);
    assert_eq!(ulimits("ulimit {\n  -n 1024\n  -c infinity\n}"), want);
    assert_eq!(ulimits("ulimit {\n  -n 1024 -c infinity }"), want);
    assert_eq!(ulimits("ulimit { -n 1024\n -c infinity\n  }"), want);
}

#[test]
fn ulimit_errors() {
    rejects(&[
        (
            "ulimit -n infinity",
            "t.conf:4:11: the open files limit (-n, RLIMIT_NOFILE) cannot be infinity (the kernel refuses it); give a number such as 65536",
        ),
        (
            "ulimit RLIMIT_NOFILE unlimited",
            "t.conf:4:22: the open files limit (-n, RLIMIT_NOFILE) cannot be infinity (the kernel refuses it); give a number such as 65536",
        ),
        (
            "ulimit -z 1",
            "t.conf:4:8: unknown ulimit '-z': expected one of -c -d -e -f -i -l -m -n -q -r -s -t -u -v -x or an RLIMIT_ name",
        ),
        (
            "ulimit -nn 1",
            "t.conf:4:8: unknown ulimit '-nn': expected one of -c -d -e -f -i -l -m -n -q -r -s -t -u -v -x or an RLIMIT_ name",
        ),
        (
            "ulimit RLIMIT_NOFLE 1",
            "t.conf:4:8: unknown ulimit 'RLIMIT_NOFLE' (did you mean 'RLIMIT_NOFILE'?)",
        ),
        (
            "ulimit nofile 1",
            "t.conf:4:8: unknown ulimit 'nofile' (did you mean 'RLIMIT_NOFILE'?)",
        ),
        (
            "ulimit -n",
            "t.conf:4:8: ulimit '-n' needs a value: a number, 'infinity' or 'unlimited'",
        ),
        (
            "ulimit -n 1 -c",
            "t.conf:4:13: ulimit '-c' needs a value: a number, 'infinity' or 'unlimited'",
        ),
        (
            "ulimit -n lots",
            "t.conf:4:11: bad ulimit value 'lots': expected a number, 'infinity' or 'unlimited'",
        ),
        (
            "ulimit -n -1",
            "t.conf:4:11: bad ulimit value '-1': expected a number, 'infinity' or 'unlimited'",
        ),
        (
            "ulimit -n 99999999999999999999",
            "t.conf:4:11: bad ulimit value '99999999999999999999': expected a number, 'infinity' or 'unlimited'",
        ),
        (
            "ulimit",
            "t.conf:4:1: 'ulimit' needs a limit and a value, like -n 1024",
        ),
        (
            "ulimit -n 1\nulimit -n 2",
            "t.conf:5:8: ulimit RLIMIT_NOFILE given twice in this job (first at line 4:8)",
        ),
        (
            "ulimit { -n 1 RLIMIT_NOFILE 2 }",
            "t.conf:4:15: ulimit RLIMIT_NOFILE given twice in this job (first at line 4:10)",
        ),
        (
            "ulimit { }",
            "t.conf:4:8: empty 'ulimit { }' block: list at least one entry",
        ),
        (
            "ulimit { -n 1 } x",
            "t.conf:4:17: text after '}': put it on a line of its own",
        ),
    ]);
    // The block's `}` forgotten: the next option closes it with an error.
    assert_eq!(
        errors(&with_job("ulimit { -n 1\nonce")),
        vec!["t.conf:4:8: unclosed '{' of this ulimit: no matching '}'"]
    );
}

#[test]
fn duration_units() {
    for (text, secs) in [
        ("1", 1),
        ("90", 90),
        ("30s", 30),
        ("5m", 300),
        ("2h", 7200),
        ("1d", 86_400),
        ("3650d", 315_360_000),
    ] {
        assert_eq!(
            job(&format!("bounce every {text}")).extra().bounce_secs,
            Some(secs),
            "{text}"
        );
        assert_eq!(
            job(&format!("kill after {text}")).extra().kill_after_secs,
            secs,
            "{text}"
        );
    }
    assert_eq!(job("kill after 0").extra().kill_after_secs, 0);
    let tail = "expected a whole number with an optional unit s, m, h or d (e.g. 90, 30s, 5m, 1d)";
    for (text, reason) in [
        ("5x", "unknown unit"),
        ("1w", "unknown unit"),
        ("1D", "unknown unit"),
        ("d", "the number is missing"),
        ("-1s", "not a whole number"),
        ("1.5h", "not a whole number"),
        ("3651d", "too large (at most 3650d)"),
        ("99999999999999999999", "too large"),
        ("999999999999999999d", "too large"),
    ] {
        assert_eq!(
            job_error(&format!("bounce every {text}")),
            format!("t.conf:4:14: bad time '{text}': {reason}; {tail}")
        );
    }
    rejects(&[
        (
            "bounce every 0",
            &format!("t.conf:4:14: bad time '0': it must be at least 1 second; {tail}"),
        ),
        (
            "bounce 1d",
            "t.conf:4:8: expected 'every' after 'bounce', found '1d'",
        ),
        ("bounce", "t.conf:4:1: expected 'every' after 'bounce'"),
        (
            "bounce every",
            "t.conf:4:1: 'bounce every' needs a time like 30s, 5m, 1h or 1d",
        ),
        (
            "bounce every 1 d",
            "t.conf:4:16: too many arguments for 'bounce every'; write the time without spaces, like 30s",
        ),
        (
            "kill 5",
            "t.conf:4:6: expected 'after' after 'kill', found '5'",
        ),
        (
            "kill after",
            "t.conf:4:1: 'kill after' needs a time like 30s, 5m, 1h or 1d",
        ),
    ]);
}

#[test]
fn depends_forms() {
    let one = vec!["/etc/app.conf".to_string()];
    assert_eq!(job("depends { /etc/app.conf }").extra().depends, one);
    assert_eq!(job("depends {\n  /etc/app.conf\n}").extra().depends, one);
    assert_eq!(
        job("depends {\n/etc/a /etc/b\n  /etc/c }").extra().depends,
        vec!["/etc/a", "/etc/b", "/etc/c"]
    );
    assert_eq!(
        job("depends { /etc/a }\ndepends { /etc/b }")
            .extra()
            .depends,
        vec!["/etc/a", "/etc/b"]
    );
    // Relative paths are relative to `dir`, or to / without one.
    assert_eq!(
        job("dir /srv/app/\ndepends { app.conf }").extra().depends,
        vec!["/srv/app/app.conf"]
    );
    assert_eq!(
        job("depends { app.conf }").extra().depends,
        vec!["/app.conf"]
    );
    rejects(&[
        (
            "depends /etc/a",
            "t.conf:4:9: expected '{' after 'depends', found '/etc/a'",
        ),
        ("depends", "t.conf:4:1: expected '{' after 'depends'"),
        (
            "depends { }",
            "t.conf:4:9: empty 'depends { }' block: list at least one entry",
        ),
        (
            "depends {\n}",
            "t.conf:4:9: empty 'depends { }' block: list at least one entry",
        ),
        (
            "depends { /a } x",
            "t.conf:4:16: text after '}': put it on a line of its own",
        ),
        (
            "depends { \"\" }",
            "t.conf:4:11: 'depends' must not be empty",
        ),
        (
            "depends { /a { }",
            "t.conf:4:14: '{' without 'job' before it",
        ),
    ]);
    assert_eq!(
        errors(&with_job("depends {\n /etc/a\nonce")),
        vec!["t.conf:4:9: unclosed '{' of this depends: no matching '}'"]
    );
    assert_eq!(
        errors("job {\n name a\n cmd /x\n depends { /etc/a\n"),
        vec![
            "t.conf:1:5: unclosed '{' of this job: no matching '}'",
            "t.conf:4:10: unclosed '{' of this depends: no matching '}'",
        ]
    );
}

#[test]
fn order_forms() {
    for (text, want) in [("10", 10), ("-1", -1), ("0", 0), ("-2147483648", i32::MIN)] {
        assert_eq!(job(&format!("order {text}")).order, want);
    }
    let want = "expected a whole number, negative allowed (lower starts first)";
    rejects(&[
        (
            "order first",
            &format!("t.conf:4:7: bad number 'first': {want}"),
        ),
        (
            "order 2147483648",
            &format!("t.conf:4:7: bad number '2147483648': {want}"),
        ),
        ("order", "t.conf:4:1: 'order' needs a whole number"),
    ]);
}

#[test]
fn flag_options() {
    let j = job("disable\nwait\nonce");
    assert!(j.disable && j.wait && j.once);
    rejects(&[
        ("disable yes", "t.conf:4:9: 'disable' takes no argument"),
        ("once 1", "t.conf:4:6: 'once' takes no argument"),
        ("wait x", "t.conf:4:6: 'wait' takes no argument"),
    ]);
}

// ---- globals ---------------------------------------------------------------

fn url(line: &str) -> UdpUrl {
    let c = parse_ok(&format!("{line}\n"));
    c.report.into_iter().chain(c.listen).next().unwrap()
}

fn ip(text: &str) -> Host {
    Host::Ip(text.parse().unwrap())
}

#[test]
fn report_and_listen_forms() {
    let u = url("report to udp://127.0.0.1:9999");
    assert_eq!((u.host, u.port), (ip("127.0.0.1"), 9999));
    assert_eq!((u.text.as_str(), u.iface), ("udp://127.0.0.1:9999", None));
    let u = url("report to udp://239.0.0.1:9999@eth2");
    assert_eq!(
        (u.host, u.port, u.iface.as_deref()),
        (ip("239.0.0.1"), 9999, Some("eth2"))
    );
    assert_eq!(url("listen on udp://0.0.0.0:10000").host, ip("0.0.0.0"));
    let u = url("listen on udp://[::1]:10000");
    assert_eq!((u.host, u.port), (ip("::1"), 10000));
    assert_eq!(url("report to udp://[ff02::1]:1@eth0").host, ip("ff02::1"));
    let c = parse_ok(
        "report to udp://127.0.0.1:1\nreport to udp://127.0.0.1:2\nlisten on udp://127.0.0.1:3\n",
    );
    assert_eq!((c.report.len(), c.listen.len()), (2, 1));
}

#[test]
fn host_names_are_kept_as_written_not_looked_up() {
    // The parser does no I/O (SPEC §10): a name that exists nowhere is as
    // good as localhost here, and yields no warning.
    for name in [
        "localhost",
        "no-such-host.invalid",
        "Pi-Kitchen.local.",
        "_srv.example",
        "x1",
    ] {
        let c = parse_bytes("t.conf", format!("report to udp://{name}:9\n").as_bytes()).unwrap();
        assert_eq!(c.report[0].host, Host::Name(name.to_string()));
        assert_eq!(c.report[0].port, 9);
    }
    let longest = [
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(61),
    ]
    .join(".");
    assert_eq!(
        url(&format!("listen on udp://{longest}.:10")).host,
        Host::Name(format!("{longest}."))
    );
}

#[test]
fn url_errors() {
    let tail = "expected udp://HOST:PORT";
    for (text, reason) in [
        ("tcp://1.2.3.4:5", "it must start with udp://"),
        ("1.2.3.4:5", "it must start with udp://"),
        ("udp://1.2.3.4", "missing :PORT"),
        ("udp://:5", "missing host"),
        (
            "udp://1.2.3.4:0",
            "the port must be a number from 1 to 65535",
        ),
        (
            "udp://1.2.3.4:65536",
            "the port must be a number from 1 to 65535",
        ),
        (
            "udp://1.2.3.4:+5",
            "the port must be a number from 1 to 65535",
        ),
        (
            "udp://1.2.3.4:x",
            "the port must be a number from 1 to 65535",
        ),
        (
            "udp://::1:5",
            "put an IPv6 address in brackets, like udp://[::1]:9999",
        ),
        ("udp://[::1:5", "missing ']' after the IPv6 address"),
        ("udp://[::1]5", "missing :PORT"),
        ("udp://[nope]:5", "bad IPv6 address in brackets"),
        ("udp://a/b:5", "bad host name"),
        ("udp://a..b:5", "bad host name"),
        ("udp://.a:5", "bad host name"),
        ("udp://bäd:5", "bad host name"),
        ("udp://10.0.0.256:5", "bad IPv4 address"),
        ("udp://10.1:5", "bad IPv4 address"),
        ("udp://1.2.3.4:5@", "bad interface name after '@'"),
        (
            "udp://1.2.3.4:5@averyveryverylongname",
            "bad interface name after '@'",
        ),
    ] {
        assert_eq!(
            errors(&format!("report to {text}\n")),
            vec![format!("t.conf:1:11: bad URL '{text}': {reason}; {tail}")],
            "{text}"
        );
    }
    for long in ["a".repeat(64), ["abcdefghi"; 26].join(".")] {
        let text = format!("udp://{long}:5");
        assert_eq!(
            errors(&format!("report to {text}\n")),
            vec![format!(
                "t.conf:1:11: bad URL '{text}': bad host name; {tail}"
            )],
        );
    }
    let table: &[(&str, &str)] = &[
        (
            "listen on udp://127.0.0.1:5@lo",
            "t.conf:1:11: '@IFACE' applies only to 'report to', not to 'listen on'",
        ),
        (
            "report udp://1.2.3.4:5",
            "t.conf:1:8: expected 'to' after 'report', found 'udp://1.2.3.4:5'",
        ),
        (
            "listen to udp://1.2.3.4:5",
            "t.conf:1:8: expected 'on' after 'listen', found 'to'",
        ),
        ("listen", "t.conf:1:1: expected 'on' after 'listen'"),
        (
            "report to",
            "t.conf:1:1: 'report to' needs a URL like udp://127.0.0.1:9999",
        ),
        (
            "report to udp://1.2.3.4:5 x",
            "t.conf:1:27: too many arguments for 'report to'",
        ),
    ];
    for (src, want) in table {
        assert_eq!(errors(src), vec![*want], "{src}");
    }
}

// ---- issue 15: restart policy, backoff, give up, signals, env files, ids ---

#[test]
fn defaults_keep_todays_behaviour() {
    let j = job("");
    assert_eq!(j.restart, Restart::Always);
    assert_eq!(j.extra().restart_delay, None);
    assert_eq!(j.extra().give_up, None);
    assert_eq!(
        (j.extra().stop_signal, j.extra().reload_signal),
        (None, None)
    );
    assert!(j.extra().env_files.is_empty() && j.extra().groups.is_empty());
    assert_eq!((&j.extra().group, j.extra().umask), (&None, None));
}

#[test]
fn restart_policy_forms() {
    assert_eq!(job("restart on-failure").restart, Restart::OnFailure);
    assert_eq!(job("restart never").restart, Restart::Never);
    assert_eq!(job("restart always").restart, Restart::Always);
    // A policy and a delay are two lines of their own.
    let j = job("restart on-failure\nrestart delay 1 max 8");
    assert_eq!(j.restart, Restart::OnFailure);
    rejects(&[
        (
            "restart sometimes",
            "t.conf:4:9: expected 'always', 'on-failure', 'never' or 'delay' after 'restart', found 'sometimes'",
        ),
        (
            "restart",
            "t.conf:4:1: 'restart' needs always, on-failure, never, or delay TIME [max TIME]",
        ),
        (
            "restart never now",
            "t.conf:4:15: too many arguments for 'restart'",
        ),
        (
            "restart never\nrestart always",
            "t.conf:5:1: 'restart' given twice in this job (first at line 4:1)",
        ),
    ]);
}

#[test]
fn restart_delay_forms() {
    let delay = |body: &str| job(body).extra().restart_delay.unwrap();
    assert_eq!(
        delay("restart delay 1 max 8"),
        RestartDelay {
            secs: 1,
            max_secs: Some(8)
        }
    );
    assert_eq!(
        delay("restart delay 30s"),
        RestartDelay {
            secs: 30,
            max_secs: None
        }
    );
    assert_eq!(delay("restart delay 2 max 2").max_secs, Some(2));
    rejects(&[
        (
            "restart delay",
            "t.conf:4:9: 'restart' needs delay TIME [max TIME]",
        ),
        (
            "restart delay 5x",
            "t.conf:4:15: bad time '5x': unknown unit; expected a whole number with an optional unit s, m, h or d (e.g. 90, 30s, 5m, 1d)",
        ),
        (
            "restart delay 5 upto 8",
            "t.conf:4:17: expected 'max' after 'TIME', found 'upto'",
        ),
        (
            "restart delay 5 max",
            "t.conf:4:17: 'restart' needs delay TIME [max TIME]",
        ),
        (
            "restart delay 5 max 2",
            "t.conf:4:21: bad time '2': max must not be less than the delay; expected a whole number with an optional unit s, m, h or d (e.g. 90, 30s, 5m, 1d)",
        ),
        (
            "restart delay 1 max 8 x",
            "t.conf:4:23: too many arguments for 'restart delay'",
        ),
        (
            "restart delay 1\nrestart delay 2",
            "t.conf:5:1: 'restart delay' given twice in this job (first at line 4:1)",
        ),
    ]);
}

#[test]
fn restart_delay_zero_is_allowed_with_a_warning() {
    let cfg = parse_ok(&with_job("  restart delay 0"));
    assert_eq!(cfg.jobs[0].extra().restart_delay.unwrap().secs, 0);
    assert_eq!(cfg.warnings.len(), 1);
    assert!(
        cfg.warnings[0].to_string()
            == "t.conf:4:3: restart delay 0: a crash loop restarts without pause",
        "{:?}",
        cfg.warnings
    );
}

#[test]
fn give_up_forms() {
    assert_eq!(
        job("give up after 5 in 1m").extra().give_up,
        Some(GiveUp {
            after: 5,
            within_secs: 60,
            then_exit: false
        })
    );
    assert_eq!(
        job("give up after 1 in 10 then exit").extra().give_up,
        Some(GiveUp {
            after: 1,
            within_secs: 10,
            then_exit: true
        })
    );
    assert_eq!(
        job("give up after 100 in 1d")
            .extra()
            .give_up
            .unwrap()
            .after,
        100
    );
    rejects(&[
        (
            "give up after 101 in 1m",
            "t.conf:4:15: bad number '101': expected a whole number of quick exits from 1 to 100",
        ),
        (
            "give up after 0 in 1m",
            "t.conf:4:15: bad number '0': expected a whole number of quick exits from 1 to 100",
        ),
        (
            "give up after 3 in 0",
            "t.conf:4:20: bad time '0': it must be at least 1 second; expected a whole number with an optional unit s, m, h or d (e.g. 90, 30s, 5m, 1d)",
        ),
        (
            "give up after 3 within 1m",
            "t.conf:4:17: expected 'in' after 'N', found 'within'",
        ),
        ("give up after 3", "t.conf:4:15: expected 'in' after 'N'"),
        (
            "give up after",
            "t.conf:4:9: 'give' needs up after N in TIME [then exit]",
        ),
        (
            "give in",
            "t.conf:4:6: expected 'up' after 'give', found 'in'",
        ),
        (
            "give up after 3 in 1m then",
            "t.conf:4:23: expected 'exit' after 'then'",
        ),
        (
            "give up after 3 in 1m then stop",
            "t.conf:4:28: expected 'exit' after 'then', found 'stop'",
        ),
        (
            "give up after 3 in 1m then exit 1",
            "t.conf:4:33: too many arguments for 'give up'",
        ),
    ]);
}

#[test]
fn signal_forms() {
    for (text, raw) in [
        ("INT", 2),
        ("SIGINT", 2),
        ("int", 2),
        ("QUIT", 3),
        ("10", 10),
    ] {
        let j = job(&format!("stop signal {text}\nreload signal {text}"));
        assert_eq!(
            j.extra().stop_signal.map(Signal::as_raw),
            Some(raw),
            "{text}"
        );
        assert_eq!(
            j.extra().reload_signal.map(Signal::as_raw),
            Some(raw),
            "{text}"
        );
    }
    assert_eq!(
        job("reload signal USR2").extra().reload_signal,
        Some(Signal::USR2)
    );
    rejects(&[
        (
            "stop signal FOO",
            "t.conf:4:13: unknown signal 'FOO': expected a name like TERM, INT, HUP or USR1, or a number from 1 to 31",
        ),
        (
            "stop signal 0",
            "t.conf:4:13: unknown signal '0': expected a name like TERM, INT, HUP or USR1, or a number from 1 to 31",
        ),
        (
            "stop signal 40",
            "t.conf:4:13: unknown signal '40': expected a name like TERM, INT, HUP or USR1, or a number from 1 to 31",
        ),
        (
            "stop sig TERM",
            "t.conf:4:6: expected 'signal' after 'stop', found 'sig'",
        ),
        ("reload signal", "t.conf:4:8: 'reload' needs signal SIGNAL"),
        (
            "stop signal INT\nstop signal QUIT",
            "t.conf:5:1: 'stop signal' given twice in this job (first at line 4:1)",
        ),
    ]);
}

#[test]
fn signal_names_round_trip() {
    for n in 1..32 {
        let sig = Signal::from_named_raw(n).unwrap();
        assert_eq!(parse_signal(signal_name(sig)), Some(sig), "{n}");
    }
    for (n, name) in [
        (1, "HUP"),
        (9, "KILL"),
        (15, "TERM"),
        (17, "CHLD"),
        (31, "SYS"),
    ] {
        assert_eq!(signal_name(Signal::from_named_raw(n).unwrap()), name);
    }
    assert_eq!(parse_signal(""), None);
    assert_eq!(parse_signal("SIG"), None);
    assert_eq!(parse_signal("32"), None);
    assert_eq!(parse_signal("-1"), None);
}

#[test]
fn env_file_forms() {
    let j = job("env file /etc/default/web\nenv file -/run/web.env\nenv A=1\nenv file rel.env");
    let files: Vec<(&str, bool)> = j
        .extra()
        .env_files
        .iter()
        .map(|f| (f.path.as_str(), f.optional))
        .collect();
    assert_eq!(
        files,
        [
            ("/etc/default/web", false),
            ("/run/web.env", true),
            ("/rel.env", false)
        ]
    );
    assert_eq!(j.env, ["A=1"]);
    // Relative to `dir`, like `depends`.
    assert_eq!(
        job("dir /srv\nenv file a.env").extra().env_files[0].path,
        "/srv/a.env"
    );
    // `env file=x` is a variable named `file`.
    assert_eq!(job("env file=x").env, ["file=x"]);
    rejects(&[
        ("env file", "t.conf:4:5: 'env' needs file PATH"),
        ("env file -", "t.conf:4:10: 'env file' must not be empty"),
        (
            "env file /a b",
            "t.conf:4:13: too many arguments for 'env file'",
        ),
    ]);
}

#[test]
fn group_groups_and_umask_forms() {
    let j = job("user 1000\ngroup 100\ngroups dialout,44\numask 027");
    assert_eq!(j.user.as_deref(), Some("1000"));
    assert_eq!(j.extra().group.as_deref(), Some("100"));
    assert_eq!(j.extra().groups, ["dialout", "44"]);
    assert_eq!(j.extra().umask, Some(0o027));
    assert_eq!(j.origin.group, Some(Pos::at(5, 1)));
    assert_eq!(job("umask 0").extra().umask, Some(0));
    assert_eq!(job("umask 0777").extra().umask, Some(0o777));
    rejects(&[
        ("group", "t.conf:4:1: 'group' needs a group name or number"),
        ("groups a,,b", "t.conf:4:8: 'groups' must not be empty"),
        (
            "umask 0999",
            "t.conf:4:7: bad number '0999': expected an octal mode from 000 to 777, like 022",
        ),
        (
            "umask 01777",
            "t.conf:4:7: bad number '01777': expected an octal mode from 000 to 777, like 022",
        ),
        (
            "umask 1000",
            "t.conf:4:7: bad number '1000': expected an octal mode from 000 to 777, like 022",
        ),
        (
            "group a\ngroup b",
            "t.conf:5:1: 'group' given twice in this job (first at line 4:1)",
        ),
    ]);
}

#[test]
fn new_options_change_the_job() {
    let base = job("");
    for body in [
        "restart on-failure",
        "restart delay 1",
        "give up after 3 in 1m",
        "stop signal INT",
        "reload signal USR1",
        "env file /x",
        "group 1",
        "groups 1",
        "umask 022",
    ] {
        assert_ne!(job(body), base, "{body}");
    }
}

// ---- helpers ---------------------------------------------------------------

#[test]
fn suggestions_by_edit_distance() {
    let options = "name\0cmd\0dir\0out\0err\0in\0env\0user\0once\0order\0";
    for (typo, want) in [
        ("cmdd", Some("cmd")),
        ("cdm", Some("cmd")),
        ("nmae", Some("name")),
        ("usr", Some("user")),
        ("ordr", Some("order")),
        ("CMD", Some("cmd")),
        ("x", None),
        ("zzzzzz", None),
        ("", None),
    ] {
        assert_eq!(values::suggest(typo, options), want, "{typo}");
    }
}

/// `distance` with three rows against the whole table, as it was
/// written first: the same number for every pair.
#[test]
fn edit_distance_matches_the_whole_table() {
    fn table(a: &str, b: &str) -> usize {
        let a: Vec<char> = a.to_lowercase().chars().collect();
        let b: Vec<char> = b.to_lowercase().chars().collect();
        let w = b.len() + 1;
        let mut d = vec![0usize; (a.len() + 1) * w];
        for i in 0..=a.len() {
            d[i * w] = i;
        }
        for (j, cell) in d.iter_mut().enumerate().take(w) {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut best = (d[(i - 1) * w + j] + 1)
                    .min(d[i * w + j - 1] + 1)
                    .min(d[(i - 1) * w + j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    best = best.min(d[(i - 2) * w + j - 2] + 1);
                }
                d[i * w + j] = best;
            }
        }
        d[a.len() * w + b.len()]
    }
    let words = [
        "", "a", "ab", "ba", "abc", "acb", "bca", "name", "nmae", "NAME", "cmd", "cdm", "abcabc",
        "cabcab", "kitten", "sitting", "été", "tée", "aaaa", "ababab",
    ];
    for a in words {
        for b in words {
            assert_eq!(values::distance(a, b), table(a, b), "{a:?} {b:?}");
        }
    }
}

#[test]
fn error_position() {
    let e = parse_bytes("f.conf", b"job {\n x\n}\n").unwrap_err();
    assert_eq!(e[0].pos(), Some(Pos::at(1, 1)));
    assert_eq!(
        e[0].to_string(),
        "f.conf:1:1: job has no 'name'; it is required"
    );
}

// ---- job logs and metrics (issue 17) ---------------------------------------

#[test]
fn out_file_with_max_keep_and_stamp() {
    let j = job("  out app.log max 1M keep 3 stamp\n  err err.log stamp");
    assert_eq!(
        j.out,
        Output::Log(Box::new(LogFile {
            path: "app.log".into(),
            max: Some(1 << 20),
            keep: 3,
            stamp: true,
        }))
    );
    assert_eq!(
        j.err,
        Output::Log(Box::new(LogFile {
            path: "err.log".into(),
            max: None,
            keep: 1,
            stamp: true,
        }))
    );
    let j = job("  out app.log stamp max 64k");
    assert_eq!(
        j.out,
        Output::Log(Box::new(LogFile {
            path: "app.log".into(),
            max: Some(64 << 10),
            keep: 1,
            stamp: true,
        }))
    );
    // A plain file stays one, opened by the job itself (O_APPEND).
    assert_eq!(job("  out app.log").out, Output::File("app.log".into()));
    assert_eq!(job("  out \"max\"").out, Output::File("max".into()));
    assert_eq!(
        job("  out a max 4096 keep 0").out,
        Output::Log(Box::new(LogFile {
            path: "a".into(),
            max: Some(4096),
            keep: 0,
            stamp: false,
        }))
    );
}

#[test]
fn out_log_options_are_checked() {
    rejects(&[
        (
            "  out app.log max",
            "t.conf:4:15: 'max' needs a size like 64K, 1M or 1G, at least 4K",
        ),
        (
            "  out app.log max 1X",
            "t.conf:4:19: bad number '1X': expected a size like 64K, 1M or 1G, at least 4K",
        ),
        (
            "  out app.log max 100",
            "t.conf:4:19: bad number '100': expected a size like 64K, 1M or 1G, at least 4K",
        ),
        (
            "  out app.log max 1M keep 101",
            "t.conf:4:27: bad number '101': expected a number of rotated files to keep, 0 to 100",
        ),
        (
            "  out app.log keep 3",
            "t.conf:4:15: 'keep' needs 'max SIZE': files are rotated when they reach a size",
        ),
        (
            "  out app.log max 1M max 2M",
            "t.conf:4:22: 'max' given twice in this job (first at line 4:15)",
        ),
        (
            "  err syslog stamp",
            "t.conf:4:14: 'max', 'keep' and 'stamp' apply to a file, not to syslog",
        ),
        (
            "  out my app.log",
            "t.conf:4:10: unknown word 'app.log' after the file: expected max SIZE, keep N or stamp (quote a file name that contains spaces)",
        ),
    ]);
}

/// Sizes up to the largest that fits in 64 bits (Thumb-1 shifts where
/// other targets multiply: the shift is tested on its own too).
#[test]
fn sizes_stop_where_64_bits_do() {
    use super::values::{parse_size, shifted};
    assert_eq!(shifted(u64::MAX >> 10, 10), Some(u64::MAX >> 10 << 10));
    assert_eq!(shifted((u64::MAX >> 10) + 1, 10), None);
    assert_eq!(shifted(17179869184, 30), None);
    assert_eq!(shifted(u64::MAX, 0), Some(u64::MAX));
    assert_eq!(parse_size("4k"), Some(4096));
    assert_eq!(parse_size("3G"), Some(3 << 30));
    assert_eq!(parse_size("17179869183G"), Some(17179869183 << 30));
    assert_eq!(parse_size("17179869184G"), None);
    assert_eq!(parse_size("18014398509481983K"), Some(u64::MAX >> 10 << 10));
    assert_eq!(parse_size("18014398509481984k"), None);
    assert_eq!(parse_size("18446744073709551615"), Some(u64::MAX));
    assert_eq!(parse_size("18446744073709551616"), None);
    assert_eq!(parse_size("G"), None);
    // Units in either case, and only those (`| 0x20` takes no other
    // byte to a unit); a last byte of a longer char is no unit.
    assert_eq!(parse_size("2m"), Some(2 << 20));
    assert_eq!(parse_size("2M"), Some(2 << 20));
    assert_eq!(parse_size("2g"), Some(2 << 30));
    for text in ["", "2+", "2[", "2-", "2'", "2é", "2K2", "+2k", "k2"] {
        assert_eq!(parse_size(text), None, "{text:?}");
    }
}

#[test]
fn metrics_to_an_absolute_file_once() {
    let c = parse_ok("metrics to /var/lib/prometheus/node-exporter/pmtr.prom\n");
    assert_eq!(
        c.metrics.as_deref(),
        Some("/var/lib/prometheus/node-exporter/pmtr.prom")
    );
    assert_eq!(
        errors("metrics to pmtr.prom\n"),
        ["t.conf:1:1: 'metrics to' must be an absolute path (starting with '/'), not 'pmtr.prom'"]
    );
    assert_eq!(
        errors("metrics to /a\nmetrics to /b\n"),
        ["t.conf:2:1: 'metrics to' given twice (first at line 1:1): there is one metrics file"]
    );
    assert_eq!(
        errors("metrics /a\n"),
        ["t.conf:1:9: expected 'to' after 'metrics', found '/a'"]
    );
    assert_eq!(
        errors("job {\n name a\n cmd /x\n metrics to /a\n}\n"),
        [
            "t.conf:4:2: 'metrics' inside a job: it is a global setting; put it outside every 'job { ... }'"
        ]
    );
}

#[test]
fn fleet_example_parses() {
    let c = parse_ok(include_str!("../../examples/fleet.conf"));
    assert!(c.metrics.is_some());
    assert!(matches!(c.jobs[0].out, Output::Log(_)));
}

#[test]
fn host_names() {
    use crate::config::is_host_name;
    let l63 = "a".repeat(63);
    let l64 = "a".repeat(64);
    let long = format!("{l63}.{l63}.{l63}.{}", "a".repeat(61)); // 253 bytes
    for good in ["a", "a.", "a-b_c.d", "10.0.x", l63.as_str(), long.as_str()] {
        assert!(is_host_name(good), "{good}");
    }
    let too_long = format!("{long}a");
    for bad in [
        "", ".", "..", ".a", "a..b", "a.b..", "é", "a b", &l64, &too_long,
    ] {
        assert!(!is_host_name(bad), "{bad}");
    }
}
