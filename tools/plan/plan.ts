/**
 * The offline plan: the stack's bootstrap as ordered waves of resources, built from a mock evaluation of `index.ts`.
 */
import * as path from "node:path";
import * as YAML from "yaml";
import { resolveConfig } from "../../components/config";
import { evaluateProgram, type EvaluateOptions } from "./evaluate";
import { byCodePoint, computeWaves, containsSecret, sanitize, secretDigest, type RecordedResource } from "./graph";
import { projectKeys, readStackConfig } from "./stack";
import { contentHash } from "../../components/remote/script";

/** One resource in the plan document. */
export interface PlanEntry {
    /** Logical name (unique in this program). */
    readonly name: string;
    /** Type token. */
    readonly type: string;
    /** Name of the parent component, or null at the top level. */
    readonly parent: string | null;
    /** Names of the resources it waits for. */
    readonly waitsFor: readonly string[];
    /**
     * Names of the resources whose outputs feed its inputs (property dependencies, a subset of `waitsFor`). Only these
     * can make an input unknown in `pulumi preview`; a `dependsOn` alone orders without hiding values. Absent when
     * none, and in plans made before it existed.
     */
    readonly inputsFrom?: readonly string[];
    /** Outputs stored as secrets. */
    readonly secretOutputs: readonly string[];
    /** Inputs that are secrets (shown as `[secret]`). */
    readonly secretInputs: readonly string[];
    /** Inputs, with secrets redacted and assets shown as their text. */
    readonly inputs: Readonly<Record<string, unknown>>;
    /**
     * Per secret input, the first 64 bits of the SHA-256 of its value, so a diff can tell that a secret input changed
     * without showing it. Offline the secret values are mock outputs, `[secret]` for stack-file ciphertexts (never
     * decrypted) or what `--config-secret` passed; a hash prefix of a key or token reveals nothing usable about it.
     * Absent in plans made before digests existed.
     */
    readonly secretDigests?: Readonly<Record<string, string>>;
    /** Input paths the engine replaces the resource on (`replaceOnChanges`, e.g. `triggers[*]`), when any. */
    readonly replaceOnChanges?: readonly string[];
}

/** The whole plan: deterministic for the same repository state and config. */
export interface PlanDocument {
    /** Project name. */
    readonly project: string;
    /** Stack name. */
    readonly stack: string;
    /** Validation and program errors; non-empty means the stack cannot be deployed. */
    readonly errors: readonly string[];
    /** Validation warnings. */
    readonly warnings: readonly string[];
    /** Counts. */
    readonly summary: { readonly resources: number; readonly components: number; readonly waves: number };
    /** Components (grouping only; they run nothing themselves). */
    readonly components: readonly { readonly name: string; readonly type: string; readonly parent: string | null }[];
    /** Resources by wave: everything in a wave can run in parallel once earlier waves are done. */
    readonly waves: readonly { readonly wave: number; readonly resources: readonly PlanEntry[] }[];
}

/** Options for `buildPlan`. */
export interface PlanOptions {
    /** Folder holding `Pulumi.yaml` and `index.ts`. */
    readonly projectDir: string;
    /** Stack name (`Pulumi.<stack>.yaml`). */
    readonly stack: string;
    /** Un-namespaced key → value, applied over the stack file. */
    readonly overrides?: Record<string, string>;
    /** Un-namespaced key → value, applied like `overrides` but stored as secrets (`pulumi config set --secret`). */
    readonly secretOverrides?: Record<string, string>;
    /** Environment for SSH agent detection; defaults to `process.env`. */
    readonly env?: NodeJS.ProcessEnv;
    /** Extra mock outputs (tests use it to simulate host answers). */
    readonly outputs?: EvaluateOptions["outputs"];
}

function nameOf(urn: string, byUrn: Map<string, RecordedResource>): string {
    return byUrn.get(urn)?.name ?? urn.split("::").pop() ?? urn;
}

/** `inputsFrom` of a plan entry: the named sources of its property dependencies, when it has any. */
function inputsFrom(r: RecordedResource, byUrn: Map<string, RecordedResource>): { inputsFrom?: string[] } {
    const names = [...new Set(Object.values(r.propertyDependencies).flat())].filter((u) => u !== r.urn).map((u) => nameOf(u, byUrn));
    return names.length > 0 ? { inputsFrom: [...new Set(names)].sort(byCodePoint) } : {};
}

/** Builds the plan document for one stack. */
export async function buildPlan(options: PlanOptions): Promise<PlanDocument> {
    const env = options.env ?? process.env;
    const secretOverrides = options.secretOverrides ?? {};
    const read = readStackConfig(options.projectDir, options.stack, { ...options.overrides, ...secretOverrides });
    const stackConfig = {
        ...read,
        secretKeys: [...new Set([...read.secretKeys, ...Object.keys(secretOverrides).map((k) => (k.includes(":") ? k : `${read.project}:${k}`))])].sort(),
    };
    const keys = projectKeys(stackConfig);
    const validation = resolveConfig(keys, {
        hasPrivateKey: (keys.sshPrivateKey ?? "") !== "",
        sshAuthSock: env.SSH_AUTH_SOCK || undefined,
    });
    const base = { project: stackConfig.project, stack: options.stack, warnings: validation.warnings };
    if (validation.errors.length > 0) {
        return { ...base, errors: validation.errors, summary: { resources: 0, components: 0, waves: 0 }, components: [], waves: [] };
    }

    const evaluation = await evaluateProgram({
        program: path.join(options.projectDir, "index.ts"),
        project: stackConfig.project,
        stack: options.stack,
        config: stackConfig.values,
        secretKeys: stackConfig.secretKeys,
        outputs: options.outputs,
    });
    const byUrn = new Map(evaluation.resources.map((r) => [r.urn, r]));
    const parentName = (r: RecordedResource): string | null => {
        const parent = r.parent ? byUrn.get(r.parent) : undefined;
        return parent && parent.type !== "pulumi:pulumi:Stack" ? parent.name : null;
    };
    const planned = computeWaves(evaluation.resources);
    const waves = new Map<number, PlanEntry[]>();
    for (const p of planned) {
        const r = p.resource;
        const secretInputs = Object.keys(r.inputs)
            .filter((k) => containsSecret(r.inputs[k]))
            .sort();
        const entry: PlanEntry = {
            name: r.name,
            type: r.type,
            parent: parentName(r),
            waitsFor: p.waitsFor.map((u) => nameOf(u, byUrn)).sort(),
            ...inputsFrom(r, byUrn),
            secretOutputs: [...r.additionalSecretOutputs].sort(),
            secretInputs,
            inputs: sanitize(r.inputs) as Readonly<Record<string, unknown>>,
            ...(secretInputs.length > 0 ? { secretDigests: Object.fromEntries(secretInputs.map((k) => [k, secretDigest(r.inputs[k])])) } : {}),
            ...(r.replaceOnChanges.length > 0 ? { replaceOnChanges: [...r.replaceOnChanges].sort() } : {}),
        };
        waves.set(p.wave, [...(waves.get(p.wave) ?? []), entry]);
    }
    const components = evaluation.resources
        .filter((r) => !r.custom && r.remote !== true && r.type !== "pulumi:pulumi:Stack")
        .map((r) => ({ name: r.name, type: r.type, parent: parentName(r) }))
        .sort((a, b) => byCodePoint(a.name, b.name));
    const waveList = [...waves.entries()]
        .sort(([a], [b]) => a - b)
        .map(([wave, resources]) => ({ wave, resources: resources.sort((a, b) => byCodePoint(a.name, b.name)) }));
    return {
        ...base,
        errors: evaluation.programErrors,
        summary: {
            resources: planned.length,
            components: components.length,
            waves: waveList.length,
        },
        components,
        waves: waveList,
    };
}

/** The plan as stable JSON (keys sorted by construction, no timestamps). */
export function renderJson(plan: PlanDocument): string {
    return `${JSON.stringify(plan, null, 2)}\n`;
}

function excerpt(text: string, width = 110): string {
    const line = text.replace(/\s+/g, " ").trim();
    return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

/** Short, human-readable key inputs of one resource. */
export function keyInputs(entry: PlanEntry): string[] {
    const inputs = entry.inputs;
    const lines: string[] = [];
    const show = (key: string, value: unknown): void => {
        if (value === undefined) {
            return;
        }
        if (value === "[secret]") {
            lines.push(`${key}: [secret]`);
        } else if (typeof value === "object" && value !== null && "text" in value) {
            const text = String(value.text);
            const header = text.split("\n").find((l) => l.startsWith("# homelab")) ?? text.split("\n")[0];
            lines.push(`${key}: ${text.split("\n").length} lines, sha256 ${contentHash(text).slice(0, 12)} — ${excerpt(header, 80)}`);
        } else if (typeof value === "string") {
            lines.push(`${key}: ${excerpt(value)}`);
        } else {
            lines.push(`${key}: ${excerpt(JSON.stringify(value))}`);
        }
    };
    switch (entry.type) {
        case "command:remote:Command":
            show("create", inputs.create);
            show("stdin", inputs.stdin);
            show("delete", typeof inputs.delete === "string" ? `${inputs.delete.split("\n").length}-line script (${excerpt(inputs.delete, 60)})` : undefined);
            show("triggers", Array.isArray(inputs.triggers) ? inputs.triggers.map((t) => String(t).slice(0, 12)) : undefined);
            show("logging", inputs.logging);
            break;
        case "command:remote:CopyToRemote":
            show("remotePath", inputs.remotePath);
            show("source", inputs.source);
            break;
        case "kubernetes:helm.sh/v3:Release":
            for (const key of ["name", "namespace", "chart", "version", "repositoryOpts"]) {
                show(key, inputs[key]);
            }
            if (inputs.values !== undefined) {
                lines.push("values:", ...YAML.stringify(inputs.values).trimEnd().split("\n").map((l) => `  ${l}`));
            }
            break;
        default:
            for (const key of Object.keys(inputs).filter((k) => k !== "__defaults")) {
                show(key, inputs[key]);
            }
    }
    // `connection` is always secret on command resources (the SDK adds it); list only the outputs we chose.
    const secretOutputs = entry.secretOutputs.filter((o) => o !== "connection");
    if (secretOutputs.length > 0) {
        lines.push(`secret outputs: ${secretOutputs.join(", ")}`);
    }
    return lines;
}

/** The plan as text: waves, resources, dependencies and key inputs. */
export function renderText(plan: PlanDocument): string {
    const out: string[] = [`Plan for stack "${plan.stack}" of project ${plan.project}`];
    for (const e of plan.errors) {
        out.push(`ERROR: ${e}`);
    }
    for (const w of plan.warnings) {
        out.push(`warning: ${w}`);
    }
    if (plan.errors.length > 0) {
        out.push("", "Nothing would be deployed: fix the errors above.");
        return `${out.join("\n")}\n`;
    }
    out.push(
        `${plan.summary.resources} resources in ${plan.summary.waves} waves, grouped by ${plan.summary.components} components ` +
            "(resources in one wave run in parallel)",
    );
    for (const wave of plan.waves) {
        out.push("", `Wave ${wave.wave} (${wave.resources.length})`);
        for (const r of wave.resources) {
            out.push(`  + ${r.name}  [${r.type}]${r.parent ? `  in ${r.parent}` : ""}`);
            if (r.waitsFor.length > 0) {
                out.push(`      waits for: ${r.waitsFor.join(", ")}`);
            }
            out.push(...keyInputs(r).map((l) => `      ${l}`));
        }
    }
    return `${out.join("\n")}\n`;
}
