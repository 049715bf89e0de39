/**
 * Graph tests for an HA control plane: the real index.ts under the mock monitor with the `ha` stack (cp1, cp2, cp3
 * behind a kube-vip address, worker1, worker2): which resources exist, what waits for what (create order and, reversed,
 * delete order), and where the certificate key flows (secret end to end).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as YAML from "yaml";
import { containsSecret, sanitize, SECRET_SIG, SIG_KEY } from "../../tools/plan/graph";
import { evaluateStack, type Graph } from "../helpers/graph";

const FAKE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nFAKEKEYMATERIAL\n-----END OPENSSH PRIVATE KEY-----\n";
/** What the mock RandomPassword "certificate-key" returns: 64 hex characters no other value contains. */
const CERT_KEY = "c0ffee42".repeat(8);

let graph: Graph;
before(async () => {
    graph = await evaluateStack("ha", {}, { sshPrivateKey: FAKE_KEY }, (_type, name) =>
        name === "certificate-key" ? { result: CERT_KEY } : {},
    );
});

const CONTROL_PLANES = ["cp1", "cp2", "cp3"];
const WORKERS = ["worker1", "worker2"];
const JOINED_CP_STEPS = ["stage", "preflight-script", "preflight", "prepare-script", "prepare", "membership", "leave", "upload-certs", "join-token", "join-config", "join-script", "join"];

/** The secret's value as registered (the mock monitor sees it; the engine would encrypt it). */
function secretText(value: unknown): string {
    const wrapped = value as Record<string, unknown>;
    assert.equal(wrapped[SIG_KEY], SECRET_SIG, "expected a secret");
    return String(wrapped.value);
}

test("the program registers without errors: three control planes and two workers", () => {
    assert.deepEqual(graph.programErrors, []);
    const components = graph.resources.filter((r) => r.type === "homelab:k8s:KubeadmNode").map((c) => c.name).sort();
    assert.deepEqual(components, [...CONTROL_PLANES, ...WORKERS].sort());
});

test("cp2 and cp3 join as control planes: certificates uploaded again, a fresh token, then the join", () => {
    for (const node of ["cp2", "cp3"]) {
        const children = graph.resources.filter((r) => r.parent === graph.get(node).urn).map((r) => r.name).sort();
        assert.deepEqual(children, JOINED_CP_STEPS.map((s) => `${node}-${s}`).sort());
        const join = graph.ancestors(`${node}-join`);
        for (const step of ["cp1-init", `${node}-upload-certs`, `${node}-join-token`, `${node}-join-config`]) {
            assert.ok(join.has(step), `${node}-join must wait for ${step}`);
        }
        // Certificates first, then the token: both right before the join, the token's hour starting last.
        assert.ok(graph.ancestors(`${node}-join-token`).has(`${node}-upload-certs`));
        assert.ok(graph.ancestors(`${node}-upload-certs`).has("cp1-upload-certs-script"));
        const preflight = String((graph.get(`${node}-preflight-script`).inputs.source as { text: string }).text);
        assert.match(preflight, /readonly ROLE='control-plane'/, "control-plane preflight (ports 6443, 2379, ...)");
    }
});

test("control planes join one at a time; workers join in parallel right after the primary", () => {
    assert.ok(graph.ancestors("cp3-join").has("cp2-join"), "cp3 joins after cp2");
    assert.ok(graph.ancestors("cp3-upload-certs").has("cp2-join"), "cp3's certificates are uploaded right before cp3 joins, not earlier");
    assert.ok(graph.ancestors("cp3-join-token").has("cp2-join"));
    assert.equal(graph.ancestors("cp2-join").has("cp3-join"), false);
    for (const worker of WORKERS) {
        const before = graph.ancestors(`${worker}-join`);
        assert.ok(before.has("cp1-init"));
        assert.equal(before.has("cp2-join") || before.has("cp3-join"), false, `${worker} does not wait for the other control planes`);
    }
    assert.equal([...graph.ancestors("worker2-join")].some((n) => n.startsWith("worker1-join")), false);
});

test("the certificate re-upload runs on the primary, for the joining node, whenever its join runs again", () => {
    for (const node of ["cp2", "cp3"]) {
        const upload = graph.get(`${node}-upload-certs`);
        assert.deepEqual(sanitize(upload.inputs.connection), sanitize(graph.get("cp1-init").inputs.connection));
        assert.match(String(upload.inputs.create), /upload-certs\.sh/);
        assert.equal(upload.inputs.stdin, `${node}\n`, "stdin names the node; the key stays in the staged config");
        const joinTriggers = graph.get(`${node}-join`).inputs.triggers as string[];
        const tokenTriggers = graph.get(`${node}-join-token`).inputs.triggers as string[];
        assert.deepEqual((upload.inputs.triggers as string[]).slice(0, joinTriggers.length), joinTriggers);
        assert.deepEqual(tokenTriggers.slice(0, joinTriggers.length), joinTriggers);
    }
    const script = String((graph.get("cp1-upload-certs-script").inputs.source as { text: string }).text);
    assert.match(script, /run_kubeadm upload-certs init phase upload-certs --upload-certs --skip-certificate-key-print --config "\$CONFIG"/);
    assert.doesNotMatch(script, /--certificate-key/);
});

test("the certificate key is a RandomPassword of 64 hex characters, secret in every input it reaches", () => {
    const key = graph.get("certificate-key");
    assert.equal(key.type, "random:index/randomPassword:RandomPassword");
    assert.deepEqual(
        { length: key.inputs.length, upper: key.inputs.upper, lower: key.inputs.lower, numeric: key.inputs.numeric, overrideSpecial: key.inputs.overrideSpecial },
        { length: 64, upper: false, lower: false, numeric: true, overrideSpecial: "abcdef" },
    );
    assert.ok(key.additionalSecretOutputs.includes("result"));
    const init = YAML.parseAllDocuments(secretText(graph.get("cp1-kubeadm-config").inputs.stdin)).map((d) => d.toJS() as Record<string, unknown>);
    assert.equal(init.find((d) => d.kind === "InitConfiguration")?.certificateKey, CERT_KEY);
    for (const node of ["cp2", "cp3"]) {
        const join = YAML.parse(secretText(graph.get(`${node}-join-config`).inputs.stdin)) as { controlPlane: Record<string, unknown> };
        assert.deepEqual(join.controlPlane, {
            localAPIEndpoint: { advertiseAddress: node === "cp2" ? "192.0.2.20" : "192.0.2.30", bindPort: 6443 },
            certificateKey: CERT_KEY,
        });
    }
    for (const worker of WORKERS) {
        assert.doesNotMatch(secretText(graph.get(`${worker}-join-config`).inputs.stdin), /controlPlane|certificateKey/);
    }
    // It reaches inputs (so the test is not vacuous) but never outside a secret: not in triggers, scripts or logs.
    const raw = JSON.stringify(graph.resources.map((r) => r.inputs));
    const shown = JSON.stringify(graph.resources.map((r) => sanitize(r.inputs)));
    assert.ok(raw.includes(CERT_KEY));
    assert.equal(shown.includes(CERT_KEY), false);
    for (const name of ["cp1-init", "cp2-join", "cp3-join"]) {
        assert.ok(graph.get(name).additionalSecretOutputs.includes("stdout"), `${name}: kubeadm output is secret`);
    }
    for (const name of ["cp1-kubeadm-config", "cp2-join-config"]) {
        assert.equal(graph.get(name).inputs.logging, "none");
        assert.ok(containsSecret(graph.get(name).inputs.stdin));
    }
});

test("kube-vip: the primary starts it on super-admin.conf and switches to admin.conf; the others use admin.conf", () => {
    const text = (name: string): string => String((graph.get(name).inputs.source as { text: string }).text);
    const init = text("cp1-init-script");
    assert.match(init, /kube_vip_manifest super-admin\nif ! run_kubeadm init init --config "\$CONFIG" --upload-certs; then/);
    assert.match(init, /refuse_kube_proxy\nswitch_kube_vip_to_admin\nlog "control plane initialised/);
    assert.match(init, /path: \/etc\/kubernetes\/super-admin\.conf/);
    assert.match(init, /value: 192\.0\.2\.100/);
    for (const node of ["cp2", "cp3"]) {
        const join = text(`${node}-join-script`);
        assert.match(join, /kube_vip_manifest admin\nif ! run_kubeadm join join --config "\$CONFIG"; then/);
        assert.doesNotMatch(join, /super-admin/);
    }
    for (const worker of WORKERS) {
        assert.doesNotMatch(text(`${worker}-join-script`), /kube_vip_manifest|KUBE_VIP/);
    }
});

test("the endpoint every node and Cilium use is the kube-vip address", () => {
    const release = graph.get("cilium-release");
    const values = release.inputs.values as { k8sServiceHost: string; k8sServicePort: number };
    assert.equal(values.k8sServiceHost, "192.0.2.100");
    assert.equal(values.k8sServicePort, 6443);
    const cp2 = YAML.parse(secretText(graph.get("cp2-join-config").inputs.stdin)) as { discovery: { bootstrapToken: { apiServerEndpoint: string } } };
    assert.equal(cp2.discovery.bootstrapToken.apiServerEndpoint, "192.0.2.100:6443");
    const exported = graph.exports as { controlPlaneEndpoint: string };
    assert.equal(exported.controlPlaneEndpoint, "192.0.2.100:6443");
});

test("only membership (reset) and leave (drain, etcd, Node) delete anything; neither can be replaced", () => {
    const destructive = graph.resources
        .filter((r) => typeof r.inputs.delete === "string" && /kubeadm reset|kubectl/.test(r.inputs.delete))
        .map((r) => r.name)
        .sort();
    const nodes = [...CONTROL_PLANES, ...WORKERS];
    assert.deepEqual(destructive, nodes.flatMap((n) => [`${n}-leave`, `${n}-membership`]).sort());
    for (const name of destructive) {
        assert.equal(graph.get(name).inputs.triggers, undefined, name);
    }
    for (const node of ["cp2", "cp3"]) {
        assert.match(String(graph.get(`${node}-leave`).inputs.delete), /etcdctl_on "\$pod" member remove "\$id"/);
    }
});

test("destroy runs backwards: Istio, Cilium, then workers, then cp3, cp2 and the primary last", () => {
    const wave = (name: string): number => graph.deletionWave(name);
    const istio = graph.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.name.startsWith("istio"));
    assert.ok(istio.length >= 3, istio.map((r) => r.name).join(", "));
    for (const release of istio) {
        assert.ok(wave(release.name) < wave("cilium-release"), `${release.name} before Cilium`);
    }
    for (const node of [...CONTROL_PLANES, ...WORKERS]) {
        assert.ok(wave("cilium-release") < wave(`${node}-leave`), `Cilium before ${node} leaves`);
        assert.ok(wave(`${node}-leave`) < wave(`${node}-membership`), `${node}: drain and delete before the reset`);
    }
    const order = ["worker1-membership", "cp3-leave", "cp3-membership", "cp2-leave", "cp2-membership", "cp1-leave", "cp1-membership"];
    for (let i = 1; i < order.length; i++) {
        assert.ok(wave(order[i - 1]) < wave(order[i]), `${order[i - 1]} (${wave(order[i - 1])}) before ${order[i]} (${wave(order[i])})`);
    }
    assert.equal(wave("worker1-membership"), wave("worker2-membership"), "workers are reset in parallel");
    // The primary's API server (the provider) outlives every release it deletes.
    assert.ok(wave("cluster") > wave("cilium-release") && wave("cluster") < wave("cp1-membership"));
});

test("stack outputs list the other control planes", () => {
    const exported = graph.exports as { otherControlPlaneNodes: { apply: unknown }[] };
    assert.equal(exported.otherControlPlaneNodes.length, 2);
});
