/**
 * Plan queries the chart-bump tests need besides `diffPlans` (tools/plan/diff.ts, which says what is added, removed,
 * updated or replaced): the order resources wait in, and which resources belong to a node.
 */
import type { PlanDocument } from "../../tools/plan/plan";
import { entries } from "./plan-cli";

/** Names a resource of the plan waits for, directly or transitively. */
export function ancestors(plan: PlanDocument, name: string): Set<string> {
    const all = entries(plan);
    const seen = new Set<string>();
    const stack = [...(all.get(name)?.waitsFor ?? [])];
    while (stack.length > 0) {
        const n = stack.pop() as string;
        if (!seen.has(n)) {
            seen.add(n);
            stack.push(...(all.get(n)?.waitsFor ?? []));
        }
    }
    return seen;
}

/** Names of every resource of the plan that belongs to a KubeadmNode (its component or any descendant). */
export function nodeResources(plan: PlanDocument): string[] {
    const nodes = new Set(plan.components.filter((c) => c.type.endsWith(":KubeadmNode")).map((c) => c.name));
    const parentOf = new Map<string, string | null>([
        ...plan.components.map((c) => [c.name, c.parent] as const),
        ...[...entries(plan).values()].map((r) => [r.name, r.parent] as const),
    ]);
    const underNode = (name: string): boolean => {
        for (let p = parentOf.get(name) ?? null; p !== null; p = parentOf.get(p) ?? null) {
            if (nodes.has(p)) {
                return true;
            }
        }
        return false;
    };
    return [...entries(plan).keys()].filter(underNode).sort();
}
