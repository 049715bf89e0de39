/**
 * The README's bootstrap graph is what the tool generates for the dev stack today.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { BEGIN, END, withGraph } from "../../tools/docs-graph";
import { parseFlowchart } from "../helpers/mermaid";
import { ROOT } from "../helpers/graph";

const docsGraph = (...args: string[]): ReturnType<typeof spawnSync> =>
    spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "tools/docs-graph.ts"), ...args], { cwd: ROOT, encoding: "utf8" });

test("the README graph is up to date (run `npm run docs:graph` when this fails)", () => {
    const run = docsGraph("--check");
    assert.equal(run.status, 0, `${String(run.stdout)}${String(run.stderr)}`);
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const block = readme.slice(readme.indexOf(BEGIN), readme.indexOf(END));
    const chart = parseFlowchart(/```mermaid\n([\s\S]*?)```/.exec(block)?.[1] ?? "");
    const labels = [...chart.nodes.values()].map((l) => l.split(" · ")[0]);
    for (const component of ["cp1", "worker1", "worker2", "cilium", "istio", "cluster"]) {
        assert.ok(labels.includes(component), `${component} is drawn`);
    }
});

test("a stale README graph is detected, and regenerating fixes it", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "homelab-readme-"));
    try {
        const copy = path.join(dir, "README.md");
        const fresh = readFileSync(path.join(ROOT, "README.md"), "utf8");
        writeFileSync(copy, withGraph(fresh, "flowchart TD\n  g_old[\"an old graph\"]\n"));
        const stale = docsGraph("--check", "--readme", copy);
        assert.equal(stale.status, 1);
        assert.match(String(stale.stderr), /README\.md graph is stale: run `npm run docs:graph`/);
        assert.equal(docsGraph("--readme", copy).status, 0);
        assert.equal(readFileSync(copy, "utf8"), fresh);
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
});

test("withGraph replaces only the block between the markers and refuses a README without them", () => {
    const doc = `# t\n\n${BEGIN}\nold\n${END}\n\nafter\n`;
    assert.equal(withGraph(doc, "flowchart TD\n"), `# t\n\n${BEGIN}\n\`\`\`mermaid\nflowchart TD\n\`\`\`\n${END}\n\nafter\n`);
    assert.throws(() => withGraph("# no markers\n", "x"), /has no .* block/);
});
