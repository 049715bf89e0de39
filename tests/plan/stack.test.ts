import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { projectKeys, readStackConfig, REDACTED_SECRET } from "../../tools/plan/stack";

function project(stackYaml: string): string {
    const dir = mkdtempSync(path.join(tmpdir(), "homelab-stack-"));
    writeFileSync(
        path.join(dir, "Pulumi.yaml"),
        [
            "name: homelab",
            "runtime: nodejs",
            "config:",
            "  clusterName: {type: string, default: homelab}",
            "  sshPrivateKey: {type: string, secret: true, default: ''}",
            "  nodes: {type: string}",
            "  shorthand: 7",
        ].join("\n"),
    );
    writeFileSync(path.join(dir, "Pulumi.lab.yaml"), stackYaml);
    return dir;
}

test("Pulumi.yaml defaults, overlaid by the stack file, overlaid by overrides", () => {
    const dir = project("config:\n  homelab:clusterName: lab\n  homelab:nodes: |\n    - {name: a}\n");
    const config = readStackConfig(dir, "lab", { nodes: "[]" });
    assert.equal(config.project, "homelab");
    assert.equal(config.values["homelab:clusterName"], "lab");
    assert.equal(config.values["homelab:shorthand"], "7");
    assert.equal(config.values["homelab:nodes"], "[]");
    assert.deepEqual(projectKeys(config), { clusterName: "lab", nodes: "[]", shorthand: "7", sshPrivateKey: "" });
});

test("secure: values are redacted secrets, and declared secrets stay secret", () => {
    const dir = project("config:\n  homelab:sshPrivateKey:\n    secure: v1:abc:def\n  aws:region: eu-west-1\n");
    const config = readStackConfig(dir, "lab");
    assert.equal(config.values["homelab:sshPrivateKey"], REDACTED_SECRET);
    assert.deepEqual(config.secretKeys, ["homelab:sshPrivateKey"]);
    assert.equal(config.values["aws:region"], "eu-west-1", "other namespaces pass through");
    assert.equal("region" in projectKeys(config), false);
});

test("structured stack values reach the program as JSON, like the CLI passes them", () => {
    const dir = project("config:\n  homelab:nodes:\n    - name: cp1\n      host: 192.0.2.10\n");
    assert.deepEqual(JSON.parse(readStackConfig(dir, "lab").values["homelab:nodes"]), [{ name: "cp1", host: "192.0.2.10" }]);
});

test("a missing stack file names the file", () => {
    assert.throws(() => readStackConfig(project(""), "prod"), /no stack file Pulumi\.prod\.yaml/);
});
