//! The `--config` file: a TOML table of options, added to the command line as flags for each
//! option given neither as a flag nor in the environment, so clap alone applies precedence and
//! validation.

use super::Cli;

/// `args` plus `--option value` for each option of the invoked command that the config file sets
/// and neither `args` nor the environment (`env`) does.
pub(super) fn with_config_file(
    mut args: Vec<String>,
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<Vec<String>> {
    let Some(path) = config_path(&args, &env) else {
        return Ok(args);
    };
    let table = read_table(&path)?;
    let root = <Cli as clap::CommandFactory>::command();
    let command = invoked_command(&root, &args);
    let known: Vec<&clap::Arg> = all_args(&root);
    let mut extra = Vec::new();
    for (key, value) in &table {
        let long = key.replace('_', "-");
        check_key(&known, &path, key, &long)?;
        let Some(arg) = command
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()))
        else {
            continue; // an option of another command
        };
        let flag = format!("--{long}");
        let given = args
            .iter()
            .any(|a| *a == flag || a.starts_with(&format!("{flag}=")));
        let in_env = arg
            .get_env()
            .and_then(|e| e.to_str())
            .is_some_and(|e| env(e).is_some());
        if given || in_env {
            continue;
        }
        extra.extend(flag_and_value(&path, key, flag, value, arg)?);
    }
    args.extend(extra);
    Ok(args)
}

/// `--config FILE` or `--config=FILE` in `args`, else `TAGGING_CONFIG`.
fn config_path(args: &[String], env: &impl Fn(&str) -> Option<String>) -> Option<String> {
    args.iter()
        .enumerate()
        .find_map(|(i, a)| match a.strip_prefix("--config") {
            Some("") => args.get(i + 1).cloned(),
            Some(rest) => rest.strip_prefix('=').map(str::to_owned),
            None => None,
        })
        .or_else(|| env("TAGGING_CONFIG"))
}

fn read_table(path: &str) -> anyhow::Result<toml::Table> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("--config: cannot read {path}: {e}"))?;
    text.parse()
        .map_err(|e| anyhow::anyhow!("--config: {path} is not valid TOML: {e}"))
}

/// The invoked (sub)command, as clap itself reads `args` (options may stand before it).
fn invoked_command<'a>(root: &'a clap::Command, args: &[String]) -> &'a clap::Command {
    let matches = root
        .clone()
        .ignore_errors(true)
        .try_get_matches_from(args)
        .ok();
    let mut command = root;
    let mut level = matches.as_ref();
    while let Some((name, sub)) = level.and_then(clap::ArgMatches::subcommand) {
        match command.find_subcommand(name) {
            Some(found) => command = found,
            None => break,
        }
        level = Some(sub);
    }
    command
}

/// A key must name an option of some command, and never the key itself.
fn check_key(known: &[&clap::Arg], path: &str, key: &str, long: &str) -> anyhow::Result<()> {
    if !known.iter().any(|a| a.get_long() == Some(long)) || long == "config" {
        anyhow::bail!("--config: {path}: unknown option `{key}`");
    }
    // Config files get copied and committed; a key belongs in a file of its own.
    if long == "master-key" {
        anyhow::bail!(
            "--config: {path}: `master_key` is not read from a config file; name a key file with `master_key_file`"
        );
    }
    Ok(())
}

/// The command-line words for one key's value: a switch is present or absent, a list is joined
/// with commas as clap's `value_delimiter` splits it.
fn flag_and_value(
    path: &str,
    key: &str,
    flag: String,
    value: &toml::Value,
    arg: &clap::Arg,
) -> anyhow::Result<Vec<String>> {
    let switch = matches!(arg.get_action(), clap::ArgAction::SetTrue);
    Ok(match (value, switch) {
        (toml::Value::Boolean(on), true) => {
            if *on {
                vec![flag]
            } else {
                vec![]
            }
        }
        (_, true) => anyhow::bail!("--config: {path}: `{key}` must be true or false"),
        (toml::Value::String(v), false) => vec![flag, v.clone()],
        (toml::Value::Integer(v), false) => vec![flag, v.to_string()],
        (toml::Value::Array(items), false) => {
            let items: Option<Vec<&str>> = items.iter().map(toml::Value::as_str).collect();
            let items = items.ok_or_else(|| {
                anyhow::anyhow!("--config: {path}: `{key}` must be a list of strings")
            })?;
            vec![flag, items.join(",")]
        }
        (_, false) => anyhow::bail!(
            "--config: {path}: `{key}` must be a string, an integer or a list of strings"
        ),
    })
}

fn all_args(command: &clap::Command) -> Vec<&clap::Arg> {
    let mut out: Vec<&clap::Arg> = command.get_arguments().collect();
    for sub in command.get_subcommands() {
        out.extend(all_args(sub));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::{config_file, serve};

    #[test]
    fn flags_beat_the_environment_which_beats_the_config_file() {
        let file = config_file(
            "listen = \"127.0.0.1:1\"\nmax_tags_per_resource = 7\ninsecure_no_auth = true\nreserved_prefixes = [\"x:\", \"y:\"]\nrequest_timeout_ms = 5\n",
        );
        let path = file.path().to_str().unwrap().to_owned();
        let args: Vec<String> = [
            "tagging-service",
            "serve",
            "--config",
            &path,
            "--listen",
            "127.0.0.1:2",
        ]
        .map(String::from)
        .to_vec();
        let env = |name: &str| (name == "TAGGING_MAX_TAGS_PER_RESOURCE").then(|| "9".to_owned());
        let merged = with_config_file(args, env).unwrap();
        // The environment is read by clap itself; here only the file's share is checked.
        assert!(
            !merged.contains(&"--max-tags-per-resource".to_owned()),
            "{merged:?}"
        );
        let s = serve(merged);
        assert_eq!(s.listen.to_string(), "127.0.0.1:2");
        assert!(s.insecure_no_auth);
        assert_eq!(s.reserved_prefixes, ["x:", "y:"]);
        assert_eq!(s.request_timeout_ms, 5);
    }

    #[test]
    fn config_file_errors_name_the_file_and_key() {
        let unknown = config_file("no_such_option = 1\n");
        let path = unknown.path().to_str().unwrap().to_owned();
        let args = vec![
            "tagging-service".into(),
            "serve".into(),
            format!("--config={path}"),
        ];
        let err = with_config_file(args, |_| None).unwrap_err().to_string();
        assert!(
            err.contains("no_such_option") && err.contains(&path),
            "{err}"
        );

        let bad = config_file("listen = [");
        let path = bad.path().to_str().unwrap().to_owned();
        let err = with_config_file(vec!["t".into(), "serve".into()], |n| {
            (n == "TAGGING_CONFIG").then(|| path.clone())
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("not valid TOML"), "{err}");
    }

    #[test]
    fn the_file_applies_when_global_options_come_before_the_command() {
        let file = config_file("max_tags_per_resource = 2\n");
        let path = file.path().to_str().unwrap().to_owned();
        let args = [
            "tagging-service",
            "--config",
            &path,
            "--log-format",
            "json",
            "serve",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            serve(with_config_file(args, |_| None).unwrap()).max_tags_per_resource,
            2
        );
    }

    #[test]
    fn options_of_other_commands_are_skipped() {
        let file = config_file("listen = \"127.0.0.1:1\"\ndatabase_url = \"sqlite:x.db\"\n");
        let path = file.path().to_str().unwrap().to_owned();
        let args = ["tagging-service", "token", "list", "--config", &path]
            .map(String::from)
            .to_vec();
        let merged = with_config_file(args, |_| None).unwrap();
        assert!(
            merged.ends_with(&["--database-url".to_owned(), "sqlite:x.db".to_owned()]),
            "{merged:?}"
        );
        assert!(!merged.contains(&"--listen".to_owned()));
    }
}
