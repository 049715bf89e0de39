/**
 * Graph tests: the real index.ts under the mock monitor with the dev stack (1 control plane + 2 workers).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { containsSecret, sanitize, SECRET_SIG, SIG_KEY } from "../../tools/plan/graph";
import { evaluateDev, type Graph } from "../helpers/graph";

const FAKE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nFAKEKEYMATERIAL\n-----END OPENSSH PRIVATE KEY-----\n";
const TOKEN_SECRET = "x".repeat(16); // what the mock RandomPassword returns
const KUBECONFIG = "[stdout of cp1-kubeconfig]"; // what the mock kubeconfig Command prints

let graph: Graph;
before(async () => {
    graph = await evaluateDev({}, { sshPrivateKey: FAKE_KEY });
});

const NODES = ["cp1", "worker1", "worker2"];
const CP_STEPS = ["stage", "preflight-script", "preflight", "prepare-script", "prepare", "membership", "leave", "kubeadm-config", "init-script", "init", "credentials-script", "kubeconfig", "ca-cert-hash", "token-script", "upload-certs-script"];
const WORKER_STEPS = ["stage", "preflight-script", "preflight", "prepare-script", "prepare", "membership", "leave", "join-token", "join-config", "join-script", "join"];

test("the program registers without errors", () => {
    assert.deepEqual(graph.programErrors, []);
});

test("one homelab:k8s:KubeadmNode component per host, named after the node", () => {
    const components = graph.resources.filter((r) => r.type === "homelab:k8s:KubeadmNode");
    assert.deepEqual(components.map((c) => c.name).sort(), NODES);
});

test("every step is a child of its node's component, named <node>-<step>", () => {
    for (const node of NODES) {
        const component = graph.get(node);
        const children = graph.resources.filter((r) => r.parent === component.urn).map((r) => r.name).sort();
        const steps = node === "cp1" ? CP_STEPS : WORKER_STEPS;
        assert.deepEqual(children, steps.map((s) => `${node}-${s}`).sort());
        for (const child of children) {
            const type = graph.get(child).type;
            assert.ok(type === "command:remote:Command" || type === "command:remote:CopyToRemote", `${child}: ${type}`);
        }
    }
});

test("uploads into the SSH user's home are re-done when the SSH login changes", () => {
    for (const r of graph.resources.filter((x) => x.type === "command:remote:CopyToRemote")) {
        assert.ok((r.inputs.triggers as string[]).some((t) => /^[a-z_][a-z0-9_.-]*@[^:]+:\d+$/.test(t)), `${r.name}: ${JSON.stringify(r.inputs.triggers)}`);
    }
});

test("scripts are uploaded with CopyToRemote into the staging folder, and their hash triggers the step", () => {
    for (const [step, file] of [["preflight", "preflight.sh"], ["prepare", "prepare.sh"], ["init", "init.sh"]]) {
        const copy = graph.get(`cp1-${step}-script`);
        assert.equal(copy.inputs.remotePath, `.homelab/${file}`);
        const command = graph.get(`cp1-${step}`);
        assert.match(String(command.inputs.create), new RegExp(`bash '\\.homelab/${file.replace(".", "\\.")}'`));
        assert.ok(graph.ancestors(`cp1-${step}`).has(`cp1-${step}-script`), `${step} must wait for its upload`);
        assert.ok(Array.isArray(command.inputs.triggers) && /^[0-9a-f]{64}$/.test(String(command.inputs.triggers[0])));
    }
});

test("per node: stage → preflight → prepare → membership → init/join", () => {
    for (const node of NODES) {
        const last = node === "cp1" ? `${node}-init` : `${node}-join`;
        const chain = [`${node}-stage`, `${node}-preflight`, `${node}-prepare`, `${node}-membership`, last];
        for (let i = 1; i < chain.length; i++) {
            assert.ok(graph.ancestors(chain[i]).has(chain[i - 1]), `${chain[i]} must wait for ${chain[i - 1]}`);
        }
    }
});

test("workers prepare in parallel with the control plane and join only after init", () => {
    for (const worker of ["worker1", "worker2"]) {
        assert.equal(graph.ancestors(`${worker}-prepare`).has("cp1-init"), false, `${worker} prepares without waiting for init`);
        assert.ok(graph.ancestors(`${worker}-join`).has("cp1-init"));
        assert.ok(graph.ancestors(`${worker}-join`).has("cp1-ca-cert-hash"), "the join config pins the CA hash");
        assert.ok(graph.ancestors(`${worker}-join`).has(`${worker}-join-token`), "a fresh token right before the join");
    }
});

test("joins are independent of each other", () => {
    const w1 = graph.ancestors("worker1-join");
    const w2 = graph.ancestors("worker2-join");
    assert.equal([...w1].some((n) => n.startsWith("worker2-")), false);
    assert.equal([...w2].some((n) => n.startsWith("worker1-join")), false);
    const wave = (name: string): number | undefined => graph.planned.find((p) => p.resource.name === name)?.wave;
    assert.equal(wave("worker1-join"), wave("worker2-join"), "both joins land in the same wave");
});

test("the join token is minted on the control plane, from the worker's component", () => {
    const token = graph.get("worker1-join-token");
    assert.equal(token.parent, graph.get("worker1").urn);
    assert.match(String(token.inputs.create), /ensure-token\.sh/);
    assert.ok(graph.ancestors("worker1-join-token").has("cp1-token-script"), "the token script is staged on the control plane");
    // The connection is the control plane's: same host as cp1's steps.
    assert.deepEqual(sanitize(token.inputs.connection), sanitize(graph.get("cp1-init").inputs.connection));
});

test("only membership resources carry kubeadm reset, and they have no triggers", () => {
    const withReset = graph.resources.filter((r) => typeof r.inputs.delete === "string" && r.inputs.delete.includes("kubeadm reset"));
    assert.deepEqual(withReset.map((r) => r.name).sort(), NODES.map((n) => `${n}-membership`));
    for (const r of withReset) {
        assert.equal(r.inputs.triggers, undefined, `${r.name} must never be replaced`);
        assert.doesNotMatch(String(r.inputs.create), /\.homelab\//, `${r.name} must not depend on a staged file`);
    }
    for (const r of graph.resources.filter((x) => x.type === "command:remote:Command" && !/-(membership|leave)$/.test(x.name))) {
        assert.doesNotMatch(typeof r.inputs.delete === "string" ? r.inputs.delete : "", /kubeadm|kubectl|reset|\/etc/, `${r.name} must not delete cluster state`);
    }
});

test("each node's leave step drains and deletes it from the control plane, and does nothing else", () => {
    for (const node of NODES) {
        const leave = graph.get(`${node}-leave`);
        assert.equal(leave.parent, graph.get(node).urn);
        assert.equal(leave.inputs.create, undefined, "nothing runs until the node leaves");
        assert.equal(leave.inputs.triggers, undefined, "never replaced");
        const script = String(leave.inputs.delete);
        assert.match(script, new RegExp(`readonly NODE='${node}'`));
        assert.ok(script.indexOf("kube drain") < script.indexOf("kube delete node"), "drain, then delete the Node");
        assert.equal(/etcdctl/.test(script), node === "cp1", "only a control plane leaves etcd");
        assert.doesNotMatch(script, /kubeadm reset/);
        // Run where the admin kubeconfig is: the control plane.
        assert.deepEqual(sanitize(leave.inputs.connection), sanitize(graph.get("cp1-init").inputs.connection));
        assert.ok(graph.ancestors(`${node}-leave`).has(`${node}-membership`), "created after (so deleted before) the reset");
    }
});

test("the bootstrap token and the kubeadm configs carrying it are secrets", () => {
    const password = graph.get("bootstrap-token-secret");
    assert.equal(password.type, "random:index/randomPassword:RandomPassword");
    assert.ok(password.additionalSecretOutputs.includes("result"));
    assert.equal(graph.get("bootstrap-token-id").type, "random:index/randomString:RandomString");
    for (const name of ["cp1-kubeadm-config", "worker1-join-config", "worker2-join-config"]) {
        // Written through secret stdin (an upload with a not-yet-known source would fail the first preview).
        const config = graph.get(name);
        assert.equal(config.type, "command:remote:Command");
        const stdin = config.inputs.stdin as Record<string, unknown>;
        assert.equal(stdin[SIG_KEY], SECRET_SIG, `${name} content must be a secret`);
        assert.match(String(config.inputs.create), /^umask 077 && cat > \.homelab\/kubeadm-(init|join)\.yaml$/);
        assert.equal(config.inputs.logging, "none");
        assert.match(String((config.inputs.triggers as string[])[0]), /^[0-9a-f]{64}$/, "the redacted hash is a visible trigger");
    }
    for (const name of ["worker1-join-token", "worker2-join-token"]) {
        assert.ok(containsSecret(graph.get(name).inputs.stdin), `${name} stdin carries the token`);
    }
});

test("the kubeconfig is read with secret outputs and no logging", () => {
    const kubeconfig = graph.get("cp1-kubeconfig");
    assert.ok(kubeconfig.additionalSecretOutputs.includes("stdout"));
    assert.ok(kubeconfig.additionalSecretOutputs.includes("stderr"));
    assert.equal(kubeconfig.inputs.logging, "none");
    for (const name of ["cp1-init", "worker1-join"]) {
        assert.ok(graph.get(name).additionalSecretOutputs.includes("stdout"), `${name}: kubeadm output may carry a token`);
    }
});

test("the SSH private key reaches every connection only as a secret", () => {
    for (const r of graph.resources.filter((x) => x.type.startsWith("command:remote:"))) {
        const connection = r.inputs.connection as Record<string, unknown>;
        assert.ok(containsSecret(connection), `${r.name}: connection must be secret`);
        assert.ok(r.additionalSecretOutputs.includes("connection"), `${r.name}: connection output secret`);
    }
});

test("no secret appears in plaintext in any registered input", () => {
    const raw = JSON.stringify(graph.resources.map((r) => r.inputs));
    const shown = JSON.stringify(graph.resources.map((r) => sanitize(r.inputs)));
    for (const secret of ["FAKEKEYMATERIAL", TOKEN_SECRET, KUBECONFIG]) {
        assert.ok(raw.includes(secret.replace(/\n/g, "\\n")), `test setup: ${secret} should flow into some input`);
        assert.equal(shown.includes(secret), false, `${secret} leaked outside a secret`);
    }
});

test("a Kubernetes provider is built from the kubeconfig after init", () => {
    const provider = graph.get("cluster");
    assert.equal(provider.type, "pulumi:providers:kubernetes");
    assert.ok(containsSecret(provider.inputs.kubeconfig));
    const kubeconfigUrn = graph.get("cp1-kubeconfig").urn;
    assert.deepEqual(provider.propertyDependencies.kubeconfig, [kubeconfigUrn]);
    assert.ok(graph.ancestors("cluster").has("cp1-init"));
});

test("stack outputs: the kubeconfig is secret, node names are plain", async () => {
    const exported = graph.exports as { kubeconfig: pulumi.Output<string>; workerNodes: pulumi.Output<string>[]; controlPlaneNode: pulumi.Output<string> };
    assert.equal(await pulumi.isSecret(exported.kubeconfig), true);
    assert.equal(await pulumi.isSecret(exported.controlPlaneNode), false);
    assert.equal(exported.workerNodes.length, 2);
});
