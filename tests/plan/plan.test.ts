/**
 * The offline plan as users run it: `npm run plan`, `--json`, `--config`, exit codes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { PlanDocument } from "../../tools/plan/plan";
import { entries, runPlan } from "../helpers/plan-cli";

test("npm run plan prints the dev stack's waves with dependencies and key inputs", async () => {
    const run = await runPlan([]);
    assert.equal(run.status, 0, run.stderr);
    const out = run.stdout;
    assert.match(out, /^Plan for stack "dev" of project homelab$/m);
    assert.match(out, /^\d+ resources in \d+ waves, grouped by \d+ components/m);
    const waveHeaders = [...out.matchAll(/^Wave (\d+) \(\d+\)$/gm)].map((m) => Number(m[1]));
    assert.ok(waveHeaders.length >= 5);
    assert.deepEqual(waveHeaders, waveHeaders.map((_, i) => i + 1), "waves are numbered in order");
    const waveOf = (name: string): number => {
        const at = out.indexOf(`  + ${name}  [`);
        assert.ok(at > 0, `${name} missing from the plan`);
        return Number([...out.slice(0, at).matchAll(/^Wave (\d+)/gm)].pop()?.[1]);
    };
    assert.ok(waveOf("cp1-init") < waveOf("worker1-join"));
    assert.equal(waveOf("worker1-join"), waveOf("worker2-join"));
    assert.ok(waveOf("cp1-kubeconfig") < waveOf("cluster"), "the provider waits for the kubeconfig");
    assert.ok(waveOf("cluster") < waveOf("cilium-release"), "the release waits for its provider");
    assert.ok(waveOf("worker2-join") < waveOf("cilium-check"), "the check runs once every node has joined");
    // The release shows its chart and values, diffable in a pull request.
    assert.match(out, /\+ cilium-release {2}\[kubernetes:helm\.sh\/v3:Release\] {2}in cilium\n(?: {6}[^\n]*\n)*? {6}version: 1\.18\.0\n/);
    assert.match(out, /\n {6}values:\n(?: {8}[^\n]*\n)*? {8}kubeProxyReplacement: true\n/);
    assert.match(out, /\+ cp1-init {2}\[command:remote:Command\] {2}in cp1\n {6}waits for: [^\n]*cp1-membership/);
    assert.match(out, /remotePath: \.homelab\/prepare\.sh\n {6}source: \d+ lines, sha256 [0-9a-f]{12} — # homelab prepare/);
    assert.match(out, /\+ cp1-kubeadm-config[^\n]*\n(?: {6}[^\n]*\n)*? {6}stdin: \[secret\]/);
    assert.match(out, /\+ cluster {2}\[pulumi:providers:kubernetes\]\n {6}waits for: cp1-init, cp1-kubeconfig\n(?: {6}[^\n]*\n)*? {6}kubeconfig: \[secret\]/);
});

test("--stack labbox plans the single-node ambient lab", async () => {
    const run = await runPlan(["--stack", "labbox"]);
    assert.equal(run.status, 0, run.stdout);
    assert.match(run.stdout, /^Plan for stack "labbox" of project homelab$/m);
    for (const name of ["labbox-init", "cilium-release", "istio-gateway-api-crds", "istio-ztunnel", "istio-gateway", "istio-mesh-check"]) {
        assert.match(run.stdout, new RegExp(`\\+ ${name} {2}\\[`), name);
    }
    assert.doesNotMatch(run.stdout, /-join/, "no worker joins on a single node");
});

test("--json is deterministic: two evaluations are byte-identical", async () => {
    const [a, b] = await Promise.all([runPlan(["--json"]), runPlan(["--json"])]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    const plan = JSON.parse(a.stdout) as PlanDocument;
    assert.equal(plan.stack, "dev");
    assert.deepEqual(plan.errors, []);
    assert.equal(plan.summary.resources, [...entries(plan).keys()].length);
    assert.equal(plan.summary.waves, plan.waves.length);
});

test("--json redacts secrets: token, kubeconfig and the kubeadm configs never appear", async () => {
    const run = await runPlan(["--json"]);
    const plan = JSON.parse(run.stdout) as PlanDocument;
    const all = entries(plan);
    assert.equal(all.get("cp1-kubeadm-config")?.inputs.stdin, "[secret]");
    assert.deepEqual(all.get("cp1-kubeadm-config")?.secretInputs, ["connection", "stdin"]);
    assert.equal(all.get("worker1-join-token")?.inputs.stdin, "[secret]");
    assert.equal(all.get("cluster")?.inputs.kubeconfig, "[secret]");
    // The mock's token halves and kubeconfig placeholder must not leak anywhere.
    assert.equal(run.stdout.includes("xxxxxxxxxxxxxxxx"), false);
    assert.equal(run.stdout.includes("[stdout of cp1-kubeconfig]"), false);
});

test("an invalid stack exits 1 with every problem and nothing planned", async () => {
    const run = await runPlan(["--config", "podSubnet=10.0.0.0/8", "--config", "kubernetesVersion=1.33"]);
    assert.equal(run.status, 1);
    assert.match(run.stdout, /^ERROR: kubernetesVersion: "1\.33" is not an exact Kubernetes release/m);
    assert.match(run.stdout, /^ERROR: podSubnet\/serviceSubnet: 10\.0\.0\.0\/8 and 10\.96\.0\.0\/12 overlap/m);
    assert.match(run.stdout, /Nothing would be deployed: fix the errors above\./);
    assert.doesNotMatch(run.stdout, /^Wave /m);
    const json = await runPlan(["--json", "--config", "podSubnet=10.0.0.0/8"]);
    assert.equal(json.status, 1);
    const plan = JSON.parse(json.stdout) as PlanDocument;
    assert.equal(plan.errors.length, 1);
    assert.deepEqual(plan.waves, []);
});

test("--config tries a change without editing the stack file", async () => {
    const run = await runPlan(["--json", "--config", "kubernetesVersion=1.33.9"]);
    const prepare = entries(JSON.parse(run.stdout) as PlanDocument).get("cp1-prepare-script");
    assert.match(String((prepare?.inputs.source as { text: string }).text), /readonly K8S_VERSION='1\.33\.9'/);
});

test("unknown arguments and unknown stacks are usage errors", async () => {
    const bad = await runPlan(["--frobnicate"]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown argument "--frobnicate" — usage: npm run plan/);
    const missing = await runPlan(["--stack", "nope"]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /no stack file Pulumi\.nope\.yaml/);
});
