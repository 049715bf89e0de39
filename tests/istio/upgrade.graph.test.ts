/**
 * Istio chart bumps through the offline plan: every release is upgraded in place (same URN, name and namespace; only
 * `version` changes), in the documented order, after the version guard re-runs, with the smoke test re-run last and
 * nothing of Cilium or any node touched. Sidecar with the gateway (dev stack) and ambient (labbox stack).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import type { PlanDocument } from "../../tools/plan/plan";
import { entries, mapLimit, planJson } from "../helpers/plan-cli";
import { nodeResources, transition } from "../helpers/transition";

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

    test(`${mode}: istioVersion ${BUMP} creates and deletes nothing, and changes exactly the releases, the guard and mesh-check`, () => {
        const t = transition(plans[mode].before, plans[mode].after);
        assert.deepEqual(t.created, []);
        assert.deepEqual(t.deleted, []);
        assert.deepEqual(t.changed, [...releases, "istio-mesh-check", "istio-version-guard", "istio-version-guard-script"].sort());
    });

    test(`${mode}: each release changes only its chart version, keeping its release name and namespace`, () => {
        const t = transition(plans[mode].before, plans[mode].after);
        const old = entries(plans[mode].before);
        const next = entries(plans[mode].after);
        for (const name of releases) {
            assert.deepEqual(t.changedKeys(name), ["version"], name);
            assert.equal(next.get(name)?.inputs.version, BUMP);
            assert.equal(next.get(name)?.inputs.name, old.get(name)?.inputs.name);
            assert.equal(next.get(name)?.inputs.namespace, old.get(name)?.inputs.namespace);
        }
    });

    test(`${mode}: guard, then the releases in order, then mesh-check (which re-runs for the new version)`, () => {
        const t = transition(plans[mode].before, plans[mode].after);
        const chain = ORDER[mode];
        for (let i = 1; i < chain.length; i++) {
            assert.ok(t.ancestors(chain[i]).has(chain[i - 1]), `${chain[i]} waits for ${chain[i - 1]}`);
            assert.equal(t.ancestors(chain[i - 1]).has(chain[i]), false, `${chain[i - 1]} must not wait for ${chain[i]}`);
        }
        assert.ok(t.ancestors("istio-mesh-check").has(chain[chain.length - 1]));
        assert.deepEqual(t.changedKeys("istio-version-guard"), ["triggers"]);
        assert.deepEqual(t.changedKeys("istio-mesh-check"), ["triggers"]);
        assert.ok((entries(plans[mode].after).get("istio-mesh-check")?.inputs.triggers as string[]).includes(BUMP));
        const guard = entries(plans[mode].after).get("istio-version-guard-script")?.inputs.source as { text: string };
        assert.match(guard.text, /readonly TARGET='1\.31\.2'/);
        assert.match(guard.text, /readonly NAME='istiod'/);
    });

    test(`${mode}: no Cilium resource and no node resource changes with an Istio bump`, () => {
        const t = transition(plans[mode].before, plans[mode].after);
        const nodes = nodeResources(plans[mode].after);
        assert.ok(nodes.length > 0);
        assert.deepEqual(t.changed.filter((n) => nodes.includes(n) || n.startsWith("cilium")), []);
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
