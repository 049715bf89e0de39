/**
 * What would change between two plans of the same stack: resources added, removed, and changed input by input, with
 * each change classified as an in-place update or a replacement the way the resource's provider decides it.
 *
 * Pure: it compares two `PlanDocument`s (e.g. the plan at a pull request's base and at its head) and touches nothing.
 */
import { byCodePoint } from "./graph";
import type { PlanDocument, PlanEntry } from "./plan";

/** One changed top-level input of a resource. */
export interface InputChange {
    /** Top-level input name, e.g. `values`, `triggers`, `source`. */
    readonly key: string;
    /** Old value as the plan shows it (secrets `[secret]`); undefined when the input was absent. */
    readonly before: unknown;
    /** New value as the plan shows it; undefined when the input is gone. */
    readonly after: unknown;
    /** Leaf paths that differ, e.g. `values.hubble.relay.enabled`, `triggers[0]`; `[key]` for a whole-value change. */
    readonly paths: readonly string[];
    /** True when this change makes the provider replace the resource instead of updating it. */
    readonly replace: boolean;
    /** True when the input is a secret: only the fact that it changed is known. */
    readonly secret: boolean;
}

/** A resource present in both plans whose inputs differ. */
export interface ResourceChange {
    /** Logical name. */
    readonly name: string;
    /** Type token. */
    readonly type: string;
    /** Parent component name (head plan). */
    readonly parent: string | null;
    /** Replace (create the new one, then delete the old one: its `delete` runs) rather than update in place. */
    readonly replace: boolean;
    /** Input paths that force the replacement. */
    readonly replaceBecause: readonly string[];
    /** Every changed input. */
    readonly inputs: readonly InputChange[];
    /** What deleting the old resource destroys (set when it is replaced and its delete is destructive). */
    readonly hazard?: string;
    /** Dependencies gained and lost (ordering only; no provider operation by themselves). */
    readonly waitsFor: { readonly added: readonly string[]; readonly removed: readonly string[] };
}

/** A resource only in one of the two plans. */
export interface AddedOrRemoved {
    /** The plan entry. */
    readonly entry: PlanEntry;
    /** For a removed resource: what deleting it destroys, when its delete is destructive. */
    readonly hazard?: string;
}

/** The difference between two plans of a stack. */
export interface PlanDiff {
    /** Stack name (head plan). */
    readonly stack: string;
    /** Errors of each side (validation or program errors); a side with errors has no resources. */
    readonly errors: { readonly base: readonly string[]; readonly head: readonly string[] };
    /** Resources only in the head plan. */
    readonly added: readonly AddedOrRemoved[];
    /** Resources only in the base plan (deleted on the next `pulumi up`: their `delete` runs). */
    readonly removed: readonly AddedOrRemoved[];
    /** Resources in both whose inputs differ. */
    readonly changed: readonly ResourceChange[];
    /** Resources in both with identical inputs. */
    readonly unchanged: number;
    /** Every destructive operation: removed or replaced resources whose delete destroys something. */
    readonly hazards: readonly { readonly name: string; readonly action: "remove" | "replace"; readonly hazard: string }[];
    /**
     * What a real `pulumi preview` will show beyond this diff: a provider whose inputs come from a changed resource
     * gets them as unknown during preview, and an unknown kubeconfig makes the kubernetes provider plan a
     * (conservative) replacement of itself and of every resource it manages (pulumi-kubernetes `DiffConfig`;
     * pulumi/pulumi-kubernetes#4019). At `pulumi up` the value is known and only a different cluster replaces.
     */
    readonly previewNotes: readonly string[];
}

/** A provider's rule: does a change at this input path force a replacement? */
interface ReplaceRule {
    readonly replaces: (path: readonly string[]) => boolean;
}

const only =
    (...roots: string[][]) =>
    (path: readonly string[]): boolean =>
        roots.some((root) => root.every((segment, i) => path[i] === undefined || path[i] === segment));

/**
 * Replace-vs-update per resource type, from each provider's own diff:
 *
 * - `command:remote:Command`, `command:local:Command`, `command:remote:CopyToRemote`: only `triggers` replaces. The
 *   provider declares `Triggers … provider:"replaceOnChanges"` and nothing else
 *   (pulumi/pulumi-command provider/pkg/provider/remote/command.go and copy.go), and the SDK adds
 *   `replaceOnChanges: ["triggers[*]"]` (node_modules/@pulumi/command/remote/command.js, copyToRemote.js). Any
 *   other change is an update: a Command without `update` re-runs `create` ("If an `update` command isn't provided,
 *   then `create` will also be run when the resource's inputs are modified", remote/command.d.ts) and never runs
 *   `delete`; CopyToRemote re-uploads when the source hash or remotePath changed (copyController.go `Update`).
 * - `kubernetes:helm.sh/v3:Release`: `name` and `namespace` replace (`forceNewFields := []string{".name",
 *   ".namespace"}` in pulumi/pulumi-kubernetes provider/pkg/provider/helm_release.go); chart, version, values and
 *   the rest are a `helm upgrade`.
 * - Other `kubernetes:<group>/<version>:<Kind>` objects (e.g. core/v1:NamespacePatch): `metadata.name` and
 *   `metadata.namespace` replace; the rest is a (server-side) apply. Kind-specific immutable fields are not
 *   modelled: none of this program's objects has one.
 * - `kubernetes:yaml/v2:ConfigFile`: a provider-side component; a change re-reads the manifest and each object in
 *   it is diffed on its own (objects that leave the manifest are deleted), the component itself is never replaced.
 * - `pulumi:providers:kubernetes`: the provider is replaced when the active cluster in `kubeconfig` changes, and
 *   conservatively whenever the new kubeconfig is unknown (`DiffConfig` in pulumi-kubernetes
 *   provider/pkg/provider/provider.go); offline the kubeconfig is never known, so any change to it, `context` or
 *   `cluster` counts as a replace. Other settings update.
 * - `random:index/randomString:RandomString`, `random:index/randomPassword:RandomPassword`: every input replaces
 *   (each attribute carries `RequiresReplace` in hashicorp/terraform-provider-random, which @pulumi/random bridges).
 * - Anything else: assumed to replace on any change (the safe guess for a review).
 */
export function replaceRule(type: string): ReplaceRule {
    if (type.startsWith("command:")) {
        return { replaces: only(["triggers"]) };
    }
    if (type === "kubernetes:helm.sh/v3:Release") {
        return { replaces: only(["name"], ["namespace"]) };
    }
    if (type.startsWith("kubernetes:yaml/")) {
        return { replaces: () => false };
    }
    if (type === "pulumi:providers:kubernetes") {
        return { replaces: only(["kubeconfig"], ["context"], ["cluster"]) };
    }
    if (type.startsWith("kubernetes:")) {
        return { replaces: only(["metadata", "name"], ["metadata", "namespace"]) };
    }
    return { replaces: () => true };
}

/** Splits a path such as `triggers[*]` or `values.a.b` into segments. */
function segments(path: string): string[] {
    return path
        .replace(/\[(\d+|\*)\]/g, ".$1")
        .split(".")
        .filter((s) => s !== "");
}

/** True when a recorded `replaceOnChanges` pattern covers this changed path (`*` matches any segment). */
function matchesReplaceOnChanges(pattern: string, path: readonly string[]): boolean {
    const want = segments(pattern);
    const n = Math.min(want.length, path.length);
    for (let i = 0; i < n; i++) {
        if (want[i] !== "*" && want[i] !== path[i]) {
            return false;
        }
    }
    return true;
}

/** The script a Command's `delete` runs, when it is destructive for the node or the cluster. */
export function destructiveDelete(entry: PlanEntry): string | undefined {
    const del = entry.inputs.delete;
    if (entry.type.startsWith("command:") && typeof del === "string" && /\bkubeadm\s+reset\b/.test(del)) {
        return "its delete runs `kubeadm reset` and wipes the node";
    }
    if (entry.type.startsWith("command:") && typeof del === "string" && /\bdrain\b[\s\S]*\bdelete node\b/.test(del)) {
        return "its delete drains the node and removes it from the cluster (Node object; a control plane's etcd member)";
    }
    if (entry.type === "kubernetes:helm.sh/v3:Release") {
        return `its delete uninstalls Helm release ${String(entry.inputs.namespace)}/${String(entry.inputs.name)}`;
    }
    return undefined;
}

/** Leaf paths at which two sanitized values differ. */
function differingPaths(a: unknown, b: unknown, prefix: string[] = []): string[][] {
    if (JSON.stringify(a) === JSON.stringify(b)) {
        return [];
    }
    const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
    if (Array.isArray(a) && Array.isArray(b)) {
        const out: string[][] = [];
        for (let i = 0; i < Math.max(a.length, b.length); i++) {
            out.push(...differingPaths(a[i], b[i], [...prefix, String(i)]));
        }
        return out;
    }
    if (isObj(a) && isObj(b)) {
        const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(byCodePoint);
        return keys.flatMap((k) => differingPaths(a[k], b[k], [...prefix, k]));
    }
    return [prefix];
}

function formatPath(path: readonly string[]): string {
    return path.map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`)).join("");
}

/**
 * Identity of a resource across plans, as the engine sees it: its URN is the type chain of its parents, its own type
 * and its name. A rename, a type change or a move under a parent of another type is a delete plus a create.
 */
function identities(plan: PlanDocument): Map<string, PlanEntry> {
    const components = new Map(plan.components.map((c) => [c.name, c]));
    const chain = (parent: string | null): string[] => {
        const types: string[] = [];
        for (let p = parent, guard = 0; p !== null && guard < 100; guard++) {
            const c = components.get(p);
            types.unshift(c?.type ?? `?${p}`);
            p = c?.parent ?? null;
        }
        return types;
    };
    const out = new Map<string, PlanEntry>();
    for (const wave of plan.waves) {
        for (const r of wave.resources) {
            out.set(`${[...chain(r.parent), r.type].join("$")}::${r.name}`, r);
        }
    }
    return out;
}

function inputChanges(before: PlanEntry, after: PlanEntry): InputChange[] {
    const rule = replaceRule(after.type);
    const recorded = after.replaceOnChanges ?? [];
    const keys = [...new Set([...Object.keys(before.inputs), ...Object.keys(after.inputs)])]
        .filter((k) => k !== "__defaults")
        .sort(byCodePoint);
    const changes: InputChange[] = [];
    for (const key of keys) {
        const secret = before.secretInputs.includes(key) || after.secretInputs.includes(key);
        let paths: string[][];
        if (secret) {
            // Secret values are redacted; plans carry a digest of each so a change is still visible. A plan made by
            // an older tool has no digests: then only a change between secret and plain is visible.
            const d1 = before.secretDigests?.[key];
            const d2 = after.secretDigests?.[key];
            const changed =
                before.secretInputs.includes(key) !== after.secretInputs.includes(key) || (d1 !== undefined && d2 !== undefined && d1 !== d2);
            paths = changed ? [[key]] : [];
        } else {
            paths = differingPaths(before.inputs[key], after.inputs[key], [key]);
        }
        if (paths.length === 0) {
            continue;
        }
        const replace = paths.some((p) => rule.replaces(p) || recorded.some((pattern) => matchesReplaceOnChanges(pattern, p)));
        changes.push({ key, before: before.inputs[key], after: after.inputs[key], paths: paths.map(formatPath), replace, secret });
    }
    return changes;
}

/** Compares the plan at a base (e.g. the pull request's target) with the plan at a head (the change). */
export function diffPlans(base: PlanDocument, head: PlanDocument): PlanDiff {
    const before = identities(base);
    const after = identities(head);
    const byName = (a: AddedOrRemoved, b: AddedOrRemoved): number => byCodePoint(a.entry.name, b.entry.name);
    const added: AddedOrRemoved[] = [...after].filter(([id]) => !before.has(id)).map(([, entry]) => ({ entry }));
    const removed: AddedOrRemoved[] = [...before]
        .filter(([id]) => !after.has(id))
        .map(([, entry]) => {
            const hazard = destructiveDelete(entry);
            return hazard ? { entry, hazard } : { entry };
        });
    const changed: ResourceChange[] = [];
    let unchanged = 0;
    for (const [id, next] of after) {
        const old = before.get(id);
        if (!old) {
            continue;
        }
        const inputs = inputChanges(old, next);
        const gained = next.waitsFor.filter((w) => !old.waitsFor.includes(w));
        const lost = old.waitsFor.filter((w) => !next.waitsFor.includes(w));
        if (inputs.length === 0) {
            // Only ordering changed (or nothing): the engine runs no operation for it.
            unchanged++;
            continue;
        }
        const replaceBecause = inputs.filter((c) => c.replace).flatMap((c) => c.paths);
        const replace = replaceBecause.length > 0;
        const hazard = replace ? destructiveDelete(old) : undefined;
        changed.push({
            name: next.name,
            type: next.type,
            parent: next.parent,
            replace,
            replaceBecause,
            inputs,
            ...(hazard ? { hazard } : {}),
            waitsFor: { added: gained, removed: lost },
        });
    }
    added.sort(byName);
    removed.sort(byName);
    changed.sort((a, b) => byCodePoint(a.name, b.name));
    const hazards = [
        ...removed.filter((r) => r.hazard).map((r) => ({ name: r.entry.name, action: "remove" as const, hazard: r.hazard as string })),
        ...changed.filter((c) => c.hazard).map((c) => ({ name: c.name, action: "replace" as const, hazard: c.hazard as string })),
    ].sort((a, b) => byCodePoint(a.name, b.name));
    const touched = new Set(changed.map((c) => c.name));
    const previewNotes = [...after.values()]
        .filter((r) => r.type.startsWith("pulumi:providers:") && !touched.has(r.name))
        .flatMap((r) => {
            // Only a changed resource that feeds the provider's inputs makes them unknown in preview; plans made
            // before `inputsFrom` existed fall back to every dependency.
            const sources = (r.inputsFrom ?? r.waitsFor).filter((w) => touched.has(w));
            return sources.length > 0
                ? [
                      `provider ${r.name} takes inputs from changed ${sources.join(", ")}: \`pulumi preview\` sees its inputs as unknown and may show ` +
                          `it and every resource it manages as replaced; \`pulumi up\` replaces them only if the provider's target really changed`,
                  ]
                : [];
        });
    return { stack: head.stack, errors: { base: base.errors, head: head.errors }, added, removed, changed, unchanged, hazards, previewNotes };
}

/** True when the diff has no added, removed or changed resource. */
export function isEmptyDiff(diff: PlanDiff): boolean {
    return diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0;
}
