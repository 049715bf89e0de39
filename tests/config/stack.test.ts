/**
 * The program's own config loading (index.ts → loadStackConfig): a plain-text SSH key is refused, and nothing is
 * registered when config is invalid.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { evaluateDev, type Graph } from "../helpers/graph";

let graph: Graph;
before(async () => {
    // Passed as a plain override, not as a secret: what `pulumi config set sshPrivateKey …` without --secret stores.
    graph = await evaluateDev({ sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nPLAINTEXT\n" });
});

test("a private key stored in plain text is refused with the command that fixes it", () => {
    assert.equal(graph.programErrors.length, 1, graph.programErrors.join("\n"));
    assert.match(graph.programErrors[0], /sshPrivateKey: stored in plain text in the stack file — set it again as a secret: pulumi config set --secret sshPrivateKey/);
});

test("config errors are raised before any resource is registered", () => {
    assert.deepEqual(graph.resources.filter((r) => r.type !== "pulumi:pulumi:Stack"), []);
});
