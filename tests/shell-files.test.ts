/**
 * The hand-written shell files (CI entry points, simulated-host stubs and setup scripts) meet the same bar as the
 * generated scripts: shellcheck with no findings.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const files = [
    ".ci/run",
    ...readdirSync(path.join(ROOT, "tests/host/stubs")).map((f) => `tests/host/stubs/${f}`),
    ...readdirSync(path.join(ROOT, "tests/host")).filter((f) => f.endsWith(".sh")).map((f) => `tests/host/${f}`),
    ...readdirSync(path.join(ROOT, ".github/scripts")).filter((f) => f.endsWith(".sh")).map((f) => `.github/scripts/${f}`),
];
const available = spawnSync("shellcheck", ["--version"]).status === 0;

test("every shell file in the repository passes shellcheck", { skip: !available && process.env.CI !== "true" ? "shellcheck is not installed" : false }, () => {
    assert.ok(files.length > 10, `expected the CI script, the stubs and the host scripts, found ${files.join(", ")}`);
    const result = spawnSync("shellcheck", ["--external-sources", "--severity", "style", ...files], { cwd: ROOT, encoding: "utf8" });
    assert.equal(`${result.stdout}${result.stderr}`, "");
    assert.equal(result.status, 0);
});
