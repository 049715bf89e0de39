/**
 * Helpers for graph tests: evaluate the real program under the mock monitor (once per test file: the Pulumi runtime
 * is per-process state, and node's test runner gives each file its own process) and query what it registered.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { evaluateProgram, type Evaluation } from "../../tools/plan/evaluate";
import { computeWaves, type PlannedResource, type RecordedResource } from "../../tools/plan/graph";
import { readStackConfig } from "../../tools/plan/stack";

/** Repository root. */
export const ROOT = path.resolve(__dirname, "../..");

/** An evaluated program with lookups by name. */
export interface Graph extends Evaluation {
    /** The resource with this logical name (fails the test when absent or ambiguous). */
    get(name: string): RecordedResource;
    /** Custom resources by wave. */
    readonly planned: PlannedResource[];
    /** Names of every resource `name` waits for, directly or transitively. */
    ancestors(name: string): Set<string>;
    /**
     * When `pulumi destroy` (or dropping the resource from the program) deletes it: the engine deletes a resource only
     * after everything that waits for it, so this is 0 for a resource nothing waits for, else 1 + the latest wave of
     * its dependents (reverse topological order). Resources of the same wave are deleted in parallel.
     */
    deletionWave(name: string): number;
}

/** Evaluates `index.ts` with the dev stack's config plus overrides (un-namespaced keys) and secret overrides. */
export function evaluateDev(
    overrides: Record<string, string> = {},
    secrets: Record<string, string> = {},
    outputs?: Parameters<typeof evaluateProgram>[0]["outputs"],
): Promise<Graph> {
    return evaluateStack("dev", overrides, secrets, outputs);
}

/** Evaluates `index.ts` with a stack file's config (`Pulumi.<name>.yaml`) plus overrides and secret overrides. */
export async function evaluateStack(
    name: string,
    overrides: Record<string, string> = {},
    secrets: Record<string, string> = {},
    outputs?: Parameters<typeof evaluateProgram>[0]["outputs"],
): Promise<Graph> {
    const stack = readStackConfig(ROOT, name, { ...overrides, ...secrets });
    const secretKeys = [...stack.secretKeys, ...Object.keys(secrets).map((k) => `${stack.project}:${k}`)];
    const evaluation = await evaluateProgram({
        program: path.join(ROOT, "index.ts"),
        project: stack.project,
        stack: name,
        config: stack.values,
        secretKeys,
        outputs,
    });
    const planned = computeWaves(evaluation.resources);
    const byName = (name: string): RecordedResource[] => evaluation.resources.filter((r) => r.name === name);
    const urnToName = new Map(evaluation.resources.map((r) => [r.urn, r.name]));
    const waits = new Map(planned.map((p) => [p.resource.name, p.waitsFor.map((u) => urnToName.get(u) ?? u)]));
    const dependents = new Map<string, string[]>();
    for (const [name, deps] of waits) {
        for (const dep of deps) {
            dependents.set(dep, [...(dependents.get(dep) ?? []), name]);
        }
    }
    const deletion = new Map<string, number>();
    const deletionWave = (name: string): number => {
        const known = deletion.get(name);
        if (known !== undefined) {
            return known;
        }
        const wave = Math.max(-1, ...(dependents.get(name) ?? []).map(deletionWave)) + 1;
        deletion.set(name, wave);
        return wave;
    };
    return {
        ...evaluation,
        planned,
        deletionWave,
        get(name: string): RecordedResource {
            const found = byName(name);
            assert.equal(found.length, 1, `expected exactly one resource named ${name}, found ${found.length}`);
            return found[0];
        },
        ancestors(name: string): Set<string> {
            const seen = new Set<string>();
            const stack = [...(waits.get(name) ?? [])];
            while (stack.length > 0) {
                const next = stack.pop() as string;
                if (!seen.has(next)) {
                    seen.add(next);
                    stack.push(...(waits.get(next) ?? []));
                }
            }
            return seen;
        },
    };
}
