/**
 * Child process of `loadPlanSteps` (plan-steps.ts): reads `{stack, overrides}` as JSON on stdin, evaluates the
 * program once under the mock monitor and prints the steps as JSON.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { resolveConfig } from "../../components/config";
import { evaluateProgram } from "../../tools/plan/evaluate";
import { exitAfterFlush } from "../../tools/plan/exit";
import { ASSET_SIG, computeWaves, SECRET_SIG, SIG_KEY } from "../../tools/plan/graph";
import { projectKeys, readStackConfig } from "../../tools/plan/stack";
import { placeholder, type PlanStep, type PlanSteps } from "./plan-steps";

const ROOT = path.resolve(__dirname, "../..");

/** Serialized inputs with secrets revealed and string assets as `{ text }`. */
function reveal(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(reveal);
    if (typeof value === "object" && value !== null) {
        const obj = value as Record<string, unknown>;
        if (obj[SIG_KEY] === SECRET_SIG) return reveal(obj.value);
        if (obj[SIG_KEY] === ASSET_SIG) return { text: obj.text };
        return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, reveal(v)]));
    }
    return value;
}

/** The placeholder stdout of a command (see plan-steps.ts). */
function placeholderStdout(name: string): string {
    return name.endsWith("-preflight") ? `hostname=${placeholder(name, "hostname")}\nmachine-id=${placeholder(name, "machine-id")}\n` : placeholder(name);
}

async function main(): Promise<void> {
    const request = JSON.parse(readFileSync(0, "utf8")) as { stack: string; overrides: Record<string, string> };
    const stackConfig = readStackConfig(ROOT, request.stack, request.overrides);
    const resolved = resolveConfig(projectKeys(stackConfig), { hasPrivateKey: false, sshAuthSock: "/dev/null" });
    const nodes = (resolved.config?.nodes ?? [])
        .map((n) => ({ name: n.name, role: n.role, host: n.host }))
        .sort((a, b) => (a.role === b.role ? 0 : a.role === "control-plane" ? -1 : 1));
    const base = { stack: request.stack, nodes, istioMode: resolved.config?.istio?.mode ?? "off" } as const;
    if (!resolved.config) {
        process.stdout.write(JSON.stringify({ ...base, errors: resolved.errors, steps: [] } satisfies PlanSteps));
        return;
    }
    const evaluation = await evaluateProgram({
        program: path.join(ROOT, "index.ts"),
        project: stackConfig.project,
        stack: request.stack,
        config: stackConfig.values,
        secretKeys: stackConfig.secretKeys,
        outputs: (type, name) =>
            type === "command:remote:Command" ? { stdout: placeholderStdout(name), stderr: "" } : {},
    });
    const nameOf = new Map(evaluation.resources.map((r) => [r.urn, r.name]));
    const nodeByHost = new Map(nodes.map((n) => [n.host, n.name]));
    const steps: PlanStep[] = computeWaves(evaluation.resources).map(({ wave, resource, waitsFor }) => {
        const inputs = reveal(resource.inputs) as Record<string, unknown>;
        const connection = inputs.connection as { host?: string } | undefined;
        const node = connection?.host !== undefined ? nodeByHost.get(connection.host) : undefined;
        return {
            name: resource.name,
            type: resource.type,
            wave,
            waitsFor: waitsFor.map((u) => nameOf.get(u) ?? u).sort(),
            ...(node !== undefined ? { node } : {}),
            inputs,
        };
    });
    steps.sort((a, b) => a.wave - b.wave || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    process.stdout.write(JSON.stringify({ ...base, errors: evaluation.programErrors, steps } satisfies PlanSteps));
}

// exitAfterFlush: process.exit would cut the JSON off once it outgrows the pipe's buffer.
main().then(
    () => exitAfterFlush(0),
    (err: unknown) => {
        process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
        exitAfterFlush(2);
    },
);
