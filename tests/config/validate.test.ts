import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { CONFIG_DEFAULTS, CONFIG_KEYS, resolveConfig, hostKeyProblem, type RawConfig } from "../../components/config";

import { CLUSTER_BAD_INPUTS, cp, cp2, cp3, ED25519, good, nodes, w1 } from "./bad-inputs";

const withKey = { hasPrivateKey: true };

function errorsOf(raw: RawConfig): readonly string[] {
    return resolveConfig(raw, withKey).errors;
}

test("a valid lab resolves with every default applied", () => {
    const { config, errors, warnings } = resolveConfig(good, withKey);
    assert.deepEqual(errors, []);
    assert.deepEqual(warnings, []);
    assert.ok(config);
    assert.equal(config.kubernetesVersion, "1.33.10");
    assert.equal(config.podSubnet, "10.244.0.0/16");
    assert.equal(config.serviceSubnet, "10.96.0.0/12");
    assert.deepEqual(config.controlPlaneEndpoint, { host: "192.0.2.10", port: 6443 });
    assert.equal(config.schedulableControlPlane, false, "a worker exists, so the control plane keeps its taint");
    assert.equal(config.nodes[1].user, "root");
    assert.equal(config.nodes[1].port, 22);
});

test("a single control-plane node is schedulable by default (the notes' single-node lab)", () => {
    const { config } = resolveConfig({ nodes: nodes([cp]) }, withKey);
    assert.equal(config?.schedulableControlPlane, true);
});

test("explicit settings override defaults", () => {
    const { config, errors } = resolveConfig(
        {
            nodes: YAML.stringify([{ ...cp, user: "admin", port: 2222, nodeIp: "198.51.100.10" }, w1]),
            kubernetesVersion: "v1.33.4",
            controlPlaneEndpoint: "k8s.lab.example",
            schedulableControlPlane: "true",
            sshUser: "debian",
        },
        withKey,
    );
    assert.deepEqual(errors, []);
    assert.equal(config?.kubernetesVersion, "1.33.4", "a leading v is accepted and dropped");
    assert.deepEqual(config?.controlPlaneEndpoint, { host: "k8s.lab.example", port: 6443 });
    assert.equal(config?.schedulableControlPlane, true);
    assert.equal(config?.nodes[0].user, "admin");
    assert.equal(config?.nodes[0].port, 2222);
    assert.equal(config?.nodes[1].user, "debian", "sshUser is the default for nodes without a user");
});

const badInputs = CLUSTER_BAD_INPUTS;

for (const { rule, raw, message } of badInputs) {
    test(`bad input is refused with a message naming the key and the fix: ${rule}`, () => {
        const { config, errors } = resolveConfig(raw, withKey);
        assert.equal(config, undefined, "no config may come back when there is an error");
        assert.ok(
            errors.some((e) => message.test(e)),
            `expected an error matching ${String(message)}, got:\n${errors.join("\n")}`,
        );
    });
}

test("HA: three control planes behind a kube-vip address resolve; the endpoint follows the address", () => {
    const { config, errors, warnings } = resolveConfig(
        { nodes: nodes([cp, cp2, cp3, w1]), kubeVipAddress: "192.0.2.100", kubeVipInterface: "eth0" },
        withKey,
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(warnings, []);
    assert.deepEqual(config?.controlPlaneEndpoint, { host: "192.0.2.100", port: 6443 });
    assert.deepEqual(config?.kubeVip, { address: "192.0.2.100", interface: "eth0", version: "v1.2.3" });
    assert.deepEqual(config?.nodes.filter((n) => n.role === "control-plane").map((n) => n.name), ["cp1", "cp2", "cp3"], "config order: cp1 is the primary");
});

test("HA: a DNS name or load balancer in front of the control planes is enough; no kube-vip then", () => {
    for (const endpoint of ["k8s.lab.example", "192.0.2.200:6443"]) {
        const { config, errors } = resolveConfig({ nodes: nodes([cp, cp2, cp3]), controlPlaneEndpoint: endpoint }, withKey);
        assert.deepEqual(errors, [], endpoint);
        assert.equal(config?.kubeVip, undefined);
    }
    const { errors } = resolveConfig({ nodes: nodes([cp, cp2, cp3]), kubeVipAddress: "192.0.2.100", controlPlaneEndpoint: "192.0.2.100:6443" }, withKey);
    assert.deepEqual(errors, [], "spelling out the kube-vip endpoint is fine");
});

test("HA: an even number of control planes is a warning naming the fix, not an error", () => {
    const { config, warnings } = resolveConfig({ nodes: nodes([cp, cp2]), kubeVipAddress: "192.0.2.100" }, withKey);
    assert.ok(config);
    assert.deepEqual(warnings, [
        "nodes: 2 control planes (cp1, cp2) — etcd needs a majority of them up, so 2 tolerate no more failures than 1; use an odd number (3 or 5)",
    ]);
    const four = resolveConfig({ nodes: nodes([cp, cp2, cp3, { ...w1, role: "control-plane" }]), kubeVipAddress: "192.0.2.100" }, withKey);
    assert.equal(four.warnings.filter((w) => w.startsWith("nodes: 4 control planes")).length, 1);
});

test("kube-vip on a single control plane is allowed (the cluster can grow to HA later)", () => {
    const { config, errors } = resolveConfig({ ...good, kubeVipAddress: "192.0.2.100" }, withKey);
    assert.deepEqual(errors, []);
    assert.deepEqual(config?.controlPlaneEndpoint, { host: "192.0.2.100", port: 6443 });
    assert.equal(config?.kubeVip?.interface, undefined, "no interface: kube-vip uses the default route's");
});

test("the bad-input table covers every distinct rule at least once", () => {
    // Each rule must produce a different first message: a rule that silently stopped firing would collide here.
    const firstMessages = badInputs.map(({ raw }) => errorsOf(raw)[0]);
    assert.equal(new Set(firstMessages).size, firstMessages.length);
});

test("all problems are reported together, one message each", () => {
    const errors = errorsOf({
        nodes: nodes([{ ...cp, role: "boss" }, { ...w1, port: 0 }]),
        podSubnet: "10.0.0.0/8",
        kubernetesVersion: "latest",
    });
    // A node whose own entry is broken is reported once, for its field, not again as "no control plane".
    assert.equal(errors.length, 4, errors.join("\n"));
    for (const key of ["nodes[0].role", "nodes[1].port", "podSubnet/serviceSubnet", "kubernetesVersion"]) {
        assert.ok(errors.some((e) => e.startsWith(key)), `no message for ${key}`);
    }
});

test("warnings: untested version, unpinned host key, name-only host, no SSH credentials, unschedulable single node", () => {
    const { config, warnings } = resolveConfig(
        {
            nodes: nodes([{ name: "cp1", host: "cp1.lab.example", role: "control-plane" }]),
            kubernetesVersion: "1.34.1",
            schedulableControlPlane: "false",
        },
        { hasPrivateKey: false },
    );
    assert.ok(config, "warnings do not block the deployment");
    const expected = [
        /^kubernetesVersion: 1\.34\.1 is outside the tested matrix/,
        /^nodes\[0\]\.hostKey: not set for cp1 — the SSH host key is not verified; pin it/,
        /^nodes\[0\]\.nodeIp: cp1 is reached by name \(cp1\.lab\.example\) and has no nodeIp/,
        /^schedulableControlPlane: false with no worker node/,
        /^sshPrivateKey: not set and SSH_AUTH_SOCK is empty/,
    ];
    assert.equal(warnings.length, expected.length, warnings.join("\n"));
    for (const pattern of expected) {
        assert.ok(warnings.some((w) => pattern.test(w)), `missing warning ${String(pattern)}`);
    }
});

test("an ssh-agent socket is enough to log in", () => {
    const { warnings } = resolveConfig(good, { hasPrivateKey: false, sshAuthSock: "/run/user/1000/ssh-agent.sock" });
    assert.deepEqual(warnings, []);
});

test("hostKeyProblem accepts the key types ssh-keyscan prints", () => {
    assert.equal(hostKeyProblem(ED25519), undefined);
    assert.equal(hostKeyProblem(`${ED25519} root@cp1`), undefined, "a trailing comment is allowed");
});

test("Pulumi.yaml declares every key the program reads, with the program's defaults", () => {
    const project = YAML.parse(readFileSync(path.join(__dirname, "../../Pulumi.yaml"), "utf8")) as {
        name: string;
        runtime: { name: string; options: Record<string, unknown> };
        config: Record<string, { type: string; default?: unknown; description?: string; secret?: boolean }>;
    };
    assert.equal(project.name, "homelab");
    assert.deepEqual(project.runtime, { name: "nodejs", options: { typescript: true, packagemanager: "npm" } });
    assert.deepEqual(Object.keys(project.config).sort(), [...CONFIG_KEYS].sort());
    for (const [key, decl] of Object.entries(project.config)) {
        // Pulumi's project schema allows only these types; a declared key without a default is required.
        assert.ok(["string", "integer", "boolean", "array"].includes(decl.type), `${key}: type ${decl.type}`);
        assert.ok(decl.description && decl.description.length > 20, `${key} needs a description`);
        const programDefault = (CONFIG_DEFAULTS as Record<string, string>)[key];
        if (key === "nodes") {
            assert.equal(decl.default, undefined, "nodes is required");
        } else {
            // The CLI hands arrays to the program as JSON.
            const asConfig = typeof decl.default === "string" ? decl.default : JSON.stringify(decl.default);
            assert.equal(asConfig, programDefault, `${key}: Pulumi.yaml and CONFIG_DEFAULTS disagree`);
        }
    }
    // Not `secret: true`: with a default that fails validation on Pulumi >= 3.202 (pulumi/pulumi#21865); the program
    // refuses a plain-text key instead (tests/config/stack.test.ts).
    assert.equal(project.config.sshPrivateKey.secret, undefined);
    assert.match(String(project.config.sshPrivateKey.description), /--secret/);
});
