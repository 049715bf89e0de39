/**
 * diffPlans: added / removed / changed resources and the replace-vs-update decision per provider.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { destructiveDelete, diffPlans, isEmptyDiff, replaceRule } from "../../tools/plan/diff";
import { leaveScript } from "../../components/kubeadm/scripts";
import { runInline } from "../../components/remote/script";
import { renderDiffSummaryMarkdown } from "../../tools/plan/diff-report";
import type { PlanDocument, PlanEntry } from "../../tools/plan/plan";

function entry(name: string, type: string, inputs: Record<string, unknown>, extra: Partial<PlanEntry> = {}): PlanEntry {
    return { name, type, parent: null, waitsFor: [], secretOutputs: [], secretInputs: [], inputs, ...extra };
}

function plan(resources: PlanEntry[], components: PlanDocument["components"] = []): PlanDocument {
    return {
        project: "homelab",
        stack: "dev",
        errors: [],
        warnings: [],
        summary: { resources: resources.length, components: components.length, waves: 1 },
        components,
        waves: [{ wave: 1, resources }],
    };
}

const CMD = "command:remote:Command";
const COPY = "command:remote:CopyToRemote";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const reset = "run <<'X'\nkubeadm reset -f\nX";
const membership = (extra: Partial<PlanEntry> = {}): PlanEntry =>
    entry("cp1-membership", CMD, { create: "echo member", delete: reset }, { parent: "cp1", ...extra });
const nodeComponent = [{ name: "cp1", type: "homelab:k8s:KubeadmNode", parent: null }];

test("identical plans diff to nothing", () => {
    const p = plan([membership(), entry("cilium-release", RELEASE, { name: "cilium", namespace: "kube-system", values: { a: 1 } })], nodeComponent);
    const diff = diffPlans(p, p);
    assert.equal(isEmptyDiff(diff), true);
    assert.equal(diff.unchanged, 2);
    assert.deepEqual(diff.hazards, []);
});

test("a Command's triggers replace it; create, stdin, environment and connection update it in place", () => {
    const base = plan([
        entry("a", CMD, { create: "x", triggers: ["h1"] }, { replaceOnChanges: ["triggers[*]"] }),
        entry("b", CMD, { create: "x", stdin: "s1", environment: { A: "1" } }),
        entry("c", CMD, { create: "x", connection: "[secret]" }, { secretInputs: ["connection"], secretDigests: { connection: "sha256:1" } }),
    ]);
    const head = plan([
        entry("a", CMD, { create: "x", triggers: ["h2"] }, { replaceOnChanges: ["triggers[*]"] }),
        entry("b", CMD, { create: "y", stdin: "s2", environment: { A: "2" } }),
        entry("c", CMD, { create: "x", connection: "[secret]" }, { secretInputs: ["connection"], secretDigests: { connection: "sha256:2" } }),
    ]);
    const diff = diffPlans(base, head);
    const byName = new Map(diff.changed.map((c) => [c.name, c]));
    assert.equal(byName.get("a")?.replace, true);
    assert.deepEqual(byName.get("a")?.replaceBecause, ["triggers[0]"]);
    assert.equal(byName.get("b")?.replace, false);
    assert.deepEqual(byName.get("b")?.inputs.map((i) => i.paths).flat(), ["create", "environment.A", "stdin"]);
    const c = byName.get("c");
    assert.equal(c?.replace, false);
    assert.deepEqual(c?.inputs.map((i) => [i.key, i.secret, i.before]), [["connection", true, "[secret]"]]);
});

test("a secret input whose digest is unchanged is not a change; without digests a change cannot be seen", () => {
    const same = { secretInputs: ["stdin"], secretDigests: { stdin: "sha256:1" } };
    assert.equal(isEmptyDiff(diffPlans(plan([entry("a", CMD, { stdin: "[secret]" }, same)]), plan([entry("a", CMD, { stdin: "[secret]" }, same)]))), true);
    const old = plan([entry("a", CMD, { stdin: "[secret]" }, { secretInputs: ["stdin"] })]);
    assert.equal(isEmptyDiff(diffPlans(old, plan([entry("a", CMD, { stdin: "[secret]" }, same)]))), true);
});

test("adding triggers to a Command that had none replaces it", () => {
    const diff = diffPlans(plan([entry("a", CMD, { create: "x" })]), plan([entry("a", CMD, { create: "x", triggers: ["h"] })]));
    assert.equal(diff.changed[0].replace, true);
});

test("CopyToRemote: a new source or path re-uploads in place, a trigger replaces", () => {
    const base = plan([entry("s", COPY, { remotePath: ".homelab/a.sh", source: { text: "one\n" } }), entry("t", COPY, { triggers: ["1"] })]);
    const head = plan([entry("s", COPY, { remotePath: ".homelab/b.sh", source: { text: "two\n" } }), entry("t", COPY, { triggers: ["2"] })]);
    const diff = diffPlans(base, head);
    assert.deepEqual(
        diff.changed.map((c) => [c.name, c.replace]),
        [
            ["s", false],
            ["t", true],
        ],
    );
});

test("Helm release: values, version and chart upgrade in place; name or namespace replace (uninstall)", () => {
    const release = (inputs: Record<string, unknown>): PlanEntry =>
        entry("cilium-release", RELEASE, { name: "cilium", namespace: "kube-system", chart: "cilium", version: "1.18.0", values: { hubble: { relay: { enabled: false } } }, ...inputs });
    const base = plan([release({})]);
    const upgrade = diffPlans(base, plan([release({ version: "1.18.1", values: { hubble: { relay: { enabled: true } }, name: "ignored-value-key" } })]));
    assert.equal(upgrade.changed[0].replace, false);
    assert.deepEqual(upgrade.changed[0].inputs.flatMap((i) => i.paths), ["values.hubble.relay.enabled", "values.name", "version"]);
    assert.deepEqual(upgrade.hazards, []);
    const moved = diffPlans(base, plan([release({ namespace: "cilium-system" })]));
    assert.equal(moved.changed[0].replace, true);
    assert.match(moved.changed[0].hazard ?? "", /uninstalls Helm release kube-system\/cilium/);
    assert.deepEqual(moved.hazards.map((h) => [h.name, h.action]), [["cilium-release", "replace"]]);
});

test("Kubernetes objects replace on metadata.name/namespace only; a yaml ConfigFile never replaces", () => {
    const ns = (name: string, label: string): PlanEntry =>
        entry("ns", "kubernetes:core/v1:NamespacePatch", { metadata: { name, labels: { "istio-injection": label } } });
    assert.equal(diffPlans(plan([ns("apps", "enabled")]), plan([ns("apps", "disabled")])).changed[0].replace, false);
    assert.equal(diffPlans(plan([ns("apps", "enabled")]), plan([ns("web", "enabled")])).changed[0].replace, true);
    const crds = (file: string): PlanEntry => entry("crds", "kubernetes:yaml/v2:ConfigFile", { file });
    assert.equal(diffPlans(plan([crds("v1.5.0.yaml")]), plan([crds("v1.6.0.yaml")])).changed[0].replace, false);
});

test("random strings replace on any input; the kubernetes provider replaces on kubeconfig, updates otherwise", () => {
    const token = (length: number): PlanEntry => entry("tok", "random:index/randomString:RandomString", { length });
    assert.equal(diffPlans(plan([token(6)]), plan([token(7)])).changed[0].replace, true);
    assert.equal(replaceRule("pulumi:providers:kubernetes").replaces(["kubeconfig"]), true);
    assert.equal(replaceRule("pulumi:providers:kubernetes").replaces(["enableServerSideApply"]), false);
    assert.equal(replaceRule("example:unknown:Thing").replaces(["anything"]), true, "unknown types are assumed to replace");
});

test("a rename is a removal plus an addition; removing a membership resource is flagged as wiping the node", () => {
    const base = plan([membership()], nodeComponent);
    const head = plan([membership({ name: "cp1-member" })], nodeComponent);
    const diff = diffPlans(base, head);
    assert.deepEqual(diff.added.map((a) => a.entry.name), ["cp1-member"]);
    assert.deepEqual(diff.removed.map((r) => r.entry.name), ["cp1-membership"]);
    assert.deepEqual(diff.hazards, [{ name: "cp1-membership", action: "remove", hazard: "its delete runs `kubeadm reset` and wipes the node" }]);
    assert.equal(diff.changed.length, 0);
});

test("moving a resource under a parent of another type changes its URN: remove + add", () => {
    const base = plan([entry("x", CMD, { create: "a" }, { parent: "cp1" })], nodeComponent);
    const head = plan([entry("x", CMD, { create: "a" }, { parent: "cilium" })], [{ name: "cilium", type: "homelab:net:Cilium", parent: null }]);
    const diff = diffPlans(base, head);
    assert.equal(diff.added.length, 1);
    assert.equal(diff.removed.length, 1);
});

test("replacing a resource whose delete runs kubeadm reset is a hazard; updating it is not", () => {
    const withTriggers = membership({ inputs: { create: "echo member", delete: reset, triggers: ["v2"] } });
    const replaced = diffPlans(plan([membership()], nodeComponent), plan([withTriggers], nodeComponent));
    assert.equal(replaced.changed[0].replace, true);
    assert.deepEqual(replaced.hazards.map((h) => h.action), ["replace"]);
    const updated = diffPlans(plan([membership()], nodeComponent), plan([membership({ inputs: { create: "echo other", delete: reset } })], nodeComponent));
    assert.equal(updated.changed[0].replace, false);
    assert.deepEqual(updated.hazards, []);
});

test("a dependency change alone runs no operation", () => {
    const diff = diffPlans(plan([entry("a", CMD, { create: "x" })]), plan([entry("a", CMD, { create: "x" }, { waitsFor: ["b"] })]));
    assert.equal(isEmptyDiff(diff), true);
});

test("destructiveDelete recognises kubeadm reset, a node's leave step and Helm releases only", () => {
    assert.match(destructiveDelete(membership()) ?? "", /kubeadm reset/);
    const leave = entry("w1-leave", CMD, { delete: runInline(leaveScript({ nodeName: "w1", controlPlane: false }), "HOMELAB_LEAVE") });
    assert.match(destructiveDelete(leave) ?? "", /drains the node and removes it from the cluster/);
    assert.equal(destructiveDelete(entry("stage", CMD, { create: "mkdir -p .homelab", delete: "rm -rf .homelab" })), undefined);
    assert.equal(destructiveDelete(entry("s", COPY, { remotePath: "x" })), undefined);
});

test("errors of both sides are carried", () => {
    const bad: PlanDocument = { ...plan([]), errors: ["podSubnet: overlaps"] };
    assert.deepEqual(diffPlans(plan([]), bad).errors, { base: [], head: ["podSubnet: overlaps"] });
});

test("a provider fed by a changed resource gets a preview note; an unrelated change gives none", () => {
    const kubeconfig = (create: string): PlanEntry => entry("cp1-kubeconfig", CMD, { create });
    const provider = entry("cluster", "pulumi:providers:kubernetes", { kubeconfig: "[secret]" }, { waitsFor: ["cp1-init", "cp1-kubeconfig"], inputsFrom: ["cp1-kubeconfig"] });
    const noted = diffPlans(plan([kubeconfig("a"), provider]), plan([kubeconfig("b"), provider]));
    assert.equal(noted.previewNotes.length, 1);
    assert.match(noted.previewNotes[0], /^provider cluster takes inputs from changed cp1-kubeconfig: `pulumi preview` sees its inputs as unknown/);
    // A changed dependsOn-only dependency orders the provider but hides none of its inputs.
    const init = (create: string): PlanEntry => entry("cp1-init", CMD, { create });
    assert.deepEqual(diffPlans(plan([init("a"), kubeconfig("a"), provider]), plan([init("b"), kubeconfig("a"), provider])).previewNotes, []);
    // Plans made before inputsFrom existed: every dependency counts.
    const legacy = { ...provider, inputsFrom: undefined };
    assert.equal(diffPlans(plan([init("a"), legacy]), plan([init("b"), legacy])).previewNotes.length, 1);
    const other = entry("other", CMD, { create: "x" });
    const quiet = diffPlans(plan([kubeconfig("a"), provider, other]), plan([kubeconfig("a"), provider, { ...other, inputs: { create: "y" } }]));
    assert.deepEqual(quiet.previewNotes, []);
});

test("the comment's summary counts every stack and lists every stack's destructive changes first", () => {
    const quiet = diffPlans(plan([membership()], nodeComponent), plan([membership(), entry("x", CMD, { create: "a" })], nodeComponent));
    const wiped = diffPlans(plan([membership()], nodeComponent), plan([], nodeComponent));
    const summary = renderDiffSummaryMarkdown([
        { ...quiet, stack: "dev" },
        { ...wiped, stack: "ha" },
    ]);
    assert.equal(
        summary,
        [
            "| stack | add | update | replace | remove | destructive | invalid at the head |",
            "| --- | ---: | ---: | ---: | ---: | ---: | :---: |",
            "| `dev` | 1 | 0 | 0 | 0 | 0 | no |",
            "| `ha` | 0 | 0 | 0 | 1 | **1** | no |",
            "",
            "> [!CAUTION]",
            "> **Destructive changes** in these stacks — review before `pulumi up`:",
            "> - `ha`: `cp1-membership` would be **removed**: its delete runs `kubeadm reset` and wipes the node",
            "",
            "",
        ].join("\n"),
    );
    assert.doesNotMatch(renderDiffSummaryMarkdown([{ ...quiet, stack: "dev" }]), /CAUTION/);
});
