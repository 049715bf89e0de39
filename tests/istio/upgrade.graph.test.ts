/**
 * Istio chart bumps through the offline plan, compared with `diffPlans`: every release is upgraded in place (same URN,
 * name and namespace; only `version` changes: an update, not a replacement), in the documented order, after the version guard re-runs, with the smoke test re-run last and
 * nothing of Cilium or any node touched. Sidecar with the gateway (dev stack) and ambient (labbox stack).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import type { PlanDocument } from "../../tools/plan/plan";
import { diffPlans } from "../../tools/plan/diff";
import { entries, mapLimit, planJson } from "../helpers/plan-cli";
import { ancestors, nodeResources } from "../helpers/transition";

const BUMP = "1.31.2";
const variants: Record<"sidecar" | "ambient", { stack: string; overrides: Record<string, string> }> = {
    sidecar: { stack: "dev", overrides: { istioGateway: "true" } },
    ambient: { stack: "labbox", overrides: {} },
};
/** Release chains in the order each mode installs and upgrades them (istio.io: base, istiod before cni/ztunnel, gateway last). */
const ORDER = {
    sidecar: ["istio-version-guard", "istio-base", "istio-cni", "istio-istiod", "istio-gateway"],
    ambient: ["istio-version-guard", "istio-base", "istio-gateway-api-crds", "istio-istiod", "istio-cni", "istio-ztunnel", "istio-gateway"],
} as const;
const plans: Record<string, { before: PlanDocument; after: PlanDocument; outside: PlanDocument }> = {};
before(async () => {
    const jobs = Object.entries(variants).flatMap(([mode, v]) =>
        ([{}, { istioVersion: BUMP }, { istioVersion: "1.32.0" }] as Record<string, string>[]).map((extra) => ({ mode, stack: v.stack, overrides: { ...v.overrides, ...extra } })),
    );
    const docs = await mapLimit(jobs, 2, (j) => planJson(j.overrides, j.stack));
    for (const mode of Object.keys(variants)) {
        const [b, a, o] = docs.filter((_, i) => jobs[i].mode === mode);
        plans[mode] = { before: b, after: a, outside: o };
    }
});

for (const mode of Object.keys(variants) as (keyof typeof variants)[]) {
    const releases = ORDER[mode].filter((n) => n !== "istio-version-guard" && n !== "istio-gateway-api-crds");

    test(`${mode}: istioVersion ${BUMP} adds, removes and destroys nothing; the releases update in place, guard and mesh-check re-run`, () => {
        const diff = diffPlans(plans[mode].before, plans[mode].after);
        assert.deepEqual([diff.added.length, diff.removed.length, diff.hazards.length], [0, 0, 0]);
        const summary = Object.fromEntries(diff.changed.map((c) => [c.name, [c.replace, c.inputs.flatMap((i) => i.paths)]]));
        assert.deepEqual(summary, {
            // Each release: only its chart version (pulumi-kubernetes replaces a Release only for name/namespace).
            ...Object.fromEntries(releases.map((r) => [r, [false, ["version"]]])),
            "istio-version-guard-script": [false, ["source.text"]],
            "istio-version-guard": [true, ["triggers[0]"]],
            // The Istio version is one of mesh-check's triggers (its script and the values are unchanged).
            "istio-mesh-check": [true, ["triggers[1]"]],
        });
        for (const name of releases) {
            assert.equal(entries(plans[mode].after).get(name)?.inputs.version, BUMP);
        }
    });

    test(`${mode}: guard, then the releases in order, then mesh-check (which re-runs for the new version)`, () => {
        const after = plans[mode].after;
        const chain = ORDER[mode];
        for (let i = 1; i < chain.length; i++) {
            assert.ok(ancestors(after, chain[i]).has(chain[i - 1]), `${chain[i]} waits for ${chain[i - 1]}`);
            assert.equal(ancestors(after, chain[i - 1]).has(chain[i]), false, `${chain[i - 1]} must not wait for ${chain[i]}`);
        }
        assert.ok(ancestors(after, "istio-mesh-check").has(chain[chain.length - 1]));
        assert.ok((entries(after).get("istio-mesh-check")?.inputs.triggers as string[]).includes(BUMP));
        const guard = entries(after).get("istio-version-guard-script")?.inputs.source as { text: string };
        assert.match(guard.text, /readonly TARGET='1\.31\.2'/);
        assert.match(guard.text, /readonly NAME='istiod'/);
    });

    test(`${mode}: no Cilium resource and no node resource changes with an Istio bump`, () => {
        const changed = diffPlans(plans[mode].before, plans[mode].after).changed.map((c) => c.name);
        const nodes = nodeResources(plans[mode].after);
        assert.ok(nodes.length > 0);
        assert.deepEqual(changed.filter((n) => nodes.includes(n) || n.startsWith("cilium")), []);
    });

    test(`${mode}: the support window is checked again for the new version — inside it no warning, outside a warning`, () => {
        const istioWarnings = (doc: PlanDocument): readonly string[] => doc.warnings.filter((w) => w.startsWith("istioVersion"));
        assert.deepEqual(istioWarnings(plans[mode].after), []);
        assert.deepEqual(istioWarnings(plans[mode].outside), [
            "istioVersion: 1.32.0 is not in this program's support table (1.30, 1.31) — check its Kubernetes support window yourself",
        ]);
    });
}

test("an Istio bump with a Kubernetes minor outside Istio's window warns naming both", async () => {
    const doc = await planJson({ istioVersion: BUMP, kubernetesVersion: "1.31.9" });
    assert.ok(
        doc.warnings.includes(
            "istioVersion: Istio 1.31 supports Kubernetes 1.32–1.36, and kubernetesVersion is 1.31.9 — it may work, but it is outside Istio's support window",
        ),
        doc.warnings.join("\n"),
    );
});
