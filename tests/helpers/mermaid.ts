/**
 * A structural check of the Mermaid flowchart subset the plan emits: header, balanced subgraphs, node definitions,
 * arrows. It rejects what would break Mermaid's flowchart grammar (unbalanced `end`, keywords or punctuation as ids,
 * raw quotes or brackets inside labels, arrows to undefined nodes), so a test can parse the output rather than
 * search it.
 */

/** What the parser found. */
export interface ParsedFlowchart {
    /** Direction after `flowchart`. */
    readonly direction: string;
    /** Node id → label. */
    readonly nodes: Map<string, string>;
    /** Subgraph id → label, parent subgraph id (null at top) and the node ids directly inside. */
    readonly subgraphs: Map<string, { label: string; parent: string | null; nodes: string[] }>;
    /** Arrows as [from, to]. */
    readonly edges: [string, string][];
}

const ID = /^[A-Za-z][A-Za-z0-9_]*$/;
const KEYWORDS = new Set(["end", "subgraph", "graph", "flowchart", "style", "class", "classdef", "click", "linkstyle", "default", "direction"]);
const LABEL = /^"([^"<>]*(?:<br\/>[^"<>]*)*)"$/;

function checkId(id: string, line: number): void {
    if (!ID.test(id) || KEYWORDS.has(id.toLowerCase())) {
        throw new Error(`line ${line}: "${id}" is not a safe Mermaid id`);
    }
}

/** Parses the flowchart or throws with the offending line. */
export function parseFlowchart(text: string): ParsedFlowchart {
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") {
        lines.pop();
    }
    const header = /^flowchart (TD|TB|BT|LR|RL)$/.exec(lines[0] ?? "");
    if (!header) {
        throw new Error(`line 1: expected "flowchart <direction>", got "${lines[0]}"`);
    }
    const nodes = new Map<string, string>();
    const subgraphs = new Map<string, { label: string; parent: string | null; nodes: string[] }>();
    const edges: [string, string][] = [];
    const open: string[] = [];
    lines.slice(1).forEach((raw, i) => {
        const n = i + 2;
        const line = raw.trim();
        let m: RegExpExecArray | null;
        if (line === "") {
            return;
        }
        if ((m = /^subgraph ([^\s[]+)\[(.*)\]$/.exec(line))) {
            checkId(m[1], n);
            const label = LABEL.exec(m[2]);
            if (!label) {
                throw new Error(`line ${n}: bad subgraph label ${m[2]}`);
            }
            if (subgraphs.has(m[1]) || nodes.has(m[1])) {
                throw new Error(`line ${n}: duplicate id ${m[1]}`);
            }
            subgraphs.set(m[1], { label: label[1], parent: open[open.length - 1] ?? null, nodes: [] });
            open.push(m[1]);
        } else if (line === "end") {
            if (open.pop() === undefined) {
                throw new Error(`line ${n}: "end" without subgraph`);
            }
        } else if ((m = /^(\S+) --> (\S+)$/.exec(line))) {
            checkId(m[1], n);
            checkId(m[2], n);
            edges.push([m[1], m[2]]);
        } else if ((m = /^([^\s[]+)\[(.*)\]$/.exec(line))) {
            checkId(m[1], n);
            const label = LABEL.exec(m[2]);
            if (!label) {
                throw new Error(`line ${n}: bad node label ${m[2]}`);
            }
            if (nodes.has(m[1]) || subgraphs.has(m[1])) {
                throw new Error(`line ${n}: duplicate id ${m[1]}`);
            }
            nodes.set(m[1], label[1]);
            const parent = open[open.length - 1];
            if (parent) {
                subgraphs.get(parent)?.nodes.push(m[1]);
            }
        } else {
            throw new Error(`line ${n}: not a flowchart statement: ${raw}`);
        }
    });
    if (open.length > 0) {
        throw new Error(`subgraph ${open[open.length - 1]} is never closed`);
    }
    for (const [from, to] of edges) {
        if (!nodes.has(from) || !nodes.has(to)) {
            throw new Error(`arrow ${from} --> ${to} names an undefined node`);
        }
    }
    return { direction: header[1], nodes, subgraphs, edges };
}
