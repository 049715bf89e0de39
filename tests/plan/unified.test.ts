/**
 * unifiedDiff: checked against GNU patch, which must turn the old text into the new one with it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { unifiedDiff } from "../../tools/plan/unified";

function hasPatch(): boolean {
    try {
        execFileSync("patch", ["--version"], { stdio: "ignore" });
        return true;
    } catch {
        return false;
    }
}

/** Applies the diff with `patch` and returns the result. */
function applyWithPatch(before: string, diff: string): string {
    const dir = mkdtempSync(path.join(tmpdir(), "homelab-udiff-"));
    try {
        const file = path.join(dir, "f");
        writeFileSync(file, before);
        writeFileSync(path.join(dir, "d"), diff);
        execFileSync("patch", ["--quiet", "--force", file, path.join(dir, "d")], { stdio: "pipe" });
        return readFileSync(file, "utf8");
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

const lines = (n: number, f: (i: number) => string): string => Array.from({ length: n }, (_, i) => `${f(i)}\n`).join("");

const cases: [string, string, string][] = [
    ["one changed line in the middle", lines(20, (i) => `line ${i}`), lines(20, (i) => (i === 10 ? "LINE TEN" : `line ${i}`))],
    ["insertions at both ends", lines(5, (i) => `l${i}`), `first\n${lines(5, (i) => `l${i}`)}last\n`],
    ["deletions and far-apart changes (two hunks)", lines(30, (i) => `x${i}`), lines(30, (i) => `x${i}`).replace("x2\n", "").replace("x25\n", "y25\nz25\n")],
    ["from empty", "", "a\nb\n"],
    ["to empty", "a\nb\n", ""],
    ["a script edit", "#!/bin/bash\nset -euo pipefail\nreadonly V='1.33.10'\napt-get install kubeadm=$V\n", "#!/bin/bash\nset -euo pipefail\nreadonly V='1.33.9'\napt-get install kubeadm=$V\n"],
];

for (const [title, before, after] of cases) {
    test(`unifiedDiff: ${title} — patch reproduces the new text`, { skip: !hasPatch() && !process.env.CI ? "patch not installed" : false }, () => {
        const diff = unifiedDiff(before, after, { from: "base", to: "head" });
        assert.match(diff, /^--- base\n\+\+\+ head\n@@ -\d+(,\d+)? \+\d+(,\d+)? @@\n/);
        assert.equal(applyWithPatch(before, diff), after);
    });
}

test("unifiedDiff: equal texts give an empty diff; context is limited to 3 lines", () => {
    assert.equal(unifiedDiff("a\n", "a\n"), "");
    const diff = unifiedDiff(lines(20, (i) => `l${i}`), lines(20, (i) => (i === 10 ? "changed" : `l${i}`)));
    assert.deepEqual(diff.split("\n").slice(2, -1), ["@@ -8,7 +8,7 @@", " l7", " l8", " l9", "-l10", "+changed", " l11", " l12", " l13"]);
});

test("unifiedDiff: changes closer than twice the context share one hunk, farther ones do not", () => {
    const base = lines(40, (i) => `l${i}`);
    const near = base.replace("l10\n", "a\n").replace("l15\n", "b\n");
    const far = base.replace("l10\n", "a\n").replace("l30\n", "b\n");
    assert.equal(unifiedDiff(base, near).match(/^@@/gm)?.length, 1);
    assert.equal(unifiedDiff(base, far).match(/^@@/gm)?.length, 2);
});
