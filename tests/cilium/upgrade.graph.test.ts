/**
 * Chart bumps of Cilium through the offline plan of the dev stack: the release is upgraded in place (same URN, same
 * release name and namespace, only `version` changes), the version guard re-runs before it and the check after it,
 * and nothing of any node moves.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import type { PlanDocument } from "../../tools/plan/plan";
import { entries, mapLimit, planJson } from "../helpers/plan-cli";
import { nodeResources, transition, type Transition } from "../helpers/transition";

const bumps = { patch: "1.18.4", minor: "1.19.0" } as const;
let base: PlanDocument;
const after: Partial<Record<keyof typeof bumps, PlanDocument>> = {};
before(async () => {
    const docs = await mapLimit([undefined, bumps.patch, bumps.minor], 2, (v) => planJson(v ? { ciliumVersion: v } : {}));
    [base, after.patch, after.minor] = docs;
});

for (const kind of Object.keys(bumps) as (keyof typeof bumps)[]) {
    const version = bumps[kind];
    const t = (): Transition => transition(base, after[kind] as PlanDocument);

    test(`ciliumVersion ${version} (${kind}): no resource appears or disappears, so nothing is replaced by a rename`, () => {
        assert.deepEqual(t().created, []);
        assert.deepEqual(t().deleted, []);
    });

    test(`ciliumVersion ${version} (${kind}): exactly the release, the guard (script and run) and the check change`, () => {
        assert.deepEqual(t().changed, ["cilium-check", "cilium-release", "cilium-version-guard", "cilium-version-guard-script"]);
    });

    test(`ciliumVersion ${version} (${kind}): the release changes only its chart version — an in-place helm upgrade`, () => {
        // pulumi-kubernetes replaces a Release only when name or namespace change (helm_release.go forceNewFields).
        assert.deepEqual(t().changedKeys("cilium-release"), ["version"]);
        const release = entries(after[kind] as PlanDocument).get("cilium-release");
        assert.equal(release?.inputs.version, version);
        assert.equal(release?.inputs.name, "cilium");
        assert.equal(release?.inputs.namespace, "kube-system");
    });

    test(`ciliumVersion ${version} (${kind}): the guard re-runs first (new trigger), the check re-runs after`, () => {
        assert.deepEqual(t().changedKeys("cilium-version-guard"), ["triggers"], "a new trigger replaces the Command: it runs again");
        const guardScript = entries(after[kind] as PlanDocument).get("cilium-version-guard-script")?.inputs.source as { text: string };
        assert.match(guardScript.text, new RegExp(`readonly TARGET='${version.replace(/\./g, "\\.")}'`));
        assert.ok(t().ancestors("cilium-release").has("cilium-version-guard"), "the release waits for the guard");
        assert.deepEqual(t().changedKeys("cilium-check"), ["triggers"]);
        assert.ok(t().ancestors("cilium-check").has("cilium-release"), "the check runs after the upgraded release");
        const triggers = entries(after[kind] as PlanDocument).get("cilium-check")?.inputs.triggers as string[];
        assert.ok(triggers.includes(version), "the chart version is one of the check's triggers");
    });

    test(`ciliumVersion ${version} (${kind}): no resource of any node changes, and Istio is untouched`, () => {
        const nodes = nodeResources(after[kind] as PlanDocument);
        assert.ok(nodes.includes("cp1-membership") && nodes.includes("worker2-join"), nodes.join(", "));
        assert.deepEqual(t().changed.filter((n) => nodes.includes(n)), []);
        assert.deepEqual(t().changed.filter((n) => n.startsWith("istio")), []);
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
