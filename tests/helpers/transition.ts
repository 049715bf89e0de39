/**
 * What a config change does to the plan, as the engine would see it: resources that appear or disappear (a changed
 * logical name, type or parent is a different URN: delete + create), resources whose inputs change (an update, or a
 * replacement where the provider says so, e.g. a Command whose `triggers` change), and the order they wait in.
 */
import type { PlanDocument, PlanEntry } from "../../tools/plan/plan";
import { entries } from "./plan-cli";

/** A resource's identity: the URN parts the plan keeps (name, type, parent component). */
export function identity(r: Pick<PlanEntry, "name" | "type" | "parent">): string {
    return `${r.parent ?? ""}::${r.type}::${r.name}`;
}

/** The differences between two plans of the same stack. */
export interface Transition {
    /** Identities only in the new plan. */
    readonly created: string[];
    /** Identities only in the old plan. */
    readonly deleted: string[];
    /** Names of resources in both whose inputs differ, sorted. */
    readonly changed: string[];
    /** For a changed resource, the top-level input keys that differ, sorted. */
    changedKeys(name: string): string[];
    /** Names a resource of the new plan waits for, directly or transitively. */
    ancestors(name: string): Set<string>;
}

/** Compares two plans. */
export function transition(before: PlanDocument, after: PlanDocument): Transition {
    const old = entries(before);
    const next = entries(after);
    const oldIds = new Set([...old.values()].map(identity));
    const newIds = new Set([...next.values()].map(identity));
    const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
    const changed = [...next.values()]
        .filter((r) => oldIds.has(identity(r)) && !same(r.inputs, old.get(r.name)?.inputs))
        .map((r) => r.name)
        .sort();
    return {
        created: [...newIds].filter((id) => !oldIds.has(id)).sort(),
        deleted: [...oldIds].filter((id) => !newIds.has(id)).sort(),
        changed,
        changedKeys(name: string): string[] {
            const a = old.get(name)?.inputs ?? {};
            const b = next.get(name)?.inputs ?? {};
            return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !same(a[k], b[k])).sort();
        },
        ancestors(name: string): Set<string> {
            const seen = new Set<string>();
            const stack = [...(next.get(name)?.waitsFor ?? [])];
            while (stack.length > 0) {
                const n = stack.pop() as string;
                if (!seen.has(n)) {
                    seen.add(n);
                    stack.push(...(next.get(n)?.waitsFor ?? []));
                }
            }
            return seen;
        },
    };
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
