import { test } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { connectionFor } from "../../components/remote";
import type { NodeConfig } from "../../components/config";

const node: NodeConfig = { name: "cp1", host: "192.0.2.10", role: "control-plane", port: 2222, user: "debian", hostKey: "ssh-ed25519 AAAA" };

test("host, port, user and the pinned host key come from the node", () => {
    const c = connectionFor(node, {});
    assert.equal(c.host, "192.0.2.10");
    assert.equal(c.port, 2222);
    assert.equal(c.user, "debian");
    assert.equal(c.hostKey, "ssh-ed25519 AAAA");
});

test("a configured private key is used, as a secret, instead of the agent", async () => {
    const c = connectionFor(node, { privateKey: pulumi.output("KEY"), agentSocketPath: "/tmp/agent.sock" });
    assert.equal(c.agentSocketPath, undefined);
    assert.equal(await pulumi.isSecret(pulumi.output(c.privateKey) as pulumi.Output<string>), true);
});

test("without a key the ssh-agent socket is used; an unpinned host key is left out", () => {
    const { hostKey: _unused, ...unpinned } = node;
    const c = connectionFor(unpinned, { agentSocketPath: "/tmp/agent.sock" });
    assert.equal(c.agentSocketPath, "/tmp/agent.sock");
    assert.equal(c.privateKey, undefined);
    assert.equal("hostKey" in c, false);
});
