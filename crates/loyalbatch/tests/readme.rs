//! The README documents every flag of `loyalbatch serve`, with its
//! environment twin: a flag added without a line in the Configuration
//! tables fails here.

use std::process::Command;

const README: &str = include_str!("../../../README.md");

#[test]
fn every_serve_flag_and_its_environment_twin_is_in_the_readme() {
    let help = Command::new(env!("CARGO_BIN_EXE_loyalbatch"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    let configuration = &README[README.find("## Configuration").unwrap()..];
    let mut flags = 0;
    for line in help.lines().map(str::trim_start) {
        let Some(flag) = line.strip_prefix("--") else {
            continue;
        };
        let flag = flag.split([' ', '<']).next().unwrap();
        if flag == "help" {
            continue;
        }
        flags += 1;
        assert!(
            README.contains(&format!("`--{flag}`")),
            "--{flag} is not in the README"
        );
    }
    for env in help
        .split("[env: ")
        .skip(1)
        .map(|rest| rest.split(['=', ']']).next().unwrap())
    {
        assert!(
            README.contains(&format!("`{env}`")),
            "{env} is not in the README"
        );
    }
    assert!(flags > 40, "{flags} flags read from --help");
    assert!(configuration.contains("`--send-timeout`"));
}
