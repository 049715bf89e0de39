import { createHash } from "node:crypto";

/**
 * The resource graph recorded from a program run under the mock monitor, and its bootstrap waves.
 */

/** Pulumi's signature keys in serialized property values. */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17";
export const ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7";
export const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** One registered resource, as the engine would see it. */
export interface RecordedResource {
    /** URN assigned by the mock monitor. */
    readonly urn: string;
    /** Type token, e.g. `command:remote:Command`. */
    readonly type: string;
    /** Logical name. */
    readonly name: string;
    /** Parent URN (components, the stack). */
    readonly parent?: string;
    /** Custom resource (true) or component (false). */
    readonly custom: boolean;
    /**
     * A remote component (implemented by a provider, e.g. kubernetes' yaml.v2.ConfigFile or helm.v4.Chart): the
     * engine runs it like a custom resource, and `dependsOn` keeps it as one edge rather than expanding it.
     */
    readonly remote?: boolean;
    /** URNs from `dependsOn` (components already expanded to their children by the SDK). */
    readonly dependencies: readonly string[];
    /** Property name → URNs it was computed from. */
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
    /** URN of the explicit provider, when one is set. */
    readonly provider?: string;
    /** Serialized inputs, with Pulumi's secret/asset signatures intact. */
    readonly inputs: Readonly<Record<string, unknown>>;
    /** Outputs the engine must store as secrets. */
    readonly additionalSecretOutputs: readonly string[];
    /** Inputs whose change forces a replacement. */
    readonly replaceOnChanges: readonly string[];
}

/** A resource placed in a wave: everything it waits for is in earlier waves. */
export interface PlannedResource {
    /** Wave number, from 1. */
    readonly wave: number;
    /** The recorded resource. */
    readonly resource: RecordedResource;
    /** URNs it waits for (dependsOn, property dependencies, provider), expanded to custom resources. */
    readonly waitsFor: readonly string[];
}

/** Locale-independent string order, so plan output is byte-identical on every machine. */
export function byCodePoint(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
}

/** True for the engine's implicit default providers, which are not part of the user's program. */
export function isDefaultProvider(r: RecordedResource): boolean {
    return r.type.startsWith("pulumi:providers:") && r.name.startsWith("default");
}

/**
 * Orders custom resources into waves. An edge is anything the engine honours: `dependsOn`, property dependencies
 * (an input that is another resource's output) and the explicit provider. Local components are not executed; an edge
 * to one means an edge to each of its custom descendants. Remote components run like custom resources. Cycles are impossible in a valid Pulumi program and
 * are reported as an error.
 */
export function computeWaves(resources: readonly RecordedResource[]): PlannedResource[] {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const children = new Map<string, RecordedResource[]>();
    for (const r of resources) {
        if (r.parent) {
            children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
        }
    }
    const customDescendants = (urn: string): string[] => {
        const r = byUrn.get(urn);
        if (!r) {
            return [];
        }
        if (r.custom || r.remote) {
            return isDefaultProvider(r) ? [] : [urn];
        }
        return (children.get(urn) ?? []).flatMap((c) => customDescendants(c.urn));
    };

    const planned = resources.filter((r) => (r.custom || r.remote === true) && !isDefaultProvider(r));
    const waitsFor = new Map<string, string[]>();
    for (const r of planned) {
        const direct = [
            ...r.dependencies,
            ...Object.values(r.propertyDependencies).flat(),
            ...(r.provider ? [r.provider] : []),
        ];
        const expanded = new Set(direct.flatMap(customDescendants).filter((u) => u !== r.urn));
        waitsFor.set(r.urn, [...expanded].sort());
    }

    const wave = new Map<string, number>();
    const visiting = new Set<string>();
    const waveOf = (urn: string): number => {
        const known = wave.get(urn);
        if (known !== undefined) {
            return known;
        }
        if (visiting.has(urn)) {
            throw new Error(`dependency cycle through ${urn}`);
        }
        visiting.add(urn);
        const w = 1 + Math.max(0, ...(waitsFor.get(urn) ?? []).map(waveOf));
        visiting.delete(urn);
        wave.set(urn, w);
        return w;
    };
    return planned
        .map((r) => ({ wave: waveOf(r.urn), resource: r, waitsFor: waitsFor.get(r.urn) ?? [] }))
        .sort((a, b) => a.wave - b.wave || byCodePoint(a.resource.urn, b.resource.urn));
}

/** Replaces Pulumi's serialized signatures with printable values; secrets become `[secret]`. */
export function sanitize(value: unknown): unknown {
    if (value === UNKNOWN) {
        return "[unknown until apply]";
    }
    if (Array.isArray(value)) {
        return value.map(sanitize);
    }
    if (typeof value === "object" && value !== null) {
        const obj = value as Record<string, unknown>;
        switch (obj[SIG_KEY]) {
            case SECRET_SIG:
                return "[secret]";
            case ASSET_SIG:
                return obj.text !== undefined ? { text: obj.text } : { path: obj.path ?? obj.uri };
            case ARCHIVE_SIG:
                return { archive: obj.path ?? obj.uri ?? "[assets]" };
            case RESOURCE_SIG:
                return { resource: obj.urn };
        }
        return Object.fromEntries(
            Object.keys(obj)
                .sort()
                .map((k) => [k, sanitize(obj[k])]),
        );
    }
    return value;
}

/** True when the serialized value is, or contains, a secret. */
export function containsSecret(value: unknown): boolean {
    if (Array.isArray(value)) {
        return value.some(containsSecret);
    }
    if (typeof value === "object" && value !== null) {
        const obj = value as Record<string, unknown>;
        return obj[SIG_KEY] === SECRET_SIG || Object.values(obj).some(containsSecret);
    }
    return false;
}

/** Plain value of a serialized input with its secrets unwrapped and keys in a stable order. */
function unwrapped(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(unwrapped);
    }
    if (typeof value === "object" && value !== null) {
        const obj = value as Record<string, unknown>;
        if (obj[SIG_KEY] === SECRET_SIG) {
            return unwrapped(obj.value);
        }
        return Object.fromEntries(
            Object.keys(obj)
                .sort()
                .map((k) => [k, unwrapped(obj[k])]),
        );
    }
    return value;
}

/** `sha256:` + the first 16 hex digits of the SHA-256 of a serialized value, secrets included. */
export function secretDigest(value: unknown): string {
    return `sha256:${createHash("sha256").update(JSON.stringify(unwrapped(value)) ?? "undefined").digest("hex").slice(0, 16)}`;
}
