/**
 * Chart bumps of Cilium through the offline plan of the dev stack, compared with `diffPlans`: the release is upgraded
 * in place (same URN, release name and namespace; only `version` changes: an update, not a replacement), the version
 * guard re-runs before it and the check after it, and nothing of any node moves.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { diffPlans, type PlanDiff } from "../../tools/plan/diff";
import type { PlanDocument } from "../../tools/plan/plan";
import { entries, mapLimit, planJson } from "../helpers/plan-cli";
import { ancestors, nodeResources } from "../helpers/transition";

const bumps = { patch: "1.18.4", minor: "1.19.0" } as const;
let base: PlanDocument;
const after: Partial<Record<keyof typeof bumps, PlanDocument>> = {};
before(async () => {
    const docs = await mapLimit([undefined, bumps.patch, bumps.minor], 2, (v) => planJson(v ? { ciliumVersion: v } : {}));
    [base, after.patch, after.minor] = docs;
});

/** name → [replace?, changed input paths] */
const summary = (diff: PlanDiff): Record<string, [boolean, string[]]> =>
    Object.fromEntries(diff.changed.map((c) => [c.name, [c.replace, c.inputs.flatMap((i) => i.paths)]]));

for (const kind of Object.keys(bumps) as (keyof typeof bumps)[]) {
    const version = bumps[kind];
    const head = (): PlanDocument => after[kind] as PlanDocument;

    test(`ciliumVersion ${version} (${kind}): nothing added or removed, nothing destructive`, () => {
        const diff = diffPlans(base, head());
        assert.deepEqual(diff.errors, { base: [], head: [] });
        assert.deepEqual([diff.added.length, diff.removed.length], [0, 0]);
        assert.deepEqual(diff.hazards, []);
    });

    test(`ciliumVersion ${version} (${kind}): the release is updated in place (helm upgrade); guard and check re-run`, () => {
        assert.deepEqual(summary(diffPlans(base, head())), {
            // The only Release change: its chart version. pulumi-kubernetes replaces a Release only for name/namespace.
            "cilium-release": [false, ["version"]],
            // A new script (new TARGET) uploaded in place; its hash is the guard's trigger, so the guard runs again.
            "cilium-version-guard-script": [false, ["source.text"]],
            "cilium-version-guard": [true, ["triggers[0]"]],
            // The chart version is one of the check's triggers (its script, values and node set are unchanged).
            "cilium-check": [true, ["triggers[1]"]],
        });
        assert.equal(entries(head()).get("cilium-release")?.inputs.version, version);
        assert.ok((entries(head()).get("cilium-check")?.inputs.triggers as string[]).includes(version));
        assert.match((entries(head()).get("cilium-version-guard-script")?.inputs.source as { text: string }).text, new RegExp(`readonly TARGET='${version.replace(/\./g, "\\.")}'`));
    });

    test(`ciliumVersion ${version} (${kind}): guard before the release, the check after it`, () => {
        assert.ok(ancestors(head(), "cilium-release").has("cilium-version-guard"));
        assert.ok(ancestors(head(), "cilium-check").has("cilium-release"));
        assert.equal(ancestors(head(), "cilium-version-guard").has("cilium-release"), false);
    });

    test(`ciliumVersion ${version} (${kind}): no resource of any node changes, and Istio is untouched`, () => {
        const nodes = nodeResources(head());
        assert.ok(nodes.includes("cp1-membership") && nodes.includes("worker2-join"), nodes.join(", "));
        const changed = diffPlans(base, head()).changed.map((c) => c.name);
        assert.deepEqual(changed.filter((n) => nodes.includes(n) || n.startsWith("istio")), []);
    });
}

test("upgradeCompatibility stays pinned across bumps: chart defaults do not move under a version change", () => {
    for (const doc of [base, after.patch, after.minor]) {
        const values = entries(doc as PlanDocument).get("cilium-release")?.inputs.values as { upgradeCompatibility?: string };
        assert.equal(values.upgradeCompatibility, "1.18");
    }
});

test("a minor outside the tested line warns (and still plans): the warning names ciliumVersion", () => {
    assert.ok((after.minor as PlanDocument).warnings.some((w) => w.startsWith("ciliumVersion: 1.19.0 is outside the tested 1.18 line")));
    assert.equal((after.patch as PlanDocument).warnings.some((w) => w.startsWith("ciliumVersion")), false);
});
