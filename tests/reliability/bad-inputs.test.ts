/**
 * The bad-input matrix of the reliability report: every example is refused with its message, every message template
 * of the validation code is produced by an example, and the committed report shows exactly these messages.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { badInputMatrix, type BadInputMatrix } from "../../tools/reliability/bad-inputs";
import { messageSitesOf, VALIDATION_FILES } from "../../tools/reliability/message-sites";
import { renderBadInputs } from "../../tools/reliability/report";
import { committedSection, stale } from "./report";
import * as path from "node:path";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";

describe("bad-input matrix", () => {
    let matrix: BadInputMatrix;
    before(async () => {
        matrix = await badInputMatrix();
    });

    test("every example is refused, with its message", () => {
        assert.ok(matrix.rows.length >= 80, `only ${matrix.rows.length} examples`);
        const failing = matrix.rows.filter((r) => r.message === undefined || r.accepted);
        assert.deepEqual(failing.map((r) => `${r.domain}: ${r.rule} → ${r.all.join(" | ")}`), []);
    });

    test("every message template of the validation code is produced by at least one example", () => {
        assert.ok(matrix.sites.length >= 80, `only ${matrix.sites.length} templates found: the scan is broken`);
        const uncovered = matrix.sites.filter((s) => s.hits.length === 0).map((s) => `${s.site.where}: ${s.site.template}`);
        assert.deepEqual(uncovered, [], "add an example for each to tests/{config,cilium,istio}/bad-inputs.ts");
    });

    test("every component file that records a validation error is scanned for templates", () => {
        const root = path.resolve(__dirname, "../..");
        const pushing = readdirSync(path.join(root, "components"), { recursive: true, encoding: "utf8" })
            .filter((f) => f.endsWith(".ts"))
            .map((f) => path.posix.join("components", f.split(path.sep).join("/")))
            .filter((f) => /\b(errors|problems)\.push\(/.test(readFileSync(path.join(root, f), "utf8")));
        assert.ok(pushing.length >= 5, `only ${pushing.length} files found: the scan is broken`);
        const listed = new Set<string>(VALIDATION_FILES);
        assert.deepEqual(pushing.filter((f) => !listed.has(f)).sort(), [], "add them to VALIDATION_FILES (tools/reliability/message-sites.ts)");
    });

    test("the template scan sees every kind of message site, and computed parts match anything", () => {
        const dir = mkdtempSync(path.join(tmpdir(), "homelab-sites-"));
        writeFileSync(
            path.join(dir, "rules.ts"),
            [
                "const key = (p: string): string => `ciliumValues.${p}`;",
                "export function check(errors: string[], problems: string[], v: string): { reason: string } | string {",
                "    errors.push(`podSubnet: \"${v}\" is wrong — fix it`);",
                '    problems.push(`${key("cni.exclusive")}: must be false`);',
                '    errors.push("a" + v + " plain concatenation");',
                "    errors.push(...problems);",
                '    if (v === "") return "has a fragment";',
                '    return { reason: "is a reason" };',
                "}",
                "export function someWarning(): string { return \"not a rule\"; }",
            ].join("\n"),
        );
        const sites = messageSitesOf(dir, "rules.ts");
        assert.deepEqual(
            sites.map((s) => [s.kind, s.template]),
            [
                ["message", 'podSubnet: "…" is wrong — fix it'],
                ["message", "ciliumValues.cni.exclusive: must be false"],
                ["message", "a… plain concatenation"],
                ["fragment", "has a fragment"],
                ["fragment", "is a reason"],
            ],
        );
        assert.ok(sites[0].pattern.test('podSubnet: "10.0.0.0/8 x" is wrong — fix it'));
        assert.ok(!sites[0].pattern.test('podSubnet: "x" is wrong — fix it, please'), "a message pattern is anchored");
        assert.ok(sites[3].pattern.test('nodes[0].hostKey: has a fragment — paste the key'), "a fragment is found inside a message");
    });

    test("the committed report lists exactly these examples and messages", () => {
        assert.equal(committedSection("Bad-input matrix"), renderBadInputs(matrix), stale("bad-inputs"));
    });
});
