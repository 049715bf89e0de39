/**
 * The plan as a Mermaid flowchart: one subgraph per component (nested components nest), one node per resource
 * labelled with its wave, and an arrow for each real dependency.
 *
 * Arrows are the transitive reduction of the recorded dependencies: `a --> c` is left out when `a --> b --> c`
 * already orders them. Ordering is unchanged, the picture is far easier to read.
 */
import { byCodePoint } from "./graph";
import type { PlanDocument, PlanEntry } from "./plan";

/** How much to show. */
export type MermaidDetail = "resources" | "components";

/** Words Mermaid's flowchart grammar reserves; an id equal to one (any case) breaks the diagram. */
const RESERVED = new Set(["end", "subgraph", "graph", "flowchart", "style", "class", "classdef", "click", "linkstyle", "default", "direction"]);

/** Makes unique, grammar-safe ids: letters, digits and `_`, starting with a letter, never a keyword. */
export class MermaidIds {
    private readonly ids = new Map<string, string>();
    private readonly used = new Set<string>();

    /** The id for `key` (stable for the same key). */
    id(prefix: string, key: string): string {
        const known = this.ids.get(`${prefix}:${key}`);
        if (known) {
            return known;
        }
        const base = `${prefix}_${key.replace(/[^A-Za-z0-9_]/g, "_")}`;
        let id = base;
        for (let n = 2; this.used.has(id) || RESERVED.has(id.toLowerCase()); n++) {
            id = `${base}_${n}`;
        }
        this.used.add(id);
        this.ids.set(`${prefix}:${key}`, id);
        return id;
    }
}

/** A label safe inside `["…"]`: quotes and angle brackets become Mermaid entity codes. */
export function mermaidLabel(text: string): string {
    return text.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;");
}

/** Transitive reduction of a DAG given as node → direct predecessors. */
export function transitiveReduction(preds: ReadonlyMap<string, readonly string[]>): Map<string, string[]> {
    const ancestors = new Map<string, Set<string>>();
    const ancestorsOf = (n: string): Set<string> => {
        const known = ancestors.get(n);
        if (known) {
            return known;
        }
        const all = new Set<string>();
        ancestors.set(n, all);
        for (const p of preds.get(n) ?? []) {
            all.add(p);
            for (const a of ancestorsOf(p)) {
                all.add(a);
            }
        }
        return all;
    };
    const out = new Map<string, string[]>();
    for (const [n, direct] of preds) {
        const unique = [...new Set(direct)].filter((p) => p !== n);
        // Keep p only when no other direct predecessor already has p among its ancestors.
        out.set(
            n,
            unique.filter((p) => !unique.some((q) => q !== p && ancestorsOf(q).has(p))).sort(byCodePoint),
        );
    }
    return out;
}

function shortType(type: string): string {
    return type.startsWith("pulumi:providers:") ? `${type.slice("pulumi:providers:".length)} provider` : (type.split(":").pop() ?? type);
}

function entriesOf(plan: PlanDocument): (PlanEntry & { wave: number })[] {
    return plan.waves.flatMap((w) => w.resources.map((r) => ({ ...r, wave: w.wave })));
}

/** Top-level component (or the resource itself, at top level) that a resource belongs to. */
function topLevel(plan: PlanDocument, parent: string | null, self: string): string {
    const byName = new Map(plan.components.map((c) => [c.name, c]));
    let top = parent;
    for (let guard = 0; top !== null && byName.get(top)?.parent && guard < 100; guard++) {
        top = byName.get(top)?.parent ?? null;
    }
    return top ?? self;
}

function renderResources(plan: PlanDocument): string[] {
    const ids = new MermaidIds();
    const all = entriesOf(plan);
    const names = new Set(all.map((r) => r.name));
    const reduced = transitiveReduction(new Map(all.map((r) => [r.name, r.waitsFor.filter((w) => names.has(w))])));
    const children = new Map<string | null, string[]>();
    for (const c of plan.components) {
        children.set(c.parent, [...(children.get(c.parent) ?? []), `c:${c.name}`]);
    }
    for (const r of all) {
        children.set(r.parent, [...(children.get(r.parent) ?? []), `r:${r.name}`]);
    }
    const byName = new Map(all.map((r) => [r.name, r]));
    const componentType = new Map(plan.components.map((c) => [c.name, shortType(c.type)]));
    const lines: string[] = [];
    const emit = (parent: string | null, indent: string): void => {
        const items = [...(children.get(parent) ?? [])].sort((a, b) => {
            // Resources by wave then name, components by name after them.
            const ra = a.startsWith("r:") ? byName.get(a.slice(2)) : undefined;
            const rb = b.startsWith("r:") ? byName.get(b.slice(2)) : undefined;
            if (ra && rb) {
                return ra.wave - rb.wave || byCodePoint(ra.name, rb.name);
            }
            return ra ? -1 : rb ? 1 : byCodePoint(a, b);
        });
        for (const item of items) {
            const name = item.slice(2);
            if (item.startsWith("c:")) {
                lines.push(`${indent}subgraph ${ids.id("c", name)}["${mermaidLabel(`${name} · ${componentType.get(name) ?? ""}`)}"]`);
                emit(name, `${indent}  `);
                lines.push(`${indent}end`);
            } else {
                const r = byName.get(name) as PlanEntry & { wave: number };
                lines.push(`${indent}${ids.id("r", name)}["${mermaidLabel(`w${r.wave} ${name}`)}"]`);
            }
        }
    };
    emit(null, "  ");
    for (const r of all) {
        for (const p of reduced.get(r.name) ?? []) {
            lines.push(`  ${ids.id("r", p)} --> ${ids.id("r", r.name)}`);
        }
    }
    return lines;
}

function renderComponents(plan: PlanDocument): string[] {
    const ids = new MermaidIds();
    const all = entriesOf(plan);
    const group = new Map(all.map((r) => [r.name, topLevel(plan, r.parent, r.name)]));
    const preds = new Map<string, string[]>();
    const waves = new Map<string, number[]>();
    const counts = new Map<string, number>();
    for (const r of all) {
        const g = group.get(r.name) as string;
        waves.set(g, [...(waves.get(g) ?? []), r.wave]);
        counts.set(g, (counts.get(g) ?? 0) + 1);
        const from = r.waitsFor.map((w) => group.get(w)).filter((w): w is string => w !== undefined && w !== g);
        preds.set(g, [...(preds.get(g) ?? []), ...from]);
    }
    const reduced = transitiveReduction(preds);
    const componentType = new Map(plan.components.map((c) => [c.name, shortType(c.type)]));
    const type = new Map(all.map((r) => [r.name, shortType(r.type)]));
    const groups = [...waves.keys()].sort((a, b) => Math.min(...(waves.get(a) ?? [])) - Math.min(...(waves.get(b) ?? [])) || byCodePoint(a, b));
    const lines: string[] = [];
    for (const g of groups) {
        const w = waves.get(g) ?? [];
        const lo = Math.min(...w);
        const hi = Math.max(...w);
        const span = lo === hi ? `wave ${lo}` : `waves ${lo}–${hi}`;
        const kind = componentType.get(g) ?? type.get(g) ?? "";
        const size = componentType.has(g) ? `, ${counts.get(g)} resources` : "";
        lines.push(`  ${ids.id("g", g)}["${mermaidLabel(`${g} · ${kind}`)}<br/>${mermaidLabel(`${span}${size}`)}"]`);
    }
    for (const g of groups) {
        for (const p of reduced.get(g) ?? []) {
            lines.push(`  ${ids.id("g", p)} --> ${ids.id("g", g)}`);
        }
    }
    return lines;
}

/** The plan as a Mermaid flowchart (top to bottom), without code fences. */
export function renderMermaid(plan: PlanDocument, detail: MermaidDetail = "resources"): string {
    const body = plan.errors.length > 0 ? [`  errors["${mermaidLabel(`stack ${plan.stack} has errors: nothing planned`)}"]`] : detail === "components" ? renderComponents(plan) : renderResources(plan);
    return `${["flowchart TD", ...body].join("\n")}\n`;
}
