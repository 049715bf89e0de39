/**
 * Offline plan evaluation benchmark: each sample is one `buildPlan` in a fresh child process (see plan-child.ts), so
 * the time and peak memory of every inventory size are measured the same way within one `npm run bench`.
 */
import * as path from "node:path";
import { runJsonChild } from "../../tests/helpers/child";
import type { PlanSample } from "./plan-child";

/** Samples of one inventory size. */
export interface PlanSizeResult {
    readonly nodes: number;
    readonly samples: readonly PlanSample[];
    readonly medianMs: number;
    /** Highest peak RSS over the samples, and the RSS before evaluation (KiB). */
    readonly peakRssKiB: number;
    readonly baseRssKiB: number;
}

function sampleOnce(nodes: number): Promise<PlanSample> {
    return runJsonChild<PlanSample>(path.join(__dirname, "plan-child.ts"), [String(nodes)]);
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Measures every size `runs` times. Samples run one at a time, sizes interleaved round by round, so a slow moment of
 * the machine spreads over all sizes instead of skewing one.
 */
export async function benchPlan(sizes: readonly number[], runs: number): Promise<PlanSizeResult[]> {
    const samples = new Map<number, PlanSample[]>(sizes.map((n) => [n, []]));
    for (let round = 0; round < runs; round++) {
        for (const n of sizes) {
            const sample = await sampleOnce(n);
            if (sample.errors.length > 0) throw new Error(`the ${n}-node plan has errors:\n${sample.errors.join("\n")}`);
            samples.get(n)?.push(sample);
        }
    }
    return sizes.map((n) => {
        const list = samples.get(n) ?? [];
        return {
            nodes: n,
            samples: list,
            medianMs: median(list.map((s) => s.ms)),
            peakRssKiB: Math.max(...list.map((s) => s.peakRssKiB)),
            baseRssKiB: median(list.map((s) => s.baseRssKiB)),
        };
    });
}

/** Growth verdict: time per added node between consecutive sizes, and t(largest)/t(10). */
export interface Growth {
    /** Milliseconds per added node between consecutive sizes (`from`→`to`). */
    readonly marginal: readonly { readonly from: number; readonly to: number; readonly msPerNode: number }[];
    /** t(100)/t(10) when both sizes were measured. */
    readonly ratio100to10?: number;
    /**
     * Linear: the per-node cost of the last interval is at most 1.5× that of the first interval starting at ≥ 10 nodes
     * (below that the fixed costs of an evaluation dominate the difference).
     */
    readonly linear: boolean;
}

/** Computes the growth of evaluation time with the inventory size. */
export function growth(results: readonly PlanSizeResult[]): Growth {
    const marginal = results.slice(1).map((r, i) => ({
        from: results[i].nodes,
        to: r.nodes,
        msPerNode: (r.medianMs - results[i].medianMs) / (r.nodes - results[i].nodes),
    }));
    const at = (n: number): number | undefined => results.find((r) => r.nodes === n)?.medianMs;
    const t10 = at(10);
    const t100 = at(100);
    // Fixed costs (imports, the settle loop) dominate tiny inventories, so compare intervals from 10 nodes on.
    const wide = marginal.filter((m) => m.from >= 10);
    const linear = wide.length < 2 || wide[wide.length - 1].msPerNode <= 1.5 * wide[0].msPerNode;
    return { marginal, ...(t10 !== undefined && t100 !== undefined ? { ratio100to10: t100 / t10 } : {}), linear };
}
