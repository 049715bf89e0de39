/**
 * The secret audit of the reliability report: no stack shows a known secret outside a secret, every output carrying
 * one is a secret output, the search finds a leak when there is one, and the committed report has these counts.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { auditStack, secretAudit, stacks, type SecretAudit } from "../../tools/reliability/secrets";
import { renderSecrets } from "../../tools/reliability/report";
import { committedSection, stale } from "./report";

describe("secret audit", () => {
    let audits: SecretAudit[];
    let canary: SecretAudit;
    before(async () => {
        [audits, canary] = await Promise.all([secretAudit(), auditStack("dev", true)]);
    });

    test("every stack is audited and evaluates without errors", () => {
        assert.deepEqual(audits.map((a) => a.stack), stacks());
        assert.ok(stacks().includes("dev") && stacks().includes("labbox"));
        for (const a of audits) {
            assert.deepEqual(a.errors, [], a.stack);
            assert.ok(a.resources > 20 && a.inputValues > 100, `${a.stack}: too little scanned`);
            // The token, the SSH key (in every connection) and the staged kubeadm configs are wrapped.
            assert.ok(a.secretInputs > a.resources / 2, `${a.stack}: ${a.secretInputs} secret inputs`);
            assert.equal(a.secretExports, 1, `${a.stack}: the kubeconfig stack output is the one secret output`);
        }
    });

    test("no plaintext token, certificate key, SSH key or kubeconfig anywhere, and every output carrying one is secret", () => {
        assert.deepEqual(audits.flatMap((a) => a.findings.map((f) => `${a.stack}: ${f}`)), []);
    });

    test("negative control: a step printing the token and the certificate key without a secret flag is reported", () => {
        assert.ok(canary.findings.length > 0);
        assert.ok(
            canary.findings.every((f) => /-preflight\.stdout: carries tokenSecret, certificateKey but is not a secret output$/.test(f)),
            canary.findings.join("\n"),
        );
    });

    test("the committed report has these counts", () => {
        assert.equal(committedSection("Secret audit"), renderSecrets(audits, canary.findings.length), stale("secrets"));
    });
});
