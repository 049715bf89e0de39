/**
 * Helm value trees: Helm's merge, dotted-path reads, and the leaf key paths tests check against a chart.
 */

/** A JSON-like value tree as Helm takes it. */
export type ValueTree = { [key: string]: unknown };

/** True for a mapping (not a list, not null). */
export function isPlainObject(value: unknown): value is ValueTree {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Helm's merge: maps merge key by key, everything else (scalars, lists) is replaced by the override. */
export function deepMerge(base: ValueTree, override: ValueTree): ValueTree {
    const out: ValueTree = { ...base };
    for (const [key, value] of Object.entries(override)) {
        const current = out[key];
        out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
    }
    return out;
}

/** Reads a dotted path from a value tree. */
export function valueAt(tree: ValueTree, dottedPath: string): unknown {
    let node: unknown = tree;
    for (const key of dottedPath.split(".")) {
        if (!isPlainObject(node)) {
            return undefined;
        }
        node = node[key];
    }
    return node;
}

/** Leaf key paths of a value tree (lists are leaves), sorted. */
export function keyPaths(tree: ValueTree, prefix = ""): string[] {
    return Object.entries(tree)
        .flatMap(([key, value]) => (isPlainObject(value) && Object.keys(value).length > 0 ? keyPaths(value, `${prefix}${key}.`) : [`${prefix}${key}`]))
        .sort();
}

/** Helm templates treat booleans and "true"/"false" strings alike; undefined for anything else. */
export function truthy(value: unknown): boolean | undefined {
    if (value === true || value === "true") {
        return true;
    }
    if (value === false || value === "false") {
        return false;
    }
    return undefined;
}
