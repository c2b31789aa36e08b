//! The configuration reference, `docs/configuration.md`, against the command line's own
//! definitions: every option of every command (its long name, environment variable and default)
//! is in the document as clap defines it, and every option the document lists exists.
//!
//! The document's option tables sit under headings that name, in backticks, the commands the
//! table applies to (`tagging-service` for the options every command takes, else the command's
//! path, such as `token create`). Each row starts `` | `--flag` | `VARIABLE` or none | default | ``;
//! the default is `` `value` `` (`` `""` `` for the empty string), `none`, `off` (a switch) or
//! `required`, and may be followed by a note in parentheses.

use std::collections::{BTreeMap, BTreeSet};

use clap::{ArgAction, CommandFactory};
use tagging_service::config::Cli;

const DOC: &str = "docs/configuration.md";
/// The root command's name, under which the document lists the options of every command.
const ROOT: &str = "tagging-service";

/// An option as the command line defines it, or as a row of the document states it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Opt {
    long: String,
    env: String,
    default: String,
}

/// Every command's path (`tagging-service` for the root) and its options, from clap.
fn defined() -> BTreeMap<String, BTreeMap<String, Opt>> {
    fn walk(cmd: &clap::Command, path: String, out: &mut BTreeMap<String, BTreeMap<String, Opt>>) {
        let mut opts = BTreeMap::new();
        for arg in cmd.get_arguments() {
            let Some(long) = arg.get_long() else {
                continue; // a positional argument, not an option
            };
            // clap's own flags, and the global options, listed once, with the root's.
            if matches!(arg.get_id().as_str(), "help" | "version")
                || (arg.is_global_set() && path != ROOT)
            {
                continue;
            }
            let env = arg
                .get_env()
                .map_or("none".to_owned(), |e| format!("`{}`", e.to_string_lossy()));
            let values: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            let default = match (values.as_slice(), arg.get_action()) {
                ([v], ArgAction::SetTrue) if v == "false" => "off".to_owned(),
                ([], _) if arg.is_required_set() => "required".to_owned(),
                ([], _) => "none".to_owned(),
                ([v], _) if v.is_empty() => "`\"\"`".to_owned(),
                (values, _) => format!("`{}`", values.join(",")),
            };
            let long = format!("--{long}");
            opts.insert(long.clone(), Opt { long, env, default });
        }
        out.insert(path.clone(), opts);
        // `help` is clap's own subcommand.
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = sub.get_name();
            let sub_path = if path == ROOT {
                name.to_owned()
            } else {
                format!("{path} {name}")
            };
            walk(sub, sub_path, out);
        }
    }
    let mut out = BTreeMap::new();
    let mut root = Cli::command();
    // Built as the binary builds it, so switches have their actions and defaults.
    root.build();
    assert_eq!(root.get_name(), ROOT);
    walk(&root, ROOT.to_owned(), &mut out);
    out
}

/// One table of the document: the commands its heading names, and its rows.
#[derive(Debug)]
struct Section {
    heading: String,
    commands: Vec<String>,
    rows: Vec<Opt>,
}

/// The backticked spans of `text`, in order.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// A default cell: `` `value` ``, `none`, `off` or `required`, then an optional note in
/// parentheses; the note is dropped.
fn default_cell(cell: &str) -> String {
    match cell.find(" (") {
        Some(at) if cell.ends_with(')') => cell[..at].trim().to_owned(),
        _ => cell.to_owned(),
    }
}

/// The option tables of the document, each under the heading that names its commands.
fn documented(doc: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    let mut heading = String::new();
    for line in doc.lines() {
        if line.starts_with('#') {
            heading = line.trim_start_matches('#').trim().to_owned();
            continue;
        }
        let Some(row) = line.strip_prefix('|') else {
            continue;
        };
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let named = backticked(cells[0]);
        let Some(long) = named.first().filter(|f| f.starts_with("--")) else {
            continue; // a header, a separator or a table that lists no options
        };
        assert!(
            cells.len() >= 4,
            "{DOC}: the row of {long} needs a variable and a default: {line}"
        );
        let opt = Opt {
            long: (*long).to_owned(),
            env: cells[1].to_owned(),
            default: default_cell(cells[2]),
        };
        match sections.last_mut() {
            Some(s) if s.heading == heading => s.rows.push(opt),
            _ => sections.push(Section {
                heading: heading.clone(),
                commands: backticked(&heading)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                rows: vec![opt],
            }),
        }
    }
    sections
}

/// What differs between the command line and the document, one line per difference.
fn drift(defined: &BTreeMap<String, BTreeMap<String, Opt>>, doc: &str) -> Vec<String> {
    let sections = documented(doc);
    let mut problems = Vec::new();
    // Every row is an option of each command its heading names, as clap defines it.
    for s in &sections {
        if s.commands.is_empty() {
            problems.push(format!(
                "the options under \"{}\" name no command in their heading",
                s.heading
            ));
        }
        let mut seen = BTreeSet::new();
        for row in &s.rows {
            if !seen.insert(&row.long) {
                problems.push(format!(
                    "{} is listed twice under \"{}\"",
                    row.long, s.heading
                ));
            }
        }
        for command in &s.commands {
            let Some(opts) = defined.get(command) else {
                problems.push(format!(
                    "\"{}\" names `{command}`, which is no command",
                    s.heading
                ));
                continue;
            };
            for row in &s.rows {
                match opts.get(&row.long) {
                    None => problems.push(format!(
                        "{} is listed for `{command}`, which has no such option",
                        row.long
                    )),
                    Some(opt) if opt != row => problems.push(format!(
                        "`{command}` {}: the document says variable {} and default {}, the \
                         command line defines variable {} and default {}",
                        row.long, row.env, row.default, opt.env, opt.default
                    )),
                    Some(_) => {}
                }
            }
        }
    }
    // Every option of every command is in a table that names the command.
    for (command, opts) in defined {
        for long in opts.keys() {
            let listed = sections
                .iter()
                .any(|s| s.commands.contains(command) && s.rows.iter().any(|r| &r.long == long));
            if !listed {
                problems.push(format!(
                    "`{command}` {long} is not in {DOC} (a row under a heading naming `{command}`)"
                ));
            }
        }
    }
    problems
}

fn document() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DOC);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn the_configuration_reference_lists_every_option_as_the_command_line_defines_it() {
    let defined = defined();
    assert!(
        defined
            .get("serve")
            .is_some_and(|o| o.contains_key("--listen")),
        "clap's definitions were read: {defined:?}"
    );
    let problems = drift(&defined, &document());
    assert!(
        problems.is_empty(),
        "{DOC} differs from the command line:\n  {}",
        problems.join("\n  ")
    );
}

/// The check itself catches each kind of drift: a changed default, a changed variable, an option
/// the document lacks, an option that does not exist, and a command that does not exist.
#[test]
fn the_configuration_check_fails_when_the_document_drifts() {
    let defined = defined();
    let doc = document();
    let listen = doc
        .lines()
        .find(|l| l.starts_with("| `--listen`"))
        .expect("the document has a row for --listen");
    let cases = [
        (
            "a changed default",
            doc.replace(listen, &listen.replace("127.0.0.1:50051", "0.0.0.0:50051")),
        ),
        (
            "a changed variable",
            doc.replace(listen, &listen.replace("TAGGING_LISTEN", "TAGGING_ADDRESS")),
        ),
        ("a missing option", doc.replace(&format!("{listen}\n"), "")),
        (
            "an option that does not exist",
            doc.replace(
                listen,
                &format!("{listen}\n| `--no-such-option` | none | none | |"),
            ),
        ),
        (
            "a command that does not exist",
            format!(
                "{doc}\n## `no-such-command`\n\n| Flag | Variable | Default | Meaning |\n|---|---|---|---|\n{listen}\n"
            ),
        ),
    ];
    for (what, changed) in cases {
        assert_ne!(changed, doc, "{what}: the document was changed");
        assert!(
            !drift(&defined, &changed).is_empty(),
            "{what} went unnoticed"
        );
    }
}
