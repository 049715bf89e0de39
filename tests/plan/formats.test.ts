/**
 * `npm run plan -- --format mermaid|markdown|json`: the graph is the real dependency graph (parsed, not grepped),
 * the report is complete and leaks no secret.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { renderMermaid, transitiveReduction } from "../../tools/plan/mermaid";
import type { PlanDocument, PlanEntry } from "../../tools/plan/plan";
import { parseFlowchart } from "../helpers/mermaid";
import { ROOT } from "../helpers/graph";
import { entries, runPlan } from "../helpers/plan-cli";

let plan: PlanDocument;
let jsonOut: string;
before(async () => {
    const run = await runPlan(["--format", "json"]);
    assert.equal(run.status, 0, run.stderr);
    jsonOut = run.stdout;
    plan = JSON.parse(run.stdout) as PlanDocument;
});

/** name → every name it transitively waits for. */
function closure(preds: Map<string, string[]>): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    const visit = (n: string): Set<string> => {
        const known = out.get(n);
        if (known) {
            return known;
        }
        const all = new Set<string>();
        out.set(n, all);
        for (const p of preds.get(n) ?? []) {
            all.add(p);
            visit(p).forEach((a) => all.add(a));
        }
        return all;
    };
    [...preds.keys()].forEach(visit);
    return out;
}

test("--json is an alias of --format json", async () => {
    const alias = await runPlan(["--json"]);
    assert.equal(alias.stdout, jsonOut);
});

test("--format mermaid: one subgraph per component, every resource in its component, labelled with its wave", async () => {
    const run = await runPlan(["--format", "mermaid"]);
    assert.equal(run.status, 0, run.stderr);
    const chart = parseFlowchart(run.stdout);
    assert.equal(chart.direction, "TD");
    const subgraphByName = new Map([...chart.subgraphs].map(([id, s]) => [s.label.split(" · ")[0], { id, ...s }]));
    assert.deepEqual([...subgraphByName.keys()].sort(), ["cilium", "cp1", "etcd-snapshot", "istio", "upgrade", "worker1", "worker2"]);
    assert.equal(subgraphByName.get("cp1")?.label, "cp1 · KubeadmNode");
    assert.equal(subgraphByName.get("cilium")?.label, "cilium · Cilium");
    assert.equal(subgraphByName.get("istio")?.label, "istio · Istio");
    const nodeByName = new Map([...chart.nodes].map(([id, label]) => [label.replace(/^w\d+ /, ""), { id, label }]));
    const all = entries(plan);
    assert.deepEqual([...nodeByName.keys()].sort(), [...all.keys()].sort(), "one node per planned resource");
    for (const [name, r] of all) {
        const node = nodeByName.get(name);
        assert.equal(node?.label, `w${r.wave} ${name}`);
        const inside = [...chart.subgraphs.values()].find((s) => s.nodes.includes(node.id));
        assert.equal(inside ? inside.label.split(" · ")[0] : null, r.parent, `${name} sits in its component`);
    }
});

test("--format mermaid: arrows are the transitive reduction of the recorded dependencies", async () => {
    const chart = parseFlowchart((await runPlan(["--format", "mermaid"])).stdout);
    const nameOf = new Map([...chart.nodes].map(([id, label]) => [id, label.replace(/^w\d+ /, "")]));
    const drawn = new Map<string, string[]>([...entries(plan).keys()].map((n) => [n, []]));
    for (const [from, to] of chart.edges) {
        drawn.get(nameOf.get(to) as string)?.push(nameOf.get(from) as string);
    }
    const recorded = new Map([...entries(plan)].map(([n, r]) => [n, [...r.waitsFor]]));
    const want = closure(recorded);
    const got = closure(drawn);
    for (const name of recorded.keys()) {
        assert.deepEqual([...(got.get(name) ?? [])].sort(), [...(want.get(name) ?? [])].sort(), `${name}: same ordering as the plan`);
        for (const p of drawn.get(name) ?? []) {
            assert.ok(recorded.get(name)?.includes(p), `${p} --> ${name} is a recorded dependency`);
            const viaOther = (drawn.get(name) ?? []).some((q) => q !== p && got.get(q)?.has(p));
            assert.equal(viaOther, false, `${p} --> ${name} is implied by another path and should be reduced away`);
        }
    }
    // The picture shows the story: init before the joins, Cilium's check after every join, Istio after Cilium.
    assert.ok(want.get("worker1-join")?.has("cp1-init"));
    assert.ok(got.get("istio-base")?.has("cilium-check"));
});

test("--format mermaid --detail components: one box per component or top-level resource, with wave spans", async () => {
    const run = await runPlan(["--format", "mermaid", "--detail", "components"]);
    const chart = parseFlowchart(run.stdout);
    const labels = [...chart.nodes.values()];
    assert.equal(chart.subgraphs.size, 0);
    assert.ok(labels.includes("cp1 · KubeadmNode<br/>waves 1–7, 15 resources"), labels.join("\n"));
    const idOf = (prefix: string): string => [...chart.nodes].find(([, l]) => l.startsWith(`${prefix} · `))?.[0] as string;
    const edges = chart.edges.map(([a, b]) => `${a}>${b}`);
    assert.ok(edges.includes(`${idOf("cp1")}>${idOf("cluster")}`));
    assert.ok(edges.includes(`${idOf("cilium")}>${idOf("istio")}`));
    assert.equal(edges.includes(`${idOf("cp1")}>${idOf("istio")}`), false, "reduced: cp1 reaches istio through cilium");
});

function doc(resources: PlanEntry[], components: PlanDocument["components"]): PlanDocument {
    return {
        project: "p",
        stack: "s",
        errors: [],
        warnings: [],
        summary: { resources: resources.length, components: components.length, waves: 2 },
        components,
        waves: [
            { wave: 1, resources: resources.filter((r) => r.waitsFor.length === 0) },
            { wave: 2, resources: resources.filter((r) => r.waitsFor.length > 0) },
        ],
    };
}
const res = (name: string, parent: string | null, waitsFor: string[] = []): PlanEntry => ({
    name,
    type: "t:i:T",
    parent,
    waitsFor,
    secretOutputs: [],
    secretInputs: [],
    inputs: {},
});

test("mermaid: nested components nest; awkward names become safe, distinct ids; labels are escaped", () => {
    const text = renderMermaid(
        doc(
            [res("end", "outer"), res("cp1-init", "inner", ["end"]), res("cp1_init", null, ["cp1-init"]), res('say "hi" <b>', "inner")],
            [
                { name: "outer", type: "x:y:Outer", parent: null },
                { name: "inner", type: "x:y:Inner", parent: "outer" },
            ],
        ),
    );
    const chart = parseFlowchart(text);
    const inner = [...chart.subgraphs.values()].find((s) => s.label === "inner · Inner");
    const outerId = [...chart.subgraphs].find(([, s]) => s.label === "outer · Outer")?.[0];
    assert.equal(inner?.parent, outerId, "inner is drawn inside outer");
    assert.equal(new Set(chart.nodes.keys()).size, 4);
    assert.ok([...chart.nodes.values()].includes("w2 say #quot;hi#quot; #lt;b#gt;") || [...chart.nodes.values()].includes("w1 say #quot;hi#quot; #lt;b#gt;"));
    assert.equal(chart.edges.length, 2);
});

test("transitiveReduction drops only implied arrows", () => {
    const reduced = transitiveReduction(
        new Map([
            ["a", []],
            ["b", ["a"]],
            ["c", ["a", "b"]],
            ["d", ["a", "c", "b"]],
        ]),
    );
    assert.deepEqual(Object.fromEntries(reduced), { a: [], b: ["a"], c: ["b"], d: ["c"] });
});

test("--format markdown: counts, warnings, a parseable graph and every resource's inputs, secrets redacted", async () => {
    const run = await runPlan(["--format", "markdown"], { ...process.env, SSH_AUTH_SOCK: "" });
    assert.equal(run.status, 0, run.stderr);
    const md = run.stdout;
    assert.match(md, new RegExp(`\\*\\*${plan.summary.resources} resources\\*\\* in \\*\\*${plan.summary.waves} waves\\*\\*`));
    assert.match(md, /### Warnings\n\n- :warning: sshPrivateKey: not set/);
    const mermaid = /```mermaid\n([\s\S]*?)```/.exec(md)?.[1];
    assert.ok(mermaid);
    assert.equal(parseFlowchart(mermaid).nodes.size, plan.summary.resources);
    const summaries = [...md.matchAll(/<details><summary><code>([^<]+)<\/code>/g)].map((m) => m[1]);
    assert.deepEqual(summaries.sort(), [...entries(plan).keys()].sort());
    assert.equal(md.split("<details>").length, md.split("</details>").length, "every <details> is closed");
    // Fences are balanced: every opening fence has its closing one (the report embeds scripts).
    const fences = md.split("\n").filter((l) => /^`{3,}/.test(l));
    assert.equal(fences.length % 2, 0);
    assert.match(md, /cp1-kubeadm-config<\/code>[\s\S]*?stdin: "\[secret\]"/);
    assert.match(md, /readonly K8S_VERSION='1\.33\.10'/, "scripts are shown in full");
    assert.equal(md.includes("xxxxxxxxxxxxxxxx"), false, "the mock token never appears");
    assert.equal(md.includes("[stdout of cp1-kubeconfig]"), false, "the kubeconfig never appears");
});

test("--format markdown on an invalid stack lists the errors and exits 1; bad formats are usage errors", async () => {
    const run = await runPlan(["--format", "markdown", "--config", "podSubnet=10.0.0.0/8"]);
    assert.equal(run.status, 1);
    assert.match(run.stdout, /### Errors\n\n- :x: podSubnet\/serviceSubnet: 10\.0\.0\.0\/8 and 10\.96\.0\.0\/12 overlap/);
    assert.doesNotMatch(run.stdout, /```mermaid/);
    const bad = await runPlan(["--format", "svg"]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown format "svg"/);
});

test("the flowchart check itself rejects what would break Mermaid", () => {
    const broken: [string, RegExp][] = [
        ["graph TD\n  a[\"x\"]\n", /expected "flowchart/],
        ["flowchart TD\n  subgraph s[\"S\"]\n  a[\"x\"]\n", /never closed/],
        ["flowchart TD\n  end[\"x\"]\n", /not a safe Mermaid id/],
        ["flowchart TD\n  a-b[\"x\"]\n", /not a safe Mermaid id/],
        ["flowchart TD\n  a[\"say \"hi\"\"]\n", /bad node label/],
        ["flowchart TD\n  a[\"x\"]\n  a --> b\n", /undefined node/],
        ["flowchart TD\n  a[\"x\"]\n  a[\"y\"]\n", /duplicate id/],
        ["flowchart TD\n  a --- b\n", /not a flowchart statement/],
    ];
    for (const [text, error] of broken) {
        assert.throws(() => parseFlowchart(text), error, text);
    }
});

test("output piped into another program is complete (process.exit used to cut it at 64 KiB)", () => {
    assert.ok(jsonOut.length > 65536, "the plan is larger than a pipe buffer, so this test can fail");
    for (let i = 0; i < 3; i++) {
        const run = spawnSync("bash", ["-c", `"${process.execPath}" --import tsx tools/plan.ts --format json 2>/dev/null | cat`], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
        assert.equal(run.stdout.length, jsonOut.length);
    }
});
