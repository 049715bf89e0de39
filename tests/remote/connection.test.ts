import { test } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { connectionFor, sshTarget } from "../../components/remote";
import type { NodeConfig } from "../../components/config";

const node: NodeConfig = { name: "cp1", host: "192.0.2.10", role: "control-plane", port: 2222, user: "debian", hostKey: "ssh-ed25519 AAAA" };

test("host, port, user and the pinned host key come from the node", () => {
    const c = connectionFor(node, {});
    assert.equal(c.host, "192.0.2.10");
    assert.equal(c.port, 2222);
    assert.equal(c.user, "debian");
    assert.equal(c.hostKey, "ssh-ed25519 AAAA");
});

test("a configured private key is used, as a secret", async () => {
    const c = connectionFor(node, { privateKey: pulumi.output("KEY") });
    assert.equal(await pulumi.isSecret(pulumi.output(c.privateKey) as pulumi.Output<string>), true);
});

test("without a key nothing about the agent is stored: the provider reads SSH_AUTH_SOCK itself", () => {
    const { hostKey: _unused, ...unpinned } = node;
    const c = connectionFor(unpinned, {});
    assert.equal(c.privateKey, undefined);
    assert.equal("agentSocketPath" in c, false, "a per-login socket path in state would change every Command on every run");
    assert.equal("hostKey" in c, false);
});

test("sshTarget names the login that owns the staging folder", () => {
    assert.equal(sshTarget(node), "debian@192.0.2.10:2222");
});
